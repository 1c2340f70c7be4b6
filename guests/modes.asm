; modes: a flat binary loaded at guest-physical 0x8000 and entered in real
; mode (CS=0, IP=0x8000). It walks real mode -> 32-bit protected mode ->
; long mode (64-bit) -> compatibility mode -> 32-bit protected mode with
; paging off -> 16-bit protected mode -> real mode, printing on the UART and
; checking at each stage that the CPU really is in that mode. No IDT: any
; exception triple-faults, and the missing DONE line is the failure report.

bits 16
org 0x8000

%include "guests/lib/uart_puts.inc"
DEBUG_EXIT_PORT		equ 0xf4

REAL_STACK_TOP		equ 0x7000
SEGMENT_TEST_LINEAR	equ 0x7e00	; reached as 0000:7e00 and 07e0:0000
SEGMENT_TEST_SEGMENT	equ SEGMENT_TEST_LINEAR >> 4
PML4			equ 0x1000	; identity tables for the first 2 MiB
PDPT			equ 0x2000
PD			equ 0x3000
PAGE_TABLE_BYTES	equ 0x3000
PTE_PRESENT_WRITABLE	equ 0x3
PDE_LARGE		equ 0x80

CR0_PE			equ 1 << 0
CR0_PG			equ 1 << 31
CR4_PAE			equ 1 << 5
MSR_EFER		equ 0xc0000080
EFER_LME		equ 1 << 8
EFER_LMA		equ 1 << 10

SEL_CODE32		equ gdt.code32 - gdt
SEL_DATA32		equ gdt.data32 - gdt
SEL_CODE64		equ gdt.code64 - gdt
SEL_CODE16		equ gdt.code16 - gdt
SEL_DATA16		equ gdt.data16 - gdt

; Report helpers for each code size: ZF=1 means the check passed.
%macro REPORT16 1
	mov si, %1
	call report16
%endmacro
%macro REPORT32 1
	mov esi, %1
	call report32
%endmacro
%macro REPORT64 1
	mov esi, %1
	call report64
%endmacro

start:
	cli
	cld
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, REAL_STACK_TOP

	; ---- real mode ----
	mov si, msg_hello
	call puts16
	smsw ax
	test ax, CR0_PE
	REPORT16 name_real_mode
	; A write through ES=07e0 lands at linear 0x7e00, where DS=0 sees it.
	mov word [SEGMENT_TEST_LINEAR], 0
	mov ax, SEGMENT_TEST_SEGMENT
	mov es, ax
	mov word [es:0], 0xa55a
	xor ax, ax
	mov es, ax
	cmp word [SEGMENT_TEST_LINEAR], 0xa55a
	REPORT16 name_real_segments

	; ---- 32-bit protected mode ----
	lgdt [gdt_descriptor]
	mov eax, cr0
	or eax, CR0_PE
	mov cr0, eax
	jmp dword SEL_CODE32:protected32

bits 32
protected32:
	mov ax, SEL_DATA32
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov esp, REAL_STACK_TOP
	mov eax, cr0
	and eax, CR0_PE
	cmp eax, CR0_PE
	REPORT32 name_protected_pe
	; In a 16-bit segment these bytes would decode as mov ax, imm16 plus xor al, imm8.
	xor eax, eax
	mov eax, 0x12345678
	cmp eax, 0x12345678
	REPORT32 name_protected_32bit

	; ---- long mode ----
	mov edi, PML4
	mov ecx, PAGE_TABLE_BYTES / 4
	xor eax, eax
	rep stosd
	mov dword [PML4], PDPT | PTE_PRESENT_WRITABLE
	mov dword [PDPT], PD | PTE_PRESENT_WRITABLE
	mov dword [PD], 0 | PDE_LARGE | PTE_PRESENT_WRITABLE
	mov eax, PML4
	mov cr3, eax
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax
	jmp SEL_CODE64:long64

bits 64
long64:
	mov esi, msg_long
	call puts64
	mov ecx, MSR_EFER
	rdmsr
	and eax, EFER_LMA
	cmp eax, EFER_LMA
	REPORT64 name_long_lma
	; Only a 64-bit CPU mode keeps the upper half and has r8-r15.
	mov rax, 0x123456789abcdef0
	mov r15, rax
	shr r15, 32
	cmp r15d, 0x12345678
	REPORT64 name_long_64bit

	; ---- compatibility mode ----
	push SEL_CODE32
	lea rax, [rel compatibility32]
	push rax
	o64 retf

bits 32
compatibility32:
	mov ecx, MSR_EFER
	rdmsr
	and eax, EFER_LMA
	cmp eax, EFER_LMA
	REPORT32 name_compat_lma
	xor eax, eax
	mov eax, 0x12345678
	cmp eax, 0x12345678
	REPORT32 name_compat_32bit

	; ---- leave long mode: paging off, then LME off ----
	mov eax, cr0
	and eax, ~CR0_PG
	mov cr0, eax
	mov ecx, MSR_EFER
	rdmsr
	and eax, ~EFER_LME
	wrmsr
	mov eax, cr4
	and eax, ~CR4_PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	test eax, EFER_LMA
	REPORT32 name_left_long_mode

	; ---- back to real mode through a 16-bit protected-mode segment ----
	jmp SEL_CODE16:protected16

bits 16
protected16:
	mov ax, SEL_DATA16
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr0
	and eax, ~CR0_PE
	mov cr0, eax
	jmp 0:real_again

