/* SPDX-License-Identifier: MIT */
/*
 * fs core: directories and the namespace.
 *
 * A directory's data blocks hold ext2-style records {ino, rec_len,
 * name_len, type, name} after a 16-byte header (magic, crc32c, owner).
 * "." and ".." are not stored: "." is the directory, ".." its parent
 * inode field.  Directories never shrink (an emptied block stays, with
 * one free record); rmdir frees all.
 *
 * Every namespace operation runs under ns_lock and builds one transaction
 * (struct dop): the directory blocks it changes (private copies, so that
 * several changes to one block compose), and the inode records it
 * touches, saved first so that a failed commit restores memory.  Every
 * touched inode is locked for write until the commit, so a concurrent
 * write cannot slip in between and be overwritten by a stale record, and
 * readers under ino->lock see whole updates.  Holding several inode locks
 * is safe: only the ns_lock holder ever holds more than one.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <udax/crc32c.h>

#include "common/crc32c_shift.h"
#include "fs/core.h"

#define DOP_BLKS	8
#define DOP_INODES	6

struct dblk {
	uint64_t pblk;
	struct fs_inode *dir;
	uint32_t k;			/* block of @dir */
	uint32_t lo, hi;		/* bytes changed lie in [lo, hi) */
	uint8_t data[FS_BS];
};

/* Bytes [@off, @off + @len) of a dirty copy (dir_block_rw's) change. */
static void dblk_mark(uint8_t *data, uint32_t off, uint32_t len)
{
	struct dblk *b = (struct dblk *)(data - offsetof(struct dblk, data));

	if (off < b->lo)
		b->lo = off;
	if (off + len > b->hi)
		b->hi = off + len;
}

/* An index update to make once the transaction committed. */
struct dixop {
	struct fs_inode *dir;
	uint32_t hash, blk, off;
	bool add;
};

struct isave {
	struct fs_inode *i;
	bool locked, freed, times_dirty;
	struct fs_break br;
	uint32_t nlink, parent, mode, uid, gid;
	uint64_t size;
	int64_t atime, mtime, ctime;
};

struct dop {
	struct udax_fs *fs;
	struct fs_txn t;
	struct dblk *blk[DOP_BLKS];
	int nblk;
	struct isave s[DOP_INODES];
	int ns;
	struct dixop xo[DOP_BLKS];
	int nxo;
	struct fs_inode *grown;		/* the directory that got a block */
	struct fs_emap em;		/* its new extent map */
	uint64_t gpblk;
	const struct udax_break_opts *brk;
	int64_t now;
	uint8_t *xblk;			/* an xattr block image (ACLs) */
	uint64_t xpblk;			/* where it goes */
	bool xnew;			/* xpblk allocated by this operation */
};

static void dop_init(struct dop *d, struct udax_fs *fs,
		     const struct udax_break_opts *brk)
{
	memset(d, 0, sizeof(*d));
	d->fs = fs;
	d->brk = brk;
	d->now = fs_now();
	fs_txn_init(&d->t, fs);
}

/*
 * A directory's writer (fs_ns_lock_dir: a create by udax_open, mkdir,
 * symlink or mknod, an unlink or a rename of a file, while writers of
 * other directories work): the directory it changes (a rename: the two
 * it changes, dw_hold_pair),
 * whose lock it holds for write from before it looks the name up until
 * after the commit, so that the name it found absent or present stays so
 * and no other thread reads the directory's index or blocks meanwhile.
 * Its walk takes every other directory's lock for read while it looks a
 * name up there (lookup).  NULL in every other operation.
 */
static __thread bool dw_on;
static __thread struct fs_inode *dw_dir, *dw_dir2;	/* a rename: two */

/* Does this writer hold @i, a directory it changes? */
static bool dw_held(const struct fs_inode *i)
{
	return i && (i == dw_dir || i == dw_dir2);
}

/* Take / leave ns_lock as a directory's writer (dw_on tells lookup). */
static void dw_enter(struct udax_fs *fs)
{
	fs_ns_lock_dir(fs);
	dw_on = true;
}

static void dw_leave(struct udax_fs *fs)
{
	dw_on = false;
	fs_ns_unlock(fs);
}

/* One more on @dir's sequence (its writer holds its lock). */
static void dseq_step(struct fs_inode *dir, memory_order mo)
{
	atomic_store_explicit(&dir->dseq, atomic_load_explicit(&dir->dseq,
			      memory_order_relaxed) + 1, mo);
}

/* Take / drop the lock of @dir, the directory this writer changes, its
 * sequence odd meanwhile: a lookup beside directory writers that read
 * the directory meanwhile looks again (beside_begin). */
