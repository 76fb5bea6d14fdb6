/* SPDX-License-Identifier: MIT */
/*
 * Every operation under injected faults (include/udax/fault.h).
 *
 * For each operation, each fault site and n = 1, 2, ... until the
 * operation no longer reaches its nth call at the site: a fresh file system
 * in a known state, the nth call fails, and
 *  - -ENOSPC (block/inode allocator) and -ENOMEM (malloc): the operation
 *    returns exactly that; the tree and statfs equal the before-state; the
 *    media (a copy of the device, mounted elsewhere) holds the before-state;
 *    the operation then succeeds when retried, giving the after-state;
 *  - -EIO (any persistence call): the operation returns -EIO; either the
 *    fs is not shut down and everything above holds, or it is shut down,
 *    says so, refuses every modifying call with -EIO, still reads, and
 *    unmounts; either way the media recovers the before- or the after-state.
 * Every image must also pass consistency_check(): it mounts, bytes past the
 * end of every file are zero, and a create/write/unlink gives every block
 * back.
 */
#include <udax/fault.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define DEVSPEC	"mem:8M"
#define BS	4096

static uint8_t buf[16 * BS];

/* The operation's state: a handle it works on, opened before the fault
 * is armed and closed after it is cleared, so that the call is the one
 * operation under test. */
struct ctx {
	struct udax_fs *fs;
	struct udax_file *f;
};

static void setup(struct udax_fs *fs)
{
	struct udax_file *f;
	char p[128];

	t_populate(fs);
	FS_OK(udax_mkdir(fs, "/keep", 0755));	/* no operation touches it */
	t_write_file(fs, "/keep/k", "0123456789", 10);
	FS_OK(udax_mkdir(fs, "/e", 0755));
	FS_OK(udax_mkdir(fs, "/g", 0755));
	FS_OK(udax_open(fs, "/u", O_RDWR | O_CREAT, 0644, &f));
	t_fill(buf, 2 * BS, 3);
	T_ASSERT(udax_pwrite(f, buf, 2 * BS, 0) == 2 * BS);
	FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 0, 8 * BS));
	FS_OK(udax_close(&f));
	FS_OK(udax_open(fs, "/nine", O_RDWR | O_CREAT, 0644, &f));
	for (int b = 0; b < 18; b += 2) {		/* 9 extents: all inline */
		t_fill(buf, BS, 200 + b);
		T_ASSERT(udax_pwrite(f, buf, BS, (uint64_t)b * BS) == BS);
	}
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/many", 0755));
	for (int i = 0; i < 85; i++) {			/* fills one dir block */
		snprintf(p, sizeof(p), "/many/%040d", i);
		t_write_file(fs, p, NULL, 0);
	}
}

/* ---- the operations: each one call, returning its result ------------------ */

static int op_create(struct ctx *c)
{
	return udax_open(c->fs, "/new", O_RDWR | O_CREAT | O_EXCL, 0600, &c->f);
}
static int op_create_grow(struct ctx *c)
{
	return udax_open(c->fs, "/many/zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
			 O_RDWR | O_CREAT, 0600, &c->f);
}
static int op_mkdir(struct ctx *c) { return udax_mkdir(c->fs, "/d/nd", 0700); }
static int op_rmdir(struct ctx *c) { return udax_rmdir(c->fs, "/e"); }
static int op_unlink(struct ctx *c) { return udax_unlink(c->fs, "/a"); }
static int op_unlink_big(struct ctx *c) { return udax_unlink(c->fs, "/big"); }
static int op_link(struct ctx *c) { return udax_link(c->fs, "/a", "/d/a2"); }
static int op_rename(struct ctx *c) { return udax_rename(c->fs, "/a", "/d/a3", 0); }
static int op_rename_replace(struct ctx *c) { return udax_rename(c->fs, "/b", "/big", 0); }
static int op_rename_dir(struct ctx *c) { return udax_rename(c->fs, "/d", "/e/d", 0); }
static int op_rename_dir_replace(struct ctx *c) { return udax_rename(c->fs, "/e", "/g", 0); }
static int op_chmod(struct ctx *c) { return udax_chmod(c->fs, "/b", 0400); }
static int op_chown(struct ctx *c) { return udax_chown(c->fs, "/b", 7, 8); }
static int op_trunc_up(struct ctx *c) { return udax_ftruncate(c->f, 100000); }
static int op_trunc_down(struct ctx *c) { return udax_ftruncate(c->f, 5000); }
static int op_punch(struct ctx *c)
{
	return udax_fallocate(c->f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
			      1000, 10 * BS);
}
static int op_zero(struct ctx *c)
{
	return udax_fallocate(c->f, UDAX_FALLOC_ZERO_RANGE, 1000, 3 * BS);
}
static int op_collapse(struct ctx *c)
{
	return udax_fallocate(c->f, UDAX_FALLOC_COLLAPSE_RANGE, 2 * BS, 3 * BS);
}
static int op_insert(struct ctx *c)
{
	return udax_fallocate(c->f, UDAX_FALLOC_INSERT_RANGE, BS, 2 * BS);
}
static int op_alloc(struct ctx *c) { return udax_fallocate(c->f, 0, 0, 50000); }

