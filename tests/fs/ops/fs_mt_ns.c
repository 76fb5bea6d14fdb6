/* SPDX-License-Identifier: MIT */
/*
 * Namespace storms: threads create, write, unlink, link, rename (within
 * and across directories, replacing) and mkdir/rmdir in their own
 * directory and in one shared directory, with thread-unique names, each
 * keeping a model of its names and their contents; a lister reads the
 * shared directory meanwhile, and a prowler opens, reads and writes
 * (bytes the models ignore) whatever it finds, so that handles outlive
 * their names and orphans are freed at its close.  At the end (and after a remount) every
 * thread's model must match the tree, and the free counts must come back
 * to where they started once everything is removed.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fs_util.h"

#define NT	4
#define NN	12		/* names per thread and directory */

static struct udax_fs *fs;
static long iters;
static atomic_int stop;

/* model: content tag of name i in place p (0: own dir, 1: shared), 0 = absent */
static uint32_t model[NT][2][NN];
static bool isdir[NT][2][NN];

static void path_of(char *p, size_t n, long t, int place, int i)
{
	if (place)
		snprintf(p, n, "/s/t%ld-n%d", t, i);
	else
		snprintf(p, n, "/t%ld/n%d", t, i);
}

static void put(const char *p, uint32_t tag)
{
	struct udax_file *f;
	char buf[64];

	memset(buf, 0, sizeof(buf));
	memcpy(buf, &tag, 4);
	FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_TRUNC, 0644, &f));
	T_ASSERT(udax_pwrite(f, buf, 20 + tag % 40, 0) == (ssize_t)(20 + tag % 40));
	FS_OK(udax_close(&f));
}

static void *worker(void *arg)
{
	long t = (long)arg;
	uint64_t seed = 1000 + t;
	uint32_t next_tag = (uint32_t)t << 24 | 1;
	char p[64], q[64];

	for (long it = 0; it < iters; it++) {
		uint64_t r = t_rand(&seed);
		int pl = r & 1, i = (r >> 1) % NN, op = (r >> 8) % 6;
		int pl2 = (r >> 16) & 1, j = (r >> 17) % NN;
		uint32_t *m = &model[t][pl][i], *m2 = &model[t][pl2][j];
		bool *d = &isdir[t][pl][i], *d2 = &isdir[t][pl2][j];

		path_of(p, sizeof(p), t, pl, i);
		path_of(q, sizeof(q), t, pl2, j);
		switch (op) {
		case 0:		/* create or overwrite */
			if (*m && *d) {
				FS_ERR(udax_open(fs, p, O_RDWR | O_CREAT, 0644,
						 &(struct udax_file *){ NULL }), -EISDIR);
				break;
			}
			put(p, next_tag);
			*m = next_tag++;
			break;
		case 1:		/* unlink / rmdir */
			if (!*m) {
				FS_ERR(udax_unlink(fs, p), -ENOENT);
			} else if (*d) {
				FS_OK(udax_rmdir(fs, p));
				*m = 0;
				*d = false;
			} else {
				FS_OK(udax_unlink(fs, p));
				*m = 0;
			}
			break;
		case 2:		/* rename p -> q */
			if (!*m) {
				FS_ERR(udax_rename(fs, p, q, 0), -ENOENT);
			} else if (m == m2) {
				FS_OK(udax_rename(fs, p, q, 0));
			} else if (*m2 && *d != *d2) {
				FS_ERR(udax_rename(fs, p, q, 0), *d ? -ENOTDIR : -EISDIR);
			} else {
				FS_OK(udax_rename(fs, p, q, 0));
				*m2 = *m;
				*d2 = *d;
				*m = 0;
				*d = false;
			}
			break;
		case 3:		/* mkdir */
			if (*m) {
				FS_ERR(udax_mkdir(fs, p, 0755), -EEXIST);
			} else {
				FS_OK(udax_mkdir(fs, p, 0755));
				*m = next_tag++;
				*d = true;
			}
			break;
		case 4:		/* link p -> q (files only, q absent) */
			if (!*m || *d || *m2) {
				break;
			}
			/* two names, one inode: model it as a copy, then
			 * drop the old name so the model stays simple */
			FS_OK(udax_link(fs, p, q));
			FS_OK(udax_unlink(fs, p));
			*m2 = *m;
			*m = 0;
			break;
		default:	/* rename with NOREPLACE */
			if (*m && !*m2) {
				FS_OK(udax_rename(fs, p, q, UDAX_RENAME_NOREPLACE));
				*m2 = *m;
				*d2 = *d;
				*m = 0;
				*d = false;
			} else if (*m && m != m2) {
				FS_ERR(udax_rename(fs, p, q, UDAX_RENAME_NOREPLACE),
				       -EEXIST);
			}
			break;
		}
	}
	return NULL;
}

