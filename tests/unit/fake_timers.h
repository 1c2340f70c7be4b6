/*
 * A hand-driven guest clock and the VM's virtual timers, for unit tests of
 * code that arms vtimers (vmm/vtime.h). The includer defines
 * `static u64 fake_now;` (the guest time in ns) before including this.
 */
#pragma once

u64 vm_time_ns(struct vm *owner) { return fake_now; }

#define MAX_TIMERS 8
#define MAX_FIRES_PER_ADVANCE 10000
static struct vtimer *timers[MAX_TIMERS];
static unsigned timer_count;
static unsigned timer_fires;

void vtimer_init(struct vm *owner, struct vtimer *t, void (*fire)(void *, u64), void *opaque)
{
	assert_true(timer_count < MAX_TIMERS);
	t->deadline_ns = VTIMER_INACTIVE;
	t->fire = fire;
	t->opaque = opaque;
	t->next = NULL;
	timers[timer_count++] = t;
}

void vtimer_arm(struct vm *owner, struct vtimer *t, u64 deadline_ns) { t->deadline_ns = deadline_ns; }
void vtimer_cancel(struct vm *owner, struct vtimer *t) { t->deadline_ns = VTIMER_INACTIVE; }

/* Earliest armed deadline (what vtime_fire_due() would return). */
static UNUSED u64 next_deadline(void)
{
	u64 next = VTIMER_INACTIVE;
	for (unsigned i = 0; i < timer_count; i++)
		next = MIN(next, timers[i]->deadline_ns);
	return next;
}

/* Moves guest time to 'target', firing every timer that falls due on the
 * way, in deadline order, at its deadline (as the run loop would). A timer
 * that keeps re-arming in the past fails the test instead of hanging it. */
static void advance_to(u64 target)
{
	for (unsigned fires = 0;; fires++) {
		if (fires > MAX_FIRES_PER_ADVANCE)
			fail_msg("timers keep firing without time passing");
		struct vtimer *due = NULL;
		for (unsigned i = 0; i < timer_count; i++) {
			struct vtimer *t = timers[i];
			if (t->deadline_ns != VTIMER_INACTIVE && t->deadline_ns <= target &&
			    (!due || t->deadline_ns < due->deadline_ns))
				due = t;
		}
		if (!due)
			break;
		if (due->deadline_ns > fake_now)
			fake_now = due->deadline_ns;
		due->deadline_ns = VTIMER_INACTIVE;
		timer_fires++;
		due->fire(due->opaque, fake_now);
	}
	fake_now = target;
}

static UNUSED void advance(u64 ns) { advance_to(fake_now + ns); }
