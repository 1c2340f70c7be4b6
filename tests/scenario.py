#!/usr/bin/env python3
"""Run ONE Presidio boot scenario and print one result line.

    tests/scenario.py tests/scenarios/NAME.scn     (or just NAME)

A scenario is a small "key = value" file ('#' after whitespace, or at the
start of a line, begins a comment; write [#] for a literal '#' after a
space in a regex):

    emulator = qemu          qemu | bochs
    boot     = kernel        kernel (QEMU -kernel, Multiboot1)
                             iso (SeaBIOS / Bochs BIOS, Multiboot2 via GRUB)
                             iso-uefi (OVMF, QEMU only)
    cpu      = EPYC,+svm,+npt   qemu -cpu value, or Bochs cpu model
    memory   = 256           MiB (default 256)
    smp      = 1             CPUs (default 1; Bochs: the count only), optionally with QEMU's
                             topology: 6,sockets=2,cores=3 or 2,maxcpus=4
    accel    = tcg           tcg | kvm (kvm: SKIP unless tools/accel.sh says kvm)
    cmdline  = console=com1  hypervisor command line (iso boots get their own ISO)
    timeout  = 60            seconds (default 60)
    expect   = REGEX         one per line; must all match serial lines in order
                             -- per VM: VMs run at once, so an expect that begins
                             ^\\[NAME\\] or ^\\(presidio\\) vm NAME: is ordered only
                             after the earlier expects of VM NAME, the others only
                             after the earlier ones that name no VM
    reject   = REGEX         any match fails at once (may be repeated); lines are
                             read to the end of the run, not just to the last expect
    expect_raw = REGEX       must match somewhere in the raw bytes of serial.log
    reject_raw = REGEX       must match nowhere in the raw bytes of serial.log
                             (both: Python bytes regex, multiline, may be repeated;
                             checked once the run ended; \\xNN for a byte)
    module   = FILE WORDS    a boot module (a VM; README "Describing VMs"), FILE
                             relative to the repository; may be repeated
    send     = REGEX ==> TEXT  type TEXT on the serial console (QEMU) once a line
                             matches REGEX; sends fire in order, each once;
                             TEXT takes \\n, \\r and \\xNN escapes
    increasing = REGEX       REGEX has one (\\d+) group: it must match at least
                             twice, with a strictly rising number each time
    {year} in an expect is replaced by the current year (the host's clock)
    exit_status = N          QEMU must exit with this status (isa-debug-exit on
                             port 0xf4; use with cmdline finish=qemu)
    qemu_args   = ...        extra QEMU arguments (shell-quoted; may be repeated)
    bochs_extra = ...        extra bochsrc line (may be repeated)

Regexes are Python `re` (close to POSIX extended regex) searched in each
serial line after carriage returns and ANSI escape sequences are removed
(but for expect_raw and reject_raw).

The run ends when every expect matched and then the emulator exited, the
serial line stayed quiet for SETTLE seconds or SETTLE_MAX seconds passed
(with exit_status: when the emulator exited), or at the timeout.

Output: build/test/NAME/{serial.log, emulator.log, cmd, bochsrc, ...}.
Prints `PASS NAME (details, N.Ns)`, `FAIL NAME: reason` (followed by the
last serial lines, indented) or `SKIP NAME: reason`.
Exit status: 0 pass, 1 fail, 77 skip.
Environment: PRESIDIO_ELF overrides build/presidio.elf.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
sys.dont_write_bytecode = True  # no tools/__pycache__
import bochsrc  # noqa: E402  (tools/bochsrc.py: the Bochs configuration)

OVMF = "/usr/share/ovmf/OVMF.fd"
POLL = 0.2
TAIL = 20
SETTLE = 2.0       # quiet seconds after the last expect that end a run
SETTLE_MAX = 15.0  # at most this long after the last expect

KEYS_ONE = {"emulator", "boot", "cpu", "memory", "smp", "accel", "cmdline",
            "timeout", "exit_status"}
KEYS_MANY = {"expect", "reject", "qemu_args", "bochs_extra", "module", "send", "increasing",
             "expect_raw", "reject_raw"}

ANSI = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[@-Z\\-_])")

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77


class EmulatorCrashedAtStart(Exception):
    """The emulator died from a signal before printing anything: seen (rarely)
    with Bochs' display plugin when several start at once; worth one retry."""


