#!/usr/bin/env bash
# make bench: exit round-trip costs of the bench guest on both backends,
# side by side from one run.
#   AMD-V: QEMU TCG -cpu EPYC,+svm,+npt with -icount shift=0, where the TSC
#          advances one tick per instruction executed: ticks = instructions
#          (guest + hypervisor), deterministic.
#   VT-x:  Bochs corei7_skylake_x (clock sync=none): its TSC also counts
#          instructions.
# Prints a table of min/median ticks minus the guest's own loop baseline.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out=build/bench
mkdir -p "$out"
elf=build/presidio.elf
guest=build/guests/bench.elf
runs="${BENCH_RUNS:-1000}"
[[ -f "$elf" && -f "$guest" ]] || { echo "bench: build first (make all guests)" >&2; exit 1; }
mod="$guest vm=bench debugexit=1 testdev=1 console=prefixed -- n=$runs"

echo "bench: AMD-V under QEMU TCG -icount shift=0 ..." >&2
timeout 600 qemu-system-x86_64 -machine q35 -m 256 -accel tcg -icount shift=0 \
	-cpu EPYC,+svm,+npt -display none -nodefaults -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$out/svm.log" \
	-kernel "$elf" -append "console=com1 finish=qemu" -initrd "$mod" </dev/null || true

echo "bench: VT-x under Bochs corei7_skylake_x ..." >&2
tools/mkiso.sh --module "$mod" "$elf" "$out/bench.iso" console=com1
# clock sync=none: Bochs' TSC counts instructions.
tools/bochsrc.py --iso "$root/$out/bench.iso" --serial "$root/$out/vmx.log" \
	--log "$root/$out/bochs.log" --model corei7_skylake_x --megs 256 --clock-sync none \
	--out "$out/bochsrc"
echo c >"$out/bochs.rc"
rm -f "$out/vmx.log"
(cd "$out" && exec timeout 900 bochs -q -f bochsrc -rc bochs.rc </dev/null >bochs.out 2>&1) &
bochs_pid=$!
for _ in $(seq 1800); do
	grep -q "all VMs finished" "$out/vmx.log" 2>/dev/null && break
	kill -0 "$bochs_pid" 2>/dev/null || break
	sleep 0.5
done
pkill -P "$bochs_pid" 2>/dev/null || true
kill "$bochs_pid" 2>/dev/null || true

# Linux boot to the busybox shell: under Presidio, and the same kernel and
# initramfs booted directly by QEMU, in the same run (both TCG).
linux_kernel=build/linux/vmlinuz
linux_initrd=build/linux/initrd.img
linux_presidio="(no result)" linux_direct="(no result)" linux_exits=""
if [[ -f "$linux_kernel" && -f "$linux_initrd" ]]; then
	echo "bench: Linux boot under Presidio (AMD-V, TCG) ..." >&2
	r="$(tools/linux_boot_time.py "$out/linux-presidio" -- qemu-system-x86_64 -machine q35 -m 1024 \
		-accel tcg -cpu EPYC,+svm,+npt -display none -nodefaults -no-reboot \
		-kernel "$elf" -append "console=com1" \
		-initrd "$linux_kernel vm=linux mem=512M -- console=ttyS0 panic=-1,$linux_initrd vm=linux role=initrd" || true)"
	linux_presidio="$(sed -n 's/^boot_to_shell_s=//p' <<<"$r")"
	linux_exits="$(sed -n 's/^exits=//p' <<<"$r")"
	echo "bench: the same Linux booted directly by QEMU (TCG) ..." >&2
	r="$(tools/linux_boot_time.py "$out/linux-direct" -- qemu-system-x86_64 -machine q35 -m 512 \
		-accel tcg -cpu EPYC -display none -nodefaults -no-reboot \
		-kernel "$linux_kernel" -initrd "$linux_initrd" -append "console=ttyS0 panic=-1" || true)"
	linux_direct="$(sed -n 's/^boot_to_shell_s=//p' <<<"$r")"
fi

value() { # log name field
	sed -nE "s/^\[bench\] BENCH $2 min=([0-9]+) median=([0-9]+).*/\1 \2/p" "$1" |
		awk -v f="$3" '{ print (f == "min") ? $1 : $2 }'
}
exits() { sed -nE 's/^\(presidio\) vm bench: ([0-9]+ exits:.*)/\1/p' "$1"; }

printf '\nExit round trips, %s runs each, in TSC ticks = instructions executed\n' "$runs"
printf '(guest loop baseline subtracted; min / median)\n\n'
printf '%-10s %22s %22s\n' "operation" "AMD-V (QEMU, no NRIP)" "VT-x (Bochs skylake)"
for op in cpuid pio mmio hlt; do
	row="$op"
	for log in "$out/svm.log" "$out/vmx.log"; do
		b="$(value "$log" baseline min)"
		mn="$(value "$log" "$op" min)"
		md="$(value "$log" "$op" median)"
		if [[ -n "$mn" && -n "$b" ]]; then
			row="$row|$((mn - b)) / $((md - b))"
		else
			row="$row|(no result)"
		fi
	done
	IFS='|' read -r a b c <<<"$row"
	printf '%-10s %22s %22s\n' "$a" "$b" "$c"
done
printf '\nexits, AMD-V: %s\nexits, VT-x:  %s\n' "$(exits "$out/svm.log")" "$(exits "$out/vmx.log")"
printf 'logs: %s/svm.log %s/vmx.log\n' "$out" "$out"
printf '\nLinux boot to the busybox shell (QEMU TCG, wall seconds, same run):\n'
printf '  under Presidio (AMD-V, nested paging): %s\n' "${linux_presidio:-(no result)}"
printf '  directly on QEMU:                       %s\n' "${linux_direct:-(no result)}"
if [[ "$linux_presidio" =~ ^[0-9.]+$ && "$linux_direct" =~ ^[0-9.]+$ ]]; then
	printf '  ratio Presidio / direct:                %s\n' "$(awk -v a="$linux_presidio" -v b="$linux_direct" 'BEGIN { printf "%.2f", a / b }')"
fi
printf '  exits for that boot: %s\n' "${linux_exits:-(none printed)}"
