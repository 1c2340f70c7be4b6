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

u64 vm_time_ns(struct vm *vm) { return fake_now; }

#define MAX_TIMERS 8
static struct vtimer *timers[MAX_TIMERS];
static unsigned timer_count;

void vtimer_init(struct vm *vm, struct vtimer *t, void (*fire)(void *, u64), void *opaque)
{
	assert_true(timer_count < MAX_TIMERS);
	t->deadline_ns = VTIMER_INACTIVE;
	t->fire = fire;
	t->opaque = opaque;
	t->next = NULL;
	timers[timer_count++] = t;
}

void vtimer_arm(struct vm *vm, struct vtimer *t, u64 deadline_ns) { t->deadline_ns = deadline_ns; }
void vtimer_cancel(struct vm *vm, struct vtimer *t) { t->deadline_ns = VTIMER_INACTIVE; }

static unsigned timer_fires;

static void advance_to(u64 target)
{
	for (;;) {
		struct vtimer *next = NULL;
		for (unsigned i = 0; i < timer_count; i++) {
			struct vtimer *t = timers[i];
			if (t->deadline_ns != VTIMER_INACTIVE && t->deadline_ns <= target &&
			    (!next || t->deadline_ns < next->deadline_ns))
				next = t;
		}
		if (!next)
			break;
		if (next->deadline_ns > fake_now)
			fake_now = next->deadline_ns;
		next->deadline_ns = VTIMER_INACTIVE;
		timer_fires++;
		next->fire(next->opaque, fake_now);
	}
	fake_now = target;
}

static void advance(u64 ns) { advance_to(fake_now + ns); }
#endif
