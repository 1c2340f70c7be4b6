/*
 * cpuid: what Presidio's CPUID policy shows a guest. The hypervisor bit and
 * signature leaf are Presidio's; VMX and SVM must be hidden (no nesting).
 */
#include "report.h"
#include "x86.h"

#define LEAF_VENDOR 0x0
#define LEAF_FEATURES 0x1
#define LEAF_HYPERVISOR 0x40000000u
#define LEAF_EXT_MAX 0x80000000u
#define LEAF_EXT_FEATURES 0x80000001u
#define L1_ECX_VMX (1u << 5)
#define L1_ECX_HYPERVISOR (1u << 31)
#define L80000001_ECX_SVM (1u << 2)
/* "Presidio" NUL-padded to 12 bytes, as EBX, ECX, EDX. */
#define PRESIDIO_SIGNATURE_EBX 0x73657250u /* "Pres" */
#define PRESIDIO_SIGNATURE_ECX 0x6f696469u /* "idio" */
#define PRESIDIO_SIGNATURE_EDX 0x00000000u

const char guest_name[] = "cpuid";

static const char *const known_vendors[] = {
	"GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls", "  Shanghai  ",
};

static bool same12(const char *a, const char *b)
{
	for (int i = 0; i < 12; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

static void check_vendor(void)
{
	struct cpuid_regs r;
	cpuid(LEAF_VENDOR, 0, &r);
	check(r.eax >= LEAF_FEATURES, "max basic leaf >= 1", "leaf 0 eax 0x%x", r.eax);
	char vendor[13];
	uint32_t words[3] = { r.ebx, r.edx, r.ecx };
	for (int i = 0; i < 12; i++)
		vendor[i] = (char)(words[i / 4] >> (8 * (i % 4)));
	vendor[12] = '\0';
	bool known = false;
	for (unsigned i = 0; i < sizeof(known_vendors) / sizeof(known_vendors[0]); i++)
		known |= same12(vendor, known_vendors[i]);
	check(known, "vendor is known", "leaf 0 vendor \"%s\"", vendor);
}

static void check_feature_bits(void)
{
	struct cpuid_regs r;
	cpuid(LEAF_FEATURES, 0, &r);
	check(r.ecx & L1_ECX_HYPERVISOR, "leaf 1 hypervisor bit set", "ecx 0x%x", r.ecx);
	check(!(r.ecx & L1_ECX_VMX), "leaf 1 vmx bit clear", "ecx 0x%x", r.ecx);

	cpuid(LEAF_EXT_MAX, 0, &r);
	if (!check(r.eax >= LEAF_EXT_FEATURES, "max extended leaf >= 0x80000001", "eax 0x%x", r.eax))
		return;
	cpuid(LEAF_EXT_FEATURES, 0, &r);
	check(!(r.ecx & L80000001_ECX_SVM), "leaf 0x80000001 svm bit clear", "ecx 0x%x", r.ecx);
}

static void check_hypervisor_leaf(void)
{
	struct cpuid_regs r;
	cpuid(LEAF_HYPERVISOR, 0, &r);
	check(r.eax >= LEAF_HYPERVISOR, "leaf 0x40000000 max leaf >= 0x40000000", "eax 0x%x", r.eax);
	check(r.ebx == PRESIDIO_SIGNATURE_EBX && r.ecx == PRESIDIO_SIGNATURE_ECX &&
		      r.edx == PRESIDIO_SIGNATURE_EDX,
	      "leaf 0x40000000 signature Presidio", "ebx 0x%x ecx 0x%x edx 0x%x", r.ebx, r.ecx, r.edx);
}

void guest_main(void)
{
	check_vendor();
	check_feature_bits();
	check_hypervisor_leaf();
}
