/* Architecture-neutral guest register state exchanged with the backend. */
#pragma once
#include "lib/types.h"
#include "vmm/emulate.h"

/* Segment attributes in descriptor order (SDM Vol. 3A 3.4.5). */
struct segment {
	u16 selector;
	u64 base;
	u32 limit; /* byte granular, already expanded */
	u8 type;   /* 4 bits */
	bool s, present, avl, l, db, g;
	u8 dpl;
	bool unusable; /* VMX "unusable" / a null data selector */
};

struct descriptor_table {
	u64 base;
	u16 limit;
};

enum segment_register { SREG_ES, SREG_CS, SREG_SS, SREG_DS, SREG_FS, SREG_GS, SREG_LDTR, SREG_TR, SREG_COUNT };
_Static_assert((int)SREG_ES == (int)SEG_ES && (int)SREG_GS == (int)SEG_GS, "same numbering as the emulator");

struct vcpu_sregs {
	struct segment seg[SREG_COUNT];
	struct descriptor_table gdtr, idtr;
	u64 cr0, cr2, cr3, cr4, efer;
	u64 dr6, dr7;
	u64 pat;
};

/* The part of the control state the exit path reads on nearly every exit
 * (mode, paging, segment bases): fetched once per exit and cached. */
struct vcpu_control {
	u64 cr0, cr3, cr4, efer;
	u64 segment_base[SEG_NONE]; /* ES..GS */
	bool cs_long, cs_default32;
	u8 cpl;
};

/* GPRs live in the vcpu (the entry stub loads and stores them); RIP and
 * RFLAGS are synchronized by the backend around every run. */
struct vcpu_regs {
	u64 gpr[GPR_COUNT];
	u64 rip;
	u64 rflags;
};

/* Code-segment and segment-type constants the loaders need. */
#define SEG_TYPE_CODE_EXEC_READ_ACCESSED 0xb
#define SEG_TYPE_DATA_READ_WRITE_ACCESSED 0x3
#define SEG_TYPE_TSS_BUSY_32 0xb
#define SEG_TYPE_TSS_BUSY_16 0x3
#define SEG_TYPE_LDT 0x2
