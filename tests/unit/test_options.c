/* Unit tests for boot/options.c (hypervisor command-line options). */
#include "tests/unit/host_support.h"
#include "boot/options.c"

#include <string.h>

#define MAX_REPORTS 8
#define REPORT_SIZE 200

struct reports {
	int count;
	char messages[MAX_REPORTS][REPORT_SIZE];
};

static void collect(void *ctx, const char *msg)
{
	struct reports *r = ctx;
	assert_true(strlen(msg) < MESSAGE_SIZE);
	if (r->count < MAX_REPORTS)
		snprintf(r->messages[r->count], REPORT_SIZE, "%s", msg);
	r->count++;
}

/* Parses cmdline over defaults; returns options_parse's result. */
static int parse(const char *cmdline, struct hv_options *o, struct reports *r)
{
	memset(r, 0, sizeof(*r));
	options_defaults(o);
	int reported = options_parse(cmdline, o, collect, r);
	assert_int_equal(reported, r->count);
	return reported;
}

static void assert_defaults(const struct hv_options *o)
{
	assert_int_equal(o->console_port, 0x3f8);
	assert_int_equal(o->baud, 115200);
	assert_int_equal(o->loglevel, LOG_INFO);
	assert_int_equal(o->paging, PAGING_AUTO);
	assert_int_equal(o->crash, CRASH_NONE);
	assert_false(o->noreboot);
}

static void test_defaults(void **state)
{
	(void)state;
	struct hv_options o;
	memset(&o, 0xa5, sizeof(o));
	options_defaults(&o);
	assert_defaults(&o);
}

static void test_empty_and_blank_cmdlines(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("", &o, &r), 0);
	assert_defaults(&o);
	assert_int_equal(parse("   \t  \t", &o, &r), 0);
	assert_defaults(&o);
	assert_int_equal(parse(NULL, &o, &r), 0);
	assert_defaults(&o);
}

static void test_console_names(void **state)
{
	(void)state;
	static const struct {
		const char *cmdline;
		u16 port;
	} cases[] = {
		{ "console=com1", 0x3f8 },
		{ "console=com2", 0x2f8 },
		{ "console=com3", 0x3e8 },
		{ "console=com4", 0x2e8 },
		{ "console=none", 0 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(cases[i].cmdline, &o, &r), 0);
		assert_int_equal(o.console_port, cases[i].port);
	}
}

static void test_console_hex_ports(void **state)
{
	(void)state;
	static const struct {
		const char *cmdline;
		u16 port;
	} cases[] = {
		{ "console=0x3f8", 0x3f8 },
		{ "console=0x2F8", 0x2f8 },
		{ "console=0X1", 0x1 },
		{ "console=0xffff", 0xffff },
		{ "console=0x00e9", 0xe9 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(cases[i].cmdline, &o, &r), 0);
		assert_int_equal(o.console_port, cases[i].port);
	}
}

static void test_console_bad_values(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"console=com9", "console=0x0", "console=0x10000", "console=0x",
		"console=0xfffffffff", "console=0x3g8", "console=1016", "console=",
		"console=COM1", "console",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(bad[i], &o, &r), 1);
		assert_int_equal(o.console_port, 0x3f8);
		assert_non_null(strstr(r.messages[0], "console="));
		assert_non_null(strstr(r.messages[0], "keeping com1"));
	}
}

static void test_console_bad_value_message(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("console=com9", &o, &r), 1);
	assert_string_equal(r.messages[0], "bad value 'com9' for console= "
			    "(use com1..com4, 0xPORT or none); keeping com1");
}

static void test_bad_value_keeps_earlier_setting(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("console=0x2e9 console=com7", &o, &r), 1);
	assert_int_equal(o.console_port, 0x2e9);
	assert_non_null(strstr(r.messages[0], "keeping 0x2e9"));
}

static void test_baud_rates(void **state)
{
	(void)state;
	static const u32 rates[] = {
		300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200,
	};
	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		char cmdline[32];
		struct hv_options o;
		struct reports r;
		snprintf(cmdline, sizeof(cmdline), "baud=%u", rates[i]);
		assert_int_equal(parse(cmdline, &o, &r), 0);
		assert_int_equal(o.baud, rates[i]);
	}
}

