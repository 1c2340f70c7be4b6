/*
 * Unit tests for the local APIC model (vmm/dev/lapic.c). Expected values
 * follow the Intel SDM Vol. 3A chapter 11: reset values (11.4.7.1), the
 * version register layout (Figure 11-7), TPR/PPR (11.8.3.1), IRR/ISR/EOI
 * (11.8.4-11.8.5), software disable (11.4.7.2), the timer and its divide
 * configuration (11.5.4, Figure 11-10), x2APIC MSRs (Table 11-6, 11.12) and
 * IA32_APIC_BASE transitions (11.12.5, Figure 11-27).
 */
#include "tests/unit/host_support.h"
#include <string.h>

/* cmocka test functions ignore their state argument. */
#pragma GCC diagnostic ignored "-Wunused-parameter"

#include "vmm/dev/lapic.c"

/* ---- Fakes ---- */

struct fake {
	u64 now, tsc, armed;
	unsigned arms;
	u8 eoi_vectors[8];
	unsigned eois;
	struct vlapic_ipi ipi;
	unsigned ipis;
	unsigned requests;
};

static struct fake fk;
static struct vlapic apic;

static u64 fake_now(void *ctx) { return ((struct fake *)ctx)->now; }
static u64 fake_tsc(void *ctx) { return ((struct fake *)ctx)->tsc; }
static void fake_arm(void *ctx, u64 deadline)
{
	struct fake *f = ctx;
	f->armed = deadline;
	f->arms++;
}
static void fake_eoi(void *ctx, u8 vector)
{
	struct fake *f = ctx;
	if (f->eois < ARRAY_SIZE(f->eoi_vectors))
		f->eoi_vectors[f->eois] = vector;
	f->eois++;
}
static void fake_ipi(void *ctx, const struct vlapic_ipi *ipi)
{
	struct fake *f = ctx;
	f->ipi = *ipi;
	f->ipis++;
}

static void fake_requested(void *ctx)
{
	((struct fake *)ctx)->requests++;
}

static const struct vlapic_ops ops = {
	.now_ns = fake_now,
	.arm = fake_arm,
	.eoi_level = fake_eoi,
	.tsc_now = fake_tsc,
	.send_ipi = fake_ipi,
	.requested = fake_requested,
	.ctx = &fk,
};

#define TSC_HZ 2000000000ULL /* 2 TSC ticks per ns */

static int setup(void **state)
{
	memset(&fk, 0, sizeof(fk));
	vlapic_init(&apic, 3, true, &ops, 0, TSC_HZ);
	return 0;
}

static u32 rd(u32 offset)
{
	u32 v = 0xdeadbeef;
	assert_int_equal(vlapic_read(&apic, offset, &v), 0);
	return v;
}

static void wr(u32 offset, u32 value)
{
	assert_int_equal(vlapic_write(&apic, offset, value), 0);
}

static void sw_enable(void)
{
	wr(APIC_SPIV, 0x1ff);
}

static bool irr_has(u8 vector)
{
	return (rd(APIC_IRR + (vector >> 5) * 0x10) >> (vector & 31)) & 1;
}

static bool isr_has(u8 vector)
{
	return (rd(APIC_ISR + (vector >> 5) * 0x10) >> (vector & 31)) & 1;
}

static void enter_x2apic(void)
{
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL | BIT(11) | BIT(10)), 0);
}

/* ---- Tests ---- */

static void test_reset_values(void **state)
{
	u64 base;

	assert_int_equal(rd(0x20), 3u << 24);
	/* version 0x14, max LVT entry 5 in bits 23:16 */
	assert_int_equal(rd(0x30), 0x00050014);
	assert_int_equal(rd(0x80), 0);
	assert_int_equal(rd(0xa0), 0);
	assert_int_equal(rd(0xd0), 0);
	assert_int_equal(rd(0xe0), 0xffffffff);
	assert_int_equal(rd(0xf0), 0xff);
	for (u32 off = 0x320; off <= 0x370; off += 0x10)
		assert_int_equal(rd(off), 0x00010000);
	for (u32 off = 0x100; off < 0x280; off += 0x10)
		assert_int_equal(rd(off), 0);
	assert_int_equal(rd(0x380), 0);
	assert_int_equal(rd(0x390), 0);
	assert_int_equal(rd(0x3e0), 0);
	/* IA32_APIC_BASE: 0xfee00000, enabled, BSP */
	assert_int_equal(vlapic_msr_read(&apic, 0x1b, &base), 0);
	assert_int_equal(base, 0xfee00900ULL);
	assert_int_equal(vlapic_mode(&apic), VLAPIC_XAPIC);
}

