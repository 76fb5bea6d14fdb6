/* SPDX-License-Identifier: MIT */
/*
 * fs core: the fast log, durable appends as 64-byte records.
 *
 * The journal (journal.c) makes any metadata change atomic, at the price
 * of a transaction: four fences, the changed inode record and leaf bytes
 * written twice, buffers allocated.  The common durable write is an
 * append to a file whose last extent the per-file reservation lets grow
 * in place (fs_block_alloc_rsv): all it changes is the size, the times
 * and the length of the last extent.  That change is one record of a log
 * area (struct fs_dlrec, one cache line), after the data:
 *
 *	1. copy the data into the fresh blocks (zeroes after it in the last
 *	   one), write back their lines; fence;
 *	2. store the record (size, mtime, the last extent's new length,
 *	   a sequence number, crc32c) in the next slot of the thread's
 *	   area, write back its line; fence.  The record is the commit
 *	   point: a crash before it leaves the data in blocks no one maps;
 *	   a torn record fails its crc and is ignored.
 *	3. lengthen the last extent in memory (no copy of the map), set the
 *	   size: nothing is allocated, and the blocks come from the head of
 *	   the file's reservation under a lock of the inode (fs_rsv_take):
 *	   the allocator's lock only when the reservation is used up.
 *
 * Areas: sb.log_areas rings of sb.log_area_blocks blocks, one per thread
 * slot (threads are dealt slots in turn), each with a mutex held only to
 * take a slot: appenders to different files on different threads share
 * no lock and no line of the log.  Records of one inode are ordered by
 * its lock and numbered by the inode (i->log_seq + 1): appenders of
 * different files share no counter either.  The record carries the whole
 * new state, so the newest one of an inode is all that replay needs.
 *
 * Checkpoint: fs_inode_sync_times() writes the inode record and its last
 * leaf through the journal, with log_seq (core.h) = the inode's newest
 * record: every record at or below it is stale.  It runs at eviction (so
 * at unmount), when a ring is half full (fs_log_maybe_retire: each inode
 * named in the older half, one inode lock at a time, then the half is
 * free), and any journal transaction of the inode carries the last leaf
 * too (fs_txn_inode), so the journal and the log never disagree about
 * it.  Records of an earlier inode of the same number must be stale for
 * a new one even where the generation repeats (next_gen is rebuilt at
 * mount from the live inodes): c->log_seq is at least every number an
 * inode freed since mount used (fs_log_forget, before its number is
 * free) and every number on media at mount, and a new inode starts there.
 *
 * Mount (fs_log_mount), after the journal's replay and the inode scan:
 * every valid record is checked (ino, extent inside the data area); the
 * newest one of each inode newer than its record must lengthen that
 * inode's last written extent into blocks nobody owns (else -EUCLEAN:
 * fsck reports it); it is applied in memory and checkpointed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/crc32c.h>

#include "fs/core.h"

static _Atomic unsigned log_next_slot;
static _Thread_local unsigned log_slot = ~0u;
/* The area (and its fs) this thread's last append tried, for the retire. */
static _Thread_local struct fs_logarea *log_used;
static _Thread_local struct udax_fs *log_used_fs;

uint32_t fs_dlrec_crc(const struct fs_dlrec *rec)
{
	return udax_crc32c(0, (const char *)rec + 8, sizeof(*rec) - 8);
}

bool fs_dlrec_valid(const struct fs_dlrec *rec)
{
	return rec->magic == FS_LOG_MAGIC && rec->crc == fs_dlrec_crc(rec);
}

int fs_dlrec_check(const struct fs_dlrec *rec, const struct fs_dsuper *sb,
		   const char **why)
{
	uint64_t len = rec->len;

	if (!rec->seq)
		*why = "sequence number 0";
	else if (!rec->ino || rec->ino >= sb->nr_inodes)
		*why = "inode number out of range";
	else if (!len || len > FS_DEXT_MAXLEN)
		*why = "bad extent length";
	else if (rec->pblk < sb->data_start || rec->pblk >= sb->nr_blocks ||
		 len > sb->nr_blocks - rec->pblk)
		*why = "extent outside the data area";
	else if ((uint64_t)rec->lblk + len > FS_MAX_LBLK)
		*why = "extent past the maximum file size";
	else if (rec->size > ((uint64_t)rec->lblk + len) * FS_BS ||
		 rec->size <= ((uint64_t)rec->lblk + len - 1) * FS_BS)
		*why = "size does not end in the last block";
	else if (rec->reserved)
		*why = "reserved field not zero";
	else
		return 0;
	return -EUCLEAN;
}

