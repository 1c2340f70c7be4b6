/* Unit tests for the host MADT parser (drivers/acpi.c): which processors
 * the hypervisor will try to start. */
#include "tests/unit/host_support.h"
#include "drivers/acpi.c"

#include <string.h>

#define MADT_BYTES 512

struct madt_builder {
	u8 bytes[MADT_BYTES];
	size_t length;
};

static void madt_begin(struct madt_builder *b)
{
	memset(b, 0, sizeof(*b));
	memset(&acpi_info, 0, sizeof(acpi_info));
	b->length = sizeof(struct acpi_madt);
}

static void *madt_entry(struct madt_builder *b, u8 type, u8 length)
{
	assert_true(b->length + length <= MADT_BYTES);
	struct acpi_madt_entry *e = (void *)(b->bytes + b->length);
	e->type = type;
	e->length = length;
	b->length += length;
	return e;
}

static void local_apic(struct madt_builder *b, u8 id, u32 flags)
{
	struct acpi_madt_local_apic *l = madt_entry(b, MADT_LOCAL_APIC, sizeof(*l));
	l->apic_id = id;
	l->flags = flags;
}

static void x2apic(struct madt_builder *b, u32 id, u32 flags)
{
	struct acpi_madt_local_x2apic *l = madt_entry(b, MADT_LOCAL_X2APIC, sizeof(*l));
	l->x2apic_id = id;
	l->flags = flags;
}

static void madt_parse(struct madt_builder *b)
{
	struct acpi_madt *madt = (void *)b->bytes;
	madt->header.length = b->length;
	parse_madt(madt);
}

static void test_enabled_entries_in_order(void **state)
{
	(void)state;
	struct madt_builder b;
	madt_begin(&b);
	local_apic(&b, 0, MADT_APIC_ENABLED);
	local_apic(&b, 2, MADT_APIC_ENABLED); /* IDs need not be contiguous */
	local_apic(&b, 6, MADT_APIC_ENABLED);
	x2apic(&b, 300, MADT_APIC_ENABLED);   /* above the xAPIC's reach: listed, smp.c decides */
	madt_parse(&b);
	assert_int_equal(acpi_info.cpu_count, 4);
	assert_int_equal(acpi_info.apic_ids[0], 0);
	assert_int_equal(acpi_info.apic_ids[1], 2);
	assert_int_equal(acpi_info.apic_ids[2], 6);
	assert_int_equal(acpi_info.apic_ids[3], 300);
	assert_int_equal(acpi_info.cpus_skipped, 0);
}

static void test_disabled_and_online_capable_skipped(void **state)
{
	(void)state;
	struct madt_builder b;
	madt_begin(&b);
	local_apic(&b, 0, MADT_APIC_ENABLED);
	local_apic(&b, 1, 0);                        /* not present (QEMU's maxcpus=) */
	local_apic(&b, 2, MADT_APIC_ONLINE_CAPABLE); /* may be hot-added later */
	x2apic(&b, 256, 0);
	x2apic(&b, 257, MADT_APIC_ONLINE_CAPABLE);
	x2apic(&b, 3, MADT_APIC_ENABLED | MADT_APIC_ONLINE_CAPABLE); /* enabled wins */
	madt_parse(&b);
	assert_int_equal(acpi_info.cpu_count, 2);
	assert_int_equal(acpi_info.apic_ids[0], 0);
	assert_int_equal(acpi_info.apic_ids[1], 3);
	assert_int_equal(acpi_info.cpus_skipped, 4);
}

static void test_short_and_truncated_entries_ignored(void **state)
{
	(void)state;
	struct madt_builder b;
	madt_begin(&b);
	local_apic(&b, 0, MADT_APIC_ENABLED);
	/* A local APIC entry too short to hold its flags is not read. */
	struct acpi_madt_local_apic *shorter = madt_entry(&b, MADT_LOCAL_APIC, 4);
	(void)shorter;
	local_apic(&b, 1, MADT_APIC_ENABLED);
	/* The last entry claims more bytes than the table has: parsing stops. */
	struct acpi_madt_local_x2apic *cut = madt_entry(&b, MADT_LOCAL_X2APIC, sizeof(*cut));
	cut->x2apic_id = 7;
	cut->flags = MADT_APIC_ENABLED;
	b.length -= 2;
	madt_parse(&b);
	assert_int_equal(acpi_info.cpu_count, 2);
	assert_int_equal(acpi_info.apic_ids[1], 1);
}

static void test_more_than_the_table_holds(void **state)
{
	(void)state;
	static u8 big[sizeof(struct acpi_madt) + (ACPI_MAX_CPUS + 3) * sizeof(struct acpi_madt_local_x2apic)];
	memset(big, 0, sizeof(big));
	memset(&acpi_info, 0, sizeof(acpi_info));
	struct acpi_madt_local_x2apic *l = (void *)(big + sizeof(struct acpi_madt));
	for (unsigned i = 0; i < ACPI_MAX_CPUS + 3; i++) {
		l[i].entry.type = MADT_LOCAL_X2APIC;
		l[i].entry.length = sizeof(l[i]);
		l[i].x2apic_id = i;
		l[i].flags = MADT_APIC_ENABLED;
	}
	((struct acpi_madt *)big)->header.length = sizeof(big);
	parse_madt((struct acpi_madt *)big);
	assert_int_equal(acpi_info.cpu_count, ACPI_MAX_CPUS);
	assert_int_equal(acpi_info.cpus_beyond_max, 3);
	assert_int_equal(acpi_info.apic_ids[ACPI_MAX_CPUS - 1], ACPI_MAX_CPUS - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_enabled_entries_in_order),
		cmocka_unit_test(test_disabled_and_online_capable_skipped),
		cmocka_unit_test(test_short_and_truncated_entries_ignored),
		cmocka_unit_test(test_more_than_the_table_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
