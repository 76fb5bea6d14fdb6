/* SPDX-License-Identifier: MIT */
/*
 * The device owns one FS_DAX range over its mapping: partitions get
 * disjoint pfn spans of it (with the page array in ordinary memory, in
 * the device (ALTMAP), or none (LIMITED)); file systems attach to those
 * spans without colliding; a held page keeps the device open.
 */
#include <udax/dev.h>

#include "dev_util.h"

static const struct udax_dax_holder_ops holder_ops = { NULL };

/* Each partition's pfn span maps onto exactly its bytes. */
static void check_spans(struct udax_dev *dev, int nparts)
{
	struct udax_dev_info info;
	struct udax_pgmap_info pi;
	struct udax_pgmap *pgmap = udax_dev_pgmap(dev);

	T_OK(udax_dev_info(dev, &info));
	udax_pgmap_get_info(pgmap, &pi);
	T_ASSERT(pi.type == UDAX_PGMAP_FS_DAX);
	T_ASSERT(pi.size == info.size);			/* the whole mapping */
	T_ASSERT(pi.altmap_bytes == info.altmap_bytes);
	T_ASSERT(pi.pfn_first == info.pfn_first && pi.nr_pages == info.nr_pages);
	T_ASSERT((char *)pi.addr == (char *)info.addr + info.altmap_bytes);
	T_ASSERT(info.table_offset >= info.altmap_bytes);
	T_ASSERT(info.table_offset % (2 * MiB) == 0);
	T_ASSERT(udax_dev_part_count(dev) == nparts);

	for (int i = 0; i < nparts; i++) {
		struct udax_part_info part;
		struct udax_pgmap *found;

		T_OK(udax_dev_part(dev, (unsigned)i, &part));
		T_ASSERT(part.offset >= info.table_offset + 2 * MiB);
		T_ASSERT(part.pfn_first == info.pfn_first +
			 (part.offset - info.altmap_bytes) / UDAX_PAGE_SIZE);
		T_ASSERT(part.pfn_first + part.nr_pages <= info.pfn_first + info.nr_pages);
		/* pfn lookups find the device's range. */
		found = udax_get_dev_pagemap(part.pfn_first, NULL);
		T_ASSERT(found == pgmap);
		udax_put_dev_pagemap(found);
		found = udax_get_dev_pagemap(part.pfn_first + part.nr_pages - 1, NULL);
		T_ASSERT(found == pgmap);
		udax_put_dev_pagemap(found);
		found = udax_get_dev_pagemap_addr(part.addr, NULL);
		T_ASSERT(found == pgmap);
		udax_put_dev_pagemap(found);
		if (!(info.pgmap_flags & UDAX_PGMAP_LIMITED)) {
			/* First and last page of the span: their addresses. */
			struct udax_page *pg = udax_pgmap_pfn_to_page(pgmap, part.pfn_first);

			T_ASSERT(pg && udax_page_address(pg) == part.addr);
			T_ASSERT(udax_page_to_pfn(pg) == part.pfn_first);
			pg = udax_pgmap_pfn_to_page(pgmap, part.pfn_first + part.nr_pages - 1);
			T_ASSERT(udax_page_address(pg) ==
				 (char *)part.addr + part.size - UDAX_PAGE_SIZE);
		}
	}
}

static void three_parts(struct udax_dev *dev)
{
	struct udax_part_spec ps[3] = { { 4 * MiB, 1, "a" }, { 6 * MiB, 1, "b" },
					{ 0, 1, "c" } };

	T_OK(udax_dev_mkpart(dev, ps, 3, 0));
}

