/*
 * A fake struct backend_ops (vmm/backend.h) for exit-path unit tests and
 * fuzzers: the guest's control state is a struct vcpu_sregs the test sets,
 * vcpu_run returns whatever exit the test (or a hook) supplies, and every
 * injected event is logged so the test can check what the guest would get.
 * It also stands in for the host seam's XCR0 (vmm/host.h). CR/EFER/XCR0
 * writes are checked the way the CPU checks them (a subset: the reserved
 * bits and combinations the exit handlers must turn into #GP).
 *
 * Include after tests/unit/fake_vm.h and the vmm/ exit-path sources.
 * The one backend this file defines is the `backend` vmm/ calls.
 */
#pragma once
#include <string.h>

#include "vmm/backend.h"
#include "vmm/host.h"
#include "vmm/vm.h"

#define FAKE_EVENT_LOG_SIZE 16
#define FAKE_XCR0_SUPPORTED (XCR0_X87 | XCR0_SSE | XCR0_AVX)

/* CR0 bits 63:32 are reserved; NW without CD and PG without PE #GP. */
#define FAKE_CR0_RESERVED 0xffffffff00000000ULL
/* CR4 bits a guest may set here: everything the SDM defines up to PKS
 * (bit 24) but VMXE and SMXE (no nested virtualization), LA57, Key Locker
 * and the reserved bit 15. */
#define FAKE_CR4_ALLOWED (0x1ffffffULL & ~(CR4_LA57 | CR4_VMXE | CR4_SMXE | BIT(15) | CR4_KL))
#define FAKE_EFER_ALLOWED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

struct fake_event {
	enum event_type type;
	u8 vector;
	bool has_error_code;
	u32 error_code;
	u64 cr2; /* CR2 when the event was injected (#PF) */
	bool protected_mode; /* CR0.PE then: real mode pushes no error code */
};

struct fake_backend {
	/* The guest's control state: CR0/3/4, EFER, segments (CS.l/db give
	 * the mode, SS.dpl the CPL), CR2, PAT. */
	struct vcpu_sregs sregs;
	bool interrupt_shadow;    /* STI / MOV SS blocking */
	bool event_queued;        /* an injection waits for the next entry */
	bool interrupt_window;
	/* Every inject_event call since the last fake_backend_reset(). */
	unsigned xcr0_writes; /* host_set_guest_xcr0 calls: the host executing XSETBV */
	struct fake_event events[FAKE_EVENT_LOG_SIZE];
	unsigned event_count;
	unsigned injections_overwritten; /* injected while another was queued */
	/* What vcpu_run returns: the hook's exit if set, else next_exit. */
	void (*run_hook)(struct vcpu *vcpu, struct vm_exit *exit);
	struct vm_exit next_exit;
	unsigned runs;
	u64 xcr0;
	bool fail_map_ram;
	unsigned map_ram_calls, tlb_flushes, dumps;
};

static struct fake_backend fake_backend;

static const struct fake_event *fake_last_event(void)
{
	return fake_backend.event_count ? &fake_backend.events[(fake_backend.event_count - 1) % FAKE_EVENT_LOG_SIZE]
					: NULL;
}

static int fake_cpu_enable(char *err, size_t err_len) { return 0; }
static int fake_vm_create_backend(struct vm *vm, char *err, size_t err_len) { return 0; }
static void fake_vm_destroy_backend(struct vm *vm) {}
static int fake_vcpu_create(struct vcpu *vcpu, char *err, size_t err_len) { return 0; }
static void fake_vcpu_destroy(struct vcpu *vcpu) {}

static int fake_map_ram(struct vm *vm, u64 gpa, u64 size)
{
	fake_backend.map_ram_calls++;
	return fake_backend.fail_map_ram ? -1 : 0;
}

/* Entering the guest delivers what was queued, then the guest exits again. */
static void fake_vcpu_run(struct vcpu *vcpu, struct vm_exit *exit)
{
	fake_backend.runs++;
	fake_backend.event_queued = false;
	memset(exit, 0, sizeof(*exit));
	if (fake_backend.run_hook)
		fake_backend.run_hook(vcpu, exit);
	else
		*exit = fake_backend.next_exit;
}

