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
 *    in flight orphans them too (the mount's break mode is DEFER).
 *  - Transfers out (file -> sink) must deliver the model's bytes at
 *    submission, orphans included (a freed block is not reused while
 *    pinned).
 * Victims: every byte of a DMA is distinct per transfer (source offset,
 * thread) and every file is checked against its model periodically and at
 * the end, so DMA landing in a block that was freed and reused shows as a
 * model mismatch in whichever file got the block.
 *
 * At the end: everything reaped, statfs blocks_busy == 0, the engine
 * counted every request complete, every file equals its model, unmount
 * succeeds in the mount's DEFER mode (which at unmount refuses while any
 * page is pinned), udax_fsck finds no problem, a remount gives the same
 * files (remount_check), and deleting everything gives back every block
 * and inode (and fsck is clean again).
 *
 * Environment: UDAX_STRESS_SEED=n replays a run's operation sequences (the
 * seed is printed; timing of DMA completions still differs);
 * UDAX_STRESS_SECONDS=s runs for s seconds instead of the default number
 * of operations (UDAX_TEST_SCALE scales that, in percent).  Skipped
 * (exit 77) without io_uring or O_DIRECT.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#define NFILES		3
#define MAX_BLK		48		/* file size limit, blocks */
#define MAXPEND		6		/* transfers in flight per worker */
#define XFER_BLK	4		/* blocks per transfer at most */
#define SRC_BLK		256		/* O_DIRECT source file, blocks */
#define SLOW_RATE	(512u << 10)	/* bytes per second of the slow pipes */
#define OPS		30000		/* per worker, default */
#define END		(MAX_BLK + 1)	/* "to the end of file", in blocks */

enum { B_HOLE, B_UNWRITTEN, B_DATA };

struct mfile {
	char path[40];
	unsigned gen;			/* name generation (rename) */
	struct udax_file *f;
	uint64_t size;
	uint8_t bst[MAX_BLK];		/* B_* per block */
	uint8_t data[MAX_BLK * BS];	/* zero past size */
};

struct xfer {
	bool used, in, slow, orphan;
	int file;
	uint64_t lblk, nblk;		/* where it started */
	int64_t at[XFER_BLK];		/* file block of page k now; -1: gone */
	uint8_t *pre;			/* in: the model's bytes before it */
	struct udax_io_req *req;
	_Atomic int cb;			/* the completion callback ran */
	_Atomic long res;
	uint8_t *snap;			/* out: the model's bytes at submit */
};

struct worker {
	int id;
	uint64_t rng, ops;
	char dir[16];
	struct mfile file[NFILES];
	struct xfer x[MAXPEND];
	int src_fd, sink_fd;
	struct udax_io_slow *slow;
	uint32_t slow_seed;
	uint64_t slow_pos;		/* stream bytes claimed so far */
	uint8_t *abuf;			/* O_DIRECT-aligned scratch */
	uint8_t rbuf[MAX_BLK * BS];
	char log[16][96];		/* the last operations, for a failure */
	unsigned nlog;
	long n_in, n_out, n_slow, n_refused, n_defer_orphans, n_held, n_copied;
};

