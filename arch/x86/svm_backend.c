/*
 * The AMD-V backend: VMCB set-up, VMRUN, and exit decoding into the
 * normalized struct vm_exit (AMD APM Vol. 2 chapter 15).
 */
#include "arch/x86/svm_vmcb.h"
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/ept_npt.h"
#include "arch/x86/fpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/vcpu_common.h"
#include "lib/print.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/heap.h"
#include "mm/phys.h"
#include "vmm/backend.h"
#include "vmm/vm.h"

#define PAT_POWER_ON_VALUE 0x0007040600070406ULL
#define MSRPM_BITS_PER_MSR 2
#define MSRPM_RANGE_BYTES 0x800
#define SEG_ATTRIB_HIGH_SHIFT 4 /* descriptor bits 52-55 sit in attrib bits 8-11 */

/* VMCB clean bits (APM 15.15.3) */
#define CLEAN_INTERCEPTS BIT(0)
#define CLEAN_IOPM BIT(1)
#define CLEAN_ASID BIT(2)
#define CLEAN_TPR BIT(3)
#define CLEAN_NP BIT(4)
#define CLEAN_CRX BIT(5)
#define CLEAN_DRX BIT(6)
#define CLEAN_DT BIT(7)
#define CLEAN_SEG BIT(8)
#define CLEAN_CR2 BIT(9)
#define CLEAN_ALL_KNOWN 0x3ffu

struct svm_vm {
	struct slpt npt;
	u8 *iopm;
	u8 *msrpm;
};

struct svm_vcpu {
	struct vmcb *vmcb;
	u64 vmcb_pa;
	u32 asid;              /* this CPU's tag for the vCPU's guest TLB entries */
	u64 asid_generation;   /* of its CPU's ASID space when it got it (0: none) */
	int cpu;               /* host CPU it last ran on (-1: none): clean bits are per CPU */
	bool flush_tlb;
	/* Without vNMI the VMCB does not show NMI blocking: an injected NMI
	 * blocks the next until the guest's IRET (intercepted) has run. */
	bool nmi_masked;
	bool iret_seen;
	u64 iret_rip;
};

void svm_enter_guest(u64 vmcb_pa, u64 *gprs, u64 host_vmcb_pa);
/* arch/x86/guest_gprs.h (used by both entry stubs) hard-codes this order. */
_Static_assert(GPR_RAX == 0 && GPR_RCX == 1 && GPR_RDX == 2 && GPR_RBX == 3 && GPR_RBP == 5 &&
	       GPR_RSI == 6 && GPR_RDI == 7 && GPR_R8 == 8 && GPR_R15 == 15, "guest_gprs.h layout");

/*
 * ASIDs are handed out per CPU, as KVM does: a vCPU takes the next free
 * one of the CPU it runs on; when they run out, the CPU flushes its whole
 * TLB and starts a new generation, and every vCPU there takes a new ASID
 * at its next entry. Any number of vCPUs can share a CPU with 15 ASIDs
 * (QEMU), and no pool is shared between CPUs.
 */
struct asid_space {
	u32 next;
	u64 generation;
};
static struct asid_space asid_spaces[MAX_CPUS];

static struct svm_vcpu *svm(struct vcpu *v) { return v->arch; }
static struct svm_vm *svm_vm_of(struct vm *vm) { return vm->arch; }

static int svm_cpu_enable(char *err, size_t len)
{
	struct percpu *cpu = this_cpu();
	if (cpu->virt_enabled)
		return 0;
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	cpu->svm_host_save_pa = frame_alloc();
	cpu->svm_host_vmcb_pa = frame_alloc();
	if (!cpu->svm_host_save_pa || !cpu->svm_host_vmcb_pa) {
		ksnprintf(err, len, "svm: out of memory for the host save area");
		return -1;
	}
	wrmsr(MSR_AMD_VM_HSAVE_PA, cpu->svm_host_save_pa);
	/* The host's FS/GS/TR/LDTR/SYSCALL state never changes: save it once. */
	__asm__ volatile("vmsave %%rax" ::"a"(cpu->svm_host_vmcb_pa) : "memory");
	fpu_cpu_init();
	cpu->virt_enabled = true;
	return 0;
}

/* Once, on the boot CPU. */
int svm_global_setup(char *err, size_t len)
{
	for (unsigned i = 0; i < MAX_CPUS; i++)
		asid_spaces[i] = (struct asid_space){ .next = virt_caps.svm.asid_count, .generation = 0 };
	if (virt_caps.svm.asid_count < 2) {
		ksnprintf(err, len, "svm: the CPU offers no ASID for guests");
		return -1;
	}
	return 0;
}

