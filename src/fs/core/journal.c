/* SPDX-License-Identifier: MIT */
/*
 * fs core: the journal, a redo log of metadata byte ranges.
 *
 * A transaction is a list of (partition offset, new bytes) records for
 * inode records, directory blocks and extent blocks.  Commit:
 *
 *	1. write the records to the lane's body blocks and persist them;
 *	2. write the header (the lane's first block): sequence number,
 *	   record count, body length, crc32c of the body, crc32c of itself;
 *	   persist.  This store is the commit point;
 *	3. write every record home, unflushed;
 *	4. leave the header: the commit is pending.  The next commit flushes
 *	   its home writes before its first fence, which makes them durable
 *	   before its own header replaces this one; a settle (unmount, fsck,
 *	   the freeing of a block a record covers) flushes, fences and zeroes
 *	   the header (docs/fs.md, Journal: why step 3 does not flush).
 *
 * The body is durable before the header is written, so after a crash the
 * header is either absent (zero or torn: its own crc fails, and nothing
 * was written home yet) or complete with a complete body.  Mount replays
 * a complete transaction (step 3 again: idempotent, as records are whole
 * new bytes) and empties the journal.  A header whose own crc is valid
 * but whose body fails its crc or bounds is corruption, not a torn
 * commit: -EUCLEAN.
 *
 * The journal is cut into lanes (struct fs_jlane), each a journal of the
 * above: a thread commits in the lane it was dealt, one transaction at a
 * time per lane, so threads changing different files share no lock, line
 * or fence.  Every metadata operation commits before it returns, so a
 * lane never holds more than one; a commit that writes a byte another
 * lane's pending transaction wrote settles that lane first (see
 * fs_txn_commit: why the lanes' headers on media then write disjoint
 * bytes, and a replay may take them in any order).
 *
 * Persistence errors (docs/fs.md, "Failures"): before step 2 the header
 * is zero, so a failed body persist changes nothing.  A failed header
 * persist leaves the header in an unknown state: it is zeroed again, and
 * only if that fails too is the fs shut down.  A failure in steps 3 or 4
 * comes after the commit point: the transaction is committed on media
 * while the caller rolls back memory, so the fs shuts down (fs_shutdown)
 * and the next mount replays.  A shut-down fs commits nothing.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <udax/crc32c.h>

#include "fs/core.h"

void fs_txn_init(struct fs_txn *t, struct udax_fs *fs)
{
	memset(t, 0, offsetof(struct fs_txn, rec0));
	t->fs = fs;
	t->rec = t->rec0;
	t->reccap = sizeof(t->rec0) / sizeof(t->rec0[0]);
	t->buf = t->buf0;
	t->bufcap = sizeof(t->buf0);
}

void fs_txn_free(struct fs_txn *t)
{
	if (t->rec != t->rec0)
		free(t->rec);
	if (t->buf != t->buf0)
		free(t->buf);
	fs_txn_emap_free(t);
	memset(t, 0, offsetof(struct fs_txn, rec0));
}

/* realloc, or malloc and copy out of the inline array @inl. */
static void *grow(void *p, const void *inl, size_t old, size_t len)
{
	void *n;

	if (p != inl)
		return fault_realloc(p, len);
	n = fault_malloc(len);
	if (n)
		memcpy(n, p, old);
	return n;
}

void fs_txn_add(struct fs_txn *t, uint64_t off, const void *src, size_t len)
{
	if (t->err)
		return;
	if (t->nrec == t->reccap) {
		uint32_t cap = t->reccap ? 2 * t->reccap : 8;
		struct fs_txn_rec *r = grow(t->rec, t->rec0,
					    t->nrec * sizeof(*r), cap * sizeof(*r));

		if (!r) {
			t->err = -ENOMEM;
			return;
		}
		t->rec = r;
		t->reccap = cap;
	}
	if (t->buflen + len > t->bufcap) {
		size_t cap = t->bufcap ? 2 * t->bufcap : 8192;
		uint8_t *b;

		while (cap < t->buflen + len)
			cap *= 2;
		b = grow(t->buf, t->buf0, t->buflen, cap);
		if (!b) {
			t->err = -ENOMEM;
			return;
		}
		t->buf = b;
		t->bufcap = cap;
	}
	memcpy(t->buf + t->buflen, src, len);
	t->rec[t->nrec++] = (struct fs_txn_rec){ off, (uint32_t)len,
						 (uint32_t)t->buflen };
	t->buflen += len;
}

