/* SPDX-License-Identifier: MIT */
/*
 * Symbolic links: udax_symlink, udax_readlink, udax_lstat; inline (<= 144
 * bytes) and block targets; the path walk following links (relative,
 * absolute, chains, "..", trailing slash), ELOOP after 40, O_NOFOLLOW and
 * O_CREAT | O_EXCL on a link, O_CREAT through a dangling link, unlink and
 * rename of a link, hard links to a link; all of it after a remount, and
 * fsck clean (and the freed block back after unlink).
 */
#include <dirent.h>
#include <udax/fsck.h>

#include "fs_util.h"

static void expect_link(struct udax_fs *fs, const char *path, const char *want)
{
	char buf[5000];
	ssize_t n = udax_readlink(fs, path, buf, sizeof(buf));
	struct udax_stat st;

	FS_OK(n);
	T_ASSERT((size_t)n == strlen(want) && !memcmp(buf, want, (size_t)n));
	FS_OK(udax_lstat(fs, path, &st));
	T_ASSERT(S_ISLNK(st.mode) && (st.mode & 07777) == 0777);
	T_ASSERT(st.size == strlen(want) && st.nlink >= 1);
	T_ASSERT(st.blocks == (strlen(want) > 144 ? 1u : 0u));
}

static void read_is(struct udax_fs *fs, const char *path, const char *want)
{
	struct udax_file *f;
	char buf[64] = { 0 };

	FS_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, buf, sizeof(buf) - 1, 0) == (ssize_t)strlen(want));
	T_ASSERT(!strcmp(buf, want));
	FS_OK(udax_close(&f));
}

