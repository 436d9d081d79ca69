#!/usr/bin/env bash
# test-deb.sh - the Debian package, built and used as a user would:
#  1. `dpkg-buildpackage -us -uc -b` in a copy of this tree (the tree
#     itself stays clean), its unit tests included;
#  2. in a private mount namespace whose /usr, /etc and /var are overlays
#     of the real ones (every write goes to a temp dir: nothing of the
#     machine changes, and other users of it see nothing): `dpkg -i` of
#     the .deb, then its files, `man ipcfs`, `mount -t fuse.ipcfs` and
#     `mount -t ipcfs` with a line through each, one row of ipcfs-bench
#     with the installed daemons, ipcfs-bench-plot, the completions;
#  3. `dpkg --purge`: no file of the package, and nothing else it made,
#     is left behind (dpkg's own records and logs aside).
# Installs what it needs to build, debian/control's Build-Depends
# included (apt-get, as scripts/setup.sh does). Takes a full build: about 2 minutes here. Not part of run-tests.
#
# usage: scripts/test-deb.sh [-k] [-o DIR]
#   -k  keep the temp dir (the build copy, its log, the overlays)
#   -o  copy the built .deb files into DIR
# Exit status: 0 every check passed, 1 a check failed, 2 usage, 77 cannot
# run here (not root, no unshare or overlayfs).
set -euo pipefail
. "$(dirname "$0")/setup.sh"
TOP=$IPCFS_TOP
ME=test-deb

keep= out=
while getopts ko:h o; do
	case $o in
	k) keep=1 ;;
	o) out=$OPTARG ;;
	*) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
	esac
done

