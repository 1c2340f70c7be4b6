/*
 * Unit tests for the second-level page tables (arch/x86/ept_npt.c).
 *
 * Tables are built over a fake physical memory (table pages are host pages
 * named by made-up physical addresses with high bits set) and then walked
 * by a walker written here from the manuals, independently of slpt_lookup:
 *   EPT (SDM Vol. 3C 29.3.2): bit 0 read, 1 write, 2 execute; leaves carry
 *     the memory type in bits 5:3 (6 = WB) and ignore-PAT in bit 6; bit 7
 *     marks a 2 MiB (PDE) or 1 GiB (PDPTE) page; non-leaf bits 7:3 are
 *     reserved.
 *   NPT (APM Vol. 2 15.25, 5.3): ordinary long-mode entries: bit 0 present,
 *     1 writable, 2 user (nested walks are user accesses), 3 PWT, 4 PCD,
 *     7 PS, 12 PAT in large leaves, 63 NX.
 * Expected page counts come from the region numbers, worked out by hand in
 * the comments beside each map.
 */
#include "tests/unit/host_support.h"
#include "arch/x86/ept_npt.c"
#include "vmm/memmap.c"
#include "vmm/pc_memory.c"

#include <string.h>

/* ---- Fake physical memory for table pages ---- */

#define POOL_PAGES 8192
/* High bits set so an address mask that drops bits 32-51 shows up. */
#define FAKE_PHYS_BASE 0x000fedc000000000ULL
#define FAKE_PHYS_STRIDE 0x3000ULL /* not contiguous */
#define UNLIMITED (-1L)

struct fake_phys {
	void *host[POOL_PAGES];
	unsigned frees[POOL_PAGES];
	unsigned allocated; /* pages handed out */
	unsigned alloc_calls;
	long budget;        /* allocations still allowed, or UNLIMITED */
	unsigned bad_frees; /* frees of addresses never handed out */
};

static struct fake_phys fp;

static u64 fake_phys_of(unsigned index) { return FAKE_PHYS_BASE + index * FAKE_PHYS_STRIDE; }

static bool fake_index(u64 phys, unsigned *index)
{
	if (phys < FAKE_PHYS_BASE || (phys - FAKE_PHYS_BASE) % FAKE_PHYS_STRIDE)
		return false;
	u64 i = (phys - FAKE_PHYS_BASE) / FAKE_PHYS_STRIDE;
	if (i >= fp.allocated)
		return false;
	*index = (unsigned)i;
	return true;
}

static u64 fake_alloc(void *ctx)
{
	assert_ptr_equal(ctx, &fp);
	fp.alloc_calls++;
	if (fp.budget == 0)
		return 0;
	if (fp.budget > 0)
		fp.budget--;
	assert_true(fp.allocated < POOL_PAGES);
	void *page = aligned_alloc(PAGE_SIZE, PAGE_SIZE);
	assert_non_null(page);
	memset(page, 0, PAGE_SIZE);
	fp.host[fp.allocated] = page;
	return fake_phys_of(fp.allocated++);
}

static void fake_free(void *ctx, u64 phys)
{
	unsigned i;
	assert_ptr_equal(ctx, &fp);
	if (!fake_index(phys, &i)) {
		fp.bad_frees++;
		return;
	}
	fp.frees[i]++;
}

static void *fake_ptr(void *ctx, u64 phys)
{
	unsigned i;
	assert_ptr_equal(ctx, &fp);
	if (!fake_index(phys, &i))
		fail_msg("phys_to_ptr(0x%llx): not a table page", (unsigned long long)phys);
	if (fp.frees[i])
		fail_msg("phys_to_ptr(0x%llx): page already freed", (unsigned long long)phys);
	return fp.host[i];
}

static int reset_pool(void **state)
{
	(void)state;
	memset(&fp, 0, sizeof(fp));
	fp.budget = UNLIMITED;
	return 0;
}

static int free_pool(void **state)
{
	(void)state;
	for (unsigned i = 0; i < fp.allocated; i++)
		free(fp.host[i]);
	memset(&fp, 0, sizeof(fp));
	return 0;
}

static u64 *table_at(u64 phys) { return fake_ptr(&fp, phys); }

/* ---- Setup and teardown of one table ---- */

static void new_tables(struct slpt *t, bool ept, bool page_2m, bool page_1g)
{
	memset(t, 0, sizeof(*t));
	t->format = ept ? ept_format : npt_format;
	t->format.page_2m = page_2m;
	t->format.page_1g = page_1g;
	t->alloc_page = fake_alloc;
	t->free_page = fake_free;
	t->phys_to_ptr = fake_ptr;
	t->ctx = &fp;
	assert_int_equal(slpt_init(t), 0);
	assert_int_not_equal(t->root, 0);
}

/* Destroy frees every page handed out exactly once, and nothing else. */
static void destroy_and_check(struct slpt *t)
{
	slpt_destroy(t);
	assert_int_equal(t->root, 0);
	assert_int_equal(t->tables, 0);
	assert_int_equal(fp.bad_frees, 0);
	for (unsigned i = 0; i < fp.allocated; i++)
		if (fp.frees[i] != 1)
			fail_msg("table page %u (0x%llx) freed %u times", i,
				 (unsigned long long)fake_phys_of(i), fp.frees[i]);
	/* A second destroy is harmless. */
	slpt_destroy(t);
	for (unsigned i = 0; i < fp.allocated; i++)
		assert_int_equal(fp.frees[i], 1);
	assert_int_equal(fp.bad_frees, 0);
}

