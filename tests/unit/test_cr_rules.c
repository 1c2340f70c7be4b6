/*
 * Unit tests for vmm/cr_rules.c: whether a guest's MOV to CR0/CR4, WRMSR
 * EFER and XSETBV XCR0 is valid or #GP(0), given the guest's CPUID.
 *
 * Every expected result is taken from the architecture, not from the code:
 * Intel SDM vol. 3A 2.5 (control registers), 4.1.1 and 4.10.1 (paging
 * modes, PCIDs), 10.8.5 (entering and leaving IA-32e mode), vol. 2 (MOV to
 * CR, WRMSR, XSETBV exceptions), vol. 1 13.3 (XCR0 rules) and AMD APM
 * vol. 2 3.1.7 (EFER). CPUID and XCR0 bit positions are written out here
 * from the SDM (vol. 2A CPUID tables 3-10/3-11, leaf 7, leaf 0x80000001;
 * vol. 1 13.1); the constants in cr_rules.c are deliberately not used. The
 * CR0/CR4/EFER names come from arch/x86/cpu.h, whose values match SDM 2.5.
 */
#include "tests/unit/host_support.h"
#include "vmm/cr_rules.c"

#define OK 0
#define GP (-1)
#define REG_BITS 64
#define HIGH_HALF 32
#define ALL_ONES32 0xffffffffu

/* CPUID feature bits (SDM vol. 2A), as bit numbers in their register. */
enum feature_reg { LEAF1_ECX, LEAF1_EDX, LEAF7_EBX, LEAF7_ECX };
#define SDM1_ECX_PCID 17
#define SDM1_ECX_XSAVE 26
#define SDM1_EDX_VME 1
#define SDM1_EDX_DE 2
#define SDM1_EDX_PSE 3
#define SDM1_EDX_TSC 4
#define SDM1_EDX_PAE 6
#define SDM1_EDX_PGE 13
#define SDM1_EDX_FXSR 24
#define SDM1_EDX_SSE 25
#define SDM7_EBX_FSGSBASE 0
#define SDM7_EBX_SMEP 7
#define SDM7_EBX_SMAP 20
#define SDM7_ECX_UMIP 2
#define SDM7_ECX_PKU 3
#define SDM7_ECX_CET_SS 7
#define SDM7_ECX_LA57 16
#define SDMX_EDX_NX BIT(20) /* leaf 0x80000001 EDX */
#define SDMX_EDX_LM BIT(29)

/* XCR0 state components (SDM vol. 1 13.1) */
#define SDM_XCR0_X87 BIT(0)
#define SDM_XCR0_SSE BIT(1)
#define SDM_XCR0_AVX BIT(2)
#define SDM_XCR0_BNDREGS BIT(3)
#define SDM_XCR0_BNDCSR BIT(4)
#define SDM_XCR0_OPMASK BIT(5)
#define SDM_XCR0_ZMM_HI256 BIT(6)
#define SDM_XCR0_HI16_ZMM BIT(7)
#define SDM_XCR0_PT BIT(8) /* supervisor state: IA32_XSS only, never XCR0 */
#define SDM_XCR0_PKRU BIT(9)
#define SDM_XCR0_TILECFG BIT(17)
#define SDM_XCR0_TILEDATA BIT(18)
#define SDM_XCR0_EXTENSION BIT(63) /* reserved for XCR0 bit-vector expansion */
#define XCR0_LEGACY (SDM_XCR0_X87 | SDM_XCR0_SSE)
#define XCR0_YMM (XCR0_LEGACY | SDM_XCR0_AVX)
#define XCR0_MPX (SDM_XCR0_BNDREGS | SDM_XCR0_BNDCSR)
#define XCR0_ZMM (SDM_XCR0_OPMASK | SDM_XCR0_ZMM_HI256 | SDM_XCR0_HI16_ZMM)
#define XCR0_AMX (SDM_XCR0_TILECFG | SDM_XCR0_TILEDATA)
/* A Sapphire Rapids-like leaf 0xD offer: everything above but PT. */
#define XCR0_ALL_OFFERED (XCR0_YMM | XCR0_MPX | XCR0_ZMM | SDM_XCR0_PKRU | XCR0_AMX)

/* CR4 bits no Presidio guest may set, and those no CPU defines (SDM 2.5). */
static const u64 cr4_never_offered[] = { CR4_VMXE, CR4_SMXE, CR4_KL, CR4_PKS, CR4_UINTR, CR4_LAM_SUP };
static const unsigned cr4_undefined_low_bits[] = { 15, 26, 27, 29, 30, 31 };

