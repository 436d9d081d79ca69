#!/usr/bin/env bash
# test_lseek.sh - transport files are nonseekable: lseek (SEEK_SET, CUR,
# END), pread and pwrite fail with ESPIPE on every one; the channel still
# works afterwards.
. "$(dirname "$0")/lib.sh"

need_fuse
client fo fsops
mount_ipcfs -o control	# plainmem too, as the bench mounts

for t in $(transports_in "$MNT"); do
	f=$MNT/$t
	got="$("$fo" lseek "$f" set) $("$fo" lseek "$f" cur) $("$fo" lseek "$f" end)"
	expect "$t: lseek SET CUR END" "$got" "ESPIPE ESPIPE ESPIPE"
	expect "$t: pread" "$("$fo" pread "$f")" ESPIPE
	expect "$t: pwrite" "$("$fo" pwrite "$f")" ESPIPE
	timeout -k 1 5 sh -c "echo after > $f"
	expect "$t: works after" "$(timeout -k 1 5 cat "$f")" after
done
check_alive

unmount_ipcfs
finish
