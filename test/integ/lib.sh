# shellcheck shell=bash
# shellcheck disable=SC2034 # variables for the scripts that source this file
# test/integ/lib.sh - helpers shared by the integration scripts: the host
# run (run-host.sh, FUSE fallback) and a guest run (CUSE) can source it and
# call the same steps.  Nothing here depends on the frontend except
# through these variables, set before it_init:
#
#   UACCE_FRONTEND   fuse (default) or cuse
#   UACCE_NODE_DIR   where the device nodes appear: <runtime dir>/dev for
#                    fuse (passed as --fuse-dir), /dev for cuse
#   UACCE_INTEG_SKIP names of steps to skip (space separated, see it_skip)
#   UACCE_INTEG_COPY 1 (default): run private copies of the binaries, so a
#                    rebuild or a stray "pkill <build>/uacced" elsewhere
#                    on the machine cannot change or kill them mid-run
#   UACCE_INTEG_VERBOSE 1: print the output of passing commands too
#   UACCE_INTEG_KEEP 1: keep the temporary directory (logs) at exit
#   UACCE_TIME_SCALE N (default 1): multiply the time limits, here and in
#                    abi-probe, on slow (emulated) machines
#
# Output: one line per check, "ok: ..." or "FAIL: ...", details of a failing
# command indented below it, "info: ..." for measurements; it_summary prints
# the last line "<name>: N passed, M failed".

IT_PASS=0
IT_FAIL=0
IT_NAME=${IT_NAME:-integration}
IT_FRONTEND=${UACCE_FRONTEND:-fuse}
IT_QUEUES=8				# hardware queues per device in the config
IT_DEV0=uacce-dummy-0			# dummy_v1, non-SVA
IT_DEV1=uacce-dummy-1			# dummy_v2, SVA
IT_DEV2=uacce-dummy-2			# dummy_v2, non-SVA
# the same devices and the zip device in the mainline profile (issue 12):
# nodes named <name>-<id> as the kernel names them
IT_ML0=dummy-3				# dummy_v1, non-SVA, "abi": "mainline"
IT_ML1=dummy-4				# dummy_v2, SVA, mainline
IT_ML2=dummy-5				# dummy_v2, non-SVA, mainline
IT_MLZ0=zip-6				# uacce_zip_v1, SVA, mainline
IT_MLZ1=zip-7				# uacce_zip_v1, non-SVA, mainline
IT_GROUP=uacce-test
IT_USER1=uacce-t1			# in $IT_GROUP
IT_USER2=uacce-t2			# not in it
IT_DPID=
IT_DRC=					# exit status of the daemon, set by it_daemon_kill
IT_DN=0
IT_BG_PIDS=()
IT_TMP=
IT_TS=${UACCE_TIME_SCALE:-1}		# time limits are multiplied by this
IT_AS=it_as				# runs a command as a user: see it_as
IT_SANITIZER_RE='ERROR: (Address|Leak|Thread|Memory)Sanitizer|WARNING: ThreadSanitizer|runtime error:|SUMMARY: UndefinedBehaviorSanitizer'

