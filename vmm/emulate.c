/*
 * x86 instruction emulator (interface: vmm/emulate.h), built on the decoder
 * in vmm/decode.c.
 *
 * The emulator executes the integer and data-movement instructions guests
 * aim at MMIO, in the spirit of Linux arch/x86/kvm/emulate.c but much
 * smaller: every register lives in the context and every memory access goes
 * through ctx->ops, so the same code runs in the hypervisor and in host
 * tests. No mutable global state: vCPUs emulate concurrently.
 *
 * References: Intel SDM vol. 1 chapter 3 (registers, addressing) and
 * vol. 2 (ModRM/SIB forms, opcode maps, the instruction pages).
 */
#include "vmm/emulate.h"
#include "vmm/decode_internal.h"
#include "arch/x86/cpu.h"

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
	address_register_write(&ctx->gpr[reg], value, ctx->insn.address_size);
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

enum emulate_status x86_read_rm_operand(struct emulate_ctx *ctx, unsigned size, u64 *value)
{
	struct execution e = { .ctx = ctx, .insn = &ctx->insn };
	struct operand op = rm_operand(&e, size);
	enum emulate_status status = operand_read(&e, &op);
	*value = op.value;
	return status;
}
