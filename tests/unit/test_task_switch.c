/*
 * Emulated hardware task switches (vmm/task_switch.c, vmm/task_descriptor.c)
 * against a fake vCPU: 16 MiB of RAM holding a GDT, an LDT, TSSs and, for
 * the paging cases, a 32-bit page table; the backend keeps the segment and
 * control registers in a struct here.
 *
 * Expectations come from the SDM: Vol. 3A 7.2 (TSS layout, descriptors,
 * busy bit), 7.3 (the switch: old state saved, back link, NT, busy bits,
 * CR3, CR0.TS, the new task's registers), Table 7-1 (#TS, #NP, #SS, #GP and
 * their error codes), 6.12.2 (an exception's error code on the new task's
 * stack), 6.13 (EXT), Table 6-5 (#DF, triple fault), 4.6 (descriptor and
 * TSS accesses are supervisor accesses).
 */
#include "tests/unit/host_support.h"
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-parameter" /* cmocka state arguments */

#include "vmm/memmap.c"
#include "vmm/pagewalk.c"
#include "vmm/guest_mem.c"
#include "vmm/task_descriptor.c"
#include "vmm/task_switch.c"

/* Architectural values, spelled out here rather than taken from the code
 * (the CR0/EFER/RFLAGS bits are arch/x86/cpu.h's, their one definition). */
#define X_VECTOR_DF 8
#define X_VECTOR_TS 10
#define X_VECTOR_NP 11
#define X_VECTOR_SS 12
#define X_VECTOR_GP 13
#define X_VECTOR_PF 14
#define X_TYPE_TSS32_AVAILABLE 0x9
#define X_TYPE_TSS32_BUSY 0xb
#define X_ACCESS_PRESENT 0x80
#define X_ACCESS_S 0x10
#define X_ACCESS_DPL3 0x60
#define X_FLAGS_G_DB 0xc /* descriptor bits 55:52: G, D/B, L, AVL */
#define X_PTE_PRESENT_WRITABLE 0x3
#define X_PTE_USER 0x4

#define RAM_SIZE (16 * MiB)
#define GDT_GPA 0x1000ULL
#define OLD_TSS_GPA 0x3000ULL
#define NEW_TSS_GPA 0x3100ULL
#define LDT_GPA 0x4000ULL
#define NEW_STACK_TOP 0x8000ULL
#define PAGE_DIRECTORY_GPA 0x100000ULL
#define PAGE_TABLE_GPA 0x101000ULL
#define MMIO_GPA 0xfe000000ULL
#define OLD_RIP 0x5000ULL
#define CALL_LENGTH 7 /* lcall ptr16:32 */

/* The GDT of every test. */
enum {
	SEL_CODE = 0x08,      /* flat 32-bit code, DPL 0, not yet accessed */
	SEL_DATA = 0x10,      /* flat 32-bit data, DPL 0 */
	SEL_CODE3 = 0x18,     /* DPL 3 */
	SEL_DATA3 = 0x20,     /* DPL 3 */
	SEL_OLD_TSS = 0x28,   /* the current task (busy) */
	SEL_NEW_TSS = 0x30,   /* available */
	SEL_LDT = 0x38,
	SEL_NOT_PRESENT_DATA = 0x40,
	SEL_SMALL_TSS = 0x48, /* limit 0x66: one byte short */
	SEL_ABSENT_TSS = 0x50,
	SEL_MMIO_TSS = 0x58,  /* in MMIO, not RAM */
	SEL_TSS16 = 0x60,     /* a 16-bit TSS */
	GDT_ENTRIES = 13,
	SEL_LDT_DATA = 0x04,  /* LDT entry 0: flat data, DPL 0 */
};

struct test_tss32 {
	u16 link, r0;
	u32 esp0;
	u16 ss0, r1;
	u32 esp1;
	u16 ss1, r2;
	u32 esp2;
	u16 ss2, r3;
	u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	u16 es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10, trap, iomap;
} __attribute__((packed));
_Static_assert(sizeof(struct test_tss32) == 104, "SDM Vol. 3A Figure 7-2");

