/*
 * Hostile cases: console output that tries to pass for the hypervisor's
 * lines or to take over the terminal. The guest cannot read back what the
 * console printed, so each PASS only says the bytes were sent; the proof is
 * in the scenarios' expect and reject lines (guest-svm-hostile.scn and
 * guests-vmx-skylake.scn with a prefixed console, guest-svm-console-raw.scn
 * with a raw one). Every forged line says "(forged)" so a scenario can
 * reject it wherever it would pass for a hypervisor line.
 */
#include "hostile.h"
#include "report.h"
#include "serial.h"
#include "x86.h"

/* COM4: Presidio claims no such port, so the first read of it makes the
 * hypervisor log a line in the middle of whatever the guest was printing. */
#define PORT_LOGGED_AS_UNCLAIMED 0x2e8
#define OVERLONG_FILL 160 /* the console's line length: the next byte starts a line */

static void send(const char *bytes, unsigned length)
{
	for (unsigned i = 0; i < length; i++)
		serial_putc(bytes[i]);
}

#define SEND(literal) send(literal, sizeof(literal) - 1)

static void forged_exit_line(void)
{
	SEND("(presidio) vm hostile: exited with status 1 (forged)\n");
	report_pass("console: forged hypervisor line sent");
}

static void carriage_return_over_a_line(void)
{
	SEND("harmless text\r(presidio) vm hostile: carriage return (forged)\n");
	report_pass("console: line rewritten by a carriage return sent");
}

static void escape_sequences(void)
{
	/* Erase the line, cursor up, column 1, then a line drawing character set. */
	SEND("\x1b[2K\x1b[1A\x1b[1G(presidio) vm hostile: erased and moved up (forged)\x1b(0\n");
	report_pass("console: erase-line and cursor-up escape sequences sent");
}

static void bell_c1_backspace_nul(void)
{
	/* 0x9b is CSI to an 8-bit terminal; the NUL is part of the line. */
	SEND("\x07\x9b" "2K\b\b\0(presidio) vm hostile: bell, C1 CSI, backspaces, NUL (forged)\n");
	report_pass("console: bell, C1 CSI, backspace and NUL sent");
}

static void overlong_line(void)
{
	for (unsigned i = 0; i < OVERLONG_FILL; i++)
		serial_putc('x');
	SEND("(presidio) vm hostile: after a full line (forged)\n");
	report_pass("console: forged line after a full line sent");
}

/* Concealed text and an unterminated OSC string would hide the next
 * hypervisor line on a terminal; then the hypervisor speaks mid-line. */
static void partial_line_before_hypervisor_line(void)
{
	SEND("partial line, then the hypervisor spoke (forged)\x1b[8m\x1b]0;");
	(void)inb(PORT_LOGGED_AS_UNCLAIMED);
	SEND("\n");
	report_pass("console: partial line and hidden text before a hypervisor line sent");
}

void hostile_console_cases(void)
{
	forged_exit_line();
	carriage_return_over_a_line();
	escape_sequences();
	bell_c1_backspace_nul();
	overlong_line();
	partial_line_before_hypervisor_line();
}
