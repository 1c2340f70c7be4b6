/* The register frame built by arch/x86/traps.S for every interrupt. */
#pragma once
#include "lib/types.h"

#define IDT_VECTORS 256
#define TRAP_STUB_SIZE 16 /* each vector's stub is 16-byte aligned in traps.S */

/* Exception vectors (SDM Vol. 3A 6.3.1) */
enum exception_vector {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12,
	VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19,
	VEC_VE = 20, VEC_CP = 21, VEC_HV = 28, VEC_VC = 29, VEC_SX = 30,
	VEC_FIRST_EXTERNAL = 32,
};

struct trap_frame {
	u64 r15, r14, r13, r12, r11, r10, r9, r8;
	u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
	u64 vector;
	u64 error_code;
	/* pushed by the CPU */
	u64 rip, cs, rflags, rsp, ss;
};
/* traps.S pushes 15 GPRs then reads vector/error_code at these offsets */
_Static_assert(__builtin_offsetof(struct trap_frame, vector) == 15 * 8, "traps.S layout");
_Static_assert(__builtin_offsetof(struct trap_frame, rip) == 17 * 8, "traps.S layout");

/* An instruction that may fault, and where to resume if it does. */
struct extable_entry {
	u64 fault_rip;
	u64 fixup_rip;
};

typedef void (*interrupt_handler)(struct trap_frame *frame);

void idt_init(void);
/* Routes an external-interrupt vector (>= 32) to a handler. */
void idt_set_handler(unsigned vector, interrupt_handler handler);
void idt_load(void);
void trap_dispatch(struct trap_frame *frame);
NORETURN void halt_all_cpus(void);
void print_backtrace(u64 rbp);