class Outcome(Exception):
    def __init__(self, kind, text, tail=True):
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.tail = tail


def fail(text, tail=True):
    raise Outcome("FAIL", text, tail)


def skip(text):
    raise Outcome("SKIP", text, False)


def strip_comment(line):
    if line.lstrip().startswith("#"):
        return ""
    m = re.search(r"\s#", line)
    return line[:m.start()] if m else line


def parse(path):
    conf = {k: [] for k in KEYS_MANY}
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            line = strip_comment(raw.rstrip("\n")).strip()
            if not line:
                continue
            if "=" not in line:
                fail(f"config: {path}:{n}: expected 'key = value'", False)
            key, val = (s.strip() for s in line.split("=", 1))
            if key in KEYS_MANY:
                conf[key].append(val)
            elif key in KEYS_ONE:
                if key in conf:
                    fail(f"config: {path}:{n}: '{key}' given twice", False)
                conf[key] = val
            else:
                fail(f"config: {path}:{n}: unknown key '{key}'", False)
    conf.setdefault("emulator", "qemu")
    conf.setdefault("boot", "kernel")
    conf.setdefault("memory", "256")
    conf.setdefault("smp", "1")
    conf.setdefault("accel", "tcg")
    conf.setdefault("cmdline", "console=com1")
    conf.setdefault("timeout", "60")
    conf.setdefault("exit_status", None)
    if conf["exit_status"] is not None and not conf["exit_status"].isdigit():
        fail("config: exit_status must be a whole number", False)
    if conf["emulator"] not in ("qemu", "bochs"):
        fail(f"config: emulator must be qemu or bochs, not '{conf['emulator']}'", False)
    if conf["boot"] not in ("kernel", "iso", "iso-uefi"):
        fail(f"config: boot must be kernel, iso or iso-uefi, not '{conf['boot']}'", False)
    if conf["emulator"] == "bochs" and conf["boot"] != "iso":
        fail("config: Bochs can only boot = iso", False)
    if conf["accel"] not in ("tcg", "kvm"):
        fail(f"config: accel must be tcg or kvm, not '{conf['accel']}'", False)
    if "cpu" not in conf:
        conf["cpu"] = "corei7_skylake_x" if conf["emulator"] == "bochs" else "qemu64"
    if not conf["memory"].isdigit():
        fail("config: memory must be a whole number", False)
    if not re.fullmatch(r"\d+(,[a-z-]+=\d+)*", conf["smp"]):
        fail("config: smp must be a number of CPUs, optionally with QEMU's topology "
             "(e.g. 6,sockets=2,cores=3)", False)
    try:
        conf["timeout"] = float(conf["timeout"])
    except ValueError:
        fail("config: timeout must be a number of seconds", False)
    conf["expect"] = [p.replace("{year}", time.strftime("%Y")) for p in conf["expect"]]
    try:
        conf["increasing_re"] = [re.compile(p) for p in conf["increasing"]]
    except re.error as e:
        fail(f"config: bad increasing regex: {e}", False)
    sends = []
    for s in conf["send"]:
        if "==>" not in s:
            fail("config: send must be 'REGEX ==> TEXT'", False)
        pattern, text = (x.strip() for x in s.split("==>", 1))
        try:
            sends.append((re.compile(pattern), text.encode().decode("unicode_escape").encode("latin-1")))
        except (re.error, UnicodeError) as e:
            fail(f"config: bad send {s!r}: {e}", False)
    conf["send_list"] = sends
    if conf["send"] and (conf["emulator"] != "qemu"):
        fail("config: send works with QEMU only", False)
    if not conf["expect"]:
        fail("config: no 'expect' line", False)
    for k in ("expect", "reject"):
        pats = []
        for p in conf[k]:
            try:
                pats.append(re.compile(p))
            except re.error as e:
                fail(f"config: bad {k} regex /{p}/: {e}", False)
        conf[k + "_re"] = pats
    for k in ("expect_raw", "reject_raw"):
        pats = []
        for p in conf[k]:
            try:
                pats.append(re.compile(p.encode("utf-8"), re.MULTILINE))
            except re.error as e:
                fail(f"config: bad {k} regex /{p}/: {e}", False)
        conf[k + "_re"] = pats
    return conf


