#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/kvm-dax-preload.sh: unmodified fio and sqlite3 through
# libudax-preload.so inside the kvm-dax guest, next to the same jobs on
# ext4 -o dax on the same pmem, in the same boot (bench/preload-jobs.sh's
# jobs and script; bench/preload.sh runs them on the host against tmpfs).
#
#   bench/kvm-dax-preload.sh [OUTDIR]      results in OUTDIR/preload.txt
#                                          (default build-kvm/)
#   env: ROUNDS (5), FIO_SIZE (16M), SQL_TX (300), FIO_RUNTIME (2 s: the
#        random read and overwrite jobs), IMG_SIZE (256M: the udax image),
#        PRELOAD_BUILD (build-preload: where libudax-preload.so is built),
#        KDAX_SMP (1), KDAX_TIMEOUT (1500 s), KDAX_DIR (../shared/kvm-dax),
#        BUNDLE_ONLY=1: make OUTDIR/kvm-dax-preload.bundle, do not boot (the
#        bundle runs on the host too: `BUNDLE DIR` benchmarks in DIR)
#
# The guest runs one executable, /kdax/prog, with busybox and a few glibc
# libraries; fio, sqlite3 and bash are dynamic programs.  So /kdax/prog is
# a bundle: a /bin/sh header that extracts the tar appended to it into
# /tmp/kdax-preload and runs bench/kvm-dax-preload-guest.sh with the bundled
# bash.  The tar holds fio, sqlite3, bash, the static udax (mkfs, rm, fsck
# of the image), libudax-preload.so, every library they need (ldd) and the
# host's loader, through which every program runs (ld-linux --library-path),
# so the guest's own /lib does not matter.
#
# Under software emulation (TCG) absolute figures are slow: read the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
KDAX=${KDAX_DIR:-../shared/kvm-dax}
OUT=${1:-build-kvm}
PB=${PRELOAD_BUILD:-build-preload}
mkdir -p "$OUT"
for p in fio sqlite3 bash; do
	command -v "$p" >/dev/null || { echo "bench/kvm-dax-preload.sh: needs $p" >&2; exit 2; }
done

cmake -S . -B build-static -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DUDAX_STATIC_BINARY=ON >/dev/null
ninja -C build-static tools/udax
cmake -S . -B "$PB" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
ninja -C "$PB" src/preload/libudax-preload.so

S=$(mktemp -d "${TMPDIR:-/tmp}/kvm-dax-preload.XXXXXX")
trap 'rm -rf "$S"' EXIT
mkdir "$S/bin" "$S/lib"
cp "$(command -v fio)" "$(command -v sqlite3)" "$(command -v bash)" "$S/bin/"
cp build-static/tools/udax "$S/bin/udax"
cp "$PB/src/preload/libudax-preload.so" "$S/lib/"
cp bench/preload-jobs.sh bench/kvm-dax-preload-guest.sh "$S/"
# every library by the name the programs ask for (ldd's left column), and
# the loader ("/lib64/ld-linux-x86-64.so.2 (0x...)", no "=>")
libs=$(ldd "$S"/bin/fio "$S"/bin/sqlite3 "$S"/bin/bash "$S"/lib/libudax-preload.so)
if grep -q 'not found' <<<"$libs"; then
	echo "bench/kvm-dax-preload.sh: missing libraries:" >&2
	grep 'not found' <<<"$libs" >&2
	exit 2
fi
awk '$2 == "=>" && $3 ~ /^\// {print $1, $3} $1 ~ /^\/.*ld-linux/ {print "ld-linux-x86-64.so.2", $1}' <<<"$libs" |
	sort -u | while read -r name path; do cp -L "$path" "$S/lib/$name"; done
[ -x "$S/lib/ld-linux-x86-64.so.2" ] || { echo "bench/kvm-dax-preload.sh: no loader in ldd's output" >&2; exit 2; }
cat >"$S/bench.env" <<EOF
ROUNDS=${ROUNDS:-5}
FIO_SIZE=${FIO_SIZE:-16M}
SQL_TX=${SQL_TX:-300}
FIO_RUNTIME=${FIO_RUNTIME:-2}
IMG_SIZE=${IMG_SIZE:-256M}
EOF

# the header: the tar starts at byte OFF (1-based, for tail -c +OFF) of the
# bundle; OFF is written into the header, so iterate until its width settles
header() {
	cat <<EOF
#!/bin/sh
# bench/kvm-dax-preload.sh's bundle: a tar from byte $1 on
B=/tmp/kdax-preload
mkdir -p "\$B" && tail -c +$1 "\$0" | tar -x -C "\$B" || { echo "bundle: extraction failed" >&2; exit 2; }
exec "\$B/lib/ld-linux-x86-64.so.2" --library-path "\$B/lib" "\$B/bin/bash" "\$B/kvm-dax-preload-guest.sh" "\$@"
EOF
}
off=1
while [ "$(header "$off" | wc -c)" -ne $((off - 1)) ]; do off=$(($(header "$off" | wc -c) + 1)); done
BUNDLE=$OUT/kvm-dax-preload.bundle
{ header "$off"; tar -C "$S" -cf - .; } >"$BUNDLE"
chmod 755 "$BUNDLE"
echo "bundle: $BUNDLE, $(du -m "$BUNDLE" | cut -f1) MiB, $(find "$S/lib" -name '*.so*' | wc -l) libraries" >&2

[ "${BUNDLE_ONLY:-0}" = 1 ] && exit 0

# One vCPU: every job is one thread.  With two, ext4's fdatasync hands its
# commit to jbd2 on the other vCPU, and under TCG on a loaded host that
# wakeup costs milliseconds (2026-12-05: 116-314 appends/s with 2 vCPUs,
# 403-979 with 1), which would be emulation counted against the kernel.
export KDAX_SMP=${KDAX_SMP:-1}
export KDAX_TIMEOUT=${KDAX_TIMEOUT:-1500}
export KDAX_QUIET=${KDAX_QUIET:-1}
echo "=== fio and sqlite3 through libudax-preload.so (udax image on /mnt/dax vs ext4 -o dax)"
"$KDAX/run.sh" "$BUNDLE" | tee "$OUT/preload.txt"
