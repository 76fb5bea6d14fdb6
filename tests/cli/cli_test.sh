#!/usr/bin/env bash
# The udax command end to end: mkfs, put, get, ls, info, fsck, exit codes.
set -u
U=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "cli_test: FAIL: $*" >&2; exit 1; }
expect() {	# expect STATUS CMD...
	local want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	[ "$got" = "$want" ] || { cat "$T/out" "$T/err" >&2; fail "'$*' exited $got, want $want"; }
}

expect 0 "$U" mkfs -s 32M -n 2 -L t "$T/d.img"
expect 1 "$U" mkfs "$T/d.img"				# has a table: needs --force
grep -q -- "--force" "$T/err" || fail "mkfs without --force does not say how"
head -c 1500000 /dev/urandom >"$T/in"
expect 0 "$U" put "$T/d.img" "$T/in" /data
expect 0 "$U" put -P 1 "$T/d.img" "$T/in" /other
expect 0 "$U" get "$T/d.img" /data "$T/out1"
cmp -s "$T/in" "$T/out1" || fail "put/get changed the bytes"
expect 0 "$U" ls "$T/d.img" /
grep -q " 1500000 data$" "$T/out" || fail "ls does not show /data"
expect 0 "$U" info "$T/d.img"
grep -q "partitions  2" "$T/out" || fail "info does not list two partitions"
expect 0 "$U" fsck "$T/d.img"
grep -c ": clean" "$T/out" | grep -q 2 || fail "fsck did not report both partitions clean"
expect 1 "$U" get "$T/d.img" /missing "$T/x"
expect 2 "$U" get "$T/d.img"
expect 2 "$U" nosuchcommand
expect 1 "$U" ls mem:bad
# One superblock copy of partition 0 (at 2 MiB) damaged: reported with its
# place (exit 4); -y rewrites it (exit 1); then clean (exit 0).
printf '\377\377\377\377' | dd of="$T/d.img" bs=1 seek=$((2097152 + 4096 + 8)) conv=notrunc 2>/dev/null
expect 4 "$U" fsck -n -P 0 "$T/d.img"
grep -q "superblock (block 1 +0): superblock copy B: bad checksum" "$T/out" || fail "fsck does not say where the problem is"
expect 1 "$U" fsck -y "$T/d.img"
grep -q "\[repaired\]" "$T/out" || fail "fsck -y does not say what it repaired"
grep -q "partition 0: repaired" "$T/out" || fail "fsck -y: no summary"
expect 0 "$U" fsck "$T/d.img"
expect 0 "$U" get "$T/d.img" /data "$T/out1"
cmp -s "$T/in" "$T/out1" || fail "repair changed the data"
expect 16 "$U" fsck
# Both superblock copies of partition 0 (at 2 MiB) damaged: fsck exit 4.
printf '\377\377\377\377' | dd of="$T/d.img" bs=1 seek=$((2097152 + 8)) conv=notrunc 2>/dev/null
printf '\377\377\377\377' | dd of="$T/d.img" bs=1 seek=$((2097152 + 4096 + 8)) conv=notrunc 2>/dev/null
expect 4 "$U" fsck "$T/d.img"
grep -q "bad checksum" "$T/out" || fail "fsck does not say why partition 0 failed"
grep -q "partition 1: clean" "$T/out" || fail "fsck did not go on to partition 1"
# A device another process holds: refused (never waited for), naming the
# holder's pid; nothing written.
if command -v flock >/dev/null; then
	flock -o "$T/d.img" -c "touch '$T/locked'; sleep 3" &
	holder=$!
	for _ in $(seq 100); do [ -e "$T/locked" ] && break; sleep 0.05; done
	expect 1 "$U" mkfs -f "$T/d.img"
	grep -q "is open in another process (pid [0-9]* holds its lock" "$T/err" ||
		grep -q "is open in another process or another open" "$T/err" ||
		fail "mkfs of a held device does not say who holds it"
	wait "$holder"
	expect 4 "$U" fsck "$T/d.img"		# the table and file systems are still there
fi
echo "cli_test: ok"
