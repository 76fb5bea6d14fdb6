/* SPDX-License-Identifier: MIT */
/*
 * Extent maps at scale (docs/fs.md, "Extent maps"): a single file of
 * 1,000,000 extents (one-block unwritten extents at every other file
 * block, a few of them written) is built, fsync'd, remounted (every leaf
 * validated), read back, punched in the middle, truncated to half and to
 * zero, with fsck clean at each step and every block given back.  Then
 * two files appended to alternately, each past the 64,271 blocks that
 * made as many extents and overflowed an extent chain (format version 1),
 * read back after a remount: with per-file reservations each grew in
 * runs of its own.
 * The device is sparse: blocks that are never written are never touched.
 */
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_util.h"

#define BS	4096ull

static void fsck_clean(struct udax_dev *dev)
{
	struct udax_fsck_report r;

	memset(&r, 0, sizeof(r));
	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &r));
	T_ASSERT(r.problems == 0);
}

static void expect_block(struct udax_file *f, uint64_t b, int c)
{
	static uint8_t buf[BS], want[BS];

	memset(want, c, BS);
	T_ASSERT(udax_pread(f, buf, BS, b * BS) == (ssize_t)BS);
	T_ASSERT(!memcmp(buf, want, BS));
}

static void big_file(uint64_t nx)
{
	struct udax_dev *dev = t_fs_dev("mem:4400M");
	struct udax_statfs s0, s1;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_stat st;
	static uint8_t buf[BS];

	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_statfs(fs, &s0));	/* the root's first block counted */
	for (uint64_t k = 0; k < nx; k++)
		FS_OK(udax_fallocate(f, 0, 2 * k * BS, BS));
	/* Written blocks all over the map (each stays its own extent). */
	for (uint64_t k = 0; k < nx; k += nx / 64) {
		memset(buf, (int)(k % 251) + 1, BS);
		T_ASSERT(udax_pwrite(f, buf, BS, 2 * k * BS) == (ssize_t)BS);
	}
	FS_OK(udax_fsync(f));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == (2 * nx - 1) * BS && st.blocks == nx);
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);

	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &f));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == (2 * nx - 1) * BS && st.blocks == nx);
	for (uint64_t k = 0; k < nx; k += nx / 64) {
		expect_block(f, 2 * k, (int)(k % 251) + 1);
		expect_block(f, 2 * k + 1, 0);		/* a hole */
		expect_block(f, 2 * k + 2, 0);		/* unwritten */
	}
	/* Punch the middle: 1000 extents out of leaves in the middle. */
	FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			     nx * BS, 2000 * BS));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.blocks == nx - 1000);
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);

	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &f));
	expect_block(f, 0, 1);
	FS_OK(udax_ftruncate(f, nx * BS));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.blocks == nx / 2);	/* the punched ones were above */
	FS_OK(udax_fsync(f));
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);

	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &f));
	expect_block(f, 0, 1);
	FS_OK(udax_ftruncate(f, 0));
	FS_OK(udax_close(&f));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free);
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);
	FS_OK(udax_dev_close(&dev, 0));
}

/* Two files growing by one block each in turn: their blocks interleave,
 * so each block is an extent of its own unless the allocator keeps runs
 * apart.  Most steps extend with fallocate (no data to touch), every
 * 64th is a real append checked after a remount. */
static void two_files(uint64_t steps)
{
	struct udax_dev *dev = t_fs_dev("mem:1200M");
	struct udax_file *f[2];
	struct udax_fs *fs;
	struct udax_stat st;
	static uint8_t buf[BS];
	uint64_t ino[2];

	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/a", O_RDWR | O_CREAT, 0644, &f[0]));
	FS_OK(udax_open(fs, "/b", O_RDWR | O_CREAT, 0644, &f[1]));
	for (uint64_t k = 0; k < steps; k++)
		for (int j = 0; j < 2; j++) {
			if (k % 64 == 0) {
				uint64_t where;

				memset(buf, (int)((k / 64 + j) % 255) + 1, BS);
				T_ASSERT(udax_append(f[j], buf, BS, &where) ==
					 (ssize_t)BS);
				T_ASSERT(where == k * BS);
			} else {
				FS_OK(udax_fallocate(f[j], 0, k * BS, BS));
			}
		}
	for (int j = 0; j < 2; j++) {
		FS_OK(udax_fsync(f[j]));
		FS_OK(udax_close(&f[j]));
	}
	t_fs_remount(dev, &fs);
	FS_OK(udax_open(fs, "/a", O_RDWR, 0, &f[0]));
	FS_OK(udax_open(fs, "/b", O_RDWR, 0, &f[1]));
	for (int j = 0; j < 2; j++) {
		FS_OK(udax_fstat(f[j], &st));
		ino[j] = st.ino;
		T_ASSERT(st.size == steps * BS && st.blocks == steps);
		for (uint64_t k = 0; k < steps; k += 64)
			expect_block(f[j], k, (int)((k / 64 + j) % 255) + 1);
		expect_block(f[j], 1, 0);
		FS_OK(udax_close(&f[j]));
	}
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);
	/* Each file grew in runs of its own (per-file reservations): an
	 * extent per written block between unwritten ones (2 per 64 steps)
	 * and per run, not one per block. */
	for (int j = 0; j < 2; j++) {
		struct udax_part_info pi;
		const struct fs_dsuper *sb;
		const struct fs_dinode *di;

		FS_OK(udax_dev_part(dev, 0, &pi));
		sb = (const void *)pi.addr;
		di = (const void *)((const char *)pi.addr + sb->itable_start * BS +
				    ino[j] * 256ull);
		T_ASSERT(di->nr_extents >= 1 &&
			 di->nr_extents <= 2 * steps / 64 + 200);
	}
	FS_OK(udax_dev_close(&dev, 0));
}

int main(void)
{
	big_file(1000000);
	two_files(70000);
	printf("fs_extents: ok\n");
	return 0;
}
