/* SPDX-License-Identifier: MIT */
/*
 * fs core: on-media format, journal, inode cache, allocator, namespace.
 * Private to the core (super.c, journal.c, inode.c, dir.c, file.c);
 * the contract with break.c / pin.c / view.c is internal.h.
 *
 * Lock order (outermost first):
 *	ns_lock (namespace: directory contents, nlink, parent; exclusive,
 *	         or for a directory's writer, shared among those: nslock.c)
 *	  ino->lock (one inode at a time; only a namespace operation, under
 *	             ns_lock, holds several: its directories and inodes, in
 *	             an order its arguments decide - ns_lock keeps two such
 *	             from waiting on each other; tests/tsan.supp says so to
 *	             TSan.  A directory's writer holds its directory's, then
 *	             the inodes it creates or unlinks; its walk holds one
 *	             other directory's at a time, for read, and none of its
 *	             own then)
 *	    dix_lock (directory indexes' table and list: dindex.c; it only
 *	              tries a directory's lock, to evict its index)
 *	    a journal lane's lock (one transaction at a time in a lane; a
 *	    commit settles another lane before it takes its own)
 *	      alloc_lock, icache_lock (leaves; one per inode stripe,
 *	      all of them only to grow the cache's table), an inode number
 *	      group's lock (a leaf: fs_ino_alloc, fs_ino_free)
 * The format is described in docs/fs.md.
 */
#ifndef UDAX_FS_CORE_H
#define UDAX_FS_CORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <urcu/list.h>		/* cds_list: the directory indexes' LRU */

#include "fs/internal.h"

#define FS_BS			UDAX_FS_BLOCK_SIZE
#define FS_MAX_LBLK		(1ull << 32)	/* file page index fits 32 bits */
#define FS_MAX_SIZE		(FS_MAX_LBLK * FS_BS)

/* ---- on-media format (little-endian; x86-64 only for now) ---------------- */

#define FS_SB_MAGIC		0x3153465841445855ull	/* "UXDAXFS1" */
/* 5: journal lanes (superblock journal_lanes); 4: inode block counts;
 * 3: fast log areas, symbolic links, special files, extended attributes
 * (records' rdev, log_seq and xattr fields); 2: extent lists of leaves;
 * 1: packed chains. */
#define FS_VERSION		5
#define FS_JNL_MAGIC		0x314c4e524a584455ull	/* "UDXJRNL1" */
#define FS_EXT_MAGIC		0x32545845u		/* "EXT2" */
#define FS_EXT_VERSION		1
#define FS_DIR_MAGIC		0x52494458u		/* "XDIR" */

struct fs_dsuper {			/* 256 bytes at blocks 0 and 1 */
	uint64_t magic;
	uint32_t version;
	uint32_t block_size;
	uint64_t generation;
	uint64_t nr_blocks;
	uint64_t journal_start, journal_blocks;
	uint64_t itable_start, itable_blocks;
	uint64_t data_start;
	uint32_t nr_inodes;
	/* Format 5: the journal is this many lanes (1..FS_JNL_LANES_MAX),
	 * each a header and bodies of its own (fs_jlane_geom). */
	uint32_t journal_lanes;
	int64_t mkfs_time;
	char label[32];
	/* Fast log (format 3): log_areas areas of log_area_blocks blocks
	 * each, from log_start (between the journal and the inode table). */
	uint64_t log_start;
	uint32_t log_areas, log_area_blocks;
	uint8_t reserved[116];
	uint32_t crc;			/* crc32c of bytes 0..251 */
};

struct fs_dext {			/* 16 bytes */
	uint32_t lblk;
	uint32_t len;			/* bit 31: unwritten */
	uint64_t pblk;
};
#define FS_DEXT_UNWRITTEN	0x80000000u
#define FS_DEXT_MAXLEN		0x7fffffffu

#define FS_INLINE_EXT		9
/*
 * Symbolic links (S_IFLNK): size = target length, 1..FS_SYMLINK_MAX bytes,
 * no NUL.  A target of at most FS_SYMLINK_INLINE bytes lives in the
 * record's extent area (nr_extents 0, the bytes after it zero); a longer
 * one in one data block mapped as the file's only extent {lblk 0, len 1}.
 */
#define FS_SYMLINK_INLINE	(FS_INLINE_EXT * 16)	/* 144 */
#define FS_SYMLINK_MAX		(FS_BS - 1)

struct fs_dinode {			/* 256 bytes; all zero when free */
	uint32_t mode, uid, gid, nlink;
	uint32_t flags, generation;
	uint64_t size;
	int64_t atime, mtime, ctime, btime;
	uint32_t nr_extents;		/* total */
	uint32_t ext_blocks;		/* leaves in the extent list (0: inline) */
	uint64_t ext_next;		/* first leaf, 0: none */
	uint32_t parent;		/* directories: inode of ".." */
	uint32_t rdev;			/* S_IFCHR, S_IFBLK: Linux new_encode_dev; else 0 */
	/* Sequence number of the last fast-log record this record includes
	 * (at creation: the log's next number); log records of this inode
	 * at or below it are stale. */
	uint64_t log_seq;
	struct fs_dext ext[FS_INLINE_EXT];	/* nr_extents <= 9: all of them */
	uint64_t xattr;			/* extended attribute block, 0: none */
	/* Blocks the map maps (format 4): a stat reads it instead of the
	 * extent leaves.  FS_BLOCKS_MANY from 2^32 - 1 on (a file may map
	 * 2^32 blocks): then the map is counted. */
	uint32_t blocks;
	uint32_t crc;			/* crc32c(ino, bytes 0..251) */
};

/*
 * A leaf of an inode's extent list (more than FS_INLINE_EXT extents).
 * Leaves hold 1..254 extents each, in file order, and are linked by
 * "next"; they are not packed, so a change rewrites only the leaves it
 * touches (and the "next" of the one before).  The checksum covers the
 * header and the extents in use only: appending an extent journals its
 * 16 bytes and the header, not the block.
 */
#define FS_EB_EXTS		((FS_BS - 32) / 16)	/* 254 */
struct fs_dextblk {			/* one block */
	uint32_t magic;
	uint32_t crc;			/* crc32c(ino, bytes 8..32+16*count) */
	uint32_t ino;
	uint16_t count;			/* 1..254 */
	uint16_t version;		/* FS_EXT_VERSION */
	uint64_t next;			/* next leaf, 0 on the last */
	uint64_t reserved;
	struct fs_dext ext[FS_EB_EXTS];
};

/*
 * Extended attributes (xattr.c): one block per inode holding all of them,
 * named by the record's "xattr".  Entries are packed after the header,
 * each {u8 name_len, u8 reserved (0), u16 value_len, name (full, with its
 * prefix, no NUL), value} padded to 4 bytes, in no order, tiling exactly
 * "used" bytes; the rest of the block is zero.  A change journals the
 * block (a new one whole, with the record naming it); the last removal
 * frees it.
 */
#define FS_XATTR_MAGIC		0x52544158u		/* "XATR" */
#define FS_XATTR_VERSION	1
struct fs_dxattrhdr {			/* 24 bytes at the start of the block */
	uint32_t magic;
	uint32_t crc;			/* crc32c(ino, bytes 8..4095) */
	uint32_t ino;			/* owner */
	uint16_t version;		/* FS_XATTR_VERSION */
	uint16_t count;			/* entries */
	uint32_t used;			/* bytes of entries after the header */
	uint32_t reserved;
};
struct fs_dxattrent {			/* 4 bytes + name + value, padded to 4 */
	uint8_t name_len, reserved;
	uint16_t value_len;
	char name[];
};
#define FS_XATTR_ENT_LEN(n, v)	((4u + (n) + (v) + 3u) & ~3u)
#define FS_XATTR_ROOM		(FS_BS - sizeof(struct fs_dxattrhdr))	/* 4072 */
#define FS_XATTR_VALUE_MAX	UDAX_XATTR_VALUE_MAX

