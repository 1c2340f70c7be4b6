#!/usr/bin/env bash
# Build a hybrid BIOS+UEFI bootable ISO around the hypervisor ELF.
#   tools/mkiso.sh [--module 'FILE WORDS...']... ELF ISO [extra hypervisor command-line words...]
# Each --module becomes a module2 line (the file copied to /boot/modules/)
# after the multiboot2 line: that is how VMs are described (README).
# Extra words are appended to the multiboot2 line of iso/grub.cfg
# (words already present there are not repeated).
set -euo pipefail

modules=()
while [[ "${1:-}" == --module ]]; do
	modules+=("$2")
	shift 2
done
if (($# < 2)); then
	echo "usage: $0 [--module 'FILE WORDS...']... ELF ISO [cmdline words...]" >&2
	exit 2
fi
elf="$1"
iso="$2"
shift 2

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cfg="$root/iso/grub.cfg"

[[ -f "$elf" ]] || { echo "mkiso: $elf: no such file" >&2; exit 1; }
[[ -f "$cfg" ]] || { echo "mkiso: $cfg: no such file" >&2; exit 1; }
for d in /usr/lib/grub/i386-pc /usr/lib/grub/x86_64-efi; do
	[[ -d "$d" ]] || { echo "mkiso: $d missing (run tools/deps.sh)" >&2; exit 1; }
done

stage="$(mktemp -d "${TMPDIR:-/tmp}/presidio-iso.XXXXXX")"
tmpiso="$iso.tmp.$$"
trap 'rm -rf "$stage" "$stage.log" "$tmpiso"' EXIT
trap 'exit 1' INT TERM HUP
mkdir -p "$stage/boot/grub"
# Without debug sections (~0.8 MB of DWARF): with them, once the ELF grew to
# ~970 KB, GRUB 2.06 on OVMF failed to load it ("failure reading sector
# 0x2600 from cd0"), and no boot needs them. Symbolize fault-dump addresses
# with build/presidio.elf.
objcopy --strip-debug "$elf" "$stage/boot/presidio.elf"

# Append the extra words to every "multiboot2 /boot/presidio.elf ..." line.
awk -v extra="$*" '
	$1 == "multiboot2" && $2 == "/boot/presidio.elf" {
		n = split(extra, w, /[[:space:]]+/)
		for (i = 1; i <= n; i++) {
			if (w[i] == "") continue
			dup = 0
			for (j = 3; j <= NF; j++) if ($j == w[i]) dup = 1
			if (!dup) $0 = $0 " " w[i]
		}
	}
	{ print }
' "$cfg" >"$stage/boot/grub/grub.cfg.base"

# Module lines go right after the multiboot2 line.
module_lines="$stage/module-lines"
: >"$module_lines"
if ((${#modules[@]})); then
	mkdir -p "$stage/boot/modules"
	for m in "${modules[@]}"; do
		read -r file words <<<"$m"
		[[ -f "$file" ]] || { echo "mkiso: module $file: no such file" >&2; exit 1; }
		cp "$file" "$stage/boot/modules/$(basename "$file")"
		printf '\tmodule2 /boot/modules/%s %s\n' "$(basename "$file")" "$words" >>"$module_lines"
	done
fi
awk -v lines="$module_lines" '
	{ print }
	$1 == "multiboot2" { while ((getline l < lines) > 0) print l }
' "$stage/boot/grub/grub.cfg.base" >"$stage/boot/grub/grub.cfg"
rm -f "$stage/boot/grub/grub.cfg.base" "$module_lines"

mkdir -p "$(dirname "$iso")"
if ! grub-mkrescue -o "$tmpiso" "$stage" >"$stage.log" 2>&1; then
	cat "$stage.log" >&2
	rm -f "$stage.log" "$tmpiso"
	echo "mkiso: grub-mkrescue failed" >&2
	exit 1
fi
rm -f "$stage.log"
mv -f "$tmpiso" "$iso"
