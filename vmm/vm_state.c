/*
 * How a VM ends (stopped by Presidio, exited, powered off, reset) and the
 * external-interrupt queue of a vCPU: the VM state the exit path and the
 * devices change, kept apart from VM creation (vm.c) so host tests link
 * this very code.
 */
#include "vmm/vm.h"
#include "vmm/apic.h"
#include "vmm/dev/pc_misc.h" /* vm_request_reset, the devices' reset line */
#include "lib/print.h"

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	if (vm->state == VM_EXITED || vm->state == VM_STOPPED)
		return; /* the first reason stands */
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STOPPED;
}

void vm_request_reset(struct vm *vm)
{
	if (vm->state == VM_RUNNING)
		vm->state = VM_RESET; /* vmm.c rebuilds it: a reset is a new power-on */
}

#define EXIT_STATUS_CLEAN 1 /* what debug-exit value 0 gives */

void vm_power_off(struct vm *vm)
{
	if (vm->state != VM_RUNNING)
		return;
	vm->powered_off = true;
	vm->exit_status = EXIT_STATUS_CLEAN;
	vm->state = VM_EXITED;
}

void vm_exit_with_status(struct vm *vm, int status)
{
	if (vm->state != VM_RUNNING)
		return;
	vm->exit_status = status;
	vm->state = VM_EXITED;
}

void vcpu_queue_interrupt(struct vcpu *vcpu, u8 vector)
{
	vcpu->interrupt_vector = vector;
	vcpu->interrupt_pending = true;
}

bool vcpu_interrupt_pending(struct vcpu *v)
{
	return v->interrupt_pending || (v->irq_check && vcpu_apic_has_interrupt(v));
}
