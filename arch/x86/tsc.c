/* TSC calibration against the 8254 PIT (channel 2, gated through port 0x61). */
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "lib/print.h"

#define PIT_HZ 1193182ULL
#define PIT_CHANNEL2 0x42
#define PIT_COMMAND 0x43
#define PIT_CMD_CHANNEL2_LOHI_MODE0 0xb0
#define SYSTEM_CONTROL_PORT_B 0x61
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
#define CALIBRATION_MS 20
/* Give up if OUT2 never rises (no PIT): ~10x the expected TSC ticks at 10 GHz. */
#define CALIBRATION_SPIN_LIMIT 100000000ULL

u64 tsc_hz;
static u64 entry_tsc;

u64 tsc_at_entry(void) { return entry_tsc; }
void tsc_record_entry(void) { entry_tsc = rdtsc(); }

void tsc_calibrate(void)
{
	u16 latch = (u16)(PIT_HZ * CALIBRATION_MS / 1000);
	u8 port_b = inb(SYSTEM_CONTROL_PORT_B);
	outb(SYSTEM_CONTROL_PORT_B, (port_b & ~PORT_B_SPEAKER) | PORT_B_GATE2);
	outb(PIT_COMMAND, PIT_CMD_CHANNEL2_LOHI_MODE0);
	outb(PIT_CHANNEL2, latch & 0xff);
	outb(PIT_CHANNEL2, latch >> 8);
	u64 start = rdtsc(), spins = 0;
	while (!(inb(SYSTEM_CONTROL_PORT_B) & PORT_B_OUT2) && ++spins < CALIBRATION_SPIN_LIMIT)
		;
	u64 ticks = rdtsc() - start;
	outb(SYSTEM_CONTROL_PORT_B, port_b);
	if (spins >= CALIBRATION_SPIN_LIMIT) {
		pr_warn("tsc: the PIT did not count; TSC frequency unknown");
		return;
	}
	tsc_hz = ticks * 1000 / CALIBRATION_MS;
	pr_info("tsc: %llu.%03llu MHz (calibrated against the PIT)",
		(unsigned long long)(tsc_hz / 1000000), (unsigned long long)(tsc_hz / 1000 % 1000));
}

u64 tsc_to_us(u64 ticks)
{
	return tsc_hz ? ticks / (tsc_hz / 1000000 ? tsc_hz / 1000000 : 1) : 0;
}
