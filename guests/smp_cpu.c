/*
 * smp guest, the side every CPU runs: its local APIC, the IPIs it sends,
 * its interrupt handlers, and for an AP the C entry and the loop
 * that carries out the BSP's commands. APs print nothing: whatever they
 * find goes into their struct smp_cpu for the BSP to check.
 */
#include <stddef.h>

#include "interrupts.h"
#include "smp.h"
#include "x86.h"

/* How long an AP waits for the NMI the BSP announces. */
#define NMI_WAIT_MS 500

struct smp_cpu cpus[SMP_MAX_CPUS + 1];
uint32_t cpu_count;
volatile uint32_t ap_boot_index;

/* --- the local APIC --- */

uint32_t ldr_bit(uint32_t index)
{
	return (1u << index) << LAPIC_ID_SHIFT;
}

uint32_t this_cpu_index(void)
{
	uint32_t id = lapic_id();
	for (uint32_t i = 0; i < cpu_count; i++)
		if (cpus[i].apic_id == id)
			return i;
	return CPU_UNKNOWN;
}

bool icr_send(uint32_t dest, uint32_t low)
{
	bool idle = lapic_send_ipi(dest, low);
	icr_count(1, !idle);
	return idle;
}

void icr_count(uint32_t sends, uint32_t stuck)
{
	struct smp_cpu *c = &cpus[this_cpu_index()];
	c->icr_sends += sends;
	c->icr_stuck += stuck;
}

