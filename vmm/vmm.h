/* Internal interfaces between the vmm/ files. */
#pragma once
#include "lib/types.h"
#include "vmm/exit.h"
#include "arch/x86/cpu.h" /* exception vectors */
#include "vmm/guest_mem.h"

struct vm;
struct vcpu;
struct vm_config;
struct boot_info;
struct hv_options;

enum exit_action { EXIT_CONTINUE, EXIT_STOP };

/* RIP wraps at 32 bits outside 64-bit mode. */
#define RIP_MASK_32 0xffffffffULL

/* vmm/vmm.c: create and run the VMs the boot modules describe. */
void vmm_run_boot_vms(const struct boot_info *bi, const struct hv_options *options);

/* vmm/vm.c */
/* vCPU i is pinned to host CPU cpu_of[i]. */
struct vm *vm_create(const struct vm_config *cfg, unsigned index, const unsigned *cpu_of, char *err,
		     size_t err_len);
void vm_destroy(struct vm *vm);
void vm_print_exit_statistics(const struct vm *vm);
/* The run loop of one vCPU on its CPU, for the scheduler (vmm/sched.c). */
void vcpu_run_slice(struct vcpu *vcpu);
/* The VM ended: this vCPU leaves its CPU; true for the last one out. */
bool vcpu_leave(struct vcpu *vcpu);
/* vmm/vmm.c: the last vCPU of an ended VM is off its CPU (report, restart). */
void vmm_vm_ended(struct vm *vm);

/* vmm/exit.c */
enum exit_action exit_dispatch(struct vcpu *vcpu, const struct vm_exit *exit);
/* Advances RIP past the instruction that exited (decoding it if the
 * hardware did not report the length). Returns false if it stopped the VM. */
bool vcpu_skip_instruction(struct vcpu *vcpu, const struct vm_exit *exit);
/* Queues an exception; the error code is pushed only where the architecture
 * pushes one (never in real mode), whatever has_error_code says. */
void vcpu_inject_exception(struct vcpu *vcpu, u8 vector, bool has_error_code, u32 error_code);
void vcpu_inject_gp(struct vcpu *vcpu);
/* Presidio completed the guest's instruction (RIP already advanced): end
 * an STI/MOV SS shadow, and trap for single-step as the CPU would. */
void vcpu_instruction_completed(struct vcpu *vcpu);
void vcpu_inject_page_fault(struct vcpu *vcpu, u64 address, u32 error_code);
/* CR2 for a #PF the caller is about to deliver. */
void vcpu_set_cr2(struct vcpu *vcpu, u64 address);

/* vmm/io.c */
enum exit_action handle_port_io(struct vcpu *vcpu, const struct vm_exit *exit);
/* vmm/task_switch.c: emulates the hardware task switch the exit reports. */
enum exit_action handle_task_switch(struct vcpu *vcpu, const struct vm_exit *exit);
/* vmm/mmio.c */
enum exit_action handle_mmio(struct vcpu *vcpu, const struct vm_exit *exit);
int vcpu_decode_current_instruction(struct vcpu *vcpu, u8 *length);
/* A guest-linear access that lands in RAM or on the MMIO bus. */
enum guest_access_result vcpu_access_linear(struct vcpu *vcpu, u64 linear, void *data, unsigned size,
					    bool write, u32 *pf_error, u64 *fault_address);
struct x86_insn;
int vcpu_decode_instruction(struct vcpu *vcpu, struct x86_insn *insn);
/* The r/m operand of the decoded instruction at RIP (LMSW's source).
 * 0, or 1 if reading it faulted (the fault is injected), -1 if it cannot. */
int vcpu_read_rm_operand(struct vcpu *vcpu, const struct x86_insn *insn, unsigned size, u64 *value);