class Emulator:
    """A child (mkiso.sh, then the emulator) in its own process group;
    stop() kills the whole group."""

    def __init__(self):
        self.proc = None

    def start(self, argv, cwd, log, env=None):
        def child_setup():
            # Die with this script even if it is SIGKILLed.
            try:
                import ctypes
                ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
            except Exception:
                pass

        self.proc = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=env,
                                     preexec_fn=child_setup)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        p = self.proc
        if p is None:
            return
        for sig, wait in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
            # The leader is gone; take any stragglers in the group too.
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            break
        self.proc = None


def tail_lines(path, n=TAIL, keep=None):
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    lines = [ANSI.sub("", l).replace("\r", "").rstrip() for l in data.split("\n")]
    lines = [l for l in lines if l.strip() and (keep is None or keep(l))]
    return lines[-n:]


def triple_fault(out_dir):
    """', triple fault' when the emulator's own log says the guest triple-faulted."""
    for log, pat in (("qemu-debug.log", "Triple fault"),
                     ("bochs.log", "3rd (13) exception with no resolution")):
        try:
            with open(os.path.join(out_dir, log), errors="replace") as f:
                if pat in f.read():
                    return ", triple fault"
        except OSError:
            pass
    return ""


def check_raw(conf, serial):
    """expect_raw and reject_raw over every byte the run printed."""
    with open(serial, "rb") as f:
        data = f.read()
    for r in conf["reject_raw_re"]:
        m = r.search(data)
        if m:
            fail(f"reject_raw /{r.pattern.decode()}/ matched {m.group(0)!r}")
    for r in conf["expect_raw_re"]:
        if not r.search(data):
            fail(f"expect_raw /{r.pattern.decode()}/ matched nothing in serial.log")


def describe(conf, i):
    return f"expect #{i + 1} /{conf['expect'][i]}/"


def module_path(line):
    """'FILE WORDS' with FILE made absolute (relative to the repository)."""
    parts = line.split(None, 1)
    path = os.path.join(ROOT, parts[0])
    if not os.path.isfile(path):
        fail(f"module {parts[0]} does not exist (make guests?)", False)
    return path + (" " + parts[1] if len(parts) > 1 else "")


def make_iso(conf, elf, out_dir, group):
    iso = os.path.join(out_dir, "presidio.iso")
    words = conf["cmdline"].split()
    log_path = os.path.join(out_dir, "mkiso.log")
    modules = []
    for m in conf["module"]:
        modules += ["--module", module_path(m)]
    with open(log_path, "wb") as log:
        # Temporary files stay in out_dir even if this is interrupted.
        group.start([os.path.join(ROOT, "tools", "mkiso.sh")] + modules + [elf, iso] + words,
                    out_dir, log, dict(os.environ, TMPDIR=out_dir))
    rc = group.proc.wait()
    group.stop()
    if rc != 0:
        with open(log_path, errors="replace") as f:
            fail("mkiso.sh failed: " + " ".join(f.read().split()[-30:]), False)
    return iso


def serial_args(conf, serial, out_dir):
    """The serial port writes serial.log; with send lines it is a pair of
    FIFOs (console.in, console.out): the runner copies console.out into
    serial.log and types into console.in."""
    if not conf["send"]:
        return ["-serial", "file:" + serial]
    base = os.path.join(out_dir, "console")
    os.mkfifo(base + ".in")
    os.mkfifo(base + ".out")
    return ["-chardev", f"pipe,id=console,path={base}", "-serial", "chardev:console"]


