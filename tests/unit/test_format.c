/*
 * Unit tests for kvsnprintf/ksnprintf (lib/format.c): a generated table of
 * conversions compared against the host's snprintf, then truncation and
 * the cases where the hypervisor deliberately defines its own output.
 */
#include "tests/unit/host_support.h"

#include <limits.h>
#include <string.h>

#define OUTPUT_BYTES 256
#define CANARY_BYTE 0x7e

enum argument_kind {
	ARGUMENT_INT,
	ARGUMENT_LONG,
	ARGUMENT_LONG_LONG,
	ARGUMENT_SIZE,
	ARGUMENT_PTRDIFF,
	ARGUMENT_INTMAX,
	ARGUMENT_UNSIGNED,
	ARGUMENT_UNSIGNED_LONG,
	ARGUMENT_UNSIGNED_LONG_LONG,
	ARGUMENT_UNSIGNED_INTMAX,
	ARGUMENT_STRING,
	ARGUMENT_POINTER,
};

struct argument {
	enum argument_kind kind;
	long long number;
	const char *string;
	void *pointer;
};

struct star_values {
	int count; /* 0, 1 or 2 '*' in the format */
	int first, second;
};

static unsigned comparisons;

/* Calls 'call' with the stars (if any) followed by the value. */
#define WITH_STARS(call, stars, value)                                         \
	((stars)->count == 0   ? call(value)                                   \
	 : (stars)->count == 1 ? call((stars)->first, value)                   \
			       : call((stars)->first, (stars)->second, value))

#define DISPATCH(call, stars, argument)                                        \
	do {                                                                   \
		long long n_ = (argument)->number;                             \
		switch ((argument)->kind) {                                    \
		case ARGUMENT_INT: result = WITH_STARS(call, stars, (int)n_); break; \
		case ARGUMENT_LONG: result = WITH_STARS(call, stars, (long)n_); break; \
		case ARGUMENT_LONG_LONG: result = WITH_STARS(call, stars, n_); break; \
		case ARGUMENT_SIZE: result = WITH_STARS(call, stars, (size_t)n_); break; \
		case ARGUMENT_PTRDIFF: result = WITH_STARS(call, stars, (ptrdiff_t)n_); break; \
		case ARGUMENT_INTMAX: result = WITH_STARS(call, stars, (intmax_t)n_); break; \
		case ARGUMENT_UNSIGNED: result = WITH_STARS(call, stars, (unsigned)n_); break; \
		case ARGUMENT_UNSIGNED_LONG: result = WITH_STARS(call, stars, (unsigned long)n_); break; \
		case ARGUMENT_UNSIGNED_LONG_LONG: result = WITH_STARS(call, stars, (unsigned long long)n_); break; \
		case ARGUMENT_UNSIGNED_INTMAX: result = WITH_STARS(call, stars, (uintmax_t)n_); break; \
		case ARGUMENT_STRING: result = WITH_STARS(call, stars, (argument)->string); break; \
		case ARGUMENT_POINTER: result = WITH_STARS(call, stars, (argument)->pointer); break; \
		}                                                              \
	} while (0)

static char *format_buffer;
static size_t format_size;
static const char *format_string;

#define KERNEL_CALL(...) ksnprintf(format_buffer, format_size, format_string, __VA_ARGS__)
#define HOST_CALL(...) snprintf(format_buffer, format_size, format_string, __VA_ARGS__)

static int format_kernel(char *buffer, size_t size, const char *format,
			 const struct star_values *stars,
			 const struct argument *argument)
{
	int result = -1;

	format_buffer = buffer;
	format_size = size;
	format_string = format;
	DISPATCH(KERNEL_CALL, stars, argument);
	return result;
}

static int format_host(char *buffer, size_t size, const char *format,
		       const struct star_values *stars,
		       const struct argument *argument)
{
	int result = -1;

	format_buffer = buffer;
	format_size = size;
	format_string = format;
	DISPATCH(HOST_CALL, stars, argument);
	return result;
}

/* Formats with both into buffers of 'size' bytes and compares return
 * values, text, and that nothing past 'size' was written. */
