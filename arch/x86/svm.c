/*
 * AMD-V backend. So far: detection, VM_CR and CPUID leaf 0x8000000A
 * (AMD APM Vol. 2 15.4 and Vol. 3 appendix E).
 */
#include "arch/x86/virt.h"
#include "arch/x86/cpu.h"
#include "arch/x86/cpufeatures.h"
#include "arch/x86/msr.h"
#include "lib/print.h"

/* CPUID 0x8000000A EDX */
#define SVM_FEATURE_NPT BIT(0)
#define SVM_FEATURE_LBR_VIRT BIT(1)
#define SVM_FEATURE_NRIP_SAVE BIT(3)
#define SVM_FEATURE_TSC_RATE BIT(4)
#define SVM_FEATURE_VMCB_CLEAN BIT(5)
#define SVM_FEATURE_FLUSH_BY_ASID BIT(6)
#define SVM_FEATURE_DECODE_ASSISTS BIT(7)
#define SVM_FEATURE_PAUSE_FILTER BIT(10)
#define SVM_FEATURE_AVIC BIT(13)
#define SVM_FEATURE_VMSAVE_VIRT BIT(15)
#define SVM_FEATURE_VGIF BIT(16)
#define SVM_REVISION_MASK 0xff

bool svm_probe(struct svm_caps *c, char *why, size_t why_len)
{
	u64 vm_cr = 0;
	/* Some emulators lack VM_CR; treat an unreadable one as "not disabled". */
	if (rdmsr_safe(MSR_AMD_VM_CR, &vm_cr) && (vm_cr & VM_CR_SVMDIS)) {
		ksnprintf(why, why_len,
			  "AMD-V is disabled by the firmware (VM_CR.SVMDIS=1%s): enable \"SVM Mode\" "
			  "(AMD-V) in the BIOS/UEFI setup, then power the machine off and on",
			  (vm_cr & VM_CR_LOCK) ? ", locked" : "");
		return false;
	}
	if (cpu_features.max_extended_leaf < CPUID_LEAF_SVM) {
		ksnprintf(why, why_len, "AMD-V: CPUID leaf 0x8000000a is missing; cannot use SVM");
		return false;
	}
	struct cpuid_regs r = cpuid(CPUID_LEAF_SVM, 0);
	c->revision = r.eax & SVM_REVISION_MASK;
	c->asid_count = r.ebx;
	c->npt = r.edx & SVM_FEATURE_NPT;
	c->lbr_virt = r.edx & SVM_FEATURE_LBR_VIRT;
	c->nrip_save = r.edx & SVM_FEATURE_NRIP_SAVE;
	c->tsc_rate = r.edx & SVM_FEATURE_TSC_RATE;
	c->vmcb_clean = r.edx & SVM_FEATURE_VMCB_CLEAN;
	c->flush_by_asid = r.edx & SVM_FEATURE_FLUSH_BY_ASID;
	c->decode_assists = r.edx & SVM_FEATURE_DECODE_ASSISTS;
	c->pause_filter = r.edx & SVM_FEATURE_PAUSE_FILTER;
	c->avic = r.edx & SVM_FEATURE_AVIC;
	c->vmsave_virt = r.edx & SVM_FEATURE_VMSAVE_VIRT;
	c->vgif = r.edx & SVM_FEATURE_VGIF;
	if (c->asid_count < 2) {
		ksnprintf(why, why_len, "AMD-V: CPUID reports %u ASIDs; at least 2 are needed",
			  c->asid_count);
		return false;
	}
	return true;
}

void svm_print_caps(const struct svm_caps *c)
{
	pr_info("svm: AMD-V usable: NPT %s, NRIP-save %s, ASIDs %u, VMCB clean bits %s, "
		"decode assists %s, flush by ASID %s",
		yes_no(c->npt), yes_no(c->nrip_save), c->asid_count, yes_no(c->vmcb_clean),
		yes_no(c->decode_assists), yes_no(c->flush_by_asid));
	pr_info("svm:   revision %u; LBR virtualization %s, TSC ratio %s, pause filter %s, "
		"AVIC %s, vGIF %s", c->revision, yes_no(c->lbr_virt), yes_no(c->tsc_rate),
		yes_no(c->pause_filter), yes_no(c->avic), yes_no(c->vgif));
	if (!c->nrip_save)
		pr_info("svm:   NRIP-save: no; instruction lengths will be decoded in software");
}
