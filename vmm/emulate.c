/*
 * x86 instruction decoder and emulator (interface: vmm/emulate.h).
 *
 * The decoder is table-driven and knows the length of every instruction of
 * the legacy one-byte, 0F, 0F38 and 0F3A maps, and of VEX, EVEX and XOP
 * encodings. The emulator executes the integer and data-movement
 * instructions guests aim at MMIO, in the spirit of Linux
 * arch/x86/kvm/emulate.c but much smaller: every register lives in the
 * context and every memory access goes through ctx->ops, so the same code
 * runs in the hypervisor and in host tests. No mutable global state: vCPUs
 * emulate concurrently.
 *
 * References: Intel SDM vol. 2 chapter 2 (instruction format), appendix A
 * (opcode maps); AMD APM vol. 3 chapter 1 (XOP, 3DNow!).
 */
#include "vmm/emulate.h"
#include "lib/string.h"

/* ---- Encoding constants ------------------------------------------------ */

/* Legacy prefixes (SDM 2.1.1). */
#define PREFIX_OPERAND_SIZE 0x66
#define PREFIX_ADDRESS_SIZE 0x67
#define PREFIX_LOCK 0xf0
#define PREFIX_REPNE 0xf2
#define PREFIX_REP 0xf3
#define PREFIX_ES 0x26
#define PREFIX_CS 0x2e
#define PREFIX_SS 0x36
#define PREFIX_DS 0x3e
#define PREFIX_FS 0x64
#define PREFIX_GS 0x65

/* REX (SDM 2.2.1): 0100WRXB, 64-bit mode only. */
#define REX_MASK 0xf0
#define REX_BASE 0x40
#define REX_W 0x08
#define REX_R 0x04
#define REX_X 0x02
#define REX_B 0x01

/* Escapes to the other opcode maps and encodings. */
#define ESCAPE_0F 0x0f
#define ESCAPE_0F38 0x38
#define ESCAPE_0F3A 0x3a
#define OPCODE_3DNOW 0x0f /* 0F 0F modrm imm8: the imm8 is the opcode */
#define ESCAPE_VEX3 0xc4  /* LES outside 64-bit mode unless ModRM.mod = 11 */
#define ESCAPE_VEX2 0xc5  /* LDS likewise */
#define ESCAPE_EVEX 0x62  /* BOUND likewise */
#define ESCAPE_XOP 0x8f   /* POP r/m (group 1A /0) unless ModRM.reg != 0 */

/* VEX/EVEX/XOP payload fields (SDM 2.3.5, 2.7.1; APM 1.8). Register
 * extension bits are stored inverted. */
#define VEX_NOT_R 0x80
#define VEX_NOT_X 0x40
#define VEX_NOT_B 0x20
#define VEX_MAP_MASK 0x1f
#define VEX_W 0x80
#define EVEX_MAP_MASK 0x03
#define EVEX_P0_RESERVED 0x0c /* must be zero */
#define EVEX_P1_FIXED 0x04    /* must be one */
#define VEX_OPCODE_VZEROUPPER 0x77 /* the only VEX opcode without ModRM */

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

/* ---- Opcode attribute tables ------------------------------------------- */

#define ATTR_MODRM 0x0001
#define ATTR_INVALID 0x0002       /* #UD in every mode */
#define ATTR_INVALID_64 0x0004    /* #UD in 64-bit mode */
#define ATTR_DEFAULT_64 0x0008    /* operand size 64 by default in 64-bit mode (stack ops) */
#define ATTR_FORCE_64 0x0010      /* near branches: 64 in 64-bit mode, 66 ignored as on Intel */
#define ATTR_MEMORY_ONLY 0x0020   /* ModRM must name memory (LEA, LES, LSS, ...) */
#define ATTR_MODRM_REGISTER 0x0040 /* MOV CR/DR: mod is ignored, always a register */
#define ATTR_REGISTER_ONLY 0x0080  /* ModRM must name a register (VIA PadLock 0F A6/A7) */
#define ATTR_IMM_SHIFT 8
#define ATTR_IMM_MASK (0xf << ATTR_IMM_SHIFT)

enum immediate_kind {
	IMM_NONE,
	IMM_BYTE,
	IMM_WORD,
	IMM_Z,      /* 16 or 32 bits by operand size */
	IMM_V,      /* 16, 32 or 64 bits by operand size (MOV r, imm) */
	IMM_MOFFS,  /* address-size offset (A0-A3) */
	IMM_ENTER,  /* iw, ib */
	IMM_FAR,    /* ptr16:16 or ptr16:32 */
	IMM_GROUP3, /* F6/F7: only TEST (/0, /1) has one */
	IMM_EXTRQ,  /* 0F 78: ib, ib for 66 (EXTRQ) or F2 (INSERTQ) register forms; VMREAD has none */
	IMM_DWORD,  /* XOP map A */
};

#define M ATTR_MODRM
#define I64 ATTR_INVALID_64
#define D64 ATTR_DEFAULT_64
#define F64 ATTR_FORCE_64
#define MEM ATTR_MEMORY_ONLY
#define REG ATTR_REGISTER_ONLY
#define INV ATTR_INVALID
#define IB (IMM_BYTE << ATTR_IMM_SHIFT)
#define IW (IMM_WORD << ATTR_IMM_SHIFT)
#define IZ (IMM_Z << ATTR_IMM_SHIFT)
#define IV (IMM_V << ATTR_IMM_SHIFT)
#define IMOFFS (IMM_MOFFS << ATTR_IMM_SHIFT)
#define IENTER (IMM_ENTER << ATTR_IMM_SHIFT)
#define IFAR (IMM_FAR << ATTR_IMM_SHIFT)
#define IGRP3 (IMM_GROUP3 << ATTR_IMM_SHIFT)
#define IEXTRQ (IMM_EXTRQ << ATTR_IMM_SHIFT)
#define ID (IMM_DWORD << ATTR_IMM_SHIFT)

/* SDM table A-2. Prefix bytes (26 2E 36 3E 64-67 F0 F2 F3), REX and the
 * 0F escape never reach a lookup; zero means "no ModRM, no immediate". */
static const u16 one_byte_map[256] = {
	[0x00 ... 0x03] = M, [0x04] = IB, [0x05] = IZ, [0x06 ... 0x07] = I64,
	[0x08 ... 0x0b] = M, [0x0c] = IB, [0x0d] = IZ, [0x0e] = I64,
	[0x10 ... 0x13] = M, [0x14] = IB, [0x15] = IZ, [0x16 ... 0x17] = I64,
	[0x18 ... 0x1b] = M, [0x1c] = IB, [0x1d] = IZ, [0x1e ... 0x1f] = I64,
	[0x20 ... 0x23] = M, [0x24] = IB, [0x25] = IZ, [0x27] = I64,
	[0x28 ... 0x2b] = M, [0x2c] = IB, [0x2d] = IZ, [0x2f] = I64,
	[0x30 ... 0x33] = M, [0x34] = IB, [0x35] = IZ, [0x37] = I64,
	[0x38 ... 0x3b] = M, [0x3c] = IB, [0x3d] = IZ, [0x3f] = I64,
	[0x50 ... 0x5f] = D64,
	[0x60 ... 0x61] = I64, [0x62] = M | MEM | I64, [0x63] = M,
	[0x68] = IZ | D64, [0x69] = M | IZ, [0x6a] = IB | D64, [0x6b] = M | IB,
	[0x70 ... 0x7f] = IB | F64,
	[0x80] = M | IB, [0x81] = M | IZ, [0x82] = M | IB | I64, [0x83] = M | IB,
	[0x84 ... 0x8c] = M, [0x8d] = M | MEM, [0x8e] = M, [0x8f] = M | D64,
	[0x9a] = IFAR | I64, [0x9c ... 0x9d] = D64,
	[0xa0 ... 0xa3] = IMOFFS, [0xa8] = IB, [0xa9] = IZ,
	[0xb0 ... 0xb7] = IB, [0xb8 ... 0xbf] = IV,
	[0xc0 ... 0xc1] = M | IB, [0xc2] = IW | F64, [0xc3] = F64, [0xc4 ... 0xc5] = M | MEM | I64,
	[0xc6] = M | IB, [0xc7] = M | IZ, [0xc8] = IENTER | D64, [0xc9] = D64, [0xca] = IW,
	[0xcd] = IB, [0xce] = I64,
	[0xd0 ... 0xd3] = M, [0xd4 ... 0xd5] = IB | I64, [0xd6] = I64, [0xd8 ... 0xdf] = M,
	[0xe0 ... 0xe3] = IB | F64, [0xe4 ... 0xe7] = IB, [0xe8 ... 0xe9] = IZ | F64,
	[0xea] = IFAR | I64, [0xeb] = IB | F64,
	[0xf6 ... 0xf7] = M | IGRP3, [0xfe ... 0xff] = M,
};

