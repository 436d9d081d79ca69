#!/usr/bin/env bash
# setup.sh - sourced by run-bench and run-tests: install the Debian
# packages that are missing (apt-get, as root or through sudo), then
# configure and build into $BUILD (default: build).
set -euo pipefail

IPCFS_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$IPCFS_TOP/build}
# clang and its libFuzzer runtime (only Recommended by Debian's clang):
# tests/fuzz/run-fuzz.sh; iproute2's ss: tests/mount/test_outsiders.sh;
# liburing-dev: the uring transport
# mandoc and man-db: tests/unit/test_man.sh, tests/mount/test_install.sh
# mpich: the mpi transport (MPICH 4.0.2, ch4:ucx)
# dbus: the dbus-daemon the dbus transport starts
# nftables: tests/hosts/ drops the link between two namespaces with nft
IPCFS_PACKAGES=(meson ninja-build pkg-config gcc libfuse3-dev fuse3
		libzmq3-dev libcmocka-dev socat netcat-openbsd
		gnuplot-nox clang libclang-rt-14-dev iproute2
		liburing-dev mandoc man-db mpich libmpich-dev libdbus-1-dev dbus
		nftables)

ipcfs_install_deps() {
	local missing=() p sudo=
	for p in "${IPCFS_PACKAGES[@]}" "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "setup: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
		"${missing[@]}" >/dev/null
}

# ipcfs_build [BUILD_DIR [meson options...]]
ipcfs_build() {
	local dir=${1:-$BUILD}
	shift || true
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$IPCFS_TOP" "$@" >/dev/null
	fi
	ninja -C "$dir" >/dev/null
}
