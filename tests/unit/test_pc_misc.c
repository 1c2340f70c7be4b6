/*
 * Unit tests for port 0x92 and the i8042 keyboard controller model
 * (vmm/dev/pc_misc.c) through the real port bus. Expected values follow
 * the PC/AT and PS/2 conventions (8042 status bits, command set, output
 * port bit 0 = reset, 0x55 self-test pass) and what Linux's
 * drivers/input/serio/i8042.c probe expects.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* Device handlers ignore (vcpu, size) like every model. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/iobus.c"
#include "vmm/dev/pc_misc.c"
#include "tests/unit/device_fakes.h"

/* ---- Fakes ---- */


static unsigned resets;
void vm_request_reset(struct vm *vm) { resets++; }

static struct pc_misc *misc;


static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	resets = 0;
	misc = pc_misc_create(&vm);
	return misc ? 0 : -1;
}

static int teardown(void **state)
{
	free(misc);
	return 0;
}

#define DATA 0x60
#define STATUS 0x64
#define ST_OBF 0x01
#define ST_IBF 0x02
#define ST_SYS 0x04
#define ST_CMD 0x08
#define ST_UNLOCKED 0x10
#define ST_AUX 0x20

/* i8042_command as Linux does it: wait IBF clear, write, wait OBF. */
static int command(u8 cmd, const u8 *out, unsigned out_count, u8 *in)
{
	assert_int_equal(inb(STATUS) & ST_IBF, 0);
	outb(STATUS, cmd);
	for (unsigned i = 0; i < out_count; i++) {
		assert_int_equal(inb(STATUS) & ST_IBF, 0);
		outb(DATA, out[i]);
	}
	if (!in)
		return 0;
	if (!(inb(STATUS) & ST_OBF))
		return -1; /* Linux would time out */
	*in = inb(DATA);
	return 0;
}

/* ---- Tests ---- */

static void test_port92(void **state)
{
	assert_int_equal(inb(0x92) & 0x03, 0x02); /* A20 on, no reset */
	outb(0x92, 0x00);
	assert_int_equal(inb(0x92) & 0x02, 0x02); /* A20 cannot be turned off */
	outb(0x92, 0x02 | 0x08);
	assert_int_equal(inb(0x92), 0x0a);         /* other bits read back */
	assert_int_equal(resets, 0);
	outb(0x92, inb(0x92) | 0x01);              /* fast reset */
	assert_int_equal(resets, 1);
}

static void test_status_after_power_on(void **state)
{
	u8 st = inb(STATUS);
	assert_int_equal(st & (ST_OBF | ST_IBF | ST_AUX), 0);
	assert_int_equal(st & (ST_SYS | ST_UNLOCKED), ST_SYS | ST_UNLOCKED);
}

static void test_self_test(void **state)
{
	u8 v = 0;
	assert_int_equal(command(0xaa, NULL, 0, &v), 0);
	assert_int_equal(v, 0x55);
	assert_int_equal(inb(STATUS) & ST_OBF, 0);
	assert_int_equal(inb(STATUS) & ST_SYS, ST_SYS);
	assert_int_equal(command(0xab, NULL, 0, &v), 0); /* keyboard interface test */
	assert_int_equal(v, 0x00);
	outb(STATUS, 0xaa);
	assert_int_equal(inb(STATUS) & (ST_OBF | ST_CMD), ST_OBF | ST_CMD);
}

static void test_command_byte(void **state)
{
	u8 ctr = 0;
	assert_int_equal(command(0x20, NULL, 0, &ctr), 0);
	assert_int_equal(ctr & 0x04, 0x04); /* system flag */
	const u8 new_ctr = 0x65;
	command(0x60, &new_ctr, 1, NULL);
	assert_int_equal(inb(STATUS) & ST_CMD, 0); /* last write was data */
	assert_int_equal(command(0x20, NULL, 0, &ctr), 0);
	assert_int_equal(ctr, 0x65);
	command(0xad, NULL, 0, NULL); /* disable keyboard: bit 4 */
	command(0xa7, NULL, 0, NULL); /* disable aux: bit 5 */
	command(0x20, NULL, 0, &ctr);
	assert_int_equal(ctr & 0x30, 0x30);
	command(0xae, NULL, 0, NULL);
	command(0xa8, NULL, 0, NULL);
	command(0x20, NULL, 0, &ctr);
	assert_int_equal(ctr & 0x30, 0x00);
	const u8 no_sys = 0x41;
	command(0x60, &no_sys, 1, NULL);
	assert_int_equal(inb(STATUS) & ST_SYS, 0);
}

