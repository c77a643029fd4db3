#!/bin/bash
# Build the libFuzzer harnesses of test/fuzz/ with clang, apart from the
# normal (gcc, autotools) build:
#   test/fuzz/build.sh [OUTDIR]        (default: build-fuzz/ at the top)
# The product sources (common/, daemon/ without main.c and the frontends,
# hwbackends/) are compiled once with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and ASan/UBSan into OUTDIR/obj and archived;
# each harness links what it needs from the archive.  Objects are rebuilt
# only when their source or a header is newer.  Prints the harness paths.
# Env: CC (default clang), FUZZ_JOBS (parallel compiles, default 2).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$top/build-fuzz}
cc=${CC:-clang}
jobs=${FUZZ_JOBS:-2}
command -v "$cc" >/dev/null || { echo "fuzz build: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)

san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
pc=$(pkg-config --cflags json-c zlib libdeflate libisal 2>/dev/null || echo -I/usr/include/json-c)
libs=$(pkg-config --libs json-c zlib libdeflate libisal 2>/dev/null || echo "-ljson-c -lz -ldeflate -lisal")
cflags="-std=gnu11 -pthread -g -O1 $san -DUACCE_LOCK_CHECKS -I$top/include -I$top/common \
-I$top/daemon -I$top/hwbackends -I$top/hwbackends/soft -I$top/hwbackends/vfio $pc"

# The code under test: everything a harness may reach, nothing that needs
# libfuse or libudev (frontends, hot-plug, the daemon's main) or libbpf and the
# BPF skeleton (kgate.c, the kernel gate's loader: no harness reaches it).
srcs=""
for f in "$top"/common/*.c "$top"/hwbackends/*.c "$top"/hwbackends/*/*.c "$top"/daemon/*.c; do
	case ${f##*/} in
	main.c|fe_*.c|hotplug.c|broker.c|notify.c|attrs.c|devtable.c|kgate.c) continue ;;
	esac
	srcs="$srcs $f"
done

# newest header: a changed header rebuilds everything
hdr=$(ls -t "$top"/include/uacce/*.h "$top"/common/*.h "$top"/daemon/*.h \
	"$top"/hwbackends/*.h "$top"/hwbackends/*/*.h | head -n 1)
objs=""
todo=""
for f in $srcs; do
	rel=${f#"$top"/}
	o=$out/obj/$(echo "$rel" | tr / _ | sed 's/\.c$/.o/')
	objs="$objs $o"
	if [ ! -e "$o" ] || [ "$f" -nt "$o" ] || [ "$hdr" -nt "$o" ]; then
		todo="$todo $f:$o"
	fi
done
if [ -n "$todo" ]; then
	# shellcheck disable=SC2086
	printf '%s\n' $todo | xargs -P "$jobs" -n 1 sh -c \
		'exec '"$cc"' '"$cflags"' -fsanitize=fuzzer-no-link -w -c "${0%%:*}" -o "${0#*:}"'
	rm -f "$out/libuaccefuzz.a"
fi
if [ ! -e "$out/libuaccefuzz.a" ]; then
	# shellcheck disable=SC2086
	ar rcs "$out/libuaccefuzz.a" $objs
fi

# the harnesses: warnings are errors in our own code
hcflags="$cflags -Wall -Wextra -Werror -Wno-missing-field-initializers -I$top/test/fuzz"
for h in fuzz-config fuzz-zip-sqe fuzz-dummy-ring fuzz-core-ioctl fuzz-broker-wire fuzz-hisi-sqe fuzz-control; do
	src="$top/test/fuzz/$h.c"
	if [ ! -e "$out/$h" ] || [ "$src" -nt "$out/$h" ] || [ "$out/libuaccefuzz.a" -nt "$out/$h" ] ||
	   [ "$top/test/fuzz/fuzz_soft.c" -nt "$out/$h" ] || [ "$top/test/fuzz/fuzz_common.h" -nt "$out/$h" ]; then
		# shellcheck disable=SC2086
		$cc $hcflags -fsanitize=fuzzer -o "$out/$h" "$src" "$top/test/fuzz/fuzz_soft.c" \
			"$out/libuaccefuzz.a" $libs -lpthread
	fi
	echo "$out/$h"
done
