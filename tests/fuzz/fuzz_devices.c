/*
 * libFuzzer target for the device models of vmm/dev/ wired as in a VM
 * (vmm/apic.c, vmm/iobus.c): a hostile guest's register accesses,
 * interrupt acknowledges and the passing of time, with the invariants of
 * tests/fuzz/pc_invariants.h checked after every step.
 *
 * Input layout:
 *   byte 0      bits 0-3: the device the accesses go to (DEVICE_*; 12-15:
 *               any device, and any port); bit 4: the UART owns the console
 *               (polls typed bytes); bits 5-7: the RTC's start time
 *   the rest    operations, an opcode byte each (enum op) and its operands
 *
 *   make build/fuzz/fuzz_devices && build/fuzz/fuzz_devices -max_total_time=60
 */
#include "tests/fuzz/fuzz_support.h"
#include "tests/unit/fake_vm.h"
/* fake_vm.h's control-state stand-ins need a backend; the models never
 * reach them, but the one the exit path uses is the one to link. */
#include "tests/unit/fake_backend.h"
#include "tests/fuzz/pc_invariants.h"

enum device {
	DEVICE_UART, DEVICE_PIC, DEVICE_PIT, DEVICE_RTC, DEVICE_PC_MISC, DEVICE_PCI_HOST,
	DEVICE_ACPI_PM, DEVICE_LAPIC, DEVICE_IOAPIC, DEVICE_TEST, DEVICE_DEBUG_EXIT, DEVICE_PC_PORTS,
	DEVICE_COUNT,
};

enum op {
	OP_PORT_READ, OP_PORT_WRITE, OP_MMIO_READ, OP_MMIO_WRITE, OP_MSR_READ, OP_MSR_WRITE,
	OP_CR8_READ, OP_CR8_WRITE, OP_ADVANCE_EXACT, OP_ADVANCE_RUN_LOOP, OP_IRQ_LINE,
	OP_ACKNOWLEDGE, OP_EOI, OP_CONSOLE_INPUT,
	OP_COUNT,
};

#define CONFIG_DEVICE_MASK 0x0f
#define CONFIG_RAW_CONSOLE 0x10
#define CONFIG_RTC_SHIFT 5
#define MAX_OPERATIONS 4096
/* fake_timers.h fires each deadline in turn and allows 10000 firings per
 * advance; the local APIC timer's shortest period is 1 ns. */
#define EXACT_ADVANCE_MAX_NS 4095
#define RUN_LOOP_SHIFT_MAX 40 /* coarse steps up to ~18 minutes */
#define PIC_NONSPECIFIC_EOI 0x20
#define ANY_PORT_LIMIT 0x10000

struct port_window {
	u16 base, length;
};

/* Ports (and MMIO pages) that belong to each device. */
static const struct port_window device_ports[DEVICE_COUNT][4] = {
	[DEVICE_UART] = { { COM1_BASE, 8 } },
	[DEVICE_PIC] = { { I8259_MASTER_BASE, 2 }, { I8259_SLAVE_BASE, 2 }, { I8259_ELCR_BASE, 2 } },
	[DEVICE_PIT] = { { I8254_BASE, 4 }, { I8254_PORT_B, 1 } },
	[DEVICE_RTC] = { { RTC_BASE, 2 } },
	[DEVICE_PC_MISC] = { { PC_PORT_A, 1 }, { I8042_DATA_PORT, 1 }, { I8042_COMMAND_PORT, 1 } },
	[DEVICE_PCI_HOST] = { { PCI_CONFIG_ADDRESS_PORT, 1 }, { PCI_CONFIG_DATA_PORT, 4 } },
	[DEVICE_ACPI_PM] = { { ACPI_GUEST_PM1A_EVT_BLK, 12 }, { ACPI_GUEST_RESET_PORT, 1 } },
	[DEVICE_TEST] = { { TEST_DEVICE_PORT_BASE, 12 } },
	[DEVICE_DEBUG_EXIT] = { { DEBUG_EXIT_PORT, 4 } },
	[DEVICE_PC_PORTS] = { { 0x80, 1 } },
};

static const u64 device_pages[DEVICE_COUNT] = {
	[DEVICE_LAPIC] = LAPIC_DEFAULT_BASE,
	[DEVICE_IOAPIC] = IOAPIC_DEFAULT_BASE,
	[DEVICE_TEST] = TEST_DEVICE_MMIO_BASE,
};
static const u64 all_pages[] = { LAPIC_DEFAULT_BASE, IOAPIC_DEFAULT_BASE, TEST_DEVICE_MMIO_BASE };

