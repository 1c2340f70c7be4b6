/*
 * Requests to a vCPU, KVM-style: whoever wants something of a vCPU (another
 * vCPU's IPI, a device interrupt routed by the APIC wiring, the VM's end, a
 * second-level TLB flush) sets a bit in vcpu->requests and kicks it. The
 * vCPU's own CPU handles every bit before its next entry, so the state each
 * request changes is only ever written by the CPU the vCPU is pinned to.
 *
 * Kick protocol (no request is lost, no IPI is sent without need):
 *   requester: set the bit (atomic OR, a full barrier), then read vcpu->mode;
 *              IN_GUEST on another CPU -> host IPI to that CPU; halted -> wake.
 *   vCPU:      with host interrupts off, mode = IN_GUEST (atomic exchange, a
 *              full barrier), then read requests; any bit set -> mode =
 *              OUTSIDE_GUEST and handle them; none -> enter the guest. An IPI
 *              sent after the exchange is pending and forces an exit at once.
 */
#pragma once
#include "lib/types.h"

struct vcpu;

enum vcpu_request {
	VCPU_REQ_EVENT,     /* an interrupt may be pending: look before entry */
	VCPU_REQ_NMI,       /* vcpu->nmi_pending went up */
	VCPU_REQ_INIT,      /* INIT: back to the architectural INIT state */
	VCPU_REQ_SIPI,      /* start-up IPI with vcpu->sipi_vector */
	VCPU_REQ_TLB_FLUSH, /* the VM's second-level mappings changed */
	VCPU_REQ_STOP,      /* the VM is ending: leave the CPU */
	VCPU_REQ_COUNT,
};

/* Where the vCPU is, for kicks (written by its own CPU only). */
enum vcpu_mode {
	VCPU_OUTSIDE_GUEST,
	VCPU_IN_GUEST,
};

/* Scheduling state (vmm/sched.c). */
enum vcpu_run_state {
	VCPU_RUNNABLE,
	VCPU_HALTED,          /* HLT: until an interrupt, NMI, INIT, SIPI or a timer */
	VCPU_WAIT_FOR_SIPI,   /* after INIT; application processors start here */
	VCPU_DONE,            /* its VM ended; the CPU no longer runs it */
};

/* Sets the bit and kicks the vCPU (from any CPU, any context but NMI). */
void vcpu_request(struct vcpu *v, enum vcpu_request request);
/* For the vCPU's own CPU: is the bit set? Clears it. */
bool vcpu_check_request(struct vcpu *v, enum vcpu_request request);
bool vcpu_has_requests(const struct vcpu *v);
/* Makes the vCPU look at its requests soon: an IPI if it is in guest mode
 * on another CPU, a wake-up if it is halted (vmm/sched.c). */
void vcpu_kick(struct vcpu *v);
