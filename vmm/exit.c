/* Exit handlers, written once against the normalized struct vm_exit. */
#include "vmm/vmm.h"
#include "vmm/apic.h"
#include "vmm/backend.h"
#include "vmm/cpuid.h"
#include "vmm/guest_mem.h"
#include "vmm/host.h"
#include "vmm/pagewalk.h"
#include "lib/string.h"
#include "vmm/msr.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "lib/print.h"

#define VIRT_INSTRUCTION_LOG_LIMIT 16

static const char *const reason_names[EXIT_REASON_COUNT] = {
	[EXIT_NONE] = "none", [EXIT_IO] = "io", [EXIT_MMIO] = "mmio", [EXIT_CPUID] = "cpuid",
	[EXIT_MSR_READ] = "msr-read", [EXIT_MSR_WRITE] = "msr-write", [EXIT_HLT] = "hlt",
	[EXIT_CR_ACCESS] = "cr", [EXIT_EXCEPTION] = "exception",
	[EXIT_INTERRUPT_WINDOW] = "interrupt-window", [EXIT_EXTERNAL_INTERRUPT] = "external-interrupt",
	[EXIT_NMI] = "nmi", [EXIT_TRIPLE_FAULT] = "triple-fault", [EXIT_HYPERCALL] = "hypercall",
	[EXIT_VIRT_INSTRUCTION] = "virt-instruction", [EXIT_INIT] = "init", [EXIT_SIPI] = "sipi",
	[EXIT_XSETBV] = "xsetbv", [EXIT_INVLPG] = "invlpg", [EXIT_INVD] = "invd", [EXIT_PAUSE] = "pause",
	[EXIT_WBINVD] = "wbinvd", [EXIT_RDPMC] = "rdpmc", [EXIT_UNAVAILABLE_INSTRUCTION] = "ud-instruction",
	[EXIT_TASK_SWITCH] = "task-switch", [EXIT_SMI] = "smi", [EXIT_MACHINE_CHECK] = "machine-check",
	[EXIT_ENTRY_FAILED] = "entry-failed", [EXIT_UNKNOWN] = "unknown",
};

const char *exit_reason_name(enum exit_reason reason)
{
	return reason < EXIT_REASON_COUNT && reason_names[reason] ? reason_names[reason] : "?";
}

/* SDM Vol. 3A Table 6-1: the exceptions that push an error code. */
static bool exception_has_error_code(u8 vector)
{
	return vector == VEC_DF || (vector >= VEC_TS && vector <= VEC_PF) || vector == VEC_AC ||
	       vector == VEC_CP;
}

/* The one place an exception for the guest is queued: the error code
 * follows the architecture, not the caller (none in real mode, where
 * delivery never pushes one, and none for vectors without one). */
void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error_code, u32 error_code)
{
	has_error_code = exception_has_error_code(vector) && (vcpu_control(v)->cr0 & CR0_PE);
	backend->inject_event(v, EVENT_EXCEPTION, vector, has_error_code, has_error_code ? error_code : 0);
}

void vcpu_inject_gp(struct vcpu *v)
{
	vcpu_inject_exception(v, VEC_GP, true, 0);
}

void vcpu_set_cr2(struct vcpu *v, u64 address)
{
	struct vcpu_sregs s;
	backend->get_sregs(v, &s);
	s.cr2 = address;
	vcpu_set_sregs(v, &s);
}

void vcpu_inject_page_fault(struct vcpu *v, u64 address, u32 error_code)
{
	vcpu_set_cr2(v, address);
	vcpu_inject_exception(v, VEC_PF, true, error_code);
}

/* The usual, prefix-free encoding of the instruction behind each exit that
 * must be skipped: checking for it is far cheaper than a full decode when
 * the hardware does not report lengths (SVM without NRIP-save). */
