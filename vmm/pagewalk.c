/* Guest page-table walker (SDM Vol. 3A 4.3, 4.4, 4.5). */
#include "vmm/pagewalk.h"
#include "arch/x86/cpu.h"

#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_A BIT(5)
#define PTE_D BIT(6)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define PTE_ADDR_64 0x000ffffffffff000ULL
#define PTE_ADDR_32 0xfffff000ULL
#define PDE_4M_ADDR_LOW 0xffc00000ULL
#define PDE_4M_ADDR_HIGH_MASK 0x1fe000ULL /* PSE-36: bits 13-20 hold PA bits 32-39 */
#define PDE_4M_ADDR_HIGH_SHIFT (32 - 13)
#define PDPTE_PAE_ADDR 0xffffffe0ULL

struct walk {
	const struct pagewalk_env *env;
	unsigned access;
	bool user_ok, write_ok, exec_ok;
};

static bool read_entry(const struct walk *w, u64 gpa, unsigned size, u64 *entry)
{
	*entry = 0;
	return w->env->read(w->env->ctx, gpa, entry, size);
}

/* Accumulates permissions like the CPU: every level must allow the access. */
static void note_permissions(struct walk *w, u64 entry, bool nx_enabled)
{
	if (!(entry & PTE_US))
		w->user_ok = false;
	if (!(entry & PTE_RW))
		w->write_ok = false;
	if (nx_enabled && (entry & PTE_NX))
		w->exec_ok = false;
}

static enum walk_result check_access(const struct walk *w, u32 *error);

static void set_accessed(const struct walk *w, u64 gpa, u64 entry, unsigned size, bool leaf)
{
	if (!w->env->write)
		return;
	u64 updated = entry | PTE_A;
	u32 ignored = 0; /* a faulting write writes nothing: no D (SDM 4.8) */
	if (leaf && (w->access & WALK_WRITE) && check_access(w, &ignored) == WALK_OK)
		updated |= PTE_D;
	if (updated != entry)
		w->env->write(w->env->ctx, gpa, &updated, size);
}

static enum walk_result check_access(const struct walk *w, u32 *error)
{
	const struct pagewalk_env *env = w->env;
	bool user = w->access & WALK_USER;
	bool denied = (user && !w->user_ok) ||
		      ((w->access & WALK_WRITE) && !w->write_ok && (user || (env->cr0 & CR0_WP))) ||
		      ((w->access & WALK_FETCH) && !w->exec_ok);
	if (!denied)
		return WALK_OK;
	*error |= PF_ERROR_PRESENT;
	return WALK_PAGE_FAULT;
}

static u32 base_error(unsigned access, bool nx_enabled)
{
	u32 e = 0;
	if (access & WALK_WRITE)
		e |= PF_ERROR_WRITE;
	if (access & WALK_USER)
		e |= PF_ERROR_USER;
	if ((access & WALK_FETCH) && nx_enabled)
		e |= PF_ERROR_FETCH;
	return e;
}

static enum walk_result walk_32bit(struct walk *w, u64 linear, u64 *gpa, u32 *error)
{
	u64 pde_gpa = (w->env->cr3 & PTE_ADDR_32) + ((linear >> 22) & 0x3ff) * 4;
	u64 pde, pte;
	if (!read_entry(w, pde_gpa, 4, &pde))
		return WALK_BAD_TABLE;
	if (!(pde & PTE_P))
		return WALK_PAGE_FAULT;
	note_permissions(w, pde, false);
	if ((pde & PTE_PS) && (w->env->cr4 & CR4_PSE)) {
		set_accessed(w, pde_gpa, pde, 4, true);
		u64 base = (pde & PDE_4M_ADDR_LOW) | ((pde & PDE_4M_ADDR_HIGH_MASK) << PDE_4M_ADDR_HIGH_SHIFT);
		*gpa = base | (linear & 0x3fffff);
		return check_access(w, error);
	}
	set_accessed(w, pde_gpa, pde, 4, false);
	u64 pte_gpa = (pde & PTE_ADDR_32) + ((linear >> 12) & 0x3ff) * 4;
	if (!read_entry(w, pte_gpa, 4, &pte))
		return WALK_BAD_TABLE;
	if (!(pte & PTE_P))
		return WALK_PAGE_FAULT;
	note_permissions(w, pte, false);
	set_accessed(w, pte_gpa, pte, 4, true);
	*gpa = (pte & PTE_ADDR_32) | (linear & 0xfff);
	return check_access(w, error);
}

/* PAE and 4-level share the lower levels: walk from 'level' down. */
static enum walk_result walk_64bit_entries(struct walk *w, u64 table, int level, u64 linear,
					   u64 *gpa, u32 *error)
{
	bool nx = w->env->efer & EFER_NXE;
	for (; level >= 1; level--) {
		unsigned shift = 12 + 9 * (level - 1);
		u64 entry_gpa = table + ((linear >> shift) & 0x1ff) * 8;
		u64 entry;
		if (!read_entry(w, entry_gpa, 8, &entry))
			return WALK_BAD_TABLE;
		if (!(entry & PTE_P))
			return WALK_PAGE_FAULT;
		note_permissions(w, entry, nx);
		bool leaf = level == 1 || ((level == 2 || level == 3) && (entry & PTE_PS));
		set_accessed(w, entry_gpa, entry, 8, leaf);
		if (leaf) {
			u64 mask = (1ULL << shift) - 1;
			*gpa = (entry & PTE_ADDR_64 & ~mask) | (linear & mask);
			return check_access(w, error);
		}
		table = entry & PTE_ADDR_64;
	}
	return WALK_BAD_TABLE;
}

static enum walk_result walk_pae(struct walk *w, u64 linear, u64 *gpa, u32 *error)
{
	u64 pdpte_gpa = (w->env->cr3 & PDPTE_PAE_ADDR) + ((linear >> 30) & 3) * 8;
	u64 pdpte;
	if (!read_entry(w, pdpte_gpa, 8, &pdpte))
		return WALK_BAD_TABLE;
	if (!(pdpte & PTE_P))
		return WALK_PAGE_FAULT;
	/* PDPTEs carry no permission bits in PAE mode. */
	return walk_64bit_entries(w, pdpte & PTE_ADDR_64, 2, linear & 0xffffffffULL, gpa, error);
}

enum walk_result guest_page_walk(const struct pagewalk_env *env, u64 linear, unsigned access,
				 u64 *gpa, u32 *error)
{
	struct walk w = { env, access, true, true, true };
	bool long_mode = env->efer & EFER_LMA;
	*error = base_error(access, (env->efer & EFER_NXE) && (env->cr4 & CR4_PAE));
	if (!(env->cr0 & CR0_PG)) {
		*gpa = long_mode ? linear : (linear & 0xffffffffULL);
		return WALK_OK;
	}
	if (long_mode && !linear_is_canonical(linear, env->cr4))
		return WALK_NONCANONICAL; /* bits 63:48 would otherwise be ignored: an alias */
	if (long_mode)
		return walk_64bit_entries(&w, env->cr3 & PTE_ADDR_64, 4, linear, gpa, error);
	if (env->cr4 & CR4_PAE)
		return walk_pae(&w, linear, gpa, error);
	return walk_32bit(&w, linear & 0xffffffffULL, gpa, error);
}
