/*
 * Intel VT-x backend. So far: detection, IA32_FEATURE_CONTROL, and reading
 * the VMX capability MSRs (SDM Vol. 3D Appendix A).
 */
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "lib/print.h"

/* IA32_VMX_BASIC (SDM Vol. 3D A.1) */
#define VMX_BASIC_REVISION_MASK 0x7fffffffULL
#define VMX_BASIC_VMCS_SIZE_SHIFT 32
#define VMX_BASIC_VMCS_SIZE_MASK 0x1fffULL
#define VMX_BASIC_INS_OUTS_INFO BIT(54)
#define VMX_BASIC_TRUE_CONTROLS BIT(55)

/* Allowed-1 settings live in the high 32 bits of the control MSRs (A.3) */
#define VMX_ALLOWED1(msr_value, bit) (((msr_value) >> 32) & (bit))
#define PIN_BASED_PREEMPTION_TIMER BIT(6)
#define PROC_BASED_SECONDARY_CONTROLS BIT(31)
#define PROC_BASED2_ENABLE_EPT BIT(1)
#define PROC_BASED2_ENABLE_VPID BIT(5)
#define PROC_BASED2_UNRESTRICTED_GUEST BIT(7)

/* IA32_VMX_EPT_VPID_CAP (A.10) */
#define EPT_CAP_EXECUTE_ONLY BIT(0)
#define EPT_CAP_WALK_LENGTH_4 BIT(6)
#define EPT_CAP_MEMTYPE_WB BIT(14)
#define EPT_CAP_2M_PAGES BIT(16)
#define EPT_CAP_1G_PAGES BIT(17)
#define EPT_CAP_INVEPT BIT(20)
#define EPT_CAP_ACCESSED_DIRTY BIT(21)
#define EPT_CAP_INVEPT_SINGLE BIT(25)
#define EPT_CAP_INVEPT_ALL BIT(26)
#define VPID_CAP_INVVPID BIT(32)
#define VPID_CAP_INVVPID_ADDRESS BIT(40)
#define VPID_CAP_INVVPID_SINGLE BIT(41)
#define VPID_CAP_INVVPID_ALL BIT(42)

static bool enable_feature_control(char *why, size_t why_len)
{
	u64 fc;
	if (!rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc)) {
		ksnprintf(why, why_len, "VT-x: IA32_FEATURE_CONTROL cannot be read; "
			  "the CPU or emulator does not implement VMX fully");
		return false;
	}
	if (fc & FEATURE_CONTROL_LOCK) {
		if (fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)
			return true;
		ksnprintf(why, why_len,
			  "VT-x is disabled by the firmware (IA32_FEATURE_CONTROL is locked with VMX "
			  "off): enable \"Intel Virtualization Technology\" (VT-x) in the BIOS/UEFI "
			  "setup, then power the machine off and on");
		return false;
	}
	fc |= FEATURE_CONTROL_VMX_OUTSIDE_SMX | FEATURE_CONTROL_LOCK;
	if (!wrmsr_safe(MSR_IA32_FEATURE_CONTROL, fc)) {
		ksnprintf(why, why_len, "VT-x: enabling VMX in IA32_FEATURE_CONTROL failed");
		return false;
	}
	return true;
}

static void read_ept_vpid_caps(struct vmx_caps *c)
{
	u64 cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	c->ept_execute_only = cap & EPT_CAP_EXECUTE_ONLY;
	c->ept_4level = cap & EPT_CAP_WALK_LENGTH_4;
	c->ept_wb = cap & EPT_CAP_MEMTYPE_WB;
	c->ept_2m = cap & EPT_CAP_2M_PAGES;
	c->ept_1g = cap & EPT_CAP_1G_PAGES;
	c->ept_ad = cap & EPT_CAP_ACCESSED_DIRTY;
	c->invept = cap & EPT_CAP_INVEPT;
	c->invept_single = cap & EPT_CAP_INVEPT_SINGLE;
	c->invept_all = cap & EPT_CAP_INVEPT_ALL;
	c->invvpid = cap & VPID_CAP_INVVPID;
	c->invvpid_address = cap & VPID_CAP_INVVPID_ADDRESS;
	c->invvpid_single = cap & VPID_CAP_INVVPID_SINGLE;
	c->invvpid_all = cap & VPID_CAP_INVVPID_ALL;
}

bool vmx_probe(struct vmx_caps *c, char *why, size_t why_len)
{
	if (!enable_feature_control(why, why_len))
		return false;
	u64 basic = rdmsr(MSR_IA32_VMX_BASIC);
	c->vmcs_revision = basic & VMX_BASIC_REVISION_MASK;
	c->vmcs_size = (basic >> VMX_BASIC_VMCS_SIZE_SHIFT) & VMX_BASIC_VMCS_SIZE_MASK;
	c->true_controls = basic & VMX_BASIC_TRUE_CONTROLS;
	c->ins_outs_info = basic & VMX_BASIC_INS_OUTS_INFO;

	u64 pin = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
	c->preemption_timer = VMX_ALLOWED1(pin, PIN_BASED_PREEMPTION_TIMER);
	u64 proc = rdmsr(c->true_controls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
	c->secondary_controls = VMX_ALLOWED1(proc, PROC_BASED_SECONDARY_CONTROLS);
	if (c->secondary_controls) {
		u64 proc2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		c->ept = VMX_ALLOWED1(proc2, PROC_BASED2_ENABLE_EPT);
		c->vpid = VMX_ALLOWED1(proc2, PROC_BASED2_ENABLE_VPID);
		c->unrestricted_guest = VMX_ALLOWED1(proc2, PROC_BASED2_UNRESTRICTED_GUEST);
	}
	if (c->ept || c->vpid)
		read_ept_vpid_caps(c);
	/* EPT we cannot use (no 4-level walk or no write-back) counts as absent. */
	if (c->ept && !(c->ept_4level && c->ept_wb))
		c->ept = false;
	c->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	return true;
}

void vmx_print_caps(const struct vmx_caps *c)
{
	pr_info("vmx: Intel VT-x usable: EPT %s, VPID %s, unrestricted guest %s, true controls %s",
		yes_no(c->ept), yes_no(c->vpid), yes_no(c->unrestricted_guest),
		yes_no(c->true_controls));
	pr_info("vmx:   VMCS revision 0x%x, %u bytes; preemption timer %s", c->vmcs_revision,
		c->vmcs_size, yes_no(c->preemption_timer));
	if (c->ept)
		pr_info("vmx:   EPT: 4-level walk, write-back, 2M pages %s, 1G pages %s, "
			"accessed/dirty %s, execute-only %s, INVEPT single %s all %s",
			yes_no(c->ept_2m), yes_no(c->ept_1g), yes_no(c->ept_ad),
			yes_no(c->ept_execute_only), yes_no(c->invept_single), yes_no(c->invept_all));
	if (c->vpid)
		pr_info("vmx:   VPID: INVVPID %s (address %s, single %s, all %s)", yes_no(c->invvpid),
			yes_no(c->invvpid_address), yes_no(c->invvpid_single), yes_no(c->invvpid_all));
}