static void test_register_write_masks(void **state)
{
	wr(0x20, 0x0700ffff);
	assert_int_equal(rd(0x20), 0x07000000);
	wr(0x80, 0x1234);
	assert_int_equal(rd(0x80), 0x34);
	wr(0xd0, 0x01ffffff);
	assert_int_equal(rd(0xd0), 0x01000000);
	wr(0xe0, 0x0);		/* cluster model: bits 31:28 = 0 */
	assert_int_equal(rd(0xe0), 0x0fffffff);
	wr(0x30, 0);		/* version is read-only */
	assert_int_equal(rd(0x30), 0x00050014);
	sw_enable();
	/* LINT0: ExtINT (7), level; delivery status and remote IRR read-only */
	wr(0x350, 0x0000f700 | BIT(12) | BIT(14));
	assert_int_equal(rd(0x350), 0x0000a700);
	/* timer: vector, mask, mode */
	wr(0x320, 0xffffffff);
	assert_int_equal(rd(0x320), 0x000700ff);
	wr(0x3e0, 0xffffffff);
	assert_int_equal(rd(0x3e0), 0xb);
}

static void test_ppr_from_tpr_and_isr(void **state)
{
	sw_enable();
	wr(0x80, 0x45);
	assert_int_equal(rd(0xa0), 0x45);
	/* ISR 0x31 below TPR class: PPR = TPR */
	assert_true(vlapic_accept(&apic, 0x31, false));
	assert_int_equal(vlapic_pending_vector(&apic), -1); /* class 3 <= 4 */
	wr(0x80, 0);
	assert_int_equal(vlapic_pending_vector(&apic), 0x31);
	vlapic_acknowledge(&apic, 0x31);
	wr(0x80, 0x45);
	assert_int_equal(rd(0xa0), 0x45);
	/* ISR class above TPR class: PPR = ISRV & 0xf0 */
	wr(0x80, 0x25);
	assert_int_equal(rd(0xa0), 0x30);
	/* same class as TPR: PPR = TPR */
	wr(0x80, 0x3a);
	assert_int_equal(rd(0xa0), 0x3a);
}

static void test_tpr_blocks_same_class(void **state)
{
	sw_enable();
	wr(0x80, 0x50);
	assert_true(vlapic_accept(&apic, 0x5f, false));
	assert_int_equal(vlapic_pending_vector(&apic), -1);
	wr(0x80, 0x4f);
	assert_int_equal(vlapic_pending_vector(&apic), 0x5f);
}

static void test_nested_irr_isr_eoi(void **state)
{
	sw_enable();
	assert_true(vlapic_accept(&apic, 0x40, false));
	assert_int_equal(vlapic_pending_vector(&apic), 0x40);
	vlapic_acknowledge(&apic, 0x40);
	assert_false(irr_has(0x40));
	assert_true(isr_has(0x40));
	assert_int_equal(rd(0xa0), 0x40);

	/* same class as the one in service: held */
	assert_true(vlapic_accept(&apic, 0x45, false));
	assert_int_equal(vlapic_pending_vector(&apic), -1);
	/* higher class nests */
	assert_true(vlapic_accept(&apic, 0x80, false));
	assert_int_equal(vlapic_pending_vector(&apic), 0x80);
	vlapic_acknowledge(&apic, 0x80);
	assert_int_equal(rd(0xa0), 0x80);
	assert_int_equal(vlapic_pending_vector(&apic), -1);

	/* EOI retires the highest in-service vector first */
	wr(0xb0, 0);
	assert_false(isr_has(0x80));
	assert_true(isr_has(0x40));
	assert_int_equal(vlapic_pending_vector(&apic), -1);
	wr(0xb0, 0);
	assert_false(isr_has(0x40));
	assert_int_equal(vlapic_pending_vector(&apic), 0x45);
	assert_int_equal(fk.eois, 0); /* edge: no EOI callback */
	/* EOI with nothing in service is harmless */
	vlapic_acknowledge(&apic, 0x45);
	wr(0xb0, 0);
	wr(0xb0, 0);
	assert_int_equal(rd(0xa0), 0);
}

