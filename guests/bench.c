/*
 * bench: round-trip cost of the common exits, in TSC ticks (LFENCE-ordered
 * RDTSC around one operation), minimum and median over N runs (n=N on the
 * command line, default 1000). The baseline runs the same loop around a
 * non-exiting NOP; subtract it to get the exit cost.
 *
 * With a second CPU in the MADT, also the IPI round trip: the BSP starts the
 * AP by INIT-SIPI-SIPI (guests/lib/ap_start.c), then sends it a fixed IPI
 * whose handler sends one back; the BSP reads its own TSC before the send
 * and in the reply's handler. Both CPUs wait in HLT (the BSP with the send
 * done under IF=0, then STI;HLT), so under QEMU's round-robin TCG each wait
 * hands the host thread to the other CPU at once: with -icount the ticks are
 * all the instructions both CPUs execute for one round trip.
 */
#include "ap_start.h"
#include "clock.h"
#include "interrupts.h"
#include "lapic.h"
#include "madt.h"
#include "multiboot.h"
#include "report.h"
#include "serial.h"
#include "testdev.h"
#include "x86.h"

#define DEFAULT_RUNS 1000
#define MAX_RUNS 4096
#define LEAF_HYPERVISOR 0x40000000u
#define UART_SCRATCH_PORT 0x3ff
#define BENCH_VECTOR 0x50
#define PING_VECTOR 0x51  /* BSP -> AP */
#define REPLY_VECTOR 0x52 /* AP -> BSP */
#define SPURIOUS_VECTOR 0xff
#define AP_TRAMPOLINE 0x7000u /* SIPI vector 0x07; free RAM below the Multiboot info */
#define AP_STACK_SIZE 4096
#define AP_START_TIMEOUT_MS 1000
#define FIRST_REPLY_TIMEOUT_MS 1000

const char guest_name[] = "bench";

static uint32_t samples[MAX_RUNS];
static volatile uint32_t wakeups;

static void on_bench_interrupt(struct interrupt_frame *f)
{
	(void)f;
	wakeups++;
	testdev_interrupt_done();
}

static void op_nop(void)
{
	asm volatile("nop");
}

static void op_cpuid(void)
{
	struct cpuid_regs r;
	cpuid(LEAF_HYPERVISOR, 0, &r);
}

static void op_port_round_trip(void)
{
	outb(UART_SCRATCH_PORT, 0x5a);
	(void)inb(UART_SCRATCH_PORT);
}

static uint32_t scratch;

static void op_mmio_read(void)
{
	(void)read32(scratch);
}

static void op_hlt_wakeup(void)
{
	testdev_request_interrupt(BENCH_VECTOR);
	asm volatile("sti\n\thlt\n\tcli" : : : "memory");
}

/* Heapsort: no recursion, no allocation, O(n log n) for up to MAX_RUNS samples. */
static void sift_down(uint32_t *a, uint32_t root, uint32_t n)
{
	for (uint32_t child; (child = 2 * root + 1) < n; root = child) {
		if (child + 1 < n && a[child + 1] > a[child])
			child++;
		if (a[root] >= a[child])
			return;
		uint32_t t = a[root];
		a[root] = a[child];
		a[child] = t;
	}
}

