/* Second-level page tables for EPT and NPT, one builder and one walker. */
#include "arch/x86/ept_npt.h"
#include "vmm/memmap.h"

#define SLPT_LEVELS 4
#define ENTRIES_PER_TABLE 512
#define ADDRESS_MASK 0x000ffffffffff000ULL
#define LEVEL_SHIFT(level) (12 + 9 * ((level) - 1)) /* level 1 maps 4 KiB */
#define LEVEL_SIZE(level) (1ULL << LEVEL_SHIFT(level))
#define INDEX(gpa, level) (((gpa) >> LEVEL_SHIFT(level)) & (ENTRIES_PER_TABLE - 1))

/* x86-64 page-table bits; nested walks are user accesses (APM 15.25.5). */
#define PT_PRESENT BIT(0)
#define PT_WRITE BIT(1)
#define PT_USER BIT(2)
#define PT_LARGE BIT(7)
#define PT_NX BIT(63)

/* EPT entry bits (SDM Vol. 3C 29.3.2) */
#define EPT_READ BIT(0)
#define EPT_WRITE BIT(1)
#define EPT_EXECUTE BIT(2)
#define EPT_MEMTYPE_WB (6ULL << 3)
#define EPT_IGNORE_PAT BIT(6)
#define EPT_LARGE BIT(7)

const struct slpt_format npt_format = {
	.name = "NPT",
	.table_flags = PT_PRESENT | PT_WRITE | PT_USER,
	.read = PT_PRESENT | PT_USER,
	.write = PT_WRITE,
	.execute_disable = PT_NX,
	.execute = 0,
	.leaf_flags = 0,
	.present_mask = PT_PRESENT,
	.large = PT_LARGE,
	.page_2m = true,
	.page_1g = false,
};

const struct slpt_format ept_format = {
	.name = "EPT",
	.table_flags = EPT_READ | EPT_WRITE | EPT_EXECUTE,
	.read = EPT_READ,
	.write = EPT_WRITE,
	.execute_disable = 0,
	.execute = EPT_EXECUTE,
	.leaf_flags = EPT_MEMTYPE_WB | EPT_IGNORE_PAT,
	.present_mask = EPT_READ | EPT_WRITE | EPT_EXECUTE,
	.large = EPT_LARGE,
	.page_2m = true,
	.page_1g = false,
};

static u64 *table_ptr(const struct slpt *t, u64 phys)
{
	return t->phys_to_ptr(t->ctx, phys);
}

static u64 leaf_entry(const struct slpt *t, u64 hpa, unsigned perms, int level)
{
	const struct slpt_format *f = &t->format;
	u64 e = hpa | f->leaf_flags;
	if (perms & SLPT_READ)
		e |= f->read;
	if (perms & SLPT_WRITE)
		e |= f->write;
	e |= (perms & SLPT_EXECUTE) ? f->execute : f->execute_disable;
	if (level > 1)
		e |= f->large;
	return e;
}

int slpt_init(struct slpt *t)
{
	t->tables = t->mapped_4k = t->mapped_2m = t->mapped_1g = 0;
	t->root = t->alloc_page(t->ctx);
	if (!t->root)
		return -1;
	t->tables = 1;
	return 0;
}

static bool level_allowed(const struct slpt *t, int level)
{
	return level == 1 || (level == 2 && t->format.page_2m) || (level == 3 && t->format.page_1g);
}

/* The largest level whose page fits at gpa/hpa with 'remaining' bytes left. */
static int best_level(const struct slpt *t, u64 gpa, u64 hpa, u64 remaining)
{
	for (int level = 3; level > 1; level--) {
		u64 size = LEVEL_SIZE(level);
		if (level_allowed(t, level) && IS_ALIGNED(gpa | hpa, size) && remaining >= size)
			return level;
	}
	return 1;
}

