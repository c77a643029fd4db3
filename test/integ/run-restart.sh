#!/bin/bash
# test/integ/run-restart.sh BUILD_DIR - live restart (issue 16): clients in
# the middle of their work on every soft device kind (dummy SVA and
# non-SVA, v4 and mainline, zip SVA and non-SVA, a poller blocked in
# poll(2)) and a user holding queues under a quota while uacced restarts
# UACCE_RESTARTS times (default 20) with "uaccectl restart" and SIGUSR2:
# every request completes byte-exact, no client sees an error, the old fds
# keep working, new opens work, the usage figures stay exact (the user can
# open one more queue, then EDQUOT), available_instances and the daemon's
# fds and queues come back exactly;
# a successor that cannot take the state is refused and the old daemon
# serves on.  FUSE fallback on the host, CUSE in the guest (UACCE_FRONTEND).
# Last line: "restart: N passed, M failed"; exit status M.
set -u
IT_NAME=${IT_NAME:-restart}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
it_begin "${1:-}"
restarts=${UACCE_RESTARTS:-20}
it_copy_prog "$build/test/clients" restart-client restart-client || fatal "copy restart-client"
it_copy_prog "$build" uaccectl uaccectl || fatal "copy uaccectl"
it_copy_prog "$build/test/clients" policy-probe policy-probe || fatal "copy policy-probe"
chmod -R a+rX "$IT_TMP/bin"
command -v jq >/dev/null || fatal "jq is needed (scripts/deps.sh test)"
RC=$IT_TMP/bin/restart-client
PROBE=$IT_TMP/bin/policy-probe
CTL=(env UACCE_RUNTIME_DIR="$IT_RT" "$IT_TMP/bin/uaccectl")
it_users_or_fatal
# the usual devices; $IT_USER1 may hold 3 queues
QMAX=3
it_write_config
sed -i '1a "quotas":{"users":{"'"$IT_USER1"'":{"max_queues":'$QMAX'}}},' "$IT_CFG"
# and a hisi_qm_v2 zip device (its rings and direction handed over)
HISI=hisi_zip-8
sed -i 's|"workers":1}]}$|"workers":1},\n            {"name":"hisi_zip","abi":"mainline","backend":"soft","api":"hisi_qm_v2","sva":true,"queues":'"$IT_QUEUES"'}]}|' "$IT_CFG"
grep -q hisi_qm_v2 "$IT_CFG" || fatal "the hisi device is not in the configuration"
it_daemon_start || fatal "the daemon did not start: $(tail -n 5 "$IT_DLOG")"

