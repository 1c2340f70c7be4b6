/* Unit tests for the physical frame allocator (mm/frame.c). */
#include "tests/unit/host_support.h"
#include "mm/frame.c"

#include <string.h>

#define ERR_BYTES 160
#define BITMAP_STORAGE_BYTES (1 * MiB)
#define FRAME_AT(address) ((address) / PAGE_SIZE)

/* ---- phys_to_virt stand-in: the bitmap lives in a host buffer ---- */

static u64 bitmap_storage[BITMAP_STORAGE_BYTES / sizeof(u64)];
static u64 requested_bitmap_phys;
static unsigned phys_to_virt_calls;

static void *test_phys_to_virt(u64 phys)
{
	requested_bitmap_phys = phys;
	phys_to_virt_calls++;
	return bitmap_storage;
}

static int reset_phys_to_virt(void **state)
{
	(void)state;
	requested_bitmap_phys = 0;
	phys_to_virt_calls = 0;
	memset(bitmap_storage, 0x5a, sizeof(bitmap_storage));
	return 0;
}

static u64 bitmap_bytes_for(u64 nframes)
{
	return ALIGN_UP(words_for_frames(nframes) * sizeof(u64) * 2, PAGE_SIZE);
}

/* ---- The QEMU-like machine: 128 MiB below 4 GiB plus 1 GiB above ---- */

static const struct mem_region qemu_map[] = {
	{ 0x0, 0x9fc00, MEM_USABLE },
	{ 0x9fc00, 0x400, MEM_RESERVED },
	{ 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0x7ee0000, MEM_USABLE },
	{ 0x7fe0000, 0x20000, MEM_RESERVED },
	{ 0xfffc0000, 0x40000, MEM_RESERVED },
	{ 0x100000000, 0x40000000, MEM_USABLE },
};

#define IMAGE_START 0x200000ULL
#define IMAGE_END 0x3a4800ULL  /* ends mid-frame: frame 0x3a4 is reserved */
#define MODULE_START 0x1000000ULL
#define MODULE_END 0x1234567ULL

static const struct phys_range qemu_reserved[] = {
	{ 0, MiB },                    /* real-mode area, BIOS, VGA */
	{ IMAGE_START, IMAGE_END },
	{ MODULE_START, MODULE_END },
};

/*
 * By hand: below 1 MiB nothing (all reserved). 1 MiB .. 0x7fe0000 is
 * 0x7ee0 frames, minus the image (0x200..0x3a5 = 0x1a5 frames), the module
 * (0x1000..0x1235 = 0x235 frames) and the bitmap. The bitmap covers
 * 0x140000 frames: 0x5000 words, two bitmaps, 0x50000 bytes = 80 frames,
 * placed at 1 MiB (the first free frame). Above 4 GiB: 0x40000 frames.
 */
#define QEMU_NFRAMES 0x140000ULL
#define QEMU_BITMAP_PHYS 0x100000ULL
#define QEMU_BITMAP_FRAMES 80ULL
#define QEMU_LOW_FREE (0x7ee0ULL - 0x1a5 - 0x235 - QEMU_BITMAP_FRAMES)
#define QEMU_HIGH_FREE 0x40000ULL
#define QEMU_FREE_FRAMES (QEMU_LOW_FREE + QEMU_HIGH_FREE)

static void init_ok(struct frame_allocator *fa, const struct mem_region *map,
		    unsigned map_count, const struct phys_range *reserved,
		    unsigned reserved_count)
{
	char err[ERR_BYTES] = "";
	int result = frame_allocator_init(fa, map, map_count, reserved,
					  reserved_count, test_phys_to_virt,
					  err, sizeof(err));

	if (result != 0)
		fail_msg("frame_allocator_init failed: %s", err);
	assert_int_equal(phys_to_virt_calls, 1);
	assert_int_equal(requested_bitmap_phys, fa->bitmap_phys);
	assert_true(bitmap_bytes_for(fa->nframes) <= BITMAP_STORAGE_BYTES);
}

static void init_qemu(struct frame_allocator *fa)
{
	init_ok(fa, qemu_map, ARRAY_SIZE(qemu_map), qemu_reserved,
		ARRAY_SIZE(qemu_reserved));
}