static size_t rec_space(uint32_t len)
{
	return sizeof(struct fs_djrec) + ((len + 7) & ~7u);
}

/*
 * Write each record home; with @flush, flush it (the caller drains).
 * Every record is stored even after a flush failed: the mapping then
 * holds the whole committed state, whatever reached media (the journal
 * still has it all).  Returns the first error.
 */
static int checkpoint(struct udax_fs *fs, const struct fs_txn_rec *rec,
		      uint32_t nrec, const uint8_t *buf, bool flush)
{
	int ret = 0, r;

	for (uint32_t i = 0; i < nrec; i++) {
		memcpy(fs->base + rec[i].off, buf + rec[i].data, rec[i].len);
		if (!flush)
			continue;
		r = udax_dev_flush(fs->dev, fs->base + rec[i].off, rec[i].len);
		if (!ret)
			ret = r;
	}
	return ret;
}

/* ---- lanes ---------------------------------------------------------------- */

uint32_t fs_jlane_count(uint64_t jb)
{
	uint32_t n = FS_JNL_LANES_MAX;

	while (n > 1 && jb / (2 * (n - 1)) < FS_JNL_LANE_MIN)
		n /= 2;
	return n;
}

void fs_jlane_geom(const struct fs_dsuper *sb, uint32_t k, uint32_t *first,
		   uint32_t *nblocks)
{
	uint32_t n = sb->journal_lanes, jb = (uint32_t)sb->journal_blocks, ls, l0;

	if (n <= 1) {
		*first = 0;
		*nblocks = jb;
		return;
	}
	ls = jb / (2 * (n - 1));
	l0 = jb - (n - 1) * ls;
	*first = k ? l0 + (k - 1) * ls : 0;
	*nblocks = k ? ls : l0;
}

uint64_t fs_journal_max_body(const struct fs_dsuper *sb)
{
	uint32_t first, nb;

	fs_jlane_geom(sb, 0, &first, &nb);
	return (uint64_t)(nb - 1) * FS_BS;
}

void fs_journal_geom(struct fs_core *c)
{
	c->nlanes = c->sb.journal_lanes ? c->sb.journal_lanes : 1;
	for (uint32_t k = 0; k < c->nlanes; k++)
		fs_jlane_geom(&c->sb, k, &c->lane[k].first, &c->lane[k].nblocks);
}

void fs_journal_init(struct fs_core *c)
{
	for (uint32_t k = 0; k < FS_JNL_LANES_MAX; k++)
		pthread_mutex_init(&c->lane[k].lock, NULL);
	fs_journal_geom(c);
}

void fs_journal_destroy(struct fs_core *c)
{
	for (uint32_t k = 0; k < FS_JNL_LANES_MAX; k++)
		pthread_mutex_destroy(&c->lane[k].lock);
}

/*
 * The lane a thread commits in: threads are dealt lanes in turn, the
 * first time they commit on any mount, so that two threads share one
 * only when there are more threads than lanes.
 */
static atomic_uint lane_deal;
static _Thread_local unsigned lane_serial = ~0u;

static uint32_t my_lane(const struct fs_core *c)
{
	if (c->nlanes <= 1)
		return 0;
	if (lane_serial == ~0u)
		lane_serial = atomic_fetch_add_explicit(&lane_deal, 1,
							memory_order_relaxed);
	return lane_serial % c->nlanes;
}

static char *lane_hdr(struct udax_fs *fs, const struct fs_jlane *l)
{
	return fs->base + (C(fs)->sb.journal_start + l->first) * FS_BS;
}

