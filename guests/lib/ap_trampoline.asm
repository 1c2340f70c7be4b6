; AP start-up code (guests/lib/ap_start.c). ap_trampoline_start..end is
; copied to a page below 1 MiB; a SIPI with that page's number as its vector
; starts the AP there in real mode with CS = vector << 8, IP = 0 (SDM vol. 3
; 8.4.4). It loads the guest's GDT (ap_trampoline_install patches
; ap_trampoline_gdtr in the copy with its GDTR), enters 32-bit protected
; mode and jumps to ap_entry32 in the guest image, which loads the IDT, takes
; the stack and calls the entry given with the SIPIs.

SEL_CODE32	equ 0x08	; guests/lib/gdt.h
SEL_DATA32	equ 0x10
CR0_PE		equ 1 << 0
CR0_NW		equ 1 << 29
CR0_CD		equ 1 << 30

extern ap_boot_entry, ap_boot_stack, ap_boot_idtr
global ap_trampoline_start, ap_trampoline_end, ap_trampoline_gdtr

section .text

; Runs only from the copy: every address in it is relative to CS.
bits 16
ap_trampoline_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	movzx esi, ax		; the start segment, for the entry
	o32 lgdt [ap_trampoline_gdtr - ap_trampoline_start]
	mov eax, cr0
	and eax, ~(CR0_CD | CR0_NW)	; INIT leaves the caches disabled
	or eax, CR0_PE
	mov cr0, eax
	jmp dword SEL_CODE32:ap_entry32

align 4
ap_trampoline_gdtr:
	dw 0			; limit
	dd 0			; base
ap_trampoline_end:

bits 32
ap_entry32:
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, [ap_boot_stack]
	lidt [ap_boot_idtr]
	push dword 0
	popfd			; IF=0, DF=0 until the entry is ready
	push esi
	call [ap_boot_entry]
.hang:
	cli
	hlt
	jmp .hang
