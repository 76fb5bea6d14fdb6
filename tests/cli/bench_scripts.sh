#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The benchmark scripts (no CI machine runs the kvm-dax ones): every
# bench/*.sh parses (bash -n) and, where shellcheck is installed, passes
# it clean; bench/preload-jobs.sh's arithmetic (the median, fio's
# IOPS out of its JSON, the sqlite3 time sum, the udax/other ratio) gives
# what it must, in the fixed-point notation bc reads.
#
# usage: bench_scripts.sh SRCDIR
set -euo pipefail
src=$1
fail=0
for f in "$src"/bench/*.sh; do
	bash -n "$f" || { echo "bench_scripts: bash -n $f failed" >&2; fail=1; }
done
if command -v shellcheck >/dev/null 2>&1; then
	(cd "$src" && shellcheck -x bench/*.sh) || { echo "bench_scripts: shellcheck" >&2; fail=1; }
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# shellcheck source=bench/preload-jobs.sh
. "$src/bench/preload-jobs.sh"
check() {	# WHAT GOT WANT
	[ "$2" = "$3" ] || { echo "bench_scripts: $1: got '$2', want '$3'" >&2; fail=1; }
}
check "median of 3" "$(printf '3\n1e5\n2\n' | median)" 3.000000
check "median of 4" "$(printf '4\n1\n2\n3\n' | median)" 2.500000

# fio and sqlite3 stand-ins: what the real ones print, big enough that awk's
# print would have written an exponent
# shellcheck disable=SC2317  # called through FIO and SQLITE3
fake_fio() {
	printf '{\n  "jobs" : [\n    {\n      "read" : {\n        "iops" : 1234567.250000,\n'
	printf '        "iops_min" : 1,\n      },\n      "write" : {\n        "iops" : 0.500000,\n'
	printf '      },\n      "trim" : {\n        "iops" : 99.000000,\n'
}
# shellcheck disable=SC2317
fake_sqlite3() {
	cat >/dev/null
	printf 'Run Time: real 0.000050 user 0 sys 0\nwal\nRun Time: real 0.25 user 0 sys 0\nok\n'
}
# shellcheck disable=SC2317
side_setup() { DIR=$T PRE=(); }
FIO=(fake_fio) SQLITE3=(fake_sqlite3) SQL_TX=3 FIO_SIZE=1M
check "fio IOPS" "$(fio_job randread x)" 1234567.750000
sql_script wal >"$T/wal.sql"
check "sqlite3 script" "$(grep -c '^BEGIN;.*COMMIT;$' "$T/wal.sql")" 3
check "sqlite3 seconds" "$(sql_job wal x)" 0.250050

# pair: the udax side first in odd rounds, medians, ratio by direction
ROUNDS=3 SIDES="udax other" KEY_PREFIX=t
# shellcheck disable=SC2317
fake_job() {	# NAME SIDE; udax: 10 20 30 in its rounds; other: 4 5 6
	local v
	v=$(cat "$T/n.$2" 2>/dev/null || echo 0)
	echo $((v + 1)) >"$T/n.$2"
	echo "$2 $((v + 1))" >>"$T/order"
	if [ "$2" = udax ]; then echo $(((v + 1) * 10)); else echo $((v + 4)); fi
}
out=$(pair k IOPS 1 fake_job x 2>/dev/null)
check "pair, higher better" "$(echo "$out" | tr '\n' '|')" "t.k.udax 20 IOPS|t.k.other 5 IOPS|t.k.ratio 4.00 x|"
check "pair order" "$(tr '\n' ' ' <"$T/order")" "udax 1 other 1 other 2 udax 2 udax 3 other 3 "
rm -f "$T"/n.* "$T/order"
out=$(pair k s 0 fake_job x 2>/dev/null)
check "pair, lower better" "$(echo "$out" | sed -n 3p)" "t.k.ratio 0.25 x"

[ "$fail" = 0 ] && echo "bench_scripts: $(find "$src/bench" -name '*.sh' | wc -l) scripts ok, preload-jobs arithmetic ok"
exit "$fail"
