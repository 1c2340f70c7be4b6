/*
 * smp: a VM's multiprocessor support, seen from the BSP. The CPUs come from
 * the ACPI MADT; each AP is started by INIT-SIPI-SIPI through the xAPIC ICR
 * into a real-mode trampoline (guests/lib/ap_start.c) and then runs
 * commands in guests/smp_cpu.c. Checked: CPU identities, IPIs both ways
 * (fixed physical, NMI, broadcast, flat logical, lowest priority), a shared
 * lock-prefixed counter and a ticket spinlock, and an INIT that stops a
 * running AP so that a SIPI starts it over at another page. Only the BSP
 * prints.
 */
#include "interrupts.h"
#include "multiboot.h"
#include "report.h"
#include "serial.h"
#include "smp.h"
#include "string.h"
#include "x86.h"

#define PAGE_SIZE 4096u
#define REAL_MODE_SEGMENT_SHIFT 4
/* Below the Multiboot information (Presidio and QEMU put it at 0x9000). */
#define TRAMPOLINE_FIRST 0x7000u   /* SIPI vector 0x07 */
#define TRAMPOLINE_RESTART 0x8000u /* SIPI vector 0x08: the start after INIT */
#define OPCODE_HLT 0xf4
#define AP_STACK_SIZE 4096

#define AP_START_TIMEOUT_MS 1000
#define COMMAND_TIMEOUT_MS 1000
#define IPI_TIMEOUT_MS 500
#define SETTLE_US 2000
#define HALTED_PROBE_MS 50 /* an AP INIT stopped must stay silent this long */
#define XAPIC_BROADCAST_ID 0xffu

/*
 * n=: rounds of lock incl per CPU (4 CPUs x 20000 take a few ms on QEMU
 * TCG, a few million instructions on Bochs), and at most as many of the
 * spinlock, which stops after LOCK_BUDGET_MS: each ticket hands the lock to
 * one given CPU, and with more vCPU threads than host cores every handoff
 * can wait for the host's scheduler (milliseconds).
 */
#define DEFAULT_ROUNDS 20000
#define LOCK_BUDGET_MS 200
#define COUNT_TIMEOUT_BASE_MS 5000
#define COUNT_TIMEOUT_ROUNDS_PER_MS 10

const char guest_name[] = "smp";

static uint8_t ap_stacks[SMP_MAX_CPUS][AP_STACK_SIZE] __attribute__((aligned(16)));

static uint32_t all_cpus_mask(void)
{
	return (1u << cpu_count) - 1;
}

static uint32_t all_aps_mask(void)
{
	return all_cpus_mask() & ~1u;
}

/* --- commands to the APs --- */

static uint32_t post_command(struct smp_cpu *c, enum ap_command cmd, uint32_t arg0, uint32_t arg1)
{
	c->cmd = cmd;
	c->arg0 = arg0;
	c->arg1 = arg1;
	asm volatile("" : : : "memory");
	uint32_t seq = c->cmd_seq + 1;
	c->cmd_seq = seq;
	return seq;
}

/* Runs one command on a running AP. An AP that does not answer is marked
 * dead (one FAIL), so later checks fail on it without waiting again. */
static bool ap_call(uint32_t i, enum ap_command cmd, uint32_t arg0, uint32_t arg1, uint32_t *result)
{
	struct smp_cpu *c = &cpus[i];
	if (!c->alive)
		return false;
	uint32_t seq = post_command(c, cmd, arg0, arg1);
	if (!wait_for_u32(&c->done_seq, seq, COMMAND_TIMEOUT_MS)) {
		c->alive = false;
		return report_fail("AP answers commands", "cpu %u (APIC ID %u) did not answer command %u within %u ms",
				   i, c->apic_id, cmd, COMMAND_TIMEOUT_MS);
	}
	if (result)
		*result = c->result;
	return true;
}

/* Checks on one AP fail at once, and say why, when it is not running. */
static bool running(uint32_t i, const char *what)
{
	if (cpus[i].alive)
		return true;
	return report_fail(what, "cpu %u (APIC ID %u) is not running", i, cpus[i].apic_id);
}

/* Lets IPIs still on their way arrive before counts are compared: a short
 * wait, then a round trip to each AP (whose loop runs with IF=1). */
