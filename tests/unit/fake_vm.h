/*
 * A whole virtual PC on the host, for exit-path unit tests and fuzzers: the
 * real device models, I/O buses and APIC wiring (vmm/dev/, vmm/iobus.c,
 * vmm/apic.c), one vCPU, a small guest RAM, and stand-ins for what vmm/vm.c
 * gives them (logging, stop/exit/reset, device allocation, the control-state
 * cache, HLT). Guest time is the hand-driven clock of fake_timers.h; the host
 * TSC follows it at FAKE_TSC_PER_NS ticks per ns.
 *
 * A test is one translation unit: include tests/unit/host_support.h (or
 * tests/fuzz/fuzz_support.h), then this header, then the exit-path sources
 * (vmm/exit.c, io.c, mmio.c, ...) if wanted, then tests/unit/fake_backend.h,
 * which supplies the `backend` this file's control-state stand-ins call.
 */
#pragma once
#include <string.h>

#include "vmm/backend.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

/* apic.c and msr.c read the host TSC, exit.c asks the host CPUID
 * (arch/x86/cpu.h, #pragma once): include it now, then make every later
 * rdtsc() and cpuid() the fakes. */
#include "arch/x86/cpu.h"

#define FAKE_TSC_PER_NS 2
#define FAKE_TSC_HZ (FAKE_TSC_PER_NS * NS_PER_SECOND)
#define FAKE_TSC_BASE 5000000ULL

static u64 fake_now; /* guest time in ns */
static u64 fake_rdtsc(void) { return FAKE_TSC_BASE + fake_now * FAKE_TSC_PER_NS; }
#define rdtsc() fake_rdtsc()

u64 tsc_hz = FAKE_TSC_HZ;

/* The host CPU exit.c asks for CPUID leaves is a fixed one: results do not
 * depend on the machine running the tests, and no CPUID instruction traps
 * to an outer hypervisor (25 us each on a nested test machine). Leaf 0
 * and 0x80000000 give the highest leaves; the rest are hashed bits, so the
 * filter sees every feature bit set in some leaf. */
#define FAKE_CPUID_MAX_LEAF 0x16
#define FAKE_CPUID_MAX_EXTENDED_LEAF 0x80000008u
#define FAKE_CPUID_EXTENDED_BASE 0x80000000u

static u32 fake_cpuid_bits(u32 leaf, u32 subleaf, u32 salt)
{
	u64 x = ((u64)leaf << 32 | subleaf) * 0x9e3779b97f4a7c15ULL + salt * 0xbf58476d1ce4e5b9ULL;
	return (u32)(x ^ (x >> 29));
}

static struct cpuid_regs fake_cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r = { fake_cpuid_bits(leaf, subleaf, 1), fake_cpuid_bits(leaf, subleaf, 2),
				fake_cpuid_bits(leaf, subleaf, 3), fake_cpuid_bits(leaf, subleaf, 4) };
	if (leaf == 0)
		r.eax = FAKE_CPUID_MAX_LEAF;
	else if (leaf == FAKE_CPUID_EXTENDED_BASE)
		r.eax = FAKE_CPUID_MAX_EXTENDED_LEAF;
	return r;
}
#define cpuid(leaf, subleaf) fake_cpuid(leaf, subleaf)

