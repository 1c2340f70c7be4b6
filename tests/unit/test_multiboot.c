/*
 * Unit tests for boot/multiboot.c. Each test lays out Multiboot1 or
 * Multiboot2 information in a buffer standing for physical memory at
 * WINDOW_BASE, the way GRUB would, and checks the parse against what was
 * laid out.
 */
#include "tests/unit/host_support.h"
#include "boot/multiboot.c"

#include <string.h>

#define WINDOW_BASE 0x10000ULL
#define WINDOW_SIZE 0x10000ULL
#define WINDOW_END (WINDOW_BASE + WINDOW_SIZE)
#define ERR_SIZE 256

static u8 memory[WINDOW_SIZE];
static const struct phys_window window = { WINDOW_BASE, WINDOW_SIZE, memory };
static struct boot_info info;
static char err[ERR_SIZE];

static int clear_memory(void **state)
{
	(void)state;
	memset(memory, 0, sizeof(memory));
	memset(&info, 0x5a, sizeof(info));
	memset(err, 0, sizeof(err));
	return 0;
}

static u8 *at(u64 phys)
{
	assert_true(phys >= WINDOW_BASE && phys < WINDOW_END);
	return memory + (phys - WINDOW_BASE);
}

static void store_u32(u64 phys, u32 value)
{
	for (int i = 0; i < 4; i++)
		at(phys + i)[0] = (u8)(value >> (8 * i));
}

static void store_u64(u64 phys, u64 value)
{
	store_u32(phys, (u32)value);
	store_u32(phys + 4, (u32)(value >> 32));
}

static void store_string(u64 phys, const char *s)
{
	memcpy(at(phys), s, strlen(s) + 1);
}

static int parse(u32 magic, u64 info_phys)
{
	return multiboot_parse(magic, info_phys, &window, &info, err, sizeof(err));
}

static int parse_mb1(u64 info_phys)
{
	return parse(MULTIBOOT1_BOOTLOADER_MAGIC, info_phys);
}

static void assert_parse_fails(u32 magic, u64 info_phys, const char *keyword)
{
	assert_int_equal(parse(magic, info_phys), -1);
	assert_true(strlen(err) > 0);
	assert_null(strchr(err, '\n'));
	if (!strstr(err, keyword))
		fail_msg("error '%s' does not mention '%s'", err, keyword);
	assert_non_null(info.cmdline);
	assert_non_null(info.loader_name);
}

static void assert_region(unsigned index, u64 base, u64 length, u32 type)
{
	assert_true(index < info.mem_count);
	assert_int_equal(info.mem[index].base, base);
	assert_int_equal(info.mem[index].length, length);
	assert_int_equal(info.mem[index].type, type);
}

static bool points_into_window(const char *s)
{
	return (const u8 *)s >= memory && (const u8 *)s < memory + sizeof(memory);
}

/* ---- Multiboot1 layout ---- */

#define MB1_INFO_PHYS 0x10100ULL
#define MB1_CMDLINE_PHYS 0x10400ULL
#define MB1_LOADER_PHYS 0x10500ULL
#define MB1_MODS_PHYS 0x10600ULL
#define MB1_MOD_STRINGS_PHYS 0x10700ULL
#define MB1_MMAP_PHYS 0x10800ULL

#define MB1_E820_ENTRY_SIZE 20

struct e820_entry {
	u64 base;
	u64 length;
	u32 type;
};

/* What a BIOS with 128 MiB typically reports. */
static const struct e820_entry bios_map[] = {
	{ 0x0, 0x9fc00, 1 },
	{ 0x9fc00, 0x400, 2 },
	{ 0xf0000, 0x10000, 2 },
	{ 0x100000, 0x7ee0000, 1 },
	{ 0x7fe0000, 0x20000, 3 },
	{ 0xfffc0000, 0x40000, 2 },
};

static void mb1_set_flags(u32 flags)
{
	store_u32(MB1_INFO_PHYS + 0, flags);
}

static u32 mb1_flags(void)
{
	u32 flags;
	memcpy(&flags, at(MB1_INFO_PHYS), sizeof(flags));
	return flags;
}

static void mb1_add_flags(u32 flags)
{
	mb1_set_flags(mb1_flags() | flags);
}

static void mb1_basic_memory(u32 lower_kib, u32 upper_kib)
{
	mb1_add_flags(1u << 0);
	store_u32(MB1_INFO_PHYS + 4, lower_kib);
	store_u32(MB1_INFO_PHYS + 8, upper_kib);
}

static void mb1_cmdline(u64 phys)
{
	mb1_add_flags(1u << 2);
	store_u32(MB1_INFO_PHYS + 16, (u32)phys);
}

static void mb1_loader_name(u64 phys)
{
	mb1_add_flags(1u << 9);
	store_u32(MB1_INFO_PHYS + 64, (u32)phys);
}

static void mb1_modules(u32 count, u64 list_phys)
{
	mb1_add_flags(1u << 3);
	store_u32(MB1_INFO_PHYS + 20, count);
	store_u32(MB1_INFO_PHYS + 24, (u32)list_phys);
}