static u64 npt_alloc(void *ctx) { return frame_alloc(); }
static void npt_free(void *ctx, u64 pa) { frame_free(pa, 1); }
static void *npt_ptr(void *ctx, u64 pa) { return phys_to_virt(pa); }

static void msrpm_passthrough(u8 *msrpm, u32 msr)
{
	u32 base;
	if (msr < MSR_LOW_RANGE_BASE + MSR_RANGE_SIZE)
		base = 0;
	else if (msr >= MSR_HIGH_RANGE_BASE && msr < MSR_HIGH_RANGE_BASE + MSR_RANGE_SIZE)
		base = MSRPM_RANGE_BYTES, msr -= MSR_HIGH_RANGE_BASE;
	else
		return;
	u32 bit = msr * MSRPM_BITS_PER_MSR;
	msrpm[base + bit / 8] &= ~(3u << (bit % 8)); /* read and write bits */
}

static int svm_vm_create(struct vm *vm, char *err, size_t len)
{
	struct svm_vm *s = kzalloc(sizeof(*s));
	if (!s)
		goto nomem;
	vm->arch = s;
	s->iopm = phys_to_virt(frame_alloc_contig(SVM_IOPM_SIZE / PAGE_SIZE, PAGE_SIZE));
	s->msrpm = phys_to_virt(frame_alloc_contig(SVM_MSRPM_SIZE / PAGE_SIZE, PAGE_SIZE));
	if (!s->iopm || !s->msrpm)
		goto nomem;
	memset(s->iopm, 0xff, SVM_IOPM_SIZE);
	memset(s->msrpm, 0xff, SVM_MSRPM_SIZE);
	for (unsigned i = 0; i < msr_passthrough_count; i++)
		msrpm_passthrough(s->msrpm, msr_passthrough[i]);

	s->npt.format = npt_format;
	s->npt.format.page_1g = cpu_features.page_1g;
	s->npt.alloc_page = npt_alloc;
	s->npt.free_page = npt_free;
	s->npt.phys_to_ptr = npt_ptr;
	if (slpt_init(&s->npt))
		goto nomem;
	/* Guest RAM is mapped on first touch (svm_map_ram). */
	return 0;
nomem:
	ksnprintf(err, len, "svm: out of memory creating VM %s", vm->name);
	return -1;
}

static int svm_map_ram(struct vm *vm, u64 gpa, u64 size)
{
	/* Not-present -> present needs no TLB flush. */
	return slpt_map_regions(&svm_vm_of(vm)->npt, &vm->mem, gpa, size);
}

static void svm_vm_destroy(struct vm *vm)
{
	struct svm_vm *s = svm_vm_of(vm);
	if (!s)
		return;
	slpt_destroy(&s->npt);
	if (s->iopm)
		frame_free(virt_to_phys(s->iopm), SVM_IOPM_SIZE / PAGE_SIZE);
	if (s->msrpm)
		frame_free(virt_to_phys(s->msrpm), SVM_MSRPM_SIZE / PAGE_SIZE);
	kfree(s);
	vm->arch = NULL;
}

static void set_intercepts(struct vmcb_control *c)
{
	/* #AC and #DB loops during event delivery could hang the CPU for good
	 * (CVE-2015-5307, CVE-2015-8104): intercept and reinject them. #GP is
	 * intercepted because VMRUN/VMLOAD/VMSAVE check rAX (and fault) before
	 * their intercepts on real parts; vmm/ turns those into #UD. */
	c->intercept_exceptions = BIT(VEC_DB) | BIT(VEC_GP) | BIT(VEC_AC);
	/* CR0 and CR4 writes are checked against the architectural rules
	 * (vmm/cr_rules.c): reserved bits such as VMXE, or CR0.NW without CD,
	 * must #GP even where the CPU underneath lets them into the VMCB (QEMU),
	 * where the next VMRUN would fail. Shadow paging will need them too. */
	c->intercept_cr_write = SVM_INTERCEPT_CR0 | SVM_INTERCEPT_CR4;
	/* CR8 is the local APIC's TPR, which is Presidio's model: reads and
	 * writes go to it (V_INTR_MASKING already keeps them off the host's). */
	c->intercept_cr_read = SVM_INTERCEPT_CR8;
	c->intercept_cr_write |= SVM_INTERCEPT_CR8;
	/* RDPMC, RDTSCP and RDPRU would read host counters, the host's TSC_AUX
	 * and APERF/MPERF: none is offered (#GP / #UD), as under VT-x. A
	 * whole-cache flush would slow every VM: WBINVD is skipped. */
	c->intercept_misc1 = SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI | SVM_INTERCEPT_SMI |
			     SVM_INTERCEPT_INIT | SVM_INTERCEPT_CPUID | SVM_INTERCEPT_RSM |
			     SVM_INTERCEPT_RDPMC |
			     SVM_INTERCEPT_INVD | SVM_INTERCEPT_HLT | SVM_INTERCEPT_INVLPGA |
			     SVM_INTERCEPT_IOIO_PROT | SVM_INTERCEPT_MSR_PROT |
			     SVM_INTERCEPT_SHUTDOWN;
	c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
			     SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
			     SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_MWAIT |
			     SVM_INTERCEPT_XSETBV | SVM_INTERCEPT_RDTSCP | SVM_INTERCEPT_RDPRU |
			     SVM_INTERCEPT_WBINVD;
}

