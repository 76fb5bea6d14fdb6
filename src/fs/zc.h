/* SPDX-License-Identifier: MIT */
/* Shared by break.c, pin.c and view.c. */
#ifndef UDAX_FS_ZC_H
#define UDAX_FS_ZC_H

#include <time.h>

#include "fs/internal.h"

/* Under ino->zc_lock: does a layout break in progress cover any block of
 * [lblk, end)? */
bool fs_gate_overlaps(struct fs_inode *ino, uint64_t lblk, uint64_t end);

/*
 * With ino->lock held for read: wait until no break gates [lblk, end).
 * May drop and retake the lock.  Once it returns, no break of the range
 * can start until the caller releases the lock (a break needs it for
 * write), so references taken meanwhile are seen by that break.
 */
void fs_gate_wait_read(struct fs_inode *ino, uint64_t lblk, uint64_t end);

/* Make views of [lblk, end) inaccessible (view.c): 0, or an error with
 * some view still mapping part of the range (no block of it may go). */
int fs_views_invalidate(struct udax_fs *fs, struct fs_inode *ino,
			uint64_t lblk, uint64_t end);

/* Call revoke on leases overlapping [lblk, end); returns the shortest
 * revoke timeout among them, or -1 (lease.c). */
int64_t fs_leases_revoke(struct fs_inode *ino, uint64_t lblk, uint64_t end);

/* pin.c: the one range rule of pins, leases, views and io transfers
 * (fs.h "Zero-copy ranges"): -EINVAL with a message naming @fn. */
int fs_zc_range_check(const char *fn, uint64_t off, size_t len);
/* With ino->lock held: [off, off + len) within the file's blocks. */
int fs_zc_eof_check(const char *fn, struct fs_inode *ino, uint64_t off,
		    size_t len);

/* Blocks freed while still referenced, waiting for their last pin. */
uint64_t fs_zc_busy_blocks(struct udax_fs *fs);

static inline uint64_t fs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
