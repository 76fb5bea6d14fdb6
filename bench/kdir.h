/* SPDX-License-Identifier: MIT */
/*
 * The kernel directory of udax bench and udax dmatest, handled so that a
 * run never hurts the machine: its files live in one subdirectory of their
 * own, claimed with a lock (a second run on it is refused, the files a
 * killed run left behind are removed at the start), removed at the end and
 * on SIGINT, SIGTERM, SIGHUP; and what it may write is bounded by the free
 * space, a memory-backed file system (tmpfs, ramfs: RAM) more strictly.
 */
#ifndef UDAX_KDIR_H
#define UDAX_KDIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kdir {
	char path[4096];	/* DIR/NAME: where the run's files go */
	bool memory;		/* tmpfs or ramfs */
	const char *fs_type;	/* "tmpfs", "ramfs" or "" */
	uint64_t avail;		/* bytes free when claimed (ramfs: free RAM) */
	unsigned stale;		/* files of an earlier run removed */
	int dfd, pfd, lockfd;
};

/* Claim DIR/NAME (made if absent); 0, or -errno with the reason in @why
 * (-EBUSY: another run holds it). */
int kdir_claim(struct kdir *k, const char *dir, const char *name, char *why, size_t len);
/* Remove the run's files and DIR/NAME; release the claim.  NULL: only
 * the files of kdir_remove_at_exit(). */
void kdir_release(struct kdir *k);

/* Also remove @path (a file the run made) at the end and on a signal;
 * kdir_forget() drops it. At most 4. */
void kdir_remove_at_exit(const char *path);
void kdir_forget(const char *path);

/* Bytes a run may write to @k: all that is free, less a margin; on a
 * memory-backed file system a quarter of it. */
uint64_t kdir_budget(const struct kdir *k);

#endif