static void settle(void)
{
	delay_us(SETTLE_US);
	for (uint32_t i = 1; i < cpu_count; i++)
		ap_call(i, CMD_PING, 0, 0, NULL);
}

/* --- interrupt counts --- */

static void snapshot(uint32_t vector, uint32_t before[SMP_MAX_CPUS])
{
	for (uint32_t i = 0; i < cpu_count; i++)
		before[i] = cpus[i].irq_count[vector - VEC_FIRST];
}

static uint32_t taken_since(uint32_t vector, const uint32_t before[SMP_MAX_CPUS], uint32_t i)
{
	return cpus[i].irq_count[vector - VEC_FIRST] - before[i];
}

/*
 * After an IPI meant for the CPUs in `targets` (bit i: cpus[i]): each
 * target took it exactly once, no other CPU took it.
 */
static void expect_delivery(const char *what, uint32_t vector, const uint32_t before[SMP_MAX_CPUS],
			    uint32_t targets)
{
	for (uint32_t i = 0; i < cpu_count; i++)
		if (targets & (1u << i))
			wait_for_u32(&cpus[i].irq_count[vector - VEC_FIRST], before[i] + 1, IPI_TIMEOUT_MS);
	settle();
	for (uint32_t i = 0; i < cpu_count; i++) {
		uint32_t got = taken_since(vector, before, i), want = (targets >> i) & 1;
		if (got != want) {
			report_fail(what, "cpu %u (APIC ID %u) took vector 0x%x %u times, expected %u", i,
				    cpus[i].apic_id, vector, got, want);
			return;
		}
	}
	report_pass(what);
}

/* --- the CPUs from the MADT --- */

static bool apic_ids_usable(const struct madt_cpus *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->apic_id[i] >= XAPIC_BROADCAST_ID)
			return report_fail("MADT APIC IDs are distinct xAPIC IDs", "APIC ID 0x%x needs x2APIC mode",
					   m->apic_id[i]);
		for (uint32_t j = 0; j < i; j++)
			if (m->apic_id[i] == m->apic_id[j])
				return report_fail("MADT APIC IDs are distinct xAPIC IDs", "APIC ID %u twice",
						   m->apic_id[i]);
	}
	return report_pass("MADT APIC IDs are distinct xAPIC IDs");
}

/* Fills cpus[]: the BSP (the CPU running this) first, then the APs. */
static bool order_cpus(const struct madt_cpus *m)
{
	uint32_t bsp_id = lapic_read(LAPIC_REG_ID) >> LAPIC_ID_SHIFT;
	uint32_t next = 1;
	bool found = false;
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->apic_id[i] == bsp_id && !found) {
			found = true;
			continue;
		}
		if (next < SMP_MAX_CPUS)
			cpus[next++].apic_id = m->apic_id[i];
	}
	if (!check(found, "the BSP's APIC ID is in the MADT", "local APIC ID %u is not listed", bsp_id))
		return false;
	cpus[0].apic_id = bsp_id;
	cpu_count = m->count;
	return true;
}

static bool find_cpus(void)
{
	struct madt_cpus m;
	const char *error = madt_find_cpus(&m);
	if (error)
		return report_fail("MADT lists the CPUs", "%s", error);
	printf("guest smp: MADT at 0x%x (RSDP at 0x%x, revision %u), %u disabled entries, %u x2APIC entries\n",
	       m.madt, m.rsdp, m.rsdp_revision, m.disabled, m.x2apic_entries);
	printf("guest smp: %u CPUs\n", m.count);
	uint32_t want = multiboot_cmdline_uint("cpus", 0);
	if (want)
		check(m.count == want, name("MADT lists cpus=%u CPUs", want), "it lists %u enabled local APICs",
		      m.count);
	check_u32("MADT local APIC address", m.lapic_address, LAPIC_MMIO_BASE);
	if (m.count > SMP_MAX_CPUS)
		return report_fail("at most 8 CPUs", "the MADT lists %u; this guest gives each an LDR bit",
				   m.count);
	if (!apic_ids_usable(&m) || !order_cpus(&m))
		return false;
	printf("guest smp: APIC IDs");
	for (uint32_t i = 0; i < cpu_count; i++)
		printf(" %u%s", cpus[i].apic_id, i ? "" : " (BSP)");
	printf("\n");
	return true;
}

/* CPUID, the ID register, IA32_APIC_BASE.BSP and the flat-model registers
 * as the CPU itself read them. */
static void check_identity(uint32_t i)
{
	const struct smp_cpu *c = &cpus[i];
	check(c->cpuid_apic_id == c->apic_id && c->lapic_id == c->apic_id,
	      name("cpu %u: CPUID.1 EBX[31:24] and the local APIC ID equal its MADT APIC ID %u", i, c->apic_id),
	      "CPUID says %u, the ID register %u", c->cpuid_apic_id, c->lapic_id);
	bool bsp_flag = c->apic_base_msr & APIC_BASE_BSP;
	check(bsp_flag == (i == 0), name("cpu %u: IA32_APIC_BASE.BSP is %u", i, i == 0), "IA32_APIC_BASE 0x%x",
	      c->apic_base_msr);
	check(c->dfr == LAPIC_DFR_FLAT && c->ldr == ldr_bit(i),
	      name("cpu %u: flat logical model, LDR 0x%08x", i, ldr_bit(i)), "DFR 0x%x LDR 0x%x", c->dfr, c->ldr);
}

/* --- starting APs --- */

static bool send_init(uint32_t i)
{
	uint32_t stuck = ap_send_init(cpus[i].apic_id);
	icr_count(AP_INIT_SENDS, stuck);
	return !stuck;
}

/* Two SIPIs as the SDM does it; a started AP ignores the second. */
static bool send_sipis(uint32_t i, uint32_t page)
{
	ap_boot_index = i;
	uint32_t stuck = ap_send_sipis(cpus[i].apic_id, page, ap_main, &ap_stacks[i][AP_STACK_SIZE]);
	icr_count(AP_SIPI_SENDS, stuck);
	return !stuck;
}

/* Waits for the AP to report in from `page`, then for one command round
 * trip; it must have started once (the second SIPI must not restart it). */
static bool expect_started(uint32_t i, uint32_t page, uint32_t before, const char *what)
{
	struct smp_cpu *c = &cpus[i];
	if (!wait_for_u32(&c->started, before + 1, AP_START_TIMEOUT_MS)) {
		c->alive = false;
		return report_fail(what, "no report from cpu %u (APIC ID %u) within %u ms (started %u times)", i,
				   c->apic_id, AP_START_TIMEOUT_MS, c->started - before);
	}
	c->alive = true;
	bool answered = ap_call(i, CMD_PING, 0, 0, NULL);
	uint32_t want_cs = page >> REAL_MODE_SEGMENT_SHIFT;
	return check(answered && c->started == before + 1 && c->start_segment == want_cs, what,
		     "answered %u, started %u times, trampoline CS 0x%x (expected 0x%x)", answered,
		     c->started - before, c->start_segment, want_cs);
}

static void start_ap(uint32_t i)
{
	struct smp_cpu *c = &cpus[i];
	uint32_t before = c->started;
	bool idle = send_init(i);
	check(c->started == before, name("cpu %u has not run before its SIPI", i), "it ran %u times after INIT",
	      c->started - before);
	idle &= send_sipis(i, TRAMPOLINE_FIRST);
	check(idle, name("cpu %u: ICR idle after INIT, SIPI, SIPI", i), "delivery status pending after %u ms",
	      ICR_IDLE_TIMEOUT_MS);
	if (expect_started(i, TRAMPOLINE_FIRST, before,
			   name("cpu %u (APIC ID %u) started by INIT-SIPI-SIPI at vector 0x%02x", i, c->apic_id,
				ap_sipi_vector(TRAMPOLINE_FIRST))))
		check_identity(i);
}

/* --- IPIs --- */

static void check_fixed_to_each_ap(void)
{
	uint32_t before[SMP_MAX_CPUS];
	for (uint32_t i = 1; i < cpu_count; i++) {
		const char *what = name("fixed IPI BSP -> cpu %u (physical %u) reaches it alone", i, cpus[i].apic_id);
		if (!running(i, what))
			continue;
		snapshot(VEC_FIXED, before);
		icr_send(cpus[i].apic_id, ICR_FIXED | ICR_ASSERT | VEC_FIXED);
		expect_delivery(what, VEC_FIXED, before, 1u << i);
	}
}

