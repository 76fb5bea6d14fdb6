/* SPDX-License-Identifier: MIT */
/*
 * udax_stat and udax_lstat by path.  A stat of an inode that is not held
 * reads its record instead of loading the inode (no extent map, no cache
 * entry); the result must be what the loaded inode says, field for field,
 * for every kind of inode: an empty file, one with data, a hole and
 * fallocated (unwritten) blocks, one whose map needs extent leaves, a
 * directory, a device node, a hard-linked file, one with an extended
 * attribute and set times, a symbolic link (stat follows, lstat does
 * not), and the same while held.  Trailing slashes, ".", ".." and "/"
 * resolve as before; a file's size and times written through an open
 * handle are what a stat after the close reports.
 */
#include <sys/sysmacros.h>

#include "fs_util.h"

static struct udax_fs *fs;

/* What the loaded inode says: udax_iget loads it (map included). */
static void loaded(uint64_t ino, struct udax_stat *st)
{
	struct udax_inode *x;

	FS_OK(udax_iget(fs, ino, UDAX_GEN_ANY, &x, st));
	FS_OK(udax_iput(&x));
}

/* stat (@follow) of @path equals the loaded inode's attributes, both
 * with the inode not held (read from its record) and held. */
static void same(const char *path, bool follow, mode_t type, uint64_t blocks)
{
	struct udax_stat a, b, c;
	struct udax_inode *x;

	memset(&a, 0x5a, sizeof(a));
	FS_OK(follow ? udax_stat(fs, path, &a) : udax_lstat(fs, path, &a));
	loaded(a.ino, &b);
	if (memcmp(&a, &b, sizeof(a))) {
		fprintf(stderr, "%s: stat differs from the loaded inode: size %llu/%llu "
			"blocks %llu/%llu nlink %u/%u mode %o/%o\n", path,
			(unsigned long long)a.size, (unsigned long long)b.size,
			(unsigned long long)a.blocks, (unsigned long long)b.blocks,
			(unsigned)a.nlink, (unsigned)b.nlink, (unsigned)a.mode,
			(unsigned)b.mode);
		exit(1);
	}
	if ((a.mode & S_IFMT) != type || a.blocks != blocks) {
		fprintf(stderr, "%s: mode %o blocks %llu, want type %o blocks %llu\n", path,
			(unsigned)a.mode, (unsigned long long)a.blocks, (unsigned)type,
			(unsigned long long)blocks);
		exit(1);
	}
	FS_OK(udax_iget(fs, a.ino, UDAX_GEN_ANY, &x, NULL));
	FS_OK(follow ? udax_stat(fs, path, &c) : udax_lstat(fs, path, &c));
	T_ASSERT(!memcmp(&a, &c, sizeof(a)));
	FS_OK(udax_iput(&x));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_file *f;
	struct udax_stat st, st2;
	const struct timespec ts[2] = { { 1234567890, 123 }, { -86400 * 365, 999999999 } };
	char buf[4096];

	fs = t_fs_new("mem:64M", &dev);
	t_fill(buf, sizeof(buf), 7);

	t_write_file(fs, "/empty", "", 0);
	same("/empty", true, S_IFREG, 0);

	/* data, a hole, then fallocated blocks past the size */
	FS_OK(udax_open(fs, "/data", O_RDWR | O_CREAT, 0640, &f));
	T_ASSERT(udax_pwrite(f, buf, 4096, 0) == 4096);
	T_ASSERT(udax_pwrite(f, buf, 100, 3 * 4096) == 100);
	FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 8 * 4096, 2 * 4096));
	FS_OK(udax_fstat(f, &st2));
	FS_OK(udax_close(&f));
	same("/data", true, S_IFREG, 4);
	FS_OK(udax_stat(fs, "/data", &st));
	T_ASSERT(st.size == 3 * 4096 + 100 && !memcmp(&st, &st2, sizeof(st)));

	/* more extents than the record holds: a map of leaves */
	FS_OK(udax_open(fs, "/frag", O_RDWR | O_CREAT, 0600, &f));
	for (int k = 0; k < 40; k += 2)
		T_ASSERT(udax_pwrite(f, buf, 4096, k * 4096ull) == 4096);
	FS_OK(udax_close(&f));
	same("/frag", true, S_IFREG, 20);

	FS_OK(udax_mkdir(fs, "/d", 0750));
	same("/d", true, S_IFDIR, 0);	/* no entry yet: no block */
	FS_OK(udax_mknod(fs, "/d/tty", S_IFCHR | 0620, makedev(4, 70), NULL));
	same("/d/tty", false, S_IFCHR, 0);
	FS_OK(udax_stat(fs, "/d/tty", &st));
	T_ASSERT(st.rdev == makedev(4, 70));

	FS_OK(udax_link(fs, "/data", "/d/data2"));
	same("/d/data2", true, S_IFREG, 4);
	FS_OK(udax_stat(fs, "/data", &st));
	T_ASSERT(st.nlink == 2);

	FS_OK(udax_setxattr(fs, "/empty", "user.k", "v", 1, 0));
	FS_OK(udax_utimens(fs, "/empty", ts));
	same("/empty", true, S_IFREG, 0);
	FS_OK(udax_stat(fs, "/empty", &st));
	T_ASSERT(st.atime.tv_sec == ts[0].tv_sec && st.atime.tv_nsec == ts[0].tv_nsec &&
		 st.mtime.tv_sec == ts[1].tv_sec && st.mtime.tv_nsec == ts[1].tv_nsec);

	/* symbolic links: stat follows, lstat does not */
	FS_OK(udax_symlink(fs, "/data", "/ln"));
	FS_OK(udax_symlink(fs, "d", "/lnd"));
	same("/ln", false, S_IFLNK, 0);
	same("/ln", true, S_IFREG, 4);
	FS_OK(udax_stat(fs, "/ln", &st));
	FS_OK(udax_stat(fs, "/data", &st2));
	T_ASSERT(st.ino == st2.ino);
	same("/lnd/", false, S_IFDIR, 1);	/* a trailing slash follows */
	same("/lnd/tty", true, S_IFCHR, 0);

	/* trailing slashes, dots, the root */
	FS_ERR(udax_stat(fs, "/data/", &st), -ENOTDIR);
	FS_ERR(udax_lstat(fs, "/d/tty/", &st), -ENOTDIR);
	FS_ERR(udax_stat(fs, "/ln/", &st), -ENOTDIR);
	FS_ERR(udax_stat(fs, "/data/x", &st), -ENOTDIR);
	FS_ERR(udax_stat(fs, "/nothing", &st), -ENOENT);
	FS_ERR(udax_stat(fs, "/d/nothing/", &st), -ENOENT);
	same("/d/", true, S_IFDIR, 1);
	same("/d/.", true, S_IFDIR, 1);
	FS_OK(udax_stat(fs, "/d/..", &st));
	T_ASSERT(st.ino == UDAX_ROOT_INO);
	same("/", true, S_IFDIR, 1);

	/* written through a handle, then closed: the record says it */
	FS_OK(udax_open(fs, "/data", O_RDWR, 0, &f));
	T_ASSERT(udax_append(f, buf, 4096, NULL) == 4096);
	FS_OK(udax_fstat(f, &st2));
	FS_OK(udax_stat(fs, "/data", &st));
	T_ASSERT(!memcmp(&st, &st2, sizeof(st)));
	FS_OK(udax_close(&f));
	FS_OK(udax_stat(fs, "/data", &st));
	T_ASSERT(st.size == st2.size && st.blocks == st2.blocks &&
		 st.mtime.tv_sec == st2.mtime.tv_sec &&
		 st.mtime.tv_nsec == st2.mtime.tv_nsec);
	same("/data", true, S_IFREG, 5);

	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
