/* SPDX-License-Identifier: MIT */
/* Helpers for the tests that mount a file system (tests/fs/ and others). */
#ifndef UDAX_FS_UTIL_H
#define UDAX_FS_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/crc32c.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/fsck.h>

#include "testutil.h"

/* Assert success (>= 0), printing the file system's message otherwise. */
#define FS_OK(expr) do {						\
	long _r = (long)(expr);						\
	if (_r < 0) {							\
		fprintf(stderr, "%s:%d: %s failed: %ld (%s): %s\n",	\
			__FILE__, __LINE__, #expr, _r, t_errname(_r),	\
			udax_fs_last_error());				\
		exit(1);						\
	}								\
} while (0)

/* @expr gives @want (with the message on mismatch). */
#define FS_ERR(expr, want) do {						\
	long _r = (long)(expr);						\
	if (_r != (long)(want)) {					\
		fprintf(stderr, "%s:%d: %s returned %ld (%s), want %ld (%s): %s\n",\
			__FILE__, __LINE__, #expr, _r, t_errname(_r),	\
			(long)(want), t_errname(want),			\
			udax_fs_last_error());				\
		exit(1);						\
	}								\
} while (0)

/*
 * A memory device of @spec with one partition spanning it.  With
 * UDAX_TEST_MEM_OPTS set (e.g. "persist=cpu"), a plain "mem:SIZE" gets
 * those options: the same test on the PMem-like device.
 */
/* A udax_fsck problem callback that prints each problem on stderr. */
static inline void t_fsck_print(const struct udax_fsck_problem *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "fsck: block %llu +%u inode %u: %s\n",
		(unsigned long long)p->block, p->offset, p->ino, p->msg);
}

static inline struct udax_dev *t_fs_dev(const char *spec)
{
	const char *opts = getenv("UDAX_TEST_MEM_OPTS");
	struct udax_dev *dev = NULL;
	char full[128];

	if (opts && *opts && !strncmp(spec, "mem:", 4) && !strchr(spec, ',') &&
	    (size_t)snprintf(full, sizeof(full), "%s,%s", spec, opts) < sizeof(full))
		spec = full;
	FS_OK(udax_dev_open(spec, NULL, &dev));
	FS_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	return dev;
}

static inline struct udax_fs *t_fs_mount(struct udax_dev *dev)
{
	struct udax_fs *fs = NULL;

	FS_OK(udax_mount(dev, 0, NULL, &fs));
	return fs;
}

/* Device, file system made and mounted. */
static inline struct udax_fs *t_fs_new(const char *spec, struct udax_dev **dev)
{
	*dev = t_fs_dev(spec);
	FS_OK(udax_mkfs(*dev, 0, NULL));
	return t_fs_mount(*dev);
}

static inline void t_fs_remount(struct udax_dev *dev, struct udax_fs **fs)
{
	FS_OK(udax_unmount(fs));
	*fs = t_fs_mount(dev);
}

/* Unmount *@fs; fsck of @dev must find no problem. */
static inline void t_fs_unmount_clean(struct udax_dev *dev, struct udax_fs **fs)
{
	struct udax_fsck_report rep;

	FS_OK(udax_unmount(fs));
	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
	T_ASSERT(rep.problems == 0);
}

/* The same, then close *@dev: the end of most tests. */
static inline void t_fs_close_clean(struct udax_dev **dev, struct udax_fs **fs)
{
	t_fs_unmount_clean(*dev, fs);
	FS_OK(udax_dev_close(dev, 0));
}

static inline void t_write_file(struct udax_fs *fs, const char *path,
				const void *buf, size_t n)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, path, O_RDWR | O_CREAT | O_TRUNC, 0644, &f));
	if (n)
		T_ASSERT(udax_pwrite(f, buf, n, 0) == (ssize_t)n);
	FS_OK(udax_close(&f));
}

/* The permission bits (07777) of @path itself (a symbolic link's own). */
static inline uint32_t t_mode_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_lstat(fs, path, &st));
	return st.mode & 07777;
}

/* The whole content of @path (malloc'd, *@n bytes). */
/* The number of names directory @dir lists ("." and ".." not counted). */
static inline int t_dir_count(struct udax_fs *fs, const char *dir)
{
	struct udax_dirent e;
	struct udax_dir *d;
	int n = 0, r;

	FS_OK(udax_opendir(fs, dir, &d));
	while ((r = udax_readdir(d, &e)) == 1)
		n++;
	FS_OK(r);
	FS_OK(udax_closedir(&d));
	return n;
}

