/* The part of a vCPU both backends switch the same way (vcpu_common.h). */
#include "arch/x86/vcpu_common.h"
#include "arch/x86/cpu.h"
#include "arch/x86/fpu.h"
#include "arch/x86/msr.h"
#include "mm/frame.h"
#include "mm/phys.h"
#include "vmm/vm.h"

_Static_assert(FPU_AREA_SIZE == PAGE_SIZE, "the FPU area is one frame");

const u32 msr_passthrough[] = {
	MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE,
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
};
const unsigned msr_passthrough_count = ARRAY_SIZE(msr_passthrough);

int vcpu_common_create(struct vcpu *v)
{
	u64 pa = frame_alloc();
	if (!pa)
		return -1;
	v->fpu_state = phys_to_virt(pa);
	fpu_area_init(v->fpu_state);
	v->xcr0 = XCR0_X87;
	return 0;
}

void vcpu_common_destroy(struct vcpu *v)
{
	if (v->fpu_state)
		frame_free(virt_to_phys(v->fpu_state), 1);
	v->fpu_state = NULL;
}

void vcpu_common_load(struct vcpu *v)
{
	fpu_load(v->fpu_state, v->xcr0);
	debug_address_registers_load(v->debug_address);
}

void vcpu_common_put(struct vcpu *v)
{
	debug_address_registers_save(v->debug_address);
	/* 0: no XSAVE, so no XCR0 to keep. */
	u64 xcr0 = fpu_save(v->fpu_state);
	if (xcr0)
		v->xcr0 = xcr0;
}
