/* SPDX-License-Identifier: MIT */
/*
 * Crash atomicity of every metadata operation, and of writes that
 * allocate.  Persistence hooks keep a shadow "persisted image" of the
 * device: a flush records the bytes of its range at that moment, a drain
 * (fence) makes every recorded flush reach the shadow, in order.  A crash
 * at point k stops the shadow after the k-th fence.  For each operation and
 * every k until the operation completes, the shadow is loaded into a fresh
 * memory device and mounted (journal replay); the tree (listing, contents,
 * stats, free counts) must be exactly the before-state or the after-state,
 * which also checks that data made durable before the operation is intact.
 * The recovered file system must then take a create/write/unlink and give
 * every block back.
 */
#include <udax/dev.h>

#include "fs_util.h"

#define DEVSPEC	"mem:8M"
#define BS	4096

struct pend {
	size_t off, len;
	uint8_t *bytes;
};

struct shadow {
	uint8_t *base;			/* device mapping */
	size_t size;
	uint8_t *img;			/* persisted image */
	struct pend *p;
	size_t np, cap;
	long fences, crash_at;
	bool frozen;			/* the shadow stopped at crash_at */
	bool stopped;			/* the next epoch's flushes are kept */
};

static int sh_flush(void *ctx, const void *addr, size_t len)
{
	struct shadow *s = ctx;

	if (s->stopped || !len)
		return 0;
	if (s->np == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->p = realloc(s->p, s->cap * sizeof(*s->p));
		T_ASSERT(s->p);
	}
	s->p[s->np].off = (const uint8_t *)addr - s->base;
	s->p[s->np].len = len;
	s->p[s->np].bytes = malloc(len);
	T_ASSERT(s->p[s->np].bytes);
	memcpy(s->p[s->np].bytes, addr, len);
	s->np++;
	return 0;
}

static void sh_drop(struct shadow *s)
{
	for (size_t i = 0; i < s->np; i++)
		free(s->p[i].bytes);
	s->np = 0;
}

static int sh_drain(void *ctx)
{
	struct shadow *s = ctx;

	if (s->frozen) {
		s->stopped = true;	/* keep the next epoch's flushes */
		return 0;
	}
	for (size_t i = 0; i < s->np; i++)
		memcpy(s->img + s->p[i].off, s->p[i].bytes, s->p[i].len);
	sh_drop(s);
	if (++s->fences == s->crash_at)
		s->frozen = true;
	return 0;
}

static const struct udax_persist_ops sh_ops = {
	.flush = sh_flush,
	.drain = sh_drain,
};

/* ---- the pre-state and the operations ---------------------------------------- */

static uint8_t buf[64 * BS];

static void setup(struct udax_fs *fs)
{
	struct udax_file *f;
	char p[128];

	t_fill(buf, 10000, 1);
	t_write_file(fs, "/a", buf, 10000);
	t_fill(buf, 3 * BS, 2);
	t_write_file(fs, "/b", buf, 3 * BS);
	FS_OK(udax_open(fs, "/big", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 40; b += 2) {		/* 20 extents: a chain */
		t_fill(buf, BS, 100 + b);
		T_ASSERT(udax_pwrite(f, buf, BS, (uint64_t)b * BS) == BS);
	}
	FS_OK(udax_ftruncate(f, 40 * BS));
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/d", 0755));
	t_write_file(fs, "/d/x", "0123456789", 10);
	FS_OK(udax_mkdir(fs, "/e", 0755));
	FS_OK(udax_mkdir(fs, "/g", 0755));
	FS_OK(udax_open(fs, "/u", O_RDWR | O_CREAT, 0644, &f));
	t_fill(buf, 2 * BS, 3);
	T_ASSERT(udax_pwrite(f, buf, 2 * BS, 0) == 2 * BS);
	FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 0, 8 * BS));
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/many", 0755));
	for (int i = 0; i < 85; i++) {			/* fills one dir block */
		snprintf(p, sizeof(p), "/many/%040d", i);
		t_write_file(fs, p, NULL, 0);
	}
}

