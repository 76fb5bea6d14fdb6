/* SPDX-License-Identifier: MIT */
/*
 * fsck: a structural check of the file system straight from the media
 * (the partition is claimed like a mount, so nothing changes under it).
 *
 *	1. superblocks: both copies validated (the validator mount uses), the
 *	   copy in use is the valid one with the highest generation; a bad or
 *	   different other copy is rewritten from it (REPAIR);
 *	2. journal: a committed transaction is replayed (REPAIR, as mount
 *	   does) or laid over every read as if it had been (an overlay);
 *	3. inode table: every record (checksum, fields: the validator mount
 *	   uses), every extent and extent-chain block, and every block's
 *	   owner: a block owned twice is reported with both owners (this is
 *	   the whole of "extent maps vs allocator": the allocator is derived
 *	   from these maps at mount);
 *	4. directories, link counts, reachability, orphans (fsck_ns.c),
 *	   with the reconnection of unreachable inodes planned (fsck_lnf.c);
 *	5. the zero tail of each file's last partial block (fsck_ns.c);
 *	6. repairs (fsck_repair.c), then every problem goes to the callback.
 *
 * Every loop is bounded by the geometry of the validated superblock (inode
 * count, block count), never by a count read from a structure alone:
 * extent chains are walked at most ext_blocks steps and stop at a block
 * they already own (a cycle); directories are walked breadth-first with a
 * visited mark.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/fsck/fsck.h"

void fk_problem(struct fk *k, enum udax_fsck_area area, uint64_t block,
		uint32_t offset, uint32_t ino, enum fk_fix fix, uint64_t a,
		const char *fmt, ...)
{
	struct fk_prob *p;
	char line[320];
	va_list ap;

	if (k->err)
		return;
	if (k->np == k->pcap) {
		size_t cap = k->pcap ? 2 * k->pcap : 32;

		p = fault_realloc(k->pv, cap * sizeof(*p));
		if (!p) {
			k->err = -ENOMEM;
			return;
		}
		k->pv = p;
		k->pcap = cap;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	p = &k->pv[k->np];
	memset(p, 0, sizeof(*p));
	p->msg = fault_malloc(strlen(line) + 1);
	if (p->msg)
		strcpy(p->msg, line);
	if (!p->msg) {
		k->err = -ENOMEM;
		return;
	}
	p->p = (struct udax_fsck_problem){ .area = area, .block = block,
					   .offset = offset, .ino = ino };
	p->fix = fix;
	p->a = a;
	k->np++;
}

void fk_read(struct fk *k, uint64_t off, void *buf, size_t len)
{
	memcpy(buf, k->base + off, len);
	/* Records in order: a later one wins, as at replay.  The lanes'
	 * transactions write disjoint bytes (fs_journal_load_all). */
	for (uint32_t l = 0; l < FS_JNL_LANES_MAX; l++) {
		const struct fs_jtxn *jt = &k->jt[l];

		for (uint32_t r = 0; r < jt->nrec; r++) {
			const struct fs_txn_rec *rec = &jt->rec[r];
			uint64_t s = rec->off > off ? rec->off : off;
			uint64_t e = rec->off + rec->len < off + len ?
				     rec->off + rec->len : off + len;

			if (s < e)
				memcpy((uint8_t *)buf + (s - off),
				       jt->body + rec->data + (s - rec->off), e - s);
		}
	}
}

const struct fs_extent *fk_extent_at(const struct fk_ino *i, uint64_t lblk)
{
	uint32_t x = fs_emap_find(i->ext, i->ext_keep, lblk);

	if (x < i->ext_keep && i->ext[x].lblk <= lblk)
		return &i->ext[x];
	return NULL;
}

/* ---- superblocks ---------------------------------------------------------- */

