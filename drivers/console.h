/*
 * The console: one physical UART shared by channels (the hypervisor log
 * now; each guest's UART later). Hypervisor lines get the "(presidio) "
 * prefix; output is serialized by a lock so lines never interleave.
 */
#pragma once
#include "lib/types.h"

#define CONSOLE_PREFIX "(presidio) "

void console_init(u16 port, u32 baud);
void console_write(const char *s, size_t len);
u16 console_port(void);
/* Fatal path: drop the console lock (its holder may be the code that
 * faulted) so the dump always gets out. */
void console_break_lock(void);
/* One byte typed on the console, or -1 if none is waiting. */
int console_getc(void);
