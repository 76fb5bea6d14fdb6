/* SPDX-License-Identifier: MIT */
/*
 * mkfs / mount / unmount round trips: an empty fs mounts, data and names
 * survive a remount, a second mount of a partition is -EBUSY, a partition
 * without a file system is -ENODATA, unmount with open files is -EBUSY,
 * a read-only mount refuses writes, and either superblock copy alone is
 * enough (a torn superblock write is survivable).
 */
#include "fs_util.h"

int main(void)
{
	struct udax_dev *dev = t_fs_dev("mem:64M");
	struct udax_fs *fs = NULL, *fs2 = NULL;
	struct udax_mount_opts ro = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_part_info pi;
	struct udax_statfs sf;
	struct udax_file *f;
	struct udax_stat st;
	char buf[10000], back[10000];
	size_t n;
	void *data;

	FS_ERR(udax_mount(dev, 0, NULL, &fs), -ENODATA);
	FS_ERR(udax_mount(dev, 1, NULL, &fs), -ENOENT);
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .label = "test" }));
	fs = t_fs_mount(dev);
	FS_ERR(udax_mount(dev, 0, NULL, &fs2), -EBUSY);
	FS_ERR(udax_mkfs(dev, 0, NULL), -EBUSY);
	FS_OK(udax_statfs(fs, &sf));
	T_ASSERT(sf.block_size == 4096 && sf.name_max == 255);
	T_ASSERT(sf.blocks_free == sf.blocks && sf.inodes_free == sf.inodes - 1);
	FS_OK(udax_stat(fs, "/", &st));
	T_ASSERT(st.ino == UDAX_ROOT_INO && S_ISDIR(st.mode) && st.nlink == 2);

	t_fill(buf, sizeof(buf), 1);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/f", buf, sizeof(buf));
	FS_OK(udax_open(fs, "/d/f", O_RDONLY, 0, &f));
	FS_ERR(udax_unmount(&fs), -EBUSY);
	T_ASSERT(fs);
	FS_OK(udax_close(&f));
	t_fs_remount(dev, &fs);
	data = t_read_file(fs, "/d/f", &n);
	T_ASSERT(n == sizeof(buf) && !memcmp(data, buf, n));
	free(data);
	FS_OK(udax_statfs(fs, &sf));
	T_ASSERT(sf.blocks_free == sf.blocks - 5 && sf.inodes_free == sf.inodes - 3);
	FS_OK(udax_unmount(&fs));
	T_ASSERT(!fs);

	/* Read-only. */
	FS_OK(udax_mount(dev, 0, &ro, &fs));
	FS_ERR(udax_open(fs, "/d/g", O_RDWR | O_CREAT, 0644, &f), -EROFS);
	FS_ERR(udax_open(fs, "/d/f", O_RDWR, 0, &f), -EROFS);
	FS_ERR(udax_mkdir(fs, "/e", 0755), -EROFS);
	FS_ERR(udax_unlink(fs, "/d/f"), -EROFS);
	FS_ERR(udax_rename(fs, "/d/f", "/g", 0), -EROFS);
	FS_OK(udax_open(fs, "/d/f", O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, back, sizeof(back), 0) == sizeof(back));
	T_ASSERT(!memcmp(back, buf, sizeof(buf)));
	FS_ERR(udax_pwrite(f, buf, 1, 0), -EBADF);
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));

	/* Superblock copies: either one alone mounts; neither: -EUCLEAN. */
	FS_OK(udax_dev_part(dev, 0, &pi));
	memcpy(buf, pi.addr, 4096);
	((char *)pi.addr)[100] ^= 1;
	fs = t_fs_mount(dev);
	FS_OK(udax_unmount(&fs));
	memcpy(back, (char *)pi.addr + 4096, 4096);
	memcpy(pi.addr, buf, 4096);			/* copy 0 good again */
	((char *)pi.addr)[4096 + 8] ^= 0x40;		/* copy 1 bad */
	fs = t_fs_mount(dev);
	FS_OK(udax_unmount(&fs));
	((char *)pi.addr)[100] ^= 1;			/* both bad */
	FS_ERR(udax_mount(dev, 0, NULL, &fs), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "superblock"));
	memcpy(pi.addr, buf, 4096);
	memcpy((char *)pi.addr + 4096, back, 4096);
	fs = t_fs_mount(dev);
	FS_OK(udax_stat(fs, "/d/f", &st));
	T_ASSERT(st.size == sizeof(buf));
	FS_OK(udax_unmount(&fs));

	/* mkfs over it: empty again. */
	FS_OK(udax_mkfs(dev, 0, NULL));
	fs = t_fs_mount(dev);
	FS_ERR(udax_stat(fs, "/d", &st), -ENOENT);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
