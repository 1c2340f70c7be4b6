/*
 * Unit tests for vmm/cpuid.c: the CPUID policy (what a guest sees of the
 * host's CPUID). cpuid_filter is pure, so every test feeds it host values
 * (all-ones as a stress input, and register dumps of real Intel and AMD
 * parts) and checks the answer bit by bit.
 *
 * Bit positions are written out here from the Intel SDM vol. 2A (CPUID
 * instruction, tables 3-8 to 3-11, leaf 7 and leaf 0x80000001 listings) and
 * the AMD APM vol. 3 (appendix E, "Obtaining Processor Information Via the
 * CPUID Instruction"); the constants in cpuid.c are deliberately not used.
 */
#include "tests/unit/host_support.h"
#include "vmm/cpuid.c"

#include <string.h>

#define B(n) (1u << (n))

/* Leaf 1 ECX (SDM table 3-10) */
#define SDM1_ECX_SSE3 B(0)
#define SDM1_ECX_PCLMULQDQ B(1)
#define SDM1_ECX_MONITOR B(3)
#define SDM1_ECX_VMX B(5)
#define SDM1_ECX_SMX B(6)
#define SDM1_ECX_SSSE3 B(9)
#define SDM1_ECX_FMA B(12)
#define SDM1_ECX_CMPXCHG16B B(13)
#define SDM1_ECX_SSE41 B(19)
#define SDM1_ECX_SSE42 B(20)
#define SDM1_ECX_X2APIC B(21)
#define SDM1_ECX_MOVBE B(22)
#define SDM1_ECX_POPCNT B(23)
#define SDM1_ECX_TSC_DEADLINE B(24)
#define SDM1_ECX_AES B(25)
#define SDM1_ECX_XSAVE B(26)
#define SDM1_ECX_OSXSAVE B(27)
#define SDM1_ECX_AVX B(28)
#define SDM1_ECX_F16C B(29)
#define SDM1_ECX_RDRAND B(30)
#define SDM1_ECX_HYPERVISOR B(31) /* reserved for hypervisors: 0 on hardware */

/* Leaf 1 EDX (SDM table 3-11) */
#define SDM1_EDX_FPU B(0)
#define SDM1_EDX_VME B(1)
#define SDM1_EDX_DE B(2)
#define SDM1_EDX_PSE B(3)
#define SDM1_EDX_TSC B(4)
#define SDM1_EDX_MSR B(5)
#define SDM1_EDX_PAE B(6)
#define SDM1_EDX_CX8 B(8)
#define SDM1_EDX_APIC B(9)
#define SDM1_EDX_SEP B(11)
#define SDM1_EDX_MTRR B(12)
#define SDM1_EDX_PGE B(13)
#define SDM1_EDX_CMOV B(15)
#define SDM1_EDX_PAT B(16)
#define SDM1_EDX_PSE36 B(17)
#define SDM1_EDX_CLFSH B(19)
#define SDM1_EDX_MMX B(23)
#define SDM1_EDX_FXSR B(24)
#define SDM1_EDX_SSE B(25)
#define SDM1_EDX_SSE2 B(26)
#define SDM1_EDX_HTT B(28)

/* Leaf 1 EBX fields (SDM table 3-8) */
#define SDM1_EBX_LOW_16 0x0000ffffu          /* brand index, CLFLUSH line size */
#define SDM1_EBX_LOGICAL_SHIFT 16            /* [23:16] max addressable logical IDs */
#define SDM1_EBX_LOGICAL_MASK 0x00ff0000u
#define SDM1_EBX_APIC_ID_SHIFT 24            /* [31:24] initial APIC ID */

/* Leaf 7 subleaf 0 (SDM table 3-8, leaf 07H) */
#define SDM7_EBX_FSGSBASE B(0)
#define SDM7_EBX_SGX B(2)
#define SDM7_EBX_BMI1 B(3)
#define SDM7_EBX_AVX2 B(5)
#define SDM7_EBX_SMEP B(7)
#define SDM7_EBX_BMI2 B(8)
#define SDM7_EBX_ERMS B(9)
#define SDM7_EBX_INVPCID B(10)
#define SDM7_EBX_RDT_M B(12)
#define SDM7_EBX_MPX B(14)
#define SDM7_EBX_RDT_A B(15)
#define SDM7_EBX_AVX512F B(16)
#define SDM7_EBX_RDSEED B(18)
#define SDM7_EBX_ADX B(19)
#define SDM7_EBX_SMAP B(20)
#define SDM7_EBX_CLFLUSHOPT B(23)
#define SDM7_EBX_CLWB B(24)
#define SDM7_EBX_INTEL_PT B(25)
#define SDM7_EBX_SHA B(29)
#define SDM7_ECX_UMIP B(2)
#define SDM7_ECX_PKU B(3)
#define SDM7_ECX_WAITPKG B(5)
#define SDM7_ECX_GFNI B(8)
#define SDM7_ECX_VAES B(9)
#define SDM7_ECX_LA57 B(16)
#define SDM7_ECX_RDPID B(22)
#define SDM7_ECX_SGX_LC B(30)

