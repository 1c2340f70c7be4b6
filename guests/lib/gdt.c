#include "gdt.h"

/* Access byte and flags of a segment descriptor (SDM vol. 3 3.4.5). */
#define DESC_ACCESS_PRESENT 0x80
#define DESC_ACCESS_CODE_OR_DATA 0x10
#define DESC_TYPE_CODE_READ 0x0a
#define DESC_TYPE_DATA_WRITE 0x02
#define DESC_FLAG_GRANULAR 0x8
#define DESC_FLAG_DB32 0x4
#define DESC_FLAG_LONG 0x2
#define LIMIT_4G_PAGES 0xfffff

#define CODE_ACCESS (DESC_ACCESS_PRESENT | DESC_ACCESS_CODE_OR_DATA | DESC_TYPE_CODE_READ)
#define DATA_ACCESS (DESC_ACCESS_PRESENT | DESC_ACCESS_CODE_OR_DATA | DESC_TYPE_DATA_WRITE)

#define DESCRIPTOR(base, limit, access, flags)                                   \
	(((uint64_t)(limit) & 0xffff) | (((uint64_t)(base) & 0xffffff) << 16) |  \
	 ((uint64_t)(access) << 40) | ((((uint64_t)(limit) >> 16) & 0xf) << 48) | \
	 ((uint64_t)(flags) << 52) | (((uint64_t)(base) >> 24) << 56))

static const uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8))) = {
	[SEL_CODE32 / 8] = DESCRIPTOR(0, LIMIT_4G_PAGES, CODE_ACCESS, DESC_FLAG_GRANULAR | DESC_FLAG_DB32),
	[SEL_DATA32 / 8] = DESCRIPTOR(0, LIMIT_4G_PAGES, DATA_ACCESS, DESC_FLAG_GRANULAR | DESC_FLAG_DB32),
	[SEL_CODE64 / 8] = DESCRIPTOR(0, LIMIT_4G_PAGES, CODE_ACCESS, DESC_FLAG_GRANULAR | DESC_FLAG_LONG),
	[SEL_DATA_NOT_PRESENT / 8] = DESCRIPTOR(0, LIMIT_4G_PAGES, DATA_ACCESS & ~DESC_ACCESS_PRESENT,
						DESC_FLAG_GRANULAR | DESC_FLAG_DB32),
	[SEL_DATA_BASED / 8] = DESCRIPTOR(DATA_BASED_BASE, LIMIT_4G_PAGES, DATA_ACCESS,
					  DESC_FLAG_GRANULAR | DESC_FLAG_DB32),
};

struct __attribute__((packed)) pseudo_descriptor {
	uint16_t limit;
	uint32_t base;
};

void gdt_load(void)
{
	static const struct pseudo_descriptor gdtr = { sizeof(gdt) - 1, (uint32_t)gdt };
	asm volatile("lgdt %0\n\t"
		     "ljmp %1, $1f\n"
		     "1:\n\t"
		     "movw %w2, %%ds\n\t"
		     "movw %w2, %%es\n\t"
		     "movw %w2, %%fs\n\t"
		     "movw %w2, %%gs\n\t"
		     "movw %w2, %%ss\n\t"
		     "lldt %w3"
		     :
		     : "m"(gdtr), "i"(SEL_CODE32), "r"(SEL_DATA32), "r"(0)
		     : "memory");
}
