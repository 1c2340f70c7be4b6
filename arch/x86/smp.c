/*
 * Host SMP: starting the other processors, the host CPU seam vmm/ uses
 * (vmm/host.h), and the panic broadcast.
 *
 * Bring-up (SDM Vol. 3A 8.4.4.1, "Typical AP Initialization Sequence";
 * AMD APM Vol. 2 15.27.8 for the same on AMD): the boot CPU copies the
 * real-mode trampoline (arch/x86/ap_boot.S) to a low page, then starts each
 * processor the MADT lists, one at a time, with INIT, 10 ms, STARTUP,
 * 200 us, STARTUP, and waits until that CPU has set itself up (GDT/TSS/IST,
 * IDT, local APIC, VT) before starting the next. One at a time keeps the
 * console lines in order and lets every CPU share one set of start
 * parameters; the backends' cpu_enable also runs on one CPU at a time.
 *
 * A CPU is "up" once it runs Presidio's code with its own per-CPU block;
 * its index (host_cpu_index) is dense in the order the CPUs came up, the
 * boot CPU 0. "Usable" means up with VT on.
 */
#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/percpu.h"
#include "arch/x86/trap.h"
#include "arch/x86/tsc.h"
#include "arch/x86/virt.h"
#include "drivers/acpi.h"
#include "drivers/console.h"
#include "drivers/console_filter.h"
#include "drivers/lapic.h"
#include "lib/muldiv.h"
#include "lib/print.h"
#include "lib/spinlock.h"
#include "lib/string.h"
#include "mm/frame.h"
#include "mm/heap.h"
#include "mm/phys.h"
#include "vmm/backend.h"
#include "vmm/host.h"

_Static_assert(MAX_CPUS == HOST_MAX_CPUS, "vmm/host.h and arch/x86/percpu.h must agree");

#define AP_STACK_SIZE (32 * KiB)
#define XAPIC_MAX_DESTINATION 254 /* 0xff is the xAPIC broadcast ID */
/* Where the trampoline may go: page 0 holds the real-mode IVT and BIOS
 * data, and STARTUP vectors A0h-BFh are reserved (SDM 8.4.4.1), so below
 * the VGA window at 0xa0000. boot/main.c never hands out the first MiB. */
#define TRAMPOLINE_LOWEST PAGE_SIZE
#define TRAMPOLINE_END 0xa0000ULL
#define US_PER_SECOND 1000000ULL
#define INIT_DELAY_US 10000       /* SDM 8.4.4.1: INIT, then 10 ms */
#define STARTUP_DELAY_US 200      /* between the two STARTUP IPIs */
/* Generous, for emulators sharing a busy host: real CPUs answer in microseconds. */
#define AP_ANSWER_TIMEOUT_US (1 * US_PER_SECOND)
#define AP_SETUP_TIMEOUT_US (10 * US_PER_SECOND)
#define PANIC_STOP_TIMEOUT_US (1 * US_PER_SECOND)
#define PANIC_LINE_TIMEOUT_US (1 * US_PER_SECOND)
#define LEFT_OUT_MAX 200
#define REASON_MAX 120
#define NO_CPU 0xffffffffu

/* The trampoline's claim word (ap_boot.S uses the values ARMED and STARTED). */
enum ap_state { AP_STATE_IDLE = 0, AP_STATE_ARMED = 1, AP_STATE_STARTED = 2, AP_STATE_CANCELLED = 3 };

struct host_cpu {
	struct percpu *percpu;
	u32 apic_id;
	bool online;            /* runs with its IDT loaded: an NMI reaches its handler */
	bool usable;            /* VT on */
	bool started;           /* host_cpu_start() gave it a function */
	void (*start_fn)(void); /* the mailbox host_cpu_start() fills */
	bool stopped;           /* took the panic NMI */
};

static struct host_cpu cpus[MAX_CPUS];
static unsigned cpu_count = 1;
static bool others_started; /* an AP may be running: panics must stop it */

/* Start parameters, read by arch/x86/ap_boot.S. */
u64 ap_boot_cr3, ap_boot_stack;
struct percpu *ap_boot_cpu;
u32 ap_boot_efer;
extern const u8 ap_trampoline[], ap_trampoline_end[], ap_trampoline_state[];
void ap_main(struct percpu *cpu); /* called by ap_boot.S */

