/*
 * Guest ACPI tables (ACPI 6.4 chapter 5), built into one guest-visible area
 * (the BIOS area at 0xe0000, where Linux also scans for the RSDP):
 *
 *   FACS (64-byte aligned) | RSDP (16-byte aligned) | XSDT -> FADT, MADT |
 *   FADT -> FACS, DSDT | MADT | DSDT
 *
 * The FADT describes the fixed hardware of vmm/dev/acpi_pm.c: PM1a event and
 * control blocks, a 24-bit PM timer, SCI on IRQ 9, no SMI command port (the
 * machine is always in ACPI mode) and a reset register at port 0xcf9. The
 * MADT describes the interrupt controllers as QEMU's PC machine and PC
 * firmware do: a local APIC per CPU, one I/O APIC with GSIs from 0, the PIT
 * moved to GSI 2, the SCI level-triggered and active-high, NMI on LINT1 of
 * every CPU, and the dual 8259 still present. The DSDT is AML compiled at
 * build time from acpi/dsdt.asl.
 */
#include "vmm/acpi_guest.h"
#include "vmm/apic.h"
#include "vmm/irq.h"
#include "lib/print.h"
#include "lib/string.h"
#include "build/acpi/dsdt_aml.h"

#define OEM_ID "PRSDIO"        /* 6 characters */
#define OEM_TABLE_ID "PRESIDIO" /* 8 characters */
#define OEM_REVISION 1
#define CREATOR_ID "PRSD" /* 4 characters */
#define CREATOR_REVISION 1
#define XSDT_ENTRIES 2 /* the FADT and the MADT */
#define GPA_32BIT_LIMIT (1ULL << 32)

_Static_assert(sizeof(OEM_ID) - 1 == sizeof(((struct acpi_header *)0)->oem_id), "OEM ID size");
_Static_assert(sizeof(OEM_TABLE_ID) - 1 == sizeof(((struct acpi_header *)0)->oem_table_id),
	       "OEM table ID size");
_Static_assert(sizeof(CREATOR_ID) - 1 == sizeof(u32), "creator ID size");

/* FADT P_LVL2_LAT / P_LVL3_LAT values that mean "C2 / C3 not supported". */
#define C2_NOT_SUPPORTED_LATENCY 101
#define C3_NOT_SUPPORTED_LATENCY 1001

/* ISA interrupt routing to the I/O APIC, as on PC chipsets: the I/O APIC's
 * inputs are GSIs from 0 and ISA IRQ n is GSI n, except the PIT (IRQ 0),
 * which is wired to pin 2 (pin 0 carries the 8259's INTR). */
#define IO_APIC_GSI_BASE 0
#define GSI_PIT (IO_APIC_GSI_BASE + IOAPIC_PIN_PIT)

/* Interrupt Source Overrides (ACPI 6.4 section 5.2.12.5) for the ISA bus. */
static const struct {
	u8 isa_irq;
	u32 gsi;
	u16 flags;
} isa_overrides[] = {
	/* The PIT: ISA defaults (edge, active-high), moved to GSI 2. */
	{ ISA_IRQ_PIT, GSI_PIT, MPS_INTI_POLARITY_CONFORMS | MPS_INTI_TRIGGER_CONFORMS },
	/* The SCI: level-triggered, and active-high as on QEMU's PC machine
	 * (the line reaches the I/O APIC uninverted), overriding the shareable
	 * level active-low default that section 5.2.9 (SCI_INT) gives OSPM. */
	{ ACPI_GUEST_SCI_IRQ, ACPI_GUEST_SCI_IRQ,
	  MPS_INTI_POLARITY_ACTIVE_HIGH | MPS_INTI_TRIGGER_LEVEL },
};

/* Hands out aligned pieces of the area, in order. */
struct layout {
	size_t used;
};

/* Offsets of the tables in the area. */
struct table_offsets {
	size_t facs, rsdp, xsdt, fadt, madt, dsdt;
};

/* Returns the offset of 'size' bytes aligned to 'align' (a power of two). */
static size_t layout_take(struct layout *l, size_t size, size_t align)
{
	size_t offset = ALIGN_UP(l->used, align);
	l->used = offset + size;
	return offset;
}

static u32 le_fourcc(const char *s)
{
	return (u32)(u8)s[0] | (u32)(u8)s[1] << 8 | (u32)(u8)s[2] << 16 | (u32)(u8)s[3] << 24;
}

static void fill_header(struct acpi_header *h, const char *signature, u32 length, u8 revision)
{
	memcpy(h->signature, signature, sizeof(h->signature));
	h->length = length;
	h->revision = revision;
	h->checksum = 0;
	memcpy(h->oem_id, OEM_ID, sizeof(h->oem_id));
	memcpy(h->oem_table_id, OEM_TABLE_ID, sizeof(h->oem_table_id));
	h->oem_revision = OEM_REVISION;
	h->creator_id = le_fourcc(CREATOR_ID);
	h->creator_revision = CREATOR_REVISION;
}

