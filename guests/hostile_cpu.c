/*
 * Hostile cases on CPU state a guest controls: XCR0 values the CPU would
 * refuse (Presidio executes XSETBV itself), CR0/CR4/EFER values that must
 * #GP instead of reaching the VMCS/VMCB, interrupts and INT n whose
 * delivery takes a nested page fault, single-stepping over instructions
 * Presidio completes, instructions a vCPU does not have, and debug
 * registers/XCR0 left behind for the next VM on the same CPU.
 */
#include "hostile.h"
#include "interrupts.h"
#include "multiboot.h"
#include "report.h"
#include "serial.h"
#include "testdev.h"
#include "x86.h"

#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR4_OSXSAVE (1u << 18)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID_LEAF_XSTATE 0xd
#define CPUID_EXT_FEATURES 0x80000001u
#define CPUID_EXT_EDX_RDTSCP (1u << 27)
#define XCR0_X87 0x1ull
#define XCR0_SSE 0x2ull
#define XCR0_AVX 0x4ull
#define DR6_RESET 0xffff0ff0u
#define DR6_BS (1u << 14)
#define DR7_RESET 0x400u
#define TF_STEPPED_PORT 0x3ff /* the UART scratch register: an I/O exit */
#define MSR_PAT 0x277u
#define MSR_DENIED 0xc0010117u /* VM_HSAVE_PA: not offered */
#define CHUNK (2u << 20)      /* Presidio maps guest RAM 2 MiB at a time */
#define FRESH_CHUNKS_NEEDED 6
#define FRESH_FLOOR (48u << 20) /* above what hostile.c touches */
#define VECTOR_SOFT 0x80
#define VECTOR_TESTDEV 0x41
#define PAGE_DIR_ENTRIES 1024
#define PDE_4M_IDENTITY 0x83u /* present, writable, 4 MiB page */
#define CR4_PSE (1u << 4)
#define LEFTOVER_DR0 0x00111000u

/* ---- debug registers ---- */


static bool has_xsave(void)
{
	struct cpuid_regs r;
	cpuid(1, 0, &r);
	return r.ecx & CPUID1_ECX_XSAVE;
}

static uint64_t xgetbv0(void)
{
	uint32_t lo, hi;
	asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return ((uint64_t)hi << 32) | lo;
}

static bool xsetbv_faulted(uint32_t index, uint64_t value)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("xsetbv")
		     : : "a"((uint32_t)value), "d"((uint32_t)(value >> 32)), "c"(index) : "memory");
	return last_fault.occurred;
}

void hostile_leftover_cases(void)
{
	uint32_t dr[4] = { read_dr0(), read_dr1(), read_dr2(), read_dr3() };
	check(!dr[0] && !dr[1] && !dr[2] && !dr[3], "dr0-dr3 start at zero (nothing left by another VM)",
	      "dr0 0x%x dr1 0x%x dr2 0x%x dr3 0x%x", dr[0], dr[1], dr[2], dr[3]);
	check_u32("dr6 starts at its reset value", read_dr6(), DR6_RESET);
	check_u32("dr7 starts at its reset value", read_dr7(), DR7_RESET);
	if (!has_xsave()) {
		report_fail("xcr0 starts as x87 only", "the CPU has no XSAVE");
		return;
	}
	write_cr4(read_cr4() | CR4_OSXSAVE);
	check_u64("xcr0 starts as x87 only", xgetbv0(), XCR0_X87);
	write_cr4(read_cr4() & ~CR4_OSXSAVE);
}

void hostile_leave_leftovers(void)
{
	write_dr0(LEFTOVER_DR0);
	write_dr1(LEFTOVER_DR0 * 2);
	write_dr2(LEFTOVER_DR0 * 3);
	write_dr3(LEFTOVER_DR0 * 4);
	write_dr6(DR6_RESET | 0xf); /* B0-B3 */
	if (has_xsave()) {
		write_cr4(read_cr4() | CR4_OSXSAVE);
		xsetbv_faulted(0, XCR0_X87 | XCR0_SSE);
	}
}

/* ---- XSETBV ---- */

