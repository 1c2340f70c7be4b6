#!/bin/sh
# The layering rules (README, "Layout"), checked on the source tree:
#   1. vmm/ never includes a VT-x or AMD-V header, nor any arch/x86 header
#      other than arch/x86/cpu.h and arch/x86/tsc.h (every #include line of
#      every file under vmm/, recursively);
#   2. no file outside arch/x86/ includes arch/x86/svm_vmcb.h or
#      arch/x86/vmx_vmcs.h;
#   3. "vmcb"/"vmcs" (any case) appear in vmm/ only inside comments.
# Each violation prints one line naming the file, the rule and the offending
# line. Exit 0 when the tree obeys every rule, 1 otherwise.
#
# Usage: tests/unit/test_layering.sh [--no-self-test] [ROOT]
# ROOT defaults to the tree holding this script. Unless --no-self-test is
# given, the script first proves on small scratch trees (in a temporary
# directory) that it does catch each kind of violation.

set -u
SCRIPT=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
SELF_TEST=1
if [ "${1:-}" = "--no-self-test" ]; then
	SELF_TEST=0
	shift
fi
ROOT=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
NAME=test_layering

# Prints "LINE<TAB>CODE" for each line of a C or assembly file, with /* */ and
# // comments blanked out (string and character literals stay: they are code).
strip_comments() {
	awk '
	BEGIN { inblock = 0 }
	{
		line = $0; out = ""; n = length(line); i = 1; instr = 0; q = ""
		while (i <= n) {
			c = substr(line, i, 1); c2 = substr(line, i, 2)
			if (inblock) {
				if (c2 == "*/") { inblock = 0; out = out " "; i += 2 } else i++
				continue
			}
			if (instr) {
				out = out c
				if (c == "\\") { out = out substr(line, i + 1, 1); i += 2; continue }
				if (c == q) instr = 0
				i++
				continue
			}
			if (c2 == "/*") { inblock = 1; i += 2; continue }
			if (c2 == "//") break
			if (c == "\"" || c == "\047") { instr = 1; q = c }
			out = out c
			i++
		}
		printf "%d\t%s\n", FNR, out
	}' "$1"
}