static void dw_hold(struct fs_inode *dir)
{
	pthread_rwlock_wrlock(&dir->lock);
	dseq_step(dir, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (dw_dir)
		dw_dir2 = dir;
	else
		dw_dir = dir;
}

static void dw_drop(struct fs_inode *dir)
{
	if (dw_dir2 == dir)
		dw_dir2 = NULL;
	else
		dw_dir = NULL;
	dseq_step(dir, memory_order_release);
	pthread_rwlock_unlock(&dir->lock);
}

/* *@a and *@b (*@b may be NULL) in the order of their inode numbers:
 * the order in which a thread that locks two inodes takes their locks. */
static void by_number(struct fs_inode **a, struct fs_inode **b)
{
	if (*b && (*b)->ino < (*a)->ino) {
		struct fs_inode *t = *a;

		*a = *b;
		*b = t;
	}
}

/*
 * Hold @a and @b (a rename between two directories), in the order of
 * their numbers: two such renames in opposite directions would otherwise
 * each hold one and wait for the other.  No other writer waits for a
 * directory's lock while it holds one (walks come first), and a file's
 * lock is taken after its directory's, so this order is the whole rule.
 * @b may be @a: held once.
 */
static void dw_hold_pair(struct fs_inode *a, struct fs_inode *b)
{
	by_number(&a, &b);
	dw_hold(a);
	if (b != a)
		dw_hold(b);
}

static void dw_drop_pair(struct fs_inode *a, struct fs_inode *b)
{
	if (b != a)
		dw_drop(b);
	dw_drop(a);
}

/* A directory's writer reads another directory under its lock: a writer
 * of that one may be at work too.  No lock in the other modes (ns_lock
 * exclusive, or shared: no writer at work). */
static void dw_read_lock(struct fs_inode *dir)
{
	if (dw_on && !dw_held(dir))
		pthread_rwlock_rdlock(&dir->lock);
}

static void dw_read_unlock(struct fs_inode *dir)
{
	if (dw_on && !dw_held(dir))
		pthread_rwlock_unlock(&dir->lock);
}

/* Save @i before changing it; it stays locked (for write) until the end,
 * so that readers under ino->lock (fstat, views) see whole updates. */
static struct isave *dop_touch(struct dop *d, struct fs_inode *i)
{
	struct isave *s;

	for (int k = 0; k < d->ns; k++)
		if (d->s[k].i == i)
			return &d->s[k];
	s = &d->s[d->ns++];
	memset(s, 0, sizeof(*s));
	s->i = i;
	if (!dw_held(i)) {		/* a directory's writer holds it already */
		pthread_rwlock_wrlock(&i->lock);
		s->locked = true;
	}
	s->nlink = i->nlink;
	s->parent = i->parent;
	s->mode = i->mode;
	s->uid = i->uid;
	s->gid = i->gid;
	s->size = i->size;
	s->atime = i->atime;
	s->mtime = i->mtime;
	s->ctime = i->ctime;
	s->times_dirty = i->times_dirty;
	return s;
}

/*
 * Touch two inodes (@b may be NULL) in the order of their numbers.  A
 * rename that replaces a file locks the source and the file replaced,
 * and two directories' writers may rename at once: with hard links, the
 * source of one can be the target of the other and the reverse, and two
 * renames that each locked their source first would wait for each other
 * for ever (tests/fs/ops/fs_rename_lock_order).
 */
static void dop_touch_pair(struct dop *d, struct fs_inode *a, struct fs_inode *b)
{
	by_number(&a, &b);
	dop_touch(d, a);
	if (b)
		dop_touch(d, b);
}

/* After the commit: the indexes follow the new blocks (nothing here can
 * fail: fs_dix_reserve ran before); removed directories lose theirs. */
static void dop_index(struct dop *d)
{
	for (int k = 0; k < d->nxo; k++) {
		struct dixop *o = &d->xo[k];
		struct fs_dix *x = fs_dix_cached(d->fs, o->dir);

		if (x && o->add)
			fs_dix_add(x, o->hash, o->blk, o->off);
		else if (x)
			fs_dix_del(x, o->hash, o->blk, o->off);
	}
	for (int k = 0; k < d->nblk; k++) {
		struct fs_dix *x = fs_dix_cached(d->fs, d->blk[k]->dir);

		if (x)
			fs_dix_block_changed(x, d->blk[k]->dir, d->blk[k]->k);
	}
	for (int k = 0; k < d->ns; k++)
		if (S_ISDIR(d->s[k].mode) && !d->s[k].i->nlink)
			fs_dix_drop(d->fs, d->s[k].i->ino);
}

static void dop_end(struct dop *d, bool committed)
{
	for (int k = 0; k < d->ns; k++) {
		struct isave *s = &d->s[k];
		struct fs_inode *i = s->i;

		if (!committed) {
			i->nlink = s->nlink;
			i->parent = s->parent;
			i->mode = s->mode;
			i->uid = s->uid;
			i->gid = s->gid;
			i->size = s->size;
			i->atime = s->atime;
			i->mtime = s->mtime;
			i->ctime = s->ctime;
			i->times_dirty = s->times_dirty;
		}
		if (s->freed)
			fs_inode_free_finish(i, &s->br, committed);
		if (s->locked)
			pthread_rwlock_unlock(&i->lock);
	}
	if (committed && d->grown) {
		fs_inode_set_extents(d->grown, &d->t);
	}
	if (committed)
		dop_index(d);
	else {
		fs_txn_abort(&d->t);
		if (d->gpblk)
			fs_block_free(d->fs, d->gpblk, 1);
		if (d->xnew)
			fs_block_free(d->fs, d->xpblk, 1);
	}
	free(d->xblk);
	free(d->em.v);
	for (int k = 0; k < d->nblk; k++)
		free(d->blk[k]);
	fs_txn_free(&d->t);
}

#define dblk_crc fs_dirblk_crc

/*
 * The checksum of a directory block after a change of bytes [lo, hi) only,
 * from the old one, in O(hi - lo) rather than O(4096).  CRC-32C is linear
 * over GF(2): for equal lengths and seeds crc(new) ^ crc(old) is the bare
 * CRC (register 0 in, no inversions) of new ^ old, whose leading zeros
 * leave the register 0, then the changed span, then hi..4096 zero bytes,
 * which multiply the register by x^(8 * (4096 - hi)) mod P
 * (crc32c_shift_zeros).
 */
static uint32_t dblk_crc_update(uint32_t crc, const uint8_t *old,
				const uint8_t *new, uint32_t lo, uint32_t hi)
{
	uint8_t d[64];
	uint32_t r = 0;

	for (uint32_t o = lo; o < hi; o += sizeof(d)) {
		uint32_t n = hi - o < sizeof(d) ? hi - o : sizeof(d);

		for (uint32_t k = 0; k < n; k++)
			d[k] = old[o + k] ^ new[o + k];
		r = ~udax_crc32c(~r, d, n);	/* bare: no inversions */
	}
	return crc ^ crc32c_shift_zeros(r, FS_BS - hi);
}

static int dir_pblk(struct dop *d, struct fs_inode *dir, uint64_t k,
		    uint64_t *pblk)
{
	const struct fs_extent *e = NULL;
	struct fs_xpos xp;

	/* A directory growing in @d: its new block is in the window (the
	 * rest of its map is unchanged). */
	if (d && d->grown == dir) {
		uint32_t i = fs_emap_find(d->em.v, d->em.n, k);

		if (i < d->em.n && d->em.v[i].lblk <= k)
			e = &d->em.v[i];
	}
	if (!e)
		e = fs_xmap_seek(dir, k, &xp);
	if (!e || e->lblk > k || (e->flags & FS_EXT_UNWRITTEN))
		return fs_error(-EUCLEAN, "directory %u: block %llu missing",
				dir->ino, (unsigned long long)k);
	*pblk = e->pblk + (k - e->lblk);
	return 0;
}

/* Block @k of @dir for reading: the dirty copy if @d has one, else the
 * block on media, which the directory's index validated when it was built
 * (the caller got it: fs_dix_get). */
static int dir_block_ro(struct dop *d, struct fs_inode *dir, uint64_t k,
			const uint8_t **out)
{
	uint64_t pblk = 0;
	int ret = dir_pblk(d, dir, k, &pblk);

	if (ret)
		return ret;
	for (int j = 0; d && j < d->nblk; j++)
		if (d->blk[j]->pblk == pblk) {
			*out = d->blk[j]->data;
			return 0;
		}
	*out = fs_block_addr(dir->fs, pblk);
	return 0;
}

/* Block @k of @dir for changing: its dirty copy in @d, made at the first
 * change from the (validated) block on media. */
static int dir_block_rw(struct dop *d, struct fs_inode *dir, uint64_t k,
			uint8_t **out)
{
	uint64_t pblk = 0;
	struct dblk *b;
	int ret = dir_pblk(d, dir, k, &pblk);

	if (ret)
		return ret;
	for (int j = 0; j < d->nblk; j++)
		if (d->blk[j]->pblk == pblk) {
			*out = d->blk[j]->data;
			return 0;
		}
	if (d->nblk == DOP_BLKS)
		return fs_error(-ENOMEM, "too many directory blocks in one operation");
	b = fault_malloc(sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->pblk = pblk;
	b->dir = dir;
	b->k = (uint32_t)k;
	b->lo = FS_BS;
	b->hi = 0;
	memcpy(b->data, fs_block_addr(dir->fs, pblk), FS_BS);
	d->blk[d->nblk++] = b;
	*out = b->data;
	return 0;
}

static void dop_index_op(struct dop *d, struct fs_inode *dir, uint32_t hash,
			 uint64_t k, uint32_t off, bool add)
{
	d->xo[d->nxo++] = (struct dixop){ dir, hash, (uint32_t)k, off, add };
}

struct dloc {
	uint64_t k;
	uint32_t off;
	uint32_t ino;
	uint8_t type;
};

/* Find @name, whose fs_dix_hash is @hash, in @dir (as committed): 1 and
 * *@loc, 0 if absent, <0 on error.  O(1) expected: the directory's index.
 * @hint: a stat's lookup, remembered for the next stat (fs_dix_hint). */
static int dir_find_hashed(struct fs_inode *dir, const char *name, size_t len,
			   uint32_t hash, struct dloc *loc, bool hint)
{
	struct udax_fs *fs = dir->fs;
	const struct fs_ddirent *e;
	struct fs_dix *x;
	uint32_t k, off;
	int ret;

	/* Defined on every path (gcc -O3 cannot see that 1 comes only
	 * with *@loc filled). */
	*loc = (struct dloc){ 0 };
	ret = fs_dix_get(fs, dir, &x);
	if (ret)
		return ret;
	if (hint)
		fs_dix_hint(fs, x);
	if (!fs_dix_find(x, dir, hash, name, len, &k, &off))
		return 0;
	e = fs_dix_entry(x, k, off);
	*loc = (struct dloc){ k, off, e->ino, e->type };
	return 1;
}

static int dir_find(struct fs_inode *dir, const char *name, size_t len,
		    struct dloc *loc)
{
	return dir_find_hashed(dir, name, len, fs_dix_hash(dir->fs, name, len),
			       loc, false);
}

/* 1 if @dir has entries, 0 if empty. */
static int dir_nonempty(struct fs_inode *dir)
{
	struct fs_dix *x;
	int ret = fs_dix_get(dir->fs, dir, &x);

	return ret ? ret : !fs_dix_empty(x);
}

static void dirent_put(struct fs_ddirent *e, uint32_t ino, uint8_t type,
		       const char *name, size_t len)
{
	e->ino = ino;
	e->type = type;
	e->name_len = (uint8_t)len;
	memcpy(e->name, name, len);
}

/* Put a record in a gap of block @k of @dir (the index says it has one of
 * @need bytes): 1 done, 0 no gap after all, <0 error. */
static int dir_add_in(struct dop *d, struct fs_inode *dir, uint64_t k,
		      uint32_t need, const char *name, size_t len, uint32_t ino,
		      uint8_t type, uint32_t hash)
{
	const uint8_t *rb;
	uint8_t *b = NULL;
	int ret = dir_block_ro(d, dir, k, &rb);

	if (ret)
		return ret;
	for (uint32_t off = sizeof(struct fs_ddirhdr); off + 8 <= FS_BS;) {
		const struct fs_ddirent *r = (const void *)(rb + off);
		uint32_t used = r->ino ? FS_DIRENT_LEN(r->name_len) : 0;
		struct fs_ddirent *e;

		if (r->rec_len < 8 || r->rec_len > FS_BS - off)
			break;
		if (r->rec_len < used + need) {
			off += r->rec_len;
			continue;
		}
		ret = dir_block_rw(d, dir, k, &b);
		if (ret)
			return ret;
		e = (void *)(b + off);
		dblk_mark(b, off, used + 8 + (uint32_t)len);
		if (used) {
			struct fs_ddirent *n = (void *)(b + off + used);

			n->rec_len = (uint16_t)(e->rec_len - used);
			e->rec_len = (uint16_t)used;
			e = n;
		}
		dirent_put(e, ino, type, name, len);
		dop_index_op(d, dir, hash, k, (uint32_t)((uint8_t *)e - b), true);
		return 1;
	}
	return 0;
}

static int dir_add(struct dop *d, struct fs_inode *dir, const char *name,
		   size_t len, uint32_t ino, uint8_t type)
{
	uint32_t need = FS_DIRENT_LEN(len), hash, k;
	uint64_t nb = dir->size / FS_BS;
	struct fs_extent ne;
	struct fs_ddirhdr *h;
	struct fs_ddirent *e;
	struct fs_dix *x;
	uint64_t got, goal = 0;
	uint8_t *b;
	int ret = fs_dix_get(d->fs, dir, &x);

	if (!ret)
		ret = fs_dix_reserve(x, 1, 1);
	if (ret)
		return ret;
	hash = fs_dix_hash(d->fs, name, len);
	k = fs_dix_room(x, need);
	if (k != UINT32_MAX) {
		ret = dir_add_in(d, dir, k, need, name, len, ino, type, hash);
		if (ret)
			return ret < 0 ? ret : 0;
	}
	/* No room: grow the directory by a block. */
	if (nb >= UINT32_MAX || d->grown)
		return fs_error(-ENOSPC, "directory %u cannot grow", dir->ino);
	if (fs_xmap_last(dir))
		goal = fs_xmap_last(dir)->pblk + fs_xmap_last(dir)->len;
	ret = fs_block_alloc(d->fs, goal, 1, &d->gpblk, &got);
	if (ret)
		return ret;
	ret = fs_emap_window(&d->em, dir, nb, nb);
	ne = (struct fs_extent){ .lblk = nb, .pblk = d->gpblk, .len = 1 };
	if (!ret)
		ret = fs_emap_insert(&d->em, &ne);
	if (ret)
		return ret;
	fs_emap_normalize(&d->em);
	d->grown = dir;
	dop_touch(d, dir);
	dir->size += FS_BS;
	if (d->nblk == DOP_BLKS || !(d->blk[d->nblk] = fault_calloc(1, sizeof(struct dblk))))
		return -ENOMEM;
	d->blk[d->nblk]->pblk = d->gpblk;
	d->blk[d->nblk]->dir = dir;
	d->blk[d->nblk]->k = (uint32_t)nb;
	b = d->blk[d->nblk++]->data;
	h = (void *)b;
	h->magic = FS_DIR_MAGIC;
	h->ino = dir->ino;
	e = (void *)(b + sizeof(*h));
	e->rec_len = FS_BS - sizeof(*h);
	dirent_put(e, ino, type, name, len);
	dop_index_op(d, dir, hash, nb, sizeof(*h), true);
	return 0;
}

static int dir_remove(struct dop *d, struct fs_inode *dir, const struct dloc *l)
{
	uint8_t *b = NULL;
	uint32_t prev = 0, off;
	struct fs_ddirent *e;
	int ret = dir_block_rw(d, dir, l->k, &b);

	if (ret)
		return ret;
	for (off = sizeof(struct fs_ddirhdr); off < l->off;) {
		uint16_t rl = ((struct fs_ddirent *)(b + off))->rec_len;

		if (rl < 8 || rl > FS_BS - off)
			break;
		prev = off;
		off += rl;
	}
	e = (void *)(b + l->off);
	if (off != l->off || !e->ino)
		return fs_error(-EUCLEAN, "directory %u: block %llu: no record at %u",
				dir->ino, (unsigned long long)l->k, l->off);
	dop_index_op(d, dir, fs_dix_hash(d->fs, e->name, e->name_len), l->k,
		     l->off, false);
	dblk_mark(b, l->off, 8 + e->name_len);
	if (prev) {
		dblk_mark(b, prev + offsetof(struct fs_ddirent, rec_len), 2);
		((struct fs_ddirent *)(b + prev))->rec_len += e->rec_len;
		memset(e, 0, 8 + e->name_len);
	} else {
		memset(e->name, 0, e->name_len);
		e->ino = 0;
		e->name_len = 0;
		e->type = 0;
	}
	return 0;
}

static int dir_set(struct dop *d, struct fs_inode *dir, const struct dloc *l,
		   uint32_t ino, uint8_t type)
{
	uint8_t *b = NULL;
	int ret = dir_block_rw(d, dir, l->k, &b);
	struct fs_ddirent *e;

	if (ret)
		return ret;
	e = (void *)(b + l->off);
	dblk_mark(b, l->off, 8);
	e->ino = ino;
	e->type = type;
	return 0;
}

/* Drop a link of @i: free it in this transaction if it was the last one
 * and nobody else holds it, else leave an orphan or just count down. */
static int dop_drop_link(struct dop *d, struct fs_inode *i)
{
	struct isave *s = dop_touch(d, i);
	bool alone, last = S_ISDIR(i->mode) || i->nlink <= 1;
	int ret;

	pthread_mutex_lock(fs_icache_lock(C(d->fs), i->ino));
	/* Its directory index's reference goes with the link (fs_dix_drop
	 * after the commit). */
	alone = i->refs == 1u + fs_dix_holds(i);
	pthread_mutex_unlock(fs_icache_lock(C(d->fs), i->ino));
	i->ctime = d->now;
	if (!last) {
		i->nlink--;
		return 0;
	}
	i->nlink = 0;
	if (!alone)
		return 0;	/* an orphan until its last close */
	if (!s->locked && !dw_held(i)) {	/* an rmdir's writer holds it */
		pthread_rwlock_wrlock(&i->lock);
		s->locked = true;
	}
	ret = fs_layout_break_all(d->fs, i, d->brk, &s->br);
	if (ret)
		return ret;
	s->freed = true;
	return 0;
}

/*
 * Log the bytes of a changed directory block that the operation changed
 * (marked as it changed them: dblk_mark), and its checksum, not the whole
 * block: a create or unlink changes a few dozen bytes, and the journal
 * copies, and the checkpoint writes back and flushes, only those.
 * Replaying them over the block on media gives the new block exactly:
 * nothing else writes it in between (ns_lock).  A new block is logged
 * whole: what a free block holds is no one's business.
 */
static void dblk_log(struct dop *d, struct dblk *b)
{
	const uint8_t *old = fs_block_addr(d->fs, b->pblk);
	struct fs_ddirhdr *h = (void *)b->data;
	uint32_t lo = 8, hi = FS_BS;

	if (b->pblk == d->gpblk) {
		h->crc = dblk_crc(b->dir->ino, b->data);
		fs_txn_add(&d->t, b->pblk * FS_BS, b->data, FS_BS);
		return;
	}
	if (b->lo > lo)
		lo = b->lo;
	if (b->hi < hi)
		hi = b->hi > lo ? b->hi : lo;
#ifndef NDEBUG
	/* Debug builds check the marks: nothing changed outside them. */
	if (memcmp(b->data + 8, old + 8, lo - 8) ||
	    memcmp(b->data + hi, old + hi, FS_BS - hi))
		abort();
#endif
	/* The block on media was validated: its checksum is the old one. */
	h->crc = dblk_crc_update(((const struct fs_ddirhdr *)old)->crc, old,
				 b->data, lo, hi);
	fs_txn_add(&d->t, b->pblk * FS_BS + 4, &h->crc, 4);
	if (lo < hi)
		fs_txn_add(&d->t, b->pblk * FS_BS + lo, b->data + lo, hi - lo);
}

static int dop_commit(struct dop *d)
{
	int ret = 0;

	for (int k = 0; k < d->nblk; k++)
		dblk_log(d, d->blk[k]);
	if (d->xblk)
		fs_txn_add(&d->t, d->xpblk * FS_BS, d->xblk, FS_BS);
	for (int k = 0; k < d->ns && !ret; k++) {
		struct fs_inode *i = d->s[k].i;

		if (d->s[k].freed)
			ret = fs_txn_inode_free(&d->t, i);
		else if (i == d->grown)
			ret = fs_txn_inode(&d->t, i, &d->em);
		else
			ret = fs_txn_inode(&d->t, i, NULL);
	}
	if (!ret)
		ret = fs_txn_commit(&d->t);
	dop_end(d, ret == 0);
	return ret;
}

/* @i's mode changed (touched by @d): its access ACL follows, in the
 * same transaction. */
static int dop_acl_chmod(struct dop *d, struct fs_inode *i)
{
	int ret;

	if (!i->xattr)
		return 0;
	ret = fs_acl_chmod_block(i, &d->xblk);
	d->xpblk = i->xattr;
	return ret;
}

/* ---- path walk (ns_lock held) ------------------------------------------------------ */

#define FS_PATH_MAX	4096		/* a path, symbolic links expanded */
#define FS_MAXSYMLINKS	40		/* Linux's limit: ELOOP beyond */

struct nd {
	struct fs_inode *dir;		/* parent of the last component */
	const char *name;		/* in the caller's path or in buf */
	size_t len;
	bool slash;			/* trailing slash */
	bool root;			/* the path is "/" */
	bool dot;			/* last component is "." or ".." */
	unsigned links;			/* symbolic links followed so far */
	char buf[FS_PATH_MAX];		/* the path after a link's expansion */
};

/* The inode named @s[0..n) in directory @cur (held), or -ENOENT ... */
static int lookup(struct udax_fs *fs, struct fs_inode *cur, const char *s,
		  size_t n, struct fs_inode **next)
{
	struct dloc l;
	uint32_t ino;
	int ret;

	if (!S_ISDIR(cur->mode))
		return fs_error(-ENOTDIR, "a path component is not a directory");
	if (n == 1 && s[0] == '.') {
		fs_inode_hold(cur);
		*next = cur;
		return 0;
	}
	if (n == 2 && s[0] == '.' && s[1] == '.')
		return fs_iget(fs, cur->parent, next);
	dw_read_lock(cur);
	ret = dir_find(cur, s, n, &l);
	if (ret > 0) {
		ino = l.ino;
		ret = fs_iget(fs, ino, next);
	} else if (!ret) {
		ret = fs_error(-ENOENT, "no such file or directory: %.*s", (int)n, s);
	}
	dw_read_unlock(cur);
	return ret;
}

/*
 * Replace the path being walked by symbolic link @link's target followed
 * by @rest (what was left after the link, "" or "/..." ): into nd->buf,
 * which @rest may point into.  Counts the link: -ELOOP past 40.
 */
static int nd_expand(struct nd *nd, struct fs_inode *link, const char *rest)
{
	size_t tl = link->size, rl = strlen(rest);
	char *tmp;

	if (++nd->links > FS_MAXSYMLINKS)
		return fs_error(-ELOOP, "too many levels of symbolic links");
	if (!link->symlink)
		return fs_error(-EUCLEAN, "inode %u: symbolic link without a target",
				link->ino);
	if (tl + rl + 1 > sizeof(nd->buf))
		return fs_error(-ENAMETOOLONG, "path too long after a symbolic link");
	tmp = fault_malloc(tl + rl + 1);
	if (!tmp)
		return -ENOMEM;
	memcpy(tmp, link->symlink, tl);
	memcpy(tmp + tl, rest, rl + 1);
	memcpy(nd->buf, tmp, tl + rl + 1);
	free(tmp);
	return 0;
}

/*
 * Walk @path from @cur (a held directory reference, consumed) to the
 * parent of its last component, following symbolic links on the way.
 * nd->links carries over (the 40-link limit spans a whole resolution).
 */
static int walk_parent_at(struct udax_fs *fs, struct fs_inode *cur,
			  const char *path, struct nd *nd)
{
	const char *p = path, *s;
	int ret;

	nd->dir = NULL;
	nd->name = NULL;
	nd->len = 0;
	nd->slash = nd->root = nd->dot = false;
	for (;;) {
		struct fs_inode *next;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p) {
			nd->root = true;	/* "/" */
			break;
		}
		s = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - s);
		if (n > UDAX_NAME_MAX) {
			fs_iput(cur);
			return fs_error(-ENAMETOOLONG, "name too long");
		}
		while (*p == '/')
			p++;
		if (!*p) {
			nd->name = s;
			nd->len = n;
			nd->slash = p[-1] == '/';
			nd->dot = fs_name_is_dot(s, n);
			break;
		}
		ret = lookup(fs, cur, s, n, &next);
		if (ret) {
			fs_iput(cur);
			return ret;
		}
		if (S_ISLNK(next->mode)) {
			/* Go on with target + the rest, from the link's
			 * directory or (an absolute target) the root. */
			ret = nd_expand(nd, next, p - 1);
			if (!ret && nd->buf[0] == '/') {
				fs_iput(cur);
				ret = fs_iget(fs, UDAX_ROOT_INO, &cur);
				if (ret) {
					fs_iput(next);
					return ret;
				}
			}
			fs_iput(next);
			if (ret) {
				fs_iput(cur);
				return ret;
			}
			p = nd->buf;
			continue;
		}
		fs_iput(cur);
		cur = next;
	}
	if (!S_ISDIR(cur->mode)) {
		fs_iput(cur);
		return fs_error(-ENOTDIR, "a path component is not a directory");
	}
	nd->dir = cur;
	return 0;
}

