/* SPDX-License-Identifier: MIT */
/*
 * fs core: inodes.  Reading and validating inode records and extent
 * chains, writing them into transactions, the inode cache, extent maps,
 * and freeing inodes (last link, orphans).
 *
 * An inode's extent map lives in memory as a sorted array of disjoint
 * extents; changes build a new array (copy-on-write), write it into the
 * operation's transaction, and replace the old one only after the commit,
 * so that a failed commit changes nothing.  On media the first
 * FS_INLINE_EXT extents sit in the inode record, the rest in a chain of
 * extent blocks, rewritten whole (through the journal) by each change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/crc32c.h>

#include "fs/core.h"

/* ---- records ------------------------------------------------------------------ */

uint32_t fs_dinode_crc(uint32_t ino, const struct fs_dinode *di)
{
	return udax_crc32c(ino, di, offsetof(struct fs_dinode, crc));
}

uint32_t fs_dextblk_crc(uint32_t ino, const struct fs_dextblk *eb)
{
	return udax_crc32c(ino, (const char *)eb + 8, FS_BS - 8);
}

#define inode_crc fs_dinode_crc
#define eb_crc fs_dextblk_crc

static bool zero_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The checks of an in-use record that need nothing but the record. */
int fs_dinode_check(const struct fs_dinode *di, uint32_t nr_inodes,
		    const char **why)
{
	if (!S_ISREG(di->mode) && !S_ISDIR(di->mode))
		*why = "bad mode type";
	else if (di->mode & ~(S_IFMT | 07777))
		*why = "bad mode bits";
	else if (di->flags || di->reserved0 || di->reserved1 ||
		 !zero_bytes(di->reserved2, sizeof(di->reserved2)))
		*why = "reserved field not zero";
	else if (di->size > FS_MAX_SIZE)
		*why = "size beyond 16 TiB";
	else if (S_ISDIR(di->mode) && di->size % FS_BS)
		*why = "directory size not a multiple of 4096";
	else if (S_ISDIR(di->mode) && di->nlink == 1)
		*why = "directory with link count 1";
	else if (S_ISDIR(di->mode) && (!di->parent || di->parent >= nr_inodes))
		*why = "directory parent out of range";
	else if (!S_ISDIR(di->mode) && di->parent)
		*why = "file with a parent";
	else
		*why = NULL;
	if (*why)
		return -EUCLEAN;
	for (uint32_t k = di->nr_extents; k < FS_INLINE_EXT; k++)
		if (di->ext[k].lblk || di->ext[k].len || di->ext[k].pblk)
			return *why = "stray inline extent", -EUCLEAN;
	/* Chains are written packed: full blocks, then the rest. */
	if (di->ext_blocks != (di->nr_extents > FS_INLINE_EXT ?
			       (di->nr_extents - FS_INLINE_EXT + FS_EB_EXTS - 1) /
			       FS_EB_EXTS : 0) ||
	    (!di->ext_blocks && di->ext_next))
		return *why = "bad extent chain header", -EUCLEAN;
	return 0;
}

bool fs_dext_valid(const struct fs_dext *d, uint64_t prev_end,
		   uint64_t data_start, uint64_t nr_blocks)
{
	uint64_t len = d->len & FS_DEXT_MAXLEN;

	return len && (uint64_t)d->lblk + len <= FS_MAX_LBLK &&
	       d->pblk >= data_start && d->pblk < nr_blocks &&
	       len <= nr_blocks - d->pblk && d->lblk >= prev_end;
}

int fs_dextblk_check(const struct fs_dextblk *eb, uint32_t ino, bool last,
		     const char **why)
{
	if (eb->magic != FS_EXT_MAGIC)
		*why = "bad magic";
	else if (eb->crc != eb_crc(ino, eb))
		*why = "checksum mismatch";
	else if (eb->ino != ino)
		*why = "wrong owner";
	else if (!eb->count || eb->count > FS_EB_EXTS ||
		 (!last && eb->count != FS_EB_EXTS))
		*why = "bad count";
	else if (eb->reserved)
		*why = "reserved field not zero";
	else if (last != !eb->next)
		*why = "chain length disagrees with the inode";
	else
		return 0;
	return -EUCLEAN;
}

