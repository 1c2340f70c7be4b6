/*
 * The normalized VM exit: each backend turns its hardware exit (VMX exit
 * reason + qualification, SVM exit code + EXITINFO) into this, and the
 * handlers in vmm/exit.c are written once against it.
 */
#pragma once
#include "lib/types.h"
#include "vmm/emulate.h"

enum exit_reason {
	EXIT_NONE,
	EXIT_IO,                 /* port I/O (io) */
	EXIT_MMIO,               /* nested page fault / EPT violation outside RAM (mmio) */
	EXIT_CPUID,
	EXIT_MSR_READ,           /* msr */
	EXIT_MSR_WRITE,          /* msr */
	EXIT_HLT,
	EXIT_CR_ACCESS,          /* cr */
	EXIT_EXCEPTION,          /* exception (intercepted guest exception) */
	EXIT_INTERRUPT_WINDOW,
	EXIT_EXTERNAL_INTERRUPT, /* a physical interrupt arrived while the guest ran */
	EXIT_NMI,
	EXIT_TRIPLE_FAULT,
	EXIT_HYPERCALL,          /* VMCALL/VMMCALL */
	EXIT_VIRT_INSTRUCTION,   /* VMX/SVM instruction: the guest gets #UD */
	EXIT_INIT,
	EXIT_SIPI,
	EXIT_XSETBV,
	EXIT_INVLPG,
	EXIT_INVD,
	EXIT_PAUSE,
	EXIT_WBINVD,             /* a whole-cache flush: not done for a guest */
	EXIT_RDPMC,              /* no performance counters are offered: #GP */
	EXIT_UNAVAILABLE_INSTRUCTION, /* an instruction this vCPU lacks (RSM outside SMM...): #UD */
	EXIT_TASK_SWITCH,        /* a hardware task switch the CPU left to Presidio (VT-x) */
	EXIT_SMI,                /* a host SMI arrived while the guest ran */
	EXIT_MACHINE_CHECK,      /* a machine check while the guest ran */
	EXIT_ENTRY_FAILED,       /* invalid guest state, VM-entry failure (failure) */
	EXIT_UNKNOWN,            /* anything else the backend cannot name (hardware_reason) */
	EXIT_REASON_COUNT,
};

/* What started a task switch, in the encoding of bits 31:30 of VT-x's
 * exit qualification for task switches (SDM Vol. 3C 27.2.1). */
enum task_switch_source { TASK_SWITCH_CALL, TASK_SWITCH_IRET, TASK_SWITCH_JMP, TASK_SWITCH_GATE };

/* The event a task gate in the IDT delivers. An instruction's own event
 * (INTn, INT3, INTO, INT1) saves the EIP after it; a hardware event saves
 * the EIP it interrupted and sets EXT in the error codes of faults the
 * switch raises (SDM Vol. 3A 6.13). */
enum task_switch_event {
	TASK_EVENT_NONE,      /* CALL, JMP, IRET */
	TASK_EVENT_EXCEPTION, /* a hardware exception (#DF...) */
	TASK_EVENT_EXTERNAL,  /* an external interrupt or NMI */
	TASK_EVENT_SOFTWARE,  /* INTn, INT3, INTO, INT1 */
};

struct vm_exit {
	enum exit_reason reason;
	u64 hardware_reason; /* raw VMX basic exit reason / SVM exit code */
	u8 instruction_length; /* 0 = unknown: decode it if RIP must advance */
	/* An event whose delivery this exit cut short (the backend queues it
	 * again, or lets a software interrupt's instruction run again).
	 * interrupted_exception: a hardware exception, used to merge a fault
	 * during delivery into #DF. */
	bool interrupted_event;
	bool interrupted_exception;
	u8 interrupted_vector;
	union {
		struct {
			u16 port;
			u8 size;       /* 1, 2 or 4 */
			bool in;
			bool string;
			bool rep;
			u8 address_size; /* 2, 4 or 8, string forms; 0 = not reported */
			enum x86_segment segment; /* OUTS source segment; SEG_NONE = not reported */
		} io;
		struct {
			u64 gpa;
			bool write;
			bool fetch;
		} mmio;
		struct {
			u32 index;
		} msr;
		struct {
			u8 vector;
			bool has_error_code;
			u32 error_code;
		} exception;
		struct {
			u8 cr;
			enum { CR_MOV_TO, CR_MOV_FROM, CR_CLTS, CR_LMSW } type;
			u8 gpr;        /* CR_GPR_UNKNOWN: decode the instruction */
			u16 lmsw_source;
		} cr;
		struct {
			const char *what;
		} virt_instruction; /* also EXIT_UNAVAILABLE_INSTRUCTION */
		struct {
			u16 selector;  /* the new task's TSS */
			enum task_switch_source source;
			/* TASK_SWITCH_GATE: the event the switch delivers (the
			 * backend does not deliver it again: SDM Vol. 3C 27.2.4). */
			enum task_switch_event event;
			u8 vector;
			bool has_error_code;
			u32 error_code;
		} task_switch;
		struct {
			const char *reason;
			u64 code;
		} failure;
		struct {
			u64 address;
		} invlpg;
	};
};

#define CR_GPR_UNKNOWN 0xff

/* The backends' exit for an instruction this vCPU does not have (#UD). */
static inline void exit_unavailable_instruction(struct vm_exit *e, const char *what)
{
	e->reason = EXIT_UNAVAILABLE_INSTRUCTION;
	e->virt_instruction.what = what;
}

const char *exit_reason_name(enum exit_reason reason);
