/*
 * Presidio's guest DSDT (ACPI 6.4 section 5.2.11.1), compiled at build time
 * by acpica-tools' iasl into build/acpi/dsdt.aml and embedded by
 * vmm/acpi_guest.c. The machine has no devices that need AML yet; the
 * table exists so the OS finds the sleep-state package for soft-off.
 */
DefinitionBlock ("", "DSDT", 2, "PRSDIO", "PRESIDIO", 0x00000001)
{
    /*
     * \_S5: soft-off (ACPI 6.4 section 7.4.2.5). The values are the SLP_TYP
     * codes the OS writes to PM1a_CNT / PM1b_CNT with SLP_EN; vmm/dev/acpi_pm.c
     * powers the VM off on SLP_TYP 5.
     */
    Name (_S5, Package (0x04)
    {
        0x05,   /* PM1a_CNT.SLP_TYP */
        0x05,   /* PM1b_CNT.SLP_TYP */
        0x00,   /* reserved */
        0x00    /* reserved */
    })
}
