/*
 * Boundary-tag heap. Pages come from the page source in chunks:
 *
 *   chunk header | block | block | ... | end marker
 *
 * Every block starts with a 16-byte header (size and a magic number that
 * says used or free) and ends with an 8-byte footer repeating the size, so
 * both neighbours of a block can be found in constant time and merged
 * when free. Free blocks are on a doubly linked list kept in their
 * payload; allocation is first fit on that list. Sizes count the whole
 * block, header and footer included, and are multiples of 16, so every
 * payload is 16-byte aligned.
 *
 * Statistics count whole blocks: bytes_in_use + bytes_free +
 * CHUNK_OVERHEAD per chunk == pages_taken * PAGE_SIZE.
 */
#include "mm/heap.h"
#include "lib/print.h"
#include "lib/spinlock.h"

#define HEAP_ALIGNMENT 16
#define BLOCK_MAGIC_USED 0x55534544u /* "USED" */
#define BLOCK_MAGIC_FREE 0x46524545u /* "FREE" */
#define BLOCK_MAGIC_END 0x454e4421u  /* "END!" */
#define MIN_CHUNK_PAGES 16

struct heap_block {
	u64 size; /* whole block; 0 for the end marker */
	u32 magic;
	u32 unused;
};

struct heap_free_links {
	struct heap_block *prev;
	struct heap_block *next;
};

struct heap_chunk {
	struct heap_chunk *next;
	u64 bytes;        /* whole chunk */
	u64 unused;
	u64 first_footer; /* always 0: "no block before the first one" */
};

#define HEADER_BYTES sizeof(struct heap_block)
#define FOOTER_BYTES sizeof(u64)
#define BLOCK_OVERHEAD (HEADER_BYTES + FOOTER_BYTES)
/* A free block must hold its links; rounded to the alignment. */
#define MIN_BLOCK_BYTES \
	ALIGN_UP(BLOCK_OVERHEAD + sizeof(struct heap_free_links), HEAP_ALIGNMENT)
#define CHUNK_OVERHEAD (sizeof(struct heap_chunk) + HEADER_BYTES)
/* Larger requests cannot be satisfied and would overflow the arithmetic. */
#define MAX_REQUEST_BYTES ((size_t)1 << 46)

_Static_assert(sizeof(struct heap_block) % HEAP_ALIGNMENT == 0,
	       "block header keeps payloads aligned");
_Static_assert(sizeof(struct heap_chunk) % HEAP_ALIGNMENT == 0,
	       "chunk header keeps the first block aligned");

/* ---- Block geometry ---- */

static void *block_payload(struct heap_block *block)
{
	return (u8 *)block + HEADER_BYTES;
}

static struct heap_block *payload_block(void *payload)
{
	return (struct heap_block *)((u8 *)payload - HEADER_BYTES);
}

static u64 *block_footer(const struct heap_block *block)
{
	return (u64 *)((u8 *)block + block->size - FOOTER_BYTES);
}

static struct heap_block *next_block(const struct heap_block *block)
{
	return (struct heap_block *)((u8 *)block + block->size);
}

/* The block before, or NULL for the first block of a chunk. */
static struct heap_block *previous_block(const struct heap_block *block)
{
	u64 previous_size = *((const u64 *)block - 1);

	if (previous_size == 0)
		return NULL;
	return (struct heap_block *)((u8 *)block - previous_size);
}

static struct heap_free_links *block_links(struct heap_block *block)
{
	return block_payload(block);
}

static void write_block(struct heap_block *block, u64 size, u32 magic)
{
	block->size = size;
	block->magic = magic;
	block->unused = 0;
	*block_footer(block) = size;
}

static struct heap_block *chunk_first_block(struct heap_chunk *chunk)
{
	return (struct heap_block *)(chunk + 1);
}

static struct heap_block *chunk_end_marker(struct heap_chunk *chunk)
{
	return (struct heap_block *)((u8 *)chunk + chunk->bytes - HEADER_BYTES);
}

/* ---- Free list ---- */

static void free_list_insert(struct heap *h, struct heap_block *block)
{
	struct heap_free_links *links = block_links(block);

	links->prev = NULL;
	links->next = h->free_list;
	if (h->free_list)
		block_links(h->free_list)->prev = block;
	h->free_list = block;
}

static void free_list_remove(struct heap *h, struct heap_block *block)
{
	struct heap_free_links *links = block_links(block);

	if (links->prev)
		block_links(links->prev)->next = links->next;
	else
		h->free_list = links->next;
	if (links->next)
		block_links(links->next)->prev = links->prev;
}

/* ---- Allocation ---- */

void heap_init(struct heap *h, struct heap_page_source src)
{
	*h = (struct heap){ .source = src };
}

/* Whole-block size for a request; 0 if the request is impossibly large. */
static u64 block_size_for(size_t size)
{
	if (size > MAX_REQUEST_BYTES)
		return 0;
	return MAX(ALIGN_UP((u64)size + BLOCK_OVERHEAD, HEAP_ALIGNMENT),
		   MIN_BLOCK_BYTES);
}

