/* Descriptors for emulated task switches: see vmm/task_descriptor.h. */
#include "vmm/task_descriptor.h"
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"

#define SELECTOR_RPL 3
#define SELECTOR_TI BIT(2) /* the LDT, not the GDT */
#define SELECTOR_INDEX_MASK 0xfff8
#define ERROR_CODE_SELECTOR_MASK 0xfffc /* bits 1:0 are IDT and EXT (SDM Vol. 3A 6.13) */
#define DESCRIPTOR_SIZE 8
#define DESCRIPTOR_ACCESS_BYTE 5 /* type, S, DPL, P */
#define LINEAR_MASK_32 0xffffffffULL /* no task switches in IA-32e mode */

int ts_fault(struct ts_context *t, u8 vector, u32 error_code)
{
	t->fault_vector = vector;
	t->fault_error_code = error_code;
	return TS_FAULT;
}

/* A fault naming a selector (#TS, #NP, #SS, #GP): EXT when the switch
 * delivers an external event. */
static int selector_fault(struct ts_context *t, u8 vector, u16 selector)
{
	return ts_fault(t, vector, (selector & ERROR_CODE_SELECTOR_MASK) | t->ext);
}

static int access_result(struct ts_context *t, enum guest_access_result r, u32 pf_error, u64 fault_address,
			 u64 linear, const char *what)
{
	if (r == GUEST_ACCESS_OK)
		return TS_OK;
	if (r == GUEST_ACCESS_PAGE_FAULT) {
		t->fault_address = fault_address;
		return ts_fault(t, VEC_PF, pf_error);
	}
	vm_stop(t->v->vm, "task switch to TSS selector 0x%x: the %s at linear 0x%llx is not in guest RAM",
		t->selector, what, (unsigned long long)linear);
	return TS_STOP;
}

int ts_system_access(struct ts_context *t, u64 linear, void *buf, unsigned len, bool write, const char *what)
{
	u32 pf_error = 0;
	u64 fault_address = 0;
	linear &= LINEAR_MASK_32;
	enum guest_access_result r = guest_system_access(t->v, linear, buf, len, write, &pf_error, &fault_address);
	return access_result(t, r, pf_error, fault_address, linear, what);
}

int ts_data_write(struct ts_context *t, u64 linear, const void *buf, unsigned len)
{
	u32 pf_error = 0;
	u64 fault_address = 0;
	enum guest_access_result r = guest_linear_write(t->v, linear, buf, len, &pf_error, &fault_address);
	return access_result(t, r, pf_error, fault_address, linear, "new task's stack");
}

/* SDM Vol. 3A 3.4.5: a segment descriptor's fields. */
static void segment_from_descriptor(u64 raw, u16 selector, struct segment *s)
{
	u32 limit = (raw & 0xffff) | ((raw >> 32) & 0xf0000);
	*s = (struct segment){
		.selector = selector,
		.base = ((raw >> 16) & 0xffffff) | (((raw >> 56) & 0xff) << 24),
		.type = (raw >> 40) & 0xf, .s = (raw >> 44) & 1, .dpl = (raw >> 45) & 3,
		.present = (raw >> 47) & 1, .avl = (raw >> 52) & 1, .l = (raw >> 53) & 1,
		.db = (raw >> 54) & 1, .g = (raw >> 55) & 1,
	};
	s->limit = s->g ? (limit << 12) | 0xfff : limit;
}

/* The descriptor a selector names, in the GDT or the (new) LDT; a
 * selector past the table's limit gives 'vector' with the selector. */
static int read_descriptor(struct ts_context *t, u16 selector, u8 vector, u64 *raw, u64 *address)
{
	const struct segment *ldtr = &t->s.seg[SREG_LDTR];
	bool in_ldt = selector & SELECTOR_TI;
	u64 base = in_ldt ? ldtr->base : t->s.gdtr.base;
	u32 limit = in_ldt ? ldtr->limit : t->s.gdtr.limit;
	if ((in_ldt && (ldtr->unusable || !ldtr->present)) || (u32)(selector | 7) > limit)
		return selector_fault(t, vector, selector);
	*address = base + (selector & SELECTOR_INDEX_MASK);
	return ts_system_access(t, *address, raw, DESCRIPTOR_SIZE, false, in_ldt ? "LDT" : "GDT");
}

