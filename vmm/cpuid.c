/*
 * CPUID policy: the guest sees the host CPU minus what Presidio does not
 * virtualize (VT-x/AMD-V, monitoring, performance counters, topology it
 * cannot back), plus the hypervisor bit and Presidio's own leaves.
 */
#include "vmm/cpuid.h"
#include "lib/string.h"

/* Leaf 1 */
#define L1_ECX_MONITOR BIT(3)
#define L1_ECX_DS_CPL BIT(4)
#define L1_ECX_VMX BIT(5)
#define L1_ECX_SMX BIT(6)
#define L1_ECX_EST BIT(7)
#define L1_ECX_TM2 BIT(8)
#define L1_ECX_SDBG BIT(11)
#define L1_ECX_XTPR BIT(14)
#define L1_ECX_PDCM BIT(15)
#define L1_ECX_DCA BIT(18)
#define L1_ECX_X2APIC BIT(21)
#define L1_ECX_TSC_DEADLINE BIT(24)
#define L1_ECX_OSXSAVE BIT(27)
#define L1_ECX_HYPERVISOR BIT(31)
#define L1_EDX_MCE BIT(7)
#define L1_EDX_APIC BIT(9)
#define L1_EDX_MCA BIT(14)
#define L1_EDX_ACPI BIT(22)
#define L1_EDX_DS BIT(21)
#define L1_EDX_HTT BIT(28)
#define L1_EDX_TM BIT(29)
#define L1_EDX_PBE BIT(31)
#define L1_EBX_APIC_ID_SHIFT 24
#define L1_EBX_LOGICAL_COUNT_SHIFT 16
#define L1_EBX_LOW_MASK 0xffff
#define L4_EAX_CORES_SHIFT 26 /* cores per package - 1 */
#define L4_EAX_CORES_MASK (0x3fu << L4_EAX_CORES_SHIFT)
#define L4_CACHE_TYPE_MASK 0x1f /* 0: no more caches */
#define LB_LEVEL_TYPE_SHIFT 8
#define LB_LEVEL_SMT 1
#define LB_LEVEL_CORE 2
#define LB_SHIFT_MASK 0x1f
#define L80000001_ECX_TOPOEXT BIT(22)
#define L80000008_ECX_CORE_ID_SIZE_SHIFT 12
#define LEAF_CACHE_PARAMETERS 0x4
#define LEAF_ADDRESS_SIZES 0x80000008
#define LEAF_AMD_TOPOLOGY 0x8000001e
/* Leaf 7 subleaf 0 */
#define L7_EBX_SGX BIT(2)
#define L7_EBX_PQM BIT(12)
#define L7_EBX_MPX BIT(14)
#define L7_EBX_PQE BIT(15)
#define L7_EBX_INTEL_PT BIT(25)
#define L7_ECX_WAITPKG BIT(5)
#define L7_ECX_LA57 BIT(16)
#define L7_ECX_RDPID BIT(22)
#define L7_ECX_SGX_LC BIT(30)
/* Extended leaves */
#define L80000001_ECX_SVM BIT(2)
#define L80000001_ECX_EXT_APIC_SPACE BIT(3)
#define L80000001_ECX_IBS BIT(10)
#define L80000001_ECX_SKINIT BIT(12)
#define L80000001_ECX_WDT BIT(13)
#define L80000001_ECX_LWP BIT(15)
#define L80000001_ECX_PERFCTR_CORE BIT(23)
#define L80000001_ECX_PERFCTR_NB BIT(24)
#define L80000001_ECX_PERFCTR_LLC BIT(28)
#define L80000001_ECX_MONITORX BIT(29) /* intercepted with MONITOR/MWAIT: #UD */
#define L80000001_EDX_RDTSCP BIT(27)
#define L80000007_EDX_INVARIANT_TSC BIT(8)

