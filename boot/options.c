/*
 * Hypervisor command-line options. The command line arrives from the boot
 * loader and is parsed in place: words are (pointer, length) slices, never
 * copied or NUL-terminated.
 */
#include "boot/options.h"
#include "lib/print.h"

#define COM1_PORT 0x3f8
#define COM2_PORT 0x2f8
#define COM3_PORT 0x3e8
#define COM4_PORT 0x2e8
#define NO_CONSOLE_PORT 0
#define MAX_IO_PORT 0xffff
#define DEFAULT_BAUD 115200

#define MESSAGE_SIZE 160
/* Longest word quoted in a message, so the advice after it still fits. */
#define MAX_QUOTED_LENGTH 40
#define ELLIPSIS "..."

struct word {
	const char *text;
	size_t length;
};

struct named_value {
	const char *name;
	int value;
};

static const struct named_value console_names[] = {
	{ "com1", COM1_PORT },
	{ "com2", COM2_PORT },
	{ "com3", COM3_PORT },
	{ "com4", COM4_PORT },
	{ "none", NO_CONSOLE_PORT },
};

static const u32 standard_bauds[] = {
	300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
};

/* Indexed by enum log_level; the digit form is the index itself. */
static const struct named_value loglevel_names[] = {
	{ "error", LOG_ERROR },
	{ "warn", LOG_WARN },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

static const struct named_value paging_names[] = {
	{ "auto", PAGING_AUTO },
	{ "shadow", PAGING_SHADOW },
	{ "hap", PAGING_HAP },
};

static const struct named_value crash_names[] = {
	{ "none", CRASH_NONE },
	{ "ud", CRASH_UD },
	{ "pf", CRASH_PF },
	{ "gp", CRASH_GP },
	{ "de", CRASH_DE },
	{ "df", CRASH_DF },
	{ "panic", CRASH_PANIC },
};

static const struct named_value finish_names[] = {
	{ "halt", FINISH_HALT },
	{ "qemu", FINISH_QEMU_EXIT },
};

static const struct named_value boolean_names[] = {
	{ "0", false },
	{ "1", true },
};

void options_defaults(struct hv_options *o)
{
	*o = (struct hv_options){
		.console_port = COM1_PORT,
		.baud = DEFAULT_BAUD,
		.loglevel = LOG_INFO,
		.paging = PAGING_AUTO,
		.crash = CRASH_NONE,
		.crash_cpu = 0,
		.noreboot = false,
		.finish = FINISH_HALT,
	};
}

/* ---- words ---- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t string_length(const char *s)
{
	size_t length = 0;
	while (s[length])
		length++;
	return length;
}

static bool word_equals(struct word w, const char *s)
{
	size_t length = string_length(s);
	if (w.length != length)
		return false;
	for (size_t i = 0; i < length; i++) {
		if (w.text[i] != s[i])
			return false;
	}
	return true;
}

static bool word_contains(struct word w, char c)
{
	for (size_t i = 0; i < w.length; i++) {
		if (w.text[i] == c)
			return true;
	}
	return false;
}

static bool word_ends_with(struct word w, const char *suffix)
{
	size_t length = string_length(suffix);
	if (w.length < length)
		return false;
	struct word tail = { w.text + w.length - length, length };
	return word_equals(tail, suffix);
}

/* Finds the next word at or after *cursor; false at the end of the line. */
static bool next_word(const char **cursor, struct word *w)
{
	const char *s = *cursor;
	while (is_blank(*s))
		s++;
	if (!*s)
		return false;
	const char *start = s;
	while (*s && !is_blank(*s))
		s++;
	*w = (struct word){ start, (size_t)(s - start) };
	*cursor = s;
	return true;
}

/* Splits "key=value"; a word without '=' is all key, with has_value false. */
static void split_word(struct word w, struct word *key, struct word *value,
		       bool *has_value)
{
	size_t i = 0;
	while (i < w.length && w.text[i] != '=')
		i++;
	*key = (struct word){ w.text, i };
	*has_value = i < w.length;
	*value = *has_value ? (struct word){ w.text + i + 1, w.length - i - 1 }
			    : (struct word){ w.text + w.length, 0 };
}

/* ---- values ---- */

static bool lookup_name(struct word w, const struct named_value *names, size_t count,
			int *value)
{
	for (size_t i = 0; i < count; i++) {
		if (word_equals(w, names[i].name)) {
			*value = names[i].value;
			return true;
		}
	}
	return false;
}

static const char *name_of(int value, const struct named_value *names, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (names[i].value == value)
			return names[i].name;
	}
	return "?";
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Digits only, no sign; fails rather than wrap when above 'limit'. */
static bool parse_unsigned(struct word w, unsigned radix, u32 limit, u32 *value)
{
	u32 result = 0;
	if (w.length == 0)
		return false;
	for (size_t i = 0; i < w.length; i++) {
		int digit = hex_digit(w.text[i]);
		if (digit < 0 || (unsigned)digit >= radix)
			return false;
		if ((u32)digit > limit || result > (limit - (u32)digit) / radix)
			return false;
		result = result * radix + (u32)digit;
	}
	*value = result;
	return true;
}

static bool parse_hex_port(struct word w, u16 *port)
{
	u32 value;
	if (w.length < 2 || w.text[0] != '0' || (w.text[1] != 'x' && w.text[1] != 'X'))
		return false;
	struct word digits = { w.text + 2, w.length - 2 };
	if (!parse_unsigned(digits, 16, MAX_IO_PORT, &value) || value == 0)
		return false;
	*port = (u16)value;
	return true;
}

/* ---- options ---- */

static bool apply_console(struct hv_options *o, struct word value)
{
	int port;
	if (lookup_name(value, console_names, ARRAY_SIZE(console_names), &port)) {
		o->console_port = (u16)port;
		return true;
	}
	return parse_hex_port(value, &o->console_port);
}

static void describe_console(const struct hv_options *o, char *buf, size_t size)
{
	for (size_t i = 0; i < ARRAY_SIZE(console_names); i++) {
		if (console_names[i].value == o->console_port) {
			ksnprintf(buf, size, "%s", console_names[i].name);
			return;
		}
	}
	ksnprintf(buf, size, "0x%x", o->console_port);
}

static bool apply_baud(struct hv_options *o, struct word value)
{
	u32 baud;
	if (!parse_unsigned(value, 10, DEFAULT_BAUD, &baud))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(standard_bauds); i++) {
		if (standard_bauds[i] == baud) {
			o->baud = baud;
			return true;
		}
	}
	return false;
}

