#include "report.h"

#include <stdarg.h>

#include "format.h"
#include "serial.h"
#include "x86.h"

#define NAME_LENGTH 96

static uint32_t passed, failed;

bool report_pass(const char *what)
{
	passed++;
	printf("PASS %s\n", what);
	return true;
}

static void vreport_fail(const char *what, const char *fmt, va_list ap)
{
	failed++;
	printf("FAIL %s: ", what);
	vprintf(fmt, ap);
	printf("\n");
}

bool report_fail(const char *what, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport_fail(what, fmt, ap);
	va_end(ap);
	return false;
}

bool check(bool ok, const char *what, const char *fmt, ...)
{
	if (ok)
		return report_pass(what);
	va_list ap;
	va_start(ap, fmt);
	vreport_fail(what, fmt, ap);
	va_end(ap);
	return false;
}

bool check_u32(const char *what, uint32_t got, uint32_t want)
{
	return check(got == want, what, "got 0x%x, expected 0x%x", got, want);
}

bool check_u64(const char *what, uint64_t got, uint64_t want)
{
	return check(got == want, what, "got 0x%llx, expected 0x%llx", got, want);
}

void report_done(void)
{
	printf("DONE %s: %u passed, %u failed\n", guest_name, passed, failed);
	guest_exit(failed ? EXIT_FAILURE : EXIT_SUCCESS);
}

void guest_exit(uint8_t code)
{
	outb(DEBUG_EXIT_PORT, code);
	/* Only reached without a debug-exit device. */
	for (;;)
		asm volatile("cli\n\thlt");
}

const char *name(const char *fmt, ...)
{
	static char buf[NAME_LENGTH];
	va_list ap;
	va_start(ap, fmt);
	vsnformat(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return buf;
}
