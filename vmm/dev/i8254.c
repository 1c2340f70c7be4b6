/*
 * Intel 8254 PIT. Counters are not ticked: the count and OUT are derived
 * from the guest clock and the time the count was loaded, and channel 0
 * arms one vtimer for its next OUT rising edge, pulsing GSI 0 there.
 * Approximations: counting starts on the write that completes the count
 * (no extra load clock); a new count in modes 2/3 applies at once rather
 * than at the end of the period; mode 3 with an odd count has the even
 * count's timing; BCD counting is not modelled (the count is binary, the
 * BCD bit only reads back in the status); a late timer gives one pulse
 * however many edges it missed, and in modes 2 and 3 pulses come at most
 * once per VTIMER_MIN_PERIOD_NS (the count still runs at the real rate).
 */
#include "vmm/dev/i8254.h"
#include "vmm/irq.h"
#include "vmm/vm.h"
#include "vmm/vtime.h"
#include "lib/print.h"
#include "mm/heap.h"

#define PIT_PORTS 4
#define PIT_CHANNELS 3
#define PORT_CONTROL 3
#define PIT_IRQ ISA_IRQ_PIT
#define GATED_CHANNEL 2 /* gate from port 0x61, OUT readable there */

/* Control word: SC1 SC0 RW1 RW0 M2 M1 M0 BCD. */
#define CW_SELECT_SHIFT 6
#define CW_SELECT_READ_BACK 3
#define CW_ACCESS_SHIFT 4
#define CW_MODE_SHIFT 1
#define CW_BCD 0x01
#define ACCESS_LATCH 0
#define ACCESS_LSB 1
#define ACCESS_MSB 2
#define ACCESS_LSB_MSB 3
/* Read-back command: 1 1 /COUNT /STATUS CNT2 CNT1 CNT0 0. */
#define RB_NO_COUNT 0x20
#define RB_NO_STATUS 0x10
#define RB_CHANNEL0 0x02
/* Status byte: OUTPUT NULL-COUNT RW1 RW0 M2 M1 M0 BCD. */
#define STATUS_OUTPUT 0x80
#define STATUS_NULL_COUNT 0x40

/* Port 0x61 (PC/AT system control port B). */
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_WRITABLE 0x0f  /* gate, speaker, parity/IOCHK check enables */
#define PORT_B_REFRESH 0x10   /* toggles on every read */
#define PORT_B_OUT2 0x20

#define FULL_COUNT 0x10000u   /* a written count of 0 */

struct pit_channel {
	unsigned index;
	u8 mode;            /* 0-5 (6 and 7 fold onto 2 and 3) */
	u8 mode_bits;       /* as written, for the status byte */
	u8 access;          /* ACCESS_LSB/MSB/LSB_MSB */
	bool bcd;
	u32 count;          /* 1..0x10000 */
	bool loaded;        /* a count was written since the control word */
	bool triggered;     /* modes 1 and 5: a gate edge started the count */
	bool gate;
	bool running;       /* decrementing now */
	u64 start_ns;       /* counting (re)started at */
	u64 ticks_before;   /* ticks counted before a gate pause */
	bool null_count;
	bool write_msb_next;
	u8 write_lsb;
	bool read_msb_next;
	bool count_latched, latch_msb_next;
	u16 latched_count;
	bool status_latched;
	u8 latched_status;
};

struct i8254 {
	struct vm *vm;
	struct pit_channel channel[PIT_CHANNELS];
	u8 port_b;
	bool refresh;
	struct vtimer timer;   /* channel 0's next OUT rising edge */
	u64 pending_edge;      /* in channel 0 ticks */
	bool bcd_reported;
};

static u64 ns_to_ticks(u64 ns)
{
	return muldiv(ns, I8254_FREQUENCY_HZ, NS_PER_SECOND);
}

/* Rounded up, so that ns_to_ticks(ticks_to_ns(t)) >= t. */
static u64 ticks_to_ns(u64 ticks)
{
	return muldiv_round_up(ticks, NS_PER_SECOND, I8254_FREQUENCY_HZ);
}

static u64 elapsed_ticks(const struct pit_channel *ch, u64 now)
{
	u64 ticks = ch->ticks_before;
	if (ch->running && now > ch->start_ns)
		ticks += ns_to_ticks(now - ch->start_ns);
	return ticks;
}

static bool gate_triggered_mode(const struct pit_channel *ch)
{
	return ch->mode == 1 || ch->mode == 5;
}

static u16 current_count(const struct pit_channel *ch, u64 now)
{
	if (!ch->loaded || (gate_triggered_mode(ch) && !ch->triggered))
		return (u16)ch->count;
	u64 d = elapsed_ticks(ch, now);
	switch (ch->mode) {
	case 2: return (u16)(ch->count - d % ch->count);
	case 3: return (u16)(ch->count - (2 * d) % ch->count);
	default: return (u16)(ch->count - d);
	}
}

