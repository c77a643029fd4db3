#!/bin/bash
# test/vm/bench-lifecycle.sh BIN_DIR [THREADS...] - run in the guest (CUSE):
# start uacced on CUSE with the three dummy devices, as run-cuse.sh does,
# then `uacce-bench --lifecycle-only --json` once per thread count (default
# 1 and 2): queue lifecycles per second next to a plain open + close of a
# CUSE device that does nothing, served by the bench itself.
# BIN_DIR holds uacced, uacce-bench and libuacce.so.0 (a build's binaries
# copied out: the build may change meanwhile).  Runtime dir on /run (tmpfs).
# Prints one "lifecycle-guest: {json}" line per count; exit 0 when every
# run succeeded.
set -u
bin=$(cd "${1:?usage: bench-lifecycle.sh BIN_DIR [THREADS...]}" && pwd) || exit 2
shift
[ $# -gt 0 ] || set -- 1 2
modprobe cuse 2>/dev/null
[ -e /dev/cuse ] || { echo "lifecycle-guest: no /dev/cuse"; exit 1; }
rt=/run/uacce-bench-lifecycle
mkdir -p "$rt"
cat >"$rt/cfg.json" <<'EOF'
{"nodes":{"mode":"0666"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":16},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":16},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":false,"queues":16}]}
EOF
"$bin/uacced" -f --frontend cuse --runtime-dir "$rt" -c "$rt/cfg.json" </dev/null \
	>"$rt/uacced.log" 2>&1 &
dpid=$!
for _ in $(seq 300); do
	[ -S "$rt/broker.sock" ] && [ -e /dev/uacce-dummy-1 ] && break
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if ! [ -e /dev/uacce-dummy-1 ]; then
	echo "lifecycle-guest: the daemon did not publish its nodes"
	tail -20 "$rt/uacced.log"
	kill "$dpid" 2>/dev/null
	exit 1
fi
rc=0
for t in "$@"; do
	out=$(UACCE_RUNTIME_DIR=$rt LD_LIBRARY_PATH=$bin "$bin/uacce-bench" --lifecycle-only \
		--lifecycle-threads "$t" --lifecycle-seconds 3 --json 2>&1) || rc=1
	echo "lifecycle-guest: $out"
done
kill -TERM "$dpid"
wait "$dpid" || rc=1
exit "$rc"
