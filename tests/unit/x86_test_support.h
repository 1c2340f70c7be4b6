/*
 * Helpers shared by the decoder and emulator tests (test_decode.c,
 * test_emulate.c): a deterministic PRNG, hex parsing, the test's own
 * masks, reporting, and the truncation check every valid instruction must
 * pass. Include after the code under test.
 */
#pragma once
#include "tests/unit/host_support.h"
#include "vmm/decode.h"

#include <string.h>

#define REPORT_LIMIT 25

/* ---- Deterministic PRNG (splitmix64) ------------------------------------ */

struct prng {
	u64 state;
};

static inline u64 prng_next(struct prng *p)
{
	u64 z = (p->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline unsigned prng_below(struct prng *p, unsigned limit)
{
	return (unsigned)(prng_next(p) % limit);
}

/* The test's own mask, so expectations do not share code with the code
 * under test. */
static inline u64 value_mask(unsigned size)
{
	return size == 8 ? ~0ULL : (1ULL << (8 * size)) - 1;
}

static inline unsigned parse_hex(const char *text, u8 *out, unsigned capacity)
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

static inline const char *mode_name(enum x86_mode mode)
{
	static const char *const names[] = { "real", "16-bit", "32-bit", "64-bit" };
	return names[mode];
}

static inline void print_bytes(const char *label, const u8 *bytes, unsigned count)
{
	printf("%s", label);
	for (unsigned i = 0; i < count; i++)
		printf(" %02x", bytes[i]);
}

/* A valid instruction must also decode from exactly its own bytes, and
 * fail (without reading past them: the copy is an exact-size heap block
 * under ASan) from any shorter prefix of them. */
static inline void check_truncations(const u8 *bytes, unsigned length, enum x86_mode mode)
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