/* Lane @l's header zeroed, persisted: no transaction in the lane. */
static int hdr_zero(struct udax_fs *fs, const struct fs_jlane *l)
{
	return udax_dev_memset_persist(fs->dev, lane_hdr(fs, l), 0,
				       sizeof(struct fs_djhdr), 0);
}

int fs_journal_clear(struct udax_fs *fs, uint32_t k)
{
	return hdr_zero(fs, &C(fs)->lane[k]);
}

/*
 * What a lane says of its header to the other lanes: pending, and the
 * byte ranges its transaction writes (FS_JNL_ALL: more than it keeps,
 * count it as everything), with their filter (sum).  Changed only under
 * the lane's lock; the ranges between pend_begin and pend_end, whose
 * sequence count lets commits of other lanes read them without the lock
 * (lane_hit).
 */
#define FS_JNL_ALL	UINT32_MAX

/* Add the 256-byte units of [@off, @off + @len) to filter @sum. */
static void sum_add(uint64_t *sum, uint64_t off, uint64_t len)
{
	uint64_t u = off >> 8, e = (off + len - 1) >> 8;

	if (e - u >= 16) {
		memset(sum, 0xff, FS_JNL_SUM_WORDS * sizeof(*sum));
		return;
	}
	for (; u <= e; u++) {
		uint32_t b = (uint32_t)((u * 0x9e3779b97f4a7c15ull) >> 56);

		sum[b / 64] |= 1ull << (b % 64);
	}
}

static void sum_of(uint64_t *sum, const struct fs_txn_rec *rec, uint32_t nrec)
{
	memset(sum, 0, FS_JNL_SUM_WORDS * sizeof(*sum));
	for (uint32_t i = 0; i < nrec; i++)
		sum_add(sum, rec[i].off, rec[i].len);
}

/* Store lane @l's filter where it changes (a store the other lanes'
 * caches then fetch again). */
static void sum_publish(struct fs_jlane *l, const uint64_t *sum)
{
	for (int w = 0; w < FS_JNL_SUM_WORDS; w++)
		if (atomic_load_explicit(&l->sum[w], memory_order_relaxed) != sum[w])
			atomic_store_explicit(&l->sum[w], sum[w], memory_order_release);
}

/* The stores between pend_begin and pend_end are releases, so that a
 * reader that sees one of them sees the odd count before it too; the
 * reader's loads are acquires, so that its second look at the count
 * comes after them (fences would do both, but ThreadSanitizer does not
 * follow fences). */
static void pend_begin(struct fs_jlane *l)
{
	atomic_store_explicit(&l->pseq, atomic_load_explicit(&l->pseq,
			      memory_order_relaxed) + 1, memory_order_relaxed);
}

static void pend_end(struct fs_jlane *l)
{
	atomic_store_explicit(&l->pseq, atomic_load_explicit(&l->pseq,
			      memory_order_relaxed) + 1, memory_order_release);
}

/* Lane @l's header on media is no transaction's any more. */
static void pend_none(struct fs_core *c, struct fs_jlane *l)
{
	static const uint64_t zero[FS_JNL_SUM_WORDS];

	pend_begin(l);
	atomic_store_explicit(&l->pending, false, memory_order_release);
	atomic_store_explicit(&l->pend_nrec, 0, memory_order_release);
	pend_end(l);
	sum_publish(l, zero);
	atomic_fetch_and_explicit(&c->lanes_pending, ~(1u << (l - c->lane)),
				  memory_order_release);
}

/* The lanes other than @self whose header may be a transaction's. */
static uint32_t lanes_other(struct fs_core *c, uint32_t self)
{
	return atomic_load_explicit(&c->lanes_pending, memory_order_acquire) &
	       ~(1u << self);
}

