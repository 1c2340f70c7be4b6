#include "arch/x86/virt.h"
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
