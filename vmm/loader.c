/*
 * Multiboot (v1) guest kernels (ELF32/ELF64 or the a.out kludge) and flat
 * binaries, loaded through the guest memory API with every offset checked.
 */
#include "vmm/loader.h"
#include "arch/x86/cpu.h"
#include "vmm/guest_mem.h"
#include "vmm/vm.h"
#include "vmm/vm_config.h"
#include "vmm/loader_linux.h"
#include "boot/bootinfo.h"
#include "lib/print.h"
#include "lib/string.h"

#define MB1_HEADER_MAGIC 0x1BADB002u
#define MB1_SEARCH_LIMIT 8192
#define MB1_FLAG_AOUT_KLUDGE BIT(16)
#define MB1_INFO_MEMORY BIT(0)
#define MB1_INFO_CMDLINE BIT(2)
#define MB1_INFO_MODULES BIT(3)
#define MB1_INFO_MMAP BIT(6)
#define MB1_INFO_LOADER_NAME BIT(9)

#define ELF_MAGIC 0x464c457fu
#define ELF_CLASS_32 1
#define ELF_CLASS_64 2
#define ELF_PT_LOAD 1
#define REAL_MODE_LIMIT 0xffff
#define FLAT_LIMIT 0xffffffff
#define RESET_EDX 0x600 /* family 6 signature, as after RESET */

struct mb1_header {
	u32 magic, flags, checksum;
	u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
} PACKED;

struct mb1_info {
	u32 flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	u32 syms[4];
	u32 mmap_length, mmap_addr;
	u32 drives_length, drives_addr, config_table, boot_loader_name;
} PACKED;
_Static_assert(sizeof(struct mb1_info) == 68, "Multiboot info up to boot_loader_name");

struct mb1_module {
	u32 start, end, string, reserved;
} PACKED;

struct mb1_mmap_entry {
	u32 size;
	u64 base, length;
	u32 type;
} PACKED;
_Static_assert(sizeof(struct mb1_mmap_entry) == 24, "Multiboot mmap entry");

struct elf32_header {
	u8 ident[16];
	u16 type, machine;
	u32 version, entry, phoff, shoff, flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} PACKED;

struct elf32_phdr {
	u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
} PACKED;

struct elf64_header {
	u8 ident[16];
	u16 type, machine;
	u32 version;
	u64 entry, phoff, shoff;
	u32 flags;
	u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
} PACKED;

struct elf64_phdr {
	u32 type, flags;
	u64 offset, vaddr, paddr, filesz, memsz, align;
} PACKED;

/* Info area layout inside [MULTIBOOT_INFO_GPA, +MULTIBOOT_INFO_AREA) */
#define INFO_OFFSET 0x0
#define LOADER_NAME_OFFSET 0x100
#define MODULES_OFFSET 0x180
#define MMAP_OFFSET 0x200
#define CMDLINE_OFFSET 0x1000
#define MODULE_CMDLINE_OFFSET 0x1800

struct load_state {
	struct vm *vm;
	const struct vm_config *cfg;
	u64 highest; /* end of everything loaded, for placing the initrd */
	char *err;
	size_t err_len;
};

static int place(struct load_state *s, u64 gpa, const u8 *src, u64 file_size, u64 mem_size)
{
	if (mem_size < file_size || gpa + mem_size < gpa ||
	    (gpa < MULTIBOOT_INFO_GPA + MULTIBOOT_INFO_AREA && gpa + mem_size > MULTIBOOT_INFO_GPA)) {
		ksnprintf(s->err, s->err_len, "segment at 0x%llx (+0x%llx) overlaps the boot info at 0x%llx or wraps",
			  (unsigned long long)gpa, (unsigned long long)mem_size, MULTIBOOT_INFO_GPA);
		return -1;
	}
	/* Usable RAM throughout, which may come from more than one host run. */
	const struct memmap_region *r = memmap_find(&s->vm->mem, gpa, 1);
	if (!r || r->kind != MEMMAP_RAM || memmap_stretch_end(&s->vm->mem, gpa) - gpa < mem_size) {
		ksnprintf(s->err, s->err_len, "segment 0x%llx-0x%llx does not fit in the VM's %llu MiB of RAM; "
			  "raise mem=", (unsigned long long)gpa, (unsigned long long)(gpa + mem_size),
			  (unsigned long long)(s->vm->ram_size / MiB));
		return -1;
	}
	if (guest_phys_write(s->vm, gpa, src, file_size) ||
	    guest_phys_zero(s->vm, gpa + file_size, mem_size - file_size))
		return -1; /* not reached: the range is RAM */
	s->highest = MAX(s->highest, gpa + mem_size);
	return 0;
}

