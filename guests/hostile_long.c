/*
 * Hostile cases in 64-bit code (routines in hostile_long64.asm, run through
 * long_mode_call): string I/O and MMIO emulation must use the address size
 * (a32: ESI/EDI/ECX, written back zero-extended) and must raise #GP(0) for
 * a non-canonical address. PML4 entry 256 aliases the identity map, so an
 * implementation that dropped bits 63:48 of 0x0000_8000_xxxx_xxxx would
 * reach the low memory instead of faulting.
 */
#include "hostile.h"
#include "interrupts.h"
#include "long_mode.h"
#include "report.h"
#include "testdev.h"
#include "x86.h"

/* Register state in and out of a routine (REGS_* in hostile_long64.asm). */
struct long_registers {
	uint64_t rsi, rdi, rcx, rax;
};

void hostile_long_nothing(void);
void hostile_long_a32_rep_outsb(void);
void hostile_long_a32_rep_insb(void);
void hostile_long_rep_outsb(void);
void hostile_long_rep_insb(void);
void hostile_long_load_byte(void);
void hostile_long_store_byte(void);
void hostile_long_a32_movsb(void);
void hostile_long_movsb(void);

#define STRING_BYTES 8
#define UPPER_HALF_A 0xdeadbeef00000000ull
#define UPPER_HALF_B 0x1234567800000000ull
#define ALIAS_PML4_INDEX 256
#define NONCANONICAL_ALIAS (1ull << 47) /* PML4 index 256 with bits 63:48 clear */
#define SCRATCH_OFFSET 0x40
#define SCRATCH_BYTE 0xa5
#define OUT_PATTERN 0x30
#define IN_PATTERN 0x50
#define EMPTY_PORT_BYTE 0xff

static uint8_t source[STRING_BYTES], destination[STRING_BYTES];
static struct long_registers regs;
static uint32_t call_status;
static bool fifo_present; /* natively (no test device) the FIFO bytes are not checked */

static struct long_registers run(void (*routine)(void), struct long_registers in)
{
	regs = in;
	call_status = long_mode_call(routine, (uint32_t)&regs);
	return regs;
}

static bool faulted_gp0(void)
{
	return long_mode_fault.occurred && long_mode_fault.vector == VECTOR_GP && long_mode_fault.error_code == 0;
}

static const char *fault_text(void)
{
	if (!long_mode_fault.occurred)
		return name("no fault%s", call_status ? ", routine abandoned" : "");
	return name("vector %u error 0x%llx at rip 0x%llx", long_mode_fault.vector, long_mode_fault.error_code,
		    long_mode_fault.rip);
}

/* The bytes the FIFO holds are 'bytes' (only checked where the device is). */
static bool fifo_holds(const uint8_t *bytes, unsigned count)
{
	if (!fifo_present)
		return true;
	bool same = inl(TESTDEV_COUNT_PORT) == count;
	for (unsigned i = 0; i < count; i++)
		same &= inb(TESTDEV_FIFO_PORT) == bytes[i];
	testdev_fifo_clear();
	return same;
}

static bool destination_is(uint8_t value)
{
	for (unsigned i = 0; i < STRING_BYTES; i++)
		if (destination[i] != value)
			return false;
	return true;
}

static void check_enter_and_leave(void)
{
	run(hostile_long_nothing, (struct long_registers){ 0 });
	check(call_status == 0 && !long_mode_fault.occurred, "long mode entered and left", "%s", fault_text());
}

/* 67 F3 6E: the bytes come from ESI, ECX counts; both come back zero-extended. */
static void check_a32_rep_outsb(void)
{
	for (unsigned i = 0; i < STRING_BYTES; i++)
		source[i] = (uint8_t)(OUT_PATTERN + i);
	testdev_fifo_clear();
	struct long_registers r = run(hostile_long_a32_rep_outsb,
				      (struct long_registers){ .rsi = UPPER_HALF_A | (uint32_t)source,
							       .rcx = UPPER_HALF_B | STRING_BYTES });
	bool sent = fifo_holds(source, STRING_BYTES);
	check(!long_mode_fault.occurred && sent && r.rsi == (uint32_t)source + STRING_BYTES && r.rcx == 0,
	      "64-bit a32 rep outsb reads esi, zero-extends rsi and rcx",
	      "rsi 0x%llx rcx 0x%llx, fifo %s, %s", r.rsi, r.rcx, sent ? "right" : "wrong", fault_text());
}

static void check_a32_rep_insb(void)
{
	uint8_t expected[STRING_BYTES];
	testdev_fifo_clear();
	for (unsigned i = 0; i < STRING_BYTES; i++) {
		expected[i] = fifo_present ? (uint8_t)(IN_PATTERN + i) : EMPTY_PORT_BYTE;
		outb(TESTDEV_FIFO_PORT, (uint8_t)(IN_PATTERN + i));
		destination[i] = 0;
	}
	struct long_registers r = run(hostile_long_a32_rep_insb,
				      (struct long_registers){ .rdi = UPPER_HALF_B | (uint32_t)destination,
							       .rcx = UPPER_HALF_A | STRING_BYTES });
	bool same = true;
	for (unsigned i = 0; i < STRING_BYTES; i++)
		same &= destination[i] == expected[i];
	check(!long_mode_fault.occurred && same && r.rdi == (uint32_t)destination + STRING_BYTES && r.rcx == 0,
	      "64-bit a32 rep insb writes at edi, zero-extends rdi and rcx",
	      "rdi 0x%llx rcx 0x%llx, bytes %s, %s", r.rdi, r.rcx, same ? "right" : "wrong", fault_text());
	testdev_fifo_clear();
}