static bool overlaps(u64 start, u64 end, u64 other_start, u64 other_end)
{
	return start < other_end && other_start < end;
}

/* Independent statement of the rule: a frame may be handed out only if it
 * lies wholly in a usable entry and touches no other entry, no reserved
 * range and not the bitmap; frame 0 never. */
static bool frame_may_be_handed_out(const struct mem_region *map,
				    unsigned map_count,
				    const struct phys_range *reserved,
				    unsigned reserved_count,
				    const struct frame_allocator *fa, u64 phys)
{
	u64 end = phys + PAGE_SIZE;
	bool in_usable = false;

	if (phys == 0)
		return false;
	for (unsigned i = 0; i < map_count; i++) {
		u64 region_start = map[i].base;
		u64 region_stop = map[i].base + map[i].length;

		if (map[i].type == MEM_USABLE)
			in_usable |= region_start <= phys && end <= region_stop;
		else if (overlaps(phys, end, region_start, region_stop))
			return false;
	}
	for (unsigned i = 0; i < reserved_count; i++)
		if (overlaps(phys, end, reserved[i].start, reserved[i].end))
			return false;
	if (overlaps(phys, end, fa->bitmap_phys,
		     fa->bitmap_phys + bitmap_bytes_for(fa->nframes)))
		return false;
	return in_usable;
}

static bool qemu_frame_ok(const struct frame_allocator *fa, u64 phys)
{
	return frame_may_be_handed_out(qemu_map, ARRAY_SIZE(qemu_map),
				       qemu_reserved, ARRAY_SIZE(qemu_reserved),
				       fa, phys);
}

/* ---- Tests ---- */

static void test_qemu_map_counts(void **state)
{
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	assert_int_equal(fa.nframes, QEMU_NFRAMES);
	assert_int_equal(fa.bitmap_phys, QEMU_BITMAP_PHYS);
	assert_int_equal(bitmap_bytes_for(fa.nframes),
			 QEMU_BITMAP_FRAMES * PAGE_SIZE);
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES);
	assert_int_equal(fa.total_frames, QEMU_FREE_FRAMES);
	assert_ptr_equal(fa.bitmap, bitmap_storage);
}

static void test_qemu_map_free_bits(void **state)
{
	static const struct {
		u64 phys;
		bool free;
	} expectations[] = {
		{ 0x0, false },        /* frame 0 */
		{ 0x1000, false },     /* first MiB reserved by the caller */
		{ 0x9f000, false },
		{ 0x9f000 + 0xc00, false },
		{ 0x100000, false },   /* the bitmap */
		{ 0x14f000, false },
		{ 0x150000, true },
		{ 0x1ff000, true },
		{ IMAGE_START, false },
		{ 0x3a4000, false },   /* partly image */
		{ 0x3a5000, true },
		{ MODULE_START - PAGE_SIZE, true },
		{ 0x1234000, false },
		{ 0x1235000, true },
		{ 0x7fdf000, true },
		{ 0x7fe0000, false },
		{ 0x8000000, false },  /* hole */
		{ 0xfffc0000, false },
		{ 0x100000000, true },
		{ 0x13ffff000, true },
		{ 0x140000000, false }, /* beyond RAM */
		{ 0xfffffffffffff000, false },
	};
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	for (unsigned i = 0; i < ARRAY_SIZE(expectations); i++) {
		if (frame_allocator_is_free(&fa, expectations[i].phys) !=
		    expectations[i].free)
			fail_msg("frame %#llx: expected %s",
				 (unsigned long long)expectations[i].phys,
				 expectations[i].free ? "free" : "used");
	}
}

