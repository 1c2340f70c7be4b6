/*
 * Per-CPU data, reached only through this_cpu() (GS base points at the
 * CPU's struct percpu, whose first field points at itself).
 */
#pragma once
#include "lib/types.h"
#include "arch/x86/gdt.h"

#define MAX_CPUS 64 /* = HOST_MAX_CPUS (vmm/host.h), checked in arch/x86/smp.c */
#define IST_STACK_SIZE (16 * 1024)

enum ist_index {
	IST_NMI = 1,
	IST_DOUBLE_FAULT = 2,
	IST_MACHINE_CHECK = 3,
	IST_COUNT = 3,
};

struct percpu {
	struct percpu *self; /* must stay first: this_cpu() reads %gs:0 */
	u32 index;
	u32 apic_id;
	struct tss64 tss;
	u64 gdt[GDT_ENTRIES] __attribute__((aligned(16)));
	u8 *ist_stack_top[IST_COUNT + 1];
	/* Hardware virtualization state of this CPU (backend-owned). */
	bool virt_enabled;
	u64 svm_host_save_pa;   /* VM_HSAVE_PA page */
	u64 svm_host_vmcb_pa;   /* host FS/GS/TR/LDTR/SYSCALL state for VMLOAD */
	u64 vmx_region_pa;      /* VMXON region */
};
_Static_assert(__builtin_offsetof(struct percpu, self) == 0, "this_cpu() reads %gs:0");

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(p));
	return p;
}

/* Makes 'cpu' the calling CPU's block: loads its GDT and TSS (with the IST
 * stacks in ist_stack_top[], index and apic_id filled by the caller) and
 * points GS base at it. */
void percpu_init(struct percpu *cpu);
/* The same for the boot CPU, with static storage (no heap yet). */
void percpu_init_boot_cpu(void);
