/* SPDX-License-Identifier: MIT */
/*
 * Running out: of blocks (a write or fallocate that cannot be satisfied
 * fails with -ENOSPC and changes nothing, blocks included), of inodes,
 * and of journal space (a change too big for the journal fails and leaves
 * memory and media as they were).  Removing everything gives every block
 * and inode back, also across a remount.
 */
#include "fs_util.h"

#define BS	4096

static void same_statfs(struct udax_fs *fs, const struct udax_statfs *a)
{
	struct udax_statfs b;

	FS_OK(udax_statfs(fs, &b));
	T_ASSERT(a->blocks_free == b.blocks_free && a->inodes_free == b.inodes_free);
}

int main(void)
{
	struct udax_dev *dev = t_fs_dev("mem:8M");
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_statfs s0, s1;
	struct udax_stat st, st2;
	static uint8_t buf[256 * 1024];
	char p[64];
	uint64_t off = 0;
	int n, r;

	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 32,
							 .journal_blocks = 4 }));
	fs = t_fs_mount(dev);
	FS_OK(udax_statfs(fs, &s0));

	/* Blocks. */
	t_fill(buf, sizeof(buf), 1);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	while ((r = (int)udax_pwrite(f, buf, sizeof(buf), off)) > 0)
		off += (uint64_t)r;
	FS_ERR(r, -ENOSPC);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == off);
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free < sizeof(buf) / BS);
	FS_ERR(udax_pwrite(f, buf, sizeof(buf), off), -ENOSPC);	/* again */
	same_statfs(fs, &s1);
	FS_ERR(udax_fallocate(f, 0, off, sizeof(buf)), -ENOSPC);
	same_statfs(fs, &s1);
	FS_OK(udax_fstat(f, &st2));
	T_ASSERT(st2.size == st.size && st2.blocks == st.blocks);
	if (s1.blocks_free) {		/* what is left still works */
		T_ASSERT(udax_pwrite(f, buf, BS, off) == BS);
		off += BS;
	}
	FS_OK(udax_close(&f));

	/* Inodes: 32 minus inode 0, root and /big. */
	for (n = 0;; n++) {
		snprintf(p, sizeof(p), "/f%d", n);
		r = udax_open(fs, p, O_RDWR | O_CREAT, 0644, &f);
		if (r)
			break;
		FS_OK(udax_close(&f));
	}
	FS_ERR(r, -ENOSPC);
	T_ASSERT(n == 29);
	FS_ERR(udax_mkdir(fs, "/dir", 0755), -ENOSPC);
	for (int i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "/f%d", i);
		FS_OK(udax_unlink(fs, p));
	}
	FS_OK(udax_unlink(fs, "/big"));
	FS_OK(udax_statfs(fs, &s1));
	/* The root directory keeps the blocks it grew. */
	FS_OK(udax_stat(fs, "/", &st));
	T_ASSERT(s1.blocks_free + st.blocks == s0.blocks_free);
	T_ASSERT(s1.inodes_free == s0.inodes_free);

	/* Journal: 3 body blocks.  Changes to a file of 800 extents (4
	 * leaves) still fit, as each rewrites only the leaves it touches;
	 * a collapse at the start shifts every extent, rewriting all 4
	 * leaves: too big, it fails and changes nothing. */
	FS_OK(udax_open(fs, "/frag", O_RDWR | O_CREAT, 0644, &f));
	for (off = 0; off < 1600; off += 2)
		T_ASSERT(udax_pwrite(f, buf, BS, off * BS) == BS);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == 1599 * BS && st.blocks == 800);
	FS_OK(udax_statfs(fs, &s1));
	FS_ERR(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 0, 2 * BS), -ENOSPC);
	T_ASSERT(strstr(udax_fs_last_error(), "journal"));
	same_statfs(fs, &s1);
	FS_OK(udax_fstat(f, &st2));
	T_ASSERT(st2.size == st.size && st2.blocks == st.blocks);
	/* A collapse near the end touches one leaf: that fits. */
	FS_OK(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 1590 * BS, 2 * BS));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == 1597 * BS && st.blocks == 799);
	/* Filling a hole merges extents: that still fits. */
	T_ASSERT(udax_pwrite(f, buf, BS, BS) == BS);
	FS_OK(udax_close(&f));
	t_fs_remount(dev, &fs);
	FS_OK(udax_stat(fs, "/frag", &st2));
	T_ASSERT(st2.size == st.size && st2.blocks == st.blocks + 1);
	FS_OK(udax_unlink(fs, "/frag"));
	FS_OK(udax_statfs(fs, &s1));
	FS_OK(udax_stat(fs, "/", &st));
	T_ASSERT(s1.blocks_free + st.blocks == s0.blocks_free);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
