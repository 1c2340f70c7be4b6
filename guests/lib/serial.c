#include "serial.h"

#include "format.h"
#include "x86.h"

/* Bounded so a UART model that never reports THRE costs time, not the run. */
#define THRE_POLL_LIMIT 100000

void serial_putc(char c)
{
	for (unsigned i = 0; i < THRE_POLL_LIMIT; i++)
		if (inb(UART_LSR) & UART_LSR_THRE)
			break;
	outb(UART_THR, (uint8_t)c);
}

void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void emit_serial(char c, void *ctx)
{
	(void)ctx;
	serial_putc(c);
}

void vprintf(const char *fmt, va_list ap)
{
	vformat(emit_serial, 0, fmt, ap);
}

void printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}
