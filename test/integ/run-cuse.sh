#!/bin/bash
# test/integ/run-cuse.sh BUILD_DIR - what only CUSE has (run in the guest):
# real character devices in /dev with the configured mode and group (their
# dev attributes as sysfs has them, their udev properties), the
# duplicate-name detection (CUSE itself fails silently), the nodes and the
# sysfs entries going away at shutdown, and an error (not a hang) for
# clients when the daemon dies.
# Last line: "cuse-checks: N passed, M failed"; exit status M.
set -u
IT_NAME=${IT_NAME:-cuse-checks}
export UACCE_FRONTEND=cuse
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
build=$(cd "${1:-.}" && pwd) || exit 2
trap it_cleanup EXIT
it_init "$build" || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
it_users || it_bad "test users"
it_write_config

if it_daemon_start; then
	it_ok "daemon published $IT_DEV0 $IT_DEV1 $IT_DEV2 through CUSE"
else
	it_indent "$IT_DLOG" | tail -20
	it_bad "daemon did not start"; it_summary; exit 1
fi
for d in $IT_DEV0 $IT_DEV1 $IT_DEV2; do
	got=$(stat -c '%F %a %U:%G' "/dev/$d")
	[ "$got" = "character special file 660 root:$IT_GROUP" ] &&
		it_ok "/dev/$d: $got" || it_bad "/dev/$d: expected \"character special file 660 root:$IT_GROUP\" got \"$got\""
	[ -e "/sys/class/cuse/$d" ] && it_ok "/sys/class/cuse/$d exists" ||
		it_bad "/sys/class/cuse/$d missing"
	# names (issue 12): dev as sysfs has it; what 60-uacce.rules imports
	got=$(it_attr "$d" dev)
	[ -n "$got" ] && [ "$got" = "$(cat "/sys/class/cuse/$d/dev")" ] &&
		it_ok "class/$d/dev \"$got\" = /sys/class/cuse/$d/dev" ||
		it_bad "class/$d/dev \"$got\", /sys/class/cuse/$d/dev \"$(cat "/sys/class/cuse/$d/dev")\""
	got=$(tr '\n' ' ' <"$IT_RT/udev/$d" 2>&1)
	want="UACCE_NODE_OWNER=0 UACCE_NODE_GROUP=$IT_GID UACCE_NODE_MODE=0660 "
	[ "$got" = "$want" ] && it_ok "$IT_RT/udev/$d: $got" || it_bad "$IT_RT/udev/$d: \"$got\", want \"$want\""
done

# a second daemon with the same device names must say so and fail
out=$IT_TMP/second.log
timeout 20 "$IT_DAEMON" -f --frontend cuse --runtime-dir "$IT_TMP/run2" -c "$IT_CFG" >"$out" 2>&1
rc=$?
if [ $rc = 1 ] && grep -q "already taken" "$out"; then
	it_ok "second daemon with the same names: exit 1, \"$(grep -m1 'already taken' "$out" | sed 's/^<[0-9]>//')\""
else
	it_bad "second daemon with the same names: expected exit 1 and \"already taken\", got exit $rc"
	it_indent "$out"
fi
it_daemon_alive && it_ok "the first daemon still runs" || it_bad "the first daemon died"
it_dummy root "$IT_DEV1" 2000
it_dummy "$IT_USER1" "$IT_DEV0" 2000
it_cmd_fails "outsider $IT_USER2 cannot open /dev/$IT_DEV1" 30 "$IT_USER2" "$IT_DUMMY" -d "$IT_DEV1" -n 1

# a client blocked waiting on its queue gets an error when the daemon is killed
if it_bg_probe "$IT_USER1" "$IT_TMP/hold.out" wait-death "$IT_DEV1" poll; then
	holder=$IT_BG
	it_daemon_kill KILL
	if it_wait 5000 it_nodes_gone; then
		it_ok "SIGKILL of the daemon: the nodes are gone"
	else
		it_bad "SIGKILL of the daemon: nodes still present"
	fi
	if it_wait 10000 sh -c "! kill -0 $holder 2>/dev/null"; then
		wait "$holder" 2>/dev/null
		rc=$?
		[ $rc = 0 ] && it_ok "a client blocked in poll() on its queue got an error: $(grep -v '^ready' "$IT_TMP/hold.out" | tail -n 1)" ||
			{ it_bad "the blocked client: exit $rc"; it_indent "$IT_TMP/hold.out"; }
	else
		it_bad "a client blocked in poll() still hangs 10 s after the daemon died"
	fi
else
	it_bad "holder did not start"; it_indent "$IT_TMP/hold.out"
fi
# restart: stale runtime files are cleaned and the devices come back
if it_daemon_start; then
	it_ok "restarted daemon published the devices again"
	it_dummy "$IT_USER1" "$IT_DEV1" 1000
else
	it_bad "restart failed"; it_indent "$IT_DLOG" | tail -20
fi
it_daemon_kill TERM
[ "$IT_DRC" = 0 ] && it_ok "SIGTERM: exit 0" || it_bad "SIGTERM: exit $IT_DRC"
it_nodes_gone && it_ok "SIGTERM: /dev nodes removed" || it_bad "SIGTERM: nodes left"
[ ! -e "/sys/class/cuse/$IT_DEV0" ] && it_ok "SIGTERM: /sys/class/cuse entries removed" ||
	it_bad "SIGTERM: /sys/class/cuse/$IT_DEV0 left"
[ ! -e "$IT_RT/class" ] && [ ! -e "$IT_RT/devices" ] && [ ! -e "$IT_RT/udev" ] &&
	[ ! -e "$IT_RT/broker.sock" ] && it_ok "SIGTERM: runtime files removed (class/, devices/, udev/)" ||
	it_bad "SIGTERM: runtime files left: $(ls "$IT_RT")"
it_summary
exit "$IT_FAIL"
