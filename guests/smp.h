/*
 * The smp guest's shared pieces: the CPU table (BSP first, then the APs in
 * MADT order), the xAPIC registers, the clock, and the per-CPU side (local
 * APIC setup, interrupt counting, the AP entry and its command loop) that
 * guests/smp_cpu.c implements for guests/smp.c.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stdint.h>

/* The flat logical model gives each CPU one of the 8 LDR bits. */
#define SMP_MAX_CPUS 8

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

/* Set by the BSP before each SIPI: which CPU starts, on which stack. */
extern volatile uint32_t ap_boot_index;
extern volatile uint32_t ap_boot_stack;
/* The operand of LGDT/LIDT/SGDT/SIDT in 32-bit code. */
struct __attribute__((packed)) pseudo_descriptor {
	uint16_t limit;
	uint32_t base;
};

/* The IDT the BSP runs with; each AP loads the same one. */
extern struct pseudo_descriptor ap_idtr;

/* The real-mode trampoline (guests/smp_trampoline.asm): copied to a page
 * below 1 MiB; smp_trampoline_gdtr is patched with the guest's GDTR. */
extern const uint8_t smp_trampoline_start[], smp_trampoline_end[], smp_trampoline_gdtr[];

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

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t value);
uint32_t lapic_isr_or(void);
/* Sends one IPI from this CPU; false if it still reads send-pending
 * ICR_IDLE_TIMEOUT_MS later. */
#define ICR_IDLE_TIMEOUT_MS 100
bool icr_send(uint32_t dest, uint32_t low);
/* The flat logical model, this CPU's LDR bit, TPR 0, software-enabled. */
void lapic_setup(struct smp_cpu *c, uint32_t index);
/* CPUID.1 EBX[31:24], the local APIC ID register and IA32_APIC_BASE. */
void record_identity(struct smp_cpu *c);
/* This CPU's slot, found by its local APIC ID (CPU_UNKNOWN if none). */
uint32_t this_cpu_index(void);
void install_interrupt_handlers(void);
uint32_t ldr_bit(uint32_t index);

/* The enabled local APICs the ACPI MADT lists (guests/smp_madt.c). */
struct madt_cpus {
	uint32_t count;                  /* all enabled ones */
	uint32_t apic_id[SMP_MAX_CPUS];  /* the first SMP_MAX_CPUS, in MADT order */
	uint32_t x2apic_entries;         /* enabled ones from type 9 entries */
	uint32_t disabled;               /* entries without the Enabled flag */
	uint32_t rsdp, madt;             /* where the tables were */
	uint32_t rsdp_revision;
	uint32_t lapic_address;          /* the MADT's local interrupt controller address */
};
/* Finds the MADT through the RSDP in 0xe0000-0xfffff; NULL, or what went wrong. */
const char *madt_find_cpus(struct madt_cpus *out);

/* The clock: the TSC, calibrated against PIT channel 2 by clock_init. */
bool clock_init(void);
uint32_t clock_tsc_khz(void);
uint64_t deadline_after_ms(uint32_t ms);
bool deadline_passed(uint64_t deadline);
void delay_us(uint32_t us);
uint32_t clock_ms_since(uint64_t start);
/* Waits (pausing) until *p == want; false on timeout. */
bool wait_for_u32(const volatile uint32_t *p, uint32_t want, uint32_t timeout_ms);

#endif
