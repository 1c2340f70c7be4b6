/*
 * Firmware may leave the 8259s unmasked with the PIT ticking. Presidio takes
 * its interrupts through the local APIC only (its timer, the kick IPI, the
 * panic NMI), so mask both PICs: otherwise a pending 8259 timer interrupt
 * would make every VM entry exit at once.
 */
#include "drivers/pic.h"
#include "arch/x86/cpu.h"

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1
#define PIC_MASK_ALL 0xff

void pic_mask_all(void)
{
	outb(PIC_MASTER_DATA, PIC_MASK_ALL);
	outb(PIC_SLAVE_DATA, PIC_MASK_ALL);
}
