#!/bin/bash
# test/integ/run-kgate.sh - the gate for kernel devices (issue 17): uacced's
# "kernel" entries and the BPF LSM program (daemon/kgate.c, daemon/bpf/).
#
#   test/integ/run-kgate.sh BUILD_DIR
#
# Runs as root.  Two gated nodes: kg-full, a character device made with
# mknod with /dev/full's number (1:7; /dev/full itself is gated too while
# the daemon runs: nothing in the guest uses it), and, where the kernel has
# CUSE, the node of a second uacced (a dummy device published through CUSE
# as /dev/kgcuse-N, mode 0666, no quotas of its own).  The gating uacced
# itself publishes nothing of its own ("devices": []; frontend CUSE in the
# guest, FUSE on the host).
#
# UACCE_KGATE_EXPECT: enforced (the guest: BPF LSM active), unenforceable
# (a kernel without BPF LSM: the guest booted with an lsm= list without
# bpf), or auto (default: whatever the daemon reports; the host).  With
# an enforced gate: the allow-lists, max_queues and max_queues_per_device
# per user and per group over many opens and closes, one open counted once
# across dup, fork and exec (and to its opener when another process holds
# it), root unlimited, reload, the log records, daemon stop, crash and
# restart.  Unenforceable: the reason in "uaccectl list" and the log, and
# the opens pass (nothing is silently claimed).
#
# One line per check; the last line is "kgate-tests: N passed, M failed",
# the exit status M.
set -u
IT_NAME=${IT_NAME:-kgate-tests}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# the gating daemon's own frontend (it publishes nothing): CUSE in the guest
if [ "${UACCE_VM_GUEST:-0}" = 1 ]; then export UACCE_FRONTEND=cuse; else export UACCE_FRONTEND=fuse; fi
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
EXPECT=${UACCE_KGATE_EXPECT:-auto}
CPID=

fatal() {
	it_bad "$*"
	it_summary
	exit $?
}

kg_cleanup() {
	[ -n "$CPID" ] && kill "$CPID" 2>/dev/null && sleep 0.5
	it_cleanup
}
it_begin "${1:-}"
trap kg_cleanup EXIT
T=$IT_TMP
CTL=$build/uaccectl
[ -x "$build/.libs/uaccectl" ] && CTL=$build/.libs/uaccectl
it_users_or_fatal
command -v jq >/dev/null || fatal "jq is needed (scripts/deps.sh test)"

# uacced reads the active LSMs there (systemd mounts it; the test guest does not)
if [ "${UACCE_VM_GUEST:-0}" = 1 ] && [ ! -e /sys/kernel/security/lsm ]; then
	mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
fi
[ -r /sys/kernel/security/lsm ] && it_info "active LSMs: $(cat /sys/kernel/security/lsm)"

# --- the nodes ---------------------------------------------------------------------
mknod "$T/kg-full" c 1 7 && chmod 0666 "$T/kg-full" || fatal "mknod $T/kg-full"
FULL=$T/kg-full
CUSE=
if [ -c /dev/cuse ] || modprobe cuse 2>/dev/null; then
	cat >"$T/cuse.json" <<EOF
{"nodes": {"mode": "0666"},
 "devices": [{"name": "dummy", "backend": "soft", "api": "dummy_v1", "queues": 32,
              "node_prefix": "kgcuse"}]}
EOF
	"$IT_DAEMON" -f --frontend cuse --runtime-dir "$T/run-cuse" -c "$T/cuse.json" \
		--log-target console </dev/null >"$T/cuse.log" 2>&1 &
	CPID=$!
	IT_BG_PIDS+=("$CPID")
	cuse_up() { compgen -G "/dev/kgcuse-*" >/dev/null; }
	if it_wait 20000 cuse_up; then
		CUSE=$(compgen -G "/dev/kgcuse-*" | head -n 1)
		it_ok "a CUSE node to gate: $CUSE"
	else
		it_bad "the CUSE uacced did not publish /dev/kgcuse-*"
		it_indent "$T/cuse.log" | tail -n 20
	fi
else
	it_info "no CUSE here: the plain character device only"
fi
CUSEN=$(basename "${CUSE:-none}")

