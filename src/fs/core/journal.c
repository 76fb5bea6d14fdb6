/* SPDX-License-Identifier: MIT */
/*
 * fs core: the journal, a redo log of metadata byte ranges.
 *
 * A transaction is a list of (partition offset, new bytes) records for
 * inode records, directory blocks and extent blocks.  Commit:
 *
 *	1. write the records to journal block 1.. and persist them;
 *	2. write the header (block 0 of the journal): sequence number,
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
 * One transaction at a time (txn_lock); every metadata operation commits
 * before it returns, so the journal never holds more than one.
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
 * Write each record home; with @flush, flush it; with @drain, make it
 * durable.  Every record is stored even after a flush failed: the mapping
 * then holds the whole committed state, whatever reached media (the
 * journal still has it all).  Returns the first error.
 */
static int checkpoint(struct udax_fs *fs, const struct fs_txn_rec *rec,
		      uint32_t nrec, const uint8_t *buf, bool flush, bool drain)
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
	if (!drain)
		return ret;
	r = udax_dev_drain(fs->dev);
	return ret ? ret : r;
}

int fs_journal_clear(struct udax_fs *fs)
{
	char *hdr = fs->base + C(fs)->sb.journal_start * FS_BS;

	return udax_dev_memset_persist(fs->dev, hdr, 0,
				       sizeof(struct fs_djhdr), 0);
}

/*
 * Fence: every flush of this thread so far and the pending home writes of
 * the last commit become durable.  The commit stored those but did not
 * flush them (fs_txn_commit): they are flushed here, by whichever thread
 * fences next, so that their write-back overlaps this commit's own
 * (hardware orders only the issuing thread's write-backs anyway).
 * txn_lock held.  On failure nothing is known durable and the last
 * commit stays pending (its header and body are intact).
 */
static int fence_pending(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);
	int ret = 0, r;

	if (atomic_load_explicit(&c->pending, memory_order_relaxed)) {
		for (uint32_t i = 0; i < c->pend_nrec; i++) {
			r = udax_dev_flush(fs->dev, fs->base + c->pend_rec[i].off,
					   c->pend_rec[i].len);
			if (!ret)
				ret = r;
		}
	}
	r = udax_dev_drain(fs->dev);
	if (!ret)
		ret = r;
	if (!ret)
		atomic_store_explicit(&c->pending, false, memory_order_relaxed);
	return ret;
}

/* txn_lock held: the last commit durable at home, the journal empty. */
static int settle_locked(struct udax_fs *fs)
{
	int ret;

	if (!atomic_load_explicit(&C(fs)->pending, memory_order_relaxed))
		return 0;
	ret = fence_pending(fs);
	if (!ret)
		ret = fs_journal_clear(fs);
	return ret;
}

int fs_journal_settle(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);
	int ret;

	if (!atomic_load_explicit(&c->pending, memory_order_relaxed))
		return 0;
	pthread_mutex_lock(&c->txn_lock);
	/* Shut down: nothing is written any more, the next mount replays. */
	ret = fs_is_shut_down(fs) ? 0 : settle_locked(fs);
	if (ret)
		ret = fs_shutdown(fs, ret, "journal settle");
	pthread_mutex_unlock(&c->txn_lock);
	return ret;
}

void fs_journal_settle_range(struct udax_fs *fs, uint64_t pblk, uint64_t n)
{
	struct fs_core *c = C(fs);
	uint64_t lo = pblk * FS_BS, hi = (pblk + n) * FS_BS;
	bool hit = false;
	int ret;

	if (!atomic_load_explicit(&c->pending, memory_order_relaxed))
		return;
	pthread_mutex_lock(&c->txn_lock);
	for (uint32_t i = 0; i < c->pend_nrec && !hit; i++)
		hit = c->pend_rec[i].off < hi &&
		      c->pend_rec[i].off + c->pend_rec[i].len > lo;
	if (hit && !fs_is_shut_down(fs)) {
		ret = settle_locked(fs);
		if (ret)
			fs_shutdown(fs, ret, "journal settle");
	}
	pthread_mutex_unlock(&c->txn_lock);
}

