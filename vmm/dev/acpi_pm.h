/*
 * ACPI fixed hardware for guests (ACPI 6.4 chapter 4.8): the PM1a event and
 * control blocks, the 24-bit PM timer and the reset register at port 0xcf9,
 * at the ports the guest FADT (vmm/acpi_guest.c) advertises. No SCI yet.
 */
#pragma once
#include "lib/types.h"

struct vm;
struct acpi_pm;

#define ACPI_PM_TIMER_HZ 3579545ULL
#define ACPI_PM_TIMER_BITS 24

/* Provided by the VM layer: power the VM off (S5) at the next opportunity.
 * Called from an I/O handler, so it must only record the request. */
void vm_power_off(struct vm *vm);

/* Allocates the device (vm_device_alloc) and claims its ports on vm->pio:
 * 0x600-0x60b and 0xcf9 (so the PCI host must claim 0xcf8 with length 1).
 * NULL on failure. */
struct acpi_pm *acpi_pm_create(struct vm *vm);
