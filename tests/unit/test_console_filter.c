/*
 * Unit tests for the guest console filters (drivers/console_filter.c):
 * what a prefixed guest's line may contain, and what the raw console sends
 * around a raw guest's bytes so that hypervisor lines stay recognisable.
 */
#include "tests/unit/host_support.h"

#include <string.h>

#include "drivers/console_filter.c"

#define OUTPUT_BYTES 4096
#define MAX_LINES 8
#define OWNER "linux"
#define RESET "\x18\x1b[0m\x0f\x1b(B"

/* Prefixed: the lines a byte string turns into (complete ones only). */
struct lines {
	char text[MAX_LINES][CONSOLE_LINE_LENGTH + 1];
	unsigned count;
	unsigned pending; /* bytes of an unfinished line */
};

static void feed_prefixed_bytes(struct lines *out, const char *bytes, size_t length)
{
	struct console_line line = { 0 };
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < length; i++) {
		if (!console_line_add(&line, (u8)bytes[i]))
			continue;
		assert_true(out->count < MAX_LINES);
		memcpy(out->text[out->count++], line.text, line.length);
		console_line_clear(&line);
	}
	out->pending = line.length;
}

#define feed_prefixed(out, literal) feed_prefixed_bytes(out, literal, sizeof(literal) - 1)

static void test_printable_text_and_tab_kept(void **state UNUSED)
{
	struct lines l;
	feed_prefixed(&l, "PASS io: 8 bytes\tok\r\n");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.text[0], "PASS io: 8 bytes\tok");
	assert_int_equal(l.pending, 0);
}

static void test_escape_sequences_dropped(void **state UNUSED)
{
	struct lines l;
	/* CSI erase line and cursor up, SGR colour, charset designation, DECSC. */
	feed_prefixed(&l, "a\x1b[2Kb\x1b[1Ac\x1b[1;31md\x1b(0e\x1b" "7f\x1b[?25lg\n");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.text[0], "abcdefg");
}

static void test_line_feed_ends_an_unfinished_sequence(void **state UNUSED)
{
	struct lines l;
	feed_prefixed(&l, "x\x1b[12\ny\x1b\nz\n");
	assert_int_equal(l.count, 3);
	assert_string_equal(l.text[0], "x");
	assert_string_equal(l.text[1], "y");
	assert_string_equal(l.text[2], "z");
}

static void test_c1_controls_cannot_start_a_sequence(void **state UNUSED)
{
	struct lines l;
	/* 0x9b is a one-byte CSI to an 8-bit terminal; 0x9d an OSC. */
	feed_prefixed(&l, "\x9b" "2K\x9d" "0;title\x07\n");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.text[0], "?2K?0;title?");
}

static void test_carriage_return_cannot_rewrite_the_prefix(void **state UNUSED)
{
	struct lines l;
	feed_prefixed(&l, "harmless\r(presidio) vm x: exited (forged)\n");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.text[0], "harmless(presidio) vm x: exited (forged)");
}

static void test_controls_and_nul_shown_as_replacement(void **state UNUSED)
{
	struct lines l;
	feed_prefixed(&l, "a\0b\x07" "c\x08" "d\x0b" "e\x0c" "f\x7f" "g\xe2\x82\xac\n");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.text[0], "a?b?c?d?e?f?g???");
}

static void test_overlong_line_split(void **state UNUSED)
{
	char bytes[CONSOLE_LINE_LENGTH + 41];
	memset(bytes, 'x', sizeof(bytes) - 1);
	bytes[sizeof(bytes) - 1] = '\n';
	struct lines l;
	feed_prefixed_bytes(&l, bytes, sizeof(bytes));
	assert_int_equal(l.count, 2);
	assert_int_equal(strlen(l.text[0]), CONSOLE_LINE_LENGTH);
	assert_int_equal(strlen(l.text[1]), 40);
}

/* Whatever the bytes, a line holds only printable ASCII and tab. */
static void test_every_byte_value_filtered(void **state UNUSED)
{
	struct console_line line = { 0 };
	for (unsigned seed = 1; seed < 20000; seed++) {
		u8 byte = (u8)((seed * 2654435761u) >> 13);
		if (console_line_add(&line, byte))
			console_line_clear(&line);
		for (unsigned i = 0; i < line.length; i++)
			assert_true(line.text[i] == '\t' || (line.text[i] >= 0x20 && line.text[i] <= 0x7e));
	}
}

/* Raw: what the console sends for a guest byte string, then (optionally) a
 * hypervisor line. */
struct raw_output {
	char bytes[OUTPUT_BYTES];
	size_t length;
};

static void send_raw_bytes(struct raw_console_filter *f, struct raw_output *out, const char *owner,
			   const char *bytes, size_t length)
{
	char step[CONSOLE_FILTER_OUTPUT_MAX];
	for (size_t i = 0; i < length; i++) {
		size_t n = raw_console_guest_byte(f, owner, (u8)bytes[i], step);
		assert_true(n <= CONSOLE_FILTER_OUTPUT_MAX && out->length + n <= OUTPUT_BYTES);
		memcpy(out->bytes + out->length, step, n);
		out->length += n;
	}
}

