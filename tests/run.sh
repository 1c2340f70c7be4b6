#!/usr/bin/env bash
# Presidio test runner.
#   tests/run.sh [--unit-only|--fuzz-only|--scenarios-only] [FILTER]
# Runs, in this order:
#   - every host unit test program build/unit/test_* (cmocka; each
#     individual test counts),
#   - every fuzzer build/fuzz/fuzz_* for FUZZ_SECONDS (default 20) each,
#     or FUZZ_RUNS executions when that is set (FUZZ_SECONDS=0: no time
#     limit, as `make fuzz` runs them),
#   - every boot scenario tests/scenarios/*.scn (tests/scenario.py),
#     JOBS (default 2) at a time.
# FILTER (an extended regex) keeps only the items whose name matches it,
# e.g. `tests/run.sh boot-` or `tests/run.sh 'test_format|boot-novt'`.
# One line per item: PASS name (details, N.Ns) / FAIL name: reason /
# SKIP name: reason. Logs: build/test/. Last line: N passed, N failed
# (, N skipped). Exit status 0 only when nothing failed.
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1

do_unit=1 do_fuzz=1 do_scn=1
filter=
for arg in "$@"; do
	case "$arg" in
	--unit-only) do_fuzz=0 do_scn=0 ;;
	--fuzz-only) do_unit=0 do_scn=0 ;;
	--scenarios-only) do_unit=0 do_fuzz=0 ;;
	-h | --help)
		sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "run: unknown option $arg (see --help)" >&2
		exit 2
		;;
	*) filter="$arg" ;;
	esac
done
FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
FUZZ_RUNS="${FUZZ_RUNS:-}"
JOBS="${JOBS:-2}"
UNIT_TIMEOUT="${UNIT_TIMEOUT:-300}"
TAIL=20

passed=0
failed=0
skipped=0
ran=0
out="build/test"
mkdir -p "$out"

matches() { [[ -z "$filter" || "$1" =~ $filter ]]; }
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
show_tail() { # file [n]
	local n="${2:-$TAIL}"
	echo "    --- last lines of $1 ---"
	tail -n "$n" "$1" | sed -e 's/\r//g' -e 's/^/    | /'
}
signame() { kill -l "$(($1 - 128))" 2>/dev/null || echo "?"; }

# Host programs: executable files, not build by-products (*.o, *.d, ...).
list_programs() { # dir prefix
	local f
	for f in "$1"/"$2"*; do
		[[ -f "$f" && -x "$f" ]] || continue
		case "${f##*/}" in
		*.o | *.d | *.a | *.so | *.c | *.h | *.log | *.txt | *.map) continue ;;
		esac
		echo "$f"
	done
}

# ---------------------------------------------------------------- unit tests
run_unit() {
	local prog="$1" name="${1##*/}" log start rc np nf names
	log="$out/unit/$name.log"
	mkdir -p "$out/unit"
	start="$EPOCHREALTIME"
	CMOCKA_MESSAGE_OUTPUT=STDOUT timeout -k 5 "$UNIT_TIMEOUT" "$prog" </dev/null >"$log" 2>&1
	rc=$?
	np="$(sed -nE 's/^\[  PASSED  \] ([0-9]+) test.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')"
	nf="$(sed -nE 's/^\[  FAILED  \] ([0-9]+) test.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')"
	names="$(sed -nE '/^\[  FAILED  \] [0-9]+ test/d; s/^\[  FAILED  \] (.*)/\1/p' "$log" | awk '!seen[$0]++' | paste -sd, - | sed 's/,/, /g')"
	ran=$((ran + 1))
	if ((rc == 0 && nf == 0)); then
		if ((np == 0)); then
			passed=$((passed + 1))
			echo "PASS $name (exited 0, no cmocka summary, $(since "$start")s)"
		else
			passed=$((passed + np))
			echo "PASS $name ($np tests, $(since "$start")s)"
		fi
		return
	fi
	passed=$((passed + np))
	local why
	if ((rc == 124 || rc == 137)); then
		why="timed out after ${UNIT_TIMEOUT}s"
	elif ((rc > 128)); then
		why="killed by SIG$(signame "$rc")"
	elif ((nf > 0)); then
		why="$nf of $((np + nf)) tests failed: $names"
	else
		why="exited with status $rc"
	fi
	((nf > 0)) || nf=1
	failed=$((failed + nf))
	echo "FAIL $name: $why ($np passed before, $(since "$start")s)"
	show_tail "$log"
}