static int walk_parent(struct udax_fs *fs, const char *path, struct nd *nd)
{
	struct fs_inode *root;
	int ret;

	nd->dir = NULL;
	nd->links = 0;
	if (!fs || !path)
		return fs_error(-EINVAL, "no file system or path");
	if (!*path)
		return fs_error(-ENOENT, "empty path");
	if (*path != '/')
		return fs_error(-EINVAL, "path \"%s\" is not absolute", path);
	ret = fs_iget(fs, UDAX_ROOT_INO, &root);
	if (ret)
		return ret;
	return walk_parent_at(fs, root, path, nd);
}

/*
 * Resolve the last component of @nd: 0 and *@out, or -ENOENT ...  With
 * @follow (or a trailing slash), a symbolic link there is followed, and
 * @nd then describes the final name: on -ENOENT, where to create it.
 */
static int nd_last(struct udax_fs *fs, struct nd *nd, struct fs_inode **out,
		   bool follow)
{
	struct fs_inode *cur;
	int ret;

	for (;;) {
		if (nd->root) {
			fs_inode_hold(nd->dir);
			cur = nd->dir;
		} else {
			ret = lookup(fs, nd->dir, nd->name, nd->len, &cur);
			if (ret)
				return ret;
		}
		if (!S_ISLNK(cur->mode) || !(follow || nd->slash))
			break;
		ret = nd_expand(nd, cur, nd->slash ? "/" : "");
		fs_iput(cur);
		if (ret)
			return ret;
		if (nd->buf[0] == '/') {
			fs_iput(nd->dir);
			ret = fs_iget(fs, UDAX_ROOT_INO, &nd->dir);
			if (ret) {
				nd->dir = NULL;
				return ret;
			}
		}
		cur = nd->dir;
		ret = walk_parent_at(fs, cur, nd->buf, nd);
		if (ret)
			return ret;	/* nd->dir is NULL */
	}
	if (nd->slash && !S_ISDIR(cur->mode)) {
		fs_iput(cur);
		return fs_error(-ENOTDIR, "not a directory (trailing slash)");
	}
	*out = cur;
	return 0;
}

static int walk(struct udax_fs *fs, const char *path, struct fs_inode **out,
		bool follow)
{
	struct nd nd;
	int ret = walk_parent(fs, path, &nd);

	if (ret)
		return ret;
	ret = nd_last(fs, &nd, out, follow);
	fs_iput(nd.dir);
	return ret;
}

/* As a directory's writer that holds no directory (dw_dir NULL): the walk
 * reads every directory under its lock, beside writers of others. */
int fs_walk(struct udax_fs *fs, const char *path, bool follow,
	    struct fs_inode **out)
{
	int ret;

	dw_enter(fs);
	ret = walk(fs, path, out, follow);
	dw_leave(fs);
	return ret;
}

void fs_walk_begin(struct udax_fs *fs)
{
	dw_enter(fs);
}

void fs_walk_end(struct udax_fs *fs)
{
	dw_leave(fs);
}

/*
 * @name (one component, checked by the caller) in directory @dir, as a
 * walk would leave it: for the inode-handle calls (fs_at_*), which hold
 * @dir; @nd takes a reference of its own, dropped by the caller.
 */
static void nd_at(struct nd *nd, struct fs_inode *dir, const char *name,
		  size_t len)
{
	fs_inode_hold(dir);
	nd->dir = dir;
	nd->name = name;
	nd->len = len;
	nd->slash = nd->root = false;
	nd->dot = fs_name_is_dot(name, len);
	nd->links = 0;
}

int fs_at_lookup(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		 size_t len, struct fs_inode **out)
{
	struct nd nd;
	int ret;

	nd_at(&nd, dir, name, len);
	ret = nd_last(fs, &nd, out, false);
	fs_iput(nd.dir);
	return ret;
}

/* ---- shared walk (ns_lock held shared) ----------------------------------------------- */

/*
 * The last name of a path, found and hashed before the walk: a stat
 * among many names of one large directory starts loading the name's index
 * slot (fs_dix_prefetch) while it walks to the directory.  The walk's own
 * last name is this one unless a symbolic link replaced the path
 * (nd_expand): compared by address, the hash is then computed again.
 */
struct last_name {
	const char *name;
	size_t len;
	uint32_t hash;
};

static void last_name_prefetch(struct udax_fs *fs, const char *path,
			       struct last_name *ln)
{
	size_t e = path ? strlen(path) : 0, b;

	*ln = (struct last_name){ NULL, 0, 0 };
	while (e && path[e - 1] == '/')
		e--;
	for (b = e; b && path[b - 1] != '/'; b--)
		;
	if (e == b || e - b > UDAX_NAME_MAX)
		return;
	*ln = (struct last_name){ path + b, e - b, fs_dix_hash(fs, path + b, e - b) };
	fs_dix_prefetch(fs, ln->hash);
}

void (*fs_walk_beside_hook)(struct udax_fs *fs, uint32_t dir_ino);

/* Where a shared walk ended: the last name's inode number and type, the
 * index it was found in and (beside writers) its directory's sequence
 * then, which must still hold after what the caller reads of the inode. */
struct wend {
	struct fs_dix *x;
	uint32_t ino;
	uint8_t type;
	uint32_t seq;
};

/*
 * The first look of a lookup beside directory writers at the directory
 * @x indexes: false while its writer is at work, or if @x is no longer
 * its index -- one evicted before this look may have missed changes made
 * since (they went to its successor), which the sequence does not tell.
 * Evictions and changes of a directory both hold its lock, so an index
 * still published then has every change made before.  The second look is
 * fs_dix_unchanged(@x, *@seq), after the reads.
 */
static bool beside_begin(struct udax_fs *fs, struct fs_dix *x, uint32_t *seq)
{
	struct fs_inode *dir = fs_dix_dir(x);

	*seq = atomic_load_explicit(&dir->dseq, memory_order_acquire);
	return !(*seq & 1) && fs_dix_shared(fs, dir->ino) == x;
}

/*
 * A walk with ns_lock held shared (nslock.c), in the spirit of the
 * kernel's RCU walk: through directories whose index is in memory, with
 * no reference taken, nothing loaded, built or changed, so that threads
 * looking up in parallel share no written line.  Directories are reached
 * by their index (which holds them, and which only a writer frees).
 * @beside: ns_lock beside directory writers (fs_ns_trylock_beside): a
 * directory may change while it is read, so each is read between two
 * looks at its sequence (beside_begin), by fs_dix_find_beside; the last
 * one's second look is the caller's (fs_dix_unchanged), after it read the
 * inode.
 * Directories do not move meanwhile (renames of directories are
 * exclusive); an rmdir is the writer of the directory and its parent,
 * and drops the directory's index from the table: a walk that read its
 * name before finds no index at its next look (beside_begin), or read
 * the empty directory before the rmdir.
 * 1: answered, with *@ret 0 and *@w the last name's, or *@ret -ENOENT;
 * 0: something is not at hand or needs words (no index, ".", "..", a
 * trailing slash, "/", a symbolic link or a non-directory on the way, a
 * directory changing), and the exclusive walk answers instead, from the
 * start.  @ln: the last name hashed beforehand (stat_path), or NULL.
 */
static int walk_shared(struct udax_fs *fs, const char *path,
		       const struct last_name *ln, bool beside, struct wend *w,
		       int *ret)
{
	struct fs_dix *x = fs_dix_shared(fs, UDAX_ROOT_INO);
	const char *p = path;

	if (!path || *path != '/')
		return 0;
	for (;;) {
		const char *s;
		uint32_t hash, seq = 0;
		size_t n;
		bool last, found;

		while (*p == '/')
			p++;
		for (s = p; *p && *p != '/'; p++)
			;
		n = (size_t)(p - s);
		last = !*p;
		if (!x || !n || n > UDAX_NAME_MAX || fs_name_is_dot(s, n) ||
		    (!beside && fs_dix_dir(x)->nlink == 0))
			return 0;
		hash = ln && s == ln->name && n == ln->len ? ln->hash :
		       fs_dix_hash(fs, s, n);
		if (beside) {
			if (__builtin_expect(fs_walk_beside_hook != NULL, 0))
				fs_walk_beside_hook(fs, fs_dix_dir(x)->ino);
			if (!beside_begin(fs, x, &seq))
				return 0;
			found = fs_dix_find_beside(x, fs, hash, s, n, &w->ino, &w->type);
			if (!fs_dix_unchanged(x, seq))
				return 0;
		} else {
			uint32_t blk, off;

			found = fs_dix_find(x, fs_dix_dir(x), hash, s, n, &blk, &off);
			if (found) {
				const struct fs_ddirent *e = fs_dix_entry(x, blk, off);

				w->ino = e->ino;
				w->type = e->type;
			}
		}
		if (!found) {
			if (!last && !p[strspn(p, "/")])
				return 0;	/* "name/": the walk's words */
			*ret = fs_error(-ENOENT, "no such file or directory: %.*s",
					(int)n, s);
			return 1;
		}
		if (last) {
			w->x = x;
			w->seq = seq;
			*ret = 0;
			return 1;
		}
		if (w->type != DT_DIR)
			return 0;
		x = fs_dix_shared(fs, w->ino);
	}
}

/*
 * stat_path's shared half, beside directory writers: as walk_shared
 * answers, with *@st filled or *@out a cached inode to fill from (the
 * caller checks it is no symbolic link to follow); 0: the exclusive walk
 * answers.  The name's directory must not have changed from before the
 * name was found until after its inode was read: the name was there all
 * along, so its inode was in use, not freed or another's.
 */
static int stat_shared(struct udax_fs *fs, const char *path,
		       const struct last_name *ln, struct udax_stat *st,
		       struct fs_inode **out, int *ret)
{
	struct wend w;
	int r;

	*out = NULL;
	if (!walk_shared(fs, path, ln, true, &w, ret))
		return 0;
	if (*ret)
		return 1;
	if (w.type == DT_LNK)
		return 0;
	fs_dix_hint(fs, w.x);
	r = fs_inode_stat(fs, w.ino, st, out) > 0 || *out;
	if (r && !fs_dix_unchanged(w.x, w.seq))
		r = 0;		/* the caller puts *out */
	return r;
}

/* A reference to the inode @e names, ns_lock held shared: a directory's
 * from its index (no lock: the index's reference keeps it), else from the
 * cache, or loaded into it under the inode's load lock (fs_iget_shared);
 * NULL: the exclusive path answers. */
static struct fs_inode *shared_ref(struct udax_fs *fs, uint32_t ino, uint8_t type)
{
	struct fs_inode *i = NULL;

	if (type == DT_DIR) {
		struct fs_dix *x = fs_dix_shared(fs, ino);

		i = x ? fs_dix_dir(x) : NULL;
		if (i && i->nlink) {
			fs_inode_hold(i);
			return i;
		}
	}
	return fs_iget_shared(fs, ino, &i) ? NULL : i;
}

static uint8_t dtype(uint32_t mode)
{
	return fs_mode_dtype(mode);
}

/* ---- operations ----------------------------------------------------------------------- */

/* What a create makes besides the name: the inode's type and mode, and
 * a symbolic link's target. */
struct mk {
	uint32_t mode;
	const struct udax_cred *cred;	/* NULL: uid 0, gid 0 */
	const char *target;		/* S_IFLNK */
	size_t tlen;
	uint32_t rdev;			/* S_IFCHR, S_IFBLK: encoded */
	bool unnamed;			/* O_TMPFILE: no entry, nlink 0 */
};