struct fs_ddirhdr {			/* 16 bytes at the start of a dir block */
	uint32_t magic;
	uint32_t crc;			/* crc32c(ino, bytes 8..4095) */
	uint32_t ino;
	uint32_t reserved;
};
struct fs_ddirent {			/* 8 bytes + name, rec_len % 4 == 0 */
	uint32_t ino;			/* 0: free space */
	uint16_t rec_len;
	uint8_t name_len;
	uint8_t type;			/* fs_mode_dtype() of the inode's mode */
	char name[];
};
#define FS_DIRENT_LEN(n)	((8u + (n) + 3u) & ~3u)

/* The directory entry type of an inode of @mode (DT_REG, DT_DIR, DT_LNK...). */
static inline uint8_t fs_mode_dtype(uint32_t mode)
{
	return (uint8_t)((mode & 0170000) >> 12);	/* DT_x == S_IFx >> 12 */
}
/* An inode type udax stores: regular, directory, symlink, special. */
static inline bool fs_mode_type_valid(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0100000: case 0040000: case 0120000:	/* REG DIR LNK */
	case 0010000: case 0140000:			/* FIFO SOCK */
	case 0020000: case 0060000:			/* CHR BLK */
		return true;
	}
	return false;
}
/* Device numbers on media: Linux's new_encode_dev (12-bit major, 20-bit
 * minor in 32 bits). */
static inline uint32_t fs_rdev_encode(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}
static inline uint64_t fs_rdev_decode(uint32_t r)
{
	uint64_t major = (r & 0xfff00) >> 8, minor = (r & 0xff) | ((r >> 12) & 0xfff00);

	/* glibc's makedev() encoding of dev_t */
	return ((major & 0xfffff000ull) << 32) | ((major & 0xfffull) << 8) |
	       ((minor & 0xffffff00ull) << 12) | (minor & 0xffull);
}
/* A FIFO, socket or device: no data, no extents. */
static inline bool fs_mode_special(uint32_t mode)
{
	uint32_t t = mode & 0170000;

	return t == 0010000 || t == 0140000 || t == 0020000 || t == 0060000;
}

struct fs_djhdr {			/* 64 bytes at a lane's first block */
	uint64_t magic;
	uint32_t version;
	uint32_t nr_records;
	uint64_t seq;
	uint64_t body_len;		/* bytes from journal block body_blk */
	uint32_t body_crc;
	uint32_t body_blk;		/* the body's first journal block; 0: the
					 * lane's first block + 1 */
	uint8_t reserved[20];
	uint32_t crc;			/* crc32c of bytes 0..59 */
};
/* A commit of more records than this settles at once (journal.c). */
#define FS_JNL_PEND_MAX	32
/* Journal lanes (journal.c): at most this many; a lane is at least
 * FS_JNL_LANE_MIN blocks where there are several. */
#define FS_JNL_LANES_MAX	8
#define FS_JNL_LANE_MIN		8
struct fs_txn_rec {
	uint64_t off;
	uint32_t len;
	uint32_t data;			/* offset into buf */
};
struct fs_djrec {			/* then len bytes, padded to 8 */
	uint64_t off;			/* partition byte offset */
	uint32_t len;
	uint32_t reserved;
};

/*
 * A fast-log record (log.c): one durable append to a regular file, 64
 * bytes, one cache line, in a ring of a log area.  It says "after this,
 * inode ino (generation gen) is size bytes long, was modified at mtime,
 * and its last extent is (lblk, len, pblk)": the state, not a delta, so
 * the newest record of an inode is all replay needs.  The record is the
 * commit point of the append: valid when magic and crc match.
 */
#define FS_LOG_MAGIC		0x474f4c55u		/* "ULOG" */
#define FS_LOG_PER_BLOCK	(FS_BS / 64)
#define FS_LOG_MAX_AREAS	16
struct fs_dlrec {			/* 64 bytes */
	uint32_t magic;
	uint32_t crc;			/* crc32c of bytes 8..63 */
	uint64_t seq;			/* > 0, unique per file system */
	uint32_t ino, gen;
	uint64_t size;
	int64_t mtime;			/* also the ctime */
	uint32_t lblk, len;		/* the last extent, written */
	uint64_t pblk;
	uint64_t reserved;
};

_Static_assert(sizeof(struct fs_dlrec) == 64, "log record");
_Static_assert(sizeof(struct fs_dsuper) == 256, "superblock");
_Static_assert(sizeof(struct fs_dinode) == 256, "inode");
#define FS_BLOCKS_MANY		UINT32_MAX

/* The record's "blocks" for a map of @n blocks. */
static inline uint32_t fs_blocks_field(uint64_t n)
{
	return n < FS_BLOCKS_MANY ? (uint32_t)n : FS_BLOCKS_MANY;
}
_Static_assert(sizeof(struct fs_dextblk) == FS_BS, "extent block");
_Static_assert(sizeof(struct fs_djhdr) == 64, "journal header");

/* ---- in-memory state ------------------------------------------------------ */

#define FS_ICACHE_BUCKETS	256	/* at mount; x4 past 2 inodes a bucket */
#define FS_DIX_BUCKETS		256	/* at mount; x4 past 2 indexes a bucket */

/* A table of @n chain heads (a power of two, at least 8), empty, on line
 * boundaries (fs_icache_chain), or NULL.  free() frees it. */
static inline void *fs_chains_alloc(uint64_t n)
{
	void *t = fault_aligned_alloc(64, n * sizeof(void *));

	return t ? memset(t, 0, n * sizeof(void *)) : NULL;
}

/*
 * The chained tables keyed by inode number (the inode cache, the
 * directory indexes): after @count went up by one, grow @table (@mask + 1
 * chains of @type linked by hnext, keyed by ino) x4 once it holds more
 * than two entries a chain, so finding an entry stays O(1).  Without
 * memory for a larger table the chains just grow longer.  @chain(ino, n)
 * is the chain of @ino in a table of n chains.
 */
#define FS_CHAINS_GROW(table, mask, count, type, chain) do {			\
	uint64_t _n = (uint64_t)(mask) + 1, _nn = _n * 4;			\
	type **_t;								\
										\
	if ((count) <= 2 * _n || _nn > (1ull << 30) ||				\
	    !(_t = fs_chains_alloc(_nn)))					\
		break;								\
	for (uint64_t _b = 0; _b < _n; _b++)					\
		for (type *_e = (table)[_b], *_next; _e; _e = _next) {		\
			_next = _e->hnext;					\
			_e->hnext = _t[chain(_e->ino, _nn)];			\
			_t[chain(_e->ino, _nn)] = _e;				\
		}								\
	free(table);								\
	(table) = _t;								\
	(mask) = (uint32_t)(_nn - 1);						\
} while (0)
/* A table of @n chains, @ino's: the plain kind. */
static inline uint64_t fs_chain_of(uint32_t ino, uint64_t n)
{
	return ino & (n - 1);
}
struct fs_dix;

#define FS_NS_STRIPES	16	/* ns_lock's reader counts, a line each */
#define FS_ILOAD_STRIPES 64	/* inode load locks (inode.c), a line each */
/* icache_lock: one per inode-number stripe (a line each), so that threads
 * finding and dropping different inodes share no lock; FS_ICACHE_BUCKETS
 * is a multiple, so a stripe guards whole chains.  All of them, in order,
 * to grow the table. */
#define FS_IGROUPS	16	/* inode number groups (fs_ino_alloc) */
#define FS_ICACHE_STRIPES 32	/* TSan follows at most 64 locks held at once */

