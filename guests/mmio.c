/*
 * mmio: the instruction emulator behind MMIO exits. Unclaimed physical
 * addresses read as all-ones and drop writes; the test device's scratch
 * page behaves like RAM, which lets every instruction form be checked by
 * running it once on RAM and once on the scratch page and comparing memory,
 * register and flags.
 */
#include "report.h"
#include "string.h"
#include "testdev.h"
#include "x86.h"

#define UNCLAIMED_LOW 0xd0000000u  /* in the PCI hole */
#define UNCLAIMED_HIGH 0xfebff000u /* just below the I/O APIC */
#define CELL_ALIGNED 0x40
#define CELL_UNALIGNED 0x81
#define STRING_DWORDS 16
#define STRING_SRC 0x100
#define STRING_DST 0x200
#define STOS_AREA 0x300
#define FLAGS_ALL_CLEAR EFLAGS_RESERVED_ONE
#define FLAGS_ALL_SET (EFLAGS_RESERVED_ONE | EFLAGS_ARITH)
#define FLAGS_LOGIC (EFLAGS_ARITH & ~EFLAGS_AF) /* AF is undefined after logic ops */

const char guest_name[] = "mmio";

static uint32_t scratch; /* the test device's page, or its RAM stand-in */

static void check_unclaimed(uint32_t a)
{
	uint8_t b = read8(a);
	uint16_t w = read16(a);
	uint32_t d = read32(a);
	check(b == 0xff && w == 0xffff && d == 0xffffffff, name("unclaimed 0x%x reads all-ones", a),
	      "byte 0x%x word 0x%x dword 0x%x", b, w, d);
	write32(a, 0x12345678);
	write16(a + 4, 0x1234);
	write8(a + 6, 0x12);
	d = read32(a);
	w = read16(a + 4);
	b = read8(a + 6);
	check(b == 0xff && w == 0xffff && d == 0xffffffff, name("unclaimed 0x%x drops writes", a),
	      "byte 0x%x word 0x%x dword 0x%x after writes", b, w, d);
}

static void check_scratch_initially_zero(void)
{
	uint32_t nonzero = 0, first = 0;
	for (uint32_t off = 0; off < TESTDEV_SCRATCH_SIZE; off += 4)
		if (read32(scratch + off) && !nonzero++)
			first = off;
	check(!nonzero, "scratch page reads zero before any write", "%u dwords nonzero, first at +0x%x",
	      nonzero, first);
}

static void check_mov_widths(void)
{
	const uint32_t at = scratch + 0x10;
	write32(at, 0x11223344);
	check(read8(at) == 0x44 && read8(at + 1) == 0x33 && read8(at + 2) == 0x22 && read8(at + 3) == 0x11,
	      "mov dword then byte reads, little-endian", "dword 0x%x", read32(at));
	check_u32("mov word read at odd offset", read16(at + 1), 0x2233);
	write8(at + 2, 0xaa);
	check_u32("mov byte write leaves neighbours", read32(at), 0x11aa3344);
	write16(at + 3, 0xbbcc);
	check(read32(at) == 0xccaa3344 && read8(at + 4) == 0xbb, "mov word write at odd offset",
	      "dwords 0x%x 0x%x", read32(at), read32(at + 4));
	write32(scratch + TESTDEV_SCRATCH_SIZE - 4, 0xfeedface);
	check_u32("mov dword at the last offset", read32(scratch + TESTDEV_SCRATCH_SIZE - 4), 0xfeedface);
}

/*
 * One instruction on a memory cell: flags are loaded from flags_in, the
 * register operand from *reg; returns the flags after it, *reg updated.
 */
typedef uint32_t (*mem_op_fn)(volatile void *mem, uint32_t *reg, uint32_t flags_in);

#define MEM_OP(fn, text)                                                              \
	static uint32_t fn(volatile void *mem, uint32_t *reg, uint32_t flags_in)       \
	{                                                                              \
		uint32_t flags, r = *reg;                                              \
		asm volatile("pushl %[fin]\n\tpopfl\n\t" text "\n\tpushfl\n\tpopl %[fl]" \
			     : [fl] "=&r"(flags), [r] "+q"(r)                          \
			     : [m] "r"(mem), [fin] "r"(flags_in)                       \
			     : "memory", "cc");                                        \
		*reg = r;                                                              \
		return flags;                                                          \
	}

