/*
 * Local APIC model (Intel SDM Vol. 3A chapter 11). See lapic.h.
 *
 * Not modelled here: the LINT0/LINT1 pins (vmm/apic.c reads LVT0 to pass
 * the 8259's ExtINT through and LVT1 for the NMI line) and the thermal/PMC
 * sources (their LVTs are storage only), NMI/SMI/INIT/SIPI delivery and
 * lowest-priority arbitration (the IPI router's job, vmm/apic.c), focus
 * processor checking, directed EOI (EOI-broadcast suppression), the CMCI LVT, and changing
 * the divide configuration while the timer counts (applies from the next
 * initial-count write). A periodic timer interrupts at most once per
 * VTIMER_MIN_PERIOD_NS, however small its count.
 */
#include "vmm/dev/lapic.h"
#include "vmm/vtime.h" /* VTIMER_MIN_PERIOD_NS */
#include "lib/muldiv.h"
#include "lib/string.h"


#define APIC_ID_SHIFT 24
#define APIC_XAPIC_ID_MASK 0xff000000u
#define APIC_LDR_MASK 0xff000000u
#define APIC_DFR_RESERVED 0x0fffffffu
#define APIC_TPR_MASK 0xffu
#define APIC_SPIV_WRITABLE 0x3ffu /* vector, enable, focus; no EOI suppression */
#define APIC_TDCR_MASK 0xbu

#define APIC_LVTT_WRITABLE (APIC_LVT_VECTOR | APIC_LVT_MASKED | APIC_LVT_TIMER_MODE_MASK)
#define APIC_LVT_THMR_PC_WRITABLE (APIC_LVT_VECTOR | APIC_LVT_DM_MASK | APIC_LVT_MASKED)
#define APIC_LVT_LINT_WRITABLE                                                                     \
	(APIC_LVT_VECTOR | APIC_LVT_DM_MASK | APIC_LVT_POLARITY | APIC_LVT_LEVEL_TRIGGER |         \
	 APIC_LVT_MASKED)
#define APIC_LVTERR_WRITABLE (APIC_LVT_VECTOR | APIC_LVT_MASKED)

/* IA32_APIC_BASE bits that #GP when set (bits 0-7, 9, above MAXPHYADDR 52). */
#define APIC_BASE_RESERVED (0xffULL | BIT(9) | ~(APIC_BASE_ADDR_MASK | 0xfffULL))

#define FIRST_LEGAL_VECTOR 16

/* --- 256-bit vector registers (8 x 32 bits, like the MMIO layout) --- */

static bool vec_test(const u32 *reg, u8 vector)
{
	return (reg[vector >> 5] >> (vector & 31)) & 1;
}

static void vec_set(u32 *reg, u8 vector)
{
	reg[vector >> 5] |= 1u << (vector & 31);
}

static void vec_clear(u32 *reg, u8 vector)
{
	reg[vector >> 5] &= ~(1u << (vector & 31));
}

static int vec_highest(const u32 *reg)
{
	for (int i = 7; i >= 0; i--)
		if (reg[i])
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}


/* --- callbacks --- */

static u64 now_ns(struct vlapic *lapic)
{
	return lapic->ops && lapic->ops->now_ns ? lapic->ops->now_ns(lapic->ops->ctx) : 0;
}

static u64 tsc_now(struct vlapic *lapic)
{
	return lapic->ops && lapic->ops->tsc_now ? lapic->ops->tsc_now(lapic->ops->ctx) : 0;
}

static void arm(struct vlapic *lapic, u64 deadline_ns)
{
	lapic->timer_deadline_ns = deadline_ns;
	if (lapic->ops && lapic->ops->arm)
		lapic->ops->arm(lapic->ops->ctx, deadline_ns);
}

/* --- mode and priorities --- */

enum vlapic_mode vlapic_mode(const struct vlapic *lapic)
{
	if (!(lapic->apic_base & APIC_BASE_EN))
		return VLAPIC_DISABLED;
	return (lapic->apic_base & APIC_BASE_EXTD) ? VLAPIC_X2APIC : VLAPIC_XAPIC;
}

static u32 x2apic_ldr(u32 x2apic_id)
{
	return ((x2apic_id >> 4) << 16) | (1u << (x2apic_id & 0xf));
}

