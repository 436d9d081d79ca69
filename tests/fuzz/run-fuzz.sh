#!/usr/bin/env bash
# run-fuzz.sh - build every fuzz target (tests/fuzz/fuzz_*.c) with clang
# -fsanitize=fuzzer,address,undefined and fuzz each for SECONDS (default
# 15), one process at a time; fail on any crash, sanitizer report, failed
# check or timeout. Exit 77 (a skip for meson) without clang and libFuzzer,
# or in the sanitize build (this makes its own sanitized binaries: once
# per run is enough).
#
# Usage: run-fuzz.sh [SECONDS [TARGET...]]
#        run-fuzz.sh --merge [TARGET...]
#
# Each target starts from its committed seeds (corpus/TARGET, read only)
# and from what earlier runs found, kept in $FUZZ_OUT/corpus/TARGET. A
# crashing input is saved as $FUZZ_OUT/crashes/TARGET-crash-*: fix the
# bug, then copy the input into corpus/TARGET as a regression seed.
# --merge folds the kept inputs into corpus/TARGET, minimized (-merge=1):
# only inputs that add coverage stay.
#
# Environment: FUZZ_OUT (default build/fuzz-clang), where objects,
# binaries, corpora and logs go; FUZZ_SANITIZE, the meson build's
# b_sanitize (anything but none or empty: skip); CC (default clang).
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$src/../.." && pwd)
out=${FUZZ_OUT:-$top/build/fuzz-clang}
cc=${CC:-clang}
merge=false
secs=15

if [ "${1:-}" = --merge ]; then
	merge=true
	shift
elif [ $# -gt 0 ]; then
	secs=$1
	shift
fi
case $secs in
''|*[!0-9]*) echo "run-fuzz.sh: '$secs' is not a number of seconds" >&2
	exit 2 ;;
esac

skip() {
	echo "run-fuzz.sh: skipped: $*"
	exit 77
}

if [ -n "${FUZZ_SANITIZE:-}" ] && [ "$FUZZ_SANITIZE" != none ]; then
	skip "the $FUZZ_SANITIZE build; the fuzz run happens once, in the" \
		"normal build, with its own sanitized binaries"
fi
command -v "$cc" >/dev/null || skip "no $cc (apt-get install clang)"
mkdir -p "$out/obj" "$out/corpus" "$out/crashes"
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n);
int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' \
	>"$out/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined "$out/probe.c" -o "$out/probe" \
	2>"$out/probe.log" ||
	skip "$cc cannot build a libFuzzer binary (apt-get install" \
		"libclang-rt-14-dev): $(head -1 "$out/probe.log")"

# what meson's config.h says; zmq.c only with libzmq, mpi*.c with MPICH,
# dbus*.c with libdbus
have_zmq=0
pkg-config --exists libzmq 2>/dev/null && have_zmq=1
have_mpi=0
pkg-config --exists mpich 2>/dev/null && have_mpi=1
have_dbus=0
pkg-config --exists dbus-1 2>/dev/null && have_dbus=1
have_fuse=0
pkg-config --exists 'fuse3 >= 3.14' 2>/dev/null && have_fuse=1
cat >"$out/config.h.new" <<EOF
#define HAVE_ZMQ $have_zmq
#define HAVE_MPI $have_mpi
#define HAVE_DBUS $have_dbus
#define IPCFS_VERSION "fuzz"
EOF
cmp -s "$out/config.h.new" "$out/config.h" ||
	mv "$out/config.h.new" "$out/config.h"
echo '#define BENCH_GIT "fuzz"' >"$out/bench_git.h"

cflags=(-std=gnu11 -D_GNU_SOURCE -include "$out/config.h" -g -O1
	-Wall -Wextra -Wno-unused-parameter
	-fsanitize=address,undefined -fno-sanitize-recover=undefined
	-I"$top/transports" -I"$top/bench" -I"$top/fs" -I"$out")
libs=(-lrt -lpthread -lm)
[ "$have_zmq" = 1 ] && libs+=($(pkg-config --libs libzmq))
if [ "$have_mpi" = 1 ]; then
	cflags+=($(pkg-config --cflags mpich))
	libs+=($(pkg-config --libs mpich))
fi
if [ "$have_dbus" = 1 ]; then
	cflags+=($(pkg-config --cflags dbus-1))
	libs+=($(pkg-config --libs dbus-1))
fi
if [ "$have_fuse" = 1 ]; then
	cflags+=($(pkg-config --cflags fuse3))
	libs+=($(pkg-config --libs fuse3))
fi

