#include "arch/x86/virt.h"
#include "arch/x86/cpufeatures.h"
#include "lib/print.h"
#include "vmm/backend.h"

struct virt_caps virt_caps;

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

void virt_print_summary(void)
{
	if (virt_caps.backend == VIRT_VMX)
		vmx_print_caps(&virt_caps.vmx);
	else if (virt_caps.backend == VIRT_SVM)
		svm_print_caps(&virt_caps.svm);
}

extern const struct backend_ops svm_backend_ops;
extern const struct backend_ops vmx_backend_ops;

const struct backend_ops *backend_select(char *err, size_t err_len)
{
	switch (virt_caps.backend) {
	case VIRT_SVM:
		if (!virt_caps.svm.npt) {
			ksnprintf(err, err_len, "AMD-V without nested paging needs shadow paging, "
				  "which is not implemented yet");
			return NULL;
		}
		return &svm_backend_ops;
	case VIRT_VMX:
		return &vmx_backend_ops;
	default:
		ksnprintf(err, err_len, "no hardware virtualization");
		return NULL;
	}
}