static const struct {
	u8 length;
	u8 bytes[3];
} plain_encoding[EXIT_REASON_COUNT] = {
	[EXIT_CPUID] = { 2, { 0x0f, 0xa2 } },
	[EXIT_HLT] = { 1, { 0xf4 } },
	[EXIT_MSR_READ] = { 2, { 0x0f, 0x32 } },
	[EXIT_MSR_WRITE] = { 2, { 0x0f, 0x30 } },
	[EXIT_INVD] = { 2, { 0x0f, 0x08 } },
	[EXIT_XSETBV] = { 3, { 0x0f, 0x01, 0xd1 } },
	[EXIT_PAUSE] = { 2, { 0xf3, 0x90 } },
	[EXIT_WBINVD] = { 2, { 0x0f, 0x09 } },
};

static u8 plain_length(struct vcpu *v, enum exit_reason reason)
{
	u8 length = reason < EXIT_REASON_COUNT ? plain_encoding[reason].length : 0;
	u64 gpa;
	u32 error;
	if (!length)
		return 0;
	u64 linear;
	if (guest_linear_address(v, SEG_CS, v->regs.rip, guest_code_address_size(v), length, &linear) ||
	    (linear & (PAGE_SIZE - 1)) > PAGE_SIZE - length ||
	    guest_linear_to_phys(v, linear, WALK_FETCH, &gpa, &error) != GUEST_ACCESS_OK)
		return 0;
	const u8 *code = guest_phys_ptr(v->vm, gpa, length);
	if (!code)
		return 0;
	for (u8 i = 0; i < length; i++)
		if (code[i] != plain_encoding[reason].bytes[i])
			return 0;
	return length;
}

bool vcpu_skip_instruction(struct vcpu *v, const struct vm_exit *exit)
{
	u8 length = exit->instruction_length;
	if (!length)
		length = plain_length(v, exit->reason);
	if (!length && vcpu_decode_current_instruction(v, &length)) {
		vm_stop(v->vm, "cannot decode the instruction at RIP 0x%llx to skip it",
			(unsigned long long)v->regs.rip);
		return false;
	}
	v->regs.rip += length;
	if (guest_cpu_mode(v) != X86_MODE_LONG64)
		v->regs.rip &= RIP_MASK_32;
	vcpu_instruction_completed(v);
	return true;
}

/* Single-step (SDM Vol. 3B 18.3.1.4): an instruction completed with
 * RFLAGS.TF set ends in a #DB trap with DR6.BS, also when Presidio
 * completed it (CPUID, port I/O, MMIO...) and the CPU never saw it. */
void vcpu_instruction_completed(struct vcpu *v)
{
	backend->clear_interrupt_shadow(v);
	if (!(v->regs.rflags & RFLAGS_TF))
		return;
	struct vcpu_sregs s;
	backend->get_sregs(v, &s);
	s.dr6 |= DR6_BS;
	vcpu_set_sregs(v, &s);
	vcpu_inject_exception(v, VEC_DB, false, 0);
}

static enum exit_action skip(struct vcpu *v, const struct vm_exit *exit)
{
	return vcpu_skip_instruction(v, exit) ? EXIT_CONTINUE : EXIT_STOP;
}

static enum exit_action handle_cpuid(struct vcpu *v, const struct vm_exit *exit)
{
	u32 leaf = (u32)v->regs.gpr[GPR_RAX], subleaf = (u32)v->regs.gpr[GPR_RCX];
	struct cpuid_regs host = cpuid(leaf, subleaf);
	struct cpuid_guest_info info = { .vcpu_id = v->id, .vcpu_count = v->vm->vcpu_count,
					 .guest_osxsave = (vcpu_control(v)->cr4 & CR4_OSXSAVE) != 0,
					 .tsc_khz = (u32)(tsc_hz / 1000), .xcr0_supported = host_xcr0_supported() };
	struct cpuid_result r = cpuid_filter(leaf, subleaf,
					     (struct cpuid_result){ host.eax, host.ebx, host.ecx, host.edx }, &info);
	v->regs.gpr[GPR_RAX] = r.eax;
	v->regs.gpr[GPR_RBX] = r.ebx;
	v->regs.gpr[GPR_RCX] = r.ecx;
	v->regs.gpr[GPR_RDX] = r.edx;
	return skip(v, exit);
}

