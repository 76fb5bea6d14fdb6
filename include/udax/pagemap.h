/* SPDX-License-Identifier: MIT */
/*
 * udax pagemap: device memory with per-page reference counts and an owner
 * callback when a page goes idle.
 *
 * The user-space form of the kernel's struct dev_pagemap (mm/memremap.c).
 * A range of device memory is registered with a type and an ops table; it
 * gets page frame numbers (pfns) and an array of 16-byte page descriptors.
 * Pages are referenced with udax_get_page() / udax_put_page().  When a page
 * of a range with callbacks becomes idle, the range's ->page_free() runs,
 * exactly once per idle transition, and threads waiting for the page to go
 * idle are woken.
 *
 * Reference convention: a page is idle when it has 0 holders.  (The kernel
 * before v6.15 called a ZONE_DEVICE page idle at count 1, because the range
 * held a base reference on every page; that made "is it free?" a special
 * case in every put path and let a plain put_page underflow silently into
 * the range's reference.  Counting holders only makes 0 mean idle
 * everywhere, as v6.15 does.)
 *
 * Lifetime rules:
 *  - Taking the first reference of an idle page needs a live reference on
 *    its range: one from udax_get_dev_pagemap(), or the registrant's own
 *    handle before it unregisters.  Further references need only a held
 *    reference to the page (as with the kernel's get_page()).
 *  - A held page keeps its range registered: unregistering fails with
 *    -EBUSY (or waits, when asked) until every page is idle.
 *
 * All functions are thread-safe.  Errors are negative errno values;
 * udax_strerror() describes them.
 */
#ifndef UDAX_PAGEMAP_H
#define UDAX_PAGEMAP_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <udax/error.h>
#include <udax/static_key.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UDAX_PAGE_SHIFT		12
#define UDAX_PAGE_SIZE		(1ul << UDAX_PAGE_SHIFT)
/* pfns are handed out in sections: every range starts on a section. */
#define UDAX_SECTION_SHIFT	9	/* 512 pages = 2 MiB */
#define UDAX_MAX_PGMAPS		65535

enum udax_pgmap_type {
	UDAX_PGMAP_FS_DAX = 1,		/* file system data (MEMORY_DEVICE_FS_DAX) */
	UDAX_PGMAP_DEVICE_PRIVATE,	/* not CPU-addressable (MEMORY_DEVICE_PRIVATE) */
	UDAX_PGMAP_DEVICE_PUBLIC,	/* coherent device memory (MEMORY_DEVICE_PUBLIC) */
	UDAX_PGMAP_GENERIC,		/* reference counts only, no callbacks */
};

/*
 * The page descriptor: 16 bytes (the kernel's struct page is 64).
 * Treat as opaque; use the accessors below.
 */
struct udax_page {
	_Atomic uint32_t _refcount;	/* holders (bits 0-29), UDAX_PAGE_WAITERS */
	uint16_t _pgmap_id;		/* index of the range in the range table */
	uint16_t _flags;		/* UDAX_PG_* */
	_Atomic uint64_t _owner;	/* owner slot: mapping (high 32) | index (low 32) */
};

#define UDAX_PAGE_REF_MASK	0x3fffffffu
#define UDAX_PAGE_WAITERS	0x40000000u	/* someone sleeps until idle */
#define UDAX_PG_MANAGED		0x0001u		/* idle transitions call page_free */

struct udax_pgmap;

struct udax_pgmap_ops {
	/*
	 * Called once each time a page of the range becomes idle (its last
	 * reference was dropped), from the thread that dropped it.  Must not
	 * sleep for long, and must not unregister the range.  May take a new
	 * first reference on the page (through the range it owns).
	 */
	void (*page_free)(struct udax_page *page, void *data);
};

/* The standard FS_DAX ops: page_free tells the page's holder (see below). */
extern const struct udax_pgmap_ops udax_fsdax_pgmap_ops;

