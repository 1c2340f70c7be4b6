/*
 * Unit tests for the 8259A PIC pair model (vmm/dev/i8259.c), driven through
 * the real port bus the way a guest programs it. Expected values follow the
 * Intel 8259A datasheet and Linux's arch/x86/kernel/i8259.c sequences.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* Device handlers ignore (vcpu, size) like every model. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/iobus.c"
#include "vmm/dev/i8259.c"
#include "tests/unit/device_fakes.h"

/* ---- Fakes for what the model links against ---- */


static struct i8259 *pic;
static unsigned notifications;


#define MASTER_CMD 0x20
#define MASTER_IMR 0x21
#define SLAVE_CMD 0xa0
#define SLAVE_IMR 0xa1
#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b
#define OCW3_POLL_COMMAND 0x0c
#define NONSPECIFIC_EOI 0x20
#define SPECIFIC_EOI 0x60

static void count_notify(void *opaque) { notifications++; }

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	pic = i8259_create(&vm);
	notifications = 0;
	i8259_set_notify(pic, count_notify, NULL);
	return pic ? 0 : -1;
}

static int teardown(void **state)
{
	free(pic);
	return 0;
}

/* Linux's init_8259A(0): vectors 0x30/0x38, slave on IR2, 8086 mode. */
static void linux_init(void)
{
	outb(MASTER_IMR, 0xff);
	outb(SLAVE_IMR, 0xff);
	outb(MASTER_CMD, 0x11);
	outb(MASTER_IMR, 0x30);
	outb(MASTER_IMR, 0x04);
	outb(MASTER_IMR, 0x01);
	outb(SLAVE_CMD, 0x11);
	outb(SLAVE_IMR, 0x38);
	outb(SLAVE_IMR, 0x02);
	outb(SLAVE_IMR, 0x01);
}

static u8 read_isr(u16 cmd)
{
	outb(cmd, OCW3_READ_ISR);
	u8 v = inb(cmd);
	outb(cmd, OCW3_READ_IRR);
	return v;
}

static void pulse(unsigned irq)
{
	i8259_set_irq(pic, irq, true);
	i8259_set_irq(pic, irq, false);
}

/* ---- Tests ---- */

static void test_power_on_delivers_nothing(void **state)
{
	pulse(0);
	assert_false(i8259_has_interrupt(pic));
	assert_int_equal(inb(MASTER_IMR), 0xff);
}

static void test_linux_probe_and_init(void **state)
{
	/* probe_8259A: mask everything but the cascade, read it back. */
	outb(SLAVE_IMR, 0xff);
	outb(MASTER_IMR, 0xfb);
	assert_int_equal(inb(MASTER_IMR), 0xfb);
	assert_int_equal(inb(SLAVE_IMR), 0xff);
	linux_init();
	/* ICW1 cleared the IMRs; the ICWs did not land in them. */
	assert_int_equal(inb(MASTER_IMR), 0x00);
	assert_int_equal(inb(SLAVE_IMR), 0x00);
	outb(MASTER_IMR, 0xfb); /* restore cached masks as Linux does */
	outb(SLAVE_IMR, 0xff);
	assert_int_equal(inb(MASTER_IMR), 0xfb);
	assert_int_equal(inb(SLAVE_IMR), 0xff);
	/* After ICW1 the read register is IRR. */
	assert_int_equal(inb(MASTER_CMD), 0x00);

	outb(MASTER_IMR, 0xfa); /* unmask IRQ0 */
	pulse(0);
	assert_int_equal(inb(MASTER_CMD), 0x01); /* IRR */
	assert_true(i8259_has_interrupt(pic));
	assert_int_equal(notifications, 1);
	assert_int_equal(i8259_acknowledge(pic), 0x30);
	assert_false(i8259_has_interrupt(pic));
	assert_int_equal(read_isr(MASTER_CMD), 0x01);
	assert_int_equal(inb(MASTER_CMD), 0x00); /* edge request consumed */
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	assert_int_equal(read_isr(MASTER_CMD), 0x00);
	assert_false(i8259_has_interrupt(pic));
}