/* Lines no device drives (the PIT is GSI 0 and I/O APIC pin 2, the UART 4,
 * the RTC 8): the fuzzer may drive them without fighting a model. */
static const u8 free_lines[] = { 1, 3, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 };

/* RTC start times near calendar edges. */
static const struct rtc_time rtc_starts[8] = {
	{ 2024, 2, 28, 23, 59, 58 }, { 1999, 12, 31, 23, 59, 59 }, { 2000, 2, 29, 11, 59, 59 },
	{ 2100, 2, 28, 23, 59, 59 }, { 1970, 1, 1, 0, 0, 0 },	   { 2038, 1, 19, 3, 14, 7 },
	{ 9999, 12, 31, 23, 59, 59 }, { 2023, 6, 15, 12, 0, 0 },
};

struct input {
	const u8 *data;
	size_t size, at;
};

static u64 take(struct input *in, unsigned bytes)
{
	u64 v = 0;
	for (unsigned i = 0; i < bytes && in->at < in->size; i++)
		v |= (u64)in->data[in->at++] << (8 * i);
	return v;
}

static unsigned take_size(struct input *in, bool allow_eight)
{
	static const unsigned sizes[] = { 1, 2, 4, 8 };
	return sizes[take(in, 1) % (allow_eight ? 4 : 3)];
}

static u16 pick_port(struct input *in, unsigned device)
{
	unsigned choice = (unsigned)take(in, 1);
	if (device >= DEVICE_COUNT) {
		if (choice & 1)
			return (u16)(take(in, 2) % ANY_PORT_LIMIT);
		device = (choice >> 1) % DEVICE_COUNT;
	}
	const struct port_window *w = device_ports[device];
	unsigned windows = 0;
	while (windows < 4 && w[windows].length)
		windows++;
	if (!windows) /* an MMIO-only device: its neighbours' ports */
		return (u16)(choice + COM1_BASE);
	const struct port_window *pick = &w[(choice >> 4) % windows];
	return (u16)(pick->base + (choice & 0xf) % pick->length);
}

static u64 pick_mmio(struct input *in, unsigned device)
{
	u64 page = device < DEVICE_COUNT ? device_pages[device] : 0;
	u64 offset = take(in, 2) % PAGE_SIZE;
	if (!page)
		page = all_pages[offset % ARRAY_SIZE(all_pages)];
	return page + offset;
}

static u32 pick_msr(struct input *in)
{
	u8 choice = (u8)take(in, 1);
	if (choice < 8)
		return choice & 1 ? MSR_IA32_TSC_DEADLINE : MSR_IA32_APIC_BASE;
	return MSR_X2APIC_FIRST + (u8)take(in, 1);
}

static void port_access(struct input *in, unsigned device, bool write)
{
	u16 port = pick_port(in, device);
	unsigned size = take_size(in, false);
	u64 value = take(in, 4);
	if (write)
		io_bus_write(&fake_vm.pio, &fake_vcpu, "fuzz", port, size, value);
	else
		io_bus_read(&fake_vm.pio, &fake_vcpu, "fuzz", port, size, &value);
	FUZZ_CHECK(write || (value & ~size_mask(size)) == 0);
}

static void mmio_access(struct input *in, unsigned device, bool write)
{
	u64 address = pick_mmio(in, device);
	unsigned size = take_size(in, true);
	u64 value = take(in, 8);
	if (write)
		io_bus_write(&fake_vm.mmio, &fake_vcpu, "fuzz", address, size, value);
	else
		io_bus_read(&fake_vm.mmio, &fake_vcpu, "fuzz", address, size, &value);
	FUZZ_CHECK(write || (value & ~size_mask(size)) == 0);
}

static void msr_access(struct input *in, bool write)
{
	u32 msr = pick_msr(in);
	u64 value = take(in, 8);
	int r = write ? vcpu_apic_msr_write(&fake_vcpu, msr, value) : vcpu_apic_msr_read(&fake_vcpu, msr, &value);
	FUZZ_CHECK(r == 0 || r == -1); /* every MSR asked for is an APIC one */
}

static void cr8_access(struct input *in, bool write)
{
	if (!write) {
		FUZZ_CHECK(vcpu_apic_cr8(&fake_vcpu) <= 0xf);
		return;
	}
	u64 value = take(in, 1);
	value = value & 0x80 ? value << 56 : value & 0x1f; /* sometimes reserved bits */
	FUZZ_CHECK((vcpu_apic_set_cr8(&fake_vcpu, value) == 0) == (value <= 0xf));
	if (value <= 0xf)
		FUZZ_CHECK(vcpu_apic_cr8(&fake_vcpu) == value);
}

