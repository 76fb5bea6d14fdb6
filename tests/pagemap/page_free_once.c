/* SPDX-License-Identifier: MIT */
/*
 * page_free runs exactly once per idle transition, from every release
 * path.  Deterministic cases first, then threads hammering a few shared
 * pages: every first reference (get_page returning true) must be matched
 * by exactly one page_free on that page.  A missed callback or a double
 * one breaks the equality.
 */
#include <errno.h>
#include <pthread.h>
#include <udax/pagemap.h>

#include "testutil.h"

#define NPAGES 8

static struct udax_pgmap *pgmap;
static unsigned long pfn0;
static _Atomic long frees[NPAGES], firsts[NPAGES];
static _Atomic int bad;

static void count_free(struct udax_page *page, void *data)
{
	unsigned long i = udax_page_to_pfn(page) - pfn0;

	(void)data;
	if (i >= NPAGES) {
		bad = 1;
		return;
	}
	frees[i]++;
}
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static struct udax_page *pg(int i)
{
	return udax_pgmap_pfn_to_page(pgmap, pfn0 + (unsigned long)i);
}

static long total(_Atomic long *v)
{
	long s = 0;

	for (int i = 0; i < NPAGES; i++)
		s += v[i];
	return s;
}

static void *hammer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	long n = t_iters(200000);

	for (long k = 0; k < n; k++) {
		struct udax_page *batch[3];
		int i, nref;

		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 8) % NPAGES);
		nref = 1 + (int)((seed >> 20) % 3);
		/* The registrant's handle stands for the range reference. */
		for (int r = 0; r < nref; r++) {
			if (udax_get_page(pg(i)))
				firsts[i]++;
			batch[r] = pg(i);
		}
		switch ((seed >> 24) % 3) {
		case 0:
			for (int r = 0; r < nref; r++)
				udax_put_page(batch[r]);
			break;
		case 1:
			udax_release_pages(batch, (size_t)nref);
			break;
		case 2:
			udax_unpin_pages(batch, (size_t)nref);
			break;
		}
	}
	return NULL;
}

int main(void)
{
	size_t sz = 2ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem, .size = sz, .ops = &ops,
	};
	struct udax_pgmap_info info;
	struct udax_page *pins[NPAGES], *batch[4];
	pthread_t t[4];

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	pfn0 = info.pfn_first;

	/* put_page: only the last put calls back. */
	udax_get_page(pg(0));
	udax_get_page(pg(0));
	udax_get_page(pg(0));
	udax_put_page(pg(0));
	udax_put_page(pg(0));
	T_ASSERT(frees[0] == 0);
	udax_put_page(pg(0));
	T_ASSERT(frees[0] == 1);

	/* release_pages: the same page several times in one batch. */
	for (int i = 0; i < 4; i++) {
		udax_get_page(pg(1));
		batch[i] = pg(1);
	}
	udax_release_pages(batch, 3);
	T_ASSERT(frees[1] == 0);
	udax_release_pages(batch + 3, 1);
	T_ASSERT(frees[1] == 1);

	/* pins: one callback per page, when the pin is released. */
	T_EXPECT_ERR(udax_pin_pages(pfn0, NPAGES, pins), 0);
	T_ASSERT(total(frees) == 2);
	udax_unpin_pages(pins, NPAGES);
	T_ASSERT(total(frees) == 2 + NPAGES);
	udax_pgmap_get_info(pgmap, &info);
	T_ASSERT(info.idle_transitions == 2 + NPAGES && info.busy_pages == 0);

	/* Concurrent: firsts and frees must match page by page. */
	for (int i = 0; i < NPAGES; i++)
		frees[i] = 0;
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)(i * 7919 + 1));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_ASSERT(!bad);
	for (int i = 0; i < NPAGES; i++) {
		if (frees[i] != firsts[i] || udax_page_ref_count(pg(i)) != 0) {
			fprintf(stderr, "page %d: %ld first refs, %ld page_free calls, count %u\n",
				i, (long)firsts[i], (long)frees[i], udax_page_ref_count(pg(i)));
			return 1;
		}
	}
	udax_pgmap_get_info(pgmap, &info);
	T_ASSERT(info.busy_pages == 0);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	printf("page_free_once: %ld idle transitions, each with one page_free\n", total(frees));
	return 0;
}
