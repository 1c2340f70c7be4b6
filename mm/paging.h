/* The hypervisor's own page tables: an identity map of physical memory. */
#pragma once
#include "lib/types.h"

/* x86-64 page-table entry bits (SDM Vol. 3A 4.5) */
#define PTE_PRESENT BIT(0)
#define PTE_WRITABLE BIT(1)
#define PTE_USER BIT(2)
#define PTE_PWT BIT(3)
#define PTE_PCD BIT(4)
#define PTE_ACCESSED BIT(5)
#define PTE_DIRTY BIT(6)
#define PTE_LARGE BIT(7)
#define PTE_GLOBAL BIT(8)
#define PTE_NX BIT(63)
#define PTE_ADDRESS_MASK 0x000ffffffffff000ULL
#define PT_ENTRIES 512

/*
 * Builds and loads tables that identity-map [0, max(4 GiB, top of RAM)) with
 * the largest pages the CPU has, the hypervisor image at 4 KiB granularity
 * with text read-only+executable and everything else non-executable.
 * Returns 0 or -1 when frames run out.
 */
int paging_init(u64 top_of_ram);
