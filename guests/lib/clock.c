/*
 * The TSC as a clock, calibrated against PIT channel 2 (see clock.h).
 */
#include "clock.h"
#include "x86.h"

/* PIT channel 2, gated and read back through port 0x61 (PC/AT port B). */
#define PIT_HZ 1193182u
#define PIT_CH2_DATA 0x42
#define PIT_COMMAND 0x43
#define PIT_CH2_LOHI_MODE0 0xb0 /* channel 2, lobyte/hibyte, mode 0, binary */
#define PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_WRITABLE 0x0f
#define PORT_B_OUT2 0x20
#define CALIBRATION_MS 10
/* A PIT that never counts down must not hang the guest: give up after
 * this many TSC ticks (seconds at any plausible TSC rate). */
#define PIT_POLL_TSC_LIMIT (1ull << 34)
/* Used when the PIT does not answer; only makes timeouts approximate. */
#define FALLBACK_TSC_KHZ 1000000u

static uint32_t tsc_khz;

/* Runs PIT channel 2 once for `ms` (at most 54) and returns the TSC ticks
 * it took, or 0 if OUT2 never went high. */
static uint32_t pit_measure_tsc(uint32_t ms)
{
	uint32_t count = PIT_HZ * ms / 1000;
	uint8_t port_b = inb(PORT_B) & PORT_B_WRITABLE & ~(PORT_B_GATE2 | PORT_B_SPEAKER);
	outb(PORT_B, port_b); /* gate low: mode 0 holds the count */
	outb(PIT_COMMAND, PIT_CH2_LOHI_MODE0);
	outb(PIT_CH2_DATA, (uint8_t)count);
	outb(PIT_CH2_DATA, (uint8_t)(count >> 8));
	uint64_t start = rdtsc_ordered();
	outb(PORT_B, port_b | PORT_B_GATE2);
	uint64_t now;
	do {
		now = rdtsc_ordered();
		if (now - start > PIT_POLL_TSC_LIMIT)
			return 0;
	} while (!(inb(PORT_B) & PORT_B_OUT2));
	outb(PORT_B, port_b);
	return (uint32_t)(now - start);
}

bool clock_init(void)
{
	uint32_t ticks = pit_measure_tsc(CALIBRATION_MS);
	tsc_khz = ticks ? ticks / CALIBRATION_MS : FALLBACK_TSC_KHZ;
	return ticks != 0;
}

uint32_t clock_tsc_khz(void)
{
	return tsc_khz;
}

uint64_t deadline_after_ms(uint32_t ms)
{
	return rdtsc() + (uint64_t)ms * tsc_khz;
}

bool deadline_passed(uint64_t deadline)
{
	return (int64_t)(rdtsc() - deadline) >= 0;
}

void delay_us(uint32_t us)
{
	uint64_t end = rdtsc() + (uint64_t)us * (tsc_khz / 1000 ? tsc_khz / 1000 : 1);
	while ((int64_t)(rdtsc() - end) < 0)
		pause();
}

/* Without 64-bit division (no libgcc): both sides shift until the ticks
 * fit 32 bits, which costs precision only for very long spans. */
uint32_t clock_ms_since(uint64_t start)
{
	uint64_t ticks = rdtsc() - start;
	uint32_t per_ms = tsc_khz;
	while (ticks >> 32 && per_ms > 1) {
		ticks >>= 1;
		per_ms >>= 1;
	}
	return ticks >> 32 ? UINT32_MAX : (uint32_t)ticks / per_ms;
}

bool wait_for_u32(const volatile uint32_t *p, uint32_t want, uint32_t timeout_ms)
{
	uint64_t deadline = deadline_after_ms(timeout_ms);
	while (*p != want) {
		if (deadline_passed(deadline))
			return *p == want;
		pause();
	}
	return true;
}
