/*
 * Unit tests for the exit path (vmm/exit.c, io.c, mmio.c, msr.c) behind the
 * fake backend of tests/unit/fake_backend.h, with the real devices, guest
 * memory, page walker, decoder and emulator: the exits a backend reports
 * are handed to exit_dispatch() and the guest state, the devices and the
 * injected events are checked against the SDM (Vol. 2 for the instructions,
 * Vol. 3A 6.15 for exception error codes, 6.3 Table 6-5 for #DF).
 */
#include "tests/unit/host_support.h"
/* cmocka test functions and the vmm/ handlers ignore some parameters. */
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "tests/unit/fake_vm.h"
#include "vmm/decode.c"
#include "vmm/emulate.c"
#include "vmm/pagewalk.c"
#include "vmm/guest_mem.c"
#include "vmm/mmio.c"
#include "vmm/io.c"
#include "vmm/msr.c"
#include "vmm/cpuid.c"
/* cmocka's skip() macro would rename exit.c's skip(). */
#undef skip
#include "vmm/exit.c"
#include "vmm/task_descriptor.c"
#include "vmm/task_switch.c"
#include "tests/unit/fake_backend.h"

#define RAM_SIZE (64 * KiB)
#define CODE_AT 0x1000
#define DATA_AT 0x2000
#define FIFO_PORT 0xe0
#define FIFO_COUNT_PORT 0xe4
#define IRQ_PORT 0xe8
#define START_NS 1000

static int setup(void **state)
{
	struct fake_vm_config cfg = { .ram_size = RAM_SIZE, .rtc_start = { 2024, 1, 1, 0, 0, 0 } };
	fake_now = START_NS;
	fake_backend_reset();
	assert_int_equal(fake_vm_create(&cfg), 0);
	msr_vcpu_reset(&fake_vcpu);
	fake_backend_set_mode(X86_MODE_PROT32);
	fake_vcpu.regs.rip = CODE_AT;
	fake_vcpu.regs.rflags = BIT(1);
	return 0;
}

static int teardown(void **state)
{
	fake_vm_destroy();
	return 0;
}

/* The backend reports 'e'; the exit path handles it. */
static enum exit_action run_exit(struct vm_exit e)
{
	struct vm_exit exit;
	fake_backend.next_exit = e;
	backend->vcpu_run(&fake_vcpu, &exit);
	fake_vcpu.control_valid = false;
	return exit_dispatch(&fake_vcpu, &exit);
}

static void put_code(const u8 *bytes, size_t length) { fake_guest_write(fake_vcpu.regs.rip, bytes, length); }

static u64 port_in(u16 port, unsigned size)
{
	u64 value;
	io_bus_read(&fake_vm.pio, &fake_vcpu, "test", port, size, &value);
	return value;
}

static void expect_exception(u8 vector, bool has_error_code, u32 error_code)
{
	const struct fake_event *e = fake_last_event();
	assert_non_null(e);
	assert_int_equal(e->type, EVENT_EXCEPTION);
	assert_int_equal(e->vector, vector);
	assert_int_equal(e->has_error_code, has_error_code);
	if (has_error_code)
		assert_int_equal(e->error_code, error_code);
}

static struct vm_exit string_out(u8 length, enum x86_segment segment)
{
	struct vm_exit e = { .reason = EXIT_IO, .instruction_length = length };
	e.io.port = FIFO_PORT;
	e.io.size = 1;
	e.io.string = e.io.rep = true;
	e.io.address_size = 4;
	e.io.segment = segment;
	return e;
}

/* ---- String I/O (SDM Vol. 2 OUTS/INS, REP) ---- */

/* REP OUTSB: DS:ESI upwards, ECX elements, then past the instruction. */
static void test_rep_outs_forward(void **state)
{
	fake_guest_write(DATA_AT, "ABCD", 4);
	fake_vcpu.regs.gpr[GPR_RSI] = DATA_AT;
	fake_vcpu.regs.gpr[GPR_RCX] = 4;
	assert_int_equal(run_exit(string_out(2, SEG_DS)), EXIT_CONTINUE);
	assert_int_equal(port_in(FIFO_COUNT_PORT, 1), 4);
	assert_int_equal(port_in(FIFO_PORT, 4), 0x44434241); /* "ABCD" */
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RSI], DATA_AT + 4);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RCX], 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

