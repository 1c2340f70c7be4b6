/*
 * Unit tests for the I/O APIC model (vmm/dev/ioapic.c). Expected values
 * follow the Intel 82093AA datasheet: indirect access through IOREGSEL
 * (0x00) / IOWIN (0x10), the version register (version in bits 7:0, maximum
 * redirection entry in bits 23:16), the redirection entry layout with
 * delivery status and remote IRR read-only, masked entries after reset,
 * edge vs level delivery and remote IRR cleared by the EOI.
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* cmocka test functions ignore their state; MMIO handlers ignore size. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/dev/ioapic.c"

/* ---- Fakes ---- */

struct delivery {
	u32 destination;
	bool logical;
	u8 vector, mode;
	bool level;
};

static struct delivery last;
static unsigned deliveries;
static bool refuse; /* no local APIC accepts the messages */
static struct ioapic io;

static bool fake_deliver(void *ctx, u32 destination, bool logical, u8 vector, u8 mode, bool level)
{
	last = (struct delivery){ destination, logical, vector, mode, level };
	deliveries++;
	return !refuse;
}

static const struct ioapic_ops ops = { .deliver = fake_deliver, .ctx = NULL };

static int setup(void **state)
{
	memset(&last, 0, sizeof(last));
	deliveries = 0;
	refuse = false;
	ioapic_init(&io, 2, &ops);
	return 0;
}

static u32 rd(u32 index)
{
	u64 v = ~0ULL;
	assert_int_equal(ioapic_mmio_write(&io, 0x00, 4, index), 0);
	assert_int_equal(ioapic_mmio_read(&io, 0x10, 4, &v), 0);
	return (u32)v;
}

static void wr(u32 index, u32 value)
{
	assert_int_equal(ioapic_mmio_write(&io, 0x00, 4, index), 0);
	assert_int_equal(ioapic_mmio_write(&io, 0x10, 4, value), 0);
}

static void program(unsigned pin, u32 low, u32 high)
{
	wr(0x11 + 2 * pin, high);
	wr(0x10 + 2 * pin, low);
}

/* ---- Tests ---- */

static void test_id_version_arbitration(void **state)
{
	u64 v;

	assert_int_equal(rd(0x00), 2u << 24);
	/* version 0x20, 24 entries (max redirection entry 23 = 0x17) */
	assert_int_equal(rd(0x01), 0x00170020);
	wr(0x01, 0);
	assert_int_equal(rd(0x01), 0x00170020);
	/* ID bits 27:24 only */
	wr(0x00, 0xffffffff);
	assert_int_equal(rd(0x00), 0x0f000000);
	assert_int_equal(rd(0x02) & 0x0f000000, 0x0f000000);
	/* IOREGSEL reads back */
	assert_int_equal(ioapic_mmio_write(&io, 0x00, 4, 0x15), 0);
	assert_int_equal(ioapic_mmio_read(&io, 0x00, 4, &v), 0);
	assert_int_equal(v, 0x15);
}

static void test_power_on_masked(void **state)
{
	for (unsigned pin = 0; pin < 24; pin++) {
		assert_int_equal(rd(0x10 + 2 * pin), 0x00010000);
		assert_int_equal(rd(0x11 + 2 * pin), 0);
		ioapic_set_irq(&io, pin, true);
		ioapic_set_irq(&io, pin, false);
	}
	assert_int_equal(deliveries, 0);
}

static void test_redirection_read_back(void **state)
{
	/* every writable bit plus delivery status (12) and remote IRR (14) */
	wr(0x10 + 2 * 5, 0xffffffff);
	assert_int_equal(rd(0x10 + 2 * 5), 0x0001afff);
	wr(0x11 + 2 * 5, 0xffffffff);
	assert_int_equal(rd(0x11 + 2 * 5), 0xff000000);
	/* the other entries are untouched */
	assert_int_equal(rd(0x10 + 2 * 4), 0x00010000);
	assert_int_equal(rd(0x10 + 2 * 6), 0x00010000);
}

static void test_edge_delivery(void **state)
{
	/* vector 0x30, fixed, physical, edge, unmasked, to APIC 1 */
	program(4, 0x00000030, 0x01000000);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(deliveries, 1);
	assert_int_equal(last.destination, 1);
	assert_false(last.logical);
	assert_int_equal(last.vector, 0x30);
	assert_int_equal(last.mode, 0);
	assert_false(last.level);
	/* staying high is not another edge */
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(deliveries, 1);
	ioapic_set_irq(&io, 4, false);
	assert_int_equal(deliveries, 1);
	ioapic_set_irq(&io, 4, true);
	assert_int_equal(deliveries, 2);
	/* edge entries never set remote IRR */
	assert_int_equal(rd(0x10 + 2 * 4) & BIT(14), 0);
	/* a masked edge is lost */
	ioapic_set_irq(&io, 4, false);
	program(4, 0x00010030, 0x01000000);
	ioapic_set_irq(&io, 4, true);
	program(4, 0x00000030, 0x01000000);
	assert_int_equal(deliveries, 2);
}