u32 vlapic_ppr(const struct vlapic *lapic)
{
	int isrv = vec_highest(lapic->isr);
	u32 isr_class = isrv < 0 ? 0 : ((u32)isrv & 0xf0);

	if ((lapic->tpr & 0xf0) >= isr_class)
		return lapic->tpr;
	return isr_class;
}

/* SDM 11.6.2.1 (arbitration priority). */
static u32 vlapic_apr(const struct vlapic *lapic)
{
	int irrv = vec_highest(lapic->irr), isrv = vec_highest(lapic->isr);
	u32 irr_class = irrv < 0 ? 0 : ((u32)irrv & 0xf0);
	u32 isr_class = isrv < 0 ? 0 : ((u32)isrv & 0xf0);
	u32 tpr_class = lapic->tpr & 0xf0;

	if (tpr_class >= irr_class && tpr_class > isr_class)
		return lapic->tpr;
	return MAX(tpr_class, MAX(irr_class, isr_class));
}

/* --- destination matching (SDM 11.6.2, 11.12.9) --- */

#define APIC_DFR_MODEL_SHIFT 28
#define APIC_DFR_MODEL_FLAT 0xfu
#define XAPIC_CLUSTER_SHIFT 4
#define XAPIC_CLUSTER_BITS 0xfu
#define X2APIC_CLUSTER_SHIFT 16
#define X2APIC_CLUSTER_BITS 0xffffu

static bool xapic_logical_match(const struct vlapic *lapic, u8 destination)
{
	u8 ldr = (u8)(lapic->ldr >> APIC_ID_SHIFT);

	if (destination == APIC_XAPIC_BROADCAST)
		return true;
	if ((lapic->dfr >> APIC_DFR_MODEL_SHIFT) == APIC_DFR_MODEL_FLAT)
		return (ldr & destination) != 0;
	return (ldr >> XAPIC_CLUSTER_SHIFT) == (destination >> XAPIC_CLUSTER_SHIFT) &&
	       (ldr & destination & XAPIC_CLUSTER_BITS) != 0;
}

bool vlapic_matches(const struct vlapic *lapic, u32 destination, bool logical)
{
	switch (vlapic_mode(lapic)) {
	case VLAPIC_XAPIC:
		if (logical)
			return xapic_logical_match(lapic, (u8)destination);
		return (u8)destination == APIC_XAPIC_BROADCAST ||
		       (u8)destination == lapic->id >> APIC_ID_SHIFT;
	case VLAPIC_X2APIC:
		if (destination == APIC_X2APIC_BROADCAST)
			return true;
		if (logical)
			return (destination >> X2APIC_CLUSTER_SHIFT) == (lapic->ldr >> X2APIC_CLUSTER_SHIFT) &&
			       (destination & lapic->ldr & X2APIC_CLUSTER_BITS) != 0;
		return destination == lapic->initial_id;
	default:
		return false;
	}
}

/* --- interrupt acceptance, INTA, EOI --- */

static void set_irr(struct vlapic *lapic, u8 vector, bool level, bool auto_eoi)
{
	/* Both kinds pending at once are one IRR bit: it needs an EOI. */
	if (auto_eoi && !vec_test(lapic->irr, vector))
		vec_set(lapic->auto_eoi, vector);
	else
		vec_clear(lapic->auto_eoi, vector);
	vec_set(lapic->irr, vector);
	lapic->irr_words |= (u8)(1u << (vector >> 5));
	if (lapic->ops && lapic->ops->requested)
		lapic->ops->requested(lapic->ops->ctx);
	if (level)
		vec_set(lapic->tmr, vector);
	else
		vec_clear(lapic->tmr, vector);
}

/* Record an error (SDM 11.5.3) and raise the LVT error interrupt. */
static void set_error(struct vlapic *lapic, u32 bit)
{
	u32 lvt = lapic->lvt[VLAPIC_LVT_ERROR];

	lapic->esr_pending |= bit;
	if (!(lvt & APIC_LVT_MASKED) && (lvt & APIC_LVT_VECTOR) >= FIRST_LEGAL_VECTOR)
		set_irr(lapic, lvt & APIC_LVT_VECTOR, false, false);
}

