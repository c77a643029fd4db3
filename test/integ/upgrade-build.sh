#!/bin/bash
# test/integ/upgrade-build.sh [COMMIT] - the daemon of an earlier release,
# built outside the tree under test, for test/integ/run-upgrade.sh.
#
# COMMIT: $1, else $UACCE_UPGRADE_FROM, else the previous landed release
# (the first one with the live restart).  Its tree comes out of this
# repository with git archive into <top>/.cache/upgrade-<hash>/src (git
# ignores .cache), is configured there, and only the daemon (with the
# sources it is made from, BUILT_SOURCES) is made; the ELF file goes to
# <top>/.cache/upgrade-<hash>/bin/uacced.  The build is kept (keyed by the
# commit): the host suite builds it once and the guest (which shares the
# work tree and may have no compiler) uses it; scripts/test.sh runs this
# before it boots the guest.
#
# Prints the bin directory on its last line; exit 0, or 1 with the reason:
# a commit that is not in the repository (a shallow clone: fetch the whole
# history) fails, it is never skipped.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# the previous landed release; move it on when a release lands
UPGRADE_FROM_DEFAULT=d02d0cd791af9ad3e970b2538751b30b408e4800
commit=${1:-${UACCE_UPGRADE_FROM:-$UPGRADE_FROM_DEFAULT}}

die() { echo "upgrade-build: $*" >&2; exit 1; }

# a full hash already built: no git needed (the guest may not reach the
# repository's git directory)
if [[ $commit =~ ^[0-9a-f]{40}$ ]]; then
	cache=${UACCE_UPGRADE_CACHE:-$top/.cache}/upgrade-$commit
	if [ -x "$cache/bin/uacced" ] && [ -e "$cache/done" ]; then
		echo "$cache/bin"
		exit 0
	fi
fi
[ "${UACCE_VM_GUEST:-0}" = 1 ] &&
	die "no build of $commit in ${UACCE_UPGRADE_CACHE:-$top/.cache}: build it on the host first (test/integ/upgrade-build.sh)"
hash=$(git -C "$top" rev-parse --verify -q "$commit^{commit}" 2>/dev/null) ||
	die "commit $commit is not in the repository at $top$(
		[ "$(git -C "$top" rev-parse --is-shallow-repository 2>/dev/null)" = true ] &&
			echo " (a shallow clone: git fetch --unshallow)")"
cache=${UACCE_UPGRADE_CACHE:-$top/.cache}/upgrade-$hash
if [ -x "$cache/bin/uacced" ] && [ -e "$cache/done" ]; then
	echo "$cache/bin"
	exit 0
fi
for t in cc make autoreconf tar; do
	command -v "$t" >/dev/null || die "$t not found: cannot build $hash (scripts/deps.sh build)"
done
mkdir -p "$cache" || die "cannot create $cache"
# one build at a time (the host suites of two builds may start it together)
exec 9>"$cache.lock" || die "cannot open $cache.lock"
flock 9 || die "cannot lock $cache.lock"
if [ -x "$cache/bin/uacced" ] && [ -e "$cache/done" ]; then
	echo "$cache/bin"
	exit 0
fi
log=$cache/build.log
rm -rf "$cache/src" "$cache/build" "$cache/bin"
mkdir -p "$cache/src" "$cache/build" "$cache/bin"
{
	echo "building uacced of $hash in $cache"
	git -C "$top" archive "$hash" | tar -x -C "$cache/src" &&
		(cd "$cache/src" && autoreconf -fi) &&
		(cd "$cache/build" && "$cache/src/configure" --enable-werror) &&
		make -C "$cache/build" -j"$(nproc)" \
			$(sed -n 's/^BUILT_SOURCES *= *//p' "$cache/build/Makefile") uacced
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; die "the build of $hash failed (log: $log)"; }
src=$cache/build/uacced
[ -x "$cache/build/.libs/uacced" ] && src=$cache/build/.libs/uacced
head -c 4 "$src" | grep -q ELF || die "$src is not an ELF file"
cp "$src" "$cache/bin/uacced" || die "cannot copy $src"
chmod -R a+rX "$cache/bin"
touch "$cache/done"
echo "$cache/bin"