/* The CPU's INTA cycle: the vector comes from the 8259 (its base + IR) or
 * the local APIC (the highest IRR vector above the PPR, moved to ISR; an
 * auto-EOI one, from the test device, only leaves the IRR). */
static void acknowledge(void)
{
	struct vlapic *l = lapic_of(&fake_vcpu);
	if (!vcpu_interrupt_pending(&fake_vcpu))
		return;
	bool from_pic = i8259_has_interrupt(fake_vm.pic) && pic_reaches(&fake_vcpu);
	int lapic_vector = vlapic_pending_vector(l);
	bool auto_eoi = lapic_vector >= 0 && vec_test(l->auto_eoi, (u8)lapic_vector);
	u8 vector = vcpu_apic_acknowledge(&fake_vcpu);
	if (from_pic) {
		FUZZ_CHECK((vector & ~7) == fake_vm.pic->master.vector_base ||
			   (vector & ~7) == fake_vm.pic->slave.vector_base);
	} else if (lapic_vector >= 0) {
		FUZZ_CHECK(vector == lapic_vector && vector >= FIRST_LEGAL_VECTOR);
		FUZZ_CHECK(vec_test(l->isr, vector) == !auto_eoi && !vec_test(l->auto_eoi, vector));
	}
}

/* What an interrupt handler ends with: EOI to the local APIC and both 8259s. */
static void end_of_interrupt(void)
{
	io_bus_write(&fake_vm.mmio, &fake_vcpu, "fuzz", LAPIC_DEFAULT_BASE + APIC_EOI, 4, 0);
	io_bus_write(&fake_vm.pio, &fake_vcpu, "fuzz", I8259_SLAVE_BASE, 1, PIC_NONSPECIFIC_EOI);
	io_bus_write(&fake_vm.pio, &fake_vcpu, "fuzz", I8259_MASTER_BASE, 1, PIC_NONSPECIFIC_EOI);
}

static void advance_run_loop(struct input *in)
{
	u64 step = take(in, 1);
	fake_now += (step & 0xf) << ((step >> 4) * RUN_LOOP_SHIFT_MAX / 16);
	fire_due_timers();
}

static void console_input(struct input *in)
{
	size_t length = MIN((size_t)take(in, 1) % 32, in->size - in->at);
	fake_console_input = in->data + in->at;
	fake_console_input_length = length;
	in->at += length;
}

static void run_operation(struct input *in, unsigned device)
{
	switch ((enum op)(take(in, 1) % OP_COUNT)) {
	case OP_PORT_READ: port_access(in, device, false); break;
	case OP_PORT_WRITE: port_access(in, device, true); break;
	case OP_MMIO_READ: mmio_access(in, device, false); break;
	case OP_MMIO_WRITE: mmio_access(in, device, true); break;
	case OP_MSR_READ: msr_access(in, false); break;
	case OP_MSR_WRITE: msr_access(in, true); break;
	case OP_CR8_READ: cr8_access(in, false); break;
	case OP_CR8_WRITE: cr8_access(in, true); break;
	case OP_ADVANCE_EXACT: advance(take(in, 2) % (EXACT_ADVANCE_MAX_NS + 1)); break;
	case OP_ADVANCE_RUN_LOOP: advance_run_loop(in); break;
	case OP_IRQ_LINE: {
		u8 choice = (u8)take(in, 1);
		vm_set_irq(&fake_vm, free_lines[(choice >> 1) % ARRAY_SIZE(free_lines)], choice & 1);
		break;
	}
	case OP_ACKNOWLEDGE: acknowledge(); break;
	case OP_EOI: end_of_interrupt(); break;
	case OP_CONSOLE_INPUT: console_input(in); break;
	case OP_COUNT: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size, 0 };
	u8 config = (u8)take(&in, 1);
	struct fake_vm_config cfg = {
		.raw_console = config & CONFIG_RAW_CONSOLE,
		.rtc_start = rtc_starts[config >> CONFIG_RTC_SHIFT],
	};
	unsigned device = config & CONFIG_DEVICE_MASK;
	fake_now = 0;
	fake_backend_reset();
	FUZZ_CHECK(fake_vm_create(&cfg) == 0);
	check_pc();
	for (unsigned n = 0; n < MAX_OPERATIONS && in.at < in.size; n++) {
		run_operation(&in, device);
		fake_vm.state = VM_RUNNING; /* a debug exit or reset ends nothing here */
		fire_due_timers();
		check_pc();
	}
	fake_vm_destroy();
	return 0;
}