struct test_tss16 {
	u16 link, sp0, ss0, sp1, ss1, sp2, ss2, ip, flags, ax, cx, dx, bx, sp, bp, si, di, es, cs, ss, ds, ldt;
} __attribute__((packed));
_Static_assert(sizeof(struct test_tss16) == 44, "SDM Vol. 3A Figure 7-11");

/* ---- Fakes: the backend's register state, injection, VM stop ---- */

static struct vcpu_sregs cpu;
static unsigned set_sregs_calls;

static void fake_get_sregs(struct vcpu *v, struct vcpu_sregs *s) { *s = cpu; }
static void fake_set_sregs(struct vcpu *v, const struct vcpu_sregs *s) { cpu = *s, set_sregs_calls++; }
static void fake_clear_interrupt_shadow(struct vcpu *v) {}
static void fake_dump_state(struct vcpu *v) {}
static const struct backend_ops fake_backend = {
	.get_sregs = fake_get_sregs, .set_sregs = fake_set_sregs,
	.clear_interrupt_shadow = fake_clear_interrupt_shadow, .dump_state = fake_dump_state,
};
const struct backend_ops *backend = &fake_backend;

void vcpu_control_refresh(struct vcpu *v)
{
	v->control = (struct vcpu_control){ .cr0 = cpu.cr0, .cr3 = cpu.cr3, .cr4 = cpu.cr4, .efer = cpu.efer,
					    .cs_default32 = cpu.seg[SREG_CS].db, .cpl = cpu.seg[SREG_SS].dpl };
	for (int i = SEG_ES; i <= SEG_GS; i++)
		v->control.segment_base[i] = cpu.seg[i].base;
	v->control_valid = true;
}

void vcpu_set_sregs(struct vcpu *v, const struct vcpu_sregs *s)
{
	backend->set_sregs(v, s);
	v->control_valid = false;
}

static struct {
	unsigned count;
	u8 vector;
	u32 error_code;
	u64 cr2;
} injection;

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error_code, u32 error_code)
{
	injection.count++;
	injection.vector = vector;
	injection.error_code = has_error_code ? error_code : 0;
}

void vcpu_inject_page_fault(struct vcpu *v, u64 address, u32 error_code)
{
	injection.cr2 = address;
	vcpu_inject_exception(v, VEC_PF, true, error_code);
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STOPPED;
}

/* ---- The machine ---- */

static struct vm vm;
static struct vcpu vcpu;
static u8 *ram;

static u64 descriptor(u32 base, u32 limit, u8 access, u8 flags)
{
	return (limit & 0xffff) | ((u64)(base & 0xffffff) << 16) | ((u64)access << 40) |
	       ((u64)((limit >> 16) & 0xf) << 48) | ((u64)flags << 52) | ((u64)(base >> 24) << 56);
}

static u64 gdt_entry(u16 selector) { u64 d; memcpy(&d, ram + GDT_GPA + (selector & ~7), 8); return d; }
static void set_gdt_entry(u16 selector, u64 d) { memcpy(ram + GDT_GPA + (selector & ~7), &d, 8); }
static bool gdt_busy(u16 selector) { return (gdt_entry(selector) >> 41) & 1; }
static u8 gdt_type(u16 selector) { return (gdt_entry(selector) >> 40) & 0xf; }
static struct test_tss32 *tss_at(u64 gpa) { return (struct test_tss32 *)(ram + gpa); }
static u32 ram32(u64 gpa) { u32 v; memcpy(&v, ram + gpa, 4); return v; }