enum {
	/*
	 * Keep the page array in the first bytes of the range itself (the
	 * kernel's altmap) instead of in ordinary memory.
	 */
	UDAX_PGMAP_ALTMAP = 1u << 0,
	/*
	 * No page array at all (the kernel's FS_DAX_LIMITED): the range is
	 * addressable and can be looked up, but no page can be referenced,
	 * so it can never be pinned.
	 */
	UDAX_PGMAP_LIMITED = 1u << 1,
};

struct udax_pgmap_params {
	enum udax_pgmap_type type;
	unsigned flags;			/* UDAX_PGMAP_ALTMAP | UDAX_PGMAP_LIMITED */
	void *addr;			/* CPU address; NULL for DEVICE_PRIVATE */
	size_t size;			/* bytes, a multiple of UDAX_PAGE_SIZE */
	/*
	 * NULL: FS_DAX ranges get udax_fsdax_pgmap_ops; DEVICE_PRIVATE and
	 * DEVICE_PUBLIC ranges must give a page_free; GENERIC must not.
	 */
	const struct udax_pgmap_ops *ops;
	void *ops_data;			/* second argument of page_free */
	const char *name;		/* for messages; copied */
};

struct udax_pgmap_info {
	enum udax_pgmap_type type;
	unsigned flags;
	const char *name;
	unsigned long pfn_first;	/* pfn of the first usable page */
	unsigned long nr_pages;		/* usable pages (LIMITED: pfns, no descriptors) */
	void *addr;			/* CPU address of the first usable page */
	size_t size;			/* registered bytes */
	size_t altmap_bytes;		/* bytes of the range used by the page array */
	size_t memmap_bytes;		/* bytes of page array */
	bool managed;			/* idle transitions call page_free */
	unsigned long busy_pages;	/* pages held now (a snapshot) */
	uint64_t idle_transitions;	/* page_free calls so far */
	/*
	 * Puts refused because the page had no reference (a put without
	 * its get, an unpin of a page nobody pinned): the count stays 0
	 * instead of wrapping, and the put is counted here (see
	 * udax_put_page()).
	 */
	uint64_t unbalanced_puts;
};

/*
 * Register a range.  On success *out is the registrant's handle: it may
 * take first references on the range's pages until it unregisters.
 * Registering a range with callbacks enables the put_page managed path
 * (udax_pagemap_managed_key) before the range becomes visible.
 * Errors: -EINVAL (bad parameters), -ENOMEM, -ENOSPC (no pfns or range
 * slots left), -EEXIST (CPU range overlaps a registered range).
 */
int udax_pgmap_register(const struct udax_pgmap_params *params,
			struct udax_pgmap **out);

enum {
	UDAX_UNREGISTER_WAIT = 1u << 0,	/* wait for held pages instead of -EBUSY */
};

/*
 * Unregister a range: stop new lookups, wait for outstanding range
 * references, then remove it if no page is held.  Pages held: -EBUSY, or
 * with UDAX_UNREGISTER_WAIT wait until they are released.  @timeout_ns
 * bounds all waiting (-1: no bound); on -ETIMEDOUT or -EBUSY the range
 * stays registered (lookups fail only while the attempt lasts).
 * On success the handle is freed.
 */
int udax_pgmap_unregister(struct udax_pgmap *pgmap, unsigned flags,
			  int64_t timeout_ns);

/*
 * Look up the range holding @pfn and return it with a reference, or NULL.
 * @cached is a reference the caller already holds (or NULL): if it covers
 * @pfn it is returned as is, without a second reference; otherwise it is
 * dropped and the slow lookup runs.  Lock-free (RCU) on the read side.
 */
struct udax_pgmap *udax_get_dev_pagemap(unsigned long pfn,
					struct udax_pgmap *cached);
/* The same, for a CPU address inside a range (data or altmap part). */
struct udax_pgmap *udax_get_dev_pagemap_addr(const void *addr,
					     struct udax_pgmap *cached);
void udax_put_dev_pagemap(struct udax_pgmap *pgmap);