static enum exit_action handle_msr_read(struct vcpu *v, const struct vm_exit *exit)
{
	u64 value;
	if (msr_guest_read(v, exit->msr.index, &value)) {
		vcpu_inject_gp(v);
		return EXIT_CONTINUE;
	}
	v->regs.gpr[GPR_RAX] = (u32)value;
	v->regs.gpr[GPR_RDX] = value >> 32;
	return skip(v, exit);
}

static enum exit_action handle_msr_write(struct vcpu *v, const struct vm_exit *exit)
{
	u64 value = (v->regs.gpr[GPR_RDX] << 32) | (u32)v->regs.gpr[GPR_RAX];
	if (msr_guest_write(v, exit->msr.index, value)) {
		vcpu_inject_gp(v);
		return EXIT_CONTINUE;
	}
	return skip(v, exit);
}

static enum exit_action handle_hlt(struct vcpu *v, const struct vm_exit *exit)
{
	if (!vcpu_skip_instruction(v, exit))
		return EXIT_STOP;
	if (vcpu_halt(v, (v->regs.rflags & RFLAGS_IF) != 0))
		return EXIT_CONTINUE; /* the run loop injects what woke it, or the CPU goes to another vCPU */
	vm_stop(v->vm, "HLT with %s and no timer or device that could wake it (RIP 0x%llx)",
		(v->regs.rflags & RFLAGS_IF) ? "interrupts enabled" : "interrupts disabled",
		(unsigned long long)v->regs.rip);
	return EXIT_STOP;
}

static enum exit_action handle_invalid_opcode(struct vcpu *v, const char *what);

/* 0F 01 D8/DA/DB: VMRUN, VMLOAD, VMSAVE, which fault on their rAX operand
 * before their intercept is checked. A CPU without SVM raises #UD. */
static bool is_svm_memory_instruction(const struct x86_insn *insn)
{
	return insn->opcode_map == 1 && insn->opcode == 0x01 && insn->has_modrm &&
	       (insn->modrm == 0xd8 || insn->modrm == 0xda || insn->modrm == 0xdb);
}


/*
 * An intercepted exception raised while delivering another one: what the
 * CPU would have done (SDM Table 6-5) — #DF, or a triple fault after #DF.
 * Returns true if it handled the exit.
 */
static bool merge_exceptions(struct vcpu *v, const struct vm_exit *exit, enum exit_action *action)
{
	u8 first = exit->interrupted_vector, second = exit->exception.vector;
	if (!exit->interrupted_exception)
		return false;
	switch (exception_pair(first, second)) {
	case EXCEPTIONS_TRIPLE_FAULT:
		vm_stop(v->vm, "triple fault at RIP 0x%llx (vector %u while delivering #DF)",
			(unsigned long long)v->regs.rip, second);
		backend->dump_state(v);
		*action = EXIT_STOP;
		return true;
	case EXCEPTIONS_DOUBLE_FAULT:
		vcpu_inject_exception(v, VEC_DF, true, 0);
		*action = EXIT_CONTINUE;
		return true;
	default:
		return false; /* benign: the second is delivered, the first recurs */
	}
}

static enum exit_action reinject_exception(struct vcpu *v, const struct vm_exit *exit)
{
	struct x86_insn insn;
	enum exit_action action;
	if (merge_exceptions(v, exit, &action))
		return action;
	if (exit->exception.vector == VEC_GP && !vcpu_decode_instruction(v, &insn) &&
	    is_svm_memory_instruction(&insn))
		return handle_invalid_opcode(v, "VMRUN/VMLOAD/VMSAVE");
	bool has_error = exit->exception.vector == VEC_AC || exit->exception.vector == VEC_GP;
	vcpu_inject_exception(v, exit->exception.vector, has_error, exit->exception.error_code);
	return EXIT_CONTINUE;
}

