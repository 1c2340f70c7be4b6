/*
 * Host SMP: every processor the MADT lists started with INIT-SIPI-SIPI and
 * brought up with VT on (arch/x86/smp.c, which also implements vmm/host.h),
 * and the panic broadcast that stops them all.
 */
#pragma once
#include "lib/types.h"
#include "boot/bootinfo.h"

/* On the boot CPU, after acpi_init(), lapic_init() and virt_detect():
 * selects the backend, enables VT on the boot CPU, then starts the other
 * CPUs one at a time. Prints a line per CPU and a summary; a CPU that
 * cannot be used is reported and left out, never fatal. */
void smp_init(const struct boot_info *bi);

/* The NMI handler's part: true if this NMI was the panic broadcast (the
 * CPU then never returns) or arrived on the panicking CPU itself. */
bool smp_panic_nmi(void);

/* Keeps VMs off a CPU the hypervisor itself gave a job at boot (the
 * crashcpu= test): host_cpu_usable() is false for it from now on. */
void smp_withhold_cpu(unsigned cpu);
