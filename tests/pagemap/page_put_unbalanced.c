/* SPDX-License-Identifier: MIT */
/*
 * An unbalanced put (a put or unpin of a page that holds no reference) is
 * refused and made visible: the count stays 0 instead of wrapping to
 * 0x3fffffff, the range's unbalanced_puts grows, udax_unpin_pages() and
 * udax_release_pages() return -EINVAL, udax_pgmap_last_error() names the
 * pfn, page_free does not run, and the range still unregisters.  Every put
 * path, on a range without callbacks (the plain decrement) and on a
 * managed one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <udax/pagemap.h>

#include "testutil.h"

static long frees;
static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static uint64_t unbalanced(struct udax_pgmap *pgmap)
{
	struct udax_pgmap_info info;

	udax_pgmap_get_info(pgmap, &info);
	return info.unbalanced_puts;
}

/* The message names the pfn. */
static void expect_msg(unsigned long pfn)
{
	char want[64];

	snprintf(want, sizeof(want), "pfn %lu ", pfn);
	if (!strstr(udax_pgmap_last_error(), want) ||
	    !strstr(udax_pgmap_last_error(), "unbalanced")) {
		fprintf(stderr, "message \"%s\" does not name %s\n",
			udax_pgmap_last_error(), want);
		exit(1);
	}
}

static void run(enum udax_pgmap_type type, const struct udax_pgmap_ops *o)
{
	size_t sz = 2ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = { .type = type, .addr = mem, .size = sz,
				       .ops = o, .name = "unbalanced" };
	struct udax_pgmap *pgmap;
	struct udax_pgmap_info info;
	struct udax_page *pg[3], *two[2];
	unsigned long pfn;

	frees = 0;
	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	pfn = info.pfn_first + 5;

	/* udax_unpin_pages: a balanced pin and unpin, then one too many. */
	T_EXPECT_ERR(udax_pin_pages(pfn, 1, pg), 0);
	T_EXPECT_ERR(udax_unpin_pages(pg, 1), 0);
	T_ASSERT(udax_page_ref_count(pg[0]) == 0);
	long f0 = frees;
	T_EXPECT_ERR(udax_unpin_pages(pg, 1), -EINVAL);
	T_ASSERT(udax_page_ref_count(pg[0]) == 0);	/* not 0x3fffffff */
	T_ASSERT(unbalanced(pgmap) == 1);
	T_ASSERT(frees == f0);				/* no idle transition */
	expect_msg(pfn);

	/* The inline put, on a page nobody holds. */
	udax_put_page(pg[0]);
	T_ASSERT(udax_page_ref_count(pg[0]) == 0);
	T_ASSERT(unbalanced(pgmap) == 2);
	expect_msg(pfn);

	/* A batch: the held pages are released, the idle one refused. */
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + 7, 2, two), 0);
	pg[0] = two[0];
	pg[1] = udax_pgmap_pfn_to_page(pgmap, info.pfn_first + 100);
	pg[2] = two[1];
	T_EXPECT_ERR(udax_release_pages(pg, 3), -EINVAL);
	T_ASSERT(udax_page_ref_count(two[0]) == 0 && udax_page_ref_count(two[1]) == 0);
	T_ASSERT(udax_page_ref_count(pg[1]) == 0);
	T_ASSERT(unbalanced(pgmap) == 3);
	expect_msg(info.pfn_first + 100);
	if (o)
		T_ASSERT(frees == f0 + 2);

	/* The page works normally afterwards: one idle transition per get/put. */
	T_EXPECT_ERR(udax_pin_pages(pfn, 1, pg), 0);
	T_ASSERT(udax_page_ref_count(pg[0]) == 1);
	udax_get_page(pg[0]);
	udax_put_page(pg[0]);
	udax_put_page(pg[0]);
	T_ASSERT(udax_page_ref_count(pg[0]) == 0);
	T_ASSERT(unbalanced(pgmap) == 3);
	if (o)
		T_ASSERT(frees == f0 + 3);
	udax_pgmap_get_info(pgmap, &info);
	T_ASSERT(info.busy_pages == 0);

	/* No count wrapped: the range goes at once, without waiting. */
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	t_devmem_free(mem, sz);
}

int main(void)
{
	run(UDAX_PGMAP_GENERIC, NULL);		/* the plain decrement */
	run(UDAX_PGMAP_DEVICE_PUBLIC, &ops);	/* the managed path */
	run(UDAX_PGMAP_FS_DAX, NULL);		/* managed, standard ops */
	printf("ok\n");
	return 0;
}