/* 0: go on with sb; 1: no usable copy (reported); -ENODATA. */
static int check_super(struct fk *k)
{
	struct fs_dsuper s[2];
	const char *why[2] = { "", "" };
	int r[2], o;

	for (int c = 0; c < 2; c++) {
		memcpy(&s[c], k->base + c * FS_BS, sizeof(s[c]));
		r[c] = fs_sb_check(&s[c], k->nb, &why[c]);
	}
	if (r[0] == -ENODATA && r[1] == -ENODATA)
		return -ENODATA;
	if (r[0] && r[1]) {
		for (int c = 0; c < 2; c++)
			fk_problem(k, UDAX_FSCK_SUPER, c, 0, 0, FK_FIX_NONE, 0,
				   "superblock copy %c: %s (no valid copy left)",
				   'A' + c, why[c]);
		return 1;
	}
	k->best = r[0] ? 1 : r[1] ? 0 : s[1].generation > s[0].generation;
	k->sb = s[k->best];
	o = !k->best;
	if (r[o])
		fk_problem(k, UDAX_FSCK_SUPER, o, 0, 0, FK_FIX_SUPER, k->best,
			   "superblock copy %c: %s (copy %c in use)", 'A' + o,
			   r[o] == -ENODATA ? "no magic" : why[o], 'A' + k->best);
	else if (memcmp(&s[0], &s[1], sizeof(s[0])))
		fk_problem(k, UDAX_FSCK_SUPER, o, 0, 0, FK_FIX_SUPER, k->best,
			   "superblock copies differ (generation %llu and %llu; copy %c in use)",
			   (unsigned long long)s[0].generation,
			   (unsigned long long)s[1].generation, 'A' + k->best);
	return 0;
}

/* ---- journal -------------------------------------------------------------- */

static int check_journal(struct fk *k)
{
	int ret = fs_journal_load_all(&k->fs, k->jt);

	if (ret == -ENOMEM)
		return ret;
	if (ret < 0) {
		/* Mount refuses this too; the media are checked as they are. */
		fk_problem(k, UDAX_FSCK_JOURNAL, k->sb.journal_start, 0, 0,
			   FK_FIX_NONE, 0, "%s", udax_fs_last_error());
		return 0;
	}
	/* Torn headers: commits that never completed, not a problem. */
	for (uint32_t l = 0; l < k->core.nlanes; l++)
		if (k->jt[l].torn && (k->flags & UDAX_FSCK_REPAIR) &&
		    (ret = fs_journal_clear(&k->fs, l)))
			return ret;
	if (!ret)
		return 0;
	k->rep->journal_committed = true;
	if (!(k->flags & UDAX_FSCK_REPAIR))
		return 0;			/* the overlay */
	fs_jtxn_free_all(k->jt);
	return fs_journal_replay(&k->fs);
}

/* ---- inodes and extents -------------------------------------------------- */

static const char *kind_name(uint8_t kind)
{
	return kind == FK_OWN_CHAIN ? "extent block" :
	       kind == FK_OWN_XATTR ? "xattr block" : "extent";
}

/*
 * Claim [pblk, pblk + n) for inode @i (in bounds).  Blocks already owned
 * are reported, one problem per run of blocks with the same other owner.
 */
static void claim(struct fk *k, uint32_t i, uint8_t kind, uint64_t pblk,
		  uint64_t n, uint64_t at, uint32_t atoff)
{
	for (uint64_t b = pblk; b < pblk + n; ) {
		uint32_t other = k->owner[b];
		uint8_t okind = k->okind[b];
		uint64_t e = b + 1;

		if (!other) {
			k->owner[b] = i;
			k->okind[b] = kind;
			b++;
			continue;
		}
		while (e < pblk + n && k->owner[e] == other && k->okind[e] == okind)
			e++;
		if (e - b == 1)
			fk_problem(k, UDAX_FSCK_EXTENT, at, atoff, i, FK_FIX_NONE, 0,
				   "%s: block %llu also owned by inode %u (%s)",
				   kind_name(kind), (unsigned long long)b, other,
				   kind_name(okind));
		else
			fk_problem(k, UDAX_FSCK_EXTENT, at, atoff, i, FK_FIX_NONE, 0,
				   "%s: blocks %llu..%llu also owned by inode %u (%s)",
				   kind_name(kind), (unsigned long long)b,
				   (unsigned long long)(e - 1), other,
				   kind_name(okind));
		b = e;
	}
}

