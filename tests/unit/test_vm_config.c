/*
 * Unit tests for vmm/vm_config.c: VM descriptions on GRUB module command
 * lines. The grammar (vmm/vm_config.h, README "Describing VMs"):
 *     [path] vm=NAME [role=kernel|initrd] [mem=SIZE] [vcpus=N] [debugexit=0|1]
 *     [testdev=0|1] [format=auto|multiboot|flat] [load=ADDR] [entry=ADDR]
 *     [mode=real|protected] [-- guest command line]
 * Expected values come from that grammar, never from the parser's output.
 */
#include "tests/unit/host_support.h"
#include "lib/string.h"

#include "vmm/vm_config.c"

#include <string.h>

#define ERR_SIZE 256

static const u8 kernel_image[64] = { 0x7f, 'E', 'L', 'F' };
static const u8 initrd_image[32] = { 'i', 'n', 'i', 't' };
static const u8 other_image[16] = { 1, 2, 3 };

/* A heap-allocated set, so ASan sees any write past its end. */
static int setup_set(void **state)
{
	struct vm_config_set *set = malloc(sizeof(*set));
	assert_non_null(set);
	memset(set, 0xa5, sizeof(*set));
	vm_config_set_init(set);
	*state = set;
	return 0;
}

static int teardown_set(void **state)
{
	free(*state);
	return 0;
}

/* Adds a kernel-sized module and asserts success. */
static void add_ok(struct vm_config_set *set, const char *cmdline, const u8 *data, u64 size)
{
	char err[ERR_SIZE] = "";
	int r = vm_config_add_module(set, cmdline, data, size, err, sizeof(err));
	if (r != 0)
		print_error("unexpected error for \"%s\": %s\n", cmdline, err);
	assert_int_equal(r, 0);
	assert_true(set->count >= 1 && set->count <= VM_CONFIG_MAX_VMS);
}

static struct vm_config *find_vm(struct vm_config_set *set, const char *name)
{
	for (unsigned i = 0; i < set->count; i++)
		if (!strcmp(set->vm[i].name, name))
			return &set->vm[i];
	return NULL;
}

/* One VM from one kernel module line; returns it. */
static struct vm_config *one_vm(struct vm_config_set *set, const char *cmdline)
{
	vm_config_set_init(set);
	add_ok(set, cmdline, kernel_image, sizeof(kernel_image));
	assert_int_equal(set->count, 1);
	return &set->vm[0];
}

/* An error is one sentence: not empty, one line, no second sentence. */
static void assert_one_sentence(const char *err)
{
	assert_true(strlen(err) > 10);
	assert_true(strlen(err) < ERR_SIZE);
	assert_null(strchr(err, '\n'));
	assert_null(strstr(err, ". "));
}

/* Asserts the module is rejected with one sentence that mentions 'needle'. */
static void expect_error(struct vm_config_set *set, const char *cmdline, const char *needle)
{
	char err[ERR_SIZE];
	memset(err, 0, sizeof(err));
	int r = vm_config_add_module(set, cmdline, kernel_image, sizeof(kernel_image), err,
				     sizeof(err));
	if (r != -1)
		print_error("\"%s\" was accepted\n", cmdline);
	assert_int_equal(r, -1);
	assert_one_sentence(err);
	if (needle && !strstr(err, needle))
		print_error("error for \"%s\" does not mention '%s': %s\n", cmdline, needle, err);
	if (needle)
		assert_non_null(strstr(err, needle));
}

/* A fresh set, then expect_error. */
static void expect_error_fresh(struct vm_config_set *set, const char *cmdline, const char *needle)
{
	vm_config_set_init(set);
	expect_error(set, cmdline, needle);
}

/* ---- Defaults and single keys ---- */

