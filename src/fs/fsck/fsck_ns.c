/* SPDX-License-Identifier: MIT */
/*
 * fsck: directories, link counts, reachability, orphans, data tails.
 *
 * Every directory of a valid inode is read (the blocks it owns alone: a
 * block with two owners is reported by the extent check and not read
 * twice), every record validated (the validator directory reads use) and
 * every entry counted against the inode it names.  Entries that a repair
 * will remove (naming a free inode, out of range, wrong type, the root)
 * are not counted, so the link counts set by the repairs are those of the
 * repaired tree.  Reachability is a breadth-first walk from the root with
 * a visited mark: cycles of directories end it.
 *
 * When some directory content cannot be read (a bad block, a damaged
 * directory inode, an entry naming a damaged inode) the counts are
 * incomplete: link counts, reachability and orphans are then not judged at
 * all, since "fixing" them from partial counts would destroy data.
 *
 * What the root does not reach is reconnected under /lost+found where
 * that is possible (fsck_lnf.c): the tops of the unreachable subtrees are
 * planned first, their subtrees walked from them, and link counts are then
 * judged against the tree as the repair leaves it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <udax/crc32c.h>

#include "fs/fsck/fsck.h"

struct edge {
	uint32_t dir, child;
};

struct name {
	uint32_t hash, len, at;		/* at: offset in names */
	uint32_t seq;			/* order of appearance */
	uint64_t blk;
	uint32_t off;
};

struct ns {
	struct edge *e;
	size_t ne, ecap;
	struct name *n;			/* names of the current directory */
	size_t nn, ncap;
	char *names;
	size_t nlen, nlcap;
	uint8_t *buf;			/* one block */
};

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return true;
	while (c < need)
		c *= 2;
	p = fault_realloc(*v, c * size);
	if (!p)
		return false;
	*v = p;
	*cap = c;
	return true;
}

/* A printable copy of a name for messages (at most 60 bytes shown). */
static const char *show(const struct fs_ddirent *e, char *out)
{
	uint32_t n = e->name_len < 60 ? e->name_len : 60, k;

	for (k = 0; k < n; k++)
		out[k] = e->name[k] >= 0x20 && e->name[k] < 0x7f ? e->name[k] : '?';
	out[k] = 0;
	return out;
}

static int add_name(struct fk *k, struct ns *s, const struct fs_ddirent *e,
		    uint64_t blk, uint32_t off)
{
	struct name *n;

	(void)k;
	if (!grow((void **)&s->n, &s->ncap, s->nn + 1, sizeof(*s->n)) ||
	    !grow((void **)&s->names, &s->nlcap, s->nlen + e->name_len, 1))
		return -ENOMEM;
	n = &s->n[s->nn];
	n->hash = udax_crc32c(0, e->name, e->name_len);
	n->len = e->name_len;
	n->at = (uint32_t)s->nlen;
	n->seq = (uint32_t)s->nn++;
	n->blk = blk;
	n->off = off;
	/* A corrupt record may have no name: names may still be NULL. */
	if (e->name_len)
		memcpy(s->names + s->nlen, e->name, e->name_len);
	s->nlen += e->name_len;
	return 0;
}

static __thread const char *sort_names;	/* for name_cmp */

static int name_cmp(const void *a, const void *b)
{
	const struct name *x = a, *y = b;
	int c;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	c = memcmp(sort_names + x->at, sort_names + y->at, x->len);
	if (c)
		return c;
	return x->seq < y->seq ? -1 : 1;
}

static void check_duplicates(struct fk *k, struct ns *s, uint32_t d)
{
	sort_names = s->names;
	if (s->nn > 1)
		qsort(s->n, s->nn, sizeof(*s->n), name_cmp);
	for (size_t x = 1; x < s->nn; x++) {
		const struct name *a = &s->n[x - 1], *b = &s->n[x];

		if (a->hash == b->hash && a->len == b->len &&
		    !memcmp(s->names + a->at, s->names + b->at, a->len))
			fk_problem(k, UDAX_FSCK_DIR, b->blk, b->off, d, FK_FIX_NONE, 0,
				   "duplicate name (also at block %llu +%u)",
				   (unsigned long long)a->blk, a->off);
	}
	s->nn = 0;
	s->nlen = 0;
}

