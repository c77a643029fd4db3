#!/bin/bash
# test/integ/run-cdi.sh BUILD_DIR - `uaccectl cdi` (issue 15): the Container
# Device Interface spec of a running daemon is valid JSON with one device
# per published node plus "all", the node paths (FUSE: the daemon's mount;
# CUSE, UACCE_FRONTEND=cuse: the character devices with their mode and
# group), the runtime directory's mount and UACCE_RUNTIME_DIR; written
# atomically; regenerated after a reload changes the devices; refused with
# a clear message when no daemon runs.  Needs jq.
# Last line: "cdi: N passed, M failed"; exit status M.
set -u
IT_NAME=${IT_NAME:-cdi}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/integ/lib.sh
. "$here/lib.sh"
it_begin "${1:-}"
command -v jq >/dev/null || fatal "jq is needed (scripts/deps.sh test)"
it_users_or_fatal
it_copy_prog "$build" uaccectl uaccectl || fatal "copy uaccectl"
CTL=$IT_TMP/bin/uaccectl
chmod a+rx "$CTL"
it_write_config
it_daemon_start || { it_indent "$IT_DLOG" | tail -20; fatal "daemon did not start"; }
it_ok "daemon up ($IT_FRONTEND)"

SPEC=$IT_TMP/cdi/uacce.json
RT=$(realpath "$IT_RT")
ND=$(realpath "$IT_NODE_DIR")

# the class entries (nodes) in the order of their CDI names: without
# "uacce-", in version order (dummy-0 ... dummy-5, zip-6, zip-7)
nodes() {
	local d
	for d in "$IT_RT"/class/*; do d=${d##*/}; echo "${d#uacce-} $d"; done | sort -V | cut -d' ' -f2
}
want_names() {
	local d
	for d in $(nodes); do echo "${d#uacce-}"; done
	echo all
}

