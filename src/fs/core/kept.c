/* SPDX-License-Identifier: MIT */
/*
 * fs core: blocks an operation keeps but rewrites -- the block holding the
 * new end of file on truncate down and the partial blocks of punch hole
 * and zero range (part of each is zeroed), and the whole blocks zero range
 * marks unwritten.
 *
 * A layout break in DEFER mode returns without waiting for the DMA that
 * pins such a block (and no mode waits for a pfn-level pin the gate cannot
 * see, udax_pin_pages).  Rewriting the block in place would race that DMA:
 * bytes landing after the zeroes would sit past the end of file (which a
 * later extension exposes) or inside a punched range, and a block marked
 * unwritten would be overwritten after a later write converted it back.
 *
 * So a kept block whose page is referenced is replaced (copy-on-write): a
 * fresh block gets the bytes that stay and zeroes elsewhere, made durable
 * before the operation's transaction maps it in place of the old one; the
 * old block goes to the deferred free after the commit (fs_break_free:
 * freed at its last unpin, never reused while pinned), and the DMA still
 * in flight lands there, where the file no longer looks.  An unreferenced
 * block is zeroed in place through the journal as before, so nothing is
 * copied when nothing is pinned.  No free block for the copy: -ENOSPC, and
 * the operation changes nothing (like every other allocation failure).
 *
 * Nothing reaches the old block through the file afterwards: the break's
 * range covers every block the operation rewrites, so views of it were
 * made inaccessible before this runs, and pins and views asked for during
 * the operation wait for the gate and then find the fresh block.  The
 * caller holds ino->lock for write; allocation takes only alloc_lock.
 */
#include <errno.h>
#include <stdlib.h>

#include "fs/core.h"

static const uint8_t zeroes[FS_BS];

void fs_kept_init(struct fs_kept *k, struct udax_fs *fs, struct fs_inode *ino,
		  struct fs_txn *t, struct fs_emap *m)
{
	memset(k, 0, sizeof(*k));
	k->fs = fs;
	k->ino = ino;
	k->t = t;
	k->m = m;
}

/* Allocate a block to replace @old (near it), and note the pair. */
static int kept_alloc(struct fs_kept *k, uint64_t old, uint64_t *fresh)
{
	uint64_t got;
	int ret;

	if (k->n == k->cap) {
		uint32_t cap = k->cap ? 2 * k->cap : 4;
		uint64_t *o = fault_realloc(k->old, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		k->old = o;
		o = fault_realloc(k->fresh, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		k->fresh = o;
		k->cap = cap;
	}
	ret = fs_block_alloc(k->fs, old, 1, fresh, &got);
	if (ret)
		return fs_error(ret, "inode %u: no free block to copy pinned block %llu "
				"into (DMA may still reach it)", k->ino->ino,
				(unsigned long long)old);
	k->old[k->n] = old;
	k->fresh[k->n++] = *fresh;
	return 0;
}

/* Map file block @lb to @pblk (flags @fl) in the operation's map. */
static int kept_remap(struct fs_kept *k, uint64_t lb, uint64_t pblk, uint32_t fl)
{
	struct fs_extent e = { .lblk = lb, .pblk = pblk, .len = 1, .flags = fl };
	int ret = fs_emap_remove(k->m, lb, 1, NULL, NULL);

	return ret ? ret : fs_emap_insert(k->m, &e);
}

int fs_kept_zero(struct fs_kept *k, uint64_t pos, uint64_t len)
{
	const struct fs_emap *m = k->m;
	struct udax_dev *dev = k->fs->dev;
	uint64_t lb = pos / FS_BS, in = pos % FS_BS, old, fresh;
	uint32_t i = fs_emap_find(m->v, m->n, lb);
	char *dst, *src;
	int ret;

	if (!len || i == m->n || m->v[i].lblk > lb ||
	    (m->v[i].flags & FS_EXT_UNWRITTEN))
		return 0;		/* a hole or unwritten: reads as zeroes */
	old = m->v[i].pblk + (lb - m->v[i].lblk);
	if (!fs_block_referenced(k->fs, old)) {
		/* A data block: settled at commit (journal.c). */
		k->t->settle = true;
		fs_txn_add(k->t, old * FS_BS + in, zeroes, len);
		return 0;
	}
	ret = kept_alloc(k, old, &fresh);
	if (ret)
		return ret;
	dst = fs_block_addr(k->fs, fresh);
	src = fs_block_addr(k->fs, old);
	ret = udax_dev_memcpy_persist(dev, dst, src, in, UDAX_PERSIST_NODRAIN);
	if (!ret)
		ret = udax_dev_memset_persist(dev, dst + in, 0, len,
					      UDAX_PERSIST_NODRAIN);
	if (!ret)
		ret = udax_dev_memcpy_persist(dev, dst + in + len, src + in + len,
					      FS_BS - in - len, UDAX_PERSIST_NODRAIN);
	if (!ret)
		ret = udax_dev_drain(dev);
	if (ret)
		return fs_error(ret, "inode %u: writing the copy of pinned block %llu "
				"failed: %s", k->ino->ino, (unsigned long long)old,
				udax_strerror(ret));
	return kept_remap(k, lb, fresh, 0);
}

/*
 * Nothing is written to the fresh blocks: an unwritten block reads as
 * zeroes and a write converting it writes it whole.
 */
int fs_kept_unwritten(struct fs_kept *k, uint64_t lb, uint64_t nb)
{
	uint64_t pos = lb, end = lb + nb;

	while (pos < end) {
		uint32_t i = fs_emap_find(k->m->v, k->m->n, pos);
		struct fs_extent e;
		uint64_t s, f;

		if (i == k->m->n || k->m->v[i].lblk >= end)
			break;
		e = k->m->v[i];		/* a copy: remapping changes k->m */
		s = e.lblk > pos ? e.lblk : pos;
		f = e.lblk + e.len < end ? e.lblk + e.len : end;
		for (uint64_t b = s; b < f && !(e.flags & FS_EXT_UNWRITTEN); b++) {
			uint64_t old = e.pblk + (b - e.lblk), fresh;
			int ret;

			if (!fs_block_referenced(k->fs, old))
				continue;
			ret = kept_alloc(k, old, &fresh);
			if (!ret)
				ret = kept_remap(k, b, fresh, FS_EXT_UNWRITTEN);
			if (ret)
				return ret;
		}
		pos = f;
	}
	return 0;
}

void fs_kept_finish(struct fs_kept *k, struct fs_break *br, bool committed)
{
	for (uint32_t i = 0; i < k->n; i++) {
		if (committed)
			fs_break_free(br, k->old[i], 1);
		else
			fs_block_free(k->fs, k->fresh[i], 1);
	}
	free(k->old);
	free(k->fresh);
	k->old = k->fresh = NULL;
	k->n = k->cap = 0;
}