/* Whether @l's pending transaction (as read) writes a byte of @rec's. */
static bool pend_hit(struct fs_jlane *l, const struct fs_txn_rec *rec,
		     uint32_t nrec)
{
	uint32_t n;

	if (!atomic_load_explicit(&l->pending, memory_order_acquire))
		return false;
	n = atomic_load_explicit(&l->pend_nrec, memory_order_acquire);
	if (n > FS_JNL_PEND_MAX)
		return true;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t lo = atomic_load_explicit(&l->pend[i].lo, memory_order_acquire);
		uint64_t hi = atomic_load_explicit(&l->pend[i].hi, memory_order_acquire);

		for (uint32_t j = 0; j < nrec; j++)
			if (rec[j].off < hi && rec[j].off + rec[j].len > lo)
				return true;
	}
	return false;
}

/*
 * pend_hit without the lane's lock, for @rec of filter @sum: false at once
 * where the filters share no bit (the common case, which reads one line
 * that seldom changes); true also when the lane changed under every look
 * (then the caller looks again under the lock).
 */
static bool lane_hit(struct fs_jlane *l, const struct fs_txn_rec *rec,
		     uint32_t nrec, const uint64_t *sum)
{
	bool meet = false;

	for (int w = 0; w < FS_JNL_SUM_WORDS; w++)
		meet |= (atomic_load_explicit(&l->sum[w], memory_order_acquire) &
			 sum[w]) != 0;
	if (!meet)
		return false;
	for (int tries = 0; tries < 4; tries++) {
		uint32_t s = atomic_load_explicit(&l->pseq, memory_order_acquire);
		bool hit;

		if (s & 1)
			continue;
		hit = pend_hit(l, rec, nrec);
		if (atomic_load_explicit(&l->pseq, memory_order_relaxed) == s)
			return hit;
	}
	return true;
}

/*
 * Fence: every flush of this thread so far and the lane's pending home
 * writes become durable.  The lane's last commit stored those but did not
 * flush them (fs_txn_commit): they are flushed here, by whichever thread
 * fences in the lane next, so that their write-back overlaps this commit's
 * own (hardware orders only the issuing thread's write-backs anyway).
 * Lane lock held.  On failure nothing is known durable and the last
 * commit stays pending (its header and body are intact).
 */
static int fence_pending(struct udax_fs *fs, struct fs_jlane *l)
{
	int ret = 0, r;

	if (l->unflushed) {
		uint32_t n = atomic_load_explicit(&l->pend_nrec, memory_order_relaxed);

		for (uint32_t i = 0; i < n && n <= FS_JNL_PEND_MAX; i++) {
			uint64_t lo = atomic_load_explicit(&l->pend[i].lo,
							   memory_order_relaxed);
			uint64_t hi = atomic_load_explicit(&l->pend[i].hi,
							   memory_order_relaxed);

			r = udax_dev_flush(fs->dev, fs->base + lo, hi - lo);
			if (!ret)
				ret = r;
		}
	}
	r = udax_dev_drain(fs->dev);
	if (!ret)
		ret = r;
	if (!ret)
		l->unflushed = false;
	return ret;
}

/* Lane lock held: its last commit durable at home, its header zero. */
static int settle_locked(struct udax_fs *fs, struct fs_jlane *l)
{
	int ret;

	if (!atomic_load_explicit(&l->pending, memory_order_relaxed))
		return 0;
	ret = fence_pending(fs, l);
	if (!ret)
		ret = hdr_zero(fs, l);
	if (!ret)
		pend_none(C(fs), l);
	return ret;
}

int fs_journal_settle(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);
	int ret = 0;

	for (uint32_t k = 0; k < c->nlanes; k++) {
		struct fs_jlane *l = &c->lane[k];
		int r;

		if (!atomic_load_explicit(&l->pending, memory_order_relaxed))
			continue;
		pthread_mutex_lock(&l->lock);
		/* Shut down: nothing is written any more, the next mount
		 * replays. */
		r = fs_is_shut_down(fs) ? 0 : settle_locked(fs, l);
		if (r)
			r = fs_shutdown(fs, r, "journal settle");
		pthread_mutex_unlock(&l->lock);
		if (!ret)
			ret = r;
	}
	return ret;
}

