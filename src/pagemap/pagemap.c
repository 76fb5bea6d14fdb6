/* SPDX-License-Identifier: MIT */
/*
 * Registering and unregistering device-memory ranges (the kernel's
 * memremap_pages / memunmap_pages).
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pagemap/internal.h"

_Atomic(struct udax_pgmap *) udax_pgmap_table[UDAX_MAX_PGMAPS + 1];
struct udax_static_key udax_pagemap_managed_key = UDAX_STATIC_KEY_INIT_FALSE;

static __thread char last_error[256];

int pgmap_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *udax_pgmap_last_error(void)
{
	return last_error;
}

static _Atomic unsigned next_thread_stripe;
static __thread unsigned my_stripe = ~0u;

struct stripe *thread_stripe(struct udax_pgmap *pgmap)
{
	if (__builtin_expect(my_stripe == ~0u, 0))
		my_stripe = atomic_fetch_add(&next_thread_stripe, 1) % NR_STRIPES;
	return &pgmap->stripes[my_stripe];
}

long stripes_sum_busy(struct udax_pgmap *pgmap)
{
	long sum = 0;

	for (int i = 0; i < NR_STRIPES; i++)
		sum += atomic_load(&pgmap->stripes[i].busy);
	return sum;
}

long stripes_sum_refs(struct udax_pgmap *pgmap)
{
	long sum = 0;

	for (int i = 0; i < NR_STRIPES; i++)
		sum += atomic_load(&pgmap->stripes[i].refs);
	return sum;
}

static bool has_page_free(const struct udax_pgmap_ops *ops)
{
	return ops && ops->page_free;
}

static int check_params(const struct udax_pgmap_params *p)
{
	bool limited = p->flags & UDAX_PGMAP_LIMITED;

	if (p->flags & ~(UDAX_PGMAP_ALTMAP | UDAX_PGMAP_LIMITED))
		return -EINVAL;
	if (!p->size || p->size % UDAX_PAGE_SIZE ||
	    p->size / UDAX_PAGE_SIZE > (1ul << 40))
		return -EINVAL;
	if ((uintptr_t)p->addr % UDAX_PAGE_SIZE ||
	    (p->addr && (uintptr_t)p->addr + p->size < (uintptr_t)p->addr))
		return -EINVAL;
	switch (p->type) {
	case UDAX_PGMAP_FS_DAX:
		if (!p->addr || (limited && (p->flags & UDAX_PGMAP_ALTMAP)))
			return -EINVAL;
		if (p->ops && !p->ops->page_free)
			return -EINVAL;
		return 0;
	case UDAX_PGMAP_DEVICE_PRIVATE:
		/* No CPU address: nowhere to put an altmap, nothing to map. */
		if (p->addr || p->flags || !has_page_free(p->ops))
			return -EINVAL;
		return 0;
	case UDAX_PGMAP_DEVICE_PUBLIC:
		if (!p->addr || limited || !has_page_free(p->ops))
			return -EINVAL;
		return 0;
	case UDAX_PGMAP_GENERIC:
		if (!p->addr || limited || has_page_free(p->ops))
			return -EINVAL;
		return 0;
	}
	return -EINVAL;
}

/*
 * With an altmap the page array takes the first pages of the range: find
 * the smallest reservation r such that (N - r) descriptors fit in r pages.
 */
static unsigned long altmap_reserve(unsigned long n)
{
	unsigned long per_page = UDAX_PAGE_SIZE / sizeof(struct udax_page);
	unsigned long r = n / (per_page + 1);

	while (r * per_page < n - r)
		r++;
	return r;
}

static int alloc_id(struct udax_pgmap *pgmap)
{
	for (unsigned i = 1; i <= UDAX_MAX_PGMAPS; i++) {
		if (!atomic_load(&udax_pgmap_table[i])) {
			pgmap->id = (uint16_t)i;
			return 0;
		}
	}
	return -ENOSPC;
}

static void free_pgmap(struct udax_pgmap *pgmap)
{
	if (pgmap->pages && !(pgmap->flags & UDAX_PGMAP_ALTMAP))
		munmap(pgmap->pages, pgmap->memmap_bytes);
	holders_free(pgmap);
	pthread_mutex_destroy(&pgmap->holder_lock);
	free(pgmap->name);
	free(pgmap);
}

int udax_pgmap_register(const struct udax_pgmap_params *params,
			struct udax_pgmap **out)
{
	struct udax_pgmap *pgmap;
	unsigned long total, reserve = 0;
	int ret;

	if (!params || !out)
		return -EINVAL;
	*out = NULL;
	ret = check_params(params);
	if (ret)
		return ret;
	ret = udax_registry_atfork();
	if (ret)
		return ret;

