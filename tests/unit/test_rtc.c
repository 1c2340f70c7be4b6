/*
 * Unit tests for the MC146818 RTC/CMOS model (vmm/dev/rtc.c) through ports
 * 0x70/0x71 over a hand-driven guest clock. Expected values: the Motorola
 * MC146818 datasheet (register formats, rates, UIP, flags), the Gregorian
 * calendar (weekdays checked against a calendar, Sunday = 1), and the
 * PC/AT CMOS memory-size conventions, computed by hand.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* Device handlers ignore (vcpu, size) like every model. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/iobus.c"
#include "vmm/dev/rtc.c"
#define DEVICE_FAKES_WITH_TIME
#include "tests/unit/device_fakes.h"


/* ---- Guest view ---- */

#define MS 1000000ULL
#define US 1000ULL
static struct rtc *rtc;
static u64 t0; /* guest time at creation: a second boundary of the RTC */


static u8 cmos_read(u8 reg)
{
	outb(0x70, reg);
	return inb(0x71);
}

static void cmos_write(u8 reg, u8 v)
{
	outb(0x70, reg);
	outb(0x71, v);
}

static void create(const struct rtc_time *now, u64 ram)
{
	free(rtc);
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_rises, 0, sizeof(irq_rises));
	timer_count = 0;
	timer_fires = 0;
	fake_now = t0 = 123456789; /* not a multiple of anything */
	rtc = rtc_create(&vm, now, ram);
	assert_non_null(rtc);
}

static int setup(void **state)
{
	static const struct rtc_time base = { 2024, 2, 28, 23, 59, 58 };
	rtc = NULL;
	create(&base, 64 * MiB);
	return 0;
}

static int teardown(void **state)
{
	free(rtc);
	rtc = NULL;
	return 0;
}

struct expected_time {
	u8 second, minute, hour, weekday, day, month, year, century;
};

static void check_time(const struct expected_time *e)
{
	assert_int_equal(cmos_read(0x00), e->second);
	assert_int_equal(cmos_read(0x02), e->minute);
	assert_int_equal(cmos_read(0x04), e->hour);
	assert_int_equal(cmos_read(0x06), e->weekday);
	assert_int_equal(cmos_read(0x07), e->day);
	assert_int_equal(cmos_read(0x08), e->month);
	assert_int_equal(cmos_read(0x09), e->year);
	assert_int_equal(cmos_read(0x32), e->century);
}

/* ---- Tests ---- */

static void test_bios_defaults(void **state)
{
	assert_int_equal(cmos_read(0x0a), 0x26); /* 32.768 kHz, 1024 Hz */
	assert_int_equal(cmos_read(0x0b), 0x02); /* 24 h, BCD, no interrupts */
	assert_int_equal(cmos_read(0x0c), 0x00);
	assert_int_equal(cmos_read(0x0d), 0x80); /* valid RAM and time */
	cmos_write(0x0d, 0x00);
	assert_int_equal(cmos_read(0x0d), 0x80);
	outb(0x70, 0x8d); /* NMI mask bit does not change the index */
	assert_int_equal(inb(0x71), 0x80);
	assert_int_equal(inb(0x70), 0xff); /* index port is write-only */
}

static void test_bcd_time_and_leap_day(void **state)
{
	/* 2024-02-28 23:59:58, a Wednesday. */
	check_time(&(struct expected_time){ 0x58, 0x59, 0x23, 4, 0x28, 0x02, 0x24, 0x20 });
	advance(999 * MS);
	assert_int_equal(cmos_read(0x00), 0x58);
	advance(1 * MS);
	assert_int_equal(cmos_read(0x00), 0x59);
	advance(1000 * MS); /* leap day, Thursday */
	check_time(&(struct expected_time){ 0x00, 0x00, 0x00, 5, 0x29, 0x02, 0x24, 0x20 });
	advance(24 * 3600 * NS_PER_SECOND); /* 2024-03-01, Friday */
	check_time(&(struct expected_time){ 0x00, 0x00, 0x00, 6, 0x01, 0x03, 0x24, 0x20 });
	advance((3600 + 23 * 60 + 45) * NS_PER_SECOND); /* 01:23:45 */
	check_time(&(struct expected_time){ 0x45, 0x23, 0x01, 6, 0x01, 0x03, 0x24, 0x20 });
}

