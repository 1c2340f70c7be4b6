/*
 * Intel 8259A PIC pair as wired in a PC/AT: slave INT into master IR2,
 * vectors from ICW2, ELCR (PIIX style) choosing edge or level per line.
 * Not modelled: MCS-80 mode, buffered mode, LTIM in ICW1 (the ELCR
 * decides), and an edge request that drops before INTA stays latched
 * (devices pulse edge lines).
 */
#include "vmm/dev/i8259.h"
#include "vmm/vm.h"
#include "mm/heap.h"

#define PIC_PORTS 2
#define ELCR_PORTS 2
#define CASCADE_IR 2
#define SPURIOUS_IR 7
#define NO_REQUEST (-1)

/* Port A0=0 writes: D4 selects ICW1, else D3 selects OCW3 over OCW2. */
#define ICW1_SELECT 0x10
#define ICW1_SNGL 0x02   /* single PIC, no ICW3 */
#define ICW1_IC4 0x01    /* ICW4 follows */
#define ICW2_VECTOR_MASK 0xf8
#define ICW4_AEOI 0x02
#define ICW4_SFNM 0x10
#define OCW3_SELECT 0x08
#define OCW3_ESMM 0x40   /* SMM bit (D5) is valid */
#define OCW3_SMM 0x20
#define OCW3_POLL 0x04
#define OCW3_RR 0x02     /* RIS bit (D0) is valid */
#define OCW3_RIS 0x01
#define OCW2_LEVEL_MASK 0x07
/* OCW2 R SL EOI (D7-D5). */
#define OCW2_ROTATE_AEOI_CLEAR 0
#define OCW2_NONSPECIFIC_EOI 1
#define OCW2_NOP 2
#define OCW2_SPECIFIC_EOI 3
#define OCW2_ROTATE_AEOI_SET 4
#define OCW2_ROTATE_NONSPECIFIC_EOI 5
#define OCW2_SET_PRIORITY 6
#define OCW2_ROTATE_SPECIFIC_EOI 7
#define POLL_INTERRUPT 0x80

/* ELCR bits that may be level: IRQ 0, 1, 2, 8 and 13 are always edge. */
#define ELCR_MASTER_MASK 0xf8
#define ELCR_SLAVE_MASK 0xde

/* Where the ICW sequence stands: the next write to A0=1 is... */
enum init_step { INIT_DONE, INIT_ICW2, INIT_ICW3, INIT_ICW4 };

struct pic_chip {
	struct i8259 *pic;
	u8 irr, isr, imr;
	u8 lines;        /* input pin levels, for edge detection */
	u8 elcr, elcr_mask;
	u8 vector_base;
	u8 priority_add; /* IR with the highest priority (rotation) */
	u8 icw3;
	enum init_step init_step;
	bool icw4_needed, single, auto_eoi, rotate_on_aeoi, special_fully_nested;
	bool read_isr, poll, special_mask;
};

struct i8259 {
	struct vm *vm;
	struct pic_chip master, slave;
	bool output;
	void (*notify)(void *opaque);
	void *notify_opaque;
};

static void chip_set_input(struct pic_chip *c, unsigned ir, bool level)
{
	u8 bit = (u8)(1u << ir);
	if (c->elcr & bit)
		c->irr = level ? c->irr | bit : c->irr & ~bit;
	else if (level && !(c->lines & bit))
		c->irr |= bit;
	c->lines = level ? c->lines | bit : c->lines & ~bit;
}

/* Priority rank (0 = highest) of the best bit in mask, 8 if none. */
static unsigned priority_rank(const struct pic_chip *c, u8 mask)
{
	if (!mask)
		return 8;
	unsigned rank = 0;
	while (!(mask & (1u << ((rank + c->priority_add) & 7))))
		rank++;
	return rank;
}

/* The IR this chip would interrupt for now, or NO_REQUEST. */
static int chip_pending(const struct pic_chip *c)
{
	unsigned request = priority_rank(c, c->irr & ~c->imr);
	if (request == 8)
		return NO_REQUEST;
	u8 in_service = c->isr;
	if (c->special_mask)
		in_service &= ~c->imr;
	if (c->special_fully_nested && c == &c->pic->master)
		in_service &= (u8)~(1u << CASCADE_IR);
	if (request < priority_rank(c, in_service))
		return (int)((request + c->priority_add) & 7);
	return NO_REQUEST;
}

