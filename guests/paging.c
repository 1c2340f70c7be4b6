/*
 * paging: the guest's own page tables in every x86 paging mode: 32-bit with
 * 4 KiB and 4 MiB (PSE) pages, PAE with 4 KiB and 2 MiB pages, and 4-level
 * long-mode paging. Each mode maps pages at unusual virtual addresses onto
 * chosen physical pages (checked through both aliases), sets accessed and
 * dirty bits, reaches the MMIO scratch page and unclaimed physical
 * addresses through a mapping; 32-bit mode also checks INVLPG, CR3 switches
 * and string I/O into a buffer that is contiguous only virtually.
 */
#include <stddef.h>

#include "gdt.h"
#include "paging.h"
#include "report.h"
#include "testdev.h"
#include "x86.h"

/* Physical pages the aliases point at (RAM above the image). */
#define PA_TARGET_A 0x00a01000u
#define PA_TARGET_B 0x00b05000u
#define PA_STRING_FIRST 0x00c07000u  /* backs the first virtual page of the string buffer */
#define PA_STRING_SECOND 0x00a03000u /* ... and the second: lower, not adjacent */
#define PA_PSE_TARGET 0x00800000u    /* 4 MiB page */
#define PA_PAE_LARGE_TARGET 0x00c00000u /* 2 MiB page */
#define PA_UNCLAIMED 0xd0000000u
#define PA_UNCLAIMED_ABOVE_4G 0x100000000ull
#define MARKER_A 0xaaaa0000u
#define MARKER_B 0xbbbb0000u

/* 32-bit paging: one 4 KiB table serves all of these (same 4 MiB region). */
#define VA_ALIAS 0xc0001000u
#define VA_ALIAS_SECOND 0xc0002000u /* also PA_TARGET_A */
#define VA_REMAP 0xc0003000u
#define VA_MMIO 0xc0004000u
#define VA_UNCLAIMED 0xc0005000u
#define VA_STRING 0xc0006000u       /* two pages, PA_STRING_FIRST then PA_STRING_SECOND */
#define VA_PSE_ALIAS 0x40000000u
#define VA_PSE_MMIO 0x80000000u
/* PAE: 0xc0000000 is a 2 MiB page, the next 2 MiB has a 4 KiB table. */
#define VA_PAE_LARGE 0xc0000000u
#define VA_PAE_ALIAS 0xc0201000u
#define VA_PAE_MMIO 0xc0202000u
#define VA_PAE_ABOVE_4G 0xc0203000u
/* Long mode: a canonical upper-half address, distinct index at every level. */
#define VA_LONG_ALIAS 0xffff800040201000ull
#define VA_LONG_MMIO (VA_LONG_ALIAS + PAGE_SIZE)
#define VA_LONG_ABOVE_4G (VA_LONG_ALIAS + 2 * PAGE_SIZE)

#define STRING_BYTES 64 /* straddles the two string pages */
#define PAE_PDPT_ENTRY_FLAGS PTE_PRESENT /* other PDPTE bits are reserved in PAE mode */
#define IDENTITY_TABLES (RAM_SIZE / LARGE_PAGE_SIZE_32)

const char guest_name[] = "paging";

static uint32_t scratch; /* the test device's page, or its RAM stand-in */

static void fill_markers(void)
{
	for (uint32_t i = 0; i < PAGE_SIZE / 4; i++) {
		write32(PA_TARGET_A + 4 * i, MARKER_A + i);
		write32(PA_TARGET_B + 4 * i, MARKER_B + i);
	}
}

static bool accessed_dirty(uint64_t entry, bool dirty)
{
	return (entry & PTE_ACCESSED) && !!(entry & PTE_DIRTY) == dirty;
}

/* ---- 32-bit paging, 4 KiB pages ---- */

static struct page_table32 dir32, dir32_other, identity32[IDENTITY_TABLES];
static struct page_table32 alias32, alias32_other;

