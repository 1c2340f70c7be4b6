/*
 * The hostile suite: guests/hostile.c runs these groups of cases in order,
 * one file each. A case is one check (PASS/FAIL line); every group must
 * leave the guest as it found it (paging off, interrupts off, devices
 * quiet) so the groups after it still run.
 */
#ifndef GUEST_HOSTILE_H
#define GUEST_HOSTILE_H

/* What the previous VM on the same host may have left behind (run first). */
void hostile_leftover_cases(void);
/* CPU state a guest controls: XCR0, CR0/CR4/EFER, debug registers, injection. */
void hostile_cpu_cases(void);
/* Virtual timers programmed to fire as fast as their registers allow. */
void hostile_timer_cases(void);
/* Console output that tries to pass for the hypervisor's or the terminal's. */
void hostile_console_cases(void);
/* 64-bit string I/O: address size, canonical addresses. */
void hostile_long_mode_cases(void);
/* State this VM leaves behind for the next one to look for (run last). */
void hostile_leave_leftovers(void);

#endif