static void mb1_module(u64 list_phys, unsigned index, u32 start, u32 end, u64 string_phys)
{
	u64 entry = list_phys + 16 * index;
	store_u32(entry + 0, start);
	store_u32(entry + 4, end);
	store_u32(entry + 8, (u32)string_phys);
	store_u32(entry + 12, 0);
}

static void mb1_mmap(u64 phys, u32 length)
{
	mb1_add_flags(1u << 6);
	store_u32(MB1_INFO_PHYS + 44, length);
	store_u32(MB1_INFO_PHYS + 48, (u32)phys);
}

/* Writes entries with the given 'size' field; returns the mmap_length. */
static u32 mb1_store_entries(u64 phys, const struct e820_entry *entries, size_t count,
			     u32 size_field)
{
	u64 cursor = phys;
	for (size_t i = 0; i < count; i++) {
		store_u32(cursor, size_field);
		store_u64(cursor + 4, entries[i].base);
		store_u64(cursor + 12, entries[i].length);
		store_u32(cursor + 20, entries[i].type);
		cursor += 4 + size_field;
	}
	return (u32)(cursor - phys);
}

static void build_grub_mb1(void)
{
	store_string(MB1_CMDLINE_PHYS, "/boot/presidio.elf console=com1");
	store_string(MB1_LOADER_PHYS, "GRUB 2.06");
	store_string(MB1_MOD_STRINGS_PHYS, "/boot/linux console=ttyS0");
	store_string(MB1_MOD_STRINGS_PHYS + 0x80, "/boot/initrd.img");
	mb1_basic_memory(639, 130944);
	mb1_cmdline(MB1_CMDLINE_PHYS);
	mb1_loader_name(MB1_LOADER_PHYS);
	mb1_modules(2, MB1_MODS_PHYS);
	mb1_module(MB1_MODS_PHYS, 0, 0x200000, 0x2a1000, MB1_MOD_STRINGS_PHYS);
	mb1_module(MB1_MODS_PHYS, 1, 0x2a1000, 0x400000, MB1_MOD_STRINGS_PHYS + 0x80);
	u32 length = mb1_store_entries(MB1_MMAP_PHYS, bios_map, ARRAY_SIZE(bios_map),
				       MB1_E820_ENTRY_SIZE);
	mb1_mmap(MB1_MMAP_PHYS, length);
}

static void test_mb1_grub(void **state)
{
	(void)state;
	build_grub_mb1();
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_int_equal(info.protocol, 1);
	assert_string_equal(info.cmdline, "/boot/presidio.elf console=com1");
	assert_string_equal(info.loader_name, "GRUB 2.06");
	assert_true(points_into_window(info.cmdline));
	assert_int_equal(info.info_start, MB1_INFO_PHYS);
	assert_int_equal(info.info_end, MB1_INFO_PHYS + 116);

	assert_int_equal(info.mem_source, MEM_MAP_E820);
	assert_int_equal(info.mem_count, ARRAY_SIZE(bios_map));
	assert_false(info.mem_truncated);
	for (unsigned i = 0; i < ARRAY_SIZE(bios_map); i++)
		assert_region(i, bios_map[i].base, bios_map[i].length, bios_map[i].type);

	assert_int_equal(info.module_count, 2);
	assert_false(info.modules_truncated);
	assert_int_equal(info.modules[0].start, 0x200000);
	assert_int_equal(info.modules[0].end, 0x2a1000);
	assert_string_equal(info.modules[0].cmdline, "/boot/linux console=ttyS0");
	assert_true(points_into_window(info.modules[0].cmdline));
	assert_int_equal(info.modules[1].start, 0x2a1000);
	assert_int_equal(info.modules[1].end, 0x400000);
	assert_string_equal(info.modules[1].cmdline, "/boot/initrd.img");

	assert_int_equal(info.rsdp_phys, 0);
	assert_int_equal(info.rsdp_len, 0);
	assert_false(info.has_framebuffer);
	assert_false(info.efi_system_table);
	assert_int_equal(info.unknown_tags, 0);
	assert_string_equal(err, "");
}

static void test_mb1_minimal_strings_absent(void **state)
{
	(void)state;
	mb1_basic_memory(640, 1024);
	mb1_modules(1, MB1_MODS_PHYS);
	mb1_module(MB1_MODS_PHYS, 0, 0x300000, 0x300000, 0);
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_string_equal(info.cmdline, "");
	assert_string_equal(info.loader_name, "");
	assert_int_equal(info.module_count, 1);
	assert_string_equal(info.modules[0].cmdline, "");
}

static void test_mb1_basic_meminfo_only(void **state)
{
	(void)state;
	mb1_basic_memory(639, 130944);
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_int_equal(info.mem_source, MEM_MAP_BASIC);
	assert_int_equal(info.mem_count, 2);
	assert_region(0, 0, 639 * 1024ULL, MEM_USABLE);
	assert_region(1, 0x100000, 130944 * 1024ULL, MEM_USABLE);
}

