/*
 * INIT and start-up IPIs on the receiving vCPU (see vcpu_init.h).
 *
 * What INIT keeps (SDM 9.1.1 and Table 9-1): the MTRRs and PAT, the x87,
 * SSE and XSAVE state and XCR0, the TSC and IA32_MISC_ENABLE, CR0.CD/NW,
 * the local APIC's base and ID. Everything the guest runs with is reset.
 *
 * Not done here: an event the backend still has queued for injection (a
 * re-injected IDT-vectoring event) is not cancelled; struct backend_ops has
 * no operation for it yet.
 */
#include "vmm/vcpu_init.h"
#include "vmm/apic.h"
#include "vmm/backend.h"
#include "vmm/vm.h"
#include "arch/x86/cpu.h"

#define INIT_LIMIT 0xffff
#define INIT_RFLAGS RFLAGS_RESERVED_ONE
#define CPUID_LEAF_SIGNATURE 1

static struct segment real_mode_segment(u16 selector, u64 base, u8 type)
{
	return (struct segment){ .selector = selector, .base = base, .limit = INIT_LIMIT, .type = type,
				 .s = true, .present = true };
}

/* Control state after INIT (SDM Table 9-1, the INIT column). */
static void init_sregs(struct vcpu_sregs *s, u64 cache_bits, u64 pat)
{
	*s = (struct vcpu_sregs){ 0 };
	for (int i = SREG_ES; i <= SREG_GS; i++)
		s->seg[i] = real_mode_segment(0, 0, SEG_TYPE_DATA_READ_WRITE_ACCESSED);
	s->seg[SREG_CS] = real_mode_segment(INIT_CS_SELECTOR, INIT_CS_BASE, SEG_TYPE_CODE_EXEC_READ_ACCESSED);
	s->seg[SREG_LDTR] = (struct segment){ .type = SEG_TYPE_LDT, .present = true, .limit = INIT_LIMIT };
	s->seg[SREG_TR] = (struct segment){ .type = SEG_TYPE_TSS_BUSY_32, .present = true, .limit = INIT_LIMIT };
	s->gdtr.limit = INIT_LIMIT;
	s->idtr.limit = INIT_LIMIT;
	s->cr0 = CR0_ET | cache_bits; /* CR2, CR3, CR4 and EFER are 0 */
	s->dr6 = DR6_RESET;
	s->dr7 = DR7_RESET;
	s->pat = pat;
}

/* EDX after INIT holds the processor signature, CPUID.1:EAX (SDM 9.1.4),
 * which the guest's CPUID passes through unchanged (vmm/cpuid.c). */
static u32 processor_signature(void)
{
	return cpuid(CPUID_LEAF_SIGNATURE, 0).eax;
}

/* Drops every event waiting for the vCPU: INIT is not an interrupt the
 * guest can see the end of, and what was pending before it is lost (the
 * local APIC's IRR is cleared with its registers). */
static void drop_pending_events(struct vcpu *v)
{
	__atomic_store_n(&v->nmi_pending, 0, __ATOMIC_RELAXED);
	if (v->window_requested) {
		backend->set_interrupt_window(v, false);
		v->window_requested = false;
	}
	backend->clear_interrupt_shadow(v);
}

static void enter_init_state(struct vcpu *v, u64 cache_bits, u64 pat)
{
	struct vcpu_sregs s;
	init_sregs(&s, cache_bits, pat);
	vcpu_set_sregs(v, &s);
	v->regs = (struct vcpu_regs){ .rip = INIT_RIP, .rflags = INIT_RFLAGS };
	v->regs.gpr[GPR_RDX] = processor_signature();
	for (unsigned i = 0; i < ARRAY_SIZE(v->debug_address); i++)
		v->debug_address[i] = 0;
	drop_pending_events(v);
	if (v->apic)
		vcpu_apic_reset(v);
}

void vcpu_do_init(struct vcpu *v)
{
	struct vcpu_sregs old;
	backend->get_sregs(v, &old);
	enter_init_state(v, old.cr0 & (CR0_CD | CR0_NW), old.pat);
	/* Only an AP waits for a SIPI; the BSP has none to wait for and runs
	 * the reset vector (KVM does the same). */
	v->run_state = v->id == 0 ? VCPU_RUNNABLE : VCPU_WAIT_FOR_SIPI;
}

bool vcpu_do_sipi(struct vcpu *v)
{
	if (v->run_state != VCPU_WAIT_FOR_SIPI)
		return false;
	u8 vector = __atomic_load_n(&v->sipi_vector, __ATOMIC_RELAXED);
	struct vcpu_sregs s;
	backend->get_sregs(v, &s);
	s.seg[SREG_CS].selector = (u16)(vector << SIPI_SELECTOR_SHIFT);
	s.seg[SREG_CS].base = (u64)vector << SIPI_BASE_SHIFT;
	vcpu_set_sregs(v, &s);
	v->regs.rip = 0;
	v->run_state = VCPU_RUNNABLE;
	return true;
}

void vcpu_handle_init_sipi(struct vcpu *v)
{
	if (vcpu_check_request(v, VCPU_REQ_INIT))
		vcpu_do_init(v);
	if (!vcpu_check_request(v, VCPU_REQ_SIPI))
		return;
	if (vcpu_check_request(v, VCPU_REQ_INIT))
		vcpu_do_init(v);
	vcpu_do_sipi(v);
}

/* At power-on the caches are on and PAT has its power-on value (0 asks the
 * backend for it), as the loader starts the BSP. */
void vcpu_power_on_ap(struct vcpu *v)
{
	enter_init_state(v, 0, 0);
	v->run_state = VCPU_WAIT_FOR_SIPI;
}
