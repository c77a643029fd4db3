#!/bin/bash
# test/integ/run-host.sh - integration test of uacced on this machine.
#
#   sudo test/integ/run-host.sh [BUILD_DIR]
#
# BUILD_DIR defaults to $UACCE_BUILD, else the current directory.  Runs as
# root: creates the group uacce-test and the system users uacce-t1 (in it)
# and uacce-t2 (not in it) when missing, starts the real daemon on a
# temporary runtime directory with the FUSE fallback (UACCE_FRONTEND=cuse:
# CUSE nodes under /dev, see lib.sh) and three dummy devices (v1 non-SVA,
# v2 SVA, v2 non-SVA), and checks: the uacce-dummy workload as root and as
# a group member, EACCES for a non-member, every abi-probe scenario as root
# and as uacce-t1, fds sent with malformed broker messages all closed by the
# daemon (its fd count), a queue fd passed to another uid, cross-user EBUSY,
# a long FLUSH on one device holding up no other client, owner death, daemon
# death (blocked clients get an error, the restarted daemon clears the stale
# mount), the owner killed under load, a short uacce-bench --contention run
# (valid JSON, no time asserted), and a clean
# shutdown on SIGTERM.
#
# One line per check; the last line is "host-integration: N passed,
# M failed" and the exit status is M.  UACCE_INTEG_SKIP="name ..." skips
# steps: version bench probes-root probes-user broker-fdflood shared-mem cross-user
# flush-contention foreign-fuse owner-death daemon-death death-under-load shutdown
# hw-waiting names.  More knobs (UACCE_FRONTEND, UACCE_TIME_SCALE, ...) are listed
# in lib.sh.
set -u
IT_NAME=${IT_NAME:-host-integration}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"

# --- set-up: users, config, daemon ------------------------------------------
it_begin "${1:-}"

# --- every program that has --version prints configure.ac's AC_INIT version ---
if ! it_skip version; then
	want=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$here/../../configure.ac")
	[ -n "$want" ] || it_bad "no version in AC_INIT of $here/../../configure.ac"
	for p in "uacced:$IT_DAEMON" "uaccectl:" "uacce-zip:"; do
		name=${p%%:*} prog=${p#*:}
		if [ -z "$prog" ]; then
			it_copy_prog "$build" "$name" "$name" || { it_bad "$name: not built"; continue; }
			prog=$IT_TMP/bin/$name
		fi
		got=$("$prog" --version 2>&1 | head -n 1)
		case $got in
		"$name $want" | "$name (uacced) $want") it_ok "$name --version: \"$got\"" ;;
		*) it_bad "$name --version: expected version $want got \"$got\"" ;;
		esac
	done
fi

if it_users; then
	it_ok "test users: $IT_USER1 (uid $IT_U1, in $IT_GROUP gid $IT_GID), $IT_USER2 (uid $IT_U2, not in it)"
else
	fatal "cannot create the group $IT_GROUP and users $IT_USER1, $IT_USER2"
fi
it_write_config
if it_daemon_start; then
	it_ok "daemon started (--frontend $IT_FRONTEND, pid $IT_DPID): $IT_DEV0, $IT_DEV1, $IT_DEV2 in $IT_NODE_DIR"
else
	fatal "daemon did not publish its nodes within 10 s (its log is below)"
fi
for dev in $IT_DEV0 $IT_DEV1 $IT_DEV2 $IT_ML0 $IT_ML1 $IT_ML2 $IT_MLZ0 $IT_MLZ1; do
	got=$(stat -c '%a %G' "$IT_NODE_DIR/$dev" 2>&1)
	if [ "$got" = "660 $IT_GROUP" ]; then
		it_ok "$dev node is mode 0660, group $IT_GROUP"
	else
		it_bad "$dev node: expected mode/group \"660 $IT_GROUP\" got \"$got\""
	fi
done
# real times, not 1970 (issue 15): the nodes (the FUSE file system's files:
# their publication), the node directory, the attribute files; within a day
now=$(date +%s)
times=""
for f in "$IT_NODE_DIR" "$IT_NODE_DIR/$IT_DEV0" "$IT_NODE_DIR/$IT_MLZ1" "$IT_RT/class/$IT_DEV0/api"; do
	t=$(stat -c '%Y %Z' "$f" 2>/dev/null) || t="0 0"
	for x in $t; do
		[ $((now - x)) -ge 0 ] && [ $((now - x)) -lt 86400 ] || times="$times $f:$t"
	done
done
if [ -z "$times" ]; then
	it_ok "node, node directory and attribute times are today's: $(stat -c '%n %y' "$IT_NODE_DIR/$IT_DEV0")"
else
	it_bad "times older than a day (or in the future), mtime ctime:$times (now $now)"
fi
# the daemon's log is a file here, not the journal's stream: readable lines
# with the time, no "<N>" priority prefix (issue 15), even when the shell
# that runs the suite has a JOURNAL_STREAM of its own
if grep -qE '^<[0-7]>' "$IT_DLOG"; then
	it_bad "the daemon's log (a file) has <N> prefixes: $(grep -m1 -E '^<[0-7]>' "$IT_DLOG")"
elif grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} uacced info: ' "$IT_DLOG"; then
	it_ok "the daemon's log lines in a file: \"$(grep -m1 ' uacced info: ' "$IT_DLOG")\""
else
	it_bad "the daemon's log has no readable \"DATE TIME uacced info: \" line"; it_indent "$IT_DLOG" | head -5
