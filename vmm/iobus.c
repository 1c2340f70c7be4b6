/* Port and MMIO dispatch to device models; all-ones for nobody's addresses. */
#include "vmm/iobus.h"
#include "lib/print.h"

void io_bus_init(struct io_bus *bus, const char *kind)
{
	bus->kind = kind;
	bus->count = 0;
	bus->logged_count = 0;
	bus->unclaimed_accesses = 0;
}

int io_bus_register(struct io_bus *bus, u64 start, u64 length, const char *name, void *device,
		    io_read_fn read, io_write_fn write)
{
	u64 end = start + length;
	if (!length || end < start || bus->count >= IO_BUS_MAX_RANGES)
		return -1;
	unsigned at = 0;
	while (at < bus->count && bus->range[at].start < start)
		at++;
	if ((at > 0 && bus->range[at - 1].end > start) || (at < bus->count && bus->range[at].start < end))
		return -1;
	for (unsigned i = bus->count; i > at; i--)
		bus->range[i] = bus->range[i - 1];
	bus->range[at] = (struct io_range){ start, end, name, device, read, write };
	bus->count++;
	return 0;
}

const struct io_range *io_bus_find(const struct io_bus *bus, u64 address)
{
	unsigned lo = 0, hi = bus->count;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		const struct io_range *r = &bus->range[mid];
		if (address < r->start)
			hi = mid;
		else if (address >= r->end)
			lo = mid + 1;
		else
			return r;
	}
	return NULL;
}

static void note_unclaimed(struct io_bus *bus, const char *owner, u64 address, bool write,
			   unsigned size)
{
	bus->unclaimed_accesses++;
	for (unsigned i = 0; i < bus->logged_count; i++)
		if (bus->logged[i] == address)
			return;
	if (bus->logged_count == IO_BUS_LOG_LIMIT)
		return;
	bus->logged[bus->logged_count++] = address;
	pr_info("vm %s: unclaimed %s %s of %u byte%s at 0x%llx%s", owner, bus->kind,
		write ? "write" : "read", size, size == 1 ? "" : "s", (unsigned long long)address,
		bus->logged_count == IO_BUS_LOG_LIMIT ? " (further unclaimed addresses are not logged)" : "");
}

void io_bus_read(struct io_bus *bus, struct vcpu *vcpu, const char *owner, u64 address,
		 unsigned size, u64 *value)
{
	const struct io_range *r = io_bus_find(bus, address);
	*value = size_mask(size);
	if (!r) {
		note_unclaimed(bus, owner, address, false, size);
		return;
	}
	if (r->read) {
		r->read(r->device, vcpu, address - r->start, size, value);
		*value &= size_mask(size);
	}
}

void io_bus_write(struct io_bus *bus, struct vcpu *vcpu, const char *owner, u64 address,
		  unsigned size, u64 value)
{
	const struct io_range *r = io_bus_find(bus, address);
	if (!r) {
		note_unclaimed(bus, owner, address, true, size);
		return;
	}
	if (r->write)
		r->write(r->device, vcpu, address - r->start, size, value & size_mask(size));
}
