/*
 * APIC wiring of a VM (see apic.h): the local APIC models on the MMIO page
 * and MSRs, their timers on guest time, the I/O APIC, and interrupt routing.
 */
#include "vmm/apic.h"
#include "vmm/dev/i8259.h"
#include "vmm/dev/ioapic.h"
#include "vmm/dev/lapic.h"
#include "vmm/irq.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"

#define LAPIC_MMIO_SIZE PAGE_SIZE
#define IOAPIC_MMIO_SIZE PAGE_SIZE
#define APIC_REGISTER_BYTES 4
#define APIC_LOG_LIMIT 8

struct vcpu_apic {
	struct vlapic lapic;
	struct vlapic_ops ops;
	struct vtimer timer;
	struct vcpu *vcpu;
	bool extint_pending;     /* an I/O APIC ExtINT message: INTA the 8259 */
	u64 lowest_priority_win; /* when it last won a lowest-priority arbitration */
};

static struct vlapic *lapic_of(struct vcpu *v)
{
	return &v->apic->lapic;
}

static void apic_log(struct vm *vm, const char *what, u32 value)
{
	if (vm->apic_reports++ < APIC_LOG_LIMIT)
		vm_log(vm, "%s (0x%x)%s", what, value,
		       vm->apic_reports == APIC_LOG_LIMIT ? "; no more APIC reports" : "");
}

/* --- routing --- */

/* One interrupt message to the local APICs (SDM 11.6): from the I/O APIC
 * or a device's MSI (no sender, no shorthand) or from a vCPU's ICR. */
struct apic_message {
	struct vcpu *sender;
	u32 destination;
	bool logical;
	u8 shorthand;      /* APIC_DEST_* */
	u8 vector;
	u8 delivery_mode;  /* APIC_DM_* */
	bool level_trigger;
	bool level_assert; /* an INIT with level 0 and level trigger is a de-assert */
	bool auto_eoi;     /* fixed: taken without entering the ISR (the test device) */
};

/* Does the message name this vCPU's local APIC? A hardware-disabled APIC
 * takes nothing; a software-disabled one still takes NMI, INIT and SIPI
 * (SDM 11.4.7.2), so that is left to the fixed path (vlapic_accept). */
static bool addressed(const struct apic_message *m, struct vcpu *v)
{
	if (!v->apic || vlapic_mode(lapic_of(v)) == VLAPIC_DISABLED)
		return false;
	switch (m->shorthand) {
	case APIC_DEST_SELF:
		return v == m->sender;
	case APIC_DEST_ALL_INCLUDING_SELF:
		/* A fixed interrupt is already in the sender's own IRR (lapic.h). */
		return v != m->sender || m->delivery_mode != APIC_DM_FIXED;
	case APIC_DEST_ALL_EXCLUDING_SELF:
		return v != m->sender;
	default:
		break;
	}
	/* The I/O APIC's 8-bit destination 0xff stays a broadcast for an APIC
	 * in x2APIC mode (there is no interrupt remapping). */
	u32 d = !m->sender && m->destination == APIC_XAPIC_BROADCAST &&
			vlapic_mode(lapic_of(v)) == VLAPIC_X2APIC ? APIC_X2APIC_BROADCAST : m->destination;
	return vlapic_matches(lapic_of(v), d, m->logical);
}

/* Fixed: into the IRR; lapic_requested() kicks the vCPU. */
static bool deliver_fixed(struct vcpu *v, const struct apic_message *m)
{
	if (m->auto_eoi)
		return vlapic_accept_auto_eoi(lapic_of(v), m->vector);
	return vlapic_accept(lapic_of(v), m->vector, m->level_trigger);
}

/* Lowest priority (SDM 11.6.2.4): the one APIC, among those addressed that
 * can take it, with the lowest processor priority (PPR); among equals the
 * one that won such an arbitration least recently, then the lowest vCPU
 * index (a round robin that needs no state outside the vCPUs). Focus
 * processor checking is not modelled. */
static bool wins_over(struct vcpu *a, struct vcpu *b)
{
	u32 ppr_a = vlapic_ppr(lapic_of(a)), ppr_b = vlapic_ppr(lapic_of(b));
	if (ppr_a != ppr_b)
		return ppr_a < ppr_b;
	return a->apic->lowest_priority_win < b->apic->lowest_priority_win;
}

