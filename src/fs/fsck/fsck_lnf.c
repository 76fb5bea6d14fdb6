/* SPDX-License-Identifier: MIT */
/*
 * fsck: reconnect unreachable inodes under /lost+found (as e2fsck does).
 *
 * An inode in use that no entry names at all (nlink > 0, or a directory
 * with entries) is the top of an unreachable subtree: it gets the entry
 * "#<ino>" in /lost+found, and what is below it becomes reachable with it.
 * The plan is made during the check (fk_lnf_plan: /lost+found's inode,
 * which tops fit), so that link counts are judged against the tree the
 * repair leaves; the repair (fk_lnf_reconnect) runs the same steps on the
 * same media and commits them.  It runs first among the repairs (after the
 * superblock copies), so the media are those the check read.
 *
 * Each step is one journal transaction that leaves a consistent tree:
 *
 *	make		/lost+found's record (directory 0700, nlink 2, parent
 *			the root, one block), that empty block, the root's
 *			entry "lost+found" (the root grown by a block if it is
 *			full) and the root's record (nlink + 1);
 *	reconnect	the entry "#<ino>" in /lost+found (grown by a block if
 *			full), the inode's record (nlink: the entries naming
 *			it; a directory: parent /lost+found) and /lost+found's
 *			record (a directory: nlink + 1).
 *
 * A crash between two steps leaves an image that mounts and that a second
 * fsck finishes: it finds /lost+found and the inodes not reconnected yet.
 * Nothing is ever written with nlink 0 (mount would free it).
 *
 * New blocks are blocks no one owns, which is known only when every record
 * and extent could be read: with a damaged one nothing is allocated.  A
 * directory grows by one block at its end, by extending its last inline
 * extent or in a free inline slot; one with an extent chain does not grow
 * here.  The inode for /lost+found is the first free record that no
 * (stale) entry names.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fsck/fsck.h"

#define LNF_NAME	"lost+found"
/* Room asked of a record for every entry made here: "#4294967295" (11
 * bytes, the longest) and "lost+found" (10) both fit FS_DIRENT_LEN(11). */
#define LNF_ROOM	FS_DIRENT_LEN(11)

/* A directory as the repair leaves it: its record and blocks. */
struct ldir {
	uint32_t ino;
	struct fs_dinode di;
	uint64_t nblk, cap;
	uint64_t *pblk;			/* by file block */
	uint8_t **img;			/* by file block; NULL: not read yet */
	uint64_t room;			/* the blocks before it have no room */
	bool can_grow;			/* nothing mapped past the size */
};

struct fk_lnf {
	bool ready;			/* /lost+found exists (found or made) */
	bool failed;			/* a step was not possible: no more */
	bool blocks_known;		/* every extent read: owner[] is whole */
	const char *why;		/* why the last step was not possible */
	uint32_t gen;			/* generation of a new record */
	int64_t now;
	struct ldir root, dir;
	uint64_t *taken;		/* blocks given to directories here */
	uint32_t ntaken, tcap;
	uint64_t cursor;		/* no free block before it */
	uint32_t *names;		/* n of each "#<n>" in /lost+found, sorted */
	size_t nnames, ncap;
};

/* ---- blocks no one owns ------------------------------------------------- */

static bool blk_free(struct fk *k, struct fk_lnf *L, uint64_t b)
{
	if (!L->blocks_known || b < k->sb.data_start || b >= k->nb || k->owner[b])
		return false;
	for (uint32_t x = 0; x < L->ntaken; x++)
		if (L->taken[x] == b)
			return false;
	return true;
}

static uint64_t blk_find(struct fk *k, struct fk_lnf *L)
{
	if (L->cursor < k->sb.data_start)
		L->cursor = k->sb.data_start;
	for (; L->cursor < k->nb; L->cursor++)
		if (blk_free(k, L, L->cursor))
			return L->cursor;
	return 0;
}

