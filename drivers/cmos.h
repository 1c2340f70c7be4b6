/* The host's MC146818 RTC: the wall-clock date at boot, for guests' RTCs. */
#pragma once
#include "lib/types.h"

struct wall_time {
	u16 year;
	u8 month, day, hour, minute, second;
};

/* Reads the host RTC (waiting out an update in progress). Returns false if
 * the values make no sense (no RTC). */
bool cmos_read_time(struct wall_time *t);
