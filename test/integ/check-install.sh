#!/bin/bash
# make install (DESTDIR, --prefix/--sysconfdir honoured, the admin's config
# never overwritten), make distcheck, systemd-analyze verify of the unit and
# its security exposure figure.  Ends with "install-checks: N passed, M failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0
check() {	# check NAME COMMAND...
	local name=$1; shift
	if "$@" >"$work/out" 2>&1; then
		pass=$((pass + 1)); echo "ok:   $name"
	else
		fail=$((fail + 1)); echo "FAIL: $name"; tail -15 "$work/out" | sed 's/^/      /'
	fi
}

mkdir -p "$work/b" && cd "$work/b" || exit 1
"$top/configure" --prefix=/usr --sysconfdir=/etc >/dev/null || exit 1
make -j"$(nproc)" >/dev/null 2>&1 || { echo "FAIL: build"; exit 1; }
root=$work/root
check "make install DESTDIR" make install DESTDIR="$root"
for f in usr/sbin/uacced usr/bin/uacce-dummy usr/bin/uacce-bench usr/lib/libuacce.so.0 \
	usr/include/uacce/uacce.h usr/include/uacce/libuacce.h usr/include/uacce/wd.h \
	usr/lib/pkgconfig/libuacce.pc usr/share/man/man8/uacced.8 usr/share/man/man5/uacced.json.5 \
	usr/share/man/man3/libuacce.3 usr/lib/systemd/system/uacced.service \
	usr/lib/udev/rules.d/60-uacce.rules usr/lib/tmpfiles.d/uacced.conf \
	usr/lib/sysusers.d/uacced.conf usr/lib/modules-load.d/uacced.conf etc/uacce/uacced.json \
	etc/uacce/uacced.json.example usr/bin/uacce-run usr/lib/uacce/libuacce-preload.so \
	usr/share/man/man1/uacce-run.1; do
	check "installed /$f" test -e "$root/$f"
done
# the bash completions: the one file under each command's name
bc=usr/share/bash-completion/completions
for c in uacced uaccectl uacce-zip uacce-bench uacce-dummy uacce-run; do
	check "installed /$bc/$c (completions/uacce.bash)" cmp "$top/completions/uacce.bash" "$root/$bc/$c"
done
check "the installed completion completes uaccectl's commands" bash -c \
	". '$root/$bc/uaccectl' && COMP_WORDS=(uaccectl t) COMP_CWORD=1 && _uaccectl && [ \"\${COMPREPLY[*]}\" = top ]"
mkdir -p "$work/bc1" "$work/bc2"
check "--with-bash-completion-dir=DIR installs there" sh -c "cd '$work/bc1' &&
	'$top/configure' --prefix=/usr --with-bash-completion-dir=/opt/bc >/dev/null &&
	make install-bashcompletionDATA DESTDIR='$work/bcroot1' >/dev/null &&
	test -e '$work/bcroot1/opt/bc/uacce-zip' && test ! -e '$work/bcroot1/$bc'"
check "--without-bash-completion-dir installs none" sh -c "cd '$work/bc2' &&
	'$top/configure' --prefix=/usr --without-bash-completion-dir >/dev/null &&
	make install-bashcompletionDATA DESTDIR='$work/bcroot2' >/dev/null && test ! -e '$work/bcroot2/usr'"
check "libuacce soname is libuacce.so.0" sh -c \
	"objdump -p '$root/usr/lib/libuacce.so.0' | grep -q 'SONAME.*libuacce.so.0'"
check "libuacce exports only uacce_*/wd_*" sh -c \
	"! nm -D --defined-only '$root/usr/lib/libuacce.so.0' | awk '\$2 ~ /[TD]/ {print \$3}' | grep -vE '^(uacce_|wd_)'"
check "uacce-run preloads the installed library" sh -c \
	"grep -qx 'lib=\\\${UACCE_RUN_LIBRARY:-/usr/lib/uacce/libuacce-preload.so}' '$root/usr/bin/uacce-run'"
check "no libtool archive of the preload module installed" test ! -e "$root/usr/lib/uacce/libuacce-preload.la"
echo '{"devices": []}' > "$root/etc/uacce/uacced.json"
check "reinstall keeps the admin's uacced.json" sh -c \
	"make install DESTDIR='$root' && grep -q '\"devices\": \[\]' '$root/etc/uacce/uacced.json'"
check "uninstall keeps the admin's uacced.json" sh -c \
	"make uninstall DESTDIR='$root' && test -e '$root/etc/uacce/uacced.json'"

# the unit, pointed at this build's daemon so that every path exists
sed -e "s|@sbindir@|$work/b|" "$top/systemd/uacced.service.in" > "$work/uacced.service"
check "systemd-analyze verify uacced.service" sh -c \
	"systemd-analyze verify --man=no '$work/uacced.service' 2>&1 | tee /dev/stderr | (! grep -q .)"
systemd-analyze security --offline=yes "$work/uacced.service" 2>/dev/null | tail -1
# the tarball builds, installs and uninstalls from a VPATH build, and every
# test program compiles there; the unit tests themselves run in test.sh's
# unit and unit-asan suites (TESTS= keeps make check from running them a
# third time: about a minute on 2 cores)
check "make distcheck (tests built, run elsewhere)" make -j"$(nproc)" distcheck TESTS=

echo "install-checks: $pass passed, $fail failed"
exit $fail