static void build_gdt(void)
{
	set_gdt_entry(SEL_CODE, descriptor(0, 0xfffff, 0x9a, X_FLAGS_G_DB));
	set_gdt_entry(SEL_DATA, descriptor(0, 0xfffff, 0x93, X_FLAGS_G_DB));
	set_gdt_entry(SEL_CODE3, descriptor(0, 0xfffff, 0xfb, X_FLAGS_G_DB));
	set_gdt_entry(SEL_DATA3, descriptor(0, 0xfffff, 0xf3, X_FLAGS_G_DB));
	set_gdt_entry(SEL_OLD_TSS, descriptor(OLD_TSS_GPA, 0x67, X_ACCESS_PRESENT | X_TYPE_TSS32_BUSY, 0));
	set_gdt_entry(SEL_NEW_TSS, descriptor(NEW_TSS_GPA, 0x67, X_ACCESS_PRESENT | X_TYPE_TSS32_AVAILABLE, 0));
	set_gdt_entry(SEL_LDT, descriptor(LDT_GPA, 0xf, X_ACCESS_PRESENT | 0x2, 0));
	set_gdt_entry(SEL_NOT_PRESENT_DATA, descriptor(0, 0xfffff, 0x13, X_FLAGS_G_DB));
	set_gdt_entry(SEL_SMALL_TSS, descriptor(NEW_TSS_GPA, 0x66, X_ACCESS_PRESENT | X_TYPE_TSS32_AVAILABLE, 0));
	set_gdt_entry(SEL_ABSENT_TSS, descriptor(NEW_TSS_GPA, 0x67, X_TYPE_TSS32_AVAILABLE, 0));
	set_gdt_entry(SEL_MMIO_TSS, descriptor(MMIO_GPA, 0x67, X_ACCESS_PRESENT | X_TYPE_TSS32_AVAILABLE, 0));
	set_gdt_entry(SEL_TSS16, descriptor(NEW_TSS_GPA, 0x2b, X_ACCESS_PRESENT | 0x1, 0));
	u64 ldt_data = descriptor(0x10000, 0xfffff, 0x93, X_FLAGS_G_DB);
	memcpy(ram + LDT_GPA, &ldt_data, 8);
}

static struct segment flat(u16 selector, u8 type, u8 dpl)
{
	return (struct segment){ .selector = selector, .limit = 0xffffffff, .type = type, .s = true,
				 .present = true, .db = true, .g = true, .dpl = dpl };
}

/* The current task: TR = SEL_OLD_TSS, flat ring-0 segments, paging off. */
static void build_cpu(void)
{
	memset(&cpu, 0, sizeof(cpu));
	cpu.seg[SREG_CS] = flat(SEL_CODE, 0xb, 0);
	for (int i = SREG_ES; i <= SREG_GS; i++)
		if (i != SREG_CS)
			cpu.seg[i] = flat(SEL_DATA, 0x3, 0);
	cpu.seg[SREG_LDTR] = (struct segment){ .unusable = true };
	cpu.seg[SREG_TR] = (struct segment){ .selector = SEL_OLD_TSS, .base = OLD_TSS_GPA, .limit = 0x67,
					     .type = X_TYPE_TSS32_BUSY, .present = true };
	cpu.gdtr = (struct descriptor_table){ GDT_GPA, GDT_ENTRIES * 8 - 1 };
	cpu.cr0 = CR0_PE | CR0_ET;
	cpu.cr3 = 0xabc000;
	cpu.dr7 = 0x400 | 0x155; /* L0-L3, LE set: a task switch clears them */
	vcpu.regs.rip = OLD_RIP;
	vcpu.regs.rflags = 0x202;
	for (int i = 0; i < 8; i++)
		vcpu.regs.gpr[i] = 0x1000 * (i + 1) + i;
	vcpu.regs.gpr[GPR_RSP] = 0x7000;
}

