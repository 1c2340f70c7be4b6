/*
 * Per-vCPU local APIC model, register behaviour only (Intel SDM Vol. 3A
 * chapter 11): the xAPIC MMIO page, the x2APIC MSR view (0x800-0x8ff),
 * IA32_APIC_BASE mode switches, IRR/ISR/TMR with TPR/PPR priority, EOI
 * (level-triggered EOIs reported through ops->eoi_level), the LVT, the
 * timer (one-shot, periodic, TSC-deadline) on a guest-time nanosecond
 * clock, and IPIs from the ICR.
 *
 * The owner (one per vCPU) calls vlapic_pending_vector() after every access
 * and every vlapic_accept()/vlapic_timer_fire() to find what to inject, and
 * vlapic_acknowledge() when it injects it. The model never blocks, allocates
 * or calls the backend; everything outside goes through struct vlapic_ops.
 */
#pragma once
#include "lib/types.h"

#define LAPIC_DEFAULT_BASE 0xfee00000ULL
#define LAPIC_DEFAULT_BUS_HZ 1000000000ULL /* timer ticks = ns at divide 1 */

/* xAPIC MMIO offsets (SDM Table 11-1); x2APIC MSR = 0x800 + (offset >> 4). */
#define APIC_ID 0x20
#define APIC_LVR 0x30
#define APIC_TASKPRI 0x80
#define APIC_ARBPRI 0x90
#define APIC_PROCPRI 0xa0
#define APIC_EOI 0xb0
#define APIC_RRR 0xc0
#define APIC_LDR 0xd0
#define APIC_DFR 0xe0
#define APIC_SPIV 0xf0
#define APIC_ISR 0x100
#define APIC_TMR 0x180
#define APIC_IRR 0x200
#define APIC_ESR 0x280
#define APIC_LVT_CMCI 0x2f0
#define APIC_ICR 0x300
#define APIC_ICR2 0x310
#define APIC_LVTT 0x320
#define APIC_LVTTHMR 0x330
#define APIC_LVTPC 0x340
#define APIC_LVT0 0x350
#define APIC_LVT1 0x360
#define APIC_LVTERR 0x370
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR 0x3e0
#define APIC_SELF_IPI 0x3f0 /* x2APIC only (MSR 0x83f) */

/* MSRs */
#define MSR_IA32_APIC_BASE 0x1b
#define MSR_IA32_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_LAST 0x8ff
#define MSR_X2APIC_ICR 0x830
#define MSR_X2APIC_SELF_IPI 0x83f

/* IA32_APIC_BASE bits (SDM 11.4.4, 11.12.1) */
#define APIC_BASE_BSP BIT(8)
#define APIC_BASE_EXTD BIT(10)
#define APIC_BASE_EN BIT(11)
#define APIC_BASE_ADDR_MASK 0x000ffffffffff000ULL

/* Version register: version 0x14, max LVT entry 5 (six LVTs, no CMCI). */
#define APIC_VERSION 0x14
#define APIC_MAX_LVT 5
#define APIC_LVR_VALUE (APIC_VERSION | (APIC_MAX_LVT << 16))

#define APIC_XAPIC_BROADCAST 0xffu
#define APIC_X2APIC_BROADCAST 0xffffffffu

/* Spurious-interrupt vector register */
#define APIC_SPIV_VECTOR 0xffu
#define APIC_SPIV_APIC_ENABLED BIT(8)
#define APIC_SPIV_FOCUS_DISABLED BIT(9)

/* LVT bits (SDM Figure 11-8) */
#define APIC_LVT_VECTOR 0xffu
#define APIC_LVT_DM_SHIFT 8
#define APIC_LVT_DM_MASK (7u << APIC_LVT_DM_SHIFT)
#define APIC_LVT_DELIVERY_STATUS BIT(12)
#define APIC_LVT_POLARITY BIT(13)
#define APIC_LVT_REMOTE_IRR BIT(14)
#define APIC_LVT_LEVEL_TRIGGER BIT(15)
#define APIC_LVT_MASKED BIT(16)
#define APIC_LVT_TIMER_MODE_SHIFT 17
#define APIC_LVT_TIMER_MODE_MASK (3u << APIC_LVT_TIMER_MODE_SHIFT)
#define APIC_LVT_TIMER_ONESHOT 0u
#define APIC_LVT_TIMER_PERIODIC 1u
#define APIC_LVT_TIMER_TSCDEADLINE 2u

