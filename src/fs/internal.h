/* SPDX-License-Identifier: MIT */
/*
 * fs internals: the contract between the file-system core (format,
 * journal, inodes, namespace, file data: core.c, journal.c, inode.c,
 * dir.c, file.c, ...) and the zero-copy / layout-break module (break.c,
 * pin.c, view.c).
 *
 * Layout-break protocol (the heart of udax; see break.c).  Every core
 * operation that frees, moves or reassigns blocks of an inode does:
 *
 *	take ino->lock for write
 *	compute the logical block range [lblk, lblk + nblk) it will change
 *	ret = fs_layout_break(fs, ino, lblk, nblk, brk, &br);
 *	    (may drop and retake ino->lock while it waits; returns with the
 *	     lock held.  On error nothing is gated and nothing may change.)
 *	re-read whatever it needs (size, extents: the lock was dropped)
 *	make the change in one journal transaction; every block it frees
 *	goes through fs_break_free(&br, pblk, n), never fs_block_free()
 *	fs_break_end(&br)
 *	release ino->lock
 *
 * From fs_layout_break() until fs_break_end(), new pins and new views that
 * overlap the range wait; pins and views elsewhere in the file go on.
 */
#ifndef UDAX_FS_INTERNAL_H
#define UDAX_FS_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <udax/fs.h>

#include "common/fault_alloc.h"
#include "common/fork.h"

/* ---- the core provides ------------------------------------------------------ */

struct fs_extent {
	uint64_t lblk;		/* first file block */
	uint64_t pblk;		/* first block of the partition */
	uint32_t len;		/* blocks */
	uint32_t flags;		/* FS_EXT_UNWRITTEN: allocated, reads as zeroes */
};
#define FS_EXT_UNWRITTEN	0x1

struct fs_break_gate;		/* break.c */
struct fs_xleaf;		/* extmap.c */
struct fs_view_list;		/* view.c */

/* In-memory inode.  Fields below "break.c" are owned by break/pin/view. */
struct fs_inode {
	uint32_t ino;
	pthread_rwlock_t lock;		/* data, size and extent map */
	/* ... core fields ... (core.h; under lock unless said otherwise) */
	struct udax_fs *fs;
	struct fs_inode *hnext;		/* inode cache chain (icache_lock) */
	/* Cache references.  Taken with icache_lock from the cache; a
	 * holder takes one more, and puts any but the last, without it
	 * (fs_inode_hold, fs_iput); the last is put under it. */
	_Atomic unsigned refs;
	/* Directories: the index, which holds one of them (dindex.c): set
	 * and cleared under dix_lock, and cleared only while this
	 * directory's lock is held or ns_lock exclusive, so a holder of
	 * this directory's lock reads it without dix_lock. */
	struct fs_dix *dix;
	/* Directories: odd while a writer of this directory changes it
	 * (dir.c: dw_hold .. dw_drop), 2 more after; what a lookup beside
	 * directory writers read of it holds if this did not change. */
	_Atomic uint32_t dseq;
	uint32_t mode, uid, gid, nlink;	/* nlink/mode: also ns_lock */
	uint32_t iflags, gen, parent;	/* parent: directories (ns_lock) */
	uint32_t rdev;			/* devices: the on-media encoding */
	uint64_t xattr;			/* xattr block (0: none); ino->lock */
	uint64_t size;
	int64_t atime, mtime, ctime, btime;	/* ns since the epoch */
	bool times_dirty;		/* in-place write changed mtime */
	/* Freed on media while still held: its number goes back to the
	 * allocator when it leaves the cache (fs_iput), not before. */
	bool ino_free_at_put;
	char *symlink;			/* S_IFLNK: the target, NUL-ended */
	/* Fast log (log.c): appends recorded in a log area and not yet in
	 * the inode record and leaf on media (log_pending); log_seq: the
	 * number of the newest record of this inode (the record's log_seq). */
	bool log_pending;
	uint64_t log_seq;
	struct fs_xleaf **leaf;		/* extent map: leaves in file order */
	uint32_t nleaf, leaf_cap;
	uint64_t nr_ext;		/* extents in the map */
	uint64_t nr_mapped;		/* blocks the extents map */
	/* Blocks held back for this file's next appends (DRAM only: a crash
	 * or an eviction frees them).  Changed by the owner (lock held for
	 * write) under alloc_lock or, taking from the head (fs_rsv_take),
	 * under rsv_lock alone; by others (given back) under both. */
	uint64_t rsv_start, rsv_len;
	pthread_mutex_t rsv_lock;
	struct fs_inode *rsv_prev, *rsv_next;
	/* In the mount's list of reservations (rsv_prev/next): written
	 * under alloc_lock, read without it at eviction (fs_rsv_release),
	 * where an inode never listed needs no lock. */
	_Atomic bool rsv_listed;

	/* break.c / pin.c / view.c: initialized by fs_inode_zc_init(), torn
	 * down by fs_inode_zc_destroy(); protected by zc_lock. */
	pthread_mutex_t zc_lock;
	pthread_cond_t zc_cond;		/* a gate ended */
	struct fs_break_gate *gates;	/* ranges being broken */
	struct udax_view *views;	/* views of this inode */
	struct udax_lease *leases;	/* leases of this inode */
};