static void test_level_eoi_callback(void **state)
{
	sw_enable();
	assert_true(vlapic_accept(&apic, 0x61, true));
	assert_int_equal(rd(0x180 + 3 * 0x10), 1u << 1); /* TMR bit 0x61 */
	vlapic_acknowledge(&apic, 0x61);
	wr(0xb0, 0);
	assert_int_equal(fk.eois, 1);
	assert_int_equal(fk.eoi_vectors[0], 0x61);
	/* the same vector accepted as edge clears TMR: no callback */
	assert_true(vlapic_accept(&apic, 0x61, false));
	assert_int_equal(rd(0x180 + 3 * 0x10), 0);
	vlapic_acknowledge(&apic, 0x61);
	wr(0xb0, 0);
	assert_int_equal(fk.eois, 1);
}

static void test_software_disable(void **state)
{
	/* power-on: software disabled, fixed interrupts refused */
	assert_false(vlapic_accept(&apic, 0x50, false));
	/* LVT unmask refused while disabled */
	wr(0x320, 0x30);
	assert_int_equal(rd(0x320), 0x00010030);
	sw_enable();
	wr(0x320, 0x30);
	wr(0x370, 0xfe);
	assert_int_equal(rd(0x320), 0x30);
	/* clearing SVR bit 8 masks every LVT */
	wr(0xf0, 0xff);
	for (u32 off = 0x320; off <= 0x370; off += 0x10)
		assert_true(rd(off) & BIT(16));
	assert_int_equal(rd(0x370), 0x000100fe);
}

static void test_illegal_vectors_and_esr(void **state)
{
	sw_enable();
	assert_false(vlapic_accept(&apic, 0x0f, false));
	assert_int_equal(rd(0x280), 0); /* not latched until ESR is written */
	wr(0x280, 0);
	assert_int_equal(rd(0x280), BIT(6)); /* receive illegal vector */
	wr(0x280, 0);
	assert_int_equal(rd(0x280), 0);
	/* send illegal vector through the ICR */
	wr(0x300, 0x00004005);
	wr(0x280, 0);
	assert_int_equal(rd(0x280), BIT(5));
	assert_int_equal(fk.ipis, 0);
}

static void test_xapic_icr(void **state)
{
	sw_enable();
	wr(0x310, 0x02ffffff);
	assert_int_equal(rd(0x310), 0x02000000);
	/* fixed, physical, assert, vector 0x31 to APIC 2 */
	wr(0x300, 0x00004031);
	assert_int_equal(fk.ipis, 1);
	assert_int_equal(fk.ipi.destination, 2);
	assert_int_equal(fk.ipi.vector, 0x31);
	assert_int_equal(fk.ipi.delivery_mode, APIC_DM_FIXED);
	assert_int_equal(fk.ipi.shorthand, APIC_DEST_NONE);
	assert_false(fk.ipi.logical);
	assert_int_equal(apic.last_ipi.vector, 0x31);
	assert_int_equal(rd(0x300) & BIT(12), 0); /* delivery status idle */

	/* INIT, level assert, logical, to all excluding self */
	wr(0x300, 0x000c4d00);
	assert_int_equal(fk.ipis, 2);
	assert_int_equal(fk.ipi.delivery_mode, APIC_DM_INIT);
	assert_int_equal(fk.ipi.shorthand, APIC_DEST_ALL_EXCLUDING_SELF);
	assert_true(fk.ipi.logical);
	assert_false(irr_has(0x00));

	/* self shorthand: accepted locally, nothing sent */
	wr(0x300, 0x00040044);
	assert_int_equal(fk.ipis, 2);
	assert_true(irr_has(0x44));
	assert_int_equal(apic.last_ipi.shorthand, APIC_DEST_SELF);

	/* all including self: local and sent */
	wr(0x300, 0x00080055);
	assert_int_equal(fk.ipis, 3);
	assert_true(irr_has(0x55));
}

