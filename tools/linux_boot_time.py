#!/usr/bin/env python3
"""Boot-to-shell time of a Linux guest, for make bench.

    tools/linux_boot_time.py OUTDIR [--shells N] [--timeout S] -- QEMU-ARGV...

Runs QEMU with its serial port on FIFOs (OUTDIR/console.in/.out), copies the
console to OUTDIR/serial.log, and prints `boot_to_shell_s=N.NN` (seconds
since QEMU started) when the busybox banner of guests/linux/init appears.
Under Presidio it also prints `vm_start_s=` when the first `vm NAME:
starting:` line appears and `vm_to_shell_s=` (banner minus VM start).

Without --shells: then it types `poweroff -f` and, if Presidio prints the
VM's exit statistics, prints `exits=...`.

With --shells N (several VMs on a prefixed console, each booted with
`presidio.poweroff`, which powers off right after its banner): the times are
those of the N-th banner; nothing is typed. It then waits up to 30 s for
QEMU to end (finish=qemu) and prints one `exits=...` line per VM.

Always: `resets=N` if Presidio restarted a VM that reset the machine (a
guest panic with panic=-1) before the banner, so that boot is not a clean
one. --timeout: give up after S seconds (default 600).
"""
import os
import re
import subprocess
import sys
import time

BANNER = re.compile(rb"Presidio guest: Linux .* up, busybox shell on the console")
SHELL = re.compile(rb"Enter 'help' for a list of built-in commands")
VM_START = re.compile(rb"\(presidio\) vm [^:]+: starting:")
RESET = re.compile(rb"\(presidio\) vm [^:]+: the guest reset the machine")
EXITS = re.compile(rb"\(presidio\) vm [^:]+: ([0-9]+ exits:[^\r\n]*)")
TIMEOUT = 600
LINGER = 30


def parse_args(args):
    out_dir, shells, timeout = args[0], None, TIMEOUT
    rest = args[1:]
    while rest[:1] in (["--shells"], ["--timeout"]):
        if rest[0] == "--shells":
            shells = int(rest[1])
        else:
            timeout = float(rest[1])
        rest = rest[2:]
    if rest[:1] != ["--"]:
        sys.exit("usage: linux_boot_time.py OUTDIR [--shells N] [--timeout S] -- QEMU-ARGV...")
    return out_dir, shells, timeout, rest[1:]


class Console:
    """The serial output so far, copied to the log as it comes."""

    def __init__(self, fd, log):
        self.fd, self.log, self.seen = fd, log, b""

    def read(self):
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            chunk = b""
        if chunk:
            self.log.write(chunk)
            self.seen += chunk
        return chunk


def main():
    out_dir, shells, timeout, argv = parse_args(sys.argv[1:])
    os.makedirs(out_dir, exist_ok=True)
    base = os.path.join(out_dir, "console")
    for suffix in (".in", ".out"):
        if os.path.exists(base + suffix):
            os.unlink(base + suffix)
        os.mkfifo(base + suffix)
    typing = os.open(base + ".in", os.O_RDWR | os.O_NONBLOCK)
    output = os.open(base + ".out", os.O_RDWR | os.O_NONBLOCK)
    argv += ["-chardev", f"pipe,id=console,path={base}", "-serial", "chardev:console"]
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    want = shells or 1
    boot_time = vm_start = None
    with open(os.path.join(out_dir, "serial.log"), "wb") as log:
        con = Console(output, log)
        while proc.poll() is None and time.monotonic() - started < timeout:
            chunk = con.read()
            now = time.monotonic() - started
            if vm_start is None and VM_START.search(con.seen):
                vm_start = now
                print(f"vm_start_s={vm_start:.2f}", flush=True)
            if boot_time is None and len(BANNER.findall(con.seen)) >= want:
                boot_time = now
                resets = len(RESET.findall(con.seen))
                if resets:
                    print(f"resets={resets}", flush=True)
                print(f"boot_to_shell_s={boot_time:.2f}", flush=True)
                if vm_start is not None:
                    print(f"vm_to_shell_s={boot_time - vm_start:.2f}", flush=True)
                if shells:
                    break
            if boot_time is not None and SHELL.search(con.seen):
                os.write(typing, b"poweroff -f\n")
                con.seen = con.seen[-200:]
                deadline = time.monotonic() + LINGER
                while proc.poll() is None and time.monotonic() < deadline:
                    con.read()
                    m = EXITS.search(con.seen)
                    if m:
                        print("exits=" + m.group(1).decode(), flush=True)
                        break
                    time.sleep(0.05)
                break
            if not chunk:
                time.sleep(0.02)
        if shells and boot_time is not None:
            deadline = time.monotonic() + LINGER
            while proc.poll() is None and time.monotonic() < deadline:
                if len(EXITS.findall(con.seen)) >= shells:
                    break
                if not con.read():
                    time.sleep(0.05)
            con.read()
            for m in EXITS.finditer(con.seen):
                print("exits=" + m.group(1).decode(), flush=True)
    proc.kill()
    proc.wait()
    return 0 if boot_time is not None else 1


if __name__ == "__main__":
    sys.exit(main())
