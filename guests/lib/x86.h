/* Thin wrappers for the x86 instructions the test guests use. */
#ifndef GUEST_X86_H
#define GUEST_X86_H

#include <stdbool.h>
#include <stdint.h>

#define EFLAGS_CF (1u << 0)
#define EFLAGS_RESERVED_ONE (1u << 1)
#define EFLAGS_PF (1u << 2)
#define EFLAGS_AF (1u << 4)
#define EFLAGS_ZF (1u << 6)
#define EFLAGS_SF (1u << 7)
#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_DF (1u << 10)
#define EFLAGS_OF (1u << 11)
#define EFLAGS_ARITH (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)

#define CR0_PE (1u << 0)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_VMXE (1u << 13)

#define MSR_EFER 0xc0000080u
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_SVME (1ull << 12)

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t inw(uint16_t port)
{
	uint16_t v;
	asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outb(uint16_t port, uint8_t v)
{
	asm volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	asm volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	asm volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline void cpuid(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r)
{
	asm volatile("cpuid"
		     : "=a"(r->eax), "=b"(r->ebx), "=c"(r->ecx), "=d"(r->edx)
		     : "a"(leaf), "c"(subleaf));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;
	asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* RDTSC that neither starts before earlier instructions finish nor lets
 * later ones start before it. */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* read_cr0()/write_cr0() ... and read_dr0()/write_dr0() ... */
#define DEFINE_REGISTER_ACCESSORS(reg)                                       \
	static inline uint32_t read_##reg(void)                              \
	{                                                                    \
		uint32_t v;                                                  \
		asm volatile("mov %%" #reg ", %0" : "=r"(v));                \
		return v;                                                    \
	}                                                                    \
	static inline void write_##reg(uint32_t v)                           \
	{                                                                    \
		asm volatile("mov %0, %%" #reg : : "r"(v) : "memory");       \
	}
DEFINE_REGISTER_ACCESSORS(cr0)
DEFINE_REGISTER_ACCESSORS(cr2)
DEFINE_REGISTER_ACCESSORS(cr3)
DEFINE_REGISTER_ACCESSORS(cr4)
DEFINE_REGISTER_ACCESSORS(dr0)
DEFINE_REGISTER_ACCESSORS(dr1)
DEFINE_REGISTER_ACCESSORS(dr2)
DEFINE_REGISTER_ACCESSORS(dr3)
DEFINE_REGISTER_ACCESSORS(dr6)
DEFINE_REGISTER_ACCESSORS(dr7)
#undef DEFINE_REGISTER_ACCESSORS

static inline uint32_t read_eflags(void)
{
	uint32_t v;
	asm volatile("pushfl\n\tpopl %0" : "=r"(v));
	return v;
}

static inline void cli(void)
{
	asm volatile("cli" : : : "memory");
}

static inline void sti(void)
{
	asm volatile("sti" : : : "memory");
}

static inline void invlpg(uint32_t va)
{
	asm volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void pause(void)
{
	asm volatile("pause");
}

/* Physical memory accessors; with paging off, pointer == physical address. */
static inline uint8_t read8(uint32_t a) { return *(volatile uint8_t *)a; }
static inline uint16_t read16(uint32_t a) { return *(volatile uint16_t *)a; }
static inline uint32_t read32(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void write8(uint32_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static inline void write16(uint32_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static inline void write32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

#endif
