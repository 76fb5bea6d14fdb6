/* SPDX-License-Identifier: MIT */
/*
 * udax fsck: check (and with UDAX_FSCK_REPAIR, repair what is safe) the file
 * system on a partition that is not mounted, straight from the media.
 *
 * Every invariant of the on-media format (docs/fs.md) is checked: both
 * superblock copies, the journal, every inode record, extent maps and
 * extent chains against each other (every block owned at most once, inside
 * the data area), every directory block and entry, link counts,
 * reachability from the root, orphans, and the zero tail of each file's
 * last block.  Each problem is reported once through @cb with where it is.
 * With UDAX_FSCK_REPAIR, the top of each unreachable subtree is named
 * "/lost+found/#<ino>" (the directory made if absent, docs/fs.md).
 * The partition is claimed like a mount for the duration: mount and mkfs
 * of it get -EBUSY meanwhile.
 */
#ifndef UDAX_FSCK_H
#define UDAX_FSCK_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stdint.h>
#include <udax/dev.h>
#include <udax/fs.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { UDAX_FSCK_REPAIR = 1u << 0 };	/* repair what is safe; without it nothing is written */

enum udax_fsck_area {
	UDAX_FSCK_SUPER, UDAX_FSCK_JOURNAL, UDAX_FSCK_INODE, UDAX_FSCK_EXTENT,
	UDAX_FSCK_DIR, UDAX_FSCK_LINK, UDAX_FSCK_DATA,
};

struct udax_fsck_problem {
	enum udax_fsck_area area;
	uint64_t block;		/* partition block of the bad structure; UINT64_MAX: none */
	uint32_t offset;	/* byte offset in that block */
	uint32_t ino;		/* inode concerned; 0: none */
	const char *msg;	/* one line; valid during the callback only */
	bool repaired;		/* UDAX_FSCK_REPAIR fixed it */
};

struct udax_fsck_report {
	uint64_t problems;	/* found */
	uint64_t repaired;	/* of those, fixed */
	uint64_t inodes, dirs, files, blocks_used, chain_blocks, dir_blocks;
	bool journal_committed;	/* a committed transaction was in the journal (replayed
				 * with REPAIR; otherwise checked as if replayed) */
};

typedef void (*udax_fsck_cb)(const struct udax_fsck_problem *p, void *arg);

/* 0: the check ran (see *rep, cb may be NULL); -EBUSY: partition mounted; -ENODATA: no file
 * system (neither superblock copy has the magic); other negative errno: operational error
 * (message in udax_fs_last_error()). */
int udax_fsck(struct udax_dev *dev, unsigned part, unsigned flags,
	      udax_fsck_cb cb, void *arg, struct udax_fsck_report *rep);

#ifdef __cplusplus
}
#endif

#pragma GCC visibility pop
#endif
