/* SPDX-License-Identifier: MIT */
/*
 * The static key toggled while threads run put_page.
 *
 * The main thread keeps registering and unregistering a managed range,
 * which turns the managed key on and off.  Worker threads meanwhile loop
 * get/put on pages of a range without callbacks (whose counts must come
 * out exact), and whenever the managed range is registered, take a page of
 * it through a lookup and drop it.  That drop must take the managed path:
 * if a thread ran a stale site (the key enabled too late, or a site not
 * resynchronized) it would decrement without page_free, the range would
 * stay busy and the unregister below would time out.
 */
#include <errno.h>
#include <pthread.h>
#include <udax/pagemap.h>

#include "testutil.h"

#define WORKERS 3

static _Atomic long frees, pairs;
static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static struct udax_page *gpage;
static _Atomic unsigned long managed_pfn;
static _Atomic int stop;

static void *worker(void *arg)
{
	int id = (int)(uintptr_t)arg;
	long n = 0;

	while (!atomic_load(&stop)) {
		for (int i = 0; i < 64; i++) {
			udax_get_page(gpage);
			udax_put_page(gpage);
		}
		unsigned long pfn = atomic_load(&managed_pfn);
		struct udax_pgmap *pgmap = pfn ? udax_get_dev_pagemap(pfn + (unsigned long)id, NULL) : NULL;

		if (pgmap) {
			struct udax_page *page = udax_pgmap_pfn_to_page(pgmap, pfn + (unsigned long)id);

			/* Each worker has its own page: every pair is one
			 * idle transition. */
			T_ASSERT(udax_get_page(page));
			udax_put_page(page);
			udax_put_dev_pagemap(pgmap);
			n++;
		}
	}
	pairs += n;
	return NULL;
}

int main(void)
{
	long rounds = t_iters(2000);
	size_t sz = 2ul << 20;
	char *mem = t_devmem(2 * sz);
	struct udax_pgmap_params gp = { .type = UDAX_PGMAP_GENERIC, .addr = mem, .size = sz };
	struct udax_pgmap_params mp = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem + sz, .size = sz, .ops = &ops,
	};
	struct udax_pgmap *generic, *managed;
	struct udax_pgmap_info info;
	const char *reason;
	pthread_t t[WORKERS];

	T_EXPECT_ERR(udax_pgmap_register(&gp, &generic), 0);
	udax_pgmap_get_info(generic, &info);
	gpage = udax_pgmap_pfn_to_page(generic, info.pfn_first);
	udax_get_page(gpage);		/* base reference */
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i);

	for (long k = 0; k < rounds; k++) {
		T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));
		T_EXPECT_ERR(udax_pgmap_register(&mp, &managed), 0);
		T_ASSERT(udax_static_key_enabled(&udax_pagemap_managed_key));
		udax_pgmap_get_info(managed, &info);
		atomic_store(&managed_pfn, info.pfn_first);
		for (volatile int spin = 0; spin < 20000; spin++)
			;
		atomic_store(&managed_pfn, 0);
		/* Watchdog only: a lost managed put leaves the range busy. */
		T_EXPECT_ERR(udax_pgmap_unregister(managed, UDAX_UNREGISTER_WAIT, 10ll * 1000000000ll), 0);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);

	T_ASSERT(udax_page_ref_count(gpage) == 1);
	T_ASSERT(frees == pairs);
	udax_put_page(gpage);
	T_EXPECT_ERR(udax_pgmap_unregister(generic, 0, 0), 0);
	printf("put_page_key_toggle: %ld key toggles (%s mode), %ld managed get/put pairs, %ld page_free calls\n",
	       rounds, udax_static_key_mode(&reason) == UDAX_STATIC_KEY_PATCHED ? "patched" : "flag",
	       (long)pairs, (long)frees);
	return 0;
}
