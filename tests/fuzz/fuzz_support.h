/*
 * Host stand-ins for the hypervisor's console for libFuzzer targets: output
 * is dropped (it would slow fuzzing down) and panic() aborts, which libFuzzer
 * reports as a crash with the input that caused it.
 */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/print.h"
#include "lib/format.c"

void kprintf(const char *fmt, ...)
{
	(void)fmt;
}

void log_set_level(enum log_level level)
{
	(void)level;
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

void panic(const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fprintf(stderr, "panic: %s\n", message);
	abort();
}

/* A broken invariant: print it and abort, so libFuzzer keeps the input. */
#define FUZZ_CHECK(cond)                                                                 \
	do {                                                                             \
		if (!(cond))                                                             \
			fuzz_fail("check failed: %s (%s:%d)", #cond, __FILE__, __LINE__); \
	} while (0)

static inline NORETURN __attribute__((format(printf, 1, 2))) void fuzz_fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* The cmocka assertions the shared fakes in tests/unit/ use. */
#define assert_true(cond) FUZZ_CHECK(cond)
#define fail_msg(...) fuzz_fail(__VA_ARGS__)

/* One CPU: the lock owner the spinlocks of the linked vmm/ code record. */
unsigned spinlock_cpu_id(void) { return 1; }
