/* SPDX-License-Identifier: MIT */
/*
 * Views, pins, leases, deferred frees and the io engine's file transfers
 * under injected faults (include/udax/fault.h).
 *
 * For each operation, each site (malloc: -ENOMEM, block allocator:
 * -ENOSPC, persist: -EIO) and n = 1, 2, ... until the operation no longer
 * reaches its nth call there, on a fresh file system: the nth call fails,
 * and
 *  - the operation returns exactly that error (none is swallowed);
 *  - nothing is left pinned: every page of the files has no reference but
 *    the probe's own, udax_statfs counts no busy block, and a truncate of
 *    each file to 0 in NOWAIT mode succeeds;
 *  - nothing changed: the tree and statfs are the before-state (a view
 *    with UDAX_VIEW_ALLOCATE may have filled some holes with zeroed
 *    blocks before it failed: its file then reads the same); or, for a
 *    persistence error that shut the fs down, it says so;
 *  - after the truncates every block is free again, and after unmount
 *    udax_fsck finds no problem and a remount gives every block back.
 * The deferred free (UDAX_BREAK_DEFER truncate of a range with 56 pinned
 * blocks, more than the old busy table took before it grew) is one of the
 * operations: when it succeeds, exactly the pinned blocks are busy, and
 * all of them return to the allocator when the pins drop; an injected
 * failure is never swallowed by it.
 * The io operations are skipped where io_uring is unavailable.  Leaks:
 * ASan's leak checker at exit in the asan build.
 */
#include <unistd.h>
#include <udax/fault.h>
#include <udax/fsck.h>
#ifdef UDAX_TEST_IO		/* built with liburing: the io engine exists */
#include <udax/io.h>
#endif

#include "fs_util.h"

#define DEVSPEC	"mem:16M"
#define BS	4096
#define NB	64		/* blocks of /f, one extent each */
#define NH	16		/* blocks of /h: holes, written, unwritten */
#define PINNED	8		/* the deferred free pins [PINNED, NB) */

static struct udax_dev *dev;
/* Page-aligned: the io files may be O_DIRECT. */
static uint8_t buf[NB * BS] __attribute__((aligned(BS))), hbuf[NH * BS];
#ifdef UDAX_TEST_IO
static struct udax_io *io;
#else
static void *io;
#endif
static int src_fd = -1, sink_fd = -1;
#ifdef UDAX_TEST_IO
static char dir[] = "/var/tmp/udax-faultzc-XXXXXX";
#endif

struct ctx {
	struct udax_fs *fs;
	struct udax_file *f, *h;
	struct udax_pin *pin, *pre_pin;
	struct udax_view *view;
	struct udax_lease *lease;
};

/* ---- the file system ------------------------------------------------------------ */

static void fresh(struct ctx *c)
{
	struct udax_mkfs_opts mo = { .nr_inodes = 64, .journal_blocks = 64 };
	struct udax_mount_opts o = { .brk = { UDAX_BREAK_NOWAIT, 0 } };
	struct udax_file *g;

	memset(c, 0, sizeof(*c));
	FS_OK(udax_mkfs(dev, 0, &mo));
	FS_OK(udax_mount(dev, 0, &o, &c->fs));
	/* /f and /g interleaved: every block of /f is an extent of its own
	 * (an extent chain; extent lists grow while collected). */
	FS_OK(udax_open(c->fs, "/f", O_RDWR | O_CREAT, 0644, &c->f));
	FS_OK(udax_open(c->fs, "/g", O_RDWR | O_CREAT, 0644, &g));
	t_fill(buf, sizeof(buf), 1);
	for (int b = 0; b < NB; b++) {
		T_ASSERT(udax_pwrite(c->f, buf + b * BS, BS, (uint64_t)b * BS) == BS);
		T_ASSERT(udax_pwrite(g, buf, BS, (uint64_t)b * BS) == BS);
	}
	FS_OK(udax_close(&g));
	/* /h: written blocks 0, 5, 10; block 12 unwritten; the rest holes. */
	FS_OK(udax_open(c->fs, "/h", O_RDWR | O_CREAT, 0644, &c->h));
	memset(hbuf, 0, sizeof(hbuf));
	for (int b = 0; b < NH; b += 5) {
		t_fill(hbuf + b * BS, BS, 50 + b);
		T_ASSERT(udax_pwrite(c->h, hbuf + b * BS, BS, (uint64_t)b * BS) == BS);
	}
	FS_OK(udax_fallocate(c->h, UDAX_FALLOC_KEEP_SIZE, 12 * BS, BS));
	FS_OK(udax_ftruncate(c->h, NH * BS));
}

