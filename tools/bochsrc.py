#!/usr/bin/env python3
"""The Bochs configuration (bochsrc) for booting a Presidio ISO: the one place
its text lives, for tests/scenario.py, tools/run-bochs.sh and tools/bench.sh.

    tools/bochsrc.py --iso ISO --serial PATH [--serial-mode file|term]
                     --log PATH --model MODEL --megs N
                     [--clock-sync none|realtime|slowdown|both]
                     [--extra 'LINE']... [--out FILE]

Prints the configuration, or writes it to FILE. --serial is COM1's file
(mode file) or terminal device (mode term); --log is Bochs' own log.
--extra lines come last, so they can override what precedes them.
From Python: sys.path gets tools/, then bochsrc.render(iso=..., serial=...,
log=..., model=..., megs=..., clock="none", serial_mode="file", extra=[...])
returns the text. Python 3 standard library only.
"""

import argparse
import sys

BIOS = "/usr/share/bochs/BIOS-bochs-latest"
VGA_BIOS = "/usr/share/vgabios/vgabios.bin"
CLOCK_SYNCS = ("none", "realtime", "slowdown", "both")
SERIAL_MODES = ("file", "term")


def _value(name, value):
    """A value Bochs will read back whole: one line, no double quote."""
    value = str(value)
    if not value or any(c in value for c in '"\n\r'):
        raise ValueError(f"bochsrc: {name} is empty or has a double quote or newline: {value!r}")
    return value


def render(*, iso, serial, log, model, megs, clock="none", serial_mode="file", extra=(), cpus=1):
    """The bochsrc text (ending in a newline)."""
    if clock not in CLOCK_SYNCS:
        raise ValueError(f"bochsrc: clock sync must be one of {', '.join(CLOCK_SYNCS)}, not {clock!r}")
    if serial_mode not in SERIAL_MODES:
        raise ValueError(f"bochsrc: serial mode must be file or term, not {serial_mode!r}")
    megs, cpus = int(megs), int(cpus)
    if cpus < 1:
        raise ValueError(f"bochsrc: cpus must be at least 1, not {cpus}")
    if megs <= 0:
        raise ValueError(f"bochsrc: megs must be positive, not {megs}")
    iso, serial, log, model = (_value(n, v) for n, v in
                               (("iso", iso), ("serial", serial), ("log", log), ("model", model)))
    extra = [str(e) for e in extra]
    if any("\n" in e or "\r" in e for e in extra):
        raise ValueError(f"bochsrc: an extra line has a newline: {extra!r}")
    lines = [
        f"megs: {megs}",
        # Triple fault: stop (Bochs panics and exits) instead of resetting,
        # like QEMU -no-reboot.
        f"cpu: count={cpus}, model={model}, ips=50000000, reset_on_triple_fault=0",
        f"romimage: file={BIOS}",
        f"vgaromimage: file={VGA_BIOS}",
        # Headless: the rfb display (in Debian's bochs package) takes the
        # first free TCP port from 5900 up, so several Bochs can run at once;
        # timeout=0: don't wait for a viewer.
        'display_library: rfb, options="timeout=0"',
        "boot: cdrom",
        f'ata0-master: type=cdrom, path="{iso}", status=inserted',
        f'com1: enabled=1, mode={serial_mode}, dev="{serial}"',
        # sync=none: the emulated clock (and TSC) follows the instructions
        # executed, not the host's time; make bench relies on it.
        f"clock: sync={clock}, time0=local",
        "sound: driver=dummy",
        "speaker: enabled=0",
        "mouse: enabled=0",
        f'log: "{log}"',
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
    ] + extra
    return "\n".join(lines) + "\n"


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="tools/bochsrc.py",
        description="Print (or write) the Bochs configuration for booting a Presidio ISO.")
    p.add_argument("--iso", required=True, help="the ISO (ATA0 master CD-ROM, booted)")
    p.add_argument("--serial", required=True,
                   help="COM1: a file (mode file) or a terminal device (mode term)")
    p.add_argument("--serial-mode", choices=SERIAL_MODES, default="file")
    p.add_argument("--log", required=True, help="Bochs' own log file")
    p.add_argument("--model", required=True, help="Bochs CPU model (bochs --help cpu)")
    p.add_argument("--megs", type=int, required=True, help="guest RAM in MiB")
    p.add_argument("--cpus", type=int, default=1, help="processors (default 1)")
    p.add_argument("--clock-sync", choices=CLOCK_SYNCS, default="none",
                   help="default none: the TSC counts instructions")
    p.add_argument("--extra", action="append", default=[], metavar="LINE",
                   help="a line appended as is (may be repeated)")
    p.add_argument("--out", metavar="FILE", help="write here instead of standard output")
    a = p.parse_args(argv)
    try:
        text = render(iso=a.iso, serial=a.serial, serial_mode=a.serial_mode, log=a.log,
                      model=a.model, megs=a.megs, clock=a.clock_sync, extra=a.extra,
                      cpus=a.cpus)
    except ValueError as e:
        p.error(str(e))
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