# --- the gating daemon ---------------------------------------------------------------
write_cfg() {	# write_cfg T2_PER_DEVICE GROUP_DEVICES_JSON
	local k="{\"node\": \"$FULL\"}"
	[ -n "$CUSE" ] && k="$k, {\"node\": \"$CUSE\"}"
	cat >"$IT_CFG" <<EOF
{"devices": [],
 "kernel": [$k, {"device": "hisi_zip-*"}],
 "quotas": {
   "default": {"devices": []},
   "groups": {"$IT_GROUP": {"max_queues": 3, "devices": $2}},
   "users": {"$IT_USER2": {"max_queues": 2, "max_queues_per_device": $1, "devices": ["kg-full"]}}
 }}
EOF
}
ready() { grep -q 'info: ready:' "$IT_DLOG" 2>/dev/null || it_daemon_gone; }
start() {
	IT_DN=$((IT_DN + 1))
	IT_DLOG=$T/uacced.$IT_DN.log
	local args=(-f --frontend "$IT_FRONTEND" --runtime-dir "$IT_RT" -c "$IT_CFG" --log-target console)
	[ "$IT_FRONTEND" = fuse ] && args+=(--fuse-dir "$IT_NODE_DIR")
	"$IT_DAEMON" "${args[@]}" </dev/null >"$IT_DLOG" 2>&1 &
	IT_DPID=$!
	it_wait 120000 ready && it_daemon_alive
}
list() { "$CTL" --json list; }
gate_state() { list | jq -r --arg n "$1" '.kernel[] | select(.name == $n) | .gate'; }
open_count() {	# open_count NAME [UID]: counted open files of a device (of one uid)
	if [ $# = 1 ]; then
		list | jq -r --arg n "$1" '.kernel[] | select(.name == $n) | .open_queues'
	else
		list | jq -r --arg n "$1" --argjson u "$2" \
			'[.kernel[] | select(.name == $n) | .users[] | select(.uid == $u) | .queues] | add // 0'
	fi
}
# kg_as USER COMMAND...: it_as, and "nobody" (uid 65534, no groups)
kg_as() {
	if [ "$1" = nobody ]; then
		shift
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"
	else
		it_as "$@"
	fi
}
# try USER NODE: "opened", or open(2)'s error as bash words it
try() {
	kg_as "$1" bash -c 'exec 3<>"$1" && echo opened' _ "$2" 2>&1 | tail -n 1 | sed 's/.*: //'
}
expect() {	# expect DESC WANT USER NODE
	local got
	got=$(try "$3" "$4")
	if [ "$got" = "$2" ]; then it_ok "$1: $2"; else it_bad "$1: wanted \"$2\", got \"$got\""; fi
}
# hold NAME USER NODE...: a process of USER holding one open file per NODE
declare -A HPID HJOB
hold() {
	local name=$1 user=$2 out=$T/hold.$1
	shift 2
	kg_as "$user" bash -c 'for n in "$@"; do exec {fd}<>"$n" || { echo "failed: $n"; exit 1; }; done
		echo "held $$"; exec sleep 600' _ "$@" >"$out" 2>&1 &
	HJOB[$name]=$!
	IT_BG_PIDS+=("$!")
	it_wait 20000 grep -qE '^(held|failed)' "$out" && grep -q '^held' "$out" || return 1
	HPID[$name]=$(awk '/^held/ {print $2; exit}' "$out")
	IT_BG_PIDS+=("${HPID[$name]}")
}
# unhold NAME: end the holder (its files are closed when it has exited)
unhold() {
	[ -n "${HPID[$1]:-}" ] && kill "${HPID[$1]}" 2>/dev/null
	wait "${HJOB[$1]}" 2>/dev/null
}
count_is() {	# count_is DESC WANT NAME [UID]
	local got
	got=$(open_count "${@:3}")
	if [ "$got" = "$2" ]; then it_ok "$1: $2"; else it_bad "$1: wanted $2, got \"$got\""; fi
}
logged() {	# logged DESC REGEX
	if grep -qE "$2" "$IT_DLOG"; then
		it_ok "$1: $(grep -E "$2" "$IT_DLOG" | tail -n 1 | sed 's/^<[0-9]>uacced\[[0-9.]*\] //')"
	else
		it_bad "$1: no record matching /$2/"; it_indent "$IT_DLOG" | tail -n 15
	fi
}

write_cfg 1 '["kg-*", "kgcuse-*"]'
start || fatal "the gating uacced did not start: $(tail -n 5 "$IT_DLOG")"
it_ok "uacced with $(grep -o '[0-9]* kernel entr[a-z]*' "$IT_DLOG" | head -n 1) started"
STATE=$(gate_state kg-full)
case $EXPECT in
auto) EXPECT=$STATE; it_info "the gate here: $STATE" ;;
esac
if [ "$STATE" != "$EXPECT" ]; then
	it_bad "the gate is \"$STATE\", expected \"$EXPECT\": $(list | jq -r '.kernel[0].reason')"
	it_indent "$IT_DLOG" | tail -n 15
	it_summary
	exit $?