static void map_aliases32(struct page_table32 *dir, struct page_table32 *table, uint32_t target)
{
	for (uint32_t i = 0; i < PT32_ENTRIES; i++)
		table->entry[i] = 0;
	table->entry[pt32_table_index(VA_ALIAS)] = target | PTE_FLAGS_RW;
	table->entry[pt32_table_index(VA_ALIAS_SECOND)] = PA_TARGET_A | PTE_FLAGS_RW;
	table->entry[pt32_table_index(VA_REMAP)] = PA_TARGET_A | PTE_FLAGS_RW;
	table->entry[pt32_table_index(VA_MMIO)] = scratch | PTE_FLAGS_RW;
	table->entry[pt32_table_index(VA_UNCLAIMED)] = PA_UNCLAIMED | PTE_FLAGS_RW;
	table->entry[pt32_table_index(VA_STRING)] = PA_STRING_FIRST | PTE_FLAGS_RW;
	table->entry[pt32_table_index(VA_STRING + PAGE_SIZE)] = PA_STRING_SECOND | PTE_FLAGS_RW;
	dir->entry[pt32_dir_index(VA_ALIAS)] = (uint32_t)table | PTE_FLAGS_RW;
}

static void build_tables32(void)
{
	for (uint32_t i = 0; i < IDENTITY_TABLES; i++) {
		pt32_identity_table(&dir32, &identity32[i], i * LARGE_PAGE_SIZE_32);
		dir32_other.entry[i] = dir32.entry[i];
	}
	map_aliases32(&dir32, &alias32, PA_TARGET_A);
	map_aliases32(&dir32_other, &alias32_other, PA_TARGET_B);
}

static void check_aliases32(const char *mode)
{
	write32(VA_ALIAS + 0x10, 0x4a4a0010);
	check_u32(name("%s alias write, identity read", mode), read32(PA_TARGET_A + 0x10), 0x4a4a0010);
	write32(PA_TARGET_A + 0x20, 0x4a4a0020);
	check_u32(name("%s identity write, alias read", mode), read32(VA_ALIAS + 0x20), 0x4a4a0020);
	write32(VA_ALIAS_SECOND + 0x30, 0x4a4a0030);
	check_u32(name("%s two aliases of one page", mode), read32(VA_ALIAS + 0x30), 0x4a4a0030);
}

static void check_accessed_dirty32(void)
{
	volatile uint32_t *pte = pt32_pte(&dir32, VA_ALIAS_SECOND);
	volatile uint32_t *pde = &dir32.entry[pt32_dir_index(VA_ALIAS_SECOND)];
	*pte &= ~(PTE_ACCESSED | PTE_DIRTY);
	invlpg(VA_ALIAS_SECOND);
	(void)read32(VA_ALIAS_SECOND);
	check(accessed_dirty(*pte, false) && (*pde & PTE_ACCESSED), "4k read sets pte.a, not pte.d",
	      "pte 0x%x pde 0x%x", *pte, *pde);
	write32(VA_ALIAS_SECOND + 0x38, 0x4a4a0038);
	check(accessed_dirty(*pte, true), "4k write sets pte.d", "pte 0x%x", *pte);
}

static void check_tlb_maintenance32(void)
{
	check_u32("4k remap before invlpg", read32(VA_REMAP), MARKER_A);
	*pt32_pte(&dir32, VA_REMAP) = PA_TARGET_B | PTE_FLAGS_RW;
	invlpg(VA_REMAP);
	check_u32("4k remap after invlpg", read32(VA_REMAP), MARKER_B);

	write_cr3((uint32_t)&dir32_other);
	uint32_t other = read32(VA_ALIAS);
	write_cr3((uint32_t)&dir32);
	uint32_t back = read32(VA_ALIAS);
	check(other == MARKER_B && back == MARKER_A, "4k cr3 switch changes the mapping",
	      "other directory read 0x%x, first again 0x%x", other, back);
}