/* SDM tables A-3 and A-4 (0F xx); the 0F 38 and 0F 3A escapes are handled
 * before a lookup. UD1 (B9) and UD0 (FF) take a ModRM as on Intel; A6/A7
 * are VIA PadLock (XSHA*, XCRYPT*, MONTMUL, XSTORE), register forms only. */
static const u16 map_0f[256] = {
	[0x00 ... 0x03] = M, [0x04] = INV, [0x0a] = INV, [0x0c] = INV, [0x0d] = M,
	[0x0f] = M | IB, [0x10 ... 0x1f] = M, [0x20 ... 0x23] = M | ATTR_MODRM_REGISTER,
	[0x24 ... 0x27] = INV, [0x28 ... 0x2f] = M, [0x36] = INV, [0x39] = INV,
	[0x3b ... 0x3f] = INV, [0x40 ... 0x6f] = M, [0x70 ... 0x73] = M | IB, [0x74 ... 0x76] = M,
	[0x78] = M | IEXTRQ, [0x79] = M, [0x7a ... 0x7b] = INV, [0x7c ... 0x7f] = M,
	[0x80 ... 0x8f] = IZ | F64, [0x90 ... 0x9f] = M, [0xa0 ... 0xa1] = D64, [0xa3] = M,
	[0xa4] = M | IB, [0xa5] = M, [0xa6 ... 0xa7] = M | REG, [0xa8 ... 0xa9] = D64, [0xab] = M,
	[0xac] = M | IB, [0xad ... 0xb1] = M, [0xb2] = M | MEM, [0xb3] = M, [0xb4 ... 0xb5] = M | MEM,
	[0xb6 ... 0xb9] = M, [0xba] = M | IB, [0xbb ... 0xc1] = M, [0xc2] = M | IB, [0xc3] = M,
	[0xc4 ... 0xc6] = M | IB, [0xc7] = M, [0xd0 ... 0xff] = M,
};

#undef M
#undef I64
#undef D64
#undef F64
#undef MEM
#undef REG
#undef INV
#undef IB
#undef IW
#undef IZ
#undef IV
#undef IMOFFS
#undef IENTER
#undef IFAR
#undef IGRP3
#undef IEXTRQ
#undef ID

/* Attributes of a VEX/EVEX/XOP opcode: always a ModRM except VZEROUPPER
 * and VZEROALL; immediates where the legacy SSE form has one. */
static u16 extended_encoding_attributes(enum encoding encoding, u8 map, u8 opcode)
{
	u16 byte = IMM_BYTE << ATTR_IMM_SHIFT;
	switch (map) {
	case MAP_0F:
		if (encoding == ENCODING_VEX && opcode == VEX_OPCODE_VZEROUPPER)
			return 0;
		if ((opcode >= 0x70 && opcode <= 0x73) || opcode == 0xc2 || (opcode >= 0xc4 && opcode <= 0xc6))
			return ATTR_MODRM | byte;
		return ATTR_MODRM;
	case MAP_0F38:
	case MAP_XOP9:
		return ATTR_MODRM;
	case MAP_0F3A:
	case MAP_XOP8:
		return ATTR_MODRM | byte;
	case MAP_XOPA:
		return ATTR_MODRM | (IMM_DWORD << ATTR_IMM_SHIFT);
	default:
		return ATTR_INVALID;
	}
}

/* ---- Decoder ------------------------------------------------------------ */

struct decoder {
	const u8 *bytes;
	size_t available; /* never more than X86_MAX_INSN_LENGTH */
	size_t position;
	enum x86_mode mode;
	struct x86_insn *insn;
	enum encoding encoding;
	bool simd_prefix;       /* any 66, F2 or F3 seen (not just the last) */
	bool rex_w, ext_r, ext_x, ext_b; /* from REX, or VEX/EVEX/XOP in 64-bit mode */
};

static bool peek(const struct decoder *d, size_t ahead, u8 *byte)
{
	if (d->position + ahead >= d->available)
		return false;
	*byte = d->bytes[d->position + ahead];
	return true;
}

static bool next_byte(struct decoder *d, u8 *byte)
{
	if (!peek(d, 0, byte))
		return false;
	d->position++;
	return true;
}

/* Little-endian, zero-extended. */
static bool next_bytes(struct decoder *d, unsigned count, u64 *value)
{
	if (d->position + count > d->available)
		return false;
	*value = 0;
	for (unsigned i = 0; i < count; i++)
		*value |= (u64)d->bytes[d->position + i] << (8 * i);
	d->position += count;
	return true;
}

static bool segment_prefix(u8 byte, enum x86_segment *segment)
{
	switch (byte) {
	case PREFIX_ES: *segment = SEG_ES; return true;
	case PREFIX_CS: *segment = SEG_CS; return true;
	case PREFIX_SS: *segment = SEG_SS; return true;
	case PREFIX_DS: *segment = SEG_DS; return true;
	case PREFIX_FS: *segment = SEG_FS; return true;
	case PREFIX_GS: *segment = SEG_GS; return true;
	default: return false;
	}
}

/* Legacy prefixes and REX. The length limit bounds their number (at most
 * 14 before a one-byte opcode). A REX followed by anything but the opcode
 * is ignored, as the CPU does (SDM 2.2.1). */
static int decode_prefixes(struct decoder *d)
{
	struct x86_insn *insn = d->insn;
	u8 byte;
	while (peek(d, 0, &byte)) {
		enum x86_segment segment;
		if (segment_prefix(byte, &segment)) {
			insn->segment_override = segment;
		} else if (byte == PREFIX_OPERAND_SIZE) {
			insn->operand_size_prefix = true;
			d->simd_prefix = true;
		} else if (byte == PREFIX_ADDRESS_SIZE) {
			insn->address_size_prefix = true;
		} else if (byte == PREFIX_LOCK) {
			insn->lock = true;
		} else if (byte == PREFIX_REP || byte == PREFIX_REPNE) {
			/* The last of F2/F3 is the one that counts. */
			insn->rep = byte == PREFIX_REP;
			insn->repne = byte == PREFIX_REPNE;
			d->simd_prefix = true;
		} else if (d->mode == X86_MODE_LONG64 && (byte & REX_MASK) == REX_BASE) {
			insn->rex = byte;
			d->position++;
			continue;
		} else {
			return 0;
		}
		insn->rex = 0;
		d->position++;
	}
	return -1;
}

