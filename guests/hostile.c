/*
 * hostile: what a guest must not be able to do to Presidio. Virtualization
 * instructions raise #UD in the guest, enabling SVM or VMX fails with #GP,
 * string I/O to and from unclaimed memory is harmless, and a sweep over
 * every 64 KiB of physical address space above RAM reads all-ones and drops
 * writes. The last line proves the guest still runs. RAM it was given reads
 * zero above its image; it leaves a pattern in it, so that a VM after it
 * on the same frames would see any leftover (the scenario runs it twice).
 */
#include "hostile.h"
#include "interrupts.h"
#include "multiboot.h"
#include "report.h"
#include "testdev.h"
#include "x86.h"

#define MSR_VM_HSAVE_PA 0xc0010117u
#define SWEEP_FLOOR (16u << 20)
#define SWEEP_STEP 0x10000u
#define SWEEP_LAST 0xffff0000u
#define NARROW_READ_STEP (16u << 20) /* byte and word reads too, this often */
#define SWEEP_PATTERN 0x5a5a5a5au
#define BAD_ADDRESSES_SHOWN 4
#define PA_UNCLAIMED 0xd0000000u
#define STRING_BYTES 16
#define CLEAR_CHECK_FLOOR (4u << 20) /* above the image, stack and Multiboot data */
#define CLEAR_CHECK_SIZE (32u << 20)
#define LEFTOVER_PATTERN 0x1eff0e5eu

/* Presidio's own devices in the sweep range: accessed, values not checked. */
#define DEVICE_SCRATCH TESTDEV_SCRATCH_PA
#define DEVICE_IOAPIC 0xfec00000u
#define DEVICE_HPET 0xfed00000u
#define DEVICE_LAPIC 0xfee00000u

const char guest_name[] = "hostile";

/* Memory operands of the opcodes point here, so the only possible fault is #UD. */
static uint8_t operand_area[64] __attribute__((aligned(16)));

