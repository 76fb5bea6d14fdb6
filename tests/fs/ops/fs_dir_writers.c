/* SPDX-License-Identifier: MIT */
/*
 * Writers of different directories at once.  A create (udax_open with
 * O_CREAT) or an unlink of a file takes ns_lock for a directory's writer
 * and the directory's own lock, so such operations in different
 * directories run together, and so does a rename of a file (within one
 * directory or between two: tests/fs/ops/fs_rename_cross); a chmod walks
 * beside them and changes its inode under the inode's lock; renames of
 * directories, rmdir and the like take ns_lock alone.  Threads
 * here create and unlink names in a directory of their own (/p/dK), all
 * of them in one shared directory (/p: each walk through it to /p/dK
 * meets the writers of /p); in the last quarter of the run others list
 * those directories, and one renames a file between two directories and
 * makes, moves and removes a directory (exclusive operations in between; the
 * rest has the writers alone, so that they overlap most).  Each
 * thread keeps a model of the names it owns: every create, unlink and
 * stat of its own names must agree with it as it goes, and at the end
 * every directory must list exactly the names the models hold, and fsck
 * must find the file system clean.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fs_util.h"

#define WRITERS	3
#define NAMES	48		/* per writer, per directory */
/* ThreadSanitizer sees a missing lock from the order of accesses; the
 * plain builds need the two writers to meet in the window. */
#if defined(__SANITIZE_THREAD__)
#define ROUNDS	2000
#else
#define ROUNDS	20000
#endif

static struct udax_fs *fs;
static atomic_bool stop, mixed;

struct writer {
	int id;
	bool own[NAMES], shared[NAMES];	/* the model: present */
	uint64_t seed;
};

static void path_of(char *p, size_t n, int id, bool shared, int k)
{
	if (shared)
		snprintf(p, n, "/p/s%d_%d", id, k);
	else
		snprintf(p, n, "/p/d%d/n%d", id, k);
}

static void *writer(void *arg)
{
	struct writer *w = arg;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t x = t_rand(&w->seed);

		if (r == ROUNDS * 3 / 4)
			atomic_store(&mixed, true);
		bool shared = x & 1;
		int k = (int)((x >> 8) % NAMES);
		bool *have = shared ? &w->shared[k] : &w->own[k];
		struct udax_file *f;
		struct udax_stat st;
		char p[64];

		path_of(p, sizeof(p), w->id, shared, k);
		switch ((x >> 32) % 4) {
		case 3: {	/* rename over another name of its own */
			int j = (int)((x >> 40) % NAMES);
			bool *to = shared ? &w->shared[j] : &w->own[j];
			char q[64];

			path_of(q, sizeof(q), w->id, shared, j);
			if (!*have) {
				FS_ERR(udax_rename(fs, p, q, 0), -ENOENT);
			} else {
				FS_OK(udax_rename(fs, p, q, 0));
				if (j != k) {
					*have = false;
					*to = true;
				}
			}
			break;
		}
		case 0:		/* create, exclusively */
			if (*have) {
				FS_ERR(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f),
				       -EEXIST);
			} else {
				FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
				T_ASSERT(udax_pwrite(f, p, 8, 0) == 8);
				FS_OK(udax_close(&f));
				*have = true;
			}
			break;
		case 1:		/* unlink */
			if (*have) {
				FS_OK(udax_unlink(fs, p));
				*have = false;
			} else {
				FS_ERR(udax_unlink(fs, p), -ENOENT);
			}
			break;
		default:	/* stat and chmod, or open without O_EXCL */
			if (*have) {
				FS_OK(udax_stat(fs, p, &st));
				T_ASSERT(st.size == 8);
				FS_OK(udax_chmod(fs, p, (st.mode & 0777) ^ 0100));
			} else {
				FS_ERR(udax_stat(fs, p, &st), -ENOENT);
				FS_OK(udax_open(fs, p, O_RDWR | O_CREAT, 0644, &f));
				T_ASSERT(udax_pwrite(f, p, 8, 0) == 8);
				FS_OK(udax_close(&f));
				*have = true;
			}
			break;
		}
	}
	return NULL;
}