static u8 address_size_for(enum x86_mode mode, bool prefix)
{
	switch (mode) {
	case X86_MODE_LONG64: return prefix ? 4 : 8;
	case X86_MODE_PROT32: return prefix ? 2 : 4;
	default: return prefix ? 4 : 2;
	}
}

/* C4/C5/62 start VEX/EVEX in 64-bit mode, and elsewhere when the next byte
 * could not be the ModRM of LES/LDS/BOUND (mod = 11); 8F starts XOP when
 * the next byte could not be POP's ModRM (reg != 0). */
static int classify_escape(struct decoder *d, u8 byte)
{
	u8 next;
	d->encoding = ENCODING_LEGACY;
	if (byte != ESCAPE_VEX3 && byte != ESCAPE_VEX2 && byte != ESCAPE_EVEX && byte != ESCAPE_XOP)
		return 0;
	if (!peek(d, 1, &next))
		return -1;
	if (byte == ESCAPE_XOP) {
		if (MODRM_REG(next) == 0)
			return 0;
		d->encoding = ENCODING_XOP;
	} else {
		if (d->mode != X86_MODE_LONG64 && MODRM_MOD(next) != MOD_REGISTER)
			return 0;
		d->encoding = byte == ESCAPE_EVEX ? ENCODING_EVEX : ENCODING_VEX;
	}
	/* #UD in real/virtual-8086 mode, and after 66/F2/F3/F0/REX (SDM 2.3.2). */
	if (d->mode == X86_MODE_REAL)
		return -1;
	if (d->simd_prefix || d->insn->lock || d->insn->rex)
		return -1;
	return 0;
}

/* Reads the VEX/EVEX/XOP payload; leaves the position on the opcode. */
static int decode_extended_prefix(struct decoder *d, u8 escape)
{
	u8 p0, p1, p2;
	u8 map;
	d->position++; /* the escape byte */
	if (!next_byte(d, &p0))
		return -1;
	if (escape == ESCAPE_VEX2) {
		map = MAP_0F;
		p1 = 0;
		p0 |= VEX_NOT_X | VEX_NOT_B;
	} else {
		if (!next_byte(d, &p1))
			return -1;
		if (escape == ESCAPE_EVEX) {
			if (!next_byte(d, &p2))
				return -1;
			if ((p0 & EVEX_P0_RESERVED) || !(p1 & EVEX_P1_FIXED))
				return -1;
			map = p0 & EVEX_MAP_MASK;
		} else {
			map = p0 & VEX_MAP_MASK;
		}
	}
	if (d->encoding == ENCODING_XOP ? (map < MAP_XOP8 || map > MAP_XOPA)
					: (map < MAP_0F || map > MAP_0F3A))
		return -1;
	d->insn->opcode_map = map;
	/* Outside 64-bit mode R/X/B are forced to 1 (inverted 0) or ignored. */
	if (d->mode == X86_MODE_LONG64) {
		d->ext_r = !(p0 & VEX_NOT_R);
		d->ext_x = !(p0 & VEX_NOT_X);
		d->ext_b = !(p0 & VEX_NOT_B);
		d->rex_w = (p1 & VEX_W) != 0;
	}
	return 0;
}

/* Reads the opcode (and 0F/0F38/0F3A escapes); returns its attributes. */
static int decode_opcode(struct decoder *d, u16 *attributes)
{
	struct x86_insn *insn = d->insn;
	u8 byte;
	if (!peek(d, 0, &byte) || classify_escape(d, byte))
		return -1;
	if (d->encoding != ENCODING_LEGACY) {
		if (decode_extended_prefix(d, byte) || !next_byte(d, &insn->opcode))
			return -1;
		*attributes = extended_encoding_attributes(d->encoding, insn->opcode_map, insn->opcode);
		return 0;
	}
	d->position++;
	if (byte != ESCAPE_0F) {
		insn->opcode_map = MAP_ONE_BYTE;
		insn->opcode = byte;
		*attributes = one_byte_map[byte];
		return 0;
	}
	if (!next_byte(d, &byte))
		return -1;
	if (byte == ESCAPE_0F38 || byte == ESCAPE_0F3A) {
		insn->opcode_map = byte == ESCAPE_0F38 ? MAP_0F38 : MAP_0F3A;
		if (!next_byte(d, &insn->opcode))
			return -1;
		*attributes = ATTR_MODRM | (insn->opcode_map == MAP_0F3A ? IMM_BYTE << ATTR_IMM_SHIFT : 0);
		return 0;
	}
	insn->opcode_map = MAP_0F;
	insn->opcode = byte;
	*attributes = map_0f[byte];
	return 0;
}

static int decode_displacement(struct decoder *d, unsigned size)
{
	u64 raw;
	if (!next_bytes(d, size, &raw))
		return -1;
	d->insn->displacement_size = (u8)size;
	d->insn->displacement = size == 1 ? (s64)(int8_t)raw : size == 2 ? (s64)(int16_t)raw : (s64)(int32_t)raw;
	return 0;
}

/* ModRM, SIB and displacement (SDM tables 2-1 to 2-3). */
static int decode_modrm(struct decoder *d, u16 attributes)
{
	struct x86_insn *insn = d->insn;
	u8 mod, rm;
	if (!next_byte(d, &insn->modrm))
		return -1;
	insn->has_modrm = true;
	mod = (attributes & ATTR_MODRM_REGISTER) ? MOD_REGISTER : MODRM_MOD(insn->modrm);
	rm = MODRM_RM(insn->modrm);
	insn->modrm_mod = mod;
	insn->modrm_reg = MODRM_REG(insn->modrm) | (d->ext_r ? 8 : 0);
	insn->modrm_rm = rm | (d->ext_b ? 8 : 0);
	if (mod == MOD_REGISTER)
		return (attributes & ATTR_MEMORY_ONLY) ? -1 : 0;
	if (attributes & ATTR_REGISTER_ONLY)
		return -1;
	if (insn->address_size == 2) {
		if (mod == 0)
			return rm == RM16_DISP16 ? decode_displacement(d, 2) : 0;
		return decode_displacement(d, mod == 1 ? 1 : 2);
	}
	if (rm == RM_SIB) {
		if (!next_byte(d, &insn->sib))
			return -1;
		insn->has_sib = true;
		if (mod == 0 && SIB_BASE(insn->sib) == SIB_BASE_NONE)
			return decode_displacement(d, 4);
	} else if (mod == 0 && rm == RM_DISP32) {
		insn->rip_relative = d->mode == X86_MODE_LONG64;
		return decode_displacement(d, 4);
	}
	if (mod == 0)
		return 0;
	return decode_displacement(d, mod == 1 ? 1 : 4);
}

/* SDM 2.2.1.2 and 3.3.6.1 (operand-size attributes in 64-bit mode). */
static u8 operand_size_for(const struct decoder *d, u16 attributes)
{
	bool prefix = d->insn->operand_size_prefix;
	if (d->mode != X86_MODE_LONG64) {
		bool default16 = d->mode != X86_MODE_PROT32;
		return default16 != prefix ? 2 : 4;
	}
	if ((attributes & ATTR_FORCE_64) || d->rex_w)
		return 8;
	if (prefix)
		return 2;
	return (attributes & ATTR_DEFAULT_64) ? 8 : 4;
}

