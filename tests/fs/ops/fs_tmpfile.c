/* SPDX-License-Identifier: MIT */
/*
 * O_TMPFILE and udax_flink: an unnamed file in a directory (no entry,
 * nlink 0, owner and setgid rules as any create), readable and writable;
 * freed at its last close (its blocks back); named by udax_flink (then a
 * regular file with its data, after a remount too), refused with O_EXCL;
 * one left open across an unmount-less "crash" (a copy of the device) is
 * reclaimed by the next mount; the open errors; fsck clean.
 */
#include <udax/fsck.h>

#include "fs_util.h"

static uint64_t free_blocks(struct udax_fs *fs)
{
	struct udax_statfs s;

	FS_OK(udax_statfs(fs, &s));
	return s.blocks_free;
}

static int entries(struct udax_fs *fs, const char *path)
{
	struct udax_dirent e;
	struct udax_dir *d;
	int n = 0;

	FS_OK(udax_opendir(fs, path, &d));
	while (udax_readdir(d, &e) == 1)
		n++;
	FS_OK(udax_closedir(&d));
	return n;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	const struct udax_cred c = { 9, 10 };
	struct udax_fsck_report rep;
	struct udax_statfs s0, s1;
	struct udax_file *t, *g;
	struct udax_stat st;
	char buf[8192];
	uint64_t b0;

	memset(buf, 'k', sizeof(buf));
	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &g));
	FS_OK(udax_close(&g));

	/* Errors. */
	FS_ERR(udax_open(fs, "/d", O_RDONLY | O_TMPFILE, 0600, &t), -EINVAL);
	FS_ERR(udax_open(fs, "/d", O_RDWR | O_TMPFILE | O_CREAT, 0600, &t), -EINVAL);
	FS_ERR(udax_open(fs, "/f", O_RDWR | O_TMPFILE, 0600, &t), -ENOTDIR);
	FS_ERR(udax_open(fs, "/none", O_RDWR | O_TMPFILE, 0600, &t), -ENOENT);

	/* Unnamed, usable, freed at the last close. */
	b0 = free_blocks(fs);
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_open_cred(fs, "/d", O_RDWR | O_TMPFILE, 0640, &c, &t));
	T_ASSERT(entries(fs, "/d") == 0);
	FS_OK(udax_fstat(t, &st));
	T_ASSERT(S_ISREG(st.mode) && (st.mode & 07777) == 0640 && st.nlink == 0);
	T_ASSERT(st.uid == 9 && st.gid == 10);
	T_ASSERT(udax_pwrite(t, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	T_ASSERT(udax_pread(t, buf, 10, 100) == 10 && buf[0] == 'k');
	T_ASSERT(free_blocks(fs) == b0 - 2);
	FS_OK(udax_close(&t));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free && s1.inodes_free == s0.inodes_free);

	/* udax_flink names it; the data stays. */
	FS_OK(udax_open(fs, "/d", O_WRONLY | O_TMPFILE, 0600, &t));
	T_ASSERT(udax_pwrite(t, buf, 100, 0) == 100);
	FS_ERR(udax_flink(t, "/f"), -EEXIST);
	FS_OK(udax_flink(t, "/d/named"));
	FS_OK(udax_fstat(t, &st));
	T_ASSERT(st.nlink == 1);
	FS_OK(udax_flink(t, "/named2"));
	FS_OK(udax_close(&t));
	t_fs_remount(dev, &fs);
	FS_OK(udax_stat(fs, "/d/named", &st));
	T_ASSERT(S_ISREG(st.mode) && st.size == 100 && st.nlink == 2);
	/* O_EXCL: never named; an ordinary unlinked file: not named either. */
	FS_OK(udax_open(fs, "/d", O_RDWR | O_TMPFILE | O_EXCL, 0600, &t));
	FS_ERR(udax_flink(t, "/x"), -ENOENT);
	FS_OK(udax_close(&t));
	FS_OK(udax_open(fs, "/f", O_RDWR, 0, &g));
	FS_OK(udax_unlink(fs, "/f"));
	FS_ERR(udax_flink(g, "/f2"), -ENOENT);
	FS_OK(udax_close(&g));
	FS_ERR(udax_stat(fs, "/x", &st), -ENOENT);

	/* A crash with an unnamed file open: the next mount reclaims it. */
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_open(fs, "/d", O_RDWR | O_TMPFILE, 0600, &t));
	T_ASSERT(udax_pwrite(t, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	{
		struct udax_dev_info info;
		struct udax_dev *copy = t_fs_dev("mem:64M");
		struct udax_dev_info ci;
		struct udax_fs *fs2;

		FS_OK(udax_dev_info(dev, &info));
		FS_OK(udax_dev_info(copy, &ci));
		T_ASSERT(ci.size == info.size);
		memcpy(ci.addr, info.addr, info.size);	/* the image now */
		fs2 = t_fs_mount(copy);
		FS_OK(udax_statfs(fs2, &s1));
		T_ASSERT(s1.blocks_free == s0.blocks_free &&
			 s1.inodes_free == s0.inodes_free);
		FS_OK(udax_unmount(&fs2));
		FS_OK(udax_fsck(copy, 0, 0, NULL, NULL, &rep));
		T_ASSERT(rep.problems == 0);
		FS_OK(udax_dev_close(&copy, 0));
	}
	FS_OK(udax_close(&t));
	t_fs_close_clean(&dev, &fs);
	printf("fs_tmpfile: ok\n");
	return 0;
}