/* The records of block @pblk of directory @d (a private copy in s->buf). */
static int scan_block(struct fk *k, struct ns *s, uint32_t d, uint64_t pblk)
{
	struct fk_ino *di = &k->ino[d];
	const uint8_t *b = s->buf;
	char nm[64];
	const char *why;

	fk_read(k, pblk * FS_BS, s->buf, FS_BS);
	if (fs_dirblk_hdr_check(b, d, &why)) {
		fk_problem(k, UDAX_FSCK_DIR, pblk, 0, d, FK_FIX_NONE, 0,
			   "directory block: %s", why);
		k->ns_incomplete = true;
		return 0;
	}
	for (uint32_t off = sizeof(struct fs_ddirhdr); off < FS_BS;) {
		const struct fs_ddirent *e = (const void *)(b + off);
		int r = fs_dirent_check(b, off, k->sb.nr_inodes, &why);
		struct fk_ino *t;

		if (r < 0) {
			fk_problem(k, UDAX_FSCK_DIR, pblk, off, d, FK_FIX_NONE, 0,
				   "record does not tile the block: %s", why);
			k->ns_incomplete = true;
			return 0;
		}
		off += e->rec_len;
		if (!e->ino)
			continue;
		if (r > 0 && (e->ino >= k->sb.nr_inodes ||
			      !fs_mode_type_valid((uint32_t)e->type << 12))) {
			fk_problem(k, UDAX_FSCK_DIR, pblk, off - e->rec_len, d,
				   FK_FIX_DIRENT, 0, "entry \"%s\" -> %u: %s",
				   show(e, nm), e->ino, why);
			continue;
		}
		if (r > 0)	/* a bad name: reported, still counted */
			fk_problem(k, UDAX_FSCK_DIR, pblk, off - e->rec_len, d,
				   FK_FIX_NONE, 0, "entry \"%s\" -> %u: %s",
				   show(e, nm), e->ino, why);
		t = &k->ino[e->ino];
		if (t->state == FK_BAD) {
			k->ns_incomplete = true;	/* reported with the inode */
			continue;
		}
		why = t->state == FK_FREE ? "names a free inode" :
		      e->ino == UDAX_ROOT_INO ? "names the root directory" : NULL;
		if (why) {
			t->named_free |= t->state == FK_FREE;
			fk_problem(k, UDAX_FSCK_DIR, pblk, off - e->rec_len, d,
				   FK_FIX_DIRENT, 0, "entry \"%s\" -> %u: %s",
				   show(e, nm), e->ino, why);
			continue;
		}
		/* The inode's mode is under its own crc: the entry's type
		 * byte is the one to correct; the name still counts. */
		if (e->type != fs_mode_dtype(t->mode))
			fk_problem(k, UDAX_FSCK_DIR, pblk, off - e->rec_len, d,
				   FK_FIX_DTYPE, fs_mode_dtype(t->mode),
				   "entry \"%s\" -> %u: type %u, the inode is a %s",
				   show(e, nm), e->ino, e->type,
				   S_ISDIR(t->mode) ? "directory" :
				   S_ISLNK(t->mode) ? "symbolic link" : "file");
		if (add_name(k, s, e, pblk, off - e->rec_len) ||
		    !grow((void **)&s->e, &s->ecap, s->ne + 1, sizeof(*s->e)))
			return -ENOMEM;
		s->e[s->ne++] = (struct edge){ d, e->ino };
		if (d == UDAX_ROOT_INO && e->name_len == 10 &&
		    !memcmp(e->name, "lost+found", 10)) {
			if (!S_ISDIR(t->mode))
				k->lnf_file = true;
			else if (!k->lnf_ino)
				k->lnf_ino = e->ino;
		}
		t->refs++;
		di->entries++;
		if (S_ISDIR(t->mode)) {
			di->subdirs++;
			if (!t->named_by)
				t->named_by = d;
		}
	}
	return 0;
}

static int scan_dir(struct fk *k, struct ns *s, uint32_t d)
{
	struct fk_ino *di = &k->ino[d];
	uint64_t nblk = di->size / FS_BS, cur = 0;
	uint64_t at = fk_iblock(k, d);
	uint32_t atoff = fk_ioff(d);
	int ret = 0;

	if (di->ext_bad)
		k->ns_incomplete = true;	/* reported with the extents */
	for (uint32_t x = 0; x < di->next && !ret; x++) {
		const struct fs_extent *e = &di->ext[x];
		uint64_t end = e->lblk + e->len < nblk ? e->lblk + e->len : nblk;

		if (e->lblk >= nblk) {
			fk_problem(k, UDAX_FSCK_DIR, at, atoff, d, FK_FIX_NONE, 0,
				   "extent at block %llu past the directory size %llu",
				   (unsigned long long)e->lblk,
				   (unsigned long long)di->size);
			continue;
		}
		if (e->lblk > cur) {
			fk_problem(k, UDAX_FSCK_DIR, at, atoff, d, FK_FIX_NONE, 0,
				   "directory blocks %llu..%llu missing",
				   (unsigned long long)cur,
				   (unsigned long long)e->lblk - 1);
			k->ns_incomplete = true;
		}
		cur = end;
		if (e->flags & FS_EXT_UNWRITTEN) {
			fk_problem(k, UDAX_FSCK_DIR, at, atoff, d, FK_FIX_NONE, 0,
				   "directory blocks %llu..%llu unwritten",
				   (unsigned long long)e->lblk,
				   (unsigned long long)end - 1);
			k->ns_incomplete = true;
			continue;
		}
		for (uint64_t l = e->lblk; l < end && !ret; l++) {
			uint64_t pblk = e->pblk + (l - e->lblk);

			if (k->owner[pblk] != d || k->okind[pblk] != FK_OWN_EXTENT) {
				k->ns_incomplete = true;	/* owned twice */
				continue;
			}
			ret = scan_block(k, s, d, pblk);
		}
	}
	if (!ret && cur < nblk && !di->ext_bad) {
		fk_problem(k, UDAX_FSCK_DIR, at, atoff, d, FK_FIX_NONE, 0,
			   "directory blocks %llu..%llu missing",
			   (unsigned long long)cur, (unsigned long long)nblk - 1);
		k->ns_incomplete = true;
	}
	if (!ret)
		check_duplicates(k, s, d);
	return ret;
}

