/*
 * PCI configuration mechanism #1 as a guest uses it (PCI Local Bus 3.0,
 * 3.2.2.3.2): 32-bit CONFIG_ADDRESS at 0xcf8, data at 0xcfc + (reg & 3).
 */
#include "tests/unit/host_support.h"
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "vmm/iobus.c"
#include "vmm/dev/pci_host.c"
#include "tests/unit/device_fakes.h"

#define CONFIG_ENABLE 0x80000000u

static u32 cfg_address(unsigned bus, unsigned dev, unsigned fn, unsigned reg)
{
	return CONFIG_ENABLE | bus << 16 | dev << 11 | fn << 8 | (reg & 0xfc);
}

static void outl_(u16 port, u32 v) { io_bus_write(&vm.pio, NULL, "test", port, 4, v); }

static u64 in_(u16 port, unsigned size)
{
	u64 v;
	io_bus_read(&vm.pio, NULL, "test", port, size, &v);
	return v;
}

static struct pci_host *host;

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	io_bus_init(&vm.pio, "port");
	host = pci_host_create(&vm);
	return host ? 0 : -1;
}

static int teardown(void **state)
{
	free(host);
	return 0;
}

static void test_host_bridge_identity(void **state)
{
	outl_(0xcf8, cfg_address(0, 0, 0, 0x00));
	assert_int_equal(in_(0xcfc, 4), 0x12378086u); /* device 0x1237, vendor 0x8086 */
	assert_int_equal(in_(0xcfc, 2), 0x8086);
	assert_int_equal(in_(0xcfe, 2), 0x1237);
	outl_(0xcf8, cfg_address(0, 0, 0, 0x08));
	assert_int_equal(in_(0xcfc, 4) >> 8, 0x060000u); /* class: bridge, host, prog-if 0 */
	outl_(0xcf8, cfg_address(0, 0, 0, 0x0c));
	assert_int_equal((in_(0xcfc, 4) >> 16) & 0x7f, 0); /* header type 0, single function */
}

static void test_absent_functions_read_all_ones(void **state)
{
	outl_(0xcf8, cfg_address(0, 1, 0, 0));
	assert_int_equal(in_(0xcfc, 4), 0xffffffffu);
	outl_(0xcf8, cfg_address(0, 0, 1, 0));
	assert_int_equal(in_(0xcfc, 2), 0xffff);
	outl_(0xcf8, cfg_address(1, 0, 0, 0));
	assert_int_equal(in_(0xcfc, 4), 0xffffffffu);
	outl_(0xcf8, cfg_address(0, 0, 0, 0) & ~CONFIG_ENABLE); /* enable bit clear */
	assert_int_equal(in_(0xcfc, 4), 0xffffffffu);
}

static void test_address_register_reads_back(void **state)
{
	outl_(0xcf8, 0x80123457u); /* reserved low bits read as 0 */
	assert_int_equal(in_(0xcf8, 4), 0x80123454u);
}

static void test_command_register_and_read_only_ids(void **state)
{
	outl_(0xcf8, cfg_address(0, 0, 0, 0x00));
	io_bus_write(&vm.pio, NULL, "test", 0xcfc, 4, 0xdeadbeef); /* IDs are read-only */
	assert_int_equal(in_(0xcfc, 4), 0x12378086u);
	outl_(0xcf8, cfg_address(0, 0, 0, 0x04));
	io_bus_write(&vm.pio, NULL, "test", 0xcfc, 2, 0x0000);
	assert_int_equal(in_(0xcfc, 2) & 0x6, 0x0);
	io_bus_write(&vm.pio, NULL, "test", 0xcfc, 2, 0xffff);
	assert_int_equal(in_(0xcfc, 2) & 0xffff, 0x0006);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_host_bridge_identity, setup, teardown),
		cmocka_unit_test_setup_teardown(test_absent_functions_read_all_ones, setup, teardown),
		cmocka_unit_test_setup_teardown(test_address_register_reads_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_register_and_read_only_ids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
