/* Unit tests for the boundary-tag heap (mm/heap.c). */
#include "tests/unit/host_support.h"
#include "mm/heap.c"

#include <string.h>

#define MAX_TEST_CHUNKS 1024
#define UNLIMITED_PAGES ((size_t)1 << 30)
#define GARBAGE_BYTE 0xa5

/* ---- Page source over aligned_alloc, with an optional budget ---- */

struct test_pages {
	void *chunks[MAX_TEST_CHUNKS];
	size_t chunk_count;
	size_t pages_given;
	size_t page_budget;
	size_t requests;
};

static void *test_get_pages(void *ctx, size_t pages)
{
	struct test_pages *source = ctx;

	source->requests++;
	if (pages > source->page_budget - source->pages_given ||
	    source->chunk_count == MAX_TEST_CHUNKS)
		return NULL;
	void *memory = aligned_alloc(PAGE_SIZE, pages * PAGE_SIZE);
	assert_non_null(memory);
	memset(memory, GARBAGE_BYTE, pages * PAGE_SIZE); /* no zeroed pages */
	source->chunks[source->chunk_count++] = memory;
	source->pages_given += pages;
	return memory;
}

struct fixture {
	struct test_pages pages;
	struct heap heap;
};

static int setup_with_budget(void **state, size_t page_budget)
{
	struct fixture *fixture = calloc(1, sizeof(*fixture));

	fixture->pages.page_budget = page_budget;
	heap_init(&fixture->heap, (struct heap_page_source){
					  .get_pages = test_get_pages,
					  .ctx = &fixture->pages,
				  });
	*state = fixture;
	return 0;
}

static int setup(void **state)
{
	return setup_with_budget(state, UNLIMITED_PAGES);
}

static int setup_small_budget(void **state)
{
	return setup_with_budget(state, MIN_CHUNK_PAGES);
}

static int teardown(void **state)
{
	struct fixture *fixture = *state;

	for (size_t i = 0; i < fixture->pages.chunk_count; i++)
		free(fixture->pages.chunks[i]);
	free(fixture);
	return 0;
}

static struct heap_stats stats_of(const struct heap *h)
{
	struct heap_stats stats;

	heap_get_stats(h, &stats);
	return stats;
}

/* Used + free + per-chunk overhead always accounts for every page. */
static void assert_accounting(const struct fixture *fixture)
{
	struct heap_stats stats = stats_of(&fixture->heap);

	assert_int_equal(stats.pages_taken, fixture->pages.pages_given);
	assert_int_equal(stats.bytes_in_use + stats.bytes_free +
				 fixture->pages.chunk_count * CHUNK_OVERHEAD,
			 stats.pages_taken * PAGE_SIZE);
}

static size_t free_list_length(const struct heap *h)
{
	size_t length = 0;

	for (struct heap_block *block = h->free_list; block;
	     block = block_links(block)->next)
		length++;
	return length;
}

static size_t largest_chunk_payload(const struct fixture *fixture)
{
	size_t largest = 0;

	for (struct heap_chunk *chunk = fixture->heap.chunks; chunk;
	     chunk = chunk->next)
		largest = MAX(largest, chunk->bytes - CHUNK_OVERHEAD - BLOCK_OVERHEAD);
	return largest;
}

/* xorshift64: a fixed seed makes every run the same sequence. */
static u64 random_state;

static u64 random_next(void)
{
	random_state ^= random_state << 13;
	random_state ^= random_state >> 7;
	random_state ^= random_state << 17;
	return random_state;
}

static size_t random_size(void)
{
	u64 choice = random_next() % 100;

	if (choice < 70)
		return random_next() % 129;
	if (choice < 95)
		return 129 + random_next() % 2000;
	return 2129 + random_next() % 60000;
}

/* ---- Random workload ---- */

#define SLOTS 256
#define RANDOM_STEPS 20000
#define FULL_VERIFY_INTERVAL 997

struct slot {
	u8 *pointer;
	size_t size;
	u8 pattern;
};

static void fill_slot(struct slot *slot, u8 pattern)
{
	slot->pattern = pattern;
	for (size_t i = 0; i < slot->size; i++)
		slot->pointer[i] = (u8)(pattern + i * 7);
}

