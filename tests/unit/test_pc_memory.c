/*
 * The PC guest-physical layout (vmm/pc_memory.c) and guest memory across
 * several host runs (vmm/guest_mem.c): RAM below the PCI hole at 3 GiB and
 * from 4 GiB up, the device pages never RAM, e820 entries merged across
 * host runs, translation and lazy clearing per run, the initrd below the
 * hole. Expected layouts are written out by hand, as QEMU's pc machine
 * gives them.
 */
#include "tests/unit/host_support.h"
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-parameter" /* cmocka state arguments */

#include "vmm/memmap.c"
#include "vmm/pc_memory.c"
#include "vmm/pagewalk.c"
#include "vmm/guest_mem.c"
#include "vmm/loader.c"
#include "vmm/loader_linux.c"

const struct backend_ops *backend;
void vcpu_control_refresh(struct vcpu *v) { (void)v; }

#define HOLE 0xc0000000ULL
#define FOUR_GIB 0x100000000ULL
#define LOCAL_APIC 0xfee00000ULL
#define IO_APIC 0xfec00000ULL
#define TEST_PAGE 0xfe000000ULL
#define E820_USABLE 1
#define E820_RESERVED 2

static struct vm vm;

/* Host memory that is never dereferenced: big VMs are laid out, not touched. */
static u8 *fake_host(u64 offset) { return (u8 *)(uintptr_t)(0x100000000000ULL + offset); }

static void build(u64 ram_size, const struct pc_ram_run *runs, unsigned count)
{
	memset(&vm, 0, sizeof(vm));
	vm.ram_size = ram_size;
	vm.ram_end = pc_ram_end(ram_size);
	assert_int_equal(pc_memory_build(&vm.mem, ram_size, runs, count), 0);
}

static void assert_region(unsigned i, u64 gpa, u64 size, enum memmap_kind kind, u64 hpa)
{
	const struct memmap_region *r = &vm.mem.region[i];
	assert_int_equal(r->gpa, gpa);
	assert_int_equal(r->size, size);
	assert_int_equal(r->kind, kind);
	assert_int_equal(r->hpa, hpa);
	assert_ptr_equal(r->host, fake_host(hpa));
}

static void assert_device_pages_not_ram(void)
{
	static const u64 devices[] = { HOLE, TEST_PAGE, IO_APIC, IO_APIC + 0x10, LOCAL_APIC,
				       LOCAL_APIC + 0x30, FOUR_GIB - 1 };
	for (unsigned i = 0; i < ARRAY_SIZE(devices); i++) {
		assert_null(guest_phys_ptr(&vm, devices[i], 4));
		assert_null(memmap_find(&vm.mem, devices[i], 1));
	}
	assert_null(guest_phys_ptr(&vm, HOLE - 4, 8)); /* straddles the hole's start */
	assert_null(guest_phys_ptr(&vm, 0xa0000, 1));  /* the VGA window */
}

static void test_4g_vm_one_run(void **state)
{
	const struct pc_ram_run run = { 0x40000000, fake_host(0x40000000), 4 * GiB };
	build(4 * GiB, &run, 1);
	assert_int_equal(vm.ram_end, FOUR_GIB + GiB);
	assert_int_equal(vm.mem.count, 5);
	assert_region(0, 0, 0x9f000, MEMMAP_RAM, 0x40000000);
	assert_region(1, 0x9f000, 0x1000, MEMMAP_RAM_RESERVED, 0x4009f000);
	assert_region(2, 0xc0000, 0x40000, MEMMAP_RAM_RESERVED, 0x400c0000);
	assert_region(3, MiB, HOLE - MiB, MEMMAP_RAM, 0x40100000);
	assert_region(4, FOUR_GIB, GiB, MEMMAP_RAM, 0x40000000 + HOLE); /* the run goes on at 4 GiB */
	assert_device_pages_not_ram();
	assert_ptr_equal(guest_phys_ptr(&vm, HOLE - 4, 4), fake_host(0x40000000 + HOLE - 4));
	assert_ptr_equal(guest_phys_ptr(&vm, FOUR_GIB, 4), fake_host(0x40000000 + HOLE));
	assert_ptr_equal(guest_phys_ptr(&vm, FOUR_GIB + GiB - 4, 4), fake_host(0x40000000 + 4 * GiB - 4));
	assert_null(guest_phys_ptr(&vm, FOUR_GIB + GiB, 1)); /* the end of RAM */
}

/* Small VMs are laid out as before: everything below the hole. */
static void test_small_vm_has_no_high_ram(void **state)
{
	const struct pc_ram_run run = { 0x200000, fake_host(0x200000), 16 * MiB };
	build(16 * MiB, &run, 1);
	assert_int_equal(vm.ram_end, 16 * MiB);
	assert_int_equal(vm.mem.count, 4);
	assert_region(3, MiB, 15 * MiB, MEMMAP_RAM, 0x300000);
	const struct pc_ram_run three = { 0, fake_host(0), 3 * GiB };
	build(3 * GiB, &three, 1);
	assert_int_equal(vm.ram_end, HOLE);
	assert_null(memmap_find(&vm.mem, FOUR_GIB, 1));
}