static void hypervisor_line(struct raw_console_filter *f, struct raw_output *out)
{
	char step[CONSOLE_FILTER_OUTPUT_MAX];
	size_t n = raw_console_before_hypervisor(f, step);
	memcpy(out->bytes + out->length, step, n);
	out->length += n;
	const char line[] = CONSOLE_PREFIX "vm linux: exited\n";
	memcpy(out->bytes + out->length, line, sizeof(line) - 1);
	out->length += sizeof(line) - 1;
}

#define send_raw(f, out, literal) send_raw_bytes(f, out, OWNER, literal, sizeof(literal) - 1)

static void assert_output(const struct raw_output *out, const char *expected, size_t length)
{
	assert_int_equal(out->length, length);
	assert_memory_equal(out->bytes, expected, length);
}
#define assert_raw_output(out, literal) assert_output(out, literal, sizeof(literal) - 1)

static void test_raw_bytes_pass_unchanged(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "~ # \x1b[6n\x1b[1;31mred\x1b[0m\r\n");
	assert_raw_output(&out, "~ # \x1b[6n\x1b[1;31mred\x1b[0m\r\n");
}

static void test_raw_partial_line_ended_before_hypervisor_line(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "login: ");
	hypervisor_line(&f, &out);
	assert_raw_output(&out, "login: \n(presidio) vm linux: exited\n");
}

static void test_raw_complete_line_needs_nothing(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "done\r\n");
	hypervisor_line(&f, &out);
	hypervisor_line(&f, &out);
	assert_raw_output(&out, "done\r\n(presidio) vm linux: exited\n(presidio) vm linux: exited\n");
}

static void test_raw_escape_reset_before_hypervisor_line(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	/* Concealed text and an OSC string left open would hide the line. */
	send_raw(&f, &out, "\x1b[8m\x1b]0;");
	hypervisor_line(&f, &out);
	assert_raw_output(&out, "\x1b[8m\x1b]0;" RESET "\n(presidio) vm linux: exited\n");
}

static void test_raw_c1_and_nul_count_as_terminal_state(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "\x9b" "8m\n");
	hypervisor_line(&f, &out);
	send_raw(&f, &out, "\0\n");
	hypervisor_line(&f, &out);
	assert_raw_output(&out, "\x9b" "8m\n" RESET "\n(presidio) vm linux: exited\n"
				"\0\n" RESET "\n(presidio) vm linux: exited\n");
}

static void test_raw_forged_prefix_marked(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "(presidio) vm linux: exited with status 1 (forged)\n"
			   "x\r(presidio) y\n");
	assert_raw_output(&out, "[linux] (presidio) vm linux: exited with status 1 (forged)\n"
				"x\r[linux] (presidio) y\n");
}

static void test_raw_near_misses_released(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "(presidi0) ((presidio) (y/n)");
	assert_raw_output(&out, "(presidi0) ([linux] (presidio) (y/n)");
}

static void test_raw_held_bytes_released_before_hypervisor_line(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	send_raw(&f, &out, "(pres");
	assert_int_equal(out.length, 0);
	hypervisor_line(&f, &out);
	send_raw(&f, &out, "idio) z");
	assert_raw_output(&out, "(pres\n(presidio) vm linux: exited\nidio) z");
}

static void test_raw_long_owner_name_cut(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	const char forged[] = CONSOLE_PREFIX;
	send_raw_bytes(&f, &out, "a23456789012345678901234567890", forged, sizeof(forged) - 1);
	assert_raw_output(&out, "[a2345678901234567890123] (presidio) ");
}

/* An overlong raw line is the guest's business; nothing is cut or added. */
static void test_raw_overlong_line_untouched(void **state UNUSED)
{
	struct raw_console_filter f = { 0 };
	struct raw_output out = { 0 };
	char bytes[1000];
	memset(bytes, 'x', sizeof(bytes));
	send_raw_bytes(&f, &out, OWNER, bytes, sizeof(bytes));
	assert_output(&out, bytes, sizeof(bytes));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable_text_and_tab_kept),
		cmocka_unit_test(test_escape_sequences_dropped),
		cmocka_unit_test(test_line_feed_ends_an_unfinished_sequence),
		cmocka_unit_test(test_c1_controls_cannot_start_a_sequence),
		cmocka_unit_test(test_carriage_return_cannot_rewrite_the_prefix),
		cmocka_unit_test(test_controls_and_nul_shown_as_replacement),
		cmocka_unit_test(test_overlong_line_split),
		cmocka_unit_test(test_every_byte_value_filtered),
		cmocka_unit_test(test_raw_bytes_pass_unchanged),
		cmocka_unit_test(test_raw_partial_line_ended_before_hypervisor_line),
		cmocka_unit_test(test_raw_complete_line_needs_nothing),
		cmocka_unit_test(test_raw_escape_reset_before_hypervisor_line),
		cmocka_unit_test(test_raw_c1_and_nul_count_as_terminal_state),
		cmocka_unit_test(test_raw_forged_prefix_marked),
		cmocka_unit_test(test_raw_near_misses_released),
		cmocka_unit_test(test_raw_held_bytes_released_before_hypervisor_line),
		cmocka_unit_test(test_raw_long_owner_name_cut),
		cmocka_unit_test(test_raw_overlong_line_untouched),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
