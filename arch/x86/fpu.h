/*
 * Guest FPU/SSE/AVX state. The hypervisor itself never uses these
 * registers (-mgeneral-regs-only), so a vCPU's state stays live on the CPU
 * while it runs and is only saved/restored when another vCPU takes the CPU.
 */
#pragma once
#include "lib/types.h"

#define XCR0_X87 BIT(0)
#define XCR0_SSE BIT(1)
#define XCR0_AVX BIT(2)
#define XCR0_OPMASK BIT(5)
#define XCR0_ZMM_HI256 BIT(6)
#define XCR0_HI16_ZMM BIT(7)
#define XCR0_PKRU BIT(9)
/* User state components Presidio switches (AMX tiles and supervisor states are not offered). */
#define XCR0_SWITCHED (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM | XCR0_PKRU)
#define FPU_AREA_SIZE 4096 /* enough for every XSAVE layout we enable */

void fpu_cpu_init(void);
u64 fpu_supported_xcr0(void);
/* A fresh area in the architectural init state (XSTATE_BV = 0). */
void fpu_area_init(u8 *area);
void fpu_load(const u8 *area, u64 xcr0);
/* Saves the FPU state; returns the XCR0 that was live (the guest's). */
u64 fpu_save(u8 *area);
struct vcpu;
/* The guest's XSETBV XCR0 (validated by vmm/cr_rules.c): -1 means #GP. */
int fpu_set_guest_xcr0(struct vcpu *vcpu, u64 xcr0);