static void test_allocate_everything(void **state)
{
	struct frame_allocator fa;
	u8 *seen = calloc(QEMU_NFRAMES, 1);
	u64 allocated = 0;
	u64 phys, last = 0;

	(void)state;
	init_qemu(&fa);
	while ((phys = frame_allocator_alloc(&fa, 1, PAGE_SIZE)) != 0) {
		assert_true(IS_ALIGNED(phys, PAGE_SIZE));
		assert_true(FRAME_AT(phys) < QEMU_NFRAMES);
		if (!qemu_frame_ok(&fa, phys))
			fail_msg("handed out forbidden frame %#llx",
				 (unsigned long long)phys);
		assert_int_equal(seen[FRAME_AT(phys)], 0);
		assert_false(frame_allocator_is_free(&fa, phys));
		seen[FRAME_AT(phys)] = 1;
		last = phys;
		allocated++;
	}
	assert_int_equal(allocated, QEMU_FREE_FRAMES);
	assert_int_equal(fa.free_frames, 0);

	/* Exhausted: every request fails, single or contiguous. */
	assert_int_equal(frame_allocator_alloc(&fa, 1, PAGE_SIZE), 0);
	assert_int_equal(frame_allocator_alloc(&fa, 16, PAGE_SIZE), 0);

	/* A freed frame is the only one there is, so it comes back. */
	frame_allocator_free(&fa, last, 1);
	assert_int_equal(fa.free_frames, 1);
	assert_true(frame_allocator_is_free(&fa, last));
	assert_int_equal(frame_allocator_alloc(&fa, 1, PAGE_SIZE), last);
	assert_int_equal(fa.free_frames, 0);

	/* Everything freed: back to the initial state. */
	for (u64 frame = 0; frame < QEMU_NFRAMES; frame++)
		if (seen[frame])
			frame_allocator_free(&fa, frame * PAGE_SIZE, 1);
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES);
	for (u64 frame = 0; frame < QEMU_NFRAMES; frame++)
		assert_int_equal(frame_allocator_is_free(&fa, frame * PAGE_SIZE),
				 seen[frame]);
	free(seen);
}

/*
 * 2 MiB aligned runs of 512 frames: below 4 GiB the starts 0x400000 ..
 * 0x7c00000 (61) minus the two touching the module (0x1000000, 0x1200000)
 * = 59; 0x200000 holds the image and 0x7e00000 runs into the reserved top.
 * Above 4 GiB: 512. Total 571.
 */
#define QEMU_LARGE_RUNS 571

static void test_aligned_large_runs(void **state)
{
	struct frame_allocator fa;
	u64 runs = 0;
	u64 phys;

	(void)state;
	init_qemu(&fa);
	while ((phys = frame_allocator_alloc(&fa, 512, LARGE_PAGE_SIZE)) != 0) {
		assert_true(IS_ALIGNED(phys, LARGE_PAGE_SIZE));
		for (u64 offset = 0; offset < LARGE_PAGE_SIZE; offset += PAGE_SIZE) {
			assert_true(qemu_frame_ok(&fa, phys + offset));
			assert_false(frame_allocator_is_free(&fa, phys + offset));
		}
		runs++;
	}
	assert_int_equal(runs, QEMU_LARGE_RUNS);
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES - runs * 512);

	/* Single frames are still there in the gaps. */
	phys = frame_allocator_alloc(&fa, 1, PAGE_SIZE);
	assert_int_not_equal(phys, 0);
	assert_true(qemu_frame_ok(&fa, phys));
}

static void test_contiguous_and_aligned(void **state)
{
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	u64 run = frame_allocator_alloc(&fa, 100, PAGE_SIZE);
	assert_int_not_equal(run, 0);
	for (u64 i = 0; i < 100; i++) {
		assert_false(frame_allocator_is_free(&fa, run + i * PAGE_SIZE));
		assert_true(qemu_frame_ok(&fa, run + i * PAGE_SIZE));
	}
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES - 100);

	u64 aligned = frame_allocator_alloc(&fa, 3, 16 * KiB);
	assert_int_not_equal(aligned, 0);
	assert_true(IS_ALIGNED(aligned, 16 * KiB));

	u64 gigabyte = frame_allocator_alloc(&fa, 1, GiB);
	assert_int_equal(gigabyte, 0x100000000ULL); /* the only 1 GiB boundary in RAM */

	/* Runs spanning a reserved range or a hole are never returned. */
	assert_int_equal(frame_allocator_alloc(&fa, QEMU_HIGH_FREE, PAGE_SIZE), 0);
	frame_allocator_free(&fa, gigabyte, 1);
	assert_int_equal(frame_allocator_alloc(&fa, QEMU_HIGH_FREE, PAGE_SIZE),
			 0x100000000ULL);

	frame_allocator_free(&fa, run, 100);
	assert_true(frame_allocator_is_free(&fa, run + 99 * PAGE_SIZE));
}