static void test_year_and_century_rollover(void **state)
{
	create(&(struct rtc_time){ 2023, 12, 31, 23, 59, 59 }, 64 * MiB);
	check_time(&(struct expected_time){ 0x59, 0x59, 0x23, 1, 0x31, 0x12, 0x23, 0x20 });
	advance(NS_PER_SECOND);
	check_time(&(struct expected_time){ 0x00, 0x00, 0x00, 2, 0x01, 0x01, 0x24, 0x20 });

	create(&(struct rtc_time){ 2099, 12, 31, 23, 59, 59 }, 64 * MiB);
	advance(NS_PER_SECOND);
	check_time(&(struct expected_time){ 0x00, 0x00, 0x00, 6, 0x01, 0x01, 0x00, 0x21 });

	/* 2100 is not a leap year. */
	create(&(struct rtc_time){ 2100, 2, 28, 23, 59, 59 }, 64 * MiB);
	assert_int_equal(cmos_read(0x06), 1);
	advance(NS_PER_SECOND);
	check_time(&(struct expected_time){ 0x00, 0x00, 0x00, 2, 0x01, 0x03, 0x00, 0x21 });
}

static void test_binary_and_12_hour_modes(void **state)
{
	cmos_write(0x0b, 0x06); /* binary, 24 h */
	assert_int_equal(cmos_read(0x04), 23);
	assert_int_equal(cmos_read(0x00), 58);
	assert_int_equal(cmos_read(0x09), 24);
	assert_int_equal(cmos_read(0x32), 20);
	cmos_write(0x0b, 0x04); /* binary, 12 h: 11 PM */
	assert_int_equal(cmos_read(0x04), 0x80 | 11);
	cmos_write(0x0b, 0x00); /* BCD, 12 h */
	assert_int_equal(cmos_read(0x04), 0x91);
	advance(2 * NS_PER_SECOND); /* midnight is 12 AM */
	assert_int_equal(cmos_read(0x04), 0x12);
	advance(12 * 3600 * NS_PER_SECOND); /* noon is 12 PM */
	assert_int_equal(cmos_read(0x04), 0x92);
	advance(3600 * NS_PER_SECOND);
	assert_int_equal(cmos_read(0x04), 0x81);
}

static void test_update_in_progress_window(void **state)
{
	advance_to(t0 + 500 * MS);
	assert_int_equal(cmos_read(0x0a) & 0x80, 0);
	advance_to(t0 + NS_PER_SECOND - 245 * US);
	assert_int_equal(cmos_read(0x0a) & 0x80, 0);
	assert_int_equal(cmos_read(0x00), 0x58);
	advance_to(t0 + NS_PER_SECOND - 244 * US);
	assert_int_equal(cmos_read(0x0a), 0x80 | 0x26);
	advance_to(t0 + NS_PER_SECOND - 1);
	assert_int_equal(cmos_read(0x0a) & 0x80, 0x80);
	advance_to(t0 + NS_PER_SECOND);
	assert_int_equal(cmos_read(0x0a) & 0x80, 0);
	assert_int_equal(cmos_read(0x00), 0x59);
	/* No updates, no UIP, while SET holds the clock. */
	cmos_write(0x0b, 0x82);
	advance_to(t0 + 2 * NS_PER_SECOND - 100 * US);
	assert_int_equal(cmos_read(0x0a) & 0x80, 0);
}

