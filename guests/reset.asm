; reset: a flat real-mode binary (load at 0x8000) that prints one line and
; pulses the CPU reset line through the i8042 (command 0xfe), at once, every
; time it starts. Presidio restarts a VM that resets; this one does it in a
; loop, which Presidio must notice and stop.

bits 16
org 0x8000

%include "guests/lib/uart_puts.inc"
I8042_COMMAND		equ 0x64
I8042_PULSE_RESET	equ 0xfe

start:
	cld
	mov si, message
	UART_PUTS
	mov al, I8042_PULSE_RESET
	out I8042_COMMAND, al
.hang:
	hlt
	jmp .hang

message: db "reset guest: started, resetting", 13, 10, 0
