#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Unmodified programs on udax through libudax-preload.so (docs/preload.md),
# each on a file image that must then mount and check clean with udax fsck.
#
# usage: preload_test.sh MODE UDAX LIBUDAX-PRELOAD.SO [PRELOAD_CALLS]
#   calls   the C program doing every intercepted call (PRELOAD_CALLS), on
#           a file image and on mem:; then fsck
#   threads threads sharing descriptors (PRELOAD_CALLS: preload_threads)
#   config  bad configuration: one message, the program runs on
#   tools   cp -r, tar (create, list, extract into and out of udax)
#   sqlite  sqlite3 (Debian 3.40) rollback journal and WAL: integrity_check
#   fio     fio 3.33 --thread, psync and sync engines, small sizes
#   kill    kill -9 of sqlite3 and of cp mid-run: fsck finds at most orphans (files
#           unlinked while open), the image mounts, and after that mount fsck is clean
# Exit 77 (skipped) when the program a mode needs is not installed.
set -u
mode=$1 U=$2 PL=$3 CALLS=${4:-}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "preload_test $mode: FAIL: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null || { echo "preload_test $mode: no $1: skipped"; exit 77; }; }
IMG=$T/pm.img
mkimg() { rm -f "$IMG"; "$U" mkfs -q -s "${1:-64M}" "$IMG" >/dev/null || fail "mkfs"; }
# run CMD... with /udax served from the image
on() { UDAX_PRELOAD=/udax=$IMG LD_PRELOAD=$PL "$@"; }
fsck_clean() {
	"$U" fsck "$IMG" >"$T/fsck" 2>&1 || { cat "$T/fsck" >&2; fail "fsck after $1: exit $?"; }
	grep -q ": clean" "$T/fsck" || { cat "$T/fsck" >&2; fail "fsck after $1 not clean"; }
}
# After a kill -9: what a crash may leave and the next mount finishes (a
# committed journal transaction, files unlinked while open: orphans), and
# nothing else; the caller then mounts and checks fsck_clean.
fsck_crashed() {
	"$U" fsck "$IMG" >"$T/fsck" 2>&1
	grep -q ": clean" "$T/fsck" && return 0
	if grep "^  " "$T/fsck" | grep -qv "orphan (link count 0"; then
		cat "$T/fsck" >&2
		fail "fsck after $1: more than orphans"
	fi
}

case $mode in
calls)
	[ -x "$CALLS" ] || fail "no preload_calls program"
	mkimg
	on "$CALLS" /udax || fail "preload_calls on a file image"
	fsck_clean preload_calls
	"$U" ls "$IMG" /d >/dev/null || fail "udax ls of the directory preload_calls made"
	UDAX_PRELOAD=/udax=mem:64M LD_PRELOAD=$PL "$CALLS" /udax || fail "preload_calls on mem:"
	# as a user other than root: owners at creation, mknod of a device EPERM
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		UDAX_PRELOAD=/udax=mem:64M LD_PRELOAD=$PL setpriv --reuid=65534 --regid=65534 \
			--clear-groups "$CALLS" /udax || fail "preload_calls on mem: as uid 65534"
	fi
	;;
threads)
	[ -x "$CALLS" ] || fail "no preload_threads program"
	# a memory device: on a file image outside DAX every write pays an msync
	UDAX_PRELOAD=/udax=mem:64M LD_PRELOAD=$PL "$CALLS" /udax || fail "preload_threads"
	;;
config)
	for bad in "udax=mem:64M" "/=mem:64M" "/udax" "/udax=mem:64M:99" "/a=mem:8M,/a/b=mem:8M"; do
		UDAX_PRELOAD=$bad LD_PRELOAD=$PL sh -c 'echo ran' >"$T/out" 2>"$T/err" ||
			fail "'$bad': the program did not run on"
		grep -q "^ran$" "$T/out" || fail "'$bad': no output"
		[ "$(grep -c 'UDAX_PRELOAD' "$T/err")" = 1 ] || { cat "$T/err"; fail "'$bad': not one message"; }
	done
	# a device that does not mount: one message, the prefix is the kernel's
	UDAX_PRELOAD=/udax=$T/none.img LD_PRELOAD=$PL ls /udax/x /udax/y \
		>"$T/out" 2>"$T/err"
	[ "$(grep -c 'cannot mount' "$T/err")" = 1 ] || { cat "$T/err"; fail "missing device: not one message"; }
	# a device spec with commas, and the debug trace
	UDAX_PRELOAD=/udax=mem:16M,persist=cpu UDAX_PRELOAD_DEBUG=1 LD_PRELOAD=$PL \
		sh -c 'echo x > /udax/f && read l < /udax/f && echo $l' >"$T/out" 2>"$T/err" || fail "mem:16M,persist=cpu"
	grep -q "^x$" "$T/out" || fail "persist=cpu: file content"
	grep -q "open /udax/f flags .* -> fd" "$T/err" || { cat "$T/err"; fail "no debug trace"; }
	;;
