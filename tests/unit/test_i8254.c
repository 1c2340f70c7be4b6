/*
 * Unit tests for the 8254 PIT model and port 0x61 (vmm/dev/i8254.c),
 * programmed through the real port bus over a hand-driven guest clock.
 * Expected values come from the Intel 8254 datasheet (modes, latch and
 * read-back formats), the PC's 1193182 Hz input clock, and Linux's
 * pit_calibrate_tsc / quick_pit_calibrate sequences.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* Device handlers ignore (vcpu, size) like every model. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/iobus.c"
#include "vmm/dev/i8254.c"
#define DEVICE_FAKES_WITH_TIME
#include "tests/unit/device_fakes.h"


static struct i8254 *pit;


static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	memset(irq_level, 0, sizeof(irq_level));
	memset(irq_rises, 0, sizeof(irq_rises));
	timer_count = 0;
	fake_now = 1000000; /* guest clock does not start at 0 for devices */
	pit = i8254_create(&vm);
	return pit ? 0 : -1;
}

static int teardown(void **state)
{
	free(pit);
	return 0;
}

#define CONTROL 0x43
#define COUNTER0 0x40
#define COUNTER2 0x42
#define PORT_B 0x61
#define OUT2 0x20

static u16 latched_read(u16 port, u8 latch_command)
{
	outb(CONTROL, latch_command);
	u8 lo = inb(port);
	return (u16)(lo | inb(port) << 8);
}

/* ---- Tests ---- */

static void test_unprogrammed_is_silent(void **state)
{
	advance(NS_PER_SECOND);
	assert_int_equal(irq_rises[0], 0);
	assert_int_equal(inb(PORT_B) & OUT2, 0); /* gate 2 low, nothing loaded */
}

static void test_mode2_periodic_interrupts(void **state)
{
	u64 start = fake_now;
	outb(CONTROL, 0x34); /* counter 0, LSB then MSB, mode 2, binary */
	outb(COUNTER0, 11932 & 0xff);
	outb(COUNTER0, 11932 >> 8);
	/* OUT rises every 11932 ticks: the first at 11932e9/1193182 ns = 10000150.86 */
	advance_to(start + 10000150);
	assert_int_equal(irq_rises[0], 0);
	advance_to(start + 10000151);
	assert_int_equal(irq_rises[0], 1);
	assert_false(irq_level[0]); /* a pulse */
	/* In 1 s: floor(1193182 / 11932) = 99 periods. */
	advance_to(start + NS_PER_SECOND);
	assert_int_equal(irq_rises[0], 99);
	/* Count at 1.005 s: 1199147 ticks, 1199147 mod 11932 = 5947. */
	advance_to(start + NS_PER_SECOND + 5000000);
	assert_int_equal(latched_read(COUNTER0, 0x00), 11932 - 5947);
}

static void test_mode2_count_read(void **state)
{
	u64 start = fake_now;
	outb(CONTROL, 0x34);
	outb(COUNTER0, 11932 & 0xff);
	outb(COUNTER0, 11932 >> 8);
	advance_to(start + 5000000); /* 5 ms = 5965.91 ticks */
	assert_int_equal(latched_read(COUNTER0, 0x00), 11932 - 5965);
	/* Unlatched LSB/MSB reads alternate too. */
	u8 lo = inb(COUNTER0), hi = inb(COUNTER0);
	assert_int_equal(lo | hi << 8, 11932 - 5965);
}

static void test_mode0_one_shot_interrupt(void **state)
{
	u64 start = fake_now;
	outb(CONTROL, 0x30); /* counter 0, LSB/MSB, mode 0 */
	outb(COUNTER0, 1193 & 0xff);
	outb(COUNTER0, 1193 >> 8);
	advance_to(start + 999000); /* terminal count at 999.85 us */
	assert_int_equal(irq_rises[0], 0);
	advance_to(start + 1000000);
	assert_int_equal(irq_rises[0], 1);
	advance(100 * 1000000);
	assert_int_equal(irq_rises[0], 1); /* one shot */
	/* Past zero it keeps counting down: 101 ms = 120511 ticks, 1193 - 120511 mod 2^16. */
	assert_int_equal(latched_read(COUNTER0, 0x00), 11754);
	/* Reprogramming re-arms it. */
	start = fake_now;
	outb(CONTROL, 0x30);
	outb(COUNTER0, 100);
	outb(COUNTER0, 0);
	advance_to(start + 84000); /* 100 ticks = 83.81 us */
	assert_int_equal(irq_rises[0], 2);
}

