/*
 * Tests for vmm/decode.c, checked against two oracles:
 *  - Capstone (Debian's libcapstone 4) for instruction lengths and validity
 *    over a generated corpus in 16-, 32- and 64-bit modes, and for ModRM
 *    operands (register, base, index, scale, displacement, as the emulator
 *    in vmm/emulate.c takes them apart);
 *  - hand-written expectations for lengths, prefixes and mode rules.
 * The executor has its own tests: test_emulate.c.
 *
 *   gcc -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=address,undefined \
 *       -fno-sanitize-recover=all -Wall -Wextra -Werror \
 *       tests/unit/test_decode.c -lcmocka -lcapstone -o /tmp/td && /tmp/td
 */
#include "tests/unit/host_support.h"
#include "vmm/decode.c"
/* The operand oracle checks the emulator's effective-address parts and
 * uses its opcode names. */
#include "vmm/emulate.c"

#include <string.h>
/* Capstone names an enum x86_insn; our struct x86_insn shares the tag space. */
#define x86_insn capstone_x86_insn
#include <capstone/capstone.h>
#undef x86_insn

#include "tests/unit/x86_test_support.h"

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

static const u8 legacy_prefixes[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65 };

static cs_mode capstone_mode(enum x86_mode mode)
{
	return mode == X86_MODE_LONG64 ? CS_MODE_64 : mode == X86_MODE_PROT32 ? CS_MODE_32 : CS_MODE_16;
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