static struct fs_logarea *my_area(struct udax_fs *fs)
{
	if (log_slot == ~0u)
		log_slot = atomic_fetch_add_explicit(&log_next_slot, 1,
						     memory_order_relaxed);
	return &C(fs)->log[log_slot % C(fs)->sb.log_areas];
}

int fs_log_append(struct udax_file *f, const void *buf, size_t n,
		  uint64_t off, size_t *done)
{
	struct udax_fs *fs = f->fs;
	struct fs_core *c = C(fs);
	struct fs_inode *i = f->inode;
	struct fs_xleaf *l;
	struct fs_extent *e;
	struct fs_logarea *a;
	struct fs_dlrec rec;
	uint64_t nb, end = off + n, goal, p = 0, got = 0, slot;
	char *dst, *rdst;
	int64_t now;
	int ret;

	/* A plain append at a block boundary onto a written last extent
	 * that ends the file (bytes past EOF in a partial last block must
	 * change with the size: the journal's case). */
	if (!c->log || off != i->size || off % FS_BS || !n ||
	    n > FS_MAX_SIZE - off || !i->nleaf)
		return 0;
	l = i->leaf[i->nleaf - 1];
	e = &l->e[l->n - 1];
	nb = (n + FS_BS - 1) / FS_BS;
	if ((e->flags & FS_EXT_UNWRITTEN) || e->lblk + e->len != off / FS_BS ||
	    e->len + nb > FS_DEXT_MAXLEN)
		return 0;
	a = my_area(fs);
	log_used = a;
	log_used_fs = fs;
	pthread_mutex_lock(&a->lock);
	if (a->tail - a->head >= a->nrec) {
		pthread_mutex_unlock(&a->lock);
		return 0;	/* full until retired: the journal takes it */
	}
	slot = a->tail++ % a->nrec;
	a->ino[slot] = i->ino;
	pthread_mutex_unlock(&a->lock);
	/* From here a slot is taken; left unwritten on failure it holds a
	 * stale record or zeroes, and the retire passes over it. */

	goal = e->pblk + e->len;
	/* The file's reservation, without the allocator's lock; when it is
	 * used up, the allocator (which reserves the next run). */
	ret = fs_rsv_take(i, a, goal, nb);
	if (ret < 0)
		return ret;
	if (ret) {
		p = goal;
		got = nb;
	} else {
		/* First fit: only a contiguous run is of use here. */
		ret = fs_block_alloc_rsv(fs, i, goal, nb, FS_NO_ALIGN, true,
					 &p, &got);
		if (ret)
			return ret;
		if (p != goal || got != nb) {
			fs_block_free(fs, p, got);
			return 0;	/* not contiguous: the journal's */
		}
	}
	/* 1: the data, then zeroes to the end of its last block. */
	dst = fs_block_addr(fs, goal);
	ret = udax_dev_memcpy_persist(fs->dev, dst, buf, n, UDAX_PERSIST_NODRAIN);
	if (!ret && n % FS_BS)
		ret = udax_dev_memset_persist(fs->dev, dst + n, 0,
					      FS_BS - n % FS_BS,
					      UDAX_PERSIST_NODRAIN);
	if (!ret)
		ret = udax_dev_drain(fs->dev);
	if (ret) {
		fs_block_free(fs, p, got);
		return fs_error(ret, "write: inode %u: persisting data failed: %s",
				i->ino, udax_strerror(ret));
	}
	/* 2: the record, the commit point. */
	now = fs_now();
	memset(&rec, 0, sizeof(rec));
	rec.magic = FS_LOG_MAGIC;
	rec.seq = i->log_seq + 1;
	rec.ino = i->ino;
	rec.gen = i->gen;
	rec.size = end;
	rec.mtime = now;
	rec.lblk = (uint32_t)e->lblk;
	rec.len = (uint32_t)(e->len + nb);
	rec.pblk = e->pblk;
	rec.crc = fs_dlrec_crc(&rec);
	rdst = a->base + slot * sizeof(rec);
	ret = udax_dev_memcpy_persist(fs->dev, rdst, &rec, sizeof(rec), 0);
	if (ret) {
		/* The record may be on media or not: take it back.  Once its
		 * zeroes are durable the append never happened. */
		int err = ret;

		fs_block_free(fs, p, got);
		if (udax_dev_memset_persist(fs->dev, rdst, 0, sizeof(rec), 0))
			return fs_shutdown(fs, err, "log append (record)");
		return fs_error(err, "write: inode %u: persisting the log record failed: %s",
				i->ino, udax_strerror(err));
	}
	/* 3: memory follows; the leaf is this inode's, under its lock. */
	e->len += (uint32_t)nb;
	i->nr_mapped += nb;
	i->size = end;
	i->mtime = i->ctime = now;
	i->times_dirty = false;
	i->log_seq = rec.seq;
	i->log_pending = true;
	*done = n;
	return 1;
}

