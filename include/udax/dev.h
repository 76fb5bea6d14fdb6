/* SPDX-License-Identifier: MIT */
/*
 * udax devices: memory that a DAX file system lives in.
 *
 * A device is opened from a spec string and mapped into the process:
 *
 *   "mem:SIZE[,OPT...]" a memfd, mapped shared; volatile.  SIZE is a byte
 *                       count with an optional K, M, G or T suffix (powers
 *                       of 1024), e.g. "mem:64M", "mem:4096".  Every page
 *                       is faulted in at open (no first-touch fault in an
 *                       operation; out of memory fails the open), with
 *                       transparent huge pages asked for.  Options:
 *                       ",persist=MODE": persist like PMem/CXL, paying what
 *                       such a device pays: every flush writes the lines
 *                       back (MODE clwb, clflushopt, clflush, or cpu: the
 *                       best this CPU has) and every drain is an sfence;
 *                       durability UDAX_DUR_CPU_CACHE, store granularity
 *                       64 (the contents still go at close).  E.g.
 *                       "mem:512M,persist=clwb" for benchmarks and tests.
 *                       ",huge=hugetlb": 2 MiB pages from the hugetlb pool
 *                       (SIZE a multiple of 2 MiB; fails if the pool is
 *                       short); mapped again only in 2 MiB units, so file
 *                       system views are refused on it, as on device-dax.
 *   "file:PATH", PATH   a regular file.  On a DAX file system it is mapped
 *                       MAP_SYNC and made durable by CPU cache flushes;
 *                       elsewhere durability falls back to msync(2), and
 *                       udax_dev_info() says so.
 *   "devdax:PATH", PATH a device-dax character device (/dev/daxX.Y); size
 *                       and alignment come from sysfs; cache-flush durable.
 *
 * A bare PATH is a file or a device-dax by what it is; a PATH that starts
 * with "mem:", "file:" or "devdax:" needs an explicit "file:" prefix.
 * libpmem2 maps files and device-dax when udax was built with it.
 *
 * The device owns ONE pagemap range (include/udax/pagemap.h) over its
 * whole mapping, registered at open and unregistered at close; file systems
 * on its partitions attach to it as holders of their partitions' pfn spans
 * and never register ranges of their own.
 *
 * Partitions: a partition table (docs/dev.md) splits the device into
 * 2 MiB-aligned partitions, each for one file system.
 *
 * Errors are negative errno values (udax_strerror() names them); after a
 * udax_dev_* function fails, udax_dev_last_error() gives a one-line
 * message saying what exactly was wrong.
 *
 * Threads: different devices are independent.  On one device, every call
 * may run concurrently with every other except: udax_dev_close() must not
 * race with any call on the device, and udax_dev_set_persist_hooks() must
 * not race with persistence calls (udax_dev_flush() and friends).
 *
 * fork(): a device, and every object made from it (file systems, files,
 * directories, views, pins, leases; io engines, their requests and
 * buffers), belongs to the process that made it.  A child of fork()
 * inherits a copy of their memory but must not use it: its copy of the
 * allocators would hand out blocks the parent hands out too.  So, in the
 * child:
 *  - every udax call on an inherited object fails with -ESTALE, before it
 *    touches anything, and the layer's last-error message (and
 *    udax_strerror(-ESTALE)) says "inherited across fork(); open the
 *    device anew in the child"; calls that cannot fail return nothing
 *    (0, NULL; a lease or leased range reads as revoked, a file system as
 *    shut down, a request as done with -ESTALE);
 *  - the device's mapping, views and io_uring rings are not inherited
 *    (MADV_DONTFORK; the addresses are kept inaccessible): a store through
 *    an inherited pointer faults;
 *  - the one-opener lock is not shared: the child's copy of the device's
 *    descriptor is closed at fork, so the child's own udax_dev_open() of
 *    a file or device-dax gets -EBUSY while the parent holds it, and
 *    succeeds once the parent has closed it;
 *  - objects the child makes itself work as usual.
 * The parent is not affected: its pins, views, leases and io transfers in
 * flight stay its own.  The child cannot close inherited objects either
 * (-ESTALE): they are heap memory of the child, freed when it exits or
 * execs.  The check costs one load and a compare per call.  Only fork()
 * is seen (through pthread_atfork): after a raw clone(2) without
 * CLONE_VM the mappings are still not inherited, but the other rules do
 * not apply.
 */
