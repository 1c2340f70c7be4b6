; Runs a 64-bit routine from 32-bit protected mode (paging off), for test
; guests (interface: long_mode.h). Enters IA-32e mode with an identity map of
; the low 4 GiB in 2 MiB pages (PAE-format tables built here on every call),
; loads a 64-bit IDT whose handlers record the exception and resume at
; long_mode_recovery_rip, calls the routine, then goes back through
; compatibility mode to 32-bit protected mode with paging off and the
; caller's IDT, CR0, CR3, CR4, EFER and EFLAGS.

%define LONG_MODE_DEFINITIONS
%include "long_mode.inc"

CR0_PG			equ 1 << 31
CR4_PAE			equ 1 << 5
MSR_EFER		equ 0xc0000080
EFER_LME		equ 1 << 8
SEL_CODE32		equ 0x08	; gdt.h
SEL_CODE64		equ 0x18
PTE_PRESENT_WRITABLE	equ 0x3
PDE_LARGE		equ 0x80	; PS: a 2 MiB page
LARGE_PAGE		equ 0x200000
ENTRIES_PER_TABLE	equ 512
IDENTITY_GIB		equ 4
VECTORS			equ 32
GATE_SIZE		equ 16
GATE_INTERRUPT_64	equ 0x8e	; present, DPL 0, 64-bit interrupt gate

; Exceptions for which the CPU pushes an error code (SDM Vol. 3A table 6-1).
%define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

section .bss
alignb 4096
global long_mode_pml4
long_mode_pml4:		resq ENTRIES_PER_TABLE
pdpt:			resq ENTRIES_PER_TABLE
directories:		resq ENTRIES_PER_TABLE * IDENTITY_GIB
alignb 16
idt64:			resb VECTORS * GATE_SIZE

section .data
align 8
global long_mode_fault
long_mode_fault:	times LONG_MODE_FAULT_SIZE db 0
global long_mode_recovery_rip
long_mode_recovery_rip:	dq 0
saved_esp:		dd 0
saved_cr0:		dd 0
saved_cr3:		dd 0
saved_cr4:		dd 0
saved_efer_low:		dd 0
saved_rsp64:		dq 0
routine:		dd 0
argument:		dd 0
result:			dd 0
saved_idtr:		dw 0
			dd 0
idtr64:			dw VECTORS * GATE_SIZE - 1
			dd idt64, 0
far_to_64:		dd long_mode_entry
			dw SEL_CODE64

section .text
bits 32
; Identity map: PML4[0] -> PDPT, PDPT[0..3] -> one directory per GiB of
; 2 MiB pages. Entries the caller added elsewhere in the PML4 stay.
build_tables:
	mov dword [long_mode_pml4], pdpt + PTE_PRESENT_WRITABLE
	mov dword [long_mode_pml4 + 4], 0
	xor ecx, ecx
.directory:
	mov eax, ecx
	shl eax, 12
	add eax, directories + PTE_PRESENT_WRITABLE
	mov [pdpt + ecx * 8], eax
	mov dword [pdpt + ecx * 8 + 4], 0
	inc ecx
	cmp ecx, IDENTITY_GIB
	jb .directory
	xor ecx, ecx
.page:
	mov eax, ecx
	shl eax, 21
	or eax, PDE_LARGE + PTE_PRESENT_WRITABLE
	mov [directories + ecx * 8], eax
	mov dword [directories + ecx * 8 + 4], 0
	inc ecx
	cmp ecx, ENTRIES_PER_TABLE * IDENTITY_GIB
	jb .page
	ret

build_idt:
	xor ecx, ecx
.gate:
	mov eax, [stub_table + ecx * 4]
	mov edx, ecx
	shl edx, 4
	mov [idt64 + edx], ax
	mov word [idt64 + edx + 2], SEL_CODE64
	mov byte [idt64 + edx + 4], 0
	mov byte [idt64 + edx + 5], GATE_INTERRUPT_64
	shr eax, 16
	mov [idt64 + edx + 6], ax
	mov dword [idt64 + edx + 8], 0
	mov dword [idt64 + edx + 12], 0
	inc ecx
	cmp ecx, VECTORS
	jb .gate
	ret

; uint32_t long_mode_call(void (*routine)(void), uint32_t argument);
global long_mode_call
long_mode_call:
	push ebp
	push ebx
	push esi
	push edi
	pushfd
	cli
	mov eax, [esp + 24]
	mov [routine], eax
	mov eax, [esp + 28]
	mov [argument], eax
	mov [saved_esp], esp
	sidt [saved_idtr]
	mov eax, cr0
	mov [saved_cr0], eax
	mov eax, cr3
	mov [saved_cr3], eax
	mov eax, cr4
	mov [saved_cr4], eax
	mov ecx, MSR_EFER
	rdmsr
	mov [saved_efer_low], eax
	call build_tables
	call build_idt
	mov dword [long_mode_fault + LONG_MODE_FAULT_OCCURRED], 0
	mov dword [long_mode_recovery_rip], 0
	mov dword [long_mode_recovery_rip + 4], 0

	mov eax, long_mode_pml4
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
	mov cr0, eax			; IA-32e mode active, still in a 32-bit segment
	jmp far [far_to_64]

bits 64
long_mode_entry:
	lidt [rel idtr64]
	mov [rel saved_rsp64], rsp
	mov edi, [rel argument]
	mov eax, [rel routine]
	call rax
	xor eax, eax
leave_long_mode:
	mov [rel result], eax
	mov rsp, [rel saved_rsp64]
	push SEL_CODE32
	lea rax, [rel compatibility]
	push rax
	o64 retf

; Stack: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP, SS.
exception:
	push rax
	mov eax, [rsp + 8]
	mov [rel long_mode_fault + LONG_MODE_FAULT_VECTOR], eax
	mov rax, [rsp + 16]
	mov [rel long_mode_fault + LONG_MODE_FAULT_ERROR_CODE], rax
	mov rax, [rsp + 24]
	mov [rel long_mode_fault + LONG_MODE_FAULT_RIP], rax
	mov dword [rel long_mode_fault + LONG_MODE_FAULT_OCCURRED], 1
	mov rax, [rel long_mode_recovery_rip]
	test rax, rax
	jz .unexpected
	mov [rsp + 24], rax
	mov qword [rel long_mode_recovery_rip], 0
	pop rax
	add rsp, 16
	iretq
.unexpected:				; abandon the routine
	mov eax, 1
	jmp leave_long_mode

%assign vector 0
%rep VECTORS
stub_ %+ vector:
%if !HAS_ERROR_CODE(vector)
	push 0
%endif
	push vector
	jmp exception
%assign vector vector + 1
%endrep

bits 32
compatibility:
	mov eax, [saved_cr0]
	mov cr0, eax			; paging off: IA-32e mode ends
	mov ecx, MSR_EFER
	rdmsr
	mov eax, [saved_efer_low]
	wrmsr
	mov eax, [saved_cr4]
	mov cr4, eax
	mov eax, [saved_cr3]
	mov cr3, eax
	lidt [saved_idtr]
	mov esp, [saved_esp]
	mov eax, [result]
	popfd
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

section .rodata
align 4
stub_table:
%assign vector 0
%rep VECTORS
	dd stub_ %+ vector
%assign vector vector + 1
%endrep