/* Linux's i8253 clockevent one-shot: mode 4 (0x38), then LSB/MSB of delta. */
static void test_mode4_one_shot_like_linux(void **state)
{
	outb(CONTROL, 0x38);
	advance(10 * 1000000);
	assert_int_equal(irq_rises[0], 0); /* no count yet */
	u64 start = fake_now;
	outb(COUNTER0, 1000 & 0xff);
	outb(COUNTER0, 1000 >> 8);
	/* OUT strobes low at count 0 (1000 ticks) and rises one clock later:
	 * 1001 / 1193182 s = 838.93 us. */
	advance_to(start + 838000);
	assert_int_equal(irq_rises[0], 0);
	advance_to(start + 839000);
	assert_int_equal(irq_rises[0], 1);
	advance(100 * 1000000);
	assert_int_equal(irq_rises[0], 1);
	/* A new count re-triggers it. */
	start = fake_now;
	outb(COUNTER0, 100);
	outb(COUNTER0, 0);
	advance_to(start + 85000); /* 101 ticks = 84.65 us */
	assert_int_equal(irq_rises[0], 2);
}

/* Linux pit_calibrate_tsc: channel 2, mode 0, 50 ms, polling port 0x61 bit 5. */
static void test_calibration_loop_on_channel2(void **state)
{
	const u16 latch = 1193182 / 20; /* CAL_LATCH for CAL_MS = 50: 59659 */
	outb(PORT_B, (inb(PORT_B) & ~0x02) | 0x01);
	outb(CONTROL, 0xb0); /* counter 2, LSB/MSB, mode 0 */
	outb(COUNTER2, latch & 0xff);
	outb(COUNTER2, latch >> 8);
	u64 start = fake_now;
	unsigned polls = 0;
	while (!(inb(PORT_B) & OUT2)) {
		advance(1000);
		assert_true(++polls < 100000);
	}
	/* 59659 / 1193182 s = 49999.92 us, +-1 tick (0.84 us), polled every 1 us. */
	u64 us = (fake_now - start) / 1000;
	assert_in_range(us, 49999, 50002);
	assert_int_equal(irq_rises[0], 0); /* channel 2 has no interrupt */
}

/* Linux quick_pit_calibrate: mode 0 from 0xffff, MSB read after LSB. */
static void test_quick_calibrate_msb_sequence(void **state)
{
	outb(PORT_B, (inb(PORT_B) & ~0x02) | 0x01);
	outb(CONTROL, 0xb0);
	outb(COUNTER2, 0xff);
	outb(COUNTER2, 0xff);
	u64 start = fake_now;
	for (unsigned expected = 0xff; expected > 0xf0; expected--) {
		/* MSB = expected while 0xffff - ticks has it: ticks in [0xff - expected] * 256 ... */
		u64 ticks = (0xff - expected) * 256 + 128;
		advance_to(start + ticks * NS_PER_SECOND / 1193182 + 1);
		inb(COUNTER2);
		assert_int_equal(inb(COUNTER2), expected);
	}
}

static void test_gate_controls_channel2(void **state)
{
	outb(PORT_B, 0x00); /* gate low */
	outb(CONTROL, 0xb0);
	outb(COUNTER2, 1000 & 0xff);
	outb(COUNTER2, 1000 >> 8);
	advance(10 * 1000000);
	assert_int_equal(inb(PORT_B) & OUT2, 0);
	assert_int_equal(latched_read(COUNTER2, 0x80), 1000); /* mode 0 waits for the gate */
	u64 start = fake_now;
	outb(PORT_B, 0x01);
	advance_to(start + 419000); /* 500 ticks = 419.05 us */
	assert_int_equal(latched_read(COUNTER2, 0x80), 1000 - 499);
	outb(PORT_B, 0x00); /* pause */
	advance(10 * 1000000);
	assert_int_equal(latched_read(COUNTER2, 0x80), 1000 - 499);
	start = fake_now;
	outb(PORT_B, 0x01); /* resume: 501 ticks to go = 419.89 us */
	advance_to(start + 419000);
	assert_int_equal(inb(PORT_B) & OUT2, 0);
	advance_to(start + 421000);
	assert_int_equal(inb(PORT_B) & OUT2, OUT2);
}

