/*
 * What vmm/ needs of the host machine besides the backend: which CPU it
 * runs on, IPIs between host CPUs, sleeping until an interrupt or a
 * deadline, and the guest's XCR0, which is the same on VT-x and AMD-V.
 * arch/x86/smp.c implements it (XCR0: arch/x86/fpu.c); host unit tests
 * fake it.
 */
#pragma once
#include "lib/types.h"

struct vcpu;

#define HOST_MAX_CPUS 64

/* Index of the calling CPU (0 = boot CPU), dense over the CPUs that are up. */
unsigned host_cpu_index(void);
/* CPUs that are up with VT enabled, and whether CPU i is one of them. */
unsigned host_cpu_count(void);
bool host_cpu_usable(unsigned cpu);
/* Makes CPU 'cpu' leave guest mode or a host_cpu_idle() (the kick vector). */
void host_cpu_kick(unsigned cpu);
/* Runs fn on CPU 'cpu' (not the calling one); fn never returns. For the
 * scheduler's loop on each CPU. */
void host_cpu_start(unsigned cpu, void (*fn)(void));
/* Sleeps with interrupts enabled until an interrupt arrives or the TSC
 * reaches 'deadline_tsc' (~0: no deadline); returns with them disabled. */
void host_cpu_idle(u64 deadline_tsc);

/* XCR0 bits a guest may set: the state components the host switches with
 * XSAVE (0 without XSAVE). */
u64 host_xcr0_supported(void);
/* The guest's XSETBV, after vmm/cr_rules.c accepted the value, on the
 * vCPU's own CPU: -1 if the CPU refuses it all the same (the guest's #GP). */
int host_set_guest_xcr0(struct vcpu *vcpu, u64 xcr0);
