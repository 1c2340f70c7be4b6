; spin: a flat real-mode binary (load at 0x8000) that prints one line and
; then loops for ever with interrupts off, so its CPU stays in guest mode
; but for the host's own interrupts. The SMP panic tests run it on cpu 0
; while another CPU panics: the panic's NMI must reach a CPU in a guest.

bits 16
org 0x8000

%include "guests/lib/uart_puts.inc"

start:
	cli
	cld
	mov si, message
	UART_PUTS
.spin:
	jmp .spin

message: db "spin guest: spinning", 13, 10, 0
