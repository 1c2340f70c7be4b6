/*
 * bigmem: a VM with more RAM than fits below the PCI hole (mem=4G). The
 * Multiboot mmap must end RAM below 4 GiB at the hole (3 GiB) and continue
 * it at 4 GiB; the local APIC and I/O APIC pages inside the hole must be
 * the devices, not RAM; and the RAM above 4 GiB must be there (through PAE
 * 2 MiB pages): zero at first, keeping what is written, not an alias of
 * low memory, and ending where the mmap says.
 * Command line: `mib=N`, the VM's mem= in MiB, to check the total.
 */
#include "multiboot.h"
#include "paging.h"
#include "report.h"
#include "x86.h"

#define PCI_HOLE_START 0xc0000000ull
#define FOUR_GIB 0x100000000ull
#define HIGH_MEMORY_START 0x100000ull
#define MIB (1ull << 20)
#define VGA_WINDOW_SIZE 0x20000ull /* 0xa0000-0xc0000: in no mmap entry */
#define UNCLAIMED_MMIO_VALUE 0xffffffffu

#define LAPIC_VERSION 0xfee00030u
#define LAPIC_VERSION_MASK 0xffu
#define LAPIC_VERSION_INTEGRATED_MIN 0x10u /* 0x1X: an integrated APIC (SDM 11.4.8) */
#define LAPIC_VERSION_INTEGRATED_MAX 0x15u
#define LAPIC_MAX_LVT_SHIFT 16
#define LAPIC_MAX_LVT_MIN 3u
#define IOAPIC_SELECT 0xfec00000u
#define IOAPIC_WINDOW 0xfec00010u
#define IOAPIC_REG_VERSION 1u
#define IOAPIC_VERSION_MASK 0xffu
#define IOAPIC_VERSION_82093AA 0x20u /* and 0x11: what PC chipsets report */
#define IOAPIC_VERSION_OLD 0x11u
#define IOAPIC_MAX_ENTRY_SHIFT 16
#define IOAPIC_MAX_ENTRY_MIN 23u

/* PAE: the low 1 GiB identity-mapped, high RAM seen through 1-2 GiB. */
#define VA_HIGH_WINDOW 0x40000000u
#define PAE_PDPT_ENTRY_FLAGS PTE_PRESENT
#define WINDOW_PAGES 4
#define PATTERN 0x5a17c0deu

const char guest_name[] = "bigmem";

struct memory_view {
	uint64_t low_end;   /* end of the usable range holding 1 MiB */
	uint64_t high_start, high_end; /* the usable range at or above 4 GiB */
	uint64_t total;     /* every byte any entry lists */
	unsigned in_hole;   /* entries reaching into [hole, 4 GiB) */
};

static void note_region(const struct multiboot_mmap_entry *e, void *ctx)
{
	struct memory_view *m = ctx;
	uint64_t end = e->addr + e->len;
	m->total += e->len;
	if (e->addr < FOUR_GIB && end > PCI_HOLE_START)
		m->in_hole++;
	if (e->type != MULTIBOOT_MEMORY_AVAILABLE)
		return;
	if (e->addr <= HIGH_MEMORY_START && end > HIGH_MEMORY_START)
		m->low_end = end;
	if (e->addr >= FOUR_GIB && !m->high_start) {
		m->high_start = e->addr;
		m->high_end = end;
	}
}

static struct memory_view check_memory_map(void)
{
	struct memory_view m = { 0 };
	if (!check(multiboot_for_each_region(note_region, &m), "multiboot mmap present", "no mmap"))
		return m;
	check_u64("ram below 4 GiB ends at the pci hole", m.low_end, PCI_HOLE_START);
	check_u32("no mmap entry inside the pci hole", m.in_hole, 0);
	check_u64("ram above 4 GiB starts at 4 GiB", m.high_start, FOUR_GIB);
	uint32_t mib = multiboot_cmdline_uint("mib", 0);
	if (mib)
		check_u64("mmap + vga window add up to mem=", m.total + VGA_WINDOW_SIZE, (uint64_t)mib * MIB);
	return m;
}

static void check_mem_upper(void)
{
	const struct multiboot_info *info = multiboot_info();
	if (check(info && (info->flags & MULTIBOOT_INFO_MEMORY), "multiboot mem_upper present", "no"))
		check_u64("mem_upper ends at the pci hole", HIGH_MEMORY_START + (uint64_t)info->mem_upper * 1024,
			  PCI_HOLE_START);
}