def qemu_argv(conf, elf, iso, serial, out_dir):
    if not shutil.which("qemu-system-x86_64"):
        skip("qemu-system-x86_64 is not installed (tools/deps.sh)")
    argv = ["qemu-system-x86_64", "-machine", "q35",
            "-m", conf["memory"], "-smp", conf["smp"]]
    if conf["accel"] == "kvm":
        acc = subprocess.run([os.path.join(ROOT, "tools", "accel.sh"), elf],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True)
        if acc.stdout.strip() != "kvm":
            skip("needs KVM, and this host cannot run KVM guests (tools/accel.sh says tcg)")
        argv += ["-accel", "kvm"]
    else:
        argv += ["-accel", "tcg"]
    argv += ["-cpu", conf["cpu"],
             "-display", "none", "-nodefaults", "-no-reboot",
             *serial_args(conf, serial, out_dir),
             # cpu_reset logs "Triple fault" (and the reset-time registers).
             "-d", "cpu_reset", "-D", os.path.join(out_dir, "qemu-debug.log")]
    argv += ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    if conf["boot"] == "kernel":
        argv += ["-kernel", elf, "-append", conf["cmdline"]]
        if conf["module"]:
            # QEMU splits -initrd at commas; ",," is a literal one (cpus=0,1).
            argv += ["-initrd", ",".join(module_path(m).replace(",", ",,") for m in conf["module"])]
    else:
        if conf["boot"] == "iso-uefi":
            if not os.path.isfile(OVMF):
                skip(f"{OVMF} is missing (package ovmf)")
            argv += ["-bios", OVMF]
        argv += ["-boot", "d", "-cdrom", iso]
    for extra in conf["qemu_args"]:
        argv += shlex.split(extra)
    return argv


def bochs_argv(conf, iso, serial, out_dir):
    if not shutil.which("bochs"):
        skip("bochs is not installed (tools/deps.sh)")
    for f in (bochsrc.BIOS, bochsrc.VGA_BIOS):
        if not os.path.isfile(f):
            skip(f"{f} is missing (packages bochsbios, vgabios)")
    models = subprocess.run(["bochs", "--help", "cpu"], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True).stdout.split()
    if conf["cpu"] not in models:
        skip(f"this Bochs build has no CPU model '{conf['cpu']}'")
    rc = os.path.join(out_dir, "bochsrc")
    try:
        text = bochsrc.render(iso=iso, serial=serial, log=os.path.join(out_dir, "bochs.log"),
                              model=conf["cpu"], megs=conf["memory"], clock="none",
                              extra=conf["bochs_extra"], cpus=conf["smp"].split(",")[0])
    except ValueError as e:
        fail(f"config: {e}", False)
    with open(rc, "w") as f:
        f.write(text)
    cont = os.path.join(out_dir, "debugger.rc")
    with open(cont, "w") as f:
        f.write("c\n")
    return ["bochs", "-q", "-f", rc, "-rc", cont]


VM_EXPECT = re.compile(r"^\^(?:\\\[([A-Za-z0-9._-]+)\\\]|\\\(presidio\\\) vm ([A-Za-z0-9._-]+):)")


def vm_of_expect(pattern):
    """The VM an expect is about ('' for none): ^\\[NAME\\] or ^\\(presidio\\) vm NAME:"""
    m = VM_EXPECT.match(pattern)
    return (m.group(1) or m.group(2)) if m else ""