/* ---- The walker written from the manuals ---- */

#define ADDR_BITS 0x000ffffffffff000ULL
#define BIT7 BIT(7)
#define NPT_P BIT(0)
#define NPT_W BIT(1)
#define NPT_U BIT(2)
#define NPT_NX BIT(63)
#define EPT_R BIT(0)
#define EPT_W BIT(1)
#define EPT_X BIT(2)
#define EPT_WB (6ULL << 3)
#define EPT_IPAT BIT(6)
#define GPA_LIMIT (1ULL << 48) /* 4-level tables translate 48-bit addresses */

static u64 level_bytes(int level) { return 1ULL << (12 + 9 * (level - 1)); }

static bool entry_present(bool ept, u64 e) { return ept ? (e & 7) != 0 : (e & NPT_P) != 0; }

static void check_table_entry(bool ept, u64 e, int level)
{
	/* EPT: RWX=7 and bits 7:3 reserved; NPT: P, W, U, no PWT/PCD/PS, no NX. */
	if ((e & ~ADDR_BITS) != 7)
		fail_msg("%s level-%d table entry 0x%llx has stray bits", ept ? "EPT" : "NPT", level,
			 (unsigned long long)e);
}

/* Checks a leaf's format and decodes its permissions. */
static unsigned check_leaf_entry(bool ept, u64 e, int level)
{
	u64 size = level_bytes(level);
	u64 large = level > 1 ? BIT7 : 0;
	unsigned perms = 0;
	if ((e & ADDR_BITS) & (size - 1))
		fail_msg("level-%d leaf 0x%llx: address not aligned to its page (PAT/reserved bits set)",
			 level, (unsigned long long)e);
	if (ept) {
		if (e & EPT_R)
			perms |= SLPT_READ;
		if (e & EPT_W)
			perms |= SLPT_WRITE;
		if (e & EPT_X)
			perms |= SLPT_EXECUTE;
		u64 want_low = (e & 7) | EPT_WB | EPT_IPAT | large;
		if ((e & ~ADDR_BITS) != want_low)
			fail_msg("EPT level-%d leaf 0x%llx: low bits want 0x%llx", level,
				 (unsigned long long)e, (unsigned long long)want_low);
		/* Write without read is an EPT misconfiguration (SDM 29.3.3.1). */
		if ((e & EPT_W) && !(e & EPT_R))
			fail_msg("EPT leaf 0x%llx is write-only", (unsigned long long)e);
	} else {
		if ((e & (NPT_P | NPT_U)) == (NPT_P | NPT_U))
			perms |= SLPT_READ;
		if (e & NPT_W)
			perms |= SLPT_WRITE;
		if (!(e & NPT_NX))
			perms |= SLPT_EXECUTE;
		u64 want_low = NPT_P | NPT_U | (e & NPT_W) | large; /* PWT=PCD=PAT=0: WB */
		if ((e & 0xfffULL) != want_low)
			fail_msg("NPT level-%d leaf 0x%llx: low bits want 0x%llx", level,
				 (unsigned long long)e, (unsigned long long)want_low);
		if (e & 0x7ff0000000000000ULL)
			fail_msg("NPT leaf 0x%llx: bits 62:52 set", (unsigned long long)e);
	}
	return perms;
}

struct xlat {
	u64 hpa, page_size;
	unsigned perms;
};

static bool walk(bool ept, u64 root, u64 gpa, struct xlat *x)
{
	if (gpa >= GPA_LIMIT)
		return false;
	u64 table = root;
	for (int level = 4; level >= 1; level--) {
		u64 e = table_at(table)[(gpa >> (12 + 9 * (level - 1))) & 511];
		if (!entry_present(ept, e))
			return false;
		bool leaf = level == 1 || ((level == 2 || level == 3) && (e & BIT7));
		if (!leaf) {
			check_table_entry(ept, e, level);
			table = e & ADDR_BITS;
			continue;
		}
		x->perms = check_leaf_entry(ept, e, level);
		x->page_size = level_bytes(level);
		x->hpa = (e & ADDR_BITS) + (gpa & (x->page_size - 1));
		return true;
	}
	return false;
}

/* ---- What a map should look like ---- */

struct region {
	u64 gpa, hpa, size;
	unsigned perms;
};

struct counts {
	u64 n4k, n2m, n1g, tables;
};

static const struct region *region_of(const struct region *r, unsigned n, u64 gpa)
{
	for (unsigned i = 0; i < n; i++)
		if (gpa >= r[i].gpa && gpa - r[i].gpa < r[i].size)
			return &r[i];
	return NULL;
}

/* The largest page the spec allows at gpa: a naturally aligned block that
 * lies wholly inside the region with gpa and hpa equally aligned. */
static u64 allowed_page_size(const struct region *r, u64 gpa, bool page_2m, bool page_1g)
{
	static const u64 sizes[] = { GiB, 2 * MiB };
	for (unsigned k = 0; k < 2; k++) {
		u64 s = sizes[k];
		if ((s == GiB && !page_1g) || (s == 2 * MiB && !page_2m))
			continue;
		if ((r->hpa - r->gpa) & (s - 1))
			continue;
		u64 block = gpa & ~(s - 1);
		if (block >= r->gpa && block + s <= r->gpa + r->size)
			return s;
	}
	return PAGE_SIZE;
}

