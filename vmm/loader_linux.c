/*
 * Linux bzImage loader: the setup header is copied into boot_params, the
 * protected-mode kernel goes to its preferred address, the initrd as high
 * as initrd_addr_max allows, the e820 map comes from the VM's memory map,
 * and the CPU enters the 32-bit boot protocol (ESI = boot_params).
 */
#include "vmm/loader_linux.h"
#include "vmm/guest_mem.h"
#include "vmm/loader.h"
#include "vmm/vm.h"
#include "vmm/vm_config.h"
#include "boot/bootinfo.h"
#include "lib/print.h"
#include "lib/string.h"

/* boot_params / setup header offsets (boot.rst, "The real-mode kernel header") */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define HDR_SETUP_SECTS 0x1f1
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
#define BP_E820_TABLE 0x2d0
#define BOOT_PARAMS_SIZE 4096
#define E820_MAX_ENTRIES 128
#define E820_ENTRY_SIZE 20

#define SETUP_HEADER_MAGIC 0x53726448u /* "HdrS" */
#define MIN_BOOT_PROTOCOL 0x020c       /* 2.12: 64-bit capable, xloadflags */
#define DEFAULT_SETUP_SECTS 4
#define SECTOR_SIZE 512
#define LOADFLAG_LOADED_HIGH BIT(0)
#define LOADER_TYPE_UNDEFINED 0xff
#define LINUX_LOAD_DEFAULT 0x100000ULL
#define INITRD_ADDR_MAX_DEFAULT 0x37ffffffULL

/* Boot GDT: __BOOT_CS = 0x10 and __BOOT_DS = 0x18, both 4 GiB flat. */
#define BOOT_CS 0x10
#define BOOT_DS 0x18
#define GDT_FLAT_CODE32 0x00cf9b000000ffffULL
#define GDT_FLAT_DATA 0x00cf93000000ffffULL

static u32 rd32(const u8 *p, unsigned off) { u32 v; memcpy(&v, p + off, 4); return v; }
static u16 rd16(const u8 *p, unsigned off) { u16 v; memcpy(&v, p + off, 2); return v; }
static u64 rd64(const u8 *p, unsigned off) { u64 v; memcpy(&v, p + off, 8); return v; }
static void wr32(u8 *p, unsigned off, u32 v) { memcpy(p + off, &v, 4); }
static void wr64(u8 *p, unsigned off, u64 v) { memcpy(p + off, &v, 8); }

bool linux_is_bzimage(const u8 *image, u64 size)
{
	return size > HDR_INIT_SIZE + 4 && rd32(image, HDR_MAGIC) == SETUP_HEADER_MAGIC;
}

static u32 build_e820(struct vm *vm, u8 *bp)
{
	struct memmap_range ranges[MEMMAP_MAX_REGIONS];
	u32 count = memmap_guest_ranges(&vm->mem, ranges, ARRAY_SIZE(ranges));
	_Static_assert(MEMMAP_MAX_REGIONS <= E820_MAX_ENTRIES, "e820 table too small");
	u32 n = 0;
	for (; n < count; n++) {
		const struct memmap_range *r = &ranges[n];
		u8 *e = bp + BP_E820_TABLE + n * E820_ENTRY_SIZE;
		wr64(e, 0, r->gpa);
		wr64(e, 8, r->size);
		wr32(e, 16, r->kind == MEMMAP_RAM ? MEM_USABLE : MEM_RESERVED);
	}
	bp[BP_E820_ENTRIES] = (u8)n;
	return n;
}

/* Where the protected-mode kernel goes: its preferred address when it and
 * the decompressor's working space (init_size) fit, else 1 MiB. */
static u64 kernel_address(struct vm *vm, const u8 *hdr, u64 pm_size)
{
	u64 pref = rd64(hdr, HDR_PREF_ADDRESS), init = rd32(hdr, HDR_INIT_SIZE);
	u64 need = MAX(pm_size, init);
	if (pref && memmap_find(&vm->mem, pref, 1) && memmap_stretch_end(&vm->mem, pref) - pref >= need)
		return pref;
	return LINUX_LOAD_DEFAULT;
}

static int place_initrd(struct vm *vm, const struct vm_config *cfg, u8 *bp, u64 kernel_end,
			char *err, size_t len)
{
	if (!cfg->initrd)
		return 0;
	u64 max = rd32(bp, HDR_INITRD_ADDR_MAX);
	/* Below the PCI hole too: the RAM from 1 MiB ends there. */
	u64 top = MIN(memmap_stretch_end(&vm->mem, LINUX_LOAD_DEFAULT), (max ? max : INITRD_ADDR_MAX_DEFAULT) + 1);
	u64 gpa = ALIGN_DOWN(top - cfg->initrd_size, PAGE_SIZE);
	if (cfg->initrd_size > top || gpa < kernel_end) {
		ksnprintf(err, len, "the initrd (%llu KiB) does not fit below 0x%llx above the kernel; raise mem=",
			  (unsigned long long)(cfg->initrd_size / KiB), (unsigned long long)top);
		return -1;
	}
	if (guest_phys_write(vm, gpa, cfg->initrd, cfg->initrd_size)) {
		ksnprintf(err, len, "the initrd does not fit in guest RAM; raise mem=");
		return -1;
	}
	wr32(bp, HDR_RAMDISK_IMAGE, (u32)gpa);
	wr32(bp, HDR_RAMDISK_SIZE, (u32)cfg->initrd_size);
	wr32(bp, BP_EXT_RAMDISK_IMAGE, (u32)(gpa >> 32));
	wr32(bp, BP_EXT_RAMDISK_SIZE, (u32)(cfg->initrd_size >> 32));
	return 0;
}

