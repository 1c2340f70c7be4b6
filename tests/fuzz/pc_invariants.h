/*
 * Invariants of the virtual PC's device models that must hold after every
 * guest access, interrupt line change and timer firing, stated from the
 * hardware documents rather than from the models' code: the 8259A
 * datasheet, the 8254 datasheet, the MC146818 datasheet (the time checked
 * against the host C library's gmtime), the 16550A, the 82093AA, Intel SDM
 * Vol. 3A chapter 11 (local APIC) and ACPI 6.4 4.8.3 (PM timer).
 * Include after tests/unit/fake_vm.h.
 */
#pragma once
#include <time.h>

#define PIC_CASCADE_BIT (1u << CASCADE_IR)
#define PIT_PERIODIC_FULL_COUNT 0x10000u
#define RTC_HOURS_12_MAX 12
#define PM_TIMER_COUNT_MASK 0xffffffu
#define APIC_ESR_DEFINED_BITS (APIC_ESR_SEND_ILLEGAL_VECTOR | APIC_ESR_RECV_ILLEGAL_VECTOR | APIC_ESR_ILLEGAL_REGISTER)
#define APIC_FIRST_LEGAL_VECTORS_MASK 0xffffu /* vectors 0-15 never enter IRR/ISR */
#define IOAPIC_PIN_MASK ((1u << IOAPIC_NUM_PINS) - 1)
#define FIRE_ROUNDS_MAX 3 /* run-loop passes a due timer may need at one instant */

/* The 8259A's rule: the highest-priority unmasked request interrupts if
 * no in-service level outranks it (special mask mode: masked in-service
 * levels do not count; special fully nested: the master's cascade level
 * does not block the slave's further requests). */
static bool pic_should_interrupt(const struct pic_chip *c, bool master)
{
	u8 requests = c->irr & ~c->imr, in_service = c->isr;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (c->special_fully_nested && master)
		in_service &= (u8)~PIC_CASCADE_BIT;
	for (unsigned rank = 0; rank < 8; rank++) {
		unsigned ir = (c->priority_add + rank) & 7;
		if (in_service & (1u << ir))
			return false;
		if (requests & (1u << ir))
			return true;
	}
	return false;
}

static void check_pic_chip(const struct pic_chip *c)
{
	FUZZ_CHECK(c->priority_add < 8);
	FUZZ_CHECK((c->vector_base & 7) == 0);
	FUZZ_CHECK(c->init_step <= INIT_ICW4);
	FUZZ_CHECK((c->elcr & ~c->elcr_mask) == 0);
	/* A level-triggered request is the line's level. */
	FUZZ_CHECK((c->irr & c->elcr) == (c->lines & c->elcr));
}

static void check_pic(const struct i8259 *pic)
{
	check_pic_chip(&pic->master);
	check_pic_chip(&pic->slave);
	/* The slave's INT is the master's IR2 input. */
	FUZZ_CHECK(!!(pic->master.lines & PIC_CASCADE_BIT) == pic_should_interrupt(&pic->slave, false));
	FUZZ_CHECK(pic->output == pic_should_interrupt(&pic->master, true));
}

static void check_pit(struct i8254 *pit)
{
	for (unsigned i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *ch = &pit->channel[i];
		FUZZ_CHECK(ch->count >= 1 && ch->count <= FULL_COUNT);
		FUZZ_CHECK(ch->mode <= 5 && ch->mode_bits <= 7);
		FUZZ_CHECK(ch->access >= ACCESS_LSB && ch->access <= ACCESS_LSB_MSB);
		bool periodic = ch->mode == 2 || ch->mode == 3;
		if (periodic && ch->loaded && ch->count < PIT_PERIODIC_FULL_COUNT) {
			u16 count = current_count(ch, fake_now); /* rate generator / square wave: 1..reload */
			FUZZ_CHECK(count >= 1 && count <= ch->count);
		}
	}
	FUZZ_CHECK((pit->port_b & ~PORT_B_WRITABLE) == 0);
	if (pit->timer.deadline_ns != VTIMER_INACTIVE)
		FUZZ_CHECK(pit->channel[0].running);
}

