#!/usr/bin/env bash
# test_install.sh - `meson install --destdir` of this build, and what it
# installed, run from there:
#  - every file meson says it installs is there (the binaries, the mount
#    helper, the plot script and its link, man pages, completions);
#  - the installed ipcfs mounts and carries a line; the installed bench
#    runs one row on both roads with the installed ipcfs and nullfs (not
#    the build tree's); ipcfs-bench-plot draws; `man -l` shows each page;
#    the completions load;
#  - mount(8) as people type it: `mount -t ipcfs` (through mount.ipcfs,
#    with -o, -n, -v; -f mounts nothing), fstab lines of type ipcfs and
#    fuse.ipcfs with `mount DIR` and `mount ipcfs`, a `user` line mounted
#    and unmounted by a normal user (nobody), and `mount ipcfs DIR`
#    refused as the man page says.
# The mount(8) part runs in a private mount namespace (unshare -m) where
# the destdir's files are laid over the real prefix and helper dir with
# overlayfs, and a file of our own is bound on /etc/fstab: nothing changes
# outside this test. Without unshare or overlayfs that part is skipped.
#
# Environment (meson sets it): IPCFS_BUILD, the build directory;
# IPCFS_SOURCE, the source tree.
if [ -z "${IPCFS_IN_NS:-}" ] && [ "$(id -u)" -eq 0 ] &&
   unshare -m --propagation private true 2>/dev/null; then
	exec unshare -m --propagation private env IPCFS_IN_NS=1 "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

need_fuse
[ -d "${IPCFS_BUILD:-}" ] || die "IPCFS_BUILD is not the build directory"
command -v python3 >/dev/null || { echo "SKIP: no python3 (meson's)"; exit 77; }
mqueue_init

