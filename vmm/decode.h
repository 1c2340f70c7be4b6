/*
 * x86 instruction decoder: the length and fields of one instruction, for
 * the emulator (vmm/emulate.h) and for instruction lengths when the CPU does
 * not report them (SVM without NRIP-save). It only reads the bytes it is
 * given, so it builds and runs unchanged in host unit tests.
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
