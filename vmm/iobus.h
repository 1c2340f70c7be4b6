/*
 * A VM's I/O buses (ports and MMIO): devices register ranges at VM creation;
 * lookups on the exit path are a binary search with no allocation.
 */
#pragma once
#include "lib/types.h"

struct vcpu;

typedef void (*io_read_fn)(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value);
typedef void (*io_write_fn)(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value);

struct io_range {
	u64 start;
	u64 end; /* exclusive */
	const char *name;
	void *device;
	io_read_fn read;   /* NULL: reads return all-ones */
	io_write_fn write; /* NULL: writes are dropped */
};

#define IO_BUS_MAX_RANGES 32
#define IO_BUS_LOG_LIMIT 16 /* distinct unclaimed addresses logged per bus */

struct io_bus {
	const char *kind; /* "port" or "MMIO" */
	unsigned count;
	struct io_range range[IO_BUS_MAX_RANGES];
	/* Unclaimed accesses: the first IO_BUS_LOG_LIMIT distinct addresses are
	 * logged, the rest only counted, so a hostile guest cannot flood the console. */
	u64 logged[IO_BUS_LOG_LIMIT];
	unsigned logged_count;
	u64 unclaimed_accesses;
};

void io_bus_init(struct io_bus *bus, const char *kind);
/* Returns 0, or -1 if the range is empty, overlaps another or the bus is full. */
int io_bus_register(struct io_bus *bus, u64 start, u64 length, const char *name, void *device,
		    io_read_fn read, io_write_fn write);
const struct io_range *io_bus_find(const struct io_bus *bus, u64 address);
/* Dispatch; unclaimed reads give all-ones for the size. 'owner' names the VM in logs. */
void io_bus_read(struct io_bus *bus, struct vcpu *vcpu, const char *owner, u64 address,
		 unsigned size, u64 *value);
void io_bus_write(struct io_bus *bus, struct vcpu *vcpu, const char *owner, u64 address,
		  unsigned size, u64 value);
