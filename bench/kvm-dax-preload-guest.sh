#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/kvm-dax-preload-guest.sh MNT: the guest half of bench/kvm-dax-preload.sh.
# Runs inside the kvm-dax guest from the extracted bundle (its directory holds
# bin/ (fio, sqlite3, the static udax), lib/ (their libraries, the host's
# loader, libudax-preload.so), preload-jobs.sh and bench.env), with the
# bundle's bash.  MNT is ext4 -o dax on the pmem (run.sh's first argument).
#
# udax's side: the preload on a udax image that is a file on MNT (mapped
# MAP_SYNC: the same pmem), made here by the static udax.  The kernel's side:
# the same jobs in MNT/kernel.  Pairs alternate their order per round
# (bench/preload-jobs.sh).  After the last job the image must be fsck-clean.
set -euo pipefail
B=$(cd "$(dirname "$0")" && pwd)
MNT=${1:?usage: kvm-dax-preload-guest.sh MNT}
# shellcheck source=/dev/null
. "$B/bench.env"	# ROUNDS FIO_SIZE SQL_TX FIO_RUNTIME IMG_SIZE, from the host
LD=$B/lib/ld-linux-x86-64.so.2
# the bundle's loader and libraries, whatever the guest's /lib holds
FIO=("$LD" --library-path "$B/lib" "$B/bin/fio")
SQLITE3=("$LD" --library-path "$B/lib" "$B/bin/sqlite3")
UDAX=$B/bin/udax
IMG=$MNT/udax.img
KDIR=$MNT/kernel
T=$(mktemp -d /tmp/kvm-preload.XXXXXX)	# outputs, on the guest's RAM root
SIDES="udax ext4dax"
KEY_PREFIX=kvm_preload
# shellcheck source=bench/preload-jobs.sh
. "$B/preload-jobs.sh"

# shellcheck disable=SC2317  # called by preload-jobs.sh
side_setup() {	# SIDE FILE...: remove FILE... of the previous run, set DIR and PRE
	local side=$1 f; shift
	if [ "$side" = udax ]; then
		"$UDAX" rm -f "$IMG" "${@/#//}" >/dev/null
		DIR=/udax
		PRE=(env "UDAX_PRELOAD=/udax=$IMG" "LD_PRELOAD=$B/lib/libudax-preload.so")
	else
		for f; do rm -f "${KDIR:?}/$f"; done
		DIR=$KDIR PRE=()
	fi
}

"$UDAX" mkfs -q -s "$IMG_SIZE" "$IMG" >/dev/null
mkdir -p "$KDIR"
echo "# fio and sqlite3 through libudax-preload.so on $IMG ($IMG_SIZE, on ext4 -o dax)" \
	"vs the same jobs in $KDIR, same boot; $ROUNDS rounds, median; ratio >1: udax faster;" \
	"FIO_SIZE=$FIO_SIZE FIO_RUNTIME=$FIO_RUNTIME SQL_TX=$SQL_TX" >&2
all_pairs
st=0
"$UDAX" fsck -n "$IMG" >&2 || st=$?
echo "kvm_preload.udax_fsck_status $st exit"
exit "$st"