static int load_elf32(struct load_state *s, u64 *entry)
{
	const u8 *image = s->cfg->kernel;
	u64 size = s->cfg->kernel_size;
	struct elf32_header h;
	memcpy(&h, image, sizeof(h));
	if ((u64)h.phoff + (u64)h.phnum * sizeof(struct elf32_phdr) > size || h.phentsize != sizeof(struct elf32_phdr)) {
		ksnprintf(s->err, s->err_len, "ELF32 program headers are outside the file");
		return -1;
	}
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf32_phdr p;
		memcpy(&p, image + h.phoff + i * sizeof(p), sizeof(p));
		if (p.type != ELF_PT_LOAD || !p.memsz)
			continue;
		if ((u64)p.offset + p.filesz > size) {
			ksnprintf(s->err, s->err_len, "ELF32 segment %u lies outside the file", i);
			return -1;
		}
		if (place(s, p.paddr, image + p.offset, p.filesz, p.memsz))
			return -1;
	}
	*entry = h.entry;
	return 0;
}

static int load_elf64(struct load_state *s, u64 *entry)
{
	const u8 *image = s->cfg->kernel;
	u64 size = s->cfg->kernel_size;
	struct elf64_header h;
	if (size < sizeof(h))
		goto bad;
	memcpy(&h, image, sizeof(h));
	if (h.phoff > size || (u64)h.phnum * sizeof(struct elf64_phdr) > size - h.phoff ||
	    h.phentsize != sizeof(struct elf64_phdr))
		goto bad;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf64_phdr p;
		memcpy(&p, image + h.phoff + i * sizeof(p), sizeof(p));
		if (p.type != ELF_PT_LOAD || !p.memsz)
			continue;
		if (p.offset > size || p.filesz > size - p.offset)
			goto bad;
		if (place(s, p.paddr, image + p.offset, p.filesz, p.memsz))
			return -1;
	}
	*entry = h.entry;
	return 0;
bad:
	ksnprintf(s->err, s->err_len, "ELF64 headers or segments lie outside the file");
	return -1;
}

static int load_aout_kludge(struct load_state *s, const struct mb1_header *h, u64 header_offset, u64 *entry)
{
	u64 size = s->cfg->kernel_size;
	if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > header_offset) {
		ksnprintf(s->err, s->err_len, "Multiboot a.out header addresses are inconsistent");
		return -1;
	}
	u64 file_offset = header_offset - (h->header_addr - h->load_addr);
	u64 load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (size - file_offset);
	u64 bss_end = h->bss_end_addr ? h->bss_end_addr : load_end;
	if (load_end < h->load_addr || bss_end < load_end || file_offset + (load_end - h->load_addr) > size) {
		ksnprintf(s->err, s->err_len, "Multiboot a.out load range lies outside the file");
		return -1;
	}
	*entry = h->entry_addr;
	return place(s, h->load_addr, s->cfg->kernel + file_offset, load_end - h->load_addr,
		     bss_end - h->load_addr);
}

static bool find_mb1_header(const u8 *image, u64 size, struct mb1_header *h, u64 *offset)
{
	for (u64 off = 0; off + sizeof(*h) <= MIN(size, MB1_SEARCH_LIMIT + sizeof(*h)); off += 4) {
		memcpy(h, image + off, sizeof(*h));
		if (h->magic == MB1_HEADER_MAGIC && (u32)(h->magic + h->flags + h->checksum) == 0) {
			*offset = off;
			return true;
		}
	}
	return false;
}

static u32 add_mmap(struct vm *vm, u8 *area)
{
	struct memmap_range ranges[MEMMAP_MAX_REGIONS];
	unsigned count = memmap_guest_ranges(&vm->mem, ranges, ARRAY_SIZE(ranges));
	struct mb1_mmap_entry e;
	u32 length = 0;
	for (unsigned i = 0; i < count; i++) {
		const struct memmap_range *r = &ranges[i];
		e = (struct mb1_mmap_entry){ sizeof(e) - sizeof(u32), r->gpa, r->size,
					     r->kind == MEMMAP_RAM ? MEM_USABLE : MEM_RESERVED };
		memcpy(area + length, &e, sizeof(e));
		length += sizeof(e);
	}
	return length;
}