int main(void)
{
	struct udax_dev_opts o = { 0 };
	struct udax_dev *dev, *dev2;
	struct udax_dev_info info;
	struct udax_part_info a, b;
	struct udax_page *pages[2];
	int fs1, fs2, fs3;
	const char *dir = t_tmpdir();
	char path[512], cmd[600];

	/* Default: the page array in ordinary memory; table at 0. */
	dev = t_open_mem("mem:64M", 0);
	three_parts(dev);
	check_spans(dev, 3);

	/* Two file systems on two partitions: holders of disjoint spans. */
	T_OK(udax_dev_part(dev, 0, &a));
	T_OK(udax_dev_part(dev, 1, &b));
	T_OK(udax_pgmap_attach_holder(udax_dev_pgmap(dev), a.pfn_first, a.nr_pages,
				      &holder_ops, &fs1));
	T_OK(udax_pgmap_attach_holder(udax_dev_pgmap(dev), b.pfn_first, b.nr_pages,
				      &holder_ops, &fs2));
	/* A third claiming across both is refused. */
	T_EXPECT_ERR(udax_pgmap_attach_holder(udax_dev_pgmap(dev),
					      a.pfn_first + a.nr_pages - 1, 2,
					      &holder_ops, &fs3), -EBUSY);

	/* A pinned page keeps the device open, and blocks repartitioning. */
	T_OK(udax_pin_pages(b.pfn_first + 3, 2, pages));
	T_ASSERT(udax_page_address(pages[0]) == (char *)b.addr + 3 * UDAX_PAGE_SIZE);
	T_EXPECT_MSG(udax_dev_close(&dev, 0), -EBUSY, "2 page(s)");
	T_ASSERT(dev != NULL);
	T_OK(udax_dev_info(dev, &info));		/* still usable */
	T_EXPECT_MSG(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE), -EBUSY,
		     "are held");
	T_EXPECT_ERR(udax_dev_part_wipe(dev), -EBUSY);
	T_EXPECT_ERR(udax_dev_close_timeout(&dev, UDAX_DEV_CLOSE_WAIT, 1000000),
		     -ETIMEDOUT);
	T_ASSERT(dev != NULL);
	udax_unpin_pages(pages, 2);
	T_OK(udax_pgmap_detach_holder(udax_dev_pgmap(dev), &fs1));
	T_OK(udax_pgmap_detach_holder(udax_dev_pgmap(dev), &fs2));
	T_OK(udax_dev_close(&dev, 0));

	/* LIMITED: addressable, found by pfn, never pinnable. */
	dev = t_open_mem("mem:64M", UDAX_PGMAP_LIMITED);
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.pgmap_flags == UDAX_PGMAP_LIMITED && info.altmap_bytes == 0);
	three_parts(dev);
	check_spans(dev, 3);
	T_OK(udax_dev_part(dev, 1, &b));
	T_EXPECT_ERR(udax_pin_pages(b.pfn_first, 1, pages), -EOPNOTSUPP);
	T_ASSERT(udax_pgmap_pfn_to_page(udax_dev_pgmap(dev), b.pfn_first) == NULL);
	T_OK(udax_dev_close(&dev, 0));

	/* ALTMAP: the page array is the start of the device; the table and
	 * partitions come after it. */
	o.pgmap_flags = UDAX_PGMAP_ALTMAP;
	T_OK(udax_dev_open("mem:64M", &o, &dev));
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.altmap_bytes > 0 && info.altmap_bytes < 2 * MiB);
	T_ASSERT(info.table_offset == 2 * MiB);
	T_ASSERT(info.nr_pages == (64 * MiB - info.altmap_bytes) / UDAX_PAGE_SIZE);
	three_parts(dev);
	check_spans(dev, 3);
	T_OK(udax_dev_part(dev, 0, &a));
	T_ASSERT(a.offset == 4 * MiB);
	T_OK(udax_pin_pages(a.pfn_first, 1, pages));
	T_EXPECT_ERR(udax_dev_close(&dev, 0), -EBUSY);
	udax_unpin_pages(pages, 1);
	T_OK(udax_dev_close(&dev, 0));

	/* Layouts persist: a file laid out with ALTMAP opens either way and
	 * keeps its table behind the page-array reservation. */
	snprintf(path, sizeof(path), "%s/altmap.img", dir);
	o = (struct udax_dev_opts){ .flags = UDAX_DEV_CREATE, .size = 64 * MiB,
				    .pgmap_flags = UDAX_PGMAP_ALTMAP };
	T_OK(udax_dev_open(path, &o, &dev));
	three_parts(dev);
	T_OK(udax_dev_part(dev, 2, &a));
	T_OK(udax_dev_close(&dev, 0));
	o = (struct udax_dev_opts){ 0 };
	T_OK(udax_dev_open(path, &o, &dev));		/* without ALTMAP */
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.altmap_bytes == 0 && info.table_offset == 2 * MiB);
	check_spans(dev, 3);
	T_OK(udax_dev_part(dev, 2, &b));
	T_ASSERT(a.offset == b.offset && a.size == b.size &&
		 memcmp(a.uuid, b.uuid, 16) == 0);
	/* Replacing the table keeps the ALTMAP layout. */
	T_OK(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE));
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.table_offset == 2 * MiB);
	T_OK(udax_dev_close(&dev, 0));
	o.pgmap_flags = UDAX_PGMAP_ALTMAP;
	T_OK(udax_dev_open(path, &o, &dev));
	check_spans(dev, 1);
	T_OK(udax_dev_close(&dev, 0));

	/* A table laid out without a reservation is never overwritten by
	 * an in-device page array. */
	o = (struct udax_dev_opts){ 0 };
	T_OK(udax_dev_open(path, &o, &dev));
	T_OK(udax_dev_part_wipe(dev));
	T_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	T_OK(udax_dev_info(dev, &info));
	T_ASSERT(info.table_offset == 0);
	T_OK(udax_dev_close(&dev, 0));
	o.pgmap_flags = UDAX_PGMAP_ALTMAP;
	T_EXPECT_MSG(udax_dev_open(path, &o, &dev2), -EINVAL, "would overwrite");
	o.pgmap_flags = 0;
	T_OK(udax_dev_open(path, &o, &dev));
	T_ASSERT(udax_dev_part_count(dev) == 1);
	T_OK(udax_dev_close(&dev, 0));

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	T_ASSERT(system(cmd) == 0);
	return 0;
}
