/*
 * The one way to touch guest memory: guest-physical to host pointer, copies
 * with bounds checks, and guest-virtual accesses through the guest's own
 * page tables. Nothing else dereferences a guest address.
 */
#pragma once
#include "lib/types.h"
#include "vmm/emulate.h"

struct vm;
struct vcpu;

/* Guest RAM is handed out uncleared and zeroed GUEST_RAM_CHUNK at a time
 * before the hypervisor or the guest first touches it, so a VM start does
 * not pay for clearing RAM the guest never uses, and never sees what the
 * frames held before. */
#define GUEST_RAM_CHUNK (2 * MiB)
/* Clears the chunks of [gpa, gpa + len) not cleared yet (a no-op outside RAM). */
void guest_ram_prepare(struct vm *vm, u64 gpa, u64 len);

/* Host pointer for [gpa, gpa+len) if it lies inside one RAM region, else NULL. */
void *guest_phys_ptr(struct vm *vm, u64 gpa, u64 len);
/* Copies that may span regions; -1 if any byte is not guest RAM. */
int guest_phys_read(struct vm *vm, u64 gpa, void *dst, u64 len);
int guest_phys_write(struct vm *vm, u64 gpa, const void *src, u64 len);
int guest_phys_zero(struct vm *vm, u64 gpa, u64 len);

enum guest_access_result {
	GUEST_ACCESS_OK,
	GUEST_ACCESS_PAGE_FAULT, /* inject #PF: error code and CR2 are in the out parameters */
	GUEST_ACCESS_NOT_RAM,    /* the translated address is MMIO or nothing */
	GUEST_ACCESS_BAD_TABLE,  /* the guest's page tables point outside its RAM */
	GUEST_ACCESS_NONCANONICAL, /* 64-bit mode: the CPU raises #GP(0), #SS(0) for SS */
};

/* Translates a linear address for an access (enum walk_access bits). */
enum guest_access_result guest_linear_to_phys(struct vcpu *vcpu, u64 linear, unsigned access,
					      u64 *gpa, u32 *pf_error);
/* The linear address of segment:offset for an access of 'size' bytes by an
 * instruction with this address size (2, 4 or 8 bytes), formed as the CPU
 * forms it (SDM Vol. 1 3.3.7, Vol. 3A 3.4.2 and 5.3): the offset is
 * truncated to the address size, the segment base added (in 64-bit mode
 * only FS and GS have one) and, outside 64-bit mode, the sum wraps at
 * 4 GiB. In 64-bit mode every byte must be canonical, else
 * GUEST_ACCESS_NONCANONICAL. Segment limits are not checked. */
enum guest_access_result guest_linear_address(struct vcpu *vcpu, enum x86_segment seg, u64 offset,
					      unsigned address_size, unsigned size, u64 *linear);
/* The fault for GUEST_ACCESS_NONCANONICAL through this segment (error code 0). */
u8 guest_noncanonical_vector(enum x86_segment seg);
/* The address size of instruction fetches: RIP, EIP or IP. */
unsigned guest_code_address_size(struct vcpu *vcpu);
/* Copies to/from guest-linear memory, page by page through the walker.
 * On GUEST_ACCESS_PAGE_FAULT, *fault_address is the linear address for CR2. */
enum guest_access_result guest_linear_read(struct vcpu *vcpu, u64 linear, void *dst, u64 len,
					   unsigned access, u32 *pf_error, u64 *fault_address);
enum guest_access_result guest_linear_write(struct vcpu *vcpu, u64 linear, const void *src, u64 len,
					    u32 *pf_error, u64 *fault_address);
/* The CPU's own accesses to descriptor tables and TSSs: supervisor
 * accesses at any CPL (SDM Vol. 3A 4.6). */
enum guest_access_result guest_system_access(struct vcpu *vcpu, u64 linear, void *buf, u64 len, bool write,
					     u32 *pf_error, u64 *fault_address);
/* Current execution mode (real, 16/32-bit protected, 64-bit). */
enum x86_mode guest_cpu_mode(struct vcpu *vcpu);
