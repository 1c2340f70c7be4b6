/*
 * A stand-in vcpu_kick() (vmm/vcpu_request.h) until the scheduler, which
 * defines the real one in vmm/sched.c: the one-vCPU run loop of vmm/vm.c
 * never sleeps in guest mode on another CPU and finds interrupts through
 * vcpu->irq_check, so there is nothing to wake. The strong definition
 * replaces this weak one; delete this file with it. Host tests define
 * their own kick (they do not link this file).
 */
#include "vmm/vcpu_request.h"

__attribute__((weak)) void vcpu_kick(struct vcpu *v)
{
	(void)v;
}
