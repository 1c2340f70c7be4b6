/*
 * Guest linear addresses (guest_linear_address in vmm/guest_mem.c) and the
 * exit handlers that form them: string I/O (vmm/io.c) and MMIO emulation
 * (vmm/mmio.c with vmm/emulate.c). The real guest memory, page walker, I/O
 * buses, decoder and emulator run against a fake vCPU: 16 MiB of RAM, a
 * 4-level identity map built here, a port that records bytes and an MMIO
 * page. The backend and the exit helpers of vmm/exit.c are small fakes.
 *
 * Expectations come from the SDM: Vol. 1 3.3.7 (address size, canonical
 * addresses), Vol. 1 3.4.1.1 (32-bit writes zero-extend, 16-bit writes keep
 * bits 16-63), Vol. 2 INS/OUTS/MOVS (ES:rDI, DS:rSI, rCX at the address
 * size), Vol. 3A 3.4.2 and 5.3 (segment bases, #GP(0) / #SS(0) for
 * non-canonical addresses).
 */
#include "tests/unit/host_support.h"
#include <string.h>
#pragma GCC diagnostic ignored "-Wunused-parameter" /* cmocka state arguments */

#include "vmm/memmap.c"
#include "vmm/pagewalk.c"
#include "vmm/guest_mem.c"
#include "vmm/iobus.c"
#include "vmm/decode.c"
#include "vmm/emulate.c"
#include "vmm/mmio.c"
#include "vmm/io.c"

/* Architectural values, spelled out here rather than taken from the code
 * (the CR0/EFER/RFLAGS bits are arch/x86/cpu.h's, their one definition). */
#define X_VECTOR_SS 12
#define X_VECTOR_GP 13
#define PTE_PRESENT_WRITABLE 0x3ULL
#define PTE_LARGE 0x80ULL

#define RAM_SIZE (16 * MiB)
#define PML4_GPA 0x100000ULL
#define PDPT_GPA 0x101000ULL
#define PDPT_TOP_GPA 0x102000ULL /* PML4[255]: the last 1 GiB below the canonical hole */
#define PD_TOP_GPA 0x103000ULL
#define CODE_GPA 0x3000ULL
#define TEST_PORT 0xe0
#define MMIO_GPA 0xfe000000ULL
#define NONCANONICAL_LOW 0x0000800000001000ULL /* the first non-canonical page, +0x1000 */
#define TOP_OF_LOWER_HALF 0x00007fffffe00000ULL /* a 2 MiB page mapped to 0x200000 */

/* ---- Fakes: backend, exit helpers, VM stop ---- */

static void fake_clear_interrupt_shadow(struct vcpu *v) { (void)v; }
static const struct backend_ops fake_backend = { .clear_interrupt_shadow = fake_clear_interrupt_shadow };
const struct backend_ops *backend = &fake_backend;

void vcpu_control_refresh(struct vcpu *v) { v->control_valid = true; }

static struct {
	bool injected;
	u8 vector;
	bool has_error_code;
	u32 error_code;
} injection;

void vcpu_inject_exception(struct vcpu *v, u8 vector, bool has_error_code, u32 error_code)
{
	(void)v;
	injection.injected = true;
	injection.vector = vector;
	injection.has_error_code = has_error_code;
	injection.error_code = error_code;
}

void vcpu_inject_page_fault(struct vcpu *v, u64 address, u32 error_code)
{
	(void)address;
	vcpu_inject_exception(v, VEC_PF, true, error_code);
}

void vcpu_set_cr2(struct vcpu *v, u64 address) { (void)v, (void)address; }
void vcpu_instruction_completed(struct vcpu *v) { (void)v; }

bool vcpu_skip_instruction(struct vcpu *v, const struct vm_exit *exit)
{
	assert_true(exit->instruction_length > 0); /* every test exit reports it */
	v->regs.rip += exit->instruction_length;
	return true;
}

void vm_stop(struct vm *vm, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
	va_end(ap);
	vm->state = VM_STOPPED;
}

/* ---- The machine: RAM, a recording port, an MMIO page ---- */

