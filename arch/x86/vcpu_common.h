/*
 * The vendor-neutral part of a vCPU's host-side state, which VT-x and AMD-V
 * handle alike: its FPU/XSAVE area and XCR0, and DR0-DR3, which neither VM
 * entry nor exit switches. Both backends call these from their vcpu_create,
 * vcpu_destroy, vcpu_load and vcpu_put hooks. Also the MSRs both let the
 * guest reach without an exit.
 */
#pragma once
#include "lib/types.h"

struct vcpu;

/* A fresh FPU area in the init state and XCR0 at its reset value (x87);
 * -1 when out of memory. */
int vcpu_common_create(struct vcpu *vcpu);
void vcpu_common_destroy(struct vcpu *vcpu);
/* The vCPU's FPU state, XCR0 and DR0-DR3 onto this CPU, or back. */
void vcpu_common_load(struct vcpu *vcpu);
void vcpu_common_put(struct vcpu *vcpu);

/* MSRs no guest access to which exits (every other one does: vmm/msr.c).
 * Each is safe to hand over only because both backends switch it between
 * guest and host: AMD-V with VMLOAD/VMSAVE around every VMRUN; VT-x in
 * the VMCS guest and host fields (FS/GS base, SYSENTER) or at vcpu
 * load/put (SYSCALL MSRs, KERNEL_GS_BASE). An MSR added here must be
 * switched by both first. */
extern const u32 msr_passthrough[];
extern const unsigned msr_passthrough_count;
