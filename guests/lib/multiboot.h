/* The Multiboot1 information the loader hands the guest in EBX. */
#ifndef GUEST_MULTIBOOT_H
#define GUEST_MULTIBOOT_H

#include <stdbool.h>
#include <stdint.h>

#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MMAP (1u << 6)
#define MULTIBOOT_MEMORY_AVAILABLE 1

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper;
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
};

struct __attribute__((packed)) multiboot_mmap_entry {
	uint32_t size; /* of the rest of the entry */
	uint64_t addr, len;
	uint32_t type;
};

void multiboot_init(uint32_t magic, uint32_t info_address);
bool multiboot_magic_ok(void);
/* The information structure, or NULL without the Multiboot magic. */
const struct multiboot_info *multiboot_info(void);
const char *multiboot_cmdline(void);
/* Calls fn for each memory-map entry; false if there is no map. */
bool multiboot_for_each_region(void (*fn)(const struct multiboot_mmap_entry *e, void *ctx), void *ctx);
/* Whether the command line holds `word` as a whole word. */
bool multiboot_cmdline_flag(const char *word);
/* Value of `key=` in the command line as a decimal number, or fallback. */
uint32_t multiboot_cmdline_uint(const char *key, uint32_t fallback);

#endif
