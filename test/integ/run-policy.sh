#!/bin/bash
# test/integ/run-policy.sh - integration tests of the admin policy: quotas
# and device access per user and group, configuration drop-ins, live
# reload (SIGHUP and uaccectl), the control socket and uaccectl.
#
#   sudo test/integ/run-policy.sh BUILD_DIR
#
# Runs as root.  Creates (when missing) the system users uacce-p1 (in the
# groups uacce-pg1, uacce-pg2 and uacce-padm) and uacce-p2 (in none), starts
# its own daemons on a temporary runtime directory with a configuration
# directory of its own (-c), and drives them with test/clients/policy-probe
# as root and as both users, and with uaccectl.
#
# Frontend: $UACCE_FRONTEND, else $UACCE_TEST_FRONTEND (what run-vm.sh
# passes into the guest), else cuse inside the QEMU guest (UACCE_VM_GUEST=1),
# else fuse.  With cuse the nodes are in /dev.
#
# One line per check, "ok: ..." or "FAIL: ..."; the last line is
# "policy-tests: N passed, M failed" and the exit status is M.  Every wait
# is bounded.  The framework (checks, holders, daemon, clean-up) is lib.sh's;
# its knobs apply (UACCE_INTEG_KEEP=1 keeps the temporary directory, ...).
set -u
IT_NAME=${IT_NAME:-policy-tests}
FRONTEND=${UACCE_FRONTEND:-${UACCE_TEST_FRONTEND:-}}
[ -z "$FRONTEND" ] && { [ "${UACCE_VM_GUEST:-0}" = 1 ] && FRONTEND=cuse || FRONTEND=fuse; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
IT_FRONTEND=$FRONTEND

fatal() {
	it_bad "$*"
	it_summary
	exit $?
}

# --- set-up ------------------------------------------------------------------------
build=${1:-}
if [ -z "$build" ] || ! build=$(cd "$build" 2>/dev/null && pwd); then
	echo "usage: $0 BUILD_DIR" >&2
	echo "FAIL: no build directory"
	echo "$IT_NAME: 0 passed, 1 failed"
	exit 1
fi
po_cleanup() {
	[ -n "${NPID:-}" ] && kill "$NPID" 2>/dev/null
	it_cleanup
}
trap po_cleanup EXIT
trap 'echo "interrupted"; exit 130' INT TERM HUP
if ! it_init "$build"; then
	echo "FAIL: set-up (see the message above)"
	echo "$IT_NAME: 0 passed, 1 failed"
	exit 1
fi

T=$IT_TMP
RT=$IT_RT
NODES=$IT_NODE_DIR
IT_CFG=$T/etc/uacced.json
CFG=$IT_CFG
DROP=$T/etc/uacced.d
mkdir -p "$DROP"
it_copy_prog "$build" uaccectl uaccectl || fatal "uaccectl: not built (build first)"
it_copy_prog "$build/test/clients" policy-probe policy-probe || fatal "policy-probe: not built (build first)"
chmod -R a+rX "$T/bin"
D=$IT_DAEMON
CTL="$T/bin/uaccectl --runtime-dir $RT"
PROBE=$T/bin/policy-probe
it_info "$IT_NAME: build $build, frontend $FRONTEND, nodes in $NODES, temp $T"

# users and groups
U1=uacce-p1 U2=uacce-p2 G1=uacce-pg1 G2=uacce-pg2 GA=uacce-padm
# (lib.sh removes those this suite created at its end)
for g in $G1 $G2 $GA; do
	it_groupadd $g || fatal "groupadd $g"
done
it_useradd $U1 || fatal "useradd $U1"
it_useradd $U2 || fatal "useradd $U2"
usermod -a -G $G1,$G2,$GA $U1 || fatal "usermod $U1"
UID1=$(id -u $U1) UID2=$(id -u $U2) GID1=$(getent group $G1 | cut -d: -f3)
it_ok "users $U1 (uid $UID1, groups $G1 $G2 $GA) and $U2 (uid $UID2, no extra group)"

# as USER COMMAND...: root, p1 (its groups from /etc/group), p1g1 (only $G1), p2;
# lib.sh's it_cmd and it_hold run their commands through it
as() {
	local who=$1
	shift
	case $who in
	root) "$@" ;;
	p1) setpriv --reuid=$U1 --regid=$U1 --init-groups -- "$@" ;;
	p1g1) setpriv --reuid=$U1 --regid=$U1 --groups="$GID1" -- "$@" ;;
	p2) setpriv --reuid=$U2 --regid=$U2 --init-groups -- "$@" ;;
	esac
}
IT_AS=as

# probe DESC USER STEP...: policy-probe must pass every step
probe() { it_cmd "$1" 60 "$2" "$PROBE" "${@:3}"; }
# hold NAME USER STEP...: a background policy-probe (lib.sh's it_hold); its
# steps should end with "ready wait $T/NAME.go ..." (see it_release) or
# "ready sleep"
hold() { it_hold "$1" "$2" 10000 "$PROBE" "${@:3}"; }

