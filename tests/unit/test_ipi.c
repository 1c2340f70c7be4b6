/*
 * Unit tests for guest SMP interrupt delivery: IPIs and I/O APIC messages
 * of every delivery mode and destination form through the APIC wiring
 * (vmm/apic.c) to the real local APIC models (vmm/dev/lapic.c) of a VM
 * with four vCPUs, the vCPU requests and kicks they raise
 * (vmm/vcpu_request.c), and the receiving vCPU's side of INIT and SIPI
 * (vmm/vcpu_init.c). The guest drives everything as it would: ICR writes
 * on the local APIC page or the x2APIC MSRs, I/O APIC redirection entries,
 * interrupt lines through vm_set_irq().
 *
 * Expected values follow the Intel SDM Vol. 3A chapter 11 (local APIC:
 * 11.6 IPIs, 11.6.2 destinations, 11.12 x2APIC), 9.1 and Table 9-1 (INIT
 * state), 9.4.4 (the INIT-SIPI-SIPI sequence).
 */
#include "tests/unit/host_support.h"
#include <string.h>

#pragma GCC diagnostic ignored "-Wunused-parameter"

/* apic.c reads the host TSC and vcpu_init.c asks CPUID leaf 1: include
 * arch/x86/cpu.h (#pragma once) first, then make the later calls fakes. */
#include "arch/x86/cpu.h"

#define TEST_TSC_HZ 2000000000ULL
#define TSC_PER_NS 2
#define START_NS 1000000ULL
#define FAKE_SIGNATURE 0x000906eau /* family 6, model 0x9e, stepping 10 */

static u64 fake_now;
static u64 fake_rdtsc(void) { return fake_now * TSC_PER_NS; }
#define rdtsc() fake_rdtsc()

