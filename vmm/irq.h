/*
 * Interrupt lines of the virtual PC. A device model raises and lowers a
 * global system interrupt (GSI, = ISA IRQ number for 0-15); the VM routes it
 * to the interrupt controller models (8259 pair, I/O APIC). Devices never
 * talk to the backend.
 */
#pragma once
#include "lib/types.h"

struct vm;

#define ISA_IRQ_PIT 0
#define ISA_IRQ_KEYBOARD 1
#define ISA_IRQ_CASCADE 2
#define ISA_IRQ_COM2 3
#define ISA_IRQ_COM1 4
#define ISA_IRQ_RTC 8
#define ISA_IRQ_SCI 9

/* Level-sensitive view: 'level' is the line's new state. An edge-triggered
 * input sees the 0->1 transition. */
void vm_set_irq(struct vm *vm, unsigned gsi, bool level);

static inline void vm_pulse_irq(struct vm *vm, unsigned gsi)
{
	vm_set_irq(vm, gsi, true);
	vm_set_irq(vm, gsi, false);
}
