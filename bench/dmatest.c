/* SPDX-License-Identifier: MIT */
/*
 * udax dmatest: DMA into file pages while the file's layout is broken,
 * on udax and on a kernel directory, side by side.
 *
 * Every scenario: a file T of R blocks; the file system is filled so that
 * a freed block can only be reused by a new file; reads from a real
 * O_DIRECT source (or a slow pipe that keeps them in flight for hundreds
 * of milliseconds) are submitted into T's pages; T is truncated (or a hole
 * punched) while they are in flight; a victim file is written into the
 * free space at once; after every read has completed, the victim is
 * checked block by block.  A victim block that does not hold what was
 * written to it holds DMA data that landed after its block was reused.
 *
 * udax side: pins through udax_pin(), transfers through the io engine.
 * Kernel side: mmap of T, io_uring readv (the kernel pins the pages with
 * get_user_pages), ftruncate/fallocate.  A watchdog marks an operation
 * stuck if it has not returned 5 s after the last read completed and then
 * sends it a signal (the kernel's missed wakeup sleeps until one).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <udax/fs.h>
#include <udax/io.h>

#include "bench_util.h"
#include "dmatest.h"

/*
 * The kernel side hands each read's iovec from the submitting thread to
 * the reaper through the ring: user_data in the submission, back in the
 * completion.  That ordering is the kernel's, which ThreadSanitizer does
 * not see, so it is told: a release when the read is queued, an acquire
 * when its completion is taken.
 */
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#define ring_handoff_release(p) __tsan_release(p)
#define ring_handoff_acquire(p) __tsan_acquire(p)
#else
#define ring_handoff_release(p) ((void)(p))
#define ring_handoff_acquire(p) ((void)(p))
#endif

#define BS		4096u
#define CHUNK		16u		/* pages per read */
#define WATCHDOG_NS	(5ull * 1000000000ull)	/* after the last read completed */
#define OP_LIMIT_NS	(30ull * 1000000000ull)	/* after the operation started */
#define DRAIN_LIMIT_NS	(30ull * 1000000000ull)	/* for the last reads to complete */

enum variant { V_PLAIN, V_STARVE, V_UNMAP, V_DEFER, V_LEASE };
enum target { T_UDAX, T_KERNEL };

struct scenario {
	const char *name;
	enum variant v;
	bool punch, slow;
	bool udax_only;
};

static const struct scenario scenarios[] = {
	{ "baseline",		V_PLAIN, false, false, false },	/* no layout change */
	{ "truncate.fast",	V_PLAIN, false, false, false },
	{ "truncate.slow",	V_PLAIN, false, true, false },
	{ "punch.slow",		V_PLAIN, true, true, false },
	{ "starve.truncate.slow", V_STARVE, false, true, false },
	{ "unmap.truncate.slow", V_UNMAP, false, true, false },
	{ "defer.truncate.slow", V_DEFER, false, true, true },
	{ "lease.truncate.slow", V_LEASE, false, true, true },
};

struct result {
	double op_us, last_dma_to_return_us;
	long inflight_at_op, reads_ok, reads_failed, victim_bad, victim_blocks;
	long resubmitted, reads_unfinished;
	int stuck, op_ret;
	uint64_t op_end_ns;
	uint64_t victim_end_ns;		/* the victim file was written */
	double dma_after_victim_us;	/* > 0: DMA still landed after that */
};

struct ctx {
	const struct dmatest_opts *o;
	const struct scenario *sc;
	int srcfd;			/* fast source (O_DIRECT) */
	int slowfd;			/* slow O_DIRECT source, or -1: the pipe */
	uint64_t nblk;			/* blocks of T in this scenario */
	long fill;			/* filler and victim: at most this many blocks
					 * (0: until full) */
	struct udax_io_slow *slow;
	_Atomic long submitted, completed, ok, failed, resubmitted;
	_Atomic uint64_t last_done_ns;
	_Atomic int stop;
};

static uint64_t now_ns(void)
{
	return bench_now_ns();
}

/* Progress on stderr: where a run is, if it hangs (the guest console). */
static void phase(const struct ctx *c, const char *side, const char *what)
{
	fprintf(stderr, "dmatest: %s/%s: %s\n", c->sc->name, side, what);
}