# opt NAME: the build option NAME, as meson configured it
opt() {
	meson introspect --buildoptions "$IPCFS_BUILD" |
		python3 -c "import json, sys
print(next(o['value'] for o in json.load(sys.stdin) if o['name'] == '$1'))"
}
# under PREFIX DIR: DIR below PREFIX unless absolute
under() { case $2 in /*) echo "$2" ;; *) echo "$1/$2" ;; esac; }

DEST=$SCRATCH/dest
PREFIX=$(opt prefix)
BIN=$(under "$PREFIX" "$(opt bindir)")
MAN=$(under "$PREFIX" "$(opt mandir)")
DATA=$(under "$PREFIX" "$(opt datadir)")
LIBEXEC=$(under "$PREFIX" "$(opt libexecdir)")
HELPER=$(sed -n 's/.*"\([^"]*\/mount\.ipcfs\)".*/\1/p' \
	<<<"$(meson introspect --installed "$IPCFS_BUILD")")

if meson install -C "$IPCFS_BUILD" --destdir "$DEST" --no-rebuild --quiet \
	>"$SCRATCH/install.log" 2>&1; then
	pass "meson install --destdir"
else
	sed 's/^/    /' "$SCRATCH/install.log" | tail -20 >&2
	die "meson install --destdir failed"
fi

# --- what is installed -------------------------------------------------
while read -r f; do
	[ -e "$DEST$f" ] || fail "meson installs $f, but $DEST$f is missing"
done < <(meson introspect --installed "$IPCFS_BUILD" |
	 python3 -c 'import json, sys; print("\n".join(json.load(sys.stdin).values()))')
for f in "$BIN/ipcfs" "$BIN/ipcfs-bench" "$BIN/ipcfs-bench-plot" \
	 "$LIBEXEC/ipcfs/nullfs" "$HELPER"; do
	[ -x "$DEST$f" ] && pass "installed: $f" || fail "not installed: $f"
done
for f in "$MAN/man8/ipcfs.8" "$MAN/man8/mount.ipcfs.8" "$MAN/man1/ipcfs-bench.1" \
	 "$MAN/man1/ipcfs-bench-plot.1" \
	 "$DATA/bash-completion/completions/ipcfs" \
	 "$DATA/bash-completion/completions/ipcfs-bench" \
	 "$DATA/bash-completion/completions/ipcfs-bench-plot"; do
	[ -r "$DEST$f" ] && pass "installed: $f" || fail "not installed: $f"
done
[ "$(basename "$HELPER")" = mount.ipcfs ] || fail "no mount.ipcfs among meson's installs"
# nothing of the build tree in what was installed
grep -rqs "$IPCFS_BUILD/fs/ipcfs" "$DEST$HELPER" "$DEST$DATA/ipcfs" &&
	fail "an installed script names the build tree"

# --- the installed programs --------------------------------------------
B=$DEST$BIN
expect "ipcfs --version" "$("$B/ipcfs" --version | head -n 1)" \
	"ipcfs $("$IPCFS" --version | sed -n '1s/^ipcfs //p')"
IPCFS=$B/ipcfs mount_ipcfs
timeout -k 1 5 sh -c "echo installed > $MNT/pipe"
expect "a line through the installed ipcfs" "$(timeout -k 1 5 cat "$MNT/pipe")" installed
unmount_ipcfs

# one row, both roads, with the daemons it finds itself
if env -u IPCFS -u NULLFS timeout -k 5 60 "$B/ipcfs-bench" -t pipe -s 100 -c 200 -w 10 \
	>"$SCRATCH/bench.out" 2>&1; then
	pass "ipcfs-bench -t pipe: status 0"
else
	fail "ipcfs-bench -t pipe failed:"
	sed 's/^/    /' "$SCRATCH/bench.out" | tail -20 >&2
fi
grep -q "mounted for this run ($B/ipcfs," "$SCRATCH/bench.out" &&
	pass "the bench mounted the installed ipcfs" ||
	fail "the bench did not mount $B/ipcfs: $(grep 'mount =' "$SCRATCH/bench.out")"
grep -q "(nullfs $B/.*nullfs mounted at" "$SCRATCH/bench.out" &&
	[ "$(readlink -f "$(sed -n 's/.*(nullfs \(.*\) mounted at.*/\1/p' \
		"$SCRATCH/bench.out")")" = "$DEST$LIBEXEC/ipcfs/nullfs" ] &&
	pass "the bench mounted the installed nullfs" ||
	fail "the floor: $(grep '(nullfs' "$SCRATCH/bench.out")"
grep -Eq '^pipe +100 +[0-9]+ +[0-9]+ ' "$SCRATCH/bench.out" &&
	pass "a pipe row on both roads" || fail "no pipe row in the bench's table"
grep -Eq '^floor +100 ' "$SCRATCH/bench.out" && pass "a floor row" || fail "no floor row"

if command -v gnuplot >/dev/null; then
	"$B/ipcfs-bench-plot" -o "$SCRATCH/plots" \
		"$IPCFS_SOURCE/tests/unit/data/sweep-sample.csv" >"$SCRATCH/plot.out" 2>&1 &&
		[ -s "$SCRATCH/plots/sweep.png" ] && pass "ipcfs-bench-plot drew sweep.png" ||
		fail "ipcfs-bench-plot: $(cat "$SCRATCH/plot.out")"
else
	say "note: no gnuplot, ipcfs-bench-plot not run"
fi

if command -v man >/dev/null; then
	for p in man8/ipcfs.8 man8/mount.ipcfs.8 man1/ipcfs-bench.1 man1/ipcfs-bench-plot.1; do
		page=$(MANWIDTH=80 man -l -P cat "$DEST$MAN/$p" 2>"$SCRATCH/man.err")
		grep -q '^NAME' <<<"$page" && grep -q '^SYNOPSIS' <<<"$page" &&
			[ ! -s "$SCRATCH/man.err" ] && pass "man -l $p" ||
			fail "man -l $p: $(head -3 "$SCRATCH/man.err")"
	done
	grep -q '^ *pipe ' <<<"$(MANWIDTH=80 man -l -P cat "$DEST$MAN/man8/ipcfs.8")" &&
		pass "ipcfs(8) lists the transports" || fail "ipcfs(8) lists no pipe"
else
	say "note: no man (man-db), the pages not shown"
fi

for c in ipcfs ipcfs-bench ipcfs-bench-plot; do
	bash -c ". '$DEST$DATA/bash-completion/completions/$c' && complete -p $c" \
		>/dev/null 2>&1 && pass "completion for $c loads" ||
		fail "the completion file $c does not load or register $c"
done

# --- mount(8) ----------------------------------------------------------
if [ -z "${IPCFS_IN_NS:-}" ]; then
	say "note: no private mount namespace (not root, or no unshare): mount(8) not tried"
	finish
fi
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null
# over DIR: lay DIR of the destdir over the real one (both stay readable)
over() {
	local real

	real=$(readlink -f "$1")
	[ -d "$DEST$1" ] || die "nothing installed in $1"
	mkdir -p "$real" 2>/dev/null
	[ -d "$real" ] || { say "note: $1 does not exist here: mount(8) not tried"; finish; }
	mount -t overlay ipcfs-test -o "lowerdir=$DEST$1:$real" "$real" ||
		{ say "note: no overlayfs: mount(8) not tried"; finish; }
	PLAIN_MOUNTS+=("$real")
}
over "$PREFIX"
over "$(dirname "$HELPER")"
[ -x "$(dirname "$(readlink -f "$HELPER")")/mount.ipcfs" ] ||
	die "mount.ipcfs is not where mount(8) looks after the overlay"
: >"$SCRATCH/fstab"
mount --bind "$SCRATCH/fstab" /etc/fstab || die "cannot bind a file on /etc/fstab"
PLAIN_MOUNTS+=(/etc/fstab)
say "in a private mount namespace: $PREFIX and $(dirname "$HELPER") from $DEST"

# daemon_of DIR: pid of the ipcfs serving DIR (it forked: not our child)
daemon_of() {
	local p c

	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' 2>/dev/null <"$p/cmdline") || continue
		case $c in
		*ipcfs\ *" $1 "*) echo "${p#/proc/}"; return ;;
		esac
	done
}

