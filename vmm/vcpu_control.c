/*
 * A vCPU's control state as vmm/ sees it: cached once per exit, and every
 * guest write to CR0/CR3/CR4, EFER and XCR0 checked against the
 * architectural rules (vmm/cr_rules.c) before the backend applies it.
 */
#include "vmm/vm.h"
#include "vmm/backend.h"
#include "vmm/host.h"
#include "arch/x86/cpu.h"

void vcpu_control_refresh(struct vcpu *v)
{
	backend->get_control(v, &v->control);
	v->control_valid = true;
}

void vcpu_set_sregs(struct vcpu *v, const struct vcpu_sregs *sregs)
{
	backend->set_sregs(v, sregs);
	v->control_valid = false;
}

static struct cr_context cr_context_of(struct vcpu *v)
{
	const struct vcpu_control *c = vcpu_control(v);
	return (struct cr_context){ c->cr0, c->cr3, c->cr4, c->efer, c->cs_long };
}

int vcpu_set_cr(struct vcpu *v, unsigned cr, u64 value)
{
	struct cr_context now = cr_context_of(v);
	if (cr_write_check(&v->vm->cr_rules, cr, value, &now))
		return -1;
	v->control_valid = false;
	return backend->set_cr(v, cr, value);
}

int vcpu_set_efer(struct vcpu *v, u64 efer)
{
	struct cr_context now = cr_context_of(v);
	if (efer_write_check(&v->vm->cr_rules, efer, &now))
		return -1;
	v->control_valid = false;
	return backend->set_efer(v, (efer & ~(u64)EFER_LMA) | (now.efer & EFER_LMA));
}

int vcpu_set_xcr0(struct vcpu *v, u64 xcr0)
{
	if (xcr0_write_check(&v->vm->cr_rules, xcr0))
		return -1;
	return host_set_guest_xcr0(v, xcr0);
}

