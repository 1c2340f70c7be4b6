/*
 * Unit tests for the guest ACPI table builder (vmm/acpi_guest.c). Expected
 * values: ACPI 6.4 chapter 5 (RSDP, XSDT, FADT table 5.9 offsets read as raw
 * little-endian bytes here, not through the builder's structs; FACS; the
 * DSDT as compiled by iasl) and the PM ports the FADT must advertise.
 * With ACPI_DUMP_DIR set, the tables are also written there as files
 * (rsdp.dat, xsdt.dat, facp.dat, facs.dat, dsdt.dat) for `iasl -d`.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* cmocka test functions ignore their state. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/acpi_guest.c"

#define AREA_GPA 0xe0000ULL
#define AREA_SIZE 0x10000
static u8 area[AREA_SIZE];
static u64 rsdp_gpa;

/* ---- Raw little-endian reads at guest-physical addresses ---- */

static const u8 *at(u64 gpa)
{
	assert_true(gpa >= AREA_GPA && gpa < AREA_GPA + AREA_SIZE);
	return area + (gpa - AREA_GPA);
}

static u64 le(const u8 *p, unsigned bytes)
{
	u64 v = 0;
	for (unsigned i = 0; i < bytes; i++)
		v |= (u64)p[i] << (8 * i);
	return v;
}

static unsigned byte_sum(const u8 *p, size_t n)
{
	unsigned s = 0;
	for (size_t i = 0; i < n; i++)
		s += p[i];
	return s & 0xff;
}

/* Checks a table's header and checksum; returns its length. */
static u32 check_table(u64 gpa, const char *sig)
{
	const u8 *t = at(gpa);
	assert_memory_equal(t, sig, 4);
	u32 len = (u32)le(t + 4, 4);
	assert_true(len >= 36 && gpa + len <= AREA_GPA + AREA_SIZE);
	assert_int_equal(byte_sum(t, len), 0);
	return len;
}

static u64 xsdt_gpa(void) { return le(at(rsdp_gpa) + 24, 8); }
static u64 fadt_gpa(void) { return le(at(xsdt_gpa()) + 36, 8); }
static u64 fadt(unsigned offset, unsigned bytes) { return le(at(fadt_gpa()) + offset, bytes); }

static void dump(const char *dir, const char *name, u64 gpa, size_t len)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(at(gpa), 1, len, f), len);
	fclose(f);
}

static int setup(void **state)
{
	char err[128] = "";
	memset(area, 0xa5, sizeof(area)); /* the builder must clear what it uses */
	rsdp_gpa = 0;
	int r = acpi_guest_build(area, AREA_GPA, AREA_SIZE, &rsdp_gpa, err, sizeof(err));
	if (r)
		printf("acpi_guest_build: %s\n", err);
	return r;
}

static void test_rsdp(void **state)
{
	assert_int_equal(rsdp_gpa % 16, 0);
	const u8 *r = at(rsdp_gpa);
	assert_memory_equal(r, "RSD PTR ", 8);
	assert_int_equal(r[15], 2);                  /* revision */
	assert_int_equal(le(r + 16, 4), 0);          /* no RSDT */
	assert_int_equal(le(r + 20, 4), 36);         /* length */
	assert_int_equal(byte_sum(r, 20), 0);        /* ACPI 1.0 checksum */
	assert_int_equal(byte_sum(r, 36), 0);        /* extended checksum */
	assert_int_equal(xsdt_gpa() % 8, 0);
	check_table(xsdt_gpa(), "XSDT");
}

static void test_xsdt(void **state)
{
	u32 len = check_table(xsdt_gpa(), "XSDT");
	assert_int_equal(len, 36 + 8); /* one entry: the FADT (no MADT yet) */
	assert_int_equal(at(xsdt_gpa())[8], 1);
	check_table(fadt_gpa(), "FACP");
}

static void test_fadt_header(void **state)
{
	u32 len = check_table(fadt_gpa(), "FACP");
	assert_int_equal(len, 276);
	assert_true(at(fadt_gpa())[8] >= 5);   /* revision */
	assert_memory_equal(at(fadt_gpa()) + 10, "PRSDIO", 6);
}

