/* SPDX-License-Identifier: MIT */
/*
 * Holders of an FS_DAX range: file systems on partitions of one device
 * attach to disjoint pfn spans, and the standard page_free tells the
 * holder of the span, and only that one, when a page goes idle.  Detach
 * works without memory (every allocation failing): nothing more reaches
 * the holder, its span and its pointer are free for a new attach.
 */
#include <errno.h>
#include <udax/fault.h>
#include <udax/pagemap.h>

#include "testutil.h"

struct fs { const char *name; long idle; unsigned long last_pfn; };

static void page_idle(void *holder, struct udax_page *page)
{
	struct fs *fs = holder;

	fs->idle++;
	fs->last_pfn = udax_page_to_pfn(page);
	/* Called before waiters are woken, with the page idle. */
	T_ASSERT(udax_page_ref_count(page) == 0);
}
static const struct udax_dax_holder_ops hops = { .page_idle = page_idle };

static void nop_free(struct udax_page *p, void *d) { (void)p; (void)d; }
static const struct udax_pgmap_ops own_ops = { .page_free = nop_free };

int main(void)
{
	size_t sz = 4ul << 20;
	char *mem = t_devmem(2 * sz);
	struct udax_pgmap_params p = { .type = UDAX_PGMAP_FS_DAX, .addr = mem, .size = sz };
	struct udax_pgmap *pgmap, *own;
	struct udax_pgmap_info info;
	struct fs a = { .name = "a" }, b = { .name = "b" }, c = { .name = "c" };
	struct udax_page *pages[4];
	unsigned long half;

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	half = info.nr_pages / 2;

	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first, half, &hops, &a), 0);
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first + half, half, &hops, &b), 0);
	/* Overlaps, the same holder twice, and spans outside are refused. */
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first + half - 1, 2, &hops, &c), -EBUSY);
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first, 1, &hops, &a), -EBUSY);
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first + info.nr_pages, 1, &hops, &c), -EINVAL);
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first, 0, &hops, &c), -EINVAL);
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first, info.nr_pages + 1, &hops, &c), -EINVAL);

	/* Idle pages are reported to the holder of their span. */
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + 3, 1, pages), 0);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + half + 5, 2, pages + 1), 0);
	T_ASSERT(a.idle == 0 && b.idle == 0);
	udax_unpin_pages(pages, 1);
	T_ASSERT(a.idle == 1 && a.last_pfn == info.pfn_first + 3 && b.idle == 0);
	udax_unpin_pages(pages + 1, 2);
	T_ASSERT(a.idle == 1 && b.idle == 2 && b.last_pfn == info.pfn_first + half + 6);

	/* After detach nothing more reaches the holder. */
	T_EXPECT_ERR(udax_pgmap_detach_holder(pgmap, &a), 0);
	T_EXPECT_ERR(udax_pgmap_detach_holder(pgmap, &a), -ENOENT);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + 3, 1, pages), 0);
	udax_unpin_pages(pages, 1);
	T_ASSERT(a.idle == 1);
	/* Its span is free for another holder. */
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first, half, &hops, &c), 0);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 1, pages), 0);
	udax_unpin_pages(pages, 1);
	T_ASSERT(c.idle == 1);

	/* Detach without memory (an unmount cannot keep a file system it is
	 * about to free attached): it still succeeds, and nothing more
	 * reaches the holder. */
	T_EXPECT_ERR(udax_fault_set(UDAX_FAULT_MALLOC, 1, 1000, -ENOMEM), 0);
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first + half, 1, &hops, &a),
		     -EBUSY);		/* b's: refused before any allocation */
	T_EXPECT_ERR(udax_pgmap_detach_holder(pgmap, &b), 0);
	T_ASSERT(udax_fault_hits(UDAX_FAULT_MALLOC) == 1);
	T_EXPECT_ERR(udax_pgmap_detach_holder(pgmap, &b), -ENOENT);
	udax_fault_clear(UDAX_FAULT_MALLOC);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + half + 5, 1, pages), 0);
	udax_unpin_pages(pages, 1);
	T_ASSERT(b.idle == 2);
	/* Its span is free, for b itself or another holder; c is untouched. */
	T_EXPECT_ERR(udax_pgmap_attach_holder(pgmap, info.pfn_first + half, half, &hops, &b), 0);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + half + 5, 1, pages), 0);
	udax_unpin_pages(pages, 1);
	T_ASSERT(b.idle == 3);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 1, pages), 0);
	udax_unpin_pages(pages, 1);
	T_ASSERT(c.idle == 2);

	/* Only ranges with the standard FS_DAX ops have holders. */
	p.addr = mem + sz;
	p.ops = &own_ops;
	T_EXPECT_ERR(udax_pgmap_register(&p, &own), 0);
	udax_pgmap_get_info(own, &info);
	T_EXPECT_ERR(udax_pgmap_attach_holder(own, info.pfn_first, 1, &hops, &c), -EINVAL);
	T_EXPECT_ERR(udax_pgmap_unregister(own, 0, 0), 0);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	puts("pgmap_holder: ok");
	return 0;
}
