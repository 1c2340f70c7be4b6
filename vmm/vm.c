/* VM lifecycle: memory, devices, vCPUs, the run loop and its statistics. */
#include "vmm/vm.h"
#include "vmm/backend.h"
#include "vmm/dev/devices.h"
#include "vmm/dev/i8259.h"
#include "vmm/dev/i8254.h"
#include "vmm/dev/pc_misc.h"
#include "vmm/dev/rtc.h"
#include "vmm/dev/pci_host.h"
#include "vmm/dev/acpi_pm.h"
#include "vmm/acpi_guest.h"
#include "vmm/dev/lapic.h"
#include "vmm/dev/ioapic.h"
#include "vmm/apic.h"
#include "vmm/cpuid.h"
#include "vmm/guest_mem.h"
#include "drivers/cmos.h"
#include "vmm/irq.h"
#include "vmm/loader.h"
#include "vmm/msr.h"
#include "vmm/vm_config.h"
#include "vmm/vmm.h"
#include "lib/print.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/heap.h"
#include "mm/phys.h"
#include "drivers/lapic.h"
#include "arch/x86/cpu.h"

#define LOG_LINE 256
#define ACPI_TABLES_GPA 0xe0000ULL
#define ACPI_TABLES_SIZE 0x10000ULL

void vm_log(const struct vm *vm, const char *fmt, ...)
{
	char line[LOG_LINE];
	va_list ap;
	va_start(ap, fmt);
	kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pr_info("vm %s: %s", vm->name, line);
}

#define CPUID_MAX_BASIC_LEAF 0
#define CPUID_MAX_EXTENDED_LEAF 0x80000000
#define CPUID_LEAF_FEATURES 1
#define CPUID_LEAF_EXTENDED_FEATURES 7
#define CPUID_LEAF_EXT_FEATURES 0x80000001

/* A leaf as the guest sees it (zero if the CPU does not have it). */
static struct cpuid_result guest_leaf(u32 leaf, const struct cpuid_guest_info *info)
{
	u32 max = cpuid(leaf >= CPUID_MAX_EXTENDED_LEAF ? CPUID_MAX_EXTENDED_LEAF : CPUID_MAX_BASIC_LEAF, 0).eax;
	if (leaf > max)
		return (struct cpuid_result){ 0, 0, 0, 0 };
	struct cpuid_regs host = cpuid(leaf, 0);
	return cpuid_filter(leaf, 0, (struct cpuid_result){ host.eax, host.ebx, host.ecx, host.edx }, info);
}

static void setup_cr_rules(struct vm *vm)
{
	struct cpuid_guest_info info = { .xcr0_supported = backend->xcr0_supported() };
	struct cpuid_result leaf1 = guest_leaf(CPUID_LEAF_FEATURES, &info);
	struct cpuid_result leaf7 = guest_leaf(CPUID_LEAF_EXTENDED_FEATURES, &info);
	struct cr_rules_features features = {
		.leaf1_ecx = leaf1.ecx, .leaf1_edx = leaf1.edx, .leaf7_ebx = leaf7.ebx, .leaf7_ecx = leaf7.ecx, .leaf7_edx = leaf7.edx,
		.leaf_ext1_edx = guest_leaf(CPUID_LEAF_EXT_FEATURES, &info).edx,
		.xcr0_offered = info.xcr0_supported,
	};
	cr_rules_init(&vm->cr_rules, &features);
}

/* Guest RAM in at most VM_RAM_MAX_RUNS host runs of whole chunks, one run
 * when the host has one free that is big enough. Uncleared: guest_mem.c
 * clears each chunk before anyone sees it. */
static int allocate_ram(struct vm *vm, u64 size, char *err, size_t len)
{
	struct phys_range runs[VM_RAM_MAX_RUNS];
	unsigned count = frame_alloc_runs_uncleared(size / PAGE_SIZE, GUEST_RAM_CHUNK, runs, VM_RAM_MAX_RUNS);
	if (!count) {
		ksnprintf(err, len, "not enough free host memory for %llu MiB of guest RAM "
			  "(%llu MiB free, in pieces of at least 2 MiB, at most %u of them)",
			  (unsigned long long)(size / MiB), (unsigned long long)(frames.free_frames * PAGE_SIZE / MiB),
			  VM_RAM_MAX_RUNS);
		return -1;
	}
	for (unsigned i = 0; i < count; i++)
		vm->ram_run[i] = (struct pc_ram_run){ runs[i].start, phys_to_virt(runs[i].start),
						      runs[i].end - runs[i].start };
	vm->ram_run_count = count;
	return 0;
}