/* Every 4 KiB page of every region, by the walker and by slpt_lookup. */
static void check_regions(const struct slpt *t, const struct region *r, unsigned n)
{
	bool ept = t->format.execute != 0;
	for (unsigned i = 0; i < n; i++) {
		for (u64 off = 0; off < r[i].size; off += PAGE_SIZE) {
			u64 gpa = r[i].gpa + off;
			u64 byte = (off / PAGE_SIZE * 0x2a8) & 0xfff; /* some offset in the page */
			struct xlat x;
			if (!walk(ept, t->root, gpa + byte, &x))
				fail_msg("region %u: gpa 0x%llx not mapped", i, (unsigned long long)gpa);
			if (x.hpa != r[i].hpa + off + byte)
				fail_msg("gpa 0x%llx -> 0x%llx, want 0x%llx", (unsigned long long)(gpa + byte),
					 (unsigned long long)x.hpa,
					 (unsigned long long)(r[i].hpa + off + byte));
			assert_int_equal(x.perms, r[i].perms);
			u64 want_size = allowed_page_size(&r[i], gpa, t->format.page_2m, t->format.page_1g);
			if (x.page_size != want_size)
				fail_msg("gpa 0x%llx in a 0x%llx page, want 0x%llx", (unsigned long long)gpa,
					 (unsigned long long)x.page_size, (unsigned long long)want_size);
			u64 hpa = 0, size = 0;
			unsigned perms = 0;
			assert_true(slpt_lookup(t, gpa + byte, &hpa, &perms, &size));
			assert_int_equal(hpa, x.hpa);
			assert_int_equal(perms, x.perms);
			assert_int_equal(size, x.page_size);
		}
	}
}

static void check_one_gpa(const struct slpt *t, const struct region *r, unsigned n, u64 gpa)
{
	bool ept = t->format.execute != 0;
	const struct region *in = region_of(r, n, gpa);
	struct xlat x;
	u64 hpa, size;
	unsigned perms;
	bool walked = walk(ept, t->root, gpa, &x);
	bool looked = slpt_lookup(t, gpa, &hpa, &perms, &size);
	if (!in) {
		if (walked || looked)
			fail_msg("unmapped gpa 0x%llx translates (walker %d, slpt_lookup %d)",
				 (unsigned long long)gpa, walked, looked);
		return;
	}
	assert_true(walked);
	assert_true(looked);
	assert_int_equal(x.hpa, in->hpa + (gpa - in->gpa));
	assert_int_equal(hpa, x.hpa);
}

/* Holes and ends: 2 MiB either side of every region, page by page, and far probes. */
static void check_surroundings(const struct slpt *t, const struct region *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		u64 lo = r[i].gpa >= 2 * MiB ? r[i].gpa - 2 * MiB : 0;
		for (u64 gpa = lo; gpa < r[i].gpa; gpa += PAGE_SIZE)
			check_one_gpa(t, r, n, gpa);
		u64 end = r[i].gpa + r[i].size;
		for (u64 gpa = end; gpa < end + 2 * MiB && gpa < GPA_LIMIT; gpa += PAGE_SIZE)
			check_one_gpa(t, r, n, gpa);
	}
	for (u64 g = 0; g < 16; g++)
		check_one_gpa(t, r, n, g * GiB);
	for (u64 g = 1; g < 512; g <<= 1)
		check_one_gpa(t, r, n, g * 512 * GiB);
	check_one_gpa(t, r, n, GPA_LIMIT - PAGE_SIZE);
	check_one_gpa(t, r, n, GPA_LIMIT - 2 * MiB);
	check_one_gpa(t, r, n, GPA_LIMIT - GiB);
}

/* The whole tree: every entry well-formed, every leaf inside a region with
 * the right translation, counts by level, table pages, bytes mapped. */
struct tree_stats {
	u64 leaves[4], tables, bytes;
};

static void visit(const struct slpt *t, const struct region *r, unsigned n, u64 table, int level,
		  u64 base, struct tree_stats *s)
{
	bool ept = t->format.execute != 0;
	const u64 *entries = table_at(table);
	s->tables++;
	for (unsigned i = 0; i < 512; i++) {
		u64 e = entries[i];
		u64 gpa = base + i * level_bytes(level);
		if (!entry_present(ept, e)) {
			if (e)
				fail_msg("non-present entry 0x%llx is not zero", (unsigned long long)e);
			continue;
		}
		if (level == 1 || ((level == 2 || level == 3) && (e & BIT7))) {
			unsigned perms = check_leaf_entry(ept, e, level);
			const struct region *in = region_of(r, n, gpa);
			u64 size = level_bytes(level);
			if (!in || gpa + size > in->gpa + in->size)
				fail_msg("leaf at gpa 0x%llx (size 0x%llx) is outside every region",
					 (unsigned long long)gpa, (unsigned long long)size);
			assert_int_equal(e & ADDR_BITS, in->hpa + (gpa - in->gpa));
			assert_int_equal(perms, in->perms);
			s->leaves[level]++;
			s->bytes += size;
		} else {
			check_table_entry(ept, e, level);
			visit(t, r, n, e & ADDR_BITS, level - 1, gpa, s);
		}
	}
}