static struct vm vm;
static struct vcpu vcpu;
static u8 *ram;
static u8 port_bytes[64];
static unsigned port_written, port_read;
static u8 mmio_page[PAGE_SIZE];

static void port_read_fn(void *device, struct vcpu *v, u64 offset, unsigned size, u64 *value)
{
	*value = 0xa0 + port_read++;
}

static void port_write_fn(void *device, struct vcpu *v, u64 offset, unsigned size, u64 value)
{
	if (port_written < sizeof(port_bytes))
		port_bytes[port_written] = (u8)value;
	port_written++;
}

static void mmio_read_fn(void *device, struct vcpu *v, u64 offset, unsigned size, u64 *value)
{
	*value = 0;
	memcpy(value, mmio_page + offset, size);
}

static void put64(u64 gpa, u64 value) { memcpy(ram + gpa, &value, sizeof(value)); }

/* Identity map of the first and the fourth GiB (MMIO) through PML4[0] and, deliberately, also
 * through PML4[256]: a walker that ignored bits 63:48 would reach RAM from
 * 0x0000800000000000 (non-canonical) as if it were 0xffff800000000000. */
static void build_page_tables(void)
{
	put64(PML4_GPA, PDPT_GPA | PTE_PRESENT_WRITABLE);
	put64(PML4_GPA + 256 * 8, PDPT_GPA | PTE_PRESENT_WRITABLE);
	put64(PDPT_GPA, 0 | PTE_LARGE | PTE_PRESENT_WRITABLE);
	put64(PDPT_GPA + 3 * 8, 3 * GiB | PTE_LARGE | PTE_PRESENT_WRITABLE);
	put64(PML4_GPA + 255 * 8, PDPT_TOP_GPA | PTE_PRESENT_WRITABLE);
	put64(PDPT_TOP_GPA + 511 * 8, PD_TOP_GPA | PTE_PRESENT_WRITABLE);
	put64(PD_TOP_GPA + 511 * 8, 0x200000 | PTE_LARGE | PTE_PRESENT_WRITABLE);
}

static void enter_64bit_mode(void)
{
	vcpu.control = (struct vcpu_control){ .cr0 = CR0_PE | CR0_PG, .cr3 = PML4_GPA, .cr4 = CR4_PAE,
					      .efer = EFER_LME | EFER_LMA, .cs_long = true };
	vcpu.control_valid = true;
}

/* Flat-ish 32-bit protected mode, paging off. */
static void enter_32bit_mode(u64 ds_base)
{
	vcpu.control = (struct vcpu_control){ .cr0 = CR0_PE, .cs_default32 = true };
	vcpu.control.segment_base[SEG_DS] = ds_base;
	vcpu.control_valid = true;
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	memset(&vcpu, 0, sizeof(vcpu));
	memset(&injection, 0, sizeof(injection));
	port_written = port_read = 0;
	ram = calloc(1, RAM_SIZE);
	vm.ram_size = RAM_SIZE;
	vm.state = VM_RUNNING;
	memmap_add(&vm.mem, 0, RAM_SIZE, MEMMAP_RAM, ram, 0);
	io_bus_init(&vm.pio, "port");
	io_bus_init(&vm.mmio, "MMIO");
	io_bus_register(&vm.pio, TEST_PORT, 1, "recorder", NULL, port_read_fn, port_write_fn);
	io_bus_register(&vm.mmio, MMIO_GPA, PAGE_SIZE, "page", NULL, mmio_read_fn, NULL);
	for (unsigned i = 0; i < PAGE_SIZE; i++)
		mmio_page[i] = (u8)(i ^ 0x5a);
	vcpu.vm = &vm;
	vcpu.regs.rip = CODE_GPA;
	build_page_tables();
	enter_64bit_mode();
	return 0;
}

static int teardown(void **state)
{
	free(ram);
	return 0;
}

/* ---- The helper ---- */

static u64 linear_of(enum x86_segment seg, u64 offset, unsigned address_size, unsigned size)
{
	u64 linear = 0xdead;
	assert_int_equal(guest_linear_address(&vcpu, seg, offset, address_size, size, &linear), GUEST_ACCESS_OK);
	return linear;
}

