/*
 * Ticket spinlock: waiters are served in arrival order, so no CPU starves.
 * Not interrupt-safe: code that takes a lock must not be re-entered from
 * an interrupt or exit handler that takes the same lock (host interrupts
 * are off in hypervisor code but for idle and cpu_service_interrupts()).
 *
 * Each lock records its holder and has a name, so a CPU that takes a lock
 * it already holds (which would spin for ever) panics with a clear line
 * instead: "lock heap taken twice on cpu 1".
 */
#pragma once
#include "lib/types.h"
#include "lib/print.h"

struct spinlock {
	u32 next_ticket; /* handed to the next CPU that asks */
	u32 now_serving; /* ticket that holds the lock */
	u32 owner;       /* holder's spinlock_cpu_id(), 0 when free */
	const char *name;
};

#define SPINLOCK_INIT { 0, 0, 0, NULL }
#define SPINLOCK_INIT_NAMED(lock_name) { 0, 0, 0, lock_name }

/* The calling CPU's index + 1 (never 0). lib/ knows no CPUs: arch/x86
 * defines it (host unit tests define a stub). */
unsigned spinlock_cpu_id(void);

static inline const char *spinlock_name(const struct spinlock *lock)
{
	return lock->name ? lock->name : "(unnamed)";
}

static inline void spin_lock(struct spinlock *lock)
{
	u32 me = spinlock_cpu_id();

	/* Only this CPU ever stores 'me' here, so a stale value cannot
	 * equal it: the check needs no ordering. */
	if (__atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == me)
		panic("lock %s taken twice on cpu %u", spinlock_name(lock), me - 1);
	u32 ticket = __atomic_fetch_add(&lock->next_ticket, 1, __ATOMIC_RELAXED);

	while (__atomic_load_n(&lock->now_serving, __ATOMIC_ACQUIRE) != ticket)
		__builtin_ia32_pause();
	__atomic_store_n(&lock->owner, me, __ATOMIC_RELAXED);
}

static inline bool spin_is_held_by_me(const struct spinlock *lock)
{
	return __atomic_load_n(&lock->owner, __ATOMIC_RELAXED) == spinlock_cpu_id();
}

static inline void spin_unlock(struct spinlock *lock)
{
	/* Only the holder writes now_serving, so a plain read is enough. */
	u32 next = __atomic_load_n(&lock->now_serving, __ATOMIC_RELAXED) + 1;

	__atomic_store_n(&lock->owner, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&lock->now_serving, next, __ATOMIC_RELEASE);
}
