/* What CPUID tells a guest: the host's answers, filtered (pure; host-tested). */
#pragma once
#include "lib/types.h"
#include "vmm/dev/lapic.h"

#define CPUID_HYPERVISOR_BASE 0x40000000
#define CPUID_HYPERVISOR_TIMING 0x40000010
/* The local APIC timer's input clock, reported in leaf 0x40000010 EBX as in
 * the VMware/KVM timing leaf. */
#define CPUID_APIC_BUS_KHZ (LAPIC_DEFAULT_BUS_HZ / 1000)
#define HYPERVISOR_SIGNATURE "Presidio\0\0\0\0"

struct cpuid_result {
	u32 eax, ebx, ecx, edx;
};

struct cpuid_guest_info {
	u32 vcpu_id;          /* = its APIC ID */
	u32 vcpu_count;       /* the VM's vCPUs: one package, one core each (0 = 1) */
	bool guest_osxsave;   /* guest CR4.OSXSAVE, mirrored in leaf 1 ECX */
	u32 tsc_khz;          /* 0 if unknown */
	u64 xcr0_supported;   /* XCR0 bits a guest may set (leaf 0xD) */
};

/* 'host' holds what the physical CPU returned for leaf/subleaf; returns
 * what the guest sees. */
struct cpuid_result cpuid_filter(u32 leaf, u32 subleaf, struct cpuid_result host,
				 const struct cpuid_guest_info *info);
