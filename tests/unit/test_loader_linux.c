/*
 * The Linux boot protocol loader (vmm/loader_linux.c) against a synthetic
 * bzImage whose setup header is laid out as Documentation/arch/x86/boot.rst
 * describes; the results are read back from guest memory at the offsets the
 * protocol defines (not through the loader's own constants).
 */
#include "tests/unit/host_support.h"
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-parameter" /* cmocka state arguments */

#include "vmm/memmap.c"
#include "vmm/pagewalk.c"
#include "vmm/guest_mem.c"
#include "vmm/loader.c"
#include "vmm/loader_linux.c"

const struct backend_ops *backend;
void vcpu_control_refresh(struct vcpu *v) { (void)v; }

#define RAM_SIZE (64 * MiB)
#define SETUP_SECTS 4
#define SETUP_BYTES ((SETUP_SECTS + 1) * 512)
#define PAYLOAD_SIZE (64 * KiB)
#define INITRD_SIZE (8 * KiB)
#define PREF_ADDRESS 0x1000000ULL
#define RSDP 0xe0040ULL
#define BOOT_PARAMS 0x7000ULL

static struct vm vm;
static u8 *ram;
static u8 image[SETUP_BYTES + PAYLOAD_SIZE];
static u8 initrd[INITRD_SIZE];
static struct vm_config cfg;