static int svm_vcpu_create(struct vcpu *v, char *err, size_t len)
{
	struct svm_vcpu *s = kzalloc(sizeof(*s));
	struct svm_vm *svmvm = svm_vm_of(v->vm);
	if (!s || !(s->vmcb_pa = frame_alloc())) {
		kfree(s);
		ksnprintf(err, len, "svm: out of memory for a VMCB");
		return -1;
	}
	v->arch = s;
	s->cpu = -1;
	s->vmcb = phys_to_virt(s->vmcb_pa);

	if (vcpu_common_create(v)) {
		ksnprintf(err, len, "svm: out of memory for the FPU state");
		return -1;
	}
	struct vmcb_control *c = &s->vmcb->control;
	set_intercepts(c);
	c->iopm_base_pa = virt_to_phys(svmvm->iopm);
	c->msrpm_base_pa = virt_to_phys(svmvm->msrpm);
	/* The ASID is chosen at the first entry (assign_asid). */
	c->virtual_interrupt = SVM_V_INTR_MASKING;
	c->nested_control = SVM_NESTED_PAGING_ENABLE;
	c->nested_cr3 = svmvm->npt.root;
	c->tsc_offset = v->tsc_offset;
	s->vmcb->save.g_pat = PAT_POWER_ON_VALUE;
	return 0;
}

/* Nothing of a VMCB stays in a CPU once #VMEXIT is done but the clean-bit
 * cache, which svm_vcpu_load() invalidates on a change of CPU. */
static void svm_vcpu_release(struct vcpu *v)
{
	svm(v)->cpu = -1;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
	struct svm_vcpu *s = svm(v);
	if (!s)
		return;
	frame_free(s->vmcb_pa, 1);
	vcpu_common_destroy(v);
	kfree(s);
	v->arch = NULL;
}

static void segment_to_vmcb(const struct segment *in, struct vmcb_segment *out)
{
	out->selector = in->selector;
	out->base = in->base;
	out->limit = in->limit;
	/* An unusable segment keeps its attributes (SS.DPL is the CPL); it is
	 * not present, which is all SVM looks at. */
	out->attrib = (in->type & 0xf) | (in->s << 4) | ((in->dpl & 3) << 5) |
		      ((in->present && !in->unusable) << 7) | (in->avl << 8) | (in->l << 9) |
		      (in->db << 10) | (in->g << 11);
}

static void segment_from_vmcb(const struct vmcb_segment *in, struct segment *out)
{
	out->selector = in->selector;
	out->base = in->base;
	out->limit = in->limit;
	out->type = in->attrib & 0xf;
	out->s = in->attrib & BIT(4);
	out->dpl = (in->attrib >> 5) & 3;
	out->present = in->attrib & BIT(7);
	out->avl = in->attrib & BIT(8);
	out->l = in->attrib & BIT(9);
	out->db = in->attrib & BIT(10);
	out->g = in->attrib & BIT(11);
	out->unusable = !out->present;
}