static void op_create(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/new", O_RDWR | O_CREAT | O_EXCL, 0600, &f));
	FS_OK(udax_close(&f));
}
static void op_create_grow(struct udax_fs *fs)
{
	struct udax_file *f;

	FS_OK(udax_open(fs, "/many/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
			O_RDWR | O_CREAT, 0600, &f));
	FS_OK(udax_close(&f));
}
static void op_mkdir(struct udax_fs *fs) { FS_OK(udax_mkdir(fs, "/d/nd", 0700)); }
static void op_rmdir(struct udax_fs *fs) { FS_OK(udax_rmdir(fs, "/e")); }
static void op_unlink(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/a")); }
static void op_unlink_big(struct udax_fs *fs) { FS_OK(udax_unlink(fs, "/big")); }
static void op_link(struct udax_fs *fs) { FS_OK(udax_link(fs, "/a", "/d/a2")); }
static void op_rename(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/a", "/d/a3", 0)); }
static void op_rename_replace(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/b", "/big", 0)); }
static void op_rename_dir(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/d", "/e/d", 0)); }
static void op_rename_dir_replace(struct udax_fs *fs) { FS_OK(udax_rename(fs, "/e", "/g", 0)); }
static void op_chmod(struct udax_fs *fs) { FS_OK(udax_chmod(fs, "/b", 0400)); }

/* An orphan: /big unlinked while open; the operation is its last close. */
static struct udax_file *held;
static void pre_orphan(struct udax_fs *fs)
{
	FS_OK(udax_open(fs, "/big", O_RDWR, 0, &held));
	FS_OK(udax_unlink(fs, "/big"));
}
static void op_last_close(struct udax_fs *fs)
{
	(void)fs;
	FS_OK(udax_close(&held));
}

static void with_file(struct udax_fs *fs, const char *path,
		      void (*fn)(struct udax_file *))
{
	struct udax_file *f;

	FS_OK(udax_open(fs, path, O_RDWR, 0, &f));
	fn(f);
	FS_OK(udax_close(&f));
}
static void f_trunc_up(struct udax_file *f) { FS_OK(udax_ftruncate(f, 100000)); }
static void f_trunc_down(struct udax_file *f) { FS_OK(udax_ftruncate(f, 5000)); }
static void f_punch(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			     1000, 10 * BS));
}
static void f_zero(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_ZERO_RANGE, 1000, 3 * BS));
}
static void f_collapse(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_COLLAPSE_RANGE, 2 * BS, 3 * BS));
}
static void f_insert(struct udax_file *f)
{
	FS_OK(udax_fallocate(f, UDAX_FALLOC_INSERT_RANGE, BS, 2 * BS));
}
static void f_alloc(struct udax_file *f) { FS_OK(udax_fallocate(f, 0, 0, 50000)); }
static void f_append(struct udax_file *f)
{
	t_fill(buf, 6000, 9);
	T_ASSERT(udax_append(f, buf, 6000, NULL) == 6000);
}
static void f_write_alloc(struct udax_file *f)
{
	t_fill(buf, 5000, 10);
	T_ASSERT(udax_pwrite(f, buf, 5000, 20000) == 5000);
}
static void f_write_holes(struct udax_file *f)
{
	/* Holes only: in-place overwrites are not atomic (by design). */
	t_fill(buf, 2 * BS, 11);
	T_ASSERT(udax_pwrite(f, buf, BS - 100, BS + 100) == BS - 100);
}
static void f_write_extend(struct udax_file *f)
{
	t_fill(buf, 2 * BS, 14);
	T_ASSERT(udax_pwrite(f, buf, 2 * BS, 40 * BS + 10) == 2 * BS);
}
static void f_write_unwritten(struct udax_file *f)
{
	t_fill(buf, 3 * BS, 12);
	T_ASSERT(udax_pwrite(f, buf, 3 * BS, 2 * BS + 10) == 3 * BS);
}
static void f_overwrite_fsync(struct udax_file *f)
{
	t_fill(buf, 100, 13);
	T_ASSERT(udax_pwrite(f, buf, 100, 50) == 100);
	FS_OK(udax_fsync(f));
}