fi
check_attrs() {	# DEV API FLAGS
	local got
	got="$(it_attr "$1" api) $(it_attr "$1" flags) $(it_attr "$1" algorithms) $(it_attr "$1" available_instances)"
	if [ "$got" = "$2 $3 memcpy $IT_QUEUES" ]; then
		it_ok "$1 attributes: api $2, flags $3, algorithms memcpy, available_instances $IT_QUEUES"
	else
		it_bad "$1 attributes (api flags algorithms available_instances): expected \"$2 $3 memcpy $IT_QUEUES\" got \"$got\""
	fi
}
check_attrs $IT_DEV0 dummy_v1 0
check_attrs $IT_DEV1 dummy_v2 1
check_attrs $IT_DEV2 dummy_v2 0

# --- the workload, permissions ---------------------------------------------------
it_dummy root $IT_DEV0 10000
it_dummy root $IT_DEV1 10000
it_dummy root $IT_DEV2 2000
it_dummy "$IT_USER1" $IT_DEV0 2000
it_dummy "$IT_USER1" $IT_DEV1 2000
for dev in $IT_DEV0 $IT_DEV1; do
	it_cmd "open of $dev by $IT_USER2 (not in $IT_GROUP) -> EACCES" 30 "$IT_USER2" \
		"$IT_PROBE" open "$dev" EACCES
done
it_cmd_fails "uacce-dummy as $IT_USER2 is refused" 30 "$IT_USER2" "$IT_DUMMY" -n 10
# the sockets reach only those who may use them (issue 11 item 3): the broker the
# nodes' owner, group and mode; the control socket root (no control.admin_group here)
socks=$(cd "$IT_RT" && stat -c '%n %U:%G %a' broker.sock control.sock 2>&1 | tr '\n' ' ')
if [ "$socks" = "broker.sock root:$IT_GROUP 660 control.sock root:root 600 " ]; then
	it_ok "sockets: $socks"
else
	it_bad "sockets: $socks; expected broker.sock root:$IT_GROUP 660, control.sock root:root 600"
fi

# --- the mainline profile (issue 12): the same clients on "abi": "mainline" devices ----
check_ml_attrs() {	# DEV API FLAGS DUS_SIZE|-: the mainline set, values as sysfs prints them
	local d=$IT_RT/class/$1 got want f
	want="$2 $3 memcpy $IT_QUEUES 4096 $4 0 0"
	[ "$2" = uacce_zip_v1 ] && want="$2 $3 deflate,zlib,gzip $IT_QUEUES 4096 $4 0 0"
	got="$(it_attr "$1" api) $(it_attr "$1" flags) $(tr '\n' , <"$d/algorithms" | sed 's/,$//') $(it_attr "$1" available_instances) $(it_attr "$1" region_mmio_size) $( [ -e "$d/region_dus_size" ] && it_attr "$1" region_dus_size || echo -) $(it_attr "$1" isolate) $(it_attr "$1" isolate_strategy)"
	for f in id qfrs_offset node_id numa_distance; do
		[ -e "$d/$f" ] && got="$got +$f"
	done
	if [ "$got" = "$want" ]; then
		it_ok "$1 (mainline) attributes: api flags algorithms available_instances region_mmio_size region_dus_size isolate isolate_strategy = $want; no v4 attributes"
	else
		it_bad "$1 (mainline) attributes: expected \"$want\" got \"$got\""
	fi
}
if ! it_skip mainline; then
	check_ml_attrs $IT_ML0 dummy_v1 0 8388608
	check_ml_attrs $IT_ML1 dummy_v2 1 4096
	check_ml_attrs $IT_ML2 dummy_v2 0 $((4096 + 8388608))
	check_ml_attrs $IT_MLZ0 uacce_zip_v1 1 16384
	check_ml_attrs $IT_MLZ1 uacce_zip_v1 0 $((16384 + 16777216))
	it_dummy root $IT_ML0 2000
	it_dummy root $IT_ML1 2000
	it_dummy root $IT_ML2 2000
	it_dummy "$IT_USER1" $IT_ML0 1000
	it_dummy "$IT_USER1" $IT_ML1 1000
	it_dummy "$IT_USER1" $IT_ML2 1000
	it_cmd "open of $IT_ML1 by $IT_USER2 (not in $IT_GROUP) -> EACCES" 30 "$IT_USER2" \
		"$IT_PROBE" open "$IT_ML1" EACCES
	for dev in $IT_ML0 $IT_ML1 $IT_ML2 $IT_MLZ0 $IT_MLZ1; do
		it_cmd "abi-probe mainline $dev as root: the profile's rules through the broker" 120 \
			root "$IT_PROBE" mainline "$dev"
	done
	it_cmd "abi-probe mainline $IT_ML1 as $IT_USER1" 120 "$IT_USER1" "$IT_PROBE" mainline $IT_ML1
	if it_copy_prog "$build" uacce-zip uacce-zip; then
		# smaller in a guest (emulated, slow)
		mlbytes=1500000
		[ "$IT_FRONTEND" = cuse ] || [ "${UACCE_VM_GUEST:-0}" = 1 ] && mlbytes=200000
		head -c $mlbytes /dev/urandom | od -An -tx1 >"$IT_TMP/ml-in.txt"
		chmod 644 "$IT_TMP/ml-in.txt"
		for dev in $IT_MLZ0 $IT_MLZ1; do
			for user in root "$IT_USER1"; do
				if it_as "$user" timeout -k 5 $((120 * IT_TS)) "$IT_TMP/bin/uacce-zip" --device "$dev" -c \
					<"$IT_TMP/ml-in.txt" 2>"$IT_TMP/ml-zip.err" |
					gzip -dc 2>>"$IT_TMP/ml-zip.err" | cmp -s - "$IT_TMP/ml-in.txt"; then
					it_ok "uacce-zip on $dev (mainline) as $user: $(stat -c %s "$IT_TMP/ml-in.txt") bytes compressed, gunzip gives them back"
				else
					it_bad "uacce-zip on $dev (mainline) as $user: the round trip through gzip -d differs"
					it_indent "$IT_TMP/ml-zip.err"
				fi
			done
		done
	else
		it_bad "uacce-zip: not built"
	fi