static void note_done(struct ctx *c, ssize_t res)
{
	atomic_store(&c->last_done_ns, now_ns());
	if (res > 0)
		c->ok++;
	else
		c->failed++;
	c->completed++;
}

/*
 * Starvation: the operation starts only once the stream of resubmitted
 * reads is going (or after a second), so that it meets reads in flight.
 */
static void wait_stream(struct ctx *c)
{
	uint64_t t0 = now_ns();

	while (c->resubmitted < 8 && now_ns() - t0 < 1000000000ull)
		usleep(100);
}

/* ---- the operation, with a watchdog ---------------------------------------- */

struct op {
	struct ctx *c;
	int (*fn)(void *arg);
	void *arg;
	pthread_t tid;
	_Atomic int done;
	int ret;
	uint64_t t_end;
};

static void on_sigusr1(int sig) { (void)sig; }

static void *op_thread(void *p)
{
	struct op *op = p;

	op->ret = op->fn(op->arg);
	op->t_end = now_ns();
	atomic_store(&op->done, 1);
	return NULL;
}

/* Run fn in a thread; stuck if not done WATCHDOG_NS after the last DMA
 * completion (then signalled until it returns). */
static void run_op(struct ctx *c, struct op *op, struct result *res)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	uint64_t t0 = now_ns();

	sigaction(SIGUSR1, &sa, NULL);
	res->inflight_at_op = c->submitted - c->completed;
	int err = pthread_create(&op->tid, NULL, op_thread, op);

	if (err) {
		fprintf(stderr, "dmatest: no thread for the operation: %s\n", strerror(err));
		res->op_ret = -err;
		return;
	}
	while (!atomic_load(&op->done)) {
		uint64_t last = atomic_load(&c->last_done_ns);
		bool all_done = c->completed == c->submitted && !atomic_load(&c->resubmitted);

		if ((all_done && last && now_ns() - last > WATCHDOG_NS) ||
		    now_ns() - t0 > OP_LIMIT_NS) {
			res->stuck = 1;
			pthread_kill(op->tid, SIGUSR1);
		}
		usleep(2000);
	}
	pthread_join(op->tid, NULL);
	res->op_us = (double)(op->t_end - t0) / 1e3;
	res->op_ret = op->ret;
	res->op_end_ns = op->t_end;
}

/* ---- udax ------------------------------------------------------------------- */

struct udax_side {
	struct ctx *c;
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_io *io;
	struct udax_file *t;
	uint64_t nblk;
	struct udax_io_leased *lf;	/* V_LEASE: fixed buffers under a lease */
};

static void pin_release(struct udax_io_buf *buf)
{
	struct udax_pin *pin = buf->priv;

	udax_unpin(&pin);
	free(buf);
}

static void u_done(struct udax_io_req *req, ssize_t res, void *arg)
{
	(void)req;
	note_done(arg, res);
}

/* Pin [blk, blk + CHUNK) of T and read into it; the pin is the read's. */
static int u_submit(struct udax_side *u, uint64_t blk, int64_t src_off)
{
	struct ctx *c = u->c;
	struct udax_io_buf *buf = calloc(1, sizeof(*buf));
	struct udax_pin *pin;
	int fd = !c->sc->slow ? c->srcfd : c->slowfd >= 0 ? c->slowfd : udax_io_slow_fd(c->slow);
	bool pipe = c->sc->slow && c->slowfd < 0;
	int ret;

	if (!buf)
		return -ENOMEM;
	ret = udax_pin(u->t, blk * BS, CHUNK * BS, 0, &pin);
	if (ret) {
		free(buf);
		return ret;
	}
	buf->pages = (struct udax_page **)udax_pin_page_array(pin);
	buf->nr_pages = udax_pin_nr_pages(pin);
	buf->release = pin_release;
	buf->priv = pin;
	c->submitted++;
	ret = udax_io_read_buf(u->io, fd, pipe ? UDAX_IO_CUR_POS : src_off, buf,
			       u_done, c, NULL);
	if (ret) {
		c->submitted--;
		udax_unpin(&pin);
		free(buf);
	}
	return ret;
}