#define FILE_OP(name, path, fn) \
	static void name(struct udax_fs *fs) { with_file(fs, path, fn); }
FILE_OP(op_trunc_up, "/a", f_trunc_up)
FILE_OP(op_trunc_down, "/big", f_trunc_down)
FILE_OP(op_punch, "/big", f_punch)
FILE_OP(op_zero, "/a", f_zero)
FILE_OP(op_collapse, "/big", f_collapse)
FILE_OP(op_insert, "/big", f_insert)
FILE_OP(op_alloc, "/a", f_alloc)
FILE_OP(op_append, "/a", f_append)
FILE_OP(op_write_alloc, "/b", f_write_alloc)
FILE_OP(op_write_holes, "/big", f_write_holes)
FILE_OP(op_write_extend, "/big", f_write_extend)
FILE_OP(op_write_unwritten, "/u", f_write_unwritten)
FILE_OP(op_overwrite_fsync, "/a", f_overwrite_fsync)

static const struct {
	const char *name;
	void (*fn)(struct udax_fs *);
	bool data_only;		/* in-place overwrite: not atomic by design */
	void (*pre)(struct udax_fs *);
} ops[] = {
	{ "create", op_create, false, NULL },
	{ "create (directory grows)", op_create_grow, false, NULL },
	{ "mkdir", op_mkdir, false, NULL },
	{ "rmdir", op_rmdir, false, NULL },
	{ "unlink", op_unlink, false, NULL },
	{ "unlink (extent chain)", op_unlink_big, false, NULL },
	{ "link", op_link, false, NULL },
	{ "rename", op_rename, false, NULL },
	{ "rename (replacing)", op_rename_replace, false, NULL },
	{ "rename (directory)", op_rename_dir, false, NULL },
	{ "rename (directory, replacing)", op_rename_dir_replace, false, NULL },
	{ "chmod", op_chmod, false, NULL },
	{ "truncate up", op_trunc_up, false, NULL },
	{ "truncate down", op_trunc_down, false, NULL },
	{ "punch hole", op_punch, false, NULL },
	{ "zero range", op_zero, false, NULL },
	{ "collapse range", op_collapse, false, NULL },
	{ "insert range", op_insert, false, NULL },
	{ "fallocate", op_alloc, false, NULL },
	{ "append", op_append, false, NULL },
	{ "write that allocates", op_write_alloc, false, NULL },
	{ "write into holes", op_write_holes, false, NULL },
	{ "write past the end", op_write_extend, false, NULL },
	{ "write into unwritten", op_write_unwritten, false, NULL },
	{ "overwrite + fsync", op_overwrite_fsync, true, NULL },
	/* Before-state: the orphan still holds its blocks; a crash image
	 * always recovers the after-state (mount reclaims the orphan). */
	{ "last close of an orphan", op_last_close, false, pre_orphan },
};

/* ---- the explorer ------------------------------------------------------------------- */

static long points;

static void recover_check(struct udax_dev *dev2, const uint8_t *img, size_t size,
			  const char *before, const char *after, bool data_only,
			  const char *op, long k)
{
	struct udax_dev_info info;
	struct udax_statfs s0, s1;
	struct udax_fs *fs;
	char *fp;

	FS_OK(udax_dev_info(dev2, &info));
	memcpy(info.addr, img, size);
	T_ASSERT(udax_dev_part_read(dev2) == 1);
	fs = t_fs_mount(dev2);
	fp = t_fingerprint(fs);
	if (strcmp(fp, before) && strcmp(fp, after) && !data_only) {
		fprintf(stderr, "%s: crash at point %ld: neither state\n"
			"--- before\n%s--- after\n%s--- recovered\n%s",
			op, k, before, after, fp);
		exit(1);
	}
	free(fp);
	/* The recovered fs works, and gives every block back. */
	FS_OK(udax_statfs(fs, &s0));
	t_write_file(fs, "/zz-post", buf, 5 * BS);
	FS_OK(udax_unlink(fs, "/zz-post"));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s0.blocks_free == s1.blocks_free && s0.inodes_free == s1.inodes_free);
	FS_OK(udax_unmount(&fs));
	points++;
}