static struct vcpu *lowest_priority_target(struct vm *vm, const struct apic_message *m)
{
	struct vcpu *best = NULL;
	u64 latest_win = 0;
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (!v->apic)
			continue;
		latest_win = MAX(latest_win, v->apic->lowest_priority_win);
		if (!addressed(m, v) || !vlapic_sw_enabled(lapic_of(v)))
			continue;
		if (!best || wins_over(v, best))
			best = v;
	}
	if (best)
		best->apic->lowest_priority_win = latest_win + 1;
	return best;
}

/* NMI: counted (a burst is collapsed where it is injected) and requested. */
static void deliver_nmi(struct vcpu *v)
{
	__atomic_fetch_add(&v->nmi_pending, 1, __ATOMIC_SEQ_CST);
	vcpu_request(v, VCPU_REQ_NMI);
}

static void deliver_sipi(struct vcpu *v, u8 vector)
{
	/* Written before the request, whose atomic OR orders it for the vCPU. */
	__atomic_store_n(&v->sipi_vector, vector, __ATOMIC_RELAXED);
	vcpu_request(v, VCPU_REQ_SIPI);
}

/* ExtINT from the I/O APIC: the vCPU takes its vector from the 8259 with an
 * INTA cycle, as through LINT0 in ExtINT mode. */
static void deliver_extint(struct vcpu *v)
{
	v->apic->extint_pending = true;
	v->irq_check = true;
	vcpu_request(v, VCPU_REQ_EVENT);
}

/* Delivers a message to every vCPU it addresses (one for lowest priority).
 * Runs under the VM's lock; a target may be in guest mode on another CPU,
 * so only its local APIC model and its request/NMI/SIPI fields are written
 * here, never its backend state. True if a local APIC accepted a fixed or
 * lowest-priority interrupt: the I/O APIC's remote IRR, which only an EOI
 * clears, so the other modes (no vector in service, no EOI) answer false. */
static bool route(struct vm *vm, const struct apic_message *m)
{
	bool accepted = false;
	switch (m->delivery_mode) {
	case APIC_DM_LOWEST: {
		struct vcpu *v = lowest_priority_target(vm, m);
		return v && deliver_fixed(v, m);
	}
	case APIC_DM_INIT:
		if (m->level_trigger && !m->level_assert)
			return false; /* INIT level de-assert: a no-op since the Pentium 4 (SDM 11.6.1) */
		break;
	case APIC_DM_SMI:
		apic_log(vm, "SMI dropped: there is no system management mode", m->vector);
		return false;
	case APIC_DM_EXTINT:
		if (m->sender) {
			apic_log(vm, "ExtINT IPI dropped (not a valid ICR delivery mode)", m->vector);
			return false;
		}
		break;
	case APIC_DM_FIXED:
	case APIC_DM_NMI:
	case APIC_DM_STARTUP:
		break;
	default:
		apic_log(vm, "interrupt message with a reserved delivery mode dropped", m->delivery_mode);
		return false;
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (!addressed(m, v))
			continue;
		switch (m->delivery_mode) {
		case APIC_DM_FIXED:
			accepted |= deliver_fixed(v, m);
			break;
		case APIC_DM_NMI:
			deliver_nmi(v);
			break;
		case APIC_DM_INIT:
			vcpu_request(v, VCPU_REQ_INIT);
			break;
		case APIC_DM_STARTUP:
			deliver_sipi(v, m->vector);
			break;
		case APIC_DM_EXTINT:
			deliver_extint(v);
			break;
		}
	}
	return accepted;
}

static bool ioapic_deliver(void *ctx, u32 destination, bool logical, u8 vector, u8 delivery_mode,
			   bool level)
{
	struct apic_message m = {
		.destination = destination, .logical = logical, .shorthand = APIC_DEST_NONE,
		.vector = vector, .delivery_mode = delivery_mode, .level_trigger = level,
		.level_assert = true,
	};
	return route(ctx, &m);
}

void vm_send_msi(struct vm *vm, u32 apic_id, u8 vector, bool auto_eoi)
{
	struct apic_message m = {
		.destination = apic_id, .shorthand = APIC_DEST_NONE, .vector = vector,
		.delivery_mode = APIC_DM_FIXED, .level_assert = true, .auto_eoi = auto_eoi,
	};
	route(vm, &m);
}

