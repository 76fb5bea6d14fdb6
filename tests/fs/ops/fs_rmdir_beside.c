/* SPDX-License-Identifier: MIT */
/*
 * rmdir runs as the writer of the directory and of its parent, beside
 * writers of other directories (dir.c, dw_rmdir), by path and by handle
 * (udax_rmdir_at, the FUSE server's): the directory must stay empty from
 * the check to the commit.  A remover makes /p/v and removes it, by path
 * and through /p's handle in turn, again and again, while a creator makes /p/v/f and unlinks it: a
 * create either fails (-ENOENT: v is not there, or was removed under it)
 * or succeeds, and then v cannot go until f is unlinked, which must
 * succeed.  Beside them a looker stats /p/v/f, lists /p/v and opens
 * /p/v/f, and a writer creates and unlinks in /q.  At the end nothing is
 * left, every inode is free again and fsck is clean; a file made in a
 * directory removed under it would be lost (fsck: unreachable) and its
 * unlink would fail.  A hook widens the window: one rmdir in eight
 * yields the CPU between its check and its commit.
 */
#include <pthread.h>
#include <sched.h>

#include "fs/core.h"
#include "fs_util.h"

#define ROUNDS	20000

static struct udax_fs *fs;
static _Atomic int done;
static _Atomic long removed, made;

static void empty_hook(struct udax_fs *f)
{
	static _Thread_local unsigned n;

	if (++n % 8 == 0)
		for (int k = 0; k < 3; k++)
			sched_yield();
}

static void *remover(void *arg)
{
	struct udax_inode *root, *p;

	FS_OK(udax_iget_root(fs, &root));
	FS_OK(udax_lookup(fs, root, "p", &p, NULL));
	FS_OK(udax_iput(&root));
	for (int k = 0; k < ROUNDS; k++) {
		int r = udax_mkdir(fs, "/p/v", 0755);

		T_ASSERT(r == 0 || r == -EEXIST);
		r = k % 2 ? udax_rmdir_at(fs, p, "v") : udax_rmdir(fs, "/p/v");
		T_ASSERT(r == 0 || r == -ENOTEMPTY);
		if (!r)
			removed++;
	}
	while (udax_rmdir(fs, "/p/v") == -ENOTEMPTY)
		;
	FS_OK(udax_iput(&p));
	atomic_store(&done, 1);
	return NULL;
}

static void *creator(void *arg)
{
	while (!atomic_load(&done)) {
		struct udax_file *f;
		int r = udax_open(fs, "/p/v/f", O_RDWR | O_CREAT | O_EXCL, 0644, &f);

		T_ASSERT(r == 0 || r == -ENOENT);
		if (r)
			continue;
		made++;
		FS_OK(udax_close(&f));
		FS_OK(udax_unlink(fs, "/p/v/f"));
	}
	return NULL;
}

static void *looker(void *arg)
{
	while (!atomic_load(&done)) {
		struct udax_stat st;
		struct udax_file *f;
		struct udax_dir *d;
		struct udax_dirent e;
		int r = udax_stat(fs, "/p/v/f", &st);

		T_ASSERT(r == 0 || r == -ENOENT);
		T_ASSERT(r || S_ISREG(st.mode));
		r = udax_opendir(fs, "/p/v", &d);
		T_ASSERT(r == 0 || r == -ENOENT);
		if (!r) {
			while ((r = udax_readdir(d, &e)) == 1)
				T_ASSERT(!strcmp(e.name, "f"));
			T_ASSERT(r == 0);
			FS_OK(udax_closedir(&d));
		}
		r = udax_open(fs, "/p/v/f", O_RDONLY, 0, &f);
		T_ASSERT(r == 0 || r == -ENOENT);
		if (!r)
			FS_OK(udax_close(&f));
	}
	return NULL;
}

static void *other(void *arg)
{
	for (long k = 0; !atomic_load(&done); k++) {
		char p[32];

		snprintf(p, sizeof(p), "/q/n%ld", k);
		t_write_file(fs, p, "x", 1);
		FS_OK(udax_unlink(fs, p));
	}
	return NULL;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_statfs s0, s;
	void *(*fn[])(void *) = { remover, creator, looker, other };
	pthread_t th[4];

	fs_rmdir_empty_hook = empty_hook;
	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_mkdir(fs, "/p", 0755));
	FS_OK(udax_mkdir(fs, "/q", 0755));
	FS_OK(udax_statfs(fs, &s0));
	for (int t = 0; t < 4; t++)
		T_ASSERT(!pthread_create(&th[t], NULL, fn[t], NULL));
	for (int t = 0; t < 4; t++)
		T_ASSERT(!pthread_join(th[t], NULL));
	T_ASSERT(removed > 0);
	T_ASSERT(t_dir_count(fs, "/p") == 0 && t_dir_count(fs, "/q") == 0);
	FS_OK(udax_statfs(fs, &s));
	T_ASSERT(s.inodes_free == s0.inodes_free);
	t_fs_remount(dev, &fs);
	T_ASSERT(t_dir_count(fs, "/p") == 0);
	t_fs_close_clean(&dev, &fs);
	printf("fs_rmdir_beside: ok (%ld removed, %ld files made in between)\n",
	       (long)removed, (long)made);
	return 0;
}
