/* The register frame built by arch/x86/traps.S for every interrupt. */
#pragma once
#include "lib/types.h"
#include "arch/x86/cpu.h"

#define IDT_VECTORS 256
#define TRAP_STUB_SIZE 16 /* each vector's stub is 16-byte aligned in traps.S */


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

/* Asm text running `insn` with a #GP fixup (the .extable section, searched
 * by the #GP handler): `ok` (a bool output operand, e.g. "%0") becomes 1,
 * or 0 if the instruction faulted. */
#define EXTABLE_GUARDED(insn, ok)          \
	"1: " insn "\n\t"                  \
	"mov $1, " ok "\n\t"              \
	"jmp 3f\n"                         \
	"2: xor " ok ", " ok "\n"          \
	"3:\n\t"                           \
	".pushsection .extable, \"a\"\n\t" \
	".quad 1b, 2b\n\t"                 \
	".popsection"

typedef void (*interrupt_handler)(struct trap_frame *frame);

void idt_init(void);
/* Routes an external-interrupt vector (>= 32) to a handler. */
void idt_set_handler(unsigned vector, interrupt_handler handler);
void idt_load(void);
void trap_dispatch(struct trap_frame *frame);
/* The first CPU to panic (or to take a fatal exception) calls this before
 * printing anything: it stops every other CPU with an NMI, lets each say
 * so on the console, and breaks the console lock for the dump. Returns on
 * that CPU only; a CPU that panics while a panic is in progress halts
 * (arch/x86/smp.c). */
void panic_stop_other_cpus(void);
/* After panic_stop_other_cpus(): halts this CPU, the last one running. */
NORETURN void halt_all_cpus(void);
void print_backtrace(u64 rbp);
