/*
 * Multiboot1 / Multiboot2 information parser.
 *
 * Everything here is boot-loader data and is treated as hostile: every
 * physical address is translated through the phys_window with
 * overflow-safe bounds checks, every load is byte-wise (the structures
 * carry no alignment guarantee we can rely on), and every string must be
 * NUL-terminated inside the memory it was found in.
 */
#include "boot/bootinfo.h"
#include "lib/print.h"

#define U64_MAX_VALUE (~0ULL)

/* boot_info.protocol values. */
#define PROTOCOL_UNKNOWN 0
#define PROTOCOL_MULTIBOOT1 1
#define PROTOCOL_MULTIBOOT2 2

/* Multiboot1 information structure: field offsets. */
#define MB1_INFO_FLAGS 0
#define MB1_INFO_MEM_LOWER 4
#define MB1_INFO_MEM_UPPER 8
#define MB1_INFO_CMDLINE 16
#define MB1_INFO_MODS_COUNT 20
#define MB1_INFO_MODS_ADDR 24
#define MB1_INFO_MMAP_LENGTH 44
#define MB1_INFO_MMAP_ADDR 48
#define MB1_INFO_BOOT_LOADER_NAME 64
/* The fields read above end with boot_loader_name. */
#define MB1_INFO_READ_SIZE (MB1_INFO_BOOT_LOADER_NAME + 4)
/* The whole structure, through the framebuffer fields, as GRUB lays it out. */
#define MB1_INFO_SIZE 0x74

/* Multiboot1 'flags' bits: which fields are valid. */
#define MB1_FLAG_MEMORY BIT(0)
#define MB1_FLAG_CMDLINE BIT(2)
#define MB1_FLAG_MODS BIT(3)
#define MB1_FLAG_MMAP BIT(6)
#define MB1_FLAG_BOOT_LOADER_NAME BIT(9)
#define MB1_FLAG_FRAMEBUFFER BIT(12)

/* Multiboot1 module list entry. */
#define MB1_MODULE_START 0
#define MB1_MODULE_END 4
#define MB1_MODULE_STRING 8
#define MB1_MODULE_SIZE 16

/* Multiboot1 mmap: each entry is preceded by a 'size' field that excludes itself. */
#define MB1_MMAP_SIZE_FIELD 4

/* e820-style entry {u64 base; u64 length; u32 type}, shared by MB1 and MB2. */
#define E820_ENTRY_BASE 0
#define E820_ENTRY_LENGTH 8
#define E820_ENTRY_TYPE 16
#define E820_ENTRY_MIN_SIZE 20
#define E820_TYPE_MAX MEM_BAD

/* Multiboot2 information header and tag header. */
#define MB2_INFO_TOTAL_SIZE 0
#define MB2_INFO_HEADER_SIZE 8
#define MB2_INFO_MIN_SIZE (MB2_INFO_HEADER_SIZE + MB2_TAG_HEADER_SIZE)
#define MB2_TAG_TYPE 0
#define MB2_TAG_SIZE 4
#define MB2_TAG_HEADER_SIZE 8
#define MB2_TAG_ALIGN 8

enum multiboot2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_BOOT_LOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_MMAP = 6,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_EFI64_SYSTEM_TABLE = 12,
	MB2_TAG_ACPI_OLD_RSDP = 14,
	MB2_TAG_ACPI_NEW_RSDP = 15,
	MB2_TAG_EFI_MMAP = 17,
};

/* Offsets inside Multiboot2 tags (from the tag start). */
#define MB2_STRING_TAG_TEXT 8
#define MB2_MODULE_START 8
#define MB2_MODULE_END 12
#define MB2_MODULE_STRING 16
#define MB2_MEMINFO_LOWER 8
#define MB2_MEMINFO_UPPER 12
#define MB2_MEMINFO_SIZE 16
#define MB2_MMAP_ENTRY_SIZE 8
#define MB2_MMAP_ENTRIES 16
#define MB2_MMAP_ENTRY_MIN_SIZE 24
#define MB2_RSDP_COPY 8
#define MB2_EFI_MMAP_DESCRIPTOR_SIZE 8
#define MB2_EFI_MMAP_DESCRIPTORS 16