static void check_each_ap_to_bsp(void)
{
	uint32_t before[SMP_MAX_CPUS];
	for (uint32_t i = 1; i < cpu_count; i++) {
		const char *what = name("fixed IPI cpu %u -> BSP reaches the BSP alone", i);
		if (!running(i, what))
			continue;
		snapshot(VEC_TO_BSP, before);
		ap_call(i, CMD_SEND_IPI, cpus[0].apic_id, ICR_FIXED | ICR_ASSERT | VEC_TO_BSP, NULL);
		expect_delivery(what, VEC_TO_BSP, before, 1u);
	}
}

static uint32_t total_nmis(void)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < cpu_count; i++)
		sum += cpus[i].nmi_count;
	return sum;
}

/* The AP itself waits for the NMI and says how many it saw. */
static void check_nmi_to_each_ap(void)
{
	for (uint32_t i = 1; i < cpu_count; i++) {
		if (!running(i, name("NMI IPI to cpu %u: its NMI handler ran once, no other CPU's", i)))
			continue;
		uint32_t before = cpus[i].nmi_count, all_before = total_nmis(), seen = 0;
		icr_send(cpus[i].apic_id, ICR_NMI | ICR_ASSERT);
		bool answered = ap_call(i, CMD_EXPECT_NMI, before, 0, &seen);
		settle();
		check(answered && seen == 1 && total_nmis() == all_before + 1,
		      name("NMI IPI to cpu %u: its NMI handler ran once, no other CPU's", i),
		      "answered %u, it saw %u, all CPUs %u", answered, seen, total_nmis() - all_before);
	}
}

static void check_broadcast(void)
{
	uint32_t before[SMP_MAX_CPUS];
	snapshot(VEC_BROADCAST, before);
	icr_send(0, ICR_ALL_EXCLUDING_SELF | ICR_FIXED | ICR_ASSERT | VEC_BROADCAST);
	expect_delivery("broadcast all-excluding-self reaches every AP once, not the BSP", VEC_BROADCAST, before,
			all_aps_mask());
}

/* In the flat model with LDR bit i on cpus[i], a logical mask names CPUs by index. */
static void check_logical(uint32_t mask)
{
	uint32_t before[SMP_MAX_CPUS];
	snapshot(VEC_LOGICAL, before);
	icr_send(mask, ICR_LOGICAL | ICR_FIXED | ICR_ASSERT | VEC_LOGICAL);
	expect_delivery(name("logical flat destination 0x%02x reaches exactly those CPUs", mask), VEC_LOGICAL,
			before, mask);
}

static void check_logical_destinations(void)
{
	if (cpu_count == 1) {
		check_logical(1u);
	} else if (cpu_count == 2) {
		check_logical(1u << 1);
		check_logical(all_cpus_mask());
	} else {
		check_logical((1u << 1) | (1u << 2));
		check_logical(1u | (1u << (cpu_count - 1)));
	}
}

static uint32_t taken_in(uint32_t vector, const uint32_t before[SMP_MAX_CPUS], uint32_t mask)
{
	uint32_t sum = 0;
	for (uint32_t i = 0; i < cpu_count; i++)
		if (mask & (1u << i))
			sum += taken_since(vector, before, i);
	return sum;
}

/* The SDM lets the APIC pick any CPU of the set; exactly one must take it. */
static void check_lowest_priority(uint32_t mask)
{
	uint32_t before[SMP_MAX_CPUS];
	snapshot(VEC_LOWEST, before);
	icr_send(mask, ICR_LOGICAL | ICR_LOWEST_PRIORITY | ICR_ASSERT | VEC_LOWEST);
	uint64_t deadline = deadline_after_ms(IPI_TIMEOUT_MS);
	while (!taken_in(VEC_LOWEST, before, mask) && !deadline_passed(deadline))
		pause();
	settle();
	uint32_t in_set = taken_in(VEC_LOWEST, before, mask);
	uint32_t outside = taken_in(VEC_LOWEST, before, all_cpus_mask() & ~mask);
	for (uint32_t i = 0; i < cpu_count; i++)
		if (taken_since(VEC_LOWEST, before, i))
			printf("guest smp: lowest priority to 0x%02x: cpu %u took it\n", mask, i);
	check(in_set == 1 && outside == 0,
	      name("lowest-priority IPI to logical set 0x%02x reaches exactly one CPU of it", mask),
	      "%u CPUs of the set and %u outside took it", in_set, outside);
}