static void test_defaults(void **state)
{
	struct vm_config_set *set = *state;
	struct vm_config *vm = one_vm(set, "vm=linux");
	assert_string_equal(vm->name, "linux");
	assert_int_equal(vm->memory, VM_DEFAULT_MEMORY);
	assert_int_equal(vm->memory, 16 * 1024 * 1024);
	assert_int_equal(vm->vcpus, 1);
	assert_true(vm->real_mode);
	assert_int_equal(vm->format, GUEST_FORMAT_AUTO);
	assert_false(vm->debug_exit);
	assert_false(vm->test_device);
	assert_false(vm->entry_set);
	assert_int_equal(vm->load_address, 0);
	assert_ptr_equal(vm->kernel, kernel_image);
	assert_int_equal(vm->kernel_size, sizeof(kernel_image));
	assert_null(vm->initrd);
	assert_int_equal(vm->initrd_size, 0);
	assert_string_equal(vm->cmdline, "");
}

static void test_init_empties_set(void **state)
{
	struct vm_config_set *set = *state;
	add_ok(set, "vm=a", kernel_image, 1);
	add_ok(set, "vm=b", kernel_image, 1);
	assert_int_equal(set->count, 2);
	vm_config_set_init(set);
	assert_int_equal(set->count, 0);
	/* the same names can be used again afresh */
	add_ok(set, "vm=a", kernel_image, 1);
	assert_int_equal(set->count, 1);
}

static void test_every_key(void **state)
{
	struct vm_config_set *set = *state;
	struct vm_config *vm = one_vm(set, "vm=full role=kernel mem=256M vcpus=4 debugexit=1 "
					   "testdev=1 format=flat load=0x100000 entry=0x100040 "
					   "mode=protected -- console=ttyS0 quiet");
	assert_string_equal(vm->name, "full");
	assert_int_equal(vm->memory, 256ULL << 20);
	assert_int_equal(vm->vcpus, 4);
	assert_true(vm->debug_exit);
	assert_true(vm->test_device);
	assert_int_equal(vm->format, GUEST_FORMAT_FLAT);
	assert_int_equal(vm->load_address, 0x100000);
	assert_int_equal(vm->entry_address, 0x100040);
	assert_true(vm->entry_set);
	assert_false(vm->real_mode);
	assert_ptr_equal(vm->kernel, kernel_image);
	assert_string_equal(vm->cmdline, "console=ttyS0 quiet");
}

static void test_mem_sizes(void **state)
{
	struct vm_config_set *set = *state;
	static const struct { const char *word; u64 bytes; } cases[] = {
		{ "mem=2M", 2ULL << 20 },            /* the minimum */
		{ "mem=2048K", 2ULL << 20 },
		{ "mem=4096K", 4ULL << 20 },
		{ "mem=16M", 16ULL << 20 },
		{ "mem=1G", 1ULL << 30 },
		{ "mem=3G", 3ULL << 30 },
		{ "mem=64G", 64ULL << 30 },          /* the maximum */
		{ "mem=65536M", 64ULL << 30 },
		{ "mem=2097152", 2ULL << 20 },       /* plain bytes */
		{ "mem=134217728", 128ULL << 20 },
		{ "mem=0x1000000", 16ULL << 20 },    /* hex */
		{ "mem=0x40000000", 1ULL << 30 },
		{ "mem=0X200000", 2ULL << 20 },
		{ "mem=0x1000000000", 64ULL << 30 },
		{ "mem=0x20M", 32ULL << 20 },        /* hex with a suffix */
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char line[64];
		snprintf(line, sizeof(line), "vm=m %s", cases[i].word);
		struct vm_config *vm = one_vm(set, line);
		if (vm->memory != cases[i].bytes)
			print_error("%s gave %llu\n", cases[i].word, (unsigned long long)vm->memory);
		assert_int_equal(vm->memory, cases[i].bytes);
	}
}

static void test_vcpus(void **state)
{
	struct vm_config_set *set = *state;
	assert_int_equal(one_vm(set, "vm=v vcpus=1")->vcpus, 1);
	assert_int_equal(one_vm(set, "vm=v vcpus=2")->vcpus, 2);
	assert_int_equal(one_vm(set, "vm=v vcpus=8")->vcpus, 8);
	assert_int_equal(one_vm(set, "vm=v vcpus=64")->vcpus, 64);
}