it_ok()   { IT_PASS=$((IT_PASS + 1)); echo "ok: $*"; }
it_bad()  { IT_FAIL=$((IT_FAIL + 1)); echo "FAIL: $*"; }
it_info() { echo "info: $*"; }
# milliseconds; bash's own clock: no date(1) process (~0.3 s each in the TCG guest)
it_now_ms() { local t=${EPOCHREALTIME/[.,]/}; IT_NOW=$((t / 1000)); }
it_ms()   { it_now_ms; echo "$IT_NOW"; }
# The helpers below use bash's builtins, not grep, sed, cat or sleep: half
# the processes of run-host.sh (875 -> 458), a few per cent of its time in
# the TCG guest.  Small files: it_grep leaves what lies past 2,000 lines to grep.
it_indent() {	# it_indent [FILE...]: each line indented by 4
	local l f
	if [ $# = 0 ]; then
		while IFS= read -r l || [ -n "$l" ]; do printf '    %s\n' "$l"; done
		return 0
	fi
	for f; do
		while IFS= read -r l || [ -n "$l" ]; do printf '    %s\n' "$l"; done <"$f"
	done
}
# it_grep [-q] ERE FILE: grep -E [-q] ERE FILE (a missing file: no match, status 1)
it_grep() {
	local q=0 l n=0 found=1
	[ "$1" = -q ] && { q=1; shift; }
	[ -r "$2" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do
		n=$((n + 1))
		if [ $n -gt 2000 ]; then
			[ $q = 1 ] && { grep -qE -- "$1" "$2"; return; }
			tail -n +2001 "$2" | grep -E -- "$1" && found=0
			return $found
		fi
		if [[ $l =~ $1 ]]; then
			[ $q = 1 ] && return 0
			printf '%s\n' "$l"
			found=0
		fi
	done <"$2"
	return $found
}
# it_ready_pid FILE: the PID of FILE's first "ready PID" line
it_ready_pid() {
	local l
	while IFS= read -r l; do
		[[ $l =~ ^ready\ ([^ ]+) ]] && { echo "${BASH_REMATCH[1]}"; return 0; }
	done <"$1"
	return 1
}
# it_sleep SECONDS: read -t on a FIFO nobody writes (opened for the read only)
it_sleep() {
	if [ -n "${IT_TMP:-}" ] && { [ -p "$IT_TMP/.sleep" ] || mkfifo "$IT_TMP/.sleep" 2>/dev/null; }; then
		read -r -t "$1" _ <>"$IT_TMP/.sleep"
		return 0
	fi
	sleep "$1"
}

# it_skip NAME: true (and says so) when NAME is listed in UACCE_INTEG_SKIP
it_skip() {
	case " ${UACCE_INTEG_SKIP:-} " in
	*" $1 "*) echo "skip: $1 (UACCE_INTEG_SKIP)"; return 0 ;;
	esac
	return 1
}

# it_wait MS COMMAND...: retry COMMAND every 10 ms until it succeeds or
# MS (times UACCE_TIME_SCALE) pass
it_wait() {
	local end
	it_now_ms
	end=$((IT_NOW + $1 * IT_TS))
	shift
	until "$@"; do
		it_now_ms
		[ "$IT_NOW" -ge "$end" ] && return 1
		it_sleep 0.01
	done
}

it_attr() {	# it_attr NODE NAME: the value (one line), or status 1
	local v
	IFS= read -r v 2>/dev/null <"$IT_RT/class/$1/$2" || [ -n "$v" ] || return 1
	printf '%s\n' "$v"
}

# it_store_quiet LOG: under test/clients/fakesd (its log LOG), the crash
# journal is current: its last snapshot went to the store and nothing
# entered or left the store for a second (a queue that changes after the
# snapshot is revoked by a crash: uacced(8); under load the snapshot can
# come much later than its 20 ms)
it_store_quiet() {
	local a b
	a=$(wc -l <"$1")
	sleep 1
	b=$(wc -l <"$1")
	[ "$a" = "$b" ] && grep -q -- '-s[0-9]*$' "$1"
}
# it_store_stop LOG PID: stop fakesd (IT_DPID) as systemctl stop does; it
# and uacced (PID) must end with status 0 and the store emptied
it_store_stop() {
	it_daemon_kill TERM 30000
	if [ "$IT_DRC" = 0 ] && grep -q "^stopped" "$1" && ! kill -0 "$2" 2>/dev/null; then
		it_ok "a stop: uacced and the manager ended (status 0), the store emptied"
	else
		it_bad "the stop: status ${IT_DRC:-?}, manager log: $(tail -n 3 "$1" | tr '\n' ' ')"
	fi
}
# it_store_settle LOG: wait for that (30 s); a store still busy is reported
it_store_settle() {
	it_wait $((30000 * IT_TS)) it_store_quiet "$1" ||
		it_info "the fd store is still busy: $(tail -n 2 "$1" | tr '\n' ' ')"
}
it_avail_is() { [ "$(it_attr "$1" available_instances)" = "$2" ]; }

# --- set-up ------------------------------------------------------------------

# it_init BUILD_DIR: temporary directory, private binaries, config, env
it_init() {
	local b=$1 p
	if [ "$(id -u)" != 0 ]; then
		echo "$IT_NAME: must run as root" >&2
		return 2
	fi
	case $IT_FRONTEND in
	fuse | cuse) ;;
	*) echo "$IT_NAME: UACCE_FRONTEND must be fuse or cuse" >&2; return 2 ;;
	esac
	for p in uacced uacce-dummy test/clients/abi-probe; do
		if [ ! -x "$b/$p" ]; then
			echo "$IT_NAME: $b/$p not found: build first (or pass the build dir)" >&2
			return 2
		fi
	done
	IT_TMP=$(mktemp -d /tmp/uacce-integ.XXXXXX) || return 2
	chmod 755 "$IT_TMP"		# the test users reach the runtime dir through it
	IT_RT=$IT_TMP/run
	if [ "$IT_FRONTEND" = fuse ]; then
		IT_NODE_DIR=${UACCE_NODE_DIR:-$IT_RT/dev}
	else
		IT_NODE_DIR=${UACCE_NODE_DIR:-/dev}
	fi
	mkdir -p "$IT_TMP/bin" "$IT_TMP/lib"
	if [ "${UACCE_INTEG_COPY:-1}" = 1 ]; then
		# the real ELF files, not libtool wrappers (which may relink)
		it_copy_prog "$b" uacced uacce-integ-d || return 2
		it_copy_prog "$b" uacce-dummy uacce-dummy || return 2
		it_copy_prog "$b/test/clients" abi-probe abi-probe || return 2
		cp -a "$b"/libclient/.libs/libuacce.so* "$IT_TMP/lib/" || return 2
		chmod -R a+rX "$IT_TMP/bin" "$IT_TMP/lib"
		IT_DAEMON=$IT_TMP/bin/uacce-integ-d
		IT_DUMMY=$IT_TMP/bin/uacce-dummy
		IT_PROBE=$IT_TMP/bin/abi-probe
		export LD_LIBRARY_PATH=$IT_TMP/lib
	else
		IT_DAEMON=$b/uacced
		IT_DUMMY=$b/uacce-dummy
		IT_PROBE=$b/test/clients/abi-probe
	fi
	export UACCE_RUNTIME_DIR=$IT_RT
	IT_CFG=$IT_TMP/uacce.json
	return 0
}

