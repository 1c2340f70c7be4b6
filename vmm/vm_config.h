/*
 * VM descriptions from GRUB module command lines (in the spirit of Xen's
 * module2 lines). The grammar (README "Describing VMs"):
 *     [path] vm=NAME [role=kernel|initrd] [mem=SIZE] [vcpus=N] [cpus=LIST] [after=VM] [debugexit=0|1]
 *     [testdev=0|1] [format=auto|multiboot|flat] [load=ADDR] [entry=ADDR]
 *     [mode=real|protected] [-- guest command line]
 */
#pragma once
#include "lib/types.h"

#define VM_CONFIG_NAME_MAX 24
#define VM_CONFIG_CMDLINE_MAX 1024
#define VM_CONFIG_MAX_VMS 16
#define VM_CONFIG_MAX_VCPUS 64
#define VM_CONFIG_MAX_CPU 63 /* highest host CPU index cpus= may name */
#define VM_DEFAULT_MEMORY (16 * MiB)
#define VM_MIN_MEMORY (2 * MiB)
#define VM_MAX_MEMORY (64 * GiB)

enum guest_format { GUEST_FORMAT_AUTO, GUEST_FORMAT_MULTIBOOT, GUEST_FORMAT_FLAT, GUEST_FORMAT_LINUX };
enum module_role { ROLE_KERNEL, ROLE_INITRD };

struct vm_config {
	char name[VM_CONFIG_NAME_MAX];
	u64 memory;
	unsigned vcpus;
	u8 cpus[VM_CONFIG_MAX_VCPUS]; /* cpus=: host CPUs for vCPU 0, 1, ... (used in turn) */
	unsigned cpu_count;           /* 0: placed by the scheduler */
	char after[VM_CONFIG_NAME_MAX]; /* after=: start once that VM has ended ("": at boot) */
	bool debug_exit;
	bool test_device;
	bool raw_console;   /* the guest owns the serial console */
	bool console_set;
	enum guest_format format;
	u64 load_address;   /* flat images */
	u64 entry_address;  /* flat images; default: load_address */
	bool entry_set;
	bool real_mode;     /* flat images start in real mode unless mode=protected */
	const u8 *kernel;
	u64 kernel_size;
	const u8 *initrd;
	u64 initrd_size;
	char cmdline[VM_CONFIG_CMDLINE_MAX];
};

struct vm_config_set {
	unsigned count;
	struct vm_config vm[VM_CONFIG_MAX_VMS];
};

void vm_config_set_init(struct vm_config_set *set);
/*
 * Adds one module (its bytes and its command line) to the set, creating or
 * extending the VM it names. Returns 0, or -1 with one sentence in err.
 */
int vm_config_add_module(struct vm_config_set *set, const char *module_cmdline,
			 const u8 *data, u64 size, char *err, size_t err_len);
/* Checks each VM has a kernel etc.; returns 0 or -1 with err naming the VM. */
int vm_config_check(const struct vm_config *vm, char *err, size_t err_len);
