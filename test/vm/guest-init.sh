#!/bin/busybox sh
# test/vm/guest-init.sh - /init of the rig's initramfs (see mkinitramfs.sh).
# Runs as PID 1 in the guest, with busybox only.  It builds the guest's root:
#   /            overlay: the host's / over 9p (tag "hostroot", read-only)
#                as the lower layer, a tmpfs as the upper layer - so the
#                guest can write anywhere, and the writes vanish at power-off
#   $WORK        the host's work dir over 9p (tag "work"), READ-WRITE, at the
#                same path as on the host: binaries built on the host run
#                unchanged, results written in the guest land on the host
#   /run/uacce-vm  9p (tag "uaccectl", rw): cmd.sh from run-vm.sh; the
#                command's exit status is written back here as "rc"
#   /proc /sys /dev /dev/pts /dev/shm, /run (tmpfs), /tmp (writable, 1777)
#   /lib/modules/$(uname -r) -> the guest kernel's modules in the cache
#                (uacce.kmod=), so the host's modprobe works in the guest
# then switch_root's into it and runs /run/uacce-vm/cmd.sh as PID 1 (stage 2,
# below), and reboots; QEMU runs with -no-reboot, so that ends QEMU.
# With uacce.init=systemd, stage 2 boots systemd instead (see below): the
# units run-vm.sh put in the control dir run the command, write its status
# and reboot.
# Kernel command line parameters (set by run-vm.sh):
#   uacce.work=DIR  uacce.kmod=DIR  uacce.trace=1 (timestamps on the console)
#   uacce.init=systemd
/bin/busybox mkdir -p /proc /sys /dev /sbin /usr/bin /usr/sbin /lower /upper /newroot
/bin/busybox --install -s
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

TRACE=0; WORK=; KMODDIR=; INIT=sh
for a in $(cat /proc/cmdline); do
  case "$a" in
    uacce.work=*)  WORK=${a#uacce.work=} ;;
    uacce.kmod=*)  KMODDIR=${a#uacce.kmod=} ;;
    uacce.trace=1) TRACE=1 ;;
    uacce.init=systemd) INIT=systemd ;;
  esac
done
trace() { [ $TRACE = 1 ] && echo "uacce-vm-init: t=$(cut -d' ' -f1 /proc/uptime)s $*" >/dev/console; }
# On failure: say why, and power off. No rc file is written, so run-vm.sh
# reports a rig failure (255).
die() { echo "uacce-vm-init: FATAL: $*" >/dev/console; sync; reboot -f; }
trace "init started"

# virtio-pci, 9p, overlay (+ dependencies), in modules.dep order
for m in $(cat /mod/order); do insmod "/mod/$m.ko" || die "insmod $m failed"; done
trace "modules loaded"
[ -n "$WORK" ] || die "uacce.work= missing from the kernel command line"

P9="trans=virtio,version=9p2000.L,msize=512000"
mount -t 9p -o "$P9,ro,cache=loose" hostroot /lower || die "mount host root (9p)"
mount -t tmpfs -o mode=0755 tmpfs /upper || die "mount tmpfs"
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w overlay /newroot || die "mount overlay"
R=/newroot
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t devtmpfs devtmpfs $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts $R/dev/pts
mount -t tmpfs -o mode=1777 tmpfs $R/dev/shm
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs $R/run || die "mount /run"
# /tmp: the host's /tmp stays visible through the overlay; writes go to the
# tmpfs upper layer.  Make sure it is a sticky world-writable directory.
mkdir -p $R/tmp; chmod 1777 $R/tmp
# the work dir, read-write; cache=none so host and guest agree at all times
mkdir -p "$R$WORK"
mount -t 9p -o "$P9,rw,cache=none" work "$R$WORK" || die "mount work dir $WORK (9p)"
mkdir -p $R/run/uacce-vm
mount -t 9p -o "$P9,rw,cache=none" uaccectl $R/run/uacce-vm || die "mount control dir (9p)"
[ -f $R/run/uacce-vm/cmd.sh ] || die "no cmd.sh in the control dir"

# Modules of the guest kernel for modprobe in the new root: link
# /lib/modules/KVER (usually empty on the host, or other kernels) to the
# extracted tree in the cache.  Only the KVER entry is added: replacing the
# whole directory would mean whiting out every host file in it.
if [ -n "$KMODDIR" ]; then
  KVER=$(uname -r)
  md=$R/usr/lib/modules; [ -L $R/lib ] || md=$R/lib/modules   # merged /usr or not
  mkdir -p "$md"
  [ -e "$md/$KVER" ] || [ -L "$md/$KVER" ] || ln -s "$KMODDIR/$KVER" "$md/$KVER"
fi
hostname uacce-vm
trace "root ready"

# Stage 2 runs as PID 1 inside the new root: switch_root, not chroot (tools
# such as "udevadm settle" do nothing when they detect a chroot).  It uses a
# copy of busybox (the host has no "reboot -f" that works without systemd).
S=$R/run/uacce-vm-init
mkdir -p $S
cp /bin/busybox $S/busybox
cat >$S/stage2 <<EOF
#!/run/uacce-vm-init/busybox sh
[ $TRACE = 1 ] && echo "uacce-vm-init: t=\$(/run/uacce-vm-init/busybox cut -d' ' -f1 /proc/uptime)s running the command" >/dev/console
/bin/bash /run/uacce-vm/cmd.sh </dev/null >/dev/console 2>&1
rc=\$?
[ $TRACE = 1 ] && echo "uacce-vm-init: t=\$(/run/uacce-vm-init/busybox cut -d' ' -f1 /proc/uptime)s command exited with \$rc" >/dev/console
echo \$rc >/run/uacce-vm/rc
/run/uacce-vm-init/busybox sync
echo 0 >/proc/sys/kernel/printk     # no "reboot: Restarting system" line
/run/uacce-vm-init/busybox reboot -f
EOF
chmod 755 $S/stage2
if [ $INIT = systemd ]; then
  # Stage 2 installs the control dir's systemd/ (units and drop-ins that
  # run-vm.sh wrote) as runtime units, masks what is listed in
  # systemd/masks, and becomes systemd (PID 1 stays PID 1 across exec).
  # systemd keeps the mounts made here (/run, /dev, ...) and reads
  # systemd.unit= from the kernel command line - unless it believes it runs
  # in a container: the host's /.dockerenv must go (from the overlay only).
  [ -x $R/lib/systemd/systemd ] || die "uacce.init=systemd: no /lib/systemd/systemd in the root"
  [ -d $R/run/uacce-vm/systemd ] || die "uacce.init=systemd: no systemd/ in the control dir"
  rm -f $R/.dockerenv $R/run/.containerenv
  cat >$S/stage2 <<EOF
#!/run/uacce-vm-init/busybox sh
B=/run/uacce-vm-init/busybox
[ $TRACE = 1 ] && echo "uacce-vm-init: t=\$(\$B cut -d' ' -f1 /proc/uptime)s exec systemd" >/dev/console
\$B mkdir -p /run/systemd/system
\$B cp -R /run/uacce-vm/systemd/. /run/systemd/system/
for u in \$(\$B cat /run/uacce-vm/systemd/masks 2>/dev/null); do
  \$B ln -sf /dev/null /run/systemd/system/\$u
done
exec /lib/systemd/systemd
EOF
fi
exec switch_root $R /run/uacce-vm-init/stage2
die "switch_root failed"