static void *u_starver(void *p)
{
	struct udax_side *u = p;
	uint64_t blk = 0;

	while (!atomic_load(&u->c->stop)) {
		if (u_submit(u, blk, (int64_t)(blk * BS)))
			break;		/* the range is gone: truncated */
		u->c->resubmitted++;
		blk = (blk + CHUNK) % u->nblk;
		usleep(200);
	}
	return NULL;
}

static int u_truncate(void *p)
{
	struct udax_side *u = p;

	if (u->c->sc->punch)
		return udax_fallocate(u->t, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				      0, u->nblk * BS);
	return udax_ftruncate(u->t, 0);
}

#define FILL_CHUNK 256u	/* blocks per write: few calls, per-block patterns */

static void pattern(char *b, char tag, long blk)
{
	memset(b, tag, BS);
	memcpy(b, &blk, sizeof(blk));
}

/* Block I/O on either side, so that filling and checking are one loop. */
struct blk_io {
	ssize_t (*pwrite)(void *h, const void *p, size_t n, uint64_t off);
	ssize_t (*pread)(void *h, void *p, size_t n, uint64_t off);
	void *h;
};

/* Write blocks of @tag until full (or @cap blocks); returns how many. */
static long fill_blocks(const struct blk_io *io, char tag, long cap)
{
	char *b = malloc(FILL_CHUNK * BS);
	long n = 0;

	if (!b)
		return -1;
	for (unsigned chunk = FILL_CHUNK; chunk; ) {
		ssize_t w;

		if (cap > 0 && n + (long)chunk > cap)
			chunk = (unsigned)(cap - n);
		for (unsigned i = 0; i < chunk; i++)
			pattern(b + (size_t)i * BS, tag, n + i);
		w = chunk ? io->pwrite(io->h, b, (size_t)chunk * BS, (uint64_t)n * BS) : 0;
		if (w == (ssize_t)chunk * BS) {
			n += chunk;
			continue;
		}
		if (w > 0)
			n += w / BS;
		chunk /= 2;	/* nearly full: smaller writes find the last blocks */
	}
	free(b);
	return n;
}

/* Blocks of the first @n that do not hold what fill_blocks() wrote. */
static long check_blocks(const struct blk_io *io, char tag, long n)
{
	char b[BS], want[BS];
	long bad = 0;

	for (long i = 0; i < n; i++) {
		pattern(want, tag, i);
		if (io->pread(io->h, b, BS, (uint64_t)i * BS) != BS || memcmp(b, want, BS))
			bad++;
	}
	return bad;
}

static ssize_t u_blk_pwrite(void *h, const void *p, size_t n, uint64_t off)
{
	return udax_pwrite(h, p, n, off);
}

static ssize_t u_blk_pread(void *h, void *p, size_t n, uint64_t off)
{
	return udax_pread(h, p, n, off);
}

/* @check: count bad blocks of the first @n instead of filling. */
static long udax_blocks(struct udax_fs *fs, const char *path, char tag, long n, bool check)
{
	struct blk_io io = { u_blk_pwrite, u_blk_pread, NULL };
	struct udax_file *f;
	long ret;

	if (udax_open(fs, path, check ? O_RDONLY : O_CREAT | O_RDWR | O_TRUNC, 0644,
		      (struct udax_file **)&io.h))
		return -1;
	ret = check ? check_blocks(&io, tag, n) : fill_blocks(&io, tag, n);
	f = io.h;
	udax_close(&f);
	return ret;
}

static long fill_udax(struct udax_fs *fs, const char *path, char tag, long cap)
{
	return udax_blocks(fs, path, tag, cap, false);
}

static long check_udax(struct udax_fs *fs, const char *path, char tag, long n)
{
	return udax_blocks(fs, path, tag, n, true);
}