static struct heap_block *find_first_fit(const struct heap *h, u64 size)
{
	for (struct heap_block *block = h->free_list; block;
	     block = block_links(block)->next)
		if (block->size >= size)
			return block;
	return NULL;
}

/* Takes a new chunk able to hold a 'size' block; returns that free block,
 * already on the free list, or NULL if the page source is exhausted. */
static struct heap_block *grow(struct heap *h, u64 size)
{
	size_t pages = MAX((size + CHUNK_OVERHEAD + PAGE_SIZE - 1) / PAGE_SIZE,
			   MIN_CHUNK_PAGES);
	struct heap_chunk *chunk = h->source.get_pages(h->source.ctx, pages);

	if (!chunk)
		return NULL;
	ASSERT(IS_ALIGNED((uintptr_t)chunk, HEAP_ALIGNMENT));
	chunk->bytes = pages * PAGE_SIZE;
	chunk->unused = 0;
	chunk->first_footer = 0;
	chunk->next = h->chunks;
	h->chunks = chunk;

	struct heap_block *end = chunk_end_marker(chunk);
	end->size = 0;
	end->magic = BLOCK_MAGIC_END;
	end->unused = 0;

	struct heap_block *block = chunk_first_block(chunk);
	write_block(block, chunk->bytes - CHUNK_OVERHEAD, BLOCK_MAGIC_FREE);
	free_list_insert(h, block);
	h->pages_taken += pages;
	h->bytes_free += block->size;
	return block;
}

/* Marks a free block used, returning any tail large enough to be a block
 * of its own to the free list. */
static void take_block(struct heap *h, struct heap_block *block, u64 size)
{
	u64 remainder = block->size - size;

	free_list_remove(h, block);
	h->bytes_free -= block->size;
	if (remainder >= MIN_BLOCK_BYTES) {
		write_block(block, size, BLOCK_MAGIC_USED);
		struct heap_block *tail = next_block(block);
		write_block(tail, remainder, BLOCK_MAGIC_FREE);
		free_list_insert(h, tail);
		h->bytes_free += remainder;
	} else {
		write_block(block, block->size, BLOCK_MAGIC_USED);
	}
	h->bytes_in_use += block->size;
	h->allocations++;
}

void *heap_alloc(struct heap *h, size_t size)
{
	u64 block_size = block_size_for(size);

	if (block_size == 0)
		return NULL;
	struct heap_block *block = find_first_fit(h, block_size);
	if (!block)
		block = grow(h, block_size);
	if (!block)
		return NULL;
	take_block(h, block, block_size);
	return block_payload(block);
}

/* ---- Freeing ---- */

static struct heap_chunk *chunk_holding(const struct heap *h, const void *p)
{
	for (struct heap_chunk *chunk = h->chunks; chunk; chunk = chunk->next) {
		const u8 *first = block_payload(chunk_first_block(chunk));
		const u8 *end = (const u8 *)chunk_end_marker(chunk);

		if ((const u8 *)p >= first && (const u8 *)p < end)
			return chunk;
	}
	return NULL;
}

/* The header of a pointer about to be freed, after checking it is a live
 * block of this heap; panics otherwise. */
static struct heap_block *checked_block(const struct heap *h, void *p)
{
	struct heap_chunk *chunk = chunk_holding(h, p);

	if (!chunk || !IS_ALIGNED((uintptr_t)p, HEAP_ALIGNMENT))
		panic("heap_free: %p is not a pointer from this heap", p);

	struct heap_block *block = payload_block(p);
	u64 room = (u64)((u8 *)chunk_end_marker(chunk) - (u8 *)block);

	if (block->magic == BLOCK_MAGIC_FREE)
		panic("heap_free: double free of %p", p);
	if (block->magic != BLOCK_MAGIC_USED)
		panic("heap_free: corrupted header before %p (magic %#x)", p,
		      block->magic);
	if (block->size < MIN_BLOCK_BYTES || block->size > room ||
	    !IS_ALIGNED(block->size, HEAP_ALIGNMENT))
		panic("heap_free: corrupted header before %p (size %#llx)", p,
		      (unsigned long long)block->size);
	if (*block_footer(block) != block->size)
		panic("heap_free: corrupted footer after %p (buffer overrun?)",
		      p);
	return block;
}

/* Merges a newly freed block with free neighbours; returns the result,
 * which is not yet on the free list. */
static struct heap_block *coalesce(struct heap *h, struct heap_block *block)
{
	struct heap_block *next = next_block(block);
	struct heap_block *previous = previous_block(block);

	if (next->magic == BLOCK_MAGIC_FREE) {
		free_list_remove(h, next);
		write_block(block, block->size + next->size, BLOCK_MAGIC_FREE);
	}
	if (previous && previous->magic == BLOCK_MAGIC_FREE) {
		free_list_remove(h, previous);
		write_block(previous, previous->size + block->size,
			    BLOCK_MAGIC_FREE);
		block = previous;
	}
	return block;
}

