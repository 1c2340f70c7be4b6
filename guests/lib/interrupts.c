#include "interrupts.h"

#include "gdt.h"
#include "report.h"
#include "x86.h"

#define GATE_INTERRUPT_32 0x8e /* present, DPL 0, 32-bit interrupt gate */

struct __attribute__((packed)) idt_gate {
	uint16_t offset_low;
	uint16_t selector;
	uint8_t zero;
	uint8_t type;
	uint16_t offset_high;
};

struct __attribute__((packed)) pseudo_descriptor {
	uint16_t limit;
	uint32_t base;
};

extern const uint32_t isr_stub_table[IDT_VECTORS];

static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(8)));
static interrupt_handler handlers[IDT_VECTORS];

volatile uint32_t fault_recovery_eip;
volatile uint32_t fault_insn_eip;
volatile struct fault_record last_fault;

void idt_init(void)
{
	for (unsigned v = 0; v < IDT_VECTORS; v++) {
		uint32_t stub = isr_stub_table[v];
		idt[v] = (struct idt_gate){ (uint16_t)stub, SEL_CODE32, 0, GATE_INTERRUPT_32,
					    (uint16_t)(stub >> 16) };
	}
	static struct pseudo_descriptor idtr;
	idtr = (struct pseudo_descriptor){ sizeof(idt) - 1, (uint32_t)idt };
	asm volatile("lidt %0" : : "m"(idtr) : "memory");
}

void set_interrupt_handler(uint8_t vector, interrupt_handler handler)
{
	handlers[vector] = handler;
}

void fault_clear(void)
{
	last_fault.occurred = false;
	last_fault.vector = last_fault.error_code = last_fault.eip = last_fault.cr2 = 0;
}

static void unexpected(const struct interrupt_frame *f)
{
	report_fail("unexpected interrupt", "vector %u error 0x%x at eip 0x%x (cr2 0x%x)", f->vector,
		    f->error_code, f->eip, read_cr2());
	report_done();
}

void interrupt_dispatch(struct interrupt_frame *f);
void interrupt_dispatch(struct interrupt_frame *f)
{
	if (handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (f->vector < EXCEPTION_VECTORS && fault_recovery_eip) {
		last_fault.vector = f->vector;
		last_fault.error_code = f->error_code;
		last_fault.eip = f->eip;
		last_fault.cr2 = read_cr2();
		last_fault.occurred = true;
		f->eip = fault_recovery_eip;
		fault_recovery_eip = 0;
		return;
	}
	unexpected(f);
}

bool expect_fault(const char *what, uint32_t vector, uint32_t error_code)
{
	if (!last_fault.occurred)
		return report_fail(what, "no exception (expected vector %u)", vector);
	if (last_fault.vector != vector || last_fault.error_code != error_code)
		return report_fail(what, "vector %u error 0x%x, expected vector %u error 0x%x",
				   last_fault.vector, last_fault.error_code, vector, error_code);
	if (last_fault.eip != fault_insn_eip)
		return report_fail(what, "reported eip 0x%x, faulting instruction at 0x%x",
				   last_fault.eip, fault_insn_eip);
	return report_pass(what);
}

bool expect_no_fault(const char *what)
{
	if (!last_fault.occurred)
		return true;
	return report_fail(what, "unexpected vector %u error 0x%x at eip 0x%x", last_fault.vector,
			   last_fault.error_code, last_fault.eip);
}

bool rdmsr_safe(uint32_t msr, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;
	fault_clear();
	asm volatile(FAULT_GUARDED("rdmsr") : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
	*value = ((uint64_t)hi << 32) | lo;
	return !last_fault.occurred;
}

bool wrmsr_safe(uint32_t msr, uint64_t value)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("wrmsr")
		     :
		     : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
		     : "memory");
	return !last_fault.occurred;
}