static void test_next_fit(void **state)
{
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	u64 first = frame_allocator_alloc(&fa, 1, PAGE_SIZE);
	u64 second = frame_allocator_alloc(&fa, 1, PAGE_SIZE);
	assert_int_equal(first, 0x150000);
	assert_int_equal(second, first + PAGE_SIZE);

	/* A freed frame is not reused until the search wraps around. */
	frame_allocator_free(&fa, first, 1);
	assert_int_equal(frame_allocator_alloc(&fa, 1, PAGE_SIZE),
			 second + PAGE_SIZE);

	/* Push the hint to the end of RAM; the next search wraps. */
	u64 top = frame_allocator_alloc(&fa, 1, GiB);
	assert_int_equal(top, 0x100000000ULL);
	u64 rest = frame_allocator_alloc(&fa, 0x40000 - 1, PAGE_SIZE);
	assert_int_equal(rest, 0x100001000ULL);
	assert_int_equal(frame_allocator_alloc(&fa, 1, PAGE_SIZE), first);
}

static void test_invalid_requests(void **state)
{
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	assert_int_equal(frame_allocator_alloc(&fa, 0, PAGE_SIZE), 0);
	assert_int_equal(frame_allocator_alloc(&fa, 1, 0), 0);
	assert_int_equal(frame_allocator_alloc(&fa, 1, 2048), 0);
	assert_int_equal(frame_allocator_alloc(&fa, 1, 3 * PAGE_SIZE), 0);
	assert_int_equal(frame_allocator_alloc(&fa, 1, PAGE_SIZE + 1), 0);
	assert_int_equal(frame_allocator_alloc(&fa, QEMU_FREE_FRAMES + 1, PAGE_SIZE), 0);
	assert_int_equal(frame_allocator_alloc(&fa, ~0ULL, PAGE_SIZE), 0);
	assert_int_equal(frame_allocator_alloc(&fa, 1, 1ULL << 63), 0);
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES);
}

static void test_double_free_asserts(void **state)
{
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	u64 phys = frame_allocator_alloc(&fa, 4, PAGE_SIZE);
	frame_allocator_free(&fa, phys, 4);
	expect_assert_failure(frame_allocator_free(&fa, phys, 4));
	expect_assert_failure(frame_allocator_free(&fa, phys + PAGE_SIZE, 1));

	/* Freeing a run that is only partly allocated is also a double free. */
	phys = frame_allocator_alloc(&fa, 1, PAGE_SIZE);
	expect_assert_failure(frame_allocator_free(&fa, phys, 2));
	assert_false(frame_allocator_is_free(&fa, phys));
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES - 1);
}

static void test_free_of_unallocatable_asserts(void **state)
{
	struct frame_allocator fa;

	(void)state;
	init_qemu(&fa);
	expect_assert_failure(frame_allocator_free(&fa, 0, 1));
	expect_assert_failure(frame_allocator_free(&fa, IMAGE_START, 1));
	expect_assert_failure(frame_allocator_free(&fa, MODULE_START, 1));
	expect_assert_failure(frame_allocator_free(&fa, QEMU_BITMAP_PHYS, 1));
	expect_assert_failure(frame_allocator_free(&fa, 0x7fe0000, 1));
	expect_assert_failure(frame_allocator_free(&fa, 0x8000000, 1)); /* hole */
	expect_assert_failure(frame_allocator_free(&fa, 0x140000000, 1));
	expect_assert_failure(frame_allocator_free(&fa, 0x150800, 1));
	expect_assert_failure(frame_allocator_free(&fa, 0x150000, 0));
	assert_int_equal(fa.free_frames, QEMU_FREE_FRAMES);
}