/* Leaf 0x80000001 (APM vol. 3 E.4.2; SDM for the Intel subset) */
#define APM81_ECX_LAHF_SAHF B(0)
#define APM81_ECX_CMP_LEGACY B(1)
#define APM81_ECX_SVM B(2)
#define APM81_ECX_EXT_APIC_SPACE B(3) /* APIC registers 0x400+: not in the model */
#define APM81_ECX_ABM B(5)         /* LZCNT */
#define APM81_ECX_SSE4A B(6)
#define APM81_ECX_3DNOW_PREFETCH B(8) /* PREFETCHW */
#define APM81_ECX_XOP B(11)
#define APM81_ECX_SKINIT B(12)
#define APM81_ECX_FMA4 B(16)
#define APM81_ECX_TBM B(21)
#define APM81_ECX_PERFCTR_CORE B(23)
#define APM81_ECX_PERFCTR_NB B(24)
#define APM81_ECX_MONITORX B(29)
#define APM81_EDX_SYSCALL B(11)
#define APM81_EDX_NX B(20)
#define APM81_EDX_PAGE1GB B(26)
#define APM81_EDX_RDTSCP B(27)
#define APM81_EDX_LM B(29)

/* Leaf 0x80000007 EDX (APM E.4.6; SDM "Invariant TSC") */
#define APM87_EDX_INVARIANT_TSC B(8)

#define ALL 0xffffffffu

static const struct cpuid_result all_ones = { ALL, ALL, ALL, ALL };
static const struct cpuid_guest_info info0 = { .vcpu_id = 0, .guest_osxsave = false, .tsc_khz = 0 };

static struct cpuid_result filter(u32 leaf, u32 subleaf, struct cpuid_result host,
				  const struct cpuid_guest_info *info)
{
	/* pure: the same inputs give the same answer, and the inputs are left alone */
	struct cpuid_guest_info copy = *info;
	struct cpuid_result a = cpuid_filter(leaf, subleaf, host, info);
	struct cpuid_result b = cpuid_filter(leaf, subleaf, host, info);
	assert_memory_equal(&a, &b, sizeof(a));
	assert_memory_equal(&copy, info, sizeof(copy));
	return a;
}

#define assert_set(reg, bits) assert_int_equal((reg) & (bits), (bits))
#define assert_clear(reg, bits) assert_int_equal((reg) & (bits), 0)
#define assert_regs(r, a, b, c, d)                   \
	do {                                         \
		assert_int_equal((r).eax, (u32)(a)); \
		assert_int_equal((r).ebx, (u32)(b)); \
		assert_int_equal((r).ecx, (u32)(c)); \
		assert_int_equal((r).edx, (u32)(d)); \
	} while (0)

/* Bits a guest needs and Presidio has no reason to hide. */
#define LEAF1_ECX_KEPT (SDM1_ECX_SSE3 | SDM1_ECX_PCLMULQDQ | SDM1_ECX_SSSE3 | SDM1_ECX_FMA |      \
			SDM1_ECX_CMPXCHG16B | SDM1_ECX_SSE41 | SDM1_ECX_SSE42 | SDM1_ECX_MOVBE |   \
			SDM1_ECX_POPCNT | SDM1_ECX_AES | SDM1_ECX_XSAVE | SDM1_ECX_AVX |           \
			SDM1_ECX_F16C | SDM1_ECX_RDRAND)
#define LEAF1_EDX_KEPT (SDM1_EDX_FPU | SDM1_EDX_VME | SDM1_EDX_DE | SDM1_EDX_PSE | SDM1_EDX_TSC |  \
			SDM1_EDX_MSR | SDM1_EDX_PAE | SDM1_EDX_CX8 | SDM1_EDX_SEP | SDM1_EDX_MTRR | \
			SDM1_EDX_PGE | SDM1_EDX_CMOV | SDM1_EDX_PAT | SDM1_EDX_PSE36 |              \
			SDM1_EDX_CLFSH | SDM1_EDX_MMX | SDM1_EDX_FXSR | SDM1_EDX_SSE |             \
			SDM1_EDX_SSE2)