/* Guest states a write is checked against. */
#define CR0_PROT (CR0_PE | CR0_ET | CR0_NE | CR0_WP)
#define CR0_PAGED (CR0_PROT | CR0_PG)
#define CR3_ROOT 0x1000ULL  /* a page-aligned top-level table */
#define SDM_CR3_PWT BIT(3)  /* CR3[11:0] nonzero without PCIDs */
#define CR3_PCID_5 5ULL     /* CR3[11:0] = PCID with CR4.PCIDE */
#define CR4_LONG (CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT)
#define EFER_LONG (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

static const struct cr_context real_mode = { .cr0 = CR0_ET };
static const struct cr_context protected_mode = { .cr0 = CR0_PROT };
static const struct cr_context protected_no_wp = { .cr0 = CR0_PROT & ~CR0_WP };
static const struct cr_context protected_pae_la57 = { .cr0 = CR0_PROT, .cr4 = CR4_PAE | CR4_LA57 };
static const struct cr_context paged32 = { CR0_PAGED, CR3_ROOT, CR4_PSE, 0, false };
static const struct cr_context lme_armed = { CR0_PROT, CR3_ROOT, CR4_PAE, EFER_SCE | EFER_LME, false };
static const struct cr_context lme_armed_no_pae = { CR0_PROT, CR3_ROOT, 0, EFER_LME, false };
static const struct cr_context lme_armed_cs_long = { CR0_PROT, CR3_ROOT, CR4_PAE, EFER_LME, true };
static const struct cr_context long64 = { CR0_PAGED, CR3_ROOT, CR4_LONG, EFER_LONG, true };
static const struct cr_context compat = { CR0_PAGED, CR3_ROOT, CR4_LONG, EFER_LONG, false };
static const struct cr_context compat_pcide = { CR0_PAGED, CR3_ROOT, CR4_LONG | CR4_PCIDE, EFER_LONG, false };
static const struct cr_context long64_cr3_pwt = { CR0_PAGED, CR3_ROOT | SDM_CR3_PWT, CR4_LONG, EFER_LONG, true };
static const struct cr_context long64_pcid = { CR0_PAGED, CR3_ROOT | CR3_PCID_5, CR4_LONG | CR4_PCIDE, EFER_LONG,
					       true };
static const struct cr_context long64_la57 = { CR0_PAGED, CR3_ROOT, CR4_LONG | CR4_LA57, EFER_LONG, true };
static const struct cr_context long64_cet = { CR0_PAGED, CR3_ROOT, CR4_LONG | CR4_CET, EFER_LONG, true };

struct write_case {
	const char *what;
	const struct cr_context *now;
	u64 value;
	int want;
};

/* Leaf 7 EDX stays clear: its IBT bit is the other way to CR4.CET
 * (test_cr4_cet_with_either_feature), which would hide CET's gating. */
static const struct cr_rules_features all_features = {
	.leaf1_ecx = ALL_ONES32, .leaf1_edx = ALL_ONES32, .leaf7_ebx = ALL_ONES32, .leaf7_ecx = ALL_ONES32,
	.leaf_ext1_edx = ALL_ONES32, .xcr0_offered = XCR0_ALL_OFFERED,
};
static const struct cr_rules_features no_features = { 0 };

static struct cr_rules rules_for(const struct cr_rules_features *f)
{
	struct cr_rules rules;
	cr_rules_init(&rules, f);
	return rules;
}

static void check(const char *what, u64 value, int got, int want)
{
	if (got != want)
		fail_msg("%s: value %#llx gave %d, the SDM says %s", what, (unsigned long long)value, got,
			 want == OK ? "valid (0)" : "#GP (-1)");
}

static void run_cases(unsigned cr, const struct cr_rules *rules, const struct write_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check(cases[i].what, cases[i].value, cr_write_check(rules, cr, cases[i].value, cases[i].now),
		      cases[i].want);
}