static void test_priority_and_nesting(void **state)
{
	linux_init();
	i8259_set_irq(pic, 4, true);
	i8259_set_irq(pic, 3, true);
	assert_int_equal(i8259_acknowledge(pic), 0x33); /* IR3 outranks IR4 */
	assert_false(i8259_has_interrupt(pic));         /* IR4 waits for IR3 */
	pulse(1);
	assert_true(i8259_has_interrupt(pic));          /* IR1 nests */
	assert_int_equal(i8259_acknowledge(pic), 0x31);
	assert_int_equal(read_isr(MASTER_CMD), 0x0a);
	pulse(5);
	assert_false(i8259_has_interrupt(pic));
	outb(MASTER_CMD, NONSPECIFIC_EOI); /* non-specific: the highest in service, IR1 */
	assert_int_equal(read_isr(MASTER_CMD), 0x08);
	assert_false(i8259_has_interrupt(pic));
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	assert_int_equal(read_isr(MASTER_CMD), 0x00);
	assert_int_equal(i8259_acknowledge(pic), 0x34);
	outb(MASTER_CMD, SPECIFIC_EOI | 4);
	assert_int_equal(i8259_acknowledge(pic), 0x35);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	assert_false(i8259_has_interrupt(pic));
}

static void test_slave_cascade(void **state)
{
	linux_init();
	pulse(12);
	assert_true(i8259_has_interrupt(pic));
	assert_int_equal(inb(SLAVE_CMD), 0x10);
	assert_int_equal(i8259_acknowledge(pic), 0x3c);
	assert_int_equal(read_isr(MASTER_CMD), 0x04);
	assert_int_equal(read_isr(SLAVE_CMD), 0x10);
	/* IRQ 3 ranks below IR2 (the cascade in service); IRQ 1 above it. */
	pulse(3);
	assert_false(i8259_has_interrupt(pic));
	pulse(1);
	assert_int_equal(i8259_acknowledge(pic), 0x31);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	/* Linux's slave EOI: specific on the slave, then the cascade on the master. */
	outb(SLAVE_CMD, SPECIFIC_EOI | 4);
	outb(MASTER_CMD, SPECIFIC_EOI | 2);
	assert_int_equal(read_isr(SLAVE_CMD), 0x00);
	assert_int_equal(read_isr(MASTER_CMD), 0x00);
	assert_int_equal(i8259_acknowledge(pic), 0x33);
	outb(MASTER_CMD, NONSPECIFIC_EOI);

	/* Two slave requests: the second comes after both EOIs. */
	pulse(9);
	pulse(15);
	assert_int_equal(i8259_acknowledge(pic), 0x39);
	assert_false(i8259_has_interrupt(pic));
	outb(SLAVE_CMD, SPECIFIC_EOI | 1);
	assert_false(i8259_has_interrupt(pic)); /* cascade still in service */
	outb(MASTER_CMD, SPECIFIC_EOI | 2);
	assert_true(i8259_has_interrupt(pic));
	assert_int_equal(i8259_acknowledge(pic), 0x3f);
	assert_int_equal(read_isr(SLAVE_CMD), 0x80); /* a real IRQ15 is in service */
}

static void test_masking(void **state)
{
	linux_init();
	outb(MASTER_IMR, 0x10); /* mask IRQ 4 */
	pulse(4);
	assert_false(i8259_has_interrupt(pic));
	assert_int_equal(inb(MASTER_CMD), 0x10); /* still requested in IRR */
	outb(MASTER_IMR, 0x00);
	assert_true(i8259_has_interrupt(pic));
	assert_int_equal(i8259_acknowledge(pic), 0x34);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	/* Masking the cascade masks the whole slave. */
	outb(MASTER_IMR, 0x04);
	pulse(8);
	assert_false(i8259_has_interrupt(pic));
	outb(MASTER_IMR, 0x00);
	assert_int_equal(i8259_acknowledge(pic), 0x38);
}