/* 6 GiB from three host runs, largest first: 4 GiB (crossing the hole),
 * then two of 1 GiB; every byte is translated to the run behind it. */
static void test_6g_vm_three_runs(void **state)
{
	const struct pc_ram_run runs[] = {
		{ 0x100000000, fake_host(0x100000000), 4 * GiB },
		{ 0x40000000, fake_host(0x40000000), GiB },
		{ 0x600000000, fake_host(0x600000000), GiB },
	};
	build(6 * GiB, runs, ARRAY_SIZE(runs));
	assert_int_equal(vm.ram_end, 7 * GiB);
	assert_int_equal(vm.mem.count, 7);
	assert_region(3, MiB, HOLE - MiB, MEMMAP_RAM, 0x100100000);
	assert_region(4, FOUR_GIB, GiB, MEMMAP_RAM, 0x100000000 + HOLE);
	assert_region(5, 5 * GiB, GiB, MEMMAP_RAM, 0x40000000);
	assert_region(6, 6 * GiB, GiB, MEMMAP_RAM, 0x600000000);
	assert_device_pages_not_ram();
	assert_ptr_equal(guest_phys_ptr(&vm, 5 * GiB - 8, 8), fake_host(0x100000000 + 4 * GiB - 8));
	assert_ptr_equal(guest_phys_ptr(&vm, 5 * GiB, 8), fake_host(0x40000000));
	assert_ptr_equal(guest_phys_ptr(&vm, 7 * GiB - 8, 8), fake_host(0x600000000 + GiB - 8));
	assert_null(guest_phys_ptr(&vm, 5 * GiB - 4, 8)); /* one pointer cannot span two runs */
	/* The guest is told one range per stretch, not one per run. */
	struct memmap_range ranges[MEMMAP_MAX_REGIONS];
	assert_int_equal(memmap_guest_ranges(&vm.mem, ranges, ARRAY_SIZE(ranges)), 5);
	assert_int_equal(ranges[3].gpa, MiB);
	assert_int_equal(ranges[3].size, HOLE - MiB);
	assert_int_equal(ranges[4].gpa, FOUR_GIB);
	assert_int_equal(ranges[4].size, 3 * GiB);
	assert_int_equal(ranges[4].kind, MEMMAP_RAM);
	assert_int_equal(memmap_stretch_end(&vm.mem, MiB), HOLE);
	assert_int_equal(memmap_stretch_end(&vm.mem, 4 * GiB + 5), 7 * GiB);
}

static void test_bad_runs_refused(void **state)
{
	struct memmap map = { 0 };
	const struct pc_ram_run half_chunk = { 0, fake_host(0), 3 * MiB };
	const struct pc_ram_run short_run = { 0, fake_host(0), 8 * MiB };
	const struct pc_ram_run unaligned = { 0x1000, fake_host(0x1000), 16 * MiB };
	assert_int_equal(pc_memory_build(&map, 3 * MiB, &half_chunk, 1), -1);
	memset(&map, 0, sizeof(map));
	assert_int_equal(pc_memory_build(&map, 16 * MiB, &short_run, 1), -1);
	memset(&map, 0, sizeof(map));
	assert_int_equal(pc_memory_build(&map, 16 * MiB, &unaligned, 1), -1);
}

/* A 64 MiB VM in four real host buffers, out of order: copies cross from
 * run to run, and lazy clearing zeroes each chunk in the run behind it. */
#define SMALL_RUN (16 * MiB)
static void test_copies_and_clearing_across_runs(void **state)
{
	u8 *buffer[4];
	struct pc_ram_run runs[4];
	static u8 cleared[64 * MiB / GUEST_RAM_CHUNK / 8];
	for (unsigned i = 0; i < 4; i++) {
		buffer[i] = aligned_alloc(GUEST_RAM_CHUNK, SMALL_RUN);
		memset(buffer[i], 0xa5, SMALL_RUN); /* what a VM before left */
		runs[i] = (struct pc_ram_run){ (u64)(3 - i) * SMALL_RUN + GiB, buffer[i], SMALL_RUN };
	}
	build(64 * MiB, runs, 4);
	memset(cleared, 0, sizeof(cleared));
	vm.ram_cleared = cleared;
	static const u8 text[] = "crosses a run";
	u64 at = SMALL_RUN - 5;
	assert_int_equal(guest_phys_write(&vm, at, text, sizeof(text)), 0);
	assert_memory_equal(buffer[0] + SMALL_RUN - 5, text, 5);
	assert_memory_equal(buffer[1], text + 5, sizeof(text) - 5);
	assert_int_equal(buffer[0][SMALL_RUN - 6], 0);            /* chunk 7 cleared */
	assert_int_equal(buffer[1][GUEST_RAM_CHUNK - 1], 0);      /* chunk 8 cleared */
	assert_int_equal(buffer[1][GUEST_RAM_CHUNK], 0xa5);       /* chunk 9 not yet */
	assert_int_equal(buffer[0][SMALL_RUN - GUEST_RAM_CHUNK - 1], 0xa5);
	u8 back[sizeof(text)];
	assert_int_equal(guest_phys_read(&vm, at, back, sizeof(back)), 0);
	assert_memory_equal(back, text, sizeof(text));
	u32 word = 0xffffffff;
	assert_int_equal(guest_phys_read(&vm, 3 * SMALL_RUN + 8, &word, sizeof(word)), 0);
	assert_int_equal(word, 0); /* never the old contents, in the last run either */
	assert_int_equal(buffer[3][8], 0);
	guest_ram_prepare(&vm, 0, GUEST_RAM_CHUNK); /* chunk 0, VGA window included */
	assert_int_equal(buffer[0][0xa0000], 0);
	assert_int_equal(guest_phys_read(&vm, 64 * MiB - 2, &word, sizeof(word)), -1);
	for (unsigned i = 0; i < 4; i++)
		free(buffer[i]);
}