/* ICR bits (SDM Figure 11-12) */
#define APIC_ICR_VECTOR 0xffu
#define APIC_ICR_DM_SHIFT 8
#define APIC_ICR_DM_MASK (7u << APIC_ICR_DM_SHIFT)
#define APIC_ICR_DEST_LOGICAL BIT(11)
#define APIC_ICR_BUSY BIT(12)
#define APIC_ICR_LEVEL_ASSERT BIT(14)
#define APIC_ICR_TRIGGER_LEVEL BIT(15)
#define APIC_ICR_SHORTHAND_SHIFT 18
#define APIC_ICR_SHORTHAND_MASK (3u << APIC_ICR_SHORTHAND_SHIFT)
#define APIC_ICR_LOW_WRITABLE 0x000ccfffu /* vector..dest mode, 14-15, 18-19 */

/* Delivery modes (ICR and LVT) */
#define APIC_DM_FIXED 0
#define APIC_DM_LOWEST 1
#define APIC_DM_SMI 2
#define APIC_DM_NMI 4
#define APIC_DM_INIT 5
#define APIC_DM_STARTUP 6
#define APIC_DM_EXTINT 7

/* ICR destination shorthands */
#define APIC_DEST_NONE 0
#define APIC_DEST_SELF 1
#define APIC_DEST_ALL_INCLUDING_SELF 2
#define APIC_DEST_ALL_EXCLUDING_SELF 3

/* Error status register bits (SDM Figure 11-9) */
#define APIC_ESR_SEND_ILLEGAL_VECTOR BIT(5)
#define APIC_ESR_RECV_ILLEGAL_VECTOR BIT(6)
#define APIC_ESR_ILLEGAL_REGISTER BIT(7)

#define APIC_LVT_COUNT 6 /* timer, thermal, PMC, LINT0, LINT1, error */
enum vlapic_lvt {
	VLAPIC_LVT_TIMER,
	VLAPIC_LVT_THERMAL,
	VLAPIC_LVT_PMC,
	VLAPIC_LVT_LINT0,
	VLAPIC_LVT_LINT1,
	VLAPIC_LVT_ERROR,
};

enum vlapic_mode { VLAPIC_DISABLED, VLAPIC_XAPIC, VLAPIC_X2APIC };

/* An IPI from an ICR write. destination: bits 56-63 of the ICR in xAPIC
 * mode (8 bits), the full 32-bit ICR high half in x2APIC mode. */
struct vlapic_ipi {
	u32 destination;
	u8 vector;
	u8 delivery_mode; /* APIC_DM_* */
	u8 shorthand;	  /* APIC_DEST_* */
	bool logical;
	bool level_assert;
	bool level_trigger;
};

struct vlapic_ops {
	u64 (*now_ns)(void *ctx);		  /* guest time */
	/* Call vlapic_timer_fire() once now_ns >= deadline_ns; 0 = disarm. A
	 * new arm() replaces the previous deadline. */
	void (*arm)(void *ctx, u64 deadline_ns);
	void (*eoi_level)(void *ctx, u8 vector); /* for the I/O APIC remote IRR */
	u64 (*tsc_now)(void *ctx);		  /* the guest's TSC */
	/* Every IPI but a fixed one to self, which the model puts in its own
	 * IRR (for "all including self" too: the router then skips the sender
	 * for a fixed IPI, and delivers every other mode to it); may be NULL. */
	void (*send_ipi)(void *ctx, const struct vlapic_ipi *ipi);
	/* A vector entered the IRR (the owner may skip polling otherwise); may be NULL. */
	void (*requested)(void *ctx);
	void *ctx;
};

struct vlapic {
	const struct vlapic_ops *ops;
	u64 bus_hz; /* timer input clock before the divider */
	u64 tsc_hz; /* for TSC-deadline mode */

