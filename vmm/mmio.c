/*
 * MMIO exits: the faulting instruction is emulated by vmm/emulate.c, whose
 * memory accesses land either in guest RAM or on the VM's MMIO bus.
 */
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "vmm/emulate.h"
#include "vmm/guest_mem.h"
#include "vmm/pagewalk.h"
#include "vmm/vm.h"
#include "lib/bitmap.h"
#include "lib/string.h"

#define MMIO_MAX_ACCESS 8

static enum emulate_status emulation_fault(struct emulate_ctx *ctx, u8 vector, u32 error)
{
	ctx->exception.vector = vector;
	ctx->exception.has_error_code = true;
	ctx->exception.error_code = error;
	return EMULATE_EXCEPTION;
}

static enum emulate_status page_fault(struct emulate_ctx *ctx, u64 address, u32 error)
{
	vcpu_set_cr2(ctx->opaque, address);
	return emulation_fault(ctx, VEC_PF, error);
}

static void mmio_piece(struct vcpu *v, u64 gpa, u8 *data, unsigned size, bool write)
{
	u64 value = 0;
	if (write) {
		memcpy(&value, data, size);
		io_bus_write(&v->vm->mmio, v, v->vm->name, gpa, size, value);
	} else {
		io_bus_read(&v->vm->mmio, v, v->vm->name, gpa, size, &value);
		memcpy(data, &value, size);
	}
}

/* An access that is not all RAM: split where pages or RAM regions end, so
 * a read straddling the end of RAM gets the RAM bytes and all-ones above. */
static enum guest_access_result split_access(struct vcpu *v, u64 linear, u8 *data, unsigned size,
					     bool write, u32 *error, u64 *fault_address)
{
	while (size) {
		u64 gpa;
		enum guest_access_result r = guest_linear_to_phys(v, linear, write ? WALK_WRITE : WALK_READ,
								  &gpa, error);
		if (r == GUEST_ACCESS_PAGE_FAULT)
			*fault_address = linear;
		if (r != GUEST_ACCESS_OK)
			return r;
		unsigned piece = MIN(size, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
		const struct memmap_region *ram = memmap_find(&v->vm->mem, gpa, 1);
		if (ram) {
			piece = MIN(piece, ram->gpa + ram->size - gpa);
			u8 *host = ram->host + (gpa - ram->gpa);
			guest_ram_prepare(v->vm, gpa, piece);
			memcpy(write ? host : data, write ? data : host, piece);
		} else {
			mmio_piece(v, gpa, data, piece, write);
		}
		linear += piece;
		data += piece;
		size -= piece;
	}
	return GUEST_ACCESS_OK;
}

/* A guest-linear access for the emulator or string I/O: guest RAM, or the
 * VM's MMIO bus for addresses without RAM. */
enum guest_access_result vcpu_access_linear(struct vcpu *v, u64 linear, void *data, unsigned size,
					    bool write, u32 *error, u64 *fault_address)
{
	enum guest_access_result r = write ? guest_linear_write(v, linear, data, size, error, fault_address)
					   : guest_linear_read(v, linear, data, size, WALK_READ, error, fault_address);
	if (r != GUEST_ACCESS_NOT_RAM || size > MMIO_MAX_ACCESS)
		return r;
	return split_access(v, linear, data, size, write, error, fault_address);
}

static enum emulate_status access(struct emulate_ctx *ctx, enum x86_segment seg, u64 offset,
				  void *data, unsigned size, bool write)
{
	struct vcpu *v = ctx->opaque;
	u64 linear, fault_address;
	u32 error;
	enum guest_access_result r = guest_linear_address(v, seg, offset, ctx->insn.address_size, size, &linear);
	if (r == GUEST_ACCESS_OK)
		r = vcpu_access_linear(v, linear, data, size, write, &error, &fault_address);
	switch (r) {
	case GUEST_ACCESS_OK: return EMULATE_OK;
	case GUEST_ACCESS_PAGE_FAULT: return page_fault(ctx, fault_address, error);
	case GUEST_ACCESS_NONCANONICAL: return emulation_fault(ctx, guest_noncanonical_vector(seg), 0);
	default: return EMULATE_UNHANDLEABLE;
	}
}

static enum emulate_status emulate_read(struct emulate_ctx *ctx, enum x86_segment seg, u64 offset,
					void *data, unsigned size)
{
	return access(ctx, seg, offset, data, size, false);
}

static enum emulate_status emulate_write(struct emulate_ctx *ctx, enum x86_segment seg, u64 offset,
					 const void *data, unsigned size)
{
	return access(ctx, seg, offset, (void *)data, size, true);
}

/* Instruction bytes at CS:offset, as many as are readable (up to a page end
 * that is not mapped, the rest is simply unavailable). */
static unsigned emulate_fetch(struct emulate_ctx *ctx, u64 offset, u8 *data, unsigned size)
{
	struct vcpu *v = ctx->opaque;
	unsigned got = 0;
	unsigned address_size = guest_code_address_size(v);
	while (got < size) {
		u64 linear, fault_address;
		u32 error;
		if (guest_linear_address(v, SEG_CS, offset + got, address_size, 1, &linear))
			break; /* RIP + n is not canonical: those bytes do not exist */
		u64 bytes_after = size_mask(address_size) - ((offset + got) & size_mask(address_size));
		unsigned chunk = MIN(size - got, PAGE_SIZE - (linear & (PAGE_SIZE - 1)));
		if (chunk - 1 > bytes_after)
			chunk = bytes_after + 1; /* IP/EIP wraps: the rest comes from offset 0 */
		if (guest_linear_read(v, linear, data + got, chunk, WALK_FETCH, &error, &fault_address))
			break;
		got += chunk;
	}
	return got;
}

static const struct emulate_ops ops = {
	.read = emulate_read,
	.write = emulate_write,
	.fetch = emulate_fetch,
};

static void context_from_vcpu(struct emulate_ctx *ctx, struct vcpu *v)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->ops = &ops;
	ctx->opaque = v;
	ctx->mode = guest_cpu_mode(v);
	memcpy(ctx->gpr, v->regs.gpr, sizeof(ctx->gpr));
	ctx->rip = v->regs.rip;
	ctx->rflags = v->regs.rflags;
}

