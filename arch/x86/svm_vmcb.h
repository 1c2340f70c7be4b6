/* The VMCB (AMD APM Vol. 2, Appendix B), with every offset checked. */
#pragma once
#include "lib/types.h"

struct vmcb_control {
	u16 intercept_cr_read;       /* 0x000 */
	u16 intercept_cr_write;      /* 0x002 */
	u16 intercept_dr_read;       /* 0x004 */
	u16 intercept_dr_write;      /* 0x006 */
	u32 intercept_exceptions;    /* 0x008 */
	u32 intercept_misc1;         /* 0x00c: vector 3 */
	u32 intercept_misc2;         /* 0x010: vector 4 */
	u32 intercept_misc3;         /* 0x014: vector 5 */
	u8 reserved1[0x03c - 0x018];
	u16 pause_filter_threshold;  /* 0x03c */
	u16 pause_filter_count;      /* 0x03e */
	u64 iopm_base_pa;            /* 0x040 */
	u64 msrpm_base_pa;           /* 0x048 */
	u64 tsc_offset;              /* 0x050 */
	u32 guest_asid;              /* 0x058 */
	u8 tlb_control;              /* 0x05c */
	u8 reserved2[3];
	u64 virtual_interrupt;       /* 0x060: V_TPR, V_IRQ, V_INTR_PRIO, V_INTR_MASKING, vector */
	u64 interrupt_state;         /* 0x068: bit 0 interrupt shadow */
	u64 exit_code;               /* 0x070 */
	u64 exit_info1;              /* 0x078 */
	u64 exit_info2;              /* 0x080 */
	u64 exit_int_info;           /* 0x088 */
	u64 nested_control;          /* 0x090: bit 0 NP_ENABLE */
	u64 avic_apic_bar;           /* 0x098 */
	u64 ghcb_pa;                 /* 0x0a0 */
	u64 event_inject;            /* 0x0a8 */
	u64 nested_cr3;              /* 0x0b0 */
	u64 virt_ext;                /* 0x0b8: LBR virtualization, VMLOAD/VMSAVE virtualization */
	u32 clean_bits;              /* 0x0c0 */
	u32 reserved3;
	u64 next_rip;                /* 0x0c8 */
	u8 bytes_fetched;            /* 0x0d0 */
	u8 guest_instruction_bytes[15]; /* 0x0d1 */
	u8 reserved4[0x400 - 0x0e0];
} PACKED;
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB control area is 1 KiB");
_Static_assert(__builtin_offsetof(struct vmcb_control, iopm_base_pa) == 0x040, "APM B.1");
_Static_assert(__builtin_offsetof(struct vmcb_control, exit_code) == 0x070, "APM B.1");
_Static_assert(__builtin_offsetof(struct vmcb_control, event_inject) == 0x0a8, "APM B.1");
_Static_assert(__builtin_offsetof(struct vmcb_control, nested_cr3) == 0x0b0, "APM B.1");
_Static_assert(__builtin_offsetof(struct vmcb_control, next_rip) == 0x0c8, "APM B.1");

struct vmcb_segment {
	u16 selector;
	u16 attrib; /* descriptor bits 40-47 in 0-7, bits 52-55 in 8-11 */
	u32 limit;
	u64 base;
} PACKED;
_Static_assert(sizeof(struct vmcb_segment) == 16, "VMCB segment is 16 bytes");

