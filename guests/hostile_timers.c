/*
 * Hostile cases: timers programmed as fast as their registers allow (local
 * APIC periodic with count 1 and divide 1, PIT channel 0 in mode 2 with
 * count 1, RTC periodic interrupt at 8192 Hz) while the guest does a fixed
 * stretch of work that exits on every step. The guest must get to the end
 * of it, must take some interrupts, and no more than one per period: the
 * minimum timer period for the APIC and the PIT (Presidio's, like KVM's,
 * is 200 us), the RTC's real 122 us (8192 Hz is as fast as it goes). A
 * one-shot timer with count 1 and a TSC deadline in the past fire exactly
 * once. Every case puts back the APIC, I/O APIC and RTC registers it
 * changed, leaves its timer stopped and returns with interrupts disabled.
 */
#include "hostile.h"
#include "interrupts.h"
#include "report.h"
#include "testdev.h"
#include "x86.h"

/* Presidio's floor on the local APIC's and PIT's periodic timers (vmm/vtime.h). */
#define MIN_TIMER_PERIOD_NS 200000u
/* RS 0011: 1 s / 8192 = 122070.3125 ns, rounded down so the bound is never too strict. */
#define RTC_8192_HZ_PERIOD_NS 122070u
#define NS_PER_US 1000u
#define US_PER_MS 1000u
/* Interrupts beyond elapsed / period: one already due at the start, one at the end. */
#define SLACK_INTERRUPTS 2u

#define WORK_READS 5000u
#define UART_SCRATCH 0x3ffu /* COM1 scratch register: an exit, no side effect */

#define LEAF_1 1u
#define L1_ECX_TSC_DEADLINE (1u << 24)
#define LEAF_HYPERVISOR_TIMING 0x40000010u /* EAX: TSC kHz (Presidio, VMware) */

/* Local APIC, xAPIC MMIO page (SDM Vol. 3A 11.4.1, 11.5.4). */
#define LAPIC_BASE 0xfee00000u
#define LAPIC_ID (LAPIC_BASE + 0x20)
#define LAPIC_SVR (LAPIC_BASE + 0xf0)
#define LAPIC_LVT_TIMER (LAPIC_BASE + 0x320)
#define LAPIC_TIMER_INITIAL_COUNT (LAPIC_BASE + 0x380)
#define LAPIC_TIMER_DIVIDE (LAPIC_BASE + 0x3e0)
#define LAPIC_ID_SHIFT 24
#define SVR_APIC_ENABLED (1u << 8)
#define LVT_TIMER_ONE_SHOT (0u << 17)
#define LVT_TIMER_PERIODIC (1u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
#define TIMER_DIVIDE_BY_1 0xbu
#define MSR_IA32_TSC_DEADLINE 0x6e0u
#define APIC_BASE_X2APIC_MODE (1u << 10)

/* I/O APIC (82093AA datasheet 3.2.4): redirection entry of pin n at 0x10 + 2n. */
#define IOAPIC_REGISTER_SELECT 0xfec00000u
#define IOAPIC_WINDOW 0xfec00010u
#define IOAPIC_REDIRECTION_TABLE 0x10u
#define RTE_MASKED (1u << 16) /* fixed, physical, active high, edge: all zero */
#define RTE_DESTINATION_SHIFT 24 /* in the high dword */
#define IOAPIC_PIN_PIT 2u /* ISA IRQ 0, moved by the MADT's override */
#define IOAPIC_PIN_RTC 8u

/* 8254 PIT: control word SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define PIT_CHANNEL0 0x40u
#define PIT_CONTROL 0x43u
#define PIT_CHANNEL0_LSB_MSB_MODE2 0x34u
#define PIT_CHANNEL0_LSB_MSB_MODE0 0x30u /* mode 0 without a count: OUT low, stopped */

/* MC146818 RTC. */
#define RTC_INDEX 0x70u
#define RTC_DATA 0x71u
#define RTC_REG_A 0x0au
#define RTC_REG_B 0x0bu
#define RTC_REG_C 0x0cu
#define RTC_A_RATE_MASK 0x0fu
#define RTC_RATE_8192_HZ 3u
#define RTC_B_PIE 0x40u

#define VECTOR_LAPIC_PERIODIC 0x50u
#define VECTOR_PIT 0x51u
#define VECTOR_RTC 0x52u
#define VECTOR_LAPIC_ONE_SHOT 0x53u
#define VECTOR_TSC_DEADLINE 0x54u

static volatile uint32_t interrupt_count;

static void on_timer_interrupt(struct interrupt_frame *frame)
{
	(void)frame;
	interrupt_count++;
	write32(LAPIC_EOI, 0);
}

static uint8_t rtc_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static void rtc_write(uint8_t reg, uint8_t value)
{
	outb(RTC_INDEX, reg);
	outb(RTC_DATA, value);
}