static bool output(const struct pit_channel *ch, u64 now)
{
	if (!ch->loaded)
		return ch->mode != 0;
	if (gate_triggered_mode(ch) && !ch->triggered)
		return true;
	u64 d = elapsed_ticks(ch, now);
	switch (ch->mode) {
	case 0:
	case 1: return d >= ch->count;
	case 2: return !ch->gate || d % ch->count != ch->count - 1;
	case 3: return !ch->gate || d % ch->count < (ch->count + 1) / 2;
	default: return d != ch->count; /* modes 4, 5: one clock low at terminal count */
	}
}

/* First OUT rising edge after d ticks, if counting will produce one. */
static bool next_rising_edge(const struct pit_channel *ch, u64 d, u64 *edge)
{
	if (!ch->running || (gate_triggered_mode(ch) && !ch->triggered))
		return false;
	switch (ch->mode) {
	case 0:
	case 1: *edge = ch->count; return d < ch->count;
	case 2:
	case 3: *edge = (d / ch->count + 1) * ch->count; return true;
	default: *edge = ch->count + 1; return d <= ch->count;
	}
}

static u64 edge_deadline(const struct pit_channel *ch, u64 edge)
{
	return ch->start_ns + ticks_to_ns(edge - ch->ticks_before);
}

static void rearm_channel0(struct i8254 *pit, u64 now)
{
	const struct pit_channel *ch = &pit->channel[0];
	u64 edge;
	vtimer_cancel(pit->vm, &pit->timer);
	if (!next_rising_edge(ch, elapsed_ticks(ch, now), &edge))
		return;
	bool periodic = ch->mode == 2 || ch->mode == 3;
	if (periodic && edge_deadline(ch, edge) < now + VTIMER_MIN_PERIOD_NS)
		next_rising_edge(ch, elapsed_ticks(ch, now + VTIMER_MIN_PERIOD_NS), &edge);
	pit->pending_edge = edge;
	vtimer_arm(pit->vm, &pit->timer, edge_deadline(ch, edge));
}

static void channel0_fire(void *opaque, u64 now)
{
	struct i8254 *pit = opaque;
	const struct pit_channel *ch = &pit->channel[0];
	if (ch->running && elapsed_ticks(ch, now) >= pit->pending_edge)
		vm_pulse_irq(pit->vm, PIT_IRQ);
	rearm_channel0(pit, now);
}

static void channel_changed(struct i8254 *pit, struct pit_channel *ch, u64 now)
{
	if (ch->index == 0)
		rearm_channel0(pit, now);
}

static void set_gate(struct pit_channel *ch, bool gate, u64 now)
{
	if (gate == ch->gate)
		return;
	ch->gate = gate;
	if (!gate) {
		if (!gate_triggered_mode(ch)) { /* modes 0, 4 pause; 2, 3 stop */
			ch->ticks_before = elapsed_ticks(ch, now);
			ch->running = false;
		}
		return;
	}
	if (!ch->loaded)
		return;
	if (ch->mode != 0 && ch->mode != 4) { /* rising edge reloads the count */
		ch->ticks_before = 0;
		ch->triggered = true;
	}
	ch->start_ns = now;
	ch->running = true;
}

static void load_count(struct pit_channel *ch, u32 value, u64 now)
{
	ch->count = value ? value : FULL_COUNT;
	ch->loaded = true;
	ch->null_count = false;
	ch->ticks_before = 0;
	ch->start_ns = now;
	ch->triggered = false;
	ch->running = gate_triggered_mode(ch) || ch->gate;
}

static void write_count(struct i8254 *pit, struct pit_channel *ch, u8 v, u64 now)
{
	switch (ch->access) {
	case ACCESS_LSB: load_count(ch, v, now); break;
	case ACCESS_MSB: load_count(ch, (u32)v << 8, now); break;
	default:
		if (!ch->write_msb_next) {
			ch->write_lsb = v;
			ch->write_msb_next = true;
			if (ch->mode == 0) { /* the first byte stops the count, OUT low */
				ch->loaded = false;
				ch->running = false;
			}
			break;
		}
		ch->write_msb_next = false;
		load_count(ch, ch->write_lsb | (u32)v << 8, now);
	}
	channel_changed(pit, ch, now);
}

static void latch_count(struct pit_channel *ch, u64 now)
{
	if (ch->count_latched)
		return; /* a second latch before the read is ignored */
	ch->latched_count = current_count(ch, now);
	ch->count_latched = true;
	ch->latch_msb_next = ch->access == ACCESS_MSB;
}

static void latch_status(struct pit_channel *ch, u64 now)
{
	if (ch->status_latched)
		return;
	ch->latched_status = (u8)((output(ch, now) ? STATUS_OUTPUT : 0) |
				  (ch->null_count ? STATUS_NULL_COUNT : 0) |
				  ch->access << CW_ACCESS_SHIFT | ch->mode_bits << CW_MODE_SHIFT |
				  (ch->bcd ? CW_BCD : 0));
	ch->status_latched = true;
}