FAILS=0
say() { printf '%s: %s\n' "$ME" "$*"; }
pass() { say "ok: $*"; }
fail() { say "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
die() { say "$1" >&2; exit "${2:-1}"; }

# --- inside the namespace: install, use, remove ------------------------
if [ -n "${IPCFS_DEB_NS:-}" ]; then
	set +e	# checks count their failures, they do not stop the run
	WORK=$IPCFS_DEB_NS
	# let go of the copies of FUSE mounts made elsewhere: held here, they
	# would keep those daemons from seeing their unmount while we run
	awk '$3 ~ /^fuse/ { print $2 }' /proc/self/mounts | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	deb=$(ls "$WORK"/ipcfs_*.deb)
	for d in usr etc var; do
		mkdir -p "$WORK/ovl/$d/up" "$WORK/ovl/$d/work"
		mount -t overlay ipcfs-deb -o "lowerdir=/$d,upperdir=$WORK/ovl/$d/up,workdir=$WORK/ovl/$d/work" "/$d" ||
			die "overlayfs on /$d failed" 77
	done
	dpkg -s ipcfs >/dev/null 2>&1 && die "ipcfs is installed on this machine already: remove it first"

	dpkg -i "$deb" >"$WORK/dpkg-i.log" 2>&1 && pass "dpkg -i $(basename "$deb")" ||
		{ cat "$WORK/dpkg-i.log" >&2; die "dpkg -i failed"; }
	dpkg -L ipcfs | sort >"$WORK/files"
	for f in /usr/bin/ipcfs /usr/bin/ipcfs-bench /usr/bin/ipcfs-bench-plot \
		 /usr/sbin/mount.ipcfs /usr/libexec/ipcfs/nullfs; do
		[ -x "$f" ] && grep -qx "$f" "$WORK/files" && pass "installed: $f" ||
			fail "not installed: $f"
	done
	for f in /usr/share/man/man8/ipcfs.8.gz /usr/share/man/man8/mount.ipcfs.8.gz \
		 /usr/share/man/man1/ipcfs-bench.1.gz \
		 /usr/share/man/man1/ipcfs-bench-plot.1.gz \
		 /usr/share/bash-completion/completions/ipcfs \
		 /usr/share/bash-completion/completions/ipcfs-bench \
		 /usr/share/doc/ipcfs/copyright; do
		[ -r "$f" ] && pass "installed: $f" || fail "not installed: $f"
	done

	for p in ipcfs mount.ipcfs ipcfs-bench ipcfs-bench-plot; do
		MANWIDTH=80 man -P cat "$p" 2>"$WORK/man.err" | grep -q '^SYNOPSIS' &&
			pass "man $p" || fail "man $p: $(head -3 "$WORK/man.err")"
	done
	for c in ipcfs ipcfs-bench ipcfs-bench-plot; do
		bash -c ". /usr/share/bash-completion/completions/$c && complete -p $c" \
			>/dev/null 2>&1 && pass "completion for $c" || fail "completion for $c"
	done

	M=$(mktemp -d "$WORK/mnt.XXXXXX")
	for type in fuse.ipcfs ipcfs; do
		if timeout -k 2 20 mount -t "$type" -o spin=20 ipcfs "$M" 2>"$WORK/err"; then
			pass "mount -t $type ipcfs DIR"
		else
			fail "mount -t $type: $(head -3 "$WORK/err")"
			continue
		fi
		pid=$(pgrep -f "^ipcfs ipcfs $M " | head -n 1)
		[ "$(readlink -f "/proc/$pid/exe")" = /usr/bin/ipcfs ] &&
			pass "-t $type: the daemon is /usr/bin/ipcfs" ||
			fail "-t $type: the daemon is '$(readlink "/proc/$pid/exe")'"
		timeout -k 1 5 sh -c "echo $type > $M/pipe"
		[ "$(timeout -k 1 5 cat "$M/pipe")" = "$type" ] &&
			pass "-t $type: a line through pipe" || fail "-t $type: pipe carries nothing"
		timeout -k 2 10 umount "$M" && pass "-t $type: umount" ||
			{ fail "-t $type: umount"; fusermount3 -uz "$M"; }
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -0 "$pid" 2>/dev/null && fail "-t $type: the daemon outlived umount"
	done
	rmdir "$M"

	if env -u IPCFS -u NULLFS timeout -k 5 60 ipcfs-bench -t pipe -s 100 -c 200 -w 10 \
		>"$WORK/bench.out" 2>&1 &&
	   grep -q 'mounted for this run (/usr/bin/ipcfs,' "$WORK/bench.out" &&
	   grep -q '(nullfs /usr/bin/../libexec/ipcfs/nullfs mounted' "$WORK/bench.out"; then
		pass "ipcfs-bench: a row with the installed ipcfs and nullfs"
	else
		fail "ipcfs-bench:"
		tail -20 "$WORK/bench.out" >&2
	fi
	if command -v gnuplot >/dev/null; then
		ipcfs-bench-plot -o "$WORK/plots" "$TOP/tests/unit/data/sweep-sample.csv" \
			>/dev/null 2>&1 && [ -s "$WORK/plots/sweep.png" ] &&
			pass "ipcfs-bench-plot" || fail "ipcfs-bench-plot drew nothing"
	fi

	dpkg --purge ipcfs >"$WORK/dpkg-P.log" 2>&1 && pass "dpkg --purge ipcfs" ||
		{ cat "$WORK/dpkg-P.log" >&2; fail "dpkg --purge failed"; }
	dpkg -s ipcfs >/dev/null 2>&1 && fail "dpkg still knows ipcfs after --purge"
	left=$(while read -r f; do
		[ -d "$f" ] && continue	# /usr/bin and the like
		if [ -e "$f" ] || [ -L "$f" ]; then echo "$f"; fi
	done <"$WORK/files")
	[ -z "$left" ] && pass "no file of the package left" || fail "left behind: $left"
	# anything new in the overlays is what install and removal left
	# (a whiteout is a removal: char device 0:0); dpkg's and man-db's
	# records aside
	new=$(cd "$WORK/ovl" && find usr/up etc/up var/up -mindepth 1 \
		! -type d ! -type c 2>/dev/null |
		grep -v -e '^var/up/lib/dpkg/' -e '^var/up/log/' -e '^var/up/cache/man/' \
			-e '^var/up/cache/debconf/' -e '^etc/up/ld.so.cache$' || true)
	[ -z "$new" ] && pass "nothing else left in /usr, /etc, /var" ||
		fail "left in the file system: $(echo $new)"
	# `man ipcfs` above made cat pages: man-db's cache, which its daily
	# mandb run purges once their pages are gone (dpkg's trigger does not)
	cat=$(cd "$WORK/ovl/var/up" 2>/dev/null && find cache/man -name 'ipcfs*' 2>/dev/null |
		sed 's|^|/var/|')
	[ -z "$cat" ] || say "note: man-db's cache holds $(echo $cat) until its daily purge"
	[ "$FAILS" -eq 0 ] || exit 1
	exit 0
fi

# --- outside: build, then run the above in a namespace -----------------
[ "$(id -u)" -eq 0 ] || die "needs root (to install into a private mount namespace)" 77
unshare -m --propagation private true 2>/dev/null || die "no unshare -m here" 77
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
	die "no overlayfs here" 77
ipcfs_install_deps dpkg-dev debhelper mandoc man-db

WORK=$(mktemp -d /tmp/ipcfs-deb.XXXXXX)
chmod 0755 "$WORK"
cleanup() {
	if [ -n "$keep" ]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# the tree as git knows it (edits included, build dirs not), else all
src=$WORK/ipcfs
mkdir "$src"
if git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$TOP" ls-files -z -c -o --exclude-standard | (cd "$TOP" && tar --null -T - -cf -) |
		tar -xf - -C "$src"
else
	tar -C "$TOP" --exclude='./build*' --exclude=./obj-\* -cf - . | tar -xf - -C "$src"
fi
# what debian/control asks for and this machine lacks: the first of each
# "a | b", without versions or profiles
unmet=$(cd "$src" && dpkg-checkbuilddeps 2>&1 |
	sed -n 's/.*Unmet build dependencies: //p' | sed 's/([^)]*)//g; s/<[^>]*>//g' |
	tr -s ' ' | sed 's/ | [^ ]*//g') || true
[ -z "$unmet" ] || ipcfs_install_deps $unmet
say "dpkg-buildpackage -us -uc -b in $src (log: $WORK/build.log)"
start=$SECONDS
if (cd "$src" && dpkg-buildpackage -us -uc -b) >"$WORK/build.log" 2>&1; then
	pass "dpkg-buildpackage -us -uc -b, $((SECONDS - start)) s"
else
	tail -40 "$WORK/build.log" >&2
	keep=1
	die "dpkg-buildpackage failed"
fi
deb=$(ls "$WORK"/ipcfs_*.deb 2>/dev/null) || die "no ipcfs_*.deb was built"
pass "built $(basename "$deb"): $(dpkg-deb -f "$deb" Version), $(dpkg-deb -f "$deb" Depends)"
[ -z "$out" ] || { mkdir -p "$out" && cp "$WORK"/*.deb "$out"/ && say "copied to $out"; }
if command -v lintian >/dev/null; then
	lintian "$deb" 2>&1 | grep -v 'running with root privileges' | sed 's/^/    lintian: /' || true
fi

set +e
unshare -m --propagation private env IPCFS_DEB_NS="$WORK" "$0"
rc=$?
set -e
[ "$rc" -eq 0 ] && say "all checks passed" || { keep=1; say "some checks failed" >&2; }
exit "$rc"