# it_copy_prog DIR NAME NEWNAME: copy DIR/.libs/NAME (or DIR/NAME if it is no wrapper)
it_copy_prog() {
	local src=$1/$2
	[ -x "$1/.libs/$2" ] && src=$1/.libs/$2
	if head -c 4 "$src" | grep -q ELF; then
		cp "$src" "$IT_TMP/bin/$3"
	else
		echo "$IT_NAME: $src is not an ELF file" >&2
		return 1
	fi
}

# Test accounts.  A suite creates the system users and groups it needs with
# it_groupadd and it_useradd; those it created (not those that existed before)
# are removed at its end: it_summary removes them and checks that they are
# gone (one check), it_cleanup removes them when the suite ends early.
# UACCE_KEEP_TEST_USERS=1 keeps them (several suites running at once share them).
IT_NEW_USERS=()
IT_NEW_GROUPS=()

# it_groupadd GROUP: a system group, created (and remembered) if missing
it_groupadd() {
	getent group "$1" >/dev/null && return 0
	groupadd --system "$1" || return 1
	IT_NEW_GROUPS+=("$1")
}

# it_useradd USER [useradd options]: a system user with a group of its own, no
# home, no shell; created (and remembered, with its group) if missing
it_useradd() {
	local u=$1 had_group=0
	shift
	getent passwd "$u" >/dev/null && return 0
	getent group "$u" >/dev/null && had_group=1
	useradd --system --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin --user-group "$@" "$u" || return 1
	IT_NEW_USERS+=("$u")
	[ $had_group = 1 ] || IT_NEW_GROUPS+=("$u")
}