static int build_info(struct load_state *s, u64 initrd_gpa)
{
	u8 *area = guest_phys_ptr(s->vm, MULTIBOOT_INFO_GPA, MULTIBOOT_INFO_AREA);
	if (!area) {
		ksnprintf(s->err, s->err_len, "no RAM for the Multiboot info at 0x%llx", MULTIBOOT_INFO_GPA);
		return -1;
	}
	memset(area, 0, MULTIBOOT_INFO_AREA);
	struct mb1_info info = { 0 };
	info.flags = MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MMAP | MB1_INFO_LOADER_NAME;
	info.mem_lower = (u32)(s->vm->mem.region[0].size / KiB);
	/* Upper memory: from 1 MiB to the first hole (the PCI hole). */
	info.mem_upper = (u32)((memmap_stretch_end(&s->vm->mem, MiB) - MiB) / KiB);
	info.cmdline = MULTIBOOT_INFO_GPA + CMDLINE_OFFSET;
	strncpy_terminated((char *)area + CMDLINE_OFFSET, s->cfg->cmdline, MODULE_CMDLINE_OFFSET - CMDLINE_OFFSET);
	info.boot_loader_name = MULTIBOOT_INFO_GPA + LOADER_NAME_OFFSET;
	strncpy_terminated((char *)area + LOADER_NAME_OFFSET, "Presidio", MODULES_OFFSET - LOADER_NAME_OFFSET);
	info.mmap_addr = MULTIBOOT_INFO_GPA + MMAP_OFFSET;
	info.mmap_length = add_mmap(s->vm, area + MMAP_OFFSET);
	if (initrd_gpa) {
		struct mb1_module m = { (u32)initrd_gpa, (u32)(initrd_gpa + s->cfg->initrd_size),
					MULTIBOOT_INFO_GPA + MODULE_CMDLINE_OFFSET, 0 };
		memcpy(area + MODULES_OFFSET, &m, sizeof(m));
		info.flags |= MB1_INFO_MODULES;
		info.mods_count = 1;
		info.mods_addr = MULTIBOOT_INFO_GPA + MODULES_OFFSET;
	}
	memcpy(area + INFO_OFFSET, &info, sizeof(info));
	return 0;
}

static int load_multiboot(struct load_state *s, struct vcpu_regs *regs, struct vcpu_sregs *sregs)
{
	struct mb1_header h;
	u64 header_offset, entry = 0;
	const u8 *image = s->cfg->kernel;
	if (!find_mb1_header(image, s->cfg->kernel_size, &h, &header_offset)) {
		ksnprintf(s->err, s->err_len, "the kernel has no Multiboot header in its first 8 KiB; "
			  "use format=flat load=ADDR for a raw binary");
		return -1;
	}
	u32 magic;
	memcpy(&magic, image, sizeof(magic));
	int rc;
	if (h.flags & MB1_FLAG_AOUT_KLUDGE)
		rc = load_aout_kludge(s, &h, header_offset, &entry);
	else if (magic == ELF_MAGIC && s->cfg->kernel_size >= sizeof(struct elf32_header))
		rc = image[4] == ELF_CLASS_64 ? load_elf64(s, &entry) : load_elf32(s, &entry);
	else {
		ksnprintf(s->err, s->err_len, "Multiboot kernel is neither ELF nor uses the a.out kludge");
		return -1;
	}
	if (rc)
		return -1;
	if (entry >= 4 * GiB) {
		ksnprintf(s->err, s->err_len, "Multiboot entry point 0x%llx is above 4 GiB", (unsigned long long)entry);
		return -1;
	}
	u64 initrd_gpa = 0;
	if (s->cfg->initrd) {
		initrd_gpa = ALIGN_UP(s->highest, PAGE_SIZE);
		if (place(s, initrd_gpa, s->cfg->initrd, s->cfg->initrd_size, s->cfg->initrd_size))
			return -1;
	}
	if (build_info(s, initrd_gpa))
		return -1;
	guest_state_protected_flat(regs, sregs, entry);
	regs->gpr[GPR_RAX] = MULTIBOOT1_BOOTLOADER_MAGIC;
	regs->gpr[GPR_RBX] = MULTIBOOT_INFO_GPA + INFO_OFFSET;
	return 0;
}

static int load_flat(struct load_state *s, struct vcpu_regs *regs, struct vcpu_sregs *sregs)
{
	const struct vm_config *c = s->cfg;
	if (place(s, c->load_address, c->kernel, c->kernel_size, c->kernel_size))
		return -1;
	u64 entry = c->entry_set ? c->entry_address : c->load_address;
	if (c->real_mode) {
		if (entry >= MiB) {
			ksnprintf(s->err, s->err_len, "real-mode entry 0x%llx is above 1 MiB", (unsigned long long)entry);
			return -1;
		}
		guest_state_real_mode(regs, sregs, entry);
	} else {
		guest_state_protected_flat(regs, sregs, entry);
	}
	return 0;
}

