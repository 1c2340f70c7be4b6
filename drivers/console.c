/* Console output, log levels and panic(). */
#include "drivers/console.h"
#include "drivers/console_filter.h"
#include "drivers/uart.h"
#include "arch/x86/cpu.h"
#include "arch/x86/trap.h"
#include "lib/print.h"
#include "lib/spinlock.h"

#define LINE_MAX 512

static struct uart console_uart;
static struct spinlock console_lock = SPINLOCK_INIT_NAMED("console");
static struct raw_console_filter raw_filter; /* under console_lock */
static enum log_level current_log_level = LOG_INFO;
static const char *const level_tags[] = {
	[LOG_ERROR] = "error: ",
	[LOG_WARN] = "warning: ",
	[LOG_INFO] = "",
	[LOG_DEBUG] = "debug: ",
};

void console_init(u16 port, u32 baud)
{
	uart_init(&console_uart, port, baud);
}

u16 console_port(void) { return console_uart.port; }

void console_break_lock(void)
{
	console_lock = (struct spinlock)SPINLOCK_INIT_NAMED("console");
}

int console_getc(void)
{
	spin_lock(&console_lock);
	int c = uart_getc(&console_uart);
	spin_unlock(&console_lock);
	return c;
}

static void write_unlocked(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n')
			uart_putc(&console_uart, '\r');
		uart_putc(&console_uart, s[i]);
	}
}

void console_write(const char *s, size_t len)
{
	char before[CONSOLE_FILTER_OUTPUT_MAX];
	spin_lock(&console_lock);
	write_unlocked(before, raw_console_before_hypervisor(&raw_filter, before));
	write_unlocked(s, len);
	spin_unlock(&console_lock);
}

void console_raw_guest_write(const char *owner, u8 byte)
{
	char out[CONSOLE_FILTER_OUTPUT_MAX];
	spin_lock(&console_lock);
	write_unlocked(out, raw_console_guest_byte(&raw_filter, owner, byte, out));
	spin_unlock(&console_lock);
}

static void vprint(const char *prefix, const char *fmt, va_list ap, bool newline)
{
	char line[LINE_MAX];
	size_t n = 0;
	while (prefix[n] && n < sizeof(line) - 1) {
		line[n] = prefix[n];
		n++;
	}
	int len = kvsnprintf(line + n, sizeof(line) - n, fmt, ap);
	n += MIN((size_t)len, sizeof(line) - n - 1);
	if (newline && (n == 0 || line[n - 1] != '\n') && n < sizeof(line) - 1)
		line[n++] = '\n';
	console_write(line, n);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprint("", fmt, ap, false);
	va_end(ap);
}

void log_set_level(enum log_level level) { current_log_level = level; }

void log_printf(enum log_level level, const char *fmt, ...)
{
	if (level > current_log_level)
		return;
	char prefix[32];
	ksnprintf(prefix, sizeof(prefix), CONSOLE_PREFIX "%s", level_tags[level]);
	va_list ap;
	va_start(ap, fmt);
	vprint(prefix, fmt, ap, true);
	va_end(ap);
}

void panic(const char *fmt, ...)
{
	panic_stop_other_cpus(); /* interrupts off, the others stopped, the console ours */
	va_list ap;
	va_start(ap, fmt);
	vprint("\n" CONSOLE_PREFIX "PANIC: ", fmt, ap, true);
	va_end(ap);
	print_backtrace((u64)__builtin_frame_address(0));
	kprintf(CONSOLE_PREFIX "hypervisor bug: halting all CPUs\n");
	halt_all_cpus();
}
