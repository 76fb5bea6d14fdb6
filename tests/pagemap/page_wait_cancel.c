/* SPDX-License-Identifier: MIT */
/* Idle waits: timeouts, cancellation from another thread, range waits. */
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <udax/pagemap.h>

#include "testutil.h"

static void nop_free(struct udax_page *p, void *d) { (void)p; (void)d; }
static const struct udax_pgmap_ops ops = { .page_free = nop_free };

struct arg {
	struct udax_page *page;
	unsigned long pfn;
	size_t n;
	struct udax_cancel *cancel;
	_Atomic int ret, done;
};

static void *wait_page(void *p)
{
	struct arg *a = p;

	a->ret = udax_page_wait_idle(a->page, -1, a->cancel);
	a->done = 1;
	return NULL;
}

static void *wait_range(void *p)
{
	struct arg *a = p;

	a->ret = udax_pfn_range_wait_idle(a->pfn, a->n, -1, a->cancel);
	a->done = 1;
	return NULL;
}

/* Until a thread sleeps in the wait queue (the page carries the mark). */
static void until_queued(struct udax_page *page)
{
	while (!(atomic_load(&page->_refcount) & UDAX_PAGE_WAITERS))
		usleep(100);
}

int main(void)
{
	size_t sz = 2ul << 20;
	char *mem = t_devmem(2 * sz);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem, .size = sz, .ops = &ops,
	};
	struct udax_pgmap *pgmap, *generic;
	struct udax_pgmap_info info, ginfo;
	struct udax_page *page, *gpage;
	struct udax_cancel *c;
	struct arg a = { 0 };
	pthread_t t;
	uint64_t t0;

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	p.type = UDAX_PGMAP_GENERIC;
	p.ops = NULL;
	p.addr = mem + sz;
	T_EXPECT_ERR(udax_pgmap_register(&p, &generic), 0);
	udax_pgmap_get_info(pgmap, &info);
	udax_pgmap_get_info(generic, &ginfo);
	page = udax_pgmap_pfn_to_page(pgmap, info.pfn_first);
	gpage = udax_pgmap_pfn_to_page(generic, ginfo.pfn_first);
	T_EXPECT_ERR(udax_cancel_new(&c), 0);

	/* Idle pages return at once, whatever the timeout or token. */
	T_EXPECT_ERR(udax_page_wait_idle(page, 0, NULL), 0);
	udax_cancel_fire(c);
	T_EXPECT_ERR(udax_page_wait_idle(page, -1, c), 0);
	udax_cancel_reset(c);
	T_ASSERT(!udax_cancel_fired(c));

	/* Held pages: a zero timeout only checks; a short one expires. */
	udax_get_page(page);
	T_EXPECT_ERR(udax_page_wait_idle(page, 0, NULL), -ETIMEDOUT);
	t0 = t_now_ns();
	T_EXPECT_ERR(udax_page_wait_idle(page, 30000000, NULL), -ETIMEDOUT);
	T_ASSERT(t_now_ns() - t0 >= 30000000);
	/* A token fired before the wait cancels it at once. */
	udax_cancel_fire(c);
	T_EXPECT_ERR(udax_page_wait_idle(page, -1, c), -ECANCELED);
	udax_cancel_reset(c);

	/* Cancellation from another thread wakes a sleeping waiter. */
	a.page = page;
	a.cancel = c;
	pthread_create(&t, NULL, wait_page, &a);
	until_queued(page);
	T_ASSERT(!a.done);
	udax_cancel_fire(c);
	pthread_join(t, NULL);
	T_EXPECT_ERR(a.ret, -ECANCELED);
	T_ASSERT(udax_page_ref_count(page) == 1);
	udax_cancel_reset(c);

	/* And the page going idle wakes it with 0. */
	a.done = 0;
	pthread_create(&t, NULL, wait_page, &a);
	until_queued(page);
	udax_put_page(page);
	pthread_join(t, NULL);
	T_EXPECT_ERR(a.ret, 0);

	/* Range wait: pages released one by one, out of order. */
	struct udax_page *pins[16];

	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + 10, 16, pins), 0);
	a = (struct arg){ .pfn = info.pfn_first, .n = 64 };
	pthread_create(&t, NULL, wait_range, &a);
	for (int i = 15; i >= 0; i--) {
		usleep(1000);
		T_ASSERT(!a.done);
		udax_unpin_pages(&pins[i], 1);
	}
	pthread_join(t, NULL);
	T_EXPECT_ERR(a.ret, 0);

	/* Range wait cancelled midway. */
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first + 3, 2, pins), 0);
	a = (struct arg){ .pfn = info.pfn_first, .n = 8, .cancel = c };
	pthread_create(&t, NULL, wait_range, &a);
	until_queued(pins[0]);
	udax_cancel_fire(c);
	pthread_join(t, NULL);
	T_EXPECT_ERR(a.ret, -ECANCELED);
	udax_unpin_pages(pins, 2);

	/* Errors. */
	T_EXPECT_ERR(udax_page_wait_idle(NULL, 0, NULL), -EINVAL);
	T_EXPECT_ERR(udax_page_wait_idle(gpage, 0, NULL), -EOPNOTSUPP);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(ginfo.pfn_first, 1, 0, NULL), -EOPNOTSUPP);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(0, 1, 0, NULL), -ENOENT);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(info.pfn_first, 0, 0, NULL), -EINVAL);
	T_EXPECT_ERR(udax_pfn_range_wait_idle(info.pfn_first + 1, info.nr_pages, 0, NULL), -EINVAL);

	udax_cancel_delete(&c);
	T_ASSERT(c == NULL);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	T_EXPECT_ERR(udax_pgmap_unregister(generic, 0, 0), 0);
	puts("page_wait_cancel: ok");
	return 0;
}
