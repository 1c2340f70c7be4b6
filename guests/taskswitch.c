/*
 * taskswitch: hardware task switches with 32-bit TSSs (SDM Vol. 3A 7.3):
 * a far JMP to a TSS, a far CALL to a TSS and IRET back through the back
 * link (twice: the second CALL resumes the called task after its IRET),
 * and a real double fault (#DE whose IDT gate is not present raises #NP:
 * two contributory faults) delivered through a task gate in the IDT, whose
 * handler task finds the error code 0 on its stack and returns with IRET
 * past the faulting instruction. AMD-V switches tasks in hardware; VT-x
 * exits on each switch and Presidio emulates it (vmm/task_switch.c).
 */
#include "gdt.h"
#include "report.h"
#include "x86.h"

#define SEL_TSS_OLD 0x30    /* the boot task, left with JMP */
#define SEL_TSS_MAIN 0x38   /* the task the checks run in */
#define SEL_TSS_CALLED 0x40 /* reached with CALL, returns with IRET */
#define SEL_TSS_DF 0x48     /* the #DF handler, behind a task gate */
#define TASK_GDT_ENTRIES 10
#define TSS_ACCESS_AVAILABLE_32 0x89 /* present, DPL 0, type 9 */
#define TSS_BUSY_BIT 41              /* type bit 1 of a TSS descriptor */
#define TASK_GATE_ACCESS 0x85        /* present, DPL 0, type 5 */
#define TSS_LIMIT (sizeof(struct tss32) - 1)
#define STACK_SIZE 4096
#define EFLAGS_NT (1u << 14)
#define CR0_TS (1u << 3)
#define VECTOR_DE 0
#define VECTOR_DF 8

const char guest_name[] = "taskswitch";

struct __attribute__((packed)) tss32 {
	uint16_t link, reserved0;
	uint32_t esp0;
	uint16_t ss0, reserved1;
	uint32_t esp1;
	uint16_t ss1, reserved2;
	uint32_t esp2;
	uint16_t ss2, reserved3;
	uint32_t cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, reserved4, cs, reserved5, ss, reserved6, ds, reserved7, fs, reserved8, gs, reserved9;
	uint16_t ldt, reserved10, trap, io_map;
};
_Static_assert(sizeof(struct tss32) == 104, "SDM Vol. 3A Figure 7-2");

struct __attribute__((packed)) pseudo_descriptor {
	uint16_t limit;
	uint32_t base;
};

static uint64_t task_gdt[TASK_GDT_ENTRIES] __attribute__((aligned(8)));
static struct tss32 old_task, main_task, called_task, df_task;
static uint8_t main_stack[STACK_SIZE] __attribute__((aligned(16)));
static uint8_t called_stack[STACK_SIZE] __attribute__((aligned(16)));
uint8_t df_stack[STACK_SIZE] __attribute__((aligned(16)));

/* What the called and #DF tasks saw, for the main task to check. */
static volatile uint32_t called_count, called_tr, called_eflags, called_link, called_saved_eip;
static volatile bool called_busy;
volatile uint32_t df_count, df_error_code, df_esp_at_entry;
static volatile uint32_t df_tr, df_eflags, df_link;

extern char after_task_call[], after_double_fault[];
void df_task_entry(void);

static uint64_t tss_descriptor(const struct tss32 *tss)
{
	uint32_t base = (uint32_t)tss;
	return (TSS_LIMIT & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)TSS_ACCESS_AVAILABLE_32 << 40) | ((uint64_t)(base >> 24) << 56);
}

static bool busy(uint16_t selector)
{
	return (task_gdt[selector / 8] >> TSS_BUSY_BIT) & 1;
}

static uint16_t task_register(void)
{
	uint16_t tr;
	asm volatile("str %0" : "=r"(tr));
	return tr;
}

