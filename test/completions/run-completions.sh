#!/bin/bash
# test/completions/run-completions.sh - the bash completions
# (completions/uacce.bash) driven as bash would: COMP_WORDS and COMP_CWORD
# set, the function that `complete` registered for the command called,
# COMPREPLY checked.  Every uaccectl command and every long option that a
# program's --help lists must be offered (a command or an option added to
# a program without its completion fails here), and values: device names
# from a runtime directory's class/, files, fixed words.
#
#   test/completions/run-completions.sh [BUILD_DIR]
#
# Under `make check` it runs in the build directory with $srcdir set.
# UACCE_COMPLETION_FILE: another completion file to drive (default: the
# source tree's).  One line per check; the last is "completion-tests: N
# passed, M failed", the exit status M (0..), 99 when it cannot start.
set -u
build=$(cd "${1:-.}" && pwd) || exit 99
src=$(cd "${srcdir:-$(dirname "$0")/../..}" && pwd) || exit 99
file=${UACCE_COMPLETION_FILE:-$src/completions/uacce.bash}
for p in uacced uaccectl uacce-zip uacce-bench uacce-dummy shim/uacce-run; do
	[ -x "$build/$p" ] || { echo "FAIL: $build/$p not built"; echo "completion-tests: 0 passed, 1 failed"; exit 99; }
done
export PATH=$build:$build/shim:$PATH
tmp=$(mktemp -d) || exit 99
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# shellcheck source=completions/uacce.bash
. "$file" || { echo "FAIL: sourcing $file"; echo "completion-tests: 0 passed, 1 failed"; exit 1; }

