/*
 * Physical frame allocator: a bitmap with one bit per 4 KiB frame.
 *
 * The bitmap storage holds two bitmaps of the same size back to back:
 *   words [0, n)   allocation state: bit set = frame in use or not RAM
 *   words [n, 2n)  fixed mask: bit set = frame was never allocatable
 *                  (hole, firmware, reserved range, frame 0, the bitmap)
 * The fixed mask lets frame_allocator_free() catch a hypervisor bug that
 * frees the image, a module or a firmware page instead of corrupting RAM.
 */
#include "mm/frame.h"
#include "lib/print.h"
#include "lib/spinlock.h"

#define BITS_PER_WORD 64
#define WORD_ALL_SET (~0ULL)
#define FRAME_NONE (~0ULL)
/* Highest physical address we accept for usable RAM (64 TiB). */
#define PHYS_ADDRESS_LIMIT (1ULL << 46)
#define BITMAPS_PER_ALLOCATOR 2

/* A view of the boot-time description of memory, scanned before the
 * bitmap exists. */
struct memory_description {
	const struct mem_region *map;
	unsigned map_count;
	const struct phys_range *reserved;
	unsigned reserved_count;
};

static u64 words_for_frames(u64 nframes)
{
	return (nframes + BITS_PER_WORD - 1) / BITS_PER_WORD;
}

static u64 *fixed_mask(const struct frame_allocator *fa)
{
	return fa->bitmap + words_for_frames(fa->nframes);
}

static bool bit_is_set(const u64 *words, u64 frame)
{
	return (words[frame / BITS_PER_WORD] >> (frame % BITS_PER_WORD)) & 1;
}

/* Sets or clears the bits of frames [first, end), a word at a time. */
static void mark_frames(u64 *words, u64 first, u64 end, bool used)
{
	while (first < end) {
		u64 bit = first % BITS_PER_WORD;
		u64 span = MIN(BITS_PER_WORD - bit, end - first);
		u64 mask = span == BITS_PER_WORD ? WORD_ALL_SET
						 : ((1ULL << span) - 1) << bit;

		if (used)
			words[first / BITS_PER_WORD] |= mask;
		else
			words[first / BITS_PER_WORD] &= ~mask;
		first += span;
	}
}

/* First frame in [frame, end) whose bit equals 'used', or end. Skips
 * whole words that cannot contain a match. */
static u64 find_frame(const struct frame_allocator *fa, u64 frame, u64 end,
		      bool used)
{
	while (frame < end) {
		u64 word = fa->bitmap[frame / BITS_PER_WORD];

		if (!used)
			word = ~word;
		word >>= frame % BITS_PER_WORD;
		if (word)
			return MIN(frame + (u64)__builtin_ctzll(word), end);
		frame = ALIGN_DOWN(frame, BITS_PER_WORD) + BITS_PER_WORD;
	}
	return end;
}

/* ---- Scanning the memory map directly (before the bitmap exists) ---- */

static u64 region_end(const struct mem_region *region)
{
	if (region->length > ~0ULL - region->base)
		return ~0ULL;
	return region->base + region->length;
}

/* Whole frames of a usable region: base rounded up, end rounded down. */
static bool usable_span(const struct mem_region *region, u64 *start, u64 *end)
{
	if (region->type != MEM_USABLE || region->length == 0)
		return false;
	u64 limit = MIN(region_end(region), PHYS_ADDRESS_LIMIT);
	if (region->base >= limit)
		return false;
	*start = ALIGN_UP(region->base, PAGE_SIZE);
	*end = ALIGN_DOWN(limit, PAGE_SIZE);
	return *start < *end;
}

/*
 * Blockers are everything that must never be handed out, rounded outward
 * to whole frames and clipped to PHYS_ADDRESS_LIMIT: non-usable map
 * entries, the caller's reserved ranges, and frame 0 (so that 0 can mean
 * failure). Index i runs over all three lists in turn.
 */
static unsigned blocker_count(const struct memory_description *memory)
{
	return memory->map_count + memory->reserved_count + 1;
}