#ifndef UDAX_DEV_H
#define UDAX_DEV_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <udax/error.h>
#include <udax/pagemap.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udax_dev;

/* ---- open / close --------------------------------------------------------- */

enum {
	/* file: create PATH if it does not exist (mode 0600); an empty file
	 * (new or not) is sized to opts->size. */
	UDAX_DEV_CREATE = 1u << 0,
	/* with UDAX_DEV_CREATE: fail with -EEXIST if PATH exists. */
	UDAX_DEV_EXCL = 1u << 1,
	/* Do not use libpmem2 even if built with it (plain mmap, own flushes). */
	UDAX_DEV_NO_PMEM2 = 1u << 2,
};

struct udax_dev_opts {
	unsigned flags;		/* UDAX_DEV_* */
	/*
	 * 0 (a page array in ordinary memory), UDAX_PGMAP_LIMITED (no page
	 * array: DAX access but never pinnable) or UDAX_PGMAP_ALTMAP (the
	 * page array in the first bytes of the device; see docs/dev.md).
	 */
	unsigned pgmap_flags;
	/* file with UDAX_DEV_CREATE: size of an empty file, a multiple of
	 * 4096.  Otherwise 0, or the size the existing file or device-dax
	 * must have (-EINVAL if it differs); memory: 0. */
	uint64_t size;
	const char *name;	/* name of the pagemap range; NULL: the spec */
	uint64_t reserved[4];	/* must be zero */
};

/*
 * Open the device named by @spec, map it, register its pagemap range and
 * load its partition table if it has one (a missing or bad table does not
 * fail the open: see udax_dev_part_count()).  @opts may be NULL (all zero).
 * On success *@out is the device.
 * Errors: -EINVAL (bad spec or options), -ENOENT (no such file or device),
 * -ENODEV (not a device-dax, or it cannot be mapped), -EBUSY (another open
 * holds the file or device: opens are exclusive, by flock(2)), -ENOMEM,
 * errors of open(2)/mmap(2), and those of udax_pgmap_register().
 */
int udax_dev_open(const char *spec, const struct udax_dev_opts *opts,
		  struct udax_dev **out);

enum {
	/* Wait until held pages are released instead of failing -EBUSY. */
	UDAX_DEV_CLOSE_WAIT = 1u << 0,
	/*
	 * If pages are still held (after the wait, with UDAX_DEV_CLOSE_WAIT),
	 * close anyway but leave the range registered and the memory mapped,
	 * so late holders never touch unmapped memory: both leak until the
	 * process exits.  Returns 0.
	 */
	UDAX_DEV_CLOSE_ABANDON = 1u << 1,
};

/*
 * Unregister the device's range, unmap it and free it; *@dev becomes NULL.
 * *@dev == NULL is a no-op.  Pages still held (e.g. pinned for DMA):
 * -EBUSY and the device stays open and usable, unless a flag says
 * otherwise.  Holders (file systems) must have detached before.
 */
int udax_dev_close(struct udax_dev **dev, unsigned flags);
/* The same, bounding the wait of UDAX_DEV_CLOSE_WAIT by @timeout_ns (-1:
 * none); -ETIMEDOUT leaves the device open (unless ABANDON). */
int udax_dev_close_timeout(struct udax_dev **dev, unsigned flags,
			   int64_t timeout_ns);

/*
 * The message of the last failed udax_dev_* call of this thread: one line,
 * naming the function and the cause.  Never NULL ("" before any failure).
 * Successful calls leave it alone; the next failure replaces it.
 */
const char *udax_dev_last_error(void);

/* ---- what a device is ------------------------------------------------------- */

enum udax_dev_kind {
	UDAX_DEV_KIND_MEM = 1,
	UDAX_DEV_KIND_FILE,
	UDAX_DEV_KIND_DEVDAX,
};

