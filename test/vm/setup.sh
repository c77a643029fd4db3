#!/bin/sh
# test/vm/setup.sh - one-time, idempotent setup of the QEMU guest test rig.
# Run as root on a Debian 12 host.  It
#   1. installs the host packages the rig needs (apt-get update only if the
#      install fails, e.g. on stale package lists);
#   2. resolves the kernel package that linux-image-amd64 currently depends
#      on (the name carries the ABI, e.g. linux-image-6.1.0-57-amd64) and
#      DOWNLOADS it (apt-get download, never installed) into the cache
#      ${UACCE_VM_CACHE:-/var/cache/uacced-vm} - outside the source tree;
#   3. extracts only what the guest needs (vmlinuz, modules.* and a few module
#      directories, ~12 MB instead of ~440 MB), runs depmod on that tree and
#      checks that every module the guest loads has its dependencies;
#   4. extracts the uncompressed vmlinux from the bzImage (QEMU boots it
#      directly through its PVH entry point; decompressing the xz bzImage
#      costs ~2 s per boot under TCG);
#   5. builds the initramfs (mkinitramfs.sh);
#   6. with UACCE_VM_INIT=systemd, on a host without udev: downloads the udev
#      package of the host's systemd version into $CACHE/udev (the systemd
#      guest unpacks it into its throw-away root, see run-systemd.sh).
# Every step is skipped when its result is cached and up to date, so a re-run
# takes a few milliseconds.  The final line on stdout says what is ready.
#
# Env: UACCE_VM_CACHE=DIR  cache directory (default /var/cache/uacced-vm)
#      UACCE_VM_REFRESH=1  re-resolve the kernel package even if cached
#      UACCE_VM_INIT=systemd  also step 6
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${UACCE_VM_CACHE:-/var/cache/uacced-vm}
KDIR=$CACHE/kernel              # extracted kernel tree (boot/, lib/modules/, vmlinux)
STAMP=$KDIR/.done               # "<deb file name> <layout>" of the extracted tree
INITRD=$CACHE/initramfs.cpio
LISTS=/var/lib/apt/lists

# Module directories (under lib/modules/KVER/kernel/) extracted from the .deb.
# fs/fscache and virt/lib are not obvious: 9p.ko needs fscache.ko (Debian
# builds CONFIG_9P_FSCACHE=y) and vfio-pci-core.ko needs irqbypass.ko.
# drivers/iommu has no modules in Debian 12 (intel-iommu is built in); it is
# listed so that a future kernel that modularises it keeps working.
MODDIRS="fs/fuse fs/9p net/9p fs/netfs fs/fscache fs/overlayfs drivers/virtio
         drivers/vfio drivers/iommu virt/lib"
# Modules the guest must be able to load; checked (with their build-time
# dependencies, from modinfo) after extraction.
NEEDMODS="cuse 9p 9pnet_virtio virtio_pci overlay vfio-pci vfio_iommu_type1"
# Recorded in the stamp: changing the extraction list forces a re-extraction.
LAYOUT="layout-1:$(echo $MODDIRS | tr ' ' ,)"

