/* FPU state switching with XSAVE (or FXSAVE on CPUs without it). */
#include "arch/x86/fpu.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/trap.h"
#include "lib/string.h"
#include "vmm/host.h"
#include "vmm/vm.h"

#define CPUID_LEAF_XSTATE 0xd
#define FXSAVE_MXCSR_OFFSET 24
#define MXCSR_DEFAULT 0x1f80
#define FCW_DEFAULT 0x037f
#define XSAVE_HEADER_OFFSET 512

static u64 supported_xcr0 = XCR0_X87 | XCR0_SSE;

static inline void xsetbv(u32 index, u64 value)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((u32)value), "d"((u32)(value >> 32)));
}

static inline u64 xgetbv(u32 index)
{
	u32 lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return (u64)hi << 32 | lo;
}

/* XSETBV that reports a #GP instead of taking it. */
static bool xsetbv_safe(u32 index, u64 value)
{
	bool ok;
	__asm__ volatile(EXTABLE_GUARDED("xsetbv", "%0")
			 : "=r"(ok)
			 : "c"(index), "a"((u32)value), "d"((u32)(value >> 32))
			 : "memory");
	return ok;
}

void fpu_cpu_init(void)
{
	u64 cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (cpu_features.xsave) {
		cr4 |= CR4_OSXSAVE;
		struct cpuid_regs r = cpuid(CPUID_LEAF_XSTATE, 0);
		supported_xcr0 = (((u64)r.edx << 32) | r.eax) & XCR0_SWITCHED;
		/* ECX: the XSAVE area size for everything the CPU supports. */
		if (r.ecx > FPU_AREA_SIZE)
			supported_xcr0 &= XCR0_X87 | XCR0_SSE | XCR0_AVX;
	}
	write_cr4(cr4);
	if (cpu_features.xsave)
		xsetbv(0, supported_xcr0);
}

u64 host_xcr0_supported(void) { return cpu_features.xsave ? supported_xcr0 : 0; }

void fpu_area_init(u8 *area)
{
	memset(area, 0, FPU_AREA_SIZE);
	/* For FXRSTOR (no XSAVE) the legacy area itself must hold sane values. */
	area[0] = FCW_DEFAULT & 0xff;
	area[1] = FCW_DEFAULT >> 8;
	u32 mxcsr = MXCSR_DEFAULT;
	memcpy(area + FXSAVE_MXCSR_OFFSET, &mxcsr, sizeof(mxcsr));
}

/* The guest's XSETBV, after vmm/cr_rules.c accepted the value. The host
 * executes it, so a value the CPU still refuses (a rule missed, an
 * erratum) is the guest's #GP, never a hypervisor fault. */
int host_set_guest_xcr0(struct vcpu *v, u64 xcr0)
{
	if (!cpu_features.xsave || (xcr0 & ~supported_xcr0) || !xsetbv_safe(0, xcr0))
		return -1;
	v->xcr0 = xcr0;
	return 0;
}

void fpu_load(const u8 *area, u64 xcr0)
{
	if (cpu_features.xsave) {
		xsetbv(0, supported_xcr0);
		__asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"((u32)supported_xcr0),
				 "d"((u32)(supported_xcr0 >> 32)) : "memory");
		xsetbv(0, xcr0 ? xcr0 : XCR0_X87);
	} else {
		__asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
	}
}

/* Returns the XCR0 the vCPU had: read back from the CPU rather than taken
 * from the vCPU, because an XSETBV the CPU underneath did not intercept
 * (QEMU TCG's nested SVM runs it in the guest) changed it behind our back;
 * restoring a stale value would take AVX away from a guest that enabled it. */
u64 fpu_save(u8 *area)
{
	if (!cpu_features.xsave) {
		__asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory");
		return 0;
	}
	u64 live = xgetbv(0);
	xsetbv(0, supported_xcr0);
	__asm__ volatile("xsave64 (%0)" ::"r"(area), "a"((u32)supported_xcr0),
			 "d"((u32)(supported_xcr0 >> 32)) : "memory");
	return live;
}