# it_accounts_remove [check]: delete the users and groups this suite created
# (their processes first: those are the suite's); with "check", one check
# that none of them remains.  UACCE_KEEP_TEST_USERS=1: kept, said.
it_accounts_remove() {
	local u g left="" p
	[ ${#IT_NEW_USERS[@]} = 0 ] && [ ${#IT_NEW_GROUPS[@]} = 0 ] && return 0
	if [ "${UACCE_KEEP_TEST_USERS:-0}" = 1 ]; then
		[ "${1:-}" = check ] &&
			it_info "kept the test accounts this suite created (UACCE_KEEP_TEST_USERS=1): users ${IT_NEW_USERS[*]:-none}, groups ${IT_NEW_GROUPS[*]:-none}"
		IT_NEW_USERS=() IT_NEW_GROUPS=()
		return 0
	fi
	for p in "${IT_BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	for u in "${IT_NEW_USERS[@]}"; do
		getent passwd "$u" >/dev/null || continue
		# a process of the user still exiting makes userdel refuse: 10 s
		for i in $(seq 20); do
			userdel "$u" 2>"${IT_TMP:-/tmp}/userdel.err" && break
			sleep 0.5
		done
		getent passwd "$u" >/dev/null && it_indent "${IT_TMP:-/tmp}/userdel.err" >&2
		rm -f "${IT_TMP:-/tmp}/userdel.err"
	done
	for g in "${IT_NEW_GROUPS[@]}"; do
		getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null
	done
	for u in "${IT_NEW_USERS[@]}"; do
		getent passwd "$u" >/dev/null && left="$left user $u"
	done
	for g in "${IT_NEW_GROUPS[@]}"; do
		getent group "$g" >/dev/null && left="$left group $g"
	done
	if [ "${1:-}" = check ]; then
		if [ -z "$left" ]; then
			it_ok "removed the test accounts this suite created: users ${IT_NEW_USERS[*]:-none}, groups ${IT_NEW_GROUPS[*]:-none}"
		else
			it_bad "test accounts left behind:$left"
		fi
	elif [ -n "$left" ]; then
		echo "$IT_NAME: test accounts left behind:$left" >&2
	fi
	IT_NEW_USERS=() IT_NEW_GROUPS=()
	[ -z "$left" ]
}

# it_users: the test group (the daemon needs its name) and users (if that is
# impossible, the bare uids 64001 and 64002); it_as uses the numbers
it_users() {
	it_groupadd "$IT_GROUP" || return 1
	IT_GID=$(getent group "$IT_GROUP" | cut -d: -f3)
	it_useradd "$IT_USER1" -G "$IT_GROUP"
	it_useradd "$IT_USER2"
	if getent passwd "$IT_USER1" >/dev/null && getent passwd "$IT_USER2" >/dev/null; then
		IT_U1=$(id -u "$IT_USER1")
		IT_G1=$(id -g "$IT_USER1")
		IT_U2=$(id -u "$IT_USER2")
		IT_G2=$(id -g "$IT_USER2")
	else
		echo "info: no test users: using the bare uids 64001 and 64002"
		IT_U1=64001 IT_G1=64001 IT_U2=64002 IT_G2=64002
	fi
	[ -n "$IT_GID" ] && [ -n "$IT_U1" ] && [ -n "$IT_U2" ]
}

# it_as USER COMMAND...: run as root, $IT_USER1 (+ the test group) or $IT_USER2.
# it_cmd, it_cmd_fails, it_bg_probe and it_hold run their commands through
# $IT_AS: a script with users of its own points it at its own function.
it_as() {
	local u=$1
	shift
	case $u in
	root) "$@" ;;
	"$IT_USER1") setpriv --reuid="$IT_U1" --regid="$IT_G1" --groups="$IT_GID" -- "$@" ;;
	"$IT_USER2") setpriv --reuid="$IT_U2" --regid="$IT_G2" --clear-groups -- "$@" ;;
	*) echo "it_as: unknown user $u" >&2; return 127 ;;
	esac
}

it_write_config() {
	cat >"$IT_CFG" <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":false,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":$IT_QUEUES,"abi":"mainline"},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES,"abi":"mainline"},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":false,"queues":$IT_QUEUES,"abi":"mainline"},
            {"name":"zip","backend":"soft","api":"uacce_zip_v1","sva":true,"queues":$IT_QUEUES,"abi":"mainline","workers":1},
            {"name":"zip","backend":"soft","api":"uacce_zip_v1","sva":false,"queues":$IT_QUEUES,"abi":"mainline","workers":1}]}
EOF
}

# --- the daemon ---------------------------------------------------------------

it_nodes_up() {
	[ -e "$IT_NODE_DIR/$IT_DEV0" ] && [ -e "$IT_NODE_DIR/$IT_DEV1" ] &&
		[ -e "$IT_NODE_DIR/$IT_DEV2" ] && [ -s "$IT_RT/devdir" ] && [ -S "$IT_RT/broker.sock" ]
}
it_nodes_gone() {
	[ ! -e "$IT_NODE_DIR/$IT_DEV0" ] && [ ! -e "$IT_NODE_DIR/$IT_DEV1" ] &&
		[ ! -e "$IT_NODE_DIR/$IT_DEV2" ]
}
it_daemon_alive() { [ -n "$IT_DPID" ] && kill -0 "$IT_DPID" 2>/dev/null; }
it_daemon_gone() { ! it_daemon_alive; }
it_up_or_dead() { it_nodes_up || it_daemon_gone; }

# it_daemon_start: start it, wait (10 s) for the nodes; 0 when up
it_daemon_start() {
	local args=(-f --frontend "$IT_FRONTEND" --runtime-dir "$IT_RT" -c "$IT_CFG")
	IT_DN=$((IT_DN + 1))
	IT_DLOG=$IT_TMP/uacced.$IT_DN.log
	[ "$IT_FRONTEND" = fuse ] && args+=(--fuse-dir "$IT_NODE_DIR")
	"$IT_DAEMON" "${args[@]}" </dev/null >"$IT_DLOG" 2>&1 &
	IT_DPID=$!
	it_wait 10000 it_up_or_dead
	if it_nodes_up && it_daemon_alive; then
		return 0
	fi
	it_daemon_alive || { wait "$IT_DPID"; IT_DPID=; }
	return 1
}

# it_reaped PID: gone or a zombie (it exited, its fds are closed)
it_reaped() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ -z "$st" ] || [ "$st" = Z ]
}

