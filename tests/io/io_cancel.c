/* SPDX-License-Identifier: MIT */
/*
 * Cancelling slow reads in flight: the callbacks see -ECANCELED (or all
 * the bytes, where the read won the race), each request completes once,
 * its pages go idle exactly once (the holder is told once per page) and
 * end with no references; a cancel after completion says -EALREADY.
 * Also: a request still queued by batching, and a cancel racing
 * resubmissions of short reads (UDAX_IO_FULL) at random points.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/io.h>

#include "io_util.h"

#define PG	4096
#define NPG	4

static struct udax_dev *dev;
static struct udax_dev_info di;
static _Atomic long idle_calls, callbacks, cb_cancelled, cb_full, cb_other;

static void page_idle(void *holder, struct udax_page *page)
{
	(void)holder;
	(void)page;
	idle_calls++;
}
static const struct udax_dax_holder_ops hops = { .page_idle = page_idle };

static void done(struct udax_io_req *req, ssize_t res, void *arg)
{
	size_t len = (size_t)(uintptr_t)arg;

	(void)req;
	callbacks++;
	if (res == -ECANCELED)
		cb_cancelled++;
	else if (res == (ssize_t)len)
		cb_full++;
	else
		cb_other++;
}

static void all_idle(void)
{
	struct udax_pgmap_info pi;

	udax_pgmap_get_info(udax_dev_pgmap(dev), &pi);
	T_ASSERT(pi.busy_pages == 0);
	for (unsigned long i = 0; i < di.nr_pages; i++)
		T_ASSERT(udax_page_ref_count(udax_pgmap_pfn_to_page(udax_dev_pgmap(dev),
						di.pfn_first + i)) == 0);
}

/* 8 reads of 16 KiB at 8 KiB/s each, cancelled once some bytes came. */
static void cancel_in_flight(struct udax_io *io, unsigned long pfn0)
{
	enum { N = 8 };
	struct udax_io_slow *src[N];
	struct udax_io_req *req[N];
	long idle0 = idle_calls, cb0 = callbacks;
	size_t partial = 0;

	for (int i = 0; i < N; i++) {
		struct udax_io_slow_opts so = { .rate = 8192, .chunk = 1024, .seed = (uint32_t)i };

		T_EXPECT_ERR(udax_io_slow_new(&so, &src[i]), 0);
		T_EXPECT_ERR(udax_io_read_pfns(io, udax_io_slow_fd(src[i]), UDAX_IO_CUR_POS,
					       pfn0 + (unsigned long)i * NPG, NPG, done,
					       (void *)(uintptr_t)(NPG * PG), &req[i]), 0);
	}
	/* Wait for a first chunk to land somewhere (no time bound needed:
	 * the sources are running). */
	while (!partial) {
		for (int i = 0; i < N; i++)
			partial += udax_io_req_bytes(req[i]);
		sched_yield();
	}
	for (int i = 0; i < N; i++)
		T_EXPECT_ERR(udax_io_cancel(io, req[i]), 0);
	/* A second cancel of a request not yet complete is harmless. */
	{
		int again = udax_io_cancel(io, req[0]);

		T_ASSERT(again == 0 || again == -EALREADY);
	}
	for (int i = 0; i < N; i++) {
		ssize_t res = udax_io_wait(req[i]);
		size_t bytes = udax_io_req_bytes(req[i]);
		const uint8_t *p = (const uint8_t *)di.addr +
				   (pfn0 + (unsigned long)i * NPG - di.pfn_first) * PG;

		T_ASSERT(res == -ECANCELED || res == NPG * PG);
		T_ASSERT(bytes <= NPG * PG);
		/* What did arrive is the stream's first bytes, in place. */
		for (size_t j = 0; j < bytes; j++)
			T_ASSERT(p[j] == udax_io_slow_byte((uint32_t)i, j));
		T_EXPECT_ERR(udax_io_cancel(io, req[i]), -EALREADY);
		udax_io_req_free(&req[i]);
		udax_io_slow_delete(&src[i]);
	}
	T_ASSERT(callbacks - cb0 == N);
	T_ASSERT(idle_calls - idle0 == N * NPG);
	all_idle();
}

/* A request held back by batching is cancelled before it reaches the
 * kernel: the cancel goes behind it in the same submission. */
