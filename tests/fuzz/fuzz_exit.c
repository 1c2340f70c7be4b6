/*
 * libFuzzer target for the exit path (vmm/exit.c and what it calls: io.c,
 * mmio.c, msr.c, cpuid.c, emulate.c, decode.c, pagewalk.c, guest_mem.c,
 * apic.c and the device models) behind the fake backend of
 * tests/unit/fake_backend.h: the "hardware" reports exits decoded from the
 * input, on a guest whose mode, registers, page tables and code bytes the
 * input chooses too.
 *
 * Checked after every exit: no crash, sanitizer report or panic; at most
 * one event injected, and an exception's vector below 32, not reserved,
 * with an error code exactly for the vectors that have one (#DF #TS #NP
 * #SS #GP #PF #AC #CP); a faulting instruction leaves RIP alone, a skipped
 * one moves it by 1-15 bytes (exactly the reported length, or the length
 * the bytes at RIP decode to); a stopped VM says why; the devices'
 * invariants (tests/fuzz/pc_invariants.h).
 *
 * Input layout: a GUEST_HEADER_SIZE-byte header (struct guest_header
 * order: mode and flags, RIP, register seeds, page-table permission
 * bits), CODE_BYTES of instruction bytes placed at RIP, then one exit per
 * EXIT_RECORD_SIZE bytes (struct exit_record order).
 *
 *   make build/fuzz/fuzz_exit && build/fuzz/fuzz_exit -max_total_time=60
 */
#include "tests/fuzz/fuzz_support.h"
#include "tests/unit/fake_vm.h"
#include "vmm/decode.c"
#include "vmm/emulate.c"
#include "vmm/pagewalk.c"
#include "vmm/guest_mem.c"
#include "vmm/mmio.c"
#include "vmm/io.c"
#include "vmm/msr.c"
#include "vmm/cpuid.c"
#include "vmm/exit.c"
#include "vmm/task_descriptor.c"
#include "vmm/task_switch.c"
#include "tests/unit/fake_backend.h"
#include "tests/fuzz/pc_invariants.h"
#include "tests/fuzz/fuzz_exit_guest.h"

#define EXIT_RECORD_SIZE 16
#define MAX_EXITS 64
#define MAX_INSTRUCTION_LENGTH 15
#define RESERVED_EXCEPTIONS (BIT(VEC_NMI) | BIT(9) | BIT(15) | (0x3fULL << 22) /* 22-27 */ | BIT(31))
#define EXCEPTIONS_WITH_ERROR_CODE                                                                 \
	(BIT(VEC_DF) | BIT(VEC_TS) | BIT(VEC_NP) | BIT(VEC_SS) | BIT(VEC_GP) | BIT(VEC_PF) | BIT(VEC_AC) | \
	 BIT(VEC_CP))
#define PF_ERROR_DEFINED 0x1fu
#define IP_MASK_16 0xffffULL

/* Exits that end in vcpu_skip_instruction() when nothing goes wrong. */
static bool skips_instruction(enum exit_reason reason)
{
	switch (reason) {
	case EXIT_IO: case EXIT_CPUID: case EXIT_MSR_READ: case EXIT_MSR_WRITE: case EXIT_HLT:
	case EXIT_CR_ACCESS: case EXIT_INVLPG: case EXIT_INVD: case EXIT_PAUSE: case EXIT_XSETBV:
		return true;
	default:
		return false;
	}
}

static void check_event(const struct fake_event *e)
{
	if (e->type != EVENT_EXCEPTION) {
		FUZZ_CHECK(e->type == EVENT_EXTERNAL_INTERRUPT && !e->has_error_code);
		return;
	}
	FUZZ_CHECK(e->vector < VEC_FIRST_EXTERNAL && !(RESERVED_EXCEPTIONS & BIT(e->vector)));
	FUZZ_CHECK(e->has_error_code == (e->protected_mode && (EXCEPTIONS_WITH_ERROR_CODE & BIT(e->vector))));
	if (e->vector == VEC_DF)
		FUZZ_CHECK(e->error_code == 0);
	if (e->vector == VEC_PF)
		FUZZ_CHECK((e->error_code & ~PF_ERROR_DEFINED) == 0);
}

/* The length of the instruction at RIP, decoded from guest RAM directly
 * (only without paging, where linear = physical). 0 if unknown. */
static unsigned length_at_rip(const struct vcpu *v, enum x86_mode mode)
{
	struct x86_insn insn;
	u64 linear = (fake_backend.sregs.seg[SREG_CS].base + v->regs.rip) & RIP_MASK_32;
	if ((fake_backend.sregs.cr0 & CR0_PG) || linear >= GUEST_RAM_SIZE)
		return 0;
	size_t available = MIN((size_t)MAX_INSTRUCTION_LENGTH, GUEST_RAM_SIZE - linear);
	return x86_decode(fake_ram + linear, available, mode, &insn) ? 0 : insn.length;
}