static void test_mode3_square_wave_on_out2(void **state)
{
	outb(PORT_B, 0x03); /* gate on, speaker on */
	outb(CONTROL, 0xb6); /* counter 2, LSB/MSB, mode 3 */
	outb(COUNTER2, 1000 & 0xff);
	outb(COUNTER2, 1000 >> 8);
	u64 start = fake_now;
	/* High for 500 ticks (419.05 us), low for 500, period 838.1 us. */
	advance_to(start + 100000);
	assert_int_equal(inb(PORT_B) & OUT2, OUT2);
	/* Mode 3 counts down by two: 100 us = 119.3 ticks -> 1000 - 238. */
	assert_int_equal(latched_read(COUNTER2, 0x80), 1000 - 238);
	advance_to(start + 600000);
	assert_int_equal(inb(PORT_B) & OUT2, 0);
	advance_to(start + 900000);
	assert_int_equal(inb(PORT_B) & OUT2, OUT2);
	/* Gate low forces OUT high, even in the low half. */
	advance_to(start + 1500000); /* 1789 ticks: 789 into the period */
	assert_int_equal(inb(PORT_B) & OUT2, 0);
	outb(PORT_B, 0x02);
	assert_int_equal(inb(PORT_B) & OUT2, OUT2);
}

static void test_port61_bits(void **state)
{
	outb(PORT_B, 0x03);
	u8 a = inb(PORT_B), b = inb(PORT_B);
	assert_int_equal(a & 0x03, 0x03); /* gate and speaker read back */
	assert_int_equal((a ^ b) & 0x10, 0x10); /* refresh toggles */
	assert_int_equal(a & 0xc0, 0);           /* no parity/IOCHK errors */
	outb(PORT_B, 0x00);
	assert_int_equal(inb(PORT_B) & 0x03, 0);
}

static void test_latch_holds_value(void **state)
{
	outb(CONTROL, 0x34);
	outb(COUNTER0, 0);
	outb(COUNTER0, 0); /* 0 = 65536 */
	advance(1000000); /* 1193.18 ticks */
	outb(CONTROL, 0x00);
	advance(1000000);
	outb(CONTROL, 0x00); /* ignored: the first latch is unread */
	assert_int_equal(inb(COUNTER0), (65536 - 1193) & 0xff);
	assert_int_equal(inb(COUNTER0), (65536 - 1193) >> 8);
	/* Next reads follow the counter again (2 ms = 2386.36 ticks). */
	assert_int_equal(latched_read(COUNTER0, 0x00), 65536 - 2386);
}

static void test_read_back(void **state)
{
	outb(CONTROL, 0x34);
	/* Read-back status of counter 0: OUT high (mode 2), null count, RW=3, mode 2. */
	outb(CONTROL, 0xe2);
	assert_int_equal(inb(COUNTER0), 0x80 | 0x40 | 0x30 | 0x04);
	outb(COUNTER0, 0x10);
	outb(COUNTER0, 0x27); /* 10000 */
	advance(1000000);
	/* Status and count of counters 0 and 2; status comes first. */
	outb(CONTROL, 0xb0); /* counter 2, mode 0 */
	outb(CONTROL, 0xca);  /* 11 0 0 1 0 1 0: count+status, counters 2 and 0 */
	assert_int_equal(inb(COUNTER0), 0x80 | 0x30 | 0x04);
	assert_int_equal(inb(COUNTER0), (10000 - 1193) & 0xff);
	assert_int_equal(inb(COUNTER0), (10000 - 1193) >> 8);
	assert_int_equal(inb(COUNTER2), 0x40 | 0x30 | 0x00); /* mode 0: OUT low */
	/* Status only: the unread count latch of counter 2 stays. */
	outb(CONTROL, 0xe8);
	advance(1000000);
	outb(CONTROL, 0xd8); /* count only, counter 2: ignored, still latched */
	assert_int_equal(inb(COUNTER2), 0x40 | 0x30);
}