static void test_cr0_reserved_and_combinations(void **state)
{
	(void)state;
	const struct write_case cases[] = {
		{ "CR0 unchanged", &protected_mode, CR0_PROT, OK },
		{ "NW=1 CD=0", &protected_mode, CR0_PROT | CR0_NW, GP },
		{ "NW=1 CD=1", &protected_mode, CR0_PROT | CR0_NW | CR0_CD, OK },
		{ "NW=0 CD=1", &protected_mode, CR0_PROT | CR0_CD, OK },
		{ "PG=1 PE=0", &real_mode, CR0_ET | CR0_PG, GP },
		{ "PG=1 PE=1 without LME", &real_mode, CR0_ET | CR0_PE | CR0_PG, OK },
		{ "PE=0 from protected mode", &protected_mode, CR0_ET, OK },
	};
	struct cr_rules rules = rules_for(&all_features);
	run_cases(0, &rules, cases, ARRAY_SIZE(cases));
	for (unsigned bit = HIGH_HALF; bit < REG_BITS; bit++) {
		check("CR0 bit 63:32 set", CR0_PROT | BIT(bit), cr_write_check(&rules, 0, CR0_PROT | BIT(bit),
										 &protected_mode), GP);
		check("CR0 bit 63:32 set in 64-bit mode", CR0_PAGED | BIT(bit),
		      cr_write_check(&rules, 0, CR0_PAGED | BIT(bit), &long64), GP);
	}
}

static void test_cr0_paging_transitions(void **state)
{
	(void)state;
	const struct write_case cases[] = {
		{ "PG on, LME=1, PAE=1", &lme_armed, CR0_PAGED, OK },
		{ "PG on, LME=1, PAE=0", &lme_armed_no_pae, CR0_PAGED, GP },
		{ "PG on, LME=1, CS.L=1", &lme_armed_cs_long, CR0_PAGED, GP },
		{ "PG on, LME=0, PAE=0 (32-bit paging)", &protected_mode, CR0_PAGED, OK },
		{ "PG stays on in 64-bit mode", &long64, CR0_PAGED, OK },
		{ "PG off in 64-bit mode", &long64, CR0_PROT, GP },
		{ "PG off in compatibility mode", &compat, CR0_PROT, OK },
		{ "PG off with PCIDE=1", &compat_pcide, CR0_PROT, GP },
		{ "PG off from 32-bit paging", &paged32, CR0_PROT, OK },
		{ "WP off with CET=1", &long64_cet, CR0_PAGED & ~CR0_WP, GP },
		{ "WP stays on with CET=1", &long64_cet, CR0_PAGED, OK },
		{ "WP off with CET=0", &long64, CR0_PAGED & ~CR0_WP, OK },
	};
	struct cr_rules rules = rules_for(&all_features);
	run_cases(0, &rules, cases, ARRAY_SIZE(cases));
}

/* CR4 bits that exist only with a CPUID feature (SDM 2.5, CPUID feature tables). */
struct gated_bit {
	const char *name;
	u64 cr4;
	enum feature_reg reg;
	unsigned cpuid_bit;
	const struct cr_context *now; /* a state where setting it is otherwise valid */
};

static const struct gated_bit cr4_gated[] = {
	{ "VME", CR4_VME, LEAF1_EDX, SDM1_EDX_VME, &protected_mode },
	{ "PVI", CR4_PVI, LEAF1_EDX, SDM1_EDX_VME, &protected_mode },
	{ "TSD", CR4_TSD, LEAF1_EDX, SDM1_EDX_TSC, &protected_mode },
	{ "DE", CR4_DE, LEAF1_EDX, SDM1_EDX_DE, &protected_mode },
	{ "PSE", CR4_PSE, LEAF1_EDX, SDM1_EDX_PSE, &protected_mode },
	{ "PAE", CR4_PAE, LEAF1_EDX, SDM1_EDX_PAE, &protected_mode },
	{ "PGE", CR4_PGE, LEAF1_EDX, SDM1_EDX_PGE, &protected_mode },
	{ "OSFXSR", CR4_OSFXSR, LEAF1_EDX, SDM1_EDX_FXSR, &protected_mode },
	{ "OSXMMEXCPT", CR4_OSXMMEXCPT, LEAF1_EDX, SDM1_EDX_SSE, &protected_mode },
	{ "PCIDE", CR4_PCIDE, LEAF1_ECX, SDM1_ECX_PCID, &long64 }, /* IA-32e mode, CR3[11:0]=0 */
	{ "OSXSAVE", CR4_OSXSAVE, LEAF1_ECX, SDM1_ECX_XSAVE, &protected_mode },
	{ "FSGSBASE", CR4_FSGSBASE, LEAF7_EBX, SDM7_EBX_FSGSBASE, &protected_mode },
	{ "SMEP", CR4_SMEP, LEAF7_EBX, SDM7_EBX_SMEP, &protected_mode },
	{ "SMAP", CR4_SMAP, LEAF7_EBX, SDM7_EBX_SMAP, &protected_mode },
	{ "UMIP", CR4_UMIP, LEAF7_ECX, SDM7_ECX_UMIP, &protected_mode },
	{ "PKE", CR4_PKE, LEAF7_ECX, SDM7_ECX_PKU, &protected_mode },
	{ "CET", CR4_CET, LEAF7_ECX, SDM7_ECX_CET_SS, &protected_mode }, /* CR0.WP=1 */
	{ "LA57", CR4_LA57, LEAF7_ECX, SDM7_ECX_LA57, &protected_mode }, /* outside IA-32e mode */
};

