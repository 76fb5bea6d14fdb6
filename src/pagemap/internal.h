/* SPDX-License-Identifier: MIT */
/*
 * pagemap internals: the range descriptor, striped counters, the range
 * tables and RCU helpers shared by the files of src/pagemap/.
 */
#ifndef UDAX_PAGEMAP_INTERNAL_H
#define UDAX_PAGEMAP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <udax/pagemap.h>

#include "common/fault_alloc.h"
#include "pagemap/rcu.h"

#define CACHELINE	64
#define NR_STRIPES	64

/*
 * A counter split over cache lines so that threads working on different
 * pages (or different threads) do not bounce one line: the user-space form
 * of a percpu_ref.  Summing it is exact once no more increments can occur.
 */
struct stripe {
	_Atomic long busy;		/* pages held (+ idle transitions in flight) */
	_Atomic long refs;		/* range references from lookups */
	_Atomic uint64_t idle;		/* page_free calls */
} __attribute__((aligned(CACHELINE)));

struct holder_table;

struct udax_pgmap {
	/* Set at registration, read-only afterwards. */
	enum udax_pgmap_type type;
	unsigned flags;
	uint16_t id;
	bool managed;			/* idle transitions call page_free */
	const struct udax_pgmap_ops *ops;
	void *ops_data;
	char *name;
	char *base;			/* registered CPU address (NULL: private) */
	size_t size;
	char *data;			/* CPU address of the first usable page */
	size_t altmap_bytes;
	unsigned long pfn_first;	/* section-aligned */
	unsigned long nr_pages;		/* usable pages */
	unsigned long nr_sections;
	struct udax_page *pages;	/* NULL when LIMITED */
	size_t memmap_bytes;

	/* Teardown: see udax_pgmap_unregister(). */
	_Atomic int dying;
	_Atomic uint32_t drain_seq;	/* futex word, bumped by puts while dying */
	_Atomic uint64_t unbalanced_puts;	/* refused puts (misuse only) */

	/* FS_DAX holders, RCU-published; writers hold holder_lock. */
	_Atomic(struct holder_table *) holders;
	pthread_mutex_t holder_lock;

	struct stripe stripes[NR_STRIPES];
};

/* Range table by id: a page names its range by a 16-bit id. */
extern _Atomic(struct udax_pgmap *) udax_pgmap_table[UDAX_MAX_PGMAPS + 1];

static inline struct udax_pgmap *pgmap_of(const struct udax_page *page)
{
	return atomic_load_explicit(&udax_pgmap_table[page->_pgmap_id],
				    memory_order_acquire);
}

static inline unsigned long page_index(const struct udax_pgmap *pgmap,
				       const struct udax_page *page)
{
	return (unsigned long)(page - pgmap->pages);
}

/*
 * Pages use a stripe chosen by their index, so a page's +1 and -1 meet on
 * one line.  Neighbouring pages get different stripes (DMA works on runs of
 * pages); folding in the higher bits keeps pages a multiple of NR_STRIPES
 * apart (one per thread, one per file) from all landing on one stripe.
 */
static inline struct stripe *page_stripe(struct udax_pgmap *pgmap,
					 const struct udax_page *page)
{
	unsigned long i = page_index(pgmap, page);

	return &pgmap->stripes[(i ^ (i >> 6) ^ (i >> 12) ^ (i >> 18)) % NR_STRIPES];
}

/* Range references use the calling thread's stripe. */
struct stripe *thread_stripe(struct udax_pgmap *pgmap);

long stripes_sum_busy(struct udax_pgmap *pgmap);
long stripes_sum_refs(struct udax_pgmap *pgmap);

/* pagemap.c: set the thread's message (udax_pgmap_last_error()); returns @err. */
int pgmap_err(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* lookup.c: the pfn (section) and CPU address indexes. */
extern pthread_mutex_t udax_registry_lock;
/* Install the registry's fork handlers (once); 0 or -ENOMEM. */
int udax_registry_atfork(void);
int lookup_insert(struct udax_pgmap *pgmap);	/* assigns pfn_first */
void lookup_remove(struct udax_pgmap *pgmap);
bool pgmap_tryget_live(struct udax_pgmap *pgmap);	/* under rcu read lock */

/* wait.c */
void udax_wake_idle_waiters(struct udax_page *page);
/* Wait for @page idle until the absolute CLOCK_MONOTONIC @deadline_ns
 * (UINT64_MAX: none).  Returns 0, -ETIMEDOUT or -ECANCELED. */
int __udax_wait_idle(struct udax_page *page, uint64_t deadline_ns,
		     struct udax_cancel *cancel);
int futex_wait_until(_Atomic uint32_t *word, uint32_t val, uint64_t deadline_ns);
void futex_wake_all(_Atomic uint32_t *word);
uint64_t udax_now_ns(void);
uint64_t udax_deadline(int64_t timeout_ns);	/* -1 → UINT64_MAX */

/* holder.c */
void holders_free(struct udax_pgmap *pgmap);

#endif