static int ext_append(struct fk_ino *ii, const struct fs_dext *d, uint32_t *cap)
{
	if (ii->next == *cap) {
		uint32_t c = *cap ? 2 * *cap : 4;
		struct fs_extent *v = fault_realloc(ii->ext, c * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ii->ext = v;
		*cap = c;
	}
	ii->ext[ii->next++] = (struct fs_extent){
		.lblk = d->lblk, .pblk = d->pblk, .len = d->len & FS_DEXT_MAXLEN,
		.flags = d->len & FS_DEXT_UNWRITTEN ? FS_EXT_UNWRITTEN : 0,
	};
	return 0;
}

/*
 * The extent list of @ii is damaged here: what a repair would keep is what
 * was valid before the first damage.  A regular file's list is cut there
 * by the repair (its lost range reads as a hole, as e2fsck clears a bad
 * extent node); a directory's is left as reported (its blocks are its
 * entries: fsck_ns.c does not read a directory with a damaged map).
 */
static enum fk_fix ext_damaged(struct fk_ino *ii)
{
	if (!ii->ext_bad)
		ii->ext_keep = ii->next;
	ii->ext_bad = true;
	return S_ISREG(ii->mode) ? FK_FIX_EXTENTS : FK_FIX_NONE;
}

/* One extent @x of inode @i, stored at (@at, @atoff). */
static void check_extent(struct fk *k, uint32_t i, uint32_t x,
			 const struct fs_dext *d, uint64_t *prev_end,
			 uint32_t *cap, uint64_t at, uint32_t atoff)
{
	struct fk_ino *ii = &k->ino[i];
	uint64_t len = d->len & FS_DEXT_MAXLEN;
	const char *why = NULL;

	if (!fs_dext_valid(d, *prev_end, k->sb.data_start, k->nb)) {
		if (!len)
			why = "empty";
		else if ((uint64_t)d->lblk + len > FS_MAX_LBLK)
			why = "past 2^32 file blocks";
		else if (d->pblk < k->sb.data_start || d->pblk >= k->nb ||
			 len > k->nb - d->pblk)
			why = "outside the data area";
		else
			why = "not sorted or overlapping the previous extent";
		fk_problem(k, UDAX_FSCK_EXTENT, at, atoff, i, ext_damaged(ii), 0,
			   "extent %u (lblk %u len %llu pblk %llu): %s", x,
			   d->lblk, (unsigned long long)len,
			   (unsigned long long)d->pblk, why);
		return;
	}
	*prev_end = (uint64_t)d->lblk + len;
	claim(k, i, FK_OWN_EXTENT, d->pblk, len, at, atoff);
	if (ext_append(ii, d, cap))
		k->err = -ENOMEM;
}

static void check_chain(struct fk *k, uint32_t i, const struct fs_dinode *di,
			uint64_t *prev_end, uint32_t *cap)
{
	struct fk_ino *ii = &k->ino[i];
	uint64_t next = di->ext_next, at = fk_iblock(k, i), total = 0;
	uint32_t atoff = fk_ioff(i) + offsetof(struct fs_dinode, ext_next);
	struct fs_dextblk *eb = fault_malloc(sizeof(*eb));
	const char *why;

	if (!eb) {
		k->err = -ENOMEM;
		return;
	}
	for (uint32_t b = 0; b < di->ext_blocks && !k->err; b++) {
		if (next < k->sb.data_start || next >= k->nb) {
			fk_problem(k, UDAX_FSCK_EXTENT, at, atoff, i, ext_damaged(ii), 0,
				   "extent block %u at %llu outside the data area",
				   b, (unsigned long long)next);
			goto out;
		}
		fk_read(k, next * FS_BS, eb, sizeof(*eb));
		if (fs_dextblk_check(eb, i, b + 1 == di->ext_blocks, &why)) {
			fk_problem(k, UDAX_FSCK_EXTENT, next, 0, i, ext_damaged(ii), 0,
				   "extent block %u: %s", b, why);
			goto out;
		}
		/* A block owned already ends the walk: a loop, or a block of
		 * someone else whose "next" cannot be trusted. */
		if (k->owner[next] == i && k->okind[next] == FK_OWN_CHAIN) {
			fk_problem(k, UDAX_FSCK_EXTENT, at, atoff, i, ext_damaged(ii), 0,
				   "extent chain loops back to block %llu",
				   (unsigned long long)next);
			goto out;
		}
		if (k->owner[next]) {
			size_t np = k->np;

			claim(k, i, FK_OWN_CHAIN, next, 1, at, atoff);
			if (k->np == np + 1)	/* the cut gives the block up */
				k->pv[np].fix = ext_damaged(ii);
			else
				ext_damaged(ii);
			goto out;
		}
		claim(k, i, FK_OWN_CHAIN, next, 1, at, atoff);
		k->rep->chain_blocks++;
		for (uint32_t x = 0; x < eb->count && total + x < di->nr_extents; x++)
			check_extent(k, i, (uint32_t)total + x, &eb->ext[x],
				     prev_end, cap, next,
				     (uint32_t)offsetof(struct fs_dextblk, ext[x]));
		total += eb->count;
		at = next;
		atoff = offsetof(struct fs_dextblk, next);
		next = eb->next;
	}
	if (total != di->nr_extents)
		fk_problem(k, UDAX_FSCK_EXTENT, fk_iblock(k, i), fk_ioff(i), i,
			   ext_damaged(ii), 0, "extent count %u, but the chain holds %llu",
			   di->nr_extents, (unsigned long long)total);
out:
	free(eb);
}

/* The inode's xattr block: in the data area, owned once, valid. */
static void check_xattr_block(struct fk *k, uint32_t i, uint64_t pblk,
			      uint64_t at, uint32_t atoff)
{
	const char *why;
	uint8_t *b;

	if (pblk < k->sb.data_start || pblk >= k->nb) {
		fk_problem(k, UDAX_FSCK_INODE, at, atoff, i, FK_FIX_NONE, 0,
			   "xattr block %llu outside the data area",
			   (unsigned long long)pblk);
		return;
	}
	claim(k, i, FK_OWN_XATTR, pblk, 1, at, atoff);
	b = fault_malloc(FS_BS);
	if (!b) {
		k->err = -ENOMEM;
		return;
	}
	fk_read(k, pblk * FS_BS, b, FS_BS);
	if (fs_xattr_block_check(b, i, &why))
		fk_problem(k, UDAX_FSCK_INODE, pblk, 0, i, FK_FIX_NONE, 0,
			   "xattr block %llu: %s", (unsigned long long)pblk, why);
	free(b);
}

/* A long symbolic link's target: its block holds no NUL in [0, size). */
static void check_symlink_block(struct fk *k, uint32_t i, struct fk_ino *ii,
				uint64_t blk, uint32_t off)
{
	uint64_t pblk = ii->ext[0].pblk;
	char *b;

	if (pblk >= k->sb.nr_blocks || k->owner[pblk] != i)
		return;	/* out of bounds or owned twice: reported already */
	b = fault_malloc(FS_BS);
	if (!b) {
		k->err = -ENOMEM;
		return;
	}
	fk_read(k, pblk * FS_BS, b, FS_BS);
	if (memchr(b, 0, ii->size))
		fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0,
			   "NUL in the symbolic link's target (block %llu)",
			   (unsigned long long)pblk);
	free(b);
}

