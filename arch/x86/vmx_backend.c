/*
 * The Intel VT-x backend: VMXON, VMCS set-up from the capability MSRs,
 * VMLAUNCH/VMRESUME, and exit decoding into the normalized struct vm_exit
 * (SDM Vol. 3C chapters 24-29).
 */
#include "arch/x86/vmx_vmcs.h"
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/ept_npt.h"
#include "arch/x86/fpu.h"
#include "arch/x86/gdt.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/tag_pool.h"
#include "arch/x86/vcpu_common.h"
#include "lib/print.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/heap.h"
#include "mm/phys.h"
#include "vmm/backend.h"
#include "vmm/vm.h"

#define PAT_POWER_ON_VALUE 0x0007040600070406ULL
#define VMCS_LINK_POINTER_NONE (~0ULL)
#define IO_BITMAP_SIZE PAGE_SIZE
#define MSR_BITMAP_READ_LOW 0x000
#define MSR_BITMAP_READ_HIGH 0x400
#define MSR_BITMAP_WRITE_LOW 0x800
#define MSR_BITMAP_WRITE_HIGH 0xc00
#define MAX_VPID 0xffff

struct vmx_vm {
	struct slpt ept;
	u64 eptp;
	u8 *io_bitmaps; /* A and B, contiguous */
	u8 *msr_bitmap;
};

struct vmx_vcpu {
	u64 vmcs_pa;
	u16 vpid;                   /* per vCPU: each has its own guest TLB */
	int cpu;                    /* host CPU the VMCS was last current on, -1: cleared */
	bool launched;
	bool flush_tlb;
	u32 primary_controls;
	u64 cr0_shadow, cr4_shadow; /* what the guest believes it wrote */
	u64 dr6;                    /* the guest's DR6 while not loaded (VMX does not switch it) */
	bool loaded;
	u64 host_syscall_msrs[5], guest_syscall_msrs[5];
};

int vmx_enter_guest(u64 *gprs, int launched);
extern const u8 vmx_exit_point[];

/* Pass-through MSRs (vcpu_common.h) the VMCS does not switch but the host
 * never uses: owned by the guest while it runs, switched at vcpu_load/put. */
static const u32 syscall_msrs[5] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE };
static struct tag_pool vpids;
static struct spinlock vpids_lock;
static u32 pin_controls, primary_controls, secondary_controls, exit_controls, entry_controls;

static struct vmx_vcpu *vmx(struct vcpu *v) { return v->arch; }

