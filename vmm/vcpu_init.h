/*
 * The vCPU side of INIT and start-up IPIs (SDM Vol. 3A 9.1 and 9.4.4, the
 * MP initialization protocol): what a processor does when its local APIC
 * takes an INIT or a SIPI. The APIC wiring (vmm/apic.c) only raises
 * VCPU_REQ_INIT / VCPU_REQ_SIPI; these run on the vCPU's own CPU, with the
 * VM's lock held (they reset the local APIC), before its next entry.
 */
#pragma once
#include "lib/types.h"

struct vcpu;

/* The reset vector: CS F000H with base FFFF0000H, IP FFF0H (SDM 9.1.4). */
#define INIT_CS_SELECTOR 0xf000
#define INIT_CS_BASE 0xffff0000ULL
#define INIT_RIP 0xfff0
/* A start-up IPI's vector VV starts the AP at VV00:0000, i.e. 0xVV000. */
#define SIPI_SELECTOR_SHIFT 8
#define SIPI_BASE_SHIFT 12

/* Handles VCPU_REQ_INIT and VCPU_REQ_SIPI if set, INIT first: a SIPI seen
 * with an INIT still pending came after that INIT (the sender set the INIT
 * bit first), so the INIT is done before it instead of the SIPI being lost
 * on a vCPU that is not yet waiting. The run loop calls this when it finds
 * requests. */
void vcpu_handle_init_sipi(struct vcpu *v);

/* INIT: the architectural INIT state (SDM Table 9-1, as KVM's
 * kvm_vcpu_reset(init_event=true)), the local APIC's registers reset
 * (base and ID kept), pending events dropped; an application processor
 * then waits for a SIPI, the BSP (vCPU 0) runs on at the reset vector. */
void vcpu_do_init(struct vcpu *v);

/* SIPI with v->sipi_vector: starts a vCPU in VCPU_WAIT_FOR_SIPI at
 * vector << 12 in real mode; false (ignored, as on hardware) otherwise. */
bool vcpu_do_sipi(struct vcpu *v);

/* For each application processor (vCPU id > 0) at creation, after its
 * backend state and local APIC exist: the INIT state, waiting for a SIPI. */
void vcpu_power_on_ap(struct vcpu *v);
