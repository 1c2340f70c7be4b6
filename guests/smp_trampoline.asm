; The smp guest's AP start-up code. smp_trampoline_start..end is copied to a
; page below 1 MiB; a SIPI with that page's number as its vector starts the
; AP there in real mode with CS = vector << 8, IP = 0 (SDM vol. 3 8.4.4).
; It loads the guest's GDT (the BSP patches smp_trampoline_gdtr in the copy
; with its own GDTR), enters 32-bit protected mode and jumps to ap_entry32
; in the guest image, which takes the stack the BSP chose and calls ap_main.

SEL_CODE32	equ 0x08	; guests/lib/gdt.h
SEL_DATA32	equ 0x10
CR0_PE		equ 1 << 0
CR0_NW		equ 1 << 29
CR0_CD		equ 1 << 30

extern ap_main
extern ap_boot_stack
global smp_trampoline_start, smp_trampoline_end, smp_trampoline_gdtr

section .text

; Runs only from the copy: every address in it is relative to CS.
bits 16
smp_trampoline_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	movzx esi, ax		; the start segment, for ap_main
	o32 lgdt [smp_trampoline_gdtr - smp_trampoline_start]
	mov eax, cr0
	and eax, ~(CR0_CD | CR0_NW)	; INIT leaves the caches disabled
	or eax, CR0_PE
	mov cr0, eax
	jmp dword SEL_CODE32:ap_entry32

align 4
smp_trampoline_gdtr:
	dw 0			; limit
	dd 0			; base
smp_trampoline_end:

bits 32
ap_entry32:
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, [ap_boot_stack]
	push dword 0
	popfd			; IF=0, DF=0 until ap_main is ready
	push esi
	call ap_main
.hang:
	cli
	hlt
	jmp .hang
