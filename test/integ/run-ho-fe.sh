#!/bin/bash
# test/integ/run-ho-fe.sh BUILD_DIR [BUILD_DIR...] - the frontend's side of
# a live restart on real CUSE devices (run in the QEMU guest: run-guest.sh,
# or test/vm/run-vm.sh test/integ/run-ho-fe.sh BUILD_DIR): the unit program
# test-fe-handover with "cuse" (freeze, export, abandon, adopt in one
# process: an open fd keeps working, its poll wakes, its release reaches the
# core; a dropped device's CUSE device goes; freeze+thaw serves on).
# Last line: "ho-fe: N passed, M failed"; exit status M.
set -u
pass=0 fail=0
modprobe cuse 2>/dev/null || busybox modprobe cuse 2>/dev/null
for b in "$@"; do
	b=$(cd "$b" && pwd) || { fail=$((fail + 1)); continue; }
	prog=$b/test/unit/test-fe-handover
	if [ ! -x "$prog" ]; then
		echo "FAIL: $prog not built (make -C $b check)"
		fail=$((fail + 1))
		continue
	fi
	echo "--- $(basename "$b"): test-fe-handover cuse"
	"$prog" cuse
	rc=$?
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "ok: $(basename "$b"): live restart of the CUSE frontend"
	else
		fail=$((fail + 1)); echo "FAIL: $(basename "$b"): test-fe-handover cuse (exit $rc)"
	fi
done
echo "ho-fe: $pass passed, $fail failed"
exit $fail
