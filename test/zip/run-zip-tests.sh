#!/bin/bash
# test/zip/run-zip-tests.sh BUILD_DIR - the zip device (uacce_zip_v1): its
# protocol and error paths (zip-probe), uacce-zip against gzip, and
# uacce-bench's compression part, against a daemon of our own (temporary
# runtime dir, our own configuration: an SVA and a non-SVA zip device).
#
#   UACCE_FRONTEND=cuse   run the daemon with --frontend cuse (a guest with
#                         CUSE: nodes in /dev); default: fuse
#   UACCE_ZIP_SMALL=1     small inputs (automatic with cuse or UACCE_VM_GUEST=1:
#                         the guest is emulated and slow), the protocol on
#                         one device of each profile
#   UACCE_ZIP_KEEP=1      keep the temporary directory (or lib.sh's UACCE_INTEG_KEEP)
#
# One line per check ("ok: ..." / "FAIL: ..." / "info: ..."); the last line
# is "zip-tests: N passed, M failed" and the exit status is M.  The
# framework (checks, daemon, clean-up) is test/integ/lib.sh's.
set -u
[ $# -ge 1 ] && [ -x "$1/uacced" ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "zip-tests: must run as root" >&2; exit 2; }
IT_NAME=${IT_NAME:-zip-tests}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/../integ/lib.sh"
B=$(cd "$1" && pwd)
FE=$IT_FRONTEND
SMALL=${UACCE_ZIP_SMALL:-0}
[ "$FE" = cuse ] || [ "${UACCE_VM_GUEST:-0}" = 1 ] && SMALL=${UACCE_ZIP_SMALL:-1}
[ "${UACCE_ZIP_KEEP:-0}" = 1 ] && UACCE_INTEG_KEEP=1
trap it_cleanup EXIT
trap 'exit 130' INT TERM
it_init "$B" || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
T=$IT_TMP	# unprivileged clients reach the runtime dir through it (mode 755)
RT=$IT_RT
ZIP=$B/uacce-zip
PROBE=$B/test/zip/zip-probe
SVA=uacce-zip-0
NONSVA=uacce-zip-1
# the same devices in the mainline ABI profile (issue 12): nodes <name>-<id>
MLSVA=zipml-2
MLNONSVA=zipml-3

# expect NAME RC PATTERN COMMAND...: exit status RC and stderr matching PATTERN
expect() {
	local name=$1 want=$2 pat=$3 rc
	shift 3
	"$@" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" = "$want" ] && grep -qE -- "$pat" "$T/err"; then
		it_ok "$name"
	else
		it_bad "$name (exit $rc, want $want; stderr below)"
		it_indent "$T/err" | head -5
	fi
}

# --- the daemon -----------------------------------------------------------------
it_groupadd uacce || it_bad "groupadd uacce"
cat >"$T/uacced.json" <<'EOF'
{ "nodes": { "group": "uacce", "mode": "0660" },
  "devices": [
    { "name": "zip", "backend": "soft", "api": "uacce_zip_v1", "sva": true, "queues": 8 },
    { "name": "zip", "backend": "soft", "api": "uacce_zip_v1", "sva": false, "queues": 8 },
    { "name": "zipml", "backend": "soft", "api": "uacce_zip_v1", "sva": true, "queues": 8,
      "abi": "mainline" },
    { "name": "zipml", "backend": "soft", "api": "uacce_zip_v1", "sva": false, "queues": 8,
      "abi": "mainline", "data_size": 67108864 }
  ] }
EOF
# the "workers" key (one worker instead of one per CPU), if this daemon's
# configuration parser knows it
sed 's/^  \] }$/    ,{ "name": "zipone", "api": "uacce_zip_v1", "sva": true, "queues": 2, "workers": 1 }\n  ] }/' \
	"$T/uacced.json" >"$T/workers.json"
if "$IT_DAEMON" --check-config -c "$T/workers.json" >"$T/check.out" 2>&1; then
	cp "$T/workers.json" "$T/uacced.json"; ONE=uacce-zipone-4
else
	ONE=; it_info "the \"workers\" key is refused by this daemon's config parser: not tested ($(tail -1 "$T/check.out"))"
fi
[ "$FE" = cuse ] && modprobe cuse 2>/dev/null
# fe_fuse.c never frees the fuse_args that fuse_session_new() extends (16
# bytes, once): not this suite's business, reported to the frontend's owner
echo "leak:fuse_opt_add_arg" >"$T/lsan.supp"
# (its log is not uacced.*.log: the sanitizer check is a step of its own below)
IT_DLOG=$T/daemon.log
LSAN_OPTIONS=${LSAN_OPTIONS:+$LSAN_OPTIONS:}suppressions=$T/lsan.supp \
	"$IT_DAEMON" -f --frontend "$FE" --runtime-dir "$RT" -c "$T/uacced.json" >"$IT_DLOG" 2>&1 &
IT_DPID=$!
zip_up_or_dead() { [ -f "$RT/devdir" ] || it_daemon_gone; }
it_wait 30000 zip_up_or_dead
if [ ! -f "$RT/devdir" ]; then
	it_bad "daemon start"; it_indent "$IT_DLOG"
	it_summary; exit $?
fi
it_ok "daemon start ($FE frontend, nodes in $(cat "$RT/devdir"))"
attr() { tr '\t\n' ' |' <"$RT/class/$1/$2"; }
it_check "attributes of $SVA" test "$(attr $SVA api)|$(attr $SVA flags)|$(attr $SVA algorithms)|$(attr $SVA qfrs_offset)" = \
	"uacce_zip_v1||1||deflate|zlib|gzip||0 18446744073709551615 4096 20480|"
it_check "attributes of $NONSVA" test "$(attr $NONSVA flags)|$(attr $NONSVA available_instances)" = "0||8|"
workers() { grep -c "^$1-w" /proc/$IT_DPID/task/*/comm 2>/dev/null | awk -F: '{ n += $2 } END { print n }'; }
it_check "one worker per CPU and device by default ($(nproc) CPUs)" test "$(workers zip)" = $(($(nproc) * 2))
if [ -n "$ONE" ]; then
	it_check "\"workers\": 1 makes one worker" test "$(workers zipone)" = 1
	it_check "the one-worker device works" "$PROBE" pipeline $ONE
fi

# --- the protocol ---------------------------------------------------------------
[ "$SMALL" = 1 ] && export ZIP_PROBE_SMALL=1 ZIP_PROBE_SECONDS=4
it_check "attributes of $MLNONSVA (mainline)" test \
	"$(attr $MLNONSVA flags)|$(attr $MLNONSVA region_mmio_size)|$(attr $MLNONSVA region_dus_size)|$(attr $MLNONSVA available_instances)" = \
	"0||4096||$((16384 + 67108864))||8|"
# small (the guest): one device of each profile, one SVA and one not (all four on the host)
PROTO_DEVS="$SVA $NONSVA $MLSVA $MLNONSVA"
[ "$SMALL" = 1 ] && PROTO_DEVS="$SVA $MLNONSVA"
for dev in $PROTO_DEVS; do
	for s in roundtrip pipeline stream members corrupt short invalid badaddr ring nowake fair killed; do
		it_check "protocol $s on $dev" "$PROBE" "$s" "$dev"
	done
done
it_info "$("$PROBE" nowake $SVA 2>&1 | tail -1)"
it_info "$("$PROBE" fair $SVA 2>&1 | tail -1)"

# --- uacce-zip against gzip ------------------------------------------------------
mk_corpus() {	# FILE BYTES: licenses, man pages and a binary, as a package ships them
	{ cat /usr/share/common-licenses/* 2>/dev/null
	  find /usr/share/man/man1 /usr/share/man/man8 -name '*.gz' 2>/dev/null | LC_ALL=C sort |
		head -400 | xargs -r zcat 2>/dev/null
	  cat /usr/bin/gzip; } | head -c "$2" >"$1"
	while [ "$(stat -c %s "$1")" -lt "$2" ]; do cat "$1" "$1" | head -c "$2" >"$1.x"; mv "$1.x" "$1"; done
}
SIZE=$((12 << 20)); [ "$SMALL" = 1 ] && SIZE=$((1 << 20))
mk_corpus "$T/corpus" $SIZE
cd "$T" || exit 1
for dev in $SVA $NONSVA $MLNONSVA; do
	Z=("$ZIP" --device "$dev")
	cp corpus a; chmod 640 a; touch -d '2001-02-03 04:05:06' a
	it_check "$dev: compress a file (input replaced)" "${Z[@]}" a
	it_check "$dev: gzip -t accepts the output" gzip -t a.gz
	it_check "$dev: gzip -d gives the input back" bash -c "gzip -dc a.gz | cmp - corpus"
	it_check "$dev: mode and mtime kept" test "$(stat -c '%a %Y' a.gz)" = "640 $(date -d '2001-02-03 04:05:06' +%s)"
	it_check "$dev: input removed" test ! -e a
	it_check "$dev: decompress it (-d)" "${Z[@]}" -d a.gz
	it_check "$dev: round trip" cmp a corpus
	it_check "$dev: -k -1 keeps the input" bash -c "'${Z[0]}' --device $dev -k -1 a && test -e a && gzip -t a.gz"
	s1=$(stat -c %s a.gz); rm a.gz
	"${Z[@]}" -k -9 a; s9=$(stat -c %s a.gz); rm a.gz
	it_check "$dev: -9 output smaller than -1 ($s9 < $s1)" test "$s9" -lt "$s1"
	it_check "$dev: --stream makes one gzip member" bash -c "'${Z[0]}' --device $dev --stream -c a >s.gz &&
		gzip -t s.gz && gzip -dc s.gz | cmp - corpus && test \$(gzip -l s.gz | awk 'NR==2{print \$2}') = $SIZE"
	it_check "$dev: stdin to stdout" bash -c "cat a | '${Z[0]}' --device $dev | gzip -dc | cmp - corpus"
	it_check "$dev: -b 64K small blocks" bash -c "'${Z[0]}' --device $dev -b 64K -c a | gzip -dc | cmp - corpus"
	gzip -6 -c a >g.gz
	it_check "$dev: reads what gzip wrote" bash -c "'${Z[0]}' --device $dev -dc g.gz | cmp - corpus"
	head -c 100000 corpus | gzip -1 >m.gz; tail -c +100001 corpus | gzip -9 >>m.gz
	it_check "$dev: reads several gzip members" bash -c "'${Z[0]}' --device $dev -dc m.gz | cmp - corpus"
	it_check "$dev: -t on a good file" "${Z[@]}" -t g.gz
	: >empty
	it_check "$dev: empty file round trip" bash -c "'${Z[0]}' --device $dev -k empty && gzip -t empty.gz &&
		test \$(gzip -dc empty.gz | wc -c) = 0 && '${Z[0]}' --device $dev -dc empty.gz | cmp - empty"
	rm -f empty.gz
	# errors, as gzip reports them
	cp g.gz bad.gz; printf '\x55' | dd of=bad.gz bs=1 seek=$(($(stat -c %s g.gz) / 2)) conv=notrunc 2>/dev/null
	expect "$dev: corrupt data: exit 1" 1 "invalid compressed data" "${Z[@]}" -d bad.gz
	it_check "$dev: no output left after the error" test ! -e bad
	head -c $(($(stat -c %s g.gz) - 1000)) g.gz >trunc.gz
	expect "$dev: truncated: exit 1" 1 "unexpected end of file" "${Z[@]}" -d trunc.gz
	cp corpus plain.gz
	expect "$dev: not gzip: exit 1" 1 "not in gzip format" "${Z[@]}" -d plain.gz
	{ cat g.gz; echo "trailing junk"; } >tail.gz
	expect "$dev: trailing garbage: exit 2" 2 "trailing garbage ignored" "${Z[@]}" -dk tail.gz
	it_check "$dev: data before the garbage intact" cmp tail corpus
	{ cat g.gz; head -c 5000 /dev/zero; } >zero.gz
	it_check "$dev: trailing zeros ignored silently, as gzip" bash -c "'${Z[0]}' --device $dev -dc zero.gz 2>&1 >zero.out | cmp - /dev/null && cmp zero.out corpus"
	expect "$dev: existing output: exit 2" 2 "already exists; not overwritten" "${Z[@]}" -dk tail.gz
	expect "$dev: .gz suffix: exit 2" 2 "already has .gz suffix" "${Z[@]}" g.gz
	expect "$dev: missing file: exit 1" 1 "nosuch: No such file or directory" "${Z[@]}" nosuch
	expect "$dev: unknown suffix: exit 2" 2 "unknown suffix -- ignored" "${Z[@]}" -d corpus
	echo old >g
	it_check "$dev: -f overwrites" bash -c "'${Z[0]}' --device $dev -dkf g.gz && cmp g corpus"
	rm -f a a.gz s.gz g g.gz m.gz bad.gz trunc.gz plain.gz tail.gz tail zero.gz zero.out
done
gid=$(getent group uacce | cut -d: -f3)
it_check "an unprivileged user in group uacce compresses through $SVA" \
	bash -c "setpriv --reuid=nobody --regid=nogroup --groups=$gid '$ZIP' --device $SVA -c <corpus | gzip -dc | cmp - corpus"
expect "a user outside the group is refused" 1 "Permission denied" \
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$ZIP" --device $SVA -c corpus

# --- uacce-bench's compression part ---------------------------------------------
head -c $((2 << 20)) corpus >bench-corpus
if "$B/uacce-bench" --zip-only --json --zip-device $SVA --corpus bench-corpus --zip-seconds 0.3 --zip-rounds 1 \
	>bench.json 2>bench.err && python3 - bench.json <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
z = r["zip"]
for lv in ("level6", "level1"):
    for k in ("device_1q", "device_2q", "libdeflate_1t", "libdeflate_2t", "zlib_1t", "zlib_2t"):
        assert z[lv][k]["mbps"] > 0, (lv, k)
    assert z[lv]["isal_1t"]["mbps"] > 0, lv
    assert z[lv]["device_1q"]["ratio"] == z[lv]["device_2q"]["ratio"], lv
for k in ("device_1q", "libdeflate_1t", "isal_1t", "zlib_1t"):
    assert z["decompress"][k]["mbps"] > 0, k
assert z["decompress"]["ratio_device_1q_to_fastest_inprocess_1t"] > 0
assert z["error"] == 0 and r["errors"]["zip"] == 0
EOF
then
	it_ok "uacce-bench --zip-only --json runs and reports every figure"
else
	it_bad "uacce-bench --zip-only --json"; it_indent bench.err | tail -5
fi
python3 - bench.json 2>&1 <<'EOF' | sed 's/^/info: (short, loaded run) /'
import json, sys
z = json.load(open(sys.argv[1]))["zip"]["level6"]
print("level 6: device 1q %.1f MB/s, libdeflate 1t %.1f, zlib 1t %.1f; 1q/best %.2f, 2q/1q %.2f" % (
    z["device_1q"]["mbps"], z["libdeflate_1t"]["mbps"], z["zlib_1t"]["mbps"],
    z["ratio_device_1q_to_best_1t"], z["ratio_device_2q_to_1q"]))
EOF

# --- the daemon afterwards --------------------------------------------------------
it_check "every hardware queue back ($SVA, $NONSVA)" test "$(attr $SVA available_instances)$(attr $NONSVA available_instances)" = "8|8|"
# mainline: PUT_Q keeps the hardware queue, the (asynchronous, on FUSE) release returns it
ml_back() { test "$(attr $MLSVA available_instances)$(attr $MLNONSVA available_instances)" = "8|8|"; }
it_check "every hardware queue back ($MLSVA, $MLNONSVA)" it_wait 3000 ml_back
it_check "the daemon survived everything" kill -0 "$IT_DPID"
it_daemon_kill TERM 10000
it_check "the daemon stops cleanly on SIGTERM" test "$IT_DRC" = 0
if grep -qE "$IT_SANITIZER_RE" "$IT_DLOG"; then
	it_bad "sanitizer reports in the daemon log"; grep -E -A5 "$IT_SANITIZER_RE" "$IT_DLOG" | head -30 | it_indent
else
	it_ok "no sanitizer report in the daemon log"
fi
it_summary
exit $?
