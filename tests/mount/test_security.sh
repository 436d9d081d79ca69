#!/usr/bin/env bash
# test_security.sh - who may do what, run as root with an unprivileged user
# made for the test (removed on any exit):
#  - with -o allow_other, default_permissions is on and modes are honoured:
#    transport files are 0600 and the mounting user's, so the other user
#    gets EACCES opening one for reading or writing; after chmod 0666 it
#    writes what root reads and reads what root writes; a dir made with
#    mkdir -m 0700 cannot be listed or entered; stats (0444) is readable
#    and shows counters and object names, never payload; chmod and chown
#    by a non-owner fail with EPERM; a sticky 1777 root lets the user make
#    its own dir (its files the user's) but not remove root's;
#  - without allow_other, the other user cannot even stat the mount;
#  - the runtime dir is 0700 and every named object of the daemon in it,
#    /dev/shm and the mqueue file system is 0600;
#  - tcp, udp and zmq listen on 127.0.0.1, or on ADDR with -o bind=ADDR
#    (and still carry data); -o bind=bogus and an address that is not this
#    host's fail with one line naming it, status 1, nothing mounted;
#  - mkdir names: "..", overlong (65 bytes), bad characters fail with
#    EEXIST, ENAMETOOLONG, EINVAL, and nothing appears in the tree or in
#    the runtime dir; object names never contain a directory's name.
. "$(dirname "$0")/lib.sh"

need_fuse
if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root (to make a test user and use allow_other)"
	exit 77
fi
for c in useradd userdel runuser; do
	command -v "$c" >/dev/null ||
		{ echo "SKIP: $c is not installed"; exit 77; }
done
client fo_built fsops
mqueue_init

# the test user: made here, removed on every exit before lib.sh's cleanup
U=ipcfs-t$$
USER_MADE=
sec_cleanup() {
	local rc=$?

	if [ -n "$USER_MADE" ]; then
		# -f: a runuser killed mid-way must not keep the user alive
		userdel -f "$U" 2>/dev/null ||
			say "could not remove test user $U" >&2
	fi
	(exit "$rc")
	cleanup
}
trap sec_cleanup EXIT
# useradd takes a lock on /etc/passwd: retry if a parallel test holds it
for try in 1 2 3 4 5; do
	if useradd -M -r -s /usr/sbin/nologin "$U" 2>"$SCRATCH/useradd.err"; then
		USER_MADE=1
		break
	fi
	sleep 1
done
[ -n "$USER_MADE" ] || die "useradd $U: $(cat "$SCRATCH/useradd.err")"
pass "made test user $U (uid $(id -u "$U"))"

# the user must reach the mount points and the client
chmod 0711 "$SCRATCH"
mkdir "$SCRATCH/bin" && cp "$fo_built" "$SCRATCH/bin/fsops" &&
	chmod 0755 "$SCRATCH/bin" "$SCRATCH/bin/fsops" || die "copy fsops"
fo=$SCRATCH/bin/fsops

# as_user CMD...: run CMD as the test user, stderr to stdout
as_user() { timeout -k 1 10 runuser -u "$U" -- "$@" 2>&1; }
# ufo OP ARGS...: fsops as the test user (OK, an errno, or open:ERRNO)
ufo() { timeout -k 1 10 runuser -u "$U" -- "$fo" "$@" 2>&1; }
# mode_of PATH: octal permission bits and owner name
mode_of() { timeout -k 1 5 stat -c '%a %U' "$1"; }
# mount_opts DIR: the options of the mount on DIR, from /proc/self/mounts
mount_opts() { awk -v m="$1" '$2 == m { print $4 }' /proc/self/mounts; }
has_opt() { case ",$(mount_opts "$1")," in *",$2,"*) return 0 ;; esac; return 1; }

# ---- -o allow_other ---------------------------------------------------
mount_ipcfs -o allow_other
M=$MNT pid=$DAEMON_PID
has_opt "$M" allow_other && has_opt "$M" default_permissions &&
	pass "allow_other mounts with default_permissions" ||
	fail "allow_other: mount options are '$(mount_opts "$M")'"

expect "pipe: mode and owner" "$(mode_of "$M/pipe")" "600 root"
expect "stats: mode and owner" "$(mode_of "$M/stats")" "444 root"
expect "root dir: mode and owner" "$(mode_of "$M")" "755 root"
expect "user can list the root" "$(as_user ls "$M" >/dev/null && echo OK)" OK
for t in pipe fifo tcp mqueue shm; do
	expect "$t 0600 root's: user opens for reading" \
		"$(ufo pread "$M/$t")" open:EACCES
	expect "$t 0600 root's: user opens for writing" \
		"$(ufo write "$M/$t" x)" open:EACCES
done

chmod 0666 "$M/pipe" || fail "chmod 0666 pipe as root"
expect "pipe after chmod 0666" "$(mode_of "$M/pipe")" "666 root"
as_user sh -c "echo from-user > $M/pipe" ||
	fail "user could not write pipe after chmod 0666"
