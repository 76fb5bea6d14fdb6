/* SPDX-License-Identifier: MIT */
/*
 * A directory of 100,000 entries (files, and every 100th a directory):
 * created (a name taken gives -EEXIST), listed (every name exactly once,
 * with its type), looked up (each one's inode number agrees with the
 * listing, absent names -ENOENT), again after a remount (the index is
 * rebuilt from media), renamed within and out of it, emptied in two passes
 * with listings between, removed; fsck is clean after the fill and at the
 * end, and the free counts come back to where they started.
 */
#include <dirent.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define N	100000

static uint32_t *ino_of;	/* from the listing */
static unsigned char *seen;

static void name_of(char *p, size_t n, const char *dir, long i)
{
	snprintf(p, n, "%s/n%06ld%s", dir, i, i % 7 ? "" : "-with-a-longer-name");
}

static bool is_dir(long i) { return i % 100 == 42; }

/* List /big: every live name (@live(i)) exactly once, nothing else. */
static void list(struct udax_fs *fs, bool (*live)(long))
{
	struct udax_dirent e;
	struct udax_dir *d;
	long n = 0, want = 0;
	int r;

	memset(seen, 0, N);
	FS_OK(udax_opendir(fs, "/big", &d));
	while ((r = udax_readdir(d, &e)) > 0) {
		char p[300];
		long i;

		T_ASSERT(sscanf(e.name, "n%06ld", &i) == 1 && i >= 0 && i < N);
		name_of(p, sizeof(p), "/big", i);
		T_ASSERT(!strcmp(p + 5, e.name));
		T_ASSERT(live(i) && !seen[i]);
		seen[i] = 1;
		T_ASSERT(e.type == (is_dir(i) ? DT_DIR : DT_REG));
		ino_of[i] = (uint32_t)e.ino;
		n++;
	}
	FS_OK(r);
	FS_OK(udax_closedir(&d));
	for (long i = 0; i < N; i++)
		want += live(i);
	T_ASSERT(n == want);
}

static bool all(long i) { return (void)i, true; }
static bool odd(long i) { return i % 2; }
static bool none(long i) { return (void)i, false; }

static void lookup_all(struct udax_fs *fs, bool (*live)(long), long step)
{
	for (long i = 0; i < N; i += step) {
		struct udax_stat st;
		char p[300];

		name_of(p, sizeof(p), "/big", i);
		if (!live(i)) {
			FS_ERR(udax_stat(fs, p, &st), -ENOENT);
			continue;
		}
		FS_OK(udax_stat(fs, p, &st));
		T_ASSERT(st.ino == ino_of[i]);
		T_ASSERT(S_ISDIR(st.mode) == is_dir(i));
	}
}

static void fsck_clean(struct udax_dev *dev, uint64_t dirs)
{
	struct udax_fsck_report rep;

	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	T_ASSERT(rep.dirs == dirs);
}

int main(void)
{
	struct udax_mkfs_opts mo = { .nr_inodes = N + 64 };
	struct udax_statfs s0, s1;
	struct udax_stat st;
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	char p[300], q[300];

	ino_of = calloc(N, sizeof(*ino_of));
	seen = calloc(N, 1);
	T_ASSERT(ino_of && seen);
	dev = t_fs_dev("mem:128M");
	FS_OK(udax_mkfs(dev, 0, &mo));
	fs = t_fs_mount(dev);
	FS_OK(udax_mkdir(fs, "/outside", 0755));	/* the root's block */
	FS_OK(udax_rmdir(fs, "/outside"));
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_mkdir(fs, "/big", 0755));
	for (long i = 0; i < N; i++) {
		name_of(p, sizeof(p), "/big", i);
		if (is_dir(i)) {
			FS_OK(udax_mkdir(fs, p, 0755));
		} else {
			FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
			FS_OK(udax_close(&f));
		}
	}
	for (long i = 0; i < N; i += 997) {
		name_of(p, sizeof(p), "/big", i);
		FS_ERR(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f), -EEXIST);
		FS_ERR(udax_mkdir(fs, p, 0755), -EEXIST);
	}
	FS_OK(udax_stat(fs, "/big", &st));
	T_ASSERT(st.nlink == 2 + N / 100);
	list(fs, all);
	lookup_all(fs, all, 1);
	FS_ERR(udax_stat(fs, "/big/n100000", &st), -ENOENT);
	FS_ERR(udax_stat(fs, "/big/n00000", &st), -ENOENT);

	/* From media again: the index is rebuilt at the first lookup. */
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev, 2 + N / 100);
	fs = t_fs_mount(dev);
	lookup_all(fs, all, 13);
	list(fs, all);

	/* Renames: within the directory and out and back in. */
	name_of(p, sizeof(p), "/big", 5);
	FS_OK(udax_rename(fs, p, "/big/renamed", 0));
	FS_OK(udax_rename(fs, "/big/renamed", "/outside", 0));
	FS_ERR(udax_stat(fs, p, &st), -ENOENT);
	FS_OK(udax_rename(fs, "/outside", p, 0));
	name_of(q, sizeof(q), "/big", 6);
	FS_OK(udax_link(fs, p, "/big/link"));
	FS_OK(udax_rename(fs, "/big/link", q, 0));	/* replaces 6 */
	FS_OK(udax_stat(fs, q, &st));
	T_ASSERT(st.ino == ino_of[5] && st.nlink == 2);
	FS_OK(udax_unlink(fs, q));
	FS_OK(udax_open(fs, q, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
	FS_OK(udax_close(&f));
	list(fs, all);

	/* Empty it: the even ones, then the rest. */
	for (int pass = 0; pass < 2; pass++) {
		for (long i = pass; i < N; i += 2) {
			name_of(p, sizeof(p), "/big", i);
			FS_OK(is_dir(i) ? udax_rmdir(fs, p) : udax_unlink(fs, p));
		}
		list(fs, pass ? none : odd);
		lookup_all(fs, pass ? none : odd, 7);
	}
	FS_OK(udax_stat(fs, "/big", &st));
	T_ASSERT(st.nlink == 2);
	/* An emptied directory takes names again, then goes. */
	FS_OK(udax_mkdir(fs, "/big/again", 0755));
	FS_ERR(udax_rmdir(fs, "/big"), -ENOTEMPTY);
	FS_OK(udax_rmdir(fs, "/big/again"));
	FS_OK(udax_rmdir(fs, "/big"));
	t_fs_remount(dev, &fs);
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.blocks_free == s0.blocks_free);
	T_ASSERT(s1.inodes_free == s0.inodes_free);
	FS_OK(udax_unmount(&fs));
	fsck_clean(dev, 1);
	FS_OK(udax_dev_close(&dev, 0));
	free(ino_of);
	free(seen);
	printf("ok: %d entries created, listed, looked up, renamed and removed\n", N);
	return 0;
}
