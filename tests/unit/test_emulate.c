/*
 * Tests for vmm/emulate.c, the executor built on the decoder (whose own
 * tests are in test_decode.c), checked against two oracles:
 *  - the host CPU itself, running the same ALU/bit/move instructions with
 *    inline assembly over a table of edge values, for results and flags;
 *  - hand-written expectations for string instructions, addressing forms
 *    of each mode, prefixes and faults.
 *
 *   gcc -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror \
 *       tests/unit/test_emulate.c -lcmocka -lcapstone -o /tmp/te && /tmp/te
 */
#include "tests/unit/host_support.h"
#include "vmm/decode.c"
#include "vmm/emulate.c"

#include <string.h>

#include "tests/unit/x86_test_support.h"

#define VECTOR_GP 13
#define VECTOR_PF 14
#define PF_ERROR_WRITE BIT(1)

/* The test's own sign extension, so expectations do not share code with
 * the emulator under test. */
static u64 sign_extended(u64 value, unsigned size)
{
	switch (size) {
	case 1: return (u64)(s64)(int8_t)value;
	case 2: return (u64)(s64)(int16_t)value;
	case 4: return (u64)(s64)(int32_t)value;
	default: return value;
	}
}

/* ---- A test machine: ops backed by a buffer ----------------------------- */

#define MEMORY_BASE 0x1000ULL
#define MEMORY_SIZE 0x2000u
#define CODE_RIP 0x100ULL
#define ACCESS_LOG_SIZE 64

struct access {
	bool write;
	enum x86_segment segment;
	u64 offset;
	unsigned size;
};

struct machine {
	struct emulate_ctx ctx;
	u8 code[X86_MAX_INSN_LENGTH];
	unsigned code_length; /* bytes fetch hands out */
	u64 code_rip;
	u8 memory[MEMORY_SIZE];
	bool mirror;          /* every offset maps to memory[offset % MEMORY_SIZE] */
	bool fault_armed;     /* an access covering fault_offset raises #PF */
	u64 fault_offset;
	struct access log[ACCESS_LOG_SIZE];
	unsigned accesses;
};

static u8 *memory_slot(struct machine *m, u64 offset, unsigned size)
{
	if (m->mirror) {
		u64 slot = offset % MEMORY_SIZE;
		return slot + size <= MEMORY_SIZE ? m->memory + slot : NULL;
	}
	if (offset < MEMORY_BASE || offset - MEMORY_BASE > MEMORY_SIZE - size)
		return NULL;
	return m->memory + (offset - MEMORY_BASE);
}

static enum emulate_status machine_access(struct emulate_ctx *ctx, enum x86_segment segment, u64 offset,
					  void *data, unsigned size, bool write)
{
	struct machine *m = ctx->opaque;
	u8 *slot;
	assert_true(size == 1 || size == 2 || size == 4 || size == 8);
	if (m->accesses < ACCESS_LOG_SIZE)
		m->log[m->accesses] = (struct access){ write, segment, offset, size };
	m->accesses++;
	if (m->fault_armed && offset <= m->fault_offset && m->fault_offset < offset + size) {
		ctx->exception.vector = VECTOR_PF;
		ctx->exception.has_error_code = true;
		ctx->exception.error_code = write ? PF_ERROR_WRITE : 0;
		return EMULATE_EXCEPTION;
	}
	slot = memory_slot(m, offset, size);
	if (!slot) {
		ctx->exception.vector = VECTOR_GP;
		ctx->exception.has_error_code = true;
		ctx->exception.error_code = 0;
		return EMULATE_EXCEPTION;
	}
	if (write)
		memcpy(slot, data, size);
	else
		memcpy(data, slot, size);
	return EMULATE_OK;
}

static enum emulate_status machine_read(struct emulate_ctx *ctx, enum x86_segment segment, u64 offset,
					void *data, unsigned size)
{
	return machine_access(ctx, segment, offset, data, size, false);
}

static enum emulate_status machine_write(struct emulate_ctx *ctx, enum x86_segment segment, u64 offset,
					 const void *data, unsigned size)
{
	return machine_access(ctx, segment, offset, (void *)data, size, true);
}

static unsigned machine_fetch(struct emulate_ctx *ctx, u64 offset, u8 *data, unsigned size)
{
	struct machine *m = ctx->opaque;
	unsigned count;
	if (offset != m->code_rip)
		return 0;
	count = MIN(size, m->code_length);
	memcpy(data, m->code, count);
	return count;
}

static const struct emulate_ops machine_ops = {
	.read = machine_read,
	.write = machine_write,
	.fetch = machine_fetch,
};

static void machine_load(struct machine *m, enum x86_mode mode, const u8 *code, unsigned length)
{
	memset(m, 0, sizeof(*m));
	m->ctx.ops = &machine_ops;
	m->ctx.opaque = m;
	m->ctx.mode = mode;
	m->ctx.rip = m->code_rip = CODE_RIP;
	m->ctx.rflags = RFLAGS_RESERVED_ONE;
	assert_true(length <= X86_MAX_INSN_LENGTH);
	memcpy(m->code, code, length);
	m->code_length = length;
}

static void machine_load_hex(struct machine *m, enum x86_mode mode, const char *hex)
{
	u8 code[X86_MAX_INSN_LENGTH];
	unsigned length = parse_hex(hex, code, sizeof(code));
	machine_load(m, mode, code, length);
}

static u64 memory_read(struct machine *m, u64 offset, unsigned size)
{
	u64 value = 0;
	memcpy(&value, memory_slot(m, offset, size), size);
	return value;
}

static void memory_write(struct machine *m, u64 offset, u64 value, unsigned size)
{
	memcpy(memory_slot(m, offset, size), &value, size);
}

static bool is_16bit(enum x86_mode mode)
{
	return mode == X86_MODE_REAL || mode == X86_MODE_PROT16;
}

/* ---- Native execution oracle -------------------------------------------- */

/* Runs one instruction on the host with the given arithmetic flags; the
 * 128-byte step keeps push/pop off the red zone the compiler may use. */
#define NATIVE_PROLOGUE "lea -128(%%rsp), %%rsp\n\tpush %[flags]\n\tpopfq\n\t"
#define NATIVE_EPILOGUE "\n\tpushfq\n\tpop %[flags]\n\tlea 128(%%rsp), %%rsp"

typedef u64 (*native_binary_fn)(u64 dst, u64 src, u64 *flags);
typedef void (*native_memory_fn)(void *base, u64 offset, u64 *flags);
typedef void (*native_swap_fn)(u64 *a, u64 *b);

#define DEFINE_NATIVE_BINARY(name, mnemonic, m)                                                        \
	static u64 native_##name##_##m(u64 dst, u64 src, u64 *flags)                                    \
	{                                                                                               \
		u64 f = *flags;                                                                         \
		__asm__ volatile(NATIVE_PROLOGUE mnemonic " %" #m "[src], %" #m "[dst]" NATIVE_EPILOGUE \
				 : [dst] "+r"(dst), [flags] "+r"(f)                                     \
				 : [src] "r"(src)                                                       \
				 : "cc", "memory");                                                     \
		*flags = f;                                                                             \
		return dst;                                                                             \
	}

#define DEFINE_NATIVE_UNARY(name, mnemonic, m)                                           \
	static u64 native_##name##_##m(u64 dst, u64 src, u64 *flags)                      \
	{                                                                                 \
		u64 f = *flags;                                                           \
		(void)src;                                                                \
		__asm__ volatile(NATIVE_PROLOGUE mnemonic " %" #m "[dst]" NATIVE_EPILOGUE \
				 : [dst] "+r"(dst), [flags] "+r"(f)                       \
				 :                                                        \
				 : "cc", "memory");                                       \
		*flags = f;                                                               \
		return dst;                                                               \
	}

/* BT* on a bit string in memory with a register bit offset. */
#define DEFINE_NATIVE_BIT_MEMORY(name, mnemonic, m)                                                      \
	static void native_memory_##name##_##m(void *base, u64 offset, u64 *flags)                        \
	{                                                                                                 \
		u64 f = *flags;                                                                           \
		__asm__ volatile(NATIVE_PROLOGUE mnemonic " %" #m "[offset], (%[base])" NATIVE_EPILOGUE   \
				 : [flags] "+r"(f)                                                        \
				 : [offset] "r"(offset), [base] "r"(base)                                 \
				 : "cc", "memory");                                                       \
		*flags = f;                                                                               \
	}

