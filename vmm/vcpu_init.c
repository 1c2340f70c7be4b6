/* PLACEHOLDER until the INIT/SIPI model lands: real mode at the reset vector. */
#include "vmm/vcpu_init.h"
#include "vmm/vm.h"
#include "vmm/loader.h"

#define RESET_VECTOR 0xffff0ULL
#define SIPI_VECTOR_SHIFT 12

void vcpu_do_init(struct vcpu *v)
{
	struct vcpu_sregs sregs;
	guest_state_real_mode(&v->regs, &sregs, RESET_VECTOR);
	vcpu_set_sregs(v, &sregs);
	__atomic_store_n(&v->nmi_pending, 0, __ATOMIC_RELAXED);
	v->interrupt_pending = false;
	v->run_state = v->id ? VCPU_WAIT_FOR_SIPI : VCPU_RUNNABLE;
}

void vcpu_do_sipi(struct vcpu *v)
{
	if (v->run_state != VCPU_WAIT_FOR_SIPI)
		return;
	struct vcpu_sregs sregs;
	guest_state_real_mode(&v->regs, &sregs, (u64)v->sipi_vector << SIPI_VECTOR_SHIFT);
	vcpu_set_sregs(v, &sregs);
	v->run_state = VCPU_RUNNABLE;
}

void vcpu_init_ap(struct vcpu *v)
{
	vcpu_do_init(v);
}
