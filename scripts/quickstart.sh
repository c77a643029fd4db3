#!/bin/sh
# uacced quick start: on a fresh Debian 12 machine, as root.
# Installs the build dependencies, builds, starts the daemon with its
# embedded default devices, copies buffers through both dummy accelerators
# (as root and as an unprivileged user in the "uacce" group), compresses a
# real multi-megabyte file through the zip accelerator (checked with gzip,
# timed next to gzip, pigz and igzip run on the same file), prints what
# happened and stops the daemon.  The group "uacce" (the default nodes' group)
# is removed at the end if this script created it (UACCE_KEEP_TEST_USERS=1
# keeps it).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${UACCE_BUILD:-$top/build}
rt=${UACCE_RUNTIME_DIR:-/run/uacce-quickstart}
count=${UACCE_QUICKSTART_COUNT:-10000}

[ "$(id -u)" = 0 ] || { echo "quickstart: run me as root" >&2; exit 1; }
echo "== dependencies"
"$top/scripts/deps.sh" build
echo "== build ($build)"
"$top/scripts/build.sh" "$build"
new_group=0
getent group uacce >/dev/null || { groupadd --system uacce && new_group=1; }
export UACCE_RUNTIME_DIR="$rt"

echo "== start uacced (embedded default configuration, runtime dir $rt)"
log=$(mktemp)
# -c names a file that does not exist on purpose only if the admin has none:
# uacced falls back to its embedded default when /etc/uacce/uacced.json is absent.
cfg_args=""
[ -f /etc/uacce/uacced.json ] && { echo "(note: /etc/uacce/uacced.json exists and is used)"; }
"$build/uacced" -f --runtime-dir "$rt" $cfg_args 2>"$log" &
dpid=$!
work=""
drop_group() {
	[ $new_group = 1 ] && [ "${UACCE_KEEP_TEST_USERS:-0}" != 1 ] && groupdel uacce && new_group=0
	return 0
}
cleanup() {
	kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null || true
	rm -f "$log"
	[ -n "$work" ] && rm -rf "$work"
	drop_group
}
trap cleanup EXIT INT TERM
i=0
until [ -f "$rt/devdir" ] || [ $i -ge 100 ]; do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
[ -f "$rt/devdir" ] || { echo "quickstart: the daemon did not start:"; cat "$log"; exit 1; }
cat "$log"
devdir=$(cat "$rt/devdir")
echo
ls -l "$devdir"/uacce-*
# qfrs_offset: the offset of each region type in a queue's mapping, in the
# order of include/uacce/uacce.h (MMIO, DKO, DUS, SS); NA: the device has none
regions() {
	awk '{ split("mmio dko dus ss", n, " ")
	       for (i = 1; i <= 4; i++) {
	           v = (i <= NF && $i != "18446744073709551615" && $i != "-1") ? $i : "NA"
	           printf "%s%s=%s", (i > 1 ? " " : ""), n[i], v
	       } }' "$1"
}
for d in "$rt"/class/uacce-*; do
	printf '%s: api=%s flags=%s available_instances=%s regions: %s\n' "${d##*/}" \
		"$(cat "$d/api")" "$(cat "$d/flags")" "$(cat "$d/available_instances")" \
		"$(regions "$d/qfrs_offset")"
done

echo
echo "== workload: $count x 4 KiB memcpy requests per device, every byte verified"
rc=0
"$build/uacce-dummy" -d uacce-dummy-1 -n "$count" || rc=1
"$build/uacce-dummy" -d uacce-dummy-0 -n "$count" || rc=1
echo "-- the same as user nobody in group uacce (an unprivileged process)"
setpriv --reuid=nobody --regid=nogroup --groups="$(getent group uacce | cut -d: -f3)" \
	"$build/uacce-dummy" -d uacce-dummy-1 -n "$count" || rc=1
setpriv --reuid=nobody --regid=nogroup --groups="$(getent group uacce | cut -d: -f3)" \
	"$build/uacce-dummy" -d uacce-dummy-0 -n "$count" || rc=1
echo "-- user nobody without the group is refused:"
if setpriv --reuid=nobody --regid=nogroup --clear-groups "$build/uacce-dummy" -d uacce-dummy-1 -n 1 2>&1; then
	echo "quickstart: an outsider could open the device"; rc=1
fi

