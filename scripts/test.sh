#!/bin/bash
# Every test suite of uacced, as root on a fresh Debian 12 machine:
#   1. build (warnings are errors) and build with ASan/UBSan
#   2. checks of the scripts themselves (test/scripts/run-scripts.sh: versions,
#      man pages, build.sh, test accounts, deps.sh under a held dpkg lock;
#      under a minute), unit tests (Check) in both builds
#      and the libFuzzer harnesses, 5 s each (test/fuzz/run.sh, clang; campaigns run outside CI)
#   3. host integration tests (the real daemon on the FUSE fallback, real
#      clients as root and as unprivileged users) in both builds, hostile
#      clients and a load soak (test/integ/run-hostile.sh), the preload
#      shim (test/shim/run-shim.sh), the kernel-ABI clients under uacce-run
#      (test/integ/run-kabi.sh), the hisi_qm_v2 zip device's protocol client
#      (test/integ/run-hisi.sh); live restart and the upgrade from the
#      previous release (run-restart.sh, run-upgrade.sh); a ThreadSanitizer build (it cannot be
#      combined with ASan): its unit tests and the host integration tests
#      (about 2 minutes)
#   4. man page lint; make install/distcheck, systemd-analyze verify
#   5. guest integration tests: a QEMU guest with a stock Debian kernel
#      (CUSE, BPF LSM), booted once for both builds (test/integ/run-guest.sh:
#      what only a guest can test; UACCE_GUEST_FULL=1 runs every suite); a
#      short boot without the BPF LSM (the kernel gate's report); then a guest
#      with an IOMMU and QEMU's edu PCI device (UACCE_VM_VFIO=1), booted once:
#      the vfio backend and hardware hot-plug (test/integ/run-vfio.sh), both
#      builds; another such boot: vfio queues across live restarts
#      (test/integ/run-vfio-restart.sh)
#   6. the service under systemd: a guest booted with systemd as init and the
#      edu device, make install of a --prefix=/usr build, systemctl
#      start/reload/stop/kill, the journal's fields, the vfio backend through
#      the sandbox (UACCE_SKIP_SYSTEMD=1 skips it: ~4 min under TCG)
# The guests boot after the host suites, one at a time: on CI's shared
# 2-core machine a guest beside the host suites made the whole run slower
# (4058 s against 3661 s one at a time), though here it was faster.
# Ends with the time of every suite (the last lines CI shows) and
# one line "test.sh: N passed, M failed" (suites); exits M.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
[ "$(id -u)" = 0 ] || { echo "test.sh: run me as root" >&2; exit 1; }
build=${UACCE_BUILD:-$top/build}
asan=${UACCE_BUILD_ASAN:-$top/build-asan}
tsan=${UACCE_BUILD_TSAN:-$top/build-tsan}
passed=0 failed=0 failures="" times=""

suite() {	# suite NAME COMMAND...
	local name=$1 t0=$SECONDS rc
	shift
	echo
	echo "=== $name"
	"$@"
	rc=$?
	if [ $rc = 0 ]; then
		passed=$((passed + 1)); echo "=== $name: ok ($((SECONDS - t0)) s)"
		times="$times $name $((SECONDS - t0))"
	else
		failed=$((failed + 1)); failures="$failures $name"
		echo "=== $name: FAILED (exit $rc, $((SECONDS - t0)) s)"
		times="$times $name:FAILED $((SECONDS - t0))"
	fi
}