static void test_overlapping_entries_reserved_wins(void **state)
{
	/* Usable entries overlap each other; reserved and ACPI entries sit
	 * inside usable ones, one of them unaligned. */
	static const struct mem_region map[] = {
		{ 0x0, 0x2000000, MEM_USABLE },
		{ 0x1000000, 0x2000000, MEM_USABLE },     /* overlaps, to 48 MiB */
		{ 0x800000, 0x100000, MEM_RESERVED },
		{ 0x1800800, 0x1000, MEM_ACPI_NVS },      /* touches 2 frames */
		{ 0x2fff000, 0x1000, MEM_BAD },
		{ 0x2000000, 0x10000, 7 },                /* unknown type */
	};
	static const struct phys_range reserved[] = { { 0, MiB } };
	struct frame_allocator fa;

	(void)state;
	reset_phys_to_virt(NULL);
	init_ok(&fa, map, ARRAY_SIZE(map), reserved, ARRAY_SIZE(reserved));

	/* 48 MiB = 0x3000 frames, minus the first MiB (0x100), the reserved
	 * MiB (0x100), ACPI (2), bad (1), unknown (0x10), bitmap (0x3000
	 * frames -> 0xc0 words -> 0xc00 bytes -> 1 frame). */
	assert_int_equal(fa.nframes, 0x3000);
	assert_int_equal(fa.bitmap_phys, MiB);
	assert_int_equal(fa.free_frames, 0x3000 - 0x100 - 0x100 - 2 - 1 - 0x10 - 1);
	assert_false(frame_allocator_is_free(&fa, 0x800000));
	assert_false(frame_allocator_is_free(&fa, 0x8ff000));
	assert_true(frame_allocator_is_free(&fa, 0x900000));
	assert_false(frame_allocator_is_free(&fa, 0x1800000));
	assert_false(frame_allocator_is_free(&fa, 0x1801000));
	assert_true(frame_allocator_is_free(&fa, 0x1802000));
	assert_false(frame_allocator_is_free(&fa, 0x2fff000));
	assert_false(frame_allocator_is_free(&fa, 0x200f000));
	assert_true(frame_allocator_is_free(&fa, 0x2010000));

	u64 phys, allocated = 0;
	while ((phys = frame_allocator_alloc(&fa, 1, PAGE_SIZE)) != 0) {
		if (!frame_may_be_handed_out(map, ARRAY_SIZE(map), reserved,
					     ARRAY_SIZE(reserved), &fa, phys))
			fail_msg("handed out forbidden frame %#llx",
				 (unsigned long long)phys);
		allocated++;
	}
	assert_int_equal(allocated, 0x3000 - 0x100 - 0x100 - 2 - 1 - 0x10 - 1);
}

static void test_unsorted_map_matches_sorted(void **state)
{
	const struct mem_region shuffled[] = {
		qemu_map[5], qemu_map[3], qemu_map[6], qemu_map[1],
		qemu_map[0], qemu_map[4], qemu_map[2],
	};
	const struct phys_range shuffled_reserved[] = {
		qemu_reserved[2], qemu_reserved[0], qemu_reserved[1],
	};
	struct frame_allocator sorted, unsorted;
	u64 bytes;

	(void)state;
	init_qemu(&sorted);
	bytes = bitmap_bytes_for(sorted.nframes);
	u64 *sorted_bits = malloc(bytes);
	memcpy(sorted_bits, sorted.bitmap, bytes);

	reset_phys_to_virt(NULL);
	init_ok(&unsorted, shuffled, ARRAY_SIZE(shuffled), shuffled_reserved,
		ARRAY_SIZE(shuffled_reserved));
	assert_int_equal(unsorted.nframes, sorted.nframes);
	assert_int_equal(unsorted.bitmap_phys, sorted.bitmap_phys);
	assert_int_equal(unsorted.free_frames, sorted.free_frames);
	assert_memory_equal(unsorted.bitmap, sorted_bits, bytes);
	free(sorted_bits);
}

static void test_no_usable_memory_fails(void **state)
{
	static const struct mem_region map[] = {
		{ 0x0, 0xa0000, MEM_RESERVED },
		{ 0x100000, 0x1000000, MEM_ACPI_RECLAIMABLE },
		{ 0x2000000, 0, MEM_USABLE },      /* empty */
		{ 0x3000100, 0x800, MEM_USABLE },  /* no whole frame */
	};
	struct frame_allocator fa;
	char err[ERR_BYTES] = "";

	(void)state;
	assert_int_equal(frame_allocator_init(&fa, map, ARRAY_SIZE(map), NULL, 0,
					      test_phys_to_virt, err, sizeof(err)),
			 -1);
	assert_true(strlen(err) > 10);
	assert_non_null(strstr(err, "usable"));
	assert_int_equal(phys_to_virt_calls, 0);

	err[0] = 0;
	assert_int_equal(frame_allocator_init(&fa, map, 0, NULL, 0,
					      test_phys_to_virt, err, sizeof(err)),
			 -1);
	assert_true(strlen(err) > 10);
}