static void test_reset_pulse(void **state)
{
	outb(STATUS, 0xff); /* pulses nothing */
	assert_int_equal(resets, 0);
	outb(STATUS, 0xfe); /* Linux's reboot: pulse output bit 0 */
	assert_int_equal(resets, 1);
	outb(STATUS, 0xf0);
	assert_int_equal(resets, 2);
}

static void test_output_port(void **state)
{
	u8 v = 0;
	assert_int_equal(command(0xd0, NULL, 0, &v), 0);
	assert_int_equal(v & 0x03, 0x03); /* not in reset, A20 on */
	const u8 keep = 0xdf;
	command(0xd1, &keep, 1, NULL);
	assert_int_equal(resets, 0);
	command(0xd0, NULL, 0, &v);
	assert_int_equal(v, 0xdf);
	const u8 reset = 0xde;
	command(0xd1, &reset, 1, NULL);
	assert_int_equal(resets, 1);
}

/* Linux i8042_check_aux: loopback must come back flagged AUX, else the
 * interface test decides; 0x00, 0xfa and 0xff would mean "AUX present". */
static void test_no_aux_port(void **state)
{
	u8 param = 0x5a;
	assert_int_equal(command(0xd3, &param, 1, NULL), 0);
	assert_true(inb(STATUS) & ST_OBF);
	assert_int_equal(inb(STATUS) & ST_AUX, 0);
	assert_int_equal(inb(DATA), 0x5a);
	assert_int_equal(command(0xa9, NULL, 0, &param), 0);
	assert_true(param != 0x00 && param != 0xfa && param != 0xff);
}

static void test_keyboard_bytes_are_dropped(void **state)
{
	outb(DATA, 0xf2); /* GET ID to a keyboard that is not there */
	assert_int_equal(inb(STATUS) & ST_OBF, 0);
	const u8 b = 0xf4;
	command(0xd4, &b, 1, NULL); /* to the mouse */
	assert_int_equal(inb(STATUS) & ST_OBF, 0);
	/* 0xd2 writes the keyboard output buffer as if the keyboard sent it. */
	const u8 key = 0x1c;
	command(0xd2, &key, 1, NULL);
	assert_int_equal(inb(DATA), 0x1c);
	assert_int_equal(inb(DATA), 0x1c); /* an empty buffer repeats its last byte */
}

static void test_hostile_writes(void **state)
{
	static const u16 ports[] = { 0x60, 0x64, 0x92 };
	srand(8042);
	for (unsigned i = 0; i < 100000; i++) {
		u16 port = ports[rand() % ARRAY_SIZE(ports)];
		unsigned size = 1u << (rand() % 3);
		u64 v;
		if (rand() % 2)
			io_bus_write(&vm.pio, NULL, "test", port, size, (u64)rand());
		else
			io_bus_read(&vm.pio, NULL, "test", port, size, &v);
	}
	u8 v = 0;
	assert_int_equal(command(0xaa, NULL, 0, &v), 0);
	assert_int_equal(v, 0x55);
}

#define MISC_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MISC_TEST(test_port92),
		MISC_TEST(test_status_after_power_on),
		MISC_TEST(test_self_test),
		MISC_TEST(test_command_byte),
		MISC_TEST(test_reset_pulse),
		MISC_TEST(test_output_port),
		MISC_TEST(test_no_aux_port),
		MISC_TEST(test_keyboard_bytes_are_dropped),
		MISC_TEST(test_hostile_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
