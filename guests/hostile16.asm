; hostile16: a flat real-mode binary (load at 0x8000) for the hostile suite.
; Exceptions Presidio injects into a real-mode guest (#GP for an MSR or
; CR value it refuses, #UD for VMCALL/VMMCALL) must arrive as real mode
; delivers them: through the IVT, with a 6-byte frame (FLAGS, CS, IP) and no
; error code, IP at the faulting instruction. One error code too many made
; VT-x refuse the VM entry. Prints PASS/FAIL lines and DONE like the ELF
; guests, then leaves through the debug-exit port.

bits 16
org 0x8000

%include "guests/lib/uart_puts.inc"

DEBUG_EXIT_PORT		equ 0xf4
VECTOR_UD		equ 6
VECTOR_GP		equ 13
IVT_ENTRY_SIZE		equ 4
FRAME_SIZE		equ 6		; FLAGS, CS, IP
STACK_TOP		equ 0x7c00
MSR_VM_HSAVE_PA		equ 0xc0010117
MSR_EFER		equ 0xc0000080
EFER_RESERVED_BIT1	equ 1 << 1
CR4_LA57		equ 1 << 12
CR4_OSXSAVE		equ 1 << 18
CR0_NW			equ 1 << 29
CR0_CD			equ 1 << 30

; TRY vector, name: runs the instruction(s) between TRY and END_TRY; the
; last one must raise `vector` and is skipped by the handler.
%macro TRY 2
	mov word [expected_vector], %1
	mov word [case_name], %%name
	jmp %%start
%%name:	db %2, 0
%%start:
%endmacro

%macro FAULTING 1
	mov word [fault_ip], %%insn
	mov word [skip_length], %%after - %%insn
	mov word [faults], 0
	mov [sp_before], sp
%%insn:	%1
%%after:
	call report_case
%endmacro

start:
	cli
	cld
	xor ax, ax
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov sp, STACK_TOP
	mov word [VECTOR_GP * IVT_ENTRY_SIZE], fault_handler_gp
	mov word [VECTOR_GP * IVT_ENTRY_SIZE + 2], 0
	mov word [VECTOR_UD * IVT_ENTRY_SIZE], fault_handler_ud
	mov word [VECTOR_UD * IVT_ENTRY_SIZE + 2], 0

	TRY VECTOR_GP, "real mode: rdmsr of an msr not offered #GP without error code"
	mov ecx, MSR_VM_HSAVE_PA
	FAULTING rdmsr

	TRY VECTOR_GP, "real mode: wrmsr efer reserved bit #GP without error code"
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_RESERVED_BIT1
	FAULTING wrmsr

	TRY VECTOR_GP, "real mode: mov cr4 bit 12 (not offered) #GP without error code"
	mov eax, cr4
	or eax, CR4_LA57
	FAULTING {mov cr4, eax}

	TRY VECTOR_GP, "real mode: mov cr0 nw without cd #GP without error code"
	mov eax, cr0
	or eax, CR0_NW
	and eax, ~CR0_CD
	FAULTING {mov cr0, eax}

	TRY VECTOR_GP, "real mode: xsetbv xcr0=0 #GP without error code"
	mov eax, cr4
	or eax, CR4_OSXSAVE
	mov cr4, eax
	xor eax, eax
	xor edx, edx
	xor ecx, ecx
	FAULTING xsetbv
	mov eax, cr4
	and eax, ~CR4_OSXSAVE
	mov cr4, eax

	TRY VECTOR_GP, "real mode: rdpmc (no counters) #GP without error code"
	xor ecx, ecx
	FAULTING rdpmc

	TRY VECTOR_UD, "real mode: vmcall #UD"
	FAULTING vmcall

	TRY VECTOR_UD, "real mode: vmmcall #UD"
	FAULTING vmmcall

	; DONE hostile16: N passed, M failed
	mov si, done_text
	UART_PUTS
	mov ax, [passed]
	call print_number
	mov si, passed_text
	UART_PUTS
	mov ax, [failed]
	call print_number
	mov si, failed_text
	UART_PUTS
	mov al, [failed]
	test al, al
	setnz al
	out DEBUG_EXIT_PORT, al
.hang:
	hlt
	jmp .hang

; The handlers note the frame they got and resume after the instruction.
fault_handler_gp:
	mov word [handled_vector], VECTOR_GP
	jmp fault_common
fault_handler_ud:
	mov word [handled_vector], VECTOR_UD
fault_common:
	mov [entry_sp], sp
	mov ax, [sp_before]
	sub ax, FRAME_SIZE
	cmp sp, ax
	je .frame
	add sp, 2			; an error code real mode never pushes: drop it
.frame:
	mov bp, sp
	mov ax, [bp]			; the IP the frame returns to
	mov [pushed_ip], ax
	add ax, [skip_length]
	mov [bp], ax
	inc word [faults]
	iret

; PASS or FAIL for the case just run.
report_case:
	mov ax, [sp_before]
	sub ax, FRAME_SIZE
	cmp word [faults], 1
	jne .fail
	cmp [entry_sp], ax
	jne .fail
	mov ax, [handled_vector]
	cmp ax, [expected_vector]
	jne .fail
	mov ax, [pushed_ip]
	cmp ax, [fault_ip]
	jne .fail
	inc word [passed]
	mov si, pass_text
	UART_PUTS
	mov si, [case_name]
	UART_PUTS
	mov si, newline
	UART_PUTS
	ret
.fail:
	inc word [failed]
	mov si, fail_text
	UART_PUTS
	mov si, [case_name]
	UART_PUTS
	mov si, fail_detail
	UART_PUTS
	ret

; Prints ax (0-99) in decimal.
print_number:
	mov bl, 10
	div bl				; al = tens, ah = ones
	mov cx, ax
	test al, al
	jz .ones
	add al, '0'
	call put_char
.ones:
	mov al, ch
	add al, '0'
	call put_char
	ret

put_char:
	mov [char_buffer], al
	mov si, char_buffer
	UART_PUTS
	ret

pass_text:	db "PASS ", 0
fail_text:	db "FAIL ", 0
fail_detail:	db ": wrong vector, frame size (an error code?) or IP", 13, 10, 0
newline:	db 13, 10, 0
done_text:	db "DONE hostile16: ", 0
passed_text:	db " passed, ", 0
failed_text:	db " failed", 13, 10, 0
char_buffer:	db 0, 0

align 2
expected_vector:	dw 0
handled_vector:		dw 0
case_name:		dw 0
fault_ip:		dw 0
skip_length:		dw 0
faults:			dw 0
sp_before:		dw 0
entry_sp:		dw 0
pushed_ip:		dw 0
passed:			dw 0
failed:			dw 0
