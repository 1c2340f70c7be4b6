/*
 * The hypervisor heap for small objects (VM and vCPU structs, device state).
 * Never used on the exit path. Backed by pages from a page source so host
 * tests can run it over malloc'ed memory.
 */
#pragma once
#include "lib/types.h"

struct heap_page_source {
	/* Returns a pointer to 'pages' contiguous 4 KiB pages, or NULL. */
	void *(*get_pages)(void *ctx, size_t pages);
	void *ctx;
};

struct heap_chunk;
struct heap_block;

/* Fields are private to mm/heap.c; the definition is here only so a heap
 * can be a static object. */
struct heap {
	struct heap_page_source source;
	struct heap_chunk *chunks;     /* every run of pages taken, newest first */
	struct heap_block *free_list;  /* free blocks, most recently freed first */
	size_t bytes_in_use;           /* used blocks, headers included */
	size_t bytes_free;             /* free blocks, headers included */
	size_t pages_taken;
	size_t allocations;            /* blocks currently in use */
};

struct heap_stats {
	size_t bytes_in_use;
	size_t bytes_free;  /* free bytes inside pages already taken */
	size_t pages_taken;
	size_t allocations;
};

/* Object allocator: 16-byte aligned blocks, first fit with coalescing. */
void heap_init(struct heap *h, struct heap_page_source src);
void *heap_alloc(struct heap *h, size_t size);
void heap_free(struct heap *h, void *p);
void heap_get_stats(const struct heap *h, struct heap_stats *st);
/* Walks every block and checks headers/footers; returns false if corrupt. */
bool heap_check(const struct heap *h);

/* The hypervisor's heap (mm/heap.c), backed by the frame allocator. */
void kheap_init(void);
void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);