static u32 *feature_reg(struct cr_rules_features *f, enum feature_reg reg)
{
	u32 *regs[] = { [LEAF1_ECX] = &f->leaf1_ecx, [LEAF1_EDX] = &f->leaf1_edx, [LEAF7_EBX] = &f->leaf7_ebx,
			[LEAF7_ECX] = &f->leaf7_ecx };
	return regs[reg];
}

#define SDM7_EDX_CET_IBT 20

/* SDM Vol. 3A 2.5: CR4.CET exists when CPUID shows shadow stacks or
 * indirect-branch tracking. */
static void test_cr4_cet_with_either_feature(void **state)
{
	(void)state;
	struct cr_rules_features ibt_only = all_features;
	ibt_only.leaf7_ecx &= ~(1u << SDM7_ECX_CET_SS);
	ibt_only.leaf7_edx = 1u << SDM7_EDX_CET_IBT;
	struct cr_rules rules = rules_for(&ibt_only);
	assert_int_equal(cr_write_check(&rules, 4, CR4_CET, &protected_mode), 0);
	ibt_only.leaf7_edx = 0;
	rules = rules_for(&ibt_only);
	assert_int_equal(cr_write_check(&rules, 4, CR4_CET, &protected_mode), -1);
}

static void test_cr4_feature_gated_bits(void **state)
{
	(void)state;
	struct cr_rules present = rules_for(&all_features);
	for (size_t i = 0; i < ARRAY_SIZE(cr4_gated); i++) {
		const struct gated_bit *g = &cr4_gated[i];
		struct cr_rules_features missing_one = all_features;
		*feature_reg(&missing_one, g->reg) &= ~(u32)BIT(g->cpuid_bit);
		struct cr_rules absent = rules_for(&missing_one);
		u64 value = g->now->cr4 | g->cr4;
		if (cr_write_check(&present, 4, value, g->now) != OK)
			fail_msg("CR4.%s with its CPUID bit: #GP, the SDM says valid", g->name);
		if (cr_write_check(&absent, 4, value, g->now) != GP)
			fail_msg("CR4.%s without its CPUID bit: valid, the SDM says #GP", g->name);
	}
	/* Writing back the current value, and MCE/PCE, need no feature. */
	struct cr_rules none = rules_for(&no_features);
	check("CR4 = 0 without features", 0, cr_write_check(&none, 4, 0, &protected_mode), OK);
	check("CR4.MCE without features", CR4_MCE, cr_write_check(&none, 4, CR4_MCE, &protected_mode), OK);
	check("CR4.PCE without features", CR4_PCE, cr_write_check(&none, 4, CR4_PCE, &protected_mode), OK);
}

static void test_cr4_never_offered_and_undefined_bits(void **state)
{
	(void)state;
	struct cr_rules rules = rules_for(&all_features);
	for (size_t i = 0; i < ARRAY_SIZE(cr4_never_offered); i++)
		check("CR4 bit never offered", cr4_never_offered[i],
		      cr_write_check(&rules, 4, cr4_never_offered[i], &protected_mode), GP);
	for (size_t i = 0; i < ARRAY_SIZE(cr4_undefined_low_bits); i++) {
		u64 value = BIT(cr4_undefined_low_bits[i]);
		check("CR4 undefined bit 31:0", value, cr_write_check(&rules, 4, value, &protected_mode), GP);
	}
	for (unsigned bit = HIGH_HALF; bit < REG_BITS; bit++) {
		check("CR4 bit 63:32", BIT(bit), cr_write_check(&rules, 4, BIT(bit), &protected_mode), GP);
		check("CR4 bit 63:32 in 64-bit mode", CR4_LONG | BIT(bit),
		      cr_write_check(&rules, 4, CR4_LONG | BIT(bit), &long64), GP);
	}
}

