#!/bin/bash
# test/integ/run-vfio.sh BUILD_DIR [BUILD_DIR...] - the "vfio" backend and
# hardware hot-plug, INSIDE the QEMU guest booted with the edu PCI device:
#
#   UACCE_VM_VFIO=1 test/vm/run-vm.sh test/integ/run-vfio.sh build build-asan
#
# One daemon config: a soft dummy_v1 device (devices[0], uacce-dummy-0) and
# {"name": "edu", "backend": "vfio", "api": "dummy_v1", "pci": BDF,
# "queues": 4} (devices[1], uacce-edu-1), BDF found by its ids 1234:11e8.
# For each build dir (e.g. normal and ASan, one boot), in this order:
#   9  --check-config refuses "sva": true and a malformed "pci" on a vfio entry
#   1  start-up with edu bound to vfio-pci: /dev/uacce-edu-1 (0660, the
#      config's group), attributes api dummy_v1, flags 0, available_instances 4;
#      device -> /sys/bus/pci/devices/BDF (its numa_node), dev = the node's
#      number = /sys/class/cuse's
#   2  uacce-dummy through edu as root and as a group member (every byte
#      verified by the client), an outsider refused
#   3  the soft device works while an edu client runs
#   4  the log names the BDF, its IOMMU group and the VFIO backend
#   5  hot-unplug (sysfs remove) while a client holds a started queue: the
#      remove completes (bounded), node and attributes go, the held queue
#      gets ENODEV (ENOTCONN on CUSE once the node is gone), the daemon
#      lives, the soft device works
#   6  rescan: the node comes back under the same name, a client works
#   7  unbind from vfio-pci while a client is copying: node goes, the client
#      ends (no hang); bind back: node returns, a client works
#   10 SIGTERM with edu bound: exit 0, nodes gone, edu still bound; a fresh
#      daemon drives it again
#   8  daemon started while edu is unbound (and then while it is absent):
#      it starts, logs that it waits for the BDF, no node; bind (rescan)
#      makes the node appear, a client works
# Sanitizer reports in any daemon log fail the build dir.
# Last line: "vfio-checks: N passed, M failed" (all build dirs); exit status M (max 255).
#
# Env: UACCE_VFIO_BDF forces the PCI function; UACCE_GUEST_FORCE=1 runs
# outside the test guest (it unbinds/removes that function!); lib.sh's
# UACCE_INTEG_KEEP, UACCE_INTEG_VERBOSE, UACCE_TIME_SCALE.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
NAME=vfio-checks