static void check_tree(const struct slpt *t, const struct region *r, unsigned n, struct counts want)
{
	struct tree_stats s = { 0 };
	visit(t, r, n, t->root, 4, 0, &s);
	u64 total = 0;
	for (unsigned i = 0; i < n; i++)
		total += r[i].size;
	assert_int_equal(s.bytes, total);
	assert_int_equal(s.leaves[1], want.n4k);
	assert_int_equal(s.leaves[2], want.n2m);
	assert_int_equal(s.leaves[3], want.n1g);
	assert_int_equal(s.tables, want.tables);
	/* The code's own counters agree with the tree. */
	assert_int_equal(t->mapped_4k, want.n4k);
	assert_int_equal(t->mapped_2m, want.n2m);
	assert_int_equal(t->mapped_1g, want.n1g);
	assert_int_equal(t->tables, want.tables);
	assert_int_equal(fp.allocated, want.tables);
}

static void map_all(struct slpt *t, const struct region *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (slpt_map(t, r[i].gpa, r[i].hpa, r[i].size, r[i].perms))
			fail_msg("slpt_map of region %u [0x%llx, +0x%llx) -> 0x%llx failed", i,
				 (unsigned long long)r[i].gpa, (unsigned long long)r[i].size,
				 (unsigned long long)r[i].hpa);
}

static void build_and_check(bool ept, bool page_2m, bool page_1g, const struct region *r, unsigned n,
			    struct counts want)
{
	struct slpt t;
	reset_pool(NULL);
	new_tables(&t, ept, page_2m, page_1g);
	map_all(&t, r, n);
	check_tree(&t, r, n, want);
	check_regions(&t, r, n);
	check_surroundings(&t, r, n);
	destroy_and_check(&t);
	free_pool(NULL);
}

static void both_formats(bool page_2m, bool page_1g, const struct region *r, unsigned n,
			 struct counts want)
{
	build_and_check(true, page_2m, page_1g, r, n, want);
	build_and_check(false, page_2m, page_1g, r, n, want);
}

/* ---- Maps ---- */

#define BASE_2M_ALIGNED 0x80000000ULL  /* 2 GiB: 2 MiB and 1 GiB aligned */
#define BASE_4K_OFFSET (BASE_2M_ALIGNED + 0x1000)

/* RAM [0, 640 KiB) + [1 MiB, 512 MiB), hpa = base + gpa. */
static void low_map(struct region r[2], u64 base)
{
	r[0] = (struct region){ 0, base, 640 * KiB, SLPT_RWX };
	r[1] = (struct region){ 1 * MiB, base + 1 * MiB, 511 * MiB, SLPT_RWX };
}

/*
 * 2 MiB-aligned base: [0, 640K) is 160 4 KiB pages; [1M, 2M) 256 4 KiB
 * pages; [2M, 512M) 255 2 MiB pages. Tables: PML4, PDPT, one PD, one PT
 * (for [0, 2M)) = 4. 1 GiB pages change nothing (no whole GiB mapped).
 */
static void test_low_map_2m_aligned(void **state)
{
	(void)state;
	struct region r[2];
	low_map(r, BASE_2M_ALIGNED);
	struct counts want = { 160 + 256, 255, 0, 4 };
	both_formats(true, false, r, 2, want);
	both_formats(true, true, r, 2, want);
}

/*
 * hpa offset by 4 KiB: gpa and hpa are never both 2 MiB aligned, so
 * 160 + 511 MiB / 4 KiB = 160 + 130816 pages of 4 KiB. Tables: PML4,
 * PDPT, PD and one PT per 2 MiB of [0, 512M) = 256: 259.
 */
static void test_low_map_unaligned_hpa(void **state)
{
	(void)state;
	struct region r[2];
	low_map(r, BASE_4K_OFFSET);
	struct counts want = { 160 + 130816, 0, 0, 259 };
	both_formats(true, true, r, 2, want);
}

/* The same map with 2 MiB pages not supported: all 4 KiB, 259 tables. */
static void test_low_map_no_large_pages(void **state)
{
	(void)state;
	struct region r[2];
	low_map(r, BASE_2M_ALIGNED);
	struct counts want = { 160 + 130816, 0, 0, 259 };
	both_formats(false, false, r, 2, want);
}

/*
 * The map vm.c builds: RAM [0, 0x9f000), EBDA [0x9f000, 0xa0000),
 * BIOS [0xf0000, 0x100000), RAM [1M, 512M); read-only BIOS to vary the
 * permissions. 4 KiB pages: 159 + 1 + 16 + 256 = 432; 2 MiB: 255; tables 4.
 */
static void test_vm_style_map(void **state)
{
	(void)state;
	const u64 b = BASE_2M_ALIGNED;
	const struct region r[] = {
		{ 0, b, 0x9f000, SLPT_RWX },
		{ 0x9f000, b + 0x9f000, 0x1000, SLPT_READ | SLPT_WRITE },
		{ 0xf0000, b + 0xf0000, 0x10000, SLPT_READ | SLPT_EXECUTE },
		{ 1 * MiB, b + 1 * MiB, 511 * MiB, SLPT_RWX },
	};
	struct counts want = { 432, 255, 0, 4 };
	both_formats(true, false, r, 4, want);
}

