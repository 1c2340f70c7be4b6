/*
 * Fakes shared by the device-model unit tests: the heap, the VM's port bus
 * driven like a guest (outb/inb), and with DEVICE_FAKES_WITH_TIME the
 * interrupt lines, a hand-driven guest clock and the virtual timers.
 * Include after host_support.h, vmm/iobus.c and the device under test.
 */
#pragma once
#include <string.h>

void *kzalloc(size_t size) { return calloc(1, size); }
void *vm_device_alloc(struct vm *owner, size_t size) { return calloc(1, size); }

static struct vm vm;

static UNUSED void outb(u16 port, u8 v) { io_bus_write(&vm.pio, NULL, "test", port, 1, v); }

static UNUSED u8 inb(u16 port)
{
	u64 v;
	io_bus_read(&vm.pio, NULL, "test", port, 1, &v);
	return (u8)v;
}

#ifdef DEVICE_FAKES_WITH_TIME

#define GSI_COUNT 24
static bool irq_level[GSI_COUNT];
static unsigned irq_rises[GSI_COUNT];
static u64 fake_now;

void vm_set_irq(struct vm *vm, unsigned gsi, bool level)
{
	assert_true(gsi < GSI_COUNT);
	if (level && !irq_level[gsi])
		irq_rises[gsi]++;
	irq_level[gsi] = level;
}

#include "tests/unit/fake_timers.h"
#endif