static void test_x2apic_msrs(void **state)
{
	u64 v;

	vlapic_init(&apic, 0x23, false, &ops, 0, TSC_HZ);
	/* x2APIC MSRs #GP in xAPIC mode */
	assert_int_equal(vlapic_msr_read(&apic, 0x802, &v), -1);
	enter_x2apic();
	assert_int_equal(vlapic_mode(&apic), VLAPIC_X2APIC);
	/* the MMIO page is gone */
	assert_int_equal(vlapic_read(&apic, 0x30, (u32 *)&v), -1);

	assert_int_equal(vlapic_msr_read(&apic, 0x802, &v), 0);
	assert_int_equal(v, 0x23);	/* x2APIC ID = APIC ID, not shifted */
	assert_int_equal(vlapic_msr_read(&apic, 0x803, &v), 0);
	assert_int_equal(v, 0x00050014);
	/* LDR = cluster (id >> 4) << 16 | 1 << (id & 0xf), read-only */
	assert_int_equal(vlapic_msr_read(&apic, 0x80d, &v), 0);
	assert_int_equal(v, 0x00020008);
	assert_int_equal(vlapic_msr_write(&apic, 0x80d, 0), -1);
	assert_int_equal(vlapic_msr_write(&apic, 0x802, 0), -1);
	assert_int_equal(vlapic_msr_write(&apic, 0x803, 0), -1);
	/* no DFR, APR or ICR high half in x2APIC */
	assert_int_equal(vlapic_msr_read(&apic, 0x80e, &v), -1);
	assert_int_equal(vlapic_msr_read(&apic, 0x809, &v), -1);
	assert_int_equal(vlapic_msr_read(&apic, 0x831, &v), -1);
	/* EOI and SELF IPI are write-only; EOI/ESR take only 0 */
	assert_int_equal(vlapic_msr_read(&apic, 0x80b, &v), -1);
	assert_int_equal(vlapic_msr_read(&apic, 0x83f, &v), -1);
	assert_int_equal(vlapic_msr_write(&apic, 0x80b, 1), -1);
	assert_int_equal(vlapic_msr_write(&apic, 0x828, 1), -1);

	assert_int_equal(vlapic_msr_write(&apic, 0x80f, 0x1ff), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x80f, &v), 0);
	assert_int_equal(v, 0x1ff);
	assert_int_equal(vlapic_msr_write(&apic, 0x808, 0x20), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x808, &v), 0);
	assert_int_equal(v, 0x20);
	/* reserved upper bits #GP */
	assert_int_equal(vlapic_msr_write(&apic, 0x808, 1ULL << 32), -1);

	/* ICR is one 64-bit MSR with a 32-bit destination */
	assert_int_equal(vlapic_msr_write(&apic, 0x830, 0x0000012300004031ULL), 0);
	assert_int_equal(fk.ipis, 1);
	assert_int_equal(fk.ipi.destination, 0x123);
	assert_int_equal(fk.ipi.vector, 0x31);
	assert_int_equal(vlapic_msr_read(&apic, 0x830, &v), 0);
	assert_int_equal(v, 0x0000012300004031ULL);

	/* SELF IPI */
	assert_int_equal(vlapic_msr_write(&apic, 0x83f, 0x66), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x820 + 3, &v), 0);
	assert_int_equal(v, 1u << (0x66 - 0x60));
	assert_int_equal(vlapic_msr_write(&apic, 0x83f, 0x166), -1);
	assert_int_equal(vlapic_pending_vector(&apic), 0x66);
	vlapic_acknowledge(&apic, 0x66);
	assert_int_equal(vlapic_msr_read(&apic, 0x810 + 3, &v), 0);
	assert_int_equal(v, 1u << 6);
	assert_int_equal(vlapic_msr_read(&apic, 0x80a, &v), 0);
	assert_int_equal(v, 0x60);
	assert_int_equal(vlapic_msr_write(&apic, 0x80b, 0), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x810 + 3, &v), 0);
	assert_int_equal(v, 0);

	/* LVT and timer registers map at offset >> 4 */
	assert_int_equal(vlapic_msr_write(&apic, 0x832, 0x20030), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x832, &v), 0);
	assert_int_equal(v, 0x20030);
	assert_int_equal(vlapic_msr_write(&apic, 0x839, 5), -1); /* current count RO */
}

