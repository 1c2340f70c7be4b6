/* Polled output on the COM1 16550. */
#ifndef GUEST_SERIAL_H
#define GUEST_SERIAL_H

#include <stdarg.h>

#define COM1_BASE 0x3f8
#define UART_THR (COM1_BASE + 0)
#define UART_LSR (COM1_BASE + 5)
#define UART_SCR (COM1_BASE + 7)
#define UART_LSR_THRE 0x20
#define UART_LSR_TEMT 0x40

void serial_putc(char c);
void serial_puts(const char *s);
void vprintf(const char *fmt, va_list ap);
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
