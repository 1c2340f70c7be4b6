/* Guest console output filters (see console_filter.h for the rules). */
#include "drivers/console_filter.h"

/* ASCII / ECMA-48 names. */
#define CHAR_BACKSPACE 0x08
#define CHAR_TAB 0x09
#define CHAR_LINE_FEED 0x0a
#define CHAR_CARRIAGE_RETURN 0x0d
#define CHAR_ESCAPE 0x1b
#define CHAR_CONTROL_SEQUENCE_INTRODUCER '['
#define FIRST_PRINTABLE 0x20
#define LAST_PRINTABLE 0x7e
#define INTERMEDIATE_FIRST 0x20 /* ECMA-48 5.4: intermediate bytes 0x20-0x2f */
#define INTERMEDIATE_LAST 0x2f
#define PARAMETER_LAST 0x3f     /* parameter bytes 0x30-0x3f */
#define FINAL_FIRST 0x30        /* an escape sequence ends in 0x30-0x7e, */
#define CSI_FINAL_FIRST 0x40    /* a control sequence in 0x40-0x7e */
#define FINAL_LAST 0x7e
#define REPLACEMENT_CHAR '?'

/*
 * Sent before a hypervisor line once a raw guest may have changed terminal
 * state: CAN ends any escape sequence or string (OSC, DCS) left open, so
 * the line is not swallowed; SGR 0 drops attributes such as conceal or
 * equal colours; SI and "ESC ( B" bring back ASCII in place of a line
 * drawing set.
 */
#define TERMINAL_RESET                                  \
	"\x18"    /* CAN */                             \
	"\x1b[0m" /* SGR 0 */                           \
	"\x0f"    /* SI: G0 */                          \
	"\x1b(B"  /* designate G0 as US-ASCII */
static const char terminal_reset[] = TERMINAL_RESET;

static const char console_prefix[] = CONSOLE_PREFIX;
#define CONSOLE_PREFIX_LENGTH (sizeof(console_prefix) - 1)
#define OWNER_NAME_MAX 23 /* vm= names: see vmm/vm_config.h */

static bool is_printable(u8 byte)
{
	return byte >= FIRST_PRINTABLE && byte <= LAST_PRINTABLE;
}

void console_line_clear(struct console_line *line)
{
	line->length = 0;
}

/* After ESC and any intermediate bytes: more of them, or the final byte. */
static bool in_escape_tail(struct console_line *line, u8 byte)
{
	if (byte >= INTERMEDIATE_FIRST && byte <= INTERMEDIATE_LAST) {
		line->escape = ESCAPE_INTERMEDIATE;
		return true;
	}
	line->escape = ESCAPE_NONE;
	return byte >= FINAL_FIRST && byte <= FINAL_LAST;
}

/* True while 'byte' belongs to an escape sequence being dropped. */
static bool in_escape_sequence(struct console_line *line, u8 byte)
{
	switch (line->escape) {
	case ESCAPE_NONE:
		if (byte == CHAR_ESCAPE)
			line->escape = ESCAPE_STARTED;
		return byte == CHAR_ESCAPE;
	case ESCAPE_STARTED:
		if (byte == CHAR_CONTROL_SEQUENCE_INTRODUCER) {
			line->escape = ESCAPE_CONTROL_SEQUENCE;
			return true;
		}
		return in_escape_tail(line, byte);
	case ESCAPE_INTERMEDIATE:
		return in_escape_tail(line, byte);
	case ESCAPE_CONTROL_SEQUENCE:
		if (byte >= INTERMEDIATE_FIRST && byte <= PARAMETER_LAST)
			return true;
		line->escape = ESCAPE_NONE;
		return byte >= CSI_FINAL_FIRST && byte <= FINAL_LAST;
	}
	return false;
}

bool console_line_add(struct console_line *line, u8 byte)
{
	/* A byte that breaks off a sequence (a line feed, say) counts as itself. */
	if (in_escape_sequence(line, byte))
		return false;
	if (byte == CHAR_LINE_FEED)
		return true;
	if (byte == CHAR_CARRIAGE_RETURN) /* CR LF line ends; a lone CR must not rewrite the prefix */
		return false;
	line->text[line->length++] = is_printable(byte) || byte == CHAR_TAB ? (char)byte : REPLACEMENT_CHAR;
	return line->length == CONSOLE_LINE_LENGTH;
}

static size_t append(char *out, size_t at, const char *text, size_t length)
{
	for (size_t i = 0; i < length; i++)
		out[at + i] = text[i];
	return at + length;
}

/* "[owner] " then the prefix the guest sent. */
static size_t marked_prefix(const char *owner, char *out)
{
	size_t n = append(out, 0, "[", 1);
	for (size_t i = 0; i < OWNER_NAME_MAX && owner[i]; i++)
		out[n++] = owner[i];
	n = append(out, n, "] ", 2);
	return append(out, n, console_prefix, CONSOLE_PREFIX_LENGTH);
}
_Static_assert(1 + OWNER_NAME_MAX + 2 + sizeof(CONSOLE_PREFIX) - 1 <= CONSOLE_FILTER_OUTPUT_MAX,
	       "a marked prefix fits one step's output");
_Static_assert(sizeof(CONSOLE_PREFIX) - 1 + sizeof(TERMINAL_RESET) - 1 + 1 <= CONSOLE_FILTER_OUTPUT_MAX,
	       "held bytes, the reset and a line feed fit one step's output");

static bool changes_no_terminal_state(u8 byte)
{
	return is_printable(byte) || byte == CHAR_TAB || byte == CHAR_LINE_FEED ||
	       byte == CHAR_CARRIAGE_RETURN || byte == CHAR_BACKSPACE;
}

size_t raw_console_guest_byte(struct raw_console_filter *filter, const char *owner, u8 byte,
			      char out[CONSOLE_FILTER_OUTPUT_MAX])
{
	filter->mid_line = byte != CHAR_LINE_FEED;
	if (!changes_no_terminal_state(byte))
		filter->terminal_state_touched = true;
	if ((char)byte == console_prefix[filter->prefix_held]) {
		if (++filter->prefix_held < CONSOLE_PREFIX_LENGTH)
			return 0;
		filter->prefix_held = 0;
		return marked_prefix(owner, out);
	}
	/* A mismatch releases what was held; the prefix's first byte occurs
	 * nowhere else in it, so a match can only restart at this byte. */
	size_t n = append(out, 0, console_prefix, filter->prefix_held);
	filter->prefix_held = 0;
	if ((char)byte == console_prefix[0]) {
		filter->prefix_held = 1;
		return n;
	}
	out[n++] = (char)byte;
	return n;
}

size_t raw_console_before_hypervisor(struct raw_console_filter *filter,
				     char out[CONSOLE_FILTER_OUTPUT_MAX])
{
	size_t n = append(out, 0, console_prefix, filter->prefix_held);
	if (filter->terminal_state_touched)
		n = append(out, n, terminal_reset, sizeof(terminal_reset) - 1);
	/* After a reset too, so that the line still starts right after a line feed. */
	if (filter->mid_line || filter->terminal_state_touched)
		out[n++] = CHAR_LINE_FEED;
	*filter = (struct raw_console_filter){ 0 };
	return n;
}
