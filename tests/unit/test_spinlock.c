/* Unit tests for lib/spinlock.h: the holder is recorded, and a CPU taking
 * a lock it already holds panics naming the lock and the CPU instead of
 * spinning for ever. */
#include "tests/unit/host_support.h"
#include "lib/spinlock.h"

#include <string.h>

static void test_owner_recorded_and_cleared(void **state)
{
	(void)state;
	struct spinlock lock = SPINLOCK_INIT_NAMED("heap");
	host_spinlock_cpu_id = 3; /* cpu 2 */
	spin_lock(&lock);
	assert_int_equal(lock.owner, 3);
	assert_true(spin_is_held_by_me(&lock));
	host_spinlock_cpu_id = 1;
	assert_false(spin_is_held_by_me(&lock));
	host_spinlock_cpu_id = 3;
	spin_unlock(&lock);
	assert_int_equal(lock.owner, 0);
	assert_int_equal(lock.next_ticket, 1);
	assert_int_equal(lock.now_serving, 1);
	/* Another CPU takes it next. */
	host_spinlock_cpu_id = 1;
	spin_lock(&lock);
	assert_int_equal(lock.owner, 1);
	spin_unlock(&lock);
}

static void test_taken_twice_panics(void **state)
{
	(void)state;
	struct spinlock lock = SPINLOCK_INIT_NAMED("heap");
	host_spinlock_cpu_id = 2; /* cpu 1 */
	spin_lock(&lock);
	expect_assert_failure(spin_lock(&lock));
	assert_string_equal(host_panic_message, "lock heap taken twice on cpu 1");
	/* The failed attempt took no ticket: the lock still works. */
	assert_int_equal(lock.next_ticket, 1);
	spin_unlock(&lock);
	spin_lock(&lock);
	spin_unlock(&lock);
}

static void test_unnamed_lock_still_reported(void **state)
{
	(void)state;
	struct spinlock lock = SPINLOCK_INIT;
	host_spinlock_cpu_id = 1;
	spin_lock(&lock);
	expect_assert_failure(spin_lock(&lock));
	assert_string_equal(host_panic_message, "lock (unnamed) taken twice on cpu 0");
	spin_unlock(&lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owner_recorded_and_cleared),
		cmocka_unit_test(test_taken_twice_panics),
		cmocka_unit_test(test_unnamed_lock_still_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
