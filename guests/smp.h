/*
 * The smp guest's shared pieces: the CPU table (BSP first, then the APs in
 * MADT order) and the per-CPU side (local APIC setup, interrupt counting,
 * the AP entry and its command loop) that guests/smp_cpu.c implements for
 * guests/smp.c. The MADT reader, the clock, the local APIC and the AP
 * start-up are in guests/lib (madt, clock, lapic, ap_start).
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

#include "ap_start.h"
#include "clock.h"
#include "lapic.h"
#include "madt.h"

/* The flat logical model gives each CPU one of the 8 LDR bits. */
#define SMP_MAX_CPUS MADT_MAX_CPUS

/* Interrupt vectors the guest uses; one count per vector and CPU. */
#define VEC_FIRST 0x50
#define VEC_FIXED 0x50     /* BSP -> AP, physical destination */
#define VEC_TO_BSP 0x51    /* AP -> BSP */
#define VEC_BROADCAST 0x52 /* all excluding self */
#define VEC_LOGICAL 0x53   /* flat logical destination */
#define VEC_LOWEST 0x54    /* lowest priority to a logical set */
#define VEC_RESTARTED 0x55 /* to the AP started again after INIT */
#define VEC_COUNT 6
#define VEC_SPURIOUS 0xff
#define VECTOR_NMI 2

/* Commands the BSP gives a running AP (struct smp_cpu.cmd). */
enum ap_command {
	CMD_PING,       /* answer, nothing else */
	CMD_SEND_IPI,   /* arg0: destination APIC ID, arg1: ICR low; result: 1 if idle after */
	CMD_EXPECT_NMI, /* arg0: NMI count before; result: NMIs seen since (waits for one) */
	CMD_COUNT,      /* join the run in struct count_shared; result: 1 if not abandoned */
	CMD_READ_ISR,   /* result: the OR of the in-service registers */
};

struct smp_cpu {
	uint32_t apic_id; /* from the MADT */
	bool alive;       /* the BSP's view: answered every command so far */
	/* Written by the CPU itself when it starts (the BSP's by smp.c). */
	volatile uint32_t started;       /* times it reached C code */
	volatile uint32_t start_segment; /* CS of the trampoline it ran */
	volatile uint32_t entry_svr, entry_ldr; /* its local APIC as found */
	volatile uint32_t cpuid_apic_id, lapic_id, apic_base_msr;
	volatile uint32_t ldr, dfr; /* read back after the flat-model setup */
	/* Commands: the BSP writes cmd and args, then bumps cmd_seq. */
	volatile uint32_t cmd, arg0, arg1, result;
	volatile uint32_t cmd_seq, done_seq;
	/* What its interrupt handlers saw. */
	volatile uint32_t irq_count[VEC_COUNT];
	volatile uint32_t nmi_count, spurious_count;
	/* Its own IPIs: how many it sent, and how many stayed send-pending. */
	volatile uint32_t icr_sends, icr_stuck;
	/* Its share of the spinlock run. */
	volatile uint32_t locks_taken;
};

/*
 * cpus[0] is the BSP, cpus[1..cpu_count-1] the APs. One more slot takes
 * interrupts on a CPU whose APIC ID is not in the table.
 */
extern struct smp_cpu cpus[SMP_MAX_CPUS + 1];
extern uint32_t cpu_count;
#define CPU_UNKNOWN SMP_MAX_CPUS

/* Set by the BSP before each SIPI: which CPU starts. */
extern volatile uint32_t ap_boot_index;
/* The entry the trampoline calls on a started AP. */
void ap_main(uint32_t start_segment);

struct ticket_lock {
	volatile uint32_t next;    /* the ticket the next taker draws */
	volatile uint32_t serving; /* the ticket that holds the lock */
};

/* CMD_COUNT's shared memory, set up by the BSP before each run. */
struct count_shared {
	uint32_t participants, atomic_rounds, lock_rounds;
	volatile uint32_t ready, go, stop, abort, atomic_finished;
	volatile uint32_t atomic_total, locked_total;
	struct ticket_lock lock;
	volatile uint64_t atomic_end; /* TSC when the BSP passed the barrier */
};
extern struct count_shared count;
/* The BSP's limits (TSC): stop taking the spinlock, abandon the run. */
struct count_deadlines {
	uint32_t budget_ms; /* for the spinlock, from the barrier on */
	uint64_t budget, abandon;
};
/* APs pass NULL: they wait as long as the BSP lets them. */
bool count_work(struct count_deadlines *d);

/* Sends one IPI from this CPU and counts it (lapic_send_ipi). */
bool icr_send(uint32_t dest, uint32_t low);
/* Counts sends made elsewhere (INIT, SIPIs) of which `stuck` stayed pending. */
void icr_count(uint32_t sends, uint32_t stuck);
/* The flat logical model, this CPU's LDR bit, TPR 0, software-enabled. */
void lapic_setup(struct smp_cpu *c, uint32_t index);
/* CPUID.1 EBX[31:24], the local APIC ID register and IA32_APIC_BASE. */
void record_identity(struct smp_cpu *c);
/* This CPU's slot, found by its local APIC ID (CPU_UNKNOWN if none). */
uint32_t this_cpu_index(void);
void install_interrupt_handlers(void);
uint32_t ldr_bit(uint32_t index);

#endif
