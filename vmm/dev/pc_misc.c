/*
 * PC/AT system control port A (0x92) and an i8042 keyboard controller with
 * nothing plugged in. The controller answers its own commands (self-test,
 * command byte, output port, reset pulse) through a one-byte output buffer.
 * There is no AUX port: the AUX loopback echo comes back on the keyboard
 * channel and the AUX interface test fails, which is how Linux recognises
 * a controller without one. Bytes for the keyboard or mouse are dropped,
 * and the controller raises no IRQ 1/12 (its answers are polled).
 */
#include "vmm/dev/pc_misc.h"
#include "vmm/vm.h"
#include "lib/print.h"
#include "mm/heap.h"

/* Port 0x92. */
#define PORT_A_FAST_RESET 0x01
#define PORT_A_A20 0x02 /* A20 is always enabled */

/* i8042 status register (port 0x64 read). */
#define STATUS_OBF 0x01      /* output buffer full */
#define STATUS_SYS 0x04      /* system flag: POST passed */
#define STATUS_CMD 0x08      /* last write was to the command port */
#define STATUS_UNLOCKED 0x10 /* keyboard not inhibited */

/* Command byte (controller RAM byte 0). */
#define CB_KBD_INT 0x01
#define CB_SYS 0x04
#define CB_KBD_DISABLE 0x10
#define CB_AUX_DISABLE 0x20
#define CB_TRANSLATE 0x40
#define CB_DEFAULT (CB_TRANSLATE | CB_SYS | CB_KBD_INT)

/* Output port: bit 0 drives the CPU reset line (active low). */
#define OUTPUT_PORT_RESET 0x01
#define OUTPUT_PORT_A20 0x02

#define CMD_READ_RAM 0x20       /* 0x20-0x3f: read RAM byte n (0 = command byte) */
#define CMD_WRITE_RAM 0x60      /* 0x60-0x7f */
#define CMD_RAM_MASK 0x1f
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_OUTPUT_PORT 0xd0
#define CMD_WRITE_OUTPUT_PORT 0xd1
#define CMD_WRITE_KBD_BUFFER 0xd2
#define CMD_WRITE_AUX_BUFFER 0xd3 /* AUX loopback */
#define CMD_WRITE_AUX 0xd4
#define CMD_PULSE_BASE 0xf0     /* 0xf0-0xff: pulse output port bits 0-3 where 0 */
#define NO_COMMAND 0

#define SELF_TEST_OK 0x55
#define INTERFACE_TEST_OK 0x00
#define INTERFACE_CLOCK_STUCK_HIGH 0x02 /* nothing attached to the AUX port */
#define UNKNOWN_COMMAND_LOG_LIMIT 8

struct pc_misc {
	struct vm *vm;
	u8 port_a;
	u8 command_byte;
	u8 output_port;
	bool sys_flag;
	bool last_write_command;
	bool obf;
	u8 output;
	u8 pending;       /* a command waiting for its data byte */
	unsigned unknown_logged;
};

static void port_a_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct pc_misc *p = device;
	*value = ~0xffULL | p->port_a | PORT_A_A20;
}

static void port_a_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct pc_misc *p = device;
	p->port_a = (u8)value & ~(PORT_A_FAST_RESET | PORT_A_A20);
	if (value & PORT_A_FAST_RESET)
		vm_request_reset(p->vm);
}

static void put_output(struct pc_misc *p, u8 b)
{
	p->output = b;
	p->obf = true;
}