say() { echo "setup: $*" >&2; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (apt-get, /var/cache)"

# ---- 1. host packages ------------------------------------------------------
PKGS="qemu-system-x86 busybox-static cpio xz-utils kmod"
missing=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' $PKGS 2>/dev/null |
          awk -v P="$PKGS" '$2 == "installed" {ok[$1] = 1}
               END {n = split(P, p, " "); for (i = 1; i <= n; i++) if (!ok[p[i]]) printf "%s ", p[i]}')
if [ -n "$missing" ]; then
  say "installing $missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends $missing >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null; } ||
    die "apt-get install $missing failed"
fi

# One setup at a time (the lock is taken even on the fast path: it is cheap).
mkdir -p "$CACHE/deb"
exec 9>"$CACHE/.lock"
flock -w 900 9 || die "timed out waiting for $CACHE/.lock"
TMPS=""
trap 'rm -rf $TMPS' EXIT
trap 'exit 130' INT TERM HUP      # so that the EXIT trap cleans up

# ---- 2. resolve and download the kernel package ----------------------------
# apt-cache costs ~1 s here (the binary package cache is disabled on these
# images), so it is only consulted when nothing is cached, when the apt lists
# changed since the last resolution (an apt-get update happened), or on
# request.  Sets KPKG and DEBFILE.
resolve() {
  KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
         awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$KPKG" ] || return 1
  # --print-uris prints "'URI' FILE SIZE HASH" (and prints nothing if FILE is
  # already in the current directory: run it in an empty one).
  d=$(mktemp -d "$CACHE/resolve.XXXXXX"); TMPS="$TMPS $d"
  DEBFILE=$(cd "$d" && apt-get download --print-uris "$KPKG" 2>/dev/null | awk 'NR == 1 {print $2}')
  [ -n "$DEBFILE" ]
}
# Download into a temporary directory, then move: a .deb in $CACHE/deb is
# always complete.  apt-get verifies size and hash.
download() {
  [ -f "$CACHE/deb/$DEBFILE" ] && return 0
  avail=$(df -Pk "$CACHE" | awk 'NR == 2 {print int($4 / 1024)}')
  [ "$avail" -ge 200 ] ||
    die "only ${avail} MB free in $CACHE; need ~200 MB (70 MB .deb + 80 MB extracted)"
  say "downloading $DEBFILE"
  d=$(mktemp -d "$CACHE/download.XXXXXX"); TMPS="$TMPS $d"
  # -o APT::Sandbox::User=root: the _apt user cannot write into $d.
  (cd "$d" && apt-get download -q -o APT::Sandbox::User=root "$KPKG" >/dev/null 2>&1) &&
    [ -f "$d/$DEBFILE" ] && mv "$d/$DEBFILE" "$CACHE/deb/$DEBFILE"
}

stamp=$(cat "$STAMP" 2>/dev/null || true)
if [ -z "$stamp" ] || [ "${stamp#* }" != "$LAYOUT" ] || [ "${UACCE_VM_REFRESH:-0}" = 1 ] ||
   [ "$LISTS" -nt "$STAMP" ]; then
  # Stale lists name a superseded ABI package that is gone from the mirror:
  # then update once and retry.  Offline with a usable .deb: keep it.
  if { resolve && download; } ||
     { say "cannot resolve/download the kernel package with the current lists: apt-get update";
       apt-get update -q >/dev/null && resolve && download; }; then
    :
  elif [ -n "$stamp" ] && [ -f "$CACHE/deb/${stamp%% *}" ]; then
    DEBFILE=${stamp%% *}
    say "WARNING: cannot get the current kernel package; keeping the cached $DEBFILE"
  else
    die "cannot resolve or download the package linux-image-amd64 depends on"
  fi
  if [ "$stamp" = "$DEBFILE $LAYOUT" ]; then
    touch "$STAMP"        # same kernel: remember that the lists were checked
  else
    # ---- 3. extract only what the guest needs ------------------------------
    avail=$(df -Pk "$CACHE" | awk 'NR == 2 {print int($4 / 1024)}')
    [ "$avail" -ge 120 ] || die "only ${avail} MB free in $CACHE; need ~120 MB to extract the kernel"
    say "extracting $DEBFILE"
    NEW=$CACHE/kernel.new; TMPS="$TMPS $NEW"
    rm -rf "$NEW"; mkdir -p "$NEW"
    set -- './boot/vmlinuz-*' './lib/modules/*/modules.*'
    for d in $MODDIRS; do set -- "$@" "./lib/modules/*/kernel/$d/*"; done
    # tar exits 2 when a pattern matches nothing (drivers/iommu): tolerate
    # exactly that; the checks below catch anything really missing.
    dpkg-deb --fsys-tarfile "$CACHE/deb/$DEBFILE" |
      tar -x -C "$NEW" --wildcards "$@" 2>"$NEW.err" || true
    TMPS="$TMPS $NEW.err"
    if grep -v -e 'Not found in archive' -e 'Exiting with failure status' "$NEW.err" >&2; then
      die "extracting $DEBFILE failed"
    fi
    KVER=$(ls "$NEW/lib/modules")
    [ -n "$KVER" ] && [ -f "$NEW/boot/vmlinuz-$KVER" ] || die "no kernel in $DEBFILE"
    # The .deb ships no modules.dep (the postinst runs depmod): build it.
    depmod -b "$NEW" "$KVER" || die "depmod failed"
    seen=" "
    check_mod() {  # $1 and its dependencies (recursively) must be in the tree
      case "$seen" in *" $1 "*) return 0 ;; esac
      seen="$seen$1 "
      modinfo -b "$NEW" -k "$KVER" -n "$1" >/dev/null 2>&1 ||
        die "module $1 missing from the extracted tree: add its directory to MODDIRS in $0"
      for dep in $(modinfo -b "$NEW" -k "$KVER" -F depends "$1" | tr , ' '); do check_mod "$dep"; done
    }
    for m in $NEEDMODS; do check_mod "$m"; done

    # ---- 4. vmlinux: the xz payload of the bzImage -------------------------
    # Debian's kernel is CONFIG_KERNEL_XZ=y and CONFIG_PVH=y: the payload is
    # an ELF vmlinux with the PVH note, which QEMU -kernel boots directly.
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$NEW/boot/vmlinuz-$KVER" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || die "no xz payload in vmlinuz-$KVER (kernel not CONFIG_KERNEL_XZ?)"
    tail -c +$((off + 1)) "$NEW/boot/vmlinuz-$KVER" | xz -dc --single-stream >"$NEW/vmlinux" ||
      die "decompressing the vmlinux failed"
    [ "$(head -c 4 "$NEW/vmlinux" | od -An -c | tr -d ' ')" = '177ELF' ] ||
      die "the extracted vmlinux is not an ELF file"

    echo "$DEBFILE $LAYOUT" >"$NEW/.done"
    rm -rf "$KDIR"; mv "$NEW" "$KDIR"
    # keep only the current .deb (70 MB each)
    for f in "$CACHE"/deb/*.deb; do [ "$f" = "$CACHE/deb/$DEBFILE" ] || rm -f "$f"; done
  fi
fi

# ---- 5. initramfs ----------------------------------------------------------
KVER=$(ls "$KDIR/lib/modules")
MODDEP=$KDIR/lib/modules/$KVER/modules.dep     # rewritten only on extraction
if ! [ "$INITRD" -nt "$HERE/guest-init.sh" ] || ! [ "$INITRD" -nt "$HERE/mkinitramfs.sh" ] ||
   ! [ "$INITRD" -nt "$MODDEP" ]; then
  "$HERE/mkinitramfs.sh" "$KDIR" "$KVER" "$INITRD" >&2 || die "mkinitramfs.sh failed"
fi

# ---- 6. udev for the systemd guest -------------------------------------------
# Debian systems have udev, these build hosts (containers) do not.  udev
# depends on the exact version of libudev1/libsystemd-shared, so it is the
# host's systemd version, not the newest.
if [ "${UACCE_VM_INIT:-sh}" = systemd ] && ! command -v udevadm >/dev/null 2>&1; then
  UVER=$(dpkg-query -W -f='${Version}' libsystemd-shared 2>/dev/null || true)
  [ -n "$UVER" ] || die "UACCE_VM_INIT=systemd: libsystemd-shared is not installed"
  UFILE=$(echo "udev_${UVER}_amd64.deb" | sed 's/:/%3a/')
  if [ ! -f "$CACHE/udev/$UFILE" ]; then
    say "downloading udev $UVER (for the systemd guest)"
    d=$(mktemp -d "$CACHE/download.XXXXXX"); TMPS="$TMPS $d"
    get() { (cd "$d" && apt-get download -q -o APT::Sandbox::User=root "udev=$UVER" >/dev/null 2>&1); }
    get || { apt-get update -q >/dev/null && get; } ||
      die "cannot download udev=$UVER (the version of the host's systemd)"
    mkdir -p "$CACHE/udev"
    rm -f "$CACHE"/udev/udev_*.deb
    mv "$d/$UFILE" "$CACHE/udev/$UFILE" || die "apt-get download udev=$UVER: no $UFILE"
  fi
  say "udev for the systemd guest: $CACHE/udev/$UFILE"
fi

echo "uacced-vm: ready: kernel $KVER ($(cut -d' ' -f1 "$STAMP")), $KDIR/vmlinux + $INITRD"