static int run_udax(struct ctx *c, struct result *res)
{
	const struct dmatest_opts *o = c->o;
	struct udax_mount_opts mo = { 0 };
	struct udax_side u = { .c = c, .nblk = c->nblk };
	/* FULL: a read from the pipe stays in flight (pinned) until all
	 * its bytes have come, like a device read. */
	struct udax_io_opts io_o = { .queue_depth = 256, .flags = UDAX_IO_FULL };
	struct op op = { .c = c, .fn = u_truncate, .arg = &u };
	pthread_t starver;
	struct udax_view *view = NULL;
	void *vaddr;
	int ret;

	struct udax_dev_opts dopt = { 0 };
	const char *dpath = !strncmp(o->device, "file:", 5) ? o->device + 5 : o->device;

	/* A file device that does not exist is created small, so that
	 * filling it is quick and complete. */
	if (strncmp(o->device, "mem:", 4) && access(dpath, F_OK)) {
		dopt.flags = UDAX_DEV_CREATE;
		dopt.size = 64ull << 20;
	}
	mo.brk.mode = c->sc->v == V_DEFER ? UDAX_BREAK_DEFER : UDAX_BREAK_WAIT;
	if ((ret = udax_dev_open(o->device, &dopt, &u.dev)) ||
	    (ret = udax_dev_mkpart(u.dev, NULL, 0, UDAX_MKPART_FORCE)) ||
	    (ret = udax_mkfs(u.dev, 0, NULL)) || (ret = udax_mount(u.dev, 0, &mo, &u.fs)) ||
	    (ret = udax_io_new(&io_o, &u.io)))
		goto out;
	if (fill_udax(u.fs, "/t", 'T', (long)c->nblk) != (long)c->nblk) {
		ret = -ENOSPC;
		goto out;
	}
	phase(c, "udax", "filling");
	fill_udax(u.fs, "/filler", 'F', c->fill);
	phase(c, "udax", "submitting");
	if ((ret = udax_open(u.fs, "/t", O_RDWR, 0, &u.t)))
		goto out;
	if (c->sc->v == V_UNMAP &&
	    (ret = udax_view_map(u.t, 0, c->nblk * BS, UDAX_VIEW_WRITE, &view, &vaddr)))
		goto out;

	if (c->sc->v == V_LEASE) {
		/* The library is the holder: the truncate's revoke makes it
		 * drain the fixed reads, unregister and release the lease. */
		if ((ret = udax_io_lease_fixed(u.io, u.t, 0, c->nblk * BS, -1, NULL, NULL,
					       &u.lf)))
			goto out;
		for (uint64_t b = 0; b < c->nblk; b += CHUNK) {
			c->submitted++;
			ret = udax_io_leased_read(u.lf, b * BS,
						  c->slowfd >= 0 ? c->slowfd : udax_io_slow_fd(c->slow),
						  c->slowfd >= 0 ? (int64_t)(b * BS) : UDAX_IO_CUR_POS,
						  CHUNK * BS, u_done, c, NULL);
			if (ret)	/* -EINVAL: a chunk across two pfn runs */
				goto out;
		}
	} else {
		for (uint64_t b = 0; b < c->nblk; b += CHUNK)
			if ((ret = u_submit(&u, b, (int64_t)(b * BS))))
				goto out;
	}
	if (view)
		udax_view_unmap(&view);		/* a pin outlives its view */
	if (c->slow)
		udax_io_slow_resume(c->slow);
	if (c->sc->v == V_STARVE) {
		if ((ret = -pthread_create(&starver, NULL, u_starver, &u)))
			goto out;
		wait_stream(c);
	}

	phase(c, "udax", "operation");
	if (strcmp(c->sc->name, "baseline"))
		run_op(c, &op, res);
	if (c->sc->v == V_STARVE) {
		atomic_store(&c->stop, 1);
		pthread_join(starver, NULL);
		res->resubmitted = c->resubmitted;
	}
	phase(c, "udax", "victim");
	res->victim_blocks = fill_udax(u.fs, "/victim", 'V', c->fill);
	res->victim_end_ns = now_ns();
	phase(c, "udax", "draining");
	udax_io_drain(u.io);			/* every read has landed */
	res->victim_bad = check_udax(u.fs, "/victim", 'V', res->victim_blocks);
	if (!strcmp(c->sc->name, "baseline")) {
		/* No layout change: every block of T holds its DMA data. */
		res->victim_bad = 0;
	}
	ret = 0;
out:
	/* Revoked or not (an error path), the registration goes before the
	 * engine, or udax_io_delete() refuses and the unmount waits. */
	udax_io_lease_fixed_release(&u.lf);
	if (u.t)
		udax_close(&u.t);
	if (u.io)
		udax_io_delete(&u.io);
	/* Bounded: a leaked pin must not hang the command (docs/fs.md). */
	if (u.fs && udax_unmount_ex(&u.fs, &(struct udax_break_opts){
			.mode = UDAX_BREAK_TIMEOUT, .timeout_ns = 30000000000ll }))
		fprintf(stderr, "dmatest: %s\n", udax_fs_last_error());
	if (u.dev && udax_dev_close_timeout(&u.dev, UDAX_DEV_CLOSE_WAIT,
					    30000000000ll))
		fprintf(stderr, "dmatest: %s\n", udax_dev_last_error());
	return ret;
}

