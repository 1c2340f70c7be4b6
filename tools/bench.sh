#!/usr/bin/env bash
# make bench: exit round-trip costs of the bench guest on both backends,
# side by side from one run, the IPI round trip between two vCPUs, and
# Linux boot times (one and two vCPUs, one and two VMs).
#   AMD-V: QEMU TCG -cpu EPYC,+svm,+npt -smp 2 with -icount shift=0, where
#          the TSC advances one tick per instruction executed: ticks =
#          instructions (guest + hypervisor, of both CPUs: with -icount
#          QEMU runs its CPUs round-robin in one thread), deterministic.
#   VT-x:  Bochs corei7_skylake_x with 2 CPUs (clock sync=none): its TSC
#          counts instructions per CPU (Bochs steps the CPUs in turn).
#   Native reference for the IPI round trip: the same guest on QEMU TCG
#          -smp 2 -icount shift=0 without Presidio.
# The bench VM has 2 vCPUs (on CPUs 0 and 1); its first vCPU runs the exit
# benchmarks alone (the second waits for its SIPI), then starts the second.
# Prints a table of min/median ticks minus the guest's own loop baseline.
#
# BENCH_RUNS (default 1000): runs per exit and IPI measurement.
# BENCH_LINUX_RUNS (default 3): boots of each SMP Linux configuration.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out=build/bench
mkdir -p "$out"
elf=build/presidio.elf
guest=build/guests/bench.elf
runs="${BENCH_RUNS:-1000}"
linux_runs="${BENCH_LINUX_RUNS:-3}"
bench_started=$SECONDS
[[ -f "$elf" && -f "$guest" ]] || { echo "bench: build first (make all guests)" >&2; exit 1; }
mod="$guest vm=bench vcpus=2 debugexit=1 testdev=1 console=prefixed -- n=$runs"

echo "bench: AMD-V under QEMU TCG -smp 2 -icount shift=0 ..." >&2
timeout 600 qemu-system-x86_64 -machine q35 -m 256 -smp 2 -accel tcg -icount shift=0 \
	-cpu EPYC,+svm,+npt -display none -nodefaults -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$out/svm.log" \
	-kernel "$elf" -append "console=com1 finish=qemu" -initrd "$mod" </dev/null || true

echo "bench: the bench guest natively on QEMU TCG -smp 2 -icount shift=0 ..." >&2
timeout 300 qemu-system-x86_64 -machine q35 -m 64 -smp 2 -accel tcg -icount shift=0 \
	-cpu EPYC -display none -nodefaults -no-reboot \
	-device isa-debug-exit,iobase=0xf4,iosize=4 -serial "file:$out/native.log" \
	-kernel "$guest" -append "n=$runs" </dev/null >/dev/null 2>&1 || true

echo "bench: VT-x under Bochs corei7_skylake_x, 2 CPUs ..." >&2
tools/mkiso.sh --module "$mod" "$elf" "$out/bench.iso" console=com1
# clock sync=none: Bochs' TSC counts instructions.
tools/bochsrc.py --iso "$root/$out/bench.iso" --serial "$root/$out/vmx.log" \
	--log "$root/$out/bochs.log" --model corei7_skylake_x --megs 256 --clock-sync none \
	--extra "cpu: count=2" --out "$out/bochsrc"
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
have_linux=0
[[ -f "$linux_kernel" && -f "$linux_initrd" ]] && have_linux=1
if ((have_linux)); then
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