static void check_devices_in_hole(void)
{
	uint32_t version = read32(LAPIC_VERSION);
	uint32_t lapic = version & LAPIC_VERSION_MASK, max_lvt = (version >> LAPIC_MAX_LVT_SHIFT) & 0xff;
	check(lapic >= LAPIC_VERSION_INTEGRATED_MIN && lapic <= LAPIC_VERSION_INTEGRATED_MAX &&
		      max_lvt >= LAPIC_MAX_LVT_MIN,
	      "local apic version register is the device", "0x%x at 0x%x", version, LAPIC_VERSION);
	write32(IOAPIC_SELECT, IOAPIC_REG_VERSION);
	uint32_t io = read32(IOAPIC_WINDOW);
	uint32_t io_version = io & IOAPIC_VERSION_MASK, max_entry = (io >> IOAPIC_MAX_ENTRY_SHIFT) & 0xff;
	check((io_version == IOAPIC_VERSION_82093AA || io_version == IOAPIC_VERSION_OLD) &&
		      max_entry >= IOAPIC_MAX_ENTRY_MIN,
	      "io apic version register is the device", "IOAPICVER 0x%x", io);
	check_u32("the pci hole start is not ram", read32(PCI_HOLE_START), UNCLAIMED_MMIO_VALUE);
}

static struct page_table64 pdpt, pd_low, pd_window;

/* Maps the 2 MiB guest-physical pages at pa[i] to VA_HIGH_WINDOW + i * 2 MiB. */
static void map_window(const uint64_t *pa, unsigned count)
{
	for (uint32_t i = 0; i < PT64_ENTRIES; i++)
		pd_low.entry[i] = ((uint64_t)i * LARGE_PAGE_SIZE_PAE) | PDE_LARGE | PTE_FLAGS_RW;
	for (unsigned i = 0; i < count; i++)
		pd_window.entry[i] = pa[i] | PDE_LARGE | PTE_FLAGS_RW;
	pdpt.entry[0] = (uint32_t)&pd_low | PAE_PDPT_ENTRY_FLAGS;
	pdpt.entry[VA_HIGH_WINDOW >> 30] = (uint32_t)&pd_window | PAE_PDPT_ENTRY_FLAGS;
}

/* Low memory an alias of high RAM would hit first: guest-physical 0 (a
 * variable, so the compiler does not take the read for a null dereference)
 * and 1 MiB. */
static volatile uint32_t low_probe[] = { 0, HIGH_MEMORY_START };

static uint32_t window(unsigned page, uint32_t offset) { return VA_HIGH_WINDOW + page * LARGE_PAGE_SIZE_PAE + offset; }

static void check_high_ram(const struct memory_view *m)
{
	if (!check(m->high_end > m->high_start + 2 * LARGE_PAGE_SIZE_PAE, "high ram to test", "none"))
		return;
	const uint64_t pa[WINDOW_PAGES] = { m->high_start, m->high_start + LARGE_PAGE_SIZE_PAE,
					    m->high_end - LARGE_PAGE_SIZE_PAE, m->high_end };
	map_window(pa, WINDOW_PAGES);
	uint32_t low_before[2] = { read32(low_probe[0]), read32(low_probe[1]) };
	paging_enable((uint32_t)&pdpt, CR4_PAE, 0);
	uint32_t first = read32(window(0, 0)), last = read32(window(2, LARGE_PAGE_SIZE_PAE - 4));
	write32(window(0, 0), PATTERN);
	write32(window(1, 0x1234), PATTERN + 1);
	write32(window(2, LARGE_PAGE_SIZE_PAE - 4), PATTERN + 2);
	uint32_t back0 = read32(window(0, 0)), back1 = read32(window(1, 0x1234));
	uint32_t back2 = read32(window(2, LARGE_PAGE_SIZE_PAE - 4)), past_end = read32(window(3, 0));
	paging_disable();
	check_u32("ram at 4 GiB reads zero at first", first, 0);
	check_u32("the last dword of high ram reads zero at first", last, 0);
	check(back0 == PATTERN && back1 == PATTERN + 1 && back2 == PATTERN + 2, "high ram keeps what is written",
	      "read 0x%x 0x%x 0x%x", back0, back1, back2);
	uint32_t low_after[2] = { read32(low_probe[0]), read32(low_probe[1]) };
	check(low_after[0] == low_before[0] && low_after[1] == low_before[1],
	      "writes above 4 GiB leave low memory alone", "0x%x 0x%x", low_after[0], low_after[1]);
	check_u32("past the end of high ram is unclaimed", past_end, UNCLAIMED_MMIO_VALUE);
}

void guest_main(void)
{
	struct memory_view m = check_memory_map();
	check_mem_upper();
	check_devices_in_hole();
	check_high_ram(&m);
	report_done();
}