void fs_log_forget(struct udax_fs *fs, uint64_t seq)
{
	_Atomic uint64_t *top = &C(fs)->log_seq;
	uint64_t cur = atomic_load(top);

	while (cur < seq && !atomic_compare_exchange_weak(top, &cur, seq))
		;
}

/* Checkpoint inode @ino if it is in memory with appends in the log.  An
 * inode not cached was checkpointed at its eviction. */
static int checkpoint_ino(struct udax_fs *fs, uint32_t ino)
{
	struct fs_core *c = C(fs);
	struct fs_inode *i;
	int ret = 0;

	pthread_mutex_lock(fs_icache_lock(c, ino));
	i = fs_icache_find(c, ino);
	if (i)
		i->refs++;
	pthread_mutex_unlock(fs_icache_lock(c, ino));
	if (!i)
		return 0;
	pthread_rwlock_wrlock(&i->lock);
	ret = fs_inode_sync_times(i);
	pthread_rwlock_unlock(&i->lock);
	fs_iput(i);
	return ret;
}

void fs_log_maybe_retire(struct udax_fs *fs)
{
	struct fs_logarea *a = log_used;
	bool mine = log_used_fs == fs;
	uint64_t h, snap;
	uint32_t done[8] = { 0 };
	int ret = 0;

	log_used = NULL;
	log_used_fs = NULL;
	if (!a || !mine)
		return;
	pthread_mutex_lock(&a->lock);
	if (a->retiring || a->tail - a->head <= a->nrec / 2) {
		pthread_mutex_unlock(&a->lock);
		return;
	}
	a->retiring = true;
	h = a->head;
	snap = a->tail;
	pthread_mutex_unlock(&a->lock);
	/*
	 * Every inode named in [h, snap) is checkpointed after its record
	 * there was written (under its lock, which the appender held), so
	 * each of those records is then stale.  The slots are read without
	 * the area lock: only appenders of [snap, ...) write the array now.
	 */
	for (uint64_t s = h; s < snap && !ret; s++) {
		uint32_t ino = a->ino[s % a->nrec];
		bool seen = false;

		for (unsigned k = 0; k < 8; k++)
			seen |= done[k] == ino;
		if (seen)
			continue;
		done[s % 8] = ino;
		ret = checkpoint_ino(fs, ino);
	}
	pthread_mutex_lock(&a->lock);
	if (!ret)
		a->head = snap;
	a->retiring = false;
	pthread_mutex_unlock(&a->lock);
}

/* ---- mount --------------------------------------------------------------------------- */

