/* SPDX-License-Identifier: MIT */
/*
 * A path walk through an indexed directory finds the directory's inode
 * cached: looking up a name in a directory of many extents (free space
 * cut into single blocks, so each directory block is an extent of its
 * own, in extent leaves) allocates exactly as much as in a directory of
 * one block, instead of reloading the record and every leaf of its map
 * at each call.  Then: rmdir of such a directory frees it (the index's
 * reference does not make it an orphan), unmount is not refused for the
 * indexes' references, and fsck is clean.
 */
#include <linux/falloc.h>
#include <udax/fault.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define NAME_PAD	200	/* ~19 entries per directory block */

static void ename(char *p, size_t n, const char *dir, int i)
{
	snprintf(p, n, "%s/%0*d", dir, NAME_PAD, i);
}

/* Allocations made by stat(@path) (nothing fails: armed far away). */
static long stat_allocs(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;
	long n;

	FS_OK(udax_fault_set(UDAX_FAULT_MALLOC, 1L << 40, 1, -ENOMEM));
	FS_OK(udax_stat(fs, path, &st));
	n = udax_fault_calls(UDAX_FAULT_MALLOC);
	udax_fault_clear(UDAX_FAULT_MALLOC);
	return n;
}

int main(void)
{
	static char blk[UDAX_FS_BLOCK_SIZE];
	struct udax_fsck_report rep;
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:32M", &dev);
	struct udax_stat st;
	char p[300];
	long small, big;

	/* Fill the device with one file, then punch every other block out of
	 * it: the free space is single blocks between used ones. */
	{
		struct udax_file *f;
		uint64_t size = 0;

		FS_OK(udax_open(fs, "/fill", O_CREAT | O_RDWR, 0644, &f));
		while (udax_pwrite(f, blk, sizeof(blk), size) == sizeof(blk))
			size += sizeof(blk);
		T_ASSERT(size > (16u << 20));
		for (uint64_t off = 0; off < size; off += 2 * sizeof(blk))
			FS_OK(udax_fallocate(f, FALLOC_FL_PUNCH_HOLE |
					     FALLOC_FL_KEEP_SIZE, off, sizeof(blk)));
		FS_OK(udax_close(&f));
	}

	/* A directory of one block and one of 60 blocks in those holes. */
	FS_OK(udax_mkdir(fs, "/small", 0755));
	FS_OK(udax_mkdir(fs, "/big", 0755));
	ename(p, sizeof(p), "/small", 0);
	t_write_file(fs, p, "x", 1);
	for (int i = 0; ; i++) {
		ename(p, sizeof(p), "/big", i);
		t_write_file(fs, p, "x", 1);
		FS_OK(udax_stat(fs, "/big", &st));
		if (st.size >= 60 * UDAX_FS_BLOCK_SIZE)
			break;
	}

	/* Warm both (index built, inodes cached), then count. */
	ename(p, sizeof(p), "/small", 0);
	FS_OK(udax_stat(fs, p, &st));
	small = stat_allocs(fs, p);
	ename(p, sizeof(p), "/big", 7);
	FS_OK(udax_stat(fs, p, &st));
	big = stat_allocs(fs, p);
	if (big != small) {
		fprintf(stderr, "stat in a 60-extent directory made %ld "
			"allocations, in a one-block directory %ld\n", big, small);
		return 1;
	}

	/* The indexes' references neither keep a removed directory nor
	 * hold up unmount. */
	for (int i = 0; ; i++) {
		ename(p, sizeof(p), "/big", i);
		if (udax_unlink(fs, p) == -ENOENT)
			break;
	}
	FS_OK(udax_rmdir(fs, "/big"));
	FS_ERR(udax_stat(fs, "/big", &st), -ENOENT);
	t_fs_remount(dev, &fs);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
	T_ASSERT(rep.problems == 0 && rep.dirs == 2);
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
