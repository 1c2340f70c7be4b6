/*
 * Unit tests for the VM's virtual timers (vmm/vtime.c) on the host's real
 * TSC: one vtime_fire_due() call fires each due timer once, and a timer its
 * own callback re-arms for a moment already past cannot make every VM
 * entry fire it again (the run loop would re-arm the host timer at 1 ns
 * forever).
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* cmocka test functions ignore their state argument. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/vtime.c"

u64 tsc_hz = 1000000000ULL;

/* One host CPU: arming never needs a kick. */
unsigned host_cpu_index(void) { return 0; }
void vcpu_kick(struct vcpu *v) { (void)v; }

static struct vm vm;
static struct vcpu vcpu0; /* id 0: fires the VM's board timers */
static struct vtimer timer;

struct firing {
	unsigned count;
	u64 last_now;
	u64 rearm_delay_ns; /* added to now when re-arming */
};

static struct firing firing;

static void rearm_after(void *opaque, u64 now)
{
	struct firing *f = opaque;
	f->count++;
	f->last_now = now;
	vtimer_arm(&vm, &timer, now + f->rearm_delay_ns);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	memset(&firing, 0, sizeof(firing));
	vtime_vm_init(&vm);
	vtimer_init(&vm, &timer, rearm_after, &firing);
	return 0;
}

/* A model bug (re-arming at now) costs the guest one floor period, not its time. */
static void test_rearm_at_now_is_floored(void **state)
{
	vtimer_arm(&vm, &timer, 0);
	u64 next = vtime_fire_due(&vm, &vcpu0);
	assert_int_equal(firing.count, 1);
	assert_true(next >= firing.last_now + VTIMER_MIN_PERIOD_NS);
	assert_int_equal(next, timer.deadline_ns);
	/* Not due again until the floor has passed. */
	while (vm_time_ns(&vm) < firing.last_now + VTIMER_MIN_PERIOD_NS / 2)
		assert_int_equal(vtime_fire_due(&vm, &vcpu0), next);
	assert_int_equal(firing.count, 1);
}

/* A deadline after now is the model's own business: kept as armed. */
static void test_future_rearm_is_kept(void **state)
{
	firing.rearm_delay_ns = 1;
	vtimer_arm(&vm, &timer, 0);
	u64 next = vtime_fire_due(&vm, &vcpu0);
	assert_int_equal(firing.count, 1);
	assert_int_equal(next, firing.last_now + 1);
}

static void count_only(void *opaque, u64 now)
{
	struct firing *f = opaque;
	f->count++;
	f->last_now = now;
}

/* A one-shot that does not re-arm stays off. */
static void test_one_shot_stays_inactive(void **state)
{
	timer.fire = count_only;
	vtimer_arm(&vm, &timer, 0);
	assert_int_equal(vtime_fire_due(&vm, &vcpu0), VTIMER_INACTIVE);
	assert_int_equal(vtime_fire_due(&vm, &vcpu0), VTIMER_INACTIVE);
	assert_int_equal(firing.count, 1);
	assert_int_equal(timer.deadline_ns, VTIMER_INACTIVE);
}

#define VTIME_TEST(t) cmocka_unit_test_setup(t, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		VTIME_TEST(test_rearm_at_now_is_floored),
		VTIME_TEST(test_future_rearm_is_kept),
		VTIME_TEST(test_one_shot_stays_inactive),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
