/* Guest memory access, guest-physical and guest-linear. */
#include "vmm/guest_mem.h"
#include "vmm/backend.h"
#include "vmm/pagewalk.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"
#include "lib/bitmap.h"
#include "lib/string.h"

#define LINEAR_MASK_32 0xffffffffULL /* outside 64-bit mode linear addresses wrap at 4 GiB */

/* The exit-path case, inlined where the hypervisor reaches into guest
 * RAM: a few bytes inside one chunk that is already cleared. */
static inline bool ram_ready(const struct vm *vm, u64 gpa, u64 len)
{
	u64 chunk = gpa / GUEST_RAM_CHUNK;
	return !vm->ram_cleared || gpa >= vm->ram_end ||
	       ((gpa + len - 1) / GUEST_RAM_CHUNK == chunk && bitmap_test(vm->ram_cleared, chunk));
}

/* Host address of a chunk's first byte, NULL in a hole. A chunk lies in
 * one host run (pc_memory.h: runs are whole, aligned chunks), linearly,
 * including the bytes of the VGA window, which are never mapped. */
static u8 *chunk_host(struct vm *vm, u64 base)
{
	const struct memmap_region *r = memmap_first_overlap(&vm->mem, base, GUEST_RAM_CHUNK);
	if (!r)
		return NULL;
	return r->gpa <= base ? r->host + (base - r->gpa) : r->host - (r->gpa - base);
}

void guest_ram_prepare(struct vm *vm, u64 gpa, u64 len)
{
	if (!vm->ram_cleared || !len || gpa >= vm->ram_end)
		return;
	u64 first = gpa / GUEST_RAM_CHUNK, last = (MIN(gpa + len, vm->ram_end) - 1) / GUEST_RAM_CHUNK;
	/* vCPUs on other CPUs may reach for the same chunk: one clears it, and
	 * its bit is set only once the zeroes are written (x86 keeps stores in
	 * order; the fast path in ram_ready() reads the bit without the lock). */
	spin_lock(&vm->ram_lock);
	for (u64 chunk = first; chunk <= last; chunk++) {
		if (bitmap_test(vm->ram_cleared, chunk))
			continue;
		u8 *host = chunk_host(vm, chunk * GUEST_RAM_CHUNK);
		if (!host)
			continue;
		memset(host, 0, GUEST_RAM_CHUNK);
		__atomic_signal_fence(__ATOMIC_RELEASE);
		bitmap_set(vm->ram_cleared, chunk);
	}
	spin_unlock(&vm->ram_lock);
}

void *guest_phys_ptr(struct vm *vm, u64 gpa, u64 len)
{
	const struct memmap_region *r = memmap_find(&vm->mem, gpa, len ? len : 1);
	if (!r)
		return NULL;
	if (!ram_ready(vm, gpa, len ? len : 1))
		guest_ram_prepare(vm, gpa, len ? len : 1);
	return r->host + (gpa - r->gpa);
}

static int phys_copy(struct vm *vm, u64 gpa, u8 *buf, u64 len, bool write)
{
	while (len) {
		const struct memmap_region *r = memmap_find(&vm->mem, gpa, 1);
		if (!r)
			return -1;
		u64 chunk = MIN(len, r->gpa + r->size - gpa);
		u8 *host = r->host + (gpa - r->gpa);
		if (!ram_ready(vm, gpa, chunk))
			guest_ram_prepare(vm, gpa, chunk);
		if (write)
			memcpy(host, buf, chunk);
		else
			memcpy(buf, host, chunk);
		gpa += chunk;
		buf += chunk;
		len -= chunk;
	}
	return 0;
}

int guest_phys_read(struct vm *vm, u64 gpa, void *dst, u64 len) { return phys_copy(vm, gpa, dst, len, false); }

int guest_phys_zero(struct vm *vm, u64 gpa, u64 len)
{
	static const u8 zeros[PAGE_SIZE];
	for (u64 piece; len; gpa += piece, len -= piece) {
		piece = MIN(len, sizeof(zeros));
		if (guest_phys_write(vm, gpa, zeros, piece))
			return -1;
	}
	return 0;
}

int guest_phys_write(struct vm *vm, u64 gpa, const void *src, u64 len)
{
	return phys_copy(vm, gpa, (u8 *)src, len, true);
}

static bool walker_read(void *ctx, u64 gpa, void *value, unsigned size)
{
	return guest_phys_read(ctx, gpa, value, size) == 0;
}

static bool walker_write(void *ctx, u64 gpa, const void *value, unsigned size)
{
	return guest_phys_write(ctx, gpa, value, size) == 0;
}