tools)
	mkimg
	mkdir -p "$T/src/a/b" "$T/src/c"
	head -c 300000 /dev/urandom >"$T/src/a/b/big"
	seq 1 20000 >"$T/src/a/seq"
	: >"$T/src/c/empty"
	echo small >"$T/src/small"
	ln -s a/seq "$T/src/lnk"		# a udax symbolic link once copied in
	ln -s ../small "$T/src/c/up"
	on mkdir /udax/copy || fail "mkdir"
	on cp -r "$T/src" /udax/copy/ || fail "cp -r into udax"
	fsck_clean "cp -r"
	on diff -r "$T/src" /udax/copy/src || fail "cp -r: trees differ"
	[ "$(on readlink /udax/copy/src/lnk)" = a/seq ] || fail "cp -r: the link's target"
	on cp -a "$T/src" /udax/preserved || fail "cp -a into udax"
	on diff -r "$T/src" /udax/preserved || fail "cp -a: trees differ"
	[ "$(on stat -c '%F %a %Y' /udax/preserved/c/up)" = \
	  "$(stat -c '%F %a %Y' "$T/src/c/up")" ] || fail "cp -a: the link's type, mode, mtime"
	[ "$(on stat -c '%a %Y' /udax/preserved/a/seq)" = "$(stat -c '%a %Y' "$T/src/a/seq")" ] ||
		fail "cp -a: a file's mode and mtime"
	on cp -r /udax/copy/src "$T/back" || fail "cp -r out of udax"
	diff -r "$T/src" "$T/back" || fail "cp -r out: trees differ"
	on tar cf /udax/t.tar -C "$T" src || fail "tar create on udax"
	on tar tf /udax/t.tar >"$T/list" || fail "tar list"
	grep -q "^src/a/b/big$" "$T/list" || fail "tar list misses a file"
	on mkdir /udax/x || fail "mkdir x"
	on tar xf /udax/t.tar -C /udax/x || fail "tar extract into udax (chdir into udax)"
	on diff -r "$T/src" /udax/x/src || fail "tar extract: trees differ"
	mkdir "$T/out"
	on tar xf /udax/t.tar -C "$T/out" || fail "tar extract out of udax"
	diff -r "$T/src" "$T/out/src" || fail "tar extract out: trees differ"
	[ "$(readlink "$T/out/src/c/up")" = ../small ] || fail "tar: the link came out a link"
	on rm -r /udax/copy || fail "rm -r"
	on mv /udax/x /udax/y || fail "mv"
	on ls -la /udax >"$T/ls" || fail "ls -la"
	grep -q " y$" "$T/ls" && ! grep -q " copy$" "$T/ls" || { cat "$T/ls"; fail "ls -la after rm, mv"; }
	fsck_clean "tar, rm -r, mv"
	;;
