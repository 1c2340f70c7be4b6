/*
 * a * mul / div for clock conversions (ns <-> ticks of some rate): whole
 * multiples of div first, then the remainder, so there is no 128-bit
 * division (which would need libgcc). Exact when (div - 1) * mul fits in 64
 * bits and so does the result; muldiv_saturating checks the latter.
 */
#pragma once
#include "lib/types.h"

#define NS_PER_SECOND 1000000000ULL

static inline u64 muldiv(u64 a, u64 mul, u64 div)
{
	return a / div * mul + a % div * mul / div;
}

/* Rounded up: muldiv(muldiv_round_up(t, m, d), d, m) >= t. */
static inline u64 muldiv_round_up(u64 a, u64 mul, u64 div)
{
	return a / div * mul + (a % div * mul + div - 1) / div;
}

/* ~0 when the result does not fit in 64 bits. */
static inline u64 muldiv_saturating(u64 a, u64 mul, u64 div)
{
	u64 whole;
	if (__builtin_mul_overflow(a / div, mul, &whole) || whole > ~0ULL - a % div * mul / div)
		return ~0ULL;
	return whole + a % div * mul / div;
}