/* DF = 1: ESI moves down. */
static void test_rep_outs_backward(void **state)
{
	fake_guest_write(DATA_AT, "ABCD", 4);
	fake_vcpu.regs.rflags |= RFLAGS_DF;
	fake_vcpu.regs.gpr[GPR_RSI] = DATA_AT + 3;
	fake_vcpu.regs.gpr[GPR_RCX] = 4;
	run_exit(string_out(2, SEG_DS));
	assert_int_equal(port_in(FIFO_PORT, 4), 0x41424344); /* "DCBA" */
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RSI], DATA_AT - 1);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

/* REP with ECX = 0 does nothing but finish the instruction. */
static void test_rep_outs_count_zero(void **state)
{
	fake_vcpu.regs.gpr[GPR_RSI] = DATA_AT;
	fake_vcpu.regs.gpr[GPR_RCX] = 0;
	run_exit(string_out(2, SEG_DS));
	assert_int_equal(port_in(FIFO_COUNT_PORT, 1), 0);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RSI], DATA_AT);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

/* The source segment: reported by the backend, or from the instruction's
 * override prefix (FS: REP OUTSB = 64 F3 6E) when it is not. */
static void test_outs_segment_override(void **state)
{
	static const u8 fs_rep_outsb[] = { 0x64, 0xf3, 0x6e };
	fake_backend.sregs.seg[SREG_FS].base = 0x3000;
	fake_guest_write(0x3000 + 0x10, "XY", 2);
	fake_guest_write(DATA_AT + 0x10, "ab", 2);
	fake_vcpu.regs.gpr[GPR_RSI] = 0x10;
	fake_vcpu.regs.gpr[GPR_RCX] = 1;
	run_exit(string_out(3, SEG_FS));
	assert_int_equal(port_in(FIFO_PORT, 1), 'X');

	put_code(fs_rep_outsb, sizeof(fs_rep_outsb));
	fake_vcpu.regs.gpr[GPR_RCX] = 1;
	struct vm_exit unreported = string_out(0, SEG_NONE);
	unreported.io.address_size = 0;
	run_exit(unreported);
	assert_int_equal(port_in(FIFO_PORT, 1), 'Y');
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3 + 3);
}

/* REP INSB: into ES:EDI (never overridden). */
static void test_rep_ins(void **state)
{
	io_bus_write(&fake_vm.pio, &fake_vcpu, "test", FIFO_PORT, 4, 0x64636261); /* "abcd" */
	fake_backend.sregs.seg[SREG_ES].base = 0x100;
	fake_vcpu.regs.gpr[GPR_RDI] = DATA_AT;
	fake_vcpu.regs.gpr[GPR_RCX] = 3;
	struct vm_exit e = string_out(2, SEG_FS);
	e.io.in = true;
	run_exit(e);
	assert_memory_equal(fake_ram + 0x100 + DATA_AT, "abc", 3);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RDI], DATA_AT + 3);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RCX], 0);
	assert_int_equal(port_in(FIFO_COUNT_PORT, 1), 1);
}

/* A huge count is done in batches of STRING_IO_BATCH: RIP stays until
 * the last batch, so the guest re-executes the rest. */
static void test_rep_batches(void **state)
{
	fake_vcpu.regs.gpr[GPR_RSI] = DATA_AT;
	fake_vcpu.regs.gpr[GPR_RCX] = STRING_IO_BATCH + 100;
	run_exit(string_out(2, SEG_DS));
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RCX], 100);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RSI], DATA_AT + STRING_IO_BATCH);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT);
	run_exit(string_out(2, SEG_DS));
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RCX], 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

/* An element on a not-present page: #PF with CR2, the elements before it
 * done (RSI, RCX moved), RIP at the instruction. */
