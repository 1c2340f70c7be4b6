/* Hypervisor page tables. Physical == virtual everywhere in Presidio. */
#include "mm/paging.h"
#include "mm/frame.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "lib/print.h"

#define LEVEL_SHIFT(level) (PAGE_SHIFT + 9 * ((level) - 1)) /* level 1 = PT */
#define INDEX(addr, level) (((addr) >> LEVEL_SHIFT(level)) & (PT_ENTRIES - 1))

extern const u8 __image_start[], __text_end[], __image_end[];

static u64 *new_table(void)
{
	return (u64 *)frame_alloc(); /* zeroed; 0 (NULL) when out of memory */
}

/* Returns the table at 'level' - 1 under entry, creating it if needed. */
static u64 *next_table(u64 *entry)
{
	if (!(*entry & PTE_PRESENT)) {
		u64 *t = new_table();
		if (!t)
			return NULL;
		*entry = (u64)t | PTE_PRESENT | PTE_WRITABLE;
	}
	ASSERT(!(*entry & PTE_LARGE));
	return (u64 *)(*entry & PTE_ADDRESS_MASK);
}

static int map_page(u64 *pml4, u64 addr, int level, u64 flags)
{
	u64 *table = pml4;
	for (int l = 4; l > level; l--) {
		table = next_table(&table[INDEX(addr, l)]);
		if (!table)
			return -1;
	}
	table[INDEX(addr, level)] = addr | flags | (level > 1 ? PTE_LARGE : 0);
	return 0;
}

static u64 image_page_flags(u64 addr, u64 nx)
{
	/* The Multiboot headers share the first text page. */
	if (addr >= (u64)__image_start && addr < (u64)__text_end)
		return PTE_PRESENT; /* read-only, executable */
	return PTE_PRESENT | PTE_WRITABLE | nx;
}

int paging_init(u64 top_of_ram)
{
	u64 nx = cpu_features.nx ? PTE_NX : 0;
	u64 top = ALIGN_UP(MAX(top_of_ram, 4 * GiB), HUGE_PAGE_SIZE);
	u64 image_region = ALIGN_DOWN((u64)__image_start, LARGE_PAGE_SIZE);
	u64 image_region_end = ALIGN_UP((u64)__image_end, LARGE_PAGE_SIZE);
	u64 *pml4 = new_table();
	if (!pml4)
		return -1;
	for (u64 addr = 0; addr < top;) {
		bool in_image = addr + HUGE_PAGE_SIZE > image_region && addr < image_region_end;
		if (cpu_features.page_1g && !in_image && IS_ALIGNED(addr, HUGE_PAGE_SIZE)) {
			if (map_page(pml4, addr, 3, PTE_PRESENT | PTE_WRITABLE | nx))
				return -1;
			addr += HUGE_PAGE_SIZE;
		} else if (addr < image_region || addr >= image_region_end) {
			if (map_page(pml4, addr, 2, PTE_PRESENT | PTE_WRITABLE | nx))
				return -1;
			addr += LARGE_PAGE_SIZE;
		} else {
			if (map_page(pml4, addr, 1, image_page_flags(addr, nx)))
				return -1;
			addr += PAGE_SIZE;
		}
	}
	write_cr3((u64)pml4);
	pr_debug("paging: identity map of %llu GiB with %s pages, image W^X at 4K",
		 (unsigned long long)(top / GiB), cpu_features.page_1g ? "1G" : "2M");
	return 0;
}
