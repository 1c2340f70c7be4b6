/*
 * libFuzzer target for the instruction decoder (vmm/decode.c) and the
 * emulator built on it (vmm/emulate.c), which parse guest-controlled bytes.
 *
 * Input layout:
 *   byte 0      bits 0-1: mode (real, 16-bit, 32-bit, 64-bit)
 *               bit 2:    decode only (x86_decode on the raw bytes)
 *               bits 3-7: seed for the arithmetic flags and DF
 *   byte 1      number of instruction bytes N (fetch hands out at most N)
 *   N bytes     the instruction bytes
 *   the rest    register values, two bytes each (sign-extended, so small
 *               positive and negative offsets around the memory window)
 *
 * Memory is a small window; accesses outside it fail with #GP or #PF the
 * way a real ops implementation would. Beyond "no crash, no out-of-bounds
 * access", the target checks invariants the callers rely on.
 *
 *   clang -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=fuzzer,address,undefined \
 *         tests/fuzz/fuzz_emulate.c -o /tmp/fe && /tmp/fe -max_total_time=120
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_support.h"
#include "vmm/decode.c"
#include "vmm/emulate.c"

#define SELECTOR_MODE_MASK 0x03
#define SELECTOR_DECODE_ONLY 0x04
#define SELECTOR_FLAGS_SHIFT 3
#define WINDOW_SIZE 256
#define CODE_RIP 0xfff0ULL /* near the 16-bit wrap */
#define VECTOR_GP 13
#define VECTOR_PF 14

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "check failed: %s (line %d)\n", #cond, __LINE__); \
			abort();                                                 \
		}                                                                \
	} while (0)

struct fuzz_machine {
	struct emulate_ctx ctx;
	const u8 *code;
	size_t code_length;
	u64 code_rip;
	u8 window[WINDOW_SIZE];
	unsigned accesses;
};

static enum emulate_status fuzz_access(struct emulate_ctx *ctx, u64 offset, void *data, unsigned size,
				       bool write)
{
	struct fuzz_machine *m = ctx->opaque;
	CHECK(size == 1 || size == 2 || size == 4 || size == 8);
	m->accesses++;
	if (offset >= WINDOW_SIZE || WINDOW_SIZE - offset < size) {
		/* Alternate the two faults so both propagation paths run. */
		ctx->exception.vector = (offset & 1) ? VECTOR_PF : VECTOR_GP;
		ctx->exception.has_error_code = true;
		ctx->exception.error_code = write ? 2 : 0;
		return EMULATE_EXCEPTION;
	}
	if (write)
		memcpy(m->window + offset, data, size);
	else
		memcpy(data, m->window + offset, size);
	return EMULATE_OK;
}

static enum emulate_status fuzz_read(struct emulate_ctx *ctx, enum x86_segment segment, u64 offset, void *data,
				     unsigned size)
{
	CHECK(segment <= SEG_GS);
	return fuzz_access(ctx, offset, data, size, false);
}

static enum emulate_status fuzz_write(struct emulate_ctx *ctx, enum x86_segment segment, u64 offset,
				      const void *data, unsigned size)
{
	CHECK(segment <= SEG_GS);
	return fuzz_access(ctx, offset, (void *)data, size, true);
}

/* Bounded by the input: bytes past N do not exist. */
static unsigned fuzz_fetch(struct emulate_ctx *ctx, u64 offset, u8 *data, unsigned size)
{
	struct fuzz_machine *m = ctx->opaque;
	size_t count;
	if (offset != m->code_rip)
		return 0;
	count = MIN((size_t)size, m->code_length);
	memcpy(data, m->code, count);
	return (unsigned)count;
}

static const struct emulate_ops fuzz_ops = {
	.read = fuzz_read,
	.write = fuzz_write,
	.fetch = fuzz_fetch,
};

/* Decoding is deterministic, never longer than the input or 15 bytes, and
 * needs exactly its own length: one byte less must fail. The copies are
 * exact-size heap blocks so ASan sees any over-read. */
