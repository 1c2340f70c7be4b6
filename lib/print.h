/*
 * Formatted output and logging. Hypervisor lines carry the "(presidio) "
 * prefix so they stay distinguishable from guest output on a shared console.
 */
#pragma once
#include <stdarg.h>
#include "lib/types.h"

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

/* %d %i %u %x %X %o %p %s %c %% with flags '-' '0' and width/precision,
 * length modifiers hh h l ll z t j. Returns the length it would have
 * written (like C99); always NUL-terminates when size > 0. */
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Raw console output, no prefix. */
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One prefixed log line per call (a trailing newline is added if missing). */
void log_printf(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void log_set_level(enum log_level level);

#define pr_err(...) log_printf(LOG_ERROR, __VA_ARGS__)
#define pr_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define pr_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

static inline const char *yes_no(bool b) { return b ? "yes" : "no"; }

NORETURN void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define ASSERT(cond)                                                           \
	do {                                                                   \
		if (!(cond))                                                   \
			panic("assertion failed: %s at %s:%d", #cond,          \
			      __FILE__, __LINE__);                             \
	} while (0)
