/*
 * Hypervisor command-line options: whitespace-separated key=value words.
 * Unknown or malformed words are reported through the callback, never
 * silently ignored.
 */
#pragma once
#include "lib/types.h"

enum paging_mode {
	PAGING_AUTO,   /* EPT/NPT when the CPU has it, else shadow */
	PAGING_SHADOW, /* force shadow page tables */
	PAGING_HAP,    /* require EPT/NPT (hardware-assisted paging) */
};

enum crash_test {
	CRASH_NONE,
	CRASH_UD,  /* ud2 in the hypervisor */
	CRASH_PF,  /* read from an unmapped address */
	CRASH_GP,  /* non-canonical access */
	CRASH_DE,  /* divide by zero */
	CRASH_DF,  /* stack fault while delivering a stack fault -> #DF on IST */
	CRASH_PANIC, /* panic() */
};

#define CRASH_CPU_MAX 63 /* MAX_CPUS - 1 */

enum finish_action {
	FINISH_HALT,      /* when every VM has ended, halt and keep the console */
	FINISH_QEMU_EXIT, /* write the result to QEMU's isa-debug-exit port 0xf4 */
};

struct hv_options {
	u16 console_port; /* 0 = no console */
	u32 baud;
	int loglevel;     /* enum log_level */
	enum paging_mode paging;
	enum crash_test crash;
	u32 crash_cpu;    /* the CPU (host_cpu_index) that performs crash= */
	bool noreboot;    /* halt instead of rebooting after a fatal error */
	enum finish_action finish;
};

/* Defaults: console=com1 baud=115200 loglevel=info paging=auto. */
void options_defaults(struct hv_options *o);

/*
 * Parse cmdline into o (which must already hold defaults). For each
 * unknown or malformed word, calls report(ctx, message) with one full
 * sentence. Returns the number of words reported.
 */
int options_parse(const char *cmdline, struct hv_options *o,
		  void (*report)(void *ctx, const char *msg), void *ctx);