static int wrote(ssize_t r, size_t n)
{
	return r < 0 ? (int)r : r == (ssize_t)n ? 0 : -EIO;
}
static int op_append(struct ctx *c)
{
	/* /a ends inside a block: bytes go in place past the end, then
	 * into a fresh block. */
	t_fill(buf, 6000, 9);
	return wrote(udax_append(c->f, buf, 6000, NULL), 6000);
}
static int op_write_alloc(struct ctx *c)
{
	t_fill(buf, 5000, 10);
	return wrote(udax_pwrite(c->f, buf, 5000, 20000), 5000);
}
static int op_write_holes(struct ctx *c)
{
	t_fill(buf, 2 * BS, 11);
	return wrote(udax_pwrite(c->f, buf, BS - 100, BS + 100), BS - 100);
}
static int op_write_extend(struct ctx *c)
{
	/* Past the end of a chained file: the chain grows. */
	t_fill(buf, 2 * BS, 14);
	return wrote(udax_pwrite(c->f, buf, 2 * BS, 40 * BS + 10), 2 * BS);
}
static int op_write_chain(struct ctx *c)
{
	/* The tenth extent: the first extent-chain block is allocated. */
	t_fill(buf, BS, 15);
	return wrote(udax_pwrite(c->f, buf, BS, 30 * BS), BS);
}
static int op_write_unwritten(struct ctx *c)
{
	t_fill(buf, 3 * BS, 12);
	return wrote(udax_pwrite(c->f, buf, 3 * BS, 2 * BS + 10), 3 * BS);
}
static int op_overwrite(struct ctx *c)
{
	t_fill(buf, 100, 13);
	return wrote(udax_pwrite(c->f, buf, 100, 50), 100);
}
static int op_fsync(struct ctx *c) { return udax_fsync(c->f); }
static int op_last_close(struct ctx *c) { return udax_close(&c->f); }

/* ---- what comes before an operation (no fault armed) ----------------------- */

static void open_a(struct ctx *c) { FS_OK(udax_open(c->fs, "/a", O_RDWR, 0, &c->f)); }
static void open_b(struct ctx *c) { FS_OK(udax_open(c->fs, "/b", O_RDWR, 0, &c->f)); }
static void open_u(struct ctx *c) { FS_OK(udax_open(c->fs, "/u", O_RDWR, 0, &c->f)); }
static void open_big(struct ctx *c) { FS_OK(udax_open(c->fs, "/big", O_RDWR, 0, &c->f)); }
static void open_nine(struct ctx *c) { FS_OK(udax_open(c->fs, "/nine", O_RDWR, 0, &c->f)); }
static void open_a_append(struct ctx *c)
{
	FS_OK(udax_open(c->fs, "/a", O_RDWR | O_APPEND, 0, &c->f));
}
static void dirty_times(struct ctx *c)
{
	/* An in-place write leaves mtime for fsync to commit. */
	open_a(c);
	T_ASSERT(udax_pwrite(c->f, "x", 1, 7) == 1);
}
static void orphan(struct ctx *c)
{
	open_big(c);
	FS_OK(udax_unlink(c->fs, "/big"));
}