/*
 * The owner and mode of a new inode in @dir, as Linux's inode_init_owner:
 * the creator's uid and gid, except in a set-group-ID directory, whose
 * group the inode takes (and a new subdirectory its S_ISGID bit); there a
 * group-executable set-group-ID file of a creator outside the group
 * (gid differs, uid not 0: udax knows no supplementary groups) loses
 * S_ISGID.
 */
static void mk_owner(const struct fs_inode *dir, const struct mk *mk,
		     uint32_t *mode, uint32_t *uid, uint32_t *gid)
{
	*mode = mk->mode;
	*uid = mk->cred ? (uint32_t)mk->cred->uid : 0;
	*gid = mk->cred ? (uint32_t)mk->cred->gid : 0;
	if (!(dir->mode & S_ISGID))
		return;
	if (S_ISDIR(*mode))
		*mode |= S_ISGID;
	else if ((*mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
		 *uid && *gid != dir->gid)
		*mode &= ~(uint32_t)S_ISGID;
	*gid = dir->gid;
}

/* A long symbolic link's target in a block of its own (flushed: the
 * commit's fence makes it durable), mapped as the new inode's only
 * extent. */
static int mk_symlink_block(struct udax_fs *fs, struct fs_inode *i,
			    const struct mk *mk, uint64_t *pblk)
{
	uint64_t got;
	int ret = fs_block_alloc(fs, 0, 1, pblk, &got);

	if (ret)
		return ret;
	ret = udax_dev_memcpy_persist(fs->dev, fs_block_addr(fs, *pblk),
				      mk->target, mk->tlen, UDAX_PERSIST_NODRAIN);
	if (ret)
		ret = fs_error(ret, "symlink: persisting the target failed: %s",
			       udax_strerror(ret));
	if (!ret)
		ret = fs_xmap_one_block(i, *pblk);
	if (ret) {
		fs_block_free(fs, *pblk, 1);
		*pblk = 0;
	}
	return ret;
}

/*
 * Create @nd's last component as a new inode as @mk says (ns_lock held).
 * On success *@out holds a cache reference to it.
 */
void (*fs_create_insert_hook)(struct udax_fs *fs, uint32_t ino);

static int create(struct udax_fs *fs, struct nd *nd, const struct mk *mk,
		  struct fs_inode **out)
{
	struct fs_inode *dir = nd->dir, *i;
	uint32_t ino, gen, mode, uid, gid;
	uint64_t lpblk = 0;
	bool loadlocked = false;
	struct dop d;
	int ret;

	if (nd->root || nd->dot)
		return fs_error(-EEXIST, "file exists");
	if (!dir->nlink)
		return fs_error(-ENOENT, "directory was removed");
	mk_owner(dir, mk, &mode, &uid, &gid);
	if (S_ISDIR(mode) && dir->nlink >= UINT32_MAX - 1)
		return fs_error(-EMLINK, "too many links");
	ret = fs_ino_alloc(fs, &ino, &gen);
	if (ret)
		return ret;
	i = fs_inode_new(fs, ino, mode);
	if (!i) {
		fs_ino_free(fs, ino);
		return -ENOMEM;
	}
	if (S_ISLNK(mode)) {
		i->symlink = fault_malloc(mk->tlen + 1);
		if (!i->symlink) {
			fs_ino_free(fs, ino);
			fs_inode_dispose(i);
			return -ENOMEM;
		}
		memcpy(i->symlink, mk->target, mk->tlen);
		i->symlink[mk->tlen] = 0;
		i->size = mk->tlen;
		if (mk->tlen > FS_SYMLINK_INLINE) {
			ret = mk_symlink_block(fs, i, mk, &lpblk);
			if (ret) {
				fs_ino_free(fs, ino);
				fs_inode_dispose(i);
				return ret;
			}
		}
	}
	i->gen = gen;
	i->uid = uid;
	i->gid = gid;
	i->rdev = mk->rdev;
	i->nlink = S_ISDIR(mode) ? 2 : mk->unnamed ? 0 : 1;
	i->parent = S_ISDIR(mode) ? dir->ino : 0;
	dop_init(&d, fs, NULL);
	i->atime = i->mtime = i->ctime = i->btime = d.now;
	/* The directory's default ACL: the new inode's ACLs, in its block,
	 * committed with it; the ACL masks the mode. */
	ret = fs_acl_inherit(dir, ino, &mode, &d.xblk, dw_held(dir));
	if (!ret && d.xblk) {
		uint64_t got;

		ret = fs_block_alloc(fs, 0, 1, &d.xpblk, &got);
		d.xnew = !ret;
		i->xattr = ret ? 0 : d.xpblk;
	}
	if (ret) {
		dop_end(&d, false);
		goto done;
	}
	i->mode = mode;
	if (mk->unnamed) {
		/* An orphan from the start: the record alone; mount reclaims
		 * it after a crash, the last close frees it. */
		dop_touch(&d, i);
		fs_iload_lock_new(fs, ino);
		loadlocked = true;
		ret = dop_commit(&d);
		goto done;
	}
	dop_touch(&d, dir);
	dop_touch(&d, i);
	/* Until the inode is cached (after its directory's lock, as every
	 * walk takes a directory's lock before a load lock). */
	fs_iload_lock_new(fs, ino);
	loadlocked = true;
	ret = dir_add(&d, dir, nd->name, nd->len, ino, dtype(mode));
	if (!ret) {
		if (S_ISDIR(mode))
			dir->nlink++;
		dir->mtime = dir->ctime = d.now;
		ret = dop_commit(&d);
	} else {
		dop_end(&d, false);
	}
done:
	if (ret) {
		if (loadlocked)
			fs_iload_unlock_new(fs, ino);
		if (lpblk)
			fs_block_free(fs, lpblk, 1);
		fs_ino_free(fs, ino);
		fs_inode_dispose(i);
		return ret;
	}
	if (__builtin_expect(fs_create_insert_hook != NULL, 0))
		fs_create_insert_hook(fs, ino);
	fs_icache_insert(i);
	fs_iload_unlock_new(fs, ino);
	*out = i;
	return 0;
}

/* udax_open's O_TMPFILE: a new regular file with no name in directory
 * @path (its last component followed). */
int fs_ns_tmpfile(struct udax_fs *fs, const char *path, mode_t mode,
		  const struct udax_cred *cred, struct fs_inode **out)
{
	struct mk mk = { .mode = S_IFREG | (mode & 07777), .cred = cred,
			 .unnamed = true };
	struct fs_inode *dir = NULL;
	struct nd nd = { 0 };
	int ret;

	fs_ns_lock(fs);
	ret = walk(fs, path, &dir, true);
	if (!ret && !S_ISDIR(dir->mode))
		ret = fs_error(-ENOTDIR, "O_TMPFILE: not a directory");
	if (!ret) {
		nd.dir = dir;
		ret = create(fs, &nd, &mk, out);
	}
	fs_ns_unlock(fs);
	fs_iput(dir);
	return ret;
}

/* The namespace half of udax_open(): find or create @nd. */
static int nd_open(struct udax_fs *fs, struct nd *nd, int oflags, mode_t mode,
		   const struct udax_cred *cred, struct fs_inode **out,
		   bool *created)
{
	struct fs_inode *i = NULL;
	int ret;

	*created = false;
	/* O_CREAT | O_EXCL and O_NOFOLLOW name the link itself: EEXIST
	 * and ELOOP (open(2)); otherwise a link, even one that dangles, is
	 * followed, and a create makes its target. */
	ret = nd_last(fs, nd, &i, !(oflags & O_NOFOLLOW) &&
		      (oflags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL));
	if (!ret && S_ISLNK(i->mode) &&
	    (oflags & (O_CREAT | O_EXCL)) != (O_CREAT | O_EXCL)) {
		fs_iput(i);
		ret = fs_error(-ELOOP, "open: a symbolic link (O_NOFOLLOW)");
	}
	if (ret == -ENOENT && nd->dir && (oflags & O_CREAT) && !nd->root && !nd->dot) {
		if (nd->slash)
			ret = fs_error(-EISDIR, "cannot create a file with a trailing slash");
		else
			ret = fs_check_rw(fs);
		if (!ret)
			ret = create(fs, nd, &(struct mk){ .mode = S_IFREG | (mode & 07777), .cred = cred }, &i);
		if (!ret)
			*created = true;
	} else if (!ret && (oflags & O_CREAT) && (oflags & O_EXCL)) {
		fs_iput(i);
		ret = fs_error(-EEXIST, "file exists");
	} else if (!ret && (oflags & O_CREAT) && S_ISDIR(i->mode)) {
		fs_iput(i);
		ret = fs_error(-EISDIR, "O_CREAT on a directory");
	}
	if (!ret)
		*out = i;
	return ret;
}

/*
 * Begin a directory's writer: ns_lock for one (writers of other
 * directories work meanwhile), walk to the parent of @path's last name,
 * the parent's lock for write.  0: *@nd is set and its directory locked;
 * 1: not this way (the root, ".", "..", a trailing slash: the exclusive
 * path words those); else an error of the walk.
 */
static int dw_begin(struct udax_fs *fs, const char *path, struct nd *nd)
{
	int ret;

	dw_enter(fs);
	ret = walk_parent(fs, path, nd);
	if (!ret && (nd->root || nd->dot || nd->slash)) {
		fs_iput(nd->dir);
		ret = 1;
	}
	if (!ret)
		dw_hold(nd->dir);
	else
		dw_leave(fs);
	return ret;
}

static void dw_end(struct udax_fs *fs, struct nd *nd)
{
	dw_drop(nd->dir);
	fs_iput(nd->dir);
	dw_leave(fs);
}

void fs_dw_begin_at(struct udax_fs *fs, struct fs_inode *dir)
{
	fs_dw_begin_pair_at(fs, dir, dir);
}

void fs_dw_end_at(struct udax_fs *fs, struct fs_inode *dir)
{
	fs_dw_end_pair_at(fs, dir, dir);
}

void fs_dw_begin_pair_at(struct udax_fs *fs, struct fs_inode *a,
			 struct fs_inode *b)
{
	dw_enter(fs);
	dw_hold_pair(a, b);
}

void fs_dw_end_pair_at(struct udax_fs *fs, struct fs_inode *a,
		       struct fs_inode *b)
{
	dw_drop_pair(a, b);
	dw_leave(fs);
}

/*
 * udax_open with O_CREAT as a directory's writer: true if answered (*@ret),
 * false if the exclusive path must (a symbolic link as the last name,
 * which a create follows into another directory, or what dw_begin leaves).
 */
static bool dw_open(struct udax_fs *fs, const char *path, int oflags,
		    mode_t mode, const struct udax_cred *cred,
		    struct fs_inode **out, bool *created, int *ret)
{
	struct fs_inode *i = NULL;
	struct nd nd;
	struct dloc l;
	int r = dw_begin(fs, path, &nd);

	if (r > 0)
		return false;
	if (r < 0) {
		*ret = r;
		return true;
	}
	r = dir_find(nd.dir, nd.name, nd.len, &l);
	if (r > 0) {
		r = fs_iget(fs, l.ino, &i);
		if (!r && S_ISLNK(i->mode)) {
			fs_iput(i);
			dw_end(fs, &nd);
			return false;
		}
		fs_iput(i);
	}
	*ret = r < 0 ? r : nd_open(fs, &nd, oflags, mode, cred, out, created);
	dw_end(fs, &nd);
	return true;
}

void (*fs_lookup_beside_hook)(struct udax_fs *fs, uint32_t ino);

/*
 * The inode @ino that a name found beside directory writers gave (in the
 * directory @x indexes, after the look at its sequence that read @seq):
 * from the cache or loaded into it under its number's load lock
 * (fs_iget_shared).  The name may be stale by then and its number reused
 * by a create: the create holds that load lock from before its commit
 * until its inode is cached, so the load finds that inode cached rather
 * than caching a second copy.  Kept only if the directory did not change
 * from before the name was found until after the inode was taken: then
 * the name was there all along, so its inode was in use and that name's,
 * and an unlink of it, which begins only after the second look, counts
 * the reference (dop_drop_link's "alone", under the inode cache's lock).
 * True and *@out; false with *@out NULL, or a reference the caller puts
 * after ns_lock beside (the directory changed meanwhile).
 */
static bool take_beside(struct udax_fs *fs, struct fs_dix *x, uint32_t seq,
			uint32_t ino, struct fs_inode **out)
{
	if (__builtin_expect(fs_lookup_beside_hook != NULL, 0))
		fs_lookup_beside_hook(fs, ino);
	if (fs_iget_shared(fs, ino, out))
		*out = NULL;
	return *out && fs_dix_unchanged(x, seq);
}

int fs_ns_open(struct udax_fs *fs, const char *path, int oflags, mode_t mode,
	       const struct udax_cred *cred, struct fs_inode **out,
	       bool *created)
{
	struct nd nd;
	int ret;

	*created = false;
	/* Opening what is there, in memory (no symbolic link to follow, no
	 * create to make, no O_EXCL or O_CREAT-on-a-directory error to
	 * word): shared, loading the inode if need be, while no writer is at
	 * work; else beside the writers of directories (as udax_lookup:
	 * fs_at_lookup_beside).  Not waiting for
	 * writers: they are at work
	 * most of the time when they are, and a create is a writer itself
	 * and goes on as one if the name is not there. */
	if (!(oflags & O_EXCL)) {
		struct fs_inode *i = NULL;
		struct wend w;
		int r = 0;

		if (fs_ns_trylock_shared_spin(fs, 0)) {
			if (walk_shared(fs, path, NULL, false, &w, &r) && !r &&
			    w.type != DT_LNK && !((oflags & O_CREAT) && w.type == DT_DIR))
				i = shared_ref(fs, w.ino, w.type);
			fs_ns_unlock_shared(fs);
		} else if (fs_ns_trylock_beside(fs, FS_NS_READER_SPINS)) {
			struct fs_inode *stale = NULL;

			if (walk_shared(fs, path, NULL, true, &w, &r) && !r &&
			    w.type != DT_LNK && !((oflags & O_CREAT) && w.type == DT_DIR) &&
			    !take_beside(fs, w.x, w.seq, w.ino, &i)) {
				stale = i;
				i = NULL;
			}
			fs_ns_unlock_beside(fs);
			fs_iput(stale);
		}
		if (i && S_ISLNK(i->mode)) {
			/* The record says so, not the entry's type (a
			 * damaged entry): the walk follows it, or words it. */
			fs_iput(i);
			i = NULL;
		}
		if (i) {
			*out = i;
			return 0;
		}
		if (r == -ENOENT && !(oflags & O_CREAT))
			return r;
	}
	if ((oflags & O_CREAT) && dw_open(fs, path, oflags, mode, cred, out,
					  created, &ret))
		return ret;
	/* Without O_CREAT nothing is made: beside directory writers. */
	if (oflags & O_CREAT)
		fs_ns_lock(fs);
	else
		dw_enter(fs);
	ret = walk_parent(fs, path, &nd);
	if (!ret) {
		ret = nd_open(fs, &nd, oflags, mode, cred, out, created);
		fs_iput(nd.dir);
	}
	if (oflags & O_CREAT)
		fs_ns_unlock(fs);
	else
		dw_leave(fs);
	return ret;
}

/*
 * udax_lookup beside directory writers (fs_ns_trylock_beside held): @name
 * in @dir through its index, read between two looks at the directory's
 * sequence as stat_shared reads a path's last name, and its inode taken
 * as take_beside says.  An index means a directory in use (rmdir and
 * renames of directories are exclusive: none runs meanwhile).  1:
 * answered (*@ret; *@out a reference when 0); 0: the caller puts *@out if
 * set and looks the name up beside the writers (fs_at_lookup).
 */
int fs_at_lookup_beside(struct udax_fs *fs, struct fs_inode *dir,
			const char *name, size_t len, struct fs_inode **out,
			int *ret)
{
	struct fs_dix *x = fs_dix_shared(fs, dir->ino);
	uint32_t seq, ino;
	uint8_t type;
	bool found;

	*out = NULL;
	if (!x || fs_dix_dir(x) != dir || fs_name_is_dot(name, len) ||
	    !beside_begin(fs, x, &seq))
		return 0;
	found = fs_dix_find_beside(x, fs, fs_dix_hash(fs, name, len), name, len,
				   &ino, &type);
	if (found ? !take_beside(fs, x, seq, ino, out) : !fs_dix_unchanged(x, seq))
		return 0;
	*ret = found ? 0 : fs_error(-ENOENT, "no such file or directory: %.*s",
				    (int)len, name);
	return 1;
}

int fs_at_open(struct udax_fs *fs, struct fs_inode *dir, const char *name,
	       size_t len, int oflags, mode_t mode, const struct udax_cred *cred,
	       struct fs_inode **out, bool *created)
{
	struct nd nd;
	int ret;

	nd_at(&nd, dir, name, len);
	ret = nd_open(fs, &nd, oflags, mode, cred, out, created);
	fs_iput(nd.dir);
	return ret;
}

/*
 * The namespace half of mkdir, symlink and mknod: make @mk at @nd's last
 * name, which must not exist yet.  Only a directory's name may end in a
 * slash; a slash after an existing file's name (ENOTDIR) is EEXIST.
 */
static int nd_make(struct udax_fs *fs, struct nd *nd, const struct mk *mk,
		   const char *what, struct fs_inode **out)
{
	struct fs_inode *i = NULL;
	int ret = nd_last(fs, nd, &i, false);

	if (!ret) {
		fs_iput(i);
		return fs_error(-EEXIST, "file exists");
	}
	if (ret == -ENOTDIR && (nd->slash || S_ISDIR(mk->mode)))
		return fs_error(-EEXIST, "file exists");
	if (ret == -ENOENT && nd->slash && !S_ISDIR(mk->mode))
		return fs_error(-ENOENT, "%s: trailing slash", what);
	if (ret != -ENOENT)
		return ret;
	return create(fs, nd, mk, out);
}

/* udax_mkdir, udax_symlink and udax_mknod once their arguments are
 * checked: @mk made at @path, held by nobody after. */
static int path_make(struct udax_fs *fs, const char *path, const struct mk *mk,
		     const char *what)
{
	struct fs_inode *i = NULL;
	struct nd nd;
	int ret = fs_check_rw(fs);

	if (ret)
		return ret;
	/* As a directory's writer (nd_make follows no symbolic link), but
	 * for a trailing slash or "." / "..": those are worded below. */
	ret = dw_begin(fs, path, &nd);
	if (ret <= 0) {
		if (!ret) {
			ret = nd_make(fs, &nd, mk, what, &i);
			if (!ret)
				fs_iput(i);
			dw_end(fs, &nd);
		}
		return ret;
	}
	fs_ns_lock(fs);
	ret = walk_parent(fs, path, &nd);
	if (!ret) {
		ret = nd_make(fs, &nd, mk, what, &i);
		if (!ret)
			fs_iput(i);
		fs_iput(nd.dir);
	}
	fs_ns_unlock(fs);
	return ret;
}

/* fs_at_mkdir, fs_at_symlink and fs_at_mknod: @mk made as @name in @dir,
 * held in *@out. */
static int at_make(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		   size_t len, const struct mk *mk, const char *what,
		   struct fs_inode **out)
{
	struct nd nd;
	int ret;

	nd_at(&nd, dir, name, len);
	ret = nd_make(fs, &nd, mk, what, out);
	fs_iput(nd.dir);
	return ret;
}

int udax_mkdir(struct udax_fs *fs, const char *path, mode_t mode)
{
	return udax_mkdir_cred(fs, path, mode, NULL);
}

int udax_mkdir_cred(struct udax_fs *fs, const char *path, mode_t mode,
		    const struct udax_cred *cred)
{
	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "mkdir");
	return path_make(fs, path, &(struct mk){ .mode = S_IFDIR | (mode & 07777),
			 .cred = cred }, "mkdir");
}

