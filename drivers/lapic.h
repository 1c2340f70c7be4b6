/*
 * The host's own local APIC (xAPIC MMIO): a one-shot timer that forces the
 * running guest to exit when a virtual timer is due, and EOI.
 */
#pragma once
#include "lib/types.h"

#define LAPIC_TIMER_VECTOR 0xef
#define LAPIC_SPURIOUS_VECTOR 0xff

/* Enables the local APIC and measures its timer against the TSC.
 * Returns false (and logs why) if there is no usable APIC. */
bool lapic_init(void);
/* Fires LAPIC_TIMER_VECTOR once, 'ns' nanoseconds from now (0: cancel). */
void lapic_timer_oneshot(u64 ns);
void lapic_eoi(void);
