/*
 * 64-bit code for test guests that otherwise run in 32-bit protected mode:
 * long_mode_call() enters IA-32e mode with an identity map of the low
 * 4 GiB (2 MiB pages), calls a 64-bit routine and comes back to 32-bit
 * protected mode with paging off (guests/lib/long_mode.asm). Routines are
 * written in nasm with `bits 64`; LONG_MODE_GUARDED (long_mode.inc) arms
 * fault recovery around one instruction, as FAULT_GUARDED does in 32-bit
 * code.
 */
#ifndef GUEST_LONG_MODE_H
#define GUEST_LONG_MODE_H

#include <stddef.h>
#include <stdint.h>

/* The last exception taken in 64-bit code (layout: long_mode.inc). */
struct long_mode_fault {
	uint32_t occurred, vector;
	uint64_t error_code, rip;
};
_Static_assert(offsetof(struct long_mode_fault, vector) == 4 &&
		       offsetof(struct long_mode_fault, error_code) == 8 &&
		       offsetof(struct long_mode_fault, rip) == 16 && sizeof(struct long_mode_fault) == 24,
	       "LONG_MODE_FAULT_* in long_mode.inc");

extern volatile struct long_mode_fault long_mode_fault;

/*
 * The PML4 long_mode_call loads. Entry 0 (the identity map) is rewritten on
 * every call; a caller may add others before a call (e.g. an alias).
 */
extern uint64_t long_mode_pml4[512];

/*
 * Calls routine with RDI = argument in 64-bit mode (CS = SEL_CODE64,
 * interrupts off); the routine may change any register but RSP and ends
 * with a near RET. Call it with paging off. Returns 0 when the routine
 * returned, 1 when an exception outside LONG_MODE_GUARDED ended it
 * (long_mode_fault says which). long_mode_fault.occurred is cleared first.
 */
uint32_t long_mode_call(void (*routine)(void), uint32_t argument);

#endif