#define LEAF_MONITOR 0x5
#define LEAF_THERMAL 0x6
#define LEAF_EXTENDED_FEATURES 0x7
#define LEAF_PERFMON 0xa
#define LEAF_TOPOLOGY 0xb
#define LEAF_TOPOLOGY_V2 0x1f
#define LEAF_XSTATE 0xd
#define LEAF_TSC_CRYSTAL 0x15
#define LEAF_FREQUENCY 0x16
#define HZ_PER_KHZ 1000
#define KHZ_PER_MHZ 1000
#define LEAF_EXT_FEATURES 0x80000001
#define LEAF_EXT_POWER 0x80000007
#define LEAF_SVM 0x8000000a

static const struct cpuid_result zero;

/* Four signature bytes as the little-endian register CPUID returns. */
static u32 signature_word(unsigned offset)
{
	const char *s = &HYPERVISOR_SIGNATURE[offset];
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

static u32 vcpu_count(const struct cpuid_guest_info *info)
{
	return info->vcpu_count ? info->vcpu_count : 1;
}

/* Bits of the APIC ID that number the cores of the one package. */
static u32 core_id_bits(const struct cpuid_guest_info *info)
{
	u32 bits = 0;
	while ((1u << bits) < vcpu_count(info))
		bits++;
	return bits;
}

/* Leaf 0xB: an SMT level of one thread, a core level with every vCPU,
 * EDX the x2APIC ID (= vCPU index, as in the MADT). */
static struct cpuid_result topology_leaf(u32 subleaf, const struct cpuid_guest_info *info)
{
	struct cpuid_result r = { 0, 0, subleaf & 0xff, info->vcpu_id };
	if (subleaf == 0) {
		r.ebx = 1;
		r.ecx |= LB_LEVEL_SMT << LB_LEVEL_TYPE_SHIFT;
	} else if (subleaf == 1) {
		r.eax = core_id_bits(info) & LB_SHIFT_MASK;
		r.ebx = vcpu_count(info);
		r.ecx |= LB_LEVEL_CORE << LB_LEVEL_TYPE_SHIFT;
	}
	return r;
}

static struct cpuid_result leaf1(struct cpuid_result r, const struct cpuid_guest_info *info)
{
	r.ecx &= ~(L1_ECX_MONITOR | L1_ECX_DS_CPL | L1_ECX_VMX | L1_ECX_SMX | L1_ECX_EST |
		   L1_ECX_TM2 | L1_ECX_SDBG | L1_ECX_XTPR | L1_ECX_PDCM | L1_ECX_DCA |
		   L1_ECX_OSXSAVE);
	/* The local APIC is Presidio's model (vmm/dev/lapic.c), whatever the host
	 * has: xAPIC, x2APIC and the TSC-deadline timer. */
	r.ecx |= L1_ECX_HYPERVISOR | L1_ECX_X2APIC | L1_ECX_TSC_DEADLINE |
		 (info->guest_osxsave ? L1_ECX_OSXSAVE : 0);
	r.edx |= L1_EDX_APIC;
	/* Machine checks are the host's business: no MCG/MCi MSRs for the guest. */
	r.edx &= ~(L1_EDX_ACPI | L1_EDX_DS | L1_EDX_HTT | L1_EDX_TM | L1_EDX_PBE | L1_EDX_MCE |
		   L1_EDX_MCA);
	r.ebx = (r.ebx & L1_EBX_LOW_MASK) | ((1u << core_id_bits(info)) << L1_EBX_LOGICAL_COUNT_SHIFT) |
		(info->vcpu_id << L1_EBX_APIC_ID_SHIFT);
	if (vcpu_count(info) > 1)
		r.edx |= L1_EDX_HTT; /* "the logical count is valid", not hyper-threads */
	return r;
}

static struct cpuid_result hypervisor_leaf(u32 leaf, const struct cpuid_guest_info *info)
{
	struct cpuid_result r = zero;
	if (leaf == CPUID_HYPERVISOR_BASE) {
		r.eax = CPUID_HYPERVISOR_TIMING;
		r.ebx = signature_word(0);
		r.ecx = signature_word(4);
		r.edx = signature_word(8);
	} else if (leaf == CPUID_HYPERVISOR_TIMING) {
		r.eax = info->tsc_khz;
		r.ebx = CPUID_APIC_BUS_KHZ;
	}
	return r;
}

struct cpuid_result cpuid_filter(u32 leaf, u32 subleaf, struct cpuid_result r,
				 const struct cpuid_guest_info *info)
{
	if (leaf >= CPUID_HYPERVISOR_BASE && leaf <= CPUID_HYPERVISOR_BASE + 0xffff)
		return hypervisor_leaf(leaf, info);
	switch (leaf) {
	case 1:
		return leaf1(r, info);
	case LEAF_TOPOLOGY:
		return topology_leaf(subleaf, info);
	case LEAF_CACHE_PARAMETERS:
		if (r.eax & L4_CACHE_TYPE_MASK)
			r.eax = (r.eax & ~L4_EAX_CORES_MASK) |
				((((1u << core_id_bits(info)) - 1) << L4_EAX_CORES_SHIFT) & L4_EAX_CORES_MASK);
		return r;
	case LEAF_ADDRESS_SIZES:
		/* AMD: NC (cores - 1) and the APIC ID bits that number them. */
		r.ecx = (vcpu_count(info) - 1) | (core_id_bits(info) << L80000008_ECX_CORE_ID_SIZE_SHIFT);
		return r;
	case LEAF_AMD_TOPOLOGY:
		return zero; /* TOPOEXT is hidden: the host's numbering is not the VM's */
	case LEAF_MONITOR:
	case LEAF_THERMAL:
	case LEAF_PERFMON:
	case LEAF_TOPOLOGY_V2:
	case LEAF_SVM:
		return zero;
	case LEAF_EXTENDED_FEATURES:
		if (subleaf == 0) {
			r.ebx &= ~(L7_EBX_SGX | L7_EBX_PQM | L7_EBX_MPX | L7_EBX_PQE | L7_EBX_INTEL_PT);
			r.ecx &= ~(L7_ECX_WAITPKG | L7_ECX_LA57 | L7_ECX_RDPID | L7_ECX_SGX_LC);
		}
		return r;
	case LEAF_TSC_CRYSTAL:
		/* The TSC rate Presidio measured (and runs guest timers from), as
		 * TSC = crystal (ECX Hz) * EBX / EAX: no calibration guesswork. */
		if (info->tsc_khz) {
			u64 hz = (u64)info->tsc_khz * HZ_PER_KHZ;
			u32 ratio = (u32)(hz >> 32) + 1;
			r = (struct cpuid_result){ 1, ratio, (u32)(hz / ratio), 0 };
		}
		return r;
	case LEAF_FREQUENCY:
		if (info->tsc_khz)
			r = (struct cpuid_result){ info->tsc_khz / KHZ_PER_MHZ, info->tsc_khz / KHZ_PER_MHZ, 0, 0 };
		return r;
	case LEAF_XSTATE:
		/* Only the components Presidio switches between vCPUs; the sizes in
		 * EBX follow the guest's live XCR0, ECX is an upper bound. */
		if (subleaf == 0) {
			r.eax &= (u32)info->xcr0_supported;
			r.edx &= (u32)(info->xcr0_supported >> 32);
		}
		return r;
	case LEAF_EXT_FEATURES:
		r.ecx &= ~(L80000001_ECX_SVM | L80000001_ECX_EXT_APIC_SPACE | L80000001_ECX_IBS | L80000001_ECX_SKINIT |
			   L80000001_ECX_WDT | L80000001_ECX_LWP | L80000001_ECX_PERFCTR_CORE |
			   L80000001_ECX_PERFCTR_NB | L80000001_ECX_PERFCTR_LLC | L80000001_ECX_MONITORX |
			   L80000001_ECX_TOPOEXT);
		r.edx &= ~L80000001_EDX_RDTSCP; /* TSC_AUX is not virtualized */
		return r;
	case LEAF_EXT_POWER:
		r.eax = r.ebx = r.ecx = 0;
		r.edx &= L80000007_EDX_INVARIANT_TSC;
		return r;
	default:
		return r;
	}
}