static void svm_get_sregs(struct vcpu *v, struct vcpu_sregs *r)
{
	struct vmcb_save *s = &svm(v)->vmcb->save;
	struct vmcb_segment *segs[SREG_COUNT] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldtr, &s->tr };
	for (int i = 0; i < SREG_COUNT; i++)
		segment_from_vmcb(segs[i], &r->seg[i]);
	r->gdtr = (struct descriptor_table){ s->gdtr.base, (u16)s->gdtr.limit };
	r->idtr = (struct descriptor_table){ s->idtr.base, (u16)s->idtr.limit };
	r->cr0 = s->cr0;
	r->cr2 = s->cr2;
	r->cr3 = s->cr3;
	r->cr4 = s->cr4;
	r->efer = s->efer & ~EFER_SVME; /* the guest never sees SVME */
	r->dr6 = s->dr6;
	r->dr7 = s->dr7;
	r->pat = s->g_pat;
}

#define SVM_ATTRIB_L BIT(9)
#define SVM_ATTRIB_DB BIT(10)

static void svm_get_control(struct vcpu *v, struct vcpu_control *c)
{
	const struct vmcb_save *s = &svm(v)->vmcb->save;
	c->cr0 = s->cr0;
	c->cr3 = s->cr3;
	c->cr4 = s->cr4;
	c->efer = s->efer & ~EFER_SVME;
	c->segment_base[SEG_ES] = s->es.base;
	c->segment_base[SEG_CS] = s->cs.base;
	c->segment_base[SEG_SS] = s->ss.base;
	c->segment_base[SEG_DS] = s->ds.base;
	c->segment_base[SEG_FS] = s->fs.base;
	c->segment_base[SEG_GS] = s->gs.base;
	c->cs_long = s->cs.attrib & SVM_ATTRIB_L;
	c->cs_default32 = s->cs.attrib & SVM_ATTRIB_DB;
	c->cpl = s->cpl;
}

static void svm_set_sregs(struct vcpu *v, const struct vcpu_sregs *r)
{
	struct vmcb *vmcb = svm(v)->vmcb;
	struct vmcb_save *s = &vmcb->save;
	struct vmcb_segment *segs[SREG_COUNT] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs, &s->ldtr, &s->tr };
	for (int i = 0; i < SREG_COUNT; i++)
		segment_to_vmcb(&r->seg[i], segs[i]);
	s->gdtr.base = r->gdtr.base;
	s->gdtr.limit = r->gdtr.limit;
	s->idtr.base = r->idtr.base;
	s->idtr.limit = r->idtr.limit;
	/* The CPL is SS.DPL (as KVM has it): CS.DPL differs for conforming code. */
	s->cpl = r->seg[SREG_SS].dpl;
	s->cr0 = r->cr0;
	s->cr2 = r->cr2;
	s->cr3 = r->cr3;
	s->cr4 = r->cr4;
	s->efer = r->efer | EFER_SVME;
	s->dr7 = r->dr7;
	s->dr6 = r->dr6;
	s->g_pat = r->pat ? r->pat : PAT_POWER_ON_VALUE;
	vmcb->control.clean_bits = 0;
}

static int svm_set_efer(struct vcpu *v, u64 efer)
{
	struct vmcb *vmcb = svm(v)->vmcb;
	/* LMA is the CPU's to set: it follows LME once paging is on. */
	efer &= ~EFER_LMA;
	if ((efer & EFER_LME) && (vmcb->save.cr0 & CR0_PG))
		efer |= EFER_LMA;
	vmcb->save.efer = efer | EFER_SVME;
	vmcb->control.clean_bits &= ~CLEAN_CRX;
	return 0;
}

static int svm_set_cr(struct vcpu *v, unsigned cr, u64 value)
{
	struct vmcb *vmcb = svm(v)->vmcb;
	switch (cr) {
	case 0:
		vmcb->save.cr0 = value;
		return svm_set_efer(v, vmcb->save.efer & ~EFER_SVME);
	case 3:
		vmcb->save.cr3 = value;
		break;
	case 4:
		vmcb->save.cr4 = value;
		break;
	default:
		return -1;
	}
	vmcb->control.clean_bits &= ~CLEAN_CRX;
	return 0;
}

static u64 event_bits(enum event_type type, u8 vector, bool has_error, u32 error)
{
	static const u64 types[] = {
		[EVENT_EXTERNAL_INTERRUPT] = SVM_EVENT_TYPE_INTR,
		[EVENT_NMI] = SVM_EVENT_TYPE_NMI,
		[EVENT_EXCEPTION] = SVM_EVENT_TYPE_EXCEPTION,
		[EVENT_SOFTWARE_INTERRUPT] = SVM_EVENT_TYPE_SOFTWARE_INT,
	};
	u64 e = vector | (types[type] << SVM_EVENT_TYPE_SHIFT) | SVM_EVENT_VALID;
	if (has_error)
		e |= SVM_EVENT_ERROR_CODE_VALID | ((u64)error << SVM_EVENT_ERROR_CODE_SHIFT);
	return e;
}

