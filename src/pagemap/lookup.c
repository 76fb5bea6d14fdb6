/* SPDX-License-Identifier: MIT */
/*
 * Lookup from pfn or CPU address to a range, and range references.
 *
 * pfns are ours to assign, so every range starts on a section boundary and
 * owns whole sections; a pfn lookup is one index into an RCU-published
 * array of sections (the kernel uses an xarray keyed by pfn for the same
 * reason).  CPU addresses are wherever the device was mapped, so they are
 * kept in an RCU-published sorted array searched by bisection.  Readers
 * take no lock; writers hold udax_registry_lock, publish a new array and
 * free the old one after a grace period.
 *
 * A range reference is the percpu_ref of the kernel's dev_pagemap: a
 * striped counter plus a "dying" flag.  tryget_live runs under the RCU read
 * lock and checks the flag before counting, so once the killer has set the
 * flag and waited one grace period no new reference can appear and the sum
 * of the stripes only falls.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap/internal.h"

pthread_mutex_t udax_registry_lock = PTHREAD_MUTEX_INITIALIZER;
#ifdef UDAX_TSAN
char udax_rcu_grace_period;
#endif

/*
 * fork(): a child may register ranges of its own (a device opened anew,
 * include/udax/dev.h).  Hold the registry and liburcu's own registry
 * across fork() so that the child's copies are consistent, and have
 * liburcu forget the parent's other threads in the child: a read-side
 * section of theirs in progress at fork time would otherwise stall every
 * grace period of the child.  liburcu-bp leaves these calls to its users
 * (urcu-bp.h).
 */
static void registry_prepare(void)
{
	pthread_mutex_lock(&udax_registry_lock);
	urcu_bp_before_fork();
}

static void registry_parent(void)
{
	urcu_bp_after_fork_parent();
	pthread_mutex_unlock(&udax_registry_lock);
}

static void registry_child(void)
{
	urcu_bp_after_fork_child();
	pthread_mutex_unlock(&udax_registry_lock);
}

static pthread_once_t registry_atfork_once = PTHREAD_ONCE_INIT;
static int registry_atfork_err;

static void registry_atfork_install(void)
{
	registry_atfork_err = -pthread_atfork(registry_prepare, registry_parent,
					      registry_child);
}

int udax_registry_atfork(void)
{
	pthread_once(&registry_atfork_once, registry_atfork_install);
	return registry_atfork_err;
}

struct section_table {
	unsigned long nr;
	_Atomic(struct udax_pgmap *) map[];
};

struct addr_entry {
	uintptr_t start, end;		/* [start, end) */
	struct udax_pgmap *pgmap;	/* NULL: removed in place (lookup_remove) */
};

struct addr_index {
	size_t nr;
	struct addr_entry e[];
};

static _Atomic(struct section_table *) sections;
static _Atomic(struct addr_index *) addr_index;

/* First section handed out: pfn 0 is never valid, to catch zeroed pfns. */
#define FIRST_SECTION	1ul

static unsigned long pfn_to_section(unsigned long pfn)
{
	return pfn >> UDAX_SECTION_SHIFT;
}

/* Find @nr free sections (first fit) and grow the table if needed. */
static long sections_reserve(unsigned long nr)
{
	struct section_table *t = atomic_load(&sections), *nt;
	unsigned long start = FIRST_SECTION, run = 0, i, size;

	for (i = FIRST_SECTION; t && i < t->nr && run < nr; i++) {
		if (atomic_load_explicit(&t->map[i], memory_order_relaxed)) {
			run = 0;
			start = i + 1;
		} else {
			run++;
		}
	}
	if (t && run >= nr)
		return (long)start;

	/* Not enough room at the end: grow to at least start + nr. */
	size = t ? t->nr : 64;
	while (size < start + nr)
		size *= 2;
	if (size > (1ul << 40) || !(nt = fault_calloc(1, sizeof(*nt) + size * sizeof(nt->map[0]))))
		return -ENOMEM;
	nt->nr = size;
	for (i = 0; t && i < t->nr; i++)
		atomic_init(&nt->map[i], atomic_load(&t->map[i]));
	udax_rcu_assign(sections, nt);
	if (t) {
		udax_synchronize_rcu();
		free(t);
	}
	return (long)start;
}

static int addr_index_update(struct udax_pgmap *add, struct udax_pgmap *del)
{
	struct addr_index *old = atomic_load(&addr_index), *ni;
	size_t n = old ? old->nr : 0, i, j = 0;
	uintptr_t s = add ? (uintptr_t)add->base : 0, e = s + (add ? add->size : 0);
	bool pending = add != NULL;	/* @add still to be placed */

	ni = fault_malloc(sizeof(*ni) + (n + 1) * sizeof(ni->e[0]));
	if (!ni)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct addr_entry *x = &old->e[i];

		if (x->pgmap == del || !x->pgmap)
			continue;
		if (add && s < x->end && x->start < e) {
			free(ni);
			return -EEXIST;
		}
		if (pending && s < x->start) {
			ni->e[j++] = (struct addr_entry){ s, e, add };
			pending = false;
		}
		ni->e[j++] = *x;
	}
	if (pending)
		ni->e[j++] = (struct addr_entry){ s, e, add };
	ni->nr = j;
	udax_rcu_assign(addr_index, ni);
	if (old) {
		udax_synchronize_rcu();
		free(old);
	}
	return 0;
}

