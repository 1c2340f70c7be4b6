/*
 * The PC guest-physical layout, as QEMU's pc machine and KVM users have
 * it: RAM below 1 MiB around the EBDA, VGA window and BIOS area, RAM from
 * 1 MiB up to the PCI hole, and the rest of the RAM from 4 GiB up. The
 * hole [PC_PCI_HOLE_START, 4 GiB) is never RAM: PCI BARs, the test page
 * (0xfe000000), the I/O APIC (0xfec00000) and the local APIC (0xfee00000)
 * live there, whatever the VM's size.
 */
#pragma once
#include "lib/types.h"
#include "vmm/memmap.h"

#define PC_EBDA_START 0x9f000ULL /* page-aligned: the nested page tables map whole pages */
#define PC_VGA_START 0xa0000ULL
/* Option-ROM and BIOS area: reserved, zero-filled RAM, so the scans guests
 * make of it (SMBIOS, MP tables, RSDP) read memory instead of exiting. */
#define PC_BIOS_START 0xc0000ULL
#define PC_HIGH_MEMORY_START (1 * MiB)
/* Where QEMU's pc machine ends RAM below 4 GiB for VMs of 3.5 GiB and more;
 * here for every size, so one VM's layout does not depend on its size. */
#define PC_PCI_HOLE_START 0xc0000000ULL
#define PC_HIGH_RAM_START (4 * GiB)

/* A piece of host memory backing guest RAM, a whole number of
 * GUEST_RAM_CHUNKs long and aligned to one. */
struct pc_ram_run {
	u64 hpa;
	u8 *host;
	u64 size;
};

static inline u64 pc_low_ram_size(u64 ram_size) { return MIN(ram_size, PC_PCI_HOLE_START); }
/* End of the highest guest-physical RAM byte for a VM of ram_size bytes. */
static inline u64 pc_ram_end(u64 ram_size)
{
	return ram_size > PC_PCI_HOLE_START ? PC_HIGH_RAM_START + (ram_size - PC_PCI_HOLE_START) : ram_size;
}

/* Adds ram_size bytes of RAM backed by runs[] (in order: the first backs
 * guest-physical 0) to the map in the layout above. 0, or -1 if the runs
 * do not add up to ram_size, are not whole chunks or the map is full. */
int pc_memory_build(struct memmap *map, u64 ram_size, const struct pc_ram_run *runs, unsigned count);
