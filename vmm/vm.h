/* Virtual machines and virtual CPUs: architecture-neutral objects. */
#pragma once
#include "lib/types.h"
#include "lib/spinlock.h"
#include "vmm/exit.h"
#include "vmm/iobus.h"
#include "vmm/memmap.h"
#include "vmm/pc_memory.h"
#include "vmm/vcpu_state.h"
#include "vmm/vtime.h"
#include "vmm/cr_rules.h"
#include "vmm/vcpu_request.h"

#define VM_NAME_MAX 24
#define VM_MAX_VCPUS 64
#define VM_CMDLINE_MAX 1024
/* Host runs a VM's RAM may come in: each adds at most one memory-map region
 * to the four of the PC layout below 1 MiB and the cut at the PCI hole. */
#define VM_RAM_MAX_RUNS 8
_Static_assert(VM_RAM_MAX_RUNS + 5 <= MEMMAP_MAX_REGIONS, "memory map too small for the RAM runs");

enum vm_state {
	VM_CREATED,
	VM_RUNNING,
	VM_EXITED,  /* the guest asked to end (debug exit, power-off) */
	VM_STOPPED, /* Presidio stopped it (triple fault, entry failure, hostile act) */
	VM_RESET,   /* the guest reset the machine: it is started again from its description */
};

struct i8259;
struct ioapic;
struct vcpu_apic;

struct vm_stats {
	u64 exits[EXIT_REASON_COUNT];
};

struct vcpu {
	struct vm *vm;
	unsigned id;
	struct vm_stats stats;  /* summed per VM at its end */
	struct vcpu *sched_next; /* its CPU's run list (vmm/sched.c) */
	bool halt_interrupts;    /* VCPU_HALTED with IF=1: an interrupt wakes it */
	/* vmm/mmio.c: nested page faults in a row on a chunk already mapped */
	u64 mapped_fault_chunk;
	unsigned mapped_faults;
	struct vcpu_regs regs;
	void *arch;            /* the backend's private state (VMCB/VMCS...) */
	struct vcpu_control control; /* valid while control_valid (one exit) */
	bool control_valid;
	u8 *fpu_state;         /* XSAVE/FXSAVE area */
	u64 xcr0;
	u64 debug_address[4];  /* DR0-DR3 while another vCPU has the CPU (reset: 0) */
	bool window_requested; /* an interrupt-window exit is asked for */
	u64 armed_deadline;    /* what the host one-shot timer is set for */
	u64 slice_end_ns;      /* VM time its time slice ends (VTIMER_INACTIVE: none) */
	struct vcpu_apic *apic; /* the local APIC (vmm/apic.c) */
	/* SMP (vmm/vcpu_request.h, vmm/sched.c). */
	u64 requests;          /* bit n: enum vcpu_request n (atomic) */
	enum vcpu_mode mode;   /* written by its own CPU, read by kickers */
	enum vcpu_run_state run_state;
	unsigned cpu;          /* the host CPU it is pinned to */
	u32 nmi_pending;       /* NMIs sent and not yet injected (atomic) */
	u8 sipi_vector;        /* of the last start-up IPI */
	u64 next_deadline;     /* earliest deadline of the timers it owns (vtime.c) */
	bool irq_check;        /* the 8259 or local APIC may have something: look */
	/* MSR state the backend does not hold. */
	u64 tsc_offset;
	u64 msr_misc_enable;
	u64 msr_mtrr_def_type;
	u64 msr_mtrr_var[16];
	u64 msr_mtrr_fixed[11];
};

/* A device model's state, in the VM's list (vm_device_alloc). */
struct vm_device_state {
	struct vm_device_state *next;
	_Alignas(16) u8 data[];
};

/*
 * Locking (README "Locking"): 'lock' serializes the VM's devices, buses,
 * interrupt controllers and timers (every exit that reaches them takes it);
 * 'ram_lock' the first-touch clearing and mapping of guest RAM; 'end_lock'
 * the move out of VM_RUNNING with its reason. Order: lock, then ram_lock or
 * end_lock, then the heap, frame and console locks.
 */