/*
 * 3 GiB guest: RAM [0, 640K) + [1M, 3G), hpa = 4 GiB + gpa (1 GiB aligned).
 * With 1 GiB pages: 416 4 KiB, [2M, 1G) 511 2 MiB, [1G, 3G) two 1 GiB;
 * tables PML4, PDPT, PD[0], PT[0] = 4.
 * Without: [2M, 3G) is 1535 2 MiB pages; tables PML4, PDPT, 3 PDs, 1 PT = 6.
 */
static void three_gib_map(struct region r[2], u64 base)
{
	r[0] = (struct region){ 0, base, 640 * KiB, SLPT_RWX };
	r[1] = (struct region){ 1 * MiB, base + 1 * MiB, 3 * GiB - 1 * MiB, SLPT_RWX };
}

static void test_three_gib_with_1g_pages(void **state)
{
	(void)state;
	struct region r[2];
	three_gib_map(r, 4 * GiB);
	both_formats(true, true, r, 2, (struct counts){ 416, 511, 2, 4 });
}

static void test_three_gib_without_1g_pages(void **state)
{
	(void)state;
	struct region r[2];
	three_gib_map(r, 4 * GiB);
	both_formats(true, false, r, 2, (struct counts){ 416, 1535, 0, 6 });
}

/* 1 GiB pages supported but hpa only 2 MiB aligned: none used. */
static void test_three_gib_hpa_not_1g_aligned(void **state)
{
	(void)state;
	struct region r[2];
	three_gib_map(r, 4 * GiB + 2 * MiB);
	both_formats(true, true, r, 2, (struct counts){ 416, 1535, 0, 6 });
}

/*
 * gpa and hpa 1 GiB aligned, different permissions:
 *   A [1G, 2G)            -> 3G,  RW : one 1 GiB page
 *   B [4G, 6G + 2M + 8K)  -> 8G,  RX : two 1 GiB, one 2 MiB, two 4 KiB
 *   C [511G, 513G)        -> 16G, R  : two 1 GiB across PML4 entries 0 and 1
 *   D [2^48 - 1G, 2^48)   -> 32G, RWX: one 1 GiB in PML4 entry 511
 * With 1 GiB pages: tables PML4 + PDPTs under PML4[0], [1], [511] + PD and
 * PT for B's tail at 6G = 6.
 * Without: each 1 GiB becomes 512 2 MiB pages (3072 + 1); PDs: A 1, B 3,
 * C 2, D 1 = 7; tables 1 + 3 + 7 + 1 = 12.
 */
static const struct region gib_regions[] = {
	{ 1 * GiB, 3 * GiB, 1 * GiB, SLPT_READ | SLPT_WRITE },
	{ 4 * GiB, 8 * GiB, 2 * GiB + 2 * MiB + 8 * KiB, SLPT_READ | SLPT_EXECUTE },
	{ 511 * GiB, 16 * GiB, 2 * GiB, SLPT_READ },
	{ (1ULL << 48) - 1 * GiB, 32 * GiB, 1 * GiB, SLPT_RWX },
};

static void test_gib_aligned_regions_with_1g_pages(void **state)
{
	(void)state;
	both_formats(true, true, gib_regions, 4, (struct counts){ 2, 1, 6, 6 });
}

static void test_gib_aligned_regions_without_1g_pages(void **state)
{
	(void)state;
	both_formats(true, false, gib_regions, 4, (struct counts){ 2, 3073, 0, 12 });
}

/* ---- Exact entries, from the manuals' bit layouts ---- */

static u64 raw_entry(const struct slpt *t, u64 gpa, int leaf_level)
{
	u64 table = t->root;
	for (int level = 4; level > leaf_level; level--)
		table = table_at(table)[(gpa >> (12 + 9 * (level - 1))) & 511] & ADDR_BITS;
	return table_at(table)[(gpa >> (12 + 9 * (leaf_level - 1))) & 511];
}

