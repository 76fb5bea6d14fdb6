/* SPDX-License-Identifier: MIT */
/*
 * Directory indexes past the mount's budget (udax_mount_opts.dir_cache)
 * are freed between operations and built again when next needed.
 *
 * With a budget of one byte every index but those of the operation just
 * done goes at its end: after each call at most the indexes it used stay
 * (a rename: two).  Under that, a random namespace workload over 40
 * directories (create, unlink, rename within and across directories,
 * mkdir and rmdir of empty ones), checked against a model: each name
 * stats as the model says, each directory lists exactly the model's
 * names; a listing of a 1,500-entry directory interleaved with those
 * operations (its index evicted between every two readdir calls) sees
 * every name once.  The same after a remount with the default budget,
 * where the indexes stay (one per directory looked into); fsck clean.
 * Last, stats that mark every index they find (ns_lock shared) between
 * the builds do not keep the total past a budget of a few indexes.
 * Throughout, an index leaves the table only while its directory's lock
 * is held or ns_lock is exclusive (a writer that holds a directory's lock
 * takes its index with no other lock: dindex.c, fs_dix_get).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_util.h"

#define NDIR	40
#define NNAME	64		/* names per directory in the model */
#define BIG	1500
#define OPS	6000

static bool model[NDIR][NNAME];
static bool dir_live[NDIR];
static unsigned long seed = 12345;

static unsigned rnd(unsigned n)
{
	seed = seed * 6364136223846793005ul + 1442695040888963407ul;
	return (unsigned)(seed >> 33) % n;
}

static void path(char *p, size_t n, int d, int k)
{
	if (k < 0)
		snprintf(p, n, "/d%d", d);
	else
		snprintf(p, n, "/d%d/n%d", d, k);
}

/* Each directory lists exactly its model's names; each name stats. */
static void check_all(struct udax_fs *fs)
{
	char p[64];
	struct udax_stat st;

	for (int d = 0; d < NDIR; d++) {
		bool seen[NNAME] = { false };
		struct udax_dir *dir;
		struct udax_dirent e;
		int r;

		path(p, sizeof(p), d, -1);
		if (!dir_live[d]) {
			FS_ERR(udax_stat(fs, p, &st), -ENOENT);
			continue;
		}
		FS_OK(udax_opendir(fs, p, &dir));
		while ((r = udax_readdir(dir, &e)) == 1) {
			int k;

			T_ASSERT(sscanf(e.name, "n%d", &k) == 1 && k >= 0 && k < NNAME);
			T_ASSERT(model[d][k] && !seen[k]);
			seen[k] = true;
		}
		T_ASSERT(r == 0);
		FS_OK(udax_closedir(&dir));
		for (int k = 0; k < NNAME; k++) {
			T_ASSERT(seen[k] == model[d][k]);
			path(p, sizeof(p), d, k);
			if (model[d][k])
				FS_OK(udax_stat(fs, p, &st));
			else
				FS_ERR(udax_stat(fs, p, &st), -ENOENT);
		}
	}
}

static bool dir_empty(int d)
{
	for (int k = 0; k < NNAME; k++)
		if (model[d][k])
			return false;
	return true;
}

/* One random operation, as the model says it must end. */
static void one_op(struct udax_fs *fs)
{
	int d = (int)rnd(NDIR), k = (int)rnd(NNAME), d2 = (int)rnd(NDIR),
	    k2 = (int)rnd(NNAME);
	char p[64], q[64];

	path(p, sizeof(p), d, k);
	path(q, sizeof(q), d2, k2);
	switch (rnd(5)) {
	case 0:		/* create */
		if (!dir_live[d])
			return;
		if (model[d][k]) {
			FS_ERR(udax_mkdir(fs, p, 0755), -EEXIST);
		} else {
			t_write_file(fs, p, "x", 1);
			model[d][k] = true;
		}
		return;
	case 1:		/* unlink */
		if (!dir_live[d])
			return;
		if (model[d][k]) {
			FS_OK(udax_unlink(fs, p));
			model[d][k] = false;
		} else {
			FS_ERR(udax_unlink(fs, p), -ENOENT);
		}
		return;
	case 2:
	case 3:		/* rename, across directories most of the time */
		if (!dir_live[d] || !dir_live[d2] || !model[d][k])
			return;
		FS_OK(udax_rename(fs, p, q, 0));
		model[d][k] = false;
		model[d2][k2] = true;
		return;
	default:	/* rmdir an empty directory, or make one again */
		path(p, sizeof(p), d, -1);
		if (dir_live[d] && dir_empty(d)) {
			FS_OK(udax_rmdir(fs, p));
			dir_live[d] = false;
		} else if (!dir_live[d]) {
			FS_OK(udax_mkdir(fs, p, 0755));
			dir_live[d] = true;
		}
		return;
	}
}

