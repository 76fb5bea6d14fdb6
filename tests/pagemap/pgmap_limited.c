/* SPDX-License-Identifier: MIT */
/* A limited range (no page array): addressable, found, never pinnable. */
#include <errno.h>
#include <udax/pagemap.h>

#include "testutil.h"

int main(void)
{
	size_t sz = 4ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_FS_DAX, .flags = UDAX_PGMAP_LIMITED,
		.addr = mem, .size = sz, .name = "limited",
	};
	struct udax_pgmap *pgmap, *r;
	struct udax_pgmap_info info;
	struct udax_page *pages[4];

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	T_ASSERT(info.memmap_bytes == 0 && !info.managed);
	T_ASSERT(info.nr_pages == sz / UDAX_PAGE_SIZE && info.addr == mem);
	/* No callbacks needed, so the managed path stays off. */
	T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));
	/* Addressable: lookups work, and the memory is usable. */
	r = udax_get_dev_pagemap(info.pfn_first + 1, NULL);
	T_ASSERT(r == pgmap);
	udax_put_dev_pagemap(r);
	r = udax_get_dev_pagemap_addr(mem + 4096, NULL);
	T_ASSERT(r == pgmap);
	udax_put_dev_pagemap(r);
	mem[sz - 1] = 1;
	/* No page descriptors: nothing to reference or pin or wait on. */
	T_ASSERT(udax_pgmap_pfn_to_page(pgmap, info.pfn_first) == NULL);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 1, pages), -EOPNOTSUPP);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + 10, 4, pages), -EOPNOTSUPP);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(info.pfn_first, 1, 0, NULL), -EOPNOTSUPP);
	/* Pins elsewhere still fail cleanly. */
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + info.nr_pages, 1, pages), -ENOENT);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 0, pages), -EINVAL);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	t_devmem_free(mem, sz);
	puts("pgmap_limited: ok");
	return 0;
}
