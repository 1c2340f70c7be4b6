/*
 * Unit tests for the guest page-table walker (vmm/pagewalk.c).
 *
 * Guest page tables are built by hand in a fake guest-physical memory and
 * every expectation comes from the SDM Vol. 3A chapter 4:
 *   4.3 32-bit paging (4 KiB pages, 4 MiB pages with CR4.PSE, PSE-36:
 *       PDE bits 20:13 are physical-address bits 39:32),
 *   4.4 PAE paging (CR3 bits 31:5 locate 4 PDPTEs that carry no A bit),
 *   4.5 4-level paging (1 GiB, 2 MiB and 4 KiB pages),
 *   4.6 access rights (U/S and R/W combined over all levels, CR0.WP for
 *       supervisor writes, XD only with IA32_EFER.NXE),
 *   4.7 #PF error code: P (bit 0) = protection violation rather than a
 *       not-present entry, W/R (bit 1), U/S (bit 2), I/D (bit 4) only for
 *       fetches with CR4.PAE = 1 and IA32_EFER.NXE = 1 (SMEP is not used),
 *   4.8 accessed flags on every entry used; dirty flag on the entry that
 *       maps the page, on a write.
 * Reserved-bit faults (error bit 3) are not covered.
 */
#include "tests/unit/host_support.h"
#include "vmm/pagewalk.c"

#include <string.h>

/* Page-table and error-code bits, spelled out here rather than taken from
 * the code; the CR0/CR4/EFER bits are arch/x86/cpu.h's, their one
 * definition. */
#define P (1ULL << 0)
#define RW (1ULL << 1)
#define US (1ULL << 2)
#define PWT (1ULL << 3)
#define PCD (1ULL << 4)
#define A (1ULL << 5)
#define D (1ULL << 6)
#define PS (1ULL << 7)
#define G (1ULL << 8)
#define PAT_LARGE (1ULL << 12)
#define XD (1ULL << 63)

#define ERR_P 0x1u
#define ERR_W 0x2u
#define ERR_U 0x4u
#define ERR_ID 0x10u

/* ---- Fake guest-physical memory ---- */

#define GMEM_SIZE (16 * MiB)

static u8 *gmem;
static u8 *snapshot;
static unsigned reads, writes;
static unsigned bad_size_reads; /* entry reads of the wrong width for the mode */
static unsigned want_entry_size;

static bool mem_read(void *ctx, u64 gpa, void *value, unsigned size)
{
	assert_ptr_equal(ctx, gmem);
	reads++;
	if (want_entry_size && size != want_entry_size)
		bad_size_reads++;
	if (gpa >= GMEM_SIZE || GMEM_SIZE - gpa < size)
		return false;
	memcpy(value, gmem + gpa, size);
	return true;
}

static bool mem_write(void *ctx, u64 gpa, const void *value, unsigned size)
{
	assert_ptr_equal(ctx, gmem);
	writes++;
	if (want_entry_size)
		assert_int_equal(size, want_entry_size);
	if (gpa >= GMEM_SIZE || GMEM_SIZE - gpa < size)
		return false;
	memcpy(gmem + gpa, value, size);
	return true;
}

static int setup(void **state)
{
	(void)state;
	gmem = calloc(1, GMEM_SIZE);
	snapshot = calloc(1, GMEM_SIZE);
	assert_non_null(gmem);
	assert_non_null(snapshot);
	reads = writes = bad_size_reads = want_entry_size = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	free(gmem);
	free(snapshot);
	gmem = snapshot = NULL;
	return 0;
}

static void set32(u64 gpa, u32 v) { memcpy(gmem + gpa, &v, 4); }
static u32 get32(u64 gpa)
{
	u32 v;
	memcpy(&v, gmem + gpa, 4);
	return v;
}
static void set64(u64 gpa, u64 v) { memcpy(gmem + gpa, &v, 8); }
static u64 get64(u64 gpa)
{
	u64 v;
	memcpy(&v, gmem + gpa, 8);
	return v;
}

static void take_snapshot(void) { memcpy(snapshot, gmem, GMEM_SIZE); }

/* Memory equals the snapshot except the listed entries, which must now
 * equal snapshot | the listed bits (size 4 or 8). */
struct change {
	u64 gpa;
	u64 bits;
};

static void assert_changes(unsigned size, const struct change *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		u64 was = 0, now = 0;
		memcpy(&was, snapshot + c[i].gpa, size);
		memcpy(&now, gmem + c[i].gpa, size);
		if (now != (was | c[i].bits))
			fail_msg("entry at 0x%llx is 0x%llx, want 0x%llx", (unsigned long long)c[i].gpa,
				 (unsigned long long)now, (unsigned long long)(was | c[i].bits));
		memcpy(snapshot + c[i].gpa, &now, size); /* accounted for */
	}
	if (memcmp(snapshot, gmem, GMEM_SIZE)) {
		for (u64 i = 0; i < GMEM_SIZE; i++)
			if (snapshot[i] != gmem[i])
				fail_msg("unexpected change at gpa 0x%llx", (unsigned long long)i);
	}
}

/* ---- Environments ---- */

static struct pagewalk_env env_of(u64 cr0, u64 cr3, u64 cr4, u64 efer)
{
	return (struct pagewalk_env){ cr0, cr3, cr4, efer, mem_read, mem_write, gmem };
}

static struct pagewalk_env env_32(u64 cr3, u64 cr4, bool wp)
{
	want_entry_size = 4;
	return env_of(CR0_PE | CR0_PG | (wp ? CR0_WP : 0), cr3, cr4, 0);
}

static struct pagewalk_env env_pae(u64 cr3, bool nxe, bool wp)
{
	want_entry_size = 8;
	return env_of(CR0_PE | CR0_PG | (wp ? CR0_WP : 0), cr3, CR4_PAE,
		      nxe ? EFER_NXE : 0);
}

static struct pagewalk_env env_long(u64 cr3, bool nxe, bool wp)
{
	want_entry_size = 8;
	return env_of(CR0_PE | CR0_PG | (wp ? CR0_WP : 0), cr3, CR4_PAE,
		      EFER_LME | EFER_LMA | (nxe ? EFER_NXE : 0));
}

