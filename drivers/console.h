/*
 * The console: one physical UART shared by the hypervisor's lines (prefixed
 * "(presidio) ") and guest output, serialized by a lock so lines never
 * interleave; input too, which raw guests' UARTs on several CPUs may poll
 * at once. A raw guest's bytes go through the raw filter
 * (drivers/console_filter.h) so a hypervisor line always starts a fresh,
 * readable line.
 */
#pragma once
#include "lib/types.h"
#include "drivers/console_filter.h"

void console_init(u16 port, u32 baud);
/* Hypervisor output (a prefixed guest's filtered line counts as such). */
void console_write(const char *s, size_t len);
/* One byte from a guest that owns the console line (console=raw). */
void console_raw_guest_write(const char *owner, u8 byte);
u16 console_port(void);
/* Fatal path: drop the console lock (its holder may be the code that
 * faulted) so the dump always gets out. */
void console_break_lock(void);
/* One byte typed on the console, or -1 if none is waiting. */
int console_getc(void);