	u64 apic_base;	/* IA32_APIC_BASE */
	u32 initial_id; /* hardware APIC ID; the x2APIC ID */
	u32 id;		/* xAPIC ID register (bits 31:24) */
	u32 tpr, ldr, dfr, svr;
	u32 esr, esr_pending; /* esr: latched by the last ESR write */
	u32 icr_low, icr_high;
	u32 lvt[APIC_LVT_COUNT];
	u32 isr[8], tmr[8], irr[8];
	u32 auto_eoi[8]; /* IRR vectors that skip the ISR when taken (vlapic_accept_auto_eoi) */
	u8 irr_words; /* bit n: irr[n] != 0 (a cheap "nothing requested") */

	/* Timer: while timer_running, the count was loaded at timer_start_ns. */
	u32 timer_initial, timer_dcr;
	bool timer_running;
	u64 timer_start_ns;
	u64 timer_deadline_ns; /* armed deadline; 0 = none */
	u64 tsc_deadline;      /* IA32_TSC_DEADLINE; 0 = disarmed */

	struct vlapic_ipi last_ipi;
	u64 ipi_count;
};

/* Power-on state: xAPIC enabled at 0xfee00000, software disabled (SVR 0xff),
 * LVTs masked. bus_hz/tsc_hz 0 mean 1 GHz. */
void vlapic_init(struct vlapic *lapic, u32 apic_id, bool bsp, const struct vlapic_ops *ops,
		u64 bus_hz, u64 tsc_hz);
/* Power-on values of everything but IA32_APIC_BASE and the APIC ID (INIT). */
void vlapic_reset_registers(struct vlapic *lapic);

enum vlapic_mode vlapic_mode(const struct vlapic *lapic);
static inline bool vlapic_sw_enabled(const struct vlapic *lapic)
{
	return (lapic->svr & APIC_SPIV_APIC_ENABLED) != 0;
}

/* xAPIC MMIO page, 32-bit accesses at 16-byte aligned offsets. -1 if the
 * page is not accessible (APIC disabled or in x2APIC mode): reads give 0. */
int vlapic_read(struct vlapic *lapic, u32 offset, u32 *value);
int vlapic_write(struct vlapic *lapic, u32 offset, u32 value);

/* IA32_APIC_BASE, IA32_TSC_DEADLINE and the x2APIC range. -1 = #GP. */
int vlapic_msr_read(struct vlapic *lapic, u32 msr, u64 *value);
int vlapic_msr_write(struct vlapic *lapic, u32 msr, u64 value);
/* -1 for the transitions that #GP (SDM 11.12.5) and reserved bits. */
int vlapic_set_base(struct vlapic *lapic, u64 value);

/* A fixed interrupt arriving at this APIC. false if refused (APIC
 * disabled, illegal vector 0-15). */
bool vlapic_accept(struct vlapic *lapic, u8 vector, bool level);
/* The same, edge-triggered, for an interrupt that needs no EOI: taken, it
 * leaves the IRR without entering the ISR, so it never raises the PPR (as
 * a Hyper-V SynIC AutoEOI interrupt, or an 8259 in AEOI mode). Only the
 * test device sends such interrupts (vmm/dev/test_device.c). */
bool vlapic_accept_auto_eoi(struct vlapic *lapic, u8 vector);
/* Highest IRR vector whose priority class beats the PPR, else -1. */
int vlapic_pending_vector(struct vlapic *lapic);
/* The CPU took the vector (INTA): IRR -> ISR (auto-EOI vectors: IRR only). */
void vlapic_acknowledge(struct vlapic *lapic, u8 vector);
u32 vlapic_ppr(const struct vlapic *lapic);

/* Does an interrupt message for 'destination' (physical or logical, as the
 * I/O APIC or an ICR sends it) reach this APIC? xAPIC: 8-bit IDs, 0xff is
 * a broadcast, logical uses the flat or cluster model of the DFR; x2APIC:
 * 32-bit IDs, 0xffffffff broadcast, logical = cluster in bits 31:16 and a
 * bitmap in bits 15:0. A disabled APIC matches nothing. */
bool vlapic_matches(const struct vlapic *lapic, u32 destination, bool logical);

/* The armed deadline passed (now_ns >= deadline); early calls re-arm. */
void vlapic_timer_fire(struct vlapic *lapic, u64 now_ns);
u32 vlapic_timer_current_count(struct vlapic *lapic, u64 now_ns);
/* Divide configuration register -> divisor (1..128). */
unsigned vlapic_timer_divisor(u32 dcr);
