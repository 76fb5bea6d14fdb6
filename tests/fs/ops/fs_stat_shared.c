/* SPDX-License-Identifier: MIT */
/*
 * Stats by path under a shared ns_lock (dir.c's stat_shared) against
 * writers: reader threads stat stable names, names that come and go,
 * names under directories removed and made again (their inode numbers
 * reused) and listings of those directories, opens and lookups by handle
 * of all of them, a symbolic link, access checks, and "." / trailing-slash / non-directory
 * paths, while a churner creates, renames and unlinks, and an appender
 * grows a file it holds open (its record on media lags behind its size in
 * memory: the fast log) and closes and reopens it, and a toggler opens
 * another (loaded into the cache under ns_lock shared), rewrites its
 * record (a size change) and closes it, again and again.  Every answer must be
 * one the namespace gave at some time during the call: a stable name is
 * always there with its inode and size; a churned name is absent or has
 * its size; the growing file is never smaller than an append that had
 * returned before the stat began (before, two holders putting the inode at
 * once could drop it from the cache without bringing its record home:
 * fs_iput).  Run with a directory-index budget of
 * 4 KiB (indexes freed after almost every change, so stats fall back to
 * the exclusive walk and race the rebuilds) and with the default one.
 * fsck is clean at the end.  First, in one thread: a stat sees an open
 * file's appends, and a closed one's.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "fs_util.h"

#define NR		3	/* reader threads */
#define NSTABLE		32
#define NCHURN		16
#define NDIRS		4
#define ITERS		5000
#define NAPPEND		2000	/* 4 KiB appends: 8 MiB */

static struct udax_fs *fs;
static atomic_int stop;
static _Atomic uint64_t grown;		/* the size an append returned with */
static uint64_t stable_ino[NSTABLE], c_ino;
static atomic_long answers[4];		/* ok, absent, fallback kinds, growth */

static const struct udax_cred other = { 1000, 1000 };

static uint64_t stable_size(int i) { return (uint64_t)i * 7 + 1; }

static void put(const char *p, size_t n)
{
	static const char buf[8192];
	struct udax_file *f;

	T_ASSERT(n <= sizeof(buf));
	FS_OK(udax_open(fs, p, O_CREAT | O_TRUNC | O_RDWR, 0644, &f));
	FS_OK(udax_pwrite(f, buf, n, 0));
	FS_OK(udax_close(&f));
}

static void *reader(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull * (uint64_t)((long)arg + 1);
	char p[64];

	while (!atomic_load(&stop)) {
		struct udax_stat st;
		unsigned k = (unsigned)(t_rand(&s) % 12), i = (unsigned)(t_rand(&s) % NSTABLE);
		uint64_t lo;
		int r;

		switch (k) {
		case 0: case 1:
			snprintf(p, sizeof(p), "/a/b/c/s%02u", i);
			FS_OK(udax_stat(fs, p, &st));
			T_ASSERT(S_ISREG(st.mode) && st.ino == stable_ino[i] &&
				 st.size == stable_size((int)i) && st.nlink == 1);
			/* access resolves as stat does: 0644, owner root */
			FS_OK(udax_access(fs, p, R_OK | W_OK, NULL));
			FS_OK(udax_access(fs, p, R_OK, &other));
			FS_ERR(udax_access(fs, p, W_OK, &other), -EACCES);
			atomic_fetch_add(&answers[0], 1);
			break;
		case 2:
			i %= NCHURN;
			snprintf(p, sizeof(p), "/a/b/c/%c%02u", t_rand(&s) & 1 ? 'x' : 'y', i);
			r = udax_stat(fs, p, &st);
			T_ASSERT(r == 0 || r == -ENOENT);
			if (!r)
				T_ASSERT(S_ISREG(st.mode) && st.size == 100 + i);
			atomic_fetch_add(&answers[r ? 1 : 0], 1);
			break;
		case 3:
			snprintf(p, sizeof(p), "/a/b/d%u/f", i % NDIRS);
			r = udax_stat(fs, p, &st);
			T_ASSERT(r == 0 || r == -ENOENT);
			if (!r)
				T_ASSERT(S_ISREG(st.mode) && st.size == 7);
			atomic_fetch_add(&answers[r ? 1 : 0], 1);
			break;
		case 4:
			lo = atomic_load(&grown);
			FS_OK(udax_stat(fs, "/a/b/c/grow", &st));
			T_ASSERT(S_ISREG(st.mode) && st.size >= lo);
			atomic_fetch_add(&answers[3], 1);
			break;
		case 5:
			FS_OK(udax_lstat(fs, "/a/b/c/lnk", &st));
			T_ASSERT(S_ISLNK(st.mode));
			FS_OK(udax_stat(fs, "/a/b/c/lnk", &st));
			T_ASSERT(S_ISREG(st.mode) && st.ino == stable_ino[0]);
			atomic_fetch_add(&answers[2], 1);
			break;
		case 6:
			FS_OK(udax_stat(fs, "/a/b/c/.", &st));
			T_ASSERT(S_ISDIR(st.mode) && st.ino == c_ino);
			FS_OK(udax_stat(fs, "//a//b/c//", &st));
			T_ASSERT(S_ISDIR(st.mode) && st.ino == c_ino);
			atomic_fetch_add(&answers[2], 1);
			break;
		case 7: {
			/* A directory removed and made again meanwhile: a
			 * listing holds it (an orphan once removed, which
			 * then lists nothing more). */
			struct udax_dirent e;
			struct udax_dir *dir;

			snprintf(p, sizeof(p), "/a/b/d%u", i % NDIRS);
			r = udax_opendir(fs, p, &dir);
			T_ASSERT(r == 0 || r == -ENOENT);
			if (!r) {
				while ((r = udax_readdir(dir, &e)) == 1)
					T_ASSERT(!strcmp(e.name, "f") || !strcmp(e.name, "t"));
				T_ASSERT(r == 0);
				FS_OK(udax_closedir(&dir));
			}
			atomic_fetch_add(&answers[2], 1);
			break;
		}
		case 8: {
			/* Opens: of a file another thread holds open (the
			 * growing one: from the cache, shared), of stable
			 * names (loaded, or found cached), O_CREAT of an
			 * existing name, and of a name that comes and goes. */
			struct udax_file *f;

			lo = atomic_load(&grown);
			FS_OK(udax_open(fs, "/a/b/c/grow", O_RDONLY, 0, &f));
			FS_OK(udax_fstat(f, &st));
			T_ASSERT(S_ISREG(st.mode) && st.size >= lo);
			FS_OK(udax_close(&f));
			snprintf(p, sizeof(p), "/a/b/c/s%02u", i);
			FS_OK(udax_open(fs, p, t_rand(&s) & 1 ? O_RDONLY : O_RDWR | O_CREAT,
					0644, &f));
			FS_OK(udax_fstat(f, &st));
			T_ASSERT(st.ino == stable_ino[i] && st.size == stable_size((int)i));
			FS_OK(udax_close(&f));
			snprintf(p, sizeof(p), "/a/b/c/y%02u", i % NCHURN);
			r = udax_open(fs, p, O_RDONLY, 0, &f);
			T_ASSERT(r == 0 || r == -ENOENT);
			if (!r) {
				FS_OK(udax_fstat(f, &st));
				T_ASSERT(S_ISREG(st.mode) && st.size == 100 + i % NCHURN);
				FS_OK(udax_close(&f));
			}
			FS_ERR(udax_open(fs, "/a/b/c", O_RDWR | O_CREAT, 0644, &f), -EISDIR);
			FS_ERR(udax_open(fs, "/a/b/c/s00", O_RDWR | O_CREAT | O_EXCL, 0644, &f),
			       -EEXIST);
			atomic_fetch_add(&answers[2], 1);
			break;
		}
		case 9: {
			/* Lookups by handle, as the FUSE server does. */
			struct udax_inode *root, *a, *b, *c, *n = NULL;

			FS_OK(udax_iget_root(fs, &root));
			FS_OK(udax_lookup(fs, root, "a", &a, NULL));
			FS_OK(udax_lookup(fs, a, "b", &b, NULL));
			FS_OK(udax_lookup(fs, b, "c", &c, &st));
			T_ASSERT(S_ISDIR(st.mode) && st.ino == c_ino);
			snprintf(p, sizeof(p), "s%02u", i);
			FS_OK(udax_lookup(fs, c, p, &n, &st));
			T_ASSERT(st.ino == stable_ino[i] && st.size == stable_size((int)i));
			FS_OK(udax_iput(&n));
			FS_OK(udax_lookup(fs, c, "grow", &n, &st));
			FS_OK(udax_iput(&n));
			snprintf(p, sizeof(p), "x%02u", i % NCHURN);
			r = udax_lookup(fs, c, p, &n, &st);
			T_ASSERT(r == 0 || r == -ENOENT);
			if (!r) {
				T_ASSERT(S_ISREG(st.mode) && st.size == 100 + i % NCHURN);
				FS_OK(udax_iput(&n));
			}
			snprintf(p, sizeof(p), "d%u", i % NDIRS);
			r = udax_lookup(fs, b, p, &n, &st);
			T_ASSERT(r == 0 || r == -ENOENT);
			if (!r) {
				T_ASSERT(S_ISDIR(st.mode));
				FS_OK(udax_iput(&n));
			}
			FS_ERR(udax_lookup(fs, c, "nothere", &n, NULL), -ENOENT);
			FS_OK(udax_iput(&c));
			FS_OK(udax_iput(&b));
			FS_OK(udax_iput(&a));
			FS_OK(udax_iput(&root));
			atomic_fetch_add(&answers[2], 1);
			break;
		}
		case 10:
			/* The toggler's file: opened (loaded into the cache
			 * under ns_lock shared), its record rewritten, closed
			 * (evicted), again and again. */
			FS_OK(udax_stat(fs, "/a/b/c/hot", &st));
			T_ASSERT(S_ISREG(st.mode) && (st.size == 4096 || st.size == 8192));
			atomic_fetch_add(&answers[2], 1);
			break;
		default:
			FS_ERR(udax_stat(fs, "/a/b/c/s00/", &st), -ENOTDIR);
			FS_ERR(udax_stat(fs, "/a/b/c/s00/x", &st), -ENOTDIR);
			FS_ERR(udax_stat(fs, "/a/b/nothere/x", &st), -ENOENT);
			FS_ERR(udax_stat(fs, "a/b", &st), -EINVAL);
			atomic_fetch_add(&answers[2], 1);
			break;
		}
	}
	return NULL;
}