#define DEFINE_NATIVE_SWAP(m)                                                               \
	static void native_xchg_##m(u64 *a, u64 *b)                                          \
	{                                                                                    \
		__asm__ volatile("xchg %" #m "[a], %" #m "[b]" : [a] "+r"(*a), [b] "+r"(*b)); \
	}

#define DEFINE_NATIVE_MOVE(name, instruction)                                                 \
	static u64 native_##name(u64 dst, u64 src, u64 *flags)                                 \
	{                                                                                      \
		(void)flags;                                                                   \
		__asm__ volatile(instruction : [dst] "+r"(dst) : [src] "r"(src));               \
		return dst;                                                                    \
	}

#define DEFINE_NATIVE_BINARY_SIZES(name, mnemonic) \
	DEFINE_NATIVE_BINARY(name, mnemonic, b)     \
	DEFINE_NATIVE_BINARY(name, mnemonic, w)     \
	DEFINE_NATIVE_BINARY(name, mnemonic, k)     \
	DEFINE_NATIVE_BINARY(name, mnemonic, q)
#define DEFINE_NATIVE_UNARY_SIZES(name, mnemonic) \
	DEFINE_NATIVE_UNARY(name, mnemonic, b)     \
	DEFINE_NATIVE_UNARY(name, mnemonic, w)     \
	DEFINE_NATIVE_UNARY(name, mnemonic, k)     \
	DEFINE_NATIVE_UNARY(name, mnemonic, q)
#define DEFINE_NATIVE_BIT_SIZES(name)                   \
	DEFINE_NATIVE_BINARY(name, #name, w)            \
	DEFINE_NATIVE_BINARY(name, #name, k)            \
	DEFINE_NATIVE_BINARY(name, #name, q)            \
	DEFINE_NATIVE_BIT_MEMORY(name, #name "w", w)    \
	DEFINE_NATIVE_BIT_MEMORY(name, #name "l", k)    \
	DEFINE_NATIVE_BIT_MEMORY(name, #name "q", q)

DEFINE_NATIVE_BINARY_SIZES(add, "add")
DEFINE_NATIVE_BINARY_SIZES(or, "or")
DEFINE_NATIVE_BINARY_SIZES(adc, "adc")
DEFINE_NATIVE_BINARY_SIZES(sbb, "sbb")
DEFINE_NATIVE_BINARY_SIZES(and, "and")
DEFINE_NATIVE_BINARY_SIZES(sub, "sub")
DEFINE_NATIVE_BINARY_SIZES(xor, "xor")
DEFINE_NATIVE_BINARY_SIZES(cmp, "cmp")
DEFINE_NATIVE_BINARY_SIZES(test, "test")
DEFINE_NATIVE_UNARY_SIZES(inc, "inc")
DEFINE_NATIVE_UNARY_SIZES(dec, "dec")
DEFINE_NATIVE_UNARY_SIZES(not, "not")
DEFINE_NATIVE_UNARY_SIZES(neg, "neg")
DEFINE_NATIVE_BIT_SIZES(bt)
DEFINE_NATIVE_BIT_SIZES(bts)
DEFINE_NATIVE_BIT_SIZES(btr)
DEFINE_NATIVE_BIT_SIZES(btc)
DEFINE_NATIVE_SWAP(b)
DEFINE_NATIVE_SWAP(w)
DEFINE_NATIVE_SWAP(k)
DEFINE_NATIVE_SWAP(q)
DEFINE_NATIVE_MOVE(movzbw, "movzbw %b[src], %w[dst]")
DEFINE_NATIVE_MOVE(movzbl, "movzbl %b[src], %k[dst]")
DEFINE_NATIVE_MOVE(movzbq, "movzbq %b[src], %q[dst]")
DEFINE_NATIVE_MOVE(movzwl, "movzwl %w[src], %k[dst]")
DEFINE_NATIVE_MOVE(movzwq, "movzwq %w[src], %q[dst]")
DEFINE_NATIVE_MOVE(movsbw, "movsbw %b[src], %w[dst]")
DEFINE_NATIVE_MOVE(movsbl, "movsbl %b[src], %k[dst]")
DEFINE_NATIVE_MOVE(movsbq, "movsbq %b[src], %q[dst]")
DEFINE_NATIVE_MOVE(movswl, "movswl %w[src], %k[dst]")
DEFINE_NATIVE_MOVE(movswq, "movswq %w[src], %q[dst]")
DEFINE_NATIVE_MOVE(movslq, "movslq %k[src], %q[dst]")

#define NATIVE_BY_SIZE(name) { native_##name##_b, native_##name##_w, native_##name##_k, native_##name##_q }

static unsigned size_index(unsigned size)
{
	return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

/* The flags the SDM defines after each operation; the rest are not compared. */
#define FLAGS_ALL RFLAGS_ARITHMETIC
#define FLAGS_LOGIC (RFLAGS_ARITHMETIC & ~RFLAGS_AF)
#define FLAGS_BIT (RFLAGS_CF | RFLAGS_ZF) /* OF SF AF PF undefined, ZF unchanged */

static const struct {
	const char *name;
	enum alu_operation op;
	native_binary_fn native[4];
	u64 defined_flags;
} binary_ops[] = {
	{ "add", ALU_ADD, NATIVE_BY_SIZE(add), FLAGS_ALL },   { "or", ALU_OR, NATIVE_BY_SIZE(or), FLAGS_LOGIC },
	{ "adc", ALU_ADC, NATIVE_BY_SIZE(adc), FLAGS_ALL },   { "sbb", ALU_SBB, NATIVE_BY_SIZE(sbb), FLAGS_ALL },
	{ "and", ALU_AND, NATIVE_BY_SIZE(and), FLAGS_LOGIC }, { "sub", ALU_SUB, NATIVE_BY_SIZE(sub), FLAGS_ALL },
	{ "xor", ALU_XOR, NATIVE_BY_SIZE(xor), FLAGS_LOGIC }, { "cmp", ALU_CMP, NATIVE_BY_SIZE(cmp), FLAGS_ALL },
	{ "test", ALU_TEST, NATIVE_BY_SIZE(test), FLAGS_LOGIC },
};

static const struct {
	const char *name;
	u8 opcode_byte, opcode_other, reg; /* F6/F7 /2 /3, FE/FF /0 /1 */
	native_binary_fn native[4];
} unary_ops[] = {
	{ "not", 0xf6, 0xf7, 2, NATIVE_BY_SIZE(not) },
	{ "neg", 0xf6, 0xf7, 3, NATIVE_BY_SIZE(neg) },
	{ "inc", 0xfe, 0xff, 0, NATIVE_BY_SIZE(inc) },
	{ "dec", 0xfe, 0xff, 1, NATIVE_BY_SIZE(dec) },
};

static const struct {
	const char *name;
	u8 opcode; /* 0F xx Ev,Gv; group 8 /reg = 4 + index */
	native_binary_fn native[3];
	native_memory_fn memory[3];
} bit_ops[] = {
	{ "bt", OPCODE_0F_BT, { native_bt_w, native_bt_k, native_bt_q },
	  { native_memory_bt_w, native_memory_bt_k, native_memory_bt_q } },
	{ "bts", OPCODE_0F_BTS, { native_bts_w, native_bts_k, native_bts_q },
	  { native_memory_bts_w, native_memory_bts_k, native_memory_bts_q } },
	{ "btr", OPCODE_0F_BTR, { native_btr_w, native_btr_k, native_btr_q },
	  { native_memory_btr_w, native_memory_btr_k, native_memory_btr_q } },
	{ "btc", OPCODE_0F_BTC, { native_btc_w, native_btc_k, native_btc_q },
	  { native_memory_btc_w, native_memory_btc_k, native_memory_btc_q } },
};

#define EDGE_RANDOM 14
static u64 edge_values[23 + EDGE_RANDOM] = {
	0, 1, 2, 0x0f, 0x10, 0x7f, 0x80, 0xfe, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff,
	0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
	0x8000000000000000ULL, 0xffffffffffffffffULL, 0x123456789abcdef0ULL,
};

static const u64 flag_inputs[] = {
	RFLAGS_RESERVED_ONE,
	RFLAGS_RESERVED_ONE | RFLAGS_CF,
	RFLAGS_RESERVED_ONE | RFLAGS_ARITHMETIC,
	RFLAGS_RESERVED_ONE | RFLAGS_ZF | RFLAGS_AF,
};

static void fill_edge_values(void)
{
	struct prng rng = { 0xed9e };
	for (unsigned i = 23; i < ARRAY_SIZE(edge_values); i++)
		edge_values[i] = prng_next(&rng) >> prng_below(&rng, 64);
}

/* Modes and the operand sizes each can encode. */
static const struct {
	enum x86_mode mode;
	unsigned sizes;
} oracle_modes[] = {
	{ X86_MODE_LONG64, 4 },
	{ X86_MODE_PROT32, 3 },
	{ X86_MODE_REAL, 3 },
};
static const unsigned oracle_sizes[] = { 1, 2, 4, 8 };

struct builder {
	u8 bytes[X86_MAX_INSN_LENGTH];
	unsigned length;
};

static void emit(struct builder *b, u8 byte)
{
	assert_true(b->length < X86_MAX_INSN_LENGTH);
	b->bytes[b->length++] = byte;
}

static void put_size_prefixes(struct builder *b, enum x86_mode mode, unsigned size)
{
	if ((size == 2 && !is_16bit(mode)) || (size == 4 && is_16bit(mode)))
		emit(b, PREFIX_OPERAND_SIZE);
	if (size == 8)
		emit(b, REX_BASE | REX_W);
}

/* ModRM for [rDI] (or [DI] in 16-bit addressing) with the given reg field. */
static u8 modrm_rdi(enum x86_mode mode, unsigned reg)
{
	return (u8)(reg << 3 | (is_16bit(mode) ? 5 : 7));
}

static u8 modrm_registers(unsigned reg, unsigned rm)
{
	return (u8)(0xc0 | reg << 3 | rm);
}

static void put_immediate(struct builder *b, u64 value, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		emit(b, (u8)(value >> (8 * i)));
}

/* Garbage above the operand, so register-write rules are checked too. */
#define UPPER_GARBAGE 0xa5c3f00d5a3c0ff0ULL
#define DATA_OFFSET 0x1100ULL

static u64 with_garbage(u64 value, unsigned size)
{
	return (UPPER_GARBAGE & ~value_mask(size)) | (value & value_mask(size));
}

/* rDI with garbage the address size must cut off outside 64-bit mode. */
static u64 data_pointer(enum x86_mode mode)
{
	if (mode == X86_MODE_LONG64)
		return DATA_OFFSET;
	return (mode == X86_MODE_PROT32 ? 0xdead000000000000ULL : 0xdeadbeef00000000ULL) | DATA_OFFSET;
}

static unsigned oracle_failures;

static void report_oracle(const char *what, enum x86_mode mode, const struct builder *b, u64 dst, u64 src,
			  u64 flags_in, u64 expected, u64 got, u64 expected_flags, u64 got_flags)
{
	if (oracle_failures++ >= REPORT_LIMIT)
		return;
	print_bytes("  native mismatch:", b->bytes, b->length);
	printf("  %s (%s) dst=%#llx src=%#llx flags=%#llx: expected %#llx/%#llx, got %#llx/%#llx\n", what,
	       mode_name(mode), (unsigned long long)dst, (unsigned long long)src, (unsigned long long)flags_in,
	       (unsigned long long)expected, (unsigned long long)expected_flags, (unsigned long long)got,
	       (unsigned long long)got_flags);
}

/* Runs 'b' with rAX = reg_a, rCX = reg_c, memory at rDI = mem, then checks
 * the named outputs against what the host computed. */
struct oracle_run {
	enum x86_mode mode;
	unsigned size;
	u64 rax, rcx, memory, flags;
};

static void emulate_oracle(struct machine *m, const struct builder *b, const struct oracle_run *run)
{
	machine_load(m, run->mode, b->bytes, b->length);
	m->ctx.gpr[GPR_RAX] = run->rax;
	m->ctx.gpr[GPR_RCX] = run->rcx;
	m->ctx.gpr[GPR_RDI] = data_pointer(run->mode);
	m->ctx.rflags = run->flags;
	memory_write(m, DATA_OFFSET, run->memory, 8);
	assert_int_equal(x86_emulate(&m->ctx), EMULATE_OK);
	assert_int_equal(m->ctx.rip, CODE_RIP + b->length);
	assert_int_equal(m->ctx.rflags & ~RFLAGS_ARITHMETIC, run->flags & ~RFLAGS_ARITHMETIC);
	assert_int_equal(m->ctx.gpr[GPR_RDI], data_pointer(run->mode));
}

static void check_flags_and(const char *what, const struct builder *b, const struct oracle_run *run,
			    const struct machine *m, u64 dst, u64 src, u64 expected, u64 got, u64 native_flags,
			    u64 defined)
{
	if (expected != got || (native_flags & defined) != (m->ctx.rflags & defined))
		report_oracle(what, run->mode, b, dst, src, run->flags, expected, got, native_flags & defined,
			      m->ctx.rflags & defined);
}

/* ALU op in four forms: [rDI] op= rAX, rAX op= [rDI], rAX op= rCX, r/m op= imm. */
static void oracle_binary(struct machine *m, unsigned index, enum x86_mode mode, unsigned size, u64 dst,
			  u64 src, u64 flags)
{
	enum alu_operation op = binary_ops[index].op;
	native_binary_fn native = binary_ops[index].native[size_index(size)];
	u64 defined = binary_ops[index].defined_flags, mask = value_mask(size);
	u64 native_flags = flags, expected = native(with_garbage(dst, size), src, &native_flags);
	bool byte = size == 1;
	struct builder b;
	struct oracle_run run = { mode, size, 0, 0, 0, flags };

	/* [rDI] op= rAX (TEST: 84/85). */
	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	emit(&b, op == ALU_TEST ? (byte ? OPCODE_TEST_EB_GB : OPCODE_TEST_EV_GV) : (u8)(op << 3 | !byte));
	emit(&b, modrm_rdi(mode, GPR_RAX));
	run.rax = with_garbage(src, size);
	run.memory = with_garbage(dst, size);
	emulate_oracle(m, &b, &run);
	check_flags_and(binary_ops[index].name, &b, &run, m, dst, src, with_garbage(expected, size),
			memory_read(m, DATA_OFFSET, 8), native_flags, defined);

	/* rAX op= rCX (register form; rm = rAX, reg = rCX). */
	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	emit(&b, op == ALU_TEST ? (byte ? OPCODE_TEST_EB_GB : OPCODE_TEST_EV_GV) : (u8)(op << 3 | !byte));
	emit(&b, modrm_registers(GPR_RCX, GPR_RAX));
	run.rax = with_garbage(dst, size);
	run.rcx = with_garbage(src, size);
	emulate_oracle(m, &b, &run);
	check_flags_and(binary_ops[index].name, &b, &run, m, dst, src, expected, m->ctx.gpr[GPR_RAX], native_flags,
			defined);

	if (op != ALU_TEST) {
		/* rAX op= [rDI]. */
		b = (struct builder){ .length = 0 };
		put_size_prefixes(&b, mode, size);
		emit(&b, (u8)(op << 3 | 2 | !byte));
		emit(&b, modrm_rdi(mode, GPR_RAX));
		run.rax = with_garbage(dst, size);
		run.memory = with_garbage(src, size);
		emulate_oracle(m, &b, &run);
		check_flags_and(binary_ops[index].name, &b, &run, m, dst, src, expected, m->ctx.gpr[GPR_RAX],
				native_flags, defined);
	}

	/* [rDI] op= imm: 80/83 (imm8) or 81 (imm16/32); F6/F7 /0 for TEST. */
	bool short_immediate = !byte && op != ALU_TEST && (src & 1);
	unsigned immediate_size = byte || short_immediate ? 1 : MIN(size, 4u);
	u64 immediate = src & value_mask(immediate_size), effective = sign_extended(immediate, immediate_size) & mask;
	native_flags = flags;
	expected = native(with_garbage(dst, size), effective, &native_flags);
	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	if (op == ALU_TEST)
		emit(&b, byte ? OPCODE_GROUP3_EB : OPCODE_GROUP3_EV);
	else
		emit(&b, byte ? OPCODE_GROUP1_EB_IB : short_immediate ? OPCODE_GROUP1_EV_IB : OPCODE_GROUP1_EV_IZ);
	emit(&b, modrm_rdi(mode, op == ALU_TEST ? 0 : op));
	put_immediate(&b, immediate, immediate_size);
	run.memory = with_garbage(dst, size);
	emulate_oracle(m, &b, &run);
	check_flags_and(binary_ops[index].name, &b, &run, m, dst, effective, with_garbage(expected, size),
			memory_read(m, DATA_OFFSET, 8), native_flags, defined);
}

static void oracle_unary(struct machine *m, unsigned index, enum x86_mode mode, unsigned size, u64 dst, u64 flags)
{
	native_binary_fn native = unary_ops[index].native[size_index(size)];
	u64 native_flags = flags, expected = native(with_garbage(dst, size), 0, &native_flags);
	u8 opcode = size == 1 ? unary_ops[index].opcode_byte : unary_ops[index].opcode_other;
	struct oracle_run run = { mode, size, with_garbage(dst, size), 0, with_garbage(dst, size), flags };
	struct builder b = { .length = 0 };

	put_size_prefixes(&b, mode, size);
	emit(&b, opcode);
	emit(&b, modrm_rdi(mode, unary_ops[index].reg));
	emulate_oracle(m, &b, &run);
	check_flags_and(unary_ops[index].name, &b, &run, m, dst, 0, with_garbage(expected, size),
			memory_read(m, DATA_OFFSET, 8), native_flags, FLAGS_ALL);

	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	emit(&b, opcode);
	emit(&b, modrm_registers(unary_ops[index].reg, GPR_RAX));
	emulate_oracle(m, &b, &run);
	check_flags_and(unary_ops[index].name, &b, &run, m, dst, 0, expected, m->ctx.gpr[GPR_RAX], native_flags,
			FLAGS_ALL);
}

/* BT* with the bit offset in a register (register and memory operand) and
 * as imm8; memory forms run natively on a buffer laid out like the test
 * memory around rDI. */
#define BIT_WINDOW 128
static void oracle_bit(struct machine *m, unsigned index, enum x86_mode mode, unsigned size, u64 dst,
		       s64 offset, u64 flags)
{
	native_binary_fn native = bit_ops[index].native[size_index(size) - 1];
	u64 native_flags = flags, expected = native(with_garbage(dst, size), with_garbage((u64)offset, size),
						    &native_flags);
	struct oracle_run run = { mode, size, with_garbage(dst, size), with_garbage((u64)offset, size), 0, flags };
	struct builder b = { .length = 0 };
	u8 window[BIT_WINDOW];

	/* Register destination: rAX, offset in rCX. */
	put_size_prefixes(&b, mode, size);
	emit(&b, ESCAPE_0F);
	emit(&b, bit_ops[index].opcode);
	emit(&b, modrm_registers(GPR_RCX, GPR_RAX));
	emulate_oracle(m, &b, &run);
	check_flags_and(bit_ops[index].name, &b, &run, m, dst, (u64)offset, expected, m->ctx.gpr[GPR_RAX],
			native_flags, FLAGS_BIT);

	/* Immediate offset on a register. */
	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	emit(&b, ESCAPE_0F);
	emit(&b, OPCODE_0F_GROUP8);
	emit(&b, modrm_registers(GROUP8_FIRST_REG + index, GPR_RAX));
	emit(&b, (u8)offset);
	native_flags = flags;
	expected = native(with_garbage(dst, size), (u8)offset, &native_flags);
	emulate_oracle(m, &b, &run);
	check_flags_and(bit_ops[index].name, &b, &run, m, dst, (u8)offset, expected, m->ctx.gpr[GPR_RAX],
			native_flags, FLAGS_BIT);

	/* Memory bit string around rDI, offset in rCX (signed, may leave the operand). */
	struct prng rng = { dst ^ (u64)offset };
	for (unsigned i = 0; i < BIT_WINDOW; i++)
		window[i] = (u8)prng_next(&rng);
	s64 string_offset = offset % (s64)(8 * (BIT_WINDOW / 2 - 8));
	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	emit(&b, ESCAPE_0F);
	emit(&b, bit_ops[index].opcode);
	emit(&b, modrm_rdi(mode, GPR_RCX));
	machine_load(m, mode, b.bytes, b.length);
	memcpy(memory_slot(m, DATA_OFFSET - BIT_WINDOW / 2, BIT_WINDOW), window, BIT_WINDOW);
	m->ctx.gpr[GPR_RCX] = with_garbage((u64)string_offset, size);
	m->ctx.gpr[GPR_RDI] = data_pointer(mode);
	m->ctx.rflags = flags;
	native_flags = flags;
	bit_ops[index].memory[size_index(size) - 1](window + BIT_WINDOW / 2, (u64)string_offset, &native_flags);
	assert_int_equal(x86_emulate(&m->ctx), EMULATE_OK);
	if (memcmp(window, memory_slot(m, DATA_OFFSET - BIT_WINDOW / 2, BIT_WINDOW), BIT_WINDOW) ||
	    (native_flags & FLAGS_BIT) != (m->ctx.rflags & FLAGS_BIT))
		report_oracle(bit_ops[index].name, mode, &b, 0, (u64)string_offset, flags, 0, 1, native_flags,
			      m->ctx.rflags);
}

static void oracle_xchg(struct machine *m, enum x86_mode mode, unsigned size, u64 a, u64 c)
{
	static const native_swap_fn swaps[4] = { native_xchg_b, native_xchg_w, native_xchg_k, native_xchg_q };
	u64 native_a = with_garbage(a, size), native_c = with_garbage(c, size);
	struct oracle_run run = { mode, size, native_a, native_c, with_garbage(c, size), RFLAGS_RESERVED_ONE };
	struct builder b = { .length = 0 };
	swaps[size_index(size)](&native_a, &native_c);

	put_size_prefixes(&b, mode, size);
	emit(&b, size == 1 ? OPCODE_XCHG_EB_GB : OPCODE_XCHG_EV_GV);
	emit(&b, modrm_registers(GPR_RCX, GPR_RAX));
	emulate_oracle(m, &b, &run);
	if (m->ctx.gpr[GPR_RAX] != native_a || m->ctx.gpr[GPR_RCX] != native_c)
		report_oracle("xchg", mode, &b, a, c, 0, native_a, m->ctx.gpr[GPR_RAX], native_c, m->ctx.gpr[GPR_RCX]);

	/* xchg [rDI], rAX: memory gets rAX's low bytes, rAX the memory's. */
	b = (struct builder){ .length = 0 };
	put_size_prefixes(&b, mode, size);
	emit(&b, size == 1 ? OPCODE_XCHG_EB_GB : OPCODE_XCHG_EV_GV);
	emit(&b, modrm_rdi(mode, GPR_RAX));
	run.rax = with_garbage(a, size);
	emulate_oracle(m, &b, &run);
	native_a = with_garbage(a, size);
	native_c = with_garbage(c, size);
	swaps[size_index(size)](&native_a, &native_c);
	if (m->ctx.gpr[GPR_RAX] != native_a || memory_read(m, DATA_OFFSET, 8) != with_garbage(native_c, size))
		report_oracle("xchg mem", mode, &b, a, c, 0, native_a, m->ctx.gpr[GPR_RAX], native_c,
			      memory_read(m, DATA_OFFSET, 8));
}

static const struct {
	const char *name;
	u8 opcode;            /* 0F xx, or 63 */
	unsigned source_size, size;
	native_binary_fn native;
} extend_ops[] = {
	{ "movzbw", OPCODE_0F_MOVZX_GV_EB, 1, 2, native_movzbw }, { "movzbl", OPCODE_0F_MOVZX_GV_EB, 1, 4, native_movzbl },
	{ "movzbq", OPCODE_0F_MOVZX_GV_EB, 1, 8, native_movzbq }, { "movzwl", OPCODE_0F_MOVZX_GV_EW, 2, 4, native_movzwl },
	{ "movzwq", OPCODE_0F_MOVZX_GV_EW, 2, 8, native_movzwq }, { "movsbw", OPCODE_0F_MOVSX_GV_EB, 1, 2, native_movsbw },
	{ "movsbl", OPCODE_0F_MOVSX_GV_EB, 1, 4, native_movsbl }, { "movsbq", OPCODE_0F_MOVSX_GV_EB, 1, 8, native_movsbq },
	{ "movswl", OPCODE_0F_MOVSX_GV_EW, 2, 4, native_movswl }, { "movswq", OPCODE_0F_MOVSX_GV_EW, 2, 8, native_movswq },
	{ "movslq", OPCODE_MOVSXD, 4, 8, native_movslq },
};

static void oracle_extend(struct machine *m, unsigned index, enum x86_mode mode, u64 dst, u64 src)
{
	unsigned size = extend_ops[index].size;
	u64 expected = extend_ops[index].native(with_garbage(dst, size), src, NULL);
	struct oracle_run run = { mode, size, with_garbage(dst, size), src, src, RFLAGS_RESERVED_ONE | RFLAGS_CF };
	struct builder b = { .length = 0 };
	bool movsxd = extend_ops[index].opcode == OPCODE_MOVSXD;

	if (size == 8 && mode != X86_MODE_LONG64)
		return;
	if (movsxd && mode != X86_MODE_LONG64)
		return;
	put_size_prefixes(&b, mode, size);
	if (!movsxd)
		emit(&b, ESCAPE_0F);
	emit(&b, extend_ops[index].opcode);
	emit(&b, modrm_rdi(mode, GPR_RAX));
	emulate_oracle(m, &b, &run);
	if (m->ctx.gpr[GPR_RAX] != expected)
		report_oracle(extend_ops[index].name, mode, &b, dst, src, 0, expected, m->ctx.gpr[GPR_RAX], 0, 0);

	/* Register source rCX (CL/CX/ECX). */
	b.bytes[b.length - 1] = modrm_registers(GPR_RAX, GPR_RCX);
	emulate_oracle(m, &b, &run);
	if (m->ctx.gpr[GPR_RAX] != expected)
		report_oracle(extend_ops[index].name, mode, &b, dst, src, 0, expected, m->ctx.gpr[GPR_RAX], 0, 0);
}

static void test_native_execution_oracle(void **state)
{
	static struct machine m;
	unsigned runs = 0;
	(void)state;
	fill_edge_values();
	oracle_failures = 0;
	for (unsigned mi = 0; mi < ARRAY_SIZE(oracle_modes); mi++) {
		enum x86_mode mode = oracle_modes[mi].mode;
		for (unsigned si = 0; si < oracle_modes[mi].sizes; si++) {
			unsigned size = oracle_sizes[si];
			for (unsigned a = 0; a < ARRAY_SIZE(edge_values); a++) {
				u64 dst = edge_values[a];
				for (unsigned f = 0; f < ARRAY_SIZE(flag_inputs); f++) {
					for (unsigned u = 0; u < ARRAY_SIZE(unary_ops); u++, runs++)
						oracle_unary(&m, u, mode, size, dst, flag_inputs[f]);
				}
				for (unsigned c = 0; c < ARRAY_SIZE(edge_values); c++) {
					u64 src = edge_values[c], flags = flag_inputs[(a + c) % ARRAY_SIZE(flag_inputs)];
					for (unsigned op = 0; op < ARRAY_SIZE(binary_ops); op++, runs++)
						oracle_binary(&m, op, mode, size, dst, src, flags);
					if (size > 1)
						for (unsigned op = 0; op < ARRAY_SIZE(bit_ops); op++, runs++)
							oracle_bit(&m, op, mode, size, dst, (s64)src, flags);
					oracle_xchg(&m, mode, size, dst, src);
					runs++;
				}
			}
		}
		for (unsigned e = 0; e < ARRAY_SIZE(extend_ops); e++)
			for (unsigned a = 0; a < ARRAY_SIZE(edge_values); a++)
				for (unsigned c = 0; c < ARRAY_SIZE(edge_values); c++, runs++)
					oracle_extend(&m, e, mode, edge_values[a], edge_values[c]);
	}
	printf("  native oracle: %u value combinations (each in 2-4 encodings), %u differ\n", runs, oracle_failures);
	assert_int_equal(oracle_failures, 0);
}

/* ---- String instructions ------------------------------------------------ */

static void fill_pattern(struct machine *m, u64 offset, unsigned count, u8 seed)
{
	for (unsigned i = 0; i < count; i++)
		memory_write(m, offset + i, (u8)(seed + i * 7), 1);
}

static void check_pattern(struct machine *m, u64 offset, unsigned count, u8 seed)
{
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(memory_read(m, offset + i, 1), (u8)(seed + i * 7));
}

static void test_rep_movs_all_sizes_both_directions(void **state)
{
	static const char *const encodings[] = { "f3 a4", "f3 66 a5", "f3 a5", "f3 48 a5" };
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	static struct machine m;
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (int backwards = 0; backwards <= 1; backwards++) {
			unsigned size = sizes[i], count = 13, bytes = size * count;
			u64 source = 0x1200, destination = 0x1800;
			machine_load_hex(&m, X86_MODE_LONG64, encodings[i]);
			fill_pattern(&m, source, bytes, 0x31);
			m.ctx.gpr[GPR_RCX] = count;
			m.ctx.gpr[GPR_RSI] = backwards ? source + bytes - size : source;
			m.ctx.gpr[GPR_RDI] = backwards ? destination + bytes - size : destination;
			if (backwards)
				m.ctx.rflags |= RFLAGS_DF;
			assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
			check_pattern(&m, destination, bytes, 0x31);
			assert_int_equal(memory_read(&m, destination + bytes, 1), 0);
			assert_int_equal(memory_read(&m, destination - 1, 1), 0);
			assert_int_equal(m.ctx.gpr[GPR_RCX], 0);
			assert_int_equal(m.ctx.gpr[GPR_RSI], backwards ? source - size : source + bytes);
			assert_int_equal(m.ctx.gpr[GPR_RDI], backwards ? destination - size : destination + bytes);
			assert_int_equal(m.ctx.rip, CODE_RIP + m.code_length);
			assert_int_equal(m.accesses, 2 * count);
			assert_int_equal(m.log[0].segment, SEG_DS);
			assert_int_equal(m.log[1].segment, SEG_ES);
			assert_int_equal(m.log[1].size, size);
		}
	}
}

static void test_rep_stos_and_lods(void **state)
{
	static struct machine m;
	(void)state;
	/* rep stosd backwards in 32-bit mode. */
	machine_load_hex(&m, X86_MODE_PROT32, "f3 ab");
	m.ctx.gpr[GPR_RAX] = 0x1122334455667788ULL;
	m.ctx.gpr[GPR_RCX] = 4;
	m.ctx.gpr[GPR_RDI] = 0x1400 + 12;
	m.ctx.rflags |= RFLAGS_DF;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(memory_read(&m, 0x1400 + 4 * i, 4), 0x55667788);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1400 - 4);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 0);
	assert_int_equal(m.log[0].segment, SEG_ES);

	/* stosw without REP: one store, rCX untouched. */
	machine_load_hex(&m, X86_MODE_LONG64, "66 ab");
	m.ctx.gpr[GPR_RAX] = 0xbeef;
	m.ctx.gpr[GPR_RCX] = 7;
	m.ctx.gpr[GPR_RDI] = 0x1400;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(memory_read(&m, 0x1400, 4), 0xbeef);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 7);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1402);

	/* lodsb keeps the rest of rAX; lodsd zero-extends. */
	machine_load_hex(&m, X86_MODE_LONG64, "ac");
	m.ctx.gpr[GPR_RAX] = 0xffffffffffffffffULL;
	m.ctx.gpr[GPR_RSI] = 0x1400;
	memory_write(&m, 0x1400, 0x12345678, 4);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0xffffffffffffff78ULL);
	assert_int_equal(m.ctx.gpr[GPR_RSI], 0x1401);
	machine_load_hex(&m, X86_MODE_LONG64, "ad");
	m.ctx.gpr[GPR_RAX] = 0xffffffffffffffffULL;
	m.ctx.gpr[GPR_RSI] = 0x1400;
	memory_write(&m, 0x1400, 0x12345678, 4);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x12345678);
}

static void test_rep_with_zero_count(void **state)
{
	static const char *const encodings[] = { "f3 a4", "f3 48 ab", "f3 a6", "f2 ae", "f3 ac" };
	static struct machine m;
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(encodings); i++) {
		machine_load_hex(&m, X86_MODE_LONG64, encodings[i]);
		m.ctx.gpr[GPR_RCX] = 0;
		m.ctx.gpr[GPR_RSI] = 0x1200;
		m.ctx.gpr[GPR_RDI] = 0x1300;
		m.ctx.rflags = RFLAGS_RESERVED_ONE | RFLAGS_ZF;
		assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
		assert_int_equal(m.accesses, 0);
		assert_int_equal(m.ctx.gpr[GPR_RSI], 0x1200);
		assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1300);
		assert_int_equal(m.ctx.rflags, RFLAGS_RESERVED_ONE | RFLAGS_ZF);
		assert_int_equal(m.ctx.rip, CODE_RIP + m.code_length);
	}
	/* 67 in 64-bit mode: the count is ECX; RCX's upper half does not count. */
	machine_load_hex(&m, X86_MODE_LONG64, "67 f3 a4");
	m.ctx.gpr[GPR_RCX] = 0x100000000ULL;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.accesses, 0);
}