#define UD_OPCODE(fn, ...)                                                        \
	static void fn(void)                                                      \
	{                                                                         \
		asm volatile(FAULT_GUARDED(".byte " #__VA_ARGS__)                 \
			     : : "a"(operand_area), "c"(operand_area + 32), "d"(0) \
			     : "memory", "cc");                                   \
	}

UD_OPCODE(run_vmrun, 0x0f, 0x01, 0xd8)
UD_OPCODE(run_vmmcall, 0x0f, 0x01, 0xd9)
UD_OPCODE(run_vmload, 0x0f, 0x01, 0xda)
UD_OPCODE(run_vmsave, 0x0f, 0x01, 0xdb)
UD_OPCODE(run_stgi, 0x0f, 0x01, 0xdc)
UD_OPCODE(run_clgi, 0x0f, 0x01, 0xdd)
UD_OPCODE(run_skinit, 0x0f, 0x01, 0xde)
UD_OPCODE(run_invlpga, 0x0f, 0x01, 0xdf)
UD_OPCODE(run_vmcall, 0x0f, 0x01, 0xc1)
UD_OPCODE(run_vmlaunch, 0x0f, 0x01, 0xc2)
UD_OPCODE(run_vmresume, 0x0f, 0x01, 0xc3)
UD_OPCODE(run_vmxoff, 0x0f, 0x01, 0xc4)
UD_OPCODE(run_vmxon, 0xf3, 0x0f, 0xc7, 0x30)          /* vmxon [eax] */
UD_OPCODE(run_vmclear, 0x66, 0x0f, 0xc7, 0x30)        /* vmclear [eax] */
UD_OPCODE(run_vmptrld, 0x0f, 0xc7, 0x30)              /* vmptrld [eax] */
UD_OPCODE(run_vmptrst, 0x0f, 0xc7, 0x38)              /* vmptrst [eax] */
UD_OPCODE(run_vmread, 0x0f, 0x78, 0xc1)               /* vmread ecx, eax */
UD_OPCODE(run_vmwrite, 0x0f, 0x79, 0xc1)              /* vmwrite eax, ecx */
UD_OPCODE(run_invept, 0x66, 0x0f, 0x38, 0x80, 0x01)   /* invept eax, [ecx] */
UD_OPCODE(run_invvpid, 0x66, 0x0f, 0x38, 0x81, 0x01)  /* invvpid eax, [ecx] */

static const struct {
	const char *what;
	void (*run)(void);
} ud_opcodes[] = {
	{ "vmrun", run_vmrun },       { "vmmcall", run_vmmcall },   { "vmload", run_vmload },
	{ "vmsave", run_vmsave },     { "stgi", run_stgi },         { "clgi", run_clgi },
	{ "skinit", run_skinit },     { "invlpga", run_invlpga },   { "vmcall", run_vmcall },
	{ "vmlaunch", run_vmlaunch }, { "vmresume", run_vmresume }, { "vmxoff", run_vmxoff },
	{ "vmxon", run_vmxon },       { "vmclear", run_vmclear },   { "vmptrld", run_vmptrld },
	{ "vmptrst", run_vmptrst },   { "vmread", run_vmread },     { "vmwrite", run_vmwrite },
	{ "invept", run_invept },     { "invvpid", run_invvpid },
};

static void check_virtualization_opcodes(void)
{
	for (unsigned i = 0; i < sizeof(ud_opcodes) / sizeof(ud_opcodes[0]); i++) {
		fault_clear();
		ud_opcodes[i].run();
		expect_fault(name("%s #UD", ud_opcodes[i].what), VECTOR_UD, 0);
	}
}

static void check_enable_attempts(void)
{
	uint64_t efer = rdmsr(MSR_EFER);
	if (wrmsr_safe(MSR_EFER, efer | EFER_SVME))
		wrmsr(MSR_EFER, efer);
	expect_fault("wrmsr efer.svme #GP(0)", VECTOR_GP, 0);
	wrmsr_safe(MSR_VM_HSAVE_PA, 0x00a00000);
	expect_fault("wrmsr vm_hsave_pa #GP(0)", VECTOR_GP, 0);

	/* QEMU 7.2 TCG spins on a faulting MOV to CR4, so only try it under Presidio. */
	if (!running_on_presidio()) {
		report_fail("mov cr4 with vmxe #GP(0)", "skipped: not running under Presidio");
		return;
	}
	uint32_t cr4 = read_cr4();
	fault_clear();
	asm volatile(FAULT_GUARDED("mov %0, %%cr4") : : "r"(cr4 | CR4_VMXE) : "memory");
	if (!last_fault.occurred)
		write_cr4(cr4);
	expect_fault("mov cr4 with vmxe #GP(0)", VECTOR_GP, 0);
}

static void check_string_io_unclaimed(void)
{
	testdev_fifo_clear();
	uint32_t src = PA_UNCLAIMED, count = STRING_BYTES;
	asm volatile("rep outsb" : "+S"(src), "+c"(count) : "d"(TESTDEV_FIFO_PORT) : "memory");
	bool ones = inl(TESTDEV_COUNT_PORT) == STRING_BYTES;
	for (unsigned i = 0; i < STRING_BYTES / 4; i++)
		ones &= inl(TESTDEV_FIFO_PORT) == 0xffffffff;
	check(ones && src == PA_UNCLAIMED + STRING_BYTES, "rep outsb from unclaimed memory sends 0xff",
	      "fifo content or esi wrong (esi 0x%x)", src);

	for (unsigned i = 0; i < STRING_BYTES; i++)
		outb(TESTDEV_FIFO_PORT, (uint8_t)i);
	uint32_t dst = PA_UNCLAIMED;
	count = STRING_BYTES;
	asm volatile("rep insb" : "+D"(dst), "+c"(count) : "d"(TESTDEV_FIFO_PORT) : "memory");
	check(read32(PA_UNCLAIMED) == 0xffffffff && dst == PA_UNCLAIMED + STRING_BYTES &&
		      inl(TESTDEV_COUNT_PORT) == 0,
	      "rep insb into unclaimed memory is dropped", "reads 0x%x, edi 0x%x", read32(PA_UNCLAIMED),
	      dst);
}

#define MAX_REGIONS 32

/* The memory map: the sweep starts above the usable RAM and skips every region. */
struct memory_map {
	unsigned count;
	uint64_t start[MAX_REGIONS], end[MAX_REGIONS];
	uint64_t ram_top;
};

static void note_region(const struct multiboot_mmap_entry *e, void *ctx)
{
	struct memory_map *m = ctx;
	if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr + e->len > m->ram_top)
		m->ram_top = e->addr + e->len;
	if (m->count < MAX_REGIONS) {
		m->start[m->count] = e->addr;
		m->end[m->count] = e->addr + e->len;
		m->count++;
	}
}

static bool in_memory_map(const struct memory_map *m, uint32_t a)
{
	for (unsigned i = 0; i < m->count; i++)
		if (a >= m->start[i] && a < m->end[i])
			return true;
	return false;
}

static bool is_device_window(uint32_t a)
{
	return a == DEVICE_SCRATCH || a == DEVICE_IOAPIC || a == DEVICE_HPET || a == DEVICE_LAPIC;
}

