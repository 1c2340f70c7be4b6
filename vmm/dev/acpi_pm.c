/*
 * ACPI PM fixed hardware (ACPI 6.4 section 4.8.3), the part a PIIX4-style
 * chipset puts in system I/O space:
 *
 *   PM1a_EVT_BLK  PM1_STS (16 bits, write 1 to clear) + PM1_EN (16 bits)
 *   PM1a_CNT_BLK  PM1_CNT: SCI_EN always set (no SMI command port, the
 *                 machine is always in ACPI mode); SLP_EN with SLP_TYP 5
 *                 (the DSDT's \_S5) powers the VM off
 *   PM_TMR_BLK    24-bit free-running counter at 3.579545 MHz, from guest
 *                 time; TMR_STS is set whenever its top bit changes
 *   0xcf9         reset control register: RST_CPU (bit 2) resets the VM.
 *                 It sits inside PCI CONFIG_ADDRESS (0xcf8, dword); the bus
 *                 dispatches on the first port, so the PCI host must claim
 *                 0xcf8 alone (length 1) for both to coexist, as on a PIIX.
 *
 * No SCI is raised: enable bits are stored, nothing generates events yet.
 * Every register accepts any access width inside its block, as on hardware.
 */
#include "vmm/dev/acpi_pm.h"
#include "vmm/dev/pc_misc.h"
#include "vmm/acpi_guest.h"
#include "vmm/vm.h"
#include "vmm/vtime.h"

/* PM1 event block: status word then enable word. */
#define PM1_STS_OFFSET 0
#define PM1_EN_OFFSET 2
#define PM1_REG_BYTES 2

/* PM1_STS bits (ACPI 6.4 table 4.16). */
#define PM1_STS_TMR BIT(0)
#define PM1_STS_BM BIT(4)
#define PM1_STS_GBL BIT(5)
#define PM1_STS_PWRBTN BIT(8)
#define PM1_STS_SLPBTN BIT(9)
#define PM1_STS_RTC BIT(10)
#define PM1_STS_PCIEXP_WAKE BIT(14)
#define PM1_STS_WAK BIT(15)

/* PM1_CNT bits (ACPI 6.4 table 4.18). */
#define PM1_CNT_SCI_EN BIT(0)
#define PM1_CNT_BM_RLD BIT(1)
#define PM1_CNT_GBL_RLS BIT(2) /* write-only */
#define PM1_CNT_SLP_TYP_SHIFT 10
#define PM1_CNT_SLP_TYP_MASK (7ULL << PM1_CNT_SLP_TYP_SHIFT)
#define PM1_CNT_SLP_EN BIT(13) /* write-only */
#define PM1_CNT_STORED (PM1_CNT_BM_RLD | PM1_CNT_SLP_TYP_MASK)

/* Reset control register (PIIX4 / ICH RST_CNT at 0xcf9). */
#define RST_CNT_SYS_RST BIT(1)
#define RST_CNT_RST_CPU BIT(2)
#define RST_CNT_FULL_RST BIT(3)
#define RST_CNT_STORED (RST_CNT_SYS_RST | RST_CNT_FULL_RST)
#define RST_CNT_BYTES 1

#define PM_TIMER_MASK ((1ULL << ACPI_PM_TIMER_BITS) - 1)
#define PM_TIMER_TOP_BIT_SHIFT (ACPI_PM_TIMER_BITS - 1)

struct acpi_pm {
	struct vm *vm;
	u16 pm1_sts;
	u16 pm1_en;
	u16 pm1_cnt;      /* BM_RLD and SLP_TYP as last written */
	u8 rst_cnt;
	u64 tmr_top_seen; /* timer ticks >> 23 when TMR_STS was last updated */
};

/* Part of a register of 'reg_bytes' at 'reg_offset' in a block that an access
 * of 'size' bytes at 'offset' covers, as a mask in register bit positions. */
static u64 covered_mask(u64 reg_offset, unsigned reg_bytes, u64 offset, unsigned size)
{
	u64 mask = 0;
	for (unsigned i = 0; i < reg_bytes; i++) {
		u64 byte = reg_offset + i;
		if (byte >= offset && byte < offset + size)
			mask |= 0xffULL << (i * BITS_PER_BYTE);
	}
	return mask;
}

/* The access's value shifted to register bit positions. */
static u64 value_at(u64 value, u64 reg_offset, u64 offset)
{
	return reg_offset >= offset ? value >> ((reg_offset - offset) * BITS_PER_BYTE)
				    : value << ((offset - reg_offset) * BITS_PER_BYTE);
}

/* Whole ticks of the 3.579545 MHz clock since VM creation (no overflow:
 * seconds and the sub-second remainder are scaled separately). */
