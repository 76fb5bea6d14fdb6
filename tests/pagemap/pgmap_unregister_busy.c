/* SPDX-License-Identifier: MIT */
/*
 * Unregister while pages are held: -EBUSY and the range stays usable;
 * with UDAX_UNREGISTER_WAIT it waits for the last put (from another
 * thread), or gives up with -ETIMEDOUT and changes nothing.  The same for
 * a range without callbacks, which is polled.
 */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <udax/pagemap.h>

#include "testutil.h"

static _Atomic long frees;
static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }
static const struct udax_pgmap_ops ops = { .page_free = count_free };

struct later { struct udax_page *page; useconds_t us; _Atomic int done; };

static void *put_later(void *arg)
{
	struct later *l = arg;

	usleep(l->us);
	atomic_store(&l->done, 1);
	udax_put_page(l->page);
	return NULL;
}

static void check(enum udax_pgmap_type type, const struct udax_pgmap_ops *o)
{
	size_t sz = 2ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = { .type = type, .addr = mem, .size = sz, .ops = o };
	struct udax_pgmap *pgmap, *r;
	struct udax_pgmap_info info;
	struct udax_page *page;
	struct later l = { 0 };
	pthread_t t;

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	page = udax_pgmap_pfn_to_page(pgmap, info.pfn_first + 100);
	udax_get_page(page);

	/* Refused, and nothing changed. */
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, -1), -EBUSY);
	r = udax_get_dev_pagemap(info.pfn_first + 100, NULL);
	T_ASSERT(r == pgmap);
	udax_put_dev_pagemap(r);
	T_ASSERT(udax_page_ref_count(page) == 1);
	/* Waiting, bounded: gives up, range still there. */
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, UDAX_UNREGISTER_WAIT, 20000000), -ETIMEDOUT);
	r = udax_get_dev_pagemap(info.pfn_first, NULL);
	T_ASSERT(r == pgmap);
	udax_put_dev_pagemap(r);
	/* More references on the held page are fine meanwhile. */
	udax_get_page(page);
	udax_put_page(page);

	/* Waiting, unbounded: returns once another thread drops the page. */
	l.page = page;
	l.us = 50000;
	pthread_create(&t, NULL, put_later, &l);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, UDAX_UNREGISTER_WAIT, -1), 0);
	T_ASSERT(atomic_load(&l.done));
	pthread_join(t, NULL);
	T_ASSERT(udax_get_dev_pagemap(info.pfn_first, NULL) == NULL);
	t_devmem_free(mem, sz);
}

int main(void)
{
	check(UDAX_PGMAP_FS_DAX, NULL);
	check(UDAX_PGMAP_DEVICE_PUBLIC, &ops);
	T_ASSERT(frees == 1);
	check(UDAX_PGMAP_GENERIC, NULL);
	T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));
	puts("pgmap_unregister_busy: ok");
	return 0;
}
