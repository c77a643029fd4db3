#!/bin/bash
# test/integ/run-upgrade.sh BUILD_DIR - a live upgrade between two builds
# (issue 16, upgrade safety): the daemon of the previous landed release
# (test/integ/upgrade-build.sh builds it from git, outside this tree, and
# keeps it in .cache/) serves clients at work on every soft device kind
# (run-restart's seven) and a user at its quota; then the binary at the
# daemon's path is replaced (renamed over it, as dpkg does) and the daemon
# restarts live into it:
#   1. old -> new by "uaccectl restart",
#   2. new -> old (the downgrade): taken when both builds write the same
#      state format; when the new build's format (HO_FORMAT) is newer the
#      old one must refuse it and the new daemon serves on,
#   3. old (or new) -> new by SIGUSR2.
# After each: the process runs the new file, no client sees an error, the
# same queue ids, available_instances and "uaccectl --json usage" exactly
# as before, the user at its quota can open one more queue and then gets
# EDQUOT, new opens work; at the end every request of every client was
# byte-exact.  FUSE fallback on the host, CUSE in the guest
# (UACCE_FRONTEND).  UACCE_UPGRADE_FROM: another old commit.
# Last line: "upgrade: N passed, M failed"; exit status M.
set -u
IT_NAME=${IT_NAME:-upgrade}
command -v jq >/dev/null || { echo "FAIL: jq is needed (scripts/deps.sh test)"; echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
it_begin "${1:-}"

# --- the two builds --------------------------------------------------------------
if ! oldbin=$("$here/upgrade-build.sh" 2>"$IT_TMP/upgrade-build.err" | tail -n 1) || [ ! -x "$oldbin/uacced" ]; then
	it_indent "$IT_TMP/upgrade-build.err"
	fatal "the previous release's daemon: $(tail -n 1 "$IT_TMP/upgrade-build.err")"
fi
oldhash=$(basename "$(dirname "$oldbin")")
oldhash=${oldhash#upgrade-}
it_ok "the previous release's daemon: $oldhash, built in $(dirname "$oldbin")"
NEW=$IT_TMP/bin/uacced.new-build
OLD=$IT_TMP/bin/uacced.old-build
cp "$IT_DAEMON" "$NEW" && cp "$oldbin/uacced" "$OLD" || fatal "copy the two daemons"
if cmp -s "$NEW" "$OLD"; then
	it_info "the two daemons are the same file (this tree is the previous release)"
fi
# the state format each writes (handover.h), from the sources each was built from
src_new=$(sed -n 's/^abs_top_srcdir *= *//p' "$build/Makefile")
fmt_new=$(sed -n 's/^#define HO_FORMAT \([0-9][0-9]*\).*/\1/p' "$src_new/daemon/handover.h")
fmt_old=$(sed -n 's/^#define HO_FORMAT \([0-9][0-9]*\).*/\1/p' "$(dirname "$oldbin")/src/daemon/handover.h")
[ -n "$fmt_new" ] && [ -n "$fmt_old" ] || fatal "HO_FORMAT: new \"$fmt_new\" ($src_new), old \"$fmt_old\""
[ "$fmt_new" -ge "$fmt_old" ] || fatal "the new build's state format $fmt_new is older than the old one's ($fmt_old)"
it_info "state formats: the old build writes $fmt_old, the new one $fmt_new"

it_users_or_fatal
it_copy_prog "$build/test/clients" restart-client restart-client || fatal "copy restart-client"
it_copy_prog "$build/test/clients" policy-probe policy-probe || fatal "copy policy-probe"
it_copy_prog "$build" uaccectl uaccectl || fatal "copy uaccectl"
chmod -R a+rX "$IT_TMP/bin"
RC=$IT_TMP/bin/restart-client
PROBE=$IT_TMP/bin/policy-probe
CTL=(env UACCE_RUNTIME_DIR="$IT_RT" "$IT_TMP/bin/uaccectl")

# the usual devices, and a quota for $IT_USER1: 3 queues, 16 MiB of regions
QMAX=3
it_write_config
sed -i '1a "quotas":{"users":{"'"$IT_USER1"'":{"max_queues":'$QMAX',"max_region_bytes":"16M"}}},' "$IT_CFG"

# install FILE: FILE becomes the daemon's file, renamed over it (dpkg's way)
install_daemon() { cp "$1" "$IT_DAEMON.tmp" && mv -f "$IT_DAEMON.tmp" "$IT_DAEMON"; }
# runs PID FILE: the process runs that build (the same bytes as FILE)
runs() { cmp -s "/proc/$1/exe" "$2"; }

install_daemon "$OLD" || fatal "install the old daemon"
it_daemon_start || fatal "the old daemon did not start: $(tail -n 5 "$IT_DLOG")"
if runs "$IT_DPID" "$OLD"; then
	it_ok "the previous release's daemon serves (pid $IT_DPID)"
else
	it_bad "pid $IT_DPID does not run the old build"
fi
pid_first=$IT_DPID
devs=("$IT_DEV0" "$IT_DEV1" "$IT_DEV2" "$IT_ML0" "$IT_ML1" "$IT_ML2" "$IT_MLZ0" "$IT_MLZ1")
avail_all() {
	local d out=
	for d in "${devs[@]}"; do out+="$d=$(it_attr "$d" available_instances) "; done
	echo "$out"
}
served() { grep -c "live restart: serving the queues of pid" "$IT_DLOG"; }
new_daemon() {	# N: more than N successors served, the same pid
	it_wait $((30000 * IT_TS)) eval '[ "$(served)" -gt '"$1"' ]' &&
		[ "$(cat "$IT_RT/uacced.pid" 2>/dev/null)" = "$pid_first" ] && kill -0 "$pid_first"
}
queue_ids() { "${CTL[@]}" --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' '; }
nqueues() { "${CTL[@]}" --json queues 2>/dev/null | grep -c '"state"'; }
# the usage figures: one line per user (jq), by uid
usage() { "${CTL[@]}" --json usage 2>/dev/null | jq -c '.users | sort_by(.uid) | .[]'; }

# --- clients at work, a user at its quota -------------------------------------------
cdir=$IT_TMP/rc
mkdir -p "$cdir"
"$RC" -d "$cdir" "dummy:$IT_DEV0" "dummy:$IT_DEV1" "dummy:$IT_DEV2" "dummy:$IT_ML1" \
	"zip:$IT_MLZ0" "zip:$IT_MLZ1" "poll:$IT_DEV1" >"$cdir/out.json" 2>"$cdir/err" &
cpid=$!
IT_BG_PIDS+=("$cpid")
it_wait $((20000 * IT_TS)) eval '[ "$(nqueues)" -ge 7 ]' ||
	it_bad "the clients' 7 queues did not open: $(cat "$cdir/err")"
# QMAX-1 queues of $IT_USER1, started, one with its regions mapped, held
# until the end (not lib.sh's it_hold: policy-probe waits for a go file
# 120 s at most, less than this suite takes in the TCG guest)
"$IT_AS" "$IT_USER1" timeout -k 5 $((3600 * IT_TS)) "$PROBE" open "$IT_ML2" 0 start 0 \
	map mmio auto 0 map dus auto 0 open "$IT_DEV1" 0 start 0 ready sleep >"$IT_TMP/Q.out" 2>&1 &
qjob=$! qpid=
IT_BG_PIDS+=("$qjob")
it_wait $((10000 * IT_TS)) grep -q '^ready ' "$IT_TMP/Q.out" || fatal "the quota holder: $(cat "$IT_TMP/Q.out")"
qpid=$(awk '/^ready /{print $2; exit}' "$IT_TMP/Q.out")
IT_BG_PIDS+=("$qpid")
uid1() { usage | jq -r "select(.uid == $IT_U1) | .$1"; }
it_wait $((5000 * IT_TS)) eval '[ "$(uid1 queues)" = $((QMAX - 1)) ] && [ "$(uid1 bytes)" -gt 0 ]' ||
	it_bad "$IT_USER1's usage: $(usage)"
sleep 0.5
ids0=$(queue_ids)
avail0=$(avail_all)
usage0=$(usage)
it_info "before: queues $ids0; $avail0; $IT_USER1: $(uid1 queues) queues, $(uid1 bytes) bytes"

# handover N HOW FILE: install FILE, restart by HOW (ctl, usr2), checks
handover() {
	local n=$1 how=$2 file=$3 n0 out t0 what
	n0=$(served)
	install_daemon "$file" || { it_bad "$n: install $file"; return 1; }
	t0=$(it_ms)
	if [ "$how" = ctl ]; then
		what="uaccectl restart"
		out=$("${CTL[@]}" restart 2>&1) || { it_bad "$n ($what): $out"; return 1; }
	else
		what="SIGUSR2"
		kill -USR2 "$pid_first"
	fi
	if ! new_daemon "$n0"; then
		it_bad "$n ($what): no successor serves (pid file $(cat "$IT_RT/uacced.pid" 2>/dev/null))"
		return 1
	fi
	it_ok "$n ($what): the successor serves in $(($(it_ms) - t0)) ms, pid $pid_first${out:+: $out}"
	runs "$pid_first" "$file" && it_ok "$n: pid $pid_first runs the installed build" ||
		it_bad "$n: pid $pid_first runs $(readlink "/proc/$pid_first/exe"), not the installed build"
	kill -0 "$cpid" 2>/dev/null || it_bad "$n: the clients died: $(cat "$cdir/err")"
	after_checks "$n"
}

# after_checks N: the same queues, instances and usage; one more queue for
# $IT_USER1 and then EDQUOT (a new process); a new open works
after_checks() {
	local n=$1 ids avail u
	ids=$(queue_ids)
	[ "$ids" = "$ids0" ] && it_ok "$n: the same queue ids" || it_bad "$n: queue ids $ids, before $ids0"
	avail=$(avail_all)
	[ "$avail" = "$avail0" ] && it_ok "$n: available_instances exact: $avail" ||
		it_bad "$n: available_instances $avail, before $avail0"
	u=$(usage)
	[ "$u" = "$usage0" ] && it_ok "$n: uaccectl --json usage the same for every user" ||
		{ it_bad "$n: usage differs"; diff <(echo "$usage0") <(echo "$u") | it_indent; }
	it_cmd "$n: $IT_USER1 at $((QMAX - 1)) of $QMAX queues: one more opens, the next is EDQUOT" 60 "$IT_USER1" \
		"$PROBE" open "$IT_DEV1" 0 open "$IT_DEV1" EDQUOT
	# (restart-client: uacce-dummy gives a request 5 s, too little in a loaded guest)
	mkdir -p "$IT_TMP/rc-new"
	it_cmd "$n: a new open works (restart-client, 1 s of copies on $IT_ML0)" 120 root \
		"$RC" -d "$IT_TMP/rc-new" -t 1 "dummy:$IT_ML0"
	it_wait $((5000 * IT_TS)) eval '[ "$(usage)" = "$usage0" ] && [ "$(avail_all)" = "$avail0" ]' ||
		it_bad "$n: after the probes: $(avail_all); usage $(usage)"
}

handover "upgrade $oldhash -> this build" ctl "$NEW"
touch "$cdir/go"	# the poller's request: after the first hand-over

# the downgrade: the old build reads the new one's state when the format is the same
n0=$(served)
install_daemon "$OLD" || it_bad "install the old daemon again"
if [ "$fmt_new" = "$fmt_old" ]; then
	if out=$("${CTL[@]}" restart 2>&1) && new_daemon "$n0"; then
		it_ok "downgrade this build -> $oldhash (the same state format $fmt_new): taken: $out"
		runs "$pid_first" "$OLD" && it_ok "downgrade: pid $pid_first runs the old build" ||
			it_bad "downgrade: pid $pid_first runs $(readlink "/proc/$pid_first/exe")"
		after_checks "downgrade"
	else
		it_bad "downgrade this build -> $oldhash (the same format $fmt_new): $out"
	fi
else
	if out=$("${CTL[@]}" restart 2>&1); then
		it_bad "downgrade to $oldhash (format $fmt_old) of a state of format $fmt_new was taken: $out"
		new_daemon "$n0"
	elif echo "$out" | grep -q "refused" && [ "$(served)" = "$n0" ] && kill -0 "$pid_first" &&
		runs "$pid_first" "$NEW"; then
		it_ok "downgrade to $oldhash (reads format $fmt_old) of a state of format $fmt_new: refused, this build serves on ($(echo "$out" | head -n 1))"
		grep -q "this uacced reads 1..$fmt_old" "$IT_DLOG" &&
			it_ok "the log names the format the old build reads" ||
			it_bad "no line \"this uacced reads 1..$fmt_old\" in the log"
		after_checks "after the refused downgrade"
	else
		it_bad "the refused downgrade: $out"
	fi
fi
# back to the new build by SIGUSR2 (from the old one after a downgrade)
handover "SIGUSR2 into this build" usr2 "$NEW"

# --- the end: every request byte-exact, the quota holder's old fds ---------------------
touch "$cdir/stop"
if wait "$cpid"; then
	it_ok "every request of every client completed byte-exact, none saw an error"
else
	it_bad "a client saw an error: $(cat "$cdir/err")"
fi
while read -r line; do
	it_info "client: $line"
done <"$cdir/out.json"
[ "$(grep -c '"errors":0' "$cdir/out.json")" = 7 ] || it_bad "clients with errors: $(grep -v '"errors":0' "$cdir/out.json")"
grep -q '"spec":"poll:[^"]*".*"requests":[1-9]' "$cdir/out.json" &&
	it_ok "a poll(2) blocked before the upgrade woke for a request after it" ||
	it_bad "the poller: $(grep '"spec":"poll' "$cdir/out.json")"
kill -0 "$qpid" 2>/dev/null && it_ok "$IT_USER1's holder kept its queues from the old daemon to the end" ||
	it_bad "the quota holder ended: $(cat "$IT_TMP/Q.out")"
kill -KILL "$qpid" 2>/dev/null
wait "$qjob" 2>/dev/null
full=$(for d in "${devs[@]}"; do printf '%s=%s ' "$d" "$IT_QUEUES"; done)
it_wait $((10000 * IT_TS)) eval '[ "$(avail_all)" = "$full" ]' &&
	it_ok "available_instances back to $IT_QUEUES on every device" ||
	it_bad "available_instances after the clients: $(avail_all)"
it_wait $((5000 * IT_TS)) eval '[ "$(nqueues)" = 0 ] && [ -z "$(uid1 queues)" ]' &&
	it_ok "no queue left, no usage left for $IT_USER1" || it_bad "queues left: $(nqueues); usage: $(usage)"
[ "$(grep -c "live restart: the successor took the state; pid [0-9]* becomes it" "$IT_DLOG")" = "$(served)" ] &&
	it_ok "the log names each of the $(served) hand-overs" ||
	it_bad "hand-over lines: $(grep -c "becomes it" "$IT_DLOG"), successors: $(served)"

it_daemon_kill TERM 20000
it_summary
