/*
 * Architectural constants (control registers, EFER, XCR0, RFLAGS, debug
 * registers, exception vectors), defined once for every layer, and thin
 * wrappers around x86 instructions the hypervisor itself uses. The
 * constants are usable from assembly too (boot/entry.S, arch/x86/ap_boot.S).
 */
#pragma once
#ifdef __ASSEMBLER__
#define BIT(n) (1 << (n))
#else
#include "lib/types.h"
#endif

/* CR0 (SDM Vol. 3A 2.5) */
#define CR0_PE BIT(0)
#define CR0_MP BIT(1)
#define CR0_EM BIT(2)
#define CR0_TS BIT(3)
#define CR0_ET BIT(4)
#define CR0_NE BIT(5)
#define CR0_WP BIT(16)
#define CR0_AM BIT(18)
#define CR0_NW BIT(29)
#define CR0_CD BIT(30)
#define CR0_PG BIT(31)

/* CR4 (SDM Vol. 3A 2.5) */
#define CR4_VME BIT(0)
#define CR4_PVI BIT(1)
#define CR4_TSD BIT(2)
#define CR4_DE BIT(3)
#define CR4_PSE BIT(4)
#define CR4_PAE BIT(5)
#define CR4_MCE BIT(6)
#define CR4_PGE BIT(7)
#define CR4_PCE BIT(8)
#define CR4_OSFXSR BIT(9)
#define CR4_OSXMMEXCPT BIT(10)
#define CR4_UMIP BIT(11)
#define CR4_LA57 BIT(12)
#define CR4_VMXE BIT(13)
#define CR4_SMXE BIT(14)
#define CR4_FSGSBASE BIT(16)
#define CR4_PCIDE BIT(17)
#define CR4_OSXSAVE BIT(18)
#define CR4_KL BIT(19)
#define CR4_SMEP BIT(20)
#define CR4_SMAP BIT(21)
#define CR4_PKE BIT(22)
#define CR4_CET BIT(23)
#define CR4_PKS BIT(24)
#define CR4_UINTR BIT(25)
#define CR4_LAM_SUP BIT(28)
#define CR3_PCID_MASK 0xfffULL

/* EFER (SDM Vol. 3A 2.2.1, APM Vol. 2 3.1.7) */
#define EFER_SCE BIT(0)
#define EFER_LME BIT(8)
#define EFER_LMA BIT(10)
#define EFER_NXE BIT(11)
#define EFER_SVME BIT(12)

/* XCR0 state components (SDM Vol. 1 13.1) */
#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_BNDREGS BIT(3)
#define XCR0_BNDCSR BIT(4)
#define XCR0_OPMASK BIT(5)
#define XCR0_ZMM_HI256 BIT(6)
#define XCR0_HI16_ZMM BIT(7)
#define XCR0_PKRU BIT(9)
#define XCR0_TILECFG BIT(17)
#define XCR0_TILEDATA BIT(18)
#define XCR0_AVX512 (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)

/* RFLAGS (SDM Vol. 1 3.4.3) */
#define RFLAGS_CF BIT(0)
#define RFLAGS_RESERVED_ONE BIT(1) /* always reads 1 */
#define RFLAGS_PF BIT(2)
#define RFLAGS_AF BIT(4)
#define RFLAGS_ZF BIT(6)
#define RFLAGS_SF BIT(7)
#define RFLAGS_TF BIT(8)
#define RFLAGS_IF BIT(9)
#define RFLAGS_DF BIT(10)
#define RFLAGS_OF BIT(11)
#define RFLAGS_NT BIT(14) /* nested task: IRET returns through the back link */
#define RFLAGS_VM BIT(17) /* virtual-8086 mode */

/* Debug registers (SDM Vol. 3B 18.2): values at reset, DR6 status bits */
#define DR6_RESET 0xffff0ff0ULL
#define DR7_RESET 0x400ULL
#define DR6_BS BIT(14)
#define DR6_BT BIT(15) /* task-switch debug trap */
#define DEBUG_ADDRESS_REGISTERS 4 /* DR0-DR3 */

