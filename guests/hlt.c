/*
 * hlt: external interrupts requested through the test device. Delivered at
 * once when the guest can take them, held while IF=0 or inside the STI
 * shadow, and HLT wakes up and resumes after the handler ran.
 */
#include "gdt.h"
#include "interrupts.h"
#include "report.h"
#include "testdev.h"
#include "x86.h"

#define VECTOR_IMMEDIATE 0x40
#define VECTOR_PENDING 0x41
#define VECTOR_HLT 0x42
#define VECTOR_LOWEST 0x20
#define VECTOR_HIGHEST 0xff
#define HLT_ROUNDS 100
#define PENDING_SPIN 10000
#define SETTLE_SPIN 1000

const char guest_name[] = "hlt";

struct irq_record {
	uint32_t count, vector, eip, cs, eflags, handler_eflags;
};

static volatile struct irq_record irq;

static void on_test_interrupt(struct interrupt_frame *f)
{
	irq.count++;
	irq.vector = f->vector;
	irq.eip = f->eip;
	irq.cs = f->cs;
	irq.eflags = f->eflags;
	irq.handler_eflags = read_eflags();
	testdev_interrupt_done();
}

/* Lets a late interrupt from a failed check arrive now, not in the next check. */
static void settle(void)
{
	sti();
	for (volatile uint32_t i = 0; i < SETTLE_SPIN; i++)
		pause();
	cli();
}

static void irq_clear(void)
{
	irq.count = irq.vector = irq.eip = irq.cs = irq.eflags = irq.handler_eflags = 0;
}

/* Handler ran once for `vector`, interrupting the instruction at `eip`. */
static void expect_interrupt(const char *what, uint32_t vector, uint32_t eip)
{
	check(irq.count == 1 && irq.vector == vector && irq.eip == eip && irq.cs == SEL_CODE32, what,
	      "count %u vector 0x%x eip 0x%x (expected 0x%x)", irq.count, irq.vector, irq.eip, eip);
}

static void check_immediate_delivery(void)
{
	uint32_t next;
	irq_clear();
	sti();
	switch (testdev_irq_mode()) {
	case IRQ_VIA_X2APIC:
		asm volatile("wrmsr\n1:\n\tmovl $1b, %0"
			     : "=r"(next) : "c"(MSR_X2APIC_SELF_IPI), "a"(VECTOR_IMMEDIATE), "d"(0) : "memory");
		break;
	case IRQ_VIA_XAPIC:
		asm volatile("movl %1, (%2)\n1:\n\tmovl $1b, %0"
			     : "=r"(next)
			     : "r"(LAPIC_ICR_SELF | LAPIC_ICR_ASSERT | VECTOR_IMMEDIATE), "r"(LAPIC_ICR_LOW)
			     : "memory");
		break;
	default:
		asm volatile("outb %b1, %w2\n1:\n\tmovl $1b, %0"
			     : "=r"(next) : "a"(VECTOR_IMMEDIATE), "Nd"(TESTDEV_IRQ_PORT) : "memory");
		break;
	}
	cli();
	expect_interrupt("interrupt delivered right after the request with if=1", VECTOR_IMMEDIATE, next);
	check(irq.count == 1 && (irq.eflags & EFLAGS_IF), "interrupted context had if=1",
	      "count %u eflags 0x%x", irq.count, irq.eflags);
	check(irq.count == 1 && !(irq.handler_eflags & EFLAGS_IF), "interrupt gate clears if in the handler",
	      "count %u handler eflags 0x%x", irq.count, irq.handler_eflags);
}

/* Requested with IF=0: nothing until STI, then taken after the shadowed instruction. */
static void check_pending_until_sti(void)
{
	uint32_t next;
	irq_clear();
	testdev_request_interrupt(VECTOR_PENDING);
	for (volatile uint32_t i = 0; i < PENDING_SPIN; i++)
		pause();
	struct cpuid_regs r;
	cpuid(0, 0, &r); /* an exit while the request is pending */
	check_u32("interrupt held while if=0", irq.count, 0);
	asm volatile("sti\n\t"
		     "nop\n" /* STI shadow */
		     "1:\n\t"
		     "movl $1b, %0\n\t"
		     "cli"
		     : "=r"(next) : : "memory");
	expect_interrupt("held interrupt taken after sti and its shadow", VECTOR_PENDING, next);
}

static void check_hlt_wakeup(void)
{
	uint32_t next;
	irq_clear();
	testdev_request_interrupt(VECTOR_HLT);
	/* STI's shadow covers HLT: the interrupt wakes HLT and returns after it. */
	asm volatile("sti\n\t"
		     "hlt\n"
		     "1:\n\t"
		     "movl $1b, %0\n\t"
		     "cli"
		     : "=r"(next) : : "memory");
	expect_interrupt("sti; hlt wakes and resumes after hlt", VECTOR_HLT, next);

	irq_clear();
	for (uint32_t i = 0; i < HLT_ROUNDS; i++) {
		testdev_request_interrupt(VECTOR_HLT);
		asm volatile("sti\n\thlt\n\tcli" : : : "memory");
	}
	check_u32(name("%u rounds of out; sti; hlt", HLT_ROUNDS), irq.count, HLT_ROUNDS);
}

static void check_vector_range(void)
{
	static const uint8_t vectors[] = { VECTOR_LOWEST, VECTOR_HIGHEST };
	for (unsigned i = 0; i < sizeof(vectors); i++) {
		irq_clear();
		testdev_request_interrupt(vectors[i]);
		asm volatile("sti\n\tnop\n\tcli" : : : "memory");
		check(irq.count == 1 && irq.vector == vectors[i], name("vector 0x%x delivered", vectors[i]),
		      "count %u vector 0x%x", irq.count, irq.vector);
	}
}

void guest_main(void)
{
	static const uint8_t vectors[] = { VECTOR_IMMEDIATE, VECTOR_PENDING, VECTOR_HLT, VECTOR_LOWEST,
					   VECTOR_HIGHEST };
	for (unsigned i = 0; i < sizeof(vectors); i++)
		set_interrupt_handler(vectors[i], on_test_interrupt);
	/* Without the device nothing would ever wake HLT. */
	if (!check(testdev_interrupts_available(), "test device present",
		   "fifo probe failed; interrupt checks skipped"))
		return;
	check_immediate_delivery();
	settle();
	check_pending_until_sti();
	settle();
	check_hlt_wakeup();
	settle();
	check_vector_range();
}
