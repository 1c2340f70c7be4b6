/*
 * Allocator for the small integer tags that name a VM's TLB entries (SVM
 * ASIDs, VT-x VPIDs), so VMs that come and go reuse them. Tag 0 belongs to
 * the host and is never handed out.
 */
#pragma once
#include "lib/types.h"

#define TAG_POOL_MAX 65536

struct tag_pool {
	u32 limit; /* tags 1 .. limit-1 are valid */
	u64 used[TAG_POOL_MAX / 64];
};

void tag_pool_init(struct tag_pool *pool, u32 limit);
/* Returns a free tag, or 0 when none is left. */
u32 tag_pool_alloc(struct tag_pool *pool);
void tag_pool_free(struct tag_pool *pool, u32 tag);
