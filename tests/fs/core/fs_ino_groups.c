/* SPDX-License-Identifier: MIT */
/*
 * Inode numbers come from FS_IGROUPS groups, each with its own lock, and a
 * thread allocates in a group of its own first (super.c, fs_ino_alloc):
 * creators in different directories share no allocator lock.  What that
 * must keep:
 *  - the first thread on a mount gets numbers from 2 on, as before;
 *  - a second thread's numbers come from another group;
 *  - NTHR threads creating at once until -ENOSPC use every number once:
 *    no number twice (each file stats with its own), none left free
 *    (statfs says 0, and a create in any thread fails), and a thread whose
 *    group is full takes numbers from the others;
 *  - a number reused gets a later generation (file handles: (ino, gen)
 *    names one file);
 *  - removing everything gives every number back, also across a remount;
 *    fsck is clean;
 *  - each number has a state word of its own (fs_istate), a group's on
 *    lines no other group's are on.
 */
#include <pthread.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_util.h"

#define NINO	1000
#define NTHR	4

static struct udax_fs *fs;
static pthread_barrier_t go;

struct creator {
	int id;
	int n;				/* files made */
	uint32_t first;			/* first file's number */
};

/* One file, then (all threads having made theirs) files until none is
 * left: a thread may start late on a small machine, when the others'
 * groups are full and they took from its own. */
static void *create_all(void *arg)
{
	struct creator *a = arg;
	struct udax_stat st;
	struct udax_file *f;
	char p[64];
	int r;

	snprintf(p, sizeof(p), "/t%d/f0", a->id);
	FS_OK(udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f));
	FS_OK(udax_fstat(f, &st));
	a->first = (uint32_t)st.ino;
	FS_OK(udax_close(&f));
	pthread_barrier_wait(&go);
	for (a->n = 1;; a->n++) {
		snprintf(p, sizeof(p), "/t%d/f%d", a->id, a->n);
		r = udax_open(fs, p, O_RDWR | O_CREAT | O_EXCL, 0644, &f);
		if (r)
			break;
		FS_OK(udax_close(&f));
	}
	FS_ERR(r, -ENOSPC);
	return NULL;
}

static uint32_t ino_of(const char *p, uint32_t *gen)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, p, &st));
	if (gen)
		*gen = st.gen;
	return (uint32_t)st.ino;
}

static void *second_thread(void *arg)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/second", O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_close(&f));
	*(uint32_t *)arg = ino_of("/second", NULL);
	return NULL;
}

int main(void)
{
	struct udax_dev *dev = t_fs_dev("mem:64M");
	struct udax_mkfs_opts mo = { .nr_inodes = NINO };
	static bool seen[NINO];
	struct creator a[NTHR];
	pthread_t th[NTHR];
	struct udax_statfs s0, s;
	uint32_t span, second, ino, gen, gen2;
	struct udax_file *f;
	char p[64];
	int total = 0;

	FS_OK(udax_mkfs(dev, 0, &mo));
	fs = t_fs_mount(dev);
	FS_OK(udax_statfs(fs, &s0));
	span = fs_igroup_span(C(fs));
	T_ASSERT(span >= (NINO + FS_IGROUPS - 1) / FS_IGROUPS && span % 16 == 0);

	/* State words: one per number, in the table, a group's on lines of
	 * its own, neighbours of a group on different lines. */
	{
		static uint8_t word_of[FS_IGROUPS * 4096];
		_Atomic uint32_t *base = C(fs)->istate;

		T_ASSERT(FS_IGROUPS * span <= sizeof(word_of));
		for (uint32_t i = 0; i < NINO; i++) {
			uint64_t w = (uint64_t)(fs_istate(C(fs), i) - base);

			T_ASSERT(w < (uint64_t)FS_IGROUPS * span && !word_of[w]);
			word_of[w] = 1;
			T_ASSERT(w / span == i / span);		/* its group's */
			if (i % span && span > 16)
				T_ASSERT(w / 16 != (uint64_t)(fs_istate(C(fs), i - 1) -
							     base) / 16);
		}
	}

	/* The first thread from 2 on; a second elsewhere. */
	t_write_file(fs, "/first", "x", 1);
	T_ASSERT(ino_of("/first", NULL) == 2);
	T_ASSERT(!pthread_create(&th[0], NULL, second_thread, &second));
	T_ASSERT(!pthread_join(th[0], NULL));
	T_ASSERT(second / span != 2 / span);

	/* A number reused: a later generation. */
	ino = ino_of("/first", &gen);
	FS_OK(udax_unlink(fs, "/first"));
	fs_ino_next(fs, ino);
	t_write_file(fs, "/again", "y", 1);
	T_ASSERT(ino_of("/again", &gen2) == ino);
	T_ASSERT(gen2 > gen);
	FS_OK(udax_unlink(fs, "/again"));
	FS_OK(udax_unlink(fs, "/second"));

	/* NTHR creators until nothing is left. */
	for (int t = 0; t < NTHR; t++) {
		snprintf(p, sizeof(p), "/t%d", t);
		FS_OK(udax_mkdir(fs, p, 0755));
	}
	T_ASSERT(!pthread_barrier_init(&go, NULL, NTHR));
	for (int t = 0; t < NTHR; t++) {
		a[t] = (struct creator){ .id = t };
		T_ASSERT(!pthread_create(&th[t], NULL, create_all, &a[t]));
	}
	for (int t = 0; t < NTHR; t++) {
		T_ASSERT(!pthread_join(th[t], NULL));
		total += a[t].n;
	}
	pthread_barrier_destroy(&go);
	/* Every number but 0, the root's and the NTHR directories'. */
	T_ASSERT(total == NINO - 2 - NTHR);
	FS_OK(udax_statfs(fs, &s));
	T_ASSERT(s.inodes_free == 0);
	FS_ERR(udax_open(fs, "/one-more", O_RDWR | O_CREAT, 0644, &f), -ENOSPC);
	for (int t = 0; t < NTHR; t++)
		for (int k = 0; k < a[t].n; k++) {
			snprintf(p, sizeof(p), "/t%d/f%d", t, k);
			ino = ino_of(p, NULL);
			T_ASSERT(ino >= 2 && ino < NINO && !seen[ino]);
			seen[ino] = true;
		}
	/* Each thread began in a group of its own. */
	for (int t = 0; t < NTHR; t++)
		for (int u = t + 1; u < NTHR; u++)
			T_ASSERT(a[t].first / span != a[u].first / span);

	t_fs_remount(dev, &fs);
	FS_OK(udax_statfs(fs, &s));
	T_ASSERT(s.inodes_free == 0);
	for (int t = 0; t < NTHR; t++) {
		for (int k = 0; k < a[t].n; k++) {
			snprintf(p, sizeof(p), "/t%d/f%d", t, k);
			FS_OK(udax_unlink(fs, p));
		}
		snprintf(p, sizeof(p), "/t%d", t);
		FS_OK(udax_rmdir(fs, p));
	}
	FS_OK(udax_statfs(fs, &s));
	T_ASSERT(s.inodes_free == s0.inodes_free);
	t_fs_remount(dev, &fs);
	FS_OK(udax_statfs(fs, &s));
	T_ASSERT(s.inodes_free == s0.inodes_free);
	t_fs_close_clean(&dev, &fs);
	printf("fs_ino_groups: ok (%d files in %d threads)\n", total, NTHR);
	return 0;
}