static int rec_cmp(const void *x, const void *y)
{
	const struct fs_dlrec *a = x, *b = y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Apply @r, the newest valid record of its inode, if it is newer than the
 * inode's record: the checks say why not when it cannot be an append. */
static int replay_one(struct udax_fs *fs, const struct fs_dlrec *r)
{
	struct fs_dinode di;
	struct fs_inode *i;
	struct fs_xleaf *l;
	struct fs_extent *e;
	uint64_t add;
	int ret;

	ret = fs_inode_read(fs, r->ino, &di);
	if (ret)
		return ret;
	if (!di.mode || di.generation != r->gen || r->seq <= di.log_seq)
		return 0;	/* stale: freed, reused or checkpointed */
	if (!S_ISREG(di.mode))
		return fs_error(-EUCLEAN, "log record %llu: inode %u is not a regular file",
				(unsigned long long)r->seq, r->ino);
	ret = fs_iget(fs, r->ino, &i);
	if (ret)
		return ret;
	pthread_rwlock_wrlock(&i->lock);
	l = i->nleaf ? i->leaf[i->nleaf - 1] : NULL;
	e = l ? &l->e[l->n - 1] : NULL;
	if (!e || e->lblk != r->lblk || e->pblk != r->pblk || e->len > r->len ||
	    (e->flags & FS_EXT_UNWRITTEN)) {
		ret = fs_error(-EUCLEAN, "log record %llu: inode %u: extent (lblk %u len %u pblk %llu) does not lengthen the last extent",
			       (unsigned long long)r->seq, r->ino, r->lblk,
			       r->len, (unsigned long long)r->pblk);
		goto out;
	}
	add = r->len - e->len;
	if (add && fs_bmap_mark(fs, e->pblk + e->len, add)) {
		ret = fs_error(-EUCLEAN, "log record %llu: inode %u: blocks at %llu are owned by another file",
			       (unsigned long long)r->seq, r->ino,
			       (unsigned long long)(e->pblk + e->len));
		goto out;
	}
	e->len = r->len;
	i->nr_mapped += add;
	i->size = r->size;
	i->mtime = i->ctime = r->mtime;
	i->log_seq = r->seq;
	i->log_pending = true;
	/* nlink 0: an orphan, freed after the replay; nothing to write. */
	ret = i->nlink ? fs_inode_sync_times(i) : 0;
	if (ret)
		fs_error(ret, "log replay: checkpoint of inode %u failed", r->ino);
out:
	pthread_rwlock_unlock(&i->lock);
	if (ret) {
		/* Forget the half-applied inode: drop it from the cache
		 * without its eviction's checkpoint. */
		i->log_pending = false;
		i->nlink = 0;
		i->mode = 0;
	}
	fs_iput(i);
	return ret;
}

int fs_log_mount(struct udax_fs *fs, uint64_t max_seq)
{
	struct fs_core *c = C(fs);
	const struct fs_dsuper *sb = &c->sb;
	uint32_t nrec = sb->log_area_blocks * FS_LOG_PER_BLOCK, nv = 0;
	struct fs_dlrec *v;
	const char *why;
	int ret = 0;

	c->log = fault_calloc(sb->log_areas, sizeof(*c->log));
	if (!c->log)
		return fs_error(-ENOMEM, "mount: no memory for the log");
	for (uint32_t k = 0; k < sb->log_areas; k++) {
		struct fs_logarea *a = &c->log[k];

		pthread_mutex_init(&a->lock, NULL);
		a->nrec = nrec;
		a->base = fs->base + (sb->log_start +
				      (uint64_t)k * sb->log_area_blocks) * FS_BS;
		a->ino = fault_calloc(nrec, sizeof(*a->ino));
		if (!a->ino)
			ret = -ENOMEM;
	}
	v = fault_malloc((size_t)sb->log_areas * nrec * sizeof(*v));
	if (ret || !v) {
		free(v);
		return fs_error(-ENOMEM, "mount: no memory for the log");
	}
	for (uint32_t k = 0; k < sb->log_areas; k++)
		for (uint32_t s = 0; s < nrec; s++) {
			struct fs_dlrec r;

			memcpy(&r, c->log[k].base + s * sizeof(r), sizeof(r));
			if (!fs_dlrec_valid(&r))
				continue;	/* empty, torn or overwritten */
			if (fs_dlrec_check(&r, sb, &why)) {
				ret = fs_error(-EUCLEAN, "log area %u slot %u: %s",
					       k, s, why);
				goto out;
			}
			if (r.seq > max_seq)
				max_seq = r.seq;
			v[nv++] = r;
		}
	atomic_store(&c->log_seq, max_seq);
	qsort(v, nv, sizeof(*v), rec_cmp);
	for (uint32_t k = 0; k < nv && !ret; k++) {
		if (k + 1 < nv && v[k + 1].ino == v[k].ino)
			continue;	/* an older record of the same inode */
		if (k && v[k - 1].ino == v[k].ino && v[k - 1].seq == v[k].seq)
			ret = fs_error(-EUCLEAN, "log: inode %u: two newest records numbered %llu",
				       v[k].ino, (unsigned long long)v[k].seq);
		else
			ret = replay_one(fs, &v[k]);
	}
	/* Every record is now stale: the rings start empty. */
out:
	free(v);
	return ret;
}

void fs_log_free(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);

	if (!c->log)
		return;
	for (uint32_t k = 0; k < c->sb.log_areas; k++) {
		pthread_mutex_destroy(&c->log[k].lock);
		free(c->log[k].ino);
	}
	free(c->log);
	c->log = NULL;
}