static void test_access_modes(void **state)
{
	outb(CONTROL, 0x10); /* counter 0, LSB only, mode 0 */
	outb(COUNTER0, 200);
	advance(83900); /* 100.1 ticks */
	assert_int_equal(inb(COUNTER0), 100);
	assert_int_equal(inb(COUNTER0), 100);
	outb(CONTROL, 0x20); /* MSB only */
	outb(COUNTER0, 0x02); /* 512 */
	advance(83900);
	assert_int_equal(inb(COUNTER0), 0x01); /* 412 = 0x19c */
	outb(CONTROL, 0x00);
	assert_int_equal(inb(COUNTER0), 0x01);
	/* Read-back status shows the access mode written. */
	outb(CONTROL, 0xe2);
	assert_int_equal(inb(COUNTER0) & 0x30, 0x20);
}

static void test_mode0_first_byte_stops_count(void **state)
{
	outb(CONTROL, 0x30);
	outb(COUNTER0, 100);
	outb(COUNTER0, 0);
	outb(COUNTER0, 50); /* LSB of a new count: counting stops, OUT stays low */
	advance(1000000);
	assert_int_equal(irq_rises[0], 0);
	outb(COUNTER0, 0);
	advance(1000000);
	assert_int_equal(irq_rises[0], 1);
}

/* Pulses on IRQ 0 over one second of guest time, in steps the fake
 * timers' runaway guard allows. */
static unsigned pulses_in_a_second(void)
{
	unsigned before = irq_rises[0];
	for (unsigned step = 0; step < 10; step++)
		advance(NS_PER_SECOND / 10);
	return irq_rises[0] - before;
}

/* Count 1 (838 ns) in modes 2 and 3: one pulse per floor period, no more. */
static void test_fastest_rate_is_floored(void **state)
{
	static const u8 modes[] = { 0x34, 0x36 };
	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
		outb(CONTROL, modes[i]);
		outb(COUNTER0, 1);
		outb(COUNTER0, 0);
		assert_in_range(pulses_in_a_second(), NS_PER_SECOND / VTIMER_MIN_PERIOD_NS * 99 / 100,
				NS_PER_SECOND / VTIMER_MIN_PERIOD_NS);
	}
}

/* Linux's HZ=1000 tick (count 1193) keeps its rate: 1193182 / 1193 per second. */
static void test_1khz_rate_is_kept(void **state)
{
	outb(CONTROL, 0x34);
	outb(COUNTER0, 1193 & 0xff);
	outb(COUNTER0, 1193 >> 8);
	assert_int_equal(pulses_in_a_second(), 1000);
}

static void test_hostile_writes(void **state)
{
	static const u16 ports[] = { 0x40, 0x41, 0x42, 0x43, 0x61 };
	srand(8254);
	for (unsigned i = 0; i < 100000; i++) {
		u16 port = ports[rand() % ARRAY_SIZE(ports)];
		unsigned size = 1u << (rand() % 3);
		u64 v;
		if (rand() % 2)
			io_bus_write(&vm.pio, NULL, "test", port, size, (u64)rand());
		else
			io_bus_read(&vm.pio, NULL, "test", port, size, &v);
		advance((u64)(rand() % 5000));
	}
	advance(NS_PER_SECOND);
}

#define PIT_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PIT_TEST(test_unprogrammed_is_silent),
		PIT_TEST(test_mode2_periodic_interrupts),
		PIT_TEST(test_mode2_count_read),
		PIT_TEST(test_mode0_one_shot_interrupt),
		PIT_TEST(test_mode4_one_shot_like_linux),
		PIT_TEST(test_calibration_loop_on_channel2),
		PIT_TEST(test_quick_calibrate_msb_sequence),
		PIT_TEST(test_gate_controls_channel2),
		PIT_TEST(test_mode3_square_wave_on_out2),
		PIT_TEST(test_port61_bits),
		PIT_TEST(test_latch_holds_value),
		PIT_TEST(test_read_back),
		PIT_TEST(test_access_modes),
		PIT_TEST(test_mode0_first_byte_stops_count),
		PIT_TEST(test_fastest_rate_is_floored),
		PIT_TEST(test_1khz_rate_is_kept),
		PIT_TEST(test_hostile_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