/* Attributes that depend on ModRM.reg within an opcode group. */
static int apply_group_rules(struct decoder *d, u16 *attributes)
{
	const struct x86_insn *insn = d->insn;
	u8 reg = MODRM_REG(insn->modrm);
	if (d->encoding != ENCODING_LEGACY || insn->opcode_map != MAP_ONE_BYTE)
		return 0;
	switch (insn->opcode) {
	case 0xc6:
	case 0xc7:
		/* MOV is /0; only XABORT (C6 F8) and XBEGIN (C7 F8) live beside it. */
		return reg == 0 || insn->modrm == 0xf8 ? 0 : -1;
	case 0xff:
		if (reg == 2 || reg == 4) /* near CALL/JMP */
			*attributes |= ATTR_FORCE_64;
		else if (reg == 6) /* PUSH */
			*attributes |= ATTR_DEFAULT_64;
		return 0;
	default:
		return 0;
	}
}

static unsigned immediate_size(const struct decoder *d, u16 attributes)
{
	const struct x86_insn *insn = d->insn;
	unsigned z = insn->operand_size == 2 ? 2 : 4;
	switch ((attributes & ATTR_IMM_MASK) >> ATTR_IMM_SHIFT) {
	case IMM_BYTE: return 1;
	case IMM_WORD: return 2;
	case IMM_Z: return z;
	case IMM_V: return insn->operand_size;
	case IMM_MOFFS: return insn->address_size;
	case IMM_ENTER: return 3;
	case IMM_FAR: return z + 2;
	case IMM_GROUP3:
		if (MODRM_REG(insn->modrm) > 1)
			return 0;
		return insn->opcode & 1 ? z : 1;
	case IMM_EXTRQ:
		/* EXTRQ/INSERTQ are register-only; F2/F3 take precedence over 66
		 * as mandatory prefixes. Memory forms are VMREAD. */
		if (insn->modrm_mod != MOD_REGISTER)
			return 0;
		return insn->repne || (insn->operand_size_prefix && !insn->rep) ? 2 : 0;
	case IMM_DWORD: return 4;
	default: return 0;
	}
}

static bool attributes_valid(const struct decoder *d, u16 attributes)
{
	if (attributes & ATTR_INVALID)
		return false;
	return !(d->mode == X86_MODE_LONG64 && (attributes & ATTR_INVALID_64));
}

static int decode_instruction(const u8 *bytes, size_t available, enum x86_mode mode,
			      struct x86_insn *insn, enum encoding *encoding)
{
	struct decoder d = { .bytes = bytes, .mode = mode, .insn = insn };
	u16 attributes;
	unsigned immediate_bytes;

	memset(insn, 0, sizeof(*insn));
	insn->segment_override = SEG_NONE;
	d.available = MIN(available, (size_t)X86_MAX_INSN_LENGTH);
	if (d.available)
		memcpy(insn->bytes, bytes, d.available);

	if (decode_prefixes(&d))
		return -1;
	if (insn->rex && mode == X86_MODE_LONG64) {
		d.rex_w = insn->rex & REX_W;
		d.ext_r = insn->rex & REX_R;
		d.ext_x = insn->rex & REX_X;
		d.ext_b = insn->rex & REX_B;
	}
	insn->address_size = address_size_for(mode, insn->address_size_prefix);
	if (decode_opcode(&d, &attributes) || !attributes_valid(&d, attributes))
		return -1;
	if ((attributes & ATTR_MODRM) && (decode_modrm(&d, attributes) || apply_group_rules(&d, &attributes)))
		return -1;
	insn->operand_size = operand_size_for(&d, attributes);
	immediate_bytes = immediate_size(&d, attributes);
	if (immediate_bytes && !next_bytes(&d, immediate_bytes, &insn->immediate))
		return -1;
	insn->immediate_size = (u8)immediate_bytes;
	insn->length = (u8)d.position;
	memset(insn->bytes + insn->length, 0, sizeof(insn->bytes) - insn->length);
	*encoding = d.encoding;
	return 0;
}

int x86_decode(const u8 *bytes, size_t available, enum x86_mode mode, struct x86_insn *insn)
{
	enum encoding encoding;
	return decode_instruction(bytes, available, mode, insn, &encoding);
}

/* ---- Effective addresses ------------------------------------------------ */

#define NO_REGISTER (-1)

/* A ModRM memory operand taken apart: offset = base + index * scale +
 * displacement (+ next RIP when rip_relative), truncated to address size.
 * Legacy encodings only (SIB register extensions come from REX). */
struct address_parts {
	int base, index;
	unsigned scale;
	s64 displacement;
	bool rip_relative;
	enum x86_segment default_segment;
};

/* SDM table 2-1: the eight 16-bit forms. */
static const struct {
	int8_t base, index;
} modrm16_forms[8] = {
	{ GPR_RBX, GPR_RSI }, { GPR_RBX, GPR_RDI }, { GPR_RBP, GPR_RSI }, { GPR_RBP, GPR_RDI },
	{ GPR_RSI, NO_REGISTER }, { GPR_RDI, NO_REGISTER }, { GPR_RBP, NO_REGISTER }, { GPR_RBX, NO_REGISTER },
};

static void modrm_address_parts(const struct x86_insn *insn, struct address_parts *parts)
{
	u8 rm = MODRM_RM(insn->modrm);
	parts->base = NO_REGISTER;
	parts->index = NO_REGISTER;
	parts->scale = 1;
	parts->displacement = insn->displacement;
	parts->rip_relative = insn->rip_relative;
	if (insn->address_size == 2) {
		if (!(insn->modrm_mod == 0 && rm == RM16_DISP16)) {
			parts->base = modrm16_forms[rm].base;
			parts->index = modrm16_forms[rm].index;
		}
	} else if (insn->has_sib) {
		u8 base = SIB_BASE(insn->sib), index = SIB_INDEX(insn->sib) | (insn->rex & REX_X ? 8 : 0);
		if (!(insn->modrm_mod == 0 && base == SIB_BASE_NONE))
			parts->base = base | (insn->rex & REX_B ? 8 : 0);
		if (index != SIB_NO_INDEX)
			parts->index = index;
		parts->scale = 1u << SIB_SCALE(insn->sib);
	} else if (!(insn->modrm_mod == 0 && rm == RM_DISP32)) {
		parts->base = insn->modrm_rm;
	}
	/* rBP and rSP bases address the stack (SDM 3.7.4); R12/R13 do not. */
	parts->default_segment = parts->base == GPR_RBP || parts->base == GPR_RSP ? SEG_SS : SEG_DS;
}

/* ---- Emulator ----------------------------------------------------------- */

#define RFLAGS_CF BIT(0)
#define RFLAGS_PF BIT(2)
#define RFLAGS_AF BIT(4)
#define RFLAGS_ZF BIT(6)
#define RFLAGS_SF BIT(7)
#define RFLAGS_DF BIT(10)
#define RFLAGS_OF BIT(11)
#define RFLAGS_ARITHMETIC (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

#define VECTOR_UD 6

/* A REP string instruction runs at most this many iterations per call and
 * then leaves RIP on itself with rCX/rSI/rDI updated, exactly as the CPU
 * does when it takes an interrupt mid-way: the guest re-executes it. This
 * bounds the time one exit can take whatever count the guest chose. */
#define STRING_BATCH_LIMIT 1024