static void check_xsetbv(void)
{
	/* Each breaks a rule of SDM Vol. 1 13.3 (or names no XCR0 component
	 * the CPU offers); 0x23-0x67 were a host #GP on AVX-512 hosts. */
	static const uint64_t invalid[] = {
		0x0, 0x2, 0x4, 0x5, 0x6, 0x23, 0x43, 0x83, 0xe3, 0x27, 0x67, 0x63, 0xa7,
		0xb, 0x13, 0x20003, 0x40003, 0x8000000000000003ull, 0x100000003ull,
	};
	struct cpuid_regs r;
	if (!has_xsave()) {
		report_fail("xsetbv cases", "the CPU has no XSAVE");
		return;
	}
	write_cr4(read_cr4() | CR4_OSXSAVE);
	cpuid(CPUID_LEAF_XSTATE, 0, &r);
	uint64_t offered = ((uint64_t)r.edx << 32) | r.eax;
	for (unsigned i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		xsetbv_faulted(0, invalid[i]);
		expect_fault(name("xsetbv xcr0=0x%llx #GP(0)", invalid[i]), VECTOR_GP, 0);
	}
	xsetbv_faulted(1, XCR0_X87);
	expect_fault("xsetbv xcr1 #GP(0)", VECTOR_GP, 0);
	check(!xsetbv_faulted(0, XCR0_X87 | XCR0_SSE) && xgetbv0() == (XCR0_X87 | XCR0_SSE),
	      "xsetbv x87|sse takes effect", "xcr0 0x%llx", xgetbv0());
	if (offered & XCR0_AVX)
		check(!xsetbv_faulted(0, 0x7) && xgetbv0() == 0x7, "xsetbv x87|sse|avx takes effect",
		      "xcr0 0x%llx", xgetbv0());
	xsetbv_faulted(0, XCR0_X87);
	write_cr4(read_cr4() & ~CR4_OSXSAVE);
	fault_clear();
	asm volatile(FAULT_GUARDED("xsetbv") : : "a"(1), "d"(0), "c"(0) : "memory");
	expect_fault("xsetbv without cr4.osxsave #UD", VECTOR_UD, 0);
}

/* ---- CR0, CR4, EFER ---- */

static bool mov_cr0_faulted(uint32_t value)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("mov %0, %%cr0") : : "r"(value) : "memory");
	return last_fault.occurred;
}

static bool mov_cr4_faulted(uint32_t value)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("mov %0, %%cr4") : : "r"(value) : "memory");
	return last_fault.occurred;
}

/* CR4 bits the CPUID this guest sees does not offer (or no CPU has). */
static uint32_t cr4_bits_not_offered(void)
{
	struct cpuid_regs r1, r7 = { 0, 0, 0, 0 }, r0;
	cpuid(0, 0, &r0);
	cpuid(1, 0, &r1);
	if (r0.eax >= 7)
		cpuid(7, 0, &r7);
	const struct {
		uint32_t cr4_bit, feature_register, feature_bit;
	} gated[] = {
		{ 11, r7.ecx, 1u << 2 },  /* UMIP */
		{ 16, r7.ebx, 1u << 0 },  /* FSGSBASE */
		{ 17, r1.ecx, 1u << 17 }, /* PCIDE */
		{ 20, r7.ebx, 1u << 7 },  /* SMEP */
		{ 21, r7.ebx, 1u << 20 }, /* SMAP */
		{ 22, r7.ecx, 1u << 3 },  /* PKE */
	};
	/* LA57 (hidden by Presidio), VMXE, SMXE, KL, PKS, UINTR; the rest undefined. */
	uint32_t bits = (1u << 12) | (1u << 13) | (1u << 14) | (1u << 15) | (1u << 19) | (1u << 24) |
			(1u << 25) | (1u << 26) | (1u << 27) | (1u << 29) | (1u << 30) | (1u << 31);
	for (unsigned i = 0; i < sizeof(gated) / sizeof(gated[0]); i++)
		if (!(gated[i].feature_register & gated[i].feature_bit))
			bits |= 1u << gated[i].cr4_bit;
	return bits;
}

static void check_cr4(void)
{
	/* Native QEMU 7.2 TCG spins on a faulting MOV to CR4. */
	if (!running_on_presidio()) {
		report_fail("mov cr4 reserved bits #GP(0)", "skipped: not running under Presidio");
		return;
	}
	uint32_t cr4 = read_cr4(), bits = cr4_bits_not_offered();
	for (unsigned bit = 0; bit < 32; bit++) {
		if (!(bits & (1u << bit)))
			continue;
		if (!mov_cr4_faulted(cr4 | (1u << bit)))
			write_cr4(cr4);
		expect_fault(name("mov cr4 bit %u (not offered) #GP(0)", bit), VECTOR_GP, 0);
	}
	/* PCIDE outside IA-32e mode #GPs even where PCIDs exist. */
	if (!mov_cr4_faulted(cr4 | (1u << 17)))
		write_cr4(cr4);
	expect_fault("mov cr4.pcide outside long mode #GP(0)", VECTOR_GP, 0);
}