# it_pstate PID: its threads' names, states and where they sleep in the kernel
it_pstate() {
	local t
	for t in /proc/"$1"/task/*; do
		echo -n "$(cat "$t/comm" 2>/dev/null):$(awk '{print $3}' "$t/stat" 2>/dev/null):$(cat "$t/wchan" 2>/dev/null) "
	done
}

# it_daemon_kill SIGNAL [MS]: signal it and reap it; the exit status is in
# IT_DRC: "timeout" when it needed SIGKILL after MS, "stuck" (and
# IT_DAEMON_STUCK=1) when even SIGKILL did not end it within 10 s (a thread
# stuck in the kernel, e.g. a VFIO unbind waiting for the daemon's own
# fds): no wait without a bound.  (stderr off: bash would report "Killed")
IT_DAEMON_STUCK=0
it_daemon_kill() {
	local sig=$1 ms=${2:-10000}
	IT_DRC=
	[ -n "$IT_DPID" ] || return 0
	kill "-$sig" "$IT_DPID" 2>/dev/null
	if ! it_wait "$ms" it_reaped "$IT_DPID"; then
		kill -KILL "$IT_DPID" 2>/dev/null
		if it_wait 10000 it_reaped "$IT_DPID"; then
			wait "$IT_DPID" 2>/dev/null
			IT_DRC=timeout
		else
			IT_DRC=stuck
			IT_DAEMON_STUCK=1
			echo "info: the daemon (pid $IT_DPID) does not exit after SIGKILL: $(it_pstate "$IT_DPID")"
		fi
		IT_DPID=
		return 1
	fi
	wait "$IT_DPID" 2>/dev/null
	IT_DRC=$?
	IT_DPID=
	return 0
} 2>/dev/null

# a FUSE mount whose daemon died: stat fails with ENOTCONN
it_stale_mount() {
	[ "$IT_FRONTEND" = fuse ] || return 1
	stat "$IT_NODE_DIR" 2>&1 >/dev/null | grep -q 'not connected'
}
it_mount_count() { awk -v d="$IT_NODE_DIR" '$5 == d' /proc/self/mountinfo | wc -l; }

it_cleanup() {
	local p
	for p in "${IT_BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	it_daemon_kill KILL 5000
	it_accounts_remove
	if [ "$IT_FRONTEND" = fuse ] && [ -n "${IT_NODE_DIR:-}" ]; then
		for p in 1 2 3 4 5; do	# mounts may be stacked
			[ "$(it_mount_count)" -gt 0 ] || break
			umount -l "$IT_NODE_DIR" 2>/dev/null
		done
	fi
	if [ -n "$IT_TMP" ] && [ -d "$IT_TMP" ]; then
		if [ "${UACCE_INTEG_KEEP:-0}" = 1 ]; then
			echo "info: kept $IT_TMP" >&2
		else
			rm -rf "$IT_TMP"
		fi
	fi
}

# --- checks ---------------------------------------------------------------------

# it_cmd DESC TIMEOUT_S USER COMMAND...: passes when COMMAND exits 0 and
# prints no sanitizer report; its output is shown when it fails (or verbose)
it_cmd() {
	local desc=$1 to=$2 user=$3 out rc
	shift 3
	out=$IT_TMP/cmd.out
	"$IT_AS" "$user" timeout -k 5 $((to * IT_TS)) "$@" >"$out" 2>&1
	rc=$?
	if [ $rc = 0 ] && ! it_grep -q "$IT_SANITIZER_RE" "$out"; then
		it_ok "$desc"
		it_grep '^info:' "$out" | it_indent
		[ "${UACCE_INTEG_VERBOSE:-0}" = 1 ] && grep -v '^info:' "$out" | it_indent
	else
		[ $rc = 124 ] && desc="$desc (timed out after $to s)"
		it_bad "$desc: exit $rc"
		it_indent "$out" | grep -v '^    ok:' | tail -n 60
	fi
	return $rc
}

# it_cmd_fails DESC TIMEOUT_S USER COMMAND...: passes when COMMAND exits non-zero (not a timeout)
it_cmd_fails() {
	local desc=$1 to=$2 user=$3 out rc
	shift 3
	out=$IT_TMP/cmd.out
	"$IT_AS" "$user" timeout -k 5 $((to * IT_TS)) "$@" >"$out" 2>&1
	rc=$?
	if [ $rc != 0 ] && [ $rc != 124 ] && [ $rc -lt 128 ]; then
		it_ok "$desc (exit $rc: $(head -n 1 "$out"))"
	else
		it_bad "$desc: expected a failure got exit $rc"
		it_indent "$out" | tail -n 20
	fi
}

# it_dummy USER DEV COUNT: the uacce-dummy workload must copy and verify everything
it_dummy() {
	local user=$1 dev=$2 n=$3
	if it_cmd "uacce-dummy on $dev as $user: $n x 4 KiB copied and verified" 300 "$user" \
		"$IT_DUMMY" -d "$dev" -n "$n" -s 4096; then
		it_indent "$IT_TMP/cmd.out"
	fi
}

# it_bg_probe USER OUTFILE ARGS...: start abi-probe in the background and wait
# (10 s) for its "ready PID" line.  IT_BG: the background job (the timeout
# process), IT_BG_PROBE: the probe's own pid.
it_bg_probe() {
	local user=$1 out=$2
	shift 2
	IT_BG_PROBE=
	# emptied here, not only by the background job's redirection: that may
	# come after the wait below reads an earlier probe's "ready" line
	: >"$out"
	"$IT_AS" "$user" timeout -k 5 $((120 * IT_TS)) "$IT_PROBE" "$@" >"$out" 2>&1 &
	IT_BG=$!
	IT_BG_PIDS+=("$IT_BG")
	if it_wait 10000 it_grep -q '^ready ' "$out"; then
		IT_BG_PROBE=$(it_ready_pid "$out")
		IT_BG_PIDS+=("$IT_BG_PROBE")
		return 0
	fi
	return 1
}

# it_check DESC COMMAND...: passes when COMMAND succeeds; its output is shown when it fails
it_check() {
	local desc=$1
	shift
	if "$@" >"$IT_TMP/check.out" 2>&1; then
		it_ok "$desc"
	else
		it_bad "$desc"
		it_indent "$IT_TMP/check.out" | tail -n 30
	fi
}

# Holders: a client in the background that prints "ready PID" once it holds
# what it should, then waits for the file $IT_TMP/NAME.go (policy-probe's
# steps "... ready wait $IT_TMP/NAME.go STEP...") and exits 0 when the steps
# after it pass, or that sleeps until killed ("ready sleep").  Several may
# run at once; IT_HOLD_JOB[NAME] is the background job (the timeout
# process), IT_HOLD_PID[NAME] the client's own pid; both are killed by
# it_cleanup.  Its output is $IT_TMP/NAME.out.
declare -gA IT_HOLD_JOB=() IT_HOLD_PID=()

# it_hold NAME USER MS COMMAND...: start it (at most 300 s) and wait MS for
# "ready"; 0 when ready, else a failure (with its output) and 1
it_hold() {
	local name=$1 user=$2 ms=$3 out=$IT_TMP/$1.out
	shift 3
	rm -f "$IT_TMP/$name.go"
	IT_HOLD_PID[$name]=
	"$IT_AS" "$user" timeout -k 5 $((300 * IT_TS)) "$@" >"$out" 2>&1 &
	IT_HOLD_JOB[$name]=$!
	IT_BG_PIDS+=("$!")
	if it_wait "$ms" it_grep -q '^ready ' "$out"; then
		IT_HOLD_PID[$name]=$(it_ready_pid "$out")
		IT_BG_PIDS+=("${IT_HOLD_PID[$name]}")
		return 0
	fi
	it_bad "holder $name did not get ready"
	it_indent "$out"
	return 1
}
# it_region_pool UACCECTL: regions the daemon keeps for reuse (uaccectl
# usage: region_pool), an open memfd each: a daemon's fds beyond a baseline
# that the pool holds are not a leak; 0 when it cannot tell
it_region_pool() {
	local n
	n=$(timeout -k 2 $((10 * IT_TS)) "$1" --runtime-dir "$IT_RT" --json usage 2>/dev/null |
		jq -r '.region_pool.regions // 0' 2>/dev/null)
	echo "${n:-0}"
}


# A quota across restarts (run-restart.sh, run-crash.sh): the config gives
# $IT_USER1 "max_queues" QMAX; the script's PROBE (policy-probe) and CTL
# (uaccectl) are used.
# it_usage: every user's usage, one JSON line each, by uid
it_usage() { "${CTL[@]}" --json usage 2>/dev/null | jq -c '.users | sort_by(.uid) | .[]'; }
# it_quota_hold QMAX: $IT_USER1 holds QMAX-1 started queues ($IT_ML2 with its
# regions mapped, $IT_DEV1) until it_quota_after (1 h at most: 100 restarts
# under TCG take longer than it_hold's 300 s); the script then keeps
# IT_USAGE0=$(it_usage)
it_quota_hold() {
	local qmax=$1
	"$IT_AS" "$IT_USER1" timeout -k 5 $((3600 * IT_TS)) "$PROBE" open "$IT_ML2" 0 start 0 \
		map mmio auto 0 map dus auto 0 open "$IT_DEV1" 0 start 0 ready sleep >"$IT_TMP/Q.out" 2>&1 &
	IT_QJOB=$! IT_QPID=
	IT_BG_PIDS+=("$IT_QJOB")
	if it_wait $((10000 * IT_TS)) grep -q '^ready ' "$IT_TMP/Q.out"; then
		IT_QPID=$(awk '/^ready /{print $2; exit}' "$IT_TMP/Q.out")
		IT_BG_PIDS+=("$IT_QPID")
	else
		it_bad "the quota holder did not get ready: $(cat "$IT_TMP/Q.out")"
	fi
	it_wait $((5000 * IT_TS)) eval '[ "$(it_usage | jq -r "select(.uid == $IT_U1) | .queues")" = '$((qmax - 1))' ]' ||
		it_bad "$IT_USER1 does not hold $((qmax - 1)) queues: $(it_usage)"
}
# it_quota_after WHEN QMAX: every user's usage is IT_USAGE0 again, one more
# open works and the next is EDQUOT; the holder ends
it_quota_after() {
	local when=$1 qmax=$2 u
	u=$(it_usage)
	if [ "$u" = "$IT_USAGE0" ]; then
		it_ok "uaccectl --json usage of every user the same before and after $when ($(echo "$u" | jq -r '"uid \(.uid): \(.queues) queues, \(.bytes) bytes"' | paste -sd, -))"
	else
		it_bad "usage differs after $when"
		diff <(echo "$IT_USAGE0") <(echo "$u") | it_indent
	fi
	it_cmd "$IT_USER1 at $((qmax - 1)) of $qmax queues after $when: one more opens, the next is EDQUOT" 60 \
		"$IT_USER1" "$PROBE" open "$IT_DEV1" 0 open "$IT_DEV1" EDQUOT
	kill -0 "$IT_QJOB" 2>/dev/null || it_bad "the quota holder ended: $(cat "$IT_TMP/Q.out")"
	[ -n "$IT_QPID" ] && kill -KILL "$IT_QPID" 2>/dev/null
	wait "$IT_QJOB" 2>/dev/null
}

# it_release NAME DESC: touch its go file; it must pass its remaining steps
# and exit 0 within 30 s.  The "ok: start|put on queue" lines it printed
# after "ready" are quoted in the result.
it_release() {
	local name=$1 desc=$2 job=${IT_HOLD_JOB[$1]} out=$IT_TMP/$1.out rc
	touch "$IT_TMP/$name.go"
	if it_wait 30000 it_reaped "$job"; then
		wait "$job"
		rc=$?
		if [ $rc = 0 ]; then
			it_ok "$desc ($(sed -n '/^ready /,$p' "$out" | grep -E '^ok: (start|put) on queue' | sed 's/^ok: //' | paste -sd, -))"
		else
			it_bad "$desc (exit $rc)"
			it_indent "$out" | tail -n 20
		fi
	else
		it_bad "$desc: the holder did not finish within 30 s"
		it_indent "$out" | tail -n 20
	fi
}

# it_hold_kill NAME: SIGKILL the client and reap its job (10 s)
it_hold_kill() {
	local job=${IT_HOLD_JOB[$1]:-} pid=${IT_HOLD_PID[$1]:-}
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	[ -n "$job" ] || return 0
	it_wait 10000 it_reaped "$job"
	wait "$job" 2>/dev/null
}

# it_owner_death USER DEV: a client holding a started queue is SIGKILLed;
# available_instances must be back to the maximum within 1 s
it_owner_death() {
	local user=$1 dev=$2 out=$IT_TMP/hold.out pid t0 t1
	if ! it_bg_probe "$user" "$out" hold "$dev"; then
		it_bad "owner-death $dev: the holder did not start"
		it_indent "$out"
		return
	fi
	pid=$IT_BG_PROBE
	if it_avail_is "$dev" $((IT_QUEUES - 1)); then
		it_ok "owner-death $dev: available_instances is $((IT_QUEUES - 1)) while $user (pid $pid) holds a started queue"
	else
		it_bad "owner-death $dev: available_instances: expected $((IT_QUEUES - 1)) got $(it_attr "$dev" available_instances)"
	fi
	t0=$(it_ms)
	kill -KILL "$pid"
	if it_wait 1000 it_avail_is "$dev" "$IT_QUEUES"; then
		t1=$(it_ms)
		it_ok "owner-death $dev: SIGKILL of the holder -> available_instances back to $IT_QUEUES in $((t1 - t0)) ms (limit 1 s)"
	else
		it_bad "owner-death $dev: available_instances: expected $IT_QUEUES within 1 s got $(it_attr "$dev" available_instances)"
	fi
	wait "$IT_BG" 2>/dev/null
}

# it_summary: the last line; returns the number of failures (max 255)
# A command the script calls that does not exist (a helper renamed or gone)
# would only print a line and let its check count nothing: it is a failure.
# bash runs this handler in a subshell, so it leaves a mark for it_summary.
command_not_found_handle() {
	echo "FAIL: command not found: $1 (a broken test script)" >&2
	[ -n "${IT_TMP:-}" ] && [ -d "$IT_TMP" ] && echo "$1" >>"$IT_TMP/not-found"
	return 127
}

it_summary() {
	local f
	it_accounts_remove check
	if [ -s "$IT_TMP/not-found" ]; then
		it_bad "the script called commands that do not exist: $(sort -u "$IT_TMP/not-found" | tr '\n' ' ')"
	fi
	for f in "$IT_TMP"/uacced.*.log; do
		[ -e "$f" ] || continue
		if grep -qE "$IT_SANITIZER_RE" "$f"; then
			it_bad "sanitizer report in the daemon log $(basename "$f")"
			grep -E -A 12 "$IT_SANITIZER_RE" "$f" | head -n 40 | it_indent
		fi
	done
	if [ "$IT_FAIL" != 0 ]; then
		for f in "$IT_TMP"/uacced.*.log; do
			[ -e "$f" ] || continue
			echo "--- last lines of $(basename "$f"):"
			tail -n 15 "$f" | it_indent
		done
	fi
	echo "$IT_NAME: $IT_PASS passed, $IT_FAIL failed"
	[ "$IT_FAIL" -gt 255 ] && return 255
	return "$IT_FAIL"
}

# fatal MESSAGE: a failed check, then the summary; the suite ends there
fatal() {
	it_bad "$*"
	it_summary
	exit "$IT_FAIL"
}

# it_shim PROG: the preload shim and uacce-run copied where the test users
# read them; RUN=(how to run a plain uacce program through it): uacce-run,
# or in a sanitizer build LD_PRELOAD=<its runtime>:<the shim> (the runtime
# must come first in the initial library list, before the instrumented
# shim that uacce-run would put there: uacce-run(1)'s other way).  PROG: a
# copied program of the build, whose ldd names that runtime.
it_shim() {
	local f prog=$1 asan_rt
	for f in shim/.libs/libuacce-preload.so shim/uacce-run; do
		[ -e "$build/$f" ] || fatal "$build/$f not built (the preload shim)"
	done
	cp "$build/shim/.libs/libuacce-preload.so" "$IT_TMP/lib/" || fatal "copy the shim"
	cp "$build/shim/uacce-run" "$IT_TMP/bin/" || fatal "copy uacce-run"
	chmod -R a+rX "$IT_TMP/bin" "$IT_TMP/lib"
	export UACCE_RUN_LIBRARY=$IT_TMP/lib/libuacce-preload.so
	RUN=("$IT_TMP/bin/uacce-run")
	if nm -D "$UACCE_RUN_LIBRARY" 2>/dev/null | grep -q __asan_init; then
		asan_rt=$(ldd "$IT_TMP/bin/$prog" | awk '/libasan\.so/{print $3; exit}')
		[ -r "$asan_rt" ] || fatal "a sanitizer build, but no libasan in ldd $IT_TMP/bin/$prog"
		RUN=(env "LD_PRELOAD=$asan_rt:$UACCE_RUN_LIBRARY")
		it_info "sanitizer build: LD_PRELOAD=$asan_rt:libuacce-preload.so instead of uacce-run"
	fi
}

# it_users_or_fatal: the test group and users (it_users), said, or the end
it_users_or_fatal() {
	if it_users; then
		it_ok "test users: $IT_USER1 (uid $IT_U1, in $IT_GROUP), $IT_USER2 (uid $IT_U2, not in it)"
	else
		fatal "cannot create the group $IT_GROUP and users $IT_USER1, $IT_USER2"
	fi
}

# it_begin [BUILD_DIR]: a suite's start: $build (absolute; $1, else
# UACCE_BUILD, else .), it_cleanup at exit, it_init, and the first info
# line; a missing build or a failed set-up ends the suite with its summary
it_begin() {
	build=${1:-${UACCE_BUILD:-.}}
	if ! build=$(cd "$build" 2>/dev/null && pwd); then
		echo "FAIL: build directory ${1:-${UACCE_BUILD:-.}} not found"
		echo "$IT_NAME: 0 passed, 1 failed"
		exit 1
	fi
	trap it_cleanup EXIT
	trap 'echo "interrupted"; exit 130' INT TERM HUP
	if ! it_init "$build"; then
		echo "FAIL: set-up (see the message above)"
		echo "$IT_NAME: 0 passed, 1 failed"
		exit 1
	fi
	echo "info: build $build, frontend $IT_FRONTEND, nodes in $IT_NODE_DIR, temp $IT_TMP"
}
