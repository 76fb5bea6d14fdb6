#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/preload.sh: unmodified fio and sqlite3 on udax through
# libudax-preload.so (a mem: device that persists like PMem:
# mem:SIZE,persist=cpu) against the same job on tmpfs, in the same run.
# Each pair runs ROUNDS times, the order alternating (udax first in odd
# rounds, tmpfs first in even ones); the median is reported.
#
#   bench/preload.sh [BUILD]        (default build/)
#   env: ROUNDS (3), FIO_SIZE (64M), SQL_TX (2000 transactions), TMPDIR_FS (/dev/shm)
#
# The sqlite3 times are the sum of its statements' times (.timer on): the
# process's start (on udax: making and mounting the device) is not in them.
# Prints "key value unit" lines: fio IOPS for 4 KiB appends each followed
# by fdatasync, random 4 KiB writes (into fio's fallocated file: each
# converts an unwritten block, a journal commit; and over written blocks,
# --overwrite=1) and random 4 KiB reads (psync engine, --thread), the sqlite3 script's seconds (rollback journal and WAL), and
# the udax/tmpfs ratio of each (>1: udax faster).
set -euo pipefail
B=${1:-build}
PL=$(realpath "$B/src/preload/libudax-preload.so")
ROUNDS=${ROUNDS:-3}
FIO_SIZE=${FIO_SIZE:-64M}
SQL_TX=${SQL_TX:-2000}
TFS=${TMPDIR_FS:-/dev/shm}
DEV=${DEV:-mem:256M,persist=cpu}
T=$(mktemp -d "$TFS/udax-preload-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT
command -v fio >/dev/null && command -v sqlite3 >/dev/null ||
	{ echo "bench/preload.sh: needs fio and sqlite3" >&2; exit 2; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# fio_iops SIDE JOBARGS: one fio run, its IOPS (read + write)
fio_iops() {
	local side=$1; shift
	local dir=$T pre=()
	if [ "$side" = udax ]; then
		dir=/udax
		pre=(env UDAX_PRELOAD=/udax=$DEV LD_PRELOAD=$PL)
	fi
	rm -f "$T/fio.f"
	"${pre[@]}" fio --name=j --thread --ioengine=psync --bs=4k --size="$FIO_SIZE" \
		--filename="$dir/fio.f" --output-format=json "$@" 2>/dev/null |
		python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; print(j["read"]["iops"] + j["write"]["iops"])'
}

sql_script() {	# the transaction-heavy script, journal mode $1
	echo "PRAGMA journal_mode=$1;"
	echo "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);"
	for ((i = 1; i <= SQL_TX; i++)); do
		echo "BEGIN; INSERT INTO t(k, v) VALUES('k$i', randomblob(100)); UPDATE t SET v = randomblob(120) WHERE id = $(( (i * 7919) % SQL_TX % i + 1 )); COMMIT;"
	done
	echo "CREATE INDEX tk ON t(k);"
	echo "SELECT count(*), sum(length(v)) FROM t WHERE k > 'k5';"
	echo "PRAGMA integrity_check;"
}

sql_secs() {	# SIDE SCRIPT: seconds inside sqlite3 (.timer: the statements' real time)
	local side=$1 script=$2 db=$T/b.db pre=()
	rm -f "$T"/b.db*
	if [ "$side" = udax ]; then
		db=/udax/b.db
		pre=(env UDAX_PRELOAD=/udax=$DEV LD_PRELOAD=$PL)
	fi
	{ echo ".timer on"; cat "$script"; } | "${pre[@]}" sqlite3 "$db" >"$T/sql.out" ||
		{ echo "bench/preload.sh: sqlite3 on $side failed" >&2; exit 1; }
	grep -qx ok "$T/sql.out" || { echo "bench/preload.sh: integrity_check on $side" >&2; exit 1; }
	awk '/^Run Time: real/ {t += $4} END {print t}' "$T/sql.out"
}

pair() {	# KEY UNIT HIGHER_IS_BETTER CMD...: udax and tmpfs, alternating
	local key=$1 unit=$2 hib=$3; shift 3
	local u=() k=() r
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then
			u+=("$("$@" udax)"); k+=("$("$@" tmpfs)")
		else
			k+=("$("$@" tmpfs)"); u+=("$("$@" udax)")
		fi
	done
	local um km
	um=$(printf '%s\n' "${u[@]}" | median)
	km=$(printf '%s\n' "${k[@]}" | median)
	printf 'preload.%s.udax %.3g %s\n' "$key" "$um" "$unit"
	printf 'preload.%s.tmpfs %.3g %s\n' "$key" "$km" "$unit"
	if [ "$hib" = 1 ]; then
		printf 'preload.%s.ratio %.2f x\n' "$key" "$(echo "$um / $km" | bc -l)"
	else
		printf 'preload.%s.ratio %.2f x\n' "$key" "$(echo "$km / $um" | bc -l)"
	fi
}

fio_job() {	# NAME SIDE
	case $1 in
	append) fio_iops "$2" --rw=write --fdatasync=1 --file_append=1 --fallocate=none ;;
	randwrite_alloc) fio_iops "$2" --rw=randwrite ;;
	randwrite_over) fio_iops "$2" --rw=randwrite --overwrite=1 ;;
	randread) fio_iops "$2" --rw=randread ;;
	esac
}
sql_job() { sql_secs "$2" "$T/$1.sql"; }

sql_script delete >"$T/delete.sql"
sql_script wal >"$T/wal.sql"
echo "# libudax-preload.so on $DEV vs tmpfs ($TFS), $ROUNDS rounds, median; ratio >1: udax faster" >&2
pair fio.append_4k_fdatasync IOPS 1 fio_job append
pair fio.randwrite_4k_fallocated IOPS 1 fio_job randwrite_alloc
pair fio.randwrite_4k_overwrite IOPS 1 fio_job randwrite_over
pair fio.randread_4k IOPS 1 fio_job randread
pair sqlite3.journal_delete s 0 sql_job delete
pair sqlite3.journal_wal s 0 sql_job wal