static void lapic_send_ipi(void *ctx, const struct vlapic_ipi *ipi)
{
	struct vcpu_apic *a = ctx;
	struct apic_message m = {
		.sender = a->vcpu, .destination = ipi->destination, .logical = ipi->logical,
		.shorthand = ipi->shorthand, .vector = ipi->vector, .delivery_mode = ipi->delivery_mode,
		.level_trigger = ipi->level_trigger, .level_assert = ipi->level_assert,
	};
	route(a->vcpu->vm, &m);
}

/* The board's NMI line, on LINT1 of every local APIC (the MADT's Local APIC
 * NMI entry). A vCPU without an enabled local APIC has it as its NMI pin
 * (SDM 11.4.3); otherwise LVT1 decides: NMI, a fixed vector, or masked. */
void vm_nmi_line_pulse(struct vm *vm)
{
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (!v->apic || vlapic_mode(lapic_of(v)) == VLAPIC_DISABLED) {
			deliver_nmi(v);
			continue;
		}
		u32 lvt1 = lapic_of(v)->lvt[VLAPIC_LVT_LINT1];
		if (lvt1 & APIC_LVT_MASKED)
			continue;
		switch ((lvt1 & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT) {
		case APIC_DM_NMI:
			deliver_nmi(v);
			break;
		case APIC_DM_FIXED:
			vlapic_accept(lapic_of(v), lvt1 & APIC_LVT_VECTOR, false);
			break;
		default:
			break; /* SMI, INIT, ExtINT on LINT1: nothing is modelled */
		}
	}
}

/* The PC wiring of a GSI: ISA IRQs to the 8259 pair, and every GSI to the
 * I/O APIC pin of the same number except the PIT's, which the MADT moves
 * to pin 2 (pin 0 is the 8259's INTR output, unused here). */
void vm_set_irq(struct vm *vm, unsigned gsi, bool level)
{
	if (vm->pic && gsi < I8259_IRQ_COUNT)
		i8259_set_irq(vm->pic, gsi, level);
	if (vm->ioapic)
		ioapic_set_irq(vm->ioapic, gsi == ISA_IRQ_PIT ? IOAPIC_PIN_PIT : gsi, level);
}

/* --- local APIC callbacks --- */

static u64 lapic_now_ns(void *ctx)
{
	struct vcpu_apic *a = ctx;
	return vm_time_ns(a->vcpu->vm);
}

static u64 lapic_tsc_now(void *ctx)
{
	struct vcpu_apic *a = ctx;
	return rdtsc() + a->vcpu->tsc_offset;
}

static void lapic_arm(void *ctx, u64 deadline_ns)
{
	struct vcpu_apic *a = ctx;
	if (deadline_ns)
		vtimer_arm(a->vcpu->vm, &a->timer, deadline_ns);
	else
		vtimer_cancel(a->vcpu->vm, &a->timer);
}

static void lapic_timer_expired(void *opaque, u64 now_ns)
{
	struct vcpu_apic *a = opaque;
	vlapic_timer_fire(&a->lapic, now_ns);
}

/* A vector entered the vCPU's IRR: from its own instruction or timer, another
 * vCPU's IPI or the I/O APIC, on whichever CPU. irq_check tells the vCPU's
 * run loop to look; the request makes it do so before its next entry even
 * while it is in guest mode or halted on another CPU. */
static void lapic_requested(void *ctx)
{
	struct vcpu_apic *a = ctx;
	a->vcpu->irq_check = true;
	vcpu_request(a->vcpu, VCPU_REQ_EVENT);
}

static bool pic_reaches(struct vcpu *v);

/* The 8259's INT rose: every vCPU whose LINT0 passes it looks. */
static void pic_output_rose(void *opaque)
{
	struct vm *vm = opaque;
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (pic_reaches(v)) {
			v->irq_check = true;
			vcpu_request(v, VCPU_REQ_EVENT);
		}
	}
}

static void lapic_eoi_level(void *ctx, u8 vector)
{
	struct vcpu_apic *a = ctx;
	if (a->vcpu->vm->ioapic)
		ioapic_eoi(a->vcpu->vm->ioapic, vector);
}

/* --- MMIO --- */

/* Registers are 32 bits wide at 16-byte strides; a narrower read sees its
 * bytes of the register, other widths of write are ignored (SDM 11.4.1
 * calls them undefined). */