struct exit_outcome {
	u64 rip_before;
	enum x86_mode mode_before;
	unsigned events_before;
	unsigned expected_length; /* the decoded length at RIP, 0 if unknown */
};

static void check_rip(struct vcpu *v, const struct vm_exit *e, const struct exit_outcome *o, bool faulted)
{
	/* The emulator wraps IP at 64 KiB in 16-bit code, the skip at 4 GiB
	 * outside 64-bit mode: measure 16-bit code modulo 64 KiB. */
	bool code16 = o->mode_before == X86_MODE_REAL || o->mode_before == X86_MODE_PROT16;
	u64 mask = o->mode_before == X86_MODE_LONG64 ? ~0ULL : code16 ? IP_MASK_16 : RIP_MASK_32;
	u64 moved = (v->regs.rip - o->rip_before) & mask;
	if (v->vm->state == VM_STOPPED)
		return;
	if (faulted) {
		FUZZ_CHECK(moved == 0); /* faults leave RIP at the instruction */
		return;
	}
	FUZZ_CHECK(moved <= MAX_INSTRUCTION_LENGTH);
	if (!moved || !skips_instruction(e->reason) || e->reason == EXIT_IO)
		return; /* string I/O batches restart the instruction */
	/* A CR write that changed the mode: exit.c decodes the length after
	 * the write, in the new mode (the same length for real MOV CR
	 * encodings, so it is only a difference for fuzzed bytes). */
	if (guest_cpu_mode(v) != o->mode_before)
		return;
	if (e->instruction_length)
		FUZZ_CHECK(moved == e->instruction_length);
	else if (o->expected_length)
		FUZZ_CHECK(moved == o->expected_length || moved == plain_encoding[e->reason].length);
}

static void check_exit(struct vcpu *v, const struct vm_exit *e, const struct exit_outcome *o)
{
	unsigned injected = fake_backend.event_count - o->events_before;
	bool faulted = false;
	FUZZ_CHECK(injected <= 1 && fake_backend.injections_overwritten == 0);
	if (injected) {
		const struct fake_event *event = fake_last_event();
		check_event(event);
		faulted = event->type == EVENT_EXCEPTION;
	}
	check_rip(v, e, o, faulted);
	if (v->vm->state == VM_STOPPED)
		FUZZ_CHECK(v->vm->stop_reason[0] != 0);
	check_pc();
}

/* vm.c's deliver_events(): inject an external interrupt when the guest
 * can take it, else ask for the window. */
static void deliver_interrupts(struct vcpu *v)
{
	if (!vcpu_interrupt_pending(v))
		return;
	if (!backend->interrupt_allowed(v)) {
		backend->set_interrupt_window(v, true);
		v->window_requested = true;
		return;
	}
	u8 vector = vcpu_apic_acknowledge(v);
	backend->inject_event(v, EVENT_EXTERNAL_INTERRUPT, vector, false, 0);
}

static const u8 *exit_input;
static size_t exit_input_left;

static void run_hook(struct vcpu *v, struct vm_exit *exit)
{
	u8 record[EXIT_RECORD_SIZE] = { 0 };
	size_t n = MIN(exit_input_left, sizeof(record));
	memcpy(record, exit_input, n);
	exit_input += n;
	exit_input_left -= n;
	decode_exit(v, record, exit);
}

static void run_guest(struct vcpu *v)
{
	for (unsigned n = 0; n < MAX_EXITS && exit_input_left && v->vm->state == VM_RUNNING; n++) {
		struct vm_exit exit;
		fire_due_timers();
		deliver_interrupts(v);
		backend->vcpu_run(v, &exit);
		v->control_valid = false;
		struct exit_outcome o = { v->regs.rip, guest_cpu_mode(v), fake_backend.event_count, 0 };
		o.expected_length = length_at_rip(v, o.mode_before);
		exit_dispatch(v, &exit);
		check_exit(v, &exit, &o);
		if (v->vm->state == VM_EXITED || v->vm->state == VM_RESET)
			v->vm->state = VM_RUNNING; /* the guest may go on poking */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	u8 header[GUEST_HEADER_SIZE + CODE_BYTES] = { 0 };
	memcpy(header, data, MIN(size, sizeof(header)));
	struct fake_vm_config cfg = { .ram_size = GUEST_RAM_SIZE, .lazy_ram = header[1] & HEADER_LAZY_RAM,
				      .rtc_start = { 2024, 2, 28, 23, 59, 58 } };
	fake_now = 0;
	fake_backend_reset();
	FUZZ_CHECK(fake_vm_create(&cfg) == 0);
	msr_vcpu_reset(&fake_vcpu);
	setup_guest(&fake_vcpu, header, header + GUEST_HEADER_SIZE);
	fake_backend.run_hook = run_hook;
	exit_input = data + MIN(size, sizeof(header));
	exit_input_left = size - MIN(size, sizeof(header));
	run_guest(&fake_vcpu);
	fake_vm_destroy();
	return 0;
}
