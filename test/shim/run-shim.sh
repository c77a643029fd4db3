#!/bin/bash
# test/shim/run-shim.sh - the preload shim (libuacce-preload.so, uacce-run)
# on this machine: the real daemon on the FUSE fallback (lib.sh) with a v4
# device and two mainline devices, and unmodified programs run through
# uacce-run as root and as an unprivileged user:
#   - uacce-run --version/--help; ls/cat/stat/find of /sys/class/uacce and
#     /dev/<node> (each also without the shim: it must fail there)
#   - shim-probe (test/shim/shim-probe.c, no libuacce) on each device:
#     class dir, node, regions, MAP_FIXED, second map, mremap, fork,
#     threads, a dlopen'ed module, a reused fd number; no queue and no
#     broker connection left behind (available_instances, the daemon's fds)
#   - no daemon: one "uacce-run: ..." line and ENOENT; no broker: one line
#     and ENOTCONN from mmap
#   - the overhead: bench-shim with and without the library (info lines,
#     JSON; no time is asserted; UACCE_SHIM_BENCH_N iterations, 100000), and
#     valgrind's count of the instructions they add (UACCE_SHIM_INSTR=0: not)
#
#   sudo test/shim/run-shim.sh [BUILD_DIR]
#
# The last line is "shim: N passed, M failed"; the exit status is M.
# A sanitizer build runs the programs with its runtime preloaded before the
# library, and prints no figures.
set -u
IT_NAME=${IT_NAME:-shim}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/../integ/lib.sh"

it_begin "${1:-}"
for f in shim/.libs/libuacce-preload.so shim/uacce-run test/shim/shim-probe \
	test/shim/.libs/shim-dl.so tools/bench-shim; do
	[ -e "$build/$f" ] || fatal "$build/$f not built"
done
# private copies the test users can read (lib.sh's reasons)
mkdir -p "$IT_TMP/lib/uacce"
cp "$build/shim/.libs/libuacce-preload.so" "$IT_TMP/lib/uacce/"
cp "$build/test/shim/.libs/shim-dl.so" "$IT_TMP/lib/"
cp "$build/shim/uacce-run" "$build/tools/bench-shim" "$IT_TMP/bin/"
it_copy_prog "$build/test/shim" shim-probe shim-probe || fatal "shim-probe: not an ELF file"
chmod -R a+rX "$IT_TMP/bin" "$IT_TMP/lib"
LIB=$IT_TMP/lib/uacce/libuacce-preload.so
RUN=$IT_TMP/bin/uacce-run
SP=$IT_TMP/bin/shim-probe
export UACCE_RUN_LIBRARY=$LIB
# A sanitizer build's library needs its runtime first in LD_PRELOAD, before
# the library that uacce-run would put there: the programs then run through
# a wrapper that preloads both (uacce-run(1)'s other way, LD_PRELOAD), and
# uacce-run itself is checked on its own.  No figures: they would measure ASan.
SAN=0
WRAP=$RUN
if nm -D "$LIB" | grep -q __asan_init; then
	SAN=1
	asan_rt=$(ldd "$LIB" | awk '/libasan/ {print $3; exit}')
	[ -r "$asan_rt" ] || fatal "a sanitizer build whose runtime ldd does not find"
	printf '#!/bin/sh\nLD_PRELOAD=%s:%s${LD_PRELOAD:+:$LD_PRELOAD} exec "$@"\n' \
		"$asan_rt" "$LIB" >"$IT_TMP/bin/uacce-run-san"
	chmod 755 "$IT_TMP/bin/uacce-run-san"
	RUN=$IT_TMP/bin/uacce-run-san

	it_info "sanitizer build: programs run with LD_PRELOAD=$asan_rt:libuacce-preload.so"
fi