int fs_at_mkdir(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		size_t len, mode_t mode, const struct udax_cred *cred,
		struct fs_inode **out)
{
	return at_make(fs, dir, name, len, &(struct mk){
		       .mode = S_IFDIR | (mode & 07777), .cred = cred }, "mkdir", out);
}

/* A symbolic link to @target as a create's @mk: -ENOENT for an empty
 * target, -ENAMETOOLONG for one longer than the format holds. */
static int mk_symlink(const char *target, const struct udax_cred *cred,
		      struct mk *mk)
{
	size_t tlen = strlen(target);

	if (!tlen)
		return fs_error(-ENOENT, "symlink: empty target");
	if (tlen > FS_SYMLINK_MAX)
		return fs_error(-ENAMETOOLONG, "symlink: target longer than %u bytes",
				FS_SYMLINK_MAX);
	*mk = (struct mk){ .mode = S_IFLNK | 0777, .cred = cred,
			   .target = target, .tlen = tlen };
	return 0;
}

int udax_symlink(struct udax_fs *fs, const char *target, const char *linkpath)
{
	return udax_symlink_cred(fs, target, linkpath, NULL);
}

int udax_symlink_cred(struct udax_fs *fs, const char *target,
		      const char *linkpath, const struct udax_cred *cred)
{
	struct mk mk;
	int ret;

	if (!fs || !target)
		return fs_error(-EINVAL, "symlink: no file system or target");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "symlink");
	ret = mk_symlink(target, cred, &mk);
	return ret ? ret : path_make(fs, linkpath, &mk, "symlink");
}

int fs_at_symlink(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		  size_t len, const char *target, const struct udax_cred *cred,
		  struct fs_inode **out)
{
	struct mk mk;
	int ret = mk_symlink(target, cred, &mk);

	return ret ? ret : at_make(fs, dir, name, len, &mk, "symlink", out);
}

/* mknod(2)'s @mode and @rdev as a create's: -EINVAL for what it cannot
 * make. */
static int mk_node(mode_t mode, dev_t rdev, const struct udax_cred *cred,
		   struct mk *mk)
{
	*mk = (struct mk){ .mode = mode & (S_IFMT | 07777), .cred = cred };
	if (!(mode & S_IFMT))
		mk->mode |= S_IFREG;	/* mknod(2): 0 is a regular file */
	if (S_ISDIR(mk->mode) || S_ISLNK(mk->mode) || !fs_mode_type_valid(mk->mode))
		return fs_error(-EINVAL, "mknod: not a file, FIFO, socket or device");
	if (S_ISCHR(mk->mode) || S_ISBLK(mk->mode)) {
		if (major(rdev) > 0xfff || minor(rdev) > 0xfffff)
			return fs_error(-EINVAL, "mknod: device number beyond 12:20 bits");
		mk->rdev = fs_rdev_encode(major(rdev), minor(rdev));
	}
	return 0;
}

int udax_mknod(struct udax_fs *fs, const char *path, mode_t mode, dev_t rdev,
	       const struct udax_cred *cred)
{
	struct mk mk;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "mknod");
	ret = mk_node(mode, rdev, cred, &mk);
	return ret ? ret : path_make(fs, path, &mk, "mknod");
}

int fs_at_mknod(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		size_t len, mode_t mode, dev_t rdev, const struct udax_cred *cred,
		struct fs_inode **out)
{
	struct mk mk;
	int ret = mk_node(mode, rdev, cred, &mk);

	return ret ? ret : at_make(fs, dir, name, len, &mk, "mknod", out);
}

ssize_t udax_readlink(struct udax_fs *fs, const char *path, char *buf,
		      size_t size)
{
	struct fs_inode *i = NULL;
	ssize_t ret;

	if (!fs || (!buf && size))
		return fs_error(-EINVAL, "readlink: bad argument");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "readlink");
	fs_ns_lock(fs);
	ret = walk(fs, path, &i, false);
	if (!ret && !S_ISLNK(i->mode))
		ret = fs_error(-EINVAL, "readlink: not a symbolic link");
	else if (!ret && !i->symlink)
		ret = fs_error(-EUCLEAN, "inode %u: symbolic link without a target",
			       i->ino);
	else if (!ret) {
		/* readlink(2): truncated to @size, no NUL added. */
		ret = (ssize_t)(i->size < size ? i->size : size);
		if (ret)	/* @buf may be NULL when @size is 0 */
			memcpy(buf, i->symlink, (size_t)ret);
	}
	fs_ns_unlock(fs);
	fs_iput(i);
	return ret;
}

void (*fs_rmdir_empty_hook)(struct udax_fs *fs);

/* unlink (@isdir false) or rmdir of @nd; *@victim (NULL or a reference)
 * is put by the caller after ns_lock (its last put frees an orphan).
 * @have: the inode the name was found to be (a reference the caller
 * gives: dw_rmdir), or NULL to look it up. */
static int nd_remove(struct udax_fs *fs, struct nd *nd, bool isdir,
		     const struct udax_break_opts *brk, struct fs_inode *have,
		     struct fs_inode **victim)
{
	struct fs_inode *i = NULL;
	struct dloc l;
	struct dop d;
	int ret;

	*victim = have;		/* the caller's to put, whatever happens */
	if (nd->root)
		return fs_error(isdir ? -EBUSY : -EISDIR, "cannot remove the root");
	if (nd->dot)
		return fs_error(isdir ? (nd->len == 1 ? -EINVAL : -ENOTEMPTY) : -EISDIR,
				"cannot remove \".\" or \"..\"");
	ret = dir_find(nd->dir, nd->name, nd->len, &l);
	if (ret <= 0)
		return ret ? ret : fs_error(-ENOENT, "no such file or directory");
	if (have) {
		if (l.ino != have->ino)		/* not reached: both held */
			return fs_error(-EAGAIN, "the name changed");
		i = have;
	} else {
		ret = fs_iget(fs, l.ino, &i);
		if (ret)
			return ret;
	}
	*victim = i;
	if (isdir && !S_ISDIR(i->mode))
		return fs_error(-ENOTDIR, "not a directory");
	if (!isdir && S_ISDIR(i->mode))
		return fs_error(-EISDIR, "is a directory");
	if (!isdir && nd->slash)
		return fs_error(-ENOTDIR, "not a directory (trailing slash)");
	if (isdir) {
		ret = dir_nonempty(i);
		if (ret)
			return ret > 0 ? fs_error(-ENOTEMPTY, "directory not empty") : ret;
		if (__builtin_expect(fs_rmdir_empty_hook != NULL, 0))
			fs_rmdir_empty_hook(fs);
	}
	dop_init(&d, fs, brk);
	dop_touch(&d, nd->dir);
	ret = dir_remove(&d, nd->dir, &l);
	if (!ret)
		ret = dop_drop_link(&d, i);
	if (ret) {
		dop_end(&d, false);
		return ret;
	}
	if (isdir)
		nd->dir->nlink--;
	nd->dir->mtime = nd->dir->ctime = d.now;
	return dop_commit(&d);
}

/*
 * rmdir as the writer of the directory and of its parent (dw_hold_pair:
 * the two in the order of their numbers, as a rename between two
 * directories holds them): the parent's entry and link count change
 * under the parent's lock, and the directory stays empty from the check
 * to the commit under its own, which a writer creating in it waits for
 * (and then finds it removed).  The walk and a first look at the name
 * come first, holding neither; the name is looked at again once both are
 * held.  1: go the exclusive way (the root, ".", "..", a trailing slash,
 * a name that is not a directory or changed meanwhile: the exclusive
 * path gives the errors).  *@victim: the directory's reference, for the
 * caller to put.  dw_rmdir_nd: the part after the walk, in a directory's
 * writer's ns_lock; it puts nd->dir.
 */
static int dw_rmdir_nd(struct udax_fs *fs, struct nd *nd,
		       const struct udax_break_opts *brk, struct fs_inode **victim)
{
	struct fs_inode *v = NULL, *held;
	struct dloc l;
	int ret;

	if (nd->root || nd->dot || nd->slash) {
		ret = 1;
		goto out;
	}
	dw_read_lock(nd->dir);
	ret = dir_find(nd->dir, nd->name, nd->len, &l);
	if (ret > 0)
		ret = fs_iget(fs, l.ino, &v);
	else if (!ret)
		ret = 1;
	dw_read_unlock(nd->dir);
	if (ret || !S_ISDIR(v->mode)) {
		ret = ret < 0 ? ret : 1;
		goto out;
	}
	held = v;
	dw_hold_pair(nd->dir, held);
	ret = dir_find(nd->dir, nd->name, nd->len, &l);
	if (ret > 0 && l.ino == v->ino && v->nlink) {
		ret = nd_remove(fs, nd, true, brk, v, victim);
		v = NULL;		/* *@victim's now */
	} else if (ret >= 0) {
		ret = 1;
	}
	dw_drop_pair(nd->dir, held);
out:
	fs_iput(v);
	fs_iput(nd->dir);
	return ret;
}

