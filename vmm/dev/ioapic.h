/*
 * The I/O APIC (Intel 82093AA datasheet; version 0x20 as in the PCH, which
 * adds the EOI register at 0x40): IOREGSEL at offset 0x00 and IOWIN at 0x10
 * of its MMIO page, 24 redirection entries. Pins take the logical
 * (asserted / deasserted) level of their line; interrupts go out through
 * ops->deliver to the local APIC router.
 */
#pragma once
#include "lib/types.h"

#define IOAPIC_DEFAULT_BASE 0xfec00000ULL
#define IOAPIC_NUM_PINS 24

/* MMIO offsets */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40

/* Indirect registers */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* entry n: 0x10 + 2n (low), 0x11 + 2n (high) */

#define IOAPIC_ID_SHIFT 24
#define IOAPIC_ID_MASK (0xfu << IOAPIC_ID_SHIFT)
#define IOAPIC_VERSION 0x20
#define IOAPIC_VER_VALUE (IOAPIC_VERSION | ((IOAPIC_NUM_PINS - 1) << 16))

/* Redirection table entry bits */
#define IOAPIC_RTE_VECTOR 0xffULL
#define IOAPIC_RTE_DM_SHIFT 8
#define IOAPIC_RTE_DM_MASK (7ULL << IOAPIC_RTE_DM_SHIFT)
#define IOAPIC_RTE_DEST_LOGICAL BIT(11)
#define IOAPIC_RTE_DELIVERY_STATUS BIT(12) /* read-only */
#define IOAPIC_RTE_POLARITY_LOW BIT(13)
#define IOAPIC_RTE_REMOTE_IRR BIT(14) /* read-only */
#define IOAPIC_RTE_TRIGGER_LEVEL BIT(15)
#define IOAPIC_RTE_MASKED BIT(16)
#define IOAPIC_RTE_DEST_SHIFT 56
#define IOAPIC_RTE_WRITABLE                                                                        \
	(IOAPIC_RTE_VECTOR | IOAPIC_RTE_DM_MASK | IOAPIC_RTE_DEST_LOGICAL |                        \
	 IOAPIC_RTE_POLARITY_LOW | IOAPIC_RTE_TRIGGER_LEVEL | IOAPIC_RTE_MASKED |                  \
	 (0xffULL << IOAPIC_RTE_DEST_SHIFT))

struct ioapic_ops {
	/* true if some local APIC accepted the message: only then does a
	 * level-triggered entry's remote IRR stay set awaiting the EOI. */
	bool (*deliver)(void *ctx, u32 destination, bool logical, u8 vector, u8 delivery_mode,
			bool level);
	void *ctx;
};

struct ioapic {
	const struct ioapic_ops *ops;
	u32 id;	    /* ID register (bits 27:24) */
	u32 ioregsel;
	u64 redir[IOAPIC_NUM_PINS];
	u32 pin_level; /* bit per pin: line asserted */
};

/* Power-on: every entry masked, ID as given. */
void ioapic_init(struct ioapic *ioapic, u8 id, const struct ioapic_ops *ops);

/* level: the line is asserted. Edge pins deliver on assertion; level pins
 * deliver while asserted and remote IRR is clear. */
void ioapic_set_irq(struct ioapic *ioapic, unsigned pin, bool level);
/* A local APIC EOI for a level-triggered vector: clears remote IRR of the
 * entries with that vector and re-delivers those still asserted. */
void ioapic_eoi(struct ioapic *ioapic, u8 vector);

/* offset within the MMIO page; 0 on success, -1 for an unclaimed offset. */
int ioapic_mmio_read(struct ioapic *ioapic, u64 offset, unsigned size, u64 *value);
int ioapic_mmio_write(struct ioapic *ioapic, u64 offset, unsigned size, u64 value);