enum kind {
	ATOMIC,		/* metadata: before- or after-state, nothing between */
	IN_PLACE,	/* in-place overwrite: not atomic by design, the range
			 * holds old or new bytes after a failed flush */
	CLOSE,		/* the handle is gone either way; a failed free of the
			 * orphan is finished by the next mount */
};

static const struct op {
	const char *name;
	int (*fn)(struct ctx *);
	void (*pre)(struct ctx *);
	enum kind kind;
} ops[] = {
	{ "create", op_create, NULL, ATOMIC },
	{ "create (directory grows)", op_create_grow, NULL, ATOMIC },
	{ "mkdir", op_mkdir, NULL, ATOMIC },
	{ "rmdir", op_rmdir, NULL, ATOMIC },
	{ "unlink", op_unlink, NULL, ATOMIC },
	{ "unlink (extent chain)", op_unlink_big, NULL, ATOMIC },
	{ "link", op_link, NULL, ATOMIC },
	{ "rename", op_rename, NULL, ATOMIC },
	{ "rename (replacing)", op_rename_replace, NULL, ATOMIC },
	{ "rename (directory)", op_rename_dir, NULL, ATOMIC },
	{ "rename (directory, replacing)", op_rename_dir_replace, NULL, ATOMIC },
	{ "chmod", op_chmod, NULL, ATOMIC },
	{ "chown", op_chown, NULL, ATOMIC },
	{ "truncate up", op_trunc_up, open_a, ATOMIC },
	{ "truncate down (extent chain)", op_trunc_down, open_big, ATOMIC },
	{ "punch hole", op_punch, open_big, ATOMIC },
	{ "zero range", op_zero, open_a, ATOMIC },
	{ "collapse range", op_collapse, open_big, ATOMIC },
	{ "insert range", op_insert, open_big, ATOMIC },
	{ "fallocate", op_alloc, open_a, ATOMIC },
	{ "append", op_append, open_a_append, ATOMIC },
	{ "write that allocates", op_write_alloc, open_b, ATOMIC },
	{ "write into holes", op_write_holes, open_big, ATOMIC },
	{ "write past the end (chain)", op_write_extend, open_big, ATOMIC },
	{ "write starting an extent chain", op_write_chain, open_nine, ATOMIC },
	{ "write into unwritten", op_write_unwritten, open_u, ATOMIC },
	{ "overwrite in place", op_overwrite, open_a, IN_PLACE },
	{ "fsync (lazy mtime)", op_fsync, dirty_times, ATOMIC },
	{ "last close of an orphan", op_last_close, orphan, CLOSE },
};

static const struct site {
	enum udax_fault_site site;
	int err;
} sites[] = {
	{ UDAX_FAULT_BLOCK_ALLOC, -ENOSPC },
	{ UDAX_FAULT_INODE_ALLOC, -ENOSPC },
	{ UDAX_FAULT_MALLOC, -ENOMEM },
	{ UDAX_FAULT_PERSIST, -EIO },
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

/* ---- checks ---------------------------------------------------------------------- */

/* Bytes past the end of every file under @dir are zero (a later extension
 * would expose them): extend each file to its block boundary and read. */
static void tails_zero(struct udax_fs *fs, const char *dir)
{
	struct udax_dirent ent;
	struct udax_dir *d;
	char path[600];
	int r;

	FS_OK(udax_opendir(fs, dir, &d));
	while ((r = udax_readdir(d, &ent)) > 0) {
		struct udax_file *f;
		struct udax_stat st;
		uint64_t tail;

		snprintf(path, sizeof(path), "%s%s%s", dir,
			 strcmp(dir, "/") ? "/" : "", ent.name);
		FS_OK(udax_stat(fs, path, &st));
		if (S_ISDIR(st.mode)) {
			tails_zero(fs, path);
			continue;
		}
		tail = (BS - st.size % BS) % BS;
		if (!tail)
			continue;
		FS_OK(udax_open(fs, path, O_RDWR, 0, &f));
		FS_OK(udax_ftruncate(f, st.size + tail));
		T_ASSERT(udax_pread(f, buf, tail, st.size) == (ssize_t)tail);
		for (uint64_t i = 0; i < tail; i++)
			if (buf[i]) {
				fprintf(stderr, "%s: byte %llu past the end of file is %#x\n",
					path, (unsigned long long)(st.size + i), buf[i]);
				exit(1);
			}
		FS_OK(udax_close(&f));
	}
	FS_OK(r);
	FS_OK(udax_closedir(&d));
}

/*
 * The one consistency check of an image (mounted @fs, which it changes):
 * zero tails, and a create/write/unlink gives every block and inode back.
 * (A structural fsck joins here once udax_fsck lands.)
 */
static void consistency_check(struct udax_fs *fs)
{
	struct udax_statfs s0, s1;

	tails_zero(fs, "/");
	FS_OK(udax_statfs(fs, &s0));
	t_fill(buf, 5 * BS, 77);
	t_write_file(fs, "/zz-post", buf, 5 * BS);
	FS_OK(udax_unlink(fs, "/zz-post"));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s0.blocks_free == s1.blocks_free && s0.inodes_free == s1.inodes_free);
}