static void expect_noncanonical(enum x86_segment seg, u64 offset, unsigned address_size, unsigned size)
{
	u64 linear;
	if (guest_linear_address(&vcpu, seg, offset, address_size, size, &linear) != GUEST_ACCESS_NONCANONICAL)
		fail_msg("seg %d offset 0x%llx a%u size %u: want non-canonical, got linear 0x%llx", seg,
			 (unsigned long long)offset, address_size * 8, size, (unsigned long long)linear);
}

static void test_linear_64bit(void **state)
{
	vcpu.control.segment_base[SEG_DS] = 0x12345000; /* ignored in 64-bit mode */
	vcpu.control.segment_base[SEG_FS] = 0xffff800000000000ULL;
	assert_int_equal(linear_of(SEG_DS, 0xdeadbeef00001000ULL, 4, 1), 0x1000);
	assert_int_equal(linear_of(SEG_DS, 0xffffffffffffffffULL, 4, 1), 0xffffffff);
	assert_int_equal(linear_of(SEG_DS, 0xffff800000000000ULL, 8, 8), 0xffff800000000000ULL);
	assert_int_equal(linear_of(SEG_FS, 0x1000, 8, 4), 0xffff800000001000ULL);
	assert_int_equal(linear_of(SEG_FS, 0xdead000000000010ULL, 4, 4), 0xffff800000000010ULL);
	assert_int_equal(linear_of(SEG_DS, 0x00007fffffffffffULL, 8, 1), 0x00007fffffffffffULL);
	expect_noncanonical(SEG_DS, NONCANONICAL_LOW, 8, 1);
	expect_noncanonical(SEG_DS, 0xffff7fffffffffffULL, 8, 1);
	expect_noncanonical(SEG_DS, 0x00007fffffffffffULL, 8, 2); /* its last byte is not canonical */
	vcpu.control.segment_base[SEG_FS] = 0x00007ffffffff000ULL;
	expect_noncanonical(SEG_FS, 0x1000, 8, 1); /* base + offset is checked */
	expect_noncanonical(SEG_SS, 0x8000000000000000ULL, 8, 8);
	assert_int_equal(guest_noncanonical_vector(SEG_SS), X_VECTOR_SS);
	assert_int_equal(guest_noncanonical_vector(SEG_DS), X_VECTOR_GP);
	assert_int_equal(guest_noncanonical_vector(SEG_ES), X_VECTOR_GP);
	assert_int_equal(guest_code_address_size(&vcpu), 8);
}

static void test_linear_outside_64bit_mode(void **state)
{
	enter_32bit_mode(0xfffff000);
	assert_int_equal(linear_of(SEG_DS, 0x2000, 4, 4), 0x1000);              /* wraps at 4 GiB */
	assert_int_equal(linear_of(SEG_DS, 0xdeadbeef00000010ULL, 4, 1), 0xfffff010); /* upper half ignored */
	assert_int_equal(linear_of(SEG_DS, 0x12345, 2, 1), 0xfffff000 + 0x2345);  /* a16 */
	assert_int_equal(linear_of(SEG_DS, 0x0000800000000000ULL, 4, 1), 0xfffff000);
	assert_int_equal(guest_code_address_size(&vcpu), 4);
	/* Compatibility mode: IA-32e active, 32-bit code; bases apply, no canonical check. */
	vcpu.control.efer = EFER_LME | EFER_LMA;
	vcpu.control.cr0 |= CR0_PG;
	assert_int_equal(linear_of(SEG_DS, 0x3000, 4, 4), 0x2000);
	vcpu.control.cs_default32 = false;
	assert_int_equal(guest_code_address_size(&vcpu), 2);
}

/* ---- String I/O ---- */

static struct vm_exit string_exit(bool in, unsigned address_size, enum x86_segment seg, u8 length)
{
	struct vm_exit e = { .reason = EXIT_IO, .instruction_length = length };
	e.io.port = TEST_PORT;
	e.io.size = 1;
	e.io.in = in;
	e.io.string = true;
	e.io.rep = true;
	e.io.address_size = address_size;
	e.io.segment = seg;
	return e;
}

