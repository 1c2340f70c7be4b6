/*
 * fuzz_exit's guest: the vCPU state, page tables and code bytes from the
 * input's header, and the exits the fake hardware reports, decoded from
 * one record each. Include from tests/fuzz/fuzz_exit.c only.
 */
#pragma once

#define GUEST_RAM_SIZE (64 * KiB)
#define GUEST_HEADER_SIZE 40
#define CODE_BYTES 16

/* Header byte 0 */
#define HEADER_MODE_MASK 0x03 /* enum x86_mode */
#define HEADER_PAGING 0x04
#define HEADER_PAE 0x08
#define HEADER_USER 0x10      /* CPL 3 */
#define HEADER_IF 0x20
#define HEADER_DF 0x40
#define HEADER_SHADOW 0x80    /* STI / MOV SS blocking */
/* Header byte 1 */
#define HEADER_LAZY_RAM 0x01
#define HEADER_VM86 0x02
#define HEADER_SMALL_PAGES 0x04 /* 4 KiB pages for RAM, else one large page */
#define HEADER_NXE 0x08
#define HEADER_WP 0x10
#define HEADER_DATA_BASE_SHIFT 5 /* DS/ES base = n pages */
#define HEADER_RIP 2
#define HEADER_REGISTERS 4
#define HEADER_PERTURB 36
#define PERTURB_COUNT 4

/* Page tables in guest RAM, identity-mapping RAM and the device pages. */
#define TABLE_TOP 0xa000    /* PML4, or the 32-bit page directory */
#define TABLE_PDPT 0xb000
#define TABLE_PD_LOW 0xc000 /* 0-1 GiB */
#define TABLE_PD_HIGH 0xd000 /* 3-4 GiB: the device pages */
#define TABLE_PT 0xe000     /* RAM's 4 KiB pages */
#define PTE_P BIT(0)
#define PTE_RW BIT(1)
#define PTE_US BIT(2)
#define PTE_PS BIT(7)
#define PTE_NX BIT(63)
#define PTE_USER_RW (PTE_P | PTE_RW | PTE_US)
#define GiB_3 (3 * GiB)
#define LARGE_PAGE_32 (4 * MiB)
#define EFER_LONG (EFER_LME | EFER_LMA)

static const u64 device_pages_2m[] = { TEST_DEVICE_MMIO_BASE, IOAPIC_DEFAULT_BASE, LAPIC_DEFAULT_BASE };
static const u64 device_pages_4m[] = { TEST_DEVICE_MMIO_BASE, IOAPIC_DEFAULT_BASE };

/* Entries a perturbation byte may change, collected while building. */
static void *table_entries[16];
static bool table_entry_wide[16];
static unsigned table_entry_count;

static void put_entry(u64 table, unsigned index, u64 value, bool wide)
{
	void *at = fake_ram + table + index * (wide ? 8 : 4);
	if (wide)
		memcpy(at, &value, sizeof(value));
	else
		memcpy(at, &(u32){ (u32)value }, sizeof(u32));
	if (table_entry_count < ARRAY_SIZE(table_entries)) {
		table_entry_wide[table_entry_count] = wide;
		table_entries[table_entry_count++] = at;
	}
}

static void build_ram_pages(bool wide)
{
	for (unsigned i = 0; i < GUEST_RAM_SIZE / PAGE_SIZE; i++)
		put_entry(TABLE_PT, i, i * PAGE_SIZE | PTE_USER_RW, wide);
}

/* PAE and 4-level tables share the directory format (SDM 4.4, 4.5). */
static void build_wide_tables(bool long_mode, bool small_pages)
{
	if (long_mode)
		put_entry(TABLE_TOP, 0, TABLE_PDPT | PTE_USER_RW, true);
	u64 pdpte_bits = long_mode ? PTE_USER_RW : PTE_P; /* PAE PDPTEs have no R/W, U/S */
	put_entry(TABLE_PDPT, 0, TABLE_PD_LOW | pdpte_bits, true);
	put_entry(TABLE_PDPT, 3, TABLE_PD_HIGH | pdpte_bits, true);
	put_entry(TABLE_PD_LOW, 0, small_pages ? TABLE_PT | PTE_USER_RW : PTE_USER_RW | PTE_PS, true);
	for (unsigned i = 0; i < ARRAY_SIZE(device_pages_2m); i++)
		put_entry(TABLE_PD_HIGH, (unsigned)((device_pages_2m[i] - GiB_3) / LARGE_PAGE_SIZE),
			  device_pages_2m[i] | PTE_USER_RW | PTE_PS, true);
	if (small_pages)
		build_ram_pages(true);
}

static void build_32bit_tables(bool small_pages)
{
	put_entry(TABLE_TOP, 0, small_pages ? TABLE_PT | PTE_USER_RW : PTE_USER_RW | PTE_PS, false);
	for (unsigned i = 0; i < ARRAY_SIZE(device_pages_4m); i++)
		put_entry(TABLE_TOP, (unsigned)(device_pages_4m[i] / LARGE_PAGE_32),
			  device_pages_4m[i] | PTE_USER_RW | PTE_PS, false);
	if (small_pages)
		build_ram_pages(false);
}