void heap_free(struct heap *h, void *p)
{
	if (!p)
		return;

	struct heap_block *block = checked_block(h, p);

	/* The header stays FREE even when merged into the block before it,
	 * so a second free of p is still recognised. */
	write_block(block, block->size, BLOCK_MAGIC_FREE);
	h->bytes_in_use -= block->size;
	h->bytes_free += block->size;
	h->allocations--;
	free_list_insert(h, coalesce(h, block));
}

/* ---- Inspection ---- */

void heap_get_stats(const struct heap *h, struct heap_stats *st)
{
	st->bytes_in_use = h->bytes_in_use;
	st->bytes_free = h->bytes_free;
	st->pages_taken = h->pages_taken;
	st->allocations = h->allocations;
}

struct heap_census {
	size_t used_bytes, free_bytes, used_blocks, free_blocks, pages;
};

static bool check_chunk(struct heap_chunk *chunk, struct heap_census *census)
{
	if (chunk->bytes < CHUNK_OVERHEAD + MIN_BLOCK_BYTES ||
	    !IS_ALIGNED(chunk->bytes, PAGE_SIZE) || chunk->first_footer != 0)
		return false;

	struct heap_block *end = chunk_end_marker(chunk);
	struct heap_block *block = chunk_first_block(chunk);
	bool previous_free = false;

	while (block < end) {
		u64 room = (u64)((u8 *)end - (u8 *)block);
		bool is_free = block->magic == BLOCK_MAGIC_FREE;

		if (block->size < MIN_BLOCK_BYTES || block->size > room ||
		    !IS_ALIGNED(block->size, HEAP_ALIGNMENT) ||
		    *block_footer(block) != block->size)
			return false;
		if (!is_free && block->magic != BLOCK_MAGIC_USED)
			return false;
		if (is_free && previous_free)
			return false; /* neighbours should have been merged */
		if (is_free) {
			census->free_blocks++;
			census->free_bytes += block->size;
		} else {
			census->used_blocks++;
			census->used_bytes += block->size;
		}
		previous_free = is_free;
		block = next_block(block);
	}
	census->pages += chunk->bytes / PAGE_SIZE;
	return block == end && end->size == 0 && end->magic == BLOCK_MAGIC_END;
}

static bool check_free_list(const struct heap *h, size_t free_blocks)
{
	struct heap_block *previous = NULL;
	size_t listed = 0;

	for (struct heap_block *block = h->free_list; block;
	     block = block_links(block)->next) {
		if (++listed > free_blocks || !chunk_holding(h, block_payload(block)) ||
		    block->magic != BLOCK_MAGIC_FREE ||
		    block_links(block)->prev != previous)
			return false;
		previous = block;
	}
	return listed == free_blocks;
}

bool heap_check(const struct heap *h)
{
	struct heap_census census = { 0 };

	for (struct heap_chunk *chunk = h->chunks; chunk; chunk = chunk->next)
		if (!check_chunk(chunk, &census))
			return false;
	return check_free_list(h, census.free_blocks) &&
	       census.used_bytes == h->bytes_in_use &&
	       census.free_bytes == h->bytes_free &&
	       census.used_blocks == h->allocations &&
	       census.pages == h->pages_taken;
}

/* ---- The hypervisor's heap ---- */
#ifndef HOST_TEST
#include "mm/frame.h"

static struct heap kernel_heap;
static struct spinlock kernel_heap_lock = SPINLOCK_INIT_NAMED("heap");
static bool kernel_heap_ready;

/* Frames are identity mapped, so a physical address is a pointer. */
static void *kernel_heap_get_pages(void *ctx, size_t pages)
{
	(void)ctx;
	u64 phys = frame_alloc_contig(pages, PAGE_SIZE);

	return phys ? (void *)(uintptr_t)phys : NULL;
}

void kheap_init(void)
{
	heap_init(&kernel_heap, (struct heap_page_source){
					.get_pages = kernel_heap_get_pages,
					.ctx = NULL,
				});
	kernel_heap_ready = true;
}

void *kmalloc(size_t size)
{
	ASSERT(kernel_heap_ready);
	spin_lock(&kernel_heap_lock);
	void *p = heap_alloc(&kernel_heap, size);
	spin_unlock(&kernel_heap_lock);
	return p;
}

/* rep stos rather than a loop so the compiler cannot turn it into a call
 * to a memset we don't have. */
static void zero_bytes(void *destination, size_t bytes)
{
	__asm__ volatile("rep stosb"
			 : "+D"(destination), "+c"(bytes)
			 : "a"(0)
			 : "memory");
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		zero_bytes(p, size);
	return p;
}

void kfree(void *p)
{
	spin_lock(&kernel_heap_lock);
	heap_free(&kernel_heap, p);
	spin_unlock(&kernel_heap_lock);
}

#endif /* HOST_TEST */