static bool accept(struct vlapic *lapic, u8 vector, bool level, bool auto_eoi)
{
	if (vlapic_mode(lapic) == VLAPIC_DISABLED || !vlapic_sw_enabled(lapic))
		return false;
	if (vector < FIRST_LEGAL_VECTOR) {
		set_error(lapic, APIC_ESR_RECV_ILLEGAL_VECTOR);
		return false;
	}
	set_irr(lapic, vector, level, auto_eoi);
	return true;
}

bool vlapic_accept(struct vlapic *lapic, u8 vector, bool level)
{
	return accept(lapic, vector, level, false);
}

bool vlapic_accept_auto_eoi(struct vlapic *lapic, u8 vector)
{
	return accept(lapic, vector, false, true);
}

int vlapic_pending_vector(struct vlapic *lapic)
{
	int irrv;

	if (vlapic_mode(lapic) == VLAPIC_DISABLED)
		return -1;
	if (!lapic->irr_words)
		return -1; /* the common case on every VM entry: nothing requested */
	irrv = vec_highest(lapic->irr);
	if (irrv < 0 || ((u32)irrv & 0xf0) <= (vlapic_ppr(lapic) & 0xf0))
		return -1;
	return irrv;
}

void vlapic_acknowledge(struct vlapic *lapic, u8 vector)
{
	vec_clear(lapic->irr, vector);
	if (!lapic->irr[vector >> 5])
		lapic->irr_words &= (u8)~(1u << (vector >> 5));
	if (vec_test(lapic->auto_eoi, vector)) {
		vec_clear(lapic->auto_eoi, vector); /* done once taken: never in service */
		return;
	}
	vec_set(lapic->isr, vector);
}

static void vlapic_eoi(struct vlapic *lapic)
{
	int vector = vec_highest(lapic->isr);

	if (vector < 0)
		return;
	vec_clear(lapic->isr, (u8)vector);
	if (vec_test(lapic->tmr, (u8)vector) && lapic->ops && lapic->ops->eoi_level)
		lapic->ops->eoi_level(lapic->ops->ctx, (u8)vector);
}

/* --- timer --- */

unsigned vlapic_timer_divisor(u32 dcr)
{
	/* bits 3,1,0: 000 = 2, 001 = 4, ... 110 = 128, 111 = 1 */
	unsigned code = ((dcr & 8) >> 1) | (dcr & 3);
	return 1u << ((code + 1) & 7);
}

static u32 timer_mode(const struct vlapic *lapic)
{
	return (lapic->lvt[VLAPIC_LVT_TIMER] & APIC_LVT_TIMER_MODE_MASK) >>
	       APIC_LVT_TIMER_MODE_SHIFT;
}

/* A periodic timer is floored like KVM's (the current count still runs at
 * the programmed rate); a one-shot fires once however short it is. */
static u64 timer_period_ns(const struct vlapic *lapic)
{
	u64 ticks = (u64)lapic->timer_initial * vlapic_timer_divisor(lapic->timer_dcr);
	u64 ns = muldiv_saturating(ticks, NS_PER_SECOND, lapic->bus_hz);
	if (timer_mode(lapic) == APIC_LVT_TIMER_PERIODIC)
		return MAX(ns, VTIMER_MIN_PERIOD_NS);
	return ns ? ns : 1;
}

static void timer_stop(struct vlapic *lapic)
{
	bool was_armed = lapic->timer_deadline_ns != 0;

	lapic->timer_running = false;
	lapic->tsc_deadline = 0;
	if (was_armed)
		arm(lapic, 0);
}

static void timer_start(struct vlapic *lapic)
{
	u64 now = now_ns(lapic);

	if (lapic->timer_initial == 0) {
		timer_stop(lapic);
		return;
	}
	lapic->timer_running = true;
	lapic->timer_start_ns = now;
	arm(lapic, now + timer_period_ns(lapic));
}

static void timer_raise(struct vlapic *lapic)
{
	u32 lvt = lapic->lvt[VLAPIC_LVT_TIMER];

	if (!(lvt & APIC_LVT_MASKED))
		vlapic_accept(lapic, lvt & APIC_LVT_VECTOR, false);
}

u32 vlapic_timer_current_count(struct vlapic *lapic, u64 now)
{
	u64 ticks;

	if (!lapic->timer_running || timer_mode(lapic) == APIC_LVT_TIMER_TSCDEADLINE)
		return 0;
	ticks = muldiv_saturating(now - lapic->timer_start_ns, lapic->bus_hz, NS_PER_SECOND) /
		vlapic_timer_divisor(lapic->timer_dcr);
	if (timer_mode(lapic) == APIC_LVT_TIMER_PERIODIC)
		return lapic->timer_initial - (u32)(ticks % lapic->timer_initial);
	return ticks >= lapic->timer_initial ? 0 : lapic->timer_initial - (u32)ticks;
}