static void verify_slot(const struct slot *slot)
{
	for (size_t i = 0; i < slot->size; i++)
		if (slot->pointer[i] != (u8)(slot->pattern + i * 7))
			fail_msg("block %p of %zu bytes overwritten at offset %zu",
				 (void *)slot->pointer, slot->size, i);
}

static void verify_all(const struct slot *slots)
{
	for (unsigned i = 0; i < SLOTS; i++)
		if (slots[i].pointer)
			verify_slot(&slots[i]);
}

static void free_slot(struct heap *h, struct slot *slot)
{
	verify_slot(slot);
	heap_free(h, slot->pointer);
	slot->pointer = NULL;
}

static void test_random_workload(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;
	struct slot *slots = calloc(SLOTS, sizeof(*slots));

	random_state = 0x9e3779b97f4a7c15ULL;
	for (unsigned step = 0; step < RANDOM_STEPS; step++) {
		struct slot *slot = &slots[random_next() % SLOTS];

		if (slot->pointer) {
			free_slot(h, slot);
		} else {
			slot->size = random_size();
			slot->pointer = heap_alloc(h, slot->size);
			assert_non_null(slot->pointer);
			assert_true(IS_ALIGNED((uintptr_t)slot->pointer, 16));
			fill_slot(slot, (u8)step);
		}
		if (!heap_check(h))
			fail_msg("heap_check failed after step %u", step);
		if (step % FULL_VERIFY_INTERVAL == 0) {
			verify_all(slots);
			assert_accounting(fixture);
		}
	}
	verify_all(slots);
	assert_accounting(fixture);

	/* Free the rest in random order; everything must merge back. */
	for (unsigned remaining = SLOTS; remaining > 0; remaining--) {
		unsigned start = random_next() % SLOTS;

		for (unsigned i = 0; i < SLOTS; i++) {
			struct slot *slot = &slots[(start + i) % SLOTS];

			if (slot->pointer) {
				free_slot(h, slot);
				break;
			}
		}
		assert_true(heap_check(h));
	}

	struct heap_stats stats = stats_of(h);
	assert_int_equal(stats.bytes_in_use, 0);
	assert_int_equal(stats.allocations, 0);
	assert_int_equal(stats.bytes_free,
			 stats.pages_taken * PAGE_SIZE -
				 fixture->pages.chunk_count * CHUNK_OVERHEAD);
	assert_int_equal(free_list_length(h), fixture->pages.chunk_count);

	/* The largest chunk is one free block again. */
	size_t pages = stats.pages_taken;
	void *big = heap_alloc(h, largest_chunk_payload(fixture));
	assert_non_null(big);
	assert_int_equal(stats_of(h).pages_taken, pages);
	heap_free(h, big);
	assert_true(heap_check(h));
	free(slots);
}

/* ---- Focused tests ---- */

static void test_alignment_and_no_overlap(void **state)
{
	struct fixture *fixture = *state;
	struct slot slots[SLOTS];

	for (unsigned i = 0; i < SLOTS; i++) {
		slots[i].size = i % 67;
		slots[i].pointer = heap_alloc(&fixture->heap, slots[i].size);
		assert_non_null(slots[i].pointer);
		assert_true(IS_ALIGNED((uintptr_t)slots[i].pointer, 16));
		fill_slot(&slots[i], (u8)i);
	}
	verify_all(slots);
	for (unsigned i = 0; i < SLOTS; i++)
		for (unsigned j = i + 1; j < SLOTS; j++)
			assert_true(slots[i].pointer + MAX(slots[i].size, 1) <= slots[j].pointer ||
				    slots[j].pointer + MAX(slots[j].size, 1) <= slots[i].pointer);
	assert_int_equal(stats_of(&fixture->heap).allocations, SLOTS);
	assert_true(heap_check(&fixture->heap));
	assert_accounting(fixture);
}