/* Wait for the last quarter of the run. */
static void await_mixed(void)
{
	while (!atomic_load(&mixed) && !atomic_load(&stop))
		sched_yield();
}

/* Listings of every directory, until stop. */
static void *reader(void *arg)
{
	(void)arg;
	await_mixed();
	while (!atomic_load(&stop)) {
		for (int d = -1; d < WRITERS; d++) {
			struct udax_dirent e;
			struct udax_dir *dir;
			char p[32];
			int r;

			if (d < 0)
				snprintf(p, sizeof(p), "/p");
			else
				snprintf(p, sizeof(p), "/p/d%d", d);
			FS_OK(udax_opendir(fs, p, &dir));
			while ((r = udax_readdir(dir, &e)) == 1)
				;
			FS_OK(r);
			FS_OK(udax_closedir(&dir));
		}
	}
	return NULL;
}

/* Exclusive operations among them: a directory made in one directory,
 * moved to another and removed there; and a file's rename from one
 * directory to another and back, as the writer of both. */
static void *exclusive(void *arg)
{
	(void)arg;
	await_mixed();
	while (!atomic_load(&stop)) {
		FS_OK(udax_rename(fs, "/p/mover", "/q/mover", 0));
		FS_OK(udax_mkdir(fs, "/p/tmpdir", 0755));
		FS_OK(udax_rename(fs, "/p/tmpdir", "/q/tmpdir", 0));
		FS_OK(udax_rename(fs, "/q/mover", "/p/mover", 0));
		FS_OK(udax_rmdir(fs, "/q/tmpdir"));
	}
	return NULL;
}

int main(void)
{
	struct writer w[WRITERS];
	pthread_t tw[WRITERS], tr, tx;
	struct udax_fsck_report rep;
	struct udax_dev *dev;
	int shared_names = 0;

	fs = t_fs_new("mem:256M", &dev);
	FS_OK(udax_mkdir(fs, "/p", 0755));
	FS_OK(udax_mkdir(fs, "/q", 0755));
	t_write_file(fs, "/p/mover", "m", 1);
	for (int i = 0; i < WRITERS; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/p/d%d", i);
		FS_OK(udax_mkdir(fs, p, 0755));
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
	}
	for (int i = 0; i < WRITERS; i++)
		T_ASSERT(pthread_create(&tw[i], NULL, writer, &w[i]) == 0);
	T_ASSERT(pthread_create(&tr, NULL, reader, NULL) == 0);
	T_ASSERT(pthread_create(&tx, NULL, exclusive, NULL) == 0);
	for (int i = 0; i < WRITERS; i++)
		T_ASSERT(pthread_join(tw[i], NULL) == 0);
	atomic_store(&stop, true);
	T_ASSERT(pthread_join(tr, NULL) == 0);
	T_ASSERT(pthread_join(tx, NULL) == 0);

	/* The directories hold what the models say, before and after a
	 * remount. */
	for (int pass = 0; pass < 2; pass++) {
		shared_names = 0;
		for (int i = 0; i < WRITERS; i++) {
			char d[32];
			int own = 0;

			for (int k = 0; k < NAMES; k++) {
				struct udax_stat st;
				char p[64];

				path_of(p, sizeof(p), i, false, k);
				if (w[i].own[k]) {
					FS_OK(udax_stat(fs, p, &st));
					own++;
				} else {
					FS_ERR(udax_stat(fs, p, &st), -ENOENT);
				}
				path_of(p, sizeof(p), i, true, k);
				if (w[i].shared[k]) {
					FS_OK(udax_stat(fs, p, &st));
					shared_names++;
				} else {
					FS_ERR(udax_stat(fs, p, &st), -ENOENT);
				}
			}
			snprintf(d, sizeof(d), "/p/d%d", i);
			T_ASSERT(t_dir_count(fs, d) == own);
		}
		/* /p: the shared names, the writers' directories, mover. */
		T_ASSERT(t_dir_count(fs, "/p") == shared_names + WRITERS + 1);
		T_ASSERT(t_dir_count(fs, "/q") == 0);
		if (!pass)
			t_fs_remount(dev, &fs);
	}
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