static void compare_at_size(const char *format, const struct star_values *stars,
			    const struct argument *argument, size_t size)
{
	char kernel[OUTPUT_BYTES + 8], host[OUTPUT_BYTES + 8];

	memset(kernel, CANARY_BYTE, sizeof(kernel));
	memset(host, CANARY_BYTE, sizeof(host));
	int kernel_length = format_kernel(size ? kernel : NULL, size, format,
					  stars, argument);
	int host_length = format_host(size ? host : NULL, size, format, stars,
				      argument);
	size_t written = size == 0 ? 0 : MIN((size_t)host_length, size - 1) + 1;

	comparisons++;
	if (kernel_length != host_length || memcmp(kernel, host, written) != 0)
		fail_msg("format \"%s\" (kind %d, value %lld, stars %d/%d/%d, "
			 "size %zu): kernel %d \"%.*s\", host %d \"%.*s\"",
			 format, argument->kind, argument->number, stars->count,
			 stars->first, stars->second, size, kernel_length,
			 (int)MIN(written, (size_t)kernel_length + 1), kernel,
			 host_length, (int)written, host);
	for (size_t i = written; i < sizeof(kernel); i++)
		if ((u8)kernel[i] != CANARY_BYTE)
			fail_msg("format \"%s\" wrote byte %zu of a %zu-byte buffer",
				 format, i, size);
}

static void compare(const char *format, const struct star_values *stars,
		    const struct argument *argument)
{
	compare_at_size(format, stars, argument, OUTPUT_BYTES);
}

/* ---- The generated table ---- */

struct conversion {
	char letter;
	const char *flags;      /* flags C defines for it */
	bool takes_precision;
	bool is_signed;
};

static const struct conversion conversions[] = {
	{ 'd', "-0+ ", true, true },
	{ 'i', "-0+ ", true, true },
	{ 'u', "-0+ ", true, false }, /* '+' and ' ' must have no effect */
	{ 'x', "-0+ #", true, false },
	{ 'X', "-0+ #", true, false },
	{ 'o', "-0+ #", true, false },
};

struct length {
	const char *modifier;
	enum argument_kind signed_kind, unsigned_kind;
};

static const struct length lengths[] = {
	{ "", ARGUMENT_INT, ARGUMENT_UNSIGNED },
	{ "hh", ARGUMENT_INT, ARGUMENT_UNSIGNED },
	{ "h", ARGUMENT_INT, ARGUMENT_UNSIGNED },
	{ "l", ARGUMENT_LONG, ARGUMENT_UNSIGNED_LONG },
	{ "ll", ARGUMENT_LONG_LONG, ARGUMENT_UNSIGNED_LONG_LONG },
	{ "z", ARGUMENT_PTRDIFF, ARGUMENT_SIZE }, /* ssize_t is long here */
	{ "t", ARGUMENT_PTRDIFF, ARGUMENT_UNSIGNED_LONG },
	{ "j", ARGUMENT_INTMAX, ARGUMENT_UNSIGNED_INTMAX },
};

static const long long values[] = {
	0, 1, -1, 7, -8, 42, -42, 127, 128, -128, 200, 255, 256, 32767,
	-32768, 65535, 70000, 123456789, INT_MAX, INT_MIN, UINT_MAX,
	0x123456789abcdefLL, LLONG_MAX, LLONG_MIN,
};

static const char *const widths[] = { "", "1", "6", "17", "*" };
static const int star_widths[] = { 0, 9, -9 };
static const char *const precisions[] = { "", ".", ".0", ".1", ".4", ".19", ".*" };
static const int star_precisions[] = { -1, 0, 5 };

/* Every subset of 'flags', in order; returns the number of subsets. */
static unsigned flag_subsets(const char *flags, char subsets[][8])
{
	unsigned count = 1u << strlen(flags);

	for (unsigned mask = 0; mask < count; mask++) {
		unsigned length = 0;

		for (unsigned i = 0; flags[i]; i++)
			if (mask & (1u << i))
				subsets[mask][length++] = flags[i];
		subsets[mask][length] = 0;
	}
	return count;
}

/* Runs one format over every '*' combination it needs. */
static void compare_with_stars(const char *format, bool star_width,
			       bool star_precision,
			       const struct argument *argument)
{
	unsigned width_count = star_width ? ARRAY_SIZE(star_widths) : 1;
	unsigned precision_count = star_precision ? ARRAY_SIZE(star_precisions) : 1;

	for (unsigned w = 0; w < width_count; w++) {
		for (unsigned p = 0; p < precision_count; p++) {
			struct star_values stars = { 0 };

			if (star_width)
				stars.first = star_widths[w];
			if (star_precision) {
				if (star_width)
					stars.second = star_precisions[p];
				else
					stars.first = star_precisions[p];
			}
			stars.count = star_width + star_precision;
			compare(format, &stars, argument);
		}
	}
}