static void chip_intack(struct pic_chip *c, unsigned ir)
{
	u8 bit = (u8)(1u << ir);
	if (!c->auto_eoi)
		c->isr |= bit;
	else if (c->rotate_on_aeoi)
		c->priority_add = (u8)((ir + 1) & 7);
	if (!(c->elcr & bit))
		c->irr &= ~bit;
}

/* The slave's INT is master IR2; if it drops before INTA the request is
 * gone (real edge inputs must stay high until acknowledged). */
static void update_output(struct i8259 *pic)
{
	bool cascade = chip_pending(&pic->slave) != NO_REQUEST;
	chip_set_input(&pic->master, CASCADE_IR, cascade);
	if (!cascade)
		pic->master.irr &= (u8)~(1u << CASCADE_IR);
	bool out = chip_pending(&pic->master) != NO_REQUEST;
	if (out && !pic->output && pic->notify)
		pic->notify(pic->notify_opaque);
	pic->output = out;
}

static void chip_reset(struct pic_chip *c, struct i8259 *pic, u8 vector_base, u8 elcr_mask)
{
	*c = (struct pic_chip){ .pic = pic, .elcr_mask = elcr_mask, .vector_base = vector_base };
	c->imr = 0xff; /* nothing is delivered until the guest programs the chip */
}

void i8259_reset(struct i8259 *pic)
{
	chip_reset(&pic->master, pic, 0x08, ELCR_MASTER_MASK);
	chip_reset(&pic->slave, pic, 0x70, ELCR_SLAVE_MASK);
	pic->output = false;
}

/* ICW1 resets the edge sense latches, IMR, ISR, priority, SMM, read select. */
static void write_icw1(struct pic_chip *c, u8 v)
{
	c->irr &= c->elcr;
	c->imr = 0;
	c->isr = 0;
	c->priority_add = 0;
	c->special_mask = c->read_isr = c->poll = false;
	c->auto_eoi = c->rotate_on_aeoi = c->special_fully_nested = false;
	c->single = v & ICW1_SNGL;
	c->icw4_needed = v & ICW1_IC4;
	c->init_step = INIT_ICW2;
}

static void write_ocw2(struct pic_chip *c, u8 v)
{
	unsigned level = v & OCW2_LEVEL_MASK;
	unsigned rank;
	switch (v >> 5) {
	case OCW2_ROTATE_AEOI_CLEAR: c->rotate_on_aeoi = false; break;
	case OCW2_ROTATE_AEOI_SET: c->rotate_on_aeoi = true; break;
	case OCW2_NONSPECIFIC_EOI:
	case OCW2_ROTATE_NONSPECIFIC_EOI:
		rank = priority_rank(c, c->isr);
		if (rank == 8)
			break;
		level = (rank + c->priority_add) & 7;
		c->isr &= (u8)~(1u << level);
		if (v >> 5 == OCW2_ROTATE_NONSPECIFIC_EOI)
			c->priority_add = (u8)((level + 1) & 7);
		break;
	case OCW2_SPECIFIC_EOI: c->isr &= (u8)~(1u << level); break;
	case OCW2_ROTATE_SPECIFIC_EOI:
		c->isr &= (u8)~(1u << level);
		c->priority_add = (u8)((level + 1) & 7);
		break;
	case OCW2_SET_PRIORITY: c->priority_add = (u8)((level + 1) & 7); break;
	case OCW2_NOP: break;
	}
}

static void write_ocw3(struct pic_chip *c, u8 v)
{
	if (v & OCW3_ESMM)
		c->special_mask = v & OCW3_SMM;
	if (v & OCW3_POLL)
		c->poll = true;
	if (v & OCW3_RR)
		c->read_isr = v & OCW3_RIS;
}

static void chip_write(struct pic_chip *c, unsigned port, u8 v)
{
	if (port == 0) {
		if (v & ICW1_SELECT)
			write_icw1(c, v);
		else if (v & OCW3_SELECT)
			write_ocw3(c, v);
		else
			write_ocw2(c, v);
		return;
	}
	switch (c->init_step) {
	case INIT_DONE: c->imr = v; break;
	case INIT_ICW2:
		c->vector_base = v & ICW2_VECTOR_MASK;
		c->init_step = !c->single ? INIT_ICW3 : c->icw4_needed ? INIT_ICW4 : INIT_DONE;
		break;
	case INIT_ICW3:
		c->icw3 = v;
		c->init_step = c->icw4_needed ? INIT_ICW4 : INIT_DONE;
		break;
	case INIT_ICW4:
		c->auto_eoi = v & ICW4_AEOI;
		c->special_fully_nested = v & ICW4_SFNM;
		c->init_step = INIT_DONE;
		break;
	}
}