static void test_exact_entries(void **state)
{
	(void)state;
	static const unsigned perms[] = { SLPT_RWX, SLPT_READ | SLPT_WRITE, SLPT_READ | SLPT_EXECUTE,
					  SLPT_READ };
	/* EPT: R=1 W=2 X=4, WB=0x30, IPAT=0x40, large=0x80. */
	static const u64 ept_low[] = { 0x77, 0x73, 0x75, 0x71 };
	/* NPT: P=1 W=2 U=4, NX=bit 63. */
	static const u64 npt_bits[] = { 0x7, 0x7 | NPT_NX, 0x5, 0x5 | NPT_NX };
	for (int ept = 0; ept <= 1; ept++) {
		struct slpt t;
		new_tables(&t, ept, true, true);
		for (unsigned i = 0; i < 4; i++) {
			u64 g4k = 0x10000 + i * PAGE_SIZE, h4k = 0xabcdef000ULL + i * PAGE_SIZE;
			u64 g2m = 0x40000000ULL + i * 2 * MiB, h2m = 0x7fe00000ULL + i * 2 * MiB * 3;
			u64 g1g = (8 + i) * GiB, h1g = (0x1000ULL + 2 * i) * GiB; /* hpa bits up to 41 */
			assert_int_equal(slpt_map(&t, g4k, h4k, PAGE_SIZE, perms[i]), 0);
			assert_int_equal(slpt_map(&t, g2m, h2m, 2 * MiB, perms[i]), 0);
			assert_int_equal(slpt_map(&t, g1g, h1g, GiB, perms[i]), 0);
			if (ept) {
				assert_int_equal(raw_entry(&t, g4k, 1), h4k | ept_low[i]);
				assert_int_equal(raw_entry(&t, g2m, 2), h2m | ept_low[i] | 0x80);
				assert_int_equal(raw_entry(&t, g1g, 3), h1g | ept_low[i] | 0x80);
			} else {
				assert_int_equal(raw_entry(&t, g4k, 1), h4k | npt_bits[i]);
				assert_int_equal(raw_entry(&t, g2m, 2), h2m | npt_bits[i] | 0x80);
				assert_int_equal(raw_entry(&t, g1g, 3), h1g | npt_bits[i] | 0x80);
			}
			/* Tables above the leaves: RWX (EPT) / P+W+U (NPT) = 7. */
			assert_int_equal(table_at(t.root)[0] & ~ADDR_BITS, 7);
			u64 hpa, size;
			unsigned p;
			assert_true(slpt_lookup(&t, g2m + 0x12345, &hpa, &p, &size));
			assert_int_equal(hpa, h2m + 0x12345);
			assert_int_equal(p, perms[i]);
			assert_int_equal(size, 2 * MiB);
			assert_true(slpt_lookup(&t, g1g + 0x3456789, &hpa, &p, &size));
			assert_int_equal(hpa, h1g + 0x3456789);
			assert_int_equal(size, GiB);
		}
		destroy_and_check(&t);
		free_pool(NULL);
		reset_pool(NULL);
	}
}

/* ---- Errors ---- */

static void snapshot_counts(const struct slpt *t, struct counts *c)
{
	*c = (struct counts){ t->mapped_4k, t->mapped_2m, t->mapped_1g, t->tables };
}

static void test_double_mapping_fails(void **state)
{
	(void)state;
	for (int ept = 0; ept <= 1; ept++) {
		struct region r[2];
		struct slpt t;
		struct counts before;
		low_map(r, BASE_2M_ALIGNED);
		new_tables(&t, ept, true, true);
		map_all(&t, r, 2);
		snapshot_counts(&t, &before);
		const u64 b = BASE_2M_ALIGNED;
		static const struct {
			u64 gpa, hpa_off, size;
		} again[] = {
			{ 1 * MiB, 0, 511 * MiB },          /* the same range */
			{ 2 * MiB, 0, 2 * MiB },            /* a 2 MiB page over a 2 MiB page */
			{ 4 * MiB + 4 * KiB, 0x1000, 4 * KiB }, /* 4 KiB inside a 2 MiB page */
			{ 1 * MiB + 4 * KiB, 0, 4 * KiB },  /* a 4 KiB page over a 4 KiB page */
			{ 0, 0, 2 * MiB },                  /* a 2 MiB page over a page table */
			{ 0, 0, 1 * GiB },                  /* a 1 GiB page over a page directory */
			{ 510 * MiB, 0, 4 * MiB },          /* straddles the end */
			{ 0x9f000, 0, 0x1000 },             /* last page of [0, 640K) */
		};
		for (unsigned i = 0; i < ARRAY_SIZE(again); i++) {
			if (slpt_map(&t, again[i].gpa, b + again[i].gpa + again[i].hpa_off, again[i].size,
				     SLPT_READ) != -1)
				fail_msg("re-mapping case %u succeeded", i);
			struct counts now;
			snapshot_counts(&t, &now);
			assert_memory_equal(&now, &before, sizeof(now));
		}
		/* A range that starts in a hole and runs into a mapping fails too;
		 * the existing mapping is untouched. */
		assert_int_equal(slpt_map(&t, 640 * KiB, b + 640 * KiB, 384 * KiB + 4 * KiB, SLPT_READ), -1);
		struct region r_after[2];
		memcpy(r_after, r, sizeof(r_after));
		check_regions(&t, r_after, 2);
		destroy_and_check(&t);
		free_pool(NULL);
		reset_pool(NULL);
	}
}