static void fake_get_sregs(struct vcpu *vcpu, struct vcpu_sregs *sregs) { *sregs = fake_backend.sregs; }

static void fake_set_sregs(struct vcpu *vcpu, const struct vcpu_sregs *sregs) { fake_backend.sregs = *sregs; }

/* What VMX/SVM would report: CPL is SS.DPL, the mode comes from CS. */
static void fake_get_control(struct vcpu *vcpu, struct vcpu_control *control)
{
	const struct vcpu_sregs *s = &fake_backend.sregs;
	memset(control, 0, sizeof(*control));
	control->cr0 = s->cr0;
	control->cr3 = s->cr3;
	control->cr4 = s->cr4;
	control->efer = s->efer;
	for (unsigned i = 0; i < SEG_NONE; i++)
		control->segment_base[i] = s->seg[i].base;
	control->cs_long = s->seg[SREG_CS].l;
	control->cs_default32 = s->seg[SREG_CS].db;
	control->cpl = s->seg[SREG_SS].dpl;
}

/* LMA follows LME once paging is on, as the CPU sets it. */
static void fake_update_lma(void)
{
	struct vcpu_sregs *s = &fake_backend.sregs;
	s->efer &= ~EFER_LMA;
	if ((s->efer & EFER_LME) && (s->cr0 & CR0_PG))
		s->efer |= EFER_LMA;
}

static int fake_set_efer(struct vcpu *vcpu, u64 efer)
{
	struct vcpu_sregs *s = &fake_backend.sregs;
	if (efer & ~FAKE_EFER_ALLOWED)
		return -1;
	if ((s->cr0 & CR0_PG) && ((efer ^ s->efer) & EFER_LME))
		return -1; /* LME changes only with paging off */
	s->efer = efer;
	fake_update_lma();
	return 0;
}

static int fake_set_cr0(u64 value)
{
	struct vcpu_sregs *s = &fake_backend.sregs;
	if ((value & FAKE_CR0_RESERVED) || ((value & CR0_PG) && !(value & CR0_PE)) ||
	    ((value & CR0_NW) && !(value & CR0_CD)))
		return -1;
	if ((value & CR0_PG) && (s->efer & EFER_LME) && !(s->cr4 & CR4_PAE))
		return -1; /* long mode needs PAE */
	if (!(value & CR0_PG) && (s->efer & EFER_LMA) && s->seg[SREG_CS].l)
		return -1; /* 64-bit mode cannot turn paging off */
	s->cr0 = value;
	fake_update_lma();
	return 0;
}

static int fake_set_cr(struct vcpu *vcpu, unsigned cr, u64 value)
{
	struct vcpu_sregs *s = &fake_backend.sregs;
	switch (cr) {
	case 0: return fake_set_cr0(value);
	case 3: s->cr3 = value; return 0;
	case 4:
		if ((value & ~FAKE_CR4_ALLOWED) || ((s->efer & EFER_LMA) && !(value & CR4_PAE)))
			return -1;
		s->cr4 = value;
		return 0;
	default: return -1;
	}
}

static void fake_inject_event(struct vcpu *vcpu, enum event_type type, u8 vector, bool has_error_code,
			      u32 error_code)
{
	if (fake_backend.event_queued)
		fake_backend.injections_overwritten++;
	fake_backend.events[fake_backend.event_count++ % FAKE_EVENT_LOG_SIZE] =
		(struct fake_event){ type, vector, has_error_code, error_code, fake_backend.sregs.cr2,
				     (fake_backend.sregs.cr0 & CR0_PE) != 0 };
	fake_backend.event_queued = true;
}


static bool fake_interrupt_allowed(struct vcpu *vcpu)
{
	return (vcpu->regs.rflags & RFLAGS_IF) && !fake_backend.interrupt_shadow && !fake_backend.event_queued;
}

static void fake_clear_interrupt_shadow(struct vcpu *vcpu) { fake_backend.interrupt_shadow = false; }
static void fake_set_interrupt_window(struct vcpu *vcpu, bool enable) { fake_backend.interrupt_window = enable; }
static void fake_flush_guest_tlb(struct vcpu *vcpu) { fake_backend.tlb_flushes++; }
static void fake_vcpu_load(struct vcpu *vcpu) {}
static void fake_vcpu_put(struct vcpu *vcpu) {}