static void test_coalescing(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;
	void *blocks[4];

	for (unsigned i = 0; i < ARRAY_SIZE(blocks); i++)
		blocks[i] = heap_alloc(h, 100);
	size_t chunk_free = MIN_CHUNK_PAGES * PAGE_SIZE - CHUNK_OVERHEAD;
	size_t block_bytes = ALIGN_UP(100 + BLOCK_OVERHEAD, 16);
	assert_int_equal(stats_of(h).bytes_in_use, 4 * block_bytes);
	assert_int_equal(free_list_length(h), 1);

	heap_free(h, blocks[1]);            /* hole between used neighbours */
	assert_int_equal(free_list_length(h), 2);
	heap_free(h, blocks[0]);            /* merges with the next block */
	assert_int_equal(free_list_length(h), 2);
	heap_free(h, blocks[3]);            /* merges with the tail */
	assert_int_equal(free_list_length(h), 2);
	assert_true(heap_check(h));
	heap_free(h, blocks[2]);            /* merges on both sides */
	assert_int_equal(free_list_length(h), 1);
	assert_true(heap_check(h));

	struct heap_stats stats = stats_of(h);
	assert_int_equal(stats.pages_taken, MIN_CHUNK_PAGES);
	assert_int_equal(stats.bytes_free, chunk_free);
	assert_int_equal(stats.bytes_in_use, 0);

	/* The whole chunk is available again as one block. */
	void *whole = heap_alloc(h, chunk_free - BLOCK_OVERHEAD);
	assert_ptr_equal(whole, blocks[0]);
	assert_int_equal(stats_of(h).pages_taken, MIN_CHUNK_PAGES);
	assert_int_equal(stats_of(h).bytes_free, 0);
	heap_free(h, whole);
	assert_true(heap_check(h));
}

static void test_small_tail_is_not_split(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;
	size_t chunk_free = MIN_CHUNK_PAGES * PAGE_SIZE - CHUNK_OVERHEAD;

	/* Leaves 32 bytes: too small for a block, so the request gets them. */
	void *p = heap_alloc(h, chunk_free - BLOCK_OVERHEAD - 32);
	assert_non_null(p);
	assert_int_equal(stats_of(h).bytes_in_use, chunk_free);
	assert_int_equal(free_list_length(h), 0);
	assert_true(heap_check(h));
	heap_free(h, p);
	assert_true(heap_check(h));
}

static void test_large_allocation(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;
	size_t size = 3 * MiB + 5;

	u8 *small = heap_alloc(h, 24);
	u8 *large = heap_alloc(h, size);
	assert_non_null(large);
	assert_true(IS_ALIGNED((uintptr_t)large, 16));
	assert_true(stats_of(h).pages_taken >= MIN_CHUNK_PAGES + size / PAGE_SIZE);
	assert_int_equal(fixture->pages.chunk_count, 2);
	for (size_t i = 0; i < size; i++)
		large[i] = (u8)(i * 13);
	memset(small, 0x11, 24);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(large[i], (u8)(i * 13));
	assert_true(heap_check(h));
	assert_accounting(fixture);

	heap_free(h, large);
	size_t pages = stats_of(h).pages_taken;
	u8 *again = heap_alloc(h, size);
	assert_ptr_equal(again, large);
	assert_int_equal(stats_of(h).pages_taken, pages);
	heap_free(h, again);
	heap_free(h, small);
	assert_true(heap_check(h));
	assert_int_equal(free_list_length(h), 2);
}