static void describe_baud(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "%u", o->baud);
}

static bool apply_loglevel(struct hv_options *o, struct word value)
{
	u32 digit;
	if (lookup_name(value, loglevel_names, ARRAY_SIZE(loglevel_names), &o->loglevel))
		return true;
	if (value.length != 1 || !parse_unsigned(value, 10, LOG_DEBUG, &digit))
		return false;
	o->loglevel = (int)digit;
	return true;
}

static void describe_loglevel(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "%s",
		  name_of(o->loglevel, loglevel_names, ARRAY_SIZE(loglevel_names)));
}

static bool apply_paging(struct hv_options *o, struct word value)
{
	int mode;
	if (!lookup_name(value, paging_names, ARRAY_SIZE(paging_names), &mode))
		return false;
	o->paging = (enum paging_mode)mode;
	return true;
}

static void describe_paging(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "%s", name_of(o->paging, paging_names, ARRAY_SIZE(paging_names)));
}

static bool apply_crash(struct hv_options *o, struct word value)
{
	int crash;
	if (!lookup_name(value, crash_names, ARRAY_SIZE(crash_names), &crash))
		return false;
	o->crash = (enum crash_test)crash;
	return true;
}

static void describe_crash(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "%s", name_of(o->crash, crash_names, ARRAY_SIZE(crash_names)));
}

static bool apply_crash_cpu(struct hv_options *o, struct word value)
{
	return parse_unsigned(value, 10, CRASH_CPU_MAX, &o->crash_cpu);
}

static void describe_crash_cpu(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "crashcpu=%u", o->crash_cpu);
}

static bool apply_noreboot(struct hv_options *o, struct word value)
{
	int enabled;
	if (!lookup_name(value, boolean_names, ARRAY_SIZE(boolean_names), &enabled))
		return false;
	o->noreboot = enabled;
	return true;
}

static void describe_noreboot(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "noreboot=%d", o->noreboot);
}

static bool apply_finish(struct hv_options *o, struct word value)
{
	int finish;
	if (!lookup_name(value, finish_names, ARRAY_SIZE(finish_names), &finish))
		return false;
	o->finish = (enum finish_action)finish;
	return true;
}

static void describe_finish(const struct hv_options *o, char *buf, size_t size)
{
	ksnprintf(buf, size, "%s", name_of(o->finish, finish_names, ARRAY_SIZE(finish_names)));
}