static void svm_inject_event(struct vcpu *v, enum event_type type, u8 vector, bool has_error, u32 error)
{
	struct svm_vcpu *s = svm(v);
	s->vmcb->control.event_inject = event_bits(type, vector, has_error, error);
	if (type == EVENT_NMI) {
		s->nmi_masked = true;
		s->iret_seen = false;
		s->vmcb->control.intercept_misc1 |= SVM_INTERCEPT_IRET;
		s->vmcb->control.clean_bits &= ~CLEAN_INTERCEPTS;
	}
}

/* The IRET that ends the NMI handler exited before it ran: NMIs are
 * unblocked once RIP has moved past it. */
static void nmi_iret_intercepted(struct svm_vcpu *s, u64 rip)
{
	s->iret_seen = true;
	s->iret_rip = rip;
	s->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IRET;
	s->vmcb->control.clean_bits &= ~CLEAN_INTERCEPTS;
}

static bool svm_nmi_allowed(struct vcpu *v)
{
	struct svm_vcpu *s = svm(v);
	if (s->nmi_masked && s->iret_seen && v->regs.rip != s->iret_rip)
		s->nmi_masked = false;
	return !s->nmi_masked && !(s->vmcb->control.interrupt_state & SVM_INTERRUPT_SHADOW) &&
	       !(s->vmcb->control.event_inject & SVM_EVENT_VALID);
}

/* No NMI-window intercept without vNMI: a blocked NMI goes in at the first
 * entry after the guest's IRET has run (the IRET intercept brings it back). */
static void svm_set_nmi_window(struct vcpu *v, bool enable)
{
	(void)v, (void)enable;
}

static bool svm_interrupt_allowed(struct vcpu *v)
{
	const struct vmcb *vmcb = svm(v)->vmcb;
	return (v->regs.rflags & RFLAGS_IF) && !(vmcb->control.interrupt_state & SVM_INTERRUPT_SHADOW) &&
	       !(vmcb->control.event_inject & SVM_EVENT_VALID);
}

static void svm_clear_interrupt_shadow(struct vcpu *v)
{
	svm(v)->vmcb->control.interrupt_state &= ~SVM_INTERRUPT_SHADOW;
}

static void svm_set_interrupt_window(struct vcpu *v, bool enable)
{
	struct vmcb_control *c = &svm(v)->vmcb->control;
	/* A virtual interrupt with V_IGN_TPR exits (VINTR) as soon as the guest
	 * could take an interrupt; we never let it be delivered itself. */
	if (enable) {
		c->virtual_interrupt |= SVM_V_IRQ | SVM_V_IGN_TPR;
		c->intercept_misc1 |= SVM_INTERCEPT_VINTR;
	} else {
		c->virtual_interrupt &= ~(SVM_V_IRQ | SVM_V_IGN_TPR);
		c->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
	}
	c->clean_bits &= ~(CLEAN_TPR | CLEAN_INTERCEPTS);
}

static void svm_flush_guest_tlb(struct vcpu *v) { svm(v)->flush_tlb = true; }

static void decode_ioio(const struct vmcb *vmcb, struct vm_exit *e)
{
	u64 info = vmcb->control.exit_info1;
	e->reason = EXIT_IO;
	e->io.port = info >> SVM_IOIO_PORT_SHIFT;
	e->io.in = info & SVM_IOIO_TYPE_IN;
	e->io.string = info & SVM_IOIO_STRING;
	e->io.rep = info & SVM_IOIO_REP;
	e->io.size = (info & SVM_IOIO_SIZE32) ? 4 : (info & SVM_IOIO_SIZE16) ? 2 : 1;
	/* Some emulators leave the address-size bits clear and the segment is
	 * only reported with decode assists: 0 / SEG_NONE make vmm/ decode. */
	e->io.address_size = (info & SVM_IOIO_ADDR64) ? 8 : (info & SVM_IOIO_ADDR32) ? 4
			   : (info & SVM_IOIO_ADDR16) ? 2 : 0;
	e->io.segment = virt_caps.svm.decode_assists
		? (enum x86_segment)((info >> SVM_IOIO_SEGMENT_SHIFT) & SVM_IOIO_SEGMENT_MASK) : SEG_NONE;
	/* EXITINFO2 holds the next RIP for IOIO even without NRIP-save. */
	e->instruction_length = vmcb->control.exit_info2 - vmcb->save.rip;
}

