/* SPDX-License-Identifier: MIT */
/*
 * Namespace operations and their POSIX errors: open/create, mkdir, rmdir,
 * unlink, link, rename (plain, replacing, directories, NOREPLACE, loops),
 * readdir, stat, chmod, chown, utimens; link counts; "." and ".."; long
 * names; unlinked-but-open files (orphans) freed at last close; everything
 * again after a remount.
 */
#include "fs_util.h"

static uint32_t nlink_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return st.nlink;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_file *f, *g;
	struct udax_statfs s0, s1;
	struct udax_stat st, st2;
	struct udax_dirent e;
	struct udax_dir *d;
	char name[300], path[400], buf[5000];
	struct timespec ts[2] = { { 1000, 5 }, { 2000, 7 } };

	/* open */
	FS_ERR(udax_open(fs, "/a", O_RDONLY, 0, &f), -ENOENT);
	FS_ERR(udax_open(fs, "a", O_RDWR | O_CREAT, 0644, &f), -EINVAL);
	FS_ERR(udax_open(fs, "", O_RDONLY, 0, &f), -ENOENT);
	FS_ERR(udax_open(fs, "/a", O_ACCMODE, 0, &f), -EINVAL);
	FS_OK(udax_open(fs, "/a", O_RDWR | O_CREAT | O_EXCL, 0640, &f));
	FS_ERR(udax_open(fs, "/a", O_RDWR | O_CREAT | O_EXCL, 0640, &g), -EEXIST);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(S_ISREG(st.mode) && (st.mode & 07777) == 0640 && st.nlink == 1);
	T_ASSERT(st.size == 0 && st.blocks == 0 && st.btime.tv_sec > 0);
	T_ASSERT(udax_pwrite(f, "hello", 5, 0) == 5);
	FS_OK(udax_close(&f));
	FS_ERR(udax_open(fs, "/a/", O_RDONLY, 0, &f), -ENOTDIR);
	FS_ERR(udax_open(fs, "/a/b", O_RDWR | O_CREAT, 0644, &f), -ENOTDIR);
	FS_ERR(udax_open(fs, "/b/", O_RDWR | O_CREAT, 0644, &f), -EISDIR);
	FS_ERR(udax_open(fs, "/", O_RDWR, 0, &f), -EISDIR);
	FS_ERR(udax_open(fs, "/", O_RDONLY | O_CREAT, 0644, &f), -EISDIR);
	FS_OK(udax_open(fs, "/", O_RDONLY, 0, &f));
	FS_ERR(udax_pread(f, buf, 1, 0), -EISDIR);
	FS_OK(udax_close(&f));
	FS_OK(udax_open(fs, "/a", O_RDWR | O_TRUNC, 0, &f));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == 0 && st.blocks == 0);
	FS_OK(udax_close(&f));

	/* names */
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[256] = 0;				/* 255 bytes */
	FS_OK(udax_open(fs, name, O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_close(&f));
	FS_OK(udax_unlink(fs, name));
	name[256] = 'n';
	name[257] = 0;				/* 256 bytes */
	FS_ERR(udax_open(fs, name, O_RDWR | O_CREAT, 0644, &f), -ENAMETOOLONG);
	FS_ERR(udax_mkdir(fs, name, 0755), -ENAMETOOLONG);

	/* mkdir, link counts, "." and ".." */
	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_ERR(udax_mkdir(fs, "/d", 0755), -EEXIST);
	FS_ERR(udax_mkdir(fs, "/a", 0755), -EEXIST);
	FS_ERR(udax_mkdir(fs, "/", 0755), -EEXIST);
	FS_ERR(udax_mkdir(fs, "/x/y", 0755), -ENOENT);
	FS_ERR(udax_mkdir(fs, "/a/y", 0755), -ENOTDIR);
	T_ASSERT(nlink_of(fs, "/") == 3 && nlink_of(fs, "/d") == 2);
	FS_OK(udax_mkdir(fs, "/d/e/", 0700));
	T_ASSERT(nlink_of(fs, "/d") == 3);
	FS_OK(udax_stat(fs, "/d/e/..", &st));
	FS_OK(udax_stat(fs, "/d", &st2));
	T_ASSERT(st.ino == st2.ino);
	FS_OK(udax_stat(fs, "//d/./e/../../d", &st));
	T_ASSERT(st.ino == st2.ino);
	FS_OK(udax_stat(fs, "/..", &st));
	T_ASSERT(st.ino == UDAX_ROOT_INO);

	/* rmdir */
	FS_ERR(udax_rmdir(fs, "/d"), -ENOTEMPTY);
	FS_ERR(udax_rmdir(fs, "/a"), -ENOTDIR);
	FS_ERR(udax_rmdir(fs, "/"), -EBUSY);
	FS_ERR(udax_rmdir(fs, "/d/e/."), -EINVAL);
	FS_ERR(udax_rmdir(fs, "/nope"), -ENOENT);
	FS_ERR(udax_unlink(fs, "/d"), -EISDIR);
	FS_OK(udax_rmdir(fs, "/d/e"));
	T_ASSERT(nlink_of(fs, "/d") == 2);
	FS_ERR(udax_stat(fs, "/d/e", &st), -ENOENT);

	/* link / unlink */
	FS_OK(udax_link(fs, "/a", "/d/a2"));
	T_ASSERT(nlink_of(fs, "/a") == 2);
	FS_ERR(udax_link(fs, "/a", "/d/a2"), -EEXIST);
	FS_ERR(udax_link(fs, "/d", "/d2"), -EPERM);
	FS_ERR(udax_link(fs, "/nope", "/x"), -ENOENT);
	FS_ERR(udax_link(fs, "/a", "/nope/x"), -ENOENT);
	FS_OK(udax_unlink(fs, "/a"));
	T_ASSERT(nlink_of(fs, "/d/a2") == 1);
	FS_ERR(udax_unlink(fs, "/a"), -ENOENT);
	FS_ERR(udax_unlink(fs, "/d/a2/"), -ENOTDIR);

	/* rename */
	t_write_file(fs, "/f1", "one", 3);
	t_write_file(fs, "/f2", "two!", 4);
	FS_OK(udax_mkdir(fs, "/d/sub", 0755));
	FS_OK(udax_mkdir(fs, "/empty", 0755));
	FS_ERR(udax_rename(fs, "/nope", "/x", 0), -ENOENT);
	FS_ERR(udax_rename(fs, "/f1", "/f2", UDAX_RENAME_NOREPLACE), -EEXIST);
	FS_ERR(udax_rename(fs, "/f1", "/d", 0), -EISDIR);
	FS_ERR(udax_rename(fs, "/d", "/f1", 0), -ENOTDIR);
	FS_ERR(udax_rename(fs, "/empty", "/d", 0), -ENOTEMPTY);
	FS_ERR(udax_rename(fs, "/d", "/d/sub/x", 0), -EINVAL);
	FS_ERR(udax_rename(fs, "/d", "/d/x", 0), -EINVAL);
	FS_ERR(udax_rename(fs, "/", "/x", 0), -EBUSY);
	FS_ERR(udax_rename(fs, "/f1", "/f1", 42), -EINVAL);
	FS_OK(udax_rename(fs, "/f1", "/f1", 0));
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_rename(fs, "/f1", "/f2", 0));	/* replaces, frees f2 */
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free + 1);
	T_ASSERT(s1.blocks_free == s0.blocks_free + 1);
	FS_ERR(udax_stat(fs, "/f1", &st), -ENOENT);
	{
		size_t n;
		char *c = t_read_file(fs, "/f2", &n);

		T_ASSERT(n == 3 && !memcmp(c, "one", 3));
		free(c);
	}
	FS_OK(udax_rename(fs, "/d/sub", "/sub2", 0));	/* dir across parents */
	T_ASSERT(nlink_of(fs, "/d") == 2 && nlink_of(fs, "/") == 5);
	FS_OK(udax_stat(fs, "/sub2/..", &st));
	T_ASSERT(st.ino == UDAX_ROOT_INO);
	FS_OK(udax_rename(fs, "/sub2", "/empty", 0));	/* replaces empty dir */
	T_ASSERT(nlink_of(fs, "/") == 4);
	FS_ERR(udax_stat(fs, "/sub2", &st), -ENOENT);
	FS_OK(udax_rename(fs, "/empty", "/d/moved", UDAX_RENAME_NOREPLACE));
	T_ASSERT(nlink_of(fs, "/d") == 3 && nlink_of(fs, "/") == 3);
	FS_OK(udax_link(fs, "/f2", "/d/f2link"));
	FS_OK(udax_rename(fs, "/f2", "/d/f2link", 0));	/* same inode: no-op */
	T_ASSERT(nlink_of(fs, "/f2") == 2);

	/* readdir: many entries, several directory blocks */
	FS_OK(udax_mkdir(fs, "/many", 0755));
	for (int i = 0; i < 300; i++) {
		snprintf(path, sizeof(path), "/many/file-with-a-longish-name-%04d", i);
		t_write_file(fs, path, NULL, 0);
	}
	T_ASSERT(t_dir_count(fs, "/many") == 300);
	FS_OK(udax_stat(fs, "/many", &st));
	T_ASSERT(st.size > 4096);
	for (int i = 0; i < 300; i += 2) {
		snprintf(path, sizeof(path), "/many/file-with-a-longish-name-%04d", i);
		FS_OK(udax_unlink(fs, path));
	}
	T_ASSERT(t_dir_count(fs, "/many") == 150);
	FS_ERR(udax_opendir(fs, "/f2", &d), -ENOTDIR);
	FS_OK(udax_opendir(fs, "/d", &d));
	{
		int seen = 0, r;

		while ((r = udax_readdir(d, &e)) == 1) {
			if (!strcmp(e.name, "moved")) {
				seen |= 1;
				T_ASSERT(e.type == 4);
			}
			if (!strcmp(e.name, "f2link")) {
				seen |= 2;
				T_ASSERT(e.type == 8);
			}
		}
		T_ASSERT(r == 0 && seen == 3);
	}
	FS_OK(udax_closedir(&d));

	/* attributes */
	FS_OK(udax_chmod(fs, "/f2", 0600));
	FS_OK(udax_chown(fs, "/f2", 12, 34));
	FS_OK(udax_utimens(fs, "/f2", ts));
	FS_OK(udax_stat(fs, "/f2", &st));
	T_ASSERT(S_ISREG(st.mode) && (st.mode & 07777) == 0600);
	T_ASSERT(st.uid == 12 && st.gid == 34);
	T_ASSERT(st.atime.tv_sec == 1000 && st.atime.tv_nsec == 5);
	T_ASSERT(st.mtime.tv_sec == 2000 && st.mtime.tv_nsec == 7);
	FS_ERR(udax_chmod(fs, "/nope", 0600), -ENOENT);

	/* orphan: unlinked while open, freed at last close */
	FS_OK(udax_statfs(fs, &s0));
	t_fill(buf, sizeof(buf), 3);
	t_write_file(fs, "/orphan", buf, sizeof(buf));
	FS_OK(udax_open(fs, "/orphan", O_RDWR, 0, &f));
	FS_OK(udax_unlink(fs, "/orphan"));
	FS_ERR(udax_stat(fs, "/orphan", &st), -ENOENT);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.nlink == 0);
	memset(path, 0, sizeof(path));
	T_ASSERT(udax_pread(f, path, 100, 4000) == 100);
	T_ASSERT(!memcmp(path, buf + 4000, 100));
	T_ASSERT(udax_pwrite(f, buf, 10, 9000) == 10);
	FS_OK(udax_close(&f));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free && s1.blocks_free == s0.blocks_free);

	/* remount: all of it is still there */
	t_fs_remount(dev, &fs);
	T_ASSERT(t_dir_count(fs, "/many") == 150);
	T_ASSERT(nlink_of(fs, "/f2") == 2 && nlink_of(fs, "/d") == 3);
	FS_OK(udax_stat(fs, "/f2", &st));
	T_ASSERT(st.uid == 12 && st.mtime.tv_sec == 2000);
	FS_OK(udax_statfs(fs, &s0));
	T_ASSERT(s0.inodes_free == s1.inodes_free && s0.blocks_free == s1.blocks_free);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