/* The task behind SEL_NEW_TSS. */
static void build_new_tss(void)
{
	*tss_at(NEW_TSS_GPA) = (struct test_tss32){
		.cr3 = 0x123000, .eip = 0x6000, .eflags = 0x2, .eax = 0xa, .ecx = 0xc, .edx = 0xd, .ebx = 0xb,
		.esp = NEW_STACK_TOP, .ebp = 0xbb, .esi = 0x51, .edi = 0xd1, .es = SEL_DATA, .cs = SEL_CODE,
		.ss = SEL_DATA, .ds = SEL_LDT_DATA, .fs = SEL_DATA, .gs = SEL_DATA, .ldt = SEL_LDT,
		.iomap = 104,
	};
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	memset(&vcpu, 0, sizeof(vcpu));
	memset(&injection, 0, sizeof(injection));
	set_sregs_calls = 0;
	ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	vm.state = VM_RUNNING;
	memmap_add(&vm.mem, 0, RAM_SIZE, MEMMAP_RAM, ram, 0);
	vcpu.vm = &vm;
	build_gdt();
	build_cpu();
	build_new_tss();
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

/* ---- Helpers ---- */

static enum exit_action switch_to(u16 selector, enum task_switch_source source)
{
	struct vm_exit e = { .reason = EXIT_TASK_SWITCH, .instruction_length = CALL_LENGTH };
	e.task_switch.selector = selector;
	e.task_switch.source = source;
	return handle_task_switch(&vcpu, &e);
}

static enum exit_action gate_switch(u16 selector, enum task_switch_event event, u8 vector, bool has_error,
				    u32 error_code)
{
	struct vm_exit e = { .reason = EXIT_TASK_SWITCH, .instruction_length = 2 };
	e.task_switch.selector = selector;
	e.task_switch.source = TASK_SWITCH_GATE;
	e.task_switch.event = event;
	e.task_switch.vector = vector;
	e.task_switch.has_error_code = has_error;
	e.task_switch.error_code = error_code;
	return handle_task_switch(&vcpu, &e);
}

static void expect_no_injection(void)
{
	if (injection.count)
		fail_msg("unexpected injection of vector %u error 0x%x", injection.vector, injection.error_code);
	assert_int_equal(vm.state, VM_RUNNING);
}

static void expect_fault(u8 vector, u32 error_code)
{
	assert_int_equal(vm.state, VM_RUNNING);
	assert_int_equal(injection.count, 1);
	assert_int_equal(injection.vector, vector);
	assert_int_equal(injection.error_code, error_code);
}

/* Nothing of the old task changed: the fault is reported at the instruction. */
static void expect_old_task_untouched(void)
{
	assert_int_equal(vcpu.regs.rip, OLD_RIP);
	assert_int_equal(cpu.seg[SREG_TR].selector, SEL_OLD_TSS);
	assert_true(gdt_busy(SEL_OLD_TSS));
	assert_false(cpu.cr0 & CR0_TS);
}

/* ---- JMP, CALL, IRET ---- */

static void test_jmp_saves_old_and_loads_new(void **state)
{
	assert_int_equal(switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP), EXIT_CONTINUE);
	expect_no_injection();
	const struct test_tss32 *old = tss_at(OLD_TSS_GPA);
	assert_int_equal(old->eip, OLD_RIP + CALL_LENGTH); /* the instruction after the JMP */
	assert_int_equal(old->eflags, 0x202);
	assert_int_equal(old->eax, 0x1000);
	assert_int_equal(old->edi, 0x8007);
	assert_int_equal(old->esp, 0x7000);
	assert_int_equal(old->cs, SEL_CODE);
	assert_int_equal(old->ss, SEL_DATA);
	assert_int_equal(vcpu.regs.rip, 0x6000);
	assert_int_equal(vcpu.regs.rflags, 0x2);
	assert_int_equal(vcpu.regs.gpr[GPR_RAX], 0xa);
	assert_int_equal(vcpu.regs.gpr[GPR_RBX], 0xb);
	assert_int_equal(vcpu.regs.gpr[GPR_RSP], NEW_STACK_TOP);
	assert_int_equal(vcpu.regs.gpr[GPR_RDI], 0xd1);
	assert_int_equal(cpu.cr3, 0x123000);
	assert_true(cpu.cr0 & CR0_TS);
	assert_int_equal(cpu.dr7 & 0x155, 0);
	assert_int_equal(tss_at(NEW_TSS_GPA)->link, 0); /* no back link for JMP */
}

static void test_jmp_busy_bits_and_tr(void **state)
{
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	assert_false(gdt_busy(SEL_OLD_TSS));
	assert_true(gdt_busy(SEL_NEW_TSS));
	assert_int_equal(cpu.seg[SREG_TR].selector, SEL_NEW_TSS);
	assert_int_equal(cpu.seg[SREG_TR].base, NEW_TSS_GPA);
	assert_int_equal(cpu.seg[SREG_TR].limit, 0x67);
	assert_int_equal(cpu.seg[SREG_TR].type, X_TYPE_TSS32_BUSY);
}

