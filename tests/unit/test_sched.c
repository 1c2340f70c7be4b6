/*
 * Unit tests for the vCPU scheduler (vmm/sched.c) and the request/kick
 * protocol around it (vmm/vcpu_request.c, the kick in vmm/vtime.c's
 * vtimer_arm): where vCPUs are placed, which vCPU a CPU runs next, what a
 * CPU with nothing to run sleeps until, and which host CPUs a request or a
 * timer wakes.
 *
 * The real scheduler runs here, with a VM of four vCPUs on the real local
 * APIC models (vmm/apic.c, vmm/dev/lapic.c), the real INIT/SIPI handling
 * (vmm/vcpu_init.c), the real PIT (vmm/dev/i8254.c) and the real guest
 * clock and timers (vmm/vtime.c). Faked: the host seam vmm/host.h (which
 * CPU we are on, kick IPIs recorded, idle recorded) and what vmm/vm.c
 * gives the scheduler (a vCPU's slice, leaving the CPU). sched_cpu_loop()
 * never returns: run_cpu() lets it go round until it has run a number of
 * slices or the CPU goes idle, then jumps out of the fake slice or idle.
 */
#include "tests/unit/host_support.h"
#include <string.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

/* The scheduler, vtime.c and apic.c read the host TSC and vcpu_init.c asks
 * CPUID leaf 1: include arch/x86/cpu.h (#pragma once) first, then make the
 * later calls fakes. */
#include "arch/x86/cpu.h"

#define TEST_TSC_HZ 2000000000ULL
#define TSC_PER_NS 2
#define TSC_BASE 7000000ULL       /* the host TSC at host time 0 */
#define START_NS 3000000ULL       /* host time the VM is created at: guest time 0 */
#define MS 1000000ULL
#define FAKE_SIGNATURE 0x000906eau

static u64 host_ns; /* host time, driven by the tests */
static u64 fake_rdtsc(void) { return TSC_BASE + host_ns * TSC_PER_NS; }
#define rdtsc() fake_rdtsc()

static struct cpuid_regs fake_cpuid(u32 leaf, u32 subleaf)
{
	return (struct cpuid_regs){ leaf == 1 ? FAKE_SIGNATURE : 0, 0, 0, 0 };
}
#define cpuid(leaf, subleaf) fake_cpuid(leaf, subleaf)

u64 tsc_hz = TEST_TSC_HZ;

#include "vmm/iobus.c"
#include "vmm/dev/i8259.c"
#define read_reg ioapic_read_reg
#define write_reg ioapic_write_reg
#include "vmm/dev/ioapic.c"
#undef read_reg
#undef write_reg
#include "vmm/dev/lapic.c"
#include "vmm/apic.c"
#include "vmm/dev/i8254.c"
#include "vmm/cr_rules.c"
#include "vmm/vcpu_control.c"
#include "vmm/vcpu_init.c"
#include "vmm/vcpu_request.c"
#include "vmm/vtime.c"
#include "vmm/sched.c"

/* ---- The host seam (vmm/host.h) ---- */

#define ALL_CPUS 0xfULL /* CPUs 0-3 up with VT */

static unsigned this_cpu;
static u64 usable_cpus;
static unsigned kicks[HOST_MAX_CPUS];
static unsigned kick_total;
static u64 idle_until;
static jmp_buf loop_exit;

unsigned host_cpu_index(void) { return this_cpu; }
bool host_cpu_usable(unsigned cpu) { return cpu < HOST_MAX_CPUS && ((usable_cpus >> cpu) & 1); }

void host_cpu_kick(unsigned cpu)
{
	assert_true(cpu < HOST_MAX_CPUS);
	kicks[cpu]++;
	kick_total++;
}

void host_cpu_start(unsigned cpu, void (*fn)(void)) { fail_msg("the scheduler starts no CPU"); }
/* vcpu_control.c's XSETBV path (no guest here executes one). */
int host_set_guest_xcr0(struct vcpu *v, u64 xcr0) { fail_msg("no XSETBV expected"); return -1; }
u64 host_xcr0_supported(void) { return 1; }

