#!/bin/sh
# test/vm/mkinitramfs.sh - build the rig's initramfs.
#   usage: mkinitramfs.sh KDIR KVER OUT.cpio
# KDIR is the extracted kernel tree made by setup.sh (KDIR/lib/modules/KVER
# with a modules.dep).  The initramfs holds only:
#   /bin/busybox   (busybox-static: the initramfs has no libc)
#   /init          (guest-init.sh)
#   /mod/*.ko      the modules needed to mount the host root: virtio-pci,
#                  9p over virtio and overlayfs, with their dependencies
#   /mod/order     their names, in load order (dependencies first)
# Everything else (cuse, vfio, ...) is loaded later with the host's modprobe
# from KDIR, which the guest sees through the read-only 9p root.
set -eu
[ $# = 3 ] || { echo "usage: $0 KDIR KVER OUT.cpio" >&2; exit 2; }
KDIR=$1; KVER=$2; OUT=$3
HERE=$(cd "$(dirname "$0")" && pwd)
WANT="virtio_pci 9pnet_virtio 9p overlay"
BUSYBOX=/bin/busybox

[ -f "$KDIR/lib/modules/$KVER/modules.dep" ] || { echo "mkinitramfs: no modules.dep in $KDIR (run setup.sh)" >&2; exit 1; }
ldd "$BUSYBOX" >/dev/null 2>&1 &&     # ldd fails on a static binary
  { echo "mkinitramfs: $BUSYBOX is dynamically linked (install busybox-static)" >&2; exit 1; }

ST=$(mktemp -d)
trap 'rm -rf "$ST" "$OUT.tmp"' EXIT
mkdir -p "$ST/bin" "$ST/mod"
cp "$BUSYBOX" "$ST/bin/busybox"
cp "$HERE/guest-init.sh" "$ST/init"
chmod 755 "$ST/init"

# modprobe --show-depends prints "insmod /path/to/mod.ko" for each module and
# its dependencies, dependencies first.  -C /dev/null: ignore the host's
# modprobe.d options.  Keep the first occurrence of each file.
: >"$ST/mod/order"
for m in $WANT; do
  modprobe -C /dev/null -d "$KDIR" -S "$KVER" --show-depends "$m" >>"$ST/deps" ||
    { echo "mkinitramfs: module $m not found in $KDIR" >&2; exit 1; }
done
for path in $(awk '$1 == "insmod" && !seen[$2]++ {print $2}' "$ST/deps"); do
  name=$(basename "$path"); name=${name%.xz}; name=${name%.ko}
  case "$path" in
    *.ko)    cp "$path" "$ST/mod/$name.ko" ;;
    *.ko.xz) xz -dc "$path" >"$ST/mod/$name.ko" ;;   # busybox insmod wants plain .ko
    *) echo "mkinitramfs: unsupported module format: $path" >&2; exit 1 ;;
  esac
  echo "$name" >>"$ST/mod/order"
done

rm -f "$ST/deps"
# Uncompressed (~3.3 MB): under TCG the kernel needs ~0.4 s to gunzip it,
# more than QEMU needs to load the larger file.
(cd "$ST" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "mkinitramfs: wrote $OUT ($(du -k "$OUT" | cut -f1) KiB); modules: $(tr '\n' ' ' <"$ST/mod/order")"