static void test_baud_bad_values(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"baud=0", "baud=100", "baud=9601", "baud=230400", "baud=-9600",
		"baud=9600x", "baud=", "baud=99999999999999999999", "baud",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(bad[i], &o, &r), 1);
		assert_int_equal(o.baud, 115200);
		assert_non_null(strstr(r.messages[0], "baud="));
		assert_non_null(strstr(r.messages[0], "keeping 115200"));
	}
}

static void test_loglevels(void **state)
{
	(void)state;
	static const struct {
		const char *cmdline;
		int level;
	} cases[] = {
		{ "loglevel=error", LOG_ERROR }, { "loglevel=warn", LOG_WARN },
		{ "loglevel=info", LOG_INFO },   { "loglevel=debug", LOG_DEBUG },
		{ "loglevel=0", LOG_ERROR },     { "loglevel=1", LOG_WARN },
		{ "loglevel=2", LOG_INFO },      { "loglevel=3", LOG_DEBUG },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(cases[i].cmdline, &o, &r), 0);
		assert_int_equal(o.loglevel, cases[i].level);
	}
}

static void test_loglevel_bad_values(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"loglevel=4", "loglevel=9", "loglevel=-1", "loglevel=03",
		"loglevel=verbose", "loglevel=",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(bad[i], &o, &r), 1);
		assert_int_equal(o.loglevel, LOG_INFO);
		assert_non_null(strstr(r.messages[0], "loglevel="));
		assert_non_null(strstr(r.messages[0], "keeping info"));
	}
}

static void test_paging_modes(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("paging=shadow", &o, &r), 0);
	assert_int_equal(o.paging, PAGING_SHADOW);
	assert_int_equal(parse("paging=hap", &o, &r), 0);
	assert_int_equal(o.paging, PAGING_HAP);
	assert_int_equal(parse("paging=hap paging=auto", &o, &r), 0);
	assert_int_equal(o.paging, PAGING_AUTO);

	assert_int_equal(parse("paging=ept", &o, &r), 1);
	assert_int_equal(o.paging, PAGING_AUTO);
	assert_non_null(strstr(r.messages[0], "'ept'"));
	assert_non_null(strstr(r.messages[0], "paging="));
	assert_non_null(strstr(r.messages[0], "keeping auto"));
}

static void test_crash_tests(void **state)
{
	(void)state;
	static const struct {
		const char *cmdline;
		enum crash_test crash;
	} cases[] = {
		{ "crash=ud", CRASH_UD }, { "crash=pf", CRASH_PF },
		{ "crash=gp", CRASH_GP }, { "crash=de", CRASH_DE },
		{ "crash=df", CRASH_DF }, { "crash=panic", CRASH_PANIC },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(cases[i].cmdline, &o, &r), 0);
		assert_int_equal(o.crash, cases[i].crash);
	}

	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("crash=nmi", &o, &r), 1);
	assert_int_equal(o.crash, CRASH_NONE);
	assert_non_null(strstr(r.messages[0], "crash="));
}

static void test_crash_cpu(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("", &o, &r), 0);
	assert_int_equal(o.crash_cpu, 0);
	assert_int_equal(parse("crash=panic crashcpu=3", &o, &r), 0);
	assert_int_equal(o.crash, CRASH_PANIC);
	assert_int_equal(o.crash_cpu, 3);
	assert_int_equal(parse("crashcpu=63", &o, &r), 0);
	assert_int_equal(o.crash_cpu, 63);
	/* Beyond MAX_CPUS, signs and junk are reported and leave the default. */
	static const char *const bad[] = { "crashcpu=64", "crashcpu=-1", "crashcpu=1x", "crashcpu=" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(parse(bad[i], &o, &r), 1);
		assert_int_equal(o.crash_cpu, 0);
		assert_non_null(strstr(r.messages[0], "crashcpu"));
	}
}

static void test_finish(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	options_defaults(&o);
	assert_int_equal(o.finish, FINISH_HALT);
	assert_int_equal(parse("finish=qemu", &o, &r), 0);
	assert_int_equal(o.finish, FINISH_QEMU_EXIT);
	assert_int_equal(parse("finish=halt", &o, &r), 0);
	assert_int_equal(o.finish, FINISH_HALT);
	assert_int_equal(parse("finish=reboot", &o, &r), 1);
	assert_non_null(strstr(r.messages[0], "finish="));
	assert_int_equal(o.finish, FINISH_HALT);
}