#include "vmm/iobus.c"
#include "vmm/memmap.c"
#include "vmm/cr_rules.c"
#include "drivers/console_filter.c"
#include "vmm/vcpu_control.c"
#include "vmm/vm_state.c"
#include "vmm/dev/i8259.c"
/* ioapic.c and lapic.c both have static read_reg/write_reg. */
#define read_reg ioapic_read_reg
#define write_reg ioapic_write_reg
#include "vmm/dev/ioapic.c"
#undef read_reg
#undef write_reg
#include "vmm/dev/lapic.c"
#include "vmm/apic.c"
#include "vmm/vcpu_request.c"
/* The scheduler's kick (vmm/sched.c): counted, nothing to wake here. */
static unsigned fake_kicks;
void vcpu_kick(struct vcpu *v) { (void)v; fake_kicks++; }
#include "vmm/dev/i8254.c"
#include "vmm/dev/rtc.c"
#include "vmm/dev/pc_misc.c"
/* pc_misc.c and pci_host.c both have static data_read/data_write. */
#define data_read pci_data_read
#define data_write pci_data_write
#include "vmm/dev/pci_host.c"
#undef data_read
#undef data_write
#include "vmm/dev/acpi_pm.c"
#include "vmm/dev/uart16550.c"
#include "vmm/dev/test_device.c"
#include "vmm/dev/debug_exit.c"
#include "vmm/dev/pc_ports.c"

#include "tests/unit/fake_timers.h"

/* ---- The physical console the UART reads typed bytes from ---- */

static const u8 *fake_console_input;
static size_t fake_console_input_length;
static size_t fake_console_output_bytes;

void console_write(const char *s, size_t len)
{
	(void)s;
	fake_console_output_bytes += len;
}

/* A raw guest's bytes go through the real filter, as drivers/console.c does. */
void console_raw_guest_write(const char *owner, u8 byte)
{
	static struct raw_console_filter filter;
	char out[CONSOLE_FILTER_OUTPUT_MAX];
	console_write(out, raw_console_guest_byte(&filter, owner, byte, out));
}

int console_getc(void)
{
	if (!fake_console_input_length)
		return -1;
	fake_console_input_length--;
	return *fake_console_input++;
}

/* ---- What vmm/vm.c provides, as it does it (but no backend calls it
 * does not need and no host hardware) ---- */

static struct vm fake_vm;
static struct vcpu fake_vcpu;
static unsigned fake_vm_log_lines;
static char fake_vm_last_log[256];

void *kzalloc(size_t size) { return calloc(1, size); }
void kfree(void *p) { free(p); }

#include "tests/unit/fake_device_list.h"

void vm_log(const struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(fake_vm_last_log, sizeof(fake_vm_last_log), fmt, ap);
	va_end(ap);
	fake_vm_log_lines++;
}

/* What vtime_fire_due() does before every entry: fire each timer that is
 * due at the current time, once, at that time. Returns the earliest
 * deadline left. */
static u64 fake_fire_due(void)
{
	for (unsigned i = 0; i < timer_count; i++) {
		struct vtimer *t = timers[i];
		if (t->deadline_ns <= fake_now) {
			t->deadline_ns = VTIMER_INACTIVE;
			timer_fires++;
			t->fire(t->opaque, fake_now);
		}
	}
	return next_deadline();
}

/* How long a halted vCPU sleeps before the stand-in gives up and lets the
 * run loop go round (the real one would sleep on). */
#define FAKE_HALT_LIMIT_NS (10 * NS_PER_SECOND)
#define FAKE_HALT_MAX_WAKEUPS 64

/* vm.c's vcpu_halt() on the fake clock: sleeping is jumping to the next
 * deadline. */
bool vcpu_halt(struct vcpu *v, bool interrupts_enabled)
{
	if (!interrupts_enabled)
		return false; /* one vCPU: nothing but an NMI could wake it */
	u64 give_up = fake_now + FAKE_HALT_LIMIT_NS;
	for (unsigned wakeups = 0; wakeups < FAKE_HALT_MAX_WAKEUPS; wakeups++) {
		u64 next = fake_fire_due();
		if (vcpu_interrupt_pending(v))
			return true;
		if (next == VTIMER_INACTIVE)
			return false;
		if (next > give_up)
			break;
		if (next > fake_now)
			fake_now = next;
	}
	return true; /* a spurious wake-up: the run loop finds nothing to inject */
}

/* ---- Building the PC ---- */

