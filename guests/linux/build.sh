#!/bin/sh
# Build the default Linux guest for Presidio from Debian packages only:
#
#   <out>/vmlinuz             the newest Debian amd64 kernel in the apt sources,
#                             byte for byte as Debian ships it (not installed)
#   <out>/initrd.img          a reproducible gzip'd newc cpio: busybox-static + /init
#   <out>/kernel-version.txt  which kernel package/version vmlinuz came from
#
# Usage: guests/linux/build.sh [--out DIR] [--smoke]   (default DIR: build/linux)
#
#   --smoke   after building, boot the guest under plain QEMU (TCG, no
#             Presidio), wait for the banner, run a few commands on the
#             serial console, `poweroff` and check that QEMU exits.
#
# Environment:
#   LINUX_PACKAGE=NAME   use this kernel package instead of the newest one, e.g.
#                        linux-image-6.1.0-56-amd64 (the bookworm default series)
#
# Works as root or not. Everything downloaded is kept in <out>/cache/; once
# vmlinuz exists the kernel is never looked up again, so a newer kernel in the
# archive is only picked up after `make linux-guest-clean` (rm -rf build/linux).
# The initrd is rebuilt only when guests/linux/init or this script changes.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=$root/build/linux
smoke=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift 2 ;;
	--out=*) out=${1#--out=}; shift ;;
	--smoke) smoke=1; shift ;;
	-h|--help) sed -n '2,/^[^#]/s/^#//p' "$0"; exit 0 ;;
	*) echo "build.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
