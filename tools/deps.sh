#!/usr/bin/env bash
# Make sure every Debian package in tools/packages.txt is installed.
# Quiet when all are present. As root, installs the missing ones;
# otherwise prints the command to run and exits 1.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="$here/packages.txt"

mapfile -t pkgs < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")

missing=()
for p in "${pkgs[@]}"; do
	status="$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)"
	case "$status" in
	ii*) ;;
	*) missing+=("$p") ;;
	esac
done

((${#missing[@]} == 0)) && exit 0

if [[ "$(id -u)" != 0 ]]; then
	echo "Presidio needs these Debian packages: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q </dev/null >&2
apt-get install -y -q "${missing[@]}" </dev/null >&2