void lapic_setup(struct smp_cpu *c, uint32_t index)
{
	lapic_write(LAPIC_REG_SVR, LAPIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(LAPIC_REG_TPR, 0);
	lapic_write(LAPIC_REG_DFR, LAPIC_DFR_FLAT);
	lapic_write(LAPIC_REG_LDR, ldr_bit(index));
	c->dfr = lapic_read(LAPIC_REG_DFR);
	c->ldr = lapic_read(LAPIC_REG_LDR);
}

/* --- interrupt handlers, the same on every CPU --- */

static void on_ipi(struct interrupt_frame *f)
{
	cpus[this_cpu_index()].irq_count[f->vector - VEC_FIRST]++;
	lapic_write(LAPIC_REG_EOI, 0);
}

/* NMIs and spurious interrupts are never in service: no EOI. */
static void on_nmi(struct interrupt_frame *f)
{
	(void)f;
	cpus[this_cpu_index()].nmi_count++;
}

static void on_spurious(struct interrupt_frame *f)
{
	(void)f;
	cpus[this_cpu_index()].spurious_count++;
}

void install_interrupt_handlers(void)
{
	for (uint32_t v = VEC_FIRST; v < VEC_FIRST + VEC_COUNT; v++)
		set_interrupt_handler((uint8_t)v, on_ipi);
	set_interrupt_handler(VECTOR_NMI, on_nmi);
	set_interrupt_handler(VEC_SPURIOUS, on_spurious);
}

/* --- the shared counter and the ticket spinlock --- */

struct count_shared count;

/*
 * Spins once more unless the run was abandoned. Only the BSP passes
 * deadlines: past `budget` (set when it leaves the barrier) it asks every CPU to stop taking new tickets
 * (those drawn are still served), past `deadline` it abandons the run, so
 * a CPU that never gets its turn ends the run instead of hanging the guest.
 */
static bool keep_waiting(struct count_deadlines *d)
{
	if (count.abort)
		return false;
	if (d && deadline_passed(d->budget))
		count.stop = 1;
	if (d && deadline_passed(d->abandon)) {
		count.abort = 1;
		return false;
	}
	pause();
	return true;
}

static bool ticket_lock(struct ticket_lock *l, struct count_deadlines *d)
{
	uint32_t mine = 1;
	asm volatile("lock xaddl %0, %1" : "+r"(mine), "+m"(l->next) : : "memory");
	while (l->serving != mine)
		if (!keep_waiting(d))
			return false;
	asm volatile("" : : : "memory");
	return true;
}

/* Only the holder writes `serving`; x86 stores are not reordered with
 * the earlier ones of the critical section. */
static void ticket_unlock(struct ticket_lock *l)
{
	asm volatile("" : : : "memory");
	l->serving = l->serving + 1;
}

static bool count_atomic(struct count_deadlines *d)
{
	for (uint32_t i = 0; i < count.atomic_rounds; i++)
		asm volatile("lock incl %0" : "+m"(count.atomic_total) : : "memory");
	asm volatile("lock incl %0" : "+m"(count.atomic_finished) : : "memory");
	while (count.atomic_finished != count.participants)
		if (!keep_waiting(d))
			return false;
	return true;
}

/* The BSP also checks its budget between rounds: uncontended, it never waits. */
static bool stop_locking(struct count_deadlines *d)
{
	if (d && deadline_passed(d->budget))
		count.stop = 1;
	return count.stop;
}

/* Every CPU takes the lock at least once, then until told to stop. */
static bool count_locked(struct smp_cpu *c, struct count_deadlines *d)
{
	for (uint32_t i = 0; i < count.lock_rounds && (i == 0 || !stop_locking(d)); i++) {
		if (!ticket_lock(&count.lock, d))
			return false;
		count.locked_total = count.locked_total + 1; /* plain load and store: only the lock makes it safe */
		ticket_unlock(&count.lock);
		c->locks_taken++;
	}
	return true;
}

bool count_work(struct count_deadlines *d)
{
	struct smp_cpu *c = &cpus[this_cpu_index()];
	asm volatile("lock incl %0" : "+m"(count.ready) : : "memory");
	while (!count.go)
		if (!keep_waiting(d))
			return false;
	if (!count_atomic(d))
		return false;
	if (d) {
		count.atomic_end = rdtsc();
		d->budget = deadline_after_ms(d->budget_ms);
	}
	return count_locked(c, d);
}

/* --- an AP: entry and command loop --- */

static uint32_t expect_nmi(struct smp_cpu *c, uint32_t before)
{
	uint64_t deadline = deadline_after_ms(NMI_WAIT_MS);
	while (c->nmi_count == before && !deadline_passed(deadline))
		pause();
	return c->nmi_count - before;
}

static uint32_t run_command(struct smp_cpu *c)
{
	switch (c->cmd) {
	case CMD_SEND_IPI:
		return icr_send(c->arg0, c->arg1);
	case CMD_EXPECT_NMI:
		return expect_nmi(c, c->arg0);
	case CMD_COUNT:
		return count_work(NULL);
	case CMD_READ_ISR:
		return lapic_isr_or();
	default:
		return 0;
	}
}

/* Interrupts stay enabled: the IPIs under test arrive while it polls. */
static __attribute__((noreturn)) void command_loop(struct smp_cpu *c)
{
	for (;;) {
		uint32_t seq = c->cmd_seq;
		if (seq == c->done_seq) {
			pause();
			continue;
		}
		asm volatile("" : : : "memory");
		c->result = run_command(c);
		asm volatile("" : : : "memory");
		c->done_seq = seq;
	}
}

void record_identity(struct smp_cpu *c)
{
	struct cpuid_regs r;
	cpuid(1, 0, &r);
	c->cpuid_apic_id = r.ebx >> LAPIC_ID_SHIFT;
	c->lapic_id = lapic_read(LAPIC_REG_ID) >> LAPIC_ID_SHIFT;
	c->apic_base_msr = (uint32_t)rdmsr(MSR_APIC_BASE);
}

/* Called by guests/lib/ap_trampoline.asm in 32-bit protected mode on the
 * AP's stack, with the BSP's IDT. */
void ap_main(uint32_t start_segment)
{
	uint32_t index = ap_boot_index;
	struct smp_cpu *c = &cpus[index];
	c->start_segment = start_segment;
	c->entry_svr = lapic_read(LAPIC_REG_SVR);
	c->entry_ldr = lapic_read(LAPIC_REG_LDR);
	record_identity(c);
	lapic_setup(c, index);
	/* Commands posted before this start were for the CPU INIT stopped. */
	c->done_seq = c->cmd_seq;
	asm volatile("" : : : "memory");
	c->started++;
	sti();
	command_loop(c);
}
