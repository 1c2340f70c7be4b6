/*
 * x86 instruction decoder (interface: vmm/decode.h).
 *
 * The decoder is table-driven and knows the length of every instruction of
 * the legacy one-byte, 0F, 0F38 and 0F3A maps, and of VEX, EVEX and XOP
 * encodings. It reads only the bytes it is given and has no mutable global
 * state, so vCPUs decode concurrently and host tests run it unchanged. The
 * emulator built on it is vmm/emulate.c.
 *
 * References: Intel SDM vol. 2 chapter 2 (instruction format), appendix A
 * (opcode maps); AMD APM vol. 3 chapter 1 (XOP, 3DNow!).
 */
#include "vmm/decode.h"
#include "vmm/decode_internal.h"
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

/* REX, ModRM and SIB fields, opcode map numbers and encodings: see
 * vmm/decode_internal.h (the emulator takes them apart too). */

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

int decode_instruction(const u8 *bytes, size_t available, enum x86_mode mode,
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