static void test_update_interrupt_and_register_c(void **state)
{
	cmos_write(0x0b, 0x12); /* UIE */
	advance_to(t0 + NS_PER_SECOND - 1);
	assert_int_equal(irq_rises[8], 0);
	advance_to(t0 + NS_PER_SECOND);
	assert_int_equal(irq_rises[8], 1);
	assert_true(irq_level[8]);
	/* IRQF | PF | UF: PF runs at 1024 Hz whether or not PIE is set. */
	assert_int_equal(cmos_read(0x0c), 0xd0);
	assert_false(irq_level[8]);
	assert_int_equal(cmos_read(0x0c), 0x00); /* read clears */
	advance_to(t0 + 3 * NS_PER_SECOND + 1);
	assert_int_equal(irq_rises[8], 2); /* held until C is read */
	/* AF too: the alarm registers are 0 and 00:00:00 went by at t0 + 2 s. */
	assert_int_equal(cmos_read(0x0c), 0xf0);
	advance_to(t0 + 4 * NS_PER_SECOND);
	assert_int_equal(irq_rises[8], 3);
}

static void test_flags_without_interrupts(void **state)
{
	advance(10 * MS); /* 1024 Hz periodic flag, no update yet */
	assert_int_equal(cmos_read(0x0c), 0x40);
	assert_int_equal(cmos_read(0x0c), 0x00);
	advance(NS_PER_SECOND);
	assert_int_equal(cmos_read(0x0c), 0x50); /* PF | UF, no IRQF */
	assert_int_equal(irq_rises[8], 0);
	assert_int_equal(timer_fires, 0); /* polling needs no host timers */
	/* Enabling an interrupt whose flag is pending raises IRQF at once. */
	advance(10 * MS);
	cmos_write(0x0b, 0x42);
	assert_true(irq_level[8]);
	assert_int_equal(cmos_read(0x0c), 0xc0);
}

/* The periodic vtimer is stopped or armed strictly after now, never at or
 * before it (which would have the run loop fire it again at once). */
static void assert_periodic_timer_ahead(void)
{
	u64 deadline = rtc->periodic_timer.deadline_ns;
	assert_true(deadline == VTIMER_INACTIVE || deadline > fake_now);
}

/* Counts periodic interrupts over 'seconds', reading C in the "handler". */
static unsigned count_periodic(u8 register_a, unsigned seconds, u64 step)
{
	cmos_write(0x0a, register_a);
	cmos_read(0x0c);
	cmos_write(0x0b, 0x42); /* PIE */
	unsigned before = irq_rises[8];
	u64 end = fake_now + seconds * NS_PER_SECOND;
	while (fake_now < end) {
		advance(step);
		if (irq_level[8])
			assert_int_equal(cmos_read(0x0c) & 0xc0, 0xc0);
		assert_periodic_timer_ahead();
	}
	cmos_write(0x0b, 0x02);
	return irq_rises[8] - before;
}

static void test_periodic_rates(void **state)
{
	unsigned n = count_periodic(0x26, 1, 50 * US); /* RS 0110: 976.5625 us */
	assert_in_range(n, 1023, 1025);
	n = count_periodic(0x2f, 2, MS); /* RS 1111: 500 ms */
	assert_in_range(n, 3, 5);
	n = count_periodic(0x23, 1, 10 * US); /* RS 0011: 122.070 us, 8192 Hz */
	assert_in_range(n, 8191, 8193);
	n = count_periodic(0x24, 1, 10 * US); /* RS 0100: 244.141 us, 4096 Hz */
	assert_in_range(n, 4095, 4097);
	n = count_periodic(0x21, 1, 100 * US); /* RS 0001 = RS 1000: 256 Hz */
	assert_in_range(n, 255, 257);
	n = count_periodic(0x20, 1, MS); /* RS 0000: none */
	assert_int_equal(n, 0);
	n = count_periodic(0x76, 1, MS); /* divider in reset: none */
	assert_int_equal(n, 0);
}

/* RS 0011's k-th tick after the divider started at 'phase': divider count
 * 4k at 32.768 kHz, rounded up to the nanosecond (a period is 122070.3125 ns). */
static u64 tick_8192(u64 phase, u64 k)
{
	return phase + (k * NS_PER_SECOND + 8191) / 8192;
}

/* The next RS 0011 tick after now. */
static u64 next_tick_8192(u64 phase)
{
	return (fake_now - phase) * 8192 / NS_PER_SECOND + 1;
}

/* Register C's IRQF and PF (UF, AF come with the seconds, not enabled). */
static u8 read_c_periodic(void)
{
	return cmos_read(0x0c) & 0xc0;
}