static bool blocker_span(const struct memory_description *memory, unsigned i,
			 u64 *start, u64 *end)
{
	u64 base, limit;

	if (i < memory->map_count) {
		const struct mem_region *region = &memory->map[i];

		if (region->type == MEM_USABLE || region->length == 0)
			return false;
		base = region->base;
		limit = region_end(region);
	} else if (i < memory->map_count + memory->reserved_count) {
		const struct phys_range *range =
			&memory->reserved[i - memory->map_count];

		base = range->start;
		limit = range->end;
	} else {
		base = 0;
		limit = PAGE_SIZE;
	}
	limit = MIN(limit, PHYS_ADDRESS_LIMIT);
	if (base >= limit)
		return false;
	*start = ALIGN_DOWN(base, PAGE_SIZE);
	*end = ALIGN_UP(limit, PAGE_SIZE);
	return true;
}

/* Is [start, end) covered by the union of the usable regions? Handles
 * adjacent and overlapping entries by walking from region to region. */
static bool range_is_usable(const struct memory_description *memory,
			    u64 start, u64 end)
{
	u64 covered = start;
	bool progressed = true;

	while (covered < end && progressed) {
		progressed = false;
		for (unsigned i = 0; i < memory->map_count; i++) {
			u64 span_start, span_end;

			if (usable_span(&memory->map[i], &span_start, &span_end) &&
			    span_start <= covered && covered < span_end) {
				covered = span_end;
				progressed = true;
			}
		}
	}
	return covered >= end;
}

static bool range_is_blocked(const struct memory_description *memory,
			     u64 start, u64 end)
{
	for (unsigned i = 0; i < blocker_count(memory); i++) {
		u64 span_start, span_end;

		if (blocker_span(memory, i, &span_start, &span_end) &&
		    span_start < end && start < span_end)
			return true;
	}
	return false;
}

static bool range_is_free(const struct memory_description *memory,
			  u64 start, u64 bytes)
{
	return range_is_usable(memory, start, start + bytes) &&
	       !range_is_blocked(memory, start, start + bytes);
}

static void consider_candidate(const struct memory_description *memory,
			       u64 candidate, u64 bytes, u64 *best)
{
	if (candidate < *best && candidate + bytes <= PHYS_ADDRESS_LIMIT &&
	    range_is_free(memory, candidate, bytes))
		*best = candidate;
}

/*
 * Lowest address where 'bytes' of free memory start, or FRAME_NONE. The
 * lowest free run either begins a usable region or begins right after a
 * blocker (otherwise the frame before it would be free too), so those are
 * the only candidates worth testing.
 */
static u64 find_bitmap_home(const struct memory_description *memory, u64 bytes)
{
	u64 best = FRAME_NONE;
	u64 start, end;

	for (unsigned i = 0; i < memory->map_count; i++)
		if (usable_span(&memory->map[i], &start, &end))
			consider_candidate(memory, start, bytes, &best);
	for (unsigned i = 0; i < blocker_count(memory); i++)
		if (blocker_span(memory, i, &start, &end))
			consider_candidate(memory, end, bytes, &best);
	return best;
}

/* End of the highest usable frame, 0 if there is none. */
static u64 highest_usable_end(const struct memory_description *memory,
			      u64 *unclipped_end)
{
	u64 highest = 0;

	*unclipped_end = 0;
	for (unsigned i = 0; i < memory->map_count; i++) {
		const struct mem_region *region = &memory->map[i];
		u64 start, end;

		if (region->type == MEM_USABLE && region->length)
			*unclipped_end = MAX(*unclipped_end, region_end(region));
		if (usable_span(region, &start, &end))
			highest = MAX(highest, end);
	}
	return highest;
}

/* ---- Building the bitmap ---- */

static void build_bitmap(struct frame_allocator *fa,
			 const struct memory_description *memory,
			 u64 bitmap_frames)
{
	u64 words = words_for_frames(fa->nframes);
	u64 start, end;

	for (u64 i = 0; i < words; i++)
		fa->bitmap[i] = WORD_ALL_SET;
	for (unsigned i = 0; i < memory->map_count; i++)
		if (usable_span(&memory->map[i], &start, &end))
			mark_frames(fa->bitmap, start / PAGE_SIZE,
				    end / PAGE_SIZE, false);
	for (unsigned i = 0; i < blocker_count(memory); i++) {
		if (!blocker_span(memory, i, &start, &end))
			continue;
		start = MIN(start / PAGE_SIZE, fa->nframes);
		end = MIN(end / PAGE_SIZE, fa->nframes);
		mark_frames(fa->bitmap, start, end, true);
	}
	start = fa->bitmap_phys / PAGE_SIZE;
	mark_frames(fa->bitmap, start, start + bitmap_frames, true);

	u64 *fixed = fixed_mask(fa);
	for (u64 i = 0; i < words; i++)
		fixed[i] = fa->bitmap[i];
}