struct vm {
	char name[VM_NAME_MAX];
	unsigned index;
	enum vm_state state;
	struct spinlock lock;
	struct spinlock ram_lock;
	struct spinlock end_lock;
	u32 vcpus_active;      /* vCPUs still on a CPU; the last out ends the VM */
	const struct vm_config *config; /* what it was built from (restarts) */
	int exit_status;       /* VM_EXITED: (V << 1) | 1 from the debug-exit port */
	bool powered_off;      /* VM_EXITED through ACPI S5 (counts as success) */
	char stop_reason[160]; /* VM_STOPPED: why */
	struct memmap mem;
	u64 ram_size;
	struct cr_rules cr_rules; /* CR0/CR4/EFER/XCR0 rules from the guest's CPUID */
	u64 ram_end;           /* end of the highest guest-physical RAM (pc_memory.h) */
	struct pc_ram_run ram_run[VM_RAM_MAX_RUNS]; /* the host memory behind it */
	unsigned ram_run_count;
	/* Guest RAM is cleared and mapped in GUEST_RAM_CHUNK pieces on first
	 * touch (vmm/guest_mem.c): bit n of each map = guest-physical chunk n,
	 * up to ram_end (chunks of the PCI hole stay clear). NULL bitmaps: all
	 * of it is ready (host tests). */
	u8 *ram_cleared;       /* zeroed (the hypervisor may read/write it) */
	u8 *ram_mapped;        /* in the second-level tables (the guest may) */
	struct io_bus pio;
	struct io_bus mmio;
	unsigned vcpu_count;
	struct vcpu *vcpu[VM_MAX_VCPUS];
	void *arch;            /* backend VM state (nested page tables, ASID...) */
	u64 ram_chunks_mapped; /* first touches of guest RAM (counted as mmio exits) */
	unsigned msr_denials;  /* rate-limits the #GP log */
	unsigned virt_insn_reports;
	bool debug_exit;       /* port 0xf4 enabled */
	bool test_device;      /* ports 0xe0-0xeb and the MMIO scratch page */
	struct vm_device_state *devices; /* from vm_device_alloc, freed with the VM */
	struct i8259 *pic;     /* interrupt controllers the run loop asks (NULL: none) */
	struct ioapic *ioapic;
	unsigned apic_reports; /* rate-limits APIC diagnostics */
	u64 acpi_rsdp_gpa;     /* the guest's ACPI tables (0: none) */
	u64 time_base_tsc;     /* guest time 0 (vmm/vtime.c) */
	u64 ns_per_tick;       /* 32.32 fixed point */
	struct vtimer *timers;
	u64 next_deadline;     /* earliest armed deadline, or earlier (then rescanned) */
};

/* Zeroed memory for a device model's state, freed when the VM is destroyed
 * (device files need no destroy hook). NULL when out of memory. */
void *vm_device_alloc(struct vm *vm, size_t size);

/* Stops the VM at the next opportunity with a reason (vmm.c prints it once
 * the last vCPU has left its CPU). */
void vm_stop(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void vm_exit_with_status(struct vm *vm, int status);
/* The guest turned itself off (ACPI S5): a clean end. */
void vm_power_off(struct vm *vm);
/* Logs a line prefixed with the VM's name. */
void vm_log(const struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Cached control state for this exit; the setters below keep it coherent. */
void vcpu_control_refresh(struct vcpu *vcpu);
static inline const struct vcpu_control *vcpu_control(struct vcpu *vcpu)
{
	if (!vcpu->control_valid)
		vcpu_control_refresh(vcpu);
	return &vcpu->control;
}
void vcpu_set_sregs(struct vcpu *vcpu, const struct vcpu_sregs *sregs);
int vcpu_set_cr(struct vcpu *vcpu, unsigned cr, u64 value);
int vcpu_set_efer(struct vcpu *vcpu, u64 efer);
int vcpu_set_xcr0(struct vcpu *vcpu, u64 xcr0);

/* Is an external interrupt waiting for this vCPU (from any source)? */
bool vcpu_interrupt_pending(struct vcpu *vcpu);
/* HLT: the vCPU gives up its CPU until an interrupt (with IF set), an NMI,
 * INIT or SIPI arrives, or returns at once if one is already waiting.
 * Returns false if nothing can ever wake it. */
bool vcpu_halt(struct vcpu *vcpu, bool interrupts_enabled);
