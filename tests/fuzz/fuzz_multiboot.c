/*
 * libFuzzer target for multiboot_parse(). The input is physical memory at
 * FUZZ_WINDOW_BASE: its first 4 bytes choose the protocol, and the
 * Multiboot information starts right after them.
 *
 *   clang -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=fuzzer,address,undefined \
 *         tests/fuzz/fuzz_multiboot.c -o /tmp/fuzz_mb
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_support.h"
#include "boot/multiboot.c"

#define FUZZ_WINDOW_BASE 0x100000ULL
#define SELECTOR_SIZE 4

static void check_string(const char *s, const u8 *memory, size_t size)
{
	if (!s)
		abort();
	/* Either a literal "" or a pointer into the input that ends inside it. */
	if ((const u8 *)s >= memory && (const u8 *)s < memory + size) {
		if (!memchr(s, 0, (size_t)(memory + size - (const u8 *)s)))
			abort();
	} else if (s[0] != 0) {
		abort();
	}
}

static void check_result(const struct boot_info *info, const u8 *memory, size_t size)
{
	check_string(info->cmdline, memory, size);
	check_string(info->loader_name, memory, size);
	if (info->mem_count > BOOT_MAX_MEM_REGIONS || info->module_count > BOOT_MAX_MODULES)
		abort();
	if (info->mem_count == 0 || info->mem_source == MEM_MAP_NONE)
		abort();
	for (unsigned i = 0; i < info->mem_count; i++) {
		const struct mem_region *region = &info->mem[i];
		if (region->length == 0 || region->base + region->length < region->base)
			abort();
		if (region->type < MEM_USABLE || region->type > MEM_BAD)
			abort();
	}
	for (unsigned i = 0; i < info->module_count; i++) {
		if (info->modules[i].end < info->modules[i].start)
			abort();
		check_string(info->modules[i].cmdline, memory, size);
	}
	if (info->rsdp_len > sizeof(info->rsdp_copy) || info->rsdp_phys != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct boot_info info;
	char err[160];
	u32 selector = 0;
	if (size < SELECTOR_SIZE)
		return 0;
	memcpy(&selector, data, SELECTOR_SIZE);
	u32 magic = (selector & 1) ? MULTIBOOT2_BOOTLOADER_MAGIC : MULTIBOOT1_BOOTLOADER_MAGIC;

	/* An exact-size copy, so ASan catches any read past the window. */
	u8 *memory = malloc(size);
	if (!memory)
		return 0;
	memcpy(memory, data, size);
	struct phys_window window = { FUZZ_WINDOW_BASE, size, memory };

	int result = multiboot_parse(magic, FUZZ_WINDOW_BASE + SELECTOR_SIZE, &window,
				     &info, err, sizeof(err));
	if (result == 0)
		check_result(&info, memory, size);
	else if (result != -1 || err[0] == 0 || strchr(err, '\n'))
		abort();
	free(memory);
	return 0;
}