#define FS_LINE _Alignas(64)	/* starts a cache line of its own */

/*
 * A journal lane (journal.c): a header block and bodies of its own, so
 * that threads committing in different lanes share no lock, line or
 * fence.  Blocks [first, first + nblocks) of the journal.  lock: one
 * transaction at a time in the lane.  The last commit's home writes are
 * stored, not flushed, and its header is still valid: the lane's next
 * commit flushes them before its first fence, a settle too.
 *
 * What commits in other lanes read, without the lock, to settle this
 * lane first when they write a byte its pending transaction wrote: sum,
 * a filter of the 256-byte units that transaction writes (a bit per
 * hash; all bits for a long range), on a line stored only when it
 * changes (a thread that keeps changing the same files stores it once);
 * and, where the filter matches, the ranges themselves (pend_lo / hi;
 * pend_nrec FS_JNL_ALL: more than they hold), under pseq, a sequence
 * count, odd while they change.  pend_body: the journal blocks [0] ..
 * [1] the pending body occupies.
 */
#define FS_JNL_SUM_WORDS	4
struct fs_jlane {
	FS_LINE pthread_mutex_t lock;
	uint64_t seq;
	uint32_t first, nblocks;
	uint32_t pend_body[2];
	bool unflushed;			/* the pending commit's home writes */
	FS_LINE _Atomic uint64_t sum[FS_JNL_SUM_WORDS];
	FS_LINE _Atomic uint32_t pseq;
	_Atomic bool pending;
	_Atomic uint32_t pend_nrec;
	struct {
		_Atomic uint64_t lo, hi;
	} pend[FS_JNL_PEND_MAX];
};

struct fs_core {
	struct fs_dsuper sb;		/* validated copy */
	bool rdonly;
	/* Set once, by a persistence failure after a commit point (see
	 * fs_shutdown); never cleared while mounted. */
	_Atomic bool shutdown;
	const char *shutdown_at;	/* a static string; written before shutdown */
	/*
	 * What threads working on different files write is each on lines
	 * of its own (FS_LINE: the struct is allocated on a line boundary,
	 * udax_mount): a neighbour's line that one thread writes costs the
	 * other a miss at every access.  When these were 64 bytes apart but
	 * not aligned, whether neighbouring stripes shared a line depended
	 * on where malloc put the struct, so it changed from run to run.
	 *
	 * ns_lock (nslock.c): a writers' mutex and flag, readers' counts.
	 */
	struct {
		FS_LINE pthread_rwlock_t wlock;
		FS_LINE _Atomic unsigned writers;	/* of either kind */
		FS_LINE _Atomic unsigned xwriters;	/* exclusive, and grace periods */
		struct {
			FS_LINE _Atomic long n;
		} readers[FS_NS_STRIPES];
		struct {			/* readers beside directory writers */
			FS_LINE _Atomic long n;
		} breaders[FS_NS_STRIPES];
	} ns;
	FS_LINE pthread_mutex_t alloc_lock;
	/* icache_lock: fs_icache_lock().  nr: the cached inodes on the
	 * stripe's chains (its lock), counted per stripe so that threads
	 * loading and dropping different inodes write no line in common. */
	struct {
		FS_LINE pthread_mutex_t m;
		uint64_t nr;
	} icl[FS_ICACHE_STRIPES];
	/* inode load locks (inode.c, iload_lock): by inode number */
	struct {
		FS_LINE pthread_mutex_t m;
	} iload[FS_ILOAD_STRIPES];
	/* allocator (alloc_lock): built at mount from every inode's extents */
	uint64_t *bmap;			/* 1 = in use; bit per partition block */
	uint64_t free_blocks;		/* not counting reserved ones */
	uint64_t hint;
	/* Per-file reservations (fs_block_alloc_rsv): their blocks are set
	 * in bmap, counted here, and given back when memory is short. */
	uint64_t rsv_blocks;
	struct fs_inode *rsv_head;
	/* Inode numbers (fs_ino_alloc): FS_IGROUPS groups of
	 * fs_igroup_span() consecutive numbers (their state words are on
	 * lines of their own, fs_istate), each with its lock, its free count, where its
	 * next search starts and its next generation (every group's starts
	 * above the mount's live inodes', next_gen): a thread allocates in a
	 * group of its own first, so creators in different directories share
	 * no lock.  imap: a number's byte under its group's lock. */
	uint8_t *imap;			/* 1 = in use; byte per inode */
	_Atomic uint32_t igroup_next;	/* the next thread's group */
	struct fs_igroup {
		FS_LINE pthread_mutex_t lock;
		_Atomic uint32_t free;	/* written under lock; statfs sums */
		uint32_t hint, next_gen;
	} ig[FS_IGROUPS];
	uint32_t next_gen;		/* at mount: above every live inode's */
	/* journal (journal.c): lanes, one per group of threads;
	 * lanes_pending: bit k while lane k's header is a transaction's
	 * (stored where it changes: lanes in use stay pending) */
	uint32_t nlanes;
	FS_LINE _Atomic uint32_t lanes_pending;
	struct fs_jlane lane[FS_JNL_LANES_MAX];
	/* fast log (log.c) */
	/* at least every record number of a freed inode and on media at
	 * mount: where a new inode's numbers start (log.c) */
	_Atomic uint64_t log_seq;
	struct fs_logarea *log;		/* sb.log_areas of them */
	/* inode cache (icache_lock) */
	/* per inode: bit 0 while it is in the cache (set and cleared under
	 * its icache_lock, read without it; cleared by adding 1, so the
	 * other bits count its evictions): the sequence a stat's copy of the
	 * record is checked against (fs_inode_stat).  From here to dix_seed: what every
	 * lookup reads and only a writer changes, on lines of their own. */
	FS_LINE _Atomic uint32_t *istate;
	struct fs_inode *root;		/* held from mount to unmount */
	struct fs_inode **icache;	/* icache_mask + 1 chains */
	uint32_t icache_mask;
	uint32_t istate_shift;		/* fs_istate */
	/* directory indexes (dindex.c): the table, the list and the totals
	 * under dix_lock (writers of different directories may hold ns_lock
	 * at once); an index's own contents under its directory's lock */
	struct fs_dix **dix;		/* dix_mask + 1 chains */
	uint32_t dix_mask;
	uint64_t nr_dix;
	uint64_t dix_seed;
	/* Least recently used first out, past dix_budget bytes, between
	 * operations (fs_ns_unlock).  dix_bytes is written under dix_lock
	 * and read without it: most operations end under the budget and
	 * take no lock. */
	FS_LINE pthread_mutex_t dix_lock;
	struct cds_list_head dix_lru;	/* fs_dix.lru, most recent first */
	uint64_t dix_budget;
	_Atomic uint64_t dix_bytes;
	/* fs_dix_hint: the large table a stat searched last (written under
	 * ns_lock, read without it: a prefetch hint only), on a line of its
	 * own, apart from the fields every lookup reads. */
	struct {
		FS_LINE _Atomic uintptr_t slot;
		_Atomic uint32_t mask;
	} dix_hint;
	/* What writers of directories unpublished that a lookup beside them
	 * may still read (indexes, their tables, the table of indexes): freed
	 * after a grace period (fs_dix_retire, dindex.c). */
	FS_LINE pthread_mutex_t dix_retire_lock;
	struct dix_retired *dix_retired;
	/* how many, how large: written under the lock, read without it by
	 * every namespace operation's end (whether to take it) */
	_Atomic uint64_t dix_retired_n, dix_retired_bytes;
};

