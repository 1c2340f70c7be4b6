/*
 * PCI host bridge on configuration mechanism #1 (PCI Local Bus 3.0, 3.2.2.3.2):
 * CONFIG_ADDRESS at 0xcf8 selects bus/device/function/register, CONFIG_DATA
 * at 0xcfc-0xcff reads or writes it. Bus 0 holds only the host bridge at
 * 00:00.0; every other function reads all-ones (absent) and ignores writes.
 */
#include "vmm/dev/pci_host.h"
#include "vmm/vm.h"
#include "lib/string.h"
#include "mm/heap.h"

#define CONFIG_ADDRESS_ENABLE BIT(31)
#define CONFIG_ADDRESS_MASK 0x80fffffcu /* enable, bus, device, function, dword register */
#define CONFIG_ADDRESS_BDF_SHIFT 8
#define CONFIG_ADDRESS_BDF_MASK 0xffffu
#define CONFIG_ADDRESS_REGISTER_MASK 0xfcu
#define CONFIG_SPACE_SIZE 256
#define ABSENT 0xffffffffu

/* Type 0 header offsets (PCI 3.0, 6.1) */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09
#define PCI_CLASS_DEVICE 0x0a
#define PCI_HEADER_TYPE 0x0e

/* An Intel 440FX host bridge: the identity Linux and firmware know best. */
#define HOST_BRIDGE_VENDOR 0x8086
#define HOST_BRIDGE_DEVICE 0x1237
#define HOST_BRIDGE_REVISION 0x02
#define CLASS_BRIDGE_HOST 0x0600
#define HEADER_TYPE_NORMAL 0x00
#define COMMAND_WRITABLE 0x0006 /* memory space, bus master */
#define COMMAND_DEFAULT 0x0006

struct pci_host {
	u32 address;
	u8 bridge[CONFIG_SPACE_SIZE]; /* 00:00.0 configuration space */
};

static void put16(u8 *space, unsigned offset, u16 v) { memcpy(space + offset, &v, sizeof(v)); }

static void init_bridge(u8 *space)
{
	put16(space, PCI_VENDOR_ID, HOST_BRIDGE_VENDOR);
	put16(space, PCI_DEVICE_ID, HOST_BRIDGE_DEVICE);
	put16(space, PCI_COMMAND, COMMAND_DEFAULT);
	space[PCI_REVISION_ID] = HOST_BRIDGE_REVISION;
	put16(space, PCI_CLASS_DEVICE, CLASS_BRIDGE_HOST);
	space[PCI_HEADER_TYPE] = HEADER_TYPE_NORMAL;
}

/* Configuration space of the selected function, or NULL if it is absent. */
static u8 *selected(struct pci_host *p)
{
	if (!(p->address & CONFIG_ADDRESS_ENABLE))
		return NULL;
	u32 bdf = (p->address >> CONFIG_ADDRESS_BDF_SHIFT) & CONFIG_ADDRESS_BDF_MASK;
	return bdf == 0 ? p->bridge : NULL;
}

static void address_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct pci_host *p = device;
	*value = (offset == 0 && size == 4) ? p->address : ABSENT;
}

static void address_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct pci_host *p = device;
	if (offset == 0 && size == 4) /* byte/word writes here are not config cycles */
		p->address = (u32)value & CONFIG_ADDRESS_MASK;
}

static void data_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct pci_host *p = device;
	u8 *space = selected(p);
	unsigned reg = (p->address & CONFIG_ADDRESS_REGISTER_MASK) + (unsigned)offset;
	*value = ABSENT;
	if (space && reg + size <= CONFIG_SPACE_SIZE) {
		*value = 0;
		memcpy(value, space + reg, size);
	}
}

static void data_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct pci_host *p = device;
	u8 *space = selected(p);
	unsigned reg = (p->address & CONFIG_ADDRESS_REGISTER_MASK) + (unsigned)offset;
	/* Only the command register's enable bits are writable on the bridge. */
	if (space && reg == PCI_COMMAND && size >= 2) {
		u16 command = (u16)((value & COMMAND_WRITABLE) | (COMMAND_DEFAULT & ~COMMAND_WRITABLE));
		put16(space, PCI_COMMAND, command);
	}
}

struct pci_host *pci_host_create(struct vm *vm)
{
	struct pci_host *p = vm_device_alloc(vm, sizeof(*p));
	if (!p)
		return NULL;
	init_bridge(p->bridge);
	/* One port: 0xcf9 (byte access) is the reset control register; a dword
	 * access at 0xcf8 is routed here by its first port. */
	if (io_bus_register(&vm->pio, PCI_CONFIG_ADDRESS_PORT, 1, "pci-config-address", p, address_read,
			    address_write) ||
	    io_bus_register(&vm->pio, PCI_CONFIG_DATA_PORT, 4, "pci-config-data", p, data_read, data_write))
		return NULL;
	return p;
}
