/* SPDX-License-Identifier: MIT */
/*
 * The standard FS_DAX page_free, and holders.
 *
 * The device owns its FS_DAX range; file systems on its partitions attach
 * as holders of disjoint pfn spans.  When a page goes idle, the standard
 * page_free tells the holder of its span, which is how a file system frees
 * blocks it put on a busy list instead of waiting (deferred free).  Waking
 * threads that wait for the page is done by the pagemap core for every
 * managed range, right after page_free, so it cannot be forgotten by a
 * callback.
 *
 * The holder table is RCU-published: page_free reads it without locks;
 * attach/detach copy it under holder_lock, and detach waits a grace period
 * so that no page_idle call into a detached holder is still running.
 * Detach never fails for lack of memory (an unmount must be able to let go
 * of the file system it is about to free): without memory for the smaller
 * copy it empties the entry in place, and the next copy drops it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap/internal.h"

struct holder {
	unsigned long pfn, n;
	const struct udax_dax_holder_ops *ops;
	void *holder;
};

struct holder_table {
	size_t nr;
	struct holder h[];
};

static void fsdax_page_free(struct udax_page *page, void *data)
{
	struct udax_pgmap *pgmap = pgmap_of(page);
	unsigned long pfn = pgmap->pfn_first + page_index(pgmap, page);
	struct holder_table *t;

	udax_rcu_read_lock();
	t = udax_rcu_dereference(pgmap->holders);
	for (size_t i = 0; t && i < t->nr; i++) {
		struct holder *h = &t->h[i];

		if (pfn - h->pfn < __atomic_load_n(&h->n, __ATOMIC_ACQUIRE)) {
			if (h->ops->page_idle)
				h->ops->page_idle(h->holder, page);
			break;
		}
	}
	udax_rcu_read_unlock();
}

const struct udax_pgmap_ops udax_fsdax_pgmap_ops = {
	.page_free = fsdax_page_free,
};

static int holders_replace(struct udax_pgmap *pgmap, struct holder_table *nt)
{
	struct holder_table *old = atomic_load(&pgmap->holders);

	udax_rcu_assign(pgmap->holders, nt);
	udax_synchronize_rcu();
	free(old);
	return 0;
}

int udax_pgmap_attach_holder(struct udax_pgmap *pgmap, unsigned long pfn,
			     unsigned long n, const struct udax_dax_holder_ops *ops,
			     void *holder)
{
	struct holder_table *t, *nt;
	size_t nr;
	int ret = 0;

	if (!pgmap || !ops || !holder || n == 0 ||
	    pgmap->ops != &udax_fsdax_pgmap_ops ||
	    pfn < pgmap->pfn_first || pfn - pgmap->pfn_first > pgmap->nr_pages ||
	    n > pgmap->nr_pages - (pfn - pgmap->pfn_first))
		return -EINVAL;

	pthread_mutex_lock(&pgmap->holder_lock);
	t = atomic_load(&pgmap->holders);
	nr = t ? t->nr : 0;
	for (size_t i = 0; i < nr; i++) {
		if (t->h[i].holder == holder ||
		    (pfn < t->h[i].pfn + t->h[i].n && t->h[i].pfn < pfn + n)) {
			ret = pgmap_err(-EBUSY, "udax_pgmap_attach_holder: pfns "
					"[%lu, +%lu) of range \"%s\" %s", pfn, n,
					pgmap->name ? pgmap->name : "",
					t->h[i].holder == holder ?
					"are attached to this holder already" :
					"overlap another holder's span");
			goto out;
		}
	}
	nt = fault_malloc(sizeof(*nt) + (nr + 1) * sizeof(nt->h[0]));
	if (!nt) {
		ret = -ENOMEM;
		goto out;
	}
	nt->nr = 0;
	for (size_t i = 0; i < nr; i++)
		if (t->h[i].holder)	/* not an entry emptied in place */
			nt->h[nt->nr++] = t->h[i];
	nt->h[nt->nr++] = (struct holder){ pfn, n, ops, holder };
	holders_replace(pgmap, nt);
out:
	pthread_mutex_unlock(&pgmap->holder_lock);
	return ret;
}

int udax_pgmap_detach_holder(struct udax_pgmap *pgmap, void *holder)
{
	struct holder_table *t, *nt;
	size_t j = 0;
	int ret = -ENOENT;

	if (!pgmap || !holder)
		return -EINVAL;
	pthread_mutex_lock(&pgmap->holder_lock);
	t = atomic_load(&pgmap->holders);
	for (size_t i = 0; t && i < t->nr; i++)
		if (t->h[i].holder == holder)
			ret = 0;
	if (ret)
		goto out;
	/* Shrinking in place is not RCU-safe; a new table is at most as big. */
	nt = fault_malloc(sizeof(*nt) + t->nr * sizeof(nt->h[0]));
	if (!nt) {
		/* No memory: empty the entry where it is.  No page matches an
		 * empty span; once no reader can still be inside the entry
		 * (a grace period), it names no holder either. */
		for (size_t i = 0; i < t->nr; i++)
			if (t->h[i].holder == holder)
				__atomic_store_n(&t->h[i].n, 0, __ATOMIC_RELEASE);
		udax_synchronize_rcu();
		for (size_t i = 0; i < t->nr; i++)
			if (t->h[i].holder == holder)
				t->h[i].holder = NULL;
		goto out;
	}
	for (size_t i = 0; i < t->nr; i++)
		if (t->h[i].holder != holder && t->h[i].holder)
			nt->h[j++] = t->h[i];
	nt->nr = j;
	holders_replace(pgmap, nt);
out:
	pthread_mutex_unlock(&pgmap->holder_lock);
	return ret;
}

/* The range is being freed: no reader can see it any more. */
void holders_free(struct udax_pgmap *pgmap)
{
	free(atomic_load(&pgmap->holders));
}
