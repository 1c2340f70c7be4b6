/* Presidio's test device (ports 0xe0-0xeb and the MMIO scratch page). */
#ifndef GUEST_TESTDEV_H
#define GUEST_TESTDEV_H

#include <stdbool.h>
#include <stdint.h>

#define TESTDEV_FIFO_PORT 0xe0  /* OUT pushes, IN pops (0xff per byte when empty) */
#define TESTDEV_COUNT_PORT 0xe4 /* IN dword: bytes queued; OUT: clear */
#define TESTDEV_IRQ_PORT 0xe8   /* OUT v: deliver external interrupt v once */
#define TESTDEV_FIFO_DEPTH 256
#define TESTDEV_SCRATCH_PA 0xfe000000u
#define TESTDEV_SCRATCH_SIZE 4096

/* Native-validation stand-in for TESTDEV_IRQ_PORT: a local APIC self-IPI. */
#define LAPIC_EOI 0xfee000b0u
#define LAPIC_ICR_LOW 0xfee00300u
#define LAPIC_ICR_SELF (1u << 18)   /* destination shorthand: self */
#define LAPIC_ICR_ASSERT (1u << 14) /* level: assert, fixed delivery */
/* The same in x2APIC mode (SDM 11.12): SELF IPI and EOI are MSRs. */
#define MSR_IA32_APIC_BASE 0x1bu
#define APIC_BASE_X2APIC_ENABLE (1u << 10)
#define MSR_X2APIC_EOI 0x80bu
#define MSR_X2APIC_SELF_IPI 0x83fu

/* The FIFO answers like Presidio's: used to skip checks that would hang. */
bool testdev_present(void);
void testdev_fifo_clear(void);

/*
 * Interrupt requests go to TESTDEV_IRQ_PORT; with `irq=lapic` on the command
 * line they become local APIC self-IPIs through the xAPIC ICR instead (so
 * the interrupt checks can be validated on a machine without the test
 * device), with `irq=x2apic` self-IPIs through the x2APIC SELF IPI MSR (the
 * APIC is switched to x2APIC mode on first use). Handlers call
 * testdev_interrupt_done() (an EOI in the APIC modes, nothing otherwise).
 */
enum testdev_irq_mode { IRQ_VIA_TESTDEV, IRQ_VIA_XAPIC, IRQ_VIA_X2APIC };
enum testdev_irq_mode testdev_irq_mode(void);
void testdev_request_interrupt(uint8_t vector);
void testdev_interrupt_done(void);
/* The device answers, or irq=lapic stands in for its interrupt port. */
bool testdev_interrupts_available(void);

/*
 * Where the scratch page is: TESTDEV_SCRATCH_PA, or with `scratch=ram` on the
 * command line a RAM page standing in for it (validates the checks natively).
 */
uint32_t testdev_scratch_base(void);
#define SCRATCH_RAM_STAND_IN 0x00f00000u

/* CPUID leaf 0x40000000 carries Presidio's signature. */
bool running_on_presidio(void);

#endif
