/*
 * The PC's 8259A programmable interrupt controller pair and its ELCR:
 * master at ports 0x20-0x21 (IRQ 0-7), slave at 0xa0-0xa1 (IRQ 8-15)
 * cascaded on master IR2, edge/level control at 0x4d0-0x4d1.
 */
#pragma once
#include "lib/types.h"

struct vm;
struct i8259;

#define I8259_MASTER_BASE 0x20
#define I8259_SLAVE_BASE 0xa0
#define I8259_ELCR_BASE 0x4d0
#define I8259_IRQ_COUNT 16

/* Allocates the pair in its power-on state and claims its ports on vm->pio.
 * NULL on allocation or registration failure. */
struct i8259 *i8259_create(struct vm *vm);
/* Power-on state (as after RESET): everything cleared, ELCR edge. */
void i8259_reset(struct i8259 *pic);
/* Optional: called whenever the master's INT output may have risen, so the
 * VM can kick a halted vCPU. */
void i8259_set_notify(struct i8259 *pic, void (*notify)(void *opaque), void *opaque);

/* Level of input line 'irq' (0-15; others ignored). An edge-triggered input
 * latches a request on 0->1 and keeps it until acknowledged, so a pulse
 * (vm_pulse_irq) is enough; a level-triggered one requests while high. */
void i8259_set_irq(struct i8259 *pic, unsigned irq, bool level);
/* The master's INT output: an unmasked request outranks everything in service. */
bool i8259_has_interrupt(struct i8259 *pic);
/* The INTA cycle: returns the vector to deliver and moves the request to
 * in-service (slave included). If the request vanished in the meantime it
 * returns the spurious vector (base + 7) of the chip that lost it, as real
 * hardware does, without setting its ISR bit. */
int i8259_acknowledge(struct i8259 *pic);
