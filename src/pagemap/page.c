/* SPDX-License-Identifier: MIT */
/*
 * The slow halves of get_page / put_page, batched release and pins.
 *
 * The fast halves are inline in include/udax/pagemap.h.  A page of a
 * managed range (one with a page_free callback) keeps its range busy from
 * its first reference until the page_free that follows its last one: the
 * busy count is what lets udax_pgmap_unregister() tell that no thread is
 * still inside page_free for one of its pages, so the range is never freed
 * under a releasing thread.  (The kernel gets the same from the dev_pagemap
 * reference each in-use ZONE_DEVICE page holds.)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "pagemap/internal.h"

/* 0 -> 1: the caller holds a live range reference, so the range is not
 * dying and its busy count may rise. */
void __udax_page_first_ref(struct udax_page *page)
{
	struct udax_pgmap *pgmap;

	if (!(page->_flags & UDAX_PG_MANAGED))
		return;
	pgmap = pgmap_of(page);
	atomic_fetch_add_explicit(&page_stripe(pgmap, page)->busy, 1,
				  memory_order_relaxed);
}

/*
 * 1 -> 0 on a managed page: exactly one thread gets here per idle
 * transition, the one whose decrement reached zero.  Order matters:
 * page_free first (the owner's bookkeeping is done before anyone who
 * waited for idleness runs), then the waiters, then the busy count, which
 * is the last touch of the range.
 */
void __udax_page_idle(struct udax_page *page, uint32_t old)
{
	struct udax_pgmap *pgmap = pgmap_of(page);
	struct stripe *s = page_stripe(pgmap, page);

	pgmap->ops->page_free(page, pgmap->ops_data);
	if (old & UDAX_PAGE_WAITERS)
		udax_wake_idle_waiters(page);
	atomic_fetch_add_explicit(&s->idle, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->busy, 1, memory_order_release);
}

static inline void put_one(struct udax_page *page)
{
	uint32_t old;

	if (!(page->_flags & UDAX_PG_MANAGED)) {
		atomic_fetch_sub_explicit(&page->_refcount, 1, memory_order_release);
		return;
	}
	old = atomic_fetch_sub_explicit(&page->_refcount, 1, memory_order_acq_rel);
	if ((old & UDAX_PAGE_REF_MASK) == 1)
		__udax_page_idle(page, old);
}

/*
 * Batched release.  The decrements are done first and the idle transitions
 * after, so that page_free callbacks of one batch run back to back and a
 * waiter on several pages of the batch is woken with all of them idle.
 */
void udax_release_pages(struct udax_page **pages, size_t n)
{
	enum { BATCH = 32 };
	struct udax_page *idle[BATCH];
	uint32_t olds[BATCH];
	size_t nidle = 0;

	for (size_t i = 0; i < n; i++) {
		struct udax_page *page = pages[i];
		uint32_t old;

		if (!page)
			continue;
		if (!(page->_flags & UDAX_PG_MANAGED)) {
			put_one(page);
			continue;
		}
		old = atomic_fetch_sub_explicit(&page->_refcount, 1,
						memory_order_acq_rel);
		if ((old & UDAX_PAGE_REF_MASK) != 1)
			continue;
		idle[nidle] = page;
		olds[nidle++] = old;
		if (nidle == BATCH) {
			for (size_t j = 0; j < nidle; j++)
				__udax_page_idle(idle[j], olds[j]);
			nidle = 0;
		}
	}
	for (size_t j = 0; j < nidle; j++)
		__udax_page_idle(idle[j], olds[j]);
}

/* Leave headroom below the waiters bit so a pin never overflows into it. */
#define PIN_REF_LIMIT	(UDAX_PAGE_REF_MASK - 1024)

int udax_pin_pages(unsigned long pfn, size_t n, struct udax_page **pages)
{
	struct udax_pgmap *pgmap;
	size_t i;
	int ret = 0;

	if (!pages || n == 0)
		return -EINVAL;
	pgmap = udax_get_dev_pagemap(pfn, NULL);
	if (!pgmap)
		return -ENOENT;
	if (pgmap->flags & UDAX_PGMAP_LIMITED) {
		ret = -EOPNOTSUPP;
		goto out;
	}
	if (pgmap->type == UDAX_PGMAP_DEVICE_PRIVATE) {
		ret = -EFAULT;
		goto out;
	}
	if (n > pgmap->nr_pages - (pfn - pgmap->pfn_first)) {
		ret = -EINVAL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct udax_page *page = &pgmap->pages[pfn - pgmap->pfn_first + i];

		if (udax_page_ref_count(page) >= PIN_REF_LIMIT) {
			udax_release_pages(pages, i);
			ret = -EOVERFLOW;
			goto out;
		}
		udax_get_page(page);
		pages[i] = page;
	}
out:
	udax_put_dev_pagemap(pgmap);
	return ret;
}

void udax_unpin_pages(struct udax_page **pages, size_t n)
{
	udax_release_pages(pages, n);
}