static u32 *trampoline_state; /* in the low copy */
static u8 trampoline_vector;  /* STARTUP vector: the copy's page number */
static bool ap_setup_done;
/* Prepared for a CPU that never answered: the next CPU takes them. */
static struct percpu *spare_percpu;
static u64 spare_stack_top;
static char left_out[LEFT_OUT_MAX];
static size_t left_out_length;

static u32 panic_cpu = NO_CPU;
static u32 panic_turn = NO_CPU; /* the stopped CPU whose line is due */

/* ---- time ---- */

static u64 us_to_tsc(u64 us) { return muldiv(us, tsc_hz, US_PER_SECOND); }

static void delay_us(u64 us)
{
	u64 start = rdtsc(), ticks = us_to_tsc(us);
	while (rdtsc() - start < ticks)
		cpu_relax();
}

/* Waits until *word differs from 'from', at most 'us'; false on timeout. */
static bool wait_u32_change(const u32 *word, u32 from, u64 us)
{
	u64 start = rdtsc(), ticks = us_to_tsc(us);
	while (__atomic_load_n(word, __ATOMIC_ACQUIRE) == from) {
		if (rdtsc() - start >= ticks)
			return false;
		cpu_relax();
	}
	return true;
}

static bool wait_true(const bool *flag, u64 us)
{
	u64 start = rdtsc(), ticks = us_to_tsc(us);
	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE)) {
		if (rdtsc() - start >= ticks)
			return false;
		cpu_relax();
	}
	return true;
}

/* ---- the host CPU seam (vmm/host.h) ---- */

unsigned host_cpu_index(void) { return this_cpu()->index; }

unsigned spinlock_cpu_id(void) { return this_cpu()->index + 1; }

unsigned host_cpu_count(void) { return __atomic_load_n(&cpu_count, __ATOMIC_ACQUIRE); }

bool host_cpu_usable(unsigned cpu)
{
	return cpu < host_cpu_count() && cpus[cpu].usable;
}

/* The kick's only job is the VM exit or the end of HLT it caused. */
static void kick_interrupt(struct trap_frame *frame)
{
	lapic_eoi();
}

void host_cpu_kick(unsigned cpu)
{
	if (cpu >= host_cpu_count() || cpu == host_cpu_index())
		return;
	lapic_send_fixed(cpus[cpu].apic_id, LAPIC_KICK_VECTOR);
}

void smp_withhold_cpu(unsigned cpu)
{
	if (cpu < host_cpu_count())
		cpus[cpu].usable = false;
}

void host_cpu_start(unsigned cpu, void (*fn)(void))
{
	if (!fn || cpu == 0 || cpu >= host_cpu_count() || cpu == host_cpu_index() ||
	    __atomic_exchange_n(&cpus[cpu].started, true, __ATOMIC_ACQ_REL))
		panic("host_cpu_start: cpu %u cannot take a function (%u CPUs up, called on cpu %u)",
		      cpu, host_cpu_count(), host_cpu_index());
	__atomic_store_n(&cpus[cpu].start_fn, fn, __ATOMIC_RELEASE);
	host_cpu_kick(cpu);
}

/*
 * Interrupts are off on entry, so a kick or timer that arrives after the
 * caller looked at its work stays pending; STI's one-instruction shadow
 * keeps it pending until HLT, which it then ends: no wake-up is lost.
 */
void host_cpu_idle(u64 deadline_tsc)
{
	if (deadline_tsc != ~0ULL) {
		u64 now = rdtsc();
		if (deadline_tsc <= now || !tsc_hz || !lapic_usable())
			return; /* due, or no timer to wake us: the caller polls */
		lapic_timer_oneshot(MAX(muldiv(deadline_tsc - now, NS_PER_SECOND, tsc_hz), 1));
	}
	cpu_wait_for_interrupt();
}

/* ---- the other CPUs' side ---- */

