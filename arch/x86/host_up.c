/* TEMPORARY: the host seam (vmm/host.h) on the boot CPU alone, until the
 * SMP bring-up lands (arch/x86/smp.c replaces this file). */
#include "vmm/host.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tsc.h"
#include "drivers/lapic.h"
#include "lib/muldiv.h"

unsigned host_cpu_index(void) { return this_cpu()->index; }
unsigned host_cpu_count(void) { return 1; }
bool host_cpu_usable(unsigned cpu) { return cpu == 0; }
void host_cpu_kick(unsigned cpu) { (void)cpu; }
void host_cpu_start(unsigned cpu, void (*fn)(void)) { (void)cpu, (void)fn; }

void host_cpu_idle(u64 deadline_tsc)
{
	if (deadline_tsc != ~0ULL) {
		u64 now = rdtsc();
		lapic_timer_oneshot(deadline_tsc > now ? muldiv_saturating(deadline_tsc - now, NS_PER_SECOND, tsc_hz) + 1 : 1);
	}
	cpu_wait_for_interrupt();
}
