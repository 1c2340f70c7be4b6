; One stub per vector. Each pushes a dummy error code when the CPU does not
; push one, then the vector, so interrupt_dispatch sees a uniform frame
; (struct interrupt_frame in interrupts.h).

bits 32
section .text
extern interrupt_dispatch

; Exceptions for which the CPU pushes an error code (SDM vol. 3 table 6-1).
%define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || (v) == 29 || (v) == 30)

%assign vector 0
%rep 256
isr_stub_ %+ vector:
%if !HAS_ERROR_CODE(vector)
	push dword 0
%endif
	push dword vector
	jmp isr_common
%assign vector vector + 1
%endrep

isr_common:
	pushad
	push esp		; struct interrupt_frame *
	call interrupt_dispatch
	add esp, 4
	popad
	add esp, 8		; vector and error code
	iretd

section .rodata
global isr_stub_table
align 4
isr_stub_table:
%assign vector 0
%rep 256
	dd isr_stub_ %+ vector
%assign vector vector + 1
%endrep