# SMP Linux boots under Presidio on QEMU TCG -smp 2 (MTTCG: one host thread
# per CPU; wall seconds from the VM's `starting:` line to its shell banner,
# or to both banners): one VM with 1 vCPU, one VM with 2 vCPUs, two 1-vCPU
# VMs at once, in turn, BENCH_LINUX_RUNS rounds. Every VM: 384 MiB, a
# prefixed console, `presidio.poweroff` (it powers off after its banner).
# For reference, in the same rounds, the same Linux booted directly by QEMU
# TCG (seconds from QEMU's start): -smp 1, -smp 2, and two -smp 1 QEMUs at
# once (the later banner): how much this machine itself slows down when
# two emulated CPUs run at once.
linux_vm() { # name vcpus
	printf '%s' "$linux_kernel vm=$1 mem=384M vcpus=$2 console=prefixed -- console=ttyS0 panic=-1 presidio.poweroff,$linux_initrd vm=$1 role=initrd"
}
smp_config_modules() { # config
	case "$1" in
	one1) linux_vm lin1 1 ;;
	one2) linux_vm lin1 2 ;;
	two1) linux_vm lin1 1 && printf ',' && linux_vm lin2 1 ;;
	esac
}
smp_config_shells() { [[ "$1" == two1 ]] && echo 2 || echo 1; }
boot_direct() { # dir smp: seconds to the banner, or nothing
	tools/linux_boot_time.py "$1" --shells 1 --timeout 240 -- qemu-system-x86_64 -machine q35 -m 512 \
		-smp "$2" -accel tcg -cpu EPYC -display none -nodefaults -no-reboot -kernel "$linux_kernel" \
		-initrd "$linux_initrd" -append "console=ttyS0 panic=-1 presidio.poweroff" |
		sed -n 's/^boot_to_shell_s=//p' || true
}
declare -A smp_times=()
if ((have_linux)); then
	for round in $(seq "$linux_runs"); do
		echo "bench: direct Linux boots -smp 1, -smp 2, two at once, round $round of $linux_runs ..." >&2
		for config in d1 d2; do
			t="$(boot_direct "$out/linux-$config-$round" "${config#d}")"
			smp_times[$config]="${smp_times[$config]:-} ${t:-timeout}"
		done
		boot_direct "$out/linux-dd-$round-a" 1 >"$out/linux-dd-$round-a.time" &
		boot_direct "$out/linux-dd-$round-b" 1 >"$out/linux-dd-$round-b.time"
		wait
		t="$(cat "$out/linux-dd-$round-a.time" "$out/linux-dd-$round-b.time" |
			awk 'NF { n++; if ($1 > m) m = $1 } END { if (n == 2) print m; else print "timeout" }')"
		smp_times[dd]="${smp_times[dd]:-} $t"
		for config in one1 one2 two1; do
			echo "bench: SMP Linux boot $config, round $round of $linux_runs ..." >&2
			dir="$out/linux-$config-$round"
			r="$(tools/linux_boot_time.py "$dir" --shells "$(smp_config_shells "$config")" --timeout 240 -- \
				qemu-system-x86_64 -machine q35 -m 1536 -smp 2 -accel tcg -cpu EPYC,+svm,+npt \
				-display none -nodefaults -no-reboot -device isa-debug-exit,iobase=0xf4,iosize=4 \
				-kernel "$elf" -append "console=com1 finish=qemu" \
				-initrd "$(smp_config_modules "$config")" || true)"
			t="$(sed -n 's/^vm_to_shell_s=//p' <<<"$r")"
			[[ -n "$t" ]] || t="timeout"
			grep -q '^resets=' <<<"$r" && t="${t}(reset)"
			smp_times[$config]="${smp_times[$config]:-} $t"
		done
	done
fi