fi

# --- uacce-bench's contention figure runs (small sizes; no time is asserted) -----------
if ! it_skip bench && it_copy_prog "$build" uacce-bench uacce-bench; then
	keys='.contention | (.idle.samples > 0) and (.flood.samples > 0) and (.idle.p99_us > 0)
		and (.flood.p99_us > 0) and (.ratio_p99_flood_to_idle > 0) and .error == 0
		and ([.flood_flushes, .flood_flush_mean_ms, .flood_busy_fraction] | all(type == "number"))'
	if it_cmd "uacce-bench --contention-only --json (flood on $IT_DEV0, open+START+close on $IT_DEV1)" \
		120 root "$IT_TMP/bin/uacce-bench" --contention-only --json --contention-samples 20 \
		--contention-seconds 2 --flood-size 1M --flood-copies 3 \
		--flood-device $IT_DEV0 --contention-device $IT_DEV1; then
		if jq -e "$keys" "$IT_TMP/cmd.out" >/dev/null 2>&1; then
			it_ok "uacce-bench --contention: valid JSON with every key"
			it_info "contention: $(jq -c '.contention | {idle: .idle.p99_us, flood: .flood.p99_us, ratio_p99_flood_to_idle, flood_flushes}' "$IT_TMP/cmd.out")"
		else
			it_bad "uacce-bench --contention: JSON invalid or keys missing"
			it_indent "$IT_TMP/cmd.out"
		fi
	fi
fi

# --- abi-probe scenarios ------------------------------------------------------------
scenarios=$("$IT_PROBE" list)
# A ThreadSanitizer build: rlimit lowers the client's RLIMIT_DATA to 16 MiB and
# maps regions under it, and TSan's runtime maps 32 MiB of shadow for each of
# the client's mmaps: the client aborts before the daemon answers (what it
# checks, the daemon's RLIMIT_DATA charge, the normal and ASan builds cover)
if ldd "$IT_PROBE" 2>/dev/null | grep -q libtsan; then
	it_info "ThreadSanitizer build: abi-probe rlimit skipped (TSan's shadow mappings do not fit RLIMIT_DATA 16 MiB)"
	scenarios=$(echo "$scenarios" | grep -vx rlimit)
fi
if ! it_skip probes-root; then
	for s in $scenarios; do
		it_cmd "abi-probe $s as root" 180 root "$IT_PROBE" "$s"
	done
	it_cmd "abi-probe scm-rights as root, the fd received by $IT_USER2" 60 root \
		"$IT_PROBE" --peer-uid "$IT_U2" scm-rights
	# the non-SVA scenarios again on a non-SVA dummy_v2 (DUS + SS)
	for s in $scenarios; do
		it_cmd "abi-probe $s on $IT_DEV2 (non-SVA dummy_v2) as root" 180 root \
			"$IT_PROBE" -N $IT_DEV2 -S none "$s"
	done
fi
if ! it_skip probes-user; then
	for s in $scenarios; do
		it_cmd "abi-probe $s as $IT_USER1" 180 "$IT_USER1" "$IT_PROBE" "$s"
	done
fi