/* Poll mode: this read is the acknowledge; I bit and the level. */
static u8 chip_poll(struct pic_chip *c)
{
	c->poll = false;
	int ir = chip_pending(c);
	if (ir == NO_REQUEST)
		return 0;
	chip_intack(c, (unsigned)ir);
	return (u8)(POLL_INTERRUPT | ir);
}

static u8 chip_read(struct pic_chip *c, unsigned port)
{
	if (c->poll)
		return chip_poll(c);
	if (port == 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

/* A wider access is a run of byte cycles on consecutive ports. */
static void pic_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct pic_chip *c = device;
	*value = 0;
	for (unsigned i = 0; i < size && i < 8; i++)
		*value |= (u64)(offset + i < PIC_PORTS ? chip_read(c, (unsigned)(offset + i)) : 0xff) << (8 * i);
	update_output(c->pic);
}

static void pic_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct pic_chip *c = device;
	for (unsigned i = 0; i < size && i < 8 && offset + i < PIC_PORTS; i++)
		chip_write(c, (unsigned)(offset + i), (u8)(value >> (8 * i)));
	update_output(c->pic);
}

static void elcr_read(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 *value)
{
	struct i8259 *pic = device;
	*value = 0;
	for (unsigned i = 0; i < size && i < 8; i++) {
		u64 port = offset + i;
		u8 b = port == 0 ? pic->master.elcr : port == 1 ? pic->slave.elcr : 0xff;
		*value |= (u64)b << (8 * i);
	}
}

static void elcr_set(struct pic_chip *c, u8 v)
{
	c->elcr = v & c->elcr_mask;
	c->irr = (c->irr & ~c->elcr) | (c->lines & c->elcr);
}

static void elcr_write(void *device, struct vcpu *vcpu, u64 offset, unsigned size, u64 value)
{
	struct i8259 *pic = device;
	for (unsigned i = 0; i < size && i < 8 && offset + i < ELCR_PORTS; i++)
		elcr_set(offset + i == 0 ? &pic->master : &pic->slave, (u8)(value >> (8 * i)));
	update_output(pic);
}

void i8259_set_irq(struct i8259 *pic, unsigned irq, bool level)
{
	if (irq >= I8259_IRQ_COUNT || irq == CASCADE_IR)
		return;
	chip_set_input(irq < 8 ? &pic->master : &pic->slave, irq & 7, level);
	update_output(pic);
}

bool i8259_has_interrupt(struct i8259 *pic)
{
	return pic->output;
}

int i8259_acknowledge(struct i8259 *pic)
{
	struct pic_chip *m = &pic->master, *s = &pic->slave;
	int vector;
	int ir = chip_pending(m);
	if (ir == NO_REQUEST) {
		vector = m->vector_base + SPURIOUS_IR;
	} else if (ir == CASCADE_IR && !m->single) {
		chip_intack(m, CASCADE_IR);
		int slave_ir = chip_pending(s);
		if (slave_ir == NO_REQUEST) {
			vector = s->vector_base + SPURIOUS_IR;
		} else {
			chip_intack(s, (unsigned)slave_ir);
			vector = s->vector_base + slave_ir;
		}
	} else {
		chip_intack(m, (unsigned)ir);
		vector = m->vector_base + ir;
	}
	update_output(pic);
	return vector;
}

void i8259_set_notify(struct i8259 *pic, void (*notify)(void *opaque), void *opaque)
{
	pic->notify = notify;
	pic->notify_opaque = opaque;
}

struct i8259 *i8259_create(struct vm *vm)
{
	struct i8259 *pic = vm_device_alloc(vm, sizeof(*pic));
	if (!pic)
		return NULL;
	pic->vm = vm;
	i8259_reset(pic);
	if (io_bus_register(&vm->pio, I8259_MASTER_BASE, PIC_PORTS, "8259 PIC master", &pic->master,
			    pic_read, pic_write) ||
	    io_bus_register(&vm->pio, I8259_SLAVE_BASE, PIC_PORTS, "8259 PIC slave", &pic->slave,
			    pic_read, pic_write) ||
	    io_bus_register(&vm->pio, I8259_ELCR_BASE, ELCR_PORTS, "8259 ELCR", pic, elcr_read,
			    elcr_write))
		return NULL; /* not freed: ranges already registered point at it */
	return pic;
}
