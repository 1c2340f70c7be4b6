/*
 * Ticket spinlock: waiters are served in arrival order, so no CPU starves.
 * Not interrupt-safe: code that takes a lock must not be re-entered from
 * an interrupt or exit handler that takes the same lock.
 */
#pragma once
#include "lib/types.h"

struct spinlock {
	u32 next_ticket; /* handed to the next CPU that asks */
	u32 now_serving; /* ticket that holds the lock */
};

#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(struct spinlock *lock)
{
	u32 ticket = __atomic_fetch_add(&lock->next_ticket, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&lock->now_serving, __ATOMIC_ACQUIRE) != ticket)
		__builtin_ia32_pause();
}

static inline void spin_unlock(struct spinlock *lock)
{
	/* Only the holder writes now_serving, so a plain read is enough. */
	u32 next = __atomic_load_n(&lock->now_serving, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&lock->now_serving, next, __ATOMIC_RELEASE);
}
