#!/bin/sh
# test/vm/selftest.sh - proves the QEMU rig works.  Runs INSIDE the guest:
#     test/vm/run-vm.sh test/vm/selftest.sh
# Checks: CUSE loads and /dev/cuse appears, the guest kernel's modules are
# found by modprobe, /tmp and the work dir are writable, /run is a tmpfs,
# root can drop privileges with setpriv; with UACCE_VM_VFIO=1 also that the
# edu device sits in an IOMMU group and binds to vfio-pci.
# Last line: "vm-selftest: N passed, M failed"; exit status M.
set -u
if [ "${UACCE_VM_GUEST:-}" != 1 ]; then
  echo "vm-selftest: run me in the guest: test/vm/run-vm.sh $0" >&2
  exit 2
fi
pass=0 fail=0
ok()  { pass=$((pass + 1)); echo "ok:   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
check() {  # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
  d=$1; shift
  if "$@"; then ok "$d"; else bad "$d"; fi
}

echo "vm-selftest: kernel $(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) MiB, uid $(id -u)"
check "modules of $(uname -r) visible at /lib/modules" test -f "/lib/modules/$(uname -r)/modules.dep"
check "modprobe cuse" modprobe cuse
check "/dev/cuse is a character device" test -c /dev/cuse
check "cuse listed in /proc/modules" grep -q '^cuse ' /proc/modules

t=$(mktemp /tmp/selftest.XXXXXX 2>/dev/null) && echo hi >"$t" && [ "$(cat "$t")" = hi ] &&
  rm -f "$t" && ok "/tmp is writable" || bad "/tmp is writable"
check "/tmp is sticky and world-writable" test -k /tmp -a -w /tmp
check "/run is a tmpfs" test "$(stat -f -c %T /run)" = tmpfs
t="$UACCE_VM_WORK/.vm-selftest.$$"
echo hi >"$t" 2>/dev/null && rm -f "$t" && ok "work dir $UACCE_VM_WORK is writable" || bad "work dir $UACCE_VM_WORK is writable"

u=$(setpriv --reuid=65534 --regid=65534 --clear-groups id -u 2>&1)
[ "$u" = 65534 ] && ok "setpriv drops to uid 65534" || bad "setpriv drops to uid 65534 (got: $u)"

# VFIO, only when run-vm.sh added the edu device (UACCE_VM_VFIO=1)
edu=
for d in /sys/bus/pci/devices/*; do
  [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ] && edu=${d##*/}
done
if [ -n "$edu" ]; then
  check "edu $edu is in an IOMMU group" test -e "/sys/bus/pci/devices/$edu/iommu_group"
  check "modprobe vfio-pci" modprobe vfio-pci
  echo 1234 11e8 >/sys/bus/pci/drivers/vfio-pci/new_id 2>/dev/null
  check "edu bound to vfio-pci" test "$(basename "$(readlink "/sys/bus/pci/devices/$edu/driver")")" = vfio-pci
  g=$(basename "$(readlink "/sys/bus/pci/devices/$edu/iommu_group")")
  check "/dev/vfio/$g exists" test -c "/dev/vfio/$g"
fi

echo "vm-selftest: $pass passed, $fail failed"
exit $fail