enum udax_dev_durability {
	/* Memory only: nothing outlives the device.  Flushes do nothing. */
	UDAX_DUR_VOLATILE = 1,
	/* Durable once written back from the CPU caches: flush (cache-line
	 * write-back) then drain (fence).  MAP_SYNC files, device-dax. */
	UDAX_DUR_CPU_CACHE,
	/* Durable once a store is globally visible (power-fail-protected
	 * caches, eADR): flush does nothing, drain is a fence. */
	UDAX_DUR_CPU_STORE,
	/* Durable after msync(2) of the pages (page cache in between). */
	UDAX_DUR_MSYNC,
};

struct udax_dev_info {
	enum udax_dev_kind kind;
	const char *spec;		/* as given to udax_dev_open() */
	const char *path;		/* file or device path; "" for mem */
	void *addr;			/* CPU address of device byte 0 */
	uint64_t size;			/* mapped bytes, a multiple of 4096 */
	size_t map_align;		/* alignment of addr (and of size for devdax) */
	enum udax_dev_durability durability;
	/* One line: how stores become durable here and why, e.g. that msync
	 * is used because the file is not on a DAX file system. */
	const char *durability_desc;
	const char *persist_impl;	/* "libpmem2", "clwb+sfence", "msync", ... */
	size_t store_granularity;	/* 1, 64 or 4096 bytes; 0: volatile */
	bool pmem2;			/* mapped and flushed through libpmem2 */
	/* The pagemap range (see udax_dev_pgmap()). */
	unsigned pgmap_flags;		/* UDAX_PGMAP_LIMITED / _ALTMAP / 0 */
	unsigned long pfn_first;	/* pfn of the first usable page */
	unsigned long nr_pages;		/* pages after the altmap (pfn span) */
	size_t altmap_bytes;		/* device bytes holding the page array */
	/* Device offset of the partition table; partitions start at or after
	 * table_offset + UDAX_DEV_PART_ALIGN. */
	uint64_t table_offset;
};

/* Fill @info; its strings live as long as the device.  -EINVAL if NULL. */
int udax_dev_info(const struct udax_dev *dev, struct udax_dev_info *info);

/*
 * The descriptor the device is mapped from, for mapping parts of it again
 * elsewhere (file-system views): device byte b is at file offset b.
 * *@align receives the alignment such mappings need (address, offset and
 * length): 4096 for memory and files, the device alignment for device-dax.
 * The descriptor belongs to the device; do not close it.
 */
int udax_dev_mmap_fd(const struct udax_dev *dev, int *fd, size_t *align);

/*
 * The device's pagemap range, for pfn lookups, pins and attaching holders.
 * Owned by the device: never unregister it.  NULL if @dev is NULL.
 */
struct udax_pgmap *udax_dev_pgmap(const struct udax_dev *dev);

/* ---- partitions ------------------------------------------------------------- */

#define UDAX_DEV_PART_ALIGN	(2ul << 20)	/* partition offsets and sizes */
#define UDAX_DEV_MAX_PARTS	63
#define UDAX_DEV_LABEL_MAX	23		/* bytes of a label, NUL excluded */

enum udax_part_type {
	UDAX_PART_TYPE_NONE = 0,	/* unspecified */
	UDAX_PART_TYPE_UDAXFS = 1,	/* holds a udax file system */
	/* other values: the application's own */
};

/* One partition to create. */
struct udax_part_spec {
	/* Bytes, rounded up to UDAX_DEV_PART_ALIGN; 0 on the last entry only:
	 * all the space that is left. */
	uint64_t size;
	uint32_t type;			/* enum udax_part_type or own */
	const char *label;		/* NULL or at most UDAX_DEV_LABEL_MAX bytes */
};

enum {
	/* Replace an existing partition table (valid or not). */
	UDAX_MKPART_FORCE = 1u << 0,
};

/*
 * Write a new partition table: @n partitions of @parts, laid out in order
 * from the first aligned offset after the table, or, with @n == 0 (@parts
 * NULL), one partition spanning the device.  Refuses with -EEXIST when the
 * device has a table (or a damaged one) unless UDAX_MKPART_FORCE, and with
 * -EBUSY while pages of the device are held.  -ENOSPC if they do not fit,
 * -EINVAL for bad arguments.  The table is written through the persistence
 * interface (hooks see it) so that after a crash the device holds either
 * the old table, none, or the new one.
 */
int udax_dev_mkpart(struct udax_dev *dev, const struct udax_part_spec *parts,
		    unsigned n, unsigned flags);