static void lapic_mmio_read(void *device, struct vcpu *v, u64 offset, unsigned size, u64 *value)
{
	u32 reg;
	unsigned shift = (offset % APIC_REGISTER_BYTES) * BITS_PER_BYTE;
	(void)device;
	vlapic_read(lapic_of(v), (u32)(offset - offset % APIC_REGISTER_BYTES), &reg);
	*value = (reg >> shift) & size_mask(MIN(size, APIC_REGISTER_BYTES - offset % APIC_REGISTER_BYTES));
}

static void lapic_mmio_write(void *device, struct vcpu *v, u64 offset, unsigned size, u64 value)
{
	(void)device;
	if (size != APIC_REGISTER_BYTES || offset % APIC_REGISTER_BYTES) {
		apic_log(v->vm, "local APIC write that is not 32 bits wide and aligned ignored", (u32)offset);
		return;
	}
	vlapic_write(lapic_of(v), (u32)offset, (u32)value);
}

static void ioapic_read(void *device, struct vcpu *v, u64 offset, unsigned size, u64 *value)
{
	(void)v;
	ioapic_mmio_read(device, offset, size, value);
}

static void ioapic_write(void *device, struct vcpu *v, u64 offset, unsigned size, u64 value)
{
	(void)v;
	ioapic_mmio_write(device, offset, size, value);
}

/* --- creation --- */

int vm_apic_create(struct vm *vm)
{
	static const struct ioapic_ops ops_template = { .deliver = ioapic_deliver };
	struct ioapic_ops *ops = vm_device_alloc(vm, sizeof(*ops));
	struct ioapic *ioapic = vm_device_alloc(vm, sizeof(*ioapic));
	if (!ops || !ioapic)
		return -1;
	*ops = ops_template;
	ops->ctx = vm;
	ioapic_init(ioapic, IOAPIC_GUEST_ID, ops);
	vm->ioapic = ioapic;
	if (vm->pic)
		i8259_set_notify(vm->pic, pic_output_rose, vm);
	if (io_bus_register(&vm->mmio, IOAPIC_DEFAULT_BASE, IOAPIC_MMIO_SIZE, "ioapic", ioapic,
			    ioapic_read, ioapic_write) ||
	    io_bus_register(&vm->mmio, LAPIC_DEFAULT_BASE, LAPIC_MMIO_SIZE, "lapic", NULL,
			    lapic_mmio_read, lapic_mmio_write))
		return -1;
	return 0;
}

/* What PC firmware leaves behind: the APIC software-enabled in virtual-wire
 * mode (the BSP's LINT0 takes the 8259's ExtINT, LINT1 is the NMI input),
 * so a guest that never touches the APIC still gets 8259 interrupts. The
 * APs' LINT0 stays masked, as KVM and Linux leave it: one CPU takes the
 * 8259's interrupts. */
static void firmware_setup(struct vlapic *lapic, bool bsp)
{
	u32 lint0 = APIC_DM_EXTINT << APIC_LVT_DM_SHIFT;
	vlapic_write(lapic, APIC_SPIV, APIC_SPIV_APIC_ENABLED | APIC_SPIV_VECTOR);
	vlapic_write(lapic, APIC_LVT0, bsp ? lint0 : lint0 | APIC_LVT_MASKED);
	vlapic_write(lapic, APIC_LVT1, APIC_DM_NMI << APIC_LVT_DM_SHIFT);
}

int vcpu_apic_create(struct vcpu *v)
{
	struct vcpu_apic *a = vm_device_alloc(v->vm, sizeof(*a));
	if (!a)
		return -1;
	a->vcpu = v;
	a->ops = (struct vlapic_ops){
		.now_ns = lapic_now_ns,
		.arm = lapic_arm,
		.eoi_level = lapic_eoi_level,
		.tsc_now = lapic_tsc_now,
		.send_ipi = lapic_send_ipi,
		.requested = lapic_requested,
		.ctx = a,
	};
	vtimer_init(v->vm, &a->timer, lapic_timer_expired, a);
	a->timer.owner = v; /* fired on the vCPU's own CPU */
	vlapic_init(&a->lapic, v->id, v->id == 0, &a->ops, LAPIC_DEFAULT_BUS_HZ, tsc_hz);
	firmware_setup(&a->lapic, v->id == 0);
	v->apic = a;
	v->irq_check = true;
	return 0;
}

