#!/usr/bin/env bash
# test_genkey.sh - `ipcfs --genkey FILE`, what the peering's keys come from:
#  - FILE holds one Z85 secret key, mode 0600; FILE.pub the public key,
#    0644; the public key is printed, and is the one -o key=FILE derives
#    (a daemon started with the pair's trust file accepts it, tested in
#    the peering tests);
#  - a second run on the same FILE, or on a FILE whose .pub exists,
#    refuses with one line and status 1 and changes nothing;
#  - no FILE, or a directory that is not there: status 1, one line.
. "$(dirname "$0")/lib.sh"

[ -n "$IPCFS" ] && [ -x "$IPCFS" ] || die "no daemon: set IPCFS"
"$IPCFS" --genkey "$SCRATCH/probe" >"$SCRATCH/probe.out" 2>&1
if grep -q "built without ZeroMQ" "$SCRATCH/probe.out"; then
	skip "ipcfs was built without ZeroMQ"
fi

k=$SCRATCH/k
out=$(umask 0; "$IPCFS" --genkey "$k" 2>"$SCRATCH/err")
expect "--genkey exits 0" "$?" 0
expect "--genkey says nothing on stderr" "$(cat "$SCRATCH/err")" ""
expect "it prints the public key of FILE.pub" "$out" "$(cat "$k.pub")"
expect "the public key is 40 Z85 characters" \
	"$(grep -cxE '[]0-9a-zA-Z.:+=^!/*?&<>()@%$#{}[-]{40}' "$k.pub")" 1
expect "the secret key is 40 Z85 characters, one line" \
	"$(grep -cxE '[]0-9a-zA-Z.:+=^!/*?&<>()@%$#{}[-]{40}' "$k")$(wc -l <"$k")" 11
expect "FILE is 0600 (even with umask 0)" "$(stat -c %a "$k")" 600
expect "FILE.pub is 0644" "$(stat -c %a "$k.pub")" 644
[ "$(cat "$k")" != "$(cat "$k.pub")" ] && pass "the secret is not the public key" ||
	fail "FILE and FILE.pub hold the same key"

cp -p "$k" "$SCRATCH/k.before"
cp -p "$k.pub" "$SCRATCH/k.pub.before"
"$IPCFS" --genkey "$k" >"$SCRATCH/out" 2>"$SCRATCH/err"
expect "a second --genkey on FILE exits 1" "$?" 1
expect "... with one line" "$(wc -l <"$SCRATCH/err")" 1
grep -q "never overwritten" "$SCRATCH/err" && pass "... saying so: $(cat "$SCRATCH/err")" ||
	fail "... saying '$(cat "$SCRATCH/err")'"
expect "... printing nothing" "$(cat "$SCRATCH/out")" ""
cmp -s "$k" "$SCRATCH/k.before" && cmp -s "$k.pub" "$SCRATCH/k.pub.before" &&
	pass "... and FILE and FILE.pub are unchanged" ||
	fail "a refused --genkey changed the key pair"

echo stale >"$SCRATCH/j.pub"
"$IPCFS" --genkey "$SCRATCH/j" >/dev/null 2>"$SCRATCH/err"
expect "--genkey where FILE.pub exists exits 1" "$?" 1
[ -e "$SCRATCH/j" ] && fail "... and left FILE behind" || pass "... and makes no FILE"
expect "... leaving FILE.pub alone" "$(cat "$SCRATCH/j.pub")" stale

"$IPCFS" --genkey >/dev/null 2>"$SCRATCH/err"
expect "--genkey without FILE exits 1" "$?" 1
grep -q "usage" "$SCRATCH/err" && pass "... with the usage" || fail "... said '$(cat "$SCRATCH/err")'"
"$IPCFS" --genkey "$SCRATCH/none/k" >/dev/null 2>"$SCRATCH/err"
expect "--genkey in a missing directory exits 1" "$?" 1
expect "... with one line" "$(wc -l <"$SCRATCH/err")" 1

finish