static uint32_t page_directory[PAGE_DIR_ENTRIES] __attribute__((aligned(4096)));

static void paging_on_identity(void)
{
	for (uint32_t i = 0; i < PAGE_DIR_ENTRIES; i++)
		page_directory[i] = (i << 22) | PDE_4M_IDENTITY;
	write_cr3((uint32_t)page_directory);
	write_cr4(read_cr4() | CR4_PSE);
	write_cr0(read_cr0() | CR0_PG);
}

static void paging_off(void)
{
	write_cr0(read_cr0() & ~CR0_PG);
	write_cr4(read_cr4() & ~CR4_PSE);
}

static void check_long_mode_needs_pae(uint32_t cr0, uint64_t efer);

static void check_cr0_and_efer(void)
{
	uint32_t cr0 = read_cr0();
	if (!mov_cr0_faulted((cr0 | CR0_NW) & ~CR0_CD))
		write_cr0(cr0);
	expect_fault("mov cr0 nw without cd #GP(0)", VECTOR_GP, 0);
	if (!mov_cr0_faulted((cr0 | CR0_PG) & ~CR0_PE))
		write_cr0(cr0);
	expect_fault("mov cr0 pg without pe #GP(0)", VECTOR_GP, 0);

	uint64_t efer = rdmsr(MSR_EFER);
	static const uint8_t reserved_bits[] = { 1, 9, 13, 14, 15, 16, 31, 32, 63 };
	for (unsigned i = 0; i < sizeof(reserved_bits); i++) {
		if (wrmsr_safe(MSR_EFER, efer | (1ull << reserved_bits[i])))
			wrmsr(MSR_EFER, efer);
		expect_fault(name("wrmsr efer bit %u (reserved) #GP(0)", reserved_bits[i]), VECTOR_GP, 0);
	}
	check_long_mode_needs_pae(cr0, efer);
	/* EFER.LME may not change while paging is on. */
	paging_on_identity();
	if (wrmsr_safe(MSR_EFER, efer | EFER_LME))
		wrmsr(MSR_EFER, efer);
	bool faulted = last_fault.occurred;
	paging_off();
	check(faulted && last_fault.vector == VECTOR_GP, "wrmsr efer.lme with cr0.pg set #GP(0)",
	      "fault %d vector %u", faulted, last_fault.vector);
	check_u64("efer unchanged after the refused writes", rdmsr(MSR_EFER), efer);
}

static bool vendor_is_intel(void)
{
	struct cpuid_regs r;
	cpuid(0, 0, &r);
	return r.ebx == 0x756e6547 && r.edx == 0x49656e69 && r.ecx == 0x6c65746e; /* GenuineIntel */
}

/* IA-32e mode cannot start without PAE: LME set, then PG with 32-bit
 * tables. Not on AMD-V under QEMU 7.2, whose nested SVM loses the host's
 * paging on #VMEXIT while a guest has EFER.LME=1 with CR4.PAE=0. */
static void check_long_mode_needs_pae(uint32_t cr0, uint64_t efer)
{
	if (!vendor_is_intel()) {
		printf("SKIP mov cr0.pg with efer.lme and no cr4.pae: needs EFER.LME with CR4.PAE clear, "
		       "which QEMU's nested SVM mishandles\n");
		return;
	}
	wrmsr(MSR_EFER, efer | EFER_LME);
	for (uint32_t i = 0; i < PAGE_DIR_ENTRIES; i++)
		page_directory[i] = (i << 22) | PDE_4M_IDENTITY;
	write_cr3((uint32_t)page_directory);
	write_cr4(read_cr4() | CR4_PSE);
	if (!mov_cr0_faulted(cr0 | CR0_PG))
		write_cr0(cr0);
	expect_fault("mov cr0.pg with efer.lme and no cr4.pae #GP(0)", VECTOR_GP, 0);
	wrmsr(MSR_EFER, efer);
	write_cr4(read_cr4() & ~CR4_PSE);
}

/* ---- delivery that takes a nested page fault ---- */

struct ram_top {
	uint64_t end;
};

static void note_ram(const struct multiboot_mmap_entry *e, void *ctx)
{
	struct ram_top *t = ctx;
	if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr + e->len > t->end && e->addr < (1ull << 32))
		t->end = e->addr + e->len;
}