#define LEAF1_ECX_HIDDEN (SDM1_ECX_VMX | SDM1_ECX_SMX | SDM1_ECX_MONITOR)
#define LEAF1_EDX_HIDDEN SDM1_EDX_HTT
/* The local APIC is Presidio's model: advertised whatever the host has. */
#define LEAF1_ECX_VIRTUAL_APIC (SDM1_ECX_X2APIC | SDM1_ECX_TSC_DEADLINE)
#define LEAF1_EDX_VIRTUAL_APIC SDM1_EDX_APIC

/* Checks leaf 1 for one host input and guest state. */
static void check_leaf1(struct cpuid_result host, u32 vcpu_id, bool osxsave)
{
	struct cpuid_guest_info info = { .vcpu_id = vcpu_id, .guest_osxsave = osxsave, .tsc_khz = 1 };
	struct cpuid_result g = filter(1, 0, host, &info);
	/* EAX (family/model/stepping) is the host's */
	assert_int_equal(g.eax, host.eax);
	/* ECX */
	assert_clear(g.ecx, LEAF1_ECX_HIDDEN);
	assert_set(g.ecx, SDM1_ECX_HYPERVISOR | LEAF1_ECX_VIRTUAL_APIC);
	assert_set(g.edx, LEAF1_EDX_VIRTUAL_APIC);
	assert_int_equal(!!(g.ecx & SDM1_ECX_OSXSAVE), osxsave);
	assert_int_equal(g.ecx & LEAF1_ECX_KEPT, host.ecx & LEAF1_ECX_KEPT);
	/* EDX */
	assert_clear(g.edx, LEAF1_EDX_HIDDEN);
	assert_int_equal(g.edx & LEAF1_EDX_KEPT, host.edx & LEAF1_EDX_KEPT);
	/* EBX: APIC ID = vCPU, one logical processor, low half kept */
	assert_int_equal(g.ebx >> SDM1_EBX_APIC_ID_SHIFT, vcpu_id);
	assert_int_equal((g.ebx & SDM1_EBX_LOGICAL_MASK) >> SDM1_EBX_LOGICAL_SHIFT, 1);
	assert_int_equal(g.ebx & SDM1_EBX_LOW_16, host.ebx & SDM1_EBX_LOW_16);
}

static void test_leaf1_all_ones(void **state)
{
	(void)state;
	const u32 ids[] = { 0, 1, 2, 7, 0x80, 0xff };
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++) {
		check_leaf1(all_ones, ids[i], false);
		check_leaf1(all_ones, ids[i], true);
	}
	/* the exact EBX for all-ones: */
	struct cpuid_guest_info info = { .vcpu_id = 5 };
	assert_int_equal(filter(1, 0, all_ones, &info).ebx, 0x0501ffffu);
}

static void test_leaf1_all_zeros(void **state)
{
	(void)state;
	const struct cpuid_result zeros = { 0, 0, 0, 0 };
	struct cpuid_guest_info info = { .vcpu_id = 3, .guest_osxsave = true };
	struct cpuid_result g = filter(1, 0, zeros, &info);
	/* nothing appears from nowhere but the hypervisor bit, OSXSAVE as the
	 * guest set it, the local APIC model's bits and the topology fields */
	assert_regs(g, 0, 0x03010000u, SDM1_ECX_HYPERVISOR | SDM1_ECX_OSXSAVE | LEAF1_ECX_VIRTUAL_APIC,
		    LEAF1_EDX_VIRTUAL_APIC);
	info.guest_osxsave = false;
	g = filter(1, 0, zeros, &info);
	assert_regs(g, 0, 0x03010000u, SDM1_ECX_HYPERVISOR | LEAF1_ECX_VIRTUAL_APIC, LEAF1_EDX_VIRTUAL_APIC);
}

static void test_leaf1_osxsave_mirrors_guest(void **state)
{
	(void)state;
	/* host OSXSAVE says what the *host* CR4 holds: irrelevant to the guest */
	struct cpuid_result host = { 0x000906ea, 0x00100800, 0x7ffafbbf, 0xbfebfbff };
	struct cpuid_guest_info info = { .vcpu_id = 0, .guest_osxsave = false };
	host.ecx |= SDM1_ECX_OSXSAVE;
	assert_clear(filter(1, 0, host, &info).ecx, SDM1_ECX_OSXSAVE);
	info.guest_osxsave = true;
	host.ecx &= ~SDM1_ECX_OSXSAVE;
	assert_set(filter(1, 0, host, &info).ecx, SDM1_ECX_OSXSAVE);
}