static void check_inode(struct fk *k, uint32_t i)
{
	static const struct fs_dinode zero;
	const struct fs_dinode *di = (const void *)(k->itab + (size_t)i * 256);
	struct fk_ino *ii = &k->ino[i];
	uint64_t blk = fk_iblock(k, i), prev_end = 0;
	uint32_t off = fk_ioff(i), cap = 0, ninl;
	const char *why;

	if (!di->mode) {
		if (memcmp(di, &zero, sizeof(*di))) {
			ii->state = FK_BAD;
			k->rep->inodes++;
			fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0,
				   i ? "free (mode 0) but not zero" :
				   "inode 0 (never used) is not zero");
		} else if (i == UDAX_ROOT_INO) {
			fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0,
				   "the root inode is free");
		}
		return;
	}
	k->rep->inodes++;
	ii->state = FK_BAD;
	if (i == 0) {
		fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0,
			   "inode 0 (never used) is not zero");
		return;
	}
	if (di->crc != fs_dinode_crc(i, di)) {
		fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0,
			   "checksum mismatch");
		return;
	}
	if (fs_dinode_check(di, k->sb.nr_inodes, &why)) {
		fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0, "%s", why);
		return;
	}
	if (i == UDAX_ROOT_INO && !S_ISDIR(di->mode)) {
		fk_problem(k, UDAX_FSCK_INODE, blk, off, i, FK_FIX_NONE, 0,
			   "the root inode is not a directory");
		return;
	}
	ii->state = FK_OK;
	ii->mode = di->mode;
	ii->nlink = di->nlink;
	ii->parent = di->parent;
	ii->size = di->size;
	if (S_ISDIR(di->mode))
		k->rep->dirs++;
	else
		k->rep->files++;
	ninl = di->nr_extents <= FS_INLINE_EXT ? di->nr_extents : 0;
	for (uint32_t x = 0; x < ninl && !k->err; x++)
		check_extent(k, i, x, &di->ext[x], &prev_end, &cap, blk,
			     off + (uint32_t)offsetof(struct fs_dinode, ext[x]));
	if (di->ext_blocks)
		check_chain(k, i, di, &prev_end, &cap);
	if (!ii->ext_bad) {
		uint64_t mapped = 0;

		ii->ext_keep = ii->next;
		for (uint32_t x = 0; x < ii->next; x++)
			mapped += ii->ext[x].len;
		if (fs_blocks_field(mapped) != di->blocks)
			fk_problem(k, UDAX_FSCK_INODE, blk,
				   off + (uint32_t)offsetof(struct fs_dinode, blocks), i,
				   FK_FIX_BLOCKS, 0, "block count %u, but the map holds %llu",
				   di->blocks, (unsigned long long)mapped);
	}
	if (S_ISLNK(di->mode) && di->size > FS_SYMLINK_INLINE && ii->next &&
	    !k->err)
		check_symlink_block(k, i, ii, blk, off);
	if (di->xattr && !k->err)
		check_xattr_block(k, i, di->xattr, blk,
				  off + (uint32_t)offsetof(struct fs_dinode, xattr));
	if (S_ISDIR(di->mode))
		for (uint32_t x = 0; x < ii->next; x++)
			k->rep->dir_blocks += ii->ext[x].len;
}

