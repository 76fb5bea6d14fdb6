/* SPDX-License-Identifier: MIT */
/* Lookup from pfn and CPU address, the cached fast path, references. */
#include <errno.h>
#include <udax/pagemap.h>

#include "testutil.h"

int main(void)
{
	size_t sz = 4ul << 20;
	char *mem = t_devmem(3 * sz);
	struct udax_pgmap_params p = { .type = UDAX_PGMAP_FS_DAX, .size = sz };
	struct udax_pgmap *a, *b, *c, *r, *r2;
	struct udax_pgmap_info ia, ib, ic;

	p.addr = mem;
	T_EXPECT_ERR(udax_pgmap_register(&p, &a), 0);
	p.addr = mem + 2 * sz;		/* leave a gap */
	p.flags = UDAX_PGMAP_ALTMAP;
	T_EXPECT_ERR(udax_pgmap_register(&p, &b), 0);
	p.flags = 0;
	p.type = UDAX_PGMAP_GENERIC;
	p.addr = mem + sz;
	T_EXPECT_ERR(udax_pgmap_register(&p, &c), 0);
	udax_pgmap_get_info(a, &ia);
	udax_pgmap_get_info(b, &ib);
	udax_pgmap_get_info(c, &ic);

	/* pfn lookups: first, last, one past, pfn 0. */
	r = udax_get_dev_pagemap(ia.pfn_first, NULL);
	T_ASSERT(r == a);
	udax_put_dev_pagemap(r);
	r = udax_get_dev_pagemap(ia.pfn_first + ia.nr_pages - 1, NULL);
	T_ASSERT(r == a);
	udax_put_dev_pagemap(r);
	/* One past the end belongs to the next range, if any, never to a. */
	r = udax_get_dev_pagemap(ia.pfn_first + ia.nr_pages, NULL);
	T_ASSERT(r != a);
	udax_put_dev_pagemap(r);
	T_ASSERT(udax_get_dev_pagemap(0, NULL) == NULL);
	T_ASSERT(udax_get_dev_pagemap(~0ul, NULL) == NULL);
	r = udax_get_dev_pagemap(ib.pfn_first + 5, NULL);
	T_ASSERT(r == b);
	udax_put_dev_pagemap(r);

	/* Address lookups: data, altmap area, last byte, gaps. */
	r = udax_get_dev_pagemap_addr(mem, NULL);
	T_ASSERT(r == a);
	udax_put_dev_pagemap(r);
	r = udax_get_dev_pagemap_addr(mem + sz - 1, NULL);
	T_ASSERT(r == a);
	udax_put_dev_pagemap(r);
	r = udax_get_dev_pagemap_addr(mem + sz, NULL);
	T_ASSERT(r == c);
	udax_put_dev_pagemap(r);
	r = udax_get_dev_pagemap_addr(mem + 2 * sz, NULL);		/* altmap part */
	T_ASSERT(r == b);
	udax_put_dev_pagemap(r);
	r = udax_get_dev_pagemap_addr(mem + 3 * sz - 1, NULL);
	T_ASSERT(r == b);
	udax_put_dev_pagemap(r);
	T_ASSERT(udax_get_dev_pagemap_addr(mem + 3 * sz, NULL) == NULL);
	T_ASSERT(udax_get_dev_pagemap_addr(mem - 1, NULL) == NULL);

	/* Cached: a hit hands back the same reference, a miss swaps it. */
	r = udax_get_dev_pagemap(ia.pfn_first, NULL);
	r2 = udax_get_dev_pagemap(ia.pfn_first + 7, r);
	T_ASSERT(r2 == r);
	r2 = udax_get_dev_pagemap(ib.pfn_first, r2);	/* drops a's reference */
	T_ASSERT(r2 == b);
	r2 = udax_get_dev_pagemap_addr(mem + 2 * sz + 8192, r2);
	T_ASSERT(r2 == b);
	/* a has no reference left: unregistering it must not wait. */
	T_EXPECT_ERR(udax_pgmap_unregister(a, 0, 0), 0);
	/* b has exactly one: a zero timeout gives up, and b stays. */
	T_EXPECT_ERR(udax_pgmap_unregister(b, 0, 0), -ETIMEDOUT);
	r = udax_get_dev_pagemap(ib.pfn_first, NULL);
	T_ASSERT(r == b);
	udax_put_dev_pagemap(r);
	udax_put_dev_pagemap(r2);
	T_EXPECT_ERR(udax_pgmap_unregister(b, 0, 0), 0);

	/* Gone ranges are not found. */
	T_ASSERT(udax_get_dev_pagemap(ia.pfn_first, NULL) == NULL);
	T_ASSERT(udax_get_dev_pagemap_addr(mem, NULL) == NULL);
	T_ASSERT(udax_get_dev_pagemap_addr(mem + 2 * sz, NULL) == NULL);
	T_EXPECT_ERR(udax_pgmap_unregister(c, 0, 0), 0);
	t_devmem_free(mem, 3 * sz);
	puts("pgmap_lookup: ok");
	return 0;
}