static void tsc_deadline_arm(struct vlapic *lapic)
{
	u64 tsc = tsc_now(lapic);

	if (lapic->tsc_deadline <= tsc) {
		lapic->tsc_deadline = 0;
		if (lapic->timer_deadline_ns)
			arm(lapic, 0);
		timer_raise(lapic);
		return;
	}
	/* Saturating: a deadline centuries away must not wrap into the past
	 * (the timer would fire, find the TSC short of it and re-arm forever).
	 * At least 1 ns: with a TSC faster than 1 GHz a deadline a few ticks
	 * away rounds down to 0 ns, and re-arming at the current time would
	 * do the same. */
	u64 now = now_ns(lapic), delta = muldiv_saturating(lapic->tsc_deadline - tsc, NS_PER_SECOND, lapic->tsc_hz);
	delta = MAX(delta, 1);
	arm(lapic, delta > ~0ULL - now ? ~0ULL : now + delta);
}

void vlapic_timer_fire(struct vlapic *lapic, u64 now)
{
	u64 period, next;

	if (timer_mode(lapic) == APIC_LVT_TIMER_TSCDEADLINE) {
		if (lapic->tsc_deadline)
			tsc_deadline_arm(lapic); /* raises if due, else re-arms */
		return;
	}
	if (!lapic->timer_running || !lapic->timer_deadline_ns)
		return;
	if (now < lapic->timer_deadline_ns) {
		arm(lapic, lapic->timer_deadline_ns);
		return;
	}
	timer_raise(lapic);
	if (timer_mode(lapic) != APIC_LVT_TIMER_PERIODIC) {
		lapic->timer_running = false;
		lapic->timer_deadline_ns = 0;
		return;
	}
	/* Periodic: next boundary after now (missed periods coalesce). */
	period = timer_period_ns(lapic);
	next = lapic->timer_deadline_ns + ((now - lapic->timer_deadline_ns) / period + 1) * period;
	arm(lapic, next);
}

static void write_lvt_timer(struct vlapic *lapic, u32 value)
{
	u32 old_mode = timer_mode(lapic);

	lapic->lvt[VLAPIC_LVT_TIMER] = value & APIC_LVTT_WRITABLE;
	if (!vlapic_sw_enabled(lapic))
		lapic->lvt[VLAPIC_LVT_TIMER] |= APIC_LVT_MASKED;
	/* Entering or leaving TSC-deadline mode disarms the timer (SDM 11.5.4.1). */
	if ((old_mode == APIC_LVT_TIMER_TSCDEADLINE) != (timer_mode(lapic) == APIC_LVT_TIMER_TSCDEADLINE))
		timer_stop(lapic);
}

/* --- registers --- */

void vlapic_reset_registers(struct vlapic *lapic)
{
	if (lapic->timer_deadline_ns)
		arm(lapic, 0);
	lapic->tpr = 0;
	lapic->ldr = vlapic_mode(lapic) == VLAPIC_X2APIC ? x2apic_ldr(lapic->initial_id) : 0;
	lapic->dfr = 0xffffffffu;
	lapic->svr = 0xff;
	lapic->esr = lapic->esr_pending = 0;
	lapic->icr_low = lapic->icr_high = 0;
	for (unsigned i = 0; i < APIC_LVT_COUNT; i++)
		lapic->lvt[i] = APIC_LVT_MASKED;
	memset(lapic->isr, 0, sizeof(lapic->isr));
	memset(lapic->tmr, 0, sizeof(lapic->tmr));
	memset(lapic->irr, 0, sizeof(lapic->irr));
	memset(lapic->auto_eoi, 0, sizeof(lapic->auto_eoi));
	lapic->irr_words = 0;
	lapic->timer_initial = lapic->timer_dcr = 0;
	lapic->timer_running = false;
	lapic->timer_start_ns = lapic->timer_deadline_ns = lapic->tsc_deadline = 0;
}

