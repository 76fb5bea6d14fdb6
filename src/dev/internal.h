/* SPDX-License-Identifier: MIT */
/* Device layer internals shared by the files of src/dev/. */
#ifndef UDAX_DEV_INTERNAL_H
#define UDAX_DEV_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <udax/dev.h>

#include "common/fault_alloc.h"
#include "common/fork.h"

#ifdef UDAX_HAVE_PMEM2
struct pmem2_map;
#endif

#define MIB			(1ull << 20)
#define DEV_MAP_ALIGN		(2ul << 20)	/* mappings start on 2 MiB */

/* How the device's own persistence works (the native ops). */
enum persist_mode {
	PM_NONE,	/* volatile: flush is nothing, drain a compiler barrier */
	PM_CPU,		/* flush_fn + drain_fn (libpmem2's or ours) */
	PM_MSYNC,	/* msync(MS_SYNC) of the pages; drain is nothing */
};

typedef void (*dev_flush_fn)(const void *addr, size_t len);
typedef void (*dev_drain_fn)(void);
typedef void *(*dev_memcpy_fn)(void *dst, const void *src, size_t len,
			       unsigned flags);
typedef void *(*dev_memset_fn)(void *dst, int c, size_t len, unsigned flags);

/* A partition, decoded from media and validated. */
struct dev_part {
	uint64_t offset, size;
	uint32_t type;
	char label[UDAX_DEV_LABEL_MAX + 1];
	uint8_t uuid[16];
};

struct udax_dev {
	/* Hot: read by every persistence call. */
	char *addr;
	uint64_t size;
	bool hooked;
	enum persist_mode pmode;
	dev_flush_fn flush_fn;		/* PM_CPU */
	dev_drain_fn drain_fn;		/* PM_CPU */
	dev_memcpy_fn memcpy_fn;	/* PM_CPU: libpmem2's, or NULL */
	dev_memset_fn memset_fn;
	bool nt_stores;			/* PM_CPU, ours: big copies by movnt */
	struct udax_persist_ops hooks;
	void *hooks_ctx;

	/* Set at open, read-only afterwards (but see dev_fork_child()). */
	unsigned long fork_gen;		/* the opener's fork generation */
	pid_t owner;			/* the opener, for messages */
	struct fork_node fork_node;
	enum udax_dev_kind kind;
	char *spec;
	char *path;
	int fd;
	bool created;			/* the open created the file */
	bool hugetlb;			/* mem: of hugetlb pages (maps in 2 MiB) */
	size_t map_align;
	size_t map_len;			/* bytes mapped (munmap) */
	enum udax_dev_durability durability;
	char *durability_desc;		/* heap; see dev_set_desc() */
	const char *persist_impl;
	size_t store_granularity;
	bool pmem2;
#ifdef UDAX_HAVE_PMEM2
	struct pmem2_map *pmem2_map;
#endif
	struct udax_pgmap *pgmap;
	unsigned pgmap_flags;
	unsigned long pfn_first;	/* pfn of device offset altmap_bytes */
	unsigned long nr_pages;
	size_t altmap_bytes;

	/* Partition table, as loaded; under lock. */
	pthread_mutex_t lock;
	uint64_t table_offset;		/* where the table is or will go */
	int table_err;			/* 0, or why no table is loaded */
	char table_msg[200];		/* message of table_err */
	unsigned nr_parts;
	struct dev_part parts[UDAX_DEV_MAX_PARTS];
	/* Partitions in use (claim.h), under lock.  Claims never overlap. */
	unsigned nr_claims;
	struct dev_claim {
		uint64_t offset, size;	/* the partition when claimed */
		unsigned part;
		const char *what;	/* "mounted", ... (static strings) */
	} claims[UDAX_DEV_MAX_PARTS];
};

/* dev.c: the thread's error message.  Returns @err. */
int dev_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Bumped by every dev_err() of this thread: did a call set a message? */
unsigned dev_err_seq(void);
/* dev.c: -ESTALE with a message saying what to do; for dev_owned(). */
int dev_err_inherited(const struct udax_dev *dev, const char *fn);
/*
 * 0 if this process opened @dev, else (a child after fork) -ESTALE with a
 * message.  One load and a compare: every entry point taking a device
 * calls it first.
 */
static inline int dev_owned(const struct udax_dev *dev, const char *fn)
{
	return fork_inherited(dev->fork_gen) ? dev_err_inherited(dev, fn) : 0;
}
/* dev.c: set (or with @append, extend) dev->durability_desc. */
void dev_set_desc(struct udax_dev *dev, bool append, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* map.c */
struct dev_open_ctx {
	const char *path;
	unsigned flags;			/* UDAX_DEV_* */
	uint64_t size;			/* mem: size; file: create size */
	bool is_mem;
	/* mem: persist=MODE (NULL: volatile) and huge=hugetlb. */
	const char *mem_persist;
	bool mem_hugetlb;
	bool want_devdax;		/* "devdax:" prefix */
	bool want_file;			/* "file:" prefix */
};
int dev_map(struct udax_dev *dev, const struct dev_open_ctx *oc);
void dev_unmap(struct udax_dev *dev);

/* persist.c */
void dev_persist_init_cpu(struct udax_dev *dev);	/* PM_CPU without libpmem2 */
const char *dev_cpu_flush_name(void);
bool dev_cpu_flush_available(void);
/* PM_CPU with the routine named @mode ("cpu": the best one; "clwb",
 * "clflushopt", "clflush"): 0, or -EOPNOTSUPP if this CPU lacks it. */
int dev_persist_init_named(struct udax_dev *dev, const char *mode);

/* part.c */
/* Find and load the table at open (after the range is registered). */
void dev_part_load(struct udax_dev *dev);
/* Before registering an ALTMAP range: does device byte 0 hold a table? */
bool dev_part_magic_at(const struct udax_dev *dev, uint64_t offset);

/* claim.c: under dev->lock, -EBUSY (message) if a claim overlaps
 * [offset, offset + size); fn names the caller in the message. */
int dev_check_unclaimed(struct udax_dev *dev, uint64_t offset, uint64_t size,
			const char *fn);

/* splitmix64: the next of a well-mixed 64-bit sequence from state @s. */
static inline uint64_t dev_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

#endif