static void test_level_and_edge(void **state)
{
	linux_init();
	/* ELCR: IRQ 0, 1, 2, 8, 13 can never be level. */
	outb(0x4d0, 0xff);
	outb(0x4d1, 0xff);
	assert_int_equal(inb(0x4d0), 0xf8);
	assert_int_equal(inb(0x4d1), 0xde);
	outb(0x4d0, 0x00);
	outb(0x4d1, 0x04); /* IRQ 10 level */
	i8259_set_irq(pic, 10, true);
	assert_int_equal(i8259_acknowledge(pic), 0x3a);
	outb(SLAVE_CMD, NONSPECIFIC_EOI);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	/* Line still high: requested again. */
	assert_true(i8259_has_interrupt(pic));
	assert_int_equal(i8259_acknowledge(pic), 0x3a);
	i8259_set_irq(pic, 10, false);
	outb(SLAVE_CMD, NONSPECIFIC_EOI);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	assert_false(i8259_has_interrupt(pic));
	assert_int_equal(inb(SLAVE_CMD), 0x00);

	/* Edge: a held line requests once; a new rising edge is needed. */
	i8259_set_irq(pic, 5, true);
	assert_int_equal(i8259_acknowledge(pic), 0x35);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	assert_false(i8259_has_interrupt(pic));
	i8259_set_irq(pic, 5, true);
	assert_false(i8259_has_interrupt(pic));
	i8259_set_irq(pic, 5, false);
	i8259_set_irq(pic, 5, true);
	assert_int_equal(i8259_acknowledge(pic), 0x35);
}

static void test_spurious_irq7(void **state)
{
	linux_init();
	outb(0x4d0, 0x20); /* IRQ 5 level */
	i8259_set_irq(pic, 5, true);
	assert_true(i8259_has_interrupt(pic));
	i8259_set_irq(pic, 5, false); /* gone before INTA */
	assert_int_equal(i8259_acknowledge(pic), 0x37);
	/* Linux's i8259A_irq_real(7): a spurious IRQ7 is not in service. */
	assert_int_equal(read_isr(MASTER_CMD), 0x00);

	/* Masked between INTR and INTA (Linux masks in mask_and_ack). */
	pulse(6);
	assert_true(i8259_has_interrupt(pic));
	outb(MASTER_IMR, 0x40);
	assert_int_equal(i8259_acknowledge(pic), 0x37);
	assert_int_equal(read_isr(MASTER_CMD), 0x00);
	outb(MASTER_IMR, 0x00);
	assert_int_equal(i8259_acknowledge(pic), 0x36);
	outb(MASTER_CMD, NONSPECIFIC_EOI);

	/* A vanished slave request takes the cascade request with it. */
	outb(0x4d1, 0x08); /* IRQ 11 level */
	i8259_set_irq(pic, 11, true);
	assert_true(i8259_has_interrupt(pic));
	i8259_set_irq(pic, 11, false);
	assert_int_equal(i8259_acknowledge(pic), 0x37);
	assert_int_equal(read_isr(SLAVE_CMD), 0x00);
	assert_int_equal(read_isr(MASTER_CMD), 0x00);

	/* A real IRQ 7 is in service. */
	pulse(7);
	assert_int_equal(i8259_acknowledge(pic), 0x37);
	assert_int_equal(read_isr(MASTER_CMD), 0x80);
}

static void test_auto_eoi(void **state)
{
	outb(MASTER_CMD, 0x11);
	outb(MASTER_IMR, 0x20);
	outb(MASTER_IMR, 0x04);
	outb(MASTER_IMR, 0x03); /* AEOI */
	pulse(3);
	assert_int_equal(i8259_acknowledge(pic), 0x23);
	assert_int_equal(read_isr(MASTER_CMD), 0x00);
	pulse(4); /* nothing in service, so a lower priority gets through */
	assert_int_equal(i8259_acknowledge(pic), 0x24);
}