static void check_ipis(void)
{
	check_fixed_to_each_ap();
	check_each_ap_to_bsp();
	check_nmi_to_each_ap();
	check_broadcast();
	check_logical_destinations();
	check_lowest_priority(all_cpus_mask());
	if (cpu_count >= 3)
		check_lowest_priority(all_aps_mask());
}

/* --- shared memory --- */

static void prepare_count(uint32_t rounds)
{
	memset(&count, 0, sizeof(count));
	count.atomic_rounds = count.lock_rounds = rounds;
	count.participants = 1;
	for (uint32_t i = 0; i < cpu_count; i++)
		cpus[i].locks_taken = 0;
	for (uint32_t i = 1; i < cpu_count; i++)
		count.participants += cpus[i].alive;
	asm volatile("" : : : "memory");
}

/* Every CPU took the lock, and the plain increments add up to the
 * acquisitions and to the tickets drawn. */
static void check_spinlock(void)
{
	uint32_t taken = 0, idle = 0;
	printf("guest smp: spinlock taken");
	for (uint32_t i = 0; i < cpu_count; i++) {
		taken += cpus[i].locks_taken;
		idle += !cpus[i].locks_taken;
		printf(" %u", cpus[i].locks_taken);
	}
	printf(" times\n");
	check(idle == 0, name("ticket spinlock taken by all %u CPUs", cpu_count), "%u CPUs never took it", idle);
	check(count.locked_total == taken && count.lock.next == taken && count.lock.serving == taken,
	      name("ticket spinlock around a plain increment on %u CPUs: total = acquisitions", cpu_count),
	      "total %u, acquisitions %u, tickets drawn %u, served %u", count.locked_total, taken, count.lock.next,
	      count.lock.serving);
}

static void check_counters(uint32_t rounds)
{
	uint32_t seq[SMP_MAX_CPUS] = { 0 };
	prepare_count(rounds);
	for (uint32_t i = 1; i < cpu_count; i++)
		if (cpus[i].alive)
			seq[i] = post_command(&cpus[i], CMD_COUNT, 0, 0);
	/* Start together, so the CPUs really contend. */
	wait_for_u32(&count.ready, count.participants - 1, COMMAND_TIMEOUT_MS);
	uint32_t timeout = COUNT_TIMEOUT_BASE_MS + rounds / COUNT_TIMEOUT_ROUNDS_PER_MS;
	struct count_deadlines limits = { LOCK_BUDGET_MS, 0, deadline_after_ms(timeout) };
	limits.budget = limits.abandon;
	uint64_t start = rdtsc();
	count.go = 1;
	bool finished = count_work(&limits);
	for (uint32_t i = 1; i < cpu_count; i++)
		if (seq[i] && !wait_for_u32(&cpus[i].done_seq, seq[i], COMMAND_TIMEOUT_MS)) {
			cpus[i].alive = false;
			report_fail("AP answers commands", "cpu %u did not leave the counting run", i);
		}
	uint32_t total_ms = clock_ms_since(start), lock_ms = clock_ms_since(count.atomic_end);
	if (finished)
		printf("guest smp: %u CPUs: %u lock incl each took %u ms, the spinlock %u ms\n", cpu_count, rounds,
		       total_ms - lock_ms, lock_ms);
	check(finished, name("counting on %u CPUs finishes within %u ms", count.participants, timeout),
	      "abandoned with %u of %u counter increments and %u spinlock increments", count.atomic_total,
	      rounds * count.participants, count.locked_total);
	check_u32(name("lock incl on a shared counter: %u CPUs x %u", cpu_count, rounds), count.atomic_total,
		  rounds * cpu_count);
	check_spinlock();
}

/* --- INIT of a running AP --- */

/* INIT puts the last running AP back to wait-for-SIPI: it stops answering,
 * and the next SIPI starts it over at the new page with a local APIC in its
 * reset state. */