static void test_everything_reserved_fails(void **state)
{
	static const struct mem_region map[] = {
		{ 0x0, 0x9fc00, MEM_USABLE },
		{ 0x100000, 0x1f00000, MEM_USABLE },
	};
	static const struct phys_range reserved[] = {
		{ 0, MiB }, { MiB, 32 * MiB },
	};
	struct frame_allocator fa;
	char err[ERR_BYTES] = "";

	(void)state;
	assert_int_equal(frame_allocator_init(&fa, map, ARRAY_SIZE(map),
					      reserved, ARRAY_SIZE(reserved),
					      test_phys_to_virt, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "bitmap"));
	assert_int_equal(phys_to_virt_calls, 0);
}

static void test_bitmap_fills_last_free_frame_fails(void **state)
{
	/* One free frame is left after reservations and the bitmap takes it. */
	static const struct mem_region map[] = { { 0x0, 0x20000, MEM_USABLE } };
	static const struct phys_range reserved[] = { { 0, 0x1f000 } };
	struct frame_allocator fa;
	char err[ERR_BYTES] = "";

	(void)state;
	assert_int_equal(frame_allocator_init(&fa, map, ARRAY_SIZE(map),
					      reserved, ARRAY_SIZE(reserved),
					      test_phys_to_virt, err, sizeof(err)),
			 -1);
	assert_int_equal(requested_bitmap_phys, 0x1f000);
	assert_non_null(strstr(err, "no free frames"));
}

static void test_memory_above_limit_fails(void **state)
{
	static const struct mem_region map[] = {
		{ 0x100000, 0x1000000, MEM_USABLE },
		{ 1ULL << 46, GiB, MEM_USABLE },
	};
	static const struct mem_region wrapping_map[] = {
		{ 0x100000, ~0ULL, MEM_USABLE },
	};
	struct frame_allocator fa;
	char err[ERR_BYTES] = "";

	(void)state;
	assert_int_equal(frame_allocator_init(&fa, map, ARRAY_SIZE(map), NULL, 0,
					      test_phys_to_virt, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "limit"));
	err[0] = 0;
	assert_int_equal(frame_allocator_init(&fa, wrapping_map,
					      ARRAY_SIZE(wrapping_map), NULL, 0,
					      test_phys_to_virt, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "limit"));
	assert_int_equal(phys_to_virt_calls, 0);
}

static void test_reserved_firmware_far_above_ram_is_fine(void **state)
{
	static const struct mem_region map[] = {
		{ 0x100000, 0x1000000, MEM_USABLE },
		{ 0xfd00000000000ULL, GiB, MEM_RESERVED },
		{ ~0ULL - 0xfff, 0x10000, MEM_RESERVED }, /* wraps */
	};
	static const struct phys_range reserved[] = {
		{ 0xfee00000, 0xfee01000 }, { ~0ULL - 10, ~0ULL },
	};
	struct frame_allocator fa;

	(void)state;
	init_ok(&fa, map, ARRAY_SIZE(map), reserved, ARRAY_SIZE(reserved));
	assert_int_equal(fa.nframes, 0x1100);
	assert_int_equal(fa.bitmap_phys, 0x100000);
	assert_int_equal(fa.free_frames, 0x1000 - 1);
}

static void test_bitmap_skips_reserved_ranges(void **state)
{
	/* 256 MiB: 0x10000 frames, 0x400 words, two bitmaps = 4 frames. The
	 * gaps at 0x100000 (1 frame) and 0x102000 (2 frames, then an ACPI
	 * entry) are too small; 0x106000 is the first run of 4. */
	static const struct mem_region map[] = {
		{ 0x0, 0x10000000, MEM_USABLE },
		{ 0x104000, 0x1800, MEM_ACPI_RECLAIMABLE },
	};
	static const struct phys_range reserved[] = {
		{ 0, MiB }, { 0x101000, 0x101fff },
	};
	struct frame_allocator fa;

	(void)state;
	init_ok(&fa, map, ARRAY_SIZE(map), reserved, ARRAY_SIZE(reserved));
	assert_int_equal(fa.bitmap_phys, 0x106000);
	assert_int_equal(fa.free_frames, 0x10000 - 0x100 - 1 - 2 - 4);
	assert_true(frame_allocator_is_free(&fa, 0x100000));
	assert_true(frame_allocator_is_free(&fa, 0x102000));
	assert_true(frame_allocator_is_free(&fa, 0x103000));
	assert_false(frame_allocator_is_free(&fa, 0x105000));
	assert_false(frame_allocator_is_free(&fa, 0x109000));
	assert_true(frame_allocator_is_free(&fa, 0x10a000));
}