static const char *access_name(unsigned access)
{
	static char buf[32];
	snprintf(buf, sizeof(buf), "%s%s%s", access & WALK_USER ? "user " : "supervisor ",
		 access & WALK_FETCH ? "fetch" : access & WALK_WRITE ? "write" : "read", "");
	return buf;
}

static void expect_ok_at(int line, const struct pagewalk_env *env, u64 linear, unsigned access,
			 u64 want_gpa)
{
	u64 gpa = 0xdeadbeef;
	u32 error = 0xdead;
	enum walk_result r = guest_page_walk(env, linear, access, &gpa, &error);
	if (r != WALK_OK)
		fail_msg("line %d: %s of 0x%llx: result %d (error 0x%x), want OK -> 0x%llx", line,
			 access_name(access), (unsigned long long)linear, r, error,
			 (unsigned long long)want_gpa);
	if (gpa != want_gpa)
		fail_msg("line %d: %s of 0x%llx -> 0x%llx, want 0x%llx", line, access_name(access),
			 (unsigned long long)linear, (unsigned long long)gpa,
			 (unsigned long long)want_gpa);
	assert_int_equal(bad_size_reads, 0);
}

static void expect_fault_at(int line, const struct pagewalk_env *env, u64 linear, unsigned access,
			    u32 want_error)
{
	u64 gpa = 0;
	u32 error = 0xdead;
	enum walk_result r = guest_page_walk(env, linear, access, &gpa, &error);
	if (r != WALK_PAGE_FAULT)
		fail_msg("line %d: %s of 0x%llx: result %d (gpa 0x%llx), want #PF 0x%x", line,
			 access_name(access), (unsigned long long)linear, r, (unsigned long long)gpa,
			 want_error);
	if (error != want_error)
		fail_msg("line %d: %s of 0x%llx: #PF error 0x%x, want 0x%x", line, access_name(access),
			 (unsigned long long)linear, error, want_error);
	assert_int_equal(bad_size_reads, 0);
}

static void expect_bad_table_at(int line, const struct pagewalk_env *env, u64 linear,
				unsigned access)
{
	u64 gpa = 0;
	u32 error = 0;
	enum walk_result r = guest_page_walk(env, linear, access, &gpa, &error);
	if (r != WALK_BAD_TABLE)
		fail_msg("line %d: %s of 0x%llx: result %d, want WALK_BAD_TABLE", line,
			 access_name(access), (unsigned long long)linear, r);
}

#define expect_ok(...) expect_ok_at(__LINE__, __VA_ARGS__)
#define expect_fault(...) expect_fault_at(__LINE__, __VA_ARGS__)
#define expect_bad_table(...) expect_bad_table_at(__LINE__, __VA_ARGS__)

/* Error code for a not-present fault: no P bit, only the access bits. */
static u32 not_present_error(unsigned access, bool id_applies)
{
	return (access & WALK_WRITE ? ERR_W : 0) | (access & WALK_USER ? ERR_U : 0) |
	       (access & WALK_FETCH && id_applies ? ERR_ID : 0);
}

static const unsigned all_accesses[] = {
	WALK_READ, WALK_WRITE, WALK_FETCH, WALK_USER | WALK_READ, WALK_USER | WALK_WRITE,
	WALK_USER | WALK_FETCH,
};

/* ---- Paging off ---- */

static void test_paging_off_identity(void **state)
{
	(void)state;
	struct pagewalk_env protected = env_of(CR0_PE, 0x1000, 0, 0);
	struct pagewalk_env real = env_of(0, 0x1000, CR4_PAE | CR4_PSE, EFER_NXE);
	struct pagewalk_env e;
	for (int k = 0; k < 2; k++) {
		e = k ? real : protected;
		for (unsigned i = 0; i < ARRAY_SIZE(all_accesses); i++) {
			expect_ok(&e, 0, all_accesses[i], 0);
			expect_ok(&e, 0x12345678, all_accesses[i], 0x12345678);
			expect_ok(&e, 0xffffffff, all_accesses[i], 0xffffffff);
			/* Outside long mode linear addresses are 32 bits wide. */
			expect_ok(&e, 0x100000000ULL, all_accesses[i], 0);
			expect_ok(&e, 0xabcdef0123456789ULL, all_accesses[i], 0x23456789);
			/* Memory outside guest RAM is fine: nothing is read. */
			expect_ok(&e, 0xfee00000, all_accesses[i], 0xfee00000);
		}
	}
	assert_int_equal(reads, 0);
	assert_int_equal(writes, 0);
}

/* ---- 32-bit paging ---- */

/*
 * PD at 0x1000.
 *   PDE[1]   -> PT 0x2000 (P RW US): PTE[k] maps 0x00800000 + k * 4K for
 *               k < 0x200 (P RW US); PTE[0x200] not present; PTE[0x201]
 *               read-only user; PTE[0x202] supervisor; PTE[0x203] maps
 *               gpa 0xfffff000 (outside guest RAM)
 *   PDE[2]      not present
 *   PDE[3]   -> PT 0x3000, PDE read-only (P US): PTE[0] RW user -> 0x00500000
 *   PDE[4]   -> PT 0x4000, PDE supervisor (P RW): PTE[0] RW user -> 0x00501000
 *   PDE[5]   -> PT outside guest RAM (0x7ffff000)
 *   PDE[0x300] -> PT 0x5000 (P RW, supervisor): PTE[k] -> 0x00100000 + k * 4K
 */
static void build_32bit(void)
{
	set32(0x1000 + 1 * 4, 0x2000 | P | RW | US);
	for (u32 k = 0; k < 0x200; k++)
		set32(0x2000 + k * 4, (0x00800000 + k * 0x1000) | P | RW | US);
	set32(0x2000 + 0x201 * 4, 0x00600000 | P | US);
	set32(0x2000 + 0x202 * 4, 0x00601000 | P | RW);
	set32(0x2000 + 0x203 * 4, 0xfffff000 | P | RW | US);
	set32(0x1000 + 3 * 4, 0x3000 | P | US);
	set32(0x3000, 0x00500000 | P | RW | US);
	set32(0x1000 + 4 * 4, 0x4000 | P | RW);
	set32(0x4000, 0x00501000 | P | RW | US);
	set32(0x1000 + 5 * 4, 0x7ffff000 | P | RW | US);
	set32(0x1000 + 0x300 * 4, 0x5000 | P | RW);
	for (u32 k = 0; k < 0x400; k++)
		set32(0x5000 + k * 4, (0x00100000 + k * 0x1000) | P | RW);
}