struct sweep_result {
	uint32_t checked, bad;
	uint32_t bad_address[BAD_ADDRESSES_SHOWN], bad_value[BAD_ADDRESSES_SHOWN];
};

static void note_bad(struct sweep_result *r, uint32_t a, uint32_t v)
{
	if (r->bad < BAD_ADDRESSES_SHOWN) {
		r->bad_address[r->bad] = a;
		r->bad_value[r->bad] = v;
	}
	r->bad++;
}

static void sweep_one(struct sweep_result *r, const struct memory_map *m, uint32_t a)
{
	if (in_memory_map(m, a))
		return;
	uint32_t first = read32(a);
	write32(a, SWEEP_PATTERN);
	uint32_t again = read32(a);
	if (is_device_window(a))
		return;
	r->checked++;
	if (a % NARROW_READ_STEP == 0 && (read8(a + 1) != 0xff || read16(a + 2) != 0xffff))
		note_bad(r, a, read32(a));
	else if (first != 0xffffffff || again != 0xffffffff)
		note_bad(r, a, first != 0xffffffff ? first : again);
}

/* Paging is off: these are guest-physical addresses. */
static void check_physical_sweep(void)
{
	static struct memory_map map;
	map.ram_top = SWEEP_FLOOR;
	multiboot_for_each_region(note_region, &map);
	uint32_t start = map.ram_top > SWEEP_LAST
				 ? SWEEP_LAST
				 : (uint32_t)((map.ram_top + SWEEP_STEP - 1) & ~(uint64_t)(SWEEP_STEP - 1));
	struct sweep_result r = { 0 };
	for (uint32_t a = start;; a += SWEEP_STEP) {
		sweep_one(&r, &map, a);
		if (a == SWEEP_LAST)
			break;
	}
	const char *what = name("sweep 0x%x-0xffffffff every 64 KiB reads all-ones, drops writes", start);
	if (!r.bad) {
		check(r.checked > 0, what, "nothing checked");
		return;
	}
	report_fail(what, "%u of %u not all-ones, e.g. 0x%x=0x%x 0x%x=0x%x 0x%x=0x%x 0x%x=0x%x", r.bad,
		    r.checked, r.bad_address[0], r.bad_value[0], r.bad_address[1], r.bad_value[1],
		    r.bad_address[2], r.bad_value[2], r.bad_address[3], r.bad_value[3]);
}

/* Two bytes of RAM, two of nothing: the nothing half reads as 0xff. */
/* The end of usable RAM by the Multiboot memory map (below 4 GiB). */
static uint32_t ram_end(void)
{
	static struct memory_map map;
	map.ram_top = 0;
	map.count = 0;
	multiboot_for_each_region(note_region, &map);
	return map.ram_top > SWEEP_LAST ? SWEEP_LAST : (uint32_t)map.ram_top;
}

/* The window checked for leftovers: 32 MiB above the floor, or less RAM. */
static uint32_t clear_check_top(void)
{
	uint32_t end = ram_end();
	return end < CLEAR_CHECK_FLOOR + CLEAR_CHECK_SIZE ? end : CLEAR_CHECK_FLOOR + CLEAR_CHECK_SIZE;
}

static void check_read_straddling_ram_end(void)
{
	const uint32_t at = ram_end() - 2;
	write16(at, 0x5aa5);
	check_u32("dword read straddling the end of RAM", read32(at), 0xffff5aa5);
}

/* Guest-physical addresses: paging is off. */
static void check_ram_starts_clear(uint32_t top)
{
	uint32_t nonzero = 0, first = 0;
	for (uint32_t a = CLEAR_CHECK_FLOOR; a < top; a += 4)
		if (read32(a) && !nonzero++)
			first = a;
	check(top > CLEAR_CHECK_FLOOR && nonzero == 0, "ram above the image starts zeroed",
	      "%u non-zero dwords in [0x%x, 0x%x), first at 0x%x", nonzero, CLEAR_CHECK_FLOOR, top, first);
}

static void leave_leftovers(uint32_t top)
{
	for (uint32_t a = CLEAR_CHECK_FLOOR; a < top; a += 4)
		write32(a, LEFTOVER_PATTERN);
}

void guest_main(void)
{
	uint32_t top = clear_check_top();
	check_ram_starts_clear(top);
	hostile_leftover_cases();
	check_virtualization_opcodes();
	check_enable_attempts();
	check_string_io_unclaimed();
	check_physical_sweep();
	check_read_straddling_ram_end();
	hostile_cpu_cases();
	hostile_timer_cases();
	hostile_console_cases();
	hostile_long_mode_cases();
	hostile_leave_leftovers();
	leave_leftovers(top);
	report_pass("guest still running after the hostile accesses");
}