/* Register dumps of real parts (leaf: eax ebx ecx edx). */
static const struct cpuid_result intel_skylake_leaf1 = { 0x000506e3, 0x03100800, 0x7ffafbbf, 0xbfebfbff };
static const struct cpuid_result intel_icelake_leaf1 = { 0x000606a6, 0x1a400800, 0xfffaf3bf, 0xbfebfbff };
static const struct cpuid_result amd_zen2_leaf1 = { 0x00830f10, 0x0b400800, 0x7ed8320b, 0x178bfbff };
static const struct cpuid_result amd_zen4_leaf1 = { 0x00a10f11, 0x2c200800, 0x7efa320b, 0x178bfbff };

static void test_leaf1_real_parts(void **state)
{
	(void)state;
	const struct cpuid_result *parts[] = { &intel_skylake_leaf1, &intel_icelake_leaf1,
					       &amd_zen2_leaf1, &amd_zen4_leaf1 };
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		check_leaf1(*parts[i], 0, false);
		check_leaf1(*parts[i], 1, true);
		check_leaf1(*parts[i], 3, true);
	}
	/* Skylake: VMX on the host, hidden; SSE4.2/AVX/RDRAND seen */
	assert_set(intel_skylake_leaf1.ecx, SDM1_ECX_VMX);
	struct cpuid_guest_info info = { .vcpu_id = 2, .guest_osxsave = true };
	struct cpuid_result g = filter(1, 0, intel_skylake_leaf1, &info);
	assert_clear(g.ecx, SDM1_ECX_VMX | SDM1_ECX_MONITOR);
	assert_set(g.ecx, SDM1_ECX_TSC_DEADLINE); /* the model's timer, not the host's */
	assert_set(g.ecx, SDM1_ECX_SSE42 | SDM1_ECX_AVX | SDM1_ECX_RDRAND | SDM1_ECX_XSAVE);
	assert_set(g.edx, SDM1_EDX_SSE2 | SDM1_EDX_PAE | SDM1_EDX_TSC | SDM1_EDX_MSR);
	assert_int_equal(g.ebx, 0x02010800u); /* APIC ID 2, 1 logical, 64-byte CLFLUSH */
	/* Zen 2: host EBX 0x0b400800 (APIC ID 11, 64 logical) -> vCPU 0, one logical */
	g = filter(1, 0, amd_zen2_leaf1, &info0);
	assert_int_equal(g.ebx, 0x00010800u);
	assert_clear(g.edx, SDM1_EDX_HTT);
	assert_set(g.edx, SDM1_EDX_APIC);
}

/* Leaves that are all zero whatever the host says. */
/* The topology the MADT describes: one package, a core per vCPU, the x2APIC
 * ID = vCPU index in leaf 0xB, the logical count in leaf 1, NC on AMD. */
static void test_topology(void **state)
{
	(void)state;
	struct cpuid_guest_info info = { .vcpu_id = 2, .vcpu_count = 3 };
	struct cpuid_result smt = filter(0xb, 0, all_ones, &info), core = filter(0xb, 1, all_ones, &info),
			    end = filter(0xb, 2, all_ones, &info);
	assert_regs(smt, 0, 1, 0x100, 2);
	assert_regs(core, 2, 3, 0x201, 2); /* 2 bits of APIC ID number 3 cores */
	assert_regs(end, 0, 0, 2, 2);
	struct cpuid_result l1 = filter(1, 0, all_ones, &info);
	assert_int_equal((l1.ebx >> 16) & 0xff, 4);
	assert_int_equal(l1.ebx >> 24, 2);
	assert_true(l1.edx & (1u << 28)); /* HTT: the count is valid */
	struct cpuid_result amd = filter(0x80000008, 0, all_ones, &info);
	assert_int_equal(amd.ecx & 0xff, 2);
	assert_int_equal((amd.ecx >> 12) & 0xf, 2);
	struct cpuid_guest_info one = { .vcpu_id = 0, .vcpu_count = 1 };
	assert_false(filter(1, 0, all_ones, &one).edx & (1u << 28));
	assert_int_equal((filter(1, 0, all_ones, &one).ebx >> 16) & 0xff, 1);
}

