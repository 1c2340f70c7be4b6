/*
 * int vmx_enter_guest(u64 *gprs, int launched)
 * Loads the guest GPRs (all but RSP, which the VMCS holds), VMLAUNCHes or
 * VMRESUMEs, and on VM exit (HOST_RIP = vmx_exit_point) stores them back.
 * Returns 0 after a VM exit, 1 for VMfailInvalid, 2 for VMfailValid.
 */
#define GPR(n) ((n) * 8)
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RBP 5
#define RSI 6
#define RDI 7
#define VMCS_HOST_RSP 0x6c14

	.text
	.globl vmx_enter_guest
vmx_enter_guest:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi                       /* gprs, found again at vmx_exit_point */
	mov $VMCS_HOST_RSP, %edx
	vmwrite %rsp, %rdx
	test %esi, %esi
	mov GPR(RAX)(%rdi), %rax
	mov GPR(RCX)(%rdi), %rcx
	mov GPR(RDX)(%rdi), %rdx
	mov GPR(RBX)(%rdi), %rbx
	mov GPR(RBP)(%rdi), %rbp
	mov GPR(RSI)(%rdi), %rsi
	mov GPR(8)(%rdi), %r8
	mov GPR(9)(%rdi), %r9
	mov GPR(10)(%rdi), %r10
	mov GPR(11)(%rdi), %r11
	mov GPR(12)(%rdi), %r12
	mov GPR(13)(%rdi), %r13
	mov GPR(14)(%rdi), %r14
	mov GPR(15)(%rdi), %r15
	mov GPR(RDI)(%rdi), %rdi
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
	popq GPR(RDI)(%rdi)
	mov %rax, GPR(RAX)(%rdi)
	mov %rcx, GPR(RCX)(%rdi)
	mov %rdx, GPR(RDX)(%rdi)
	mov %rbx, GPR(RBX)(%rdi)
	mov %rbp, GPR(RBP)(%rdi)
	mov %rsi, GPR(RSI)(%rdi)
	mov %r8, GPR(8)(%rdi)
	mov %r9, GPR(9)(%rdi)
	mov %r10, GPR(10)(%rdi)
	mov %r11, GPR(11)(%rdi)
	mov %r12, GPR(12)(%rdi)
	mov %r13, GPR(13)(%rdi)
	mov %r14, GPR(14)(%rdi)
	mov %r15, GPR(15)(%rdi)
	pop %rdi
	xor %eax, %eax
4:	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
