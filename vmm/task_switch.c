/*
 * Hardware task switches (SDM Vol. 3A 7.3) for a backend that leaves them
 * to Presidio: VT-x exits on every one (SDM Vol. 3C 25.4.2) after the CPU
 * made the checks that come before a switch — the privilege checks on the
 * gate or the TSS descriptor, which depend on whether a gate was used (the
 * exit does not say), and the new TSS descriptor's selector, type, present
 * bit and limit. The type, present and limit checks are made again here
 * (they hold whichever way the TSS was reached); the rest is the switch:
 * the old task's state saved, busy bits, back link and NT, CR3, the new
 * task's registers and segments (checked as SDM Table 7-1 says), TR,
 * CR0.TS, and the error code of an exception delivered through a task gate
 * pushed on the new task's stack.
 *
 * Every value comes from the guest's GDT, LDT and TSSs: a bad one gives the
 * fault the CPU would give; a table or TSS outside RAM stops the VM.
 */
#include "vmm/vmm.h"
#include "vmm/backend.h"
#include "vmm/task_descriptor.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"
#include "lib/string.h"

/* DR7 L0-L3 and LE: the CPU clears the local breakpoint enables on a task
 * switch (SDM Vol. 3B 18.2.4). */
#define DR7_LOCAL_ENABLES (BIT(0) | BIT(2) | BIT(4) | BIT(6) | BIT(8))
#define TSS_TRAP BIT(0) /* T: #DB when the task starts */
#define GPR_COUNT_32 8  /* EAX..EDI, the TSS's order and Presidio's */

/* SDM Vol. 3A Figure 7-2: the 32-bit TSS. */
struct tss32 {
	u16 link, reserved0;
	u32 esp0;
	u16 ss0, reserved1;
	u32 esp1;
	u16 ss1, reserved2;
	u32 esp2;
	u16 ss2, reserved3;
	u32 cr3, eip, eflags;
	u32 gpr[GPR_COUNT_32];
	struct {
		u16 selector, reserved;
	} seg[SREG_LDTR]; /* ES, CS, SS, DS, FS, GS */
	u16 ldt, reserved10;
	u16 trap, io_map;
} __attribute__((packed));
_Static_assert(sizeof(struct tss32) == 104, "SDM Vol. 3A Figure 7-2");

/* SDM Vol. 3A Figure 7-11: the 16-bit TSS (no CR3, FS, GS or T flag). */
#define TSS16_SEGMENTS 4 /* ES, CS, SS, DS */
struct tss16 {
	u16 link;
	u16 stack[6]; /* SP0, SS0, SP1, SS1, SP2, SS2 */
	u16 ip, flags;
	u16 gpr[GPR_COUNT_32];
	u16 seg[TSS16_SEGMENTS];
	u16 ldt;
} __attribute__((packed));
_Static_assert(sizeof(struct tss16) == 44, "SDM Vol. 3A Figure 7-11");

#define TSS32_DYNAMIC_START offsetof(struct tss32, eip)
#define TSS32_DYNAMIC_END offsetof(struct tss32, ldt)
#define TSS16_DYNAMIC_START offsetof(struct tss16, ip)
#define TSS16_DYNAMIC_END offsetof(struct tss16, ldt)

/* A task's state in either format. */
struct task_state {
	u32 cr3, eip, eflags;
	u32 gpr[GPR_COUNT_32];
	u16 selector[SREG_LDTR]; /* ES..GS */
	u16 ldt, trap;
};

static void state_from_tss32(const struct tss32 *tss, struct task_state *state)
{
	*state = (struct task_state){ .cr3 = tss->cr3, .eip = tss->eip, .eflags = tss->eflags,
				      .ldt = tss->ldt, .trap = tss->trap };
	memcpy(state->gpr, tss->gpr, sizeof(state->gpr));
	for (int i = 0; i < SREG_LDTR; i++)
		state->selector[i] = tss->seg[i].selector;
}

/* A 16-bit TSS holds no FS or GS: they keep what they held (as KVM). */
static void state_from_tss16(const struct tss16 *tss, const struct ts_context *t, struct task_state *state)
{
	*state = (struct task_state){ .cr3 = (u32)t->s.cr3, .eip = tss->ip, .eflags = tss->flags, .ldt = tss->ldt };
	for (int i = 0; i < GPR_COUNT_32; i++)
		state->gpr[i] = tss->gpr[i];
	for (int i = 0; i < SREG_LDTR; i++)
		state->selector[i] = i < TSS16_SEGMENTS ? tss->seg[i] : t->s.seg[i].selector;
}

