/* SPDX-License-Identifier: MIT */
/*
 * Removing a range while every allocation fails: the address index (a
 * sorted array, searched by bisection) cannot be copied without the range,
 * so its entry is emptied in place.  The other ranges must still be found
 * by address and by pfn, on either side of the emptied entry; the removed
 * range is found by neither; a new range can take its addresses; the next
 * copy of the index drops the empty entry.
 */
#include <errno.h>
#include <udax/fault.h>
#include <udax/pagemap.h>

#include "testutil.h"

#define N	5

int main(void)
{
	size_t sz = 4ul << 20;
	char *mem = t_devmem(N * sz);
	struct udax_pgmap_params p = { .type = UDAX_PGMAP_FS_DAX, .size = sz };
	struct udax_pgmap *g[N], *r;
	struct udax_pgmap_info info[N];

	for (int i = 0; i < N; i++) {
		p.addr = mem + (size_t)i * sz;
		T_EXPECT_ERR(udax_pgmap_register(&p, &g[i]), 0);
		udax_pgmap_get_info(g[i], &info[i]);
	}

	/* The middle one goes with every allocation failing. */
	T_EXPECT_ERR(udax_fault_set(UDAX_FAULT_MALLOC, 1, 1000, -ENOMEM), 0);
	T_EXPECT_ERR(udax_pgmap_unregister(g[2], 0, 0), 0);
	T_ASSERT(udax_fault_hits(UDAX_FAULT_MALLOC) >= 1);
	udax_fault_clear(UDAX_FAULT_MALLOC);

	for (int i = 0; i < N; i++) {
		for (size_t off = 0; off < sz; off += sz / 4) {
			r = udax_get_dev_pagemap_addr(mem + (size_t)i * sz + off, NULL);
			T_ASSERT(i == 2 ? r == NULL : r == g[i]);
			if (r)
				udax_put_dev_pagemap(r);
		}
		if (i == 2)
			continue;
		r = udax_get_dev_pagemap(info[i].pfn_first, NULL);
		T_ASSERT(r == g[i]);
		udax_put_dev_pagemap(r);
	}

	/* Its addresses can be registered again; the others stay found. */
	p.addr = mem + 2 * sz;
	T_EXPECT_ERR(udax_pgmap_register(&p, &g[2]), 0);
	for (int i = 0; i < N; i++) {
		r = udax_get_dev_pagemap_addr(mem + (size_t)i * sz + 8192, NULL);
		T_ASSERT(r == g[i]);
		udax_put_dev_pagemap(r);
	}
	for (int i = 0; i < N; i++)
		T_EXPECT_ERR(udax_pgmap_unregister(g[i], 0, 0), 0);
	for (int i = 0; i < N; i++)
		T_ASSERT(!udax_get_dev_pagemap_addr(mem + (size_t)i * sz, NULL));
	puts("pgmap_remove_nomem: ok");
	return 0;
}