struct fake_vm_config {
	u64 ram_size;       /* guest RAM at guest-physical 0 (0: none) */
	bool raw_console;   /* the UART polls fake_console_input */
	bool lazy_ram;      /* RAM starts unmapped: first touches exit (mmio.c) */
	struct rtc_time rtc_start;
};

static u8 *fake_ram;
static u8 fake_ram_mapped_bitmap[8];

static void fake_vm_reset_globals(void)
{
	memset(&fake_vm, 0, sizeof(fake_vm));
	memset(&fake_vcpu, 0, sizeof(fake_vcpu));
	memset(timers, 0, sizeof(timers));
	memset(fake_ram_mapped_bitmap, 0, sizeof(fake_ram_mapped_bitmap));
	timer_count = timer_fires = 0;
	fake_vm_log_lines = 0;
	fake_vm_last_log[0] = 0;
	fake_console_input_length = 0;
	fake_console_output_bytes = 0;
}

static int fake_vm_create_devices(const struct fake_vm_config *cfg)
{
	struct vm *vm = &fake_vm;
	io_bus_init(&vm->pio, "port");
	io_bus_init(&vm->mmio, "MMIO");
	vm->debug_exit = vm->test_device = true;
	vm->pic = i8259_create(vm);
	if (!vm->pic || vm_apic_create(vm) || !i8254_create(vm) || !rtc_create(vm, &cfg->rtc_start, cfg->ram_size) ||
	    !pc_misc_create(vm) || !pci_host_create(vm) || !acpi_pm_create(vm) ||
	    uart16550_create(vm, COM1_BASE, cfg->raw_console) || pc_ports_create(vm) ||
	    debug_exit_create(vm, DEBUG_EXIT_PORT) || test_device_create(vm))
		return -1;
	return 0;
}

/* A running VM (state VM_RUNNING) with every device, one vCPU with its
 * local APIC, and cfg->ram_size bytes of zeroed RAM. 0, or -1 if the
 * devices could not be created. */
static int fake_vm_create(const struct fake_vm_config *cfg)
{
	struct vm *vm = &fake_vm;
	fake_vm_reset_globals();
	snprintf(vm->name, sizeof(vm->name), "fake");
	if (cfg->ram_size) {
		fake_ram = calloc(1, cfg->ram_size);
		if (!fake_ram || memmap_add(&vm->mem, 0, cfg->ram_size, MEMMAP_RAM, fake_ram, 0))
			return -1;
		vm->ram_end = cfg->ram_size;
		vm->ram_size = cfg->ram_size;
		if (cfg->lazy_ram && cfg->ram_size / GUEST_RAM_CHUNK <= BITS_PER_BYTE * sizeof(fake_ram_mapped_bitmap))
			vm->ram_mapped = fake_ram_mapped_bitmap;
	}
	/* Every CR4/EFER feature and x87|SSE|AVX, as the fake CPU reports. */
	static const struct cr_rules_features fake_cpu = {
		.leaf1_ecx = ~0u, .leaf1_edx = ~0u, .leaf7_ebx = ~0u, .leaf7_ecx = ~0u, .leaf7_edx = ~0u,
		.leaf_ext1_edx = ~0u, .xcr0_offered = 0x7,
	};
	cr_rules_init(&vm->cr_rules, &fake_cpu);
	if (fake_vm_create_devices(cfg))
		return -1;
	fake_vcpu.vm = vm;
	fake_vcpu.id = 0;
	vm->vcpu[vm->vcpu_count++] = &fake_vcpu;
	if (vcpu_apic_create(&fake_vcpu))
		return -1;
	vm->state = VM_RUNNING;
	return 0;
}

static void fake_vm_destroy(void)
{
	fake_free_devices(&fake_vm);
	free(fake_ram);
	fake_ram = NULL;
}

/* The device state behind a port or MMIO address (NULL if unclaimed). */
static UNUSED void *fake_vm_device_at(struct io_bus *bus, u64 address)
{
	const struct io_range *r = io_bus_find(bus, address);
	return r ? r->device : NULL;
}