/* ---- the operations --------------------------------------------------------------- */

static void noop_revoke(struct udax_lease *l, void *arg)
{
	(void)l;
	(void)arg;
}

static const struct udax_lease_ops lease_ops = { .revoke = noop_revoke };

static int op_pin(struct ctx *c) { return udax_pin(c->f, 0, NB * BS, 0, &c->pin); }

static int view(struct ctx *c, struct udax_file *f, size_t len, unsigned flags)
{
	void *addr;

	return udax_view_map(f, 0, len, flags, &c->view, &addr);
}
static int op_view(struct ctx *c) { return view(c, c->f, NB * BS, 0); }
static int op_view_write(struct ctx *c) { return view(c, c->f, NB * BS, UDAX_VIEW_WRITE); }
static int op_view_alloc(struct ctx *c)
{
	return view(c, c->h, NH * BS, UDAX_VIEW_WRITE | UDAX_VIEW_ALLOCATE);
}
static int op_lease(struct ctx *c)
{
	return udax_lease_take(c->f, 0, NB * BS, -1, &lease_ops, NULL, &c->lease);
}

static void pin_tail(struct ctx *c)
{
	FS_OK(udax_pin(c->f, PINNED * BS, (NB - PINNED) * BS, 0, &c->pre_pin));
}
static int op_defer(struct ctx *c)
{
	struct udax_break_opts defer = { UDAX_BREAK_DEFER, 0 };

	return udax_ftruncate_ex(c->f, 4 * BS, &defer);
}

#ifdef UDAX_TEST_IO
/* A transfer through the io engine (submitted: @r), waited for. */
static int waited(int r, struct udax_io_req **req, size_t want)
{
	ssize_t got;

	if (r) {
		T_ASSERT(*req == NULL);
		return r;
	}
	got = udax_io_wait(*req);
	udax_io_req_free(req);
	return got == (ssize_t)want ? 0 : got < 0 ? (int)got : -EIO;
}
static int op_io_read(struct ctx *c)
{
	struct udax_io_req *req;

	int r = udax_io_read_file(io, src_fd, 0, c->f, 4 * BS, 8 * BS, NULL, NULL,
				  &req);

	return waited(r, &req, 8 * BS);
}
static int op_io_write(struct ctx *c)
{
	struct udax_io_req *req;

	int r = udax_io_write_file(io, sink_fd, 0, c->f, 0, 8 * BS, NULL, NULL,
				   &req);

	return waited(r, &req, 8 * BS);
}
static int op_io_lease(struct ctx *c)
{
	struct udax_io_leased *lf;
	struct udax_io_req *req;
	uint64_t off;
	size_t len;
	int r, r2;

	r = udax_io_lease_fixed(io, c->f, 0, 16 * BS, -1, NULL, NULL, &lf);
	if (r)
		return r;
	len = udax_io_leased_run(lf, 0, &off);
	T_ASSERT(len >= BS);
	r = udax_io_leased_write(lf, off, sink_fd, 0, BS, NULL, NULL, &req);
	r = waited(r, &req, BS);
	r2 = udax_io_lease_fixed_release(&lf);
	return r ? r : r2;
}

#endif