void vlapic_init(struct vlapic *lapic, u32 apic_id, bool bsp, const struct vlapic_ops *ops,
		u64 bus_hz, u64 tsc_hz)
{
	memset(lapic, 0, sizeof(*lapic));
	lapic->ops = ops;
	lapic->bus_hz = bus_hz ? bus_hz : LAPIC_DEFAULT_BUS_HZ;
	lapic->tsc_hz = tsc_hz ? tsc_hz : NS_PER_SECOND;
	lapic->initial_id = apic_id;
	lapic->id = apic_id << APIC_ID_SHIFT;
	lapic->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (bsp ? APIC_BASE_BSP : 0);
	vlapic_reset_registers(lapic);
}

static int lvt_index(u32 offset)
{
	if (offset < APIC_LVTT || offset > APIC_LVTERR)
		return -1;
	return (int)((offset - APIC_LVTT) >> 4);
}

/* Register read with xAPIC semantics; false for a reserved offset. */
static bool read_reg(struct vlapic *lapic, u32 offset, u32 *value)
{
	int lvt = lvt_index(offset);

	if (lvt >= 0) {
		*value = lapic->lvt[lvt];
		return true;
	}
	if (offset >= APIC_ISR && offset < APIC_ESR) {
		const u32 *reg = offset < APIC_TMR ? lapic->isr
				 : offset < APIC_IRR ? lapic->tmr
						     : lapic->irr;
		*value = reg[(offset >> 4) & 7];
		return true;
	}
	switch (offset) {
	case APIC_ID: *value = lapic->id; break;
	case APIC_LVR: *value = APIC_LVR_VALUE; break;
	case APIC_TASKPRI: *value = lapic->tpr; break;
	case APIC_ARBPRI: *value = vlapic_apr(lapic); break;
	case APIC_PROCPRI: *value = vlapic_ppr(lapic); break;
	case APIC_EOI: *value = 0; break;
	case APIC_LDR: *value = lapic->ldr; break;
	case APIC_DFR: *value = lapic->dfr; break;
	case APIC_SPIV: *value = lapic->svr; break;
	case APIC_ESR: *value = lapic->esr; break;
	case APIC_ICR: *value = lapic->icr_low; break;
	case APIC_ICR2: *value = lapic->icr_high; break;
	case APIC_TMICT: *value = lapic->timer_initial; break;
	case APIC_TMCCT: *value = vlapic_timer_current_count(lapic, now_ns(lapic)); break;
	case APIC_TDCR: *value = lapic->timer_dcr; break;
	default: *value = 0; return false;
	}
	return true;
}

static void send_ipi(struct vlapic *lapic, u32 icr_low, u32 destination)
{
	struct vlapic_ipi ipi = {
		.destination = destination,
		.vector = icr_low & APIC_ICR_VECTOR,
		.delivery_mode = (icr_low & APIC_ICR_DM_MASK) >> APIC_ICR_DM_SHIFT,
		.shorthand = (icr_low & APIC_ICR_SHORTHAND_MASK) >> APIC_ICR_SHORTHAND_SHIFT,
		.logical = (icr_low & APIC_ICR_DEST_LOGICAL) != 0,
		.level_assert = (icr_low & APIC_ICR_LEVEL_ASSERT) != 0,
		.level_trigger = (icr_low & APIC_ICR_TRIGGER_LEVEL) != 0,
	};
	bool vectored = ipi.delivery_mode == APIC_DM_FIXED || ipi.delivery_mode == APIC_DM_LOWEST;
	bool fixed = ipi.delivery_mode == APIC_DM_FIXED;

	lapic->last_ipi = ipi;
	lapic->ipi_count++;
	if (vectored && ipi.vector < FIRST_LEGAL_VECTOR) {
		set_error(lapic, APIC_ESR_SEND_ILLEGAL_VECTOR);
		return;
	}
	if (fixed && (ipi.shorthand == APIC_DEST_SELF || ipi.shorthand == APIC_DEST_ALL_INCLUDING_SELF)) {
		vlapic_accept(lapic, ipi.vector, ipi.level_trigger);
		if (ipi.shorthand == APIC_DEST_SELF)
			return;
	}
	/* The router delivers everything else (lapic.h, vlapic_ops.send_ipi). */
	if (lapic->ops && lapic->ops->send_ipi)
		lapic->ops->send_ipi(lapic->ops->ctx, &ipi);
}

