/* Host ACPI discovery: RSDP, XSDT/RSDT and the MADT (CPUs and I/O APICs). */
#include "drivers/acpi.h"
#include "drivers/acpi_tables.h"
#include "lib/print.h"
#include "lib/string.h"
#include "mm/phys.h"

#define BDA_EBDA_SEGMENT 0x40e
#define EBDA_SCAN_LENGTH 1024
#define BIOS_AREA_START 0xe0000
#define BIOS_AREA_END 0x100000
#define RSDP_ALIGNMENT 16
#define MAX_TABLE_LENGTH (16 * MiB)
#define SIGNATURES_LINE 160

struct acpi_info acpi_info;

static bool rsdp_valid(const struct acpi_rsdp *r)
{
	if (memcmp(r->signature, ACPI_RSDP_SIGNATURE, 8) || acpi_checksum(r, ACPI_RSDP_V1_LENGTH))
		return false;
	return r->revision < 2 || acpi_checksum(r, sizeof(*r)) == 0;
}

static const struct acpi_rsdp *scan_for_rsdp(u64 start, u64 end)
{
	for (u64 a = start; a + sizeof(struct acpi_rsdp) <= end; a += RSDP_ALIGNMENT)
		if (rsdp_valid(phys_to_virt(a)))
			return phys_to_virt(a);
	return NULL;
}

static const struct acpi_rsdp *find_rsdp(const struct boot_info *bi)
{
	if (bi->rsdp_len >= ACPI_RSDP_V1_LENGTH) {
		const struct acpi_rsdp *copy = (const struct acpi_rsdp *)bi->rsdp_copy;
		if (!memcmp(copy->signature, ACPI_RSDP_SIGNATURE, 8))
			return copy;
	}
	u64 ebda = (u64)*(const volatile u16 *)phys_to_virt(BDA_EBDA_SEGMENT) << 4;
	const struct acpi_rsdp *r = NULL;
	if (ebda >= 0x80000 && ebda < BIOS_AREA_START)
		r = scan_for_rsdp(ebda, ebda + EBDA_SCAN_LENGTH);
	return r ? r : scan_for_rsdp(BIOS_AREA_START, BIOS_AREA_END);
}

static const struct acpi_header *table_at(u64 phys)
{
	const struct acpi_header *h = phys_to_virt(phys);
	if (!phys || phys >= 4 * GiB || h->length < sizeof(*h) || h->length > MAX_TABLE_LENGTH)
		return NULL;
	return acpi_checksum(h, h->length) == 0 ? h : NULL;
}

/* A processor entry (local APIC or x2APIC): only those the firmware
 * enabled count. "Online capable" ones (ACPI 6.3+) are absent until
 * hot-added, which Presidio does not support, so they are skipped too. */
static void add_processor(const char *kind, u32 apic_id, u32 flags)
{
	bool enabled = flags & MADT_APIC_ENABLED;
	pr_debug("acpi: MADT %s ID %u flags 0x%x%s", kind, apic_id, flags,
		 enabled ? "" : (flags & MADT_APIC_ONLINE_CAPABLE) ? " (online capable: skipped)"
								     : " (disabled: skipped)");
	if (!enabled)
		acpi_info.cpus_skipped++;
	else if (acpi_info.cpu_count < ACPI_MAX_CPUS)
		acpi_info.apic_ids[acpi_info.cpu_count++] = apic_id;
	else
		acpi_info.cpus_beyond_max++;
}

static void parse_madt(const struct acpi_madt *madt)
{
	acpi_info.local_apic_address = madt->local_apic_address;
	const u8 *p = (const u8 *)(madt + 1), *end = (const u8 *)madt + madt->header.length;
	while (p + sizeof(struct acpi_madt_entry) <= end) {
		const struct acpi_madt_entry *e = (const void *)p;
		if (e->length < sizeof(*e) || p + e->length > end)
			break;
		if (e->type == MADT_LOCAL_APIC && e->length >= sizeof(struct acpi_madt_local_apic)) {
			const struct acpi_madt_local_apic *l = (const void *)e;
			add_processor("local APIC", l->apic_id, l->flags);
		} else if (e->type == MADT_LOCAL_X2APIC &&
			   e->length >= sizeof(struct acpi_madt_local_x2apic)) {
			const struct acpi_madt_local_x2apic *l = (const void *)e;
			add_processor("x2APIC", l->x2apic_id, l->flags);
		} else if (e->type == MADT_IO_APIC && e->length >= sizeof(struct acpi_madt_io_apic)) {
			const struct acpi_madt_io_apic *io = (const void *)e;
			if (!acpi_info.io_apic_count++)
				acpi_info.io_apic_address = io->address;
		}
		p += e->length;
	}
}

static void walk_root(const struct acpi_header *root, unsigned entry_size, char *sigs, size_t len)
{
	unsigned count = (root->length - sizeof(*root)) / entry_size;
	const u8 *entries = (const u8 *)(root + 1);
	size_t used = 0;
	for (unsigned i = 0; i < count; i++) {
		u64 addr = 0;
		memcpy(&addr, entries + i * entry_size, entry_size);
		const struct acpi_header *t = table_at(addr);
		if (!t)
			continue;
		acpi_info.table_count++;
		used += ksnprintf(sigs + used, used < len ? len - used : 0, " %.4s", t->signature);
		if (!memcmp(t->signature, ACPI_SIG_MADT, 4))
			parse_madt((const struct acpi_madt *)t);
	}
}

bool acpi_init(const struct boot_info *bi)
{
	const struct acpi_rsdp *rsdp = find_rsdp(bi);
	if (!rsdp) {
		pr_warn("acpi: no RSDP found; assuming one CPU and no I/O APIC");
		return false;
	}
	acpi_info.rsdp_phys = (const u8 *)rsdp == bi->rsdp_copy ? 0 : (u64)rsdp;
	acpi_info.revision = rsdp->revision;
	memcpy(acpi_info.oem_id, rsdp->oem_id, 6);
	const struct acpi_header *root = NULL;
	bool extended = rsdp->revision >= 2 && rsdp->xsdt_address;
	if (extended)
		root = table_at(rsdp->xsdt_address);
	if (!root) {
		extended = false;
		root = table_at(rsdp->rsdt_address);
	}
	if (!root) {
		pr_warn("acpi: RSDP found but its %s is invalid; ignoring ACPI", extended ? "XSDT" : "RSDT");
		return false;
	}
	char sigs[SIGNATURES_LINE] = "";
	walk_root(root, extended ? 8 : 4, sigs, sizeof(sigs));
	pr_info("acpi: RSDP rev %d (OEM \"%s\") from %s, %s with%s", acpi_info.revision,
		acpi_info.oem_id, acpi_info.rsdp_phys ? "BIOS area" : "Multiboot2 tag",
		extended ? "XSDT" : "RSDT", sigs);
	if (acpi_info.cpus_skipped || acpi_info.cpus_beyond_max)
		pr_info("acpi: %u disabled or online-capable processor entr%s skipped, %u beyond %u",
			acpi_info.cpus_skipped, acpi_info.cpus_skipped == 1 ? "y" : "ies",
			acpi_info.cpus_beyond_max, ACPI_MAX_CPUS);
	pr_info("acpi: %u CPU%s, local APIC at 0x%llx, %u I/O APIC%s (first at 0x%llx)",
		acpi_info.cpu_count, acpi_info.cpu_count == 1 ? "" : "s",
		(unsigned long long)acpi_info.local_apic_address, acpi_info.io_apic_count,
		acpi_info.io_apic_count == 1 ? "" : "s", (unsigned long long)acpi_info.io_apic_address);
	return true;
}