M=$(mktemp -d "$SCRATCH/mnt.XXXXXX")
MOUNTS+=("$M")

# as UID CMD...: CMD as user UID, or as we are if UID is empty
as() {
	local u=$1
	shift
	if [ -n "$u" ]; then
		setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
	else
		"$@"
	fi
}

# mounted_ok HOW [OPT [UID]]: $M is an ipcfs mount of the installed
# daemon (holding OPT on its command line), carrying a line; then unmount
# it (as user UID, if given: only they may enter their mount) and check
# the daemon ended and left nothing
mounted_ok() {
	local how=$1 want=${2:-} u=${3:-} pid rundir

	if ! mounted "$M"; then
		fail "$how: not mounted"
		return
	fi
	pid=$(daemon_of "$M")
	grep -q " $M .* fuse.ipcfs " /proc/self/mountinfo && pass "$how: type fuse.ipcfs" ||
		fail "$how: mountinfo: $(grep " $M " /proc/self/mountinfo)"
	[ "$(readlink -f "/proc/$pid/exe")" = "$(readlink -f "$BIN/ipcfs")" ] &&
		pass "$how: the daemon is $BIN/ipcfs" ||
		fail "$how: the daemon is $(readlink "/proc/$pid/exe")"
	if [ -n "$want" ]; then
		grep -q -- "$want" "/proc/$pid/cmdline" && pass "$how: -o $want reached ipcfs" ||
			fail "$how: ipcfs runs as '$(tr '\0' ' ' <"/proc/$pid/cmdline")'"
	fi
	as "$u" timeout -k 1 5 sh -c "echo '$how' > $M/mqueue"
	expect "$how: a line through mqueue" "$(as "$u" timeout -k 1 5 cat "$M/mqueue")" "$how"
	rundir=$(dirname "$(as "$u" timeout -k 1 5 sh -c "true <$M/fifo; cat $M/stats" |
			    sed -n 's/.*name=fifo .*object=\([^ ]*\).*/\1/p')")
	# a user's daemon keeps its runtime dir where we said, not in /tmp
	[ -z "$u" ] || case $rundir in
	"$M.run"/*) pass "$how: runtime dir in \$XDG_RUNTIME_DIR" ;;
	*) fail "$how: runtime dir $rundir, not in $M.run" ;;
	esac
	if as "$u" timeout -k 2 10 umount "$M"; then
		pass "$how: umount"
	else
		fail "$how: umount failed"
		timeout -k 2 10 fusermount3 -u "$M"
	fi
	wait_for 10 eval "! alive $pid" && pass "$how: the daemon ended" ||
		fail "$how: daemon $pid still runs 10 s after umount"
	expect "$how: objects left" "$(leftovers "$pid" "$rundir")" ""
}

timeout -k 2 20 mount -t ipcfs ipcfs "$M" 2>"$SCRATCH/err" ||
	fail "mount -t ipcfs: $(head -3 "$SCRATCH/err")"
mounted_ok "mount -t ipcfs"

timeout -k 2 20 mount -n -v -t ipcfs -o allow_other,spin=20 ipcfs "$M" \
	>"$SCRATCH/out" 2>&1 || fail "mount -n -v -t ipcfs -o ...: $(head -3 "$SCRATCH/out")"
grep -q "^mount.ipcfs: mount.fuse3 ipcfs $M -t fuse.ipcfs -o .*spin=20" "$SCRATCH/out" &&
	pass "mount -v: mount.ipcfs says what it runs" ||
	fail "mount -v said: $(head -3 "$SCRATCH/out")"
mounted_ok "mount -n -v -t ipcfs -o allow_other,spin=20" "allow_other,spin=20"

timeout -k 2 20 mount -f -t ipcfs ipcfs "$M" 2>"$SCRATCH/err" &&
	! mounted "$M" && pass "mount -f -t ipcfs: status 0, nothing mounted" ||
	fail "mount -f -t ipcfs: $(head -3 "$SCRATCH/err")"

# the bare form: both names and no type is no fstab lookup, and no device
if timeout -k 2 20 mount ipcfs "$M" 2>"$SCRATCH/err"; then
	fail "mount ipcfs DIR (no type) mounted"
	timeout -k 2 10 umount "$M"
else
	grep -q "special device ipcfs does not exist" "$SCRATCH/err" &&
		pass "mount ipcfs DIR: refused as ipcfs(8) says" ||
		fail "mount ipcfs DIR said: $(head -3 "$SCRATCH/err")"
fi

for type in ipcfs fuse.ipcfs; do
	echo "ipcfs $M $type noauto,spin=30 0 0" >"$SCRATCH/fstab"
	timeout -k 2 20 mount "$M" 2>"$SCRATCH/err" ||
		fail "fstab $type, mount DIR: $(head -3 "$SCRATCH/err")"
	mounted_ok "fstab $type, mount DIR" spin=30
	timeout -k 2 20 mount ipcfs 2>"$SCRATCH/err" ||
		fail "fstab $type, mount ipcfs: $(head -3 "$SCRATCH/err")"
	mounted_ok "fstab $type, mount ipcfs" spin=30
done

# a normal user's mount from a `user` line (mount(8) runs the helper as
# the user, and fusermount3 mounts), in a directory the user owns
if U=$(id -u nobody 2>/dev/null) && [ -u "$(command -v fusermount3)" ]; then
	chmod 0755 "$SCRATCH"
	M=$(mktemp -d "$SCRATCH/user.XXXXXX")
	MOUNTS+=("$M")
	chown nobody "$M"
	mkdir -m 0700 "$M.run" && chown nobody "$M.run"
	for type in ipcfs fuse.ipcfs; do
		echo "ipcfs $M $type noauto,user 0 0" >"$SCRATCH/fstab"
		as "$U" env -i PATH=/usr/bin:/bin HOME=/ XDG_RUNTIME_DIR="$M.run" \
			timeout -k 2 20 mount "$M" 2>"$SCRATCH/err" ||
			fail "fstab $type, user: mount DIR: $(head -3 "$SCRATCH/err")"
		mounted_ok "fstab $type, mount DIR as nobody" "" "$U"
	done
else
	say "note: no user nobody, or fusermount3 not setuid: no user mount"
fi

finish