struct vmcb_save {
	struct vmcb_segment es, cs, ss, ds, fs, gs; /* 0x000 */
	struct vmcb_segment gdtr, ldtr, idtr, tr;   /* 0x060 */
	u8 reserved1[0x0cb - 0x0a0];
	u8 cpl;                      /* 0x0cb */
	u32 reserved2;
	u64 efer;                    /* 0x0d0 */
	u8 reserved3[0x148 - 0x0d8];
	u64 cr4;                     /* 0x148 */
	u64 cr3;                     /* 0x150 */
	u64 cr0;                     /* 0x158 */
	u64 dr7;                     /* 0x160 */
	u64 dr6;                     /* 0x168 */
	u64 rflags;                  /* 0x170 */
	u64 rip;                     /* 0x178 */
	u8 reserved4[0x1d8 - 0x180];
	u64 rsp;                     /* 0x1d8 */
	u64 s_cet, ssp, isst_addr;   /* 0x1e0 */
	u64 rax;                     /* 0x1f8 */
	u64 star;                    /* 0x200 */
	u64 lstar;                   /* 0x208 */
	u64 cstar;                   /* 0x210 */
	u64 sfmask;                  /* 0x218 */
	u64 kernel_gs_base;          /* 0x220 */
	u64 sysenter_cs;             /* 0x228 */
	u64 sysenter_esp;            /* 0x230 */
	u64 sysenter_eip;            /* 0x238 */
	u64 cr2;                     /* 0x240 */
	u8 reserved5[0x268 - 0x248];
	u64 g_pat;                   /* 0x268 */
	u64 dbgctl;                  /* 0x270 */
	u64 br_from, br_to;          /* 0x278 */
	u64 last_exception_from, last_exception_to; /* 0x288 */
} PACKED;
_Static_assert(__builtin_offsetof(struct vmcb_save, cpl) == 0x0cb, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, efer) == 0x0d0, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr4) == 0x148, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, rip) == 0x178, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, rsp) == 0x1d8, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, rax) == 0x1f8, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, cr2) == 0x240, "APM B.2");
_Static_assert(__builtin_offsetof(struct vmcb_save, g_pat) == 0x268, "APM B.2");

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
	u8 reserved[4096 - 0x400 - sizeof(struct vmcb_save)];
} PACKED;
_Static_assert(sizeof(struct vmcb) == 4096, "a VMCB is one page");

/* Intercept vector 3 (intercept_misc1) bits */
#define SVM_INTERCEPT_INTR BIT(0)
#define SVM_INTERCEPT_NMI BIT(1)
#define SVM_INTERCEPT_SMI BIT(2)
#define SVM_INTERCEPT_INIT BIT(3)
#define SVM_INTERCEPT_VINTR BIT(4)
#define SVM_INTERCEPT_RDPMC BIT(15)
#define SVM_INTERCEPT_CPUID BIT(18)
#define SVM_INTERCEPT_RSM BIT(19)
#define SVM_INTERCEPT_IRET BIT(20)
#define SVM_INTERCEPT_INVD BIT(22)
#define SVM_INTERCEPT_PAUSE BIT(23)
#define SVM_INTERCEPT_HLT BIT(24)
#define SVM_INTERCEPT_INVLPGA BIT(26)
#define SVM_INTERCEPT_IOIO_PROT BIT(27)
#define SVM_INTERCEPT_MSR_PROT BIT(28)
#define SVM_INTERCEPT_TASK_SWITCH BIT(29)
#define SVM_INTERCEPT_SHUTDOWN BIT(31)
/* Intercept vector 4 (intercept_misc2) bits */
#define SVM_INTERCEPT_VMRUN BIT(0)
#define SVM_INTERCEPT_VMMCALL BIT(1)
#define SVM_INTERCEPT_VMLOAD BIT(2)
#define SVM_INTERCEPT_VMSAVE BIT(3)
#define SVM_INTERCEPT_STGI BIT(4)
#define SVM_INTERCEPT_CLGI BIT(5)
#define SVM_INTERCEPT_SKINIT BIT(6)
#define SVM_INTERCEPT_RDTSCP BIT(7)
#define SVM_INTERCEPT_ICEBP BIT(8)
#define SVM_INTERCEPT_WBINVD BIT(9)
#define SVM_INTERCEPT_MONITOR BIT(10)
#define SVM_INTERCEPT_MWAIT BIT(11)
#define SVM_INTERCEPT_XSETBV BIT(13)
#define SVM_INTERCEPT_RDPRU BIT(14)

/* virtual_interrupt bits */
#define SVM_V_IRQ BIT(8)
#define SVM_V_IGN_TPR BIT(20)
#define SVM_V_INTR_MASKING BIT(24)
#define SVM_V_INTR_PRIO_SHIFT 16
#define SVM_V_INTR_VECTOR_SHIFT 32
#define SVM_INTERRUPT_SHADOW BIT(0)

#define SVM_NESTED_PAGING_ENABLE BIT(0)
#define SVM_TLB_CONTROL_NOTHING 0
#define SVM_TLB_CONTROL_FLUSH_ALL 1
#define SVM_TLB_CONTROL_FLUSH_ASID 3

