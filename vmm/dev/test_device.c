/*
 * The test device for Presidio's own test guests (testdev=1): a 256-byte
 * FIFO for string I/O, an interrupt request port, and a 4 KiB MMIO scratch
 * page that exits on every access.
 *
 * A write of vector V to the interrupt port sends V as a device's MSI
 * would (vm_send_msi: fixed, edge, to physical APIC ID 0), through the
 * APIC wiring like every other interrupt. The test guests take it without
 * an EOI (guests/README.md), so the message is an auto-EOI one: the local
 * APIC never puts it in service.
 */
#include "vmm/dev/devices.h"
#include "vmm/apic.h"
#include "vmm/vm.h"
#include "lib/string.h"
#include "mm/heap.h"

#define PORT_FIFO_DATA 0x0  /* 0xe0: push on OUT, pop on IN */
#define PORT_FIFO_COUNT 0x4 /* 0xe4: IN gives the count; OUT clears */
#define PORT_IRQ 0x8        /* 0xe8: OUT a vector, delivered once */
#define IRQ_APIC_ID 0       /* where its messages go: the BSP */
#define TEST_DEVICE_PORTS 0xc
#define FIFO_SIZE 256
#define FIFO_EMPTY_BYTE 0xff
#define SCRATCH_SIZE 4096
#define FIRST_EXTERNAL_VECTOR 32

struct test_device {
	u8 fifo[FIFO_SIZE];
	unsigned head, count;
	u8 scratch[SCRATCH_SIZE];
};

static u8 fifo_pop(struct test_device *t)
{
	if (!t->count)
		return FIFO_EMPTY_BYTE;
	u8 b = t->fifo[t->head];
	t->head = (t->head + 1) % FIFO_SIZE;
	t->count--;
	return b;
}

static void fifo_push(struct test_device *t, u8 b)
{
	if (t->count == FIFO_SIZE)
		return;
	t->fifo[(t->head + t->count) % FIFO_SIZE] = b;
	t->count++;
}

static void port_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct test_device *t = device;
	*value = 0;
	if (offset == PORT_FIFO_DATA) {
		for (unsigned i = 0; i < size; i++)
			*value |= (u64)fifo_pop(t) << (8 * i);
	} else if (offset == PORT_FIFO_COUNT) {
		*value = t->count;
	} else {
		*value = ~0ULL;
	}
}

static void port_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct test_device *t = device;
	if (offset == PORT_FIFO_DATA) {
		for (unsigned i = 0; i < size; i++)
			fifo_push(t, (u8)(value >> (8 * i)));
	} else if (offset == PORT_FIFO_COUNT) {
		t->count = 0;
	} else if (offset == PORT_IRQ && (value & 0xff) >= FIRST_EXTERNAL_VECTOR) {
		vm_send_msi(vcpu->vm, IRQ_APIC_ID, (u8)value, true);
	}
}

static void scratch_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct test_device *t = device;
	*value = 0;
	if (offset + size <= SCRATCH_SIZE)
		memcpy(value, t->scratch + offset, size);
}

static void scratch_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct test_device *t = device;
	if (offset + size <= SCRATCH_SIZE)
		memcpy(t->scratch + offset, &value, size);
}

int test_device_create(struct vm *vm)
{
	struct test_device *t = vm_device_alloc(vm, sizeof(*t));
	if (!t)
		return -1;
	if (io_bus_register(&vm->pio, TEST_DEVICE_PORT_BASE, TEST_DEVICE_PORTS, "test-device", t,
			    port_read, port_write))
		return -1;
	return io_bus_register(&vm->mmio, TEST_DEVICE_MMIO_BASE, SCRATCH_SIZE, "test-scratch", t,
			       scratch_read, scratch_write);
}
