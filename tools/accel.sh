#!/usr/bin/env bash
# Print the QEMU accelerator to use: "kvm" or "tcg".
# kvm only when the host CPU advertises vmx/svm AND a short QEMU run with
# -accel kvm -cpu host actually gets the hypervisor banner "(presidio)"
# onto the serial port. /dev/kvm existing proves nothing (nested setups
# often have one that cannot run guests).
#   tools/accel.sh [ELF]   (default build/presidio.elf)
# PRESIDIO_ACCEL=kvm|tcg forces the answer.
set -uo pipefail

if [[ -n "${PRESIDIO_ACCEL:-}" ]]; then
	echo "$PRESIDIO_ACCEL"
	exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
elf="${1:-$root/build/presidio.elf}"
wait_s="${ACCEL_PROBE_SECONDS:-5}"

tcg() { echo tcg; exit 0; }

grep -qwE 'vmx|svm' /proc/cpuinfo 2>/dev/null || tcg
[[ -r /dev/kvm && -w /dev/kvm ]] || tcg
[[ -f "$elf" ]] || tcg
command -v qemu-system-x86_64 >/dev/null || tcg

tmp="$(mktemp -d "${TMPDIR:-/tmp}/presidio-accel.XXXXXX")"
pid=
cleanup() {
	[[ -n "$pid" ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
exec 2>/dev/null # no job-status noise if QEMU aborts

qemu-system-x86_64 -accel kvm -cpu host -machine q35 -m 128 \
	-kernel "$elf" -append "console=com1" \
	-display none -nodefaults -no-reboot \
	-serial "file:$tmp/serial.log" </dev/null >/dev/null 2>&1 &
pid=$!

deadline=$((SECONDS + wait_s))
while ((SECONDS <= deadline)); do
	if grep -aq '(presidio)' "$tmp/serial.log" 2>/dev/null; then
		echo kvm
		exit 0
	fi
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.2
done
echo tcg