static void expect_no_injection(void)
{
	if (injection.injected)
		fail_msg("unexpected injection of vector %u", injection.vector);
	assert_int_equal(vm.state, VM_RUNNING);
}

static void expect_injection(u8 vector)
{
	assert_true(injection.injected);
	assert_int_equal(injection.vector, vector);
	assert_true(injection.has_error_code);
	assert_int_equal(injection.error_code, 0);
	assert_int_equal(vm.state, VM_RUNNING);
}

/* 67 F3 6E: with a32 the CPU uses ESI and ECX and writes them back
 * zero-extended; bits 63:32 of RSI select nothing. */
static void test_a32_rep_outsb(void **state)
{
	memcpy(ram + 0x1000, "ABCD", 4);
	vcpu.regs.gpr[GPR_RSI] = 0xdead000000001000ULL;
	vcpu.regs.gpr[GPR_RCX] = 0xbeef000000000004ULL;
	struct vm_exit e = string_exit(false, 4, SEG_DS, 3);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(port_written, 4);
	assert_memory_equal(port_bytes, "ABCD", 4);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], 0x1004);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 0);
	assert_int_equal(vcpu.regs.rip, CODE_GPA + 3);
}

static void test_a32_rep_insb(void **state)
{
	vcpu.regs.gpr[GPR_RDI] = 0xffffffff00002000ULL;
	vcpu.regs.gpr[GPR_RCX] = 0x0000000100000003ULL;
	struct vm_exit e = string_exit(true, 4, SEG_NONE, 3);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_memory_equal(ram + 0x2000, "\xa0\xa1\xa2", 3);
	assert_int_equal(vcpu.regs.gpr[GPR_RDI], 0x2003);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 0);
}

/* DF=1 with a32: EDI steps down through 0 and wraps to 0xffffffff,
 * zero-extended (not 0xffff...ffff). */
static void test_a32_wraps_at_4gib(void **state)
{
	vcpu.regs.gpr[GPR_RDI] = 0x1234567800000000ULL;
	vcpu.regs.gpr[GPR_RCX] = 1;
	vcpu.regs.rflags = RFLAGS_DF;
	struct vm_exit e = string_exit(true, 4, SEG_NONE, 3);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(ram[0], 0xa0);
	assert_int_equal(vcpu.regs.gpr[GPR_RDI], 0xffffffffULL);
}

/* a16 (32-bit code with 67): SI and CX change, bits 16-63 stay; SI wraps in 64 KiB. */
static void test_a16_keeps_upper_bits(void **state)
{
	enter_32bit_mode(0x10000);
	memcpy(ram + 0x1fffe, "xy", 2);
	ram[0x10000] = 'z';
	vcpu.regs.gpr[GPR_RSI] = 0xaaaabbbbccccfffeULL;
	vcpu.regs.gpr[GPR_RCX] = 0x1111222233330003ULL;
	struct vm_exit e = string_exit(false, 2, SEG_DS, 3);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(port_written, 3);
	assert_memory_equal(port_bytes, "xyz", 3);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], 0xaaaabbbbcccc0001ULL);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 0x1111222233330000ULL);
}

/* A non-canonical rSI is #GP(0) before any byte moves: nothing is sent,
 * registers and RIP are unchanged (the page tables would alias it). */
static void test_noncanonical_rep_outsb(void **state)
{
	vcpu.regs.gpr[GPR_RSI] = NONCANONICAL_LOW;
	vcpu.regs.gpr[GPR_RCX] = 4;
	struct vm_exit e = string_exit(false, 8, SEG_DS, 2);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_injection(X_VECTOR_GP);
	assert_int_equal(port_written, 0);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], NONCANONICAL_LOW);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 4);
	assert_int_equal(vcpu.regs.rip, CODE_GPA);
}