static int setup_memory(struct vm *vm, u64 size, char *err, size_t len)
{
	if (allocate_ram(vm, size, err, len))
		return -1;
	vm->ram_size = size;
	vm->ram_end = pc_ram_end(size);
	size_t bitmap_bytes = DIV_ROUND_UP(vm->ram_end / GUEST_RAM_CHUNK, BITS_PER_BYTE);
	vm->ram_cleared = kzalloc(bitmap_bytes);
	vm->ram_mapped = kzalloc(bitmap_bytes);
	if (!vm->ram_cleared || !vm->ram_mapped) {
		ksnprintf(err, len, "out of memory for the guest RAM bitmaps");
		return -1;
	}
	if (pc_memory_build(&vm->mem, size, vm->ram_run, vm->ram_run_count)) {
		ksnprintf(err, len, "internal error building the memory map");
		return -1;
	}
	if (vm->ram_run_count > 1)
		pr_info("vm %s: guest RAM in %u host pieces (no free run of %llu MiB)", vm->name,
			vm->ram_run_count, (unsigned long long)(size / MiB));
	return 0;
}

/* The guest's RTC starts at the host's wall-clock time. */
static struct rtc *create_rtc(struct vm *vm)
{
	struct wall_time host;
	if (!cmos_read_time(&host)) {
		pr_warn("vm %s: the host RTC cannot be read; the guest's clock starts at 2000-01-01", vm->name);
		host = (struct wall_time){ 2000, 1, 1, 0, 0, 0 };
	}
	struct rtc_time start = { host.year, host.month, host.day, host.hour, host.minute, host.second };
	return rtc_create(vm, &start, vm->ram_size);
}

/* ACPI tables in the reserved BIOS area, where firmware would put them. */
static int setup_acpi(struct vm *vm, char *err, size_t len)
{
	u8 *area = guest_phys_ptr(vm, ACPI_TABLES_GPA, ACPI_TABLES_SIZE);
	if (!area) {
		ksnprintf(err, len, "no RAM for the ACPI tables at 0x%llx", ACPI_TABLES_GPA);
		return -1;
	}
	return acpi_guest_build(area, ACPI_TABLES_GPA, ACPI_TABLES_SIZE,
				&(const struct acpi_guest_config){
					.cpu_count = 1 /* one vCPU today */,
					.local_apic_gpa = LAPIC_DEFAULT_BASE,
					.io_apic_gpa = IOAPIC_DEFAULT_BASE,
					.io_apic_id = IOAPIC_GUEST_ID,
				},
				&vm->acpi_rsdp_gpa, err, len);
}

static int setup_devices(struct vm *vm, const struct vm_config *cfg, char *err, size_t len)
{
	io_bus_init(&vm->pio, "port");
	io_bus_init(&vm->mmio, "MMIO");
	vm->debug_exit = cfg->debug_exit;
	vm->test_device = cfg->test_device;
	vm->pic = i8259_create(vm);
	if (setup_acpi(vm, err, len))
		return -1;
	if (!vm->pic || vm_apic_create(vm) || !i8254_create(vm) || !create_rtc(vm) || !pc_misc_create(vm) || !pci_host_create(vm) ||
	    !acpi_pm_create(vm) ||
	    uart16550_create(vm, COM1_BASE, cfg->raw_console) || pc_ports_create(vm) ||
	    (cfg->debug_exit && debug_exit_create(vm, DEBUG_EXIT_PORT)) ||
	    (cfg->test_device && test_device_create(vm))) {
		ksnprintf(err, len, "out of memory creating devices");
		return -1;
	}
	return 0;
}

static int setup_vcpu(struct vm *vm, const struct vm_config *cfg, char *err, size_t len)
{
	struct vcpu *v = kzalloc(sizeof(*v));
	if (!v) {
		ksnprintf(err, len, "out of memory for a vCPU");
		return -1;
	}
	v->vm = vm;
	v->id = 0;
	vm->vcpu[vm->vcpu_count++] = v;
	msr_vcpu_reset(v);
	if (vcpu_apic_create(v)) {
		ksnprintf(err, len, "out of memory for the local APIC");
		return -1;
	}
	if (backend->vcpu_create(v, err, len))
		return -1;
	struct vcpu_sregs sregs;
	if (guest_load(vm, cfg, &v->regs, &sregs, err, len))
		return -1;
	vcpu_set_sregs(v, &sregs);
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg, unsigned index, char *err, size_t len)
{
	struct vm *vm = kzalloc(sizeof(*vm));
	if (!vm) {
		ksnprintf(err, len, "out of memory for the VM");
		return NULL;
	}
	strncpy_terminated(vm->name, cfg->name, sizeof(vm->name));
	vtime_vm_init(vm);
	setup_cr_rules(vm);
	vm->index = index;
	if (cfg->vcpus > 1)
		pr_warn("vm %s: %u vCPUs asked for; only 1 is supported so far", vm->name, cfg->vcpus);
	if (setup_memory(vm, ALIGN_UP(cfg->memory, GUEST_RAM_CHUNK), err, len) ||
	    setup_devices(vm, cfg, err, len) || backend->vm_create(vm, err, len) ||
	    setup_vcpu(vm, cfg, err, len)) {
		vm_destroy(vm);
		return NULL;
	}
	return vm;
}