/* One time register: a valid BCD or binary value in [low, high]. */
static unsigned rtc_field(const struct rtc *r, u8 v, unsigned low, unsigned high)
{
	if (!binary_mode(r))
		FUZZ_CHECK((v & 0xf) <= 9 && (v >> 4) <= 9);
	unsigned value = binary_mode(r) ? v : (v >> 4) * 10u + (v & 0xf);
	FUZZ_CHECK(value >= low && value <= high);
	return value;
}

static unsigned rtc_hour(const struct rtc *r, u8 v)
{
	if (r->cmos[REG_B] & B_24_HOUR)
		return rtc_field(r, v, 0, 23);
	unsigned h = rtc_field(r, v & ~HOUR_PM, 1, RTC_HOURS_12_MAX);
	return h % RTC_HOURS_12_MAX + ((v & HOUR_PM) ? RTC_HOURS_12_MAX : 0);
}

/* What a guest reads from the time registers while the clock runs: valid
 * values, and the same calendar time as the C library gives. */
static void check_rtc_time(const struct rtc *r)
{
	struct rtc copy = *r;
	refresh_time(&copy, fake_now);
	const u8 *c = copy.cmos;
	unsigned second = rtc_field(r, c[REG_SECONDS], 0, 59), minute = rtc_field(r, c[REG_MINUTES], 0, 59);
	unsigned hour = rtc_hour(r, c[REG_HOURS]), weekday = rtc_field(r, c[REG_DAY_OF_WEEK], 1, 7);
	unsigned day = rtc_field(r, c[REG_DAY_OF_MONTH], 1, 31), month = rtc_field(r, c[REG_MONTH], 1, 12);
	unsigned year = rtc_field(r, c[REG_YEAR], 0, 99) + 100 * rtc_field(r, c[REG_CENTURY], 0, 99);
	time_t t = (time_t)wall_seconds(r, fake_now);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year + 1900L < 0)
		return; /* before year 0 the model shows year 0 */
	FUZZ_CHECK(second == (unsigned)tm.tm_sec && minute == (unsigned)tm.tm_min && hour == (unsigned)tm.tm_hour);
	FUZZ_CHECK(day == (unsigned)tm.tm_mday && month == (unsigned)tm.tm_mon + 1);
	FUZZ_CHECK(year == (unsigned)((tm.tm_year + 1900L) % 10000) && weekday == (unsigned)tm.tm_wday + 1);
}

static void check_rtc(const struct rtc *r)
{
	FUZZ_CHECK(r->index < CMOS_SIZE);
	FUZZ_CHECK(r->cmos[REG_D] == D_VRT);
	/* IRQ8 is IRQF, and IRQF is up while an enabled flag is. */
	FUZZ_CHECK(r->irq_level == ((r->cmos[REG_C] & C_IRQF) != 0));
	if (r->cmos[REG_C] & r->cmos[REG_B] & (C_PF | C_AF | C_UF))
		FUZZ_CHECK(r->cmos[REG_C] & C_IRQF);
	if (updating(r))
		check_rtc_time(r);
}

static void check_uart(const struct uart16550 *u)
{
	FUZZ_CHECK(u->rx_count <= RX_FIFO_SIZE && u->rx_head < RX_FIFO_SIZE);
	FUZZ_CHECK((u->ier & ~IER_MASK) == 0 && (u->mcr & ~MCR_MASK) == 0);
	FUZZ_CHECK(u->line.length < CONSOLE_LINE_LENGTH);
	FUZZ_CHECK(u->irq_level == (pending_interrupt(u) != IIR_NO_INTERRUPT && (u->mcr & MCR_OUT2)));
}

static bool i8042_command_takes_data(u8 command)
{
	return (command & ~CMD_RAM_MASK) == CMD_WRITE_RAM ||
	       (command >= CMD_WRITE_OUTPUT_PORT && command <= CMD_WRITE_AUX);
}

