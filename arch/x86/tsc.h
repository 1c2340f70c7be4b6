#pragma once
#include "lib/types.h"

/* TSC frequency, measured against PIT channel 2 once at boot. */
extern u64 tsc_hz;
u64 tsc_at_entry(void);
void tsc_calibrate(void);
u64 tsc_to_us(u64 ticks);
void tsc_record_entry(void);
