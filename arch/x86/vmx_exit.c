/*
 * VT-x exits into the normalized struct vm_exit (SDM Vol. 3C chapter 28):
 * exit reasons, qualifications, IDT-vectoring re-injection and the names
 * of VM-instruction errors. The rest of the backend is vmx_backend.c.
 */
#include "arch/x86/vmx_vmcs.h"
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"
#include "vmm/vm.h"

#define DR6_EXIT_QUALIFICATION_BITS 0x600fULL /* B0-B3, BD, BS */

static const char *const instruction_errors[] = {
	[1] = "VMCALL executed in VMX root operation",
	[2] = "VMCLEAR with invalid physical address",
	[3] = "VMCLEAR with VMXON pointer",
	[4] = "VMLAUNCH with non-clear VMCS",
	[5] = "VMRESUME with non-launched VMCS",
	[6] = "VMRESUME after VMXOFF",
	[7] = "VM entry with invalid control field(s)",
	[8] = "VM entry with invalid host-state field(s)",
	[9] = "VMPTRLD with invalid physical address",
	[10] = "VMPTRLD with VMXON pointer",
	[11] = "VMPTRLD with incorrect VMCS revision identifier",
	[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
	[13] = "VMWRITE to read-only VMCS component",
	[15] = "VMXON executed in VMX root operation",
	[16] = "VM entry with invalid executive-VMCS pointer",
	[17] = "VM entry with non-launched executive VMCS",
	[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
	[19] = "VMCALL with non-clear VMCS",
	[20] = "VMCALL with invalid VM-exit control fields",
	[22] = "VMCALL with incorrect MSEG revision identifier",
	[23] = "VMXOFF under dual-monitor treatment",
	[24] = "VMCALL with invalid SMM-monitor features",
	[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
	[26] = "VM entry with events blocked by MOV SS",
	[28] = "Invalid operand to INVEPT/INVVPID",
};

const char *vmx_instruction_error_name(u64 number)
{
	if (number < ARRAY_SIZE(instruction_errors) && instruction_errors[number])
		return instruction_errors[number];
	return "unknown VM-instruction error";
}

static void decode_io(struct vm_exit *e, u64 qualification)
{
	e->reason = EXIT_IO;
	e->io.port = qualification >> IO_QUAL_PORT_SHIFT;
	e->io.size = (qualification & IO_QUAL_SIZE_MASK) + 1;
	e->io.in = qualification & IO_QUAL_IN;
	e->io.string = qualification & IO_QUAL_STRING;
	e->io.rep = qualification & IO_QUAL_REP;
	e->io.segment = SEG_NONE; /* address size 0 and SEG_NONE: vmm/ decodes */
	if (e->io.string && virt_caps.vmx.ins_outs_info) {
		u64 info = vmread(VMCS_EXIT_INSTRUCTION_INFO);
		e->io.address_size = 2 << ((info >> INSN_INFO_ADDRESS_SIZE_SHIFT) & INSN_INFO_ADDRESS_SIZE_MASK);
		e->io.segment = (enum x86_segment)((info >> INSN_INFO_SEGMENT_SHIFT) & INSN_INFO_SEGMENT_MASK);
	}
}

static void decode_cr(struct vm_exit *e, u64 q)
{
	e->reason = EXIT_CR_ACCESS;
	e->cr.cr = q & CR_QUAL_NUMBER_MASK;
	e->cr.gpr = (q >> CR_QUAL_GPR_SHIFT) & CR_QUAL_GPR_MASK;
	e->cr.lmsw_source = q >> CR_QUAL_LMSW_SHIFT;
	switch ((q >> CR_QUAL_TYPE_SHIFT) & CR_QUAL_TYPE_MASK) {
	case CR_QUAL_TYPE_MOV_TO: e->cr.type = CR_MOV_TO; break;
	case CR_QUAL_TYPE_MOV_FROM: e->cr.type = CR_MOV_FROM; break;
	case CR_QUAL_TYPE_CLTS: e->cr.type = CR_CLTS; break;
	default: e->cr.type = CR_LMSW; break;
	}
}

static void decode_exception(struct vm_exit *e)
{
	u32 info = vmread(VMCS_EXIT_INTERRUPTION_INFO);
	if (((info >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) == INTR_TYPE_NMI) {
		e->reason = EXIT_NMI;
		return;
	}
	e->reason = EXIT_EXCEPTION;
	e->exception.vector = info & INTR_INFO_VECTOR_MASK;
	/* A #DB that exits leaves DR6 alone and reports its bits in the
	 * qualification (SDM 27.1): apply them as the delivery would have. */
	if (e->exception.vector == VEC_DB) {
		u64 dr6;
		__asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
		dr6 = (dr6 & ~DR6_EXIT_QUALIFICATION_BITS) | (vmread(VMCS_EXIT_QUALIFICATION) & DR6_EXIT_QUALIFICATION_BITS);
		__asm__ volatile("mov %0, %%dr6" ::"r"(dr6));
	}
	e->exception.has_error_code = info & INTR_INFO_ERROR_CODE_VALID;
	if (e->exception.has_error_code)
		e->exception.error_code = vmread(VMCS_EXIT_INTERRUPTION_ERROR_CODE);
}

static void decode_entry_failure(struct vm_exit *e, u32 basic)
{
	e->reason = EXIT_ENTRY_FAILED;
	e->failure.code = vmread(VMCS_EXIT_QUALIFICATION);
	e->failure.reason = basic == EXIT_REASON_INVALID_GUEST_STATE ? "invalid guest state (exit reason 33)"
			  : basic == EXIT_REASON_MSR_LOADING ? "MSR loading failed (exit reason 34)"
			  : basic == EXIT_REASON_MACHINE_CHECK ? "machine check during entry (exit reason 41)"
							       : "entry failure";
}

/* The event a task gate in the IDT delivers is in the IDT-vectoring
 * information (SDM Vol. 3C 27.2.4); the emulated switch delivers it. */
static void decode_task_switch(struct vm_exit *e, u64 q)
{
	e->reason = EXIT_TASK_SWITCH;
	e->task_switch.selector = q & TASK_SWITCH_QUAL_SELECTOR_MASK;
	e->task_switch.source = (q >> TASK_SWITCH_QUAL_SOURCE_SHIFT) & TASK_SWITCH_QUAL_SOURCE_MASK;
	u32 vectoring = vmread(VMCS_IDT_VECTORING_INFO);
	if (e->task_switch.source != TASK_SWITCH_GATE || !(vectoring & INTR_INFO_VALID))
		return;
	switch ((vectoring >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK) {
	case INTR_TYPE_HARDWARE_EXCEPTION: e->task_switch.event = TASK_EVENT_EXCEPTION; break;
	case INTR_TYPE_EXTERNAL: case INTR_TYPE_NMI: e->task_switch.event = TASK_EVENT_EXTERNAL; break;
	default: e->task_switch.event = TASK_EVENT_SOFTWARE; break;
	}
	e->task_switch.vector = vectoring & INTR_INFO_VECTOR_MASK;
	e->task_switch.has_error_code = vectoring & INTR_INFO_ERROR_CODE_VALID;
	if (e->task_switch.has_error_code)
		e->task_switch.error_code = vmread(VMCS_IDT_VECTORING_ERROR_CODE);
}

void vmx_decode_exit(struct vcpu *v, struct vm_exit *e)
{
	u32 reason = vmread(VMCS_EXIT_REASON);
	u32 basic = reason & EXIT_REASON_BASIC_MASK;
	u64 q = vmread(VMCS_EXIT_QUALIFICATION);
	memset(e, 0, sizeof(*e));
	e->hardware_reason = reason;
	e->instruction_length = vmread(VMCS_EXIT_INSTRUCTION_LENGTH);
	if (reason & EXIT_REASON_ENTRY_FAILURE) {
		decode_entry_failure(e, basic);
		return;
	}
	switch (basic) {
	case EXIT_REASON_EXCEPTION_NMI: decode_exception(e); break;
	case EXIT_REASON_EXTERNAL_INTERRUPT: e->reason = EXIT_EXTERNAL_INTERRUPT; break;
	case EXIT_REASON_TRIPLE_FAULT: e->reason = EXIT_TRIPLE_FAULT; break;
	case EXIT_REASON_INIT: e->reason = EXIT_INIT; break;
	case EXIT_REASON_SIPI: e->reason = EXIT_SIPI; break;
	case EXIT_REASON_INTERRUPT_WINDOW: e->reason = EXIT_INTERRUPT_WINDOW; break;
	case EXIT_REASON_NMI_WINDOW: e->reason = EXIT_INTERRUPT_WINDOW; break; /* the run loop injects */
	case EXIT_REASON_CPUID: e->reason = EXIT_CPUID; break;
	case EXIT_REASON_HLT: e->reason = EXIT_HLT; break;
	case EXIT_REASON_INVD: e->reason = EXIT_INVD; break;
	case EXIT_REASON_INVLPG: e->reason = EXIT_INVLPG; e->invlpg.address = q; break;
	case EXIT_REASON_VMCALL: e->reason = EXIT_HYPERCALL; break;
	case EXIT_REASON_CR_ACCESS: decode_cr(e, q); break;
	case EXIT_REASON_IO: decode_io(e, q); break;
	case EXIT_REASON_RDMSR:
	case EXIT_REASON_WRMSR:
		e->reason = basic == EXIT_REASON_RDMSR ? EXIT_MSR_READ : EXIT_MSR_WRITE;
		e->msr.index = (u32)v->regs.gpr[GPR_RCX];
		break;
	case EXIT_REASON_PAUSE: e->reason = EXIT_PAUSE; break;
	case EXIT_REASON_WBINVD: e->reason = EXIT_WBINVD; break;
	case EXIT_REASON_TASK_SWITCH: decode_task_switch(e, q); break;
	case EXIT_REASON_IO_SMI: case EXIT_REASON_OTHER_SMI: e->reason = EXIT_SMI; break;
	case EXIT_REASON_MACHINE_CHECK: e->reason = EXIT_MACHINE_CHECK; break;
	case EXIT_REASON_RSM: exit_unavailable_instruction(e, "RSM outside SMM"); break;
	case EXIT_REASON_XSETBV: e->reason = EXIT_XSETBV; break;
	case EXIT_REASON_EPT_VIOLATION:
		e->reason = EXIT_MMIO;
		e->mmio.gpa = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
		e->mmio.write = q & EPT_QUAL_WRITE;
		e->mmio.fetch = q & EPT_QUAL_FETCH;
		break;
	case EXIT_REASON_EPT_MISCONFIG:
		e->reason = EXIT_ENTRY_FAILED;
		e->failure.reason = "EPT misconfiguration (a Presidio bug)";
		e->failure.code = vmread(VMCS_GUEST_PHYSICAL_ADDRESS);
		break;
	case EXIT_REASON_GETSEC: e->reason = EXIT_VIRT_INSTRUCTION; e->virt_instruction.what = "GETSEC"; break;
	case EXIT_REASON_MWAIT: exit_unavailable_instruction(e, "MWAIT"); break;
	case EXIT_REASON_MONITOR: exit_unavailable_instruction(e, "MONITOR"); break;
	case EXIT_REASON_RDPMC: e->reason = EXIT_RDPMC; break;
	case EXIT_REASON_INVEPT: e->reason = EXIT_VIRT_INSTRUCTION; e->virt_instruction.what = "INVEPT"; break;
	case EXIT_REASON_INVVPID: e->reason = EXIT_VIRT_INSTRUCTION; e->virt_instruction.what = "INVVPID"; break;
	default:
		if (basic >= EXIT_REASON_VMCLEAR && basic <= EXIT_REASON_VMXON) {
			e->reason = EXIT_VIRT_INSTRUCTION;
			e->virt_instruction.what = "VMX instruction";
		} else {
			e->reason = EXIT_UNKNOWN;
		}
	}
}

/* An event cut short by this exit (SDM 28.2.4) is delivered again. A
 * software interrupt or exception (INTn, INT1, INT3, INTO) needs its
 * instruction's length, which the exit reported, so that the frame
 * returns past the instruction (SDM 27.2.5, 26.6.1.3). */
void vmx_reinject(u32 vectoring)
{
	u8 type = (vectoring >> INTR_INFO_TYPE_SHIFT) & INTR_INFO_TYPE_MASK;
	if (!(vectoring & INTR_INFO_VALID)) {
		vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, 0);
		return;
	}
	vmwrite(VMCS_ENTRY_INTERRUPTION_INFO, vectoring);
	if (vectoring & INTR_INFO_ERROR_CODE_VALID)
		vmwrite(VMCS_ENTRY_EXCEPTION_ERROR_CODE, vmread(VMCS_IDT_VECTORING_ERROR_CODE));
	if (type == INTR_TYPE_SOFTWARE_INTERRUPT || type == INTR_TYPE_PRIVILEGED_SOFTWARE_EXCEPTION ||
	    type == INTR_TYPE_SOFTWARE_EXCEPTION)
		vmwrite(VMCS_ENTRY_INSTRUCTION_LENGTH, vmread(VMCS_EXIT_INSTRUCTION_LENGTH));
}
