/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the fsck tests (tests/fs/fsck/fs_fsck*.c): one device with one
 * partition whose mapping the tests damage by hand (checksums recomputed
 * where the point is a field), the problems fsck reports collected, and a
 * shadow image for crash states (what the persistence hooks saw flushed).
 */
#ifndef UDAX_FSCK_UTIL_H
#define UDAX_FSCK_UTIL_H

#include <dirent.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_util.h"

#define K_UNUSED __attribute__((unused))

static K_UNUSED struct udax_dev *dev;
static K_UNUSED char *part;		/* partition 0's mapping */
static K_UNUSED size_t part_size;
static K_UNUSED uint64_t nb;		/* its blocks */
static K_UNUSED uint8_t *good;		/* the undamaged image (k_snapshot) */
static K_UNUSED struct fs_dsuper sb;

/* Take the image as it is now as the good one (restore() goes back to it). */
static inline void k_snapshot(void)
{
	struct udax_part_info pi;

	FS_OK(udax_dev_part(dev, 0, &pi));
	part = pi.addr;
	part_size = pi.size;
	nb = part_size / FS_BS;
	free(good);
	good = malloc(part_size);
	T_ASSERT(good);
	memcpy(good, part, part_size);
	memcpy(&sb, part, sizeof(sb));
}

static inline void restore(void)
{
	memcpy(part, good, part_size);
}

#define MAXP 64
static K_UNUSED struct got {
	int n;
	struct udax_fsck_problem p[MAXP];
	char msg[MAXP][320];
} got;

static inline void collect(const struct udax_fsck_problem *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "    [%d %llu+%u ino %u] %s%s\n", p->area,
		(unsigned long long)p->block, p->offset, p->ino, p->msg,
		p->repaired ? " [repaired]" : "");
	if (got.n < MAXP) {
		got.p[got.n] = *p;
		snprintf(got.msg[got.n], sizeof(got.msg[0]), "%s", p->msg);
		got.p[got.n].msg = got.msg[got.n];
	}
	got.n++;
}

/* fsck with @flags, the problems in got. */
static inline void fsck(unsigned flags, struct udax_fsck_report *r)
{
	got.n = 0;
	FS_OK(udax_fsck(dev, 0, flags, collect, NULL, r));
	T_ASSERT(r->problems == (uint64_t)got.n);
}

/* Some problem (area, block, ino) among those collected. */
static inline bool has(enum udax_fsck_area area, uint64_t block, uint32_t ino)
{
	for (int k = 0; k < got.n && k < MAXP; k++)
		if (got.p[k].area == area && got.p[k].block == block &&
		    got.p[k].ino == ino)
			return true;
	return false;
}

static inline struct fs_dinode *dinode(uint32_t ino)
{
	return (void *)(part + sb.itable_start * FS_BS + ino * 256ull);
}

static inline uint64_t iblock(uint32_t ino)
{
	return sb.itable_start + ino / 16;
}

static inline void fix_inode(uint32_t ino)
{
	dinode(ino)->crc = udax_crc32c(ino, dinode(ino), 252);
}

static inline void fix_block(uint64_t pblk, uint32_t ino)
{
	uint32_t *b = (void *)(part + pblk * FS_BS);

	size_t len = FS_BS;

	/* An extent leaf's checksum covers its header and used extents. */
	if (b[0] == FS_EXT_MAGIC) {
		const struct fs_dextblk *eb = (const void *)b;

		len = offsetof(struct fs_dextblk, ext) + 16u *
		      (eb->count <= FS_EB_EXTS ? eb->count : FS_EB_EXTS);
	}
	b[1] = udax_crc32c(ino, (char *)b + 8, len - 8);
}

/* The entry @name of directory @dir (in its first block) and that block. */
static inline struct fs_ddirent *dirent_of(uint32_t dir, const char *name,
					   uint64_t *pblk)
{
	uint64_t b = dinode(dir)->ext[0].pblk;
	char *blk = part + b * FS_BS;

	for (uint32_t off = 16; off < FS_BS;) {
		struct fs_ddirent *e = (void *)(blk + off);

		if (e->ino && e->name_len == strlen(name) &&
		    !memcmp(e->name, name, e->name_len)) {
			*pblk = b;
			return e;
		}
		T_ASSERT(e->rec_len >= 8);
		off += e->rec_len;
	}
	fprintf(stderr, "no entry %s in %u\n", name, dir);
	exit(1);
}

/* Clear the entry @name of directory @dir (its block's crc fixed). */
static inline void unname(uint32_t dir, const char *name)
{
	uint64_t blk;

	dirent_of(dir, name, &blk)->ino = 0;
	fix_block(blk, dir);
}

static inline uint32_t ino_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return st.ino;
}