/* ---- the fast log ------------------------------------------------------------ */

/*
 * Every record of the log areas that is valid (magic, crc: a torn or
 * overwritten one is not a record) must be in range.  The newest record
 * of an inode newer than its record (log_seq, same generation) is an
 * append the next mount replays: it must lengthen the inode's last
 * written extent into blocks no one owns, or the mount refuses.  The
 * check reads the inode table as checked above (the journal's overlay
 * included); the blocks a pending record adds count as its inode's, as
 * after the replay.
 */
static void check_log(struct fk *k)
{
	uint32_t nrec = k->sb.log_area_blocks * FS_LOG_PER_BLOCK;
	uint64_t *newest = fault_calloc(k->sb.nr_inodes, sizeof(*newest));
	uint8_t *newest_seen = fault_calloc(k->sb.nr_inodes, 1);
	struct fs_dlrec r;
	const char *why;

	if (!newest || !newest_seen) {
		free(newest);
		free(newest_seen);
		k->err = -ENOMEM;
		return;
	}
	for (uint32_t i = 0; i < k->sb.nr_inodes; i++) {
		const struct fs_dinode *di = (const void *)(k->itab + (size_t)i * 256);

		if (di->log_seq > k->log_max)
			k->log_max = di->log_seq;
	}
	/* Pass 0: validity, the newest number of each inode; pass 1: the
	 * newest ones, as the mount replays them. */
	for (int pass = 0; pass < 2; pass++)
	for (uint32_t a = 0; a < k->sb.log_areas; a++)
	for (uint32_t s = 0; s < nrec; s++) {
		uint64_t off = (k->sb.log_start + (uint64_t)a * k->sb.log_area_blocks) *
			       FS_BS + (uint64_t)s * sizeof(r);
		uint64_t blk = off / FS_BS;
		uint32_t boff = (uint32_t)(off % FS_BS);
		const struct fs_dinode *di;
		const struct fk_ino *ii;
		const struct fs_extent *e;

		fk_read(k, off, &r, sizeof(r));
		if (!fs_dlrec_valid(&r))
			continue;
		if (fs_dlrec_check(&r, &k->sb, &why)) {
			if (!pass)
				fk_problem(k, UDAX_FSCK_JOURNAL, blk, boff, 0,
					   FK_FIX_NONE, 0, "log record: %s", why);
			continue;
		}
		if (!pass) {
			if (r.seq > newest[r.ino])
				newest[r.ino] = r.seq;
			if (r.seq > k->log_max)
				k->log_max = r.seq;
			continue;
		}
		di = (const void *)(k->itab + (size_t)r.ino * 256);
		ii = &k->ino[r.ino];
		if (r.seq != newest[r.ino])
			continue;	/* an older one */
		if (newest_seen[r.ino]++) {
			fk_problem(k, UDAX_FSCK_JOURNAL, blk, boff, r.ino,
				   FK_FIX_NONE, 0, "log: two newest records "
				   "numbered %llu", (unsigned long long)r.seq);
			continue;
		}
		if (ii->state != FK_OK || di->generation != r.gen ||
		    r.seq <= di->log_seq)
			continue;	/* stale for this inode */
		e = ii->next ? &ii->ext[ii->next - 1] : NULL;
		if (!S_ISREG(ii->mode))
			why = "the inode is not a regular file";
		else if (ii->ext_bad || !e || e->lblk != r.lblk ||
			 e->pblk != r.pblk || e->len > r.len ||
			 (e->flags & FS_EXT_UNWRITTEN))
			why = "it does not lengthen the inode's last written extent";
		else
			why = NULL;
		for (uint64_t b = r.pblk + (e ? e->len : 0);
		     !why && b < r.pblk + r.len; b++)
			if (k->owner[b])
				why = "the blocks it adds are owned";
		if (why) {
			fk_problem(k, UDAX_FSCK_JOURNAL, blk, boff, r.ino,
				   FK_FIX_NONE, 0, "log record %llu cannot be "
				   "replayed: %s", (unsigned long long)r.seq, why);
			continue;
		}
		/* Owned once replayed: a second record claiming them is
		 * refused by the mount, so reported here. */
		for (uint64_t b = r.pblk + e->len; b < r.pblk + r.len; b++) {
			k->owner[b] = r.ino;
			k->okind[b] = FK_OWN_EXTENT;
		}
	}
	free(newest);
	free(newest_seen);
}

