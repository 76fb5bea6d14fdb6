/* SPDX-License-Identifier: MIT */
/*
 * fsck repairs (UDAX_FSCK_REPAIR), run after the whole check:
 *
 *	superblock copy	rewritten from the copy in use (persisted);
 *	directory entry	naming a free or out-of-range inode or the root:
 *			removed (merged into the previous record, as unlink
 *			does); with a type that disagrees with the inode's
 *			mode: its type byte set from the mode;
 *	orphan		(nlink 0, named nowhere): its record zeroed, which
 *			frees its blocks too (the allocator is derived from
 *			the records), as a read-write mount does;
 *	unreachable	the top of each unreachable subtree named in
 *			/lost+found, made if needed (fsck_lnf.c);
 *	nlink, parent	set to what the directories say;
 *	data tail	bytes past the end of file in its last block zeroed;
 *	extent list	of a regular file, damaged (a bad extent or leaf, a
 *			leaf pointer out of range, looping or into another
 *			owner's block, a count that disagrees): cut at the
 *			first damage (fix_extents).
 *
 * Metadata repairs go through the file system's own journal, one
 * transaction each, in this order: reconnections (each a whole step: entry
 * and records together), entries, then records.  A crash between two
 * leaves an image that mounts (link counts and parents are not needed by
 * mount) and that fsck repairs the rest of.  Reconnections come first so
 * that they find the media as the check read them (their plan was made
 * there).  A data tail is zeroed in place (persisted): a partial zeroing
 * is still a state that fsck finds and finishes.  Damaged records, blocks
 * owned twice, bad names, unreachable inodes that cannot be reconnected
 * and every other problem are left as reported: there is no rule that is
 * clearly safe for them.
 *
 * The repairs read the media (the journal was replayed before the check),
 * and re-validate what they rewrite.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs/fsck/fsck.h"

static int commit_one(struct fk *k, uint64_t off, const void *src, size_t len)
{
	struct fs_txn t;
	int ret;

	fs_txn_init(&t, &k->fs);
	fs_txn_add(&t, off, src, len);
	ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	return ret;
}

/* Remove the record at @off of block @pblk of directory @d, or with
 * @type != 0, set its type to @type. */
static int fix_dirent(struct fk *k, uint32_t d, uint64_t pblk, uint32_t off,
		      uint8_t type)
{
	uint8_t *b = fault_malloc(FS_BS);
	struct fs_ddirhdr *h = (void *)b;
	struct fs_ddirent *e;
	uint32_t prev = 0, at = sizeof(*h);
	const char *why;
	int ret = 1;

	if (!b)
		return -ENOMEM;
	memcpy(b, k->base + pblk * FS_BS, FS_BS);
	if (fs_dirblk_hdr_check(b, d, &why))
		goto out;
	while (at < off) {
		if (fs_dirent_check(b, at, k->sb.nr_inodes, &why) < 0)
			goto out;
		prev = at;
		at += ((struct fs_ddirent *)(b + at))->rec_len;
	}
	if (at != off || fs_dirent_check(b, at, k->sb.nr_inodes, &why) < 0)
		goto out;
	e = (void *)(b + off);
	if (type)
		e->type = type;
	else if (prev) {
		((struct fs_ddirent *)(b + prev))->rec_len += e->rec_len;
		memset(e, 0, 8u + e->name_len);
	} else {
		memset(e->name, 0, e->name_len);
		e->ino = 0;
		e->name_len = 0;
		e->type = 0;
	}
	h->crc = fs_dirblk_crc(d, b);
	ret = commit_one(k, pblk * FS_BS, b, FS_BS);
out:
	free(b);
	return ret;
}

/* Rewrite inode @i's record with nlink @nlink / parent @parent (UINT64_MAX:
 * keep), or zeroed (@zero). */
static int fix_inode(struct fk *k, uint32_t i, bool zero, uint64_t nlink,
		     uint64_t parent)
{
	struct fs_dinode di;
	const char *why;

	memcpy(&di, k->base + fk_iblock(k, i) * FS_BS + fk_ioff(i), sizeof(di));
	if (!di.mode || di.crc != fs_dinode_crc(i, &di) ||
	    fs_dinode_check(&di, k->sb.nr_inodes, &why))
		return 1;	/* changed under us: leave it */
	if (zero) {
		memset(&di, 0, sizeof(di));
	} else {
		if (nlink != UINT64_MAX)
			di.nlink = (uint32_t)nlink;
		if (parent != UINT64_MAX)
			di.parent = (uint32_t)parent;
		if (fs_dinode_check(&di, k->sb.nr_inodes, &why))
			return 1;	/* e.g. a directory with nlink 1 */
		di.crc = fs_dinode_crc(i, &di);
	}
	return commit_one(k, fk_iblock(k, i) * FS_BS + fk_ioff(i), &di, sizeof(di));
}

