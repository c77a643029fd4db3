#!/bin/bash
# Runs INSIDE the QEMU guest (test/vm/run-vm.sh): the integration suites
# again with real CUSE character devices under /dev, for each build dir
# given (e.g. the normal and the ASan build), in one boot; the hostile
# clients' sections (run-hostile.sh, no soak; fewer in a sanitizer build).
#
#   test/vm/run-vm.sh test/integ/run-guest.sh BUILD_DIR [BUILD_DIR...]
#
# Ends with "guest-integration: N passed, M failed" (suites) and exits M.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
pass=0 fail=0 failed=""

if [ "${RIG_GUEST:-}" != 1 ] && [ ! -e /run/uacce-vm ] && [ "${UACCE_GUEST_FORCE:-0}" != 1 ]; then
	echo "run-guest.sh: runs inside the test guest (test/vm/run-vm.sh); UACCE_GUEST_FORCE=1 to override" >&2
	exit 2
fi
modprobe cuse 2>/dev/null || busybox modprobe cuse
[ -c /dev/cuse ] || { echo "FAIL: no /dev/cuse in the guest"; echo "guest-integration: 0 passed, 1 failed"; exit 1; }
echo "info: guest kernel $(uname -r), $(nproc) CPUs"
export UACCE_FRONTEND=cuse

run() {	# run NAME COMMAND...
	local name=$1 t0=$SECONDS rc
	shift
	echo
	echo "--- $name"
	"$@"
	rc=$?
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "--- $name: ok ($((SECONDS - t0)) s)"
	else
		fail=$((fail + 1)); failed="$failed $name"; echo "--- $name: FAILED (exit $rc)"
	fi
}

for b in "$@"; do
	b=$(cd "$b" && pwd) || continue
	tag=$(basename "$b")
	san=0
	ldd "$b/uacced" 2>/dev/null | grep -qE 'lib(a|t)san' && san=1
	# a sanitizer build: the CUSE paths (cuse-specific; of the integration
	# suite the sections with forks, kills and closes through the nodes and
	# the shutdown with lookups in flight; the handover); the other
	# sections, hostile, churn, policy, zip, the shim and the
	# unmodified-program clients run under the sanitizers on the host, and
	# on CUSE in the normal build (keeps CI within its time)
	skip=""
	[ $san = 1 ] && skip="version mainline bench broker-fdflood cross-user flush-contention foreign-fuse death-under-load hw-waiting names"
	run "$tag: cuse-specific" env IT_NAME="cuse-checks" "$here/run-cuse.sh" "$b"
	run "$tag: integration" env IT_NAME="guest-integration-$tag" \
		UACCE_INTEG_SKIP="${UACCE_INTEG_SKIP:-$skip}" "$here/run-host.sh" "$b"
	if [ $san = 0 ]; then
		[ -x "$here/run-churn.sh" ] &&
			run "$tag: churn" env UACCE_CHURN_CYCLES=${UACCE_CHURN_CYCLES:-250} "$here/run-churn.sh" "$b"
		[ -x "$here/run-policy.sh" ] && run "$tag: policy" "$here/run-policy.sh" "$b"
		[ -x "$top/test/zip/run-zip-tests.sh" ] && run "$tag: zip" "$top/test/zip/run-zip-tests.sh" "$b"
		# containers (issue 15): podman with uaccectl cdi's spec, clients inside
		[ -x "$here/run-containers.sh" ] && run "$tag: containers" "$here/run-containers.sh" "$b"
		# hostile clients (issue 11) on CUSE nodes, no soak: the sections that
		# go through the nodes or pass their fds (the control socket's is the
		# host's alone: the same unix socket), the ioctl sweep sampled past
		# number 31, one in 48, and 500 random numbers (every number and
		# 2,000 random ones on the host)
		[ -x "$here/run-hostile.sh" ] &&
			run "$tag: hostile" env IT_NAME="guest-hostile-$tag" \
				UACCE_HOSTILE_SECTIONS="${UACCE_HOSTILE_SECTIONS:-ioctl broker stranger ring storm exhaust}" \
				UACCE_HOSTILE_STRIDE="${UACCE_HOSTILE_STRIDE:-48}" \
				UACCE_HOSTILE_RANDOM="${UACCE_HOSTILE_RANDOM:-500}" "$here/run-hostile.sh" "$b"
		# the shim on CUSE nodes; its overhead figures are the host's (a short
		# bench here, no instruction count: valgrind under emulation is slow)
		[ -x "$top/test/shim/run-shim.sh" ] &&
			run "$tag: shim" env UACCE_SHIM_BENCH_N=${UACCE_SHIM_BENCH_N:-1000} UACCE_SHIM_INSTR=0 \
				"$top/test/shim/run-shim.sh" "$b"
	fi
	if [ $san = 0 ]; then
		[ -x "$here/run-kabi.sh" ] && run "$tag: kabi" "$here/run-kabi.sh" "$b"
		[ -x "$here/run-hisi.sh" ] && run "$tag: hisi" "$here/run-hisi.sh" "$b"
	fi
	# live restart (issue 16) on CUSE: the frontend's handover alone, then the
	# daemon's with clients at work: 4 consecutive restarts (2 in a sanitizer
	# build; the host does 100 in test.sh; the guest's 100 run outside CI:
	# ~10 s a restart under TCG)
	[ -x "$here/run-ho-fe.sh" ] && run "$tag: ho-fe" "$here/run-ho-fe.sh" "$b"
	[ $san = 1 ] && r=2 || r=4
	[ -x "$here/run-restart.sh" ] &&
		run "$tag: restart" env UACCE_RESTARTS=${UACCE_GUEST_RESTARTS:-$r} "$here/run-restart.sh" "$b"
	# the previous landed release's daemon (built on the host before the boot,
	# test/integ/upgrade-build.sh) -> this build -> back, with clients at work:
	# with UACCE_GUEST_UPGRADE=1 (outside CI: ~2.5 min alone, ~4 beside the
	# host suites; CI runs it on the host, and the CUSE hand-over of this
	# build in the restart suite here)
	[ $san = 0 ] && [ "${UACCE_GUEST_UPGRADE:-0}" = 1 ] && [ -x "$here/run-upgrade.sh" ] &&
		run "$tag: upgrade" "$here/run-upgrade.sh" "$b"
	# crash restart (issue 16): SIGKILLs of uacced under fakesd's fd store, CUSE
	# (a sanitizer build: on the host, crash-asan)
	[ $san = 0 ] && [ -x "$here/run-crash.sh" ] &&
		run "$tag: crash" env UACCE_CRASHES=${UACCE_GUEST_CRASHES:-2} "$here/run-crash.sh" "$b"
	# the BPF gate for kernel devices (issue 17): the guest's kernel has the BPF LSM on
	[ -x "$here/run-kgate.sh" ] &&
		run "$tag: kgate" env UACCE_KGATE_EXPECT=enforced "$here/run-kgate.sh" "$b"
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "guest-integration: $pass passed, $fail failed"
exit $fail