# v4 SVA, mainline SVA, mainline non-SVA (ids are global: uacce-dummy-0, dummy-1, dummy-2)
IT_DEV0=uacce-dummy-0 IT_DEV1=dummy-1 IT_DEV2=dummy-2
cat >"$IT_CFG" <<EOC
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES,"abi":"mainline"},
            {"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":$IT_QUEUES,"abi":"mainline"}]}
EOC

# --- the wrapper ----------------------------------------------------------------------
want=$(sed -n 's/^AC_INIT(\[[^]]*\], *\[\([^]]*\)\].*/\1/p' "$here/../../configure.ac")
got=$("$WRAP" --version 2>&1)
[ "$got" = "uacce-run $want" ] && it_ok "uacce-run --version: \"$got\"" ||
	it_bad "uacce-run --version: expected \"uacce-run $want\" got \"$got\""
it_check "uacce-run --help exits 0 and shows the usage" sh -c "'$WRAP' --help | grep -q '^Usage: uacce-run PROGRAM'"
it_cmd_fails "uacce-run without a program is a usage error" 10 root "$WRAP"
it_check "uacce-run with a missing library exits 127" sh -c \
	"UACCE_RUN_LIBRARY=/nonexistent '$WRAP' true; [ \$? = 127 ]"
# (a stand-in library: ld.so only warns about it, whatever the build)
: >"$IT_TMP/lib/stand-in.so"
it_check "uacce-run prepends the library to LD_PRELOAD" sh -c \
	"[ \"\$(UACCE_RUN_LIBRARY='$IT_TMP/lib/stand-in.so' LD_PRELOAD=/x.so '$WRAP' printenv LD_PRELOAD 2>/dev/null)\" = '$IT_TMP/lib/stand-in.so:/x.so' ]"

it_users || fatal "cannot create the group $IT_GROUP and users $IT_USER1, $IT_USER2"
it_daemon_start || fatal "daemon did not publish its nodes within 10 s"
it_ok "daemon started (pid $IT_DPID): $IT_DEV0 (v4), $IT_DEV1 and $IT_DEV2 (mainline) in $IT_NODE_DIR"

