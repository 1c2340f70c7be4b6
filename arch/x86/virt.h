/*
 * Hardware virtualization detection: which backend this CPU can run and
 * what it offers. Filled once at boot by virt_detect().
 */
#pragma once
#include "lib/types.h"

enum virt_backend { VIRT_NONE, VIRT_VMX, VIRT_SVM };

struct vmx_caps {
	u32 vmcs_revision;
	u32 vmcs_size;
	bool true_controls;
	bool ins_outs_info; /* VM-exit instruction information for INS/OUTS */
	bool secondary_controls;
	bool ept, vpid, unrestricted_guest;
	bool ept_4level, ept_wb, ept_2m, ept_1g, ept_ad, ept_execute_only;
	bool invept, invept_single, invept_all;
	bool invvpid, invvpid_address, invvpid_single, invvpid_all;
	bool preemption_timer;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

struct svm_caps {
	u32 revision;
	u32 asid_count;
	bool npt, nrip_save, vmcb_clean, flush_by_asid, decode_assists;
	bool lbr_virt, tsc_rate, pause_filter, avic, vgif, vmsave_virt;
};

struct virt_caps {
	enum virt_backend backend;
	struct vmx_caps vmx;
	struct svm_caps svm;
};

extern struct virt_caps virt_caps;

/* Probes VT-x or AMD-V. Returns the backend, or VIRT_NONE with one
 * sentence in 'why' saying what is missing and what to do about it. */
enum virt_backend virt_detect(char *why, size_t why_len);
void virt_print_summary(void);
/* On another CPU than the boot one: whether it offers the boot CPU's
 * backend; false with a short reason ("no AMD-V in its CPUID"). */
bool virt_cpu_check(char *why, size_t why_len);
/* "VT-x" or "AMD-V": the backend's short name for console lines. */
const char *virt_short_name(void);

/* Per-vendor probes (arch/x86/vmx.c, arch/x86/svm.c). */
bool vmx_probe(struct vmx_caps *caps, char *why, size_t why_len);
void vmx_print_caps(const struct vmx_caps *caps);
bool svm_probe(struct svm_caps *caps, char *why, size_t why_len);
/* One-time set-up of a backend, before any CPU enables it. */
int vmx_global_setup(char *err, size_t len);
int svm_global_setup(char *err, size_t len);
void svm_print_caps(const struct svm_caps *caps);