static void test_apic_base_transitions(void **state)
{
	u64 base;

	/* reserved bits and EXTD without EN */
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL | BIT(11) | BIT(9)), -1);
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL | BIT(11) | 1), -1);
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL | BIT(10)), -1);
	assert_int_equal(vlapic_set_base(&apic, BIT(63) | 0xfee00000ULL | BIT(11)), -1);
	/* xAPIC -> x2APIC -> xAPIC is not allowed */
	enter_x2apic();
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL | BIT(11)), -1);
	assert_int_equal(vlapic_mode(&apic), VLAPIC_X2APIC);
	/* x2APIC -> disabled is, and resets the registers */
	assert_int_equal(vlapic_msr_write(&apic, 0x808, 0x30), 0);
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL), 0);
	assert_int_equal(vlapic_mode(&apic), VLAPIC_DISABLED);
	assert_int_equal(vlapic_pending_vector(&apic), -1);
	/* disabled -> x2APIC is not allowed */
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000ULL | BIT(11) | BIT(10)), -1);
	/* disabled -> xAPIC, relocated; BSP bit keeps its value */
	assert_int_equal(vlapic_msr_write(&apic, 0x1b, 0xfed00000ULL | BIT(11)), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x1b, &base), 0);
	assert_int_equal(base, 0xfed00000ULL | BIT(11) | BIT(8));
	assert_int_equal(rd(0x80), 0);
	assert_int_equal(rd(0xf0), 0xff);
	assert_int_equal(rd(0x20), 3u << 24);
}

static void test_divide_encodings(void **state)
{
	static const struct { u32 dcr; unsigned div; } table[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(table); i++)
		assert_int_equal(vlapic_timer_divisor(table[i].dcr), table[i].div);

	/* observed through the count: divide by 16, 1 GHz bus */
	sw_enable();
	wr(0x3e0, 0x3);
	wr(0x380, 100);
	fk.now = 160; /* 10 ticks */
	assert_int_equal(rd(0x390), 90);
	assert_int_equal(fk.armed, 1600);
}

static void test_timer_one_shot(void **state)
{
	sw_enable();
	fk.now = 5000;
	wr(0x3e0, 0xb);
	wr(0x320, 0x40);
	wr(0x380, 1000);
	assert_int_equal(fk.armed, 6000);
	assert_int_equal(rd(0x390), 1000);
	fk.now = 5400;
	assert_int_equal(rd(0x390), 600);
	fk.now = 5999;
	assert_int_equal(rd(0x390), 1);
	/* an early call changes nothing */
	vlapic_timer_fire(&apic, 5999);
	assert_false(irr_has(0x40));
	fk.now = 6000;
	vlapic_timer_fire(&apic, 6000);
	assert_true(irr_has(0x40));
	assert_int_equal(rd(0x390), 0);
	assert_int_equal(rd(0x380), 1000);
	/* once only */
	vlapic_acknowledge(&apic, 0x40);
	wr(0xb0, 0);
	vlapic_timer_fire(&apic, 7000);
	assert_false(irr_has(0x40));
	fk.now = 9000;
	assert_int_equal(rd(0x390), 0);
	/* writing 0 stops a running timer */
	wr(0x380, 500);
	wr(0x380, 0);
	assert_int_equal(fk.armed, 0);
	assert_int_equal(rd(0x390), 0);
}

static void test_timer_masked_counts_silently(void **state)
{
	sw_enable();
	wr(0x3e0, 0xb);
	wr(0x320, 0x00010040);
	wr(0x380, 100);
	fk.now = 50;
	assert_int_equal(rd(0x390), 50);
	vlapic_timer_fire(&apic, 100);
	assert_int_equal(vlapic_pending_vector(&apic), -1);
}