/* Problems fsck found, less orphans where an image may hold one. */
struct fsck_tally {
	bool orphans_ok;
	long problems;
};

static void fsck_problem(const struct udax_fsck_problem *p, void *arg)
{
	struct fsck_tally *t = arg;

	/* A file unlinked while open is an orphan on media until its last
	 * close (or the next mount) frees it: a valid state. */
	if (t->orphans_ok && p->area == UDAX_FSCK_LINK && strstr(p->msg, "orphan"))
		return;
	fprintf(stderr, "fsck: block %llu offset %u inode %u: %s\n",
		(unsigned long long)p->block, p->offset, p->ino, p->msg);
	t->problems++;
}

/*
 * udax_fsck of a copy of @dev's memory in @dev2, then a mount of it
 * (journal replay, orphans): its fingerprint; the mounted copy then gets
 * the consistency check.
 */
static long fscked;

static char *image_state(struct udax_dev *dev, struct udax_dev *dev2,
			 bool orphans_ok)
{
	struct fsck_tally tally = { orphans_ok, 0 };
	struct udax_fsck_report rep;
	struct udax_dev_info a, b;
	struct udax_fs *fs;
	char *fp;

	FS_OK(udax_dev_info(dev, &a));
	FS_OK(udax_dev_info(dev2, &b));
	T_ASSERT(a.size == b.size);
	memcpy(b.addr, a.addr, a.size);
	T_ASSERT(udax_dev_part_read(dev2) == 1);
	FS_OK(udax_fsck(dev2, 0, 0, fsck_problem, &tally, &rep));
	T_ASSERT(tally.problems == 0);
	fscked++;
	fs = t_fs_mount(dev2);
	fp = t_fingerprint(fs);
	consistency_check(fs);
	FS_OK(udax_unmount(&fs));
	return fp;
}

/* Lines of @a that @b lacks, prefixed with @tag. */
static void lines_missing(const char *tag, const char *a, const char *b)
{
	for (const char *l = a; *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l + 1) : strlen(l);
		bool found = false;

		for (const char *m = b; *m && !found;) {
			const char *f = strchr(m, '\n');
			size_t k = f ? (size_t)(f - m + 1) : strlen(m);

			found = k == n && !memcmp(l, m, n);
			m += k;
		}
		if (!found)
			fprintf(stderr, "%s %.*s", tag, (int)n, l);
		l += n;
	}
}

static void expect_state(const char *what, const char *got, const char *a,
			 const char *b, const struct op *op, const struct site *s,
			 long n)
{
	if (!strcmp(got, a) || (b && !strcmp(got, b)))
		return;
	fprintf(stderr, "%s, %s call %ld fails: %s is not the %s state%s\n",
		op->name, udax_fault_site_name(s->site), n, what,
		b ? "before- or the after-" : "expected", b ? "" : "");
	fprintf(stderr, "difference to the %s state:\n", b ? "before-" : "expected");
	lines_missing("-", a, got);
	lines_missing("+", got, a);
	exit(1);
}

