/*
 * What a guest's console output may do to the shared serial line. Pure
 * functions of the bytes (no hardware), so host unit tests drive them.
 *
 * Prefixed guests (console=prefixed) get lines of printable ASCII and tab
 * only: escape sequences are dropped whole, every other control byte (C0,
 * DEL, C1, anything above 0x7f) shows as '?', carriage returns are dropped
 * and only a line feed (or a full line) ends a line, which the console then
 * prints as "[vm] text". Such a guest cannot start a physical line of its
 * own, move the cursor or change how the terminal draws.
 *
 * A raw guest (console=raw) owns the terminal, so its bytes pass unchanged
 * but for two rules that keep hypervisor lines recognisable:
 *  - before a hypervisor line, any line the guest left unfinished is ended,
 *    and if the guest sent anything that can change terminal state since
 *    the last hypervisor line, an unfinished escape sequence is cancelled,
 *    attributes and character set are reset and a line feed follows (so
 *    in the byte stream, too, the hypervisor line starts after a line feed);
 *  - the text CONSOLE_PREFIX in the guest's output gets "[vm] " in front of
 *    it (the bytes of a possible match are held back until it is decided).
 * What a raw guest can still do with escape sequences (draw the prefix in
 * pieces, move the cursor, erase a hypervisor line after it was printed)
 * is why untrusted guests belong on console=prefixed.
 */
#pragma once
#include "lib/types.h"

#define CONSOLE_PREFIX "(presidio) "
#define CONSOLE_LINE_LENGTH 160
/* Enough for any one step of the raw filter: marker, held prefix, reset. */
#define CONSOLE_FILTER_OUTPUT_MAX 64

enum escape_state {
	ESCAPE_NONE,
	ESCAPE_STARTED,          /* after ESC */
	ESCAPE_INTERMEDIATE,     /* ESC then intermediate bytes, e.g. "ESC ( B" */
	ESCAPE_CONTROL_SEQUENCE, /* CSI: ESC [ parameters intermediates final */
};

/* A prefixed guest's line being assembled. */
struct console_line {
	char text[CONSOLE_LINE_LENGTH];
	unsigned length;
	enum escape_state escape;
};

/* Adds one byte the guest sent; true when the line is complete (line feed,
 * or full) and should be printed, then cleared with console_line_clear(). */
bool console_line_add(struct console_line *line, u8 byte);
void console_line_clear(struct console_line *line);

/* The raw console's state between guest bytes and hypervisor lines. */
struct raw_console_filter {
	unsigned prefix_held;         /* leading bytes of CONSOLE_PREFIX held back */
	bool mid_line;                /* the guest's last byte was not a line feed */
	bool terminal_state_touched;  /* ESC, C0/C1 controls or non-ASCII since the last hypervisor line */
};

/* One byte from raw guest 'owner' (its VM name); returns how many bytes to
 * send, written to 'out'. */
size_t raw_console_guest_byte(struct raw_console_filter *filter, const char *owner, u8 byte,
			      char out[CONSOLE_FILTER_OUTPUT_MAX]);
/* What to send before a hypervisor line so that it starts at column 0 of a
 * fresh line with default attributes. */
size_t raw_console_before_hypervisor(struct raw_console_filter *filter,
				     char out[CONSOLE_FILTER_OUTPUT_MAX]);
