#!/usr/bin/env bash
# chat.sh - a two-person chat through ipcfs pipes.
#
# Shows: a directory per person (mkdir MOUNT/NAME), whose `pipe` is that
# person's inbox; the EOF rule (every line you send is one writer that
# opens, writes and leaves, so the listener's read ends after each line
# and opens the inbox again); and that lines sent while nobody listens
# wait in the channel until someone does.
#
# Run it in two terminals, on a mounted ipcfs:
#	examples/chat.sh /mnt/ipc alice bob
#	examples/chat.sh /mnt/ipc bob alice
# Type a line and press Enter; Ctrl-D ends your side.
#
# What you should see: in bob's terminal, after alice typed "hello bob",
#	<alice> hello bob
# Lines alice typed before bob started show up as soon as bob starts.
set -eu
usage="usage: chat.sh MOUNTPOINT ME PEER"
M=${1:?$usage} ME=${2:?$usage} PEER=${3:?$usage}

[ -f "$M/stats" ] || { echo "chat.sh: $M is not an ipcfs mount" >&2; exit 1; }
mkdir -p "$M/$ME" "$M/$PEER"

# the listener gets its own process group (set -m), so that one kill ends
# it and the read it is waiting in
set -m
(
	while :; do
		while IFS= read -r line; do
			printf '<%s> %s\n' "$PEER" "$line"
		done <"$M/$ME/pipe" || exit 0
	done
) &
listener=$!
set +m
trap 'kill -- -"$listener" 2>/dev/null; wait "$listener" 2>/dev/null || true' EXIT

while IFS= read -r line; do
	printf '%s\n' "$line" >"$M/$PEER/pipe"
done
