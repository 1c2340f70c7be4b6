#!/usr/bin/env python3
"""Boot-to-shell time of a Linux guest, for make bench.

    tools/linux_boot_time.py OUTDIR -- QEMU-ARGV...

Runs QEMU with its serial port on FIFOs (OUTDIR/console.in/.out), copies the
console to OUTDIR/serial.log, and prints `boot_to_shell_s=N.NN` when the
busybox banner of guests/linux/init appears. Then it types `poweroff -f` and,
if Presidio prints the VM's exit statistics, prints `exits=...`.
"""
import os
import re
import subprocess
import sys
import time

BANNER = re.compile(rb"Presidio guest: Linux .* up, busybox shell on the console")
SHELL = re.compile(rb"Enter 'help' for a list of built-in commands")
EXITS = re.compile(rb"\(presidio\) vm [^:]+: ([0-9]+ exits:[^\r\n]*)")
TIMEOUT = 600


def main():
    out_dir, argv = sys.argv[1], sys.argv[3:]
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
    seen = b""
    boot_time = None
    with open(os.path.join(out_dir, "serial.log"), "wb") as log:
        while proc.poll() is None and time.monotonic() - started < TIMEOUT:
            try:
                chunk = os.read(output, 65536)
            except BlockingIOError:
                chunk = b""
            if chunk:
                log.write(chunk)
                seen += chunk
            if boot_time is None and BANNER.search(seen):
                boot_time = time.monotonic() - started
                print(f"boot_to_shell_s={boot_time:.2f}", flush=True)
            if boot_time is not None and SHELL.search(seen):
                os.write(typing, b"poweroff -f\n")
                seen = seen[-200:]
                deadline = time.monotonic() + 30
                while proc.poll() is None and time.monotonic() < deadline:
                    try:
                        chunk = os.read(output, 65536)
                    except BlockingIOError:
                        chunk = b""
                    log.write(chunk)
                    seen += chunk
                    m = EXITS.search(seen)
                    if m:
                        print("exits=" + m.group(1).decode(), flush=True)
                        break
                    time.sleep(0.05)
                break
            if not chunk:
                time.sleep(0.02)
    proc.kill()
    proc.wait()
    return 0 if boot_time is not None else 1


if __name__ == "__main__":
    sys.exit(main())