void *vm_device_alloc(struct vm *vm, size_t size)
{
	if (vm->device_count == ARRAY_SIZE(vm->device_state))
		return NULL;
	void *p = kzalloc(size);
	if (p)
		vm->device_state[vm->device_count++] = p;
	return p;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->device_count; i++)
		kfree(vm->device_state[i]);
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		backend->vcpu_destroy(vm->vcpu[i]);
		kfree(vm->vcpu[i]);
	}
	backend->vm_destroy(vm);
	for (unsigned i = 0; i < vm->ram_run_count; i++)
		frame_free(vm->ram_run[i].hpa, vm->ram_run[i].size / PAGE_SIZE);
	kfree(vm->ram_cleared);
	kfree(vm->ram_mapped);
	/* Device state is owned by the device files; they are freed with the heap
	 * arena when VMs become restartable. */
	kfree(vm);
}

/* Makes the host's one-shot timer fire at the earliest virtual deadline,
 * so a guest that never exits by itself still lets timers run. */
static void arm_host_timer(struct vcpu *v, u64 deadline)
{
	if (deadline == v->armed_deadline)
		return;
	v->armed_deadline = deadline;
	if (deadline == VTIMER_INACTIVE) {
		lapic_timer_oneshot(0);
		return;
	}
	u64 now = vm_time_ns(v->vm);
	lapic_timer_oneshot(deadline > now ? deadline - now : 1);
}

bool vcpu_halt(struct vcpu *v)
{
	for (;;) {
		u64 next = vtime_fire_due(v->vm);
		if (vcpu_interrupt_pending(v))
			return true;
		if (next == VTIMER_INACTIVE)
			return false;
		v->armed_deadline = 0; /* force re-arming */
		arm_host_timer(v, next);
		cpu_wait_for_interrupt();
	}
}

/* Injects a queued external interrupt when the guest can take it, or asks
 * for an exit as soon as it can. */
static void deliver_events(struct vcpu *v)
{
	if (!vcpu_interrupt_pending(v))
		return;
	if (backend->interrupt_allowed(v)) {
		u8 vector;
		if (v->interrupt_pending) {
			vector = v->interrupt_vector;
			v->interrupt_pending = false;
		} else {
			vector = vcpu_apic_acknowledge(v); /* the INTA cycle */
		}
		backend->inject_event(v, EVENT_EXTERNAL_INTERRUPT, vector, false, 0);
		if (v->window_requested) {
			backend->set_interrupt_window(v, false);
			v->window_requested = false;
		}
	} else if (!v->window_requested) {
		backend->set_interrupt_window(v, true);
		v->window_requested = true;
	}
}

void vm_run(struct vm *vm)
{
	struct vcpu *v = vm->vcpu[0];
	struct vm_exit exit;
	vm->state = VM_RUNNING;
	backend->vcpu_load(v);
	v->armed_deadline = 0;
	while (vm->state == VM_RUNNING) {
		arm_host_timer(v, vtime_fire_due(vm));
		deliver_events(v);
		backend->vcpu_run(v, &exit);
		v->control_valid = false;
		vm->stats.exits[exit.reason]++;
		if (exit_dispatch(v, &exit) == EXIT_STOP && vm->state == VM_RUNNING)
			vm_stop(vm, "stopped by the %s exit handler", exit_reason_name(exit.reason));
	}
	lapic_timer_oneshot(0);
	backend->vcpu_put(v);
}

void vm_print_exit_statistics(const struct vm *vm)
{
	char line[LOG_LINE] = "";
	size_t used = 0;
	u64 total = 0;
	for (int r = 0; r < EXIT_REASON_COUNT; r++) {
		if (!vm->stats.exits[r])
			continue;
		total += vm->stats.exits[r];
		used += ksnprintf(line + used, used < sizeof(line) ? sizeof(line) - used : 0, " %s %llu",
				  exit_reason_name(r), (unsigned long long)vm->stats.exits[r]);
	}
	vm_log(vm, "%llu exits:%s (%llu of the mmio ones first touches of a 2 MiB RAM chunk)",
	       (unsigned long long)total, line, (unsigned long long)vm->stats.ram_chunks_mapped);
}
