#!/bin/sh
# Runs every test guest on plain QEMU TCG, without Presidio, and prints one
# summary line per run. Checks of Presidio-specific behaviour (its CPUID
# signature, the test device, all-ones for unclaimed memory, ...) are
# expected to FAIL here; see guests/README.md for the expected results.
# Full serial output: build/guests/native/<run>.log
#
#   guests/run-native.sh [run...]     (default: all runs below)

set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=$BUILD/guests/native
TIMEOUT=${GUEST_TIMEOUT:-60}
mkdir -p "$OUT"

# run name | image | guest command line | extra QEMU options (optional)
RUNS="
modes|modes-native.elf|
io|io.elf|
cpuid|cpuid.elf|
msr|msr.elf|
exceptions|exceptions.elf|
hlt|hlt.elf|
hlt-lapic|hlt.elf|irq=lapic
mmio|mmio.elf|
mmio-ram|mmio.elf|scratch=ram
paging|paging.elf|
paging-ram|paging.elf|scratch=ram
hostile|hostile.elf|
triple|triple.elf|
taskswitch|taskswitch.elf|
bench|bench.elf|
bench-lapic|bench.elf|irq=lapic
smp|smp.elf|cpus=4|-smp 4
smp-2|smp.elf|cpus=2|-smp 2
smp-1|smp.elf|cpus=1|-smp 1
"


echo "$RUNS" | while IFS='|' read -r run image args qemu_options; do
	[ -n "$run" ] || continue
	if [ $# -gt 0 ]; then
		match=no
		for want in "$@"; do [ "$want" = "$run" ] && match=yes; done
		[ $match = yes ] || continue
	fi
	log=$OUT/$run.log
	# shellcheck disable=SC2086 # the options are words
	timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -cpu qemu64 -m 16 $qemu_options \
		-kernel "$BUILD/guests/$image" -append "$args" \
		-device isa-debug-exit,iobase=0xf4,iosize=4 \
		-serial "file:$log" -display none -nodefaults -no-reboot </dev/null >/dev/null 2>&1
	status=$?
	case $status in
	124) result="timeout after ${TIMEOUT}s" ;;
	0) result="qemu exited 0 (reset or shutdown, no debug exit)" ;;
	*) result="debug exit $(( (status - 1) / 2 ))" ;;
	esac
	done_line=$(grep -a '^DONE ' "$log" | tail -n 1)
	printf '%-12s %-48s %s\n' "$run" "${done_line:-no DONE line}" "$result"
done