static int dw_rmdir(struct udax_fs *fs, const char *path,
		    const struct udax_break_opts *brk, struct fs_inode **victim)
{
	struct nd nd;
	int ret;

	*victim = NULL;
	dw_enter(fs);
	ret = walk_parent(fs, path, &nd);
	if (!ret)
		ret = dw_rmdir_nd(fs, &nd, brk, victim);
	dw_leave(fs);
	return ret;
}

int fs_dw_rmdir_at(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		   size_t len, struct fs_inode **victim)
{
	struct nd nd;
	int ret;

	*victim = NULL;
	dw_enter(fs);
	nd_at(&nd, dir, name, len);
	ret = dw_rmdir_nd(fs, &nd, NULL, victim);
	dw_leave(fs);
	return ret;
}

/* unlink (@dir false) and rmdir (@dir true). */
static int remove_name(struct udax_fs *fs, const char *path, bool isdir,
		       const struct udax_break_opts *brk)
{
	struct fs_inode *i = NULL;
	struct nd nd;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, isdir ? "rmdir" : "unlink");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	/* A file's name: as a directory's writer; a directory: as the
	 * writer of it and its parent. */
	if (isdir) {
		ret = dw_rmdir(fs, path, brk, &i);
		if (ret <= 0) {
			fs_iput(i);
			return ret;
		}
	}
	ret = isdir ? 1 : dw_begin(fs, path, &nd);
	if (ret <= 0) {
		if (!ret) {
			ret = nd_remove(fs, &nd, isdir, brk, NULL, &i);
			dw_end(fs, &nd);
		}
		fs_iput(i);	/* last reference of an orphan: frees it */
		return ret;
	}
	fs_ns_lock(fs);
	ret = walk_parent(fs, path, &nd);
	if (!ret) {
		ret = nd_remove(fs, &nd, isdir, brk, NULL, &i);
		fs_iput(nd.dir);
	}
	fs_ns_unlock(fs);
	fs_iput(i);	/* last reference of an orphan: frees it */
	return ret;
}

int fs_at_remove(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		 size_t len, bool isdir, const struct udax_break_opts *brk,
		 struct fs_inode **victim)
{
	struct nd nd;
	int ret;

	nd_at(&nd, dir, name, len);
	ret = nd_remove(fs, &nd, isdir, brk, NULL, victim);
	fs_iput(nd.dir);
	return ret;
}

int udax_unlink(struct udax_fs *fs, const char *path)
{
	return remove_name(fs, path, false, NULL);
}

int udax_unlink_ex(struct udax_fs *fs, const char *path,
		   const struct udax_break_opts *brk)
{
	return remove_name(fs, path, false, brk);
}

int udax_rmdir(struct udax_fs *fs, const char *path)
{
	return remove_name(fs, path, true, NULL);
}

/* A new name @nd for @i.  @unnamed: @i may have no link (an O_TMPFILE
 * file being given its first name). */
static int nd_link(struct udax_fs *fs, struct fs_inode *i, struct nd *nd,
		   bool unnamed)
{
	struct dloc l;
	struct dop d;
	int ret;

	if (S_ISDIR(i->mode))
		return fs_error(-EPERM, "hard links to directories are not allowed");
	if (nd->root || nd->dot)
		return fs_error(-EEXIST, "file exists");
	ret = dir_find(nd->dir, nd->name, nd->len, &l);
	if (ret)
		return ret > 0 ? fs_error(-EEXIST, "file exists") : ret;
	if (nd->slash)
		return fs_error(-ENOENT, "trailing slash on a file name");
	if (!nd->dir->nlink)
		return fs_error(-ENOENT, "directory was removed");
	dop_init(&d, fs, NULL);
	dop_touch(&d, nd->dir);
	dop_touch(&d, i);
	/* Under @i's lock: a writer of another directory may be taking
	 * one of its links away, or giving it one, meanwhile. */
	if (!i->nlink && !unnamed) {
		dop_end(&d, false);
		return fs_error(-ENOENT, "file was removed");
	}
	if (i->nlink >= UINT32_MAX - 1) {
		dop_end(&d, false);
		return fs_error(-EMLINK, "too many links");
	}
	ret = dir_add(&d, nd->dir, nd->name, nd->len, i->ino, dtype(i->mode));
	if (ret) {
		dop_end(&d, false);
		return ret;
	}
	i->nlink++;
	i->ctime = d.now;
	nd->dir->mtime = nd->dir->ctime = d.now;
	return dop_commit(&d);
}

/*
 * A new name @newpath for @i (held), as the writer of the name's
 * directory: @i's link count changes under @i's lock (nd_link), beside
 * writers of other directories that may take one of its links away.
 * Exclusively only for what dw_begin leaves ("/", "." or "..", a
 * trailing slash: errors nd_link gives there too).
 */
static int link_to(struct udax_fs *fs, struct fs_inode *i, const char *newpath,
		   bool unnamed)
{
	struct nd nd;
	int ret = dw_begin(fs, newpath, &nd);

	if (ret <= 0) {
		if (!ret) {
			ret = nd_link(fs, i, &nd, unnamed);
			dw_end(fs, &nd);
		}
		return ret;
	}
	fs_ns_lock(fs);
	ret = walk_parent(fs, newpath, &nd);
	if (!ret) {
		ret = nd_link(fs, i, &nd, unnamed);
		fs_iput(nd.dir);
	}
	fs_ns_unlock(fs);
	return ret;
}

int udax_link(struct udax_fs *fs, const char *oldpath, const char *newpath)
{
	struct fs_inode *i = NULL;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "link");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	/* link(2): the link itself, not its target */
	ret = fs_walk(fs, oldpath, false, &i);
	if (!ret && S_ISDIR(i->mode))
		ret = fs_error(-EPERM, "hard links to directories are not allowed");
	if (!ret)
		ret = link_to(fs, i, newpath, false);
	fs_iput(i);
	return ret;
}

int udax_flink(struct udax_file *f, const char *newpath)
{
	struct udax_fs *fs;
	int ret;

	if (!f)
		return fs_error(-EINVAL, "flink: no file");
	fs = f->fs;
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "flink");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	/* linkat(AT_EMPTY_PATH): an unlinked file stays unlinked, except
	 * an O_TMPFILE one opened without O_EXCL. */
	return link_to(fs, f->inode, newpath,
		       (f->flags & O_TMPFILE) == O_TMPFILE && !(f->flags & O_EXCL));
}

int fs_at_link(struct udax_fs *fs, struct fs_inode *i, struct fs_inode *dir,
	       const char *name, size_t len)
{
	struct nd nd;
	int ret;

	nd_at(&nd, dir, name, len);
	ret = nd_link(fs, i, &nd, false);
	fs_iput(nd.dir);
	return ret;
}

/* 0 if directory @dir is not @top nor below it: -EINVAL if it is (a
 * move of @top into @dir would make a loop). */
static int not_below(struct udax_fs *fs, struct fs_inode *dir,
		     struct fs_inode *top)
{
	uint32_t p = dir->ino;
	int ret;

	for (unsigned depth = 0; ; depth++) {
		struct fs_inode *pi;

		if (p == top->ino)
			return fs_error(-EINVAL, "cannot move a directory into itself");
		if (p == UDAX_ROOT_INO)
			return 0;
		if (depth > C(fs)->sb.nr_inodes)
			return fs_error(-EUCLEAN, "directory parent loop");
		ret = fs_iget(fs, p, &pi);
		if (ret)
			return ret;
		p = pi->parent;
		fs_iput(pi);
	}
}

/*
 * RENAME_EXCHANGE: entry @ls of @od (naming @src) and @lt of @nd (naming
 * @tgt) swap inodes in one transaction; directories change parents (and
 * the parents' link counts follow) when they move.
 */
static int rename_exchange(struct udax_fs *fs, struct fs_inode *od,
			   struct fs_inode *nd, const struct dloc *ls,
			   const struct dloc *lt, struct fs_inode *src,
			   struct fs_inode *tgt, const struct udax_break_opts *brk)
{
	bool sdir = S_ISDIR(src->mode), tdir = S_ISDIR(tgt->mode);
	struct dop d;
	int ret = 0;

	if (od != nd) {
		if (sdir)
			ret = not_below(fs, nd, src);
		if (!ret && tdir)
			ret = not_below(fs, od, tgt);
		if (ret)
			return ret;
		if ((sdir && !tdir && nd->nlink >= UINT32_MAX - 1) ||
		    (tdir && !sdir && od->nlink >= UINT32_MAX - 1))
			return fs_error(-EMLINK, "too many links");
	}
	dop_init(&d, fs, brk);
	dop_touch(&d, od);
	dop_touch(&d, nd);
	dop_touch_pair(&d, src, tgt);
	ret = dir_set(&d, od, ls, tgt->ino, dtype(tgt->mode));
	if (!ret)
		ret = dir_set(&d, nd, lt, src->ino, dtype(src->mode));
	if (ret) {
		dop_end(&d, false);
		return ret;
	}
	if (od != nd) {
		if (sdir) {
			src->parent = nd->ino;
			od->nlink--;
			nd->nlink++;
		}
		if (tdir) {
			tgt->parent = od->ino;
			nd->nlink--;
			od->nlink++;
		}
	}
	src->ctime = tgt->ctime = d.now;
	od->mtime = od->ctime = nd->mtime = nd->ctime = d.now;
	return dop_commit(&d);
}

/* Rename @o to @n; *@psrc and *@ptgt (NULL or references) are put by
 * the caller after ns_lock. */
static int nd_rename(struct udax_fs *fs, struct nd *o, struct nd *n,
		     unsigned flags, const struct udax_break_opts *brk,
		     struct fs_inode **psrc, struct fs_inode **ptgt)
{
	struct fs_inode *src = NULL, *tgt = NULL, *od, *ndir;
	struct dloc ls, lt;
	struct dop d;
	bool sdir;
	int ret, have;

	if (o->root || n->root) {
		ret = fs_error(-EBUSY, "cannot rename the root");
		goto out;
	}
	if (o->dot || n->dot) {
		ret = fs_error(-EINVAL, "cannot rename \".\" or \"..\"");
		goto out;
	}
	od = o->dir;
	ndir = n->dir;
	ret = dir_find(od, o->name, o->len, &ls);
	if (ret <= 0) {
		if (!ret)
			ret = fs_error(-ENOENT, "no such file or directory");
		goto out;
	}
	ret = fs_iget(fs, ls.ino, &src);
	if (ret)
		goto out;
	sdir = S_ISDIR(src->mode);
	if ((o->slash || (n->slash && !(flags & UDAX_RENAME_EXCHANGE))) && !sdir) {
		ret = fs_error(-ENOTDIR, "not a directory (trailing slash)");
		goto out;
	}
	have = dir_find(ndir, n->name, n->len, &lt);
	if (have < 0) {
		ret = have;
		goto out;
	}
	if (!have && (flags & UDAX_RENAME_EXCHANGE)) {
		ret = fs_error(-ENOENT, "rename: nothing to exchange with");
		goto out;
	}
	if (have && (flags & UDAX_RENAME_EXCHANGE)) {
		if (lt.ino == src->ino) {
			ret = 0;	/* a file with itself: nothing */
			goto out;
		}
		ret = fs_iget(fs, lt.ino, &tgt);
		if (!ret && n->slash && !S_ISDIR(tgt->mode))
			ret = fs_error(-ENOTDIR, "not a directory (trailing slash)");
		if (ret)
			goto out;
	} else if (have) {
		if (flags & UDAX_RENAME_NOREPLACE) {
			ret = fs_error(-EEXIST, "target exists");
			goto out;
		}
		if (lt.ino == src->ino) {
			ret = 0;	/* POSIX: links of one file: nothing */
			goto out;
		}
		ret = fs_iget(fs, lt.ino, &tgt);
		if (ret)
			goto out;
		if (sdir && !S_ISDIR(tgt->mode)) {
			ret = fs_error(-ENOTDIR, "target is not a directory");
			goto out;
		}
		if (!sdir && S_ISDIR(tgt->mode)) {
			ret = fs_error(-EISDIR, "target is a directory");
			goto out;
		}
		if (S_ISDIR(tgt->mode)) {
			ret = dir_nonempty(tgt);
			if (ret) {
				if (ret > 0)
					ret = fs_error(-ENOTEMPTY, "target directory not empty");
				goto out;
			}
		}
	}
	if (flags & UDAX_RENAME_EXCHANGE) {
		ret = rename_exchange(fs, od, ndir, &ls, &lt, src, tgt, brk);
		goto out;
	}
	if (sdir && od != ndir) {
		/* Loop check: the new parent must not be src or below it. */
		ret = not_below(fs, ndir, src);
		if (ret)
			goto out;
		if (!tgt && ndir->nlink >= UINT32_MAX - 1) {
			ret = fs_error(-EMLINK, "too many links");
			goto out;
		}
	}
	if (!ndir->nlink) {
		ret = fs_error(-ENOENT, "target directory was removed");
		goto out;
	}