struct option {
	const char *key;
	const char *usage;
	bool bare_word;  /* "key" alone means key=<bare_value> */
	const char *bare_value;
	bool (*apply)(struct hv_options *o, struct word value);
	void (*describe)(const struct hv_options *o, char *buf, size_t size);
};

static const struct option options[] = {
	{ "console", "use com1..com4, 0xPORT or none", false, NULL,
	  apply_console, describe_console },
	{ "baud", "use 300, 1200, 2400, 4800, 9600, 19200, 38400, 57600 or 115200",
	  false, NULL, apply_baud, describe_baud },
	{ "loglevel", "use error, warn, info, debug or 0..3", false, NULL,
	  apply_loglevel, describe_loglevel },
	{ "paging", "use auto, shadow or hap", false, NULL,
	  apply_paging, describe_paging },
	{ "crash", "use ud, pf, gp, de, df, panic or none", false, NULL,
	  apply_crash, describe_crash },
	{ "crashcpu", "use a CPU number, 0 to 63", false, NULL,
	  apply_crash_cpu, describe_crash_cpu },
	{ "noreboot", "use noreboot, noreboot=1 or noreboot=0", true, "1",
	  apply_noreboot, describe_noreboot },
	{ "finish", "use halt or qemu", false, NULL, apply_finish, describe_finish },
};

static const struct option *find_option(struct word key)
{
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		if (word_equals(key, options[i].key))
			return &options[i];
	}
	return NULL;
}

static bool is_bare_option(struct word w)
{
	const struct option *option = find_option(w);
	return option && option->bare_word;
}

/* GRUB's 'multiboot' puts the kernel image path first: "/boot/presidio.elf ...". */
static bool is_kernel_path(struct word w)
{
	if (w.text[0] == '/')
		return true;
	if (word_contains(w, '=') || is_bare_option(w))
		return false;
	return word_contains(w, '/') || word_ends_with(w, ".elf");
}

/* ---- reporting ---- */

struct reporter {
	void (*report)(void *ctx, const char *msg);
	void *ctx;
	int count;
};

static void report_message(struct reporter *r, const char *message)
{
	r->count++;
	if (r->report)
		r->report(r->ctx, message);
}

static int quoted_length(struct word w)
{
	return (int)MIN(w.length, (size_t)MAX_QUOTED_LENGTH);
}

static const char *quoted_suffix(struct word w)
{
	return w.length > MAX_QUOTED_LENGTH ? ELLIPSIS : "";
}

static void report_unknown(struct reporter *r, struct word w)
{
	char message[MESSAGE_SIZE];
	int length = ksnprintf(message, sizeof(message),
			       "unknown option '%.*s%s' ignored; known options:",
			       quoted_length(w), w.text, quoted_suffix(w));
	for (size_t i = 0; i < ARRAY_SIZE(options); i++) {
		size_t used = MIN((size_t)length, sizeof(message) - 1);
		length = (int)used + ksnprintf(message + used, sizeof(message) - used,
					       " %s%s", options[i].key,
					       options[i].bare_word ? "" : "=");
	}
	report_message(r, message);
}

static void report_bad_value(struct reporter *r, const struct option *option,
			     struct word value, const struct hv_options *o)
{
	char message[MESSAGE_SIZE];
	char current[MESSAGE_SIZE / 4];
	option->describe(o, current, sizeof(current));
	ksnprintf(message, sizeof(message), "bad value '%.*s%s' for %s= (%s); keeping %s",
		  quoted_length(value), value.text, quoted_suffix(value), option->key,
		  option->usage, current);
	report_message(r, message);
}

static void parse_option_word(struct reporter *r, struct word w, struct hv_options *o)
{
	struct word key, value;
	bool has_value;
	split_word(w, &key, &value, &has_value);
	const struct option *option = find_option(key);
	if (!option) {
		report_unknown(r, w);
		return;
	}
	if (!has_value && option->bare_word)
		value = (struct word){ option->bare_value, string_length(option->bare_value) };
	if (!option->apply(o, value))
		report_bad_value(r, option, value, o);
}

int options_parse(const char *cmdline, struct hv_options *o,
		  void (*report)(void *ctx, const char *msg), void *ctx)
{
	struct reporter reporter = { report, ctx, 0 };
	const char *cursor = cmdline ? cmdline : "";
	struct word w;
	bool first = true;
	while (next_word(&cursor, &w)) {
		bool skip = first && is_kernel_path(w);
		first = false;
		if (!skip)
			parse_option_word(&reporter, w, o);
	}
	return reporter.count;
}