static void fuzz_decode(const u8 *bytes, size_t size, enum x86_mode mode)
{
	struct x86_insn first, again;
	u8 *copy;
	if (x86_decode(bytes, size, mode, &first))
		return;
	CHECK(first.length >= 1 && first.length <= X86_MAX_INSN_LENGTH && first.length <= size);
	CHECK(first.immediate_size <= 8 && first.displacement_size <= 4);
	copy = malloc(first.length);
	memcpy(copy, bytes, first.length);
	CHECK(x86_decode(copy, first.length, mode, &again) == 0);
	CHECK(again.length == first.length && again.opcode == first.opcode && again.modrm == first.modrm);
	CHECK(x86_decode(copy, first.length - 1u, mode, &again) == -1);
	free(copy);
}

static void fuzz_emulate(const u8 *code, size_t code_length, const u8 *registers, size_t register_bytes,
			 enum x86_mode mode, u8 flag_seed)
{
	static const u64 flag_bits[] = { BIT(0), BIT(2), BIT(4), BIT(6), BIT(7) };
	struct fuzz_machine m;
	struct x86_insn decoded;
	enum emulate_status status;
	u64 before_rip;
	memset(&m, 0, sizeof(m));
	m.ctx.ops = &fuzz_ops;
	m.ctx.opaque = &m;
	m.ctx.mode = mode;
	m.ctx.rip = m.code_rip = CODE_RIP;
	m.ctx.rflags = BIT(1) | ((flag_seed & 0x10) ? RFLAGS_DF : 0);
	for (unsigned i = 0; i < ARRAY_SIZE(flag_bits); i++)
		if (flag_seed & (1u << i))
			m.ctx.rflags |= flag_bits[i];
	m.code = code;
	m.code_length = code_length;
	for (unsigned i = 0; i < GPR_COUNT && 2 * i + 1 < register_bytes; i++)
		m.ctx.gpr[i] = (u64)(s64)(int16_t)(registers[2 * i] | registers[2 * i + 1] << 8);
	for (unsigned i = 0; i < WINDOW_SIZE; i++)
		m.window[i] = (u8)(i * 37);

	before_rip = m.ctx.rip;
	status = x86_emulate(&m.ctx);
	CHECK(status == EMULATE_OK || status == EMULATE_UNHANDLEABLE || status == EMULATE_EXCEPTION);
	/* REP batches bound the work of one call. */
	CHECK(m.accesses <= 2 * STRING_BATCH_LIMIT);
	if (status == EMULATE_EXCEPTION)
		CHECK(m.ctx.exception.vector == 6 || m.ctx.exception.vector == VECTOR_GP ||
		      m.ctx.exception.vector == VECTOR_PF);
	if (status != EMULATE_OK) {
		CHECK(m.ctx.rip == before_rip);
		return;
	}
	/* An emulated instruction is exactly what the decoder sees in the same bytes. */
	CHECK(x86_decode(code, code_length, mode, &decoded) == 0);
	CHECK(decoded.length == m.ctx.insn.length);
	u64 wrap = mode == X86_MODE_LONG64 ? ~0ULL : mode == X86_MODE_PROT32 ? 0xffffffffULL : 0xffffULL;
	CHECK(m.ctx.rip == before_rip || m.ctx.rip == ((before_rip + decoded.length) & wrap));
	CHECK((m.ctx.rflags & BIT(1)) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum x86_mode mode;
	size_t code_length;
	if (size < 2)
		return 0;
	mode = (enum x86_mode)(data[0] & SELECTOR_MODE_MASK);
	if (data[0] & SELECTOR_DECODE_ONLY) {
		fuzz_decode(data + 1, size - 1, mode);
		return 0;
	}
	code_length = MIN((size_t)data[1], size - 2);
	fuzz_emulate(data + 2, code_length, data + 2 + code_length, size - 2 - code_length, mode,
		     (u8)(data[0] >> SELECTOR_FLAGS_SHIFT));
	return 0;
}