static void fsck_clean(struct udax_dev *dev)
{
	struct udax_fsck_report r;

	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &r));
	T_ASSERT(r.problems == 0);
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_statfs s0, s1;
	struct udax_stat st, st2;
	struct udax_dirent e;
	struct udax_file *f;
	struct udax_dir *d;
	char long_t[4096], inl[145], buf[8], path[64];
	int n;

	memset(long_t, 'x', sizeof(long_t));
	long_t[0] = '/';
	long_t[4095] = 0;		/* 4095 bytes: the longest */
	memset(inl, 'y', sizeof(inl));
	inl[144] = 0;			/* 144: the longest inline */

	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_OK(udax_mkdir(fs, "/d/e", 0755));
	FS_OK(udax_open(fs, "/d/e/f", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, "data", 4, 0) == 4);
	FS_OK(udax_close(&f));

	/* Creation and its errors. */
	FS_OK(udax_symlink(fs, "e/f", "/d/rel"));
	FS_OK(udax_symlink(fs, "/d/e", "/abs"));
	FS_OK(udax_symlink(fs, "nowhere", "/dangle"));
	FS_ERR(udax_symlink(fs, "x", "/d/rel"), -EEXIST);
	FS_ERR(udax_symlink(fs, "x", "/dangle"), -EEXIST);
	FS_ERR(udax_symlink(fs, "x", "/d"), -EEXIST);
	FS_ERR(udax_symlink(fs, "", "/empty"), -ENOENT);
	FS_ERR(udax_symlink(fs, "x", "/no/such"), -ENOENT);
	FS_ERR(udax_symlink(fs, "x", "/new/"), -ENOENT);
	{
		char toolong[4097];

		memset(toolong, 'z', 4096);
		toolong[4096] = 0;
		FS_ERR(udax_symlink(fs, toolong, "/tl"), -ENAMETOOLONG);
	}
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_symlink(fs, inl, "/inl"));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free);	/* inline: no block */
	FS_OK(udax_symlink(fs, long_t, "/long"));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free - 1);

	for (int pass = 0; pass < 2; pass++) {
		expect_link(fs, "/d/rel", "e/f");
		expect_link(fs, "/abs", "/d/e");
		expect_link(fs, "/dangle", "nowhere");
		expect_link(fs, "/inl", inl);
		expect_link(fs, "/long", long_t);
		/* readlink truncates, without a NUL */
		memset(buf, '#', sizeof(buf));
		T_ASSERT(udax_readlink(fs, "/d/rel", buf, 2) == 2);
		T_ASSERT(buf[0] == 'e' && buf[1] == '/' && buf[2] == '#');
		/* No room asked for: 0 bytes, and no buffer needed. */
		T_ASSERT(udax_readlink(fs, "/d/rel", NULL, 0) == 0);
		FS_ERR(udax_readlink(fs, "/d/rel", NULL, 1), -EINVAL);
		FS_ERR(udax_readlink(fs, "/d", buf, sizeof(buf)), -EINVAL);
		FS_ERR(udax_readlink(fs, "/d/e/f", buf, sizeof(buf)), -EINVAL);
		FS_ERR(udax_readlink(fs, "/nope", buf, sizeof(buf)), -ENOENT);

		/* The walk follows: last component, middle ones, chains. */
		read_is(fs, "/d/rel", "data");
		read_is(fs, "/abs/f", "data");
		FS_OK(udax_stat(fs, "/abs", &st));
		T_ASSERT(S_ISDIR(st.mode));
		FS_OK(udax_stat(fs, "/d/e", &st2));
		T_ASSERT(st.ino == st2.ino);
		FS_OK(udax_stat(fs, "/abs/", &st));	/* trailing slash follows */
		T_ASSERT(st.ino == st2.ino);
		FS_OK(udax_lstat(fs, "/abs/", &st));
		T_ASSERT(S_ISDIR(st.mode) && st.ino == st2.ino);
		FS_OK(udax_stat(fs, "/abs/..", &st));	/* ".." of the target */
		FS_OK(udax_stat(fs, "/d", &st2));
		T_ASSERT(st.ino == st2.ino);
		FS_ERR(udax_stat(fs, "/dangle", &st), -ENOENT);
		FS_OK(udax_lstat(fs, "/dangle", &st));
		FS_ERR(udax_stat(fs, "/d/rel/x", &st), -ENOTDIR);
		FS_ERR(udax_stat(fs, "/d/rel/", &st), -ENOTDIR);
		FS_OK(udax_opendir(fs, "/abs", &d));
		T_ASSERT(udax_readdir(d, &e) == 1 && !strcmp(e.name, "f"));
		FS_OK(udax_closedir(&d));
		if (pass == 0)
			t_fs_remount(dev, &fs);
	}

	/* Chains of links, and loops: ELOOP after 40. */
	FS_OK(udax_symlink(fs, "/d/rel", "/c0"));
	for (int k = 1; k <= 40; k++) {
		char from[16];

		snprintf(from, sizeof(from), "/c%d", k - 1);
		snprintf(path, sizeof(path), "/c%d", k);
		FS_OK(udax_symlink(fs, from, path));
	}
	read_is(fs, "/c38", "data");		/* 39 links + /d/rel: 40 */
	FS_ERR(udax_open(fs, "/c39", O_RDONLY, 0, &f), -ELOOP);
	FS_ERR(udax_stat(fs, "/c40", &st), -ELOOP);
	FS_OK(udax_lstat(fs, "/c40", &st));
	FS_OK(udax_symlink(fs, "/loop2", "/loop1"));
	FS_OK(udax_symlink(fs, "/loop1", "/loop2"));
	FS_ERR(udax_stat(fs, "/loop1", &st), -ELOOP);
	FS_ERR(udax_stat(fs, "/loop1/x", &st), -ELOOP);
	FS_ERR(udax_open(fs, "/loop1", O_RDWR | O_CREAT, 0644, &f), -ELOOP);

	/* O_NOFOLLOW, O_CREAT | O_EXCL, create through a dangling link. */
	FS_ERR(udax_open(fs, "/d/rel", O_RDONLY | O_NOFOLLOW, 0, &f), -ELOOP);
	FS_ERR(udax_open(fs, "/dangle", O_RDWR | O_CREAT | O_NOFOLLOW, 0644, &f),
	       -ELOOP);
	FS_ERR(udax_open(fs, "/d/rel", O_RDWR | O_CREAT | O_EXCL, 0644, &f), -EEXIST);
	FS_ERR(udax_open(fs, "/dangle", O_RDWR | O_CREAT | O_EXCL, 0644, &f), -EEXIST);
	FS_OK(udax_open(fs, "/abs/f", O_RDONLY | O_NOFOLLOW, 0, &f));	/* middle: followed */
	FS_OK(udax_close(&f));
	FS_OK(udax_open(fs, "/dangle", O_RDWR | O_CREAT, 0600, &f));
	FS_OK(udax_close(&f));
	FS_OK(udax_stat(fs, "/nowhere", &st));
	T_ASSERT(S_ISREG(st.mode) && (st.mode & 07777) == 0600);
	FS_OK(udax_stat(fs, "/dangle", &st2));
	T_ASSERT(st.ino == st2.ino);

	/* mkdir, rmdir, link and rename act on the link itself. */
	FS_ERR(udax_mkdir(fs, "/abs", 0755), -EEXIST);
	FS_ERR(udax_rmdir(fs, "/abs"), -ENOTDIR);
	FS_OK(udax_link(fs, "/d/rel", "/hard"));
	FS_OK(udax_lstat(fs, "/hard", &st));
	T_ASSERT(S_ISLNK(st.mode) && st.nlink == 2);
	/* Relative to its own directory: "/e/f" does not exist. */
	FS_ERR(udax_stat(fs, "/hard", &st), -ENOENT);
	FS_OK(udax_rename(fs, "/abs", "/abs2", 0));
	expect_link(fs, "/abs2", "/d/e");
	FS_ERR(udax_lstat(fs, "/abs", &st), -ENOENT);
	FS_OK(udax_opendir(fs, "/", &d));
	n = 0;
	while (udax_readdir(d, &e) == 1)
		if (!strcmp(e.name, "abs2") || !strcmp(e.name, "long"))
			T_ASSERT(e.type == DT_LNK && ++n);
	T_ASSERT(n == 2);
	FS_OK(udax_closedir(&d));

	/* unlink removes the link, not its target; the block comes back. */
	FS_OK(udax_unlink(fs, "/abs2"));
	FS_OK(udax_stat(fs, "/d/e/f", &st));
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_unlink(fs, "/long"));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free + 1);
	FS_ERR(udax_lstat(fs, "/long", &st), -ENOENT);

	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);
	fs = t_fs_mount(dev);
	expect_link(fs, "/inl", inl);
	FS_OK(udax_symlink(fs, long_t, "/long2"));
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev);
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_symlink: ok\n");
	return 0;
}
