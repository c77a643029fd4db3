#!/bin/bash
# test/integ/run-crash.sh BUILD_DIR - crash restart (issue 16, item 2):
# uacced --fd-store runs under a service manager that keeps its fd store
# and restarts it whenever it ends (test/clients/fakesd on the host; the
# systemd guest runs run-systemd.sh's own check with systemd itself).
# Clients in the middle of their work on the soft devices while uacced is
# killed with SIGKILL UACCE_CRASHES times (default 10): the successor takes
# the queues over from the crash journal; every ring request completes
# byte-exact, old fds keep working, new opens work, queues opened and
# closed around a crash leave nothing behind (available_instances exact),
# a request the dead daemon had read and not answered is done again by the
# successor (its caller gets an answer, not an error, and never hangs).  FUSE fallback on the host, CUSE in the guest.
# Last line: "crash: N passed, M failed"; exit status M.
set -u
IT_NAME=${IT_NAME:-crash}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
it_begin "${1:-}"
crashes=${UACCE_CRASHES:-10}
it_copy_prog "$build/test/clients" restart-client restart-client || fatal "copy restart-client"
it_copy_prog "$build/test/clients" fakesd fakesd || fatal "copy fakesd"
it_copy_prog "$build" uaccectl uaccectl || fatal "copy uaccectl"
it_copy_prog "$build/test/clients" policy-probe policy-probe || fatal "copy policy-probe"
command -v jq >/dev/null || fatal "jq is needed (scripts/deps.sh test)"
RC=$IT_TMP/bin/restart-client
PROBE=$IT_TMP/bin/policy-probe
CTL=(env UACCE_RUNTIME_DIR="$IT_RT" "$IT_TMP/bin/uaccectl")
it_users_or_fatal
# the usual devices; $IT_USER1 may hold 3 queues
QMAX=3
it_write_config
sed -i '1a "quotas":{"users":{"'"$IT_USER1"'":{"max_queues":'$QMAX'}}},' "$IT_CFG"
# and a hisi_qm_v2 zip device (its rings recovered from shared memory)
HISI=hisi_zip-8
sed -i 's|"workers":1}]}$|"workers":1},\n            {"name":"hisi_zip","abi":"mainline","backend":"soft","api":"hisi_qm_v2","sva":true,"queues":'"$IT_QUEUES"'}]}|' "$IT_CFG"
grep -q hisi_qm_v2 "$IT_CFG" || fatal "the hisi device is not in the configuration"

# the daemon under fakesd (restarts it 300 ms after it ended, as
# RestartSec=): IT_DPID is fakesd (it_cleanup stops it: a stop empties the
# store)
args=(-f --frontend "$IT_FRONTEND" --runtime-dir "$IT_RT" -c "$IT_CFG" --fd-store --crash-journal)
[ "$IT_FRONTEND" = fuse ] && args+=(--fuse-dir "$IT_NODE_DIR")
IT_DLOG=$IT_TMP/uacced.log
SDLOG=$IT_TMP/fakesd.log
"$IT_TMP/bin/fakesd" -s "$IT_TMP/notify.sock" -l "$SDLOG" -d 300 -- "$IT_DAEMON" "${args[@]}" \
	</dev/null >"$IT_DLOG" 2>&1 &
IT_DPID=$!
pidfile=$IT_RT/uacced.pid
dpid() { cat "$pidfile" 2>/dev/null; }
journal_on() { grep -q "crash journal: on" "$IT_DLOG"; }
it_wait $((20000 * IT_TS)) eval 'it_nodes_up && journal_on' ||
	fatal "the daemon did not start with its crash journal: $(tail -n 5 "$IT_DLOG")"
it_ok "uacced started under a service manager with an fd store; crash journal on"

devs=("$IT_DEV0" "$IT_DEV1" "$IT_DEV2" "$IT_ML0" "$IT_ML1" "$IT_ML2" "$IT_MLZ0" "$IT_MLZ1" "$HISI")
avail_all() {
	local d out=
	for d in "${devs[@]}"; do out+="$d=$(it_attr "$d" available_instances) "; done
	echo "$out"
}
full=$(for d in "${devs[@]}"; do printf '%s=%s ' "$d" "$IT_QUEUES"; done)
[ "$(avail_all)" = "$full" ] || it_bad "available_instances at the start: $(avail_all)"

