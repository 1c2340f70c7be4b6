/* vCPU requests (vcpu_request.h). */
#include "vmm/vcpu_request.h"
#include "vmm/vm.h"

void vcpu_request(struct vcpu *v, enum vcpu_request request)
{
	__atomic_fetch_or(&v->requests, 1ULL << request, __ATOMIC_SEQ_CST);
	vcpu_kick(v);
}

bool vcpu_check_request(struct vcpu *v, enum vcpu_request request)
{
	u64 bit = 1ULL << request;
	if (!(__atomic_load_n(&v->requests, __ATOMIC_ACQUIRE) & bit))
		return false;
	return __atomic_fetch_and(&v->requests, ~bit, __ATOMIC_ACQ_REL) & bit;
}

bool vcpu_has_requests(const struct vcpu *v)
{
	return __atomic_load_n(&v->requests, __ATOMIC_SEQ_CST) != 0;
}