/* Settle lane @l if its pending transaction writes a byte of @rec (of
 * filter @sum). */
static void settle_if_hit(struct udax_fs *fs, struct fs_jlane *l,
			  const struct fs_txn_rec *rec, uint32_t nrec,
			  const uint64_t *sum)
{
	int ret;

	if (!lane_hit(l, rec, nrec, sum))
		return;
	pthread_mutex_lock(&l->lock);
	if (pend_hit(l, rec, nrec) && !fs_is_shut_down(fs)) {
		ret = settle_locked(fs, l);
		if (ret)
			fs_shutdown(fs, ret, "journal settle");
	}
	pthread_mutex_unlock(&l->lock);
}

void fs_journal_settle_range(struct udax_fs *fs, uint64_t pblk, uint64_t n)
{
	struct fs_core *c = C(fs);
	uint64_t lo = pblk * FS_BS, hi = (pblk + n) * FS_BS;
	struct fs_txn_rec r = { lo, 0, 0 };
	uint64_t sum[FS_JNL_SUM_WORDS];

	/* A range of blocks as one record (its length may pass 32 bits). */
	for (; lo < hi; lo += r.len) {
		r.off = lo;
		r.len = hi - lo > (1u << 30) ? 1u << 30 : (uint32_t)(hi - lo);
		sum_of(sum, &r, 1);
		for (uint32_t m = lanes_other(c, FS_JNL_LANES_MAX); m; m &= m - 1)
			settle_if_hit(fs, &c->lane[__builtin_ctz(m)], &r, 1, sum);
	}
}

/*
 * Where the body of @nb blocks goes in lane @l: its first block after the
 * header or its middle one, whichever leaves the pending commit's body
 * whole (its header is valid until the new one replaces it).  0 if
 * neither does.
 */
static uint32_t body_place(const struct fs_jlane *l, uint32_t nb)
{
	uint32_t end = l->first + l->nblocks;
	uint32_t cand[2] = { l->first + 1 + (l->nblocks - 1) / 2, l->first + 1 };

	if (!atomic_load_explicit(&l->pending, memory_order_relaxed))
		return l->first + 1;
	for (int k = 0; k < 2; k++) {
		uint32_t s = cand[k];

		if (s + nb <= end && (s + nb <= l->pend_body[0] ||
				      s >= l->pend_body[1]))
			return s;
	}
	return 0;
}

/*
 * Why lanes may commit at once.  Two transactions that write a byte in
 * common are ordered by a lock both hold across their commits (the
 * inode's that owns the byte, or ns_lock for directory blocks), or by the
 * byte's block being freed in between (fs_journal_settle_range settles
 * the older one then).  So when a commit begins, any other lane's header
 * that covers one of its bytes belongs to a commit that has ended, and no
 * new one can appear meanwhile; settling those lanes first leaves the
 * lanes' valid headers on media writing disjoint bytes at every instant,
 * and a replay may apply them in any order (fs_journal_load_all refuses
 * media where they are not).  Without the settle, the older header could
 * outlive the newer one (its lane's next commit replaces it) and a replay
 * would write stale bytes over newer ones.
 */