# --- the outer run: guest set-up once, then one inner run per build dir ------
if [ "${VF_INNER:-0}" != 1 ]; then
	if [ $# -lt 1 ]; then
		echo "usage: $0 BUILD_DIR [BUILD_DIR...]" >&2
		echo "$NAME: 0 passed, 1 failed"
		exit 1
	fi
	if [ "${UACCE_VM_GUEST:-}" != 1 ] && [ ! -e /run/uacce-vm ] && [ "${UACCE_GUEST_FORCE:-0}" != 1 ]; then
		echo "run-vfio.sh: runs inside the test guest (UACCE_VM_VFIO=1 test/vm/run-vm.sh); UACCE_GUEST_FORCE=1 to override" >&2
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
	# vfio-pci takes 1234:11e8 from now on: binds now, and after every rescan
	echo "1234 11e8" >/sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null
	echo "info: guest kernel $(uname -r), $(nproc) CPUs; edu $bdf, IOMMU group" \
		"$(basename "$(readlink "/sys/bus/pci/devices/$bdf/iommu_group")"), driver" \
		"$(basename "$(readlink "/sys/bus/pci/devices/$bdf/driver" 2>/dev/null)" 2>/dev/null)"
	tp=0 tf=0 failed=
	for b in "$@"; do
		tag=$(basename "$b")
		echo
		echo "--- $tag"
		out=$(mktemp /tmp/uacce-vfio-out.XXXXXX)
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
		if grep -q 'is stuck, giving up' "$out"; then
			echo "FAIL: $bdf is stuck in the kernel: the remaining build dirs are not run"
			tf=$((tf + 1))
			rm -f "$out"
			break
		fi
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
DEV=/sys/bus/pci/devices/$BDF
VFIO_DRV=/sys/bus/pci/drivers/vfio-pci
SOFT=uacce-dummy-0
EDU=uacce-edu-1
EDU_Q=4
VF_WPID=

vf_cleanup() {
	# a sysfs writer still blocked in the kernel waits for the daemon to let go
	if [ -n "$VF_WPID" ] && kill -0 "$VF_WPID" 2>/dev/null && [ "$IT_DAEMON_STUCK" != 1 ]; then
		it_daemon_kill KILL 5000
		it_wait 30000 vf_dead "$VF_WPID"
	fi
	it_cleanup
}
trap vf_cleanup EXIT
it_init "$build" || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
it_copy_prog "$build" uaccectl uaccectl || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
it_copy_prog "$build/test/clients" policy-probe policy-probe || { echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
chmod a+rx "$IT_TMP/bin/"*
CTL="$IT_TMP/bin/uaccectl --runtime-dir $IT_RT"
PROBE=$IT_TMP/bin/policy-probe
it_users || it_bad "test users"
ENOTCONN_OK="|ENOTCONN"		# CUSE: the node may be gone before the ioctl

vf_dead() { ! kill -0 "$1" 2>/dev/null; }
vf_driver() { basename "$(readlink "$DEV/driver" 2>/dev/null)" 2>/dev/null; }
vf_group() { basename "$(readlink "$DEV/iommu_group" 2>/dev/null)" 2>/dev/null; }
vf_present() { [ -e "$DEV" ]; }
vf_absent() { [ ! -e "$DEV" ]; }
vf_bound() { [ "$(vf_driver)" = vfio-pci ]; }
vf_unbound() { vf_present && [ -z "$(vf_driver)" ]; }
edu_up() { [ -c "/dev/$EDU" ] && [ -d "$IT_RT/class/$EDU" ]; }
edu_gone() { [ ! -e "/dev/$EDU" ] && [ ! -e "$IT_RT/class/$EDU" ]; }
soft_up() { [ -c "/dev/$SOFT" ] && [ -s "$IT_RT/devdir" ] && [ -S "$IT_RT/broker.sock" ]; }
soft_up_or_dead() { soft_up || it_daemon_gone; }
edu_up_or_dead() { edu_up || it_daemon_gone; }
log_has() { grep -qiE -- "$1" "$IT_DLOG" 2>/dev/null; }
stat_of() { stat -c '%F %a %U:%G' "$1" 2>&1; }

write_config() {	# FILE [EXTRA-KEYS-OF-THE-EDU-ENTRY] [PCI]
	cat >"$1" <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":8},
            {"name":"edu","backend":"vfio","api":"dummy_v1","pci":"${3:-$BDF}","queues":$EDU_Q${2:-}}]}
EOF
}

# vf_write FILE VALUE MS: write VALUE to the sysfs FILE in the background and
# wait MS for it (a VFIO unbind blocks in the kernel until the holder lets
# go, and a signal only makes it uninterruptible: no "timeout" here).
# 0 when done: VF_WRC its status, VF_WMS how long; 1 when still blocked.
vf_write() {
	local file=$1 val=$2 ms=$3 t0
	t0=$(it_ms)
	(echo "$val" >"$file") >/dev/null 2>"$IT_TMP/write.err" &
	VF_WPID=$!
	if it_wait "$ms" vf_dead "$VF_WPID"; then
		wait "$VF_WPID"
		VF_WRC=$?
		VF_WPID=
		VF_WMS=$(($(it_ms) - t0))
		return 0
	fi
	VF_WRC=blocked
	return 1
}
# vf_unstick: a writer blocked because the daemon kept the device: SIGKILL
# the daemon (its fds close) and wait for the writer
# If even that does not free it (the daemon cannot exit), give up on this build dir.
vf_unstick() {
	[ -n "$VF_WPID" ] || return 0
	it_daemon_kill KILL 5000
	if [ "$IT_DAEMON_STUCK" != 1 ] && it_wait 30000 vf_dead "$VF_WPID"; then
		it_info "the blocked sysfs write completed once the daemon was killed"
		wait "$VF_WPID" 2>/dev/null
		VF_WPID=
		return 0
	fi
	IT_DAEMON_STUCK=1
	it_bad "the sysfs write still blocks after SIGKILL of the daemon (kernel: $(it_pstate "$VF_WPID")): $BDF is stuck, giving up on this build dir"
	it_summary
	exit 1
}

