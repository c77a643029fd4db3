#!/bin/bash
# test/integ/run-kabi.sh - the kernel-ABI clients (issue 12): kabi-v4 and
# kabi-mainline, plain uacce programs (no libuacce: /sys/class/uacce, open
# /dev/<name>, ioctl, mmap of the queue fd, poll), run unmodified under
# uacce-run (the preload shim) as the unprivileged user uacce-t1 against
# the real daemon with v4 and mainline dummy and zip devices.
#
#   sudo test/integ/run-kabi.sh [BUILD_DIR]
#
# Host: FUSE fallback (nodes under <runtime dir>/dev, which the shim shows
# as /dev/<name>).  Guest: UACCE_FRONTEND=cuse (run-guest.sh sets it), the
# nodes are real character devices under /dev.  For each profile: the
# devices each program finds (only its own profile's), the attribute set,
# a workload, one queue per thread, fork, dlopen, the profile's rules; a
# non-member of the node group is refused; no queue is left taken; the
# daemon exits cleanly.  One line per check; the last line is "kabi: N
# passed, M failed" and the exit status is M.  UACCE_INTEG_SKIP="name ..."
# skips steps: root refused v4 mainline (and lib.sh's knobs apply).
set -u
IT_NAME=${IT_NAME:-kabi}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"

it_begin "${1:-}"

# --- the programs: the clients, their modules, the shim --------------------------------
for p in kabi-v4 kabi-mainline; do
	it_copy_prog "$build/test/clients" "$p" "$p" || fatal "$p not built"
	cp "$build/test/clients/.libs/$p-dl.so" "$IT_TMP/lib/" || fatal "$p-dl.so not built"
done
# the shim (issue 12 item 3): uacce-run and libuacce-preload.so
it_shim kabi-v4

# --- users, config, daemon ------------------------------------------------------------------
it_users_or_fatal
# ids are the entries' indices: v4 uacce-dummy-0..2, uacce-zip-3..4;
# mainline dummy-5..7, hisi_zip-8..9 (the kernel's <driver>-<id>)
V4_DEVS="uacce-dummy-0 uacce-dummy-1 uacce-dummy-2 uacce-zip-3 uacce-zip-4"
ML_DEVS="dummy-5 dummy-6 dummy-7 hisi_zip-8 hisi_zip-9"
kabi_config() {
	local q=$IT_QUEUES s='"backend":"soft"'
	cat >"$IT_CFG" <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[
  {"name":"dummy","abi":"v4",$s,"api":"dummy_v1","sva":false,"queues":$q},
  {"name":"dummy","abi":"v4",$s,"api":"dummy_v2","sva":true,"queues":$q},
  {"name":"dummy","abi":"v4",$s,"api":"dummy_v2","sva":false,"queues":$q},
  {"name":"zip","abi":"v4",$s,"api":"uacce_zip_v1","sva":true,"queues":$q},
  {"name":"zip","abi":"v4",$s,"api":"uacce_zip_v1","sva":false,"queues":$q},
  {"name":"dummy","abi":"mainline",$s,"api":"dummy_v1","sva":false,"queues":$q},
  {"name":"dummy","abi":"mainline",$s,"api":"dummy_v2","sva":true,"queues":$q},
  {"name":"dummy","abi":"mainline",$s,"api":"dummy_v2","sva":false,"queues":$q},
  {"name":"hisi_zip","abi":"mainline",$s,"api":"uacce_zip_v1","sva":true,"queues":$q},
  {"name":"hisi_zip","abi":"mainline",$s,"api":"uacce_zip_v1","sva":false,"queues":$q}]}
EOF
}
kabi_config
# shellcheck disable=SC2317 # called through it_wait
all_up() {
	local d
	for d in $V4_DEVS $ML_DEVS; do
		[ -e "$IT_NODE_DIR/$d" ] && [ -e "$IT_RT/class/$d" ] || return 1
	done
}
if it_daemon_start && it_wait 10000 all_up; then
	it_ok "daemon started (--frontend $IT_FRONTEND, pid $IT_DPID): v4 $V4_DEVS; mainline $ML_DEVS"
