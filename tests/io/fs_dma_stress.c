/* SPDX-License-Identifier: MIT */
/*
 * Stress with real DMA in flight: WORKERS threads on one file system, each
 * owning NFILES files with an in-memory model (bytes, size and the state of
 * every block: hole, unwritten, written), run a seeded random mix of
 * pwrite, append, truncate up/down, punch, zero range, collapse, insert,
 * fsync, rename, unlink + recreate and checked preads -- while io_uring
 * transfers (one shared engine, include/udax/io.h) DMA into their files
 * from O_DIRECT files and from slow pipes (long in flight) and out of
 * them into O_DIRECT sinks.  Every layout break runs in a random mode
 * (WAIT, TIMEOUT, NOWAIT, DEFER) over ranges that transfers still hold.
 *
 * Cross-thread breaks: BREAKERS more threads pick a file of any worker and
 * break it (truncate down/up, punch, zero, collapse, insert, random mode),
 * half the time through a handle of their own, while the owner's
 * transfers on it are in flight: the pins were taken by another thread
 * and another handle, the completions run on the engine thread, and the
 * break must order them exactly as it orders the owner's own.  The
 * breakers also keep read-only views of ranges in flight (up to NVIEW per
 * file) across everyone's breaks: a page of a view that a break (even a
 * refused one: the break invalidates before it waits) covered since the
 * map must fault, every other page must read as the model says.
 *
 * Exactness: each file has a mutex that whoever changes the file, its
 * model, its transfer slots or its views holds (the owner for each of its
 * operations and when it reaps, a breaker for its break or view check),
 * so the model is always the file's contents; the transfers themselves
 * run, complete and drop their pins without it.
 *
 * The model's rules, from include/udax/fs.h and io.h:
 *  - A transfer's bytes are in the model from submission; its blocks are
 *    left out of comparisons and never written by the CPU until it is
 *    reaped (a device and a CPU writing the same bytes is the program's
 *    race, not udax's).
 *  - A break that succeeds in WAIT, TIMEOUT or NOWAIT mode has waited for
 *    every transfer on the blocks it changes (freed, zeroed, moved): each
 *    one's completion callback ran before the break returned (checked),
 *    so the break applies on top of the DMA'd bytes.
 *  - A break refused with -EBUSY / -ETIMEDOUT had a transfer on its range
 *    (checked) and changed nothing: the whole file still equals the model.
 *  - DEFER waits for nothing.  Transfers on blocks the break frees stay
 *    in flight, their blocks freed when the DMA completes and never
 *    handed out before.  A pinned block the operation keeps but rewrites
 *    (the partial blocks it zeroes, blocks zero range marks unwritten) is
 *    replaced by a copy: its transfer's later bytes go to the old block,
 *    so the bytes that stay are each the one before the transfer or the
 *    one it brought (checked, then taken into the model), and the zeroes
 *    stay zeroes.  Blocks collapse/insert move keep their transfers, at
 *    the blocks' new places.  A transfer none of whose pages is in the
 *    file any more is an orphan.  Unlink + close of a file with transfers
 *    in flight orphans them too (the mount's break mode is DEFER); views
 *    of it then hold the unlinked inode, which the breaker's unmap frees.
 *  - Transfers out (file -> sink) must deliver the model's bytes at
 *    submission, orphans included (a freed block is not reused while
 *    pinned).
 * Victims: every byte of a DMA is distinct per transfer (source offset,
 * thread) and every file is checked against its model periodically and at
 * the end, so DMA landing in a block that was freed and reused shows as a
 * model mismatch in whichever file got the block.
 *
 * At the end: everything reaped, views unmapped, statfs blocks_busy == 0,
 * the engine counted every request complete, every file equals its model,
 * unmount succeeds in the mount's DEFER mode (which at unmount refuses
 * while any page is pinned), udax_fsck finds no problem, a remount gives
 * the same files (remount_check), and deleting everything gives back
 * every block and inode (and fsck is clean again).
 *
 * Environment: UDAX_STRESS_SEED=n replays each thread's operation sequence
 * (the seed is printed; timing of DMA completions and of the threads'
 * turns on a file still differs); UDAX_STRESS_SECONDS=s runs for s seconds
 * instead of the default number of operations (UDAX_TEST_SCALE scales
 * that, in percent).  Skipped (exit 77) without io_uring or O_DIRECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/fsck.h>
#include <udax/io.h>

#include "fs_util.h"
#include "io_util.h"

#define BS		UDAX_FS_BLOCK_SIZE
#define WORKERS		4
#define BREAKERS	2
#define NFILES		3
#define MAX_BLK		48		/* file size limit, blocks */
#define FPEND		3		/* transfers in flight per file */
#define XFER_BLK	4		/* blocks per transfer at most */
#define NVIEW		2		/* views in flight per file */
#define VIEW_BLK	6		/* blocks per view at most */
#define SRC_BLK		256		/* O_DIRECT source file, blocks */
#define SLOW_RATE	(512u << 10)	/* bytes per second of the slow pipes */
#define OPS		30000		/* per worker, default */
#define END		(MAX_BLK + 1)	/* "to the end of file", in blocks */
#define NLOG		24		/* operations remembered per file */

enum { B_HOLE, B_UNWRITTEN, B_DATA };

struct xfer {
	bool used, in, slow, orphan;
	uint64_t lblk, nblk;		/* where it started */
	int64_t at[XFER_BLK];		/* file block of page k now; -1: gone */
	uint8_t *pre;			/* in: the model's bytes before it */
	struct udax_io_req *req;
	_Atomic int cb;			/* the completion callback ran */
	_Atomic long res;
	uint8_t *snap;			/* out: the model's bytes at submit */
};

/* A view in flight, mapped by a breaker, checked by breakers. */
struct mview {
	struct udax_view *v;		/* NULL: slot free */
	const volatile uint8_t *addr;
	uint64_t lblk, nblk;
	uint64_t broken;		/* bit k: a break covered page k since the map */
	bool stale;			/* of an unlinked incarnation of the file: */
	uint8_t *snap;			/* its bytes at the unlink, */
	uint64_t unknown;		/* bit k: page k had a transfer in flight */
};

struct worker;

struct mfile {
	pthread_mutex_t lock;		/* everything below, and the file itself */
	atomic_int waiting;		/* breakers waiting for the lock */
	struct worker *owner;
	int fi;
	char path[40];
	unsigned gen;			/* name generation (rename) */
	struct udax_file *f;
	uint64_t size;
	uint8_t bst[MAX_BLK];		/* B_* per block */
	uint8_t data[MAX_BLK * BS];	/* zero past size */
	struct xfer x[FPEND];
	struct mview v[NVIEW];
	char log[NLOG][112];		/* the last operations, for a failure */
	unsigned nlog;
};

