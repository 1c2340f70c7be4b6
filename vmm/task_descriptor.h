/*
 * The descriptor side of an emulated task switch (vmm/task_switch.c):
 * reading and checking the new TSS descriptor, the busy bits, and loading
 * the new task's LDTR and segment registers with the checks of SDM Vol. 3A
 * Table 7-1. Internal to those two files.
 */
#pragma once
#include "lib/types.h"
#include "vmm/exit.h"
#include "vmm/vcpu_state.h"

struct vcpu;

/* Descriptor type bits (SDM Vol. 3A 3.4.5.1, 3.5). */
#define SEG_TYPE_ACCESSED BIT(0)
#define SEG_TYPE_WRITABLE BIT(1)      /* data */
#define SEG_TYPE_READABLE BIT(1)      /* code */
#define SEG_TYPE_EXPAND_DOWN BIT(2)   /* data */
#define SEG_TYPE_CONFORMING BIT(2)    /* code */
#define SEG_TYPE_CODE BIT(3)
#define TSS_TYPE_BUSY BIT(1)
#define TSS_TYPE_32BIT BIT(3)
#define TSS_TYPE_AVAILABLE_16 0x1
#define TSS_TYPE_AVAILABLE_32 0x9
/* The smallest limits of a usable TSS (SDM Vol. 3A 7.2.2). */
#define TSS32_MIN_LIMIT 0x67
#define TSS16_MIN_LIMIT 0x2b

enum { TS_OK, TS_FAULT, TS_STOP };

/* One task switch in progress. */
struct ts_context {
	struct vcpu *v;
	struct vcpu_sregs s;  /* the state being built, set at the commit point */
	u16 selector;         /* the new TSS */
	enum task_switch_source source;
	enum task_switch_event event;
	u8 vector;            /* the event's, through a task gate */
	bool has_error_code;
	u32 error_code;
	u8 instruction_length;
	u16 ext;              /* EXT, bit 0 of the switch's fault error codes */
	bool committed;       /* past the commit point: faults are the new task's */
	/* The fault the switch raised (TS_FAULT). */
	u8 fault_vector;
	u32 fault_error_code;
	u64 fault_address;    /* #PF: CR2 */
};

static inline bool tss_is_32bit(const struct segment *tss)
{
	return tss->type & TSS_TYPE_32BIT;
}

/* Records a fault; returns TS_FAULT. */
int ts_fault(struct ts_context *t, u8 vector, u32 error_code);
/* The CPU's own access to a TSS or descriptor table (a supervisor access
 * at any CPL): #PF, or the VM stopped if the memory is not RAM. */
int ts_system_access(struct ts_context *t, u64 linear, void *buf, unsigned len, bool write, const char *what);
/* An ordinary write at the new CPL (the error code on the new stack). */
int ts_data_write(struct ts_context *t, u64 linear, const void *buf, unsigned len);
/* The new TSS descriptor, checked for the kind of switch. */
int tss_read_new_descriptor(struct ts_context *t, struct segment *tss);
/* Sets or clears the busy bit of a TSS descriptor in the GDT. */
int tss_set_busy(struct ts_context *t, u16 selector, bool busy);
/* LDTR, then CS, SS, DS, ES, FS, GS from the new task's selectors. */
int load_task_segments(struct ts_context *t, const u16 selector[SREG_LDTR], u16 ldt);
/* Queues the recorded fault, merged with the event the switch delivered
 * as SDM Vol. 3A Table 6-5 says. False if that stopped the VM. */
bool ts_deliver_fault(struct ts_context *t);