static void check_noncanonical_rep_outsb(void)
{
	struct long_registers in = { .rsi = NONCANONICAL_ALIAS | (uint32_t)source, .rcx = STRING_BYTES };
	testdev_fifo_clear();
	struct long_registers r = run(hostile_long_rep_outsb, in);
	bool nothing_sent = !fifo_present || inl(TESTDEV_COUNT_PORT) == 0;
	check(faulted_gp0() && nothing_sent && r.rsi == in.rsi && r.rcx == in.rcx,
	      "rep outsb from a non-canonical rsi #GP(0), nothing sent",
	      "%s, rsi 0x%llx rcx 0x%llx, %s", fault_text(), r.rsi, r.rcx, nothing_sent ? "nothing sent" : "bytes sent");
	testdev_fifo_clear();
}

static void check_noncanonical_rep_insb(void)
{
	struct long_registers in = { .rdi = NONCANONICAL_ALIAS | (uint32_t)destination, .rcx = STRING_BYTES };
	testdev_fifo_clear();
	for (unsigned i = 0; i < STRING_BYTES; i++) {
		outb(TESTDEV_FIFO_PORT, (uint8_t)(IN_PATTERN + i));
		destination[i] = 0;
	}
	struct long_registers r = run(hostile_long_rep_insb, in);
	check(faulted_gp0() && destination_is(0) && r.rdi == in.rdi && r.rcx == in.rcx,
	      "rep insb to a non-canonical rdi #GP(0), nothing written",
	      "%s, rdi 0x%llx rcx 0x%llx, destination[0] 0x%x", fault_text(), r.rdi, r.rcx, destination[0]);
	testdev_fifo_clear();
}

/* The CPU raises these itself, before any exit: nothing must break. */
static void check_noncanonical_mmio_mov(void)
{
	uint32_t scratch = testdev_scratch_base() + SCRATCH_OFFSET;
	write8(scratch, SCRATCH_BYTE);
	run(hostile_long_load_byte, (struct long_registers){ .rsi = NONCANONICAL_ALIAS | scratch });
	check(faulted_gp0(), "mov from the mmio page through a non-canonical address #GP(0)", "%s", fault_text());
	run(hostile_long_store_byte, (struct long_registers){ .rsi = NONCANONICAL_ALIAS | scratch, .rax = 0 });
	check(faulted_gp0() && read8(scratch) == SCRATCH_BYTE,
	      "mov to the mmio page through a non-canonical address #GP(0)", "%s, byte 0x%x", fault_text(),
	      read8(scratch));
}

/* 67 A4 from the MMIO page: Presidio emulates it and must use ESI and EDI. */
static void check_a32_movsb_from_mmio(void)
{
	uint32_t scratch = testdev_scratch_base() + SCRATCH_OFFSET;
	write8(scratch, SCRATCH_BYTE);
	destination[0] = 0;
	struct long_registers r = run(hostile_long_a32_movsb,
				      (struct long_registers){ .rsi = UPPER_HALF_A | scratch,
							       .rdi = UPPER_HALF_B | (uint32_t)destination });
	check(!long_mode_fault.occurred && destination[0] == SCRATCH_BYTE && r.rsi == scratch + 1 &&
		      r.rdi == (uint32_t)destination + 1,
	      "64-bit a32 movsb from mmio uses esi and edi, zero-extends them",
	      "byte 0x%x, rsi 0x%llx rdi 0x%llx, %s", destination[0], r.rsi, r.rdi, fault_text());
}

/* A4 from the MMIO page to a non-canonical rDI: the read exits, the write
 * must fault in the emulator as on the CPU. */
static void check_movsb_from_mmio_to_noncanonical(void)
{
	uint32_t scratch = testdev_scratch_base() + SCRATCH_OFFSET;
	struct long_registers in = { .rsi = scratch, .rdi = NONCANONICAL_ALIAS | (uint32_t)destination };
	write8(scratch, SCRATCH_BYTE);
	destination[0] = 0;
	struct long_registers r = run(hostile_long_movsb, in);
	check(faulted_gp0() && destination[0] == 0 && r.rsi == in.rsi && r.rdi == in.rdi,
	      "movsb from mmio to a non-canonical rdi #GP(0), nothing written",
	      "%s, byte 0x%x, rsi 0x%llx rdi 0x%llx", fault_text(), destination[0], r.rsi, r.rdi);
}

void hostile_long_mode_cases(void)
{
	fifo_present = testdev_present();
	check_enter_and_leave();
	/* Entry 0 is the identity map from the first call on; 256 aliases it. */
	long_mode_pml4[ALIAS_PML4_INDEX] = long_mode_pml4[0];
	check_a32_rep_outsb();
	check_a32_rep_insb();
	check_noncanonical_rep_outsb();
	check_noncanonical_rep_insb();
	check_noncanonical_mmio_mov();
	check_a32_movsb_from_mmio();
	check_movsb_from_mmio_to_noncanonical();
	long_mode_pml4[ALIAS_PML4_INDEX] = 0;
}