/* A private copy of inode record @ino, checksum-verified. */
int fs_inode_read(struct udax_fs *fs, uint32_t ino, struct fs_dinode *di)
{
	static const struct fs_dinode zero;

	if (ino == 0 || ino >= C(fs)->sb.nr_inodes)
		return fs_error(-EUCLEAN, "inode number %u out of range", ino);
	memcpy(di, fs->base + fs_inode_off(fs, ino), sizeof(*di));
	if (!di->mode) {
		if (memcmp(di, &zero, sizeof(*di)))
			return fs_error(-EUCLEAN, "inode %u: free but not zero", ino);
		return 0;
	}
	if (di->crc != inode_crc(ino, di))
		return fs_error(-EUCLEAN, "inode %u: checksum mismatch", ino);
	return 0;
}

static int ext_push(struct fs_inode *ino, const struct fs_dext *d,
		    struct udax_fs *fs, bool mark)
{
	uint64_t len = d->len & FS_DEXT_MAXLEN, nb = fs->nr_blocks;
	uint64_t prev_end = ino->next ? ino->ext[ino->next - 1].lblk +
					ino->ext[ino->next - 1].len : 0;

	if (!fs_dext_valid(d, prev_end, C(fs)->sb.data_start, nb))
		return fs_error(-EUCLEAN, "inode %u: extent %u (lblk %u len %llu pblk %llu) invalid",
				ino->ino, ino->next, d->lblk,
				(unsigned long long)len,
				(unsigned long long)d->pblk);
	if (mark && fs_bmap_mark(fs, d->pblk, len))
		return fs_error(-EUCLEAN, "inode %u: extent at pblk %llu overlaps another owner",
				ino->ino, (unsigned long long)d->pblk);
	if (ino->next == ino->ext_cap) {
		uint32_t cap = ino->ext_cap ? 2 * ino->ext_cap : 8;
		struct fs_extent *v = fault_realloc(ino->ext, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ino->ext = v;
		ino->ext_cap = cap;
	}
	ino->ext[ino->next++] = (struct fs_extent){
		.lblk = d->lblk, .pblk = d->pblk, .len = (uint32_t)len,
		.flags = d->len & FS_DEXT_UNWRITTEN ? FS_EXT_UNWRITTEN : 0,
	};
	return 0;
}

/*
 * Fill @ino's core fields from a verified record @di: validate every
 * field and the extent chain.  @mark: claim the blocks in the allocator
 * (mount's scan), failing on a block owned twice.
 */
int fs_inode_load(struct udax_fs *fs, struct fs_inode *ino,
		  const struct fs_dinode *di, bool mark)
{
	uint32_t ninl = di->nr_extents < FS_INLINE_EXT ? di->nr_extents
						       : FS_INLINE_EXT;
	uint64_t next = di->ext_next, total = ninl;
	uint32_t i = ino->ino;
	int ret;

	const char *why;

	if (fs_dinode_check(di, C(fs)->sb.nr_inodes, &why))
		return fs_error(-EUCLEAN, "inode %u: %s", i, why);
	ino->mode = di->mode;
	ino->uid = di->uid;
	ino->gid = di->gid;
	ino->nlink = di->nlink;
	ino->iflags = di->flags;
	ino->gen = di->generation;
	ino->parent = di->parent;
	ino->size = di->size;
	ino->atime = di->atime;
	ino->mtime = di->mtime;
	ino->ctime = di->ctime;
	ino->btime = di->btime;
	ino->next = 0;
	ino->neblk = 0;
	for (uint32_t k = 0; k < ninl; k++) {
		ret = ext_push(ino, &di->ext[k], fs, mark);
		if (ret)
			return ret;
	}
	if (di->ext_blocks) {
		ino->eblk = fault_calloc(di->ext_blocks, sizeof(*ino->eblk));
		if (!ino->eblk)
			return -ENOMEM;
	}
	for (uint32_t b = 0; b < di->ext_blocks; b++) {
		struct fs_dextblk eb;

		if (next < C(fs)->sb.data_start || next >= fs->nr_blocks)
			return fs_error(-EUCLEAN, "inode %u: extent block %u at %llu out of bounds",
					i, b, (unsigned long long)next);
		memcpy(&eb, fs_block_addr(fs, next), FS_BS);
		if (fs_dextblk_check(&eb, i, b + 1 == di->ext_blocks, &why))
			return fs_error(-EUCLEAN, "inode %u: extent block %llu corrupt: %s",
					i, (unsigned long long)next, why);
		if (mark && fs_bmap_mark(fs, next, 1))
			return fs_error(-EUCLEAN, "inode %u: extent block %llu has another owner",
					i, (unsigned long long)next);
		ino->eblk[ino->neblk++] = next;
		total += eb.count;
		if (total > di->nr_extents)
			break;
		for (uint32_t k = 0; k < eb.count; k++) {
			ret = ext_push(ino, &eb.ext[k], fs, mark);
			if (ret)
				return ret;
		}
		next = eb.next;
	}
	if (total != di->nr_extents)
		return fs_error(-EUCLEAN, "inode %u: extent count %u but chain holds %llu",
				i, di->nr_extents, (unsigned long long)total);
	return 0;
}

static void dext_set(struct fs_dext *d, const struct fs_extent *e)
{
	d->lblk = (uint32_t)e->lblk;
	d->len = e->len | (e->flags & FS_EXT_UNWRITTEN ? FS_DEXT_UNWRITTEN : 0);
	d->pblk = e->pblk;
}

/*
 * Put @ino's record into @t, with extent map @ext[0..@next) (the
 * inode's own when @ext is NULL).  A different map gets a new chain:
 * old chain blocks are reused in order, missing ones allocated, extra
 * ones freed after the commit (fs_inode_set_extents).
 */
int fs_txn_inode(struct fs_txn *t, struct fs_inode *ino,
		 const struct fs_extent *ext, uint32_t next)
{
	struct udax_fs *fs = ino->fs;
	struct fs_dinode di;
	uint32_t need, k;
	const uint64_t *chain;

	if (!ext) {
		ext = ino->ext;
		next = ino->next;
	}
	need = next > FS_INLINE_EXT ?
		(next - FS_INLINE_EXT + FS_EB_EXTS - 1) / FS_EB_EXTS : 0;
	chain = ino->eblk;
	if (ext != ino->ext) {
		uint32_t reuse = need < ino->neblk ? need : ino->neblk;

		if (t->eino && t->eino != ino)
			return fs_error(-EINVAL, "two extent maps in one transaction");
		if (!t->eino) {
			t->eino = ino;
			t->newblk = fault_calloc(need + 1, sizeof(uint64_t));
			t->oldblk = fault_calloc(ino->neblk + 1, sizeof(uint64_t));
			if (!t->newblk || !t->oldblk)
				return -ENOMEM;
			if (reuse)
				memcpy(t->newblk, ino->eblk, reuse * sizeof(uint64_t));
			t->nreuse = t->nnew = reuse;
			for (k = reuse; k < ino->neblk; k++)
				t->oldblk[t->nold++] = ino->eblk[k];
			while (t->nnew < need) {
				uint64_t b, got;
				int ret = fs_block_alloc(fs, t->nnew ?
					t->newblk[t->nnew - 1] + 1 : 0, 1, &b, &got);

				if (ret)
					return ret;
				t->newblk[t->nnew++] = b;
			}
		}
		chain = t->newblk;
	} else if (need != ino->neblk) {
		return fs_error(-EINVAL, "inode %u: chain out of step", ino->ino);
	}
	memset(&di, 0, sizeof(di));
	di.mode = ino->mode;
	di.uid = ino->uid;
	di.gid = ino->gid;
	di.nlink = ino->nlink;
	di.flags = ino->iflags;
	di.generation = ino->gen;
	di.size = ino->size;
	di.atime = ino->atime;
	di.mtime = ino->mtime;
	di.ctime = ino->ctime;
	di.btime = ino->btime;
	di.parent = ino->parent;
	di.nr_extents = next;
	di.ext_blocks = need;
	di.ext_next = need ? chain[0] : 0;
	for (k = 0; k < next && k < FS_INLINE_EXT; k++)
		dext_set(&di.ext[k], &ext[k]);
	di.crc = inode_crc(ino->ino, &di);
	fs_txn_add(t, fs_inode_off(fs, ino->ino), &di, sizeof(di));
	for (uint32_t b = 0; b < need; b++) {
		struct fs_dextblk *eb = fault_calloc(1, sizeof(*eb));
		uint32_t first = FS_INLINE_EXT + b * FS_EB_EXTS;

		if (!eb)
			return -ENOMEM;
		eb->magic = FS_EXT_MAGIC;
		eb->ino = ino->ino;
		eb->count = next - first < FS_EB_EXTS ? next - first : FS_EB_EXTS;
		eb->next = b + 1 < need ? chain[b + 1] : 0;
		for (k = 0; k < eb->count; k++)
			dext_set(&eb->ext[k], &ext[first + k]);
		eb->crc = eb_crc(ino->ino, eb);
		fs_txn_add(t, chain[b] * FS_BS, eb, FS_BS);
		free(eb);
	}
	return t->err;
}

void fs_txn_abort(struct fs_txn *t)
{
	for (uint32_t k = t->nreuse; k < t->nnew; k++)
		fs_block_free(t->fs, t->newblk[k], 1);
	t->nnew = t->nreuse;
}

/* After the commit: install the new map and chain. */
void fs_inode_set_extents(struct fs_inode *ino, struct fs_extent *ext,
			  uint32_t next, struct fs_txn *t)
{
	free(ino->ext);
	ino->ext = ext;
	ino->next = ino->ext_cap = next;
	if (t && t->eino == ino) {
		free(ino->eblk);
		ino->eblk = t->newblk;
		ino->neblk = t->nnew;
		t->newblk = NULL;
		t->nnew = t->nreuse = 0;
		/* Chain blocks are never mapped or pinned: free directly. */
		for (uint32_t k = 0; k < t->nold; k++)
			fs_block_free(ino->fs, t->oldblk[k], 1);
		t->nold = 0;
		t->eino = NULL;
	}
}

int fs_txn_inode_free(struct fs_txn *t, struct fs_inode *ino)
{
	static const struct fs_dinode zero;

	fs_txn_add(t, fs_inode_off(ino->fs, ino->ino), &zero, sizeof(zero));
	return t->err;
}

uint64_t fs_inode_blocks(const struct fs_inode *ino)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < ino->next; k++)
		n += ino->ext[k].len;
	return n;
}

