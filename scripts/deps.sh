#!/bin/sh
# Install what uacced needs to build and test, on Debian 12, as root.
#   scripts/deps.sh build   - compiler, autotools, libfuse3, json-c, Check, zlib, libdeflate, ISA-L
#   scripts/deps.sh test    - the above + fuse3, QEMU rig packages, valgrind, clang (fuzzing)
set -eu
what=${1:-build}
pkgs="build-essential autoconf automake libtool pkg-config libfuse3-dev libjson-c-dev check libsubunit-dev fuse3 gzip zlib1g-dev libdeflate-dev libisal-dev libudev-dev"
if [ "$what" = test ]; then
	pkgs="$pkgs systemd binutils qemu-system-x86 busybox-static cpio xz-utils kmod util-linux procps psmisc mandoc jq python3"
	# containers in the guest (test/integ/run-containers.sh): podman, its runtime and monitor
	pkgs="$pkgs podman crun conmon"
	# the libFuzzer harnesses (test/fuzz/): clang and its fuzzer runtime
	pkgs="$pkgs clang libclang-rt-14-dev"
fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get install -y --no-install-recommends $missing >/dev/null 2>&1 || {
	apt-get update >/dev/null
	apt-get install -y --no-install-recommends $missing >/dev/null
}
