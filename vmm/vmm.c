/* Boot-time VMs: built from the Multiboot modules, all running at once
 * (after= ones once the VM they wait for has ended). */
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "vmm/host.h"
#include "vmm/vm.h"
#include "vmm/vm_config.h"
#include "vmm/sched.h"
#include "lib/string.h"
#include "boot/bootinfo.h"
#include "boot/options.h"
#include "drivers/platform.h"
#include "lib/print.h"
#include "mm/phys.h"

#define ERROR_LENGTH 256
#define EXIT_STATUS_SUCCESS 1 /* debug-exit value 0 */
/* A guest that resets this soon after starting, this many times in a row,
 * is in a reset loop: stop it rather than spin for ever. */
#define RESET_LOOP_NS (1 * NS_PER_SECOND)
#define RESET_LOOP_LIMIT 5

static struct vm_config_set configs;

static void collect_configs(const struct boot_info *bi)
{
	char err[ERROR_LENGTH];
	vm_config_set_init(&configs);
	for (unsigned i = 0; i < bi->module_count; i++) {
		const struct boot_module *m = &bi->modules[i];
		if (vm_config_add_module(&configs, m->cmdline, phys_to_virt(m->start), m->end - m->start,
					 err, sizeof(err)))
			pr_err("module %u: %s; module ignored", i, err);
	}
}

/* What every VM came to, for the line at the end and finish=. */
struct run_summary {
	unsigned ran, succeeded, failed;
};

static struct run_summary summary; /* counted from any CPU: count() */
static u32 vms_live;             /* VMs not yet ended for good */
static const struct hv_options *run_options;

/* One VM of the boot configuration across its restarts. */
struct vm_slot {
	const struct vm_config *cfg;
	unsigned index;
	int after;               /* slot that must end first (after=), -1: none */
	bool placed;             /* cpu_of counts in the scheduler's balance */
	bool invalid;            /* its description is incomplete: never started */
	unsigned cpu_of[VM_MAX_VCPUS];
	unsigned resets, quick_resets;
};
static struct vm_slot slots[VM_CONFIG_MAX_VMS];
_Static_assert(VM_CONFIG_MAX_VCPUS == VM_MAX_VCPUS, "one vCPU limit");

static void count(unsigned *counter)
{
	__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
}

static void report(const struct vm *vm)
{
	bool success = false;
	if (vm->state == VM_EXITED && vm->powered_off) {
		vm_log(vm, "powered off (ACPI S5)");
		success = true;
	} else if (vm->state == VM_EXITED) {
		vm_log(vm, "exited with status %d (debug-exit value %d)", vm->exit_status, vm->exit_status >> 1);
		success = vm->exit_status == EXIT_STATUS_SUCCESS;
	} else {
		vm_log(vm, "stopped: %s", vm->stop_reason);
	}
	count(success ? &summary.succeeded : &summary.failed);
}

static void finish(void)
{
	pr_info("all VMs finished: %u ran, %u succeeded, %u failed", summary.ran, summary.succeeded, summary.failed);
	if (run_options->finish == FINISH_QEMU_EXIT) {
		u32 value = summary.failed ? 1 : 0;
		pr_info("finish=qemu: leaving QEMU with status %u", (value << 1) | 1);
		platform_qemu_exit(value);
	}
}

/* "CPU 1" or "CPUs 0,1,1" */
static void describe_cpus(const struct vm *vm, char *out, size_t len)
{
	size_t used = ksnprintf(out, len, "CPU%s ", vm->vcpu_count > 1 ? "s" : "");
	for (unsigned i = 0; i < vm->vcpu_count && used < len; i++)
		used += ksnprintf(out + used, len - used, "%s%u", i ? "," : "", vm->vcpu[i]->cpu);
}

/* Builds the slot's VM and puts its vCPUs on their CPUs. */
static bool start(struct vm_slot *slot)
{
	char err[ERROR_LENGTH], cpus[ERROR_LENGTH];
	const struct vm_config *cfg = slot->cfg;
	struct vm *vm = vm_create(cfg, slot->index, slot->cpu_of, err, sizeof(err));
	if (!vm) {
		pr_err("vm %s: %s; VM not started", cfg->name, err);
		return false;
	}
	describe_cpus(vm, cpus, sizeof(cpus));
	vm_log(vm, "%s: %llu MiB RAM, %u vCPU%s on %s, %s%s, command line \"%s\"",
	       slot->resets ? "restarting" : "starting", (unsigned long long)(vm->ram_size / MiB),
	       vm->vcpu_count, vm->vcpu_count > 1 ? "s" : "", cpus, backend->name,
	       cfg->debug_exit ? ", debug-exit port" : "", cfg->cmdline);
	if (!slot->resets)
		count(&summary.ran);
	vm->vcpus_active = vm->vcpu_count;
	__atomic_store_n(&vm->state, VM_RUNNING, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->vcpu_count; i++)
		sched_add(vm->vcpu[i]);
	return true;
}

static void retire(struct vm_slot *slot);

/* Starts (or restarts) a slot's VM; one that cannot start counts as failed
 * and ends the slot at once. */
static void start_or_retire(struct vm_slot *slot)
{
	if (start(slot))
		return;
	count(&summary.failed);
	retire(slot);
}

