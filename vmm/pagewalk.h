/*
 * A walker of the guest's own page tables (no paging, 32-bit, PAE and
 * 4-level), as the CPU would walk them, for emulation and debugging. It
 * reads the tables through a callback so host tests can feed it memory.
 */
#pragma once
#include "lib/types.h"
#include "arch/x86/cpu.h"

enum walk_access {
	WALK_READ = 0,
	WALK_WRITE = 1,
	WALK_USER = 2,
	WALK_FETCH = 4,
	/* An implicit supervisor access (SDM Vol. 3A 4.6): the CPU's own reads
	 * and writes of descriptor tables and TSSs are never user accesses,
	 * whatever the CPL. Understood by guest_linear_to_phys, not the walker. */
	WALK_SYSTEM = 8,
};

/* #PF error code bits (SDM Vol. 3A 4.7) */
#define PF_ERROR_PRESENT BIT(0)
#define PF_ERROR_WRITE BIT(1)
#define PF_ERROR_USER BIT(2)
#define PF_ERROR_RESERVED BIT(3)
#define PF_ERROR_FETCH BIT(4)

struct pagewalk_env {
	u64 cr0, cr3, cr4, efer;
	/* Read/write one table entry of 'size' (4 or 8) bytes at a guest-physical
	 * address; return false if the address is not guest RAM. write may be NULL
	 * (then accessed/dirty bits are not set). */
	bool (*read)(void *ctx, u64 gpa, void *value, unsigned size);
	bool (*write)(void *ctx, u64 gpa, const void *value, unsigned size);
	void *ctx;
};

enum walk_result {
	WALK_OK,
	WALK_PAGE_FAULT,   /* *error holds the #PF error code for the guest */
	WALK_BAD_TABLE,    /* a table lies outside guest RAM: a broken guest */
	WALK_NONCANONICAL, /* IA-32e mode: the CPU raises #GP (or #SS) before any walk */
};

/* Linear-address width in IA-32e mode: 48 bits, 57 with 5-level paging. */
#define LINEAR_BITS_4LEVEL 48
#define LINEAR_BITS_5LEVEL 57

/* Canonical: bits 63 down to the width's top bit all equal (SDM Vol. 1 3.3.7.1). */
static inline bool linear_is_canonical(u64 linear, u64 cr4)
{
	unsigned unused_bits = 64 - ((cr4 & CR4_LA57) ? LINEAR_BITS_5LEVEL : LINEAR_BITS_4LEVEL);
	return (u64)((s64)(linear << unused_bits) >> unused_bits) == linear;
}

enum walk_result guest_page_walk(const struct pagewalk_env *env, u64 linear, unsigned access,
				 u64 *gpa, u32 *error);
