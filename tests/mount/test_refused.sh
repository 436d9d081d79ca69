#!/usr/bin/env bash
# test_refused.sh - what ipcfs refuses, with the errno (clients/fsops.c):
# creating a file (open O_CREAT, mknod, symlink, link), unlink, rename,
# truncate to a non-zero size, and opening stats for writing each fail
# with EPERM, EINVAL or EACCES (chmod and chown work: test_security.sh);
# truncate to 0 and the shell's `>` are accepted and keep queued data; the
# daemon survives it all and the tree is unchanged.
. "$(dirname "$0")/lib.sh"

need_fuse
client fo fsops
mount_ipcfs -o control	# plainmem too, as the bench mounts
M=$MNT
before=$(cd "$M" && ls -l | awk '{print $1, $NF}')
"$fo" mkdir "$M/d" >/dev/null

# refused OP ARGS...: fsops must answer EPERM, EINVAL or EACCES
refused() {
	local r
	r=$(timeout -k 1 10 "$fo" "$@")
	case $r in
	EPERM | EINVAL | EACCES | open:EPERM | open:EINVAL | open:EACCES)
		pass "$* -> $r" ;;
	*) fail "$*: got '$r', want EPERM, EINVAL or EACCES" ;;
	esac
}

for d in "$M" "$M/d"; do
	refused create "$d/newfile"
	refused mknod "$d/newfifo"
	refused symlink pipe "$d/newlink"
	refused link "$d/pipe" "$d/newhard"
	refused unlink "$d/pipe"
	refused unlink "$d/stats"
	refused rename "$d/pipe" "$d/renamed"
	refused rename "$d/pipe" "$d/fifo"
	refused rename "$d/stats" "$d/renamed"
	refused truncate "$d/pipe" 10
	refused ftruncate "$d/tcp" 1
	refused write "$d/stats" hello
done
refused rename "$M/d" "$M/e"
expect "create under stats" "$("$fo" create "$M/stats/x")" ENOTDIR

# truncate to 0 is accepted and drops nothing
timeout -k 1 5 sh -c "echo kept > $M/pipe"
expect "truncate pipe 0" "$("$fo" truncate "$M/pipe" 0)" OK
timeout -k 1 5 sh -c ": > $M/mqueue" && pass "': > mqueue' accepted" ||
	fail "': > mqueue' refused"
expect "data survives truncate to 0" "$(timeout -k 1 5 cat "$M/pipe")" kept

check_alive
expect "rmdir d" "$("$fo" rmdir "$M/d")" OK
expect "the tree is unchanged" "$(cd "$M" && ls -l | awk '{print $1, $NF}')" "$before"
for t in $(transports_in "$M"); do
	timeout -k 1 5 sh -c "echo ok > $M/$t"
	[ "$(timeout -k 1 5 cat "$M/$t")" = ok ] || fail "$t stopped working"
done
pass "every transport still works"

unmount_ipcfs
finish
