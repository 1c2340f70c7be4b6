# Test guests (the README's tests, item 2). Included from the
# top-level Makefile; paths are relative to the repository root.
#
#   make guests          build $(GUEST_IMAGES)
#   make guests-native   also build the native-only wrappers and run every
#                        guest on QEMU TCG without Presidio (guests/run-native.sh)

# Keep whatever default goal the including Makefile has (or will have).
GUEST_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

GUEST_BUILD := $(BUILD)/guests
GUEST_OBJ := $(GUEST_BUILD)/obj

GUEST_CC := gcc
GUEST_NASM := nasm
GUEST_LD := ld
GUEST_CFLAGS := -m32 -std=gnu11 -ffreestanding -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -mno-sse -mno-mmx -mno-80387 -O2 -g -Wall -Wextra -Werror \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
	-Iguests/lib -MMD -MP
GUEST_NASMFLAGS := -f elf32 -g -Iguests/lib/
GUEST_LDFLAGS := -m elf_i386 -T guests/lib/guest.ld -z max-page-size=0x1000 \
	--build-id=none -z noexecstack --no-warn-rwx-segments

# Multiboot ELF32 guests: guests/NAME.c plus the shared library.
GUEST_ELF_NAMES := io cpuid msr exceptions hlt mmio paging hostile triple bench bigmem console taskswitch smp
GUEST_LIB_OBJS := $(patsubst guests/%.c,$(GUEST_OBJ)/%.o,$(wildcard guests/lib/*.c)) \
	$(patsubst guests/%.asm,$(GUEST_OBJ)/%.o,$(wildcard guests/lib/*.asm))

# The hostile suite: guests/hostile.c and one file per group of cases.
HOSTILE_OBJS := $(patsubst guests/%.c,$(GUEST_OBJ)/%.o,$(wildcard guests/hostile_*.c)) \
	$(patsubst guests/%.asm,$(GUEST_OBJ)/%.o,$(wildcard guests/hostile_*.asm))

# The smp guest: its AP side (the MADT reader, the clock, the local APIC and
# the AP start-up with its trampoline are in guests/lib, shared with bench).
SMP_OBJS := $(GUEST_OBJ)/smp_cpu.o

GUEST_IMAGES := $(GUEST_ELF_NAMES:%=$(GUEST_BUILD)/%.elf) $(GUEST_BUILD)/modes.bin $(GUEST_BUILD)/reset.bin \
	$(GUEST_BUILD)/hostile16.bin $(GUEST_BUILD)/spin.bin

# Only for running guests without Presidio (see guests/run-native.sh).
GUEST_NATIVE_IMAGES := $(GUEST_BUILD)/modes-native.elf

GUEST_OBJS := $(GUEST_LIB_OBJS) $(GUEST_ELF_NAMES:%=$(GUEST_OBJ)/%.o) $(GUEST_OBJ)/paging_long.o \
	$(HOSTILE_OBJS) $(SMP_OBJS)
.SECONDARY: $(GUEST_OBJS)

.PHONY: guests guests-native

guests: $(GUEST_IMAGES)

guests-native: $(GUEST_IMAGES) $(GUEST_NATIVE_IMAGES)
	guests/run-native.sh

$(GUEST_BUILD)/%.elf: $(GUEST_OBJ)/%.o $(GUEST_LIB_OBJS) guests/lib/guest.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -o $@ $(filter %.o,$^)

# The paging guest runs part of its checks in 64-bit code.
$(GUEST_BUILD)/paging.elf: $(GUEST_OBJ)/paging_long.o
# The hostile suite links its groups of cases.
$(GUEST_BUILD)/hostile.elf: $(HOSTILE_OBJS)
$(GUEST_BUILD)/smp.elf: $(SMP_OBJS)
# The console cases also run alone, as a VM that owns the console raw.
$(GUEST_BUILD)/console.elf: $(GUEST_OBJ)/hostile_console.o

$(GUEST_OBJ)/%.o: guests/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJ)/%.o: guests/%.asm
	@mkdir -p $(dir $@)
	$(GUEST_NASM) $(GUEST_NASMFLAGS) -MD $(@:.o=.d) -MP -o $@ $<

# `modes`, `reset`, `hostile16` and `spin` are flat real-mode binaries loaded at guest-physical 0x8000.
$(GUEST_BUILD)/%.bin: guests/%.asm
	@mkdir -p $(dir $@)
	$(GUEST_NASM) -f bin -MD $(@:.bin=.d) -MP -o $@ $<

$(GUEST_BUILD)/modes-native.elf: guests/native/modes_boot.asm $(GUEST_BUILD)/modes.bin guests/lib/guest.ld
	@mkdir -p $(GUEST_OBJ)/native
	$(GUEST_NASM) $(GUEST_NASMFLAGS) -DMODES_BIN='"$(GUEST_BUILD)/modes.bin"' \
		-o $(GUEST_OBJ)/native/modes_boot.o $<
	$(GUEST_LD) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJ)/native/modes_boot.o

.DEFAULT_GOAL := $(GUEST_SAVED_DEFAULT_GOAL)
