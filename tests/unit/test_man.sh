#!/bin/sh
# test_man.sh - the man pages as built (their transport lists filled in):
# `mandoc -Tlint` finds nothing, at every level down to style, but for
# what depends on the machine's manual database (a page it does not have,
# ours included before install; an outdated mandoc.db); every option
# that `ipcfs --help` and `ipcfs-bench --help` print is described, and
# every transport is listed. Skips (77) without mandoc.
#
# usage: test_man.sh IPCFS_8 IPCFS_BENCH_1 IPCFS_BENCH [IPCFS]
set -eu
page8=$1 page1=$2 bench=$3 ipcfs=${4:-}
if ! command -v mandoc >/dev/null; then
	echo "SKIP: mandoc is not installed (Debian: mandoc)"
	exit 77
fi
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

for p in "$page8" "$page1"; do
	mandoc -Tlint -W style "$p" 2>&1 |
		grep -v -e 'referenced manual not found' -e 'outdated mandoc.db' >"$p.lint" || true
	if [ -s "$p.lint" ]; then
		fail "mandoc -Tlint $(basename "$p"):"
		cat "$p.lint"
	else
		echo "ok: mandoc -Tlint $(basename "$p") is clean"
	fi
	rm -f "$p.lint"
done

# described PAGE WHAT MDOC: the page holds the mdoc text MDOC
described() {
	if grep -qF -- "$3" "$1"; then
		echo "ok: $(basename "$1") describes $2"
	else
		fail "$(basename "$1") does not describe $2 ('$3')"
	fi
}

help=$("$bench" --help)
for o in $(echo "$help" | sed -n 's/^ *\(-[a-z], \)\{0,1\}--\([a-z-]*\).*/\2/p'); do
	described "$page1" "--$o" "Fl -$o"
done
for o in $(echo "$help" | sed -n 's/^ *-\([a-z]\), --.*/\1/p'); do
	described "$page1" "-$o" "Fl $o ,"
done
for t in $(echo "$help" | sed -n '/^transports:/,$p' | sed '1d' | awk '{ print $1 }'); do
	described "$page1" "transport $t" ".It Pa $t"
	described "$page8" "transport $t" ".It Pa $t"
done
if [ -n "$ipcfs" ]; then
	for o in $("$ipcfs" --help | sed -n 's/^ *-o \([a-z_]*\).*/\1/p'); do
		described "$page8" "-o $o" "Cm $o"
	done
fi
[ "$fails" -eq 0 ] || exit 1
