#!/bin/bash
# test/integ/run-tools.sh - what the user-facing tools say and show (issue 15):
#
#   sudo test/integ/run-tools.sh [BUILD_DIR]
#
# Against the real daemon on the FUSE fallback (lib.sh, the host suite's
# configuration), as root and as the test users:
#   - messages: a runtime directory closed to a user (mode 0700) gives that
#     user "permission denied" naming it, from uacce-dummy, uacce-zip and the
#     preload shim, and the daemon warns at start naming the directory and
#     its mode; no daemon (a directory that does not exist, one a daemon left
#     on SIGTERM, one a daemon killed with SIGKILL left) gives "no uacced
#     serves the runtime directory DIR" naming the device
#   - uacce-bench: --version, --help describing every option of its option
#     table, a short run with --plot (the SVG parses and holds every series,
#     the JSON parses), its progress line under a pseudo-terminal (script(1))
#     and none with --json or when stderr is a file
#   - uacce-zip: -v's progress line under a pseudo-terminal on a pipe and on
#     a file (bytes in and out, MB/s, percentage for the file, cleared at the
#     end), none when stderr is a file (the -v summary alone), --compare
#     (table and --json) against gzip and, when installed, pigz and igzip,
#     every output checked to decompress to the input
# No timing is asserted.  Last line "tools-integration: N passed, M failed".
set -u
IT_NAME=${IT_NAME:-tools-integration}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"

it_begin "${1:-}"
it_users_or_fatal
for p in uacce-zip uacce-bench; do
	it_copy_prog "$build" "$p" "$p" || fatal "$p: not built"
