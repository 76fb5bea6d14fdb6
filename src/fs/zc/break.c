/* SPDX-License-Identifier: MIT */
/*
 * Layout breaks: freeing or moving file blocks without ever handing a block
 * that DMA can still reach to someone else.
 *
 * The kernel (fs/dax.c dax_layout_busy_page + xfs_break_dax_layouts) breaks
 * the whole file, waits with the inode locked, and learns that a page went
 * idle from fsdax's page_free.  udax does the same for the affected range
 * only:
 *
 *  1. gate the range: new pins and new views of it wait (so a stream of
 *     new DMA cannot starve the break), pins and views elsewhere go on;
 *  2. invalidate views of the range (remapped inaccessible);
 *  3. wait until every pinned page of the range is idle -- woken by the
 *     FS_DAX page_free through pagemap's idle waits -- or, per mode, give
 *     up (-ETIMEDOUT / -EBUSY, nothing changed) or go on at once;
 *  4. only then let the core free or move the blocks.
 *
 * Deferred free (UDAX_BREAK_DEFER; proposed on linux-fsdevel in 2017, never
 * built in the kernel): the break does not wait; a freed block whose page
 * is still referenced goes on the busy table instead of the allocator, and
 * the holder callback (page_idle, called from page_free when its last pin
 * drops) moves it to the allocator.  The table is a bitmap allocated at
 * mount, so a deferral never allocates after the commit (it cannot fail).
 * The same path protects every mode
 * against references the gate cannot see (pfn-level pins taken with
 * udax_pin_pages): a block with a referenced page is never freed directly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "fs/internal.h"
#include "fs/zc.h"

/* ---- gates ------------------------------------------------------------- */

struct fs_break_gate {
	struct fs_break_gate *next;
	uint64_t lblk, end;		/* [lblk, end) */
};

static bool overlaps(uint64_t a, uint64_t a_end, uint64_t b, uint64_t b_end)
{
	return a < b_end && b < a_end;
}

/* Under ino->zc_lock. */
bool fs_gate_overlaps(struct fs_inode *ino, uint64_t lblk, uint64_t end)
{
	for (struct fs_break_gate *g = ino->gates; g; g = g->next)
		if (overlaps(g->lblk, g->end, lblk, end))
			return true;
	return false;
}

void fs_inode_zc_init(struct fs_inode *ino)
{
	pthread_mutex_init(&ino->zc_lock, NULL);
	pthread_cond_init(&ino->zc_cond, NULL);
	ino->gates = NULL;
	ino->views = NULL;
	ino->leases = NULL;
}

void fs_inode_zc_destroy(struct fs_inode *ino)
{
	pthread_cond_destroy(&ino->zc_cond);
	pthread_mutex_destroy(&ino->zc_lock);
}

/* ---- the busy set: blocks freed while referenced -------------------------- */

/*
 * One bit per block of the partition, allocated at mount.  A deferred free
 * happens after its transaction committed, where an allocation that fails
 * could neither undo the commit nor free the still-pinned block: with the
 * whole set in place from the start, adding to it cannot fail, so every
 * block freed while pinned reaches the allocator when its last pin drops.
 * The cost is that of the allocator's own bitmap (one bit per block).
 */

/* Under busy_lock. */
static void busy_add(struct udax_fs *fs, uint64_t pblk)
{
	fs->busy[pblk / 64] |= 1ull << (pblk % 64);
	fs->nr_busy++;
}

/* Under busy_lock: take @pblk off the set if it is there. */
static bool busy_take(struct udax_fs *fs, uint64_t pblk)
{
	uint64_t bit = 1ull << (pblk % 64);

	if (!fs->busy || pblk >= fs->nr_blocks || !(fs->busy[pblk / 64] & bit))
		return false;
	fs->busy[pblk / 64] &= ~bit;
	fs->nr_busy--;
	return true;
}

/* The holder callback: a page of the partition went idle. */
static void fs_page_idle(void *holder, struct udax_page *page)
{
	struct udax_fs *fs = holder;
	uint64_t pblk = udax_page_to_pfn(page) - fs->pfn_first;
	bool mine;

	/* A child of fork() dropping an inherited reference: the block and
	 * busy_lock (maybe held at fork time) are the parent's. */
	if (fork_inherited(fs->fork_gen))
		return;
	pthread_mutex_lock(&fs->busy_lock);
	mine = busy_take(fs, pblk);
	pthread_mutex_unlock(&fs->busy_lock);
	if (mine)
		fs_block_free(fs, pblk, 1);
}