/* Places a slot's VM on CPUs and starts it. */
static void launch(struct vm_slot *slot)
{
	sched_place(slot->cfg->vcpus, slot->cfg->cpus, slot->cfg->cpu_count, slot->cpu_of);
	slot->placed = true;
	for (unsigned i = 0; i < slot->cfg->cpu_count && i < slot->cfg->vcpus; i++)
		if (slot->cpu_of[i] != slot->cfg->cpus[i])
			pr_warn("vm %s: cpus= names CPU %u, which is not up with VT; vCPU %u runs on CPU %u",
				slot->cfg->name, slot->cfg->cpus[i], i, slot->cpu_of[i]);
	start_or_retire(slot);
}

/* A VM ended for good: start the VMs waiting for it (after=), and act
 * when it was the last. */
static void retire(struct vm_slot *slot)
{
	if (slot->placed)
		sched_unplace(slot->cfg->vcpus, slot->cpu_of);
	slot->placed = false;
	for (unsigned i = 0; i < configs.count; i++)
		if (slots[i].after == (int)slot->index)
			launch(&slots[i]);
	if (__atomic_sub_fetch(&vms_live, 1, __ATOMIC_ACQ_REL) == 0)
		finish();
}

/* The configuration named 'name', or -1. */
static int config_index(const char *name)
{
	for (unsigned i = 0; name[0] && i < configs.count; i++)
		if (!strcmp(configs.vm[i].name, name))
			return (int)i;
	return -1;
}

/* after=NAME: the slot of VM NAME, or -1 (at boot) when there is none or
 * the chain of after= words loops. */
static int resolve_after(unsigned index)
{
	const char *name = configs.vm[index].after;
	if (!name[0])
		return -1;
	int target = config_index(name);
	if (target < 0) {
		pr_warn("vm %s: after=%s names no VM; it starts at boot", configs.vm[index].name, name);
		return -1;
	}
	for (int at = target, steps = 0; at >= 0 && steps <= (int)configs.count; steps++) {
		if (at == (int)index) {
			pr_warn("vm %s: its after= words go round in a circle; it starts at boot", configs.vm[index].name);
			return -1;
		}
		at = config_index(configs.vm[at].after);
	}
	return target;
}

void vmm_vm_ended(struct vm *vm)
{
	struct vm_slot *slot = &slots[vm->index];
	if (vm->state == VM_RESET) {
		slot->quick_resets = vm_time_ns(vm) < RESET_LOOP_NS ? slot->quick_resets + 1 : 0;
		vm_log(vm, "the guest reset the machine (reset %u)", slot->resets + 1);
		if (slot->quick_resets == RESET_LOOP_LIMIT)
			vm_stop(vm, "reset %u times in a row within a second of starting: a reset loop",
				RESET_LOOP_LIMIT);
	}
	if (vm->state != VM_RESET)
		report(vm);
	vm_print_exit_statistics(vm);
	bool again = vm->state == VM_RESET;
	vm_destroy(vm);
	if (again) {
		slot->resets++;
		start_or_retire(slot);
		return;
	}
	retire(slot);
}

void vmm_run_boot_vms(const struct boot_info *bi, const struct hv_options *options)
{
	char err[ERROR_LENGTH];
	run_options = options;
	collect_configs(bi);
	if (!configs.count) {
		pr_info("no VMs configured: add GRUB modules with vm=NAME (see README)");
		finish();
		return;
	}
	/* arch/x86/smp.c chose the backend and enabled VT on every CPU at boot. */
	if (!backend || !host_cpu_usable(host_cpu_index())) {
		pr_err("cannot run VMs: %s", backend ? "VT is off on this CPU (see above)"
						      : "not on this CPU yet (see the warning above)");
		summary.failed = configs.count; /* one CPU so far: no other counts */
		finish();
		return;
	}
	/* With one VM, the serial line is that guest's console unless told otherwise. */
	if (configs.count == 1 && !configs.vm[0].console_set)
		configs.vm[0].raw_console = true;
	vms_live = configs.count + 1; /* held until every VM is started */
	for (unsigned i = 0; i < configs.count; i++) {
		slots[i] = (struct vm_slot){ .cfg = &configs.vm[i], .index = i, .after = -1 };
		slots[i].invalid = vm_config_check(slots[i].cfg, err, sizeof(err)) != 0;
		if (slots[i].invalid)
			pr_err("%s; VM not started", err);
	}
	/* Every after= is resolved before any slot retires and starts its waiters. */
	for (unsigned i = 0; i < configs.count; i++)
		if (!slots[i].invalid)
			slots[i].after = resolve_after(i);
	for (unsigned i = 0; i < configs.count; i++) {
		struct vm_slot *slot = &slots[i];
		if (slot->invalid) {
			count(&summary.failed);
			retire(slot);
		} else if (slot->after < 0) {
			launch(slot);
		}
	}
	if (__atomic_sub_fetch(&vms_live, 1, __ATOMIC_ACQ_REL) == 0)
		finish();
	for (unsigned cpu = 1; cpu < HOST_MAX_CPUS; cpu++)
		if (host_cpu_usable(cpu))
			host_cpu_start(cpu, sched_cpu_loop);
	sched_cpu_loop();
}