static void test_repe_cmps_and_repne_scas(void **state)
{
	static struct machine m;
	(void)state;
	/* repe cmpsb stops after the first difference (at index 5). */
	machine_load_hex(&m, X86_MODE_LONG64, "f3 a6");
	fill_pattern(&m, 0x1200, 16, 1);
	fill_pattern(&m, 0x1300, 16, 1);
	memory_write(&m, 0x1305, 0x00, 1);
	m.ctx.gpr[GPR_RCX] = 16;
	m.ctx.gpr[GPR_RSI] = 0x1200;
	m.ctx.gpr[GPR_RDI] = 0x1300;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 16 - 6);
	assert_int_equal(m.ctx.gpr[GPR_RSI], 0x1206);
	assert_false(m.ctx.rflags & RFLAGS_ZF);
	/* [rsi] = 1 + 35 = 36 > 0 = [rdi]: no borrow. */
	assert_false(m.ctx.rflags & RFLAGS_CF);
	assert_int_equal(m.ctx.rip, CODE_RIP + 2);

	/* repne scasw finds AX at index 3. */
	machine_load_hex(&m, X86_MODE_PROT32, "66 f2 af");
	for (unsigned i = 0; i < 8; i++)
		memory_write(&m, 0x1400 + 2 * i, 0x1000 + i, 2);
	m.ctx.gpr[GPR_RAX] = 0x1003;
	m.ctx.gpr[GPR_RCX] = 8;
	m.ctx.gpr[GPR_RDI] = 0x1400;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 4);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1408);
	assert_true(m.ctx.rflags & RFLAGS_ZF);

	/* Exhausting the count without a match still completes. */
	m.ctx.rip = CODE_RIP;
	m.ctx.gpr[GPR_RAX] = 0x7777;
	m.ctx.gpr[GPR_RCX] = 8;
	m.ctx.gpr[GPR_RDI] = 0x1400;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 0);
	assert_false(m.ctx.rflags & RFLAGS_ZF);
	assert_int_equal(m.ctx.rip, CODE_RIP + 3);
}