int vcpu_decode_instruction(struct vcpu *v, struct x86_insn *insn)
{
	struct emulate_ctx ctx = { .opaque = v }; /* fetch only needs the vCPU */
	u8 bytes[X86_MAX_INSN_LENGTH];
	unsigned got = emulate_fetch(&ctx, v->regs.rip, bytes, sizeof(bytes));
	return x86_decode(bytes, got, guest_cpu_mode(v), insn);
}

int vcpu_read_rm_operand(struct vcpu *v, const struct x86_insn *insn, unsigned size, u64 *value)
{
	struct emulate_ctx ctx;
	context_from_vcpu(&ctx, v);
	ctx.insn = *insn;
	switch (x86_read_rm_operand(&ctx, size, value)) {
	case EMULATE_OK: return 0;
	case EMULATE_EXCEPTION:
		vcpu_inject_exception(v, ctx.exception.vector, ctx.exception.has_error_code,
				      ctx.exception.error_code);
		return 1;
	default: return -1;
	}
}

int vcpu_decode_current_instruction(struct vcpu *v, u8 *length)
{
	struct x86_insn insn;
	if (vcpu_decode_instruction(v, &insn))
		return -1;
	*length = insn.length;
	return 0;
}


/* A vCPU may fault once on a chunk another vCPU maps meanwhile; this many
 * faults in a row on a mapped chunk are a bug in the tables. */
#define MAPPED_FAULT_LIMIT 4

/* The guest's first touch of a RAM chunk: clear it (unless the hypervisor
 * already did, loading something there) and map it. A fault on a chunk
 * already mapped means the second-level tables are not what Presidio
 * built: stop rather than loop. */
