/*
 * What the decoder (vmm/decode.c) shares with the emulator (vmm/emulate.c)
 * and with no one else: the encoding fields both take apart, the opcode map
 * and encoding numbers, and the decoder entry that also says which encoding
 * the bytes use.
 */
#pragma once
#include "vmm/decode.h"

/* REX (SDM 2.2.1): 0100WRXB, 64-bit mode only. */
#define REX_MASK 0xf0
#define REX_BASE 0x40
#define REX_W 0x08
#define REX_R 0x04
#define REX_X 0x02
#define REX_B 0x01

/* ModRM and SIB (SDM 2.1.5). */
#define MODRM_MOD(b) ((u8)((b) >> 6))
#define MODRM_REG(b) ((u8)(((b) >> 3) & 7))
#define MODRM_RM(b) ((u8)((b) & 7))
#define MOD_REGISTER 3
#define RM_SIB 4          /* 32/64-bit addressing: a SIB byte follows */
#define RM_DISP32 5       /* with mod 00: disp32 (RIP-relative in 64-bit mode) */
#define RM16_DISP16 6     /* 16-bit addressing, mod 00: disp16 alone */
#define SIB_NO_INDEX 4
#define SIB_BASE_NONE 5   /* with mod 00: disp32, no base */
#define SIB_SCALE(b) ((u8)((b) >> 6))
#define SIB_INDEX(b) ((u8)(((b) >> 3) & 7))
#define SIB_BASE(b) ((u8)((b) & 7))

enum opcode_map_id {
	MAP_ONE_BYTE = 0,
	MAP_0F = 1,
	MAP_0F38 = 2,
	MAP_0F3A = 3,
	/* XOP maps keep AMD's numbers in x86_insn.opcode_map. */
	MAP_XOP8 = 8,
	MAP_XOP9 = 9,
	MAP_XOPA = 10,
};

enum encoding { ENCODING_LEGACY, ENCODING_VEX, ENCODING_EVEX, ENCODING_XOP };

/* x86_decode, and which encoding (legacy, VEX, EVEX, XOP) the bytes use. */
int decode_instruction(const u8 *bytes, size_t available, enum x86_mode mode,
		       struct x86_insn *insn, enum encoding *encoding);
