#!/usr/bin/env bash
# outside.sh - join an ipcfs channel from outside the mount.
#
# Shows: every channel is a real kernel object, named by object= in
# `stats`. Bytes written straight into the FIFO behind MOUNT/fifo, or a
# datagram sent with nc to the UDP port behind MOUNT/udp, come out of the
# mount's file like anything written there. The FIFO is the mounting
# user's (0600, in a 0700 directory); the UDP port takes datagrams from
# others only when ipcfs was mounted with -o outsiders.
#
# Run:	examples/outside.sh /mnt/ipc     (mounted with -o outsiders)
#
# What you should see:
#	fifo is /run/user/0/ipcfs/ipcfs.1234.0.fifo
#	read from MOUNT/fifo: hello through the FIFO
#	udp is 127.0.0.1:45678
#	read from MOUNT/udp: hello over UDP
set -eu
M=${1:?usage: outside.sh MOUNTPOINT}

[ -f "$M/stats" ] || { echo "outside.sh: $M is not an ipcfs mount" >&2; exit 1; }
# object= of a channel, from the stats line that has name=$1
object() { tr ' ' '\n' <<<"$(grep "^name=$1 " "$M/stats")" | sed -n 's/^object=//p'; }

# a channel is made at its file's first open: open both before asking stats
timeout 5 true <"$M/fifo"; timeout 5 true <"$M/udp"
fifo=$(object fifo)
echo "fifo is $fifo"
echo "hello through the FIFO" >"$fifo"
echo "read from MOUNT/fifo: $(timeout 5 dd if="$M/fifo" bs=64k count=1 status=none)"

udp=$(object udp)
echo "udp is $udp"
printf 'hello over UDP\n' | nc -u -w 1 "${udp%:*}" "${udp##*:}"
echo "read from MOUNT/udp: $(timeout 5 dd if="$M/udp" bs=64k count=1 status=none)"
