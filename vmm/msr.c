/*
 * The MSR allow-list. MSRs the backends switch between guest and host
 * (FS/GS bases, KERNEL_GS_BASE, SYSCALL/SYSENTER: msr_passthrough in
 * arch/x86/vcpu_common.c) never exit; these are the ones that do.
 */
#include "vmm/msr.h"
#include "vmm/apic.h"
#include "vmm/backend.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"
#include "lib/print.h"

#define MSR_TSC 0x10
#define MSR_PLATFORM_ID 0x17
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_BIOS_SIGN_ID 0x8b
#define MSR_MTRR_CAP 0xfe
#define MSR_MISC_ENABLE 0x1a0
#define MSR_MTRR_PHYS_FIRST 0x200
#define MSR_MTRR_PHYS_LAST 0x20f
#define MSR_MTRR_FIX_64K 0x250
#define MSR_MTRR_FIX_16K_FIRST 0x258
#define MSR_MTRR_FIX_16K_LAST 0x259
#define MSR_MTRR_FIX_4K_FIRST 0x268
#define MSR_MTRR_FIX_4K_LAST 0x26f
#define MSR_PAT 0x277
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_EFER 0xc0000080
#define MSR_TSC_ADJUST 0x3b
#define MSR_AMD_SYSCFG 0xc0010010
#define MSR_AMD_HWCR 0xc0010015
#define MSR_AMD_NB_CFG 0xc001001f
#define MSR_AMD_DE_CFG 0xc0011029

#define FEATURE_CONTROL_LOCKED BIT(0)
#define MTRR_CAP_VALUE (8 | BIT(8) | BIT(10)) /* 8 variable ranges, fixed ranges, WC */
#define MISC_ENABLE_FAST_STRINGS BIT(0)
#define MTRR_DEF_TYPE_WRITABLE 0xcffULL /* type, FE, E */
#define MTRR_VARIABLE_COUNT 16
#define PAT_VALID_TYPES 0xf3 /* types 0,1,4,5,6,7 are defined (bitmask by type) */
#define MSR_LOG_LIMIT 16

void msr_vcpu_reset(struct vcpu *v)
{
	v->msr_misc_enable = MISC_ENABLE_FAST_STRINGS;
	v->msr_mtrr_def_type = 0;
}

static int fixed_mtrr_index(u32 index)
{
	if (index == MSR_MTRR_FIX_64K)
		return 0;
	if (index >= MSR_MTRR_FIX_16K_FIRST && index <= MSR_MTRR_FIX_16K_LAST)
		return 1 + (index - MSR_MTRR_FIX_16K_FIRST);
	if (index >= MSR_MTRR_FIX_4K_FIRST && index <= MSR_MTRR_FIX_4K_LAST)
		return 3 + (index - MSR_MTRR_FIX_4K_FIRST);
	return -1;
}

static bool pat_valid(u64 pat)
{
	for (int i = 0; i < 8; i++) {
		u8 type = (pat >> (i * 8)) & 0xff;
		if (type > 7 || !(PAT_VALID_TYPES & (1u << type)))
			return false;
	}
	return true;
}

static int denied(struct vcpu *v, bool write, u32 index, u64 value)
{
	if (v->vm->msr_denials++ >= MSR_LOG_LIMIT)
		return -1;
	if (write)
		vm_log(v->vm, "wrmsr 0x%x <- 0x%llx is not allowed: #GP%s", index,
		       (unsigned long long)value, v->vm->msr_denials == MSR_LOG_LIMIT ? " (no more MSR logs)" : "");
	else
		vm_log(v->vm, "rdmsr 0x%x is not allowed: #GP%s", index,
		       v->vm->msr_denials == MSR_LOG_LIMIT ? " (no more MSR logs)" : "");
	return -1;
}

int msr_guest_read(struct vcpu *v, u32 index, u64 *value)
{
	struct vcpu_sregs s;
	int fixed = fixed_mtrr_index(index);
	int apic = vcpu_apic_msr_read(v, index, value);
	if (apic <= 0)
		return apic < 0 ? denied(v, false, index, 0) : 0;
	switch (index) {
	case MSR_TSC: *value = rdtsc() + v->tsc_offset; return 0;
	case MSR_PLATFORM_ID: *value = 0; return 0;
	/* Read as 0, writes ignored: the guest may look, nothing it sets
	 * changes the host (no memory encryption, no northbridge config). */
	case MSR_TSC_ADJUST:
	case MSR_AMD_SYSCFG:
	case MSR_AMD_HWCR:
	case MSR_AMD_NB_CFG:
	case MSR_AMD_DE_CFG:
		*value = 0;
		return 0;
	case MSR_FEATURE_CONTROL: *value = FEATURE_CONTROL_LOCKED; return 0;
	case MSR_BIOS_SIGN_ID: *value = 0; return 0;
	case MSR_MTRR_CAP: *value = MTRR_CAP_VALUE; return 0;
	case MSR_MISC_ENABLE: *value = v->msr_misc_enable; return 0;
	case MSR_MTRR_DEF_TYPE: *value = v->msr_mtrr_def_type; return 0;
	case MSR_PAT:
		backend->get_sregs(v, &s);
		*value = s.pat;
		return 0;
	case MSR_EFER:
		*value = vcpu_control(v)->efer;
		return 0;
	}
	if (index >= MSR_MTRR_PHYS_FIRST && index <= MSR_MTRR_PHYS_LAST) {
		*value = v->msr_mtrr_var[index - MSR_MTRR_PHYS_FIRST];
		return 0;
	}
	if (fixed >= 0) {
		*value = v->msr_mtrr_fixed[fixed];
		return 0;
	}
	return denied(v, false, index, 0);
}

int msr_guest_write(struct vcpu *v, u32 index, u64 value)
{
	struct vcpu_sregs s;
	int fixed = fixed_mtrr_index(index);
	int apic = vcpu_apic_msr_write(v, index, value);
	if (apic <= 0)
		return apic < 0 ? denied(v, true, index, value) : 0;
	switch (index) {
	case MSR_TSC:
		v->tsc_offset = value - rdtsc();
		return 0; /* the backend picks the new offset up at entry */
	case MSR_BIOS_SIGN_ID:
	case MSR_TSC_ADJUST:
	case MSR_AMD_SYSCFG:
	case MSR_AMD_HWCR:
	case MSR_AMD_NB_CFG:
	case MSR_AMD_DE_CFG:
		return 0;
	case MSR_MISC_ENABLE: v->msr_misc_enable = value; return 0;
	case MSR_MTRR_DEF_TYPE:
		if (value & ~MTRR_DEF_TYPE_WRITABLE)
			return denied(v, true, index, value);
		v->msr_mtrr_def_type = value;
		return 0;
	case MSR_PAT:
		if (!pat_valid(value))
			return denied(v, true, index, value);
		backend->get_sregs(v, &s);
		s.pat = value;
		vcpu_set_sregs(v, &s);
		return 0;
	case MSR_EFER:
		if (vcpu_set_efer(v, value))
			return denied(v, true, index, value);
		return 0;
	}
	if (index >= MSR_MTRR_PHYS_FIRST && index <= MSR_MTRR_PHYS_LAST) {
		v->msr_mtrr_var[index - MSR_MTRR_PHYS_FIRST] = value;
		return 0;
	}
	if (fixed >= 0) {
		v->msr_mtrr_fixed[fixed] = value;
		return 0;
	}
	return denied(v, true, index, value);
}
