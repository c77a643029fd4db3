#!/bin/bash
# test/integ/run-hisi.sh - the HiSilicon-QM-compatible zip device (issue 13)
# checked by kabi-hisi, a client of the hisi_qm_v2 protocol written as UADK
# drives the queue (no libuacce: /sys/class/uacce, open /dev/hisi_zip-<id>,
# SET_QP_CTX/SET_QP_INFO/START_Q, mmap of DUS and MMIO, SQEs, CQE phase,
# doorbells), run unmodified under uacce-run (the preload shim) as the
# unprivileged user uacce-t1 against the real daemon.
#
#   sudo test/integ/run-hisi.sh [BUILD_DIR]
#
# Host: FUSE fallback (nodes under <runtime dir>/dev, which the shim shows
# as /dev/<name>).  Guest: UACCE_FRONTEND=cuse (run-guest.sh sets it).
# Steps: attributes and ioctls; block mode (deflate, zlib, gzip, both
# directions, byte-exact against zlib); stream mode (128 KiB chunks, two
# streams interleaved on one queue); the status codes 0x0e and 0x10; SGL
# buffers; the shared doorbell word (a submitting and a polling thread,
# UACCE_HISI_ASYNC requests, default 5000: none lost); lost doorbells one
# at a time (the slot-only signal covers no more than it should); poll(2); a queue
# per thread; fork; no queue left taken; a clean daemon exit with a client
# holding a queue, which sees the RX/TX-stop words set.  The last
# line is "hisi: N passed, M failed" and the exit status is M.
set -u
IT_NAME=${IT_NAME:-hisi}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"

it_begin "${1:-}"

it_copy_prog "$build/test/clients" kabi-hisi kabi-hisi || fatal "kabi-hisi not built"
it_shim kabi-hisi

it_users_or_fatal
# ids are the entries' indices: dummy-0 (another mainline device in the
# class directory, which kabi-hisi must pass over), hisi_zip-1
QUEUES=16
DEV=hisi_zip-1
cat >"$IT_CFG" <<EOC
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[
  {"name":"dummy","abi":"mainline","backend":"soft","api":"dummy_v2","sva":true,"queues":4},
  {"name":"hisi_zip","abi":"mainline","backend":"soft","api":"hisi_qm_v2","sva":true,"queues":$QUEUES}]}
EOC
# shellcheck disable=SC2317 # called through it_wait
up() { [ -e "$IT_NODE_DIR/$DEV" ] && [ -e "$IT_RT/class/$DEV" ]; }
# lib.sh waits for its own default nodes: start the daemon here
IT_DN=1
IT_DLOG=$IT_TMP/uacced.1.log
args=(-f --frontend "$IT_FRONTEND" --runtime-dir "$IT_RT" -c "$IT_CFG")
[ "$IT_FRONTEND" = fuse ] && args+=(--fuse-dir "$IT_NODE_DIR")
"$IT_DAEMON" "${args[@]}" </dev/null >"$IT_DLOG" 2>&1 &
IT_DPID=$!
if it_wait 10000 up && it_daemon_alive; then
	it_ok "daemon started (--frontend $IT_FRONTEND, pid $IT_DPID): $DEV published"
else
	it_indent "$IT_DLOG" | tail -n 20
	fatal "daemon did not publish $DEV within 10 s"
fi

# hisi DESC ARGS...: the client under uacce-run as the test user
hisi() {
	local desc=$1
	shift
	it_cmd "kabi-hisi as $IT_USER1: $desc" 600 "$IT_USER1" "${RUN[@]}" "$IT_TMP/bin/kabi-hisi" "$@"
}

t0=$(it_ms)
it_skip attrs || hisi "finds $DEV the UADK way; attributes, ioctls" attrs
it_skip block || hisi "block mode: deflate/zlib/gzip, both directions, byte-exact against zlib" -d "$DEV" block
it_skip stream || hisi "stream mode: 128 KiB chunks, compress and decompress, two interleaved streams" -d "$DEV" stream
it_skip status || hisi "statuses: 0x0e (output does not fit), 0x10 (damaged trailer)" -d "$DEV" status
it_skip sgl || hisi "SGL buffers: chained hardware SGLs, skips across entries" -d "$DEV" sgl
it_skip async || hisi "the shared doorbell word: ${UACCE_HISI_ASYNC:-5000} requests, submitter and poller threads" \
	-d "$DEV" -n "${UACCE_HISI_ASYNC:-5000}" async
it_skip doorbell || hisi "lost SQ doorbells one at a time: a slot no doorbell covers, a slot written in place" -d "$DEV" doorbell
it_skip poll || hisi "poll(2): POLLIN after completions" -d "$DEV" poll
it_skip threads || hisi "4 threads, a queue each" -d "$DEV" -t 4 -n 200 threads
it_skip fork || hisi "fork: no mappings and EPERM in the child, its own queue; available_instances" -d "$DEV" fork
it_info "kabi-hisi steps: $(($(it_ms) - t0)) ms"

# a non-member of the node group: open(2) of the node fails with EACCES
if ! it_skip refused; then
	out=$("$IT_AS" "$IT_USER2" timeout 60 "${RUN[@]}" "$IT_TMP/bin/kabi-hisi" -d "$DEV" attrs 2>&1)
	if grep -q "^FAIL: $DEV: open /dev/$DEV O_RDWR|O_CLOEXEC: expected success got EACCES" <<<"$out"; then
		it_ok "kabi-hisi as $IT_USER2 (not in $IT_GROUP): open -> EACCES"
	else
		it_bad "kabi-hisi as $IT_USER2: expected EACCES at open"
		it_indent <<<"$out"
	fi
fi

if it_wait 2000 it_avail_is "$DEV" "$QUEUES"; then
	it_ok "$DEV has its $QUEUES queues free again"
else
	it_bad "$DEV: available_instances $(it_attr "$DEV" available_instances), expected $QUEUES"
fi
# a client holds a queue while the daemon stops: the RX/TX-stop words
holder=
if ! it_skip stop && it_hold stop "$IT_USER1" 10000 "${RUN[@]}" "$IT_TMP/bin/kabi-hisi" -d "$DEV" stop; then
	holder=${IT_HOLD_JOB[stop]}
fi
if it_daemon_kill TERM 10000 && [ "$IT_DRC" = 0 ]; then
	it_ok "SIGTERM: the daemon exited with status 0${holder:+ (a client holding a queue)}"
else
	it_bad "SIGTERM: expected exit status 0 within 10 s got ${IT_DRC:-?}"
fi
if [ -n "$holder" ]; then
	if it_wait 40000 it_reaped "$holder" && wait "$holder"; then
		it_ok "the client holding a queue saw the TX-stop and RX-stop words set when the daemon stopped"
	else
		it_bad "the client holding a queue when the daemon stopped (exit ${?})"
		it_indent "$IT_TMP/stop.out" | grep -v '^    ok:'
	fi
fi
it_summary
exit $?
