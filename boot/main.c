/*
 * main(): bring up the boot CPU, the console, memory and virtualization
 * detection, in that order, and report each step on the console.
 */
#include "boot/bootinfo.h"
#include "boot/options.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "arch/x86/trap.h"
#include "arch/x86/tsc.h"
#include "arch/x86/virt.h"
#include "drivers/acpi.h"
#include "drivers/console.h"
#include "drivers/pic.h"
#include "drivers/lapic.h"
#include "drivers/uart.h"
#include "lib/print.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/heap.h"
#include "mm/paging.h"
#include "mm/phys.h"
#include "vmm/host.h"
#include "vmm/vmm.h"
#include "vmm/backend.h"

#define PRESIDIO_VERSION "0.1"
#define ERROR_LENGTH 256
#define STRING_POOL_SIZE (16 * KiB)
#define LOW_MEMORY_END (1 * MiB) /* BIOS data, EBDA, option ROMs: never handed out */
#define MAX_RESERVED (BOOT_MAX_MODULES + 4)
#define FOUR_GIB (4 * GiB)
#define CRASH_DELAY_SECONDS 1 /* crashcpu=: the crash comes this long after boot */

extern const u8 __image_start[], __image_end[];

static struct boot_info boot_info;
struct hv_options hv_options;
static char string_pool[STRING_POOL_SIZE];
static size_t string_pool_used;

static NORETURN void stop(const char *what)
{
	pr_err("%s", what);
	pr_err("Presidio cannot continue; halting (fix the above and reboot)");
	cpu_halt_forever();
}

/* Strings in the boot info point into loader memory that the frame
 * allocator may hand out; keep our own copies. */
static const char *keep_string(const char *s)
{
	size_t n = strlen(s) + 1;
	if (string_pool_used + n > sizeof(string_pool))
		return "";
	char *copy = memcpy(string_pool + string_pool_used, s, n);
	string_pool_used += n;
	return copy;
}

static void keep_boot_strings(struct boot_info *bi)
{
	bi->cmdline = keep_string(bi->cmdline);
	bi->loader_name = keep_string(bi->loader_name);
	for (unsigned i = 0; i < bi->module_count; i++)
		bi->modules[i].cmdline = keep_string(bi->modules[i].cmdline);
}

static void report_option(void *ctx UNUSED, const char *message)
{
	pr_warn("cmdline: %s", message);
}

static void apply_options(const struct boot_info *bi)
{
	options_defaults(&hv_options);
	int problems = options_parse(bi->cmdline, &hv_options, report_option, NULL);
	if (hv_options.console_port != COM1_PORT || hv_options.baud != UART_DEFAULT_BAUD)
		console_init(hv_options.console_port, hv_options.baud);
	log_set_level(hv_options.loglevel);
	pr_info("cmdline: \"%s\"%s", bi->cmdline, problems ? " (see warnings above)" : "");
}

static void print_boot_info(const struct boot_info *bi)
{
	static const char *const sources[] = {
		[MEM_MAP_NONE] = "none", [MEM_MAP_E820] = "BIOS e820",
		[MEM_MAP_EFI] = "EFI", [MEM_MAP_BASIC] = "basic mem_lower/mem_upper",
	};
	pr_info("boot: Multiboot%d from \"%s\"", bi->protocol, bi->loader_name);
	u64 usable = 0;
	for (unsigned i = 0; i < bi->mem_count; i++) {
		const struct mem_region *r = &bi->mem[i];
		pr_debug("memory:   %016llx-%016llx %s", (unsigned long long)r->base,
			 (unsigned long long)(r->base + r->length), mem_type_name(r->type));
		if (r->type == MEM_USABLE)
			usable += r->length;
	}
	pr_info("memory map from %s: %u entries%s, %llu MiB usable", sources[bi->mem_source],
		bi->mem_count, bi->mem_truncated ? " (truncated)" : "",
		(unsigned long long)(usable / MiB));
	for (unsigned i = 0; i < bi->module_count; i++)
		pr_info("module %u: %016llx-%016llx (%llu KiB) \"%s\"", i,
			(unsigned long long)bi->modules[i].start, (unsigned long long)bi->modules[i].end,
			(unsigned long long)((bi->modules[i].end - bi->modules[i].start) / KiB),
			bi->modules[i].cmdline);
	if (bi->modules_truncated)
		pr_warn("boot: more than %d modules; the rest are ignored", BOOT_MAX_MODULES);
	if (bi->has_framebuffer)
		pr_info("boot: framebuffer ignored; Presidio uses the serial console");
}

static void check_modules(const struct boot_info *bi, char *err)
{
	u64 image_start = (u64)__image_start, image_end = (u64)__image_end;
	for (unsigned i = 0; i < bi->module_count; i++) {
		const struct boot_module *m = &bi->modules[i];
		if (m->start < image_end && m->end > image_start) {
			ksnprintf(err, ERROR_LENGTH,
				  "module %u (%016llx-%016llx) overlaps the hypervisor image "
				  "(%016llx-%016llx); the boot loader is broken: use GRUB2", i,
				  (unsigned long long)m->start, (unsigned long long)m->end,
				  (unsigned long long)image_start, (unsigned long long)image_end);
			stop(err);
		}
	}
}