static void test_bitmap_spans_adjacent_entries(void **state)
{
	/* Bitmap needs 2 frames (0x6000 frames -> 0x180 words -> 0x1800
	 * bytes); the first entry holds one, the adjacent next one the other. */
	static const struct mem_region map[] = {
		{ 0x101000, 0x3000, MEM_USABLE },
		{ 0x100000, 0x1000, MEM_USABLE },
		{ 0x5000000, 0x1000000, MEM_USABLE },
	};
	static const struct phys_range reserved[] = { { 0, MiB } };
	struct frame_allocator fa;

	(void)state;
	init_ok(&fa, map, ARRAY_SIZE(map), reserved, ARRAY_SIZE(reserved));
	assert_int_equal(fa.nframes, 0x6000);
	assert_int_equal(fa.bitmap_phys, 0x100000);
	assert_int_equal(fa.free_frames, 4 - 2 + 0x1000);
}

static void test_unaligned_usable_edges(void **state)
{
	static const struct mem_region map[] = {
		{ 0x100800, 0x104800, MEM_USABLE }, /* frames 0x101 .. 0x204 */
	};
	struct frame_allocator fa;

	(void)state;
	init_ok(&fa, map, ARRAY_SIZE(map), NULL, 0);
	assert_int_equal(fa.nframes, 0x205);
	assert_int_equal(fa.bitmap_phys, 0x101000);
	assert_false(frame_allocator_is_free(&fa, 0x100000));
	assert_false(frame_allocator_is_free(&fa, 0x101000));
	assert_true(frame_allocator_is_free(&fa, 0x102000));
	assert_true(frame_allocator_is_free(&fa, 0x204000));
	assert_false(frame_allocator_is_free(&fa, 0x205000));
	assert_int_equal(fa.free_frames, 0x205 - 0x101 - 1);
}

static void test_frame_zero_is_never_handed_out(void **state)
{
	/* No reserved ranges at all: frame 0 must still be kept back so that
	 * 0 can mean failure. The bitmap (0x100 frames -> 1 frame) goes right
	 * after it. */
	static const struct mem_region map[] = { { 0x0, MiB, MEM_USABLE } };
	struct frame_allocator fa;
	u64 phys, allocated = 0;

	(void)state;
	init_ok(&fa, map, ARRAY_SIZE(map), NULL, 0);
	assert_int_equal(fa.bitmap_phys, PAGE_SIZE);
	assert_false(frame_allocator_is_free(&fa, 0));
	assert_int_equal(fa.free_frames, 0x100 - 2);
	while ((phys = frame_allocator_alloc(&fa, 1, PAGE_SIZE)) != 0) {
		assert_true(phys >= 2 * PAGE_SIZE);
		allocated++;
	}
	assert_int_equal(allocated, 0x100 - 2);
	expect_assert_failure(frame_allocator_free(&fa, 0, 1));
}

/* Three free stretches, none big enough for 100 MiB: 32 MiB at 16 MiB
 * (the bitmap takes its first frames, so 30 MiB from 18 MiB in whole
 * 2 MiB units), 64 MiB at 64 MiB and 16 MiB at 256 MiB. */
static const struct mem_region fragmented_map[] = {
	{ 16 * MiB, 32 * MiB, MEM_USABLE },
	{ 64 * MiB, 64 * MiB, MEM_USABLE },
	{ 256 * MiB, 16 * MiB, MEM_USABLE },
};

#define FRAMES(bytes) ((bytes) / PAGE_SIZE)