static void test_cr4_mode_rules(void **state)
{
	(void)state;
	const struct write_case cases[] = {
		{ "PAE cleared in 64-bit mode", &long64, CR4_LONG & ~CR4_PAE, GP },
		{ "PAE cleared in compatibility mode", &compat, CR4_LONG & ~CR4_PAE, GP },
		{ "PAE cleared outside IA-32e mode", &protected_pae_la57, CR4_LA57, OK },
		{ "LA57 set in IA-32e mode", &long64, CR4_LONG | CR4_LA57, GP },
		{ "LA57 cleared in IA-32e mode", &long64_la57, CR4_LONG, GP },
		{ "LA57 kept in IA-32e mode", &long64_la57, CR4_LONG | CR4_LA57, OK },
		{ "LA57 cleared outside IA-32e mode", &protected_pae_la57, CR4_PAE, OK },
		{ "PCIDE 0->1 outside IA-32e mode", &protected_mode, CR4_PCIDE, GP },
		{ "PCIDE 0->1 with CR3[11:0] != 0", &long64_cr3_pwt, CR4_LONG | CR4_PCIDE, GP },
		{ "PCIDE 0->1 with CR3[11:0] = 0", &long64, CR4_LONG | CR4_PCIDE, OK },
		{ "PCIDE kept with a PCID in CR3", &long64_pcid, CR4_LONG | CR4_PCIDE, OK },
		{ "PCIDE cleared", &long64_pcid, CR4_LONG, OK },
		{ "CET with CR0.WP=0", &protected_no_wp, CR4_CET, GP },
		{ "CET with CR0.WP=1", &protected_mode, CR4_CET, OK },
	};
	struct cr_rules rules = rules_for(&all_features);
	run_cases(4, &rules, cases, ARRAY_SIZE(cases));
}

