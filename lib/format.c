/* kvsnprintf: the one formatter behind every console line and message. */
#include "lib/print.h"

struct out {
	char *buf;
	size_t size;
	size_t len; /* would-be length, may exceed size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

struct spec {
	bool left, zero, plus, space, alt;
	int width;
	int precision; /* -1 = none */
};

static void emit_number(struct out *o, const struct spec *s, unsigned long long v,
			bool negative, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;
	while (v) {
		tmp[n++] = digits[v % base];
		v /= base;
	}
	int ndigits = n;
	int prec = s->precision;
	if (prec < 0 && ndigits == 0)
		ndigits = 1, tmp[n++] = '0';
	int zeros = prec > ndigits ? prec - ndigits : 0;
	const char *prefix = "";
	if (negative)
		prefix = "-";
	else if (s->plus)
		prefix = "+";
	else if (s->space)
		prefix = " ";
	if (s->alt && base == 16 && ndigits && tmp[n - 1] != '0')
		prefix = upper ? "0X" : "0x";
	if (s->alt && base == 8 && zeros == 0 && (n == 0 || tmp[n - 1] != '0'))
		zeros = 1;
	int plen = 0;
	while (prefix[plen])
		plen++;
	int body = plen + zeros + n;
	int fill = s->width > body ? s->width - body : 0;
	if (s->zero && !s->left && prec < 0) {
		zeros += fill;
		fill = 0;
	}
	if (!s->left)
		pad(o, ' ', fill);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	while (n)
		put(o, tmp[--n]);
	if (s->left)
		pad(o, ' ', fill);
}

static void emit_string(struct out *o, const struct spec *s, const char *str)
{
	if (!str)
		str = "(null)";
	int len = 0;
	while (str[len] && (s->precision < 0 || len < s->precision))
		len++;
	int fill = s->width > len ? s->width - len : 0;
	if (!s->left)
		pad(o, ' ', fill);
	for (int i = 0; i < len; i++)
		put(o, str[i]);
	if (s->left)
		pad(o, ' ', fill);
}

static const char *parse_int(const char *f, int *v, va_list *ap)
{
	if (*f == '*') {
		*v = va_arg(*ap, int);
		return f + 1;
	}
	*v = 0;
	while (*f >= '0' && *f <= '9')
		*v = *v * 10 + (*f++ - '0');
	return f;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
	struct out o = { buf, size, 0 };
	va_list ap;
	va_copy(ap, ap_in);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%') {
			put(&o, *f);
			continue;
		}
		struct spec s = { .precision = -1 };
		for (;; f++) {
			char c = f[1];
			if (c == '-') s.left = true;
			else if (c == '0') s.zero = true;
			else if (c == '+') s.plus = true;
			else if (c == ' ') s.space = true;
			else if (c == '#') s.alt = true;
			else break;
		}
		f = parse_int(f + 1, &s.width, &ap);
		if (s.width < 0) {
			s.left = true;
			s.width = -s.width;
		}
		if (*f == '.') {
			f = parse_int(f + 1, &s.precision, &ap);
			if (s.precision < 0)
				s.precision = -1;
		}
		int lng = 0; /* -2 hh, -1 h, 1 l, 2 ll, 3 size_t/ptrdiff/intmax */
		for (;; f++) {
			if (*f == 'h') lng = lng == -1 ? -2 : -1;
			else if (*f == 'l') lng = lng == 1 ? 2 : 1;
			else if (*f == 'z' || *f == 't' || *f == 'j') lng = 3;
			else break;
		}
		unsigned long long u;
		long long sv;
		switch (*f) {
		case 'd':
		case 'i':
			if (lng >= 1) sv = lng == 1 ? va_arg(ap, long) : va_arg(ap, long long);
			else sv = va_arg(ap, int);
			if (lng == -1) sv = (short)sv;
			if (lng == -2) sv = (signed char)sv;
			u = sv < 0 ? 0ULL - (unsigned long long)sv : (unsigned long long)sv;
			emit_number(&o, &s, u, sv < 0, 10, false);
			break;
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			if (lng >= 1) u = lng == 1 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned long long);
			else u = va_arg(ap, unsigned int);
			if (lng == -1) u = (unsigned short)u;
			if (lng == -2) u = (unsigned char)u;
			s.plus = s.space = false; /* only signed conversions get a sign */
			emit_number(&o, &s, u, false, *f == 'o' ? 8 : *f == 'u' ? 10 : 16, *f == 'X');
			break;
		case 'p':
			s.alt = true;
			emit_number(&o, &s, (unsigned long long)(uintptr_t)va_arg(ap, void *), false, 16, false);
			break;
		case 's':
			emit_string(&o, &s, va_arg(ap, const char *));
			break;
		case 'c': {
			char str[2] = { (char)va_arg(ap, int), 0 };
			s.precision = 1;
			if (!str[0]) { /* still emit the NUL like C does */
				pad(&o, ' ', s.left ? 0 : s.width - 1);
				put(&o, 0);
				if (s.left) pad(&o, ' ', s.width - 1);
				break;
			}
			emit_string(&o, &s, str);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		case '\0':
			f--; /* trailing lone '%' */
			break;
		default:
			put(&o, '%');
			put(&o, *f);
			break;
		}
	}
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