# comp WORD...: complete the last word (readline's split: "--opt=v" is "--opt" "=" "v");
# COMPREPLY sorted, one per line
comp() {
	local fn
	fn=$(complete -p "$1" 2>/dev/null | sed -nE 's/.*-F ([^ ]+) .*/\1/p')
	[ -n "$fn" ] || { echo "(no completion for $1)"; return 1; }
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]:-}"
	[ ${#COMPREPLY[@]} = 0 ] || printf '%s\n' "${COMPREPLY[@]}" | sort -u
}
# expect DESC WANT WORD...: the completions, joined by spaces, are exactly WANT
expect() {
	local desc=$1 want=$2 got
	shift 2
	got=$(comp "$@" | paste -sd' ' -)
	[ "$got" = "$want" ] && ok "$desc: $got" || bad "$desc: got \"$got\", want \"$want\""
}
# offers DESC "WORDS" WORD...: the completions include every one of WORDS
offers() {
	local desc=$1 want=$2 got w missing=
	shift 2
	got=$(comp "$@")
	for w in $want; do
		grep -qxF -- "$w" <<<"$got" || missing="$missing $w"
	done
	[ -z "$missing" ] && ok "$desc ($(wc -w <<<"$want") offered)" || bad "$desc: missing$missing"
}

# --- every command has a completion --------------------------------------------
for c in uacced uaccectl uacce-zip uacce-bench uacce-dummy uacce-run; do
	complete -p "$c" 2>/dev/null | grep -q -- '-F ' && ok "$c: a completion function" ||
		bad "$c: no completion"
done

# --- uaccectl's commands: those of its --help, no more, no fewer --------------------
helped=$(uaccectl --help | sed -n '/^Commands:/,/^$/p' | sed -nE 's/^  ([a-z][a-z-]*).*/\1/p' | sort -u)
offered=$(comp uaccectl "")
if [ -n "$helped" ] && [ "$helped" = "$offered" ]; then
	ok "uaccectl: the commands of its --help: $(echo $offered)"
else
	bad "uaccectl commands: --help lists \"$(echo $helped)\", the completion offers \"$(echo $offered)\""
fi
expect "uaccectl after --runtime-dir DIR: the commands starting with u" "usage" uaccectl --runtime-dir /x u
expect "uaccectl --runtime-dir=DIR: still the command" "reload restart" uaccectl --runtime-dir = /x re

# --- options: every long option of each --help --------------------------------------
long() { "$@" --help 2>&1 | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u | paste -sd' ' -; }
for c in uacced uaccectl uacce-zip uacce-bench uacce-dummy uacce-run; do
	opts=$(long $c)
	[ -n "$opts" ] || { bad "$c --help lists no option"; continue; }
	offers "$c --: the long options of its --help" "$opts" $c --
done
offers "uaccectl top --: top's options" "$(long uaccectl top)" uaccectl top --
offers "uaccectl cdi --: cdi's options" "$(long uaccectl cdi)" uaccectl cdi --
offers "uacce-dummy -: its short options" "-d -n -s -q" uacce-dummy -

# --- values -------------------------------------------------------------------------
mk() { mkdir -p "$tmp/run/class/$1" && echo "$2" >"$tmp/run/class/$1/api"; }
mk uacce-dummy-0 dummy_v1
mk uacce-dummy-1 dummy_v2
mk uacce-zip-2 uacce_zip_v1
mk hisi_zip-3 hisi_qm_v2
export UACCE_RUNTIME_DIR=$tmp/run
expect "uacce-dummy -d: the dummy devices of \$UACCE_RUNTIME_DIR/class" "uacce-dummy-0 uacce-dummy-1" uacce-dummy -d ""
expect "uacce-zip --device: the zip device" "uacce-zip-2" uacce-zip --device ""
expect "uacce-zip --device=u: the zip device" "uacce-zip-2" uacce-zip --device = u
expect "uacce-bench --hisi-device" "hisi_zip-3" uacce-bench --hisi-device ""
expect "uacce-bench --zip-device" "uacce-zip-2" uacce-bench --zip-device ""
UACCE_RUNTIME_DIR=$tmp/none expect "no runtime directory: no device" "" uacce-dummy -d ""
expect "uacced --frontend" "auto cuse fuse" uacced --frontend ""
expect "uacced --log-target j" "journal" uacced --log-target j
mkdir "$tmp/d"
touch "$tmp/d/a.json" "$tmp/d/a.txt" "$tmp/d/b.gz"
expect "uacced -c: files" "$tmp/d/a.json $tmp/d/a.txt" uacced -c "$tmp/d/a"
expect "uacced --runtime-dir: directories" "$tmp/d" uacced --runtime-dir "$tmp/d"
expect "uaccectl check-config: .json files" "$tmp/d/a.json" uaccectl check-config "$tmp/d/a"
expect "uaccectl top -n: a number, nothing to offer" "" uaccectl top -n ""
expect "uaccectl cdi --output: any file" "$tmp/d/a.json $tmp/d/a.txt" uaccectl cdi --output "$tmp/d/a"
expect "uacce-zip FILE: any file" "$tmp/d/a.json $tmp/d/a.txt $tmp/d/b.gz" uacce-zip "$tmp/d/"
expect "uacce-zip -d FILE: the .gz files" "$tmp/d/b.gz" uacce-zip -d "$tmp/d/"
expect "uacce-zip -kd FILE: the .gz files" "$tmp/d/b.gz" uacce-zip -kd "$tmp/d/"
expect "uacce-run PROGRAM: commands" "uacce-dummy" uacce-run uacce-dumm
offers "uacce-run -: its options" "--help --version" uacce-run -

# with bash-completion (when installed): uacce-run hands the rest to the program's completion
bc=/usr/share/bash-completion/bash_completion
if [ -r "$bc" ]; then
	got=$(bash -c '. "$1" >/dev/null 2>&1; . "$2" || exit 1
		COMP_WORDS=(uacce-run uaccectl t) COMP_CWORD=2 COMP_LINE="uacce-run uaccectl t" COMP_POINT=20
		_uacce_run uacce-run t uaccectl; echo "${COMPREPLY[*]}"' - "$bc" "$file" 2>&1)
	[ "$got" = top ] && ok "with bash-completion: uacce-run uaccectl t -> $got (_command_offset)" ||
		bad "with bash-completion: uacce-run uaccectl t: \"$got\", want \"top\""
else
	echo "info: bash-completion not installed: uacce-run's hand-over to _command_offset not checked"
fi

echo "completion-tests: $pass passed, $fail failed"
exit $fail
