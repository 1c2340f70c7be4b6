/*
 * The CPUs of the ACPI MADT (guests/lib/madt.c): the enabled local APICs,
 * found through the RSDP in 0xe0000-0xfffff.
 */
#ifndef GUEST_MADT_H
#define GUEST_MADT_H

#include <stdint.h>

/* APIC IDs kept (the count goes on past it). */
#define MADT_MAX_CPUS 8

struct madt_cpus {
	uint32_t count;                  /* all enabled ones */
	uint32_t apic_id[MADT_MAX_CPUS]; /* the first MADT_MAX_CPUS, in MADT order */
	uint32_t x2apic_entries;         /* enabled ones from type 9 entries */
	uint32_t disabled;               /* entries without the Enabled flag */
	uint32_t rsdp, madt;             /* where the tables were */
	uint32_t rsdp_revision;
	uint32_t lapic_address;          /* the MADT's local interrupt controller address */
};

/* Fills *out; NULL, or what went wrong. */
const char *madt_find_cpus(struct madt_cpus *out);

#endif
