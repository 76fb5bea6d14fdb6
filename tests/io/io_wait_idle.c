/* SPDX-License-Identifier: MIT */
/*
 * A thread sleeping in udax_pfn_range_wait_idle() on the target pages of
 * slow reads in flight is woken by the completions, and only after the
 * last one: the completion counter, bumped in the callbacks, is complete
 * the moment the wait returns.  Every page goes idle exactly once per
 * round (the holder is told once per page), the data is right.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <udax/dev.h>
#include <udax/io.h>

#include "io_util.h"

#define NREQ	4
#define NPG	8		/* pages per request */
#define PG	4096

static struct udax_dev_info di;
static unsigned long pfn0;
static _Atomic int completed, bad_data, bad_res;
static _Atomic long idle_calls;

static void page_idle(void *holder, struct udax_page *page)
{
	(void)holder;
	(void)page;
	idle_calls++;
}
static const struct udax_dax_holder_ops hops = { .page_idle = page_idle };

struct ctx {
	uint32_t seed;
	unsigned long pfn;
};

/* Runs with the pages still pinned: check them, then count. */
static void done(struct udax_io_req *req, ssize_t res, void *arg)
{
	struct ctx *c = arg;
	const uint8_t *p = (const uint8_t *)di.addr + (c->pfn - di.pfn_first) * PG;

	(void)req;
	if (res != NPG * PG)
		bad_res++;
	for (size_t i = 0; i < NPG * PG; i++)
		if (p[i] != udax_io_slow_byte(c->seed, i)) {
			bad_data++;
			break;
		}
	completed++;
}

static int wait_ret = 1, seen_at_wake = -1, seen_at_start = -1;

static void *waiter(void *arg)
{
	(void)arg;
	seen_at_start = completed;
	wait_ret = udax_pfn_range_wait_idle(pfn0, NREQ * NPG, 60ll * 1000000000ll, NULL);
	seen_at_wake = completed;
	return NULL;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_io *io;
	struct udax_io_opts o = { .queue_depth = 16, .flags = UDAX_IO_FULL };
	int rounds = 3, in_flight_rounds = 0;

	T_EXPECT_ERR(udax_dev_open("mem:8M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_info(dev, &di), 0);
	pfn0 = di.pfn_first + 64;
	T_EXPECT_ERR(udax_pgmap_attach_holder(udax_dev_pgmap(dev), pfn0, NREQ * NPG,
					      &hops, (void *)&hops), 0);
	io = io_new_or_skip(&o);

	for (int r = 0; r < rounds; r++) {
		struct udax_io_slow *src[NREQ];
		struct ctx ctx[NREQ];
		pthread_t t;

		completed = 0;
		idle_calls = 0;
		memset((char *)di.addr + (pfn0 - di.pfn_first) * PG, 0, NREQ * NPG * PG);
		for (int i = 0; i < NREQ; i++) {
			/* 32 KiB at 128 KiB/s: a quarter second in flight. */
			struct udax_io_slow_opts so = {
				.rate = 128 << 10, .chunk = 2048, .seed = (uint32_t)(r * 10 + i),
				.paused = true,
			};

			T_EXPECT_ERR(udax_io_slow_new(&so, &src[i]), 0);
			ctx[i].seed = so.seed;
			ctx[i].pfn = pfn0 + (unsigned long)i * NPG;
			T_EXPECT_ERR(udax_io_read_pfns(io, udax_io_slow_fd(src[i]),
						       UDAX_IO_CUR_POS, ctx[i].pfn, NPG,
						       done, &ctx[i], NULL), 0);
		}
		/* No byte flows until the waiter sleeps on the first page (it
		 * marks the page), so it surely started while all were in
		 * flight; then the sources run. */
		pthread_create(&t, NULL, waiter, NULL);
		{
			struct udax_pgmap *pg = udax_dev_pgmap(dev);
			struct udax_page *first = udax_pgmap_pfn_to_page(pg, pfn0);

			while (!(atomic_load(&first->_refcount) & UDAX_PAGE_WAITERS))
				sched_yield();
		}
		T_ASSERT(completed == 0);
		for (int i = 0; i < NREQ; i++)
			udax_io_slow_resume(src[i]);
		pthread_join(t, NULL);
		T_EXPECT_ERR(wait_ret, 0);
		/* The point: woken only once every callback had run. */
		T_ASSERT(seen_at_wake == NREQ);
		if (seen_at_start < NREQ)
			in_flight_rounds++;
		T_EXPECT_ERR(udax_io_drain(io), 0);
		T_ASSERT(bad_res == 0 && bad_data == 0);
		T_ASSERT(idle_calls == NREQ * NPG);
		for (int i = 0; i < NREQ; i++)
			udax_io_slow_delete(&src[i]);
	}
	T_ASSERT(in_flight_rounds == rounds);
	printf("io_wait_idle: %d rounds of %d slow reads, waiter woken after "
	       "the last completion each time\n", rounds, NREQ);

	/* A source that ends: UDAX_IO_FULL reads on to end of file and
	 * reports the short count. */
	{
		struct udax_io_slow_opts so = { .rate = 1 << 20, .chunk = 3000,
						.total = 10000, .seed = 5 };
		struct udax_io_slow *src;
		struct udax_io_req *req;
		const uint8_t *p = (const uint8_t *)di.addr + (pfn0 - di.pfn_first) * PG;

		T_EXPECT_ERR(udax_io_slow_new(&so, &src), 0);
		T_EXPECT_ERR(udax_io_read_pfns(io, udax_io_slow_fd(src), UDAX_IO_CUR_POS,
					       pfn0, 4, NULL, NULL, &req), 0);
		T_EXPECT_ERR(udax_io_wait(req), 10000);
		udax_io_req_free(&req);
		for (size_t i = 0; i < 10000; i++)
			T_ASSERT(p[i] == udax_io_slow_byte(5, i));
		T_ASSERT(udax_io_slow_written(src) == 10000);
		udax_io_slow_delete(&src);
		T_ASSERT(src == NULL);
		T_EXPECT_ERR(udax_io_slow_new(NULL, &src), -EINVAL);
	}

	T_EXPECT_ERR(udax_io_delete(&io), 0);
	T_EXPECT_ERR(udax_pgmap_detach_holder(udax_dev_pgmap(dev), (void *)&hops), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	return 0;
}
