#include "testdev.h"

#include "multiboot.h"
#include "x86.h"

#define PROBE_BYTE 0x5a
#define LEAF_HYPERVISOR 0x40000000u
#define PRESIDIO_SIGNATURE_EBX 0x73657250u /* "Pres" */
#define PRESIDIO_SIGNATURE_ECX 0x6f696469u /* "idio" */

void testdev_fifo_clear(void)
{
	outl(TESTDEV_COUNT_PORT, 0);
}

bool testdev_present(void)
{
	testdev_fifo_clear();
	outb(TESTDEV_FIFO_PORT, PROBE_BYTE);
	bool present = inl(TESTDEV_COUNT_PORT) == 1 && inb(TESTDEV_FIFO_PORT) == PROBE_BYTE;
	testdev_fifo_clear();
	return present;
}

bool running_on_presidio(void)
{
	struct cpuid_regs r;
	cpuid(LEAF_HYPERVISOR, 0, &r);
	return r.ebx == PRESIDIO_SIGNATURE_EBX && r.ecx == PRESIDIO_SIGNATURE_ECX && r.edx == 0;
}

bool testdev_irq_via_lapic(void)
{
	static int cached = -1;
	if (cached < 0)
		cached = multiboot_cmdline_flag("irq=lapic");
	return cached;
}

void testdev_request_interrupt(uint8_t vector)
{
	if (testdev_irq_via_lapic())
		write32(LAPIC_ICR_LOW, LAPIC_ICR_SELF | LAPIC_ICR_ASSERT | vector);
	else
		outb(TESTDEV_IRQ_PORT, vector);
}

void testdev_interrupt_done(void)
{
	if (testdev_irq_via_lapic())
		write32(LAPIC_EOI, 0);
}

bool testdev_interrupts_available(void)
{
	return testdev_irq_via_lapic() || testdev_present();
}

uint32_t testdev_scratch_base(void)
{
	return multiboot_cmdline_flag("scratch=ram") ? SCRATCH_RAM_STAND_IN : TESTDEV_SCRATCH_PA;
}