static void test_timer_periodic(void **state)
{
	sw_enable();
	wr(0x3e0, 0x0);		 /* divide by 2 */
	wr(0x320, 0x00020041); /* periodic */
	wr(0x380, 100000);	 /* 200 us period */
	assert_int_equal(fk.armed, 200000);
	fk.now = 250000;
	assert_int_equal(rd(0x390), 75000); /* reloaded, 25000 ticks into the period */
	vlapic_timer_fire(&apic, 250000);
	assert_true(irr_has(0x41));
	assert_int_equal(fk.armed, 400000);
	vlapic_acknowledge(&apic, 0x41);
	wr(0xb0, 0);
	/* missed periods coalesce into one interrupt */
	vlapic_timer_fire(&apic, 1010000);
	assert_true(irr_has(0x41));
	assert_int_equal(fk.armed, 1200000);
}

#define MAX_EXPIRIES (2 * NS_PER_SECOND / VTIMER_MIN_PERIOD_NS)

/* Runs guest time on by 'ns' as the VM's run loop would: each expiry at its
 * deadline, the interrupt taken and EOIed at once. Returns the interrupts;
 * a timer expiring without bound fails the test instead of hanging it. */
static unsigned run_timer_for(u64 ns)
{
	u64 end = fk.now + ns;
	unsigned interrupts = 0;
	for (unsigned expiries = 0; fk.armed && fk.armed <= end; expiries++) {
		if (expiries > MAX_EXPIRIES)
			fail_msg("timer expired %u times in %llu ns", expiries, (unsigned long long)ns);
		fk.now = fk.armed;
		fk.armed = 0; /* what the run loop does before the callback */
		vlapic_timer_fire(&apic, fk.now);
		int vector = vlapic_pending_vector(&apic);
		if (vector >= 0) {
			interrupts++;
			vlapic_acknowledge(&apic, (u8)vector);
			wr(0xb0, 0);
		}
	}
	fk.now = end;
	return interrupts;
}

/* Count 1, divide 1: a 1 ns period asked for, one interrupt per floor given. */
static void test_timer_periodic_fastest_is_floored(void **state)
{
	sw_enable();
	wr(0x3e0, 0xb);
	wr(0x320, 0x00020041);
	wr(0x380, 1);
	unsigned interrupts = run_timer_for(NS_PER_SECOND);
	assert_int_equal(interrupts, NS_PER_SECOND / VTIMER_MIN_PERIOD_NS);
	/* the current count still runs at the programmed rate */
	assert_int_equal(rd(0x390), 1);
}

/* Linux's periodic ticks (HZ 1000 and 250) keep their exact rate. */
static void test_timer_periodic_normal_rates(void **state)
{
	static const unsigned hz[] = { 1000, 250 };
	sw_enable();
	wr(0x3e0, 0xb);
	wr(0x320, 0x00020041);
	for (unsigned i = 0; i < ARRAY_SIZE(hz); i++) {
		wr(0x380, (u32)(LAPIC_DEFAULT_BUS_HZ / hz[i]));
		assert_int_equal(run_timer_for(NS_PER_SECOND), hz[i]);
	}
}

/* A one-shot of one tick fires once, at once. */
static void test_timer_one_shot_count_1(void **state)
{
	sw_enable();
	wr(0x3e0, 0xb);
	wr(0x320, 0x41);
	wr(0x380, 1);
	assert_int_equal(fk.armed, 1);
	assert_int_equal(run_timer_for(NS_PER_SECOND), 1);
}

