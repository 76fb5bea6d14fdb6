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
	struct udax_pgmap *pgmap;
	struct stripe *s;

	if (__builtin_expect(!(old & UDAX_PAGE_REF_MASK), 0)) {
		__udax_page_put_unbalanced(page, old);
		return;
	}
	pgmap = pgmap_of(page);
	s = page_stripe(pgmap, page);
	pgmap->ops->page_free(page, pgmap->ops_data);
	if (old & UDAX_PAGE_WAITERS)
		udax_wake_idle_waiters(page);
	atomic_fetch_add_explicit(&s->idle, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&s->busy, 1, memory_order_release);
}

/*
 * A put found the count at 0 (@old: the word before its decrement) and
 * took it to -1.  Put it back and count the put against the range; never
 * page_free (the page did not go idle: it was idle).  The put had no
 * reference to drop, so no other holder depends on it, and the page keeps
 * its waiters mark.  A get that ran in between saw -1, not 0, and so
 * skipped the first-reference accounting of a managed page: do it for it
 * when the count is above 0 once ours is undone.
 */
void __udax_page_put_unbalanced(struct udax_page *page, uint32_t old)
{
	struct udax_pgmap *pgmap = pgmap_of(page);
	uint32_t mid = atomic_fetch_add_explicit(&page->_refcount, 1,
						 memory_order_acq_rel);

	if (!pgmap)		/* a put on a page of a range already gone */
		return;
	atomic_fetch_add_explicit(&pgmap->unbalanced_puts, 1, memory_order_relaxed);
	if (mid != old - 1 && ((mid + 1) & UDAX_PAGE_REF_MASK) &&
	    ((mid + 1) & UDAX_PAGE_REF_MASK) < UDAX_PAGE_REF_MASK - 1024)
		__udax_page_first_ref(page);
	pgmap_err(-EINVAL, "unbalanced put refused: pfn %lu of range \"%s\" "
		  "had no reference (a put or unpin without its get or pin); "
		  "its count stays 0", pgmap->pfn_first + page_index(pgmap, page),
		  pgmap->name ? pgmap->name : "");
}

/* One put; false if it was refused (unbalanced). */
static inline bool put_one(struct udax_page *page)
{
	uint32_t old;

	if (!(page->_flags & UDAX_PG_MANAGED)) {
		old = atomic_fetch_sub_explicit(&page->_refcount, 1,
						memory_order_release);
		if (__builtin_expect((int32_t)(old - 1) < 0, 0)) {
			__udax_page_put_unbalanced(page, old);
			return false;
		}
		return true;
	}
	old = atomic_fetch_sub_explicit(&page->_refcount, 1, memory_order_acq_rel);
	if (__builtin_expect((old & UDAX_PAGE_REF_MASK) <= 1, 0))
		__udax_page_idle(page, old);
	return (old & UDAX_PAGE_REF_MASK) != 0;
}

/*
 * Batched release.  The decrements are done first and the idle transitions
 * after, so that page_free callbacks of one batch run back to back and a
 * waiter on several pages of the batch is woken with all of them idle.
 */
int udax_release_pages(struct udax_page **pages, size_t n)
{
	enum { BATCH = 32 };
	struct udax_page *idle[BATCH];
	uint32_t olds[BATCH];
	size_t nidle = 0;
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		struct udax_page *page = pages[i];
		uint32_t old;

		if (!page)
			continue;
		if (!(page->_flags & UDAX_PG_MANAGED)) {
			if (!put_one(page))
				ret = -EINVAL;
			continue;
		}
		old = atomic_fetch_sub_explicit(&page->_refcount, 1,
						memory_order_acq_rel);
		if (__builtin_expect((old & UDAX_PAGE_REF_MASK) > 1, 1))
			continue;
		if (!(old & UDAX_PAGE_REF_MASK)) {
			__udax_page_put_unbalanced(page, old);
			ret = -EINVAL;
			continue;
		}
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
	return ret;
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

int udax_unpin_pages(struct udax_page **pages, size_t n)
{
	return udax_release_pages(pages, n);
}