static int edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	return x->child < y->child ? -1 : x->child > y->child;
}

/* Mark what @from[0..n) reach, breadth first (each directory once); the
 * edges are sorted. */
static int reach(struct fk *k, struct ns *s, const uint32_t *from, uint32_t n)
{
	uint32_t *q = fault_malloc((size_t)k->sb.nr_inodes * sizeof(*q));
	size_t head = 0, tail = 0;

	if (!q)
		return -ENOMEM;
	for (uint32_t x = 0; x < n; x++) {
		k->ino[from[x]].reached = true;
		if (S_ISDIR(k->ino[from[x]].mode))
			q[tail++] = from[x];
	}
	while (head < tail) {
		uint32_t d = q[head++];
		size_t lo = 0, hi = s->ne;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (s->e[mid].dir < d)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < s->ne && s->e[lo].dir == d; lo++) {
			struct fk_ino *c = &k->ino[s->e[lo].child];

			if (c->reached)
				continue;
			c->reached = true;
			if (S_ISDIR(c->mode))
				q[tail++] = s->e[lo].child;
		}
	}
	free(q);
	return 0;
}

/*
 * The tops of the unreachable subtrees: in use, named by no entry at all
 * (orphans, named nowhere with nlink 0, are freed instead; a directory with
 * entries is not an orphan).  Those /lost+found takes are counted as
 * named by it, and what they reach becomes reached.
 */
static int plan_reconnect(struct fk *k, struct ns *s)
{
	uint32_t *tops = NULL, n = 0, lnf, dirs = 0, planned = 0;
	int ret;

	for (uint32_t i = UDAX_ROOT_INO + 1; i < k->sb.nr_inodes; i++) {
		const struct fk_ino *ii = &k->ino[i];

		if (ii->state != FK_OK || ii->reached || ii->refs ||
		    (!ii->nlink && !(S_ISDIR(ii->mode) && ii->entries)))
			continue;
		if (!tops && !(tops = fault_malloc((size_t)k->sb.nr_inodes * sizeof(*tops))))
			return -ENOMEM;
		tops[n++] = i;
	}
	if (!n)
		return 0;
	ret = fk_lnf_plan(k, tops, n);
	lnf = k->lnf_ino;
	for (uint32_t x = 0; x < n && !ret; x++) {
		struct fk_ino *ii = &k->ino[tops[x]];

		if (!ii->top)
			continue;
		ii->refs = 1;
		ii->named_by = lnf;
		tops[planned++] = tops[x];
		dirs += S_ISDIR(ii->mode) != 0;
	}
	if (!ret && planned) {
		/* Each reconnected directory adds a link to /lost+found; a new
		 * /lost+found one to the root. */
		if (k->lnf_new) {
			k->ino[UDAX_ROOT_INO].subdirs++;
			k->ino[UDAX_ROOT_INO].lnf_links++;
		} else {
			k->ino[lnf].subdirs += dirs;
			k->ino[lnf].lnf_links += dirs;
		}
		ret = reach(k, s, tops, planned);
	}
	free(tops);
	return ret;
}

