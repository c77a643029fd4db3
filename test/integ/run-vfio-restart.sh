#!/bin/bash
# test/integ/run-vfio-restart.sh BUILD_DIR [BUILD_DIR...] - vfio queues across
# a live restart (issue 16), INSIDE the QEMU guest booted with the edu device:
#
#   UACCE_VM_VFIO=1 test/vm/run-vm.sh test/integ/run-vfio-restart.sh build build-asan
#
# Config: a soft dummy_v1 device (uacce-dummy-0) and edu through the vfio
# backend (uacce-edu-1, 4 queues).  For each build dir:
#   1  a client does edu DMA memcpy requests (1..4096 bytes, each checked
#      byte for byte) on ONE fd while the daemon restarts UACCE_RESTARTS
#      times (default 6: "uaccectl restart", every third by SIGUSR2): every
#      request completes byte-exact, no client error, requests complete
#      after the last restart, the same queue id before and after
#   2  the successor did not re-open the device: one "edu device ... (id"
#      start-up line in the log, the "adopted" line of the device state
#   3  available_instances back to 4 once the client ends; a new client works
#   4  the daemon's fds are the same across 5 idle restarts (no VFIO fd,
#      eventfd or mapping leaks), and it holds one /dev/vfio group fd
#   5  a configuration without edu: "uaccectl restart" is refused naming
#      the node, the old daemon serves on (edu copies still work)
#   6  crashes: uacced --fd-store --crash-journal under test/clients/fakesd,
#      SIGKILLed UACCE_VFIO_CRASHES times (default 3) while an edu client and
#      a soft one work: each successor sets edu up afresh and takes the queue
#      over (same id, no revocation), every request completes byte-exact,
#      the daemon's fds stay the same, available_instances exact, a stop ends
#      all
# Sanitizer reports in the daemon logs fail the build dir.
# Last line: "vfio-restart: N passed, M failed"; exit status M (max 255).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=vfio-restart