static void put16(u8 *p, unsigned off, u16 v) { memcpy(p + off, &v, 2); }
static void put32(u8 *p, unsigned off, u32 v) { memcpy(p + off, &v, 4); }
static void put64(u8 *p, unsigned off, u64 v) { memcpy(p + off, &v, 8); }
static u32 get32(const u8 *p, unsigned off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u64 get64(const u8 *p, unsigned off) { u64 v; memcpy(&v, p + off, 8); return v; }

/* A bzImage: boot protocol 2.15, loaded high, relocatable kernel at 16 MiB. */
static void make_bzimage(u16 version, u8 loadflags, u32 init_size)
{
	memset(image, 0, sizeof(image));
	image[0x1f1] = SETUP_SECTS;
	image[0x201] = 0x6a; /* jump offset: the header ends at 0x202 + 0x6a */
	put32(image, 0x202, 0x53726448); /* "HdrS" */
	put16(image, 0x206, version);
	image[0x211] = loadflags;
	put32(image, 0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(image, 0x230, 0x200000);   /* kernel_alignment */
	put32(image, 0x238, 255);        /* cmdline_size */
	put64(image, 0x258, PREF_ADDRESS);
	put32(image, 0x260, init_size);
	for (unsigned i = 0; i < PAYLOAD_SIZE; i++)
		image[SETUP_BYTES + i] = (u8)(i * 7 + 3);
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	vm.ram_end = RAM_SIZE;
	memmap_add(&vm.mem, 0, 0x9f000, MEMMAP_RAM, ram, 0);
	memmap_add(&vm.mem, 0x9f000, 0x1000, MEMMAP_RAM_RESERVED, ram + 0x9f000, 0x9f000);
	memmap_add(&vm.mem, 0xc0000, 0x40000, MEMMAP_RAM_RESERVED, ram + 0xc0000, 0xc0000);
	memmap_add(&vm.mem, MiB, RAM_SIZE - MiB, MEMMAP_RAM, ram + MiB, MiB);
	strncpy_terminated(vm.name, "linux", sizeof(vm.name));
	make_bzimage(0x020f, 0x01, 0x200000);
	for (unsigned i = 0; i < INITRD_SIZE; i++)
		initrd[i] = (u8)(i ^ 0x5a);
	memset(&cfg, 0, sizeof(cfg));
	cfg.kernel = image;
	cfg.kernel_size = sizeof(image);
	cfg.initrd = initrd;
	cfg.initrd_size = INITRD_SIZE;
	strncpy_terminated(cfg.cmdline, "console=ttyS0 quiet", sizeof(cfg.cmdline));
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

static int load(char *err)
{
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	return linux_load(&vm, &cfg, RSDP, &regs, &sregs, err, 256);
}

static void test_kernel_and_boot_params(void **state)
{
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	char err[256] = "";
	assert_int_equal(linux_load(&vm, &cfg, RSDP, &regs, &sregs, err, sizeof(err)), 0);
	const u8 *bp = ram + BOOT_PARAMS;
	/* protected-mode kernel at pref_address, byte for byte */
	assert_memory_equal(ram + PREF_ADDRESS, image + SETUP_BYTES, PAYLOAD_SIZE);
	assert_int_equal(get32(bp, 0x214), PREF_ADDRESS); /* code32_start */
	assert_int_equal(bp[0x210], 0xff);                 /* type_of_loader: undefined */
	assert_int_equal(get32(bp, 0x202), 0x53726448);    /* header copied */
	assert_int_equal(get64(bp, 0x070), RSDP);          /* acpi_rsdp_addr */
	/* command line */
	u32 cmd = get32(bp, 0x228);
	assert_string_equal((const char *)ram + cmd, "console=ttyS0 quiet");
	/* e820: one entry per memory-map region, usable=1, reserved=2 */
	assert_int_equal(bp[0x1e8], 4);
	const u8 *e = bp + 0x2d0;
	assert_int_equal(get64(e, 0), 0);
	assert_int_equal(get64(e, 8), 0x9f000);
	assert_int_equal(get32(e, 16), 1);
	assert_int_equal(get64(e + 20, 0), 0x9f000);
	assert_int_equal(get32(e + 20, 16), 2);
	assert_int_equal(get64(e + 60, 0), MiB);
	assert_int_equal(get64(e + 60, 8), RAM_SIZE - MiB);
	assert_int_equal(get32(e + 60, 16), 1);
	/* entry state: 32-bit boot protocol */
	assert_int_equal(regs.rip, PREF_ADDRESS);
	assert_int_equal(regs.gpr[GPR_RSI], BOOT_PARAMS);
	assert_int_equal(sregs.seg[SREG_CS].selector, 0x10); /* __BOOT_CS */
	assert_int_equal(sregs.seg[SREG_DS].selector, 0x18); /* __BOOT_DS */
	assert_true(sregs.cr0 & 1);                          /* protected mode, paging off */
	assert_false(sregs.cr0 & 0x80000000u);
	u64 gdt2 = get64(ram + sregs.gdtr.base, 0x10), gdt3 = get64(ram + sregs.gdtr.base, 0x18);
	assert_int_equal(gdt2, 0x00cf9b000000ffffULL); /* flat 4 GiB code */
	assert_int_equal(gdt3, 0x00cf93000000ffffULL); /* flat 4 GiB data */
}

static void test_initrd_placement(void **state)
{
	char err[256];
	assert_int_equal(load(err), 0);
	const u8 *bp = ram + BOOT_PARAMS;
	u64 image_at = get32(bp, 0x218), size = get32(bp, 0x21c);
	assert_int_equal(size, INITRD_SIZE);
	assert_int_equal(image_at % 4096, 0);
	assert_true(image_at + size <= RAM_SIZE);                    /* inside RAM */
	assert_true(image_at >= PREF_ADDRESS + 0x200000);           /* above kernel + init_size */
	assert_memory_equal(ram + image_at, initrd, INITRD_SIZE);
}

static void test_kernel_at_1mib_when_pref_address_does_not_fit(void **state)
{
	char err[256];
	make_bzimage(0x020f, 0x01, 60 * MiB); /* init_size beyond RAM at 16 MiB */
	cfg.initrd = NULL;
	cfg.initrd_size = 0;
	assert_int_equal(load(err), 0);
	assert_int_equal(get32(ram + BOOT_PARAMS, 0x214), MiB);
	assert_memory_equal(ram + MiB, image + SETUP_BYTES, PAYLOAD_SIZE);
}

static void test_old_protocol_refused(void **state)
{
	char err[256] = "";
	make_bzimage(0x0206, 0x01, 0x200000);
	assert_int_equal(load(err), -1);
	assert_non_null(strstr(err, "2.12"));
}

static void test_zimage_refused(void **state)
{
	char err[256] = "";
	make_bzimage(0x020f, 0x00, 0x200000);
	assert_int_equal(load(err), -1);
	assert_non_null(strstr(err, "bzImage"));
}

static void test_truncated_image_refused(void **state)
{
	char err[256] = "";
	cfg.kernel_size = SETUP_BYTES; /* no protected-mode part at all */
	assert_int_equal(load(err), -1);
	assert_non_null(strstr(err, "truncated"));
}

static void test_initrd_too_large(void **state)
{
	char err[256] = "";
	static u8 big[1];
	cfg.initrd = big;
	cfg.initrd_size = RAM_SIZE; /* cannot fit above the kernel */
	assert_int_equal(load(err), -1);
	assert_non_null(strstr(err, "initrd"));
}

static void test_command_line_too_long(void **state)
{
	char err[256] = "";
	memset(cfg.cmdline, 'x', 300);
	cfg.cmdline[300] = 0;
	assert_int_equal(load(err), -1); /* cmdline_size is 255 */
	assert_non_null(strstr(err, "command line"));
}

/* Guest RAM comes uncleared (here 0xa5: what a previous VM left) and is
 * zeroed a 2 MiB chunk at a time when the hypervisor first reaches into it,
 * keeping what was written since; chunks nobody touched stay as they were. */
static void test_guest_ram_cleared_on_first_touch(void **state)
{
	static u8 cleared[RAM_SIZE / GUEST_RAM_CHUNK / 8];
	static const u8 text[] = "kernel";
	u8 back[sizeof(text)];
	u32 word = 0xffffffff;

	memset(cleared, 0, sizeof(cleared));
	memset(ram, 0xa5, RAM_SIZE);
	vm.ram_cleared = cleared;
	assert_int_equal(guest_phys_write(&vm, 3 * MiB + 16, text, sizeof(text)), 0);
	assert_memory_equal(ram + 3 * MiB + 16, text, sizeof(text));
	assert_int_equal(ram[2 * MiB], 0);
	assert_int_equal(ram[4 * MiB - 1], 0);
	assert_int_equal(ram[2 * MiB - 1], 0xa5); /* the chunks around: not yet */
	assert_int_equal(ram[4 * MiB], 0xa5);
	assert_int_equal(guest_phys_read(&vm, 3 * MiB + 16, back, sizeof(back)), 0);
	assert_memory_equal(back, text, sizeof(text)); /* cleared once, not again */
	assert_int_equal(guest_phys_read(&vm, 10 * MiB, &word, sizeof(word)), 0);
	assert_int_equal(word, 0); /* never the old contents */
	u8 *p = guest_phys_ptr(&vm, 6 * MiB - 8, 16); /* straddles two chunks */
	assert_non_null(p);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(p[i], 0);
	assert_int_equal(ram[4 * MiB], 0);
	assert_int_equal(ram[8 * MiB - 1], 0);
	assert_int_equal(ram[8 * MiB], 0xa5);
	vm.ram_cleared = NULL;
}

static void test_bzimage_detection(void **state)
{
	assert_true(linux_is_bzimage(image, sizeof(image)));
	image[0x202] = 'X';
	assert_false(linux_is_bzimage(image, sizeof(image)));
	assert_false(linux_is_bzimage(image, 0x100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kernel_and_boot_params, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_placement, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_at_1mib_when_pref_address_does_not_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_protocol_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zimage_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncated_image_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_initrd_too_large, setup, teardown),
		cmocka_unit_test_setup_teardown(test_command_line_too_long, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bzimage_detection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_ram_cleared_on_first_touch, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