/* Reading register C acknowledges the RTC's interrupt (IRQ 8 goes low). */
static void on_rtc_interrupt(struct interrupt_frame *frame)
{
	rtc_read(RTC_REG_C);
	on_timer_interrupt(frame);
}

static void do_work(void)
{
	for (uint32_t i = 0; i < WORK_READS; i++)
		inb(UART_SCRATCH);
}

/* --- the clock: the TSC at the rate Presidio reports --- */

static uint32_t tsc_khz(void)
{
	if (!running_on_presidio())
		return 0;
	struct cpuid_regs r;
	cpuid(LEAF_HYPERVISOR_TIMING, 0, &r);
	return r.eax;
}

/* dividend / divisor without 64-bit division (no libgcc): both are shifted
 * until the dividend fits 32 bits, which costs precision only when huge. */
static uint32_t divide_u64(uint64_t dividend, uint32_t divisor)
{
	while (dividend >> 32 && divisor > 1) {
		dividend >>= 1;
		divisor >>= 1;
	}
	return dividend >> 32 ? UINT32_MAX : (uint32_t)dividend / divisor;
}

/* --- I/O APIC pins --- */

static uint32_t ioapic_read(uint32_t index)
{
	write32(IOAPIC_REGISTER_SELECT, index);
	return read32(IOAPIC_WINDOW);
}

static void ioapic_write(uint32_t index, uint32_t value)
{
	write32(IOAPIC_REGISTER_SELECT, index);
	write32(IOAPIC_WINDOW, value);
}

struct redirection_entry {
	uint32_t low, high;
};

static struct redirection_entry saved_entry;

/* Sends the pin's edges to this CPU's APIC at `vector`, saving the old entry. */
static void ioapic_route(uint32_t pin, uint8_t vector)
{
	uint32_t index = IOAPIC_REDIRECTION_TABLE + 2 * pin;
	saved_entry.low = ioapic_read(index);
	saved_entry.high = ioapic_read(index + 1);
	ioapic_write(index, RTE_MASKED);
	ioapic_write(index + 1, (read32(LAPIC_ID) >> LAPIC_ID_SHIFT) << RTE_DESTINATION_SHIFT);
	ioapic_write(index, vector);
}

static void ioapic_restore(uint32_t pin)
{
	uint32_t index = IOAPIC_REDIRECTION_TABLE + 2 * pin;
	ioapic_write(index, saved_entry.low | RTE_MASKED);
	ioapic_write(index + 1, saved_entry.high);
	ioapic_write(index, saved_entry.low);
}

/* --- the timers: start programs one as fast as it goes, stop undoes it all --- */

struct saved_lapic {
	uint32_t svr, lvt_timer, divide;
};

static struct saved_lapic saved_lapic;

static void lapic_timer_start(uint32_t lvt_timer, uint32_t initial_count)
{
	saved_lapic.svr = read32(LAPIC_SVR);
	saved_lapic.lvt_timer = read32(LAPIC_LVT_TIMER);
	saved_lapic.divide = read32(LAPIC_TIMER_DIVIDE);
	write32(LAPIC_SVR, saved_lapic.svr | SVR_APIC_ENABLED);
	write32(LAPIC_TIMER_DIVIDE, TIMER_DIVIDE_BY_1);
	write32(LAPIC_LVT_TIMER, lvt_timer);
	if (initial_count)
		write32(LAPIC_TIMER_INITIAL_COUNT, initial_count);
}

static void lapic_timer_stop(void)
{
	write32(LAPIC_TIMER_INITIAL_COUNT, 0);
	write32(LAPIC_LVT_TIMER, saved_lapic.lvt_timer);
	write32(LAPIC_TIMER_DIVIDE, saved_lapic.divide);
	write32(LAPIC_SVR, saved_lapic.svr);
}

static void lapic_periodic_start(void)
{
	lapic_timer_start(LVT_TIMER_PERIODIC | VECTOR_LAPIC_PERIODIC, 1);
}

static void lapic_one_shot_start(void)
{
	lapic_timer_start(LVT_TIMER_ONE_SHOT | VECTOR_LAPIC_ONE_SHOT, 1);
}

static void tsc_deadline_start(void)
{
	lapic_timer_start(LVT_TIMER_TSC_DEADLINE | VECTOR_TSC_DEADLINE, 0);
	wrmsr(MSR_IA32_TSC_DEADLINE, rdtsc() - 1);
}

static void tsc_deadline_stop(void)
{
	wrmsr(MSR_IA32_TSC_DEADLINE, 0);
	lapic_timer_stop();
}

static void pit_start(void)
{
	ioapic_route(IOAPIC_PIN_PIT, VECTOR_PIT);
	outb(PIT_CONTROL, PIT_CHANNEL0_LSB_MSB_MODE2);
	outb(PIT_CHANNEL0, 1);
	outb(PIT_CHANNEL0, 0);
}

static void pit_stop(void)
{
	outb(PIT_CONTROL, PIT_CHANNEL0_LSB_MSB_MODE0);
	ioapic_restore(IOAPIC_PIN_PIT);
}

