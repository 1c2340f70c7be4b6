/*
 * The CPUs from the ACPI MADT (ACPI 6.4 sections 5.2.5, 5.2.7,
 * 5.2.8, 5.2.12). The RSDP lies on a 16-byte boundary in the BIOS area;
 * from revision 2 on its XSDT (64-bit pointers) is preferred, else the
 * RSDT. Local APIC (type 0) and local x2APIC (type 9) entries with the
 * Enabled flag are the CPUs.
 */
#include <stdbool.h>
#include <stddef.h>

#include "madt.h"
#include "string.h"

#define BIOS_AREA_START 0xe0000u
#define BIOS_AREA_END 0x100000u
#define RSDP_ALIGN 16
#define RSDP_V1_LENGTH 20
#define RSDP_XSDT_REVISION 2
#define SDT_HEADER_LENGTH 36
#define MADT_ENTRIES_OFFSET 44 /* header, local APIC address, flags */
#define MADT_TYPE_LOCAL_APIC 0
#define MADT_TYPE_LOCAL_X2APIC 9
#define MADT_LOCAL_APIC_LENGTH 8
#define MADT_LOCAL_X2APIC_LENGTH 16
#define MADT_CPU_ENABLED (1u << 0)
/* A table must end below 4 GiB and look sane; guards the walk. */
#define SDT_MAX_LENGTH 0x10000u

struct __attribute__((packed)) rsdp {
	char signature[8];
	uint8_t checksum;
	char oem_id[6];
	uint8_t revision;
	uint32_t rsdt;
	uint32_t length; /* revision 2 and later from here on */
	uint64_t xsdt;
	uint8_t extended_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) sdt_header {
	char signature[4];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
};

struct __attribute__((packed)) madt_local_apic {
	uint8_t type, length, processor_uid, apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) madt_local_x2apic {
	uint8_t type, length;
	uint16_t reserved;
	uint32_t x2apic_id, flags, processor_uid;
};

_Static_assert(sizeof(struct sdt_header) == SDT_HEADER_LENGTH, "ACPI table header is 36 bytes");
_Static_assert(sizeof(struct madt_local_apic) == MADT_LOCAL_APIC_LENGTH, "type 0 entry is 8 bytes");
_Static_assert(sizeof(struct madt_local_x2apic) == MADT_LOCAL_X2APIC_LENGTH, "type 9 entry is 16 bytes");

static uint8_t byte_sum(const void *p, uint32_t length)
{
	const uint8_t *b = p;
	uint8_t sum = 0;
	for (uint32_t i = 0; i < length; i++)
		sum += b[i];
	return sum;
}

static const struct rsdp *find_rsdp(void)
{
	for (uint32_t a = BIOS_AREA_START; a < BIOS_AREA_END; a += RSDP_ALIGN) {
		const struct rsdp *r = (const void *)a;
		if (memcmp(r->signature, "RSD PTR ", sizeof(r->signature)) ||
		    byte_sum(r, RSDP_V1_LENGTH))
			continue;
		if (r->revision >= RSDP_XSDT_REVISION && byte_sum(r, sizeof(*r)))
			continue;
		return r;
	}
	return NULL;
}

static bool table_ok(uint64_t address)
{
	if (!address || address >= (1ull << 32))
		return false;
	const struct sdt_header *h = (const void *)(uint32_t)address;
	return h->length >= SDT_HEADER_LENGTH && h->length <= SDT_MAX_LENGTH &&
	       address + h->length <= (1ull << 32) && !byte_sum(h, h->length);
}

/* The XSDT's or RSDT's entry with the signature, or 0. */
static uint32_t find_table(const struct rsdp *r, const char *signature)
{
	bool wide = r->revision >= RSDP_XSDT_REVISION && table_ok(r->xsdt);
	uint64_t root = wide ? r->xsdt : r->rsdt;
	if (!table_ok(root))
		return 0;
	const struct sdt_header *h = (const void *)(uint32_t)root;
	uint32_t entry_size = wide ? 8 : 4;
	uint32_t entries = (h->length - SDT_HEADER_LENGTH) / entry_size;
	const uint8_t *first = (const uint8_t *)h + SDT_HEADER_LENGTH;
	for (uint32_t i = 0; i < entries; i++) {
		uint64_t address;
		if (wide)
			memcpy(&address, first + i * 8, sizeof(address));
		else {
			uint32_t narrow;
			memcpy(&narrow, first + i * 4, sizeof(narrow));
			address = narrow;
		}
		if (table_ok(address) && !memcmp((const void *)(uint32_t)address, signature, 4))
			return (uint32_t)address;
	}
	return 0;
}

static void add_cpu(struct madt_cpus *out, uint32_t apic_id, uint32_t flags, bool x2apic)
{
	if (!(flags & MADT_CPU_ENABLED)) {
		out->disabled++;
		return;
	}
	if (out->count < MADT_MAX_CPUS)
		out->apic_id[out->count] = apic_id;
	out->count++;
	if (x2apic)
		out->x2apic_entries++;
}

static const char *walk_madt(const struct sdt_header *h, struct madt_cpus *out)
{
	const uint8_t *p = (const uint8_t *)h + MADT_ENTRIES_OFFSET;
	const uint8_t *end = (const uint8_t *)h + h->length;
	memcpy(&out->lapic_address, (const uint8_t *)h + SDT_HEADER_LENGTH, sizeof(out->lapic_address));
	while (p + 2 <= end) {
		uint8_t type = p[0], length = p[1];
		if (length < 2 || p + length > end)
			return "MADT entry with a bad length";
		if (type == MADT_TYPE_LOCAL_APIC && length >= MADT_LOCAL_APIC_LENGTH) {
			struct madt_local_apic e;
			memcpy(&e, p, sizeof(e));
			add_cpu(out, e.apic_id, e.flags, false);
		} else if (type == MADT_TYPE_LOCAL_X2APIC && length >= MADT_LOCAL_X2APIC_LENGTH) {
			struct madt_local_x2apic e;
			memcpy(&e, p, sizeof(e));
			add_cpu(out, e.x2apic_id, e.flags, true);
		}
		p += length;
	}
	return NULL;
}

const char *madt_find_cpus(struct madt_cpus *out)
{
	memset(out, 0, sizeof(*out));
	const struct rsdp *r = find_rsdp();
	if (!r)
		return "no RSDP with a valid checksum in 0xe0000-0xfffff";
	out->rsdp = (uint32_t)r;
	out->rsdp_revision = r->revision;
	out->madt = find_table(r, "APIC");
	if (!out->madt)
		return "no MADT (\"APIC\") with a valid checksum in the RSDT/XSDT";
	const char *error = walk_madt((const void *)out->madt, out);
	if (error)
		return error;
	if (!out->count)
		return "the MADT lists no enabled local APIC";
	return NULL;
}