/* What a thread keeps to itself: its random stream, scratch and counts. */
struct actor {
	int id;				/* worker 0.., breakers from WORKERS */
	uint64_t rng, ops;
	uint8_t *abuf;			/* O_DIRECT-aligned scratch */
	uint8_t rbuf[MAX_BLK * BS];
	long n_in, n_out, n_slow, n_refused, n_defer_orphans, n_held, n_copied;
	long n_breaks, n_views, n_view_pages, n_view_faults, n_view_stale;
};

struct worker {
	struct actor a;
	char dir[16];
	struct mfile file[NFILES];
	int src_fd, sink_fd;
	struct udax_io_slow *slow;
	uint32_t slow_seed;
	uint64_t slow_pos;		/* stream bytes claimed so far */
	atomic_bool slow_busy;		/* one slow read per pipe: a known stream */
};

static struct udax_dev *dev;
static struct udax_fs *fs;
static struct udax_io *io;
static struct worker *workers[WORKERS];
static struct actor *breakers[BREAKERS];
static atomic_int workers_running;
static char tmpdir[] = "/var/tmp/udax-dmastress-XXXXXX";
static uint64_t base_seed, deadline_ns;
static long ops_per_worker;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct actor *a, uint64_t n)
{
	a->rng = mix64(a->rng);
	return n ? a->rng % n : 0;
}

static uint64_t blocks_of(uint64_t bytes)
{
	return (bytes + BS - 1) / BS;
}

/* Byte @i of worker @t's O_DIRECT source: distinct per worker and offset. */
static uint8_t src_byte(int t, uint64_t i)
{
	return (uint8_t)(mix64(((uint64_t)t + 1) << 40 | i >> 3) >> (8 * (i & 7)));
}

static const char *actor_name(const struct actor *a, char *buf, size_t n)
{
	if (a->id < WORKERS)
		snprintf(buf, n, "worker %d", a->id);
	else
		snprintf(buf, n, "breaker %d", a->id - WORKERS);
	return buf;
}