struct udax_fs {
	struct udax_dev *dev;
	unsigned part;
	char *base;			/* CPU address of partition block 0 */
	uint64_t nr_blocks;		/* blocks in the partition */
	uint64_t dev_offset;		/* device byte offset of block 0 */
	unsigned long pfn_first;	/* pfn of partition block 0 */
	struct udax_pgmap *pgmap;	/* a live range reference held while mounted */
	bool limited;			/* no page array: pins -EOPNOTSUPP */
	struct udax_break_opts brk;	/* mount default */
	unsigned long fork_gen;		/* the mounter's (common/fork.h) */
	int owner;			/* the mounter's pid, for messages */
	/* ... core fields ... (core.h) */
	struct fs_core *core;

	/* view.c: where the last view was unmapped (a hint, view_at_hint). */
	_Atomic uintptr_t view_hint;

	/* break.c: deferred frees (blocks freed while pinned). */
	pthread_mutex_t busy_lock;
	uint64_t *busy;			/* bit per block: freed while pinned */
	uint64_t nr_busy;
};

/* File handle. */
struct udax_file {
	struct udax_fs *fs;
	struct fs_inode *inode;
	int flags;			/* open flags */
};

/*
 * Iterate the allocated extents of [lblk, lblk + nblk), holes skipped, in
 * order, clipped to the range.  Caller holds ino->lock (read or write).
 * Stops early and returns the callback's value if it is non-zero.
 */
typedef int (*fs_extent_fn)(const struct fs_extent *ext, void *arg);
int fs_inode_extents(struct udax_fs *fs, struct fs_inode *ino, uint64_t lblk,
		     uint64_t nblk, fs_extent_fn fn, void *arg);

/* Return blocks to the allocator now (no pin can reach them).  Called
 * from page_free context too (a deferred free completing): it must not
 * sleep for long, and the core must never drop a page reference while
 * holding its allocator lock. */
void fs_block_free(struct udax_fs *fs, uint64_t pblk, uint64_t n);

/* Keep @ino in memory (a view of it exists) / let it go: the in-memory
 * inode, and an unlinked inode's blocks, outlive every hold. */
void fs_inode_hold(struct fs_inode *ino);
void fs_inode_release(struct udax_fs *fs, struct fs_inode *ino);

/* File size in bytes; caller holds ino->lock. */
uint64_t fs_inode_size(struct fs_inode *ino);

/* Block address and pfn. */
static inline void *fs_block_addr(struct udax_fs *fs, uint64_t pblk)
{
	return fs->base + pblk * UDAX_FS_BLOCK_SIZE;
}
static inline unsigned long fs_block_pfn(struct udax_fs *fs, uint64_t pblk)
{
	return fs->pfn_first + pblk;
}

/* Set the thread's last-error message (udax_fs_last_error); returns @err. */
int fs_error(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * -ESTALE with a message: @fs (or an object of it) was inherited across
 * fork().  Every entry point on an fs object first tests
 * fork_inherited(fs->fork_gen) -- one load and a compare -- and refuses
 * with this before touching a lock (a parent thread may have held it at
 * fork time) or the device (not mapped in the child).
 */
int fs_err_inherited(const struct udax_fs *fs, const char *fn);

/* ---- break.c / pin.c / view.c provide ----------------------------------------- */

struct fs_break {
	struct udax_fs *fs;
	struct fs_inode *ino;
	struct fs_break_gate *gate;
	enum udax_break_mode mode;
};

void fs_inode_zc_init(struct fs_inode *ino);
void fs_inode_zc_destroy(struct fs_inode *ino);
/* At mount: take a range reference, attach as holder of the partition's
 * pfn span (deferred frees), set fs->limited. */
int fs_zc_mount(struct udax_fs *fs);
/* At unmount, after the core has evicted every inode: wait for (or refuse
 * with, per @brk or, NULL, the mount's break mode) pages of the partition
 * still pinned, then detach.  Nonzero: the unmount fails and the fs stays
 * mounted. */
int fs_zc_unmount(struct udax_fs *fs, const struct udax_break_opts *brk);

/* See the protocol at the top.  @brk NULL: the mount default. */
int fs_layout_break(struct udax_fs *fs, struct fs_inode *ino, uint64_t lblk,
		    uint64_t nblk, const struct udax_break_opts *brk,
		    struct fs_break *br);
void fs_break_free(struct fs_break *br, uint64_t pblk, uint64_t n);
/*
 * Test hook (tests/fs/zc/fs_busy_recheck): called by fs_break_free()
 * between its first look at a freed block's page count and the block's
 * publication on the busy set -- the window in which a last unpin finds
 * nothing to free.
 * NULL except in that test.
 */
extern void (*fs_break_busy_hook)(struct udax_page *page);
/*
 * Test hook (tests/fs/core/fs_stat_seqlock): called by a stat of an inode
 * nobody holds between its first look at the inode's state and its copy
 * of the record -- the window a load and a write of the record may fall
 * in, which the stat must notice.  NULL except in that test.
 */
extern void (*fs_inode_stat_hook)(struct udax_fs *fs, uint32_t ino);
/* Is @pblk's page referenced (pinned: DMA may still reach it)?  Always
 * false on a limited device.  Under ino->lock for write inside a break of
 * the block's range, no udax_pin() of it can start (pin.c waits for the
 * gate); pfn-level pins (udax_pin_pages) bypass the gate. */
bool fs_block_referenced(struct udax_fs *fs, uint64_t pblk);
void fs_break_end(struct fs_break *br);

/* Whole-inode break for unlink-at-last-close, rename-over and eviction. */
int fs_layout_break_all(struct udax_fs *fs, struct fs_inode *ino,
			const struct udax_break_opts *brk, struct fs_break *br);

#endif