expect "root reads what the user wrote" "$(timeout -k 1 5 cat "$M/pipe")" \
	from-user
timeout -k 1 5 sh -c "echo from-root > $M/pipe"
expect "user reads what root wrote" "$(as_user cat "$M/pipe")" from-root
chmod 0644 "$M/pipe"
expect "pipe 0644: user reads" "$(ufo pread "$M/pipe")" ESPIPE
expect "pipe 0644: user cannot write" "$(ufo write "$M/pipe" x)" open:EACCES

expect "user chmod of root's pipe" "$(ufo chmod "$M/pipe" 666)" EPERM
expect "pipe mode unchanged" "$(mode_of "$M/pipe")" "644 root"
expect "user chown of root's pipe" \
	"$(as_user chown "$U" "$M/pipe" >/dev/null 2>&1 && echo OK || echo refused)" \
	refused
chown "$U" "$M/fifo" || fail "chown fifo to $U as root"
expect "fifo given to the user" "$(mode_of "$M/fifo")" "600 $U"
as_user sh -c "echo mine > $M/fifo" || fail "owner $U could not write fifo"
expect "the user, owner now, reads fifo" "$(as_user cat "$M/fifo")" mine

# a private directory
mkdir -m 0700 "$M/priv" || fail "mkdir -m 0700 priv as root"
expect "priv: mode and owner" "$(mode_of "$M/priv")" "700 root"
r=$(as_user ls "$M/priv")
case $r in *"Permission denied"*) pass "user cannot list priv" ;;
*) fail "user lists priv: '$r'" ;; esac
expect "user cannot enter priv" "$(ufo pread "$M/priv/stats")" open:EACCES
expect "user cannot mkdir in the 0755 root" "$(ufo mkdir "$M/u")" EACCES

# stats: readable, no payload
marker=payload-$$-secret
timeout -k 1 5 sh -c "echo $marker > $M/mqueue; echo $marker > $M/shm"
st=$(as_user cat "$M/stats")
case $st in
*name=pipe*) pass "user reads stats (0444)" ;;
*) fail "user cannot read stats: '${st:0:200}'" ;;
esac
case $st in
*"$marker"*) fail "stats shows payload bytes" ;;
*) pass "stats holds no payload" ;;
esac
chmod 0400 "$M/stats"
expect "stats 0400: user cannot read it" "$(ufo pread "$M/stats")" open:EACCES
chmod 0444 "$M/stats"

# a sticky, world-writable root: the user's own directory
chmod 1777 "$M" || fail "chmod 1777 on the mount root"
expect "root dir 1777" "$(mode_of "$M")" "1777 root"
expect "user mkdir mine" "$(as_user sh -c "umask 022; mkdir $M/mine" && echo OK)" OK
expect "mine: mode and owner" "$(mode_of "$M/mine")" "755 $U"
expect "mine/pipe: the user's" "$(mode_of "$M/mine/pipe")" "600 $U"
as_user sh -c "echo own > $M/mine/pipe" || fail "user cannot write mine/pipe"
expect "user reads mine/pipe" "$(as_user cat "$M/mine/pipe")" own
expect "user cannot rmdir root's priv (sticky)" "$(ufo rmdir "$M/priv")" EPERM
expect "user rmdir mine" "$(ufo rmdir "$M/mine")" OK

# ---- the runtime dir and the objects -----------------------------------
rundir=$(rundir_of "$M")
expect "runtime dir $rundir" "$(mode_of "$rundir")" "700 root"
timeout -k 1 5 cat "$M/stats" >/dev/null	# every channel made
timeout -k 1 5 cat "$M/priv/stats" >/dev/null
n=0
for o in $(objects_of "$M") $(objects_of "$M/priv") $(leftovers "$pid" "$rundir"); do
	n=$((n + 1))
	case $o in
	sysv*:*)
		m=$(sysv_mode "$o")
		[ "$m" = 600 ] || fail "object $o has mode '$m', want 600"
		continue ;;
	"$rundir"/ipcfs."$pid".* | /dev/shm/ipcfs."$pid".* | \
	"${MQUEUE_DIR:-/nonexistent}"/ipcfs."$pid".*) ;;
	*) fail "object $o is outside the runtime dir, /dev/shm, mqueue" ;;
	esac
	m=$(stat -c %a "$o" 2>/dev/null) || { fail "object $o missing"; continue; }
	[ "$m" = 600 ] || fail "object $o has mode $m, want 600"
done
[ "$n" -ge 8 ] && pass "$n object paths checked: all 0600, all in place" ||
	fail "only $n object paths found"
for t in tcp udp; do
	case $(stat_of "$M" $t object) in
	127.0.0.1:[0-9]*) pass "$t listens on 127.0.0.1 by default" ;;
	*) fail "$t object '$(stat_of "$M" $t object)', want 127.0.0.1:PORT" ;;
	esac