static int read_task_state(struct ts_context *t, const struct segment *tss, struct task_state *state)
{
	union {
		struct tss32 t32;
		struct tss16 t16;
	} raw;
	bool is32 = tss_is_32bit(tss);
	int rc = ts_system_access(t, tss->base, &raw, is32 ? sizeof(raw.t32) : sizeof(raw.t16), false, "new TSS");
	if (rc)
		return rc;
	if (is32)
		state_from_tss32(&raw.t32, state);
	else
		state_from_tss16(&raw.t16, t, state);
	return TS_OK;
}

/* The dynamic fields (EIP through the segment selectors) of the task
 * being left, in the format of its TSS. */
static int save_task_state(struct ts_context *t, const struct task_state *state)
{
	const struct segment *tr = &t->s.seg[SREG_TR];
	if (tss_is_32bit(tr)) {
		struct tss32 tss = { .eip = state->eip, .eflags = state->eflags };
		memcpy(tss.gpr, state->gpr, sizeof(tss.gpr));
		for (int i = 0; i < SREG_LDTR; i++)
			tss.seg[i].selector = state->selector[i];
		return ts_system_access(t, tr->base + TSS32_DYNAMIC_START, (u8 *)&tss + TSS32_DYNAMIC_START,
					TSS32_DYNAMIC_END - TSS32_DYNAMIC_START, true, "current TSS");
	}
	struct tss16 tss = { .ip = (u16)state->eip, .flags = (u16)state->eflags };
	for (int i = 0; i < GPR_COUNT_32; i++)
		tss.gpr[i] = (u16)state->gpr[i];
	for (int i = 0; i < TSS16_SEGMENTS; i++)
		tss.seg[i] = state->selector[i];
	return ts_system_access(t, tr->base + TSS16_DYNAMIC_START, (u8 *)&tss + TSS16_DYNAMIC_START,
				TSS16_DYNAMIC_END - TSS16_DYNAMIC_START, true, "current TSS");
}

/* The task being left, as the switch saves it: the EIP after the CALL,
 * JMP, IRET or INTn, the faulting or interrupted EIP for a hardware event;
 * NT cleared by IRET (SDM Vol. 3A 7.4). */
static void current_task_state(const struct ts_context *t, struct task_state *state)
{
	u64 eip = t->v->regs.rip + (t->event == TASK_EVENT_NONE || t->event == TASK_EVENT_SOFTWARE
					    ? t->instruction_length : 0);
	*state = (struct task_state){ .eip = (u32)eip, .eflags = (u32)t->v->regs.rflags };
	if (t->source == TASK_SWITCH_IRET)
		state->eflags &= ~(u32)RFLAGS_NT;
	for (int i = 0; i < GPR_COUNT_32; i++)
		state->gpr[i] = (u32)t->v->regs.gpr[i];
	for (int i = 0; i < SREG_LDTR; i++)
		state->selector[i] = t->s.seg[i].selector;
}

/* Steps before the commit point (SDM Vol. 3A 7.3 steps 4-8): a fault here
 * leaves the old task as it was, apart from what it already wrote. */
static int leave_current_task(struct ts_context *t, const struct segment *new_tss, struct task_state *next)
{
	struct task_state current;
	int rc = read_task_state(t, new_tss, next);
	if (rc)
		return rc;
	current_task_state(t, &current);
	if ((rc = save_task_state(t, &current)))
		return rc;
	if (t->source == TASK_SWITCH_JMP || t->source == TASK_SWITCH_IRET)
		if ((rc = tss_set_busy(t, t->s.seg[SREG_TR].selector, false)))
			return rc;
	if (t->source == TASK_SWITCH_CALL || t->source == TASK_SWITCH_GATE) {
		/* The back link IRET follows; NT says there is one. */
		u16 link = t->s.seg[SREG_TR].selector;
		if ((rc = ts_system_access(t, new_tss->base, &link, sizeof(link), true, "new TSS")))
			return rc;
		next->eflags |= RFLAGS_NT;
	}
	if (t->source != TASK_SWITCH_IRET)
		return tss_set_busy(t, t->selector, true);
	return TS_OK;
}

/* The commit point and after (steps 9-12): TR, CR0.TS, CR3 and the
 * registers are the new task's; a fault from here on is the new task's. */