/* A transaction: byte ranges of the metadata area with their new bytes. */
struct fs_txn {
	struct udax_fs *fs;
	struct fs_txn_rec *rec;
	uint32_t nrec, reccap;
	uint8_t *buf;
	size_t buflen, bufcap;
	/* The one inode whose extent list changes: leaves [xla, xlb) of its
	 * map are replaced by xnew[0..nxnew) when the commit succeeded. */
	struct fs_inode *eino;
	struct fs_xleaf **xnew;
	uint32_t nxnew, xla, xlb;
	uint64_t *xalloc;		/* fresh leaf blocks: given back on abort */
	uint32_t nxalloc;
	uint64_t *xold;			/* leaf blocks to free after commit */
	uint32_t nxold;
	bool settle;			/* a record of a data block: settle */
	int err;			/* sticky: -ENOMEM */
	/* rec and buf start here: a create or unlink allocates nothing.
	 * (A struct fs_txn is never copied once initialised.) */
	struct fs_txn_rec rec0[8];
	uint8_t buf0[1024] __attribute__((aligned(8)));
};

static inline struct fs_core *C(struct udax_fs *fs) { return fs->core; }

static inline bool fs_is_shut_down(struct udax_fs *fs)
{
	return atomic_load_explicit(&C(fs)->shutdown, memory_order_acquire);
}

/* super.c */
int64_t fs_now(void);
/* 0 if the fs may be modified; -EROFS (read-only mount), -EIO (shut down). */
int fs_check_rw(struct udax_fs *fs);
/*
 * Shut the fs down after persistence failed where media and memory may
 * now disagree (@where: a static string naming the step): every later
 * modifying call and every commit fails with -EIO, nothing more is
 * written, the next mount recovers from the journal.  Returns -EIO with
 * the message set.
 */
int fs_shutdown(struct udax_fs *fs, int err, const char *where);
uint32_t fs_sb_crc(const struct fs_dsuper *s);
/* 0: a valid superblock for a partition of @part_blocks; -ENODATA: no
 * magic; -EUCLEAN: corrupt.  *@why says what is wrong. */
int fs_sb_check(const struct fs_dsuper *s, uint64_t part_blocks,
		const char **why);
/* Take partition @part of @dev for a mount, fsck or mkfs (@what, for the
 * message of whoever is refused; @fn the caller): -EBUSY naming the
 * partition and its user if it overlaps one taken (src/dev/claim.h). */
int fs_claim(struct udax_dev *dev, unsigned part, const char *what,
	     const char *fn);
void fs_unclaim(struct udax_dev *dev, unsigned part);
/* udax_dev_part() for @fn, message set; no table: -ENOMEDIUM. */
int fs_part_lookup(struct udax_dev *dev, unsigned part, const char *fn,
		   struct udax_part_info *pi);

/* journal.c */
/* The lanes a journal of @jb blocks is cut into at mkfs: as many as leave
 * each at least FS_JNL_LANE_MIN blocks, up to FS_JNL_LANES_MAX. */
uint32_t fs_jlane_count(uint64_t jb);
/* Lane @k's blocks of the journal of @sb (sb->journal_lanes valid): lane 0
 * is the large one (half the journal or more, for transactions too big
 * for the others), lanes 1.. share the rest equally. */
void fs_jlane_geom(const struct fs_dsuper *sb, uint32_t k, uint32_t *first,
		   uint32_t *nblocks);
/* The largest body a transaction may have: lane 0's. */
uint64_t fs_journal_max_body(const struct fs_dsuper *sb);
/* The lanes' locks and geometry, from c->sb (mount, fsck); the geometry
 * again after c->sb changed (fsck reads it after the init). */
void fs_journal_init(struct fs_core *c);
void fs_journal_geom(struct fs_core *c);
void fs_journal_destroy(struct fs_core *c);
void fs_txn_init(struct fs_txn *t, struct udax_fs *fs);
void fs_txn_add(struct fs_txn *t, uint64_t off, const void *src, size_t len);
/* Takes the calling thread's lane lock (lane 0's for a body too big for
 * it), after settling any other lane whose pending commit wrote a byte
 * this one writes.  Its first fence (the body's) also makes durable
 * every flush this thread issued before it: a write's data rides on it. */
int fs_txn_commit(struct fs_txn *t);
void fs_txn_free(struct fs_txn *t);
/* Every lane's committed transaction written home, durable, the lanes
 * emptied (mount, fsck --repair). */
int fs_journal_replay(struct udax_fs *fs);
/* The transaction in a lane, validated: its header, a private copy of
 * its body, its records (data: offset into body). */
struct fs_jtxn {
	struct fs_djhdr h;
	uint8_t *body;
	struct fs_txn_rec *rec;
	uint32_t nrec;
	bool torn;			/* a header that is not zero but not valid */
};
/* 1: a committed transaction of lane @k in *@jt (fs_jtxn_free it); 0:
 * none (empty or torn); -EUCLEAN: a committed header with a bad body;
 * -ENOMEM. */
int fs_journal_load(struct udax_fs *fs, uint32_t k, struct fs_jtxn *jt);
/* Every lane's (jt[k] for lane k; fs_jtxn_free each): the number of
 * committed transactions, or the first error; -EUCLEAN also when two
 * lanes' transactions write a byte in common, which commits never leave
 * on media (journal.c).  On error every jt[k] is freed. */
int fs_journal_load_all(struct udax_fs *fs, struct fs_jtxn jt[FS_JNL_LANES_MAX]);
void fs_jtxn_free(struct fs_jtxn *jt);
void fs_jtxn_free_all(struct fs_jtxn jt[FS_JNL_LANES_MAX]);
/* Zero lane @k's header, persisted: the lane is empty. */
int fs_journal_clear(struct udax_fs *fs, uint32_t k);
/*
 * Make every lane's last commit durable at home and empty the lanes, so
 * that no replay can write their records again: at unmount, at the end
 * of fsck.  Takes each lane's lock in turn.  A failure shuts the fs down
 * (the journal keeps the transaction; the next mount replays it).
 */
int fs_journal_settle(struct udax_fs *fs);
/* Settle each lane whose pending commit wrote a byte of blocks [@pblk,
 * @pblk + @n): before they are freed (writes that bypass the journal may
 * reuse them, and a replay must not write over those). */
void fs_journal_settle_range(struct udax_fs *fs, uint64_t pblk, uint64_t n);

/* log.c: the fast log (per-thread areas of 64-byte append records). */
struct fs_logarea {
	union {
		struct {
			pthread_mutex_t lock;
			/* live records: [head, tail) mod nrec */
			uint64_t head, tail;
			uint32_t nrec;
			bool retiring;
			uint32_t *ino;	/* the inode of each slot */
			char *base;	/* the area on media */
			/* Reserved blocks taken by fs_rsv_take through
			 * this area: not in rsv_blocks' count any more. */
			_Atomic uint64_t rsv_taken;
		};
		/* Two areas' fields never share a cache line. */
		char pad[128];
	};
};
/* Mount: set up the areas, replay the records newer than their inodes'
 * checkpoints (each validated: -EUCLEAN with a message if one is not
 * an append to its inode's last extent of free blocks), checkpoint them.
 * After scan_inodes (the allocator is built); @max_seq: the highest
 * log_seq of any inode record. */
int fs_log_mount(struct udax_fs *fs, uint64_t max_seq);
void fs_log_free(struct udax_fs *fs);
/*
 * A durable append through the log (ino->lock held for write): 1 and
 * *@done bytes when it took the fast path, 0 when the write is not a
 * plain append the log can express (the caller takes the journal),
 * -errno on failure (nothing changed).
 */
int fs_log_append(struct udax_file *f, const void *buf, size_t n,
		  uint64_t off, size_t *done);
/* After an append released ino->lock: retire half a ring when it is
 * more than half full (checkpointing the inodes it names). */
