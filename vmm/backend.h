/*
 * The one seam between vmm/ and the CPU: a table of operations filled by
 * the VT-x (arch/x86/vmx_backend.c) or AMD-V (arch/x86/svm_backend.c)
 * backend and chosen once at boot (arch/x86/virt.c, which also does the
 * backend's one-time global set-up). vmm/ includes this header, never a
 * vendor one.
 *
 * A vCPU is pinned to one host CPU: every hook that takes a vcpu runs on
 * that CPU, except vcpu_create/vcpu_destroy and the state set-up between
 * vcpu_create and vcpu_release, which run on the CPU building the VM.
 */
#pragma once
#include "lib/types.h"
#include "vmm/exit.h"
#include "vmm/vcpu_state.h"

struct vm;
struct vcpu;

enum event_type {
	EVENT_EXTERNAL_INTERRUPT,
	EVENT_NMI,
	EVENT_EXCEPTION,
	EVENT_SOFTWARE_INTERRUPT,
};

struct backend_ops {
	const char *name;
	/* Turns virtualization on for the calling CPU (once per CPU, at
	 * bring-up; it stays on). */
	int (*cpu_enable)(char *err, size_t err_len);
	/* VM-wide state: the (empty) second-level page tables and the I/O and
	 * MSR intercept bitmaps. TLB tags are per vCPU (VPID) or per CPU
	 * (ASID), not per VM. */
	int (*vm_create)(struct vm *vm, char *err, size_t err_len);
	/* Maps the memory-map regions inside [gpa, gpa + size) into the
	 * second-level tables (guest RAM is mapped a chunk at a time, on the
	 * guest's first touch: vmm/mmio.c). -1 when out of memory. */
	int (*map_ram)(struct vm *vm, u64 gpa, u64 size);
	void (*vm_destroy)(struct vm *vm);
	int (*vcpu_create)(struct vcpu *vcpu, char *err, size_t err_len);
	/* The calling CPU is done with the vCPU's hardware structure (VMCLEAR:
	 * the VMCS may then be loaded on another CPU, or freed). */
	void (*vcpu_release)(struct vcpu *vcpu);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Enter the guest and return when it exits, with the exit normalized. */
	void (*vcpu_run)(struct vcpu *vcpu, struct vm_exit *exit);
	void (*get_sregs)(struct vcpu *vcpu, struct vcpu_sregs *sregs);
	void (*get_control)(struct vcpu *vcpu, struct vcpu_control *control);
	void (*set_sregs)(struct vcpu *vcpu, const struct vcpu_sregs *sregs);
	/* Guest EFER/CR writes that need backend fix-ups (SVME, LMA, shadows);
	 * -1 means the value is invalid and the guest gets #GP. */
	int (*set_efer)(struct vcpu *vcpu, u64 efer);
	int (*set_cr)(struct vcpu *vcpu, unsigned cr, u64 value);
	/* Event injection at the next entry. */
	void (*inject_event)(struct vcpu *vcpu, enum event_type type, u8 vector,
			     bool has_error_code, u32 error_code);
	/* Can an external interrupt be injected now (IF=1, no shadow, none queued)? */
	bool (*interrupt_allowed)(struct vcpu *vcpu);
	/* After Presidio completes an instruction for the guest, the STI /
	 * MOV SS shadow it was in has ended, as it would on hardware. */
	void (*clear_interrupt_shadow)(struct vcpu *vcpu);
	void (*set_interrupt_window)(struct vcpu *vcpu, bool enable);
	/* Can an NMI be injected now (not blocked by one in progress, none
	 * queued)? The window exits as soon as one can. */
	bool (*nmi_allowed)(struct vcpu *vcpu);
	void (*set_nmi_window)(struct vcpu *vcpu, bool enable);
	void (*flush_guest_tlb)(struct vcpu *vcpu);
	/* The scheduler gives the CPU to this vCPU: its VMCS current (VT-x),
	 * its FPU/XSAVE state, XCR0, DR0-DR3 and whatever else the hardware
	 * does not switch live on the CPU (arch/x86/vcpu_common.c); put saves
	 * them when another vCPU takes the CPU. */
	void (*vcpu_load)(struct vcpu *vcpu);
	void (*vcpu_put)(struct vcpu *vcpu);
	/* Dump the hardware control structure (VMCS/VMCB) for diagnostics. */
	void (*dump_state)(struct vcpu *vcpu);
};

/* Chosen at boot by backend_select() from the CPU's capabilities. */
extern const struct backend_ops *backend;

/* Chooses the backend for this CPU (arch/x86/virt.c); NULL with a reason. */
const struct backend_ops *backend_select(char *err, size_t err_len);
