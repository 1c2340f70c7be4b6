#include "vmm/memmap.h"

int memmap_add(struct memmap *map, u64 gpa, u64 size, enum memmap_kind kind, u8 *host, u64 hpa)
{
	if (!size || gpa + size < gpa || map->count >= MEMMAP_MAX_REGIONS)
		return -1;
	for (unsigned i = 0; i < map->count; i++) {
		const struct memmap_region *r = &map->region[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return -1;
	}
	unsigned at = map->count;
	while (at > 0 && map->region[at - 1].gpa > gpa) {
		map->region[at] = map->region[at - 1];
		at--;
	}
	map->region[at] = (struct memmap_region){ gpa, size, kind, host, hpa };
	map->count++;
	return 0;
}

static bool region_contains(const struct memmap_region *r, u64 gpa, u64 len)
{
	return gpa >= r->gpa && gpa + len <= r->gpa + r->size;
}

const struct memmap_region *memmap_find(const struct memmap *map, u64 gpa, u64 len)
{
	if (gpa + len < gpa)
		return NULL;
	/* vCPUs on several CPUs share the hint: a relaxed atomic index,
	 * checked before use, so a stale one only costs the search. */
	unsigned hint = __atomic_load_n(&map->last_hit, __ATOMIC_RELAXED);
	if (hint < map->count && region_contains(&map->region[hint], gpa, len))
		return &map->region[hint];
	for (unsigned i = 0; i < map->count; i++) {
		if (region_contains(&map->region[i], gpa, len)) {
			__atomic_store_n(&((struct memmap *)map)->last_hit, i, __ATOMIC_RELAXED);
			return &map->region[i];
		}
	}
	return NULL;
}

const struct memmap_region *memmap_first_overlap(const struct memmap *map, u64 gpa, u64 len)
{
	for (unsigned i = 0; i < map->count; i++) {
		const struct memmap_region *r = &map->region[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + len)
			return r;
	}
	return NULL;
}

u64 memmap_stretch_end(const struct memmap *map, u64 gpa)
{
	const struct memmap_region *r = memmap_find(map, gpa, 1);
	if (!r)
		return gpa;
	const struct memmap_region *last = &map->region[map->count - 1];
	while (r < last && r[1].gpa == r->gpa + r->size && r[1].kind == r->kind)
		r++; /* regions are sorted by address */
	return r->gpa + r->size;
}

unsigned memmap_guest_ranges(const struct memmap *map, struct memmap_range *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < map->count; i++) {
		const struct memmap_region *r = &map->region[i];
		if (n && out[n - 1].gpa + out[n - 1].size == r->gpa && out[n - 1].kind == r->kind)
			out[n - 1].size += r->size;
		else if (n < max)
			out[n++] = (struct memmap_range){ r->gpa, r->size, r->kind };
	}
	return n;
}
