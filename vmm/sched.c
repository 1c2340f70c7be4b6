/*
 * The vCPU scheduler (sched.h): one run list per host CPU, round-robin
 * with time slices when vCPUs share a CPU, idle HLT when none can run.
 */
#include "vmm/sched.h"
#include "vmm/host.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "lib/spinlock.h"
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "lib/muldiv.h"

struct run_list {
	struct spinlock lock;  /* 'first' and the links: others add, the owner removes */
	struct vcpu *first;
	struct vcpu *cursor;   /* the vCPU that ran last (owner only) */
	unsigned placed;       /* vCPUs placed here (sched_place), for balance */
	struct vcpu *loaded;   /* whose FPU/VMCS state is on the CPU (owner only) */
	unsigned count;        /* vCPUs on the list */
	bool resched;          /* a vCPU here was kicked while another ran */
};

static struct run_list lists[HOST_MAX_CPUS];
static struct spinlock placement_lock;

static bool usable(unsigned cpu)
{
	return cpu < HOST_MAX_CPUS && host_cpu_usable(cpu);
}

static unsigned least_loaded_cpu(void)
{
	unsigned best = 0;
	for (unsigned c = 0; c < HOST_MAX_CPUS; c++)
		if (usable(c) && (!usable(best) || lists[c].placed < lists[best].placed))
			best = c;
	return best;
}

void sched_place(unsigned vcpus, const u8 *wanted, unsigned wanted_count, unsigned *cpu_of)
{
	spin_lock(&placement_lock);
	for (unsigned i = 0; i < vcpus; i++) {
		unsigned cpu = wanted_count ? wanted[i % wanted_count] : least_loaded_cpu();
		if (!usable(cpu))
			cpu = least_loaded_cpu();
		cpu_of[i] = cpu;
		lists[cpu].placed++;
	}
	spin_unlock(&placement_lock);
}

void sched_unplace(unsigned vcpus, const unsigned *cpu_of)
{
	spin_lock(&placement_lock);
	for (unsigned i = 0; i < vcpus; i++)
		lists[cpu_of[i]].placed--;
	spin_unlock(&placement_lock);
}

void sched_add(struct vcpu *v)
{
	struct run_list *l = &lists[v->cpu];
	spin_lock(&l->lock);
	v->sched_next = l->first;
	l->first = v;
	l->count++;
	spin_unlock(&l->lock);
	if (v->cpu != host_cpu_index())
		host_cpu_kick(v->cpu);
}

/* The owner unlinks a vCPU whose VM ended, before the VM is freed. */
static void unlink(struct run_list *l, struct vcpu *v)
{
	spin_lock(&l->lock);
	for (struct vcpu **p = &l->first; *p; p = &(*p)->sched_next) {
		if (*p == v) {
			*p = v->sched_next;
			l->count--;
			break;
		}
	}
	if (l->cursor == v)
		l->cursor = NULL;
	spin_unlock(&l->lock);
}

void vcpu_kick(struct vcpu *v)
{
	/* In guest mode or idle on another CPU, that CPU needs an interrupt;
	 * on this CPU the run loop sees the request before its next entry, or,
	 * for another vCPU here, gives it the CPU at the next exit. */
	if (v->cpu != host_cpu_index())
		host_cpu_kick(v->cpu);
	else if (lists[v->cpu].loaded != v)
		__atomic_store_n(&lists[v->cpu].resched, true, __ATOMIC_RELAXED);
}

static bool vm_running(const struct vcpu *v)
{
	return __atomic_load_n(&v->vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING;
}

/* Would the vCPU do anything if it got the CPU now? A halted or waiting one
 * only for a request (an interrupt, NMI, INIT, SIPI, its VM's end) or a
 * due timer of its own. */
static bool wants_cpu(struct vcpu *v, u64 *earliest_tsc)
{
	if (!vm_running(v) || v->run_state == VCPU_RUNNABLE || vcpu_has_requests(v))
		return true;
	if (v->run_state != VCPU_HALTED)
		return false;
	u64 deadline = vtime_next_deadline(v->vm, v);
	if (deadline == VTIMER_INACTIVE)
		return false;
	u64 now = vm_time_ns(v->vm);
	if (deadline <= now)
		return true;
	u64 tsc = rdtsc() + muldiv_saturating(deadline - now, tsc_hz, NS_PER_SECOND);
	*earliest_tsc = MIN(*earliest_tsc, tsc);
	return false;
}

/* The next vCPU after the cursor that wants the CPU, round-robin. */
static struct vcpu *pick(struct run_list *l, u64 *earliest_tsc)
{
	spin_lock(&l->lock);
	struct vcpu *start = l->cursor && l->cursor->sched_next ? l->cursor->sched_next : l->first;
	struct vcpu *v = start, *found = NULL;
	while (v) {
		if (wants_cpu(v, earliest_tsc)) {
			found = v;
			break;
		}
		v = v->sched_next ? v->sched_next : l->first;
		if (v == start)
			break;
	}
	if (found)
		l->cursor = found;
	spin_unlock(&l->lock);
	return found;
}

bool sched_cpu_shared(const struct vcpu *v)
{
	return __atomic_load_n(&lists[v->cpu].count, __ATOMIC_RELAXED) > 1;
}

bool sched_resched(const struct vcpu *v)
{
	struct run_list *l = &lists[v->cpu];
	return __atomic_load_n(&l->resched, __ATOMIC_RELAXED) && __atomic_exchange_n(&l->resched, false, __ATOMIC_RELAXED);
}

/* The vCPU's state stays on the CPU until another vCPU needs it: a vCPU
 * that halts and wakes again pays no XSAVE/XRSTOR (or VMPTRLD). */
static void switch_to(struct run_list *l, struct vcpu *v)
{
	if (l->loaded == v)
		return;
	if (l->loaded)
		backend->vcpu_put(l->loaded);
	l->loaded = v;
	if (v)
		backend->vcpu_load(v);
}

void sched_cpu_loop(void)
{
	struct run_list *l = &lists[host_cpu_index()];
	for (;;) {
		u64 earliest = ~0ULL;
		struct vcpu *v = pick(l, &earliest);
		if (!v) {
			host_cpu_idle(earliest);
			continue;
		}
		if (vm_running(v)) {
			switch_to(l, v);
			vcpu_run_slice(v);
		}
		if (!vm_running(v)) {
			unlink(l, v);
			/* Building a VM (a restart) loads other VMCSs on this CPU:
			 * nothing may stay loaded across vmm_vm_ended(). */
			switch_to(l, NULL);
			struct vm *vm = v->vm;
			if (vcpu_leave(v))
				vmm_vm_ended(vm);
		}
	}
}
