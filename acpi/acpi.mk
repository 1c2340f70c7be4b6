# Guest ACPI tables: the DSDT is compiled from ASL with acpica-tools' iasl and
# embedded in the hypervisor as a C byte array that vmm/acpi_guest.c includes
# ("build/acpi/dsdt_aml.h"). Included from the top-level Makefile; paths are
# relative to the repository root.

ACPI_BUILD := $(BUILD)/acpi
IASL := iasl
# -we: warnings fail the build; -vi: less noise; -p: output path prefix.
IASL_FLAGS := -we -vi

$(ACPI_BUILD)/dsdt.aml: acpi/dsdt.asl acpi/acpi.mk
	@mkdir -p $(dir $@)
	$(IASL) $(IASL_FLAGS) -p $(basename $@) $<

# The AML as `static const u8 dsdt_aml[] = { ... };` (od and awk only, so no
# xxd dependency). Written to a temporary file first so a failure leaves no
# half header behind.
$(ACPI_BUILD)/dsdt_aml.h: $(ACPI_BUILD)/dsdt.aml acpi/acpi.mk
	@mkdir -p $(dir $@)
	{ echo '/* Generated from acpi/dsdt.asl by acpi/acpi.mk: do not edit. */'; \
	  echo '#pragma once'; \
	  echo '#include "lib/types.h"'; \
	  echo 'static const u8 dsdt_aml[] = {'; \
	  od -An -v -tx1 $< | awk '{ line = "\t"; for (i = 1; i <= NF; i++) line = line "0x" $$i ","; print line }'; \
	  echo '};'; } > $@.tmp
	mv $@.tmp $@

acpi-tables: $(ACPI_BUILD)/dsdt_aml.h

.PHONY: acpi-tables