int fs_txn_commit(struct fs_txn *t)
{
	struct udax_fs *fs = t->fs;
	struct fs_core *c = C(fs);
	struct fs_jlane *l;
	char *jbase = fs->base + c->sb.journal_start * FS_BS, *jbody;
	struct fs_djhdr h;
	uint64_t sum[FS_JNL_SUM_WORDS];
	size_t body = 0, pos;
	uint32_t crc = 0, bblk, nb, k;
	bool keep;
	int ret;

	if (t->err)
		return t->err;
	if (!t->nrec)
		return 0;
	for (uint32_t i = 0; i < t->nrec; i++)
		body += rec_space(t->rec[i].len);
	if (body > fs_journal_max_body(&c->sb))
		return fs_error(-ENOSPC, "transaction of %zu bytes exceeds the journal",
				body);
	nb = (uint32_t)((body + FS_BS - 1) / FS_BS);
	k = my_lane(c);
	if (nb > c->lane[k].nblocks - 1)
		k = 0;			/* the large lane */
	sum_of(sum, t->rec, t->nrec);
	for (uint32_t m = lanes_other(c, k); m; m &= m - 1)
		settle_if_hit(fs, &c->lane[__builtin_ctz(m)], t->rec, t->nrec, sum);
	l = &c->lane[k];

	pthread_mutex_lock(&l->lock);
	if (fs_is_shut_down(fs)) {
		ret = fs_check_rw(fs);
		goto out;
	}
	bblk = body_place(l, nb);
	if (!bblk) {
		/* Too big to leave the pending body whole: settle first. */
		ret = settle_locked(fs, l);
		if (ret) {
			ret = fs_shutdown(fs, ret, "journal commit (settle)");
			goto out;
		}
		bblk = l->first + 1;
	}
	jbody = jbase + (size_t)bblk * FS_BS;
	pos = 0;
	for (uint32_t i = 0; i < t->nrec; i++) {
		struct fs_djrec r = { t->rec[i].off, t->rec[i].len, 0 };
		size_t pad = ((t->rec[i].len + 7) & ~7u) - t->rec[i].len;

		memcpy(jbody + pos, &r, sizeof(r));
		crc = udax_crc32c(crc, &r, sizeof(r));
		pos += sizeof(r);
		memcpy(jbody + pos, t->buf + t->rec[i].data, t->rec[i].len);
		crc = udax_crc32c(crc, t->buf + t->rec[i].data, t->rec[i].len);
		pos += t->rec[i].len;
		memset(jbody + pos, 0, pad);
		crc = udax_crc32c(crc, jbody + pos, pad);
		pos += pad;
	}
	/*
	 * The header is zero or the pending commit's, whose body this one
	 * did not touch.  One fence makes the body durable and the pending
	 * commit's home writes too: after it the old header may go.  On
	 * failure a crash recovers the pending commit (or nothing).
	 */
	ret = udax_dev_flush(fs->dev, jbody, body);
	if (!ret)
		ret = fence_pending(fs, l);
	if (ret) {
		ret = fs_error(ret, "journal commit: persisting the body failed: %s",
			       udax_strerror(ret));
		goto out;
	}
	memset(&h, 0, sizeof(h));
	h.magic = FS_JNL_MAGIC;
	h.version = FS_VERSION;
	h.nr_records = t->nrec;
	h.seq = ++l->seq;
	h.body_len = body;
	h.body_crc = crc;
	h.body_blk = bblk;
	h.crc = udax_crc32c(0, &h, offsetof(struct fs_djhdr, crc));
	ret = udax_dev_memcpy_persist(fs->dev, lane_hdr(fs, l), &h, sizeof(h), 0);
	if (ret) {
		/*
		 * The header may or may not be on media: a crash now could
		 * recover either state.  Take it back; once its zeroes are
		 * durable the transaction never happened (and neither did
		 * the pending one's header: its home writes are durable),
		 * and the caller's rollback of memory is the truth.  If even
		 * that fails, media may hold either state: shut down.
		 */
		int err = ret;

		if (hdr_zero(fs, l)) {
			ret = fs_shutdown(fs, err, "journal commit (commit record)");
		} else {
			pend_none(C(fs), l);
			ret = fs_error(err, "journal commit: persisting the commit "
				       "record failed: %s", udax_strerror(err));
		}
		goto out;
	}
	/*
	 * Committed: from here on the transaction is on media.  Its home
	 * writes are stored, not flushed, and the header stays: a crash
	 * before the lane's next fence replays it (redo: idempotent), and
	 * that fence flushes them first (fence_pending).  Flushing them here
	 * cost a third wait for write-back: the lock release after it, an
	 * atomic exchange, waits for this thread's write-backs to end.
	 * Unless it wrote a data block (writes bypassing the journal may
	 * follow) or is too long to remember: then they are flushed and
	 * settled now.
	 */
	keep = !t->settle && t->nrec <= FS_JNL_PEND_MAX;
	if (!(atomic_load_explicit(&c->lanes_pending, memory_order_relaxed) &
	      (1u << k)))
		atomic_fetch_or_explicit(&c->lanes_pending, 1u << k,
					 memory_order_release);
	sum_publish(l, sum);
	pend_begin(l);
	atomic_store_explicit(&l->pending, true, memory_order_release);
	atomic_store_explicit(&l->pend_nrec, keep ? t->nrec : FS_JNL_ALL,
			      memory_order_release);
	for (uint32_t i = 0; keep && i < t->nrec; i++) {
		atomic_store_explicit(&l->pend[i].lo, t->rec[i].off,
				      memory_order_release);
		atomic_store_explicit(&l->pend[i].hi, t->rec[i].off + t->rec[i].len,
				      memory_order_release);
	}
	pend_end(l);
	l->pend_body[0] = bblk;
	l->pend_body[1] = bblk + nb;
	ret = checkpoint(fs, t->rec, t->nrec, t->buf, !keep);
	if (ret) {
		/* Home locations may be partly written; the journal keeps
		 * the header so that the next mount replays it. */
		ret = fs_shutdown(fs, ret, "journal checkpoint");
		goto out;
	}
	l->unflushed = keep;
	if (!keep) {
		ret = settle_locked(fs, l);	/* this thread flushed them */
		if (ret)
			ret = fs_shutdown(fs, ret, "journal clear");
	}
out:
	pthread_mutex_unlock(&l->lock);
	return ret;
}

