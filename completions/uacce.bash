# bash completion for uacced, uaccectl, uacce-zip, uacce-bench, uacce-dummy
# and uacce-run.                                     -*- shell-script -*-
#
# One file, installed under each command's name: bash-completion loads the
# file named after the command being completed, and any of them defines
# them all.  Plain bash (compgen), so it works without bash-completion too:
# `. uacce.bash`.
#
# Options are read from the program's own --help when asked for (so they
# follow the installed version); what an option's value is (a file, a
# directory, a device, a word from a list) and uaccectl's commands are
# listed here.  Device names are the runtime directory's class/ entries:
# --runtime-dir on the command line, else $UACCE_RUNTIME_DIR, else
# /run/uacce (readable by the clients that may open the devices).

# uaccectl's commands (its --help lists the same; test/completions checks it)
_uacce_ctl_commands="list queues usage reload restart top cdi check-config"

# the value of option $1 on the command line before the cursor, or nothing
_uacce_optval() {
	local i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == "$1" ]]; then
			# readline splits "--opt=value" at the "="
			if [[ ${COMP_WORDS[i + 1]} == = ]]; then
				printf '%s\n' "${COMP_WORDS[i + 2]}"
			else
				printf '%s\n' "${COMP_WORDS[i + 1]}"
			fi
			return 0
		elif [[ $w == "$1="* ]]; then
			printf '%s\n' "${w#*=}"
			return 0
		fi
	done
	return 1
}

_uacce_rundir() {
	_uacce_optval --runtime-dir || printf '%s\n' "${UACCE_RUNTIME_DIR:-/run/uacce}"
}

# device names whose api matches the glob $1 (default: all)
_uacce_devices() {
	local dir api d
	dir=$(_uacce_rundir)/class
	[[ -d $dir ]] || return 0
	for d in "$dir"/*; do
		[[ -d $d ]] || continue
		api=$(head -n 1 "$d/api" 2>/dev/null)
		# shellcheck disable=SC2053
		[[ -z ${1:-} || $api == $1 ]] && printf '%s\n' "${d##*/}"
	done
}

# the options in "$@ --help": every -x and --word that starts a word of it
_uacce_options() {
	"$@" --help 2>&1 | grep -oE -- '(^|[][ ,|])--?[A-Za-z0-9][A-Za-z0-9-]*' |
		sed -E 's/^[][ ,|]//' | sort -u
}

_uacce_reply() {	# WORDS...: those that start with $cur
	local IFS=$'\n'
	COMPREPLY=($(compgen -W "$*" -- "$cur"))
}

# file names (directories too, to walk into), those matching the glob $1 if given
_uacce_files() {
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	if [[ -n ${1:-} ]]; then
		COMPREPLY=($(compgen -f -X "!$1" -- "$cur") $(compgen -d -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_uacce_dirs() {
	local IFS=$'\n'
	compopt -o filenames 2>/dev/null
	COMPREPLY=($(compgen -d -- "$cur"))
}

# cur and prev, with "--opt=value" taken apart as readline split it
# ("--opt" "=" "value"; the cursor right after "=": cur is "=")
_uacce_words() {
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD - 1]:-}
	if [[ $cur == = ]]; then
		cur=
	elif [[ $prev == = ]]; then
		prev=${COMP_WORDS[COMP_CWORD - 2]:-}
	fi
}

# the value of the options common to every tool; 0 when prev was one of them
_uacce_common_value() {
	case $prev in
	--runtime-dir | --fuse-dir) _uacce_dirs ;;
	--config | -c | --corpus | --output | -o | --plot | --json-out) _uacce_files ;;
	*) return 1 ;;
	esac
	return 0
}

_uacced() {
	local cur prev
	_uacce_words
	_uacce_common_value && return 0
	case $prev in
	--frontend) _uacce_reply auto cuse fuse ;;
	--log-target) _uacce_reply auto console journal ;;
	*) _uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")" ;;
	esac
}

