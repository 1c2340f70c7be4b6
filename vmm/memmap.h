/*
 * A VM's guest-physical memory map: the one table from which the
 * second-level page tables, the e820 map and (later) ACPI are derived.
 * Guest RAM may come from several host runs: each region has one host
 * address, and adjacent regions of the same kind on different runs are
 * one range to the guest (memmap_guest_ranges).
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

/* What the guest is told (e820, Multiboot mmap): adjacent regions of the
 * same kind merged. */
struct memmap_range {
	u64 gpa;
	u64 size;
	enum memmap_kind kind;
};

/* Adds a region; regions must not overlap. Returns 0 or -1. */
int memmap_add(struct memmap *map, u64 gpa, u64 size, enum memmap_kind kind, u8 *host, u64 hpa);
/* The region containing [gpa, gpa + len), or NULL. */
const struct memmap_region *memmap_find(const struct memmap *map, u64 gpa, u64 len);
/* The first region overlapping [gpa, gpa + len), or NULL. */
const struct memmap_region *memmap_first_overlap(const struct memmap *map, u64 gpa, u64 len);
/* End of the stretch of adjacent regions of one kind that holds gpa (gpa
 * itself when it is not in the map): [gpa, end) is RAM of that kind even
 * where it crosses from one host run to the next. */
u64 memmap_stretch_end(const struct memmap *map, u64 gpa);
/* Fills out[] with the merged ranges, at most max; returns how many. */
unsigned memmap_guest_ranges(const struct memmap *map, struct memmap_range *out, unsigned max);