case $out in /*) ;; *) out=$PWD/$out ;; esac
cache=$out/cache

export LC_ALL=C
umask 022

log() { echo "linux-guest: $*" >&2; }
die() { echo "linux-guest: error: $*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# --- host tools -----------------------------------------------------------
# Debian packages this recipe needs: apt, dpkg, cpio, gzip, coreutils, findutils.
need_tools() {
	missing=
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	[ -z "$missing" ] && return 0
	pkgs=$(echo "$missing" | sed 's/dpkg-deb/dpkg/g; s/apt-get/apt/g; s/apt-cache/apt/g' |
		tr ' ' '\n' | sort -u | tr '\n' ' ')
	if is_root; then
		log "installing missing tools:$missing (apt-get install -y $pkgs)"
		# shellcheck disable=SC2086 # one word per package
		apt-get install -y $pkgs >/dev/null || die "apt-get install $pkgs failed"
	else
		die "missing tools:$missing; run: sudo apt-get install $pkgs"
	fi
}

# apt needs package lists for apt-cache/apt-get download.
ensure_apt_lists() {
	if ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
		return 0
	fi
	if is_root; then
		log "no apt package lists yet: running apt-get update"
		apt-get update >/dev/null || die "apt-get update failed"
	else
		die "no apt package lists (apt-get update never ran); run: sudo apt-get update"
	fi
}

candidate() { # print the candidate version of package $1, or nothing
	apt-cache policy "$1" 2>/dev/null | awk '$1 == "Candidate:" && $2 != "(none)" { print $2 }'
}

# apt-get download into $cache; as root keep apt from switching to _apt, which
# could not write to a root-owned cache directory anyway.
apt_download() { # package=version
	if is_root; then
		(cd "$cache" && apt-get -q -o APT::Sandbox::User=root download "$1" >/dev/null)
	else
		(cd "$cache" && apt-get -q download "$1" >/dev/null)
	fi
}

deb_file() { # package version -> path of the .deb apt-get download writes
	# apt escapes ':' of an epoch as %3a in the file name
	echo "$cache/$1_$(echo "$2" | sed 's/:/%3a/g')_amd64.deb"
}

fetch_deb() { # package version -> path of the downloaded .deb
	f=$(deb_file "$1" "$2")
	if [ ! -s "$f" ]; then
		log "downloading $1 $2"
		apt_download "$1=$2" || die "apt-get download $1=$2 failed"
		[ -s "$f" ] || die "apt-get download did not produce $f"
	fi
	echo "$f"
}

# --- 1. kernel ------------------------------------------------------------
# The newest generic amd64 kernel image: linux-image-<abi>-amd64 or its
# -unsigned twin (not -cloud-, -rt-, -dbg). On equal versions the signed
# package wins: it is the one Debian installs by default.
select_kernel() {
	best='' bestv=''
	for p in $(apt-cache pkgnames linux-image- |
		grep -E '^linux-image-[0-9][0-9.]*(-[0-9]+|\+deb[0-9]+)-amd64(-unsigned)?$' | sort); do
		v=$(candidate "$p")
		[ -n "$v" ] || continue
		if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$bestv" ||
			{ [ "$v" = "$bestv" ] && [ "$best" = "$p-unsigned" ]; }; then
			best=$p bestv=$v
		fi
	done
	[ -n "$best" ] || die "no linux-image-*-amd64 package in the apt sources (apt-cache pkgnames linux-image-)"
	echo "$best $bestv"
}

build_kernel() {
	if [ -s "$out/vmlinuz" ] && [ -s "$out/kernel-version.txt" ]; then
		log "kernel up to date: $(sed -n 's/^package=//p' "$out/kernel-version.txt")" \
			"$(sed -n 's/^version=//p' "$out/kernel-version.txt")"
		return 0
	fi
	ensure_apt_lists
	if [ -n "${LINUX_PACKAGE:-}" ]; then
		kv=$(candidate "$LINUX_PACKAGE")
		[ -n "$kv" ] || die "LINUX_PACKAGE=$LINUX_PACKAGE has no candidate version in the apt sources"
		kp=$LINUX_PACKAGE
	else
		sel=$(select_kernel) || exit 1
		kp=${sel% *} kv=${sel#* }
	fi
	log "kernel package: $kp $kv"
	deb=$(fetch_deb "$kp" "$kv")

	# Extract only /boot (the modules are not needed: the initramfs loads none).
	x=$cache/kernel-extract
	rm -rf "$x"
	mkdir -p "$x"
	dpkg-deb --fsys-tarfile "$deb" | tar -xf - -C "$x" --wildcards './boot/vmlinuz-*' ||
		die "no /boot/vmlinuz-* in $deb"
	set -- "$x"/boot/vmlinuz-*
	if [ $# -ne 1 ] || [ ! -s "$1" ]; then
		die "expected exactly one /boot/vmlinuz-* in $deb"
	fi
	vm=$1
	cp "$vm" "$out/vmlinuz.tmp"
	mv "$out/vmlinuz.tmp" "$out/vmlinuz"
	rm -rf "$x"
	{
		echo "package=$kp"
		echo "version=$kv"
		echo "file=/boot/$(basename "$vm")"
		echo "release=$(basename "$vm" | sed 's/^vmlinuz-//')"
		echo "sha256=$(sha256sum "$out/vmlinuz" | cut -d' ' -f1)"
	} >"$out/kernel-version.txt"
	log "wrote $out/vmlinuz ($(wc -c <"$out/vmlinuz") bytes) from $kp $kv"
}

# --- 2. initramfs ---------------------------------------------------------
# Bump when the image layout below changes, so cached images are rebuilt.
INITRD_LAYOUT=1

busybox_deb() {
	set -- "$cache"/busybox-static_*_amd64.deb
	if [ -s "$1" ]; then
		[ $# -eq 1 ] || die "several busybox-static debs in $cache; remove the old ones"
		echo "$1"
		return 0
	fi
	ensure_apt_lists
	bv=$(candidate busybox-static)
	[ -n "$bv" ] || die "busybox-static has no candidate version in the apt sources"
	fetch_deb busybox-static "$bv"
}

build_initrd() {
	bdeb=$(busybox_deb)
	stamp=$(
		{
			echo "layout=$INITRD_LAYOUT"
			basename "$bdeb"
			sha256sum <"$here/init"
			sha256sum <"$0"
		} | sha256sum | cut -d' ' -f1
	)
	if [ -s "$out/initrd.img" ] && [ "$(cat "$out/initrd.stamp" 2>/dev/null)" = "$stamp" ]; then
		log "initrd up to date: $(sha256sum <"$out/initrd.img" | cut -d' ' -f1)"
		return 0
	fi
	log "building initrd.img with $(basename "$bdeb")"

	bx=$cache/busybox-extract
	rm -rf "$bx"
	mkdir -p "$bx"
	dpkg-deb -x "$bdeb" "$bx"
	[ -s "$bx/bin/busybox" ] || die "no bin/busybox in $bdeb"

	s=$cache/initrd-root
	rm -rf "$s"
	mkdir -p "$s"
	for d in bin sbin usr usr/bin usr/sbin dev proc sys tmp root etc; do
		mkdir -p "$s/$d"
	done
	cp "$bx/bin/busybox" "$s/bin/busybox"
	cp "$here/init" "$s/init"
	# The remaining applet links are made at boot by `busybox --install -s`;
	# /bin/sh is here so that the image is usable even without /init.
	ln -s busybox "$s/bin/sh"
	rm -rf "$bx"

	# Normalise everything the archive records: modes, mtimes, owner (-R 0:0),
	# inode/device numbers (--reproducible), order (sorted, C locale).
	find "$s" -type d -exec chmod 0755 {} +
	chmod 1777 "$s/tmp"
	chmod 0700 "$s/root"
	chmod 0755 "$s/bin/busybox" "$s/init"
	find "$s" -exec touch -h -d @0 {} +
	(cd "$s" && find . -mindepth 1 | sed 's|^\./||' | sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) |
		gzip -9 -n >"$out/initrd.img.tmp"
	mv "$out/initrd.img.tmp" "$out/initrd.img"
	echo "$stamp" >"$out/initrd.stamp"
	rm -rf "$s"
	log "wrote $out/initrd.img ($(wc -c <"$out/initrd.img") bytes)" \
		"sha256 $(sha256sum <"$out/initrd.img" | cut -d' ' -f1)"
}

# --- 3. optional smoke test under plain QEMU --------------------------------
BANNER='Presidio guest: Linux'
PROMPT='presidio-guest:/# '

wait_for() { # pattern file seconds -> 0 when the pattern shows up in the file
	i=0
	while [ $i -lt $(($3 * 10)) ]; do
		grep -qF -- "$1" "$2" 2>/dev/null && return 0
		kill -0 "$qpid" 2>/dev/null || return 1
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

smoke_test() {
	need_tools qemu-system-x86_64
	t=$(mktemp -d)
	log "smoke test: booting under qemu-system-x86_64 -accel tcg (log: $out/smoke.log)"
	mkfifo "$t/in"
	start=$(date +%s.%N)
	qemu-system-x86_64 -accel tcg -m 512 -kernel "$out/vmlinuz" -initrd "$out/initrd.img" \
		-append "console=ttyS0 panic=-1" -nographic -no-reboot -monitor none \
		<"$t/in" >"$out/smoke.log" 2>&1 &
	qpid=$!
	exec 3>"$t/in"
	ok=1
	if wait_for "$BANNER" "$out/smoke.log" 180; then
		log "banner after $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s:" \
			"$(grep -F "$BANNER" "$out/smoke.log" | tr -d '\r')"
	else
		log "smoke test: no banner"; ok=
	fi
	if [ -n "$ok" ] && wait_for "$PROMPT" "$out/smoke.log" 60; then
		# shellcheck disable=SC2016 # the guest's shell expands it
		printf 'cat /proc/interrupts; date; echo smoke-$((6 * 7))-ok\n' >&3
		wait_for smoke-42-ok "$out/smoke.log" 60 || { log "smoke test: commands did not run"; ok=; }
	else
		[ -z "$ok" ] || { log "smoke test: no shell prompt"; ok=; }
	fi
	[ -z "$ok" ] || printf 'poweroff\n' >&3
	i=0
	while kill -0 "$qpid" 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
	exec 3>&-
	if kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid"; wait "$qpid" 2>/dev/null || true
		log "smoke test: QEMU did not exit after poweroff"; ok=
	else
		wait "$qpid" || { log "smoke test: QEMU exited with status $?"; ok=; }
	fi
	rm -rf "$t"
	grep -q 'reboot: Power down' "$out/smoke.log" || { [ -z "$ok" ] || log "smoke test: no 'reboot: Power down'"; ok=; }
	[ -n "$ok" ] || die "smoke test failed; see $out/smoke.log"
	log "smoke test passed"
}

need_tools apt-get apt-cache dpkg dpkg-deb cpio gzip tar sha256sum
mkdir -p "$out" "$cache"
build_kernel
build_initrd
[ -z "$smoke" ] || smoke_test