void fs_log_maybe_retire(struct udax_fs *fs);
/* Inode numbers its log records up to @seq and is being freed: a later
 * inode of its number starts above them.  Before fs_ino_free. */
void fs_log_forget(struct udax_fs *fs, uint64_t seq);
/* A record @rec is valid (magic, crc); fsck and replay share it. */
bool fs_dlrec_valid(const struct fs_dlrec *rec);
uint32_t fs_dlrec_crc(const struct fs_dlrec *rec);
/* Fields of a valid record in range for @sb (0, or -EUCLEAN + *why). */
int fs_dlrec_check(const struct fs_dlrec *rec, const struct fs_dsuper *sb,
		   const char **why);

/* alloc (inode.c) */
int fs_block_alloc(struct udax_fs *fs, uint64_t goal, uint64_t want,
		   uint64_t *pblk, uint64_t *got);
int fs_bmap_mark(struct udax_fs *fs, uint64_t pblk, uint64_t n);
/*
 * Allocate for file @ino (ino->lock held for write), like fs_block_alloc:
 * from its reservation when @goal falls in it (blocks of the reservation
 * before @goal are given back), else anywhere (a large file's or a large
 * write's new run where its device offset is congruent to file block
 * @lblk's modulo 2 MiB, when such room is found: 2 MiB mappings for
 * views); then, with @tail (the hole
 * ends the file), hold back the free blocks right after the allocation
 * (as many as the file maps, 16..1024) for its next appends, so files
 * growing at the same time get runs of their own instead of
 * interleaving.  Reservations live in DRAM only and are given back at
 * eviction (fs_rsv_release) or when the device is otherwise full.
 */
int fs_block_alloc_rsv(struct udax_fs *fs, struct fs_inode *ino, uint64_t goal,
		       uint64_t want, uint64_t lblk, bool tail, uint64_t *pblk,
		       uint64_t *got);
#define FS_NO_ALIGN	UINT64_MAX	/* fs_block_alloc_rsv's @lblk: first fit */
void fs_rsv_release(struct fs_inode *ino);
/*
 * The fast log's take (ino->lock held for write): [@goal, @goal + @n) from
 * the head of @ino's reservation, without the allocator's lock (counted
 * in @a->rsv_taken, which statfs subtracts).  1: taken; 0: the
 * reservation does not start there or is too short; -errno: injected.
 */
int fs_rsv_take(struct fs_inode *ino, struct fs_logarea *a, uint64_t goal,
		uint64_t n);
/* A free inode number and the generation its inode takes. */
int fs_ino_alloc(struct udax_fs *fs, uint32_t *ino, uint32_t *gen);
/* Tests: the calling thread's next fs_ino_alloc searches from @ino on. */
void fs_ino_next(struct udax_fs *fs, uint32_t ino);
/* The inode numbers free (statfs: a sum, exact only when quiet). */
uint32_t fs_ino_free_count(struct fs_core *c);
void fs_ino_free(struct udax_fs *fs, uint32_t ino);

/* inode.c */
int fs_iget(struct udax_fs *fs, uint32_t ino, struct fs_inode **out);
int fs_iget_handle(struct udax_fs *fs, uint64_t ino, uint32_t gen,
		   bool any_gen, struct fs_inode **out);
/* Drop a reference.  At the last one: commits lazy times and frees an
 * unlinked inode; returns the error of that (0 otherwise).  A failed free
 * leaves an orphan on media, reclaimed at the next mount. */
int fs_iput(struct fs_inode *ino);
void fs_icache_insert(struct fs_inode *ino);
/* A create holds its new inode number's load lock from before the commit
 * of its record until fs_icache_insert (inode.c, iload_lock). */
void fs_iload_lock_new(struct udax_fs *fs, uint32_t ino);
void fs_iload_unlock_new(struct udax_fs *fs, uint32_t ino);
/* The icache_lock of inode number @ino: it guards the chain @ino is on,
 * and the last reference of the inodes on it (fs_iput). */
static inline pthread_mutex_t *fs_icache_lock(struct fs_core *c, uint32_t ino)
{
	return &c->icl[ino % FS_ICACHE_STRIPES].m;
}
/*
 * The inode cache's chain of @ino in a table of @n: stripe k's chains
 * (fs_icache_lock) are the k-th n / FS_ICACHE_STRIPES of the table, so
 * that neighbouring inode numbers, which are on different stripes, have
 * their chain heads on different lines: two threads loading and dropping
 * the files of one directory (created together, numbered in a row) write
 * no line in common there.
 */
static inline uint64_t fs_icache_chain(uint32_t ino, uint64_t n)
{
	uint64_t per = n / FS_ICACHE_STRIPES;

	return (ino % FS_ICACHE_STRIPES) * per + (ino / FS_ICACHE_STRIPES & (per - 1));
}
/* The numbers in an inode number group: 16 M (fs_ino_alloc, fs_istate). */
static inline uint32_t fs_igroup_span(const struct fs_core *c)
{
	return 16u << c->istate_shift;
}

/*
 * @ino's state word (inode.c: cached bit, loads under ns_lock shared).
 * Each inode number group (fs_ino_alloc: 16 M numbers, M = 2^istate_shift)
 * has its words on lines of its own, so that threads creating in groups
 * of their own write no line in common; within a group neighbouring
 * numbers are on different lines, for the same reason as the chains:
 * word (j mod M) * 16 + j / M of the group's 16 M for its j-th number, so
 * a line holds the words of numbers M apart.
 */
static inline _Atomic uint32_t *fs_istate(struct fs_core *c, uint32_t ino)
{
	uint32_t s = c->istate_shift, m = (1u << s) - 1;

	return &c->istate[(uint64_t)(ino >> (s + 4)) << (s + 4) |
			  (uint64_t)(ino & m) << 4 | (ino >> s & 15)];
}
/* The cached inode @ino, or NULL (fs_icache_lock(@ino) held). */
struct fs_inode *fs_icache_find(struct fs_core *c, uint32_t ino);
/* A reference to inode @ino if it is in the cache, else NULL (nothing is
 * loaded: a shared lookup may call it). */
struct fs_inode *fs_icache_get(struct udax_fs *fs, uint32_t ino);
/* fs_iget with ns_lock held shared, under @ino's load lock: 0 and *@out,
 * or -ECHILD for anything but a clean load (the exclusive path then
 * answers, with its words for a damaged record). */
int fs_iget_shared(struct udax_fs *fs, uint32_t ino, struct fs_inode **out);
int fs_icache_init(struct fs_core *c);
struct fs_inode *fs_inode_new(struct udax_fs *fs, uint32_t ino, uint32_t mode);
void fs_inode_dispose(struct fs_inode *ino);
int fs_inode_read(struct udax_fs *fs, uint32_t ino, struct fs_dinode *di);
/* Validators of private copies, shared by mount, the accessors and fsck:
 * 0 or -EUCLEAN with *@why. */
uint32_t fs_dinode_crc(uint32_t ino, const struct fs_dinode *di);
uint32_t fs_dextblk_crc(uint32_t ino, const struct fs_dextblk *eb);
int fs_dinode_check(const struct fs_dinode *di, uint32_t nr_inodes,
		    const char **why);
/* Extent @d non-empty, inside [data_start, nr_blocks), below 2^32 file
 * blocks and starting at or after @prev_end (sorted, disjoint). */
bool fs_dext_valid(const struct fs_dext *d, uint64_t prev_end,
		   uint64_t data_start, uint64_t nr_blocks);
/* Extent leaf of inode @ino; @last: the inode says it ends the list. */
int fs_dextblk_check(const struct fs_dextblk *eb, uint32_t ino, bool last,
		     const char **why);
int fs_inode_load(struct udax_fs *fs, struct fs_inode *ino,
		  const struct fs_dinode *di, bool mark);