static void check_mapped_devices(const char *mode, uint32_t va_mmio, uint32_t va_unclaimed)
{
	write32(va_mmio + 0x80, 0x13572468);
	write8(va_mmio + 0x84, 0x9b);
	check(read32(va_mmio + 0x80) == 0x13572468 && read8(va_mmio + 0x84) == 0x9b,
	      name("%s mapped mmio write and read back", mode), "dword 0x%x byte 0x%x",
	      read32(va_mmio + 0x80), read8(va_mmio + 0x84));
	if (va_unclaimed)
		check_u32(name("%s mapped unclaimed address reads all-ones", mode), read32(va_unclaimed),
			  0xffffffff);
}

static void check_string_io32(void)
{
	const uint32_t start = VA_STRING + PAGE_SIZE - STRING_BYTES / 2, half = STRING_BYTES / 2;
	testdev_fifo_clear();
	for (uint32_t i = 0; i < STRING_BYTES; i++)
		outb(TESTDEV_FIFO_PORT, (uint8_t)(0x40 + i));
	uint32_t dst = start, count = STRING_BYTES;
	asm volatile("rep insb" : "+D"(dst), "+c"(count) : "d"(TESTDEV_FIFO_PORT) : "memory");
	bool ok = dst == start + STRING_BYTES;
	for (uint32_t i = 0; i < half; i++) {
		ok &= read8(PA_STRING_FIRST + PAGE_SIZE - half + i) == 0x40 + i;
		ok &= read8(PA_STRING_SECOND + i) == 0x40 + half + i;
	}
	check(ok, "rep insb across two discontiguous pages", "bytes or edi wrong (edi 0x%x)", dst);

	uint32_t src = start;
	count = STRING_BYTES;
	asm volatile("rep outsb" : "+S"(src), "+c"(count) : "d"(TESTDEV_FIFO_PORT) : "memory");
	ok = src == start + STRING_BYTES && inl(TESTDEV_COUNT_PORT) == STRING_BYTES;
	for (uint32_t i = 0; i < STRING_BYTES; i++)
		ok &= inb(TESTDEV_FIFO_PORT) == 0x40 + i;
	check(ok, "rep outsb across two discontiguous pages", "fifo bytes or esi wrong (esi 0x%x)", src);
}

static void check_paging32(void)
{
	build_tables32();
	paging_enable((uint32_t)&dir32, 0, 0);
	check_aliases32("4k");
	check_accessed_dirty32();
	check_tlb_maintenance32();
	check_mapped_devices("4k", VA_MMIO, VA_UNCLAIMED);
	check_string_io32();
	paging_disable();
	check_u32("4k mapped mmio write reached the scratch page", read32(scratch + 0x80), 0x13572468);
}

/* ---- 32-bit paging with 4 MiB pages ---- */

static struct page_table32 dir_pse;

static void check_paging_pse(void)
{
	const uint32_t large_base = scratch & ~(LARGE_PAGE_SIZE_32 - 1);
	const uint32_t va_mmio = VA_PSE_MMIO + (scratch - large_base);
	for (uint32_t i = 0; i < IDENTITY_TABLES; i++)
		dir_pse.entry[i] = (i * LARGE_PAGE_SIZE_32) | PDE_LARGE | PTE_FLAGS_RW;
	dir_pse.entry[pt32_dir_index(VA_PSE_ALIAS)] = PA_PSE_TARGET | PDE_LARGE | PTE_FLAGS_RW;
	dir_pse.entry[pt32_dir_index(VA_PSE_MMIO)] = large_base | PDE_LARGE | PTE_FLAGS_RW;
	/* A 4 KiB table beside the large pages. */
	map_aliases32(&dir_pse, &alias32, PA_TARGET_A);
	fill_markers();

	paging_enable((uint32_t)&dir_pse, CR4_PSE, 0);
	write32(VA_PSE_ALIAS + 0x123450, 0x45e00001);
	volatile uint32_t *pde = &dir_pse.entry[pt32_dir_index(VA_PSE_ALIAS)];
	check(accessed_dirty(*pde, true), "4m write sets pde.a and pde.d", "pde 0x%x", *pde);
	check_u32("4m 4 KiB table beside large pages", read32(VA_ALIAS), MARKER_A);
	/* Past the scratch page the same large page covers nothing. */
	check_mapped_devices("4m", va_mmio, large_base == TESTDEV_SCRATCH_PA ? va_mmio + PAGE_SIZE : 0);
	paging_disable();
	check_u32("4m alias write, identity read", read32(PA_PSE_TARGET + 0x123450), 0x45e00001);
}