static enum exit_action handle_interrupt_window(struct vcpu *v, const struct vm_exit *exit)
{
	backend->set_interrupt_window(v, false);
	v->window_requested = false;
	return EXIT_CONTINUE;
}

static enum exit_action handle_nothing(struct vcpu *v, const struct vm_exit *exit)
{
	return EXIT_CONTINUE;
}

static enum exit_action handle_triple_fault(struct vcpu *v, const struct vm_exit *exit)
{
	vm_stop(v->vm, "triple fault at RIP 0x%llx (the guest's exception handling failed)",
		(unsigned long long)v->regs.rip);
	backend->dump_state(v);
	return EXIT_STOP;
}

static enum exit_action handle_invalid_opcode(struct vcpu *v, const char *what)
{
	if (v->vm->virt_insn_reports++ < VIRT_INSTRUCTION_LOG_LIMIT)
		vm_log(v->vm, "%s at RIP 0x%llx: #UD (Presidio offers no nested virtualization)", what,
		       (unsigned long long)v->regs.rip);
	vcpu_inject_exception(v, VEC_UD, false, 0);
	return EXIT_CONTINUE;
}

static enum exit_action handle_virt_instruction(struct vcpu *v, const struct vm_exit *exit)
{
	return handle_invalid_opcode(v, exit->virt_instruction.what);
}

static enum exit_action handle_hypercall(struct vcpu *v, const struct vm_exit *exit)
{
	return handle_invalid_opcode(v, "hypercall (VMCALL/VMMCALL)");
}

/* XSETBV (SDM Vol. 2C): #UD without CR4.OSXSAVE; #GP for CPL > 0, an XCR
 * other than XCR0 or a value the rules reject; only then does the host
 * execute it. */
static enum exit_action handle_xsetbv(struct vcpu *v, const struct vm_exit *exit)
{
	u64 value = (v->regs.gpr[GPR_RDX] << 32) | (u32)v->regs.gpr[GPR_RAX];
	if (!(vcpu_control(v)->cr4 & CR4_OSXSAVE)) {
		vcpu_inject_exception(v, VEC_UD, false, 0);
		return EXIT_CONTINUE;
	}
	if (vcpu_control(v)->cpl != 0 || (u32)v->regs.gpr[GPR_RCX] != 0 || vcpu_set_xcr0(v, value)) {
		vcpu_inject_gp(v);
		return EXIT_CONTINUE;
	}
	return skip(v, exit);
}

static enum exit_action handle_rdpmc(struct vcpu *v, const struct vm_exit *exit)
{
	/* No performance counters are offered: every counter index is invalid. */
	vcpu_inject_gp(v);
	return EXIT_CONTINUE;
}

static enum exit_action handle_unavailable_instruction(struct vcpu *v, const struct vm_exit *exit)
{
	if (v->vm->virt_insn_reports++ < VIRT_INSTRUCTION_LOG_LIMIT)
		vm_log(v->vm, "%s at RIP 0x%llx: #UD (not available to this vCPU)", exit->virt_instruction.what,
		       (unsigned long long)v->regs.rip);
	vcpu_inject_exception(v, VEC_UD, false, 0);
	return EXIT_CONTINUE;
}

static enum exit_action handle_invlpg(struct vcpu *v, const struct vm_exit *exit)
{
	/* The CPU did not invalidate anything: flush the vCPU's TLB tag. */
	backend->flush_guest_tlb(v);
	return skip(v, exit);
}

static enum exit_action handle_machine_check(struct vcpu *v, const struct vm_exit *exit)
{
	vm_stop(v->vm, "machine check while the guest ran (a host hardware error) at RIP 0x%llx",
		(unsigned long long)v->regs.rip);
	return EXIT_STOP;
}