/*
 * Where the body of @nb blocks goes: journal block 1 or the middle one,
 * whichever leaves the pending commit's body whole (its header is valid
 * until the new one replaces it).  0 if neither does.
 */
static uint32_t body_place(struct fs_core *c, uint32_t nb)
{
	uint32_t jb = (uint32_t)c->sb.journal_blocks;
	uint32_t cand[2] = { 1 + (jb - 1) / 2, 1 };

	if (!atomic_load_explicit(&c->pending, memory_order_relaxed))
		return 1;
	for (int k = 0; k < 2; k++) {
		uint32_t s = cand[k];

		if (s + nb <= jb && (s + nb <= c->pend_body[0] ||
				     s >= c->pend_body[1]))
			return s;
	}
	return 0;
}

int fs_txn_commit(struct fs_txn *t)
{
	struct udax_fs *fs = t->fs;
	struct fs_core *c = C(fs);
	char *jbase = fs->base + c->sb.journal_start * FS_BS, *jbody;
	struct fs_djhdr h;
	size_t body = 0, pos;
	uint32_t crc = 0, bblk, nb;
	bool keep;
	int ret;

	if (t->err)
		return t->err;
	if (!t->nrec)
		return 0;
	for (uint32_t i = 0; i < t->nrec; i++)
		body += rec_space(t->rec[i].len);
	if (body > (c->sb.journal_blocks - 1) * FS_BS)
		return fs_error(-ENOSPC, "transaction of %zu bytes exceeds the journal",
				body);
	nb = (uint32_t)((body + FS_BS - 1) / FS_BS);

	pthread_mutex_lock(&c->txn_lock);
	if (fs_is_shut_down(fs)) {
		ret = fs_check_rw(fs);
		goto out;
	}
	bblk = body_place(c, nb);
	if (!bblk) {
		/* Too big to leave the pending body whole: settle first. */
		ret = settle_locked(fs);
		if (ret) {
			ret = fs_shutdown(fs, ret, "journal commit (settle)");
			goto out;
		}
		bblk = 1;
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
		ret = fence_pending(fs);
	if (ret) {
		ret = fs_error(ret, "journal commit: persisting the body failed: %s",
			       udax_strerror(ret));
		goto out;
	}
	memset(&h, 0, sizeof(h));
	h.magic = FS_JNL_MAGIC;
	h.version = FS_VERSION;
	h.nr_records = t->nrec;
	h.seq = ++c->seq;
	h.body_len = body;
	h.body_crc = crc;
	h.body_blk = bblk == 1 ? 0 : bblk;
	h.crc = udax_crc32c(0, &h, offsetof(struct fs_djhdr, crc));
	ret = udax_dev_memcpy_persist(fs->dev, jbase, &h, sizeof(h), 0);
	if (ret) {
		/*
		 * The header may or may not be on media: a crash now could
		 * recover either state.  Take it back; once its zeroes are
		 * durable the transaction never happened, and the caller's
		 * rollback of memory is the truth.  If even that fails, media
		 * may hold either state: shut down.
		 */
		int err = ret;

		if (fs_journal_clear(fs))
			ret = fs_shutdown(fs, err, "journal commit (commit record)");
		else
			ret = fs_error(err, "journal commit: persisting the commit "
				       "record failed: %s", udax_strerror(err));
		goto out;
	}
	/*
	 * Committed: from here on the transaction is on media.  Its home
	 * writes are stored, not flushed, and the header stays: a crash
	 * before the next fence replays it (redo: idempotent), and the next
	 * fence flushes them first (fence_pending).  Flushing them here cost
	 * a third wait for write-back: the lock release after it, an atomic
	 * exchange, waits for this thread's write-backs to end.  Unless it
	 * wrote a data block (writes bypassing the journal may follow) or is
	 * too long to remember: then they are flushed and settled now.
	 */
	keep = !t->settle && t->nrec <= FS_JNL_PEND_MAX;
	ret = checkpoint(fs, t->rec, t->nrec, t->buf, !keep, false);
	if (ret) {
		/* Home locations may be partly written; the journal keeps
		 * the header so that the next mount replays it. */
		ret = fs_shutdown(fs, ret, "journal checkpoint");
		goto out;
	}
	c->pend_body[0] = bblk;
	c->pend_body[1] = bblk + nb;
	atomic_store_explicit(&c->pending, true, memory_order_relaxed);
	if (!keep) {
		c->pend_nrec = 0;	/* this thread flushed them */
		ret = settle_locked(fs);
		if (ret)
			ret = fs_shutdown(fs, ret, "journal clear");
		goto out;
	}
	c->pend_nrec = t->nrec;
	memcpy(c->pend_rec, t->rec, t->nrec * sizeof(*t->rec));
out:
	pthread_mutex_unlock(&c->txn_lock);
	return ret;
}

void fs_jtxn_free(struct fs_jtxn *jt)
{
	free(jt->body);
	free(jt->rec);
	memset(jt, 0, sizeof(*jt));
}

int fs_journal_load(struct udax_fs *fs, struct fs_jtxn *jt)
{
	struct fs_core *c = C(fs);
	const char *jbase = fs->base + c->sb.journal_start * FS_BS;
	uint64_t lo = c->sb.itable_start * FS_BS, hi = fs->nr_blocks * FS_BS;
	struct fs_djhdr *h = &jt->h;
	uint64_t max;
	uint32_t bblk;
	size_t pos;

	memset(jt, 0, sizeof(*jt));
	memcpy(h, jbase, sizeof(*h));
	if (h->magic != FS_JNL_MAGIC ||
	    h->crc != udax_crc32c(0, h, offsetof(struct fs_djhdr, crc))) {
		static const struct fs_djhdr zero;

		jt->torn = memcmp(h, &zero, sizeof(*h)) != 0;
		return 0;	/* empty, or a commit that never completed */
	}
	bblk = h->body_blk ? h->body_blk : 1;
	max = bblk < c->sb.journal_blocks ?
	      (c->sb.journal_blocks - bblk) * FS_BS : 0;
	if (h->version != FS_VERSION || !h->nr_records || h->body_len > max ||
	    h->body_len < h->nr_records * sizeof(struct fs_djrec))
		return fs_error(-EUCLEAN, "journal header: bad fields (seq %llu)",
				(unsigned long long)h->seq);
	jt->body = fault_malloc(h->body_len);
	jt->rec = fault_calloc(h->nr_records, sizeof(*jt->rec));
	if (!jt->body || !jt->rec) {
		fs_jtxn_free(jt);
		return fs_error(-ENOMEM, "journal: out of memory");
	}
	memcpy(jt->body, jbase + (size_t)bblk * FS_BS, h->body_len);
	if (udax_crc32c(0, jt->body, h->body_len) != h->body_crc) {
		fs_error(-EUCLEAN, "journal: transaction %llu: body checksum mismatch",
			 (unsigned long long)h->seq);
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
		fs_error(-EUCLEAN, "journal: transaction %llu: trailing bytes",
			 (unsigned long long)h->seq);
		goto bad;
	}
	jt->nrec = h->nr_records;
	return 1;
bad_record:
	fs_error(-EUCLEAN, "journal: transaction %llu: a record is out of bounds",
		 (unsigned long long)h->seq);
bad:
	fs_jtxn_free(jt);
	return -EUCLEAN;
}

int fs_journal_replay(struct udax_fs *fs)
{
	struct fs_jtxn jt;
	int ret = fs_journal_load(fs, &jt);

	if (ret <= 0)
		return ret;
	C(fs)->seq = jt.h.seq;
	ret = checkpoint(fs, jt.rec, jt.nrec, jt.body, true, true);
	if (!ret)
		ret = fs_journal_clear(fs);
	if (ret)
		fs_error(ret, "journal replay: persist failed");
	fs_jtxn_free(&jt);
	return ret;
}
