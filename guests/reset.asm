; reset: a flat real-mode binary (load at 0x8000) that prints one line and
; pulses the CPU reset line through the i8042 (command 0xfe), at once, every
; time it starts. Presidio restarts a VM that resets; this one does it in a
; loop, which Presidio must notice and stop.

bits 16
org 0x8000

COM1			equ 0x3f8
UART_LSR		equ COM1 + 5
UART_LSR_THRE		equ 0x20
I8042_COMMAND		equ 0x64
I8042_PULSE_RESET	equ 0xfe

start:
	cld
	mov si, message
.next:
	lodsb
	test al, al
	jz .reset
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
.reset:
	mov al, I8042_PULSE_RESET
	out I8042_COMMAND, al
.hang:
	hlt
	jmp .hang

message: db "reset guest: started, resetting", 13, 10, 0
