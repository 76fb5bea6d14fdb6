#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/preload.sh: unmodified fio and sqlite3 on udax through
# libudax-preload.so (a mem: device that persists like PMem:
# mem:SIZE,persist=cpu) against the same job on tmpfs, in the same run.
# Each pair runs ROUNDS times, the order alternating (udax first in odd
# rounds, tmpfs first in even ones); the median is reported.
#
#   bench/preload.sh [BUILD]        (default build/)
#   env: ROUNDS (3), FIO_SIZE (64M), SQL_TX (2000 transactions), TMPDIR_FS (/dev/shm),
#        FIO_RUNTIME (2 s: the random read and overwrite jobs)
#
# The sqlite3 times are the sum of its statements' times (.timer on): the
# process's start (on udax: making and mounting the device) is not in them.
# Prints "key value unit" lines: fio IOPS for 4 KiB appends each followed
# by fdatasync (psync and sync engines) and without it (the write alone),
# random 4 KiB writes (into fio's
# fallocated file: each converts an unwritten block, a journal commit; and
# over written blocks, --overwrite=1) and random 4 KiB reads (psync and
# sync; all --thread), the sqlite3 script's seconds (rollback journal and
# WAL), and the udax/tmpfs ratio of each (>1: udax faster).  The jobs and
# the script are bench/preload-jobs.sh's (the kvm-dax guest runs them too).
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
if ! command -v fio >/dev/null || ! command -v sqlite3 >/dev/null; then
	echo "bench/preload.sh: needs fio and sqlite3" >&2; exit 2
fi

FIO=(fio)
SQLITE3=(sqlite3)
SIDES="udax tmpfs"
KEY_PREFIX=preload
# bench/preload-jobs.sh: the jobs and the script, shared with the kvm-dax
# guest (bench/kvm-dax-preload.sh)
# shellcheck source=bench/preload-jobs.sh
. "$(dirname "$0")/preload-jobs.sh"

side_setup() {	# SIDE FILE...: a fresh mem: device per process; tmpfs: remove FILE...
	local side=$1 f; shift
	for f; do rm -f "${T:?}/$f"; done
	DIR=$T PRE=()
	if [ "$side" = udax ]; then
		DIR=/udax
		PRE=(env "UDAX_PRELOAD=/udax=$DEV" "LD_PRELOAD=$PL")
	fi
}

echo "# libudax-preload.so on $DEV vs tmpfs ($TFS), $ROUNDS rounds, median; ratio >1: udax faster" >&2
all_pairs
