#!/bin/sh
# Configure and build uacced out of tree.  usage: scripts/build.sh DIR [configure args]
# DIR is (re)configured when it has no Makefile, when configure is newer, or
# when the configure arguments differ from those it was configured with
# (kept in DIR/build.args; else config.status --config); after a change of arguments the old objects are
# removed (make clean), so that new flags (e.g. -Werror) apply to every file.
# UACCE_BUILD_CONFIGURE_ONLY=1: configure, do not build (for the tests).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
[ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1) || {
	(cd "$top" && autoreconf -fi); exit 1; }
mkdir -p "$dir"
cd "$dir"
args=$(printf '%s\n' "$@")
# the arguments it was configured with: ours, else config.status's (quoted)
if [ -f build.args ]; then
	old=$(cat build.args)
elif [ -x config.status ] && q=$(./config.status --config 2>/dev/null); then
	old=$(eval "printf '%s\n' $q")
else
	old="(unknown)"
fi
clean=0
if [ -f Makefile ] && [ "$old" != "$args" ]; then
	echo "build: $dir was configured with \"$(printf '%s' "$old" | tr '\n' ' ')\", now \"$(printf '%s' "$args" | tr '\n' ' ')\": reconfiguring"
	clean=1
fi
if [ ! -f Makefile ] || [ "$top/configure" -nt Makefile ] || [ $clean = 1 ]; then
	rm -f build.args
	"$top/configure" "$@" >configure.out 2>&1 || { tail -30 configure.out; exit 1; }
	printf '%s\n' "$args" >build.args
fi
[ "${UACCE_BUILD_CONFIGURE_ONLY:-0}" = 1 ] && exit 0
if [ $clean = 1 ]; then
	make clean >/dev/null 2>&1 || true
fi
make -j"$(nproc)" >make.out 2>&1 || { grep -E 'error|warning' make.out | head -40; tail -20 make.out; exit 1; }