/*
 * Crash states around fence k: the image after k fences, plus each prefix
 * of the flushes issued before fence k + 1, plus each of them alone (stores
 * between two fences reach media in any order).
 */
static void check_epoch(struct udax_dev *dev2, struct shadow *s,
			const char *before, const char *after, bool data_only,
			const char *op)
{
	uint8_t *img = malloc(s->size);

	T_ASSERT(img);
	recover_check(dev2, s->img, s->size, before, after, data_only, op,
		      s->crash_at);
	memcpy(img, s->img, s->size);
	for (size_t j = 0; j < s->np; j++) {
		memcpy(img + s->p[j].off, s->p[j].bytes, s->p[j].len);
		recover_check(dev2, img, s->size, before, after, data_only, op,
			      s->crash_at);
	}
	for (size_t j = 1; j + 1 < s->np; j++) {
		memcpy(img, s->img, s->size);
		memcpy(img + s->p[j].off, s->p[j].bytes, s->p[j].len);
		recover_check(dev2, img, s->size, before, after, data_only, op,
			      s->crash_at);
	}
	free(img);
}

int main(void)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };
	struct udax_dev *dev2 = t_fs_dev(DEVSPEC);
	long total = 0;

	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		long fences = 0;

		points = 0;
		for (long k = 0;; k++) {
			struct udax_dev *dev = t_fs_dev(DEVSPEC);
			struct shadow s = { 0 };
			struct udax_dev_info info;
			struct udax_fs *fs;
			char *before, *after;
			bool done;

			FS_OK(udax_mkfs(dev, 0, &mo));
			fs = t_fs_mount(dev);
			setup(fs);
			if (ops[o].pre)
				ops[o].pre(fs);
			before = t_fingerprint(fs);
			FS_OK(udax_dev_info(dev, &info));
			s.base = info.addr;
			s.size = info.size;
			s.img = malloc(s.size);
			T_ASSERT(s.img);
			memcpy(s.img, s.base, s.size);
			s.crash_at = k;
			s.frozen = k == 0;
			FS_OK(udax_dev_set_persist_hooks(dev, &sh_ops, &s));
			ops[o].fn(fs);
			after = t_fingerprint(fs);
			FS_OK(udax_dev_set_persist_hooks(dev, NULL, NULL));
			done = !s.frozen;
			FS_OK(udax_unmount(&fs));
			FS_OK(udax_dev_close(&dev, 0));

			check_epoch(dev2, &s, before, after, ops[o].data_only,
				    ops[o].name);
			sh_drop(&s);
			free(s.p);
			if (done) {
				/* Everything persisted: exactly the after-state. */
				struct udax_dev_info i2;
				char *fp;

				FS_OK(udax_dev_info(dev2, &i2));
				memcpy(i2.addr, s.img, s.size);
				T_ASSERT(udax_dev_part_read(dev2) == 1);
				fs = t_fs_mount(dev2);
				fp = t_fingerprint(fs);
				T_ASSERT(!strcmp(fp, after));
				T_ASSERT(strcmp(before, after) || ops[o].data_only);
				free(fp);
				FS_OK(udax_unmount(&fs));
			}
			free(s.img);
			free(before);
			free(after);
			fences++;
			if (done)
				break;
		}
		printf("%-32s %3ld fences, %4ld crash states\n", ops[o].name,
		       fences - 2, points);
		total += points;
	}
	printf("total: %ld crash points checked\n", total);
	FS_OK(udax_dev_close(&dev2, 0));
	return 0;
}
