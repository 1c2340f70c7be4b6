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

/* A message to the local APICs, from the I/O APIC or an IPI. Fixed and
 * lowest-priority go to every matching APIC (lowest-priority arbitration
 * is moot with one vCPU); NMI/INIT/SIPI/SMI are not delivered yet. */
static bool route(struct vm *vm, const struct vcpu *sender, u32 destination, bool logical, u8 vector,
		  u8 delivery_mode, bool level, bool all_but_sender)
{
	bool accepted = false;
	if (delivery_mode != APIC_DM_FIXED && delivery_mode != APIC_DM_LOWEST) {
		apic_log(vm, "interrupt message with an unsupported delivery mode dropped", delivery_mode);
		return false;
	}
	for (unsigned i = 0; i < vm->vcpu_count; i++) {
		struct vcpu *v = vm->vcpu[i];
		if (!v->apic)
			continue;
		/* The I/O APIC's 8-bit destination 0xff stays a broadcast for an
		 * APIC in x2APIC mode (there is no interrupt remapping). */
		u32 d = !sender && destination == APIC_XAPIC_BROADCAST &&
				vlapic_mode(lapic_of(v)) == VLAPIC_X2APIC ? APIC_X2APIC_BROADCAST : destination;
		bool target = all_but_sender ? v != sender : vlapic_matches(lapic_of(v), d, logical);
		if (target && vlapic_accept(lapic_of(v), vector, level))
			accepted = true;
	}
	return accepted;
}

static bool ioapic_deliver(void *ctx, u32 destination, bool logical, u8 vector, u8 delivery_mode,
			   bool level)
{
	return route(ctx, NULL, destination, logical, vector, delivery_mode, level, false);
}

static void lapic_send_ipi(void *ctx, const struct vlapic_ipi *ipi)
{
	struct vcpu_apic *a = ctx;
	route(a->vcpu->vm, a->vcpu, ipi->destination, ipi->logical, ipi->vector, ipi->delivery_mode,
	      ipi->level_trigger, ipi->shorthand != APIC_DEST_NONE);
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

static void lapic_requested(void *ctx)
{
	struct vcpu_apic *a = ctx;
	vcpu_request(a->vcpu, VCPU_REQ_EVENT);
}

/* The 8259's INT rose: only the BSP's LINT0 is wired to it. */
static void pic_output_rose(void *opaque)
{
	struct vm *vm = opaque;
	if (vm->vcpu_count)
		vcpu_request(vm->vcpu[0], VCPU_REQ_EVENT);
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
 * mode (LINT0 takes the 8259's ExtINT, LINT1 is the NMI input), so a guest
 * that never touches the APIC still gets 8259 interrupts. */
static void firmware_setup(struct vlapic *lapic)
{
	vlapic_write(lapic, APIC_SPIV, APIC_SPIV_APIC_ENABLED | APIC_SPIV_VECTOR);
	vlapic_write(lapic, APIC_LVT0, APIC_DM_EXTINT << APIC_LVT_DM_SHIFT);
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
	firmware_setup(&a->lapic);
	v->apic = a;
	v->irq_check = true;
	return 0;
}

/* --- interrupt selection --- */

/* Does the 8259's INTR reach this vCPU? Only the BSP's LINT0 is wired; it
 * passes ExtINT when unmasked in that mode, or straight through when the
 * local APIC is hardware-disabled. */
static bool pic_reaches(struct vcpu *v)
{
	if (v->id != 0)
		return false;
	if (!v->apic)
		return true;
	const struct vlapic *lapic = lapic_of(v);
	u32 lvt0 = lapic->lvt[VLAPIC_LVT_LINT0];
	return vlapic_mode(lapic) == VLAPIC_DISABLED ||
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
	if (!output && !lapic_of(v)->irr_words) {
		v->irq_check = false; /* until the next request */
		return false;
	}
	return vlapic_pending_vector(lapic_of(v)) >= 0;
}

u8 vcpu_apic_acknowledge(struct vcpu *v)
{
	if (pic_output(v) && pic_reaches(v))
		return (u8)i8259_acknowledge(v->vm->pic);
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
