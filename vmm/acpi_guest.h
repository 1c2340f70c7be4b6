/*
 * ACPI tables for guests (ACPI 6.4 chapter 5): RSDP, XSDT, FADT, FACS, a
 * MADT (a local APIC per vCPU, one I/O APIC, the PC's interrupt overrides,
 * the dual 8259 still present) and a DSDT compiled from acpi/dsdt.asl. The
 * fixed hardware the FADT describes is modelled by vmm/dev/acpi_pm.c at the
 * ports below.
 */
#pragma once
#include "lib/types.h"
#include "drivers/acpi_tables.h"

/* Fixed-hardware register blocks (system I/O space). */
#define ACPI_GUEST_PM1A_EVT_BLK 0x600
#define ACPI_GUEST_PM1_EVT_LEN 4 /* PM1_STS (2 bytes) + PM1_EN (2 bytes) */
#define ACPI_GUEST_PM1A_CNT_BLK 0x604
#define ACPI_GUEST_PM1_CNT_LEN 2
#define ACPI_GUEST_PM_TMR_BLK 0x608
#define ACPI_GUEST_PM_TMR_LEN 4
#define ACPI_GUEST_SCI_IRQ 9
#define ACPI_GUEST_RESET_PORT 0xcf9 /* PCI reset control register */
#define ACPI_GUEST_RESET_VALUE 0x06 /* RST_CPU | SYS_RST: hard reset */
#define ACPI_GUEST_SLP_TYP_S5 5     /* must match \_S5 in acpi/dsdt.asl */

#define ACPI_SIG_FADT "FACP"
#define ACPI_SIG_FACS "FACS"
#define ACPI_SIG_DSDT "DSDT"

/* Generic Address Structure (ACPI 6.4 section 5.2.3.2). */
struct acpi_gas {
	u8 space_id;
	u8 bit_width;
	u8 bit_offset;
	u8 access_size;
	u64 address;
} PACKED;
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS is 12 bytes");

#define ACPI_GAS_SPACE_SYSTEM_MEMORY 0
#define ACPI_GAS_SPACE_SYSTEM_IO 1
#define ACPI_GAS_ACCESS_UNDEFINED 0
#define ACPI_GAS_ACCESS_BYTE 1
#define ACPI_GAS_ACCESS_WORD 2
#define ACPI_GAS_ACCESS_DWORD 3
#define ACPI_GAS_ACCESS_QWORD 4

/* Fixed ACPI Description Table (ACPI 6.4 section 5.2.9, table 5.9). */
struct acpi_fadt {
	struct acpi_header header;
	u32 firmware_ctrl;
	u32 dsdt;
	u8 reserved0; /* INT_MODEL in ACPI 1.0 */
	u8 preferred_pm_profile;
	u16 sci_int;
	u32 smi_cmd;
	u8 acpi_enable;
	u8 acpi_disable;
	u8 s4bios_req;
	u8 pstate_cnt;
	u32 pm1a_evt_blk;
	u32 pm1b_evt_blk;
	u32 pm1a_cnt_blk;
	u32 pm1b_cnt_blk;
	u32 pm2_cnt_blk;
	u32 pm_tmr_blk;
	u32 gpe0_blk;
	u32 gpe1_blk;
	u8 pm1_evt_len;
	u8 pm1_cnt_len;
	u8 pm2_cnt_len;
	u8 pm_tmr_len;
	u8 gpe0_blk_len;
	u8 gpe1_blk_len;
	u8 gpe1_base;
	u8 cst_cnt;
	u16 p_lvl2_lat;
	u16 p_lvl3_lat;
	u16 flush_size;
	u16 flush_stride;
	u8 duty_offset;
	u8 duty_width;
	u8 day_alrm;
	u8 mon_alrm;
	u8 century;
	u16 iapc_boot_arch;
	u8 reserved1;
	u32 flags;
	struct acpi_gas reset_reg;
	u8 reset_value;
	u16 arm_boot_arch;
	u8 fadt_minor_version;
	u64 x_firmware_ctrl;
	u64 x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	u64 hypervisor_vendor_identity;
} PACKED;
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (revision 6) is 276 bytes");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sci_int) == 46, "FADT SCI_INT at 46");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm1a_evt_blk) == 56, "FADT PM1a_EVT_BLK at 56");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm_tmr_blk) == 76, "FADT PM_TMR_BLK at 76");
_Static_assert(__builtin_offsetof(struct acpi_fadt, pm1_evt_len) == 88, "FADT PM1_EVT_LEN at 88");
_Static_assert(__builtin_offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT IAPC_BOOT_ARCH at 109");
_Static_assert(__builtin_offsetof(struct acpi_fadt, flags) == 112, "FADT Flags at 112");
_Static_assert(__builtin_offsetof(struct acpi_fadt, reset_reg) == 116, "FADT RESET_REG at 116");
_Static_assert(__builtin_offsetof(struct acpi_fadt, reset_value) == 128, "FADT RESET_VALUE at 128");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_firmware_ctrl) == 132, "FADT X_FIRMWARE_CTRL at 132");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT X_DSDT at 140");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_pm1a_evt_blk) == 148, "FADT X_PM1a_EVT_BLK at 148");
_Static_assert(__builtin_offsetof(struct acpi_fadt, x_pm_tmr_blk) == 208, "FADT X_PM_TMR_BLK at 208");
_Static_assert(__builtin_offsetof(struct acpi_fadt, sleep_control_reg) == 244, "FADT SLEEP_CONTROL_REG at 244");
_Static_assert(__builtin_offsetof(struct acpi_fadt, hypervisor_vendor_identity) == 268,
	       "FADT hypervisor vendor identity at 268");