static struct udax_dev *dev;
static struct udax_fs *fs;
static struct udax_io *io;
static struct worker *workers[WORKERS];
static char tmpdir[] = "/var/tmp/udax-dmastress-XXXXXX";
static uint64_t base_seed, deadline_ns;
static long ops_per_worker;

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint64_t rnd(struct worker *w, uint64_t n)
{
	w->rng = mix64(w->rng);
	return n ? w->rng % n : 0;
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

static void note(struct worker *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void note(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->log[w->nlog++ % 16], sizeof(w->log[0]), fmt, ap);
	va_end(ap);
}

static void fail(struct worker *w, const char *what)
{
	fprintf(stderr, "fs_dma_stress: worker %d (seed %llu): %s\n", w->id,
		(unsigned long long)base_seed, what);
	fprintf(stderr, "  last operations, oldest first:\n");
	for (unsigned k = w->nlog > 16 ? w->nlog - 16 : 0; k < w->nlog; k++)
		fprintf(stderr, "    %s\n", w->log[k % 16]);
	exit(1);
}

/* ---- transfers ------------------------------------------------------------ */

static void xfer_done(struct udax_io_req *req, ssize_t res, void *arg)
{
	struct xfer *x = arg;

	(void)req;
	atomic_store(&x->res, (long)res);
	atomic_store(&x->cb, 1);
}

/* Does a page of live transfer @x sit in file @fi's blocks [b0, b1)? */
static bool x_in(const struct xfer *x, int fi, uint64_t b0, uint64_t b1)
{
	if (!x->used || x->orphan || x->file != fi)
		return false;
	for (uint64_t k = 0; k < x->nblk; k++)
		if (x->at[k] >= 0 && (uint64_t)x->at[k] >= b0 && (uint64_t)x->at[k] < b1)
			return true;
	return false;
}

/* A live (not orphaned) transfer on file @fi overlapping blocks [b0, b1). */
static bool pending(struct worker *w, int fi, uint64_t b0, uint64_t b1)
{
	for (int k = 0; k < MAXPEND; k++)
		if (x_in(&w->x[k], fi, b0, b1))
			return true;
	return false;
}

/* Wait for @x, check what it did, free its slot. */
static void reap(struct worker *w, struct xfer *x)
{
	size_t len = x->nblk * BS;
	ssize_t res = udax_io_wait(x->req);
	char msg[160];

	if (res != (ssize_t)len || atomic_load(&x->res) != (long)len ||
	    !atomic_load(&x->cb)) {
		snprintf(msg, sizeof(msg), "transfer %s of %zu bytes completed with %zd",
			 x->in ? "in" : "out", len, res);
		fail(w, msg);
	}
	if (!x->in) {
		size_t slot = (size_t)(x - w->x);

		T_ASSERT(pread(w->sink_fd, w->abuf, len, (off_t)(slot * XFER_BLK * BS)) ==
			 (ssize_t)len);
		for (size_t i = 0; i < len; i++) {
			if (w->abuf[i] != x->snap[i]) {
				snprintf(msg, sizeof(msg), "DMA out of %s blocks [%llu, +%llu): "
					 "byte %zu is %#x, the file had %#x",
					 x->orphan ? "freed" : "file",
					 (unsigned long long)x->lblk,
					 (unsigned long long)x->nblk, i, w->abuf[i],
					 x->snap[i]);
				fail(w, msg);
			}
		}
		free(x->snap);
		x->snap = NULL;
	}
	free(x->pre);
	x->pre = NULL;
	udax_io_req_free(&x->req);
	x->used = false;
}

/* Reap the transfers that are done (without waiting). */
static void reap_done(struct worker *w)
{
	for (int k = 0; k < MAXPEND; k++)
		if (w->x[k].used && udax_io_req_done(w->x[k].req, NULL))
			reap(w, &w->x[k]);
}

static struct xfer *free_slot(struct worker *w)
{
	for (int k = 0; k < MAXPEND; k++)
		if (!w->x[k].used)
			return &w->x[k];
	/* All busy: wait for one. */
	reap(w, &w->x[rnd(w, MAXPEND)]);
	return free_slot(w);
}

/* Blocks [b, b + n) inside the file, all written, no live transfer. */
static bool dma_ok(struct worker *w, int fi, uint64_t b, uint64_t n)
{
	struct mfile *m = &w->file[fi];

	if ((b + n) * BS > m->size || pending(w, fi, b, b + n))
		return false;
	for (uint64_t k = b; k < b + n; k++)
		if (m->bst[k] != B_DATA)
			return false;
	return true;
}

static void op_dma(struct worker *w, int fi, int kind)
{
	struct mfile *m = &w->file[fi];
	uint64_t b = 0, n = 0;
	struct xfer *x;
	int tries, ret;

	for (int k = 0; kind == 1 && k < MAXPEND; k++)
		if (w->x[k].used && w->x[k].slow)
			return;		/* one slow read per pipe: a known stream */
	/* A random written block, then as many of those after it as the
	 * transfer's random length allows. */
	for (tries = 0; tries < 8; tries++) {
		b = rnd(w, m->size / BS);
		if (dma_ok(w, fi, b, 1))
			break;
	}
	if (tries == 8)
		return;
	for (n = 1, tries = (int)rnd(w, XFER_BLK); tries > 0 && dma_ok(w, fi, b, n + 1);
	     tries--)
		n++;
	x = free_slot(w);
	memset(x, 0, sizeof(*x));
	x->used = true;
	x->file = fi;
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
		uint64_t so = rnd(w, SRC_BLK - n + 1) * BS;

		note(w, "dma in  %s [%llu,+%llu) from src %llu", m->path,
		     (unsigned long long)b, (unsigned long long)n, (unsigned long long)so);
		ret = udax_io_read_file(io, w->src_fd, (int64_t)so, m->f, b * BS, n * BS,
					xfer_done, x, &x->req);
		for (uint64_t i = 0; i < n * BS; i++)
			m->data[b * BS + i] = src_byte(w->id, so + i);
		w->n_in++;
	} else if (kind == 1) {		/* slow pipe -> file: long in flight */
		note(w, "slow in %s [%llu,+%llu) from stream %llu", m->path,
		     (unsigned long long)b, (unsigned long long)n,
		     (unsigned long long)w->slow_pos);
		ret = udax_io_read_file(io, udax_io_slow_fd(w->slow), UDAX_IO_CUR_POS,
					m->f, b * BS, n * BS, xfer_done, x, &x->req);
		for (uint64_t i = 0; i < n * BS; i++)
			m->data[b * BS + i] = udax_io_slow_byte(w->slow_seed, w->slow_pos + i);
		w->slow_pos += n * BS;
		w->n_slow++;
	} else {			/* file -> O_DIRECT sink */
		size_t slot = (size_t)(x - w->x);

		note(w, "dma out %s [%llu,+%llu)", m->path, (unsigned long long)b,
		     (unsigned long long)n);
		T_ASSERT((x->snap = malloc(n * BS)));
		memcpy(x->snap, m->data + b * BS, n * BS);
		ret = udax_io_write_file(io, w->sink_fd, (int64_t)(slot * XFER_BLK * BS),
					 m->f, b * BS, n * BS, xfer_done, x, &x->req);
		w->n_out++;
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

/* Compare the file with its model, leaving out blocks under live transfers. */
static void check_file(struct worker *w, int fi)
{
	struct mfile *m = &w->file[fi];
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
		fail(w, msg);
	}
	r = udax_pread(m->f, w->rbuf, sizeof(w->rbuf), 0);
	if (r != (ssize_t)m->size) {
		snprintf(msg, sizeof(msg), "%s: pread gave %zd, size %llu", m->path, r,
			 (unsigned long long)m->size);
		fail(w, msg);
	}
	for (uint64_t b = 0; b < blocks_of(m->size); b++) {
		uint64_t end = (b + 1) * BS < m->size ? (b + 1) * BS : m->size;

		if (pending(w, fi, b, b + 1) ||
		    !memcmp(w->rbuf + b * BS, m->data + b * BS, end - b * BS))
			continue;
		for (uint64_t i = b * BS; i < end; i++) {
			if (w->rbuf[i] != m->data[i]) {
				char src[64];

				whose(w->rbuf + (i & ~7ull), i, src, sizeof(src));
				snprintf(msg, sizeof(msg), "%s: byte %llu (block %llu, %s) is "
					 "%#x, model %#x (%s)", m->path, (unsigned long long)i,
					 (unsigned long long)b,
					 m->bst[b] == B_DATA ? "written" :
					 m->bst[b] == B_UNWRITTEN ? "unwritten" : "hole",
					 w->rbuf[i], m->data[i], src);
				fail(w, msg);
			}
		}
	}
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
static void defer_adopt(struct worker *w, int fi, struct xfer *x, uint64_t k,
			uint64_t b, uint64_t z0, uint64_t z1)
{
	struct mfile *m = &w->file[fi];
	ssize_t r = udax_pread(m->f, w->rbuf, BS, b * BS);
	char msg[200];

	T_ASSERT(r >= 0);
	for (uint64_t i = 0; i < (uint64_t)r; i++) {
		uint64_t pos = b * BS + i;
		uint8_t got = w->rbuf[i];

		if (pos >= z0 && pos < z1)
			continue;
		if (got != x->pre[k * BS + i] && got != m->data[pos]) {
			snprintf(msg, sizeof(msg), "%s: byte %llu of a block the break kept "
				 "is %#x: neither %#x from before the DMA nor its %#x",
				 m->path, (unsigned long long)pos, got, x->pre[k * BS + i],
				 m->data[pos]);
			fail(w, msg);
		}
		m->data[pos] = got;
	}
	/* Still in flight after the break: the block was pinned, so copied. */
	if (!atomic_load(&x->cb))
		w->n_copied++;
}

/*
 * After a DEFER break that changed file @fi: where the pages of live
 * transfer @x are now.  @len is the byte length for punch and zero, the
 * blocks' shift (bytes) for collapse and insert.
 */
static void defer_follow(struct worker *w, int fi, enum brk_op op, uint64_t off,
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
				defer_adopt(w, fi, x, k, b, z0, z1);
			x->at[k] = -1;
		}
		live |= x->at[k] >= 0;
	}
	if (!live) {
		x->orphan = true;
		w->n_defer_orphans++;
	}
}