static void test_mb1_empty_mmap_falls_back_to_basic(void **state)
{
	(void)state;
	mb1_basic_memory(600, 2048);
	mb1_mmap(0x7000, 0); /* nothing to read, so the address is never checked */
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_int_equal(info.mem_source, MEM_MAP_BASIC);
	assert_int_equal(info.mem_count, 2);
	assert_region(1, 0x100000, 2048 * 1024ULL, MEM_USABLE);
}

static void test_mb1_no_memory_map(void **state)
{
	(void)state;
	store_string(MB1_CMDLINE_PHYS, "console=com1");
	mb1_cmdline(MB1_CMDLINE_PHYS);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "no memory map");
	assert_non_null(strstr(err, "multiboot"));
}

static void test_mb1_entry_size_stride_and_type_normalization(void **state)
{
	(void)state;
	static const struct e820_entry entries[] = {
		{ 0x0, 0x9f000, 1 },
		{ 0x9f000, 0, 1 },          /* zero length: dropped */
		{ 0x100000, 0x1000000, 7 }, /* unknown type: reserved */
		{ 0x2000000, 0x1000, 0 },   /* type 0: reserved */
		{ 0x3000000, 0x2000, 4 },
		{ 0x4000000, 0x3000, 5 },
	};
	/* A loader may use bigger entries (e.g. ACPI 3.0 attributes); step by size + 4. */
	u32 length = mb1_store_entries(MB1_MMAP_PHYS, entries, ARRAY_SIZE(entries), 24);
	mb1_mmap(MB1_MMAP_PHYS, length);
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_int_equal(info.mem_source, MEM_MAP_E820);
	assert_int_equal(info.mem_count, 5);
	assert_region(0, 0x0, 0x9f000, MEM_USABLE);
	assert_region(1, 0x100000, 0x1000000, MEM_RESERVED);
	assert_region(2, 0x2000000, 0x1000, MEM_RESERVED);
	assert_region(3, 0x3000000, 0x2000, MEM_ACPI_NVS);
	assert_region(4, 0x4000000, 0x3000, MEM_BAD);
}

static void test_mb1_too_many_regions(void **state)
{
	(void)state;
	struct e820_entry entries[BOOT_MAX_MEM_REGIONS + 5];
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
		entries[i] = (struct e820_entry){ i * 0x100000, 0x80000, 1 + i % 2 };
	u32 length = mb1_store_entries(MB1_MMAP_PHYS, entries, ARRAY_SIZE(entries),
				       MB1_E820_ENTRY_SIZE);
	mb1_mmap(MB1_MMAP_PHYS, length);
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_int_equal(info.mem_count, BOOT_MAX_MEM_REGIONS);
	assert_true(info.mem_truncated);
	assert_region(0, 0, 0x80000, MEM_USABLE);
	assert_region(BOOT_MAX_MEM_REGIONS - 1, (BOOT_MAX_MEM_REGIONS - 1) * 0x100000ULL,
		      0x80000, MEM_RESERVED);
}

static void test_mb1_too_many_modules(void **state)
{
	(void)state;
	const unsigned count = BOOT_MAX_MODULES + 3;
	mb1_basic_memory(640, 1024);
	/* Only the kept modules are read, so the list may be shorter in memory. */
	mb1_modules(count, MB1_MODS_PHYS);
	for (unsigned i = 0; i < BOOT_MAX_MODULES; i++)
		mb1_module(MB1_MODS_PHYS, i, 0x1000000 + i * 0x1000,
			   0x1000000 + (i + 1) * 0x1000, 0);
	assert_int_equal(parse_mb1(MB1_INFO_PHYS), 0);
	assert_int_equal(info.module_count, BOOT_MAX_MODULES);
	assert_true(info.modules_truncated);
	assert_int_equal(info.modules[BOOT_MAX_MODULES - 1].end,
			 0x1000000 + BOOT_MAX_MODULES * 0x1000);
}

static void test_mb1_module_ends_before_start(void **state)
{
	(void)state;
	build_grub_mb1();
	mb1_module(MB1_MODS_PHYS, 1, 0x400000, 0x3ff000, MB1_MOD_STRINGS_PHYS + 0x80);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "module 1 ends");
}

static void test_mb1_info_outside_window(void **state)
{
	(void)state;
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, 0x8000, "outside readable memory");
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, WINDOW_END - 32,
			   "outside readable memory");
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, ~0ULL - 8, "outside readable memory");
}

static void test_mb1_pointers_outside_window(void **state)
{
	(void)state;
	build_grub_mb1();
	mb1_cmdline(0x9000);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "command line");

	build_grub_mb1();
	mb1_loader_name(WINDOW_END);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "boot loader name");

	build_grub_mb1();
	mb1_modules(2, WINDOW_END - 16);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "module list");

	build_grub_mb1();
	mb1_module(MB1_MODS_PHYS, 0, 0x200000, 0x2a1000, 0xfffffff0);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "module command line");

	build_grub_mb1();
	mb1_mmap(WINDOW_END - 0x40, 0x48);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "memory map");
}