void udax_pgmap_get_info(const struct udax_pgmap *pgmap,
			 struct udax_pgmap_info *info);

/* The page of @pfn in @pgmap, or NULL if outside it or LIMITED. */
struct udax_page *udax_pgmap_pfn_to_page(const struct udax_pgmap *pgmap,
					 unsigned long pfn);
/* Page accessors; the caller holds a reference to the page or its range. */
struct udax_pgmap *udax_page_pgmap(const struct udax_page *page);
unsigned long udax_page_to_pfn(const struct udax_page *page);
void *udax_page_address(const struct udax_page *page);	/* NULL if private */

static inline unsigned udax_page_ref_count(const struct udax_page *page)
{
	return atomic_load_explicit(&((struct udax_page *)page)->_refcount,
				    memory_order_acquire) & UDAX_PAGE_REF_MASK;
}

static inline void udax_page_set_owner(struct udax_page *page,
				       uint32_t mapping, uint32_t index)
{
	atomic_store_explicit(&page->_owner,
			      ((uint64_t)mapping << 32) | index,
			      memory_order_release);
}

static inline uint32_t udax_page_owner(const struct udax_page *page,
				       uint32_t *index)
{
	uint64_t v = atomic_load_explicit(&((struct udax_page *)page)->_owner,
					  memory_order_acquire);
	if (index)
		*index = (uint32_t)v;
	return (uint32_t)(v >> 32);
}

/* ---- reference counting: the hot path ---------------------------------- */

/* Enabled while at least one registered range has callbacks. */
UDAX_STATIC_KEY_EXTERN(udax_pagemap_managed_key);

void __udax_page_first_ref(struct udax_page *page);
void __udax_page_idle(struct udax_page *page, uint32_t old);
void __udax_page_put_unbalanced(struct udax_page *page, uint32_t old);

/*
 * Take a reference.  The caller holds a reference to the page, or (for the
 * first one) a live reference on its range.  Returns true when this was the
 * first reference (the page was idle).
 */
static inline bool udax_get_page(struct udax_page *page)
{
	uint32_t old = atomic_fetch_add_explicit(&page->_refcount, 1,
						 memory_order_relaxed);
	if (__builtin_expect((old & UDAX_PAGE_REF_MASK) == 0, 0)) {
		__udax_page_first_ref(page);
		return true;
	}
	return false;
}

/*
 * Drop a reference.  While no range needs callbacks the static key is off
 * and this is one atomic decrement.  Otherwise pages of ranges with
 * callbacks take the managed path: the thread that drops the last
 * reference runs page_free and wakes idle waiters.
 *
 * An unbalanced put (the page had no reference) is refused: the count is
 * put back to 0 instead of wrapping, the range's unbalanced_puts grows
 * and udax_pgmap_last_error() names the pfn.  It costs nothing when the
 * count is sane: the plain path tests the sign flag its own decrement
 * sets (`lock sub; js`, as the kernel's x86 refcount_t did), the managed
 * path widens its "last reference" test from == 1 to <= 1.  (A get or put
 * of the same page racing the unbalanced put can see its transient -1: the
 * put is then miscounted and the page may keep one reference nobody holds;
 * the count still never wraps.)
 */
static inline void udax_put_page(struct udax_page *page)
{
	uint32_t old;

	if (udax_static_branch_unlikely_extern(udax_pagemap_managed_key) &&
	    (page->_flags & UDAX_PG_MANAGED)) {
		old = atomic_fetch_sub_explicit(&page->_refcount, 1,
						memory_order_acq_rel);
		if (__builtin_expect((old & UDAX_PAGE_REF_MASK) <= 1, 0))
			__udax_page_idle(page, old);	/* 1: idle, 0: unbalanced */
		return;
	}
	/* Pages of ranges without callbacks never carry UDAX_PAGE_WAITERS
	 * (nobody waits on them), so 0 - 1 is the only negative result; the
	 * old value is then known to be 0 and is not asked for, which lets
	 * the compiler test the flags of `lock sub` instead of using xadd. */
	old = atomic_fetch_sub_explicit(&page->_refcount, 1, memory_order_release);
	if (__builtin_expect((int32_t)(old - 1) < 0, 0))
		__udax_page_put_unbalanced(page, 0);
}