static void test_rep_outs_page_fault(void **state)
{
	u32 directory[1024] = { 0 }, table[1024] = { 0 };
	table[DATA_AT >> 12] = DATA_AT | 0x7; /* only the data page, user/write/present */
	table[CODE_AT >> 12] = CODE_AT | 0x7;
	directory[0] = 0x5000 | 0x7;
	fake_guest_write(0x4000, directory, sizeof(directory));
	fake_guest_write(0x5000, table, sizeof(table));
	fake_backend.sregs.cr3 = 0x4000;
	fake_backend.sregs.cr0 |= CR0_PG;
	fake_vcpu.regs.gpr[GPR_RSI] = DATA_AT + PAGE_SIZE - 2;
	fake_vcpu.regs.gpr[GPR_RCX] = 4;
	run_exit(string_out(2, SEG_DS));
	expect_exception(VEC_PF, true, 0); /* not present, read, supervisor */
	assert_int_equal(fake_last_event()->cr2, DATA_AT + PAGE_SIZE);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RCX], 2);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT);
}

/* ---- Skipping the instruction ---- */

static void test_cpuid_skips_reported_length(void **state)
{
	fake_vcpu.regs.gpr[GPR_RAX] = 0;
	run_exit((struct vm_exit){ .reason = EXIT_CPUID, .instruction_length = 2 });
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RAX], FAKE_CPUID_MAX_LEAF);
}

/* Length 0 (SVM without NRIP-save): the plain encoding 0F A2, or the full
 * decoder for anything else (66 0F A2 is a CPUID too). */
static void test_cpuid_skips_decoded_length(void **state)
{
	static const u8 plain[] = { 0x0f, 0xa2 }, prefixed[] = { 0x66, 0x0f, 0xa2 };
	put_code(plain, sizeof(plain));
	run_exit((struct vm_exit){ .reason = EXIT_CPUID });
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
	put_code(prefixed, sizeof(prefixed));
	run_exit((struct vm_exit){ .reason = EXIT_CPUID });
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2 + 3);
}

/* RDMSR of IA32_APIC_BASE: EDX:EAX, skipped by its decoded length. An MSR
 * outside the allow-list: #GP(0), RIP unchanged. */
static void test_msr_read(void **state)
{
	static const u8 rdmsr[] = { 0x0f, 0x32 };
	put_code(rdmsr, sizeof(rdmsr));
	fake_vcpu.regs.gpr[GPR_RCX] = MSR_IA32_APIC_BASE;
	run_exit((struct vm_exit){ .reason = EXIT_MSR_READ, .msr.index = MSR_IA32_APIC_BASE });
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RAX], LAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RDX], 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);

	run_exit((struct vm_exit){ .reason = EXIT_MSR_READ, .msr.index = 0x12345, .instruction_length = 2 });
	expect_exception(VEC_GP, true, 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

/* HLT with IF = 0 and nothing to wake it stops the VM; with IF = 1 it
 * sleeps until the local APIC timer's interrupt and goes on after HLT. */
static void test_hlt(void **state)
{
	static const u8 hlt[] = { 0xf4 };
	put_code(hlt, sizeof(hlt));
	io_bus_write(&fake_vm.mmio, &fake_vcpu, "test", LAPIC_DEFAULT_BASE + APIC_LVTT, 4, 0x40);
	io_bus_write(&fake_vm.mmio, &fake_vcpu, "test", LAPIC_DEFAULT_BASE + APIC_TMICT, 4, 1000);
	fake_vcpu.regs.rflags |= RFLAGS_IF;
	assert_int_equal(run_exit((struct vm_exit){ .reason = EXIT_HLT }), EXIT_CONTINUE);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 1);
	assert_true(vcpu_interrupt_pending(&fake_vcpu));
	assert_true(fake_now >= START_NS + 1000);

	fake_vcpu.regs.rflags &= ~RFLAGS_IF;
	assert_int_equal(run_exit((struct vm_exit){ .reason = EXIT_HLT, .instruction_length = 1 }), EXIT_STOP);
	assert_int_equal(fake_vm.state, VM_STOPPED);
	assert_non_null(strstr(fake_vm.stop_reason, "HLT"));
}

/* A vector written to the test device's interrupt port reaches the local
 * APIC as an auto-EOI message: taken, it is not in service, so the same
 * vector comes again with no EOI in between. Vectors below 32 are ignored. */