sqlite)
	need sqlite3
	mkimg
	{
		echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
		for i in $(seq 1 100); do
			echo "BEGIN; INSERT INTO t(k, v) VALUES('k$i', randomblob(200));"
			echo "INSERT INTO t(k, v) VALUES('j$i', randomblob(5000)); COMMIT;"
		done
		echo "UPDATE t SET v = randomblob(50) WHERE id % 3 = 0;"
		echo "CREATE INDEX tk ON t(k);"
		echo "DELETE FROM t WHERE id % 7 = 0;"
		echo "SELECT count(*) FROM t;"
		echo "PRAGMA integrity_check;"
	} >"$T/body.sql"
	for jm in delete wal; do
		{ echo "PRAGMA journal_mode=$jm;"; cat "$T/body.sql"; } >"$T/s.sql"
		on sqlite3 /udax/$jm.db <"$T/s.sql" >"$T/out" 2>&1 || { cat "$T/out"; fail "sqlite3 $jm"; }
		[ "$(sed -n 1p "$T/out")" = "$jm" ] || { cat "$T/out"; fail "journal mode $jm not taken"; }
		[ "$(tail -2 "$T/out" | tr '\n' ' ')" = "172 ok " ] || { cat "$T/out"; fail "sqlite3 $jm result"; }
		fsck_clean "sqlite3 $jm"
		on sqlite3 /udax/$jm.db "PRAGMA integrity_check; SELECT count(*) FROM t;" >"$T/out" 2>&1
		[ "$(tr '\n' ' ' <"$T/out")" = "ok 172 " ] || { cat "$T/out"; fail "sqlite3 $jm reopened"; }
	done
	;;
fio)
	need fio
	mkimg 128M
	for eng in psync sync; do
		for job in "--rw=write --fdatasync=1 --file_append=1 --fallocate=none" \
			   "--rw=randwrite" "--rw=randread" "--rw=randrw --verify=crc32c --do_verify=1 --verify_state_save=0"; do
			on fio --name=j --thread --ioengine=$eng --bs=4k --size=4M $job \
				--filename=/udax/fio.$eng --output-format=terse >"$T/out" 2>&1 ||
				{ cat "$T/out"; fail "fio $eng $job"; }
			grep -qi "error\|verify" "$T/out" && { cat "$T/out"; fail "fio $eng $job reported"; }
			# terse v3: field 6 read KiB, field 47 written KiB
			kb=$(awk -F';' '{print $6 + $47}' "$T/out")
			[ "$kb" -ge 4096 ] || { cat "$T/out"; fail "fio $eng $job moved $kb KiB"; }
		done
		fsck_clean "fio $eng"
	done
	"$U" stat "$IMG" /fio.psync >"$T/st" || fail "stat of fio's file"
	;;
kill)
	need sqlite3
	mkimg 128M
	for round in 1 2 3; do
		{
			echo "PRAGMA journal_mode=$([ $round = 2 ] && echo wal || echo delete);"
			echo "CREATE TABLE IF NOT EXISTS t(k INTEGER, v BLOB);"
			# far more than runs before the kill: it lands mid-run
			for i in $(seq 1 20000); do
				echo "BEGIN; INSERT INTO t VALUES($i, randomblob(3000)); DELETE FROM t WHERE k = $i - 5; COMMIT;"
			done
		} >"$T/k.sql"
		env UDAX_PRELOAD=/udax=$IMG LD_PRELOAD=$PL sqlite3 /udax/k.db <"$T/k.sql" >/dev/null 2>&1 &
		pid=$!
		sleep 0.$((3 + round))
		kill -9 $pid || fail "sqlite3 ended before the kill (round $round)"
		wait $pid 2>/dev/null
		fsck_crashed "kill -9 of sqlite3 (round $round)"
		on sqlite3 /udax/k.db "PRAGMA integrity_check;" >"$T/out" 2>&1
		[ "$(cat "$T/out")" = ok ] || { cat "$T/out"; fail "integrity_check after kill -9 round $round"; }
		fsck_clean "the mount after kill -9 of sqlite3 (round $round)"
	done
	head -c 20000000 /dev/urandom >"$T/big"
	# cp from a FIFO that gives it 8 MB, then nothing: killed mid-copy
	mkfifo "$T/fifo"
	{ head -c 8000000 "$T/big"; exec sleep 30; } >"$T/fifo" &
	feeder=$!
	env UDAX_PRELOAD=/udax=$IMG LD_PRELOAD=$PL cp "$T/fifo" /udax/big &
	pid=$!
	sleep 1
	kill -9 $pid || fail "cp ended before the kill"
	wait $pid 2>/dev/null
	kill $feeder 2>/dev/null
	fsck_crashed "kill -9 of cp"
	"$U" stat "$IMG" /big >"$T/st" || fail "the partial copy is not there"
	on cp "$T/big" /udax/big || fail "cp after kill -9"
	on cmp "$T/big" /udax/big || fail "cp after kill -9: content"
	fsck_clean "cp after kill -9"
	;;
*)
	fail "unknown mode"
	;;
esac
echo "preload_test $mode: ok"