# --- the outer run: guest set-up once, then one inner run per build dir ------
if [ "${VF_INNER:-0}" != 1 ]; then
	if [ $# -lt 1 ]; then
		echo "usage: $0 BUILD_DIR [BUILD_DIR...]" >&2
		echo "$NAME: 0 passed, 1 failed"
		exit 1
	fi
	if [ "${UACCE_VM_GUEST:-}" != 1 ] && [ ! -e /run/uacce-vm ] && [ "${UACCE_GUEST_FORCE:-0}" != 1 ]; then
		echo "run-vfio-restart.sh: runs inside the test guest (UACCE_VM_VFIO=1 test/vm/run-vm.sh)" >&2
		echo "$NAME: 0 passed, 1 failed"
		exit 1
	fi
	fatal() { echo "FAIL: $*"; echo "$NAME: 0 passed, 1 failed"; exit 1; }
	[ "$(id -u)" = 0 ] || fatal "must run as root"
	modprobe cuse 2>/dev/null || busybox modprobe cuse 2>/dev/null
	[ -c /dev/cuse ] || fatal "no /dev/cuse"
	modprobe vfio-pci 2>/dev/null || busybox modprobe vfio-pci 2>/dev/null
	[ -d /sys/bus/pci/drivers/vfio-pci ] || fatal "no vfio-pci driver (modprobe vfio-pci)"
	bdf=${UACCE_VFIO_BDF:-}
	if [ -z "$bdf" ]; then
		for d in /sys/bus/pci/devices/*; do
			[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] && bdf=${d##*/}
		done
	fi
	[ -n "$bdf" ] && [ -e "/sys/bus/pci/devices/$bdf" ] ||
		fatal "no edu PCI device (1234:11e8): boot the guest with UACCE_VM_VFIO=1"
	echo "1234 11e8" >/sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null
	if [ "$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver" 2>/dev/null)")" != vfio-pci ]; then
		[ -e "/sys/bus/pci/devices/$bdf/driver" ] &&
			echo "$bdf" >"/sys/bus/pci/devices/$bdf/driver/unbind"
		echo "$bdf" >/sys/bus/pci/drivers/vfio-pci/bind
	fi
	tp=0 tf=0 failed=
	for b in "$@"; do
		tag=$(basename "$b")
		echo
		echo "--- $tag"
		out=$(mktemp /tmp/uacce-vfr-out.XXXXXX)
		VF_INNER=1 VF_BDF=$bdf IT_NAME="${NAME}[$tag]" "$0" "$b" 2>&1 | tee "$out"
		last=$(grep -E "^$NAME\[.*\]: [0-9]+ passed, [0-9]+ failed$" "$out" | tail -n 1)
		if [ -n "$last" ]; then
			p=$(echo "$last" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\1/')
			f=$(echo "$last" | sed -E 's/.*: ([0-9]+) passed, ([0-9]+) failed$/\2/')
		else
			echo "FAIL: $tag: the run ended without its summary line"
			p=0 f=1
		fi
		tp=$((tp + p)) tf=$((tf + f))
		[ "$f" != 0 ] && failed="$failed $tag"
		rm -f "$out"
	done
	echo
	[ -n "$failed" ] && echo "failed:$failed"
	echo "$NAME: $tp passed, $tf failed"
	[ "$tf" -gt 255 ] && exit 255
	exit "$tf"
fi

# --- the inner run: one build dir ---------------------------------------------
export UACCE_FRONTEND=cuse
IT_NAME=${IT_NAME:-$NAME}
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
build=$(cd "${1:-.}" && pwd) || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
BDF=$VF_BDF
SOFT=uacce-dummy-0
EDU=uacce-edu-1
EDU_Q=4
restarts=${UACCE_RESTARTS:-6}

trap it_cleanup EXIT
it_init "$build" || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
for p in uaccectl; do
	it_copy_prog "$build" "$p" "$p" || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
done
it_copy_prog "$build/test/clients" restart-client restart-client ||
	{ echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
chmod a+rx "$IT_TMP/bin/"*
RC=$IT_TMP/bin/restart-client
CTL=(env UACCE_RUNTIME_DIR="$IT_RT" "$IT_TMP/bin/uaccectl")

edu_up() { [ -c "/dev/$EDU" ] && [ -d "$IT_RT/class/$EDU" ]; }
soft_up() { [ -c "/dev/$SOFT" ] && [ -s "$IT_RT/devdir" ] && [ -S "$IT_RT/broker.sock" ]; }
soft_up_or_dead() { soft_up || it_daemon_gone; }
pidfile=$IT_RT/uacced.pid
dpid() { cat "$pidfile" 2>/dev/null; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
GROUP=/dev/vfio/$(basename "$(readlink "/sys/bus/pci/devices/$BDF/iommu_group")")
held() { ls -l "/proc/$1/fd" 2>/dev/null | grep -c " $2\$"; }	# PID FILE: its fds of FILE
served() { grep -c "live restart: serving the queues of pid" "$IT_DLOG"; }
new_daemon() {	# N: more than N successors served
	local n=$1 p
	it_wait $((60000 * IT_TS)) eval '[ "$(served)" -gt '"$n"' ]' || return 1
	p=$(dpid)
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
	IT_DPID=$p
}
edu_qids() { "${CTL[@]}" --json queues 2>/dev/null | tr -d ' \n' | grep -oE '\{[^{}]*"'"$EDU"'"[^{}]*\}' | grep -oE '"id":[0-9]+' | sort | tr '\n' ' '; }

write_config() {	# FILE [WITHOUT-EDU]
	if [ -n "${2:-}" ]; then
		cat >"$1" <<EOF
{"devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":8}]}
EOF
	else
		cat >"$1" <<EOF
{"devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":8},
            {"name":"edu","backend":"vfio","api":"dummy_v1","pci":"$BDF","queues":$EDU_Q}]}
EOF
	fi
}

echo "info: $IT_NAME: build $build, edu $BDF, temp $IT_TMP"
write_config "$IT_CFG"
IT_DN=$((IT_DN + 1))
IT_DLOG=$IT_TMP/uacced.$IT_DN.log
"$IT_DAEMON" -f --frontend cuse --runtime-dir "$IT_RT" -c "$IT_CFG" </dev/null >"$IT_DLOG" 2>&1 &
IT_DPID=$!
it_wait 20000 soft_up_or_dead
if ! soft_up || ! it_wait 30000 edu_up; then
	it_bad "start-up: the daemon or /dev/$EDU did not come up"
	tail -n 20 "$IT_DLOG" | it_indent
	it_summary
	exit 1