#define MOV_TO_CR_OPCODE 0x22
#define MOV_FROM_CR_OPCODE 0x20
#define LMSW_BITS 0xf /* PE, MP, EM, TS */

#define CR8_TPR 8

/* CR8 is the local APIC's task priority (64-bit mode only, or AMD's LOCK
 * MOV CR0 alias): MOV to/from only. */
static enum exit_action handle_cr8(struct vcpu *v, const struct vm_exit *exit, u64 *gpr)
{
	if (exit->cr.type == CR_MOV_FROM) {
		*gpr = vcpu_apic_cr8(v);
	} else if (vcpu_apic_set_cr8(v, *gpr)) {
		vcpu_inject_gp(v);
		return EXIT_CONTINUE;
	}
	return skip(v, exit);
}

#define CLTS_OPCODE 0x06
#define GROUP7_OPCODE 0x01
#define LMSW_MODRM_REG 6
#define MODRM_REG_MASK 7
#define LMSW_OPERAND_SIZE 2

/* What a CR exit did not report (SVM without decode assists; LMSW and
 * CLTS behind a CR0 write intercept), from the instruction itself.
 * 0, 1 if a fault reading LMSW's operand was injected, -1 if unknown. */
static int decode_cr_access(struct vcpu *v, struct vm_exit *e)
{
	struct x86_insn insn;
	u64 source;
	if (vcpu_decode_instruction(v, &insn) || insn.opcode_map != 1)
		return -1;
	switch (insn.opcode) {
	case MOV_TO_CR_OPCODE:
	case MOV_FROM_CR_OPCODE:
		e->cr.type = insn.opcode == MOV_TO_CR_OPCODE ? CR_MOV_TO : CR_MOV_FROM;
		e->cr.gpr = insn.modrm_rm; /* MOV to/from CRn: the GPR is ModRM.rm */
		return 0;
	case CLTS_OPCODE:
		e->cr.type = CR_CLTS;
		return 0;
	case GROUP7_OPCODE:
		if (!insn.has_modrm || (insn.modrm_reg & MODRM_REG_MASK) != LMSW_MODRM_REG)
			return -1;
		int read = vcpu_read_rm_operand(v, &insn, LMSW_OPERAND_SIZE, &source);
		e->cr.type = CR_LMSW;
		e->cr.lmsw_source = (u16)source;
		return read;
	default:
		return -1;
	}
}

static enum exit_action handle_cr_access(struct vcpu *v, const struct vm_exit *reported)
{
	struct vm_exit e = *reported;
	struct vcpu_sregs s;
	if (e.cr.gpr == CR_GPR_UNKNOWN) {
		int decoded = decode_cr_access(v, &e);
		if (decoded > 0)
			return EXIT_CONTINUE;
		if (decoded < 0) {
			vm_stop(v->vm, "cannot decode the control-register access at RIP 0x%llx",
				(unsigned long long)v->regs.rip);
			return EXIT_STOP;
		}
	}
	backend->get_sregs(v, &s);
	u64 *gpr = &v->regs.gpr[e.cr.gpr & (GPR_COUNT - 1)];
	if (e.cr.cr == CR8_TPR)
		return handle_cr8(v, &e, gpr);
	u64 current = e.cr.cr == 0 ? s.cr0 : e.cr.cr == 3 ? s.cr3 : s.cr4;
	u64 value;
	switch (e.cr.type) {
	case CR_MOV_FROM:
		*gpr = current;
		return skip(v, &e);
	case CR_MOV_TO: value = *gpr; break;
	case CR_CLTS: value = s.cr0 & ~CR0_TS; break;
	default: /* LMSW: can set PE but never clear it */
		value = (s.cr0 & ~(u64)LMSW_BITS) | (e.cr.lmsw_source & LMSW_BITS) | (s.cr0 & CR0_PE);
		break;
	}
	if (guest_cpu_mode(v) != X86_MODE_LONG64 && e.cr.type == CR_MOV_TO)
		value = (u32)value;
	if (vcpu_set_cr(v, e.cr.cr, value)) {
		vcpu_inject_gp(v);
		return EXIT_CONTINUE;
	}
	return skip(v, &e);
}