# ------------------------------------------------------------------- fuzzers
run_fuzz() {
	local prog="$1" name="${1##*/}" base wd log start rc seeds=() opts=() d
	base="${name#fuzz_}"
	wd="$out/fuzz/$name"
	log="$wd/fuzz.log"
	rm -rf "$wd"
	mkdir -p "$wd/corpus"
	for d in "tests/fuzz/corpus/$base" "tests/fuzz/corpus/$name" "tests/fuzz/$base.corpus"; do
		[[ -d "$d" ]] && seeds+=("$d")
	done
	for d in "tests/fuzz/$base.dict" "tests/fuzz/$name.dict"; do
		[[ -f "$d" ]] && opts+=("-dict=$d")
	done
	[[ -n "$FUZZ_RUNS" ]] && opts+=("-runs=$FUZZ_RUNS")
	# GNU timeout: 0 is no limit.
	local limit=$((FUZZ_SECONDS > 0 ? FUZZ_SECONDS + 60 : 0))
	start="$EPOCHREALTIME"
	timeout -k 10 "$limit" "$prog" \
		-max_total_time="$FUZZ_SECONDS" -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$wd/" "${opts[@]}" "$wd/corpus" "${seeds[@]}" \
		</dev/null >"$log" 2>&1
	rc=$?
	ran=$((ran + 1))
	local runs cov rate
	runs="$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
	rate="$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+).*/\1/p' "$log" | tail -n 1)"
	cov="$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)"
	if ((rc == 0)); then
		passed=$((passed + 1))
		echo "PASS $name (${runs:-?} runs, ${rate:-?}/s, cov ${cov:-?}, $(since "$start")s)"
		return
	fi
	failed=$((failed + 1))
	local what artifact
	artifact="$(ls "$wd"/crash-* "$wd"/leak-* "$wd"/timeout-* "$wd"/oom-* 2>/dev/null | head -n 1)"
	what="$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [^(]*' "$log")"
	if ((rc == 124 || rc == 137)); then
		what="hung: still running ${limit}s after start"
	fi
	echo "FAIL $name: ${what:-exited with status $rc}${artifact:+ (input: $artifact)}"
	# The sanitizer report's head says what and where; the tail is stats.
	local at
	at="$(grep -nE -m1 '^==[0-9]+== ?ERROR|runtime error:|ERROR: libFuzzer' "$log" | cut -d: -f1)"
	if [[ -n "$at" ]]; then
		echo "    --- $log from line $at ---"
		sed -n "${at},$((at + TAIL - 1))p" "$log" | sed -e 's/\r//g' -e 's/^/    | /'
	else
		show_tail "$log"
	fi
}

# ----------------------------------------------------------------- scenarios
declare -A running=() # pid -> scenario name
resdir="$out/.results"

kill_scenarios() {
	local pid
	for pid in "${!running[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${!running[@]}"; do
		wait "$pid" 2>/dev/null
	done
	running=()
}
trap 'kill_scenarios; echo "run: interrupted" >&2; exit 130' INT TERM HUP
trap 'kill_scenarios' EXIT

collect() { # pid rc
	local name="${running[$1]}" rc="$2"
	unset 'running[$1]'
	cat "$resdir/$name.out"
	ran=$((ran + 1))
	case "$rc" in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*)
		failed=$((failed + 1))
		grep -qE "^(FAIL|PASS|SKIP) " "$resdir/$name.out" ||
			echo "FAIL $name: tests/scenario.py exited with status $rc"
		;;
	esac
}

run_scenarios() {
	local scns=() s name pid rc
	for s in tests/scenarios/*.scn; do
		[[ -f "$s" ]] || continue
		name="$(basename "$s" .scn)"
		matches "$name" && scns+=("$s")
	done
	((${#scns[@]})) || return 0
	rm -rf "$resdir"
	mkdir -p "$resdir"
	for s in "${scns[@]}"; do
		while ((${#running[@]} >= JOBS)); do
			wait -n -p pid "${!running[@]}"
			rc=$?
			collect "$pid" "$rc"
		done
		name="$(basename "$s" .scn)"
		python3 tests/scenario.py "$s" >"$resdir/$name.out" 2>&1 &
		running[$!]="$name"
	done
	while ((${#running[@]})); do
		wait -n -p pid "${!running[@]}"
		rc=$?
		collect "$pid" "$rc"
	done
}

if ((do_unit)); then
	while read -r p; do
		matches "${p##*/}" && run_unit "$p"
	done < <(list_programs build/unit test_)
fi

if ((do_fuzz)); then
	while read -r p; do
		matches "${p##*/}" && run_fuzz "$p"
	done < <(list_programs build/fuzz fuzz_)
fi

((do_scn)) && run_scenarios

if ((ran == 0)); then
	echo "run: nothing to run${filter:+ matching '$filter'}" >&2
fi
summary="$passed passed, $failed failed"
((skipped)) && summary+=", $skipped skipped"
echo "$summary"
((failed == 0 && ran > 0))
