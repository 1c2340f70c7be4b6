/* CPU identity and features, probed once at boot (the one source of truth). */
#pragma once
#include "lib/types.h"

enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

struct cpu_features {
	enum cpu_vendor vendor;
	char vendor_string[13];
	char brand[49];
	u32 family, model, stepping;
	u32 max_leaf, max_extended_leaf;
	u32 physical_address_bits, linear_address_bits;
	bool vmx, svm, hypervisor;
	bool nx, page_1g, long_mode;
	bool apic, x2apic, tsc_deadline, invariant_tsc;
	bool xsave, fxsr, pcid, fsgsbase;
	u32 initial_apic_id;
};

extern struct cpu_features cpu_features;

void cpu_features_probe(void);
void cpu_features_print(void);

/* CPUID leaves and bits (SDM Vol. 2A CPUID; AMD APM Vol. 3 appendix E) */
#define CPUID_LEAF_VENDOR 0x0
#define CPUID_LEAF_FEATURES 0x1
#define CPUID_1_ECX_VMX BIT(5)
#define CPUID_1_ECX_PCID BIT(17)
#define CPUID_1_ECX_X2APIC BIT(21)
#define CPUID_1_ECX_TSC_DEADLINE BIT(24)
#define CPUID_1_ECX_XSAVE BIT(26)
#define CPUID_1_ECX_HYPERVISOR BIT(31)
#define CPUID_1_EDX_APIC BIT(9)
#define CPUID_1_EDX_FXSR BIT(24)
#define CPUID_LEAF_EXTENDED_FEATURES 0x7
#define CPUID_7_EBX_FSGSBASE BIT(0)
#define CPUID_LEAF_EXT_MAX 0x80000000
#define CPUID_LEAF_EXT_FEATURES 0x80000001
#define CPUID_80000001_ECX_SVM BIT(2)
#define CPUID_80000001_EDX_NX BIT(20)
#define CPUID_80000001_EDX_PAGE1GB BIT(26)
#define CPUID_80000001_EDX_LM BIT(29)
#define CPUID_LEAF_BRAND_FIRST 0x80000002
#define CPUID_LEAF_BRAND_LAST 0x80000004
#define CPUID_LEAF_POWER 0x80000007
#define CPUID_80000007_EDX_INVARIANT_TSC BIT(8)
#define CPUID_LEAF_ADDRESS_SIZES 0x80000008
#define CPUID_LEAF_SVM 0x8000000a