# the project's code, instrumented for coverage, in one archive per
# directory; rebuilt when anything under the source tree changed
lib() {	# lib NAME FILE...
	local name=$1 a="$out/lib$1.a" f o objs=()
	shift
	# kept while no source, nor this script (its lists), is newer
	if [ "$a" -nt "${BASH_SOURCE[0]}" ] &&
	   [ -z "$(find "$top/transports" "$top/bench" \
		"$top/fs" "$out/config.h" -newer "$a" -name '*.[ch]' \
		-print -quit)" ]; then
		return 0
	fi
	mkdir -p "$out/obj/$name"
	for f in "$@"; do
		objs+=("$out/obj/$name/$(basename "$f" .c).o")
	done
	# two at a time: the machines this runs on have two CPUs
	for f in "$@"; do
		echo "$f -o $out/obj/$name/$(basename "$f" .c).o"
	done | xargs -P 2 -L 1 "$cc" "${cflags[@]}" \
		-fsanitize=fuzzer-no-link -c
	rm -f "$a"
	ar rcs "$a" "${objs[@]}"
}

tsrc=()
for f in "$top"/transports/*.c; do
	[ "$(basename "$f")" = zmq.c ] && [ "$have_zmq" = 0 ] && continue
	case $(basename "$f") in mpi*.c) [ "$have_mpi" = 0 ] && continue ;; esac
	case $(basename "$f") in dbus*.c) [ "$have_dbus" = 0 ] && continue ;; esac
	tsrc+=("$f")
done
echo "run-fuzz.sh: building into $out"
lib ipc "${tsrc[@]}"
lib bench "$top"/bench/{opts,hist,run,rows,place,mount,report,road_direct,classic,road_mount,road_floor}.c
fslibs=()
if [ "$have_fuse" = 1 ]; then
	fsrc=("$top/fs/tree.c")
	[ -f "$top/fs/opts.c" ] && fsrc+=("$top/fs/opts.c")
	[ -f "$top/fs/net_wire.c" ] && fsrc+=("$top/fs/net_wire.c")
	lib fs "${fsrc[@]}"
	fslibs=("$out/libfs.a")
	# the rest of the daemon but main(), for the wire target's
	# dispatcher (fs/net_export.c)
	if [ "$have_zmq" = 1 ] && [ -f "$top/fs/net_export.c" ]; then
		lib net "$top"/fs/{chan,loop,ops,net,net_calls,net_export,net_import,net_import_ops,net_import_write,net_keys}.c
	fi
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	for f in "$src"/fuzz_*.c; do
		t=$(basename "$f" .c)
		t=${t#fuzz_}
		# the daemon's targets need libfuse3 (and fs/opts.c)
		case $t in
		stats) [ "$have_fuse" = 1 ] || continue ;;
		wire) [ "$have_fuse" = 1 ] && [ -f "$out/libnet.a" ] ||
			continue ;;
		fs_opts) [ "$have_fuse" = 1 ] && [ -f "$top/fs/opts.c" ] ||
			continue ;;
		esac
		targets+=("$t")
	done
fi
for t in "${targets[@]}"; do
	extra=()
	[ "$t" = wire ] && extra=("$out/libnet.a")
	"$cc" "${cflags[@]}" -fsanitize=fuzzer "$src/fuzz_$t.c" \
		"${extra[@]}" "${fslibs[@]}" "$out/libbench.a" "$out/libipc.a" \
		"${libs[@]}" -o "$out/fuzz_$t"
done

# UBSan's own report (without halt_on_error) would not be a crash
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
status=0
for t in "${targets[@]}"; do
	seeds="$src/corpus/$t"
	kept="$out/corpus/$t"
	mkdir -p "$seeds" "$kept"
	dict=()
	[ -f "$src/$t.dict" ] && dict=(-dict="$src/$t.dict")
	if $merge; then
		rm -rf "$out/merged"
		mkdir -p "$out/merged"
		"$out/fuzz_$t" -merge=1 "${dict[@]}" "$out/merged" "$seeds" \
			"$kept" >"$out/$t-merge.log" 2>&1
		rm -f "$seeds"/*
		cp "$out/merged"/* "$seeds"/
		echo "$t: $(ls "$seeds" | wc -l) inputs in $seeds"
		continue
	fi
	# -error_exitcode: libFuzzer's default, 77, would read as a skip
	if "$out/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -error_exitcode=1 -timeout_exitcode=1 \
		-print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
		"${dict[@]}" "$kept" "$seeds" >"$out/$t.log" 2>&1; then
		# e.g. "#123456 DONE cov: 210 ft: 800 corp: 60/2Kb exec/s: 8000"
		echo "$t: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$out/$t.log" | tail -1)"
	else
		status=1
		echo "$t: FAILED, input and log in $out/crashes, $out/$t.log"
		grep -vE '^#[0-9]+ +(NEW|REDUCE|pulse)' "$out/$t.log" |
			tail -40
	fi
done
exit $status