static u64 init_memory(const struct boot_info *bi)
{
	char err[ERROR_LENGTH];
	struct phys_range reserved[MAX_RESERVED];
	unsigned n = 0;
	reserved[n++] = (struct phys_range){ 0, LOW_MEMORY_END };
	reserved[n++] = (struct phys_range){ (u64)__image_start, (u64)__image_end };
	for (unsigned i = 0; i < bi->module_count && n < MAX_RESERVED; i++)
		reserved[n++] = (struct phys_range){ bi->modules[i].start, bi->modules[i].end };
	/* Boot tables map only 4 GiB until paging_init(), so the bitmap and
	 * the first page tables must come from below 4 GiB (the allocator
	 * fills from the bottom up). */
	u64 top = 0;
	for (unsigned i = 0; i < bi->mem_count; i++)
		if (bi->mem[i].type == MEM_USABLE)
			top = MAX(top, bi->mem[i].base + bi->mem[i].length);
	if (frame_allocator_init(&frames, bi->mem, bi->mem_count, reserved, n, phys_to_virt, err,
				 sizeof(err)))
		stop(err);
	if (frames.bitmap_phys + frames.nframes / 8 > FOUR_GIB)
		stop("memory: the frame bitmap landed above 4 GiB; no usable RAM below 4 GiB");
	pr_info("memory: %llu MiB free of %llu MiB usable, top of RAM at %llu MiB",
		(unsigned long long)(frames.free_frames * PAGE_SIZE / MiB),
		(unsigned long long)(frames.total_frames * PAGE_SIZE / MiB),
		(unsigned long long)(top / MiB));
	if (paging_init(top))
		stop("memory: out of frames while building the hypervisor page tables");
	kheap_init();
	return top;
}

static void crash_test(enum crash_test which)
{
	volatile u64 zero = 0;
	switch (which) {
	case CRASH_NONE:
		return;
	case CRASH_UD:
		__asm__ volatile("ud2");
		break;
	case CRASH_PF:
		(void)*(volatile u64 *)(FOUR_GIB * 1024); /* far above the identity map */
		break;
	case CRASH_GP:
		(void)*(volatile u64 *)0x8000000000000000ULL; /* non-canonical */
		break;
	case CRASH_DE:
		__asm__ volatile("divq %0" ::"r"(zero), "a"(1ULL), "d"(0ULL));
		break;
	case CRASH_DF:
		/* A push through a non-canonical RSP raises #SS, whose delivery on
		 * the same stack faults again: #DF, handled on its IST stack. */
		__asm__ volatile("movabs $0x8000000000000000, %%rsp; pushq $0" ::: "memory");
		break;
	case CRASH_PANIC:
		panic("crash test requested on the command line (crash=panic)");
	}
	pr_err("crash test %d did not fault", which);
}

/* On another CPU the crash waits a moment, so that the boot CPU is
 * running its VMs by then: the panic's NMI must stop a CPU in a guest too. */
static NORETURN void crash_test_here(void)
{
	u64 start = rdtsc();
	while (rdtsc() - start < CRASH_DELAY_SECONDS * tsc_hz)
		cpu_relax();
	crash_test(hv_options.crash);
	cpu_halt_forever();
}

/* crash= on the CPU crashcpu= names. */
static void run_crash_test(void)
{
	unsigned cpu = hv_options.crash_cpu;
	if (hv_options.crash == CRASH_NONE || cpu == 0) {
		crash_test(hv_options.crash);
		return;
	}
	if (cpu >= host_cpu_count()) {
		pr_warn("crashcpu=%u: only %u CPU%s up; the crash test runs on cpu 0", cpu,
			host_cpu_count(), host_cpu_count() == 1 ? "" : "s");
		crash_test(hv_options.crash);
		return;
	}
	pr_info("crash test on cpu %u in %u s", cpu, CRASH_DELAY_SECONDS);
	smp_withhold_cpu(cpu);
	host_cpu_start(cpu, crash_test_here);
}

void kmain(u32 magic, u32 info_phys); /* called from boot/entry.S */

void kmain(u32 magic, u32 info_phys)
{
	char err[ERROR_LENGTH];
	tsc_record_entry();
	/* Firmware may leave the caches off; the VMCS host CR0 copies ours. */
	write_cr0(read_cr0() & ~(CR0_CD | CR0_NW));
	percpu_init_boot_cpu();
	idt_init();
	pic_mask_all();
	console_init(COM1_PORT, UART_DEFAULT_BAUD);
	kprintf("\n");
	pr_info("Presidio " PRESIDIO_VERSION " x86-64 microhypervisor, image %p-%p",
		(void *)__image_start, (void *)__image_end);

	/* The whole first 4 GiB is identity-mapped by the boot tables. */
	struct phys_window low4g = { 0, FOUR_GIB, phys_to_virt(0) };
	if (multiboot_parse(magic, info_phys, &low4g, &boot_info, err, sizeof(err)))
		stop(err);
	keep_boot_strings(&boot_info);
	apply_options(&boot_info);
	print_boot_info(&boot_info);
	check_modules(&boot_info, err);

	cpu_features_probe();
	cpu_features_print();
	init_memory(&boot_info);
	tsc_calibrate();
	acpi_init(&boot_info);
	lapic_init();

	enum virt_backend vt = virt_detect(err, sizeof(err));
	if (vt == VIRT_NONE) {
		pr_err("no hardware virtualization: %s", err);
		pr_err("Presidio needs VT-x or AMD-V; halting");
		cpu_halt_forever();
	}
	virt_print_summary();
	smp_init(&boot_info);
	run_crash_test();

	u64 us = tsc_to_us(rdtsc() - tsc_at_entry());
	pr_info("boot complete in %llu.%03llu ms", (unsigned long long)(us / 1000),
		(unsigned long long)(us % 1000));
	vmm_run_boot_vms(&boot_info, &hv_options);
	pr_info("nothing left to run; halting");
	cpu_halt_forever();
}