static inline void *t_read_file(struct udax_fs *fs, const char *path, size_t *n)
{
	struct udax_file *f;
	struct udax_stat st;
	char *buf;

	FS_OK(udax_open(fs, path, O_RDONLY, 0, &f));
	FS_OK(udax_fstat(f, &st));
	buf = malloc(st.size + 1);
	T_ASSERT(buf);
	T_ASSERT(udax_pread(f, buf, st.size, 0) == (ssize_t)st.size);
	FS_OK(udax_close(&f));
	*n = st.size;
	return buf;
}

/* Deterministic pseudo-random bytes. */
static inline uint64_t t_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static inline void t_fill(void *buf, size_t n, uint64_t seed)
{
	uint64_t s = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = (uint8_t)(t_rand(&s) >> 24);
}

/*
 * The tree the crash and fault tests start from: /a (10000 bytes), /b (3
 * blocks), /big (20 one-block extents over 40 blocks: an extent chain),
 * /d/x (10 bytes).  Contents from t_fill(), seeds 1, 2, 100 + block.
 */
static inline void t_populate(struct udax_fs *fs)
{
	static uint8_t b[3 * UDAX_FS_BLOCK_SIZE];
	const uint64_t bs = UDAX_FS_BLOCK_SIZE;
	struct udax_file *f;

	t_fill(b, 10000, 1);
	t_write_file(fs, "/a", b, 10000);
	t_fill(b, 3 * bs, 2);
	t_write_file(fs, "/b", b, 3 * bs);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (uint64_t k = 0; k < 40; k += 2) {
		t_fill(b, bs, 100 + k);
		T_ASSERT(udax_pwrite(f, b, bs, k * bs) == (ssize_t)bs);
	}
	FS_OK(udax_ftruncate(f, 40 * bs));
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/x", "0123456789", 10);
}

/*
 * A description of the whole tree: every entry's path, type, mode, nlink,
 * size, blocks, uid/gid and a crc of its content, in readdir order sorted
 * by name; then statfs's free counts (blocks and inodes: a leak shows).
 * Times are left out (in-place writes update them lazily).
 */
struct t_sbuf {
	char *s;
	size_t len, cap;
};

static inline void t_sb_add(struct t_sbuf *b, const char *str)
{
	size_t n = strlen(str);

	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = realloc(b->s, b->cap);
		T_ASSERT(b->s);
	}
	memcpy(b->s + b->len, str, n + 1);
	b->len += n;
}

static inline int t_name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct udax_dirent *)a)->name,
		      ((const struct udax_dirent *)b)->name);
}

static inline void t_tree(struct udax_fs *fs, const char *path, struct t_sbuf *b)
{
	struct udax_dirent *ents = NULL;
	struct udax_dir *d;
	size_t n = 0, cap = 0;
	int r;

	FS_OK(udax_opendir(fs, path, &d));
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			ents = realloc(ents, cap * sizeof(*ents));
			T_ASSERT(ents);
		}
		r = udax_readdir(d, &ents[n]);
		FS_OK(r);
		if (!r)
			break;
		n++;
	}
	FS_OK(udax_closedir(&d));
	qsort(ents, n, sizeof(*ents), t_name_cmp);
	for (size_t i = 0; i < n; i++) {
		char p[4096], line[4400];
		struct udax_stat st;
		uint32_t crc = 0;

		snprintf(p, sizeof(p), "%s%s%s", path,
			 strcmp(path, "/") ? "/" : "", ents[i].name);
		FS_OK(udax_stat(fs, p, &st));
		T_ASSERT(st.ino == ents[i].ino);
		T_ASSERT((ents[i].type == 4) == S_ISDIR(st.mode));	/* DT_DIR */
		if (S_ISREG(st.mode)) {
			size_t len;
			void *data = t_read_file(fs, p, &len);

			crc = udax_crc32c(0, data, len);
			free(data);
		}
		snprintf(line, sizeof(line), "%s %o n%u s%llu b%llu u%u g%u c%08x\n",
			 p, st.mode, st.nlink, (unsigned long long)st.size,
			 (unsigned long long)st.blocks, st.uid, st.gid, crc);
		t_sb_add(b, line);
		if (S_ISDIR(st.mode))
			t_tree(fs, p, b);
	}
	free(ents);
}

static inline char *t_fingerprint(struct udax_fs *fs)
{
	struct t_sbuf b = { 0 };
	struct udax_statfs sf;
	struct udax_stat st;
	char line[200];

	FS_OK(udax_stat(fs, "/", &st));
	snprintf(line, sizeof(line), "/ %o n%u s%llu\n", st.mode, st.nlink,
		 (unsigned long long)st.size);
	t_sb_add(&b, line);
	t_tree(fs, "/", &b);
	FS_OK(udax_statfs(fs, &sf));
	snprintf(line, sizeof(line), "free %llu inodes %llu\n",
		 (unsigned long long)sf.blocks_free,
		 (unsigned long long)sf.inodes_free);
	t_sb_add(&b, line);
	return b.s;
}

#endif
