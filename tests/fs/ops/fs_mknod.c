/* SPDX-License-Identifier: MIT */
/*
 * Special files: udax_mknod of FIFOs, sockets, character and block devices
 * (rdev round trip, 12:20-bit limits), regular files through mknod, the
 * owner rule, readdir types, -ENXIO on open, link / rename / unlink of
 * them; after a remount and through fsck.
 */
#include <dirent.h>
#include <sys/sysmacros.h>
#include <udax/fsck.h>

#include "fs_util.h"

static void is(struct udax_fs *fs, const char *path, uint32_t type, uint64_t rdev)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	T_ASSERT((st.mode & S_IFMT) == type && st.rdev == rdev);
	T_ASSERT(st.size == 0 && st.blocks == 0);
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	const struct udax_cred c = { 5, 6 };
	struct udax_dirent e;
	struct udax_stat st;
	struct udax_file *f;
	struct udax_dir *d;
	dev_t big = makedev(0xfff, 0xfffff), tty = makedev(4, 1);
	int seen = 0;

	FS_OK(udax_mknod(fs, "/fifo", S_IFIFO | 0640, 0, &c));
	FS_OK(udax_mknod(fs, "/sock", S_IFSOCK | 0600, 0, NULL));
	FS_OK(udax_mknod(fs, "/tty", S_IFCHR | 0620, tty, NULL));
	FS_OK(udax_mknod(fs, "/blk", S_IFBLK | 0660, big, NULL));
	FS_OK(udax_mknod(fs, "/reg", 0644, 0, NULL));
	FS_OK(udax_mknod(fs, "/reg2", S_IFREG | 0644, 0, NULL));
	FS_ERR(udax_mknod(fs, "/fifo", S_IFIFO | 0640, 0, NULL), -EEXIST);
	FS_ERR(udax_mknod(fs, "/dir", S_IFDIR | 0755, 0, NULL), -EINVAL);
	FS_ERR(udax_mknod(fs, "/lnk", S_IFLNK | 0777, 0, NULL), -EINVAL);
	FS_ERR(udax_mknod(fs, "/bad", S_IFCHR | 0600, makedev(0x1000, 0), NULL), -EINVAL);
	FS_ERR(udax_mknod(fs, "/bad", S_IFBLK | 0600, makedev(1, 0x100000), NULL), -EINVAL);
	FS_ERR(udax_mknod(fs, "/no/x", S_IFIFO | 0600, 0, NULL), -ENOENT);

	for (int pass = 0; pass < 2; pass++) {
		is(fs, "/fifo", S_IFIFO, 0);
		is(fs, "/sock", S_IFSOCK, 0);
		is(fs, "/tty", S_IFCHR, tty);
		is(fs, "/blk", S_IFBLK, big);
		is(fs, "/reg", S_IFREG, 0);
		FS_OK(udax_stat(fs, "/fifo", &st));
		T_ASSERT(st.uid == 5 && st.gid == 6 && (st.mode & 07777) == 0640);
		T_ASSERT(major(st.rdev) == 0);
		FS_OK(udax_stat(fs, "/blk", &st));
		T_ASSERT(major(st.rdev) == 0xfff && minor(st.rdev) == 0xfffff);
		FS_ERR(udax_open(fs, "/fifo", O_RDONLY, 0, &f), -ENXIO);
		FS_ERR(udax_open(fs, "/tty", O_RDWR, 0, &f), -ENXIO);
		FS_ERR(udax_open(fs, "/sock", O_RDWR | O_CREAT, 0644, &f), -ENXIO);
		FS_OK(udax_open(fs, "/reg", O_RDWR, 0, &f));
		FS_OK(udax_close(&f));
		if (pass == 0)
			t_fs_remount(dev, &fs);
	}
	FS_OK(udax_opendir(fs, "/", &d));
	while (udax_readdir(d, &e) == 1) {
		uint8_t want = !strcmp(e.name, "fifo") ? DT_FIFO :
			       !strcmp(e.name, "sock") ? DT_SOCK :
			       !strcmp(e.name, "tty") ? DT_CHR :
			       !strcmp(e.name, "blk") ? DT_BLK : DT_REG;

		T_ASSERT(e.type == want);
		seen++;
	}
	T_ASSERT(seen == 6);
	FS_OK(udax_closedir(&d));

	FS_OK(udax_link(fs, "/tty", "/tty2"));
	FS_OK(udax_rename(fs, "/blk", "/blk2", 0));
	FS_OK(udax_unlink(fs, "/sock"));
	FS_OK(udax_stat(fs, "/tty2", &st));
	T_ASSERT(st.nlink == 2 && st.rdev == tty);
	is(fs, "/blk2", S_IFBLK, big);
	t_fs_close_clean(&dev, &fs);
	printf("fs_mknod: ok\n");
	return 0;
}