/* One-byte opcodes the emulator executes (SDM table A-2). */
enum {
	OPCODE_ALU_LAST = 0x3d,   /* 00-3D: ADD OR ADC SBB AND SUB XOR CMP, six forms each */
	OPCODE_ALU_FORM_MASK = 0x07,
	OPCODE_ALU_FORM_AL_IB = 0x04,
	OPCODE_ALU_FORM_RAX_IZ = 0x05,
	OPCODE_MOVSXD = 0x63,
	OPCODE_GROUP1_EB_IB = 0x80,
	OPCODE_GROUP1_EV_IZ = 0x81,
	OPCODE_GROUP1_EB_IB_ALIAS = 0x82,
	OPCODE_GROUP1_EV_IB = 0x83,
	OPCODE_TEST_EB_GB = 0x84,
	OPCODE_TEST_EV_GV = 0x85,
	OPCODE_XCHG_EB_GB = 0x86,
	OPCODE_XCHG_EV_GV = 0x87,
	OPCODE_MOV_EB_GB = 0x88,
	OPCODE_MOV_EV_GV = 0x89,
	OPCODE_MOV_GB_EB = 0x8a,
	OPCODE_MOV_GV_EV = 0x8b,
	OPCODE_MOV_AL_OB = 0xa0,
	OPCODE_MOV_RAX_OV = 0xa1,
	OPCODE_MOV_OB_AL = 0xa2,
	OPCODE_MOV_OV_RAX = 0xa3,
	OPCODE_MOVS = 0xa4,
	OPCODE_CMPS = 0xa6,
	OPCODE_TEST_AL_IB = 0xa8,
	OPCODE_TEST_RAX_IZ = 0xa9,
	OPCODE_STOS = 0xaa,
	OPCODE_LODS = 0xac,
	OPCODE_SCAS = 0xae,
	OPCODE_MOV_EB_IB = 0xc6,
	OPCODE_MOV_EV_IZ = 0xc7,
	OPCODE_GROUP3_EB = 0xf6,
	OPCODE_GROUP3_EV = 0xf7,
	OPCODE_GROUP4_EB = 0xfe,
	OPCODE_GROUP5_EV = 0xff,
};

/* 0F xx opcodes the emulator executes (SDM table A-3). */
enum {
	OPCODE_0F_BT = 0xa3,
	OPCODE_0F_BTS = 0xab,
	OPCODE_0F_BTR = 0xb3,
	OPCODE_0F_BTC = 0xbb,
	OPCODE_0F_GROUP8 = 0xba, /* /4 BT, /5 BTS, /6 BTR, /7 BTC with imm8 */
	OPCODE_0F_MOVZX_GV_EB = 0xb6,
	OPCODE_0F_MOVZX_GV_EW = 0xb7,
	OPCODE_0F_MOVSX_GV_EB = 0xbe,
	OPCODE_0F_MOVSX_GV_EW = 0xbf,
};

#define STRING_OPCODE_SIZE_BIT 0x01 /* A4-AF: even = byte, odd = operand size */
#define GROUP8_FIRST_REG 4

/* In opcode order: (opcode >> 3) for 00-3D and ModRM.reg for group 1. */
enum alu_operation {
	ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
	ALU_TEST, ALU_INC, ALU_DEC, ALU_NOT, ALU_NEG,
};

/* In the order of group 8's ModRM.reg - 4 and of (opcode >> 3) & 3 for 0F A3/AB/B3/BB. */
enum bit_operation { BIT_TEST, BIT_SET, BIT_RESET, BIT_COMPLEMENT };

enum operand_kind { OPERAND_REGISTER, OPERAND_MEMORY, OPERAND_IMMEDIATE };

struct operand {
	enum operand_kind kind;
	unsigned size;          /* bytes: 1, 2, 4 or 8 */
	unsigned reg;           /* OPERAND_REGISTER */
	bool high_byte;         /* AH, CH, DH, BH */
	enum x86_segment segment; /* OPERAND_MEMORY */
	u64 offset;
	u64 value;
};

struct execution {
	struct emulate_ctx *ctx;
	const struct x86_insn *insn;
	bool restart; /* a REP instruction stopped early: RIP stays on it */
};

static u64 sign_bit(unsigned size)
{
	return 1ULL << (8 * size - 1);
}

static u64 sign_extend(u64 value, unsigned size)
{
	u64 sign;
	if (size >= 8)
		return value;
	sign = sign_bit(size);
	value &= size_mask(size);
	return (value ^ sign) - sign;
}

static enum emulate_status raise_exception(struct emulate_ctx *ctx, u8 vector)
{
	ctx->exception.vector = vector;
	ctx->exception.has_error_code = false;
	ctx->exception.error_code = 0;
	return EMULATE_EXCEPTION;
}

static enum x86_segment effective_segment(const struct x86_insn *insn, enum x86_segment default_segment)
{
	return insn->segment_override != SEG_NONE ? insn->segment_override : default_segment;
}

/* Without REX, byte registers 4-7 are AH, CH, DH, BH (SDM 3.4.1.1). */
static struct operand register_operand(const struct execution *e, unsigned reg, unsigned size)
{
	struct operand op = { .kind = OPERAND_REGISTER, .size = size, .reg = reg };
	if (size == 1 && !e->insn->rex && reg >= 4 && reg < 8) {
		op.reg = reg - 4;
		op.high_byte = true;
	}
	return op;
}

static struct operand memory_operand(enum x86_segment segment, u64 offset, unsigned size)
{
	struct operand op = { .kind = OPERAND_MEMORY, .size = size, .segment = segment, .offset = offset };
	return op;
}

static u64 next_rip(const struct emulate_ctx *ctx)
{
	u64 rip = ctx->rip + ctx->insn.length;
	switch (ctx->mode) {
	case X86_MODE_LONG64: return rip;
	case X86_MODE_PROT32: return rip & 0xffffffffULL;
	default: return rip & 0xffffULL;
	}
}

static u64 modrm_offset(const struct execution *e, enum x86_segment *default_segment)
{
	const struct emulate_ctx *ctx = e->ctx;
	struct address_parts parts;
	u64 offset;
	modrm_address_parts(e->insn, &parts);
	offset = (u64)parts.displacement;
	if (parts.base != NO_REGISTER)
		offset += ctx->gpr[parts.base];
	if (parts.index != NO_REGISTER)
		offset += ctx->gpr[parts.index] * parts.scale;
	if (parts.rip_relative)
		offset += next_rip(ctx);
	*default_segment = parts.default_segment;
	return offset & size_mask(e->insn->address_size);
}

/* The r/m operand: a register for mod = 11, else memory. */
static struct operand rm_operand(const struct execution *e, unsigned size)
{
	enum x86_segment default_segment;
	u64 offset;
	if (e->insn->modrm_mod == MOD_REGISTER)
		return register_operand(e, e->insn->modrm_rm, size);
	offset = modrm_offset(e, &default_segment);
	return memory_operand(effective_segment(e->insn, default_segment), offset, size);
}

static struct operand reg_operand(const struct execution *e, unsigned size)
{
	return register_operand(e, e->insn->modrm_reg, size);
}

/* Immediates are sign-extended to the operand size (imm8 of 83, imm32 of
 * REX.W forms). */
static struct operand immediate_operand(const struct execution *e, unsigned size)
{
	struct operand op = { .kind = OPERAND_IMMEDIATE, .size = size };
	op.value = sign_extend(e->insn->immediate, e->insn->immediate_size) & size_mask(size);
	return op;
}

static u64 register_read(const struct emulate_ctx *ctx, const struct operand *op)
{
	u64 value = ctx->gpr[op->reg];
	if (op->high_byte)
		value >>= 8;
	return value & size_mask(op->size);
}

/* 32-bit writes zero-extend, 8- and 16-bit writes keep the rest (SDM 3.4.1.1). */
static void register_write(struct emulate_ctx *ctx, const struct operand *op, u64 value)
{
	u64 *reg = &ctx->gpr[op->reg];
	switch (op->size) {
	case 1:
		if (op->high_byte)
			*reg = (*reg & ~0xff00ULL) | ((value & 0xff) << 8);
		else
			*reg = (*reg & ~0xffULL) | (value & 0xff);
		break;
	case 2: *reg = (*reg & ~0xffffULL) | (value & 0xffff); break;
	case 4: *reg = value & 0xffffffffULL; break;
	default: *reg = value; break;
	}
}