static enum exit_action first_touch_of_ram(struct vcpu *v, u64 gpa)
{
	struct vm *vm = v->vm;
	u64 chunk = gpa / GUEST_RAM_CHUNK, base = chunk * GUEST_RAM_CHUNK;
	if (!vm->ram_mapped) {
		vm_stop(vm, "nested page fault at guest-physical 0x%llx, which is mapped RAM",
			(unsigned long long)gpa);
		return EXIT_STOP;
	}
	if (bitmap_test(vm->ram_mapped, chunk)) {
		/* Another vCPU mapped it after this one faulted (not-present
		 * entries are never cached): go again. The same chunk faulting
		 * again and again means the tables are not what Presidio built. */
		v->mapped_faults = v->mapped_fault_chunk == chunk ? v->mapped_faults + 1 : 1;
		v->mapped_fault_chunk = chunk;
		if (v->mapped_faults < MAPPED_FAULT_LIMIT)
			return EXIT_CONTINUE;
		vm_stop(vm, "nested page fault at guest-physical 0x%llx, which is mapped RAM",
			(unsigned long long)gpa);
		return EXIT_STOP;
	}
	guest_ram_prepare(vm, base, GUEST_RAM_CHUNK);
	if (backend->map_ram(vm, base, GUEST_RAM_CHUNK)) {
		vm_stop(vm, "out of memory for the nested page tables mapping guest-physical 0x%llx",
			(unsigned long long)base);
		return EXIT_STOP;
	}
	bitmap_set(vm->ram_mapped, chunk);
	vm->ram_chunks_mapped++;
	return EXIT_CONTINUE;
}

enum exit_action handle_mmio(struct vcpu *v, const struct vm_exit *e)
{
	struct emulate_ctx ctx;
	if (e->mmio.gpa < v->vm->ram_end && memmap_find(&v->vm->mem, e->mmio.gpa, 1))
		return first_touch_of_ram(v, e->mmio.gpa);
	/* The CPU was pushing an interrupt frame or reading the IDT: that is
	 * no instruction to emulate (KVM stops such a VM too). */
	if (e->interrupted_event) {
		vm_stop(v->vm, "event delivery (vector %u) touched guest-physical 0x%llx, which is not RAM",
			e->interrupted_vector, (unsigned long long)e->mmio.gpa);
		return EXIT_STOP;
	}
	if (e->mmio.fetch) {
		vm_stop(v->vm, "instruction fetch from guest-physical 0x%llx, which is not RAM",
			(unsigned long long)e->mmio.gpa);
		return EXIT_STOP;
	}
	context_from_vcpu(&ctx, v);
	switch (x86_emulate(&ctx)) {
	case EMULATE_OK:
		memcpy(v->regs.gpr, ctx.gpr, sizeof(v->regs.gpr));
		v->regs.rip = ctx.mode == X86_MODE_LONG64 ? ctx.rip : ctx.rip & RIP_MASK_32;
		v->regs.rflags = ctx.rflags;
		vcpu_instruction_completed(v);
		return EXIT_CONTINUE;
	case EMULATE_EXCEPTION:
		/* Completed REP iterations stay completed (RIP is unchanged). */
		memcpy(v->regs.gpr, ctx.gpr, sizeof(v->regs.gpr));
		vcpu_inject_exception(v, ctx.exception.vector, ctx.exception.has_error_code,
				      ctx.exception.error_code);
		return EXIT_CONTINUE;
	default:
		vm_stop(v->vm, "cannot emulate the instruction at RIP 0x%llx (bytes %02x %02x %02x %02x) "
			"accessing guest-physical 0x%llx", (unsigned long long)v->regs.rip, ctx.insn.bytes[0],
			ctx.insn.bytes[1], ctx.insn.bytes[2], ctx.insn.bytes[3], (unsigned long long)e->mmio.gpa);
		return EXIT_STOP;
	}
}