static void test_string_address_size_wrap(void **state)
{
	static struct machine m;
	(void)state;
	/* Real mode, 16-bit addressing: SI/DI wrap inside their low word and
	 * keep the upper bits; CX counts. */
	machine_load_hex(&m, X86_MODE_REAL, "f3 a5");
	m.mirror = true;
	m.ctx.gpr[GPR_RSI] = 0x12340000fffeULL;
	m.ctx.gpr[GPR_RDI] = 0x56780000fffcULL;
	m.ctx.gpr[GPR_RCX] = 0xabcd0003;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.accesses, 6);
	assert_int_equal(m.log[0].offset, 0xfffe);
	assert_int_equal(m.log[1].offset, 0xfffc);
	assert_int_equal(m.log[2].offset, 0x0000);
	assert_int_equal(m.log[3].offset, 0xfffe);
	assert_int_equal(m.log[5].offset, 0x0000);
	assert_int_equal(m.ctx.gpr[GPR_RSI], 0x123400000004ULL);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x567800000002ULL);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 0xabcd0000);

	/* 67 in 64-bit mode: 32-bit addressing wraps at 4 GiB and the updated
	 * registers are zero-extended. */
	machine_load_hex(&m, X86_MODE_LONG64, "67 48 a5");
	m.mirror = true;
	m.ctx.gpr[GPR_RSI] = 0xffff0000fffffff8ULL;
	m.ctx.gpr[GPR_RDI] = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0xfffffff8ULL);
	assert_int_equal(m.ctx.gpr[GPR_RSI], 0);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1008);

	/* 67 in real mode: 32-bit addressing, ESI/EDI/ECX. */
	machine_load_hex(&m, X86_MODE_REAL, "67 f3 a4");
	m.mirror = true;
	m.ctx.gpr[GPR_RSI] = 0x10000;
	m.ctx.gpr[GPR_RDI] = 0x20000;
	m.ctx.gpr[GPR_RCX] = 0x10002;
	m.ctx.gpr[GPR_RCX] = 2;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x10000);
	assert_int_equal(m.log[1].offset, 0x20000);
	assert_int_equal(m.ctx.gpr[GPR_RSI], 0x10002);
}