/*
 * Drop one reference on each of @n pages (NULL entries are skipped).
 * Returns 0, or -EINVAL when a page had no reference: that put is
 * refused (see udax_put_page()), the others are done.
 */
int udax_release_pages(struct udax_page **pages, size_t n);

/* ---- pins ---------------------------------------------------------------- */

/*
 * Pin @n pages from @pfn for DMA: look up the range, take a reference on
 * each page, store them in @pages.  All or nothing.  Errors: -ENOENT (no
 * range), -EOPNOTSUPP (LIMITED range: not pinnable), -EFAULT (DEVICE_PRIVATE:
 * no CPU address to DMA to), -EINVAL (range crossed or n == 0),
 * -EOVERFLOW (a page's count is saturated).
 */
int udax_pin_pages(unsigned long pfn, size_t n, struct udax_page **pages);
/*
 * Release pins taken by udax_pin_pages(): the same release path as put.
 * Returns 0, or -EINVAL when a page was not pinned (its count was 0): that
 * unpin is refused and counted (udax_pgmap_info.unbalanced_puts), the
 * count stays 0, udax_pgmap_last_error() names the page's pfn; the other
 * pages are released.
 */
int udax_unpin_pages(struct udax_page **pages, size_t n);

/*
 * The message of this thread's last pagemap failure or refused put: one
 * line naming the cause (which range, which pfn).  Never NULL ("" before
 * any).  Successful calls leave it alone.
 */
const char *udax_pgmap_last_error(void);

/* ---- idle waits ------------------------------------------------------------ */

/* A cancellation token: fire it from any thread to end waits using it. */
struct udax_cancel;
int udax_cancel_new(struct udax_cancel **out);
void udax_cancel_delete(struct udax_cancel **cancel);
void udax_cancel_fire(struct udax_cancel *cancel);
bool udax_cancel_fired(const struct udax_cancel *cancel);
void udax_cancel_reset(struct udax_cancel *cancel);

/*
 * Sleep until @page is idle.  Returns 0 once the page was seen idle,
 * -ETIMEDOUT after @timeout_ns (-1: no bound, 0: just check), -ECANCELED if
 * @cancel (may be NULL) fired, -EOPNOTSUPP if its range has no callbacks
 * (nobody would wake us).  The caller must keep the range alive and, if it
 * needs the page to stay idle, stop new references itself.
 */
int udax_page_wait_idle(struct udax_page *page, int64_t timeout_ns,
			struct udax_cancel *cancel);
/* The same for every page of [pfn, pfn + n), which must lie in one range. */
int udax_pfn_range_wait_idle(unsigned long pfn, size_t n, int64_t timeout_ns,
			     struct udax_cancel *cancel);

/* ---- holders: who is told when an FS_DAX page goes idle ------------------ */

struct udax_dax_holder_ops {
	/*
	 * A page in the holder's pfn span went idle.  Runs inside page_free,
	 * before threads waiting for the page are woken; same rules as
	 * page_free.
	 */
	void (*page_idle)(void *holder, struct udax_page *page);
};

/*
 * Attach a holder (a file system) to [pfn, pfn + n) of an FS_DAX range that
 * uses udax_fsdax_pgmap_ops.  Spans of different holders must not overlap
 * (-EBUSY): several file systems on partitions of one device share the
 * range without colliding.  Detach waits until no page_idle call on the
 * holder is running; it fails only for a holder not attached (-ENOENT),
 * never for lack of memory.
 */
int udax_pgmap_attach_holder(struct udax_pgmap *pgmap, unsigned long pfn,
			     unsigned long n, const struct udax_dax_holder_ops *ops,
			     void *holder);
int udax_pgmap_detach_holder(struct udax_pgmap *pgmap, void *holder);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_PAGEMAP_H */