static enum emulate_status operand_read(const struct execution *e, struct operand *op)
{
	struct emulate_ctx *ctx = e->ctx;
	switch (op->kind) {
	case OPERAND_REGISTER:
		op->value = register_read(ctx, op);
		return EMULATE_OK;
	case OPERAND_MEMORY:
		op->value = 0; /* little-endian: the low 'size' bytes are filled */
		return ctx->ops->read(ctx, op->segment, op->offset, &op->value, op->size);
	default:
		return EMULATE_OK;
	}
}

static enum emulate_status operand_write(const struct execution *e, const struct operand *op, u64 value)
{
	struct emulate_ctx *ctx = e->ctx;
	value &= size_mask(op->size);
	if (op->kind == OPERAND_MEMORY)
		return ctx->ops->write(ctx, op->segment, op->offset, &value, op->size);
	register_write(ctx, op, value);
	return EMULATE_OK;
}

/* LOCK is legal only on the read-modify-write instructions with a memory
 * destination; anything else raises #UD (SDM "LOCK"). */
static bool lock_allowed(const struct execution *e, bool lockable, const struct operand *destination)
{
	return !e->insn->lock || (lockable && destination->kind == OPERAND_MEMORY);
}

/* ---- Arithmetic flags --------------------------------------------------- */

static bool parity_even(u64 value)
{
	u8 byte = (u8)value;
	byte ^= byte >> 4;
	byte ^= byte >> 2;
	byte ^= byte >> 1;
	return !(byte & 1);
}

static u64 result_flags(u64 result, unsigned size)
{
	u64 flags = 0;
	if (!(result & size_mask(size)))
		flags |= RFLAGS_ZF;
	if (result & sign_bit(size))
		flags |= RFLAGS_SF;
	if (parity_even(result))
		flags |= RFLAGS_PF;
	return flags;
}

static u64 add_flags(u64 a, u64 b, u64 result, bool carry, unsigned size)
{
	u64 flags = result_flags(result, size);
	if (carry)
		flags |= RFLAGS_CF;
	if ((a ^ result) & (b ^ result) & sign_bit(size))
		flags |= RFLAGS_OF;
	if ((a ^ b ^ result) & 0x10)
		flags |= RFLAGS_AF;
	return flags;
}

static u64 sub_flags(u64 a, u64 b, u64 result, bool borrow, unsigned size)
{
	u64 flags = result_flags(result, size);
	if (borrow)
		flags |= RFLAGS_CF;
	if ((a ^ b) & (a ^ result) & sign_bit(size))
		flags |= RFLAGS_OF;
	if ((a ^ b ^ result) & 0x10)
		flags |= RFLAGS_AF;
	return flags;
}

/* Computes 'a op b' at 'size' bytes and updates the flags the operation
 * defines in *rflags. Logic ops clear AF (the SDM leaves it undefined;
 * hardware clears it). INC/DEC keep CF, NOT changes no flag. */
static u64 alu_compute(enum alu_operation op, u64 a, u64 b, unsigned size, u64 *rflags)
{
	u64 mask = size_mask(size), result, flags, affected = RFLAGS_ARITHMETIC;
	bool carry_in = (*rflags & RFLAGS_CF) != 0;
	a &= mask;
	b &= mask;
	switch (op) {
	case ALU_ADD:
	case ALU_ADC: {
		u64 carry = op == ALU_ADC && carry_in;
		result = (a + b + carry) & mask;
		flags = add_flags(a, b, result, result < a || (carry && result == a), size);
		break;
	}
	case ALU_SUB:
	case ALU_CMP:
	case ALU_SBB: {
		u64 borrow = op == ALU_SBB && carry_in;
		result = (a - b - borrow) & mask;
		flags = sub_flags(a, b, result, a < b || (borrow && a == b), size);
		break;
	}
	case ALU_INC:
		result = (a + 1) & mask;
		flags = add_flags(a, 1, result, false, size);
		affected &= ~RFLAGS_CF;
		break;
	case ALU_DEC:
		result = (a - 1) & mask;
		flags = sub_flags(a, 1, result, false, size);
		affected &= ~RFLAGS_CF;
		break;
	case ALU_NEG:
		result = (0 - a) & mask;
		flags = sub_flags(0, a, result, a != 0, size);
		break;
	case ALU_NOT:
		return ~a & mask;
	case ALU_OR:
		result = a | b;
		flags = result_flags(result, size);
		break;
	case ALU_XOR:
		result = a ^ b;
		flags = result_flags(result, size);
		break;
	default: /* AND, TEST */
		result = a & b;
		flags = result_flags(result, size);
		break;
	}
	*rflags = (*rflags & ~affected) | (flags & affected);
	return result;
}

static bool alu_writes_result(enum alu_operation op)
{
	return op != ALU_CMP && op != ALU_TEST;
}

/* ---- Instruction families ----------------------------------------------- */

/* Reads both operands, computes, writes the destination, then the flags:
 * a faulting write leaves the architectural state untouched. LOCKed forms
 * are not atomic here; the accesses are MMIO, which has no atomicity. */
static enum emulate_status execute_alu(struct execution *e, enum alu_operation op, bool lockable,
				       struct operand *dst, struct operand *src)
{
	enum emulate_status status;
	u64 flags = e->ctx->rflags, result;
	if (!lock_allowed(e, lockable, dst))
		return raise_exception(e->ctx, VECTOR_UD);
	if ((status = operand_read(e, src)) || (status = operand_read(e, dst)))
		return status;
	result = alu_compute(op, dst->value, src->value, dst->size, &flags);
	if (alu_writes_result(op) && (status = operand_write(e, dst, result)))
		return status;
	e->ctx->rflags = flags;
	return EMULATE_OK;
}

/* 00-3D: six forms per operation (Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev  AL,Ib  rAX,Iz). */
static enum emulate_status emulate_alu_classic(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	enum alu_operation op = insn->opcode >> 3;
	u8 form = insn->opcode & OPCODE_ALU_FORM_MASK;
	unsigned size = form & 1 ? insn->operand_size : 1;
	struct operand dst, src;
	if (form < OPCODE_ALU_FORM_AL_IB && form & 2) {
		dst = reg_operand(e, size);
		src = rm_operand(e, size);
	} else if (form < OPCODE_ALU_FORM_AL_IB) {
		dst = rm_operand(e, size);
		src = reg_operand(e, size);
	} else {
		dst = register_operand(e, GPR_RAX, size);
		src = immediate_operand(e, size);
	}
	return execute_alu(e, op, op != ALU_CMP, &dst, &src);
}

/* 80-83 (group 1), 84/85 and A8/A9 (TEST), F6/F7 /0 /1 (TEST Ib/Iz). */
static enum emulate_status emulate_alu_other(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned size = insn->opcode & 1 ? insn->operand_size : 1;
	enum alu_operation op = ALU_TEST;
	struct operand dst, src;
	switch (insn->opcode) {
	case OPCODE_GROUP1_EB_IB:
	case OPCODE_GROUP1_EV_IZ:
	case OPCODE_GROUP1_EB_IB_ALIAS:
	case OPCODE_GROUP1_EV_IB:
		op = MODRM_REG(insn->modrm);
		size = insn->opcode == OPCODE_GROUP1_EV_IZ || insn->opcode == OPCODE_GROUP1_EV_IB
			       ? insn->operand_size : 1;
		dst = rm_operand(e, size);
		src = immediate_operand(e, size);
		break;
	case OPCODE_TEST_EB_GB:
	case OPCODE_TEST_EV_GV:
		dst = rm_operand(e, size);
		src = reg_operand(e, size);
		break;
	case OPCODE_TEST_AL_IB:
	case OPCODE_TEST_RAX_IZ:
		dst = register_operand(e, GPR_RAX, size);
		src = immediate_operand(e, size);
		break;
	default: /* group 3 TEST */
		dst = rm_operand(e, size);
		src = immediate_operand(e, size);
		break;
	}
	return execute_alu(e, op, op != ALU_CMP && op != ALU_TEST, &dst, &src);
}

