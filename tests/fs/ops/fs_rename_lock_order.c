/* SPDX-License-Identifier: MIT */
/*
 * Renames that replace a file lock two files: the source and the file
 * replaced.  Two directories' writers renaming at once must take those
 * locks in one order, or two renames whose files cross (hard links: in
 * /a the source is f1 and the target f2, in /c the reverse) each hold
 * one file's lock and wait for the other's.  Two threads do that, over
 * and over, an exchange of the two names, then a rename that replaces
 * one; a hang (the alarm) is the failure.  The names must name the files
 * each rename says, the links made must all be taken back, and fsck must
 * find the file system clean.
 */
#include <pthread.h>
#include <unistd.h>

#include "fs_util.h"

#if defined(__SANITIZE_THREAD__)
#define ROUNDS	2000
#else
#define ROUNDS	20000
#endif

static struct udax_fs *fs;

struct crosser {
	const char *dir;		/* /a or /c */
	const char *src, *tgt;		/* the files whose links it renames */
};

static uint64_t ino_of(const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return st.ino;
}

static void *crosser(void *arg)
{
	struct crosser *c = arg;
	uint64_t src = ino_of(c->src), tgt = ino_of(c->tgt);
	char x[32], y[32];
	struct udax_stat st;

	snprintf(x, sizeof(x), "%s/x", c->dir);
	snprintf(y, sizeof(y), "%s/y", c->dir);
	for (int r = 0; r < ROUNDS; r++) {
		FS_OK(udax_link(fs, c->src, x));
		FS_OK(udax_link(fs, c->tgt, y));
		/* x and y trade files: x on tgt, y on src */
		FS_OK(udax_rename(fs, x, y, UDAX_RENAME_EXCHANGE));
		FS_OK(udax_stat(fs, y, &st));
		T_ASSERT(st.ino == src);
		FS_OK(udax_stat(fs, x, &st));
		T_ASSERT(st.ino == tgt);
		FS_OK(udax_rename(fs, y, x, 0));	/* src over tgt */
		FS_ERR(udax_stat(fs, y, &st), -ENOENT);
		FS_OK(udax_stat(fs, x, &st));
		T_ASSERT(st.ino == src);
		FS_OK(udax_unlink(fs, x));
	}
	return NULL;
}

int main(void)
{
	struct crosser c[2] = {
		{ "/a", "/keep/f1", "/keep/f2" },
		{ "/c", "/keep/f2", "/keep/f1" },
	};
	struct udax_fsck_report rep;
	struct udax_stat st;
	struct udax_dev *dev;
	pthread_t t[2];

	alarm(120);	/* two renames waiting for each other hang */
	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_mkdir(fs, "/keep", 0755));
	FS_OK(udax_mkdir(fs, "/a", 0755));
	FS_OK(udax_mkdir(fs, "/c", 0755));
	t_write_file(fs, "/keep/f1", "one", 3);
	t_write_file(fs, "/keep/f2", "two", 3);
	for (int i = 0; i < 2; i++)
		T_ASSERT(pthread_create(&t[i], NULL, crosser, &c[i]) == 0);
	for (int i = 0; i < 2; i++)
		T_ASSERT(pthread_join(t[i], NULL) == 0);
	/* Every link made was taken back: one each. */
	FS_OK(udax_stat(fs, "/keep/f1", &st));
	T_ASSERT(st.nlink == 1);
	FS_OK(udax_stat(fs, "/keep/f2", &st));
	T_ASSERT(st.nlink == 1);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_rename_lock_order: ok\n");
	return 0;
}