/* UEFI memory descriptor. */
#define EFI_DESCRIPTOR_TYPE 0
#define EFI_DESCRIPTOR_PHYS_START 8
#define EFI_DESCRIPTOR_NUM_PAGES 24
#define EFI_DESCRIPTOR_MIN_SIZE 40
#define EFI_PAGE_SHIFT 12

enum efi_memory_type {
	EFI_LOADER_CODE = 1,
	EFI_LOADER_DATA = 2,
	EFI_BOOT_SERVICES_CODE = 3,
	EFI_BOOT_SERVICES_DATA = 4,
	EFI_CONVENTIONAL_MEMORY = 7,
	EFI_UNUSABLE_MEMORY = 8,
	EFI_ACPI_RECLAIM_MEMORY = 9,
	EFI_ACPI_MEMORY_NVS = 10,
};

#define ACPI_RSDP_V1_SIZE 20
#define ACPI_RSDP_V2_SIZE 36
#define ACPI_RSDP_REVISION_V1 1
#define ACPI_RSDP_REVISION_V2 2

/* Basic meminfo: mem_lower counts from 0, mem_upper from 1 MiB, both in KiB. */
#define LOWER_MEMORY_BASE 0
#define UPPER_MEMORY_BASE (1 * MiB)

#define CORRUPT_ADVICE "the boot information is corrupt, so update or reinstall GRUB2"
#define BOOT_ADVICE "boot Presidio with GRUB2 'multiboot2' or 'multiboot'"

struct parser {
	const struct phys_window *window;
	struct boot_info *out;
	char *err;
	size_t errlen;
};

/* A memory map found while reading the info, parsed once all are known. */
struct e820_map {
	bool present;
	const u8 *bytes;
	u64 length;
	u32 entry_size; /* Multiboot2 stride; 0 = Multiboot1 self-sized entries */
};

struct efi_map {
	bool present;
	const u8 *bytes;
	u64 length;
	u32 descriptor_size;
};

struct basic_meminfo {
	bool present;
	u32 lower_kib;
	u32 upper_kib;
};

struct memory_sources {
	struct e820_map e820;
	struct efi_map efi;
	struct basic_meminfo basic;
};