static void controller_command(struct pc_misc *p, u8 cmd)
{
	p->pending = NO_COMMAND;
	if ((cmd & ~CMD_RAM_MASK) == CMD_READ_RAM) {
		put_output(p, cmd == CMD_READ_RAM ? p->command_byte : 0);
		return;
	}
	if ((cmd & ~CMD_RAM_MASK) == CMD_WRITE_RAM || cmd == CMD_WRITE_OUTPUT_PORT ||
	    cmd == CMD_WRITE_KBD_BUFFER || cmd == CMD_WRITE_AUX_BUFFER || cmd == CMD_WRITE_AUX) {
		p->pending = cmd;
		return;
	}
	if (cmd >= CMD_PULSE_BASE) {
		if (!(cmd & OUTPUT_PORT_RESET))
			vm_request_reset(p->vm);
		return;
	}
	switch (cmd) {
	case CMD_AUX_DISABLE: p->command_byte |= CB_AUX_DISABLE; break;
	case CMD_AUX_ENABLE: p->command_byte &= ~CB_AUX_DISABLE; break;
	case CMD_AUX_TEST: put_output(p, INTERFACE_CLOCK_STUCK_HIGH); break;
	case CMD_SELF_TEST:
		p->sys_flag = true;
		put_output(p, SELF_TEST_OK);
		break;
	case CMD_KBD_TEST: put_output(p, INTERFACE_TEST_OK); break;
	case CMD_KBD_DISABLE: p->command_byte |= CB_KBD_DISABLE; break;
	case CMD_KBD_ENABLE: p->command_byte &= ~CB_KBD_DISABLE; break;
	case CMD_READ_OUTPUT_PORT: put_output(p, p->output_port); break;
	default:
		if (p->unknown_logged < UNKNOWN_COMMAND_LOG_LIMIT) {
			p->unknown_logged++;
			pr_info("i8042: vm %s: ignored controller command 0x%02x%s", p->vm->name, cmd,
				p->unknown_logged == UNKNOWN_COMMAND_LOG_LIMIT ? " (no more are logged)" : "");
		}
	}
}

static void controller_data(struct pc_misc *p, u8 v)
{
	u8 cmd = p->pending;
	p->pending = NO_COMMAND;
	switch (cmd) {
	case NO_COMMAND:
	case CMD_WRITE_AUX: break; /* for a keyboard or mouse that is not there */
	case CMD_WRITE_OUTPUT_PORT:
		p->output_port = v | OUTPUT_PORT_A20;
		if (!(v & OUTPUT_PORT_RESET))
			vm_request_reset(p->vm);
		break;
	case CMD_WRITE_KBD_BUFFER:
	case CMD_WRITE_AUX_BUFFER: put_output(p, v); break;
	default:
		if (cmd == CMD_WRITE_RAM) {
			p->command_byte = v;
			p->sys_flag = v & CB_SYS;
		}
	}
}

static void data_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct pc_misc *p = device;
	p->obf = false;
	*value = ~0xffULL | p->output; /* an empty buffer reads its last byte again */
}

static void data_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct pc_misc *p = device;
	p->last_write_command = false;
	controller_data(p, (u8)value);
}

static void status_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct pc_misc *p = device;
	*value = ~0xffULL | (p->obf ? STATUS_OBF : 0) | (p->sys_flag ? STATUS_SYS : 0) |
		 (p->last_write_command ? STATUS_CMD : 0) | STATUS_UNLOCKED;
}

static void command_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct pc_misc *p = device;
	p->last_write_command = true;
	controller_command(p, (u8)value);
}

struct pc_misc *pc_misc_create(struct vm *vm)
{
	struct pc_misc *p = vm_device_alloc(vm, sizeof(*p));
	if (!p)
		return NULL;
	p->vm = vm;
	p->command_byte = CB_DEFAULT;
	p->output_port = OUTPUT_PORT_RESET | OUTPUT_PORT_A20;
	p->sys_flag = true;
	/* 0x60 and 0x64 are separate ranges: 0x61 belongs to the PIT file. */
	if (io_bus_register(&vm->pio, PC_PORT_A, 1, "system control port A", p, port_a_read,
			    port_a_write) ||
	    io_bus_register(&vm->pio, I8042_DATA_PORT, 1, "i8042 data", p, data_read, data_write) ||
	    io_bus_register(&vm->pio, I8042_COMMAND_PORT, 1, "i8042 status/command", p, status_read,
			    command_write))
		return NULL; /* not freed: ranges already registered point at it */
	return p;
}
