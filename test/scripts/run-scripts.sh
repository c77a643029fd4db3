#!/bin/bash
# test/scripts/run-scripts.sh BUILD_DIR - checks of what a user meets first
# (issue 15), as root, on the host, in about a minute:
#   versions  every program's --version and every man page's .TH line say
#             configure.ac's AC_INIT version
#   defaults  uacced.json(5)'s example of the embedded default is the one in
#             daemon/config.c, and uacced(8) counts and names its devices
#   build     scripts/build.sh reconfigures a build directory when the
#             configure arguments change, and only then
#   accounts  lib.sh removes the test users and groups a suite created (not
#             those that existed before) at its end, keeps them with
#             UACCE_KEEP_TEST_USERS=1, and when the suite ends early
#   deps      scripts/deps.sh waits while another process holds dpkg's
#             frontend lock, then installs (a local, empty .deb), apt's output shown
# UACCE_INTEG_SKIP="name ..." skips sections.  Ends with
# "scripts-checks: N passed, M failed"; the exit status is M.
set -u
IT_NAME=${IT_NAME:-scripts-checks}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=test/integ/lib.sh
. "$top/test/integ/lib.sh"

build=${1:-}
if [ -z "$build" ] || ! build=$(cd "$build" 2>/dev/null && pwd); then
	echo "usage: $0 BUILD_DIR" >&2
	echo "$IT_NAME: 0 passed, 1 failed"
	exit 1
fi
[ "$(id -u)" = 0 ] || { echo "$IT_NAME: must run as root" >&2; echo "$IT_NAME: 0 passed, 1 failed"; exit 1; }
IT_TMP=$(mktemp -d /tmp/uacce-scripts.XXXXXX) || exit 1
chmod 755 "$IT_TMP"
HOLDER=
sc_cleanup() {
	[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null
	it_cleanup
}
trap sc_cleanup EXIT
want=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$top/configure.ac")

# --- versions ----------------------------------------------------------------------
if ! it_skip versions; then
	[ -n "$want" ] && it_ok "configure.ac: AC_INIT version $want" || it_bad "no version in AC_INIT of configure.ac"
	for p in uacced uaccectl uacce-zip uacce-bench uacce-dummy shim/uacce-run; do
		name=${p##*/}
		if [ ! -x "$build/$p" ]; then
			it_bad "$name: $build/$p not built"
			continue
		fi
		got=$("$build/$p" --version 2>&1 | head -n 1)
		case $got in
		"$name $want" | "$name (uacced) $want") it_ok "$name --version: \"$got\"" ;;
		*) it_bad "$name --version: expected \"$name $want\" or \"$name (uacced) $want\", got \"$got\"" ;;
		esac
	done
	bad=""
	n=0
	for m in "$top"/man/*.[0-9]; do
		n=$((n + 1))
		# .TH TITLE SECTION "date" "source" "manual": the source is "uacced VERSION"
		src=$(awk '/^\.TH /{ n = split($0, f, "\""); print f[4]; exit }' "$m")
		[ "$src" = "uacced $want" ] || bad="$bad ${m##*/}:\"$src\""
	done
	[ -z "$bad" ] && [ $n -gt 0 ] && it_ok "man pages: all $n say \"uacced $want\" on their .TH line" ||
		it_bad "man pages whose .TH source is not \"uacced $want\":$bad"
fi