/* cpus=: numbers and ranges, in order, used for vCPU 0, 1, ... */
static void test_cpus(void **state)
{
	struct vm_config_set *set = *state;
	const struct vm_config *vm = one_vm(set, "vm=v vcpus=4 cpus=3,0-1");
	assert_int_equal(vm->cpu_count, 3);
	assert_int_equal(vm->cpus[0], 3);
	assert_int_equal(vm->cpus[1], 0);
	assert_int_equal(vm->cpus[2], 1);
	assert_int_equal(one_vm(set, "vm=w")->cpu_count, 0);
	assert_int_equal(one_vm(set, "vm=y cpus=63")->cpus[0], 63);
	assert_string_equal(one_vm(set, "vm=z after=v")->after, "v");
	assert_string_equal(one_vm(set, "vm=u")->after, "");
}

static void test_booleans(void **state)
{
	struct vm_config_set *set = *state;
	static const struct { const char *text; bool value; } cases[] = {
		{ "1", true }, { "yes", true }, { "on", true },
		{ "0", false }, { "no", false }, { "off", false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char line[64];
		struct vm_config *vm;
		snprintf(line, sizeof(line), "vm=b debugexit=%s", cases[i].text);
		vm = one_vm(set, line);
		assert_int_equal(vm->debug_exit, cases[i].value);
		assert_false(vm->test_device);
		snprintf(line, sizeof(line), "vm=b testdev=%s", cases[i].text);
		vm = one_vm(set, line);
		assert_int_equal(vm->test_device, cases[i].value);
		assert_false(vm->debug_exit);
		/* both at once, opposite values */
		snprintf(line, sizeof(line), "vm=b debugexit=%s testdev=%s", cases[i].text,
			 cases[(i + 3) % ARRAY_SIZE(cases)].text);
		vm = one_vm(set, line);
		assert_int_equal(vm->debug_exit, cases[i].value);
		assert_int_equal(vm->test_device, !cases[i].value);
	}
}

static void test_formats(void **state)
{
	struct vm_config_set *set = *state;
	assert_int_equal(one_vm(set, "vm=f format=auto")->format, GUEST_FORMAT_AUTO);
	assert_int_equal(one_vm(set, "vm=f format=multiboot")->format, GUEST_FORMAT_MULTIBOOT);
	assert_int_equal(one_vm(set, "vm=f format=flat load=0x7c00")->format, GUEST_FORMAT_FLAT);
}

static void test_load_and_entry(void **state)
{
	struct vm_config_set *set = *state;
	struct vm_config *vm = one_vm(set, "vm=l format=flat load=0x8000");
	assert_int_equal(vm->load_address, 0x8000);
	assert_false(vm->entry_set);

	vm = one_vm(set, "vm=l format=flat load=32768 entry=31744");
	assert_int_equal(vm->load_address, 32768);
	assert_int_equal(vm->entry_address, 0x7c00);
	assert_true(vm->entry_set);

	vm = one_vm(set, "vm=l load=0xFFFF0 entry=0xfff00");
	assert_int_equal(vm->load_address, 0xffff0);
	assert_int_equal(vm->entry_address, 0xfff00);

	vm = one_vm(set, "vm=l load=0x100000000"); /* above 4G is a valid number */
	assert_int_equal(vm->load_address, 0x100000000ULL);

	vm = one_vm(set, "vm=l entry=0");
	assert_int_equal(vm->entry_address, 0);
	assert_true(vm->entry_set);
}

static void test_modes(void **state)
{
	struct vm_config_set *set = *state;
	assert_true(one_vm(set, "vm=r mode=real")->real_mode);
	assert_false(one_vm(set, "vm=r mode=protected")->real_mode);
	assert_true(one_vm(set, "vm=r")->real_mode);
}

/* ---- Words, the path word and the guest command line ---- */

static void test_path_word_skipped(void **state)
{
	struct vm_config_set *set = *state;
	struct vm_config *vm = one_vm(set, "/boot/guest.elf vm=x");
	assert_string_equal(vm->name, "x");
	vm = one_vm(set, "(hd0,msdos1)/boot/linux-6.1 vm=linux mem=64M -- root=/dev/ram0");
	assert_string_equal(vm->name, "linux");
	assert_int_equal(vm->memory, 64ULL << 20);
	assert_string_equal(vm->cmdline, "root=/dev/ram0");
	/* QEMU -kernel/-initrd style: the file name and then the words */
	vm = one_vm(set, "guests/test.bin vm=t format=flat load=0x7c00");
	assert_string_equal(vm->name, "t");
	assert_int_equal(vm->load_address, 0x7c00);
	/* blanks of every kind separate words */
	vm = one_vm(set, "  \t/boot/k\t vm=tabs \tmem=32M\t\t");
	assert_string_equal(vm->name, "tabs");
	assert_int_equal(vm->memory, 32ULL << 20);
	/* no path word at all */
	vm = one_vm(set, "vm=nopath");
	assert_string_equal(vm->name, "nopath");
}

static void test_guest_cmdline(void **state)
{
	struct vm_config_set *set = *state;
	struct vm_config *vm = one_vm(set, "vm=g --    console=ttyS0,115200  root=/dev/ram0 \t quiet  ");
	/* leading blanks trimmed, the rest verbatim (inner and trailing blanks kept) */
	assert_string_equal(vm->cmdline, "console=ttyS0,115200  root=/dev/ram0 \t quiet  ");

	/* words after -- are the guest's, even when they look like ours */
	vm = one_vm(set, "vm=g -- mem=1M vm=other vcpus=99 -- x");
	assert_string_equal(vm->name, "g");
	assert_int_equal(vm->memory, VM_DEFAULT_MEMORY);
	assert_int_equal(vm->vcpus, 1);
	assert_string_equal(vm->cmdline, "mem=1M vm=other vcpus=99 -- x");

	/* -- with nothing after it: empty command line */
	vm = one_vm(set, "vm=g --");
	assert_string_equal(vm->cmdline, "");
	vm = one_vm(set, "vm=g --   ");
	assert_string_equal(vm->cmdline, "");

	/* the path word, keys, then -- */
	vm = one_vm(set, "/boot/bzImage vm=g mem=128M -- init=/bin/sh");
	assert_int_equal(vm->memory, 128ULL << 20);
	assert_string_equal(vm->cmdline, "init=/bin/sh");

	/* no -- : empty */
	vm = one_vm(set, "vm=g mem=32M");
	assert_string_equal(vm->cmdline, "");
}

static void test_cmdline_truncated(void **state)
{
	struct vm_config_set *set = *state;
	const size_t max = VM_CONFIG_CMDLINE_MAX;
	size_t long_len = 3 * max;
	char *line = malloc(long_len + 32);
	char *expect = malloc(long_len + 1);
	assert_non_null(line);
	assert_non_null(expect);
	for (size_t i = 0; i < long_len; i++)
		expect[i] = (char)('a' + i % 26);
	expect[long_len] = 0;

	/* exactly max-1 characters: kept whole */
	snprintf(line, long_len + 32, "vm=c -- %.*s", (int)(max - 1), expect);
	struct vm_config *vm = one_vm(set, line);
	assert_int_equal(strlen(vm->cmdline), max - 1);
	assert_memory_equal(vm->cmdline, expect, max - 1);

	/* max characters and far more: the first max-1 kept, NUL-terminated */
	size_t lengths[] = { max, max + 1, long_len };
	for (size_t k = 0; k < ARRAY_SIZE(lengths); k++) {
		snprintf(line, long_len + 32, "vm=c -- %.*s", (int)lengths[k], expect);
		vm_config_set_init(set);
		add_ok(set, line, kernel_image, sizeof(kernel_image));
		vm = &set->vm[0];
		assert_int_equal(vm->cmdline[max - 1], 0);
		assert_int_equal(strlen(vm->cmdline), max - 1);
		assert_memory_equal(vm->cmdline, expect, max - 1);
		/* the next VM slot (memset to 0xa5 in setup) is untouched */
		const u8 *next = (const u8 *)&set->vm[1];
		for (size_t i = 0; i < sizeof(set->vm[1]); i++)
			assert_int_equal(next[i], 0xa5);
	}

	/* the last slot of the set, at the very end of the heap block: ASan
	 * reports any write past the command line buffer */
	vm_config_set_init(set);
	for (unsigned i = 0; i + 1 < VM_CONFIG_MAX_VMS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "vm=v%u", i);
		add_ok(set, name, kernel_image, 1);
	}
	snprintf(line, long_len + 32, "vm=last -- %s", expect);
	add_ok(set, line, kernel_image, 1);
	assert_int_equal(set->count, VM_CONFIG_MAX_VMS);
	vm = &set->vm[VM_CONFIG_MAX_VMS - 1];
	assert_string_equal(vm->name, "last");
	assert_int_equal(strlen(vm->cmdline), max - 1);
	assert_memory_equal(vm->cmdline, expect, max - 1);
	free(line);
	free(expect);
}

