#include "paging.h"

#include "x86.h"

void pt32_identity_table(struct page_table32 *dir, struct page_table32 *table, uint32_t va)
{
	uint32_t base = va & ~(LARGE_PAGE_SIZE_32 - 1);
	for (uint32_t i = 0; i < PT32_ENTRIES; i++)
		table->entry[i] = (base + i * PAGE_SIZE) | PTE_FLAGS_RW;
	dir->entry[pt32_dir_index(va)] = (uint32_t)table | PTE_FLAGS_RW;
}

volatile uint32_t *pt32_pte(struct page_table32 *dir, uint32_t va)
{
	struct page_table32 *table = (void *)(dir->entry[pt32_dir_index(va)] & ~(PAGE_SIZE - 1));
	return &table->entry[pt32_table_index(va)];
}

void paging_enable(uint32_t cr3, uint32_t cr4_bits, uint32_t cr0_extra)
{
	write_cr4(read_cr4() | cr4_bits);
	write_cr3(cr3);
	write_cr0(read_cr0() | CR0_PG | cr0_extra);
}

void paging_disable(void)
{
	write_cr0(read_cr0() & ~(CR0_PG | CR0_WP));
	write_cr4(read_cr4() & ~(CR4_PSE | CR4_PAE));
}