static struct tss32 task(void (*entry)(void), uint8_t *stack)
{
	return (struct tss32){
		.cr3 = read_cr3(), .eip = (uint32_t)entry, .eflags = EFLAGS_RESERVED_ONE,
		.esp = (uint32_t)(stack + STACK_SIZE), .cs = SEL_CODE32, .ss = SEL_DATA32,
		.ds = SEL_DATA32, .es = SEL_DATA32, .fs = SEL_DATA32, .gs = SEL_DATA32,
		.io_map = sizeof(struct tss32),
	};
}

/* Each CALL resumes the called task after its IRET, so it loops. */
static void called_task_entry(void)
{
	for (;;) {
		called_count++;
		called_tr = task_register();
		called_eflags = read_eflags();
		called_link = called_task.link;
		called_busy = busy(SEL_TSS_MAIN) && busy(SEL_TSS_CALLED);
		called_saved_eip = main_task.eip;
		/* Clobber what the caller must get back from its TSS. */
		asm volatile("mov $0xdeadbeef, %%ebx\n\tmov $0xdeadbeef, %%esi\n\tmov $0xdeadbeef, %%edi\n\t"
			     "iret" : : : "ebx", "esi", "edi", "memory");
	}
}

/* The #DF task: the error code is the only thing on its stack. */
void df_task_work(void);
asm(".text\n"
    ".globl df_task_entry\n"
    "df_task_entry:\n\t"
    "movl %esp, df_esp_at_entry\n\t"
    "popl df_error_code\n\t"
    "call df_task_work\n\t"
    "iret\n\t"
    "jmp df_task_entry\n");

void df_task_work(void)
{
	df_count++;
	df_tr = task_register();
	df_eflags = read_eflags();
	df_link = df_task.link;
	/* IRET returns to the saved EIP: past the faulting DIV, not onto it. */
	main_task.eip = (uint32_t)after_double_fault;
}

static void call_and_iret(unsigned round)
{
	uint32_t ebx, esi, edi;
	asm volatile("mov $0x11111111, %%ebx\n\tmov $0x22222222, %%esi\n\tmov $0x33333333, %%edi\n\t"
		     "lcall %3, $0\n"
		     "after_task_call:\n\t"
		     "mov %%ebx, %0\n\tmov %%esi, %1\n\tmov %%edi, %2"
		     : "=m"(ebx), "=m"(esi), "=m"(edi)
		     : "i"(SEL_TSS_CALLED)
		     : "ebx", "esi", "edi", "memory");
	check(called_count == round, name("call %u to a tss ran the called task", round), "it ran %u times",
	      called_count);
	if (round == 1) {
		check_u32("call switched tr to the called task", called_tr, SEL_TSS_CALLED);
		check(called_eflags & EFLAGS_NT, "call sets nt in the called task", "eflags 0x%x", called_eflags);
		check_u32("call writes the back link into the called tss", called_link, SEL_TSS_MAIN);
		check(called_busy, "call leaves the caller busy and marks the called task busy", "not busy");
		check_u32("the caller's tss holds the eip after the call", called_saved_eip,
			  (uint32_t)after_task_call);
	}
	check(ebx == 0x11111111 && esi == 0x22222222 && edi == 0x33333333,
	      name("iret %u resumes the caller after the call with its registers", round),
	      "ebx 0x%x esi 0x%x edi 0x%x", ebx, esi, edi);
	check_u32(name("iret %u returned to the caller's task", round), task_register(), SEL_TSS_MAIN);
	check(!busy(SEL_TSS_CALLED) && busy(SEL_TSS_MAIN), name("iret %u clears the called task's busy bit", round),
	      "called %d main %d", busy(SEL_TSS_CALLED), busy(SEL_TSS_MAIN));
	check(!(read_eflags() & EFLAGS_NT), name("the caller's nt is clear again after iret %u", round),
	      "eflags 0x%x", read_eflags());
}

/* #DE with IDT[0] not present: #NP while delivering #DE, two contributory
 * faults, so #DF (SDM Vol. 3A Table 6-5), through the task gate at IDT[8]. */