static const struct udax_dax_holder_ops fs_holder_ops = {
	.page_idle = fs_page_idle,
};

uint64_t fs_zc_busy_blocks(struct udax_fs *fs)
{
	uint64_t n;

	pthread_mutex_lock(&fs->busy_lock);
	n = fs->nr_busy;
	pthread_mutex_unlock(&fs->busy_lock);
	return n;
}

/* ---- mount / unmount ---------------------------------------------------------- */

int fs_zc_mount(struct udax_fs *fs)
{
	struct udax_pgmap_info info;
	struct udax_pgmap *ref;
	int ret;

	pthread_mutex_init(&fs->busy_lock, NULL);
	fs->nr_busy = 0;
	fs->busy = fault_calloc((fs->nr_blocks + 63) / 64, sizeof(*fs->busy));
	if (!fs->busy) {
		pthread_mutex_destroy(&fs->busy_lock);
		return fs_error(-ENOMEM, "mount: no memory for the busy-block set");
	}
	/* A live range reference for the whole mount: first references to
	 * the partition's pages (pins) are taken under it. */
	ref = udax_get_dev_pagemap(fs->pfn_first, NULL);
	if (!ref) {
		ret = fs_error(-ENODEV, "mount: the device's pagemap range is gone");
		goto err;
	}
	fs->pgmap = ref;
	udax_pgmap_get_info(ref, &info);
	fs->limited = info.flags & UDAX_PGMAP_LIMITED;
	if (!fs->limited) {
		ret = udax_pgmap_attach_holder(ref, fs->pfn_first, fs->nr_blocks,
					       &fs_holder_ops, fs);
		if (ret) {
			udax_put_dev_pagemap(ref);
			ret = fs_error(ret, "mount: cannot attach to the pagemap "
				       "range: %s", udax_strerror(ret));
			goto err;
		}
	}
	return 0;
err:
	free(fs->busy);
	fs->busy = NULL;
	pthread_mutex_destroy(&fs->busy_lock);
	return ret;
}

/* Pages of the partition held now (a snapshot, for messages). */
static unsigned long pinned_pages(struct udax_fs *fs)
{
	unsigned long n = 0;

	for (uint64_t b = 0; b < fs->nr_blocks; b++)
		n += fs_block_referenced(fs, b);
	return n;
}

/*
 * Unmount breaks everything, in the mode of @brk (NULL: the mount's).  It
 * never defers: after unmount a new mount would rebuild the allocator and
 * could hand out a block DMA still reaches, so DEFER means NOWAIT here
 * (-EBUSY while anything is pinned).  WAIT waits as long as a pin lives:
 * a leaked pin makes it wait forever (the docs say so; TIMEOUT bounds it).
 * Once this returns an error the file system stays mounted and usable.
 */
int fs_zc_unmount(struct udax_fs *fs, const struct udax_break_opts *brk)
{
	const struct udax_break_opts *o = brk ? brk : &fs->brk;
	int64_t timeout;
	int ret = 0;

	if (!fs->limited) {
		switch (o->mode) {
		case UDAX_BREAK_WAIT:
			timeout = -1;
			break;
		case UDAX_BREAK_TIMEOUT:
			timeout = o->timeout_ns < 0 ? 0 : o->timeout_ns;
			break;
		default:
			timeout = 0;
			break;
		}
		ret = udax_pfn_range_wait_idle(fs->pfn_first, fs->nr_blocks,
					       timeout, NULL);
		if (ret == -ETIMEDOUT && o->mode == UDAX_BREAK_TIMEOUT)
			return fs_error(-ETIMEDOUT, "unmount: %lu page(s) of the "
					"file system still pinned when the %lld ns "
					"timeout expired (udax_pin, leases, io "
					"transfers or udax_pin_pages); still mounted",
					pinned_pages(fs), (long long)timeout);
		if (ret == -ETIMEDOUT)
			return fs_error(-EBUSY, "unmount: %lu page(s) of the file "
					"system are pinned (udax_pin, leases, io "
					"transfers or udax_pin_pages) and the break "
					"mode is %s; still mounted", pinned_pages(fs),
					o->mode == UDAX_BREAK_DEFER ?
					"DEFER (unmount never defers: as NOWAIT)" :
					"NOWAIT");
		if (ret)
			return fs_error(ret, "unmount: %s", udax_strerror(ret));
		/* Never fails for lack of memory: it cannot stay attached to
		 * a file system that is about to be freed. */
		ret = udax_pgmap_detach_holder(fs->pgmap, fs);
		if (ret)
			return fs_error(ret, "unmount: detaching from the pagemap "
					"range: %s; still mounted", udax_strerror(ret));
	}
	/* Nothing is referenced: blocks still on the busy table were freed
	 * in the allocator's eyes already; the table just goes. */
	udax_put_dev_pagemap(fs->pgmap);
	fs->pgmap = NULL;
	free(fs->busy);
	fs->busy = NULL;
	pthread_mutex_destroy(&fs->busy_lock);
	return 0;
}