/*
 * Cut regular file @i's extent list at its first damage, where the check
 * found it (fsck.c, ext_damaged): the extents before it stay, in the
 * record when they fit there, else in the leaves holding them with the
 * last one ending the list; the rest are no longer the file's (their
 * blocks are free at the next mount: the allocator is built from the
 * records).  The file keeps its size: the range lost reads as a hole, as
 * e2fsck leaves a file whose bad extent node it cleared.  One transaction
 * (the record and the last kept leaf's header).  0: cut, or nothing left
 * to cut (an earlier problem's repair did it); 1: the record changed.
 */
static int fix_extents(struct fk *k, uint32_t i)
{
	uint64_t ioff = fk_iblock(k, i) * FS_BS + fk_ioff(i);
	uint64_t prev_end = 0, next, last = 0, *seen = NULL, mapped = 0;
	uint32_t keep = 0, nseen = 0, nleaves = 0, lastn = 0;
	struct fs_dext inl[FS_INLINE_EXT];
	struct fs_dextblk *eb = NULL;
	struct fs_dinode di;
	struct fs_txn t;
	const char *why;
	bool cut = false;
	int ret;

	memcpy(&di, k->base + ioff, sizeof(di));
	if (!di.mode || di.crc != fs_dinode_crc(i, &di) ||
	    fs_dinode_check(&di, k->sb.nr_inodes, &why) || !S_ISREG(di.mode))
		return 1;
	if (di.nr_extents <= FS_INLINE_EXT) {
		for (; keep < di.nr_extents; keep++) {
			const struct fs_dext *d = &di.ext[keep];

			if (!fs_dext_valid(d, prev_end, k->sb.data_start, k->nb))
				break;
			prev_end = (uint64_t)d->lblk + (d->len & FS_DEXT_MAXLEN);
			mapped += d->len & FS_DEXT_MAXLEN;
		}
		if (keep == di.nr_extents)
			return 0;
		memcpy(inl, di.ext, keep * sizeof(inl[0]));
		goto inline_map;
	}
	eb = fault_malloc(sizeof(*eb));
	seen = fault_calloc(di.ext_blocks, sizeof(*seen));
	ret = -ENOMEM;
	if (!eb || !seen)
		goto out;
	next = di.ext_next;
	for (uint32_t b = 0; b < di.ext_blocks && !cut; b++) {
		uint32_t x;

		/* The check claimed each leaf it accepted for @i; one it did
		 * not (out of range, another's, past the damage) or one seen
		 * twice (a loop) ends the list. */
		cut = next < k->sb.data_start || next >= k->nb ||
		      k->owner[next] != i || k->okind[next] != FK_OWN_CHAIN;
		for (uint32_t v = 0; v < nseen && !cut; v++)
			cut = seen[v] == next;
		if (cut)
			break;
		seen[nseen++] = next;
		memcpy(eb, k->base + next * FS_BS, sizeof(*eb));
		if (fs_dextblk_check(eb, i, b + 1 == di.ext_blocks, &why)) {
			cut = true;
			break;
		}
		for (x = 0; x < eb->count && keep + x < di.nr_extents; x++) {
			const struct fs_dext *d = &eb->ext[x];

			if (!fs_dext_valid(d, prev_end, k->sb.data_start, k->nb))
				break;
			prev_end = (uint64_t)d->lblk + (d->len & FS_DEXT_MAXLEN);
			mapped += d->len & FS_DEXT_MAXLEN;
			if (keep + x < FS_INLINE_EXT)
				inl[keep + x] = *d;
		}
		if (x) {
			last = next;
			lastn = x;
			nleaves++;
		}
		keep += x;
		cut = x < eb->count;
		next = eb->next;
	}
	if (!cut && keep == di.nr_extents) {
		ret = 0;
		goto out;
	}
	if (keep <= FS_INLINE_EXT)
		goto inline_map;
	/* The last kept leaf ends the list, holding what is kept of it. */
	memcpy(eb, k->base + last * FS_BS, sizeof(*eb));
	eb->count = (uint16_t)lastn;
	eb->next = 0;
	eb->crc = fs_dextblk_crc(i, eb);
	di.nr_extents = keep;
	di.ext_blocks = nleaves;
	di.blocks = fs_blocks_field(mapped);
	di.crc = fs_dinode_crc(i, &di);
	ret = 1;
	if (fs_dinode_check(&di, k->sb.nr_inodes, &why) ||
	    fs_dextblk_check(eb, i, true, &why))
		goto out;	/* cannot happen: leave it */
	fs_txn_init(&t, &k->fs);
	fs_txn_add(&t, last * FS_BS, eb, offsetof(struct fs_dextblk, ext));
	fs_txn_add(&t, ioff, &di, sizeof(di));
	ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	goto out;
inline_map:
	memset(di.ext, 0, sizeof(di.ext));
	memcpy(di.ext, inl, keep * sizeof(inl[0]));
	di.nr_extents = keep;
	di.ext_blocks = 0;
	di.ext_next = 0;
	di.blocks = fs_blocks_field(mapped);
	di.crc = fs_dinode_crc(i, &di);
	ret = fs_dinode_check(&di, k->sb.nr_inodes, &why) ? 1 :
	      commit_one(k, ioff, &di, sizeof(di));
out:
	free(eb);
	free(seen);
	return ret;
}