static void sort(uint32_t *a, uint32_t n)
{
	for (uint32_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	for (uint32_t end = n; end-- > 1;) {
		uint32_t t = a[0];
		a[0] = a[end];
		a[end] = t;
		sift_down(a, 0, end);
	}
}

static void report_samples(const char *what, uint32_t runs)
{
	sort(samples, runs);
	printf("BENCH %s min=%u median=%u\n", what, samples[0], samples[runs / 2]);
}

static void bench(const char *what, void (*op)(void), uint32_t runs)
{
	op(); /* warm up caches and any lazily built hypervisor state */
	for (uint32_t i = 0; i < runs; i++) {
		uint64_t start = rdtsc_ordered();
		op();
		uint64_t end = rdtsc_ordered();
		uint64_t ticks = end - start;
		samples[i] = ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks;
	}
	report_samples(what, runs);
}

/* --- the IPI round trip --- */

static uint8_t ap_stack[AP_STACK_SIZE] __attribute__((aligned(16)));
static uint32_t bsp_apic_id;
static volatile uint32_t ap_started, pings, replies, spurious;
static volatile uint64_t reply_tsc;

static void lapic_enable(void)
{
	lapic_write(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | SPURIOUS_VECTOR);
	lapic_write(LAPIC_REG_TPR, 0);
}

/* On the AP: the reply goes out before the EOI (ICR high names the BSP). */
static void on_ping(struct interrupt_frame *f)
{
	(void)f;
	pings++;
	lapic_write(LAPIC_REG_ICR_LOW, ICR_FIXED | ICR_ASSERT | REPLY_VECTOR);
	lapic_write(LAPIC_REG_EOI, 0);
}

/* On the BSP: the end of the round trip. */
static void on_reply(struct interrupt_frame *f)
{
	(void)f;
	reply_tsc = rdtsc_ordered();
	replies++;
	lapic_write(LAPIC_REG_EOI, 0);
}

static void on_spurious(struct interrupt_frame *f)
{
	(void)f;
	spurious++;
}

/* The AP: its local APIC on, ICR high set once to the BSP, then it waits
 * for pings in HLT for ever. */
static void ap_entry(uint32_t start_segment)
{
	(void)start_segment;
	lapic_enable();
	lapic_write(LAPIC_REG_ICR_HIGH, bsp_apic_id << ICR_DEST_SHIFT);
	ap_started = 1;
	for (;;)
		asm volatile("sti\n\thlt" : : : "memory");
}

/* The first AP of the MADT, started; false (with a FAIL) if it did not come. */
static bool start_ap(uint32_t *ap_apic_id)
{
	struct madt_cpus m;
	const char *error = madt_find_cpus(&m);
	if (error)
		return report_fail("MADT lists the CPUs", "%s", error);
	bsp_apic_id = lapic_id();
	uint32_t i = 0;
	while (i < m.count && i < MADT_MAX_CPUS && m.apic_id[i] == bsp_apic_id)
		i++;
	if (i == m.count || i == MADT_MAX_CPUS) {
		printf("guest bench: 1 CPU, no IPI round trip\n");
		return false;
	}
	*ap_apic_id = m.apic_id[i];
	check(clock_init(), "PIT channel 2 calibrates the TSC", "OUT2 never went high; delays assume %u kHz",
	      clock_tsc_khz());
	set_interrupt_handler(PING_VECTOR, on_ping);
	set_interrupt_handler(REPLY_VECTOR, on_reply);
	set_interrupt_handler(SPURIOUS_VECTOR, on_spurious);
	lapic_enable();
	ap_trampoline_install(AP_TRAMPOLINE);
	uint32_t stuck = ap_send_init(*ap_apic_id);
	stuck += ap_send_sipis(*ap_apic_id, AP_TRAMPOLINE, ap_entry, &ap_stack[AP_STACK_SIZE]);
	check_u32("ICR idle after INIT, SIPI, SIPI (sends left pending)", stuck, 0);
	return check(wait_for_u32(&ap_started, 1, AP_START_TIMEOUT_MS),
		     name("AP (APIC ID %u) started by INIT-SIPI-SIPI", *ap_apic_id), "no word from it in %u ms",
		     AP_START_TIMEOUT_MS);
}

/* One ping and its reply; the BSP halts until the reply's handler ran
 * (STI's shadow covers HLT, so a reply already pending wakes it). */
static uint32_t ipi_round_trip(void)
{
	uint32_t before = replies;
	cli();
	uint64_t start = rdtsc_ordered();
	lapic_write(LAPIC_REG_ICR_LOW, ICR_FIXED | ICR_ASSERT | PING_VECTOR);
	while (replies == before)
		asm volatile("sti\n\thlt\n\tcli" : : : "memory");
	uint64_t ticks = reply_tsc - start;
	return ticks > 0xffffffffu ? 0xffffffffu : (uint32_t)ticks;
}

static void bench_ipi(uint32_t runs)
{
	uint32_t ap = 0;
	if (!start_ap(&ap))
		return;
	lapic_write(LAPIC_REG_ICR_HIGH, ap << ICR_DEST_SHIFT);
	/* The first round waits with a deadline: a lost IPI must not hang the guest. */
	sti();
	lapic_write(LAPIC_REG_ICR_LOW, ICR_FIXED | ICR_ASSERT | PING_VECTOR);
	bool answered = wait_for_u32(&replies, 1, FIRST_REPLY_TIMEOUT_MS);
	cli();
	if (!check(answered, "the AP answers a fixed IPI with one", "no reply within %u ms (pings taken: %u)",
		   FIRST_REPLY_TIMEOUT_MS, pings))
		return;
	for (uint32_t i = 0; i < runs; i++)
		samples[i] = ipi_round_trip();
	report_samples("ipi", runs);
	check_u32("IPI round trips: pings the AP took", pings, runs + 1);
	check_u32("IPI round trips: replies the BSP took", replies, runs + 1);
	check_u32("spurious interrupts", spurious, 0);
}

void guest_main(void)
{
	uint32_t runs = multiboot_cmdline_uint("n", DEFAULT_RUNS);
	if (runs < 1 || runs > MAX_RUNS)
		runs = DEFAULT_RUNS;
	scratch = testdev_scratch_base();
	set_interrupt_handler(BENCH_VECTOR, on_bench_interrupt);

	bench("baseline", op_nop, runs);
	bench("cpuid", op_cpuid, runs);
	bench("pio", op_port_round_trip, runs);
	bench("mmio", op_mmio_read, runs);
	/* Without the device nothing would ever wake HLT. */
	if (check(testdev_interrupts_available(), "test device present", "fifo probe failed; hlt bench skipped")) {
		wakeups = 0;
		bench("hlt", op_hlt_wakeup, runs);
		check_u32("hlt bench woke once per run", wakeups, runs + 1);
	}
	bench_ipi(runs);
}