static void test_mb1_unterminated_cmdline(void **state)
{
	(void)state;
	build_grub_mb1();
	memset(at(WINDOW_END - 16), 'A', 16);
	mb1_cmdline(WINDOW_END - 16);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "NUL-terminated");
}

static void test_mb1_malformed_mmap(void **state)
{
	(void)state;
	static const struct e820_entry overflowing[] = {
		{ 0x0, 0x9f000, 1 },
		{ 0xfffffffffffff000ULL, 0x2000, 2 },
	};
	u32 length = mb1_store_entries(MB1_MMAP_PHYS, overflowing, 2, MB1_E820_ENTRY_SIZE);
	mb1_mmap(MB1_MMAP_PHYS, length);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "address space");

	/* An entry ending exactly at 2^64 is not representable either. */
	static const struct e820_entry to_the_top[] = { { 0xfffffffffffff000ULL, 0x1000, 2 } };
	length = mb1_store_entries(MB1_MMAP_PHYS, to_the_top, 1, MB1_E820_ENTRY_SIZE);
	mb1_mmap(MB1_MMAP_PHYS, length);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "address space");

	length = mb1_store_entries(MB1_MMAP_PHYS, bios_map, 2, 16); /* size below 20 */
	mb1_mmap(MB1_MMAP_PHYS, length);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "size");

	length = mb1_store_entries(MB1_MMAP_PHYS, bios_map, 2, MB1_E820_ENTRY_SIZE);
	mb1_mmap(MB1_MMAP_PHYS, length - 4); /* second entry cut short */
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "truncated");

	store_u32(MB1_MMAP_PHYS, 0x1000); /* first entry claims more than mmap_length */
	mb1_mmap(MB1_MMAP_PHYS, length);
	assert_parse_fails(MULTIBOOT1_BOOTLOADER_MAGIC, MB1_INFO_PHYS, "size");
}

/* ---- Multiboot2 layout ---- */

#define MB2_INFO_PHYS 0x11000ULL

struct mb2_builder {
	u64 start;
	u64 cursor; /* next tag, 8-byte aligned */
};

static struct mb2_builder mb2_begin(void)
{
	return (struct mb2_builder){ MB2_INFO_PHYS, MB2_INFO_PHYS + 8 };
}

/* Starts a tag of 'size' bytes and returns its address; the caller fills the payload. */
static u64 mb2_tag(struct mb2_builder *b, u32 type, u32 size)
{
	u64 tag = b->cursor;
	store_u32(tag, type);
	store_u32(tag + 4, size);
	b->cursor += (size + 7) & ~7u;
	return tag;
}

static u32 mb2_end(struct mb2_builder *b)
{
	mb2_tag(b, 0, 8);
	u32 total_size = (u32)(b->cursor - b->start);
	store_u32(b->start, total_size);
	store_u32(b->start + 4, 0);
	return total_size;
}

static void mb2_string_tag(struct mb2_builder *b, u32 type, const char *s)
{
	u64 tag = mb2_tag(b, type, 8 + (u32)strlen(s) + 1);
	store_string(tag + 8, s);
}

static void mb2_module(struct mb2_builder *b, u32 start, u32 end, const char *s)
{
	u64 tag = mb2_tag(b, 3, 16 + (u32)strlen(s) + 1);
	store_u32(tag + 8, start);
	store_u32(tag + 12, end);
	store_string(tag + 16, s);
}

static void mb2_meminfo(struct mb2_builder *b, u32 lower_kib, u32 upper_kib)
{
	u64 tag = mb2_tag(b, 4, 16);
	store_u32(tag + 8, lower_kib);
	store_u32(tag + 12, upper_kib);
}

static void mb2_mmap(struct mb2_builder *b, u32 entry_size,
		     const struct e820_entry *entries, size_t count)
{
	u64 tag = mb2_tag(b, 6, 16 + entry_size * (u32)count);
	store_u32(tag + 8, entry_size);
	store_u32(tag + 12, 0);
	for (size_t i = 0; i < count; i++) {
		u64 entry = tag + 16 + entry_size * i;
		store_u64(entry, entries[i].base);
		store_u64(entry + 8, entries[i].length);
		store_u32(entry + 16, entries[i].type);
		store_u32(entry + 20, 0);
	}
}

struct efi_descriptor {
	u32 type;
	u64 phys_start;
	u64 pages;
};

static void mb2_efi_mmap(struct mb2_builder *b, u32 descriptor_size,
			 const struct efi_descriptor *descriptors, size_t count)
{
	u64 tag = mb2_tag(b, 17, 16 + descriptor_size * (u32)count);
	store_u32(tag + 8, descriptor_size);
	store_u32(tag + 12, 1);
	for (size_t i = 0; i < count; i++) {
		u64 descriptor = tag + 16 + descriptor_size * i;
		store_u32(descriptor, descriptors[i].type);
		store_u32(descriptor + 4, 0);
		store_u64(descriptor + 8, descriptors[i].phys_start);
		store_u64(descriptor + 16, 0);
		store_u64(descriptor + 24, descriptors[i].pages);
		store_u64(descriptor + 32, 0xf); /* UC|WC|WT|WB */
	}
}