/* Opens names that others unlink and rename meanwhile: handles outlive
 * their names (orphans freed at this thread's close). */
static void *prowler(void *arg)
{
	uint64_t seed = 4242;
	char p[64], b[16];

	(void)arg;
	while (!stop) {
		uint64_t r = t_rand(&seed);
		struct udax_file *f;
		struct udax_stat st;

		path_of(p, sizeof(p), (long)(r % NT), (r >> 8) & 1, (int)((r >> 9) % NN));
		if (udax_open(fs, p, (r >> 16) % 4 ? O_RDWR : O_RDONLY, 0, &f))
			continue;
		FS_OK(udax_fstat(f, &st));
		if (S_ISREG(st.mode)) {
			FS_OK(udax_pread(f, b, sizeof(b), 0));
			if ((r >> 16) % 4) {
				memset(b, 0x5a, 8);
				T_ASSERT(udax_pwrite(f, b, 8, 4) == 8);
			}
		}
		FS_OK(udax_close(&f));
	}
	return NULL;
}

static void *lister(void *arg)
{
	struct udax_dirent e;
	struct udax_dir *d;
	int r;

	(void)arg;
	while (!stop) {
		FS_OK(udax_opendir(fs, "/s", &d));
		while ((r = udax_readdir(d, &e)) == 1)
			T_ASSERT(e.ino && e.name[0] == 't');
		FS_OK(r);
		FS_OK(udax_closedir(&d));
	}
	return NULL;
}

static void verify(void)
{
	char p[64];

	for (long t = 0; t < NT; t++)
		for (int pl = 0; pl < 2; pl++)
			for (int i = 0; i < NN; i++) {
				struct udax_stat st;
				int r;

				path_of(p, sizeof(p), t, pl, i);
				r = udax_stat(fs, p, &st);
				if (!model[t][pl][i]) {
					FS_ERR(r, -ENOENT);
					continue;
				}
				FS_OK(r);
				T_ASSERT(S_ISDIR(st.mode) == isdir[t][pl][i]);
				if (!isdir[t][pl][i]) {
					size_t n;
					uint32_t *c = t_read_file(fs, p, &n);

					T_ASSERT(n == 20 + model[t][pl][i] % 40);
					T_ASSERT(*c == model[t][pl][i]);
					T_ASSERT(st.nlink == 1);
					free(c);
				} else {
					T_ASSERT(st.nlink == 2);
				}
			}
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_statfs s0, s1;
	pthread_t th[NT + 2];
	char p[64];

	iters = t_iters(3000);
	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_mkdir(fs, "/s", 0755));
	for (long t = 0; t < NT; t++) {
		snprintf(p, sizeof(p), "/t%ld", t);
		FS_OK(udax_mkdir(fs, p, 0755));
	}
	for (long t = 0; t < NT; t++)
		T_ASSERT(!pthread_create(&th[t], NULL, worker, (void *)t));
	T_ASSERT(!pthread_create(&th[NT], NULL, lister, NULL));
	T_ASSERT(!pthread_create(&th[NT + 1], NULL, prowler, NULL));
	for (int t = 0; t < NT; t++)
		T_ASSERT(!pthread_join(th[t], NULL));
	stop = 1;
	T_ASSERT(!pthread_join(th[NT], NULL));
	T_ASSERT(!pthread_join(th[NT + 1], NULL));
	verify();
	t_fs_remount(dev, &fs);
	verify();
	/* Remove everything: the free counts come back. */
	for (long t = 0; t < NT; t++)
		for (int pl = 0; pl < 2; pl++)
			for (int i = 0; i < NN; i++) {
				if (!model[t][pl][i])
					continue;
				path_of(p, sizeof(p), t, pl, i);
				if (isdir[t][pl][i])
					FS_OK(udax_rmdir(fs, p));
				else
					FS_OK(udax_unlink(fs, p));
			}
	for (long t = 0; t < NT; t++) {
		snprintf(p, sizeof(p), "/t%ld", t);
		FS_OK(udax_rmdir(fs, p));
	}
	FS_OK(udax_rmdir(fs, "/s"));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free);
	/* Directories never shrink, but a removed one frees its blocks;
	 * only the root's own blocks (none at mkfs) remain. */
	{
		struct udax_stat st;

		FS_OK(udax_stat(fs, "/", &st));
		T_ASSERT(s1.blocks_free + st.blocks == s0.blocks_free);
	}
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