int guest_load(struct vm *vm, const struct vm_config *cfg, struct vcpu_regs *regs,
	       struct vcpu_sregs *sregs, char *err, size_t err_len)
{
	struct load_state s = { vm, cfg, 0, err, err_len };
	struct mb1_header h;
	u64 offset;
	enum guest_format format = cfg->format;
	if (format == GUEST_FORMAT_AUTO && linux_is_bzimage(cfg->kernel, cfg->kernel_size))
		format = GUEST_FORMAT_LINUX;
	if (format == GUEST_FORMAT_AUTO)
		format = find_mb1_header(cfg->kernel, cfg->kernel_size, &h, &offset) ? GUEST_FORMAT_MULTIBOOT
										 : GUEST_FORMAT_FLAT;
	if (format == GUEST_FORMAT_LINUX) {
		if (!linux_is_bzimage(cfg->kernel, cfg->kernel_size)) {
			ksnprintf(err, err_len, "format=linux but the kernel is not a bzImage (no HdrS header)");
			return -1;
		}
		return linux_load(vm, cfg, vm->acpi_rsdp_gpa, regs, sregs, err, err_len);
	}
	if (format == GUEST_FORMAT_FLAT && !cfg->load_address) {
		ksnprintf(err, err_len, "the kernel is neither a Linux bzImage nor a Multiboot image; for a "
			  "raw binary give format=flat load=ADDR");
		return -1;
	}
	return format == GUEST_FORMAT_MULTIBOOT ? load_multiboot(&s, regs, sregs)
						: load_flat(&s, regs, sregs);
}

static struct segment segment(u16 selector, u64 base, u32 limit, u8 type, bool code32, bool granular)
{
	return (struct segment){ .selector = selector, .base = base, .limit = limit, .type = type,
				 .s = true, .present = true, .db = code32, .g = granular };
}

static void common_state(struct vcpu_regs *regs, struct vcpu_sregs *sregs)
{
	memset(regs, 0, sizeof(*regs));
	memset(sregs, 0, sizeof(*sregs));
	regs->rflags = RFLAGS_RESERVED_ONE;
	sregs->seg[SREG_LDTR] = (struct segment){ .type = SEG_TYPE_LDT, .present = true, .limit = REAL_MODE_LIMIT };
	sregs->seg[SREG_TR] = (struct segment){ .type = SEG_TYPE_TSS_BUSY_32, .present = true,
						.limit = REAL_MODE_LIMIT };
	sregs->gdtr.limit = REAL_MODE_LIMIT;
	sregs->idtr.limit = REAL_MODE_LIMIT;
	sregs->dr6 = DR6_RESET;
	sregs->dr7 = DR7_RESET;
}

void guest_state_real_mode(struct vcpu_regs *regs, struct vcpu_sregs *sregs, u64 entry)
{
	common_state(regs, sregs);
	u16 cs = (entry >> 4) & 0xf000;
	regs->rip = entry - ((u64)cs << 4);
	regs->gpr[GPR_RDX] = RESET_EDX;
	for (int i = SREG_ES; i <= SREG_GS; i++)
		sregs->seg[i] = segment(0, 0, REAL_MODE_LIMIT, SEG_TYPE_DATA_READ_WRITE_ACCESSED, false, false);
	sregs->seg[SREG_CS] = segment(cs, (u64)cs << 4, REAL_MODE_LIMIT, SEG_TYPE_CODE_EXEC_READ_ACCESSED, false, false);
	sregs->cr0 = CR0_ET;
}

void guest_state_protected_flat(struct vcpu_regs *regs, struct vcpu_sregs *sregs, u64 entry)
{
	common_state(regs, sregs);
	regs->rip = entry;
	for (int i = SREG_ES; i <= SREG_GS; i++)
		sregs->seg[i] = segment(0x10, 0, FLAT_LIMIT, SEG_TYPE_DATA_READ_WRITE_ACCESSED, true, true);
	sregs->seg[SREG_CS] = segment(0x08, 0, FLAT_LIMIT, SEG_TYPE_CODE_EXEC_READ_ACCESSED, true, true);
	sregs->cr0 = CR0_PE | CR0_ET;
}
