/*
 * Unit tests for the guest ACPI table builder (vmm/acpi_guest.c). Expected
 * values: ACPI 6.4 chapter 5 (RSDP, XSDT, FADT table 5.9 offsets read as raw
 * little-endian bytes here, not through the builder's structs; FACS; the
 * MADT of section 5.2.12 and its interrupt controller structures; the DSDT
 * as compiled by iasl) and the PM ports the FADT must advertise.
 * With ACPI_DUMP_DIR set, the tables are also written there as files
 * (rsdp.dat, xsdt.dat, facp.dat, facs.dat, apic.dat, dsdt.dat) for
 * `iasl -d`.
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

/* The PC the VM describes: one vCPU, the APICs at their reset addresses. */
static const struct acpi_guest_config one_cpu = {
	.cpu_count = 1,
	.local_apic_gpa = 0xfee00000,
	.io_apic_gpa = 0xfec00000,
	.io_apic_id = 0,
};

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
static u64 xsdt_entry(unsigned i) { return le(at(xsdt_gpa()) + 36 + 8 * i, 8); }
static u64 fadt_gpa(void) { return xsdt_entry(0); }
static u64 madt_gpa(void) { return xsdt_entry(1); }
static u64 fadt(unsigned offset, unsigned bytes) { return le(at(fadt_gpa()) + offset, bytes); }
static u64 madt(unsigned offset, unsigned bytes) { return le(at(madt_gpa()) + offset, bytes); }

/* MADT interrupt controller structure types and lengths (section 5.2.12). */
enum { LOCAL_APIC = 0, IO_APIC = 1, OVERRIDE = 2, LOCAL_APIC_NMI = 4, MAX_ENTRIES = 300 };
static const unsigned entry_length[] = { [LOCAL_APIC] = 8, [IO_APIC] = 12, [OVERRIDE] = 10,
					 [LOCAL_APIC_NMI] = 6 };

/* Walks the MADT's structures by their length bytes (from offset 44) and
 * returns their offsets; they must exactly fill the table. */
static unsigned madt_entries(unsigned *offset, unsigned max)
{
	u32 len = check_table(madt_gpa(), "APIC");
	const u8 *t = at(madt_gpa());
	unsigned n = 0, sum = 0, off = 44;
	while (off < len) {
		assert_true(n < max);
		assert_true(off + 2 <= len);
		unsigned type = t[off], elen = t[off + 1];
		assert_true(type < ARRAY_SIZE(entry_length) && entry_length[type]);
		assert_int_equal(elen, entry_length[type]);
		offset[n++] = off;
		sum += elen;
		off += elen;
	}
	assert_int_equal(sum, len - 44);
	return n;
}

/* Offsets of the MADT structures of one type. */
static unsigned madt_entries_of(unsigned type, unsigned *offset, unsigned max)
{
	unsigned all[MAX_ENTRIES], n = madt_entries(all, MAX_ENTRIES), k = 0;
	for (unsigned i = 0; i < n; i++)
		if (at(madt_gpa())[all[i]] == type) {
			assert_true(k < max);
			offset[k++] = all[i];
		}
	return k;
}

/* Checks CPU i's Processor Local APIC structures: UID i, APIC ID i, enabled. */
static void check_local_apics(unsigned cpus)
{
	unsigned off[MAX_ENTRIES];
	assert_int_equal(madt_entries_of(LOCAL_APIC, off, MAX_ENTRIES), cpus);
	for (unsigned i = 0; i < cpus; i++) {
		assert_int_equal(madt(off[i] + 2, 1), i);      /* ACPI processor UID */
		assert_int_equal(madt(off[i] + 3, 1), i);      /* APIC ID */
		assert_int_equal(madt(off[i] + 4, 4), 1);      /* Flags: Enabled */
	}
}

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
	int r = acpi_guest_build(area, AREA_GPA, AREA_SIZE, &one_cpu, &rsdp_gpa, err, sizeof(err));
	if (r)
		printf("acpi_guest_build: %s\n", err);
	return r;
}