static void test_level_remote_irr_and_eoi(void **state)
{
	/* vector 0x41, lowest priority (1), logical, active low, level */
	program(9, 0x0000a941, 0x03000000);
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(deliveries, 1);
	assert_int_equal(last.destination, 3);
	assert_true(last.logical);
	assert_int_equal(last.mode, 1);
	assert_true(last.level);
	assert_true(rd(0x10 + 2 * 9) & BIT(14));
	/* remote IRR holds off re-delivery while asserted */
	ioapic_set_irq(&io, 9, true);
	assert_int_equal(deliveries, 1);
	/* remote IRR is read-only */
	wr(0x10 + 2 * 9, 0x0000a941);
	assert_true(rd(0x10 + 2 * 9) & BIT(14));
	assert_int_equal(deliveries, 1);
	/* EOI of another vector does nothing */
	ioapic_eoi(&io, 0x42);
	assert_int_equal(deliveries, 1);
	/* EOI while still asserted: re-delivered, remote IRR set again */
	ioapic_eoi(&io, 0x41);
	assert_int_equal(deliveries, 2);
	assert_true(rd(0x10 + 2 * 9) & BIT(14));
	/* deasserted, then EOI: remote IRR clear, nothing sent */
	ioapic_set_irq(&io, 9, false);
	ioapic_eoi(&io, 0x41);
	assert_int_equal(deliveries, 2);
	assert_int_equal(rd(0x10 + 2 * 9) & BIT(14), 0);
}

/* Remote IRR is set when a local APIC accepts the level interrupt
 * (82093AA): a message nobody took leaves it clear, and the next change of
 * the entry (here the corrected destination) delivers the asserted line. */
static void test_level_refused_leaves_remote_irr_clear(void **state)
{
	refuse = true;
	program(11, 0x0000803b, 0x05000000);
	ioapic_set_irq(&io, 11, true);
	assert_int_equal(deliveries, 1);
	assert_int_equal(rd(0x10 + 2 * 11) & BIT(14), 0);
	refuse = false;
	program(11, 0x0000803b, 0);
	assert_int_equal(deliveries, 2);
	assert_int_equal(last.destination, 0);
	assert_true(rd(0x10 + 2 * 11) & BIT(14));
}

static void test_level_unmask_while_asserted(void **state)
{
	program(10, 0x00018050, 0); /* level, masked */
	ioapic_set_irq(&io, 10, true);
	assert_int_equal(deliveries, 0);
	program(10, 0x00008050, 0);
	assert_int_equal(deliveries, 1);
	assert_int_equal(last.vector, 0x50);
}

static void test_eoi_register_and_edge_switch(void **state)
{
	program(11, 0x00008060, 0);
	ioapic_set_irq(&io, 11, true);
	assert_int_equal(deliveries, 1);
	/* version 0x20 EOI register at 0x40 */
	assert_int_equal(ioapic_mmio_write(&io, 0x40, 4, 0x60), 0);
	assert_int_equal(deliveries, 2);
	/* switching the entry to edge clears remote IRR */
	wr(0x10 + 2 * 11, 0x00010060);
	assert_int_equal(rd(0x10 + 2 * 11) & BIT(14), 0);
}

static void test_out_of_range(void **state)
{
	u64 v;

	ioapic_set_irq(&io, 24, true);
	ioapic_set_irq(&io, 1000, true);
	assert_int_equal(deliveries, 0);
	/* index past entry 23 reads 0, writes are ignored */
	wr(0x40, 0xffffffff);
	assert_int_equal(rd(0x40), 0);
	assert_int_equal(ioapic_mmio_read(&io, 0x20, 4, &v), 0);
	assert_int_equal(v, 0);
}

#define IOAPIC_TEST(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		IOAPIC_TEST(test_id_version_arbitration),
		IOAPIC_TEST(test_power_on_masked),
		IOAPIC_TEST(test_redirection_read_back),
		IOAPIC_TEST(test_edge_delivery),
		IOAPIC_TEST(test_level_remote_irr_and_eoi),
		IOAPIC_TEST(test_level_unmask_while_asserted),
		IOAPIC_TEST(test_level_refused_leaves_remote_irr_clear),
		IOAPIC_TEST(test_eoi_register_and_edge_switch),
		IOAPIC_TEST(test_out_of_range),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