	pgmap = fault_aligned_alloc(CACHELINE, sizeof(*pgmap));
	if (!pgmap)
		return -ENOMEM;
	memset(pgmap, 0, sizeof(*pgmap));
	pthread_mutex_init(&pgmap->holder_lock, NULL);
	pgmap->type = params->type;
	pgmap->flags = params->flags;
	pgmap->ops = params->ops;
	if (!pgmap->ops && params->type == UDAX_PGMAP_FS_DAX)
		pgmap->ops = &udax_fsdax_pgmap_ops;
	pgmap->ops_data = params->ops_data;
	pgmap->managed = has_page_free(pgmap->ops) &&
			 !(params->flags & UDAX_PGMAP_LIMITED);
	pgmap->name = fault_strdup(params->name ? params->name : "");
	pgmap->base = params->addr;
	pgmap->size = params->size;
	if (!pgmap->name) {
		ret = -ENOMEM;
		goto err;
	}

	total = params->size / UDAX_PAGE_SIZE;
	if (params->flags & UDAX_PGMAP_ALTMAP) {
		reserve = altmap_reserve(total);
		if (reserve >= total) {
			ret = -EINVAL;		/* too small to hold anything */
			goto err;
		}
	}
	pgmap->nr_pages = total - reserve;
	pgmap->altmap_bytes = reserve * UDAX_PAGE_SIZE;
	pgmap->data = pgmap->base ? pgmap->base + pgmap->altmap_bytes : NULL;
	pgmap->nr_sections = (pgmap->nr_pages + (1ul << UDAX_SECTION_SHIFT) - 1)
			     >> UDAX_SECTION_SHIFT;

	if (!(params->flags & UDAX_PGMAP_LIMITED)) {
		pgmap->memmap_bytes = pgmap->nr_pages * sizeof(struct udax_page);
		if (params->flags & UDAX_PGMAP_ALTMAP) {
			pgmap->pages = (struct udax_page *)pgmap->base;
		} else {
			void *p = mmap(NULL, pgmap->memmap_bytes,
				       PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED) {
				ret = -ENOMEM;
				goto err;
			}
			pgmap->pages = p;
		}
	}

	pthread_mutex_lock(&udax_registry_lock);
	ret = alloc_id(pgmap);
	if (ret)
		goto err_unlock;
	for (unsigned long i = 0; pgmap->pages && i < pgmap->nr_pages; i++) {
		struct udax_page *page = &pgmap->pages[i];

		atomic_init(&page->_refcount, 0);
		page->_pgmap_id = pgmap->id;
		page->_flags = pgmap->managed ? UDAX_PG_MANAGED : 0;
		atomic_init(&page->_owner, 0);
	}
	/* Pages of this range reach put_page only after it is published, so
	 * the managed path is switched on first. */
	if (pgmap->managed)
		udax_static_key_slow_inc(&udax_pagemap_managed_key);
	/* The id names the range for page paths: it is valid before any
	 * lookup can return one of the range's pages. */
	atomic_store_explicit(&udax_pgmap_table[pgmap->id], pgmap,
			      memory_order_release);
	ret = lookup_insert(pgmap);
	if (ret) {
		atomic_store(&udax_pgmap_table[pgmap->id], NULL);
		if (pgmap->managed)
			udax_static_key_slow_dec(&udax_pagemap_managed_key);
		goto err_unlock;
	}
	pthread_mutex_unlock(&udax_registry_lock);
	*out = pgmap;
	return 0;

err_unlock:
	pthread_mutex_unlock(&udax_registry_lock);
err:
	free_pgmap(pgmap);
	return ret;
}

/* Pages held: for managed ranges the busy count also covers idle
 * transitions whose page_free is still running. */
static bool pages_held(struct udax_pgmap *pgmap)
{
	if (!pgmap->pages)
		return false;
	if (pgmap->managed)
		return stripes_sum_busy(pgmap) != 0;
	for (unsigned long i = 0; i < pgmap->nr_pages; i++)
		if (udax_page_ref_count(&pgmap->pages[i]))
			return true;
	return false;
}

static int wait_refs_drained(struct udax_pgmap *pgmap, uint64_t deadline)
{
	for (;;) {
		uint32_t seq = atomic_load(&pgmap->drain_seq);

		if (stripes_sum_refs(pgmap) == 0)
			return 0;
		if (futex_wait_until(&pgmap->drain_seq, seq, deadline) == -ETIMEDOUT)
			return -ETIMEDOUT;
	}
}

/*
 * Wait until every page is idle.  Managed pages are slept on (page_free
 * wakes us); pages of ranges without callbacks have nobody to wake us and
 * are polled with backoff.  After the last page is idle a page_free may
 * still be running for it: the busy count drops only when it returns.
 */