static void test_zero_and_impossible_sizes(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;

	void *a = heap_alloc(h, 0);
	void *b = heap_alloc(h, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_ptr_not_equal(a, b);

	size_t requests = fixture->pages.requests;
	assert_null(heap_alloc(h, SIZE_MAX));
	assert_null(heap_alloc(h, SIZE_MAX - 15));
	assert_null(heap_alloc(h, SIZE_MAX / 2));
	assert_int_equal(fixture->pages.requests, requests);
	heap_free(h, a);
	heap_free(h, b);
	assert_true(heap_check(h));
}

static void test_free_null_is_noop(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;

	heap_free(h, NULL);
	void *p = heap_alloc(h, 10);
	struct heap_stats before = stats_of(h);
	heap_free(h, NULL);
	struct heap_stats after = stats_of(h);
	assert_memory_equal(&before, &after, sizeof(before));
	heap_free(h, p);
	assert_true(heap_check(h));
}

static void test_page_source_exhaustion(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;
	void *pointers[1024];
	unsigned count = 0;

	assert_null(heap_alloc(h, MIN_CHUNK_PAGES * PAGE_SIZE));
	assert_int_equal(stats_of(h).pages_taken, 0);
	while (count < ARRAY_SIZE(pointers) &&
	       (pointers[count] = heap_alloc(h, 1000)) != NULL)
		count++;
	/* 1000 bytes -> 1024-byte blocks; 63 fit in 64 KiB minus overhead. */
	assert_int_equal(count, (MIN_CHUNK_PAGES * PAGE_SIZE - CHUNK_OVERHEAD) / 1024);
	assert_int_equal(stats_of(h).pages_taken, MIN_CHUNK_PAGES);
	assert_true(heap_check(h));
	assert_non_null(heap_alloc(h, 900)); /* the tail still fits this */
	while (count > 0)
		heap_free(h, pointers[--count]);
	assert_true(heap_check(h));
	assert_int_equal(stats_of(h).allocations, 1);
}

static void test_double_free_asserts(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;

	void *a = heap_alloc(h, 40);
	void *b = heap_alloc(h, 40);
	void *c = heap_alloc(h, 40);
	heap_free(h, b);
	expect_assert_failure(heap_free(h, b));
	heap_free(h, c); /* merges into b's block */
	expect_assert_failure(heap_free(h, c));
	heap_free(h, a);
	expect_assert_failure(heap_free(h, a));
	assert_true(heap_check(h));
	assert_int_equal(stats_of(h).allocations, 0);
}

static void test_corruption_is_detected(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;

	u8 *victim = heap_alloc(h, 32);
	u8 *neighbour = heap_alloc(h, 32);
	assert_true(heap_check(h));

	/* Overrun into the footer: a 32-byte request has 40 bytes of room. */
	u64 saved_footer;
	memcpy(&saved_footer, victim + 40, sizeof(saved_footer));
	memset(victim, 0x41, 48);
	assert_false(heap_check(h));
	expect_assert_failure(heap_free(h, victim));
	memcpy(victim + 40, &saved_footer, sizeof(saved_footer));
	assert_true(heap_check(h));

	/* Underrun into the header. */
	struct heap_block saved_header;
	memcpy(&saved_header, neighbour - HEADER_BYTES, sizeof(saved_header));
	memset(neighbour - 8, 0x42, 8);
	assert_false(heap_check(h));
	expect_assert_failure(heap_free(h, neighbour));
	memcpy(neighbour - HEADER_BYTES, &saved_header, sizeof(saved_header));
	assert_true(heap_check(h));

	/* Size out of range. */
	((struct heap_block *)(neighbour - HEADER_BYTES))->size = 1ULL << 40;
	assert_false(heap_check(h));
	expect_assert_failure(heap_free(h, neighbour));
	memcpy(neighbour - HEADER_BYTES, &saved_header, sizeof(saved_header));

	heap_free(h, victim);
	heap_free(h, neighbour);
	assert_true(heap_check(h));
}

static void test_foreign_pointers_assert(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;
	_Alignas(16) u8 outside[64] = { 0 };

	u8 *p = heap_alloc(h, 64);
	expect_assert_failure(heap_free(h, outside + 16));
	expect_assert_failure(heap_free(h, p + 1));
	expect_assert_failure(heap_free(h, p + 16)); /* inside, no header */
	heap_free(h, p);
	assert_true(heap_check(h));
}

static void test_free_list_corruption_is_detected(void **state)
{
	struct fixture *fixture = *state;
	struct heap *h = &fixture->heap;

	void *a = heap_alloc(h, 64);
	void *b = heap_alloc(h, 64);
	heap_alloc(h, 64);
	heap_free(h, a);
	(void)b;
	assert_true(heap_check(h));
	struct heap_free_links *links = a;
	struct heap_block *saved = links->next;
	links->next = payload_block(b); /* a used block on the free list */
	assert_false(heap_check(h));
	links->next = saved;
	assert_true(heap_check(h));
}

#define HEAP_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		HEAP_TEST(test_random_workload),
		HEAP_TEST(test_alignment_and_no_overlap),
		HEAP_TEST(test_coalescing),
		HEAP_TEST(test_small_tail_is_not_split),
		HEAP_TEST(test_large_allocation),
		HEAP_TEST(test_zero_and_impossible_sizes),
		HEAP_TEST(test_free_null_is_noop),
		cmocka_unit_test_setup_teardown(test_page_source_exhaustion,
						setup_small_budget, teardown),
		HEAP_TEST(test_double_free_asserts),
		HEAP_TEST(test_corruption_is_detected),
		HEAP_TEST(test_foreign_pointers_assert),
		HEAP_TEST(test_free_list_corruption_is_detected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
