/*
 * What the boot loader told us, normalized from Multiboot1 or Multiboot2.
 * Filled once by multiboot_parse(); read-only afterwards.
 */
#pragma once
#include "lib/types.h"

#define MULTIBOOT1_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36D76289u

#define BOOT_MAX_MEM_REGIONS 128
#define BOOT_MAX_MODULES 32

/* Normalized memory types (e820 numbering; EFI types are mapped onto these). */
enum mem_type {
	MEM_USABLE = 1,
	MEM_RESERVED = 2,
	MEM_ACPI_RECLAIMABLE = 3,
	MEM_ACPI_NVS = 4,
	MEM_BAD = 5,
};

enum mem_map_source {
	MEM_MAP_NONE,
	MEM_MAP_E820,      /* MB1 mmap or MB2 memory-map tag */
	MEM_MAP_EFI,       /* MB2 EFI memory-map tag */
	MEM_MAP_BASIC,     /* only mem_lower/mem_upper (MB1 flag 0 / MB2 tag 4) */
};

struct mem_region {
	u64 base;
	u64 length;
	u32 type; /* enum mem_type */
};

struct boot_module {
	u64 start; /* physical, inclusive */
	u64 end;   /* physical, exclusive */
	const char *cmdline; /* never NULL; "" when absent */
};

struct boot_info {
	int protocol; /* 1 or 2 */
	const char *cmdline;     /* never NULL */
	const char *loader_name; /* never NULL */
	u64 info_start, info_end; /* the Multiboot info structure itself (phys) */

	enum mem_map_source mem_source;
	unsigned mem_count;
	struct mem_region mem[BOOT_MAX_MEM_REGIONS];
	bool mem_truncated; /* more entries than BOOT_MAX_MEM_REGIONS */

	unsigned module_count;
	struct boot_module modules[BOOT_MAX_MODULES];
	bool modules_truncated;

	u64 rsdp_phys;      /* 0 if no ACPI tag (MB1: scan BIOS areas later) */
	u8 rsdp_copy[36];   /* MB2 carries a copy of the RSDP in the tag */
	unsigned rsdp_len;  /* bytes valid in rsdp_copy; 0 if none */
	int rsdp_revision;  /* 1 = ACPI 1.0 RSDP (tag 14), 2 = ACPI 2.0+ (tag 15) */

	bool has_framebuffer;
	bool efi_system_table;  /* MB2 EFI 64-bit system table tag present */
	unsigned unknown_tags;  /* MB2 tags we do not use */
};

/*
 * A view of physical memory: the parser reaches Multiboot structures only
 * through it, so host tests (and fuzzers) can hand it a buffer and every
 * pointer in the info is bounds-checked.
 */
struct phys_window {
	u64 base;        /* lowest physical address covered */
	u64 size;        /* bytes covered */
	const u8 *host;  /* host pointer for 'base' */
};

/*
 * Parse the boot loader's information. Returns 0 on success; on failure
 * returns -1 and writes one human-readable reason to err.
 */
int multiboot_parse(u32 magic, u64 info_phys, const struct phys_window *w,
		    struct boot_info *out, char *err, size_t errlen);

const char *mem_type_name(u32 type);