void fs_jtxn_free(struct fs_jtxn *jt)
{
	free(jt->body);
	free(jt->rec);
	memset(jt, 0, sizeof(*jt));
}

int fs_journal_load(struct udax_fs *fs, uint32_t k, struct fs_jtxn *jt)
{
	struct fs_core *c = C(fs);
	const char *jbase = fs->base + c->sb.journal_start * FS_BS;
	uint64_t lo = c->sb.itable_start * FS_BS, hi = fs->nr_blocks * FS_BS;
	struct fs_djhdr *h = &jt->h;
	uint32_t first = c->lane[k].first, nblocks = c->lane[k].nblocks, bblk;
	uint64_t max;
	size_t pos;

	memset(jt, 0, sizeof(*jt));
	memcpy(h, lane_hdr(fs, &c->lane[k]), sizeof(*h));
	if (h->magic != FS_JNL_MAGIC ||
	    h->crc != udax_crc32c(0, h, offsetof(struct fs_djhdr, crc))) {
		static const struct fs_djhdr zero;

		jt->torn = memcmp(h, &zero, sizeof(*h)) != 0;
		return 0;	/* empty, or a commit that never completed */
	}
	bblk = h->body_blk ? h->body_blk : first + 1;
	max = bblk > first && bblk < first + nblocks ?
	      (uint64_t)(first + nblocks - bblk) * FS_BS : 0;
	if (h->version != FS_VERSION || !h->nr_records || h->body_len > max ||
	    h->body_len < h->nr_records * sizeof(struct fs_djrec))
		return fs_error(-EUCLEAN, "journal lane %u header: bad fields (seq %llu)",
				k, (unsigned long long)h->seq);
	jt->body = fault_malloc(h->body_len);
	jt->rec = fault_calloc(h->nr_records, sizeof(*jt->rec));
	if (!jt->body || !jt->rec) {
		fs_jtxn_free(jt);
		return fs_error(-ENOMEM, "journal: out of memory");
	}
	memcpy(jt->body, jbase + (size_t)bblk * FS_BS, h->body_len);
	if (udax_crc32c(0, jt->body, h->body_len) != h->body_crc) {
		fs_error(-EUCLEAN, "journal lane %u: transaction %llu: body checksum "
			 "mismatch", k, (unsigned long long)h->seq);
		goto bad;
	}
	pos = 0;
	for (uint32_t i = 0; i < h->nr_records; i++) {
		struct fs_djrec r;

		if (pos + sizeof(r) > h->body_len)
			goto bad_record;
		memcpy(&r, jt->body + pos, sizeof(r));
		pos += sizeof(r);
		if (!r.len || r.len > FS_BS || r.reserved || r.off < lo ||
		    r.off > hi || r.len > hi - r.off ||
		    rec_space(r.len) - sizeof(r) > h->body_len - pos)
			goto bad_record;
		jt->rec[i] = (struct fs_txn_rec){ r.off, r.len, (uint32_t)pos };
		pos += rec_space(r.len) - sizeof(r);
	}
	if (pos != h->body_len) {
		fs_error(-EUCLEAN, "journal lane %u: transaction %llu: trailing bytes",
			 k, (unsigned long long)h->seq);
		goto bad;
	}
	jt->nrec = h->nr_records;
	return 1;
bad_record:
	fs_error(-EUCLEAN, "journal lane %u: transaction %llu: a record is out of "
		 "bounds", k, (unsigned long long)h->seq);
bad:
	fs_jtxn_free(jt);
	return -EUCLEAN;
}