/* ---- kernel ------------------------------------------------------------------- */

struct k_side {
	struct ctx *c;
	struct io_uring ring;
	pthread_mutex_t lock;
	int tfd;
	char *map;
	uint64_t nblk;
	pthread_t reaper;
	_Atomic bool quit;		/* reads never completed: give up */
};

static int k_queue(struct k_side *k, struct iovec *iov, int fd, __u64 off)
{
	struct io_uring_sqe *sqe;

	pthread_mutex_lock(&k->lock);
	sqe = io_uring_get_sqe(&k->ring);
	if (!sqe) {
		pthread_mutex_unlock(&k->lock);
		return -EAGAIN;
	}
	io_uring_prep_readv(sqe, fd, iov, 1, off);
	io_uring_sqe_set_data(sqe, iov);
	ring_handoff_release(iov);
	io_uring_submit(&k->ring);
	pthread_mutex_unlock(&k->lock);
	return 0;
}

static void *k_reaper(void *p)
{
	struct k_side *k = p;
	struct io_uring_cqe *cqe;
	bool pipe = k->c->sc->slow && k->c->slowfd < 0;

	while ((!atomic_load(&k->c->stop) || k->c->completed < k->c->submitted) &&
	       !atomic_load(&k->quit)) {
		struct __kernel_timespec ts = { 0, 10000000 };
		struct iovec *iov;
		int res;

		if (io_uring_wait_cqe_timeout(&k->ring, &cqe, &ts))
			continue;
		iov = io_uring_cqe_get_data(cqe);
		ring_handoff_acquire(iov);
		res = cqe->res;
		io_uring_cqe_seen(&k->ring, cqe);
		/* A short read from the pipe: read the rest into the same
		 * pages, so they stay pinned as long as on the udax side. */
		if (pipe && res > 0 && (size_t)res < iov->iov_len) {
			iov->iov_base = (char *)iov->iov_base + res;
			iov->iov_len -= (size_t)res;
			if (!k_queue(k, iov, udax_io_slow_fd(k->c->slow), (__u64)-1))
				continue;
		}
		note_done(k->c, res);
		free(iov);
	}
	return NULL;
}

static int k_submit(struct k_side *k, uint64_t blk, int64_t src_off)
{
	struct ctx *c = k->c;
	struct iovec *iov = malloc(sizeof(*iov));
	bool pipe = c->sc->slow && c->slowfd < 0;
	int fd = !c->sc->slow ? c->srcfd : pipe ? udax_io_slow_fd(c->slow) : c->slowfd;
	int ret;

	if (!iov)
		return -ENOMEM;
	iov->iov_base = k->map + blk * BS;
	iov->iov_len = CHUNK * BS;
	c->submitted++;
	ret = k_queue(k, iov, fd, pipe ? (__u64)-1 : (__u64)src_off);
	if (ret) {
		c->submitted--;
		free(iov);
	}
	return ret;
}

static void *k_starver(void *p)
{
	struct k_side *k = p;
	uint64_t blk = 0;

	while (!atomic_load(&k->c->stop)) {
		if (k_submit(k, blk, (int64_t)(blk * BS)))
			break;
		k->c->resubmitted++;
		blk = (blk + CHUNK) % k->nblk;
		usleep(200);
	}
	return NULL;
}

