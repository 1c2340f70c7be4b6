#include "arch/x86/tag_pool.h"

void tag_pool_init(struct tag_pool *pool, u32 limit)
{
	pool->limit = limit > TAG_POOL_MAX ? TAG_POOL_MAX : limit;
	for (unsigned i = 0; i < TAG_POOL_MAX / 64; i++)
		pool->used[i] = 0;
	pool->used[0] = 1; /* tag 0: the host */
}

u32 tag_pool_alloc(struct tag_pool *pool)
{
	for (u32 word = 0; word * 64 < pool->limit; word++) {
		if (pool->used[word] == ~0ULL)
			continue;
		u32 bit = (u32)__builtin_ctzll(~pool->used[word]);
		u32 tag = word * 64 + bit;
		if (tag >= pool->limit)
			return 0;
		pool->used[word] |= 1ULL << bit;
		return tag;
	}
	return 0;
}

void tag_pool_free(struct tag_pool *pool, u32 tag)
{
	if (tag && tag < pool->limit)
		pool->used[tag / 64] &= ~(1ULL << (tag % 64));
}