#define ACPI_FADT_REVISION 6
#define ACPI_MADT_REVISION 5 /* ACPI 6.4 section 5.2.12 */
#define ACPI_FADT_MINOR_VERSION 4 /* ACPI 6.4 */

/* FADT Preferred_PM_Profile (table 5.9). */
#define ACPI_PM_PROFILE_UNSPECIFIED 0

/* FADT IA-PC Boot Architecture Flags (table 5.10). */
#define ACPI_FADT_LEGACY_DEVICES BIT(0)
#define ACPI_FADT_8042 BIT(1)
#define ACPI_FADT_VGA_NOT_PRESENT BIT(2)
#define ACPI_FADT_MSI_NOT_SUPPORTED BIT(3)
#define ACPI_FADT_PCIE_ASPM_CONTROLS BIT(4)
#define ACPI_FADT_CMOS_RTC_NOT_PRESENT BIT(5)

/* FADT Fixed Feature Flags (table 5.11). */
#define ACPI_FADT_WBINVD BIT(0)
#define ACPI_FADT_WBINVD_FLUSH BIT(1)
#define ACPI_FADT_PROC_C1 BIT(2)
#define ACPI_FADT_P_LVL2_UP BIT(3)
#define ACPI_FADT_PWR_BUTTON BIT(4) /* 1: no fixed-feature power button */
#define ACPI_FADT_SLP_BUTTON BIT(5) /* 1: no fixed-feature sleep button */
#define ACPI_FADT_FIX_RTC BIT(6)    /* 1: RTC wake status not in fixed space */
#define ACPI_FADT_RTC_S4 BIT(7)
#define ACPI_FADT_TMR_VAL_EXT BIT(8) /* 1: 32-bit PM timer; 0: 24-bit */
#define ACPI_FADT_DCK_CAP BIT(9)
#define ACPI_FADT_RESET_REG_SUP BIT(10)
#define ACPI_FADT_SEALED_CASE BIT(11)
#define ACPI_FADT_HEADLESS BIT(12)
#define ACPI_FADT_CPU_SW_SLP BIT(13)
#define ACPI_FADT_HW_REDUCED_ACPI BIT(20)

/* Firmware ACPI Control Structure (ACPI 6.4 section 5.2.10, table 5.14). */
struct acpi_facs {
	char signature[4];
	u32 length;
	u32 hardware_signature;
	u32 firmware_waking_vector;
	u32 global_lock;
	u32 flags;
	u64 x_firmware_waking_vector;
	u8 version;
	u8 reserved0[3];
	u32 ospm_flags;
	u8 reserved1[24];
} PACKED;
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS is 64 bytes");
#define ACPI_FACS_VERSION 2
#define ACPI_FACS_ALIGN 64

#define ACPI_RSDP_REVISION 2 /* ACPI 2.0+: XSDT and extended checksum */
#define ACPI_RSDP_ALIGN 16
#define ACPI_XSDT_REVISION 1
#define ACPI_TABLE_ALIGN 8

/* xAPIC IDs are 8 bits and 0xff is the broadcast ID (and, in the MADT, the
 * "all processors" UID), so at most 255 CPUs have a Processor Local APIC
 * structure. */
#define ACPI_GUEST_MAX_CPUS 255
#define ACPI_GUEST_APIC_ALIGN 0x1000 /* an APIC's MMIO page */

/* The machine the MADT describes. */
struct acpi_guest_config {
	unsigned cpu_count;  /* 1..ACPI_GUEST_MAX_CPUS; CPU i has APIC ID and UID i */
	u64 local_apic_gpa;  /* 4 KiB aligned, below 4 GiB */
	u64 io_apic_gpa;     /* 4 KiB aligned, below 4 GiB; GSIs from 0 */
	u8 io_apic_id;
};

/*
 * Writes RSDP, XSDT, FADT, FACS, MADT and DSDT into 'area', which the guest
 * sees at guest-physical 'area_gpa' (below 4 GiB: the FADT has 32-bit
 * pointers); the MADT describes 'cfg'. Bytes of the area not used by a table
 * are zeroed. On success returns 0 and the RSDP's guest-physical address
 * (16-byte aligned) in *rsdp_gpa; on failure (including a 'cfg' the MADT
 * cannot describe) returns -1 and a message in err.
 */
int acpi_guest_build(u8 *area, u64 area_gpa, size_t area_size, const struct acpi_guest_config *cfg,
		     u64 *rsdp_gpa, char *err, size_t err_len);
