/* Guest CR0/CR4/EFER/XCR0 write rules (SDM Vol. 3A 2.5 and MOV CR, WRMSR, XSETBV). */
#include "vmm/cr_rules.h"
#include "arch/x86/cpu.h"

/* CPUID feature bits that make a CR4 or EFER bit usable. */
#define L1_ECX_PCID BIT(17)
#define L1_ECX_XSAVE BIT(26)
#define L1_EDX_VME BIT(1)
#define L1_EDX_DE BIT(2)
#define L1_EDX_PSE BIT(3)
#define L1_EDX_TSC BIT(4)
#define L1_EDX_PAE BIT(6)
#define L1_EDX_MCE BIT(7)
#define L1_EDX_PGE BIT(13)
#define L1_EDX_FXSR BIT(24)
#define L1_EDX_SSE BIT(25)
#define L7_EBX_FSGSBASE BIT(0)
#define L7_EBX_SMEP BIT(7)
#define L7_EBX_SMAP BIT(20)
#define L7_ECX_UMIP BIT(2)
#define L7_ECX_PKU BIT(3)
#define L7_ECX_CET_SS BIT(7)
#define L7_ECX_LA57 BIT(16)
#define L7_EDX_CET_IBT BIT(20)
#define LEXT1_EDX_NX BIT(20)
#define LEXT1_EDX_LM BIT(29)

/* CR4 bits that exist at all; the rest are reserved on every CPU. */
#define CR4_DEFINED (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | \
		     CR4_PGE | CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | CR4_LA57 | \
		     CR4_VMXE | CR4_SMXE | CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE | CR4_KL | \
		     CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_CET | CR4_PKS | CR4_UINTR | CR4_LAM_SUP)
/* Never offered: no nested VMX/SMX, Key Locker, PKS, user interrupts, LAM. */
#define CR4_NEVER (CR4_VMXE | CR4_SMXE | CR4_KL | CR4_PKS | CR4_UINTR | CR4_LAM_SUP)
#define CR0_RESERVED_HIGH 0xffffffff00000000ULL

struct feature_bit {
	u64 cr4;
	u32 leaf_register;
	u32 bit;
};

void cr_rules_init(struct cr_rules *rules, const struct cr_rules_features *g)
{
	const struct feature_bit cr4_features[] = {
		{ CR4_VME | CR4_PVI, g->leaf1_edx, L1_EDX_VME }, { CR4_DE, g->leaf1_edx, L1_EDX_DE },
		{ CR4_PSE, g->leaf1_edx, L1_EDX_PSE },           { CR4_TSD, g->leaf1_edx, L1_EDX_TSC },
		{ CR4_PAE, g->leaf1_edx, L1_EDX_PAE },           { CR4_PGE, g->leaf1_edx, L1_EDX_PGE },
		{ CR4_OSFXSR, g->leaf1_edx, L1_EDX_FXSR },       { CR4_OSXMMEXCPT, g->leaf1_edx, L1_EDX_SSE },
		{ CR4_PCIDE, g->leaf1_ecx, L1_ECX_PCID },        { CR4_OSXSAVE, g->leaf1_ecx, L1_ECX_XSAVE },
		{ CR4_FSGSBASE, g->leaf7_ebx, L7_EBX_FSGSBASE }, { CR4_SMEP, g->leaf7_ebx, L7_EBX_SMEP },
		{ CR4_SMAP, g->leaf7_ebx, L7_EBX_SMAP },         { CR4_UMIP, g->leaf7_ecx, L7_ECX_UMIP },
		{ CR4_PKE, g->leaf7_ecx, L7_ECX_PKU },           { CR4_LA57, g->leaf7_ecx, L7_ECX_LA57 },
	};
	/* CR4.MCE and PCE stay writable without their CPUID bits, as under
	 * KVM: guests set them unconditionally and they grant nothing here. */
	rules->cr4_reserved = ~(u64)CR4_DEFINED | CR4_NEVER;
	for (unsigned i = 0; i < ARRAY_SIZE(cr4_features); i++)
		if (!(cr4_features[i].leaf_register & cr4_features[i].bit))
			rules->cr4_reserved |= cr4_features[i].cr4;
	/* CR4.CET enables shadow stacks or indirect-branch tracking: either will do. */
	if (!(g->leaf7_ecx & L7_ECX_CET_SS) && !(g->leaf7_edx & L7_EDX_CET_IBT))
		rules->cr4_reserved |= CR4_CET;
	rules->efer_reserved = ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
	if (!(g->leaf_ext1_edx & LEXT1_EDX_LM))
		rules->efer_reserved |= EFER_LME;
	if (!(g->leaf_ext1_edx & LEXT1_EDX_NX))
		rules->efer_reserved |= EFER_NXE;
	rules->xcr0_offered = g->xcr0_offered;
}