/* ---- Several modules ---- */

static void test_two_vms_in_order(void **state)
{
	struct vm_config_set *set = *state;
	add_ok(set, "/boot/b.elf vm=beta mem=32M -- b-args", kernel_image, sizeof(kernel_image));
	add_ok(set, "/boot/a.elf vm=alpha vcpus=2 -- a-args", other_image, sizeof(other_image));
	assert_int_equal(set->count, 2);
	/* order of first appearance, not alphabetical */
	assert_string_equal(set->vm[0].name, "beta");
	assert_string_equal(set->vm[1].name, "alpha");
	assert_int_equal(set->vm[0].memory, 32ULL << 20);
	assert_int_equal(set->vm[0].vcpus, 1);
	assert_int_equal(set->vm[1].memory, VM_DEFAULT_MEMORY);
	assert_int_equal(set->vm[1].vcpus, 2);
	assert_ptr_equal(set->vm[0].kernel, kernel_image);
	assert_ptr_equal(set->vm[1].kernel, other_image);
	assert_int_equal(set->vm[1].kernel_size, sizeof(other_image));
	assert_string_equal(set->vm[0].cmdline, "b-args");
	assert_string_equal(set->vm[1].cmdline, "a-args");
}

static void test_kernel_and_initrd_join(void **state)
{
	struct vm_config_set *set = *state;
	add_ok(set, "/boot/vmlinuz vm=linux mem=256M -- console=ttyS0", kernel_image,
	       sizeof(kernel_image));
	add_ok(set, "/boot/other vm=other", other_image, sizeof(other_image));
	add_ok(set, "/boot/initrd.img vm=linux role=initrd", initrd_image, sizeof(initrd_image));
	assert_int_equal(set->count, 2);
	struct vm_config *vm = find_vm(set, "linux");
	assert_ptr_equal(vm, &set->vm[0]);
	assert_ptr_equal(vm->kernel, kernel_image);
	assert_int_equal(vm->kernel_size, sizeof(kernel_image));
	assert_ptr_equal(vm->initrd, initrd_image);
	assert_int_equal(vm->initrd_size, sizeof(initrd_image));
	assert_int_equal(vm->memory, 256ULL << 20);
	assert_string_equal(vm->cmdline, "console=ttyS0");
	assert_null(set->vm[1].initrd);
	char err[ERR_SIZE];
	assert_int_equal(vm_config_check(vm, err, sizeof(err)), 0);
}

