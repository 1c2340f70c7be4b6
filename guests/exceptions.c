/*
 * exceptions: faults and traps the guest handles through its own IDT, with
 * the vector, error code, saved EIP (and CR2 for #PF) the architecture
 * defines, and execution resuming where the handler says.
 */
#include "gdt.h"
#include "interrupts.h"
#include "paging.h"
#include "report.h"
#include "x86.h"

#define SOFTWARE_VECTOR 0x80
#define DR6_BS (1u << 14)
#define DR6_CLEAR 0xffff0ff0u
#define SELECTOR_BEYOND_GDT 0x1230 /* TI=0, index past the GDT limit */
#define SELECTOR_NULL_LDT 0x1234   /* TI=1 while LDTR is null */
#define SELECTOR_ERROR_MASK 0xfffc /* error code = selector without RPL */

/* Virtual addresses for the #PF checks, all under our own page tables. */
#define VA_NO_TABLE 0x40000123u    /* directory entry not present */
#define VA_NO_PAGE 0x00700010u     /* table present, page not present */
#define VA_READ_ONLY 0x00600020u   /* present, not writable */
#define VA_FETCH_NO_PAGE 0x00701000u
#define PAGE_TABLES 4              /* identity 0-16 MiB */

const char guest_name[] = "exceptions";

struct trap_record {
	uint32_t count, vector, eip, cs, eax, dr6;
};

static volatile struct trap_record trap;

static void record_trap(struct interrupt_frame *f)
{
	trap.count++;
	trap.vector = f->vector;
	trap.eip = f->eip;
	trap.cs = f->cs;
	trap.eax = f->eax;
}

static void on_debug(struct interrupt_frame *f)
{
	record_trap(f);
	asm volatile("mov %%dr6, %0" : "=r"(trap.dr6));
	f->eflags &= ~EFLAGS_TF;
}

static void on_software_interrupt(struct interrupt_frame *f)
{
	record_trap(f);
	f->eax = ~f->eax;
}

static void trap_clear(void)
{
	trap.count = trap.vector = trap.eip = trap.cs = trap.eax = trap.dr6 = 0;
}

/* A trap-class event: handler ran once, saw this vector, and EIP after the instruction. */
static void expect_trap(const char *what, uint32_t vector, uint32_t next_eip)
{
	check(trap.count == 1 && trap.vector == vector && trap.eip == next_eip && trap.cs == SEL_CODE32,
	      what, "count %u vector %u eip 0x%x (expected 0x%x) cs 0x%x", trap.count, trap.vector,
	      trap.eip, next_eip, trap.cs);
}

static void check_divide_error(void)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("divl %%ecx") : : "a"(1), "d"(0), "c"(0) : "memory", "cc");
	expect_fault("div by zero #DE", VECTOR_DE, 0);
	fault_clear();
	asm volatile(FAULT_GUARDED("idivl %%ecx")
		     : : "a"(0x80000000u), "d"(0xffffffffu), "c"(-1) : "memory", "cc");
	expect_fault("idiv overflow #DE", VECTOR_DE, 0);
}

static void check_single_step(void)
{
	uint32_t next;
	trap_clear();
	asm volatile("mov %0, %%dr6" : : "r"(DR6_CLEAR));
	/* TF set by POPF traps after the instruction that follows it. */
	asm volatile("movl $1f, %0\n\t"
		     "pushfl\n\t"
		     "orl %1, (%%esp)\n\t"
		     "popfl\n\t"
		     "nop\n"
		     "1:"
		     : "=&r"(next)
		     : "i"(EFLAGS_TF)
		     : "memory", "cc");
	expect_trap("single step #DB", VECTOR_DB, next);
	check(trap.dr6 & DR6_BS, "single step sets dr6.bs", "dr6 0x%x", trap.dr6);
}

static void check_breakpoint_and_overflow(void)
{
	uint32_t next;
	trap_clear();
	asm volatile("movl $1f, %0\n\tint3\n1:" : "=r"(next) : : "memory");
	expect_trap("int3 #BP resumes after int3", VECTOR_BP, next);

	trap_clear();
	asm volatile("movl $1f, %0\n\t"
		     "movl $0x7fffffff, %%eax\n\t"
		     "addl $1, %%eax\n\t"
		     "into\n"
		     "1:"
		     : "=r"(next) : : "eax", "memory", "cc");
	expect_trap("into with of=1 #OF", VECTOR_OF, next);
}

static void check_software_interrupt(void)
{
	uint32_t next, eax = 0x12345678, ebx = 0xcafebabe;
	trap_clear();
	asm volatile("movl $1f, %0\n\tint %3\n1:"
		     : "=&r"(next), "+a"(eax), "+b"(ebx)
		     : "i"(SOFTWARE_VECTOR)
		     : "memory");
	expect_trap("int 0x80 returns after int", SOFTWARE_VECTOR, next);
	check(eax == ~0x12345678u && ebx == 0xcafebabe, "int 0x80 handler result in eax",
	      "eax 0x%x ebx 0x%x", eax, ebx);
}