/* ---- PAE paging ---- */

static struct page_table64 pae_pdpt, pae_pd_low, pae_pd_high, pae_pt;

static void check_paging_pae(void)
{
	for (uint32_t i = 0; i < RAM_SIZE / LARGE_PAGE_SIZE_PAE; i++)
		pae_pd_low.entry[i] = (i * LARGE_PAGE_SIZE_PAE) | PDE_LARGE | PTE_FLAGS_RW;
	pae_pd_high.entry[(VA_PAE_LARGE >> 21) & 511] = PA_PAE_LARGE_TARGET | PDE_LARGE | PTE_FLAGS_RW;
	pae_pd_high.entry[(VA_PAE_ALIAS >> 21) & 511] = (uint32_t)&pae_pt | PTE_FLAGS_RW;
	pae_pt.entry[(VA_PAE_ALIAS >> 12) & 511] = PA_TARGET_B | PTE_FLAGS_RW;
	pae_pt.entry[(VA_PAE_MMIO >> 12) & 511] = scratch | PTE_FLAGS_RW;
	pae_pt.entry[(VA_PAE_ABOVE_4G >> 12) & 511] = PA_UNCLAIMED_ABOVE_4G | PTE_FLAGS_RW;
	pae_pdpt.entry[0] = (uint32_t)&pae_pd_low | PAE_PDPT_ENTRY_FLAGS;
	pae_pdpt.entry[VA_PAE_LARGE >> 30] = (uint32_t)&pae_pd_high | PAE_PDPT_ENTRY_FLAGS;
	fill_markers();

	paging_enable((uint32_t)&pae_pdpt, CR4_PAE, 0);
	uint32_t first = read32(VA_PAE_ALIAS);
	write32(VA_PAE_ALIAS + 0x40, 0x9ae00040);
	write32(VA_PAE_LARGE + 0x1234, 0x9ae01234);
	volatile uint64_t *pte = &pae_pt.entry[(VA_PAE_ALIAS >> 12) & 511];
	check(accessed_dirty(*pte, true), "pae write sets pte.a and pte.d", "pte 0x%llx", *pte);
	check_mapped_devices("pae", VA_PAE_MMIO, 0);
	check_u32("pae mapping above 4 GiB reads all-ones", read32(VA_PAE_ABOVE_4G), 0xffffffff);
	paging_disable();
	check(first == MARKER_B && read32(PA_TARGET_B + 0x40) == 0x9ae00040, "pae 4k alias",
	      "alias read 0x%x, physical after write 0x%x", first, read32(PA_TARGET_B + 0x40));
	check_u32("pae 2m alias", read32(PA_PAE_LARGE_TARGET + 0x1234), 0x9ae01234);
}

/* ---- 4-level paging in long mode ---- */

enum long_mode_op_kind { OP_WRITE64 = 1, OP_READ64, OP_WRITE32, OP_READ32, OP_WRITE_CR8, OP_READ_CR8 };

struct long_mode_op {
	uint32_t kind, pad;
	uint64_t va, value;
};

struct long_mode_job {
	uint32_t op_count, ops, idtr64;
	uint16_t code64, code32;
	uint64_t efer, arith;
	uint32_t fault_vector, pad;
	uint64_t fault_cr2;
};

_Static_assert(offsetof(struct long_mode_op, va) == 8 && offsetof(struct long_mode_op, value) == 16 &&
		       sizeof(struct long_mode_op) == 24, "OP_* offsets in paging_long.asm");
_Static_assert(offsetof(struct long_mode_job, idtr64) == 8 && offsetof(struct long_mode_job, code64) == 12 &&
		       offsetof(struct long_mode_job, code32) == 14 && offsetof(struct long_mode_job, efer) == 16 &&
		       offsetof(struct long_mode_job, arith) == 24 &&
		       offsetof(struct long_mode_job, fault_vector) == 32 &&
		       offsetof(struct long_mode_job, fault_cr2) == 40,
	       "JOB_* offsets in paging_long.asm");

