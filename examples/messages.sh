#!/usr/bin/env bash
# messages.sh - message boundaries with mqueue, next to a pipe.
#
# Shows: on a POSIX message queue one write() is one message and one
# read() returns exactly one message; a read shorter than the message
# takes its first part and leaves the rest for the next read; a message
# over the queue's limit (8192 bytes by default) fails with "Message too
# long". The same three writes into the pipe come back in a single read.
#
# Run:	examples/messages.sh /mnt/ipc
#
# What you should see:
#	mqueue: read 1 -> 'one' (3 bytes)
#	mqueue: read 2 -> 'three' (5 bytes)
#	mqueue: read 3 -> 'fifteen' (7 bytes)
#	pipe:   one read -> 'onethreefifteen' (15 bytes)
#	mqueue: dd bs=4 -> 'abcd', then -> 'efghijk'
#	mqueue: 8193 bytes -> dd: error writing '.../mqueue': Message too long
set -eu
M=${1:?usage: messages.sh MOUNTPOINT}

[ -f "$M/stats" ] || { echo "messages.sh: $M is not an ipcfs mount" >&2; exit 1; }
# one read of at most 64 KiB, for at most 5 s
read1() { timeout 5 dd if="$1" bs="${2:-65536}" count=1 status=none; }

for w in one three fifteen; do
	printf %s "$w" >"$M/mqueue"	# printf: one write(), so one message
	printf %s "$w" >"$M/pipe"
done
for i in 1 2 3; do
	m=$(read1 "$M/mqueue")
	echo "mqueue: read $i -> '$m' (${#m} bytes)"
done
m=$(read1 "$M/pipe")
echo "pipe:   one read -> '$m' (${#m} bytes)"

printf abcdefghijk >"$M/mqueue"
a=$(read1 "$M/mqueue" 4)
b=$(read1 "$M/mqueue")
echo "mqueue: dd bs=4 -> '$a', then -> '$b'"

if e=$(dd if=/dev/zero of="$M/mqueue" bs=8193 count=1 status=none 2>&1); then
	echo "mqueue: 8193 bytes were taken: the limit is not 8192 here"
else
	echo "mqueue: 8193 bytes -> $e"
fi