static void test_tsc_deadline(void **state)
{
	u64 v;

	sw_enable();
	/* ignored outside TSC-deadline mode */
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, 1234), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x6e0, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(fk.arms, 0);

	wr(0x320, 0x00040042);
	/* the initial count is ignored in TSC-deadline mode */
	wr(0x380, 100);
	assert_int_equal(rd(0x380), 0);
	fk.now = 1000;
	fk.tsc = 10000;
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, 14000), 0);
	assert_int_equal(vlapic_msr_read(&apic, 0x6e0, &v), 0);
	assert_int_equal(v, 14000);
	assert_int_equal(fk.armed, 1000 + 2000); /* 4000 TSC ticks at 2 GHz */
	/* the owner's clock says due but the TSC does not yet: re-arm */
	fk.now = 2999;
	fk.tsc = 13998;
	vlapic_timer_fire(&apic, 3000);
	assert_false(irr_has(0x42));
	assert_int_equal(fk.armed, 2999 + 1);
	fk.now = 3000;
	fk.tsc = 14000;
	vlapic_timer_fire(&apic, 3000);
	assert_true(irr_has(0x42));
	assert_int_equal(vlapic_msr_read(&apic, 0x6e0, &v), 0);
	assert_int_equal(v, 0);
	/* a deadline already past fires at once */
	vlapic_acknowledge(&apic, 0x42);
	wr(0xb0, 0);
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, 5), 0);
	assert_true(irr_has(0x42));
	/* leaving TSC-deadline mode disarms */
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, 1000000), 0);
	assert_int_not_equal(fk.armed, 0);
	wr(0x320, 0x42);
	assert_int_equal(fk.armed, 0);
	wr(0x320, 0x00040042);
	assert_int_equal(vlapic_msr_read(&apic, 0x6e0, &v), 0);
	assert_int_equal(v, 0);
}

static void test_error_lvt(void **state)
{
	sw_enable();
	wr(0x370, 0xfe);
	vlapic_accept(&apic, 3, false);
	assert_int_equal(vlapic_pending_vector(&apic), 0xfe);
}

/* SDM 11.6.2.1-11.6.2.2 (physical, flat and cluster logical), 11.12.9-10
 * (x2APIC IDs and logical IDs). The APIC under test has ID 3. */
static void test_destination_matching(void **state)
{
	/* physical xAPIC: the ID or the 0xff broadcast */
	assert_true(vlapic_matches(&apic, 3, false));
	assert_false(vlapic_matches(&apic, 2, false));
	assert_false(vlapic_matches(&apic, 0x13, false));
	assert_true(vlapic_matches(&apic, 0xff, false));
	/* flat logical: LDR bit 2, any overlap */
	wr(0xd0, 0x04000000);
	assert_true(vlapic_matches(&apic, 0x04, true));
	assert_true(vlapic_matches(&apic, 0x0c, true));
	assert_false(vlapic_matches(&apic, 0x01, true));
	assert_true(vlapic_matches(&apic, 0xff, true));
	/* cluster logical (DFR model 0): cluster 2, member bit 0 */
	wr(0xe0, 0x0fffffff);
	wr(0xd0, 0x21000000);
	assert_true(vlapic_matches(&apic, 0x21, true));
	assert_true(vlapic_matches(&apic, 0x23, true));
	assert_false(vlapic_matches(&apic, 0x11, true));
	assert_false(vlapic_matches(&apic, 0x22, true));
	/* a changed xAPIC ID register is what physical mode compares */
	wr(0x20, 0x05000000);
	assert_true(vlapic_matches(&apic, 5, false));
	assert_false(vlapic_matches(&apic, 3, false));
	/* x2APIC: 32-bit initial ID; logical ID = cluster (ID >> 4) : bit (ID & 15) */
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000 | APIC_BASE_EN | APIC_BASE_EXTD), 0);
	assert_true(vlapic_matches(&apic, 3, false));
	assert_false(vlapic_matches(&apic, 0x103, false));
	assert_true(vlapic_matches(&apic, 0xffffffffu, false));
	assert_true(vlapic_matches(&apic, 0x00000008, true));
	assert_false(vlapic_matches(&apic, 0x00010008, true));
	assert_false(vlapic_matches(&apic, 0x00000007, true));
	/* a disabled APIC takes no messages at all */
	assert_int_equal(vlapic_set_base(&apic, 0xfee00000), 0);
	assert_false(vlapic_matches(&apic, 3, false));
	assert_false(vlapic_matches(&apic, 0xff, false));
}

/* Under a nanosecond away (one tick at 2 GHz) arms after now, not at now,
 * which would expire and re-arm on every entry until the TSC got there. */
