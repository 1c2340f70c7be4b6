/*
 * void svm_enter_guest(u64 vmcb_pa, u64 *gprs, u64 host_vmcb_pa)
 * VMRUN loads/saves guest RAX, RSP and RIP through the VMCB; the other GPRs
 * are loaded from and stored to gprs[] here. GIF is cleared around the
 * switch so no NMI sees a half-loaded FS/GS/TR.
 */
#include "arch/x86/guest_gprs.h"

	.text
	.globl svm_enter_guest
svm_enter_guest:
	push_host_callee_saved
	push %rdx                       /* host VMCB */
	push %rsi                       /* gprs */

	clgi
	sti                             /* with GIF=0 nothing is taken here; in the guest, */
					/* a host interrupt causes #VMEXIT(INTR) */
	mov %rdi, %rax
	load_common_guest_gprs %rsi
	mov GPR(GPR_RDI)(%rsi), %rdi
	mov GPR(GPR_RSI)(%rsi), %rsi
	vmload %rax
	vmrun %rax
	vmsave %rax

	push %rsi                       /* guest RSI */
	mov 8(%rsp), %rsi               /* gprs */
	popq GPR(GPR_RSI)(%rsi)
	mov %rdi, GPR(GPR_RDI)(%rsi)
	store_common_guest_gprs %rsi

	pop %rsi
	pop %rax                        /* host VMCB */
	vmload %rax
	cli
	/* A host NMI that arrived in the guest caused #VMEXIT(NMI) and is
	 * still pending, held while GIF=0 (APM Vol. 2 15.17): STGI lets the
	 * host's NMI handler take it here, IF notwithstanding. A physical
	 * interrupt is likewise held, until the next STI. */
	stgi
	pop_host_callee_saved
	ret