static void test_zeroed_leaves(void **state)
{
	(void)state;
	const u32 leaves[] = { 0x5, 0x6, 0xa, 0x1f, 0x8000000a };
	const u32 subleaves[] = { 0, 1, 2, 0xff };
	const struct cpuid_result realistic[] = {
		{ 0x40, 0x40, 0x3, 0x11142120 },        /* leaf 5 on Skylake */
		{ 0x77, 0x2, 0x9, 0x0 },                 /* leaf 6 */
		{ 0x07300404, 0x0, 0x0, 0x00000603 },    /* leaf 0xA: arch perfmon v4 */
		{ 0x1, 0x2, 0x100, 0x3 },                /* leaf 0xB: SMT level */
		{ 0x1, 0x0000fff8, 0x0, 0x0001b6ff },   /* leaf 0x8000000A on Zen */
	};
	for (size_t l = 0; l < ARRAY_SIZE(leaves); l++)
		for (size_t s = 0; s < ARRAY_SIZE(subleaves); s++) {
			struct cpuid_guest_info info = { .vcpu_id = 1, .guest_osxsave = true, .tsc_khz = 3000000 };
			assert_regs(filter(leaves[l], subleaves[s], all_ones, &info), 0, 0, 0, 0);
			for (size_t r = 0; r < ARRAY_SIZE(realistic); r++)
				assert_regs(filter(leaves[l], subleaves[s], realistic[r], &info), 0, 0, 0, 0);
		}
}

/* Leaf 7 subleaf 0: bits the SDM defines as depending on a hidden feature or
 * on MSRs the allow-list does not pass may go too (see the report): SGX
 * launch control (ECX 30) is only meaningful with SGX; RDT monitoring and
 * allocation (EBX 12, 15) need IA32_PQR_ASSOC/IA32_QM_EVTSEL. */
#define LEAF7_EBX_HIDDEN (SDM7_EBX_SGX | SDM7_EBX_MPX | SDM7_EBX_INTEL_PT)
#define LEAF7_ECX_HIDDEN (SDM7_ECX_WAITPKG | SDM7_ECX_LA57 | SDM7_ECX_RDPID)
#define LEAF7_EBX_DEPENDENT (SDM7_EBX_RDT_M | SDM7_EBX_RDT_A)
#define LEAF7_ECX_DEPENDENT (SDM7_ECX_SGX_LC)

static void check_leaf7_subleaf0(struct cpuid_result host)
{
	struct cpuid_result g = filter(7, 0, host, &info0);
	assert_int_equal(g.eax, host.eax); /* the highest subleaf */
	assert_clear(g.ebx, LEAF7_EBX_HIDDEN);
	assert_clear(g.ecx, LEAF7_ECX_HIDDEN);
	/* every other bit kept */
	u32 ebx_other = ~(LEAF7_EBX_HIDDEN | LEAF7_EBX_DEPENDENT);
	u32 ecx_other = ~(LEAF7_ECX_HIDDEN | LEAF7_ECX_DEPENDENT);
	assert_int_equal(g.ebx & ebx_other, host.ebx & ebx_other);
	assert_int_equal(g.ecx & ecx_other, host.ecx & ecx_other);
	assert_int_equal(g.edx, host.edx);
	/* nothing added */
	assert_int_equal(g.ebx & ~host.ebx, 0);
	assert_int_equal(g.ecx & ~host.ecx, 0);
}