static NORETURN void wait_for_work(struct host_cpu *me)
{
	for (;;) {
		void (*fn)(void) = __atomic_exchange_n(&me->start_fn, NULL, __ATOMIC_ACQUIRE);
		if (fn) {
			fn();
			panic("cpu %u: the function host_cpu_start() gave it returned", host_cpu_index());
		}
		cpu_wait_for_interrupt(); /* until host_cpu_start()'s kick */
	}
}

static void announce(unsigned index, bool vt_on, const char *why)
{
	if (vt_on)
		pr_info("cpu %u: APIC ID %u up, %s on", index, cpus[index].apic_id, virt_short_name());
	else
		pr_warn("cpu %u: APIC ID %u up, %s off: %s", index, cpus[index].apic_id,
			virt_short_name(), why);
}

static void note_left_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note_left_out(const char *fmt, ...)
{
	if (left_out_length >= sizeof(left_out) - 1)
		return;
	if (left_out_length)
		left_out_length += ksnprintf(left_out + left_out_length,
					     sizeof(left_out) - left_out_length, "; ");
	va_list ap;
	va_start(ap, fmt);
	if (left_out_length < sizeof(left_out))
		left_out_length += kvsnprintf(left_out + left_out_length,
					      sizeof(left_out) - left_out_length, fmt, ap);
	va_end(ap);
	left_out_length = MIN(left_out_length, sizeof(left_out) - 1);
}

static bool enable_vt(char *why, size_t why_len)
{
	if (!backend) {
		ksnprintf(why, why_len, "no backend");
		return false;
	}
	return backend->cpu_enable(why, why_len) == 0;
}

void ap_main(struct percpu *cpu)
{
	percpu_init(cpu);
	idt_load();
	struct host_cpu *me = &cpus[cpu->index];
	me->percpu = cpu;
	me->apic_id = cpu->apic_id;
	__atomic_store_n(&me->online, true, __ATOMIC_RELEASE);
	lapic_cpu_init();
	char why[REASON_MAX];
	bool vt_on = virt_cpu_check(why, sizeof(why)) && enable_vt(why, sizeof(why));
	me->usable = vt_on;
	announce(cpu->index, vt_on, why);
	if (!vt_on)
		note_left_out("cpu %u: %s", cpu->index, why);
	__atomic_store_n(&ap_setup_done, true, __ATOMIC_RELEASE);
	wait_for_work(me);
}

/* ---- the boot CPU's side ---- */

/* A page the firmware map calls usable RAM and no boot module uses. */
static bool page_is_free_low_ram(const struct boot_info *bi, u64 page)
{
	bool usable = false;
	for (unsigned i = 0; i < bi->mem_count; i++) {
		const struct mem_region *r = &bi->mem[i];
		bool overlaps = r->base < page + PAGE_SIZE && page < r->base + r->length;
		if (!overlaps)
			continue;
		if (r->type != MEM_USABLE)
			return false; /* overlapping entries: the stricter one wins */
		usable |= r->base <= page && page + PAGE_SIZE <= r->base + r->length;
	}
	for (unsigned i = 0; i < bi->module_count; i++)
		if (bi->modules[i].start < page + PAGE_SIZE && page < bi->modules[i].end)
			return false;
	return usable;
}

static bool install_trampoline(const struct boot_info *bi)
{
	size_t size = ap_trampoline_end - ap_trampoline;
	if (size > PAGE_SIZE)
		return false;
	for (u64 page = TRAMPOLINE_LOWEST; page + PAGE_SIZE <= TRAMPOLINE_END; page += PAGE_SIZE) {
		if (!page_is_free_low_ram(bi, page))
			continue;
		memcpy(phys_to_virt(page), ap_trampoline, size);
		trampoline_state = phys_to_virt(page + (ap_trampoline_state - ap_trampoline));
		trampoline_vector = page >> PAGE_SHIFT;
		return true;
	}
	return false;
}