static void decode_virt_instruction(u64 code, struct vm_exit *e)
{
	static const char *const names[] = {
		[SVM_EXIT_VMRUN - SVM_EXIT_VMRUN] = "VMRUN", [SVM_EXIT_VMMCALL - SVM_EXIT_VMRUN] = "VMMCALL",
		[SVM_EXIT_VMLOAD - SVM_EXIT_VMRUN] = "VMLOAD", [SVM_EXIT_VMSAVE - SVM_EXIT_VMRUN] = "VMSAVE",
		[SVM_EXIT_STGI - SVM_EXIT_VMRUN] = "STGI", [SVM_EXIT_CLGI - SVM_EXIT_VMRUN] = "CLGI",
		[SVM_EXIT_SKINIT - SVM_EXIT_VMRUN] = "SKINIT",
	};
	e->reason = EXIT_VIRT_INSTRUCTION;
	e->virt_instruction.what = names[code - SVM_EXIT_VMRUN] ? names[code - SVM_EXIT_VMRUN] : "SVM instruction";
}

static void decode_exit(struct vcpu *v, struct vm_exit *e)
{
	const struct vmcb *vmcb = svm(v)->vmcb;
	u64 code = vmcb->control.exit_code;
	memset(e, 0, sizeof(*e));
	e->hardware_reason = code;
	if (virt_caps.svm.nrip_save && vmcb->control.next_rip > vmcb->save.rip)
		e->instruction_length = vmcb->control.next_rip - vmcb->save.rip;
	switch (code) {
	case SVM_EXIT_IOIO: decode_ioio(vmcb, e); break;
	case SVM_EXIT_WRITE_CR0:
	case SVM_EXIT_WRITE_CR4:
	case SVM_EXIT_READ_CR8:
	case SVM_EXIT_WRITE_CR8:
		e->reason = EXIT_CR_ACCESS;
		e->cr.cr = (u8)(code - (code >= SVM_EXIT_WRITE_CR0 ? SVM_EXIT_WRITE_CR0 : SVM_EXIT_READ_CR0));
		e->cr.type = code >= SVM_EXIT_WRITE_CR0 ? CR_MOV_TO : CR_MOV_FROM;
		e->cr.gpr = (vmcb->control.exit_info1 & SVM_CR_EXIT_GPR_VALID)
			? (vmcb->control.exit_info1 & SVM_CR_EXIT_GPR_MASK) : CR_GPR_UNKNOWN;
		break;
	case SVM_EXIT_NPF:
		e->reason = EXIT_MMIO;
		e->mmio.gpa = vmcb->control.exit_info2;
		e->mmio.write = vmcb->control.exit_info1 & SVM_NPF_WRITE;
		e->mmio.fetch = vmcb->control.exit_info1 & SVM_NPF_FETCH;
		break;
	case SVM_EXIT_CPUID: e->reason = EXIT_CPUID; break;
	case SVM_EXIT_HLT: e->reason = EXIT_HLT; break;
	case SVM_EXIT_MSR:
		e->reason = vmcb->control.exit_info1 ? EXIT_MSR_WRITE : EXIT_MSR_READ;
		e->msr.index = (u32)v->regs.gpr[GPR_RCX];
		break;
	case SVM_EXIT_VINTR: e->reason = EXIT_INTERRUPT_WINDOW; break;
	case SVM_EXIT_INTR: e->reason = EXIT_EXTERNAL_INTERRUPT; break;
	case SVM_EXIT_NMI: e->reason = EXIT_NMI; break;
	case SVM_EXIT_IRET:
		nmi_iret_intercepted(svm(v), v->regs.rip);
		e->reason = EXIT_INTERRUPT_WINDOW;
		break;
	case SVM_EXIT_INIT: e->reason = EXIT_INIT; break;
	case SVM_EXIT_SHUTDOWN: e->reason = EXIT_TRIPLE_FAULT; break;
	case SVM_EXIT_INVD: e->reason = EXIT_INVD; break;
	case SVM_EXIT_PAUSE: e->reason = EXIT_PAUSE; break;
	case SVM_EXIT_XSETBV: e->reason = EXIT_XSETBV; break;
	case SVM_EXIT_VMMCALL: e->reason = EXIT_HYPERCALL; break;
	case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE: case SVM_EXIT_STGI:
	case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT:
		decode_virt_instruction(code, e);
		break;
	case SVM_EXIT_INVLPGA:
		e->reason = EXIT_VIRT_INSTRUCTION;
		e->virt_instruction.what = "INVLPGA";
		break;
	case SVM_EXIT_MONITOR: exit_unavailable_instruction(e, "MONITOR"); break;
	case SVM_EXIT_MWAIT: case SVM_EXIT_MWAIT_ARMED: exit_unavailable_instruction(e, "MWAIT"); break;
	case SVM_EXIT_RSM: exit_unavailable_instruction(e, "RSM outside SMM"); break;
	case SVM_EXIT_RDTSCP: exit_unavailable_instruction(e, "RDTSCP"); break;
	case SVM_EXIT_RDPRU: exit_unavailable_instruction(e, "RDPRU"); break;
	case SVM_EXIT_RDPMC: e->reason = EXIT_RDPMC; break;
	case SVM_EXIT_WBINVD: e->reason = EXIT_WBINVD; break;
	case SVM_EXIT_SMI: e->reason = EXIT_SMI; break;
	case SVM_EXIT_INVALID:
		e->reason = EXIT_ENTRY_FAILED;
		e->failure.reason = "VMRUN refused the guest state (VMEXIT_INVALID)";
		e->failure.code = code;
		break;
	default:
		if (code >= SVM_EXIT_EXCEPTION_BASE && code < SVM_EXIT_EXCEPTION_BASE + 32) {
			e->reason = EXIT_EXCEPTION;
			e->exception.vector = code - SVM_EXIT_EXCEPTION_BASE;
			e->exception.error_code = vmcb->control.exit_info1;
		} else {
			e->reason = EXIT_UNKNOWN;
		}
	}
}

