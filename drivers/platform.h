/* Actions on the physical platform as a whole. */
#pragma once
#include "lib/types.h"

#define QEMU_DEBUG_EXIT_PORT 0xf4

/* Ends a QEMU run with status (value << 1) | 1 through isa-debug-exit
 * (-device isa-debug-exit,iobase=0xf4,iosize=4); returns if there is none. */
void platform_qemu_exit(u32 value);