static void test_bad_arguments_fail(void **state)
{
	(void)state;
	for (int ept = 0; ept <= 1; ept++) {
		struct slpt t;
		new_tables(&t, ept, true, true);
		unsigned calls = fp.alloc_calls;
		static const struct {
			u64 gpa, hpa, size;
		} bad[] = {
			{ 0x1001, 0x1000, 0x1000 },
			{ 0x1000, 0x1800, 0x1000 },
			{ 0x1000, 0x1000, 0x1001 },
			{ 0x1000, 0x1000, 0x800 },
			{ 0x200000, 0x200000, 0x200000 - 1 },
			{ 0x40000000, 0x40000000, 0x40000000 + 0x10 },
			{ 0xfffffffffffff000ULL, 0x1000, 0x2000 },  /* gpa + size wraps */
			{ 1ULL << 48, 0x1000, 0x1000 },             /* beyond a 4-level walk */
			{ (1ULL << 48) - 0x1000, 0x1000, 0x2000 },  /* runs past 2^48 */
			{ 0x5000, 1ULL << 52, 0x1000 },             /* hpa beyond 52 bits */
			{ 0x5000, (1ULL << 52) - 0x1000, 0x2000 },  /* hpa runs past 2^52 */
			{ 0x5000, 0xfffffffffffff000ULL, 0x2000 },  /* hpa + size wraps */
		};
		for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
			if (slpt_map(&t, bad[i].gpa, bad[i].hpa, bad[i].size, SLPT_RWX) != -1)
				fail_msg("bad case %u (gpa 0x%llx hpa 0x%llx size 0x%llx) accepted", i,
					 (unsigned long long)bad[i].gpa, (unsigned long long)bad[i].hpa,
					 (unsigned long long)bad[i].size);
		}
		/* Nothing was allocated or mapped; gpa 0 (where 2^48 would alias) is empty. */
		assert_int_equal(fp.alloc_calls, calls);
		assert_int_equal(t.tables, 1);
		assert_int_equal(t.mapped_4k + t.mapped_2m + t.mapped_1g, 0);
		for (unsigned i = 0; i < 512; i++)
			assert_int_equal(table_at(t.root)[i], 0);
		u64 hpa, size;
		unsigned p;
		assert_false(slpt_lookup(&t, 0, &hpa, &p, &size));
		/* A gpa beyond 48 bits never aliases a mapped low gpa. */
		assert_int_equal(slpt_map(&t, 0, 0x1000, 0x1000, SLPT_RWX), 0);
		assert_false(slpt_lookup(&t, 1ULL << 48, &hpa, &p, &size));
		assert_false(slpt_lookup(&t, 0xffff000000000000ULL, &hpa, &p, &size));
		destroy_and_check(&t);
		free_pool(NULL);
		reset_pool(NULL);
	}
}

/* For every budget short of what a map needs, slpt_map fails, the
 * partial tree stays well-formed and destroy frees every page once. */
static void oom_sweep(bool ept, const struct region *r, unsigned n, bool page_1g, unsigned needed,
		      const unsigned *budgets, unsigned budget_count)
{
	for (unsigned k = 0; k < budget_count; k++) {
		unsigned budget = budgets[k];
		struct slpt t;
		reset_pool(NULL);
		memset(&t, 0, sizeof(t));
		t.format = ept ? ept_format : npt_format;
		t.format.page_1g = page_1g;
		t.alloc_page = fake_alloc;
		t.free_page = fake_free;
		t.phys_to_ptr = fake_ptr;
		t.ctx = &fp;
		fp.budget = budget;
		if (budget == 0) {
			assert_int_equal(slpt_init(&t), -1);
			assert_int_equal(t.root, 0);
			slpt_destroy(&t);
			assert_int_equal(fp.bad_frees, 0);
			free_pool(NULL);
			continue;
		}
		assert_int_equal(slpt_init(&t), 0);
		int result = 0;
		for (unsigned i = 0; i < n && !result; i++)
			result = slpt_map(&t, r[i].gpa, r[i].hpa, r[i].size, r[i].perms);
		if (budget < needed) {
			if (result != -1)
				fail_msg("budget %u of %u tables: map succeeded", budget, needed);
		} else {
			assert_int_equal(result, 0);
		}
		assert_int_equal(t.tables, fp.allocated);
		/* Well-formed: every reachable table is a live page, every leaf correct. */
		struct tree_stats s = { 0 };
		visit(&t, r, n, t.root, 4, 0, &s);
		assert_int_equal(s.tables, fp.allocated);
		assert_int_equal(s.leaves[1], t.mapped_4k);
		assert_int_equal(s.leaves[2], t.mapped_2m);
		assert_int_equal(s.leaves[3], t.mapped_1g);
		destroy_and_check(&t);
		free_pool(NULL);
	}
}

static void test_out_of_memory(void **state)
{
	(void)state;
	struct region low[2], low_unaligned[2];
	low_map(low, BASE_2M_ALIGNED);
	low_map(low_unaligned, BASE_4K_OFFSET);
	static const unsigned small[] = { 0, 1, 2, 3, 4, 5 };
	static const unsigned gib[] = { 0, 1, 2, 3, 4, 5, 6, 7 };
	static const unsigned many[] = { 0, 1, 2, 3, 4, 5, 100, 258, 259, 260 };
	for (int ept = 0; ept <= 1; ept++) {
		oom_sweep(ept, low, 2, false, 4, small, ARRAY_SIZE(small));
		oom_sweep(ept, gib_regions, 4, true, 6, gib, ARRAY_SIZE(gib));
		oom_sweep(ept, low_unaligned, 2, false, 259, many, ARRAY_SIZE(many));
	}
}

/* Destroy of an empty table frees just the root; a failed init leaves nothing to free. */
/* slpt_map_regions maps only what the memory map has inside the window:
 * the first 2 MiB of a PC guest with its holes, then an aligned 2 MiB
 * chunk of plain RAM as one large page; nothing outside the windows. */