# --- defaults ---------------------------------------------------------------------------
if ! it_skip defaults; then
	# the C string of daemon/config.c, and the page's example after "The embedded default:"
	emb=$(awk '/^const char config_embedded_default\[\] =/{ on = 1; next }
		   on && /;$/ { sub(/;$/, ""); on = 2 }
		   on { s = $0; sub(/^[ \t]*"/, "", s); sub(/"[ \t]*$/, "", s); gsub(/\\n/, "", s); gsub(/\\"/, "\"", s); printf "%s", s }
		   on == 2 { exit }' "$top/daemon/config.c")
	page=$(awk '/^The embedded default:/{ on = 1; next } on && /^\.nf/{ in_ = 1; next }
		    in_ && /^\.fi/{ exit } in_ { print }' "$top/man/uacced.json.5" | sed 's/\\-/-/g; s/\\(dq/"/g')
	e=$(jq -cS . <<<"$emb" 2>&1) p=$(jq -cS . <<<"$page" 2>&1)
	if [ -n "$e" ] && [ "$e" = "$p" ]; then
		it_ok "uacced.json(5): the example of the embedded default is daemon/config.c's ($(jq '.devices | length' <<<"$emb") devices)"
	else
		it_bad "uacced.json(5)'s embedded default differs from daemon/config.c's"
		printf 'config.c: %s\npage:     %s\n' "$e" "$p" | it_indent
	fi
	n=$(jq '.devices | length' <<<"$emb" 2>/dev/null)
	words=(none one two three four five six seven eight nine)
	names=$(jq -r '.devices | to_entries[] | "uacce-\(.value.name)-\(.key)"' <<<"$emb" 2>/dev/null)
	text=$(sed 's/\\-/-/g' "$top/man/uacced.8")
	miss=""
	for d in $names; do grep -qF -- "$d" <<<"$text" || miss="$miss $d"; done
	if [ -n "$n" ] && grep -q "embedded default has ${words[$n]} devices" <<<"$text" && [ -z "$miss" ]; then
		it_ok "uacced(8): \"the embedded default has ${words[$n]} devices\", and names them: $(echo $names)"
	else
		it_bad "uacced(8) does not say the embedded default has ${words[${n:-0}]} devices, or misses:$miss"
	fi
fi

# --- build --------------------------------------------------------------------------------
# configure args of a build dir, one a line (config.status --config quotes them)
cfg_args() { (cd "$1" && eval "printf '%s\n' $(./config.status --config)"); }
if ! it_skip build; then
	b=$IT_TMP/build
	export UACCE_BUILD_CONFIGURE_ONLY=1
	if "$top/scripts/build.sh" "$b" --disable-silent-rules >"$IT_TMP/b.out" 2>&1 &&
	   [ "$(cfg_args "$b")" = "--disable-silent-rules" ]; then
		it_ok "build.sh DIR --disable-silent-rules: configured so"
	else
		it_bad "build.sh DIR --disable-silent-rules: config.status says \"$(cfg_args "$b" 2>&1)\""
		it_indent "$IT_TMP/b.out"
	fi
	touch -d '2000-01-01' "$b/configure.out"
	"$top/scripts/build.sh" "$b" --disable-silent-rules >"$IT_TMP/b.out" 2>&1
	[ "$(stat -c %Y "$b/configure.out")" = "$(date -d 2000-01-01 +%s)" ] &&
		it_ok "build.sh with the same arguments: not configured again" ||
		it_bad "build.sh with the same arguments configured again"
	# quickstart's build (no arguments), then test.sh's (-Werror)
	"$top/scripts/build.sh" "$b" >"$IT_TMP/b.out" 2>&1
	"$top/scripts/build.sh" "$b" --enable-werror >>"$IT_TMP/b.out" 2>&1
	if [ "$(cfg_args "$b")" = "--enable-werror" ] && grep -q -- '-Werror' "$b/Makefile" &&
	   grep -q 'reconfiguring' "$IT_TMP/b.out"; then
		it_ok "build.sh DIR, then build.sh DIR --enable-werror: reconfigured (-Werror in the Makefile): $(grep -m1 reconfiguring "$IT_TMP/b.out")"
	else
		it_bad "build.sh DIR --enable-werror after build.sh DIR: config.status says \"$(cfg_args "$b" 2>&1)\""
		it_indent "$IT_TMP/b.out"
	fi
	unset UACCE_BUILD_CONFIGURE_ONLY
	rm -rf "$b"
fi

# --- accounts ---------------------------------------------------------------------------
# a suite of its own (lib.sh) with other names than the real suites' test
# accounts, so that it cannot touch theirs: WHAT is "summary" (the end of a
# suite), "early" (exit without it_summary) or "keep" (UACCE_KEEP_TEST_USERS=1)
mini_suite() {
	local what=$1
	env -u UACCE_KEEP_TEST_USERS ${2:+UACCE_KEEP_TEST_USERS=$2} bash -c '
		. "$1/test/integ/lib.sh"
		IT_NAME=mini IT_GROUP=uacce-sg IT_USER1=uacce-s1 IT_USER2=uacce-s2
		IT_TMP=$(mktemp -d) || exit 2
		trap it_cleanup EXIT
		it_users || { echo "it_users failed"; exit 2; }
		id "$IT_USER1" && id "$IT_USER2" || exit 2
		[ "$2" = early ] && exit 0
		it_summary' mini "$top" "$what" >"$IT_TMP/mini.out" 2>&1
}
gone() {	# NAME...: none of these users or groups exists
	local x
	for x; do getent passwd "$x" >/dev/null || getent group "$x" >/dev/null && return 1; done
	return 0
}
if ! it_skip accounts; then
	for x in uacce-s1 uacce-s2; do getent passwd $x >/dev/null && userdel $x; done
	for x in uacce-s1 uacce-s2 uacce-sg; do getent group $x >/dev/null && groupdel $x; done
	if gone uacce-s1 uacce-s2 uacce-sg; then
		mini_suite summary
		if gone uacce-s1 uacce-s2 uacce-sg && grep -q '^ok: removed the test accounts' "$IT_TMP/mini.out" &&
		   grep -q '^mini: 1 passed, 0 failed' "$IT_TMP/mini.out"; then
			it_ok "the end of a suite removes the users and groups it created: $(grep -m1 '^ok: removed' "$IT_TMP/mini.out" | cut -c5-)"
		else
			it_bad "the end of a suite: accounts left, or no check"; it_indent "$IT_TMP/mini.out"
		fi
		mini_suite early
		gone uacce-s1 uacce-s2 uacce-sg && it_ok "a suite that ends early removes them too" ||
			{ it_bad "a suite that ends early left its accounts"; it_indent "$IT_TMP/mini.out"; }
		groupadd --system uacce-sg
		mini_suite summary
		if getent group uacce-sg >/dev/null && gone uacce-s1 uacce-s2; then
			it_ok "a group that existed before the suite stays; the users it created go"
		else
			it_bad "a group that existed before: $(getent group uacce-sg || echo removed), users: $(getent passwd uacce-s1 uacce-s2 | cut -d: -f1 | tr '\n' ' ')"
			it_indent "$IT_TMP/mini.out"
		fi
		groupdel uacce-sg
		mini_suite summary 1
		if getent passwd uacce-s1 >/dev/null && getent passwd uacce-s2 >/dev/null &&
		   getent group uacce-sg >/dev/null && grep -q '^info: kept the test accounts' "$IT_TMP/mini.out"; then
			it_ok "UACCE_KEEP_TEST_USERS=1 keeps them: $(grep -m1 '^info: kept' "$IT_TMP/mini.out" | cut -c7-)"
		else
			it_bad "UACCE_KEEP_TEST_USERS=1 did not keep them"; it_indent "$IT_TMP/mini.out"
		fi
		for x in uacce-s1 uacce-s2; do getent passwd $x >/dev/null && userdel $x; done
		for x in uacce-s1 uacce-s2 uacce-sg; do getent group $x >/dev/null && groupdel $x; done
	else
		it_bad "cannot remove the accounts uacce-s1, uacce-s2, uacce-sg left by an earlier run"
	fi
fi

# --- deps ------------------------------------------------------------------------------
# a process holds dpkg's frontend lock (as apt does: fcntl) for HOLD_S seconds
HOLD_S=${UACCE_SCRIPTS_LOCK_S:-10}
if ! it_skip deps; then
	pkg=uacce-lock-probe
	mkdir -p "$IT_TMP/deb/DEBIAN"
	cat >"$IT_TMP/deb/DEBIAN/control" <<EOF
Package: $pkg
Version: 1.0
Architecture: all
Maintainer: uacced tests <root@localhost>
Description: empty package of uacced's test of scripts/deps.sh (removed at once)
EOF
	dpkg-deb --build "$IT_TMP/deb" "$IT_TMP/$pkg.deb" >/dev/null && chmod 644 "$IT_TMP/$pkg.deb" ||
		it_bad "dpkg-deb --build"
	dpkg -P "$pkg" >/dev/null 2>&1
	python3 -c '
import fcntl, os, sys, time
fd = os.open("/var/lib/dpkg/lock-frontend", os.O_RDWR | os.O_CREAT, 0o640)
while True:		# another apt may hold it now: wait for our turn
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB); break
    except OSError:
        time.sleep(0.2)
print("held", flush=True)
time.sleep(float(sys.argv[1]))
' "$HOLD_S" >"$IT_TMP/holder.out" 2>&1 &
	HOLDER=$!
	if it_wait 120000 grep -q held "$IT_TMP/holder.out"; then
		UACCE_DEPS_PACKAGES=$IT_TMP/$pkg.deb "$top/scripts/deps.sh" build >"$IT_TMP/deps.out" 2>&1
		rc=$?
		# it must have waited for the holder: the holder is gone by the time it ends
		kill -0 "$HOLDER" 2>/dev/null && early=1 || early=0
		if [ $rc = 0 ] && [ $early = 0 ] && grep -q '^Waiting for cache lock' "$IT_TMP/deps.out" &&
		   dpkg-query -W -f='${Status}' $pkg 2>/dev/null | grep -q 'install ok installed'; then
			it_ok "deps.sh waited for the dpkg lock ($HOLD_S s), then installed $pkg; apt said: $(grep -m1 '^Waiting for cache lock' "$IT_TMP/deps.out" | cut -c1-110)..."
		else
			it_bad "deps.sh while dpkg was locked: exit $rc, finished before the lock was free: $early"
			it_indent "$IT_TMP/deps.out" | tail -n 20
		fi
		grep -q "Unpacking $pkg" "$IT_TMP/deps.out" && it_ok "deps.sh shows apt's output (\"$(grep -m1 "Unpacking $pkg" "$IT_TMP/deps.out")\")" ||
			it_bad "deps.sh hid apt's output"
	else
		it_bad "the lock holder did not get dpkg's lock"; it_indent "$IT_TMP/holder.out"
	fi
	wait "$HOLDER" 2>/dev/null
	HOLDER=
	dpkg -P "$pkg" >/dev/null 2>&1
fi

it_summary
