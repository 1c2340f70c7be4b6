/* INIT and SIPI on a vCPU (run on its own CPU, VM lock held). */
#pragma once
struct vcpu;
void vcpu_do_init(struct vcpu *v);
void vcpu_do_sipi(struct vcpu *v);
/* An application processor at creation: INIT state, waiting for a SIPI. */
void vcpu_init_ap(struct vcpu *v);