static const struct op {
	const char *name;
	int (*fn)(struct ctx *);
	void (*pre)(struct ctx *);
	bool io;
} ops[] = {
	{ "pin", op_pin, NULL, false },
	{ "view", op_view, NULL, false },
	{ "view (writable)", op_view_write, NULL, false },
	{ "view (allocate)", op_view_alloc, NULL, false },
	{ "lease", op_lease, NULL, false },
	{ "truncate, pinned (DEFER)", op_defer, pin_tail, false },
#ifdef UDAX_TEST_IO
	{ "io read into a file", op_io_read, NULL, true },
	{ "io write from a file", op_io_write, NULL, true },
	{ "io leased fixed buffer", op_io_lease, NULL, true },
#endif
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static const struct site {
	enum udax_fault_site site;
	int err;
} sites[] = {
	{ UDAX_FAULT_MALLOC, -ENOMEM },
	{ UDAX_FAULT_BLOCK_ALLOC, -ENOSPC },
	{ UDAX_FAULT_PERSIST, -EIO },
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

/* ---- checks ---------------------------------------------------------------------- */

/* Every page of [0, @nblk) of @f has no reference but the probe's. */
static void nothing_pinned(struct udax_file *f, uint64_t nblk)
{
	struct udax_pin *pin;

	FS_OK(udax_pin(f, 0, nblk * BS, 0, &pin));
	for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
		T_ASSERT(udax_page_ref_count(udax_pin_page_array(pin)[i]) == 1);
	FS_OK(udax_unpin(&pin));
}

/* What the operation left: undo it (fault-free run). */
static void undo(struct ctx *c)
{
	if (c->pin)
		FS_OK(udax_unpin(&c->pin));
	if (c->view)
		FS_OK(udax_view_unmap(&c->view));
	if (c->lease)
		FS_OK(udax_lease_release(&c->lease));
}

static void release_pre(struct ctx *c)
{
	if (c->pre_pin)
		FS_OK(udax_unpin(&c->pre_pin));
}

static uint64_t free_after_truncates;	/* blocks free with /f, /h empty */

static void truncate_all(struct ctx *c)
{
	struct udax_break_opts nowait = { UDAX_BREAK_NOWAIT, 0 };
	struct udax_statfs sf;

	FS_OK(udax_ftruncate_ex(c->f, 0, &nowait));
	FS_OK(udax_ftruncate_ex(c->h, 0, &nowait));
	FS_OK(udax_statfs(c->fs, &sf));
	T_ASSERT(sf.blocks_busy == 0);
	if (!free_after_truncates)
		free_after_truncates = sf.blocks_free;
	T_ASSERT(sf.blocks_free == free_after_truncates);
}

/* /h reads as it was written (holes and unwritten blocks: zeroes). */
static void h_unchanged(struct ctx *c)
{
	static uint8_t got[NH * BS];
	struct udax_stat st;

	FS_OK(udax_fstat(c->h, &st));
	T_ASSERT(st.size == NH * BS);
	T_ASSERT(udax_pread(c->h, got, NH * BS, 0) == NH * BS);
	T_ASSERT(!memcmp(got, hbuf, NH * BS));
}

/* Close, unmount, fsck; a remount (its allocator rebuilt from media) then
 * frees the same blocks. */
static void finish(struct ctx *c, bool truncated)
{
	struct udax_fsck_report rep;

	if (c->f)
		udax_close(&c->f);	/* -EIO on a shut-down fs: released anyway */
	if (c->h)
		udax_close(&c->h);
	FS_OK(udax_unmount(&c->fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
	c->fs = t_fs_mount(dev);
	FS_OK(udax_open(c->fs, "/f", O_RDWR, 0, &c->f));
	FS_OK(udax_open(c->fs, "/h", O_RDWR, 0, &c->h));
	if (!truncated) {
		/* Recovered from a shut-down fs: /f whole, or cut to 4 blocks
		 * by a DEFER truncate that committed; /h reads the same. */
		static uint8_t want[NB * BS], got[NB * BS];
		struct udax_stat st;

		FS_OK(udax_fstat(c->f, &st));
		T_ASSERT(st.size == NB * BS || st.size == 4 * BS);
		t_fill(want, sizeof(want), 1);
		T_ASSERT(udax_pread(c->f, got, st.size, 0) == (ssize_t)st.size);
		T_ASSERT(!memcmp(got, want, st.size));
		h_unchanged(c);
	}
	truncate_all(c);
	FS_OK(udax_close(&c->f));
	FS_OK(udax_close(&c->h));
	FS_OK(udax_unmount(&c->fs));
}

/* ---- the driver ------------------------------------------------------------------ */

static void reference(const struct op *op, long calls[])
{
	struct udax_statfs sf;
	struct ctx c;
	int r;

	fresh(&c);
	if (op->pre)
		op->pre(&c);
	for (size_t s = 0; s < NSITES; s++)	/* count, never fail */
		FS_OK(udax_fault_set(sites[s].site, __LONG_MAX__ - 1, 1, -EIO));
	r = op->fn(&c);
	for (size_t s = 0; s < NSITES; s++)
		calls[s] = udax_fault_calls(sites[s].site);
	udax_fault_clear(UDAX_FAULT_NR_SITES);
	FS_OK(r);
	FS_OK(udax_statfs(c.fs, &sf));
	if (op->fn == op_defer) {
		/* Freed while pinned: busy until the pins drop. */
		T_ASSERT(sf.blocks_busy == NB - PINNED);
		release_pre(&c);
		FS_OK(udax_statfs(c.fs, &sf));
		T_ASSERT(sf.blocks_busy == 0);
	}
	undo(&c);
	nothing_pinned(c.f, op->fn == op_defer ? 4 : NB);
	truncate_all(&c);
	finish(&c, true);
}

static bool one(const struct op *op, const struct site *s, long n, long *shutdowns)
{
	struct udax_statfs sf0, sf1;
	char *before, *now;
	struct ctx c;
	long hits;
	int r;

	fresh(&c);
	if (op->pre)
		op->pre(&c);
	before = t_fingerprint(c.fs);
	FS_OK(udax_statfs(c.fs, &sf0));
	FS_OK(udax_fault_set(s->site, n, 1, s->err));
	r = op->fn(&c);
	hits = udax_fault_hits(s->site);
	udax_fault_clear(UDAX_FAULT_NR_SITES);
	if (!hits) {
		FS_OK(r);
		release_pre(&c);
		undo(&c);
		truncate_all(&c);
		finish(&c, true);
		free(before);
		return false;
	}
	if (r != s->err) {
		fprintf(stderr, "%s, %s call %ld fails with %d: the operation returned "
			"%d (%s): %s\n", op->name, udax_fault_site_name(s->site), n,
			s->err, r, t_errname(r), udax_fs_last_error());
		exit(1);
	}
	T_ASSERT(!c.pin && !c.view && !c.lease);
	FS_OK(udax_statfs(c.fs, &sf1));
	T_ASSERT(sf1.blocks_busy == 0);
	release_pre(&c);
	nothing_pinned(c.f, NB);
	if (udax_fs_is_shutdown(c.fs)) {
		T_ASSERT(s->site == UDAX_FAULT_PERSIST);
		T_ASSERT(sf1.flags & UDAX_STATFS_SHUTDOWN);
		(*shutdowns)++;
		finish(&c, false);
		free(before);
		return true;
	}
	now = t_fingerprint(c.fs);
	if (op->fn == op_view_alloc) {
		h_unchanged(&c);
	} else if (strcmp(now, before) || memcmp(&sf0, &sf1, sizeof(sf0))) {
		fprintf(stderr, "%s, %s call %ld fails: the tree changed\n%s\nwas\n%s\n",
			op->name, udax_fault_site_name(s->site), n, now, before);
		exit(1);
	}
	free(now);
	free(before);
	truncate_all(&c);
	finish(&c, true);
	return true;
}

#ifdef UDAX_TEST_IO
static int open_fd(const char *path, bool src)
{
	int fd = open(path, O_RDWR | O_CREAT | O_DIRECT, 0600);

	if (fd < 0)
		fd = open(path, O_RDWR | O_CREAT, 0600);	/* no O_DIRECT here */
	T_ASSERT(fd >= 0);
	if (src) {
		t_fill(buf, 8 * BS, 9);
		T_ASSERT(pwrite(fd, buf, 8 * BS, 0) == 8 * BS);
	}
	return fd;
}

/* The engine and two files to transfer from and to; none where io_uring
 * is unavailable (io_uring_disabled sysctl, seccomp). */
static void open_io(void)
{
	struct udax_io_opts o = { .queue_depth = 16, .flags = UDAX_IO_FULL };
	char path[80];
	int r = udax_io_new(&o, &io);

	if (r == -ENOSYS || r == -EPERM) {
		printf("io_uring unavailable (%s): io operations skipped\n",
		       udax_io_last_error());
		io = NULL;
		return;
	}
	FS_OK(r);
	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/src", dir);
	src_fd = open_fd(path, true);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sink", dir);
	sink_fd = open_fd(path, false);
	unlink(path);
	rmdir(dir);
}

static void close_io(void)
{
	if (!io)
		return;
	udax_io_delete(&io);
	close(src_fd);
	close(sink_fd);
}
#else
static void open_io(void)
{
	printf("built without liburing: io operations skipped\n");
}
static void close_io(void) {}
#endif

int main(void)
{
	long total[NSITES] = { 0 }, shutdowns = 0;

	dev = t_fs_dev(DEVSPEC);
	open_io();
	printf("%-28s %8s %12s %8s\n", "operation", "malloc", "block-alloc", "persist");
	for (size_t o = 0; o < NOPS; o++) {
		long calls[NSITES], points[NSITES];

		if (ops[o].io && !io)
			continue;
		reference(&ops[o], calls);
		for (size_t s = 0; s < NSITES; s++) {
			long n = 1;

			while (one(&ops[o], &sites[s], n, &shutdowns))
				n++;
			points[s] = n - 1;
			T_ASSERT(points[s] == calls[s]);
			total[s] += points[s];
		}
		printf("%-28s %8ld %12ld %8ld\n", ops[o].name, points[0], points[1],
		       points[2]);
		/* Every operation allocates memory. */
		T_ASSERT(points[0] > 0);
	}
	printf("%-28s %8ld %12ld %8ld\n", "total injection points", total[0],
	       total[1], total[2]);
	printf("persistence failures that shut the fs down: %ld\n", shutdowns);
	close_io();
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
