/* SPDX-License-Identifier: MIT */
/* Registration: parameter checks, pfn assignment, altmap, info, static key. */
#include <errno.h>
#include <string.h>
#include <udax/pagemap.h>

#include "testutil.h"

static void nop_free(struct udax_page *page, void *data) { (void)page; (void)data; }
static const struct udax_pgmap_ops nop_ops = { .page_free = nop_free };
static const struct udax_pgmap_ops no_free_ops = { .page_free = NULL };

static int reg(enum udax_pgmap_type type, unsigned flags, void *addr, size_t size,
	       const struct udax_pgmap_ops *ops, struct udax_pgmap **out)
{
	struct udax_pgmap_params p = {
		.type = type, .flags = flags, .addr = addr, .size = size,
		.ops = ops, .name = "t",
	};
	return udax_pgmap_register(&p, out);
}

int main(void)
{
	size_t sz = 8ul << 20;
	char *mem = t_devmem(2 * sz);
	struct udax_pgmap *a, *b, *c;
	struct udax_pgmap_info ia, ib, ic;
	struct udax_page *page;
	uint32_t idx;

	T_ASSERT(sizeof(struct udax_page) == 16);

	/* Bad parameters are refused, nothing registered. */
	T_EXPECT_ERR(udax_pgmap_register(NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(0, 0, mem, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, mem, 0, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, mem, 100, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, mem + 1, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, NULL, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 1u << 7, mem, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, UDAX_PGMAP_ALTMAP | UDAX_PGMAP_LIMITED,
			 mem, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, mem, sz, &no_free_ops, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_DEVICE_PRIVATE, 0, mem, sz, &nop_ops, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_DEVICE_PRIVATE, 0, NULL, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_DEVICE_PUBLIC, 0, mem, sz, NULL, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_GENERIC, 0, mem, sz, &nop_ops, &a), -EINVAL);
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, UDAX_PGMAP_ALTMAP, mem, UDAX_PAGE_SIZE, NULL, &a), -EINVAL);
	T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));

	/* A generic range: no callbacks, key stays off. */
	T_EXPECT_ERR(reg(UDAX_PGMAP_GENERIC, 0, mem, sz, NULL, &a), 0);
	udax_pgmap_get_info(a, &ia);
	T_ASSERT(!ia.managed && ia.nr_pages == sz / UDAX_PAGE_SIZE);
	T_ASSERT(ia.pfn_first % (1ul << UDAX_SECTION_SHIFT) == 0 && ia.pfn_first);
	T_ASSERT(ia.memmap_bytes == ia.nr_pages * 16 && ia.altmap_bytes == 0);
	T_ASSERT(ia.addr == mem);
	T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));
	/* Overlapping CPU ranges collide. */
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, mem + sz / 2, sz, NULL, &b), -EEXIST);

	/* FS_DAX with the page array inside the range (altmap). */
	T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, UDAX_PGMAP_ALTMAP, mem + sz, sz, NULL, &b), 0);
	udax_pgmap_get_info(b, &ib);
	T_ASSERT(ib.managed && ib.type == UDAX_PGMAP_FS_DAX);
	T_ASSERT(ib.altmap_bytes > 0 && ib.altmap_bytes % UDAX_PAGE_SIZE == 0);
	T_ASSERT(ib.nr_pages * UDAX_PAGE_SIZE + ib.altmap_bytes == sz);
	T_ASSERT(ib.memmap_bytes <= ib.altmap_bytes);
	T_ASSERT(ib.addr == mem + sz + ib.altmap_bytes);
	T_ASSERT(ib.pfn_first >= ia.pfn_first + ia.nr_pages || ib.pfn_first + ib.nr_pages <= ia.pfn_first);
	T_ASSERT(udax_static_key_enabled(&udax_pagemap_managed_key));
	page = udax_pgmap_pfn_to_page(b, ib.pfn_first + 3);
	T_ASSERT((char *)page >= mem + sz && (char *)page < mem + sz + ib.altmap_bytes);
	T_ASSERT(udax_page_to_pfn(page) == ib.pfn_first + 3);
	T_ASSERT(udax_page_pgmap(page) == b);
	T_ASSERT(udax_page_address(page) == mem + sz + ib.altmap_bytes + 3 * UDAX_PAGE_SIZE);
	T_ASSERT(udax_pgmap_pfn_to_page(b, ib.pfn_first + ib.nr_pages) == NULL);
	T_ASSERT(udax_pgmap_pfn_to_page(b, ib.pfn_first - 1) == NULL);

	/* Owner slot. */
	T_ASSERT(udax_page_owner(page, &idx) == 0 && idx == 0);
	udax_page_set_owner(page, 77, 0xfffffff0u);
	T_ASSERT(udax_page_owner(page, &idx) == 77 && idx == 0xfffffff0u);

	/* A private range: pfns but no CPU address. */
	T_EXPECT_ERR(reg(UDAX_PGMAP_DEVICE_PRIVATE, 0, NULL, sz, &nop_ops, &c), 0);
	udax_pgmap_get_info(c, &ic);
	T_ASSERT(ic.addr == NULL && ic.nr_pages == sz / UDAX_PAGE_SIZE);
	T_ASSERT(udax_page_address(udax_pgmap_pfn_to_page(c, ic.pfn_first)) == NULL);

	/* Refcounts: idle at zero, first reference reported. */
	T_ASSERT(udax_page_ref_count(page) == 0);
	T_ASSERT(udax_get_page(page) == true);
	T_ASSERT(udax_get_page(page) == false);
	T_ASSERT(udax_page_ref_count(page) == 2);
	udax_put_page(page);
	udax_put_page(page);
	T_ASSERT(udax_page_ref_count(page) == 0);

	/* Unregistering the last managed range turns the key off. */
	T_EXPECT_ERR(udax_pgmap_unregister(b, 0, -1), 0);
	T_ASSERT(udax_static_key_enabled(&udax_pagemap_managed_key));
	T_EXPECT_ERR(udax_pgmap_unregister(c, 0, -1), 0);
	T_ASSERT(!udax_static_key_enabled(&udax_pagemap_managed_key));
	T_EXPECT_ERR(udax_pgmap_unregister(a, 7, -1), -EINVAL);
	T_EXPECT_ERR(udax_pgmap_unregister(a, 0, -1), 0);

	/* Freed pfns are handed out again. */
	T_EXPECT_ERR(reg(UDAX_PGMAP_GENERIC, 0, mem, sz, NULL, &a), 0);
	udax_pgmap_get_info(a, &ic);
	T_ASSERT(ic.pfn_first == ia.pfn_first);
	T_EXPECT_ERR(udax_pgmap_unregister(a, 0, -1), 0);

	/* Many ranges: ids and sections are reused, nothing leaks. */
	for (int i = 0; i < 2000; i++) {
		T_EXPECT_ERR(reg(UDAX_PGMAP_FS_DAX, 0, mem, sz, NULL, &a), 0);
		T_EXPECT_ERR(udax_pgmap_unregister(a, 0, -1), 0);
	}
	t_devmem_free(mem, 2 * sz);
	printf("pgmap_register: ok (page descriptor %zu bytes)\n", sizeof(struct udax_page));
	return 0;
}