static void test_runs_when_no_single_run_is_big_enough(void **state)
{
	struct frame_allocator fa;
	struct phys_range runs[4];

	(void)state;
	init_ok(&fa, fragmented_map, ARRAY_SIZE(fragmented_map), NULL, 0);
	u64 free_before = fa.free_frames;
	assert_int_equal(frame_allocator_alloc(&fa, FRAMES(100 * MiB), LARGE_PAGE_SIZE), 0);
	assert_int_equal(frame_allocator_alloc_runs(&fa, FRAMES(100 * MiB), LARGE_PAGE_SIZE, runs, 4), 3);
	/* Largest first, each aligned and a whole number of 2 MiB pages. */
	assert_int_equal(runs[0].start, 64 * MiB);
	assert_int_equal(runs[0].end, 128 * MiB);
	assert_int_equal(runs[1].start, 18 * MiB);
	assert_int_equal(runs[1].end, 48 * MiB);
	assert_int_equal(runs[2].start, 256 * MiB);
	assert_int_equal(runs[2].end, 262 * MiB);
	for (u64 phys = 18 * MiB; phys < 48 * MiB; phys += PAGE_SIZE)
		assert_false(frame_allocator_is_free(&fa, phys));
	assert_true(frame_allocator_is_free(&fa, 262 * MiB));
	assert_int_equal(fa.free_frames, free_before - FRAMES(100 * MiB));
	for (unsigned i = 0; i < 3; i++)
		frame_allocator_free(&fa, runs[i].start, FRAMES(runs[i].end - runs[i].start));
	assert_int_equal(fa.free_frames, free_before);
}

static void test_runs_refused_hold_nothing(void **state)
{
	struct frame_allocator fa;
	struct phys_range runs[4];

	(void)state;
	init_ok(&fa, fragmented_map, ARRAY_SIZE(fragmented_map), NULL, 0);
	u64 free_before = fa.free_frames;
	/* Too fragmented for two runs, more than there is, not whole pages. */
	assert_int_equal(frame_allocator_alloc_runs(&fa, FRAMES(100 * MiB), LARGE_PAGE_SIZE, runs, 2), 0);
	assert_int_equal(frame_allocator_alloc_runs(&fa, FRAMES(112 * MiB), LARGE_PAGE_SIZE, runs, 4), 0);
	assert_int_equal(frame_allocator_alloc_runs(&fa, FRAMES(3 * MiB), LARGE_PAGE_SIZE, runs, 4), 0);
	assert_int_equal(fa.free_frames, free_before);
	assert_true(frame_allocator_is_free(&fa, 64 * MiB));
	/* One run when one fits: the ordinary next-fit allocation. */
	assert_int_equal(frame_allocator_alloc_runs(&fa, FRAMES(8 * MiB), LARGE_PAGE_SIZE, runs, 4), 1);
	assert_int_equal(runs[0].end - runs[0].start, 8 * MiB);
	assert_true(IS_ALIGNED(runs[0].start, LARGE_PAGE_SIZE));
}

#define FRAME_TEST(name) cmocka_unit_test_setup(name, reset_phys_to_virt)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FRAME_TEST(test_qemu_map_counts),
		FRAME_TEST(test_qemu_map_free_bits),
		FRAME_TEST(test_allocate_everything),
		FRAME_TEST(test_aligned_large_runs),
		FRAME_TEST(test_contiguous_and_aligned),
		FRAME_TEST(test_next_fit),
		FRAME_TEST(test_invalid_requests),
		FRAME_TEST(test_double_free_asserts),
		FRAME_TEST(test_free_of_unallocatable_asserts),
		FRAME_TEST(test_overlapping_entries_reserved_wins),
		FRAME_TEST(test_unsorted_map_matches_sorted),
		FRAME_TEST(test_no_usable_memory_fails),
		FRAME_TEST(test_everything_reserved_fails),
		FRAME_TEST(test_bitmap_fills_last_free_frame_fails),
		FRAME_TEST(test_memory_above_limit_fails),
		FRAME_TEST(test_reserved_firmware_far_above_ram_is_fine),
		FRAME_TEST(test_bitmap_skips_reserved_ranges),
		FRAME_TEST(test_bitmap_spans_adjacent_entries),
		FRAME_TEST(test_unaligned_usable_edges),
		FRAME_TEST(test_frame_zero_is_never_handed_out),
		FRAME_TEST(test_runs_when_no_single_run_is_big_enough),
		FRAME_TEST(test_runs_refused_hold_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