/* Whether two lanes' transactions write a byte in common. */
static bool jtxn_overlap(const struct fs_jtxn *a, const struct fs_jtxn *b)
{
	for (uint32_t i = 0; i < a->nrec; i++)
		for (uint32_t j = 0; j < b->nrec; j++)
			if (a->rec[i].off < b->rec[j].off + b->rec[j].len &&
			    b->rec[j].off < a->rec[i].off + a->rec[i].len)
				return true;
	return false;
}

void fs_jtxn_free_all(struct fs_jtxn jt[FS_JNL_LANES_MAX])
{
	for (uint32_t k = 0; k < FS_JNL_LANES_MAX; k++)
		fs_jtxn_free(&jt[k]);
}

int fs_journal_load_all(struct udax_fs *fs, struct fs_jtxn jt[FS_JNL_LANES_MAX])
{
	uint32_t n = C(fs)->nlanes;
	int ret = 0, r;

	memset(jt, 0, FS_JNL_LANES_MAX * sizeof(*jt));
	for (uint32_t k = 0; k < n && ret >= 0; k++) {
		r = fs_journal_load(fs, k, &jt[k]);
		ret = r < 0 ? r : ret + r;
	}
	for (uint32_t a = 0; a < n && ret > 1; a++)
		for (uint32_t b = a + 1; b < n && ret > 1; b++)
			if (jtxn_overlap(&jt[a], &jt[b]))
				ret = fs_error(-EUCLEAN, "journal: the transactions "
					       "of lanes %u and %u write the same "
					       "bytes", a, b);
	if (ret < 0)
		fs_jtxn_free_all(jt);
	return ret;
}

int fs_journal_replay(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);
	struct fs_jtxn jt[FS_JNL_LANES_MAX];
	int ret = fs_journal_load_all(fs, jt), r;

	if (ret <= 0)
		return ret;
	/* Disjoint: any order.  All home and durable before any lane is
	 * emptied; a crash in between replays them again (redo). */
	ret = 0;
	for (uint32_t k = 0; k < c->nlanes; k++) {
		if (!jt[k].nrec)
			continue;
		c->lane[k].seq = jt[k].h.seq;
		r = checkpoint(fs, jt[k].rec, jt[k].nrec, jt[k].body, true);
		if (!ret)
			ret = r;
	}
	r = udax_dev_drain(fs->dev);
	if (!ret)
		ret = r;
	for (uint32_t k = 0; k < c->nlanes && !ret; k++)
		if (jt[k].nrec)
			ret = fs_journal_clear(fs, k);
	if (ret)
		fs_error(ret, "journal replay: persist failed");
	fs_jtxn_free_all(jt);
	return ret;
}
