#!/bin/bash
# test/integ/run-systemd.sh BUILD_DIR - uacced as a systemd service, for real.
# Runs INSIDE the QEMU guest booted with systemd as init, and installs into
# that guest's throw-away root.  From the host:
#
#   mkdir B && cd B && /path/to/configure --prefix=/usr --sysconfdir=/etc
#   test/integ/run-systemd.sh --vm B
#
# which builds B (make), prepares the rig (UACCE_VM_INIT=systemd
# test/vm/setup.sh: + the udev .deb, once) and runs this script in the guest
# (UACCE_VM_INIT=systemd test/vm/run-vm.sh test/integ/run-systemd.sh B).
# Build right before: make install in the guest rebuilds what is out of
# date, and compiling under TCG takes minutes.
#
# Steps: udev (unpacked from the cached .deb when the host has none), make
# install, systemd-sysusers and systemd-tmpfiles for our files, udevadm
# control --reload, systemctl daemon-reload; systemctl start (Type=notify:
# active only once the nodes exist with mode 0660, group uacce), node
# permissions and the udev rule (any node name: a mainline and a prefixed
# device added by a drop-in; nodes.mode changed by a reload), a user in the group (ok, SVA and
# SHARE_SVAS through the sandbox) and one outside (EACCES), the journal
# fields of a queue event (owner killed), systemctl reload (plain, adding a
# device, refused), systemctl stop, systemctl kill -s KILL and
# Restart=on-failure, an edu DMA client across systemctl restart and
# systemctl kill -s KILL, systemd-analyze security.
# Last line: "systemd-tests: N passed, M failed"; exit status M; 2 when not
# run in such a guest.
set -u
IT_NAME=${IT_NAME:-systemd-tests}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
usr_build() {	# usr_build DIR: configured for /usr and /etc?
	grep -qx 'prefix = /usr' "$1/Makefile" 2>/dev/null && grep -qx 'sysconfdir = /etc' "$1/Makefile" || {
		echo "$IT_NAME: $1: configure it with --prefix=/usr --sysconfdir=/etc (and build it)" >&2
		return 1
	}
}
if [ "${1:-}" = --vm ]; then	# on the host: build, then boot the guest
	build=$(cd "${2:-.}" && pwd) || exit 2
	usr_build "$build" || exit 2
	make -C "$build" -j"$(nproc)" >/dev/null || { echo "$IT_NAME: make in $build failed" >&2; exit 2; }
	UACCE_VM_INIT=systemd "$here/../vm/setup.sh" || exit 2
	# with the QEMU edu device behind an IOMMU: the vfio backend in the sandbox
	UACCE_VM_INIT=systemd UACCE_VM_VFIO=${UACCE_VM_VFIO:-1} UACCE_VM_TIMEOUT=${UACCE_VM_TIMEOUT:-1200} \
		exec "$here/../vm/run-vm.sh" "$here/run-systemd.sh" "$build"
fi
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"

if [ "$(cat /proc/1/comm 2>/dev/null)" != systemd ] || [ ! -d /run/systemd/system ]; then
	echo "$IT_NAME: needs systemd as PID 1: UACCE_VM_INIT=systemd test/vm/run-vm.sh $0 BUILD_DIR" >&2
	exit 2
fi
if [ "${UACCE_VM_GUEST:-0}" != 1 ] && [ "${UACCE_SYSTEMD_FORCE:-0}" != 1 ]; then
	echo "$IT_NAME: installs into / and adds users: runs in the test guest only" \
		"(UACCE_SYSTEMD_FORCE=1 to override)" >&2
	exit 2
fi
build=$(cd "${1:-.}" && pwd) || exit 2
usr_build "$build" || exit 2
unset UACCE_RUNTIME_DIR		# clients find the service's /run/uacce
IT_TMP=$(mktemp -d /tmp/uacce-systemd.XXXXXX) || exit 2
chmod 755 "$IT_TMP"
IT_USER1=uacce-sd1			# in the group uacce
IT_USER2=uacce-sd2			# not in it
IT_DUMMY=/usr/bin/uacce-dummy		# the installed one
IT_PROBE=$build/test/clients/.libs/abi-probe	# with the installed libuacce
[ -x "$IT_PROBE" ] || IT_PROBE=$build/test/clients/abi-probe
DEV0=uacce-dummy-0			# in /etc/uacce/uacced.json: dummy_v1, non-SVA
DEV1=uacce-dummy-1			# dummy_v2, SVA
DEV2=					# added by a drop-in and a reload: the next id
DROPIN=/etc/uacce/uacced.d/50-systemd-test.json
cleanup() {
	local p
	for p in "${IT_BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -f "$DROPIN" /etc/uacce/uacced.d/40-names-test.json
	[ "${UACCE_INTEG_KEEP:-0}" = 1 ] || rm -rf "$IT_TMP"
}
trap cleanup EXIT

