/* Constants shared by the boot assembly and C. */
#pragma once

#define BOOT_CODE64_SELECTOR 0x08
#define BOOT_DATA_SELECTOR 0x10
#define BOOT_STACK_SIZE (16 * 1024)
