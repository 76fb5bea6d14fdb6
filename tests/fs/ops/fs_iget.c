/* SPDX-License-Identifier: MIT */
/*
 * udax_iget: an inode by number and generation, as a file handle names it.
 * A linked inode is found with its generation and refused (-ESTALE) with
 * another; numbers out of range or free are -ESTALE; an unlinked inode is
 * found while it is still held or open and is stale after its last close;
 * a number reused by a new file is stale for the old generation; the
 * numbers and generations hold across a remount.
 */
#include "fs_util.h"

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_inode *root, *x, *y;
	struct udax_stat st, st2;
	struct udax_file *fh;
	uint32_t ino, gen;

	FS_OK(udax_iget_root(fs, &root));
	FS_OK(udax_iget(fs, UDAX_ROOT_INO, UDAX_GEN_ANY, &x, &st));
	T_ASSERT(x == root && S_ISDIR(st.mode));
	FS_OK(udax_iput(&x));

	FS_OK(udax_create_at(fs, root, "f", O_RDWR, 0644, NULL, &x, &fh, &st));
	T_ASSERT(udax_pwrite(fh, "data", 4, 0) == 4);
	ino = st.ino;
	gen = st.gen;
	FS_OK(udax_close(&fh));
	FS_OK(udax_iput(&x));

	/* by number and generation, also once the cache dropped it */
	FS_OK(udax_iget(fs, ino, gen, &x, &st2));
	T_ASSERT(st2.ino == ino && st2.gen == gen && st2.size == 4);
	FS_OK(udax_iget(fs, ino, gen, &y, NULL));
	T_ASSERT(y == x);
	FS_OK(udax_iput(&y));
	FS_ERR(udax_iget(fs, ino, gen + 1, &y, NULL), -ESTALE);
	T_ASSERT(y == NULL);
	FS_OK(udax_iput(&x));
	FS_ERR(udax_iget(fs, ino, gen + 1, &y, NULL), -ESTALE);
	FS_OK(udax_iget(fs, ino, UDAX_GEN_ANY, &y, &st2));
	T_ASSERT(st2.gen == gen);
	FS_OK(udax_iput(&y));

	/* numbers nothing lives at, bad arguments */
	FS_ERR(udax_iget(fs, 0, UDAX_GEN_ANY, &y, NULL), -ESTALE);
	FS_ERR(udax_iget(fs, ino + 1, UDAX_GEN_ANY, &y, NULL), -ESTALE);
	FS_ERR(udax_iget(fs, 1ull << 40, UDAX_GEN_ANY, &y, NULL), -ESTALE);
	FS_ERR(udax_iget(fs, ino, UDAX_GEN_ANY + 1, &y, NULL), -EINVAL);
	FS_ERR(udax_iget(NULL, ino, gen, &y, NULL), -EINVAL);
	FS_ERR(udax_iget(fs, ino, gen, NULL, NULL), -EINVAL);

	/* unlinked: found while open, stale after the last close */
	FS_OK(udax_open(fs, "/f", O_RDONLY, 0, &fh));
	FS_OK(udax_unlink(fs, "/f"));
	FS_OK(udax_iget(fs, ino, gen, &x, &st2));
	T_ASSERT(st2.nlink == 0);
	FS_OK(udax_iput(&x));
	FS_OK(udax_close(&fh));
	FS_ERR(udax_iget(fs, ino, gen, &x, NULL), -ESTALE);
	FS_ERR(udax_iget(fs, ino, UDAX_GEN_ANY, &x, NULL), -ESTALE);

	/* the number reused (new files until one gets it): a new
	 * generation, and the old one stays stale */
	for (int k = 0;; k++) {
		char name[32];

		T_ASSERT(k < 100000);
		snprintf(name, sizeof(name), "g%d", k);
		FS_OK(udax_create_at(fs, root, name, O_RDWR, 0644, NULL, NULL,
				     &fh, &st));
		FS_OK(udax_close(&fh));
		if (st.ino == ino)
			break;
	}
	T_ASSERT(st.gen != gen);
	FS_ERR(udax_iget(fs, ino, gen, &x, NULL), -ESTALE);
	gen = st.gen;

	/* across a remount */
	FS_OK(udax_iput(&root));
	t_fs_remount(dev, &fs);
	FS_OK(udax_iget(fs, ino, gen, &x, &st2));
	T_ASSERT(st2.ino == ino && S_ISREG(st2.mode));
	FS_OK(udax_iput(&x));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
