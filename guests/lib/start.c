/* From the assembly entry to guest_main, then the report. */
#include "gdt.h"
#include "interrupts.h"
#include "multiboot.h"
#include "report.h"
#include "serial.h"
#include "x86.h"

#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1
#define PIC_MASK_ALL 0xff

void lib_start(uint32_t magic, uint32_t info_address);
void lib_start(uint32_t magic, uint32_t info_address)
{
	gdt_load();
	idt_init();
	/* Legacy IRQs would land on exception vectors (a BIOS leaves IRQ0 at 8). */
	outb(PIC_MASTER_DATA, PIC_MASK_ALL);
	outb(PIC_SLAVE_DATA, PIC_MASK_ALL);
	multiboot_init(magic, info_address);
	printf("guest %s: cmdline \"%s\"\n", guest_name, multiboot_cmdline());
	if (!multiboot_magic_ok())
		report_fail("multiboot magic", "eax was 0x%x, expected 0x%x", magic,
			    MULTIBOOT_BOOTLOADER_MAGIC);
	guest_main();
	report_done();
}