#ifndef __ASSEMBLER__
/* Exception vectors (SDM Vol. 3A 6.3.1) */
enum exception_vector {
	VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5,
	VEC_UD = 6, VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12,
	VEC_GP = 13, VEC_PF = 14, VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19,
	VEC_VE = 20, VEC_CP = 21, VEC_HV = 28, VEC_VC = 29, VEC_SX = 30,
	VEC_FIRST_EXTERNAL = 32,
};

/* SDM Vol. 3A Table 6-5: contributory exceptions (two in a row make #DF). */
static inline bool exception_is_contributory(u8 vector)
{
	return vector == VEC_DE || (vector >= VEC_TS && vector <= VEC_GP);
}

/* What an exception raised while delivering another becomes (SDM Vol. 3A
 * Table 6-5): handled serially, a #DF, or, during #DF, a triple fault. */
enum exception_pair { EXCEPTIONS_SERIAL, EXCEPTIONS_DOUBLE_FAULT, EXCEPTIONS_TRIPLE_FAULT };

static inline enum exception_pair exception_pair(u8 first, u8 second)
{
	if (first == VEC_DF)
		return EXCEPTIONS_TRIPLE_FAULT;
	if ((exception_is_contributory(first) && exception_is_contributory(second)) ||
	    (first == VEC_PF && (second == VEC_PF || exception_is_contributory(second))))
		return EXCEPTIONS_DOUBLE_FAULT;
	return EXCEPTIONS_SERIAL;
}

struct cpuid_regs {
	u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
	struct cpuid_regs r;
	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline u64 rdmsr(u32 msr)
{
	u32 lo, hi;
	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 value)
{
	__asm__ volatile("wrmsr" ::"c"(msr), "a"((u32)value), "d"((u32)(value >> 32)));
}

/* rdmsr/wrmsr that return false instead of faulting (#GP is fixed up
 * through the exception table, see arch/x86/exception.c). */
bool rdmsr_safe(u32 msr, u64 *value);
bool wrmsr_safe(u32 msr, u64 value);

static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#define DEFINE_CR_ACCESS(n)                                                    \
	static inline u64 read_cr##n(void)                                     \
	{                                                                      \
		u64 v;                                                         \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));              \
		return v;                                                      \
	}                                                                      \
	static inline void write_cr##n(u64 v)                                  \
	{                                                                      \
		__asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory");       \
	}
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)

static inline u64 read_rflags(void)
{
	u64 f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f;
}

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }

static inline NORETURN void cpu_halt_forever(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* Sleeps until an interrupt arrives and lets its handler run. */
static inline void cpu_wait_for_interrupt(void) { __asm__ volatile("sti; hlt; cli" ::: "memory"); }
/* Lets interrupts that became pending while IF was clear be handled. */
static inline void cpu_service_interrupts(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }

/* DR0-DR3 belong to whichever vCPU is loaded: neither VM entry nor exit
 * switches them (the hypervisor itself sets no breakpoints). */
static inline void debug_address_registers_load(const u64 *dr)
{
	__asm__ volatile("mov %0, %%dr0\n\tmov %1, %%dr1\n\tmov %2, %%dr2\n\tmov %3, %%dr3"
			 ::"r"(dr[0]), "r"(dr[1]), "r"(dr[2]), "r"(dr[3]));
}

static inline void debug_address_registers_save(u64 *dr)
{
	__asm__ volatile("mov %%dr0, %0\n\tmov %%dr1, %1\n\tmov %%dr2, %2\n\tmov %%dr3, %3"
			 : "=r"(dr[0]), "=r"(dr[1]), "=r"(dr[2]), "=r"(dr[3]));
}

static inline void invlpg(u64 addr) { __asm__ volatile("invlpg (%0)" ::"r"(addr) : "memory"); }
#endif /* !__ASSEMBLER__ */