/* Low nibble: clear P, clear R/W, clear U/S, set XD; high: which entry. */
static void perturb_tables(const u8 *perturb)
{
	static const u64 bits[4] = { PTE_P, PTE_RW, PTE_US, PTE_NX };
	for (unsigned i = 0; i < PERTURB_COUNT && table_entry_count; i++) {
		unsigned which = (perturb[i] >> 4) % table_entry_count;
		u64 entry = 0;
		memcpy(&entry, table_entries[which], table_entry_wide[which] ? 8 : 4);
		for (unsigned b = 0; b < 4; b++)
			if (perturb[i] & (1u << b))
				entry = b == 3 ? entry | bits[b] : entry & ~bits[b];
		memcpy(table_entries[which], &entry, table_entry_wide[which] ? 8 : 4);
	}
}

static void setup_paging(const u8 *header, enum x86_mode mode)
{
	struct vcpu_sregs *s = &fake_backend.sregs;
	bool small_pages = header[1] & HEADER_SMALL_PAGES, pae = mode == X86_MODE_LONG64 || (header[0] & HEADER_PAE);
	table_entry_count = 0;
	if (mode != X86_MODE_LONG64 && (mode == X86_MODE_REAL || !(header[0] & HEADER_PAGING)))
		return;
	if (pae)
		build_wide_tables(mode == X86_MODE_LONG64, small_pages);
	else
		build_32bit_tables(small_pages);
	perturb_tables(header + HEADER_PERTURB);
	s->cr0 |= CR0_PG | ((header[1] & HEADER_WP) ? CR0_WP : 0);
	s->cr4 |= pae ? CR4_PAE : CR4_PSE;
	s->cr3 = mode == X86_MODE_LONG64 ? TABLE_TOP : pae ? TABLE_PDPT : TABLE_TOP;
	if (header[1] & HEADER_NXE)
		s->efer |= EFER_NXE;
}

/* Register seeds: a base that points somewhere interesting plus an offset. */
static u64 register_value(u8 low, u8 high)
{
	static const u64 bases[8] = {
		0, 0x1000, LAPIC_DEFAULT_BASE, IOAPIC_DEFAULT_BASE, TEST_DEVICE_MMIO_BASE,
		GUEST_RAM_SIZE, 0xffffffffffffe000ULL, 0x00007ffffffff000ULL,
	};
	return bases[low & 7] + ((u64)(low >> 3) | (u64)high << 5);
}

static void setup_guest(struct vcpu *v, const u8 *header, const u8 *code)
{
	enum x86_mode mode = (enum x86_mode)(header[0] & HEADER_MODE_MASK);
	struct vcpu_sregs *s = &fake_backend.sregs;
	fake_backend_set_mode(mode);
	setup_paging(header, mode);
	s->seg[SREG_SS].dpl = s->seg[SREG_CS].dpl = (header[0] & HEADER_USER) ? 3 : 0;
	s->seg[SREG_DS].base = s->seg[SREG_ES].base = (u64)(header[1] >> HEADER_DATA_BASE_SHIFT) * PAGE_SIZE;
	fake_backend.interrupt_shadow = header[0] & HEADER_SHADOW;
	v->regs.rip = (header[HEADER_RIP] | header[HEADER_RIP + 1] << 8) % (GUEST_RAM_SIZE - CODE_BYTES);
	v->regs.rflags = RFLAGS_RESERVED_ONE | ((header[0] & HEADER_IF) ? RFLAGS_IF : 0) |
			 ((header[0] & HEADER_DF) ? RFLAGS_DF : 0) |
			 ((header[1] & HEADER_VM86) && mode != X86_MODE_LONG64 ? RFLAGS_VM : 0);
	for (unsigned i = 0; i < GPR_COUNT; i++)
		v->regs.gpr[i] = register_value(header[HEADER_REGISTERS + 2 * i], header[HEADER_REGISTERS + 2 * i + 1]);
	fake_guest_write(v->regs.rip, code, CODE_BYTES); /* CS base 0: linear = RIP */
	v->control_valid = false;
}

/* ---- Exits ---- */

/* Record bytes: 0 reason, 1 length (low nibble) and flags, 2 interrupted
 * vector, 3 guest time passing, 4 guest state changes, 5.. the operands. */
#define RECORD_INTERRUPTED 0x10
#define STATE_TOGGLE_IF 0x01
#define STATE_SHADOW 0x02
#define STATE_TOGGLE_DF 0x04
#define OPERANDS 5

static u64 record_bytes(const u8 *r, unsigned count)
{
	u64 v = 0;
	for (unsigned i = 0; i < count; i++)
		v |= (u64)r[i] << (8 * i);
	return v;
}