/*
 * Read the partition table from the device again and validate every field.
 * Returns the number of partitions, or: -ENODATA (no table: bad magic),
 * -EPROTONOSUPPORT (a table version this build does not read), -EUCLEAN
 * (damaged: checksum, bounds, alignment, overlaps, reserved fields).
 */
int udax_dev_part_read(struct udax_dev *dev);

/*
 * The number of partitions of the table loaded by the last open, mkpart or
 * read; or that load's error (as udax_dev_part_read(), message included).
 */
int udax_dev_part_count(struct udax_dev *dev);

struct udax_part_info {
	unsigned index;
	uint64_t offset;		/* device byte offset, 2 MiB-aligned */
	uint64_t size;			/* bytes, a multiple of 2 MiB */
	void *addr;			/* CPU address of the first byte */
	/* pfn span [pfn_first, pfn_first + nr_pages) in the device's range. */
	unsigned long pfn_first;
	unsigned long nr_pages;
	uint32_t type;
	char label[UDAX_DEV_LABEL_MAX + 1];
	uint8_t uuid[16];		/* unique, random at mkpart */
};

/* Describe partition @index of the loaded table.  -ENOENT if no such
 * partition, the load error if no valid table is loaded. */
int udax_dev_part(struct udax_dev *dev, unsigned index,
		  struct udax_part_info *info);

/* Make the device hold no table (clear it durably).  -EBUSY while pages
 * of the device are held. */
int udax_dev_part_wipe(struct udax_dev *dev);

/* ---- persistence -------------------------------------------------------------- */

enum {
	UDAX_PERSIST_NODRAIN = 1u << 0,	/* flush, but do not wait (drain later) */
	UDAX_PERSIST_NOFLUSH = 1u << 1,	/* store only (flush and drain later) */
};

/*
 * Ranges passed to these functions must lie inside the device's mapping
 * (-EFAULT otherwise; a zero length is always fine).  The return value is
 * 0, or a negative errno where durability failed (msync reports -EIO).
 * Thread-safe.  Cost without hooks: a range check and at most one indirect
 * call (the flush routine) around the flush work itself.
 */

/* Make [addr, addr + len) durable: flush, then drain. */
int udax_dev_persist(struct udax_dev *dev, const void *addr, size_t len);
/* Start writing [addr, addr + len) back; durable after the next drain. */
int udax_dev_flush(struct udax_dev *dev, const void *addr, size_t len);
/* Wait until every flush of this thread so far is durable. */
int udax_dev_drain(struct udax_dev *dev);
/* Copy to the device and make it durable (UDAX_PERSIST_* relax that).
 * The ranges must not overlap. */
int udax_dev_memcpy_persist(struct udax_dev *dev, void *dst, const void *src,
			    size_t len, unsigned flags);
int udax_dev_memset_persist(struct udax_dev *dev, void *dst, int c,
			    size_t len, unsigned flags);

/*
 * The persistence interface, for interposition (a crash-state explorer
 * records every store, flush and fence).  @ctx is the value given with it.
 */
struct udax_persist_ops {
	int (*flush)(void *ctx, const void *addr, size_t len);	/* required */
	int (*drain)(void *ctx);				/* required */
	/* Optional: NULL means flush then drain. */
	int (*persist)(void *ctx, const void *addr, size_t len);
	/* Optional: NULL means memcpy / memset, then flush and drain as
	 * @flags allow (through the ops above). */
	int (*memcpy_persist)(void *ctx, void *dst, const void *src,
			      size_t len, unsigned flags);
	int (*memset_persist)(void *ctx, void *dst, int c, size_t len,
			      unsigned flags);
};

/*
 * Route the device's persistence calls to @ops with @ctx (copied; @ctx is
 * not), after the range check; @ops NULL restores the device's own.  Must
 * not race with persistence calls on @dev.  -EINVAL if flush or drain is
 * NULL.
 */
int udax_dev_set_persist_hooks(struct udax_dev *dev,
			       const struct udax_persist_ops *ops, void *ctx);

/*
 * The device's own persistence, as ops + ctx, for hooks that record and
 * then pass calls through.  Valid while the device is open.
 */
void udax_dev_native_persist_ops(struct udax_dev *dev,
				 const struct udax_persist_ops **ops,
				 void **ctx);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_DEV_H */
