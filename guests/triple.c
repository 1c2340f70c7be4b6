/*
 * triple: prints one line, then triple-faults on purpose: with a zero-limit
 * IDT, #UD cannot be delivered, nor can the #GP and #DF that follow.
 * Presidio must stop this VM, report it, and carry on with the next one.
 */
#include "report.h"
#include "serial.h"
#include "x86.h"

const char guest_name[] = "triple";

struct __attribute__((packed)) pseudo_descriptor {
	uint16_t limit;
	uint32_t base;
};

void guest_main(void)
{
	static const struct pseudo_descriptor empty_idt = { 0, 0 };
	printf("triple: about to triple-fault (zero-limit IDT, then ud2)\n");
	asm volatile("lidt %0\n\tud2" : : "m"(empty_idt) : "memory");
	report_fail("triple fault", "execution continued after ud2 with an empty IDT");
}