static void test_tsc_deadline_under_a_nanosecond(void **state)
{
	sw_enable();
	fk.now = 1000;
	fk.tsc = 10000;
	wr(0x320, 0x00040042);
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, 10001), 0);
	assert_false(irr_has(0x42));
	assert_int_equal(fk.armed, 1001);
}

/* A deadline already past raises once and leaves nothing armed. */
static void test_tsc_deadline_past_fires_once(void **state)
{
	sw_enable();
	fk.now = 1000;
	fk.tsc = 10000;
	wr(0x320, 0x00040042);
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, 1), 0);
	assert_int_equal(vlapic_pending_vector(&apic), 0x42);
	vlapic_acknowledge(&apic, 0x42);
	wr(0xb0, 0);
	assert_int_equal(fk.armed, 0);
	assert_int_equal(run_timer_for(NS_PER_SECOND), 0);
}

/* A deadline far beyond the guest-time range arms "never", not a wrapped
 * moment in the past that would fire and re-arm forever. */
static void test_tsc_deadline_far_future(void **state)
{
	vlapic_init(&apic, 3, true, &ops, 0, 500000000ULL); /* 2 ns per TSC tick */
	sw_enable();
	fk.now = 5000;
	fk.tsc = 10000;
	wr(0x320, 0x00040042);
	assert_int_equal(vlapic_msr_write(&apic, 0x6e0, ~0ULL - 1), 0);
	assert_true(fk.armed > fk.now);
	vlapic_timer_fire(&apic, fk.now + 1000);
	assert_false(irr_has(0x42));
	assert_true(fk.armed > fk.now);
}

/* The owner is told whenever a vector enters the IRR (from a message, the
 * timer or a self-IPI), and never for refused ones. */
static void test_requested_callback(void **state)
{
	vlapic_accept(&apic, 0x40, false); /* software-disabled: refused */
	assert_int_equal(fk.requests, 0);
	sw_enable();
	vlapic_accept(&apic, 0x40, false);
	assert_int_equal(fk.requests, 1);
	vlapic_accept(&apic, 5, false); /* illegal vector: refused (error LVT masked) */
	assert_int_equal(fk.requests, 1);
	wr(0x320, 0x41); /* one-shot, vector 0x41 */
	wr(0x380, 10);
	vlapic_timer_fire(&apic, fk.armed);
	assert_int_equal(fk.requests, 2);
	wr(0x300, 0x00044042); /* self IPI, vector 0x42 */
	assert_int_equal(fk.requests, 3);
	assert_int_equal(vlapic_pending_vector(&apic), 0x42);
}

#define LAPIC_TEST(name) cmocka_unit_test_setup(name, setup)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LAPIC_TEST(test_reset_values),
		LAPIC_TEST(test_register_write_masks),
		LAPIC_TEST(test_ppr_from_tpr_and_isr),
		LAPIC_TEST(test_tpr_blocks_same_class),
		LAPIC_TEST(test_nested_irr_isr_eoi),
		LAPIC_TEST(test_level_eoi_callback),
		LAPIC_TEST(test_software_disable),
		LAPIC_TEST(test_illegal_vectors_and_esr),
		LAPIC_TEST(test_xapic_icr),
		LAPIC_TEST(test_x2apic_msrs),
		LAPIC_TEST(test_apic_base_transitions),
		LAPIC_TEST(test_divide_encodings),
		LAPIC_TEST(test_timer_one_shot),
		LAPIC_TEST(test_timer_masked_counts_silently),
		LAPIC_TEST(test_timer_periodic),
		LAPIC_TEST(test_timer_periodic_fastest_is_floored),
		LAPIC_TEST(test_timer_periodic_normal_rates),
		LAPIC_TEST(test_timer_one_shot_count_1),
		LAPIC_TEST(test_tsc_deadline),
		LAPIC_TEST(test_tsc_deadline_far_future),
		LAPIC_TEST(test_tsc_deadline_under_a_nanosecond),
		LAPIC_TEST(test_tsc_deadline_past_fires_once),
		LAPIC_TEST(test_requested_callback),
		LAPIC_TEST(test_error_lvt),
		LAPIC_TEST(test_destination_matching),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
