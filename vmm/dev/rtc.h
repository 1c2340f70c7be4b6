/*
 * The PC's MC146818 real-time clock and CMOS RAM at ports 0x70 (index,
 * bit 7 = NMI mask) and 0x71 (data). The clock runs from a wall-clock time
 * given at creation plus the guest clock; interrupts go to GSI 8.
 */
#pragma once
#include "lib/types.h"
#include "vmm/pc_memory.h"

struct vm;
struct rtc;

#define RTC_BASE 0x70
/* RAM beyond this is placed above 4 GiB, as in the VM's memory map. */
#define RTC_LOW_RAM_MAX PC_PCI_HOLE_START

/* A UTC calendar time; year is the full year (e.g. 2024), month 1-12, day 1-31. */
struct rtc_time {
	u16 year;
	u8 month, day, hour, minute, second;
};

/* Allocates the RTC (24-hour BCD, 1024 Hz periodic rate, interrupts off, as a
 * PC BIOS leaves it) with the CMOS memory-size bytes for ram_bytes, claims its
 * ports on vm->pio and registers its timers. NULL on failure. */
struct rtc *rtc_create(struct vm *vm, const struct rtc_time *now, u64 ram_bytes);