/* ---- the whole check ------------------------------------------------------ */

static void fk_free(struct fk *k)
{
	if (k->ino)
		for (uint32_t i = 0; i < k->sb.nr_inodes; i++)
			free(k->ino[i].ext);
	for (size_t p = 0; p < k->np; p++)
		free(k->pv[p].msg);
	free(k->pv);
	free(k->ino);
	free(k->owner);
	free(k->okind);
	free(k->itab);
	fs_jtxn_free_all(k->jt);
	fk_lnf_free(k);
	fs_journal_destroy(&k->core);
}

static int check_all(struct fk *k)
{
	size_t itlen;
	int ret = check_super(k);

	if (ret)
		return ret < 0 ? ret : 0;
	/* The journal's own code works on a core: give it one. */
	k->core.sb = k->sb;
	fs_journal_geom(&k->core);
	ret = check_journal(k);
	if (ret < 0)
		return ret;
	itlen = (size_t)k->sb.nr_inodes * 256;
	k->itab = fault_malloc(itlen);
	k->ino = fault_calloc(k->sb.nr_inodes, sizeof(*k->ino));
	k->owner = fault_calloc(k->nb, sizeof(*k->owner));
	k->okind = fault_calloc(k->nb, 1);
	if (!k->itab || !k->ino || !k->owner || !k->okind)
		return -ENOMEM;
	fk_read(k, k->sb.itable_start * FS_BS, k->itab, itlen);
	for (uint32_t i = 0; i < k->sb.nr_inodes && !k->err; i++)
		check_inode(k, i);
	if (!k->err)
		check_log(k);
	if (k->err)
		return k->err;
	for (uint64_t b = k->sb.data_start; b < k->nb; b++)
		k->rep->blocks_used += k->owner[b] != 0;
	ret = fk_check_namespace(k);
	if (ret)
		return ret;
	fk_check_tails(k);
	if (k->err)
		return k->err;
	if (k->flags & UDAX_FSCK_REPAIR)
		return fk_repair(k);
	return 0;
}

