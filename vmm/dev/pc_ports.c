/*
 * Ports every PC guest pokes that no model claims yet: explicit do-nothing
 * handlers (as kvmtool does) keep the "unclaimed port" log meaningful.
 * Each range moves to its own device file when it gets a real model.
 */
#include "vmm/dev/devices.h"
#include "vmm/vm.h"

struct ignored_range {
	u16 base, length;
	const char *name;
};

static const struct ignored_range ignored[] = {
	{ 0x80, 1, "POST code" },
};

static void read_all_masked(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	*value = ~0ULL; /* reads as an absent/fully masked device */
}

static void write_ignored(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
}

int pc_ports_create(struct vm *vm)
{
	for (unsigned i = 0; i < ARRAY_SIZE(ignored); i++)
		if (io_bus_register(&vm->pio, ignored[i].base, ignored[i].length, ignored[i].name, NULL,
				    read_all_masked, write_ignored))
			return -1;
	return 0;
}
