/* SPDX-License-Identifier: MIT */
/*
 * Renames of files between directories, as the writer of both
 * (dw_hold_pair in dir.c), beside creates, unlinks and renames of other
 * threads in the same directories, and beside stats and listings.  Each
 * mover owns NAMES files, each under one name that moves among DIRS
 * shared directories (/m/dJ/tT_K): it creates them, moves them to
 * another directory (over a file of its own there, or to an absent
 * name), unlinks them, and keeps a model of where each name is and
 * which inode it names.  Half the movers go up the directories, half
 * down, so that two renames between one pair of directories often run
 * in opposite directions: a hang (the alarm) is a failure of the lock
 * order.  Linkers give one file (/m/keep) names in those directories,
 * move them and take them away (udax_link as the writer of the new
 * name's directory: the file's link count changes under its own lock,
 * beside the others'), and keep a model of them too: at the end the
 * file's link count must be one more than the names they hold.  Every
 * operation's result and every stat of its own names must
 * agree with the model as it goes; threads beside them stat names and
 * look them up by handle (udax_lookup) and check that a name found names
 * a regular file with at most one link; at the end every directory lists exactly the names the models
 * hold, before and after a remount, and fsck finds the file system
 * clean.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <dirent.h>
#include <unistd.h>

#include "fs_util.h"

#define MOVERS	4
#define LINKERS	2
#define DIRS	4
#define NAMES	24		/* per mover */
#if defined(__SANITIZE_THREAD__)
#define ROUNDS	2000
#else
#define ROUNDS	10000
#endif

static struct udax_fs *fs;
static atomic_bool stop;

struct mover {
	int id;
	int at[NAMES];			/* the model: its directory, -1: none */
	uint32_t ino[NAMES];		/* and the inode it names */
	uint64_t seed;
};

static void path_of(char *p, size_t n, int d, int id, int k)
{
	snprintf(p, n, "/m/d%d/t%d_%d", d, id, k);
}

static void *mover(void *arg)
{
	struct mover *m = arg;
	int step = m->id % 2 ? DIRS - 1 : 1;	/* down or up */

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t x = t_rand(&m->seed);
		int k = (int)(x % NAMES), d = m->at[k];
		struct udax_stat st;
		struct udax_file *f;
		char p[64], q[64];

		if (d < 0) {		/* create it in a directory */
			d = (int)((x >> 16) % DIRS);
			path_of(p, sizeof(p), d, m->id, k);
			FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
			FS_OK(udax_close(&f));
			FS_OK(udax_stat(fs, p, &st));
			m->at[k] = d;
			m->ino[k] = st.ino;
			continue;
		}
		path_of(p, sizeof(p), d, m->id, k);
		switch ((x >> 32) % 8) {
		case 0:		/* unlink */
			FS_OK(udax_unlink(fs, p));
			FS_ERR(udax_stat(fs, p, &st), -ENOENT);
			m->at[k] = -1;
			break;
		case 1: {	/* over another of its own, in the next directory */
			int j = (int)((x >> 40) % NAMES), e = (d + step) % DIRS;

			if (j == k || m->at[j] != e)
				break;
			path_of(q, sizeof(q), e, m->id, j);
			FS_OK(udax_rename(fs, p, q, 0));
			FS_ERR(udax_stat(fs, p, &st), -ENOENT);
			FS_OK(udax_stat(fs, q, &st));
			T_ASSERT(st.ino == m->ino[k] && st.nlink == 1);
			m->ino[j] = m->ino[k];
			m->at[k] = -1;
			break;
		}
		default: {	/* to the next directory, the same name */
			int e = (d + step) % DIRS;

			path_of(q, sizeof(q), e, m->id, k);
			FS_OK(udax_rename(fs, p, q, UDAX_RENAME_NOREPLACE));
			FS_ERR(udax_stat(fs, p, &st), -ENOENT);
			FS_OK(udax_stat(fs, q, &st));
			T_ASSERT(st.ino == m->ino[k]);
			m->at[k] = e;
			break;
		}
		}
	}
	return NULL;
}

/* One file's names come and go and move (lI_K), in every directory. */
static void *linker(void *arg)
{
	struct mover *m = arg;

	for (int r = 0; r < ROUNDS / 2; r++) {
		uint64_t x = t_rand(&m->seed);
		int k = (int)(x % NAMES), d = m->at[k];
		struct udax_stat st;
		char p[64], q[64];

		if (d < 0) {
			d = (int)((x >> 16) % DIRS);
			snprintf(p, sizeof(p), "/m/d%d/l%d_%d", d, m->id, k);
			FS_OK(udax_link(fs, "/m/keep", p));
			FS_OK(udax_stat(fs, p, &st));
			T_ASSERT(st.ino == m->ino[0] && st.nlink >= 2);
			m->at[k] = d;
			continue;
		}
		snprintf(p, sizeof(p), "/m/d%d/l%d_%d", d, m->id, k);
		if (x >> 63) {
			FS_OK(udax_unlink(fs, p));
			m->at[k] = -1;
		} else {
			d = (d + 1) % DIRS;
			snprintf(q, sizeof(q), "/m/d%d/l%d_%d", d, m->id, k);
			FS_OK(udax_rename(fs, p, q, 0));
			FS_OK(udax_stat(fs, q, &st));
			T_ASSERT(st.ino == m->ino[0]);
			m->at[k] = d;
		}
	}
	return NULL;
}

/* Stats and lookups of every mover's names in every directory, and
 * listings, until stop.  A name found must be a regular file with at most
 * one link: the moves never leave a second name nor an empty one. */
