/*
 * How a VM ends (stopped by Presidio, exited, powered off, reset) and
 * whether an external interrupt waits for a vCPU: the VM state the exit
 * path and the devices change, kept apart from VM creation (vm.c) so host
 * tests link this very code.
 */
#include "vmm/vm.h"
#include "vmm/apic.h"
#include "vmm/dev/pc_misc.h" /* vm_request_reset, the devices' reset line */
#include "lib/print.h"
#include "lib/string.h"

/* Every vCPU leaves its CPU once the state is no longer VM_RUNNING. */
static void stop_vcpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		vcpu_request(vm->vcpu[i], VCPU_REQ_STOP);
}

/* The first end wins (from any vCPU's CPU): its reason stands. */
static bool end_vm(struct vm *vm, enum vm_state state)
{
	spin_lock(&vm->end_lock);
	bool first = vm->state == VM_RUNNING;
	if (first)
		__atomic_store_n(&vm->state, state, __ATOMIC_RELEASE);
	spin_unlock(&vm->end_lock);
	if (first)
		stop_vcpus(vm);
	return first;
}

/* A reset loop turns VM_RESET into VM_STOPPED after every vCPU has left. */
void vm_stop(struct vm *vm, const char *fmt, ...)
{
	char reason[sizeof(vm->stop_reason)];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	spin_lock(&vm->end_lock);
	bool first = vm->state == VM_RUNNING || vm->state == VM_RESET || vm->state == VM_CREATED;
	if (first) {
		memcpy(vm->stop_reason, reason, sizeof(reason));
		__atomic_store_n(&vm->state, VM_STOPPED, __ATOMIC_RELEASE);
	}
	spin_unlock(&vm->end_lock);
	if (first)
		stop_vcpus(vm);
}

void vm_request_reset(struct vm *vm)
{
	end_vm(vm, VM_RESET); /* vmm.c rebuilds it: a reset is a new power-on */
}

#define EXIT_STATUS_CLEAN 1 /* what debug-exit value 0 gives */

static void exit_with(struct vm *vm, int status, bool powered_off)
{
	spin_lock(&vm->end_lock);
	bool first = vm->state == VM_RUNNING;
	if (first) {
		vm->exit_status = status;
		vm->powered_off = powered_off;
		__atomic_store_n(&vm->state, VM_EXITED, __ATOMIC_RELEASE);
	}
	spin_unlock(&vm->end_lock);
	if (first)
		stop_vcpus(vm);
}

void vm_power_off(struct vm *vm)
{
	exit_with(vm, EXIT_STATUS_CLEAN, true);
}

void vm_exit_with_status(struct vm *vm, int status)
{
	exit_with(vm, status, false);
}

bool vcpu_interrupt_pending(struct vcpu *v)
{
	return v->irq_check && vcpu_apic_has_interrupt(v);
}