static void test_segments_and_ldt_loaded(void **state)
{
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_no_injection();
	assert_int_equal(cpu.seg[SREG_LDTR].selector, SEL_LDT);
	assert_int_equal(cpu.seg[SREG_LDTR].base, LDT_GPA);
	assert_int_equal(cpu.seg[SREG_LDTR].limit, 0xf);
	assert_false(cpu.seg[SREG_LDTR].unusable);
	assert_int_equal(cpu.seg[SREG_DS].selector, SEL_LDT_DATA);
	assert_int_equal(cpu.seg[SREG_DS].base, 0x10000); /* from the new LDT */
	assert_int_equal(cpu.seg[SREG_CS].selector, SEL_CODE);
	assert_int_equal(cpu.seg[SREG_CS].limit, 0xffffffff);
	assert_true(cpu.seg[SREG_CS].db);
	/* Loading sets the accessed bit, in the cache and in the GDT. */
	assert_int_equal(cpu.seg[SREG_CS].type, 0xb);
	assert_int_equal(gdt_type(SEL_CODE), 0xb);
}

static void test_call_sets_nt_and_back_link(void **state)
{
	assert_int_equal(switch_to(SEL_NEW_TSS, TASK_SWITCH_CALL), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(tss_at(NEW_TSS_GPA)->link, SEL_OLD_TSS);
	assert_true(vcpu.regs.rflags & RFLAGS_NT);
	assert_true(gdt_busy(SEL_OLD_TSS)); /* the caller stays busy */
	assert_true(gdt_busy(SEL_NEW_TSS));
	assert_int_equal(tss_at(OLD_TSS_GPA)->eip, OLD_RIP + CALL_LENGTH);
}

static void test_iret_returns_through_back_link(void **state)
{
	tss_at(OLD_TSS_GPA)->cr3 = 0xabc000; /* static: the OS writes it, a switch does not save it */
	switch_to(SEL_NEW_TSS, TASK_SWITCH_CALL);
	vcpu.regs.rip = 0x6010;
	vcpu.regs.gpr[GPR_RAX] = 0xfeed;
	assert_int_equal(switch_to(tss_at(NEW_TSS_GPA)->link, TASK_SWITCH_IRET), EXIT_CONTINUE);
	expect_no_injection();
	/* The caller resumes after its CALL with its registers. */
	assert_int_equal(vcpu.regs.rip, OLD_RIP + CALL_LENGTH);
	assert_int_equal(vcpu.regs.rflags, 0x202);
	assert_int_equal(vcpu.regs.gpr[GPR_RAX], 0x1000);
	assert_int_equal(vcpu.regs.gpr[GPR_RSP], 0x7000);
	assert_int_equal(cpu.seg[SREG_TR].selector, SEL_OLD_TSS);
	assert_int_equal(cpu.cr3, 0xabc000);
	assert_false(gdt_busy(SEL_NEW_TSS)); /* IRET frees the task it leaves */
	assert_true(gdt_busy(SEL_OLD_TSS));
	/* The called task is saved with NT clear, after its IRET. */
	assert_int_equal(tss_at(NEW_TSS_GPA)->eflags & RFLAGS_NT, 0);
	assert_int_equal(tss_at(NEW_TSS_GPA)->eip, 0x6010 + CALL_LENGTH);
	assert_int_equal(tss_at(NEW_TSS_GPA)->eax, 0xfeed);
}

static void test_jmp_to_16bit_tss(void **state)
{
	struct test_tss16 *t = (struct test_tss16 *)(ram + NEW_TSS_GPA);
	*t = (struct test_tss16){ .ip = 0x1234, .flags = 0x2, .ax = 0x11, .sp = 0x7ffe, .es = SEL_DATA,
				  .cs = SEL_CODE, .ss = SEL_DATA, .ds = SEL_DATA };
	assert_int_equal(switch_to(SEL_TSS16, TASK_SWITCH_JMP), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(vcpu.regs.rip, 0x1234);
	assert_int_equal(vcpu.regs.gpr[GPR_RAX], 0x11);
	assert_int_equal(vcpu.regs.gpr[GPR_RSP], 0x7ffe);
	assert_int_equal(cpu.cr3, 0xabc000); /* a 16-bit TSS has no CR3 */
	assert_int_equal(cpu.seg[SREG_TR].type, 0x3);
	assert_true(cpu.seg[SREG_LDTR].unusable);
}

/* ---- Task gates ---- */

static void test_gate_exception_pushes_error_code(void **state)
{
	assert_int_equal(gate_switch(SEL_NEW_TSS, TASK_EVENT_EXCEPTION, X_VECTOR_GP, true, 0x1234), EXIT_CONTINUE);
	expect_no_injection(); /* the switch delivered it: nothing queued again */
	assert_int_equal(vcpu.regs.gpr[GPR_RSP], NEW_STACK_TOP - 4);
	assert_int_equal(ram32(NEW_STACK_TOP - 4), 0x1234);
	assert_int_equal(tss_at(OLD_TSS_GPA)->eip, OLD_RIP); /* a fault saves the faulting EIP */
	assert_int_equal(tss_at(NEW_TSS_GPA)->link, SEL_OLD_TSS);
	assert_true(vcpu.regs.rflags & RFLAGS_NT);
	assert_true(gdt_busy(SEL_OLD_TSS));
}

static void test_gate_software_interrupt_saves_next_eip(void **state)
{
	gate_switch(SEL_NEW_TSS, TASK_EVENT_SOFTWARE, 0x80, false, 0);
	expect_no_injection();
	assert_int_equal(tss_at(OLD_TSS_GPA)->eip, OLD_RIP + 2);
	assert_int_equal(vcpu.regs.gpr[GPR_RSP], NEW_STACK_TOP); /* no error code */
}

static void test_double_fault_gate_to_bad_tss_is_triple_fault(void **state)
{
	assert_int_equal(gate_switch(SEL_ABSENT_TSS, TASK_EVENT_EXCEPTION, X_VECTOR_DF, true, 0), EXIT_STOP);
	assert_int_equal(vm.state, VM_STOPPED);
	assert_non_null(strstr(vm.stop_reason, "triple fault"));
}

static void test_contributory_fault_during_gate_is_double_fault(void **state)
{
	gate_switch(SEL_SMALL_TSS, TASK_EVENT_EXCEPTION, X_VECTOR_GP, true, 0);
	expect_fault(X_VECTOR_DF, 0);
	expect_old_task_untouched();
}

static void test_external_event_sets_ext(void **state)
{
	gate_switch(SEL_ABSENT_TSS, TASK_EVENT_EXTERNAL, 0x30, false, 0);
	expect_fault(X_VECTOR_NP, SEL_ABSENT_TSS | 1);
}

/* ---- Faults before the commit point: the old task is untouched ---- */

static void test_busy_target_jmp_gp(void **state)
{
	set_gdt_entry(SEL_NEW_TSS, descriptor(NEW_TSS_GPA, 0x67, X_ACCESS_PRESENT | X_TYPE_TSS32_BUSY, 0));
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_GP, SEL_NEW_TSS);
	expect_old_task_untouched();
}

static void test_busy_target_call_gp(void **state)
{
	switch_to(SEL_OLD_TSS, TASK_SWITCH_CALL); /* itself: busy */
	expect_fault(X_VECTOR_GP, SEL_OLD_TSS);
	expect_old_task_untouched();
}

static void test_iret_to_available_tss_ts(void **state)
{
	switch_to(SEL_NEW_TSS, TASK_SWITCH_IRET);
	expect_fault(X_VECTOR_TS, SEL_NEW_TSS);
	expect_old_task_untouched();
}

static void test_not_present_tss_np(void **state)
{
	switch_to(SEL_ABSENT_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_NP, SEL_ABSENT_TSS);
	expect_old_task_untouched();
	assert_int_equal(tss_at(OLD_TSS_GPA)->eip, 0); /* nothing saved */
}

static void test_limit_too_small_ts(void **state)
{
	switch_to(SEL_SMALL_TSS, TASK_SWITCH_CALL);
	expect_fault(X_VECTOR_TS, SEL_SMALL_TSS);
	expect_old_task_untouched();
}

static void test_not_a_tss_gp(void **state)
{
	switch_to(SEL_DATA, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_GP, SEL_DATA);
	expect_old_task_untouched();
}

static void test_selector_past_gdt_limit_gp(void **state)
{
	/* A good TSS descriptor just past the limit must not be used. */
	set_gdt_entry(GDT_ENTRIES * 8, descriptor(NEW_TSS_GPA, 0x67, X_ACCESS_PRESENT | X_TYPE_TSS32_AVAILABLE, 0));
	switch_to(GDT_ENTRIES * 8, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_GP, GDT_ENTRIES * 8);
	expect_old_task_untouched();
}

/* ---- Faults after the commit point: raised in the new task ---- */

static void test_data_segment_as_cs_ts(void **state)
{
	tss_at(NEW_TSS_GPA)->cs = SEL_DATA;
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_TS, SEL_DATA);
	assert_int_equal(cpu.seg[SREG_TR].selector, SEL_NEW_TSS);
	assert_int_equal(vcpu.regs.rip, 0x6000);
}