echo
size=${UACCE_QUICKSTART_ZIP_MB:-32}
echo "== compression: $size MB through uacce-zip-2, checked by gzip, timed next to gzip, pigz and igzip"
work=$(mktemp -d)
chmod 755 "$work"
# what Debian packages ship: the licenses and the man pages, uncompressed
{ cat /usr/share/common-licenses/* 2>/dev/null
  find /usr/share/man -name '*.gz' 2>/dev/null | LC_ALL=C sort | xargs -r zcat 2>/dev/null; } |
	head -c $((size << 20)) >"$work/corpus"
bytes=$(stat -c %s "$work/corpus")
ns() { date +%s%N; }
# run NAME OUT COMMAND...: one process reads the corpus (or OUT's input) and
# writes OUT; its wall time (start-up included, the same for every tool) is
# appended to $work/times as "NAME NS OUT"
run() {
	local name=$1 out=$2 t0 t1
	shift 2
	t0=$(ns)
	"$@" >"$out" || { echo "quickstart: $name failed"; rc=1; }
	t1=$(ns)
	echo "$name $((t1 - t0)) $out" >>"$work/times"
}
threads=$(nproc)
: >"$work/times"
run "uacce-zip -6" "$work/dev6.gz" "$build/uacce-zip" -6 -c "$work/corpus"
run "uacce-zip -1" "$work/dev1.gz" "$build/uacce-zip" -1 -c "$work/corpus"
run "gzip -6" "$work/gzip6.gz" gzip -6 -c "$work/corpus"
run "gzip -1" "$work/gzip1.gz" gzip -1 -c "$work/corpus"
have_pigz=0 have_igzip=0
command -v pigz >/dev/null && have_pigz=1
command -v igzip >/dev/null && have_igzip=1
[ $have_pigz = 1 ] && run "pigz -6 ($threads threads)" "$work/pigz6.gz" pigz -6 -p "$threads" -c "$work/corpus"
[ $have_igzip = 1 ] && run "igzip -1" "$work/igzip1.gz" igzip -1 -c "$work/corpus"
[ $have_pigz = 1 ] && [ $have_igzip = 1 ] ||
	echo "(pigz or igzip missing: scripts/deps.sh build installs them)"
if gzip -t "$work/dev6.gz" "$work/dev1.gz" &&
   "$build/uacce-zip" -dc "$work/dev6.gz" | cmp -s - "$work/corpus" &&
   gzip -dc "$work/dev6.gz" | cmp -s - "$work/corpus" && gzip -dc "$work/dev1.gz" | cmp -s - "$work/corpus"; then
	echo "gzip -t: OK; round trips through the device and through gzip -d: identical"
else
	echo "quickstart: the compressed file does not check out"; rc=1
fi
# decompression of the device's level-6 file, every output compared with the corpus
: >"$work/dtimes"
drun() {
	local name=$1
	shift
	run "$name" "$work/plain" "$@"
	cmp -s "$work/plain" "$work/corpus" || { echo "quickstart: $name: wrong output"; rc=1; }
	tail -n 1 "$work/times" >>"$work/dtimes"
	sed -i '$d' "$work/times"
}
drun "uacce-zip -d" "$build/uacce-zip" -dc "$work/dev6.gz"
drun "gzip -d" gzip -dc "$work/dev6.gz"
[ $have_pigz = 1 ] && drun "pigz -d" pigz -dc "$work/dev6.gz"
[ $have_igzip = 1 ] && drun "igzip -d" igzip -dc "$work/dev6.gz"
# the tables: MB/s = 10^6 bytes of the corpus a second; "uacce-zip vs it": the
# device's speed at the same level (uacce-zip -1 for level 1, -6 otherwise) over the tool's
while read -r line; do
	out=${line##* }; echo "$line $(stat -c %s "$out")"
done <"$work/times" | awk -v b="$bytes" '
	{ n = NF; sz = $n; t = $(n - 2) / 1e9; name = $1; for (i = 2; i <= n - 3; i++) name = name " " $i
	  row[NR] = name; sec[NR] = t; size[NR] = sz; if (name == "uacce-zip -6") d6 = t; if (name == "uacce-zip -1") d1 = t }
	END { printf "%-22s %8s %9s %12s %7s %16s\n", "compress " b " bytes", "seconds", "MB/s", "bytes out", "ratio", "uacce-zip vs it"
	      for (i = 1; i <= NR; i++) {
	          d = (row[i] ~ /-1/) ? d1 : d6
	          printf "%-22s %8.3f %9.1f %12d %6.1f%% %15.2fx\n", row[i], sec[i], b / 1e6 / sec[i], size[i],
	                 100 * size[i] / b, sec[i] / d } }'
awk -v b="$bytes" '
	{ t = $(NF - 1) / 1e9; name = $1; for (i = 2; i <= NF - 2; i++) name = name " " $i
	  row[NR] = name; sec[NR] = t; if (NR == 1) d = t }
	END { printf "%-22s %8s %9s %16s\n", "decompress (its -6)", "seconds", "MB/s", "uacce-zip vs it"
	      for (i = 1; i <= NR; i++)
	          printf "%-22s %8.3f %9.1f %15.2fx\n", row[i], sec[i], b / 1e6 / sec[i], sec[i] / d }' "$work/dtimes"
echo "-- the same as user nobody in group uacce, through a pipe:"
if setpriv --reuid=nobody --regid=nogroup --groups="$(getent group uacce | cut -d: -f3)" \
	"$build/uacce-zip" -c <"$work/corpus" | gzip -dc | cmp -s - "$work/corpus"; then
	echo "OK"
else
	echo "quickstart: unprivileged compression failed"; rc=1
fi
rm -rf "$work"
work=""

echo
echo "== stop uacced"
kill "$dpid"
wait "$dpid" || true
trap - EXIT INT TERM
tail -n 2 "$log"
rm -f "$log"
drop_group
[ ! -e "$rt/devdir" ] && [ ! -e "$devdir/uacce-dummy-0" ] && [ ! -e "$devdir/uacce-zip-2" ] &&
	echo "runtime files and device nodes removed"
[ $rc = 0 ] && echo "quickstart: OK" || echo "quickstart: FAILED"
exit $rc
