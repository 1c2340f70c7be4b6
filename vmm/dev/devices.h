/* Device models: each file owns its state (from vm_device_alloc, freed with
 * the VM) and registers its ranges on the VM's buses. */
#pragma once
#include "lib/types.h"

struct vm;

#define COM1_BASE 0x3f8
#define DEBUG_EXIT_PORT 0xf4
#define TEST_DEVICE_PORT_BASE 0xe0
#define TEST_DEVICE_MMIO_BASE 0xfe000000ULL

/* raw_console: the guest owns the console (raw bytes out, typed bytes in). */
int uart16550_create(struct vm *vm, u16 base, bool raw_console);
int debug_exit_create(struct vm *vm, u16 port);
int test_device_create(struct vm *vm);
int pc_ports_create(struct vm *vm);
