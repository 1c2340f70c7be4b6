/* Host local APIC: enable, timer calibration against the TSC, one-shot timer. */
#include "drivers/lapic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/msr.h"
#include "arch/x86/trap.h"
#include "arch/x86/tsc.h"
#include "lib/muldiv.h"
#include "lib/print.h"
#include "mm/phys.h"

/* Register offsets (SDM Vol. 3A 11.4.1) */
#define LAPIC_ID 0x020
#define LAPIC_EOI 0x0b0
#define LAPIC_SVR 0x0f0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INITIAL 0x380
#define LAPIC_TIMER_CURRENT 0x390
#define LAPIC_TIMER_DIVIDE 0x3e0

#define APIC_BASE_ADDRESS_MASK 0xfffff000ULL
#define APIC_BASE_ENABLE BIT(11)
#define SVR_APIC_ENABLE BIT(8)
#define LVT_MASKED BIT(16)
#define LVT_TIMER_TSC_DEADLINE (2u << 17) /* timer mode field, bits 18:17 */
#define MAX_ONESHOT_TICKS 0xffffffffULL
#define TIMER_DIVIDE_BY_1 0xb
#define CALIBRATION_TICKS 0x10000000u
#define CALIBRATION_NS 10000000ULL /* 10 ms of TSC time */

/* Interrupt command register (SDM Vol. 3A 11.6.1, Figure 11-12) */
#define ICR_VECTOR_MASK 0xffu
#define ICR_DELIVERY_FIXED (0u << 8)
#define ICR_DELIVERY_NMI (4u << 8)
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING BIT(12) /* delivery status: send pending */
#define ICR_LEVEL_ASSERT BIT(14)
#define ICR_SHORTHAND_ALL_BUT_SELF (3u << 18)
#define ICR_DESTINATION_SHIFT 24 /* in ICR_HIGH, physical destination mode */
/* The xAPIC has sent an IPI within a few microseconds; 10 ms means it is stuck. */
#define ICR_SEND_TIMEOUT_NS 10000000ULL
#define ICR_SEND_SPIN_LIMIT 100000000ULL /* without a TSC frequency */

static volatile u32 *lapic;
static u64 timer_hz;
static bool tsc_deadline_mode; /* IA32_TSC_DEADLINE instead of a count */

static u32 lapic_read(u32 reg) { return lapic[reg / 4]; }
static void lapic_write(u32 reg, u32 value) { lapic[reg / 4] = value; }

void lapic_eoi(void)
{
	if (lapic)
		lapic_write(LAPIC_EOI, 0);
}

static void timer_interrupt(struct trap_frame *frame)
{
	lapic_eoi(); /* its only job was to make the guest exit */
}

static void spurious_interrupt(struct trap_frame *frame)
{
	/* Spurious interrupts are not in service: no EOI. */
}

static bool calibrate(void)
{
	if (!tsc_hz)
		return false;
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LAPIC_TIMER_VECTOR);
	u64 start = rdtsc(), wait = tsc_hz * CALIBRATION_NS / NS_PER_SECOND;
	lapic_write(LAPIC_TIMER_INITIAL, CALIBRATION_TICKS);
	while (rdtsc() - start < wait)
		cpu_relax();
	u32 elapsed = CALIBRATION_TICKS - lapic_read(LAPIC_TIMER_CURRENT);
	lapic_write(LAPIC_TIMER_INITIAL, 0);
	timer_hz = (u64)elapsed * NS_PER_SECOND / CALIBRATION_NS;
	return timer_hz != 0;
}

/* Every CPU's APIC sits at the same physical address (each sees its own). */
static void enable_this_cpu(void)
{
	u64 base = rdmsr(MSR_IA32_APIC_BASE);
	wrmsr(MSR_IA32_APIC_BASE, base | APIC_BASE_ENABLE);
	lapic = phys_to_virt(base & APIC_BASE_ADDRESS_MASK);
	lapic_write(LAPIC_SVR, SVR_APIC_ENABLE | LAPIC_SPURIOUS_VECTOR);
}

