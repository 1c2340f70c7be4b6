/*
 * taskswitch: a far JMP to a 32-bit TSS (SDM Vol. 3A 7.3). AMD-V performs
 * the task switch in hardware, and the guest reports from the new task.
 * VT-x exits on every task switch; Presidio does not emulate them yet and
 * must stop this VM alone, naming the selector and the source (JMP).
 */
#include "gdt.h"
#include "report.h"
#include "x86.h"

#define SEL_TSS_OLD 0x30
#define SEL_TSS_NEW 0x38
#define TASK_GDT_ENTRIES 8
#define TSS_ACCESS_AVAILABLE_32 0x89 /* present, DPL 0, type 9 */
#define TSS_LIMIT (sizeof(struct tss32) - 1)
#define STACK_SIZE 4096

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
static struct tss32 old_task, new_task;
static uint8_t new_task_stack[STACK_SIZE] __attribute__((aligned(16)));

static uint64_t tss_descriptor(const struct tss32 *tss)
{
	uint32_t base = (uint32_t)tss;
	return (TSS_LIMIT & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)TSS_ACCESS_AVAILABLE_32 << 40) | ((uint64_t)(base >> 24) << 56);
}

static uint16_t task_register(void)
{
	uint16_t tr;
	asm volatile("str %0" : "=r"(tr));
	return tr;
}

static void in_new_task(void)
{
	check(task_register() == SEL_TSS_NEW, "jmp to a tss switched to the new task", "tr 0x%x",
	      task_register());
	check(old_task.eip != 0, "the old task's state was saved in its tss", "eip 0");
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
	task_gdt[SEL_TSS_NEW / 8] = tss_descriptor(&new_task);
	struct pseudo_descriptor task_gdtr = { sizeof(task_gdt) - 1, (uint32_t)task_gdt };
	asm volatile("lgdt %0\n\tltr %w1" : : "m"(task_gdtr), "r"(SEL_TSS_OLD) : "memory");

	new_task = (struct tss32){
		.cr3 = read_cr3(), .eip = (uint32_t)in_new_task, .eflags = EFLAGS_RESERVED_ONE,
		.esp = (uint32_t)(new_task_stack + STACK_SIZE), .cs = SEL_CODE32, .ss = SEL_DATA32,
		.ds = SEL_DATA32, .es = SEL_DATA32, .fs = SEL_DATA32, .gs = SEL_DATA32,
		.io_map = sizeof(struct tss32),
	};
	old_task.io_map = sizeof(struct tss32);
	asm volatile("ljmp %0, $0" : : "i"(SEL_TSS_NEW) : "memory");
	report_fail("jmp to a tss switched to the new task", "execution continued in the old task");
}
