/*
 * The VM's APIC wiring: one local APIC model per vCPU (vmm/dev/lapic.c) on
 * the xAPIC page and the x2APIC MSRs, one I/O APIC (vmm/dev/ioapic.c), and
 * the routing between them, the 8259 pair and the vCPUs:
 *
 *   device -> vm_set_irq(gsi) -> 8259 IRQ (gsi < 16) -> LINT0 (ExtINT) -> vCPU 0
 *                             -> I/O APIC pin (ISA IRQ 0 on pin 2) -> local APICs
 *   device -> vm_send_msi() -> local APICs (the test device)
 *   vCPU -> ICR -> local APICs (IPIs: fixed, lowest priority, NMI, INIT, SIPI)
 *
 * The run loop asks vcpu_apic_has_interrupt()/vcpu_apic_acknowledge() what to
 * inject; the models never see the backend. Every message that reaches a
 * vCPU raises a request (vmm/vcpu_request.h) and kicks it: VCPU_REQ_EVENT
 * for a vector (also sets vcpu->irq_check), VCPU_REQ_NMI after
 * vcpu->nmi_pending went up, VCPU_REQ_INIT, VCPU_REQ_SIPI with
 * vcpu->sipi_vector (vmm/vcpu_init.h handles those two). Everything here
 * runs with the VM's lock held and never touches a target's backend state.
 */
#pragma once
#include "lib/types.h"

struct vm;
struct vcpu;

/* The I/O APIC pin an ISA IRQ arrives on (the MADT's interrupt source
 * override moves IRQ 0 to pin 2, as on every PC chipset). */
#define IOAPIC_PIN_PIT 2
/* The I/O APIC's ID register and MADT entry. */
#define IOAPIC_GUEST_ID 0

int vm_apic_create(struct vm *vm);
int vcpu_apic_create(struct vcpu *v);
/* INIT: the local APIC's registers to their power-on values, its base and
 * ID kept (SDM 11.4.7.3); an ExtINT waiting for an INTA is dropped. */
void vcpu_apic_reset(struct vcpu *v);

/* A pulse on the board's NMI line (LINT1 of every local APIC). */
void vm_nmi_line_pulse(struct vm *vm);

/* An interrupt message a device sends straight to the local APICs, as a
 * PCI device's MSI does: fixed delivery, edge-triggered, to the APIC with
 * physical ID 'apic_id'. An auto_eoi one is taken without entering the
 * ISR and needs no EOI (vlapic_accept_auto_eoi). VM lock held. */
void vm_send_msi(struct vm *vm, u32 apic_id, u8 vector, bool auto_eoi);

/* Is an external interrupt waiting for this vCPU: an 8259 interrupt through
 * LINT0 in ExtINT mode (or with the local APIC disabled), which goes first,
 * or a local APIC vector that beats the processor priority? */
bool vcpu_apic_has_interrupt(struct vcpu *v);
/* vcpu->irq_check is set whenever the 8259's output rises or a vector
 * enters the local APIC's IRR, and cleared by vcpu_apic_has_interrupt()
 * once both are quiet, so the run loop skips the look on most entries. */
/* The vCPU takes that vector (the INTA cycle); returns the vector to
 * inject (the 8259 may answer with its spurious vector). */
u8 vcpu_apic_acknowledge(struct vcpu *v);

/* IA32_APIC_BASE, IA32_TSC_DEADLINE and 0x800-0x8ff. Returns 1 if the MSR
 * is not an APIC one, 0 on success, -1 for #GP. */
int vcpu_apic_msr_read(struct vcpu *v, u32 msr, u64 *value);
int vcpu_apic_msr_write(struct vcpu *v, u32 msr, u64 value);

/* CR8 is TPR[7:4] (SDM 10.8.6.1); writing it clears TPR[3:0]. -1 for the
 * reserved bits 63:4 (#GP). */
u64 vcpu_apic_cr8(struct vcpu *v);
int vcpu_apic_set_cr8(struct vcpu *v, u64 value);
