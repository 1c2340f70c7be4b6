/*
 * void svm_enter_guest(u64 vmcb_pa, u64 *gprs, u64 host_vmcb_pa)
 * VMRUN loads/saves guest RAX, RSP and RIP through the VMCB; the other GPRs
 * are loaded from and stored to gprs[] (enum x86_gpr order) here. GIF is
 * cleared around the switch so no NMI sees a half-loaded FS/GS/TR.
 */
#define GPR(n) ((n) * 8)
#define RAX 0
#define RCX 1
#define RDX 2
#define RBX 3
#define RSP 4
#define RBP 5
#define RSI 6
#define RDI 7

	.text
	.globl svm_enter_guest
svm_enter_guest:
	push %rbp
	mov %rsp, %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdx                       /* host VMCB */
	push %rsi                       /* gprs */

	clgi
	mov %rdi, %rax
	mov GPR(RCX)(%rsi), %rcx
	mov GPR(RDX)(%rsi), %rdx
	mov GPR(RBX)(%rsi), %rbx
	mov GPR(RBP)(%rsi), %rbp
	mov GPR(RDI)(%rsi), %rdi
	mov GPR(8)(%rsi), %r8
	mov GPR(9)(%rsi), %r9
	mov GPR(10)(%rsi), %r10
	mov GPR(11)(%rsi), %r11
	mov GPR(12)(%rsi), %r12
	mov GPR(13)(%rsi), %r13
	mov GPR(14)(%rsi), %r14
	mov GPR(15)(%rsi), %r15
	mov GPR(RSI)(%rsi), %rsi
	vmload %rax
	vmrun %rax
	vmsave %rax

	push %rsi                       /* guest RSI */
	mov 8(%rsp), %rsi               /* gprs */
	popq GPR(RSI)(%rsi)
	mov %rcx, GPR(RCX)(%rsi)
	mov %rdx, GPR(RDX)(%rsi)
	mov %rbx, GPR(RBX)(%rsi)
	mov %rbp, GPR(RBP)(%rsi)
	mov %rdi, GPR(RDI)(%rsi)
	mov %r8, GPR(8)(%rsi)
	mov %r9, GPR(9)(%rsi)
	mov %r10, GPR(10)(%rsi)
	mov %r11, GPR(11)(%rsi)
	mov %r12, GPR(12)(%rsi)
	mov %r13, GPR(13)(%rsi)
	mov %r14, GPR(14)(%rsi)
	mov %r15, GPR(15)(%rsi)

	pop %rsi
	pop %rax                        /* host VMCB */
	vmload %rax
	stgi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