static unsigned cpuid_calls;
static struct cpuid_regs fake_cpuid(u32 leaf, u32 subleaf)
{
	cpuid_calls++;
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
#include "vmm/vcpu_request.c"
#include "vmm/cr_rules.c"
#include "vmm/vcpu_control.c"
#include "vmm/vcpu_init.c"

/* ---- Fakes ---- */

#define NCPUS 4

static struct vm vm;
static struct vcpu vcpus[NCPUS];
static struct vcpu *const cpu0 = &vcpus[0], *const cpu1 = &vcpus[1], *const cpu2 = &vcpus[2],
		   *const cpu3 = &vcpus[3];

/* The scheduler's kick: recorded per vCPU. */
static unsigned kicks[NCPUS];
void vcpu_kick(struct vcpu *v) { kicks[v->id]++; }

#define FAKE_VM_LOG_RECORDER
#include "tests/unit/fake_device_list.h"

#include "tests/unit/fake_timers.h"

/* A backend that keeps each vCPU's control state apart. */
struct test_cpu {
	struct vcpu_sregs sregs;
	bool interrupt_window, interrupt_shadow;
};
static struct test_cpu hw[NCPUS];

static void t_get_sregs(struct vcpu *v, struct vcpu_sregs *s) { *s = hw[v->id].sregs; }
static void t_set_sregs(struct vcpu *v, const struct vcpu_sregs *s) { hw[v->id].sregs = *s; }
static void t_get_control(struct vcpu *v, struct vcpu_control *c)
{
	const struct vcpu_sregs *s = &hw[v->id].sregs;
	*c = (struct vcpu_control){ .cr0 = s->cr0, .cr3 = s->cr3, .cr4 = s->cr4, .efer = s->efer };
}
static void t_set_window(struct vcpu *v, bool on) { hw[v->id].interrupt_window = on; }
static void t_clear_shadow(struct vcpu *v) { hw[v->id].interrupt_shadow = false; }

static const struct backend_ops test_backend = {
	.name = "test",
	.get_sregs = t_get_sregs,
	.set_sregs = t_set_sregs,
	.get_control = t_get_control,
	.set_interrupt_window = t_set_window,
	.clear_interrupt_shadow = t_clear_shadow,
};
const struct backend_ops *backend = &test_backend;
/* The host seam's XSETBV (vmm/host.h): no test here sets XCR0. */
int host_set_guest_xcr0(struct vcpu *v, u64 xcr0) { (void)v, (void)xcr0; return -1; }

/* ---- The VM: vCPU 0 running, the APs as created, waiting for a SIPI ---- */

static void clear_requests_and_kicks(void)
{
	for (unsigned i = 0; i < NCPUS; i++) {
		vcpus[i].requests = 0;
		vcpus[i].irq_check = false;
		kicks[i] = 0;
	}
}

static int setup(void **state)
{
	memset(&vm, 0, sizeof(vm));
	memset(vcpus, 0, sizeof(vcpus));
	memset(hw, 0, sizeof(hw));
	memset(timers, 0, sizeof(timers));
	timer_count = 0;
	log_lines = 0;
	fake_now = START_NS;
	strncpy_terminated(vm.name, "ipi-test", sizeof(vm.name));
	io_bus_init(&vm.pio, "port");
	io_bus_init(&vm.mmio, "MMIO");
	vm.pic = i8259_create(&vm);
	assert_non_null(vm.pic);
	assert_int_equal(vm_apic_create(&vm), 0);
	for (unsigned i = 0; i < NCPUS; i++) {
		struct vcpu *v = &vcpus[i];
		v->vm = &vm;
		v->id = i;
		vm.vcpu[vm.vcpu_count++] = v;
		assert_int_equal(vcpu_apic_create(v), 0);
		if (i)
			vcpu_power_on_ap(v);
	}
	clear_requests_and_kicks();
	return 0;
}

static int teardown(void **state)
{
	fake_free_devices(&vm);
	return 0;
}

/* ---- Guest accesses ---- */

#define LAPIC_BASE 0xfee00000ULL
#define IOAPIC_BASE 0xfec00000ULL
#define APIC_BASE_MSR 0x1b
#define X2APIC_ENABLE (0xfee00000ULL | BIT(11) | BIT(10))

/* ICR low fields (SDM Figure 11-12). */
#define ICR_FIXED (0u << 8)
#define ICR_LOWEST (1u << 8)
#define ICR_SMI (2u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_LOGICAL BIT(11)
#define ICR_BUSY BIT(12)
#define ICR_ASSERT BIT(14)
#define ICR_LEVEL BIT(15)
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_OTHERS (3u << 18)

#define RTE_LOWEST (1u << 8)
#define RTE_NMI (4u << 8)
#define RTE_EXTINT (7u << 8)
#define RTE_LOGICAL BIT(11)
#define RTE_LEVEL BIT(15)
#define RTE_REMOTE_IRR BIT(14)

static u32 lapic_rd(struct vcpu *v, u32 offset)
{
	u64 value = 0;
	io_bus_read(&vm.mmio, v, "test", LAPIC_BASE + offset, 4, &value);
	return (u32)value;
}

static void lapic_wr(struct vcpu *v, u32 offset, u32 value)
{
	io_bus_write(&vm.mmio, v, "test", LAPIC_BASE + offset, 4, value);
}

/* An xAPIC IPI: ICR high (destination in bits 31:24), then ICR low. */
static void send(struct vcpu *from, u8 destination, u32 icr_low)
{
	lapic_wr(from, 0x310, (u32)destination << 24);
	lapic_wr(from, 0x300, (u32)(ICR_ASSERT | icr_low));
}

static void ioapic_wr(u32 index, u32 value)
{
	io_bus_write(&vm.mmio, cpu0, "test", IOAPIC_BASE + 0x00, 4, index);
	io_bus_write(&vm.mmio, cpu0, "test", IOAPIC_BASE + 0x10, 4, value);
}

static u32 ioapic_rd(u32 index)
{
	u64 value = 0;
	io_bus_write(&vm.mmio, cpu0, "test", IOAPIC_BASE + 0x00, 4, index);
	io_bus_read(&vm.mmio, cpu0, "test", IOAPIC_BASE + 0x10, 4, &value);
	return (u32)value;
}

static void program_pin(unsigned pin, u32 low, u8 destination)
{
	ioapic_wr(0x11 + 2 * pin, (u32)destination << 24);
	ioapic_wr(0x10 + 2 * pin, low);
}

static bool irr_has(struct vcpu *v, u8 vector)
{
	return (v->apic->lapic.irr[vector >> 5] >> (vector & 31)) & 1;
}

static bool requested(struct vcpu *v, enum vcpu_request r) { return (v->requests >> r) & 1; }

/* Exactly the vCPUs in 'mask' (bit i = vCPU i) have 'vector' in the IRR,
 * a VCPU_REQ_EVENT and one kick; the others nothing. */
static void expect_fixed(u8 vector, unsigned mask)
{
	for (unsigned i = 0; i < NCPUS; i++) {
		bool hit = (mask >> i) & 1;
		struct vcpu *v = &vcpus[i];
		if (irr_has(v, vector) != hit || requested(v, VCPU_REQ_EVENT) != hit || kicks[i] != (hit ? 1u : 0u) ||
		    v->irq_check != hit)
			fail_msg("vector 0x%x, vCPU %u: IRR %d, EVENT %d, kicks %u, irq_check %d; expected %d", vector,
				 i, irr_has(v, vector), requested(v, VCPU_REQ_EVENT), kicks[i], v->irq_check, hit);
	}
}

/* Which vCPUs got 'vector' (bit i = vCPU i); takes it out of their IRRs. */
static unsigned receivers(u8 vector)
{
	unsigned mask = 0;
	for (unsigned i = 0; i < NCPUS; i++)
		if (irr_has(&vcpus[i], vector)) {
			mask |= 1u << i;
			vlapic_acknowledge(&vcpus[i].apic->lapic, vector);
			lapic_wr(&vcpus[i], 0xb0, 0); /* EOI */
		}
	return mask;
}

/* The APs are waiting for a SIPI after creation; for the destination
 * tests they must take fixed interrupts: software-enable their APICs. */
static void enable_all(void)
{
	for (unsigned i = 0; i < NCPUS; i++)
		lapic_wr(&vcpus[i], 0xf0, 0x1ff);
	clear_requests_and_kicks();
}

/* ---- The request/kick protocol ---- */

static void test_request_protocol(void **state)
{
	assert_false(vcpu_has_requests(cpu1));
	assert_false(vcpu_check_request(cpu1, VCPU_REQ_NMI));

	vcpu_request(cpu1, VCPU_REQ_NMI);
	vcpu_request(cpu1, VCPU_REQ_TLB_FLUSH);
	assert_int_equal(kicks[1], 2);
	assert_int_equal(kicks[0] + kicks[2] + kicks[3], 0);
	assert_int_equal(cpu1->requests, BIT(VCPU_REQ_NMI) | BIT(VCPU_REQ_TLB_FLUSH));
	assert_true(vcpu_has_requests(cpu1));
	assert_false(vcpu_has_requests(cpu0));

	/* Test and clear: true once, the other bit stays. */
	assert_true(vcpu_check_request(cpu1, VCPU_REQ_NMI));
	assert_false(vcpu_check_request(cpu1, VCPU_REQ_NMI));
	assert_true(vcpu_has_requests(cpu1));
	assert_false(vcpu_check_request(cpu1, VCPU_REQ_STOP));
	assert_true(vcpu_check_request(cpu1, VCPU_REQ_TLB_FLUSH));
	assert_false(vcpu_has_requests(cpu1));

	/* Requested twice before the vCPU looks: one bit, two kicks. */
	vcpu_request(cpu2, VCPU_REQ_STOP);
	vcpu_request(cpu2, VCPU_REQ_STOP);
	assert_int_equal(kicks[2], 2);
	assert_true(vcpu_check_request(cpu2, VCPU_REQ_STOP));
	assert_false(vcpu_has_requests(cpu2));
}

/* ---- Fixed IPIs, every destination form ---- */

/* Physical destination = APIC ID (the vCPU index); the ICR's delivery
 * status reads idle right after the send (guests poll it). */
static void test_fixed_physical(void **state)
{
	enable_all();
	send(cpu0, 2, ICR_FIXED | 0x40);
	expect_fixed(0x40, 1u << 2);
	assert_int_equal(lapic_rd(cpu0, 0x300) & ICR_BUSY, 0);
	assert_int_equal(receivers(0x40), 1u << 2);

	clear_requests_and_kicks();
	send(cpu3, 0, ICR_FIXED | 0x41);
	expect_fixed(0x41, 1u << 0);

	/* Physical 0xff: everyone, the sender too. */
	clear_requests_and_kicks();
	send(cpu1, 0xff, ICR_FIXED | 0x42);
	expect_fixed(0x42, 0xf);

	/* No such APIC: nobody. */
	clear_requests_and_kicks();
	send(cpu1, 7, ICR_FIXED | 0x43);
	expect_fixed(0x43, 0);
}

/* Logical, flat model (DFR 0xffffffff): LDR bits 31:24 are a bitmap. */
static void test_fixed_logical_flat(void **state)
{
	enable_all();
	for (unsigned i = 0; i < NCPUS; i++)
		lapic_wr(&vcpus[i], 0xd0, 1u << (24 + i));
	send(cpu1, 0x05, ICR_LOGICAL | 0x50);
	expect_fixed(0x50, 0x5);
	receivers(0x50);
	clear_requests_and_kicks();
	send(cpu1, 0x0a, ICR_LOGICAL | 0x51);
	expect_fixed(0x51, 0xa);
}

/* Logical, cluster model (DFR 0x0fffffff): cluster in bits 7:4, a bitmap
 * of four in bits 3:0. */
static void test_fixed_logical_cluster(void **state)
{
	static const u8 ldr[NCPUS] = { 0x11, 0x12, 0x21, 0x22 };
	enable_all();
	for (unsigned i = 0; i < NCPUS; i++) {
		lapic_wr(&vcpus[i], 0xe0, 0x0fffffff);
		lapic_wr(&vcpus[i], 0xd0, (u32)ldr[i] << 24);
	}
	send(cpu0, 0x13, ICR_LOGICAL | 0x60);
	expect_fixed(0x60, 0x3);
	receivers(0x60);
	clear_requests_and_kicks();
	send(cpu0, 0x22, ICR_LOGICAL | 0x61);
	expect_fixed(0x61, 0x8);
	receivers(0x61);
	clear_requests_and_kicks();
	send(cpu0, 0x31, ICR_LOGICAL | 0x62); /* no cluster 3 */
	expect_fixed(0x62, 0);
}

/* x2APIC: 32-bit destinations in the ICR MSR; logical = cluster (bits
 * 31:16) and a 16-bit bitmap, LDR derived from the x2APIC ID (11.12.10). */
static void test_fixed_x2apic(void **state)
{
	enable_all();
	for (unsigned i = 0; i < NCPUS; i++)
		assert_int_equal(vcpu_apic_msr_write(&vcpus[i], APIC_BASE_MSR, X2APIC_ENABLE), 0);
	clear_requests_and_kicks();
	assert_int_equal(vcpu_apic_msr_write(cpu0, 0x830, (3ULL << 32) | ICR_ASSERT | 0x70), 0);
	expect_fixed(0x70, 0x8);
	receivers(0x70);

	clear_requests_and_kicks();
	assert_int_equal(vcpu_apic_msr_write(cpu0, 0x830, (0x6ULL << 32) | ICR_LOGICAL | ICR_ASSERT | 0x71), 0);
	expect_fixed(0x71, 0x6);
	receivers(0x71);

	clear_requests_and_kicks(); /* another cluster: nobody */
	assert_int_equal(vcpu_apic_msr_write(cpu0, 0x830, (0x10006ULL << 32) | ICR_LOGICAL | ICR_ASSERT | 0x72), 0);
	expect_fixed(0x72, 0);

	clear_requests_and_kicks(); /* broadcast */
	assert_int_equal(vcpu_apic_msr_write(cpu2, 0x830, (0xffffffffULL << 32) | ICR_ASSERT | 0x73), 0);
	expect_fixed(0x73, 0xf);
}

/* Shorthands: self, all including self, all excluding self; the
 * destination field is ignored. */
static void test_fixed_shorthands(void **state)
{
	enable_all();
	send(cpu2, 0, ICR_SELF | 0x80);
	expect_fixed(0x80, 0x4);
	receivers(0x80);

	clear_requests_and_kicks();
	send(cpu2, 0, ICR_ALL | 0x81);
	expect_fixed(0x81, 0xf);
	receivers(0x81);

	clear_requests_and_kicks();
	send(cpu2, 2, ICR_OTHERS | 0x82);
	expect_fixed(0x82, 0xb);
}

/* An I/O APIC message reaches its vCPU with a request and a kick as well. */
static void test_ioapic_fixed_requests(void **state)
{
	enable_all();
	program_pin(5, 0x35, 3);
	vm_pulse_irq(&vm, 5);
	expect_fixed(0x35, 0x8);
}

/* A hardware-disabled APIC takes nothing; a software-disabled one takes no
 * fixed interrupt (the APs after creation) but NMI, INIT and SIPI
 * (SDM 11.4.7.2). */
static void test_disabled_targets(void **state)
{
	send(cpu0, 0xff, ICR_FIXED | 0x44);
	expect_fixed(0x44, 0x1);

	clear_requests_and_kicks();
	assert_int_equal(vcpu_apic_msr_write(cpu3, APIC_BASE_MSR, 0xfee00000ULL), 0);
	send(cpu0, 0, ICR_OTHERS | ICR_NMI);
	assert_int_equal(cpu1->nmi_pending, 1);
	assert_int_equal(cpu2->nmi_pending, 1);
	assert_int_equal(cpu3->nmi_pending, 0);
	assert_int_equal(kicks[3], 0);
	send(cpu0, 3, ICR_INIT);
	assert_false(vcpu_has_requests(cpu3));
}

/* ---- Lowest priority ---- */

/* One target, the one with the lowest PPR; equals take turns. */
static void test_lowest_priority(void **state)
{
	static const u8 tpr[NCPUS] = { 0x20, 0x10, 0x30, 0x10 };
	enable_all();
	for (unsigned i = 0; i < NCPUS; i++)
		lapic_wr(&vcpus[i], 0x80, tpr[i]);
	unsigned order[6];
	for (unsigned n = 0; n < ARRAY_SIZE(order); n++) {
		send(cpu0, 0xff, ICR_LOGICAL | ICR_LOWEST | 0x90);
		order[n] = receivers(0x90);
	}
	for (unsigned n = 0; n < ARRAY_SIZE(order); n++)
		assert_int_equal(order[n], n % 2 ? 1u << 3 : 1u << 1);

	/* An interrupt in service raises the PPR: vCPU 1 with 0x90 in service
	 * (PPR 0x90) loses to vCPU 3 whatever the turn, then to vCPU 0. */
	send(cpu0, 1, ICR_FIXED | 0x91);
	vlapic_acknowledge(&cpu1->apic->lapic, 0x91);
	for (unsigned n = 0; n < 2; n++) {
		send(cpu0, 0xff, ICR_LOGICAL | ICR_LOWEST | 0x92);
		assert_int_equal(receivers(0x92), 1u << 3);
	}
	lapic_wr(cpu3, 0x80, 0x40);
	send(cpu0, 0xff, ICR_LOGICAL | ICR_LOWEST | 0x93);
	assert_int_equal(receivers(0x93), 1u << 0);
}

/* All equal: a round robin over the four; the request and kick go to the
 * one target only. Only addressed APICs compete. */
static void test_lowest_priority_round_robin(void **state)
{
	enable_all();
	for (unsigned n = 0; n < 2 * NCPUS; n++) {
		clear_requests_and_kicks();
		send(cpu2, 0xff, ICR_LOGICAL | ICR_LOWEST | 0xa0);
		expect_fixed(0xa0, 1u << (n % NCPUS));
		receivers(0xa0);
	}
	/* Logical flat 0x06: vCPUs 1 and 2 only. */
	for (unsigned i = 0; i < NCPUS; i++)
		lapic_wr(&vcpus[i], 0xd0, 1u << (24 + i));
	unsigned got = 0;
	for (unsigned n = 0; n < 4; n++) {
		send(cpu0, 0x06, ICR_LOGICAL | ICR_LOWEST | 0xa1);
		unsigned r = receivers(0xa1);
		assert_true(r == 0x2 || r == 0x4);
		assert_int_not_equal(r, got);
		got = r;
	}
	/* A software-disabled APIC does not win (the interrupt would be lost). */
	lapic_wr(cpu1, 0xf0, 0xff);
	for (unsigned n = 0; n < 3; n++) {
		send(cpu0, 0x06, ICR_LOGICAL | ICR_LOWEST | 0xa2);
		assert_int_equal(receivers(0xa2), 0x4);
	}
}

/* The I/O APIC's lowest-priority entries arbitrate the same way. */
static void test_ioapic_lowest_priority(void **state)
{
	enable_all();
	lapic_wr(cpu0, 0x80, 0x50);
	lapic_wr(cpu1, 0x80, 0x50);
	lapic_wr(cpu3, 0x80, 0x50);
	program_pin(6, RTE_LOWEST | RTE_LOGICAL | 0x36, 0xff);
	vm_pulse_irq(&vm, 6);
	expect_fixed(0x36, 1u << 2);
}

/* ---- NMI ---- */

static void test_nmi(void **state)
{
	send(cpu0, 1, ICR_NMI);
	assert_int_equal(cpu1->nmi_pending, 1);
	assert_true(requested(cpu1, VCPU_REQ_NMI));
	assert_int_equal(kicks[1], 1);
	assert_false(requested(cpu1, VCPU_REQ_EVENT));
	assert_int_equal(cpu1->apic->lapic.irr_words, 0);
	assert_int_equal(cpu0->nmi_pending + cpu2->nmi_pending + cpu3->nmi_pending, 0);
	send(cpu0, 1, ICR_NMI);
	assert_int_equal(cpu1->nmi_pending, 2);

	/* Shorthands: self, and all excluding self. */
	send(cpu2, 0, ICR_SELF | ICR_NMI);
	assert_int_equal(cpu2->nmi_pending, 1);
	assert_true(requested(cpu2, VCPU_REQ_NMI));
	send(cpu2, 0, ICR_OTHERS | ICR_NMI);
	assert_int_equal(cpu0->nmi_pending, 1);
	assert_int_equal(cpu1->nmi_pending, 3);
	assert_int_equal(cpu2->nmi_pending, 1);
	assert_int_equal(cpu3->nmi_pending, 1);
	send(cpu2, 0, ICR_ALL | ICR_NMI);
	assert_int_equal(cpu2->nmi_pending, 2);
	assert_int_equal(cpu3->nmi_pending, 2);
}

/* I/O APIC entries in NMI mode: no vector, no remote IRR (no EOI would
 * ever clear it). */
static void test_ioapic_nmi(void **state)
{
	program_pin(7, RTE_NMI | RTE_LEVEL, 2);
	vm_set_irq(&vm, 7, true);
	assert_int_equal(cpu2->nmi_pending, 1);
	assert_true(requested(cpu2, VCPU_REQ_NMI));
	assert_int_equal(ioapic_rd(0x10 + 2 * 7) & RTE_REMOTE_IRR, 0);
	assert_int_equal(cpu0->nmi_pending + cpu1->nmi_pending + cpu3->nmi_pending, 0);
}

/* The NMI line on LINT1: LVT1 in NMI mode (as firmware leaves it), masked,
 * or a fixed vector; a hardware-disabled APIC passes it straight. */
static void test_lint1_nmi(void **state)
{
	enable_all();
	lapic_wr(cpu1, 0x360, 0x10400);	/* masked */
	lapic_wr(cpu2, 0x360, 0x000b0);	/* fixed, vector 0xb0 */
	assert_int_equal(vcpu_apic_msr_write(cpu3, APIC_BASE_MSR, 0xfee00000ULL), 0);
	vm_nmi_line_pulse(&vm);
	assert_int_equal(cpu0->nmi_pending, 1);
	assert_true(requested(cpu0, VCPU_REQ_NMI));
	assert_int_equal(cpu1->nmi_pending, 0);
	assert_false(vcpu_has_requests(cpu1));
	assert_int_equal(cpu2->nmi_pending, 0);
	assert_true(irr_has(cpu2, 0xb0));
	assert_true(requested(cpu2, VCPU_REQ_EVENT));
	assert_int_equal(cpu3->nmi_pending, 1);
}

/* ---- INIT and SIPI ---- */

static void expect_reset_vector(struct vcpu *v)
{
	const struct vcpu_sregs *s = &hw[v->id].sregs;
	assert_int_equal(s->seg[SREG_CS].selector, 0xf000);
	assert_int_equal(s->seg[SREG_CS].base, 0xffff0000);
	assert_int_equal(s->seg[SREG_CS].limit, 0xffff);
	assert_int_equal(v->regs.rip, 0xfff0);
}

/* Created APs wait for a SIPI at the reset vector, in the INIT state. */
static void test_ap_power_on(void **state)
{
	for (unsigned i = 1; i < NCPUS; i++) {
		assert_int_equal(vcpus[i].run_state, VCPU_WAIT_FOR_SIPI);
		expect_reset_vector(&vcpus[i]);
		assert_int_equal(vcpus[i].regs.gpr[GPR_RDX], FAKE_SIGNATURE);
	}
	assert_int_equal(cpu0->run_state, VCPU_RUNNABLE);
}

/* The INIT-SIPI-SIPI sequence of SDM 9.4.4 / the MP spec B.4, as Linux
 * sends it: INIT assert, INIT de-assert (a no-op), SIPI, SIPI. */
static void test_init_sipi_sipi(void **state)
{
	send(cpu0, 1, ICR_LEVEL | ICR_INIT);
	assert_true(requested(cpu1, VCPU_REQ_INIT));
	assert_int_equal(kicks[1], 1);
	assert_false(vcpu_has_requests(cpu2));
	assert_int_equal(lapic_rd(cpu0, 0x300) & ICR_BUSY, 0);
	vcpu_handle_init_sipi(cpu1);
	assert_false(vcpu_has_requests(cpu1));
	assert_int_equal(cpu1->run_state, VCPU_WAIT_FOR_SIPI);

	/* INIT level de-assert: level 0, trigger level; nothing happens. */
	lapic_wr(cpu0, 0x310, 1u << 24);
	lapic_wr(cpu0, 0x300, ICR_LEVEL | ICR_INIT);
	assert_false(vcpu_has_requests(cpu1));
	assert_int_equal(kicks[1], 1);

	send(cpu0, 1, ICR_STARTUP | 0x9a);
	assert_true(requested(cpu1, VCPU_REQ_SIPI));
	assert_int_equal(cpu1->sipi_vector, 0x9a);
	assert_int_equal(kicks[1], 2);
	assert_false(requested(cpu1, VCPU_REQ_EVENT)); /* a SIPI is no interrupt */
	vcpu_handle_init_sipi(cpu1);
	assert_int_equal(cpu1->run_state, VCPU_RUNNABLE);
	assert_int_equal(hw[1].sregs.seg[SREG_CS].selector, 0x9a00);
	assert_int_equal(hw[1].sregs.seg[SREG_CS].base, 0x9a000);
	assert_int_equal(cpu1->regs.rip, 0);

	/* The second SIPI finds it running: ignored. */
	cpu1->regs.rip = 0x1234;
	send(cpu0, 1, ICR_STARTUP | 0x9b);
	vcpu_handle_init_sipi(cpu1);
	assert_int_equal(cpu1->run_state, VCPU_RUNNABLE);
	assert_int_equal(hw[1].sregs.seg[SREG_CS].selector, 0x9a00);
	assert_int_equal(cpu1->regs.rip, 0x1234);
	assert_false(vcpu_has_requests(cpu1));

	/* The other APs still wait. */
	assert_int_equal(cpu2->run_state, VCPU_WAIT_FOR_SIPI);
	assert_int_equal(cpu3->run_state, VCPU_WAIT_FOR_SIPI);
}

/* Linux's x2APIC path and the broadcast form: INIT and SIPI to all
 * excluding self, seen by the vCPU before it looks, start every AP. */
static void test_init_sipi_broadcast_before_the_vcpu_looks(void **state)
{
	send(cpu0, 0, ICR_OTHERS | ICR_INIT);
	send(cpu0, 0, ICR_OTHERS | ICR_STARTUP | 0x10);
	assert_false(vcpu_has_requests(cpu0));
	for (unsigned i = 1; i < NCPUS; i++) {
		assert_int_equal(vcpus[i].requests, BIT(VCPU_REQ_INIT) | BIT(VCPU_REQ_SIPI));
		vcpu_handle_init_sipi(&vcpus[i]);
		assert_int_equal(vcpus[i].run_state, VCPU_RUNNABLE);
		assert_int_equal(hw[i].sregs.seg[SREG_CS].base, 0x10000);
		assert_false(vcpu_has_requests(&vcpus[i]));
	}
}

/* INIT to a running AP: back to the INIT state, waiting for a SIPI; what
 * INIT keeps (CD/NW, PAT, the APIC's base and ID) is kept, everything else
 * is at its Table 9-1 value, and whatever was pending is gone. */
static void test_init_running_ap(void **state)
{
	send(cpu0, 2, ICR_INIT);
	send(cpu0, 2, ICR_STARTUP | 0x20);
	vcpu_handle_init_sipi(cpu2);
	assert_int_equal(cpu2->run_state, VCPU_RUNNABLE);

	/* The AP runs a 64-bit kernel with interrupts pending. */
	struct vcpu_sregs *s = &hw[2].sregs;
	s->cr0 = CR0_PE | CR0_PG | CR0_CD | CR0_ET;
	s->cr2 = 0xdead000;
	s->cr3 = 0x1000;
	s->cr4 = CR4_PAE;
	s->efer = EFER_LME | EFER_LMA;
	s->seg[SREG_CS] = (struct segment){ .selector = 0x10, .l = true, .present = true };
	s->gdtr = (struct descriptor_table){ 0x5000, 0x7f };
	s->dr7 = 0x401;
	s->pat = 0x0007040600070406ULL;
	for (unsigned r = 0; r < GPR_COUNT; r++)
		cpu2->regs.gpr[r] = 0x1111 * (r + 1);
	cpu2->regs.rflags = 0x246;
	cpu2->debug_address[0] = 0x4000;
	lapic_wr(cpu2, 0xf0, 0x1ff);
	lapic_wr(cpu2, 0x80, 0x20);
	lapic_wr(cpu2, 0xd0, 0x04000000);
	send(cpu0, 2, ICR_FIXED | 0x55);
	send(cpu0, 2, ICR_NMI);
	cpu2->window_requested = true;
	hw[2].interrupt_window = true;
	hw[2].interrupt_shadow = true;
	clear_requests_and_kicks();

	send(cpu0, 2, ICR_INIT);
	assert_true(requested(cpu2, VCPU_REQ_INIT));
	assert_int_equal(cpu2->run_state, VCPU_RUNNABLE); /* not before its own CPU looks */
	vcpu_handle_init_sipi(cpu2);
	assert_int_equal(cpu2->run_state, VCPU_WAIT_FOR_SIPI);

	expect_reset_vector(cpu2);
	assert_int_equal(s->cr0, CR0_ET | CR0_CD);
	assert_int_equal(s->cr2, 0);
	assert_int_equal(s->cr3, 0);
	assert_int_equal(s->cr4, 0);
	assert_int_equal(s->efer, 0);
	assert_false(s->seg[SREG_CS].l);
	assert_int_equal(s->gdtr.base, 0);
	assert_int_equal(s->gdtr.limit, 0xffff);
	assert_int_equal(s->idtr.limit, 0xffff);
	assert_int_equal(s->dr6, 0xffff0ff0);
	assert_int_equal(s->dr7, 0x400);
	assert_int_equal(s->pat, 0x0007040600070406ULL);
	for (unsigned r = 0; r < GPR_COUNT; r++)
		assert_int_equal(cpu2->regs.gpr[r], r == GPR_RDX ? FAKE_SIGNATURE : 0);
	assert_int_equal(cpu2->regs.rflags, 0x2);
	assert_int_equal(cpu2->debug_address[0], 0);

	assert_int_equal(cpu2->nmi_pending, 0);
	assert_false(cpu2->window_requested);
	assert_false(hw[2].interrupt_window);
	assert_false(hw[2].interrupt_shadow);
	/* The local APIC: registers reset (SVR 0xff, TPR 0, LDR 0, nothing in
	 * the IRR), base, BSP flag and ID kept. */
	assert_int_equal(lapic_rd(cpu2, 0xf0), 0xff);
	assert_int_equal(lapic_rd(cpu2, 0x80), 0);
	assert_int_equal(lapic_rd(cpu2, 0xd0), 0);
	assert_false(irr_has(cpu2, 0x55));
	assert_int_equal(lapic_rd(cpu2, 0x20), 2u << 24);
	u64 base;
	assert_int_equal(vcpu_apic_msr_read(cpu2, APIC_BASE_MSR, &base), 0);
	assert_int_equal(base, 0xfee00800ULL);
	/* Its timer is stopped. */
	assert_int_equal(next_deadline(), VTIMER_INACTIVE);

	/* And a SIPI starts it again. */
	send(cpu0, 2, ICR_STARTUP | 0x21);
	vcpu_handle_init_sipi(cpu2);
	assert_int_equal(cpu2->run_state, VCPU_RUNNABLE);
	assert_int_equal(s->seg[SREG_CS].base, 0x21000);
}

/* INIT to the BSP: the INIT state, runnable at the reset vector (there is
 * no SIPI for it to wait for). */
static void test_init_bsp(void **state)
{
	send(cpu1, 0, ICR_INIT);
	assert_true(requested(cpu0, VCPU_REQ_INIT));
	vcpu_handle_init_sipi(cpu0);
	assert_int_equal(cpu0->run_state, VCPU_RUNNABLE);
	expect_reset_vector(cpu0);
	u64 base;
	assert_int_equal(vcpu_apic_msr_read(cpu0, APIC_BASE_MSR, &base), 0);
	assert_int_equal(base, 0xfee00900ULL); /* still the BSP */
	/* A SIPI to the BSP is ignored. */
	send(cpu1, 0, ICR_STARTUP | 0x30);
	vcpu_handle_init_sipi(cpu0);
	expect_reset_vector(cpu0);
}

/* SMI: there is no SMM; the message is dropped and said so. */
static void test_smi_dropped(void **state)
{
	send(cpu0, 0xff, ICR_SMI);
	for (unsigned i = 0; i < NCPUS; i++) {
		assert_false(vcpu_has_requests(&vcpus[i]));
		assert_int_equal(kicks[i], 0);
	}
	assert_int_equal(log_lines, 1);
	assert_non_null(strstr(last_log, "SMI"));
}

/* ---- The 8259 on LINT0, and ExtINT from the I/O APIC ---- */

#define MASTER_CMD 0x20
#define MASTER_IMR 0x21

static void pic_out(u16 port, u8 v) { io_bus_write(&vm.pio, cpu0, "test", port, 1, v); }

static void pic_master_init(u8 imr)
{
	pic_out(MASTER_CMD, 0x11);
	pic_out(MASTER_IMR, 0x20);
	pic_out(MASTER_IMR, 0x04);
	pic_out(MASTER_IMR, 0x01);
	pic_out(MASTER_IMR, imr);
}

/* The 8259's INTR goes to every vCPU whose LINT0 is unmasked ExtINT: the
 * BSP's as firmware leaves it, and an AP's once the guest sets it so. */
static void test_pic_output_to_unmasked_lint0(void **state)
{
	enable_all();
	pic_master_init(0xef);
	vm_set_irq(&vm, 4, true);
	assert_true(requested(cpu0, VCPU_REQ_EVENT));
	assert_true(cpu0->irq_check);
	for (unsigned i = 1; i < NCPUS; i++) {
		assert_false(vcpu_has_requests(&vcpus[i]));
		assert_false(vcpu_apic_has_interrupt(&vcpus[i]));
	}
	assert_int_equal(vcpu_apic_acknowledge(cpu0), 0x24);
	vm_set_irq(&vm, 4, false);
	pic_out(MASTER_CMD, 0x20);

	clear_requests_and_kicks();
	lapic_wr(cpu0, 0x350, 0x10700);
	lapic_wr(cpu2, 0x350, 0x00700);
	vm_set_irq(&vm, 4, true);
	assert_false(requested(cpu0, VCPU_REQ_EVENT));
	assert_true(requested(cpu2, VCPU_REQ_EVENT));
	assert_int_equal(kicks[2], 1);
	assert_true(vcpu_apic_has_interrupt(cpu2));
	assert_int_equal(vcpu_apic_acknowledge(cpu2), 0x24);
}

/* An I/O APIC entry in ExtINT mode: the target takes the vector from the
 * 8259 (INTA), not from its local APIC. */
static void test_ioapic_extint(void **state)
{
	enable_all();
	pic_master_init(0xf7); /* IRQ 3 only */
	lapic_wr(cpu0, 0x350, 0x10700); /* the BSP's LINT0 out of the way */
	program_pin(3, RTE_EXTINT, 1);
	vm_set_irq(&vm, 3, true);
	assert_true(requested(cpu1, VCPU_REQ_EVENT));
	assert_false(vcpu_apic_has_interrupt(cpu0));
	assert_true(vcpu_apic_has_interrupt(cpu1));
	assert_int_equal(vcpu_apic_acknowledge(cpu1), 0x23);
	assert_int_equal(cpu1->apic->lapic.irr_words, 0);
	/* Once taken, no second INTA for the same message. */
	assert_false(vcpu_apic_has_interrupt(cpu1));
}

/* ---- What the guest finds: APIC IDs and the BSP flag ---- */

static void test_apic_ids_and_bsp_flag(void **state)
{
	for (unsigned i = 0; i < NCPUS; i++) {
		u64 base;
		assert_int_equal(vcpus[i].apic->lapic.initial_id, i);
		assert_int_equal(lapic_rd(&vcpus[i], 0x20), i << 24);
		assert_int_equal(vcpu_apic_msr_read(&vcpus[i], APIC_BASE_MSR, &base), 0);
		assert_int_equal(base & BIT(8), i == 0 ? BIT(8) : 0);
	}
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_request_protocol),
		T(test_fixed_physical),
		T(test_fixed_logical_flat),
		T(test_fixed_logical_cluster),
		T(test_fixed_x2apic),
		T(test_fixed_shorthands),
		T(test_ioapic_fixed_requests),
		T(test_disabled_targets),
		T(test_lowest_priority),
		T(test_lowest_priority_round_robin),
		T(test_ioapic_lowest_priority),
		T(test_nmi),
		T(test_ioapic_nmi),
		T(test_lint1_nmi),
		T(test_ap_power_on),
		T(test_init_sipi_sipi),
		T(test_init_sipi_broadcast_before_the_vcpu_looks),
		T(test_init_running_ap),
		T(test_init_bsp),
		T(test_smi_dropped),
		T(test_pic_output_to_unmasked_lint0),
		T(test_ioapic_extint),
		T(test_apic_ids_and_bsp_flag),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
