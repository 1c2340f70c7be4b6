#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "lib/print.h"
#include "vmm/backend.h"

struct virt_caps virt_caps;
const struct backend_ops *backend;

enum virt_backend virt_detect(char *why, size_t why_len)
{
	virt_caps.backend = VIRT_NONE;
	if (cpu_features.vmx) {
		if (vmx_probe(&virt_caps.vmx, why, why_len))
			virt_caps.backend = VIRT_VMX;
	} else if (cpu_features.svm) {
		if (svm_probe(&virt_caps.svm, why, why_len))
			virt_caps.backend = VIRT_SVM;
	} else {
		ksnprintf(why, why_len,
			  "this CPU reports neither Intel VT-x (CPUID.1:ECX.VMX) nor AMD-V "
			  "(CPUID.80000001h:ECX.SVM); use a CPU with VT-x or AMD-V, or under QEMU "
			  "use -accel kvm -cpu host with nested virtualization, or -cpu EPYC,+svm,+npt");
	}
	return virt_caps.backend;
}

/*
 * Another CPU than the boot one, before its cpu_enable: does it offer the
 * backend the boot CPU chose, with what the backend relies on? The probe
 * also prepares this CPU (IA32_FEATURE_CONTROL is per CPU); the VMCS/VMCB
 * layouts and the CR0/CR4 fixed bits come from the boot CPU's probe.
 */
bool virt_cpu_check(char *why, size_t why_len)
{
	switch (virt_caps.backend) {
	case VIRT_VMX: {
		struct vmx_caps c = { 0 };
		if (!(cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_VMX)) {
			ksnprintf(why, why_len, "no VT-x in its CPUID");
			return false;
		}
		if (!vmx_probe(&c, why, why_len))
			return false;
		if (c.vmcs_revision != virt_caps.vmx.vmcs_revision || c.ept != virt_caps.vmx.ept ||
		    c.unrestricted_guest != virt_caps.vmx.unrestricted_guest ||
		    c.cr0_fixed0 != virt_caps.vmx.cr0_fixed0 || c.cr4_fixed0 != virt_caps.vmx.cr4_fixed0) {
			ksnprintf(why, why_len, "its VT-x differs from the boot CPU's");
			return false;
		}
		return true;
	}
	case VIRT_SVM: {
		struct svm_caps c = { 0 };
		if (!(cpuid(CPUID_LEAF_EXT_FEATURES, 0).ecx & CPUID_80000001_ECX_SVM)) {
			ksnprintf(why, why_len, "no AMD-V in its CPUID");
			return false;
		}
		if (!svm_probe(&c, why, why_len))
			return false;
		if (c.npt != virt_caps.svm.npt || c.asid_count < virt_caps.svm.asid_count) {
			ksnprintf(why, why_len, "its AMD-V differs from the boot CPU's");
			return false;
		}
		return true;
	}
	default:
		ksnprintf(why, why_len, "no hardware virtualization");
		return false;
	}
}

/* Why VMs cannot run on this CPU yet, or NULL when they can. */
static const char *missing_for_vms(void)
{
	switch (virt_caps.backend) {
	case VIRT_SVM:
		if (!virt_caps.svm.npt)
			return "svm: no NPT: VMs cannot run on this CPU until shadow paging is implemented";
		return NULL;
	case VIRT_VMX:
		if (!virt_caps.vmx.ept)
			return "vmx: no EPT (so no unrestricted guest): VMs cannot run on this CPU until "
			       "shadow paging and real-mode emulation are implemented";
		if (!virt_caps.vmx.unrestricted_guest)
			return "vmx: no unrestricted guest: VMs cannot run on this CPU until real-mode "
			       "emulation is implemented";
		return NULL;
	default:
		return "no hardware virtualization";
	}
}

const char *virt_short_name(void)
{
	return virt_caps.backend == VIRT_SVM ? "AMD-V" : virt_caps.backend == VIRT_VMX ? "VT-x" : "no VT";
}

void virt_print_summary(void)
{
	if (virt_caps.backend == VIRT_VMX)
		vmx_print_caps(&virt_caps.vmx);
	else if (virt_caps.backend == VIRT_SVM)
		svm_print_caps(&virt_caps.svm);
	const char *missing = missing_for_vms();
	if (missing)
		pr_warn("%s", missing);
}

extern const struct backend_ops svm_backend_ops;
extern const struct backend_ops vmx_backend_ops;

/* The boot summary said why once (virt_print_summary); this only refers to it. */
const struct backend_ops *backend_select(char *err, size_t err_len)
{
	if (missing_for_vms()) {
		ksnprintf(err, err_len, "not on this CPU yet (see the warning above)");
		return NULL;
	}
	/* One-time global set-up (tag pools, the VMCS controls); each CPU then
	 * enables VT itself with cpu_enable. */
	if (virt_caps.backend == VIRT_SVM ? svm_global_setup(err, err_len) : vmx_global_setup(err, err_len))
		return NULL;
	return virt_caps.backend == VIRT_SVM ? &svm_backend_ops : &vmx_backend_ops;
}
