#!/usr/bin/env bash
# Boot the Presidio ISO interactively in QEMU, serial console on this terminal.
#   tools/run-qemu.sh [--uefi] [ISO] [extra qemu args...]
# KVM (-cpu host) when tools/accel.sh says the host can really run it,
# otherwise TCG emulating an AMD EPYC with AMD-V and nested paging.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

uefi=0
if [[ "${1:-}" == --uefi ]]; then
	uefi=1
	shift
fi
iso="${1:-$root/build/presidio.iso}"
(($#)) && shift

[[ -f "$iso" ]] || { echo "run-qemu: $iso: no such file (make iso)" >&2; exit 1; }

if [[ "$("$root/tools/accel.sh")" == kvm ]]; then
	cpu=(-accel kvm -cpu host)
	what="KVM, -cpu host"
else
	cpu=(-accel tcg -cpu "EPYC,+svm,+npt")
	what="TCG (no usable KVM), -cpu EPYC,+svm,+npt"
fi

fw=()
firmware="SeaBIOS"
if ((uefi)); then
	ovmf=/usr/share/ovmf/OVMF.fd
	[[ -f "$ovmf" ]] || { echo "run-qemu: $ovmf missing (apt-get install ovmf)" >&2; exit 1; }
	fw=(-bios "$ovmf")
	firmware="OVMF (UEFI)"
fi

echo "run-qemu: $what, $firmware, 1024 MiB, 2 CPUs. Quit: Ctrl-A x (Ctrl-A c: QEMU monitor)"

# TCG lists every EPYC feature it cannot emulate; that is expected noise.
exec qemu-system-x86_64 -machine q35 -m 1024 -smp 2 \
	-nographic -serial mon:stdio -no-reboot \
	"${cpu[@]}" "${fw[@]}" -boot d -cdrom "$iso" "$@" \
	2> >(grep --line-buffered -v "TCG doesn't support requested feature" >&2)
