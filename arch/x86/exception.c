/*
 * Hypervisor exceptions: fix up expected faults (rdmsr_safe...), otherwise
 * print everything we know and halt. Guests never reach this code.
 */
#include "arch/x86/trap.h"
#include "arch/x86/cpu.h"
#include "arch/x86/percpu.h"
#include "arch/x86/smp.h"
#include "lib/print.h"
#include "drivers/console.h"

#define BACKTRACE_MAX_FRAMES 16

extern const struct extable_entry __extable_start[], __extable_end[];
extern const u8 __image_start[], __image_end[];

static const char *const exception_names[32] = {
	[VEC_DE] = "#DE divide error", [VEC_DB] = "#DB debug", [VEC_NMI] = "NMI",
	[VEC_BP] = "#BP breakpoint", [VEC_OF] = "#OF overflow", [VEC_BR] = "#BR bound range",
	[VEC_UD] = "#UD invalid opcode", [VEC_NM] = "#NM device not available",
	[VEC_DF] = "#DF double fault", [VEC_TS] = "#TS invalid TSS",
	[VEC_NP] = "#NP segment not present", [VEC_SS] = "#SS stack fault",
	[VEC_GP] = "#GP general protection", [VEC_PF] = "#PF page fault",
	[VEC_MF] = "#MF x87 error", [VEC_AC] = "#AC alignment check",
	[VEC_MC] = "#MC machine check", [VEC_XM] = "#XM SIMD exception",
	[VEC_VE] = "#VE virtualization exception", [VEC_CP] = "#CP control protection",
	[VEC_HV] = "#HV hypervisor injection", [VEC_VC] = "#VC VMM communication",
	[VEC_SX] = "#SX security exception",
};

static bool extable_fixup(struct trap_frame *f)
{
	for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
		if (e->fault_rip == f->rip) {
			f->rip = e->fixup_rip;
			return true;
		}
	}
	return false;
}

/* Frame pointers are followed only while they stay inside the image's
 * stacks or the identity-mapped low memory and keep growing upward. */
void print_backtrace(u64 rbp)
{
	kprintf("backtrace (resolve with: addr2line -fe build/presidio.elf ADDR):\n");
	for (int i = 0; i < BACKTRACE_MAX_FRAMES && rbp; i++) {
		if (!IS_ALIGNED(rbp, 8) || rbp < PAGE_SIZE || rbp > 4 * GiB - 16)
			break;
		const u64 *frame = (const u64 *)rbp;
		u64 ret = frame[1];
		kprintf("  #%d 0x%016llx%s\n", i, (unsigned long long)ret,
			(ret >= (u64)__image_start && ret < (u64)__image_end) ? "" : " (outside image)");
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
}

static void print_frame(const struct trap_frame *f)
{
	kprintf("  RIP %016llx  CS %04llx  RFLAGS %016llx\n", (unsigned long long)f->rip,
		(unsigned long long)f->cs, (unsigned long long)f->rflags);
	kprintf("  RSP %016llx  SS %04llx  error code %016llx\n", (unsigned long long)f->rsp,
		(unsigned long long)f->ss, (unsigned long long)f->error_code);
	kprintf("  RAX %016llx  RBX %016llx  RCX %016llx\n", (unsigned long long)f->rax,
		(unsigned long long)f->rbx, (unsigned long long)f->rcx);
	kprintf("  RDX %016llx  RSI %016llx  RDI %016llx\n", (unsigned long long)f->rdx,
		(unsigned long long)f->rsi, (unsigned long long)f->rdi);
	kprintf("  RBP %016llx  R8  %016llx  R9  %016llx\n", (unsigned long long)f->rbp,
		(unsigned long long)f->r8, (unsigned long long)f->r9);
	kprintf("  R10 %016llx  R11 %016llx  R12 %016llx\n", (unsigned long long)f->r10,
		(unsigned long long)f->r11, (unsigned long long)f->r12);
	kprintf("  R13 %016llx  R14 %016llx  R15 %016llx\n", (unsigned long long)f->r13,
		(unsigned long long)f->r14, (unsigned long long)f->r15);
	kprintf("  CR0 %016llx  CR2 %016llx  CR3 %016llx  CR4 %016llx\n",
		(unsigned long long)read_cr0(), (unsigned long long)read_cr2(),
		(unsigned long long)read_cr3(), (unsigned long long)read_cr4());
}

static NORETURN void fatal_exception(struct trap_frame *f)
{
	panic_stop_other_cpus();
	const char *name = f->vector < 32 ? exception_names[f->vector] : NULL;
	kprintf("\n(presidio) EXCEPTION: vector %llu (%s) on CPU %u\n",
		(unsigned long long)f->vector, name ? name : "reserved",
		this_cpu() ? this_cpu()->index : 0);
	if (f->vector == VEC_PF)
		kprintf("  page fault at %016llx: %s, %s, %s mode%s\n",
			(unsigned long long)read_cr2(),
			(f->error_code & 1) ? "protection violation" : "not present",
			(f->error_code & 2) ? "write" : "read",
			(f->error_code & 4) ? "user" : "supervisor",
			(f->error_code & 16) ? ", instruction fetch" : "");
	print_frame(f);
	print_backtrace(f->rbp);
	kprintf("(presidio) hypervisor fault: halting all CPUs\n");
	halt_all_cpus();
}

static interrupt_handler handlers[IDT_VECTORS];

void idt_set_handler(unsigned vector, interrupt_handler handler)
{
	if (vector >= VEC_FIRST_EXTERNAL && vector < IDT_VECTORS)
		handlers[vector] = handler;
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector < IDT_VECTORS && handlers[f->vector]) {
		handlers[f->vector](f);
		return;
	}
	if (f->vector == VEC_GP && extable_fixup(f))
		return;
	if (f->vector == VEC_NMI && smp_panic_nmi())
		return;
	if (f->vector < VEC_FIRST_EXTERNAL) {
		fatal_exception(f);
	}
	log_printf(LOG_WARN, "unexpected interrupt vector %llu; ignored",
		   (unsigned long long)f->vector);
}

NORETURN void halt_all_cpus(void)
{
	/* panic_stop_other_cpus() already stopped the others. */
	cpu_halt_forever();
}

bool rdmsr_safe(u32 msr, u64 *value)
{
	u32 lo = 0, hi = 0;
	bool ok;
	__asm__ volatile(EXTABLE_GUARDED("rdmsr", "%2") : "=a"(lo), "=d"(hi), "=r"(ok) : "c"(msr));
	*value = ((u64)hi << 32) | lo;
	return ok;
}

bool wrmsr_safe(u32 msr, u64 value)
{
	bool ok;
	__asm__ volatile(EXTABLE_GUARDED("wrmsr", "%0")
			 : "=r"(ok)
			 : "c"(msr), "a"((u32)value), "d"((u32)(value >> 32))
			 : "memory");
	return ok;
}
