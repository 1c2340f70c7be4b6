/*
 * x86 instruction decoder and emulator for the instructions guests use on
 * MMIO and for instruction lengths when the CPU does not report them
 * (SVM without NRIP-save). It knows nothing about VMCS/VMCB or guest
 * memory: every register, memory and port access goes through the context
 * and its ops, so it builds and runs unchanged in host unit tests.
 */
#pragma once
#include "lib/types.h"

#define X86_MAX_INSN_LENGTH 15

enum x86_mode {
	X86_MODE_REAL,   /* 16-bit real mode (and virtual-8086) */
	X86_MODE_PROT16, /* protected mode, CS.D = 0 */
	X86_MODE_PROT32, /* protected mode, CS.D = 1 (or compatibility mode) */
	X86_MODE_LONG64, /* 64-bit mode, CS.L = 1 */
};

enum x86_segment { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE };

enum x86_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT,
};

/* A decoded instruction: everything the decoder learned from the bytes. */
struct x86_insn {
	u8 length;
	u8 bytes[X86_MAX_INSN_LENGTH];
	u8 opcode_map;        /* 0 = one-byte, 1 = 0F, 2 = 0F38, 3 = 0F3A */
	u8 opcode;
	bool has_modrm;
	u8 modrm, modrm_mod, modrm_reg, modrm_rm; /* reg/rm include REX.R/B */
	bool has_sib;
	u8 sib;
	u8 rex;               /* 0 if none */
	bool operand_size_prefix, address_size_prefix;
	bool lock, rep, repne;
	enum x86_segment segment_override; /* SEG_NONE if none */
	u8 operand_size;      /* effective, bytes: 2, 4 or 8 (byte ops: see insn) */
	u8 address_size;      /* effective, bytes: 2, 4 or 8 */
	s64 displacement;
	u8 displacement_size;
	u64 immediate;        /* zero-extended raw bytes */
	u8 immediate_size;
	bool rip_relative;
};

/* Decodes one instruction from 'bytes' (only 'available' bytes valid).
 * Returns 0, or -1 for an invalid or incomplete encoding. Lengths must be
 * right for every valid instruction of the one-byte, 0F, 0F38 and 0F3A
 * maps including VEX/EVEX-less SSE forms; VEX (C4/C5) and EVEX (62 in
 * 64-bit mode) encodings must at least get their length right. */
int x86_decode(const u8 *bytes, size_t available, enum x86_mode mode, struct x86_insn *insn);

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

/* Fetches, decodes and executes one instruction at CS:ctx->rip. */
enum emulate_status x86_emulate(struct emulate_ctx *ctx);