# check_spec FILE LABEL: the whole spec against the running daemon's devices
check_spec() {
	local f=$1 l=$2 d n got want
	if ! jq -e . "$f" >/dev/null 2>&1; then
		it_bad "$l: not valid JSON"; it_indent "$f" | head -20; return
	fi
	got=$(jq -r '"\(.cdiVersion) \(.kind)"' "$f")
	[ "$got" = "0.5.0 uacced.io/uacce" ] && it_ok "$l: cdiVersion and kind: $got" ||
		it_bad "$l: cdiVersion and kind: \"$got\""
	got=$(jq -r '.devices[].name' "$f" | tr '\n' ' ')
	want=$(want_names | tr '\n' ' ')
	[ "$got" = "$want" ] && it_ok "$l: devices $got" || it_bad "$l: devices \"$got\", want \"$want\""
	got=$(jq -c '.containerEdits.mounts' "$f")
	want="[{\"hostPath\":\"$RT\",\"containerPath\":\"$RT\",\"options\":[\"bind\",\"ro\",\"nosuid\",\"nodev\",\"noexec\"]}]"
	[ "$got" = "$want" ] && it_ok "$l: the runtime directory, read-only, at its own path" ||
		it_bad "$l: top-level mounts $got, want $want"
	got=$(jq -c '.containerEdits.env' "$f")
	[ "$got" = "[\"UACCE_RUNTIME_DIR=$RT\"]" ] && it_ok "$l: env $got" || it_bad "$l: env $got"
	# each device's edits: the node (CUSE) or the FUSE mount that holds it
	for d in $(nodes); do
		n=${d#uacce-}
		if [ "$IT_FRONTEND" = cuse ]; then
			got=$(jq -c --arg n "$n" '.devices[] | select(.name == $n) | .containerEdits' "$f")
			want="{\"deviceNodes\":[{\"path\":\"$ND/$d\",\"fileMode\":432,\"uid\":0,\"gid\":$IT_GID}]}"
		else
			got=$(jq -c --arg n "$n" '.devices[] | select(.name == $n) | .containerEdits' "$f")
			want="{\"mounts\":[{\"hostPath\":\"$ND\",\"containerPath\":\"$ND\",\"options\":[\"bind\",\"nosuid\",\"noexec\"]}]}"
		fi
		[ "$got" = "$want" ] || { it_bad "$l: device $n: $got, want $want"; return; }
	done
	it_ok "$l: every device's edits name its node ($IT_FRONTEND: $([ "$IT_FRONTEND" = cuse ] && echo "the character device, mode 0660, group $IT_GROUP" || echo "the FUSE mount $ND"))"
	if [ "$IT_FRONTEND" = cuse ]; then
		got=$(jq -r '.devices[] | select(.name == "all") | .containerEdits.deviceNodes[].path' "$f" | tr '\n' ' ')
		want=$(for d in $(nodes); do echo "$ND/$d"; done | tr '\n' ' ')
	else
		got=$(jq -r '.devices[] | select(.name == "all") | .containerEdits.mounts[].hostPath' "$f" | tr '\n' ' ')
		want="$ND "
	fi
	[ "$got" = "$want" ] && it_ok "$l: \"all\": $got" || it_bad "$l: \"all\": \"$got\", want \"$want\""
}

# --- 1. the spec of the running daemon ---------------------------------------------------
if "$CTL" cdi --output "$SPEC" >"$IT_TMP/cdi.out" 2>&1; then
	it_ok "uaccectl cdi --output $SPEC: $(head -n 1 "$IT_TMP/cdi.out")"
else
	it_bad "uaccectl cdi --output $SPEC failed"; it_indent "$IT_TMP/cdi.out"
fi
check_spec "$SPEC" "spec"
got=$(stat -c %a "$SPEC" 2>&1)
[ "$got" = 644 ] && it_ok "the spec's mode is 0644" || it_bad "the spec's mode: $got"
got=$(ls -A "$IT_TMP/cdi" | tr '\n' ' ')
[ "$got" = "uacce.json " ] && it_ok "no temporary file left beside it" || it_bad "$IT_TMP/cdi holds: $got"
# standard output: the same spec
if "$CTL" cdi -o - >"$IT_TMP/stdout.json" 2>"$IT_TMP/cdi.err" && cmp -s "$IT_TMP/stdout.json" "$SPEC"; then
	it_ok "cdi -o -: the same spec on standard output"
else
	it_bad "cdi -o - differs from the file"; it_indent "$IT_TMP/cdi.err"
fi
# --json: what was written
got=$("$CTL" cdi --json -o "$SPEC" | jq -r '"\(.ok) \(.output) \(.kind) \([.devices[].node] | join(","))"')
want="true $SPEC uacced.io/uacce $(for d in $(nodes); do printf '%s,' "$ND/$d"; done | sed 's/,$//')"
[ "$got" = "$want" ] && it_ok "cdi --json: $got" || it_bad "cdi --json: \"$got\", want \"$want\""
# no control socket needed: a member of the device group, not of any admin group
if it_as "$IT_USER1" "$CTL" cdi -o - >"$IT_TMP/user.json" 2>"$IT_TMP/cdi.err" && cmp -s "$IT_TMP/user.json" "$SPEC"; then
	it_ok "$IT_USER1 (no admin) gets the same spec: it is built from what clients read"
else
	it_bad "$IT_USER1: cdi -o - failed or differs"; it_indent "$IT_TMP/cdi.err"
fi
# another vendor
got=$("$CTL" cdi --vendor example.com -o - | jq -r .kind)
[ "$got" = example.com/uacce ] && it_ok "--vendor example.com: kind $got" || it_bad "--vendor: kind \"$got\""
it_cmd_fails "--vendor with a bad name is refused" 10 root "$CTL" cdi --vendor 9-bad/x -o -
"$CTL" cdi -o - extra >/dev/null 2>&1
got=$?
[ $got = 2 ] && it_ok "an extra argument: usage error (exit 2)" || it_bad "an extra argument: exit $got"

# --- 2. the devices change: the spec follows ----------------------------------------------
ino=$(stat -c %i "$SPEC")
cat >"$IT_CFG" <<EOF
{"nodes":{"group":"$IT_GROUP","mode":"0660"},
 "devices":[{"name":"dummy","backend":"soft","api":"dummy_v1","sva":false,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":true,"queues":$IT_QUEUES},
            {"name":"dummy","backend":"soft","api":"dummy_v2","sva":false,"queues":$IT_QUEUES},
            {"name":"zip","backend":"soft","api":"uacce_zip_v1","sva":true,"queues":$IT_QUEUES,"abi":"mainline","workers":1}]}
EOF
if "$CTL" reload >"$IT_TMP/reload.out" 2>&1 && it_wait 10000 test ! -e "$IT_RT/class/zip-7"; then
	it_ok "reload without dummy-3..5 and zip-7: $(head -n 1 "$IT_TMP/reload.out")"
else
	it_bad "reload failed or zip-7 stayed"; it_indent "$IT_TMP/reload.out"
fi
"$CTL" cdi -o "$SPEC" >"$IT_TMP/cdi.out" 2>&1 || { it_bad "cdi after the reload"; it_indent "$IT_TMP/cdi.out"; }
check_spec "$SPEC" "after the reload"
got=$(jq -r '.devices[].name' "$SPEC" | tr '\n' ' ')
[ "$got" = "dummy-0 dummy-1 dummy-2 zip-6 all " ] && it_ok "after the reload: $got" ||
	it_bad "after the reload: devices \"$got\""
[ "$(stat -c %i "$SPEC")" != "$ino" ] && it_ok "the spec was replaced by rename (new inode), not rewritten in place" ||
	it_bad "the spec kept its inode: written in place"

# --- 3. no daemon ----------------------------------------------------------------------------
cp "$SPEC" "$IT_TMP/before.json"
it_daemon_kill TERM 10000
"$CTL" cdi -o "$SPEC" >"$IT_TMP/cdi.out" 2>&1
got=$?
if [ $got = 1 ] && grep -q "no uacced is running with the runtime directory" "$IT_TMP/cdi.out"; then
	it_ok "no daemon: exit 1, \"$(head -n 1 "$IT_TMP/cdi.out")\""
else
	it_bad "no daemon: exit $got"; it_indent "$IT_TMP/cdi.out"
fi
cmp -s "$SPEC" "$IT_TMP/before.json" && it_ok "no daemon: the previous spec is left as it was" ||
	it_bad "no daemon: the previous spec was changed"
it_summary
exit $?
