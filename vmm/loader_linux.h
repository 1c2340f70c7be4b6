/* The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 32-bit entry. */
#pragma once
#include "lib/types.h"
#include "vmm/vcpu_state.h"

struct vm;
struct vm_config;

#define LINUX_BOOT_PARAMS_GPA 0x7000ULL
#define LINUX_GDT_GPA 0x6000ULL
#define LINUX_CMDLINE_GPA 0x20000ULL
#define LINUX_CMDLINE_MAX 2048

/* True if the image carries a Linux setup header ("HdrS"). */
bool linux_is_bzimage(const u8 *image, u64 size);
/* Loads a bzImage (and initrd) and fills the boot CPU's entry state.
 * Returns 0, or -1 with one sentence in err. */
int linux_load(struct vm *vm, const struct vm_config *cfg, u64 rsdp_gpa, struct vcpu_regs *regs,
	       struct vcpu_sregs *sregs, char *err, size_t err_len);
