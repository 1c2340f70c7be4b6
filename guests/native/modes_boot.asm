; Native-only wrapper for the `modes` guest: a Multiboot kernel that does
; what Presidio's flat loader does -- put modes.bin at 0x8000 and enter it in
; real mode with CS=0, IP=0x8000 -- so it can run on plain QEMU. Not part of
; GUEST_IMAGES.

MULTIBOOT_HEADER_MAGIC	equ 0x1BADB002
MULTIBOOT_HEADER_FLAGS	equ 0
MODES_LOAD_ADDRESS	equ 0x8000
TRAMPOLINE_ADDRESS	equ 0x5000	; below 64 KiB: runs with 16-bit offsets
REAL_MODE_IVT_LIMIT	equ 0x3ff
CR0_PE			equ 1 << 0
CR0_PG			equ 1 << 31

section .multiboot progbits alloc noexec nowrite align=4
	dd MULTIBOOT_HEADER_MAGIC
	dd MULTIBOOT_HEADER_FLAGS
	dd -(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

section .text
bits 32
global _start
_start:
	cli
	cld
	mov esi, modes_image
	mov edi, MODES_LOAD_ADDRESS
	mov ecx, modes_image_end - modes_image
	rep movsb
	mov esi, trampoline
	mov edi, TRAMPOLINE_ADDRESS
	mov ecx, trampoline_end - trampoline
	rep movsb
	lgdt [gdt_descriptor]
	jmp (gdt.code16 - gdt):TRAMPOLINE_ADDRESS

; Copied to TRAMPOLINE_ADDRESS; label differences give its offsets there.
bits 16
trampoline:
	mov ax, gdt.data16 - gdt
	mov ds, ax
	mov es, ax
	mov ss, ax
	lidt [TRAMPOLINE_ADDRESS + real_mode_idtr - trampoline]
	mov eax, cr0
	and eax, ~(CR0_PE | CR0_PG)
	mov cr0, eax
	jmp 0:(TRAMPOLINE_ADDRESS + .real - trampoline)
.real:
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	jmp 0:MODES_LOAD_ADDRESS
real_mode_idtr:
	dw REAL_MODE_IVT_LIMIT
	dd 0
trampoline_end:

section .rodata
align 8
gdt:
	dq 0
.code16:	dq 0x00009a000000ffff	; base 0, 64 KiB, 16-bit code
.data16:	dq 0x000092000000ffff	; base 0, 64 KiB, 16-bit data
gdt_end:
gdt_descriptor:
	dw gdt_end - gdt - 1
	dd gdt

modes_image:
	incbin MODES_BIN
modes_image_end:
