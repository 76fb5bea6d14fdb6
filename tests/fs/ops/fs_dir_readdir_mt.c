/* SPDX-License-Identifier: MIT */
/*
 * readdir under change: first a listing that removes names just behind its
 * position and adds names (every name present throughout
 * returned once), then concurrently: one directory holds 3,000 permanent
 * names (spread over many blocks, with gaps left by removed names) while
 * two threads create, rename and unlink their own names in it (names of
 * every length, so records split gaps and merge back everywhere), and two
 * listers list it over and over.  Every listing returns every permanent
 * name exactly once, and every other name it returns is a churner's.
 * Then the churners' names are removed and the directory lists exactly the
 * permanent ones.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "fs_util.h"

#define NP	3000		/* permanent names */
#define NC	2		/* churners */
#define NL	2		/* listers */
#define LISTINGS 6		/* each lister */

static struct udax_fs *fs;
static atomic_int listers_done;

static void perm_name(char *p, size_t n, int i)
{
	/* Lengths 1..40: the permanent names sit between churn records. */
	snprintf(p, n, "/d/p%d-%.*s", i, i % 37, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void *churn(void *arg)
{
	long t = (long)arg;
	unsigned seed = (unsigned)t * 7919u + 1;
	char p[300], q[300];
	long it = 0;

	while (atomic_load(&listers_done) < NL) {
		int i = (int)(rand_r(&seed) % 64), len = i * 37 % 120;
		struct udax_file *f;
		int r;

		snprintf(p, sizeof(p), "/d/c%ld-%d-%.*s", t, i, len,
			 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy"
			 "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy");
		switch (rand_r(&seed) % 3) {
		case 0:
			r = udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f);
			if (r == 0)
				FS_OK(udax_close(&f));
			else
				FS_ERR(r, -EEXIST);
			break;
		case 1:
			r = udax_unlink(fs, p);
			if (r)
				FS_ERR(r, -ENOENT);
			break;
		default:
			snprintf(q, sizeof(q), "/d/c%ld-r%d", t, i);
			r = udax_rename(fs, p, q, 0);
			if (r)
				FS_ERR(r, -ENOENT);
			break;
		}
		it++;
	}
	return (void *)it;
}

static void *lister(void *arg)
{
	unsigned char *seen = calloc(NP, 1);

	(void)arg;
	T_ASSERT(seen);
	for (int l = 0; l < LISTINGS; l++) {
		struct udax_dirent e;
		struct udax_dir *d;
		int r, n = 0;

		memset(seen, 0, NP);
		FS_OK(udax_opendir(fs, "/d", &d));
		while ((r = udax_readdir(d, &e)) > 0) {
			int i;

			if (e.name[0] == 'c') {
				long t;

				T_ASSERT(sscanf(e.name, "c%ld-", &t) == 1 && t >= 0 && t < NC);
				continue;
			}
			T_ASSERT(sscanf(e.name, "p%d-", &i) == 1 && i >= 0 && i < NP);
			T_ASSERT(!seen[i]);
			seen[i] = 1;
			n++;
			if (n % 64 == 0)
				sched_yield();	/* let the churners in */
		}
		FS_OK(r);
		FS_OK(udax_closedir(&d));
		T_ASSERT(n == NP);
	}
	free(seen);
	atomic_fetch_add(&listers_done, 1);
	return NULL;
}

/* Deterministic first: /s holds p<i> each followed by c<i> (links of one
 * file, the c names shorter and shorter); as the listing returns p<i>,
 * c<i-1> (just behind the position) is unlinked and a new name created.
 * Every p<i> comes exactly once: a removal must not move the records after
 * it (were they moved back by c<i-1>'s length, p<i+1> would fall behind the
 * position whenever c<i> is the shorter). */
static void interleaved(void)
{
	struct udax_dirent e;
	struct udax_dir *d;
	unsigned char seen[500] = { 0 };
	char p[300];
	int r, n = 0, made = 0;

	FS_OK(udax_mkdir(fs, "/s", 0755));
	t_write_file(fs, "/s/file", NULL, 0);
	for (int i = 0; i < 500; i++) {
		snprintf(p, sizeof(p), "/s/p%d", i);
		FS_OK(udax_link(fs, "/s/file", p));
		snprintf(p, sizeof(p), "/s/c%d-%.*s", i, 50 - i % 50,
			 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
		FS_OK(udax_link(fs, "/s/file", p));
	}
	FS_OK(udax_opendir(fs, "/s", &d));
	while ((r = udax_readdir(d, &e)) > 0) {
		int i;

		if (e.name[0] != 'p')
			continue;
		T_ASSERT(sscanf(e.name, "p%d", &i) == 1 && i >= 0 && i < 500);
		T_ASSERT(!seen[i]);
		seen[i] = 1;
		n++;
		if (i > 0) {
			snprintf(p, sizeof(p), "/s/c%d-%.*s", i - 1, 50 - (i - 1) % 50,
				 "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
			FS_OK(udax_unlink(fs, p));
		}
		snprintf(p, sizeof(p), "/s/new%d", made++);
		FS_OK(udax_link(fs, "/s/file", p));
	}
	FS_OK(r);
	FS_OK(udax_closedir(&d));
	T_ASSERT(n == 500);
}

int main(void)
{
	pthread_t c[NC], l[NL];
	struct udax_dev *dev;
	struct udax_dirent e;
	struct udax_dir *d;
	char p[300];
	long iters = 0;
	int r, n = 0;

	struct udax_mkfs_opts mo = { .nr_inodes = 8192 };

	dev = t_fs_dev("mem:64M");
	FS_OK(udax_mkfs(dev, 0, &mo));
	fs = t_fs_mount(dev);
	FS_OK(udax_mkdir(fs, "/d", 0755));
	/* Permanent names with holes between them: every fourth created name
	 * is a temporary one, removed again. */
	for (int i = 0; i < NP; i++) {
		struct udax_file *f;

		perm_name(p, sizeof(p), i);
		FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
		FS_OK(udax_close(&f));
		if (i % 4 == 0) {
			snprintf(p, sizeof(p), "/d/tmp%d", i);
			FS_OK(udax_mkdir(fs, p, 0755));
		}
	}
	for (int i = 0; i < NP; i += 4) {
		snprintf(p, sizeof(p), "/d/tmp%d", i);
		FS_OK(udax_rmdir(fs, p));
	}
	interleaved();
	for (long t = 0; t < NC; t++)
		T_ASSERT(pthread_create(&c[t], NULL, churn, (void *)t) == 0);
	for (long t = 0; t < NL; t++)
		T_ASSERT(pthread_create(&l[t], NULL, lister, NULL) == 0);
	for (int t = 0; t < NL; t++)
		T_ASSERT(pthread_join(l[t], NULL) == 0);
	for (int t = 0; t < NC; t++) {
		void *it;

		T_ASSERT(pthread_join(c[t], &it) == 0);
		iters += (long)it;
	}
	/* Remove what the churners left while listing: still every
	 * permanent name once; then exactly the permanent names. */
	FS_OK(udax_opendir(fs, "/d", &d));
	while ((r = udax_readdir(d, &e)) > 0) {
		if (e.name[0] == 'c') {
			snprintf(p, sizeof(p), "/d/%s", e.name);
			FS_OK(udax_unlink(fs, p));
		} else {
			n++;
		}
	}
	FS_OK(r);
	FS_OK(udax_closedir(&d));
	T_ASSERT(n == NP);
	n = 0;
	t_fs_remount(dev, &fs);
	FS_OK(udax_opendir(fs, "/d", &d));
	while ((r = udax_readdir(d, &e)) > 0) {
		T_ASSERT(e.name[0] == 'p');
		n++;
	}
	FS_OK(r);
	FS_OK(udax_closedir(&d));
	T_ASSERT(n == NP);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("ok: %d listings of %d names during %ld churn operations\n",
	       NL * LISTINGS, NP, iters);
	return 0;
}
