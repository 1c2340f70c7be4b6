/*
 * The PC's 8254 programmable interval timer (ports 0x40-0x43, input clock
 * 1193182 Hz) and system control port B (0x61: channel 2 gate, speaker,
 * OUT2, refresh toggle). Channel 0's OUT drives GSI 0.
 */
#pragma once
#include "lib/types.h"

struct vm;
struct i8254;

#define I8254_BASE 0x40
#define I8254_PORT_B 0x61
#define I8254_FREQUENCY_HZ 1193182ULL

/* Allocates the timer (channels unprogrammed, no interrupts), claims its
 * ports on vm->pio and registers its timer. NULL on failure. */
struct i8254 *i8254_create(struct vm *vm);
