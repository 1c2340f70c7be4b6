/*
 * 16550 UART model, enough for polled output: THR/RBR, IER, IIR/FCR, LCR
 * with DLAB and the divisor latch, MCR, LSR, MSR, SCR. Output goes to the
 * console a line at a time, prefixed with the VM's name.
 */
#include "vmm/dev/devices.h"
#include "vmm/vm.h"
#include "lib/print.h"
#include "mm/heap.h"

#define UART_PORTS 8
#define REG_DATA 0       /* THR/RBR, DLL with DLAB */
#define REG_IER 1        /* DLM with DLAB */
#define REG_IIR_FCR 2
#define REG_LCR 3
#define REG_MCR 4
#define REG_LSR 5
#define REG_MSR 6
#define REG_SCR 7

#define LCR_DLAB 0x80
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IIR_NO_INTERRUPT 0x01
#define IIR_FIFO_ENABLED 0xc0
#define FCR_FIFO_ENABLE 0x01
#define MSR_DCD_DSR_CTS 0xb0
#define IER_MASK 0x0f
#define MCR_MASK 0x1f
#define LINE_LENGTH 160

struct uart16550 {
	struct vm *vm;
	u8 ier, lcr, mcr, scr, fcr;
	u8 dll, dlm;
	char line[LINE_LENGTH];
	unsigned line_length;
};

static void flush_line(struct uart16550 *u)
{
	kprintf("[%s] %.*s\n", u->vm->name, (int)u->line_length, u->line);
	u->line_length = 0;
}

static void transmit(struct uart16550 *u, u8 c)
{
	if (c == '\n') {
		flush_line(u);
		return;
	}
	if (c == '\r')
		return;
	u->line[u->line_length++] = (c >= ' ' && c < 0x7f) || c == '\t' ? (char)c : '?';
	if (u->line_length == LINE_LENGTH)
		flush_line(u);
}

static void uart_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct uart16550 *u = device;
	bool dlab = u->lcr & LCR_DLAB;
	switch (offset) {
	case REG_DATA: *value = dlab ? u->dll : 0; break;
	case REG_IER: *value = dlab ? u->dlm : u->ier; break;
	case REG_IIR_FCR: *value = IIR_NO_INTERRUPT | ((u->fcr & FCR_FIFO_ENABLE) ? IIR_FIFO_ENABLED : 0); break;
	case REG_LCR: *value = u->lcr; break;
	case REG_MCR: *value = u->mcr; break;
	case REG_LSR: *value = LSR_THRE | LSR_TEMT; break;
	case REG_MSR: *value = MSR_DCD_DSR_CTS; break;
	case REG_SCR: *value = u->scr; break;
	}
}

static void uart_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct uart16550 *u = device;
	bool dlab = u->lcr & LCR_DLAB;
	u8 v = (u8)value;
	switch (offset) {
	case REG_DATA:
		if (dlab)
			u->dll = v;
		else
			transmit(u, v);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = v;
		else
			u->ier = v & IER_MASK;
		break;
	case REG_IIR_FCR: u->fcr = v; break;
	case REG_LCR: u->lcr = v; break;
	case REG_MCR: u->mcr = v & MCR_MASK; break;
	case REG_SCR: u->scr = v; break;
	}
}

int uart16550_create(struct vm *vm, u16 base)
{
	struct uart16550 *u = kzalloc(sizeof(*u));
	if (!u)
		return -1;
	u->vm = vm;
	return io_bus_register(&vm->pio, base, UART_PORTS, "uart16550", u, uart_read, uart_write);
}