static void check_links(struct fk *k)
{
	for (uint32_t i = 1; i < k->sb.nr_inodes; i++) {
		struct fk_ino *ii = &k->ino[i];
		uint64_t blk = fk_iblock(k, i), want;
		uint32_t off = fk_ioff(i);

		if (ii->state != FK_OK)
			continue;
		if (ii->top) {
			/* The reconnection sets nlink (and parent) itself. */
			fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_LNF,
				   fk_reconnect_nlink(ii),
				   "not reachable from the root (nlink %u, named nowhere): reconnect as /lost+found/#%u",
				   ii->nlink, i);
			continue;
		}
		if (i == UDAX_ROOT_INO) {
			if (ii->parent != UDAX_ROOT_INO)
				fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_PARENT,
					   UDAX_ROOT_INO, "root directory: parent %u, not itself",
					   ii->parent);
		} else if (!ii->nlink && !ii->refs) {
			if (ii->entries)
				fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_NONE, 0,
					   "orphan directory (link count 0) with %u entries; cannot reconnect: %s",
					   ii->entries, ii->nolnf ? ii->nolnf : "?");
			else
				fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_ORPHAN, 0,
					   "orphan (link count 0, named nowhere: unlinked while open)");
			continue;
		} else if (!ii->reached) {
			fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_NONE, 0,
				   "not reachable from the root (nlink %u, %u entr%s name%s it)%s%s",
				   ii->nlink, ii->refs, ii->refs == 1 ? "y" : "ies",
				   ii->refs == 1 ? "s" : "",
				   ii->nolnf ? "; cannot reconnect: " : "",
				   ii->nolnf ? ii->nolnf : "");
			continue;
		}
		if (!S_ISDIR(ii->mode)) {
			if (ii->nlink != ii->refs)
				fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_NLINK,
					   ii->refs, "nlink %u, %u entr%s name%s it",
					   ii->nlink, ii->refs, ii->refs == 1 ? "y" : "ies",
					   ii->refs == 1 ? "s" : "");
			continue;
		}
		if (ii->refs > 1)
			fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_NONE, 0,
				   "directory named by %u entries (hard links to a directory)",
				   ii->refs);
		else if (i != UDAX_ROOT_INO && ii->parent != ii->named_by)
			fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_PARENT,
				   ii->named_by, "directory: parent %u, but directory %u names it",
				   ii->parent, ii->named_by);
		/* Against the repaired tree: the reconnection adds lnf_links
		 * subdirectories and as many links; reported in today's terms. */
		want = 2ull + ii->subdirs;
		if ((uint64_t)ii->nlink + ii->lnf_links != want && want <= UINT32_MAX)
			fk_problem(k, UDAX_FSCK_LINK, blk, off, i, FK_FIX_NLINK, want,
				   "directory: nlink %u, want %llu (2 + %u subdirectories)",
				   ii->nlink, (unsigned long long)(want - ii->lnf_links),
				   ii->subdirs - ii->lnf_links);
	}
}

int fk_check_namespace(struct fk *k)
{
	struct ns s = { 0 };
	int ret = 0;

	s.buf = fault_malloc(FS_BS);
	if (!s.buf)
		return -ENOMEM;
	if (k->ino[UDAX_ROOT_INO].state != FK_OK)
		k->ns_incomplete = true;	/* reported with the inode */
	for (uint32_t d = 1; d < k->sb.nr_inodes && !ret && !k->err; d++)
		if (k->ino[d].state == FK_OK && S_ISDIR(k->ino[d].mode))
			ret = scan_dir(k, &s, d);
	if (!ret && !k->err && !k->ns_incomplete) {
		uint32_t root = UDAX_ROOT_INO;

		if (s.ne > 1)
			qsort(s.e, s.ne, sizeof(*s.e), edge_cmp);
		ret = reach(k, &s, &root, 1);
		if (!ret)
			ret = plan_reconnect(k, &s);
		if (!ret)
			check_links(k);
	}
	free(s.buf);
	free(s.e);
	free(s.n);
	free(s.names);
	return ret ? ret : k->err;
}

void fk_check_tails(struct fk *k)
{
	uint8_t *buf = fault_malloc(FS_BS);

	if (!buf) {
		k->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 1; i < k->sb.nr_inodes; i++) {
		struct fk_ino *ii = &k->ino[i];
		const struct fs_extent *e;
		uint64_t pblk;
		uint32_t from = (uint32_t)(ii->size % FS_BS), z;

		if (ii->state != FK_OK || !S_ISREG(ii->mode) || !from)
			continue;
		e = fk_extent_at(ii, ii->size / FS_BS);
		if (!e || (e->flags & FS_EXT_UNWRITTEN))
			continue;	/* a hole or unwritten: reads as zeroes */
		pblk = e->pblk + (ii->size / FS_BS - e->lblk);
		if (k->owner[pblk] != i)
			continue;	/* owned twice: reported, not judged */
		fk_read(k, pblk * FS_BS, buf, FS_BS);
		for (z = from; z < FS_BS && !buf[z]; z++)
			;
		if (z < FS_BS)
			fk_problem(k, UDAX_FSCK_DATA, pblk, z, i, FK_FIX_TAIL, 0,
				   "size %llu, but byte %u of the last block is not zero",
				   (unsigned long long)ii->size, z);
	}
	free(buf);
}
