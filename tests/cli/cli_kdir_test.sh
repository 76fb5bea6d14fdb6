#!/usr/bin/env bash
# udax dmatest and udax bench fs never hurt the machine through their
# kernel directory (docs/cli.md, "Kernel directories"): an unknown scenario
# exits 2; -f full on a memory-backed directory (tmpfs) is refused (2); the
# default fill is bounded (4 times the scenario's file); files a killed run
# left are removed at the start; SIGTERM and SIGINT remove the run's files
# (kernel directory, the /var/tmp source); a second run on a claimed
# directory is refused; bench fs refuses a big file that does not fit and
# leaves nothing behind.
set -u
U=$1
fail() { echo "cli_kdir_test: FAIL: $*" >&2; exit 1; }
# A directory of our own on tmpfs when there is one (the memory checks),
# else on disk.
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	K=$(mktemp -d /dev/shm/udax-kdir-test.XXXXXX); MEM=1
else
	K=$(mktemp -d); MEM=0
fi
T=$(mktemp -d)
trap 'rm -rf "$K" "$T"' EXIT
unset KDAX_DISK KDAX_SLOW_DISK UDAX_DAX_DIR
expect() {	# expect STATUS CMD...
	local want=$1; shift
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	[ "$got" = "$want" ] || { tail -5 "$T/err" >&2; fail "'$*' exited $got, want $want"; }
}
nothing_left() {	# nothing_left PID WHAT
	[ ! -e "$K/udax-dmatest" ] && [ ! -e "$K/udax-bench" ] ||
		{ ls -la "$K"/* >&2; fail "$2: files left in $K"; }
	[ ! -e "/var/tmp/udax-dmatest.$1.src" ] || fail "$2: source file left in /var/tmp"
}
# wait_for PATH PID: until PATH exists (or PID ended).
wait_for() {
	for _ in $(seq 1 3000); do
		[ -e "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.02
	done
	return 1
}

# ---- bench fs ------------------------------------------------------------------
expect 1 "$U" bench fs -k "$K" -s 1T
grep -q "too little" "$T/err" || fail "bench fs -s 1T: no clear message"
expect 1 "$U" bench fs -k "$K" -n 2000000000		# appends: 8 TB
grep -q "too little" "$T/err" || fail "bench fs -n 2000000000: no clear message"
nothing_left 0 "bench fs refused"
mkdir "$K/udax-bench" && : >"$K/udax-bench/big" && : >"$K/udax-bench/c7"
expect 0 "$U" bench fs -k "$K" -d mem:64M -s 1M -n 64
grep -q "removed 2 files an earlier run left" "$T/err" || fail "bench fs: stale files not removed"
nothing_left 0 "bench fs"
"$U" bench fs -k "$K" -d mem:128M -s 8M -n 20000 >/dev/null 2>&1 &
p=$!
wait_for "$K/udax-bench/.lock" $p || fail "bench fs did not claim its directory"
expect 1 "$U" bench fs -k "$K" -d mem:64M -s 1M -n 64	# claimed
grep -q "in use by another run" "$T/err" || fail "a second bench fs: no clear refusal"
kill -INT $p; wait $p; st=$?
[ $st = 130 ] || fail "bench fs after SIGINT exited $st, want 130"
nothing_left $p "bench fs after SIGINT"

# ---- dmatest -------------------------------------------------------------------
if ! "$U" --help | grep -q "^  dmatest "; then
	echo "cli_kdir_test: ok (no dmatest: built without liburing)"
	exit 0
fi
expect 2 "$U" dmatest -o no.such.scenario -k "$K"
grep -q "unknown scenario 'no.such.scenario' (known: baseline" "$T/err" || fail "dmatest -o: no list"
expect 2 "$U" dmatest -x nope
expect 2 "$U" dmatest -f lots
expect 2 "$U" dmatest extra
nothing_left 0 "dmatest usage errors"
if [ $MEM = 1 ]; then
	expect 2 "$U" dmatest -k "$K" -f full -o baseline
	grep -q "tmpfs, which is memory" "$T/err" || fail "dmatest -f full on tmpfs: no clear refusal"
	expect 2 "$U" dmatest -k "$K" -f 0 -o baseline	# 0: full, the old form
	nothing_left 0 "dmatest -f full refused"
fi
# The default bound: filler and victim 4 times the file (16 blocks).
mkdir "$K/udax-dmatest" && : >"$K/udax-dmatest/filler" && : >"$K/udax-dmatest/victim"
expect 0 "$U" dmatest -k "$K" -o baseline -b 16 -j "$T/dm.json"
grep -q "removed 2 files an earlier run left" "$T/err" || fail "dmatest: stale files not removed"
python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
r = r.get("results", r)
def val(k):
    for key, v in r.items():
        if key == k: return v["value"] if isinstance(v, dict) else v
        if isinstance(v, dict) and k in v: return v[k]["value"]
    raise KeyError(k)
assert val("baseline.kernel.victim_blocks") == 64, val("baseline.kernel.victim_blocks")
assert val("baseline.udax.victim_blocks") == 64, val("baseline.udax.victim_blocks")
' "$T/dm.json" || fail "dmatest: the default fill is not 4 times the file"
nothing_left 0 "dmatest"
# Signals: TERM in the udax phase (a slow pipe keeps its reads in flight for
# seconds; the device file the run made, the source, the claimed directory),
# INT in the kernel phase (its files; that phase is short: a run that ends
# before the poll sees it is tried again).
"$U" dmatest -k "$K" -d "$K/dev.img" -o truncate.slow -b 16 -r 32K >/dev/null 2>"$T/dm.err" &
p=$!
wait_for "$K/udax-dmatest/.lock" $p || { cat "$T/dm.err" >&2; fail "dmatest did not claim $K"; }
expect 1 "$U" dmatest -k "$K" -o baseline -b 16		# claimed
grep -q "in use by another run" "$T/err" || fail "a second dmatest: no clear refusal"
wait_for "$K/dev.img" $p || fail "dmatest made no device file"
[ -e "/var/tmp/udax-dmatest.$p.src" ] || fail "dmatest: no source in /var/tmp"
kill -TERM $p; wait $p; st=$?
[ $st = 143 ] || fail "dmatest after SIGTERM exited $st"
nothing_left $p "dmatest after SIGTERM"
[ ! -e "$K/dev.img" ] || fail "dmatest after SIGTERM: the device file it made is left"
caught=0
for try in 1 2 3 4; do
	"$U" dmatest -k "$K" -o truncate.slow -b 16 -r 128K >/dev/null 2>"$T/dm.err" &
	p=$!
	if wait_for "$K/udax-dmatest/filler" $p; then
		kill -INT $p; wait $p; st=$?
		[ $st = 130 ] || fail "dmatest after SIGINT exited $st"
		caught=1
	else
		wait $p || { cat "$T/dm.err" >&2; fail "dmatest failed"; }
	fi
	nothing_left $p "dmatest after SIGINT (try $try)"
	[ $caught = 1 ] && break
done
[ $caught = 1 ] || fail "the kernel phase was never seen in 4 runs"
echo "cli_kdir_test: ok"
