/* SPDX-License-Identifier: MIT */
/*
 * udax_setattr: several attributes in one call (mode, owner, times,
 * size), UTIME_NOW / UTIME_OMIT, explicit ctime, ctime on any change and
 * none on no change, chown's S_ISUID / S_ISGID clearing, size changes
 * through the truncate path (blocks freed, data kept below), errors, the
 * NOFOLLOW bit; everything again after a remount.
 */
#include "fs_util.h"

static int64_t ns(struct timespec t)
{
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void mkfile(struct udax_fs *fs, const char *path, mode_t mode, size_t n)
{
	static char buf[3 * 4096];
	struct udax_file *f;

	memset(buf, 'a', sizeof(buf));
	FS_OK(udax_open(fs, path, O_RDWR | O_CREAT | O_EXCL, mode, &f));
	if (n)
		T_ASSERT(udax_pwrite(f, buf, n, 0) == (ssize_t)n);
	FS_OK(udax_close(&f));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_setattr sa;
	struct udax_statfs s0, s1;
	struct udax_stat st, st0;
	struct udax_file *f;
	char buf[4096];

	mkfile(fs, "/f", 0644, 3 * 4096);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_OK(udax_symlink(fs, "/f", "/l"));

	/* Mode, owner and both times at once. */
	FS_OK(udax_stat(fs, "/f", &st0));
	sa = (struct udax_setattr){
		.mask = UDAX_SETATTR_MODE | UDAX_SETATTR_UID | UDAX_SETATTR_GID |
			UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME,
		.mode = 0600, .uid = 7, .gid = 8,
		.atime = { 100, 1 }, .mtime = { 200, 2 },
	};
	FS_OK(udax_setattr(fs, "/f", &sa));
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT((st.mode & 07777) == 0600 && S_ISREG(st.mode));
	T_ASSERT(st.uid == 7 && st.gid == 8 && st.size == 3 * 4096);
	T_ASSERT(ns(st.atime) == 100000000001 && ns(st.mtime) == 200000000002);
	T_ASSERT(ns(st.ctime) >= ns(st0.ctime));

	/* UTIME_OMIT everywhere: nothing at all changes, not even ctime. */
	st0 = st;
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME,
		.atime = { 0, UTIME_OMIT }, .mtime = { 0, UTIME_OMIT } };
	FS_OK(udax_setattr(fs, "/f", &sa));
	sa.mask = 0;
	FS_OK(udax_setattr(fs, "/f", &sa));
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(!memcmp(&st, &st0, sizeof(st)));

	/* UTIME_NOW for one, OMIT for the other; an explicit ctime. */
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME,
		.atime = { 0, UTIME_NOW }, .mtime = { 0, UTIME_OMIT } };
	FS_OK(udax_setattr(fs, "/f", &sa));
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(ns(st.atime) > 100000000001 && ns(st.mtime) == 200000000002);
	T_ASSERT(ns(st.ctime) == ns(st.atime));
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_CTIME, .ctime = { 300, 3 } };
	FS_OK(udax_setattr(fs, "/f", &sa));
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(ns(st.ctime) == 300000000003);

	/* chown clears S_ISUID (and S_ISGID with S_IXGRP) of files, root too. */
	mkfile(fs, "/su", 06755, 0);
	mkfile(fs, "/sg", 02745, 0);
	mkfile(fs, "/sm", 06755, 0);
	FS_OK(udax_mkdir(fs, "/sd", 0755));
	FS_OK(udax_chmod(fs, "/sd", 06755));
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_UID, .uid = 0 };
	FS_OK(udax_setattr(fs, "/su", &sa));
	FS_OK(udax_setattr(fs, "/sg", &sa));
	FS_OK(udax_setattr(fs, "/sd", &sa));
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_GID | UDAX_SETATTR_MODE,
		.gid = 9, .mode = 06711 };
	FS_OK(udax_setattr(fs, "/sm", &sa));
	T_ASSERT(t_mode_of(fs, "/su") == 0755);
	T_ASSERT(t_mode_of(fs, "/sg") == 02745);	/* no S_IXGRP: kept */
	T_ASSERT(t_mode_of(fs, "/sd") == 06755);	/* directories keep them */
	T_ASSERT(t_mode_of(fs, "/sm") == 06711);	/* the mode given wins */

	/* NOFOLLOW: the link itself; without it, the target. */
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_UID | UDAX_SETATTR_NOFOLLOW,
		.uid = 55 };
	FS_OK(udax_setattr(fs, "/l", &sa));
	FS_OK(udax_lstat(fs, "/l", &st));
	T_ASSERT(st.uid == 55 && S_ISLNK(st.mode));
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(st.uid == 7);

	/* Size: down frees blocks and keeps the data below, with a mode and
	 * an mtime in the same transaction; up reads zeroes. */
	FS_OK(udax_statfs(fs, &s0));
	sa = (struct udax_setattr){
		.mask = UDAX_SETATTR_SIZE | UDAX_SETATTR_MODE | UDAX_SETATTR_MTIME,
		.size = 4096 + 10, .mode = 0640, .mtime = { 400, 4 } };
	FS_OK(udax_setattr(fs, "/l", &sa));	/* followed: /f */
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free + 1);
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(st.size == 4096 + 10 && (st.mode & 07777) == 0640);
	T_ASSERT(ns(st.mtime) == 400000000004 && st.blocks == 2);
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_SIZE, .size = 2 * 4096 };
	FS_OK(udax_setattr(fs, "/f", &sa));
	FS_OK(udax_stat(fs, "/f", &st0));
	T_ASSERT(st0.size == 2 * 4096 && ns(st0.mtime) > 400000000004);
	T_ASSERT(ns(st0.ctime) == ns(st0.mtime));
	FS_OK(udax_open(fs, "/f", O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, buf, 4096, 4096) == 4096);
	T_ASSERT(buf[0] == 'a' && buf[9] == 'a' && buf[10] == 0 && buf[4095] == 0);
	FS_OK(udax_close(&f));

	/* Errors: nothing changed. */
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_SIZE | UDAX_SETATTR_MODE,
		.size = 0, .mode = 0 };
	FS_ERR(udax_setattr(fs, "/d", &sa), -EISDIR);
	sa.mask |= UDAX_SETATTR_NOFOLLOW;
	FS_ERR(udax_setattr(fs, "/l", &sa), -EINVAL);
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_SIZE, .size = 1ull << 62 };
	FS_ERR(udax_setattr(fs, "/f", &sa), -EFBIG);
	sa = (struct udax_setattr){ .mask = 1u << 20 };
	FS_ERR(udax_setattr(fs, "/f", &sa), -EINVAL);
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_MODE | UDAX_SETATTR_ATIME,
		.mode = 0, .atime = { 0, 1000000000 } };
	FS_ERR(udax_setattr(fs, "/f", &sa), -EINVAL);
	sa = (struct udax_setattr){ .mask = UDAX_SETATTR_MODE };
	FS_ERR(udax_setattr(fs, "/nope", &sa), -ENOENT);
	FS_ERR(udax_setattr(fs, "/f", NULL), -EINVAL);
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(!memcmp(&st, &st0, sizeof(st)));
	T_ASSERT(t_mode_of(fs, "/d") == 0755);

	t_fs_remount(dev, &fs);
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(st.size == 2 * 4096 && (st.mode & 07777) == 0640 && st.uid == 7);
	T_ASSERT(ns(st.mtime) == ns(st0.mtime) && ns(st.ctime) == ns(st0.ctime));
	T_ASSERT(t_mode_of(fs, "/su") == 0755 && t_mode_of(fs, "/sm") == 06711);
	FS_OK(udax_lstat(fs, "/l", &st));
	T_ASSERT(st.uid == 55);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_setattr: ok\n");
	return 0;
}