/* Sets the checksum of a complete table (header.length bytes). */
static void finish_table(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = (u8)-acpi_checksum(h, h->length);
}

static struct acpi_gas io_gas(u16 port, u8 length_bytes, u8 access_size)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SPACE_SYSTEM_IO,
		.bit_width = (u8)(length_bytes * BITS_PER_BYTE),
		.bit_offset = 0,
		.access_size = access_size,
		.address = port,
	};
}

static void build_facs(struct acpi_facs *facs)
{
	memcpy(facs->signature, ACPI_SIG_FACS, sizeof(facs->signature));
	facs->length = sizeof(*facs);
	facs->version = ACPI_FACS_VERSION;
}

static void fadt_fixed_hardware(struct acpi_fadt *f)
{
	f->sci_int = ACPI_GUEST_SCI_IRQ;
	f->smi_cmd = 0; /* no SMI command port: always in ACPI mode (SCI_EN set) */
	f->pm1a_evt_blk = ACPI_GUEST_PM1A_EVT_BLK;
	f->pm1a_cnt_blk = ACPI_GUEST_PM1A_CNT_BLK;
	f->pm_tmr_blk = ACPI_GUEST_PM_TMR_BLK;
	f->pm1_evt_len = ACPI_GUEST_PM1_EVT_LEN;
	f->pm1_cnt_len = ACPI_GUEST_PM1_CNT_LEN;
	f->pm_tmr_len = ACPI_GUEST_PM_TMR_LEN;
	f->x_pm1a_evt_blk = io_gas(ACPI_GUEST_PM1A_EVT_BLK, ACPI_GUEST_PM1_EVT_LEN,
				   ACPI_GAS_ACCESS_WORD);
	f->x_pm1a_cnt_blk = io_gas(ACPI_GUEST_PM1A_CNT_BLK, ACPI_GUEST_PM1_CNT_LEN,
				   ACPI_GAS_ACCESS_WORD);
	f->x_pm_tmr_blk = io_gas(ACPI_GUEST_PM_TMR_BLK, ACPI_GUEST_PM_TMR_LEN,
				 ACPI_GAS_ACCESS_DWORD);
	/* No C2/C3: latencies above 100 / 1000 us mean "not supported". */
	f->p_lvl2_lat = C2_NOT_SUPPORTED_LATENCY;
	f->p_lvl3_lat = C3_NOT_SUPPORTED_LATENCY;
	f->century = 0; /* the RTC model has no century register advertised */
}