# usage table of the daemon: field N of the row of uid U ("" when no row)
ufield() { $CTL usage 2>/dev/null | awk -v u="$1" -v c="$2" '$1 == u {print $c}'; }
ufield_is() { [ "$(ufield "$1" "$2")" = "$3" ]; }
no_usage() { [ -z "$(ufield "$1" 1)" ]; }
# check_usage DESC UID FIELD WANT: (3 queues, 4 per-device, 5 region bytes), 3 s to settle
check_usage() {
	if it_wait 3000 ufield_is "$2" "$3" "$4"; then
		it_ok "$1: uaccectl usage shows $4"
	else
		it_bad "$1: uaccectl usage: expected $4 got \"$(ufield "$2" "$3")\""
		$CTL usage | it_indent
	fi
}
# count_ge FILE PATTERN N: at least N lines of FILE match
count_ge() { [ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; }
log_has() { grep -qF -- "$1" "$IT_DLOG"; }
check_log() {	# DESC TEXT
	if it_wait 2000 log_has "$2"; then
		it_ok "log: $1"
	else
		it_bad "log: $1: no line with \"$2\" in the daemon log"
		tail -n 8 "$IT_DLOG" | it_indent
	fi
}

# start_daemon: lib.sh's it_daemon_start (nodes up), with the notify socket,
# then the control socket
start_daemon() {
	NOTIFY_SOCKET=${NOTIFY_PATH:-} it_daemon_start && it_wait 5000 test -S "$RT/control.sock"
}
reload_ok() { $CTL reload >"$T/reload.out" 2>&1; }

# --- the configuration ---------------------------------------------------------------
# device ids: 0 dummy_v1 (non-SVA), 1 dummy_v2 (SVA), 2 dummy_v2 (non-SVA), 3 spare (SVA)
DEV0=uacce-dummy-0 DEV1=uacce-dummy-1 DEV2=uacce-dummy-2 SPARE=uacce-spare-3
write_main() {
	cat >"$CFG" <<EOF
{
  "nodes": { "group": "root", "mode": "0666" },
  "devices": [
    { "name": "dummy", "api": "dummy_v1", "sva": false, "queues": 8 },
    { "name": "dummy", "api": "dummy_v2", "sva": true, "queues": 8 },
    { "name": "dummy", "api": "dummy_v2", "sva": false, "queues": 8 },
    { "name": "spare", "api": "dummy_v2", "sva": true, "queues": 4 }
  ],
  "quotas": {
    "default": { "max_queues": 2, "max_queues_per_device": 2, "max_region_bytes": "256K",
                 "devices": [ "dummy" ] },
    "users": { "$U2": { "max_queues": 5, "max_region_bytes": "1M" } },
    "groups": {
      "$G1": { "max_queues": 3, "devices": [ "uacce-dummy-[01]" ] },
      "$G2": { "max_queues": 6, "max_queues_per_device": 3, "devices": [ "spare" ] }
    }
  },
  "control": { "admin_group": "$GA" }
}
EOF
	# later drop-ins override earlier ones key by key: p2's max_queues 5 -> 4 -> 3
	echo "{ \"quotas\": { \"users\": { \"$UID2\": { \"max_queues\": 4 } } } }" >"$DROP/10-p2.json"
	echo "{ \"quotas\": { \"users\": { \"$U2\": { \"max_queues\": 3 } } } }" >"$DROP/20-p2.json"
	# null deletes: a user entry added by one drop-in and removed by the next
	echo "{ \"quotas\": { \"users\": { \"nobody\": { \"max_queues\": 0 } } } }" >"$DROP/30-x.json"
	echo "{ \"quotas\": { \"users\": { \"nobody\": null } } }" >"$DROP/40-x.json"
	echo "not a drop-in: ignored" >"$DROP/README"
}
write_main

# --- 1. configuration checks without a daemon -------------------------------------------
out=$($CTL check-config "$CFG" 2>&1)
if [ $? = 0 ] && echo "$out" | grep -q "(+4 drop-ins): OK (4 device(s); quotas: default, 1 user(s), 2 group(s); admin group $GA)"; then
	it_ok "uaccectl check-config, no daemon running: $out"
else
	it_bad "uaccectl check-config of the valid configuration: $out"
fi
out=$("$D" --check-config -c "$CFG" 2>&1)
if [ $? = 0 ] && echo "$out" | grep -q "OK (4 device(s)"; then
	it_ok "uacced --check-config gives the same verdict: $out"
else
	it_bad "uacced --check-config: $out"
fi
out=$($CTL --json check-config "$CFG" 2>&1)
if echo "$out" | grep -q '"ok":true'; then it_ok "uaccectl --json check-config: ok true"; else it_bad "uaccectl --json check-config: $out"; fi

# reject FILE_CONTENT KEYPATH REASON_TEXT: a drop-in with that content must be refused,
# naming the drop-in file, the key path and the reason, by uaccectl and uacced alike
reject() {
	local content=$1 key=$2 reason=$3 f=$DROP/50-bad.json out rc out2 rc2
	printf '%s\n' "$content" >"$f"
	out=$($CTL check-config "$CFG" 2>&1)
	rc=$?
	out2=$("$D" --check-config -c "$CFG" 2>&1)
	rc2=$?
	rm -f "$f"
	if [ $rc = 1 ] && [ $rc2 = 1 ] && echo "$out" | grep -qF "$f: $key" &&
		echo "$out" | grep -qF "$reason" && echo "$out2" | grep -qF "$f: $key"; then
		it_ok "rejected ($key): $out"
	else
		it_bad "expected a rejection naming $f, $key and \"$reason\": uaccectl (exit $rc): $out / uacced (exit $rc2): $out2"
	fi
}
reject '{ "quotas": { "default": { "max_queue": 1 } } }' "quotas.default.max_queue" "unknown key"
reject '{ "quota": {} }' "quota" "unknown key"
reject '{ "quotas": { "users": { "'$U1'": { "max_queues": "3" } } } }' "quotas.users.$U1.max_queues" "is not a count"
reject '{ "quotas": { "users": { "'$U1'": { "max_queues": -1 } } } }' "quotas.users.$U1.max_queues" "out of range"
reject '{ "quotas": { "default": { "max_region_bytes": "64X" } } }' "quotas.default.max_region_bytes" "is not a size"
reject '{ "quotas": { "default": { "max_region_bytes": "1.5M" } } }' "quotas.default.max_region_bytes" "is not a size"
reject '{ "quotas": { "default": { "max_region_bytes": true } } }' "quotas.default.max_region_bytes" "must be a size"
reject '{ "quotas": { "default": { "devices": "dummy" } } }' "quotas.default.devices" "must be an array"
reject '{ "quotas": { "default": { "devices": [ "" ] } } }' "quotas.default.devices[0]" "device name or glob"
reject '{ "quotas": { "users": { "no-such-user-uacce": {} } } }' "quotas.users.no-such-user-uacce" "no such user"
reject '{ "quotas": { "groups": { "no-such-group-uacce": {} } } }' "quotas.groups.no-such-group-uacce" "no such group"
reject '{ "quotas": { "users": { "'$U2'": {}, "'$UID2'": {} } } }' "quotas.users." "the same user as"
reject '{ "control": { "admin_group": "no-such-group-uacce" } }' "control.admin_group" "no such group"
reject '{ "nodes": { "owner": "no-such-user-uacce" } }' "nodes.owner" "no such user"
reject '{ "devices": [ { "name": "x", "api": "dummy_v1", "queues": 0 } ] }' "devices[0].queues" "out of range"
reject '{ "quotas": ' "not valid JSON" "not valid JSON"

# --- 2. the daemon ------------------------------------------------------------------------
if [ -x /usr/bin/python3 ]; then
	NOTIFY_PATH=$T/notify.sock
	/usr/bin/python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as f:
    while True:
        f.write(s.recv(4096).decode().replace("\n", " ") + "\n")
' "$NOTIFY_PATH" "$T/notify.log" &
	NPID=$!
	it_wait 5000 test -S "$NOTIFY_PATH" || NOTIFY_PATH=
fi
start_daemon || { tail -n 20 "$IT_DLOG" | it_indent; fatal "the daemon did not start within 10 s"; }
it_ok "daemon started (pid $IT_DPID, --frontend $FRONTEND)"
if $CTL list >"$T/list.out" 2>&1 && grep -q "^3  *$SPARE .* 4  *4  *0 " "$T/list.out" &&
	grep -q "^0  *$DEV0  *v4  *dummy_v1 .*8  *8  *0 " "$T/list.out"; then
	it_ok "uaccectl list: 4 devices with their attributes and free instances"
else
	it_bad "uaccectl list"
	it_indent "$T/list.out"
fi
if $CTL --json list | grep -q '"name":"'$DEV1'"'; then it_ok "uaccectl --json list"; else it_bad "uaccectl --json list"; fi

# --- 3. max_queues, max_queues_per_device, devices --------------------------------------
# p2: its own entry (max_queues 3 after the drop-ins), the default for the rest
probe "$U2: 2 queues on $DEV1, the 3rd EDQUOT (max_queues_per_device 2, default); 1 on $DEV2; then EDQUOT (max_queues 3, user); $SPARE EACCES (default devices)" p2 \
	open $DEV1 0 open $DEV1 0 open $DEV1 EDQUOT open $DEV2 0 open $DEV0 EDQUOT open $SPARE EACCES
check_log "EDQUOT per device for $U2" "uid $UID2 pid"
check_log "EDQUOT names the limit, its source and the usage" "open refused (EDQUOT): max_queues 3 (user $U2), in use 3"
check_log "EDQUOT per device names the device" "open refused (EDQUOT): max_queues_per_device 2 (default), in use on $DEV1 2"
check_log "EACCES names uid, device and rule" "$SPARE q"
check_log "EACCES reason" "open refused (EACCES): device not allowed by the policy of default"
# p1 in both groups: the most generous of the groups (max_queues 6 from $G2,
# per device 3 from $G2, devices: $G1's and $G2's lists together)
probe "$U1 (groups $G1+$G2): 3 on $DEV1, the 4th EDQUOT (per device 3, $G2); 3 on $SPARE; then EDQUOT (max_queues 6, $G2); $DEV2 EACCES" p1 \
	open $DEV1 0 open $DEV1 0 open $DEV1 0 open $DEV1 EDQUOT open $SPARE 0 open $SPARE 0 open $SPARE 0 \
	open $DEV0 EDQUOT open $DEV2 EACCES
check_log "EDQUOT from the most generous group" "open refused (EDQUOT): max_queues 6 (group $G2), in use 6"
# p1 with only $G1: max_queues 3 from $G1, per device 2 from the default, no spare
probe "$U1 (only $G1): 2 on $DEV1, 1 on $DEV0, then EDQUOT (max_queues 3, $G1); $SPARE EACCES" p1g1 \
	open $DEV1 0 open $DEV1 0 open $DEV1 EDQUOT open $DEV0 0 open $DEV0 EDQUOT open $SPARE EACCES
check_log "EDQUOT from $G1" "open refused (EDQUOT): max_queues 3 (group $G1), in use 3"
# root: only an entry for root would apply
probe "root: 5 queues on $DEV1 and one on $SPARE (quotas.default does not apply to root)" root \
	open $DEV1 0 open $DEV1 0 open $DEV1 0 open $DEV1 0 open $DEV1 0 open $SPARE 0
if it_wait 3000 it_avail_is $DEV1 8; then it_ok "$DEV1: available_instances back to 8 after the probes"; else it_bad "$DEV1 available_instances $(it_attr $DEV1 available_instances)"; fi

# --- 4. max_region_bytes (ENOMEM), over processes, exact after owner death ------------------
probe "$U1: MMIO 4K + SS 256K on $DEV0 -> ENOMEM (max_region_bytes 256K, default); SS 252K -> ok" p1 \
	open $DEV0 0 start 0 map mmio auto 0 map ss 256K ENOMEM map ss 252K 0
check_log "ENOMEM names the limit, its source and the usage" "bytes refused (ENOMEM): max_region_bytes 262144 (default), in use 4096"
# memory shared with an SVA device (UB_SHARE) counts as region memory
probe "$U1: SVA $DEV1: 252K shared with the device -> ok, 8K more -> ENOMEM (max_region_bytes 256K)" p1 \
	open $DEV1 0 start 0 shmem 252K 0 shmem 8K ENOMEM
check_log "shared memory refused with the limit named" "bytes refused (ENOMEM): max_region_bytes 262144 (default), in use 258048"
hold A p2 open $DEV2 0 start 0 map ss 512K 0 ready sleep
check_usage "$U2 holds SS 512K in process A" "$UID2" 5 "512K/1M"
probe "$U2, process B: MMIO 4K, SS 512K -> ENOMEM (the user's 1M is shared by its processes), SS 508K -> ok" p2 \
	open $DEV0 0 start 0 map mmio auto 0 map ss 512K ENOMEM map ss 508K 0
check_log "ENOMEM of $U2 at exactly 1M" "max_region_bytes 1048576 (user $U2), in use 528384"
check_usage "process B exited: only A's memory" "$UID2" 5 "512K/1M"
it_hold_kill A
if it_wait 2000 no_usage "$UID2"; then it_ok "$U2's holder SIGKILLed: no usage left (queues, bytes)"; else it_bad "usage of $U2 after the owner's death: $($CTL usage | grep "^$UID2 ")"; fi

# --- 5. SS sharing counted once --------------------------------------------------------------
hold S p2 open $DEV2 0 start 0 map ss 256K 0 open $DEV2 0 start 0 share 0 0 \
	open $DEV0 0 start 0 map ss 768K 0 map mmio auto ENOMEM ready sleep
check_usage "SS 256K shared by two queues + SS 768K: counted once, exactly the limit" "$UID2" 5 "1M/1M"
check_usage "three queues of $U2" "$UID2" 3 "3/3"
if $CTL queues | grep -E "^[0-9]+ +$DEV2 +${IT_HOLD_PID[S]} +$UID2 +$U2 +policy-probe +started +ss \(ss shared\) +256K" | wc -l | grep -q 2; then
	it_ok "uaccectl queues: both sharing queues, owner pid ${IT_HOLD_PID[S]}, uid, command, state, regions, bytes"
else
	it_bad "uaccectl queues"
	$CTL queues | it_indent
fi
if $CTL --json queues | grep -q '"ss_shared":true'; then it_ok "uaccectl --json queues: ss_shared"; else it_bad "uaccectl --json queues"; fi
if $CTL --json usage | grep -q '"max_region_bytes_source":"user '$U2'"'; then
	it_ok "uaccectl --json usage names the source of each limit"
else
	it_bad "uaccectl --json usage"
	$CTL --json usage | it_indent
fi
it_hold_kill S
it_wait 2000 no_usage "$UID2" && it_ok "sharing holder killed: $U2's usage is gone" || it_bad "usage after the sharing holder died"

# --- 6. fork: the child holds the fds, the owner pays; its death frees it all ---------------
# (the child writes its pid file itself, as $U2: in a directory of $U2's;
# without it the child would outlive the run)
install -d -o "$U2" "$T/p2"
hold F p2 open $DEV1 0 start 0 map mmio auto 0 map dus auto 0 fork-child "$T/p2/child.pid" ready sleep
if it_wait 5000 test -s "$T/p2/child.pid"; then
	CHILD=$(cat "$T/p2/child.pid")
	IT_BG_PIDS+=("$CHILD")
else
	it_bad "fork: the child wrote no pid file ($T/p2/child.pid)"
fi
check_usage "after fork: still the owner's 8K" "$UID2" 5 "8K/1M"
check_usage "after fork: still one queue" "$UID2" 3 "1/3"
kill -KILL "${IT_HOLD_PID[F]}"
if it_wait 2000 no_usage "$UID2"; then
	it_ok "owner SIGKILLed while its forked child keeps the fd: usage back to none"
else
	it_bad "usage after the owner died (child alive): $($CTL usage | grep "^$UID2 ")"
fi
probe "$U2 can open its 3 queues again while the child lives" p2 open $DEV1 0 open $DEV1 0 open $DEV2 0 open $DEV0 EDQUOT
[ -n "${CHILD:-}" ] && kill -KILL "$CHILD"
wait "${IT_HOLD_JOB[F]}" 2>/dev/null

# --- 6b. uaccectl top: queues per device and per user, the request counters ------------------
# two users hold queues; top's JSON and terminal forms must show them with the right counts
hold T1 p1 open $DEV1 0 open $DEV1 0 ready sleep
hold T2 p2 open $DEV1 0 open $DEV2 0 ready sleep
it_wait 3000 it_avail_is $DEV1 5 || it_bad "$DEV1: available_instances $(it_attr $DEV1 available_instances), want 5"
# root copies through $DEV1 meanwhile (no quota: root has no entry); rates must match the counters
"$IT_DUMMY" -d $DEV1 -n 100000000 -s 4096 >/dev/null 2>&1 &
BGD=$!
IT_BG_PIDS+=("$BGD")
it_wait 5000 it_avail_is $DEV1 4 || it_bad "root's copier on $DEV1: available_instances $(it_attr $DEV1 available_instances), want 4"
if $CTL top -n 2 -d 0.2 --json >"$T/top.json" 2>"$T/top.err" && [ "$(wc -l <"$T/top.json")" = 2 ]; then
	it_ok "uaccectl top -n 2 -d 0.2 --json: two JSON lines"
else
	it_bad "uaccectl top --json: $(cat "$T/top.err") $(wc -l <"$T/top.json") lines"
fi
kill "$BGD" 2>/dev/null
wait "$BGD" 2>/dev/null
users_of() {	# LINE: "user queues/max device:n,..." of the two test users
	sed -n "$1p" "$T/top.json" | jq -r --arg a "$U1" --arg b "$U2" '[.users[] | select(.user == $a or .user == $b)]
		| sort_by(.user) | map("\(.user) \(.queues)/\(.max_queues) " +
		(.devices | to_entries | map("\(.key):\(.value)") | join(","))) | join("; ")'
}
want="$U1 2/6 $DEV1:2; $U2 2/3 $DEV1:1,$DEV2:1"
for l in 1 2; do
	got=$(users_of $l)
	[ "$got" = "$want" ] && it_ok "top refresh $l: per user: $got" || it_bad "top refresh $l: per user \"$got\", want \"$want\""
done
got=$(sed -n 2p "$T/top.json" | jq -r --arg d $DEV1 '.devices[] | select(.name == $d) |
	"\(.queues) \(.used) \(.available_instances) \(.open_queues)"')
[ "$got" = "8 4 4 4" ] && it_ok "top: $DEV1: 8 queues, 4 used (the holders' 3, root's copier 1), 4 free, 4 open" ||
	it_bad "top: $DEV1 queues used free open: \"$got\", want \"8 4 4 4\""
got=$(sed -n 2p "$T/top.json" | jq -r --argjson p1 "${IT_HOLD_PID[T1]}" --argjson p2 "${IT_HOLD_PID[T2]}" \
	'[.queues[] | select(.pid == $p1 or .pid == $p2) | "\(.user):\(.device):\(.state)"] | join(" ")')
want="$U1:$DEV1:init $U1:$DEV1:init $U2:$DEV1:init $U2:$DEV2:init"
[ "$got" = "$want" ] && it_ok "top: the holders' queues with owner, device and state" || it_bad "top queues: \"$got\", want \"$want\""
# the first refresh has no rates; the second: every device's rate is its counter's
# difference over the interval (1 decimal; the interval is printed to the ms)
rates_ok=$(jq -s -r '.[1].interval as $t | [range(0; .[1].devices | length) as $i |
	(.[1].devices[$i].requests - .[0].devices[$i].requests) as $d |
	((.[1].devices[$i].requests_per_s - $d / $t) | fabs) <= (0.06 + $d / $t * 0.01)] | all' "$T/top.json" 2>/dev/null)
moved=$(jq -s -r --arg d $DEV1 '[.[].devices[] | select(.name == $d) | .requests] | .[1] - .[0]' "$T/top.json" 2>/dev/null)
if [ "$(jq -s -r '(.[0] | [.interval, .devices[].requests_per_s, .queues[].requests_per_s] | map(select(. != null)) | length),
	(.[1].interval > 0)' "$T/top.json" 2>/dev/null | paste -sd' ' -)" = "0 true" ] && [ "$rates_ok" = true ]; then
	it_ok "top: no rates on the first refresh; on the second each device's REQ/S is its counter's difference over the interval ($DEV1: $moved requests)"
else
	it_bad "top rates: $(cat "$T/top.json")"
fi
req_of() { $CTL top -n 1 --json | jq -r --arg d "$1" '.devices[] | select(.name == $d) | .requests'; }
r0=$(req_of $DEV1)
it_dummy root $DEV1 500
r1=$(req_of $DEV1)
[ -n "$r0" ] && [ $((r1 - r0)) = 500 ] && it_ok "$DEV1's request counter: +500 for 500 copies ($r0 -> $r1)" ||
	it_bad "$DEV1's request counter: $r0 -> $r1 for 500 copies"
# the terminal form: the screen redrawn at each refresh, the users' rows
it_wait 3000 it_avail_is $DEV1 5 || it_bad "$DEV1 after the copiers: available_instances $(it_attr $DEV1 available_instances), want 5"
script -qfc "$CTL top -n 2 -d 0.2" /dev/null 2>&1 | tr -d '\r' >"$T/top.tty"
n=$(grep -o $'\033\\[H\033\\[2J' "$T/top.tty" | wc -l)
if [ "$n" = 2 ] && grep -qE "^$UID1 +$U1 +2 +6 +[0-9.]+ +$DEV1:2\$" "$T/top.tty" &&
	grep -qE "^$UID2 +$U2 +2 +3 +[0-9.]+ +$DEV1:1,$DEV2:1\$" "$T/top.tty" &&
	grep -qE "^$DEV1 +8 +3 +5 +3 +[0-9]+ +[0-9.]+\$" "$T/top.tty"; then
	it_ok "top on a terminal: the screen cleared twice, rows of $U1 and $U2, $DEV1: 3 used, 5 free"
else
	it_bad "top on a terminal ($n clears):"
	cat -v "$T/top.tty" | it_indent
fi
out=$($CTL top -n 1 2>&1)
if ! echo "$out" | grep -q $'\033' && echo "$out" | grep -qE "^$UID1 +$U1 +2 +6 +- +$DEV1:2\$"; then
	it_ok "top without a terminal: a plain snapshot (no escapes; no rate on the one refresh)"
else
	it_bad "top without a terminal: $(echo "$out" | cat -v)"
fi
for a in "-d 0" "-d 0.01" "-n 0" "-n x" "extra"; do
	$CTL top $a >/dev/null 2>"$T/top.err"
	rc=$?
	[ $rc = 2 ] && it_ok "top $a: usage error (exit 2: $(head -n 1 "$T/top.err"))" || it_bad "top $a: exit $rc"
done
out=$(as p2 $CTL top -n 1 2>&1)
[ $? = 1 ] && echo "$out" | grep -q "permission denied" && it_ok "top as $U2 (not in $GA): refused" ||
	it_bad "top as $U2: $out"
it_hold_kill T1
it_hold_kill T2
it_wait 2000 no_usage "$UID1" && it_wait 2000 no_usage "$UID2" && it_ok "top's holders killed: no usage left" ||
	it_bad "usage after top's holders: $($CTL usage)"

# --- 7. the control socket: who may use it ---------------------------------------------------
# sock_is FILE "OWNER:GROUP MODE": the socket file's owner, group and mode
sock_is() { [ "$(stat -c '%U:%G %a' "$RT/$1" 2>/dev/null)" = "$2" ]; }
# connect_as USER FILE: connect(2) to the socket as USER: "connected" or the errno's name
connect_as() {
	[ -x /usr/bin/python3 ] || { echo "no python3"; return; }
	as "$1" /usr/bin/python3 -c '
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET if sys.argv[1].endswith("broker.sock") else socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
' "$RT/$2" 2>&1
}
# expect_eacces USER FILE WHO: connect(2) as USER gets EACCES
expect_eacces() {
	local out
	out=$(connect_as "$1" "$2")
	case $out in
	EACCES) it_ok "connect(2) to $2 as $3: EACCES" ;;
	"no python3") it_info "connect(2) to $2 as $3: not tried (no python3)" ;;
	*) it_bad "connect(2) to $2 as $3: $out, expected EACCES" ;;
	esac
}
# sockets_are CONTROL BROKER: both files as expected (issue 11 item 3: reachable only by those who may use them)
sockets_are() {
	if sock_is control.sock "$1" && sock_is broker.sock "$2"; then
		it_ok "$3: control.sock $1, broker.sock $2"
	else
		it_bad "$3: control.sock $(stat -c '%U:%G %a' "$RT/control.sock"), expected $1; broker.sock $(stat -c '%U:%G %a' "$RT/broker.sock"), expected $2"
	fi
}
sockets_are "root:$GA 660" "root:root 666" "admin group $GA, nodes root:root 0666"
expect_eacces p2 control.sock "$U2 (not in $GA)"
out=$(as p2 $CTL list 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -qF "permission denied: only root and members of group \"$GA\" may use the uacced control socket"; then
	it_ok "uaccectl as $U2 (not in $GA): refused: $out"
else
	it_bad "uaccectl as $U2: exit $rc: $out"
fi
if as p1 $CTL usage >/dev/null 2>&1; then it_ok "uaccectl as $U1 (member of $GA): allowed"; else it_bad "uaccectl as $U1 refused"; fi
if ! grep -qF "control: refused uid $UID2" "$IT_DLOG"; then
	it_ok "log: no refusal of $U2 logged (the kernel refused it: no connection ever reached the daemon)"
else
	it_bad "log: a connection of $U2 reached the daemon: $(grep -F "control: refused uid $UID2" "$IT_DLOG" | head -n 1)"
fi
# 20 silent connections of an admin hold its own 8 slots (the rest refused at once) and
# never delay root: the daemon serves connections side by side
if [ -x /usr/bin/python3 ]; then
	as p1 /usr/bin/python3 -c '
import socket, sys, time
socks = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    socks.append(s)
print("connected", flush=True)
time.sleep(0.5)
refused = 0
for s in socks:
    s.setblocking(False)
    try:
        refused += b"too many control connections from uid" in s.recv(4096)
    except BlockingIOError:
        pass
print("refused", refused, flush=True)
time.sleep(2)
' "$RT/control.sock" >"$T/silent.out" 2>&1 &
	SPID=$!
	if it_wait 5000 grep -q connected "$T/silent.out"; then
		t0=$(it_ms)
		$CTL list >"$T/list.out" 2>&1
		rc=$? t1=$(it_ms)
		if [ $rc = 0 ] && [ $((t1 - t0)) -lt 4000 ]; then
			it_ok "uaccectl list answered in $((t1 - t0)) ms beside 20 silent connections of $U1"
		else
			it_bad "uaccectl list beside 20 silent connections: exit $rc after $((t1 - t0)) ms"
		fi
	else
		it_bad "20 silent connections of $U1: $(cat "$T/silent.out")"
	fi
	wait "$SPID"
	if grep -q "^refused 12$" "$T/silent.out"; then
		it_ok "$U1's connections beyond 8 refused with the reason"
	else
		it_bad "connections over the per-uid cap: $(cat "$T/silent.out")"
	fi
fi

# --- 8. reload: a malformed drop-in leaves the old configuration in force --------------------
hold H p2 open $DEV2 0 start 0 map ss 64K 0 ready wait "$T/H.go" ioctl 0 start EINVAL put 0
hold R p1 open $SPARE 0 start 0 map mmio auto 0 ready wait "$T/R.go" ioctl 0 start ENODEV ioctl 0 put ENODEV
echo '{ "quotas": { "users": { "'$U2'": { "max_queues": 1, "max_queue_per_device": 1 } } } }' >"$DROP/60-new.json"
nr=$(grep -c READY=1 "$T/notify.log" 2>/dev/null)
kill -HUP "$IT_DPID"
check_log "SIGHUP with a malformed drop-in: refused, with the file and key" \
	"reload refused, the previous configuration stays in force: $DROP/60-new.json: quotas.users.$U2.max_queue_per_device: unknown key"
if kill -0 "$IT_DPID" 2>/dev/null && [ -e "$NODES/$SPARE" ] && [ -e "$NODES/$DEV0" ]; then
	it_ok "the daemon still serves after the refused reload (nodes present)"
else
	it_bad "daemon or nodes gone after a refused reload"
fi
probe "the old policy is in force: $U2 gets its 2nd queue, not EDQUOT (the new file said 1)" p2 open $DEV1 0
out=$($CTL reload 2>&1)
rc=$?
if [ $rc = 1 ] && echo "$out" | grep -qF "reload refused: $DROP/60-new.json: quotas.users.$U2.max_queue_per_device: unknown key" &&
	echo "$out" | grep -q "previous configuration stays in force"; then
	it_ok "uaccectl reload: refused with the reason: $(echo "$out" | tr "\n" " ")"
else
	it_bad "uaccectl reload of a malformed drop-in: exit $rc: $out"
fi
if [ -n "${NOTIFY_PATH:-}" ]; then
	if it_wait 2000 count_ge "$T/notify.log" RELOADING=1 2 &&
		it_wait 2000 count_ge "$T/notify.log" READY=1 $((nr + 2)); then
		it_ok "systemd: RELOADING=1 then READY=1 around each reload (refused ones too)"
	else
		it_bad "systemd notifications: $(tr '\n' '|' <"$T/notify.log")"
	fi
fi

# --- 9. a valid reload: new limits, a removed device, an added one ------------------------------
echo '{ "quotas": { "users": { "'$U2'": { "max_queues": 1 } } } }' >"$DROP/60-new.json"
replace_spare() {	# the main file without spare, with "extra" (ids: lowest free)
	sed -e 's/{ "name": "spare".*/{ "name": "extra", "api": "dummy_v1", "queues": 2 }/' "$CFG" >"$CFG.new" &&
		mv "$CFG.new" "$CFG"
}
replace_spare
if reload_ok && grep -q "devices: 3 kept, 1 added, 1 removed" "$T/reload.out"; then
	it_ok "uaccectl reload: $(cat "$T/reload.out")"
else
	it_bad "uaccectl reload: $(cat "$T/reload.out")"
fi
gone() { [ ! -e "$1" ]; }
if it_wait 2000 gone "$NODES/$SPARE" && [ -e "$NODES/uacce-extra-3" ] && [ ! -e "$RT/class/$SPARE" ] &&
	[ "$(cat "$RT/class/uacce-extra-3/id" 2>/dev/null)" = 3 ]; then
	it_ok "$SPARE removed (node and attributes); the new device got the lowest free id: uacce-extra-3"
else
	it_bad "nodes after the reload: $(ls "$NODES" | grep uacce- | tr '\n' ' ')"
fi
probe "new opens obey the new policy: $U2 (one queue held) -> EDQUOT (max_queues 1)" p2 open $DEV1 EDQUOT
it_release R "the open queue of the removed $SPARE: START and PUT_Q give ENODEV"
it_release H "an open queue of a kept device survives the reload (START -> EINVAL: already started; PUT_Q ok)"
probe "$U2 opens uacce-extra-3? not in the default devices (\"dummy\") -> EACCES" p2 open uacce-extra-3 EACCES
if $CTL list | grep -q "^3  *uacce-extra-3 .* 2  *2  *0 "; then it_ok "uaccectl list shows uacce-extra-3"; else it_bad "uaccectl list after reload"; $CTL list | it_indent; fi

# a second reload: remove id 1, add a device: it gets id 1; a changed device is replaced
hold K p2 open $DEV2 0 start 0 ready wait "$T/K.go" ioctl 0 start ENODEV$([ "$FRONTEND" = cuse ] && echo "|ENOTCONN")
sed -i -e 's/{ "name": "dummy", "api": "dummy_v2", "sva": true, "queues": 8 }/{ "name": "more", "api": "dummy_v2", "sva": true, "queues": 3 }/' \
	-e 's/{ "name": "dummy", "api": "dummy_v2", "sva": false, "queues": 8 }/{ "name": "dummy", "api": "dummy_v2", "sva": false, "queues": 6 }/' "$CFG"
if reload_ok && grep -q "devices: 2 kept, 2 added, 2 removed" "$T/reload.out"; then
	it_ok "reload: $(cat "$T/reload.out")"
else
	it_bad "second reload: $(cat "$T/reload.out")"
fi
if it_wait 2000 test -e "$NODES/uacce-more-1" && [ -e "$NODES/$DEV0" ] && [ -e "$NODES/$DEV2" ] &&
	[ ! -e "$NODES/$DEV1" ] && [ "$(it_attr $DEV2 available_instances)" = 6 ]; then
	it_ok "ids: $DEV0 kept, the new device took the free id 1 (uacce-more-1), the changed $DEV2 kept id 2 (6 queues now)"
else
	it_bad "nodes after the second reload: $(ls "$NODES" | grep uacce- | tr '\n' ' ') avail $DEV2=$(it_attr $DEV2 available_instances)"
fi
it_release K "the open queue of the replaced (changed) device gets an error"

# --- 9b. groups read when a policy needs them ------------------------------------------------
# Under a policy without group entries the daemon does not read an opener's
# groups (the dearest part of an open); a reload that brings group entries
# makes it read them for the queues already open: p1's then count its groups.
cp "$CFG" "$T/cfg.groups"
sed -i -e '/^    "groups": {$/,/^    }$/c\    "groups": {}' "$CFG"
if reload_ok; then it_ok "reload to a policy without group entries"; else it_bad "reload without groups: $(cat "$T/reload.out")"; fi
hold G p1 open $DEV0 0 ready sleep
check_usage "$U1 holds a queue opened under no group entry: the default's max_queues" "$UID1" 3 "1/2"
cp "$T/cfg.groups" "$CFG"
if reload_ok; then it_ok "reload with the group entries again"; else it_bad "reload with groups: $(cat "$T/reload.out")"; fi
check_usage "that queue now counts its process's groups: max_queues 6 ($G2)" "$UID1" 3 "1/6"
it_hold_kill G

# --- 10. reload removes the admin group and changes the node mode -----------------------------
sed -i -e 's/"control": { "admin_group": "[^"]*" }/"control": {}/' -e 's/"mode": "0666"/"mode": "0640"/' "$CFG"
reload_ok || it_bad "reload without the admin group: $(cat "$T/reload.out")"
node_mode_is() { [ "$(stat -c %a "$NODES/$DEV0" 2>/dev/null)" = "$1" ]; }
if it_wait 3000 node_mode_is 640; then it_ok "reload: nodes.mode 0640 applied to the existing nodes"; else it_bad "node mode after reload: $(stat -c %a "$NODES/$DEV0")"; fi
probe "$U2 cannot open the 0640 root:root node any more -> EACCES (permissions, not policy)" p2 open $DEV0 EACCES
out=$(as p1 $CTL list 2>&1)
if [ $? = 1 ] && echo "$out" | grep -q "only root may use"; then it_ok "after the reload without control.admin_group, $U1 is refused: $out"; else it_bad "uaccectl as $U1: $out"; fi
sockets_are "root:root 600" "root:root 640" "after the reload (no admin group, nodes 0640)"
expect_eacces p1 control.sock "$U1 (no admin group any more)"
expect_eacces p2 broker.sock "$U2 (nodes 0640 root:root)"
if $CTL list >/dev/null 2>&1; then it_ok "root's uaccectl list still served"; else it_bad "root's uaccectl list after the reload"; fi

# --- 11. the end ---------------------------------------------------------------------------
if kill -0 "$IT_DPID" 2>/dev/null; then
	it_daemon_kill TERM 10000
	it_ok "SIGTERM: the daemon exited"
	[ ! -e "$RT/control.sock" ] && it_ok "control.sock removed at exit" || it_bad "control.sock left at exit"
else
	it_bad "the daemon died during the tests"
	tail -n 30 "$IT_DLOG" | it_indent
fi
out=$($CTL list 2>&1)
if [ $? = 1 ] && echo "$out" | grep -q "no uacced is running"; then it_ok "uaccectl without a daemon: $out"; else it_bad "uaccectl without a daemon: $out"; fi
out=$($CTL top -n 1 2>&1)
if [ $? = 1 ] && echo "$out" | grep -q "no uacced is running"; then it_ok "uaccectl top without a daemon: $out"; else it_bad "uaccectl top without a daemon: $out"; fi
it_summary
exit $?