# the first word of a uaccectl command line that is no option nor an option's value
_uaccectl_command() {
	local i w
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--runtime-dir) ((i++)); [[ ${COMP_WORDS[i]} == = ]] && ((i++)) ;;
		-*) ;;
		*) printf '%s %d\n' "$w" "$i"; return 0 ;;
		esac
	done
	return 1
}

_uaccectl() {
	local cur prev cmd at words
	_uacce_words
	_uacce_common_value && return 0
	read -r cmd at < <(_uaccectl_command)
	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			_uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")"
		else
			_uacce_reply $_uacce_ctl_commands
		fi
		return 0
	fi
	case $cmd in
	check-config)
		# one FILE after it
		[[ $cur == -* ]] && { _uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")"; return 0; }
		((COMP_CWORD == at + 1)) && _uacce_files '*.json'
		;;
	cdi)
		case $prev in
		--vendor) COMPREPLY=() ;;
		*) _uacce_reply "$(_uacce_options "${COMP_WORDS[0]}" cdi)" ;;
		esac
		;;
	top)
		case $prev in
		-n | --iterations | -d | --delay) COMPREPLY=() ;;
		*) _uacce_reply "$(_uacce_options "${COMP_WORDS[0]}" top)" ;;
		esac
		;;
	*)
		# the other commands have their own options (uaccectl CMD --help), or the common ones
		words=$(_uacce_options "${COMP_WORDS[0]}" "$cmd")
		[[ $cur == -* ]] && _uacce_reply "$words"
		;;
	esac
}

_uacce_zip() {
	local cur prev i
	_uacce_words
	_uacce_common_value && return 0
	case $prev in
	--device) _uacce_reply "$(_uacce_devices 'uacce_zip*')"; return 0 ;;
	-b | --block | --depth) COMPREPLY=(); return 0 ;;
	esac
	if [[ $cur == -* ]]; then
		_uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")"
		return 0
	fi
	# decompressing or testing: the .gz files
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--decompress | --test) _uacce_files '*.gz'; return 0 ;;
		--*) ;;
		-*[dt]*) _uacce_files '*.gz'; return 0 ;;
		esac
	done
	_uacce_files
}

_uacce_bench() {
	local cur prev
	_uacce_words
	_uacce_common_value && return 0
	case $prev in
	--zip-device) _uacce_reply "$(_uacce_devices 'uacce_zip*')" ;;
	--hisi-device) _uacce_reply "$(_uacce_devices 'hisi*')" ;;
	--contention-device | --flood-device) _uacce_reply "$(_uacce_devices 'dummy*')" ;;
	--*-device | --device) _uacce_reply "$(_uacce_devices)" ;;
	--count | --idle-queues | --idle-seconds | --zip-seconds | --zip-rounds | \
		--contention-samples | --contention-seconds | --flood-size | --flood-copies)
		COMPREPLY=() ;;
	*) _uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")" ;;
	esac
}

_uacce_dummy() {
	local cur prev
	_uacce_words
	case $prev in
	-d | --device) _uacce_reply "$(_uacce_devices 'dummy*')" ;;
	-n | -s) COMPREPLY=() ;;
	*) _uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")" ;;
	esac
}

# uacce-run PROGRAM [ARGUMENT...]: a command, then that command's completion
_uacce_run() {
	local cur prev
	_uacce_words
	if ((COMP_CWORD == 1)); then
		if [[ $cur == -* ]]; then
			_uacce_reply "$(_uacce_options "${COMP_WORDS[0]}")"
		else
			_uacce_reply "$(compgen -c -- "$cur")"
		fi
	elif declare -F _command_offset >/dev/null; then
		_command_offset 1	# bash-completion's: complete the program's arguments
	else
		_uacce_files
	fi
}

complete -F _uacced uacced
complete -F _uaccectl uaccectl
complete -F _uacce_zip uacce-zip
complete -F _uacce_bench uacce-bench
complete -F _uacce_dummy uacce-dummy
complete -F _uacce_run uacce-run