static void test_test_device_interrupt(void **state)
{
	for (unsigned i = 0; i < 2; i++) {
		io_bus_write(&fake_vm.pio, &fake_vcpu, "test", IRQ_PORT, 1, 0x40);
		assert_true(vcpu_interrupt_pending(&fake_vcpu));
		assert_int_equal(vcpu_apic_acknowledge(&fake_vcpu), 0x40);
		assert_false(vcpu_interrupt_pending(&fake_vcpu));
	}
	io_bus_write(&fake_vm.pio, &fake_vcpu, "test", IRQ_PORT, 1, 0x1f);
	assert_false(vcpu_interrupt_pending(&fake_vcpu));
}

/* ---- Control registers ---- */

static struct vm_exit mov_to_cr(u8 cr, u8 gpr)
{
	struct vm_exit e = { .reason = EXIT_CR_ACCESS, .instruction_length = 3 };
	e.cr.cr = cr;
	e.cr.type = CR_MOV_TO;
	e.cr.gpr = gpr;
	return e;
}

/* CR0.PG without PE and CR4.VMXE #GP(0) (SDM MOV CR); RIP stays. */
static void test_mov_to_cr_bad_bits(void **state)
{
	u64 cr0 = fake_backend.sregs.cr0;
	fake_vcpu.regs.gpr[GPR_RAX] = CR0_PG;
	run_exit(mov_to_cr(0, GPR_RAX));
	expect_exception(VEC_GP, true, 0);
	assert_int_equal(fake_backend.sregs.cr0, cr0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT);

	fake_vcpu.regs.gpr[GPR_RBX] = CR4_VMXE;
	run_exit(mov_to_cr(4, GPR_RBX));
	expect_exception(VEC_GP, true, 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT);

	fake_vcpu.regs.gpr[GPR_RBX] = CR4_PSE;
	run_exit(mov_to_cr(4, GPR_RBX));
	assert_int_equal(fake_backend.sregs.cr4, CR4_PSE);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3);
}

/* CR8 is the TPR's class; bits above 3 #GP. */
static void test_cr8(void **state)
{
	fake_vcpu.regs.gpr[GPR_RCX] = 5;
	run_exit(mov_to_cr(8, GPR_RCX));
	assert_int_equal(lapic_of(&fake_vcpu)->tpr, 0x50);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3);
	fake_vcpu.regs.gpr[GPR_RCX] = 0x10;
	run_exit(mov_to_cr(8, GPR_RCX));
	expect_exception(VEC_GP, true, 0);
	assert_int_equal(lapic_of(&fake_vcpu)->tpr, 0x50);
}

/* MOV from CR3 with the GPR not reported: decoded from 0F 20 DE (to ESI:
 * ModRM.rm names the GPR, ModRM.reg the control register). */
static void test_mov_from_cr_decoded(void **state)
{
	static const u8 mov_esi_cr3[] = { 0x0f, 0x20, 0xde };
	put_code(mov_esi_cr3, sizeof(mov_esi_cr3));
	fake_backend.sregs.cr3 = 0x7000;
	struct vm_exit e = mov_to_cr(3, CR_GPR_UNKNOWN);
	e.cr.type = CR_MOV_FROM;
	e.instruction_length = 0;
	run_exit(e);
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RSI], 0x7000);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3);
}

/* ---- MMIO ---- */

/* MOV EAX, [EBX] on the local APIC's version register: emulated, the
 * value lands in EAX, RIP moves past the 2-byte instruction. */
