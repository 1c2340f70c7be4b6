/*
 * Host-side stand-ins for the hypervisor's console and panic, for unit
 * tests. A test is one translation unit: it includes this header, then
 * the .c files under test, then cmocka. panic() goes through cmocka's
 * mock_assert so tests can use expect_assert_failure().
 */
#pragma once
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "lib/print.h"
#include "lib/format.c"

/* Presidio's own string helper (lib/string.c), which libc lacks; the rest
 * of lib/string.h is libc's in host tests. Same contract: copy at most
 * size-1 characters, always NUL-terminate. */
static inline char *strncpy_terminated(char *dst, const char *src, size_t size)
{
	size_t i = 0;
	if (!size)
		return dst;
	for (; i + 1 < size && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
	return dst;
}

static int host_log_level = LOG_WARN;

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
}

void log_set_level(enum log_level level) { host_log_level = level; }

void log_printf(enum log_level level, const char *fmt, ...)
{
	va_list ap;
	if ((int)level > host_log_level)
		return;
	va_start(ap, fmt);
	printf("(presidio) ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

/* The last panic's text: cmocka prints it after longjmp-ing out, and tests
 * that expect a panic can check it. */
static char host_panic_message[512];

void panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(host_panic_message, sizeof(host_panic_message), fmt, ap);
	va_end(ap);
	mock_assert(0, host_panic_message, __FILE__, __LINE__);
	fprintf(stderr, "panic: %s\n", host_panic_message);
	abort();
}

/* lib/spinlock.h asks arch/x86 for the CPU's index + 1: host tests run as
 * cpu 0 unless a test pretends otherwise. */
static unsigned host_spinlock_cpu_id = 1;

unsigned spinlock_cpu_id(void) { return host_spinlock_cpu_id; }
