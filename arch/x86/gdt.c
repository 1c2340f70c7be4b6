/* Per-CPU GDT with a TSS carrying IST stacks for NMI, #DF and #MC. */
#include "arch/x86/gdt.h"
#include "arch/x86/percpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"

/* Descriptor bits (SDM Vol. 3A 3.4.5) */
#define DESC_ACCESSED BIT(40)
#define DESC_RW BIT(41)
#define DESC_EXEC BIT(43)
#define DESC_CODE_DATA BIT(44)
#define DESC_PRESENT BIT(47)
#define DESC_LONG BIT(53)
#define DESC_DB BIT(54)
#define DESC_GRAN BIT(55)
#define DESC_LIMIT_MAX (0xffffULL | (0xfULL << 48))
#define DESC_TYPE_TSS_AVAILABLE (0x9ULL << 40)

static struct percpu boot_cpu;
static u8 boot_ist_stacks[IST_COUNT][IST_STACK_SIZE] __attribute__((aligned(16)));

static void tss_descriptor(u64 *slot, const struct tss64 *tss)
{
	u64 base = (u64)tss;
	u64 limit = sizeof(*tss) - 1;
	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | DESC_TYPE_TSS_AVAILABLE |
		  DESC_PRESENT | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

void gdt_load(struct percpu *cpu)
{
	cpu->gdt[GDT_NULL] = 0;
	cpu->gdt[GDT_CODE64] = DESC_LIMIT_MAX | DESC_ACCESSED | DESC_RW | DESC_EXEC |
			       DESC_CODE_DATA | DESC_PRESENT | DESC_LONG | DESC_GRAN;
	cpu->gdt[GDT_DATA] = DESC_LIMIT_MAX | DESC_ACCESSED | DESC_RW | DESC_CODE_DATA |
			     DESC_PRESENT | DESC_DB | DESC_GRAN;
	for (int i = 1; i <= IST_COUNT; i++)
		cpu->tss.ist[i] = (u64)cpu->ist_stack_top[i];
	cpu->tss.iomap_base = sizeof(cpu->tss); /* no I/O bitmap */
	tss_descriptor(&cpu->gdt[GDT_TSS], &cpu->tss);

	struct descriptor_pointer gdtr = { sizeof(cpu->gdt) - 1, (u64)cpu->gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%ds\n\t"
			 "mov %2, %%es\n\t"
			 "mov %2, %%ss\n\t"
			 "ltr %w3"
			 :
			 : "m"(gdtr), "i"(SELECTOR_CODE64), "r"(SELECTOR_DATA), "r"(SELECTOR_TSS)
			 : "rax", "memory");
}

void percpu_init(struct percpu *cpu)
{
	cpu->self = cpu;
	gdt_load(cpu);
	wrmsr(MSR_GS_BASE, (u64)cpu);
}

void percpu_init_boot_cpu(void)
{
	struct percpu *cpu = &boot_cpu;
	cpu->index = 0;
	for (int i = 1; i <= IST_COUNT; i++)
		cpu->ist_stack_top[i] = boot_ist_stacks[i - 1] + IST_STACK_SIZE;
	percpu_init(cpu);
}