/* extmap.c: the map of a checked record (fs_inode_load's second half). */
int fs_xmap_load(struct udax_fs *fs, struct fs_inode *ino,
		 const struct fs_dinode *di, bool mark);
/* The blocks the map of checked record @di of inode @ino maps (whatever
 * its "blocks" says), every leaf and extent validated as fs_xmap_load
 * validates them, nothing kept.  0 or -errno. */
int fs_xmap_blocks(struct udax_fs *fs, uint32_t ino, const struct fs_dinode *di,
		   uint64_t *blocks);
struct fs_emap;
/* Add the inode record to @t, and with @m (a window of @ino's map, see
 * fs_emap_window, changed) the leaves the change rewrites: fresh leaf
 * blocks are allocated here, the map itself changes at
 * fs_inode_set_extents.  At most one map per transaction. */
int fs_txn_inode(struct fs_txn *t, struct fs_inode *ino,
		 const struct fs_emap *m);
int fs_txn_inode_free(struct fs_txn *t, struct fs_inode *ino);
/* After the commit of @t: install the leaves it wrote into @ino's map
 * (nothing when @t changed no map of @ino). */
void fs_inode_set_extents(struct fs_inode *ino, struct fs_txn *t);
/* After a failed commit: give back the leaf blocks @t allocated. */
void fs_txn_abort(struct fs_txn *t);
/* Drop what @t holds for a map change (journal.c's fs_txn_free). */
void fs_txn_emap_free(struct fs_txn *t);
uint64_t fs_inode_blocks(const struct fs_inode *ino);
void fs_inode_fill(struct fs_inode *ino, struct udax_stat *st);
/*
 * Stat inode @ino, in use and reached by name under ns_lock, without
 * loading it.  Cached: 0 and *@cached, a reference to fill from (after
 * ns_lock: i->lock is not taken under it here).  Else 1 and *@st, straight
 * from its record (its block count from its map's leaves, validated, but
 * nothing allocated or cached), or 0 and NULL where fs_iget must do it: a
 * symbolic link, or a record or map that fails fs_iget's checks (fs_iget
 * then says what is wrong).
 */
int fs_inode_stat(struct udax_fs *fs, uint32_t ino, struct udax_stat *st,
		  struct fs_inode **cached);
/* Commit @ino's lazily updated times, if any (ino->lock held for write). */
int fs_inode_sync_times(struct fs_inode *ino);
/* Finish freeing @ino after its record was zeroed in a transaction (or
 * not, !@committed): blocks back through the break, inode number back. */
void fs_inode_free_finish(struct fs_inode *ino, struct fs_break *br,
			  bool committed);
static inline uint64_t fs_inode_off(struct udax_fs *fs, uint32_t ino)
{
	return C(fs)->sb.itable_start * FS_BS + (uint64_t)ino * 256;
}

/*
 * Extent maps (extmap.c).  In memory an inode's map is an array of leaves
 * (struct fs_xleaf), one per leaf on media (or one for the inline
 * extents), each immutable once installed: a change copies the leaves it
 * touches into a window (struct fs_emap), edits the window as a plain
 * sorted array, and fs_txn_inode / fs_inode_set_extents replace exactly
 * those leaves.  Cost: O(log n) to find, O(window) to change.
 */
struct fs_xleaf {
	uint64_t pblk;			/* 0: the inline extents of the record */
	uint32_t n;
	uint32_t reserved;
	struct fs_extent e[];
};
struct fs_emap {
	struct fs_extent *v;
	uint32_t n, cap;
	uint32_t la, lb;		/* window of leaves [la, lb) */
};
/* Window over the leaves holding every extent that meets file blocks
 * [lo, hi] (hi included: a neighbour to merge with), plus the extent
 * before lo when it shares a leaf. */
int fs_emap_window(struct fs_emap *m, const struct fs_inode *ino,
		   uint64_t lo, uint64_t hi);
static inline int fs_emap_dup(struct fs_emap *m, const struct fs_inode *ino)
{
	return fs_emap_window(m, ino, 0, FS_MAX_LBLK);
}
/* Remove [lblk, lblk + n); removed pieces go to @fn. */
int fs_emap_remove(struct fs_emap *m, uint64_t lblk, uint64_t n,
		   void (*fn)(const struct fs_extent *, void *), void *arg);
int fs_emap_insert(struct fs_emap *m, const struct fs_extent *e);
void fs_emap_shift(struct fs_emap *m, uint64_t from, int64_t delta);
void fs_emap_normalize(struct fs_emap *m);
/* A copy of @src (window included). */
int fs_emap_copy(struct fs_emap *dst, const struct fs_emap *src);
/* A position in an inode's map. */
struct fs_xpos {
	uint32_t li, k;
};
/* The first extent that ends after @lblk (NULL: none), and its position. */
const struct fs_extent *fs_xmap_seek(const struct fs_inode *ino,
				     uint64_t lblk, struct fs_xpos *p);
/* The extent after @p (advanced), or NULL. */
const struct fs_extent *fs_xmap_next(const struct fs_inode *ino,
				     struct fs_xpos *p);
const struct fs_extent *fs_xmap_last(const struct fs_inode *ino);
/* A one-block map {lblk 0, @pblk} for a new, unpublished inode. */
int fs_xmap_one_block(struct fs_inode *ino, uint64_t pblk);
/* inode.c: load a symbolic link's target into ino->symlink (from the
 * checked record @di, or its block): 0, -EUCLEAN, -ENOMEM. */
int fs_symlink_load(struct fs_inode *ino, const struct fs_dinode *di);
/* Drop every leaf of @ino's map (memory only). */
void fs_xmap_clear(struct fs_inode *ino);
/* Index of the extent containing lblk, or of the first after it. */
uint32_t fs_emap_find(const struct fs_extent *v, uint32_t n, uint64_t lblk);

/* kept.c: blocks an operation keeps but rewrites (zeroes part of, or
 * marks unwritten).  One whose page is referenced (DMA may still land in
 * it: a DEFER break does not wait) is replaced by a copy in @m, and the
 * old block is freed through the break after the commit; others are
 * rewritten in place.  Caller holds ino->lock for write, inside a break of
 * a range covering the blocks. */
struct fs_kept {
	struct udax_fs *fs;
	struct fs_inode *ino;
	struct fs_txn *t;
	struct fs_emap *m;
	uint64_t *old, *fresh;		/* replaced blocks and their copies */
	uint32_t n, cap;
};
void fs_kept_init(struct fs_kept *k, struct udax_fs *fs, struct fs_inode *ino,
		  struct fs_txn *t, struct fs_emap *m);
/* Zero bytes [pos, pos + len) of one block of @k->m if it is written: in
 * place through @k->t, or in a copy.  -ENOSPC (no block for the copy),
 * -ENOMEM, or a persistence error: the caller fails, changing nothing. */
int fs_kept_zero(struct fs_kept *k, uint64_t pos, uint64_t len);
/* Referenced written blocks of [lb, lb + nb) in @k->m become fresh
 * unwritten blocks (the caller then marks the rest unwritten). */
int fs_kept_unwritten(struct fs_kept *k, uint64_t lb, uint64_t nb);
/* After the operation: @committed, the replaced blocks go to the break's
 * deferred free; otherwise the copies go back to the allocator. */
void fs_kept_finish(struct fs_kept *k, struct fs_break *br, bool committed);

/* dirblk.c: directory block validators (private copies).  Header: 0 or
 * -EUCLEAN.  Record at @off: 0 fine, -EUCLEAN when it does not tile the
 * block (the rest cannot be read), 1 when the record is bad but tiles. */
/* xattrblk.c: an xattr block's checksum, and the validation of a
 * private copy of @ino's block: 0 or -EUCLEAN with *@why. */