# --- fds sent with messages the broker refuses: all closed (issue 11, item 1) -----------
daemon_fds() { find "/proc/$IT_DPID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
# shellcheck disable=SC2317 # called through it_wait
daemon_fds_le() { [ "$(daemon_fds)" -le "$1" ]; }
if ! it_skip broker-fdflood; then
	fd0=$(daemon_fds)
	it_cmd "abi-probe broker-fdflood as $IT_USER1: 50 zero-length packets x 4 fds, 50 malformed messages with fds" \
		60 "$IT_USER1" "$IT_PROBE" broker-fdflood
	if it_wait 3000 daemon_fds_le "$fd0"; then
		it_ok "after the fd flood the daemon holds $(daemon_fds) fds, as before it ($fd0)"
	else
		it_bad "after the fd flood: expected the daemon's $fd0 fds got $(daemon_fds)"
	fi
	it_dummy "$IT_USER1" $IT_DEV1 1000
fi

# --- memory shared with an SVA device (UB_SHARE) is used in place -------------------
# abi-probe shared-mem (above) checks what the device sees; here the daemon's
# own count says the copies took the direct path, not /proc/<pid>/mem
if ! it_skip shared-mem && it_copy_prog "$build" uaccectl uaccectl; then
	if it_bg_probe "$IT_USER1" "$IT_TMP/shold.out" hold $IT_DEV1 shared 100; then
		q=$("$IT_TMP/bin/uaccectl" --runtime-dir "$IT_RT" --json queues |
			jq -c ".queues[] | select(.pid == $IT_BG_PROBE)")
		if [ "$(echo "$q" | jq -r '.shared_files')" = 1 ] &&
			[ "$(echo "$q" | jq -r '.direct_accesses')" -ge 200 ]; then
			it_ok "shared memory: 100 copies of $IT_USER1 in a shared memfd, served in place ($(echo "$q" | jq -r '"shared_files \(.shared_files), direct_accesses \(.direct_accesses), bytes \(.bytes)"'))"
		else
			it_bad "shared memory: the daemon's queue of $IT_USER1: $q (want shared_files 1, direct_accesses >= 200)"
		fi
		kill -KILL "$IT_BG_PROBE"
		wait "$IT_BG" 2>/dev/null
	else
		it_bad "shared memory: the holder did not start"
		it_indent "$IT_TMP/shold.out"
	fi
fi

# --- cross-user exclusivity of the non-SVA device -------------------------------------
if ! it_skip cross-user; then
	if it_bg_probe "$IT_USER1" "$IT_TMP/hold.out" hold $IT_DEV0; then
		it_cmd "$IT_DEV0 held by $IT_USER1: open by root -> EBUSY" 30 root "$IT_PROBE" open $IT_DEV0 EBUSY
		it_cmd "$IT_DEV0 held by $IT_USER1: open by another process of $IT_USER1 -> EBUSY" 30 \
			"$IT_USER1" "$IT_PROBE" open $IT_DEV0 EBUSY
		it_cmd "$IT_DEV1 (SVA) meanwhile: open by root -> success" 30 root "$IT_PROBE" open $IT_DEV1 0
		kill -KILL "$IT_BG_PROBE"
		wait "$IT_BG" 2>/dev/null
		if it_wait 1000 it_avail_is $IT_DEV0 $IT_QUEUES; then
			it_cmd "$IT_DEV0 after the holder died: open by root -> success" 30 root \
				"$IT_PROBE" open $IT_DEV0 0
		else
			it_bad "$IT_DEV0: holder killed, available_instances not back within 1 s"
		fi
	else
		it_bad "cross-user: the holder did not start"
		it_indent "$IT_TMP/hold.out"
	fi
fi

# --- a long device ioctl holds up nobody else ----------------------------------------------
# A client floods DUMMY_CMD_FLUSH on $IT_DEV0 (each processes 15 copies of
# 128 MiB in the daemon before it answers); meanwhile another process's
# open+START+close of $IT_DEV1 must take on average less than a quarter of an
# average FLUSH (were they serialised, each would wait for the rest of the
# FLUSH running when it came: half of one on average), and, on the FUSE
# fallback, a listing of the node directory (served by the session thread of
# every node) less than half the shortest.  Relative, not absolute: the
# machine may be slow or busy (an emulated guest: single waits of over half
# a FLUSH were seen there with the average still a sixth).
if ! it_skip flush-contention; then
	# 15 x 128 MiB per FLUSH; less in the (emulated, CUSE) guest or on a
	# slow machine, where filling the buffers alone would outlast the
	# probe's start
	fmib=$((128 / IT_TS))
	[ "$IT_FRONTEND" = cuse ] && fmib=$((fmib / 8))
	[ "$fmib" -ge 8 ] || fmib=8
	if it_bg_probe root "$IT_TMP/flood.out" flood $IT_DEV0 $((5000 * IT_TS)) $fmib; then
		sleep 0.3
		# the median of 5 listings: one sample can meet a scheduling stall
		# on a loaded machine; serialised behind the FLUSHes, most would wait
		tls=$(for _ in 1 2 3 4 5; do
			t0=$(it_ms); ls -l "$IT_NODE_DIR" >/dev/null; echo $(($(it_ms) - t0))
		done | sort -n | sed -n 3p)
		it_as root timeout -k 5 $((60 * IT_TS)) "$IT_PROBE" open-start $IT_DEV1 10 \
			>"$IT_TMP/os.out" 2>&1
		os_rc=$?
		wait "$IT_BG"
		flood_rc=$?
		# here-strings, not process substitution: the guest has no /dev/fd
		read -r _ nfl fmin favg fmax <<<"$(grep '^flush-ms' "$IT_TMP/flood.out")"
		read -r _ _ osmax osavg <<<"$(grep '^open-start-ms' "$IT_TMP/os.out")"
		if [ "$flood_rc" != 0 ] || [ "$os_rc" != 0 ] || [ -z "${fmin:-}" ] || [ -z "${osmax:-}" ]; then
			it_bad "flush contention: flood exit $flood_rc, open-start exit $os_rc"
			it_indent "$IT_TMP/flood.out" "$IT_TMP/os.out"
		else
			it_info "$nfl FLUSHes of 15 x $fmib MiB on $IT_DEV0: $fmin ms min, $favg avg, $fmax max"
			if [ $((osavg * 4)) -lt "$favg" ]; then
				it_ok "during the FLUSHes on $IT_DEV0: open+START+close of $IT_DEV1 in $osavg ms on average ($osmax at most), less than a quarter of an average FLUSH ($favg ms)"
			else
				it_bad "during the FLUSHes on $IT_DEV0: open+START+close of $IT_DEV1 took $osavg ms on average ($osmax at most), not less than a quarter of an average FLUSH ($favg ms)"
			fi
			if [ "$IT_FRONTEND" != fuse ]; then
				:
			elif [ $((tls * 2)) -lt "$fmin" ]; then
				it_ok "during the FLUSHes on $IT_DEV0: ls -l of $IT_NODE_DIR in $tls ms (median of 5), less than half a FLUSH"
			else
				it_bad "during the FLUSHes on $IT_DEV0: ls -l of $IT_NODE_DIR took $tls ms (median of 5), not less than half the shortest FLUSH ($fmin ms)"
			fi
		fi
	else
		it_bad "flush contention: the flooding client did not start"
		it_indent "$IT_TMP/flood.out"
		# it may still start late: it must not hold the device for the steps after
		[ -n "$IT_BG_PROBE" ] && kill -KILL "$IT_BG_PROBE" 2>/dev/null
		pkill -KILL -f "$IT_PROBE flood" 2>/dev/null
		wait "$IT_BG" 2>/dev/null
	fi
fi

# --- a client's fd of a stopped FUSE server ----------------------------------------------
# UB_ATTACH identifies the fd it carries.  fstat() of a file of a FUSE file
# system goes to its server: a client that passes a file of its own FUSE
# mount and stops the server would hang the broker thread (every other
# client's attach with it).  A second uacced plays the foreign server here:
# a probe opens one of its files, the server is stopped (SIGSTOP) and its
# attribute cache (1 s) left to expire, then the probe sends that fd.  The
# broker must answer EINVAL, and a normal client work meanwhile.
if ! it_skip foreign-fuse && [ -c /dev/fuse ]; then
	frt=$IT_TMP/foreign
	mkdir -p "$frt/dev"
	"$IT_DAEMON" -f --frontend fuse --runtime-dir "$frt" --fuse-dir "$frt/dev" -c "$IT_CFG" \
		</dev/null >"$IT_TMP/foreign.log" 2>&1 &
	fpid=$!
	IT_BG_PIDS+=("$fpid")
	if it_wait 10000 test -e "$frt/dev/$IT_DEV1" && it_bg_probe root "$IT_TMP/af.out" attach-foreign "$frt/dev/$IT_DEV1" $IT_DEV1; then
		kill -STOP "$fpid"
		sleep 1.5
		kill -USR1 "$IT_BG_PROBE"
		it_cmd "a normal client works while a UB_ATTACH of a stopped FUSE server's file is in the broker" \
			30 root "$IT_DUMMY" -d $IT_DEV1 -n 100 -s 4096
		# the probe cannot exit while the server is stopped (its own close of
		# that file waits for the server too): wait for its answer first
		it_wait 10000 grep -q '^abi-probe:' "$IT_TMP/af.out"
		kill -CONT "$fpid"
		wait "$IT_BG"
		af_rc=$?
		if [ $af_rc = 0 ]; then
			it_ok "UB_ATTACH and UB_SHARE of a file of a stopped FUSE server: EINVAL in $(awk '/^attach-ms/{print $2}' "$IT_TMP/af.out") and $(awk '/^share-ms/{print $2}' "$IT_TMP/af.out") ms, no call into that file system"
		else
			it_bad "UB_ATTACH of a file of a stopped FUSE server (exit $af_rc)"
			it_indent "$IT_TMP/af.out"
		fi
	else
		it_bad "foreign FUSE server: no node, or the probe did not start"
		it_indent "$IT_TMP/foreign.log" "$IT_TMP/af.out"
	fi
	kill -CONT "$fpid" 2>/dev/null
	kill -TERM "$fpid" 2>/dev/null
	it_wait 10000 it_reaped "$fpid" || kill -KILL "$fpid" 2>/dev/null
	wait "$fpid" 2>/dev/null
	umount -l "$frt/dev" 2>/dev/null
fi

# --- owner death ------------------------------------------------------------------------
if ! it_skip owner-death; then
	it_owner_death "$IT_USER1" $IT_DEV0
	it_owner_death "$IT_USER1" $IT_DEV1
	it_owner_death root $IT_DEV1
fi

# --- daemon death: blocked clients get an error; a restart clears the stale mount ----------
# shellcheck disable=SC2317 # called through it_wait
bg_done() { ! kill -0 "$1" 2>/dev/null; }
if ! it_skip daemon-death; then
	it_bg_probe "$IT_USER1" "$IT_TMP/wd1.out" wait-death $IT_DEV1
	w1=$IT_BG
	it_bg_probe root "$IT_TMP/wd0.out" wait-death $IT_DEV0 poll
	w0=$IT_BG
	if grep -q '^ready' "$IT_TMP/wd1.out" && grep -q '^ready' "$IT_TMP/wd0.out"; then
		it_ok "two clients block: wd_recv_sync on $IT_DEV1 ($IT_USER1), poll on $IT_DEV0 (root)"
	else
		it_bad "the blocking clients did not start"
		it_indent "$IT_TMP/wd1.out" "$IT_TMP/wd0.out"
	fi
	# a plain stat(2) now: the kernel then serves the mount root's attributes
	# from its cache for a second (FUSE attr_timeout), as after any client
	# activity; the restarted daemon must see the stale mount all the same
	[ -d "$IT_NODE_DIR" ]
	t0=$(it_ms)
	it_daemon_kill KILL 5000
	for w in "$w1:$IT_TMP/wd1.out:wd_recv_sync on $IT_DEV1" "$w0:$IT_TMP/wd0.out:poll on $IT_DEV0"; do
		pid=${w%%:*} rest=${w#*:}
		out=${rest%%:*} what=${rest#*:}
		if it_wait 5000 bg_done "$pid"; then
			wait "$pid"
			rc=$?
			if [ "$rc" = 0 ]; then
				it_ok "daemon SIGKILLed: blocked $what returned an error within $(($(it_ms) - t0)) ms"
			else
				it_bad "daemon SIGKILLed: blocked $what: client exit $rc"
			fi
		else
			kill -KILL "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			it_bad "daemon SIGKILLed: blocked $what still hangs after 5 s"
		fi
		grep -E '^(info|FAIL|ok):' "$out" | grep -v 'a copy before' | it_indent
	done
	if [ "$IT_FRONTEND" = fuse ]; then
		if it_stale_mount; then
			it_info "a stale FUSE mount is left at $IT_NODE_DIR (ENOTCONN), as expected after SIGKILL"
		else
			it_info "no stale mount at $IT_NODE_DIR after SIGKILL"
		fi
	elif it_wait 2000 it_nodes_gone; then
		it_ok "daemon SIGKILLed: the CUSE nodes vanished"
	else
		it_bad "daemon SIGKILLed: the CUSE nodes are still there after 2 s"
	fi
	# UACCE_INTEG_RESTART_DELAY_MS: wait before the restart (0: at once, the hard case)
	sleep "$(awk -v ms="${UACCE_INTEG_RESTART_DELAY_MS:-0}" 'BEGIN { print ms / 1000 }')"
	tr=$(($(it_ms) - t0))
	if it_daemon_start; then
		it_ok "daemon restarted $tr ms after SIGKILL (pid $IT_DPID), nodes back"
		if [ "$IT_FRONTEND" = fuse ]; then
			n=$(it_mount_count)
			if [ "$n" = 1 ] && ! it_stale_mount; then
				it_ok "the restarted daemon cleared the stale mount (one live mount at $IT_NODE_DIR)"
			else
				it_bad "after the restart: expected 1 live mount at $IT_NODE_DIR got $n (the new mount sits on the stale one)"
			fi
		fi
		it_dummy root $IT_DEV0 1000
		it_dummy "$IT_USER1" $IT_DEV1 1000
	else
		fatal "the daemon does not start again after SIGKILL (its log is below)"
	fi
fi

# --- the owner killed under load ----------------------------------------------------------
if ! it_skip death-under-load; then
	it_cmd "abi-probe death-under-load as root" 60 root "$IT_PROBE" death-under-load
	if ! timeout -k 2 15 "$IT_DUMMY" -d $IT_DEV1 -n 100 -q >/dev/null 2>&1; then
		echo "note: the daemon no longer serves: SIGKILL and restart it for the remaining steps"
		it_daemon_kill KILL 5000
		it_stale_mount && umount -l "$IT_NODE_DIR"
		it_daemon_start || fatal "the daemon does not start again"
	fi
fi

# --- clean shutdown --------------------------------------------------------------------------
if ! it_skip shutdown; then
	held=
	if it_bg_probe "$IT_USER1" "$IT_TMP/hold.out" hold $IT_DEV1; then
		held=" while $IT_USER1 holds a started queue"
	fi
	t0=$(it_ms)
	if it_daemon_kill TERM 10000 && [ "$IT_DRC" = 0 ]; then
		it_ok "SIGTERM$held: the daemon exited with status 0 in $(($(it_ms) - t0)) ms"
	else
		it_bad "SIGTERM$held: expected exit status 0 within 10 s got ${IT_DRC:-?}"
	fi
	if it_nodes_gone; then
		it_ok "after SIGTERM: no device nodes in $IT_NODE_DIR"
	else
		it_bad "after SIGTERM: nodes left in $IT_NODE_DIR: $(cd "$IT_NODE_DIR" 2>/dev/null && echo uacce-*)"
	fi
	if [ "$IT_FRONTEND" = fuse ]; then
		n=$(it_mount_count)
		if [ "$n" = 0 ] && ! it_stale_mount; then
			it_ok "after SIGTERM: $IT_NODE_DIR is unmounted"
		else
			it_bad "after SIGTERM: expected no mount at $IT_NODE_DIR got $n (stale: $(it_stale_mount && echo yes || echo no))"
		fi
	fi
	for f in class broker.sock devdir uacced.pid; do
		if [ ! -e "$IT_RT/$f" ]; then
			it_ok "after SIGTERM: $IT_RT/$f removed"
		else
			it_bad "after SIGTERM: $IT_RT/$f still exists"
		fi
	done
	if [ -n "$held" ]; then
		kill -KILL "$IT_BG_PROBE" 2>/dev/null
		wait "$IT_BG" 2>/dev/null
	fi
fi

# --- a hardware entry whose PCI function this machine lacks (vfio backend) -----------
# The daemon starts without it, says why, lists it as waiting, and a reload
# keeps it waiting; the soft devices work as usual.  (The hardware itself is
# tested in the VFIO guest: test/integ/run-vfio.sh.)
if ! it_skip hw-waiting && it_copy_prog "$build" uaccectl uaccectl; then
	IT_CFG=$IT_TMP/hw.json
	cat >"$IT_CFG" <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":2},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":2},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":false,"queues":2},
            {"name":"edu","backend":"vfio","api":"dummy_v1","pci":"ffff:ff:1f.7","queues":2}]}
