/* 16550 driver for the hypervisor console: polled, no interrupts. */
#include "drivers/uart.h"
#include "arch/x86/cpu.h"

/* Register offsets (16550 datasheet) */
#define UART_THR 0 /* transmit holding (write, DLAB=0) */
#define UART_RBR 0 /* receive buffer (read, DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1
#define UART_DLM 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7

#define UART_LCR_8N1 0x03
#define UART_LCR_DLAB 0x80
#define UART_FCR_ENABLE 0x01
#define UART_FCR_CLEAR_RX 0x02
#define UART_FCR_CLEAR_TX 0x04
#define UART_MCR_DTR 0x01
#define UART_MCR_RTS 0x02
#define UART_MCR_OUT2 0x08
#define UART_LSR_DATA_READY 0x01
#define UART_LSR_THRE 0x20

#define UART_CLOCK_DIVIDEND 115200
#define UART_SCRATCH_PROBE 0x5a
/* Bounded wait so a missing or wedged UART cannot hang the hypervisor. */
#define UART_TX_SPIN_LIMIT 100000

bool uart_init(struct uart *u, u16 port, u32 baud)
{
	u->port = 0;
	if (!port || !baud)
		return false;
	outb(port + UART_SCR, UART_SCRATCH_PROBE);
	if (inb(port + UART_SCR) != UART_SCRATCH_PROBE)
		return false;
	u16 divisor = UART_CLOCK_DIVIDEND / baud;
	outb(port + UART_IER, 0);
	outb(port + UART_LCR, UART_LCR_DLAB);
	outb(port + UART_DLL, divisor & 0xff);
	outb(port + UART_DLM, divisor >> 8);
	outb(port + UART_LCR, UART_LCR_8N1);
	outb(port + UART_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX | UART_FCR_CLEAR_TX);
	outb(port + UART_MCR, UART_MCR_DTR | UART_MCR_RTS | UART_MCR_OUT2);
	u->port = port;
	return true;
}

void uart_putc(struct uart *u, char c)
{
	if (!u->port)
		return;
	for (int spins = 0; spins < UART_TX_SPIN_LIMIT; spins++) {
		if (inb(u->port + UART_LSR) & UART_LSR_THRE)
			break;
		cpu_relax();
	}
	outb(u->port + UART_THR, (u8)c);
}

int uart_getc(struct uart *u)
{
	if (!u->port || !(inb(u->port + UART_LSR) & UART_LSR_DATA_READY))
		return -1;
	return inb(u->port + UART_RBR);
}
