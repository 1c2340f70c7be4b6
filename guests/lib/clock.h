/*
 * The TSC as a clock: calibrated against PIT channel 2 by clock_init, then
 * used for delays and timeouts (an event that never comes gives a FAIL, not
 * a hang). Used by the guests that start APs (guests/lib/ap_start.c).
 */
#ifndef GUEST_CLOCK_H
#define GUEST_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

/* Runs PIT channel 2 for 10 ms; false (and an assumed 1 GHz) if it never
 * counted down. */
bool clock_init(void);
uint32_t clock_tsc_khz(void);
uint64_t deadline_after_ms(uint32_t ms);
bool deadline_passed(uint64_t deadline);
void delay_us(uint32_t us);
uint32_t clock_ms_since(uint64_t start);
/* Waits (pausing) until *p == want; false on timeout. */
bool wait_for_u32(const volatile uint32_t *p, uint32_t want, uint32_t timeout_ms);

#endif