/*
 * One layout-breaking operation in @brk's mode.  [t0, t1) are the blocks
 * it changes (frees, zeroes, moves), [f0, f1) those it frees.
 */
static void do_break(struct worker *w, int fi, enum brk_op op, uint64_t off,
		     uint64_t len, uint64_t t0, uint64_t t1, uint64_t f0, uint64_t f1)
{
	struct mfile *m = &w->file[fi];
	struct udax_break_opts brk = { (enum udax_break_mode)rnd(w, 4),
				       (int64_t)rnd(w, 2000000) };
	static const char *const op_name[] = { "truncate", "punch", "zero", "collapse",
					       "insert" };
	char msg[160];
	int ret;

	note(w, "%s %s %llu +%llu %s", op_name[op], m->path, (unsigned long long)off,
	     (unsigned long long)len, mode_name[brk.mode]);
	switch (op) {
	case BR_TRUNC:
		ret = udax_ftruncate_ex(m->f, off, &brk);
		break;
	case BR_PUNCH:
		ret = udax_fallocate_ex(m->f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
					off, len, &brk);
		break;
	case BR_ZERO:
		ret = udax_fallocate_ex(m->f, UDAX_FALLOC_ZERO_RANGE, off, len, &brk);
		break;
	case BR_COLLAPSE:
		ret = udax_fallocate_ex(m->f, UDAX_FALLOC_COLLAPSE_RANGE, off, len, &brk);
		break;
	default:
		ret = udax_fallocate_ex(m->f, UDAX_FALLOC_INSERT_RANGE, off, len, &brk);
		break;
	}
	if (ret == -EBUSY || ret == -ETIMEDOUT) {
		/* Refused: something pinned the range, and nothing changed. */
		if ((ret == -EBUSY) != (brk.mode == UDAX_BREAK_NOWAIT) ||
		    brk.mode == UDAX_BREAK_WAIT || brk.mode == UDAX_BREAK_DEFER ||
		    !pending(w, fi, t0, t1)) {
			snprintf(msg, sizeof(msg), "%s refused (%s) in mode %s with %s "
				 "transfer on blocks [%llu, %llu)", op_name[op],
				 t_errname(ret), mode_name[brk.mode],
				 pending(w, fi, t0, t1) ? "a" : "no",
				 (unsigned long long)t0, (unsigned long long)t1);
			fail(w, msg);
		}
		w->n_refused++;
		check_file(w, fi);
		return;
	}
	if (ret) {
		snprintf(msg, sizeof(msg), "%s failed: %s: %s", op_name[op], t_errname(ret),
			 udax_fs_last_error());
		fail(w, msg);
	}
	for (int k = 0; brk.mode == UDAX_BREAK_DEFER && k < MAXPEND; k++)
		if (x_in(&w->x[k], fi, t0, t1))
			defer_follow(w, fi, op, off, len, &w->x[k]);
	for (int k = 0; brk.mode != UDAX_BREAK_DEFER && k < MAXPEND; k++) {
		struct xfer *x = &w->x[k];

		if (!x_in(x, fi, t0, t1))
			continue;
		/* The break waited for the pins: the callback ran first. */
		w->n_held++;
		if (!atomic_load(&x->cb)) {
			snprintf(msg, sizeof(msg), "%s in mode %s returned while DMA %s "
				 "blocks [%llu, +%llu) was in flight", op_name[op],
				 mode_name[brk.mode], x->in ? "into" : "out of",
				 (unsigned long long)x->lblk, (unsigned long long)x->nblk);
			fail(w, msg);
		}
		reap(w, x);
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

static void op_break(struct worker *w, int fi, enum brk_op op)
{
	struct mfile *m = &w->file[fi];
	uint64_t off = rnd(w, MAX_BLK * BS), len = 1 + rnd(w, 6 * BS), nb;

	if (rnd(w, 2))
		off &= ~(uint64_t)(BS - 1);
	switch (op) {
	case BR_TRUNC:
		if (off >= m->size) {		/* up: no break */
			note(w, "truncate up %s %llu", m->path, (unsigned long long)off);
			FS_OK(udax_ftruncate(m->f, off));
			model_truncate(m, off);
			return;
		}
		/* Changes the partial block it zeroes and frees the rest. */
		do_break(w, fi, op, off, 0, off / BS, END, blocks_of(off), END);
		return;
	case BR_PUNCH:
		do_break(w, fi, op, off, len, off / BS, blocks_of(off + len),
			 blocks_of(off), (off + len) / BS);
		return;
	case BR_ZERO:
		if (off + len > MAX_BLK * BS)
			return;
		/* Frees nothing: every block of the range is kept. */
		do_break(w, fi, op, off, len, off / BS, blocks_of(off + len), 0, 0);
		return;
	case BR_COLLAPSE:
		off &= ~(uint64_t)(BS - 1);
		nb = 1 + rnd(w, 4);
		if (off + nb * BS >= m->size)
			return;
		do_break(w, fi, op, off, nb * BS, off / BS, END, off / BS, off / BS + nb);
		return;
	default:
		off &= ~(uint64_t)(BS - 1);
		nb = 1 + rnd(w, 4);
		if (off >= m->size || m->size + nb * BS > MAX_BLK * BS)
			return;
		do_break(w, fi, op, off, nb * BS, off / BS, END, 0, 0);
		return;
	}
}

/* ---- the rest of the mix ------------------------------------------------------- */

static void fill(struct worker *w, uint8_t *buf, size_t n)
{
	uint64_t s = mix64(w->rng ^ 0xf11f11ull);

	for (size_t i = 0; i < n; i += 8) {
		s = mix64(s);
		memcpy(buf + i, &s, n - i < 8 ? n - i : 8);
	}
}

static void op_write(struct worker *w, int fi, bool append)
{
	struct mfile *m = &w->file[fi];
	uint64_t off = append ? m->size : rnd(w, MAX_BLK * BS);
	uint64_t len = 1 + rnd(w, 3 * BS);
	uint8_t buf[3 * BS];
	uint64_t where;

	if (off + len > MAX_BLK * BS)
		len = MAX_BLK * BS - off;
	if (!len || pending(w, fi, off / BS, blocks_of(off + len)))
		return;
	fill(w, buf, len);
	note(w, "%s %s %llu +%llu", append ? "append" : "pwrite", m->path,
	     (unsigned long long)off, (unsigned long long)len);
	if (append) {
		T_EXPECT_ERR(udax_append(m->f, buf, len, &where), (long)len);
		T_ASSERT(where == off);
	} else {
		T_EXPECT_ERR(udax_pwrite(m->f, buf, len, off), (long)len);
	}
	model_write(m, buf, off, len);
}

static void set_path(struct worker *w, int fi)
{
	snprintf(w->file[fi].path, sizeof(w->file[fi].path), "%s/f%d.%u", w->dir, fi,
		 w->file[fi].gen);
}

static void op_rename(struct worker *w, int fi)
{
	struct mfile *m = &w->file[fi];
	char old[40];
	struct udax_stat st;

	memcpy(old, m->path, sizeof(old));
	m->gen++;
	set_path(w, fi);
	note(w, "rename %s -> %s", old, m->path);
	FS_OK(udax_rename(fs, old, m->path, UDAX_RENAME_NOREPLACE));
	FS_ERR(udax_stat(fs, old, &st), -ENOENT);
}

/* Unlink and close with transfers in flight (freed in the mount's DEFER
 * mode, so they become orphans), then start over with an empty file. */
static void op_recreate(struct worker *w, int fi)
{
	struct mfile *m = &w->file[fi];

	note(w, "unlink+recreate %s", m->path);
	FS_OK(udax_unlink(fs, m->path));
	FS_OK(udax_close(&m->f));
	for (int k = 0; k < MAXPEND; k++) {
		if (w->x[k].used && !w->x[k].orphan && w->x[k].file == fi) {
			w->x[k].orphan = true;
			for (int p = 0; p < XFER_BLK; p++)
				w->x[k].at[p] = -1;
			w->n_defer_orphans++;
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

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	long k;

	for (k = 0; keep_going(k); k++) {
		int fi = (int)rnd(w, NFILES);
		unsigned op = (unsigned)rnd(w, 20);

		reap_done(w);
		if (op < 3)
			op_dma(w, fi, 0);
		else if (op < 5)
			op_dma(w, fi, 1);
		else if (op < 7)
			op_dma(w, fi, 2);
		else if (op < 10)
			op_write(w, fi, op == 9);
		else if (op < 16)
			op_break(w, fi, op < 12 ? BR_TRUNC : (enum brk_op)(op - 11));
		else if (op == 16)
			check_file(w, fi);
		else if (op == 17)
			FS_OK(udax_fsync(w->file[fi].f));
		else if (op == 18)
			op_rename(w, fi);
		else if (rnd(w, 4) == 0)
			op_recreate(w, fi);
		if (k % 64 == 0)
			for (int i = 0; i < NFILES; i++)
				check_file(w, i);
	}
	w->ops = (uint64_t)k;
	for (int i = 0; i < MAXPEND; i++)
		if (w->x[i].used)
			reap(w, &w->x[i]);
	for (int i = 0; i < NFILES; i++)
		check_file(w, i);
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
	w->id = id;
	w->rng = mix64(base_seed + (uint64_t)id);
	snprintf(w->dir, sizeof(w->dir), "/w%d", id);
	FS_OK(udax_mkdir(fs, w->dir, 0755));
	T_ASSERT((w->abuf = aligned_alloc(BS, XFER_BLK * BS)));
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
	return w;
}

static void workers_open(void)
{
	for (int t = 0; t < WORKERS; t++) {
		struct worker *w = workers[t];

		for (int i = 0; i < NFILES; i++) {
			set_path(w, i);
			FS_OK(udax_open(fs, w->file[i].path, O_CREAT | O_EXCL | O_RDWR, 0644,
					&w->file[i].f));
		}
	}
}

static void fsck_problem(const struct udax_fsck_problem *p, void *arg)
{
	(void)arg;
	fprintf(stderr, "fsck: block %llu +%u inode %u: %s\n", (unsigned long long)p->block,
		p->offset, p->ino, p->msg);
}

/* The unmounted file system passes udax_fsck without a problem. */
static void fsck_clean(const char *when)
{
	struct udax_fsck_report rep;

	FS_OK(udax_fsck(dev, 0, 0, fsck_problem, NULL, &rep));
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
			check_file(w, i);
			FS_OK(udax_close(&w->file[i].f));
		}
	}
}

int main(void)
{
	struct udax_io_opts o = { .queue_depth = 64, .flags = UDAX_IO_FULL };
	struct udax_mount_opts mo = { .brk = { UDAX_BREAK_DEFER, 0 } };
	struct udax_statfs empty, st;
	struct udax_io_stats ios;
	pthread_t th[WORKERS];
	const char *s;
	char path[96];
	long tot[8] = { 0 };
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
	io = io_new_or_skip(&o);
	T_ASSERT(mkdtemp(tmpdir));
	dev = t_fs_dev("mem:64M");
	FS_OK(udax_mkfs(dev, 0, NULL));
	FS_OK(udax_mount(dev, 0, &mo, &fs));
	for (int t = 0; t < WORKERS; t++)
		workers[t] = worker_new(t);
	/* The baseline: empty files (their directories have a block each). */
	workers_open();
	FS_OK(udax_statfs(fs, &empty));

	for (int t = 0; t < WORKERS; t++)
		T_ASSERT(pthread_create(&th[t], NULL, worker_main, workers[t]) == 0);
	for (int t = 0; t < WORKERS; t++)
		pthread_join(th[t], NULL);

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
		tot[0] += (long)w->ops;
		tot[1] += w->n_in;
		tot[2] += w->n_slow;
		tot[3] += w->n_out;
		tot[4] += w->n_refused;
		tot[5] += w->n_defer_orphans;
		tot[6] += w->n_held;
		tot[7] += w->n_copied;
	}
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
		free(w->abuf);
		free(w);
	}
	rmdir(tmpdir);
	printf("fs_dma_stress: %ld ops; DMA: %ld in, %ld slow in, %ld out; breaks: %ld "
	       "refused, %ld transfers held one up, %ld orphaned by DEFER/unlink, %ld kept "
	       "blocks copied away from DMA in flight by DEFER; %.1f s\n",
	       tot[0], tot[1], tot[2], tot[3], tot[4], tot[6], tot[5], tot[7],
	       (double)(t_now_ns() - t0) / 1e9);
	return 0;
}
