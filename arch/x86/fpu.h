/*
 * Guest FPU/SSE/AVX state. The hypervisor itself never uses these
 * registers (-mgeneral-regs-only), so a vCPU's state stays live on the CPU
 * while it runs and is only saved/restored when another vCPU takes the CPU.
 */
#pragma once
#include "lib/types.h"
#include "arch/x86/cpu.h"

/* User state components Presidio switches (AMX tiles and supervisor states are not offered). */
#define XCR0_SWITCHED (XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_AVX512 | XCR0_PKRU)
#define FPU_AREA_SIZE 4096 /* enough for every XSAVE layout we enable */

/* The guest's XSETBV and the XCR0 bits it may set are host_set_guest_xcr0()
 * and host_xcr0_supported() (vmm/host.h), implemented in fpu.c. */
void fpu_cpu_init(void);
/* A fresh area in the architectural init state (XSTATE_BV = 0). */
void fpu_area_init(u8 *area);
void fpu_load(const u8 *area, u64 xcr0);
/* Saves the FPU state; returns the XCR0 that was live (the guest's). */
u64 fpu_save(u8 *area);