prop() { systemctl show -P "$1" uacced.service; }
# node_perms DEV: "character special file 660 root:uacce"
node_perms() { stat -c '%F %a %U:%G' "/dev/$1" 2>&1; }
want_perms="character special file 660 root:uacce"
nodes_ok() {
	local d
	for d in "$@"; do
		[ "$(node_perms "$d")" = "$want_perms" ] || return 1
	done
}
nodes_gone() {
	local d
	for d in "$@"; do
		[ ! -e "/dev/$d" ] || return 1
	done
}
# journal_msgs: uacced's messages since the cursor of the last mark
journal_mark() { journalctl -u uacced.service -n 0 --show-cursor -q 2>/dev/null | sed -n 's/^-- cursor: //p' >"$IT_TMP/cursor"; }
journal_msgs() {
	local c
	c=$(cat "$IT_TMP/cursor" 2>/dev/null)
	if [ -n "$c" ]; then
		journalctl -u uacced.service -o cat --no-pager --after-cursor="$c" 2>/dev/null
	else
		journalctl -u uacced.service -o cat --no-pager 2>/dev/null
	fi
}
journal_has() { journal_msgs | grep -q -- "$1"; }

it_info "boot: $(systemd-analyze time 2>/dev/null | head -n 1); the test started at $(cut -d' ' -f1 /proc/uptime) s uptime"
it_info "guest kernel $(uname -r), systemd $(systemctl --version | awk 'NR == 1 {print $2}'), $(nproc) CPUs"

# --- udev ----------------------------------------------------------------------
if ! command -v udevadm >/dev/null 2>&1; then
	deb=$(ls "${UACCE_VM_CACHE:-/var/cache/uacced-vm}"/udev/udev_*.deb 2>/dev/null | head -n 1)
	if [ -n "$deb" ]; then
		# not dpkg-deb -x: its tar would replace the /lib -> usr/lib symlink
		it_check "udev unpacked into the guest's root ($(basename "$deb"))" sh -c \
			"dpkg-deb --fsys-tarfile '$deb' | tar -x --keep-directory-symlink -C /"
	else
		it_bad "no udevadm and no udev .deb in the cache (run UACCE_VM_INIT=systemd test/vm/setup.sh)"
	fi
	systemctl daemon-reload
fi
if command -v udevadm >/dev/null 2>&1; then
	it_check "systemd-udevd started" systemctl start systemd-udevd.service
fi

# --- install ---------------------------------------------------------------------
t0=$(it_ms)
if it_cmd "make install from $build (--prefix=/usr --sysconfdir=/etc)" 900 root make -C "$build" install; then
	it_info "make install: $(($(it_ms) - t0)) ms; compiled or linked in the guest (out of date): $(grep -cE '^ *(CC|CCLD) ' "$IT_TMP/cmd.out")"
fi
for f in /usr/sbin/uacced /usr/sbin/uaccectl /usr/bin/uacce-dummy /usr/lib/libuacce.so.0 \
	/usr/lib/systemd/system/uacced.service /usr/lib/udev/rules.d/60-uacce.rules \
	/usr/lib/tmpfiles.d/uacced.conf /usr/lib/sysusers.d/uacced.conf /etc/uacce/uacced.json; do
	[ -e "$f" ] || it_bad "not installed: $f"
done
if getent group uacce >/dev/null; then	# the host's, seen through the overlay
	it_info "the host has a group uacce: deleted in the guest, for sysusers to create it"
	groupdel uacce || it_bad "groupdel uacce"
fi
it_check "systemd-sysusers /usr/lib/sysusers.d/uacced.conf" systemd-sysusers /usr/lib/sysusers.d/uacced.conf
IT_GID=$(getent group uacce | cut -d: -f3)
[ -n "$IT_GID" ] && [ "$IT_GID" -lt 1000 ] && it_ok "group uacce created by sysusers (system gid $IT_GID)" ||
	it_bad "group uacce: got \"$(getent group uacce)\""
rm -rf /run/uacce
it_check "systemd-tmpfiles --create /usr/lib/tmpfiles.d/uacced.conf" \
	systemd-tmpfiles --create /usr/lib/tmpfiles.d/uacced.conf
got=$(stat -c '%F %a %U:%G' /run/uacce 2>&1)
[ "$got" = "directory 755 root:root" ] && it_ok "/run/uacce: $got" || it_bad "/run/uacce: $got"
if command -v udevadm >/dev/null 2>&1; then
	it_check "udevadm control --reload" udevadm control --reload
fi
it_check "systemctl daemon-reload" systemctl daemon-reload
# what boot does with modules-load.d/uacced.conf: before the service starts,
# so that its device policy knows the vfio major (DeviceAllow=char-vfio)
it_check "systemd-modules-load with /usr/lib/modules-load.d/uacced.conf" \
	systemctl restart systemd-modules-load.service
for m in cuse vfio_pci; do
	grep -q "^$m " /proc/modules && it_ok "module $m loaded" || it_bad "module $m not loaded"
done
got=$(prop FragmentPath)
# /lib is /usr/lib here (merged /usr): systemd names the first of its search paths
[ "$(realpath "$got" 2>/dev/null)" = /usr/lib/systemd/system/uacced.service ] &&
	it_ok "unit loaded from $got (installed as /usr/lib/systemd/system/uacced.service)" ||
	it_bad "unit: FragmentPath \"$got\" (LoadState $(prop LoadState))"
got=$(jq -r '[.devices[0] | .name, .api, (.sva | tostring)] + [.devices[1] | .name, .api, (.sva | tostring)] | join(" ")' /etc/uacce/uacced.json)
[ "$got" = "dummy dummy_v1 false dummy dummy_v2 true" ] &&
	it_ok "/etc/uacce/uacced.json: $DEV0 (dummy_v1), $DEV1 (dummy_v2, SVA), $(jq '.devices | length' /etc/uacce/uacced.json) device(s)" ||
	it_bad "/etc/uacce/uacced.json: the first devices are \"$got\", not dummy_v1 and dummy_v2 (SVA)"