static void test_noreboot(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("noreboot", &o, &r), 0);
	assert_true(o.noreboot);
	assert_int_equal(parse("noreboot=1", &o, &r), 0);
	assert_true(o.noreboot);
	assert_int_equal(parse("noreboot noreboot=0", &o, &r), 0);
	assert_false(o.noreboot);

	assert_int_equal(parse("noreboot=yes", &o, &r), 1);
	assert_false(o.noreboot);
	assert_non_null(strstr(r.messages[0], "noreboot"));
	assert_int_equal(parse("noreboot=", &o, &r), 1);
	assert_false(o.noreboot);
}

static void test_unknown_words(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("foo=bar quiet console=com2", &o, &r), 2);
	assert_int_equal(o.console_port, 0x2f8);
	assert_string_equal(r.messages[0], "unknown option 'foo=bar' ignored; known "
			    "options: console= baud= loglevel= paging= crash= crashcpu= noreboot finish=");
	assert_non_null(strstr(r.messages[1], "'quiet'"));
}

static void test_long_unknown_word_keeps_advice(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	char cmdline[400];
	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[sizeof(cmdline) - 1] = 0;
	assert_int_equal(parse(cmdline, &o, &r), 1);
	assert_non_null(strstr(r.messages[0], "...' ignored"));
	assert_non_null(strstr(r.messages[0], "noreboot"));
}

static void test_kernel_path_skipped(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"/boot/presidio.elf console=com2",
		"boot/presidio console=com2",
		"presidio.elf console=com2",
		"/presidio console=com2",
	};
	for (size_t i = 0; i < ARRAY_SIZE(lines); i++) {
		struct hv_options o;
		struct reports r;
		assert_int_equal(parse(lines[i], &o, &r), 0);
		assert_int_equal(o.console_port, 0x2f8);
	}
}

static void test_path_only_skipped_when_first(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("console=com2 /boot/presidio.elf", &o, &r), 1);
	assert_non_null(strstr(r.messages[0], "/boot/presidio.elf"));
	/* A first word without a path shape is an option, not the image. */
	assert_int_equal(parse("presidio console=com2", &o, &r), 1);
	assert_non_null(strstr(r.messages[0], "'presidio'"));
	assert_int_equal(parse("noreboot console=com2", &o, &r), 0);
	assert_true(o.noreboot);
}

static void test_many_blanks(void **state)
{
	(void)state;
	struct hv_options o;
	struct reports r;
	assert_int_equal(parse("\t  /boot/presidio.elf \t\t console=com3  \t"
			       "baud=9600\t\tloglevel=debug   paging=shadow "
			       "crash=gp\tnoreboot  \t ", &o, &r), 0);
	assert_int_equal(o.console_port, 0x3e8);
	assert_int_equal(o.baud, 9600);
	assert_int_equal(o.loglevel, LOG_DEBUG);
	assert_int_equal(o.paging, PAGING_SHADOW);
	assert_int_equal(o.crash, CRASH_GP);
	assert_true(o.noreboot);
}

static void test_null_report_still_counts(void **state)
{
	(void)state;
	struct hv_options o;
	options_defaults(&o);
	assert_int_equal(options_parse("a=b c baud=7", &o, NULL, NULL), 3);
	assert_int_equal(o.baud, 115200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_blank_cmdlines),
		cmocka_unit_test(test_console_names),
		cmocka_unit_test(test_console_hex_ports),
		cmocka_unit_test(test_console_bad_values),
		cmocka_unit_test(test_console_bad_value_message),
		cmocka_unit_test(test_bad_value_keeps_earlier_setting),
		cmocka_unit_test(test_baud_rates),
		cmocka_unit_test(test_baud_bad_values),
		cmocka_unit_test(test_loglevels),
		cmocka_unit_test(test_loglevel_bad_values),
		cmocka_unit_test(test_paging_modes),
		cmocka_unit_test(test_crash_tests),
		cmocka_unit_test(test_crash_cpu),
		cmocka_unit_test(test_noreboot),
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_unknown_words),
		cmocka_unit_test(test_long_unknown_word_keeps_advice),
		cmocka_unit_test(test_kernel_path_skipped),
		cmocka_unit_test(test_path_only_skipped_when_first),
		cmocka_unit_test(test_many_blanks),
		cmocka_unit_test(test_null_report_still_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