fi
if [ "$(list | jq -r '.kernel[] | select(.entry == "device hisi_zip-*") | .gate')" = "no device" ]; then
	it_ok "an entry that matches nothing is listed: $(list | jq -r '.kernel[] | select(.entry == "device hisi_zip-*") | .reason')"
else
	it_bad "the entry device hisi_zip-* is not listed as \"no device\""
fi

if [ "$EXPECT" = unenforceable ]; then
	reason=$(list | jq -r '.kernel[] | select(.name == "kg-full") | .reason')
	if [ -n "$reason" ] && [ "$reason" != null ]; then
		it_ok "uaccectl list: kg-full unenforceable: $reason"
	else
		it_bad "uaccectl list gives no reason"
	fi
	"$CTL" list | grep -q 'UNENFORCEABLE' && it_ok "uaccectl list (text) says UNENFORCEABLE" ||
		it_bad "uaccectl list (text) does not say UNENFORCEABLE"
	logged "the log says so" 'error: kernel gate: unenforceable: '
	logged "and names the device" "kernel gate: $FULL \(1:7\) is NOT gated"
	expect "ungated: $IT_USER2 opens kg-full (its list would allow it, per device 1)" opened "$IT_USER2" "$FULL"
	hold u2 "$IT_USER2" "$FULL" "$FULL" "$FULL" &&
		it_ok "ungated: $IT_USER2 holds 3 opens of kg-full (max_queues 2 is not enforced)" ||
		it_bad "ungated: $IT_USER2 could not hold 3 opens: $(cat "$T/hold.u2")"
	unhold u2
	[ -n "$CUSE" ] && expect "ungated: $IT_USER2 opens $CUSEN (not in its list)" opened "$IT_USER2" "$CUSE"
	it_summary
	exit $?
fi

# --- enforced -----------------------------------------------------------------------
U1=$IT_U1 U2=$IT_U2
[ -n "$CUSE" ] && [ "$(gate_state "$CUSEN")" = enforced ] && it_ok "$CUSEN: gate enforced"
logged "the log names the gated device" "kernel gate: $FULL \(1:7\) gated"

# allow-lists: user entry, group entry, default (nobody else), root
[ -n "$CUSE" ] && expect "$IT_USER2 opens $CUSEN (not in its user list)" "Permission denied" "$IT_USER2" "$CUSE"
[ -n "$CUSE" ] && logged "the refusal is recorded" "kernel gate: $CUSEN: open by uid $U2 pid [0-9]+ \(bash\) refused \(EACCES\): device not allowed by the policy of user $IT_USER2"
expect "$IT_USER1 (group $IT_GROUP: kg-*) opens kg-full" opened "$IT_USER1" "$FULL"
logged "the grant is recorded" "kernel gate: kg-full: queue opened by uid $U1 pid [0-9]+ \(bash\): 1 of max_queues 3 \(group $IT_GROUP\)"
count_is "after that close: kg-full open" 0 kg-full
expect "nobody (default: no device) opens kg-full" "Permission denied" nobody "$FULL"
expect "root (no root entry) opens kg-full" opened root "$FULL"

# per device and per user: user 2 has max_queues_per_device 1
if hold u2a "$IT_USER2" "$FULL"; then
	it_ok "$IT_USER2 holds one kg-full"
	count_is "kg-full counted to uid $U2" 1 kg-full "$U2"
	expect "$IT_USER2's second kg-full (max_queues_per_device 1)" "Disk quota exceeded" "$IT_USER2" "$FULL"
	logged "the refusal is recorded" "kernel gate: kg-full: open by uid $U2 pid [0-9]+ \(bash\) refused \(EDQUOT\): max_queues_per_device 1 \(user $IT_USER2\), in use 1"
else
	it_bad "$IT_USER2 could not hold kg-full: $(cat "$T/hold.u2a")"
fi

# group limit: max_queues 3 over both devices
nodes=("$FULL" "$FULL")
[ -n "$CUSE" ] && nodes=("$FULL" "$CUSE")
if hold u1a "$IT_USER1" "${nodes[@]}" "$FULL"; then
	it_ok "$IT_USER1 holds 3 (max_queues 3 of group $IT_GROUP)"
	expect "$IT_USER1's 4th (max_queues 3)" "Disk quota exceeded" "$IT_USER1" "$FULL"
	logged "the refusal is recorded" "refused \(EDQUOT\): max_queues 3 \(group $IT_GROUP\), in use 3"
	want=3; [ -n "$CUSE" ] && want=2
	count_is "kg-full: uid $U1's count" $want kg-full "$U1"
	count_is "kg-full: all users" $((want + 1)) kg-full
	"$CTL" list | grep -E "kg-full .*gate enforced, $((want + 1)) open" >/dev/null &&
		it_ok "uaccectl list: $("$CTL" list | grep -E 'kg-full .*gate enforced' | sed 's/^ *//')" ||
		{ it_bad "uaccectl list does not show the usage"; "$CTL" list | it_indent; }
	unhold u1a
	count_is "after the holder exits: uid $U1's count on kg-full" 0 kg-full "$U1"