static void write_svr(struct vlapic *lapic, u32 value)
{
	lapic->svr = value & APIC_SPIV_WRITABLE;
	if (!vlapic_sw_enabled(lapic))
		for (unsigned i = 0; i < APIC_LVT_COUNT; i++)
			lapic->lvt[i] |= APIC_LVT_MASKED;
}

static void write_lvt(struct vlapic *lapic, int lvt, u32 value)
{
	static const u32 writable[APIC_LVT_COUNT] = {
		[VLAPIC_LVT_TIMER] = APIC_LVTT_WRITABLE,
		[VLAPIC_LVT_THERMAL] = APIC_LVT_THMR_PC_WRITABLE,
		[VLAPIC_LVT_PMC] = APIC_LVT_THMR_PC_WRITABLE,
		[VLAPIC_LVT_LINT0] = APIC_LVT_LINT_WRITABLE,
		[VLAPIC_LVT_LINT1] = APIC_LVT_LINT_WRITABLE,
		[VLAPIC_LVT_ERROR] = APIC_LVTERR_WRITABLE,
	};

	if (lvt == VLAPIC_LVT_TIMER) {
		write_lvt_timer(lapic, value);
		return;
	}
	lapic->lvt[lvt] = (value & writable[lvt]) | (lapic->lvt[lvt] & APIC_LVT_REMOTE_IRR);
	if (!vlapic_sw_enabled(lapic))
		lapic->lvt[lvt] |= APIC_LVT_MASKED;
}

/* Register write with xAPIC semantics; false for a read-only/reserved one. */
static bool write_reg(struct vlapic *lapic, u32 offset, u32 value)
{
	int lvt = lvt_index(offset);

	if (lvt >= 0) {
		write_lvt(lapic, lvt, value);
		return true;
	}
	switch (offset) {
	case APIC_ID: lapic->id = value & APIC_XAPIC_ID_MASK; break;
	case APIC_TASKPRI: lapic->tpr = value & APIC_TPR_MASK; break;
	case APIC_EOI: vlapic_eoi(lapic); break;
	case APIC_LDR: lapic->ldr = value & APIC_LDR_MASK; break;
	case APIC_DFR: lapic->dfr = value | APIC_DFR_RESERVED; break;
	case APIC_SPIV: write_svr(lapic, value); break;
	case APIC_ESR:
		lapic->esr = lapic->esr_pending;
		lapic->esr_pending = 0;
		break;
	case APIC_ICR:
		lapic->icr_low = value & APIC_ICR_LOW_WRITABLE;
		send_ipi(lapic, lapic->icr_low, lapic->icr_high >> APIC_ID_SHIFT);
		break;
	case APIC_ICR2: lapic->icr_high = value & APIC_XAPIC_ID_MASK; break;
	case APIC_TMICT:
		if (timer_mode(lapic) != APIC_LVT_TIMER_TSCDEADLINE) {
			lapic->timer_initial = value;
			timer_start(lapic);
		}
		break;
	case APIC_TDCR: lapic->timer_dcr = value & APIC_TDCR_MASK; break;
	default: return false;
	}
	return true;
}

int vlapic_read(struct vlapic *lapic, u32 offset, u32 *value)
{
	*value = 0;
	if (vlapic_mode(lapic) != VLAPIC_XAPIC)
		return -1;
	if (offset & 0xf)
		return 0;
	if (!read_reg(lapic, offset & 0xff0, value))
		set_error(lapic, APIC_ESR_ILLEGAL_REGISTER);
	return 0;
}

int vlapic_write(struct vlapic *lapic, u32 offset, u32 value)
{
	if (vlapic_mode(lapic) != VLAPIC_XAPIC)
		return -1;
	if (offset & 0xf)
		return 0;
	if (!write_reg(lapic, offset & 0xff0, value))
		set_error(lapic, APIC_ESR_ILLEGAL_REGISTER);
	return 0;
}

/* --- IA32_APIC_BASE (SDM 11.12.5, Figure 11-27) --- */