static void fadt_reset_register(struct acpi_fadt *f)
{
	f->reset_reg = io_gas(ACPI_GUEST_RESET_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f->reset_value = ACPI_GUEST_RESET_VALUE;
}

static void build_fadt(struct acpi_fadt *f, u64 facs_gpa, u64 dsdt_gpa)
{
	fill_header(&f->header, ACPI_SIG_FADT, sizeof(*f), ACPI_FADT_REVISION);
	f->fadt_minor_version = ACPI_FADT_MINOR_VERSION;
	f->firmware_ctrl = (u32)facs_gpa;
	f->x_firmware_ctrl = facs_gpa;
	f->dsdt = (u32)dsdt_gpa;
	f->x_dsdt = dsdt_gpa;
	f->preferred_pm_profile = ACPI_PM_PROFILE_UNSPECIFIED;
	fadt_fixed_hardware(f);
	fadt_reset_register(f);
	/* ISA devices (UART, PIT, RTC) and an i8042; no VGA, no MSI yet. */
	f->iapc_boot_arch = (u16)(ACPI_FADT_LEGACY_DEVICES | ACPI_FADT_8042 |
				  ACPI_FADT_VGA_NOT_PRESENT | ACPI_FADT_MSI_NOT_SUPPORTED);
	/* 24-bit timer (TMR_VAL_EXT clear), no fixed power/sleep buttons, full
	 * (not hardware-reduced) ACPI. */
	f->flags = (u32)(ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 | ACPI_FADT_PWR_BUTTON |
			 ACPI_FADT_SLP_BUTTON | ACPI_FADT_FIX_RTC | ACPI_FADT_RESET_REG_SUP);
	finish_table(&f->header);
}

/* The MADT's length for 'cpu_count' CPUs: the fixed part, then the
 * interrupt controller structures build_madt() writes. */
static size_t madt_length(unsigned cpu_count)
{
	return sizeof(struct acpi_madt) + cpu_count * sizeof(struct acpi_madt_local_apic) +
	       sizeof(struct acpi_madt_io_apic) +
	       ARRAY_SIZE(isa_overrides) * sizeof(struct acpi_madt_interrupt_override) +
	       sizeof(struct acpi_madt_local_apic_nmi);
}

static struct acpi_madt_entry madt_entry(u8 type, size_t length)
{
	return (struct acpi_madt_entry){ .type = type, .length = (u8)length };
}

/* Processor Local APIC structures (section 5.2.12.2), one per CPU, the boot
 * processor (CPU 0) first (section 5.2.12.1); ACPI processor UID = APIC ID
 * = CPU index. Returns the byte after them. */
static u8 *madt_local_apics(u8 *p, unsigned cpu_count)
{
	for (unsigned i = 0; i < cpu_count; i++, p += sizeof(struct acpi_madt_local_apic)) {
		struct acpi_madt_local_apic *l = (void *)p;
		l->entry = madt_entry(MADT_LOCAL_APIC, sizeof(*l));
		l->processor_uid = (u8)i;
		l->apic_id = (u8)i;
		l->flags = MADT_APIC_ENABLED;
	}
	return p;
}

/* I/O APIC structure (section 5.2.12.3). */
static u8 *madt_io_apic(u8 *p, const struct acpi_guest_config *cfg)
{
	struct acpi_madt_io_apic *io = (void *)p;
	io->entry = madt_entry(MADT_IO_APIC, sizeof(*io));
	io->io_apic_id = cfg->io_apic_id;
	io->address = (u32)cfg->io_apic_gpa;
	io->gsi_base = IO_APIC_GSI_BASE;
	return p + sizeof(*io);
}

/* Interrupt Source Override structures (section 5.2.12.5). */
static u8 *madt_isa_overrides(u8 *p)
{
	for (size_t i = 0; i < ARRAY_SIZE(isa_overrides);
	     i++, p += sizeof(struct acpi_madt_interrupt_override)) {
		struct acpi_madt_interrupt_override *o = (void *)p;
		o->entry = madt_entry(MADT_INTERRUPT_OVERRIDE, sizeof(*o));
		o->bus = MADT_BUS_ISA;
		o->source = isa_overrides[i].isa_irq;
		o->gsi = isa_overrides[i].gsi;
		o->flags = isa_overrides[i].flags;
	}
	return p;
}

/* Local APIC NMI structure (section 5.2.12.7): NMI on LINT1 of every
 * processor, with the bus's default polarity and trigger mode. */
static u8 *madt_local_apic_nmi(u8 *p)
{
	struct acpi_madt_local_apic_nmi *n = (void *)p;
	n->entry = madt_entry(MADT_LOCAL_APIC_NMI, sizeof(*n));
	n->processor_uid = MADT_NMI_ALL_PROCESSORS;
	n->flags = MPS_INTI_POLARITY_CONFORMS | MPS_INTI_TRIGGER_CONFORMS;
	n->lint = MADT_LINT1;
	return p + sizeof(*n);
}

/* Multiple APIC Description Table (section 5.2.12); the dual 8259 stays
 * (PCAT_COMPAT), the guest masks it when it switches to the APICs. */
static void build_madt(u8 *table, const struct acpi_guest_config *cfg)
{
	struct acpi_madt *m = (struct acpi_madt *)table;
	fill_header(&m->header, ACPI_SIG_MADT, (u32)madt_length(cfg->cpu_count),
		    ACPI_MADT_REVISION);
	m->local_apic_address = (u32)cfg->local_apic_gpa;
	m->flags = MADT_PCAT_COMPAT;
	u8 *p = table + sizeof(*m);
	p = madt_local_apics(p, cfg->cpu_count);
	p = madt_io_apic(p, cfg);
	p = madt_isa_overrides(p);
	p = madt_local_apic_nmi(p);
	ASSERT(p == table + m->header.length);
	finish_table(&m->header);
}

static void build_xsdt(u8 *table, const u64 *entries, size_t count)
{
	struct acpi_header *h = (struct acpi_header *)table;
	u32 length = (u32)(sizeof(*h) + count * sizeof(u64));
	fill_header(h, ACPI_SIG_XSDT, length, ACPI_XSDT_REVISION);
	memcpy(table + sizeof(*h), entries, count * sizeof(u64));
	finish_table(h);
}

static void build_rsdp(struct acpi_rsdp *r, u64 xsdt_gpa)
{
	memcpy(r->signature, ACPI_RSDP_SIGNATURE, sizeof(r->signature));
	memcpy(r->oem_id, OEM_ID, sizeof(r->oem_id));
	r->revision = ACPI_RSDP_REVISION;
	r->rsdt_address = 0; /* XSDT only */
	r->length = sizeof(*r);
	r->xsdt_address = xsdt_gpa;
	r->checksum = 0;
	r->extended_checksum = 0;
	r->checksum = (u8)-acpi_checksum(r, ACPI_RSDP_V1_LENGTH);
	r->extended_checksum = (u8)-acpi_checksum(r, sizeof(*r));
}

/* Places every table; returns the bytes the area needs. */
static size_t plan_layout(struct table_offsets *o, const struct acpi_guest_config *cfg)
{
	struct layout l = { .used = 0 };
	o->facs = layout_take(&l, sizeof(struct acpi_facs), ACPI_FACS_ALIGN);
	o->rsdp = layout_take(&l, sizeof(struct acpi_rsdp), ACPI_RSDP_ALIGN);
	o->xsdt = layout_take(&l, sizeof(struct acpi_header) + XSDT_ENTRIES * sizeof(u64),
			      ACPI_TABLE_ALIGN);
	o->fadt = layout_take(&l, sizeof(struct acpi_fadt), ACPI_TABLE_ALIGN);
	o->madt = layout_take(&l, madt_length(cfg->cpu_count), ACPI_TABLE_ALIGN);
	o->dsdt = layout_take(&l, sizeof(dsdt_aml), ACPI_TABLE_ALIGN);
	return l.used;
}

/* The DSDT is copied as compiled; its checksum is checked, not rewritten. */
static int check_dsdt(char *err, size_t err_len)
{
	const struct acpi_header *h = (const void *)dsdt_aml;
	if (sizeof(dsdt_aml) < sizeof(*h) || memcmp(h->signature, ACPI_SIG_DSDT, 4) ||
	    h->length != sizeof(dsdt_aml) || acpi_checksum(dsdt_aml, sizeof(dsdt_aml))) {
		ksnprintf(err, err_len, "the built-in DSDT is malformed (rebuild acpi/dsdt.asl)");
		return -1;
	}
	return 0;
}

/* An APIC's registers are a whole page that the MADT's 32-bit address
 * fields (section 5.2.12) can reach. */
static int check_apic_gpa(const char *what, u64 gpa, char *err, size_t err_len)
{
	if (IS_ALIGNED(gpa, ACPI_GUEST_APIC_ALIGN) && gpa < GPA_32BIT_LIMIT)
		return 0;
	ksnprintf(err, err_len, "the %s address 0x%llx must be 4 KiB aligned and below 4 GiB", what,
		  (unsigned long long)gpa);
	return -1;
}

/* Refuses a machine the MADT cannot describe. */
static int check_config(const struct acpi_guest_config *cfg, char *err, size_t err_len)
{
	if (cfg->cpu_count == 0 || cfg->cpu_count > ACPI_GUEST_MAX_CPUS) {
		ksnprintf(err, err_len, "the MADT can describe 1 to %u CPUs, not %u",
			  ACPI_GUEST_MAX_CPUS, cfg->cpu_count);
		return -1;
	}
	if (check_apic_gpa("local APIC", cfg->local_apic_gpa, err, err_len) ||
	    check_apic_gpa("I/O APIC", cfg->io_apic_gpa, err, err_len))
		return -1;
	return 0;
}

int acpi_guest_build(u8 *area, u64 area_gpa, size_t area_size, const struct acpi_guest_config *cfg,
		     u64 *rsdp_gpa, char *err, size_t err_len)
{
	struct table_offsets o;

	if (check_dsdt(err, err_len) || check_config(cfg, err, err_len))
		return -1;
	if (!IS_ALIGNED(area_gpa, ACPI_FACS_ALIGN) || area_gpa >= GPA_32BIT_LIMIT ||
	    area_size > GPA_32BIT_LIMIT - area_gpa) {
		ksnprintf(err, err_len,
			  "ACPI table area at 0x%llx (+0x%zx) must be 64-byte aligned and below 4 GiB",
			  (unsigned long long)area_gpa, area_size);
		return -1;
	}
	size_t needed = plan_layout(&o, cfg);
	if (needed > area_size) {
		ksnprintf(err, err_len, "ACPI tables need %zu bytes, the area has %zu", needed,
			  area_size);
		return -1;
	}

	memset(area, 0, area_size);
	build_facs((struct acpi_facs *)(area + o.facs));
	memcpy(area + o.dsdt, dsdt_aml, sizeof(dsdt_aml));
	build_fadt((struct acpi_fadt *)(area + o.fadt), area_gpa + o.facs, area_gpa + o.dsdt);
	build_madt(area + o.madt, cfg);
	u64 xsdt_entries[XSDT_ENTRIES] = { area_gpa + o.fadt, area_gpa + o.madt };
	build_xsdt(area + o.xsdt, xsdt_entries, XSDT_ENTRIES);
	build_rsdp((struct acpi_rsdp *)(area + o.rsdp), area_gpa + o.xsdt);
	*rsdp_gpa = area_gpa + o.rsdp;
	return 0;
}
