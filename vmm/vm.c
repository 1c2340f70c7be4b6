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
#include "vmm/host.h"
#include "drivers/cmos.h"
#include "vmm/irq.h"
#include "vmm/loader.h"
#include "vmm/msr.h"
#include "vmm/vm_config.h"
#include "vmm/vmm.h"
#include "vmm/sched.h"
#include "vmm/vcpu_init.h"
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
	struct cpuid_guest_info info = { .xcr0_supported = host_xcr0_supported() };
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
static int setup_acpi(struct vm *vm, unsigned vcpus, char *err, size_t len)
{
	u8 *area = guest_phys_ptr(vm, ACPI_TABLES_GPA, ACPI_TABLES_SIZE);
	if (!area) {
		ksnprintf(err, len, "no RAM for the ACPI tables at 0x%llx", ACPI_TABLES_GPA);
		return -1;
	}
	return acpi_guest_build(area, ACPI_TABLES_GPA, ACPI_TABLES_SIZE,
				&(const struct acpi_guest_config){
					.cpu_count = vcpus,
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
	if (setup_acpi(vm, cfg->vcpus, err, len))
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

/* vCPU 0 starts where the loader says; the others wait for a SIPI in the
 * INIT state, as application processors do on a PC. */
static int setup_vcpu(struct vm *vm, const struct vm_config *cfg, unsigned id, unsigned cpu, char *err,
		      size_t len)
{
	struct vcpu *v = kzalloc(sizeof(*v));
	if (!v) {
		ksnprintf(err, len, "out of memory for a vCPU");
		return -1;
	}
	v->vm = vm;
	v->id = id;
	v->cpu = cpu;
	v->next_deadline = VTIMER_INACTIVE;
	v->slice_end_ns = VTIMER_INACTIVE;
	vm->vcpu[vm->vcpu_count++] = v;
	msr_vcpu_reset(v);
	if (vcpu_apic_create(v)) {
		ksnprintf(err, len, "out of memory for the local APIC");
		return -1;
	}
	if (backend->vcpu_create(v, err, len))
		return -1;
	if (id) {
		vcpu_power_on_ap(v);
		return 0;
	}
	struct vcpu_sregs sregs;
	if (guest_load(vm, cfg, &v->regs, &sregs, err, len))
		return -1;
	vcpu_set_sregs(v, &sregs);
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg, unsigned index, const unsigned *cpu_of, char *err,
		     size_t len)
{
	struct vm *vm = kzalloc(sizeof(*vm));
	if (!vm) {
		ksnprintf(err, len, "out of memory for the VM");
		return NULL;
	}
	strncpy_terminated(vm->name, cfg->name, sizeof(vm->name));
	vm->config = cfg;
	vtime_vm_init(vm);
	setup_cr_rules(vm);
	vm->index = index;
	if (setup_memory(vm, ALIGN_UP(cfg->memory, GUEST_RAM_CHUNK), err, len) ||
	    setup_devices(vm, cfg, err, len) || backend->vm_create(vm, err, len))
		goto fail;
	for (unsigned i = 0; i < cfg->vcpus; i++)
		if (setup_vcpu(vm, cfg, i, cpu_of[i], err, len))
			goto fail;
	/* Each vCPU runs on its own CPU from now on: this one lets go of the
	 * hardware structures it wrote (VMCLEAR). */
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		backend->vcpu_release(vm->vcpu[i]);
	return vm;
fail:
	vm_destroy(vm);
	return NULL;
}

void *vm_device_alloc(struct vm *vm, size_t size)
{
	struct vm_device_state *d = kzalloc(sizeof(*d) + size);
	if (!d)
		return NULL;
	d->next = vm->devices;
	vm->devices = d;
	return d->data;
}

void vm_destroy(struct vm *vm)
{
	while (vm->devices) {
		struct vm_device_state *d = vm->devices;
		vm->devices = d->next;
		kfree(d);
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		backend->vcpu_destroy(vm->vcpu[i]);
		kfree(vm->vcpu[i]);
	}
	backend->vm_destroy(vm);
	for (unsigned i = 0; i < vm->ram_run_count; i++)
		frame_free(vm->ram_run[i].hpa, vm->ram_run[i].size / PAGE_SIZE);
	kfree(vm->ram_cleared);
	kfree(vm->ram_mapped);
	kfree(vm);
}

/* Makes the host's one-shot timer fire at the earliest virtual deadline
 * (or the end of the time slice), so a guest that never exits by itself
 * still lets timers run and other vCPUs have the CPU. */
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

/* Can anything ever wake a halted vCPU? Another vCPU (an IPI), a timer, or,
 * with IF set, a device. A lone vCPU with nothing armed cannot be woken. */
static bool wakeable(struct vcpu *v, bool interrupts_enabled)
{
	if (v->vm->vcpu_count > 1)
		return true;
	return interrupts_enabled && vtime_next_deadline(v->vm, v) != VTIMER_INACTIVE;
}

/* What ends a HLT: an NMI, or an interrupt when IF is set. */
static bool wake_event_pending(struct vcpu *v, bool interrupts_enabled)
{
	return (interrupts_enabled && vcpu_interrupt_pending(v)) || __atomic_load_n(&v->nmi_pending, __ATOMIC_RELAXED);
}

bool vcpu_halt(struct vcpu *v, bool interrupts_enabled)
{
	if (wake_event_pending(v, interrupts_enabled))
		return true; /* the run loop injects it */
	if (!wakeable(v, interrupts_enabled))
		return false;
	v->halt_interrupts = interrupts_enabled;
	v->run_state = VCPU_HALTED;
	return true;
}

/* A halted vCPU with something to take is runnable again (VM lock held). */
static void check_wake_up(struct vcpu *v)
{
	if (wake_event_pending(v, v->halt_interrupts))
		v->run_state = VCPU_RUNNABLE;
}

/* One NMI being handled and one latched is all a CPU remembers. */
#define NMI_PENDING_MAX 2

/* NMIs first (they are not maskable by IF), then external interrupts;
 * when the guest cannot take one now, ask for an exit as soon as it can.
 * VM lock held. */
static void deliver_events(struct vcpu *v)
{
	u32 nmis = __atomic_load_n(&v->nmi_pending, __ATOMIC_RELAXED);
	if (nmis > NMI_PENDING_MAX) /* a storm of NMI IPIs collapses, as in KVM */
		__atomic_compare_exchange_n(&v->nmi_pending, &nmis, NMI_PENDING_MAX, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
	if (nmis) {
		if (backend->nmi_allowed(v)) {
			__atomic_fetch_sub(&v->nmi_pending, 1, __ATOMIC_RELAXED);
			backend->inject_event(v, EVENT_NMI, VEC_NMI, false, 0);
			backend->set_nmi_window(v, false);
			return; /* one event per entry */
		}
		backend->set_nmi_window(v, true);
	}
	if (!vcpu_interrupt_pending(v))
		return;
	if (backend->interrupt_allowed(v)) {
		u8 vector = vcpu_apic_acknowledge(v); /* the INTA cycle */
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

/* Is there anything for the VM's lock before this entry: a timer of this
 * vCPU due, an interrupt or NMI that may be waiting, a window to close, a
 * halted vCPU to wake? Most entries have none and take no lock (with
 * vCPUs on several CPUs the lock would otherwise be taken on every entry
 * of every vCPU). 'next' is the vCPU's earliest timer deadline. */
static bool events_or_timers_due(struct vcpu *v, u64 *next)
{
	*next = vtime_next_deadline(v->vm, v);
	if (__atomic_load_n(&v->irq_check, __ATOMIC_RELAXED) || v->window_requested ||
	    __atomic_load_n(&v->nmi_pending, __ATOMIC_RELAXED) || v->run_state != VCPU_RUNNABLE)
		return true;
	return *next != VTIMER_INACTIVE && vm_time_ns(v->vm) >= *next;
}

/* What others asked of this vCPU (vcpu_request.h), on its own CPU. */
static void handle_requests(struct vcpu *v)
{
	if (!vcpu_has_requests(v))
		return;
	if (vcpu_check_request(v, VCPU_REQ_EVENT))
		v->irq_check = true;
	if (vcpu_check_request(v, VCPU_REQ_TLB_FLUSH))
		backend->flush_guest_tlb(v);
	if (__atomic_load_n(&v->requests, __ATOMIC_ACQUIRE) & (BIT(VCPU_REQ_INIT) | BIT(VCPU_REQ_SIPI))) {
		spin_lock(&v->vm->lock);
		vcpu_handle_init_sipi(v);
		spin_unlock(&v->vm->lock);
	}
	vcpu_check_request(v, VCPU_REQ_NMI); /* nmi_pending says how many */
	vcpu_check_request(v, VCPU_REQ_STOP); /* the VM state says it */
}

/* Enters the guest unless a request came in: the mode exchange is a full
 * barrier, so a requester either sees IN_GUEST (and sends the IPI, which
 * stays pending with host interrupts off and exits the guest at once) or
 * the vCPU sees its bit here. */
static bool enter_guest(struct vcpu *v, struct vm_exit *exit)
{
	__atomic_exchange_n(&v->mode, VCPU_IN_GUEST, __ATOMIC_SEQ_CST);
	if (vcpu_has_requests(v)) {
		__atomic_store_n(&v->mode, VCPU_OUTSIDE_GUEST, __ATOMIC_RELEASE);
		return false;
	}
	backend->vcpu_run(v, exit);
	__atomic_store_n(&v->mode, VCPU_OUTSIDE_GUEST, __ATOMIC_RELEASE);
	return true;
}

/* One stretch of a vCPU on its CPU (loaded there by the scheduler): until
 * the VM ends, the vCPU halts or waits for a SIPI, or its time slice ends
 * (or another vCPU of its CPU was kicked) while it shares the CPU. */
void vcpu_run_slice(struct vcpu *v)
{
	struct vm *vm = v->vm;
	struct vm_exit exit;
	v->armed_deadline = 0;
	v->slice_end_ns = sched_cpu_shared(v) ? vm_time_ns(vm) + SCHED_SLICE_NS : VTIMER_INACTIVE;
	while (__atomic_load_n(&vm->state, __ATOMIC_ACQUIRE) == VM_RUNNING) {
		handle_requests(v);
		u64 next;
		if (events_or_timers_due(v, &next)) {
			spin_lock(&vm->lock);
			next = vtime_fire_due(vm, v);
			if (v->run_state == VCPU_HALTED)
				check_wake_up(v);
			if (v->run_state == VCPU_RUNNABLE)
				deliver_events(v);
			spin_unlock(&vm->lock);
		}
		if (v->run_state != VCPU_RUNNABLE)
			break;
		if (v->slice_end_ns != VTIMER_INACTIVE && (vm_time_ns(vm) >= v->slice_end_ns || sched_resched(v)))
			break;
		arm_host_timer(v, MIN(next, v->slice_end_ns));
		if (!enter_guest(v, &exit))
			continue;
		v->control_valid = false;
		v->stats.exits[exit.reason]++;
		if (exit_dispatch(v, &exit) == EXIT_STOP && vm->state == VM_RUNNING)
			vm_stop(vm, "stopped by the %s exit handler", exit_reason_name(exit.reason));
	}
	lapic_timer_oneshot(0);
}

/* The VM has ended: this vCPU leaves its CPU for good. Returns true for
 * the last one, which then ends the VM (vmm.c). */
bool vcpu_leave(struct vcpu *v)
{
	backend->vcpu_release(v);
	v->run_state = VCPU_DONE;
	return __atomic_sub_fetch(&v->vm->vcpus_active, 1, __ATOMIC_ACQ_REL) == 0;
}

void vm_print_exit_statistics(const struct vm *vm)
{
	char line[LOG_LINE] = "";
	size_t used = 0;
	u64 total = 0;
	for (int r = 0; r < EXIT_REASON_COUNT; r++) {
		u64 count = 0;
		for (unsigned i = 0; i < vm->vcpu_count; i++)
			count += vm->vcpu[i]->stats.exits[r];
		if (!count)
			continue;
		total += count;
		used += ksnprintf(line + used, used < sizeof(line) ? sizeof(line) - used : 0, " %s %llu",
				  exit_reason_name(r), (unsigned long long)count);
	}
	vm_log(vm, "%llu exits:%s (%llu of the mmio ones first touches of a 2 MiB RAM chunk)",
	       (unsigned long long)total, line, (unsigned long long)vm->ram_chunks_mapped);
}