static void test_fadt_pm_blocks(void **state)
{
	assert_int_equal(fadt(46, 2), 9);       /* SCI_INT */
	assert_int_equal(fadt(48, 4), 0);       /* SMI_CMD: always in ACPI mode */
	assert_int_equal(fadt(52, 1), 0);       /* ACPI_ENABLE */
	assert_int_equal(fadt(53, 1), 0);       /* ACPI_DISABLE */
	assert_int_equal(fadt(56, 4), 0x600);   /* PM1a_EVT_BLK */
	assert_int_equal(fadt(60, 4), 0);       /* PM1b_EVT_BLK */
	assert_int_equal(fadt(64, 4), 0x604);   /* PM1a_CNT_BLK */
	assert_int_equal(fadt(68, 4), 0);       /* PM1b_CNT_BLK */
	assert_int_equal(fadt(72, 4), 0);       /* PM2_CNT_BLK */
	assert_int_equal(fadt(76, 4), 0x608);   /* PM_TMR_BLK */
	assert_int_equal(fadt(80, 4), 0);       /* GPE0_BLK */
	assert_int_equal(fadt(88, 1), 4);       /* PM1_EVT_LEN */
	assert_int_equal(fadt(89, 1), 2);       /* PM1_CNT_LEN */
	assert_int_equal(fadt(91, 1), 4);       /* PM_TMR_LEN */
	/* The extended blocks agree: system I/O, width = length * 8. */
	static const struct { unsigned offset; u64 port; unsigned bits; } x[] = {
		{ 148, 0x600, 32 }, { 172, 0x604, 16 }, { 208, 0x608, 32 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(x); i++) {
		assert_int_equal(fadt(x[i].offset, 1), 1);
		assert_int_equal(fadt(x[i].offset + 1, 1), x[i].bits);
		assert_int_equal(fadt(x[i].offset + 2, 1), 0);
		assert_int_equal(fadt(x[i].offset + 4, 8), x[i].port);
	}
	for (unsigned off = 160; off < 172; off++) /* X_PM1b_EVT_BLK */
		assert_int_equal(fadt(off, 1), 0);
}

static void test_fadt_flags(void **state)
{
	u32 flags = (u32)fadt(112, 4);
	assert_int_equal(flags & (1u << 20), 0);   /* HW_REDUCED_ACPI off */
	assert_int_equal(flags & (1u << 8), 0);    /* TMR_VAL_EXT: 24-bit timer */
	assert_int_equal(flags & (1u << 10), 1u << 10); /* RESET_REG_SUP */
	u16 boot = (u16)fadt(109, 2);
	assert_int_equal(boot & (1u << 1), 1u << 1); /* 8042 present */
	assert_int_equal(boot & (1u << 5), 0);       /* CMOS RTC present */
}

static void test_fadt_reset_register(void **state)
{
	assert_int_equal(fadt(116, 1), 1);      /* system I/O */
	assert_int_equal(fadt(117, 1), 8);      /* bit width */
	assert_int_equal(fadt(118, 1), 0);      /* bit offset */
	assert_int_equal(fadt(120, 8), 0xcf9);  /* address */
	assert_int_equal(fadt(128, 1), 0x06);   /* RESET_VALUE */
}

static void test_fadt_links(void **state)
{
	u64 dsdt = fadt(140, 8);                /* X_DSDT */
	assert_int_equal(fadt(40, 4), dsdt);    /* DSDT (32-bit) agrees */
	check_table(dsdt, "DSDT");
	u64 facs = fadt(132, 8);                /* X_FIRMWARE_CTRL */
	assert_int_equal(facs % 64, 0);
	assert_int_equal(fadt(36, 4), facs);
	assert_memory_equal(at(facs), "FACS", 4);
	assert_int_equal(le(at(facs) + 4, 4), 64);
}

static void test_dsdt_has_s5(void **state)
{
	u64 dsdt = fadt(140, 8);
	u32 len = check_table(dsdt, "DSDT");
	assert_int_equal(len, sizeof(dsdt_aml));
	const u8 *aml = at(dsdt);
	bool found = false;
	for (u32 i = 36; i + 4 <= len; i++)
		if (!memcmp(aml + i, "_S5_", 4))
			found = true;
	assert_true(found);
}

static void test_tables_inside_area_and_disjoint(void **state)
{
	u64 start[5] = { rsdp_gpa, xsdt_gpa(), fadt_gpa(), fadt(140, 8), fadt(132, 8) };
	u64 len[5] = { 36, le(at(xsdt_gpa()) + 4, 4), 276, le(at(fadt(140, 8)) + 4, 4), 64 };
	for (int i = 0; i < 5; i++) {
		assert_true(start[i] >= AREA_GPA && start[i] + len[i] <= AREA_GPA + AREA_SIZE);
		for (int j = 0; j < i; j++)
			assert_true(start[i] + len[i] <= start[j] || start[j] + len[j] <= start[i]);
	}
}

static void test_area_too_small(void **state)
{
	static u8 small[AREA_SIZE];
	char err[128] = "";
	u64 r = 0x1234;
	assert_int_equal(acpi_guest_build(small, AREA_GPA, 256, &r, err, sizeof(err)), -1);
	assert_int_equal(r, 0x1234);
	assert_non_null(strstr(err, "need"));
	/* The exact size it asks for is enough; one byte less is not. */
	unsigned need = 0;
	assert_int_equal(sscanf(err, "ACPI tables need %u", &need), 1);
	assert_int_equal(acpi_guest_build(small, AREA_GPA, need - 1, &r, err, sizeof(err)), -1);
	assert_int_equal(acpi_guest_build(small, AREA_GPA, need, &r, err, sizeof(err)), 0);
	assert_int_equal(acpi_guest_build(small, AREA_GPA, 0, &r, err, sizeof(err)), -1);
}

static void test_area_placement(void **state)
{
	char err[128] = "";
	u64 r = 0;
	/* Above 4 GiB the FADT's 32-bit pointers cannot reach it. */
	assert_int_equal(acpi_guest_build(area, 0x100000000ULL, AREA_SIZE, &r, err, sizeof(err)), -1);
	assert_int_equal(acpi_guest_build(area, 0xfffff000ULL, AREA_SIZE, &r, err, sizeof(err)), -1);
	/* The FACS needs 64-byte alignment. */
	assert_int_equal(acpi_guest_build(area, AREA_GPA + 16, AREA_SIZE, &r, err, sizeof(err)), -1);
	/* Elsewhere the addresses follow the area. */
	assert_int_equal(acpi_guest_build(area, 0x9f000, 4096, &r, err, sizeof(err)), 0);
	assert_true(r >= 0x9f000 && r < 0xa0000 && r % 16 == 0);
}

static void test_dump_for_iasl(void **state)
{
	const char *dir = getenv("ACPI_DUMP_DIR");
	if (!dir)
		return; /* only on request */
	dump(dir, "rsdp.dat", rsdp_gpa, 36);
	dump(dir, "xsdt.dat", xsdt_gpa(), le(at(xsdt_gpa()) + 4, 4));
	dump(dir, "facp.dat", fadt_gpa(), 276);
	dump(dir, "facs.dat", fadt(132, 8), 64);
	dump(dir, "dsdt.dat", fadt(140, 8), le(at(fadt(140, 8)) + 4, 4));
}

#define ACPI_TEST(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ACPI_TEST(test_rsdp),
		ACPI_TEST(test_xsdt),
		ACPI_TEST(test_fadt_header),
		ACPI_TEST(test_fadt_pm_blocks),
		ACPI_TEST(test_fadt_flags),
		ACPI_TEST(test_fadt_reset_register),
		ACPI_TEST(test_fadt_links),
		ACPI_TEST(test_dsdt_has_s5),
		ACPI_TEST(test_tables_inside_area_and_disjoint),
		cmocka_unit_test(test_area_too_small),
		cmocka_unit_test(test_area_placement),
		ACPI_TEST(test_dump_for_iasl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
