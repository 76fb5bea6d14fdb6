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
#include <udax/crc32c.h>

#include "common/crc32c_shift.h"
#include "fs/core.h"

#define DOP_BLKS	8
#define DOP_INODES	6

struct dblk {
	uint64_t pblk;
	struct fs_inode *dir;
	uint32_t k;			/* block of @dir */
	uint8_t data[FS_BS];
};

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
	pthread_rwlock_wrlock(&i->lock);
	s->locked = true;
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
	}
	free(d->em.v);
	for (int k = 0; k < d->nblk; k++)
		free(d->blk[k]);
	fs_txn_free(&d->t);
}

static bool is_dot(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

uint32_t fs_dirblk_crc(uint32_t ino, const void *b)
{
	return udax_crc32c(ino, (const char *)b + 8, FS_BS - 8);
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

int fs_dirblk_hdr_check(const uint8_t *b, uint32_t dino, const char **why)
{
	const struct fs_ddirhdr *h = (const void *)b;

	if (h->magic != FS_DIR_MAGIC)
		*why = "bad magic";
	else if (h->crc != dblk_crc(dino, b))
		*why = "checksum mismatch";
	else if (h->ino != dino)
		*why = "wrong owner";
	else if (h->reserved)
		*why = "reserved field not zero";
	else
		return 0;
	return -EUCLEAN;
}

int fs_dirent_check(const uint8_t *b, uint32_t off, uint32_t nr_inodes,
		    const char **why)
{
	const struct fs_ddirent *e = (const void *)(b + off);

	if (off + 8 > FS_BS || e->rec_len < 8 || e->rec_len % 4 ||
	    e->rec_len > FS_BS - off)
		return *why = "bad record length", -EUCLEAN;
	if (8u + e->name_len > e->rec_len)
		return *why = "name longer than its record", -EUCLEAN;
	if (!e->ino)
		return 0;
	if (e->ino >= nr_inodes)
		*why = "inode number out of range";
	else if (!e->name_len)
		*why = "empty name";
	else if (e->type != DT_REG && e->type != DT_DIR)
		*why = "bad type";
	else if (memchr(e->name, '/', e->name_len) ||
		 memchr(e->name, 0, e->name_len))
		*why = "'/' or NUL in the name";
	else if (is_dot(e->name, e->name_len))
		*why = "name \".\" or \"..\"";
	else
		return 0;
	return 1;
}

/* Validate a directory block of directory @dino (media read under ns_lock,
 * which every writer of directory blocks holds, or a private copy). */
static int dblk_check(uint32_t dino, uint64_t pblk, const uint8_t *b,
		      uint32_t nr_inodes)
{
	uint32_t off = sizeof(struct fs_ddirhdr);
	const char *why;

	if (fs_dirblk_hdr_check(b, dino, &why))
		goto bad;
	while (off < FS_BS) {
		if (fs_dirent_check(b, off, nr_inodes, &why))
			goto bad;
		off += ((const struct fs_ddirent *)(b + off))->rec_len;
	}
	return 0;
bad:
	return fs_error(-EUCLEAN, "directory %u: block %llu corrupt: %s", dino,
			(unsigned long long)pblk, why);
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

const uint8_t *fs_dir_block_addr(struct fs_inode *dir, uint64_t k)
{
	struct fs_xpos xp;
	const struct fs_extent *e = fs_xmap_seek(dir, k, &xp);

	if (!e || e->lblk > k || (e->flags & FS_EXT_UNWRITTEN))
		return NULL;
	return fs_block_addr(dir->fs, e->pblk + (k - e->lblk));
}

int fs_dir_block_check(struct fs_inode *dir, uint64_t k, const uint8_t **out)
{
	uint64_t pblk = 0;
	int ret = dir_pblk(NULL, dir, k, &pblk);

	if (ret)
		return ret;
	*out = fs_block_addr(dir->fs, pblk);
	return dblk_check(dir->ino, pblk, *out, C(dir->fs)->sb.nr_inodes);
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

/* Find @name in @dir (as committed): 1 and *@loc, 0 if absent, <0 on
 * error.  O(1) expected: the directory's index. */
static int dir_find(struct fs_inode *dir, const char *name, size_t len,
		    struct dloc *loc)
{
	struct udax_fs *fs = dir->fs;
	const struct fs_ddirent *e;
	const uint8_t *b;
	struct fs_dix *x;
	uint32_t k, off;
	int ret;

	/* Defined on every path (gcc -O3 cannot see that 1 comes only
	 * with *@loc filled). */
	*loc = (struct dloc){ 0 };
	ret = fs_dix_get(fs, dir, &x);
	if (ret)
		return ret;
	if (!fs_dix_find(x, dir, fs_dix_hash(fs, name, len), name, len, &k, &off))
		return 0;
	b = fs_dir_block_addr(dir, k);
	e = (const void *)(b + off);
	*loc = (struct dloc){ k, off, e->ino, e->type };
	return 1;
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
	uint8_t *b;
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
	uint8_t *b;
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
	if (prev) {
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
	uint8_t *b;
	int ret = dir_block_rw(d, dir, l->k, &b);
	struct fs_ddirent *e = (void *)(b + l->off);

	if (ret)
		return ret;
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

	pthread_mutex_lock(&C(d->fs)->icache_lock);
	/* Its directory index's reference goes with the link (fs_dix_drop
	 * after the commit). */
	alone = i->refs == 1u + i->dix_held;
	pthread_mutex_unlock(&C(d->fs)->icache_lock);
	i->ctime = d->now;
	if (!last) {
		i->nlink--;
		return 0;
	}
	i->nlink = 0;
	if (!alone)
		return 0;	/* an orphan until its last close */
	if (!s->locked) {
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
 * Log the bytes of a changed directory block that differ from media (and
 * its checksum), not the whole block: a create or unlink changes a few
 * dozen bytes, and the journal copies, and the checkpoint writes back and
 * flushes, only those.  Replaying them over the block on media gives the
 * new block exactly: nothing else writes it in between (ns_lock).  A new
 * block is logged whole: what a free block holds is no one's business.
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
	while (lo < hi && b->data[lo] == old[lo])
		lo++;
	while (hi > lo && b->data[hi - 1] == old[hi - 1])
		hi--;
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

/* ---- path walk (ns_lock held) ------------------------------------------------------ */

static int step(struct udax_fs *fs, struct fs_inode **cur, const char *s,
		size_t n)
{
	struct fs_inode *next;
	struct dloc l;
	uint32_t ino;
	int ret;

	if (!S_ISDIR((*cur)->mode))
		return fs_error(-ENOTDIR, "a path component is not a directory");
	if (n == 1 && s[0] == '.')
		return 0;
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		ino = (*cur)->parent;
	} else {
		ret = dir_find(*cur, s, n, &l);
		if (ret < 0)
			return ret;
		if (!ret)
			return fs_error(-ENOENT, "no such file or directory: %.*s",
					(int)n, s);
		ino = l.ino;
	}
	ret = fs_iget(fs, ino, &next);
	if (ret)
		return ret;
	fs_iput(*cur);
	*cur = next;
	return 0;
}

static int walk_parent(struct udax_fs *fs, const char *path, struct fs_nd *nd)
{
	struct fs_inode *cur;
	const char *p = path, *s;
	int ret;

	memset(nd, 0, sizeof(*nd));
	if (!fs || !path)
		return fs_error(-EINVAL, "no file system or path");
	if (!*path)
		return fs_error(-ENOENT, "empty path");
	if (*path != '/')
		return fs_error(-EINVAL, "path \"%s\" is not absolute", path);
	ret = fs_iget(fs, UDAX_ROOT_INO, &cur);
	if (ret)
		return ret;
	for (;;) {
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
			nd->dot = is_dot(s, n);
			break;
		}
		ret = step(fs, &cur, s, n);
		if (ret) {
			fs_iput(cur);
			return ret;
		}
	}
	if (!S_ISDIR(cur->mode)) {
		fs_iput(cur);
		return fs_error(-ENOTDIR, "a path component is not a directory");
	}
	nd->dir = cur;
	return 0;
}

/* Resolve the last component of @nd: 0 and *@out, or -ENOENT ... */
int fs_nd_lookup(struct udax_fs *fs, struct fs_nd *nd, struct fs_inode **out)
{
	struct fs_inode *cur = nd->dir;
	int ret;

	fs_inode_hold(cur);
	if (!nd->root) {
		ret = step(fs, &cur, nd->name, nd->len);
		if (ret) {
			fs_iput(cur);
			return ret;
		}
	}
	if (nd->slash && !S_ISDIR(cur->mode)) {
		fs_iput(cur);
		return fs_error(-ENOTDIR, "not a directory (trailing slash)");
	}
	*out = cur;
	return 0;
}

static int walk(struct udax_fs *fs, const char *path, struct fs_inode **out)
{
	struct fs_nd nd;
	int ret = walk_parent(fs, path, &nd);

	if (ret)
		return ret;
	ret = fs_nd_lookup(fs, &nd, out);
	fs_iput(nd.dir);
	return ret;
}

static uint8_t dtype(uint32_t mode)
{
	return S_ISDIR(mode) ? DT_DIR : DT_REG;
}

/* ---- operations ----------------------------------------------------------------------- */

/*
 * Create @nd's last component as a new inode of @mode (ns_lock held).
 * On success *@out holds a cache reference to it.
 */
static int create(struct udax_fs *fs, struct fs_nd *nd, uint32_t mode,
		  const struct fs_owner *own, struct fs_inode **out)
{
	struct fs_inode *dir = nd->dir, *i;
	struct dop d;
	uint32_t ino;
	int ret;

	if (nd->root || nd->dot)
		return fs_error(-EEXIST, "file exists");
	if (!dir->nlink)
		return fs_error(-ENOENT, "directory was removed");
	if (S_ISDIR(mode) && dir->nlink >= UINT32_MAX - 1)
		return fs_error(-EMLINK, "too many links");
	ret = fs_ino_alloc(fs, &ino);
	if (ret)
		return ret;
	i = fs_inode_new(fs, ino, mode);
	if (!i) {
		fs_ino_free(fs, ino);
		return -ENOMEM;
	}
	pthread_mutex_lock(&C(fs)->alloc_lock);
	i->gen = C(fs)->next_gen++;
	pthread_mutex_unlock(&C(fs)->alloc_lock);
	i->nlink = S_ISDIR(mode) ? 2 : 1;
	i->parent = S_ISDIR(mode) ? dir->ino : 0;
	if (own) {
		i->uid = own->uid;
		i->gid = own->gid;
	}
	if (dir->mode & S_ISGID) {	/* BSD group semantics, inherited */
		i->gid = dir->gid;
		if (S_ISDIR(mode))
			i->mode |= S_ISGID;
	}
	dop_init(&d, fs, NULL);
	i->atime = i->mtime = i->ctime = i->btime = d.now;
	dop_touch(&d, dir);
	dop_touch(&d, i);
	ret = dir_add(&d, dir, nd->name, nd->len, ino, dtype(mode));
	if (!ret) {
		if (S_ISDIR(mode))
			dir->nlink++;
		dir->mtime = dir->ctime = d.now;
		ret = dop_commit(&d);
	} else {
		dop_end(&d, false);
	}
	if (ret) {
		fs_ino_free(fs, ino);
		fs_inode_dispose(i);
		return ret;
	}
	fs_icache_insert(i);
	*out = i;
	return 0;
}

/* The namespace half of udax_open(): find or create. */
int fs_nd_open(struct udax_fs *fs, struct fs_nd *nd, int oflags, mode_t mode,
	       const struct fs_owner *own, struct fs_inode **out, bool *created)
{
	struct fs_inode *i = NULL;
	int ret;

	*created = false;
	ret = fs_nd_lookup(fs, nd, &i);
	if (ret == -ENOENT && (oflags & O_CREAT) && !nd->root && !nd->dot) {
		if (nd->slash)
			ret = fs_error(-EISDIR, "cannot create a file with a trailing slash");
		else
			ret = fs_check_rw(fs);
		if (!ret)
			ret = create(fs, nd, S_IFREG | (mode & 07777), own, &i);
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

int fs_ns_open(struct udax_fs *fs, const char *path, int oflags, mode_t mode,
	       struct fs_inode **out, bool *created)
{
	struct fs_core *c = C(fs);
	struct fs_nd nd;
	int ret;

	*created = false;
	pthread_mutex_lock(&c->ns_lock);
	ret = walk_parent(fs, path, &nd);
	if (!ret) {
		ret = fs_nd_open(fs, &nd, oflags, mode, NULL, out, created);
		fs_iput(nd.dir);
	}
	pthread_mutex_unlock(&c->ns_lock);
	return ret;
}

int udax_mkdir(struct udax_fs *fs, const char *path, mode_t mode)
{
	struct fs_inode *i = NULL;
	struct fs_nd nd;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "mkdir");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk_parent(fs, path, &nd);
	if (!ret) {
		ret = fs_nd_mkdir(fs, &nd, mode, NULL, &i);
		if (!ret)
			fs_iput(i);
		fs_iput(nd.dir);
	}
	pthread_mutex_unlock(&C(fs)->ns_lock);
	return ret;
}

int fs_nd_mkdir(struct udax_fs *fs, struct fs_nd *nd, mode_t mode,
		const struct fs_owner *own, struct fs_inode **out)
{
	struct fs_inode *i = NULL;
	int ret = fs_nd_lookup(fs, nd, &i);

	if (!ret) {
		fs_iput(i);
		return fs_error(-EEXIST, "file exists");
	}
	/* ENOTDIR from a trailing slash on a file: exists */
	if (ret == -ENOTDIR)
		return fs_error(-EEXIST, "file exists");
	if (ret != -ENOENT)
		return ret;
	return create(fs, nd, S_IFDIR | (mode & 07777), own, out);
}

int fs_nd_remove(struct udax_fs *fs, struct fs_nd *nd, bool isdir,
		 const struct udax_break_opts *brk, struct fs_inode **victim)
{
	struct fs_inode *i = NULL;
	struct dloc l;
	struct dop d;
	int ret;

	*victim = NULL;
	if (nd->root)
		return fs_error(isdir ? -EBUSY : -EISDIR, "cannot remove the root");
	if (nd->dot)
		return fs_error(isdir ? (nd->len == 1 ? -EINVAL : -ENOTEMPTY) : -EISDIR,
				"cannot remove \".\" or \"..\"");
	ret = dir_find(nd->dir, nd->name, nd->len, &l);
	if (ret <= 0)
		return ret ? ret : fs_error(-ENOENT, "no such file or directory");
	ret = fs_iget(fs, l.ino, &i);
	if (ret)
		return ret;
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

/* unlink (@dir false) and rmdir (@dir true). */
static int remove_name(struct udax_fs *fs, const char *path, bool isdir,
		       const struct udax_break_opts *brk)
{
	struct fs_inode *i = NULL;
	struct fs_nd nd;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, isdir ? "rmdir" : "unlink");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk_parent(fs, path, &nd);
	if (!ret) {
		ret = fs_nd_remove(fs, &nd, isdir, brk, &i);
		fs_iput(nd.dir);
	}
	pthread_mutex_unlock(&C(fs)->ns_lock);
	fs_iput(i);	/* last reference of an orphan: frees it */
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

int fs_nd_link(struct udax_fs *fs, struct fs_inode *i, struct fs_nd *nd)
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
	if (i->nlink >= UINT32_MAX - 1)
		return fs_error(-EMLINK, "too many links");
	dop_init(&d, fs, NULL);
	dop_touch(&d, nd->dir);
	dop_touch(&d, i);
	if (!i->nlink) {
		dop_end(&d, false);
		return fs_error(-ENOENT, "file was removed");
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

int udax_link(struct udax_fs *fs, const char *oldpath, const char *newpath)
{
	struct fs_inode *i = NULL;
	struct fs_nd nd;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "link");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk(fs, oldpath, &i);
	if (!ret && S_ISDIR(i->mode))
		ret = fs_error(-EPERM, "hard links to directories are not allowed");
	if (!ret)
		ret = walk_parent(fs, newpath, &nd);
	if (!ret) {
		ret = fs_nd_link(fs, i, &nd);
		fs_iput(nd.dir);
	}
	pthread_mutex_unlock(&C(fs)->ns_lock);
	fs_iput(i);
	return ret;
}

int fs_nd_rename(struct udax_fs *fs, struct fs_nd *o, struct fs_nd *n,
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
	if ((o->slash || n->slash) && !sdir) {
		ret = fs_error(-ENOTDIR, "not a directory (trailing slash)");
		goto out;
	}
	have = dir_find(ndir, n->name, n->len, &lt);
	if (have < 0) {
		ret = have;
		goto out;
	}
	if (have) {
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
	if (sdir && od != ndir) {
		/* Loop check: the new parent must not be src or below it. */
		uint32_t p = ndir->ino;

		for (unsigned depth = 0; ; depth++) {
			struct fs_inode *pi;

			if (p == src->ino) {
				ret = fs_error(-EINVAL, "cannot move a directory into itself");
				goto out;
			}
			if (p == UDAX_ROOT_INO)
				break;
			if (depth > C(fs)->sb.nr_inodes) {
				ret = fs_error(-EUCLEAN, "directory parent loop");
				goto out;
			}
			ret = fs_iget(fs, p, &pi);
			if (ret)
				goto out;
			p = pi->parent;
			fs_iput(pi);
		}
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
	dop_touch(&d, src);
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

int udax_rename_ex(struct udax_fs *fs, const char *oldpath, const char *newpath,
		   unsigned flags, const struct udax_break_opts *brk)
{
	struct fs_inode *src = NULL, *tgt = NULL;
	struct fs_nd o = { 0 }, n = { 0 };
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "rename");
	if (flags & ~UDAX_RENAME_NOREPLACE)
		return fs_error(-EINVAL, "rename: unknown flags");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk_parent(fs, oldpath, &o);
	if (!ret)
		ret = walk_parent(fs, newpath, &n);
	if (!ret)
		ret = fs_nd_rename(fs, &o, &n, flags, brk, &src, &tgt);
	fs_iput(o.dir);
	fs_iput(n.dir);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	fs_iput(src);
	fs_iput(tgt);
	return ret;
}

int udax_rename(struct udax_fs *fs, const char *oldpath, const char *newpath,
		unsigned flags)
{
	return udax_rename_ex(fs, oldpath, newpath, flags, NULL);
}

/* ---- attributes ----------------------------------------------------------------------- */

/* Mode, owner and times of @a in one transaction (ns_lock held; the
 * size is the caller's, see udax_setattr_inode). */
int fs_setattr_locked(struct udax_fs *fs, struct fs_inode *i,
		      const struct udax_iattr *a)
{
	struct dop d;

	for (int k = 0; k < 2; k++) {
		const struct timespec *t = k ? &a->mtime : &a->atime;

		if (!(a->valid & (k ? UDAX_IATTR_MTIME : UDAX_IATTR_ATIME)))
			continue;
		if (t->tv_nsec != UTIME_NOW && t->tv_nsec != UTIME_OMIT &&
		    (t->tv_nsec < 0 || t->tv_nsec >= 1000000000))
			return fs_error(-EINVAL, "bad time");
	}
	dop_init(&d, fs, NULL);
	dop_touch(&d, i);
	if (a->valid & UDAX_IATTR_MODE)
		i->mode = (i->mode & S_IFMT) | (a->mode & 07777);
	if (a->valid & UDAX_IATTR_UID)
		i->uid = a->uid;
	if (a->valid & UDAX_IATTR_GID)
		i->gid = a->gid;
	for (int k = 0; k < 2; k++) {
		const struct timespec *t = k ? &a->mtime : &a->atime;
		int64_t *v = k ? &i->mtime : &i->atime;

		if (!(a->valid & (k ? UDAX_IATTR_MTIME : UDAX_IATTR_ATIME)) ||
		    t->tv_nsec == UTIME_OMIT)
			continue;
		*v = t->tv_nsec == UTIME_NOW ? d.now :
			(int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
		if (k)
			i->times_dirty = false;	/* the lazy mtime is overridden */
	}
	i->ctime = d.now;
	return dop_commit(&d);
}

static int setattr(struct udax_fs *fs, const char *path, const char *fn,
		   const struct udax_iattr *a)
{
	struct fs_inode *i = NULL;
	int ret;

	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, fn);
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk(fs, path, &i);
	if (!ret)
		ret = fs_setattr_locked(fs, i, a);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	fs_iput(i);
	return ret;
}

int udax_chmod(struct udax_fs *fs, const char *path, mode_t mode)
{
	struct udax_iattr a = { .valid = UDAX_IATTR_MODE, .mode = mode };

	return setattr(fs, path, "chmod", &a);
}

int udax_chown(struct udax_fs *fs, const char *path, uid_t uid, gid_t gid)
{
	struct udax_iattr a = { .uid = uid, .gid = gid };

	if (uid != (uid_t)-1)
		a.valid |= UDAX_IATTR_UID;
	if (gid != (gid_t)-1)
		a.valid |= UDAX_IATTR_GID;
	return setattr(fs, path, "chown", &a);
}

int udax_utimens(struct udax_fs *fs, const char *path, const struct timespec ts[2])
{
	struct udax_iattr a = { .valid = UDAX_IATTR_ATIME | UDAX_IATTR_MTIME };

	if (ts) {
		a.atime = ts[0];
		a.mtime = ts[1];
	} else {
		a.atime.tv_nsec = a.mtime.tv_nsec = UTIME_NOW;
	}
	return setattr(fs, path, "utimens", &a);
}

int udax_stat(struct udax_fs *fs, const char *path, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	int ret;

	if (!st)
		return fs_error(-EINVAL, "stat: no result");
	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "stat");
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk(fs, path, &i);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	if (ret)
		return ret;
	pthread_rwlock_rdlock(&i->lock);
	fs_inode_fill(i, st);
	pthread_rwlock_unlock(&i->lock);
	fs_iput(i);
	return 0;
}

/* ---- readdir -------------------------------------------------------------------------- */

struct udax_dir {
	struct udax_fs *fs;
	struct fs_inode *ino;
	uint64_t k;
	uint32_t off;
};

int udax_opendir(struct udax_fs *fs, const char *path, struct udax_dir **out)
{
	struct fs_inode *i = NULL;
	int ret;

	if (!fs || !out)
		return fs_error(-EINVAL, "opendir: bad argument");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "opendir");
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = walk(fs, path, &i);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	if (ret)
		return ret;
	ret = fs_opendir_inode(fs, i, out);
	if (ret)
		fs_iput(i);
	return ret;
}

int fs_opendir_inode(struct udax_fs *fs, struct fs_inode *i,
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
	*out = d;
	return 0;
}

/*
 * The position is (block, offset of the next record).  A record never
 * moves: an insert splits a record's gap (the new one lands after it), a
 * removal merges a record into the one before.  So an entry present from
 * opendir to the end is returned exactly once however names come and go
 * in between, without a cookie to keep valid.
 */
int udax_readdir(struct udax_dir *d, struct udax_dirent *ent)
{
	const uint8_t *b;
	struct fs_dix *x;
	int ret = 0;

	if (!d || !ent)
		return fs_error(-EINVAL, "readdir: bad argument");
	if (fork_inherited(d->fs->fork_gen))
		return fs_err_inherited(d->fs, "readdir");
	pthread_mutex_lock(&C(d->fs)->ns_lock);
	if (d->ino->nlink)
		ret = fs_dix_get(d->fs, d->ino, &x);	/* blocks validated */
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
	pthread_mutex_unlock(&C(d->fs)->ns_lock);
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
