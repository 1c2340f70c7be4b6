/*
 * Physical frame allocator: one bit per 4 KiB frame over usable RAM,
 * with contiguous, aligned allocations for hardware structures and guest
 * RAM. All functions take the allocator object so host tests can run
 * several; the hypervisor uses the single global 'frames' (mm/frame.c)
 * through the frame_*() wrappers, which take its lock.
 */
#pragma once
#include "lib/types.h"
#include "boot/bootinfo.h"

struct phys_range {
	u64 start; /* inclusive */
	u64 end;   /* exclusive */
};

struct frame_allocator {
	u64 *bitmap;      /* bit set = frame used or not RAM */
	u64 nframes;      /* frames covered: [0, nframes * 4K) */
	u64 free_frames;
	u64 total_frames; /* usable frames at init */
	u64 hint;         /* next-fit search start */
	u64 bitmap_phys;  /* where the bitmap lives (reserved inside itself) */
};

/*
 * Build the allocator from the memory map. Only MEM_USABLE regions are
 * handed out; 'reserved' ranges (the hypervisor image, modules, Multiboot
 * info, the first MiB) are never handed out. The bitmap itself is placed
 * in the first usable, unreserved range that can hold it; phys_to_virt
 * turns that physical address into a pointer (identity in the hypervisor).
 * Returns 0, or -1 with a sentence in err if no usable memory remains.
 */
int frame_allocator_init(struct frame_allocator *fa,
			 const struct mem_region *map, unsigned map_count,
			 const struct phys_range *reserved, unsigned reserved_count,
			 void *(*phys_to_virt)(u64 phys), char *err, size_t errlen);

/* Returns the physical address of 'count' contiguous frames aligned to
 * 'align' bytes (a power of two >= 4 KiB), or 0 when none are free. */
u64 frame_allocator_alloc(struct frame_allocator *fa, u64 count, u64 align);
void frame_allocator_free(struct frame_allocator *fa, u64 phys, u64 count);
/* 'count' frames as at most max_runs contiguous runs, each aligned to and
 * a multiple of 'align' bytes (count must be a multiple too): one run when
 * one is free, else the largest free runs first. Fills runs[] and returns
 * how many, or 0 (nothing held) when free memory is too fragmented. */
unsigned frame_allocator_alloc_runs(struct frame_allocator *fa, u64 count, u64 align,
				    struct phys_range *runs, unsigned max_runs);
bool frame_allocator_is_free(const struct frame_allocator *fa, u64 phys);

/* Global allocator used by the hypervisor. */
extern struct frame_allocator frames;
u64 frame_alloc(void);                    /* one zeroed frame, or 0 */
u64 frame_alloc_contig(u64 count, u64 align); /* zeroed, or 0 */
/* Not zeroed: whatever a VM or the firmware left there. Only for guest RAM,
 * which vmm/guest_mem.c clears a chunk at a time before anyone sees it. */
u64 frame_alloc_contig_uncleared(u64 count, u64 align);
/* The same as several runs (frame_allocator_alloc_runs), for guest RAM. */
unsigned frame_alloc_runs_uncleared(u64 count, u64 align, struct phys_range *runs, unsigned max_runs);
void frame_free(u64 phys, u64 count);