# vf_bind_back: edu present and bound to vfio-pci again, whatever happened
vf_bind_back() {
	vf_present || vf_write /sys/bus/pci/rescan 1 30000 || vf_unstick
	it_wait 10000 vf_present || return 1
	if ! vf_bound; then
		[ -n "$(vf_driver)" ] && { vf_write "$DEV/driver/unbind" "$BDF" 30000 || vf_unstick; }
		vf_write "$VFIO_DRV/bind" "$BDF" 30000 || vf_unstick
	fi
	it_wait 10000 vf_bound
}

# vf_daemon_start: start it (this script's config), wait (20 s) for the soft
# node; 0 when it is up
vf_daemon_start() {
	IT_DN=$((IT_DN + 1))
	IT_DLOG=$IT_TMP/uacced.$IT_DN.log
	"$IT_DAEMON" -f --frontend cuse --runtime-dir "$IT_RT" -c "$IT_CFG" </dev/null >"$IT_DLOG" 2>&1 &
	IT_DPID=$!
	it_wait 20000 soft_up_or_dead
	soft_up && it_daemon_alive && return 0
	it_daemon_alive || { wait "$IT_DPID"; IT_DPID=; }
	return 1
}
vf_daemon_or_die() {	# DESC: start or give up on this build dir
	if vf_daemon_start; then
		it_ok "$1: the daemon started ($SOFT up)"
	else
		it_bad "$1: the daemon did not start"
		it_indent "$IT_DLOG" | tail -n 20
		it_summary
		exit 1
	fi
}

# checks of the edu node, with a prefix
check_node_up() {	# PREFIX MS
	local t0
	t0=$(it_ms)
	if it_wait "$2" edu_up_or_dead && edu_up; then
		it_ok "$1: /dev/$EDU and $IT_RT/class/$EDU appeared ($(($(it_ms) - t0)) ms)"
		return 0
	fi
	it_bad "$1: /dev/$EDU did not appear within $(($2 / 1000)) s (daemon $(it_daemon_alive && echo alive || echo dead); edu driver \"$(vf_driver)\")"
	tail -n 8 "$IT_DLOG" | it_indent
	return 1
}
check_node_gone() {	# PREFIX MS
	if it_wait "$2" edu_gone; then
		it_ok "$1: /dev/$EDU and its attributes are gone"
	else
		it_bad "$1: left: $(ls -d "/dev/$EDU" "$IT_RT/class/$EDU" 2>/dev/null | tr '\n' ' ')"
	fi
}
check_node_mode() {	# PREFIX
	local got
	got=$(stat_of "/dev/$EDU")
	[ "$got" = "character special file 660 root:$IT_GROUP" ] &&
		it_ok "$1: /dev/$EDU: $got" ||
		it_bad "$1: /dev/$EDU: expected \"character special file 660 root:$IT_GROUP\" got \"$got\""
}
check_alive() {	# PREFIX
	it_daemon_alive && it_ok "$1: the daemon still runs" || {
		it_bad "$1: the daemon died"
		tail -n 20 "$IT_DLOG" | it_indent
	}
}
# edu_copy PREFIX USER COUNT SIZE: uacce-dummy through edu, every byte verified
edu_copy() {
	if it_cmd "$1: uacce-dummy on $EDU as $2: $3 x $4 bytes copied and verified" 180 "$2" \
		"$IT_DUMMY" -d "$EDU" -n "$3" -s "$4"; then
		if grep -q " $3 x $4 bytes, 0 mismatches" "$IT_TMP/cmd.out"; then
			it_indent "$IT_TMP/cmd.out"
		else
			it_bad "$1: uacce-dummy exit 0 but not \"$3 x $4 bytes, 0 mismatches\""
			it_indent "$IT_TMP/cmd.out"
		fi
	fi
}
soft_copy() {	# PREFIX COUNT
	it_cmd "$1: uacce-dummy on $SOFT: $2 x 4 KiB verified" 120 root "$IT_DUMMY" -d "$SOFT" -n "$2" -s 4096
}