DEV2=uacce-dummy-$(jq '.devices | length' /etc/uacce/uacced.json)
it_check "systemd-analyze verify uacced.service: no complaint" sh -c \
	"systemd-analyze verify --man=no uacced.service 2>&1 | tee /dev/stderr | (! grep -q .)"

# --- users ------------------------------------------------------------------------
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--user-group -G uacce "$IT_USER1" && useradd --system --no-create-home \
	--home-dir /nonexistent --shell /usr/sbin/nologin --user-group "$IT_USER2" ||
	it_bad "useradd"
IT_U1=$(id -u "$IT_USER1") IT_G1=$(id -g "$IT_USER1")
IT_U2=$(id -u "$IT_USER2") IT_G2=$(id -g "$IT_USER2")

# --- start ------------------------------------------------------------------------
journal_mark
t0=$(it_ms)
if systemctl start uacced.service >"$IT_TMP/start.out" 2>&1; then
	t1=$(it_ms)
	# no waiting: Type=notify, READY=1 comes once every node has its mode
	got="$(node_perms $DEV0) / $(node_perms $DEV1)"
	st=$(prop ActiveState)
	if [ "$st" = active ] && nodes_ok $DEV0 $DEV1; then
		it_ok "systemctl start: active in $((t1 - t0)) ms, and already then /dev/$DEV0, /dev/$DEV1: $want_perms"
	else
		it_bad "systemctl start returned: ActiveState $st, nodes: $got"
	fi
	it_info "StatusText: $(prop StatusText); MainPID $(prop MainPID); WatchdogUSec $(prop WatchdogUSec)"
else
	it_bad "systemctl start uacced"
	it_indent "$IT_TMP/start.out"
	systemctl status --no-pager -l uacced.service 2>&1 | it_indent
	journalctl -u uacced.service --no-pager -n 40 2>&1 | it_indent
fi
pid1=$(prop MainPID)
[ "$(cat "/run/uacce/uacced.pid" 2>/dev/null)" = "$pid1" ] && it_ok "/run/uacce/uacced.pid is the MainPID ($pid1)" ||
	it_bad "/run/uacce/uacced.pid: \"$(cat /run/uacce/uacced.pid 2>&1)\", MainPID $pid1"
# the records are native journal records, with their source location
rec=$(journalctl -u uacced.service -o json --no-pager 2>/dev/null | jq -c 'select(.MESSAGE | startswith("ready:"))' | tail -n 1)
if [ -n "$rec" ] && [ "$(jq -r '[._TRANSPORT, .SYSLOG_IDENTIFIER, .CODE_FUNC, .PRIORITY] | join(" ")' <<<"$rec")" = "journal uacced setup 6" ]; then
	it_ok "the start-up record is a native journal record: $(jq -c '{MESSAGE, _TRANSPORT, CODE_FILE, CODE_LINE, CODE_FUNC}' <<<"$rec")"
else
	it_bad "start-up record: ${rec:-none}"
fi
rec=$(journalctl -u uacced.service -o json --no-pager UACCE_DEVICE=$DEV1 2>/dev/null | jq -c 'select(.MESSAGE | contains("published"))' | tail -n 1)
[ -n "$rec" ] && it_ok "device record: journalctl UACCE_DEVICE=$DEV1 finds $(jq -c '{MESSAGE, UACCE_DEVICE}' <<<"$rec")" ||
	it_bad "no \"published\" record with UACCE_DEVICE=$DEV1"

# --- the udev rule ------------------------------------------------------------------
if command -v udevadm >/dev/null 2>&1; then
	chmod 0600 /dev/$DEV0 && chgrp root /dev/$DEV0
	udevadm trigger --action=add /sys/class/cuse/$DEV0 && udevadm settle -t 30
	got=$(node_perms $DEV0)
	[ "$got" = "$want_perms" ] && it_ok "60-uacce.rules: udev restores /dev/$DEV0 to 660 root:uacce after \"udevadm trigger\"" ||
		{ it_bad "after udevadm trigger: /dev/$DEV0 $got"; udevadm test /sys/class/cuse/$DEV0 2>&1 | grep -i -E 'uacce|GROUP|MODE' | it_indent; }
fi

# --- the udev rule covers any configured name and follows nodes.* (issue 12) -------------
# 60-uacce.rules has no name pattern: it applies to the CUSE devices that
# have a properties file /run/uacce/udev/<node> and takes owner, group and
# mode from it.  A drop-in adds a mainline device (dummy-N) and one with a
# node_prefix; udev restores them after a trigger; a drop-in changing
# nodes.mode changes what udev restores.
NAMES_DROPIN=/etc/uacce/uacced.d/40-names-test.json
if command -v udevadm >/dev/null 2>&1; then
	n=$(jq '.devices | length' /etc/uacce/uacced.json)
	ML=dummy-$n PFX=acc_x-$((n + 1))
	got=$(tr '\n' ' ' </run/uacce/udev/$DEV0 2>&1)
	want="UACCE_NODE_OWNER=0 UACCE_NODE_GROUP=$(getent group uacce | cut -d: -f3) UACCE_NODE_MODE=0660 "
	[ "$got" = "$want" ] && it_ok "/run/uacce/udev/$DEV0: $got" || it_bad "/run/uacce/udev/$DEV0: \"$got\", want \"$want\""
	jq '{devices: (.devices + [{name: "dummy", backend: "soft", api: "dummy_v2", sva: true, queues: 2, abi: "mainline"},
		{name: "dummy", backend: "soft", api: "dummy_v1", queues: 2, node_prefix: "acc_x"}])}' \
		/etc/uacce/uacced.json >"$NAMES_DROPIN"
	systemctl reload uacced.service
	if it_wait 10000 nodes_ok $ML $PFX; then
		it_ok "names: a reload publishes /dev/$ML (abi mainline) and /dev/$PFX (node_prefix): $want_perms"
		for d in $ML $PFX; do
			chmod 0600 /dev/$d && chgrp root /dev/$d
			udevadm trigger --action=add /sys/class/cuse/$d && udevadm settle -t 30
			got=$(node_perms $d)
			[ "$got" = "$want_perms" ] && it_ok "60-uacce.rules: udev restores /dev/$d to 660 root:uacce after \"udevadm trigger\"" ||
				{ it_bad "after udevadm trigger: /dev/$d $got"; udevadm test /sys/class/cuse/$d 2>&1 | grep -i -E 'uacce|GROUP|MODE' | it_indent; }
		done
		# nodes.mode changes: the daemon applies it, and udev restores the new mode
		jq '. + {nodes: {mode: "0640"}}' "$NAMES_DROPIN" >"$NAMES_DROPIN.new" && mv "$NAMES_DROPIN.new" "$NAMES_DROPIN"
		systemctl reload uacced.service
		if it_wait 10000 sh -c "[ \"\$(stat -c %a /dev/$ML)\" = 640 ]"; then
			chmod 0600 /dev/$ML
			udevadm trigger --action=add /sys/class/cuse/$ML && udevadm settle -t 30
			got=$(stat -c '%a %U:%G' /dev/$ML 2>&1)
			[ "$got" = "640 root:uacce" ] && it_ok "nodes.mode 0640 by a reload: udev restores /dev/$ML to $got" ||
				it_bad "nodes.mode 0640: after udevadm trigger /dev/$ML is $got"
		else
			it_bad "nodes.mode 0640 by a reload: /dev/$ML is $(stat -c %a /dev/$ML 2>&1)"
		fi
	else
		it_bad "names: after the reload: /dev/$ML $(node_perms $ML), /dev/$PFX $(node_perms $PFX)"
		journalctl -u uacced.service --no-pager -n 20 2>&1 | it_indent
	fi
	rm -f "$NAMES_DROPIN"
	systemctl reload uacced.service
	if it_wait 10000 nodes_gone $ML $PFX && it_wait 10000 nodes_ok $DEV0; then
		[ ! -e /run/uacce/udev/$ML ] && [ ! -e /run/uacce/udev/$PFX ] && [ ! -e /run/uacce/class/$ML ] &&
			it_ok "names: drop-in removed, reload: /dev/$ML, /dev/$PFX, their class and udev files are gone; /dev/$DEV0 $want_perms again" ||
			it_bad "names: drop-in removed: files left: $(ls /run/uacce/udev /run/uacce/class 2>&1 | tr '\n' ' ')"
	else
		it_bad "names: drop-in removed, reload: /dev/$ML or /dev/$PFX still there, or /dev/$DEV0 $(node_perms $DEV0)"
	fi
fi

# --- clients -------------------------------------------------------------------------
it_dummy "$IT_USER1" $DEV0 500
it_dummy "$IT_USER1" $DEV1 500
for d in $DEV0 $DEV1; do
	it_cmd_fails "$IT_USER2 (not in uacce) cannot open /dev/$d" 60 "$IT_USER2" "$IT_DUMMY" -d $d -n 1
	grep -q 'Permission denied' "$IT_TMP/cmd.out" && it_ok "$IT_USER2 got EACCES" ||
		{ it_bad "$IT_USER2: no \"Permission denied\""; it_indent "$IT_TMP/cmd.out"; }
done
if [ -x "$IT_PROBE" ]; then
	# SVA (/proc/<pid>/mem: CAP_SYS_PTRACE) and SHARE_SVAS (pidfd_getfd) in the sandbox
	it_cmd "abi-probe share bad-requests threads as $IT_USER1 (SVA memory and pidfd_getfd through the sandbox)" \
		300 "$IT_USER1" "$IT_PROBE" -N $DEV0 -S $DEV1 share bad-requests threads
fi

