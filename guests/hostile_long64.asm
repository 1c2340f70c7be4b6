; 64-bit snippets for the hostile suite's long-mode cases (hostile_long.c),
; run through long_mode_call. Each takes RDI = struct long_registers *: it
; loads RSI, RDI, RCX and RAX from it, runs one instruction with fault
; recovery armed (DX = the test FIFO port, DF = 0) and stores the four
; registers back, so the caller sees them as the instruction left them.

%include "long_mode.inc"

REGS_RSI		equ 0
REGS_RDI		equ 8
REGS_RCX		equ 16
REGS_RAX		equ 24
TESTDEV_FIFO_PORT	equ 0xe0

%macro REGISTER_ROUTINE 2+
global %1
%1:
	mov r8, rdi
	mov rsi, [r8 + REGS_RSI]
	mov rdi, [r8 + REGS_RDI]
	mov rcx, [r8 + REGS_RCX]
	mov rax, [r8 + REGS_RAX]
	mov edx, TESTDEV_FIFO_PORT
	cld
	LONG_MODE_GUARDED %2
	mov [r8 + REGS_RSI], rsi
	mov [r8 + REGS_RDI], rdi
	mov [r8 + REGS_RCX], rcx
	mov [r8 + REGS_RAX], rax
	ret
%endmacro

section .text
bits 64
REGISTER_ROUTINE hostile_long_nothing, nop
REGISTER_ROUTINE hostile_long_a32_rep_outsb, a32 rep outsb
REGISTER_ROUTINE hostile_long_a32_rep_insb, a32 rep insb
REGISTER_ROUTINE hostile_long_rep_outsb, rep outsb
REGISTER_ROUTINE hostile_long_rep_insb, rep insb
REGISTER_ROUTINE hostile_long_load_byte, mov al, [rsi]
REGISTER_ROUTINE hostile_long_store_byte, mov [rsi], al
REGISTER_ROUTINE hostile_long_a32_movsb, a32 movsb
REGISTER_ROUTINE hostile_long_movsb, movsb