static void test_mmio_read_into_register(void **state)
{
	static const u8 mov_eax_at_ebx[] = { 0x8b, 0x03 };
	put_code(mov_eax_at_ebx, sizeof(mov_eax_at_ebx));
	fake_vcpu.regs.gpr[GPR_RAX] = ~0ULL;
	fake_vcpu.regs.gpr[GPR_RBX] = LAPIC_DEFAULT_BASE + APIC_LVR;
	run_exit((struct vm_exit){ .reason = EXIT_MMIO, .mmio.gpa = LAPIC_DEFAULT_BASE + APIC_LVR });
	assert_int_equal(fake_vcpu.regs.gpr[GPR_RAX], APIC_LVR_VALUE); /* 32-bit writes zero-extend */
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

/* ---- Intercepted exceptions ---- */

static struct vm_exit exception_exit(u8 vector, u32 error_code)
{
	struct vm_exit e = { .reason = EXIT_EXCEPTION };
	e.exception.vector = vector;
	e.exception.has_error_code = vector != VEC_DB;
	e.exception.error_code = error_code;
	return e;
}

/* #GP and #AC go back with their error code, #DB without one. */
static void test_exception_reinjected(void **state)
{
	static const u8 nop[] = { 0x90 };
	put_code(nop, sizeof(nop));
	run_exit(exception_exit(VEC_GP, 0x18));
	expect_exception(VEC_GP, true, 0x18);
	run_exit(exception_exit(VEC_AC, 0));
	expect_exception(VEC_AC, true, 0);
	run_exit(exception_exit(VEC_DB, 0));
	expect_exception(VEC_DB, false, 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT);
}

/* SDM Table 6-5: #GP while delivering #PF is #DF(0); anything while
 * delivering #DF is a triple fault (the VM stops); #DB during #GP is
 * benign (the #DB is delivered). */
static void test_exception_during_delivery(void **state)
{
	struct vm_exit e = exception_exit(VEC_GP, 0);
	e.interrupted_exception = true;
	e.interrupted_vector = VEC_PF;
	run_exit(e);
	expect_exception(VEC_DF, true, 0);

	e = exception_exit(VEC_DB, 0);
	e.interrupted_exception = true;
	e.interrupted_vector = VEC_GP;
	run_exit(e);
	expect_exception(VEC_DB, false, 0);

	e = exception_exit(VEC_GP, 0);
	e.interrupted_exception = true;
	e.interrupted_vector = VEC_DF;
	assert_int_equal(run_exit(e), EXIT_STOP);
	assert_int_equal(fake_vm.state, VM_STOPPED);
	assert_non_null(strstr(fake_vm.stop_reason, "triple fault"));
}

/* ---- The architectural rules of injection and completion ---- */

/* Real mode pushes no error code (SDM Vol. 3A 20.1.4): a VT-x entry with one
 * fails, so the #GP for an MSR outside the allow-list carries none. */
static void test_real_mode_gp_has_no_error_code(void **state)
{
	fake_backend_set_mode(X86_MODE_REAL);
	fake_vcpu.regs.gpr[GPR_RCX] = 0x12345;
	run_exit((struct vm_exit){ .reason = EXIT_MSR_READ, .msr.index = 0x12345, .instruction_length = 2 });
	expect_exception(VEC_GP, false, 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT);
}

/* TF set: the CPUID Presidio completed ends in a #DB trap with DR6.BS,
 * after the instruction (SDM Vol. 3B 18.3.1.4). */
static void test_single_step_after_completed_instruction(void **state)
{
	fake_vcpu.regs.rflags |= RFLAGS_TF;
	fake_backend.sregs.dr6 = DR6_RESET;
	run_exit((struct vm_exit){ .reason = EXIT_CPUID, .instruction_length = 2 });
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
	expect_exception(VEC_DB, false, 0);
	assert_true(fake_backend.sregs.dr6 & DR6_BS);

	fake_backend_reset();
	fake_backend_set_mode(X86_MODE_PROT32);
	fake_vcpu.regs.rflags &= ~RFLAGS_TF;
	run_exit((struct vm_exit){ .reason = EXIT_CPUID, .instruction_length = 2 });
	assert_null(fake_last_event());
}

static struct vm_exit xsetbv(u64 value)
{
	fake_vcpu.regs.gpr[GPR_RAX] = (u32)value;
	fake_vcpu.regs.gpr[GPR_RDX] = value >> 32;
	fake_vcpu.regs.gpr[GPR_RCX] = 0;
	return (struct vm_exit){ .reason = EXIT_XSETBV, .instruction_length = 3 };
}

/* XCR0 values the rules refuse never reach the backend (the host's own
 * XSETBV): #GP, RIP stays. Without CR4.OSXSAVE the instruction is #UD. */
static void test_xsetbv_rules(void **state)
{
	static const u64 refused[] = { 0x0, 0x4, 0x5, 0x23, 0x83, 0xe3, 0x27, 0x8000000000000003ULL };
	fake_backend.sregs.cr4 |= CR4_OSXSAVE;
	fake_backend.xcr0 = 1;
	for (unsigned i = 0; i < ARRAY_SIZE(refused); i++) {
		run_exit(xsetbv(refused[i]));
		expect_exception(VEC_GP, true, 0);
		assert_int_equal(fake_backend.xcr0_writes, 0);
		assert_int_equal(fake_vcpu.regs.rip, CODE_AT);
	}
	run_exit(xsetbv(0x7));
	assert_int_equal(fake_backend.xcr0, 0x7);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3);

	fake_backend.sregs.cr4 &= ~CR4_OSXSAVE;
	fake_vcpu.control_valid = false;
	run_exit(xsetbv(0x3));
	expect_exception(VEC_UD, false, 0);
}