/*
 * An event cut short by this exit (e.g. a nested page fault while pushing
 * the frame) must be delivered again. INTn, INT3 and INTO are not: RIP
 * still points at their instruction, and injecting them would return to it
 * (an SVM software interrupt pushes the VMCB's RIP without NRIP-save), so
 * the instruction simply runs again, as KVM lets INT3/INTO do.
 */
static u64 reinjection(const struct vmcb *vmcb)
{
	u64 info = vmcb->control.exit_int_info;
	u8 type = (info >> SVM_EVENT_TYPE_SHIFT) & SVM_EVENT_TYPE_MASK, vector = info & SVM_EVENT_VECTOR_MASK;
	if (!(info & SVM_EVENT_VALID) || type == SVM_EVENT_TYPE_SOFTWARE_INT ||
	    (type == SVM_EVENT_TYPE_EXCEPTION && (vector == VEC_BP || vector == VEC_OF)))
		return 0;
	return info;
}

/* A fresh ASID on this CPU when the vCPU's is from an older generation;
 * its translations of other vCPUs are flushed on the way. */
static void assign_asid(struct svm_vcpu *s)
{
	struct asid_space *a = &asid_spaces[this_cpu()->index];
	if (s->asid_generation == a->generation && a->generation)
		return;
	struct vmcb_control *c = &s->vmcb->control;
	if (a->next >= virt_caps.svm.asid_count) {
		a->generation++;
		a->next = 1;
		c->tlb_control = SVM_TLB_CONTROL_FLUSH_ALL; /* every ASID of the old generation */
	} else if (c->tlb_control != SVM_TLB_CONTROL_FLUSH_ALL) {
		c->tlb_control = virt_caps.svm.flush_by_asid ? SVM_TLB_CONTROL_FLUSH_ASID : SVM_TLB_CONTROL_FLUSH_ALL;
	}
	s->asid = a->next++;
	s->asid_generation = a->generation;
	c->guest_asid = s->asid;
	c->clean_bits &= ~CLEAN_ASID;
}

