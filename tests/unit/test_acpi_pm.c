/*
 * Unit tests for the ACPI PM fixed hardware (vmm/dev/acpi_pm.c) through the
 * real port bus over a hand-driven guest clock. Expected values: ACPI 6.4
 * section 4.8 (PM1 register bits, 3.579545 MHz PM timer, 24 bits with
 * TMR_VAL_EXT clear, TMR_STS on a bit-23 change), the PIIX4/ICH reset
 * control register at 0xcf9, and what Linux's poweroff path writes.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* Device handlers ignore (vcpu, size) like every model. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/iobus.c"
#include "vmm/dev/acpi_pm.c"
#define DEVICE_FAKES_WITH_TIME
#include "tests/unit/device_fakes.h"

/* ---- Fakes ---- */

static unsigned power_offs;
static unsigned resets;
void vm_power_off(struct vm *v) { power_offs++; }
void vm_request_reset(struct vm *v) { resets++; }

static struct acpi_pm *pm;

#define PM1_STS 0x600
#define PM1_EN 0x602
#define PM1_CNT 0x604
#define PM_TMR 0x608
#define RST_CNT 0xcf9
#define SLP_EN (1u << 13)
#define SLP_TYP(n) ((unsigned)(n) << 10)
#define TMR_STS 0x0001
#define HZ 3579545ULL
#define SECOND 1000000000ULL

static u64 in(u16 port, unsigned size)
{
	u64 v;
	io_bus_read(&vm.pio, NULL, "test", port, size, &v);
	return v;
}

static void out(u16 port, unsigned size, u64 v) { io_bus_write(&vm.pio, NULL, "test", port, size, v); }

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	power_offs = resets = 0;
	fake_now = 1000; /* a little after VM creation */
	pm = acpi_pm_create(&vm);
	return pm ? 0 : -1;
}

static int teardown(void **state)
{
	free(pm);
	return 0;
}

static void test_timer_rate(void **state)
{
	u32 t0 = (u32)in(PM_TMR, 4);
	advance(SECOND);
	u32 t1 = (u32)in(PM_TMR, 4);
	u32 delta = (t1 - t0) & 0xffffff;
	assert_true(delta >= HZ - 1 && delta <= HZ + 1);
	/* A tenth of a second. */
	advance(SECOND / 10);
	u32 t2 = (u32)in(PM_TMR, 4);
	assert_true(((t2 - t1) & 0xffffff) >= HZ / 10 - 1 && ((t2 - t1) & 0xffffff) <= HZ / 10 + 1);
}

static void test_timer_is_24_bits_and_wraps(void **state)
{
	/* Just before the counter wraps: 2^24 ticks = 4.687 s. */
	fake_now = (0x1000000ULL * SECOND) / HZ - 1000;
	u32 before = (u32)in(PM_TMR, 4);
	assert_true(before >= 0xff0000 && before <= 0xffffff);
	advance(2000); /* ~7 ticks */
	u32 after = (u32)in(PM_TMR, 4);
	assert_true(after < 0x100);
	/* Bits 24-31 are always 0, for hours of guest time too. */
	for (u64 t = 0; t < 10000; t += 37) {
		fake_now = t * SECOND + t * 12345;
		assert_int_equal(in(PM_TMR, 4) & 0xff000000u, 0);
	}
	/* Long uptimes do not overflow the tick computation. */
	fake_now = 1000000ULL * SECOND; /* 1e6 s */
	u64 expect = (1000000ULL * HZ) & 0xffffff;
	assert_int_equal(in(PM_TMR, 4), expect);
}

static void test_timer_byte_reads(void **state)
{
	fake_now = 2 * SECOND;
	u64 t = in(PM_TMR, 4);
	assert_int_equal(t, (2 * HZ) & 0xffffff);
	assert_int_equal(in(PM_TMR, 1), t & 0xff);
	assert_int_equal(in(PM_TMR + 1, 1), (t >> 8) & 0xff);
	assert_int_equal(in(PM_TMR + 2, 1), (t >> 16) & 0xff);
	assert_int_equal(in(PM_TMR + 3, 1), 0);
	/* Writes are ignored. */
	out(PM_TMR, 4, 0);
	assert_int_equal(in(PM_TMR, 4), t);
}

static void test_sci_en_always_set(void **state)
{
	assert_int_equal(in(PM1_CNT, 2) & 1, 1);
	out(PM1_CNT, 2, 0);
	assert_int_equal(in(PM1_CNT, 2) & 1, 1);
	assert_int_equal(in(PM1_CNT, 1) & 1, 1);
	/* SLP_TYP is kept, SLP_EN reads as 0. */
	out(PM1_CNT, 2, SLP_TYP(3));
	assert_int_equal(in(PM1_CNT, 2), SLP_TYP(3) | 1);
	assert_int_equal(power_offs, 0);
}

static void test_s5_powers_off(void **state)
{
	/* What Linux's acpi_hw_legacy_sleep does: SLP_TYP first, then with SLP_EN. */
	u16 cnt = (u16)in(PM1_CNT, 2);
	cnt = (u16)((cnt & ~SLP_TYP(7)) | SLP_TYP(5));
	out(PM1_CNT, 2, cnt);
	assert_int_equal(power_offs, 0);
	out(PM1_CNT, 2, cnt | SLP_EN);
	assert_int_equal(power_offs, 1);
	assert_int_equal(in(PM1_CNT, 2) & SLP_EN, 0);
}