static void test_string_segment_overrides(void **state)
{
	static struct machine m;
	(void)state;
	/* The source segment follows the override; the destination is always ES. */
	machine_load_hex(&m, X86_MODE_PROT32, "64 a4");
	m.ctx.gpr[GPR_RSI] = 0x1200;
	m.ctx.gpr[GPR_RDI] = 0x1300;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].segment, SEG_FS);
	assert_false(m.log[0].write);
	assert_int_equal(m.log[1].segment, SEG_ES);
	assert_true(m.log[1].write);

	machine_load_hex(&m, X86_MODE_REAL, "26 f3 a6");
	m.ctx.gpr[GPR_RSI] = 0x1200;
	m.ctx.gpr[GPR_RDI] = 0x1300;
	m.ctx.gpr[GPR_RCX] = 1;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].segment, SEG_ES);
	assert_int_equal(m.log[1].segment, SEG_ES);

	machine_load_hex(&m, X86_MODE_LONG64, "65 48 ad");
	m.ctx.gpr[GPR_RSI] = 0x1200;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].segment, SEG_GS);
	assert_int_equal(m.log[0].size, 8);
}

static void test_rep_long_count_restarts(void **state)
{
	static struct machine m;
	unsigned calls = 0;
	(void)state;
	/* A huge count is done in batches: RIP stays on the instruction until
	 * rCX reaches zero, with rCX/rSI/rDI showing the progress. */
	machine_load_hex(&m, X86_MODE_LONG64, "f3 aa");
	m.ctx.gpr[GPR_RAX] = 0x5a;
	m.ctx.gpr[GPR_RCX] = 3 * STRING_BATCH_LIMIT + 5;
	m.ctx.gpr[GPR_RDI] = 0x1000;
	do {
		assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
		calls++;
		if (calls <= 3) {
			assert_int_equal(m.ctx.gpr[GPR_RCX], (3 - calls) * STRING_BATCH_LIMIT + 5);
			assert_int_equal(m.ctx.rip, CODE_RIP);
		}
	} while (m.ctx.gpr[GPR_RCX] && calls < 10);
	assert_int_equal(calls, 4);
	assert_int_equal(m.ctx.rip, CODE_RIP + 2);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1000 + 3 * STRING_BATCH_LIMIT + 5);
	check_pattern(&m, 0x1000, 0, 0);
	assert_int_equal(memory_read(&m, 0x1000 + 3 * STRING_BATCH_LIMIT + 4, 1), 0x5a);
	assert_int_equal(memory_read(&m, 0x1000 + 3 * STRING_BATCH_LIMIT + 5, 1), 0);
}

