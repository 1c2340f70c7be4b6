#include "arch/x86/cpufeatures.h"
#include "arch/x86/cpu.h"
#include "lib/print.h"
#include "lib/string.h"

struct cpu_features cpu_features;

static void probe_identity(struct cpu_features *f)
{
	struct cpuid_regs r = cpuid(CPUID_LEAF_VENDOR, 0);
	f->max_leaf = r.eax;
	memcpy(f->vendor_string + 0, &r.ebx, 4);
	memcpy(f->vendor_string + 4, &r.edx, 4);
	memcpy(f->vendor_string + 8, &r.ecx, 4);
	f->vendor_string[12] = 0;
	if (!strcmp(f->vendor_string, "GenuineIntel"))
		f->vendor = VENDOR_INTEL;
	else if (!strcmp(f->vendor_string, "AuthenticAMD") || !strcmp(f->vendor_string, "HygonGenuine"))
		f->vendor = VENDOR_AMD;

	r = cpuid(CPUID_LEAF_FEATURES, 0);
	u32 base_family = (r.eax >> 8) & 0xf, base_model = (r.eax >> 4) & 0xf;
	f->family = base_family == 0xf ? base_family + ((r.eax >> 20) & 0xff) : base_family;
	f->model = (base_family == 0x6 || base_family == 0xf) ? base_model | (((r.eax >> 16) & 0xf) << 4)
							      : base_model;
	f->stepping = r.eax & 0xf;
	f->initial_apic_id = r.ebx >> 24;
	f->vmx = r.ecx & CPUID_1_ECX_VMX;
	f->pcid = r.ecx & CPUID_1_ECX_PCID;
	f->x2apic = r.ecx & CPUID_1_ECX_X2APIC;
	f->tsc_deadline = r.ecx & CPUID_1_ECX_TSC_DEADLINE;
	f->xsave = r.ecx & CPUID_1_ECX_XSAVE;
	f->hypervisor = r.ecx & CPUID_1_ECX_HYPERVISOR;
	f->apic = r.edx & CPUID_1_EDX_APIC;
	f->fxsr = r.edx & CPUID_1_EDX_FXSR;
	if (f->max_leaf >= CPUID_LEAF_EXTENDED_FEATURES)
		f->fsgsbase = cpuid(CPUID_LEAF_EXTENDED_FEATURES, 0).ebx & CPUID_7_EBX_FSGSBASE;
}

static void probe_extended(struct cpu_features *f)
{
	f->max_extended_leaf = cpuid(CPUID_LEAF_EXT_MAX, 0).eax;
	if (f->max_extended_leaf >= CPUID_LEAF_EXT_FEATURES) {
		struct cpuid_regs r = cpuid(CPUID_LEAF_EXT_FEATURES, 0);
		f->svm = r.ecx & CPUID_80000001_ECX_SVM;
		f->nx = r.edx & CPUID_80000001_EDX_NX;
		f->page_1g = r.edx & CPUID_80000001_EDX_PAGE1GB;
		f->long_mode = r.edx & CPUID_80000001_EDX_LM;
	}
	if (f->max_extended_leaf >= CPUID_LEAF_BRAND_LAST) {
		for (u32 leaf = CPUID_LEAF_BRAND_FIRST; leaf <= CPUID_LEAF_BRAND_LAST; leaf++) {
			struct cpuid_regs r = cpuid(leaf, 0);
			memcpy(f->brand + (leaf - CPUID_LEAF_BRAND_FIRST) * 16, &r, 16);
		}
	}
	f->brand[48] = 0;
	if (f->max_extended_leaf >= CPUID_LEAF_POWER)
		f->invariant_tsc = cpuid(CPUID_LEAF_POWER, 0).edx & CPUID_80000007_EDX_INVARIANT_TSC;
	f->physical_address_bits = 36; /* architectural default without the leaf */
	f->linear_address_bits = 48;
	if (f->max_extended_leaf >= CPUID_LEAF_ADDRESS_SIZES) {
		struct cpuid_regs r = cpuid(CPUID_LEAF_ADDRESS_SIZES, 0);
		f->physical_address_bits = r.eax & 0xff;
		f->linear_address_bits = (r.eax >> 8) & 0xff;
	}
}

void cpu_features_probe(void)
{
	probe_identity(&cpu_features);
	probe_extended(&cpu_features);
}

void cpu_features_print(void)
{
	const struct cpu_features *f = &cpu_features;
	const char *brand = f->brand;
	while (*brand == ' ')
		brand++;
	pr_info("cpu: %s \"%s\" family %u model %u stepping %u, %u-bit physical addresses%s",
		f->vendor_string, brand, f->family, f->model, f->stepping, f->physical_address_bits,
		f->hypervisor ? ", running under a hypervisor" : "");
	pr_info("cpu: features: NX %s, 1G pages %s, x2APIC %s, TSC-deadline %s, invariant TSC %s, XSAVE %s",
		f->nx ? "yes" : "no", f->page_1g ? "yes" : "no", f->x2apic ? "yes" : "no",
		f->tsc_deadline ? "yes" : "no", f->invariant_tsc ? "yes" : "no", f->xsave ? "yes" : "no");
}
