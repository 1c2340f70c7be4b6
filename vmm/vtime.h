/*
 * Guest time for device models: a monotonic nanosecond clock derived from
 * the host TSC, and one-shot timers the VM's run loop fires when due (and
 * wakes a halted vCPU for). Device models use only this interface, so host
 * tests can drive time by hand.
 */
#pragma once
#include "lib/types.h"
#include "lib/muldiv.h" /* NS_PER_SECOND */

struct vm;
struct vcpu;

#define VTIMER_INACTIVE (~0ULL)

/*
 * The shortest period the local APIC and PIT periodic timers fire at,
 * whatever the guest programs (KVM's default min_timer_period_us for the
 * same two); the RTC's fastest rate, 8192 Hz, is its own floor. A count of 1 would otherwise re-arm the host timer every few
 * nanoseconds and leave the guest no time to run; at this floor a timer
 * costs at most 5000 wake-ups a second. Missed periods coalesce into one
 * interrupt in every model.
 */
#define VTIMER_MIN_PERIOD_NS 200000ULL

struct vtimer {
	u64 deadline_ns;              /* VTIMER_INACTIVE when not armed */
	void (*fire)(void *opaque, u64 now_ns);
	void *opaque;
	struct vtimer *next;          /* VM's timer list: owned by vtime.c */
	/* The vCPU whose CPU fires it: a local APIC's own vCPU; NULL for the
	 * VM's board devices (PIT, RTC...), which vCPU 0 fires. */
	struct vcpu *owner;
};

/* Current guest time in nanoseconds (monotonic, starts near 0 at VM creation). */
u64 vm_time_ns(struct vm *vm);
/* Registers a timer with the VM (once, at device creation). */
void vtimer_init(struct vm *vm, struct vtimer *t, void (*fire)(void *opaque, u64 now_ns), void *opaque);
void vtimer_arm(struct vm *vm, struct vtimer *t, u64 deadline_ns);
void vtimer_cancel(struct vm *vm, struct vtimer *t);

/* For the VM's run loop (vmm/vtime.c). Timers are armed and fired with the
 * VM's lock held; arming one owned by a vCPU on another CPU kicks it, so
 * its CPU re-arms its host timer. */
void vtime_vm_init(struct vm *vm);
/* Fires the timers of this vCPU that are due, each at most once; returns
 * the vCPU's earliest remaining deadline (VTIMER_INACTIVE if none). A timer
 * its own callback re-armed for a moment already past is pushed
 * VTIMER_MIN_PERIOD_NS ahead. */
u64 vtime_fire_due(struct vm *vm, struct vcpu *v);
/* The vCPU's earliest deadline without firing anything (a racy read is
 * fine: an earlier arm kicks the vCPU). */
u64 vtime_next_deadline(struct vm *vm, const struct vcpu *v);