static void test_other_sleep_types_do_nothing(void **state)
{
	for (unsigned typ = 0; typ < 8; typ++) {
		if (typ == 5)
			continue;
		out(PM1_CNT, 2, SLP_TYP(typ) | SLP_EN | 1);
	}
	assert_int_equal(power_offs, 0);
	assert_int_equal(resets, 0);
	/* A byte write of the high half with SLP_EN and SLP_TYP 5. */
	out(PM1_CNT + 1, 1, (SLP_TYP(5) | SLP_EN) >> 8);
	assert_int_equal(power_offs, 1);
}

static void test_reset_register(void **state)
{
	out(RST_CNT, 1, 0x02);
	assert_int_equal(resets, 0);
	assert_int_equal(in(RST_CNT, 1), 0x02);
	out(RST_CNT, 1, 0x06);
	assert_int_equal(resets, 1);
	out(RST_CNT, 1, 0x0e);
	assert_int_equal(resets, 2);
	out(RST_CNT, 1, 0x00);
	assert_int_equal(resets, 2);
	assert_int_equal(power_offs, 0);
}

static void test_pm1_sts_write_one_to_clear(void **state)
{
	assert_int_equal(in(PM1_STS, 2), 0);
	/* TMR_STS is set when bit 23 of the counter changes (every 2.34 s). */
	advance(3 * SECOND);
	assert_int_equal(in(PM1_STS, 2) & TMR_STS, TMR_STS);
	out(PM1_STS, 2, 0); /* writing 0 keeps it */
	assert_int_equal(in(PM1_STS, 2) & TMR_STS, TMR_STS);
	out(PM1_STS, 2, TMR_STS);
	assert_int_equal(in(PM1_STS, 2) & TMR_STS, 0);
	/* Set again by the next change of bit 23; a 32-bit write with PM1_EN. */
	advance(3 * SECOND);
	assert_int_equal(in(PM1_STS, 4) & TMR_STS, TMR_STS);
	out(PM1_STS, 4, 0x01230000u | TMR_STS);
	assert_int_equal(in(PM1_STS, 4), 0x01230000u);
	assert_int_equal(in(PM1_EN, 2), 0x0123);
}

static void test_pm1_en_read_write(void **state)
{
	out(PM1_EN, 2, 0x0121);
	assert_int_equal(in(PM1_EN, 2), 0x0121);
	assert_int_equal(in(PM1_EN + 1, 1), 0x01);
	out(PM1_EN + 1, 1, 0);
	assert_int_equal(in(PM1_EN, 2), 0x0021);
	/* Writing PM1_EN does not touch PM1_STS. */
	advance(3 * SECOND);
	out(PM1_EN, 2, 0xffff);
	assert_int_equal(in(PM1_STS, 2) & TMR_STS, TMR_STS);
}

static void test_hostile_accesses(void **state)
{
	static const u16 ports[] = { 0x600, 0x601, 0x602, 0x603, 0x604, 0x605,
				     0x608, 0x609, 0x60a, 0x60b, 0xcf9 };
	srand(7);
	for (int i = 0; i < 20000; i++) {
		u16 port = ports[rand() % ARRAY_SIZE(ports)];
		unsigned size = 1u << (rand() % 3);
		u64 v = (u64)rand();
		if (port == PM1_CNT || port == PM1_CNT + 1)
			v &= ~(u64)SLP_EN & ~((u64)SLP_EN >> 8);
		if (port == RST_CNT)
			v &= ~4ull;
		if (rand() % 2)
			io_bus_write(&vm.pio, NULL, "test", port, size, v);
		else
			io_bus_read(&vm.pio, NULL, "test", port, size, &v);
		advance((u64)rand() % 1000000);
	}
	assert_int_equal(in(PM1_CNT, 2) & 1, 1);
	assert_int_equal(in(PM_TMR, 4) >> 24, 0);
}

/* A PCI host that claims CONFIG_ADDRESS as one port still gets dword
 * accesses at 0xcf8 (the bus dispatches on the first port), and 0xcf9
 * stays the reset register. */
static u64 config_address;
static void cfg_read(void *d, struct vcpu *c, u64 off, unsigned size, u64 *v) { *v = config_address; }
static void cfg_write(void *d, struct vcpu *c, u64 off, unsigned size, u64 v)
{
	if (size == 4)
		config_address = v;
}

static void test_coexists_with_pci_config_address(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	assert_int_equal(io_bus_register(&vm.pio, 0xcf8, 1, "pci", NULL, cfg_read, cfg_write), 0);
	struct acpi_pm *p = acpi_pm_create(&vm);
	assert_non_null(p);
	out(0xcf8, 4, 0x80000000u);
	assert_int_equal(config_address, 0x80000000u);
	assert_int_equal(in(0xcf8, 4), 0x80000000u);
	assert_int_equal(resets, 0);
	out(RST_CNT, 1, 0x06);
	assert_int_equal(resets, 1);
	assert_int_equal(config_address, 0x80000000u);
	free(p);

	/* A PCI host claiming 0xcf8-0xcfb leaves no room: creation fails. */
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	assert_int_equal(io_bus_register(&vm.pio, 0xcf8, 4, "pci", NULL, cfg_read, cfg_write), 0);
	p = acpi_pm_create(&vm);
	assert_null(p);
	free(io_bus_find(&vm.pio, PM1_STS)->device); /* the VM would free it */
}

#define PM_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PM_TEST(test_timer_rate),
		PM_TEST(test_timer_is_24_bits_and_wraps),
		PM_TEST(test_timer_byte_reads),
		PM_TEST(test_sci_en_always_set),
		PM_TEST(test_s5_powers_off),
		PM_TEST(test_other_sleep_types_do_nothing),
		PM_TEST(test_reset_register),
		PM_TEST(test_pm1_sts_write_one_to_clear),
		PM_TEST(test_pm1_en_read_write),
		PM_TEST(test_hostile_accesses),
		cmocka_unit_test(test_coexists_with_pci_config_address),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
