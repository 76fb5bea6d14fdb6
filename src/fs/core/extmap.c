/* SPDX-License-Identifier: MIT */
/*
 * fs core: extent maps.
 *
 * On media an inode with at most FS_INLINE_EXT extents keeps them in its
 * record; a larger map is a list of leaves (struct fs_dextblk, 1..254
 * extents each, in file order, linked by "next").  Leaves are not packed:
 * a change rewrites the leaves that hold the extents it changes (split
 * when they overflow, merged with a neighbour when the two fit in one),
 * the "next" of the leaf before them and the inode record, and of those
 * only the bytes that differ go into the journal.  So a change costs
 * O(extents changed), whatever the size of the map, and a map has no
 * limit but the device.
 *
 * In memory the map is an array of leaf objects, one per leaf on media
 * (or one for the inline extents), found by binary search on their first
 * extent.  Installed leaves are never modified: an operation copies the
 * leaves it touches into a window (fs_emap_window), edits the window,
 * fs_txn_inode builds the new leaves and journals them, and
 * fs_inode_set_extents swaps them in after the commit, so a failed commit
 * changes nothing and readers never see a leaf half-edited.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/crc32c.h>

#include "fs/core.h"

/* ---- lookups -------------------------------------------------------------------- */

/* The last leaf whose first extent starts at or before @lblk (0 if none). */
static uint32_t leaf_of(const struct fs_inode *ino, uint64_t lblk)
{
	uint32_t lo = 0, hi = ino->nleaf;

	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (ino->leaf[mid]->e[0].lblk <= lblk)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

const struct fs_extent *fs_xmap_seek(const struct fs_inode *ino,
				     uint64_t lblk, struct fs_xpos *p)
{
	const struct fs_xleaf *l;

	if (!ino->nleaf) {
		*p = (struct fs_xpos){ 0, 0 };
		return NULL;
	}
	p->li = leaf_of(ino, lblk);
	l = ino->leaf[p->li];
	p->k = fs_emap_find(l->e, l->n, lblk);
	if (p->k < l->n)
		return &l->e[p->k];
	p->k--;
	return fs_xmap_next(ino, p);
}

const struct fs_extent *fs_xmap_next(const struct fs_inode *ino,
				     struct fs_xpos *p)
{
	if (p->li >= ino->nleaf)
		return NULL;
	if (++p->k < ino->leaf[p->li]->n)
		return &ino->leaf[p->li]->e[p->k];
	p->k = 0;
	if (++p->li >= ino->nleaf)
		return NULL;
	return &ino->leaf[p->li]->e[0];
}

const struct fs_extent *fs_xmap_last(const struct fs_inode *ino)
{
	const struct fs_xleaf *l;

	if (!ino->nleaf)
		return NULL;
	l = ino->leaf[ino->nleaf - 1];
	return &l->e[l->n - 1];
}

int fs_inode_extents(struct udax_fs *fs, struct fs_inode *ino, uint64_t lblk,
		     uint64_t nblk, fs_extent_fn fn, void *arg)
{
	uint64_t end = lblk + nblk;
	struct fs_xpos p;

	(void)fs;
	if (end < lblk)
		end = UINT64_MAX;
	for (const struct fs_extent *x = fs_xmap_seek(ino, lblk, &p);
	     x && x->lblk < end; x = fs_xmap_next(ino, &p)) {
		struct fs_extent e = *x;
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

uint64_t fs_inode_blocks(const struct fs_inode *ino)
{
	return ino->nr_mapped;
}

/* ---- leaves in memory ------------------------------------------------------------ */

/* memcpy of @n extents; @src may be NULL when @n is 0. */
static void ext_copy(struct fs_extent *dst, const struct fs_extent *src,
		     size_t n)
{
	if (n)
		memcpy(dst, src, n * sizeof(*dst));
}

static struct fs_xleaf *leaf_new(uint64_t pblk, const struct fs_extent *e,
				 uint32_t n)
{
	struct fs_xleaf *l = fault_malloc(sizeof(*l) + n * sizeof(*e));

	if (!l)
		return NULL;
	l->pblk = pblk;
	l->n = n;
	l->reserved = 0;
	ext_copy(l->e, e, n);
	return l;
}

static uint64_t leaf_blocks(const struct fs_xleaf *l)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < l->n; k++)
		n += l->e[k].len;
	return n;
}

void fs_xmap_clear(struct fs_inode *ino)
{
	for (uint32_t k = 0; k < ino->nleaf; k++)
		free(ino->leaf[k]);
	free(ino->leaf);
	ino->leaf = NULL;
	ino->nleaf = ino->leaf_cap = 0;
	ino->nr_ext = ino->nr_mapped = 0;
}

static int leaf_room(struct fs_inode *ino, uint32_t n);

static int leaf_push(struct fs_inode *ino, struct fs_xleaf *l)
{
	if (leaf_room(ino, ino->nleaf + 1))
		return -ENOMEM;
	ino->leaf[ino->nleaf++] = l;
	ino->nr_ext += l->n;
	ino->nr_mapped += leaf_blocks(l);
	return 0;
}

/* A map of one written extent {0, @pblk, 1} for @ino, which has none and
 * is not visible yet (a symbolic link being created). */
int fs_xmap_one_block(struct fs_inode *ino, uint64_t pblk)
{
	struct fs_extent e = { .lblk = 0, .pblk = pblk, .len = 1 };
	struct fs_xleaf *l = leaf_new(0, &e, 1);

	if (!l || leaf_push(ino, l)) {
		free(l);
		return -ENOMEM;
	}
	return 0;
}

/* ---- windows ------------------------------------------------------------------------ */

static int emap_reserve(struct fs_emap *m, uint32_t extra)
{
	if ((uint64_t)m->n + extra > UINT32_MAX)
		return -ENOMEM;
	if (m->n + extra > m->cap) {
		uint32_t cap = m->cap ? m->cap : 8;
		struct fs_extent *v;

		while (cap < m->n + extra)
			cap = cap > UINT32_MAX / 2 ? UINT32_MAX : 2 * cap;
		v = fault_realloc(m->v, (size_t)cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	return 0;
}

int fs_emap_window(struct fs_emap *m, const struct fs_inode *ino,
		   uint64_t lo, uint64_t hi)
{
	uint64_t n = 0;

	memset(m, 0, sizeof(*m));
	if (ino->nleaf) {
		m->la = leaf_of(ino, lo);
		m->lb = leaf_of(ino, hi) + 1;
	}
	for (uint32_t k = m->la; k < m->lb; k++)
		n += ino->leaf[k]->n;
	if (n > UINT32_MAX - 2 || emap_reserve(m, (uint32_t)n + 2))
		return -ENOMEM;
	for (uint32_t k = m->la; k < m->lb; k++) {
		ext_copy(m->v + m->n, ino->leaf[k]->e, ino->leaf[k]->n);
		m->n += ino->leaf[k]->n;
	}
	return 0;
}

int fs_emap_copy(struct fs_emap *dst, const struct fs_emap *src)
{
	*dst = *src;
	dst->v = fault_malloc((src->n ? src->n : 1) * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	ext_copy(dst->v, src->v, src->n);
	dst->cap = src->n ? src->n : 1;
	return 0;
}

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

int fs_emap_remove(struct fs_emap *m, uint64_t lblk, uint64_t n,
		   void (*fn)(const struct fs_extent *, void *), void *arg)
{
	uint64_t end = lblk + n;
	uint32_t k = fs_emap_find(m->v, m->n, lblk), d = k;

	/* Compacting as it goes (d <= k): O(window), not O(window) per
	 * removed extent. */
	for (; k < m->n; k++) {
		struct fs_extent e = m->v[k];
		uint64_t s = e.lblk > lblk ? e.lblk : lblk;
		uint64_t f = e.lblk + e.len < end ? e.lblk + e.len : end;
		struct fs_extent piece = e;

		if (e.lblk >= end) {
			m->v[d++] = e;
			continue;
		}
		piece.lblk = s;
		piece.pblk = e.pblk + (s - e.lblk);
		piece.len = (uint32_t)(f - s);
		if (fn)
			fn(&piece, arg);
		if (s > e.lblk && f < e.lblk + e.len) {
			/* A hole in the middle: split in two (only one extent
			 * can contain the whole range, so d == k here). */
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
			return 0;
		} else if (s > e.lblk) {
			m->v[d] = e;
			m->v[d++].len = (uint32_t)(s - e.lblk);
		} else if (f < e.lblk + e.len) {
			m->v[d] = e;
			m->v[d].lblk = f;
			m->v[d].pblk = e.pblk + (f - e.lblk);
			m->v[d++].len = (uint32_t)(e.lblk + e.len - f);
		}
	}
	m->n = d;
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

/* ---- leaves on media ---------------------------------------------------------------- */

static void dext_set(struct fs_dext *d, const struct fs_extent *e)
{
	d->lblk = (uint32_t)e->lblk;
	d->len = e->len | (e->flags & FS_EXT_UNWRITTEN ? FS_DEXT_UNWRITTEN : 0);
	d->pblk = e->pblk;
}

/* Bytes of a leaf of @count extents that its checksum covers (from 0). */
static size_t eb_used(uint32_t count)
{
	return offsetof(struct fs_dextblk, ext) + count * sizeof(struct fs_dext);
}

uint32_t fs_dextblk_crc(uint32_t ino, const struct fs_dextblk *eb)
{
	uint32_t n = eb->count <= FS_EB_EXTS ? eb->count : FS_EB_EXTS;

	return udax_crc32c(ino, (const char *)eb + 8, eb_used(n) - 8);
}

int fs_dextblk_check(const struct fs_dextblk *eb, uint32_t ino, bool last,
		     const char **why)
{
	if (eb->magic != FS_EXT_MAGIC)
		*why = "bad magic";
	else if (eb->version != FS_EXT_VERSION)
		*why = "unknown version";
	else if (!eb->count || eb->count > FS_EB_EXTS)
		*why = "bad count";
	else if (eb->crc != fs_dextblk_crc(ino, eb))
		*why = "checksum mismatch";
	else if (eb->ino != ino)
		*why = "wrong owner";
	else if (eb->reserved)
		*why = "reserved field not zero";
	else if (last != !eb->next)
		*why = "list length disagrees with the inode";
	else
		return 0;
	return -EUCLEAN;
}

/* The media image of leaf @l (followed by @next) in @eb, checksummed. */
static void leaf_image(struct fs_dextblk *eb, uint32_t ino,
		       const struct fs_xleaf *l, uint64_t next)
{
	memset(eb, 0, offsetof(struct fs_dextblk, ext));
	eb->magic = FS_EXT_MAGIC;
	eb->ino = ino;
	eb->count = (uint16_t)l->n;
	eb->version = FS_EXT_VERSION;
	eb->next = next;
	for (uint32_t k = 0; k < l->n; k++)
		dext_set(&eb->ext[k], &l->e[k]);
	eb->crc = fs_dextblk_crc(ino, eb);
}

/*
 * Journal leaf image @eb for block @pblk.  @fresh: the block holds
 * nothing of ours, its used part goes whole; otherwise only the bytes
 * that differ from media (the header and one span of extents: an append
 * is a few dozen bytes).
 */
static void leaf_journal(struct fs_txn *t, uint64_t pblk,
			 const struct fs_dextblk *eb, bool fresh)
{
	const uint8_t *old = (const uint8_t *)fs_block_addr(t->fs, pblk);
	const uint8_t *nw = (const uint8_t *)eb;
	size_t used = eb_used(eb->count), hdr = offsetof(struct fs_dextblk, ext);
	size_t spans[2][2] = { { 0, hdr }, { hdr, used } };

	if (fresh) {
		fs_txn_add(t, pblk * FS_BS, eb, used);
		return;
	}
	for (int s = 0; s < 2; s++) {
		size_t lo = spans[s][0], hi = spans[s][1];

		while (lo < hi && old[lo] == nw[lo])
			lo++;
		while (hi > lo && old[hi - 1] == nw[hi - 1])
			hi--;
		if (lo < hi)
			fs_txn_add(t, pblk * FS_BS + lo, nw + lo, hi - lo);
	}
}

/* ---- loading ------------------------------------------------------------------------ */

static int ext_check(struct udax_fs *fs, uint32_t ino,
		     const struct fs_dext *d, uint64_t x, uint64_t *prev_end,
		     bool mark, struct fs_extent *out)
{
	uint64_t len = d->len & FS_DEXT_MAXLEN;

	if (!fs_dext_valid(d, *prev_end, C(fs)->sb.data_start, fs->nr_blocks))
		return fs_error(-EUCLEAN, "inode %u: extent %llu (lblk %u len %llu pblk %llu) invalid",
				ino, (unsigned long long)x, d->lblk,
				(unsigned long long)len,
				(unsigned long long)d->pblk);
	if (mark && fs_bmap_mark(fs, d->pblk, len))
		return fs_error(-EUCLEAN, "inode %u: extent at pblk %llu overlaps another owner",
				ino, (unsigned long long)d->pblk);
	*prev_end = d->lblk + len;
	*out = (struct fs_extent){
		.lblk = d->lblk, .pblk = d->pblk, .len = (uint32_t)len,
		.flags = d->len & FS_DEXT_UNWRITTEN ? FS_EXT_UNWRITTEN : 0,
	};
	return 0;
}

/* Given each leaf of a map, validated: its block (0: the record's inline
 * extents) and extents.  0 or -errno (the walk stops). */
typedef int (*leaf_fn)(void *arg, uint64_t pblk, const struct fs_extent *v,
		       uint32_t n);

/*
 * Walk the extent map of checked record @di of inode @ino, validating
 * every leaf and extent as it goes (@mark: claiming the blocks), and hand
 * each leaf to @fn; *@blocks: the blocks the map maps.
 */
static int xmap_walk(struct udax_fs *fs, uint32_t ino, const struct fs_dinode *di,
		     bool mark, leaf_fn fn, void *arg, uint64_t *blocks)
{
	struct fs_extent v[FS_EB_EXTS];
	struct fs_dextblk *eb;
	uint64_t next = di->ext_next, prev_end = 0, total = 0, mapped = 0;
	const char *why;
	int ret = 0;

	if (di->nr_extents <= FS_INLINE_EXT) {
		for (uint32_t k = 0; k < di->nr_extents; k++) {
			ret = ext_check(fs, ino, &di->ext[k], k, &prev_end,
					mark, &v[k]);
			if (ret)
				return ret;
			mapped += v[k].len;
		}
		*blocks = mapped;
		return di->nr_extents ? fn(arg, 0, v, di->nr_extents) : 0;
	}
	eb = fault_malloc(sizeof(*eb));
	if (!eb)
		return -ENOMEM;
	for (uint32_t b = 0; b < di->ext_blocks; b++) {
		if (next < C(fs)->sb.data_start || next >= fs->nr_blocks) {
			ret = fs_error(-EUCLEAN, "inode %u: extent leaf %u at %llu out of bounds",
				       ino, b, (unsigned long long)next);
			break;
		}
		memcpy(eb, fs_block_addr(fs, next), FS_BS);
		if (fs_dextblk_check(eb, ino, b + 1 == di->ext_blocks, &why)) {
			ret = fs_error(-EUCLEAN, "inode %u: extent leaf %llu corrupt: %s",
				       ino, (unsigned long long)next, why);
			break;
		}
		if (total + eb->count > di->nr_extents) {
			total += eb->count;
			break;
		}
		if (mark && fs_bmap_mark(fs, next, 1)) {
			ret = fs_error(-EUCLEAN, "inode %u: extent leaf %llu has another owner",
				       ino, (unsigned long long)next);
			break;
		}
		for (uint32_t k = 0; k < eb->count && !ret; k++) {
			ret = ext_check(fs, ino, &eb->ext[k], total + k, &prev_end,
					mark, &v[k]);
			if (!ret)	/* a refused extent leaves v[k] unset */
				mapped += v[k].len;
		}
		if (!ret)
			ret = fn(arg, next, v, eb->count);
		if (ret)
			break;
		total += eb->count;
		next = eb->next;
	}
	free(eb);
	if (!ret && total != di->nr_extents)
		ret = fs_error(-EUCLEAN, "inode %u: extent count %u but the leaves hold %llu",
			       ino, di->nr_extents, (unsigned long long)total);
	*blocks = mapped;
	return ret;
}

static int leaf_load(void *arg, uint64_t pblk, const struct fs_extent *v,
		     uint32_t n)
{
	struct fs_xleaf *l = leaf_new(pblk, v, n);

	if (!l || leaf_push(arg, l)) {
		free(l);
		return -ENOMEM;
	}
	return 0;
}

/* Load the extent map of a checked record @di into @ino (which has none):
 * every leaf and extent validated; @mark claims the blocks. */
int fs_xmap_load(struct udax_fs *fs, struct fs_inode *ino,
		 const struct fs_dinode *di, bool mark)
{
	uint64_t mapped;
	int ret = xmap_walk(fs, ino->ino, di, mark, leaf_load, ino, &mapped);

	if (!ret && fs_blocks_field(mapped) != di->blocks)
		ret = fs_error(-EUCLEAN, "inode %u: block count %u but the map holds %llu",
			       ino->ino, di->blocks, (unsigned long long)mapped);
	return ret;
}

static int leaf_skip(void *arg, uint64_t pblk, const struct fs_extent *v,
		     uint32_t n)
{
	(void)arg, (void)pblk, (void)v, (void)n;
	return 0;
}

int fs_xmap_blocks(struct udax_fs *fs, uint32_t ino, const struct fs_dinode *di,
		   uint64_t *blocks)
{
	return xmap_walk(fs, ino, di, false, leaf_skip, NULL, blocks);
}

/* ---- changing a map ----------------------------------------------------------------- */

static int txn_note(uint64_t **v, uint32_t *n, uint64_t b)
{
	uint64_t *p = fault_realloc(*v, (*n + 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	*v = p;
	p[(*n)++] = b;
	return 0;
}

/* The record of @ino, with the map @t is about to install when @t
 * changes it. */
static void record_fill(struct fs_dinode *di, struct fs_txn *t,
			struct fs_inode *ino)
{
	bool mine = t->eino == ino;
	uint32_t la = mine ? t->xla : 0, lb = mine ? t->xlb : 0;
	uint32_t nnew = mine ? t->nxnew : 0;
	uint64_t nr = ino->nr_ext, mapped = ino->nr_mapped;
	uint32_t leaves = ino->nleaf - (lb - la) + nnew;
	const struct fs_xleaf *first = NULL;

	for (uint32_t k = la; k < lb; k++) {
		nr -= ino->leaf[k]->n;
		mapped -= leaf_blocks(ino->leaf[k]);
	}
	for (uint32_t k = 0; k < nnew; k++) {
		nr += t->xnew[k]->n;
		mapped += leaf_blocks(t->xnew[k]);
	}
	if (la > 0)
		first = ino->leaf[0];
	else if (nnew)
		first = t->xnew[0];
	else if (lb < ino->nleaf)
		first = ino->leaf[lb];
	memset(di, 0, sizeof(*di));
	di->mode = ino->mode;
	di->uid = ino->uid;
	di->gid = ino->gid;
	di->nlink = ino->nlink;
	di->flags = ino->iflags;
	di->generation = ino->gen;
	di->size = ino->size;
	di->atime = ino->atime;
	di->mtime = ino->mtime;
	di->ctime = ino->ctime;
	di->btime = ino->btime;
	di->parent = ino->parent;
	di->rdev = ino->rdev;
	di->log_seq = ino->log_seq;
	di->xattr = ino->xattr;
	di->nr_extents = (uint32_t)nr;
	di->blocks = fs_blocks_field(mapped);
	if (S_ISLNK(ino->mode) && ino->size <= FS_SYMLINK_INLINE && ino->symlink) {
		/* An inline target (core.h): in the extent area, no map. */
		memcpy(di->ext, ino->symlink, ino->size);
	} else if (first && !first->pblk) {
		/* Inline: the one leaf. */
		for (uint32_t k = 0; k < first->n; k++)
			dext_set(&di->ext[k], &first->e[k]);
	} else if (first) {
		di->ext_blocks = leaves;
		di->ext_next = first->pblk;
	}
	di->crc = fs_dinode_crc(ino->ino, di);
}

/*
 * Build the leaves that replace @m's window: the window's extents (with
 * neighbour leaves merged in when they fit), cut into leaves of at most
 * FS_EB_EXTS (full ones when the window ends the map: appends keep leaves
 * full; even ones otherwise: room on both sides), or one inline leaf when
 * the whole map fits in the record.
 */
static int build_leaves(struct fs_txn *t, struct fs_inode *ino,
			const struct fs_emap *m)
{
	uint32_t la = m->la, lb = m->lb, L = ino->nleaf, K, at = 0;
	uint64_t total = ino->nr_ext, cnt = m->n;
	const struct fs_extent *pre = NULL, *suf = NULL;
	uint32_t npre = 0, nsuf = 0;
	struct fs_extent *all;
	int ret;

	for (uint32_t k = la; k < lb; k++)
		total -= ino->leaf[k]->n;
	total += m->n;
	if (total > UINT32_MAX)
		return fs_error(-EFBIG, "inode %u: too many extents", ino->ino);
	if (total <= FS_INLINE_EXT) {
		/* The whole map goes inline: gather every leaf (all small). */
		la = 0;
		lb = L;
	} else {
		if (la > 0 && ino->leaf[la - 1]->pblk &&
		    ino->leaf[la - 1]->n + cnt <= FS_EB_EXTS) {
			la--;
			pre = ino->leaf[la]->e;
			npre = ino->leaf[la]->n;
			cnt += npre;
		}
		if (lb < L && cnt + ino->leaf[lb]->n <= FS_EB_EXTS) {
			suf = ino->leaf[lb]->e;
			nsuf = ino->leaf[lb]->n;
			cnt += nsuf;
			lb++;
		}
	}
	/* The extents of leaves [la, lb) after the change, in order. */
	all = fault_malloc((total <= FS_INLINE_EXT ? FS_INLINE_EXT : cnt) *
			   sizeof(*all) + 1);
	if (!all)
		return -ENOMEM;
	if (total <= FS_INLINE_EXT) {
		uint32_t n = 0;

		for (uint32_t k = 0; k < L; k++) {
			if (k == m->la) {
				ext_copy(all + n, m->v, m->n);
				n += m->n;
			}
			if (k >= m->la && k < m->lb)
				continue;
			ext_copy(all + n, ino->leaf[k]->e, ino->leaf[k]->n);
			n += ino->leaf[k]->n;
		}
		if (m->la == L) {	/* an empty map */
			ext_copy(all + n, m->v, m->n);
			n += m->n;
		}
		cnt = n;
		K = cnt ? 1 : 0;
	} else {
		ext_copy(all, pre, npre);
		ext_copy(all + npre, m->v, m->n);
		ext_copy(all + npre + m->n, suf, nsuf);
		K = (uint32_t)((cnt + FS_EB_EXTS - 1) / FS_EB_EXTS);
	}
	t->eino = ino;
	t->xla = la;
	t->xlb = lb;
	t->xnew = fault_calloc(K + 1, sizeof(*t->xnew));
	ret = t->xnew ? 0 : -ENOMEM;
	for (uint32_t i = 0; i < K && !ret; i++) {
		uint32_t n;
		uint64_t pblk = 0;

		if (total <= FS_INLINE_EXT)
			n = (uint32_t)cnt;
		else if (lb == L)	/* the tail: full leaves first */
			n = cnt - at < FS_EB_EXTS ? (uint32_t)(cnt - at) : FS_EB_EXTS;
		else
			n = (uint32_t)(cnt / K + (i < cnt % K));
		if (total > FS_INLINE_EXT) {
			/* Reuse the old leaves' blocks in order. */
			uint32_t used = 0;

			for (uint32_t k = la; k < lb && !pblk; k++)
				if (ino->leaf[k]->pblk && used++ == i)
					pblk = ino->leaf[k]->pblk;
			if (!pblk) {
				uint64_t got, goal = i ? t->xnew[i - 1]->pblk + 1 :
					(la ? ino->leaf[la - 1]->pblk + 1 : 0);

				ret = fs_block_alloc(t->fs, goal, 1, &pblk, &got);
				if (!ret) {
					ret = txn_note(&t->xalloc, &t->nxalloc, pblk);
					if (ret)
						fs_block_free(t->fs, pblk, 1);
				}
				if (ret)
					break;
			}
		}
		t->xnew[i] = leaf_new(pblk, all + at, n);
		if (!t->xnew[i]) {
			ret = -ENOMEM;
			break;
		}
		t->nxnew = i + 1;
		at += n;
	}
	free(all);
	if (ret)
		return ret;
	/* Old leaf blocks no new leaf took: freed after the commit. */
	for (uint32_t k = la; k < lb && !ret; k++) {
		bool kept = false;

		for (uint32_t i = 0; i < K; i++)
			kept |= t->xnew[i]->pblk == ino->leaf[k]->pblk;
		if (ino->leaf[k]->pblk && !kept)
			ret = txn_note(&t->xold, &t->nxold, ino->leaf[k]->pblk);
	}
	return ret;
}

/* Journal the new leaves of @t and the "next" of the leaf before them. */
static int journal_leaves(struct fs_txn *t, struct fs_inode *ino)
{
	uint32_t la = t->xla, lb = t->xlb;
	uint64_t after = lb < ino->nleaf ? ino->leaf[lb]->pblk : 0;
	struct fs_dextblk *eb = fault_malloc(sizeof(*eb));

	if (!eb)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nxnew; i++) {
		const struct fs_xleaf *l = t->xnew[i];
		bool fresh = true;

		if (!l->pblk)
			continue;	/* inline: in the record */
		for (uint32_t k = la; k < lb; k++)
			fresh &= ino->leaf[k]->pblk != l->pblk;
		leaf_image(eb, ino->ino, l,
			   i + 1 < t->nxnew ? t->xnew[i + 1]->pblk : after);
		leaf_journal(t, l->pblk, eb, fresh);
	}
	if (la > 0 && ino->leaf[la - 1]->pblk) {
		uint64_t next = t->nxnew && t->xnew[0]->pblk ? t->xnew[0]->pblk
							     : after;

		leaf_image(eb, ino->ino, ino->leaf[la - 1], next);
		leaf_journal(t, ino->leaf[la - 1]->pblk, eb, false);
	}
	free(eb);
	return t->err;
}

/* Room for @n leaves in @ino's array, before the commit that needs it. */
static int leaf_room(struct fs_inode *ino, uint32_t n)
{
	uint32_t cap = ino->leaf_cap ? ino->leaf_cap : 4;
	struct fs_xleaf **v;

	if (n <= ino->leaf_cap)
		return 0;
	while (cap < n)
		cap *= 2;
	v = fault_realloc(ino->leaf, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	ino->leaf = v;
	ino->leaf_cap = cap;
	return 0;
}

int fs_txn_inode(struct fs_txn *t, struct fs_inode *ino,
		 const struct fs_emap *m)
{
	struct fs_dinode di;
	int ret;

	if (m) {
		if (t->eino)
			return fs_error(-EINVAL, "two extent maps in one transaction");
		if (m->la > m->lb || m->lb > ino->nleaf)
			return fs_error(-EINVAL, "inode %u: window out of step", ino->ino);
		ret = build_leaves(t, ino, m);
		if (!ret)
			ret = leaf_room(ino, ino->nleaf - (t->xlb - t->xla) + t->nxnew);
		if (!ret)
			ret = journal_leaves(t, ino);
		if (ret)
			return ret;
	}
	/* Appends in the fast log lengthened the last extent in memory
	 * only: its leaf goes too, unless the window rewrote it (after
	 * the window's leaves: a later record of the same bytes wins). */
	if (ino->log_pending && ino->nleaf && ino->leaf[ino->nleaf - 1]->pblk &&
	    !(t->eino == ino && t->xlb == ino->nleaf)) {
		const struct fs_xleaf *l = ino->leaf[ino->nleaf - 1];
		struct fs_dextblk *eb = fault_malloc(sizeof(*eb));

		if (!eb)
			return -ENOMEM;
		leaf_image(eb, ino->ino, l, 0);
		leaf_journal(t, l->pblk, eb, false);
		free(eb);
	}
	record_fill(&di, t, ino);
	fs_txn_add(t, fs_inode_off(ino->fs, ino->ino), &di, sizeof(di));
	return t->err;
}

void fs_txn_abort(struct fs_txn *t)
{
	for (uint32_t k = 0; k < t->nxalloc; k++)
		fs_block_free(t->fs, t->xalloc[k], 1);
	t->nxalloc = 0;
	t->nxold = 0;
}

void fs_txn_emap_free(struct fs_txn *t)
{
	for (uint32_t k = 0; k < t->nxnew; k++)
		free(t->xnew[k]);
	free(t->xnew);
	free(t->xalloc);
	free(t->xold);
	t->xnew = NULL;
	t->xalloc = t->xold = NULL;
	t->nxnew = t->nxalloc = t->nxold = 0;
	t->eino = NULL;
}

void fs_inode_set_extents(struct fs_inode *ino, struct fs_txn *t)
{
	uint32_t la = t->xla, lb = t->xlb, K = t->nxnew, L = ino->nleaf;
	uint32_t nl = L - (lb - la) + K;

	if (t->eino != ino)
		return;
	/* fs_txn_inode made room for nl leaves: nothing here can fail. */
	for (uint32_t k = la; k < lb; k++) {
		ino->nr_ext -= ino->leaf[k]->n;
		ino->nr_mapped -= leaf_blocks(ino->leaf[k]);
		free(ino->leaf[k]);
	}
	if (L > lb)
		memmove(&ino->leaf[la + K], &ino->leaf[lb],
			(L - lb) * sizeof(*ino->leaf));
	for (uint32_t i = 0; i < K; i++) {
		ino->leaf[la + i] = t->xnew[i];
		ino->nr_ext += t->xnew[i]->n;
		ino->nr_mapped += leaf_blocks(t->xnew[i]);
	}
	ino->nleaf = nl;
	/* Leaf blocks hold no file data and are never pinned. */
	for (uint32_t k = 0; k < t->nxold; k++)
		fs_block_free(ino->fs, t->xold[k], 1);
	t->nxnew = t->nxold = t->nxalloc = 0;
	t->eino = NULL;
}
