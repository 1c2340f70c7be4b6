/*
 * msr: Presidio's MSR allow-list. Allowed MSRs read (and, where writable,
 * write and read back); denied ones raise #GP(0) through the guest's own IDT
 * at the RDMSR/WRMSR, and execution resumes after it.
 */
#include "gdt.h"
#include "interrupts.h"
#include "report.h"
#include "x86.h"

#define MSR_TSC 0x10
#define MSR_APIC_BASE 0x1b
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_MTRR_CAP 0xfe
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_MISC_ENABLE 0x1a0
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_LAST 0x491
#define MSR_STAR 0xc0000081u
#define MSR_LSTAR 0xc0000082u
#define MSR_CSTAR 0xc0000083u
#define MSR_SFMASK 0xc0000084u
#define MSR_FS_BASE 0xc0000100u
#define MSR_GS_BASE 0xc0000101u
#define MSR_KERNEL_GS_BASE 0xc0000102u
#define MSR_VM_CR 0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define MSR_UNKNOWN 0x12345678u
#define MSR_KVM_WALL_CLOCK_NEW 0x4b564d00u

#define APIC_BASE_ADDRESS_MASK 0xfffff000u
#define APIC_BASE_DEFAULT 0xfee00000u
#define APIC_BASE_BSP (1u << 8)
#define APIC_BASE_EXTD (1u << 10)
#define APIC_BASE_ENABLE (1u << 11)
/* x2APIC MSRs (SDM Vol. 3A table 11-6) and the xAPIC registers they mirror */
#define MSR_X2APIC_ID 0x802
#define MSR_X2APIC_VERSION 0x803
#define MSR_X2APIC_TPR 0x808
#define MSR_X2APIC_EOI 0x80b
#define MSR_X2APIC_LDR 0x80d
#define XAPIC_VERSION_PA 0xfee00030u
#define XAPIC_SVR_PA 0xfee000f0u
#define XAPIC_LVT0_PA 0xfee00350u
#define XAPIC_SVR_ENABLED_SPURIOUS_FF 0x1ffu
#define XAPIC_LVT_EXTINT (7u << 8)
#define CPUID1_ECX_X2APIC (1u << 21)
#define CPUID1_EBX_APIC_ID_SHIFT 24
#define X2APIC_CLUSTER_SHIFT 4
#define X2APIC_LDR_CLUSTER_SHIFT 16
#define X2APIC_CLUSTER_MEMBER_MASK 0xfu
#define TPR_TEST_VALUE 0x20
#define GP_ERROR_CODE 0

const char guest_name[] = "msr";

struct round_trip {
	uint32_t msr;
	const char *what;
	uint64_t value; /* canonical, and 32-bit where a vendor keeps only 32 bits */
};

static const struct round_trip round_trips[] = {
	{ MSR_SYSENTER_CS, "sysenter_cs", 0x10 },
	{ MSR_SYSENTER_ESP, "sysenter_esp", 0xcafe0000 },
	{ MSR_SYSENTER_EIP, "sysenter_eip", 0xc0de1000 },
	{ MSR_PAT, "pat", 0x0007010600070106ull },
	{ MSR_STAR, "star", 0x001b000812345678ull },
	{ MSR_LSTAR, "lstar", 0xffffffff81234560ull },
	{ MSR_CSTAR, "cstar", 0xffffffff81234570ull },
	{ MSR_SFMASK, "sfmask", 0x47700 },
	{ MSR_FS_BASE, "fs_base", 0x00007fffdeadb000ull },
	{ MSR_GS_BASE, "gs_base", 0xffff888012345000ull },
	{ MSR_KERNEL_GS_BASE, "kernel_gs_base", 0xffff888076543000ull },
};

struct denied {
	uint32_t msr;
	const char *what;
	bool read_denied;
};

static const struct denied denied_msrs[] = {
	{ MSR_VM_CR, "vm_cr", true },
	{ MSR_VM_HSAVE_PA, "vm_hsave_pa", true },
	{ MSR_UNKNOWN, "unknown 0x12345678", true },
	{ MSR_KVM_WALL_CLOCK_NEW, "kvm 0x4b564d00", true },
	{ MSR_FEATURE_CONTROL, "feature_control", false },
};