uint32_t long_mode_run(uint32_t pml4, struct long_mode_job *job);
extern const uint32_t long_mode_isr_count;
extern const uint32_t long_mode_isr_table[];

#define LONG_MODE_IDT_VECTORS 32
#define GATE_INTERRUPT_64 0x8e
#define ARITH_EXPECTED 0x56789abcdef01234ull /* 0x123456789abcdef0 rotated left by 16 */
#define NO_FAULT 0xffffffffu

struct __attribute__((packed)) idt_gate64 {
	uint16_t offset_low, selector;
	uint8_t ist, type;
	uint16_t offset_mid;
	uint32_t offset_high, reserved;
};

struct __attribute__((packed)) pseudo_descriptor64 {
	uint16_t limit;
	uint64_t base;
};

static struct idt_gate64 idt64[LONG_MODE_IDT_VECTORS] __attribute__((aligned(16)));
static struct pseudo_descriptor64 idtr64;
static struct page_table64 lm_pml4, lm_pdpt_low, lm_pdpt_high, lm_pd_high, lm_pt;

static unsigned level_index(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (12 + 9 * level)) & 511;
}

static void build_long_mode_tables(void)
{
	/* The identity part reuses the PAE directory: the entry formats are the same. */
	lm_pdpt_low.entry[0] = (uint32_t)&pae_pd_low | PTE_FLAGS_RW;
	lm_pml4.entry[0] = (uint32_t)&lm_pdpt_low | PTE_FLAGS_RW;
	lm_pml4.entry[level_index(VA_LONG_ALIAS, 3)] = (uint32_t)&lm_pdpt_high | PTE_FLAGS_RW;
	lm_pdpt_high.entry[level_index(VA_LONG_ALIAS, 2)] = (uint32_t)&lm_pd_high | PTE_FLAGS_RW;
	lm_pd_high.entry[level_index(VA_LONG_ALIAS, 1)] = (uint32_t)&lm_pt | PTE_FLAGS_RW;
	lm_pt.entry[level_index(VA_LONG_ALIAS, 0)] = PA_TARGET_A | PTE_FLAGS_RW;
	lm_pt.entry[level_index(VA_LONG_MMIO, 0)] = scratch | PTE_FLAGS_RW;
	lm_pt.entry[level_index(VA_LONG_ABOVE_4G, 0)] = PA_UNCLAIMED_ABOVE_4G | PTE_FLAGS_RW;

	for (uint32_t v = 0; v < LONG_MODE_IDT_VECTORS && v < long_mode_isr_count; v++) {
		uint32_t stub = long_mode_isr_table[v];
		idt64[v] = (struct idt_gate64){ (uint16_t)stub, SEL_CODE64, 0, GATE_INTERRUPT_64,
						(uint16_t)(stub >> 16), 0, 0 };
	}
	idtr64 = (struct pseudo_descriptor64){ sizeof(idt64) - 1, (uint32_t)idt64 };
}

