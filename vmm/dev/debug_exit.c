/*
 * Debug exit, compatible with QEMU's isa-debug-exit: a write of V ends the
 * VM with status (V << 1) | 1. Enabled per VM (debugexit=1).
 */
#include "vmm/dev/devices.h"
#include "vmm/vm.h"

#define DEBUG_EXIT_PORTS 4

static void debug_exit_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct vm *vm = device;
	vm_exit_with_status(vm, (int)(((value & 0xffffffffULL) << 1) | 1));
}

int debug_exit_create(struct vm *vm, u16 port)
{
	return io_bus_register(&vm->pio, port, DEBUG_EXIT_PORTS, "debug-exit", vm, NULL,
			       debug_exit_write);
}