static int setup_four_cpus(void **state)
{
	char err[128] = "";
	struct acpi_guest_config cfg = one_cpu;
	cfg.cpu_count = 4;
	memset(area, 0xa5, sizeof(area));
	rsdp_gpa = 0;
	int r = acpi_guest_build(area, AREA_GPA, AREA_SIZE, &cfg, &rsdp_gpa, err, sizeof(err));
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
	assert_int_equal(len, 36 + 2 * 8); /* two entries: the FADT and the MADT */
	assert_int_equal(at(xsdt_gpa())[8], 1);
	check_table(xsdt_entry(0), "FACP");
	check_table(xsdt_entry(1), "APIC");
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

/* ---- MADT (section 5.2.12) ---- */

static void test_madt_header(void **state)
{
	u32 len = check_table(madt_gpa(), "APIC");
	/* 44 fixed bytes, one local APIC (8), one I/O APIC (12), two
	 * overrides (10 each), one local APIC NMI (6). */
	assert_int_equal(len, 44 + 8 + 12 + 2 * 10 + 6);
	assert_int_equal(madt(8, 1), 5);                       /* revision (ACPI 6.4) */
	assert_memory_equal(at(madt_gpa()) + 10, "PRSDIO", 6);  /* OEMID */
	assert_int_equal(madt_gpa() % 8, 0);
}

static void test_madt_apic_address_and_flags(void **state)
{
	assert_int_equal(madt(36, 4), 0xfee00000); /* Local Interrupt Controller Address */
	assert_int_equal(madt(40, 4), 1);          /* Flags: PCAT_COMPAT only */
}

static void test_madt_entries(void **state)
{
	unsigned off[MAX_ENTRIES];
	/* Every structure accounted for: 1 + 1 + 2 + 1. */
	assert_int_equal(madt_entries(off, MAX_ENTRIES), 5);
	check_local_apics(1);

	assert_int_equal(madt_entries_of(IO_APIC, off, MAX_ENTRIES), 1);
	assert_int_equal(madt(off[0] + 2, 1), 0);           /* I/O APIC ID */
	assert_int_equal(madt(off[0] + 3, 1), 0);           /* reserved */
	assert_int_equal(madt(off[0] + 4, 4), 0xfec00000);  /* I/O APIC Address */
	assert_int_equal(madt(off[0] + 8, 4), 0);           /* GSI base */

	/* Bus 0 (ISA): IRQ0 -> GSI 2 conforming; the SCI, IRQ 9 -> GSI 9,
	 * active-high (01) and level-triggered (11 << 2). */
	assert_int_equal(madt_entries_of(OVERRIDE, off, MAX_ENTRIES), 2);
	static const struct { unsigned source, gsi, flags; } iso[] = {
		{ 0, 2, 0x0000 }, { 9, 9, 0x000d },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(iso); i++) {
		assert_int_equal(madt(off[i] + 2, 1), 0);           /* Bus: ISA */
		assert_int_equal(madt(off[i] + 3, 1), iso[i].source);
		assert_int_equal(madt(off[i] + 4, 4), iso[i].gsi);
		assert_int_equal(madt(off[i] + 8, 2), iso[i].flags);
	}

	assert_int_equal(madt_entries_of(LOCAL_APIC_NMI, off, MAX_ENTRIES), 1);
	assert_int_equal(madt(off[0] + 2, 1), 0xff);        /* all processors */
	assert_int_equal(madt(off[0] + 3, 2), 0);           /* MPS INTI flags */
	assert_int_equal(madt(off[0] + 5, 1), 1);           /* LINT1 */
}

static void test_madt_four_cpus(void **state)
{
	u32 len = check_table(madt_gpa(), "APIC"); /* checksum still valid */
	assert_int_equal(len, 44 + 4 * 8 + 12 + 2 * 10 + 6);
	unsigned off[MAX_ENTRIES];
	assert_int_equal(madt_entries(off, MAX_ENTRIES), 4 + 1 + 2 + 1);
	check_local_apics(4);
	/* The boot processor's structure comes first (section 5.2.12.1). */
	assert_int_equal(madt(off[0], 1), LOCAL_APIC);
	assert_int_equal(madt(off[0] + 3, 1), 0);
	/* The other tables did not move into the longer MADT. */
	check_table(fadt_gpa(), "FACP");
	check_table(fadt(140, 8), "DSDT");
}

static void test_madt_bad_config(void **state)
{
	static u8 other[AREA_SIZE];
	static const struct { unsigned cpus; u64 lapic, ioapic; const char *says; } bad[] = {
		{ 0, 0xfee00000, 0xfec00000, "CPUs" },
		{ 256, 0xfee00000, 0xfec00000, "CPUs" },
		{ 1, 0xfee00800, 0xfec00000, "local APIC" },
		{ 1, 0xfee00000, 0xfec00040, "I/O APIC" },
		{ 1, 0x1fee00000ULL, 0xfec00000, "local APIC" },
		{ 1, 0xfee00000, 0x100000000ULL, "I/O APIC" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
		struct acpi_guest_config cfg = one_cpu;
		cfg.cpu_count = bad[i].cpus;
		cfg.local_apic_gpa = bad[i].lapic;
		cfg.io_apic_gpa = bad[i].ioapic;
		char err[160] = "";
		u64 r = 0x1234;
		assert_int_equal(acpi_guest_build(other, AREA_GPA, AREA_SIZE, &cfg, &r, err, sizeof(err)),
				 -1);
		assert_int_equal(r, 0x1234);
		assert_non_null(strstr(err, bad[i].says));
	}
	/* The limits themselves are fine. */
	struct acpi_guest_config most = one_cpu;
	most.cpu_count = 255;
	char err[160] = "";
	u64 r = 0;
	assert_int_equal(acpi_guest_build(other, AREA_GPA, AREA_SIZE, &most, &r, err, sizeof(err)), 0);
}

static void test_tables_inside_area_and_disjoint(void **state)
{
	u64 start[6] = { rsdp_gpa, xsdt_gpa(), fadt_gpa(), fadt(140, 8), fadt(132, 8), madt_gpa() };
	u64 len[6] = { 36, le(at(xsdt_gpa()) + 4, 4), 276, le(at(fadt(140, 8)) + 4, 4), 64,
		       madt(4, 4) };
	for (int i = 0; i < 6; i++) {
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
	assert_int_equal(acpi_guest_build(small, AREA_GPA, 256, &one_cpu, &r, err, sizeof(err)), -1);
	assert_int_equal(r, 0x1234);
	assert_non_null(strstr(err, "need"));
	/* The exact size it asks for is enough; one byte less is not. */
	unsigned need = 0;
	assert_int_equal(sscanf(err, "ACPI tables need %u", &need), 1);
	assert_int_equal(acpi_guest_build(small, AREA_GPA, need - 1, &one_cpu, &r, err, sizeof(err)),
			 -1);
	assert_int_equal(acpi_guest_build(small, AREA_GPA, need, &one_cpu, &r, err, sizeof(err)), 0);
	assert_int_equal(acpi_guest_build(small, AREA_GPA, 0, &one_cpu, &r, err, sizeof(err)), -1);
}

static void test_area_placement(void **state)
{
	char err[128] = "";
	u64 r = 0;
	/* Above 4 GiB the FADT's 32-bit pointers cannot reach it. */
	assert_int_equal(acpi_guest_build(area, 0x100000000ULL, AREA_SIZE, &one_cpu, &r, err, sizeof(err)),
			 -1);
	assert_int_equal(acpi_guest_build(area, 0xfffff000ULL, AREA_SIZE, &one_cpu, &r, err, sizeof(err)),
			 -1);
	/* The FACS needs 64-byte alignment. */
	assert_int_equal(acpi_guest_build(area, AREA_GPA + 16, AREA_SIZE, &one_cpu, &r, err, sizeof(err)),
			 -1);
	/* Elsewhere the addresses follow the area. */
	assert_int_equal(acpi_guest_build(area, 0x9f000, 4096, &one_cpu, &r, err, sizeof(err)), 0);
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
	dump(dir, "apic.dat", madt_gpa(), madt(4, 4));
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
		ACPI_TEST(test_madt_header),
		ACPI_TEST(test_madt_apic_address_and_flags),
		ACPI_TEST(test_madt_entries),
		cmocka_unit_test_setup(test_madt_four_cpus, setup_four_cpus),
		cmocka_unit_test(test_madt_bad_config),
		ACPI_TEST(test_tables_inside_area_and_disjoint),
		cmocka_unit_test(test_area_too_small),
		cmocka_unit_test(test_area_placement),
		ACPI_TEST(test_dump_for_iasl),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