static void test_not_present_data_segment_np(void **state)
{
	tss_at(NEW_TSS_GPA)->es = SEL_NOT_PRESENT_DATA;
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_NP, SEL_NOT_PRESENT_DATA);
}

static void test_stack_segment_privilege_ts(void **state)
{
	tss_at(NEW_TSS_GPA)->ss = SEL_DATA3; /* DPL 3 for CPL 0 */
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_TS, SEL_DATA3);
}

static void test_ldt_selector_in_ldt_ts(void **state)
{
	tss_at(NEW_TSS_GPA)->ldt = SEL_LDT | 4;
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_TS, SEL_LDT | 4);
}

static void test_ring3_task(void **state)
{
	struct test_tss32 *t = tss_at(NEW_TSS_GPA);
	t->cs = SEL_CODE3 | 3, t->ss = SEL_DATA3 | 3, t->ds = t->es = t->fs = t->gs = SEL_DATA3 | 3;
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_no_injection();
	assert_int_equal(cpu.seg[SREG_SS].dpl, 3);
	assert_int_equal(cpu.seg[SREG_CS].selector, SEL_CODE3 | 3);
}

/* ---- Memory: paging, MMIO ---- */

static void map_page(u32 linear, u32 gpa, u32 flags)
{
	u32 pde = PAGE_TABLE_GPA | X_PTE_PRESENT_WRITABLE | X_PTE_USER, pte = gpa | flags;
	memcpy(ram + PAGE_DIRECTORY_GPA + (linear >> 22) * 4, &pde, 4);
	memcpy(ram + PAGE_TABLE_GPA + ((linear >> 12) & 0x3ff) * 4, &pte, 4);
}