static void *looker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	struct udax_inode *root, *dh[DIRS];
	long found = 0;

	/* Held, as the FUSE server holds what the kernel looked up: every
	 * other lookup goes by handle (udax_lookup beside the writers). */
	FS_OK(udax_iget_root(fs, &root));
	for (int d = 0; d < DIRS; d++) {
		struct udax_inode *m;
		char n[16];

		snprintf(n, sizeof(n), "d%d", d);
		FS_OK(udax_lookup(fs, root, "m", &m, NULL));
		FS_OK(udax_lookup(fs, m, n, &dh[d], NULL));
		FS_OK(udax_iput(&m));
	}
	FS_OK(udax_iput(&root));

	while (!atomic_load(&stop)) {
		uint64_t x = t_rand(&seed);
		struct udax_stat st;
		char p[64];
		int r;

		if (x % 64 == 0) {
			struct udax_dirent e;
			struct udax_dir *dir;

			snprintf(p, sizeof(p), "/m/d%d", (int)((x >> 8) % DIRS));
			FS_OK(udax_opendir(fs, p, &dir));
			while ((r = udax_readdir(dir, &e)) == 1)
				T_ASSERT((e.name[0] == 't' || e.name[0] == 'l') &&
					 e.type == DT_REG);
			FS_OK(r);
			FS_OK(udax_closedir(&dir));
			continue;
		}
		path_of(p, sizeof(p), (int)((x >> 8) % DIRS), (int)((x >> 16) % MOVERS),
			(int)((x >> 24) % NAMES));
		if (x & (1u << 30)) {
			struct udax_inode *i;

			r = udax_lookup(fs, dh[(x >> 8) % DIRS], strrchr(p, '/') + 1, &i, &st);
			if (!r)
				FS_OK(udax_iput(&i));
		} else {
			r = udax_stat(fs, p, &st);
		}
		if (r == -ENOENT)
			continue;
		FS_OK(r);
		/* Its link count read after the lookup: 0 if the name went
		 * meanwhile (an unlink, a rename over it), as Linux's stat
		 * may say too; never 2. */
		T_ASSERT(S_ISREG(st.mode) && st.nlink <= 1);
		found++;
	}
	for (int d = 0; d < DIRS; d++)
		FS_OK(udax_iput(&dh[d]));
	return (void *)found;
}

int main(void)
{
	struct mover m[MOVERS + LINKERS];
	pthread_t tm[MOVERS + LINKERS], tl[2];
	struct udax_stat st;
	struct udax_fsck_report rep;
	struct udax_dev *dev;
	void *found;

	alarm(180);	/* two renames waiting for each other hang */
	fs = t_fs_new("mem:256M", &dev);
	FS_OK(udax_mkdir(fs, "/m", 0755));
	t_write_file(fs, "/m/keep", "k", 1);
	FS_OK(udax_stat(fs, "/m/keep", &st));
	for (int d = 0; d < DIRS; d++) {
		char p[32];

		snprintf(p, sizeof(p), "/m/d%d", d);
		FS_OK(udax_mkdir(fs, p, 0755));
	}
	for (int i = 0; i < MOVERS + LINKERS; i++) {
		memset(&m[i], 0, sizeof(m[i]));
		m[i].id = i;
		m[i].seed = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		for (int k = 0; k < NAMES; k++)
			m[i].at[k] = -1;
		if (i >= MOVERS)
			m[i].ino[0] = st.ino;	/* a linker's: /m/keep */
	}
	for (int i = 0; i < 2; i++)
		T_ASSERT(pthread_create(&tl[i], NULL, looker, (void *)(uintptr_t)(i + 1)) == 0);
	for (int i = 0; i < MOVERS + LINKERS; i++)
		T_ASSERT(pthread_create(&tm[i], NULL, i < MOVERS ? mover : linker,
					&m[i]) == 0);
	for (int i = 0; i < MOVERS + LINKERS; i++)
		T_ASSERT(pthread_join(tm[i], NULL) == 0);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++) {
		T_ASSERT(pthread_join(tl[i], &found) == 0);
		printf("looker %d: %ld names found\n", i, (long)(intptr_t)found);
	}

	/* The directories hold what the models say, before and after a
	 * remount. */
	for (int pass = 0; pass < 2; pass++) {
		int in[DIRS] = { 0 }, links = 1;

		for (int i = 0; i < MOVERS; i++) {
			for (int k = 0; k < NAMES; k++) {
				for (int d = 0; d < DIRS; d++) {
					char p[64];

					path_of(p, sizeof(p), d, i, k);
					if (m[i].at[k] != d) {
						FS_ERR(udax_stat(fs, p, &st), -ENOENT);
						continue;
					}
					FS_OK(udax_stat(fs, p, &st));
					T_ASSERT(st.ino == m[i].ino[k] && st.nlink == 1);
					in[d]++;
				}
			}
		}
		for (int i = MOVERS; i < MOVERS + LINKERS; i++) {
			for (int k = 0; k < NAMES; k++) {
				for (int d = 0; d < DIRS; d++) {
					char p[64];

					snprintf(p, sizeof(p), "/m/d%d/l%d_%d", d, i, k);
					if (m[i].at[k] != d) {
						FS_ERR(udax_stat(fs, p, &st), -ENOENT);
						continue;
					}
					FS_OK(udax_stat(fs, p, &st));
					T_ASSERT(st.ino == m[i].ino[0]);
					in[d]++;
					links++;
				}
			}
		}
		FS_OK(udax_stat(fs, "/m/keep", &st));
		T_ASSERT(st.nlink == (uint32_t)links);
		for (int d = 0; d < DIRS; d++) {
			char p[32];

			snprintf(p, sizeof(p), "/m/d%d", d);
			T_ASSERT(t_dir_count(fs, p) == in[d]);
		}
		if (!pass)
			t_fs_remount(dev, &fs);
	}
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_rename_cross: ok\n");
	return 0;
}