static void start_8192_hz(void)
{
	cmos_write(0x0a, 0x23);
	cmos_read(0x0c);
	cmos_write(0x0b, 0x42); /* PIE */
}

/* RS 0011 is the fastest rate and needs no floor: for a second, each
 * interrupt comes exactly on its 8192 Hz tick and none in between, with
 * the vtimer always ahead of now. After a second without reading C, one
 * interrupt is pending, not a burst (and no timer ran meanwhile). */
static void test_fastest_rate_is_exact_and_bounded(void **state)
{
	start_8192_hz();
	unsigned rises = irq_rises[8];
	u64 k = next_tick_8192(t0);
	for (unsigned i = 0; i < 8192; i++, k++) {
		advance_to(tick_8192(t0, k) - 1);
		assert_false(irq_level[8]);
		advance_to(tick_8192(t0, k));
		assert_true(irq_level[8]);
		assert_int_equal(read_c_periodic(), 0xc0);
		assert_periodic_timer_ahead();
	}
	assert_int_equal(irq_rises[8] - rises, 8192);

	advance_to(tick_8192(t0, k));
	assert_int_equal(irq_rises[8] - rises, 8193);
	unsigned fires = timer_fires;
	advance(NS_PER_SECOND);
	assert_int_equal(irq_rises[8] - rises, 8193);
	assert_int_equal(timer_fires, fires);
	assert_int_equal(read_c_periodic(), 0xc0);
	assert_false(irq_level[8]);
	assert_periodic_timer_ahead();
	assert_int_equal(read_c_periodic(), 0x00); /* the 8192 missed ticks: gone */
	k = next_tick_8192(t0);
	advance_to(tick_8192(t0, k) - 1);
	assert_false(irq_level[8]);
	advance_to(tick_8192(t0, k));
	assert_int_equal(irq_rises[8] - rises, 8194);
	assert_int_equal(read_c_periodic(), 0xc0);

	/* Polled without PIE, PF keeps the same rate. */
	cmos_write(0x0b, 0x02);
	advance(123 * US);
	assert_int_equal(cmos_read(0x0c), 0x40);
}

/* Accesses between ticks (each catches up and re-arms the timers: CMOS RAM,
 * A and B rewritten unchanged, a C with nothing pending) neither postpone
 * the next interrupt from its tick nor raise one more. */
static void test_accesses_do_not_move_periodic_interrupt(void **state)
{
	start_8192_hz();
	unsigned rises = irq_rises[8];
	u64 k = next_tick_8192(t0);
	for (unsigned i = 0; i < 8192; i++, k++) {
		u64 tick = tick_8192(t0, k);
		advance_to(tick - 100 * US);
		cmos_write(0x40, 0xa5);
		advance_to(tick - 70 * US);
		assert_int_equal(cmos_read(0x0a) & 0x7f, 0x23); /* UIP aside */
		advance_to(tick - 40 * US);
		cmos_write(0x0b, 0x42);
		advance_to(tick - 10 * US);
		assert_int_equal(read_c_periodic(), 0x00);
		advance_to(tick - 1);
		cmos_write(0x0a, 0x23);
		assert_false(irq_level[8]);
		assert_periodic_timer_ahead();
		advance_to(tick);
		assert_true(irq_level[8]);
		assert_int_equal(read_c_periodic(), 0xc0);
	}
	assert_int_equal(irq_rises[8] - rises, 8192);
}

/* Restarting the divider starts the periodic phase afresh: no tick of the
 * old phase, nor any while it is held in reset; the first one period after
 * the restart. */
static void test_divider_restart_sets_phase(void **state)
{
	start_8192_hz();
	advance_to(tick_8192(t0, 1));
	assert_true(irq_level[8]);
	cmos_read(0x0c);
	advance(50 * US);
	cmos_write(0x0a, 0x63);
	advance(100 * US); /* past an old-phase tick (t0 + 244.141 us) */
	assert_false(irq_level[8]);
	cmos_write(0x0a, 0x23);
	u64 phase = fake_now;
	assert_int_equal(read_c_periodic(), 0);
	advance_to(tick_8192(phase, 1) - 1); /* past another old one (t0 + 366.211 us) */
	assert_false(irq_level[8]);
	advance_to(tick_8192(phase, 1));
	assert_true(irq_level[8]);
	assert_int_equal(read_c_periodic(), 0xc0);
	advance_to(tick_8192(phase, 2) - 1);
	assert_false(irq_level[8]);
	advance_to(tick_8192(phase, 2));
	assert_true(irq_level[8]);
}