static void test_noncanonical_rep_insb(void **state)
{
	vcpu.regs.gpr[GPR_RDI] = 0xfff0000000002000ULL;
	vcpu.regs.gpr[GPR_RCX] = 2;
	struct vm_exit e = string_exit(true, 8, SEG_NONE, 2);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_injection(X_VECTOR_GP);
	assert_int_equal(port_read, 0); /* the device's data was not consumed */
	assert_int_equal(vcpu.regs.gpr[GPR_RDI], 0xfff0000000002000ULL);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 2);
}

/* OUTS through SS (36 prefix): the fault is #SS(0). */
static void test_noncanonical_stack_segment(void **state)
{
	vcpu.regs.gpr[GPR_RSI] = NONCANONICAL_LOW;
	vcpu.regs.gpr[GPR_RCX] = 1;
	struct vm_exit e = string_exit(false, 8, SEG_SS, 3);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_injection(X_VECTOR_SS);
	assert_int_equal(port_written, 0);
}

/* The REP stops at the first non-canonical element: the ones before it
 * are done and the registers point at the faulting one. */
static void test_rep_crosses_into_noncanonical(void **state)
{
	memcpy(ram + 0x200000 + 0x1ffffe, "pq", 2);
	vcpu.regs.gpr[GPR_RSI] = 0x00007ffffffffffeULL;
	vcpu.regs.gpr[GPR_RCX] = 4;
	struct vm_exit e = string_exit(false, 8, SEG_DS, 2);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_injection(X_VECTOR_GP);
	assert_int_equal(port_written, 2);
	assert_memory_equal(port_bytes, "pq", 2);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], 0x0000800000000000ULL);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 2);
	assert_int_equal(vcpu.regs.rip, CODE_GPA);
}

/* Address size and segment not reported (SVM without decode assists):
 * decoded from the instruction, 67 2E F3 6E = a32 cs rep outsb. */
static void test_decoded_address_size(void **state)
{
	memcpy(ram + CODE_GPA, "\x67\x2e\xf3\x6e", 4);
	memcpy(ram + 0x1000, "AB", 2);
	vcpu.regs.gpr[GPR_RSI] = 0x8000000000001000ULL; /* non-canonical as a64, fine as a32 */
	vcpu.regs.gpr[GPR_RCX] = 0xffffffff00000002ULL;
	struct vm_exit e = string_exit(false, 0, SEG_NONE, 4);
	assert_int_equal(handle_port_io(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_memory_equal(port_bytes, "AB", 2);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], 0x1002);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 0);
}

/* ---- MMIO emulation ---- */

static struct vm_exit mmio_exit(void)
{
	struct vm_exit e = { .reason = EXIT_MMIO };
	e.mmio.gpa = MMIO_GPA;
	return e;
}

/* 67 A4 (a32 movsb) from the MMIO page: ESI selects it, RSI/RDI come back
 * zero-extended. */
static void test_mmio_a32_movsb(void **state)
{
	memcpy(ram + CODE_GPA, "\x67\xa4", 2);
	vcpu.regs.gpr[GPR_RSI] = 0x12345678fe000010ULL;
	vcpu.regs.gpr[GPR_RDI] = 0x9abcdef000004000ULL;
	struct vm_exit e = mmio_exit();
	assert_int_equal(handle_mmio(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(ram[0x4000], mmio_page[0x10]);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], 0xfe000011ULL);
	assert_int_equal(vcpu.regs.gpr[GPR_RDI], 0x4001);
	assert_int_equal(vcpu.regs.rip, CODE_GPA + 2);
}

/* A4 (movsb) from MMIO to a non-canonical rDI: #GP(0), nothing written,
 * RSI/RDI/RIP unchanged. */
static void test_mmio_movsb_noncanonical_destination(void **state)
{
	memcpy(ram + CODE_GPA, "\xa4", 1);
	u64 destination = NONCANONICAL_LOW + 0x3000; /* aliases RAM 0x4000 through PML4[256] */
	vcpu.regs.gpr[GPR_RSI] = MMIO_GPA + 0x20;
	vcpu.regs.gpr[GPR_RDI] = destination;
	struct vm_exit e = mmio_exit();
	assert_int_equal(handle_mmio(&vcpu, &e), EXIT_CONTINUE);
	expect_injection(X_VECTOR_GP);
	assert_int_equal(ram[0x4000], 0);
	assert_int_equal(vcpu.regs.gpr[GPR_RSI], MMIO_GPA + 0x20);
	assert_int_equal(vcpu.regs.gpr[GPR_RDI], destination);
	assert_int_equal(vcpu.regs.rip, CODE_GPA);
}