static u64 count_free_frames(const struct frame_allocator *fa)
{
	u64 free_frames = 0;
	u64 frame = 0;

	while (frame < fa->nframes) {
		frame = find_frame(fa, frame, fa->nframes, false);
		u64 used = find_frame(fa, frame, fa->nframes, true);
		free_frames += used - frame;
		frame = used;
	}
	return free_frames;
}

int frame_allocator_init(struct frame_allocator *fa,
			 const struct mem_region *map, unsigned map_count,
			 const struct phys_range *reserved, unsigned reserved_count,
			 void *(*phys_to_virt)(u64 phys), char *err, size_t errlen)
{
	struct memory_description memory = {
		map, map_count, reserved, reserved_count
	};
	u64 unclipped_end;
	u64 usable_end = highest_usable_end(&memory, &unclipped_end);

	*fa = (struct frame_allocator){ 0 };
	if (unclipped_end > PHYS_ADDRESS_LIMIT) {
		ksnprintf(err, errlen,
			  "usable memory reaches %#llx, beyond the supported physical address limit %#llx",
			  (unsigned long long)unclipped_end,
			  (unsigned long long)PHYS_ADDRESS_LIMIT);
		return -1;
	}
	if (usable_end == 0) {
		ksnprintf(err, errlen,
			  "the memory map has no usable RAM (%u entries)",
			  map_count);
		return -1;
	}

	fa->nframes = usable_end / PAGE_SIZE;
	u64 bitmap_bytes = ALIGN_UP(words_for_frames(fa->nframes) * sizeof(u64) *
					    BITMAPS_PER_ALLOCATOR, PAGE_SIZE);
	fa->bitmap_phys = find_bitmap_home(&memory, bitmap_bytes);
	if (fa->bitmap_phys == FRAME_NONE) {
		ksnprintf(err, errlen,
			  "no free range of %llu KiB for the frame bitmap",
			  (unsigned long long)(bitmap_bytes / KiB));
		return -1;
	}
	fa->bitmap = phys_to_virt(fa->bitmap_phys);
	build_bitmap(fa, &memory, bitmap_bytes / PAGE_SIZE);

	fa->free_frames = count_free_frames(fa);
	fa->total_frames = fa->free_frames;
	if (fa->free_frames == 0) {
		ksnprintf(err, errlen,
			  "no free frames remain after the reserved ranges and the bitmap");
		return -1;
	}
	return 0;
}

/* ---- Allocation ---- */

/* First start in [from, start_limit), aligned to align_frames, of 'count'
 * free frames, or FRAME_NONE. */
static u64 find_free_run(const struct frame_allocator *fa, u64 from,
			 u64 start_limit, u64 count, u64 align_frames)
{
	u64 start = ALIGN_UP(from, align_frames);

	while (start < start_limit && start < fa->nframes &&
	       count <= fa->nframes - start) {
		u64 used = find_frame(fa, start, start + count, true);

		if (used == start + count)
			return start;
		start = find_frame(fa, used + 1, fa->nframes, false);
		start = ALIGN_UP(start, align_frames);
	}
	return FRAME_NONE;
}

static bool valid_request(u64 count, u64 align)
{
	return count != 0 && align >= PAGE_SIZE && (align & (align - 1)) == 0;
}

u64 frame_allocator_alloc(struct frame_allocator *fa, u64 count, u64 align)
{
	if (!valid_request(count, align) || count > fa->free_frames)
		return 0;

	u64 align_frames = align / PAGE_SIZE;
	u64 start = find_free_run(fa, fa->hint, fa->nframes, count, align_frames);

	if (start == FRAME_NONE)
		start = find_free_run(fa, 0, fa->hint, count, align_frames);
	if (start == FRAME_NONE)
		return 0;

	mark_frames(fa->bitmap, start, start + count, true);
	fa->free_frames -= count;
	fa->hint = start + count < fa->nframes ? start + count : 0;
	return start * PAGE_SIZE;
}

/* The largest run of free frames that starts aligned, in whole units of
 * align_frames; its length is 0 when no unit is free. */
static struct phys_range largest_free_run(const struct frame_allocator *fa, u64 align_frames)
{
	struct phys_range best = { 0, 0 };
	u64 frame = 0;

