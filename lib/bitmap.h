/* Byte-array bitmaps: bit n is bit n % 8 of byte n / 8. */
#pragma once
#include "lib/types.h"

static inline bool bitmap_test(const u8 *map, u64 bit)
{
	return (map[bit / BITS_PER_BYTE] >> (bit % BITS_PER_BYTE)) & 1;
}

static inline void bitmap_set(u8 *map, u64 bit)
{
	map[bit / BITS_PER_BYTE] |= (u8)(1u << (bit % BITS_PER_BYTE));
}