int tss_read_new_descriptor(struct ts_context *t, struct segment *tss)
{
	bool iret = t->source == TASK_SWITCH_IRET;
	u8 invalid = iret ? VEC_TS : VEC_GP; /* SDM Vol. 3A Table 7-1 and IRET's page */
	u64 raw, address;
	if (t->selector & SELECTOR_TI)
		return selector_fault(t, invalid, t->selector);
	int rc = read_descriptor(t, t->selector, invalid, &raw, &address);
	if (rc)
		return rc;
	segment_from_descriptor(raw, t->selector, tss);
	u8 available = tss->type & ~TSS_TYPE_BUSY;
	bool busy = tss->type & TSS_TYPE_BUSY;
	if (tss->s || (available != TSS_TYPE_AVAILABLE_16 && available != TSS_TYPE_AVAILABLE_32) || busy != iret)
		return selector_fault(t, invalid, t->selector);
	if (!tss->present)
		return selector_fault(t, VEC_NP, t->selector);
	if (tss->limit < (tss_is_32bit(tss) ? TSS32_MIN_LIMIT : TSS16_MIN_LIMIT))
		return selector_fault(t, VEC_TS, t->selector);
	return TS_OK;
}

/* The type nibble lives in the access byte; rewriting only that byte
 * leaves the rest of the guest's descriptor alone. */
static int set_access_byte(struct ts_context *t, u64 address, u8 type_bits, bool set)
{
	u8 access;
	int rc = ts_system_access(t, address + DESCRIPTOR_ACCESS_BYTE, &access, 1, false, "GDT");
	if (rc)
		return rc;
	u8 updated = set ? access | type_bits : access & ~type_bits;
	if (updated == access)
		return TS_OK;
	return ts_system_access(t, address + DESCRIPTOR_ACCESS_BYTE, &updated, 1, true, "GDT");
}

int tss_set_busy(struct ts_context *t, u16 selector, bool busy)
{
	/* The TR of a task that never loaded one (selector 0) has no descriptor. */
	if ((selector & SELECTOR_TI) || !(selector & SELECTOR_INDEX_MASK) || (u32)(selector | 7) > t->s.gdtr.limit)
		return TS_OK;
	return set_access_byte(t, t->s.gdtr.base + (selector & SELECTOR_INDEX_MASK), TSS_TYPE_BUSY, busy);
}

static void null_segment(struct segment *s, u16 selector)
{
	*s = (struct segment){ .selector = selector, .unusable = true };
}

/* SDM Vol. 3A Table 7-1, "LDT segment selector of new task". */
static int load_ldt(struct ts_context *t, u16 selector)
{
	struct segment *ldtr = &t->s.seg[SREG_LDTR];
	u64 raw, address;
	if (!(selector & SELECTOR_INDEX_MASK) && !(selector & SELECTOR_TI)) {
		null_segment(ldtr, selector);
		return TS_OK;
	}
	null_segment(ldtr, 0); /* the descriptor comes from the GDT */
	if (selector & SELECTOR_TI)
		return selector_fault(t, VEC_TS, selector);
	int rc = read_descriptor(t, selector, VEC_TS, &raw, &address);
	if (rc)
		return rc;
	struct segment ldt;
	segment_from_descriptor(raw, selector, &ldt);
	if (ldt.s || ldt.type != SEG_TYPE_LDT || !ldt.present)
		return selector_fault(t, VEC_TS, selector);
	*ldtr = ldt;
	return TS_OK;
}