/* setna: VMfailInvalid sets CF, VMfailValid sets ZF. */
static bool vmxon(u64 pa)
{
	bool fail;
	__asm__ volatile("vmxon %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static bool vmclear(u64 pa)
{
	bool fail;
	__asm__ volatile("vmclear %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

static bool vmptrld(u64 pa)
{
	bool fail;
	__asm__ volatile("vmptrld %1; setna %0" : "=q"(fail) : "m"(pa) : "cc", "memory");
	return !fail;
}

struct invept_descriptor {
	u64 eptp, reserved;
};

static void invept_all(void)
{
	struct invept_descriptor d = { 0, 0 };
	if (virt_caps.vmx.invept_all)
		__asm__ volatile("invept %0, %1" ::"m"(d), "r"(2ULL) : "cc", "memory");
}

struct invvpid_descriptor {
	u64 vpid, address;
};

static void invvpid_single(u16 vpid)
{
	struct invvpid_descriptor d = { vpid, 0 };
	if (virt_caps.vmx.invvpid_single)
		__asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(1ULL) : "cc", "memory");
	else if (virt_caps.vmx.invvpid_all)
		__asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(2ULL) : "cc", "memory");
}

/* Required-1 bits from the low half, allowed-1 bits from the high half. */
static u32 adjust_controls(u32 wanted, u32 msr)
{
	u64 caps = rdmsr(msr);
	return (wanted | (u32)caps) & (u32)(caps >> 32);
}

static void compute_controls(void)
{
	bool true_ctls = virt_caps.vmx.true_controls;
	/* Virtual NMIs: the CPU tracks the guest's NMI blocking (until IRET). */
	pin_controls = adjust_controls(PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING | PIN_VIRTUAL_NMIS,
				       true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	primary_controls = adjust_controls(PROC_USE_TSC_OFFSETTING | PROC_HLT_EXITING | PROC_MWAIT_EXITING |
					   PROC_RDPMC_EXITING | PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS |
					   PROC_MONITOR_EXITING | PROC_ACTIVATE_SECONDARY |
					   /* CR8 is the TPR of Presidio's local APIC model:
					    * without these (or a TPR shadow) a guest would
					    * write the host's TPR. */
					   PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING,
					   true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	/* WBINVD exiting: a guest's whole-cache flush would slow every VM. */
	u32 want2 = PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST | PROC2_ENABLE_INVPCID | PROC2_WBINVD_EXITING;
	if (virt_caps.vmx.vpid)
		want2 |= PROC2_ENABLE_VPID;
	secondary_controls = adjust_controls(want2, MSR_IA32_VMX_PROCBASED_CTLS2);
	exit_controls = adjust_controls(EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_SAVE_PAT | EXIT_LOAD_PAT |
					EXIT_SAVE_EFER | EXIT_LOAD_EFER,
					true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
	entry_controls = adjust_controls(ENTRY_LOAD_PAT | ENTRY_LOAD_EFER,
					 true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
}

/* Controls without which a guest could reach host state: adjust_controls()
 * drops what the CPU cannot do, so check that these survived. */
static int missing_isolation_controls(char *err, size_t len)
{
	static const struct {
		const u32 *controls;
		u32 bits;
		const char *what;
	} required[] = {
		{ &pin_controls, PIN_EXTERNAL_INTERRUPT_EXITING, "external-interrupt exiting" },
		{ &pin_controls, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS, "NMI exiting with virtual NMIs" },
		{ &primary_controls, PROC_USE_IO_BITMAPS | PROC_USE_MSR_BITMAPS, "I/O and MSR bitmaps" },
		{ &primary_controls, PROC_CR8_LOAD_EXITING | PROC_CR8_STORE_EXITING, "CR8 exiting" },
		{ &primary_controls, PROC_HLT_EXITING, "HLT exiting" },
		{ &secondary_controls, PROC2_ENABLE_EPT | PROC2_UNRESTRICTED_GUEST, "EPT and unrestricted guest" },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(required); i++) {
		if ((*required[i].controls & required[i].bits) != required[i].bits) {
			ksnprintf(err, len, "vmx: the CPU does not offer %s, which Presidio needs to keep "
				  "guests off host state", required[i].what);
			return -1;
		}
	}
	return 0;
}

/* Once, on the boot CPU: the controls every VMCS gets (the capability
 * MSRs are the same on every CPU) and the VPID pool. */
int vmx_global_setup(char *err, size_t len)
{
	compute_controls();
	if (missing_isolation_controls(err, len))
		return -1;
	tag_pool_init(&vpids, MAX_VPID + 1);
	return 0;
}

static int vmx_cpu_enable(char *err, size_t len)
{
	struct percpu *cpu = this_cpu();
	const struct vmx_caps *c = &virt_caps.vmx;
	if (cpu->virt_enabled)
		return 0;
	write_cr0((read_cr0() | c->cr0_fixed0 | CR0_NE) & c->cr0_fixed1);
	write_cr4((read_cr4() | c->cr4_fixed0 | CR4_VMXE) & c->cr4_fixed1);
	cpu->vmx_region_pa = frame_alloc();
	if (!cpu->vmx_region_pa) {
		ksnprintf(err, len, "vmx: out of memory for the VMXON region");
		return -1;
	}
	*(u32 *)phys_to_virt(cpu->vmx_region_pa) = c->vmcs_revision;
	if (!vmxon(cpu->vmx_region_pa)) {
		ksnprintf(err, len, "vmx: VMXON failed (is VMX already on, or disabled by firmware?)");
		return -1;
	}
	invept_all();
	fpu_cpu_init();
	cpu->virt_enabled = true;
	return 0;
}

static u64 ept_alloc(void *ctx) { return frame_alloc(); }
static void ept_free(void *ctx, u64 pa) { frame_free(pa, 1); }
static void *ept_ptr(void *ctx, u64 pa) { return phys_to_virt(pa); }

static void msr_bitmap_passthrough(u8 *bitmap, u32 msr)
{
	u32 read, write;
	if (msr < MSR_LOW_RANGE_BASE + MSR_RANGE_SIZE) {
		read = MSR_BITMAP_READ_LOW, write = MSR_BITMAP_WRITE_LOW;
	} else if (msr >= MSR_HIGH_RANGE_BASE && msr < MSR_HIGH_RANGE_BASE + MSR_RANGE_SIZE) {
		read = MSR_BITMAP_READ_HIGH, write = MSR_BITMAP_WRITE_HIGH;
		msr -= MSR_HIGH_RANGE_BASE;
	} else {
		return;
	}
	bitmap[read + msr / 8] &= ~(1u << (msr % 8));
	bitmap[write + msr / 8] &= ~(1u << (msr % 8));
}

static int vmx_vm_create(struct vm *vm, char *err, size_t len)
{
	struct vmx_vm *x = kzalloc(sizeof(*x));
	if (!x)
		goto nomem;
	vm->arch = x;
	x->io_bitmaps = phys_to_virt(frame_alloc_contig(2, PAGE_SIZE));
	x->msr_bitmap = phys_to_virt(frame_alloc());
	if (!x->io_bitmaps || !x->msr_bitmap)
		goto nomem;
	memset(x->io_bitmaps, 0xff, 2 * IO_BITMAP_SIZE);
	memset(x->msr_bitmap, 0xff, PAGE_SIZE);
	for (unsigned i = 0; i < msr_passthrough_count; i++)
		msr_bitmap_passthrough(x->msr_bitmap, msr_passthrough[i]);
	x->ept.format = ept_format;
	x->ept.format.page_2m = virt_caps.vmx.ept_2m;
	x->ept.format.page_1g = virt_caps.vmx.ept_1g;
	x->ept.alloc_page = ept_alloc;
	x->ept.free_page = ept_free;
	x->ept.phys_to_ptr = ept_ptr;
	if (slpt_init(&x->ept))
		goto nomem;
	/* Guest RAM is mapped on first touch (vmx_map_ram). */
	x->eptp = x->ept.root | EPTP_MEMTYPE_WB | EPTP_WALK_LENGTH_4;
	pr_debug("vmx: vm %s: EPT %llu tables", vm->name, (unsigned long long)x->ept.tables);
	return 0;
nomem:
	ksnprintf(err, len, "vmx: out of memory creating VM %s", vm->name);
	return -1;
}

static int vmx_map_ram(struct vm *vm, u64 gpa, u64 size)
{
	/* Not-present -> present needs no INVEPT: EPT violations are not cached. */
	struct vmx_vm *x = vm->arch;
	return slpt_map_regions(&x->ept, &vm->mem, gpa, size);
}

static void vmx_vm_destroy(struct vm *vm)
{
	struct vmx_vm *x = vm->arch;
	if (!x)
		return;
	slpt_destroy(&x->ept);
	/* INVEPT covers the calling CPU only: every CPU that ran one of the
	 * VM's vCPUs flushed itself when it released it (vmx_vcpu_release). */
	invept_all();
	if (x->io_bitmaps)
		frame_free(virt_to_phys(x->io_bitmaps), 2);
	if (x->msr_bitmap)
		frame_free(virt_to_phys(x->msr_bitmap), 1);
	kfree(x);
	vm->arch = NULL;
}

static void write_host_state(void)
{
	struct percpu *cpu = this_cpu();
	struct descriptor_pointer gdtr, idtr;
	__asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
	vmwrite(VMCS_HOST_CR0, read_cr0());
	vmwrite(VMCS_HOST_CR3, read_cr3());
	vmwrite(VMCS_HOST_CR4, read_cr4());
	vmwrite(VMCS_HOST_CS_SELECTOR, SELECTOR_CODE64);
	vmwrite(VMCS_HOST_SS_SELECTOR, SELECTOR_DATA);
	vmwrite(VMCS_HOST_DS_SELECTOR, SELECTOR_DATA);
	vmwrite(VMCS_HOST_ES_SELECTOR, SELECTOR_DATA);
	vmwrite(VMCS_HOST_FS_SELECTOR, 0);
	vmwrite(VMCS_HOST_GS_SELECTOR, 0);
	vmwrite(VMCS_HOST_TR_SELECTOR, SELECTOR_TSS);
	vmwrite(VMCS_HOST_FS_BASE, 0);
	vmwrite(VMCS_HOST_GS_BASE, (u64)cpu);
	vmwrite(VMCS_HOST_TR_BASE, (u64)&cpu->tss);
	vmwrite(VMCS_HOST_GDTR_BASE, gdtr.base);
	vmwrite(VMCS_HOST_IDTR_BASE, idtr.base);
	vmwrite(VMCS_HOST_SYSENTER_CS, 0);
	vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
	vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
	vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
	vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT));
	vmwrite(VMCS_HOST_RIP, (u64)vmx_exit_point);
}

static void write_controls(struct vcpu *v)
{
	struct vmx_vm *x = v->vm->arch;
	vmwrite(VMCS_PIN_BASED_CONTROLS, pin_controls);
	vmwrite(VMCS_PRIMARY_PROCESSOR_CONTROLS, primary_controls);
	vmwrite(VMCS_SECONDARY_PROCESSOR_CONTROLS, secondary_controls);
	vmwrite(VMCS_EXIT_CONTROLS, exit_controls);
	vmwrite(VMCS_ENTRY_CONTROLS, entry_controls);
	/* #AC and #DB loops during event delivery could hang the CPU for good
	 * (CVE-2015-5307, CVE-2015-8104): intercept and reinject them. */
	vmwrite(VMCS_EXCEPTION_BITMAP, BIT(VEC_DB) | BIT(VEC_AC));
	vmwrite(VMCS_PAGE_FAULT_ERROR_MASK, 0);
	vmwrite(VMCS_PAGE_FAULT_ERROR_MATCH, 0);
	vmwrite(VMCS_CR3_TARGET_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
	vmwrite(VMCS_IO_BITMAP_A, virt_to_phys(x->io_bitmaps));
	vmwrite(VMCS_IO_BITMAP_B, virt_to_phys(x->io_bitmaps) + IO_BITMAP_SIZE);
	vmwrite(VMCS_MSR_BITMAP, virt_to_phys(x->msr_bitmap));
	vmwrite(VMCS_EPT_POINTER, x->eptp);
	if (secondary_controls & PROC2_ENABLE_VPID)
		vmwrite(VMCS_VPID, vmx(v)->vpid);
	vmwrite(VMCS_LINK_POINTER, VMCS_LINK_POINTER_NONE);
	/* The guest owns every CR0/CR4 bit except those VMX pins and the CR4
	 * bits its CPUID does not offer: setting one exits, and vmm/ gives #GP. */
	vmwrite(VMCS_CR0_GUEST_HOST_MASK, CR0_NE);
	vmwrite(VMCS_CR4_GUEST_HOST_MASK, CR4_VMXE | v->vm->cr_rules.cr4_reserved);
	vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
	vmwrite(VMCS_GUEST_ACTIVITY_STATE, 0);
	vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
	vmwrite(VMCS_GUEST_PENDING_DEBUG, 0);
	vmwrite(VMCS_GUEST_DEBUGCTL, 0);
}

static int vmx_vcpu_create(struct vcpu *v, char *err, size_t len)
{
	struct vmx_vcpu *x = kzalloc(sizeof(*x));
	if (!x || !(x->vmcs_pa = frame_alloc())) {
		kfree(x);
		ksnprintf(err, len, "vmx: out of memory for a VMCS");
		return -1;
	}
	v->arch = x;
	x->cpu = -1; /* not current anywhere yet: nothing to VMCLEAR if this fails */
	if (vcpu_common_create(v)) {
		ksnprintf(err, len, "vmx: out of memory for the FPU state");
		return -1;
	}
	spin_lock(&vpids_lock);
	x->vpid = tag_pool_alloc(&vpids);
	spin_unlock(&vpids_lock);
	if (!x->vpid) {
		ksnprintf(err, len, "vmx: all VPIDs are in use");
		return -1;
	}
	*(u32 *)phys_to_virt(x->vmcs_pa) = virt_caps.vmx.vmcs_revision;
	if (!vmclear(x->vmcs_pa) || !vmptrld(x->vmcs_pa)) {
		ksnprintf(err, len, "vmx: VMCLEAR/VMPTRLD of a new VMCS failed");
		return -1;
	}
	x->cpu = (int)this_cpu()->index;
	x->primary_controls = primary_controls;
	write_controls(v);
	write_host_state();
	x->flush_tlb = true;
	return 0;
}

/* VMCLEAR on the CPU the VMCS is current on writes its cached state back
 * and makes it loadable elsewhere; the next entry is a VMLAUNCH. */
static void vmx_vcpu_release(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx(v);
	if (x->cpu < 0)
		return;
	vmclear(x->vmcs_pa);
	x->cpu = -1;
	x->launched = false;
	/* This CPU may keep the VM's EPT and this VPID's translations. */
	invept_all();
	invvpid_single(x->vpid);
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx(v);
	if (!x)
		return;
	vmx_vcpu_release(v);
	if (x->vpid) {
		spin_lock(&vpids_lock);
		tag_pool_free(&vpids, x->vpid);
		spin_unlock(&vpids_lock);
	}
	frame_free(x->vmcs_pa, 1);
	vcpu_common_destroy(v);
	kfree(x);
	v->arch = NULL;
}

/* struct segment <-> VMX access rights (SDM 25.4.1) */
static u32 access_rights(const struct segment *s)
{
	/* An unusable segment keeps its other bits: SS.DPL is the CPL, and a
	 * 64-bit guest at CPL 3 runs with a null (unusable) SS. */
	u32 ar = (s->type & 0xf) | (s->s << 4) | ((s->dpl & 3) << 5) | (s->present << 7) |
		 (s->avl << 12) | (s->l << 13) | (s->db << 14) | (s->g << 15);
	return (s->unusable || !s->present) ? ar | VMX_AR_UNUSABLE : ar;
}

static void segment_from_rights(struct segment *s, u32 ar)
{
	s->type = ar & 0xf;
	s->s = ar & BIT(4);
	s->dpl = (ar >> 5) & 3;
	s->present = ar & BIT(7);
	s->avl = ar & BIT(12);
	s->l = ar & BIT(13);
	s->db = ar & BIT(14);
	s->g = ar & BIT(15);
	s->unusable = ar & VMX_AR_UNUSABLE;
}

/* Each segment's four fields are at the same stride from ES's. */
#define SEGMENT_FIELD_STRIDE 2

static void vmx_get_sregs(struct vcpu *v, struct vcpu_sregs *r)
{
	struct vmx_vcpu *x = vmx(v);
	for (int i = 0; i < SREG_COUNT; i++) {
		struct segment *s = &r->seg[i];
		s->selector = vmread(VMCS_GUEST_ES_SELECTOR + i * SEGMENT_FIELD_STRIDE);
		s->base = vmread(VMCS_GUEST_ES_BASE + i * SEGMENT_FIELD_STRIDE);
		s->limit = vmread(VMCS_GUEST_ES_LIMIT + i * SEGMENT_FIELD_STRIDE);
		segment_from_rights(s, vmread(VMCS_GUEST_ES_ACCESS_RIGHTS + i * SEGMENT_FIELD_STRIDE));
	}
	r->gdtr = (struct descriptor_table){ vmread(VMCS_GUEST_GDTR_BASE), (u16)vmread(VMCS_GUEST_GDTR_LIMIT) };
	r->idtr = (struct descriptor_table){ vmread(VMCS_GUEST_IDTR_BASE), (u16)vmread(VMCS_GUEST_IDTR_LIMIT) };
	r->cr0 = (vmread(VMCS_GUEST_CR0) & ~CR0_NE) | (x->cr0_shadow & CR0_NE);
	r->cr2 = read_cr2(); /* CR2 is not switched by VMX: the guest's stays live */
	r->cr3 = vmread(VMCS_GUEST_CR3);
	r->cr4 = vmread(VMCS_GUEST_CR4) & ~CR4_VMXE;
	r->efer = vmread(VMCS_GUEST_EFER);
	if (x->loaded) /* not switched by VMX: live on the CPU while loaded */
		__asm__ volatile("mov %%dr6, %0" : "=r"(x->dr6));
	r->dr6 = x->dr6;
	r->dr7 = vmread(VMCS_GUEST_DR7);
	r->pat = vmread(VMCS_GUEST_PAT);
}

#define VMX_AR_L BIT(13)
#define VMX_AR_DB BIT(14)
#define VMX_AR_DPL_SHIFT 5
#define VMX_AR_DPL_MASK 3

static void vmx_get_control(struct vcpu *v, struct vcpu_control *c)
{
	struct vmx_vcpu *x = vmx(v);
	c->cr0 = (vmread(VMCS_GUEST_CR0) & ~CR0_NE) | (x->cr0_shadow & CR0_NE);
	c->cr3 = vmread(VMCS_GUEST_CR3);
	c->cr4 = vmread(VMCS_GUEST_CR4) & ~CR4_VMXE;
	c->efer = vmread(VMCS_GUEST_EFER);
	for (int i = SEG_ES; i <= SEG_GS; i++)
		c->segment_base[i] = vmread(VMCS_GUEST_ES_BASE + i * SEGMENT_FIELD_STRIDE);
	u32 cs_ar = vmread(VMCS_GUEST_CS_ACCESS_RIGHTS);
	c->cs_long = cs_ar & VMX_AR_L;
	c->cs_default32 = cs_ar & VMX_AR_DB;
	c->cpl = (vmread(VMCS_GUEST_SS_ACCESS_RIGHTS) >> VMX_AR_DPL_SHIFT) & VMX_AR_DPL_MASK;
}

static void write_entry_mode(u64 efer)
{
	u32 entry = vmread(VMCS_ENTRY_CONTROLS);
	entry = (efer & EFER_LMA) ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST;
	vmwrite(VMCS_ENTRY_CONTROLS, entry);
}

static void vmx_set_sregs(struct vcpu *v, const struct vcpu_sregs *r)
{
	struct vmx_vcpu *x = vmx(v);
	for (int i = 0; i < SREG_COUNT; i++) {
		const struct segment *s = &r->seg[i];
		vmwrite(VMCS_GUEST_ES_SELECTOR + i * SEGMENT_FIELD_STRIDE, s->selector);
		vmwrite(VMCS_GUEST_ES_BASE + i * SEGMENT_FIELD_STRIDE, s->base);
		vmwrite(VMCS_GUEST_ES_LIMIT + i * SEGMENT_FIELD_STRIDE, s->limit);
		vmwrite(VMCS_GUEST_ES_ACCESS_RIGHTS + i * SEGMENT_FIELD_STRIDE, access_rights(s));
	}
	vmwrite(VMCS_GUEST_GDTR_BASE, r->gdtr.base);
	vmwrite(VMCS_GUEST_GDTR_LIMIT, r->gdtr.limit);
	vmwrite(VMCS_GUEST_IDTR_BASE, r->idtr.base);
	vmwrite(VMCS_GUEST_IDTR_LIMIT, r->idtr.limit);
	x->cr0_shadow = r->cr0;
	x->cr4_shadow = r->cr4;
	vmwrite(VMCS_CR0_READ_SHADOW, r->cr0);
	vmwrite(VMCS_CR4_READ_SHADOW, r->cr4);
	vmwrite(VMCS_GUEST_CR0, r->cr0 | CR0_NE);
	vmwrite(VMCS_GUEST_CR4, r->cr4 | CR4_VMXE);
	vmwrite(VMCS_GUEST_CR3, r->cr3);
	write_cr2(r->cr2);
	vmwrite(VMCS_GUEST_EFER, r->efer);
	write_entry_mode(r->efer);
	x->dr6 = r->dr6;
	if (x->loaded)
		__asm__ volatile("mov %0, %%dr6" ::"r"(r->dr6));
	vmwrite(VMCS_GUEST_DR7, r->dr7);
	vmwrite(VMCS_GUEST_PAT, r->pat ? r->pat : PAT_POWER_ON_VALUE);
}

static int vmx_set_efer(struct vcpu *v, u64 efer)
{
	efer &= ~EFER_LMA;
	if ((efer & EFER_LME) && (vmread(VMCS_GUEST_CR0) & CR0_PG))
		efer |= EFER_LMA;
	vmwrite(VMCS_GUEST_EFER, efer);
	write_entry_mode(efer);
	return 0;
}

static int vmx_set_cr(struct vcpu *v, unsigned cr, u64 value)
{
	struct vmx_vcpu *x = vmx(v);
	if (cr == 0) {
		x->cr0_shadow = value;
		vmwrite(VMCS_CR0_READ_SHADOW, value);
		vmwrite(VMCS_GUEST_CR0, value | CR0_NE);
		/* EFER.LMA (and the IA-32e entry control) follow LME and the new PG. */
		return vmx_set_efer(v, vmread(VMCS_GUEST_EFER));
	}
	if (cr == 4) {
		x->cr4_shadow = value;
		vmwrite(VMCS_CR4_READ_SHADOW, value);
		vmwrite(VMCS_GUEST_CR4, value | CR4_VMXE);
		return 0;
	}
	if (cr == 3) {
		vmwrite(VMCS_GUEST_CR3, value);
		return 0;
	}
	return -1;
}

static u32 event_info(enum event_type type, u8 vector, bool has_error)
{
	static const u32 types[] = {
		[EVENT_EXTERNAL_INTERRUPT] = INTR_TYPE_EXTERNAL,
		[EVENT_NMI] = INTR_TYPE_NMI,
		[EVENT_EXCEPTION] = INTR_TYPE_HARDWARE_EXCEPTION,
		[EVENT_SOFTWARE_INTERRUPT] = INTR_TYPE_SOFTWARE_INTERRUPT,
	};
	return vector | (types[type] << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID |
	       (has_error ? INTR_INFO_ERROR_CODE_VALID : 0);
}

static void vmx_inject_event(struct vcpu *v, enum event_type type, u8 vector, bool has_error, u32 error)
{
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, event_info(type, vector, has_error));
	if (has_error)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR_CODE, error);
}

static bool vmx_event_pending(struct vcpu *v)
{
	return vmread(VMCS_ENTRY_INTERRUPTION_INFO) & INTR_INFO_VALID;
}

static bool vmx_interrupt_allowed(struct vcpu *v)
{
	return (v->regs.rflags & RFLAGS_IF) &&
	       !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) &&
	       !vmx_event_pending(v);
}

static bool vmx_nmi_allowed(struct vcpu *v)
{
	return !(vmread(VMCS_GUEST_INTERRUPTIBILITY) &
		 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI)) &&
	       !vmx_event_pending(v);
}

static void vmx_set_nmi_window(struct vcpu *v, bool enable)
{
	struct vmx_vcpu *x = vmx(v);
	u32 controls = enable ? x->primary_controls | PROC_NMI_WINDOW_EXITING
			      : x->primary_controls & ~PROC_NMI_WINDOW_EXITING;
	if (controls == x->primary_controls)
		return;
	x->primary_controls = controls;
	vmwrite(VMCS_PRIMARY_PROCESSOR_CONTROLS, controls);
}

static void vmx_clear_interrupt_shadow(struct vcpu *v)
{
	u32 state = vmread(VMCS_GUEST_INTERRUPTIBILITY);
	if (state & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmwrite(VMCS_GUEST_INTERRUPTIBILITY, state & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

static void vmx_set_interrupt_window(struct vcpu *v, bool enable)
{
	struct vmx_vcpu *x = vmx(v);
	if (enable)
		x->primary_controls |= PROC_INTERRUPT_WINDOW_EXITING;
	else
		x->primary_controls &= ~PROC_INTERRUPT_WINDOW_EXITING;
	vmwrite(VMCS_PRIMARY_PROCESSOR_CONTROLS, x->primary_controls);
}

static void vmx_flush_guest_tlb(struct vcpu *v) { vmx(v)->flush_tlb = true; }

static void vmx_vcpu_run(struct vcpu *v, struct vm_exit *e)
{
	struct vmx_vcpu *x = vmx(v);
	vmwrite(VMCS_GUEST_RIP, v->regs.rip);
	vmwrite(VMCS_GUEST_RSP, v->regs.gpr[GPR_RSP]);
	vmwrite(VMCS_GUEST_RFLAGS, v->regs.rflags | RFLAGS_RESERVED_ONE);
	vmwrite(VMCS_TSC_OFFSET, v->tsc_offset);
	if (x->flush_tlb) {
		invvpid_single(x->vpid);
		x->flush_tlb = false;
	}
	int rc = vmx_enter_guest(v->regs.gpr, x->launched);
	if (rc) {
		u64 number = rc == 2 ? vmread(VMCS_INSTRUCTION_ERROR) : 0;
		memset(e, 0, sizeof(*e));
		e->reason = EXIT_ENTRY_FAILED;
		e->failure.reason = rc == 2 ? vmx_instruction_error_name(number) : "VMfailInvalid (no current VMCS)";
		e->failure.code = number;
		return;
	}
	x->launched = true;
	v->regs.rip = vmread(VMCS_GUEST_RIP);
	v->regs.gpr[GPR_RSP] = vmread(VMCS_GUEST_RSP);
	v->regs.rflags = vmread(VMCS_GUEST_RFLAGS);
	u32 vectoring = vmread(VMCS_IDT_VECTORING_INFO);
	vmx_decode_exit(v, e);
	/* A task switch through a task gate delivers the event itself
	 * (vmm/task_switch.c): queueing it again would deliver it twice. */
	if (e->reason == EXIT_TASK_SWITCH && e->task_switch.event != TASK_EVENT_NONE)
		vectoring = 0;
	vmx_reinject(vectoring);
	if (e->reason == EXIT_EXTERNAL_INTERRUPT)
		cpu_service_interrupts(); /* not acknowledged on exit: the host's handler EOIs it */
	/* A host NMI (pin-based NMI exiting) is the exit itself and is never
	 * delivered: hand it to the host's handler, as KVM does (another
	 * CPU's panic stops this one there). The exit left NMIs blocked
	 * ("Architectural State Before a VM Exit", SDM Vol. 3C 28.1); that
	 * handler's IRET unblocks them. */
	if (e->reason == EXIT_NMI)
		__asm__ volatile("int $%c0" ::"i"(VEC_NMI) : "memory");
	if (vectoring & INTR_INFO_VALID) {
		e->interrupted_event = true;
		e->interrupted_vector = vectoring & INTR_INFO_VECTOR_MASK;
		e->interrupted_exception = ((vectoring >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) ==
					   INTR_TYPE_HARDWARE_EXCEPTION;
	}
}

/* DR7 lives in the VMCS; DR0-DR3 (vcpu_common_load/put) and DR6 are the
 * CPU's and switched here. */
static void vmx_vcpu_load(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx(v);
	vmptrld(x->vmcs_pa);
	/* First load on this CPU (the VMCS was released by the CPU that built
	 * it): the host state is this CPU's GS base, TSS and GDT. */
	if (x->cpu != (int)this_cpu()->index) {
		write_host_state();
		x->cpu = (int)this_cpu()->index;
	}
	for (unsigned i = 0; i < ARRAY_SIZE(syscall_msrs); i++) {
		x->host_syscall_msrs[i] = rdmsr(syscall_msrs[i]);
		wrmsr(syscall_msrs[i], x->guest_syscall_msrs[i]);
	}
	vcpu_common_load(v);
	__asm__ volatile("mov %0, %%dr6" ::"r"(x->dr6));
	x->loaded = true;
}

static void vmx_vcpu_put(struct vcpu *v)
{
	struct vmx_vcpu *x = vmx(v);
	x->loaded = false;
	__asm__ volatile("mov %%dr6, %0" : "=r"(x->dr6));
	vcpu_common_put(v);
	for (unsigned i = 0; i < ARRAY_SIZE(syscall_msrs); i++) {
		x->guest_syscall_msrs[i] = rdmsr(syscall_msrs[i]);
		wrmsr(syscall_msrs[i], x->host_syscall_msrs[i]);
	}
}

static void dump_segment(const char *name, enum vmcs_field selector, int i)
{
	kprintf("  %-4s sel %04llx ar %05llx limit %08llx base %016llx\n", name,
		(unsigned long long)vmread(selector),
		(unsigned long long)vmread(VMCS_GUEST_ES_ACCESS_RIGHTS + i * SEGMENT_FIELD_STRIDE),
		(unsigned long long)vmread(VMCS_GUEST_ES_LIMIT + i * SEGMENT_FIELD_STRIDE),
		(unsigned long long)vmread(VMCS_GUEST_ES_BASE + i * SEGMENT_FIELD_STRIDE));
}

static void vmx_dump_state(struct vcpu *v)
{
	kprintf("  VMCS exit reason %llx qualification %llx instruction error %llu\n",
		(unsigned long long)vmread(VMCS_EXIT_REASON), (unsigned long long)vmread(VMCS_EXIT_QUALIFICATION),
		(unsigned long long)vmread(VMCS_INSTRUCTION_ERROR));
	kprintf("  RIP %016llx RSP %016llx RFLAGS %016llx\n", (unsigned long long)vmread(VMCS_GUEST_RIP),
		(unsigned long long)vmread(VMCS_GUEST_RSP), (unsigned long long)vmread(VMCS_GUEST_RFLAGS));
	kprintf("  CR0 %016llx CR3 %016llx CR4 %016llx EFER %016llx entry controls %llx\n",
		(unsigned long long)vmread(VMCS_GUEST_CR0), (unsigned long long)vmread(VMCS_GUEST_CR3),
		(unsigned long long)vmread(VMCS_GUEST_CR4), (unsigned long long)vmread(VMCS_GUEST_EFER),
		(unsigned long long)vmread(VMCS_ENTRY_CONTROLS));
	dump_segment("CS", VMCS_GUEST_CS_SELECTOR, SREG_CS);
	dump_segment("SS", VMCS_GUEST_SS_SELECTOR, SREG_SS);
	dump_segment("DS", VMCS_GUEST_DS_SELECTOR, SREG_DS);
	dump_segment("TR", VMCS_GUEST_TR_SELECTOR, SREG_TR);
	dump_segment("LDTR", VMCS_GUEST_LDTR_SELECTOR, SREG_LDTR);
	kprintf("  interruptibility %llx activity %llx entry info %llx\n",
		(unsigned long long)vmread(VMCS_GUEST_INTERRUPTIBILITY),
		(unsigned long long)vmread(VMCS_GUEST_ACTIVITY_STATE),
		(unsigned long long)vmread(VMCS_ENTRY_INTERRUPTION_INFO));
}

const struct backend_ops vmx_backend_ops = {
	.name = "Intel VT-x",
	.cpu_enable = vmx_cpu_enable,
	.vm_create = vmx_vm_create,
	.map_ram = vmx_map_ram,
	.vm_destroy = vmx_vm_destroy,
	.vcpu_create = vmx_vcpu_create,
	.vcpu_release = vmx_vcpu_release,
	.vcpu_destroy = vmx_vcpu_destroy,
	.vcpu_run = vmx_vcpu_run,
	.get_sregs = vmx_get_sregs,
	.get_control = vmx_get_control,
	.set_sregs = vmx_set_sregs,
	.set_efer = vmx_set_efer,
	.set_cr = vmx_set_cr,
	.inject_event = vmx_inject_event,
	.interrupt_allowed = vmx_interrupt_allowed,
	.clear_interrupt_shadow = vmx_clear_interrupt_shadow,
	.set_interrupt_window = vmx_set_interrupt_window,
	.nmi_allowed = vmx_nmi_allowed,
	.set_nmi_window = vmx_set_nmi_window,
	.flush_guest_tlb = vmx_flush_guest_tlb,
	.vcpu_load = vmx_vcpu_load,
	.vcpu_put = vmx_vcpu_put,
	.dump_state = vmx_dump_state,
};