/* A per-CPU block with its IST stacks and kernel stack, for CPU 'index'. */
static struct percpu *prepare_percpu(unsigned index, u32 apic_id)
{
	struct percpu *cpu = spare_percpu;
	if (!cpu) {
		cpu = kzalloc(sizeof(*cpu));
		u64 stacks = frame_alloc_contig((IST_COUNT * IST_STACK_SIZE + AP_STACK_SIZE) / PAGE_SIZE,
						PAGE_SIZE);
		if (!cpu || !stacks) {
			kfree(cpu);
			return NULL;
		}
		u8 *base = phys_to_virt(stacks);
		for (int i = 1; i <= IST_COUNT; i++)
			cpu->ist_stack_top[i] = base + i * IST_STACK_SIZE;
		spare_stack_top = (u64)(base + IST_COUNT * IST_STACK_SIZE + AP_STACK_SIZE);
		spare_percpu = cpu;
	}
	ap_boot_stack = spare_stack_top;
	cpu->index = index;
	cpu->apic_id = apic_id;
	return cpu;
}

/* INIT-SIPI-SIPI, then wait for the CPU to claim the start; false if it
 * never did (it is then sent INIT again, back to waiting for a SIPI). */
static bool send_startup(u32 apic_id)
{
	__atomic_store_n(trampoline_state, AP_STATE_ARMED, __ATOMIC_SEQ_CST);
	lapic_send_init(apic_id);
	delay_us(INIT_DELAY_US);
	lapic_send_startup(apic_id, trampoline_vector);
	delay_us(STARTUP_DELAY_US);
	if (__atomic_load_n(trampoline_state, __ATOMIC_ACQUIRE) == AP_STATE_ARMED)
		lapic_send_startup(apic_id, trampoline_vector);
	if (wait_u32_change(trampoline_state, AP_STATE_ARMED, AP_ANSWER_TIMEOUT_US))
		return true;
	u32 armed = AP_STATE_ARMED;
	if (!__atomic_compare_exchange_n(trampoline_state, &armed, AP_STATE_CANCELLED, false,
					 __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return true; /* it claimed the start just now */
	lapic_send_init(apic_id);
	return false;
}

/* Returns false when no further CPU may be started. */
static bool start_cpu(u32 apic_id)
{
	unsigned index = cpu_count;
	struct percpu *cpu = prepare_percpu(index, apic_id);
	if (!cpu) {
		note_left_out("APIC ID %u: out of memory", apic_id);
		return false;
	}
	ap_boot_cpu = cpu;
	__atomic_store_n(&ap_setup_done, false, __ATOMIC_SEQ_CST);
	others_started = true;
	if (!send_startup(apic_id)) {
		note_left_out("APIC ID %u: no answer to INIT-SIPI-SIPI", apic_id);
		return true; /* its block and stacks go to the next CPU */
	}
	spare_percpu = NULL;
	if (!wait_true(&ap_setup_done, AP_SETUP_TIMEOUT_US)) {
		/* It runs on these start parameters: none can be reused. */
		note_left_out("cpu %u (APIC ID %u): started but never finished its set-up; "
			      "no further CPU started", index, apic_id);
		return false;
	}
	__atomic_store_n(&cpu_count, index + 1, __ATOMIC_RELEASE);
	return true;
}

static bool already_up(u32 apic_id)
{
	for (unsigned i = 0; i < cpu_count; i++)
		if (cpus[i].apic_id == apic_id)
			return true;
	return false;
}

static void start_other_cpus(const struct boot_info *bi)
{
	if (acpi_info.cpu_count <= 1)
		return;
	if (!lapic_usable() || !tsc_hz) {
		note_left_out("the other %u: no local APIC timer or TSC rate to start them with",
			      acpi_info.cpu_count - 1);
		return;
	}
	if (!install_trampoline(bi)) {
		note_left_out("the other %u: no free page below 640 KiB for the start-up code",
			      acpi_info.cpu_count - 1);
		return;
	}
	ap_boot_cr3 = read_cr3();
	ap_boot_efer = rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE);
	for (unsigned i = 0; i < acpi_info.cpu_count; i++) {
		u32 id = acpi_info.apic_ids[i];
		if (already_up(id))
			continue;
		if (id > XAPIC_MAX_DESTINATION)
			note_left_out("APIC ID %u: only reachable in x2APIC mode", id);
		else if (cpu_count == MAX_CPUS)
			note_left_out("APIC ID %u: more than %u CPUs", id, MAX_CPUS);
		else if (!start_cpu(id))
			break;
	}
}

static void print_summary(void)
{
	unsigned vt_on = 0;
	for (unsigned i = 0; i < cpu_count; i++)
		vt_on += cpus[i].usable;
	char on[16];
	if (vt_on == cpu_count)
		ksnprintf(on, sizeof(on), "all");
	else
		ksnprintf(on, sizeof(on), "%u", vt_on);
	pr_info("%u CPU%s up, %s on %s%s%s%s", cpu_count, cpu_count == 1 ? "" : "s",
		virt_short_name(), on, left_out_length ? " (" : "", left_out,
		left_out_length ? ")" : "");
}

void smp_init(const struct boot_info *bi)
{
	char why[REASON_MAX];
	struct percpu *bsp = this_cpu();
	bsp->apic_id = lapic_id();
	cpus[0] = (struct host_cpu){ .percpu = bsp, .apic_id = bsp->apic_id, .online = true };
	idt_set_handler(LAPIC_KICK_VECTOR, kick_interrupt);

	/* One backend for every CPU, chosen from the boot CPU's capabilities. */
	backend = backend_select(why, sizeof(why));
	if (!backend) {
		pr_info("smp: VMs cannot run on this machine; the other CPUs stay off");
		return;
	}
	cpus[0].usable = enable_vt(why, sizeof(why));
	announce(0, cpus[0].usable, why);
	if (!cpus[0].usable)
		note_left_out("cpu 0: %s", why);
	start_other_cpus(bi);
	print_summary();
}

/* ---- panic ---- */

void panic_stop_other_cpus(void)
{
	irq_disable();
	u32 me = host_cpu_index(), nobody = NO_CPU;
	if (!__atomic_compare_exchange_n(&panic_cpu, &nobody, me, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		cpu_halt_forever(); /* another panic is under way: its NMI stops this CPU */
	if (!__atomic_load_n(&others_started, __ATOMIC_ACQUIRE)) {
		console_break_lock();
		return;
	}
	/* The NMI reaches CPUs spinning with interrupts off and, through
	 * their VM exit, CPUs running guests. */
	lapic_send_nmi_to_others();
	u64 start = rdtsc(), ticks = us_to_tsc(PANIC_STOP_TIMEOUT_US);
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		if (i == me || !__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
			continue;
		while (!__atomic_load_n(&cpus[i].stopped, __ATOMIC_ACQUIRE) && rdtsc() - start < ticks)
			cpu_relax();
	}
	/* Whoever held the console lock is stopped now. */
	console_break_lock();
	kprintf("\n" CONSOLE_PREFIX "stopping the other CPUs (cpu %u failed)\n", me);
	for (unsigned i = 0; i < MAX_CPUS; i++) {
		if (i == me || !__atomic_load_n(&cpus[i].online, __ATOMIC_ACQUIRE))
			continue;
		if (!__atomic_load_n(&cpus[i].stopped, __ATOMIC_ACQUIRE)) {
			kprintf(CONSOLE_PREFIX "cpu %u: no answer to the NMI\n", i);
			continue;
		}
		/* Each stopped CPU prints its own line, one at a time. */
		__atomic_store_n(&panic_turn, i, __ATOMIC_RELEASE);
		if (!wait_u32_change(&panic_turn, i, PANIC_LINE_TIMEOUT_US))
			console_break_lock();
	}
}

bool smp_panic_nmi(void)
{
	u32 panicking = __atomic_load_n(&panic_cpu, __ATOMIC_ACQUIRE);
	if (panicking == NO_CPU)
		return false;
	u32 me = host_cpu_index();
	if (panicking == me)
		return true; /* our own dump is under way: let it finish */
	__atomic_store_n(&cpus[me].stopped, true, __ATOMIC_RELEASE);
	while (__atomic_load_n(&panic_turn, __ATOMIC_ACQUIRE) != me)
		cpu_relax();
	kprintf(CONSOLE_PREFIX "cpu %u: stopped by cpu %u's panic\n", me, panicking);
	__atomic_store_n(&panic_turn, NO_CPU, __ATOMIC_RELEASE);
	cpu_halt_forever(); /* NMIs stay blocked: this handler never returns */
}