echo "info: $IT_NAME: build $build, edu $BDF (IOMMU group $(vf_group), driver $(vf_driver)), temp $IT_TMP"
vf_bind_back || it_bad "set-up: edu $BDF is not bound to vfio-pci (driver \"$(vf_driver)\")"
write_config "$IT_CFG"

# --- 9. --check-config --------------------------------------------------------
out=$("$IT_DAEMON" --check-config -c "$IT_CFG" 2>&1)
rc=$?
[ $rc = 0 ] && it_ok "check-config: the configuration with the vfio entry is valid: $(echo "$out" | head -n 1)" ||
	{ it_bad "check-config of the valid configuration: exit $rc"; echo "$out" | it_indent; }
write_config "$IT_TMP/sva.json" ',"sva":true'
out=$("$IT_DAEMON" --check-config -c "$IT_TMP/sva.json" 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q 'sva'; then
	it_ok "check-config refuses \"sva\": true on a vfio entry: exit $rc, $(echo "$out" | grep -m1 sva)"
else
	it_bad "check-config of \"sva\": true on a vfio entry: expected a non-zero exit and a message naming sva, got exit $rc"
	echo "$out" | it_indent
fi
write_config "$IT_TMP/pci.json" "" "00:03.0x"
out=$("$IT_DAEMON" --check-config -c "$IT_TMP/pci.json" 2>&1)
rc=$?
if [ $rc != 0 ] && echo "$out" | grep -q 'pci'; then
	it_ok "check-config refuses \"pci\": \"00:03.0x\": exit $rc, $(echo "$out" | grep -m1 pci)"
else
	it_bad "check-config of \"pci\": \"00:03.0x\": expected a non-zero exit and a message naming pci, got exit $rc"
	echo "$out" | it_indent
fi
out=$($CTL check-config "$IT_TMP/sva.json" 2>&1)
rc=$?
[ $rc != 0 ] && echo "$out" | grep -q sva && it_ok "uaccectl check-config gives the same verdict on sva: exit $rc" ||
	{ it_bad "uaccectl check-config of sva:true: exit $rc"; echo "$out" | it_indent; }

# --- 1. start-up with edu bound -------------------------------------------------
vf_daemon_or_die "start-up (edu bound to vfio-pci)"
if check_node_up "start-up" 30000; then
	check_node_mode "start-up"
	for a in "api dummy_v1" "flags 0" "available_instances $EDU_Q"; do
		set -- $a
		got=$(it_attr "$EDU" "$1")
		[ "$got" = "$2" ] && it_ok "start-up: attribute $1 = $got" ||
			it_bad "start-up: attribute $1: expected \"$2\" got \"$got\""
	done
	[ -e "/sys/class/cuse/$EDU" ] && it_info "/sys/class/cuse/$EDU exists"
	# names (issue 12): device links the real PCI function, dev is the node's number
	link=$(readlink "$IT_RT/class/$EDU/device" 2>&1)
	got=$(cat "$IT_RT/class/$EDU/device/numa_node" 2>&1)
	want=$(cat "$DEV/numa_node" 2>&1)
	[ "$link" = "/sys/bus/pci/devices/$BDF" ] && [ "$got" = "$want" ] &&
		it_ok "start-up: class/$EDU/device -> $link, numa_node \"$got\" (the function's own)" ||
		it_bad "start-up: class/$EDU/device -> \"$link\" (want /sys/bus/pci/devices/$BDF), numa_node \"$got\" (want \"$want\")"
	got=$(it_attr "$EDU" dev)
	want=$(printf '%d:%d' "0x$(stat -c %t "/dev/$EDU")" "0x$(stat -c %T "/dev/$EDU")")
	[ "$got" = "$want" ] && [ "$got" = "$(cat "/sys/class/cuse/$EDU/dev" 2>&1)" ] &&
		it_ok "start-up: class/$EDU/dev \"$got\" = /dev/$EDU's number = /sys/class/cuse/$EDU/dev" ||
		it_bad "start-up: class/$EDU/dev \"$got\", /dev/$EDU is $want, /sys/class/cuse/$EDU/dev \"$(cat "/sys/class/cuse/$EDU/dev" 2>&1)\""
	[ ! -e "$IT_RT/devices/$EDU" ] && it_ok "start-up: no directory of our own for $EDU (it has hardware)" ||
		it_bad "start-up: $IT_RT/devices/$EDU exists for a vfio device"
fi

# --- 2. clients ---------------------------------------------------------------------
edu_copy "edu" root 4 4096
edu_copy "edu" "$IT_USER1" 4 1000
it_cmd_fails "edu: outsider $IT_USER2 cannot open /dev/$EDU" 30 "$IT_USER2" "$IT_DUMMY" -d "$EDU" -n 1 -s 1000
it_avail_is "$EDU" "$EDU_Q" && it_ok "edu: available_instances back to $EDU_Q after the clients" ||
	it_bad "edu: available_instances after the clients: $(it_attr "$EDU" available_instances)"

# --- 3. the soft device while an edu client runs ----------------------------------
# 24 x 4 KiB through edu take ~10 s (4 DMA transfers of ~100 ms each)
it_as "$IT_USER1" timeout -k 5 180 "$IT_DUMMY" -d "$EDU" -n 24 -s 4096 >"$IT_TMP/bg.out" 2>&1 &
bg=$!
IT_BG_PIDS+=("$bg")
if it_wait 10000 it_avail_is "$EDU" $((EDU_Q - 1)); then
	soft_copy "concurrent" 300
	vf_dead "$bg" && it_bad "concurrent: the edu client was no longer running when the soft one finished (no overlap: test timing)" ||
		it_ok "concurrent: the edu client was still copying when the soft one finished"
else
	it_bad "concurrent: the edu client did not get its queue"
fi
it_wait 180000 vf_dead "$bg"
wait "$bg"
rc=$?
[ $rc = 0 ] && grep -q " 24 x 4096 bytes, 0 mismatches" "$IT_TMP/bg.out" &&
	it_ok "concurrent: the edu client: $(cat "$IT_TMP/bg.out")" ||
	{ it_bad "concurrent: the edu client: exit $rc"; it_indent "$IT_TMP/bg.out"; }

# --- 4. driven through VFIO -----------------------------------------------------------
g=$(vf_group)
if log_has "$BDF.*group $g|group $g.*$BDF"; then
	it_ok "log: $(grep -m1 -E "$BDF.*group $g|group $g.*$BDF" "$IT_DLOG" | sed 's/^<[0-9]>//')"
else
	it_bad "log: no line naming $BDF and its IOMMU group $g"
	it_indent "$IT_DLOG" | head -n 20
fi
if log_has "vfio"; then
	it_ok "log: names the vfio backend: $(grep -m1 -i vfio "$IT_DLOG" | sed 's/^<[0-9]>//')"
else
	it_bad "log: no line mentions vfio"
fi
log_has "$BDF.*MSI" && it_info "completions by MSI" ||
	it_info "not MSI? $(grep -m1 "$BDF" "$IT_DLOG")"
ctl_info() {	# PREFIX: what uaccectl --json list says about edu (info only)
	local out
	out=$($CTL --json list 2>&1 | tr -d '\n')
	if echo "$out" | grep -qE "$EDU|\"edu\""; then
		it_info "$1: uaccectl --json list: $(echo "$out" | grep -oE "\{[^{}]*($EDU|\"edu\")[^{}]*\}" | tr -s ' ' | paste -sd' ' -)"
	else
		it_info "$1: uaccectl --json list does not show edu: $(echo "$out" | head -c 300)"
	fi
}
ctl_info "bound"

# --- 5. hot-unplug while a queue is held ------------------------------------------------
# (when the write blocks, the daemon is SIGKILLed to let it complete: the
# checks that need a cooperating daemon are then skipped, not failed again)
if it_hold H "$IT_USER1" 15000 "$PROBE" open "$EDU" 0 start 0 map ss 64K 0 ready wait "$IT_TMP/H.go" \
	ioctl 0 start "ENODEV$ENOTCONN_OK" ioctl 0 put "ENODEV$ENOTCONN_OK"; then
	it_avail_is "$EDU" $((EDU_Q - 1)) && it_ok "unplug: $IT_USER1 holds a started queue (available_instances $((EDU_Q - 1)))" ||
		it_bad "unplug: available_instances with a held queue: $(it_attr "$EDU" available_instances)"
	if vf_write "$DEV/remove" 1 30000; then
		[ "$VF_WRC" = 0 ] && it_ok "unplug: echo 1 > $DEV/remove completed in $VF_WMS ms (a queue was held)" ||
			it_bad "unplug: the remove write failed (exit $VF_WRC): $(cat "$IT_TMP/write.err")"
		vf_absent && it_ok "unplug: $BDF is gone from the PCI bus" || it_bad "unplug: $BDF still present"
		check_node_gone "unplug" 10000
		it_release H "unplug: the held queue: START and PUT_Q give ENODEV (or ENOTCONN: CUSE node gone)"
		check_alive "unplug"
		it_daemon_alive && soft_copy "unplug" 200
		grep -iE "$EDU.*hardware|$BDF.*released" "$IT_DLOG" | tail -n 3 | sed 's/^<[0-9]>//; s/^/info: log: /'
		it_daemon_alive && ctl_info "unplugged"
	else
		it_bad "unplug: the remove still blocks after 30 s (the daemon did not let the function go)"
		grep -iE "$BDF|hardware|release" "$IT_DLOG" | tail -n 5 | it_indent
		vf_unstick
		kill -KILL "${IT_HOLD_JOB[H]}" 2>/dev/null
		echo "skip: unplug: node, held queue and soft device checks (the daemon was killed to unblock the remove)"
	fi
fi
it_daemon_alive || vf_daemon_or_die "after the unplug (restart)"

# --- 6. rescan -----------------------------------------------------------------------------
if vf_write /sys/bus/pci/rescan 1 30000 && it_wait 10000 vf_bound; then
	it_ok "rescan: $BDF is back, bound to vfio-pci"
	if check_node_up "rescan" 30000; then
		check_node_mode "rescan"
		it_avail_is "$EDU" "$EDU_Q" && it_ok "rescan: available_instances $EDU_Q" ||
			it_bad "rescan: available_instances: $(it_attr "$EDU" available_instances)"
		edu_copy "rescan" root 4 4096
	fi
else
	it_bad "rescan: $BDF not back and bound (present: $(vf_present && echo yes || echo no), driver \"$(vf_driver)\")"
	vf_write /sys/bus/pci/rescan 1 30000 || vf_unstick
fi
vf_bind_back || it_bad "rescan: cannot bind $BDF to vfio-pci again"

# --- 7. unbind while a client copies; bind back -------------------------------------------
bg=
if edu_up || it_wait 30000 edu_up; then
	it_as "$IT_USER1" timeout -k 5 300 "$IT_DUMMY" -d "$EDU" -n 400 -s 4096 >"$IT_TMP/inflight.out" 2>&1 &
	bg=$!
	IT_BG_PIDS+=("$bg")
	if it_wait 15000 it_avail_is "$EDU" $((EDU_Q - 1)); then
		sleep 1	# some requests in flight
	else
		it_bad "unbind: the copying client did not get its queue"
		it_indent "$IT_TMP/inflight.out"
		kill -KILL "$bg" 2>/dev/null
		bg=
	fi
else
	echo "skip: unbind with a copying client: no /dev/$EDU (unbind and bind checked all the same)"
fi
t0=$(it_ms)
if vf_write "$VFIO_DRV/unbind" "$BDF" 30000; then
	[ "$VF_WRC" = 0 ] && it_ok "unbind: completed in $VF_WMS ms${bg:+ while a client was copying}" ||
		it_bad "unbind: the write failed (exit $VF_WRC): $(cat "$IT_TMP/write.err")"
	vf_unbound && it_ok "unbind: $BDF present, no driver" ||
		it_bad "unbind: present $(vf_present && echo yes || echo no), driver \"$(vf_driver)\""
	check_node_gone "unbind" 10000
	if [ -n "$bg" ]; then
		if it_wait 60000 vf_dead "$bg"; then
			wait "$bg"
			rc=$?
			[ $rc != 0 ] && [ $rc != 124 ] &&
				it_ok "unbind: the copying client ended with an error $(($(it_ms) - t0)) ms after the unbind (exit $rc: $(grep -m1 '^uacce-dummy:' "$IT_TMP/inflight.out"))" ||
				{ it_bad "unbind: the copying client: exit $rc (expected an error)"; it_indent "$IT_TMP/inflight.out"; }
			# (uacce-dummy's error path does not free everything: LeakSanitizer
			# speaks in ASan builds; the client's business, not the daemon's)
			grep -qE "$IT_SANITIZER_RE" "$IT_TMP/inflight.out" &&
				it_info "the client's error exit: $(grep -m1 -E "$IT_SANITIZER_RE" "$IT_TMP/inflight.out")"
		else
			it_bad "unbind: the copying client still runs 60 s after the unbind (hangs)"
			kill -KILL "$bg" 2>/dev/null
		fi
	fi
	check_alive "unbind"
	it_daemon_alive && soft_copy "unbind" 200
else
	it_bad "unbind: still blocks after 30 s (the daemon did not let the function go)"
	vf_unstick
	[ -n "$bg" ] && kill -KILL "$bg" 2>/dev/null
	echo "skip: unbind: node, client and soft device checks (the daemon was killed to unblock the unbind)"
fi
it_daemon_alive || vf_daemon_or_die "after the unbind (restart)"
if ! vf_unbound; then
	it_bad "bind: $BDF is not driverless before the bind (driver \"$(vf_driver)\")"
	vf_write "$VFIO_DRV/unbind" "$BDF" 30000 || vf_unstick
	it_daemon_alive || vf_daemon_or_die "before the bind (restart)"
fi
if vf_write "$VFIO_DRV/bind" "$BDF" 30000 && [ "$VF_WRC" = 0 ] && it_wait 10000 vf_bound; then
	it_ok "bind: echo $BDF > $VFIO_DRV/bind"
	if check_node_up "bind" 30000; then
		check_node_mode "bind"
		edu_copy "bind" "$IT_USER1" 2 4096
	fi
else
	it_bad "bind: exit $VF_WRC, driver \"$(vf_driver)\": $(cat "$IT_TMP/write.err")"
	vf_bind_back
fi

# --- 10. SIGTERM with edu bound; a fresh daemon --------------------------------------------
it_daemon_kill TERM 15000
[ "$IT_DRC" = 0 ] && it_ok "SIGTERM: exit 0" || it_bad "SIGTERM: exit $IT_DRC"
edu_gone && [ ! -e "/dev/$SOFT" ] && it_ok "SIGTERM: /dev/$EDU, /dev/$SOFT and the attributes are gone" ||
	it_bad "SIGTERM: left: $(ls -d "/dev/$EDU" "/dev/$SOFT" "$IT_RT/class/"* 2>/dev/null | tr '\n' ' ')"
vf_bound && [ -c "/dev/vfio/$(vf_group)" ] && it_ok "SIGTERM: $BDF still bound to vfio-pci, /dev/vfio/$(vf_group) there" ||
	it_bad "SIGTERM: $BDF driver \"$(vf_driver)\", /dev/vfio: $(ls /dev/vfio | tr '\n' ' ')"
vf_daemon_or_die "fresh daemon"
if check_node_up "fresh daemon" 30000; then
	edu_copy "fresh daemon" root 2 4096
fi
it_daemon_kill TERM 15000
[ "$IT_DRC" = 0 ] && it_ok "fresh daemon: SIGTERM: exit 0" || it_bad "fresh daemon: SIGTERM: exit $IT_DRC"

# --- 8. start while edu is not bound, then while it is absent ---------------------------------
if vf_write "$VFIO_DRV/unbind" "$BDF" 30000 && vf_unbound; then
	vf_daemon_or_die "unbound at start"
	if it_wait 10000 log_has "$BDF"; then
		it_ok "unbound at start: the log names it: $(grep -m1 "$BDF" "$IT_DLOG" | sed 's/^<[0-9]>//')"
		log_has "wait" || it_bad "unbound at start: the log line does not say it waits"
	else
		it_bad "unbound at start: no log line names $BDF"
		it_indent "$IT_DLOG" | tail -n 10
	fi
	sleep 1
	edu_gone && it_ok "unbound at start: no /dev/$EDU" || it_bad "unbound at start: /dev/$EDU exists"
	ctl_info "unbound at start"
	check_alive "unbound at start"
	if vf_write "$VFIO_DRV/bind" "$BDF" 30000 && [ "$VF_WRC" = 0 ]; then
		if check_node_up "unbound at start, then bound" 30000; then
			check_node_mode "unbound at start, then bound"
			edu_copy "unbound at start, then bound" "$IT_USER1" 2 4096
		fi
	else
		it_bad "unbound at start: bind failed: $VF_WRC $(cat "$IT_TMP/write.err")"
	fi
	# now absent at start: remove it (no queue held), restart, rescan
	if vf_write "$DEV/remove" 1 30000 && vf_absent; then
		check_node_gone "removed (idle)" 10000
		it_daemon_kill TERM 15000
		[ "$IT_DRC" = 0 ] || it_bad "SIGTERM: exit $IT_DRC"
		vf_daemon_or_die "absent at start"
		if it_wait 10000 log_has "$BDF"; then
			it_ok "absent at start: the log names it: $(grep -m1 "$BDF" "$IT_DLOG" | sed 's/^<[0-9]>//')"
		else
			it_bad "absent at start: no log line names $BDF"
			it_indent "$IT_DLOG" | tail -n 10
		fi
		edu_gone && it_ok "absent at start: no /dev/$EDU" || it_bad "absent at start: /dev/$EDU exists"
		if vf_write /sys/bus/pci/rescan 1 30000 && it_wait 10000 vf_bound; then
			if check_node_up "absent at start, then rescan" 30000; then
				edu_copy "absent at start, then rescan" root 2 4096
			fi
		else
			it_bad "absent at start: rescan: driver \"$(vf_driver)\""
		fi
	else
		it_bad "remove (idle): exit $VF_WRC, present $(vf_present && echo yes || echo no)"
		vf_unstick
	fi
	if it_daemon_alive; then
		it_daemon_kill TERM 15000
		[ "$IT_DRC" = 0 ] && it_ok "last daemon: SIGTERM: exit 0" || it_bad "last daemon: SIGTERM: exit $IT_DRC"
	fi
else
	it_bad "unbound at start: could not unbind $BDF (exit $VF_WRC, driver \"$(vf_driver)\")"
	vf_unstick
fi

vf_bind_back || it_bad "end: $BDF not bound to vfio-pci again"
it_summary
rc=$?
exit $rc