# --- plain tools ------------------------------------------------------------------------
[ -e /sys/class/uacce ] && it_info "this machine has /sys/class/uacce: the without-the-shim controls are skipped"
# plain DESC EXPECTED COMMAND...: its output is EXPECTED with the shim, and
# it fails without (where the path cannot exist without it: /sys/class/uacce
# on a machine without uacce, /dev/<node> on the FUSE fallback)
plain() {
	local desc=$1 want=$2 got ctl=0
	shift 2
	got=$(it_as "$IT_USER1" "$RUN" "$@" 2>&1)
	if [ "$got" = "$want" ]; then
		it_ok "$desc as $IT_USER1: \"$(tr '\n' ' ' <<<"$got")\""
	else
		it_bad "$desc: expected \"$want\" got \"$got\""
	fi
	case "$*" in
	*/sys/class/uacce*) [ -e /sys/class/uacce ] || ctl=1 ;;
	*/dev/*) [ "$IT_FRONTEND" = fuse ] && ctl=1 ;;
	esac
	if [ $ctl = 1 ] && it_as "$IT_USER1" "$@" >/dev/null 2>&1; then
		it_bad "$desc: it passes without the shim too (the check cannot fail)"
	fi
}
plain "ls /sys/class/uacce" "$(printf '%s\n' dummy-1 dummy-2 uacce-dummy-0)" ls /sys/class/uacce
plain "cat /sys/class/uacce/$IT_DEV1/api, flags" "$(printf 'dummy_v2\n1')" \
	cat "/sys/class/uacce/$IT_DEV1/api" "/sys/class/uacce/$IT_DEV1/flags"
plain "cat of $IT_DEV2's region_dus_size" "$(it_attr $IT_DEV2 region_dus_size)" \
	cat "/sys/class/uacce/$IT_DEV2/region_dus_size"
if [ "$IT_FRONTEND" = fuse ]; then
	plain "stat of /dev/$IT_DEV1 (the FUSE node)" "regular empty file" stat -c %F "/dev/$IT_DEV1"
else
	plain "stat of /dev/$IT_DEV1 (the CUSE node)" "character special file" stat -c %F "/dev/$IT_DEV1"
fi
plain "find /sys/class/uacce/$IT_DEV0 -name api" "/sys/class/uacce/$IT_DEV0/api" \
	find "/sys/class/uacce/$IT_DEV0" -name api
plain "test -r (access) of /sys/class/uacce/$IT_DEV2/algorithms" "yes" \
	sh -c "test -r /sys/class/uacce/$IT_DEV2/algorithms && echo yes"
got=$(it_as "$IT_USER1" "$RUN" cat /dev/null /etc/hostname 2>&1)
[ "$got" = "$(cat /etc/hostname)" ] && it_ok "other paths untouched: cat /dev/null /etc/hostname" ||
	it_bad "cat /dev/null /etc/hostname under the shim: got \"$got\""

# --- shim-probe: the regions, fork, threads, dlopen ------------------------------------------
dfds() { ls "/proc/$IT_DPID/fd" | wc -l; }
# the region pool's fds (uaccectl usage) are the pool's, not a leak
pool() { it_region_pool "$build/uaccectl"; }
fds0=$(($(dfds) - $(pool)))
for dev in $IT_DEV0 $IT_DEV1 $IT_DEV2; do
	for user in root "$IT_USER1"; do
		it_cmd "shim-probe $dev as $user under uacce-run" 120 "$user" \
			"$RUN" "$SP" -t 4 -m "$IT_TMP/lib/shim-dl.so" "$dev"
		grep -c '^ok:' "$IT_TMP/cmd.out" | sed "s/^/info: shim-probe $dev: /; s/$/ checks/"
	done
	if it_wait 2000 it_avail_is "$dev" "$IT_QUEUES"; then
		it_ok "$dev: available_instances back to $IT_QUEUES after the probes"
	else
		it_bad "$dev: available_instances $(it_attr "$dev" available_instances), want $IT_QUEUES"
	fi
done
fds_back() { [ "$(dfds)" -le $((fds0 + $(pool))) ]; }
if it_wait 3000 fds_back; then
	it_ok "the daemon holds $(dfds) fds again ($fds0 before the probes, region pool $(pool)): no broker connection left"
else
	it_bad "the daemon holds $(dfds) fds after the probes, $fds0 before + region pool $(pool)"
fi
it_cmd "a libuacce program under uacce-run: uacce-dummy on $IT_DEV0" 120 "$IT_USER1" \
	"$RUN" "$IT_DUMMY" -d "$IT_DEV0" -n 500 -s 4096
it_cmd_fails "shim-probe $IT_DEV1 without the shim fails" 60 "$IT_USER1" "$SP" -t 0 "$IT_DEV1"
it_cmd_fails "shim-probe $IT_DEV1 as $IT_USER2 (not in $IT_GROUP) fails" 60 "$IT_USER2" \
	"$RUN" "$SP" -t 0 "$IT_DEV1"
grep -q "open /dev/$IT_DEV1: Permission denied" "$IT_TMP/cmd.out" &&
	it_ok "$IT_USER2's open of /dev/$IT_DEV1 is EACCES" ||
	it_bad "$IT_USER2's open: $(grep "open /dev" "$IT_TMP/cmd.out")"

# --- no daemon, no broker -------------------------------------------------------------------
out=$(UACCE_RUNTIME_DIR=$IT_TMP/none "$RUN" ls /sys/class/uacce 2>&1)
rc=$?
if [ $rc != 0 ] && [ "$(grep -c '^uacce-run: no uacced serves the runtime directory' <<<"$out")" = 1 ] &&
	grep -q 'No such file or directory' <<<"$out"; then
	it_ok "no daemon: ls fails with ENOENT and one line: $(grep '^uacce-run' <<<"$out")"
else
	it_bad "no daemon: exit $rc, output: $out"
fi
mkdir -p "$IT_TMP/nobroker"
ln -s "$IT_RT/class" "$IT_TMP/nobroker/class"
cp "$IT_RT/devdir" "$IT_TMP/nobroker/devdir"
out=$(UACCE_RUNTIME_DIR=$IT_TMP/nobroker "$RUN" "$SP" -t 0 "$IT_DEV1" 2>&1)
if [ "$(grep -c '^uacce-run: cannot reach uacced' <<<"$out")" = 1 ] &&
	grep -q '^FAIL: mmap MMIO.*Transport endpoint is not connected' <<<"$out"; then
	it_ok "no broker: mmap is ENOTCONN, one line: $(grep '^uacce-run' <<<"$out")"
else
	it_bad "no broker: output:"
	it_indent <<<"$out" | head -20
fi

if [ $SAN = 1 ]; then
	it_daemon_kill TERM
	it_summary
	exit
fi

# --- the overhead ---------------------------------------------------------------------------
# three alternating runs of each kind (the machine is shared): the best figures
bench() { "$IT_TMP/bin/bench-shim" -n "${UACCE_SHIM_BENCH_N:-100000}" -r 3 "$IT_TMP/bin/bench-shim"; }
best() {	# best KEY JSON...: the smallest figure
	local k=$1
	shift
	printf '%s\n' "$@" | grep -o "\"$k\":[0-9.]*" | cut -d: -f2 | sort -g | head -n 1
}
plainj=() shimj=() benchok=1
for _ in 1 2 3; do
	plainj+=("$(bench)") || benchok=0
	shimj+=("$(LD_PRELOAD=$LIB bench)") || benchok=0
done
if [ $benchok = 1 ] && grep -q '"preloaded":false' <<<"${plainj[0]}" &&
	grep -q '"preloaded":true' <<<"${shimj[0]}"; then
	it_ok "bench-shim ran 3 times with and 3 times without the library"
	json="{\"frontend\":\"$IT_FRONTEND\""
	for k in stat_ns open_close_ns mmap_anon_ns mmap_file_ns uacce_stat_ns; do
		a=$(best "$k" "${plainj[@]}")
		b=$(best "$k" "${shimj[@]}")
		json="$json,\"$k\":[$a,$b]"
		it_info "overhead $k: $a -> $b ns per iteration ($(awk -v a="$a" -v b="$b" 'BEGIN{printf "%+.1f%%", (b-a)*100/a}'))"
	done
	it_info "bench-shim figures (without, with): $json}"
else
	it_bad "bench-shim: \"${plainj[*]}\" / \"${shimj[*]}\""
fi

# the wrappers' own cost, free of noise: user-mode instructions per loop iteration
# (valgrind's count; the difference of a run of 2000 and one of 12000;
# UACCE_SHIM_INSTR=0 skips it: the guest, where the count is the host's)
if [ "${UACCE_SHIM_INSTR:-1}" = 1 ] && command -v valgrind >/dev/null; then
	ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 |
		awk '/Collected/ {print $NF}'; }
	json="{" sep=""
	for op in stat open_close mmap_file; do
		b=$IT_TMP/bin/bench-shim
		a1=$(ir "$b" -o $op -n 2000 -r 1 "$b") a2=$(ir "$b" -o $op -n 12000 -r 1 "$b")
		s1=$(LD_PRELOAD=$LIB ir "$b" -o $op -n 2000 -r 1 "$b")
		s2=$(LD_PRELOAD=$LIB ir "$b" -o $op -n 12000 -r 1 "$b")
		if [ -n "$a1" ] && [ -n "$a2" ] && [ -n "$s1" ] && [ -n "$s2" ]; then
			json="$json$sep\"${op}_instr\":[$(((a2 - a1) / 10000)),$(((s2 - s1) / 10000))]"
			sep=,
		fi
	done
	it_info "user-mode instructions per loop iteration (without, with): $json}"
fi

it_daemon_kill TERM
it_summary