static int wait_pages_idle(struct udax_pgmap *pgmap, uint64_t deadline)
{
	unsigned backoff_us = 1;

	while (pages_held(pgmap)) {
		if (udax_now_ns() >= deadline)
			return -ETIMEDOUT;
		if (pgmap->managed) {
			for (unsigned long i = 0; i < pgmap->nr_pages; i++) {
				int ret = __udax_wait_idle(&pgmap->pages[i],
							   deadline, NULL);
				if (ret)
					return ret;
			}
			sched_yield();
		} else {
			struct timespec ts = { 0, backoff_us * 1000l };

			nanosleep(&ts, NULL);
			if (backoff_us < 1000)
				backoff_us *= 2;
		}
	}
	return 0;
}

int udax_pgmap_unregister(struct udax_pgmap *pgmap, unsigned flags,
			  int64_t timeout_ns)
{
	uint64_t deadline = udax_deadline(timeout_ns);
	int ret;

	if (!pgmap || (flags & ~UDAX_UNREGISTER_WAIT))
		return -EINVAL;

	/* 1. No new range references; wait for the ones handed out. */
	atomic_store(&pgmap->dying, 1);
	udax_synchronize_rcu();
	ret = wait_refs_drained(pgmap, deadline);
	if (ret) {
		pgmap_err(ret, "udax_pgmap_unregister: range \"%s\" is still "
			  "referenced (udax_get_dev_pagemap) when the timeout "
			  "expired", pgmap->name ? pgmap->name : "");
		goto revive;
	}

	/*
	 * 2. No first reference can be taken any more (it needs a range
	 * reference), so the set of held pages only shrinks.
	 */
	if (pages_held(pgmap)) {
		ret = -EBUSY;
		if (!(flags & UDAX_UNREGISTER_WAIT)) {
			pgmap_err(ret, "udax_pgmap_unregister: pages of range "
				  "\"%s\" are still held (pinned or referenced)",
				  pgmap->name ? pgmap->name : "");
			goto revive;
		}
		ret = wait_pages_idle(pgmap, deadline);
		if (ret) {
			pgmap_err(ret, "udax_pgmap_unregister: pages of range "
				  "\"%s\" still held when the wait ended: %s",
				  pgmap->name ? pgmap->name : "", udax_strerror(ret));
			goto revive;
		}
	}

	/* 3. Unpublish, let readers and dying-path puts finish, free. */
	pthread_mutex_lock(&udax_registry_lock);
	lookup_remove(pgmap);
	atomic_store(&udax_pgmap_table[pgmap->id], NULL);
	pthread_mutex_unlock(&udax_registry_lock);
	udax_synchronize_rcu();
	if (pgmap->managed)
		udax_static_key_slow_dec(&udax_pagemap_managed_key);
	free_pgmap(pgmap);
	return 0;

revive:
	atomic_store(&pgmap->dying, 0);
	return ret;
}

void udax_pgmap_get_info(const struct udax_pgmap *cpgmap,
			 struct udax_pgmap_info *info)
{
	struct udax_pgmap *pgmap = (struct udax_pgmap *)cpgmap;
	unsigned long busy = 0;
	uint64_t idle = 0;

	memset(info, 0, sizeof(*info));
	info->type = pgmap->type;
	info->flags = pgmap->flags;
	info->name = pgmap->name;
	info->pfn_first = pgmap->pfn_first;
	info->nr_pages = pgmap->nr_pages;
	info->addr = pgmap->data;
	info->size = pgmap->size;
	info->altmap_bytes = pgmap->altmap_bytes;
	info->memmap_bytes = pgmap->memmap_bytes;
	info->managed = pgmap->managed;
	if (pgmap->managed) {
		long b = stripes_sum_busy(pgmap);

		busy = b > 0 ? (unsigned long)b : 0;
	} else {
		for (unsigned long i = 0; pgmap->pages && i < pgmap->nr_pages; i++)
			busy += udax_page_ref_count(&pgmap->pages[i]) != 0;
	}
	for (int i = 0; i < NR_STRIPES; i++)
		idle += atomic_load(&pgmap->stripes[i].idle);
	info->busy_pages = busy;
	info->idle_transitions = idle;
	info->unbalanced_puts = atomic_load(&pgmap->unbalanced_puts);
}

struct udax_page *udax_pgmap_pfn_to_page(const struct udax_pgmap *pgmap,
					 unsigned long pfn)
{
	if (!pgmap->pages || pfn < pgmap->pfn_first ||
	    pfn - pgmap->pfn_first >= pgmap->nr_pages)
		return NULL;
	return &pgmap->pages[pfn - pgmap->pfn_first];
}

struct udax_pgmap *udax_page_pgmap(const struct udax_page *page)
{
	return pgmap_of(page);
}

unsigned long udax_page_to_pfn(const struct udax_page *page)
{
	struct udax_pgmap *pgmap = pgmap_of(page);

	return pgmap->pfn_first + page_index(pgmap, page);
}

void *udax_page_address(const struct udax_page *page)
{
	struct udax_pgmap *pgmap = pgmap_of(page);

	if (!pgmap->data)
		return NULL;
	return pgmap->data + page_index(pgmap, page) * UDAX_PAGE_SIZE;
}