fi
it_ok "start-up: /dev/$EDU up (pid $IT_DPID)"

# --- 1. a client doing edu DMA across restarts -----------------------------
cdir=$IT_TMP/rc
mkdir -p "$cdir"
"$RC" -d "$cdir" -s 4096 "dummy:$EDU" >"$cdir/out.json" 2>"$cdir/err" &
cpid=$!
IT_BG_PIDS+=("$cpid")
it_wait $((30000 * IT_TS)) it_avail_is "$EDU" $((EDU_Q - 1)) ||
	it_bad "the client's edu queue did not open: $(cat "$cdir/err")"
sleep 1
before=$(edu_qids)
[ -n "$before" ] || it_bad "uaccectl queues shows no queue of $EDU"
fail=0
for i in $(seq 1 "$restarts"); do
	old=$(dpid)
	n0=$(served)
	if [ $((i % 3)) = 0 ]; then
		kill -USR2 "$old"
		how="SIGUSR2"
	else
		out=$("${CTL[@]}" restart 2>&1) || { it_bad "restart $i: uaccectl restart: $out"; fail=1; break; }
		how="uaccectl restart"
	fi
	if ! new_daemon "$n0"; then
		it_bad "restart $i ($how): no successor serves"
		tail -n 20 "$IT_DLOG" | it_indent
		fail=1
		break
	fi
	sleep 1		# some requests through edu between restarts
	kill -0 "$cpid" 2>/dev/null || { it_bad "restart $i ($how): the client ended: $(cat "$cdir/err")"; fail=1; break; }
done
[ "$fail" = 0 ] && it_ok "$restarts live restarts (uaccectl restart, SIGUSR2) with an edu DMA client at work"
if grep -qE "revoked|cannot hand the queue over|not adopt" "$IT_DLOG"; then
	it_bad "the log says a queue was revoked: $(grep -m2 -E "revoked|cannot hand the queue over|not adopt" "$IT_DLOG" | tr '\n' ' ')"
fi
# requests complete after the last restart: the count grows
r0=$(grep -c . "$cdir/err")
after=$(edu_qids)
[ -n "$before" ] && [ "$before" = "$after" ] && it_ok "the same edu queue before and after: $after" ||
	it_bad "edu queues before: \"$before\"; after: \"$after\""
sleep 2
touch "$cdir/stop"
if it_wait $((60000 * IT_TS)) eval '! kill -0 '"$cpid"' 2>/dev/null' && wait "$cpid"; then
	it_ok "every edu request completed byte-exact, the client saw no error: $(cat "$cdir/out.json")"
else
	it_bad "the client: $(cat "$cdir/out.json") $(cat "$cdir/err")"
fi
[ "$r0" = 0 ] || it_info "client stderr: $(cat "$cdir/err")"
grep -q '"errors":0' "$cdir/out.json" && grep -qE '"requests":[1-9][0-9]' "$cdir/out.json" ||
	it_bad "client result: $(cat "$cdir/out.json")"

# --- 2. the device was adopted, not opened again ----------------------------
n=$(grep -c "edu device $BDF (id" "$IT_DLOG")
[ "$n" = 1 ] && it_ok "edu was set up once (one start-up line in $((restarts + 1)) daemons)" ||
	it_bad "edu start-up lines: $n (the successors re-opened it?)"
grep -qE "$EDU: edu device $BDF adopted" "$IT_DLOG" &&
	it_ok "log: $(grep -m1 -E "$EDU: edu device $BDF adopted" "$IT_DLOG" | sed 's/^<[0-9]>//')" ||
	it_bad "log: no \"edu device $BDF adopted\" line"

# --- 3. accounting, a new client --------------------------------------------
it_wait $((10000 * IT_TS)) it_avail_is "$EDU" "$EDU_Q" &&
	it_ok "available_instances back to $EDU_Q" ||
	it_bad "available_instances after the client: $(it_attr "$EDU" available_instances)"
