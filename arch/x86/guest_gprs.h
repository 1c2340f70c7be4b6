/*
 * Assembler helpers shared by the VMX and SVM entry stubs: move the guest
 * GPRs that both treat alike (all but RAX, RSP, RSI, RDI, which each stub
 * handles itself) between the registers and gprs[] (enum x86_gpr order),
 * and save/restore the host's callee-saved registers around the run.
 */
#define GPR(n) ((n) * 8)
#define GPR_RAX 0
#define GPR_RCX 1
#define GPR_RDX 2
#define GPR_RBX 3
#define GPR_RBP 5
#define GPR_RSI 6
#define GPR_RDI 7

.macro load_common_guest_gprs base
	mov GPR(GPR_RCX)(\base), %rcx
	mov GPR(GPR_RDX)(\base), %rdx
	mov GPR(GPR_RBX)(\base), %rbx
	mov GPR(GPR_RBP)(\base), %rbp
	mov GPR(8)(\base), %r8
	mov GPR(9)(\base), %r9
	mov GPR(10)(\base), %r10
	mov GPR(11)(\base), %r11
	mov GPR(12)(\base), %r12
	mov GPR(13)(\base), %r13
	mov GPR(14)(\base), %r14
	mov GPR(15)(\base), %r15
.endm

.macro store_common_guest_gprs base
	mov %rcx, GPR(GPR_RCX)(\base)
	mov %rdx, GPR(GPR_RDX)(\base)
	mov %rbx, GPR(GPR_RBX)(\base)
	mov %rbp, GPR(GPR_RBP)(\base)
	mov %r8, GPR(8)(\base)
	mov %r9, GPR(9)(\base)
	mov %r10, GPR(10)(\base)
	mov %r11, GPR(11)(\base)
	mov %r12, GPR(12)(\base)
	mov %r13, GPR(13)(\base)
	mov %r14, GPR(14)(\base)
	mov %r15, GPR(15)(\base)
.endm

/* The host's callee-saved registers around a guest run (SysV ABI), with a
 * frame pointer for backtraces. */
.macro push_host_callee_saved
	push %rbp
	mov %rsp, %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
.endm

.macro pop_host_callee_saved
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
.endm
