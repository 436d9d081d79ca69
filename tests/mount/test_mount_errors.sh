#!/usr/bin/env bash
# test_mount_errors.sh - the daemon refuses to start, with exit status 1,
# exactly one line on stderr and no mount left, for: an unknown -o option
# (with and without -f), a bad -o spin, a mount point that does not exist, one that is a
# regular file, and one where ipcfs is already mounted (which keeps
# working). No mount point at all is an error too. -h lists ipcfs's own
# options (spin=, control...) and not libfuse's thread options, which the
# one event loop ignores; -V names the libfuse (and libzmq) versions.
. "$(dirname "$0")/lib.sh"

need_fuse

# refuse WHAT ARGS...: run the daemon, expect status 1 and one stderr line
refuse() {
	local what=$1 rc lines
	shift
	timeout -k 2 10 "$IPCFS" "$@" >"$SCRATCH/out" 2>"$SCRATCH/err"
	rc=$?
	lines=$(wc -l <"$SCRATCH/err")
	if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ]; then
		pass "$what: status 1: $(cat "$SCRATCH/err")"
	else
		fail "$what: status $rc (want 1), $lines stderr lines (want 1):"
		sed 's/^/    /' "$SCRATCH/err" | head -10 >&2
	fi
	sanitizer_check "$SCRATCH/err"
}

# -h and -V: status 0, on stdout
help=$(timeout -k 2 10 "$IPCFS" -h 2>"$SCRATCH/err")
expect "-h: status" "$?" 0
for w in clone_fd max_threads max_idle_threads multi-threaded; do
	case $help in *"$w"*) fail "-h mentions libfuse's $w" ;; esac
done
echo "$help" | grep -qE '^ +-s ' && fail "-h lists libfuse's -s"
for w in spin= control bind= allow_other auto_unmount; do
	case $help in
	*"$w"*) pass "-h mentions $w" ;;
	*) fail "-h does not mention $w" ;;
	esac
done
ver=$(timeout -k 2 10 "$IPCFS" -V 2>"$SCRATCH/err")
expect "-V: status" "$?" 0
echo "$ver" | grep -qE '^ipcfs [0-9]+\.[0-9]+' && pass "-V: ipcfs version" ||
	fail "-V: no ipcfs version line: $ver"
echo "$ver" | grep -qE '^libfuse [0-9]+\.[0-9]+' && pass "-V: libfuse version" ||
	fail "-V: no libfuse version line: $ver"
case $help in
*zmq*) echo "$ver" | grep -qE '^libzmq [0-9]+\.[0-9]+' &&
	pass "-V: libzmq version" || fail "-V: no libzmq version line: $ver" ;;
esac
sanitizer_check "$SCRATCH/err"

dir=$(mktemp -d "$SCRATCH/mnt.XXXXXX")
MOUNTS+=("$dir")	# cleanup unmounts it should a refusal mount anyway
refuse "unknown option, -f" -f -o no_such_option "$dir"
mounted "$dir" && fail "unknown option left a mount on $dir"
refuse "unknown option" -o no_such_option "$dir"
mounted "$dir" && fail "unknown option (no -f) left a mount on $dir"
refuse "unknown option among known ones" -f -o ro,no_such_option,noatime "$dir"
for spin in abc 20000 '' -1 ' 5'; do
	refuse "-o spin='$spin'" -f -o "spin=$spin" "$dir"
	grep -q "bad spin" "$SCRATCH/err" ||
		fail "-o spin='$spin': the message does not name spin"
done
mounted "$dir" && fail "a bad spin left a mount on $dir"
refuse "missing mount point" -f "$SCRATCH/does/not/exist"
touch "$SCRATCH/plain"
refuse "regular file as mount point" -f "$SCRATCH/plain"
mounted "$SCRATCH/plain" && fail "a mount was left on a regular file"

timeout -k 2 10 "$IPCFS" -f >/dev/null 2>&1
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && pass "no mount point: status $rc" ||
	fail "no mount point: status $rc"

mount_ipcfs
refuse "already mounted, -f" -f "$MNT"
refuse "already mounted" "$MNT"
n=$(awk -v m="$MNT" '$5 == m' /proc/self/mountinfo | wc -l)
expect "mounts on $MNT" "$n" 1
timeout -k 1 5 sh -c "echo still > $MNT/pipe"
expect "the first mount still works" "$(timeout -k 1 5 cat "$MNT/pipe")" still
unmount_ipcfs
mounted "$MNT" && fail "$MNT still mounted"

# the good forms: no spin at all, and ours and FUSE's before a "--"
# (a normal user's fusermount3 takes allow_other only with user_allow_other)
fuse_opt=allow_other
[ "$(id -u)" -eq 0 ] || grep -qs '^[[:space:]]*user_allow_other' /etc/fuse.conf ||
	fuse_opt=noatime
mount_ipcfs -o "spin=0,$fuse_opt" --
timeout -k 1 5 sh -c "echo nospin > $MNT/pipe"
expect "-o spin=0,$fuse_opt -- MOUNTPOINT works" \
	"$(timeout -k 1 5 cat "$MNT/pipe")" nospin
unmount_ipcfs

finish