/* EVENTINJ / EXITINTINFO (APM 15.20) */
#define SVM_EVENT_VALID BIT(31)
#define SVM_EVENT_ERROR_CODE_VALID BIT(11)
#define SVM_EVENT_TYPE_SHIFT 8
#define SVM_EVENT_TYPE_MASK 0x7
#define SVM_EVENT_VECTOR_MASK 0xff
#define SVM_EVENT_TYPE_INTR 0
#define SVM_EVENT_TYPE_NMI 2
#define SVM_EVENT_TYPE_EXCEPTION 3
#define SVM_EVENT_TYPE_SOFTWARE_INT 4
#define SVM_EVENT_ERROR_CODE_SHIFT 32

/* Exit codes (APM Appendix C) */
#define SVM_EXIT_READ_CR0 0x000
#define SVM_EXIT_WRITE_CR0 0x010
#define SVM_EXIT_WRITE_CR4 0x014
#define SVM_EXIT_READ_CR8 0x008
#define SVM_EXIT_WRITE_CR8 0x018
#define SVM_CR_EXIT_GPR_VALID BIT(63) /* EXITINFO1, with decode assists */
#define SVM_CR_EXIT_GPR_MASK 0xf
#define SVM_INTERCEPT_CR0 BIT(0)
#define SVM_INTERCEPT_CR4 BIT(4)
#define SVM_INTERCEPT_CR8 BIT(8)
#define SVM_EXIT_EXCEPTION_BASE 0x040
#define SVM_EXIT_INTR 0x060
#define SVM_EXIT_NMI 0x061
#define SVM_EXIT_SMI 0x062
#define SVM_EXIT_INIT 0x063
#define SVM_EXIT_VINTR 0x064
#define SVM_EXIT_RDPMC 0x06f
#define SVM_EXIT_CPUID 0x072
#define SVM_EXIT_RSM 0x073
#define SVM_EXIT_IRET 0x074
#define SVM_EXIT_INVD 0x076
#define SVM_EXIT_PAUSE 0x077
#define SVM_EXIT_HLT 0x078
#define SVM_EXIT_INVLPGA 0x07a
#define SVM_EXIT_IOIO 0x07b
#define SVM_EXIT_MSR 0x07c
#define SVM_EXIT_TASK_SWITCH 0x07d
#define SVM_EXIT_SHUTDOWN 0x07f
#define SVM_EXIT_VMRUN 0x080
#define SVM_EXIT_VMMCALL 0x081
#define SVM_EXIT_VMLOAD 0x082
#define SVM_EXIT_VMSAVE 0x083
#define SVM_EXIT_STGI 0x084
#define SVM_EXIT_CLGI 0x085
#define SVM_EXIT_SKINIT 0x086
#define SVM_EXIT_RDTSCP 0x087
#define SVM_EXIT_ICEBP 0x088
#define SVM_EXIT_WBINVD 0x089
#define SVM_EXIT_MONITOR 0x08a
#define SVM_EXIT_MWAIT 0x08b
#define SVM_EXIT_MWAIT_ARMED 0x08c
#define SVM_EXIT_XSETBV 0x08d
#define SVM_EXIT_RDPRU 0x08e
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID ((u64)-1)

/* IOIO EXITINFO1 (APM 15.10.2) */
#define SVM_IOIO_TYPE_IN BIT(0)
#define SVM_IOIO_STRING BIT(2)
#define SVM_IOIO_REP BIT(3)
#define SVM_IOIO_SIZE8 BIT(4)
#define SVM_IOIO_SIZE16 BIT(5)
#define SVM_IOIO_SIZE32 BIT(6)
#define SVM_IOIO_ADDR16 BIT(7)
#define SVM_IOIO_ADDR32 BIT(8)
#define SVM_IOIO_ADDR64 BIT(9)
#define SVM_IOIO_SEGMENT_SHIFT 10
#define SVM_IOIO_SEGMENT_MASK 0x7
#define SVM_IOIO_PORT_SHIFT 16

/* NPF EXITINFO1 error code bits (like #PF) */
#define SVM_NPF_PRESENT BIT(0)
#define SVM_NPF_WRITE BIT(1)
#define SVM_NPF_FETCH BIT(4)

/* Permission maps */
#define SVM_IOPM_SIZE (12 * 1024)
#define SVM_MSRPM_SIZE (8 * 1024)