real_again:
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, REAL_STACK_TOP
	smsw ax
	test ax, CR0_PE
	REPORT16 name_real_again
	mov word [SEGMENT_TEST_LINEAR], 0
	mov ax, SEGMENT_TEST_SEGMENT
	mov es, ax
	mov word [es:0], 0x5aa5
	xor ax, ax
	mov es, ax
	cmp word [SEGMENT_TEST_LINEAR], 0x5aa5
	REPORT16 name_real_again_segments

	; ---- DONE line and exit ----
	mov si, msg_done
	call puts16
	mov ax, [passed]
	call put_decimal16
	mov si, msg_passed
	call puts16
	mov ax, [failed]
	call put_decimal16
	mov si, msg_failed
	call puts16
	xor al, al
	cmp word [failed], 0
	je .exit
	mov al, 1
.exit:
	out DEBUG_EXIT_PORT, al
.hang:
	hlt
	jmp .hang

; ---- 16-bit helpers (real mode, DS=0) ----

putc16:					; al
	push dx
	push ax
	mov dx, UART_LSR
.wait:
	in al, dx
	test al, UART_LSR_THRE
	jz .wait
	pop ax
	mov dx, COM1
	out dx, al
	pop dx
	ret

puts16:					; si
	lodsb
	test al, al
	jz .done
	call putc16
	jmp puts16
.done:
	ret

report16:				; ZF=1: passed; si = check name
	setnz bl
	push si
	test bl, bl
	jnz .failed
	inc word [passed]
	mov si, msg_pass
	jmp .prefix
.failed:
	inc word [failed]
	mov si, msg_fail
.prefix:
	call puts16
	pop si
	call puts16
	mov si, msg_newline
	test bl, bl
	jz .end
	mov si, msg_fail_detail
.end:
	jmp puts16

put_decimal16:				; ax
	mov bx, 10
	xor cx, cx
.divide:
	xor dx, dx
	div bx
	push dx
	inc cx
	test ax, ax
	jnz .divide
.emit:
	pop ax
	add al, '0'
	call putc16
	loop .emit
	ret

; ---- 32-bit helpers (flat segments; also used in compatibility mode) ----
bits 32

puts32:					; esi
	push edx
	UART_PUTS
	pop edx
	ret

report32:				; ZF=1: passed; esi = check name
	setnz bl
	push esi
	test bl, bl
	jnz .failed
	inc word [passed]
	mov esi, msg_pass
	jmp .prefix
.failed:
	inc word [failed]
	mov esi, msg_fail
.prefix:
	call puts32
	pop esi
	call puts32
	mov esi, msg_newline
	test bl, bl
	jz .end
	mov esi, msg_fail_detail
.end:
	jmp puts32

; ---- 64-bit helpers ----
bits 64

puts64:					; rsi
	push rdx
.next:
	lodsb
	test al, al
	jz .done
	mov ah, al
	mov dx, UART_LSR
.wait:
	in al, dx
	test al, UART_LSR_THRE
	jz .wait
	mov al, ah
	mov dx, COM1
	out dx, al
	jmp .next
.done:
	pop rdx
	ret

report64:				; ZF=1: passed; rsi = check name
	setnz bl
	push rsi
	test bl, bl
	jnz .failed
	inc word [rel passed]
	mov esi, msg_pass
	jmp .prefix
.failed:
	inc word [rel failed]
	mov esi, msg_fail
.prefix:
	call puts64
	pop rsi
	call puts64
	mov esi, msg_newline
	test bl, bl
	jz .end
	mov esi, msg_fail_detail
.end:
	jmp puts64

; ---- data ----
align 8
gdt:
	dq 0
.code32:	dq 0x00cf9a000000ffff	; base 0, 4 GiB, 32-bit code
.data32:	dq 0x00cf92000000ffff	; base 0, 4 GiB, data
.code64:	dq 0x00af9a000000ffff	; 64-bit code (L=1)
.code16:	dq 0x00009a000000ffff	; base 0, 64 KiB, 16-bit code
.data16:	dq 0x000092000000ffff	; base 0, 64 KiB, 16-bit data
gdt_end:

gdt_descriptor:
	dw gdt_end - gdt - 1
	dd gdt

passed:	dw 0
failed:	dw 0

msg_hello:		db "guest modes: real mode at 0x8000", 10, 0
msg_long:		db "modes: now in 64-bit mode", 10, 0
msg_pass:		db "PASS ", 0
msg_fail:		db "FAIL ", 0
msg_fail_detail:	db ": the CPU is not in the expected state", 10, 0
msg_newline:		db 10, 0
msg_done:		db "DONE modes: ", 0
msg_passed:		db " passed, ", 0
msg_failed:		db " failed", 10, 0
name_real_mode:		db "real mode: cr0.pe clear", 0
name_real_segments:	db "real mode: segment base is selector * 16", 0
name_protected_pe:	db "protected mode: cr0.pe set", 0
name_protected_32bit:	db "protected mode: 32-bit operand size", 0
name_long_lma:		db "long mode: efer.lma set", 0
name_long_64bit:	db "long mode: 64-bit registers", 0
name_compat_lma:	db "compatibility mode: efer.lma still set", 0
name_compat_32bit:	db "compatibility mode: 32-bit operand size", 0
name_left_long_mode:	db "protected mode again: efer.lma clear", 0
name_real_again:	db "real mode again: cr0.pe clear", 0
name_real_again_segments: db "real mode again: segment base is selector * 16", 0
