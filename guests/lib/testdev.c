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

enum testdev_irq_mode testdev_irq_mode(void)
{
	static int cached = -1;
	if (cached < 0) {
		cached = multiboot_cmdline_flag("irq=x2apic") ? IRQ_VIA_X2APIC
			 : multiboot_cmdline_flag("irq=lapic") ? IRQ_VIA_XAPIC
							       : IRQ_VIA_TESTDEV;
		if (cached == IRQ_VIA_X2APIC)
			wrmsr(MSR_IA32_APIC_BASE, rdmsr(MSR_IA32_APIC_BASE) | APIC_BASE_X2APIC_ENABLE);
	}
	return (enum testdev_irq_mode)cached;
}

void testdev_request_interrupt(uint8_t vector)
{
	switch (testdev_irq_mode()) {
	case IRQ_VIA_X2APIC: wrmsr(MSR_X2APIC_SELF_IPI, vector); break;
	case IRQ_VIA_XAPIC: write32(LAPIC_ICR_LOW, LAPIC_ICR_SELF | LAPIC_ICR_ASSERT | vector); break;
	default: outb(TESTDEV_IRQ_PORT, vector); break;
	}
}

void testdev_interrupt_done(void)
{
	switch (testdev_irq_mode()) {
	case IRQ_VIA_X2APIC: wrmsr(MSR_X2APIC_EOI, 0); break;
	case IRQ_VIA_XAPIC: write32(LAPIC_EOI, 0); break;
	default: break;
	}
}

bool testdev_interrupts_available(void)
{
	return testdev_irq_mode() != IRQ_VIA_TESTDEV || testdev_present();
}

uint32_t testdev_scratch_base(void)
{
	return multiboot_cmdline_flag("scratch=ram") ? SCRATCH_RAM_STAND_IN : TESTDEV_SCRATCH_PA;
}