static void check_long_mode(void)
{
	build_long_mode_tables();
	fill_markers();
	static struct long_mode_op ops[] = {
		{ OP_READ64, 0, VA_LONG_ALIAS, 0 },
		{ OP_WRITE64, 0, VA_LONG_ALIAS + 0x40, 0x1122334455667788ull },
		{ OP_WRITE64, 0, VA_LONG_MMIO + 0x50, 0x8877665544332211ull },
		{ OP_READ64, 0, VA_LONG_MMIO + 0x50, 0 },
		{ OP_READ32, 0, VA_LONG_MMIO + 0x54, 0 },
		{ OP_READ64, 0, VA_LONG_ABOVE_4G, 0 },
	};
	static struct long_mode_job job;
	job = (struct long_mode_job){ sizeof(ops) / sizeof(ops[0]), (uint32_t)ops, (uint32_t)&idtr64,
				      SEL_CODE64, SEL_CODE32, 0, 0, NO_FAULT, 0, 0 };
	uint32_t status = long_mode_run((uint32_t)&lm_pml4, &job);
	if (!check(status == 0, "long mode ran without exceptions", "vector %u, cr2 0x%llx", job.fault_vector,
		   job.fault_cr2))
		return;
	check(job.efer & EFER_LMA, "long mode efer.lma set in 64-bit code", "efer 0x%llx", job.efer);
	check_u64("long mode 64-bit register arithmetic", job.arith, ARITH_EXPECTED);
	check_u64("long mode 4-level alias read", ops[0].value,
		  ((uint64_t)(MARKER_A + 1) << 32) | MARKER_A);
	check_u64("long mode 4-level alias write", ((uint64_t)read32(PA_TARGET_A + 0x44) << 32) |
							   read32(PA_TARGET_A + 0x40),
		  0x1122334455667788ull);
	check_u64("long mode mapped mmio 8-byte write and read", ops[3].value, 0x8877665544332211ull);
	check_u64("long mode mapped mmio 4-byte read of the upper half", ops[4].value, 0x88776655);
	check_u64("long mode mapping above 4 GiB reads all-ones", ops[5].value, ~0ull);
	uint64_t pte = lm_pt.entry[level_index(VA_LONG_ALIAS, 0)];
	check(accessed_dirty(pte, true) && (lm_pml4.entry[level_index(VA_LONG_ALIAS, 3)] & PTE_ACCESSED),
	      "long mode write sets pte.d and pml4e.a", "pte 0x%llx", pte);
}

/* CR8 is the local APIC's task priority (SDM 10.8.6.1): CR8[3:0] =
 * TPR[7:4], visible in the xAPIC TPR register; bits 63:4 are reserved. */
#define LAPIC_TPR_PA 0xfee00080u
#define CR8_PRIORITY 0xb
#define CR8_RESERVED_VALUE 0x10
#define VECTOR_GP 13

static void check_cr8(void)
{
	static struct long_mode_op ops[] = {
		{ OP_WRITE_CR8, 0, 0, CR8_PRIORITY },
		{ OP_READ_CR8, 0, 0, 0 },
	};
	static struct long_mode_job job;
	job = (struct long_mode_job){ 2, (uint32_t)ops, (uint32_t)&idtr64, SEL_CODE64, SEL_CODE32, 0, 0,
				      NO_FAULT, 0, 0 };
	uint32_t status = long_mode_run((uint32_t)&lm_pml4, &job);
	if (!check(status == 0, "mov to/from cr8 in 64-bit mode", "vector %u", job.fault_vector))
		return;
	check_u64("cr8 reads back what was written", ops[1].value, CR8_PRIORITY);
	check_u32("cr8 is the local apic tpr (bits 7:4)", read32(LAPIC_TPR_PA), CR8_PRIORITY << 4);
	write32(LAPIC_TPR_PA, 0x30);
	ops[0] = (struct long_mode_op){ OP_READ_CR8, 0, 0, 0 };
	job = (struct long_mode_job){ 1, (uint32_t)ops, (uint32_t)&idtr64, SEL_CODE64, SEL_CODE32, 0, 0,
				      NO_FAULT, 0, 0 };
	long_mode_run((uint32_t)&lm_pml4, &job);
	check_u64("a tpr write shows in cr8", ops[0].value, 0x3);
	ops[0] = (struct long_mode_op){ OP_WRITE_CR8, 0, 0, CR8_RESERVED_VALUE };
	job = (struct long_mode_job){ 1, (uint32_t)ops, (uint32_t)&idtr64, SEL_CODE64, SEL_CODE32, 0, 0,
				      NO_FAULT, 0, 0 };
	status = long_mode_run((uint32_t)&lm_pml4, &job);
	check(status == 1 && job.fault_vector == VECTOR_GP, "cr8 reserved bits raise #gp", "status %u vector %u",
	      status, job.fault_vector);
	write32(LAPIC_TPR_PA, 0);
}

void guest_main(void)
{
	scratch = testdev_scratch_base();
	fill_markers();
	check_paging32();
	check_paging_pse();
	check_paging_pae();
	check_long_mode();
	check_cr8();
}
