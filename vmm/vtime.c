/*
 * Guest time and virtual timers. Time is the host TSC scaled to
 * nanoseconds with a 32.32 fixed-point factor (no division per reading).
 * Timers are a short list per VM; the run loop fires due ones before each
 * entry and arms the host's one-shot timer for the earliest.
 */
#include "vmm/vtime.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "vmm/host.h"

#define FIXED_POINT_SHIFT 32
#define FALLBACK_TSC_HZ 1000000000ULL /* if calibration failed: assume 1 GHz */

static u64 ns_per_tick_fixed(void)
{
	u64 hz = tsc_hz ? tsc_hz : FALLBACK_TSC_HZ;
	return (NS_PER_SECOND << FIXED_POINT_SHIFT) / hz;
}

void vtime_vm_init(struct vm *vm)
{
	vm->time_base_tsc = rdtsc();
	vm->ns_per_tick = ns_per_tick_fixed();
	vm->timers = NULL;
	vm->next_deadline = VTIMER_INACTIVE;
}

u64 vm_time_ns(struct vm *vm)
{
	u64 ticks = rdtsc() - vm->time_base_tsc;
	return (u64)(((unsigned __int128)ticks * vm->ns_per_tick) >> FIXED_POINT_SHIFT);
}

void vtimer_init(struct vm *vm, struct vtimer *t, void (*fire)(void *opaque, u64 now_ns), void *opaque)
{
	t->deadline_ns = VTIMER_INACTIVE;
	t->fire = fire;
	t->opaque = opaque;
	t->owner = NULL;
	t->next = vm->timers;
	vm->timers = t;
}

/* Whose deadline cache a timer feeds: its owner's, or the VM's for vCPU 0. */
static u64 *deadline_cache(struct vm *vm, const struct vtimer *t)
{
	return t->owner ? &t->owner->next_deadline : &vm->next_deadline;
}

static bool fired_by(const struct vtimer *t, const struct vcpu *v)
{
	return t->owner ? t->owner == v : v->id == 0;
}

void vtimer_arm(struct vm *vm, struct vtimer *t, u64 deadline_ns)
{
	t->deadline_ns = deadline_ns;
	u64 *cache = deadline_cache(vm, t);
	if (deadline_ns >= *cache)
		return;
	*cache = deadline_ns;
	/* The CPU that fires it may sleep until a later deadline: wake it. */
	struct vcpu *firer = t->owner ? t->owner : vm->vcpu[0];
	if (firer && firer->cpu != host_cpu_index())
		vcpu_kick(firer);
}

void vtimer_cancel(struct vm *vm, struct vtimer *t)
{
	t->deadline_ns = VTIMER_INACTIVE;
}

/* The callback may re-arm this or other timers. Every model re-arms for a
 * moment after now; one that did not would fire again on every entry and
 * starve the guest, so that moment is moved to the floor. */
static void fire(struct vtimer *t, u64 now)
{
	t->deadline_ns = VTIMER_INACTIVE;
	t->fire(t->opaque, now);
	if (t->deadline_ns <= now)
		t->deadline_ns = now + VTIMER_MIN_PERIOD_NS;
}

u64 vtime_next_deadline(struct vm *vm, const struct vcpu *v)
{
	return v->id == 0 ? MIN(v->next_deadline, vm->next_deadline) : v->next_deadline;
}

u64 vtime_fire_due(struct vm *vm, struct vcpu *v)
{
	u64 next = vtime_next_deadline(vm, v);
	if (next == VTIMER_INACTIVE)
		return VTIMER_INACTIVE; /* the common case: no timer armed, no clock read */
	u64 now = vm_time_ns(vm);
	if (now < next)
		return next;
	for (struct vtimer *t = vm->timers; t; t = t->next)
		if (fired_by(t, v) && t->deadline_ns <= now)
			fire(t, now);
	v->next_deadline = VTIMER_INACTIVE;
	if (v->id == 0)
		vm->next_deadline = VTIMER_INACTIVE;
	for (struct vtimer *t = vm->timers; t; t = t->next)
		if (fired_by(t, v))
			*deadline_cache(vm, t) = MIN(*deadline_cache(vm, t), t->deadline_ns);
	return vtime_next_deadline(vm, v);
}
