/*
 * The architectural rules for guest writes to CR0, CR4, EFER and XCR0:
 * reserved bits (those of the CPU the guest's CPUID describes, not the
 * host's) and consistency between them. Checked in vmm/ before a value
 * reaches the VMCS/VMCB, so a bad value is the guest's #GP, never a failed
 * VM entry. Pure functions: host-tested.
 */
#pragma once
#include "lib/types.h"

struct cr_rules {
	u64 cr4_reserved;  /* CR4 bits the guest may not set */
	u64 efer_reserved; /* EFER bits WRMSR may not set (LMA is ignored, not checked) */
	u64 xcr0_offered;  /* XCR0 bits the guest's CPUID leaf 0xD offers */
};

/* The feature registers of the guest's CPUID that decide them. */
struct cr_rules_features {
	u32 leaf1_ecx, leaf1_edx;       /* leaf 1 */
	u32 leaf7_ebx, leaf7_ecx, leaf7_edx; /* leaf 7 subleaf 0 */
	u32 leaf_ext1_edx;              /* leaf 0x80000001 */
	u64 xcr0_offered;               /* leaf 0xD subleaf 0 EDX:EAX */
};

void cr_rules_init(struct cr_rules *rules, const struct cr_rules_features *guest);

/* The state a write is checked against. */
struct cr_context {
	u64 cr0, cr3, cr4, efer;
	bool cs_l;    /* CS.L (64-bit mode when EFER.LMA is set too) */
};

/* 0 if MOV to CRn (0, 3, 4) with this value is valid, -1 for #GP(0). */
int cr_write_check(const struct cr_rules *rules, unsigned cr, u64 value, const struct cr_context *now);
/* 0 if WRMSR EFER with this value is valid, -1 for #GP(0). */
int efer_write_check(const struct cr_rules *rules, u64 value, const struct cr_context *now);
/* 0 if XSETBV XCR0 with this value is valid (SDM Vol. 1 13.3), -1 for #GP(0). */
int xcr0_write_check(const struct cr_rules *rules, u64 value);