static void double_fault_through_task_gate(void)
{
	struct pseudo_descriptor idtr;
	asm volatile("sidt %0" : "=m"(idtr));
	volatile uint64_t *idt = (volatile uint64_t *)idtr.base;
	uint64_t saved_de = idt[VECTOR_DE], saved_df = idt[VECTOR_DF];
	idt[VECTOR_DE] = 0;
	idt[VECTOR_DF] = ((uint64_t)TASK_GATE_ACCESS << 40) | ((uint64_t)SEL_TSS_DF << 16);
	asm volatile("xor %%eax, %%eax\n\txor %%edx, %%edx\n\txor %%ecx, %%ecx\n\t"
		     "divl %%ecx\n"
		     "after_double_fault:"
		     : : : "eax", "ecx", "edx", "memory");
	idt[VECTOR_DE] = saved_de;
	idt[VECTOR_DF] = saved_df;
	check_u32("a double fault ran the task behind the #df task gate", df_count, 1);
	check_u32("the #df task runs with its own tr", df_tr, SEL_TSS_DF);
	check_u32("#df through a task gate pushes error code 0 on the new task's stack", df_error_code, 0);
	check_u32("the error code is the only thing on the #df task's stack", df_esp_at_entry,
		  (uint32_t)(df_stack + STACK_SIZE - 4));
	check(df_eflags & EFLAGS_NT, "a task gate sets nt in the new task", "eflags 0x%x", df_eflags);
	check_u32("a task gate writes the back link", df_link, SEL_TSS_MAIN);
	check_u32("iret from the #df task returned to the interrupted task", task_register(), SEL_TSS_MAIN);
	check(!busy(SEL_TSS_DF), "iret clears the #df task's busy bit", "still busy");
}

static void in_main_task(void)
{
	check(task_register() == SEL_TSS_MAIN, "jmp to a tss switched to the new task", "tr 0x%x",
	      task_register());
	check(old_task.eip != 0, "the old task's state was saved in its tss", "eip 0");
	check(!busy(SEL_TSS_OLD) && busy(SEL_TSS_MAIN), "jmp clears the old task's busy bit and sets the new one's",
	      "old %d new %d", busy(SEL_TSS_OLD), busy(SEL_TSS_MAIN));
	check(!(read_eflags() & EFLAGS_NT), "jmp leaves nt clear", "eflags 0x%x", read_eflags());
	check(read_cr0() & CR0_TS, "a task switch sets cr0.ts", "cr0 0x%x", read_cr0());
	asm volatile("clts");
	call_and_iret(1);
	call_and_iret(2);
	double_fault_through_task_gate();
	report_done();
}

void guest_main(void)
{
	struct pseudo_descriptor gdtr;
	asm volatile("sgdt %0" : "=m"(gdtr));
	const uint64_t *current = (const uint64_t *)gdtr.base;
	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		task_gdt[i] = current[i];
	task_gdt[SEL_TSS_OLD / 8] = tss_descriptor(&old_task);
	task_gdt[SEL_TSS_MAIN / 8] = tss_descriptor(&main_task);
	task_gdt[SEL_TSS_CALLED / 8] = tss_descriptor(&called_task);
	task_gdt[SEL_TSS_DF / 8] = tss_descriptor(&df_task);
	struct pseudo_descriptor task_gdtr = { sizeof(task_gdt) - 1, (uint32_t)task_gdt };
	asm volatile("lgdt %0\n\tltr %w1" : : "m"(task_gdtr), "r"(SEL_TSS_OLD) : "memory");

	main_task = task(in_main_task, main_stack);
	called_task = task(called_task_entry, called_stack);
	df_task = task(df_task_entry, df_stack);
	old_task.io_map = sizeof(struct tss32);
	asm volatile("ljmp %0, $0" : : "i"(SEL_TSS_MAIN) : "memory");
	report_fail("jmp to a tss switched to the new task", "execution continued in the old task");
}