served() { grep -c "crash restart: serving the queues of pid" "$IT_DLOG"; }
# crash: SIGKILL the daemon, wait for its successor to serve
crash() {
	local old n0 p
	old=$(dpid)
	n0=$(served)
	[ -n "$old" ] || return 1
	kill -KILL "$old" 2>/dev/null || return 1
	it_wait $((30000 * IT_TS)) eval '[ "$(served)" -gt '"$n0"' ]' || return 1
	p=$(dpid)
	[ -n "$p" ] && [ "$p" != "$old" ] && kill -0 "$p" 2>/dev/null
}
settle() { it_store_settle "$SDLOG"; }

# --- 1. clients at work across crashes ---------------------------------------------
cdir=$IT_TMP/rc
mkdir -p "$cdir"
"$RC" -d "$cdir" "dummy:$IT_DEV0" "dummy:$IT_DEV1" "dummy:$IT_DEV2" "dummy:$IT_ML1" \
	"zip:$IT_MLZ0" "zip:$IT_MLZ1" "hisi:$HISI" "poll:$IT_DEV1" >"$cdir/out.json" 2>"$cdir/err" &
cpid=$!
IT_BG_PIDS+=("$cpid")
queues_open() { [ "$("${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"')" -ge 8 ]; }
it_wait $((20000 * IT_TS)) queues_open || it_bad "the clients' 8 queues did not open: $(cat "$cdir/err")"
# quotas: $IT_USER1 holds QMAX-1 started queues (one with its regions
# mapped) across the crashes; every user's usage must stay exact
it_quota_hold "$QMAX"
settle
IT_USAGE0=$(it_usage)
before=$("${CTL[@]}" --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
fail=0
for i in $(seq 1 "$crashes"); do
	if [ "$i" = 2 ]; then
		# a queue opened and closed just before the crash: the journal's
		# snapshot may have it, the live table says it is gone
		"$IT_DUMMY" -d "$IT_ML2" -n 1 -s 64 >/dev/null 2>&1
	fi
	if ! crash; then
		it_bad "crash $i: no successor serves (pid file: $(dpid)): $(tail -n 3 "$IT_DLOG")"
		fail=1
		break
	fi
	[ "$i" = 1 ] && touch "$cdir/go"	# the poller's request: after the first crash
	settle
	kill -0 "$cpid" 2>/dev/null || { it_bad "crash $i: the client died"; fail=1; break; }
done
[ "$fail" = 0 ] && it_ok "$crashes SIGKILLs of uacced with 8 clients at work: a successor took over each time"
# a planned restart through the store with the journal on (systemctl
# restart: SIGTERM, the state to the store, the manager starts the next
# one): the files the journal stored already are handed under its names
# (the manager, like systemd, keeps a file once, under its first name),
# then a crash of the successor
planned() { grep -c "live restart: serving the queues of pid" "$IT_DLOG"; }
p0=$(planned)
d0=$(grep -c '^duplicate' "$SDLOG")
old=$(dpid)
kill -TERM "$old"
if it_wait $((30000 * IT_TS)) eval '[ "$(planned)" -gt '"$p0"' ]'; then
	dups=$(($(grep -c '^duplicate' "$SDLOG") - d0))
	[ "$dups" -gt 0 ] &&
		it_ok "a planned restart through the fd store with the journal on: pid $old -> $(dpid), $dups file(s) the journal had stored went under its names (kept once)" ||
		it_bad "a planned restart through the fd store: no file the journal had stored was handed again (the manager's log: $(tail -n 5 "$SDLOG" | tr '\n' ' '))"
else
	it_bad "the planned restart through the fd store: no successor serves: $(grep -E "live restart|store" "$IT_DLOG" | tail -n 4)"
fi
grep -q "which the store does not hold\|starting afresh" "$IT_DLOG" &&
	it_bad "an fd of a state was not in the store: $(grep "which the store does not hold\|starting afresh" "$IT_DLOG" | head -n 3)"
settle
crash && it_ok "a crash after the planned restart: a successor took over" ||
	it_bad "the crash after the planned restart: no successor serves: $(tail -n 3 "$IT_DLOG")"
settle
# a request the dead daemon read and had not recorded yet (SIGKILL between
# the kernel's read and the record) is in its read slot: done again like
# any other.  The sweep's EIO for one that is nowhere must never happen.
unrec() { grep -c "before its journal had it: answered EIO" "$IT_DLOG"; }
slot() { grep -c "from its read slot" "$IT_DLOG"; }
after=$("${CTL[@]}" --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
[ "$before" = "$after" ] &&
	it_ok "the same queues (ids) before and after: $after" ||
	it_bad "queues before: $before; after: $after"
it_quota_after "the crashes" "$QMAX"
[ "$(unrec)" = 0 ] &&
	it_ok "no request read and lost: $(slot) read in the instant of a kill done again from the read slot" ||
	it_bad "$(unrec) request(s) read by a dead daemon and found nowhere: answered EIO"
it_cmd "a new open after the crashes (uacce-dummy on $IT_DEV1)" 60 root \
	"$IT_DUMMY" -d "$IT_DEV1" -n 50 -s 4096
touch "$cdir/stop"
if ! it_wait $((120000 * IT_TS)) it_reaped "$cpid"; then
	it_bad "the clients do not end: $(it_pstate "$cpid"); uacced: $(it_pstate "$(dpid)")"
	tail -n 30 "$IT_DLOG" | it_indent
	kill -KILL "$cpid"
fi
if wait "$cpid"; then
	it_ok "every request of every client completed byte-exact, none saw an error"
else
	it_bad "a client saw an error"
fi
while read -r line; do
	it_info "client: $line"
done <"$cdir/out.json"
grep -q '"spec":"poll:[^"]*".*"requests":[1-9]' "$cdir/out.json" &&
	it_ok "a poll(2) blocked before a crash woke for a request after it" ||
	it_bad "the poller: $(grep '"spec":"poll' "$cdir/out.json")"
it_wait $((10000 * IT_TS)) eval '[ "$(avail_all)" = "$full" ]' &&
	it_ok "available_instances back to $IT_QUEUES on every device" ||
	it_bad "available_instances after the clients: $(avail_all)"

# --- 2. a request in flight at the crash is done again -----------------------------
# three poll-loops poll a queue each (three devices: on CUSE three sessions)
# back to back, each poll(2) a FUSE_POLL request the daemon answers: a
# crash often finds one read and not answered, which the kernel still
# holds (crashes until one did; one the dead daemon answered and had not
# marked done is not done again: the successor asks the kernel).  The
# successor does it again: the caller gets its answer, no error, and ends
# on time (a request nobody answers would leave it waiting for ever).
it_copy_prog "$build/test/clients" poll-loop poll-loop || fatal "copy poll-loop"
again() { grep -c "of the crashed predecessor done again" "$IT_DLOG"; }
hit=0
tries=${UACCE_INFLIGHT_TRIES:-40}
rm -f "$IT_TMP/pl-stop"
pl=()
for d in "$IT_DEV0" "$IT_DEV1" "$IT_DEV2"; do
	"$IT_TMP/bin/poll-loop" "$IT_NODE_DIR/$d" $((600 * IT_TS)) "$IT_TMP/pl-stop" \
		>"$IT_TMP/inflight-$d.out" 2>&1 &
	pl+=("$!")
	IT_BG_PIDS+=("$!")
done
settle	# their opens are in the snapshot
for try in $(seq 1 "$tries"); do
	a0=$(again)
	crash || { it_bad "the crash with requests in flight: no successor"; break; }
	if [ "$(again)" -gt "$a0" ]; then
		hit=1
		it_ok "crash $try: a request in flight at the crash was done again ($(grep "of the crashed predecessor done again" "$IT_DLOG" | tail -n 1 | sed 's/.*: request/request/'))"
		break
	fi
	settle
done
[ "$hit" = 1 ] || it_bad "no crash of $tries found a request in flight (the check did not run)"
touch "$IT_TMP/pl-stop"
for f0 in "${pl[@]}"; do
	if it_wait $((60000 * IT_TS)) it_reaped "$f0"; then
		wait "$f0" || :
	else
		it_bad "a poll-loop still waits after the crashes: $(it_pstate "$f0")"
	fi
done
for d in "$IT_DEV0" "$IT_DEV1" "$IT_DEV2"; do
	grep -q "no error" "$IT_TMP/inflight-$d.out" &&
		it_ok "the poller of $d across the crashes: $(cat "$IT_TMP/inflight-$d.out")" ||
		it_bad "the poller of $d: $(cat "$IT_TMP/inflight-$d.out"); the daemon: $(grep -E "crash restart|predecessor|revoked|ENODEV|unknown|journal had" "$IT_DLOG" | tail -n 6)"
done
grep -q "of the crashed predecessor answered EIO" "$IT_DLOG" &&
	it_bad "requests answered EIO: $(grep "of the crashed predecessor answered EIO" "$IT_DLOG" | head -n 3)"
[ "$(unrec)" = 0 ] || it_bad "$(unrec) request(s) read by a dead daemon and found nowhere: answered EIO"
it_wait $((10000 * IT_TS)) eval '[ "$(avail_all)" = "$full" ]' &&
	it_ok "available_instances back to $IT_QUEUES on every device after it" ||
	it_bad "available_instances after the in-flight crash: $(avail_all)"

# --- 3. an owner that dies while no daemon runs --------------------------------------
rm -f "$cdir/stop"
"$RC" -d "$cdir" -t $((300 * IT_TS)) "dummy:$IT_DEV2" >"$cdir/out4.json" 2>"$cdir/err4" &
c4=$!
IT_BG_PIDS+=("$c4")
one_open() { [ "$("${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"')" -ge 1 ]; }
it_wait $((20000 * IT_TS)) one_open || it_bad "the client's queue did not open: $(cat "$cdir/err4")"
settle
old=$(dpid)
n0=$(served)
kill -KILL "$old"
kill -KILL "$c4"	# within fakesd's 300 ms: no daemon runs
if it_wait $((30000 * IT_TS)) eval '[ "$(served)" -gt '"$n0"' ]' &&
	it_wait $((10000 * IT_TS)) eval '[ "$(avail_all)" = "$full" ]'; then
	it_ok "a client killed while no daemon ran: its queue was released by the successor (available_instances $IT_QUEUES everywhere)"
else
	it_bad "a client killed while no daemon ran: available_instances $(avail_all); $(grep -E "owner|released|closed since" "$IT_DLOG" | tail -n 3)"
fi
wait "$c4" 2>/dev/null

# --- 4. nothing piles up in the store ------------------------------------------------
stored() { awk '/^store /{s[$2]=1} /^remove /{delete s[$2]} END{print length(s)}' "$SDLOG"; }
n=$(stored)
[ "$n" -lt 40 ] && it_ok "the fd store holds $n fds for an idle daemon" ||
	it_bad "the fd store holds $n fds for an idle daemon: $(awk '/^store /{s[$2]=1} /^remove /{delete s[$2]} END{for (k in s) print k}' "$SDLOG" | head -n 20 | tr '\n' ' ')"
n=$("${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"')
[ "$n" = 0 ] && it_ok "no queue left" || it_bad "$n queues left"

# --- 5. a stop ends everything ------------------------------------------------------
# (systemctl stop: SIGTERM hands the queues to the store, then the manager
# empties it: the nodes go)
it_store_stop "$SDLOG" "$(dpid)"
it_wait $((10000 * IT_TS)) it_nodes_gone && it_ok "the nodes are gone after the stop" ||
	it_bad "nodes left after the stop: $(ls "$IT_NODE_DIR" 2>&1 | head -n 3 | tr '\n' ' ')"
grep -E "crash restart|crash journal" "$IT_DLOG" | sed 's/^[0-9-]* [0-9:.]* //' | sort | uniq -c |
	sort -rn | head -n 8 | it_indent
it_summary
