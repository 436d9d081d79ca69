#!/usr/bin/env bash
# test_completion.sh - the bash completions of ipcfs and ipcfs-bench (as
# installed, completions/), driven as bash would: options, -o names,
# transport names (every one of --help's, in comma lists too), sizes and
# the choices of --cpus, --mode, --format..., also as --opt=value. The
# programs are the build's, found through PATH as the completions expect.
#
# usage: test_completion.sh COMPLETIONS_DIR IPCFS_BENCH [IPCFS]
set -u
dir=$1 bench=$2 ipcfs=${3:-}
fails=0
# the completions run `ipcfs-bench --help` and `ipcfs --help` by name
mkdir -p "${TMPDIR:-/tmp}" && bin=$(mktemp -d) || exit 1
trap 'rm -rf "$bin"' EXIT
ln -s "$(readlink -f "$bench")" "$bin/ipcfs-bench"
[ -z "$ipcfs" ] || ln -s "$(readlink -f "$ipcfs")" "$bin/ipcfs"
PATH=$bin:$PATH
. "$dir/ipcfs-bench"
. "$dir/ipcfs"
# once: $(...) subshells inherit the cached --help
_ipcfs_bench_help ipcfs-bench >/dev/null
# bash-completion's compopt only works inside a completion: a stand-in
compopt() { :; }

# offers FUNC WORD... : the candidates FUNC gives for the last WORD, sorted,
# one a line, as bash would ask (the line split at COMP_WORDBREAKS' '=')
offers() {
	local fn=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMPREPLY=()
	"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort
}

# check WHAT WANT FUNC WORD...: the candidates are exactly WANT (a list)
check() {
	local what=$1 want got
	want=$(printf '%s\n' $2 | sort)
	shift 2
	got=$(offers "$@")
	if [ "$got" = "$want" ]; then
		echo "ok: $what"
	else
		echo "FAIL: $what: got '$(echo $got)', want '$(echo $want)'"
		fails=$((fails + 1))
	fi
}

transports=$("$bench" --help | sed -n '/^transports:/,$p' | sed '1d' | awk '{ print $1 }')
[ -n "$transports" ] || { echo "FAIL: no transports in --help"; exit 1; }
check "-t: every transport, and all" "$transports all" _ipcfs_bench ipcfs-bench -t ""
check "--transport p" "$(printf '%s\n' $transports | grep '^p')" \
	_ipcfs_bench ipcfs-bench --transport p
check "-t pipe,sh: in a list" "$(printf 'pipe,%s\n' $(printf '%s\n' $transports | grep '^sh'))" \
	_ipcfs_bench ipcfs-bench -t pipe,sh
check "--transport=mq" mqueue _ipcfs_bench ipcfs-bench --transport = mq
check "--size sw" sweep _ipcfs_bench ipcfs-bench --size sw
check "-s 1K,6" "1K,64 1K,64K" _ipcfs_bench ipcfs-bench -s 1K,6
check "--mode" "pingpong stream" _ipcfs_bench ipcfs-bench --mode ""
check "--cpus=s" "same split" _ipcfs_bench ipcfs-bench --cpus = s
check "--format" "table csv json" _ipcfs_bench ipcfs-bench --format ""
check "--road" "both direct mount net" _ipcfs_bench ipcfs-bench --road ""
check "--zmq" "tcp ipc" _ipcfs_bench ipcfs-bench --zmq ""
check "--count takes a number" "" _ipcfs_bench ipcfs-bench --count ""
check "--tr" --transport _ipcfs_bench ipcfs-bench --tr
check "--ba" --baseline _ipcfs_bench ipcfs-bench -s 100 --ba
for o in $("$bench" --help | sed -n 's/^ *\(-[a-z], \)\{0,1\}\(--[a-z-]*\).*/\2/p'); do
	offers _ipcfs_bench ipcfs-bench -- | grep -qx -- "$o" ||
		{ echo "FAIL: $o is not offered for --"; fails=$((fails + 1)); }
done
check "ipcfs-bench-plot -" "-s -o -h" _ipcfs_bench_plot ipcfs-bench-plot -

if [ -n "$ipcfs" ]; then
	check "ipcfs -o sp" spin= _ipcfs ipcfs -o sp
	check "ipcfs -o allow_other,out" allow_other,outsiders _ipcfs ipcfs -o allow_other,out
	check "ipcfs -o max_u" "max_user_dirs= max_user_parked=" _ipcfs ipcfs -o max_u
	check "ipcfs -o fs (FUSE's)" fsname= _ipcfs ipcfs -o fs
	check "ipcfs --v" --version _ipcfs ipcfs --v
	for o in $("$ipcfs" --help | sed -n 's/^ *-o \([a-z_]*=\{0,1\}\).*/\1/p'); do
		offers _ipcfs ipcfs -o "" | grep -qx -- "$o" ||
			{ echo "FAIL: -o $o is not offered"; fails=$((fails + 1)); }
	done
fi
[ "$fails" -eq 0 ] || exit 1
echo "all offered"