static void check_read_only(void)
{
	/* RDMSR 0x10 reads the counter RDTSC reads, TSC offset included. */
	uint64_t before = rdtsc_ordered(), tsc = 0;
	bool ok = rdmsr_safe(MSR_TSC, &tsc);
	uint64_t after = rdtsc_ordered();
	if (ok || expect_no_fault("rdmsr tsc"))
		check(before <= tsc && tsc <= after, "rdmsr tsc between two rdtsc",
		      "rdtsc 0x%llx, rdmsr 0x%llx, rdtsc 0x%llx", before, tsc, after);
	uint64_t apic = 0;
	if (rdmsr_safe(MSR_APIC_BASE, &apic) || expect_no_fault("rdmsr apic_base"))
		check((apic & APIC_BASE_ADDRESS_MASK) == APIC_BASE_DEFAULT && (apic & APIC_BASE_BSP),
		      "rdmsr apic_base", "0x%llx (expected base 0xfee00000, BSP)", apic);
	static const struct { uint32_t msr; const char *what; } reads[] = {
		{ MSR_MISC_ENABLE, "rdmsr misc_enable" },
		{ MSR_MTRR_CAP, "rdmsr mtrrcap" },
		{ MSR_MTRR_DEF_TYPE, "rdmsr mtrr_def_type" },
	};
	for (unsigned i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		uint64_t v;
		if (rdmsr_safe(reads[i].msr, &v))
			report_pass(reads[i].what);
		else
			expect_no_fault(reads[i].what);
	}
}

static void check_round_trip(const struct round_trip *t)
{
	const char *what = name("wrmsr/rdmsr %s", t->what);
	uint64_t saved, got = 0;
	if (!rdmsr_safe(t->msr, &saved) || !wrmsr_safe(t->msr, t->value) || !rdmsr_safe(t->msr, &got)) {
		expect_no_fault(what);
		return;
	}
	wrmsr_safe(t->msr, saved);
	check_u64(what, got, t->value);
}

static void check_efer_bit(const char *what, uint64_t bit)
{
	uint64_t saved = rdmsr(MSR_EFER), got = 0;
	if (!wrmsr_safe(MSR_EFER, saved | bit) || !rdmsr_safe(MSR_EFER, &got)) {
		expect_no_fault(what);
		return;
	}
	wrmsr(MSR_EFER, saved);
	check(got == (saved | bit), what, "efer 0x%llx after setting 0x%llx on 0x%llx", got, bit, saved);
}

static void check_efer(void)
{
	check_efer_bit("efer nxe round trip", EFER_NXE);
	check_efer_bit("efer sce round trip", EFER_SCE);
	/* LME is set with CR4.PAE on, as a kernel heading for long mode does:
	 * QEMU 7.2's nested SVM restores the host's CR0 before its EFER on
	 * #VMEXIT and drops host paging when the guest left LME=1, PAE=0. */
	write_cr4(read_cr4() | CR4_PAE);
	check_efer_bit("efer lme round trip (paging off)", EFER_LME);
	write_cr4(read_cr4() & ~CR4_PAE);
	uint64_t saved = rdmsr(MSR_EFER);
	if (wrmsr_safe(MSR_EFER, saved | EFER_SVME))
		wrmsr(MSR_EFER, saved);
	expect_fault("wrmsr efer.svme #GP", VECTOR_GP, GP_ERROR_CODE);
	check_u64("efer unchanged after #GP", rdmsr(MSR_EFER), saved);
}

static void check_denied(const struct denied *d)
{
	uint64_t v;
	if (d->read_denied) {
		rdmsr_safe(d->msr, &v);
		expect_fault(name("rdmsr %s #GP", d->what), VECTOR_GP, GP_ERROR_CODE);
	}
	wrmsr_safe(d->msr, 0);
	expect_fault(name("wrmsr %s #GP", d->what), VECTOR_GP, GP_ERROR_CODE);
}

/* One line per access kind for the whole VMX capability range. */
static void check_vmx_capabilities_denied(void)
{
	uint32_t read_escapes = 0, write_escapes = 0, first_read = 0, first_write = 0;
	for (uint32_t msr = MSR_VMX_BASIC; msr <= MSR_VMX_LAST; msr++) {
		uint64_t v;
		rdmsr_safe(msr, &v);
		if (!(last_fault.occurred && last_fault.vector == VECTOR_GP && last_fault.error_code == 0) &&
		    !read_escapes++)
			first_read = msr;
		wrmsr_safe(msr, 0);
		if (!(last_fault.occurred && last_fault.vector == VECTOR_GP && last_fault.error_code == 0) &&
		    !write_escapes++)
			first_write = msr;
	}
	check(!read_escapes, "rdmsr vmx capabilities 0x480-0x491 #GP", "%u without #GP(0), first 0x%x",
	      read_escapes, first_read);
	check(!write_escapes, "wrmsr vmx capabilities 0x480-0x491 #GP", "%u without #GP(0), first 0x%x",
	      write_escapes, first_write);
}

