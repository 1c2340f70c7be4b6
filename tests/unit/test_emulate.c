/*
 * Tests for vmm/emulate.c, checked against three oracles:
 *  - Capstone (Debian's libcapstone 4) for instruction lengths and validity
 *    over a generated corpus in 16-, 32- and 64-bit modes, and for ModRM
 *    operands (register, base, index, scale, displacement);
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
#include "vmm/emulate.c"

#include <string.h>
/* Capstone names an enum x86_insn; our struct x86_insn shares the tag space. */
#define x86_insn capstone_x86_insn
#include <capstone/capstone.h>
#undef x86_insn

#define RFLAGS_FIXED BIT(1) /* reads as 1 */
#define VECTOR_GP 13
#define VECTOR_PF 14
#define PF_ERROR_WRITE BIT(1)

/* ---- Deterministic PRNG (splitmix64) ------------------------------------ */

struct prng {
	u64 state;
};

static u64 prng_next(struct prng *p)
{
	u64 z = (p->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static unsigned prng_below(struct prng *p, unsigned limit)
{
	return (unsigned)(prng_next(p) % limit);
}

/* The test's own masks and sign extension, so expectations do not share
 * code with the emulator under test. */
static u64 value_mask(unsigned size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

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
	m->ctx.rflags = RFLAGS_FIXED;
	assert_true(length <= X86_MAX_INSN_LENGTH);
	memcpy(m->code, code, length);
	m->code_length = length;
}

static unsigned parse_hex(const char *text, u8 *out, unsigned capacity)
{
	unsigned count = 0;
	while (*text) {
		unsigned value;
		int used;
		if (*text == ' ') {
			text++;
			continue;
		}
		assert_int_equal(sscanf(text, "%2x%n", &value, &used), 1);
		assert_true(count < capacity);
		out[count++] = (u8)value;
		text += used;
	}
	return count;
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

static int decode_hex(const char *hex, enum x86_mode mode, struct x86_insn *insn)
{
	u8 bytes[32];
	unsigned length = parse_hex(hex, bytes, sizeof(bytes));
	return x86_decode(bytes, length, mode, insn);
}

/* Decoded length, or -1. */
static int length_of(const char *hex, enum x86_mode mode)
{
	struct x86_insn insn;
	return decode_hex(hex, mode, &insn) ? -1 : insn.length;
}

/* ---- Length oracle: a generated corpus checked against Capstone ---------- */

#define CORPUS_PER_MODE 150000u
#define REPORT_LIMIT 25

static const u8 legacy_prefixes[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

static cs_mode capstone_mode(enum x86_mode mode)
{
	return mode == X86_MODE_LONG64 ? CS_MODE_64 : mode == X86_MODE_PROT32 ? CS_MODE_32 : CS_MODE_16;
}

static const char *mode_name(enum x86_mode mode)
{
	static const char *const names[] = { "real", "16-bit", "32-bit", "64-bit" };
	return names[mode];
}

static void append(u8 *out, unsigned *position, u8 byte)
{
	if (*position < X86_MAX_INSN_LENGTH)
		out[(*position)++] = byte;
}

/* VEX/EVEX/XOP payloads with mostly-valid maps, ModRM-looking bytes forced
 * to mod = 11 outside 64-bit mode half of the time. */
static void generate_extended(struct prng *rng, enum x86_mode mode, u8 *out, unsigned *position)
{
	bool force_register = mode != X86_MODE_LONG64 && prng_below(rng, 4) != 0;
	u8 p0 = (u8)prng_next(rng);
	unsigned kind = prng_below(rng, 10);
	if (force_register)
		p0 |= 0xc0;
	if (kind < 3) { /* VEX2 */
		append(out, position, ESCAPE_VEX2);
		append(out, position, p0);
	} else if (kind < 6) { /* VEX3 */
		append(out, position, ESCAPE_VEX3);
		if (prng_below(rng, 8))
			p0 = (p0 & 0xe0) | (u8)(1 + prng_below(rng, 3));
		append(out, position, p0);
		append(out, position, (u8)prng_next(rng));
	} else if (kind < 9) { /* EVEX */
		append(out, position, ESCAPE_EVEX);
		if (prng_below(rng, 8))
			p0 = (p0 & 0xf0) | (u8)(1 + prng_below(rng, 3));
		append(out, position, p0);
		append(out, position, (u8)prng_next(rng) | (prng_below(rng, 8) ? EVEX_P1_FIXED : 0));
		append(out, position, (u8)prng_next(rng));
	} else { /* XOP */
		append(out, position, ESCAPE_XOP);
		if (prng_below(rng, 8))
			p0 = (p0 & 0xe0) | (u8)(MAP_XOP8 + prng_below(rng, 3));
		append(out, position, p0);
		append(out, position, (u8)prng_next(rng));
	}
}

/* Prefixes (sometimes many), maybe REX, an opcode from one of the maps and
 * random bytes for ModRM/SIB/displacement/immediate. Always 15 bytes. */
static void generate_candidate(struct prng *rng, enum x86_mode mode, u8 *out)
{
	unsigned position = 0, prefixes, roll = prng_below(rng, 100), kind;
	for (unsigned i = 0; i < X86_MAX_INSN_LENGTH; i++)
		out[i] = (u8)prng_next(rng);
	kind = prng_below(rng, 100);
	prefixes = roll < 45 ? 0 : roll < 75 ? 1 : roll < 93 ? 2 + prng_below(rng, 3) : 5 + prng_below(rng, 10);
	if (kind >= 84 && kind < 96 && prng_below(rng, 4))
		prefixes = 0; /* VEX/EVEX/XOP are #UD after legacy SIMD prefixes: mostly keep them valid */
	for (unsigned i = 0; i < prefixes && position < X86_MAX_INSN_LENGTH; i++)
		out[position++] = legacy_prefixes[prng_below(rng, ARRAY_SIZE(legacy_prefixes))];
	if (mode == X86_MODE_LONG64 && position < X86_MAX_INSN_LENGTH && prng_below(rng, 100) < 35 &&
	    !(kind >= 84 && kind < 96))
		out[position++] = (u8)(REX_BASE | prng_below(rng, 16));
	if (kind < 40) {
		append(out, &position, (u8)prng_next(rng));
	} else if (kind < 84) {
		append(out, &position, ESCAPE_0F);
		if (kind >= 68)
			append(out, &position, kind < 76 ? ESCAPE_0F38 : ESCAPE_0F3A);
		else if (kind >= 66)
			append(out, &position, OPCODE_3DNOW);
	} else if (kind < 96) {
		generate_extended(rng, mode, out, &position);
	}
	/* else: entirely random bytes */
}

/* The prefixes in front of the opcode, scanned the way the hardware does. */
struct prefix_scan {
	unsigned opcode_at; /* offset of the opcode (or VEX/EVEX/XOP escape) byte */
	bool has_66, has_67, has_rep, has_lock;
	u8 rex;             /* the REX right before the opcode, or 0 */
};

static void scan_prefixes(const u8 *bytes, enum x86_mode mode, struct prefix_scan *scan)
{
	unsigned i = 0;
	memset(scan, 0, sizeof(*scan));
	for (; i < X86_MAX_INSN_LENGTH; i++) {
		u8 b = bytes[i];
		bool legacy = false;
		for (unsigned j = 0; j < ARRAY_SIZE(legacy_prefixes); j++)
			legacy |= b == legacy_prefixes[j];
		if (mode == X86_MODE_LONG64 && (b & REX_MASK) == REX_BASE) {
			scan->rex = b;
			continue;
		}
		if (!legacy)
			break;
		scan->rex = 0;
		scan->has_66 |= b == 0x66;
		scan->has_67 |= b == 0x67;
		scan->has_rep |= b == 0xf2 || b == 0xf3;
		scan->has_lock |= b == 0xf0;
	}
	scan->opcode_at = i;
}

/*
 * Where Capstone 4.0.2 disagrees with the manuals; each entry is also
 * covered by a hand-written length test below with the right answer.
 */
static const char *capstone_known_wrong(const u8 *bytes, enum x86_mode mode, int our_status)
{
	struct prefix_scan scan;
	scan_prefixes(bytes, mode, &scan);
	unsigned at = scan.opcode_at;
	u8 op = at < X86_MAX_INSN_LENGTH ? bytes[at] : 0;
	u8 op2 = at + 1 < X86_MAX_INSN_LENGTH ? bytes[at + 1] : 0;
	bool near_branch = op == 0xe8 || op == 0xe9 || (op == ESCAPE_0F && op2 >= 0x80 && op2 <= 0x8f);
	bool rex_w = scan.rex & REX_W;
	/* 1. Intel: in 64-bit mode near CALL/JMP/Jcc take rel32 whatever 66
	 * says; Capstone decodes rel16 (AMD's behaviour). We follow Intel. */
	if (mode == X86_MODE_LONG64 && scan.has_66 && near_branch)
		return "66 on a near branch in 64-bit mode";
	/* 2. Capstone drops a 66 that comes before F2/F3 on near branches in
	 * 32-bit code (66 F3 E8 taken as rel32; F3 66 E8 is right). */
	if (mode == X86_MODE_PROT32 && scan.has_66 && scan.has_rep && near_branch)
		return "66 before F2/F3 on a near branch";
	/* 3. With REX.W, Capstone reads RET's imm16 (C2) as imm32 after 66 or
	 * 67, and CALL's rel32 (E8) as rel16 after 67. */
	if (mode == X86_MODE_LONG64 && rex_w && ((op == 0xc2 && (scan.has_66 || scan.has_67)) ||
						 (op == 0xe8 && scan.has_67)))
		return "REX.W with 66/67 on RET imm16 / CALL rel32";
	/* 4. Intel SDM: UD1 (0F B9) and UD0 (0F FF) have a ModRM; Capstone 4
	 * takes them as two-byte instructions. */
	if (op == ESCAPE_0F && (op2 == 0xb9 || op2 == 0xff))
		return "UD0/UD1 without ModRM";
	/* 5. SDM 2.3.2: VEX/EVEX/XOP after 66, F2, F3 or LOCK is #UD; Capstone 4
	 * decodes them ignoring the prefix. */
	if (our_status != 0 && (scan.has_66 || scan.has_rep || scan.has_lock) &&
	    (op == ESCAPE_VEX2 || op == ESCAPE_VEX3 || op == ESCAPE_EVEX || op == ESCAPE_XOP))
		return "legacy prefix before VEX/EVEX/XOP";
	/* 6. EVEX.b with a register operand (embedded rounding): Capstone 4
	 * consumes one byte too many. */
	if (op == ESCAPE_EVEX && at + 5 < X86_MAX_INSN_LENGTH && (bytes[at + 3] & 0x10) &&
	    MODRM_MOD(bytes[at + 5]) == MOD_REGISTER)
		return "EVEX embedded rounding";
	/* 7. AMD APM: 66/F2 0F 78 with a register ModRM is EXTRQ/INSERTQ
	 * (imm8, imm8), in every mode; Capstone 4 picks VMREAD instead when
	 * other prefixes (67, a second 66/F2, F3) or 16-bit code change its
	 * prefix context. */
	if (op == ESCAPE_0F && op2 == 0x78 && at + 2 < X86_MAX_INSN_LENGTH &&
	    MODRM_MOD(bytes[at + 2]) == MOD_REGISTER && (scan.has_66 || scan.has_rep))
		return "EXTRQ/INSERTQ vs VMREAD";
	return NULL;
}

#define MAX_EXCLUSION_REASONS 8

struct corpus_stats {
	unsigned generated, capstone_valid, agreed, excluded, mismatched;
	unsigned capstone_invalid, capstone_invalid_ours_valid;
	const char *reasons[MAX_EXCLUSION_REASONS];
	unsigned reason_counts[MAX_EXCLUSION_REASONS];
};

static void count_exclusion(struct corpus_stats *stats, const char *why)
{
	unsigned i = 0;
	while (i < MAX_EXCLUSION_REASONS && stats->reasons[i] && stats->reasons[i] != why)
		i++;
	assert_true(i < MAX_EXCLUSION_REASONS);
	stats->reasons[i] = why;
	stats->reason_counts[i]++;
	stats->excluded++;
}

static void print_bytes(const char *label, const u8 *bytes, unsigned count)
{
	printf("%s", label);
	for (unsigned i = 0; i < count; i++)
		printf(" %02x", bytes[i]);
}

/* A valid instruction must also decode from exactly its own bytes, and
 * fail (without reading past them: the copy is an exact-size heap block
 * under ASan) from any shorter prefix of them. */
static void check_truncations(const u8 *bytes, unsigned length, enum x86_mode mode)
{
	struct x86_insn insn;
	for (unsigned available = 0; available <= length; available++) {
		u8 *copy = malloc(available ? available : 1);
		memcpy(copy, bytes, available);
		int status = x86_decode(available ? copy : NULL, available, mode, &insn);
		if (available < length)
			assert_int_equal(status, -1);
		else
			assert_true(status == 0 && insn.length == length);
		free(copy);
	}
}

static void run_corpus(enum x86_mode mode, u64 seed, struct corpus_stats *stats)
{
	struct prng rng = { seed };
	csh handle;
	cs_insn *reference;
	unsigned reported = 0;
	assert_int_equal(cs_open(CS_ARCH_X86, capstone_mode(mode), &handle), CS_ERR_OK);
	reference = cs_malloc(handle);
	for (unsigned n = 0; n < CORPUS_PER_MODE; n++) {
		u8 bytes[X86_MAX_INSN_LENGTH];
		const u8 *cursor = bytes;
		size_t size = sizeof(bytes);
		u64 address = 0x1000;
		struct x86_insn ours;
		generate_candidate(&rng, mode, bytes);
		stats->generated++;
		int status = x86_decode(bytes, sizeof(bytes), mode, &ours);
		if (!cs_disasm_iter(handle, &cursor, &size, &address, reference)) {
			stats->capstone_invalid++;
			stats->capstone_invalid_ours_valid += status == 0;
			continue;
		}
		stats->capstone_valid++;
		if (status == 0 && ours.length == reference->size) {
			stats->agreed++;
			check_truncations(bytes, ours.length, mode);
			continue;
		}
		const char *why = capstone_known_wrong(bytes, mode, status);
		if (why) {
			count_exclusion(stats, why);
			continue;
		}
		stats->mismatched++;
		if (reported++ < REPORT_LIMIT) {
			printf("  %s mismatch:", mode_name(mode));
			print_bytes("", bytes, reference->size);
			printf("  capstone %u (%s %s), ours %d\n", reference->size, reference->mnemonic,
			       reference->op_str, status ? -1 : ours.length);
		}
	}
	cs_free(reference, 1);
	cs_close(&handle);
}

static void test_length_corpus_against_capstone(void **state)
{
	static const enum x86_mode modes[] = { X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_LONG64 };
	struct corpus_stats total = { 0 };
	(void)state;
	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++) {
		struct corpus_stats stats = { 0 };
		run_corpus(modes[i], 0x5eed0000 + i, &stats);
		printf("  length corpus %-6s: %u generated, Capstone accepts %u: %u agree, %u excluded, %u differ;"
		       " Capstone rejects %u (we accept %u of those)\n",
		       mode_name(modes[i]), stats.generated, stats.capstone_valid, stats.agreed, stats.excluded,
		       stats.mismatched, stats.capstone_invalid, stats.capstone_invalid_ours_valid);
		for (unsigned r = 0; r < MAX_EXCLUSION_REASONS && stats.reasons[r]; r++)
			printf("      excluded %5u: %s\n", stats.reason_counts[r], stats.reasons[r]);
		total.generated += stats.generated;
		total.capstone_valid += stats.capstone_valid;
		total.agreed += stats.agreed;
		total.excluded += stats.excluded;
		total.mismatched += stats.mismatched;
	}
	printf("  length corpus total : %u generated, %u accepted by Capstone, %u agree (%.3f%%), %u excluded\n",
	       total.generated, total.capstone_valid, total.agreed,
	       100.0 * total.agreed / (total.capstone_valid ? total.capstone_valid : 1), total.excluded);
	assert_int_equal(total.mismatched, 0);
}

/* ---- Operand oracle: ModRM operands against Capstone's detail ----------- */

static const x86_reg capstone_gpr64[16] = {
	X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
	X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11, X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
};
static const x86_reg capstone_gpr32[16] = {
	X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX, X86_REG_ESP, X86_REG_EBP, X86_REG_ESI, X86_REG_EDI,
	X86_REG_R8D, X86_REG_R9D, X86_REG_R10D, X86_REG_R11D, X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D,
};
static const x86_reg capstone_gpr16[16] = {
	X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX, X86_REG_SP, X86_REG_BP, X86_REG_SI, X86_REG_DI,
	X86_REG_R8W, X86_REG_R9W, X86_REG_R10W, X86_REG_R11W, X86_REG_R12W, X86_REG_R13W, X86_REG_R14W, X86_REG_R15W,
};
static const x86_reg capstone_gpr8[16] = {
	X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL, X86_REG_SPL, X86_REG_BPL, X86_REG_SIL, X86_REG_DIL,
	X86_REG_R8B, X86_REG_R9B, X86_REG_R10B, X86_REG_R11B, X86_REG_R12B, X86_REG_R13B, X86_REG_R14B, X86_REG_R15B,
};
static const x86_reg capstone_gpr8_legacy[8] = {
	X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL, X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH,
};

static x86_reg capstone_gpr(unsigned number, unsigned size, bool rex)
{
	switch (size) {
	case 1: return rex ? capstone_gpr8[number] : capstone_gpr8_legacy[number & 7];
	case 2: return capstone_gpr16[number];
	case 4: return capstone_gpr32[number];
	default: return capstone_gpr64[number];
	}
}

static x86_reg capstone_address_register(int number, const struct x86_insn *insn)
{
	if (number == NO_REGISTER)
		return X86_REG_INVALID;
	return capstone_gpr((unsigned)number, insn->address_size, true);
}

/* Operand sizes of the MOV/ALU forms checked: reg-field and r/m sizes, or
 * false if the instruction is not one of them. reg_size 0: the reg field is
 * an opcode extension. */
static bool modrm_operand_sizes(const struct x86_insn *insn, enum x86_mode mode, unsigned *reg_size,
				unsigned *rm_size)
{
	u8 op = insn->opcode, reg = MODRM_REG(insn->modrm);
	unsigned v = insn->operand_size, byte_or_v = op & 1 ? v : 1;
	if (insn->opcode_map == MAP_ONE_BYTE) {
		*reg_size = byte_or_v;
		*rm_size = byte_or_v;
		if (is_classic_alu(op) && (op & OPCODE_ALU_FORM_MASK) < OPCODE_ALU_FORM_AL_IB)
			return true;
		if (op >= 0x84 && op <= 0x8b)
			return true;
		/* Capstone 4 shows MOVSXD's destination as 64-bit even without
		 * REX.W (where it is r32, SDM "MOVSXD"): compare REX.W forms only. */
		if (op == OPCODE_MOVSXD && mode == X86_MODE_LONG64 && (insn->rex & REX_W)) {
			*rm_size = MIN(v, 4u);
			return true;
		}
		*reg_size = 0;
		if (op >= 0x80 && op <= 0x83) {
			*rm_size = op == 0x81 || op == 0x83 ? v : 1;
			return true;
		}
		if (op == 0xc6 || op == 0xc7)
			return reg == 0;
		if (op == 0xf6 || op == 0xf7)
			return reg <= 3;
		if (op == 0xfe || op == 0xff)
			return reg <= 1;
		return false;
	}
	if (insn->opcode_map != MAP_0F)
		return false;
	*reg_size = v;
	*rm_size = v;
	switch (op) {
	case 0xa3: case 0xab: case 0xb3: case 0xbb:
		return true;
	case 0xba:
		*reg_size = 0;
		return reg >= GROUP8_FIRST_REG;
	case 0xb6: case 0xbe:
		*rm_size = 1;
		return true;
	case 0xb7: case 0xbf:
		*rm_size = 2;
		return true;
	default:
		return false;
	}
}

static bool capstone_has_register(const cs_x86 *x86, x86_reg reg)
{
	for (unsigned i = 0; i < x86->op_count; i++)
		if (x86->operands[i].type == X86_OP_REG && x86->operands[i].reg == reg)
			return true;
	return false;
}

static x86_reg without_zero_index(x86_reg reg)
{
	return reg == X86_REG_EIZ || reg == X86_REG_RIZ ? X86_REG_INVALID : reg;
}

static bool capstone_memory_matches(const cs_x86 *x86, const struct x86_insn *insn)
{
	struct address_parts parts;
	u64 mask = value_mask(insn->address_size);
	modrm_address_parts(insn, &parts);
	for (unsigned i = 0; i < x86->op_count; i++) {
		const x86_op_mem *mem = &x86->operands[i].mem;
		x86_reg base = parts.rip_relative ? (insn->address_size == 8 ? X86_REG_RIP : X86_REG_EIP)
						  : capstone_address_register(parts.base, insn);
		if (x86->operands[i].type != X86_OP_MEM)
			continue;
		if (mem->base != base || without_zero_index(mem->index) != capstone_address_register(parts.index, insn))
			return false;
		if (parts.index != NO_REGISTER && (unsigned)mem->scale != parts.scale)
			return false;
		return ((u64)mem->disp & mask) == ((u64)parts.displacement & mask);
	}
	return false;
}

static void test_modrm_operands_against_capstone(void **state)
{
	static const enum x86_mode modes[] = { X86_MODE_PROT16, X86_MODE_PROT32, X86_MODE_LONG64 };
	static const u8 opcodes[] = { 0x00, 0x01, 0x02, 0x03, 0x08, 0x0b, 0x10, 0x11, 0x19, 0x1a, 0x21, 0x23,
				      0x28, 0x2b, 0x30, 0x33, 0x38, 0x3b, 0x63, 0x80, 0x81, 0x83, 0x84, 0x85,
				      0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0xf6, 0xf7, 0xfe, 0xff };
	static const u8 opcodes_0f[] = { 0xa3, 0xab, 0xb3, 0xbb, 0xba, 0xb6, 0xb7, 0xbe, 0xbf };
	unsigned checked = 0, failures = 0;
	(void)state;
	for (unsigned m = 0; m < ARRAY_SIZE(modes); m++) {
		enum x86_mode mode = modes[m];
		struct prng rng = { 0x0be7a000 + m };
		csh handle;
		cs_insn *reference;
		assert_int_equal(cs_open(CS_ARCH_X86, capstone_mode(mode), &handle), CS_ERR_OK);
		cs_option(handle, CS_OPT_DETAIL, CS_OPT_ON);
		reference = cs_malloc(handle);
		for (unsigned n = 0; n < 40000; n++) {
			u8 bytes[X86_MAX_INSN_LENGTH];
			unsigned position = 0;
			const u8 *cursor = bytes;
			size_t size = sizeof(bytes);
			u64 address = 0x1000;
			struct x86_insn insn;
			unsigned reg_size, rm_size;
			for (unsigned i = 0; i < sizeof(bytes); i++)
				bytes[i] = (u8)prng_next(&rng);
			if (prng_below(&rng, 3) == 0)
				bytes[position++] = 0x66;
			if (prng_below(&rng, 3) == 0)
				bytes[position++] = 0x67;
			if (prng_below(&rng, 4) == 0)
				bytes[position++] = legacy_prefixes[5 + prng_below(&rng, 6)];
			if (mode == X86_MODE_LONG64 && prng_below(&rng, 2))
				bytes[position++] = (u8)(REX_BASE | prng_below(&rng, 16));
			if (prng_below(&rng, 4) == 0) {
				bytes[position++] = ESCAPE_0F;
				bytes[position++] = opcodes_0f[prng_below(&rng, ARRAY_SIZE(opcodes_0f))];
			} else {
				bytes[position++] = opcodes[prng_below(&rng, ARRAY_SIZE(opcodes))];
			}
			if (x86_decode(bytes, sizeof(bytes), mode, &insn) ||
			    !modrm_operand_sizes(&insn, mode, &reg_size, &rm_size) ||
			    !cs_disasm_iter(handle, &cursor, &size, &address, reference))
				continue;
			const cs_x86 *x86 = &reference->detail->x86;
			bool rex = insn.rex != 0;
			bool ok = reg_size == 0 || capstone_has_register(x86, capstone_gpr(insn.modrm_reg, reg_size, rex));
			if (insn.modrm_mod == MOD_REGISTER)
				ok = ok && capstone_has_register(x86, capstone_gpr(insn.modrm_rm, rm_size, rex));
			else
				ok = ok && capstone_memory_matches(x86, &insn);
			checked++;
			if (!ok && failures++ < REPORT_LIMIT) {
				print_bytes("  operand mismatch:", bytes, insn.length);
				printf("  (%s: %s %s)\n", mode_name(mode), reference->mnemonic, reference->op_str);
			}
		}
		cs_free(reference, 1);
		cs_close(&handle);
	}
	printf("  operand oracle: %u MOV/ALU/bit/extend instructions compared, %u differ\n", checked, failures);
	assert_true(checked > 50000);
	assert_int_equal(failures, 0);
}

/* ---- Decoder: hand-checked lengths and mode rules ----------------------- */

struct length_case {
	enum x86_mode mode;
	const char *hex;
	int length; /* -1: invalid */
};

static void check_lengths(const struct length_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		int got = length_of(cases[i].hex, cases[i].mode);
		if (got != cases[i].length)
			fail_msg("%s [%s]: length %d, expected %d", mode_name(cases[i].mode), cases[i].hex, got,
				 cases[i].length);
	}
}

static void test_decode_special_immediates(void **state)
{
	static const struct length_case cases[] = {
		/* F6/F7: only TEST (/0, /1) carries an immediate. */
		{ X86_MODE_PROT32, "f6 c0 12", 3 },
		{ X86_MODE_PROT32, "f6 c8 12", 3 },
		{ X86_MODE_PROT32, "f6 d0", 2 },
		{ X86_MODE_PROT32, "f7 00 11 22 33 44", 6 },
		{ X86_MODE_PROT32, "66 f7 00 11 22", 5 },
		{ X86_MODE_LONG64, "48 f7 00 11 22 33 44", 7 },
		{ X86_MODE_PROT32, "f7 18", 2 },
		/* A0-A3 moffs are address-size wide. */
		{ X86_MODE_LONG64, "a0 01 02 03 04 05 06 07 08", 9 },
		{ X86_MODE_LONG64, "67 a1 01 02 03 04", 6 },
		{ X86_MODE_PROT32, "a3 01 02 03 04", 5 },
		{ X86_MODE_PROT32, "67 a3 01 02", 4 },
		{ X86_MODE_REAL, "a1 01 02", 3 },
		{ X86_MODE_REAL, "67 a1 01 02 03 04", 6 },
		/* B8+r: 8-byte immediate only with REX.W. */
		{ X86_MODE_LONG64, "48 b8 01 02 03 04 05 06 07 08", 10 },
		{ X86_MODE_LONG64, "b8 01 02 03 04", 5 },
		{ X86_MODE_LONG64, "66 b8 01 02", 4 },
		{ X86_MODE_LONG64, "49 b7 01", 3 },
		/* ENTER iw, ib; RET far iw; INT3; INT ib. */
		{ X86_MODE_PROT32, "c8 10 00 01", 4 },
		{ X86_MODE_LONG64, "ca 08 00", 3 },
		{ X86_MODE_LONG64, "cc", 1 },
		{ X86_MODE_LONG64, "cd 80", 2 },
		/* Far pointers: ptr16:16 / ptr16:32, invalid in 64-bit mode. */
		{ X86_MODE_PROT32, "9a 01 02 03 04 05 06", 7 },
		{ X86_MODE_PROT32, "66 ea 01 02 03 04", 6 },
		{ X86_MODE_REAL, "ea 00 7c 00 00", 5 },
		{ X86_MODE_LONG64, "9a 01 02 03 04 05 06", -1 },
		{ X86_MODE_LONG64, "ea 01 02 03 04 05 06", -1 },
		/* 3DNow!: 0F 0F modrm [disp] imm8. */
		{ X86_MODE_PROT32, "0f 0f c1 b4", 4 },
		{ X86_MODE_PROT32, "0f 0f 40 10 9e", 5 },
		/* Near branches: rel16/rel32 by operand size; 64-bit mode always
		 * rel32 on Intel (AMD would take rel16 after 66). */
		{ X86_MODE_REAL, "e8 01 02", 3 },
		{ X86_MODE_REAL, "66 e8 01 02 03 04", 6 },
		{ X86_MODE_PROT32, "66 e9 01 02", 4 },
		{ X86_MODE_LONG64, "66 e8 01 02 03 04", 6 },
		{ X86_MODE_LONG64, "66 0f 84 01 02 03 04", 7 },
		{ X86_MODE_LONG64, "48 e9 01 02 03 04", 6 },
		{ X86_MODE_LONG64, "66 eb 01", 3 },
		/* Prefix order does not matter (Capstone 4 drops a 66 before F3 here). */
		{ X86_MODE_PROT32, "66 f3 e8 01 02", 5 },
		{ X86_MODE_PROT32, "f3 66 e8 01 02", 5 },
		/* REX.W changes neither RET's imm16 nor CALL's rel32 (Capstone 4
		 * thinks otherwise after 66/67). */
		{ X86_MODE_LONG64, "66 48 c2 08 00", 5 },
		{ X86_MODE_LONG64, "67 48 c2 08 00", 5 },
		{ X86_MODE_LONG64, "67 48 e8 01 02 03 04", 7 },
		/* PUSH imm: 66 selects imm16 even in 64-bit mode. */
		{ X86_MODE_LONG64, "68 01 02 03 04", 5 },
		{ X86_MODE_LONG64, "66 68 01 02", 4 },
		/* XBEGIN/XABORT live beside MOV in C6/C7; other /reg are #UD. */
		{ X86_MODE_LONG64, "c7 f8 01 02 03 04", 6 },
		{ X86_MODE_LONG64, "c6 f8 01", 3 },
		{ X86_MODE_LONG64, "c6 c8 01", -1 },
		/* SSE4a EXTRQ/INSERTQ imm8, imm8; VMREAD without. */
		{ X86_MODE_LONG64, "66 0f 78 c1 04 08", 6 },
		{ X86_MODE_LONG64, "f2 0f 78 c1 04 08", 6 },
		{ X86_MODE_LONG64, "0f 78 c1", 3 },
		{ X86_MODE_PROT16, "66 0f 78 d4 01 02", 6 },
		{ X86_MODE_PROT32, "66 67 0f 78 c1 01 02", 7 },
		{ X86_MODE_LONG64, "66 0f 78 00", 4 }, /* memory form: VMREAD (#UD with 66) */
		/* MOV CR/DR ignore mod: no displacement ever. */
		{ X86_MODE_LONG64, "0f 20 00", 3 },
		{ X86_MODE_PROT32, "0f 22 85", 3 },
		/* 0F 3A always has imm8, 0F 38 none. */
		{ X86_MODE_LONG64, "66 0f 3a 0f c1 08", 6 },
		{ X86_MODE_LONG64, "66 0f 38 00 04 24", 6 },
		/* UD1/UD0 take a ModRM (Intel). */
		{ X86_MODE_LONG64, "0f b9 40 10", 4 },
		{ X86_MODE_LONG64, "0f ff 00", 3 },
	};
	(void)state;
	check_lengths(cases, ARRAY_SIZE(cases));
}

static void test_decode_modrm_forms(void **state)
{
	static const struct length_case cases[] = {
		/* 16-bit addressing: [disp16], [bp+disp8], [bx+si+disp16]. */
		{ X86_MODE_REAL, "8b 06 34 12", 4 },
		{ X86_MODE_REAL, "8b 46 fe", 3 },
		{ X86_MODE_REAL, "8b 80 34 12", 4 },
		{ X86_MODE_REAL, "8b 04", 2 },
		/* 67 switches the forms: SIB and disp32 in 16-bit code, 16-bit forms in 32-bit code. */
		{ X86_MODE_REAL, "67 8b 04 24", 4 },
		{ X86_MODE_REAL, "67 8b 05 01 02 03 04", 7 },
		{ X86_MODE_PROT32, "67 8b 06 34 12", 5 },
		/* SIB with no base (mod 00, base 101) has disp32. */
		{ X86_MODE_PROT32, "8b 04 25 01 02 03 04", 7 },
		{ X86_MODE_PROT32, "8b 44 24 08", 4 },
		{ X86_MODE_PROT32, "8b 84 24 01 02 03 04", 7 },
		/* REX.B does not change the special cases: r13 base still wants mod != 00. */
		{ X86_MODE_LONG64, "41 8b 45 00", 4 },
		{ X86_MODE_LONG64, "41 8b 04 25 01 02 03 04", 8 },
		{ X86_MODE_LONG64, "41 8b 04 24", 4 },
		/* RIP-relative. */
		{ X86_MODE_LONG64, "8b 05 01 02 03 04", 6 },
		{ X86_MODE_LONG64, "c7 05 01 02 03 04 05 06 07 08", 10 },
	};
	struct x86_insn insn;
	(void)state;
	check_lengths(cases, ARRAY_SIZE(cases));
	assert_int_equal(decode_hex("8b 05 f0 ff ff ff", X86_MODE_LONG64, &insn), 0);
	assert_true(insn.rip_relative);
	assert_int_equal(insn.displacement, -16);
	assert_int_equal(decode_hex("8b 05 f0 ff ff ff", X86_MODE_PROT32, &insn), 0);
	assert_false(insn.rip_relative);
	assert_int_equal(decode_hex("66 67 f3 4c 8b 44 8d 10", X86_MODE_LONG64, &insn), 0);
	assert_true(insn.operand_size_prefix && insn.address_size_prefix && insn.rep);
	assert_int_equal(insn.rex, 0x4c);
	assert_int_equal(insn.operand_size, 8);
	assert_int_equal(insn.address_size, 4);
	assert_int_equal(insn.modrm_reg, 8);
	assert_int_equal(insn.modrm_rm, 4);
	assert_true(insn.has_sib);
	assert_int_equal(insn.sib, 0x8d);
	assert_int_equal(insn.displacement_size, 1);
}

static void test_decode_prefix_rules(void **state)
{
	struct x86_insn insn;
	u8 bytes[20];
	(void)state;
	/* REX only counts right before the opcode. */
	assert_int_equal(decode_hex("48 66 01 00", X86_MODE_LONG64, &insn), 0);
	assert_int_equal(insn.rex, 0);
	assert_int_equal(insn.operand_size, 2);
	assert_int_equal(decode_hex("66 48 01 00", X86_MODE_LONG64, &insn), 0);
	assert_int_equal(insn.operand_size, 8);
	assert_int_equal(decode_hex("48 41 01 00", X86_MODE_LONG64, &insn), 0);
	assert_int_equal(insn.rex, 0x41);
	assert_int_equal(insn.operand_size, 4);
	/* 40-4F are INC/DEC outside 64-bit mode. */
	assert_int_equal(length_of("48", X86_MODE_PROT32), 1);
	assert_int_equal(length_of("48", X86_MODE_LONG64), -1);
	/* The last segment override and the last of F2/F3 count. */
	assert_int_equal(decode_hex("26 64 f3 f2 a6", X86_MODE_PROT32, &insn), 0);
	assert_int_equal(insn.segment_override, SEG_FS);
	assert_true(insn.repne && !insn.rep);
	/* 14 prefixes + opcode = 15 bytes is legal, 15 + opcode is not. */
	memset(bytes, 0x66, sizeof(bytes));
	bytes[14] = 0x90;
	assert_int_equal(x86_decode(bytes, sizeof(bytes), X86_MODE_PROT32, &insn), 0);
	assert_int_equal(insn.length, 15);
	bytes[14] = 0x66;
	bytes[15] = 0x90;
	assert_int_equal(x86_decode(bytes, sizeof(bytes), X86_MODE_PROT32, &insn), -1);
	/* Over 15 bytes through a long immediate. */
	assert_int_equal(length_of("66 66 66 66 66 2e 2e 2e 2e 2e 48 b8 01 02 03 04 05 06 07 08", X86_MODE_LONG64),
			 -1);
	assert_int_equal(length_of("66 66 66 66 2e 2e 2e 2e 2e 48 b8 01 02 03 04 05 06 07 08", X86_MODE_LONG64),
			 -1);
	assert_int_equal(length_of("2e 2e 2e 2e 2e 48 b8 01 02 03 04 05 06 07 08", X86_MODE_LONG64), 15);
	/* Nothing at all, or prefixes only. */
	assert_int_equal(x86_decode(NULL, 0, X86_MODE_LONG64, &insn), -1);
	assert_int_equal(length_of("66 67 f0", X86_MODE_LONG64), -1);
}

static void test_decode_invalid_in_64bit(void **state)
{
	static const char *const invalid_in_64[] = {
		"06", "07", "0e", "16", "17", "1e", "1f", "27", "2f", "37", "3f", "60", "61",
		"62 00 00 00 00", "82 c0 01", "9a 01 02 03 04 05 06", "c4 00 00 00", "c5 00 00",
		"d4 0a", "d5 0a", "d6", "ea 01 02 03 04 05 06", "ce",
	};
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(invalid_in_64); i++) {
		if (length_of(invalid_in_64[i], X86_MODE_LONG64) != -1)
			fail_msg("[%s] should be invalid in 64-bit mode", invalid_in_64[i]);
	}
	/* ...and the same bytes are instructions in 32-bit mode. */
	static const struct length_case valid_in_32[] = {
		{ X86_MODE_PROT32, "06", 1 }, { X86_MODE_PROT32, "27", 1 }, { X86_MODE_PROT32, "60", 1 },
		{ X86_MODE_PROT32, "62 00", 2 }, { X86_MODE_PROT32, "82 c0 01", 3 },
		{ X86_MODE_PROT32, "c4 00", 2 }, { X86_MODE_PROT32, "c5 00", 2 },
		{ X86_MODE_PROT32, "d4 0a", 2 }, { X86_MODE_PROT32, "d6", 1 }, { X86_MODE_PROT32, "ce", 1 },
		/* Always invalid. */
		{ X86_MODE_PROT32, "0f 04", -1 }, { X86_MODE_PROT32, "0f 0a", -1 }, { X86_MODE_PROT32, "0f 24 c0", -1 },
		{ X86_MODE_PROT32, "0f a6 00", -1 }, { X86_MODE_PROT32, "0f a6 c8", 3 }, { X86_MODE_PROT32, "0f 39", -1 },
		/* Register operand where only memory exists. */
		{ X86_MODE_PROT32, "8d c0", -1 }, { X86_MODE_PROT32, "0f b2 c0", -1 },
	};
	check_lengths(valid_in_32, ARRAY_SIZE(valid_in_32));
}

static void test_decode_vex_evex_xop(void **state)
{
	static const struct length_case cases[] = {
		/* VEX2: vmovups xmm0, [rax]; vzeroupper has no ModRM. */
		{ X86_MODE_LONG64, "c5 f8 10 00", 4 },
		{ X86_MODE_LONG64, "c5 f8 77", 3 },
		{ X86_MODE_LONG64, "c5 f9 70 c1 1b", 5 },
		/* VEX3 with maps 0F38 / 0F3A (imm8) / invalid map 4. */
		{ X86_MODE_LONG64, "c4 e2 79 18 40 10", 6 },
		{ X86_MODE_LONG64, "c4 e3 79 0f c1 08", 6 },
		{ X86_MODE_LONG64, "c4 e4 79 0f c1 08", -1 },
		/* In 32-bit mode C4/C5 are VEX only when the next byte has mod = 11. */
		{ X86_MODE_PROT32, "c5 f8 10 00", 4 },
		{ X86_MODE_PROT32, "c5 38 10", 2 },
		{ X86_MODE_PROT32, "c4 e2 79 18 40 10", 6 },
		{ X86_MODE_PROT32, "c4 62 79", 3 }, /* LES r, [edx+disp8] */
		/* Real mode: VEX does not exist; with mod = 11 LES/LDS are #UD too. */
		{ X86_MODE_REAL, "c5 f8 10 00", -1 },
		{ X86_MODE_REAL, "c5 06 34 12", 4 },
		/* VEX after 66/F2/F3/F0/REX is #UD. */
		{ X86_MODE_LONG64, "66 c5 f8 10 00", -1 },
		{ X86_MODE_LONG64, "f3 c5 f8 10 00", -1 },
		{ X86_MODE_LONG64, "f0 c5 f8 10 00", -1 },
		{ X86_MODE_LONG64, "48 c5 f8 10 00", -1 },
		{ X86_MODE_LONG64, "2e c5 f8 10 00", 5 },
		/* EVEX: vmovups zmm0, [rcx+disp8*N]; vpternlogd (0F3A, imm8). */
		{ X86_MODE_LONG64, "62 f1 7c 48 10 41 01", 7 },
		{ X86_MODE_LONG64, "62 f3 75 48 25 c2 96", 7 },
		{ X86_MODE_PROT32, "62 f1 7c 48 10 41 01", 7 },
		{ X86_MODE_PROT32, "62 41 01", 3 }, /* BOUND r, [ecx+disp8] */
		/* Embedded rounding (EVEX.b with a register operand) adds no byte. */
		{ X86_MODE_LONG64, "62 f1 7c 58 59 c2", 6 },
		/* EVEX reserved bits wrong. */
		{ X86_MODE_LONG64, "62 f5 7c 48 10 41 01", -1 },
		{ X86_MODE_LONG64, "62 f1 78 48 10 41 01", -1 },
		/* XOP: map 8 (imm8), 9 (none), A (imm32); POP r/m when reg = 0. */
		{ X86_MODE_LONG64, "8f e8 78 c0 c1 08", 6 },
		{ X86_MODE_LONG64, "8f e9 78 81 c1", 5 },
		{ X86_MODE_LONG64, "8f ea 78 10 c1 01 02 03 04", 9 },
		{ X86_MODE_LONG64, "8f eb 78 10 c1", -1 },
		{ X86_MODE_LONG64, "8f 00", 2 },
		{ X86_MODE_PROT32, "8f e8 78 c0 c1 08", 6 },
	};
	(void)state;
	check_lengths(cases, ARRAY_SIZE(cases));
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
	RFLAGS_FIXED,
	RFLAGS_FIXED | RFLAGS_CF,
	RFLAGS_FIXED | RFLAGS_ARITHMETIC,
	RFLAGS_FIXED | RFLAGS_ZF | RFLAGS_AF,
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
	struct oracle_run run = { mode, size, native_a, native_c, with_garbage(c, size), RFLAGS_FIXED };
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
	struct oracle_run run = { mode, size, with_garbage(dst, size), src, src, RFLAGS_FIXED | RFLAGS_CF };
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
		m.ctx.rflags = RFLAGS_FIXED | RFLAGS_ZF;
		assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
		assert_int_equal(m.accesses, 0);
		assert_int_equal(m.ctx.gpr[GPR_RSI], 0x1200);
		assert_int_equal(m.ctx.gpr[GPR_RDI], 0x1300);
		assert_int_equal(m.ctx.rflags, RFLAGS_FIXED | RFLAGS_ZF);
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
	m.ctx.rflags = RFLAGS_FIXED | RFLAGS_ZF;
	m.fault_armed = true;
	m.fault_offset = 0x1000;
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_EXCEPTION);
	assert_int_equal(m.ctx.rflags, RFLAGS_FIXED | RFLAGS_ZF);
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
	m.ctx.rflags = RFLAGS_FIXED | BIT(9) | BIT(8) | RFLAGS_DF | BIT(21);
	assert_int_equal(x86_emulate(&m.ctx), EMULATE_OK);
	assert_int_equal(m.ctx.rflags & ~RFLAGS_ARITHMETIC, RFLAGS_FIXED | BIT(9) | BIT(8) | RFLAGS_DF | BIT(21));
	assert_true(m.ctx.rflags & RFLAGS_ZF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_special_immediates),
		cmocka_unit_test(test_decode_modrm_forms),
		cmocka_unit_test(test_decode_prefix_rules),
		cmocka_unit_test(test_decode_invalid_in_64bit),
		cmocka_unit_test(test_decode_vex_evex_xop),
		cmocka_unit_test(test_length_corpus_against_capstone),
		cmocka_unit_test(test_modrm_operands_against_capstone),
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
