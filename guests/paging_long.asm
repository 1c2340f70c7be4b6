; Runs a list of memory operations in 64-bit mode for the paging guest:
; enters IA-32e mode with the caller's PML4, executes the operations, then
; goes back through compatibility mode to 32-bit protected mode, paging off.
;
;   uint32_t long_mode_run(uint32_t pml4, struct long_mode_job *job);
;
; Returns 0, or 1 if an exception hit 64-bit code (job->fault_* say which).
; The offsets below are checked against the C structs in paging.c.

JOB_OP_COUNT		equ 0
JOB_OPS			equ 4
JOB_IDTR64		equ 8
JOB_CODE64		equ 12
JOB_CODE32		equ 14
JOB_EFER		equ 16
JOB_ARITH		equ 24
JOB_FAULT_VECTOR	equ 32
JOB_FAULT_CR2		equ 40

OP_KIND			equ 0
OP_VA			equ 8
OP_VALUE		equ 16
OP_SIZE			equ 24

OP_WRITE64		equ 1
OP_READ64		equ 2
OP_WRITE32		equ 3
OP_READ32		equ 4
OP_WRITE_CR8		equ 5
OP_READ_CR8		equ 6

CR0_PG			equ 1 << 31
CR4_PAE			equ 1 << 5
MSR_EFER		equ 0xc0000080
EFER_LME		equ 1 << 8
LONG_MODE_VECTORS	equ 32
ARITH_INPUT		equ 0x123456789abcdef0

section .data
saved_esp:	dd 0
current_job:	dd 0
result:		dd 0
saved_idtr:	dw 0
		dd 0
far_to_64:	dd lm_entry
		dw 0

section .text
bits 32
global long_mode_run
long_mode_run:
	push ebp
	push ebx
	push esi
	push edi
	mov edx, [esp + 20]		; pml4
	mov esi, [esp + 24]		; job
	mov [saved_esp], esp
	mov [current_job], esi
	sidt [saved_idtr]

	mov cr3, edx
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax			; IA-32e active, still in a 32-bit segment
	mov ax, [esi + JOB_CODE64]
	mov [far_to_64 + 4], ax
	jmp far [far_to_64]

bits 64
lm_entry:
	mov esi, [rel current_job]
	mov eax, [rsi + JOB_IDTR64]
	lidt [rax]
	mov ecx, MSR_EFER
	rdmsr
	mov [rsi + JOB_EFER], eax
	mov [rsi + JOB_EFER + 4], edx
	; Only 64-bit code keeps all of this: in 32-bit code REX is DEC.
	mov rax, ARITH_INPUT
	mov r9, rax
	rol r9, 16
	mov [rsi + JOB_ARITH], r9

	mov ecx, [rsi + JOB_OP_COUNT]
	mov ebx, [rsi + JOB_OPS]
.next:
	test ecx, ecx
	jz .done
	mov eax, [rbx + OP_KIND]
	mov rdx, [rbx + OP_VA]
	cmp eax, OP_WRITE64
	je .write64
	cmp eax, OP_READ64
	je .read64
	cmp eax, OP_WRITE32
	je .write32
	cmp eax, OP_WRITE_CR8
	je .write_cr8
	cmp eax, OP_READ_CR8
	je .read_cr8
	mov eax, [rdx]			; OP_READ32
	mov [rbx + OP_VALUE], rax
	jmp .step
.write64:
	mov rax, [rbx + OP_VALUE]
	mov [rdx], rax
	jmp .step
.read64:
	mov rax, [rdx]
	mov [rbx + OP_VALUE], rax
	jmp .step
.write32:
	mov eax, [rbx + OP_VALUE]
	mov [rdx], eax
	jmp .step
.write_cr8:
	mov rax, [rbx + OP_VALUE]
	mov cr8, rax
	jmp .step
.read_cr8:
	mov rax, cr8
	mov [rbx + OP_VALUE], rax
.step:
	add rbx, OP_SIZE
	dec ecx
	jmp .next
.done:
	xor eax, eax
leave_long_mode:
	mov [rel result], eax
	mov esi, [rel current_job]
	movzx eax, word [rsi + JOB_CODE32]
	push rax
	lea rax, [rel compatibility]
	push rax
	o64 retf

; Exceptions in 64-bit code: record, then leave as if the job had finished.
lm_fault:
	mov esi, [rel current_job]
	pop rax				; vector pushed by the stub
	mov [rsi + JOB_FAULT_VECTOR], eax
	mov rax, cr2
	mov [rsi + JOB_FAULT_CR2], rax
	mov eax, 1
	jmp leave_long_mode

%assign vector 0
%rep LONG_MODE_VECTORS
lm_isr_ %+ vector:
	push vector
	jmp lm_fault
%assign vector vector + 1
%endrep

bits 32
compatibility:
	mov eax, cr0
	and eax, ~CR0_PG
	mov cr0, eax			; leaves IA-32e mode
	mov ecx, MSR_EFER
	rdmsr
	and eax, ~EFER_LME
	wrmsr
	mov eax, cr4
	and eax, ~CR4_PAE
	mov cr4, eax
	lidt [saved_idtr]
	mov esp, [saved_esp]
	mov eax, [result]
	pop edi
	pop esi
	pop ebx
	pop ebp
	ret

section .rodata
global long_mode_isr_table
global long_mode_isr_count
long_mode_isr_count:
	dd LONG_MODE_VECTORS
long_mode_isr_table:
%assign vector 0
%rep LONG_MODE_VECTORS
	dd lm_isr_ %+ vector
%assign vector vector + 1
%endrep
