#!/bin/bash
# Build the libFuzzer harnesses (test/fuzz/build.sh) and run each for a
# bounded time on a copy of its seed corpus (test/fuzz/corpus/<harness>/):
#   test/fuzz/run.sh [SECONDS_PER_HARNESS]        (default 30)
# One line per harness; a crash, a leak, a sanitizer report, a failed
# invariant or a timeout fails it (the report and the reproducer are kept
# under <build>/artifacts/).  Ends with "fuzz: N passed, M failed" and
# exits M.
# Env: UACCE_BUILD_FUZZ (build dir, default build-fuzz/ at the top),
# FUZZ_HARNESSES (a subset, space separated), FUZZ_KEEP=1 (keep the grown
# corpora: the work dir is printed), FUZZ_ARGS (more libFuzzer options).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
secs=${1:-30}
out=${UACCE_BUILD_FUZZ:-$top/build-fuzz}
harnesses=${FUZZ_HARNESSES:-fuzz-config fuzz-zip-sqe fuzz-dummy-ring fuzz-core-ioctl fuzz-broker-wire fuzz-hisi-sqe fuzz-control}
passed=0 failed=0

case $secs in ''|*[!0-9]*) echo "usage: $0 [SECONDS_PER_HARNESS]" >&2; exit 2 ;; esac
mkdir -p "$out"
if ! "$top/test/fuzz/build.sh" "$out" >"$out/build.log" 2>&1; then
	cat "$out/build.log" >&2
	echo "fuzz: build failed"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
fi
work=$(mktemp -d /tmp/uacce-fuzz.XXXXXX)
mkdir -p "$out/artifacts"

for h in $harnesses; do
	mkdir -p "$work/$h" "$work/$h.artifacts"
	cp "$top/test/fuzz/corpus/$h/"* "$work/$h/" 2>/dev/null
	log=$work/$h.log
	# -timeout: one input may take at most 25 s; the outer timeout is a backstop
	# shellcheck disable=SC2086
	timeout -k 10 $((secs + 120)) "$out/$h" -max_total_time="$secs" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$work/$h.artifacts/" \
		${FUZZ_ARGS:-} "$work/$h" >"$log" 2>&1
	rc=$?
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$done_line" | sed -n 's/.*corp: \([0-9]*\).*/\1/p')
	if [ $rc = 0 ] && [ -n "$done_line" ] &&
	   ! grep -qE '^==[0-9]+==ERROR|^SUMMARY: |runtime error:|fuzz invariant failed' "$log"; then
		passed=$((passed + 1))
		echo "$h: ok, ${runs:-?} runs in ${secs} s (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?}"
	else
		failed=$((failed + 1))
		cp "$log" "$out/artifacts/$h.log"
		cp "$work/$h.artifacts/"* "$out/artifacts/" 2>/dev/null
		echo "$h: FAILED (exit $rc) after ${runs:-?} runs; log and reproducer in $out/artifacts/"
		grep -E 'ERROR|SUMMARY|runtime error|invariant failed|Test unit written' "$log" | head -n 8 |
			sed 's/^/    /'
	fi
done

if [ "${FUZZ_KEEP:-0}" = 1 ]; then
	echo "fuzz: corpora kept in $work"
else
	rm -rf "$work"
fi
echo "fuzz: $passed passed, $failed failed"
exit $failed