/* ---- Modes, prefixes and addressing ------------------------------------- */

static void test_real_mode_forms(void **state)
{
	static struct machine m;
	(void)state;
	/* mov ax, [bp-2]: SS by default; the upper half of RAX is kept. */
	machine_load_hex(&m, X86_MODE_REAL, "8b 46 fe");
	m.ctx.gpr[GPR_RBP] = 0xffff0000000012f2ULL;
	m.ctx.gpr[GPR_RAX] = 0x1111111111111111ULL;
	memory_write(&m, 0x12f0, 0xabcd, 2);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x111111111111abcdULL);
	assert_int_equal(m.log[0].segment, SEG_SS);
	assert_int_equal(m.log[0].offset, 0x12f0);
	assert_int_equal(m.ctx.rip, CODE_RIP + 3);

	/* mov [bx+si+0x10], al: DS; 16-bit sum wraps. */
	machine_load_hex(&m, X86_MODE_REAL, "88 40 10");
	m.mirror = true;
	m.ctx.gpr[GPR_RBX] = 0xfff0;
	m.ctx.gpr[GPR_RSI] = 0x1000;
	m.ctx.gpr[GPR_RAX] = 0x77;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1000);
	assert_int_equal(m.log[0].segment, SEG_DS);

	/* 66 67: mov eax, [edi+ecx*4] with 32-bit registers and addressing. */
	machine_load_hex(&m, X86_MODE_REAL, "66 67 8b 04 8f");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	m.ctx.gpr[GPR_RCX] = 0x40;
	memory_write(&m, 0x1100, 0xdeadbeef, 4);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0xdeadbeef);

	/* mov [0x1234], ax (disp16 only) with a CS override. */
	machine_load_hex(&m, X86_MODE_REAL, "2e 89 06 34 12");
	m.ctx.gpr[GPR_RAX] = 0x4242;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(memory_read(&m, 0x1234, 2), 0x4242);
	assert_int_equal(m.log[0].segment, SEG_CS);

	/* IP wraps at 64 KiB. */
	machine_load_hex(&m, X86_MODE_REAL, "89 07");
	m.ctx.rip = m.code_rip = 0xffff;
	m.ctx.gpr[GPR_RBX] = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.rip, 1);

	/* mov al, [0x1200] (moffs16); 67: moffs32. */
	machine_load_hex(&m, X86_MODE_REAL, "a0 00 12");
	memory_write(&m, 0x1200, 0x99, 1);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x99);
	machine_load_hex(&m, X86_MODE_REAL, "67 66 a3 00 12 00 00");
	m.ctx.gpr[GPR_RAX] = 0xcafef00d;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(memory_read(&m, 0x1200, 4), 0xcafef00d);
}