/* Identity-maps the first 64 KiB supervisor-only, as a kernel would. */
static void enable_paging(void)
{
	for (u32 page = 0; page < 0x10000; page += PAGE_SIZE)
		map_page(page, page, X_PTE_PRESENT_WRITABLE);
	cpu.cr3 = PAGE_DIRECTORY_GPA;
	cpu.cr0 |= CR0_PG;
	tss_at(NEW_TSS_GPA)->cr3 = PAGE_DIRECTORY_GPA;
}

static void test_unmapped_tss_page_faults(void **state)
{
	enable_paging();
	set_gdt_entry(SEL_NEW_TSS, descriptor(0x20000, 0x67, X_ACCESS_PRESENT | X_TYPE_TSS32_AVAILABLE, 0));
	switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP);
	expect_fault(X_VECTOR_PF, 0); /* not present, read, supervisor */
	assert_int_equal(injection.cr2, 0x20000);
	expect_old_task_untouched();
}

/* The CPU reads the GDT and TSSs as supervisor accesses even at CPL 3. */
static void test_cpl3_switch_reads_supervisor_pages(void **state)
{
	enable_paging();
	cpu.seg[SREG_CS] = flat(SEL_CODE3 | 3, 0xb, 3);
	cpu.seg[SREG_SS] = flat(SEL_DATA3 | 3, 0x3, 3);
	switch_to(SEL_NEW_TSS, TASK_SWITCH_CALL);
	expect_no_injection();
	assert_int_equal(cpu.seg[SREG_TR].selector, SEL_NEW_TSS);
}