static void test_map_regions_window(void **state)
{
	(void)state;
	const u64 b = BASE_2M_ALIGNED;
	struct memmap m = { 0 };
	const struct { u64 gpa, size; } pieces[] = {
		{ 0, 0x9f000 }, { 0x9f000, 0x1000 }, { 0xc0000, 0x40000 }, { 1 * MiB, 63 * MiB },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(pieces); i++) {
		m.region[i] = (struct memmap_region){ pieces[i].gpa, pieces[i].size, MEMMAP_RAM, NULL,
						      b + pieces[i].gpa };
		m.count++;
	}
	struct slpt t;
	new_tables(&t, false, true, false);
	assert_int_equal(slpt_map_regions(&t, &m, 0, 2 * MiB), 0);
	u64 hpa, size;
	unsigned perms;
	assert_true(slpt_lookup(&t, 0x1000, &hpa, &perms, &size));
	assert_int_equal(hpa, b + 0x1000);
	assert_int_equal(perms, SLPT_RWX);
	assert_true(slpt_lookup(&t, 0x9f000, &hpa, &perms, &size));
	assert_false(slpt_lookup(&t, 0xa0000, &hpa, &perms, &size)); /* the VGA hole */
	assert_false(slpt_lookup(&t, 0xbf000, &hpa, &perms, &size));
	assert_true(slpt_lookup(&t, 0xc0000, &hpa, &perms, &size));
	assert_true(slpt_lookup(&t, 0x1ff000, &hpa, &perms, &size));
	assert_int_equal(hpa, b + 0x1ff000);
	assert_false(slpt_lookup(&t, 2 * MiB, &hpa, &perms, &size)); /* outside the window */
	assert_int_equal(slpt_map_regions(&t, &m, 4 * MiB, 2 * MiB), 0);
	assert_true(slpt_lookup(&t, 4 * MiB + 0x1234, &hpa, &perms, &size));
	assert_int_equal(hpa, b + 4 * MiB + 0x1234);
	assert_int_equal(size, 2 * MiB);
	assert_false(slpt_lookup(&t, 6 * MiB, &hpa, &perms, &size));
	assert_false(slpt_lookup(&t, 3 * MiB, &hpa, &perms, &size));
	assert_int_equal(slpt_map_regions(&t, &m, 64 * MiB, 2 * MiB), 0); /* no RAM there: nothing */
	assert_false(slpt_lookup(&t, 64 * MiB, &hpa, &perms, &size));
	assert_int_equal(slpt_map_regions(&t, &m, 0, 2 * MiB), -1); /* already mapped */
	destroy_and_check(&t);
}

/* A 6 GiB PC guest from three host runs (pc_memory.c), mapped a 2 MiB
 * chunk at a time as first touches do: every chunk below the PCI hole and
 * from 4 GiB lands in the run behind it, the hole (test page, I/O APIC,
 * local APIC) stays unmapped whatever the guest touches. */
static void test_map_regions_pc_layout_with_runs(void **state)
{
	(void)state;
	const struct pc_ram_run runs[] = {
		{ 0x200000000ULL, NULL, 4 * GiB }, { 0x40000000ULL, NULL, GiB }, { 0x600000000ULL, NULL, GiB },
	};
	struct memmap m = { 0 };
	assert_int_equal(pc_memory_build(&m, 6 * GiB, runs, ARRAY_SIZE(runs)), 0);
	for (int ept = 0; ept <= 1; ept++) {
		struct slpt t;
		new_tables(&t, ept, true, false);
		for (u64 chunk = 0; chunk < 8 * GiB; chunk += 2 * MiB)
			assert_int_equal(slpt_map_regions(&t, &m, chunk, 2 * MiB), 0);
		u64 hpa, size;
		unsigned perms;
		static const struct { u64 gpa, hpa; } expected[] = {
			{ 0x1000, 0x200001000ULL }, { 0xbffff000ULL, 0x200000000ULL + 0xbffff000ULL },
			{ 4 * GiB, 0x200000000ULL + 0xc0000000ULL }, { 5 * GiB - 0x1000, 0x2fffff000ULL },
			{ 5 * GiB, 0x40000000ULL }, { 6 * GiB + 0x2345, 0x600002345ULL },
			{ 7 * GiB - 0x1000, 0x63ffff000ULL },
		};
		for (unsigned i = 0; i < ARRAY_SIZE(expected); i++) {
			assert_true(slpt_lookup(&t, expected[i].gpa, &hpa, &perms, &size));
			assert_int_equal(hpa, expected[i].hpa);
		}
		static const u64 not_ram[] = { 0xa0000, 0xc0000000ULL, 0xfe000000ULL, 0xfec00000ULL,
					       0xfee00000ULL, 4 * GiB - 1, 7 * GiB };
		for (unsigned i = 0; i < ARRAY_SIZE(not_ram); i++)
			assert_false(slpt_lookup(&t, not_ram[i], &hpa, &perms, &size));
		destroy_and_check(&t);
	}
}

static void test_destroy_empty(void **state)
{
	(void)state;
	struct slpt t;
	new_tables(&t, true, true, false);
	assert_int_equal(t.tables, 1);
	assert_int_equal(fp.allocated, 1);
	destroy_and_check(&t);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, reset_pool, free_pool)
	const struct CMUnitTest tests[] = {
		T(test_low_map_2m_aligned),
		T(test_low_map_unaligned_hpa),
		T(test_low_map_no_large_pages),
		T(test_vm_style_map),
		T(test_three_gib_with_1g_pages),
		T(test_three_gib_without_1g_pages),
		T(test_three_gib_hpa_not_1g_aligned),
		T(test_gib_aligned_regions_with_1g_pages),
		T(test_gib_aligned_regions_without_1g_pages),
		T(test_exact_entries),
		T(test_double_mapping_fails),
		T(test_bad_arguments_fail),
		T(test_out_of_memory),
		T(test_destroy_empty),
		T(test_map_regions_window),
		T(test_map_regions_pc_layout_with_runs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