static void test_initrd_first_then_kernel(void **state)
{
	struct vm_config_set *set = *state;
	add_ok(set, "vm=x role=initrd", initrd_image, sizeof(initrd_image));
	assert_int_equal(set->count, 1);
	assert_null(set->vm[0].kernel);
	/* keys on any of a VM's modules describe the VM */
	add_ok(set, "vm=x role=kernel mem=48M -- quiet", kernel_image, sizeof(kernel_image));
	assert_int_equal(set->count, 1);
	assert_ptr_equal(set->vm[0].initrd, initrd_image);
	assert_ptr_equal(set->vm[0].kernel, kernel_image);
	assert_int_equal(set->vm[0].memory, 48ULL << 20);
	assert_string_equal(set->vm[0].cmdline, "quiet");
}

static void test_max_vms(void **state)
{
	struct vm_config_set *set = *state;
	char line[64];
	for (unsigned i = 0; i < VM_CONFIG_MAX_VMS; i++) {
		snprintf(line, sizeof(line), "vm=vm%u", i);
		add_ok(set, line, kernel_image, 1);
	}
	assert_int_equal(set->count, VM_CONFIG_MAX_VMS);
	for (unsigned i = 0; i < VM_CONFIG_MAX_VMS; i++) {
		snprintf(line, sizeof(line), "vm%u", i);
		assert_string_equal(set->vm[i].name, line);
	}
	/* one more VM is refused */
	expect_error(set, "vm=one-too-many", NULL);
	assert_int_equal(set->count, VM_CONFIG_MAX_VMS);
	/* but a module for an existing VM still joins it */
	add_ok(set, "vm=vm3 role=initrd", initrd_image, sizeof(initrd_image));
	assert_int_equal(set->count, VM_CONFIG_MAX_VMS);
	assert_ptr_equal(set->vm[3].initrd, initrd_image);
}

