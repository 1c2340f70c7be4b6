/*
 * int vmx_enter_guest(u64 *gprs, int launched)
 * Loads the guest GPRs (all but RSP, which the VMCS holds), VMLAUNCHes or
 * VMRESUMEs, and on VM exit (HOST_RIP = vmx_exit_point) stores them back.
 * Returns 0 after a VM exit, 1 for VMfailInvalid, 2 for VMfailValid.
 */
#include "arch/x86/guest_gprs.h"
#define VMCS_HOST_RSP 0x6c14

	.text
	.globl vmx_enter_guest
vmx_enter_guest:
	push_host_callee_saved
	push %rdi                       /* gprs, found again at vmx_exit_point */
	mov $VMCS_HOST_RSP, %edx
	vmwrite %rsp, %rdx
	test %esi, %esi                 /* the moves below keep the flags */
	mov GPR(GPR_RAX)(%rdi), %rax
	mov GPR(GPR_RSI)(%rdi), %rsi
	load_common_guest_gprs %rdi
	mov GPR(GPR_RDI)(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	/* VM entry failed: CF=1 VMfailInvalid, ZF=1 VMfailValid */
	mov $1, %eax
	jc 3f
	mov $2, %eax
3:	pop %rdi
	jmp 4f

	.globl vmx_exit_point
vmx_exit_point:
	push %rdi                       /* guest RDI */
	mov 8(%rsp), %rdi               /* gprs */
	popq GPR(GPR_RDI)(%rdi)
	mov %rax, GPR(GPR_RAX)(%rdi)
	mov %rsi, GPR(GPR_RSI)(%rdi)
	store_common_guest_gprs %rdi
	pop %rdi
	xor %eax, %eax
4:	pop_host_callee_saved
	ret