static void test_32bit_4k_translation(void **state)
{
	(void)state;
	build_32bit();
	/* CR3 bits 3 and 4 are PWT/PCD, not address. */
	struct pagewalk_env e = env_32(0x1000 | PWT | PCD, 0, false);
	for (u64 k = 0; k < 0x200; k++) {
		u64 off = (k * 0x35) & 0xfff;
		expect_ok(&e, 0x00400000 + k * 0x1000 + off, WALK_USER | WALK_READ,
			  0x00800000 + k * 0x1000 + off);
	}
	for (u64 k = 0; k < 0x400; k += 0x33)
		expect_ok(&e, 0xc0000000 + k * 0x1000 + 0xabc, WALK_WRITE, 0x00100000 + k * 0x1000 + 0xabc);
	expect_ok(&e, 0xc03fffff, WALK_READ, 0x004fffff);
	/* Bits above 31 of the linear address play no part. */
	expect_ok(&e, 0x100400123ULL, WALK_READ, 0x00800123);
	/* The final address need not be guest RAM. */
	expect_ok(&e, 0x00603abc, WALK_READ, 0xfffffabc);
	/* No NX in 32-bit paging: fetches are reads, even with EFER.NXE set. */
	e.efer = EFER_NXE;
	expect_ok(&e, 0x00400010, WALK_USER | WALK_FETCH, 0x00800010);
	/* Supervisor fetch from a user page is fine without SMEP. */
	expect_ok(&e, 0x00400010, WALK_FETCH, 0x00800010);
}

static void test_32bit_not_present(void **state)
{
	(void)state;
	build_32bit();
	for (int nxe = 0; nxe <= 1; nxe++) {
		struct pagewalk_env e = env_32(0x1000, 0, true);
		e.efer = nxe ? EFER_NXE : 0; /* I/D needs CR4.PAE: never here */
		for (unsigned i = 0; i < ARRAY_SIZE(all_accesses); i++) {
			unsigned a = all_accesses[i];
			expect_fault(&e, 0x00800000, a, not_present_error(a, false)); /* PDE */
			expect_fault(&e, 0x00600000, a, not_present_error(a, false)); /* PTE */
			expect_fault(&e, 0x00000000, a, not_present_error(a, false)); /* PDE[0] */
		}
	}
}

