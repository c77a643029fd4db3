#!/bin/bash
# Runs INSIDE the QEMU guest (test/vm/run-vm.sh): the integration suites
# again with real CUSE character devices under /dev, for each build dir
# given (e.g. the normal and the ASan build), in one boot.
#
#   test/vm/run-vm.sh test/integ/run-guest.sh BUILD_DIR [BUILD_DIR...]
#
# Two profiles.  The default (CI's): what only a guest can test, in every
# build: the CUSE paths (cuse-specific, the integration suite's forks, kills
# and closes through real nodes, the frontend's and the daemon's hand-over),
# the BPF LSM gate, podman with CDI, the kernel-ABI clients under uacce-run
# on real nodes and the ioctl sweep of the hostile clients through CUSE; a
# sanitizer build: the CUSE paths alone.  UACCE_GUEST_FULL=1 (outside CI:
# ~35 min under TCG; run-vm.sh passes only UACCE_TEST_*, so "run-vm.sh env
# UACCE_GUEST_FULL=1 ...") adds the rest again on CUSE (crash restart,
# hisi, churn, policy, zip, the shim, every hostile section, 4 restarts,
# the upgrade) and, in a sanitizer build, the restart and kgate suites;
# their every line runs on the host in both builds in test.sh.
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

full=${UACCE_GUEST_FULL:-0}
for b in "$@"; do
	b=$(cd "$b" && pwd) || continue
	tag=$(basename "$b")
	san=0
	ldd "$b/uacced" 2>/dev/null | grep -qE 'lib(a|t)san' && san=1
	# a sanitizer build: of the integration suite the sections with forks,
	# kills and closes through the nodes and the shutdown with lookups in
	# flight (the others run under the sanitizers on the host)
	skip=""
	[ $san = 1 ] && skip="version mainline bench broker-fdflood cross-user flush-contention foreign-fuse death-under-load hw-waiting names"
	run "$tag: cuse-specific" env IT_NAME="cuse-checks" "$here/run-cuse.sh" "$b"
	run "$tag: integration" env IT_NAME="guest-integration-$tag" \
		UACCE_INTEG_SKIP="${UACCE_INTEG_SKIP:-$skip}" "$here/run-host.sh" "$b"
	# the frontend's hand-over of its /dev/cuse connections alone
	run "$tag: ho-fe" "$here/run-ho-fe.sh" "$b"
	if [ $san = 0 ] || [ "$full" = 1 ]; then
		# live restart (issue 16) on CUSE with clients at work: 2 consecutive
		# restarts (4 with UACCE_GUEST_FULL=1; the host does 100 in test.sh;
		# ~10 s a restart under TCG)
		[ "$full" = 1 ] && r=4 || r=2
		[ $san = 1 ] && r=2
		run "$tag: restart" env UACCE_RESTARTS=${UACCE_GUEST_RESTARTS:-$r} "$here/run-restart.sh" "$b"
		# the BPF gate for kernel devices (issue 17): the guest's kernel has the BPF LSM on
		run "$tag: kgate" env UACCE_KGATE_EXPECT=enforced "$here/run-kgate.sh" "$b"
	fi
	[ $san = 1 ] && continue
	# containers (issue 15): podman with uaccectl cdi's spec, clients inside
	run "$tag: containers" "$here/run-containers.sh" "$b"
	# unmodified programs on real nodes (issue 12): the kernel-ABI clients
	# under uacce-run (the preload shim's mmap of a CUSE node)
	run "$tag: kabi" "$here/run-kabi.sh" "$b"
	# hostile clients (issue 11) on CUSE nodes, no soak: the ioctl sweep
	# (sampled past number 31, one in 48, and 500 random numbers; every
	# number and 2,000 random ones on the host); UACCE_GUEST_FULL=1: every
	# section that goes through the nodes or passes their fds (the control
	# socket's is the host's alone: the same unix socket)
	[ "$full" = 1 ] && hs="ioctl broker stranger ring storm exhaust" || hs="ioctl"
	run "$tag: hostile" env IT_NAME="guest-hostile-$tag" \
		UACCE_HOSTILE_SECTIONS="${UACCE_HOSTILE_SECTIONS:-$hs}" \
		UACCE_HOSTILE_STRIDE="${UACCE_HOSTILE_STRIDE:-48}" \
		UACCE_HOSTILE_RANDOM="${UACCE_HOSTILE_RANDOM:-500}" "$here/run-hostile.sh" "$b"
	[ "$full" = 1 ] || continue
	# UACCE_GUEST_FULL=1: the rest on CUSE too.  Crash restart (issue 16):
	# SIGKILLs of uacced under fakesd's fd store (in CI the guest's vfio
	# restart suite kills a daemon serving CUSE nodes and edu DMA)
	run "$tag: crash" env UACCE_CRASHES=${UACCE_GUEST_CRASHES:-2} "$here/run-crash.sh" "$b"
	# the hisi_qm_v2 protocol client under uacce-run (issue 13)
	run "$tag: hisi" "$here/run-hisi.sh" "$b"
	run "$tag: churn" env UACCE_CHURN_CYCLES=${UACCE_CHURN_CYCLES:-250} "$here/run-churn.sh" "$b"
	run "$tag: policy" "$here/run-policy.sh" "$b"
	run "$tag: zip" "$top/test/zip/run-zip-tests.sh" "$b"
	# the shim's overhead figures are the host's (a short bench here, no
	# instruction count: valgrind under emulation is slow)
	run "$tag: shim" env UACCE_SHIM_BENCH_N=${UACCE_SHIM_BENCH_N:-1000} UACCE_SHIM_INSTR=0 \
		"$top/test/shim/run-shim.sh" "$b"
	# the previous landed release's daemon (built on the host before the
	# boot, test/integ/upgrade-build.sh) -> this build -> back, with clients
	# at work (~2.5 min; CI runs it on the host)
	run "$tag: upgrade" "$here/run-upgrade.sh" "$b"
done

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "guest-integration: $pass passed, $fail failed"
exit $fail
