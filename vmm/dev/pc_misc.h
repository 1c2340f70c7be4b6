/*
 * Small PC/AT board logic: system control port A (0x92: A20, fast reset)
 * and the i8042 keyboard controller (0x60 data, 0x64 status/command) as far
 * as a guest needs it to boot and to reset the machine. No keyboard or mouse.
 */
#pragma once
#include "lib/types.h"

struct vm;
struct pc_misc;

#define PC_PORT_A 0x92
#define I8042_DATA_PORT 0x60
#define I8042_COMMAND_PORT 0x64

/* Provided by the VM layer: reset the whole machine (all vCPUs back to the
 * reset vector, devices to power-on state) at the next opportunity. Called
 * from an I/O handler, so it must only record the request. */
void vm_request_reset(struct vm *vm);

/* Allocates the ports' state, claims them on vm->pio. NULL on failure. */
struct pc_misc *pc_misc_create(struct vm *vm);