/* ---- the break ------------------------------------------------------------------ */

struct collect {
	struct fs_extent *v;
	size_t n, cap;
};

static int collect_extent(const struct fs_extent *ext, void *arg)
{
	struct collect *c = arg;

	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct fs_extent *v = fault_realloc(c->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = *ext;
	return 0;
}

static bool extents_busy(struct udax_fs *fs, const struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		for (uint32_t k = 0; k < c->v[i].len; k++)
			if (udax_page_ref_count(udax_pgmap_pfn_to_page(fs->pgmap,
					fs_block_pfn(fs, c->v[i].pblk + k))))
				return true;
	return false;
}

static void gate_remove(struct fs_inode *ino, struct fs_break_gate *gate)
{
	pthread_mutex_lock(&ino->zc_lock);
	for (struct fs_break_gate **p = &ino->gates; *p; p = &(*p)->next) {
		if (*p == gate) {
			*p = gate->next;
			break;
		}
	}
	pthread_cond_broadcast(&ino->zc_cond);
	pthread_mutex_unlock(&ino->zc_lock);
	free(gate);
}

/*
 * Called and returns with ino->lock held for write; may drop it while it
 * waits.  On failure the range is not gated and nothing was changed.
 */
int fs_layout_break(struct udax_fs *fs, struct fs_inode *ino, uint64_t lblk,
		    uint64_t nblk, const struct udax_break_opts *brk,
		    struct fs_break *br)
{
	const struct udax_break_opts *o = brk ? brk : &fs->brk;
	uint64_t end = nblk > UINT64_MAX - lblk ? UINT64_MAX : lblk + nblk;
	struct fs_break_gate *gate;
	struct collect c = { 0 };
	int64_t lease_bound;
	int ret = 0;

	memset(br, 0, sizeof(*br));
	if (o->mode > UDAX_BREAK_DEFER)
		return fs_error(-EINVAL, "layout break: unknown mode %d", (int)o->mode);
	gate = fault_malloc(sizeof(*gate));
	if (!gate)
		return -ENOMEM;
	gate->lblk = lblk;
	gate->end = end;

	/* 1. Gate the range; an overlapping break in progress goes first. */
	pthread_mutex_lock(&ino->zc_lock);
	while (fs_gate_overlaps(ino, lblk, end)) {
		pthread_rwlock_unlock(&ino->lock);
		pthread_cond_wait(&ino->zc_cond, &ino->zc_lock);
		pthread_mutex_unlock(&ino->zc_lock);
		pthread_rwlock_wrlock(&ino->lock);
		pthread_mutex_lock(&ino->zc_lock);
	}
	gate->next = ino->gates;
	ino->gates = gate;
	pthread_mutex_unlock(&ino->zc_lock);

	/* 2. No load or store through a view reaches the range any more. */
	ret = fs_views_invalidate(fs, ino, lblk, end);
	if (ret)
		goto fail;

	br->fs = fs;
	br->ino = ino;
	br->gate = gate;
	br->mode = o->mode;
	if (fs->limited)
		return 0;	/* nothing can be pinned */

	/* Long-term pins of the range are asked back (lease.c). */
	lease_bound = fs_leases_revoke(ino, lblk, end);

	/* 3. Wait for the pages pinned before the gate went up. */
	ret = fs_inode_extents(fs, ino, lblk, end - lblk, collect_extent, &c);
	if (ret)
		goto fail;
	if (o->mode == UDAX_BREAK_DEFER || !extents_busy(fs, &c))
		goto out;
	if (o->mode == UDAX_BREAK_NOWAIT) {
		ret = fs_error(-EBUSY, "layout break: pages of inode %u are pinned",
			       ino->ino);
		goto fail;
	}
	{
		int64_t timeout = o->mode == UDAX_BREAK_TIMEOUT ?
				  (o->timeout_ns < 0 ? 0 : o->timeout_ns) : -1;

		/* A lease bounds how long its holder may keep the break. */
		if (lease_bound >= 0 && (timeout < 0 || lease_bound < timeout))
			timeout = lease_bound;
		uint64_t deadline = timeout < 0 ? 0 : fs_now_ns() + (uint64_t)timeout;

		/* Pins only drop from here on (new ones are gated), so the
		 * inode lock is not needed to wait, and holding it would stall
		 * readers and pins of other ranges for the whole DMA. */
		pthread_rwlock_unlock(&ino->lock);
		for (size_t i = 0; i < c.n && !ret; i++) {
			int64_t left = -1;

			if (timeout >= 0) {
				uint64_t now = fs_now_ns();

				left = now >= deadline ? 0 : (int64_t)(deadline - now);
			}
			ret = udax_pfn_range_wait_idle(fs_block_pfn(fs, c.v[i].pblk),
						       c.v[i].len, left, NULL);
		}
		pthread_rwlock_wrlock(&ino->lock);
		if (ret) {
			ret = fs_error(ret, "layout break: inode %u: pinned pages did "
				       "not go idle: %s", ino->ino, udax_strerror(ret));
			goto fail;
		}
	}
out:
	free(c.v);
	return 0;
fail:
	free(c.v);
	gate_remove(ino, gate);
	memset(br, 0, sizeof(*br));
	return ret;
}

int fs_layout_break_all(struct udax_fs *fs, struct fs_inode *ino,
			const struct udax_break_opts *brk, struct fs_break *br)
{
	return fs_layout_break(fs, ino, 0, UINT64_MAX, brk, br);
}

/*
 * Free blocks the broken range no longer maps.  A block whose page is
 * still referenced goes on the busy table first and is freed by the holder
 * callback when its last reference drops; checking the count after
 * publishing it on the table closes the race with that callback (whoever
 * takes it off the table frees it, exactly once).
 */
void (*fs_break_busy_hook)(struct udax_page *page);

void fs_break_free(struct fs_break *br, uint64_t pblk, uint64_t n)
{
	struct udax_fs *fs = br->fs;
	uint64_t run = 0;

	if (fs->limited) {
		fs_block_free(fs, pblk, n);
		return;
	}
	for (uint64_t i = 0; i < n; i++) {
		uint64_t b = pblk + i;
		struct udax_page *page = udax_pgmap_pfn_to_page(fs->pgmap,
							fs_block_pfn(fs, b));
		bool freed_now = true;

		if (udax_page_ref_count(page)) {
			if (__builtin_expect(fs_break_busy_hook != NULL, 0))
				fs_break_busy_hook(page);
			pthread_mutex_lock(&fs->busy_lock);
			busy_add(fs, b);
			freed_now = !udax_page_ref_count(page) && busy_take(fs, b);
			pthread_mutex_unlock(&fs->busy_lock);
		}
		if (freed_now) {
			run++;
			continue;
		}
		if (run)
			fs_block_free(fs, b - run, run);
		run = 0;
	}
	if (run)
		fs_block_free(fs, pblk + n - run, run);
}

bool fs_block_referenced(struct udax_fs *fs, uint64_t pblk)
{
	if (fs->limited)
		return false;
	return udax_page_ref_count(udax_pgmap_pfn_to_page(fs->pgmap,
					fs_block_pfn(fs, pblk))) != 0;
}

void fs_break_end(struct fs_break *br)
{
	if (br->gate)
		gate_remove(br->ino, br->gate);
	br->gate = NULL;
}
