/* printf-style formatting: %s %c %d %u %x %X, 'l'/'ll' sizes (64-bit only
 * in hex: 32-bit guests have no 64-bit division), '0' and width. */
#ifndef GUEST_FORMAT_H
#define GUEST_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

typedef void (*format_emit_fn)(char c, void *ctx);

void vformat(format_emit_fn emit, void *ctx, const char *fmt, va_list ap);
int vsnformat(char *buf, size_t size, const char *fmt, va_list ap);
int snformat(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