static int write_cmdline(struct vm *vm, const struct vm_config *cfg, u8 *bp, char *err, size_t len)
{
	size_t n = strnlen(cfg->cmdline, sizeof(cfg->cmdline));
	u32 limit = rd32(bp, HDR_CMDLINE_SIZE);
	if (n > limit || n + 1 > LINUX_CMDLINE_MAX) {
		ksnprintf(err, len, "the kernel command line is %zu bytes; this kernel takes %u", n, limit);
		return -1;
	}
	if (guest_phys_write(vm, LINUX_CMDLINE_GPA, cfg->cmdline, n + 1))
		return -1;
	wr32(bp, HDR_CMD_LINE_PTR, (u32)LINUX_CMDLINE_GPA);
	wr32(bp, BP_EXT_CMD_LINE_PTR, 0);
	return 0;
}

static int write_gdt(struct vm *vm, struct vcpu_sregs *sregs)
{
	u64 gdt[4] = { 0, 0, GDT_FLAT_CODE32, GDT_FLAT_DATA };
	if (guest_phys_write(vm, LINUX_GDT_GPA, gdt, sizeof(gdt)))
		return -1;
	sregs->gdtr.base = LINUX_GDT_GPA;
	sregs->gdtr.limit = sizeof(gdt) - 1;
	for (int i = SREG_ES; i <= SREG_GS; i++)
		sregs->seg[i].selector = BOOT_DS;
	sregs->seg[SREG_CS].selector = BOOT_CS;
	return 0;
}

int linux_load(struct vm *vm, const struct vm_config *cfg, u64 rsdp_gpa, struct vcpu_regs *regs,
	       struct vcpu_sregs *sregs, char *err, size_t len)
{
	const u8 *image = cfg->kernel;
	u16 version = rd16(image, HDR_VERSION);
	if (version < MIN_BOOT_PROTOCOL) {
		ksnprintf(err, len, "the kernel speaks boot protocol %u.%02u; Presidio needs 2.12 or newer",
			  version >> 8, version & 0xff);
		return -1;
	}
	if (!(image[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
		ksnprintf(err, len, "a zImage (loaded low) is not supported; use a bzImage");
		return -1;
	}
	u64 setup_bytes = (u64)((image[HDR_SETUP_SECTS] ? image[HDR_SETUP_SECTS] : DEFAULT_SETUP_SECTS) + 1) * SECTOR_SIZE;
	if (setup_bytes >= cfg->kernel_size) {
		ksnprintf(err, len, "the bzImage is truncated (setup %llu bytes, file %llu)",
			  (unsigned long long)setup_bytes, (unsigned long long)cfg->kernel_size);
		return -1;
	}
	u8 *bp = guest_phys_ptr(vm, LINUX_BOOT_PARAMS_GPA, BOOT_PARAMS_SIZE);
	if (!bp) {
		ksnprintf(err, len, "no RAM for boot_params");
		return -1;
	}
	memset(bp, 0, BOOT_PARAMS_SIZE);
	u64 header_end = HDR_JUMP + 2 + image[HDR_JUMP + 1];
	memcpy(bp + HDR_SETUP_SECTS, image + HDR_SETUP_SECTS, MIN(header_end, BOOT_PARAMS_SIZE) - HDR_SETUP_SECTS);
	u64 pm_size = cfg->kernel_size - setup_bytes;
	u64 load = kernel_address(vm, bp, pm_size);
	if (guest_phys_write(vm, load, image + setup_bytes, pm_size)) {
		ksnprintf(err, len, "the kernel (%llu KiB) does not fit at 0x%llx; raise mem=",
			  (unsigned long long)(pm_size / KiB), (unsigned long long)load);
		return -1;
	}
	bp[HDR_TYPE_OF_LOADER] = LOADER_TYPE_UNDEFINED;
	wr32(bp, HDR_CODE32_START, (u32)load);
	build_e820(vm, bp);
	wr64(bp, BP_ACPI_RSDP_ADDR, rsdp_gpa);
	if (write_cmdline(vm, cfg, bp, err, len) ||
	    place_initrd(vm, cfg, bp, load + MAX(pm_size, (u64)rd32(bp, HDR_INIT_SIZE)), err, len))
		return -1;
	guest_state_protected_flat(regs, sregs, load);
	if (write_gdt(vm, sregs)) {
		ksnprintf(err, len, "no RAM for the boot GDT");
		return -1;
	}
	regs->gpr[GPR_RSI] = LINUX_BOOT_PARAMS_GPA;
	pr_info("vm %s: Linux boot protocol %u.%02u, kernel %llu KiB at 0x%llx%s", vm->name, version >> 8,
		version & 0xff, (unsigned long long)(pm_size / KiB), (unsigned long long)load,
		cfg->initrd ? ", initrd loaded" : "");
	return 0;
}