static void test_integer_table(void **state)
{
	char flag_sets[32][8];

	(void)state;
	comparisons = 0;
	for (unsigned c = 0; c < ARRAY_SIZE(conversions); c++) {
		const struct conversion *conversion = &conversions[c];
		unsigned flag_count = flag_subsets(conversion->flags, flag_sets);

		for (unsigned f = 0; f < flag_count; f++)
		for (unsigned w = 0; w < ARRAY_SIZE(widths); w++)
		for (unsigned p = 0; p < ARRAY_SIZE(precisions); p++)
		for (unsigned l = 0; l < ARRAY_SIZE(lengths); l++) {
			char format[32];
			struct argument argument = {
				.kind = conversion->is_signed
						? lengths[l].signed_kind
						: lengths[l].unsigned_kind,
			};

			snprintf(format, sizeof(format), "<%%%s%s%s%s%c>",
				 flag_sets[f], widths[w], precisions[p],
				 lengths[l].modifier, conversion->letter);
			for (unsigned v = 0; v < ARRAY_SIZE(values); v++) {
				argument.number = values[v];
				compare_with_stars(format, widths[w][0] == '*',
						   strcmp(precisions[p], ".*") == 0,
						   &argument);
			}
		}
	}
	print_message("%u integer comparisons\n", comparisons);
}

static void test_string_char_pointer_table(void **state)
{
	static const char *const strings[] = {
		"", "a", "hello", "a somewhat longer string of text",
	};
	static const long long characters[] = { 'a', 'Z', ' ', '%', 0xe9 };
	static void *const pointers[] = {
		(void *)0x1, (void *)0xdeadbeef, (void *)0x7fffffffffffULL,
		(void *)~0ULL,
	};
	static const char *const flag_sets[] = { "", "-" };
	char format[32];

	(void)state;
	comparisons = 0;
	for (unsigned f = 0; f < ARRAY_SIZE(flag_sets); f++)
	for (unsigned w = 0; w < ARRAY_SIZE(widths); w++) {
		bool star_width = widths[w][0] == '*';

		for (unsigned p = 0; p < ARRAY_SIZE(precisions); p++) {
			snprintf(format, sizeof(format), "[%%%s%s%ss]",
				 flag_sets[f], widths[w], precisions[p]);
			for (unsigned s = 0; s < ARRAY_SIZE(strings); s++) {
				struct argument argument = {
					.kind = ARGUMENT_STRING,
					.string = strings[s],
				};
				compare_with_stars(format, star_width,
						   strcmp(precisions[p], ".*") == 0,
						   &argument);
			}
		}
		snprintf(format, sizeof(format), "[%%%s%sc]", flag_sets[f],
			 widths[w]);
		for (unsigned c = 0; c < ARRAY_SIZE(characters); c++) {
			struct argument argument = {
				.kind = ARGUMENT_INT, .number = characters[c],
			};
			compare_with_stars(format, star_width, false, &argument);
		}
		snprintf(format, sizeof(format), "[%%%s%sp]", flag_sets[f],
			 widths[w]);
		for (unsigned i = 0; i < ARRAY_SIZE(pointers); i++) {
			struct argument argument = {
				.kind = ARGUMENT_POINTER, .pointer = pointers[i],
			};
			compare_with_stars(format, star_width, false, &argument);
		}
	}
	print_message("%u string/char/pointer comparisons\n", comparisons);
}

/* ---- Literal text, several conversions, truncation ---- */

#define EXPECT_LIKE_HOST(format, ...)                                          \
	do {                                                                   \
		char kernel_[OUTPUT_BYTES], host_[OUTPUT_BYTES];               \
		int kernel_length_ = ksnprintf(kernel_, sizeof(kernel_),       \
					       format, __VA_ARGS__);           \
		int host_length_ = snprintf(host_, sizeof(host_), format,      \
					    __VA_ARGS__);                      \
		assert_int_equal(kernel_length_, host_length_);                \
		assert_string_equal(kernel_, host_);                           \
	} while (0)

static void test_literals_and_sequences(void **state)
{
	(void)state;
	EXPECT_LIKE_HOST("%s", "");
	EXPECT_LIKE_HOST("plain text, no conversions%s", "");
	EXPECT_LIKE_HOST("100%% sure, %d%%", 5);
	EXPECT_LIKE_HOST("%d %s %c %x %lu %p", -3, "mid", 'q', 0xbeefu,
			 123456789012UL, (void *)0x1000);
	EXPECT_LIKE_HOST("%-5d|%05d|%+d|% d|%#x|%#o", 12, -12, 12, 12, 255u, 8u);
	EXPECT_LIKE_HOST("%*d|%-*d|%.*s|%*.*d", 6, 1, 6, 2, 3, "abcdef", 8, 4, 7);
	EXPECT_LIKE_HOST("(presidio) vcpu %u exit %#llx at %016llx", 3u,
			 0x1eULL, 0xffffffff81000000ULL);
	/* Truncation of wider values is covered by the table, whose formats
	 * the compiler cannot see. */
	EXPECT_LIKE_HOST("%hhd %hhu %hd %hu", (signed char)-56,
			 (unsigned char)200, (short)-4464, (unsigned short)4464);
	EXPECT_LIKE_HOST("%zu %zx %td %jd", (size_t)-1, (size_t)4096,
			 (ptrdiff_t)-5, (intmax_t)INT64_MIN);
}