/* A shut-down fs: says so, refuses every modifying call, still reads. */
static void check_shut_down(struct ctx *c)
{
	struct udax_statfs sf;
	struct udax_file *f;
	struct udax_stat st;

	T_ASSERT(udax_fs_is_shutdown(c->fs));
	FS_OK(udax_statfs(c->fs, &sf));
	T_ASSERT(sf.flags & UDAX_STATFS_SHUTDOWN);
	FS_ERR(udax_mkdir(c->fs, "/sd", 0755), -EIO);
	T_ASSERT(strstr(udax_fs_last_error(),
			"file system shut down after a persistence error at"));
	FS_ERR(udax_open(c->fs, "/sf", O_RDWR | O_CREAT, 0644, &f), -EIO);
	FS_ERR(udax_open(c->fs, "/keep/k", O_RDWR, 0, &f), -EIO);
	FS_ERR(udax_unlink(c->fs, "/keep/k"), -EIO);
	FS_ERR(udax_rmdir(c->fs, "/g"), -EIO);
	FS_ERR(udax_link(c->fs, "/keep/k", "/keep/y"), -EIO);
	FS_ERR(udax_rename(c->fs, "/keep/k", "/keep/z", 0), -EIO);
	FS_ERR(udax_chmod(c->fs, "/keep/k", 0600), -EIO);
	FS_OK(udax_open(c->fs, "/keep/k", O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, buf, 10, 0) == 10 && !memcmp(buf, "0123456789", 10));
	FS_ERR(udax_fsync(f), -EIO);
	FS_OK(udax_close(&f));
	FS_OK(udax_stat(c->fs, "/", &st));
	if (c->f) {
		FS_ERR(udax_pwrite(c->f, "y", 1, 0), -EIO);
		FS_ERR(udax_ftruncate(c->f, 0), -EIO);
		FS_ERR(udax_fallocate(c->f, 0, 0, BS), -EIO);
	}
}

/* ---- the driver ------------------------------------------------------------------ */

static struct udax_fs *fresh(struct udax_dev **dev, struct ctx *c,
			     const struct op *op)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 256, .journal_blocks = 64 };

	*dev = t_fs_dev(DEVSPEC);
	FS_OK(udax_mkfs(*dev, 0, &mo));
	c->fs = t_fs_mount(*dev);
	c->f = NULL;
	setup(c->fs);
	if (op->pre)
		op->pre(c);
	return c->fs;
}

/* Close and unmount; the device stays for a look at its image. */
static void finish(struct ctx *c)
{
	if (c->f)
		udax_close(&c->f);	/* -EIO on a shut-down fs: released anyway */
	FS_OK(udax_unmount(&c->fs));
}

/* The after-state of @op without faults; its calls at each site. */
static char *reference(const struct op *op, struct udax_dev *dev2, long calls[])
{
	struct udax_dev *dev;
	struct ctx c;
	char *after, *img;

	fresh(&dev, &c, op);
	/* The state the injected runs start from: they walk the tree first,
	 * which builds the directories' indexes (allocations of their own). */
	free(t_fingerprint(c.fs));
	for (size_t s = 0; s < NSITES; s++)	/* count, never fail */
		FS_OK(udax_fault_set(sites[s].site, __LONG_MAX__ - 1, 1, -EIO));
	FS_OK(op->fn(&c));
	for (size_t s = 0; s < NSITES; s++)
		calls[s] = udax_fault_calls(sites[s].site);
	udax_fault_clear(UDAX_FAULT_NR_SITES);
	after = t_fingerprint(c.fs);
	img = image_state(dev, dev2, op->kind == CLOSE);
	expect_state("the image after the operation", img, after, NULL, op,
		     &sites[0], 0);
	free(img);
	finish(&c);
	FS_OK(udax_dev_close(&dev, 0));
	return after;
}

/* Inject a failure at call @n of @s during @op; false once @op no longer
 * reaches call @n. */
