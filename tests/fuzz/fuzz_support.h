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