static int k_truncate(void *p)
{
	struct k_side *k = p;

	if (k->c->sc->punch)
		return fallocate(k->tfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				 (off_t)(k->nblk * BS)) ? -errno : 0;
	return ftruncate(k->tfd, 0) ? -errno : 0;
}

static ssize_t k_blk_pwrite(void *h, const void *p, size_t n, uint64_t off)
{
	return pwrite((int)(intptr_t)h, p, n, (off_t)off);
}

static ssize_t k_blk_pread(void *h, void *p, size_t n, uint64_t off)
{
	return pread((int)(intptr_t)h, p, n, (off_t)off);
}

static long kernel_blocks(const char *dir, const char *name, char tag, long n, bool check)
{
	struct blk_io io = { k_blk_pwrite, k_blk_pread, NULL };
	char path[8192];
	long ret;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = check ? open(path, O_RDONLY) : open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
	if (fd < 0)
		return -1;
	io.h = (void *)(intptr_t)fd;
	ret = check ? check_blocks(&io, tag, n) : fill_blocks(&io, tag, n);
	if (!check)
		fsync(fd);
	close(fd);
	return ret;
}

static long fill_kernel(const char *dir, const char *name, char tag, long cap)
{
	return kernel_blocks(dir, name, tag, cap, false);
}

static long check_kernel(const char *dir, const char *name, char tag, long n)
{
	return kernel_blocks(dir, name, tag, n, true);
}

static int run_kernel(struct ctx *c, struct result *res)
{
	const struct dmatest_opts *o = c->o;
	struct k_side k = { .c = c, .nblk = c->nblk, .tfd = -1 };
	struct op op = { .c = c, .fn = k_truncate, .arg = &k };
	char path[4096];
	bool have_starver = false;
	pthread_t starver;
	int ret;

	pthread_mutex_init(&k.lock, NULL);
	if ((ret = io_uring_queue_init(256, &k.ring, 0)))
		return ret;
	snprintf(path, sizeof(path), "%s/udax-dmatest", o->kernel_dir);
	mkdir(path, 0755);
	fill_kernel(path, "t", 'T', (long)c->nblk);
	phase(c, "kernel", "filling");
	fill_kernel(path, "filler", 'F', c->fill);
	phase(c, "kernel", "submitting");
	snprintf(path, sizeof(path), "%s/udax-dmatest/t", o->kernel_dir);
	k.tfd = open(path, O_RDWR);
	k.map = k.tfd < 0 ? MAP_FAILED : mmap(NULL, c->nblk * BS, PROT_READ | PROT_WRITE,
					     MAP_SHARED, k.tfd, 0);
	if (k.map == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	if ((ret = -pthread_create(&k.reaper, NULL, k_reaper, &k)))
		goto out;
	/* From here reads may be in flight: an error is kept in ret and
	 * returned once they are drained. */
	for (uint64_t b = 0; b < c->nblk; b += CHUNK)
		if ((ret = k_submit(&k, b, (int64_t)(b * BS))))
			break;
	if (c->sc->v == V_UNMAP) {
		munmap(k.map, c->nblk * BS);	/* the pins are the kernel's now */
		k.map = NULL;
	}
	if (c->slow)
		udax_io_slow_resume(c->slow);
	if (c->sc->v == V_STARVE && !ret &&
	    !(ret = -pthread_create(&starver, NULL, k_starver, &k))) {
		have_starver = true;
		wait_stream(c);
	}
	phase(c, "kernel", "operation");
	if (strcmp(c->sc->name, "baseline"))
		run_op(c, &op, res);
	if (c->sc->v == V_STARVE && have_starver) {
		atomic_store(&c->stop, 1);
		pthread_join(starver, NULL);
		res->resubmitted = c->resubmitted;
		atomic_store(&c->stop, 0);
	}
	phase(c, "kernel", "victim");
	snprintf(path, sizeof(path), "%s/udax-dmatest", o->kernel_dir);
	res->victim_blocks = fill_kernel(path, "victim", 'V', c->fill);
	res->victim_end_ns = now_ns();
	phase(c, "kernel", "draining");
	atomic_store(&c->stop, 1);
	{
		uint64_t t0 = now_ns();

		while (c->completed < c->submitted && now_ns() - t0 < DRAIN_LIMIT_NS)
			usleep(1000);
	}
	res->reads_unfinished = c->submitted - c->completed;
	if (res->reads_unfinished) {
		/* Reads the kernel never completes: report them, and close the
		 * ring with them outstanding rather than hang. */
		phase(c, "kernel", "reads never completed; giving up on them");
		atomic_store(&k.quit, true);
	}
	pthread_join(k.reaper, NULL);
	res->victim_bad = check_kernel(path, "victim", 'V', res->victim_blocks);
	if (!strcmp(c->sc->name, "baseline"))
		res->victim_bad = 0;
	/* ret: 0, or the submission's or the starver's error, now drained */
out:
	if (k.map && k.map != MAP_FAILED)
		munmap(k.map, c->nblk * BS);
	if (k.tfd >= 0)
		close(k.tfd);
	io_uring_queue_exit(&k.ring);
	snprintf(path, sizeof(path), "%s/udax-dmatest", o->kernel_dir);
	{
		static const char *names[] = { "t", "filler", "victim" };

		for (int i = 0; i < 3; i++) {
			char p2[sizeof(path) + 16];

			snprintf(p2, sizeof(p2), "%s/%s", path, names[i]);
			unlink(p2);
		}
	}
	rmdir(path);
	return ret;
}

/* ---- driver ------------------------------------------------------------------- */

static void report(struct bench_report *r, const char *side, const struct scenario *sc,
		   const struct result *res)
{
	char key[160];

#define REP(field, value, unit) do {					\
	snprintf(key, sizeof(key), "%s.%s.%s", sc->name, side, field);	\
	bench_report(r, key, (double)(value), unit);			\
} while (0)
	REP("op_latency", res->op_us, "us");
	REP("inflight_at_op", res->inflight_at_op, "reads");
	REP("last_dma_to_return", res->last_dma_to_return_us, "us");
	REP("reads_ok", res->reads_ok, "reads");
	REP("reads_failed", res->reads_failed, "reads");
	REP("victim_blocks", res->victim_blocks, "blocks");
	REP("victim_blocks_with_dma_data", res->victim_bad, "blocks");
	REP("dma_after_victim_written", res->dma_after_victim_us, "us");
	REP("stuck", res->stuck, "bool");
	REP("reads_unfinished", res->reads_unfinished, "reads");
	REP("op_result", res->op_ret, "errno");
	if (sc->v == V_STARVE)
		REP("resubmitted_reads", res->resubmitted, "reads");
	snprintf(key, sizeof(key), "%s.%s.source", sc->name, side);
	bench_report_str(r, key, !sc->slow ? "odirect" : "slow");
#undef REP
}

bool dmatest_scenario_known(const char *name)
{
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (!strcmp(scenarios[i].name, name))
			return true;
	return false;
}

const char *dmatest_scenario_names(void)
{
	static char buf[512];

	if (!buf[0])
		for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s",
				 i ? " " : "", scenarios[i].name);
	return buf;
}

uint64_t dmatest_max_blocks(const struct dmatest_opts *o)
{
	return o->blocks * 8;	/* the slow scenarios' */
}

/* The filler's (and the victim's) bound in a scenario whose file has
 * @nblk blocks: the smaller of the two caps that are set. */
static long fill_blocks_for(const struct dmatest_opts *o, uint64_t nblk)
{
	long times = o->fill_times ? (long)(nblk * o->fill_times) : 0;

	if (!times || (o->fill_cap && o->fill_cap < times))
		return o->fill_cap;
	return times;
}