done
chmod -R a+rX "$IT_TMP/bin"
ZIP=$IT_TMP/bin/uacce-zip BENCH=$IT_TMP/bin/uacce-bench
it_shim uacce-dummy
want_version=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$here/../../configure.ac")
it_write_config
it_daemon_start || fatal "the daemon does not start: $(tail -n 5 "$IT_DLOG")"
it_ok "daemon up, runtime dir $IT_RT"
T=$IT_TMP
ZIPDEV=$IT_MLZ0
# 24 MiB of text as a package ships it (licenses, man pages), for uacce-zip and the bench
big=$T/big
{ cat /usr/share/common-licenses/*; find /usr/share/man/man1 -name '*.gz' | head -300 | xargs zcat; } 2>/dev/null | head -c $((24 << 20)) >"$big"
while [ "$(stat -c %s "$big")" -lt $((24 << 20)) ]; do cat "$big" "$big" | head -c $((24 << 20)) >"$big.x"; mv "$big.x" "$big"; done
chmod 644 "$big"
# it_daemon_start, then until this daemon wrote uacced.pid: one killed
# with SIGKILL left its devdir, nodes and broker.sock, which look "up"
daemon_restart() {
	it_daemon_start && it_wait 10000 bash -c "[ \"\$(cat '$IT_RT/uacced.pid' 2>/dev/null)\" = $IT_DPID ]"
}

# out_has DESC FILE REGEX: the file (a command's output) matches
out_has() {
	if grep -qE -- "$3" "$2"; then
		it_ok "$1: $(grep -m1 -E -- "$3" "$2" | tr -d '\r' | cut -c1-200)"
	else
		it_bad "$1: no /$3/ in"; it_indent "$2" | tail -n 8
	fi
}
# runs USER OUT COMMAND...: run it as USER (timeout 120 s), stdout+stderr to OUT; its status
runs() {
	local user=$1 out=$2
	shift 2
	it_as "$user" timeout -k 5 $((120 * IT_TS)) "$@" >"$out" 2>&1
}

# --- messages: a runtime directory closed to the users ---------------------------------
if ! it_skip closed-rundir; then
	it_daemon_kill TERM 10000
	chmod 0700 "$IT_RT"
	if it_daemon_start; then
		out_has "the daemon warns that a 0700 runtime dir is closed to the nodes' users" "$IT_DLOG" \
			"$IT_RT: mode 0700.*clients other than root cannot reach the runtime directory $IT_RT"
		runs "$IT_USER1" "$T/m1" "$IT_DUMMY" -d "$IT_DEV1" -n 10
		rc=$?
		[ $rc != 0 ] && [ $rc != 124 ] && it_ok "uacce-dummy as $IT_USER1 fails (exit $rc)" ||
			it_bad "uacce-dummy as $IT_USER1 against a 0700 runtime dir: exit $rc"
		out_has "uacce-dummy as $IT_USER1 is told permission denied, naming the directory and device" \
			"$T/m1" "$IT_DEV1: Permission denied: uacced's runtime directory $IT_RT \(mode 0700"
		it_check "... and not \"no such device\"" bash -c "! grep -qi 'no such device' '$T/m1'"
		runs "$IT_USER1" "$T/m2" "$IT_DUMMY" -n 10
		out_has "uacce-dummy (any device) as $IT_USER1: permission denied" "$T/m2" \
			"Permission denied: uacced's runtime directory $IT_RT"
		head -c 100000 /etc/services >"$T/small"; chmod 644 "$T/small"
		runs "$IT_USER1" "$T/m3" "$ZIP" -c "$T/small"
		out_has "uacce-zip as $IT_USER1: permission denied naming the directory" "$T/m3" \
			"^uacce-zip: .*Permission denied: uacced's runtime directory $IT_RT"
		runs "$IT_USER1" "$T/m4" "${RUN[@]}" ls /sys/class/uacce
		out_has "the preload shim as $IT_USER1: permission denied naming the directory" "$T/m4" \
			"^uacce-run: Permission denied: $IT_RT/class: the runtime directory $IT_RT is closed"
		it_cmd "root still reaches the 0700 runtime dir" 120 root "$IT_DUMMY" -d "$IT_DEV1" -n 10
		it_daemon_kill TERM 10000
	else
		it_bad "the daemon does not start on a 0700 runtime dir: $(tail -n 3 "$IT_DLOG")"
	fi
	chmod 0755 "$IT_RT"
	# a deeper directory closed: the message names it, not the runtime dir
	mkdir -p "$T/deep" && chmod 0700 "$T/deep"
	UACCE_RUNTIME_DIR=$T/deep/run runs "$IT_USER1" "$T/m5" "$IT_DUMMY" -n 10
	out_has "a closed parent directory is named" "$T/m5" \
		"Permission denied: $T/deep \(mode 0700.*on the way to uacced's runtime directory $T/deep/run"
	it_daemon_start || fatal "the daemon does not start again: $(tail -n 5 "$IT_DLOG")"
	if grep -q "clients other than root cannot reach" "$IT_DLOG"; then
		it_bad "the daemon warns with a 0755 runtime dir: $(grep 'cannot reach' "$IT_DLOG")"
	else
		it_ok "no warning when the users can reach the runtime dir"
	fi
	it_dummy "$IT_USER1" "$IT_DEV1" 100
	runs "$IT_USER2" "$T/m6" "$IT_DUMMY" -d "$IT_DEV1" -n 10
	out_has "a user outside the nodes' group: Permission denied naming the node and its mode" "$T/m6" \
		"^uacce-dummy: no queue: $IT_DEV1: Permission denied: $IT_NODE_DIR/$IT_DEV1 \(mode 0660, owner 0, group $IT_GID\) is closed to uid $IT_U2"
fi

# --- messages: no daemon ---------------------------------------------------------------
if ! it_skip no-daemon; then
	UACCE_RUNTIME_DIR=$T/nonexistent runs root "$T/n1" "$IT_DUMMY" -d "$IT_DEV1" -n 10
	out_has "uacce-dummy, runtime dir missing: no uacced serves it (device named)" "$T/n1" \
		"^uacce-dummy: no queue: $IT_DEV1: no uacced serves the runtime directory $T/nonexistent"
	UACCE_RUNTIME_DIR=$T/nonexistent runs root "$T/n2" "$ZIP" -c "$T/small"
	out_has "uacce-zip, runtime dir missing: no uacced serves it" "$T/n2" \
		"^uacce-zip: .*no uacced serves the runtime directory $T/nonexistent"
	UACCE_RUNTIME_DIR=$T/nonexistent runs root "$T/n3" "$BENCH" --no-zip -n 100 -s 0.1
	out_has "uacce-bench, runtime dir missing: no uacced serves it" "$T/n3" \
		"^uacce-bench: uacce-dummy-0: no uacced serves the runtime directory $T/nonexistent"
	it_daemon_kill TERM 10000
	runs "$IT_USER1" "$T/n4" "$IT_DUMMY" -n 10
	out_has "after SIGTERM: no uacced serves $IT_RT" "$T/n4" \
		"^uacce-dummy: no queue: memcpy device: no uacced serves the runtime directory $IT_RT \("
	it_check "... and not only \"No such device\"" bash -c "! grep -q 'No such device' '$T/n4'"
	it_daemon_start || fatal "the daemon does not start again: $(tail -n 5 "$IT_DLOG")"
	it_daemon_kill KILL 10000
	it_check "SIGKILL left devdir behind (the case under test)" test -s "$IT_RT/devdir"
	runs root "$T/n5" "$IT_DUMMY" -d "$IT_DEV0" -n 10
	out_has "after SIGKILL: no uacced serves $IT_RT (nobody listens on broker.sock)" "$T/n5" \
		"no uacced serves the runtime directory $IT_RT"
	runs root "$T/n6" "$ZIP" --device "$ZIPDEV" -c "$T/small"
	out_has "uacce-zip after SIGKILL: no uacced serves $IT_RT" "$T/n6" \
		"^uacce-zip: $ZIPDEV: no uacced serves the runtime directory $IT_RT"
	daemon_restart || fatal "the daemon does not start after SIGKILL: $(tail -n 5 "$IT_DLOG")"
	it_dummy root "$IT_DEV0" 100
fi

# --- uacce-bench: version, help, plot, progress ---------------------------------------
if ! it_skip bench; then
	got=$("$BENCH" --version 2>&1 | head -n 1)
	[ "$got" = "uacce-bench (uacced) $want_version" ] && it_ok "uacce-bench --version: $got" ||
		it_bad "uacce-bench --version: \"$got\", expected version $want_version"
	"$BENCH" --help >"$T/help" 2>&1 || it_bad "uacce-bench --help: exit $?"
	# every long option of the table, then words that say what it does
	missing=$(python3 - "$here/../../tools/uacce-bench.c" "$T/help" <<'EOF'
import re, sys
src, help = open(sys.argv[1]).read(), open(sys.argv[2]).read().splitlines()
opts = re.findall(r'\{ "([a-z-]+)", [a-z_]+_argument', src)
bad = []
for o in opts:
    i = next((k for k, l in enumerate(help) if re.match(r"\s*(-\w, )?--%s\b(?!-)" % o, l)), None)
    if i is None:
        bad.append(o)
        continue
    rest = re.split(r"--%s(?: [A-Z.]+)?" % o, help[i], maxsplit=1)[1].strip()
    if not rest and i + 1 < len(help):
        rest = help[i + 1].strip()
    if len(re.findall(r"[a-z]{2,}", rest)) < 2:
        bad.append(o)
print(" ".join(bad), end="")
EOF
)
	[ -z "$missing" ] && it_ok "uacce-bench --help describes every option of its table" ||
		it_bad "uacce-bench --help does not describe: $missing"
	head -c $((2 << 20)) "$big" >"$T/bcorpus"
	B=("$BENCH" --quick -n 300 -s 0.3 --zip-device "$ZIPDEV" --zip-seconds 0.05 --zip-rounds 1
		--corpus "$T/bcorpus")
	if runs root "$T/b.json" "${B[@]}" --json --plot "$T/b.svg" && python3 - "$T/b.json" "$T/b.svg" <<'EOF' >"$T/b.check" 2>&1
import json, sys, xml.etree.ElementTree as E
json.load(open(sys.argv[1]))
svg = E.parse(sys.argv[2]).getroot()
ns = "{http://www.w3.org/2000/svg}"
assert svg.tag == ns + "svg", svg.tag
lines = {p.get("id"): p.get("points") for p in svg.iter(ns + "polyline")}
for i in ("throughput-device-level6", "throughput-device-level1",
          "throughput-libdeflate-level6", "throughput-zlib-level1"):
    pts = lines[i + "-line"].split()
    assert len(pts) == 2, (i, pts)          # 1 and 2 queues (threads)
for i in ("latency-memcpy", "latency-socket", "latency-dummy-nonsva", "latency-dummy-sva",
          "latency-dummy-sva-empty"):
    pts = lines[i + "-line"].split()
    assert len(pts) == 101, (i, len(pts))   # 0..100 %
    ys = [float(p.split(",")[1]) for p in pts]
    assert ys == sorted(ys, reverse=True), i  # a CDF climbs
print("series:", " ".join(sorted(lines)))
EOF
	then
		it_ok "uacce-bench --quick --json --plot: the JSON and the SVG parse, every series drawn"
		it_indent "$T/b.check"
	else
		it_bad "uacce-bench --plot"; it_indent "$T/b.json" | tail -n 5; it_indent "$T/b.check" | tail -n 8
	fi
	Q=("$BENCH" --no-zip -n 200 -s 0.2)
	script -qfec "${Q[*]}" /dev/null >"$T/p1" 2>&1
	out_has "uacce-bench on a terminal: a progress line" "$T/p1" '\[1/8\] 4 KiB memcpy in process'
	out_has "... it reaches the last step" "$T/p1" '\[8/8\] queue lifecycles on uacce-dummy-1'
	out_has "... and is cleared before the table" "$T/p1" $'\r\033\\[K(uacce-bench: 4 KiB|$)'
	script -qfec "${Q[*]} --json" /dev/null >"$T/p2" 2>&1
	if grep -q '\[1/' "$T/p2"; then it_bad "--json on a terminal shows progress"; else it_ok "--json on a terminal: no progress"; fi
	script -qfec "${Q[*]} --json --progress" /dev/null >"$T/p3" 2>&1
	out_has "--json --progress on a terminal: progress" "$T/p3" '\[1/8\]'
	"${Q[@]}" >"$T/p4.out" 2>"$T/p4.err"
	if [ -s "$T/p4.err" ]; then it_bad "stderr a file: stderr not empty: $(head -c 200 "$T/p4.err")"; else it_ok "stderr not a terminal: nothing on it"; fi
fi

# --- uacce-zip: progress and --compare -------------------------------------------------
if ! it_skip zip; then
	# a pipe that trickles: the line shows up whatever the machine's speed
	script -qfec "bash -c 'for i in 1 2 3 4 5 6; do head -c 1048576 $big; sleep 0.2; done | $ZIP -v --device $ZIPDEV -c >$T/pipe.gz'" /dev/null >"$T/z1" 2>&1
	out_has "uacce-zip -v on a pipe, a terminal: bytes in and out, MB/s" "$T/z1" \
		$'\r''stdin +[0-9.]+ MB in +[0-9.]+ MB out +[0-9.]+ MB/s'
	out_has "... cleared at the end, then the summary" "$T/z1" $'\r\033\\[Kstdin:'
	it_check "... the output is right" bash -c "gzip -dc '$T/pipe.gz' | cmp - <(for i in 1 2 3 4 5 6; do head -c 1048576 '$big'; done)"
	script -qfec "bash -c '$ZIP -v -k --device $ZIPDEV -c $big > $T/big.gz'" /dev/null >"$T/z2" 2>&1
	if grep -q 'MB out' "$T/z2"; then
		out_has "uacce-zip -v on a file: a percentage" "$T/z2" '\] +[0-9]+% +[0-9.]+ MB in +[0-9.]+ MB out'
	else
		it_info "the 24 MiB file took under 0.25 s: no progress line to check ($(tr -d '\r' <"$T/z2" | tail -n 1))"
	fi
	script -qfec "bash -c '$ZIP --device $ZIPDEV -c $big > $T/big.gz'" /dev/null >"$T/z3" 2>&1
	if [ -s "$T/z3" ]; then it_bad "without -v a terminal gets: $(head -c 200 "$T/z3")"; else it_ok "without -v: nothing on the terminal"; fi
	"$ZIP" -v --device "$ZIPDEV" -c "$big" >"$T/big.gz" 2>"$T/z4"
	if [ "$(wc -l <"$T/z4")" = 1 ] && ! grep -q $'\r' "$T/z4" && grep -q "^$big:" "$T/z4"; then
		it_ok "-v with stderr a file: the summary alone: $(cat "$T/z4")"
	else
		it_bad "-v with stderr a file:"; it_indent "$T/z4"
	fi
	if runs root "$T/c1" "$ZIP" --device "$ZIPDEV" --compare -1 "$big"; then
		it_ok "uacce-zip --compare -1 succeeds"; it_indent "$T/c1"
	else
		it_bad "uacce-zip --compare -1: exit $?"; it_indent "$T/c1"
	fi
	out_has "--compare: the device's row, checked" "$T/c1" "^uacce-zip +1 +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +ok"
	out_has "--compare: gzip's row, checked" "$T/c1" "^gzip +1 +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9.]+% +[0-9.]+x +ok"
	for t in pigz igzip; do
		if command -v $t >/dev/null; then
			out_has "--compare: $t's row, checked" "$T/c1" "^$t +1 +[0-9.]+ .* ok"
		else
			out_has "--compare: $t not installed, said" "$T/c1" "^$t +1 not installed"
		fi
	done
	if runs root "$T/c2.json" "$ZIP" --device "$ZIPDEV" --compare --json -6 "$big" && python3 - "$T/c2.json" "$big" <<'EOF' >"$T/c2.check" 2>&1
import json, os, shutil, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[0])
assert r["bytes"] == os.path.getsize(sys.argv[2])
rows = {x["tool"]: x for x in r["results"]}
assert rows["uacce-zip"]["verified"] and rows["uacce-zip"]["level"] == 6
assert rows["gzip"]["verified"] and rows["gzip"]["device_speedup"] > 0
for t in ("pigz", "igzip"):
    assert rows[t]["installed"] == bool(shutil.which(t)), t
    assert not rows[t]["installed"] or rows[t]["verified"], t
assert rows["igzip"]["level"] == 3
print(" ".join("%s %.1f MB/s" % (t, x["mbps"]) for t, x in rows.items() if x.get("ran")))
EOF
	then
		it_ok "uacce-zip --compare --json -6: parses, every output verified (igzip at its level 3)"
		it_indent "$T/c2.check" | sed 's/^/info: (loaded machine) /'
	else
		it_bad "uacce-zip --compare --json"; it_indent "$T/c2.json" | tail -n 3; it_indent "$T/c2.check" | tail -n 5
	fi
	# a tool whose output does not give the input back is caught
	mkdir -p "$T/fake"
	printf '#!/bin/sh\nexec gzip -c "$@" <%s\n' /etc/hostname >"$T/fake/pigz"; chmod 755 "$T/fake/pigz"
	PATH=$T/fake:$PATH runs root "$T/c3" "$ZIP" --device "$ZIPDEV" --compare "$T/small"
	rc=$?
	[ $rc = 1 ] && grep -qE '^pigz .*FAILED: gzip -dc of its output differs' "$T/c3" &&
		it_ok "--compare: a wrong output is caught (exit 1, FAILED)" ||
		{ it_bad "--compare with a pigz that lies: exit $rc"; it_indent "$T/c3"; }
	expect_fail=$("$ZIP" --compare 2>&1); rc=$?
	[ $rc = 1 ] && it_ok "--compare without a FILE: exit 1 ($expect_fail)" || it_bad "--compare without FILE: exit $rc"
fi

it_summary
exit $?