static void mb2_rsdp(struct mb2_builder *b, u32 type, const u8 *rsdp, u32 length)
{
	u64 tag = mb2_tag(b, type, 8 + length);
	memcpy(at(tag + 8), rsdp, length);
}

static void mb2_framebuffer(struct mb2_builder *b)
{
	u64 tag = mb2_tag(b, 8, 32);
	store_u64(tag + 8, 0xfd000000);
	store_u32(tag + 16, 4096);
	store_u32(tag + 20, 1024);
	store_u32(tag + 24, 768);
	at(tag + 28)[0] = 32;
	at(tag + 29)[0] = 1;
}

static void mb2_efi64(struct mb2_builder *b)
{
	u64 tag = mb2_tag(b, 12, 16);
	store_u64(tag + 8, 0x7f9ee018);
}

static void make_rsdp(u8 *rsdp, u8 revision)
{
	memset(rsdp, 0, 36);
	memcpy(rsdp, "RSD PTR ", 8);
	memcpy(rsdp + 9, "BOCHS ", 6);
	rsdp[15] = revision;
	rsdp[16] = 0x78; /* RSDT at 0x7fe2378 */
	rsdp[17] = 0x23;
	rsdp[18] = 0xfe;
	rsdp[19] = 0x07;
	rsdp[20] = 36;
	for (int i = 21; i < 36; i++)
		rsdp[i] = (u8)(0xc0 + i);
}

static int parse_mb2(void)
{
	return parse(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS);
}

static const struct e820_entry uefi_e820[] = {
	{ 0x0, 0xa0000, 1 },
	{ 0x100000, 0x700000, 1 },
	{ 0x800000, 0x8000, 4 },
	{ 0x808000, 0x7cf8000, 1 },
	{ 0x7f00000, 0x100000, 3 },
	{ 0xffc00000, 0x400000, 2 },
};

static const struct efi_descriptor ovmf_map[] = {
	{ 7, 0x0, 0xa0 },
	{ 7, 0x100000, 0x700 },
	{ 10, 0x800000, 0x8 },
	{ 4, 0x808000, 0x100 },
	{ 9, 0x7f00000, 0x100 },
	{ 11, 0xffc00000, 0x400 },
};

static void test_mb2_full_e820_wins(void **state)
{
	(void)state;
	u8 rsdp[36];
	make_rsdp(rsdp, 2);
	struct mb2_builder b = mb2_begin();
	mb2_string_tag(&b, 1, "console=com2 loglevel=debug");
	mb2_string_tag(&b, 2, "GRUB 2.12");
	mb2_module(&b, 0x1000000, 0x1800000, "/boot/linux root=/dev/vda");
	mb2_module(&b, 0x1800000, 0x1c00000, "/boot/initrd.img");
	mb2_meminfo(&b, 639, 261120);
	u64 boot_device = mb2_tag(&b, 5, 20);
	store_u32(boot_device + 8, 0x80);
	mb2_mmap(&b, 24, uefi_e820, ARRAY_SIZE(uefi_e820));
	mb2_framebuffer(&b);
	mb2_efi64(&b);
	mb2_rsdp(&b, 15, rsdp, 36);
	mb2_efi_mmap(&b, 48, ovmf_map, ARRAY_SIZE(ovmf_map));
	u64 load_base = mb2_tag(&b, 21, 12);
	store_u32(load_base + 8, 0x200000);
	u32 total_size = mb2_end(&b);

	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.protocol, 2);
	assert_string_equal(info.cmdline, "console=com2 loglevel=debug");
	assert_string_equal(info.loader_name, "GRUB 2.12");
	assert_true(points_into_window(info.cmdline));
	assert_true(points_into_window(info.loader_name));
	assert_int_equal(info.info_start, MB2_INFO_PHYS);
	assert_int_equal(info.info_end, MB2_INFO_PHYS + total_size);

	assert_int_equal(info.mem_source, MEM_MAP_E820);
	assert_int_equal(info.mem_count, ARRAY_SIZE(uefi_e820));
	for (unsigned i = 0; i < ARRAY_SIZE(uefi_e820); i++)
		assert_region(i, uefi_e820[i].base, uefi_e820[i].length, uefi_e820[i].type);

	assert_int_equal(info.module_count, 2);
	assert_int_equal(info.modules[0].start, 0x1000000);
	assert_int_equal(info.modules[0].end, 0x1800000);
	assert_string_equal(info.modules[0].cmdline, "/boot/linux root=/dev/vda");
	assert_true(points_into_window(info.modules[0].cmdline));
	assert_int_equal(info.modules[1].start, 0x1800000);
	assert_int_equal(info.modules[1].end, 0x1c00000);
	assert_string_equal(info.modules[1].cmdline, "/boot/initrd.img");

	assert_int_equal(info.rsdp_phys, 0);
	assert_int_equal(info.rsdp_revision, 2);
	assert_int_equal(info.rsdp_len, 36);
	assert_memory_equal(info.rsdp_copy, rsdp, 36);
	assert_true(info.has_framebuffer);
	assert_true(info.efi_system_table);
	assert_int_equal(info.unknown_tags, 2); /* boot device, load base address */
}