static void write_control(struct i8254 *pit, u8 v, u64 now)
{
	unsigned select = v >> CW_SELECT_SHIFT;
	if (select == CW_SELECT_READ_BACK) {
		for (unsigned i = 0; i < PIT_CHANNELS; i++) {
			if (!(v & (RB_CHANNEL0 << i)))
				continue;
			if (!(v & RB_NO_COUNT))
				latch_count(&pit->channel[i], now);
			if (!(v & RB_NO_STATUS))
				latch_status(&pit->channel[i], now);
		}
		return;
	}
	struct pit_channel *ch = &pit->channel[select];
	unsigned access = (v >> CW_ACCESS_SHIFT) & 3;
	if (access == ACCESS_LATCH) {
		latch_count(ch, now);
		return;
	}
	ch->access = (u8)access;
	ch->mode_bits = (v >> CW_MODE_SHIFT) & 7;
	ch->mode = ch->mode_bits > 5 ? ch->mode_bits - 4 : ch->mode_bits;
	ch->bcd = v & CW_BCD;
	if (ch->bcd && !pit->bcd_reported) {
		pit->bcd_reported = true;
		pr_warn("i8254: vm %s: BCD counting is not modelled; counting in binary", pit->vm->name);
	}
	ch->loaded = ch->running = ch->triggered = false;
	ch->ticks_before = 0;
	ch->null_count = true;
	ch->write_msb_next = ch->read_msb_next = false;
	ch->count_latched = ch->status_latched = false;
	channel_changed(pit, ch, now);
}

static u8 read_channel(struct pit_channel *ch, u64 now)
{
	if (ch->status_latched) {
		ch->status_latched = false;
		return ch->latched_status;
	}
	if (ch->count_latched) {
		u8 b = ch->latch_msb_next ? (u8)(ch->latched_count >> 8) : (u8)ch->latched_count;
		if (ch->access == ACCESS_LSB_MSB && !ch->latch_msb_next)
			ch->latch_msb_next = true;
		else
			ch->count_latched = false;
		return b;
	}
	u16 count = current_count(ch, now);
	switch (ch->access) {
	case ACCESS_LSB: return (u8)count;
	case ACCESS_MSB: return (u8)(count >> 8);
	default: {
		bool msb = ch->read_msb_next;
		ch->read_msb_next = !msb;
		return msb ? (u8)(count >> 8) : (u8)count;
	}
	}
}

static void pit_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct i8254 *pit = device;
	u64 now = vm_time_ns(pit->vm);
	*value = 0;
	for (unsigned i = 0; i < size && i < 8; i++) {
		u64 port = offset + i;
		u8 b = port < PORT_CONTROL ? read_channel(&pit->channel[port], now) : 0xff;
		*value |= (u64)b << (8 * i);
	}
}

static void pit_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct i8254 *pit = device;
	u64 now = vm_time_ns(pit->vm);
	for (unsigned i = 0; i < size && i < 8 && offset + i < PIT_PORTS; i++) {
		u8 b = (u8)(value >> (8 * i));
		if (offset + i == PORT_CONTROL)
			write_control(pit, b, now);
		else
			write_count(pit, &pit->channel[offset + i], b, now);
	}
}

static void port_b_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct i8254 *pit = device;
	pit->refresh = !pit->refresh;
	*value = ~0xffULL | (pit->port_b & PORT_B_WRITABLE) | (pit->refresh ? PORT_B_REFRESH : 0) |
		 (output(&pit->channel[GATED_CHANNEL], vm_time_ns(pit->vm)) ? PORT_B_OUT2 : 0);
}

static void port_b_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct i8254 *pit = device;
	pit->port_b = (u8)value & PORT_B_WRITABLE;
	set_gate(&pit->channel[GATED_CHANNEL], value & PORT_B_GATE2, vm_time_ns(pit->vm));
}

struct i8254 *i8254_create(struct vm *vm)
{
	struct i8254 *pit = vm_device_alloc(vm, sizeof(*pit));
	if (!pit)
		return NULL;
	pit->vm = vm;
	for (unsigned i = 0; i < PIT_CHANNELS; i++) {
		struct pit_channel *ch = &pit->channel[i];
		ch->index = i;
		ch->access = ACCESS_LSB_MSB;
		ch->count = FULL_COUNT;
		ch->gate = i != GATED_CHANNEL; /* GATE0 and GATE1 are tied high */
	}
	vtimer_init(vm, &pit->timer, channel0_fire, pit);
	if (io_bus_register(&vm->pio, I8254_BASE, PIT_PORTS, "8254 PIT", pit, pit_read, pit_write) ||
	    io_bus_register(&vm->pio, I8254_PORT_B, 1, "system control port B", pit, port_b_read,
			    port_b_write))
		return NULL; /* not freed: the timer and any registered range point at it */
	return pit;
}
