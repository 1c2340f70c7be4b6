/*
 * I/O APIC model (82093AA). See ioapic.h.
 *
 * Not modelled: the polarity bit (stored only: pins take logical levels),
 * delivery status (delivery is immediate, so it reads 0), arbitration IDs
 * (the arbitration register reads the ID), the pin assertion register of
 * some chipsets, and IRQ routing beyond handing (destination, mode) to
 * ops->deliver.
 */
#include "vmm/dev/ioapic.h"
#include "lib/string.h"

static bool pin_asserted(const struct ioapic *ioapic, unsigned pin)
{
	return (ioapic->pin_level >> pin) & 1;
}

static bool rte_level(u64 rte)
{
	return (rte & IOAPIC_RTE_TRIGGER_LEVEL) != 0;
}

static void deliver(struct ioapic *ioapic, unsigned pin)
{
	u64 rte = ioapic->redir[pin];

	if (rte & IOAPIC_RTE_MASKED)
		return;
	if (rte_level(rte) && (rte & IOAPIC_RTE_REMOTE_IRR))
		return;
	bool accepted = ioapic->ops && ioapic->ops->deliver &&
			ioapic->ops->deliver(ioapic->ops->ctx, (u32)(rte >> IOAPIC_RTE_DEST_SHIFT),
					     (rte & IOAPIC_RTE_DEST_LOGICAL) != 0,
					     (u8)(rte & IOAPIC_RTE_VECTOR),
					     (u8)((rte & IOAPIC_RTE_DM_MASK) >> IOAPIC_RTE_DM_SHIFT),
					     rte_level(rte));
	/* Remote IRR: set when a local APIC accepts the level interrupt
	 * (82093AA), so a message nobody took leaves the pin free to retry. */
	if (rte_level(rte) && accepted)
		ioapic->redir[pin] |= IOAPIC_RTE_REMOTE_IRR;
}

void ioapic_init(struct ioapic *ioapic, u8 id, const struct ioapic_ops *ops)
{
	memset(ioapic, 0, sizeof(*ioapic));
	ioapic->ops = ops;
	ioapic->id = ((u32)id << IOAPIC_ID_SHIFT) & IOAPIC_ID_MASK;
	for (unsigned i = 0; i < IOAPIC_NUM_PINS; i++)
		ioapic->redir[i] = IOAPIC_RTE_MASKED;
}

void ioapic_set_irq(struct ioapic *ioapic, unsigned pin, bool level)
{
	bool was;

	if (pin >= IOAPIC_NUM_PINS)
		return;
	was = pin_asserted(ioapic, pin);
	if (level)
		ioapic->pin_level |= 1u << pin;
	else
		ioapic->pin_level &= ~(1u << pin);
	if (!level)
		return;
	if (rte_level(ioapic->redir[pin]) || !was)
		deliver(ioapic, pin);
}

void ioapic_eoi(struct ioapic *ioapic, u8 vector)
{
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		u64 rte = ioapic->redir[pin];

		if ((rte & IOAPIC_RTE_VECTOR) != vector || !(rte & IOAPIC_RTE_REMOTE_IRR))
			continue;
		ioapic->redir[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
		if (rte_level(rte) && pin_asserted(ioapic, pin))
			deliver(ioapic, pin);
	}
}

static u32 read_reg(struct ioapic *ioapic, u32 index)
{
	if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
		u64 rte = ioapic->redir[(index - IOAPIC_REG_REDTBL) / 2];
		return (index & 1) ? (u32)(rte >> 32) : (u32)rte;
	}
	switch (index) {
	case IOAPIC_REG_ID: return ioapic->id;
	case IOAPIC_REG_VER: return IOAPIC_VER_VALUE;
	case IOAPIC_REG_ARB: return ioapic->id;
	default: return 0;
	}
}

static void write_redir(struct ioapic *ioapic, unsigned pin, bool high, u32 value)
{
	u64 old = ioapic->redir[pin], rte;

	if (high)
		rte = (old & 0xffffffffULL) | ((u64)value << 32);
	else
		rte = (old & ~0xffffffffULL) | value;
	rte = (rte & IOAPIC_RTE_WRITABLE) | (old & IOAPIC_RTE_REMOTE_IRR);
	/* Remote IRR is meaningless for edge entries; switching to edge clears it. */
	if (!rte_level(rte))
		rte &= ~IOAPIC_RTE_REMOTE_IRR;
	ioapic->redir[pin] = rte;
	/* Unmasking an asserted level pin delivers it. */
	if (rte_level(rte) && pin_asserted(ioapic, pin))
		deliver(ioapic, pin);
}

static void write_reg(struct ioapic *ioapic, u32 index, u32 value)
{
	if (index >= IOAPIC_REG_REDTBL && index < IOAPIC_REG_REDTBL + 2 * IOAPIC_NUM_PINS) {
		write_redir(ioapic, (index - IOAPIC_REG_REDTBL) / 2, index & 1, value);
		return;
	}
	if (index == IOAPIC_REG_ID)
		ioapic->id = value & IOAPIC_ID_MASK;
	/* version and arbitration are read-only */
}

int ioapic_mmio_read(struct ioapic *ioapic, u64 offset, unsigned size, u64 *value)
{
	switch (offset) {
	case IOAPIC_IOREGSEL: *value = ioapic->ioregsel; return 0;
	case IOAPIC_IOWIN: *value = read_reg(ioapic, ioapic->ioregsel); return 0;
	default: *value = 0; return offset < PAGE_SIZE ? 0 : -1;
	}
}

int ioapic_mmio_write(struct ioapic *ioapic, u64 offset, unsigned size, u64 value)
{
	switch (offset) {
	case IOAPIC_IOREGSEL: ioapic->ioregsel = (u32)value & 0xff; return 0;
	case IOAPIC_IOWIN: write_reg(ioapic, ioapic->ioregsel, (u32)value); return 0;
	case IOAPIC_EOI: ioapic_eoi(ioapic, (u8)value); return 0;
	default: return offset < PAGE_SIZE ? 0 : -1;
	}
}