static void test_mb2_efi_map_only(void **state)
{
	(void)state;
	/* Every EFI type 0..14, spaced apart so none merge, 3 pages each. */
	static const u32 expected_type[15] = {
		[0] = MEM_RESERVED,          /* EfiReservedMemoryType */
		[1] = MEM_USABLE,            /* EfiLoaderCode */
		[2] = MEM_USABLE,            /* EfiLoaderData */
		[3] = MEM_USABLE,            /* EfiBootServicesCode */
		[4] = MEM_USABLE,            /* EfiBootServicesData */
		[5] = MEM_RESERVED,          /* EfiRuntimeServicesCode */
		[6] = MEM_RESERVED,          /* EfiRuntimeServicesData */
		[7] = MEM_USABLE,            /* EfiConventionalMemory */
		[8] = MEM_BAD,               /* EfiUnusableMemory */
		[9] = MEM_ACPI_RECLAIMABLE,  /* EfiACPIReclaimMemory */
		[10] = MEM_ACPI_NVS,         /* EfiACPIMemoryNVS */
		[11] = MEM_RESERVED,         /* EfiMemoryMappedIO */
		[12] = MEM_RESERVED,         /* EfiMemoryMappedIOPortSpace */
		[13] = MEM_RESERVED,         /* EfiPalCode */
		[14] = MEM_RESERVED,         /* EfiPersistentMemory */
	};
	struct efi_descriptor descriptors[15];
	for (u32 i = 0; i < 15; i++)
		descriptors[i] = (struct efi_descriptor){ i, 0x100000ULL * (i + 1), 3 };
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 261120); /* the EFI map still wins over basic meminfo */
	mb2_efi_mmap(&b, 48, descriptors, 15);
	mb2_end(&b);

	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.mem_source, MEM_MAP_EFI);
	assert_int_equal(info.mem_count, 15);
	for (unsigned i = 0; i < 15; i++)
		assert_region(i, 0x100000ULL * (i + 1), 3 * 4096, expected_type[i]);
	assert_int_equal(info.rsdp_len, 0);
	assert_int_equal(info.rsdp_phys, 0);
	assert_string_equal(info.cmdline, "");
	assert_string_equal(info.loader_name, "");
}

static void test_mb2_efi_adjacent_descriptors_merge(void **state)
{
	(void)state;
	static const struct efi_descriptor descriptors[] = {
		{ 7, 0x0, 0xa0 },        /* conventional ...           */
		{ 3, 0xa0000, 0x10 },    /* ... boot services code: also usable, adjacent */
		{ 7, 0x100000, 0x100 },  /* gap before it: new region */
		{ 9, 0x200000, 0x10 },   /* adjacent but another type */
		{ 9, 0x210000, 0x10 },   /* merges with the previous */
	};
	struct mb2_builder b = mb2_begin();
	mb2_efi_mmap(&b, 40, descriptors, ARRAY_SIZE(descriptors));
	mb2_end(&b);

	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.mem_source, MEM_MAP_EFI);
	assert_int_equal(info.mem_count, 3);
	assert_region(0, 0x0, 0xb0000, MEM_USABLE);
	assert_region(1, 0x100000, 0x100000, MEM_USABLE);
	assert_region(2, 0x200000, 0x20000, MEM_ACPI_RECLAIMABLE);
}

static void test_mb2_efi_page_count_overflow(void **state)
{
	(void)state;
	static const struct efi_descriptor huge[] = { { 7, 0x0, 1ULL << 52 } };
	struct mb2_builder b = mb2_begin();
	mb2_efi_mmap(&b, 48, huge, 1);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "address space");

	static const struct efi_descriptor high[] = { { 7, 0xffffffffff000000ULL, 0x1000 } };
	b = mb2_begin();
	mb2_efi_mmap(&b, 48, high, 1);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "address space");
}

static void test_mb2_basic_meminfo_only(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_string_tag(&b, 1, "");
	mb2_meminfo(&b, 639, 523264);
	mb2_end(&b);
	assert_int_equal(parse_mb2(), 0);
	assert_string_equal(info.cmdline, "");
	assert_int_equal(info.mem_source, MEM_MAP_BASIC);
	assert_int_equal(info.mem_count, 2);
	assert_region(0, 0, 639 * 1024ULL, MEM_USABLE);
	assert_region(1, 0x100000, 523264 * 1024ULL, MEM_USABLE);
}

static void test_mb2_empty_mmap_falls_back(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_mmap(&b, 24, NULL, 0);
	mb2_meminfo(&b, 512, 1024);
	mb2_end(&b);
	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.mem_source, MEM_MAP_BASIC);
	assert_region(0, 0, 512 * 1024ULL, MEM_USABLE);
}

