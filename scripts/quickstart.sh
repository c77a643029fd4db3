#!/bin/sh
# uacced quick start: on a fresh Debian 12 machine, as root.
# Installs the build dependencies, builds, starts the daemon with its
# embedded default devices, copies buffers through both dummy accelerators
# (as root and as an unprivileged user in the "uacce" group), compresses a
# real multi-megabyte file through the zip accelerator (checked with gzip,
# timed against gzip in-process), prints what happened and stops the daemon.
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
getent group uacce >/dev/null || groupadd --system uacce
export UACCE_RUNTIME_DIR="$rt"

echo "== start uacced (embedded default configuration, runtime dir $rt)"
log=$(mktemp)
# -c names a file that does not exist on purpose only if the admin has none:
# uacced falls back to its embedded default when /etc/uacce/uacced.json is absent.
cfg_args=""
[ -f /etc/uacce/uacced.json ] && { echo "(note: /etc/uacce/uacced.json exists and is used)"; }
"$build/uacced" -f --runtime-dir "$rt" $cfg_args 2>"$log" &
dpid=$!
cleanup() {
	kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT INT TERM
i=0
until [ -f "$rt/devdir" ] || [ $i -ge 100 ]; do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1; i=$((i + 1))
done
[ -f "$rt/devdir" ] || { echo "quickstart: the daemon did not start:"; cat "$log"; exit 1; }
sed 's/^<[0-9]>//' "$log"
devdir=$(cat "$rt/devdir")
echo
ls -l "$devdir"/uacce-* 
for d in "$rt"/class/uacce-*; do
	printf '%s: api=%s flags=%s available_instances=%s qfrs_offset=%s\n' "${d##*/}" \
		"$(cat "$d/api")" "$(cat "$d/flags")" "$(cat "$d/available_instances")" \
		"$(tr '\t' ' ' < "$d/qfrs_offset")"
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
echo "== compression: a real file through uacce-zip-2, checked by gzip, timed against gzip"
work=$(mktemp -d)
chmod 755 "$work"
size=${UACCE_QUICKSTART_ZIP_MB:-32}
# what Debian packages ship: the licenses and the man pages, uncompressed
{ cat /usr/share/common-licenses/* 2>/dev/null
  find /usr/share/man -name '*.gz' 2>/dev/null | LC_ALL=C sort | xargs -r zcat 2>/dev/null; } |
	head -c $((size << 20)) >"$work/corpus"
bytes=$(stat -c %s "$work/corpus")
ms() { echo $(($(date +%s%N) / 1000000)); }
rate() { awk -v b="$1" -v ms="$2" 'BEGIN { printf "%.1f MB/s", b / 1e3 / (ms > 0 ? ms : 1) }'; }
t0=$(ms)
"$build/uacce-zip" -v -k "$work/corpus" || rc=1
t_dev=$(($(ms) - t0))
t0=$(ms)
gzip -6 -c "$work/corpus" >"$work/gzip.gz"
t_gz=$(($(ms) - t0))
if gzip -t "$work/corpus.gz" && "$build/uacce-zip" -dc "$work/corpus.gz" | cmp -s - "$work/corpus" &&
   gzip -dc "$work/corpus.gz" | cmp -s - "$work/corpus"; then
	echo "gzip -t: OK; round trips through the device and through gzip -d: identical"
else
	echo "quickstart: the compressed file does not check out"; rc=1
fi
printf '%s bytes: uacce-zip-2 %s (%s bytes), gzip -6 in-process %s (%s bytes)\n' "$bytes" \
	"$(rate "$bytes" "$t_dev")" "$(stat -c %s "$work/corpus.gz")" "$(rate "$bytes" "$t_gz")" \
	"$(stat -c %s "$work/gzip.gz")"
echo "-- the same as user nobody in group uacce, through a pipe:"
if setpriv --reuid=nobody --regid=nogroup --groups="$(getent group uacce | cut -d: -f3)" \
	"$build/uacce-zip" -c <"$work/corpus" | gzip -dc | cmp -s - "$work/corpus"; then
	echo "OK"
else
	echo "quickstart: unprivileged compression failed"; rc=1
fi
rm -rf "$work"

echo
echo "== stop uacced"
kill "$dpid"
wait "$dpid" || true
trap - EXIT INT TERM
sed 's/^<[0-9]>//' "$log" | tail -n 2
rm -f "$log"
[ ! -e "$rt/devdir" ] && [ ! -e "$devdir/uacce-dummy-0" ] && [ ! -e "$devdir/uacce-zip-2" ] &&
	echo "runtime files and device nodes removed"
[ $rc = 0 ] && echo "quickstart: OK" || echo "quickstart: FAILED"
exit $rc