static void test_truncation(void **state)
{
	static const struct {
		const char *format;
		struct argument argument;
	} cases[] = {
		{ "value=%d", { ARGUMENT_INT, -123456, NULL, NULL } },
		{ "%-10s|", { ARGUMENT_STRING, 0, "left", NULL } },
		{ "%#018llx", { ARGUMENT_UNSIGNED_LONG_LONG, 0xabcdef, NULL, NULL } },
		{ "[%8.3s]", { ARGUMENT_STRING, 0, "truncate me", NULL } },
		{ "%p!", { ARGUMENT_POINTER, 0, NULL, (void *)0xfeedface } },
		{ "no conversion at all, just text %s", { ARGUMENT_STRING, 0, "", NULL } },
	};
	static const struct star_values no_stars = { 0 };

	(void)state;
	comparisons = 0;
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		char sized[OUTPUT_BYTES];
		int length = format_kernel(sized, sizeof(sized), cases[i].format,
					   &no_stars, &cases[i].argument);

		for (size_t size = 0; size <= (size_t)length + 2; size++)
			compare_at_size(cases[i].format, &no_stars,
					&cases[i].argument, size);
	}

	/* Size 0 writes nothing, not even the terminator. */
	char untouched[4] = "xyz";
	assert_int_equal(ksnprintf(untouched, 0, "%s", "long text"), 9);
	assert_string_equal(untouched, "xyz");
	assert_int_equal(ksnprintf(NULL, 0, "%d-%d", 10, 20), 5);

	/* Size 1 holds only the terminator. */
	assert_int_equal(ksnprintf(untouched, 1, "%s", "abc"), 3);
	assert_int_equal(untouched[0], 0);
	assert_int_equal(untouched[1], 'y');
}

static void test_vsnprintf_is_reusable(void **state)
{
	(void)state;
	/* ksnprintf passes its va_list on; kvsnprintf must copy, not consume. */
	char first[32], second[32];
	assert_int_equal(ksnprintf(first, sizeof(first), "%d/%s", 7, "x"), 3);
	assert_int_equal(ksnprintf(second, sizeof(second), "%d/%s", 8, "y"), 3);
	assert_string_equal(first, "7/x");
	assert_string_equal(second, "8/y");
}

/* ---- Where the hypervisor defines the output itself ---- */

/* volatile: the compiler must not see the NULL and warn about it. */
static const char *volatile null_string;

static void test_null_string(void **state)
{
	char buffer[32];

	(void)state;
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "%s", null_string), 6);
	assert_string_equal(buffer, "(null)");
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "[%8s]", null_string), 10);
	assert_string_equal(buffer, "[  (null)]");
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "[%-7s]", null_string), 9);
	assert_string_equal(buffer, "[(null) ]");
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "%.3s", null_string), 3);
	assert_string_equal(buffer, "(nu");
}

static void test_nul_character(void **state)
{
	char buffer[8];

	(void)state;
	memset(buffer, 'z', sizeof(buffer));
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "a%cb", 0), 3);
	assert_memory_equal(buffer, "a\0b", 4);
	memset(buffer, 'z', sizeof(buffer));
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "%3c|", 0), 4);
	assert_memory_equal(buffer, "  \0|", 5);
	memset(buffer, 'z', sizeof(buffer));
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), "%-3c|", 0), 4);
	assert_memory_equal(buffer, "\0  |", 5);
}

static void test_trailing_percent_is_dropped(void **state)
{
	char buffer[16];

	(void)state;
	const char *format = "abc%";
	assert_int_equal(ksnprintf(buffer, sizeof(buffer), format, 0), 3);
	assert_string_equal(buffer, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integer_table),
		cmocka_unit_test(test_string_char_pointer_table),
		cmocka_unit_test(test_literals_and_sequences),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_vsnprintf_is_reusable),
		cmocka_unit_test(test_null_string),
		cmocka_unit_test(test_nul_character),
		cmocka_unit_test(test_trailing_percent_is_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
