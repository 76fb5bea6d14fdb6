#!/usr/bin/env bash
# udax mount through the kernel: mount a file-backed device (the server
# owns it; fsck runs on it after), the POSIX behaviour checks of
# fuse_posix.py, a multi-process fio workload (psync, 4 jobs, randrw, for
# a bounded time) with its data verified, unmount with fusermount3 -u and
# udax fsck clean; then a remount that finds the files again, SIGTERM to
# the server (a clean unmount too) and fsck clean again.  Skips (77) when
# FUSE cannot be used here: no /dev/fuse, no fusermount3, not root (the
# test needs allow_other and a second user), or udax built without FUSE.
set -u
U=$1
SRC=$(cd "$(dirname "$0")" && pwd)
# The image on tmpfs where there is one: each transaction's msync is then
# cheap, and the test measures udax, not the disk.
T=$(mktemp -d -p /dev/shm 2>/dev/null || mktemp -d)
M=$T/mnt
pid=
cleanup() {
	mountpoint -q "$M" 2>/dev/null && fusermount3 -u -z "$M"
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
skip() { echo "fuse_test: SKIP: $*"; exit 77; }
fail() { echo "fuse_test: FAIL: $*" >&2; exit 1; }

[ -c /dev/fuse ] || skip "no /dev/fuse"
command -v fusermount3 >/dev/null || skip "no fusermount3 (apt-get install fuse3)"
[ "$(id -u)" = 0 ] || skip "not root (the test mounts with allow_other and acts as a second user)"
command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps)"
mkdir -p "$M"
chmod 755 "$T"	# the second user reaches the mount
"$U" mkfs -q -s 128M "$T/img" >/dev/null || fail "mkfs"

# The server's pid: the one process whose command line names the image.
server_pid() {
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q "^$U mount .*$T/img" &&
			echo "${p#/proc/}"
	done
}
# Wait (at most 30 s) for process $1 to end.
wait_gone() {
	for _ in $(seq 300); do
		[ -d "/proc/$1" ] || return 0
		sleep 0.1
	done
	fail "the server (pid $1) did not exit"
}
# $1: the mount options (default: allow_other,default_permissions),
# $2 the source and type /proc/mounts must show (default udax:IMG fuse.udax).
do_mount() {
	if ! "$U" mount -o "${1:-allow_other,default_permissions}" "$T/img" "$M" 2>"$T/err"; then
		grep -q "built without FUSE" "$T/err" && skip "$(cat "$T/err")"
		grep -qiE "fuse: device not found|/dev/fuse|fusermount|not permitted" "$T/err" &&
			skip "FUSE is not usable here: $(cat "$T/err")"
		cat "$T/err" >&2
		fail "udax mount"
	fi
	mountpoint -q "$M" || fail "udax mount returned before the mount was ready"
	pid=$(server_pid)
	[ -n "$pid" ] || fail "no server process"
	grep -q "^${2:-udax:$T/img $M fuse.udax} " /proc/mounts ||
		fail "not in /proc/mounts as ${2:-udax:$T/img $M fuse.udax}"
}

do_mount
python3 "$SRC/fuse_posix.py" "$M" || fail "POSIX behaviour (fuse_posix.py)"

# A multi-process workload: 4 fio jobs of random reads and writes, each
# block verified by its checksum.
if command -v fio >/dev/null; then
	fio --name=udax --directory="$M" --ioengine=psync --rw=randrw --bs=4k \
	    --size=8M --numjobs=4 --time_based --runtime=10 --verify=crc32c --verify_state_save=0 \
	    --verify_fatal=1 --group_reporting >"$T/fio" 2>&1 ||
		{ cat "$T/fio" >&2; fail "fio"; }
	grep -E "^ +(read|write):" "$T/fio"
	# and a verify pass over what the jobs left
	fio --name=udax --directory="$M" --ioengine=psync --rw=write --bs=64k \
	    --size=8M --numjobs=4 --verify=crc32c --verify_fatal=1 --verify_state_save=0 >"$T/fio" 2>&1 ||
		{ cat "$T/fio" >&2; fail "fio write+verify"; }
