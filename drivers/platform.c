#include "drivers/platform.h"
#include "arch/x86/cpu.h"

void platform_qemu_exit(u32 value)
{
	outl(QEMU_DEBUG_EXIT_PORT, value);
}