EOF
	hw_ctl() { "$IT_TMP/bin/uaccectl" --runtime-dir "$IT_RT" "$@"; }
	if it_daemon_start; then
		it_ok "a vfio entry for an absent PCI function: the daemon starts, the soft devices are up"
		[ ! -e "$IT_NODE_DIR/uacce-edu-3" ] && [ ! -e "$IT_RT/class/uacce-edu-3" ] &&
			it_ok "no node and no attributes for uacce-edu-3" || it_bad "uacce-edu-3 exists without its hardware"
		want="uacce-edu-3 (devices[3], backend vfio): waiting for its hardware: no PCI function ffff:ff:1f.7"
		grep -qF "$want" "$IT_DLOG" && it_ok "log: \"$want\"" ||
			{ it_bad "log lacks \"$want\""; it_indent "$IT_DLOG"; }
		got=$(hw_ctl list --json 2>&1 | jq -r '[(.devices | length), (.waiting[] | .id, .name, .backend, .reason)] | map(tostring) | join("|")' 2>&1)
		want="3|3|uacce-edu-3|vfio|no PCI function ffff:ff:1f.7"
		[ "$got" = "$want" ] && it_ok "uaccectl list --json: 3 devices, waiting: $got" ||
			it_bad "uaccectl list --json: \"$got\", want \"$want\""
		hw_ctl list 2>&1 | grep -qF "uacce-edu-3 (backend vfio): no PCI function ffff:ff:1f.7" &&
			it_ok "uaccectl list: the waiting entry and its reason" || it_bad "uaccectl list: no waiting entry"
		it_dummy root "$IT_DEV0" 100
		got=$(hw_ctl reload 2>&1)
		case $got in
		*"4 kept"*"some wait for their hardware"*) it_ok "reload: \"$got\"" ;;
		*) it_bad "reload: \"$got\"" ;;
		esac
		n=$(grep -c "waiting for its hardware" "$IT_DLOG")
		[ "$n" = 1 ] && it_ok "the reason is logged once, not again at the reload" ||
			it_bad "\"waiting for its hardware\" logged $n times"
		it_daemon_kill TERM
		[ "$IT_DRC" = 0 ] && it_ok "SIGTERM: exit 0" || it_bad "SIGTERM: exit ${IT_DRC:-?}"
	else
		it_bad "a vfio entry for an absent PCI function: the daemon did not start"
		it_indent "$IT_DLOG" | tail -n 20
	fi