static void check_pc_misc(const struct pc_misc *p)
{
	FUZZ_CHECK((p->port_a & (PORT_A_FAST_RESET | PORT_A_A20)) == 0);
	FUZZ_CHECK(p->output_port & OUTPUT_PORT_A20); /* A20 stays on */
	FUZZ_CHECK(p->pending == NO_COMMAND || i8042_command_takes_data(p->pending));
}

static void check_pci_host(const struct pci_host *p)
{
	u16 vendor, device, command;
	memcpy(&vendor, p->bridge + PCI_VENDOR_ID, sizeof(vendor));
	memcpy(&device, p->bridge + PCI_DEVICE_ID, sizeof(device));
	memcpy(&command, p->bridge + PCI_COMMAND, sizeof(command));
	FUZZ_CHECK((p->address & ~CONFIG_ADDRESS_MASK) == 0);
	FUZZ_CHECK(vendor == HOST_BRIDGE_VENDOR && device == HOST_BRIDGE_DEVICE);
	FUZZ_CHECK((command & ~COMMAND_WRITABLE) == 0);
	FUZZ_CHECK(p->bridge[PCI_HEADER_TYPE] == HEADER_TYPE_NORMAL);
}

/* PM_TMR = ticks of a 3.579545 MHz clock since time 0, modulo 2^24. */
static void check_acpi_pm(struct acpi_pm *pm)
{
	u64 value;
	u32 expected = (u32)((unsigned __int128)fake_now * ACPI_PM_TIMER_HZ / NS_PER_SECOND) & PM_TIMER_COUNT_MASK;
	pm_tmr_read(pm, NULL, 0, sizeof(u32), &value);
	FUZZ_CHECK((u32)value == expected);
	FUZZ_CHECK((pm->pm1_cnt & ~PM1_CNT_STORED) == 0 && (pm->rst_cnt & ~RST_CNT_STORED) == 0);
}

static void check_ioapic(const struct ioapic *io)
{
	FUZZ_CHECK(io->ioregsel <= 0xff && (io->id & ~IOAPIC_ID_MASK) == 0);
	FUZZ_CHECK((io->pin_level & ~IOAPIC_PIN_MASK) == 0);
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		u64 rte = io->redir[pin];
		FUZZ_CHECK((rte & ~(IOAPIC_RTE_WRITABLE | IOAPIC_RTE_REMOTE_IRR)) == 0);
		if (rte & IOAPIC_RTE_REMOTE_IRR)
			FUZZ_CHECK(rte & IOAPIC_RTE_TRIGGER_LEVEL); /* remote IRR is for level entries */
	}
}

static int highest_vector(const u32 *reg)
{
	for (int i = 7; i >= 0; i--)
		for (int bit = 31; bit >= 0; bit--)
			if (reg[i] & (1u << bit))
				return i * 32 + bit;
	return -1;
}

/* SDM 11.8.3.1: PPR = TPR if TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4. */
static u32 expected_ppr(const struct vlapic *l)
{
	int isrv = highest_vector(l->isr);
	u32 isr_class = isrv < 0 ? 0 : (u32)isrv & 0xf0;
	return (l->tpr & 0xf0) >= isr_class ? l->tpr : isr_class;
}

static void check_lapic_registers(struct vlapic *l)
{
	FUZZ_CHECK(vlapic_ppr(l) == expected_ppr(l));
	for (unsigned i = 0; i < 8; i++) {
		FUZZ_CHECK(!!(l->irr_words & (1u << i)) == (l->irr[i] != 0));
		FUZZ_CHECK((l->auto_eoi[i] & ~l->irr[i]) == 0); /* only pending vectors skip the ISR */
	}
	FUZZ_CHECK((l->irr[0] & APIC_FIRST_LEGAL_VECTORS_MASK) == 0 && (l->isr[0] & APIC_FIRST_LEGAL_VECTORS_MASK) == 0);
	FUZZ_CHECK(l->tpr <= APIC_TPR_MASK && (l->svr & ~APIC_SPIV_WRITABLE) == 0);
	FUZZ_CHECK((l->esr & ~APIC_ESR_DEFINED_BITS) == 0 && (l->esr_pending & ~APIC_ESR_DEFINED_BITS) == 0);
	FUZZ_CHECK((l->timer_dcr & ~APIC_TDCR_MASK) == 0);
	for (unsigned i = 0; i < APIC_LVT_COUNT; i++)
		if (!vlapic_sw_enabled(l))
			FUZZ_CHECK(l->lvt[i] & APIC_LVT_MASKED); /* SDM 11.4.7.2 */
	FUZZ_CHECK((l->apic_base & APIC_BASE_RESERVED) == 0);
	FUZZ_CHECK((l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) != APIC_BASE_EXTD);
	if (vlapic_mode(l) == VLAPIC_X2APIC)
		FUZZ_CHECK(l->ldr == x2apic_ldr(l->initial_id)); /* read-only in x2APIC mode */
}