it_cmd "a new client after the restarts (uacce-dummy on $EDU, 3 x 4096 bytes)" 180 root \
	"$IT_DUMMY" -d "$EDU" -n 3 -s 4096

# --- 4. nothing leaks across idle restarts ------------------------------------
quiet_restart() {
	local n0
	n0=$(served)
	"${CTL[@]}" restart >/dev/null 2>&1 && new_daemon "$n0"
}
quiet_restart || it_bad "an idle restart"
fdsA=$(nfds "$IT_DPID")
ls -l "/proc/$IT_DPID/fd" | awk '{print $NF}' | sed 's/\[[0-9]*\]//' | sort >"$IT_TMP/fdsA"
for i in 1 2 3 4 5; do quiet_restart || it_bad "idle restart $i"; done
fdsB=$(nfds "$IT_DPID")
ls -l "/proc/$IT_DPID/fd" | awk '{print $NF}' | sed 's/\[[0-9]*\]//' | sort >"$IT_TMP/fdsB"
[ "$fdsA" = "$fdsB" ] && it_ok "the daemon's fds across 5 idle restarts: $fdsA and $fdsB" ||
	{ it_bad "the daemon's fds: $fdsA, after 5 idle restarts $fdsB"; diff "$IT_TMP/fdsA" "$IT_TMP/fdsB" | it_indent; }
ng=$(held "$IT_DPID" "$GROUP")
nc=$(held "$IT_DPID" /dev/vfio/vfio)
[ "$ng" = 1 ] && [ "$nc" = 1 ] && it_ok "the daemon holds one $GROUP and one /dev/vfio/vfio" ||
	it_bad "the daemon holds $ng $GROUP and $nc /dev/vfio/vfio"
it_cmd "edu works after the idle restarts" 180 root "$IT_DUMMY" -d "$EDU" -n 2 -s 4096