int udax_fsck(struct udax_dev *dev, unsigned part, unsigned flags,
	      udax_fsck_cb cb, void *arg, struct udax_fsck_report *rep)
{
	struct udax_part_info pi;
	struct fk *k;
	int ret;

	if (!dev || !rep || (flags & ~UDAX_FSCK_REPAIR))
		return fs_error(-EINVAL, "fsck: bad argument");
	memset(rep, 0, sizeof(*rep));
	ret = fs_part_lookup(dev, part, "fsck", &pi);
	if (ret)
		return ret;
	if (pi.size / FS_BS < 2)
		return fs_error(-ENODATA, "fsck: partition %u too small", part);
	ret = fs_claim(dev, part, "being checked by udax_fsck", "udax_fsck");
	if (ret)
		return ret;
	/* Aligned as its struct fs_core must be (its stripes are lines). */
	k = fault_aligned_alloc(_Alignof(struct fk), sizeof(*k));
	if (k)
		memset(k, 0, sizeof(*k));
	if (!k) {
		fs_unclaim(dev, part);
		return fs_error(-ENOMEM, "fsck: out of memory");
	}
	k->dev = dev;
	k->flags = flags;
	k->base = pi.addr;
	k->nb = pi.size / FS_BS;
	k->rep = rep;
	k->fs.dev = dev;
	k->fs.part = part;
	k->fs.base = pi.addr;
	k->fs.nr_blocks = k->nb;
	k->fs.dev_offset = pi.offset;
	k->fs.pfn_first = pi.pfn_first;
	k->fs.core = &k->core;
	fs_journal_init(&k->core);

	ret = check_all(k);
	if (!ret && k->err)
		ret = k->err;
	/* Repairs leave the journal empty, as an unmount does. */
	if (fs_journal_settle(&k->fs) && !ret)
		ret = -EIO;
	if (ret == -ENODATA)
		fs_error(ret, "fsck: no file system on partition %u", part);
	else if (ret == -ENOMEM)
		fs_error(ret, "fsck: out of memory");
	if (!ret) {
		for (size_t p = 0; p < k->np; p++) {
			k->pv[p].p.msg = k->pv[p].msg;
			rep->problems++;
			rep->repaired += k->pv[p].p.repaired;
			if (cb)
				cb(&k->pv[p].p, arg);
		}
	}
	fk_free(k);
	free(k);
	fs_unclaim(dev, part);
	return ret;
}
