/*
 * Second-level page tables (Intel EPT and AMD NPT) built from a VM's memory
 * map. One 4-level builder and walker; the entry format is a parameter.
 */
#pragma once
#include "lib/types.h"

enum slpt_permission {
	SLPT_READ = 1,
	SLPT_WRITE = 2,
	SLPT_EXECUTE = 4,
	SLPT_RWX = 7,
};

struct slpt_format {
	const char *name;
	u64 table_flags;  /* non-leaf entries */
	u64 read, write, execute_disable, execute; /* leaf permission bits (0 if absent) */
	u64 leaf_flags;   /* memory type etc. for leaves */
	u64 present_mask; /* an entry is present if any of these bits is set */
	u64 large;        /* PS bit in level 2 and 3 entries */
	bool page_2m, page_1g;
};

extern const struct slpt_format npt_format;
extern const struct slpt_format ept_format;

struct slpt {
	struct slpt_format format; /* a copy: page-size support is per CPU */
	u64 root;                  /* physical address of the PML4 */
	/* Page-table memory: zeroed page's physical address or 0; pointer for one. */
	u64 (*alloc_page)(void *ctx);
	void (*free_page)(void *ctx, u64 phys);
	void *(*phys_to_ptr)(void *ctx, u64 phys);
	void *ctx;
	u64 tables;                /* table pages in use */
	u64 mapped_4k, mapped_2m, mapped_1g;
};

/* Returns 0 or -1 (no memory for the root). */
int slpt_init(struct slpt *t);
/* Maps [gpa, gpa+size) to [hpa, hpa+size) with the largest pages that fit
 * the alignment of both. Sizes and addresses must be 4 KiB aligned and the
 * range must not be mapped yet. Returns 0 or -1 (out of memory / overlap). */
int slpt_map(struct slpt *t, u64 gpa, u64 hpa, u64 size, unsigned permissions);
struct memmap;
/* Maps the parts of the memory map's regions that lie in [gpa, gpa+size)
 * (RWX, each region at its host address). Returns 0 or -1. */
int slpt_map_regions(struct slpt *t, const struct memmap *map, u64 gpa, u64 size);
/* Walks the tables: returns true with the translation if gpa is mapped. */
bool slpt_lookup(const struct slpt *t, u64 gpa, u64 *hpa, unsigned *permissions, u64 *page_size);
/* Frees every table page. */
void slpt_destroy(struct slpt *t);