# --- 5. a successor without edu is refused -----------------------------------
write_config "$IT_CFG" without
old=$(dpid)
out=$("${CTL[@]}" restart 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q "$EDU"; then
	it_ok "a successor whose configuration drops edu is refused: $out"
else
	it_bad "restart to a configuration without edu: exit $rc: $out"
fi
[ "$(dpid)" = "$old" ] && it_daemon_alive && it_ok "the old daemon serves on" || it_bad "the daemon changed or died"
write_config "$IT_CFG"
it_cmd "edu still works after the refusal" 180 root "$IT_DUMMY" -d "$EDU" -n 2 -s 4096

it_daemon_kill TERM 15000
[ "$IT_DRC" = 0 ] && it_ok "SIGTERM: exit 0" || it_bad "SIGTERM: exit $IT_DRC"

# --- 6. crashes: SIGKILL under a service manager with an fd store ------------
# uacced --fd-store --crash-journal under fakesd (restarts it 300 ms after
# it ended, keeps its store).  The dead daemon's VFIO fds close with it
# (none is in the store): each successor sets edu up afresh and takes the
# queue over from the journal and the ring, mapping its SS region again at
# its next request; the request the dead daemon was in the middle of is
# done again.
crashes=${UACCE_VFIO_CRASHES:-3}
it_copy_prog "$build/test/clients" fakesd fakesd || { it_bad "copy fakesd"; it_summary; exit 1; }
chmod a+rx "$IT_TMP/bin/fakesd"
IT_DN=$((IT_DN + 1))
IT_DLOG=$IT_TMP/uacced.$IT_DN.log
SDLOG=$IT_TMP/fakesd.log
"$IT_TMP/bin/fakesd" -s "$IT_TMP/notify.sock" -l "$SDLOG" -d 300 -- "$IT_DAEMON" -f \
	--frontend cuse --runtime-dir "$IT_RT" -c "$IT_CFG" --fd-store --crash-journal \
	</dev/null >"$IT_DLOG" 2>&1 &
IT_DPID=$!	# fakesd: it_cleanup's stop empties the store
journal_on() { grep -q "crash journal: on" "$IT_DLOG"; }
edu_lines() { grep -c "edu device $BDF (id" "$IT_DLOG"; }
crashed() { grep -c "crash restart: serving the queues of pid" "$IT_DLOG"; }
settle() { it_store_settle "$SDLOG"; }
if it_wait $((30000 * IT_TS)) eval 'soft_up && edu_up && journal_on'; then
	it_ok "uacced under a service manager with an fd store, crash journal on"
else
	it_bad "uacced under fakesd did not come up: $(tail -n 5 "$IT_DLOG" | tr '\n' ' ')"
	it_summary
	exit 1
fi
cdir=$IT_TMP/rc-crash
mkdir -p "$cdir"
"$RC" -d "$cdir" -s 4096 "dummy:$EDU" "dummy:$SOFT" >"$cdir/out.json" 2>"$cdir/err" &
cpid=$!
IT_BG_PIDS+=("$cpid")
it_wait $((30000 * IT_TS)) it_avail_is "$EDU" $((EDU_Q - 1)) ||
	it_bad "the client's edu queue did not open: $(cat "$cdir/err")"
settle
before=$(edu_qids)
fail=0
for i in $(seq 1 "$crashes"); do
	old=$(dpid)
	n0=$(crashed)
	kill -KILL "$old"
	if ! it_wait $((60000 * IT_TS)) eval '[ "$(crashed)" -gt '"$n0"' ]' ||
		! kill -0 "$(dpid)" 2>/dev/null; then
		it_bad "crash $i: no successor serves: $(tail -n 5 "$IT_DLOG" | tr '\n' ' ')"
		fail=1
		break
	fi
	sleep 2		# edu requests between crashes (each ~0.4 s under TCG)
	settle
	[ "$i" = 1 ] && fds1=$(nfds "$(dpid)")
	kill -0 "$cpid" 2>/dev/null || { it_bad "crash $i: the client ended: $(cat "$cdir/err")"; fail=1; break; }
done
[ "$fail" = 0 ] && it_ok "$crashes SIGKILLs of uacced with edu DMA requests running: a successor took over each time"
rev='queue revoked|revoked \(ENODEV\)|not adopt|did not take'
if grep -qE "$rev" "$IT_DLOG"; then
	it_bad "the log says a queue was revoked: $(grep -m2 -E "$rev" "$IT_DLOG" | tr '\n' ' ')"
fi
n=$(edu_lines)
[ "$n" = $((crashes + 1)) ] && it_ok "each successor set edu up afresh ($n start-up lines)" ||
	it_bad "edu start-up lines: $n, $((crashes + 1)) expected"
after=$(edu_qids)
[ -n "$before" ] && [ "$before" = "$after" ] && it_ok "the same edu queue before and after the crashes: $after" ||
	it_bad "edu queues before the crashes: \"$before\"; after: \"$after\""
fdsN=$(nfds "$(dpid)")
[ "${fds1:-x}" = "$fdsN" ] && it_ok "the daemon's fds after the first and the last crash: $fdsN" ||
	it_bad "the daemon's fds after the first crash ${fds1:-?}, after the last $fdsN"
touch "$cdir/stop"
if it_wait $((60000 * IT_TS)) eval '! kill -0 '"$cpid"' 2>/dev/null' && wait "$cpid"; then
	it_ok "every request (edu and soft) completed byte-exact across the crashes, no error"
else
	it_bad "the client: $(cat "$cdir/out.json") $(cat "$cdir/err")"
fi
while read -r line; do it_info "client: $line"; done <"$cdir/out.json"
grep -qE '"spec":"dummy:'"$EDU"'".*"requests":[1-9]' "$cdir/out.json" ||
	it_bad "no edu request done: $(cat "$cdir/out.json")"
it_wait $((10000 * IT_TS)) it_avail_is "$EDU" "$EDU_Q" &&
	it_ok "available_instances of $EDU back to $EDU_Q" ||
	it_bad "available_instances of $EDU after the client: $(it_attr "$EDU" available_instances)"
it_cmd "a new client after the crashes (uacce-dummy on $EDU, 3 x 4096 bytes)" 180 root \
	"$IT_DUMMY" -d "$EDU" -n 3 -s 4096
ng=$(held "$(dpid)" "$GROUP")
[ "$ng" = 1 ] && it_ok "the last successor holds one $GROUP" || it_bad "the last successor holds $ng $GROUP"
it_store_stop "$SDLOG" "$(dpid)"
it_summary
exit $?