static void check_lapic_timer(struct vlapic *l)
{
	if (l->timer_running)
		FUZZ_CHECK(l->timer_initial != 0);
	FUZZ_CHECK(vlapic_timer_current_count(l, fake_now) <= l->timer_initial);
}

/* Whatever could interrupt the vCPU must have told the run loop to look. */
static void check_interrupt_signal(struct vcpu *v)
{
	bool pic = v->vm->pic && i8259_has_interrupt(v->vm->pic) && pic_reaches(v);
	if (pic || vlapic_pending_vector(lapic_of(v)) >= 0)
		FUZZ_CHECK(v->irq_check);
}

/* The device-driven interrupt lines are where their devices put them. */
static void check_lines(struct uart16550 *u, struct rtc *r)
{
	const struct i8259 *pic = fake_vm.pic;
	const struct ioapic *io = fake_vm.ioapic;
	FUZZ_CHECK(!!(pic->master.lines & (1u << ISA_IRQ_COM1)) == u->irq_level);
	FUZZ_CHECK(!!(io->pin_level & (1u << ISA_IRQ_COM1)) == u->irq_level);
	FUZZ_CHECK(!!(pic->slave.lines & (1u << (ISA_IRQ_RTC - 8))) == r->irq_level);
	FUZZ_CHECK(!!(io->pin_level & (1u << ISA_IRQ_RTC)) == r->irq_level);
	/* The PIT pulses its line: it is never left high. */
	FUZZ_CHECK(!(pic->master.lines & (1u << ISA_IRQ_PIT)) && !(io->pin_level & (1u << IOAPIC_PIN_PIT)));
}

static void check_pc(void)
{
	struct uart16550 *uart = fake_vm_device_at(&fake_vm.pio, COM1_BASE);
	struct rtc *rtc = fake_vm_device_at(&fake_vm.pio, RTC_BASE);
	struct test_device *test = fake_vm_device_at(&fake_vm.pio, TEST_DEVICE_PORT_BASE);
	check_pic(fake_vm.pic);
	check_pit(fake_vm_device_at(&fake_vm.pio, I8254_BASE));
	check_rtc(rtc);
	check_uart(uart);
	check_pc_misc(fake_vm_device_at(&fake_vm.pio, PC_PORT_A));
	check_pci_host(fake_vm_device_at(&fake_vm.pio, PCI_CONFIG_ADDRESS_PORT));
	check_acpi_pm(fake_vm_device_at(&fake_vm.pio, ACPI_GUEST_PM1A_EVT_BLK));
	check_ioapic(fake_vm.ioapic);
	check_lapic_registers(lapic_of(&fake_vcpu));
	check_lapic_timer(lapic_of(&fake_vcpu));
	check_interrupt_signal(&fake_vcpu);
	check_lines(uart, rtc);
	FUZZ_CHECK(test->count <= FIFO_SIZE && test->head < FIFO_SIZE);
}

/* The run loop fires due timers before each entry. A timer that keeps
 * re-arming at or before the current time would spin the hypervisor
 * (vcpu_halt() would never sleep): a finding. */
static void fire_due_timers(void)
{
	for (unsigned round = 0; next_deadline() <= fake_now; round++) {
		if (round == FIRE_ROUNDS_MAX)
			fuzz_fail("a timer keeps re-arming at or before now (%llu ns)", (unsigned long long)fake_now);
		fake_fire_due();
	}
}
