/* Boot-time VMs: built from the Multiboot modules, run one after another. */
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "vmm/host.h"
#include "vmm/vm.h"
#include "vmm/vm_config.h"
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

const struct backend_ops *backend;
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

struct run_summary {
	unsigned ran, succeeded, failed;
	int first_failure_status;
};

static void report(const struct vm *vm, struct run_summary *sum)
{
	if (vm->state == VM_EXITED && vm->powered_off) {
		vm_log(vm, "powered off (ACPI S5)");
		sum->succeeded++;
		return;
	}
	if (vm->state == VM_EXITED) {
		vm_log(vm, "exited with status %d (debug-exit value %d)", vm->exit_status, vm->exit_status >> 1);
		if (vm->exit_status == EXIT_STATUS_SUCCESS) {
			sum->succeeded++;
			return;
		}
	} else {
		vm_log(vm, "stopped: %s", vm->stop_reason);
	}
	if (!sum->failed++)
		sum->first_failure_status = vm->state == VM_EXITED ? vm->exit_status : 0;
}

static void run_one(const struct vm_config *cfg, unsigned index, struct run_summary *sum)
{
	char err[ERROR_LENGTH];
	if (vm_config_check(cfg, err, sizeof(err))) {
		pr_err("%s; VM not started", err);
		sum->failed++;
		return;
	}
	for (unsigned resets = 0, quick_resets = 0;; resets++) {
		struct vm *vm = vm_create(cfg, index, err, sizeof(err));
		if (!vm) {
			pr_err("vm %s: %s; VM not started", cfg->name, err);
			sum->failed++;
			return;
		}
		if (!resets)
			sum->ran++;
		vm_log(vm, "%s: %llu MiB RAM, %s%s, command line \"%s\"", resets ? "restarting" : "starting",
		       (unsigned long long)(vm->ram_size / MiB), backend->name,
		       cfg->debug_exit ? ", debug-exit port" : "", cfg->cmdline);
		vm_run(vm);
		if (vm->state == VM_RESET) {
			quick_resets = vm_time_ns(vm) < RESET_LOOP_NS ? quick_resets + 1 : 0;
			vm_log(vm, "the guest reset the machine (reset %u)", resets + 1);
			if (quick_resets == RESET_LOOP_LIMIT)
				vm_stop(vm, "reset %u times in a row within a second of starting: a reset loop",
					RESET_LOOP_LIMIT);
		}
		if (vm->state != VM_RESET)
			report(vm, sum);
		vm_print_exit_statistics(vm);
		bool again = vm->state == VM_RESET;
		vm_destroy(vm);
		if (!again)
			return;
	}
}

static void finish(const struct hv_options *options, const struct run_summary *sum)
{
	pr_info("all VMs finished: %u ran, %u succeeded, %u failed", sum->ran, sum->succeeded, sum->failed);
	if (options->finish == FINISH_QEMU_EXIT) {
		u32 value = sum->failed ? 1 : 0;
		pr_info("finish=qemu: leaving QEMU with status %u", (value << 1) | 1);
		platform_qemu_exit(value);
	}
}

void vmm_run_boot_vms(const struct boot_info *bi, const struct hv_options *options)
{
	struct run_summary sum = { 0 };
	collect_configs(bi);
	if (!configs.count) {
		pr_info("no VMs configured: add GRUB modules with vm=NAME (see README)");
		finish(options, &sum);
		return;
	}
	/* arch/x86/smp.c chose the backend and enabled VT on every CPU at boot. */
	if (!backend || !host_cpu_usable(host_cpu_index())) {
		pr_err("cannot run VMs: %s", backend ? "VT is off on this CPU (see above)"
						      : "not on this CPU yet (see the warning above)");
		sum.failed = configs.count;
		finish(options, &sum);
		return;
	}
	/* With one VM, the serial line is that guest's console unless told otherwise. */
	if (configs.count == 1 && !configs.vm[0].console_set)
		configs.vm[0].raw_console = true;
	for (unsigned i = 0; i < configs.count; i++)
		run_one(&configs.vm[i], i, &sum);
	finish(options, &sum);
}