	while (frame < fa->nframes) {
		u64 start = ALIGN_UP(find_frame(fa, frame, fa->nframes, false), align_frames);
		if (start >= fa->nframes)
			break;
		u64 used = find_frame(fa, start, fa->nframes, true);
		u64 end = ALIGN_DOWN(used, align_frames);
		if (end > start && end - start > best.end - best.start)
			best = (struct phys_range){ start, end };
		frame = MAX(used, start + 1);
	}
	return best;
}

unsigned frame_allocator_alloc_runs(struct frame_allocator *fa, u64 count, u64 align,
				    struct phys_range *runs, unsigned max_runs)
{
	if (!valid_request(count, align) || !max_runs || count % (align / PAGE_SIZE) || count > fa->free_frames)
		return 0;
	u64 phys = frame_allocator_alloc(fa, count, align);
	if (phys) {
		runs[0] = (struct phys_range){ phys, phys + count * PAGE_SIZE };
		return 1;
	}
	unsigned taken = 0;
	for (u64 left = count; left; taken++) {
		struct phys_range run = largest_free_run(fa, align / PAGE_SIZE);
		if (taken == max_runs || run.end == run.start) {
			for (unsigned i = 0; i < taken; i++)
				frame_allocator_free(fa, runs[i].start, (runs[i].end - runs[i].start) / PAGE_SIZE);
			return 0;
		}
		u64 piece = MIN(left, run.end - run.start);
		mark_frames(fa->bitmap, run.start, run.start + piece, true);
		fa->free_frames -= piece;
		runs[taken] = (struct phys_range){ run.start * PAGE_SIZE, (run.start + piece) * PAGE_SIZE };
		left -= piece;
	}
	return taken;
}

void frame_allocator_free(struct frame_allocator *fa, u64 phys, u64 count)
{
	u64 first = phys / PAGE_SIZE;

	if (!IS_ALIGNED(phys, PAGE_SIZE) || count == 0 || first >= fa->nframes ||
	    count > fa->nframes - first)
		panic("frame_free: bad range %#llx + %llu frames",
		      (unsigned long long)phys, (unsigned long long)count);
	for (u64 frame = first; frame < first + count; frame++) {
		if (bit_is_set(fixed_mask(fa), frame))
			panic("frame_free: frame %#llx was never allocatable",
			      (unsigned long long)(frame * PAGE_SIZE));
		if (!bit_is_set(fa->bitmap, frame))
			panic("frame_free: double free of frame %#llx",
			      (unsigned long long)(frame * PAGE_SIZE));
	}
	mark_frames(fa->bitmap, first, first + count, false);
	fa->free_frames += count;
}

bool frame_allocator_is_free(const struct frame_allocator *fa, u64 phys)
{
	u64 frame = phys / PAGE_SIZE;

	return frame < fa->nframes && !bit_is_set(fa->bitmap, frame);
}

/* ---- The hypervisor's allocator ---- */
#ifndef HOST_TEST

struct frame_allocator frames;
static struct spinlock frames_lock = SPINLOCK_INIT_NAMED("frames");

/* RAM is identity mapped in the hypervisor. rep stos rather than a loop
 * so the compiler cannot turn it into a call to a memset we don't have. */
static void zero_frames(u64 phys, u64 count)
{
	void *destination = (void *)(uintptr_t)phys;
	u64 quadwords = count * (PAGE_SIZE / sizeof(u64));

	__asm__ volatile("rep stosq"
			 : "+D"(destination), "+c"(quadwords)
			 : "a"(0ULL)
			 : "memory");
}

u64 frame_alloc_contig_uncleared(u64 count, u64 align)
{
	spin_lock(&frames_lock);
	u64 phys = frame_allocator_alloc(&frames, count, align);
	spin_unlock(&frames_lock);
	return phys;
}

unsigned frame_alloc_runs_uncleared(u64 count, u64 align, struct phys_range *runs, unsigned max_runs)
{
	spin_lock(&frames_lock);
	unsigned taken = frame_allocator_alloc_runs(&frames, count, align, runs, max_runs);
	spin_unlock(&frames_lock);
	return taken;
}

u64 frame_alloc_contig(u64 count, u64 align)
{
	u64 phys = frame_alloc_contig_uncleared(count, align);
	if (phys)
		zero_frames(phys, count);
	return phys;
}

u64 frame_alloc(void)
{
	return frame_alloc_contig(1, PAGE_SIZE);
}

void frame_free(u64 phys, u64 count)
{
	spin_lock(&frames_lock);
	frame_allocator_free(&frames, phys, count);
	spin_unlock(&frames_lock);
}

#endif /* HOST_TEST */