static bool one(const struct op *op, const struct site *s, long n,
		const char *after, struct udax_dev *dev2, long *shutdowns)
{
	struct udax_statfs sf0, sf1;
	struct udax_dev *dev;
	char *before, *now, *img;
	struct ctx c;
	long hits;
	int r;

	fresh(&dev, &c, op);
	before = t_fingerprint(c.fs);
	FS_OK(udax_statfs(c.fs, &sf0));
	FS_OK(udax_fault_set(s->site, n, 1, s->err));
	r = op->fn(&c);
	hits = udax_fault_hits(s->site);
	udax_fault_clear(UDAX_FAULT_NR_SITES);
	if (!hits) {
		FS_OK(r);
		now = t_fingerprint(c.fs);
		expect_state("the tree", now, after, NULL, op, s, n);
		free(now);
		free(before);
		finish(&c);
		FS_OK(udax_dev_close(&dev, 0));
		return false;
	}
	if (r != s->err) {
		fprintf(stderr, "%s, %s call %ld fails with %d: the operation returned %d (%s)\n",
			op->name, udax_fault_site_name(s->site), n, s->err, r,
			udax_fs_last_error());
		exit(1);
	}
	if (udax_fs_is_shutdown(c.fs)) {
		T_ASSERT(s->site == UDAX_FAULT_PERSIST);
		T_ASSERT(strstr(udax_fs_last_error(),
				"file system shut down after a persistence error at"));
		(*shutdowns)++;
		check_shut_down(&c);
		/* Media: the committed transaction, or not yet committed. */
		img = image_state(dev, dev2, op->kind == CLOSE);
		expect_state("the image of the shut-down fs", img, before, after,
			     op, s, n);
		free(img);
		/* Unmount releases everything and writes nothing. */
		finish(&c);
		img = image_state(dev, dev2, op->kind == CLOSE);
		expect_state("the image after unmount", img, before, after,
			     op, s, n);
		free(img);
		FS_OK(udax_dev_close(&dev, 0));
		free(before);
		return true;
	}
	/* Not shut down: nothing changed, in memory or on media. */
	now = t_fingerprint(c.fs);
	FS_OK(udax_statfs(c.fs, &sf1));
	if (op->kind == IN_PLACE) {
		expect_state("the tree", now, before, after, op, s, n);
	} else {
		expect_state("the tree", now, before, NULL, op, s, n);
		T_ASSERT(!memcmp(&sf0, &sf1, sizeof(sf0)));
	}
	free(now);
	img = image_state(dev, dev2, op->kind == CLOSE);
	/* A failed free of an orphan is finished by the next mount. */
	expect_state("the image", img, op->kind == CLOSE ? after : before,
		     op->kind == IN_PLACE ? after : NULL, op, s, n);
	free(img);
	if (op->kind != CLOSE) {
		/* The fs goes on: the same operation now succeeds. */
		FS_OK(op->fn(&c));
		now = t_fingerprint(c.fs);
		expect_state("the tree after the retry", now, after, NULL, op, s, n);
		free(now);
	}
	finish(&c);
	img = image_state(dev, dev2, op->kind == CLOSE);
	expect_state("the image after the retry", img, after, NULL, op, s, n);
	free(img);
	FS_OK(udax_dev_close(&dev, 0));
	free(before);
	return true;
}

int main(void)
{
	struct udax_dev *dev2 = t_fs_dev(DEVSPEC);
	long total[NSITES] = { 0 }, shutdowns = 0;

	printf("%-32s %12s %12s %8s %8s\n", "operation", "block-alloc",
	       "inode-alloc", "malloc", "persist");
	for (size_t o = 0; o < sizeof(ops) / sizeof(ops[0]); o++) {
		long calls[NSITES], points[NSITES];
		char *after = reference(&ops[o], dev2, calls);

		for (size_t s = 0; s < NSITES; s++) {
			long n = 1;

			while (one(&ops[o], &sites[s], n, after, dev2, &shutdowns))
				n++;
			points[s] = n - 1;
			/* Every call the fault-free run made was a failure
			 * point, and none more. */
			T_ASSERT(points[s] == calls[s]);
			total[s] += points[s];
		}
		printf("%-32s %12ld %12ld %8ld %8ld\n", ops[o].name, points[0],
		       points[1], points[2], points[3]);
		free(after);
	}
	printf("%-32s %12ld %12ld %8ld %8ld\n", "total injection points", total[0],
	       total[1], total[2], total[3]);
	printf("persistence failures that shut the fs down: %ld\n", shutdowns);
	printf("images checked by udax_fsck: %ld\n", fscked);
	FS_OK(udax_dev_close(&dev2, 0));
	return 0;
}