/*
 * Called with udax_registry_lock held.  Assigns pgmap->pfn_first before
 * either index can return the range: a reader must never see a range
 * whose pfns are not set yet.
 */
int lookup_insert(struct udax_pgmap *pgmap)
{
	struct section_table *t;
	unsigned long i;
	long first;
	int ret;

	first = sections_reserve(pgmap->nr_sections);
	if (first < 0)
		return (int)first;
	pgmap->pfn_first = (unsigned long)first << UDAX_SECTION_SHIFT;
	if (pgmap->base) {
		ret = addr_index_update(pgmap, NULL);
		if (ret)
			return ret;	/* sections were only reserved, not taken */
	}
	t = atomic_load(&sections);
	for (i = 0; i < pgmap->nr_sections; i++)
		udax_rcu_assign(t->map[first + i], pgmap);
	return 0;
}

/* Called with udax_registry_lock held; the caller waits a grace period. */
void lookup_remove(struct udax_pgmap *pgmap)
{
	struct section_table *t = atomic_load(&sections);
	unsigned long i, first = pfn_to_section(pgmap->pfn_first);

	for (i = 0; i < pgmap->nr_sections; i++)
		udax_rcu_assign(t->map[first + i], NULL);
	if (pgmap->base) {
		/* Removing never fails for lack of memory: fall back to
		 * emptying the entry in place.  Its bounds stay, so the
		 * array stays sorted for the bisection; it names no range
		 * (the next copy drops it). */
		if (addr_index_update(NULL, pgmap)) {
			struct addr_index *ai = atomic_load(&addr_index);

			for (i = 0; i < ai->nr; i++)
				if (ai->e[i].pgmap == pgmap)
					__atomic_store_n(&ai->e[i].pgmap, NULL,
							 __ATOMIC_RELEASE);
		}
	}
}

bool pgmap_tryget_live(struct udax_pgmap *pgmap)
{
	if (atomic_load(&pgmap->dying))
		return false;
	atomic_fetch_add_explicit(&thread_stripe(pgmap)->refs, 1,
				  memory_order_relaxed);
	return true;
}

static bool pfn_in(const struct udax_pgmap *pgmap, unsigned long pfn)
{
	return pfn >= pgmap->pfn_first && pfn - pgmap->pfn_first < pgmap->nr_pages;
}

static bool addr_in(const struct udax_pgmap *pgmap, uintptr_t a)
{
	return pgmap->base && a >= (uintptr_t)pgmap->base &&
	       a - (uintptr_t)pgmap->base < pgmap->size;
}

struct udax_pgmap *udax_get_dev_pagemap(unsigned long pfn,
					struct udax_pgmap *cached)
{
	struct udax_pgmap *pgmap = NULL;
	struct section_table *t;
	unsigned long sec = pfn_to_section(pfn);

	/* In the cached case the caller's live reference is handed back. */
	if (cached) {
		if (pfn_in(cached, pfn))
			return cached;
		udax_put_dev_pagemap(cached);
	}

	udax_rcu_read_lock();
	t = udax_rcu_dereference(sections);
	if (t && sec < t->nr) {
		pgmap = udax_rcu_dereference(t->map[sec]);
		if (pgmap && (!pfn_in(pgmap, pfn) || !pgmap_tryget_live(pgmap)))
			pgmap = NULL;
	}
	udax_rcu_read_unlock();
	return pgmap;
}

struct udax_pgmap *udax_get_dev_pagemap_addr(const void *addr,
					     struct udax_pgmap *cached)
{
	struct udax_pgmap *pgmap = NULL;
	struct addr_index *ai;
	uintptr_t a = (uintptr_t)addr;

	if (cached) {
		if (addr_in(cached, a))
			return cached;
		udax_put_dev_pagemap(cached);
	}

	udax_rcu_read_lock();
	ai = udax_rcu_dereference(addr_index);
	if (ai) {
		size_t lo = 0, hi = ai->nr;

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (a < ai->e[mid].start)
				hi = mid;
			else if (a >= ai->e[mid].end)
				lo = mid + 1;
			else {
				pgmap = __atomic_load_n(&ai->e[mid].pgmap,
							__ATOMIC_ACQUIRE);
				break;
			}
		}
		if (pgmap && !pgmap_tryget_live(pgmap))
			pgmap = NULL;
	}
	udax_rcu_read_unlock();
	return pgmap;
}

/*
 * Drop a range reference.  While the range is dying its unregisterer
 * sleeps on drain_seq; the bump and wake happen inside a read-side section
 * so that the unregisterer's final grace period covers them before the
 * range is freed.
 */
void udax_put_dev_pagemap(struct udax_pgmap *pgmap)
{
	if (!pgmap)
		return;
	udax_rcu_read_lock();
	atomic_fetch_sub_explicit(&thread_stripe(pgmap)->refs, 1,
				  memory_order_release);
	if (atomic_load(&pgmap->dying)) {
		atomic_fetch_add(&pgmap->drain_seq, 1);
		futex_wake_all(&pgmap->drain_seq);
	}
	udax_rcu_read_unlock();
}