static void cancel_queued(unsigned long pfn0)
{
	struct udax_io_opts o = { .queue_depth = 8, .submit_batch = 4 };
	struct udax_io *io;
	struct udax_io_req *req;
	struct udax_io_stats st;
	int p[2];
	long idle0 = idle_calls;

	T_ASSERT(pipe(p) == 0);
	T_EXPECT_ERR(udax_io_new(&o, &io), 0);
	T_EXPECT_ERR(udax_io_read_pfns(io, p[0], UDAX_IO_CUR_POS, pfn0, 2, NULL, NULL, &req), 0);
	udax_io_get_stats(io, &st);
	T_ASSERT(st.inflight == 1);
	T_EXPECT_ERR(udax_io_cancel(io, req), 0);
	T_EXPECT_ERR(udax_io_wait(req), -ECANCELED);
	T_ASSERT(udax_io_req_bytes(req) == 0);
	udax_io_req_free(&req);
	T_ASSERT(idle_calls - idle0 == 2);
	udax_io_get_stats(io, &st);
	T_ASSERT(st.cancelled == 1 && st.completed == 1 && st.inflight == 0);
	T_EXPECT_ERR(udax_io_delete(&io), 0);
	close(p[0]);
	close(p[1]);
	all_idle();
}

/* Cancels at random points of fast short reads being resubmitted. */
static void cancel_race(struct udax_io *io, unsigned long pfn0)
{
	struct udax_io_slow_opts so = { .rate = 256ull << 20, .chunk = 4096, .seed = 99 };
	struct udax_io_slow *src;
	long n = t_iters(300), idle0 = idle_calls, cb0 = callbacks;
	long c0 = cb_cancelled, f0 = cb_full;
	unsigned seed = 1;
	long partial = 0;

	T_EXPECT_ERR(udax_io_slow_new(&so, &src), 0);
	for (long i = 0; i < n; i++) {
		struct udax_io_req *req;
		unsigned spin = (unsigned)rand_r(&seed) % 48;
		ssize_t res;

		T_EXPECT_ERR(udax_io_read_pfns(io, udax_io_slow_fd(src), UDAX_IO_CUR_POS,
					       pfn0, NPG, done,
					       (void *)(uintptr_t)(NPG * PG), &req), 0);
		for (unsigned s = 0; s < spin; s++)
			sched_yield();
		res = udax_io_cancel(io, req);
		T_ASSERT(res == 0 || res == -EALREADY);
		res = udax_io_wait(req);
		T_ASSERT(res == -ECANCELED || res == NPG * PG);
		if (res == -ECANCELED && udax_io_req_bytes(req))
			partial++;
		udax_io_req_free(&req);
		/* Idle transitions are exactly once per page per request. */
		T_ASSERT(idle_calls - idle0 == (i + 1) * NPG);
	}
	T_ASSERT(callbacks - cb0 == n && cb_other == 0);
	printf("io_cancel: race: %ld reads, %ld cancelled (%ld after some bytes), "
	       "%ld completed first\n", n, cb_cancelled - c0, partial, cb_full - f0);
	udax_io_slow_delete(&src);
	all_idle();
}

int main(void)
{
	struct udax_io *io, *other;
	struct udax_io_opts o = { .queue_depth = 32, .flags = UDAX_IO_FULL };
	struct udax_io_req *req;
	unsigned long pfn0;
	int p[2];

	T_EXPECT_ERR(udax_dev_open("mem:8M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_info(dev, &di), 0);
	pfn0 = di.pfn_first;
	T_EXPECT_ERR(udax_pgmap_attach_holder(udax_dev_pgmap(dev), di.pfn_first,
					      di.nr_pages, &hops, (void *)&hops), 0);
	io = io_new_or_skip(&o);

	cancel_in_flight(io, pfn0);
	cancel_queued(pfn0 + 100);
	cancel_race(io, pfn0 + 200);

	/* A request of another engine is refused. */
	T_EXPECT_ERR(udax_io_new(NULL, &other), 0);
	T_ASSERT(pipe(p) == 0);
	T_EXPECT_ERR(udax_io_read_pfns(io, p[0], UDAX_IO_CUR_POS, pfn0, 1, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_cancel(other, req), -EINVAL);
	T_EXPECT_ERR(udax_io_cancel(io, req), 0);
	T_EXPECT_ERR(udax_io_wait(req), -ECANCELED);
	udax_io_req_free(&req);
	/* Dropping our reference before completion: the engine frees it. */
	T_EXPECT_ERR(udax_io_read_pfns(io, p[0], UDAX_IO_CUR_POS, pfn0, 1, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_cancel(io, req), 0);
	udax_io_req_free(&req);
	T_EXPECT_ERR(udax_io_drain(io), 0);
	close(p[0]);
	close(p[1]);
	T_EXPECT_ERR(udax_io_delete(&other), 0);

	T_EXPECT_ERR(udax_io_delete(&io), 0);
	all_idle();
	T_EXPECT_ERR(udax_pgmap_detach_holder(udax_dev_pgmap(dev), (void *)&hops), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	printf("io_cancel: ok\n");
	return 0;
}