static void *churner(void *arg)
{
	char p[64], q[64];

	(void)arg;
	for (int it = 0; it < ITERS; it++) {
		int i = it % NCHURN, d = it % NDIRS;

		/* Written under a name no reader looks at, then renamed:
		 * x and y names always have their size. */
		snprintf(p, sizeof(p), "/a/b/c/t%02d", i);
		put(p, 100 + (size_t)i);
		snprintf(q, sizeof(q), "/a/b/c/x%02d", i);
		FS_OK(udax_rename(fs, p, q, 0));
		snprintf(p, sizeof(p), "/a/b/c/x%02d", i);
		snprintf(q, sizeof(q), "/a/b/c/y%02d", i);
		FS_OK(udax_rename(fs, p, q, 0));
		if (it % 3) {
			FS_OK(udax_unlink(fs, q));
		} else {
			FS_OK(udax_rename(fs, q, p, 0));
			FS_OK(udax_unlink(fs, p));
		}
		/* A directory removed and made again: its number is reused,
		 * its index dropped and built anew. */
		if (it % 2) {
			snprintf(p, sizeof(p), "/a/b/d%d/f", d);
			FS_OK(udax_unlink(fs, p));
			snprintf(p, sizeof(p), "/a/b/d%d", d);
			FS_OK(udax_rmdir(fs, p));
			FS_OK(udax_mkdir(fs, p, 0755));
			snprintf(p, sizeof(p), "/a/b/d%d/t", d);
			put(p, 7);
			snprintf(q, sizeof(q), "/a/b/d%d/f", d);
			FS_OK(udax_rename(fs, p, q, 0));
		}
		/* Other directories looked into: the index budget. */
		snprintf(p, sizeof(p), "/e%d", it % 8);
		FS_OK(udax_mkdir(fs, p, 0755));
		FS_OK(udax_rmdir(fs, p));
	}
	return NULL;
}

static void *appender(void *arg)
{
	static const char block[4096];
	struct udax_file *f;
	uint64_t size = 0;

	(void)arg;
	FS_OK(udax_open(fs, "/a/b/c/grow", O_RDWR, 0, &f));
	for (int it = 0; it < NAPPEND; it++) {
		/* Whole blocks: the fast log's appends, which leave the
		 * record on media behind until a checkpoint. */
		FS_OK(udax_append(f, block, sizeof(block), NULL));
		size += sizeof(block);
		atomic_store(&grown, size);
		if (it % 8 == 7) {
			/* Evicted: the record is brought home first
			 * (then a stat reads it there). */
			FS_OK(udax_close(&f));
			FS_OK(udax_open(fs, "/a/b/c/grow", O_RDWR, 0, &f));
		}
	}
	FS_OK(udax_close(&f));
	return NULL;
}

/* Opens "hot" (not in the cache: a load under ns_lock shared), changes
 * its size (its record rewritten by a transaction), closes it (evicted). */
static void *toggler(void *arg)
{
	(void)arg;
	for (int it = 0; it < ITERS; it++) {
		struct udax_file *f;

		FS_OK(udax_open(fs, "/a/b/c/hot", O_RDWR, 0, &f));
		FS_OK(udax_ftruncate(f, it % 2 ? 4096 : 8192));
		FS_OK(udax_close(&f));
	}
	return NULL;
}

static void run(struct udax_dev *dev, uint64_t dir_cache)
{
	struct udax_mount_opts mo = { .dir_cache = dir_cache };
	pthread_t rd[NR], ch, ap, tg;
	struct udax_fsck_report rep;
	struct udax_stat st;
	char p[64];

	FS_OK(udax_mount(dev, 0, &mo, &fs));
	FS_OK(udax_mkdir(fs, "/a", 0755));
	FS_OK(udax_mkdir(fs, "/a/b", 0755));
	FS_OK(udax_mkdir(fs, "/a/b/c", 0755));
	for (int d = 0; d < NDIRS; d++) {
		snprintf(p, sizeof(p), "/a/b/d%d", d);
		FS_OK(udax_mkdir(fs, p, 0755));
		snprintf(p, sizeof(p), "/a/b/d%d/f", d);
		put(p, 7);
	}
	for (int i = 0; i < NSTABLE; i++) {
		snprintf(p, sizeof(p), "/a/b/c/s%02d", i);
		put(p, stable_size(i));
		FS_OK(udax_stat(fs, p, &st));
		stable_ino[i] = st.ino;
	}
	FS_OK(udax_stat(fs, "/a/b/c", &st));
	c_ino = st.ino;
	FS_OK(udax_symlink(fs, "s00", "/a/b/c/lnk"));
	put("/a/b/c/grow", 0);
	put("/a/b/c/hot", 4096);
	atomic_store(&grown, 0);
	atomic_store(&stop, 0);

	for (long t = 0; t < NR; t++)
		T_ASSERT(!pthread_create(&rd[t], NULL, reader, (void *)t));
	T_ASSERT(!pthread_create(&ch, NULL, churner, NULL));
	T_ASSERT(!pthread_create(&ap, NULL, appender, NULL));
	T_ASSERT(!pthread_create(&tg, NULL, toggler, NULL));
	T_ASSERT(!pthread_join(ch, NULL));
	T_ASSERT(!pthread_join(ap, NULL));
	T_ASSERT(!pthread_join(tg, NULL));
	atomic_store(&stop, 1);
	for (int t = 0; t < NR; t++)
		T_ASSERT(!pthread_join(rd[t], NULL));

	FS_OK(udax_stat(fs, "/a/b/c/grow", &st));
	T_ASSERT(st.size == NAPPEND * 4096ull);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
}

/*
 * One thread: a stat of an open file sees its appends at once (they are
 * in memory and in the fast log; its record on media lags), and after its
 * last close (the record is brought home before the inode leaves the
 * cache), also after a remount.
 */
static void appends_seen(struct udax_dev *dev)
{
	static const char block[4096];
	struct udax_stat st;
	struct udax_file *f;

	fs = t_fs_mount(dev);
	put("/g", 0);
	for (int round = 1; round <= 3; round++) {
		FS_OK(udax_open(fs, "/g", O_RDWR, 0, &f));
		for (int k = 1; k <= 5; k++) {
			FS_OK(udax_append(f, block, sizeof(block), NULL));
			FS_OK(udax_stat(fs, "/g", &st));
			T_ASSERT(st.size == ((round - 1) * 5 + k) * sizeof(block));
		}
		FS_OK(udax_close(&f));
		FS_OK(udax_stat(fs, "/g", &st));
		T_ASSERT(st.size == round * 5 * sizeof(block));
	}
	t_fs_remount(dev, &fs);
	FS_OK(udax_stat(fs, "/g", &st));
	T_ASSERT(st.size == 15 * sizeof(block));
	FS_OK(udax_unmount(&fs));
}

int main(void)
{
	struct udax_dev *dev = t_fs_dev("mem:64M");

	FS_OK(udax_mkfs(dev, 0, NULL));
	appends_seen(dev);
	FS_OK(udax_mkfs(dev, 0, NULL));
	run(dev, 4096);
	FS_OK(udax_mkfs(dev, 0, NULL));
	run(dev, 0);
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_stat_shared: ok (%ld found, %ld absent, %ld other paths, "
	       "%ld growing-file stats)\n", atomic_load(&answers[0]),
	       atomic_load(&answers[1]), atomic_load(&answers[2]),
	       atomic_load(&answers[3]));
	return 0;
}
