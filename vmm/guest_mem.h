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
};

/* Translates a linear address for an access (enum walk_access bits). */
enum guest_access_result guest_linear_to_phys(struct vcpu *vcpu, u64 linear, unsigned access,
					      u64 *gpa, u32 *pf_error);
/* Linear address of segment:offset for the vCPU's current mode. */
u64 guest_segment_linear(struct vcpu *vcpu, enum x86_segment seg, u64 offset);
/* Copies to/from guest-linear memory, page by page through the walker.
 * On GUEST_ACCESS_PAGE_FAULT, *fault_address is the linear address for CR2. */
enum guest_access_result guest_linear_read(struct vcpu *vcpu, u64 linear, void *dst, u64 len,
					   unsigned access, u32 *pf_error, u64 *fault_address);
enum guest_access_result guest_linear_write(struct vcpu *vcpu, u64 linear, const void *src, u64 len,
					    u32 *pf_error, u64 *fault_address);
/* Current execution mode (real, 16/32-bit protected, 64-bit). */
enum x86_mode guest_cpu_mode(struct vcpu *vcpu);