else
	echo "fuse_test: fio not installed (scripts/install-deps): workload left out"
fi
echo "keep me" >"$M/kept"
# -o remount: read-only (writes EROFS, nosuid and nodev kept), then
# read-write again
"$U" mount -o remount,ro "$T/img" "$M" || fail "udax mount -o remount,ro"
grep -q " $M ro,nosuid,nodev" /proc/self/mountinfo || fail "not ro, nosuid, nodev after remount,ro"
( echo x >"$M/kept" ) 2>/dev/null && fail "a write to a read-only remount"
"$U" mount -o remount,rw "$T/img" "$M" || fail "udax mount -o remount,rw"
echo "keep me" >"$M/kept" || fail "a write after remount,rw"
"$U" mount -o remount,ro "$T/img" "$T" 2>/dev/null && fail "remount of a directory that is no FUSE mount"
# a mount point whose name /proc/self/mountinfo escapes (a space)
mkdir -p "$T/m 2" && "$U" mkfs -q -s 16M "$T/img2" >/dev/null || fail "mkfs img2"
"$U" mount "$T/img2" "$T/m 2" || fail "udax mount at a path with a space"
"$U" mount -o remount,ro "$T/img2" "$T/m 2" || { fusermount3 -u "$T/m 2"; fail "remount of a path with a space"; }
( : >"$T/m 2/x" ) 2>/dev/null && { fusermount3 -u "$T/m 2"; fail "a write to a read-only remount (path with a space)"; }
fusermount3 -u "$T/m 2" || fail "fusermount3 -u of the second mount"
python3 "$SRC/fuse_handle.py" save "$M" "$T/handles" || fail "file handles (save)"

fusermount3 -u "$M" || fail "fusermount3 -u"
wait_gone "$pid"
pid=
"$U" fsck "$T/img" || fail "fsck after fusermount3 -u"

# A bad option is refused before anything is mounted.
"$U" mount -o dir_cache=0 "$T/img" "$M" 2>"$T/err" && fail "mount -o dir_cache=0 succeeded"
grep -q "dir_cache=0: want a size" "$T/err" || fail "mount -o dir_cache=0: $(cat "$T/err")"
mountpoint -q "$M" && fail "mounted after a bad option"

# Without default_permissions the kernel asks the server's access.  The
# source and type are chosen here: no subtype gives the plain type "fuse"
# (what xfstests' FSTYP=fuse looks for).  Directory indexes get 4 KiB: a
# directory's is freed after each request that uses another.
do_mount allow_other,fsname=udax-test,subtype=,dir_cache=4K "udax-test $M fuse"
[ "$(cat "$M/kept")" = "keep me" ] || fail "a file did not survive the remount"
python3 "$SRC/fuse_handle.py" open "$M" "$T/handles" || fail "file handles after a remount"
chmod 0604 "$M/kept"
python3 - "$M/kept" <<'EOF' || fail "access(2) answered by the server"
import os, sys
f = sys.argv[1]
assert os.access(f, os.R_OK | os.W_OK), "root reads and writes"
assert not os.access(f, os.X_OK), "root executes only with an x bit"
assert not os.access(f + ".nope", os.F_OK), "a missing file"
def as_user(want):
    pid = os.fork()
    if pid == 0:
        os.setgid(4321)
        os.setuid(1234)
        os._exit(0 if want() else 1)
    return os.waitpid(pid, 0)[1] == 0
assert as_user(lambda: os.access(f, os.R_OK) and not os.access(f, os.W_OK)), \
    "another user gets the other bits"
os.chmod(f, 0o600)
assert as_user(lambda: not os.access(f, os.R_OK)), "another user without the other bits"
EOF
exec 9<"$M/kept"	# a file the kernel still has open at SIGTERM
kill -TERM "$pid"
wait_gone "$pid"
pid=
exec 9<&-
mountpoint -q "$M" && fail "still mounted after SIGTERM"
"$U" fsck "$T/img" || fail "fsck after SIGTERM"
echo "fuse_test: ok"