static void test_new_cr3_used_for_the_new_task(void **state)
{
	/* The new address space maps the new stack's page elsewhere. */
	enable_paging();
	u64 other_directory = 0x200000, other_table = 0x201000, stack_page = 0x300000;
	memcpy(ram + other_table, ram + PAGE_TABLE_GPA, PAGE_SIZE);
	u32 pde = other_table | X_PTE_PRESENT_WRITABLE, pte = stack_page | X_PTE_PRESENT_WRITABLE;
	memcpy(ram + other_directory, &pde, 4);
	memcpy(ram + other_table + ((NEW_STACK_TOP - 4) >> 12) * 4, &pte, 4);
	/* ... and its LDT, whose data segment has another base there. */
	u64 ldt_page = 0x302000, ldt_data = descriptor(0x20000, 0xfffff, 0x93, X_FLAGS_G_DB);
	pte = ldt_page | X_PTE_PRESENT_WRITABLE;
	memcpy(ram + other_table + (LDT_GPA >> 12) * 4, &pte, 4);
	memcpy(ram + ldt_page, &ldt_data, 8);
	tss_at(NEW_TSS_GPA)->cr3 = other_directory;
	gate_switch(SEL_NEW_TSS, TASK_EVENT_EXCEPTION, X_VECTOR_GP, true, 0x55);
	expect_no_injection();
	assert_int_equal(cpu.cr3, other_directory);
	assert_int_equal(ram32(stack_page + ((NEW_STACK_TOP - 4) & 0xfff)), 0x55);
	assert_int_equal(ram32(NEW_STACK_TOP - 4), 0);
	assert_int_equal(cpu.seg[SREG_DS].base, 0x20000); /* the LDT read through the new CR3 */
}

static void test_tss_in_mmio_stops_vm(void **state)
{
	assert_int_equal(switch_to(SEL_MMIO_TSS, TASK_SWITCH_JMP), EXIT_STOP);
	assert_int_equal(vm.state, VM_STOPPED);
	assert_non_null(strstr(vm.stop_reason, "not in guest RAM"));
	assert_int_equal(injection.count, 0);
}

static void test_gdt_in_mmio_stops_vm(void **state)
{
	cpu.gdtr.base = MMIO_GPA;
	assert_int_equal(switch_to(SEL_NEW_TSS, TASK_SWITCH_JMP), EXIT_STOP);
	assert_non_null(strstr(vm.stop_reason, "GDT"));
}

static void test_stack_push_past_limit_ss(void **state)
{
	tss_at(NEW_TSS_GPA)->esp = 2; /* a 4-byte push wraps below 0 */
	set_gdt_entry(SEL_DATA, descriptor(0, 0xfff, 0x93, 0x4)); /* byte granular, 4 KiB */
	gate_switch(SEL_NEW_TSS, TASK_EVENT_EXCEPTION, X_VECTOR_GP, true, 0);
	expect_fault(X_VECTOR_SS, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_jmp_saves_old_and_loads_new),
		T(test_jmp_busy_bits_and_tr),
		T(test_segments_and_ldt_loaded),
		T(test_call_sets_nt_and_back_link),
		T(test_iret_returns_through_back_link),
		T(test_jmp_to_16bit_tss),
		T(test_gate_exception_pushes_error_code),
		T(test_gate_software_interrupt_saves_next_eip),
		T(test_double_fault_gate_to_bad_tss_is_triple_fault),
		T(test_contributory_fault_during_gate_is_double_fault),
		T(test_external_event_sets_ext),
		T(test_busy_target_jmp_gp),
		T(test_busy_target_call_gp),
		T(test_iret_to_available_tss_ts),
		T(test_not_present_tss_np),
		T(test_limit_too_small_ts),
		T(test_not_a_tss_gp),
		T(test_selector_past_gdt_limit_gp),
		T(test_data_segment_as_cs_ts),
		T(test_not_present_data_segment_np),
		T(test_stack_segment_privilege_ts),
		T(test_ldt_selector_in_ldt_ts),
		T(test_ring3_task),
		T(test_unmapped_tss_page_faults),
		T(test_cpl3_switch_reads_supervisor_pages),
		T(test_new_cr3_used_for_the_new_task),
		T(test_tss_in_mmio_stops_vm),
		T(test_gdt_in_mmio_stops_vm),
		T(test_stack_push_past_limit_ss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