/* Why a code, stack or data descriptor is refused: the vector, 0 if fine. */
static u8 segment_check(enum segment_register reg, const struct segment *d, u16 selector, u8 cpl)
{
	u8 rpl = selector & SELECTOR_RPL;
	bool code = d->s && (d->type & SEG_TYPE_CODE);
	bool conforming = code && (d->type & SEG_TYPE_CONFORMING);
	switch (reg) {
	case SREG_CS:
		if (!code || (conforming ? d->dpl > rpl : d->dpl != rpl))
			return VEC_TS;
		return d->present ? 0 : VEC_NP;
	case SREG_SS:
		if (!d->s || code || !(d->type & SEG_TYPE_WRITABLE) || d->dpl != cpl || rpl != cpl)
			return VEC_TS;
		return d->present ? 0 : VEC_SS;
	default:
		if (!d->s || (code && !(d->type & SEG_TYPE_READABLE)) ||
		    (!conforming && (d->dpl < cpl || d->dpl < rpl)))
			return VEC_TS;
		return d->present ? 0 : VEC_NP;
	}
}

static int load_segment(struct ts_context *t, enum segment_register reg, u16 selector, u8 cpl)
{
	u64 raw, address;
	if (!(selector & SELECTOR_INDEX_MASK) && !(selector & SELECTOR_TI)) {
		if (reg == SREG_CS || reg == SREG_SS)
			return selector_fault(t, VEC_TS, selector);
		null_segment(&t->s.seg[reg], selector);
		return TS_OK;
	}
	int rc = read_descriptor(t, selector, VEC_TS, &raw, &address);
	if (rc)
		return rc;
	struct segment d;
	segment_from_descriptor(raw, selector, &d);
	u8 vector = segment_check(reg, &d, selector, cpl);
	if (vector)
		return selector_fault(t, vector, selector);
	/* Loading a segment sets its accessed bit, in memory and in the cache. */
	if ((rc = set_access_byte(t, address, SEG_TYPE_ACCESSED, true)))
		return rc;
	d.type |= SEG_TYPE_ACCESSED;
	t->s.seg[reg] = d;
	return TS_OK;
}

int load_task_segments(struct ts_context *t, const u16 selector[SREG_LDTR], u16 ldt)
{
	static const enum segment_register order[] = { SREG_CS, SREG_SS, SREG_DS, SREG_ES, SREG_FS, SREG_GS };
	u8 cpl = selector[SREG_CS] & SELECTOR_RPL; /* the new CS's RPL is the new CPL */
	/* The selectors are loaded before any descriptor (SDM Vol. 3A 7.3
	 * step 11): a fault leaves the later ones with their old caches. */
	for (int i = 0; i < SREG_LDTR; i++)
		t->s.seg[i].selector = selector[i];
	int rc = load_ldt(t, ldt);
	for (unsigned i = 0; !rc && i < ARRAY_SIZE(order); i++)
		rc = load_segment(t, order[i], selector[order[i]], cpl);
	return rc;
}

/* Before the commit point a fault interrupts the delivery of the gate's
 * event: two contributory faults, or a page fault and then one of those,
 * are #DF; anything during #DF is a triple fault (SDM Vol. 3A Table 6-5). */
bool ts_deliver_fault(struct ts_context *t)
{
	struct vcpu *v = t->v;
	u8 first = t->vector, second = t->fault_vector;
	bool delivering = !t->committed && t->event == TASK_EVENT_EXCEPTION;
	switch (delivering ? exception_pair(first, second) : EXCEPTIONS_SERIAL) {
	case EXCEPTIONS_TRIPLE_FAULT:
		vm_stop(v->vm, "triple fault: vector %u (error code 0x%x) while switching to TSS selector "
			"0x%x to deliver #DF", second, t->fault_error_code, t->selector);
		backend->dump_state(v);
		return false;
	case EXCEPTIONS_DOUBLE_FAULT:
		vcpu_inject_exception(v, VEC_DF, true, 0);
		return true;
	default:
		break;
	}
	if (second == VEC_PF)
		vcpu_inject_page_fault(v, t->fault_address, t->fault_error_code);
	else
		vcpu_inject_exception(v, second, true, t->fault_error_code);
	return true;
}
