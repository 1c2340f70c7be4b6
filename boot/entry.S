/*
 * Multiboot1 + Multiboot2 headers and the 32-bit entry point: check for long
 * mode, build boot page tables identity-mapping the first 4 GiB with 2 MiB
 * pages, enable long mode and call kmain(magic, info).
 */
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "boot/layout.h"

#define MB1_MAGIC 0x1BADB002
#define MB1_FLAG_PAGE_ALIGN (1 << 0)
#define MB1_FLAG_MEMORY_INFO (1 << 1)
#define MB1_FLAG_AOUT_KLUDGE (1 << 16)
#define MB1_FLAGS (MB1_FLAG_PAGE_ALIGN | MB1_FLAG_MEMORY_INFO | MB1_FLAG_AOUT_KLUDGE)

#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0
#define MB2_TAG_END 0
#define MB2_TAG_INFO_REQUEST 1
#define MB2_TAG_MODULE_ALIGN 6
#define MB2_INFO_MMAP 6
#define MB2_INFO_ACPI_OLD 14
#define MB2_INFO_ACPI_NEW 15
#define MB2_INFO_EFI_MMAP 17
#define MB2_TAG_OPTIONAL 1

#define CPUID_EXT_MAX 0x80000000
#define CPUID_EXT_FEATURES 0x80000001
#define CPUID_EXT_LM_BIT 29
#define CPUID_EXT_NX_BIT 20
#define PTE_PRESENT 0x1
#define PTE_WRITE 0x2
#define PTE_LARGE 0x80
#define COM1 0x3f8
#define UART_LSR 5
#define UART_LSR_THRE 0x20

	.section .multiboot, "a"
	.balign 4
mb1_header:
	.long MB1_MAGIC
	.long MB1_FLAGS
	.long -(MB1_MAGIC + MB1_FLAGS)
	.long mb1_header     /* header_addr */
	.long __image_start  /* load_addr */
	.long __data_end     /* load_end_addr */
	.long __bss_end      /* bss_end_addr */
	.long entry32        /* entry_addr */

	.balign 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.balign 8
	.short MB2_TAG_INFO_REQUEST, MB2_TAG_OPTIONAL
	.long 8 + 4 * 4
	.long MB2_INFO_MMAP, MB2_INFO_ACPI_OLD, MB2_INFO_ACPI_NEW, MB2_INFO_EFI_MMAP
	.balign 8
	.short MB2_TAG_MODULE_ALIGN, 0
	.long 8
	.balign 8
	.short MB2_TAG_END, 0
	.long 8
mb2_header_end:

	.section .text.entry, "ax"
	.code32
	.globl entry32
entry32:
	cli
	cld
	mov %eax, %edi                  /* Multiboot magic -> kmain arg 1 */
	mov %ebx, %esi                  /* info pointer    -> kmain arg 2 */
	mov $boot_stack_top, %esp

	mov $CPUID_EXT_MAX, %eax
	cpuid
	cmp $CPUID_EXT_FEATURES, %eax
	jb no_long_mode
	mov $CPUID_EXT_FEATURES, %eax
	cpuid
	bt $CPUID_EXT_LM_BIT, %edx
	jnc no_long_mode
	mov %edx, %ebp                  /* remember NX support */

	/* PML4[0] -> PDPT; PDPT[0..3] -> 4 page directories of 2 MiB pages. */
	mov $boot_pml4, %ebx
	lea boot_pdpt + (PTE_PRESENT | PTE_WRITE), %eax
	mov %eax, (%ebx)
	mov $boot_pdpt, %ebx
	mov $boot_pd + (PTE_PRESENT | PTE_WRITE), %eax
	mov $4, %ecx
1:	mov %eax, (%ebx)
	add $4096, %eax
	add $8, %ebx
	loop 1b
	mov $boot_pd, %ebx
	mov $(PTE_PRESENT | PTE_WRITE | PTE_LARGE), %eax
	xor %edx, %edx
	mov $(4 * 512), %ecx
2:	mov %eax, (%ebx)
	mov %edx, 4(%ebx)
	add $0x200000, %eax
	adc $0, %edx
	add $8, %ebx
	loop 2b

	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	bt $CPUID_EXT_NX_BIT, %ebp
	jnc 3f
	or $EFER_NXE, %eax
3:	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE | CR0_WP), %eax
	mov %eax, %cr0

	lgdt boot_gdt_pointer
	ljmp $BOOT_CODE64_SELECTOR, $entry64

no_long_mode:
	mov $no_long_mode_msg, %esi
4:	lodsb
	test %al, %al
	jz 6f
	mov %al, %ah
	mov $(COM1 + UART_LSR), %dx
5:	in %dx, %al
	test $UART_LSR_THRE, %al
	jz 5b
	mov $COM1, %dx
	mov %ah, %al
	out %al, %dx
	jmp 4b
6:	cli
	hlt
	jmp 6b

	.code64
entry64:
	mov $BOOT_DATA_SELECTOR, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %eax, %eax
	mov %eax, %fs
	mov %eax, %gs
	mov $boot_stack_top, %rsp
	xor %ebp, %ebp
	mov %edi, %edi                  /* zero-extend the 32-bit arguments */
	mov %esi, %esi
	call kmain
7:	cli
	hlt
	jmp 7b

	.section .rodata
no_long_mode_msg:
	.asciz "(presidio) this CPU has no 64-bit long mode; Presidio needs an x86-64 CPU with VT-x or AMD-V. Halting.\r\n"

	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff        /* data, DPL 0 */
boot_gdt_end:
boot_gdt_pointer:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

	.section .bss
	.balign 4096
	.globl boot_pml4                /* also the APs' way into long mode (arch/x86/ap_boot.S) */
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4 * 4096
	.globl boot_stack_top
boot_stack:	.skip BOOT_STACK_SIZE
boot_stack_top:
