#!/bin/bash
# test/integ/run-containers.sh BUILD_DIR - accelerators in containers
# (issue 15), INSIDE the QEMU guest (CUSE; called by run-guest.sh, or alone:
#   test/vm/run-vm.sh test/integ/run-containers.sh BUILD_DIR).
# `uaccectl cdi` writes /run/cdi/uacce.json; podman (Debian's, no image
# registry, no network: a rootfs directory with busybox and the clients)
# gets a device by its CDI name, `--device uacced.io/uacce=zip-2`:
#   - the node and the runtime directory are there inside, the node with the
#     host's mode and group; without --device there is no node;
#   - a client in the test group (--user UID:GID --group-add GID) compresses
#     through the zip device, and gzip checks the output outside;
#   - a uid outside the group is refused (EACCES);
#   - the daemon sees the container's process by its pid in the daemon's
#     namespace (not the one the client knows itself by), and its death
#     (kill -9 from outside, podman kill) gives the queue back;
#   - the container's uid is subject to the same quota as on the host.
# Last line: "containers: N passed, M failed"; exit status M.
set -u
IT_NAME=${IT_NAME:-containers}
export UACCE_FRONTEND=${UACCE_FRONTEND:-cuse}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"

if [ "${RIG_GUEST:-}" != 1 ] && [ ! -e /run/uacce-vm ] && [ "${UACCE_GUEST_FORCE:-0}" != 1 ]; then
	echo "run-containers.sh: runs inside the test guest (test/vm/run-vm.sh): it writes" \
		"/run/cdi/uacce.json and runs podman as root; UACCE_GUEST_FORCE=1 to override" >&2
	exit 2
fi
[ "$UACCE_FRONTEND" = cuse ] || { echo "run-containers.sh: CUSE only (character devices)" >&2; exit 2; }
modprobe cuse 2>/dev/null || busybox modprobe cuse 2>/dev/null
it_begin "${1:-}"
for p in podman jq busybox gzip; do
	command -v $p >/dev/null || fatal "$p is needed (scripts/deps.sh test: podman crun conmon jq busybox-static)"
done
[ -c /dev/cuse ] || fatal "no /dev/cuse"
it_users_or_fatal
it_copy_prog "$build" uaccectl uaccectl || fatal "copy uaccectl"
it_copy_prog "$build" uacce-zip uacce-zip || fatal "copy uacce-zip"
chmod a+rx "$IT_TMP/bin/"*
CTL=$IT_TMP/bin/uaccectl
ZIPDEV=uacce-zip-2
IT_DEV2=$ZIPDEV			# what it_nodes_up waits for
SPEC=/run/cdi/uacce.json
KIND=uacced.io/uacce

# dummy-0 (v1), dummy-1 (v2, SVA), zip-2 (SVA); uacce-t1 may hold one queue
cat >"$IT_CFG" <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES},
            {"name":"zip","backend":"soft","api":"uacce_zip_v1","sva":true,"queues":$IT_QUEUES,"workers":1}],
 "quotas":{"users":{"$IT_USER1":{"max_queues":1}}}}
EOF
it_daemon_start || { it_indent "$IT_DLOG" | tail -20; fatal "daemon did not start"; }
it_wait 10000 test -c "/dev/$ZIPDEV" || fatal "no /dev/$ZIPDEV"
it_ok "daemon up: /dev/$IT_DEV0 /dev/$IT_DEV1 /dev/$ZIPDEV (CUSE), $IT_USER1 limited to 1 queue"

# --- the spec ---------------------------------------------------------------------------------
cleanup_containers() {
	[ -n "${PODMAN_ROOT:-}" ] && podman_ rm -a -f >/dev/null 2>&1
	rm -f "$SPEC"
	it_cleanup
}
trap cleanup_containers EXIT
mkdir -p /run/cdi
if "$CTL" cdi --output "$SPEC" >"$IT_TMP/cdi.out" 2>&1; then
	it_ok "uaccectl cdi --output $SPEC: $(head -n 1 "$IT_TMP/cdi.out")"
else
	it_indent "$IT_TMP/cdi.out"; fatal "uaccectl cdi failed"
fi
got=$(jq -r '[.devices[].name] | join(" ")' "$SPEC")
[ "$got" = "dummy-0 dummy-1 zip-2 all" ] && it_ok "CDI devices: $got" || it_bad "CDI devices: \"$got\""

# --- podman: no registry, no network ---------------------------------------------------------
# cgroup2 for crun (--cgroups disabled still reads it), a home for podman
if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" != cgroup2fs ]; then
	mount -t cgroup2 none /sys/fs/cgroup || fatal "mount cgroup2"
fi
export HOME=$IT_TMP/home
mkdir -p "$HOME"
PODMAN_ROOT=$IT_TMP/podman
podman_() {
	podman --root "$PODMAN_ROOT/root" --runroot "$PODMAN_ROOT/runroot" --storage-driver vfs "$@"
}

# the rootfs: busybox, the clients and every library they load (ldd), at
# the paths the loader looks for them
ROOTFS=$IT_TMP/rootfs
mkdir -p "$ROOTFS"/{bin,etc,proc,sys,dev,tmp,data}
chmod 1777 "$ROOTFS/tmp" "$ROOTFS/data"
cp "$(command -v busybox)" "$ROOTFS/bin/busybox"
for c in sh ls cat sleep echo id stat; do ln -s busybox "$ROOTFS/bin/$c"; done
cp "$IT_TMP/bin/uacce-zip" "$IT_DUMMY" "$IT_PROBE" "$ROOTFS/bin/"
for f in "$ROOTFS/bin/uacce-zip" "$ROOTFS/bin/uacce-dummy" "$ROOTFS/bin/abi-probe"; do
	ldd "$f" | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'
done | sort -u >"$IT_TMP/libs"
while read -r lib; do
	mkdir -p "$ROOTFS$(dirname "$lib")"
	cp -L "$lib" "$ROOTFS$lib" || fatal "copy $lib into the rootfs"
done <"$IT_TMP/libs"
[ -s "$IT_TMP/libs" ] || fatal "ldd found no libraries"
it_ok "rootfs $ROOTFS: busybox, uacce-zip, uacce-dummy, abi-probe and $(wc -l <"$IT_TMP/libs") libraries"
# the loader finds them there (no ld.so.cache in the rootfs)
LIBPATH=$(xargs -n1 dirname <"$IT_TMP/libs" | sort -u | paste -sd:)

# ctr NAME USER DEVICE COMMAND...: podman run (foreground) as USER: root,
# in (uacce-t1 with the test group added) or out (uacce-t2); DEVICE a CDI
# device name or - for none
ctr() {
	local name=$1 user=$2 dev=$3 args
	shift 3
	args=(run --rm --name "$name" --network none --cgroups disabled --env "LD_LIBRARY_PATH=$LIBPATH")
	case $user in
	in) args+=(--user "$IT_U1:$IT_G1" --group-add "$IT_GID") ;;
	out) args+=(--user "$IT_U2:$IT_G2") ;;
	esac
	[ "$dev" != - ] && args+=(--device "$KIND=$dev")
	podman_ "${args[@]}" --rootfs "$ROOTFS" "$@"
}

# --- 1. what the container gets ---------------------------------------------------------------
if ctr look root zip-2 sh -c "ls -ln /dev/$ZIPDEV; ls $IT_RT; echo env \$UACCE_RUNTIME_DIR; cat /proc/self/stat" \
	>"$IT_TMP/look.out" 2>&1; then
	it_ok "podman run --device $KIND=zip-2 --rootfs: runs"
	it_indent "$IT_TMP/look.out" | head -n 12
else
	it_indent "$IT_TMP/look.out" | tail -n 20; fatal "podman run failed: the rest needs it"
fi
got=$(awk -v d="/dev/$ZIPDEV" '$NF == d {print $1, $3, $4}' "$IT_TMP/look.out")
[ "$got" = "crw-rw---- 0 $IT_GID" ] && it_ok "inside: /dev/$ZIPDEV is crw-rw---- root:$IT_GROUP as on the host" ||
	it_bad "inside: /dev/$ZIPDEV: \"$got\", want \"crw-rw---- 0 $IT_GID\""
grep -qx broker.sock "$IT_TMP/look.out" && grep -qx devdir "$IT_TMP/look.out" &&
	it_ok "inside: the runtime directory $IT_RT (broker.sock, devdir, class)" ||
	it_bad "inside: no broker.sock or devdir in $IT_RT"
grep -qx "env $IT_RT" "$IT_TMP/look.out" && it_ok "inside: UACCE_RUNTIME_DIR=$IT_RT" ||
	it_bad "inside: UACCE_RUNTIME_DIR not set"
ctr nodev root - sh -c "ls /dev/$ZIPDEV" >"$IT_TMP/nodev.out" 2>&1 &&
	it_bad "without --device the container has /dev/$ZIPDEV too" ||
	it_ok "without --device: no /dev/$ZIPDEV ($(tail -n 1 "$IT_TMP/nodev.out"))"
ctr dev1only root dummy-1 sh -c "ls /dev/$ZIPDEV" >"$IT_TMP/nodev.out" 2>&1 &&
	it_bad "--device ...=dummy-1 gives /dev/$ZIPDEV too" ||
	it_ok "--device ...=dummy-1: /dev/$IT_DEV1 only, no /dev/$ZIPDEV"

# --- 2. (a) compression through the device, checked outside -----------------------------------
# some compressible data: text and a binary
{ for i in $(seq 1 3000); do echo "line $i of the container test: uacce zip through CDI"; done
  cat "$IT_TMP/bin/uacce-zip"; } >"$ROOTFS/data/in"
chmod 644 "$ROOTFS/data/in"
avail0=$(it_attr "$ZIPDEV" available_instances)
if ctr zip in zip-2 sh -c "uacce-zip --device $ZIPDEV -c /data/in >/data/out.gz" >"$IT_TMP/zip.out" 2>&1; then
	it_ok "in the container, uid $IT_U1 + group $IT_GROUP: uacce-zip --device $ZIPDEV compressed $(stat -c %s "$ROOTFS/data/in") bytes to $(stat -c %s "$ROOTFS/data/out.gz" 2>/dev/null)"
else
	it_bad "uacce-zip in the container failed"; it_indent "$IT_TMP/zip.out"
fi
if gzip -t "$ROOTFS/data/out.gz" 2>"$IT_TMP/gz.err" && gzip -dc "$ROOTFS/data/out.gz" | cmp -s - "$ROOTFS/data/in"; then
	it_ok "outside: gzip -t passes and gzip -d gives the input back byte for byte"
else
	it_bad "outside: the container's output does not check out"; it_indent "$IT_TMP/gz.err"
fi
grep -q "uid $IT_U1" "$IT_DLOG" 2>/dev/null && it_info "daemon log: $(grep -m1 "uid $IT_U1" "$IT_DLOG" | sed 's/^<[0-9]>//')"
it_wait 10000 it_avail_is "$ZIPDEV" "$avail0" && it_ok "$ZIPDEV: available_instances back to $avail0 after the container" ||
	it_bad "$ZIPDEV: available_instances $(it_attr "$ZIPDEV" available_instances), want $avail0"
# not by a fallback: the same without the device fails
ctr zipnodev in - sh -c "uacce-zip --device $ZIPDEV -c /data/in >/data/out2.gz" >"$IT_TMP/zip2.out" 2>&1 &&
	it_bad "uacce-zip without the device succeeded" ||
	it_ok "the same container without --device: uacce-zip fails ($(grep -m1 . "$IT_TMP/zip2.out"))"

# --- 3. (b) a uid outside the group --------------------------------------------------------------
if ctr outsider out zip-2 abi-probe open "$ZIPDEV" EACCES >"$IT_TMP/out.out" 2>&1; then
	it_ok "uid $IT_U2 (not in $IT_GROUP) in the container: open /dev/$ZIPDEV -> EACCES"
else
	it_bad "uid $IT_U2 in the container: open did not fail with EACCES"; it_indent "$IT_TMP/out.out"
fi
ctr outsider2 out zip-2 sh -c "uacce-zip --device $ZIPDEV -c /data/in >/tmp/x.gz" >"$IT_TMP/out2.out" 2>&1
rc=$?
[ $rc != 0 ] && grep -qi "permission denied" "$IT_TMP/out2.out" &&
	it_ok "uid $IT_U2: uacce-zip refused: $(grep -m1 -i 'permission denied' "$IT_TMP/out2.out")" ||
	{ it_bad "uid $IT_U2: uacce-zip exit $rc without \"permission denied\""; it_indent "$IT_TMP/out2.out"; }

# --- 4. (c) owner death inside the container, and the pid namespace ----------------------------
# hold_start NAME DEVICE COMMAND...: a holder container in the background
hold_start() {
	local name=$1 dev=$2
	shift 2
	ctr "$name" in "$dev" "$@" >"$IT_TMP/$name.out" 2>&1 &
	HOLD_JOB=$!
	IT_BG_PIDS+=("$HOLD_JOB")
}
ctr_pid() { podman_ inspect --format '{{.State.Pid}}' "$1" 2>/dev/null; }

hold_start holder1 dummy-1 abi-probe hold "$IT_DEV1"
if it_wait 60000 grep -q '^ready ' "$IT_TMP/holder1.out"; then
	inner=$(awk '/^ready /{print $2; exit}' "$IT_TMP/holder1.out")
	host=$(ctr_pid holder1)
	it_ok "holder in a container holds a queue of $IT_DEV1 (its own pid: $inner; on the host: $host)"
	it_avail_is "$IT_DEV1" $((IT_QUEUES - 1)) && it_ok "$IT_DEV1: available_instances $((IT_QUEUES - 1))" ||
		it_bad "$IT_DEV1: available_instances $(it_attr "$IT_DEV1" available_instances), want $((IT_QUEUES - 1))"
	got=$("$CTL" --json queues | jq -r --arg d "$IT_DEV1" '.queues[] | select(.device == $d) | "\(.pid) \(.uid) \(.command)"')
	[ -n "$host" ] && [ "$got" = "$host $IT_U1 abi-probe" ] &&
		it_ok "the daemon knows the owner by its pid in the daemon's namespace: $got (the container calls it $inner)" ||
		it_bad "uaccectl queues: owner \"$got\", want \"$host $IT_U1 abi-probe\""
	[ "$inner" != "$host" ] && it_ok "pid namespaces differ: $inner inside, $host outside" ||
		it_bad "the container shares the pid namespace (pid $inner)"
	# (d) the same quota: uacce-t1 holds 1 of 1
	if ctr quota in dummy-0 abi-probe open "$IT_DEV0" EDQUOT >"$IT_TMP/quota.out" 2>&1; then
		it_ok "quota: a second queue of uid $IT_U1 in another container: open -> EDQUOT (max_queues 1)"
	else
		it_bad "quota: second queue in a container not refused with EDQUOT"; it_indent "$IT_TMP/quota.out"
	fi
	it_as "$IT_USER1" "$IT_PROBE" open "$IT_DEV0" EDQUOT >"$IT_TMP/quota2.out" 2>&1 &&
		it_ok "quota: and on the host, uid $IT_U1 outside any container: EDQUOT (one count for the uid)" ||
		{ it_bad "quota: uid $IT_U1 on the host not refused"; it_indent "$IT_TMP/quota2.out"; }
	grep -q "open refused (EDQUOT)" "$IT_DLOG" &&
		it_ok "daemon log: $(grep -m1 'open refused (EDQUOT)' "$IT_DLOG" | sed 's/^<[0-9]>//')" ||
		it_bad "no \"open refused (EDQUOT)\" line in the daemon log"
	t0=$(it_ms)
	kill -KILL "$host"
	if it_wait 30000 it_avail_is "$IT_DEV1" "$IT_QUEUES"; then
		it_ok "kill -9 of the container's client (host pid $host): available_instances back to $IT_QUEUES"
		it_info "reclaimed $(($(it_ms) - t0)) ms after the kill"
	else
		it_bad "after kill -9: available_instances $(it_attr "$IT_DEV1" available_instances), want $IT_QUEUES"
	fi
	wait "$HOLD_JOB" 2>/dev/null
	# the quota is free again
	ctr quota2 in dummy-0 uacce-dummy -d "$IT_DEV0" -n 1 >"$IT_TMP/quota3.out" 2>&1 &&
		it_ok "quota: after the holder's death uid $IT_U1 gets a queue in a container again" ||
		{ it_bad "quota: still refused after the holder's death"; it_indent "$IT_TMP/quota3.out"; }
else
	it_bad "the holder container did not get ready"; it_indent "$IT_TMP/holder1.out" | tail -n 20
fi

# podman kill of a container whose uacce-zip holds a zip queue (reading a pipe that stays open)
hold_start holder2 zip-2 sh -c "sleep 600 | uacce-zip --device $ZIPDEV -c >/dev/null"
if it_wait 60000 it_avail_is "$ZIPDEV" $((IT_QUEUES - 1)); then
	it_ok "uacce-zip in a container holds a queue of $ZIPDEV (available_instances $((IT_QUEUES - 1)))"
	podman_ kill holder2 >"$IT_TMP/kill.out" 2>&1 || it_indent "$IT_TMP/kill.out"
	if it_wait 30000 it_avail_is "$ZIPDEV" "$IT_QUEUES"; then
		it_ok "podman kill: $ZIPDEV's available_instances back to $IT_QUEUES"
	else
		it_bad "podman kill: available_instances $(it_attr "$ZIPDEV" available_instances), want $IT_QUEUES"
	fi
else
	it_bad "uacce-zip in the container did not take a queue"; it_indent "$IT_TMP/holder2.out" | tail -n 20
	podman_ kill holder2 >/dev/null 2>&1
fi
it_wait 30000 it_reaped "$HOLD_JOB"
wait "$HOLD_JOB" 2>/dev/null
it_daemon_alive && it_ok "the daemon still runs" || it_bad "the daemon died"
it_summary
exit $?