static void test_protected_32bit_forms(void **state)
{
	static struct machine m;
	(void)state;
	/* mov eax, [ecx*4+0x1000]: SIB without base. */
	machine_load_hex(&m, X86_MODE_PROT32, "8b 04 8d 00 10 00 00");
	m.ctx.gpr[GPR_RCX] = 0x10;
	memory_write(&m, 0x1040, 0x01020304, 4);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x01020304);
	assert_int_equal(m.log[0].segment, SEG_DS);

	/* [esp+8] and [ebp+0] default to SS; 3E overrides. */
	machine_load_hex(&m, X86_MODE_PROT32, "89 44 24 08");
	m.ctx.gpr[GPR_RSP] = 0x1100;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].segment, SEG_SS);
	assert_int_equal(m.log[0].offset, 0x1108);
	machine_load_hex(&m, X86_MODE_PROT32, "3e 89 45 00");
	m.ctx.gpr[GPR_RBP] = 0x1100;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].segment, SEG_DS);

	/* 67: 16-bit addressing in 32-bit code, [bp+di] -> SS. */
	machine_load_hex(&m, X86_MODE_PROT32, "67 8b 03");
	m.ctx.gpr[GPR_RBP] = 0x1000;
	m.ctx.gpr[GPR_RDI] = 0x0010;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1010);
	assert_int_equal(m.log[0].segment, SEG_SS);

	/* EIP wraps at 4 GiB. */
	machine_load_hex(&m, X86_MODE_PROT32, "89 07");
	m.ctx.rip = m.code_rip = 0xffffffffULL;
	m.ctx.gpr[GPR_RDI] = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.rip, 1);

	/* MOVSXD does not exist here: 63 is ARPL. */
	machine_load_hex(&m, X86_MODE_PROT32, "63 07");
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_UNHANDLEABLE);
}

static void test_long_mode_forms(void **state)
{
	static struct machine m;
	(void)state;
	/* REX.R/REX.B/REX.X select r8-r15. */
	machine_load_hex(&m, X86_MODE_LONG64, "4c 8b 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	memory_write(&m, 0x1000, 0x0102030405060708ULL, 8);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_R8], 0x0102030405060708ULL);
	machine_load_hex(&m, X86_MODE_LONG64, "43 89 04 c8");
	m.ctx.gpr[GPR_R8] = 0x1000;
	m.ctx.gpr[GPR_R9] = 2;
	m.ctx.gpr[GPR_RAX] = 0xfeedface;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(memory_read(&m, 0x1010, 4), 0xfeedface);

	/* r12 as base needs SIB; r13 as base with mod 01; neither means SS. */
	machine_load_hex(&m, X86_MODE_LONG64, "41 89 45 08");
	m.ctx.gpr[GPR_R13] = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1008);
	assert_int_equal(m.log[0].segment, SEG_DS);

	/* RIP-relative: relative to the next instruction. */
	machine_load_hex(&m, X86_MODE_LONG64, "8b 05 f0 0f 00 00");
	memory_write(&m, CODE_RIP + 6 + 0xff0, 0x13572468, 4);
	m.ctx.gpr[GPR_RAX] = ~0ULL;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x13572468); /* 32-bit write zero-extends */
	/* RIP-relative with a negative displacement and a REX.W immediate store. */
	machine_load_hex(&m, X86_MODE_LONG64, "48 c7 05 f4 ff ff ff ff ff ff ff");
	m.ctx.rip = m.code_rip = 0x1100;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1100 + 11 - 12);
	assert_int_equal(memory_read(&m, 0x10ff, 8), ~0ULL);

	/* 67: the address is truncated to 32 bits. */
	machine_load_hex(&m, X86_MODE_LONG64, "67 8b 07");
	m.ctx.gpr[GPR_RDI] = 0xffffffff00001000ULL;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1000);

	/* Byte registers: AH without REX, SPL with it. */
	machine_load_hex(&m, X86_MODE_LONG64, "88 e0");
	m.ctx.gpr[GPR_RAX] = 0x1234;
	m.ctx.gpr[GPR_RSP] = 0x99;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x1212);
	machine_load_hex(&m, X86_MODE_LONG64, "40 88 e0");
	m.ctx.gpr[GPR_RAX] = 0x1234;
	m.ctx.gpr[GPR_RSP] = 0x99;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x1299);
	machine_load_hex(&m, X86_MODE_LONG64, "0f b6 fc"); /* movzx edi, ah */
	m.ctx.gpr[GPR_RSP] = 0xab00;
	m.ctx.gpr[GPR_RDI] = ~0ULL;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0);
	m.ctx.rip = CODE_RIP;
	m.ctx.gpr[GPR_RAX] = 0xab00;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0xab);

	/* moffs64 with an FS override. */
	machine_load_hex(&m, X86_MODE_LONG64, "64 48 a1 00 12 00 00 00 00 00 00");
	memory_write(&m, 0x1200, 0x8877665544332211ULL, 8);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x8877665544332211ULL);
	assert_int_equal(m.log[0].segment, SEG_FS);

	/* MOVSXD with and without REX.W, MOVZX with 66 (16 <- 16). */
	machine_load_hex(&m, X86_MODE_LONG64, "48 63 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	memory_write(&m, 0x1000, 0x80000000, 4);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0xffffffff80000000ULL);
	machine_load_hex(&m, X86_MODE_LONG64, "63 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	memory_write(&m, 0x1000, 0x80000000, 4);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x80000000);
	machine_load_hex(&m, X86_MODE_LONG64, "66 0f b7 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	m.ctx.gpr[GPR_RAX] = 0x1111111111111111ULL;
	memory_write(&m, 0x1000, 0xfedc, 2);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x111111111111fedcULL);

	/* xchg with an explicit LOCK and a memory operand. */
	machine_load_hex(&m, X86_MODE_LONG64, "f0 48 87 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	m.ctx.gpr[GPR_RAX] = 7;
	memory_write(&m, 0x1000, 9, 8);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 9);
	assert_int_equal(memory_read(&m, 0x1000, 8), 7);
}

static void test_bit_string_negative_offset(void **state)
{
	static struct machine m;
	(void)state;
	/* bts [rdi], rax with rax = -1: bit 63 of the qword below rdi. */
	machine_load_hex(&m, X86_MODE_LONG64, "48 0f ab 07");
	m.ctx.gpr[GPR_RDI] = 0x1100;
	m.ctx.gpr[GPR_RAX] = ~0ULL;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x10f8);
	assert_int_equal(memory_read(&m, 0x10f8, 8), 0x8000000000000000ULL);
	assert_false(m.ctx.rflags & RFLAGS_CF);
	/* 16-bit operand: offset 0x8000 is -32768 bits = -4096 bytes. */
	machine_load_hex(&m, X86_MODE_PROT32, "66 0f a3 07");
	m.ctx.gpr[GPR_RDI] = 0x2f00;
	m.ctx.gpr[GPR_RAX] = 0x8000;
	memory_write(&m, 0x1f00, 1, 2);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1f00);
	assert_true(m.ctx.rflags & RFLAGS_CF);
	/* Immediate offsets are taken modulo the operand size. */
	machine_load_hex(&m, X86_MODE_PROT32, "0f ba 2f 21");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.log[0].offset, 0x1000);
	assert_int_equal(memory_read(&m, 0x1000, 4), 2);
}

/* ---- Faults and the edges of what is emulated --------------------------- */

