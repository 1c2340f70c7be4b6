/*
 * x86 instruction emulator for the instructions guests use on MMIO, built
 * on the decoder (vmm/decode.h, included here for its users). It knows
 * nothing about VMCS/VMCB or guest memory: every register, memory and port
 * access goes through the context and its ops, so it builds and runs
 * unchanged in host unit tests.
 */
#pragma once
#include "lib/types.h"
#include "vmm/decode.h"

enum x86_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT,
};

enum emulate_status {
	EMULATE_OK,            /* done, RIP advanced */
	EMULATE_UNHANDLEABLE,  /* not an instruction we emulate: stop the VM with a report */
	EMULATE_EXCEPTION,     /* inject ctx->exception (vector, error code) */
};

struct emulate_ctx;

struct emulate_ops {
	/* Read/write 'size' bytes at segment:offset (the ops apply the segment
	 * base, paging and MMIO dispatch). Return EMULATE_OK or
	 * EMULATE_EXCEPTION after filling ctx->exception. */
	enum emulate_status (*read)(struct emulate_ctx *ctx, enum x86_segment seg, u64 offset,
				    void *data, unsigned size);
	enum emulate_status (*write)(struct emulate_ctx *ctx, enum x86_segment seg, u64 offset,
				     const void *data, unsigned size);
	/* Instruction bytes at CS:offset; returns how many bytes could be read (0..size). */
	unsigned (*fetch)(struct emulate_ctx *ctx, u64 offset, u8 *data, unsigned size);
};

struct emulate_ctx {
	const struct emulate_ops *ops;
	void *opaque;          /* the caller's (vCPU) */
	enum x86_mode mode;
	u64 gpr[GPR_COUNT];
	u64 rip;
	u64 rflags;
	struct {
		u8 vector;
		bool has_error_code;
		u32 error_code;
	} exception;
	struct x86_insn insn;  /* the last decoded instruction */
};

/* Writes a register used at the address size (rSI, rDI, rCX of string
 * instructions): a 32-bit write zero-extends into the 64-bit register, a
 * 16-bit one keeps bits 16-63 (SDM Vol. 1 3.4.1.1). */
static inline void address_register_write(u64 *reg, u64 value, unsigned address_size)
{
	u64 mask = size_mask(address_size);
	*reg = address_size == 4 ? value & mask : (*reg & ~mask) | (value & mask);
}

/* Fetches, decodes and executes one instruction at CS:ctx->rip. */
enum emulate_status x86_emulate(struct emulate_ctx *ctx);
/* The r/m operand (register or memory) of the instruction in ctx->insn,
 * already decoded at CS:ctx->rip (e.g. LMSW's source). */
enum emulate_status x86_read_rm_operand(struct emulate_ctx *ctx, unsigned size, u64 *value);