static void test_poll_mode(void **state)
{
	linux_init();
	outb(MASTER_CMD, OCW3_POLL_COMMAND);
	assert_int_equal(inb(MASTER_CMD), 0x00); /* nothing pending */
	pulse(6);
	pulse(3);
	outb(MASTER_CMD, OCW3_POLL_COMMAND);
	assert_int_equal(inb(MASTER_CMD), 0x83);
	assert_int_equal(read_isr(MASTER_CMD), 0x08);
	assert_int_equal(inb(MASTER_CMD), 0x40); /* poll lasts one read: IRR again */
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	outb(MASTER_CMD, OCW3_POLL_COMMAND);
	assert_int_equal(inb(MASTER_CMD), 0x86);
}

static void test_rotation(void **state)
{
	linux_init();
	outb(MASTER_CMD, 0xc3); /* set priority: IR3 lowest, so IR4 highest */
	pulse(3);
	pulse(4);
	assert_int_equal(i8259_acknowledge(pic), 0x34);
	outb(MASTER_CMD, NONSPECIFIC_EOI);
	assert_int_equal(i8259_acknowledge(pic), 0x33);
	outb(MASTER_CMD, 0xa0); /* rotate on non-specific EOI: IR3 becomes lowest */
	assert_int_equal(read_isr(MASTER_CMD), 0x00);
	pulse(3);
	pulse(0);
	assert_int_equal(i8259_acknowledge(pic), 0x30);
	outb(MASTER_CMD, 0xe0); /* rotate on specific EOI of IR0: IR1 highest */
	pulse(0);
	pulse(1);
	assert_int_equal(i8259_acknowledge(pic), 0x31);
}

static void test_single_mode_without_icw4(void **state)
{
	outb(MASTER_CMD, 0x12); /* single, no ICW4 */
	outb(MASTER_IMR, 0x48);
	outb(MASTER_IMR, 0xfd); /* already OCW1: only IRQ1 unmasked */
	assert_int_equal(inb(MASTER_IMR), 0xfd);
	pulse(1);
	assert_int_equal(i8259_acknowledge(pic), 0x49);
}

static void test_hostile_writes(void **state)
{
	static const u16 ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
	srand(8259);
	for (unsigned i = 0; i < 200000; i++) {
		u16 port = ports[rand() % ARRAY_SIZE(ports)];
		unsigned size = 1u << (rand() % 3);
		u64 v;
		if (rand() % 3)
			io_bus_write(&vm.pio, NULL, "test", port, size, (u64)rand());
		else
			io_bus_read(&vm.pio, NULL, "test", port, size, &v);
		if (rand() % 4 == 0)
			i8259_set_irq(pic, (unsigned)rand() % 20, rand() % 2);
		if (i8259_has_interrupt(pic) || rand() % 8 == 0) {
			int vector = i8259_acknowledge(pic);
			assert_in_range(vector, 0, 255);
		}
	}
	/* A fresh initialization still works. */
	outb(0x4d0, 0);
	outb(0x4d1, 0);
	for (unsigned irq = 0; irq < 16; irq++)
		i8259_set_irq(pic, irq, false);
	linux_init();
	pulse(14);
	assert_int_equal(i8259_acknowledge(pic), 0x3e);
}

#define PIC_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		PIC_TEST(test_power_on_delivers_nothing),
		PIC_TEST(test_linux_probe_and_init),
		PIC_TEST(test_priority_and_nesting),
		PIC_TEST(test_slave_cascade),
		PIC_TEST(test_masking),
		PIC_TEST(test_level_and_edge),
		PIC_TEST(test_spurious_irq7),
		PIC_TEST(test_auto_eoi),
		PIC_TEST(test_poll_mode),
		PIC_TEST(test_rotation),
		PIC_TEST(test_single_mode_without_icw4),
		PIC_TEST(test_hostile_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
