# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# bench/preload-jobs.sh: the fio jobs and the sqlite3 script of the preload
# benchmarks, sourced (bash) by bench/preload.sh (udax on mem: vs tmpfs, on
# the host) and bench/kvm-dax-preload-guest.sh (udax on a file image vs
# ext4 -o dax, in the kvm-dax guest), so both measure the same thing.
#
# The sourcing script sets:
#   FIO, SQLITE3   arrays: how to run fio and sqlite3 (e.g. (fio), or the
#                  guest's loader, --library-path and the program)
#   FIO_SIZE SQL_TX ROUNDS [FIO_RUNTIME], T (a scratch directory)
#   SIDES          "udax OTHER": the key suffixes, udax first
#   KEY_PREFIX     the first part of each key ("preload", "kvm_preload")
#   side_setup SIDE FILE...   a function: removes FILE... of a previous run
#                  on SIDE, sets DIR (where SIDE's files go) and PRE (an
#                  array: the command prefix, env + LD_PRELOAD on udax)
# and calls pair KEY UNIT HIGHER_IS_BETTER {fio_job|sql_job} JOB.

# Numbers go between awk, bc and printf in fixed-point notation: bc reads no
# exponents, and awk's print would write large or small ones with one.
median() { sort -g | awk '{a[NR]=$1} END {printf "%.6f\n", (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

# fio_iops SIDE JOBARGS: one fio run, its IOPS (read + write).  The first two
# "iops" keys of fio's JSON are jobs[0].read.iops and jobs[0].write.iops
# (awk rather than python: the kvm-dax guest has none).
fio_iops() {
	local side=$1; shift
	side_setup "$side" fio.f
	"${PRE[@]}" "${FIO[@]}" --name=j --thread --bs=4k --size="$FIO_SIZE" \
		--filename="$DIR/fio.f" --output-format=json "$@" >"$T/fio.json" 2>"$T/fio.err" ||
		{ echo "fio on $side failed: $*" >&2; cat "$T/fio.err" >&2; exit 1; }
	awk -F: '/^ *"iops" :/ {s += $2; if (++n == 2) {printf "%.6f\n", s; exit}}' "$T/fio.json"
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
	local side=$1 script=$2
	side_setup "$side" b.db b.db-journal b.db-wal b.db-shm
	{ echo ".timer on"; cat "$script"; } | "${PRE[@]}" "${SQLITE3[@]}" "$DIR/b.db" >"$T/sql.out" ||
		{ echo "sqlite3 on $side failed" >&2; exit 1; }
	grep -qx ok "$T/sql.out" || { echo "integrity_check on $side" >&2; exit 1; }
	awk '/^Run Time: real/ {t += $4} END {printf "%.6f\n", t}' "$T/sql.out"
}

pair() {	# KEY UNIT HIGHER_IS_BETTER CMD...: udax and the other side, alternating
	local key=$1 unit=$2 hib=$3; shift 3
	local u=() k=() r
	local us=${SIDES% *} ks=${SIDES#* }
	for ((r = 1; r <= ROUNDS; r++)); do
		if ((r % 2)); then
			u+=("$("$@" "$us")"); k+=("$("$@" "$ks")")
		else
			k+=("$("$@" "$ks")"); u+=("$("$@" "$us")")
		fi
	done
	echo "# $KEY_PREFIX.$key: $us ${u[*]}; $ks ${k[*]}" >&2
	local um km
	um=$(printf '%s\n' "${u[@]}" | median)
	km=$(printf '%s\n' "${k[@]}" | median)
	printf '%s.%s.%s %.3g %s\n' "$KEY_PREFIX" "$key" "$us" "$um" "$unit"
	printf '%s.%s.%s %.3g %s\n' "$KEY_PREFIX" "$key" "$ks" "$km" "$unit"
	if [ "$hib" = 1 ]; then
		printf '%s.%s.ratio %.2f x\n' "$KEY_PREFIX" "$key" "$(echo "$um / $km" | bc -l)"
	else
		printf '%s.%s.ratio %.2f x\n' "$KEY_PREFIX" "$key" "$(echo "$km / $um" | bc -l)"
	fi
}

fio_job() {	# NAME SIDE
	# Jobs that do not grow or convert the file run FIO_RUNTIME seconds over
	# it: one pass of a small file is over in milliseconds on udax, too short
	# to outlast a scheduling hiccup of a loaded host (or of TCG's threads).
	local timed=(--time_based --runtime="${FIO_RUNTIME:-2}")
	case $1 in
	append) fio_iops "$2" --ioengine=psync --rw=write --fdatasync=1 --file_append=1 --fallocate=none ;;
	append_sync) fio_iops "$2" --ioengine=sync --rw=write --fdatasync=1 --file_append=1 --fallocate=none ;;
	append_nofsync) fio_iops "$2" --ioengine=psync --rw=write --file_append=1 --fallocate=none ;;
	randwrite_alloc) fio_iops "$2" --ioengine=psync --rw=randwrite ;;
	randwrite_over) fio_iops "$2" --ioengine=psync --rw=randwrite --overwrite=1 "${timed[@]}" ;;
	randread) fio_iops "$2" --ioengine=psync --rw=randread "${timed[@]}" ;;
	randread_sync) fio_iops "$2" --ioengine=sync --rw=randread "${timed[@]}" ;;
	esac
}
sql_job() { sql_secs "$2" "$T/$1.sql"; }

# all_pairs: every figure, in the order the READMEs list them
all_pairs() {
	sql_script delete >"$T/delete.sql"
	sql_script wal >"$T/wal.sql"
	pair fio.append_4k_fdatasync IOPS 1 fio_job append
	pair fio.append_4k_fdatasync_sync IOPS 1 fio_job append_sync
	pair fio.append_4k_no_fdatasync IOPS 1 fio_job append_nofsync
	pair fio.randwrite_4k_fallocated IOPS 1 fio_job randwrite_alloc
	pair fio.randwrite_4k_overwrite IOPS 1 fio_job randwrite_over
	pair fio.randread_4k IOPS 1 fio_job randread
	pair fio.randread_4k_sync IOPS 1 fio_job randread_sync
	pair sqlite3.journal_delete s 0 sql_job delete
	pair sqlite3.journal_wal s 0 sql_job wal
}