/* F6/F7 /2 NOT, /3 NEG; FE/FF /0 INC, /1 DEC. */
static enum emulate_status emulate_unary(struct execution *e, enum alu_operation op)
{
	unsigned size = e->insn->opcode & 1 ? e->insn->operand_size : 1;
	struct operand dst = rm_operand(e, size);
	struct operand none = { .kind = OPERAND_IMMEDIATE, .size = size };
	return execute_alu(e, op, true, &dst, &none);
}

static enum emulate_status execute_move(struct execution *e, struct operand *dst, struct operand *src)
{
	enum emulate_status status;
	if (e->insn->lock)
		return raise_exception(e->ctx, VECTOR_UD);
	if ((status = operand_read(e, src)))
		return status;
	return operand_write(e, dst, src->value);
}

/* 88-8B, C6/C7 /0. */
static enum emulate_status emulate_mov(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned size = insn->opcode & 1 ? insn->operand_size : 1;
	struct operand dst, src;
	switch (insn->opcode) {
	case OPCODE_MOV_EB_GB:
	case OPCODE_MOV_EV_GV:
		dst = rm_operand(e, size);
		src = reg_operand(e, size);
		break;
	case OPCODE_MOV_GB_EB:
	case OPCODE_MOV_GV_EV:
		dst = reg_operand(e, size);
		src = rm_operand(e, size);
		break;
	default:
		if (MODRM_REG(insn->modrm) != 0) /* XABORT, XBEGIN */
			return EMULATE_UNHANDLEABLE;
		dst = rm_operand(e, size);
		src = immediate_operand(e, size);
		break;
	}
	return execute_move(e, &dst, &src);
}

/* A0-A3: the offset is an address-size immediate, DS unless overridden. */
static enum emulate_status emulate_mov_moffs(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned size = insn->opcode & 1 ? insn->operand_size : 1;
	u64 offset = insn->immediate & size_mask(insn->address_size);
	struct operand memory = memory_operand(effective_segment(insn, SEG_DS), offset, size);
	struct operand accumulator = register_operand(e, GPR_RAX, size);
	if (insn->opcode == OPCODE_MOV_AL_OB || insn->opcode == OPCODE_MOV_RAX_OV)
		return execute_move(e, &accumulator, &memory);
	return execute_move(e, &memory, &accumulator);
}

/* 0F B6/B7 MOVZX, 0F BE/BF MOVSX, 63 MOVSXD (64-bit mode). */
static enum emulate_status emulate_move_extend(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned size = insn->operand_size, source_size;
	bool sign;
	struct operand dst = reg_operand(e, size), src;
	enum emulate_status status;
	if (insn->opcode_map == MAP_ONE_BYTE) {
		source_size = MIN(size, 4u);
		sign = true;
	} else {
		source_size = insn->opcode & 1 ? 2 : 1;
		sign = insn->opcode == OPCODE_0F_MOVSX_GV_EB || insn->opcode == OPCODE_0F_MOVSX_GV_EW;
	}
	src = rm_operand(e, source_size);
	if (insn->lock)
		return raise_exception(e->ctx, VECTOR_UD);
	if ((status = operand_read(e, &src)))
		return status;
	return operand_write(e, &dst, sign ? sign_extend(src.value, source_size) : src.value);
}

/* 86/87: LOCK is implicit with a memory operand, so an explicit one is legal there. */
static enum emulate_status emulate_xchg(struct execution *e)
{
	unsigned size = e->insn->opcode & 1 ? e->insn->operand_size : 1;
	struct operand rm = rm_operand(e, size), reg = reg_operand(e, size);
	enum emulate_status status;
	if (!lock_allowed(e, true, &rm))
		return raise_exception(e->ctx, VECTOR_UD);
	if ((status = operand_read(e, &rm)) || (status = operand_read(e, &reg)))
		return status;
	if ((status = operand_write(e, &rm, reg.value)))
		return status;
	return operand_write(e, &reg, rm.value);
}

/* Bytes from a bit string's base to the operand holding bit 'offset':
 * size * floor(offset / bits). GCC and Clang shift negative values
 * arithmetically, which is the floor. */
static s64 bit_string_displacement(s64 offset, unsigned size)
{
	unsigned shift = size == 2 ? 4 : size == 4 ? 5 : 6;
	return (offset >> shift) * (s64)size;
}

/* BT/BTS/BTR/BTC. With a register bit offset and a memory operand, the
 * offset is signed and selects any bit of a bit string around the operand
 * (SDM "BT": address + size * floor(offset / bits)). */
static enum emulate_status emulate_bit(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	unsigned size = insn->operand_size, bits = 8 * size;
	bool immediate = insn->opcode == OPCODE_0F_GROUP8;
	enum bit_operation op = immediate ? MODRM_REG(insn->modrm) - GROUP8_FIRST_REG : (insn->opcode >> 3) & 3;
	struct operand dst = rm_operand(e, size), offset_operand = reg_operand(e, size);
	enum emulate_status status;
	u64 bit, flags;
	s64 offset;
	if (immediate && MODRM_REG(insn->modrm) < GROUP8_FIRST_REG)
		return EMULATE_UNHANDLEABLE;
	if (!lock_allowed(e, op != BIT_TEST, &dst))
		return raise_exception(e->ctx, VECTOR_UD);
	if (immediate)
		offset = (s64)(insn->immediate & (bits - 1));
	else
		offset = (s64)sign_extend(register_read(e->ctx, &offset_operand), size);
	if (dst.kind == OPERAND_MEMORY)
		dst.offset = (dst.offset + (u64)bit_string_displacement(offset, size)) & size_mask(insn->address_size);
	bit = 1ULL << ((u64)offset & (bits - 1));
	if ((status = operand_read(e, &dst)))
		return status;
	flags = (e->ctx->rflags & ~RFLAGS_CF) | (dst.value & bit ? RFLAGS_CF : 0);
	if (op != BIT_TEST) {
		u64 value = op == BIT_SET ? dst.value | bit : op == BIT_RESET ? dst.value & ~bit : dst.value ^ bit;
		if ((status = operand_write(e, &dst, value)))
			return status;
	}
	/* CF only: OF/SF/AF/PF are undefined and ZF unchanged; leaving them is valid. */
	e->ctx->rflags = flags;
	return EMULATE_OK;
}

/* ---- String instructions ------------------------------------------------ */

/* rSI/rDI/rCX are used and updated at the address size: a 16-bit update
 * wraps inside the low word, a 32-bit one zero-extends. */
static u64 address_register(const struct emulate_ctx *ctx, unsigned reg)
{
	return ctx->gpr[reg] & size_mask(ctx->insn.address_size);
}

static void set_address_register(struct emulate_ctx *ctx, unsigned reg, u64 value)
{
	u64 mask = size_mask(ctx->insn.address_size);
	if (ctx->insn.address_size == 4)
		ctx->gpr[reg] = value & mask;
	else
		ctx->gpr[reg] = (ctx->gpr[reg] & ~mask) | (value & mask);
}