/* A MOV through a non-canonical address that reached the emulator (the
 * guest changed the register or the code under another vCPU): #GP(0). */
static void test_mmio_mov_noncanonical(void **state)
{
	memcpy(ram + CODE_GPA, "\x8a\x03", 2); /* mov al, [rbx] */
	vcpu.regs.gpr[GPR_RBX] = 0xfffe0000fe000000ULL;
	struct vm_exit e = mmio_exit();
	assert_int_equal(handle_mmio(&vcpu, &e), EXIT_CONTINUE);
	expect_injection(X_VECTOR_GP);
	assert_int_equal(vcpu.regs.rip, CODE_GPA);
}

/* Instruction bytes stop at the canonical boundary: F3 67 at the top of the
 * lower half and what would be A4 at 0x0000800000000000 (aliased to RAM 0
 * by PML4[256]) give an incomplete instruction, so the VM is stopped. */
static void test_fetch_stops_at_noncanonical(void **state)
{
	memcpy(ram + 0x200000 + 0x1ffffe, "\xf3\x67", 2);
	ram[0] = 0xa4;
	vcpu.regs.rip = 0x00007ffffffffffeULL;
	vcpu.regs.gpr[GPR_RSI] = MMIO_GPA;
	vcpu.regs.gpr[GPR_RDI] = 0x4000;
	vcpu.regs.gpr[GPR_RCX] = 1;
	struct vm_exit e = mmio_exit();
	assert_int_equal(handle_mmio(&vcpu, &e), EXIT_STOP);
	assert_int_equal(vm.state, VM_STOPPED);
	assert_int_equal(ram[0x4000], 0);
	assert_int_equal(vcpu.regs.gpr[GPR_RCX], 1);
}

/* Real mode: IP wraps at 64 KiB, so with CS base 0x100, 67 at CS:FFFF and
 * A4 at CS:0000 are one instruction (a32 movsb), not 67 followed by the
 * byte at linear 0x10100 (the page does not end there to stop the fetch). */
static void test_fetch_wraps_ip_in_real_mode(void **state)
{
	vcpu.control = (struct vcpu_control){ 0 };
	vcpu.control.segment_base[SEG_CS] = 0x100;
	ram[0x100 + 0xffff] = 0x67;
	ram[0x100] = 0xa4;
	ram[0x100 + 0x10000] = 0x90; /* nop */
	ram[0x5000] = 0x77;
	vcpu.regs.rip = 0xffff;
	vcpu.regs.gpr[GPR_RSI] = 0x5000;
	vcpu.regs.gpr[GPR_RDI] = 0x6000;
	struct vm_exit e = mmio_exit();
	assert_int_equal(handle_mmio(&vcpu, &e), EXIT_CONTINUE);
	expect_no_injection();
	assert_int_equal(ram[0x6000], 0x77);
	assert_int_equal(vcpu.regs.rip, 1);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_linear_64bit),
		T(test_linear_outside_64bit_mode),
		T(test_a32_rep_outsb),
		T(test_a32_rep_insb),
		T(test_a32_wraps_at_4gib),
		T(test_a16_keeps_upper_bits),
		T(test_noncanonical_rep_outsb),
		T(test_noncanonical_rep_insb),
		T(test_noncanonical_stack_segment),
		T(test_rep_crosses_into_noncanonical),
		T(test_decoded_address_size),
		T(test_mmio_a32_movsb),
		T(test_mmio_movsb_noncanonical_destination),
		T(test_mmio_mov_noncanonical),
		T(test_fetch_stops_at_noncanonical),
		T(test_fetch_wraps_ip_in_real_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
