/* SPDX-License-Identifier: MIT */
/*
 * fsck internals, shared by fsck.c (superblocks, journal, inode table,
 * extents, block owners), fsck_ns.c (directories, link counts,
 * reachability, data tails), fsck_lnf.c (reconnecting unreachable inodes
 * under /lost+found) and fsck_repair.c (repairs).
 *
 * The check never trusts the media: every structure is copied out (through
 * the journal overlay when a committed transaction is checked "as if
 * replayed"), and every number is bounds-checked before it is used.
 * Problems are collected first and reported at the end, after the repairs,
 * so that each one is reported once with whether it was repaired.
 */
#ifndef UDAX_FS_FSCK_H
#define UDAX_FS_FSCK_H

#include <sys/stat.h>
#include <udax/fsck.h>

#include "fs/core.h"

/* What a repair does; the arguments are in struct fk_prob. */
enum fk_fix {
	FK_FIX_NONE,
	FK_FIX_SUPER,		/* a: copy to rewrite from the other one */
	FK_FIX_LNF,		/* name ino in /lost+found, nlink a (fsck_lnf.c) */
	FK_FIX_DIRENT,		/* remove the record at (block, offset) of dir ino */
	FK_FIX_DTYPE,		/* set that record's type to a */
	FK_FIX_ORPHAN,		/* free inode ino (nlink 0, named nowhere) */
	FK_FIX_NLINK,		/* set ino's nlink to a */
	FK_FIX_PARENT,		/* set directory ino's parent to a */
	FK_FIX_TAIL,		/* zero block from offset to its end */
	FK_FIX_EXTENTS,		/* cut regular file ino's extent list at its
				 * first damage (fsck_repair.c) */
	FK_FIX_BLOCKS,		/* set ino's block count to what its map holds */
};

struct fk_prob {
	struct udax_fsck_problem p;
	char *msg;
	enum fk_fix fix;
	uint64_t a;
};

enum { FK_FREE, FK_BAD, FK_OK };	/* struct fk_ino.state */

struct fk_ino {
	uint8_t state;
	bool ext_bad;			/* an extent or the chain is invalid */
	uint32_t ext_keep;		/* valid extents before the first damage:
					 * those a cut keeps (all when !ext_bad) */
	bool reached;			/* from the root */
	uint32_t mode, nlink, parent;
	uint64_t size;
	struct fs_extent *ext;		/* the valid extents, sorted */
	uint32_t next;
	uint32_t refs;			/* directory entries naming it */
	uint32_t named_by;		/* directories: the one naming it */
	uint32_t subdirs;		/* directories: entries naming directories */
	uint32_t entries;		/* directories: entries */
	/* Reconnection (fsck_lnf.c), planned before link counts are judged:
	 * the counts above are those of the tree after it. */
	bool named_free;		/* free, but named by an entry (removed later) */
	bool top;			/* unreachable, goes to /lost+found */
	uint32_t lnf_links;		/* links the reconnection adds to nlink */
	const char *nolnf;		/* why an unreachable inode stays */
};

/* Block owners, for the "owned at most once" check. */
enum { FK_OWN_NONE, FK_OWN_EXTENT, FK_OWN_CHAIN, FK_OWN_XATTR };

struct fk {
	struct udax_dev *dev;
	unsigned flags;
	char *base;			/* partition block 0 */
	uint64_t nb;			/* partition blocks */
	struct fs_dsuper sb;		/* the copy in use */
	int best;			/* its index */
	struct fs_jtxn jt[FS_JNL_LANES_MAX];	/* overlay: committed, not replayed */
	uint8_t *itab;			/* private copy of the inode table */
	struct fk_ino *ino;		/* per inode */
	uint32_t *owner;		/* per block: inode, 0 none */
	uint8_t *okind;			/* per block: FK_OWN_* */
	bool ns_incomplete;		/* some directory content is unknown */
	uint64_t log_max;		/* the highest log seq on media (check_log) */
	uint32_t lnf_ino;		/* /lost+found: a directory, or the one to make */
	bool lnf_file;			/* "lost+found" in the root names a file */
	bool lnf_new;			/* lnf_ino is to be made (a free record) */
	struct fk_lnf *lnf;		/* the repair's working state */
	struct fk_prob *pv;
	size_t np, pcap;
	int err;			/* sticky -ENOMEM */
	struct udax_fsck_report *rep;
	/* A core without a mount, for the journal's transactions. */
	struct udax_fs fs;
	struct fs_core core;
};

/* Record a problem (msg printf-style); the repair @fix/@a runs later. */
void fk_problem(struct fk *k, enum udax_fsck_area area, uint64_t block,
		uint32_t offset, uint32_t ino, enum fk_fix fix, uint64_t a,
		const char *fmt, ...) __attribute__((format(printf, 8, 9)));

/* Copy [off, off + len) of the partition as it is, or as it will be once
 * the journal's committed transaction is replayed.  In bounds (checked by
 * the caller). */
void fk_read(struct fk *k, uint64_t off, void *buf, size_t len);

/* Where inode @i's record is. */
static inline uint64_t fk_iblock(const struct fk *k, uint32_t i)
{
	return k->sb.itable_start + i / (FS_BS / 256);
}
static inline uint32_t fk_ioff(uint32_t i)
{
	return (i % (FS_BS / 256)) * 256;
}

/* The extent of @i containing @lblk among those a repair keeps, or NULL. */
const struct fs_extent *fk_extent_at(const struct fk_ino *i, uint64_t lblk);

/* fsck_ns.c: directories, link counts, reachability, data tails. */
int fk_check_namespace(struct fk *k);
void fk_check_tails(struct fk *k);

/* The link count of an inode reconnected under /lost+found: its one entry
 * there, or a directory's 2 + subdirectories; 0: none fits. */
static inline uint32_t fk_reconnect_nlink(const struct fk_ino *ii)
{
	if (!S_ISDIR(ii->mode))
		return 1;
	return ii->subdirs <= UINT32_MAX - 2 ? 2 + ii->subdirs : 0;
}

/* fsck_lnf.c: plan the reconnection of the unreachable inodes @tops (named
 * by no entry at all) under /lost+found, as the repair will do it: sets
 * lnf_ino/lnf_new, and for each of @tops either .top or .nolnf. */
int fk_lnf_plan(struct fk *k, const uint32_t *tops, uint32_t n);
/* Repair: make /lost+found if planned and not made yet, then name @ino
 * there as "#<ino>" with link count @nlink (directories: parent
 * /lost+found), one journal transaction each.  0, 1 (not possible: left),
 * or a negative errno. */
int fk_lnf_reconnect(struct fk *k, uint32_t ino, uint32_t nlink);
void fk_lnf_free(struct fk *k);

/* fsck_repair.c: run the repairs of the problems found (REPAIR only). */
int fk_repair(struct fk *k);

#endif
