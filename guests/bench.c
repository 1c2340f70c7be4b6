/*
 * bench: round-trip cost of the common exits, in TSC ticks (LFENCE-ordered
 * RDTSC around one operation), minimum and median over N runs (n=N on the
 * command line, default 1000). The baseline runs the same loop around a
 * non-exiting NOP; subtract it to get the exit cost.
 */
#include "interrupts.h"
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
	sort(samples, runs);
	printf("BENCH %s min=%u median=%u\n", what, samples[0], samples[runs / 2]);
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
	if (!check(testdev_interrupts_available(), "test device present", "fifo probe failed; hlt bench skipped"))
		return;
	wakeups = 0;
	bench("hlt", op_hlt_wakeup, runs);
	check_u32("hlt bench woke once per run", wakeups, runs + 1);
}