/* Remember an operation on @m (under its lock). */
static void note(struct actor *a, struct mfile *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void note(struct actor *a, struct mfile *m, const char *fmt, ...)
{
	char *line = m->log[m->nlog++ % NLOG];
	int n = snprintf(line, sizeof(m->log[0]), "%c%d: ", a->id < WORKERS ? 'w' : 'b',
			 a->id < WORKERS ? a->id : a->id - WORKERS);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(m->log[0]) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Report and end the run; @m (locked by the caller) shows its history. */
static void fail(struct actor *a, struct mfile *m, const char *what)
{
	char name[24];

	pthread_mutex_lock(&fail_lock);
	fprintf(stderr, "fs_dma_stress: %s (seed %llu): %s\n", actor_name(a, name, sizeof(name)),
		(unsigned long long)base_seed, what);
	fprintf(stderr, "  last operations on the file (w: its owner, b: a breaker), "
		"oldest first:\n");
	for (unsigned k = m->nlog > NLOG ? m->nlog - NLOG : 0; k < m->nlog; k++)
		fprintf(stderr, "    %s\n", m->log[k % NLOG]);
	exit(1);
}

/* ---- transfers (under the file's lock, except their completion) ----------- */

static void xfer_done(struct udax_io_req *req, ssize_t res, void *arg)
{
	struct xfer *x = arg;

	(void)req;
	atomic_store(&x->res, (long)res);
	atomic_store(&x->cb, 1);
}

/* Does a page of live transfer @x sit in blocks [b0, b1) of its file? */
static bool x_in(const struct xfer *x, uint64_t b0, uint64_t b1)
{
	if (!x->used || x->orphan)
		return false;
	for (uint64_t k = 0; k < x->nblk; k++)
		if (x->at[k] >= 0 && (uint64_t)x->at[k] >= b0 && (uint64_t)x->at[k] < b1)
			return true;
	return false;
}

/* A live (not orphaned) transfer on @m overlapping blocks [b0, b1). */
static bool pending(const struct mfile *m, uint64_t b0, uint64_t b1)
{
	for (int k = 0; k < FPEND; k++)
		if (x_in(&m->x[k], b0, b1))
			return true;
	return false;
}

/* Where transfer slot @x of @m writes in its owner's sink. */
static off_t sink_off(const struct mfile *m, const struct xfer *x)
{
	return (off_t)(((size_t)m->fi * FPEND + (size_t)(x - m->x)) * XFER_BLK * BS);
}

/* Wait for @x, check what it did, free its slot.  Any thread may reap. */
static void reap(struct actor *a, struct mfile *m, struct xfer *x)
{
	size_t len = x->nblk * BS;
	ssize_t res = udax_io_wait(x->req);
	char msg[160];

	if (res != (ssize_t)len || atomic_load(&x->res) != (long)len ||
	    !atomic_load(&x->cb)) {
		snprintf(msg, sizeof(msg), "transfer %s of %zu bytes completed with %zd",
			 x->in ? "in" : "out", len, res);
		fail(a, m, msg);
	}
	if (!x->in) {
		T_ASSERT(pread(m->owner->sink_fd, a->abuf, len, sink_off(m, x)) ==
			 (ssize_t)len);
		for (size_t i = 0; i < len; i++) {
			if (a->abuf[i] != x->snap[i]) {
				snprintf(msg, sizeof(msg), "DMA out of %s blocks [%llu, +%llu): "
					 "byte %zu is %#x, the file had %#x",
					 x->orphan ? "freed" : "file",
					 (unsigned long long)x->lblk,
					 (unsigned long long)x->nblk, i, a->abuf[i],
					 x->snap[i]);
				fail(a, m, msg);
			}
		}
		free(x->snap);
		x->snap = NULL;
	}
	if (x->slow)
		atomic_store(&m->owner->slow_busy, false);
	free(x->pre);
	x->pre = NULL;
	udax_io_req_free(&x->req);
	x->used = false;
}

/* Reap @m's transfers that are done (without waiting). */
static void reap_done(struct actor *a, struct mfile *m)
{
	for (int k = 0; k < FPEND; k++)
		if (m->x[k].used && udax_io_req_done(m->x[k].req, NULL))
			reap(a, m, &m->x[k]);
}

static struct xfer *free_slot(struct actor *a, struct mfile *m)
{
	for (int k = 0; k < FPEND; k++)
		if (!m->x[k].used)
			return &m->x[k];
	/* All busy: wait for one. */
	reap(a, m, &m->x[rnd(a, FPEND)]);
	return free_slot(a, m);
}

/* Blocks [b, b + n) inside the file, all written, no live transfer. */
static bool dma_ok(const struct mfile *m, uint64_t b, uint64_t n)
{
	if ((b + n) * BS > m->size || pending(m, b, b + n))
		return false;
	for (uint64_t k = b; k < b + n; k++)
		if (m->bst[k] != B_DATA)
			return false;
	return true;
}

static void op_dma(struct worker *w, struct mfile *m, int kind)
{
	struct actor *a = &w->a;
	uint64_t b = 0, n = 0;
	struct xfer *x;
	int tries, ret;

	if (kind == 1 && atomic_load(&w->slow_busy))
		return;
	/* A random written block, then as many of those after it as the
	 * transfer's random length allows. */
	for (tries = 0; tries < 8; tries++) {
		b = rnd(a, m->size / BS);
		if (dma_ok(m, b, 1))
			break;
	}
	if (tries == 8)
		return;
	for (n = 1, tries = (int)rnd(a, XFER_BLK); tries > 0 && dma_ok(m, b, n + 1); tries--)
		n++;
	x = free_slot(a, m);
	memset(x, 0, sizeof(*x));
	x->used = true;
	x->lblk = b;
	x->nblk = n;
	for (uint64_t k = 0; k < n; k++)
		x->at[k] = (int64_t)(b + k);
	x->in = kind != 2;
	x->slow = kind == 1;
	if (x->in) {
		T_ASSERT((x->pre = malloc(n * BS)));
		memcpy(x->pre, m->data + b * BS, n * BS);
	}
	if (kind == 0) {		/* O_DIRECT source -> file */
		uint64_t so = rnd(a, SRC_BLK - n + 1) * BS;

		note(a, m, "dma in  %s [%llu,+%llu) from src %llu", m->path,
		     (unsigned long long)b, (unsigned long long)n, (unsigned long long)so);
		ret = udax_io_read_file(io, w->src_fd, (int64_t)so, m->f, b * BS, n * BS,
					xfer_done, x, &x->req);
		for (uint64_t i = 0; i < n * BS; i++)
			m->data[b * BS + i] = src_byte(w->a.id, so + i);
		a->n_in++;
	} else if (kind == 1) {		/* slow pipe -> file: long in flight */
		note(a, m, "slow in %s [%llu,+%llu) from stream %llu", m->path,
		     (unsigned long long)b, (unsigned long long)n,
		     (unsigned long long)w->slow_pos);
		atomic_store(&w->slow_busy, true);
		ret = udax_io_read_file(io, udax_io_slow_fd(w->slow), UDAX_IO_CUR_POS,
					m->f, b * BS, n * BS, xfer_done, x, &x->req);
		for (uint64_t i = 0; i < n * BS; i++)
			m->data[b * BS + i] = udax_io_slow_byte(w->slow_seed, w->slow_pos + i);
		w->slow_pos += n * BS;
		a->n_slow++;
	} else {			/* file -> O_DIRECT sink */
		note(a, m, "dma out %s [%llu,+%llu)", m->path, (unsigned long long)b,
		     (unsigned long long)n);
		T_ASSERT((x->snap = malloc(n * BS)));
		memcpy(x->snap, m->data + b * BS, n * BS);
		ret = udax_io_write_file(io, w->sink_fd, (int64_t)sink_off(m, x), m->f, b * BS,
					 n * BS, xfer_done, x, &x->req);
		a->n_out++;
	}
	if (ret) {
		fprintf(stderr, "%s\n", udax_io_last_error());
		T_EXPECT_ERR(ret, 0);
	}
}

/* ---- the model ------------------------------------------------------------- */

static void model_write(struct mfile *m, const uint8_t *buf, uint64_t off, uint64_t len)
{
	memcpy(m->data + off, buf, len);
	for (uint64_t b = off / BS; b < blocks_of(off + len); b++)
		m->bst[b] = B_DATA;
	if (off + len > m->size)
		m->size = off + len;
}

static void model_truncate(struct mfile *m, uint64_t size)
{
	if (size < m->size) {
		memset(m->data + size, 0, m->size - size);
		for (uint64_t b = blocks_of(size); b < MAX_BLK; b++)
			m->bst[b] = B_HOLE;
	}
	m->size = size;
}

/* Whose DMA source page has the 8 bytes at @got (file offset @off)?  The
 * sources are read page-aligned, so the offset in the page is the same. */
static void whose(const uint8_t *got, uint64_t off, char *out, size_t n)
{
	uint64_t in_pg = off % BS & ~7ull;

	snprintf(out, n, "not from an O_DIRECT source");
	for (int t = 0; t < WORKERS; t++) {
		for (uint64_t p = 0; p < SRC_BLK; p++) {
			int k = 0;

			while (k < 8 && got[k] == src_byte(t, p * BS + in_pg + (uint64_t)k))
				k++;
			if (k == 8) {
				snprintf(out, n, "DMA bytes of worker %d's source page %llu",
					 t, (unsigned long long)p);
				return;
			}
		}
	}
}

/* The first @n bytes of block @b, @got (@what: "pread", "view"), against
 * @want (the model's, or a snapshot of an unlinked incarnation's). */
static void check_block(struct actor *a, struct mfile *m, uint64_t b, const uint8_t *got,
			const uint8_t *want, uint64_t n, const char *what)
{
	char msg[240], src[64];

	if (!memcmp(got, want, n))
		return;
	for (uint64_t i = 0; i < n; i++) {
		if (got[i] == want[i])
			continue;
		whose(got + (i & ~7ull), b * BS + i, src, sizeof(src));
		snprintf(msg, sizeof(msg), "%s: %s byte %llu (block %llu, %s) is %#x, model "
			 "%#x (%s)", m->path, what, (unsigned long long)(b * BS + i),
			 (unsigned long long)b,
			 m->bst[b] == B_DATA ? "written" :
			 m->bst[b] == B_UNWRITTEN ? "unwritten" : "hole",
			 got[i], want[i], src);
		fail(a, m, msg);
	}
}

/* Compare the file with its model, leaving out blocks under live transfers. */
static void check_file(struct actor *a, struct mfile *m)
{
	struct udax_stat st;
	uint64_t nblocks = 0;
	char msg[240];
	ssize_t r;

	FS_OK(udax_fstat(m->f, &st));
	for (int b = 0; b < MAX_BLK; b++)
		nblocks += m->bst[b] != B_HOLE;
	if (st.size != m->size || st.blocks != nblocks) {
		snprintf(msg, sizeof(msg), "%s: size %llu blocks %llu, model %llu and %llu",
			 m->path, (unsigned long long)st.size, (unsigned long long)st.blocks,
			 (unsigned long long)m->size, (unsigned long long)nblocks);
		fail(a, m, msg);
	}
	r = udax_pread(m->f, a->rbuf, sizeof(a->rbuf), 0);
	if (r != (ssize_t)m->size) {
		snprintf(msg, sizeof(msg), "%s: pread gave %zd, size %llu", m->path, r,
			 (unsigned long long)m->size);
		fail(a, m, msg);
	}
	for (uint64_t b = 0; b < blocks_of(m->size); b++) {
		uint64_t end = (b + 1) * BS < m->size ? (b + 1) * BS : m->size;

		if (!pending(m, b, b + 1))
			check_block(a, m, b, a->rbuf + b * BS, m->data + b * BS, end - b * BS,
				    "pread");
	}
}

/* ---- views in flight ------------------------------------------------------- */

/* A load from an invalidated view page lands here and jumps back. */
static _Thread_local sigjmp_buf view_jb;
static _Thread_local volatile sig_atomic_t view_armed;

static void on_segv(int sig)
{
	if (view_armed) {
		view_armed = 0;
		siglongjmp(view_jb, 1);
	}
	/* Not a view load: die of it as if nobody had caught it. */
	signal(sig, SIG_DFL);
}

/* Copy the page at @p into @out: false if the load faulted. */
static bool view_load(const volatile uint8_t *p, uint8_t *out)
{
	if (sigsetjmp(view_jb, 1))
		return false;
	view_armed = 1;
	for (size_t i = 0; i < BS; i += 8) {
		uint64_t v = *(const volatile uint64_t *)(const volatile void *)(p + i);

		memcpy(out + i, &v, 8);
	}
	view_armed = 0;
	return true;
}

/* A break (attempted: it invalidates before it waits or gives up) of
 * blocks [t0, t1): those pages of @m's views must fault from now on. */
static void views_broken(struct mfile *m, uint64_t t0, uint64_t t1)
{
	for (int i = 0; i < NVIEW; i++) {
		struct mview *v = &m->v[i];

		for (uint64_t k = 0; v->v && !v->stale && k < v->nblk; k++)
			if (v->lblk + k >= t0 && v->lblk + k < t1)
				v->broken |= 1ull << k;
	}
}

/* Every page of @v faults if a break covered it, else reads the model (a
 * stale view: the unlinked inode's bytes, which nobody changes any more but
 * its orphaned transfers, and whose blocks nobody else may get). */
static void view_check(struct actor *a, struct mfile *m, struct mview *v)
{
	uint8_t page[BS];
	char msg[200];

	for (uint64_t k = 0; k < v->nblk; k++) {
		uint64_t b = v->lblk + k;
		bool broken = v->broken >> k & 1;
		bool loaded = view_load(v->addr + k * BS, page);

		if (loaded == broken) {
			snprintf(msg, sizeof(msg), "%s: view of blocks [%llu, +%llu): page of "
				 "block %llu %s", m->path, (unsigned long long)v->lblk,
				 (unsigned long long)v->nblk, (unsigned long long)b,
				 broken ? "still reads after a break covered it" :
					  "faults though no break covered it");
			fail(a, m, msg);
		}
		a->n_view_pages++;
		if (!loaded) {
			a->n_view_faults++;
			continue;
		}
		if (v->stale && !(v->unknown >> k & 1))
			check_block(a, m, b, page, v->snap + k * BS, BS, "unlinked view");
		else if (!v->stale && !pending(m, b, b + 1))
			check_block(a, m, b, page, m->data + b * BS, BS, "view");
	}
}

static void view_unmap(struct mview *v)
{
	FS_OK(udax_view_unmap(&v->v));
	free(v->snap);
	memset(v, 0, sizeof(*v));
}

/* @m's file is being unlinked: its views keep the old inode and what it
 * holds now. */
static void views_stale(struct mfile *m)
{
	for (int i = 0; i < NVIEW; i++) {
		struct mview *v = &m->v[i];

		if (!v->v || v->stale)
			continue;
		v->stale = true;
		T_ASSERT((v->snap = malloc(v->nblk * BS)));
		memcpy(v->snap, m->data + v->lblk * BS, v->nblk * BS);
		for (uint64_t k = 0; k < v->nblk; k++)
			if (pending(m, v->lblk + k, v->lblk + k + 1))
				v->unknown |= 1ull << k;
	}
}

/* Map a view of written blocks of @m into a free slot, or check one in
 * flight (and perhaps unmap it).  Views of an unlinked incarnation are
 * only unmapped: that frees the inode, transfers in flight or not. */
static void op_view(struct actor *a, struct mfile *m)
{
	struct mview *v = &m->v[rnd(a, NVIEW)];
	uint64_t b = 0, n, tries;
	void *addr;

	if (v->v && v->stale) {
		note(a, m, "check and unmap unlinked view [%llu,+%llu) broken %#llx",
		     (unsigned long long)v->lblk, (unsigned long long)v->nblk,
		     (unsigned long long)v->broken);
		view_check(a, m, v);
		view_unmap(v);
		a->n_view_stale++;
		return;
	}
	if (v->v) {
		note(a, m, "check view %s [%llu,+%llu) broken %#llx", m->path,
		     (unsigned long long)v->lblk, (unsigned long long)v->nblk,
		     (unsigned long long)v->broken);
		view_check(a, m, v);
		if (rnd(a, 3) == 0)
			view_unmap(v);
		return;
	}
	for (tries = 0; tries < 8; tries++) {
		b = rnd(a, blocks_of(m->size) + 1);
		if (b < blocks_of(m->size) && m->bst[b] == B_DATA)
			break;
	}
	if (tries == 8)
		return;
	for (n = 1 + rnd(a, VIEW_BLK), tries = 1; tries < n; tries++)
		if (b + tries >= blocks_of(m->size) || m->bst[b + tries] != B_DATA)
			break;
	n = tries;
	note(a, m, "map view %s [%llu,+%llu)", m->path, (unsigned long long)b,
	     (unsigned long long)n);
	FS_OK(udax_view_map(m->f, b * BS, n * BS, 0, &v->v, &addr));
	v->addr = addr;
	v->lblk = b;
	v->nblk = n;
	v->broken = 0;
	v->stale = false;
	a->n_views++;
	view_check(a, m, v);
}

/* ---- layout breaks ----------------------------------------------------------- */

static const char *const mode_name[] = { "WAIT", "TIMEOUT", "NOWAIT", "DEFER" };

enum brk_op { BR_TRUNC, BR_PUNCH, BR_ZERO, BR_COLLAPSE, BR_INSERT };

/*
 * Page @k of in-transfer @x sat in block @b, which a DEFER break kept but
 * rewrote, zeroing bytes [z0, z1) of the file: the block was replaced by a
 * copy if the transfer still pinned it.  Each byte that stays is the one
 * before the transfer or the one it brought (the copy raced the DMA); it
 * goes into the model.  The zeroed bytes are the model's zeroes already.
 */
static void defer_adopt(struct actor *a, struct mfile *m, struct xfer *x, uint64_t k,
			uint64_t b, uint64_t z0, uint64_t z1)
{
	ssize_t r = udax_pread(m->f, a->rbuf, BS, b * BS);
	char msg[200];

	T_ASSERT(r >= 0);
	for (uint64_t i = 0; i < (uint64_t)r; i++) {
		uint64_t pos = b * BS + i;
		uint8_t got = a->rbuf[i];

		if (pos >= z0 && pos < z1)
			continue;
		if (got != x->pre[k * BS + i] && got != m->data[pos]) {
			snprintf(msg, sizeof(msg), "%s: byte %llu of a block the break kept "
				 "is %#x: neither %#x from before the DMA nor its %#x",
				 m->path, (unsigned long long)pos, got, x->pre[k * BS + i],
				 m->data[pos]);
			fail(a, m, msg);
		}
		m->data[pos] = got;
	}
	/* Still in flight after the break: the block was pinned, so copied. */
	if (!atomic_load(&x->cb))
		a->n_copied++;
}

/*
 * After a DEFER break that changed @m: where the pages of live transfer @x
 * are now.  @len is the byte length for punch and zero, the
 * blocks' shift (bytes) for collapse and insert.
 */
static void defer_follow(struct actor *a, struct mfile *m, enum brk_op op, uint64_t off,
			 uint64_t len, struct xfer *x)
{
	uint64_t z0 = off, z1 = op == BR_TRUNC ? UINT64_MAX : off + len;
	bool live = false;

	for (uint64_t k = 0; k < x->nblk; k++) {
		uint64_t b = (uint64_t)x->at[k];

		if (x->at[k] < 0)
			continue;
		if (op == BR_COLLAPSE) {
			if (b >= off / BS + len / BS)
				x->at[k] -= (int64_t)(len / BS);	/* moved */
			else if (b >= off / BS)
				x->at[k] = -1;				/* freed */
		} else if (op == BR_INSERT) {
			if (b >= off / BS)
				x->at[k] += (int64_t)(len / BS);	/* moved */
		} else if (b * BS < z1 && z0 < (b + 1) * BS) {
			/* Zeroed whole (freed, or replaced by an unwritten
			 * block) or in part (kept, maybe copied): the DMA's
			 * later bytes do not reach the file. */
			if ((z0 > b * BS || z1 < (b + 1) * BS) && x->in)
				defer_adopt(a, m, x, k, b, z0, z1);
			x->at[k] = -1;
		}
		live |= x->at[k] >= 0;
	}
	if (!live) {
		x->orphan = true;
		a->n_defer_orphans++;
	}
}

/*
 * One layout-breaking operation on @m through handle @h (the owner's or a
 * breaker's own) in a random mode.  [t0, t1) are the blocks it changes
 * (frees, zeroes, moves), [f0, f1) those it frees.
 */
static void do_break(struct actor *a, struct mfile *m, struct udax_file *h,
		     enum brk_op op, uint64_t off, uint64_t len, uint64_t t0, uint64_t t1,
		     uint64_t f0, uint64_t f1)
{
	struct udax_break_opts brk = { (enum udax_break_mode)rnd(a, 4),
				       (int64_t)rnd(a, 2000000) };
	static const char *const op_name[] = { "truncate", "punch", "zero", "collapse",
					       "insert" };
	char msg[160];
	int ret;

	note(a, m, "%s %s %llu +%llu %s%s", op_name[op], m->path, (unsigned long long)off,
	     (unsigned long long)len, mode_name[brk.mode], h == m->f ? "" : " (own handle)");
	a->n_breaks++;
	/* The break invalidates views of its range before it waits or gives
	 * up: refused or not, those pages fault from now on. */
	views_broken(m, t0, t1);
	switch (op) {
	case BR_TRUNC:
		ret = udax_ftruncate_ex(h, off, &brk);
		break;
	case BR_PUNCH:
		ret = udax_fallocate_ex(h, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
					off, len, &brk);
		break;
	case BR_ZERO:
		ret = udax_fallocate_ex(h, UDAX_FALLOC_ZERO_RANGE, off, len, &brk);
		break;
	case BR_COLLAPSE:
		ret = udax_fallocate_ex(h, UDAX_FALLOC_COLLAPSE_RANGE, off, len, &brk);
		break;
	default:
		ret = udax_fallocate_ex(h, UDAX_FALLOC_INSERT_RANGE, off, len, &brk);
		break;
	}
	if (ret == -EBUSY || ret == -ETIMEDOUT) {
		/* Refused: something pinned the range, and nothing changed. */
		if ((ret == -EBUSY) != (brk.mode == UDAX_BREAK_NOWAIT) ||
		    brk.mode == UDAX_BREAK_WAIT || brk.mode == UDAX_BREAK_DEFER ||
		    !pending(m, t0, t1)) {
			snprintf(msg, sizeof(msg), "%s refused (%s) in mode %s with %s "
				 "transfer on blocks [%llu, %llu)", op_name[op],
				 t_errname(ret), mode_name[brk.mode],
				 pending(m, t0, t1) ? "a" : "no",
				 (unsigned long long)t0, (unsigned long long)t1);
			fail(a, m, msg);
		}
		a->n_refused++;
		check_file(a, m);
		return;
	}
	if (ret) {
		snprintf(msg, sizeof(msg), "%s failed: %s: %s", op_name[op], t_errname(ret),
			 udax_fs_last_error());
		fail(a, m, msg);
	}
	for (int k = 0; brk.mode == UDAX_BREAK_DEFER && k < FPEND; k++)
		if (x_in(&m->x[k], t0, t1))
			defer_follow(a, m, op, off, len, &m->x[k]);
	for (int k = 0; brk.mode != UDAX_BREAK_DEFER && k < FPEND; k++) {
		struct xfer *x = &m->x[k];

		if (!x_in(x, t0, t1))
			continue;
		/* The break waited for the pins: the callback ran first. */
		a->n_held++;
		if (!atomic_load(&x->cb)) {
			snprintf(msg, sizeof(msg), "%s in mode %s returned while DMA %s "
				 "blocks [%llu, +%llu) was in flight", op_name[op],
				 mode_name[brk.mode], x->in ? "into" : "out of",
				 (unsigned long long)x->lblk, (unsigned long long)x->nblk);
			fail(a, m, msg);
		}
		reap(a, m, x);
	}

	/* The model, on top of every DMA'd byte. */
	switch (op) {
	case BR_TRUNC:
		model_truncate(m, off);
		break;
	case BR_PUNCH:
		if (off < m->size)
			memset(m->data + off, 0, (off + len < m->size ? off + len : m->size) - off);
		for (uint64_t b = f0; b < f1 && b < MAX_BLK; b++)
			m->bst[b] = B_HOLE;
		break;
	case BR_ZERO:
		/* Whole blocks become unwritten, holes in the range too. */
		memset(m->data + off, 0, len);
		for (uint64_t b = t0; b < t1; b++)
			if ((b >= blocks_of(off) && b < (off + len) / BS) ||
			    m->bst[b] == B_HOLE)
				m->bst[b] = B_UNWRITTEN;
		if (off + len > m->size)
			m->size = off + len;
		break;
	case BR_COLLAPSE:
		memmove(m->data + off, m->data + off + len, m->size - off - len);
		memset(m->data + m->size - len, 0, len);
		memmove(m->bst + f0, m->bst + f1, MAX_BLK - f1);
		memset(m->bst + MAX_BLK - (f1 - f0), B_HOLE, f1 - f0);
		m->size -= len;
		break;
	default:
		memmove(m->data + off + len, m->data + off, m->size - off);
		memset(m->data + off, 0, len);
		memmove(m->bst + t0 + len / BS, m->bst + t0, MAX_BLK - t0 - len / BS);
		memset(m->bst + t0, B_HOLE, len / BS);
		m->size += len;
		break;
	}
}

/* A random break of @m; @aim >= 0: starting in that block. */
static void op_break(struct actor *a, struct mfile *m, struct udax_file *h, enum brk_op op,
		     int64_t aim)
{
	uint64_t off = aim >= 0 ? (uint64_t)aim * BS + rnd(a, BS) : rnd(a, MAX_BLK * BS);
	uint64_t len = 1 + rnd(a, 6 * BS), nb;

	if (rnd(a, 2))
		off &= ~(uint64_t)(BS - 1);
	switch (op) {
	case BR_TRUNC:
		if (off >= m->size) {		/* up: no break */
			note(a, m, "truncate up %s %llu%s", m->path, (unsigned long long)off,
			     h == m->f ? "" : " (own handle)");
			FS_OK(udax_ftruncate(h, off));
			model_truncate(m, off);
			return;
		}
		/* Changes the partial block it zeroes and frees the rest. */
		do_break(a, m, h, op, off, 0, off / BS, END, blocks_of(off), END);
		return;
	case BR_PUNCH:
		do_break(a, m, h, op, off, len, off / BS, blocks_of(off + len),
			 blocks_of(off), (off + len) / BS);
		return;
	case BR_ZERO:
		if (off + len > MAX_BLK * BS)
			return;
		/* Frees nothing: every block of the range is kept. */
		do_break(a, m, h, op, off, len, off / BS, blocks_of(off + len), 0, 0);
		return;
	case BR_COLLAPSE:
		off &= ~(uint64_t)(BS - 1);
		nb = 1 + rnd(a, 4);
		if (off + nb * BS >= m->size)
			return;
		do_break(a, m, h, op, off, nb * BS, off / BS, END, off / BS, off / BS + nb);
		return;
	default:
		off &= ~(uint64_t)(BS - 1);
		nb = 1 + rnd(a, 4);
		if (off >= m->size || m->size + nb * BS > MAX_BLK * BS)
			return;
		do_break(a, m, h, op, off, nb * BS, off / BS, END, 0, 0);
		return;
	}
}

/* ---- the owner's mix (each operation under the file's lock) -------------------- */

static void fill(struct actor *a, uint8_t *buf, size_t n)
{
	uint64_t s = mix64(a->rng ^ 0xf11f11ull);

	for (size_t i = 0; i < n; i += 8) {
		s = mix64(s);
		memcpy(buf + i, &s, n - i < 8 ? n - i : 8);
	}
}

static void op_write(struct actor *a, struct mfile *m, bool append)
{
	uint64_t off = append ? m->size : rnd(a, MAX_BLK * BS);
	uint64_t len = 1 + rnd(a, 3 * BS);
	uint8_t buf[3 * BS];
	uint64_t where;

	if (off + len > MAX_BLK * BS)
		len = MAX_BLK * BS - off;
	if (!len || pending(m, off / BS, blocks_of(off + len)))
		return;
	fill(a, buf, len);
	note(a, m, "%s %s %llu +%llu", append ? "append" : "pwrite", m->path,
	     (unsigned long long)off, (unsigned long long)len);
	if (append) {
		T_EXPECT_ERR(udax_append(m->f, buf, len, &where), (long)len);
		T_ASSERT(where == off);
	} else {
		T_EXPECT_ERR(udax_pwrite(m->f, buf, len, off), (long)len);
	}
	model_write(m, buf, off, len);
}

static void set_path(struct worker *w, struct mfile *m)
{
	snprintf(m->path, sizeof(m->path), "%s/f%d.%u", w->dir, m->fi, m->gen);
}

static void op_rename(struct actor *a, struct worker *w, struct mfile *m)
{
	char old[40];
	struct udax_stat st;

	memcpy(old, m->path, sizeof(old));
	m->gen++;
	set_path(w, m);
	note(a, m, "rename %s -> %s", old, m->path);
	FS_OK(udax_rename(fs, old, m->path, UDAX_RENAME_NOREPLACE));
	FS_ERR(udax_stat(fs, old, &st), -ENOENT);
}

/* Unlink and close with transfers in flight (freed in the mount's DEFER
 * mode, so they become orphans), then start over with an empty file.  The
 * views in flight keep the old inode until a breaker unmaps them. */
static void op_recreate(struct actor *a, struct mfile *m)
{
	note(a, m, "unlink+recreate %s", m->path);
	views_stale(m);
	FS_OK(udax_unlink(fs, m->path));
	FS_OK(udax_close(&m->f));
	for (int k = 0; k < FPEND; k++) {
		if (m->x[k].used && !m->x[k].orphan) {
			m->x[k].orphan = true;
			for (int p = 0; p < XFER_BLK; p++)
				m->x[k].at[p] = -1;
			a->n_defer_orphans++;
		}
	}
	FS_OK(udax_open(fs, m->path, O_CREAT | O_EXCL | O_RDWR, 0644, &m->f));
	memset(m->data, 0, sizeof(m->data));
	memset(m->bst, B_HOLE, sizeof(m->bst));
	m->size = 0;
}

static bool keep_going(long k)
{
	if (deadline_ns)
		return t_now_ns() < deadline_ns;
	return k < ops_per_worker;
}

static void check_all(struct actor *a, struct worker *w)
{
	for (int i = 0; i < NFILES; i++) {
		struct mfile *m = &w->file[i];

		pthread_mutex_lock(&m->lock);
		check_file(a, m);
		pthread_mutex_unlock(&m->lock);
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct actor *a = &w->a;
	long k;

	for (k = 0; keep_going(k); k++) {
		struct mfile *m = &w->file[rnd(a, NFILES)];
		unsigned op = (unsigned)rnd(a, 20);

		pthread_mutex_lock(&m->lock);
		reap_done(a, m);
		if (op < 3)
			op_dma(w, m, 0);
		else if (op < 5)
			op_dma(w, m, 1);
		else if (op < 7)
			op_dma(w, m, 2);
		else if (op < 10)
			op_write(a, m, op == 9);
		else if (op < 16)
			op_break(a, m, m->f, op < 12 ? BR_TRUNC : (enum brk_op)(op - 11), -1);
		else if (op == 16)
			check_file(a, m);
		else if (op == 17)
			FS_OK(udax_fsync(m->f));
		else if (op == 18)
			op_rename(a, w, m);
		else if (rnd(a, 4) == 0)
			op_recreate(a, m);
		pthread_mutex_unlock(&m->lock);
		/* A mutex is not fair: let a breaker waiting for it have a turn. */
		if (atomic_load(&m->waiting))
			sched_yield();
		if (k % 64 == 0)
			check_all(a, w);
	}
	a->ops = (uint64_t)k;
	for (int i = 0; i < NFILES; i++) {
		struct mfile *m = &w->file[i];

		pthread_mutex_lock(&m->lock);
		for (int x = 0; x < FPEND; x++)
			if (m->x[x].used)
				reap(a, m, &m->x[x]);
		check_file(a, m);
		pthread_mutex_unlock(&m->lock);
	}
	atomic_fetch_sub(&workers_running, 1);
	return NULL;
}

/* ---- breakers: other threads' breaks and views ------------------------------------ */

static void lock_as_breaker(struct mfile *m)
{
	atomic_fetch_add(&m->waiting, 1);
	pthread_mutex_lock(&m->lock);
	atomic_fetch_sub(&m->waiting, 1);
}

/* Break @m, through the owner's handle or one of our own, most of the time
 * where a transfer of the owner is in flight. */
static void op_xbreak(struct actor *a, struct mfile *m, enum brk_op op)
{
	struct xfer *x = &m->x[rnd(a, FPEND)];
	struct udax_file *h = m->f;
	int64_t aim = -1;

	if (x->used && !x->orphan && rnd(a, 4))
		aim = x->at[rnd(a, x->nblk)];
	if (rnd(a, 2))
		FS_OK(udax_open(fs, m->path, O_RDWR, 0, &h));
	op_break(a, m, h, op, aim);
	if (h != m->f)
		FS_OK(udax_close(&h));
}

static void *breaker_main(void *arg)
{
	struct actor *a = arg;

	while (atomic_load(&workers_running)) {
		struct mfile *m = &workers[rnd(a, WORKERS)]->file[rnd(a, NFILES)];
		unsigned op = (unsigned)rnd(a, 12);

		lock_as_breaker(m);
		/* Rather a file with the owner's transfers in flight. */
		for (int tries = 0; tries < 3 && !pending(m, 0, END); tries++) {
			pthread_mutex_unlock(&m->lock);
			m = &workers[rnd(a, WORKERS)]->file[rnd(a, NFILES)];
			lock_as_breaker(m);
		}
		if (op < 7)
			op_xbreak(a, m, op < 2 ? BR_TRUNC : (enum brk_op)(op - 2));
		else if (op < 11)
			op_view(a, m);
		else
			check_file(a, m);
		pthread_mutex_unlock(&m->lock);
		a->ops++;
	}
	return NULL;
}

/* ---- setup and the end ------------------------------------------------------------ */

static struct worker *worker_new(int id)
{
	struct udax_io_slow_opts so = { .rate = SLOW_RATE, .chunk = 4096 };
	struct worker *w = calloc(1, sizeof(*w));
	char path[96];
	uint8_t *src;

	T_ASSERT(w);
	w->a.id = id;
	w->a.rng = mix64(base_seed + (uint64_t)id);
	snprintf(w->dir, sizeof(w->dir), "/w%d", id);
	FS_OK(udax_mkdir(fs, w->dir, 0755));
	T_ASSERT((w->a.abuf = aligned_alloc(BS, XFER_BLK * BS)));
	T_ASSERT((src = malloc(SRC_BLK * BS)));
	for (uint64_t i = 0; i < SRC_BLK * BS; i++)
		src[i] = src_byte(id, i);
	snprintf(path, sizeof(path), "%s/src%d", tmpdir, id);
	w->src_fd = io_direct_source("fs_dma_stress", path, src, SRC_BLK * BS);
	free(src);
	snprintf(path, sizeof(path), "%s/sink%d", tmpdir, id);
	w->sink_fd = io_direct_sink("fs_dma_stress", path);
	w->slow_seed = so.seed = (uint32_t)mix64(base_seed ^ (uint64_t)(id + 100));
	FS_OK(udax_io_slow_new(&so, &w->slow));
	for (int i = 0; i < NFILES; i++) {
		struct mfile *m = &w->file[i];

		T_ASSERT(pthread_mutex_init(&m->lock, NULL) == 0);
		m->owner = w;
		m->fi = i;
	}
	return w;
}

static struct actor *breaker_new(int id)
{
	struct actor *a = calloc(1, sizeof(*a));

	T_ASSERT(a);
	a->id = WORKERS + id;
	a->rng = mix64(base_seed ^ (0xb4eaull << 32) ^ (uint64_t)id);
	T_ASSERT((a->abuf = aligned_alloc(BS, XFER_BLK * BS)));
	return a;
}

static void workers_open(void)
{
	for (int t = 0; t < WORKERS; t++) {
		struct worker *w = workers[t];

		for (int i = 0; i < NFILES; i++) {
			set_path(w, &w->file[i]);
			FS_OK(udax_open(fs, w->file[i].path, O_CREAT | O_EXCL | O_RDWR, 0644,
					&w->file[i].f));
		}
	}
}

/* Everyone is done: check the views in flight one last time, unmap them. */
static void views_end(void)
{
	for (int t = 0; t < WORKERS; t++) {
		for (int i = 0; i < NFILES; i++) {
			struct mfile *m = &workers[t]->file[i];

			pthread_mutex_lock(&m->lock);
			for (int k = 0; k < NVIEW; k++) {
				if (!m->v[k].v)
					continue;
				view_check(breakers[0], m, &m->v[k]);
				view_unmap(&m->v[k]);
			}
			pthread_mutex_unlock(&m->lock);
		}
	}
}

/* The unmounted file system passes udax_fsck without a problem. */
static void fsck_clean(const char *when)
{
	struct udax_fsck_report rep;

	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	if (rep.problems) {
		fprintf(stderr, "fs_dma_stress (seed %llu): fsck %s: %llu problems\n",
			(unsigned long long)base_seed, when, (unsigned long long)rep.problems);
		exit(1);
	}
}

/* Unmounted, the file system is structurally sound; remounted, it holds
 * exactly the models. */
static void remount_check(void)
{
	FS_OK(udax_unmount(&fs));
	fs = NULL;
	fsck_clean("after the run");
	FS_OK(udax_mount(dev, 0, &(struct udax_mount_opts){ .brk = { UDAX_BREAK_DEFER, 0 } },
			 &fs));
	for (int t = 0; t < WORKERS; t++) {
		struct worker *w = workers[t];

		for (int i = 0; i < NFILES; i++) {
			FS_OK(udax_open(fs, w->file[i].path, O_RDWR, 0, &w->file[i].f));
			check_file(&w->a, &w->file[i]);
			FS_OK(udax_close(&w->file[i].f));
		}
	}
}

static void sum(long *tot, const struct actor *a)
{
	tot[0] += (long)a->ops;
	tot[1] += a->n_in;
	tot[2] += a->n_slow;
	tot[3] += a->n_out;
	tot[4] += a->n_breaks;
	tot[5] += a->n_refused;
	tot[6] += a->n_held;
	tot[7] += a->n_defer_orphans;
	tot[8] += a->n_copied;
	tot[9] += a->n_views;
	tot[10] += a->n_view_pages;
	tot[11] += a->n_view_faults;
	tot[12] += a->n_view_stale;
}

int main(void)
{
	struct udax_io_opts o = { .queue_depth = 64, .flags = UDAX_IO_FULL };
	struct udax_mount_opts mo = { .brk = { UDAX_BREAK_DEFER, 0 } };
	struct sigaction sa = { .sa_handler = on_segv };
	struct udax_statfs empty, st;
	struct udax_io_stats ios;
	pthread_t th[WORKERS], bth[BREAKERS];
	const char *s;
	char path[96];
	long wt[13] = { 0 }, bt[13] = { 0 };
	uint64_t t0 = t_now_ns();

	s = getenv("UDAX_STRESS_SEED");
	base_seed = s && *s ? strtoull(s, NULL, 0) : (t_now_ns() ^ (uint64_t)getpid());
	s = getenv("UDAX_STRESS_SECONDS");
	if (s && atol(s) > 0)
		deadline_ns = t0 + (uint64_t)atol(s) * 1000000000ull;
	ops_per_worker = t_iters(OPS);
	printf("fs_dma_stress: seed %llu (UDAX_STRESS_SEED replays it)\n",
	       (unsigned long long)base_seed);
	fflush(stdout);

	alarm(deadline_ns ? (unsigned)(atol(s) + 600) : 600);	/* a hang is a failure */
	T_ASSERT(sigaction(SIGSEGV, &sa, NULL) == 0);
	io = io_new_or_skip(&o);
	T_ASSERT(mkdtemp(tmpdir));
	dev = t_fs_dev("mem:64M");
	FS_OK(udax_mkfs(dev, 0, NULL));
	FS_OK(udax_mount(dev, 0, &mo, &fs));
	for (int t = 0; t < WORKERS; t++)
		workers[t] = worker_new(t);
	for (int b = 0; b < BREAKERS; b++)
		breakers[b] = breaker_new(b);
	/* The baseline: empty files (their directories have a block each). */
	workers_open();
	FS_OK(udax_statfs(fs, &empty));

	atomic_store(&workers_running, WORKERS);
	for (int t = 0; t < WORKERS; t++)
		T_ASSERT(pthread_create(&th[t], NULL, worker_main, workers[t]) == 0);
	for (int b = 0; b < BREAKERS; b++)
		T_ASSERT(pthread_create(&bth[b], NULL, breaker_main, breakers[b]) == 0);
	for (int t = 0; t < WORKERS; t++)
		pthread_join(th[t], NULL);
	for (int b = 0; b < BREAKERS; b++)
		pthread_join(bth[b], NULL);
	views_end();

	/* Everything reaped: the engine agrees, nothing is busy. */
	T_EXPECT_ERR(udax_io_drain(io), 0);
	udax_io_get_stats(io, &ios);
	T_ASSERT(ios.completed == ios.submitted && ios.inflight == 0);
	FS_OK(udax_statfs(fs, &st));
	T_ASSERT(st.blocks_busy == 0);
	for (int t = 0; t < WORKERS; t++)
		for (int i = 0; i < NFILES; i++)
			FS_OK(udax_close(&workers[t]->file[i].f));
	/* DEFER unmounts as NOWAIT: -EBUSY if any page were still pinned. */
	remount_check();

	for (int t = 0; t < WORKERS; t++) {
		struct worker *w = workers[t];

		for (int i = 0; i < NFILES; i++)
			FS_OK(udax_unlink(fs, w->file[i].path));
		sum(wt, &w->a);
	}
	for (int b = 0; b < BREAKERS; b++)
		sum(bt, breakers[b]);
	FS_OK(udax_statfs(fs, &st));
	if (st.blocks_free != empty.blocks_free ||
	    st.inodes_free != empty.inodes_free + WORKERS * NFILES) {
		fprintf(stderr, "blocks free %llu (want %llu), inodes free %llu (want %llu)\n",
			(unsigned long long)st.blocks_free, (unsigned long long)empty.blocks_free,
			(unsigned long long)st.inodes_free,
			(unsigned long long)empty.inodes_free + WORKERS * NFILES);
		return 1;
	}
	FS_OK(udax_unmount(&fs));
	fsck_clean("after removing everything");
	FS_OK(udax_dev_close(&dev, 0));
	T_EXPECT_ERR(udax_io_delete(&io), 0);
	for (int t = 0; t < WORKERS; t++) {
		struct worker *w = workers[t];

		udax_io_slow_delete(&w->slow);
		close(w->src_fd);
		close(w->sink_fd);
		snprintf(path, sizeof(path), "%s/src%d", tmpdir, t);
		unlink(path);
		snprintf(path, sizeof(path), "%s/sink%d", tmpdir, t);
		unlink(path);
		for (int i = 0; i < NFILES; i++)
			pthread_mutex_destroy(&w->file[i].lock);
		free(w->a.abuf);
		free(w);
	}
	for (int b = 0; b < BREAKERS; b++) {
		free(breakers[b]->abuf);
		free(breakers[b]);
	}
	rmdir(tmpdir);
	printf("fs_dma_stress: owners: %ld ops; DMA: %ld in, %ld slow in, %ld out; %ld breaks: "
	       "%ld refused, %ld transfers held one up, %ld orphaned by DEFER/unlink, %ld kept "
	       "blocks copied away from DMA in flight by DEFER\n",
	       wt[0], wt[1], wt[2], wt[3], wt[4], wt[5], wt[6], wt[7], wt[8]);
	printf("fs_dma_stress: breakers: %ld ops; %ld breaks of the owners' files: %ld refused, "
	       "%ld of the owners' transfers held one up, %ld orphaned by DEFER, %ld kept "
	       "blocks copied; %ld views in flight, %ld page loads, %ld of them faulted "
	       "(broken), %ld checked and unmapped after an unlink (the last frees the inode); %.1f s\n",
	       bt[0], bt[4], bt[5], bt[6], bt[7], bt[8], bt[9], bt[10], bt[11], bt[12],
	       (double)(t_now_ns() - t0) / 1e9);
	return 0;
}
