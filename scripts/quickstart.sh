#!/bin/sh
# uacced quick start: on a fresh Debian 12 machine, as root.
# Installs the build dependencies, builds, starts the daemon with its
# embedded default devices, copies buffers through both dummy accelerators
# (as root and as an unprivileged user in the "uacce" group), prints what
# happened and stops the daemon.
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
echo "== stop uacced"
kill "$dpid"
wait "$dpid" || true
trap - EXIT INT TERM
sed 's/^<[0-9]>//' "$log" | tail -n 2
rm -f "$log"
[ ! -e "$rt/devdir" ] && [ ! -e "$devdir/uacce-dummy-0" ] && echo "runtime files and device nodes removed"
[ $rc = 0 ] && echo "quickstart: OK" || echo "quickstart: FAILED"
exit $rc