static void check_init_restart(void)
{
	uint32_t i = cpu_count - 1;
	while (i > 0 && !cpus[i].alive)
		i--;
	if (i == 0) {
		report_fail("INIT restart of a running AP", "no AP is running");
		return;
	}
	struct smp_cpu *c = &cpus[i];
	ap_trampoline_install(TRAMPOLINE_RESTART);
	/* An AP wrongly started at the old page halts there and never reports. */
	memset((void *)TRAMPOLINE_FIRST, OPCODE_HLT, PAGE_SIZE);
	uint32_t before = c->started;
	bool idle = send_init(i);
	uint32_t seq = post_command(c, CMD_PING, 0, 0);
	bool answered = wait_for_u32(&c->done_seq, seq, HALTED_PROBE_MS);
	check(!answered && c->started == before,
	      name("INIT stops running cpu %u (silent for %u ms)", i, HALTED_PROBE_MS),
	      "answered %u, started %u times since", answered, c->started - before);
	idle &= send_sipis(i, TRAMPOLINE_RESTART);
	check(idle, name("cpu %u: ICR idle after INIT, SIPI, SIPI to a running AP", i),
	      "delivery status pending after %u ms", ICR_IDLE_TIMEOUT_MS);
	if (!expect_started(i, TRAMPOLINE_RESTART, before,
			    name("cpu %u starts over at vector 0x%02x after INIT", i, ap_sipi_vector(TRAMPOLINE_RESTART))))
		return;
	check(c->entry_svr == LAPIC_SVR_RESET && c->entry_ldr == 0,
	      name("INIT reset cpu %u's local APIC (SVR 0x%x, LDR 0)", i, LAPIC_SVR_RESET), "SVR 0x%x LDR 0x%x",
	      c->entry_svr, c->entry_ldr);
	check_identity(i);
	uint32_t counts[SMP_MAX_CPUS];
	snapshot(VEC_RESTARTED, counts);
	icr_send(c->apic_id, ICR_FIXED | ICR_ASSERT | VEC_RESTARTED);
	expect_delivery(name("restarted cpu %u takes a fixed IPI", i), VEC_RESTARTED, counts, 1u << i);
}

/* --- the end state --- */

static void check_end_state(void)
{
	for (uint32_t i = 0; i < cpu_count; i++) {
		uint32_t isr = 0;
		bool answered = i ? ap_call(i, CMD_READ_ISR, 0, 0, &isr) : (isr = lapic_isr_or(), true);
		check(answered && !isr, name("cpu %u: nothing left in service (every handler sent EOI)", i),
		      "answered %u, ISR bits 0x%x", answered, isr);
	}
	uint32_t sends = 0, stuck = 0, spurious = 0;
	for (uint32_t i = 0; i <= SMP_MAX_CPUS; i++) {
		sends += cpus[i].icr_sends;
		stuck += cpus[i].icr_stuck;
		spurious += cpus[i].spurious_count;
	}
	check(stuck == 0, "ICR delivery status idle after every send", "%u of %u sends stayed pending %u ms",
	      stuck, sends, ICR_IDLE_TIMEOUT_MS);
	uint32_t strays = cpus[CPU_UNKNOWN].nmi_count + cpus[CPU_UNKNOWN].spurious_count;
	for (uint32_t v = 0; v < VEC_COUNT; v++)
		strays += cpus[CPU_UNKNOWN].irq_count[v];
	check_u32("interrupts on a CPU outside the MADT", strays, 0);
	printf("guest smp: %u IPIs sent, %u spurious interrupts\n", sends, spurious);
}

static void setup_bsp(void)
{
	struct smp_cpu *bsp = &cpus[0];
	record_identity(bsp);
	lapic_setup(bsp, 0);
	bsp->alive = true;
	bsp->started = 1;
	check_identity(0);
}

void guest_main(void)
{
	install_interrupt_handlers();
	check(clock_init(), "PIT channel 2 calibrates the TSC", "OUT2 never went high; timeouts assume %u kHz",
	      clock_tsc_khz());
	printf("guest smp: TSC %u kHz\n", clock_tsc_khz());
	uint32_t rounds = multiboot_cmdline_uint("n", DEFAULT_ROUNDS);
	if (!rounds)
		rounds = 1; /* every CPU takes the spinlock at least once */
	if (!find_cpus())
		return;
	setup_bsp();
	sti();
	if (cpu_count == 1)
		printf("guest smp: skipped with 1 CPU: AP start-up, IPIs between CPUs, NMI IPIs, INIT restart\n");
	if (cpu_count > 1)
		ap_trampoline_install(TRAMPOLINE_FIRST);
	for (uint32_t i = 1; i < cpu_count; i++)
		start_ap(i);
	check_ipis();
	check_counters(rounds);
	if (cpu_count > 1)
		check_init_restart();
	check_end_state();
	cli();
}