enum guest_access_result guest_linear_to_phys(struct vcpu *vcpu, u64 linear, unsigned access,
					      u64 *gpa, u32 *pf_error)
{
	const struct vcpu_control *c = vcpu_control(vcpu);
	if (!(c->cr0 & CR0_PG)) { /* the common early-boot case, without a walk */
		*gpa = (c->efer & EFER_LMA) ? linear : (linear & LINEAR_MASK_32);
		return GUEST_ACCESS_OK;
	}
	struct pagewalk_env env = { c->cr0, c->cr3, c->cr4, c->efer, walker_read, walker_write, vcpu->vm };
	if (c->cpl == 3 && !(access & WALK_SYSTEM))
		access |= WALK_USER;
	access &= ~(unsigned)WALK_SYSTEM;
	switch (guest_page_walk(&env, linear, access, gpa, pf_error)) {
	case WALK_OK: return GUEST_ACCESS_OK;
	case WALK_PAGE_FAULT: return GUEST_ACCESS_PAGE_FAULT;
	case WALK_NONCANONICAL: return GUEST_ACCESS_NONCANONICAL;
	default: return GUEST_ACCESS_BAD_TABLE;
	}
}

enum x86_mode guest_cpu_mode(struct vcpu *vcpu)
{
	const struct vcpu_control *c = vcpu_control(vcpu);
	if (!(c->cr0 & CR0_PE) || (vcpu->regs.rflags & RFLAGS_VM))
		return X86_MODE_REAL;
	if ((c->efer & EFER_LMA) && c->cs_long)
		return X86_MODE_LONG64;
	return c->cs_default32 ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

enum guest_access_result guest_linear_address(struct vcpu *vcpu, enum x86_segment seg, u64 offset,
					      unsigned address_size, unsigned size, u64 *linear)
{
	const struct vcpu_control *c = vcpu_control(vcpu);
	bool has_base = seg != SEG_NONE;
	offset &= size_mask(address_size);
	if (!((c->efer & EFER_LMA) && c->cs_long)) {
		*linear = ((has_base ? c->segment_base[seg] : 0) + offset) & LINEAR_MASK_32;
		return GUEST_ACCESS_OK;
	}
	*linear = (seg == SEG_FS || seg == SEG_GS) ? c->segment_base[seg] + offset : offset;
	if (!linear_is_canonical(*linear, c->cr4) || !linear_is_canonical(*linear + size - 1, c->cr4))
		return GUEST_ACCESS_NONCANONICAL;
	return GUEST_ACCESS_OK;
}

u8 guest_noncanonical_vector(enum x86_segment seg)
{
	return seg == SEG_SS ? VEC_SS : VEC_GP;
}

unsigned guest_code_address_size(struct vcpu *vcpu)
{
	switch (guest_cpu_mode(vcpu)) {
	case X86_MODE_LONG64: return 8;
	case X86_MODE_PROT32: return 4;
	default: return 2;
	}
}

static enum guest_access_result linear_copy(struct vcpu *vcpu, u64 linear, u8 *buf, u64 len,
					    unsigned access, u32 *pf_error, u64 *fault_address)
{
	while (len) {
		u64 chunk = MIN(len, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
		u64 gpa;
		enum guest_access_result r = guest_linear_to_phys(vcpu, linear, access, &gpa, pf_error);
		if (r == GUEST_ACCESS_PAGE_FAULT)
			*fault_address = linear;
		if (r != GUEST_ACCESS_OK)
			return r;
		int rc = (access & WALK_WRITE) ? guest_phys_write(vcpu->vm, gpa, buf, chunk)
					       : guest_phys_read(vcpu->vm, gpa, buf, chunk);
		if (rc)
			return GUEST_ACCESS_NOT_RAM;
		linear += chunk;
		buf += chunk;
		len -= chunk;
	}
	return GUEST_ACCESS_OK;
}

enum guest_access_result guest_linear_read(struct vcpu *vcpu, u64 linear, void *dst, u64 len,
					   unsigned access, u32 *pf_error, u64 *fault_address)
{
	return linear_copy(vcpu, linear, dst, len, access & ~WALK_WRITE, pf_error, fault_address);
}

enum guest_access_result guest_linear_write(struct vcpu *vcpu, u64 linear, const void *src, u64 len,
					    u32 *pf_error, u64 *fault_address)
{
	return linear_copy(vcpu, linear, (u8 *)src, len, WALK_WRITE, pf_error, fault_address);
}

enum guest_access_result guest_system_access(struct vcpu *vcpu, u64 linear, void *buf, u64 len, bool write,
					     u32 *pf_error, u64 *fault_address)
{
	return linear_copy(vcpu, linear, buf, len, (write ? WALK_WRITE : WALK_READ) | WALK_SYSTEM, pf_error,
			   fault_address);
}