static void test_read_exception_propagates(void **state)
{
	static struct machine m;
	(void)state;
	machine_load_hex(&m, X86_MODE_LONG64, "48 8b 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	m.ctx.gpr[GPR_RAX] = 0x55;
	m.fault_armed = true;
	m.fault_offset = 0x1004;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_EXCEPTION);
	assert_int_equal(m.ctx.exception.vector, VECTOR_PF);
	assert_true(m.ctx.exception.has_error_code);
	assert_int_equal(m.ctx.gpr[GPR_RAX], 0x55);
	assert_int_equal(m.ctx.rip, CODE_RIP);

	/* A faulting write leaves flags and registers alone. */
	machine_load_hex(&m, X86_MODE_LONG64, "01 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	m.ctx.gpr[GPR_RAX] = 1;
	m.ctx.rflags = RFLAGS_RESERVED_ONE | RFLAGS_ZF;
	m.fault_armed = true;
	m.fault_offset = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_EXCEPTION);
	assert_int_equal(m.ctx.rflags, RFLAGS_RESERVED_ONE | RFLAGS_ZF);
	/* Out of the mapped window: the ops' #GP. */
	machine_load_hex(&m, X86_MODE_LONG64, "8b 07");
	m.ctx.gpr[GPR_RDI] = 0x100000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_EXCEPTION);
	assert_int_equal(m.ctx.exception.vector, VECTOR_GP);

	/* rep movsb faulting on the 4th store: three iterations are kept. */
	machine_load_hex(&m, X86_MODE_LONG64, "f3 a4");
	m.ctx.gpr[GPR_RCX] = 10;
	m.ctx.gpr[GPR_RSI] = 0x1200;
	m.ctx.gpr[GPR_RDI] = 0x1300;
	m.fault_armed = true;
	m.fault_offset = 0x1303;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_EXCEPTION);
	assert_int_equal(m.ctx.exception.error_code, PF_ERROR_WRITE);
	assert_int_equal(m.ctx.gpr[GPR_RCX], 7);
	assert_int_equal(m.ctx.gpr[GPR_RSI], 0x1203);
	assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1303);
	assert_int_equal(m.ctx.rip, CODE_RIP);
}

static void test_lock_rules(void **state)
{
	static const struct {
		const char *hex;
		enum emulate_status status;
	} cases[] = {
		{ "f0 89 07", EMULATE_EXCEPTION },       /* MOV */
		{ "f0 8b 07", EMULATE_EXCEPTION },
		{ "f0 01 07", EMULATE_OK },              /* ADD [mem], reg */
		{ "f0 03 07", EMULATE_EXCEPTION },       /* ADD reg, [mem] */
		{ "f0 01 c0", EMULATE_EXCEPTION },       /* ADD reg, reg */
		{ "f0 39 07", EMULATE_EXCEPTION },       /* CMP */
		{ "f0 83 3f 01", EMULATE_EXCEPTION },    /* CMP imm */
		{ "f0 83 37 01", EMULATE_OK },           /* XOR imm */
		{ "f0 85 07", EMULATE_EXCEPTION },       /* TEST */
		{ "f0 f7 17", EMULATE_OK },              /* NOT */
		{ "f0 f7 1f", EMULATE_OK },              /* NEG */
		{ "f0 ff 07", EMULATE_OK },              /* INC */
		{ "f0 fe 0f", EMULATE_OK },              /* DEC */
		{ "f0 ff c0", EMULATE_EXCEPTION },       /* INC reg */
		{ "f0 0f a3 07", EMULATE_EXCEPTION },    /* BT */
		{ "f0 0f ab 07", EMULATE_OK },           /* BTS */
		{ "f0 0f ba 37 01", EMULATE_OK },        /* BTR imm */
		{ "f0 0f ba 27 01", EMULATE_EXCEPTION }, /* BT imm */
		{ "f0 87 07", EMULATE_OK },              /* XCHG */
		{ "f0 87 c1", EMULATE_EXCEPTION },       /* XCHG reg, reg */
		{ "f0 0f b6 07", EMULATE_EXCEPTION },    /* MOVZX */
		{ "f0 a4", EMULATE_EXCEPTION },          /* MOVS */
		{ "f0 a1 00 10 00 00 00 00 00 00", EMULATE_EXCEPTION },
		{ "f0 c7 07 01 00 00 00", EMULATE_EXCEPTION },
	};
	static struct machine m;
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		machine_load_hex(&m, X86_MODE_LONG64, cases[i].hex);
		m.ctx.gpr[GPR_RDI] = 0x1000;
		m.ctx.gpr[GPR_RSI] = 0x1000;
		enum emulate_status status = x86_emulate(&m.ctx);
		if (status != cases[i].status)
			fail_msg("[%s]: status %d, expected %d", cases[i].hex, status, cases[i].status);
		if (status == EMULATE_EXCEPTION) {
			assert_int_equal(m.ctx.exception.vector, VECTOR_UD);
			assert_false(m.ctx.exception.has_error_code);
			assert_int_equal(m.accesses, 0);
			assert_int_equal(m.ctx.rip, CODE_RIP);
		}
	}
}

static void test_unhandleable_instructions(void **state)
{
	static const char *const cases[] = {
		"0f a2",          /* CPUID */
		"90",             /* NOP */
		"f7 27",          /* MUL */
		"ff 17",          /* CALL near indirect */
		"0f c1 07",       /* XADD */
		"c5 f8 10 07",    /* VEX vmovups */
		"c7 f8 00 00 00 00", /* XBEGIN */
		"0f ff 00",       /* UD0 */
		"d6",             /* invalid in 64-bit mode */
		"06",
	};
	static struct machine m;
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(cases); i++) {
		machine_load_hex(&m, X86_MODE_LONG64, cases[i]);
		m.ctx.gpr[GPR_RDI] = 0x1000;
		if (x86_emulate(&m.ctx) != EMULATE_UNHANDLEABLE)
			fail_msg("[%s] should be unhandleable", cases[i]);
		assert_int_equal(m.ctx.rip, CODE_RIP);
		assert_int_equal(m.accesses, 0);
	}
	/* The report has the bytes even when decoding failed. */
	assert_int_equal(m.ctx.insn.bytes[0], 0x06);
}

static void test_short_fetch(void **state)
{
	static struct machine m;
	(void)state;
	/* mov rax, [rdi+0x12345678] is 7 bytes; only 1..6 can be fetched. */
	for (unsigned available = 0; available < 7; available++) {
		machine_load_hex(&m, X86_MODE_LONG64, "48 8b 87 78 56 34 12");
		m.code_length = available;
		m.ctx.gpr[GPR_RDI] = 0x1000;
		assert_int_equal(x86_emulate(&m.ctx), EMULATE_UNHANDLEABLE);
		assert_int_equal(m.accesses, 0);
	}
	/* A fetch that hands out no bytes. */
	machine_load_hex(&m, X86_MODE_LONG64, "90");
	m.code_rip = 0x9999;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_UNHANDLEABLE);
	/* Decoding from an exact-size heap buffer never reads past it. */
	check_truncations((const u8 *)"\x48\x8b\x87\x78\x56\x34\x12", 7, X86_MODE_LONG64);
	check_truncations((const u8 *)"\x66\x67\xf3\x48\xc7\x84\x88\x01\x02\x03\x04\x05\x06\x07\x08", 15,
			  X86_MODE_LONG64);
}

static void test_flags_outside_arithmetic_kept(void **state)
{
	static struct machine m;
	(void)state;
	/* IF, DF, TF and friends survive an ALU op. */
	machine_load_hex(&m, X86_MODE_LONG64, "01 07");
	m.ctx.gpr[GPR_RDI] = 0x1000;
	m.ctx.rflags = RFLAGS_RESERVED_ONE | BIT(9) | BIT(8) | RFLAGS_DF | BIT(21);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.rflags & ~RFLAGS_ARITHMETIC, RFLAGS_RESERVED_ONE | BIT(9) | BIT(8) | RFLAGS_DF | BIT(21));
	assert_true(m.ctx.rflags & RFLAGS_ZF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_native_execution_oracle),
		cmocka_unit_test(test_rep_movs_all_sizes_both_directions),
		cmocka_unit_test(test_rep_stos_and_lods),
		cmocka_unit_test(test_rep_with_zero_count),
		cmocka_unit_test(test_repe_cmps_and_repne_scas),
		cmocka_unit_test(test_string_address_size_wrap),
		cmocka_unit_test(test_string_segment_overrides),
		cmocka_unit_test(test_rep_long_count_restarts),
		cmocka_unit_test(test_real_mode_forms),
		cmocka_unit_test(test_protected_32bit_forms),
		cmocka_unit_test(test_long_mode_forms),
		cmocka_unit_test(test_bit_string_negative_offset),
		cmocka_unit_test(test_read_exception_propagates),
		cmocka_unit_test(test_lock_rules),
		cmocka_unit_test(test_unhandleable_instructions),
		cmocka_unit_test(test_short_fetch),
		cmocka_unit_test(test_flags_outside_arithmetic_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