static enum exit_action handle_entry_failed(struct vcpu *v, const struct vm_exit *exit)
{
	vm_stop(v->vm, "VM entry failed: %s (code 0x%llx)", exit->failure.reason,
		(unsigned long long)exit->failure.code);
	backend->dump_state(v);
	return EXIT_STOP;
}

static enum exit_action handle_unknown(struct vcpu *v, const struct vm_exit *exit)
{
	vm_stop(v->vm, "unexpected exit (%s, hardware code 0x%llx) at RIP 0x%llx",
		exit_reason_name(exit->reason), (unsigned long long)exit->hardware_reason,
		(unsigned long long)v->regs.rip);
	backend->dump_state(v);
	return EXIT_STOP;
}

typedef enum exit_action (*exit_handler)(struct vcpu *v, const struct vm_exit *exit);

static const exit_handler handlers[EXIT_REASON_COUNT] = {
	[EXIT_IO] = handle_port_io,
	[EXIT_MMIO] = handle_mmio,
	[EXIT_CPUID] = handle_cpuid,
	[EXIT_MSR_READ] = handle_msr_read,
	[EXIT_MSR_WRITE] = handle_msr_write,
	[EXIT_HLT] = handle_hlt,
	[EXIT_CR_ACCESS] = handle_cr_access,
	[EXIT_EXCEPTION] = reinject_exception,
	[EXIT_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_EXTERNAL_INTERRUPT] = handle_nothing,
	[EXIT_NMI] = handle_nothing,
	[EXIT_INIT] = handle_nothing,
	[EXIT_SIPI] = handle_nothing,
	[EXIT_INVLPG] = handle_invlpg,
	[EXIT_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_HYPERCALL] = handle_hypercall,
	[EXIT_VIRT_INSTRUCTION] = handle_virt_instruction,
	[EXIT_XSETBV] = handle_xsetbv,
	[EXIT_INVD] = skip,
	[EXIT_PAUSE] = skip,
	[EXIT_WBINVD] = skip, /* no device here needs caches written back */
	[EXIT_RDPMC] = handle_rdpmc,
	[EXIT_UNAVAILABLE_INSTRUCTION] = handle_unavailable_instruction,
	[EXIT_TASK_SWITCH] = handle_task_switch,
	[EXIT_SMI] = handle_nothing, /* the host's SMM takes it once GIF is set again */
	[EXIT_MACHINE_CHECK] = handle_machine_check,
	[EXIT_ENTRY_FAILED] = handle_entry_failed,
};

/* Exits that reach the VM's devices, buses, interrupt controllers, timers
 * or the first touch of guest RAM run under the VM's lock; the others
 * touch only the vCPU's own state. */
static const bool takes_vm_lock[EXIT_REASON_COUNT] = {
	[EXIT_IO] = true, [EXIT_MMIO] = true, [EXIT_MSR_READ] = true, [EXIT_MSR_WRITE] = true,
	[EXIT_HLT] = true, [EXIT_CR_ACCESS] = true,
};

enum exit_action exit_dispatch(struct vcpu *v, const struct vm_exit *exit)
{
	exit_handler h = exit->reason < EXIT_REASON_COUNT ? handlers[exit->reason] : NULL;
	if (!h)
		return handle_unknown(v, exit);
	if (!takes_vm_lock[exit->reason])
		return h(v, exit);
	spin_lock(&v->vm->lock);
	enum exit_action action = h(v, exit);
	spin_unlock(&v->vm->lock);
	return action;
}