static uint8_t saved_rtc_a, saved_rtc_b;

static void rtc_start(void)
{
	saved_rtc_a = rtc_read(RTC_REG_A);
	saved_rtc_b = rtc_read(RTC_REG_B);
	rtc_read(RTC_REG_C);
	ioapic_route(IOAPIC_PIN_RTC, VECTOR_RTC);
	rtc_write(RTC_REG_A, (saved_rtc_a & ~RTC_A_RATE_MASK) | RTC_RATE_8192_HZ);
	rtc_write(RTC_REG_B, saved_rtc_b | RTC_B_PIE);
}

static void rtc_stop(void)
{
	rtc_write(RTC_REG_B, saved_rtc_b & ~RTC_B_PIE);
	rtc_read(RTC_REG_C);
	rtc_write(RTC_REG_A, saved_rtc_a);
	rtc_write(RTC_REG_B, saved_rtc_b);
	ioapic_restore(IOAPIC_PIN_RTC);
}

struct timer_case {
	const char *what;
	void (*start)(void);
	void (*stop)(void);
	uint32_t period_ns; /* the shortest between interrupts (periodic cases) */
};

struct timed_run {
	uint32_t interrupts;
	uint64_t tsc_ticks;
};

/* The stop runs with interrupts on, so one the timer left pending is taken
 * (and counted) before the guest moves on. */
static struct timed_run run_with_timer(const struct timer_case *c)
{
	interrupt_count = 0;
	uint64_t start = rdtsc_ordered();
	c->start();
	sti();
	do_work();
	c->stop();
	cli();
	return (struct timed_run){ interrupt_count, rdtsc_ordered() - start };
}

static void check_fast_timer(const struct timer_case *c)
{
	uint32_t khz = tsc_khz();
	struct timed_run run = run_with_timer(c);
	report_pass(name("%s: guest finished %u port reads with the timer running", c->what, WORK_READS));
	check(run.interrupts > 0, name("%s: interrupts delivered", c->what), "none");
	const char *what = name("%s: at most one interrupt per %u us", c->what, c->period_ns / NS_PER_US);
	if (!khz) {
		report_fail(what, "skipped: no TSC rate (CPUID 0x%x) outside Presidio", LEAF_HYPERVISOR_TIMING);
		return;
	}
	uint32_t elapsed_us = divide_u64(run.tsc_ticks * US_PER_MS, khz);
	uint32_t allowed = divide_u64((uint64_t)elapsed_us * NS_PER_US, c->period_ns) + SLACK_INTERRUPTS;
	check(run.interrupts <= allowed, what, "%u interrupts in %u us (at most %u)", run.interrupts,
	      elapsed_us, allowed);
}

static void check_fires_once(const struct timer_case *c)
{
	struct timed_run run = run_with_timer(c);
	check_u32(name("%s fires exactly once", c->what), run.interrupts, 1);
}

static bool tsc_deadline_supported(void)
{
	struct cpuid_regs r;
	cpuid(LEAF_1, 0, &r);
	return r.ecx & L1_ECX_TSC_DEADLINE;
}

void hostile_timer_cases(void)
{
	static const struct timer_case fast[] = {
		{ "local apic periodic, count 1, divide 1", lapic_periodic_start, lapic_timer_stop,
		  MIN_TIMER_PERIOD_NS },
		{ "pit channel 0 mode 2, count 1", pit_start, pit_stop, MIN_TIMER_PERIOD_NS },
		{ "rtc periodic interrupt at 8192 hz", rtc_start, rtc_stop, RTC_8192_HZ_PERIOD_NS },
	};
	static const struct timer_case one_shot = { .what = "local apic one-shot, count 1, divide 1",
						    .start = lapic_one_shot_start,
						    .stop = lapic_timer_stop };
	static const struct timer_case tsc_deadline = { .what = "local apic tsc deadline in the past",
							.start = tsc_deadline_start,
							.stop = tsc_deadline_stop };

	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_X2APIC_MODE) {
		report_fail("timer cases", "skipped: the local APIC is in x2APIC mode");
		return;
	}
	set_interrupt_handler(VECTOR_LAPIC_PERIODIC, on_timer_interrupt);
	set_interrupt_handler(VECTOR_PIT, on_timer_interrupt);
	set_interrupt_handler(VECTOR_RTC, on_rtc_interrupt);
	set_interrupt_handler(VECTOR_LAPIC_ONE_SHOT, on_timer_interrupt);
	set_interrupt_handler(VECTOR_TSC_DEADLINE, on_timer_interrupt);
	for (unsigned i = 0; i < sizeof(fast) / sizeof(fast[0]); i++)
		check_fast_timer(&fast[i]);
	check_fires_once(&one_shot);
	if (tsc_deadline_supported())
		check_fires_once(&tsc_deadline);
	else
		report_fail(name("%s fires exactly once", tsc_deadline.what), "skipped: no TSC-deadline mode");
}
