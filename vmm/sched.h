/*
 * vCPU scheduling. Every vCPU is pinned to one host CPU for its life (so a
 * VMCS/VMCB never moves between CPUs once it has run: no VMCLEAR/VMPTRLD
 * migration protocol, no cross-CPU host state). Each host CPU runs
 * sched_cpu_loop(): round-robin over its runnable vCPUs, a time slice each
 * when more than one is runnable (the host local APIC timer ends a slice),
 * idle (HLT) when none is. A halted vCPU gives up its CPU; a request or a
 * due timer makes it runnable again.
 */
#pragma once
#include "lib/types.h"

struct vcpu;

/* A slice when vCPUs share a CPU: short enough for interactive guests,
 * long enough that switching (XSAVE/XRSTOR, VMPTRLD) stays cheap. */
#define SCHED_SLICE_NS (4 * 1000 * 1000ULL)

/* Where each vCPU of a VM goes: explicit CPUs (the cpus= word, used in
 * turn) when given, else the least-loaded usable CPUs, lowest index first.
 * Fills cpu_of[0..vcpus-1]; counts the load it adds. */
void sched_place(unsigned vcpus, const u8 *wanted, unsigned wanted_count, unsigned *cpu_of);
/* Forgets the load of vCPUs that ended for good. */
void sched_unplace(unsigned vcpus, const unsigned *cpu_of);
/* Puts a vCPU on its CPU's run list (v->cpu) and kicks that CPU. */
void sched_add(struct vcpu *v);
/* The scheduler on the calling CPU; never returns. */
void NORETURN sched_cpu_loop(void);
/* Does the vCPU share its CPU? Then it runs in time slices, so halted
 * neighbours' timers and requests get the CPU within a slice. */
bool sched_cpu_shared(const struct vcpu *v);
/* Was another vCPU of this CPU kicked (an IPI, an interrupt) since the
 * last call? The running one yields at its next exit. */
bool sched_resched(const struct vcpu *v);