static void check_invalid_opcode(void)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("ud2") : : : "memory");
	expect_fault("ud2 #UD", VECTOR_UD, 0);
}

static void load_ds_guarded(uint16_t selector)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("movw %w0, %%ds") "movw %w1, %%ds"
		     : : "r"(selector), "r"(SEL_DATA32) : "memory");
}

static void check_segment_faults(void)
{
	load_ds_guarded(SELECTOR_BEYOND_GDT);
	expect_fault("mov ds, selector past gdt limit #GP(sel)", VECTOR_GP,
		     SELECTOR_BEYOND_GDT & SELECTOR_ERROR_MASK);
	load_ds_guarded(SELECTOR_NULL_LDT);
	expect_fault("mov ds, ldt selector with null ldtr #GP(sel)", VECTOR_GP,
		     SELECTOR_NULL_LDT & SELECTOR_ERROR_MASK);
	load_ds_guarded(SEL_DATA_NOT_PRESENT);
	expect_fault("mov ds, not-present segment #NP(sel)", VECTOR_NP, SEL_DATA_NOT_PRESENT);
}

static void check_null_far_jump(void)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("ljmp $0, $8802f") : : : "memory");
	expect_fault("far jmp to null selector #GP(0)", VECTOR_GP, 0);
}

static struct page_table32 directory;
static struct page_table32 tables[PAGE_TABLES];

static void build_page_tables(void)
{
	for (uint32_t i = 0; i < PAGE_TABLES; i++)
		pt32_identity_table(&directory, &tables[i], i * LARGE_PAGE_SIZE_32);
	*pt32_pte(&directory, VA_NO_PAGE) = 0;
	*pt32_pte(&directory, VA_FETCH_NO_PAGE) = 0;
	*pt32_pte(&directory, VA_READ_ONLY) &= ~PTE_WRITABLE;
}

static void expect_page_fault(const char *what, uint32_t error_code, uint32_t address)
{
	if (expect_fault(what, VECTOR_PF, error_code))
		check_u32(name("%s cr2", what), last_fault.cr2, address);
}

static void guarded_read(uint32_t va)
{
	uint32_t v;
	fault_clear();
	asm volatile(FAULT_GUARDED("movl (%1), %0") : "=r"(v) : "r"(va) : "memory");
}

static void guarded_write(uint32_t va, uint32_t v)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("movl %0, (%1)") : : "r"(v), "r"(va) : "memory");
}

static void check_fetch_fault(void)
{
	fault_clear();
	asm volatile(FAULT_GUARDED("jmp *%0") : : "r"(VA_FETCH_NO_PAGE) : "memory");
	/* Without NX the I/D bit is not defined (SDM 4.7, APM 8.4.2): ignore it. */
	check(last_fault.occurred && last_fault.vector == VECTOR_PF &&
		      (last_fault.error_code & ~PF_ERROR_FETCH) == 0 && last_fault.eip == VA_FETCH_NO_PAGE &&
		      last_fault.cr2 == VA_FETCH_NO_PAGE,
	      "fetch from not-present page #PF", "occurred %u vector %u error 0x%x eip 0x%x cr2 0x%x",
	      last_fault.occurred, last_fault.vector, last_fault.error_code, last_fault.eip, last_fault.cr2);
}

static void check_page_faults(void)
{
	build_page_tables();
	paging_enable((uint32_t)&directory, 0, CR0_WP);

	guarded_read(VA_NO_TABLE);
	expect_page_fault("read, no page table #PF", 0, VA_NO_TABLE);
	guarded_write(VA_NO_TABLE, 1);
	expect_page_fault("write, no page table #PF", PF_ERROR_WRITE, VA_NO_TABLE);
	guarded_read(VA_NO_PAGE);
	expect_page_fault("read, page not present #PF", 0, VA_NO_PAGE);
	guarded_write(VA_READ_ONLY, 1);
	expect_page_fault("write, read-only page with cr0.wp #PF", PF_ERROR_PRESENT | PF_ERROR_WRITE,
			  VA_READ_ONLY);
	check_fetch_fault();

	write_cr0(read_cr0() & ~CR0_WP);
	guarded_write(VA_READ_ONLY, 0x600df00d);
	if (expect_no_fault("write, read-only page without cr0.wp"))
		check_u32("write, read-only page without cr0.wp", read32(VA_READ_ONLY), 0x600df00d);
	paging_disable();
}

void guest_main(void)
{
	set_interrupt_handler(VECTOR_DB, on_debug);
	set_interrupt_handler(VECTOR_BP, record_trap);
	set_interrupt_handler(VECTOR_OF, record_trap);
	set_interrupt_handler(SOFTWARE_VECTOR, on_software_interrupt);

	check_divide_error();
	check_single_step();
	check_breakpoint_and_overflow();
	check_software_interrupt();
	check_invalid_opcode();
	check_segment_faults();
	check_null_far_jump();
	check_page_faults();
}