static void test_mb2_no_memory_map(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_string_tag(&b, 1, "console=com1");
	mb2_string_tag(&b, 2, "GRUB 2.12");
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "no memory map");
	assert_non_null(strstr(err, "multiboot2"));
}

static void test_mb2_old_rsdp(void **state)
{
	(void)state;
	u8 rsdp[36];
	make_rsdp(rsdp, 0);
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	mb2_rsdp(&b, 14, rsdp, 20);
	mb2_end(&b);
	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.rsdp_phys, 0);
	assert_int_equal(info.rsdp_revision, 1);
	assert_int_equal(info.rsdp_len, 20);
	assert_memory_equal(info.rsdp_copy, rsdp, 20);
}

static void test_mb2_new_rsdp_preferred_over_old(void **state)
{
	(void)state;
	u8 old_rsdp[36], new_rsdp[36];
	make_rsdp(old_rsdp, 0);
	make_rsdp(new_rsdp, 2);
	memcpy(new_rsdp + 9, "OVMF  ", 6);
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	mb2_rsdp(&b, 15, new_rsdp, 36);
	mb2_rsdp(&b, 14, old_rsdp, 20);
	mb2_end(&b);
	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.rsdp_revision, 2);
	assert_int_equal(info.rsdp_len, 36);
	assert_memory_equal(info.rsdp_copy, new_rsdp, 36);
}

static void test_mb2_short_rsdp_tag(void **state)
{
	(void)state;
	u8 rsdp[36];
	make_rsdp(rsdp, 2);
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	mb2_rsdp(&b, 15, rsdp, 12);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "ACPI RSDP");
}

static void test_mb2_too_many_regions_and_modules(void **state)
{
	(void)state;
	struct e820_entry entries[BOOT_MAX_MEM_REGIONS + 2];
	for (size_t i = 0; i < ARRAY_SIZE(entries); i++)
		entries[i] = (struct e820_entry){ i * 0x200000, 0x100000, 1 };
	struct mb2_builder b = mb2_begin();
	mb2_mmap(&b, 24, entries, ARRAY_SIZE(entries));
	for (unsigned i = 0; i < BOOT_MAX_MODULES + 1; i++)
		mb2_module(&b, 0x10000000 + i * 0x1000, 0x10000000 + i * 0x1000 + 0x800, "m");
	mb2_end(&b);

	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.mem_count, BOOT_MAX_MEM_REGIONS);
	assert_true(info.mem_truncated);
	assert_region(BOOT_MAX_MEM_REGIONS - 1, (BOOT_MAX_MEM_REGIONS - 1) * 0x200000ULL,
		      0x100000, MEM_USABLE);
	assert_int_equal(info.module_count, BOOT_MAX_MODULES);
	assert_true(info.modules_truncated);
	assert_int_equal(info.modules[BOOT_MAX_MODULES - 1].start,
			 0x10000000 + (BOOT_MAX_MODULES - 1) * 0x1000);
}

static void test_mb2_wider_mmap_entries(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_mmap(&b, 32, uefi_e820, ARRAY_SIZE(uefi_e820));
	mb2_end(&b);
	assert_int_equal(parse_mb2(), 0);
	assert_int_equal(info.mem_count, ARRAY_SIZE(uefi_e820));
	assert_region(5, 0xffc00000, 0x400000, MEM_RESERVED);
}

static void test_mb2_module_ends_before_start(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	mb2_module(&b, 0x2000000, 0x1fff000, "backwards");
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "before it starts");
}

static void test_mb2_tag_smaller_than_header(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	u64 tag = mb2_tag(&b, 1, 8);
	mb2_end(&b);
	store_u32(tag + 4, 4);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS,
			   "less than its 8-byte header");
}

static void test_mb2_tag_past_total_size(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	u64 tag = mb2_tag(&b, 1, 16);
	store_string(tag + 8, "abc");
	mb2_end(&b);
	store_u32(tag + 4, 0x100);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "runs past");
}

static void test_mb2_missing_end_tag(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	store_u32(b.start, (u32)(b.cursor - b.start)); /* no end tag inside total_size */
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "end tag");
}

static void test_mb2_bad_total_size(void **state)
{
	(void)state;
	store_u32(MB2_INFO_PHYS, 8);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "total size");

	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	mb2_end(&b);
	store_u32(MB2_INFO_PHYS, (u32)(WINDOW_END - MB2_INFO_PHYS + 8));
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS,
			   "outside readable memory");
	store_u32(MB2_INFO_PHYS, 0xfffffff8);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS,
			   "outside readable memory");
}

static void test_mb2_info_outside_window(void **state)
{
	(void)state;
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000, "outside readable memory");
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, WINDOW_END - 4,
			   "outside readable memory");
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, ~0ULL - 3, "outside readable memory");
}

static void test_mb2_mmap_entry_size_too_small(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_mmap(&b, 20, uefi_e820, 2);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "20-byte entries");
}

static void test_mb2_efi_descriptor_size_too_small(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_efi_mmap(&b, 32, ovmf_map, 2);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "32-byte descriptors");
}