unit() {	# unit BUILDDIR
	make -C "$1" -j"$(nproc)" check >"$1/check.out" 2>&1
	local rc=$?
	grep -hE '^[0-9]+%: Checks' "$1"/test/unit/*.log 2>/dev/null
	grep -E '^(# )?(TOTAL|PASS|FAIL|ERROR)' "$1/check.out"
	[ $rc = 0 ] || { cat "$1"/test/unit/*.log 2>/dev/null | grep -vE '^[0-9]+%|^Running' | tail -40; }
	return $rc
}

lint_man() {
	local rc=0
	for m in man/*.[0-9]; do
		mandoc -Tlint -Wwarning "$m" || rc=1
	done
	[ $rc = 0 ] && echo "mandoc -Tlint: $(ls man/*.[0-9] | wc -l) pages clean"
	return $rc
}

guest() {	# guest BUILDDIR...
	[ "$vm_ready" = 1 ] || { echo "the guest's kernel and initramfs were not set up (test/vm/setup.sh failed above)"; return 1; }
	UACCE_VM_TIMEOUT=${UACCE_VM_TIMEOUT:-2400} test/vm/run-vm.sh test/integ/run-guest.sh "$@"
}

echo "=== dependencies"
t0=$SECONDS
scripts/deps.sh test || exit 1
times="deps $((SECONDS - t0))"

suite build scripts/build.sh "$build" --enable-werror
suite build-asan scripts/build.sh "$asan" --enable-werror --enable-sanitizers
vm_ready=0
# versions, man pages, build.sh's reconfiguration, test accounts removed, deps.sh under a held dpkg lock (issue 15)
suite scripts test/scripts/run-scripts.sh "$build"
suite unit unit "$build"
suite unit-asan unit "$asan"
suite fuzz test/fuzz/run.sh 5
suite host-integration test/integ/run-host.sh "$build"
suite host-integration-asan test/integ/run-host.sh "$asan"
suite churn test/integ/run-churn.sh "$build"
suite churn-asan test/integ/run-churn.sh "$asan"
suite policy test/integ/run-policy.sh "$build"
suite policy-asan test/integ/run-policy.sh "$asan"
suite zip test/zip/run-zip-tests.sh "$build"
suite zip-asan test/zip/run-zip-tests.sh "$asan"
# the kernel-ABI clients (issue 12): plain uacce programs under uacce-run, both profiles
suite kabi test/integ/run-kabi.sh "$build"
suite kabi-asan test/integ/run-kabi.sh "$asan"
# the hisi_qm_v2 zip device (issue 13): kabi-hisi, a UADK-like client of its protocol, under uacce-run
suite hisi test/integ/run-hisi.sh "$build"
suite hisi-asan test/integ/run-hisi.sh "$asan"
# the tools as a user meets them (issue 15): honest errors (closed runtime
# dir, no daemon), uacce-bench progress/--plot/--version, uacce-zip -v/--compare
suite tools test/integ/run-tools.sh "$build"
suite tools-asan test/integ/run-tools.sh "$asan"
# the BPF gate for kernel devices (issue 17): on the host whatever the kernel
# allows (here: the unenforceable report); enforced in the guest suites below
suite kgate test/integ/run-kgate.sh "$build"
suite kgate-asan test/integ/run-kgate.sh "$asan"
# uaccectl cdi (issue 15): the CDI spec of a running daemon (FUSE here; containers: the guest)
# live restart (issue 16): 100 restarts with clients at work, FUSE fallback
suite restart env UACCE_RESTARTS=100 test/integ/run-restart.sh "$build"
suite restart-asan test/integ/run-restart.sh "$asan"
# crash restart (issue 16): SIGKILLs of uacced under fakesd's fd store
suite crash env UACCE_CRASHES=10 test/integ/run-crash.sh "$build"
suite crash-asan test/integ/run-crash.sh "$asan"
# upgrade (issue 16): the previous landed release's daemon (built from git in
# .cache/ by test/integ/upgrade-build.sh) hands its queues to this build and back
# (the normal build: under ASan the same hand-over code runs in restart-asan)
suite upgrade test/integ/run-upgrade.sh "$build"
suite cdi test/integ/run-cdi.sh "$build"
suite cdi-asan test/integ/run-cdi.sh "$asan"
# hostile clients (issue 11): every section, then a 30 s load soak; ASan: the sections
suite hostile test/integ/run-hostile.sh --soak 30 "$build"
suite hostile-asan test/integ/run-hostile.sh "$asan"
# the preload shim (issue 12): uacce-run and plain programs on v4 and mainline
# devices (ASan: the runtime preloaded before the library, no figures)
suite shim test/shim/run-shim.sh "$build"
suite shim-asan test/shim/run-shim.sh "$asan"
# ThreadSanitizer: a data race in the daemon, the library or a unit test fails
# the suite (the report in its log; lib.sh looks for it in every daemon log)
suite build-tsan scripts/build.sh "$tsan" --enable-werror --enable-sanitizers=thread
suite unit-tsan unit "$tsan"
suite host-integration-tsan test/integ/run-host.sh "$tsan"
suite man-lint lint_man
suite install test/integ/check-install.sh
if [ "${UACCE_SKIP_GUEST:-0}" = 1 ]; then
	echo; echo "=== guest suites skipped (UACCE_SKIP_GUEST=1)"
else
	# the guest's kernel (cached), and the previous release's daemon for
	# run-upgrade.sh (the guest may have no compiler; a failure shows in the
	# upgrade suites): once, before the guests use them
	echo; echo "=== guest set-up"
	t0=$SECONDS
	test/vm/setup.sh && vm_ready=1
	test/integ/upgrade-build.sh >/dev/null
	times="$times guest-set-up $((SECONDS - t0))"
	# both builds in one boot (run-guest.sh: the ASan build runs the CUSE paths)
	suite guest-cuse guest "$build" "$asan"
	# a kernel without the BPF LSM (its lsm= list without bpf): the kernel
	# gate must report itself unenforceable (~40 s, a short boot of its own)
	suite guest-kgate-nobpf env UACCE_VM_TIMEOUT="${UACCE_VM_TIMEOUT:-1500}" \
		UACCE_VM_APPEND="lsm=lockdown,capability,landlock,yama,apparmor,tomoyo" \
		test/vm/run-vm.sh env UACCE_KGATE_EXPECT=unenforceable test/integ/run-kgate.sh "$build"
	suite guest-vfio env UACCE_VM_VFIO=1 UACCE_VM_TIMEOUT="${UACCE_VM_TIMEOUT:-1500}" test/vm/run-vm.sh test/integ/run-vfio.sh "$build" "$asan"
	# vfio queues across live restarts (edu DMA on one fd; ~1 min a build)
	suite guest-vfio-restart env UACCE_VM_VFIO=1 UACCE_VM_TIMEOUT="${UACCE_VM_TIMEOUT:-1500}" test/vm/run-vm.sh test/integ/run-vfio-restart.sh "$build"
	if [ "${UACCE_SKIP_SYSTEMD:-0}" != 1 ]; then
		suite build-usr scripts/build.sh "$top/build-usr" --prefix=/usr --sysconfdir=/etc
		suite guest-systemd test/integ/run-systemd.sh --vm "$top/build-usr"
	fi
fi
echo
echo "seconds per suite (total $SECONDS s):"
echo "$times" | xargs -n 12 | sed 's/^/  /'
[ -n "$failures" ] && echo "failed suites:$failures"
echo "test.sh: $passed passed, $failed failed"
exit $failed
