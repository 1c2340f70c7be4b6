#!/usr/bin/env bash
# Boot the Presidio ISO interactively in Bochs (Intel VT-x emulation).
#   tools/run-bochs.sh [ISO] [CPU-MODEL]   (defaults build/presidio.iso, corei7_skylake_x)
# Two CPUs (BOCHS_CPUS), as the QEMU runner has: the default VM has 2 vCPUs.
# `bochs --help cpu` lists the models. COM1 is this terminal; Bochs' own log
# goes to build/bochs/bochs.log. Ctrl-C breaks into the Bochs debugger,
# where `q` quits and `c` continues. When Presidio has halted for good (its
# last line or a fault dump, then HLT with interrupts off), Bochs is stopped
# and this returns.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iso="${1:-$root/build/presidio.iso}"
model="${2:-corei7_skylake_x}"

[[ -f "$iso" ]] || { echo "run-bochs: $iso: no such file (make iso)" >&2; exit 1; }
command -v bochs >/dev/null || { echo "run-bochs: bochs missing (tools/deps.sh)" >&2; exit 1; }
iso="$(cd "$(dirname "$iso")" && pwd)/$(basename "$iso")"

dir="$root/build/bochs"
mkdir -p "$dir"

megs=1024
if tty="$(tty 2>/dev/null)"; then
	com1=(--serial-mode term --serial "$tty")
	where="this terminal"
else
	com1=(--serial-mode file --serial "$dir/serial.log")
	where="$dir/serial.log"
fi

"$root/tools/bochsrc.py" --iso "$iso" "${com1[@]}" --log "$dir/bochs.log" \
	--model "$model" --megs "$megs" --cpus "${BOCHS_CPUS:-2}" --clock-sync none --out "$dir/bochsrc"
echo c >"$dir/debugger.rc"
rm -f "$dir/bochs.log" "$dir/bochs.pid" "$dir/halted"

# Bochs in the foreground (the terminal and Ctrl-C stay its), its PID
# written first for the watcher below.
run_bochs() {
	bash -c 'echo $$ >"$1" && shift && exec "$@"' run-bochs "$dir/bochs.pid" \
		bochs -q -f "$dir/bochsrc" -rc "$dir/debugger.rc"
}

# Presidio ends every run, and every fatal error, with CLI; HLT on the boot
# CPU (it idles with STI; HLT), and Bochs logs "HLT instruction with IF=0"
# for it: nothing can wake that CPU any more, so stop Bochs. Only CPU0's
# line counts: the BIOS parks the other CPUs the same way before Presidio
# starts them.
stop_when_halted() {
	local pid=
	for _ in $(seq 100); do
		[[ -s "$dir/bochs.pid" ]] && pid="$(cat "$dir/bochs.pid")" && break
		sleep 0.1
	done
	[[ -n "$pid" ]] || return 0
	# Not a pipeline: that would wait for tail, which ends with Bochs.
	if grep -q -m1 '\[CPU0 *\] .*HLT instruction with IF=0' < <(tail -F -n +1 --pid="$pid" "$dir/bochs.log" 2>/dev/null); then
		sleep 1 # the last serial bytes
		touch "$dir/halted"
		kill "$pid" 2>/dev/null || true
	fi
}

# Bochs' status, or 0 when it was stopped because Presidio halted.
finish() { # bochs-status
	if [[ -e "$dir/halted" ]]; then
		echo "run-bochs: Presidio halted; Bochs stopped"
		return 0
	fi
	return "$1"
}

echo "run-bochs: cpu $model, $megs MiB, serial on $where, log $dir/bochs.log. Quit: Ctrl-C, then q"
cd "$dir"

if [[ "$where" == "this terminal" ]]; then
	# Bochs' serial "term" mode puts the terminal in raw mode with no
	# interrupt character, so Ctrl-C would only reach the guest. Once Bochs
	# has set up the terminal, give Ctrl-C back (it then breaks into the
	# Bochs debugger) and restore the terminal when Bochs exits.
	saved="$(stty -g)"
	helper=
	trap 'stty "$saved" 2>/dev/null || true; [[ -z "$helper" ]] || kill "$helper" 2>/dev/null || true' EXIT
	(
		for _ in $(seq 200); do
			sleep 0.1
			if stty -a -F "$tty" 2>/dev/null | grep -q 'intr = <undef>'; then
				stty -F "$tty" intr '^C' isig opost onlcr
				exit 0
			fi
		done
	) &
	helper=$!
	stop_when_halted &
	rc=0
	run_bochs || rc=$?
	stty "$saved" 2>/dev/null || true
	finish "$rc"
else
	stop_when_halted &
	rc=0
	run_bochs </dev/null || rc=$?
	finish "$rc"
fi