# --- a queue event in the journal: the owner is killed ----------------------------------
if [ -x "$IT_PROBE" ] && it_bg_probe "$IT_USER1" "$IT_TMP/hold.out" hold $DEV1; then
	pid=$IT_BG_PROBE
	kill -KILL "$pid"
	wait "$IT_BG" 2>/dev/null
	owner_rec() { journalctl -o json --no-pager "UACCE_PID=$pid" 2>/dev/null | jq -c 'select(.MESSAGE | contains("owner exited"))' | tail -n 1; }
	if it_wait 10000 sh -c "[ -n \"\$(journalctl -o json --no-pager UACCE_PID=$pid 2>/dev/null | grep 'owner exited')\" ]"; then
		rec=$(owner_rec)
		# CODE_FUNC: uq_release (CUSE waits for the release of the dying
		# owner's file, before its pidfd fires) or uq_owner_died
		got=$(jq -r '[.UACCE_DEVICE, .UACCE_UID, .UACCE_PID, .UACCE_COMM, .SYSLOG_IDENTIFIER, .PRIORITY, .CODE_FILE, (.CODE_FUNC | sub("^uq_owner_died$"; "uq_release")), ._SYSTEMD_UNIT] | join(" ")' <<<"$rec")
		want="$DEV1 $IT_U1 $pid abi-probe uacced 6 daemon/core.c uq_release uacced.service"
		if [ "$got" = "$want" ] && [[ "$(jq -r .UACCE_QUEUE <<<"$rec")" =~ ^[0-9]+$ ]]; then
			it_ok "owner killed: journalctl UACCE_PID=$pid finds the record with UACCE_DEVICE, UACCE_QUEUE, UACCE_UID, UACCE_PID, UACCE_COMM"
		else
			it_bad "owner-exit record: got \"$got\", want \"$want\""
		fi
		jq '{MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, CODE_FILE, CODE_LINE, CODE_FUNC, UACCE_DEVICE, UACCE_QUEUE, UACCE_UID, UACCE_PID, UACCE_COMM, _SYSTEMD_UNIT, _TRANSPORT}' <<<"$rec" | it_indent
	else
		it_bad "no \"owner exited\" record with UACCE_PID=$pid within 10 s"
		journalctl -u uacced.service --no-pager -n 20 | it_indent
	fi
else
	it_bad "the queue holder did not start"
	it_indent "$IT_TMP/hold.out" 2>/dev/null
fi

# --- reload ---------------------------------------------------------------------------
journal_mark
if it_check "systemctl reload uacced" systemctl reload uacced.service &&
	it_wait 10000 journal_has "reloaded "; then
	it_ok "reload: the journal shows \"$(journal_msgs | grep -m1 SIGHUP)\" and \"$(journal_msgs | grep -m1 'reloaded ' | cut -c1-100)...\""
else
	it_bad "reload: no \"reloaded\" message"; journal_msgs | it_indent
fi
[ "$(prop MainPID)" = "$pid1" ] && [ "$(prop ActiveState)" = active ] && nodes_ok $DEV0 $DEV1 &&
	it_ok "after the reload: same MainPID, active, nodes in place" ||
	it_bad "after the reload: MainPID $(prop MainPID) (was $pid1), $(prop ActiveState)"
# a drop-in that adds a device: the reload publishes it with the configured mode and group
mkdir -p /etc/uacce/uacced.d
jq '{devices: (.devices + [{name: "dummy", backend: "soft", api: "dummy_v2", sva: false, queues: 2}])}' \
	/etc/uacce/uacced.json >"$DROPIN"
journal_mark
systemctl reload uacced.service
if it_wait 10000 nodes_ok $DEV2; then
	it_ok "reload with a drop-in adding a device: /dev/$DEV2 appears, $(node_perms $DEV2)"
	it_dummy "$IT_USER1" $DEV2 200
else
	it_bad "reload with a new device: /dev/$DEV2: $(node_perms $DEV2)"; journal_msgs | it_indent
fi
# a broken drop-in: refused, the previous configuration stays
echo '{ "devices": [ ' >"$DROPIN"
journal_mark
systemctl reload uacced.service
if it_wait 10000 journal_has "reload refused"; then
	it_ok "a broken drop-in: \"$(journal_msgs | grep -m1 'reload refused' | cut -c1-110)...\""
else
	it_bad "a broken drop-in: no \"reload refused\""; journal_msgs | it_indent
fi
[ "$(prop ActiveState)" = active ] && nodes_ok $DEV0 $DEV1 $DEV2 &&
	it_ok "refused reload: still active, the three nodes stay" || it_bad "after a refused reload: $(prop ActiveState)"
rm -f "$DROPIN"
systemctl reload uacced.service
it_wait 10000 nodes_gone $DEV2 && it_ok "drop-in removed, reload: /dev/$DEV2 is gone" ||
	it_bad "drop-in removed, reload: /dev/$DEV2 still there"

# the BPF gate for kernel devices (issue 17) inside the sandbox: a drop-in
# gating /dev/full, where the guest's kernel has the BPF LSM
jq -n --arg u "$IT_USER2" '{kernel: [{node: "/dev/full"}], quotas: {users: {($u): {devices: []}}}}' >"$DROPIN"
journal_mark
systemctl reload uacced.service
if it_wait 20000 journal_has "reloaded " &&
	[ "$(/usr/sbin/uaccectl --json list | jq -r '.kernel[0].gate')" = enforced ]; then
	it_ok "a kernel entry in the sandbox: $(journal_msgs | grep -m1 'kernel gate: /dev/full')"
	it_cmd_fails "$IT_USER2 (no device allowed) cannot open the gated /dev/full" 60 "$IT_USER2" \
		sh -c 'exec 3>/dev/full'
	if it_wait 10000 journal_has "kernel gate: full: open by uid $IT_U2"; then
		it_ok "the refusal in the journal: $(journal_msgs | grep -m1 'kernel gate: full: open by')"
	else
		it_bad "no journal record of the refusal"; journal_msgs | it_indent
	fi
