/*
 * The guest's IDT: every vector goes to interrupt_dispatch, which calls a
 * registered handler, or, for an exception raised inside a FAULT_GUARDED
 * instruction, records it and resumes after that instruction. Anything
 * else is reported as a failure and ends the guest.
 */
#ifndef GUEST_INTERRUPTS_H
#define GUEST_INTERRUPTS_H

#include <stdbool.h>
#include <stdint.h>

#define VECTOR_DE 0
#define VECTOR_DB 1
#define VECTOR_BP 3
#define VECTOR_OF 4
#define VECTOR_UD 6
#define VECTOR_NP 11
#define VECTOR_GP 13
#define VECTOR_PF 14
#define EXCEPTION_VECTORS 32
#define IDT_VECTORS 256

/* Layout pushed by isr.asm: pushad, then vector and error code, then the CPU's frame. */
struct interrupt_frame {
	uint32_t edi, esi, ebp, esp_before_pushad, ebx, edx, ecx, eax;
	uint32_t vector, error_code;
	uint32_t eip, cs, eflags;
};

typedef void (*interrupt_handler)(struct interrupt_frame *frame);

struct fault_record {
	bool occurred;
	uint32_t vector, error_code, eip, cr2;
};

/* Written by FAULT_GUARDED code and the dispatcher; volatile for both sides. */
extern volatile uint32_t fault_recovery_eip;
extern volatile uint32_t fault_insn_eip;
extern volatile struct fault_record last_fault;

/*
 * Asm text running `insn` with fault recovery armed: an exception in it is
 * recorded in last_fault and execution resumes right after it. Use inside
 * asm volatile(... : : : "memory"), after fault_clear().
 */
#define FAULT_GUARDED(insn)                         \
	"movl $8801f, fault_insn_eip\n\t"           \
	"movl $8802f, fault_recovery_eip\n"         \
	"8801:\n\t" insn "\n"                       \
	"8802:\n\t"                                 \
	"movl $0, fault_recovery_eip\n\t"

void idt_init(void);
void set_interrupt_handler(uint8_t vector, interrupt_handler handler);
void fault_clear(void);

/*
 * Reports PASS/FAIL for `what`: a fault with this vector and error code
 * must have been recorded, at the guarded instruction.
 */
bool expect_fault(const char *what, uint32_t vector, uint32_t error_code);
/* Reports FAIL for `what` if any fault was recorded; no PASS line. */
bool expect_no_fault(const char *what);

/* Guarded MSR access: false (and last_fault filled) if it faulted. */
bool rdmsr_safe(uint32_t msr, uint64_t *value);
bool wrmsr_safe(uint32_t msr, uint64_t value);

#endif
