; Multiboot1 header and the 32-bit entry shared by every ELF test guest.
; The loader leaves no usable GDT/IDT, so C code runs only after
; lib_start has loaded ours; until then nothing here touches the stack
; beyond the call itself.

MULTIBOOT_HEADER_MAGIC	equ 0x1BADB002
MULTIBOOT_WANT_MEMINFO	equ 1 << 1
MULTIBOOT_HEADER_FLAGS	equ MULTIBOOT_WANT_MEMINFO
STACK_SIZE		equ 16384

section .multiboot progbits alloc noexec nowrite align=4
	dd MULTIBOOT_HEADER_MAGIC
	dd MULTIBOOT_HEADER_FLAGS
	dd -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

section .text
bits 32
global _start
extern lib_start
_start:
	cli
	cld
	mov esp, stack_top
	push ebx		; Multiboot info address
	push eax		; Multiboot magic
	call lib_start
.hang:
	hlt
	jmp .hang

section .bss
align 16
stack_bottom:
	resb STACK_SIZE
stack_top:
