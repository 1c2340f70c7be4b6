# Presidio: build, ISO, runners and tests. `make help` lists the targets.

BUILD := build
include guests/linux/linux.mk
CC := gcc
HOST_CC := gcc
FUZZ_CC := clang

ARCH_CFLAGS := -m64 -ffreestanding -nostdlib -fno-pic -fno-pie -mno-red-zone \
	-mgeneral-regs-only -mno-sse -mno-mmx -mno-avx -mcmodel=small \
	-fno-stack-protector -fno-omit-frame-pointer -fno-delete-null-pointer-checks \
	-fno-asynchronous-unwind-tables -fno-strict-aliasing
WARN_CFLAGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter
CFLAGS := -std=gnu11 -O2 -g $(ARCH_CFLAGS) $(WARN_CFLAGS) -I. -MMD -MP
ASFLAGS := -m64 -ffreestanding -fno-pic -fno-pie -I. -MMD -MP -g
LDFLAGS := -nostdlib -static -no-pie -Wl,-T,linker.ld -Wl,-z,max-page-size=0x1000 \
	-Wl,--build-id=none -Wl,--no-warn-rwx-segments -Wl,-z,noexecstack

SRC_DIRS := boot arch/x86 mm drivers lib vmm vmm/dev
C_SOURCES := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
S_SOURCES := $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.S))
OBJECTS := $(patsubst %,$(BUILD)/obj/%.o,$(S_SOURCES) $(C_SOURCES))

HOST_CFLAGS := -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer -Wall -Wextra -Werror -MMD -MP
UNIT_SOURCES := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/unit/%,$(UNIT_SOURCES)) $(BUILD)/unit/test_layering
FUZZ_SOURCES := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SOURCES))

ISO := $(BUILD)/presidio.iso
ELF := $(BUILD)/presidio.elf

.PHONY: FORCE all iso run run-uefi run-bochs test unit-tests fuzz-targets fuzz deps clean help size bench

all: $(ELF)

$(ELF): $(OBJECTS) linker.ld
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJECTS)

$(BUILD)/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/%.S.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(ASFLAGS) -c $< -o $@

# The ISO's VM: by default the Linux guest from `make linux-guest`; any other
# kernel with KERNEL=path [INITRD=path] [CMDLINE='...'] [MEM=512M] [VCPUS=2],
# or none with KERNEL= (empty).
KERNEL ?= $(LINUX_GUEST_KERNEL)
INITRD ?= $(if $(filter $(LINUX_GUEST_KERNEL),$(KERNEL)),$(LINUX_GUEST_INITRD))
CMDLINE ?= console=ttyS0
MEM ?= 512M
VCPUS ?= 2
ISO_MODULES := $(if $(KERNEL),--module "$(KERNEL) vm=linux mem=$(MEM) vcpus=$(VCPUS) -- $(CMDLINE)") \
	$(if $(and $(KERNEL),$(INITRD)),--module "$(INITRD) vm=linux role=initrd")

$(ISO): $(ELF) iso/grub.cfg tools/mkiso.sh $(KERNEL) $(INITRD) FORCE
	tools/mkiso.sh $(ISO_MODULES) $(ELF) $@

FORCE:

iso: $(ISO)

size: $(ELF)
	size $(ELF)

deps:
	tools/deps.sh

run: deps
	$(MAKE) linux-guest
	$(MAKE) iso
	tools/run-qemu.sh $(ISO)

run-uefi: deps
	$(MAKE) linux-guest
	$(MAKE) iso
	tools/run-qemu.sh --uefi $(ISO)

run-bochs: deps
	$(MAKE) linux-guest
	$(MAKE) iso
	tools/run-bochs.sh $(ISO) $(BOCHS_CPU)

# The layering rule (vmm/ never sees a vendor header) runs as a unit test.
$(BUILD)/unit/test_layering: tests/unit/test_layering.sh
	@mkdir -p $(dir $@)
	cp $< $@ && chmod +x $@

$(BUILD)/unit/%: tests/unit/%.c
	@mkdir -p $(dir $@)
	@mkdir -p $(BUILD)/deps/unit
	$(HOST_CC) $(HOST_CFLAGS) -MF $(BUILD)/deps/unit/$*.d $< -lcmocka -lcapstone -o $@

$(BUILD)/fuzz/%: tests/fuzz/%.c
	@mkdir -p $(dir $@)
	@mkdir -p $(BUILD)/deps/fuzz
	$(FUZZ_CC) -std=gnu11 -g -O1 -I. -DHOST_TEST -fsanitize=fuzzer,address,undefined -MMD -MP \
		-MF $(BUILD)/deps/fuzz/$*.d $< -o $@

unit-tests: $(UNIT_TESTS)

fuzz-targets: $(FUZZ_TARGETS)

test: deps
	$(MAKE) all iso guests linux-guest unit-tests fuzz-targets
	tests/run.sh

# Exit-path costs on both backends, the IPI round trip between two vCPUs
# (instruction counts) and Linux boot times with 1 and 2 vCPUs and VMs
# (wall seconds); see tools/bench.sh.
bench: deps
	$(MAKE) all guests linux-guest
	tools/bench.sh

# Longer fuzzing than `make test` does: FUZZ_RUNS executions of each target
# (default 10 million), or FUZZ_SECONDS each if that is given.
fuzz: deps fuzz-targets
	if [ -n "$${FUZZ_SECONDS:-}" ]; then tests/run.sh --fuzz-only; \
	else FUZZ_SECONDS=0 FUZZ_RUNS=$${FUZZ_RUNS:-10000000} tests/run.sh --fuzz-only; fi

clean:
	rm -rf $(BUILD)

help:
	@echo "make            build build/presidio.elf"
	@echo "make iso        build build/presidio.iso (GRUB2, BIOS + UEFI)"
	@echo "make run        boot the ISO in QEMU (nested KVM if usable, else TCG AMD-V)"
	@echo "make run-uefi   the same on OVMF"
	@echo "make run-bochs  boot the ISO in Bochs (VT-x; BOCHS_CPU=core2_penryn_t9600 for no EPT)"
	@echo "make test       unit tests, fuzzers and every boot scenario"
	@echo "make fuzz       run each fuzz target for 10 million executions (FUZZ_RUNS, or FUZZ_SECONDS)"

include guests/guests.mk
include acpi/acpi.mk
# The guest ACPI tables embed the DSDT that iasl compiles at build time.
$(BUILD)/obj/vmm/acpi_guest.c.o: $(BUILD)/acpi/dsdt_aml.h
$(BUILD)/unit/test_acpi_guest: $(BUILD)/acpi/dsdt_aml.h

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
