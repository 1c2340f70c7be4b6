/*
 * vm.c's list of device state, for tests that build a struct vm by hand:
 * vm_device_alloc() as vm.c does it (and a switch to make it fail), and
 * freeing the list again; with FAKE_VM_LOG_RECORDER also kzalloc() and a
 * vm_log() that keeps the last line. Include after vmm/vm.h.
 */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#ifdef FAKE_VM_LOG_RECORDER
void *kzalloc(size_t size) { return calloc(1, size); }

static unsigned log_lines;
static char last_log[256];

void vm_log(const struct vm *owner, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
	log_lines++;
}
#endif

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