static int blk_take(struct fk_lnf *L, uint64_t b)
{
	if (L->ntaken == L->tcap) {
		uint32_t cap = L->tcap ? 2 * L->tcap : 8;
		uint64_t *v = fault_realloc(L->taken, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		L->taken = v;
		L->tcap = cap;
	}
	L->taken[L->ntaken++] = b;
	return 0;
}

/* ---- directories being extended ------------------------------------------ */

static void ldir_free(struct ldir *d)
{
	for (uint64_t l = 0; l < d->cap && d->img; l++)
		free(d->img[l]);
	free(d->img);
	free(d->pblk);
	memset(d, 0, sizeof(*d));
}

static int ldir_reserve(struct ldir *d, uint64_t n)
{
	uint64_t *p;
	uint8_t **v;

	if (n <= d->cap)
		return 0;
	n += 8;
	p = fault_realloc(d->pblk, n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	d->pblk = p;
	v = fault_realloc(d->img, n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	d->img = v;
	memset(d->pblk + d->cap, 0, (n - d->cap) * sizeof(*p));
	memset(d->img + d->cap, 0, (n - d->cap) * sizeof(*v));
	d->cap = n;
	return 0;
}

/* Directory @ino as the check found it (valid, every block readable). */
static int ldir_open(struct fk *k, struct fk_lnf *L, struct ldir *d, uint32_t ino)
{
	const struct fk_ino *ii = &k->ino[ino];

	d->ino = ino;
	fk_read(k, fk_iblock(k, ino) * FS_BS + fk_ioff(ino), &d->di, sizeof(d->di));
	d->nblk = d->di.size / FS_BS;
	d->can_grow = true;
	if (ldir_reserve(d, d->nblk + 1))
		return -ENOMEM;
	for (uint32_t x = 0; x < ii->next; x++)
		for (uint64_t l = ii->ext[x].lblk; l < ii->ext[x].lblk + ii->ext[x].len; l++) {
			if (l >= d->nblk) {
				d->can_grow = false;
				break;
			}
			d->pblk[l] = ii->ext[x].pblk + (l - ii->ext[x].lblk);
		}
	for (uint64_t l = 0; l < d->nblk; l++)
		if (!d->pblk[l]) {
			L->why = "a directory block is missing";
			return 1;
		}
	return 0;
}

static uint8_t *ldir_block(struct fk *k, struct ldir *d, uint64_t l)
{
	if (!d->img[l]) {
		d->img[l] = fault_malloc(FS_BS);
		if (d->img[l])
			fk_read(k, d->pblk[l] * FS_BS, d->img[l], FS_BS);
	}
	return d->img[l];
}

static const char *full(const struct ldir *d)
{
	return d->ino == UDAX_ROOT_INO ?
	       "the root directory is full and cannot grow" :
	       "/lost+found is full and cannot grow";
}

/* One more block at the end of @d: 0, 1 (not possible: L->why). */
static int ldir_grow(struct fk *k, struct fk_lnf *L, struct ldir *d)
{
	/* Inline extents only (a map in leaves does not grow here). */
	struct fs_dext *last = d->di.nr_extents && d->di.nr_extents <= FS_INLINE_EXT ?
			       &d->di.ext[d->di.nr_extents - 1] : NULL;
	uint32_t len = last ? last->len & FS_DEXT_MAXLEN : 0;
	struct fs_ddirhdr *h;
	struct fs_ddirent *e;
	uint64_t b = 0;
	bool extend;

	if (!d->can_grow || d->di.nr_extents > FS_INLINE_EXT || d->nblk >= UINT32_MAX) {
		L->why = full(d);
		return 1;
	}
	if (ldir_reserve(d, d->nblk + 1))
		return -ENOMEM;
	extend = last && !(last->len & FS_DEXT_UNWRITTEN) && len < FS_DEXT_MAXLEN &&
		 last->lblk + (uint64_t)len == d->nblk &&
		 blk_free(k, L, last->pblk + len);
	if (extend)
		b = last->pblk + len;
	else if (d->di.nr_extents < FS_INLINE_EXT)
		b = blk_find(k, L);
	if (!b) {
		L->why = d->di.nr_extents < FS_INLINE_EXT ?
			 (L->blocks_known ? "no free block" :
			  "no block is known to be free (a damaged inode)") : full(d);
		return 1;
	}
	d->img[d->nblk] = fault_calloc(1, FS_BS);
	if (!d->img[d->nblk] || blk_take(L, b))
		return -ENOMEM;
	if (extend)
		last->len++;
	else
		d->di.ext[d->di.nr_extents++] = (struct fs_dext){
			.lblk = (uint32_t)d->nblk, .len = 1, .pblk = b };
	h = (void *)d->img[d->nblk];
	h->magic = FS_DIR_MAGIC;
	h->ino = d->ino;
	e = (void *)(h + 1);
	e->rec_len = FS_BS - sizeof(*h);
	d->pblk[d->nblk++] = b;
	d->di.size += FS_BS;
	d->di.blocks = fs_blocks_field((uint64_t)d->di.blocks + 1);
	return 0;
}

/* Add the entry @name -> @ino to @d (the first record with LNF_ROOM to
 * spare, else a new block): 0 with its block in *@at, 1, -ENOMEM. */
static int ldir_add(struct fk *k, struct fk_lnf *L, struct ldir *d,
		    const char *name, uint8_t len, uint32_t ino, uint8_t type,
		    uint64_t *at)
{
	struct fs_ddirent *e = NULL;
	int ret;

	for (uint64_t l = d->room; l < d->nblk && !e; l++) {
		uint8_t *b = ldir_block(k, d, l);

		if (!b)
			return -ENOMEM;
		for (uint32_t off = sizeof(struct fs_ddirhdr); off + 8 <= FS_BS;) {
			struct fs_ddirent *r = (void *)(b + off);
			uint32_t used = r->ino ? FS_DIRENT_LEN(r->name_len) : 0;

			/* Validated by the check; still never trusted. */
			if (r->rec_len < 8 || r->rec_len > FS_BS - off || used > r->rec_len)
				break;
			if (r->rec_len - used >= LNF_ROOM) {
				e = r;
				if (used) {
					e = (void *)(b + off + used);
					e->rec_len = (uint16_t)(r->rec_len - used);
					r->rec_len = (uint16_t)used;
				}
				*at = l;
				break;
			}
			off += r->rec_len;
		}
	}
	if (!e) {
		ret = ldir_grow(k, L, d);
		if (ret)
			return ret;
		*at = d->nblk - 1;
		e = (void *)(d->img[*at] + sizeof(struct fs_ddirhdr));
	}
	d->room = *at;
	e->ino = ino;
	e->type = type;
	e->name_len = len;
	memcpy(e->name, name, len);
	return 0;
}

/* ---- transactions --------------------------------------------------------- */

static void txn_dirblk(struct fs_txn *t, struct ldir *d, uint64_t l)
{
	struct fs_ddirhdr *h = (void *)d->img[l];

	h->crc = fs_dirblk_crc(d->ino, d->img[l]);
	fs_txn_add(t, d->pblk[l] * FS_BS, d->img[l], FS_BS);
}

static void txn_record(struct fk *k, struct fs_txn *t, uint32_t ino,
		       struct fs_dinode *di)
{
	di->crc = fs_dinode_crc(ino, di);
	fs_txn_add(t, fk_iblock(k, ino) * FS_BS + fk_ioff(ino), di, sizeof(*di));
}

/* Commit @t (@commit), or only make sure it fits the journal: 0, 1. */
static int finish(struct fk *k, struct fk_lnf *L, struct fs_txn *t, bool commit)
{
	uint64_t body = 0;

	if (t->err)
		return t->err;
	for (uint32_t r = 0; r < t->nrec; r++)
		body += sizeof(struct fs_djrec) + ((t->rec[r].len + 7u) & ~7u);
	if (body > fs_journal_max_body(&k->sb)) {
		L->why = "the change does not fit the journal";
		return 1;
	}
	return commit ? fs_txn_commit(t) : 0;
}

/* ---- the steps ------------------------------------------------------------ */

static int name_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* n if @e is named "#<n>" exactly as a reconnection names it, else 0. */
static uint32_t lnf_number(const struct fs_ddirent *e)
{
	uint64_t n = 0;

	if (!e->ino || e->name_len < 2 || e->name_len > 11 || e->name[0] != '#' ||
	    e->name[1] == '0')
		return 0;
	for (uint32_t c = 1; c < e->name_len; c++) {
		if (e->name[c] < '0' || e->name[c] > '9')
			return 0;
		n = n * 10 + (uint64_t)(e->name[c] - '0');
	}
	return n <= UINT32_MAX ? (uint32_t)n : 0;
}

/* The names "#<n>" already in /lost+found. */
static int collect_names(struct fk *k, struct fk_lnf *L)
{
	struct ldir *d = &L->dir;

	for (uint64_t l = 0; l < d->nblk; l++) {
		const uint8_t *b = ldir_block(k, d, l);

		if (!b)
			return -ENOMEM;
		for (uint32_t off = sizeof(struct fs_ddirhdr); off + 8 <= FS_BS;) {
			const struct fs_ddirent *e = (const void *)(b + off);
			uint32_t n;

			if (e->rec_len < 8 || e->rec_len > FS_BS - off)
				break;
			off += e->rec_len;
			n = lnf_number(e);
			if (!n)
				continue;
			if (L->nnames == L->ncap) {
				size_t cap = L->ncap ? 2 * L->ncap : 16;
				uint32_t *v = fault_realloc(L->names, cap * sizeof(*v));

				if (!v)
					return -ENOMEM;
				L->names = v;
				L->ncap = cap;
			}
			L->names[L->nnames++] = n;
		}
	}
	if (L->nnames > 1)
		qsort(L->names, L->nnames, sizeof(*L->names), name_cmp);
	return 0;
}

static int lnf_open(struct fk *k, struct fk_lnf *L)
{
	int ret;

	L->now = fs_now();
	L->blocks_known = true;
	for (uint32_t i = 0; i < k->sb.nr_inodes; i++) {
		const struct fs_dinode *di = (const void *)(k->itab + (size_t)i * 256);

		if (k->ino[i].state == FK_BAD || k->ino[i].ext_bad)
			L->blocks_known = false;
		if (k->ino[i].state == FK_OK && di->generation >= L->gen)
			L->gen = di->generation + 1;
	}
	ret = ldir_open(k, L, &L->root, UDAX_ROOT_INO);
	if (ret || k->lnf_new)
		return ret;
	L->ready = true;
	ret = ldir_open(k, L, &L->dir, k->lnf_ino);
	return ret ? ret : collect_names(k, L);
}

/* Make /lost+found (inode k->lnf_ino, a free record): 0, 1, -errno. */
static int lnf_make(struct fk *k, struct fk_lnf *L, bool commit)
{
	struct ldir *r = &L->root, *d = &L->dir;
	struct fs_ddirent *e;
	struct fs_ddirhdr *h;
	struct fs_txn t;
	uint64_t at, b;
	int ret;

	static const struct fs_dinode zero;

	fk_read(k, fk_iblock(k, k->lnf_ino) * FS_BS + fk_ioff(k->lnf_ino), &d->di,
		sizeof(d->di));
	if (memcmp(&d->di, &zero, sizeof(zero))) {
		L->why = "its inode is no longer free";
		return 1;
	}
	if (r->di.nlink == UINT32_MAX) {
		L->why = "the root has too many links";
		return 1;
	}
	ret = ldir_add(k, L, r, LNF_NAME, sizeof(LNF_NAME) - 1, k->lnf_ino, DT_DIR, &at);
	if (ret)
		return ret;
	b = blk_find(k, L);
	if (!b) {
		L->why = L->blocks_known ? "no free block for /lost+found" :
			 "no block is known to be free (a damaged inode)";
		return 1;
	}
	d->ino = k->lnf_ino;
	d->nblk = 0;
	d->can_grow = true;
	if (blk_take(L, b) || ldir_reserve(d, 1) || !(d->img[0] = fault_calloc(1, FS_BS)))
		return -ENOMEM;
	d->pblk[0] = b;
	d->nblk = 1;
	h = (void *)d->img[0];
	h->magic = FS_DIR_MAGIC;
	h->ino = d->ino;
	e = (void *)(h + 1);
	e->rec_len = FS_BS - sizeof(*h);
	memset(&d->di, 0, sizeof(d->di));
	d->di.mode = S_IFDIR | 0700;
	d->di.nlink = 2;
	d->di.generation = L->gen;
	/* Log records of an earlier inode of this number are stale for it. */
	d->di.log_seq = k->log_max;
	d->di.size = FS_BS;
	d->di.atime = d->di.mtime = d->di.ctime = d->di.btime = L->now;
	d->di.nr_extents = 1;
	d->di.blocks = 1;
	d->di.ext[0] = (struct fs_dext){ .lblk = 0, .len = 1, .pblk = b };
	d->di.parent = UDAX_ROOT_INO;
	r->di.nlink++;
	r->di.mtime = r->di.ctime = L->now;

	fs_txn_init(&t, &k->fs);
	txn_record(k, &t, d->ino, &d->di);
	txn_dirblk(&t, d, 0);
	txn_dirblk(&t, r, at);
	txn_record(k, &t, UDAX_ROOT_INO, &r->di);
	ret = finish(k, L, &t, commit);
	fs_txn_free(&t);
	if (!ret)
		L->ready = true;
	return ret;
}

/*
 * Name @ino "#<ino>" in /lost+found with link count @nlink: 0; 2 when not
 * possible for this inode alone, 1 when not possible for any (L->why
 * says why); -errno.
 */
static int lnf_add(struct fk *k, struct fk_lnf *L, uint32_t ino, uint32_t nlink,
		   bool commit)
{
	struct fs_dinode di;
	struct fs_txn t;
	char name[16];
	const char *why;
	uint64_t at;
	bool dir;
	int ret, len = snprintf(name, sizeof(name), "#%u", ino);

	if (L->nnames && bsearch(&ino, L->names, L->nnames, sizeof(ino), name_cmp)) {
		L->why = "the name is taken in /lost+found";
		return 2;
	}
	fk_read(k, fk_iblock(k, ino) * FS_BS + fk_ioff(ino), &di, sizeof(di));
	if (!di.mode || di.crc != fs_dinode_crc(ino, &di) ||
	    fs_dinode_check(&di, k->sb.nr_inodes, &why)) {
		L->why = "its record changed";
		return 2;
	}
	dir = S_ISDIR(di.mode);
	di.nlink = nlink;
	if (dir)
		di.parent = L->dir.ino;
	if (fs_dinode_check(&di, k->sb.nr_inodes, &why) || !nlink) {
		L->why = "no valid link count";
		return 2;
	}
	if (dir && L->dir.di.nlink == UINT32_MAX) {
		L->why = "/lost+found has too many links";
		return 2;
	}
	ret = ldir_add(k, L, &L->dir, name, (uint8_t)len, ino, fs_mode_dtype(di.mode), &at);
	if (ret)
		return ret;
	if (dir)
		L->dir.di.nlink++;
	L->dir.di.mtime = L->dir.di.ctime = L->now;

	fs_txn_init(&t, &k->fs);
	txn_dirblk(&t, &L->dir, at);
	txn_record(k, &t, L->dir.ino, &L->dir.di);
	txn_record(k, &t, ino, &di);
	ret = finish(k, L, &t, commit);
	fs_txn_free(&t);
	return ret;
}

static void lnf_release(struct fk_lnf *L)
{
	if (!L)
		return;
	ldir_free(&L->root);
	ldir_free(&L->dir);
	free(L->taken);
	free(L->names);
	free(L);
}

/* ---- plan (the check) and repair ----------------------------------------- */

/* Where /lost+found is or will be: NULL, or why there is none. */
static const char *lnf_where(struct fk *k)
{
	if (k->lnf_ino)
		return NULL;
	if (k->lnf_file)
		return "\"lost+found\" in the root is not a directory";
	/* Not one a stale entry names: until that entry is removed (a later
	 * repair), /lost+found would have two names. */
	for (uint32_t i = UDAX_ROOT_INO + 1; i < k->sb.nr_inodes; i++)
		if (k->ino[i].state == FK_FREE && !k->ino[i].named_free) {
			k->lnf_ino = i;
			k->lnf_new = true;
			return NULL;
		}
	return "no free inode for /lost+found";
}

int fk_lnf_plan(struct fk *k, const uint32_t *tops, uint32_t n)
{
	const char *why = lnf_where(k);
	struct fk_lnf *L = NULL;
	uint32_t t = 0;
	int ret = 1;

	if (!why) {
		L = fault_calloc(1, sizeof(*L));
		if (!L)
			return -ENOMEM;
		ret = lnf_open(k, L);
		if (!ret && !L->ready)
			ret = lnf_make(k, L, false);
		why = L->why;
	}
	for (; !ret && t < n; t++) {
		struct fk_ino *ii = &k->ino[tops[t]];

		ret = lnf_add(k, L, tops[t], fk_reconnect_nlink(ii), false);
		if (ret == 0)
			ii->top = true;
		else if (ret > 0)
			ii->nolnf = why = L->why;
		if (ret == 2)
			ret = 0;
	}
	for (; ret == 1 && t < n; t++)
		k->ino[tops[t]].nolnf = why;
	lnf_release(L);
	return ret < 0 ? ret : 0;
}

int fk_lnf_reconnect(struct fk *k, uint32_t ino, uint32_t nlink)
{
	struct fk_lnf *L = k->lnf;
	int ret;

	if (!L) {
		L = k->lnf = fault_calloc(1, sizeof(*L));
		if (!L)
			return -ENOMEM;
		ret = lnf_open(k, L);
		if (ret < 0)
			return ret;
		L->failed = ret;
	}
	if (!L->failed && !L->ready) {
		ret = lnf_make(k, L, true);
		if (ret < 0)
			return ret;
		L->failed = ret;
	}
	if (L->failed)
		return 1;
	ret = lnf_add(k, L, ino, nlink, true);
	if (ret == 1)
		L->failed = true;
	return ret < 0 ? ret : ret != 0;
}

void fk_lnf_free(struct fk *k)
{
	lnf_release(k->lnf);
	k->lnf = NULL;
}
