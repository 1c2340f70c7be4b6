/*
 * Port I/O exits: IN/OUT to the VM's port bus, and INS/OUTS (with REP)
 * through the guest's page tables.
 */
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "vmm/guest_mem.h"
#include "vmm/pagewalk.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"

/* Bound the work one exit does so a huge REP count cannot stall the CPU;
 * the instruction restarts where it stopped. */
#define STRING_IO_BATCH 4096

static void set_register_masked(u64 *reg, u64 value, u64 mask)
{
	*reg = (*reg & ~mask) | (value & mask);
}

static enum exit_action simple_io(struct vcpu *v, const struct vm_exit *e)
{
	struct vm *vm = v->vm;
	u64 mask = size_mask(e->io.size);
	if (e->io.in) {
		u64 value;
		io_bus_read(&vm->pio, v, vm->name, e->io.port, e->io.size, &value);
		if (e->io.size == 4)
			v->regs.gpr[GPR_RAX] = (u32)value; /* 32-bit writes zero-extend */
		else
			set_register_masked(&v->regs.gpr[GPR_RAX], value, mask);
	} else {
		io_bus_write(&vm->pio, v, vm->name, e->io.port, e->io.size, v->regs.gpr[GPR_RAX] & mask);
	}
	return vcpu_skip_instruction(v, e) ? EXIT_CONTINUE : EXIT_STOP;
}

/* The faulting element changes nothing; earlier REP iterations stay done. */
static void inject_access_fault(struct vcpu *v, enum guest_access_result r, enum x86_segment seg,
				u64 fault_address, u32 error)
{
	if (r == GUEST_ACCESS_PAGE_FAULT)
		vcpu_inject_page_fault(v, fault_address, error);
	else
		vcpu_inject_exception(v, guest_noncanonical_vector(seg), true, 0);
}

/* One element of INS/OUTS at seg:rDI/rSI (ES:rDI for INS, SDM Vol. 2 "INS"). */
static bool string_element(struct vcpu *v, const struct vm_exit *e, enum x86_segment seg, u64 *index_reg)
{
	struct vm *vm = v->vm;
	u64 value = 0, fault_address = 0, linear;
	u32 error = 0;
	enum guest_access_result r = guest_linear_address(v, seg, *index_reg, e->io.address_size, e->io.size,
							  &linear);
	if (r == GUEST_ACCESS_OK && e->io.in) {
		io_bus_read(&vm->pio, v, vm->name, e->io.port, e->io.size, &value);
		r = vcpu_access_linear(v, linear, &value, e->io.size, true, &error, &fault_address);
	} else if (r == GUEST_ACCESS_OK) {
		r = vcpu_access_linear(v, linear, &value, e->io.size, false, &error, &fault_address);
		if (r == GUEST_ACCESS_OK)
			io_bus_write(&vm->pio, v, vm->name, e->io.port, e->io.size, value);
	}
	if (r == GUEST_ACCESS_PAGE_FAULT || r == GUEST_ACCESS_NONCANONICAL) {
		inject_access_fault(v, r, seg, fault_address, error);
		return false;
	}
	if (r != GUEST_ACCESS_OK) {
		vm_stop(vm, "string I/O on port 0x%x through linear 0x%llx: the guest page tables are broken", e->io.port,
			(unsigned long long)linear);
		return false;
	}
	u64 step = (v->regs.rflags & RFLAGS_DF) ? -(u64)e->io.size : e->io.size;
	address_register_write(index_reg, *index_reg + step, e->io.address_size);
	return true;
}

/* Fills in what the hardware did not report about a string instruction. */
static bool complete_string_info(struct vcpu *v, const struct vm_exit *exit, struct vm_exit *e)
{
	*e = *exit;
	if (e->io.address_size && (e->io.in || e->io.segment != SEG_NONE))
		return true;
	struct x86_insn insn;
	if (vcpu_decode_instruction(v, &insn)) {
		vm_stop(v->vm, "cannot decode the string I/O instruction at RIP 0x%llx",
			(unsigned long long)v->regs.rip);
		return false;
	}
	e->io.address_size = insn.address_size;
	if (e->io.segment == SEG_NONE)
		e->io.segment = insn.segment_override != SEG_NONE ? insn.segment_override : SEG_DS;
	return true;
}

/* rSI/rDI and rCX at the instruction's address size: with a32 in 64-bit
 * mode ESI/EDI/ECX are used and written back zero-extended. */
static enum exit_action string_io(struct vcpu *v, const struct vm_exit *exit)
{
	struct vm_exit decoded, *e = &decoded;
	if (!complete_string_info(v, exit, e))
		return EXIT_STOP;
	u64 amask = size_mask(e->io.address_size);
	u64 *index_reg = &v->regs.gpr[e->io.in ? GPR_RDI : GPR_RSI];
	enum x86_segment seg = e->io.in ? SEG_ES : e->io.segment;
	u64 *count = &v->regs.gpr[GPR_RCX];
	for (unsigned done = 0; !e->io.rep || (*count & amask); done++) {
		if (done == STRING_IO_BATCH)
			return EXIT_CONTINUE; /* RIP unchanged: the guest re-executes the rest */
		if (!string_element(v, e, seg, index_reg))
			return v->vm->state == VM_RUNNING ? EXIT_CONTINUE : EXIT_STOP;
		if (!e->io.rep)
			break;
		address_register_write(count, *count - 1, e->io.address_size);
	}
	return vcpu_skip_instruction(v, e) ? EXIT_CONTINUE : EXIT_STOP;
}

enum exit_action handle_port_io(struct vcpu *v, const struct vm_exit *e)
{
	return e->io.string ? string_io(v, e) : simple_io(v, e);
}
