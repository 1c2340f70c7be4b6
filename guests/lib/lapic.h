/*
 * The local APIC in xAPIC mode (MMIO at 0xfee00000): registers, ICR fields
 * and IPIs. Used by the guests with several CPUs (smp, bench).
 */
#ifndef GUEST_LAPIC_H
#define GUEST_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

/* xAPIC registers, offsets from the MMIO base (SDM vol. 3 table 11-1). */
#define LAPIC_MMIO_BASE 0xfee00000u
#define LAPIC_REG_ID 0x020
#define LAPIC_REG_TPR 0x080
#define LAPIC_REG_EOI 0x0b0
#define LAPIC_REG_LDR 0x0d0
#define LAPIC_REG_DFR 0x0e0
#define LAPIC_REG_SVR 0x0f0
#define LAPIC_REG_ISR 0x100 /* 8 registers, 16 bytes apart */
#define LAPIC_REG_ICR_LOW 0x300
#define LAPIC_REG_ICR_HIGH 0x310
#define LAPIC_ISR_WORDS 8
#define LAPIC_REG_STRIDE 0x10
#define LAPIC_ID_SHIFT 24 /* ID and LDR hold their ID in bits 31:24 */

#define LAPIC_SVR_ENABLE (1u << 8)
#define LAPIC_SVR_RESET 0xffu /* value after RESET or INIT: software-disabled */
#define LAPIC_DFR_FLAT 0xffffffffu

/* ICR fields (SDM vol. 3 11.6.1). */
#define ICR_FIXED (0u << 8)
#define ICR_LOWEST_PRIORITY (1u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_LOGICAL (1u << 11)
#define ICR_SEND_PENDING (1u << 12) /* delivery status */
#define ICR_ASSERT (1u << 14)
#define ICR_ALL_EXCLUDING_SELF (3u << 18)
#define ICR_DEST_SHIFT 24 /* in ICR high */

#define MSR_APIC_BASE 0x1bu
#define APIC_BASE_BSP (1u << 8)

/* How long a send may read send-pending before lapic_send_ipi gives up. */
#define ICR_IDLE_TIMEOUT_MS 100

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
/* This CPU's local APIC ID. */
uint32_t lapic_id(void);
/* The OR of the in-service registers. */
uint32_t lapic_isr_or(void);
/* Sends one IPI (ICR high, then low) and waits for the delivery status to
 * read idle; false if it still reads send-pending ICR_IDLE_TIMEOUT_MS
 * later (needs clock_init). */
bool lapic_send_ipi(uint32_t dest, uint32_t low);

#endif
