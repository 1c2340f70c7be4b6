/*
 * The host's own local APIC (xAPIC MMIO): a one-shot timer that forces the
 * running guest to exit when a virtual timer is due, EOI, and IPIs between
 * host CPUs (INIT-SIPI-SIPI, kicks, the panic NMI).
 */
#pragma once
#include "lib/types.h"

#define LAPIC_TIMER_VECTOR 0xef
#define LAPIC_KICK_VECTOR 0xf0 /* host_cpu_kick(): only makes a CPU exit or wake */
#define LAPIC_SPURIOUS_VECTOR 0xff

/* Enables the local APIC and measures its timer against the TSC.
 * Returns false (and logs why) if there is no usable APIC. */
bool lapic_init(void);
/* Fires LAPIC_TIMER_VECTOR once, 'ns' nanoseconds from now (0: cancel). */
void lapic_timer_oneshot(u64 ns);
void lapic_eoi(void);
/* On every other CPU, once lapic_init() ran on the boot CPU: enable this
 * CPU's APIC with the same timer mode. */
void lapic_cpu_init(void);
bool lapic_usable(void);
u32 lapic_id(void);
/* IPIs through the xAPIC ICR (physical destination, APIC IDs up to 254);
 * each waits for the APIC to accept it and returns false if it did not. */
bool lapic_send_init(u32 apic_id);
bool lapic_send_startup(u32 apic_id, u8 page); /* starts at page * 4 KiB, real mode */
bool lapic_send_fixed(u32 apic_id, u8 vector);
bool lapic_send_nmi_to_others(void); /* every CPU but the caller */