def run(path, emu):
    name = os.path.splitext(os.path.basename(path))[0]
    conf = parse(path)
    out_dir = os.path.join(ROOT, "build", "test", name)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    serial = os.path.join(out_dir, "serial.log")
    open(serial, "wb").close()
    emulog_path = os.path.join(out_dir, "emulator.log")

    elf = os.path.abspath(os.environ.get("PRESIDIO_ELF") or
                          os.path.join(ROOT, "build", "presidio.elf"))
    if not os.path.isfile(elf):
        fail(f"{elf} does not exist (run make)", False)

    iso = make_iso(conf, elf, out_dir, emu) if conf["boot"] != "kernel" else None
    if conf["emulator"] == "qemu":
        argv = qemu_argv(conf, elf, iso, serial, out_dir)
    else:
        argv = bochs_argv(conf, iso, serial, out_dir)
    with open(os.path.join(out_dir, "cmd"), "w") as f:
        f.write(shlex.join(argv) + "\n")

    expects, rejects = conf["expect_re"], conf["reject_re"]
    # VMs run at once: each VM's expects are in order among themselves.
    streams = {}
    for i, r in enumerate(expects):
        streams.setdefault(vm_of_expect(r.pattern), []).append(i)
    state = {"idx": 0, "matched": set(), "next": {k: 0 for k in streams},
             "sent": 0, "numbers": [[] for _ in conf["increasing_re"]]}
    typing = output = None
    if conf["send"]:
        # O_RDWR: opening never blocks waiting for QEMU to open its end.
        typing = os.open(os.path.join(out_dir, "console.in"), os.O_RDWR | os.O_NONBLOCK)
        output = os.open(os.path.join(out_dir, "console.out"), os.O_RDWR | os.O_NONBLOCK)

    def drain_console():
        """With FIFOs, copy what the guest printed into serial.log."""
        if output is None:
            return
        with open(serial, "ab") as log:
            while True:
                try:
                    chunk = os.read(output, 65536)
                except BlockingIOError:
                    return
                if not chunk:
                    return
                log.write(chunk)

    def last_matched():
        i = state["idx"]
        return f"last matched {describe(conf, i - 1)}" if i else "nothing matched yet"

    def feed(line):
        line = ANSI.sub("", line).replace("\r", "")
        for r in rejects:
            if r.search(line):
                fail(f"reject /{r.pattern}/ matched {line.strip()!r} ({last_matched()})")
        for key, order in streams.items():
            while state["next"][key] < len(order) and expects[order[state["next"][key]]].search(line):
                state["matched"].add(order[state["next"][key]])
                state["next"][key] += 1
        while state["idx"] in state["matched"]:
            state["idx"] += 1
        for i, r in enumerate(conf["increasing_re"]):
            m = r.search(line)
            if m:
                state["numbers"][i].append(int(m.group(1)))
        sends = conf["send_list"]
        if state["sent"] < len(sends) and sends[state["sent"]][0].search(line):
            os.write(typing, sends[state["sent"]][1])
            state["sent"] += 1

    def run_over(alive, now, quiet_since, matched_at):
        """After the last expect: has the run ended (so rejects saw it all)?"""
        if not alive or now >= deadline:
            return True
        if conf["exit_status"] is not None:
            return False
        return now - quiet_since >= SETTLE or now - matched_at >= SETTLE_MAX

    started = time.monotonic()
    with open(emulog_path, "wb") as emulog:
        emu.start(argv, out_dir, emulog)
    deadline = started + conf["timeout"]
    pos, partial = 0, b""
    quiet_since, matched_at = started, None
    with open(serial, "rb") as f:
        while True:
            alive = emu.running()  # sample before reading: no lost output
            drain_console()
            f.seek(pos)
            data = f.read()
            pos += len(data)
            lines = (partial + data).split(b"\n")
            partial = lines.pop()
            for l in lines:
                feed(l.decode("utf-8", "replace"))
            now = time.monotonic()
            if data:
                quiet_since = now
            if state["idx"] == len(expects):
                matched_at = matched_at or now
                if run_over(alive, now, quiet_since, matched_at):
                    if partial:
                        feed(partial.decode("utf-8", "replace"))
                    break
                time.sleep(POLL)
                continue
            if not alive or now >= deadline:
                if partial:
                    feed(partial.decode("utf-8", "replace"))
                    partial = b""
                if state["idx"] == len(expects):
                    break
                waiting = describe(conf, state["idx"])
                if not alive:
                    code = emu.proc.returncode
                    if code < 0 and pos == 0 and time.monotonic() - started < 10:
                        raise EmulatorCrashedAtStart(code)
                    fail(f"emulator exited (status {code}{triple_fault(out_dir)}) "
                         f"while waiting for {waiting}; {last_matched()}")
                fail(f"timeout after {conf['timeout']:g}s waiting for {waiting}; "
                     f"{last_matched()}")
            time.sleep(POLL)
    for i, nums in enumerate(state["numbers"]):
        if len(nums) < 2 or any(b <= a for a, b in zip(nums, nums[1:])):
            fail(f"increasing /{conf['increasing'][i]}/ saw {nums}: wanted at least two, rising")
    if conf["exit_status"] is not None:
        want = int(conf["exit_status"])
        while emu.running() and time.monotonic() < deadline:
            time.sleep(POLL)
        if emu.running():
            fail(f"all expects matched, but the emulator did not exit with status {want} "
                 f"within {conf['timeout']:g}s")
        if emu.proc.returncode != want:
            fail(f"all expects matched, but the emulator exited with status "
                 f"{emu.proc.returncode}, not {want}")
    elapsed = time.monotonic() - started
    emu.stop()
    check_raw(conf, serial)
    what = "kernel" if conf["boot"] == "kernel" else conf["boot"]
    acc = f"{conf['accel']} " if conf["emulator"] == "qemu" else ""
    return (f"PASS {name} ({conf['emulator']} {acc}{conf['cpu']}, {what}, "
            f"{len(expects)} expects, {elapsed:.1f}s)")


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    path = sys.argv[1]
    if not os.path.exists(path) and "/" not in path:
        path = os.path.join(ROOT, "tests", "scenarios", path.removesuffix(".scn") + ".scn")
    name = os.path.splitext(os.path.basename(path))[0]
    emu = Emulator()

    def on_signal(signum, frame):
        emu.stop()
        print(f"FAIL {name}: interrupted by signal {signum}", flush=True)
        sys.exit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)

    started = time.monotonic()
    try:
        if not os.path.isfile(path):
            fail(f"no such scenario file {path}", False)
        try:
            result = run(path, emu)
        except EmulatorCrashedAtStart as crash:
            emu.stop()
            print(f"note {name}: the emulator died at start (signal {-crash.args[0]}); "
                  f"retrying once", flush=True)
            result = run(path, emu)
        print(result, flush=True)
        return EXIT_PASS
    except Outcome as o:
        emu.stop()
        el = time.monotonic() - started
        print(f"{o.kind} {name}: {o.text} [{el:.1f}s]", flush=True)
        if o.kind != "FAIL" or not o.tail:
            return EXIT_SKIP if o.kind == "SKIP" else EXIT_FAIL
        out_dir = os.path.join(ROOT, "build", "test", name)
        serial = tail_lines(os.path.join(out_dir, "serial.log"))
        print(f"    --- last {len(serial)} serial lines "
              f"(build/test/{name}/serial.log) ---")
        for l in serial:
            print("    | " + l)
        # Emulator's own complaints (Bochs panics/errors, QEMU errors).
        if os.path.exists(os.path.join(out_dir, "bochs.log")):
            bad = tail_lines(os.path.join(out_dir, "bochs.log"), 8,
                             lambda l: re.match(r"^\d+[ep]\[", l) is not None)
            if bad:
                print(f"    --- bochs.log errors/panics ---")
                for l in bad:
                    print("    | " + l)
        emu_lines = tail_lines(os.path.join(out_dir, "emulator.log"), 8,
                               lambda l: "TCG doesn't support" not in l and
                               "terminating on signal" not in l and
                               "i[" not in l[:14])
        if emu_lines:
            print(f"    --- emulator output ---")
            for l in emu_lines:
                print("    | " + l)
        return EXIT_FAIL
    finally:
        emu.stop()


if __name__ == "__main__":
    sys.exit(main())