uint32_t fs_xattrblk_crc(uint32_t ino, const uint8_t *b);
/* xattr.c, ACLs in other transactions.  fs_acl_inherit: the xattr block
 * image a new inode @ino in @dir takes from @dir's default ACL (*@out NULL:
 * none), *@mode masked by it; @held: the caller holds dir->lock (a
 * directory's writer), else it is taken for read.  fs_acl_chmod_block: @i's block with its
 * access ACL set to i->mode (i->lock held; *@out NULL: no access ACL).
 * Images are malloc'd, their checksum set. */
int fs_acl_inherit(struct fs_inode *dir, uint32_t ino, uint32_t *mode,
		   uint8_t **out, bool held);
int fs_acl_chmod_block(struct fs_inode *i, uint8_t **out);
int fs_xattr_block_check(const uint8_t *b, uint32_t ino, const char **why);
uint32_t fs_dirblk_crc(uint32_t ino, const void *b);
int fs_dirblk_hdr_check(const uint8_t *b, uint32_t dino, const char **why);
int fs_dirent_check(const uint8_t *b, uint32_t off, uint32_t nr_inodes,
		    const char **why);

/* dirblk.c: the media address of block @k of directory @dir (NULL if not
 * mapped), and the same after validating the block (0 or -EUCLEAN). */
const uint8_t *fs_dir_block_addr(struct fs_inode *dir, uint64_t k);
int fs_dir_block_check(struct fs_inode *dir, uint64_t k, const uint8_t **out);