value() { # log name field
	sed -nE "s/^(\[bench\] )?BENCH $2 min=([0-9]+) median=([0-9]+).*/\2 \3/p" "$1" |
		awk -v f="$3" '{ print (f == "min") ? $1 : $2 }'
}
exits() { sed -nE 's/^\(presidio\) vm bench: ([0-9]+ exits:.*)/\1/p' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
median() { # values...: the median of the plain numbers among them
	printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -n |
		awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

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
printf 'logs: %s/svm.log %s/vmx.log %s/native.log\n' "$out" "$out" "$out"

ipi() { # log: "min / median" or (no result)
	local mn md
	mn="$(value "$1" ipi min)" md="$(value "$1" ipi median)"
	[[ -n "$mn" ]] && echo "$mn / $md" || echo "(no result)"
}
printf '\nIPI round trip vCPU 0 -> vCPU 1 -> vCPU 0 (fixed IPIs, both waiting in HLT),\n'
printf '%s runs, TSC ticks from the send to the reply'"'"'s handler, min / median:\n' "$runs"
printf '  under Presidio, AMD-V (QEMU -smp 2 -icount, vCPUs on CPUs 0,1): %s\n' "$(ipi "$out/svm.log")"
printf '  natively on QEMU TCG -smp 2 -icount (no Presidio):           %s\n' "$(ipi "$out/native.log")"
svm_ipi="$(value "$out/svm.log" ipi median)" native_ipi="$(value "$out/native.log" ipi median)"
if [[ -n "$svm_ipi" && -n "$native_ipi" ]]; then
	printf '  ratio Presidio / native (medians):                           %s\n' "$(ratio "$svm_ipi" "$native_ipi")"
fi
printf '  under Presidio, VT-x (Bochs skylake, 2 CPUs):                 %s\n' "$(ipi "$out/vmx.log")"
printf '  (QEMU -icount: instructions of both CPUs; Bochs: instructions per CPU, i.e. latency)\n'

printf '\nLinux boot to the busybox shell (QEMU TCG, wall seconds, same run):\n'
printf '  under Presidio (AMD-V, nested paging): %s\n' "${linux_presidio:-(no result)}"
printf '  directly on QEMU:                       %s\n' "${linux_direct:-(no result)}"
if [[ "$linux_presidio" =~ ^[0-9.]+$ && "$linux_direct" =~ ^[0-9.]+$ ]]; then
	printf '  ratio Presidio / direct:                %s\n' "$(ratio "$linux_presidio" "$linux_direct")"
fi
printf '  exits for that boot: %s\n' "${linux_exits:-(none printed)}"

printf '\nSMP Linux boots under Presidio, QEMU TCG -smp 2, wall seconds from VM start to\n'
printf 'the shell banner(s), %s rounds in turn (runs with a guest reset are left out):\n' "$linux_runs"
for config in one1 one2 two1 d1 d2 dd; do
	case "$config" in
	one1) what="one VM, 1 vCPU:          " ;;
	one2) what="one VM, 2 vCPUs:         " ;;
	two1) what="two 1-vCPU VMs, both up: " ;;
	d1) what="direct, QEMU -smp 1:      " ;;
	d2) what="direct, QEMU -smp 2:      " ;;
	dd) what="direct, two QEMUs at once:" ;;
	esac
	# shellcheck disable=SC2086 # the times are words
	printf '  %s %-28s median %s\n' "$what" "${smp_times[$config]:- (none)}" "$(median ${smp_times[$config]:-})"
done
# shellcheck disable=SC2086
m1="$(median ${smp_times[one1]:-})" m2="$(median ${smp_times[one2]:-})" m3="$(median ${smp_times[two1]:-})"
# shellcheck disable=SC2086
d1="$(median ${smp_times[d1]:-})" d2="$(median ${smp_times[d2]:-})" dd="$(median ${smp_times[dd]:-})"
ratio_line() { # what goal a b ref_a ref_b
	local r="(no result)" ref="(no result)"
	[[ -n "$3" && -n "$4" ]] && r="$(ratio "$3" "$4")"
	[[ -n "$5" && -n "$6" ]] && ref="$(ratio "$5" "$6")"
	printf '  %s: %s (goal <= %s; directly on QEMU: %s)\n' "$1" "$r" "$2" "$ref"
}
ratio_line "ratio 2 vCPUs / 1 vCPU (medians)           " 1.05 "$m2" "$m1" "$d2" "$d1"
ratio_line "ratio two VMs at once / one alone (medians)" 1.10 "$m3" "$m1" "$dd" "$d1"
printf 'logs: %s/linux-*/serial.log\n' "$out"
printf '\nmake bench: tools/bench.sh took %d s\n' "$((SECONDS - bench_started))"
