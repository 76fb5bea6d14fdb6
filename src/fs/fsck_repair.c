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
 *	data tail	bytes past the end of file in its last block zeroed.
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

#include "fs/fsck.h"

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
		FK_FIX_SUPER, FK_FIX_LNF, FK_FIX_DIRENT, FK_FIX_DTYPE, FK_FIX_ORPHAN, FK_FIX_PARENT,
		FK_FIX_NLINK, FK_FIX_TAIL,
	};

	k->core.seq = 0;
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