void vcpu_apic_reset(struct vcpu *v)
{
	vlapic_reset_registers(lapic_of(v));
	v->apic->extint_pending = false;
	v->irq_check = true; /* the 8259 may still have something for the BSP */
}

/* --- interrupt selection --- */

/* Does the 8259's INTR reach this vCPU? Every LINT0 is wired to it and
 * passes ExtINT when unmasked in that mode; an I/O APIC ExtINT message asks
 * for one INTA too. Straight through (no local APIC, or one hardware-
 * disabled) only to the BSP: the uniprocessor PIC mode. */
static bool pic_reaches(struct vcpu *v)
{
	if (!v->apic)
		return v->id == 0;
	const struct vlapic *lapic = lapic_of(v);
	u32 lvt0 = lapic->lvt[VLAPIC_LVT_LINT0];
	if (vlapic_mode(lapic) == VLAPIC_DISABLED)
		return v->id == 0;
	return v->apic->extint_pending ||
	       (!(lvt0 & APIC_LVT_MASKED) && (lvt0 & APIC_LVT_DM_MASK) >> APIC_LVT_DM_SHIFT == APIC_DM_EXTINT);
}

/* The 8259's INT output is up. */
static bool pic_output(const struct vcpu *v)
{
	return v->vm->pic && i8259_has_interrupt(v->vm->pic);
}

bool vcpu_apic_has_interrupt(struct vcpu *v)
{
	bool output = pic_output(v);
	if (output && pic_reaches(v))
		return true;
	if (!v->apic)
		return false;
	if (!output)
		v->apic->extint_pending = false; /* the 8259 has nothing for it after all */
	if (!output && !lapic_of(v)->irr_words) {
		v->irq_check = false; /* until the next request */
		return false;
	}
	return vlapic_pending_vector(lapic_of(v)) >= 0;
}

u8 vcpu_apic_acknowledge(struct vcpu *v)
{
	if (pic_output(v) && pic_reaches(v)) {
		if (v->apic)
			v->apic->extint_pending = false;
		return (u8)i8259_acknowledge(v->vm->pic);
	}
	struct vlapic *lapic = v->apic ? lapic_of(v) : NULL;
	int vector = lapic ? vlapic_pending_vector(lapic) : -1;
	if (vector < 0) /* nothing after all: the spurious vector, ISR untouched (SDM 11.9) */
		return lapic ? (u8)(lapic->svr & APIC_SPIV_VECTOR) : (u8)APIC_SPIV_VECTOR;
	vlapic_acknowledge(lapic, (u8)vector);
	return (u8)vector;
}

/* --- MSRs --- */

static bool is_apic_msr(u32 msr)
{
	return msr == MSR_IA32_APIC_BASE || msr == MSR_IA32_TSC_DEADLINE ||
	       (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST);
}

int vcpu_apic_msr_read(struct vcpu *v, u32 msr, u64 *value)
{
	if (!is_apic_msr(msr) || !v->apic)
		return 1;
	return vlapic_msr_read(lapic_of(v), msr, value);
}

int vcpu_apic_msr_write(struct vcpu *v, u32 msr, u64 value)
{
	if (!is_apic_msr(msr) || !v->apic)
		return 1;
	u64 old_base = lapic_of(v)->apic_base & APIC_BASE_ADDR_MASK;
	int r = vlapic_msr_write(lapic_of(v), msr, value);
	if (!r && msr == MSR_IA32_APIC_BASE && (value & APIC_BASE_ADDR_MASK) != old_base)
		apic_log(v->vm, "the local APIC page was moved; only 0xfee00000 is served",
			 (u32)(value & APIC_BASE_ADDR_MASK));
	return r;
}

/* --- CR8 --- */

#define CR8_TPR_SHIFT 4
#define CR8_VALID 0xfULL

u64 vcpu_apic_cr8(struct vcpu *v)
{
	return v->apic ? lapic_of(v)->tpr >> CR8_TPR_SHIFT : 0;
}

int vcpu_apic_set_cr8(struct vcpu *v, u64 value)
{
	if (value & ~CR8_VALID)
		return -1;
	if (v->apic)
		lapic_of(v)->tpr = (u32)(value << CR8_TPR_SHIFT);
	return 0;
}