/* The CPU found nothing to run: note until when it sleeps, and leave the loop. */
void host_cpu_idle(u64 deadline_tsc)
{
	idle_until = deadline_tsc;
	longjmp(loop_exit, 2);
}

/* ---- What vmm/vm.c and vmm/vmm.c give the scheduler ---- */

#define MAX_SLICES 32

static struct vcpu *ran[MAX_SLICES]; /* whose slices the CPU ran, in order */
static unsigned slices, slice_limit;
static void (*during_slice)(struct vcpu *v);
static unsigned leaves, vms_ended;

/* A vCPU's slice: it runs only on its own CPU with its state loaded; its
 * requests are handled as vm.c's handle_requests() does (INIT/SIPI through
 * the real vcpu_init.c, the others consumed). The test's hook plays the
 * guest. After slice_limit slices the loop is left. */
void vcpu_run_slice(struct vcpu *v)
{
	assert_int_equal(v->cpu, this_cpu);
	assert_ptr_equal(lists[this_cpu].loaded, v);
	assert_true(slices < MAX_SLICES);
	ran[slices++] = v;
	if (v->requests & (BIT(VCPU_REQ_INIT) | BIT(VCPU_REQ_SIPI)))
		vcpu_handle_init_sipi(v);
	v->requests = 0;
	if (during_slice)
		during_slice(v);
	if (slices == slice_limit)
		longjmp(loop_exit, 1);
}

/* As vm.c: the last vCPU out returns true. Nothing may be loaded on the
 * CPU by then (vmm_vm_ended() may build a VM on it). */
bool vcpu_leave(struct vcpu *v)
{
	assert_null(lists[this_cpu].loaded);
	leaves++;
	v->run_state = VCPU_DONE;
	return __atomic_sub_fetch(&v->vm->vcpus_active, 1, __ATOMIC_ACQ_REL) == 0;
}

void vmm_vm_ended(struct vm *ended) { vms_ended++; }

void *kzalloc(size_t size) { return calloc(1, size); }

#include "tests/unit/fake_device_list.h"

void vm_log(const struct vm *owner, const char *fmt, ...) {}

/* A backend that keeps each vCPU's control state apart and counts puts. */
#define NVCPUS 4

struct test_cpu {
	struct vcpu_sregs sregs;
};
static struct test_cpu hw[NVCPUS];
static unsigned state_puts;

