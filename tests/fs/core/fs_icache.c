/* SPDX-License-Identifier: MIT */
/*
 * The inode cache holds many inodes: 20,000 files held at once (the
 * table grows several times on the way) are each found again as the same
 * in-memory inode, by name and by number, with the right attributes; a
 * file written through one hold reads back through another; every hold
 * dropped, unmount succeeds and the files are there after a remount.
 */
#include "fs_util.h"

#define N	20000

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:512M", &dev);
	static struct udax_inode *held[N];
	static uint32_t ino[N];
	struct udax_inode *root, *x;
	struct udax_stat st;
	char name[32];

	FS_OK(udax_iget_root(fs, &root));
	for (int k = 0; k < N; k++) {
		struct udax_file *f;

		snprintf(name, sizeof(name), "f%d", k);
		FS_OK(udax_create_at(fs, root, name, O_RDWR, 0600, NULL, &held[k], &f, &st));
		T_ASSERT(udax_pwrite(f, &k, sizeof(k), 0) == sizeof(k));
		FS_OK(udax_close(&f));
		ino[k] = st.ino;
	}
	for (int k = 0; k < N; k++) {
		snprintf(name, sizeof(name), "f%d", k);
		FS_OK(udax_lookup(fs, root, name, &x, &st));
		T_ASSERT(x == held[k] && st.ino == ino[k] && st.size == sizeof(k));
		FS_OK(udax_iput(&x));
		FS_OK(udax_iget(fs, ino[k], UDAX_GEN_ANY, &x, NULL));
		T_ASSERT(x == held[k]);
		FS_OK(udax_iput(&x));
	}
	{
		struct udax_file *f;
		int v = -1;

		FS_OK(udax_open_inode(fs, held[N / 2], O_RDONLY, &f));
		T_ASSERT(udax_pread(f, &v, sizeof(v), 0) == sizeof(v) && v == N / 2);
		FS_OK(udax_close(&f));
	}
	FS_ERR(udax_unmount(&fs), -EBUSY);
	for (int k = 0; k < N; k++)
		FS_OK(udax_iput(&held[k]));
	FS_OK(udax_iput(&root));
	t_fs_remount(dev, &fs);
	FS_OK(udax_stat(fs, "/f12345", &st));
	T_ASSERT(st.ino == ino[12345] && st.size == sizeof(int));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