static void timer_mode_this_cpu(void)
{
	if (tsc_deadline_mode) {
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | LAPIC_TIMER_VECTOR);
		asm volatile("mfence" ::: "memory"); /* the LVT mode before any WRMSR (11.5.4.1) */
	} else {
		lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LAPIC_TIMER_VECTOR);
	}
}

bool lapic_init(void)
{
	if (!cpu_features.apic) {
		pr_warn("lapic: no local APIC; guests cannot be preempted by timers");
		return false;
	}
	enable_this_cpu();
	idt_set_handler(LAPIC_TIMER_VECTOR, timer_interrupt);
	idt_set_handler(LAPIC_SPURIOUS_VECTOR, spurious_interrupt);
	if (!calibrate()) {
		pr_warn("lapic: the timer did not count; guests cannot be preempted by timers");
		lapic = NULL;
		return false;
	}
	/* TSC-deadline mode (SDM 11.5.4.1) needs no conversion to bus ticks
	 * and no counter range: the deadline is the TSC value itself. */
	tsc_deadline_mode = cpu_features.tsc_deadline;
	timer_mode_this_cpu();
	pr_info("lapic: id %u, timer %llu.%03llu MHz (%s, preempts guests for virtual timers)",
		lapic_read(LAPIC_ID) >> 24, (unsigned long long)(timer_hz / 1000000),
		(unsigned long long)(timer_hz / 1000 % 1000), tsc_deadline_mode ? "TSC-deadline" : "one-shot");
	return true;
}


void lapic_timer_oneshot(u64 ns)
{
	if (!lapic)
		return;
	if (tsc_deadline_mode) {
		wrmsr(MSR_IA32_TSC_DEADLINE, ns ? rdtsc() + MAX(muldiv(ns, tsc_hz, NS_PER_SECOND), 1) : 0);
		return;
	}
	if (!ns) {
		lapic_write(LAPIC_TIMER_INITIAL, 0);
		return;
	}
	u64 ticks = muldiv(ns, timer_hz, NS_PER_SECOND);
	lapic_write(LAPIC_LVT_TIMER, LAPIC_TIMER_VECTOR); /* one-shot, unmasked */
	lapic_write(LAPIC_TIMER_INITIAL, (u32)MIN(MAX(ticks, 1), MAX_ONESHOT_TICKS));
}

/* The boot CPU measured the timer; the others use its rate (one clock
 * feeds every local APIC of a package, and the TSC is invariant). */
void lapic_cpu_init(void)
{
	if (!lapic)
		return;
	enable_this_cpu();
	lapic_write(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	timer_mode_this_cpu();
}

bool lapic_usable(void) { return lapic != NULL; }

u32 lapic_id(void)
{
	return lapic ? lapic_read(LAPIC_ID) >> 24 : 0;
}

/* Writes the ICR and waits until the APIC took the IPI (delivery status
 * idle). Returns false if it never did. */
static bool send_ipi(u32 apic_id, u32 command)
{
	if (!lapic)
		return false;
	lapic_write(LAPIC_ICR_HIGH, apic_id << ICR_DESTINATION_SHIFT);
	lapic_write(LAPIC_ICR_LOW, command); /* this write sends it */
	u64 start = rdtsc(), limit = tsc_hz ? muldiv(ICR_SEND_TIMEOUT_NS, tsc_hz, NS_PER_SECOND) : 0;
	for (u64 spins = 0; lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING; spins++) {
		if (tsc_hz ? rdtsc() - start > limit : spins > ICR_SEND_SPIN_LIMIT)
			return false;
		cpu_relax();
	}
	return true;
}

bool lapic_send_init(u32 apic_id)
{
	return send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
}

bool lapic_send_startup(u32 apic_id, u8 page)
{
	return send_ipi(apic_id, ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | page);
}

bool lapic_send_fixed(u32 apic_id, u8 vector)
{
	return send_ipi(apic_id, ICR_DELIVERY_FIXED | ICR_LEVEL_ASSERT | (vector & ICR_VECTOR_MASK));
}

bool lapic_send_nmi_to_others(void)
{
	return send_ipi(0, ICR_DELIVERY_NMI | ICR_LEVEL_ASSERT | ICR_SHORTHAND_ALL_BUT_SELF);
}
