/* Guest image loaders: Multiboot (v1) kernels and flat binaries. */
#pragma once
#include "lib/types.h"
#include "vmm/vcpu_state.h"

struct vm;
struct vm_config;

#define MULTIBOOT_INFO_GPA 0x9000ULL /* below the EBDA, above the real-mode IVT/BDA */
#define MULTIBOOT_INFO_AREA 0x6000ULL

/* Loads cfg's kernel (and initrd) into vm's RAM and fills the boot CPU's
 * entry state. Returns 0, or -1 with one sentence in err. */
int guest_load(struct vm *vm, const struct vm_config *cfg, struct vcpu_regs *regs,
	       struct vcpu_sregs *sregs, char *err, size_t err_len);
/* Entry states (also used by other loaders). */
void guest_state_real_mode(struct vcpu_regs *regs, struct vcpu_sregs *sregs, u64 entry);
void guest_state_protected_flat(struct vcpu_regs *regs, struct vcpu_sregs *sregs, u64 entry);