/* LMSW and CLTS behind a CR0 write intercept (AMD-V, no decode assists):
 * decoded from the instruction; LMSW can set PE but not clear it. */
static void test_lmsw_and_clts_decoded(void **state)
{
	static const u8 lmsw_ax[] = { 0x0f, 0x01, 0xf0 }, clts[] = { 0x0f, 0x06 };
	struct vm_exit e = { .reason = EXIT_CR_ACCESS };
	e.cr.cr = 0;
	e.cr.type = CR_MOV_TO;
	e.cr.gpr = CR_GPR_UNKNOWN;
	fake_backend.sregs.cr0 |= CR0_TS;
	put_code(lmsw_ax, sizeof(lmsw_ax));
	fake_vcpu.regs.gpr[GPR_RAX] = CR0_MP; /* PE clear: stays set */
	run_exit(e);
	assert_int_equal(fake_backend.sregs.cr0 & (CR0_PE | CR0_MP | CR0_TS), CR0_PE | CR0_MP);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3);

	fake_backend.sregs.cr0 |= CR0_TS;
	put_code(clts, sizeof(clts));
	run_exit(e);
	assert_false(fake_backend.sregs.cr0 & CR0_TS);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 3 + 2);
}

/* A nested page fault outside RAM while the CPU delivered an event (IDT or
 * stack in MMIO) is no instruction to emulate: the VM stops, as under KVM. */
static void test_event_delivery_into_mmio_stops(void **state)
{
	struct vm_exit e = { .reason = EXIT_MMIO, .interrupted_event = true, .interrupted_vector = 0x20 };
	e.mmio.gpa = 0xd0000000;
	e.mmio.write = true;
	assert_int_equal(run_exit(e), EXIT_STOP);
	assert_int_equal(fake_vm.state, VM_STOPPED);
	assert_non_null(strstr(fake_vm.stop_reason, "event delivery"));
}

/* WBINVD is skipped; RDPMC is #GP(0) (no counters); an instruction the
 * vCPU lacks is #UD. */
static void test_instructions_not_offered(void **state)
{
	run_exit((struct vm_exit){ .reason = EXIT_WBINVD, .instruction_length = 2 });
	assert_null(fake_last_event());
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
	run_exit((struct vm_exit){ .reason = EXIT_RDPMC, .instruction_length = 2 });
	expect_exception(VEC_GP, true, 0);
	struct vm_exit rsm = { .reason = EXIT_UNAVAILABLE_INSTRUCTION, .instruction_length = 2 };
	rsm.virt_instruction.what = "RSM outside SMM";
	run_exit(rsm);
	expect_exception(VEC_UD, false, 0);
	assert_int_equal(fake_vcpu.regs.rip, CODE_AT + 2);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rep_outs_forward),
		T(test_rep_outs_backward),
		T(test_rep_outs_count_zero),
		T(test_outs_segment_override),
		T(test_rep_ins),
		T(test_rep_batches),
		T(test_rep_outs_page_fault),
		T(test_cpuid_skips_reported_length),
		T(test_cpuid_skips_decoded_length),
		T(test_msr_read),
		T(test_hlt),
		T(test_test_device_interrupt),
		T(test_mov_to_cr_bad_bits),
		T(test_cr8),
		T(test_mov_from_cr_decoded),
		T(test_mmio_read_into_register),
		T(test_exception_reinjected),
		T(test_exception_during_delivery),
		T(test_real_mode_gp_has_no_error_code),
		T(test_single_step_after_completed_instruction),
		T(test_xsetbv_rules),
		T(test_lmsw_and_clts_decoded),
		T(test_event_delivery_into_mmio_stops),
		T(test_instructions_not_offered),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