static void test_efer_bits(void **state)
{
	(void)state;
	const struct cr_rules_features lm_only = { .leaf_ext1_edx = SDMX_EDX_LM };
	const struct cr_rules_features nx_only = { .leaf_ext1_edx = SDMX_EDX_NX };
	struct cr_rules none = rules_for(&no_features), lm = rules_for(&lm_only), nx = rules_for(&nx_only);
	struct cr_rules all = rules_for(&all_features);
	const struct {
		const char *what;
		const struct cr_rules *rules;
		u64 value;
		int want;
	} cases[] = {
		{ "SCE without features", &none, EFER_SCE, OK },
		{ "LME without LM", &none, EFER_LME, GP },
		{ "LME without LM (NX only)", &nx, EFER_LME, GP },
		{ "LME with LM", &lm, EFER_SCE | EFER_LME, OK },
		{ "NXE without NX", &none, EFER_NXE, GP },
		{ "NXE without NX (LM only)", &lm, EFER_NXE, GP },
		{ "NXE with NX", &nx, EFER_SCE | EFER_NXE, OK },
		{ "SVME (SVM never offered)", &all, EFER_SVME, GP },
		{ "LMA set while inactive: ignored", &none, EFER_LMA, OK },
		{ "everything offered", &all, EFER_SCE | EFER_LME | EFER_NXE, OK },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(cases[i].what, cases[i].value, efer_write_check(cases[i].rules, cases[i].value, &real_mode),
		      cases[i].want);
	const u64 defined = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
	for (unsigned bit = 0; bit < REG_BITS; bit++)
		if (!(BIT(bit) & defined))
			check("EFER reserved bit (1-7, 9, 12-63)", BIT(bit),
			      efer_write_check(&all, BIT(bit), &real_mode), GP);
}

static void test_efer_under_paging(void **state)
{
	(void)state;
	struct cr_rules rules = rules_for(&all_features);
	const struct {
		const char *what;
		const struct cr_context *now;
		u64 value;
		int want;
	} cases[] = {
		{ "LME set with PG=0", &protected_mode, EFER_LME, OK },
		{ "LME set with PG=1", &paged32, EFER_LME, GP },
		{ "LME cleared with PG=1", &long64, EFER_LONG & ~EFER_LME, GP },
		{ "LME cleared with PG=0", &lme_armed, EFER_SCE, OK },
		{ "NXE toggled with PG=1, LME kept", &long64, EFER_LONG & ~EFER_NXE, OK },
		{ "LMA cleared in IA-32e mode: ignored", &long64, EFER_LONG & ~EFER_LMA, OK },
		{ "LMA set with PG=1, LME=0: ignored", &paged32, EFER_LMA, OK },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		check(cases[i].what, cases[i].value, efer_write_check(&rules, cases[i].value, cases[i].now),
		      cases[i].want);
}

struct xcr0_case {
	const char *what;
	u64 offered;
	u64 value;
	int want;
};

static void run_xcr0_cases(const struct xcr0_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cr_rules_features f = all_features;
		f.xcr0_offered = cases[i].offered;
		struct cr_rules rules = rules_for(&f);
		check(cases[i].what, cases[i].value, xcr0_write_check(&rules, cases[i].value), cases[i].want);
	}
}

static void test_xcr0_basic_rules(void **state)
{
	(void)state;
	const struct xcr0_case cases[] = {
		{ "x87 only", XCR0_ALL_OFFERED, SDM_XCR0_X87, OK },
		{ "x87 clear (0)", XCR0_ALL_OFFERED, 0, GP },
		{ "x87 clear, SSE set", XCR0_ALL_OFFERED, SDM_XCR0_SSE, GP },
		{ "x87 clear, SSE+AVX set", XCR0_ALL_OFFERED, SDM_XCR0_SSE | SDM_XCR0_AVX, GP },
		{ "x87+SSE", XCR0_ALL_OFFERED, XCR0_LEGACY, OK },
		{ "x87+SSE+AVX", XCR0_ALL_OFFERED, XCR0_YMM, OK },
		{ "AVX without SSE", XCR0_ALL_OFFERED, SDM_XCR0_X87 | SDM_XCR0_AVX, GP },
		{ "PKRU", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_PKRU, OK },
		{ "AVX not offered", XCR0_LEGACY, XCR0_YMM, GP },
		{ "PKRU not offered", XCR0_YMM, XCR0_LEGACY | SDM_XCR0_PKRU, GP },
		{ "PT (supervisor state)", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_PT, GP },
		{ "bit 63", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_EXTENSION, GP },
	};
	run_xcr0_cases(cases, ARRAY_SIZE(cases));
}

static void test_xcr0_component_groups(void **state)
{
	(void)state;
	const struct xcr0_case cases[] = {
		/* AVX-512: bits 7:5 all-or-none, and only with AVX */
		{ "opmask only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_OPMASK, GP },
		{ "ZMM_Hi256 only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_ZMM_HI256, GP },
		{ "Hi16_ZMM only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_HI16_ZMM, GP },
		{ "AVX-512 without AVX", XCR0_ALL_OFFERED, XCR0_LEGACY | XCR0_ZMM, GP },
		{ "AVX + opmask", XCR0_ALL_OFFERED, XCR0_YMM | SDM_XCR0_OPMASK, GP },
		{ "AVX + opmask + ZMM_Hi256", XCR0_ALL_OFFERED, XCR0_YMM | SDM_XCR0_OPMASK | SDM_XCR0_ZMM_HI256,
		  GP },
		{ "AVX + all of AVX-512", XCR0_ALL_OFFERED, XCR0_YMM | XCR0_ZMM, OK },
		{ "AVX-512 not offered", XCR0_YMM, XCR0_YMM | XCR0_ZMM, GP },
		/* MPX: BNDREGS and BNDCSR together */
		{ "BNDREGS only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_BNDREGS, GP },
		{ "BNDCSR only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_BNDCSR, GP },
		{ "both MPX components", XCR0_ALL_OFFERED, XCR0_LEGACY | XCR0_MPX, OK },
		{ "MPX not offered", XCR0_YMM, XCR0_LEGACY | XCR0_MPX, GP },
		/* AMX: TILECFG and TILEDATA together */
		{ "TILECFG only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_TILECFG, GP },
		{ "TILEDATA only", XCR0_ALL_OFFERED, XCR0_LEGACY | SDM_XCR0_TILEDATA, GP },
		{ "both AMX components", XCR0_ALL_OFFERED, XCR0_LEGACY | XCR0_AMX, OK },
		{ "everything offered", XCR0_ALL_OFFERED, XCR0_ALL_OFFERED, OK },
	};
	run_xcr0_cases(cases, ARRAY_SIZE(cases));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cr0_reserved_and_combinations),
		cmocka_unit_test(test_cr0_paging_transitions),
		cmocka_unit_test(test_cr4_feature_gated_bits),
		cmocka_unit_test(test_cr4_cet_with_either_feature),
		cmocka_unit_test(test_cr4_never_offered_and_undefined_bits),
		cmocka_unit_test(test_cr4_mode_rules),
		cmocka_unit_test(test_efer_bits),
		cmocka_unit_test(test_efer_under_paging),
		cmocka_unit_test(test_xcr0_basic_rules),
		cmocka_unit_test(test_xcr0_component_groups),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