static void test_mb2_mmap_overflow(void **state)
{
	(void)state;
	static const struct e820_entry entries[] = {
		{ 0x0, 0xa0000, 1 },
		{ 0x8000000000000000ULL, 0x8000000000000000ULL, 2 },
	};
	struct mb2_builder b = mb2_begin();
	mb2_mmap(&b, 24, entries, 2);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "address space");
}

static void test_mb2_unterminated_strings(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	u64 tag = mb2_tag(&b, 1, 8 + 5);
	memcpy(at(tag + 8), "abcde", 5); /* padding after it is zero, but outside the tag */
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "command line");

	memset(memory, 0, sizeof(memory));
	b = mb2_begin();
	mb2_meminfo(&b, 639, 1024);
	tag = mb2_tag(&b, 3, 16 + 3);
	store_u32(tag + 8, 0x100000);
	store_u32(tag + 12, 0x200000);
	memcpy(at(tag + 16), "xyz", 3);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "module command line");
}

static void test_mb2_short_module_and_meminfo_tags(void **state)
{
	(void)state;
	struct mb2_builder b = mb2_begin();
	u64 tag = mb2_tag(&b, 3, 12);
	store_u32(tag + 8, 0x100000);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "module tag");

	memset(memory, 0, sizeof(memory));
	b = mb2_begin();
	mb2_tag(&b, 4, 12);
	mb2_end(&b);
	assert_parse_fails(MULTIBOOT2_BOOTLOADER_MAGIC, MB2_INFO_PHYS, "basic memory");
}

/* ---- both ---- */

static void test_wrong_magic(void **state)
{
	(void)state;
	build_grub_mb1();
	assert_parse_fails(0x12345678, MB1_INFO_PHYS, "Multiboot");
	assert_non_null(strstr(err, "0x12345678"));
	assert_int_equal(info.mem_count, 0);
	assert_int_equal(info.module_count, 0);
}

static void test_small_error_buffer(void **state)
{
	(void)state;
	char small[8];
	memset(small, 'z', sizeof(small));
	assert_int_equal(multiboot_parse(0, 0, &window, &info, small, sizeof(small)), -1);
	assert_int_equal(small[7], 0);
	assert_int_equal(multiboot_parse(0, 0, &window, &info, NULL, 0), -1);
}

static void test_mem_type_names(void **state)
{
	(void)state;
	assert_string_equal(mem_type_name(MEM_USABLE), "usable");
	assert_string_equal(mem_type_name(MEM_RESERVED), "reserved");
	assert_string_equal(mem_type_name(MEM_ACPI_RECLAIMABLE), "ACPI reclaimable");
	assert_string_equal(mem_type_name(MEM_ACPI_NVS), "ACPI NVS");
	assert_string_equal(mem_type_name(MEM_BAD), "bad");
	assert_string_equal(mem_type_name(0), "unknown");
	assert_string_equal(mem_type_name(99), "unknown");
}

#define TEST(name) cmocka_unit_test_setup(name, clear_memory)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(test_mb1_grub),
		TEST(test_mb1_minimal_strings_absent),
		TEST(test_mb1_basic_meminfo_only),
		TEST(test_mb1_empty_mmap_falls_back_to_basic),
		TEST(test_mb1_no_memory_map),
		TEST(test_mb1_entry_size_stride_and_type_normalization),
		TEST(test_mb1_too_many_regions),
		TEST(test_mb1_too_many_modules),
		TEST(test_mb1_module_ends_before_start),
		TEST(test_mb1_info_outside_window),
		TEST(test_mb1_pointers_outside_window),
		TEST(test_mb1_unterminated_cmdline),
		TEST(test_mb1_malformed_mmap),
		TEST(test_mb2_full_e820_wins),
		TEST(test_mb2_efi_map_only),
		TEST(test_mb2_efi_adjacent_descriptors_merge),
		TEST(test_mb2_efi_page_count_overflow),
		TEST(test_mb2_basic_meminfo_only),
		TEST(test_mb2_empty_mmap_falls_back),
		TEST(test_mb2_no_memory_map),
		TEST(test_mb2_old_rsdp),
		TEST(test_mb2_new_rsdp_preferred_over_old),
		TEST(test_mb2_short_rsdp_tag),
		TEST(test_mb2_too_many_regions_and_modules),
		TEST(test_mb2_wider_mmap_entries),
		TEST(test_mb2_module_ends_before_start),
		TEST(test_mb2_tag_smaller_than_header),
		TEST(test_mb2_tag_past_total_size),
		TEST(test_mb2_missing_end_tag),
		TEST(test_mb2_bad_total_size),
		TEST(test_mb2_info_outside_window),
		TEST(test_mb2_mmap_entry_size_too_small),
		TEST(test_mb2_efi_descriptor_size_too_small),
		TEST(test_mb2_mmap_overflow),
		TEST(test_mb2_unterminated_strings),
		TEST(test_mb2_short_module_and_meminfo_tags),
		TEST(test_wrong_magic),
		TEST(test_small_error_buffer),
		TEST(test_mem_type_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
