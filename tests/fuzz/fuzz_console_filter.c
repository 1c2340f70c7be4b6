/*
 * libFuzzer target for the guest console filters (drivers/console_filter.c).
 * The input is guest output; a byte 0xff followed by 0xfe stands for a
 * hypervisor line at that point. Checked: a prefixed line holds printable
 * ASCII and tab only; the raw console's output for one byte fits its
 * buffer; every CONSOLE_PREFIX in the raw output is either a hypervisor
 * line's, right after a line feed, or marked "[vm] ".
 *
 *   clang -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=fuzzer,address,undefined \
 *         tests/fuzz/fuzz_console_filter.c -o /tmp/fuzz_console
 */
#include "tests/fuzz/fuzz_support.h"
#include "drivers/console_filter.c"

#define HYPERVISOR_MARK_FIRST 0xff
#define HYPERVISOR_MARK_SECOND 0xfe
#define OWNER "fuzz"
#define MARKER "[" OWNER "] "
#define HYPERVISOR_LINE CONSOLE_PREFIX "line\n"
#define OUTPUT_MAX (1 << 20)

static char output[OUTPUT_MAX];
static bool from_hypervisor[OUTPUT_MAX];
static size_t output_length;

static void emit(const char *bytes, size_t length, bool hypervisor)
{
	if (length > CONSOLE_FILTER_OUTPUT_MAX && !hypervisor)
		abort();
	for (size_t i = 0; i < length && output_length < OUTPUT_MAX; i++) {
		from_hypervisor[output_length] = hypervisor;
		output[output_length++] = bytes[i];
	}
}

static void check_prefixed(const u8 *data, size_t size)
{
	struct console_line line = { 0 };
	for (size_t i = 0; i < size; i++) {
		if (console_line_add(&line, data[i]))
			console_line_clear(&line);
		if (line.length >= CONSOLE_LINE_LENGTH)
			abort();
		for (unsigned j = 0; j < line.length; j++)
			if (!is_printable((u8)line.text[j]) && line.text[j] != CHAR_TAB)
				abort();
	}
}

static void check_raw_prefixes(void)
{
	const size_t length = sizeof(CONSOLE_PREFIX) - 1, marker = sizeof(MARKER) - 1;
	for (size_t i = 0; i + length <= output_length; i++) {
		if (memcmp(output + i, CONSOLE_PREFIX, length))
			continue;
		bool hypervisor = from_hypervisor[i] && (i == 0 || output[i - 1] == CHAR_LINE_FEED);
		bool marked = i >= marker && !memcmp(output + i - marker, MARKER, marker);
		if (!hypervisor && !marked)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	check_prefixed(data, size);
	struct raw_console_filter filter = { 0 };
	char step[CONSOLE_FILTER_OUTPUT_MAX];
	output_length = 0;
	for (size_t i = 0; i < size; i++) {
		if (data[i] == HYPERVISOR_MARK_FIRST && i + 1 < size && data[i + 1] == HYPERVISOR_MARK_SECOND) {
			emit(step, raw_console_before_hypervisor(&filter, step), false);
			emit(HYPERVISOR_LINE, sizeof(HYPERVISOR_LINE) - 1, true);
			i++;
			continue;
		}
		emit(step, raw_console_guest_byte(&filter, OWNER, data[i], step), false);
	}
	check_raw_prefixes();
	return 0;
}