/* Linux on a 6 GiB VM: e820 merged across runs and split at the hole, the
 * initrd below the hole although initrd_addr_max allows all of 4 GiB.
 * Real memory only where the loader writes: the low 32 MiB and the top
 * 32 MiB below the hole. */
#define LOW_REAL (32 * MiB)
static void test_linux_e820_and_initrd_on_6g(void **state)
{
	u8 *low = calloc(1, LOW_REAL), *top = calloc(1, LOW_REAL);
	const struct pc_ram_run runs[] = {
		{ 0x10000000, low, LOW_REAL },
		{ 0x20000000, fake_host(0x20000000), HOLE - 2 * LOW_REAL },
		{ 0x30000000, top, LOW_REAL },
		{ 0x200000000, fake_host(0x200000000), 3 * GiB },
	};
	build(6 * GiB, runs, ARRAY_SIZE(runs));
	static u8 image[0x2000 + 4096], initrd[8192];
	image[0x1f1] = 4;
	image[0x201] = 0x6a;
	u32 magic = 0x53726448, initrd_max = 0xffffffff, cmdline_size = 255, init_size = 0x200000;
	u16 version = 0x020f;
	u64 pref = 16 * MiB;
	memcpy(image + 0x202, &magic, 4);
	memcpy(image + 0x206, &version, 2);
	image[0x211] = 1;
	memcpy(image + 0x22c, &initrd_max, 4);
	memcpy(image + 0x238, &cmdline_size, 4);
	memcpy(image + 0x258, &pref, 8);
	memcpy(image + 0x260, &init_size, 4);
	memset(initrd, 0x3c, sizeof(initrd));
	struct vm_config cfg = { .kernel = image, .kernel_size = sizeof(image), .initrd = initrd,
				 .initrd_size = sizeof(initrd) };
	struct vcpu_regs regs;
	struct vcpu_sregs sregs;
	char err[256] = "";
	if (linux_load(&vm, &cfg, 0, &regs, &sregs, err, sizeof(err)))
		fail_msg("linux_load: %s", err);
	const u8 *bp = low + 0x7000;
	static const struct { u64 base, length; u32 type; } expected[] = {
		{ 0, 0x9f000, E820_USABLE }, { 0x9f000, 0x1000, E820_RESERVED },
		{ 0xc0000, 0x40000, E820_RESERVED }, { MiB, HOLE - MiB, E820_USABLE },
		{ FOUR_GIB, 3 * GiB, E820_USABLE },
	};
	assert_int_equal(bp[0x1e8], ARRAY_SIZE(expected));
	for (unsigned i = 0; i < ARRAY_SIZE(expected); i++) {
		u64 base, length;
		u32 type;
		memcpy(&base, bp + 0x2d0 + i * 20, 8);
		memcpy(&length, bp + 0x2d0 + i * 20 + 8, 8);
		memcpy(&type, bp + 0x2d0 + i * 20 + 16, 4);
		assert_int_equal(base, expected[i].base);
		assert_int_equal(length, expected[i].length);
		assert_int_equal(type, expected[i].type);
	}
	u32 initrd_at;
	memcpy(&initrd_at, bp + 0x218, 4);
	assert_int_equal(initrd_at, HOLE - sizeof(initrd));
	assert_memory_equal(top + LOW_REAL - sizeof(initrd), initrd, sizeof(initrd));
	free(low);
	free(top);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_4g_vm_one_run),
		cmocka_unit_test(test_small_vm_has_no_high_ram),
		cmocka_unit_test(test_6g_vm_three_runs),
		cmocka_unit_test(test_bad_runs_refused),
		cmocka_unit_test(test_copies_and_clearing_across_runs),
		cmocka_unit_test(test_linux_e820_and_initrd_on_6g),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