static void restore_segment_bases(void)
{
	/* Reloading the selectors puts FS/GS bases back to the flat descriptor's 0. */
	asm volatile("movw %w0, %%fs\n\tmovw %w0, %%gs" : : "r"(SEL_DATA32));
}

/* x2APIC mode (SDM 11.12): the registers as MSRs, the ID from CPUID, the
 * logical ID derived from it (11.12.10.2), write-only and read-only
 * registers, and the IA32_APIC_BASE transitions (11.12.5). */
static void check_x2apic(void)
{
	struct cpuid_regs r;
	cpuid(1, 0, &r);
	if (!check(r.ecx & CPUID1_ECX_X2APIC, "cpuid 1 advertises x2apic", "ecx 0x%x", r.ecx))
		return;
	uint32_t id = r.ebx >> CPUID1_EBX_APIC_ID_SHIFT, xapic_version = read32(XAPIC_VERSION_PA);
	uint64_t base = rdmsr(MSR_APIC_BASE), v = 0;
	check(!rdmsr_safe(MSR_X2APIC_VERSION, &v), "x2apic msrs raise #gp in xapic mode", "read 0x%llx", v);
	if (!wrmsr_safe(MSR_APIC_BASE, base | APIC_BASE_EXTD)) {
		expect_no_fault("wrmsr apic_base: enable x2apic");
		return;
	}
	check_u64("x2apic id msr is the cpuid initial apic id", rdmsr(MSR_X2APIC_ID), id);
	check_u64("x2apic version msr is the xapic version register", rdmsr(MSR_X2APIC_VERSION), xapic_version);
	check_u64("x2apic logical id derived from the id", rdmsr(MSR_X2APIC_LDR),
		  ((id >> X2APIC_CLUSTER_SHIFT) << X2APIC_LDR_CLUSTER_SHIFT) |
			  (1u << (id & X2APIC_CLUSTER_MEMBER_MASK)));
	wrmsr(MSR_X2APIC_TPR, TPR_TEST_VALUE);
	check_u64("x2apic tpr round trip", rdmsr(MSR_X2APIC_TPR), TPR_TEST_VALUE);
	wrmsr(MSR_X2APIC_TPR, 0);
	check(!rdmsr_safe(MSR_X2APIC_EOI, &v), "rdmsr of the write-only x2apic eoi raises #gp", "read 0x%llx", v);
	check(!wrmsr_safe(MSR_X2APIC_EOI, 1), "non-zero x2apic eoi write raises #gp", "no fault");
	check(!wrmsr_safe(MSR_X2APIC_ID, id + 1), "the x2apic id is read-only (#gp)", "no fault");
	check(!wrmsr_safe(MSR_APIC_BASE, base), "x2apic straight back to xapic raises #gp", "no fault");
	check(wrmsr_safe(MSR_APIC_BASE, base & ~(uint64_t)(APIC_BASE_EXTD | APIC_BASE_ENABLE)) &&
		      wrmsr_safe(MSR_APIC_BASE, base),
	      "x2apic -> disabled -> xapic", "faulted");
	check_u32("xapic registers back on the mmio page", read32(XAPIC_VERSION_PA), xapic_version);
	/* Disabling reset the APIC: back to the firmware's virtual wire. */
	write32(XAPIC_SVR_PA, XAPIC_SVR_ENABLED_SPURIOUS_FF);
	write32(XAPIC_LVT0_PA, XAPIC_LVT_EXTINT);
}

void guest_main(void)
{
	check_read_only();
	for (unsigned i = 0; i < sizeof(round_trips) / sizeof(round_trips[0]); i++)
		check_round_trip(&round_trips[i]);
	restore_segment_bases();
	check_efer();
	for (unsigned i = 0; i < sizeof(denied_msrs) / sizeof(denied_msrs[0]); i++)
		check_denied(&denied_msrs[i]);
	check_vmx_capabilities_denied();
	check_x2apic();
}