/* The top of the n-th 2 MiB chunk below the end of RAM: never touched yet. */
static uint32_t fresh_stack(unsigned n)
{
	struct ram_top t = { 0 };
	multiboot_for_each_region(note_ram, &t);
	uint32_t end = t.end > 0xffffffffull ? 0xfffff000u : (uint32_t)t.end & ~(CHUNK - 1);
	return end - n * CHUNK - 16;
}

static volatile uint32_t delivered, delivered_eip;

static void count_delivery(struct interrupt_frame *f)
{
	delivered++;
	delivered_eip = f->eip;
}

static void expect_one_delivery(const char *what, uint32_t return_eip)
{
	check(delivered == 1 && delivered_eip == return_eip, what,
	      "delivered %u times, last returning to 0x%x (expected once, to 0x%x)", delivered, delivered_eip,
	      return_eip);
}

#define ON_FRESH_STACK(insns)                           \
	"mov %%esp, %%ebx\n\t"                          \
	"mov %[top], %%esp\n\t" insns "\n"              \
	"1:\n\t"                                        \
	"mov %%ebx, %%esp\n\t"                          \
	"movl $1b, %[ret]\n\t"

static void check_delivery_on_fresh_stacks(void)
{
	uint32_t ret;
	if (fresh_stack(FRESH_CHUNKS_NEEDED) < FRESH_FLOOR) {
		report_fail("interrupt delivery onto untouched RAM", "needs at least %u MiB of RAM",
			    (FRESH_FLOOR + FRESH_CHUNKS_NEEDED * CHUNK) >> 20);
		return;
	}
	set_interrupt_handler(VECTOR_SOFT, count_delivery);
	set_interrupt_handler(VECTOR_BP, count_delivery);
	set_interrupt_handler(VECTOR_OF, count_delivery);
	set_interrupt_handler(VECTOR_TESTDEV, count_delivery);

	delivered = 0;
	asm volatile(ON_FRESH_STACK("int $0x80") : [ret] "=m"(ret) : [top] "r"(fresh_stack(1)) : "ebx", "memory");
	expect_one_delivery("int 0x80 pushing onto untouched RAM runs once", ret);
	delivered = 0;
	asm volatile(ON_FRESH_STACK("int3") : [ret] "=m"(ret) : [top] "r"(fresh_stack(2)) : "ebx", "memory");
	expect_one_delivery("int3 pushing onto untouched RAM runs once", ret);
	delivered = 0;
	asm volatile(ON_FRESH_STACK(".byte 0xcd, 0x03") : [ret] "=m"(ret) : [top] "r"(fresh_stack(3))
		     : "ebx", "memory");
	expect_one_delivery("int 3 (cd 03) pushing onto untouched RAM runs once", ret);
	delivered = 0;
	asm volatile(ON_FRESH_STACK("mov $0x7f, %%al\n\tadd $1, %%al\n\tinto")
		     : [ret] "=m"(ret) : [top] "r"(fresh_stack(4)) : "eax", "ebx", "cc", "memory");
	expect_one_delivery("into pushing onto untouched RAM runs once", ret);
	delivered = 0;
	asm volatile(ON_FRESH_STACK("sti\n\tmov %[vector], %%al\n\tout %%al, %[port]\n\tnop\n\tnop")
		     : [ret] "=m"(ret)
		     : [top] "r"(fresh_stack(5)), [vector] "i"(VECTOR_TESTDEV), [port] "i"(TESTDEV_IRQ_PORT)
		     : "eax", "ebx", "memory");
	cli();
	check(delivered == 1, "external interrupt pushing onto untouched RAM arrives once",
	      "delivered %u times", delivered);
	set_interrupt_handler(VECTOR_SOFT, 0);
	set_interrupt_handler(VECTOR_BP, 0);
	set_interrupt_handler(VECTOR_OF, 0);
	set_interrupt_handler(VECTOR_TESTDEV, 0);
}

/* ---- single-step over instructions Presidio completes ---- */

static volatile uint32_t steps, step_eip, step_dr6;

static void count_step(struct interrupt_frame *f)
{
	steps++;
	step_eip = f->eip;
	step_dr6 = read_dr6();
	f->eflags &= ~EFLAGS_TF;
}

/* POPF sets TF; the instruction after it runs, then traps (SDM 18.3.1.4). */
#define SINGLE_STEP(insn)                              \
	"pushfl\n\t"                                    \
	"orl $0x100, (%%esp)\n\t"                       \
	"popfl\n\t" insn "\n"                           \
	"1:\n\t"                                        \
	"movl $1b, %[ret]\n\t"