else
	find "$IT_NODE_DIR" "$IT_RT/class" -maxdepth 1 2>&1 | it_indent
	it_indent "$IT_DLOG" | tail -n 20
	fatal "daemon did not publish the 10 nodes within 10 s"
fi

# kabi PROFILE USER DESC ARGS...: the client under uacce-run
kabi() {
	local p=$1 u=$2 desc=$3
	shift 3
	it_cmd "kabi-$p as $u: $desc" 300 "$u" "${RUN[@]}" "$IT_TMP/bin/kabi-$p" \
		-m "$IT_TMP/lib/kabi-$p-dl.so" "$@"
}

# each program sees exactly its profile's devices
found() {	# PROFILE: the names kabi-PROFILE lists, sorted, one line
	"${RUN[@]}" "$IT_TMP/bin/kabi-$1" list 2>&1 | sed -n 's/^info: \([^: ]*\): api .*/\1/p' |
		sort | paste -sd' ' -
}
for p in v4 mainline; do
	want=$V4_DEVS
	[ $p = mainline ] && want=$ML_DEVS
	want=$(echo "$want" | tr ' ' '\n' | sort | paste -sd' ' -)
	got=$(found $p)
	if [ "$got" = "$want" ]; then
		it_ok "kabi-$p finds its profile's devices in /sys/class/uacce: $got"
	else
		it_bad "kabi-$p devices: expected \"$want\" got \"$got\""
	fi
done

for p in v4 mainline; do
	it_skip $p && continue
	kabi $p "$IT_USER1" "attributes" attrs
	kabi $p "$IT_USER1" "200 requests per device, byte-exact" -n 200 work
	kabi $p "$IT_USER1" "4 threads, a queue each, 100 requests each" -t 4 -n 100 threads
	kabi $p "$IT_USER1" "fork: no mappings and EPERM in the child, its own queue" -n 50 fork
	kabi $p "$IT_USER1" "dlopen: the work in kabi-$p-dl.so" -n 50 dlopen
	kabi $p "$IT_USER1" "the profile's rules" rules
	it_skip root || kabi $p root "200 requests per device as root" -n 200 work
done

# a non-member of the node group: open(2) of the node fails with EACCES
if ! it_skip refused; then
	for d in uacce-dummy-1 dummy-6; do
		p=v4
		[ $d = dummy-6 ] && p=mainline
		out=$("${IT_AS}" "$IT_USER2" timeout 60 "${RUN[@]}" "$IT_TMP/bin/kabi-$p" -d $d -n 1 work 2>&1)
		rc=$?
		if [ $rc = 1 ] && grep -q "^FAIL: $d: open, start and map a queue: EACCES" <<<"$out"; then
			it_ok "kabi-$p on $d as $IT_USER2 (not in $IT_GROUP): open -> EACCES"
		else
			it_bad "kabi-$p on $d as $IT_USER2: expected exit 1 and EACCES at open, got exit $rc"
			it_indent <<<"$out"
		fi
	done
fi

# no queue is left taken
bad=
for d in $V4_DEVS $ML_DEVS; do
	it_wait 2000 it_avail_is "$d" "$IT_QUEUES" || bad="$bad $d:$(it_attr "$d" available_instances)"
done
if [ -z "$bad" ]; then
	it_ok "every device has its $IT_QUEUES queues free again"
else
	it_bad "queues left taken (device:available_instances):$bad"
fi

if it_daemon_kill TERM 10000 && [ "$IT_DRC" = 0 ]; then
	it_ok "SIGTERM: the daemon exited with status 0"
else
	it_bad "SIGTERM: expected exit status 0 within 10 s got ${IT_DRC:-?}"
fi
it_summary
exit $?
