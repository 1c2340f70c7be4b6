/* The hypervisor's own 16550 UART (its console). */
#pragma once
#include "lib/types.h"

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM3_PORT 0x3e8
#define COM4_PORT 0x2e8
#define UART_DEFAULT_BAUD 115200

struct uart {
	u16 port; /* 0 = absent */
};

/* Programs 8N1 at 'baud' with FIFOs on; returns false if no UART answers. */
bool uart_init(struct uart *u, u16 port, u32 baud);
void uart_putc(struct uart *u, char c);
/* Returns -1 when no byte is waiting. */
int uart_getc(struct uart *u);