static int map_one(struct slpt *t, u64 gpa, u64 hpa, unsigned perms, int level)
{
	u64 *table = table_ptr(t, t->root);
	for (int l = SLPT_LEVELS; l > level; l--) {
		u64 *entry = &table[INDEX(gpa, l)];
		if (!(*entry & t->format.present_mask)) {
			u64 page = t->alloc_page(t->ctx);
			if (!page)
				return -1;
			t->tables++;
			*entry = page | t->format.table_flags;
		} else if (l <= 3 && (*entry & t->format.large)) {
			return -1; /* already mapped by a large page */
		}
		table = table_ptr(t, *entry & ADDRESS_MASK);
	}
	u64 *leaf = &table[INDEX(gpa, level)];
	if (*leaf & t->format.present_mask)
		return -1;
	*leaf = leaf_entry(t, hpa, perms, level);
	if (level == 3)
		t->mapped_1g++;
	else if (level == 2)
		t->mapped_2m++;
	else
		t->mapped_4k++;
	return 0;
}

int slpt_map(struct slpt *t, u64 gpa, u64 hpa, u64 size, unsigned perms)
{
	/* Write- or execute-only mappings are EPT misconfigurations and not expressible in NPT. */
	if (!(perms & SLPT_READ))
		return -1;
	if (!IS_ALIGNED(gpa | hpa | size, PAGE_SIZE) || gpa + size < gpa || gpa + size > BIT(48) ||
	    hpa + size < hpa || hpa + size > BIT(52)) /* 4 levels: 48-bit gpa, 52-bit hpa */
		return -1;
	while (size) {
		int level = best_level(t, gpa, hpa, size);
		if (map_one(t, gpa, hpa, perms, level))
			return -1;
		gpa += LEVEL_SIZE(level);
		hpa += LEVEL_SIZE(level);
		size -= LEVEL_SIZE(level);
	}
	return 0;
}

int slpt_map_regions(struct slpt *t, const struct memmap *map, u64 gpa, u64 size)
{
	for (unsigned i = 0; i < map->count; i++) {
		const struct memmap_region *r = &map->region[i];
		u64 start = MAX(gpa, r->gpa), end = MIN(gpa + size, r->gpa + r->size);
		if (start < end && slpt_map(t, start, r->hpa + (start - r->gpa), end - start, SLPT_RWX))
			return -1;
	}
	return 0;
}

static unsigned entry_permissions(const struct slpt_format *f, u64 e)
{
	unsigned p = 0;
	if ((e & f->read) == f->read)
		p |= SLPT_READ;
	if (e & f->write)
		p |= SLPT_WRITE;
	if (f->execute ? (e & f->execute) : !(e & f->execute_disable))
		p |= SLPT_EXECUTE;
	return p;
}

bool slpt_lookup(const struct slpt *t, u64 gpa, u64 *hpa, unsigned *perms, u64 *page_size)
{
	if (gpa >= BIT(48))
		return false;
	const u64 *table = table_ptr(t, t->root);
	for (int level = SLPT_LEVELS; level >= 1; level--) {
		u64 e = table[INDEX(gpa, level)];
		if (!(e & t->format.present_mask))
			return false;
		if (level == 1 || (level <= 3 && (e & t->format.large))) {
			u64 size = LEVEL_SIZE(level);
			*hpa = (e & ADDRESS_MASK & ~(size - 1)) | (gpa & (size - 1));
			*perms = entry_permissions(&t->format, e);
			*page_size = size;
			return true;
		}
		table = table_ptr(t, e & ADDRESS_MASK);
	}
	return false;
}

static void free_level(struct slpt *t, u64 table_phys, int level)
{
	u64 *table = table_ptr(t, table_phys);
	for (int i = 0; level > 1 && i < ENTRIES_PER_TABLE; i++) {
		u64 e = table[i];
		if ((e & t->format.present_mask) && !(level <= 3 && (e & t->format.large)))
			free_level(t, e & ADDRESS_MASK, level - 1);
	}
	t->free_page(t->ctx, table_phys);
	t->tables--;
}

void slpt_destroy(struct slpt *t)
{
	if (t->root)
		free_level(t, t->root, SLPT_LEVELS);
	t->root = 0;
}
