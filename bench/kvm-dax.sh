#!/usr/bin/env bash
# bench/kvm-dax.sh: udax next to the kernel's FS-DAX on the same memory.
#
# Builds a static udax (-DUDAX_STATIC_BINARY=ON) and runs it in
# ../shared/kvm-dax: Debian's 6.1 kernel in QEMU with emulated persistent
# memory, ext4 mounted -o dax on /mnt/dax.  udax's device is a file on that
# mount (mapped MAP_SYNC) and the kernel directory is the mount itself, so
# both sides use the same pmem in the same boot.  Four boots: udax bench fs;
# udax dmatest (real DMA from the guest's virtio disks /dev/vda and the
# read-throttled /dev/vdb); its starvation case; unmodified fio and sqlite3
# through libudax-preload.so next to the same jobs on ext4 -o dax
# (bench/kvm-dax-preload.sh, OUTDIR/preload.txt).
#
#   bench/kvm-dax.sh [OUTDIR]      results in OUTDIR (default build-kvm/)
#   (PRELOAD_TIMEOUT, default 1500 s: the limit of the fio/sqlite3 boot)
#
# Needs ../shared/kvm-dax/setup.sh to have run once on the machine (root).
# Under software emulation (TCG) absolute times are slow: compare ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
KDAX=${KDAX_DIR:-../shared/kvm-dax}
OUT=${1:-build-kvm}
mkdir -p "$OUT"

cmake -S . -B build-static -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" -DUDAX_STATIC_BINARY=ON >/dev/null
ninja -C build-static tools/udax
BIN=build-static/tools/udax

export KDAX_TIMEOUT=${KDAX_TIMEOUT:-900}
# The throttled disk at 4 MiB/s: 8 MiB of reads stay in flight for 2 s,
# longer than writing a victim file takes, so late DMA is seen.
export KDAX_SLOW_DISK_BPS=${KDAX_SLOW_DISK_BPS:-4194304}
export KDAX_QUIET=${KDAX_QUIET:-1}

echo "=== udax bench fs (udax file device on /mnt/dax vs ext4 -o dax)"
"$KDAX/run.sh" "$BIN" bench fs -d file:/mnt/dax/udax.img -k /mnt/dax/kernel \
	-n "${BENCH_OPS:-2000}" -s "${BENCH_FILE:-32M}" -j /dev/stderr \
	| tee "$OUT/bench-fs.txt"

# dmatest fills the guest's pmem file system (-f full: every block a
# truncate frees is then the victim's; the pmem is bounded by KDAX_PMEM_GB
# and its ext4 is not tmpfs); FILL_CAP=N bounds the fill to N blocks.
echo "=== udax dmatest (udax vs ext4 -o dax, DMA from /dev/vda and /dev/vdb)"
"$KDAX/run.sh" "$BIN" dmatest -d file:/mnt/dax/udax-dma.img -k /mnt/dax \
	-f "${FILL_CAP:-full}" -x starve.truncate.slow | tee "$OUT/dmatest.txt"

# Starvation in a boot of its own: on ext4 -o dax the truncate can end in
# uninterruptible sleep (hung-task warnings), which no signal ends; the
# harness timeout then stops the guest and the console says so.
echo "=== udax dmatest starvation (a boot of its own)"
KDAX_TIMEOUT=${STARVE_TIMEOUT:-240} "$KDAX/run.sh" "$BIN" dmatest \
	-d file:/mnt/dax/udax-dma.img -k /mnt/dax -f "${FILL_CAP:-full}" \
	-o starve.truncate.slow | tee "$OUT/dmatest-starve.txt" || \
	echo "starvation run ended with status $? (124: the guest was stopped at the timeout)" |
	tee -a "$OUT/dmatest-starve.txt"

# Unmodified fio and sqlite3 through the preload vs ext4 -o dax, a boot of
# its own (bench/kvm-dax-preload.sh: the dynamic programs go in as a bundle).
KDAX_TIMEOUT=${PRELOAD_TIMEOUT:-1500} bench/kvm-dax-preload.sh "$OUT"