/* fsck and mount agree: clean mounts, -EUCLEAN has problems. */
static inline void consistent(void)
{
	struct udax_mount_opts mo = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_fsck_report r;
	struct udax_fs *fs = NULL;
	int m;

	got.n = 0;
	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &r));
	m = udax_mount(dev, 0, &mo, &fs);
	if (m == 0)
		FS_OK(udax_unmount(&fs));
	if ((!r.problems && m) || (m == -EUCLEAN && !r.problems)) {
		fprintf(stderr, "fsck says %llu problems, mount says %d (%s)\n",
			(unsigned long long)r.problems, m, udax_fs_last_error());
		exit(1);
	}
}

/* Exactly one problem (area, block, ino) without REPAIR; and with it,
 * repaired or not as @fixable says. */
static inline void expect_one(const char *what, enum udax_fsck_area area,
		       uint64_t block, uint32_t ino, bool fixable)
{
	struct udax_fsck_report r;

	fprintf(stderr, "%s\n", what);
	consistent();
	fsck(0, &r);
	if (got.n != 1 || got.p[0].area != area || got.p[0].block != block ||
	    got.p[0].ino != ino || got.p[0].repaired) {
		fprintf(stderr, "%s: want one problem area %d block %llu ino %u\n",
			what, area, (unsigned long long)block, ino);
		exit(1);
	}
	fsck(UDAX_FSCK_REPAIR, &r);
	T_ASSERT(got.n == 1 && got.p[0].area == area && got.p[0].block == block);
	T_ASSERT(got.p[0].repaired == fixable && r.repaired == (fixable ? 1u : 0u));
	fsck(0, &r);
	T_ASSERT(got.n == (fixable ? 0 : 1));
	consistent();
}

/* ---- a shadow image: what was persisted --------------------------------- */

/*
 * With sh_ops as the device's persistence hooks, every flushed range is
 * kept until the next drain (a fence); the shadow image sh.img gets the
 * ranges of the first sh.stop_at fences, and of the one after them only
 * the first sh.prefix flushes: a crash state.
 */
struct pend {
	size_t off, len;
	uint8_t *bytes;
};

static K_UNUSED struct shadow {
	uint8_t *base, *img;
	size_t size;
	struct pend *p;
	size_t np, cap;
	long fences, stop_at, prefix;
	long stop_np;			/* flushes of the epoch stopped in */
} sh;

static inline int sh_flush(void *ctx, const void *addr, size_t len)
{
	(void)ctx;
	if (sh.np == sh.cap) {
		sh.cap = sh.cap ? 2 * sh.cap : 64;
		sh.p = realloc(sh.p, sh.cap * sizeof(*sh.p));
		T_ASSERT(sh.p);
	}
	sh.p[sh.np].off = (const uint8_t *)addr - sh.base;
	sh.p[sh.np].len = len;
	sh.p[sh.np].bytes = malloc(len ? len : 1);
	T_ASSERT(sh.p[sh.np].bytes);
	memcpy(sh.p[sh.np].bytes, addr, len);
	sh.np++;
	return 0;
}

static inline int sh_drain(void *ctx)
{
	(void)ctx;
	if (sh.fences == sh.stop_at)
		sh.stop_np = (long)sh.np;
	for (size_t i = 0; i < sh.np; i++) {
		if (sh.fences < sh.stop_at ||
		    (sh.fences == sh.stop_at && (long)i < sh.prefix))
			memcpy(sh.img + sh.p[i].off, sh.p[i].bytes, sh.p[i].len);
		free(sh.p[i].bytes);
	}
	sh.np = 0;
	sh.fences++;
	return 0;
}

static K_UNUSED const struct udax_persist_ops sh_ops = {
	.flush = sh_flush, .drain = sh_drain,
};

/* Start recording: the shadow image is the device as it is now. */
static inline void sh_start(long stop_at, long prefix)
{
	struct udax_dev_info info;

	FS_OK(udax_dev_info(dev, &info));
	if (!sh.img) {
		sh.base = info.addr;
		sh.size = info.size;
		sh.img = malloc(sh.size);
		T_ASSERT(sh.img);
	}
	memcpy(sh.img, sh.base, sh.size);
	sh.fences = 0;
	sh.stop_np = 0;
	sh.stop_at = stop_at;
	sh.prefix = prefix;
	FS_OK(udax_dev_set_persist_hooks(dev, &sh_ops, NULL));
}

/* Stop recording and put the crash state on the device. */
static inline void sh_crash(void)
{
	FS_OK(udax_dev_set_persist_hooks(dev, NULL, NULL));
	for (size_t i = 0; i < sh.np; i++)
		free(sh.p[i].bytes);
	sh.np = 0;
	memcpy(sh.base, sh.img, sh.size);
}

static inline void sh_free(void)
{
	free(sh.img);
	free(sh.p);
	memset(&sh, 0, sizeof(sh));
}

#endif