/* ---- Errors ---- */

static void test_no_vm(void **state)
{
	struct vm_config_set *set = *state;
	expect_error_fresh(set, "", "vm=");
	expect_error_fresh(set, "   ", "vm=");
	expect_error_fresh(set, "/boot/guest.elf", "vm=");
	expect_error_fresh(set, "/boot/guest.elf mem=32M vcpus=2", "vm=");
	expect_error_fresh(set, "mem=32M", "vm=");
	/* vm= after -- is the guest's word, not ours */
	expect_error_fresh(set, "/boot/guest.elf -- vm=x", "vm=");
	assert_int_equal(set->count, 0);
}

static void test_names(void **state)
{
	struct vm_config_set *set = *state;
	char line[128], name[64];

	/* VM_CONFIG_NAME_MAX - 1 characters: accepted and stored whole */
	memset(name, 'n', VM_CONFIG_NAME_MAX - 1);
	name[VM_CONFIG_NAME_MAX - 1] = 0;
	snprintf(line, sizeof(line), "vm=%s", name);
	assert_string_equal(one_vm(set, line)->name, name);

	/* one more: refused */
	memset(name, 'n', VM_CONFIG_NAME_MAX);
	name[VM_CONFIG_NAME_MAX] = 0;
	snprintf(line, sizeof(line), "vm=%s", name);
	expect_error_fresh(set, line, NULL);
	memset(name, 'n', 40);
	name[40] = 0;
	snprintf(line, sizeof(line), "vm=%s", name);
	expect_error_fresh(set, line, NULL);

	/* ordinary names */
	assert_string_equal(one_vm(set, "vm=Linux-6_1")->name, "Linux-6_1");
	assert_string_equal(one_vm(set, "vm=0")->name, "0");

	/* empty and bad characters */
	expect_error_fresh(set, "vm=", NULL);
	static const char *const bad[] = { "a/b", "a,b", "a=b", "a\"b", "a$b", "a;b",
					   "a:b", "a*b", "a\\b", "a'b", "(x)", "a\x01" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(line, sizeof(line), "vm=%s", bad[i]);
		expect_error_fresh(set, line, NULL);
	}
	assert_int_equal(set->count, 0);
}

static void test_unknown_and_malformed_words(void **state)
{
	struct vm_config_set *set = *state;
	expect_error_fresh(set, "vm=x color=red", "color");
	expect_error_fresh(set, "vm=x memory=32M", "memory");
	expect_error_fresh(set, "vm=x VM=y", "VM");
	expect_error_fresh(set, "vm=x =5", "=5");
	/* a key without '=' (only the first word may be the module path) */
	expect_error_fresh(set, "vm=x mem", "mem");
	expect_error_fresh(set, "vm=x debugexit", "debugexit");
	expect_error_fresh(set, "/boot/a /boot/b vm=x", "/boot/b");
	expect_error_fresh(set, "vm=x --quiet", "--quiet");
	expect_error_fresh(set, "vm=x - quiet", NULL);
}