static void advance_string_register(struct emulate_ctx *ctx, unsigned reg, unsigned size)
{
	u64 step = ctx->rflags & RFLAGS_DF ? (u64)0 - size : size;
	set_address_register(ctx, reg, ctx->gpr[reg] + step);
}

/* One iteration of MOVS/CMPS/STOS/LODS/SCAS. Registers change only after
 * the memory accesses succeeded, so a fault leaves the state of the
 * iterations already done, as on hardware. */
static enum emulate_status string_iteration(struct execution *e, u8 kind, unsigned size)
{
	struct emulate_ctx *ctx = e->ctx;
	const struct x86_insn *insn = e->insn;
	struct operand source = memory_operand(effective_segment(insn, SEG_DS), address_register(ctx, GPR_RSI), size);
	struct operand destination = memory_operand(SEG_ES, address_register(ctx, GPR_RDI), size);
	struct operand accumulator = register_operand(e, GPR_RAX, size);
	enum emulate_status status = EMULATE_OK;
	u64 flags = ctx->rflags;
	bool uses_source = kind == OPCODE_MOVS || kind == OPCODE_CMPS || kind == OPCODE_LODS;
	bool uses_destination = kind != OPCODE_LODS;

	if (uses_source && (status = operand_read(e, &source)))
		return status;
	switch (kind) {
	case OPCODE_MOVS:
		status = operand_write(e, &destination, source.value);
		break;
	case OPCODE_STOS:
		status = operand_write(e, &destination, register_read(ctx, &accumulator));
		break;
	case OPCODE_LODS:
		register_write(ctx, &accumulator, source.value);
		break;
	case OPCODE_CMPS:
		if (!(status = operand_read(e, &destination)))
			alu_compute(ALU_CMP, source.value, destination.value, size, &flags);
		break;
	default: /* SCAS */
		if (!(status = operand_read(e, &destination)))
			alu_compute(ALU_CMP, register_read(ctx, &accumulator), destination.value, size, &flags);
		break;
	}
	if (status)
		return status;
	ctx->rflags = flags;
	if (uses_source)
		advance_string_register(ctx, GPR_RSI, size);
	if (uses_destination)
		advance_string_register(ctx, GPR_RDI, size);
	return EMULATE_OK;
}

/* REPE/REPNE end CMPS/SCAS when ZF says so; F2 on the others acts as REP. */
static bool compare_finished(const struct execution *e, u8 kind)
{
	bool zero = (e->ctx->rflags & RFLAGS_ZF) != 0;
	if (kind != OPCODE_CMPS && kind != OPCODE_SCAS)
		return false;
	return e->insn->repne ? zero : !zero;
}

static enum emulate_status emulate_string(struct execution *e)
{
	struct emulate_ctx *ctx = e->ctx;
	const struct x86_insn *insn = e->insn;
	u8 kind = insn->opcode & ~STRING_OPCODE_SIZE_BIT;
	unsigned size = insn->opcode & STRING_OPCODE_SIZE_BIT ? insn->operand_size : 1;
	bool repeat = insn->rep || insn->repne;
	enum emulate_status status;
	if (insn->lock)
		return raise_exception(ctx, VECTOR_UD);
	if (!repeat)
		return string_iteration(e, kind, size);
	for (unsigned done = 0; address_register(ctx, GPR_RCX) != 0; done++) {
		if (done == STRING_BATCH_LIMIT) {
			e->restart = true;
			return EMULATE_OK;
		}
		if ((status = string_iteration(e, kind, size)))
			return status;
		set_address_register(ctx, GPR_RCX, ctx->gpr[GPR_RCX] - 1);
		if (compare_finished(e, kind))
			break;
	}
	return EMULATE_OK;
}

/* ---- Dispatch ----------------------------------------------------------- */

static bool is_classic_alu(u8 opcode)
{
	return opcode <= OPCODE_ALU_LAST && (opcode & OPCODE_ALU_FORM_MASK) <= OPCODE_ALU_FORM_RAX_IZ;
}

static enum emulate_status execute_one_byte(struct execution *e)
{
	const struct x86_insn *insn = e->insn;
	u8 reg = MODRM_REG(insn->modrm);
	if (is_classic_alu(insn->opcode))
		return emulate_alu_classic(e);
	switch (insn->opcode) {
	case OPCODE_MOVSXD:
		if (e->ctx->mode == X86_MODE_LONG64)
			return emulate_move_extend(e);
		return EMULATE_UNHANDLEABLE; /* ARPL */
	case OPCODE_GROUP1_EB_IB ... OPCODE_TEST_EV_GV:
	case OPCODE_TEST_AL_IB:
	case OPCODE_TEST_RAX_IZ:
		return emulate_alu_other(e);
	case OPCODE_XCHG_EB_GB:
	case OPCODE_XCHG_EV_GV:
		return emulate_xchg(e);
	case OPCODE_MOV_EB_GB ... OPCODE_MOV_GV_EV:
	case OPCODE_MOV_EB_IB:
	case OPCODE_MOV_EV_IZ:
		return emulate_mov(e);
	case OPCODE_MOV_AL_OB ... OPCODE_MOV_OV_RAX:
		return emulate_mov_moffs(e);
	case OPCODE_MOVS ... OPCODE_CMPS + 1:
	case OPCODE_STOS ... OPCODE_SCAS + 1:
		return emulate_string(e);
	case OPCODE_GROUP3_EB:
	case OPCODE_GROUP3_EV:
		if (reg <= 1)
			return emulate_alu_other(e);
		if (reg == 2 || reg == 3)
			return emulate_unary(e, reg == 2 ? ALU_NOT : ALU_NEG);
		return EMULATE_UNHANDLEABLE; /* MUL, IMUL, DIV, IDIV */
	case OPCODE_GROUP4_EB:
	case OPCODE_GROUP5_EV:
		if (reg <= 1)
			return emulate_unary(e, reg == 0 ? ALU_INC : ALU_DEC);
		return EMULATE_UNHANDLEABLE;
	default:
		return EMULATE_UNHANDLEABLE;
	}
}

static enum emulate_status execute_0f(struct execution *e)
{
	switch (e->insn->opcode) {
	case OPCODE_0F_BT:
	case OPCODE_0F_BTS:
	case OPCODE_0F_BTR:
	case OPCODE_0F_BTC:
	case OPCODE_0F_GROUP8:
		return emulate_bit(e);
	case OPCODE_0F_MOVZX_GV_EB:
	case OPCODE_0F_MOVZX_GV_EW:
	case OPCODE_0F_MOVSX_GV_EB:
	case OPCODE_0F_MOVSX_GV_EW:
		return emulate_move_extend(e);
	default:
		return EMULATE_UNHANDLEABLE;
	}
}

enum emulate_status x86_emulate(struct emulate_ctx *ctx)
{
	u8 bytes[X86_MAX_INSN_LENGTH];
	struct execution e = { .ctx = ctx, .insn = &ctx->insn };
	enum encoding encoding;
	enum emulate_status status;
	unsigned got = ctx->ops->fetch(ctx, ctx->rip, bytes, sizeof(bytes));

	if (decode_instruction(bytes, MIN(got, (unsigned)sizeof(bytes)), ctx->mode, &ctx->insn, &encoding))
		return EMULATE_UNHANDLEABLE;
	if (encoding != ENCODING_LEGACY)
		return EMULATE_UNHANDLEABLE;
	switch (ctx->insn.opcode_map) {
	case MAP_ONE_BYTE: status = execute_one_byte(&e); break;
	case MAP_0F: status = execute_0f(&e); break;
	default: status = EMULATE_UNHANDLEABLE; break;
	}
	if (status == EMULATE_OK && !e.restart)
		ctx->rip = next_rip(ctx);
	return status;
}
