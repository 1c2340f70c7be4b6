#include "format.h"

#include <stdbool.h>
#include <stdint.h>

#define MAX_DIGITS 20

struct spec {
	bool zero_pad;
	unsigned width;
	unsigned long_count;
};

static void emit_padded(format_emit_fn emit, void *ctx, const struct spec *s, const char *digits,
			unsigned n, bool negative)
{
	unsigned len = n + (negative ? 1 : 0);
	char pad = s->zero_pad ? '0' : ' ';
	if (negative && s->zero_pad)
		emit('-', ctx);
	for (; len < s->width; len++)
		emit(pad, ctx);
	if (negative && !s->zero_pad)
		emit('-', ctx);
	while (n)
		emit(digits[--n], ctx);
}

static void emit_hex(format_emit_fn emit, void *ctx, const struct spec *s, uint64_t v, bool upper)
{
	const char *alphabet = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char digits[MAX_DIGITS];
	unsigned n = 0;
	do {
		digits[n++] = alphabet[v & 0xf];
		v >>= 4;
	} while (v);
	emit_padded(emit, ctx, s, digits, n, false);
}

static void emit_decimal(format_emit_fn emit, void *ctx, const struct spec *s, uint32_t v,
			 bool negative)
{
	char digits[MAX_DIGITS];
	unsigned n = 0;
	do {
		digits[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	emit_padded(emit, ctx, s, digits, n, negative);
}

static const char *parse_spec(const char *fmt, struct spec *s)
{
	*s = (struct spec){ 0 };
	if (*fmt == '0') {
		s->zero_pad = true;
		fmt++;
	}
	while (*fmt >= '0' && *fmt <= '9')
		s->width = s->width * 10 + (unsigned)(*fmt++ - '0');
	while (*fmt == 'l') {
		s->long_count++;
		fmt++;
	}
	return fmt;
}

void vformat(format_emit_fn emit, void *ctx, const char *fmt, va_list ap)
{
	struct spec s;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			emit(*fmt, ctx);
			continue;
		}
		fmt = parse_spec(fmt + 1, &s);
		switch (*fmt) {
		case 's': {
			const char *str = va_arg(ap, const char *);
			for (str = str ? str : "(null)"; *str; str++)
				emit(*str, ctx);
			break;
		}
		case 'c': emit((char)va_arg(ap, int), ctx); break;
		case 'd': {
			int32_t v = va_arg(ap, int32_t);
			emit_decimal(emit, ctx, &s, v < 0 ? 0u - (uint32_t)v : (uint32_t)v, v < 0);
			break;
		}
		case 'u': emit_decimal(emit, ctx, &s, va_arg(ap, uint32_t), false); break;
		case 'x':
		case 'X': {
			uint64_t v = s.long_count >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			emit_hex(emit, ctx, &s, v, *fmt == 'X');
			break;
		}
		case '%': emit('%', ctx); break;
		case '\0': return;
		default:
			emit('%', ctx);
			emit(*fmt, ctx);
		}
	}
}

struct buffer {
	char *buf;
	size_t size, used;
};

static void emit_to_buffer(char c, void *ctx)
{
	struct buffer *b = ctx;
	if (b->used + 1 < b->size)
		b->buf[b->used] = c;
	b->used++;
}

int vsnformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct buffer b = { buf, size, 0 };
	vformat(emit_to_buffer, &b, fmt, ap);
	if (size)
		buf[b.used < size ? b.used : size - 1] = '\0';
	return (int)b.used;
}

int snformat(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnformat(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