static void test_bad_mem(void **state)
{
	struct vm_config_set *set = *state;
	static const char *const bad[] = {
		"2097151",      /* one byte below 2M */
		"1M", "2047K", "1023K", "0", "0x1fffff",
		"68719476737",  /* 64G + 1 */
		"65G", "65537M", "128G", "0x1000000001",
		"lots", "16X", "16MB", "M", "-16M", "1.5G", "0x", "0xM", "0xZZ",
		"99999999999G",           /* overflows when scaled */
		"17179869200G",           /* (2^34 + 16) G: 16G if it wrapped */
		"18446744073726328832",   /* 2^64 + 16M: 16M if it wrapped */
		"0x10000000001000000",    /* the same in hex */
		"18446744073709551615",   /* 2^64 - 1 */
		"",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char line[96];
		snprintf(line, sizeof(line), "vm=x mem=%s", bad[i]);
		expect_error_fresh(set, line, "mem");
		/* and the value, if not empty, is quoted back */
		if (bad[i][0])
			expect_error_fresh(set, line, bad[i]);
	}
}

static void test_bad_values(void **state)
{
	struct vm_config_set *set = *state;
	static const struct { const char *line, *needle; } cases[] = {
		{ "vm=x vcpus=0", "vcpus" },
		{ "vm=x vcpus=65", "vcpus" },
		{ "vm=x cpus=64", "cpus" },
		{ "vm=x cpus=1,", "cpus" },
		{ "vm=x cpus=3-1", "cpus" },
		{ "vm=x cpus=a", "cpus" },
		{ "vm=x after=x", "after" },
		{ "vm=x after=bad!name", "after" },
		{ "vm=x vcpus=", "vcpus" },
		{ "vm=x vcpus=two", "two" },
		{ "vm=x vcpus=99999999999999999999999", "vcpus" },
		{ "vm=x vcpus=4294967297", "vcpus" },  /* 2^32 + 1: 1 if truncated */
		{ "vm=x debugexit=2", "debugexit" },
		{ "vm=x debugexit=true", "true" },
		{ "vm=x debugexit=", "debugexit" },
		{ "vm=x testdev=2", "testdev" },
		{ "vm=x testdev=enable", "enable" },
		{ "vm=x testdev=", "testdev" },
		{ "vm=x format=elf", "elf" },
		{ "vm=x format=", "format" },
		{ "vm=x format=Flat", "Flat" },
		{ "vm=x mode=long", "long" },
		{ "vm=x mode=", "mode" },
		{ "vm=x load=0xZZ", "0xZZ" },
		{ "vm=x load=", "load" },
		{ "vm=x load=0x", "load" },
		{ "vm=x load=12ab", "12ab" },
		{ "vm=x load=0x10000000000000000", "load" },
		{ "vm=x entry=0xZZ", "0xZZ" },
		{ "vm=x entry=", "entry" },
		{ "vm=x entry=start", "start" },
		{ "vm=x role=disk", "disk" },
		{ "vm=x role=", "role" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		expect_error_fresh(set, cases[i].line, cases[i].needle);
}

static void test_two_kernels_two_initrds(void **state)
{
	struct vm_config_set *set = *state;
	add_ok(set, "vm=x", kernel_image, sizeof(kernel_image));
	expect_error(set, "vm=x", "x");
	expect_error(set, "/boot/k2 vm=x role=kernel", "x");
	assert_ptr_equal(set->vm[0].kernel, kernel_image);

	add_ok(set, "vm=x role=initrd", initrd_image, sizeof(initrd_image));
	char err[ERR_SIZE];
	assert_int_equal(vm_config_add_module(set, "vm=x role=initrd", other_image,
					      sizeof(other_image), err, sizeof(err)), -1);
	assert_one_sentence(err);
	assert_non_null(strstr(err, "x"));
	assert_ptr_equal(set->vm[0].initrd, initrd_image);
	assert_int_equal(set->vm[0].initrd_size, sizeof(initrd_image));
	assert_int_equal(set->count, 1);
}

/* Errors are truncated to the caller's buffer and always NUL-terminated. */
static void test_small_error_buffer(void **state)
{
	struct vm_config_set *set = *state;
	char *err = malloc(8); /* on the heap: ASan sees any overrun */
	assert_non_null(err);
	assert_int_equal(vm_config_add_module(set, "vm=x color=red", kernel_image, 1, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(vm_config_add_module(set, "/boot/nothing", kernel_image, 1, err, 8), -1);
	assert_int_equal(strlen(err), 7);
	assert_int_equal(vm_config_add_module(set, "vm=x mem=1M", kernel_image, 1, err, 1), -1);
	assert_int_equal(err[0], 0);
	free(err);
}

/* ---- vm_config_check ---- */

static void test_check(void **state)
{
	struct vm_config_set *set = *state;
	char err[ERR_SIZE];

	/* a kernel: fine */
	add_ok(set, "vm=good", kernel_image, sizeof(kernel_image));
	assert_int_equal(vm_config_check(find_vm(set, "good"), err, sizeof(err)), 0);

	/* only an initrd: no kernel */
	add_ok(set, "vm=noker role=initrd", initrd_image, sizeof(initrd_image));
	memset(err, 0, sizeof(err));
	assert_int_equal(vm_config_check(find_vm(set, "noker"), err, sizeof(err)), -1);
	assert_one_sentence(err);
	assert_non_null(strstr(err, "noker"));

	/* an empty kernel module */
	add_ok(set, "vm=empty", kernel_image, 0);
	memset(err, 0, sizeof(err));
	assert_int_equal(vm_config_check(find_vm(set, "empty"), err, sizeof(err)), -1);
	assert_one_sentence(err);
	assert_non_null(strstr(err, "empty"));

	/* flat without load= */
	add_ok(set, "vm=flatty format=flat", kernel_image, sizeof(kernel_image));
	memset(err, 0, sizeof(err));
	assert_int_equal(vm_config_check(find_vm(set, "flatty"), err, sizeof(err)), -1);
	assert_one_sentence(err);
	assert_non_null(strstr(err, "flatty"));
	assert_non_null(strstr(err, "load"));

	/* flat with load=, and multiboot/auto without one: fine */
	add_ok(set, "vm=flat2 format=flat load=0x7c00 mode=real", kernel_image,
	       sizeof(kernel_image));
	assert_int_equal(vm_config_check(find_vm(set, "flat2"), err, sizeof(err)), 0);
	add_ok(set, "vm=mb format=multiboot", kernel_image, sizeof(kernel_image));
	assert_int_equal(vm_config_check(find_vm(set, "mb"), err, sizeof(err)), 0);
	/* the VM is whole once its kernel arrives after the initrd */
	add_ok(set, "vm=noker", kernel_image, sizeof(kernel_image));
	assert_int_equal(vm_config_check(find_vm(set, "noker"), err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_set, teardown_set)
		T(test_defaults),
		T(test_init_empties_set),
		T(test_every_key),
		T(test_mem_sizes),
		T(test_vcpus),
		T(test_cpus),
		T(test_booleans),
		T(test_formats),
		T(test_load_and_entry),
		T(test_modes),
		T(test_path_word_skipped),
		T(test_guest_cmdline),
		T(test_cmdline_truncated),
		T(test_two_vms_in_order),
		T(test_kernel_and_initrd_join),
		T(test_initrd_first_then_kernel),
		T(test_max_vms),
		T(test_no_vm),
		T(test_names),
		T(test_unknown_and_malformed_words),
		T(test_bad_mem),
		T(test_bad_values),
		T(test_two_kernels_two_initrds),
		T(test_small_error_buffer),
		T(test_check),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