devs=("$IT_DEV0" "$IT_DEV1" "$IT_DEV2" "$IT_ML1" "$IT_MLZ0" "$IT_MLZ1" "$HISI")
pidfile=$IT_RT/uacced.pid
dpid() { cat "$pidfile" 2>/dev/null; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
avail_all() {
	local d out=
	for d in "${devs[@]}"; do out+="$d=$(it_attr "$d" available_instances) "; done
	echo "$out"
}
full=$(for d in "${devs[@]}"; do printf '%s=%s ' "$d" "$IT_QUEUES"; done)
[ "$(avail_all)" = "$full" ] || it_bad "available_instances at the start: $(avail_all)"
fds0=$(nfds "$IT_DPID")
pid_first=$IT_DPID

# restarts so far: the successors' "serving the queues" lines
served() { grep -c "live restart: serving the queues of pid" "$IT_DLOG"; }
# new_daemon N: wait until more than N successors served (SERVED: how many
# then); the same pid (execve in place: systemd's main process stays)
# serves.  Few processes: each costs ~0.3 s in the TCG guest, and
# "uaccectl restart" returns once the successor serves, so one look at
# the log is enough after it
new_daemon() {
	local n=$1 p=
	it_wait $((30000 * IT_TS)) eval 'SERVED=$(served); [ "$SERVED" -gt '"$n"' ]' || return 1
	read -r p <"$pidfile" 2>/dev/null
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
	IT_DPID=$p
}

# --- 1. clients at work across restarts ---------------------------------------
cdir=$IT_TMP/rc
mkdir -p "$cdir"
"$RC" -d "$cdir" "dummy:$IT_DEV0" "dummy:$IT_DEV1" "dummy:$IT_DEV2" "dummy:$IT_ML1" \
	"zip:$IT_MLZ0" "zip:$IT_MLZ1" "hisi:$HISI" "poll:$IT_DEV1" >"$cdir/out.json" 2>"$cdir/err" &
cpid=$!
IT_BG_PIDS+=("$cpid")
queues_open() { [ "$("${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"')" -ge 8 ]; }
it_wait $((20000 * IT_TS)) queues_open || it_bad "the clients' 8 queues did not open: $(cat "$cdir/err")"
# quotas: $IT_USER1 holds QMAX-1 started queues (one with its regions mapped)
# across the restarts; the usage figures of every user must stay exact
it_quota_hold "$QMAX"
sleep 0.5
IT_USAGE0=$(it_usage)
before=$("${CTL[@]}" --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
fail=0 slow=0
SERVED=$(served)
it_now_ms
tloop=$IT_NOW
for i in $(seq 1 "$restarts"); do
	old=$IT_DPID
	n0=$SERVED
	it_now_ms
	t0=$IT_NOW
	if [ "$i" = 3 ]; then
		# an upgrade: a new file at the daemon's path (renamed over it, as
		# dpkg does); the successor must be that file
		cp "$IT_DAEMON" "$IT_DAEMON.new" && mv -f "$IT_DAEMON.new" "$IT_DAEMON"
		out=$("${CTL[@]}" restart 2>&1) || { it_bad "restart $i: uaccectl restart: $out"; fail=1; break; }
		how="an upgrade (new binary file) and uaccectl restart"
	elif [ $((i % 5)) = 2 ]; then	# the 2nd, the 7th, ...: in the shortest runs too
		kill -USR2 "$old"
		how="SIGUSR2"
	else
		out=$("${CTL[@]}" restart 2>&1) || { it_bad "restart $i: uaccectl restart: $out"; fail=1; break; }
		how="uaccectl restart"
	fi
	if ! new_daemon "$n0"; then
		it_bad "restart $i ($how): no successor serves (pid file: $(dpid))"
		fail=1
		break
	fi
	it_now_ms
	ms=$((IT_NOW - t0))
	if [ "$i" = 3 ]; then
		if [ "$(stat -L -c %i "/proc/$IT_DPID/exe")" = "$(stat -c %i "$IT_DAEMON")" ]; then
			it_ok "after $how: pid $IT_DPID runs the new file"
		else
			it_bad "after $how: pid $IT_DPID runs $(readlink "/proc/$IT_DPID/exe"), not the new file"
		fi
	fi
	[ "$ms" -gt "$slow" ] && slow=$ms
	[ "$i" = 1 ] && touch "$cdir/go"	# the poller's request: after the first restart
	sleep 0.2
	kill -0 "$cpid" 2>/dev/null || { it_bad "restart $i: the client died"; fail=1; break; }
done
it_now_ms
it_info "the restart loop: $((IT_NOW - tloop)) ms, $(((IT_NOW - tloop) / restarts)) ms a restart (0.2 s of it the clients' own)"
[ "$fail" = 0 ] && it_ok "$restarts live restarts with 8 clients at work (slowest hand-over seen by the script: $slow ms)"
after=$("${CTL[@]}" --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
if [ "$before" = "$after" ]; then
	it_ok "the same queues (ids) before and after: $after"
else
	it_bad "queues before: $before; after: $after"
fi
it_quota_after "the restarts" "$QMAX"
# a new open works on the last successor, while the old fds still work
# (an SVA device: a non-SVA v4 one serves one process at a time)
# (restart-client, not uacce-dummy: that one gives a request 5 s, which the
# loaded TCG guest exceeded with the clients at work)
mkdir -p "$IT_TMP/rc-new"
it_cmd "a new open after the restarts (restart-client, 2 s of copies on $IT_DEV1)" 120 root \
	"$RC" -d "$IT_TMP/rc-new" -t 2 "dummy:$IT_DEV1"
touch "$cdir/stop"
if wait "$cpid"; then
	it_ok "every request of every client completed byte-exact, none saw an error"
else
	it_bad "a client saw an error"
fi
while read -r line; do
	it_info "client: $line"
done <"$cdir/out.json"
[ "$(grep -c '"errors":0' "$cdir/out.json")" = 8 ] || it_bad "clients with errors: $(grep -v '"errors":0' "$cdir/out.json")"
grep -q '"spec":"poll:[^"]*".*"requests":[1-9]' "$cdir/out.json" &&
	it_ok "a poll(2) blocked before the restart woke for a request after it" ||
	it_bad "the poller: $(grep '"spec":"poll' "$cdir/out.json")"

# --- 2. nothing leaks ------------------------------------------------------------
it_wait $((10000 * IT_TS)) eval '[ "$(avail_all)" = "$full" ]' &&
	it_ok "available_instances back to $IT_QUEUES on every device" ||
	it_bad "available_instances after the clients: $(avail_all)"
# a successor holds what a daemon holds idle, and restarts leave nothing
# behind: the fds of an idle successor before and after 5 more restarts
quiet_restart() {
	local old
	local n0
	n0=$(served)
	"${CTL[@]}" restart >/dev/null 2>&1 && new_daemon "$n0"
}
# (a successor closes the handed fds it did not take just after it serves:
# the count settles, then it must stay)
settled_nfds() {
	local a b k
	a=$(nfds "$IT_DPID")
	for k in $(seq 20); do
		sleep 0.1
		b=$(nfds "$IT_DPID")
		[ "$a" = "$b" ] && break
		a=$b
	done
	echo "$a"
}
quiet_restart || it_bad "an idle restart"
fdsA=$(settled_nfds)
fdlist() { find "/proc/$IT_DPID/fd" -mindepth 1 -printf '%f %l\n' 2>/dev/null | sort -n; }
fdlist >"$IT_TMP/fdsA"
for i in 1 2 3 4 5; do quiet_restart || it_bad "idle restart $i"; done
it_wait $((5000 * IT_TS)) eval '[ "$(nfds "$IT_DPID")" = "$fdsA" ]'
fdsB=$(nfds "$IT_DPID")
if [ "$fdsA" = "$fdsB" ]; then
	it_ok "an idle successor holds $fdsB fds before and after 5 more restarts (the first daemon: $fds0)"
else
	it_bad "an idle successor held $fdsA fds, 5 restarts later $fdsB"
	diff "$IT_TMP/fdsA" <(fdlist) | it_indent
fi
n=$("${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"')
[ "$n" = 0 ] && it_ok "no queue left" || it_bad "$n queues left"

# --- 3. a successor that cannot take the state: refused, the old serves on -------
rm -f "$cdir/stop"
"$RC" -d "$cdir" -t $((300 * IT_TS)) "dummy:$IT_DEV2" >"$cdir/out2.json" 2>"$cdir/err2" &
cpid=$!
IT_BG_PIDS+=("$cpid")
one_open() { [ "$("${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"')" -ge 1 ]; }
it_wait $((20000 * IT_TS)) one_open || it_bad "the client's queue did not open"
cp "$IT_CFG" "$IT_CFG.orig"
# the same devices without uacce-dummy-2 (the others keep their ids)
grep -vF '"api":"dummy_v2","sva":false,"queues":'"$IT_QUEUES"'},' "$IT_CFG.orig" >"$IT_CFG"
cmp -s "$IT_CFG" "$IT_CFG.orig" && it_bad "the configuration without $IT_DEV2 is the same"
old=$(dpid)
n0=$(served)
if out=$("${CTL[@]}" restart 2>&1); then
	it_bad "a restart whose configuration drops a device with an open queue was taken: $out"
	new_daemon "$n0"
else
	if echo "$out" | grep -q "refused" && [ "$(served)" = "$n0" ] && kill -0 "$old"; then
		it_ok "dropping a device with an open queue: refused, pid $old serves on ($(echo "$out" | head -n 1))"
	else
		it_bad "the refusal: $out (pid file $(dpid), was $old)"
	fi
fi
cp "$IT_CFG.orig" "$IT_CFG"
n0=$(served)
out=$("${CTL[@]}" restart 2>&1) && new_daemon "$n0" &&
	it_ok "and then a restart with the configuration back: $out" ||
	it_bad "restart after the refusal: $out"
touch "$cdir/stop"
wait "$cpid" && it_ok "the client across the refusal and the restart: no error" ||
	it_bad "the client across the refusal: $(cat "$cdir/out2.json" "$cdir/err2")"

# --force: the device goes, its client gets ENODEV, the others serve on
rm -f "$cdir/stop"
"$RC" -d "$cdir" -t $((300 * IT_TS)) "dummy:$IT_DEV2" >"$cdir/out3.json" 2>"$cdir/err3" &
cpid=$!
IT_BG_PIDS+=("$cpid")
it_wait $((20000 * IT_TS)) one_open || it_bad "the third client's queue did not open"
grep -vF '"api":"dummy_v2","sva":false,"queues":'"$IT_QUEUES"'},' "$IT_CFG.orig" >"$IT_CFG"
n0=$(served)
if out=$("${CTL[@]}" restart --force 2>&1) && new_daemon "$n0"; then
	it_ok "restart --force with $IT_DEV2 dropped: $out"
else
	it_bad "restart --force: $out"
fi
it_wait $((10000 * IT_TS)) eval '[ ! -e "$IT_NODE_DIR/$IT_DEV2" ]' &&
	it_ok "--force: $IT_NODE_DIR/$IT_DEV2 is gone" || it_bad "--force: $IT_NODE_DIR/$IT_DEV2 is still there"
touch "$cdir/stop"
wait "$cpid"
if grep -q '"errors":[1-9].*No such device\|"errors":[1-9].*not connected\|"errors":[1-9].*Transport' "$cdir/out3.json"; then
	it_ok "--force: the dropped device's client was told: $(sed -n 's/.*"first_error":"\([^"]*\)".*/\1/p' "$cdir/out3.json")"
else
	it_bad "--force: the dropped device's client: $(cat "$cdir/out3.json" "$cdir/err3")"
fi
cp "$IT_CFG.orig" "$IT_CFG"
n0=$(served)
out=$("${CTL[@]}" restart 2>&1) && new_daemon "$n0" && it_wait $((10000 * IT_TS)) it_nodes_up &&
	it_cmd "the configuration back, restart: $IT_DEV2 is back and serves" 60 root \
		"$IT_DUMMY" -d "$IT_DEV2" -n 20 -s 4096 ||
	it_bad "restart with $IT_DEV2 back: $out"

# --- 4. the log names what happened ------------------------------------------------
[ "$(grep -c "live restart: the successor took the state; pid [0-9]* becomes it" "$IT_DLOG")" = "$(served)" ] &&
	it_ok "the log names each of the $(served) hand-overs" || it_bad "hand-over lines: $(grep -c "becomes it" "$IT_DLOG"), successors: $(served)"
[ "$(dpid)" = "$pid_first" ] && it_ok "one pid all along ($pid_first): systemd's main process stays" ||
	it_bad "the pid changed: $pid_first -> $(dpid)"
grep -q "live restart refused, this daemon serves on" "$IT_DLOG" &&
	it_ok "the log names the refusal" || it_bad "no refusal line in the log"

it_daemon_kill TERM 20000
it_summary
