/*
 * A VM's guest-physical memory map: the one table from which the
 * second-level page tables, the e820 map and (later) ACPI are derived.
 */
#pragma once
#include "lib/types.h"

#define MEMMAP_MAX_REGIONS 16

enum memmap_kind {
	MEMMAP_RAM,          /* backed by host memory, e820 usable */
	MEMMAP_RAM_RESERVED, /* backed by host memory, e820 reserved (BIOS areas) */
};

struct memmap_region {
	u64 gpa;
	u64 size;
	enum memmap_kind kind;
	u8 *host;  /* host virtual address of gpa */
	u64 hpa;   /* host physical address of gpa */
};

struct memmap {
	unsigned count;
	unsigned last_hit; /* lookups tend to repeat: try this region first */
	struct memmap_region region[MEMMAP_MAX_REGIONS];
};

/* Adds a region; regions must not overlap. Returns 0 or -1. */
int memmap_add(struct memmap *map, u64 gpa, u64 size, enum memmap_kind kind, u8 *host, u64 hpa);
/* The region containing [gpa, gpa + len), or NULL. */
const struct memmap_region *memmap_find(const struct memmap *map, u64 gpa, u64 len);