static void svm_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct svm_vcpu *s = svm(v);
	struct vmcb *vmcb = s->vmcb;
	vmcb->save.rip = v->regs.rip;
	vmcb->save.rflags = v->regs.rflags;
	vmcb->save.rsp = v->regs.gpr[GPR_RSP];
	vmcb->save.rax = v->regs.gpr[GPR_RAX];
	vmcb->control.tsc_offset = v->tsc_offset;
	if (s->flush_tlb) {
		vmcb->control.tlb_control = virt_caps.svm.flush_by_asid ? SVM_TLB_CONTROL_FLUSH_ASID
									 : SVM_TLB_CONTROL_FLUSH_ALL;
		s->flush_tlb = false;
	}
	assign_asid(s);
	if (!virt_caps.svm.vmcb_clean)
		vmcb->control.clean_bits = 0;

	svm_enter_guest(s->vmcb_pa, v->regs.gpr, this_cpu()->svm_host_vmcb_pa);

	vmcb->control.tlb_control = SVM_TLB_CONTROL_NOTHING;
	if (virt_caps.svm.vmcb_clean)
		vmcb->control.clean_bits = CLEAN_ALL_KNOWN;
	v->regs.rip = vmcb->save.rip;
	v->regs.rflags = vmcb->save.rflags;
	v->regs.gpr[GPR_RSP] = vmcb->save.rsp;
	v->regs.gpr[GPR_RAX] = vmcb->save.rax;
	u64 interrupted = reinjection(vmcb);
	vmcb->control.event_inject = interrupted;
	decode_exit(v, e);
	if (e->reason == EXIT_EXTERNAL_INTERRUPT)
		cpu_service_interrupts(); /* the host's handler EOIs it */
	if (interrupted) {
		e->interrupted_event = true;
		e->interrupted_vector = interrupted & SVM_EVENT_VECTOR_MASK;
		e->interrupted_exception = ((interrupted >> SVM_EVENT_TYPE_SHIFT) & SVM_EVENT_TYPE_MASK) ==
					   SVM_EVENT_TYPE_EXCEPTION;
	}
}

/* DR6/DR7 live in the VMCB; DR0-DR3 are the CPU's (vcpu_common_load/put). */
static void svm_vcpu_load(struct vcpu *v)
{
	struct svm_vcpu *s = svm(v);
	if (s->cpu != (int)this_cpu()->index) {
		s->vmcb->control.clean_bits = 0; /* another CPU's cache is not this one's */
		s->cpu = (int)this_cpu()->index;
	}
	vcpu_common_load(v);
}

static void dump_segment(const char *name, const struct vmcb_segment *s)
{
	kprintf("  %-4s sel %04x attr %03x limit %08x base %016llx\n", name, s->selector, s->attrib,
		s->limit, (unsigned long long)s->base);
}

static void svm_dump_state(struct vcpu *v)
{
	const struct vmcb *vmcb = svm(v)->vmcb;
	const struct vmcb_save *s = &vmcb->save;
	kprintf("  VMCB exit %llx info1 %llx info2 %llx intinfo %llx inject %llx\n",
		(unsigned long long)vmcb->control.exit_code, (unsigned long long)vmcb->control.exit_info1,
		(unsigned long long)vmcb->control.exit_info2, (unsigned long long)vmcb->control.exit_int_info,
		(unsigned long long)vmcb->control.event_inject);
	kprintf("  CR0 %016llx CR3 %016llx CR4 %016llx EFER %016llx CPL %u\n",
		(unsigned long long)s->cr0, (unsigned long long)s->cr3, (unsigned long long)s->cr4,
		(unsigned long long)s->efer, s->cpl);
	dump_segment("CS", &s->cs);
	dump_segment("SS", &s->ss);
	dump_segment("DS", &s->ds);
	dump_segment("TR", &s->tr);
	dump_segment("GDTR", &s->gdtr);
	dump_segment("IDTR", &s->idtr);
}

const struct backend_ops svm_backend_ops = {
	.name = "AMD-V",
	.cpu_enable = svm_cpu_enable,
	.vm_create = svm_vm_create,
	.map_ram = svm_map_ram,
	.vm_destroy = svm_vm_destroy,
	.vcpu_create = svm_vcpu_create,
	.vcpu_release = svm_vcpu_release,
	.vcpu_destroy = svm_vcpu_destroy,
	.vcpu_run = svm_vcpu_run,
	.get_sregs = svm_get_sregs,
	.get_control = svm_get_control,
	.set_sregs = svm_set_sregs,
	.set_efer = svm_set_efer,
	.set_cr = svm_set_cr,
	.inject_event = svm_inject_event,
	.interrupt_allowed = svm_interrupt_allowed,
	.clear_interrupt_shadow = svm_clear_interrupt_shadow,
	.set_interrupt_window = svm_set_interrupt_window,
	.nmi_allowed = svm_nmi_allowed,
	.set_nmi_window = svm_set_nmi_window,
	.flush_guest_tlb = svm_flush_guest_tlb,
	.vcpu_load = svm_vcpu_load,
	.vcpu_put = vcpu_common_put, /* nothing AMD-V-specific to save */
	.dump_state = svm_dump_state,
};