static void test_leaf7(void **state)
{
	(void)state;
	check_leaf7_subleaf0(all_ones);
	/* all-ones, exactly, for the bits this test names */
	struct cpuid_result g = filter(7, 0, all_ones, &info0);
	assert_int_equal(g.eax, ALL);
	assert_int_equal(g.edx, ALL);
	assert_set(g.ebx, SDM7_EBX_FSGSBASE | SDM7_EBX_BMI1 | SDM7_EBX_AVX2 | SDM7_EBX_SMEP |
			  SDM7_EBX_BMI2 | SDM7_EBX_ERMS | SDM7_EBX_INVPCID | SDM7_EBX_AVX512F |
			  SDM7_EBX_RDSEED | SDM7_EBX_ADX | SDM7_EBX_SMAP | SDM7_EBX_CLFLUSHOPT |
			  SDM7_EBX_CLWB | SDM7_EBX_SHA);
	assert_set(g.ecx, SDM7_ECX_UMIP | SDM7_ECX_PKU | SDM7_ECX_GFNI | SDM7_ECX_VAES);

	/* Skylake client, Ice Lake server, Alder Lake, Zen 3 */
	const struct cpuid_result parts[] = {
		{ 0x0, 0x029c6fbf, 0x40000000, 0xbc002e00 },
		{ 0x0, 0xf3bfb7ef, 0x40417f5e, 0xbc040412 },
		{ 0x1, 0x239c27eb, 0x98c027ac, 0xfc1cc410 },
		{ 0x0, 0x219c97a9, 0x0040069c, 0x00000010 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(parts); i++)
		check_leaf7_subleaf0(parts[i]);
	/* Skylake client has SGX (EBX 2) and MPX (EBX 14): both hidden */
	assert_set(parts[0].ebx, SDM7_EBX_SGX | SDM7_EBX_MPX);
	g = filter(7, 0, parts[0], &info0);
	assert_clear(g.ebx, SDM7_EBX_SGX | SDM7_EBX_MPX);
	assert_set(g.ebx, SDM7_EBX_AVX2 | SDM7_EBX_SMEP | SDM7_EBX_ERMS);
	/* Ice Lake server has LA57 (ECX 16) and RDPID (ECX 22): hidden */
	assert_set(parts[1].ecx, SDM7_ECX_LA57 | SDM7_ECX_RDPID);
	g = filter(7, 0, parts[1], &info0);
	assert_clear(g.ecx, SDM7_ECX_LA57 | SDM7_ECX_RDPID);
	assert_set(g.ecx, SDM7_ECX_GFNI | SDM7_ECX_VAES | SDM7_ECX_UMIP);
	/* Alder Lake has WAITPKG (ECX 5): hidden */
	assert_set(parts[2].ecx, SDM7_ECX_WAITPKG);
	assert_clear(filter(7, 0, parts[2], &info0).ecx, SDM7_ECX_WAITPKG);
}

static void test_leaf7_other_subleaves_untouched(void **state)
{
	(void)state;
	const struct cpuid_result s1 = { 0x00400810, 0x1, 0x0, 0x0 }; /* AVX-VNNI, HRESET... */
	for (u32 sub = 1; sub < 4; sub++) {
		struct cpuid_result g = filter(7, sub, all_ones, &info0);
		assert_regs(g, ALL, ALL, ALL, ALL);
		g = filter(7, sub, s1, &info0);
		assert_regs(g, s1.eax, s1.ebx, s1.ecx, s1.edx);
	}
}

static void check_ext1(struct cpuid_result host)
{
	struct cpuid_result g = filter(0x80000001, 0, host, &info0);
	assert_int_equal(g.eax, host.eax);
	assert_int_equal(g.ebx, host.ebx);
	assert_clear(g.ecx, APM81_ECX_SVM | APM81_ECX_SKINIT | APM81_ECX_PERFCTR_CORE |
			    APM81_ECX_PERFCTR_NB | APM81_ECX_EXT_APIC_SPACE);
	/* MONITORX/MWAITX: the MONITOR/MWAIT intercepts cover them (APM vol. 2,
	 * table B-1, intercept vector 4 bits 10-12) and Presidio answers those
	 * with #UD, so they must be hidden like leaf 1 MONITOR. */
	assert_clear(g.ecx, APM81_ECX_MONITORX);
	assert_clear(g.edx, APM81_EDX_RDTSCP);
	const u32 ecx_kept = APM81_ECX_LAHF_SAHF | APM81_ECX_CMP_LEGACY | APM81_ECX_ABM |
			     APM81_ECX_SSE4A | APM81_ECX_3DNOW_PREFETCH | APM81_ECX_XOP |
			     APM81_ECX_FMA4 | APM81_ECX_TBM;
	const u32 edx_kept = APM81_EDX_SYSCALL | APM81_EDX_NX | APM81_EDX_PAGE1GB | APM81_EDX_LM;
	assert_int_equal(g.ecx & ecx_kept, host.ecx & ecx_kept);
	assert_int_equal(g.edx & edx_kept, host.edx & edx_kept);
	assert_int_equal(g.ecx & ~host.ecx, 0);
	assert_int_equal(g.edx & ~host.edx, 0);
}

static void test_ext_features(void **state)
{
	(void)state;
	check_ext1(all_ones);
	const struct cpuid_result intel = { 0x0, 0x0, 0x00000121, 0x2c100800 };
	const struct cpuid_result zen2 = { 0x00830f10, 0x40000000, 0x75c237ff, 0x2fd3fbff };
	check_ext1(intel);
	check_ext1(zen2);
	/* Intel: LAHF, LZCNT, PREFETCHW kept; SYSCALL, NX, 1G pages, LM kept; RDTSCP gone */
	struct cpuid_result g = filter(0x80000001, 0, intel, &info0);
	assert_int_equal(g.ecx, 0x00000121u);
	assert_int_equal(g.edx, 0x2c100800u & ~APM81_EDX_RDTSCP);
	/* Zen 2 has SVM, SKINIT, both perf counter extensions and MONITORX: gone */
	assert_set(zen2.ecx, APM81_ECX_SVM | APM81_ECX_SKINIT | APM81_ECX_PERFCTR_CORE |
			     APM81_ECX_PERFCTR_NB | APM81_ECX_MONITORX);
	g = filter(0x80000001, 0, zen2, &info0);
	assert_clear(g.ecx, APM81_ECX_SVM | APM81_ECX_SKINIT | APM81_ECX_PERFCTR_CORE |
			    APM81_ECX_PERFCTR_NB | APM81_ECX_MONITORX);
	assert_set(g.ecx, APM81_ECX_LAHF_SAHF | APM81_ECX_ABM | APM81_ECX_SSE4A);
	assert_set(g.edx, APM81_EDX_LM | APM81_EDX_NX | APM81_EDX_SYSCALL | APM81_EDX_PAGE1GB);
	assert_clear(g.edx, APM81_EDX_RDTSCP);
}

static void test_ext_power(void **state)
{
	(void)state;
	assert_regs(filter(0x80000007, 0, all_ones, &info0), 0, 0, 0, APM87_EDX_INVARIANT_TSC);
	/* Zen: EBX/EDX carry RAS and power-management bits; only invariant TSC stays */
	const struct cpuid_result zen = { 0x0, 0x0000001b, 0x0, 0x00006799 };
	assert_regs(filter(0x80000007, 0, zen, &info0), 0, 0, 0, APM87_EDX_INVARIANT_TSC);
	/* no invariant TSC on the host: none for the guest */
	const struct cpuid_result old = { 0x0, 0x0, 0x0, 0x000000ff & ~APM87_EDX_INVARIANT_TSC };
	assert_regs(filter(0x80000007, 0, old, &info0), 0, 0, 0, 0);
	/* Intel: only EDX 8 is defined */
	const struct cpuid_result intel = { 0, 0, 0, APM87_EDX_INVARIANT_TSC };
	assert_regs(filter(0x80000007, 0, intel, &info0), 0, 0, 0, APM87_EDX_INVARIANT_TSC);
}

/* The signature as a guest reads it: EBX, ECX, EDX little-endian bytes. */
static u32 le32(const char *s)
{
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

static void test_hypervisor_base_leaf(void **state)
{
	(void)state;
	const struct cpuid_result hosts[] = { all_ones, { 0, 0, 0, 0 }, { 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 } };
	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++) {
		struct cpuid_guest_info info = { .vcpu_id = (u32)i, .guest_osxsave = i & 1, .tsc_khz = 2400000 };
		struct cpuid_result g = filter(0x40000000, (u32)i, hosts[i], &info);
		assert_int_equal(g.eax, 0x40000010u);
		assert_int_equal(g.ebx, le32("Pres"));
		assert_int_equal(g.ecx, le32("idio"));
		assert_int_equal(g.edx, 0);
		char sig[12];
		memcpy(sig + 0, &g.ebx, 4);
		memcpy(sig + 4, &g.ecx, 4);
		memcpy(sig + 8, &g.edx, 4);
		assert_memory_equal(sig, "Presidio\0\0\0\0", 12);
	}
	/* the same numbers, spelled out */
	struct cpuid_result g = filter(0x40000000, 0, all_ones, &info0);
	assert_regs(g, 0x40000010, 0x73657250, 0x6f696469, 0);
}

static void test_hypervisor_timing_leaf(void **state)
{
	(void)state;
	const u32 khz[] = { 0, 1, 2400000, 2999999, 0xffffffffu };
	for (size_t i = 0; i < ARRAY_SIZE(khz); i++) {
		struct cpuid_guest_info info = { .vcpu_id = 1, .tsc_khz = khz[i] };
		/* host values for this leaf are whatever the CPU answers for an
		 * unknown leaf: none of them may leak */
		/* EBX: the local APIC timer's 1 GHz input clock in kHz */
		assert_regs(filter(0x40000010, 0, all_ones, &info), khz[i], 1000000, 0, 0);
	}
}

static void test_other_hypervisor_leaves_zero(void **state)
{
	(void)state;
	const u32 leaves[] = { 0x40000001, 0x40000002, 0x40000003, 0x40000004, 0x40000005,
			       0x4000000f, 0x40000011, 0x40000012, 0x40000020, 0x40000100,
			       0x40000101, 0x40001000, 0x4000fffe, 0x4000ffff };
	struct cpuid_guest_info info = { .vcpu_id = 4, .guest_osxsave = true, .tsc_khz = 3000000 };
	for (size_t i = 0; i < ARRAY_SIZE(leaves); i++) {
		assert_regs(filter(leaves[i], 0, all_ones, &info), 0, 0, 0, 0);
		assert_regs(filter(leaves[i], 1, all_ones, &info), 0, 0, 0, 0);
	}
}

static void test_passthrough_leaves(void **state)
{
	(void)state;
	/* x87, SSE, AVX and PKRU: what the sample host below reports in 0xD.0 */
	struct cpuid_guest_info info = { .vcpu_id = 3, .guest_osxsave = true, .tsc_khz = 1000,
					 .xcr0_supported = 0x207 };
	const struct cpuid_result intel0 = { 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 }; /* GenuineIntel */
	const struct cpuid_result amd0 = { 0x10, 0x68747541, 0x444d4163, 0x69746e65 };   /* AuthenticAMD */
	const struct cpuid_result xsave[] = {
		{ 0x00000207, 0x00000340, 0x00000a88, 0x0 },  /* 0xD.0 */
		{ 0x0000000f, 0x00000000, 0x00000100, 0x0 },  /* 0xD.1 */
		{ 0x00000100, 0x00000240, 0x00000000, 0x0 },  /* 0xD.2 */
	};
	const struct cpuid_result *zero_leaf[] = { &all_ones, &intel0, &amd0 };
	for (size_t i = 0; i < ARRAY_SIZE(zero_leaf); i++) {
		struct cpuid_result g = filter(0, 0, *zero_leaf[i], &info);
		assert_memory_equal(&g, zero_leaf[i], sizeof(g));
	}
	for (u32 sub = 0; sub < 3; sub++) {
		struct cpuid_result g = filter(0xd, sub, xsave[sub], &info);
		assert_memory_equal(&g, &xsave[sub], sizeof(g));
		g = filter(0xd, sub, all_ones, &info);
		if (sub == 0) /* only the switched components are offered */
			assert_regs(g, 0x207, ALL, ALL, 0);
		else
			assert_regs(g, ALL, ALL, ALL, ALL);
	}
	/* Leaves 0x15/0x16 report the measured TSC rate: 2.6 GHz = 1 * 2600000000 / 1. */
	info.tsc_khz = 2600000;
	assert_regs(filter(0x15, 0, all_ones, &info), 1, 1, 2600000000u, 0);
	assert_regs(filter(0x16, 0, all_ones, &info), 2600, 2600, 0, 0);
	info.tsc_khz = 5000000; /* 5 GHz does not fit ECX: crystal 2.5 GHz, ratio 2 */
	assert_regs(filter(0x15, 0, all_ones, &info), 1, 2, 2500000000u, 0);
	/* A host with AVX-512 state (0xe7) but Presidio switching only x87/SSE/AVX. */
	info.xcr0_supported = 0x7;
	struct cpuid_result avx512 = { 0xe7, 0x340, 0xa88, 0 };
	assert_regs(filter(0xd, 0, avx512, &info), 0x7, 0x340, 0xa88, 0);
	struct cpuid_result g = filter(0xd, 63, all_ones, &info);
	assert_regs(g, ALL, ALL, ALL, ALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_leaf1_all_ones),
		cmocka_unit_test(test_leaf1_all_zeros),
		cmocka_unit_test(test_leaf1_osxsave_mirrors_guest),
		cmocka_unit_test(test_leaf1_real_parts),
		cmocka_unit_test(test_zeroed_leaves),
		cmocka_unit_test(test_topology),
		cmocka_unit_test(test_leaf7),
		cmocka_unit_test(test_leaf7_other_subleaves_untouched),
		cmocka_unit_test(test_ext_features),
		cmocka_unit_test(test_ext_power),
		cmocka_unit_test(test_hypervisor_base_leaf),
		cmocka_unit_test(test_hypervisor_timing_leaf),
		cmocka_unit_test(test_other_hypervisor_leaves_zero),
		cmocka_unit_test(test_passthrough_leaves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
