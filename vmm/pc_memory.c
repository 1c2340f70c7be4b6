/* The PC guest-physical layout of a VM's RAM (see pc_memory.h). */
#include "vmm/pc_memory.h"
#include "vmm/guest_mem.h"

struct layout_piece {
	u64 start, end;
	bool backed; /* false: a hole, host memory behind it is never mapped */
	enum memmap_kind kind;
};

static const struct layout_piece pc_layout[] = {
	{ 0, PC_EBDA_START, true, MEMMAP_RAM },
	{ PC_EBDA_START, PC_VGA_START, true, MEMMAP_RAM_RESERVED },
	{ PC_VGA_START, PC_BIOS_START, false, MEMMAP_RAM },
	{ PC_BIOS_START, PC_HIGH_MEMORY_START, true, MEMMAP_RAM_RESERVED },
	{ PC_HIGH_MEMORY_START, PC_PCI_HOLE_START, true, MEMMAP_RAM },
	{ PC_PCI_HOLE_START, PC_HIGH_RAM_START, false, MEMMAP_RAM },
	{ PC_HIGH_RAM_START, ~0ULL, true, MEMMAP_RAM },
};

/* [gpa, gpa + size), backed at host/hpa, cut where the layout changes. */
static int add_backed(struct memmap *map, u64 gpa, u64 size, u8 *host, u64 hpa)
{
	for (unsigned i = 0; i < ARRAY_SIZE(pc_layout); i++) {
		const struct layout_piece *p = &pc_layout[i];
		u64 start = MAX(gpa, p->start), end = MIN(gpa + size, p->end);
		if (p->backed && start < end &&
		    memmap_add(map, start, end - start, p->kind, host + (start - gpa), hpa + (start - gpa)))
			return -1;
	}
	return 0;
}

/* The n-th byte of RAM: below the hole, then from 4 GiB. */
static u64 ram_offset_to_gpa(u64 offset, u64 low)
{
	return offset < low ? offset : PC_HIGH_RAM_START + (offset - low);
}

int pc_memory_build(struct memmap *map, u64 ram_size, const struct pc_ram_run *runs, unsigned count)
{
	u64 low = pc_low_ram_size(ram_size), offset = 0;
	for (unsigned i = 0; i < count; i++) {
		if (!runs[i].size || runs[i].size % GUEST_RAM_CHUNK || runs[i].hpa % GUEST_RAM_CHUNK)
			return -1;
		for (u64 done = 0; done < runs[i].size;) {
			u64 piece = runs[i].size - done;
			if (offset < low)
				piece = MIN(piece, low - offset); /* the run goes on at 4 GiB */
			if (add_backed(map, ram_offset_to_gpa(offset, low), piece, runs[i].host + done,
				       runs[i].hpa + done))
				return -1;
			offset += piece;
			done += piece;
		}
	}
	return offset == ram_size ? 0 : -1;
}