static void test_set_time_with_set_bit(void **state)
{
	/* Linux mc146818_set_time: SET, divider reset, write BCD fields, restore. */
	cmos_write(0x0b, 0x92); /* SET | UIE */
	assert_int_equal(cmos_read(0x0b), 0x82); /* setting SET clears UIE */
	cmos_write(0x0a, 0x76);
	cmos_write(0x00, 0x56);
	cmos_write(0x02, 0x34);
	cmos_write(0x04, 0x12);
	cmos_write(0x07, 0x15);
	cmos_write(0x08, 0x06);
	cmos_write(0x09, 0x30);
	cmos_write(0x32, 0x20);
	advance(5 * NS_PER_SECOND);
	assert_int_equal(cmos_read(0x00), 0x56); /* frozen */
	cmos_write(0x0a, 0x26);
	cmos_write(0x0b, 0x02);
	advance(999 * MS);
	assert_int_equal(cmos_read(0x00), 0x56);
	advance(1 * MS);
	/* 2030-06-15 12:34:57 is a Saturday. */
	check_time(&(struct expected_time){ 0x57, 0x34, 0x12, 7, 0x15, 0x06, 0x30, 0x20 });
}

static void test_write_seconds_while_running(void **state)
{
	advance(300 * MS);
	cmos_write(0x00, 0x30);
	assert_int_equal(cmos_read(0x00), 0x30);
	assert_int_equal(cmos_read(0x02), 0x59);
	advance(700 * MS); /* the update keeps its phase */
	assert_int_equal(cmos_read(0x00), 0x31);
}

static void test_alarm_interrupt(void **state)
{
	cmos_write(0x01, 0x01);      /* 00:00:01 */
	cmos_write(0x03, 0xc0);      /* any minute */
	cmos_write(0x05, 0xff);      /* any hour */
	cmos_write(0x0b, 0x22);      /* AIE */
	advance_to(t0 + 2 * NS_PER_SECOND);
	assert_int_equal(irq_rises[8], 0); /* 00:00:00 */
	advance_to(t0 + 3 * NS_PER_SECOND);
	assert_int_equal(irq_rises[8], 1);
	assert_int_equal(cmos_read(0x0c), 0xf0); /* IRQF | PF | AF | UF */
	advance_to(t0 + 4 * NS_PER_SECOND);
	assert_int_equal(irq_rises[8], 1);
	assert_int_equal(cmos_read(0x0c), 0x50); /* PF | UF */
}

static void test_memory_size_16m(void **state)
{
	create(&(struct rtc_time){ 2024, 1, 1, 0, 0, 0 }, 16 * MiB);
	assert_int_equal(cmos_read(0x15), 0x80); /* 640 KiB */
	assert_int_equal(cmos_read(0x16), 0x02);
	assert_int_equal(cmos_read(0x17), 0x00); /* 15 MiB = 15360 KiB = 0x3c00 */
	assert_int_equal(cmos_read(0x18), 0x3c);
	assert_int_equal(cmos_read(0x30), 0x00);
	assert_int_equal(cmos_read(0x31), 0x3c);
	assert_int_equal(cmos_read(0x34), 0x00);
	assert_int_equal(cmos_read(0x35), 0x00);
	assert_int_equal(cmos_read(0x5b), 0x00);
	assert_int_equal(cmos_read(0x5c), 0x00);
	assert_int_equal(cmos_read(0x5d), 0x00);
	/* Checksum of 0x10-0x2d: 0x02 (FPU) + 0x80 + 0x02 + 0x3c = 0x00c0. */
	assert_int_equal(cmos_read(0x2e), 0x00);
	assert_int_equal(cmos_read(0x2f), 0xc0);
}