static int forgets, forgets_unlocked;

/* dix_forget: @dir's lock held (by this thread: nobody else can hold it
 * now), or ns_lock exclusive. */
static void forget_hook(struct fs_inode *dir)
{
	forgets++;
	if (fs_ns_exclusive())
		return;
	if (!pthread_rwlock_tryrdlock(&dir->lock)) {
		pthread_rwlock_unlock(&dir->lock);
		forgets_unlocked++;
	}
}

int main(void)
{
	struct udax_mount_opts tiny = { .dir_cache = 1 };
	struct udax_dev *dev = t_fs_dev("mem:128M");
	struct udax_fs *fs;
	struct udax_dirent e;
	struct udax_dir *big;
	static bool big_seen[BIG];
	char p[64];
	int r, listed = 0;

	fs_dix_forget_hook = forget_hook;
	FS_OK(udax_mkfs(dev, 0, NULL));
	FS_OK(udax_mount(dev, 0, &tiny, &fs));
	T_ASSERT(C(fs)->dix_budget == 1);
	FS_OK(udax_mkdir(fs, "/big", 0755));
	for (int i = 0; i < BIG; i++) {
		snprintf(p, sizeof(p), "/big/e%d", i);
		t_write_file(fs, p, "", 0);
		T_ASSERT(C(fs)->nr_dix <= 2);	/* /big (and the root) */
	}
	for (int d = 0; d < NDIR; d++) {
		path(p, sizeof(p), d, -1);
		FS_OK(udax_mkdir(fs, p, 0755));
		dir_live[d] = true;
	}

	/* The workload, with /big listed a name at a time in between. */
	FS_OK(udax_opendir(fs, "/big", &big));
	for (int i = 0; i < OPS; i++) {
		one_op(fs);
		T_ASSERT(C(fs)->nr_dix <= 3);	/* a rename's two, the root */
		if (i % 3 == 0 && (r = udax_readdir(big, &e)) == 1) {
			int k;

			T_ASSERT(sscanf(e.name, "e%d", &k) == 1 && k >= 0 && k < BIG &&
				 !big_seen[k]);
			big_seen[k] = true;
			listed++;
		}
	}
	while ((r = udax_readdir(big, &e)) == 1) {
		int k;

		T_ASSERT(sscanf(e.name, "e%d", &k) == 1 && k >= 0 && k < BIG &&
			 !big_seen[k]);
		big_seen[k] = true;
		listed++;
	}
	T_ASSERT(r == 0 && listed == BIG);
	FS_OK(udax_closedir(&big));
	check_all(fs);
	T_ASSERT(C(fs)->nr_dix <= 2);
	T_ASSERT(forgets > OPS && !forgets_unlocked);
	t_fs_unmount_clean(dev, &fs);

	/* The default budget keeps an index per directory looked into. */
	fs = t_fs_mount(dev);
	T_ASSERT(C(fs)->dix_budget == UDAX_DIR_CACHE_DEFAULT);
	check_all(fs);
	{
		uint64_t live = 0;

		for (int d = 0; d < NDIR; d++)
			live += dir_live[d];
		T_ASSERT(C(fs)->nr_dix >= live);
		T_ASSERT(C(fs)->dix_bytes > 0 && C(fs)->dix_bytes <= C(fs)->dix_budget);
	}
	t_fs_unmount_clean(dev, &fs);

	/*
	 * Stats that find an index mark it (ns_lock shared: they cannot
	 * move it in the list), and eviction passes a marked index over
	 * once.  Stats that mark every index between two builds must not
	 * keep the total over the budget: after each call only the indexes
	 * it used may stay past it.  Each directory is statted twice: the
	 * first builds its index (ns_lock exclusive), the second marks it.
	 */
	{
		struct udax_mount_opts few = { .dir_cache = 6000 };	/* ~5 indexes */
		struct udax_stat st;

		FS_OK(udax_mount(dev, 0, &few, &fs));
		for (int round = 0; round < 3; round++)
			for (int d = 0; d < NDIR; d++) {
				if (!dir_live[d])
					continue;
				snprintf(p, sizeof(p), "/d%d/none", d);
				FS_ERR(udax_stat(fs, p, &st), -ENOENT);
				FS_ERR(udax_stat(fs, p, &st), -ENOENT);
				T_ASSERT(C(fs)->dix_bytes <= C(fs)->dix_budget ||
					 C(fs)->nr_dix <= 2);
			}
		FS_OK(udax_unmount(&fs));
	}
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_dix_evict: ok (%d ops)\n", OPS);
	return 0;
}
