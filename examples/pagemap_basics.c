/* SPDX-License-Identifier: MIT */
/*
 * pagemap_basics: register a range of "device" memory with a page_free
 * callback, take and drop page references, and watch the callback run
 * exactly once per page that goes idle.
 *
 * The memory here is ordinary memory standing in for a device's; the
 * range type DEVICE_PUBLIC says the CPU can address it and the owner wants
 * to be told when a page is no longer used (to put it back on a free
 * list, as a GPU driver would).
 *
 *   cc pagemap_basics.c -o pagemap_basics $(pkg-config --cflags --libs udax)
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <udax/pagemap.h>

#define NPAGES	8

static atomic_uint freed;

/* Runs in the thread that dropped the page's last reference. */
static void page_free(struct udax_page *page, void *data)
{
	(void)data;
	printf("  page_free: pfn %lu is idle\n", udax_page_to_pfn(page));
	atomic_fetch_add(&freed, 1);
}

static const struct udax_pgmap_ops ops = { .page_free = page_free };

int main(void)
{
	struct udax_page *pages[NPAGES];
	struct udax_pgmap_info info;
	struct udax_pgmap *pgmap;
	void *mem = aligned_alloc(UDAX_PAGE_SIZE, NPAGES * UDAX_PAGE_SIZE);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem,
		.size = NPAGES * UDAX_PAGE_SIZE, .ops = &ops, .name = "example",
	};
	int err;

	if (!mem)
		return 2;
	err = udax_pgmap_register(&p, &pgmap);
	if (err) {
		fprintf(stderr, "register: %s\n", udax_strerror(err));
		return 2;
	}
	udax_pgmap_get_info(pgmap, &info);
	printf("range \"%s\": pfns %lu..%lu, put_page managed path %s\n", info.name,
	       info.pfn_first, info.pfn_first + info.nr_pages - 1,
	       udax_static_key_enabled(&udax_pagemap_managed_key) ? "on" : "off");

	/* Pin every page (one reference each), as a DMA engine would. */
	err = udax_pin_pages(info.pfn_first, NPAGES, pages);
	if (err) {
		fprintf(stderr, "pin: %s\n", udax_strerror(err));
		return 2;
	}
	/* A second reference on page 0: dropping one does not make it idle. */
	udax_get_page(pages[0]);
	udax_put_page(pages[0]);
	printf("after get+put of page 0: %u reference(s), page_free ran %u times\n",
	       udax_page_ref_count(pages[0]), atomic_load(&freed));

	/* Dropping the pins: page_free once per page. */
	udax_unpin_pages(pages, NPAGES);
	printf("after unpin: page_free ran %u times for %d pages\n",
	       atomic_load(&freed), NPAGES);

	/* Nothing held: unregistering succeeds at once. */
	err = udax_pgmap_unregister(pgmap, 0, 0);
	free(mem);
	if (err || atomic_load(&freed) != NPAGES) {
		printf("pagemap_basics: FAILED (%s)\n", udax_strerror(err));
		return 1;
	}
	printf("pagemap_basics: ok\n");
	return 0;
}