static void test_memory_size_512m(void **state)
{
	create(&(struct rtc_time){ 2024, 1, 1, 0, 0, 0 }, 512 * MiB);
	assert_int_equal(cmos_read(0x17), 0xff); /* 523264 KiB, capped */
	assert_int_equal(cmos_read(0x18), 0xff);
	assert_int_equal(cmos_read(0x30), 0xff);
	assert_int_equal(cmos_read(0x31), 0xff);
	assert_int_equal(cmos_read(0x34), 0x00); /* 496 MiB / 64 KiB = 7936 = 0x1f00 */
	assert_int_equal(cmos_read(0x35), 0x1f);
	assert_int_equal(cmos_read(0x5b), 0x00);
	assert_int_equal(cmos_read(0x5c), 0x00);
	assert_int_equal(cmos_read(0x5d), 0x00);
}

static void test_memory_size_6g(void **state)
{
	/* 3 GiB below the hole, 3 GiB above 4 GiB. */
	assert_true(RTC_LOW_RAM_MAX == 3 * GiB);
	create(&(struct rtc_time){ 2024, 1, 1, 0, 0, 0 }, 6 * GiB);
	assert_int_equal(cmos_read(0x17), 0xff);
	assert_int_equal(cmos_read(0x18), 0xff);
	assert_int_equal(cmos_read(0x34), 0x00); /* 3056 MiB / 64 KiB = 48896 = 0xbf00 */
	assert_int_equal(cmos_read(0x35), 0xbf);
	assert_int_equal(cmos_read(0x5b), 0x00); /* 3 GiB / 64 KiB = 49152 = 0x00c000 */
	assert_int_equal(cmos_read(0x5c), 0xc0);
	assert_int_equal(cmos_read(0x5d), 0x00);
}

static void test_plain_cmos_ram(void **state)
{
	cmos_write(0x40, 0xa5);
	cmos_write(0x7f, 0x5a);
	assert_int_equal(cmos_read(0x40), 0xa5);
	assert_int_equal(cmos_read(0x7f), 0x5a);
	cmos_write(0x0c, 0xff); /* read-only */
	assert_int_equal(cmos_read(0x0c), 0x00);
}

static void test_hostile_writes(void **state)
{
	srand(146818);
	for (unsigned i = 0; i < 100000; i++) {
		unsigned size = 1u << (rand() % 3);
		u64 v;
		if (rand() % 2)
			io_bus_write(&vm.pio, NULL, "test", 0x70 + rand() % 2, size, (u64)rand());
		else
			io_bus_read(&vm.pio, NULL, "test", 0x70 + rand() % 2, size, &v);
		advance((u64)(rand() % 100000));
	}
	/* Back to a sane mode: the clock still runs and reads back valid BCD. */
	cmos_write(0x0a, 0x26);
	cmos_write(0x0b, 0x02);
	cmos_write(0x00, 0x10);
	advance(NS_PER_SECOND);
	assert_int_equal(cmos_read(0x00), 0x11);
}

#define RTC_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		RTC_TEST(test_bios_defaults),
		RTC_TEST(test_bcd_time_and_leap_day),
		RTC_TEST(test_year_and_century_rollover),
		RTC_TEST(test_binary_and_12_hour_modes),
		RTC_TEST(test_update_in_progress_window),
		RTC_TEST(test_update_interrupt_and_register_c),
		RTC_TEST(test_flags_without_interrupts),
		RTC_TEST(test_periodic_rates),
		RTC_TEST(test_fastest_rate_is_exact_and_bounded),
		RTC_TEST(test_accesses_do_not_move_periodic_interrupt),
		RTC_TEST(test_divider_restart_sets_phase),
		RTC_TEST(test_set_time_with_set_bit),
		RTC_TEST(test_write_seconds_while_running),
		RTC_TEST(test_alarm_interrupt),
		RTC_TEST(test_memory_size_16m),
		RTC_TEST(test_memory_size_512m),
		RTC_TEST(test_memory_size_6g),
		RTC_TEST(test_plain_cmos_ram),
		RTC_TEST(test_hostile_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
