/* Page-table building blocks for the guests' own paging (SDM vol. 3 ch. 4). */
#ifndef GUEST_PAGING_H
#define GUEST_PAGING_H

#include <stdint.h>

#define PAGE_SIZE 4096u
#define LARGE_PAGE_SIZE_32 (4u << 20) /* PSE page, and the span of one 32-bit page table */
#define LARGE_PAGE_SIZE_PAE (2u << 20)
#define RAM_SIZE (16u << 20)

#define PTE_PRESENT (1u << 0)
#define PTE_WRITABLE (1u << 1)
#define PTE_ACCESSED (1u << 5)
#define PTE_DIRTY (1u << 6)
#define PDE_LARGE (1u << 7)
#define PTE_FLAGS_RW (PTE_PRESENT | PTE_WRITABLE)

#define PF_ERROR_PRESENT (1u << 0)
#define PF_ERROR_WRITE (1u << 1)
#define PF_ERROR_FETCH (1u << 4)

#define PT32_ENTRIES 1024
#define PT64_ENTRIES 512

struct page_table32 {
	uint32_t entry[PT32_ENTRIES];
} __attribute__((aligned(PAGE_SIZE)));

/* PAE and 4-level tables share the 64-bit entry format. */
struct page_table64 {
	uint64_t entry[PT64_ENTRIES];
} __attribute__((aligned(PAGE_SIZE)));

static inline uint32_t pt32_dir_index(uint32_t va) { return va >> 22; }
static inline uint32_t pt32_table_index(uint32_t va) { return (va >> 12) & (PT32_ENTRIES - 1); }

/* 32-bit paging: point dir at `table` for va's 4 MiB, and fill it with
 * 4 KiB pages mapping that 4 MiB identically. */
void pt32_identity_table(struct page_table32 *dir, struct page_table32 *table, uint32_t va);
/* The PTE for va; the directory entry must point to a table. */
volatile uint32_t *pt32_pte(struct page_table32 *dir, uint32_t va);

/* CR3, then the given CR4 bits, then CR0.PG (and CR0.WP when asked). */
void paging_enable(uint32_t cr3, uint32_t cr4_bits, uint32_t cr0_extra);
/* Back to flat physical addressing: CR0.PG and CR4.PSE/PAE cleared. */
void paging_disable(void);

#endif