/* The host seam's XCR0 (vmm/host.h), XSETBV's checks (SDM XSETBV): x87
 * always on, AVX needs SSE. */
int host_set_guest_xcr0(struct vcpu *vcpu, u64 xcr0)
{
	fake_backend.xcr0_writes++; /* the host's own XSETBV */
	if ((xcr0 & ~FAKE_XCR0_SUPPORTED) || !(xcr0 & XCR0_X87) ||
	    ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE)))
		return -1;
	fake_backend.xcr0 = xcr0;
	return 0;
}

u64 host_xcr0_supported(void) { return FAKE_XCR0_SUPPORTED; }
static void fake_dump_state(struct vcpu *vcpu) { fake_backend.dumps++; }

static const struct backend_ops fake_backend_ops = {
	.name = "fake",
	.cpu_enable = fake_cpu_enable,
	.vm_create = fake_vm_create_backend,
	.map_ram = fake_map_ram,
	.vm_destroy = fake_vm_destroy_backend,
	.vcpu_create = fake_vcpu_create,
	.vcpu_destroy = fake_vcpu_destroy,
	.vcpu_run = fake_vcpu_run,
	.get_sregs = fake_get_sregs,
	.get_control = fake_get_control,
	.set_sregs = fake_set_sregs,
	.set_efer = fake_set_efer,
	.set_cr = fake_set_cr,
	.inject_event = fake_inject_event,
	.interrupt_allowed = fake_interrupt_allowed,
	.clear_interrupt_shadow = fake_clear_interrupt_shadow,
	.set_interrupt_window = fake_set_interrupt_window,
	.flush_guest_tlb = fake_flush_guest_tlb,
	.vcpu_load = fake_vcpu_load,
	.vcpu_put = fake_vcpu_put,
	.dump_state = fake_dump_state,
};

const struct backend_ops *backend = &fake_backend_ops;

/* ---- Guest state helpers ---- */

#define FAKE_FLAT_LIMIT 0xffffffffu
#define FAKE_REAL_LIMIT 0xffffu

/* Forgets the events and state of the previous test; the guest starts in
 * real mode, flat segments at base 0. */
static void fake_backend_reset(void)
{
	memset(&fake_backend, 0, sizeof(fake_backend));
	for (unsigned i = 0; i < SREG_COUNT; i++) {
		struct segment *seg = &fake_backend.sregs.seg[i];
		seg->limit = FAKE_REAL_LIMIT;
		seg->present = seg->s = true;
		seg->type = i == SREG_CS ? SEG_TYPE_CODE_EXEC_READ_ACCESSED : SEG_TYPE_DATA_READ_WRITE_ACCESSED;
	}
	fake_backend.xcr0 = XCR0_X87;
	fake_vcpu.control_valid = false;
}

/* Puts the vCPU in 'mode' with paging off (64-bit mode implies paging;
 * the caller supplies CR3 and the tables then). */
static void fake_backend_set_mode(enum x86_mode mode)
{
	struct vcpu_sregs *s = &fake_backend.sregs;
	bool protected_mode = mode != X86_MODE_REAL;
	s->cr0 = protected_mode ? CR0_PE | CR0_ET : CR0_ET;
	s->cr4 = mode == X86_MODE_LONG64 ? CR4_PAE : 0;
	s->efer = 0;
	if (mode == X86_MODE_LONG64) {
		s->cr0 |= CR0_PG;
		s->efer = EFER_LME | EFER_LMA;
	}
	for (unsigned i = 0; i < SREG_COUNT; i++) {
		s->seg[i].limit = protected_mode ? FAKE_FLAT_LIMIT : FAKE_REAL_LIMIT;
		s->seg[i].db = mode == X86_MODE_PROT32;
		s->seg[i].g = protected_mode;
		s->seg[i].l = false;
	}
	s->seg[SREG_CS].l = mode == X86_MODE_LONG64;
	fake_vcpu.control_valid = false;
}

/* Copies bytes (instructions, page tables) into guest RAM. */
static void fake_guest_write(u64 gpa, const void *bytes, size_t length)
{
	memcpy(fake_ram + gpa, bytes, length);
}
