/* The GDT every ELF test guest runs with (loaded by lib_start). */
#ifndef GUEST_GDT_H
#define GUEST_GDT_H

#include <stdint.h>

#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define SEL_CODE64 0x18
#define SEL_DATA_NOT_PRESENT 0x20 /* data segment with P=0: loading it raises #NP */
#define SEL_DATA_BASED 0x28       /* flat data, but based at DATA_BASED_BASE */
#define GDT_ENTRIES 6

#define DATA_BASED_BASE 0x00400000u

void gdt_load(void);

#endif