fi

# --- node names, dev, device and current attributes (issue 12, "names") ----------------
# Next to the three v4 dummies: a mainline device (named as the kernel names
# class devices, "<name>-<id>"), a mainline zip device with node_prefix
# "hisi_zip" (as UADK looks for it) and a v4 one with an odd prefix.  Each
# class directory has dev (0:0 here: a FUSE fallback node is a file, no
# device) and a device link to our own directory whose numa_node is -1;
# available_instances is current after open and close; the FUSE frontend
# writes no udev properties (only CUSE nodes get them); uaccectl list shows
# the names, profiles and dev; a reload that drops devices removes all of
# theirs, SIGTERM everything.
if ! it_skip names && it_copy_prog "$build" uaccectl uaccectl; then
	it_daemon_kill TERM	# the one before, when "shutdown" was skipped
	IT_CFG=$IT_TMP/names.json
	ML=dummy-3 ZIP=hisi_zip-4 ODD=My.acc_el-x-5
	names_cfg() {	# names_cfg EXTRA_DEVICES_JSON
		cat <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":false,"queues":$IT_QUEUES}$1]}
EOF
	}
	names_cfg ',
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":3,"abi":"mainline"},
            {"name":"zip","backend":"soft","api":"uacce_zip_v1","sva":true,"queues":2,"abi":"mainline","node_prefix":"hisi_zip"},
            {"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":2,"node_prefix":"My.acc_el-x"}' >"$IT_CFG"
	n_ctl() { "$IT_TMP/bin/uaccectl" --runtime-dir "$IT_RT" "$@"; }
	if it_daemon_start && it_wait 5000 test -e "$IT_NODE_DIR/$ODD"; then
		it_ok "names: the daemon publishes $ML, $ZIP and $ODD besides the v4 dummies"
		# dev: what the node's number is (CUSE: as sysfs has it for the
		# cuse class device too; FUSE: a file, no device: 0:0)
		node_dev() {
			if [ "$IT_FRONTEND" = cuse ]; then
				printf '%d:%d' "0x$(stat -c %t "$IT_NODE_DIR/$1")" "0x$(stat -c %T "$IT_NODE_DIR/$1")"
			else
				echo 0:0
			fi
		}
		for d in $ML $ZIP $ODD $IT_DEV0; do
			want="660 $IT_GROUP $(node_dev "$d")"
			[ "$IT_FRONTEND" = cuse ] && want="$want $(cat "/sys/class/cuse/$d/dev" 2>&1)"
			got="$(stat -c '%a %G' "$IT_NODE_DIR/$d" 2>&1) $(it_attr "$d" dev)"
			[ "$IT_FRONTEND" = cuse ] && got="$got $(it_attr "$d" dev)"
			[ "$got" = "$want" ] &&
				it_ok "names: $IT_NODE_DIR/$d mode 660 group $IT_GROUP; class/$d/dev \"$(it_attr "$d" dev)\" ($IT_FRONTEND)" ||
				it_bad "names: $d: mode, group, dev: expected \"$want\" got \"$got\""
			link=$(readlink "$IT_RT/class/$d/device" 2>&1)
			want=$(cd "$IT_RT" && pwd -P)/devices/$d
			got=$(cat "$IT_RT/class/$d/device/numa_node" 2>&1)
			[ "$link" = "$want" ] && [ "$got" = -1 ] &&
				it_ok "names: class/$d/device -> $link, numa_node -1" ||
				it_bad "names: class/$d/device -> \"$link\" (want $want), numa_node \"$got\""
		done
		# what a plain program does: open the node, read the attribute, close
		for d in $ML $IT_DEV0; do
			max=$(it_attr "$d" available_instances)
			exec {nfd}<>"$IT_NODE_DIR/$d"
			got=$(it_attr "$d" available_instances)
			[ "$got" = $((max - 1)) ] &&
				it_ok "names: $d: available_instances $max -> $got as soon as open() returned" ||
				it_bad "names: $d: available_instances after open: $got, want $((max - 1))"
			t0=$(it_ms)
			exec {nfd}>&-
			if [ "$IT_FRONTEND" = cuse ]; then
				# CUSE's release is synchronous: current when close() returns
				it_avail_is "$d" "$max" &&
					it_ok "names: $d: available_instances back to $max as soon as close() returned" ||
					it_bad "names: $d: available_instances right after close: $(it_attr "$d" available_instances), want $max"
			else
				# FUSE delivers the release after close() returns
				it_wait 1000 it_avail_is "$d" "$max" &&
					it_ok "names: $d: available_instances back to $max $(($(it_ms) - t0)) ms after close() (FUSE: the release is asynchronous)" ||
					it_bad "names: $d: available_instances after close: $(it_attr "$d" available_instances), want $max"
			fi
		done
		got=$(find "$IT_RT/class" -name '*.tmp' | wc -l)
		[ "$got" = 0 ] && it_ok "names: no temporary file in any class directory" ||
			it_bad "names: temporaries in class/: $(find "$IT_RT/class" -name '*.tmp')"
		if [ "$IT_FRONTEND" = cuse ]; then
			# what 60-uacce.rules imports: the node's owner, group and mode
			want="UACCE_NODE_OWNER=0 UACCE_NODE_GROUP=$IT_GID UACCE_NODE_MODE=0660"
			for d in $ML $ZIP $ODD $IT_DEV0; do
				got=$(tr '\n' ' ' <"$IT_RT/udev/$d" 2>&1)
				[ "$got" = "$want " ] && it_ok "names: $IT_RT/udev/$d: $got" ||
					it_bad "names: $IT_RT/udev/$d: \"$got\", want \"$want\""
			done
		else
			[ ! -e "$IT_RT/udev" ] && it_ok "names: no udev properties for FUSE nodes ($IT_RT/udev absent)" ||
				it_bad "names: $IT_RT/udev exists with the FUSE frontend: $(ls "$IT_RT/udev")"
		fi
		got=$(n_ctl list --json 2>&1 | jq -r '[.devices[] | "\(.name)|\(.abi)|\(.dev)|\(.node)"] | join(" ")' 2>&1)
		want=""
		for d in $IT_DEV0:v4 $IT_DEV1:v4 $IT_DEV2:v4 $ML:mainline $ZIP:mainline $ODD:v4; do
			want="$want${want:+ }${d%%:*}|${d#*:}|$(node_dev "${d%%:*}")|$IT_NODE_DIR/${d%%:*}"
		done
		[ "$got" = "$want" ] && it_ok "names: uaccectl list --json: name, abi, dev and node of each: $got" ||
			it_bad "names: uaccectl list --json: \"$got\", want \"$want\""
		got=$(n_ctl list 2>&1 | awk -v z="$ZIP" '$2 == z {print $2, $3, $NF}')
		want="$ZIP mainline $(node_dev "$ZIP")"
		[ "$got" = "$want" ] && it_ok "names: uaccectl list: \"$got\" (DEVICE, ABI, ..., DEV)" ||
			{ it_bad "names: uaccectl list: the $ZIP row: \"$got\""; n_ctl list 2>&1 | it_indent; }
		# a reload without the three: every file of theirs goes
		names_cfg '' >"$IT_CFG"
		got=$(n_ctl reload 2>&1)
		left=""
		for d in $ML $ZIP $ODD; do
			for f in "$IT_NODE_DIR/$d" "$IT_RT/class/$d" "$IT_RT/devices/$d" "$IT_RT/udev/$d"; do
				[ -e "$f" ] && left="$left $f"
			done
		done
		[ -z "$left" ] && [ -e "$IT_RT/class/$IT_DEV0/dev" ] && [ -e "$IT_RT/devices/$IT_DEV0/numa_node" ] &&
			it_ok "names: reload without them ($got): their nodes, class and device directories are gone, the others stay" ||
			it_bad "names: after the reload ($got): left:$left"
		it_daemon_kill TERM
		# (dev: the FUSE mount point, an empty directory)
		left=$(find "$IT_RT" -mindepth 1 -maxdepth 1 ! -name dev ! -name broker.sock \
			! -name control.sock -printf '%f ' 2>/dev/null)
		[ "$IT_DRC" = 0 ] && [ -z "$left" ] && it_ok "names: SIGTERM: exit 0, no class/, devices/ or temporaries left in $IT_RT" ||
			it_bad "names: SIGTERM: exit ${IT_DRC:-?}, left in $IT_RT: $left"
	else
		it_bad "names: the daemon did not publish $ML, $ZIP and $ODD"
		it_indent "$IT_DLOG" | tail -n 20
	fi
fi

it_summary
exit $?
