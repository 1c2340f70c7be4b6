/* GDT layout and the 64-bit TSS (SDM Vol. 3A 7.7). */
#pragma once
#include "lib/types.h"
#include "boot/layout.h"

#define GDT_NULL 0
#define GDT_CODE64 1
#define GDT_DATA 2
#define GDT_TSS 3 /* 16-byte descriptor: entries 3 and 4 */
#define GDT_ENTRIES 5

#define SELECTOR_CODE64 (GDT_CODE64 * 8)
#define SELECTOR_DATA (GDT_DATA * 8)
#define SELECTOR_TSS (GDT_TSS * 8)
_Static_assert(SELECTOR_CODE64 == BOOT_CODE64_SELECTOR, "boot GDT must match");
_Static_assert(SELECTOR_DATA == BOOT_DATA_SELECTOR, "boot GDT must match");

struct tss64 {
	u32 reserved0;
	u64 rsp[3];
	u64 ist[8]; /* ist[0] is a reserved slot, so ist[n] is ISTn */
	u64 reserved2;
	u16 reserved3;
	u16 iomap_base;
} PACKED;
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

struct descriptor_pointer {
	u16 limit;
	u64 base;
} PACKED;

struct percpu;
void gdt_load(struct percpu *cpu);
