/*
 * vm.c's list of device state, for tests that build a struct vm by hand:
 * vm_device_alloc() as vm.c does it (and a switch to make it fail), and
 * freeing the list again. Include after vmm/vm.h.
 */
#pragma once
#include <stdlib.h>

static bool fake_device_alloc_fails;

void *vm_device_alloc(struct vm *owner, size_t size)
{
	if (fake_device_alloc_fails)
		return NULL;
	struct vm_device_state *d = calloc(1, sizeof(*d) + size);
	if (!d)
		return NULL;
	d->next = owner->devices;
	owner->devices = d;
	return d->data;
}

static UNUSED void fake_free_devices(struct vm *owner)
{
	while (owner->devices) {
		struct vm_device_state *d = owner->devices;
		owner->devices = d->next;
		free(d);
	}
}