uint64_t fs_inode_size(struct fs_inode *ino)
{
	return ino->size;
}

static struct timespec ts_of(int64_t ns)
{
	int64_t s = ns / 1000000000, r = ns % 1000000000;

	if (r < 0) {
		r += 1000000000;
		s--;
	}
	return (struct timespec){ .tv_sec = s, .tv_nsec = r };
}

void fs_inode_fill(struct fs_inode *ino, struct udax_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->ino = ino->ino;
	st->mode = ino->mode;
	st->nlink = ino->nlink;
	st->uid = ino->uid;
	st->gid = ino->gid;
	st->size = ino->size;
	st->blocks = fs_inode_blocks(ino);
	st->atime = ts_of(ino->atime);
	st->mtime = ts_of(ino->mtime);
	st->ctime = ts_of(ino->ctime);
	st->btime = ts_of(ino->btime);
}

int fs_inode_extents(struct udax_fs *fs, struct fs_inode *ino, uint64_t lblk,
		     uint64_t nblk, fs_extent_fn fn, void *arg)
{
	uint64_t end = lblk + nblk;

	(void)fs;
	if (end < lblk)
		end = UINT64_MAX;
	for (uint32_t k = fs_emap_find(ino->ext, ino->next, lblk);
	     k < ino->next && ino->ext[k].lblk < end; k++) {
		struct fs_extent e = ino->ext[k];
		uint64_t s = e.lblk > lblk ? e.lblk : lblk;
		uint64_t f = e.lblk + e.len < end ? e.lblk + e.len : end;
		int ret;

		e.pblk += s - e.lblk;
		e.lblk = s;
		e.len = (uint32_t)(f - s);
		ret = fn(&e, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- extent maps ---------------------------------------------------------------- */

uint32_t fs_emap_find(const struct fs_extent *v, uint32_t n, uint64_t lblk)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (v[mid].lblk + v[mid].len <= lblk)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int emap_reserve(struct fs_emap *m, uint32_t extra)
{
	if (m->n + extra > m->cap) {
		uint32_t cap = m->cap ? m->cap : 8;
		struct fs_extent *v;

		while (cap < m->n + extra)
			cap *= 2;
		v = fault_realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	return 0;
}

int fs_emap_dup(struct fs_emap *m, const struct fs_inode *ino)
{
	memset(m, 0, sizeof(*m));
	if (emap_reserve(m, ino->next + 2))
		return -ENOMEM;
	if (ino->next)
		memcpy(m->v, ino->ext, ino->next * sizeof(*m->v));
	m->n = ino->next;
	return 0;
}

int fs_emap_remove(struct fs_emap *m, uint64_t lblk, uint64_t n,
		   void (*fn)(const struct fs_extent *, void *), void *arg)
{
	uint64_t end = lblk + n;
	uint32_t k = fs_emap_find(m->v, m->n, lblk);

	while (k < m->n && m->v[k].lblk < end) {
		struct fs_extent e = m->v[k];
		uint64_t s = e.lblk > lblk ? e.lblk : lblk;
		uint64_t f = e.lblk + e.len < end ? e.lblk + e.len : end;
		struct fs_extent piece = e;

		piece.lblk = s;
		piece.pblk = e.pblk + (s - e.lblk);
		piece.len = (uint32_t)(f - s);
		if (fn)
			fn(&piece, arg);
		if (s > e.lblk && f < e.lblk + e.len) {
			/* A hole in the middle: split in two. */
			if (emap_reserve(m, 1))
				return -ENOMEM;
			memmove(&m->v[k + 2], &m->v[k + 1],
				(m->n - k - 1) * sizeof(*m->v));
			m->n++;
			m->v[k].len = (uint32_t)(s - e.lblk);
			m->v[k + 1] = e;
			m->v[k + 1].lblk = f;
			m->v[k + 1].pblk = e.pblk + (f - e.lblk);
			m->v[k + 1].len = (uint32_t)(e.lblk + e.len - f);
			break;
		} else if (s > e.lblk) {
			m->v[k].len = (uint32_t)(s - e.lblk);
			k++;
		} else if (f < e.lblk + e.len) {
			m->v[k].lblk = f;
			m->v[k].pblk = e.pblk + (f - e.lblk);
			m->v[k].len = (uint32_t)(e.lblk + e.len - f);
			k++;
		} else {
			memmove(&m->v[k], &m->v[k + 1],
				(m->n - k - 1) * sizeof(*m->v));
			m->n--;
		}
	}
	return 0;
}

int fs_emap_insert(struct fs_emap *m, const struct fs_extent *e)
{
	uint32_t k = fs_emap_find(m->v, m->n, e->lblk);

	if (emap_reserve(m, 1))
		return -ENOMEM;
	memmove(&m->v[k + 1], &m->v[k], (m->n - k) * sizeof(*m->v));
	m->v[k] = *e;
	m->n++;
	return 0;
}

void fs_emap_shift(struct fs_emap *m, uint64_t from, int64_t delta)
{
	for (uint32_t k = 0; k < m->n; k++)
		if (m->v[k].lblk >= from)
			m->v[k].lblk += delta;
}

void fs_emap_normalize(struct fs_emap *m)
{
	uint32_t o = 0;

	for (uint32_t k = 0; k < m->n; k++) {
		struct fs_extent *p = o ? &m->v[o - 1] : NULL;

		if (p && p->lblk + p->len == m->v[k].lblk &&
		    p->pblk + p->len == m->v[k].pblk &&
		    p->flags == m->v[k].flags &&
		    (uint64_t)p->len + m->v[k].len <= FS_DEXT_MAXLEN) {
			p->len += m->v[k].len;
			continue;
		}
		m->v[o++] = m->v[k];
	}
	m->n = o;
}

/* ---- inode cache -------------------------------------------------------------------- */

struct fs_inode *fs_inode_new(struct udax_fs *fs, uint32_t ino, uint32_t mode)
{
	struct fs_inode *i = fault_calloc(1, sizeof(*i));

	if (!i)
		return NULL;
	i->ino = ino;
	i->fs = fs;
	i->mode = mode;
	pthread_rwlock_init(&i->lock, NULL);
	fs_inode_zc_init(i);
	return i;
}

void fs_inode_dispose(struct fs_inode *ino)
{
	if (!ino)
		return;
	fs_inode_zc_destroy(ino);
	pthread_rwlock_destroy(&ino->lock);
	free(ino->ext);
	free(ino->eblk);
	free(ino);
}

static struct fs_inode **bucket(struct udax_fs *fs, uint32_t ino)
{
	return &C(fs)->icache[ino % FS_ICACHE_BUCKETS];
}

/* Find or load inode @ino (callers reach inodes through ns_lock, or hold
 * a reference already). */
int fs_iget(struct udax_fs *fs, uint32_t ino, struct fs_inode **out)
{
	struct fs_core *c = C(fs);
	struct fs_inode *i, *n;
	struct fs_dinode di;
	int ret;

	pthread_mutex_lock(&c->icache_lock);
	for (i = *bucket(fs, ino); i; i = i->hnext)
		if (i->ino == ino) {
			i->refs++;
			pthread_mutex_unlock(&c->icache_lock);
			*out = i;
			return 0;
		}
	pthread_mutex_unlock(&c->icache_lock);

	ret = fs_inode_read(fs, ino, &di);
	if (ret)
		return ret;
	if (!di.mode)
		return fs_error(-EUCLEAN, "inode %u is referenced but free", ino);
	n = fs_inode_new(fs, ino, di.mode);
	if (!n)
		return -ENOMEM;
	ret = fs_inode_load(fs, n, &di, false);
	if (ret) {
		fs_inode_dispose(n);
		return ret;
	}
	pthread_mutex_lock(&c->icache_lock);
	for (i = *bucket(fs, ino); i; i = i->hnext)
		if (i->ino == ino)
			break;
	if (i) {
		i->refs++;
	} else {
		i = n;
		n = NULL;
		i->refs = 1;
		i->hnext = *bucket(fs, ino);
		*bucket(fs, ino) = i;
		c->nr_cached++;
	}
	pthread_mutex_unlock(&c->icache_lock);
	fs_inode_dispose(n);
	*out = i;
	return 0;
}

/* Insert a just-created inode (ns_lock held: nobody can look it up yet). */
void fs_icache_insert(struct fs_inode *i)
{
	struct fs_core *c = C(i->fs);

	pthread_mutex_lock(&c->icache_lock);
	i->refs = 1;
	i->hnext = *bucket(i->fs, i->ino);
	*bucket(i->fs, i->ino) = i;
	c->nr_cached++;
	pthread_mutex_unlock(&c->icache_lock);
}

int fs_inode_sync_times(struct fs_inode *ino)
{
	struct fs_txn t;
	int ret;

	if (!ino->times_dirty || !ino->nlink)
		return 0;
	fs_txn_init(&t, ino->fs);
	ret = fs_txn_inode(&t, ino, NULL, 0);
	if (!ret)
		ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	if (!ret)
		ino->times_dirty = false;
	return ret;
}

/* Free inode @ino and all its blocks (nlink 0, nobody holds it).  On
 * failure it stays an orphan on media, reclaimed at the next mount; its
 * blocks and number stay allocated until then. */
static int inode_free(struct fs_inode *ino)
{
	struct udax_fs *fs = ino->fs;
	struct fs_break br;
	struct fs_txn t;
	int ret;

	if (C(fs)->rdonly)
		return 0;	/* stays an orphan until a read-write mount */
	pthread_rwlock_wrlock(&ino->lock);
	ret = fs_layout_break_all(fs, ino, NULL, &br);
	if (ret) {
		pthread_rwlock_unlock(&ino->lock);
		fs_error(ret, "inode %u: freeing deferred to the next mount",
			 ino->ino);
		/* Pinned pages (the break mode said not to wait): deferring
		 * is the design, not a failure of the caller's close. */
		return ret == -EBUSY || ret == -ETIMEDOUT ? 0 : ret;
	}
	fs_txn_init(&t, fs);
	ret = fs_txn_inode_free(&t, ino);
	if (!ret)
		ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	fs_inode_free_finish(ino, &br, ret == 0);
	pthread_rwlock_unlock(&ino->lock);
	return ret;
}

void fs_inode_free_finish(struct fs_inode *ino, struct fs_break *br,
			  bool committed)
{
	struct udax_fs *fs = ino->fs;

	if (committed) {
		for (uint32_t k = 0; k < ino->next; k++)
			fs_break_free(br, ino->ext[k].pblk, ino->ext[k].len);
		for (uint32_t k = 0; k < ino->neblk; k++)
			fs_block_free(fs, ino->eblk[k], 1);
		ino->next = ino->neblk = 0;
		ino->size = 0;
		ino->mode = 0;
	}
	fs_break_end(br);
	if (committed)
		fs_ino_free(fs, ino->ino);
}

int fs_iput(struct fs_inode *ino)
{
	struct udax_fs *fs;
	struct fs_core *c;
	bool last;
	int ret = 0;

	if (!ino)
		return 0;
	fs = ino->fs;
	c = C(fs);
	pthread_mutex_lock(&c->icache_lock);
	last = ino->refs == 1;
	pthread_mutex_unlock(&c->icache_lock);
	if (last && !c->rdonly) {
		/* Lazy mtime of in-place writes: commit before eviction. */
		pthread_rwlock_wrlock(&ino->lock);
		ret = fs_inode_sync_times(ino);
		pthread_rwlock_unlock(&ino->lock);
	}
	pthread_mutex_lock(&c->icache_lock);
	last = --ino->refs == 0;
	if (last) {
		struct fs_inode **p = bucket(fs, ino->ino);

		while (*p != ino)
			p = &(*p)->hnext;
		*p = ino->hnext;
		c->nr_cached--;
	}
	pthread_mutex_unlock(&c->icache_lock);
	if (!last)
		return 0;
	if (!ino->nlink && ino->mode) {
		int r = inode_free(ino);

		if (r)
			ret = r;
	}
	fs_inode_dispose(ino);
	return ret;
}

void fs_inode_hold(struct fs_inode *ino)
{
	pthread_mutex_lock(&C(ino->fs)->icache_lock);
	ino->refs++;
	pthread_mutex_unlock(&C(ino->fs)->icache_lock);
}

void fs_inode_release(struct udax_fs *fs, struct fs_inode *ino)
{
	(void)fs;
	fs_iput(ino);
}
