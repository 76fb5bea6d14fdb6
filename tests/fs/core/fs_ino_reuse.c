/* SPDX-License-Identifier: MIT */
/*
 * An inode number goes back to the allocator when its inode leaves the
 * cache, not when its record is freed on media.  An unlink frees the
 * record of a file nobody has open inside the operation, but the unlinker
 * still holds the inode until its last put; a create that took the number
 * meanwhile would put a second inode of that number in the cache, and the
 * first one's eviction would clear the cached bit of the number's state
 * word under the second (a stat would read its record and miss appends
 * only the fast log holds).  Here: every inode in use, one file unlinked
 * through the handle calls' internal path with its victim still held; a
 * create must find no free inode until that victim is put, then get it.
 */
#include "fs/core.h"
#include "fs_util.h"

int main(void)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 16 };
	struct fs_inode *root, *victim = NULL;
	struct udax_dev *dev = t_fs_dev("mem:16M");
	struct udax_fsck_report rep;
	struct udax_file *f;
	struct udax_stat st;
	struct udax_fs *fs;
	uint32_t freed;
	int n = 0, r;

	FS_OK(udax_mkfs(dev, 0, &mo));
	fs = t_fs_mount(dev);
	for (;; n++) {
		char p[32];

		snprintf(p, sizeof(p), "/f%d", n);
		r = udax_open(fs, p, O_RDWR | O_CREAT, 0644, &f);
		if (r)
			break;
		FS_OK(udax_close(&f));
	}
	FS_ERR(r, -ENOSPC);
	T_ASSERT(n > 4);
	FS_OK(udax_stat(fs, "/f3", &st));
	freed = (uint32_t)st.ino;

	FS_OK(fs_iget(fs, UDAX_ROOT_INO, &root));
	fs_ns_lock(fs);
	FS_OK(fs_at_remove(fs, root, "f3", 2, false, NULL, &victim));
	fs_ns_unlock(fs);
	T_ASSERT(victim && victim->ino == freed && !victim->nlink);

	/* Freed on media, still held: its number is not free yet. */
	FS_ERR(udax_open(fs, "/g", O_RDWR | O_CREAT, 0644, &f), -ENOSPC);
	FS_OK(fs_iput(victim));
	FS_OK(udax_open(fs, "/g", O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_close(&f));
	FS_OK(udax_stat(fs, "/g", &st));
	T_ASSERT(st.ino == freed);
	FS_OK(fs_iput(root));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