done
if [ -f "$M/zmq" ]; then
	# no port by default: a socket in the 0700 runtime dir, 0600
	o=$(stat_of "$M" zmq object)
	case $o in
	ipc://"$rundir"/ipcfs."$pid".*)
		m=$(stat -c %a "${o#ipc://}")
		[ "$m" = 600 ] && pass "zmq is ipc:// in the runtime dir by default" ||
			fail "zmq socket $o has mode $m" ;;
	*) fail "zmq object '$o', want ipc://$rundir/..." ;;
	esac
fi

# ---- mkdir names -------------------------------------------------------
before=$(cd "$M" && ls -a | tr '\n' ' ')
objs_before=$(ls "$rundir" | grep -c "^ipcfs\.$pid\.")
long=$(printf 'a%.0s' $(seq 65))
expect "mkdir 64-byte name" "$("$fo" mkdir "$M/${long:1}")" OK
expect "rmdir it" "$("$fo" rmdir "$M/${long:1}")" OK
expect "mkdir 65-byte name" "$("$fo" mkdir "$M/$long")" ENAMETOOLONG
expect "mkdir .." "$("$fo" mkdir "$M/..")" EEXIST
expect "mkdir priv/x (one level only)" "$("$fo" mkdir "$M/priv/x")" EPERM
for bad in 'a b' 'a:b' 'a*' '~x' 'x$y' "$(printf 'new\nline')" \
	   "$(printf '\xc3\xa9t\xc3\xa9')" "$(printf 'x\x01')" '..\x'; do
	r=$("$fo" mkdir "$M/$bad")
	[ "$r" = EINVAL ] && pass "mkdir '$bad' -> EINVAL" ||
		fail "mkdir '$bad': got '$r', want EINVAL"
done
expect "the root lists as before" "$(cd "$M" && ls -a | tr '\n' ' ')" "$before"
expect "nothing new in the runtime dir" \
	"$(ls "$rundir" | grep -c "^ipcfs\.$pid\.")" "$objs_before"
"$fo" mkdir "$M/odd.name-x_1" >/dev/null
timeout -k 1 5 cat "$M/odd.name-x_1/stats" >/dev/null
case $(timeout -k 1 5 cat "$M/odd.name-x_1/stats" | tr ' ' '\n' |
       sed -n 's/^object=//p') in
*odd.name*) fail "an object name holds the directory's name" ;;
*) pass "object names never hold a directory's name" ;;
esac

check_alive
unmount_ipcfs "$M"

# ---- no allow_other, -o bind=127.0.0.2 (zmq on tcp:// with outsiders) -
mount_ipcfs -o bind=127.0.0.2,outsiders
M=$MNT
has_opt "$M" default_permissions &&
	fail "default_permissions without allow_other" ||
	pass "no allow_other: no default_permissions"
r=$(as_user stat "$M")
case $r in *"Permission denied"*) pass "user cannot stat the mount" ;;
*) fail "user stats the mount without allow_other: '$r'" ;; esac
expect "user cannot open a file" "$(ufo pread "$M/stats")" open:EACCES
for t in tcp udp; do
	case $(stat_of "$M" $t object) in
	127.0.0.2:[0-9]*) pass "$t listens on 127.0.0.2 with -o bind" ;;
	*) fail "$t object '$(stat_of "$M" $t object)', want 127.0.0.2:PORT" ;;
	esac
	timeout -k 1 5 sh -c "echo via-bind > $M/$t"
	expect "$t carries data on 127.0.0.2" "$(timeout -k 1 5 cat "$M/$t")" \
		via-bind
done
if [ -f "$M/zmq" ]; then
	case $(stat_of "$M" zmq object) in
	tcp://127.0.0.2:[0-9]*) pass "zmq listens on 127.0.0.2 with -o bind" ;;
	*) fail "zmq object '$(stat_of "$M" zmq object)'" ;;
	esac
	timeout -k 1 5 sh -c "echo via-bind > $M/zmq"
	expect "zmq carries data on 127.0.0.2" "$(timeout -k 1 5 cat "$M/zmq")" \
		via-bind
fi
check_alive
unmount_ipcfs "$M"

# ---- bad -o bind ------------------------------------------------------
dir=$(mktemp -d "$SCRATCH/mnt.XXXXXX")
MOUNTS+=("$dir")
# refuse_bind ADDR WANT_LINE
refuse_bind() {
	timeout -k 2 10 "$IPCFS" -f -o "bind=$1" "$dir" 2>"$SCRATCH/err"
	expect "-o bind=$1: status" "$?" 1
	expect "-o bind=$1: message" "$(cat "$SCRATCH/err")" "$2"
	mounted "$dir" && fail "-o bind=$1 left a mount"
	sanitizer_check "$SCRATCH/err"
}
refuse_bind bogus "ipcfs: bad bind address 'bogus'"
refuse_bind 127.1 "ipcfs: bad bind address '127.1'"
refuse_bind 192.0.2.1 \
	"ipcfs: bind address '192.0.2.1': Cannot assign requested address"

finish
