/* The IDT: every vector goes to its stub in traps.S; NMI, #DF, #MC on IST. */
#include "arch/x86/trap.h"
#include "arch/x86/gdt.h"
#include "arch/x86/percpu.h"

#define IDT_TYPE_INTERRUPT_GATE 0xe
#define IDT_PRESENT 0x80

struct idt_gate {
	u16 offset_low;
	u16 selector;
	u8 ist;
	u8 type_attr;
	u16 offset_mid;
	u32 offset_high;
	u32 reserved;
} PACKED;
_Static_assert(sizeof(struct idt_gate) == 16, "64-bit IDT gate is 16 bytes");

extern const u8 trap_stubs[];
static struct idt_gate idt[IDT_VECTORS] __attribute__((aligned(16)));

static u8 ist_for_vector(unsigned vector)
{
	switch (vector) {
	case VEC_NMI: return IST_NMI;
	case VEC_DF: return IST_DOUBLE_FAULT;
	case VEC_MC: return IST_MACHINE_CHECK;
	default: return 0;
	}
}

void idt_init(void)
{
	for (unsigned v = 0; v < IDT_VECTORS; v++) {
		u64 handler = (u64)(trap_stubs + v * TRAP_STUB_SIZE);
		idt[v] = (struct idt_gate){
			.offset_low = handler & 0xffff,
			.selector = SELECTOR_CODE64,
			.ist = ist_for_vector(v),
			.type_attr = IDT_PRESENT | IDT_TYPE_INTERRUPT_GATE,
			.offset_mid = (handler >> 16) & 0xffff,
			.offset_high = handler >> 32,
		};
	}
	idt_load();
}

void idt_load(void)
{
	struct descriptor_pointer idtr = { sizeof(idt) - 1, (u64)idt };
	__asm__ volatile("lidt %0" ::"m"(idtr));
}
