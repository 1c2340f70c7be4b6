/*
 * 16550A UART model (COM1): the full register set, 16-byte receive FIFO,
 * THRE / received-data / line-status interrupts on IRQ 4 (gated by
 * MCR.OUT2 as on a PC), loopback for Linux's probe, and input from the
 * physical console. Output goes to the console either raw (the guest owns
 * the serial line) or a line at a time as "[vm] text".
 */
#include "vmm/dev/devices.h"
#include "vmm/irq.h"
#include "vmm/vm.h"
#include "vmm/vtime.h"
#include "drivers/console.h"
#include "lib/print.h"
#include "mm/heap.h"

#define UART_PORTS 8
#define REG_DATA 0       /* RBR read / THR write; DLL with DLAB */
#define REG_IER 1        /* DLM with DLAB */
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define IER_RECEIVED_DATA 0x01
#define IER_THR_EMPTY 0x02
#define IER_LINE_STATUS 0x04
#define IER_MODEM_STATUS 0x08
#define IER_MASK 0x0f
#define IIR_NO_INTERRUPT 0x01
#define IIR_LINE_STATUS 0x06
#define IIR_RECEIVED_DATA 0x04
#define IIR_THR_EMPTY 0x02
#define IIR_MODEM_STATUS 0x00
#define IIR_FIFO_ENABLED 0xc0
#define FCR_FIFO_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f
#define LSR_DATA_READY 0x01
#define LSR_OVERRUN 0x02
#define LSR_THR_EMPTY 0x20
#define LSR_TRANSMITTER_EMPTY 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_NOT_LOOPED (MSR_DCD | MSR_DSR | MSR_CTS)
#define RX_FIFO_SIZE 16
#define INPUT_POLL_NS 5000000ULL /* 5 ms: fast enough for typing */

struct uart16550 {
	struct vm *vm;
	u8 ier, lcr, mcr, scr, fcr, lsr_errors;
	u8 dll, dlm;
	bool thr_empty_pending;  /* the THRE interrupt, cleared by reading IIR or writing THR */
	u8 rx[RX_FIFO_SIZE];
	unsigned rx_head, rx_count;
	bool irq_level;
	bool raw;                /* the guest owns the console line */
	struct vtimer input_poll;
	struct console_line line;  /* console=prefixed: the line being assembled */
};

static u8 pending_interrupt(const struct uart16550 *u)
{
	if ((u->ier & IER_LINE_STATUS) && u->lsr_errors)
		return IIR_LINE_STATUS;
	if ((u->ier & IER_RECEIVED_DATA) && u->rx_count)
		return IIR_RECEIVED_DATA;
	if ((u->ier & IER_THR_EMPTY) && u->thr_empty_pending)
		return IIR_THR_EMPTY;
	return IIR_NO_INTERRUPT;
}

/* IRQ 4 follows the interrupt state; on a PC, OUT2 gates it onto the bus. */
static void update_irq(struct uart16550 *u)
{
	bool level = pending_interrupt(u) != IIR_NO_INTERRUPT && (u->mcr & MCR_OUT2);
	if (level != u->irq_level) {
		u->irq_level = level;
		vm_set_irq(u->vm, ISA_IRQ_COM1, level);
	}
}

static void receive(struct uart16550 *u, u8 c)
{
	if (u->rx_count == RX_FIFO_SIZE) {
		u->lsr_errors |= LSR_OVERRUN;
		return;
	}
	u->rx[(u->rx_head + u->rx_count) % RX_FIFO_SIZE] = c;
	u->rx_count++;
}

static void transmit(struct uart16550 *u, u8 c)
{
	if (u->mcr & MCR_LOOP) {
		receive(u, c);
		return;
	}
	if (u->raw) {
		console_raw_guest_write(u->vm->name, c);
		return;
	}
	if (console_line_add(&u->line, c)) {
		kprintf("[%s] %.*s\n", u->vm->name, (int)u->line.length, u->line.text);
		console_line_clear(&u->line);
	}
}

static u8 modem_status(const struct uart16550 *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_NOT_LOOPED;
	/* Loopback wires RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD. */
	return ((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
	       ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0);
}

static u8 read_rbr(struct uart16550 *u)
{
	if (!u->rx_count)
		return 0;
	u8 c = u->rx[u->rx_head];
	u->rx_head = (u->rx_head + 1) % RX_FIFO_SIZE;
	u->rx_count--;
	return c;
}

static u8 read_iir(struct uart16550 *u)
{
	u8 iir = pending_interrupt(u);
	if (iir == IIR_THR_EMPTY)
		u->thr_empty_pending = false; /* reading IIR acknowledges THRE */
	return iir | ((u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0);
}

static void uart_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct uart16550 *u = device;
	bool dlab = u->lcr & LCR_DLAB;
	switch (offset) {
	case REG_DATA: *value = dlab ? u->dll : read_rbr(u); break;
	case REG_IER: *value = dlab ? u->dlm : u->ier; break;
	case REG_IIR_FCR: *value = read_iir(u); break;
	case REG_LCR: *value = u->lcr; break;
	case REG_MCR: *value = u->mcr; break;
	case REG_LSR:
		*value = LSR_THR_EMPTY | LSR_TRANSMITTER_EMPTY | (u->rx_count ? LSR_DATA_READY : 0) | u->lsr_errors;
		u->lsr_errors = 0;
		break;
	case REG_MSR: *value = modem_status(u); break;
	case REG_SCR: *value = u->scr; break;
	}
	update_irq(u);
}

static void write_fcr(struct uart16550 *u, u8 v)
{
	if (v & FCR_CLEAR_RX)
		u->rx_count = 0;
	u->fcr = v & ~(FCR_CLEAR_RX | FCR_CLEAR_TX);
}

static void uart_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct uart16550 *u = device;
	bool dlab = u->lcr & LCR_DLAB;
	u8 v = (u8)value;
	switch (offset) {
	case REG_DATA:
		if (dlab) {
			u->dll = v;
			break;
		}
		transmit(u, v);
		u->thr_empty_pending = true; /* sent at once: THR is empty again */
		break;
	case REG_IER:
		if (dlab) {
			u->dlm = v;
			break;
		}
		/* Enabling THRE while THR is empty raises it (as the 16550A does). */
		if ((v & IER_THR_EMPTY) && !(u->ier & IER_THR_EMPTY))
			u->thr_empty_pending = true;
		u->ier = v & IER_MASK;
		break;
	case REG_IIR_FCR: write_fcr(u, v); break;
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & MCR_MASK; break;
	case REG_SCR: u->scr = v; break;
	}
	update_irq(u);
}

/* Bytes typed on the physical console go to this UART while its VM runs. */
static void poll_input(void *opaque, u64 now)
{
	struct uart16550 *u = opaque;
	int c;
	while (u->rx_count < RX_FIFO_SIZE && (c = console_getc()) >= 0)
		receive(u, (u8)c);
	update_irq(u);
	vtimer_arm(u->vm, &u->input_poll, now + INPUT_POLL_NS);
}

int uart16550_create(struct vm *vm, u16 base, bool raw_console)
{
	struct uart16550 *u = vm_device_alloc(vm, sizeof(*u));
	if (!u)
		return -1;
	u->vm = vm;
	u->raw = raw_console;
	if (raw_console) {
		vtimer_init(vm, &u->input_poll, poll_input, u);
		vtimer_arm(vm, &u->input_poll, INPUT_POLL_NS);
	}
	return io_bus_register(&vm->pio, base, UART_PORTS, "uart16550", u, uart_read, uart_write);
}