	dop_init(&d, fs, brk);
	dop_touch(&d, od);
	dop_touch(&d, ndir);
	dop_touch_pair(&d, src, tgt);
	if (tgt) {
		ret = dir_set(&d, ndir, &lt, src->ino, dtype(src->mode));
		if (!ret)
			ret = dop_drop_link(&d, tgt);
		if (!ret && sdir)
			ndir->nlink--;		/* the replaced directory's ".." */
	} else {
		ret = dir_add(&d, ndir, n->name, n->len, src->ino, dtype(src->mode));
	}
	if (!ret) {
		/* An add splits a record after its name: the source keeps
		 * its offset (dir_remove checks it still holds a record). */
		ret = dir_remove(&d, od, &ls);
	}
	if (ret) {
		dop_end(&d, false);
		goto out;
	}
	if (sdir && od != ndir) {
		od->nlink--;
		ndir->nlink++;
		src->parent = ndir->ino;
	}
	src->ctime = d.now;
	od->mtime = od->ctime = ndir->mtime = ndir->ctime = d.now;
	ret = dop_commit(&d);
out:
	*psrc = src;
	*ptgt = tgt;
	return ret;
}

/* Is @name in directory @dir (held, locked) a directory?  1 / 0 (also
 * when absent), or an error. */
int fs_at_is_dir(struct udax_fs *fs, struct fs_inode *dir,
		     const char *name, size_t len)
{
	struct fs_inode *i = NULL;
	struct dloc l;
	int r = dir_find(dir, name, len, &l);

	if (r <= 0)
		return r;
	r = fs_iget(fs, l.ino, &i);
	if (!r)
		r = S_ISDIR(i->mode);
	fs_iput(i);
	return r;
}

/*
 * A rename of a file, as the writer of its directory or of both its
 * directories (a program's "write a temporary, rename it over the file";
 * a mail delivery's move from tmp/ to new/): true if answered (*@ret),
 * false if the exclusive path must (a directory as either name: a
 * directory's move changes its parents' link counts and the tree that
 * lookups beside writers walk, and a directory replaced must stay empty
 * until the commit; what dw_begin leaves).
 */
static bool dw_rename(struct udax_fs *fs, const char *oldpath,
		      const char *newpath, unsigned flags,
		      const struct udax_break_opts *brk, int *ret)
{
	struct fs_inode *src = NULL, *tgt = NULL;
	struct nd o = { 0 }, n = { 0 };
	bool mine;
	int r;

	/* Both walks first: a walk never waits for a directory's lock
	 * while holding one. */
	dw_enter(fs);
	r = walk_parent(fs, oldpath, &o);
	if (!r)
		r = walk_parent(fs, newpath, &n);
	mine = !r && !o.root && !o.dot && !o.slash && !n.root && !n.dot &&
	       !n.slash;
	if (mine) {
		int a, b;

		dw_hold_pair(o.dir, n.dir);
		a = fs_at_is_dir(fs, o.dir, o.name, o.len);
		b = a < 0 ? 0 : fs_at_is_dir(fs, n.dir, n.name, n.len);
		if (a < 0 || b < 0)
			r = a < 0 ? a : b;	/* answered: that error */
		else if ((mine = !a && !b))
			r = nd_rename(fs, &o, &n, flags, brk, &src, &tgt);
		dw_drop_pair(o.dir, n.dir);
	}
	fs_iput(o.dir);
	fs_iput(n.dir);
	dw_leave(fs);
	fs_iput(src);
	fs_iput(tgt);
	*ret = r;
	/* Not mine but an error: a walk's, the exclusive path's too. */
	return mine || r;
}

int udax_rename_ex(struct udax_fs *fs, const char *oldpath, const char *newpath,
		   unsigned flags, const struct udax_break_opts *brk)
{
	struct fs_inode *src = NULL, *tgt = NULL;
	struct nd o = { 0 }, n = { 0 };
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "rename");
	if (flags & ~(UDAX_RENAME_NOREPLACE | UDAX_RENAME_EXCHANGE))
		return fs_error(-EINVAL, "rename: unknown flags");
	if ((flags & UDAX_RENAME_NOREPLACE) && (flags & UDAX_RENAME_EXCHANGE))
		return fs_error(-EINVAL, "rename: NOREPLACE with EXCHANGE");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	if (dw_rename(fs, oldpath, newpath, flags, brk, &ret))
		return ret;
	fs_ns_lock(fs);
	ret = walk_parent(fs, oldpath, &o);
	if (!ret)
		ret = walk_parent(fs, newpath, &n);
	if (!ret)
		ret = nd_rename(fs, &o, &n, flags, brk, &src, &tgt);
	fs_iput(o.dir);
	fs_iput(n.dir);
	fs_ns_unlock(fs);
	fs_iput(src);
	fs_iput(tgt);
	return ret;
}

int fs_at_rename(struct udax_fs *fs, struct fs_inode *odir, const char *oname,
		 size_t olen, struct fs_inode *ndir, const char *nname,
		 size_t nlen, unsigned flags, struct fs_inode **src,
		 struct fs_inode **tgt)
{
	struct nd *o, *n;
	int ret;

	/* two 4 KiB path buffers: not on the stack */
	o = fault_calloc(2, sizeof(*o));
	if (!o)
		return -ENOMEM;
	n = o + 1;
	nd_at(o, odir, oname, olen);
	nd_at(n, ndir, nname, nlen);
	ret = nd_rename(fs, o, n, flags, NULL, src, tgt);
	fs_iput(o->dir);
	fs_iput(n->dir);
	free(o);
	return ret;
}

int udax_rename(struct udax_fs *fs, const char *oldpath, const char *newpath,
		unsigned flags)
{
	return udax_rename_ex(fs, oldpath, newpath, flags, NULL);
}

/* ---- attributes ----------------------------------------------------------------------- */

enum attr_op { ATTR_MODE, ATTR_OWNER, ATTR_TIMES };

static int setattr(struct udax_fs *fs, const char *path, enum attr_op op,
		   mode_t mode, uid_t uid, gid_t gid, const struct timespec *ts)
{
	struct fs_inode *i = NULL;
	struct dop d;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, op == ATTR_MODE ? "chmod" :
					 op == ATTR_OWNER ? "chown" : "utimens");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	/* One inode's change: the walk needs ns_lock, the change its lock
	 * (dop_touch), as udax_setattr's. */
	ret = fs_walk(fs, path, true, &i);
	if (ret)
		return ret;
	dop_init(&d, fs, NULL);
	dop_touch(&d, i);
	switch (op) {
	case ATTR_MODE:
		i->mode = (i->mode & S_IFMT) | (mode & 07777);
		ret = dop_acl_chmod(&d, i);
		if (ret) {
			dop_end(&d, false);
			goto out;
		}
		break;
	case ATTR_OWNER:
		if (uid != (uid_t)-1)
			i->uid = uid;
		if (gid != (gid_t)-1)
			i->gid = gid;
		break;
	case ATTR_TIMES:
		for (int k = 0; k < 2; k++) {
			int64_t *t = k ? &i->mtime : &i->atime;

			if (!ts || ts[k].tv_nsec == UTIME_NOW)
				*t = d.now;
			else if (ts[k].tv_nsec != UTIME_OMIT) {
				if (ts[k].tv_nsec < 0 || ts[k].tv_nsec >= 1000000000) {
					dop_end(&d, false);
					ret = fs_error(-EINVAL, "bad time");
					goto out;
				}
				*t = (int64_t)ts[k].tv_sec * 1000000000 + ts[k].tv_nsec;
			}
		}
		i->times_dirty = false;
		break;
	}
	i->ctime = d.now;
	ret = dop_commit(&d);
out:
	fs_iput(i);
	return ret;
}

#define SA_ALL	(UDAX_SETATTR_MODE | UDAX_SETATTR_UID | UDAX_SETATTR_GID |	\
		 UDAX_SETATTR_SIZE | UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME |	\
		 UDAX_SETATTR_CTIME)

void fs_iattr_apply(struct fs_inode *i, const struct fs_iattr *a)
{
	if (a->mask & UDAX_SETATTR_MODE)
		i->mode = (i->mode & S_IFMT) | (a->mode & 07777);
	if (a->mask & UDAX_SETATTR_UID)
		i->uid = a->uid;
	if (a->mask & UDAX_SETATTR_GID)
		i->gid = a->gid;
	/* chown(2) on Linux, root included: a file (not a directory) loses
	 * S_ISUID, and S_ISGID when group-executable, unless the same call
	 * sets the mode. */
	if ((a->mask & (UDAX_SETATTR_UID | UDAX_SETATTR_GID)) &&
	    !(a->mask & UDAX_SETATTR_MODE) && !S_ISDIR(i->mode)) {
		i->mode &= ~(uint32_t)S_ISUID;
		if (i->mode & S_IXGRP)
			i->mode &= ~(uint32_t)S_ISGID;
	}
	if (a->mask & UDAX_SETATTR_ATIME)
		i->atime = a->atime;
	if (a->mask & UDAX_SETATTR_MTIME) {
		i->mtime = a->mtime;
		i->times_dirty = false;	/* the lazy mtime is overridden */
	}
	i->ctime = a->ctime;
}

/* A udax_setattr time: resolved (UTIME_NOW), or 0 and @bit dropped from
 * *@mask (UTIME_OMIT); -EINVAL for a bad tv_nsec. */
static int sa_time(const struct timespec *ts, int64_t now, unsigned bit,
		   unsigned *mask, int64_t *out)
{
	if (!(*mask & bit))
		return 0;
	if (ts->tv_nsec == UTIME_OMIT) {
		*mask &= ~bit;
		return 0;
	}
	if (ts->tv_nsec == UTIME_NOW) {
		*out = now;
		return 0;
	}
	if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return fs_error(-EINVAL, "setattr: bad time");
	*out = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
	return 0;
}

/* udax_setattr of @i, referenced (ns_lock not held: a size change's
 * break may wait for pins).  The mask is checked by the caller. */
int fs_setattr_inode(struct udax_fs *fs, struct fs_inode *i,
		     const struct udax_setattr *sa)
{
	struct fs_iattr a = { 0 };
	int64_t now = fs_now();
	struct dop d;
	int ret;

	a.mask = sa->mask & SA_ALL;
	a.mode = (uint32_t)sa->mode;
	a.uid = (uint32_t)sa->uid;
	a.gid = (uint32_t)sa->gid;
	a.ctime = now;
	ret = sa_time(&sa->atime, now, UDAX_SETATTR_ATIME, &a.mask, &a.atime);
	if (!ret)
		ret = sa_time(&sa->mtime, now, UDAX_SETATTR_MTIME, &a.mask, &a.mtime);
	if (!ret)
		ret = sa_time(&sa->ctime, now, UDAX_SETATTR_CTIME, &a.mask, &a.ctime);
	if (ret)
		return ret;
	if ((a.mask & UDAX_SETATTR_SIZE) && sa->size > FS_MAX_SIZE)
		return fs_error(-EFBIG, "setattr: size past the maximum");
	if (!a.mask)
		return 0;	/* utimensat(UTIME_OMIT, UTIME_OMIT): nothing */
	if ((a.mask & (UDAX_SETATTR_SIZE | UDAX_SETATTR_MTIME)) == UDAX_SETATTR_SIZE) {
		/* A truncate moves mtime too, to the same instant as ctime. */
		a.mask |= UDAX_SETATTR_MTIME;
		a.mtime = now;
	}
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	if (a.mask & UDAX_SETATTR_SIZE) {
		if (!S_ISREG(i->mode))
			return fs_error(S_ISDIR(i->mode) ? -EISDIR : -EINVAL,
					"setattr: size of a non-regular file");
		/* The truncate's path and break, the other attributes in
		 * its transaction; but a mode change of an inode with
		 * attributes first, in its own, where its access ACL
		 * follows it (the truncate's transaction knows no ACL). */
		if ((a.mask & UDAX_SETATTR_MODE) && i->xattr) {
			struct udax_setattr m = {
				.mask = UDAX_SETATTR_MODE, .mode = sa->mode,
			};

			ret = fs_setattr_inode(fs, i, &m);
			if (ret)
				return ret;
			a.mask &= ~(unsigned)UDAX_SETATTR_MODE;
		}
		pthread_rwlock_wrlock(&i->lock);
		ret = fs_truncate_attr(fs, i, sa->size, NULL, &a);
		pthread_rwlock_unlock(&i->lock);
		return ret;
	}
	fs_ns_lock(fs);
	dop_init(&d, fs, NULL);
	dop_touch(&d, i);
	fs_iattr_apply(i, &a);
	ret = a.mask & UDAX_SETATTR_MODE ? dop_acl_chmod(&d, i) : 0;
	if (ret)
		dop_end(&d, false);
	else
		ret = dop_commit(&d);
	fs_ns_unlock(fs);
	return ret;
}

int udax_setattr(struct udax_fs *fs, const char *path,
		 const struct udax_setattr *sa)
{
	struct fs_inode *i = NULL;
	int ret;

	if (!fs || !sa)
		return fs_error(-EINVAL, "setattr: bad argument");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "setattr");
	if (sa->mask & ~(SA_ALL | UDAX_SETATTR_NOFOLLOW))
		return fs_error(-EINVAL, "setattr: unknown mask bits 0x%x", sa->mask);
	ret = fs_walk(fs, path, !(sa->mask & UDAX_SETATTR_NOFOLLOW), &i);
	if (ret)
		return ret;
	ret = fs_setattr_inode(fs, i, sa);
	fs_iput(i);
	return ret;
}

int udax_chmod(struct udax_fs *fs, const char *path, mode_t mode)
{
	return setattr(fs, path, ATTR_MODE, mode, 0, 0, NULL);
}

int udax_chown(struct udax_fs *fs, const char *path, uid_t uid, gid_t gid)
{
	return setattr(fs, path, ATTR_OWNER, 0, uid, gid, NULL);
}

int udax_utimens(struct udax_fs *fs, const char *path, const struct timespec ts[2])
{
	return setattr(fs, path, ATTR_TIMES, 0, 0, 0, ts);
}

/*
 * Stat @nd's last component without loading its inode (fs_inode_stat): a
 * stat among many files neither allocates nor reads an extent map.  1:
 * *@st is filled; 0 and *@out: a cached inode to fill from; 0 and NULL:
 * nd_last's path (symbolic links to follow, ".", "..", "/", errors).
 */