else
	it_bad "a kernel entry in the sandbox: $(/usr/sbin/uaccectl --json list | jq -c '.kernel')"
	journal_msgs | it_indent
fi
rm -f "$DROPIN"
systemctl reload uacced.service

# --- the vfio backend in the sandbox: DMA through the IOMMU, uevents, unbind/bind ------
edu=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] && edu=${d##*/}
done
edu_driver() { basename "$(readlink "/sys/bus/pci/devices/$edu/driver" 2>/dev/null)" 2>/dev/null; }
if [ -z "$edu" ]; then
	it_info "no QEMU edu device in this guest (UACCE_VM_VFIO=1 adds one): vfio checks skipped"
else
	echo 1234 11e8 >/sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null
	it_wait 5000 sh -c "[ \"\$(basename \"\$(readlink /sys/bus/pci/devices/$edu/driver)\")\" = vfio-pci ]" &&
		it_ok "edu $edu bound to vfio-pci" || it_bad "edu $edu: driver \"$(edu_driver)\""
	EDU=uacce-edu-$(jq '.devices | length' /etc/uacce/uacced.json)
	jq --arg pci "$edu" '{devices: (.devices + [{name: "edu", backend: "vfio", api: "dummy_v1", pci: $pci, queues: 2}])}' \
		/etc/uacce/uacced.json >"$DROPIN"
	journal_mark
	systemctl reload uacced.service
	if it_wait 15000 nodes_ok $EDU; then
		it_ok "reload with a vfio entry for $edu: /dev/$EDU appears, $(node_perms $EDU)"
		journal_has "completions by MSI" && it_ok "the journal: \"$(journal_msgs | grep -m1 'completions by')\"" ||
			{ it_bad "no \"completions by MSI\" line"; journal_msgs | it_indent; }
		# 4 KiB requests: each is 4 DMA transfers of ~100 ms in QEMU's edu
		it_cmd "uacce-dummy on $EDU as $IT_USER1: 3 x 4 KiB moved by the device's DMA and verified" \
			300 "$IT_USER1" "$IT_DUMMY" -d $EDU -n 3 -s 4096 && it_indent "$IT_TMP/cmd.out"
		# the kernel asks for the device back; the uevents reach the sandboxed daemon
		journal_mark
		if timeout 60 sh -c "echo $edu >/sys/bus/pci/drivers/vfio-pci/unbind"; then
			it_ok "unbind $edu from vfio-pci completed (the daemon let it go)"
		else
			it_bad "unbind $edu from vfio-pci did not complete in 60 s"
		fi
		it_wait 10000 nodes_gone $EDU && it_ok "unbound: /dev/$EDU is gone" || it_bad "unbound: /dev/$EDU still there"
		journal_has "waiting for its hardware" &&
			it_ok "the journal: \"$(journal_msgs | grep -m1 'waiting for its hardware' | cut -c1-120)\"" ||
			{ it_bad "no \"waiting for its hardware\" line after the unbind"; journal_msgs | it_indent; }
		echo "$edu" >/sys/bus/pci/drivers/vfio-pci/bind
		if it_wait 15000 nodes_ok $EDU; then
			it_ok "bound again: a uevent brought /dev/$EDU back, $(node_perms $EDU)"
			it_cmd "uacce-dummy on $EDU again: 1 x 3000 bytes" 300 "$IT_USER1" "$IT_DUMMY" -d $EDU -n 1 -s 3000
			# an edu DMA client across systemctl restart: the VFIO fds go
			# through the fd store, the successor adopts the device
			vrc=$build/test/clients/.libs/restart-client
			[ -x "$vrc" ] || vrc=$build/test/clients/restart-client
			vdir=$IT_TMP/vrc
			mkdir -p "$vdir"
			"$vrc" -d "$vdir" -s 4096 "dummy:$EDU" >"$vdir/out.json" 2>"$vdir/err" &
			vpid=$!
			sleep 2
			vp1=$(prop MainPID)
			journal_mark
			if systemctl restart uacced.service && it_wait 20000 journal_has "live restart: serving the queues of pid $vp1" &&
				journal_has "edu device $edu adopted"; then
				it_ok "systemctl restart with an edu client: \"$(journal_msgs | grep -m1 'edu device .* adopted' | cut -c1-140)\""
			else
				it_bad "systemctl restart with an edu client: $(journal_msgs | grep -iE 'restart|edu|vfio' | head -n 6)"
			fi
			sleep 2
			# and across a SIGKILL (the crash journal): the dead
			# daemon's VFIO fds close with it, the successor sets edu
			# up afresh and takes the queue over
			vp2=$(prop MainPID)
			journal_mark
			systemctl kill -s KILL uacced.service
			if it_wait 30000 journal_has "crash restart: serving the queues of pid $vp2" &&
				journal_has "edu device $edu (id"; then
				it_ok "systemctl kill -s KILL with an edu client: the successor set edu up afresh and serves the queue of pid $vp2"
			else
				it_bad "systemctl kill -s KILL with an edu client: $(journal_msgs | grep -iE 'crash|edu|vfio|revoked' | head -n 6)"
			fi
			journal_has "queue revoked" &&
				it_bad "a queue was revoked by the crash: $(journal_msgs | grep -m2 'queue revoked')"
			sleep 3
			touch "$vdir/stop"
			if wait "$vpid" && grep -q '"errors":0' "$vdir/out.json"; then
				it_ok "the edu client across systemctl restart and kill -s KILL: $(cat "$vdir/out.json")"
			else
				it_bad "the edu client across systemctl restart and kill -s KILL: $(cat "$vdir/out.json" "$vdir/err")"
			fi
		else
			it_bad "bound again: no /dev/$EDU (uevents do not reach the service?)"; journal_msgs | it_indent
		fi
	else
		it_bad "reload with a vfio entry: no /dev/$EDU"
		journal_msgs | it_indent
	fi
	rm -f "$DROPIN"
	systemctl reload uacced.service
	it_wait 10000 nodes_gone $EDU && it_ok "vfio entry removed, reload: /dev/$EDU is gone" ||
		it_bad "vfio entry removed, reload: /dev/$EDU still there"
fi

# --- live restart: systemctl restart (the fd store) and uaccectl restart (issue 16) ----
RC=$build/test/clients/.libs/restart-client	# with the installed libuacce
[ -x "$RC" ] || RC=$build/test/clients/restart-client
rcdir=$IT_TMP/rc
mkdir -p "$rcdir" && chmod 777 "$rcdir"
zipdev=$(cd /run/uacce/class 2>/dev/null && grep -l uacce_zip_v1 ./*/api 2>/dev/null | head -n 1 | cut -d/ -f2)
specs=("dummy:$DEV0" "dummy:$DEV1" "poll:$DEV1")
[ -n "$zipdev" ] && specs+=("zip:$zipdev")
it_as "$IT_USER1" "$RC" -d "$rcdir" "${specs[@]}" >"$rcdir/out.json" 2>"$rcdir/err" &
rcpid=$!
rc_open() { [ "$(uaccectl --json queues 2>/dev/null | grep -c '"state"')" -ge ${#specs[@]} ]; }
it_wait 20000 rc_open || it_bad "live restart: the client's queues did not open: $(cat "$rcdir/err")"
q0=$(uaccectl --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
pid1=$(prop MainPID)
n0=$(prop NRestarts)
# the crash journal's files while the client works (its snapshot is current
# a few ms after the last change)
sleep 1
fs0=$(prop NFileDescriptorStore)
[ "$fs0" -gt 5 ] && it_ok "the crash journal: systemd's fd store holds $fs0 fds with ${#specs[@]} queues open" ||
	it_bad "the crash journal: the fd store holds $fs0 fds with ${#specs[@]} queues open"
journal_mark
t0=$(it_ms)
if systemctl restart uacced.service; then
	t1=$(it_ms)
	pid2=$(prop MainPID)
	if [ "$pid2" != "$pid1" ] && [ "$(prop ActiveState)" = active ] && journal_has "live restart: serving the queues of pid $pid1"; then
		it_ok "systemctl restart: pid $pid1 handed its queues through the fd store to pid $pid2 in $((t1 - t0)) ms"
	else
		it_bad "systemctl restart: MainPID $pid1 -> $pid2, $(prop ActiveState); journal: $(journal_msgs | grep -i 'restart\|store' | head -n 5)"
	fi
	# the crash journal (the unit's --crash-journal): the store holds the
	# same files again once the successor's first snapshot replaced the
	# predecessor's (systemd keeps a file once: the handed state names the
	# journal's files by the journal's names)
	if it_wait 20000 eval '[ "$(prop NFileDescriptorStore)" = "$fs0" ]'; then
		it_ok "the fd store holds $fs0 fds again, as before the restart (the crash journal's: connections, listeners, regions, owners, journal, snapshot)"
	else
		it_bad "the fd store holds $(prop NFileDescriptorStore) fds after the restart, $fs0 before"
	fi
	journal_has "which the store does not hold" &&
		it_bad "the successor missed fds: $(journal_msgs | grep -m3 'which the store does not hold')"
else
	it_bad "systemctl restart uacced"
fi
touch "$rcdir/go"
sleep 1
pid2=$(prop MainPID)
journal_mark
if out=$(uaccectl restart 2>&1); then
	# execve in place: the same main process, nothing for systemd to follow
	if it_wait 20000 journal_has "live restart: serving the queues of pid $pid2" &&
		[ "$(prop ActiveState)" = active ] && [ "$(prop MainPID)" = "$pid2" ] &&
		[ "$(cat /run/uacce/uacced.pid)" = "$pid2" ]; then
		it_ok "uaccectl restart: \"$out\"; the same MainPID $pid2 runs the new image, NRestarts $n0 -> $(prop NRestarts)"
	else
		it_bad "uaccectl restart: MainPID $pid2 -> $(prop MainPID), $(prop ActiveState), pid file $(cat /run/uacce/uacced.pid)"
	fi
else
	it_bad "uaccectl restart: $out"
fi
sleep 1
q1=$(uaccectl --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
[ "$q0" = "$q1" ] && it_ok "the same queues after both restarts: $q1" || it_bad "queues $q0 -> $q1"
touch "$rcdir/stop"
if wait "$rcpid"; then
	it_ok "the client ($IT_USER1) worked across both restarts without an error: $(tr '\n' ' ' <"$rcdir/out.json")"
else
	it_bad "the client across the restarts: $(cat "$rcdir/out.json" "$rcdir/err")"
fi

# --- stop ------------------------------------------------------------------------------
journal_mark
if it_check "systemctl stop uacced" systemctl stop uacced.service; then
	st="$(prop ActiveState) $(prop Result) status $(prop ExecMainStatus)"
	[ "$st" = "inactive success status 0" ] && it_ok "stopped: $st" || it_bad "stopped: $st"
	nodes_gone $DEV0 $DEV1 && it_ok "stop: the nodes are gone" || it_bad "stop: nodes left"
	[ ! -e /run/uacce ] && it_ok "stop: /run/uacce removed (RuntimeDirectory=)" ||
		it_bad "stop: /run/uacce left: $(ls /run/uacce)"
	journal_has "shutting down" && it_ok "stop: the journal shows \"$(journal_msgs | grep -m1 'shutting down')\"" ||
		it_bad "stop: no \"shutting down\" message"
fi

# --- kill -s KILL: Restart=on-failure, the crash journal -----------------------------------
# a client at work across the SIGKILL: the successor takes the queues over
# from the crash journal (the fd store kept the files)
if systemctl start uacced.service && nodes_ok $DEV0 $DEV1; then
	rm -f "$rcdir/go" "$rcdir/stop"
	it_as "$IT_USER1" "$RC" -d "$rcdir" "${specs[@]}" >"$rcdir/out.json" 2>"$rcdir/err" &
	rcpid=$!
	it_wait 20000 rc_open || it_bad "crash restart: the client's queues did not open: $(cat "$rcdir/err")"
	sleep 1	# the journal's snapshot has them (~20 ms after the last change)
	q0=$(uaccectl --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
	fs0=$(prop NFileDescriptorStore)
	pid1=$(prop MainPID)
	n0=$(prop NRestarts)
	journal_mark
	t0=$(it_ms)
	systemctl kill -s KILL uacced.service
	if it_wait 20000 sh -c "[ \"\$(systemctl show -P MainPID uacced.service)\" != $pid1 ] &&
		[ \"\$(systemctl show -P MainPID uacced.service)\" != 0 ] &&
		[ \"\$(systemctl show -P ActiveState uacced.service)\" = active ]"; then
		it_ok "systemctl kill -s KILL: restarted by Restart=on-failure in $(($(it_ms) - t0)) ms (RestartSec=1s): MainPID $pid1 -> $(prop MainPID), NRestarts $n0 -> $(prop NRestarts)"
		nodes_ok $DEV0 $DEV1 && it_ok "after the restart: /dev/$DEV0, /dev/$DEV1: $want_perms" ||
			it_bad "after the restart: $(node_perms $DEV0) / $(node_perms $DEV1)"
		if it_wait 20000 journal_has "crash restart: serving the queues of pid $pid1"; then
			it_ok "crash restart: the successor serves the queues of pid $pid1: \"$(journal_msgs | grep -m1 'the journal.s snapshot has' | cut -c1-150)\""
		else
			it_bad "crash restart: no takeover: $(journal_msgs | grep -iE 'crash|journal|store' | head -n 6)"
		fi
		touch "$rcdir/go"	# the poller's request: after the crash
		sleep 2
		q1=$(uaccectl --json queues 2>/dev/null | grep -o '"id":[0-9]*' | sort | tr '\n' ' ')
		[ "$q0" = "$q1" ] && it_ok "crash restart: the same queues after the SIGKILL: $q1" ||
			it_bad "crash restart: queues $q0 -> $q1"
		it_wait 20000 eval '[ "$(prop NFileDescriptorStore)" = "$fs0" ]' &&
			it_ok "crash restart: the fd store holds $fs0 fds again, as before the SIGKILL" ||
			it_bad "crash restart: the fd store holds $(prop NFileDescriptorStore) fds, $fs0 before the SIGKILL"
		it_dummy "$IT_USER1" $DEV1 200
	else
		it_bad "no restart after SIGKILL: $(prop ActiveState) $(prop SubState) MainPID $(prop MainPID)"
		systemctl status --no-pager uacced.service 2>&1 | it_indent
	fi
	touch "$rcdir/stop"
	if it_wait 60000 it_reaped "$rcpid" && wait "$rcpid"; then
		it_ok "the client ($IT_USER1) worked across the SIGKILL without an error: $(tr '\n' ' ' <"$rcdir/out.json")"
	else
		kill -KILL "$rcpid" 2>/dev/null
		it_bad "the client across the SIGKILL: $(cat "$rcdir/out.json" "$rcdir/err")"
	fi
else
	it_bad "systemctl start (for the kill test)"
fi

# --- the sandbox ------------------------------------------------------------------------
sec=$(systemd-analyze security --no-pager uacced.service 2>/dev/null | tail -n 1)
case "$sec" in
*"Overall exposure level for uacced.service:"*) it_ok "systemd-analyze security: ${sec#*: }" ;;
*) it_bad "systemd-analyze security: \"$sec\"" ;;
esac
warn=$(journalctl -b --no-pager -o cat _PID=1 2>/dev/null | grep -i 'uacced.service' | grep -iv -E 'start|stop|reload|deactivated|consumed|scheduled restart|main process exited|failed with result|killing process|sen(t|ding) signal' | sort -u)
[ -n "$warn" ] && { it_info "systemd said about the unit:"; echo "$warn" | it_indent; }
systemctl stop uacced.service
it_summary