static struct test_cpu *hw_of(struct vcpu *v) { return &hw[v->id]; }
static void t_get_sregs(struct vcpu *v, struct vcpu_sregs *s) { *s = hw_of(v)->sregs; }
static void t_set_sregs(struct vcpu *v, const struct vcpu_sregs *s) { hw_of(v)->sregs = *s; }
static void t_get_control(struct vcpu *v, struct vcpu_control *c)
{
	const struct vcpu_sregs *s = &hw_of(v)->sregs;
	*c = (struct vcpu_control){ .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
}
static void t_set_window(struct vcpu *v, bool on) {}
static void t_clear_shadow(struct vcpu *v) {}
static void t_vcpu_load(struct vcpu *v) {}
static void t_vcpu_put(struct vcpu *v) { state_puts++; }

static const struct backend_ops test_backend = {
	.name = "test",
	.get_sregs = t_get_sregs,
	.set_sregs = t_set_sregs,
	.get_control = t_get_control,
	.set_interrupt_window = t_set_window,
	.clear_interrupt_shadow = t_clear_shadow,
	.vcpu_load = t_vcpu_load,
	.vcpu_put = t_vcpu_put,
};
const struct backend_ops *backend = &test_backend;

/* ---- The VMs: a 4-vCPU PC (vCPU 0 running, the APs waiting for a SIPI)
 * and a one-vCPU VM without devices ---- */

static struct vm vm, other;
static struct vcpu vcpus[NVCPUS], other_vcpu;
static struct vcpu *const v0 = &vcpus[0], *const v1 = &vcpus[1], *const v2 = &vcpus[2], *const v3 = &vcpus[3];

static void init_vcpu(struct vm *owner, struct vcpu *v, unsigned id)
{
	v->vm = owner;
	v->id = id;
	v->next_deadline = VTIMER_INACTIVE;
	v->slice_end_ns = VTIMER_INACTIVE;
	owner->vcpu[owner->vcpu_count++] = v;
}

static void clear_kicks(void)
{
	memset(kicks, 0, sizeof(kicks));
	kick_total = 0;
}

static int setup(void **state)
{
	memset(lists, 0, sizeof(lists));
	memset(&placement_lock, 0, sizeof(placement_lock));
	memset(&vm, 0, sizeof(vm));
	memset(&other, 0, sizeof(other));
	memset(vcpus, 0, sizeof(vcpus));
	memset(&other_vcpu, 0, sizeof(other_vcpu));
	memset(hw, 0, sizeof(hw));
	host_ns = START_NS;
	this_cpu = 0;
	usable_cpus = ALL_CPUS;
	clear_kicks();
	slices = leaves = vms_ended = state_puts = 0;
	idle_until = 0;
	during_slice = NULL;

	strncpy_terminated(vm.name, "sched-test", sizeof(vm.name));
	vtime_vm_init(&vm);
	io_bus_init(&vm.pio, "port");
	io_bus_init(&vm.mmio, "MMIO");
	vm.pic = i8259_create(&vm);
	assert_non_null(vm.pic);
	assert_int_equal(vm_apic_create(&vm), 0);
	assert_non_null(i8254_create(&vm));
	for (unsigned i = 0; i < NVCPUS; i++) {
		init_vcpu(&vm, &vcpus[i], i);
		assert_int_equal(vcpu_apic_create(&vcpus[i]), 0);
		if (i)
			vcpu_power_on_ap(&vcpus[i]);
		vcpus[i].requests = 0;
	}
	vm.vcpus_active = NVCPUS;
	vm.state = VM_RUNNING;

	strncpy_terminated(other.name, "other", sizeof(other.name));
	vtime_vm_init(&other);
	init_vcpu(&other, &other_vcpu, 0);
	other.vcpus_active = 1;
	other.state = VM_RUNNING;
	return 0;
}

static int teardown(void **state)
{
	fake_free_devices(&vm);
	return 0;
}

/* Pins vCPU i to cpu_of[i] and puts it on that CPU's run list, as
 * vmm.c's start() does (from CPU 0); forgets the kicks that cost. */
static void start_on(const unsigned *cpu_of)
{
	for (unsigned i = 0; i < NVCPUS; i++)
		vcpus[i].cpu = cpu_of[i];
	for (unsigned i = 0; i < NVCPUS; i++)
		sched_add(&vcpus[i]);
	clear_kicks();
}

static void add_other(unsigned cpu)
{
	other_vcpu.cpu = cpu;
	sched_add(&other_vcpu);
	clear_kicks();
}

/* Runs the scheduler of 'cpu' until it has run 'limit' slices (1) or has
 * nothing to run and idles (2). */
static int run_cpu(unsigned cpu, unsigned limit)
{
	this_cpu = cpu;
	slices = 0;
	slice_limit = limit;
	idle_until = 0;
	int how = setjmp(loop_exit);
	if (how == 0)
		sched_cpu_loop();
	return how;
}

static unsigned slices_of(const struct vcpu *v)
{
	unsigned n = 0;
	for (unsigned i = 0; i < slices; i++)
		n += ran[i] == v;
	return n;
}

/* The host TSC when guest time reaches 'guest_ns'. */
static u64 tsc_at_guest_ns(u64 guest_ns) { return TSC_BASE + (START_NS + guest_ns) * TSC_PER_NS; }

static u64 guest_now(void) { return vm_time_ns(&vm); }

/* ---- Guest accesses ---- */

#define LAPIC_BASE 0xfee00000ULL
#define APIC_SVR 0xf0
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER_REG 0x320
#define APIC_TMICT_REG 0x380
#define APIC_TDCR_REG 0x3e0
#define TDCR_DIVIDE_BY_1 0xb
#define TIMER_VECTOR 0x40
#define ICR_FIXED (0u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_ASSERT BIT(14)
#define ICR_SELF (1u << 18)
#define PIT_CHANNEL0 0x40
#define PIT_CONTROL 0x43
#define PIT_CH0_LOHI_MODE0 0x30
#define PIT_COUNT_1MS 1193 /* 1.193182 MHz */

static void lapic_wr(struct vcpu *v, u32 offset, u32 value)
{
	io_bus_write(&vm.mmio, v, "test", LAPIC_BASE + offset, 4, value);
}

/* The guest on vCPU v (on its own CPU) starts its local APIC timer, one
 * shot, 'ns' from now (the bus clock is 1 GHz, divide by 1). */
static void lapic_timer_in(struct vcpu *v, u64 ns)
{
	unsigned saved = this_cpu;
	this_cpu = v->cpu;
	lapic_wr(v, APIC_TDCR_REG, TDCR_DIVIDE_BY_1);
	lapic_wr(v, APIC_LVT_TIMER_REG, TIMER_VECTOR);
	lapic_wr(v, APIC_TMICT_REG, (u32)ns);
	this_cpu = saved;
}

/* An xAPIC IPI from vCPU 'from', on its own CPU. */
static void guest_ipi(struct vcpu *from, u8 destination, u32 icr_low)
{
	unsigned saved = this_cpu;
	this_cpu = from->cpu;
	lapic_wr(from, APIC_ICR_HIGH, (u32)destination << 24);
	lapic_wr(from, APIC_ICR_LOW, ICR_ASSERT | icr_low);
	this_cpu = saved;
}

static void pit_out(struct vcpu *v, u16 port, u8 value)
{
	io_bus_write(&vm.pio, v, "test", port, 1, value);
}

/* ---- Placement ---- */

/* Default placement: each vCPU to the least-loaded usable CPU, the lowest
 * index among equals, so one VM's vCPUs spread and later VMs fill in. */
static void test_place_least_loaded_lowest_first(void **state)
{
	unsigned a[3], b[2], c[1];
	sched_place(3, NULL, 0, a);
	assert_int_equal(a[0], 0);
	assert_int_equal(a[1], 1);
	assert_int_equal(a[2], 2);
	sched_place(2, NULL, 0, b); /* CPU 3 is empty, then all have one */
	assert_int_equal(b[0], 3);
	assert_int_equal(b[1], 0);
	sched_place(1, NULL, 0, c);
	assert_int_equal(c[0], 1);
}

/* CPUs that are not up (or lack VT) get nothing, CPU 0 included. */
static void test_place_skips_unusable_cpus(void **state)
{
	usable_cpus = BIT(1) | BIT(3);
	unsigned a[4];
	sched_place(4, NULL, 0, a);
	assert_int_equal(a[0], 1);
	assert_int_equal(a[1], 3);
	assert_int_equal(a[2], 1);
	assert_int_equal(a[3], 3);
}

/* cpus=2,1: vCPU i on the i-th CPU of the list, the list used in turn. */
static void test_place_explicit_list_wraps(void **state)
{
	const u8 wanted[] = { 2, 1 };
	unsigned a[5];
	sched_place(5, wanted, 2, a);
	assert_int_equal(a[0], 2);
	assert_int_equal(a[1], 1);
	assert_int_equal(a[2], 2);
	assert_int_equal(a[3], 1);
	assert_int_equal(a[4], 2);
	/* They count: the next default VM avoids 1 and 2. */
	unsigned b[2];
	sched_place(2, NULL, 0, b);
	assert_int_equal(b[0], 0);
	assert_int_equal(b[1], 3);
}

/* cpus=1,5 with CPU 5 not up: vCPU 1 goes to the least-loaded usable CPU
 * (not simply CPU 0, which is busier here). */
static void test_place_unusable_listed_cpu_replaced(void **state)
{
	unsigned first[2], a[2];
	sched_place(2, NULL, 0, first); /* CPUs 0 and 1 */
	const u8 wanted[] = { 1, 5 };
	sched_place(2, wanted, 2, a);
	assert_int_equal(a[0], 1);
	assert_int_equal(a[1], 2);
}

/* A VM that ended for good gives its CPUs back: the next VM goes where it was. */
static void test_unplace_restores_balance(void **state)
{
	unsigned a[1], b[1], c[1], d[1], e[1], f[1];
	sched_place(1, NULL, 0, a);
	sched_place(1, NULL, 0, b);
	sched_place(1, NULL, 0, c);
	sched_place(1, NULL, 0, d);
	assert_int_equal(b[0], 1);
	sched_unplace(1, b);
	sched_place(1, NULL, 0, e);
	assert_int_equal(e[0], 1);
	sched_place(1, NULL, 0, f); /* all have one again: the lowest */
	assert_int_equal(f[0], 0);
}

/* ---- Which vCPU runs next ---- */

/* Runnable vCPUs sharing a CPU take turns: A, B, C, A, B, C; a vCPU of
 * another CPU never runs here. */
static void test_round_robin(void **state)
{
	for (unsigned i = 1; i < NVCPUS; i++)
		vcpus[i].run_state = VCPU_RUNNABLE;
	start_on((const unsigned[]){ 1, 1, 1, 2 });
	assert_int_equal(run_cpu(1, 9), 1);
	assert_true(ran[0] != ran[1] && ran[1] != ran[2] && ran[0] != ran[2]);
	for (unsigned i = 3; i < 9; i++)
		assert_ptr_equal(ran[i], ran[i - 3]);
	assert_int_equal(slices_of(v0), 3);
	assert_int_equal(slices_of(v1), 3);
	assert_int_equal(slices_of(v2), 3);
	assert_int_equal(slices_of(v3), 0);
}

/* A halted vCPU with nothing to take gives its turn away; a request
 * (here an IPI from a neighbour) brings it back within one round. */
static void test_halted_skipped_until_request(void **state)
{
	v1->run_state = VCPU_RUNNABLE;
	v2->run_state = VCPU_RUNNABLE;
	v0->run_state = VCPU_HALTED;
	start_on((const unsigned[]){ 1, 1, 1, 3 });
	assert_int_equal(run_cpu(1, 6), 1);
	assert_int_equal(slices_of(v0), 0);
	assert_int_equal(slices_of(v1), 3);
	assert_int_equal(slices_of(v2), 3);

	lapic_wr(v0, APIC_SVR, 0x1ff);
	guest_ipi(v1, 0, ICR_FIXED | 0x50);
	assert_int_equal(run_cpu(1, 3), 1);
	assert_int_equal(slices_of(v0), 1);
}

static u64 slice_ns;
static void time_passes(struct vcpu *v) { host_ns += slice_ns; }

/* A halted vCPU whose own timer is due (deadline <= now) runs again:
 * with its APIC timer 2 ms away and 1 ms slices of a neighbour, it gets
 * the CPU right after the second one, not before. */
static void test_halted_runs_when_its_timer_is_due(void **state)
{
	v1->run_state = VCPU_RUNNABLE;
	start_on((const unsigned[]){ 2, 2, 0, 0 });
	lapic_timer_in(v0, 2 * MS);
	v0->run_state = VCPU_HALTED;
	slice_ns = MS;
	during_slice = time_passes;
	assert_int_equal(run_cpu(2, 3), 1);
	assert_ptr_equal(ran[0], v1);
	assert_ptr_equal(ran[1], v1);
	assert_ptr_equal(ran[2], v0);
}

/* Application processors wait for INIT and SIPI without using their CPU:
 * the CPU idles with no deadline; INIT gives the AP one turn (it handles
 * INIT and waits again), SIPI starts it; the other AP stays put. */
static void test_wait_for_sipi_until_init_sipi(void **state)
{
	start_on((const unsigned[]){ 0, 2, 2, 3 });
	assert_int_equal(run_cpu(2, 8), 2);
	assert_int_equal(slices, 0);
	assert_int_equal(idle_until, ~0ULL);

	guest_ipi(v0, 1, ICR_INIT);
	assert_int_equal(kicks[2], 1);
	assert_int_equal(kick_total, 1);
	assert_int_equal(run_cpu(2, 8), 2);
	assert_int_equal(slices, 1);
	assert_ptr_equal(ran[0], v1);
	assert_int_equal(v1->run_state, VCPU_WAIT_FOR_SIPI);

	guest_ipi(v0, 1, ICR_STARTUP | 0x10);
	assert_int_equal(kicks[2], 2);
	assert_int_equal(kick_total, 2);
	assert_int_equal(run_cpu(2, 4), 1);
	assert_int_equal(slices_of(v1), 4);
	assert_int_equal(slices_of(v2), 0);
	assert_int_equal(v1->run_state, VCPU_RUNNABLE);
}

/* A VM that ended takes its halted vCPUs off their CPU (even with their
 * stop request already handled), never running them again: the last one
 * out ends the VM, and the other VM's vCPU has the CPU to itself. */
static void test_ended_vm_leaves_the_cpu(void **state)
{
	start_on((const unsigned[]){ 0, 0, 1, 1 });
	add_other(0);
	other_vcpu.run_state = VCPU_HALTED;
	assert_int_equal(run_cpu(0, 1), 1); /* vCPU 0 runs, its state stays loaded */
	assert_ptr_equal(ran[0], v0);
	assert_true(sched_cpu_shared(&other_vcpu));

	v0->run_state = VCPU_HALTED;
	vm.state = VM_STOPPED;
	assert_int_equal(run_cpu(0, 4), 2);
	assert_int_equal(slices, 0);
	assert_int_equal(leaves, 2);
	assert_int_equal(v0->run_state, VCPU_DONE);
	assert_int_equal(v1->run_state, VCPU_DONE);
	assert_int_equal(state_puts, 1);
	assert_int_equal(vms_ended, 0); /* vCPUs 2 and 3 are still on CPU 1 */
	assert_false(sched_cpu_shared(&other_vcpu));

	assert_int_equal(run_cpu(1, 4), 2);
	assert_int_equal(leaves, 4);
	assert_int_equal(vms_ended, 1);
}

/* Nothing to run: the CPU sleeps until the earliest deadline of its halted
 * vCPUs' timers, in host TSC ticks (2 per ns here), whatever order they
 * are on the CPU in; vCPUs of other CPUs do not count. */
static void test_idle_until_earliest_timer(void **state)
{
	start_on((const unsigned[]){ 0, 1, 1, 1 });
	lapic_timer_in(v0, MS / 2); /* CPU 0's: not this CPU's business */
	lapic_timer_in(v1, 2 * MS);
	lapic_timer_in(v2, 1 * MS);
	lapic_timer_in(v3, 3 * MS);
	u64 armed_at = guest_now();
	for (unsigned i = 0; i < NVCPUS; i++)
		vcpus[i].run_state = VCPU_HALTED;
	host_ns += MS / 4;
	assert_int_equal(run_cpu(1, 4), 2);
	assert_int_equal(slices, 0);
	assert_int_equal(idle_until, tsc_at_guest_ns(armed_at + 1 * MS));
	assert_int_equal(idle_until, fake_rdtsc() + (3 * MS / 4) * TSC_PER_NS);

	/* The same with the earliest first on the list and last on it. */
	lapic_timer_in(v3, MS / 2);
	assert_int_equal(run_cpu(1, 4), 2);
	assert_int_equal(idle_until, tsc_at_guest_ns(guest_now() + MS / 2));
	lapic_timer_in(v3, 3 * MS);
	lapic_timer_in(v1, MS / 8);
	assert_int_equal(run_cpu(1, 4), 2);
	assert_int_equal(idle_until, tsc_at_guest_ns(guest_now() + MS / 8));
}

/* ---- Kicks ---- */

/* A request to a vCPU of another CPU: exactly one kick IPI, to that CPU,
 * and no reschedule flag anywhere (that CPU's own loop sees it). */
static void test_request_kicks_the_other_cpu(void **state)
{
	start_on((const unsigned[]){ 0, 2, 3, 3 });
	this_cpu = 0;
	vcpu_request(v1, VCPU_REQ_EVENT);
	assert_int_equal(kicks[2], 1);
	assert_int_equal(kick_total, 1);
	for (unsigned i = 0; i < NVCPUS; i++)
		assert_false(sched_resched(&vcpus[i]));

	/* Starting a VM on CPU 0 puts its vCPU on CPU 3's list with one kick. */
	clear_kicks();
	other_vcpu.cpu = 3;
	sched_add(&other_vcpu);
	assert_int_equal(kicks[3], 1);
	assert_int_equal(kick_total, 1);
}

static bool self_resched, neighbour_resched, neighbour_resched_again;
static unsigned kicks_in_slice;

/* The running vCPU sends an IPI to itself, then to its neighbour. */
static void ipi_self_then_neighbour(struct vcpu *running)
{
	struct vcpu *neighbour = running == v0 ? v1 : v0;
	guest_ipi(running, (u8)running->id, ICR_FIXED | ICR_SELF | 0x51);
	self_resched = sched_resched(running);
	guest_ipi(running, (u8)neighbour->id, ICR_FIXED | 0x52);
	neighbour_resched = sched_resched(running);
	neighbour_resched_again = sched_resched(running);
	kicks_in_slice = kick_total;
}

/* On the CPU itself: no IPI ever. A request to the running (loaded) vCPU
 * needs nothing, it looks before its next entry; one to a neighbour on the
 * CPU asks the running one to yield at its next exit, once. */
static void test_request_on_the_same_cpu(void **state)
{
	v1->run_state = VCPU_RUNNABLE;
	start_on((const unsigned[]){ 1, 1, 0, 0 });
	lapic_wr(v0, APIC_SVR, 0x1ff);
	lapic_wr(v1, APIC_SVR, 0x1ff);
	during_slice = ipi_self_then_neighbour;
	assert_int_equal(run_cpu(1, 1), 1);
	assert_false(self_resched);
	assert_true(neighbour_resched);
	assert_false(neighbour_resched_again);
	assert_int_equal(kicks_in_slice, 0);
	assert_int_equal(kick_total, 0);
}

/* A request from another CPU to a vCPU that is not loaded on its CPU
 * kicks, but sets no reschedule flag: the flag is for the CPU itself. */
static void test_request_from_elsewhere_sets_no_flag(void **state)
{
	v1->run_state = VCPU_RUNNABLE;
	start_on((const unsigned[]){ 1, 1, 0, 0 });
	assert_int_equal(run_cpu(1, 1), 1);
	struct vcpu *waiting = ran[0] == v0 ? v1 : v0;
	this_cpu = 0;
	vcpu_request(waiting, VCPU_REQ_EVENT);
	assert_int_equal(kicks[1], 1);
	assert_int_equal(kick_total, 1);
	assert_false(sched_resched(ran[0]));
}

/* ---- Timers (vmm/vtime.c) ---- */

/* A local APIC timer is fired on its vCPU's CPU: armed from another CPU
 * earlier than that CPU sleeps until, the CPU is kicked (once), and its
 * scheduler then sleeps until the new deadline; a later one, or one armed
 * on the CPU itself, needs no IPI. */
static void test_lapic_timer_arm_kicks_its_cpu(void **state)
{
	start_on((const unsigned[]){ 0, 1, 2, 3 });
	v2->run_state = VCPU_HALTED;
	struct vtimer *t = &v2->apic->timer;
	u64 now = guest_now();

	this_cpu = 0;
	vtimer_arm(&vm, t, now + 5 * MS);
	assert_int_equal(kicks[2], 1);
	assert_int_equal(kick_total, 1);
	assert_int_equal(run_cpu(2, 4), 2);
	assert_int_equal(idle_until, tsc_at_guest_ns(now + 5 * MS));

	this_cpu = 0;
	vtimer_arm(&vm, t, now + 10 * MS); /* later: CPU 2 wakes early anyway */
	assert_int_equal(kick_total, 1);

	vtimer_arm(&vm, t, now + 1 * MS);
	assert_int_equal(kicks[2], 2);
	assert_int_equal(kick_total, 2);
	assert_int_equal(run_cpu(2, 4), 2);
	assert_int_equal(idle_until, tsc_at_guest_ns(now + 1 * MS));

	this_cpu = 2;
	vtimer_arm(&vm, t, now + MS / 2); /* on its own CPU: no IPI */
	assert_int_equal(kick_total, 2);
	/* Nobody else's CPU was woken by any of it. */
	assert_int_equal(kicks[0] + kicks[1] + kicks[3], 0);
}

/* The board's timers (PIT, RTC) are fired by vCPU 0: a PIT programmed by
 * vCPU 1 on CPU 1 kicks vCPU 0's CPU, which then sleeps until it. */
static void test_board_timer_kicks_vcpu0_cpu(void **state)
{
	start_on((const unsigned[]){ 3, 1, 2, 2 });
	v0->run_state = VCPU_HALTED;
	u64 now = guest_now();
	this_cpu = 1;
	pit_out(v1, PIT_CONTROL, PIT_CH0_LOHI_MODE0);
	pit_out(v1, PIT_CHANNEL0, PIT_COUNT_1MS & 0xff);
	pit_out(v1, PIT_CHANNEL0, PIT_COUNT_1MS >> 8);
	assert_true(vm.next_deadline > now && vm.next_deadline < now + 2 * MS);
	assert_int_equal(kicks[3], 1);
	assert_int_equal(kick_total, 1);
	u64 deadline = vm.next_deadline;
	assert_int_equal(run_cpu(3, 4), 2);
	assert_int_equal(idle_until, tsc_at_guest_ns(deadline));
}

/* ---- Time slices ---- */

/* A vCPU alone on its CPU runs without time slices; two share it. */
static void test_cpu_shared(void **state)
{
	start_on((const unsigned[]){ 0, 1, 1, 2 });
	assert_false(sched_cpu_shared(v0));
	assert_true(sched_cpu_shared(v1));
	assert_true(sched_cpu_shared(v2));
	assert_false(sched_cpu_shared(v3));
	add_other(0);
	assert_true(sched_cpu_shared(v0));
	assert_true(sched_cpu_shared(&other_vcpu));
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_place_least_loaded_lowest_first),
		T(test_place_skips_unusable_cpus),
		T(test_place_explicit_list_wraps),
		T(test_place_unusable_listed_cpu_replaced),
		T(test_unplace_restores_balance),
		T(test_round_robin),
		T(test_halted_skipped_until_request),
		T(test_halted_runs_when_its_timer_is_due),
		T(test_wait_for_sipi_until_init_sipi),
		T(test_ended_vm_leaves_the_cpu),
		T(test_idle_until_earliest_timer),
		T(test_request_kicks_the_other_cpu),
		T(test_request_on_the_same_cpu),
		T(test_request_from_elsewhere_sets_no_flag),
		T(test_lapic_timer_arm_kicks_its_cpu),
		T(test_board_timer_kicks_vcpu0_cpu),
		T(test_cpu_shared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
