/*
 * The local APIC in xAPIC mode (see lapic.h).
 */
#include "clock.h"
#include "lapic.h"
#include "x86.h"

uint32_t lapic_read(uint32_t reg)
{
	return read32(LAPIC_MMIO_BASE + reg);
}

void lapic_write(uint32_t reg, uint32_t value)
{
	write32(LAPIC_MMIO_BASE + reg, value);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_REG_ID) >> LAPIC_ID_SHIFT;
}

uint32_t lapic_isr_or(void)
{
	uint32_t any = 0;
	for (uint32_t i = 0; i < LAPIC_ISR_WORDS; i++)
		any |= lapic_read(LAPIC_REG_ISR + i * LAPIC_REG_STRIDE);
	return any;
}

bool lapic_send_ipi(uint32_t dest, uint32_t low)
{
	lapic_write(LAPIC_REG_ICR_HIGH, dest << ICR_DEST_SHIFT);
	lapic_write(LAPIC_REG_ICR_LOW, low);
	uint64_t deadline = deadline_after_ms(ICR_IDLE_TIMEOUT_MS);
	while (lapic_read(LAPIC_REG_ICR_LOW) & ICR_SEND_PENDING) {
		if (deadline_passed(deadline))
			return false;
		pause();
	}
	return true;
}
