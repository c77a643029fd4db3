#!/bin/sh
# Install what uacced needs to build and test, on Debian 12, as root.
#   scripts/deps.sh build   - compiler, autotools, libfuse3, json-c, Check, zlib, libdeflate, ISA-L,
#                             and the tools the quick start compares with (pigz, igzip)
#   scripts/deps.sh test    - the above + fuse3, QEMU rig packages, valgrind, clang (fuzzing),
#                             libbpf-dev and bpftool (the kernel devices' BPF gate),
#                             bash-completion (the completions' uacce-run hand-over)
# Only missing packages are installed.  apt's output is shown as it runs.
# When another process holds apt's or dpkg's lock (an unattended upgrade, a
# second apt), apt waits for it, up to UACCE_APT_LOCK_TIMEOUT seconds (600).
# The package lists are updated first when there are none, and once more when
# an install fails.  UACCE_DEPS_PACKAGES replaces the package list (names or
# paths of .deb files; for the tests).
set -eu
what=${1:-build}
case $what in
build | test) ;;
*) echo "usage: scripts/deps.sh [build|test]" >&2; exit 2 ;;
esac
pkgs="build-essential autoconf automake libtool pkg-config libfuse3-dev libjson-c-dev check libsubunit-dev fuse3 gzip zlib1g-dev libdeflate-dev libisal-dev libudev-dev pigz isal"
if [ "$what" = test ]; then
	pkgs="$pkgs systemd binutils qemu-system-x86 busybox-static cpio xz-utils kmod util-linux procps psmisc mandoc jq python3"
	# containers in the guest (test/integ/run-containers.sh): podman, its runtime and monitor
	pkgs="$pkgs podman crun conmon"
	# the libFuzzer harnesses (test/fuzz/): clang and its fuzzer runtime
	pkgs="$pkgs clang libclang-rt-14-dev"
	# the BPF gate for kernel uacce devices (configure --enable-bpf-gate=auto
	# builds it when clang, bpftool and libbpf are there)
	pkgs="$pkgs libbpf-dev bpftool"
	# the completions' test drives uacce-run's hand-over to bash-completion
	pkgs="$pkgs bash-completion"
fi
pkgs=${UACCE_DEPS_PACKAGES:-$pkgs}
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
wait_s=${UACCE_APT_LOCK_TIMEOUT:-600}
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# apt-get, waiting for dpkg's lock (the frontend lock and the database lock)
apt_get() { apt-get -o DPkg::Lock::Timeout="$wait_s" "$@"; }

# apt-get update: its lists lock is not covered by DPkg::Lock::Timeout, so
# a locked update is tried again every 5 s until the same time limit
apt_update() {
	end=$(($(date +%s) + wait_s))
	echo "deps: apt-get update"
	while :; do
		apt_get update >"$out" 2>&1 && { cat "$out"; return 0; }
		cat "$out"
		grep -qE 'Could not get lock|Unable to lock' "$out" && [ "$(date +%s)" -lt "$end" ] ||
			return 1
		echo "deps: apt's package lists are locked by another process: waiting"
		sleep 5
	done
}

echo "deps: installing$missing"
if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then
	apt_update || { echo "deps: apt-get update failed (above)" >&2; exit 1; }
fi
# shellcheck disable=SC2086 # a list of names
if ! apt_get install -y --no-install-recommends $missing; then
	echo "deps: the install failed (above): updating the package lists and trying again"
	apt_update || { echo "deps: apt-get update failed (above)" >&2; exit 1; }
	# shellcheck disable=SC2086
	apt_get install -y --no-install-recommends $missing ||
		{ echo "deps: could not install:$missing (apt's messages above)" >&2; exit 1; }
fi