static void test_32bit_protection(void **state)
{
	(void)state;
	build_32bit();
	for (int wp = 0; wp <= 1; wp++) {
		struct pagewalk_env e = env_32(0x1000, 0, wp);
		/* Read-only PTE (0x00601000 linear). */
		expect_ok(&e, 0x00601234, WALK_READ, 0x00600234);
		expect_ok(&e, 0x00601234, WALK_USER | WALK_READ, 0x00600234);
		expect_fault(&e, 0x00601234, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
		if (wp)
			expect_fault(&e, 0x00601234, WALK_WRITE, ERR_P | ERR_W);
		else
			expect_ok(&e, 0x00601234, WALK_WRITE, 0x00600234);
		/* Supervisor PTE under a user PDE. */
		expect_ok(&e, 0x00602008, WALK_WRITE, 0x00601008);
		expect_fault(&e, 0x00602008, WALK_USER | WALK_READ, ERR_P | ERR_U);
		expect_fault(&e, 0x00602008, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
		expect_fault(&e, 0x00602008, WALK_USER | WALK_FETCH, ERR_P | ERR_U);
		/* Read-only PDE over a writable PTE. */
		expect_ok(&e, 0x00c00010, WALK_USER | WALK_READ, 0x00500010);
		expect_fault(&e, 0x00c00010, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
		if (wp)
			expect_fault(&e, 0x00c00010, WALK_WRITE, ERR_P | ERR_W);
		else
			expect_ok(&e, 0x00c00010, WALK_WRITE, 0x00500010);
		/* Supervisor PDE over a user PTE. */
		expect_ok(&e, 0x01000020, WALK_WRITE, 0x00501020);
		expect_fault(&e, 0x01000020, WALK_USER | WALK_READ, ERR_P | ERR_U);
		/* Kernel half. */
		expect_fault(&e, 0xc0000000, WALK_USER | WALK_READ, ERR_P | ERR_U);
		expect_ok(&e, 0xc0000000, WALK_WRITE, 0x00100000);
	}
}

/* ---- 32-bit paging with 4 MiB pages ---- */

/*
 * PD at 0x1000.
 *   PDE[1] = 0x00c00000 PS P RW US: a 4 MiB page with CR4.PSE; without it
 *            the same entry names a page table at 0x00c00000, whose
 *            PTE[0x212] maps 0x00345000 (P RW US)
 *   PDE[2] = PSE-36: bits 31:22 = 0xffc, bits 20:13 = 0xa5 -> 0xa5ffc00000
 *   PDE[3] = 0x01000000 with PAT (bit 12) set: the base stays 0x01000000
 *   PDE[4] = 0x01400000 PS P US: read-only 4 MiB page
 */
static void build_pse(void)
{
	set32(0x1000 + 1 * 4, 0x00c00000 | PS | P | RW | US);
	set32(0x00c00000 + 0x212 * 4, 0x00345000 | P | RW | US);
	set32(0x1000 + 2 * 4, 0xffc00000 | (0xa5u << 13) | PS | P | RW | US);
	set32(0x1000 + 3 * 4, 0x01000000 | (u32)PAT_LARGE | PS | P | RW | US);
	set32(0x1000 + 4 * 4, 0x01400000 | PS | P | US);
}

static void test_32bit_pse_pages(void **state)
{
	(void)state;
	build_pse();
	struct pagewalk_env e = env_32(0x1000, CR4_PSE, true);
	static const u64 offsets[] = { 0, 0x123, 0x1000, 0x212345, 0x3fffff };
	for (unsigned i = 0; i < ARRAY_SIZE(offsets); i++) {
		u64 o = offsets[i];
		expect_ok(&e, 0x00400000 + o, WALK_USER | WALK_WRITE, 0x00c00000 + o);
		expect_ok(&e, 0x00800000 + o, WALK_READ, 0xa5ffc00000ULL + o);
		expect_ok(&e, 0x00c00000 + o, WALK_READ, 0x01000000 + o);
		expect_ok(&e, 0x01000000 + o, WALK_USER | WALK_READ, 0x01400000 + o);
		expect_fault(&e, 0x01000000 + o, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
		expect_fault(&e, 0x01000000 + o, WALK_WRITE, ERR_P | ERR_W);
	}
	/* No page table is read under a 4 MiB page. */
	unsigned before = reads;
	expect_ok(&e, 0x00612345, WALK_READ, 0x00e12345);
	assert_int_equal(reads - before, 1);

	/* CR4.PSE = 0: PS is ignored and PDE[1] points to a page table. */
	e.cr4 = 0;
	expect_ok(&e, 0x00612345, WALK_USER | WALK_READ, 0x00345345);
	expect_fault(&e, 0x00400000, WALK_READ, 0); /* PTE[0] of that table is empty */
}

static void test_32bit_pse_accessed_dirty(void **state)
{
	(void)state;
	build_pse();
	struct pagewalk_env e = env_32(0x1000, CR4_PSE, false);
	take_snapshot();
	expect_ok(&e, 0x00401000, WALK_READ, 0x00c01000);
	assert_changes(4, (struct change[]){ { 0x1004, A } }, 1);
	expect_ok(&e, 0x00401000, WALK_WRITE, 0x00c01000);
	assert_changes(4, (struct change[]){ { 0x1004, D } }, 1);
	/* Supervisor write to the read-only page with CR0.WP = 0 dirties it. */
	expect_ok(&e, 0x01000000, WALK_WRITE, 0x01400000);
	assert_changes(4, (struct change[]){ { 0x1010, A | D } }, 1);
	/* PSE-36 entry keeps its high address bits when A/D are set. */
	expect_ok(&e, 0x00800000, WALK_WRITE, 0xa5ffc00000ULL);
	assert_changes(4, (struct change[]){ { 0x1008, A | D } }, 1);
	expect_ok(&e, 0x00800000, WALK_READ, 0xa5ffc00000ULL);
}

static void test_32bit_accessed_dirty(void **state)
{
	(void)state;
	build_32bit();
	struct pagewalk_env e = env_32(0x1000, 0, true);
	take_snapshot();
	expect_ok(&e, 0x00403000, WALK_USER | WALK_READ, 0x00803000);
	assert_changes(4, (struct change[]){ { 0x1004, A }, { 0x2000 + 3 * 4, A } }, 2);
	expect_ok(&e, 0x00403000, WALK_USER | WALK_WRITE, 0x00803000);
	assert_changes(4, (struct change[]){ { 0x2000 + 3 * 4, D } }, 1); /* never D on the PDE */
	expect_ok(&e, 0x00404000, WALK_FETCH, 0x00804000);
	assert_changes(4, (struct change[]){ { 0x2000 + 4 * 4, A } }, 1);
	/* write == NULL: nothing is written. */
	e.write = NULL;
	expect_ok(&e, 0x00405000, WALK_WRITE, 0x00805000);
	expect_ok(&e, 0xc0001000, WALK_WRITE, 0x00101000);
	assert_changes(4, NULL, 0);
}

static void test_32bit_bad_tables(void **state)
{
	(void)state;
	build_32bit();
	struct pagewalk_env e = env_32(0x1000, 0, true);
	expect_bad_table(&e, 0x01400000, WALK_READ); /* PDE[5] -> PT outside RAM */
	e.cr3 = 0x7ffff000;                           /* PD outside RAM */
	expect_bad_table(&e, 0x00400000, WALK_READ);
	e.cr3 = GMEM_SIZE;
	expect_bad_table(&e, 0, WALK_READ);
}

/* ---- PAE paging ---- */

/*
 * PDPT at 0x3020 (CR3 bits 31:5).
 *   PDPTE[0] -> PD 0x4000; PDPTE[1], [2] not present; PDPTE[3] -> PD 0x5000
 * PD 0x4000:
 *   [0] -> PT 0x6000 (P RW US)
 *   [1] 2 MiB page at 0x1234400000 (P RW US), above 4 GiB
 *   [2] 2 MiB page at 0x00e00000 with XD (P RW US) and PAT (bit 12) set
 *   [3] -> PT 0x7000 with XD at the PDE: PTE[0] -> 0x00def000 (P RW US)
 *   [4] -> PT outside guest RAM
 *   [5] -> PT 0x8000 read-only PDE (P US): PTE[0] -> 0x00a00000 RW
 * PT 0x6000: PTE[1] -> 0x00abc000 (P RW US); PTE[2] -> 0x00abd000 XD;
 *   PTE[3] not present; PTE[4] -> 0x00abe000 read-only user
 * PD 0x5000: [0] 2 MiB page at 0x00200000 supervisor (P RW); [1] -> PD... not present
 */
#define PAE_PDPT 0x3020ULL

static void build_pae(void)
{
	set64(PAE_PDPT + 0 * 8, 0x4000 | P);
	set64(PAE_PDPT + 3 * 8, 0x5000 | P);
	set64(0x4000 + 0 * 8, 0x6000 | P | RW | US);
	set64(0x4000 + 1 * 8, 0x1234400000ULL | PS | P | RW | US);
	set64(0x4000 + 2 * 8, 0x00e00000 | PAT_LARGE | XD | PS | P | RW | US);
	set64(0x4000 + 3 * 8, 0x7000 | XD | P | RW | US);
	set64(0x7000, 0x00def000 | P | RW | US);
	set64(0x4000 + 4 * 8, 0x7ffff000ULL | P | RW | US);
	set64(0x4000 + 5 * 8, 0x8000 | P | US);
	set64(0x8000, 0x00a00000 | P | RW | US);
	set64(0x6000 + 1 * 8, 0x00abc000 | P | RW | US);
	set64(0x6000 + 2 * 8, 0x00abd000 | XD | P | RW | US);
	set64(0x6000 + 4 * 8, 0x00abe000 | P | US);
	set64(0x5000 + 0 * 8, 0x00200000 | PS | P | RW);
}

static void test_pae_translation(void **state)
{
	(void)state;
	build_pae();
	/* CR3 bits 4:0 are not part of the PDPT address. */
	struct pagewalk_env e = env_pae(PAE_PDPT | 0x1f, true, true);
	expect_ok(&e, 0x00001234, WALK_USER | WALK_WRITE, 0x00abc234);
	expect_ok(&e, 0x00200000, WALK_USER | WALK_WRITE, 0x1234400000ULL);
	expect_ok(&e, 0x003fffff, WALK_READ, 0x12345fffffULL);
	expect_ok(&e, 0x00212345, WALK_READ, 0x1234412345ULL);
	expect_ok(&e, 0x00400000 + 0x1abcde, WALK_READ, 0x00e00000 + 0x1abcde); /* PAT ignored */
	expect_ok(&e, 0x00600abc, WALK_USER | WALK_READ, 0x00defabc);
	expect_ok(&e, 0xc0000000 + 0x54321, WALK_WRITE, 0x00254321);
	/* Linear bits above 31 play no part. */
	expect_ok(&e, 0xf00001234ULL, WALK_READ, 0x00abc234);
}

static void test_pae_faults(void **state)
{
	(void)state;
	build_pae();
	for (int nxe = 0; nxe <= 1; nxe++) {
		struct pagewalk_env e = env_pae(PAE_PDPT, nxe, true);
		for (unsigned i = 0; i < ARRAY_SIZE(all_accesses); i++) {
			unsigned a = all_accesses[i];
			expect_fault(&e, 0x40000000, a, not_present_error(a, nxe)); /* PDPTE[1] */
			expect_fault(&e, 0x80000000, a, not_present_error(a, nxe)); /* PDPTE[2] */
			expect_fault(&e, 0xc0200000, a, not_present_error(a, nxe)); /* PDE */
			expect_fault(&e, 0x00003000, a, not_present_error(a, nxe)); /* PTE */
		}
		/* Supervisor-only 2 MiB page. */
		expect_fault(&e, 0xc0000000, WALK_USER | WALK_READ, ERR_P | ERR_U);
		expect_fault(&e, 0xc0000000, WALK_USER | WALK_FETCH,
			     ERR_P | ERR_U | (nxe ? ERR_ID : 0));
		/* Read-only user PTE. */
		expect_fault(&e, 0x00004000, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
		expect_fault(&e, 0x00004000, WALK_WRITE, ERR_P | ERR_W);
		/* Read-only PDE over a writable PTE. */
		expect_ok(&e, 0x00a00000, WALK_USER | WALK_READ, 0x00a00000);
		expect_fault(&e, 0x00a00000, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
		expect_fault(&e, 0x00a00000, WALK_WRITE, ERR_P | ERR_W);
		e.cr0 &= ~CR0_WP;
		expect_ok(&e, 0x00a00000, WALK_WRITE, 0x00a00000);
		expect_ok(&e, 0x00004000, WALK_WRITE, 0x00abe000);
	}
}

static void test_pae_nx(void **state)
{
	(void)state;
	build_pae();
	struct pagewalk_env e = env_pae(PAE_PDPT, true, true);
	/* XD on the PTE, on a 2 MiB PDE, and on the PDE above a clean PTE. */
	static const u64 xd_pages[] = { 0x00002000, 0x00400000, 0x00600000 };
	for (unsigned i = 0; i < ARRAY_SIZE(xd_pages); i++) {
		expect_fault(&e, xd_pages[i], WALK_FETCH, ERR_P | ERR_ID);
		expect_fault(&e, xd_pages[i], WALK_USER | WALK_FETCH, ERR_P | ERR_U | ERR_ID);
		u64 gpa;
		u32 err;
		assert_int_equal(guest_page_walk(&e, xd_pages[i], WALK_USER | WALK_READ, &gpa, &err), WALK_OK);
		assert_int_equal(guest_page_walk(&e, xd_pages[i], WALK_WRITE, &gpa, &err), WALK_OK);
	}
	expect_ok(&e, 0x00001000, WALK_USER | WALK_FETCH, 0x00abc000);
	/* With NXE clear, fetches from pages without XD are reads. (XD set with
	 * NXE clear is a reserved-bit fault, not covered.) */
	e.efer = 0;
	expect_ok(&e, 0x00001000, WALK_USER | WALK_FETCH, 0x00abc000);
	expect_ok(&e, 0x00200000, WALK_FETCH, 0x1234400000ULL);
	expect_fault(&e, 0xc0000000, WALK_USER | WALK_FETCH, ERR_P | ERR_U);
}

static void test_pae_accessed_dirty(void **state)
{
	(void)state;
	build_pae();
	struct pagewalk_env e = env_pae(PAE_PDPT, true, true);
	take_snapshot();
	/* PDPTEs have no accessed flag in PAE paging: they stay as they are. */
	expect_ok(&e, 0x00001010, WALK_USER | WALK_READ, 0x00abc010);
	assert_changes(8, (struct change[]){ { 0x4000, A }, { 0x6008, A } }, 2);
	expect_ok(&e, 0x00001010, WALK_USER | WALK_WRITE, 0x00abc010);
	assert_changes(8, (struct change[]){ { 0x6008, D } }, 1);
	expect_ok(&e, 0x00200010, WALK_WRITE, 0x1234400010ULL);
	assert_changes(8, (struct change[]){ { 0x4008, A | D } }, 1);
	expect_ok(&e, 0xc0000000, WALK_READ, 0x00200000);
	assert_changes(8, (struct change[]){ { 0x5000, A } }, 1);
	/* XD and high address bits survive the update. */
	expect_ok(&e, 0x00400000, WALK_WRITE, 0x00e00000);
	assert_changes(8, (struct change[]){ { 0x4010, A | D } }, 1);
	assert_int_equal(get64(0x4010) & XD, XD);
	e.write = NULL;
	expect_ok(&e, 0x00600000, WALK_WRITE, 0x00def000);
	assert_changes(8, NULL, 0);
}

static void test_pae_bad_tables(void **state)
{
	(void)state;
	build_pae();
	struct pagewalk_env e = env_pae(PAE_PDPT, true, true);
	expect_bad_table(&e, 0x00800000, WALK_READ); /* PDE[4] -> PT outside RAM */
	set64(PAE_PDPT + 1 * 8, 0x7fff0000ULL | P);   /* PDPTE -> PD outside RAM */
	expect_bad_table(&e, 0x40000000, WALK_READ);
	e.cr3 = 0x7fffffe0;                           /* PDPT outside RAM */
	expect_bad_table(&e, 0, WALK_READ);
	e.cr3 = GMEM_SIZE | 0x1f;                      /* bits 4:0 ignored: PDPT at the end */
	expect_bad_table(&e, 0, WALK_READ);
	e.cr3 = GMEM_SIZE - 0x10;                      /* PDPT at GMEM_SIZE - 0x20: in RAM */
	expect_fault(&e, 0xc0000000, WALK_READ, 0);    /* PDPTE[3] is the last 8 bytes, zero */
}

/* ---- 4-level paging ---- */

/*
 * PML4 at 0x10000.
 *   [0]   -> PDPT 0x11000 (P RW US)
 *   [1]      not present
 *   [2]   -> PDPT outside RAM
 *   [256] -> PDPT 0x12000, supervisor (P RW)
 *   [511] -> PDPT 0x13000, XD (P RW US)
 * PDPT 0x11000:
 *   [0] -> PD 0x14000 (P RW US)
 *   [1] 1 GiB page at 0x4000000000 (P RW US)
 *   [2] 1 GiB page at 0x8040000000 with PAT (bit 12), read-only (P US)
 *   [3]    not present
 *   [4] -> PD 0x17000, read-only PDPTE (P US): [0] -> PT 0x18000 (P RW US):
 *          PTE[0] -> 0x00700000 (P RW US)
 * PD 0x14000:
 *   [0] -> PT 0x15000 (P RW US)
 *   [1] 2 MiB page at 0x100200000 (P RW US)
 *   [2] 2 MiB page at 0x00600000 with PAT (bit 12) (P RW US)
 *   [3]    not present
 *   [4] -> PT 0x19000, read-only PDE (P US): PTE[0] -> 0x00800000 (P RW US)
 *   [5] -> PT 0x1a000 with XD at the PDE: PTE[0] -> 0x00900000
 * PT 0x15000:
 *   [5] -> 0x000ffffffffff000 (largest address) with ignored bits 52 and 58
 *          and G set (P RW US)
 *   [6]    not present
 *   [7] -> 0x00b00000 XD (P RW US)
 *   [8] -> 0x00b01000 read-only (P US)
 *   [9] -> 0x00b02000 supervisor (P RW)
 * PDPT 0x12000: [0] -> PD 0x16000 (P RW US): [0] 2 MiB page at 0x01000000 (P RW US)
 * PDPT 0x13000: [511] 1 GiB page at 0x40000000 (P RW US)
 */
#define PML4 0x10000ULL

static void build_long(void)
{
	set64(PML4 + 0 * 8, 0x11000 | P | RW | US);
	set64(PML4 + 2 * 8, 0x7ff00000ULL | P | RW | US);
	set64(PML4 + 256 * 8, 0x12000 | P | RW);
	set64(PML4 + 511 * 8, 0x13000 | XD | P | RW | US);
	set64(0x11000 + 0 * 8, 0x14000 | P | RW | US);
	set64(0x11000 + 1 * 8, 0x4000000000ULL | PS | P | RW | US);
	set64(0x11000 + 2 * 8, 0x8040000000ULL | PAT_LARGE | PS | P | US);
	set64(0x11000 + 4 * 8, 0x17000 | P | US);
	set64(0x17000, 0x18000 | P | RW | US);
	set64(0x18000, 0x00700000 | P | RW | US);
	set64(0x14000 + 0 * 8, 0x15000 | P | RW | US);
	set64(0x14000 + 1 * 8, 0x100200000ULL | PS | P | RW | US);
	set64(0x14000 + 2 * 8, 0x00600000 | PAT_LARGE | PS | P | RW | US);
	set64(0x14000 + 4 * 8, 0x19000 | P | US);
	set64(0x19000, 0x00800000 | P | RW | US);
	set64(0x14000 + 5 * 8, 0x1a000 | XD | P | RW | US);
	set64(0x1a000, 0x00900000 | P | RW | US);
	set64(0x15000 + 5 * 8, 0x000ffffffffff000ULL | (1ULL << 52) | (1ULL << 58) | G | P | RW | US);
	set64(0x15000 + 7 * 8, 0x00b00000 | XD | P | RW | US);
	set64(0x15000 + 8 * 8, 0x00b01000 | P | US);
	set64(0x15000 + 9 * 8, 0x00b02000 | P | RW);
	set64(0x12000, 0x16000 | P | RW | US);
	set64(0x16000, 0x01000000 | PS | P | RW | US);
	set64(0x13000 + 511 * 8, 0x40000000 | PS | P | RW | US);
}

static void test_long_translation(void **state)
{
	(void)state;
	build_long();
	/* CR3 bits 11:0 (PWT, PCD or a PCID) are not address. */
	struct pagewalk_env e = env_long(PML4 | 0x123, true, true);
	expect_ok(&e, 0x5123, WALK_USER | WALK_WRITE, 0x000ffffffffff123ULL);
	expect_ok(&e, 0x40000000 + 0x12345678, WALK_USER | WALK_WRITE, 0x4012345678ULL);
	expect_ok(&e, 0x7fffffff, WALK_READ, 0x403fffffffULL);
	expect_ok(&e, 0x80000000 + 0x3fffffff, WALK_READ, 0x8040000000ULL + 0x3fffffff);
	expect_ok(&e, 0x80000000, WALK_USER | WALK_READ, 0x8040000000ULL);
	expect_ok(&e, 0x200000 + 0x1fffff, WALK_USER | WALK_READ, 0x100200000ULL + 0x1fffff);
	expect_ok(&e, 0x400000 + 0x1234, WALK_READ, 0x00601234);
	expect_ok(&e, 0xffff800000000000ULL + 0x123456, WALK_WRITE, 0x01123456);
	expect_ok(&e, 0xffffffffc0000000ULL + 0x2345678, WALK_WRITE, 0x42345678);
	expect_ok(&e, 0xffffffffffffffffULL, WALK_READ, 0x7fffffff);
	expect_ok(&e, 0x7000, WALK_USER | WALK_WRITE, 0x00b00000);
	/* Supervisor fetch from a user page (no SMEP). */
	expect_ok(&e, 0x5000, WALK_FETCH, 0x000ffffffffff000ULL);
}

static void test_long_not_present_each_level(void **state)
{
	(void)state;
	build_long();
	for (int nxe = 0; nxe <= 1; nxe++) {
		struct pagewalk_env e = env_long(PML4, nxe, true);
		static const u64 holes[] = {
			0x8000000000ULL,        /* PML4E[1] */
			0xffff808000000000ULL,  /* PML4E[257] */
			0xc0000000,             /* PDPTE[3] */
			0x600000,               /* PDE[3] */
			0x6000,                 /* PTE[6] */
			0x1000,                 /* PTE[1] */
		};
		for (unsigned h = 0; h < ARRAY_SIZE(holes); h++)
			for (unsigned i = 0; i < ARRAY_SIZE(all_accesses); i++) {
				unsigned a = all_accesses[i];
				expect_fault(&e, holes[h], a, not_present_error(a, nxe));
			}
	}
}

static void test_long_user_supervisor(void **state)
{
	(void)state;
	build_long();
	struct pagewalk_env e = env_long(PML4, true, true);
	/* U/S clear only at the PML4E. */
	expect_fault(&e, 0xffff800000000000ULL, WALK_USER | WALK_READ, ERR_P | ERR_U);
	expect_fault(&e, 0xffff800000000000ULL, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
	expect_fault(&e, 0xffff800000000000ULL, WALK_USER | WALK_FETCH, ERR_P | ERR_U | ERR_ID);
	/* U/S clear only at the PTE. */
	expect_fault(&e, 0x9000, WALK_USER | WALK_READ, ERR_P | ERR_U);
	expect_ok(&e, 0x9000, WALK_WRITE, 0x00b02000);
}

static void test_long_read_only(void **state)
{
	(void)state;
	build_long();
	/* R/W clear at the PTE (0x8000), at the PDE (0x800000, PTE writable),
	 * at the PDPTE (0x100000000, lower levels writable) and on a 1 GiB leaf. */
	static const u64 ro[] = { 0x8000, 0x800000, 0x100000000ULL, 0x80000000 };
	static const u64 ro_gpa[] = { 0x00b01000, 0x00800000, 0x00700000, 0x8040000000ULL };
	for (int wp = 0; wp <= 1; wp++) {
		struct pagewalk_env e = env_long(PML4, true, wp);
		for (unsigned i = 0; i < ARRAY_SIZE(ro); i++) {
			expect_ok(&e, ro[i], WALK_USER | WALK_READ, ro_gpa[i]);
			expect_fault(&e, ro[i], WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
			if (wp)
				expect_fault(&e, ro[i], WALK_WRITE, ERR_P | ERR_W);
			else
				expect_ok(&e, ro[i], WALK_WRITE, ro_gpa[i]);
		}
	}
}

static void test_long_nx(void **state)
{
	(void)state;
	build_long();
	struct pagewalk_env e = env_long(PML4, true, true);
	/* XD on a PTE, on the PDE above a clean PTE, and on the PML4E above a
	 * clean 1 GiB page. */
	static const u64 xd[] = { 0x7000, 0xa00000, 0xffffffffc0000000ULL };
	for (unsigned i = 0; i < ARRAY_SIZE(xd); i++) {
		expect_fault(&e, xd[i], WALK_FETCH, ERR_P | ERR_ID);
		expect_fault(&e, xd[i], WALK_USER | WALK_FETCH, ERR_P | ERR_U | ERR_ID);
		u64 gpa;
		u32 err;
		assert_int_equal(guest_page_walk(&e, xd[i], WALK_USER | WALK_WRITE, &gpa, &err), WALK_OK);
	}
	expect_ok(&e, 0x5000, WALK_USER | WALK_FETCH, 0x000ffffffffff000ULL);
	expect_ok(&e, 0x40000000, WALK_USER | WALK_FETCH, 0x4000000000ULL);
	/* NXE clear: fetches from clean pages are fine and carry no I/D. */
	e.efer &= ~EFER_NXE;
	expect_ok(&e, 0x5000, WALK_USER | WALK_FETCH, 0x000ffffffffff000ULL);
	expect_fault(&e, 0x9000, WALK_USER | WALK_FETCH, ERR_P | ERR_U);
	expect_fault(&e, 0x6000, WALK_USER | WALK_FETCH, ERR_U);
}

static void test_long_accessed_dirty(void **state)
{
	(void)state;
	build_long();
	struct pagewalk_env e = env_long(PML4, true, true);
	take_snapshot();
	/* 4 KiB: A at all four levels, D only on the PTE and only for writes. */
	expect_ok(&e, 0x5008, WALK_READ, 0x000ffffffffff008ULL);
	assert_changes(8, (struct change[]){ { PML4, A }, { 0x11000, A }, { 0x14000, A }, { 0x15028, A } },
		       4);
	expect_ok(&e, 0x5008, WALK_WRITE, 0x000ffffffffff008ULL);
	assert_changes(8, (struct change[]){ { 0x15028, D } }, 1);
	/* The ignored bits 52 and 58 and G were kept. */
	assert_int_equal(get64(0x15028), 0x000ffffffffff000ULL | (1ULL << 52) | (1ULL << 58) | G | A | D |
						 P | RW | US);
	/* 2 MiB: D on the PDE. */
	expect_ok(&e, 0x200000, WALK_USER | WALK_WRITE, 0x100200000ULL);
	assert_changes(8, (struct change[]){ { 0x14008, A | D } }, 1);
	/* 1 GiB: D on the PDPTE, the PML4E only accessed. */
	expect_ok(&e, 0xffffffffc0000000ULL, WALK_WRITE, 0x40000000);
	assert_changes(8, (struct change[]){ { PML4 + 511 * 8, A }, { 0x13000 + 511 * 8, A | D } }, 2);
	assert_int_equal(get64(PML4 + 511 * 8) & XD, XD);
	/* A fetch sets A, never D. */
	expect_ok(&e, 0x40001000, WALK_FETCH, 0x4000001000ULL);
	assert_changes(8, (struct change[]){ { 0x11008, A } }, 1);
	/* write == NULL: nothing is written, on any path. */
	e.write = NULL;
	expect_ok(&e, 0xffff800000001000ULL, WALK_WRITE, 0x01001000);
	expect_ok(&e, 0x80000000, WALK_READ, 0x8040000000ULL);
	expect_fault(&e, 0x8000, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
	assert_changes(8, NULL, 0);
	assert_int_equal(get64(0x16000) & (A | D), 0);
}

/* SDM 4.8: the dirty flag is set on a write to the page; a write that
 * faults writes nothing, so the page must not be marked dirty. */
static void test_faulting_write_not_dirty(void **state)
{
	(void)state;
	build_long();
	struct pagewalk_env e = env_long(PML4, true, true);
	expect_fault(&e, 0x8000, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
	expect_fault(&e, 0x8000, WALK_WRITE, ERR_P | ERR_W);
	expect_fault(&e, 0x80000000, WALK_WRITE, ERR_P | ERR_W);   /* 1 GiB read-only leaf */
	expect_fault(&e, 0x9000, WALK_USER | WALK_WRITE, ERR_P | ERR_W | ERR_U);
	assert_int_equal(get64(0x15000 + 8 * 8) & D, 0);
	assert_int_equal(get64(0x11000 + 2 * 8) & D, 0);
	assert_int_equal(get64(0x15000 + 9 * 8) & D, 0);

	memset(gmem, 0, GMEM_SIZE);
	build_32bit();
	e = env_32(0x1000, 0, true);
	expect_fault(&e, 0x00601234, WALK_WRITE, ERR_P | ERR_W);
	assert_int_equal(get32(0x2000 + 0x201 * 4) & D, 0);
}

static void test_long_bad_tables(void **state)
{
	(void)state;
	build_long();
	struct pagewalk_env e = env_long(PML4, true, true);
	expect_bad_table(&e, 0x10000000000ULL, WALK_READ); /* PML4E[2] -> PDPT outside */
	set64(0x11000 + 3 * 8, 0x1fff000000ULL | P | RW | US); /* PDPTE -> PD outside */
	expect_bad_table(&e, 0xc0000000, WALK_READ);
	set64(0x14000 + 3 * 8, (u64)GMEM_SIZE | P | RW | US); /* PDE -> PT just past the end */
	expect_bad_table(&e, 0x600000, WALK_READ);
	e.cr3 = 0xfffff000;
	expect_bad_table(&e, 0, WALK_READ);
	e.cr3 = GMEM_SIZE;
	expect_bad_table(&e, 0, WALK_FETCH);
	/* The last table page of RAM is fine. */
	set64(0x14000 + 3 * 8, (u64)(GMEM_SIZE - 0x1000) | P | RW | US);
	set64(GMEM_SIZE - 0x1000 + 0x1ff * 8, 0x00c00000 | P | RW | US);
	e.cr3 = PML4;
	expect_ok(&e, 0x600000 + 0x1ff000 + 0x42, WALK_READ, 0x00c00042);
}

/* SDM Vol. 1 3.3.7.1: bits 63:47 must all equal bit 47; otherwise the CPU
 * raises #GP (or #SS) without walking. Without the check bits 63:48 would
 * be dropped and 0x0000800000001000 would alias 0xffff800000001000. */
static void test_long_noncanonical(void **state)
{
	(void)state;
	build_long();
	struct pagewalk_env e = env_long(PML4, true, true);
	static const u64 noncanonical[] = {
		0x0000800000000000ULL, 0x0000800000123456ULL, 0x0001000000005123ULL,
		0xffff7fffffffffffULL, 0x8000000000000000ULL, 0x7fffffffffffffffULL,
		0x1234000000005123ULL,
	};
	for (unsigned i = 0; i < sizeof(noncanonical) / sizeof(noncanonical[0]); i++) {
		for (unsigned a = 0; a < sizeof(all_accesses) / sizeof(all_accesses[0]); a++) {
			u64 gpa = 0x5a5a;
			u32 error = 0;
			reads = writes = 0;
			enum walk_result r = guest_page_walk(&e, noncanonical[i], all_accesses[a], &gpa, &error);
			if (r != WALK_NONCANONICAL)
				fail_msg("%s of 0x%llx: result %d (gpa 0x%llx), want WALK_NONCANONICAL",
					 access_name(all_accesses[a]), (unsigned long long)noncanonical[i], r,
					 (unsigned long long)gpa);
			assert_int_equal(reads, 0);
			assert_int_equal(writes, 0);
		}
	}
	/* The canonical addresses next to them are walked: PML4E[255] is not present. */
	expect_fault(&e, 0x00007fffffffffffULL, WALK_READ, 0);
	expect_ok(&e, 0xffff800000000000ULL + 0x123456, WALK_WRITE, 0x01123456);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_paging_off_identity),
		T(test_32bit_4k_translation),
		T(test_32bit_not_present),
		T(test_32bit_protection),
		T(test_32bit_pse_pages),
		T(test_32bit_pse_accessed_dirty),
		T(test_32bit_accessed_dirty),
		T(test_32bit_bad_tables),
		T(test_pae_translation),
		T(test_pae_faults),
		T(test_pae_nx),
		T(test_pae_accessed_dirty),
		T(test_pae_bad_tables),
		T(test_long_translation),
		T(test_long_not_present_each_level),
		T(test_long_user_supervisor),
		T(test_long_read_only),
		T(test_long_nx),
		T(test_long_accessed_dirty),
		T(test_faulting_write_not_dirty),
		T(test_long_bad_tables),
		T(test_long_noncanonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