static u64 timer_ticks(struct acpi_pm *pm)
{
	u64 now = vm_time_ns(pm->vm);
	return now / NS_PER_SECOND * ACPI_PM_TIMER_HZ +
	       now % NS_PER_SECOND * ACPI_PM_TIMER_HZ / NS_PER_SECOND;
}

/* TMR_STS: set when bit 23 of the counter has changed since last seen. */
static void update_timer_status(struct acpi_pm *pm)
{
	u64 top = timer_ticks(pm) >> PM_TIMER_TOP_BIT_SHIFT;
	if (top != pm->tmr_top_seen) {
		pm->tmr_top_seen = top;
		pm->pm1_sts |= PM1_STS_TMR;
	}
}

static void pm1_evt_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct acpi_pm *pm = device;
	update_timer_status(pm);
	u64 block = (u64)pm->pm1_sts << (PM1_STS_OFFSET * BITS_PER_BYTE) |
		    (u64)pm->pm1_en << (PM1_EN_OFFSET * BITS_PER_BYTE);
	*value = ~size_mask(size) | ((block >> (offset * BITS_PER_BYTE)) & size_mask(size));
}

static void pm1_evt_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct acpi_pm *pm = device;
	u64 sts_mask = covered_mask(PM1_STS_OFFSET, PM1_REG_BYTES, offset, size);
	u64 en_mask = covered_mask(PM1_EN_OFFSET, PM1_REG_BYTES, offset, size);
	update_timer_status(pm);
	pm->pm1_sts &= (u16)~(value_at(value, PM1_STS_OFFSET, offset) & sts_mask);
	pm->pm1_en = (u16)((pm->pm1_en & ~en_mask) | (value_at(value, PM1_EN_OFFSET, offset) & en_mask));
}

static void pm1_cnt_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct acpi_pm *pm = device;
	u64 reg = pm->pm1_cnt | PM1_CNT_SCI_EN;
	*value = ~size_mask(size) | ((reg >> (offset * BITS_PER_BYTE)) & size_mask(size));
}

static void enter_sleep_state(struct acpi_pm *pm, unsigned slp_typ)
{
	if (slp_typ == ACPI_GUEST_SLP_TYP_S5)
		vm_power_off(pm->vm);
	/* Other sleep types (S1-S4) are not offered in the DSDT: ignored. */
}

static void pm1_cnt_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct acpi_pm *pm = device;
	u64 mask = covered_mask(0, ACPI_GUEST_PM1_CNT_LEN, offset, size);
	u64 reg = (pm->pm1_cnt & ~mask) | (value_at(value, 0, offset) & mask);
	pm->pm1_cnt = (u16)(reg & PM1_CNT_STORED);
	if (reg & PM1_CNT_SLP_EN)
		enter_sleep_state(pm, (unsigned)((reg & PM1_CNT_SLP_TYP_MASK) >> PM1_CNT_SLP_TYP_SHIFT));
}

static void pm_tmr_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct acpi_pm *pm = device;
	u64 reg = timer_ticks(pm) & PM_TIMER_MASK; /* bits 24-31 read as 0 */
	*value = ~size_mask(size) | ((reg >> (offset * BITS_PER_BYTE)) & size_mask(size));
}

static void rst_cnt_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct acpi_pm *pm = device;
	*value = ~size_mask(size) | pm->rst_cnt;
}

static void rst_cnt_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct acpi_pm *pm = device;
	pm->rst_cnt = (u8)(value & RST_CNT_STORED);
	if (value & RST_CNT_RST_CPU)
		vm_request_reset(pm->vm);
}

struct acpi_pm *acpi_pm_create(struct vm *vm)
{
	struct acpi_pm *pm = vm_device_alloc(vm, sizeof(*pm));
	if (!pm)
		return NULL;
	pm->vm = vm;
	pm->tmr_top_seen = timer_ticks(pm) >> PM_TIMER_TOP_BIT_SHIFT;
	if (io_bus_register(&vm->pio, ACPI_GUEST_PM1A_EVT_BLK, ACPI_GUEST_PM1_EVT_LEN,
			    "ACPI PM1a event", pm, pm1_evt_read, pm1_evt_write) ||
	    io_bus_register(&vm->pio, ACPI_GUEST_PM1A_CNT_BLK, ACPI_GUEST_PM1_CNT_LEN,
			    "ACPI PM1a control", pm, pm1_cnt_read, pm1_cnt_write) ||
	    io_bus_register(&vm->pio, ACPI_GUEST_PM_TMR_BLK, ACPI_GUEST_PM_TMR_LEN,
			    "ACPI PM timer", pm, pm_tmr_read, NULL) ||
	    io_bus_register(&vm->pio, ACPI_GUEST_RESET_PORT, RST_CNT_BYTES, "reset control", pm,
			    rst_cnt_read, rst_cnt_write))
		return NULL; /* freed with the VM */
	return pm;
}