/* Set inode @i's block count to what its map holds (counted now: an
 * earlier repair may have grown or cut the map). */
static int fix_blocks(struct fk *k, uint32_t i)
{
	uint64_t ioff = fk_iblock(k, i) * FS_BS + fk_ioff(i), mapped;
	struct fs_dinode di;
	const char *why;

	memcpy(&di, k->base + ioff, sizeof(di));
	if (!di.mode || di.crc != fs_dinode_crc(i, &di) ||
	    fs_dinode_check(&di, k->sb.nr_inodes, &why) ||
	    fs_xmap_blocks(&k->fs, i, &di, &mapped))
		return 1;	/* changed under us, or a map not to trust */
	di.blocks = fs_blocks_field(mapped);
	di.crc = fs_dinode_crc(i, &di);
	return commit_one(k, ioff, &di, sizeof(di));
}

static int fix_one(struct fk *k, struct fk_prob *p)
{
	uint32_t i = p->p.ino;

	switch (p->fix) {
	case FK_FIX_SUPER:
		return udax_dev_memcpy_persist(k->dev, k->base + p->p.block * FS_BS,
					       &k->sb, sizeof(k->sb), 0);
	case FK_FIX_LNF:
		return fk_lnf_reconnect(k, i, (uint32_t)p->a);
	case FK_FIX_DIRENT:
		return fix_dirent(k, i, p->p.block, p->p.offset, 0);
	case FK_FIX_DTYPE:
		return fix_dirent(k, i, p->p.block, p->p.offset, (uint8_t)p->a);
	case FK_FIX_ORPHAN:
		return fix_inode(k, i, true, UINT64_MAX, UINT64_MAX);
	case FK_FIX_NLINK:
		return fix_inode(k, i, false, p->a, UINT64_MAX);
	case FK_FIX_PARENT:
		return fix_inode(k, i, false, UINT64_MAX, p->a);
	case FK_FIX_EXTENTS:
		return fix_extents(k, i);
	case FK_FIX_BLOCKS:
		return fix_blocks(k, i);
	case FK_FIX_TAIL:
		return udax_dev_memset_persist(k->dev, k->base + p->p.block * FS_BS +
					       p->p.offset, 0, FS_BS - p->p.offset, 0);
	case FK_FIX_NONE:
		break;
	}
	return 1;
}

int fk_repair(struct fk *k)
{
	/* Superblocks, reconnections, entries, records, data: see the top. */
	static const enum fk_fix order[] = {
		FK_FIX_SUPER, FK_FIX_LNF, FK_FIX_DIRENT, FK_FIX_DTYPE, FK_FIX_EXTENTS,
		FK_FIX_BLOCKS, FK_FIX_ORPHAN, FK_FIX_PARENT, FK_FIX_NLINK, FK_FIX_TAIL,
	};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t x = 0; x < k->np; x++) {
			struct fk_prob *p = &k->pv[x];
			int ret;

			if (p->fix != order[o])
				continue;
			ret = fix_one(k, p);
			if (ret < 0)
				return fs_error(ret, "fsck: repair failed: %s",
						udax_fs_last_error());
			p->p.repaired = ret == 0;
		}
	return 0;
}