# Prints "LINE<TAB>PATH<TAB>TEXT" for each #include of a file.
includes() {
	grep -n '^[[:space:]]*#[[:space:]]*include' "$1" 2>/dev/null |
	while IFS= read -r hit; do
		num=${hit%%:*}
		text=${hit#*:}
		path=$(printf '%s\n' "$text" | sed -n 's/^[^"<]*["<]\([^">]*\)[">].*/\1/p')
		printf '%s\t%s\t%s\n' "$num" "$path" "$text"
	done
}

# Normalizes an include path the way the build resolves it: "./" and "../"
# relative to the including file's folder, anything else from the root (-I.).
resolve() { # FILE PATH
	case $2 in
	./* | ../*) p=$(dirname "$1")/$2 ;;
	*) p=$2 ;;
	esac
	# drop "./" parts and fold "dir/../"
	printf '%s\n' "$p" | awk -F/ '{
		n = 0
		for (i = 1; i <= NF; i++) {
			if ($i == "." || $i == "") continue
			if ($i == ".." && n > 0 && part[n] != "..") { n--; continue }
			part[++n] = $i
		}
		s = ""
		for (i = 1; i <= n; i++) s = s (i > 1 ? "/" : "") part[i]
		print s
	}'
}

trim() { printf '%s' "$1" | sed 's/^[[:space:]]*//'; }

check_tree() { # ROOT: prints violations, returns 0 if none
	cd "$1" 2>/dev/null || { echo "$NAME: FAIL cannot enter $1"; return 1; }
	if [ ! -d vmm ] || [ ! -d arch/x86 ]; then
		echo "$NAME: FAIL $1 has no vmm/ or arch/x86/: not a Presidio tree"
		return 1
	fi
	out=$(mktemp) || return 1
	files=$(find vmm -type f | sort)
	if [ -z "$files" ]; then
		echo "$NAME: FAIL vmm/ holds no files: wrong tree?"
		rm -f "$out"
		return 1
	fi

	# Rule 1: what vmm/ may include.
	for f in $files; do
		includes "$f" | while IFS="$(printf '\t')" read -r num path text; do
			[ -n "$path" ] || continue
			full=$(resolve "$f" "$path")
			base=$(basename "$path" | tr '[:upper:]' '[:lower:]')
			case $base in
			*vmx* | *svm* | *vmcs* | *vmcb* | *vtx* | *amdv* | *amd_v* | *vt_x*)
				echo "$NAME: FAIL $f:$num includes a VT-x/AMD-V header (vmm/ reaches the CPU only through vmm/backend.h): $(trim "$text")" >>"$out"
				continue ;;
			esac
			case $full in
			arch/x86/cpu.h | arch/x86/tsc.h) ;;
			arch/x86/* | */arch/x86/*)
				echo "$NAME: FAIL $f:$num includes $full (vmm/ may include only arch/x86/cpu.h and arch/x86/tsc.h): $(trim "$text")" >>"$out" ;;
			esac
		done
	done

	# Rule 2: the VMCB and VMCS layouts stay inside arch/x86/.
	find . \( -name .git -o -name build -o -path ./arch/x86 \) -prune -o -type f \
		\( -name '*.c' -o -name '*.h' -o -name '*.S' -o -name '*.s' -o -name '*.inc' \
		-o -name '*.cc' -o -name '*.cpp' -o -name '*.ld' \) -print | sed 's|^\./||' | sort |
	while IFS= read -r f; do
		includes "$f" | while IFS="$(printf '\t')" read -r num path text; do
			case $(basename "$path") in
			svm_vmcb.h | vmx_vmcs.h)
				echo "$NAME: FAIL $f:$num includes $(basename "$path") outside arch/x86/: $(trim "$text")" >>"$out" ;;
			esac
		done
	done

	# Rule 3: no VMCB/VMCS in vmm/ code (comments may name them).
	for f in $files; do
		strip_comments "$f" | grep -i 'vmc[bs]' | while IFS="$(printf '\t')" read -r num _; do
			text=$(sed -n "${num}p" "$f")
			echo "$NAME: FAIL $f:$num names a VMCB/VMCS outside a comment (vmm/ is architecture-neutral): $(trim "$text")" >>"$out"
		done
	done

	count=$(wc -l <"$out" | tr -d ' ')
	cat "$out"
	rm -f "$out"
	[ "$count" -eq 0 ]
}

# Plants one file in a minimal tree and expects the checker to accept
# (want=0) or reject (want=1) it, naming the planted file when rejecting.
self_case() { # WANT PATH CONTENT
	want=$1 path=$2 content=$3
	tree=$(mktemp -d) || return 1
	mkdir -p "$tree/vmm" "$tree/arch/x86" "$tree/drivers"
	printf '#include "vmm/vm.h"\n#include "lib/types.h"\nint vm_ok;\n' >"$tree/vmm/vm.c"
	printf '#include "arch/x86/svm_vmcb.h"\n' >"$tree/arch/x86/svm.c"
	mkdir -p "$tree/$(dirname "$path")"
	printf '%s\n' "$content" >"$tree/$path"
	result=$("$SCRIPT" --no-self-test "$tree")
	got=$?
	rm -rf "$tree"
	if [ "$got" -ne "$want" ]; then
		echo "$NAME: FAIL self-test: planting $path ($content) gave exit $got, expected $want: the checker is broken"
		[ "$want" -eq 0 ] && printf '%s\n' "$result"
		return 1
	fi
	if [ "$want" -eq 1 ] && ! printf '%s\n' "$result" | grep -q "FAIL $path:"; then
		echo "$NAME: FAIL self-test: planting $path was caught but the report does not name it: $result"
		return 1
	fi
	return 0
}

self_test() {
	ok=0
	# allowed
	self_case 0 vmm/a.c '#include "arch/x86/cpu.h"
#  include "arch/x86/tsc.h"
#include "../arch/x86/cpu.h"
/* the backend keeps its VMCB/VMCS to itself;
 * vmcs_write() is its business */
int x; // not a vmcb
char c = '"'"'/'"'"'; /* vmcs */' || ok=1
	self_case 0 arch/x86/vmx.c '#include "arch/x86/vmx_vmcs.h"
static int vmcs;' || ok=1
	self_case 0 drivers/d.c '#include "arch/x86/virt.h"' || ok=1
	# rule 1
	self_case 1 vmm/exit.c '#include "arch/x86/vmx.h"' || ok=1
	self_case 1 vmm/dev/deep/dev.c '#include "arch/x86/virt.h"' || ok=1
	self_case 1 vmm/b.h '  #  include "arch/x86/ept_npt.h"' || ok=1
	self_case 1 vmm/c.c '#include "../arch/x86/gdt.h"' || ok=1
	self_case 1 vmm/d.c '#include <asm/svm.h>' || ok=1
	self_case 1 vmm/e.c '#include "vmm/vmx_exit_reasons.h"' || ok=1
	# rule 2
	self_case 1 drivers/d.c '#include "arch/x86/svm_vmcb.h"' || ok=1
	self_case 1 boot/main.c '#include "../arch/x86/vmx_vmcs.h"' || ok=1
	self_case 1 tests/unit/t.c '#include "arch/x86/vmx_vmcs.h"' || ok=1
	# rule 3
	self_case 1 vmm/f.c 'static u64 vmcs_field;' || ok=1
	self_case 1 vmm/g.c '/* a comment */ struct VMCB *v;' || ok=1
	self_case 1 vmm/h.c 'const char *s = "vmcb dump";' || ok=1
	self_case 1 vmm/i.c '/*
 * comment
 */ int Vmcs;' || ok=1
	return $ok
}

if [ "$SELF_TEST" -eq 1 ]; then
	self_test || exit 1
fi
if check_tree "$ROOT"; then
	echo "$NAME: ok (vmm/ reaches the CPU only through the backend; VMCB/VMCS stay in arch/x86/)"
	exit 0
fi
exit 1
