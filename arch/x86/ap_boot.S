/*
 * How an application processor gets from the STARTUP IPI to C.
 *
 * The SIPI starts it in real mode at page VV000h (CS = VV00h, IP = 0), so
 * the 16-bit part (ap_trampoline .. ap_trampoline_end) is copied to a low
 * page by arch/x86/smp.c and runs there; it only claims the start and
 * enters 32-bit protected mode, jumping into the image (linked and loaded
 * at 2 MiB, so its addresses fit in 32 bits). The 32-bit part enables
 * long mode with the boot page tables of boot/entry.S (below 4 GiB, as a
 * 32-bit CR3 load needs, and executable everywhere, unlike mm/paging.c's
 * tables which map low memory non-executable), and the 64-bit part
 * switches to the hypervisor's own tables and stack and calls
 * ap_main(percpu). smp.c fills the ap_boot_* variables before each start;
 * one CPU starts at a time.
 */
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "boot/layout.h"

/* Selectors of ap_gdt below; the 64-bit code and data ones match the boot
 * GDT so percpu_init() can reload the same values. */
#define AP_CODE64_SELECTOR BOOT_CODE64_SELECTOR
#define AP_DATA_SELECTOR BOOT_DATA_SELECTOR
#define AP_CODE32_SELECTOR 0x18

/* ap_trampoline_state values, shared with arch/x86/smp.c */
#define AP_STATE_ARMED 1
#define AP_STATE_STARTED 2

	.section .rodata
	.balign 16
	.globl ap_trampoline, ap_trampoline_end, ap_trampoline_state
	.code16
ap_trampoline:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	/* Claim this start. If the boot CPU already gave up on us (it set
	 * the state to CANCELLED and will send INIT), stop here rather than
	 * run on a stack that is about to be given to the next CPU. */
	mov $AP_STATE_ARMED, %eax
	mov $AP_STATE_STARTED, %ecx
	lock cmpxchgl %ecx, (ap_trampoline_state - ap_trampoline)
	jne 1f
	lgdtl (ap_gdt_pointer - ap_trampoline)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $AP_CODE32_SELECTOR, $ap_entry32
1:	hlt
	jmp 1b

	.balign 4
ap_trampoline_state:
	.long 0
ap_gdt_pointer:
	.short ap_gdt_end - ap_gdt - 1
	.long ap_gdt
ap_trampoline_end:

	.balign 8
ap_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* 0x10: data, DPL 0 */
	.quad 0x00cf9a000000ffff        /* 0x18: 32-bit code, DPL 0 */
ap_gdt_end:

	.text
	.code32
ap_entry32:
	mov $AP_DATA_SELECTOR, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or ap_boot_efer, %eax           /* LME, and NXE if the boot CPU has it */
	wrmsr
	/* Paging on; and the caches, which INIT leaves disabled (CD, NW). */
	mov %cr0, %eax
	or $(CR0_PG | CR0_WP | CR0_PE), %eax
	and $~(CR0_CD | CR0_NW), %eax
	mov %eax, %cr0
	ljmp $AP_CODE64_SELECTOR, $ap_entry64

	.code64
ap_entry64:
	mov $AP_DATA_SELECTOR, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov ap_boot_cr3(%rip), %rax
	mov %rax, %cr3
	mov ap_boot_stack(%rip), %rsp
	mov ap_boot_cpu(%rip), %rdi
	xor %ebp, %ebp
	call ap_main
2:	cli
	hlt
	jmp 2b
