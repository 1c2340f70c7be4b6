/*
 * INIT-SIPI-SIPI (see ap_start.h).
 */
#include "ap_start.h"
#include "clock.h"
#include "lapic.h"
#include "string.h"

#define PAGE_SHIFT 12
/* SDM vol. 3 8.4.4.1: 10 ms after INIT, 200 us between the SIPIs. */
#define INIT_DELAY_US 10000
#define SIPI_DELAY_US 200

/* Read by guests/lib/ap_trampoline.asm on the AP. */
volatile ap_entry_fn ap_boot_entry;
volatile uint32_t ap_boot_stack;
struct pseudo_descriptor ap_boot_idtr;

/* The trampoline's bytes, and its GDTR operand patched in each copy. */
extern const uint8_t ap_trampoline_start[], ap_trampoline_end[], ap_trampoline_gdtr[];

void ap_trampoline_install(uint32_t page)
{
	struct pseudo_descriptor gdtr;
	asm volatile("sgdt %0" : "=m"(gdtr));
	asm volatile("sidt %0" : "=m"(ap_boot_idtr));
	uint32_t size = (uint32_t)(ap_trampoline_end - ap_trampoline_start);
	memcpy((void *)page, ap_trampoline_start, size);
	memcpy((void *)(page + (uint32_t)(ap_trampoline_gdtr - ap_trampoline_start)), &gdtr, sizeof(gdtr));
}

uint32_t ap_sipi_vector(uint32_t page)
{
	return page >> PAGE_SHIFT;
}

uint32_t ap_send_init(uint32_t apic_id)
{
	uint32_t stuck = !lapic_send_ipi(apic_id, ICR_INIT | ICR_ASSERT);
	delay_us(INIT_DELAY_US);
	return stuck;
}

uint32_t ap_send_sipis(uint32_t apic_id, uint32_t page, ap_entry_fn entry, void *stack_top)
{
	ap_boot_entry = entry;
	ap_boot_stack = (uint32_t)stack_top;
	asm volatile("" : : : "memory");
	uint32_t low = ICR_STARTUP | ICR_ASSERT | ap_sipi_vector(page);
	uint32_t stuck = !lapic_send_ipi(apic_id, low);
	delay_us(SIPI_DELAY_US);
	stuck += !lapic_send_ipi(apic_id, low);
	return stuck;
}