#define MEM_OP_MR(op)                                      \
	MEM_OP(op##_mr_b, #op "b %b[r], (%[m])")           \
	MEM_OP(op##_mr_w, #op "w %w[r], (%[m])")           \
	MEM_OP(op##_mr_l, #op "l %k[r], (%[m])")
#define MEM_OP_RM(op)                                      \
	MEM_OP(op##_rm_b, #op "b (%[m]), %b[r]")           \
	MEM_OP(op##_rm_w, #op "w (%[m]), %w[r]")           \
	MEM_OP(op##_rm_l, #op "l (%[m]), %k[r]")
#define MEM_OP_MI(op)                                      \
	MEM_OP(op##_mi_b, #op "b $0xa5, (%[m])")           \
	MEM_OP(op##_mi_w, #op "w $0x8421, (%[m])")         \
	MEM_OP(op##_mi_l8, #op "l $-3, (%[m])")            \
	MEM_OP(op##_mi_l, #op "l $0x80004321, (%[m])")
#define MEM_OP_ALL(op) MEM_OP_MR(op) MEM_OP_RM(op) MEM_OP_MI(op)

MEM_OP_ALL(add)
MEM_OP_ALL(or)
MEM_OP_ALL(and)
MEM_OP_ALL(xor)
MEM_OP_ALL(sub)
MEM_OP_ALL(cmp)
MEM_OP_ALL(mov)
MEM_OP_MR(test)
MEM_OP_MI(test)
MEM_OP_MR(xchg)
MEM_OP(movzb_rm, "movzbl (%[m]), %k[r]")
MEM_OP(movzw_rm, "movzwl (%[m]), %k[r]")
MEM_OP(movsb_rm, "movsbl (%[m]), %k[r]")
MEM_OP(movsw_rm, "movswl (%[m]), %k[r]")
MEM_OP(bt_mr, "btl %k[r], (%[m])")
MEM_OP(bts_mr, "btsl %k[r], (%[m])")
MEM_OP(btr_mr, "btrl %k[r], (%[m])")
MEM_OP(bt_mi, "btl $3, (%[m])")
MEM_OP(bts_mi, "btsl $17, (%[m])")
MEM_OP(btr_mi, "btrl $31, (%[m])")

struct mem_op_case {
	const char *group; /* one report line per group */
	const char *form;
	mem_op_fn fn;
	uint32_t flags_mask;
	bool bit_offsets; /* register holds a bit offset, not data */
};

#define CASE(group, fn, mask) { group, #fn, fn, mask, false }
#define CASES_MR(op, mask) CASE(#op " mem,reg", op##_mr_b, mask), CASE(#op " mem,reg", op##_mr_w, mask), \
	CASE(#op " mem,reg", op##_mr_l, mask)
#define CASES_RM(op, mask) CASE(#op " reg,mem", op##_rm_b, mask), CASE(#op " reg,mem", op##_rm_w, mask), \
	CASE(#op " reg,mem", op##_rm_l, mask)
#define CASES_MI(op, mask) CASE(#op " mem,imm", op##_mi_b, mask), CASE(#op " mem,imm", op##_mi_w, mask), \
	CASE(#op " mem,imm", op##_mi_l8, mask), CASE(#op " mem,imm", op##_mi_l, mask)
#define CASES_ALL(op, mask) CASES_MR(op, mask), CASES_RM(op, mask), CASES_MI(op, mask)
#define BIT_CASE(group, fn) { group, #fn, fn, EFLAGS_CF, true }

static const struct mem_op_case cases[] = {
	CASES_ALL(mov, EFLAGS_ARITH),
	CASE("movzx/movsx reg,mem", movzb_rm, EFLAGS_ARITH),
	CASE("movzx/movsx reg,mem", movzw_rm, EFLAGS_ARITH),
	CASE("movzx/movsx reg,mem", movsb_rm, EFLAGS_ARITH),
	CASE("movzx/movsx reg,mem", movsw_rm, EFLAGS_ARITH),
	CASES_ALL(add, EFLAGS_ARITH),
	CASES_ALL(sub, EFLAGS_ARITH),
	CASES_ALL(cmp, EFLAGS_ARITH),
	CASES_ALL(or, FLAGS_LOGIC),
	CASES_ALL(and, FLAGS_LOGIC),
	CASES_ALL(xor, FLAGS_LOGIC),
	CASES_MR(test, FLAGS_LOGIC),
	CASES_MI(test, FLAGS_LOGIC),
	CASES_MR(xchg, EFLAGS_ARITH),
	BIT_CASE("bt/bts/btr mem,reg", bt_mr),
	BIT_CASE("bt/bts/btr mem,reg", bts_mr),
	BIT_CASE("bt/bts/btr mem,reg", btr_mr),
	BIT_CASE("bt/bts/btr mem,imm", bt_mi),
	BIT_CASE("bt/bts/btr mem,imm", bts_mi),
	BIT_CASE("bt/bts/btr mem,imm", btr_mi),
};

struct operands {
	uint32_t mem, reg;
};

static const struct operands data_operands[] = {
	{ 0x00000000, 0x00000000 }, { 0x7fffffff, 0x00000001 }, { 0x80000000, 0xffffffff },
	{ 0x12345678, 0x87654321 }, { 0xffffffff, 0xffffffff }, { 0x000000ff, 0x00000001 },
	{ 0x00008000, 0x00008000 }, { 0xa5a5a5a5, 0x5a5a5a5a },
};

/* Bit offsets stay inside the 8-byte cell: 40 reaches into its second dword. */
static const struct operands bit_operands[] = {
	{ 0x00000000, 0 }, { 0xffffffff, 5 }, { 0x80000001, 31 }, { 0x12345678, 3 }, { 0x0000ffff, 40 },
};

static const uint32_t cell_second_dword = 0x0f0f1234;

struct outcome {
	uint32_t mem[2], reg, flags;
};

static struct outcome run_case(const struct mem_op_case *c, volatile uint32_t *cell, struct operands in,
			       uint32_t flags_in)
{
	struct outcome o;
	cell[0] = in.mem;
	cell[1] = cell_second_dword;
	o.reg = in.reg;
	o.flags = c->fn(cell, &o.reg, flags_in) & c->flags_mask;
	o.mem[0] = cell[0];
	o.mem[1] = cell[1];
	return o;
}

static bool same_outcome(const struct outcome *a, const struct outcome *b)
{
	return a->mem[0] == b->mem[0] && a->mem[1] == b->mem[1] && a->reg == b->reg && a->flags == b->flags;
}

/* Runs one case against RAM and the scratch page at `offset`; false (reported) on a mismatch. */
static bool compare_case(const struct mem_op_case *c, uint32_t offset)
{
	static volatile uint32_t ram_cell[2];
	volatile uint32_t *mmio_cell = (volatile uint32_t *)(scratch + offset);
	const struct operands *ops = c->bit_offsets ? bit_operands : data_operands;
	unsigned count = c->bit_offsets ? sizeof(bit_operands) / sizeof(bit_operands[0])
					: sizeof(data_operands) / sizeof(data_operands[0]);
	static const uint32_t flag_inputs[] = { FLAGS_ALL_CLEAR, FLAGS_ALL_SET };
	for (unsigned i = 0; i < count; i++) {
		for (unsigned f = 0; f < 2; f++) {
			struct outcome want = run_case(c, ram_cell, ops[i], flag_inputs[f]);
			struct outcome got = run_case(c, mmio_cell, ops[i], flag_inputs[f]);
			if (!same_outcome(&got, &want))
				return report_fail(name("mmio %s", c->group),
						   "%s at +0x%x, mem 0x%x reg 0x%x flags 0x%x: got mem 0x%x:%x reg 0x%x "
						   "flags 0x%x, RAM gives mem 0x%x:%x reg 0x%x flags 0x%x",
						   c->form, offset, ops[i].mem, ops[i].reg, flag_inputs[f],
						   got.mem[0], got.mem[1], got.reg, got.flags, want.mem[0],
						   want.mem[1], want.reg, want.flags);
		}
	}
	return true;
}

static void check_instruction_forms(void)
{
	const unsigned n = sizeof(cases) / sizeof(cases[0]);
	for (unsigned i = 0; i < n;) {
		const char *group = cases[i].group;
		bool ok = true;
		for (; i < n && cases[i].group == group; i++)
			ok = ok && compare_case(&cases[i], CELL_ALIGNED) && compare_case(&cases[i], CELL_UNALIGNED);
		if (ok)
			report_pass(name("mmio %s", group));
	}
}

static uint32_t ram_words[STRING_DWORDS], ram_back[STRING_DWORDS];

struct string_regs {
	uint32_t src, dst, count;
};

static struct string_regs rep_movsd(uint32_t src, uint32_t dst, uint32_t count, bool backwards)
{
	struct string_regs r = { src, dst, count };
	if (backwards)
		asm volatile("std\n\trep movsl\n\tcld" : "+S"(r.src), "+D"(r.dst), "+c"(r.count) : : "memory");
	else
		asm volatile("rep movsl" : "+S"(r.src), "+D"(r.dst), "+c"(r.count) : : "memory");
	return r;
}

static bool string_regs_ok(struct string_regs r, uint32_t src_end, uint32_t dst_end)
{
	return r.count == 0 && r.src == src_end && r.dst == dst_end;
}

static void check_rep_movs(void)
{
	const uint32_t bytes = STRING_DWORDS * 4, mmio_src = scratch + STRING_SRC;
	const uint32_t mmio_dst = scratch + STRING_DST, ram = (uint32_t)ram_words, back = (uint32_t)ram_back;
	for (uint32_t i = 0; i < STRING_DWORDS; i++)
		ram_words[i] = 0x01010101u * (i + 1) ^ 0x80c0e0f0u;

	struct string_regs r = rep_movsd(ram, mmio_src, STRING_DWORDS, false);
	bool same = true;
	for (uint32_t i = 0; i < STRING_DWORDS; i++)
		same &= read32(mmio_src + 4 * i) == ram_words[i];
	check(same && string_regs_ok(r, ram + bytes, mmio_src + bytes), "rep movsd ram to mmio",
	      "data %u, esi 0x%x edi 0x%x ecx %u", same, r.src, r.dst, r.count);

	memset(ram_back, 0, sizeof(ram_back));
	r = rep_movsd(mmio_src, back, STRING_DWORDS, false);
	check(!memcmp(ram_back, ram_words, bytes) && string_regs_ok(r, mmio_src + bytes, back + bytes),
	      "rep movsd mmio to ram", "first 0x%x, esi 0x%x edi 0x%x ecx %u", ram_back[0], r.src, r.dst,
	      r.count);

	r = rep_movsd(mmio_src, mmio_dst, STRING_DWORDS, false);
	same = true;
	for (uint32_t i = 0; i < STRING_DWORDS; i++)
		same &= read32(mmio_dst + 4 * i) == ram_words[i];
	check(same && string_regs_ok(r, mmio_src + bytes, mmio_dst + bytes), "rep movsd mmio to mmio",
	      "data %u, esi 0x%x edi 0x%x ecx %u", same, r.src, r.dst, r.count);

	memset(ram_back, 0, sizeof(ram_back));
	r = rep_movsd(mmio_src + bytes - 4, back + bytes - 4, STRING_DWORDS, true);
	check(!memcmp(ram_back, ram_words, bytes) && string_regs_ok(r, mmio_src - 4, back - 4),
	      "rep movsd mmio to ram with df=1", "first 0x%x, esi 0x%x edi 0x%x ecx %u", ram_back[0], r.src,
	      r.dst, r.count);
}

static void check_rep_stos(void)
{
	const uint32_t area = scratch + STOS_AREA, value = 0x5a5aa5a5u;
	uint32_t dst = area, count = STRING_DWORDS;
	write32(area + STRING_DWORDS * 4, 0x77777777);
	asm volatile("rep stosl" : "+D"(dst), "+c"(count) : "a"(value) : "memory");
	bool same = true;
	for (uint32_t i = 0; i < STRING_DWORDS; i++)
		same &= read32(area + 4 * i) == value;
	same &= read32(area + STRING_DWORDS * 4) == 0x77777777;
	check(same && count == 0 && dst == area + STRING_DWORDS * 4, "rep stosd into mmio",
	      "data %u, edi 0x%x ecx %u", same, dst, count);

	dst = area + 1;
	count = 5;
	asm volatile("rep stosb" : "+D"(dst), "+c"(count) : "a"(0xc3) : "memory");
	check(read32(area) == 0xc3c3c3a5 && read32(area + 4) == 0x5a5ac3c3 && dst == area + 6,
	      "rep stosb into mmio at odd offset", "dwords 0x%x 0x%x, edi 0x%x", read32(area),
	      read32(area + 4), dst);
}

void guest_main(void)
{
	scratch = testdev_scratch_base();
	check_unclaimed(UNCLAIMED_LOW);
	check_unclaimed(UNCLAIMED_HIGH);
	check_scratch_initially_zero();
	check_mov_widths();
	check_instruction_forms();
	check_rep_movs();
	check_rep_stos();
}