int dmatest_run(const struct dmatest_opts *o, struct bench_report *r)
{
	int failures = 0;

	bench_report_str(r, "udax.device", o->device);
	bench_report_str(r, "kernel.dir", o->kernel_dir ? o->kernel_dir : "(none)");
	bench_report_str(r, "source.fast", o->source);
	if (o->slow_source)
		bench_report_str(r, "source.slow", o->slow_source);
	else
		bench_report(r, "source.slow_pipe_rate", (double)o->slow_rate, "B/s");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		const struct scenario *sc = &scenarios[i];

		if ((o->only && strcmp(o->only, sc->name)) ||
		    (o->exclude && !strcmp(o->exclude, sc->name)))
			continue;
		for (int t = T_UDAX; t <= T_KERNEL; t++) {
			/* Slow scenarios use a file 8 times bigger, so that reads
			 * stay in flight for hundreds of milliseconds. */
			uint64_t nblk = sc->slow ? o->blocks * 8 : o->blocks;
			struct ctx c = { .o = o, .sc = sc, .srcfd = -1, .nblk = nblk,
					 .fill = fill_blocks_for(o, nblk) };
			struct udax_io_slow_opts so = { .rate = o->slow_rate,
				.total = nblk * BS * 4, .seed = 7, .paused = true };
			struct result res = { 0 };
			uint64_t last;
			int ret;

			if (t == T_KERNEL && (!o->kernel_dir || sc->udax_only))
				continue;
			c.srcfd = open(o->source, O_RDONLY | O_DIRECT);
			if (c.srcfd < 0) {
				fprintf(stderr, "dmatest: %s: %s (need a file or block device "
					"that takes O_DIRECT)\n", o->source, strerror(errno));
				return -errno;
			}
			if (sc->slow && (ret = udax_io_slow_new(&so, &c.slow))) {
				close(c.srcfd);
				return ret;
			}
			c.slowfd = -1;
			if (sc->slow && o->slow_source) {
				c.slowfd = open(o->slow_source, O_RDONLY | O_DIRECT);
				if (c.slowfd < 0) {
					fprintf(stderr, "dmatest: %s: %s\n", o->slow_source,
						strerror(errno));
					close(c.srcfd);
					return -errno;
				}
			}
			ret = t == T_UDAX ? run_udax(&c, &res) : run_kernel(&c, &res);
			if (ret == -EOPNOTSUPP && sc->v == V_LEASE && strncmp(o->device, "mem:", 4)) {
				/* The kernel refuses io_uring fixed buffers over pages
				 * that are themselves a kernel fsdax file (as it
				 * refuses long-term pins of fsdax): run the lease on
				 * memory, which it accepts, and say so. */
				struct dmatest_opts mo = *o;
				char key[160];

				snprintf(key, sizeof(key), "%s.udax.device", sc->name);
				bench_report_str(r, key, "mem:64M (the kernel refused fixed "
						 "buffers over the fsdax-backed device: EOPNOTSUPP)");
				mo.device = "mem:64M";
				c.o = &mo;
				c.submitted = c.completed = c.ok = c.failed = 0;
				c.last_done_ns = 0;
				memset(&res, 0, sizeof(res));
				ret = run_udax(&c, &res);
				c.o = o;
			}
			/* Positive: the operation returned after the last read
			 * landed; negative: before (reads still in flight). */
			last = atomic_load(&c.last_done_ns);
			if (res.op_end_ns && last)
				res.last_dma_to_return_us =
					((double)res.op_end_ns - (double)last) / 1e3;
			if (res.victim_end_ns && last)
				res.dma_after_victim_us =
					((double)last - (double)res.victim_end_ns) / 1e3;
			res.reads_ok = c.ok;
			res.reads_failed = c.failed;
			if (c.slowfd >= 0)
				close(c.slowfd);
			if (ret) {
				char key[160];

				/* Reported, not hidden: e.g. io_uring refuses fixed
				 * buffers over memory that is a kernel fsdax file. */
				fprintf(stderr, "dmatest %s (%s): %s\n", sc->name,
					t == T_UDAX ? "udax" : "kernel", udax_strerror(ret));
				snprintf(key, sizeof(key), "%s.%s.error", sc->name,
					 t == T_UDAX ? "udax" : "kernel");
				bench_report(r, key, ret, "errno");
				failures++;
			} else {
				report(r, t == T_UDAX ? "udax" : "kernel", sc, &res);
			}
			if (c.slow)
				udax_io_slow_delete(&c.slow);
			close(c.srcfd);
		}
	}
	return failures ? -EIO : 0;
}