static int cr0_check(u64 value, const struct cr_context *now)
{
	bool enabling_paging = (value & CR0_PG) && !(now->cr0 & CR0_PG);
	bool mode64 = now->cs_l && (now->efer & EFER_LMA);
	if ((value & CR0_RESERVED_HIGH) || ((value & CR0_NW) && !(value & CR0_CD)) ||
	    ((value & CR0_PG) && !(value & CR0_PE)))
		return -1;
	/* Entering IA-32e mode needs PAE and must not start in a 64-bit CS. */
	if (enabling_paging && (now->efer & EFER_LME) && (!(now->cr4 & CR4_PAE) || now->cs_l))
		return -1;
	/* Paging can only be turned off from compatibility mode, without PCIDs. */
	if (!(value & CR0_PG) && (mode64 || (now->cr4 & CR4_PCIDE)))
		return -1;
	if (!(value & CR0_WP) && (now->cr4 & CR4_CET))
		return -1;
	return 0;
}

static int cr4_check(const struct cr_rules *rules, u64 value, const struct cr_context *now)
{
	bool long_mode = now->efer & EFER_LMA;
	if (value & rules->cr4_reserved)
		return -1;
	if (long_mode && (!(value & CR4_PAE) || ((value ^ now->cr4) & CR4_LA57)))
		return -1;
	if ((value & CR4_PCIDE) && !(now->cr4 & CR4_PCIDE) && (!long_mode || (now->cr3 & CR3_PCID_MASK)))
		return -1;
	if ((value & CR4_CET) && !(now->cr0 & CR0_WP))
		return -1;
	return 0;
}

int cr_write_check(const struct cr_rules *rules, unsigned cr, u64 value, const struct cr_context *now)
{
	switch (cr) {
	case 0: return cr0_check(value, now);
	case 3: return 0; /* reserved CR3 bits above MAXPHYADDR fault in the CPU's own walk */
	case 4: return cr4_check(rules, value, now);
	default: return -1;
	}
}

int efer_write_check(const struct cr_rules *rules, u64 value, const struct cr_context *now)
{
	if (value & rules->efer_reserved & ~(u64)EFER_LMA)
		return -1;
	if ((now->cr0 & CR0_PG) && ((value ^ now->efer) & EFER_LME))
		return -1;
	return 0;
}

int xcr0_write_check(const struct cr_rules *rules, u64 value)
{
	u64 avx512 = value & XCR0_AVX512;
	if (!(value & XCR0_X87) || (value & ~rules->xcr0_offered))
		return -1;
	if ((value & XCR0_AVX) && !(value & XCR0_SSE))
		return -1;
	if (avx512 && (avx512 != XCR0_AVX512 || !(value & XCR0_AVX)))
		return -1;
	if (!(value & XCR0_BNDREGS) != !(value & XCR0_BNDCSR))
		return -1;
	if (!(value & XCR0_TILECFG) != !(value & XCR0_TILEDATA))
		return -1;
	return 0;
}