static void decode_io(const u8 *r, struct vm_exit *e)
{
	static const u16 ports[] = { 0x20, 0x21, 0x40, 0x43, 0x61, 0x70, 0x71, 0x92, 0x64, 0xcf8, 0xcfc, 0x3f8,
				     0x3fd, 0x600, 0x608, 0xcf9, 0xe0, 0xe4, 0xe8, 0xf4, 0x80, 0x4d0 };
	static const u8 sizes[] = { 1, 2, 4 }, address_sizes[] = { 0, 2, 4, 8 };
	e->io.port = (r[0] & 1) ? ports[r[1] % ARRAY_SIZE(ports)] : (u16)record_bytes(r + 1, 2);
	e->io.size = sizes[r[3] % ARRAY_SIZE(sizes)];
	e->io.in = r[4] & 1;
	e->io.string = r[4] & 2;
	e->io.rep = r[4] & 4;
	e->io.address_size = address_sizes[(r[4] >> 3) & 3];
	e->io.segment = ((r[4] >> 5) & 7) <= SEG_GS ? (enum x86_segment)((r[4] >> 5) & 7) : SEG_NONE;
}

static void decode_mmio(const u8 *r, struct vm_exit *e)
{
	static const u64 pages[] = { LAPIC_DEFAULT_BASE, IOAPIC_DEFAULT_BASE, TEST_DEVICE_MMIO_BASE, 0, 0x8000,
				     GUEST_RAM_SIZE, 0xfed00000ULL, 0x100000000ULL };
	e->mmio.gpa = pages[r[0] & 7] + record_bytes(r + 1, 2) % PAGE_SIZE;
	e->mmio.write = r[3] & 1;
	e->mmio.fetch = (r[3] & 0x0e) == 0x0e; /* rarely */
}

static void decode_msr(const u8 *r, struct vm_exit *e)
{
	static const u32 msrs[] = { 0x10, 0x17, 0x1b, 0x3a, 0x3b, 0x8b, 0xfe, 0x1a0, 0x200, 0x20f, 0x250, 0x258,
				    0x26f, 0x277, 0x2ff, 0x6e0, 0x802, 0x808, 0x80b, 0x830, 0x838, 0x83f, 0xc0000080,
				    0xc0010015 };
	e->msr.index = r[0] < 128 ? msrs[r[0] % ARRAY_SIZE(msrs)] : (u32)record_bytes(r + 1, 4);
}

static void decode_cr(const u8 *r, struct vm_exit *e)
{
	static const u8 crs[] = { 0, 3, 4, 8 }; /* the ones the backends intercept */
	e->cr.cr = crs[r[0] & 3];
	e->cr.type = (r[0] >> 2) & 3;
	e->cr.gpr = (r[1] & 0x10) ? CR_GPR_UNKNOWN : r[1] & (GPR_COUNT - 1);
	e->cr.lmsw_source = (u16)record_bytes(r + 2, 2);
}

/* The exceptions the backends intercept (#DB, #GP, #AC). */
static void decode_exception(const u8 *r, struct vm_exit *e)
{
	static const u8 vectors[] = { VEC_DB, VEC_GP, VEC_AC };
	e->exception.vector = vectors[r[0] % ARRAY_SIZE(vectors)];
	e->exception.has_error_code = e->exception.vector != VEC_DB;
	e->exception.error_code = (u32)record_bytes(r + 1, 4);
}

static void decode_operands(const u8 *r, struct vm_exit *e)
{
	switch (e->reason) {
	case EXIT_IO: decode_io(r, e); break;
	case EXIT_MMIO: decode_mmio(r, e); break;
	case EXIT_MSR_READ:
	case EXIT_MSR_WRITE: decode_msr(r, e); break;
	case EXIT_CR_ACCESS: decode_cr(r, e); break;
	case EXIT_EXCEPTION: decode_exception(r, e); break;
	case EXIT_VIRT_INSTRUCTION: e->virt_instruction.what = "VMXON"; break;
	case EXIT_ENTRY_FAILED:
		e->failure.reason = "fuzzed entry failure";
		e->failure.code = r[0];
		break;
	case EXIT_INVLPG: e->invlpg.address = record_bytes(r, 8); break;
	default: e->hardware_reason = r[0]; break;
	}
}

/* The guest ran for a while (its flags may have changed) and exited. */
static void decode_exit(struct vcpu *v, const u8 *r, struct vm_exit *e)
{
	fake_now += (u64)(r[3] & 0xf) << ((r[3] >> 4) * 2);
	if (r[4] & STATE_TOGGLE_IF)
		v->regs.rflags ^= RFLAGS_IF;
	if (r[4] & STATE_TOGGLE_DF)
		v->regs.rflags ^= RFLAGS_DF;
	fake_backend.interrupt_shadow = r[4] & STATE_SHADOW;
	e->reason = (enum exit_reason)(r[0] % EXIT_REASON_COUNT);
	e->instruction_length = r[1] & 0xf;
	e->interrupted_exception = r[1] & RECORD_INTERRUPTED;
	e->interrupted_vector = r[2] % VEC_FIRST_EXTERNAL;
	decode_operands(r + OPERANDS, e);
}