/* A name "." or "..". */
static inline bool fs_name_is_dot(const char *s, size_t n)
{
	return (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.');
}

/* dindex.c: a directory's in-memory index (name hash -> record, blocks by
 * room), built at first use by validating every block; ns_lock held. */
void fs_dix_seed(struct udax_fs *fs);
uint32_t fs_dix_hash(struct udax_fs *fs, const char *name, size_t len);
/* Find or build: 0, -EUCLEAN (a bad block, a duplicate name), -ENOMEM. */
int fs_dix_get(struct udax_fs *fs, struct fs_inode *dir, struct fs_dix **out);
/* @dir's index if it has one (@dir's lock held, or ns_lock exclusive). */
struct fs_dix *fs_dix_cached(struct udax_fs *fs, struct fs_inode *dir);
/* One of @i's references is its directory index's. */
static inline bool fs_dix_holds(struct fs_inode *i)
{
	return __atomic_load_n(&i->dix, __ATOMIC_RELAXED) != NULL;
}
/* 1 and the record's block and offset, or 0: not there. */
int fs_dix_find(struct fs_dix *x, struct fs_inode *dir, uint32_t hash,
		const char *name, size_t len, uint32_t *blk, uint32_t *off);
/* fs_dix_find beside the directory's writer: its record's inode number
 * and type copied, valid if the directory's sequence held (dindex.c). */
bool fs_dix_find_beside(struct fs_dix *x, struct udax_fs *fs, uint32_t hash,
			const char *name, size_t len, uint32_t *ino, uint8_t *type);
/* Tests only: called as @dir's index leaves the table (dix_forget), with
 * dix_lock held. */
extern void (*fs_dix_forget_hook)(struct fs_inode *dir);
/* Tests only: called by fs_dix_next_beside between its read of a
 * record's header and its copy of the name. */
extern void (*fs_dix_next_hook)(struct fs_dix *x);
/* readdir beside the directory's writer: the next record from block *@k,
 * offset *@off, copied (1), the end (0), or -1: look another way. */
int fs_dix_next_beside(struct fs_dix *x, uint64_t *k, uint32_t *off,
		       struct udax_dirent *out, uint32_t *end);
/* What was read of the directory @x indexes beside its writer holds: its
 * sequence (fs_inode.dseq) is still @seq. */
bool fs_dix_unchanged(const struct fs_dix *x, uint32_t seq);
/* The record fs_dix_find found at @blk, @off (on media, validated). */
const struct fs_ddirent *fs_dix_entry(const struct fs_dix *x, uint32_t blk,
				      uint32_t off);
/* Remember @x, if its table is large, as the index the next stat will
 * likely search (ns_lock). */
void fs_dix_hint(struct udax_fs *fs, const struct fs_dix *x);
/* Start loading the slot where @hash's search begins in the index last
 * remembered: a hint, taken without ns_lock (it only prefetches; the index
 * may be another by then, or freed). */
void fs_dix_prefetch(struct udax_fs *fs, uint32_t hash);
/* A block whose largest gap is at least @need bytes, or UINT32_MAX. */
uint32_t fs_dix_room(const struct fs_dix *x, uint32_t need);
bool fs_dix_empty(const struct fs_dix *x);
/* Before a commit: room for @entries more entries and @blocks more blocks,
 * so that the updates after it cannot fail. */
int fs_dix_reserve(struct fs_dix *x, uint32_t entries, uint32_t blocks);
/* After a commit (the blocks on media are the new ones). */
void fs_dix_add(struct fs_dix *x, uint32_t hash, uint32_t blk, uint32_t off);
void fs_dix_del(struct fs_dix *x, uint32_t hash, uint32_t blk, uint32_t off);
/* Block @k changed (k == the block count: a new last block). */
void fs_dix_block_changed(struct fs_dix *x, struct fs_inode *dir, uint32_t k);
void fs_dix_drop(struct udax_fs *fs, uint32_t ino);
void fs_dix_free_all(struct udax_fs *fs);
/* Free what writers of directories retired (ns_lock exclusive: no lookup
 * beside them is at work). */
void fs_dix_retired_free(struct udax_fs *fs);
/* End a namespace operation: release ns_lock, after the directory indexes
 * over the mount's budget are freed, least recently used first, none that
 * the operation used (no index is held between operations). */
void fs_ns_unlock(struct udax_fs *fs);
int fs_dix_init(struct udax_fs *fs);
/*
 * A shared lookup (ns_lock held shared): the index of directory inode
 * @ino if it has one, else NULL; nothing is built and the index is only
 * marked used (its next eviction passes it over once).
 */
struct fs_dix *fs_dix_shared(struct udax_fs *fs, uint32_t ino);
/* The directory inode indexed by @x (a reference of the index's own). */
struct fs_inode *fs_dix_dir(const struct fs_dix *x);

/* ---- ns_lock (nslock.c) ---------------------------------------------------
 * Exclusive: fs_ns_lock .. fs_ns_unlock (dindex.c: evicts first).  For a
 * directory's writer: fs_ns_lock_dir .. fs_ns_unlock, held by writers of
 * different directories at once, each holding its directory's lock
 * (dir.c).  Shared: fs_ns_trylock_shared (false while a writer of either
 * kind holds it or waits: take it exclusively instead) ..
 * fs_ns_unlock_shared; a shared holder changes nothing a lookup reads and
 * never blocks. */
/* dir.c: a directory's writer of @dir, which the caller holds (the handle
 * calls: udax_create_at, udax_mkdir_at ...): ns_lock for one and @dir's
 * lock for write, until fs_dw_end_at.  Only fs_at_open (O_NOFOLLOW),
 * fs_at_mkdir, fs_at_symlink, fs_at_mknod, fs_at_remove of a file and
 * fs_at_link may run in between. */
void fs_dw_begin_at(struct udax_fs *fs, struct fs_inode *dir);
void fs_dw_end_at(struct udax_fs *fs, struct fs_inode *dir);
/* rmdir of @name in @dir as the writer of both (dir.c, dw_rmdir): 0 or
 * an error, or 1: go the exclusive way.  *@victim: for the caller to put
 * after ns_lock. */
int fs_dw_rmdir_at(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		   size_t len, struct fs_inode **victim);
/* The same for a rename of a file between @a and @b (held; may be one):
 * both locked, in the order of their numbers.  fs_at_is_dir tells the
 * caller whether each name is a directory (1; 0 also when absent), whose
 * rename is exclusive; fs_at_rename of two files may run in between. */
void fs_dw_begin_pair_at(struct udax_fs *fs, struct fs_inode *a,
			 struct fs_inode *b);
void fs_dw_end_pair_at(struct udax_fs *fs, struct fs_inode *a,
		       struct fs_inode *b);
int fs_at_is_dir(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		 size_t len);
void fs_ns_init(struct fs_core *c);
void fs_ns_destroy(struct fs_core *c);
void fs_ns_lock(struct udax_fs *fs);
void fs_ns_lock_dir(struct udax_fs *fs);
void fs_ns_unlock_exclusive(struct fs_core *c);
/* How long a reader waits for a writer before taking the lock exclusively
 * itself: pauses (tens of ns each), a few microseconds in all. */
#define FS_NS_READER_SPINS	256
bool fs_ns_trylock_shared(struct udax_fs *fs);
/* The same, waiting at most @spins pauses for the writers to go (0: a
 * caller that would write anyway if the lookup fails, and need not wait). */
bool fs_ns_trylock_shared_spin(struct udax_fs *fs, unsigned spins);
void fs_ns_unlock_shared(struct udax_fs *fs);
/*
 * Shared beside directory writers (a stat: dir.c): false only while an
 * exclusive writer holds or waits for ns_lock, or a grace period is being
 * waited for.  Writers of directories work meanwhile: what the holder
 * reads of a directory it checks against the directory's sequence
 * (fs_inode.dseq), and what they free goes only after a grace period
 * (fs_dix_retire).  Held for one lookup, never blocking.
 */
bool fs_ns_trylock_beside(struct udax_fs *fs, unsigned spins);
void fs_ns_unlock_beside(struct udax_fs *fs);
/* Wait until no holder beside directory writers that began before the
 * call is left: what they could reach and the caller unpublished before
 * the call may be freed then.  Not under ns_lock beside. */
void fs_ns_grace(struct fs_core *c);
/* The calling thread holds ns_lock exclusively. */
bool fs_ns_exclusive(void);

/* udax_setattr's attributes, resolved (UTIME_NOW is a time here). */
struct fs_iattr {
	unsigned mask;			/* UDAX_SETATTR_* */
	uint32_t mode, uid, gid;
	int64_t atime, mtime, ctime;
};
/* dir.c: set @a's attributes of @ino in memory (the caller commits). */
void fs_iattr_apply(struct fs_inode *ino, const struct fs_iattr *a);
/* file.c: truncate @ino (ino->lock held for write) to @size as
 * udax_ftruncate_ex does, with @a's attributes in the same transaction. */
int fs_truncate_attr(struct udax_fs *fs, struct fs_inode *ino, uint64_t size,
		     const struct udax_break_opts *brk, const struct fs_iattr *a);


/* dir.c: resolve @path (taking ns_lock as a directory's writer that
 * holds no directory, beside the writers of directories): a reference to
 * its inode. */
int fs_walk(struct udax_fs *fs, const char *path, bool follow,
	    struct fs_inode **out);
/* dir.c: ns_lock as that writer, for lookups by the caller in between
 * (udax_lookup: fs_at_lookup reads each directory under its lock). */
void fs_walk_begin(struct udax_fs *fs);
void fs_walk_end(struct udax_fs *fs);

/* dir.c, tests only: called by a walk beside directory writers after it
 * found directory @dir_ino's index, before it looks at the directory's
 * sequence. */
extern void (*fs_walk_beside_hook)(struct udax_fs *fs, uint32_t dir_ino);
/* dir.c: O_TMPFILE's unnamed file in directory @path. */
int fs_ns_tmpfile(struct udax_fs *fs, const char *path, mode_t mode,
		  const struct udax_cred *cred, struct fs_inode **out);
/* dir.c: udax_lookup beside directory writers (fs_ns_trylock_beside
 * held): 1 answered (*@ret; *@out a reference when
 * 0), 0 fs_at_lookup answers (after the caller put *@out if set). */
int fs_at_lookup_beside(struct udax_fs *fs, struct fs_inode *dir,
			const char *name, size_t len, struct fs_inode **out,
			int *ret);
/* dir.c, tests only: called by a lookup, an open or an opendir beside
 * directory writers after it found the name (inode @ino), before it takes
 * the inode (take_beside). */
extern void (*fs_lookup_beside_hook)(struct udax_fs *fs, uint32_t ino);
/* dir.c, tests only: called by a create after its commit, before its
 * new inode @ino goes into the cache (its load lock held). */
extern void (*fs_create_insert_hook)(struct udax_fs *fs, uint32_t ino);
/* Tests only: called by an rmdir between its check that the directory
 * is empty and its commit. */
extern void (*fs_rmdir_empty_hook)(struct udax_fs *fs);
/* dir.c: the namespace half of udax_open() (find or create). */
int fs_ns_open(struct udax_fs *fs, const char *path, int oflags, mode_t mode,
	       const struct udax_cred *cred, struct fs_inode **out,
	       bool *created);

/*
 * dir.c: the namespace operations on one name in a referenced directory,
 * for the inode-handle calls (handle.c): no path walk; @name is one
 * component (no '/', 1..UDAX_NAME_MAX bytes, checked by the caller) and
 * ns_lock is held.  Each is the path call's after its walk.
 */
int fs_at_lookup(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		 size_t len, struct fs_inode **out);
int fs_at_open(struct udax_fs *fs, struct fs_inode *dir, const char *name,
	       size_t len, int oflags, mode_t mode, const struct udax_cred *cred,
	       struct fs_inode **out, bool *created);
int fs_at_mkdir(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		size_t len, mode_t mode, const struct udax_cred *cred,
		struct fs_inode **out);
int fs_at_symlink(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		  size_t len, const char *target, const struct udax_cred *cred,
		  struct fs_inode **out);
int fs_at_mknod(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		size_t len, mode_t mode, dev_t rdev, const struct udax_cred *cred,
		struct fs_inode **out);
/* *@victim (NULL or a reference) is put after ns_lock is dropped: its
 * last put frees an orphan. */
int fs_at_remove(struct udax_fs *fs, struct fs_inode *dir, const char *name,
		 size_t len, bool isdir, const struct udax_break_opts *brk,
		 struct fs_inode **victim);
int fs_at_link(struct udax_fs *fs, struct fs_inode *i, struct fs_inode *dir,
	       const char *name, size_t len);
/* *@src and *@tgt (NULL or references) are put after ns_lock. */
int fs_at_rename(struct udax_fs *fs, struct fs_inode *odir, const char *oname,
		 size_t olen, struct fs_inode *ndir, const char *nname,
		 size_t nlen, unsigned flags, struct fs_inode **src,
		 struct fs_inode **tgt);
/* udax_setattr of a referenced inode (ns_lock not held). */
int fs_setattr_inode(struct udax_fs *fs, struct fs_inode *i,
		     const struct udax_setattr *sa);
/* A directory stream of @i (UDAX_OPENDIR_* @flags), which takes over the
 * caller's reference. */
int fs_opendir_inode(struct udax_fs *fs, struct fs_inode *i, unsigned flags,
		     struct udax_dir **out);
/* file.c: udax_open() around the namespace half.  The flags (and for
 * writing, a writable file system); then the handle @f of the found or
 * created @i (O_TRUNC done), whose reference the caller drops on error. */
int fs_open_check(struct udax_fs *fs, int flags);
int fs_open_finish(struct udax_fs *fs, struct fs_inode *i, int flags,
		   bool created, struct udax_file *f);

#endif
