/*
 * Starting an application processor (AP) by INIT-SIPI-SIPI through the
 * xAPIC ICR (SDM vol. 3 8.4.4): the real-mode trampoline
 * (guests/lib/ap_trampoline.asm) copied to a page below 1 MiB, whose number
 * is the SIPI vector, takes the AP to 32-bit protected mode with the GDT and
 * IDT of the CPU that installed it, onto the stack given with the SIPIs, and
 * calls the given C entry with IF=0. Delays come from guests/lib/clock.c
 * (call clock_init first).
 */
#ifndef GUEST_AP_START_H
#define GUEST_AP_START_H

#include <stdint.h>

/* The operand of LGDT/LIDT/SGDT/SIDT in 32-bit code. */
struct __attribute__((packed)) pseudo_descriptor {
	uint16_t limit;
	uint32_t base;
};

/* Runs on the AP; start_segment is the trampoline's CS (page >> 4). */
typedef void (*ap_entry_fn)(uint32_t start_segment);

/* Copies the trampoline to `page` (4 KiB aligned, below 1 MiB, free RAM)
 * and records this CPU's GDTR and IDTR for the APs it starts. */
void ap_trampoline_install(uint32_t page);
uint32_t ap_sipi_vector(uint32_t page);

/* INIT (assert) to the APIC ID, then the SDM's 10 ms wait. Returns how many
 * of its sends (1) still read send-pending ICR_IDLE_TIMEOUT_MS later. */
#define AP_INIT_SENDS 1u
uint32_t ap_send_init(uint32_t apic_id);
/* Two SIPIs with the page's vector, 200 us apart (a started AP ignores the
 * second); the AP runs entry(CS) on stack_top. Returns how many of its
 * sends (2) stayed send-pending. */
#define AP_SIPI_SENDS 2u
uint32_t ap_send_sipis(uint32_t apic_id, uint32_t page, ap_entry_fn entry, void *stack_top);

#endif
