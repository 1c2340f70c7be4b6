/*
 * Requests to a vCPU (the contract and the kick protocol: vcpu_request.h).
 * The bits are set and cleared with atomic read-modify-writes, which are
 * full barriers on x86 (LOCK-prefixed): whatever the requester wrote before
 * vcpu_request() (a vector in the IRR, nmi_pending, sipi_vector) is visible
 * to the vCPU's CPU once it sees the bit.
 */
#include "vmm/vcpu_request.h"
#include "vmm/vm.h"

static u64 request_bit(enum vcpu_request request)
{
	return BIT(request);
}

void vcpu_request(struct vcpu *v, enum vcpu_request request)
{
	__atomic_fetch_or(&v->requests, request_bit(request), __ATOMIC_SEQ_CST);
	vcpu_kick(v);
}

bool vcpu_check_request(struct vcpu *v, enum vcpu_request request)
{
	u64 bit = request_bit(request);
	/* A plain load first: the common "not set" answer costs no locked
	 * instruction on the entry path. */
	if (!(__atomic_load_n(&v->requests, __ATOMIC_ACQUIRE) & bit))
		return false;
	return (__atomic_fetch_and(&v->requests, ~bit, __ATOMIC_SEQ_CST) & bit) != 0;
}

bool vcpu_has_requests(const struct vcpu *v)
{
	return __atomic_load_n(&v->requests, __ATOMIC_ACQUIRE) != 0;
}
