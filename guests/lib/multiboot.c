#include "multiboot.h"

#include <stddef.h>

#include "string.h"

static uint32_t boot_magic;
static const struct multiboot_info *info;

void multiboot_init(uint32_t magic, uint32_t info_address)
{
	boot_magic = magic;
	info = (const struct multiboot_info *)info_address;
}

bool multiboot_magic_ok(void)
{
	return boot_magic == MULTIBOOT_BOOTLOADER_MAGIC;
}

const struct multiboot_info *multiboot_info(void)
{
	return multiboot_magic_ok() ? info : NULL;
}

const char *multiboot_cmdline(void)
{
	if (!multiboot_magic_ok() || !(info->flags & MULTIBOOT_INFO_CMDLINE) || !info->cmdline)
		return "";
	return (const char *)info->cmdline;
}

bool multiboot_for_each_region(void (*fn)(const struct multiboot_mmap_entry *e, void *ctx), void *ctx)
{
	if (!multiboot_magic_ok() || !(info->flags & MULTIBOOT_INFO_MMAP))
		return false;
	uint32_t at = info->mmap_addr, end = info->mmap_addr + info->mmap_length;
	while (at < end) {
		const struct multiboot_mmap_entry *e = (const void *)at;
		fn(e, ctx);
		at += e->size + sizeof(e->size);
	}
	return true;
}

static bool is_word_start(const char *line, const char *p)
{
	return p == line || p[-1] == ' ';
}

bool multiboot_cmdline_flag(const char *word)
{
	const char *line = multiboot_cmdline();
	size_t length = strlen(word);
	for (const char *p = line; *p; p++)
		if (is_word_start(line, p) && !memcmp(p, word, length) && (p[length] == ' ' || !p[length]))
			return true;
	return false;
}

uint32_t multiboot_cmdline_uint(const char *key, uint32_t fallback)
{
	const char *line = multiboot_cmdline();
	size_t key_length = strlen(key);
	for (const char *p = line; *p; p++) {
		if (!is_word_start(line, p) || memcmp(p, key, key_length) || p[key_length] != '=')
			continue;
		const char *digit = p + key_length + 1;
		if (*digit < '0' || *digit > '9')
			return fallback;
		uint32_t v = 0;
		for (; *digit >= '0' && *digit <= '9'; digit++)
			v = v * 10 + (uint32_t)(*digit - '0');
		return v;
	}
	return fallback;
}