static int nd_last_stat(struct udax_fs *fs, struct nd *nd,
			const struct last_name *ln, struct udax_stat *st,
			bool follow, struct fs_inode **out)
{
	struct fs_inode *i = NULL;
	struct dloc l;
	uint32_t mode;
	int r;

	*out = NULL;
	if (nd->root || nd->dot || !S_ISDIR(nd->dir->mode))
		return 0;
	/* Beside directory writers, under the directory's lock: the name
	 * stays, so its inode stays in use while its record is copied. */
	dw_read_lock(nd->dir);
	r = dir_find_hashed(nd->dir, nd->name, nd->len,
			    nd->name == ln->name && nd->len == ln->len ? ln->hash :
			    fs_dix_hash(fs, nd->name, nd->len), &l, true);
	if (r > 0)
		r = fs_inode_stat(fs, l.ino, st, &i);
	dw_read_unlock(nd->dir);
	if (r > 0)
		mode = st->mode;
	else if (i)
		mode = i->mode;
	else
		return 0;
	if ((S_ISLNK(mode) && (follow || nd->slash)) ||
	    (nd->slash && !S_ISDIR(mode))) {
		fs_iput(i);
		return 0;
	}
	*out = i;
	return !i;
}

static int stat_path(struct udax_fs *fs, const char *path,
		     struct udax_stat *st, bool follow)
{
	struct fs_inode *i = NULL;
	struct last_name ln;
	struct nd nd;
	int ret;

	if (!st)
		return fs_error(-EINVAL, "stat: no result");
	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, follow ? "stat" : "lstat");
	last_name_prefetch(fs, path, &ln);
	if (fs_ns_trylock_beside(fs, FS_NS_READER_SPINS)) {
		int done = stat_shared(fs, path, &ln, st, &i, &ret);

		fs_ns_unlock_beside(fs);
		if (!done && i) {
			fs_iput(i);	/* its directory changed meanwhile */
			i = NULL;
		}
		if (done && i && S_ISLNK(i->mode)) {
			fs_iput(i);	/* a link: the walk follows it or not */
			i = NULL;
			done = 0;
		}
		if (done && !i)
			return ret;
		if (done)
			goto fill;
	}
	/* Writers at work, or something to load or build: beside the
	 * writers of directories, not after them (a stat changes nothing
	 * they could see). */
	dw_enter(fs);
	ret = walk_parent(fs, path, &nd);
	if (!ret && !nd_last_stat(fs, &nd, &ln, st, follow, &i) && !i)
		ret = nd_last(fs, &nd, &i, follow);
	fs_iput(nd.dir);
	dw_leave(fs);
	if (ret || !i)
		return ret;
fill:
	pthread_rwlock_rdlock(&i->lock);
	fs_inode_fill(i, st);
	pthread_rwlock_unlock(&i->lock);
	fs_iput(i);
	return 0;
}

int udax_stat(struct udax_fs *fs, const char *path, struct udax_stat *st)
{
	return stat_path(fs, path, st, true);
}

int udax_lstat(struct udax_fs *fs, const char *path, struct udax_stat *st)
{
	return stat_path(fs, path, st, false);
}

/*
 * access(2)'s rule on one inode (its @mode, @uid, @gid): root may read and
 * write anything and execute what has an x bit (or is a directory); others
 * get the owner's, else the group's (@cred's gid only), else the others'
 * bits.
 */
static bool may(uint32_t mode, uint32_t uid, uint32_t gid, int mask,
		const struct udax_cred *c)
{
	uint32_t bits;

	if (!c->uid)
		return !(mask & X_OK) || S_ISDIR(mode) || (mode & 0111);
	if (c->uid == uid)
		bits = (mode >> 6) & 7;
	else if (c->gid == gid)
		bits = (mode >> 3) & 7;
	else
		bits = mode & 7;
	return (bits & (uint32_t)mask) == (uint32_t)mask;
}

/* The inode's attributes are what a stat returns: access resolves @path as
 * a stat does (in parallel with other stats and accesses: stat_shared). */
int udax_access(struct udax_fs *fs, const char *path, int mode,
		const struct udax_cred *cred)
{
	static const struct udax_cred root = { 0, 0 };
	struct udax_stat st;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "access");
	if (mode & ~(R_OK | W_OK | X_OK))
		return fs_error(-EINVAL, "access: bad mode 0%o", mode);
	ret = stat_path(fs, path, &st, true);
	if (ret)
		return ret;
	if ((mode & W_OK) && C(fs)->rdonly)
		ret = fs_error(-EROFS, "access: read-only mount");
	else if (!may(st.mode, st.uid, st.gid, mode, cred ? cred : &root))
		ret = fs_error(-EACCES, "access: permission denied");
	return ret;
}

/* ---- readdir -------------------------------------------------------------------------- */

struct udax_dir {
	struct udax_fs *fs;
	struct fs_inode *ino;
	uint64_t k;
	uint32_t off;
	unsigned flags;			/* UDAX_OPENDIR_* */
	unsigned dots;			/* "." and ".." returned so far */
};

int udax_opendir(struct udax_fs *fs, const char *path, struct udax_dir **out)
{
	return udax_opendir_ex(fs, path, 0, out);
}

int udax_opendir_ex(struct udax_fs *fs, const char *path, unsigned flags,
		    struct udax_dir **out)
{
	struct fs_inode *i = NULL;
	int ret = 0;

	if (!fs || !out)
		return fs_error(-EINVAL, "opendir: bad argument");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "opendir");
	if (fs_ns_trylock_shared_spin(fs, 0)) {
		/* An indexed directory: its index holds it, so a reference
		 * is taken without icache_lock (fs_inode_hold); "/" is held
		 * from mount to unmount. */
		struct fs_dix *x;
		struct wend w;

		if (path && path[0] == '/' && !path[strspn(path, "/")])
			i = C(fs)->root;
		else if (walk_shared(fs, path, NULL, false, &w, &ret) &&
			 !ret && w.type == DT_DIR &&
			 (x = fs_dix_shared(fs, w.ino)) && fs_dix_dir(x)->nlink)
			i = fs_dix_dir(x);
		if (i)
			fs_inode_hold(i);
		fs_ns_unlock_shared(fs);
		if (ret)
			return ret;	/* -ENOENT */
	} else if (path && path[0] == '/' && path[strspn(path, "/")] &&
		   fs_ns_trylock_beside(fs, FS_NS_READER_SPINS)) {
		/* Writers at work: beside them, as an open (fs_ns_open).  A
		 * directory's name cannot go or change meanwhile (rmdir and
		 * renames of directories are exclusive, and keep this mode
		 * out); the sequence's check, an open's, only sends it the
		 * slow way when the parent changed. */
		struct fs_inode *stale = NULL;
		struct wend w;

		if (walk_shared(fs, path, NULL, true, &w, &ret) && !ret &&
		    w.type == DT_DIR && !take_beside(fs, w.x, w.seq, w.ino, &i)) {
			stale = i;
			i = NULL;
		}
		fs_ns_unlock_beside(fs);
		fs_iput(stale);
		if (ret)
			return ret;	/* -ENOENT */
	}
	if (!i) {
		ret = fs_walk(fs, path, true, &i);
		if (ret)
			return ret;
	}
	ret = fs_opendir_inode(fs, i, flags, out);
	if (ret)
		fs_iput(i);
	return ret;
}

int fs_opendir_inode(struct udax_fs *fs, struct fs_inode *i, unsigned flags,
		     struct udax_dir **out)
{
	struct udax_dir *d;

	if (!S_ISDIR(i->mode))
		return fs_error(-ENOTDIR, "not a directory");
	d = fault_calloc(1, sizeof(*d));
	if (!d)
		return fs_error(-ENOMEM, "opendir: out of memory");
	d->fs = fs;
	d->ino = i;
	d->off = sizeof(struct fs_ddirhdr);
	d->flags = flags;
	*out = d;
	return 0;
}

/*
 * Cookies (udax_telldir): 0 is the start; with UDAX_OPENDIR_DOTS 1 is
 * after "." and 2 after ".."; an entry's position is block * 4096 + the
 * offset of its record (>= 16), so the cookie after it is the offset of
 * the next record.  Records never move (see udax_readdir), so a cookie
 * stays valid however the directory changes.
 */
static uint64_t dir_tell(const struct udax_dir *d)
{
	if ((d->flags & UDAX_OPENDIR_DOTS) && d->dots < 2 && !d->k &&
	    d->off == sizeof(struct fs_ddirhdr))
		return d->dots;
	if (!d->k && d->off == sizeof(struct fs_ddirhdr))
		return (d->flags & UDAX_OPENDIR_DOTS) ? 2 : 0;
	/* A block's start is its first record: one cookie for both. */
	return d->k * FS_BS + (d->off == sizeof(struct fs_ddirhdr) ? 0 : d->off);
}

uint64_t udax_telldir(struct udax_dir *d)
{
	if (!d || fork_inherited(d->fs->fork_gen))
		return 0;
	return dir_tell(d);
}

int udax_seekdir(struct udax_dir *d, uint64_t cookie)
{
	if (!d)
		return fs_error(-EINVAL, "seekdir: no directory");
	if (fork_inherited(d->fs->fork_gen))
		return fs_err_inherited(d->fs, "seekdir");
	if (cookie / FS_BS >= FS_MAX_LBLK)
		return fs_error(-EINVAL, "seekdir: cookie out of range");
	d->dots = (d->flags & UDAX_OPENDIR_DOTS) ? (cookie < 2 ? (unsigned)cookie : 2) : 2;
	d->k = cookie / FS_BS;
	d->off = (uint32_t)(cookie % FS_BS);
	if (d->off < sizeof(struct fs_ddirhdr))
		d->off = sizeof(struct fs_ddirhdr);
	return 0;
}

/*
 * The position is (block, offset of the next record).  A record never
 * moves: an insert splits a record's gap (the new one lands after it), a
 * removal merges a record into the one before.  So an entry present from
 * opendir to the end is returned exactly once however names come and go
 * in between, without a cookie to keep valid.
 */
/* The entry at @d's position and the position after it: 1, or 0 at the
 * end (ns_lock held, shared or not; the blocks validated: the directory
 * has its index, or no link). */
static int readdir_next(struct udax_dir *d, struct udax_dirent *ent)
{
	const uint8_t *b;
	int ret = 0;

	if (d->dots < 2) {
		/* "." is the directory, ".." its parent field (the root's
		 * own number for the root). */
		ent->ino = d->dots ? d->ino->parent : d->ino->ino;
		ent->type = DT_DIR;
		memcpy(ent->name, "..", d->dots + 1);
		ent->name[d->dots + 1] = 0;
		ent->off = ++d->dots;
		return 1;
	}
	while (!ret && d->ino->nlink && d->k < d->ino->size / FS_BS) {
		ret = dir_block_ro(NULL, d->ino, d->k, &b);
		if (ret)
			break;
		for (uint32_t off = sizeof(struct fs_ddirhdr); off + 8 <= FS_BS;) {
			const struct fs_ddirent *e = (const void *)(b + off);

			if (e->rec_len < 8 || e->rec_len > FS_BS - off)
				break;	/* checked at validation: cannot happen */
			if (off >= d->off && e->ino) {
				ent->ino = e->ino;
				ent->type = e->type;
				memcpy(ent->name, e->name, e->name_len);
				ent->name[e->name_len] = 0;
				d->off = off + e->rec_len;
				ent->off = dir_tell(d);
				ret = 1;
				break;
			}
			off += e->rec_len;
		}
		if (!ret) {
			d->k++;
			d->off = sizeof(struct fs_ddirhdr);
		}
	}
	return ret;
}

/*
 * readdir_next beside directory writers (ns_lock beside): the record read
 * between two looks at the directory's sequence, as a stat's lookup is
 * (walk_shared), the cursor moved only if it held.  -1: look another way
 * (no index: a removed directory, or one not indexed yet; a change under
 * way).  "." and ".." are the inode's own fields, which only exclusive
 * operations change.
 */
static int readdir_beside(struct udax_dir *d, struct udax_dirent *ent)
{
	struct fs_dix *x;
	uint64_t k = d->k;
	uint32_t off = d->off, end, seq;
	int r;

	if (d->dots < 2)
		return readdir_next(d, ent);
	x = fs_dix_shared(d->fs, d->ino->ino);
	if (!x || fs_dix_dir(x) != d->ino)
		return -1;
	if (!beside_begin(d->fs, x, &seq))
		return -1;
	r = fs_dix_next_beside(x, &k, &off, ent, &end);
	if (r < 0 || !fs_dix_unchanged(x, seq))
		return -1;
	d->k = k;
	d->off = r ? end : (uint32_t)sizeof(struct fs_ddirhdr);
	if (r)
		ent->off = dir_tell(d);
	return r;
}

int udax_readdir(struct udax_dir *d, struct udax_dirent *ent)
{
	struct fs_dix *x;
	int ret = 0;

	if (!d || !ent)
		return fs_error(-EINVAL, "readdir: bad argument");
	if (fork_inherited(d->fs->fork_gen))
		return fs_err_inherited(d->fs, "readdir");
	if (!(d->flags & UDAX_OPENDIR_DOTS))
		d->dots = 2;
	/* Listing changes nothing: beside directory writers, as a stat
	 * (nslock.c), when the blocks are validated already -- the index is
	 * there; building it is a writer's work. */
	if (fs_ns_trylock_beside(d->fs, FS_NS_READER_SPINS)) {
		ret = readdir_beside(d, ent);
		fs_ns_unlock_beside(d->fs);
		if (ret >= 0)
			return ret;
		ret = 0;
	}
	/* Beside directory writers, under the directory's lock. */
	dw_enter(d->fs);
	dw_read_lock(d->ino);
	if (d->ino->nlink)
		ret = fs_dix_get(d->fs, d->ino, &x);	/* blocks validated */
	if (!ret)
		ret = readdir_next(d, ent);
	dw_read_unlock(d->ino);
	dw_leave(d->fs);
	return ret;
}

int udax_closedir(struct udax_dir **pd)
{
	if (!pd || !*pd)
		return 0;
	if (fork_inherited((*pd)->fs->fork_gen))
		return fs_err_inherited((*pd)->fs, "closedir");
	fs_iput((*pd)->ino);
	free(*pd);
	*pd = NULL;
	return 0;
}