__attribute__((format(printf, 2, 3)))
static int failure(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	if (!p->err || p->errlen == 0)
		return -1;
	va_start(ap, fmt);
	kvsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* u64 is 'unsigned long' here; the format strings use %ll. */
static unsigned long long ull(u64 value)
{
	return (unsigned long long)value;
}

static u32 load_u32(const u8 *bytes)
{
	return (u32)bytes[0] | (u32)bytes[1] << 8 | (u32)bytes[2] << 16 |
	       (u32)bytes[3] << 24;
}

static u64 load_u64(const u8 *bytes)
{
	return (u64)load_u32(bytes) | (u64)load_u32(bytes + 4) << 32;
}

static void copy_bytes(u8 *destination, const u8 *source, size_t length)
{
	for (size_t i = 0; i < length; i++)
		destination[i] = source[i];
}

/* Host pointer for [phys, phys + length) if the window covers all of it. */
static bool window_bytes(const struct phys_window *w, u64 phys, u64 length,
			 const u8 **bytes)
{
	if (phys < w->base)
		return false;
	u64 offset = phys - w->base;
	if (offset > w->size || length > w->size - offset)
		return false;
	*bytes = w->host + offset;
	return true;
}

/* A string stored in 'length' bytes must end with a NUL inside them. */
static bool terminated_string(const u8 *bytes, u64 length, const char **string)
{
	for (u64 i = 0; i < length; i++) {
		if (bytes[i] == 0) {
			*string = (const char *)bytes;
			return true;
		}
	}
	return false;
}

/* A string pointer from the info; 0 means absent and gives "". */
static int window_string(struct parser *p, u64 phys, const char *what,
			 const char **string)
{
	const u8 *bytes;
	if (phys == 0) {
		*string = "";
		return 0;
	}
	if (!window_bytes(p->window, phys, 1, &bytes))
		return failure(p, "the %s at 0x%llx lies outside readable memory; "
			       CORRUPT_ADVICE, what, ull(phys));
	u64 available = p->window->size - (phys - p->window->base);
	if (!terminated_string(bytes, available, string))
		return failure(p, "the %s at 0x%llx is not NUL-terminated; "
			       CORRUPT_ADVICE, what, ull(phys));
	return 0;
}

/* A string stored inside a Multiboot2 tag; no bytes at all gives "". */
static int inline_string(struct parser *p, const u8 *bytes, u64 length,
			 const char *what, const char **string)
{
	if (length == 0) {
		*string = "";
		return 0;
	}
	if (!terminated_string(bytes, length, string))
		return failure(p, "the %s is not NUL-terminated inside its Multiboot2 tag; "
			       CORRUPT_ADVICE, what);
	return 0;
}

static void reset_boot_info(struct boot_info *out, int protocol)
{
	*out = (struct boot_info){
		.protocol = protocol,
		.cmdline = "",
		.loader_name = "",
		.mem_source = MEM_MAP_NONE,
	};
}

static void add_region(struct boot_info *out, u64 base, u64 length, u32 type,
		       bool merge_adjacent)
{
	if (length == 0)
		return;
	if (merge_adjacent && out->mem_count > 0) {
		struct mem_region *last = &out->mem[out->mem_count - 1];
		if (last->type == type && last->base + last->length == base) {
			last->length += length;
			return;
		}
	}
	if (out->mem_count == BOOT_MAX_MEM_REGIONS) {
		out->mem_truncated = true;
		return;
	}
	out->mem[out->mem_count++] = (struct mem_region){ base, length, type };
}

static int add_module(struct parser *p, u64 start, u64 end, const char *cmdline)
{
	struct boot_info *out = p->out;
	if (end < start)
		return failure(p, "module %u ends (0x%llx) before it starts (0x%llx); "
			       CORRUPT_ADVICE, out->module_count, ull(end), ull(start));
	if (out->module_count == BOOT_MAX_MODULES) {
		out->modules_truncated = true;
		return 0;
	}
	out->modules[out->module_count++] = (struct boot_module){ start, end, cmdline };
	return 0;
}

static bool range_overflows(u64 base, u64 length)
{
	return length > U64_MAX_VALUE - base;
}

static u32 normalize_e820_type(u32 type)
{
	if (type == 0 || type > E820_TYPE_MAX)
		return MEM_RESERVED;
	return type;
}

static int add_e820_entry(struct parser *p, const u8 *entry)
{
	u64 base = load_u64(entry + E820_ENTRY_BASE);
	u64 length = load_u64(entry + E820_ENTRY_LENGTH);
	u32 type = load_u32(entry + E820_ENTRY_TYPE);
	if (range_overflows(base, length))
		return failure(p, "memory map entry 0x%llx+0x%llx runs past the end of "
			       "the address space; " CORRUPT_ADVICE, ull(base), ull(length));
	add_region(p->out, base, length, normalize_e820_type(type), false);
	return 0;
}

/* Multiboot1: every entry starts with its own size, which excludes the size field. */
static int parse_multiboot1_mmap(struct parser *p, const struct e820_map *map)
{
	u64 offset = 0;
	while (offset < map->length) {
		u64 remaining = map->length - offset;
		if (remaining < MB1_MMAP_SIZE_FIELD + E820_ENTRY_MIN_SIZE)
			return failure(p, "the Multiboot1 memory map ends with a truncated "
				       "entry at offset %llu; " CORRUPT_ADVICE, ull(offset));
		u32 entry_size = load_u32(map->bytes + offset);
		if (entry_size < E820_ENTRY_MIN_SIZE ||
		    entry_size > remaining - MB1_MMAP_SIZE_FIELD)
			return failure(p, "the Multiboot1 memory map entry at offset %llu "
				       "has an impossible size %u; " CORRUPT_ADVICE,
				       ull(offset), entry_size);
		if (add_e820_entry(p, map->bytes + offset + MB1_MMAP_SIZE_FIELD))
			return -1;
		offset += MB1_MMAP_SIZE_FIELD + (u64)entry_size;
	}
	return 0;
}

/* Multiboot2: fixed-size entries; trailing bytes short of an entry are ignored. */
static int parse_multiboot2_mmap(struct parser *p, const struct e820_map *map)
{
	for (u64 offset = 0; map->length - offset >= map->entry_size;
	     offset += map->entry_size) {
		if (add_e820_entry(p, map->bytes + offset))
			return -1;
	}
	return 0;
}

static int parse_e820_map(struct parser *p, const struct e820_map *map)
{
	if (map->entry_size == 0)
		return parse_multiboot1_mmap(p, map);
	return parse_multiboot2_mmap(p, map);
}

static u32 normalize_efi_type(u32 efi_type)
{
	switch (efi_type) {
	case EFI_LOADER_CODE:
	case EFI_LOADER_DATA:
	case EFI_BOOT_SERVICES_CODE:
	case EFI_BOOT_SERVICES_DATA:
	case EFI_CONVENTIONAL_MEMORY:
		return MEM_USABLE;
	case EFI_ACPI_RECLAIM_MEMORY:
		return MEM_ACPI_RECLAIMABLE;
	case EFI_ACPI_MEMORY_NVS:
		return MEM_ACPI_NVS;
	case EFI_UNUSABLE_MEMORY:
		return MEM_BAD;
	default:
		return MEM_RESERVED;
	}
}

static int add_efi_descriptor(struct parser *p, const u8 *descriptor)
{
	u32 type = load_u32(descriptor + EFI_DESCRIPTOR_TYPE);
	u64 base = load_u64(descriptor + EFI_DESCRIPTOR_PHYS_START);
	u64 pages = load_u64(descriptor + EFI_DESCRIPTOR_NUM_PAGES);
	if (pages > U64_MAX_VALUE >> EFI_PAGE_SHIFT ||
	    range_overflows(base, pages << EFI_PAGE_SHIFT))
		return failure(p, "EFI memory descriptor at 0x%llx with 0x%llx pages runs "
			       "past the end of the address space; " CORRUPT_ADVICE,
			       ull(base), ull(pages));
	/* Firmware maps are fragmented; merging keeps them within BOOT_MAX_MEM_REGIONS. */
	add_region(p->out, base, pages << EFI_PAGE_SHIFT, normalize_efi_type(type), true);
	return 0;
}

static int parse_efi_map(struct parser *p, const struct efi_map *map)
{
	for (u64 offset = 0; map->length - offset >= map->descriptor_size;
	     offset += map->descriptor_size) {
		if (add_efi_descriptor(p, map->bytes + offset))
			return -1;
	}
	return 0;
}

static void parse_basic_meminfo(struct parser *p, const struct basic_meminfo *basic)
{
	add_region(p->out, LOWER_MEMORY_BASE, (u64)basic->lower_kib * KiB, MEM_USABLE, false);
	add_region(p->out, UPPER_MEMORY_BASE, (u64)basic->upper_kib * KiB, MEM_USABLE, false);
}

/* Best source first; a source that yields no regions falls through to the next. */
static int select_memory_map(struct parser *p, const struct memory_sources *sources)
{
	struct boot_info *out = p->out;
	if (sources->e820.present) {
		if (parse_e820_map(p, &sources->e820))
			return -1;
		if (out->mem_count > 0) {
			out->mem_source = MEM_MAP_E820;
			return 0;
		}
	}
	if (sources->efi.present) {
		if (parse_efi_map(p, &sources->efi))
			return -1;
		if (out->mem_count > 0) {
			out->mem_source = MEM_MAP_EFI;
			return 0;
		}
	}
	if (sources->basic.present) {
		parse_basic_meminfo(p, &sources->basic);
		if (out->mem_count > 0) {
			out->mem_source = MEM_MAP_BASIC;
			return 0;
		}
	}
	return failure(p, "the boot loader passed no memory map (Multiboot%d info has "
		       "no memory map, EFI memory map or mem_lower/mem_upper); " BOOT_ADVICE,
		       out->protocol);
}

/* ---- Multiboot1 ---- */

static int parse_multiboot1_modules(struct parser *p, const u8 *info)
{
	u32 count = load_u32(info + MB1_INFO_MODS_COUNT);
	u32 list_phys = load_u32(info + MB1_INFO_MODS_ADDR);
	u32 kept = MIN(count, (u32)BOOT_MAX_MODULES);
	const u8 *list;
	if (count == 0)
		return 0;
	if (!window_bytes(p->window, list_phys, (u64)kept * MB1_MODULE_SIZE, &list))
		return failure(p, "the Multiboot1 module list at 0x%x (%u modules) lies "
			       "outside readable memory; " CORRUPT_ADVICE, list_phys, count);
	for (u32 i = 0; i < kept; i++) {
		const u8 *module = list + (u64)i * MB1_MODULE_SIZE;
		const char *cmdline = "";
		if (window_string(p, load_u32(module + MB1_MODULE_STRING),
				  "module command line", &cmdline))
			return -1;
		if (add_module(p, load_u32(module + MB1_MODULE_START),
			       load_u32(module + MB1_MODULE_END), cmdline))
			return -1;
	}
	if (count > kept)
		p->out->modules_truncated = true;
	return 0;
}

static int find_multiboot1_mmap(struct parser *p, const u8 *info, struct e820_map *map)
{
	u32 length = load_u32(info + MB1_INFO_MMAP_LENGTH);
	u32 phys = load_u32(info + MB1_INFO_MMAP_ADDR);
	*map = (struct e820_map){ .present = true, .length = length, .entry_size = 0 };
	if (length == 0)
		return 0;
	if (!window_bytes(p->window, phys, length, &map->bytes))
		return failure(p, "the Multiboot1 memory map at 0x%x (%u bytes) lies "
			       "outside readable memory; " CORRUPT_ADVICE, phys, length);
	return 0;
}

static int parse_multiboot1(struct parser *p, u64 info_phys)
{
	struct boot_info *out = p->out;
	struct memory_sources sources = { 0 };
	const u8 *info;
	if (!window_bytes(p->window, info_phys, MB1_INFO_READ_SIZE, &info) ||
	    range_overflows(info_phys, MB1_INFO_SIZE))
		return failure(p, "the Multiboot1 information at 0x%llx lies outside "
			       "readable memory; " CORRUPT_ADVICE, ull(info_phys));
	out->info_start = info_phys;
	out->info_end = info_phys + MB1_INFO_SIZE;
	u32 flags = load_u32(info + MB1_INFO_FLAGS);

	if (flags & MB1_FLAG_MEMORY)
		sources.basic = (struct basic_meminfo){
			.present = true,
			.lower_kib = load_u32(info + MB1_INFO_MEM_LOWER),
			.upper_kib = load_u32(info + MB1_INFO_MEM_UPPER),
		};
	if ((flags & MB1_FLAG_CMDLINE) &&
	    window_string(p, load_u32(info + MB1_INFO_CMDLINE), "command line",
			  &out->cmdline))
		return -1;
	if ((flags & MB1_FLAG_BOOT_LOADER_NAME) &&
	    window_string(p, load_u32(info + MB1_INFO_BOOT_LOADER_NAME),
			  "boot loader name", &out->loader_name))
		return -1;
	if ((flags & MB1_FLAG_MODS) && parse_multiboot1_modules(p, info))
		return -1;
	if ((flags & MB1_FLAG_MMAP) && find_multiboot1_mmap(p, info, &sources.e820))
		return -1;
	out->has_framebuffer = (flags & MB1_FLAG_FRAMEBUFFER) != 0;
	return select_memory_map(p, &sources);
}

/* ---- Multiboot2 ---- */

struct tag {
	u32 type;
	u32 size;
	const u8 *bytes; /* the whole tag, header included */
	u64 offset;      /* from the start of the information structure */
};

static int require_tag_size(struct parser *p, const struct tag *tag, u64 minimum,
			    const char *what)
{
	if (tag->size < minimum)
		return failure(p, "the Multiboot2 %s tag at offset %llu is %u bytes, "
			       "shorter than %llu; " CORRUPT_ADVICE, what, ull(tag->offset),
			       tag->size, ull(minimum));
	return 0;
}

static int parse_module_tag(struct parser *p, const struct tag *tag)
{
	const char *cmdline = "";
	if (require_tag_size(p, tag, MB2_MODULE_STRING, "module"))
		return -1;
	if (inline_string(p, tag->bytes + MB2_MODULE_STRING,
			  tag->size - MB2_MODULE_STRING, "module command line", &cmdline))
		return -1;
	return add_module(p, load_u32(tag->bytes + MB2_MODULE_START),
			  load_u32(tag->bytes + MB2_MODULE_END), cmdline);
}

static int parse_meminfo_tag(struct parser *p, const struct tag *tag,
			     struct basic_meminfo *basic)
{
	if (require_tag_size(p, tag, MB2_MEMINFO_SIZE, "basic memory information"))
		return -1;
	*basic = (struct basic_meminfo){
		.present = true,
		.lower_kib = load_u32(tag->bytes + MB2_MEMINFO_LOWER),
		.upper_kib = load_u32(tag->bytes + MB2_MEMINFO_UPPER),
	};
	return 0;
}

static int parse_mmap_tag(struct parser *p, const struct tag *tag, struct e820_map *map)
{
	if (require_tag_size(p, tag, MB2_MMAP_ENTRIES, "memory map"))
		return -1;
	u32 entry_size = load_u32(tag->bytes + MB2_MMAP_ENTRY_SIZE);
	if (entry_size < MB2_MMAP_ENTRY_MIN_SIZE)
		return failure(p, "the Multiboot2 memory map tag declares %u-byte entries, "
			       "fewer than %u; " CORRUPT_ADVICE, entry_size,
			       MB2_MMAP_ENTRY_MIN_SIZE);
	*map = (struct e820_map){
		.present = true,
		.bytes = tag->bytes + MB2_MMAP_ENTRIES,
		.length = tag->size - MB2_MMAP_ENTRIES,
		.entry_size = entry_size,
	};
	return 0;
}

static int parse_efi_mmap_tag(struct parser *p, const struct tag *tag, struct efi_map *map)
{
	if (require_tag_size(p, tag, MB2_EFI_MMAP_DESCRIPTORS, "EFI memory map"))
		return -1;
	u32 descriptor_size = load_u32(tag->bytes + MB2_EFI_MMAP_DESCRIPTOR_SIZE);
	if (descriptor_size < EFI_DESCRIPTOR_MIN_SIZE)
		return failure(p, "the Multiboot2 EFI memory map tag declares %u-byte "
			       "descriptors, fewer than %u; " CORRUPT_ADVICE,
			       descriptor_size, EFI_DESCRIPTOR_MIN_SIZE);
	*map = (struct efi_map){
		.present = true,
		.bytes = tag->bytes + MB2_EFI_MMAP_DESCRIPTORS,
		.length = tag->size - MB2_EFI_MMAP_DESCRIPTORS,
		.descriptor_size = descriptor_size,
	};
	return 0;
}

static int parse_rsdp_tag(struct parser *p, const struct tag *tag, int revision)
{
	struct boot_info *out = p->out;
	if (require_tag_size(p, tag, MB2_RSDP_COPY + ACPI_RSDP_V1_SIZE, "ACPI RSDP"))
		return -1;
	/* GRUB may pass both tags; the ACPI 2.0 copy is the one to keep. */
	if (revision < out->rsdp_revision)
		return 0;
	u64 limit = revision == ACPI_RSDP_REVISION_V2 ? ACPI_RSDP_V2_SIZE : ACPI_RSDP_V1_SIZE;
	u64 length = MIN((u64)tag->size - MB2_RSDP_COPY, limit);
	copy_bytes(out->rsdp_copy, tag->bytes + MB2_RSDP_COPY, length);
	out->rsdp_len = (unsigned)length;
	out->rsdp_revision = revision;
	out->rsdp_phys = 0;
	return 0;
}

static int parse_tag(struct parser *p, const struct tag *tag,
		     struct memory_sources *sources)
{
	struct boot_info *out = p->out;
	const u8 *text = tag->bytes + MB2_STRING_TAG_TEXT;
	u64 text_length = tag->size - MB2_STRING_TAG_TEXT;
	switch (tag->type) {
	case MB2_TAG_CMDLINE:
		return inline_string(p, text, text_length, "command line", &out->cmdline);
	case MB2_TAG_BOOT_LOADER_NAME:
		return inline_string(p, text, text_length, "boot loader name",
				     &out->loader_name);
	case MB2_TAG_MODULE:
		return parse_module_tag(p, tag);
	case MB2_TAG_BASIC_MEMINFO:
		return parse_meminfo_tag(p, tag, &sources->basic);
	case MB2_TAG_MMAP:
		return parse_mmap_tag(p, tag, &sources->e820);
	case MB2_TAG_FRAMEBUFFER:
		out->has_framebuffer = true;
		return 0;
	case MB2_TAG_EFI64_SYSTEM_TABLE:
		out->efi_system_table = true;
		return 0;
	case MB2_TAG_ACPI_OLD_RSDP:
		return parse_rsdp_tag(p, tag, ACPI_RSDP_REVISION_V1);
	case MB2_TAG_ACPI_NEW_RSDP:
		return parse_rsdp_tag(p, tag, ACPI_RSDP_REVISION_V2);
	case MB2_TAG_EFI_MMAP:
		return parse_efi_mmap_tag(p, tag, &sources->efi);
	default:
		out->unknown_tags++;
		return 0;
	}
}

/* Reads the tag header at 'offset'; the tag must lie inside total_size. */
static int read_tag(struct parser *p, const u8 *info, u32 total_size, u64 offset,
		    struct tag *tag)
{
	if (offset >= total_size || total_size - offset < MB2_TAG_HEADER_SIZE)
		return failure(p, "the Multiboot2 tag list ends at offset %llu without an "
			       "end tag; " CORRUPT_ADVICE, ull(offset));
	tag->bytes = info + offset;
	tag->offset = offset;
	tag->type = load_u32(tag->bytes + MB2_TAG_TYPE);
	tag->size = load_u32(tag->bytes + MB2_TAG_SIZE);
	if (tag->size < MB2_TAG_HEADER_SIZE)
		return failure(p, "the Multiboot2 tag of type %u at offset %llu has size %u, "
			       "less than its %u-byte header; " CORRUPT_ADVICE, tag->type,
			       ull(offset), tag->size, MB2_TAG_HEADER_SIZE);
	if (tag->size > total_size - offset)
		return failure(p, "the Multiboot2 tag of type %u at offset %llu (%u bytes) "
			       "runs past the %u-byte information structure; " CORRUPT_ADVICE,
			       tag->type, ull(offset), tag->size, total_size);
	return 0;
}

static int parse_multiboot2(struct parser *p, u64 info_phys)
{
	struct boot_info *out = p->out;
	struct memory_sources sources = { 0 };
	const u8 *info;
	if (!window_bytes(p->window, info_phys, MB2_INFO_HEADER_SIZE, &info))
		return failure(p, "the Multiboot2 information at 0x%llx lies outside "
			       "readable memory; " CORRUPT_ADVICE, ull(info_phys));
	u32 total_size = load_u32(info + MB2_INFO_TOTAL_SIZE);
	if (total_size < MB2_INFO_MIN_SIZE)
		return failure(p, "the Multiboot2 information claims a total size of %u "
			       "bytes, less than %u; " CORRUPT_ADVICE, total_size,
			       MB2_INFO_MIN_SIZE);
	if (!window_bytes(p->window, info_phys, total_size, &info))
		return failure(p, "the Multiboot2 information at 0x%llx (%u bytes) runs "
			       "outside readable memory; " CORRUPT_ADVICE, ull(info_phys),
			       total_size);
	out->info_start = info_phys;
	out->info_end = info_phys + total_size;

	u64 offset = MB2_INFO_HEADER_SIZE;
	for (;;) {
		struct tag tag;
		if (read_tag(p, info, total_size, offset, &tag))
			return -1;
		if (tag.type == MB2_TAG_END)
			break;
		if (parse_tag(p, &tag, &sources))
			return -1;
		offset += ALIGN_UP((u64)tag.size, (u64)MB2_TAG_ALIGN);
	}
	return select_memory_map(p, &sources);
}

int multiboot_parse(u32 magic, u64 info_phys, const struct phys_window *w,
		    struct boot_info *out, char *err, size_t errlen)
{
	struct parser parser = { w, out, err, errlen };
	if (err && errlen)
		err[0] = 0;
	switch (magic) {
	case MULTIBOOT1_BOOTLOADER_MAGIC:
		reset_boot_info(out, PROTOCOL_MULTIBOOT1);
		return parse_multiboot1(&parser, info_phys);
	case MULTIBOOT2_BOOTLOADER_MAGIC:
		reset_boot_info(out, PROTOCOL_MULTIBOOT2);
		return parse_multiboot2(&parser, info_phys);
	default:
		reset_boot_info(out, PROTOCOL_UNKNOWN);
		return failure(&parser, "not booted by a Multiboot loader (EAX=0x%08x): "
			       BOOT_ADVICE ", or QEMU -kernel", magic);
	}
}

const char *mem_type_name(u32 type)
{
	switch (type) {
	case MEM_USABLE:
		return "usable";
	case MEM_RESERVED:
		return "reserved";
	case MEM_ACPI_RECLAIMABLE:
		return "ACPI reclaimable";
	case MEM_ACPI_NVS:
		return "ACPI NVS";
	case MEM_BAD:
		return "bad";
	default:
		return "unknown";
	}
}
