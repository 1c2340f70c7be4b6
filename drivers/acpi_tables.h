/* ACPI table layouts (ACPI 6.4 chapter 5), shared by the host-side parser
 * (drivers/acpi.c) and the guest table builder (vmm/acpi_guest.c). */
#pragma once
#include "lib/types.h"

#define ACPI_RSDP_SIGNATURE "RSD PTR "
#define ACPI_RSDP_V1_LENGTH 20
#define ACPI_SIG_MADT "APIC"
#define ACPI_SIG_XSDT "XSDT"
#define ACPI_SIG_RSDT "RSDT"

struct acpi_rsdp {
	char signature[8];
	u8 checksum;      /* over the first 20 bytes */
	char oem_id[6];
	u8 revision;      /* 0 = ACPI 1.0, 2 = ACPI 2.0+ */
	u32 rsdt_address;
	u32 length;       /* ACPI 2.0+ from here */
	u64 xsdt_address;
	u8 extended_checksum;
	u8 reserved[3];
} PACKED;
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP is 36 bytes");

struct acpi_header {
	char signature[4];
	u32 length;
	u8 revision;
	u8 checksum;
	char oem_id[6];
	char oem_table_id[8];
	u32 oem_revision;
	u32 creator_id;
	u32 creator_revision;
} PACKED;
_Static_assert(sizeof(struct acpi_header) == 36, "SDT header is 36 bytes");

/* Multiple APIC Description Table (ACPI 6.4 section 5.2.12). */
struct acpi_madt {
	struct acpi_header header;
	u32 local_apic_address;
	u32 flags;
} PACKED;
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT fixed part is 44 bytes");

/* MADT Flags (Multiple APIC Flags, section 5.2.12). */
#define MADT_PCAT_COMPAT BIT(0) /* a PC-AT dual 8259 is also present */

/* Interrupt Controller Structure Types (section 5.2.12). */
enum acpi_madt_type {
	MADT_LOCAL_APIC = 0,
	MADT_IO_APIC = 1,
	MADT_INTERRUPT_OVERRIDE = 2,
	MADT_LOCAL_APIC_NMI = 4,
	MADT_LOCAL_X2APIC = 9,
};

struct acpi_madt_entry {
	u8 type;
	u8 length;
} PACKED;

struct acpi_madt_local_apic {
	struct acpi_madt_entry entry;
	u8 processor_uid;
	u8 apic_id;
	u32 flags;
} PACKED;
_Static_assert(sizeof(struct acpi_madt_local_apic) == 8, "MADT local APIC is 8 bytes");

struct acpi_madt_io_apic {
	struct acpi_madt_entry entry;
	u8 io_apic_id;
	u8 reserved;
	u32 address;
	u32 gsi_base;
} PACKED;
_Static_assert(sizeof(struct acpi_madt_io_apic) == 12, "MADT I/O APIC is 12 bytes");

/* Interrupt Source Override (section 5.2.12.5). */
struct acpi_madt_interrupt_override {
	struct acpi_madt_entry entry;
	u8 bus;    /* MADT_BUS_ISA */
	u8 source; /* bus-relative interrupt source (the ISA IRQ) */
	u32 gsi;   /* Global System Interrupt it is wired to */
	u16 flags; /* MPS INTI flags */
} PACKED;
_Static_assert(sizeof(struct acpi_madt_interrupt_override) == 10,
	       "MADT interrupt source override is 10 bytes");

#define MADT_BUS_ISA 0

/* MPS INTI Flags (section 5.2.12.5): polarity in bits 1:0, trigger mode in
 * bits 3:2; "conforms" means the bus's default (ISA: active-high, edge). */
#define MPS_INTI_POLARITY_CONFORMS 0x0
#define MPS_INTI_POLARITY_ACTIVE_HIGH 0x1
#define MPS_INTI_POLARITY_ACTIVE_LOW 0x3
#define MPS_INTI_TRIGGER_SHIFT 2
#define MPS_INTI_TRIGGER_CONFORMS (0x0 << MPS_INTI_TRIGGER_SHIFT)
#define MPS_INTI_TRIGGER_EDGE (0x1 << MPS_INTI_TRIGGER_SHIFT)
#define MPS_INTI_TRIGGER_LEVEL (0x3 << MPS_INTI_TRIGGER_SHIFT)

/* Local APIC NMI (section 5.2.12.7). */
struct acpi_madt_local_apic_nmi {
	struct acpi_madt_entry entry;
	u8 processor_uid; /* MADT_NMI_ALL_PROCESSORS: every processor */
	u16 flags;        /* MPS INTI flags */
	u8 lint;          /* the local APIC LINT# input NMI is wired to */
} PACKED;
_Static_assert(sizeof(struct acpi_madt_local_apic_nmi) == 6, "MADT local APIC NMI is 6 bytes");

#define MADT_NMI_ALL_PROCESSORS 0xff
#define MADT_LINT0 0
#define MADT_LINT1 1

struct acpi_madt_local_x2apic {
	struct acpi_madt_entry entry;
	u16 reserved;
	u32 x2apic_id;
	u32 flags;
	u32 processor_uid;
} PACKED;
_Static_assert(sizeof(struct acpi_madt_local_x2apic) == 16, "MADT x2APIC is 16 bytes");

#define MADT_APIC_ENABLED BIT(0)
#define MADT_APIC_ONLINE_CAPABLE BIT(1)

/* Sum of bytes; a valid table sums to 0. */
static inline u8 acpi_checksum(const void *p, size_t len)
{
	const u8 *b = p;
	u8 sum = 0;
	for (size_t i = 0; i < len; i++)
		sum += b[i];
	return sum;
}