else
	it_bad "$IT_USER1 could not hold 3: $(cat "$T/hold.u1a")"
	unhold u1a
fi

# many opens and closes give every count back
out=$(it_as "$IT_USER1" bash -c 'ok=0; for i in $(seq 40); do exec 3<>"$1" 4<>"$1" 5<>"$1" || break
	exec 3<&- 4<&- 5<&-; ok=$((ok + 1)); done; echo $ok' _ "$FULL" 2>&1 | tail -n 1)
[ "$out" = 40 ] && it_ok "$IT_USER1: 40 rounds of 3 opens and 3 closes (max 3)" ||
	it_bad "$IT_USER1: open/close rounds: $out of 40"
count_is "then uid $U1's count" 0 kg-full "$U1"

# fork, dup, exec: one open counts once; it stays the opener's while another process holds it
it_as "$IT_USER1" bash -c 'exec 3<>"$1" 4>&3; sleep 600 & echo "held $$ $!"; exec sleep 600' \
	_ "$FULL" >"$T/hold.fork" 2>&1 &
HJOB[fork]=$!
IT_BG_PIDS+=("$!")
if it_wait 20000 grep -q '^held' "$T/hold.fork"; then
	HPID[fork]=$(awk '/^held/ {print $2; exit}' "$T/hold.fork")
	child=$(awk '/^held/ {print $3; exit}' "$T/hold.fork")
	IT_BG_PIDS+=("${HPID[fork]}" "$child")
	count_is "one open, dup'ed, inherited by a child, kept across exec: counted" 1 kg-full "$U1"
	hold u1b "$IT_USER1" "$FULL" "$FULL" && it_ok "$IT_USER1 opens 2 more (3 in all)" ||
		it_bad "$IT_USER1 could not open 2 more: $(cat "$T/hold.u1b")"
	expect "and not a 4th" "Disk quota exceeded" "$IT_USER1" "$FULL"
	unhold u1b
	unhold fork
	count_is "the opener exited, its child holds the file: still counted to uid $U1" 1 kg-full "$U1"
	kill "$child"
	it_wait 10000 bash -c "[ \"\$(\"$CTL\" --json list | jq -r '[.kernel[] | select(.name == \"kg-full\") | .users[] | select(.uid == $U1) | .queues] | add // 0')\" = 0 ]"
	count_is "the child exited: given back" 0 kg-full "$U1"
else
	it_bad "the fork holder did not start: $(cat "$T/hold.fork")"
fi

# reload: the policy swaps, the counts stay
write_cfg 2 '["kgcuse-*"]'
if "$CTL" reload >"$T/reload.out" 2>&1; then
	it_ok "reload: $(tail -n 1 "$T/reload.out")"
	count_is "uid $U2's kg-full still counted after the reload" 1 kg-full "$U2"
	expect "$IT_USER2's second kg-full now (max_queues_per_device 2)" opened "$IT_USER2" "$FULL"
	expect "$IT_USER1: kg-full no longer in the group's list" "Permission denied" "$IT_USER1" "$FULL"
	[ -n "$CUSE" ] && expect "$IT_USER1 opens $CUSEN (still listed)" opened "$IT_USER1" "$CUSE"
else
	it_bad "reload failed: $(cat "$T/reload.out")"
fi

# stop: the gate goes with the daemon
kill -TERM "$IT_DPID"; wait "$IT_DPID"; IT_DPID=
expect "uacced stopped: the gate is gone ($IT_USER1 opens kg-full)" opened "$IT_USER1" "$FULL"
start || fatal "the gating uacced did not start again"
expect "restarted: the gate is back" "Permission denied" "$IT_USER1" "$FULL"
count_is "restarted: the open from before the start is not counted" 0 kg-full "$U2"
# crash
kill -KILL "$IT_DPID"; wait "$IT_DPID" 2>/dev/null; IT_DPID=
expect "uacced killed (SIGKILL): the gate is gone" opened "$IT_USER1" "$FULL"
unhold u2a
it_summary