int vlapic_set_base(struct vlapic *lapic, u64 value)
{
	enum vlapic_mode old = vlapic_mode(lapic), new;

	if (value & APIC_BASE_RESERVED)
		return -1;
	if ((value & (APIC_BASE_EN | APIC_BASE_EXTD)) == APIC_BASE_EXTD)
		return -1; /* EXTD without EN is invalid */
	new = !(value & APIC_BASE_EN) ? VLAPIC_DISABLED
	      : (value & APIC_BASE_EXTD) ? VLAPIC_X2APIC
					 : VLAPIC_XAPIC;
	if ((old == VLAPIC_X2APIC && new == VLAPIC_XAPIC) ||
	    (old == VLAPIC_DISABLED && new == VLAPIC_X2APIC))
		return -1;

	lapic->apic_base = (value & ~APIC_BASE_BSP) | (lapic->apic_base & APIC_BASE_BSP);
	if (new == VLAPIC_DISABLED && old != VLAPIC_DISABLED) {
		vlapic_reset_registers(lapic);
		lapic->id = lapic->initial_id << APIC_ID_SHIFT;
	} else if (new == VLAPIC_X2APIC && old == VLAPIC_XAPIC) {
		lapic->ldr = x2apic_ldr(lapic->initial_id);
	}
	return 0;
}

/* --- MSRs --- */

static bool x2apic_readable(u32 offset)
{
	switch (offset) {
	case APIC_ARBPRI:
	case APIC_EOI:
	case APIC_RRR:
	case APIC_DFR:
	case APIC_ICR2:
	case APIC_SELF_IPI:
		return false;
	default:
		return true;
	}
}

static int x2apic_read(struct vlapic *lapic, u32 offset, u64 *value)
{
	u32 v;

	if (!x2apic_readable(offset))
		return -1;
	switch (offset) {
	case APIC_ID: *value = lapic->initial_id; return 0;
	case APIC_ICR: *value = ((u64)lapic->icr_high << 32) | lapic->icr_low; return 0;
	default:
		if (!read_reg(lapic, offset, &v))
			return -1;
		*value = v;
		return 0;
	}
}

static int x2apic_write(struct vlapic *lapic, u32 offset, u64 value)
{
	if (offset == APIC_ICR) {
		lapic->icr_low = (u32)value & APIC_ICR_LOW_WRITABLE;
		lapic->icr_high = (u32)(value >> 32);
		send_ipi(lapic, lapic->icr_low, lapic->icr_high);
		return 0;
	}
	if (value >> 32)
		return -1;
	switch (offset) {
	case APIC_TASKPRI:
	case APIC_SPIV:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
		write_reg(lapic, offset, (u32)value);
		return 0;
	case APIC_EOI:
	case APIC_ESR:
		if (value)
			return -1;
		write_reg(lapic, offset, 0);
		return 0;
	case APIC_SELF_IPI:
		if (value & ~(u64)APIC_ICR_VECTOR)
			return -1;
		vlapic_accept(lapic, (u8)value, false);
		return 0;
	default:
		return -1; /* read-only or reserved */
	}
}

int vlapic_msr_read(struct vlapic *lapic, u32 msr, u64 *value)
{
	*value = 0;
	if (msr == MSR_IA32_APIC_BASE) {
		*value = lapic->apic_base;
		return 0;
	}
	if (msr == MSR_IA32_TSC_DEADLINE) {
		if (timer_mode(lapic) == APIC_LVT_TIMER_TSCDEADLINE)
			*value = lapic->tsc_deadline;
		return 0;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || vlapic_mode(lapic) != VLAPIC_X2APIC)
		return -1;
	return x2apic_read(lapic, (msr - MSR_X2APIC_FIRST) << 4, value);
}

int vlapic_msr_write(struct vlapic *lapic, u32 msr, u64 value)
{
	if (msr == MSR_IA32_APIC_BASE)
		return vlapic_set_base(lapic, value);
	if (msr == MSR_IA32_TSC_DEADLINE) {
		/* Ignored unless the LVT timer is in TSC-deadline mode. */
		if (vlapic_mode(lapic) == VLAPIC_DISABLED ||
		    timer_mode(lapic) != APIC_LVT_TIMER_TSCDEADLINE)
			return 0;
		lapic->tsc_deadline = value;
		if (value)
			tsc_deadline_arm(lapic);
		else if (lapic->timer_deadline_ns)
			arm(lapic, 0);
		return 0;
	}
	if (msr < MSR_X2APIC_FIRST || msr > MSR_X2APIC_LAST || vlapic_mode(lapic) != VLAPIC_X2APIC)
		return -1;
	return x2apic_write(lapic, (msr - MSR_X2APIC_FIRST) << 4, value);
}