static void expect_one_step(const char *what, uint32_t ret)
{
	check(steps == 1 && step_eip == ret && (step_dr6 & DR6_BS), what,
	      "%u #DB, last at eip 0x%x (expected one, at 0x%x), dr6 0x%x", steps, step_eip, ret, step_dr6);
	steps = 0;
	write_dr6(DR6_RESET);
}

static void check_single_step(void)
{
	uint32_t ret, scratch = 0;
	set_interrupt_handler(VECTOR_DB, count_step);
	steps = 0;
	write_dr6(DR6_RESET);
	uint32_t leaf = 0;
	asm volatile(SINGLE_STEP("cpuid") : [ret] "=m"(ret), "+a"(leaf) : : "ebx", "ecx", "edx", "memory");
	expect_one_step("single-step over cpuid traps once after it", ret);
	asm volatile(SINGLE_STEP("outb %%al, %%dx") : [ret] "=m"(ret) : "a"(0x5a), "d"(TF_STEPPED_PORT) : "memory");
	expect_one_step("single-step over out traps once after it", ret);
	asm volatile(SINGLE_STEP("inb %%dx, %%al") : [ret] "=m"(ret), "=a"(scratch) : "d"(TF_STEPPED_PORT) : "memory");
	expect_one_step("single-step over in traps once after it", ret);
	asm volatile(SINGLE_STEP("rdmsr") : [ret] "=m"(ret) : "c"(MSR_PAT) : "eax", "edx", "memory");
	expect_one_step("single-step over rdmsr traps once after it", ret);
	asm volatile(SINGLE_STEP("movl (%[page]), %%eax")
		     : [ret] "=m"(ret) : [page] "r"(TESTDEV_SCRATCH_PA) : "eax", "memory");
	expect_one_step("single-step over an mmio read traps once after it", ret);
	asm volatile(SINGLE_STEP("wbinvd") : [ret] "=m"(ret) : : "memory");
	expect_one_step("single-step over wbinvd traps once after it", ret);
	set_interrupt_handler(VECTOR_DB, 0);
	(void)scratch;
}

/* ---- instructions this vCPU does not have ---- */

static void check_unavailable_instructions(void)
{
	struct cpuid_regs r;
	fault_clear();
	asm volatile(FAULT_GUARDED(".byte 0x0f, 0xaa") : : : "memory"); /* rsm */
	expect_fault("rsm outside smm #UD", VECTOR_UD, 0);
	cpuid(CPUID_EXT_FEATURES, 0, &r);
	if (!(r.edx & CPUID_EXT_EDX_RDTSCP)) {
		/* Intercepted: #UD. QEMU 7.2's nested SVM ignores the RDTSCP
		 * intercept; then it must at least not reveal a host TSC_AUX. */
		uint32_t aux = 0;
		fault_clear();
		asm volatile(FAULT_GUARDED("rdtscp") : "+c"(aux) : : "eax", "edx", "memory");
		check((last_fault.occurred && last_fault.vector == VECTOR_UD) || (!last_fault.occurred && aux == 0),
		      "rdtscp (not in cpuid) #UD or reveals no TSC_AUX", "vector %u, ecx 0x%x",
		      last_fault.occurred ? last_fault.vector : 0, aux);
	} else {
		report_fail("rdtscp (not in cpuid) #UD", "cpuid offers rdtscp, which Presidio hides");
	}
	if (running_on_presidio()) { /* native QEMU TCG raises #UD */
		fault_clear();
		asm volatile(FAULT_GUARDED("rdpmc") : : "c"(0) : "eax", "edx", "memory");
		expect_fault("rdpmc (no counters offered) #GP(0)", VECTOR_GP, 0);
	}
	fault_clear();
	asm volatile(FAULT_GUARDED("wbinvd") : : : "memory");
	check(!last_fault.occurred, "wbinvd completes", "vector %u", last_fault.vector);
	uint64_t value;
	check(!rdmsr_safe(MSR_DENIED, &value) && last_fault.vector == VECTOR_GP && last_fault.error_code == 0,
	      "rdmsr of an msr not offered #GP(0)", "vector %u", last_fault.vector);
}

void hostile_cpu_cases(void)
{
	check_xsetbv();
	check_cr4();
	check_cr0_and_efer();
	check_delivery_on_fresh_stacks();
	check_single_step();
	check_unavailable_instructions();
}
