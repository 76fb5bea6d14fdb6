/* SPDX-License-Identifier: MIT */
/*
 * Page ranges at the end of a pagemap range: udax_pin_pages and
 * udax_pfn_range_wait_idle accept a run that ends at the range's last page
 * and refuse one page more (-EINVAL), pinning nothing.  Without the bound
 * they would touch page descriptors past the range's array.
 */
#include <errno.h>
#include <udax/pagemap.h>

#include "testutil.h"

static void noop_free(struct udax_page *page, void *data)
{
	(void)page;
	(void)data;
}
static const struct udax_pgmap_ops ops = { .page_free = noop_free };

int main(void)
{
	size_t sz = 2ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem, .size = sz, .ops = &ops,
	};
	struct udax_pgmap *pgmap;
	struct udax_pgmap_info info;
	struct udax_page *pages[4] = { 0 };
	unsigned long last;

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	last = info.pfn_first + info.nr_pages - 1;

	/* The last two pages: fine. */
	T_EXPECT_ERR(udax_pin_pages(last - 1, 2, pages), 0);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(last - 1, 2, 0, NULL), -ETIMEDOUT);
	udax_unpin_pages(pages, 2);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(last - 1, 2, 0, NULL), 0);

	/* One page past the end: refused, nothing pinned. */
	T_EXPECT_ERR(udax_pin_pages(last - 1, 3, pages), -EINVAL);
	T_EXPECT_ERR(udax_pin_pages(last, 2, pages), -EINVAL);
	T_ASSERT(udax_page_ref_count(udax_pgmap_pfn_to_page(pgmap, last)) == 0);
	T_ASSERT(udax_page_ref_count(udax_pgmap_pfn_to_page(pgmap, last - 1)) == 0);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(last, 2, 0, NULL), -EINVAL);
	udax_pgmap_get_info(pgmap, &info);
	T_ASSERT(info.busy_pages == 0);

	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	t_devmem_free(mem, sz);
	printf("pin and wait: the last page in, one past refused\n");
	return 0;
}