static int enter_next_task(struct ts_context *t, const struct segment *new_tss, const struct task_state *next)
{
	struct vcpu *v = t->v;
	t->committed = true;
	t->s.seg[SREG_TR] = *new_tss;
	t->s.seg[SREG_TR].type |= TSS_TYPE_BUSY;
	t->s.cr0 |= CR0_TS;
	t->s.cr3 = next->cr3; /* the guest's paging is its own: any value */
	t->s.dr7 &= ~(u64)DR7_LOCAL_ENABLES;
	v->regs.rip = next->eip;
	v->regs.rflags = next->eflags | RFLAGS_RESERVED_ONE;
	for (int i = 0; i < GPR_COUNT_32; i++)
		v->regs.gpr[i] = next->gpr[i];
	backend->clear_interrupt_shadow(v);
	/* Descriptor reads from here on go through the new CR3. */
	vcpu_set_sregs(v, &t->s);
	if (next->eflags & RFLAGS_VM) {
		vm_stop(v->vm, "task switch to TSS selector 0x%x: the new task is a virtual-8086 task, which "
			"Presidio does not emulate", t->selector);
		return TS_STOP;
	}
	int rc = load_task_segments(t, next->selector, next->ldt);
	vcpu_set_sregs(v, &t->s);
	return rc;
}

/* An exception through a task gate pushes its error code on the new
 * task's stack, a dword for a 32-bit TSS (SDM Vol. 3A 6.12.2). */
static int push_error_code(struct ts_context *t, const struct segment *new_tss)
{
	const struct segment *ss = &t->s.seg[SREG_SS];
	unsigned size = tss_is_32bit(new_tss) ? 4 : 2;
	u64 mask = ss->db ? 0xffffffffULL : 0xffffULL;
	u64 sp = (t->v->regs.gpr[GPR_RSP] - size) & mask;
	bool expand_down = ss->type & SEG_TYPE_EXPAND_DOWN;
	if (expand_down ? sp <= ss->limit || sp + size - 1 > mask : sp + size - 1 > ss->limit)
		return ts_fault(t, VEC_SS, t->ext);
	int rc = ts_data_write(t, (ss->base + sp) & 0xffffffffULL, &t->error_code, size);
	if (rc)
		return rc;
	t->v->regs.gpr[GPR_RSP] = (t->v->regs.gpr[GPR_RSP] & ~mask) | sp;
	return TS_OK;
}

static int switch_tasks(struct ts_context *t, bool *trap)
{
	struct segment new_tss;
	struct task_state next;
	int rc = tss_read_new_descriptor(t, &new_tss);
	if (rc || (rc = leave_current_task(t, &new_tss, &next)) || (rc = enter_next_task(t, &new_tss, &next)))
		return rc;
	if (t->has_error_code && (rc = push_error_code(t, &new_tss)))
		return rc;
	*trap = tss_is_32bit(&new_tss) && (next.trap & TSS_TRAP);
	return TS_OK;
}

/* The T flag: a #DB trap before the new task's first instruction. */
static void debug_trap(struct vcpu *v)
{
	struct vcpu_sregs s;
	backend->get_sregs(v, &s);
	s.dr6 |= DR6_BT;
	vcpu_set_sregs(v, &s);
	vcpu_inject_exception(v, VEC_DB, false, 0);
}

enum exit_action handle_task_switch(struct vcpu *v, const struct vm_exit *exit)
{
	struct ts_context t = {
		.v = v, .selector = exit->task_switch.selector, .source = exit->task_switch.source,
		.event = exit->task_switch.event, .vector = exit->task_switch.vector,
		.has_error_code = exit->task_switch.has_error_code, .error_code = exit->task_switch.error_code,
		.instruction_length = exit->instruction_length,
	};
	bool trap = false;
	t.ext = t.event == TASK_EVENT_EXCEPTION || t.event == TASK_EVENT_EXTERNAL;
	backend->get_sregs(v, &t.s);
	if (t.s.efer & EFER_LMA) { /* the CPU raises #GP: IA-32e mode has no task switches */
		vm_stop(v->vm, "task switch to TSS selector 0x%x in IA-32e mode", t.selector);
		return EXIT_STOP;
	}
	if ((t.event == TASK_EVENT_NONE || t.event == TASK_EVENT_SOFTWARE) && !t.instruction_length) {
		vm_stop(v->vm, "task switch to TSS selector 0x%x: the length of the instruction at RIP 0x%llx "
			"is unknown", t.selector, (unsigned long long)v->regs.rip);
		return EXIT_STOP;
	}
	switch (switch_tasks(&t, &trap)) {
	case TS_STOP: backend->dump_state(v); return EXIT_STOP;
	case TS_FAULT: return ts_deliver_fault(&t) ? EXIT_CONTINUE : EXIT_STOP;
	default:
		if (trap)
			debug_trap(v);
		return EXIT_CONTINUE;
	}
}
