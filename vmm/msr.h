/* Guest MSR accesses that exit: an allow-list; everything else is #GP. */
#pragma once
#include "lib/types.h"

struct vcpu;

/* Return 0, or -1 when the guest must get #GP(0). */
int msr_guest_read(struct vcpu *vcpu, u32 index, u64 *value);
int msr_guest_write(struct vcpu *vcpu, u32 index, u64 value);
void msr_vcpu_reset(struct vcpu *vcpu);
