/* The host machine's ACPI tables: what the hypervisor learns from them. */
#pragma once
#include "lib/types.h"
#include "boot/bootinfo.h"

#define ACPI_MAX_CPUS 256

struct acpi_info {
	u64 rsdp_phys;
	int revision;
	char oem_id[7];
	unsigned table_count;
	unsigned cpu_count;
	u32 apic_ids[ACPI_MAX_CPUS]; /* enabled processors, in MADT order */
	unsigned cpus_skipped;       /* disabled or online-capable entries */
	unsigned cpus_beyond_max;
	u64 local_apic_address;
	unsigned io_apic_count;
	u64 io_apic_address; /* the first one */
};

extern struct acpi_info acpi_info;

/* Finds the RSDP (Multiboot2 tag copy, else the BIOS areas), walks the
 * XSDT/RSDT and the MADT. Returns false when no valid RSDP exists. */
bool acpi_init(const struct boot_info *bi);
