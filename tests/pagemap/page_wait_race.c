/* SPDX-License-Identifier: MIT */
/*
 * A waiter racing the last put, 100k times: the waiter must always return
 * 0, and must return after the put.  A lost wakeup leaves it asleep with
 * the page idle; the releaser's watchdog reports that and fails the test
 * (a hang detector with a generous bound, not a performance threshold).
 *
 * Rounds rotate through four timings, so that coverage does not depend on
 * how the scheduler places the two threads: the put comes (0) at once,
 * (1) just as the waiter enters the wait, (2) a varying spin after it
 * entered, racing its queueing, and (3) only once it is queued and asleep,
 * which every fourth round guarantees.  The release path rotates between
 * put_page, release_pages and unpin.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <udax/pagemap.h>

#include "testutil.h"

#define WATCHDOG_NS (20ull * 1000000000ull)

static _Atomic long frees;
static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static struct udax_page *page;
static _Atomic long round_go, round_entered, round_done;
static _Atomic int failed;

static void *waiter(void *arg)
{
	long n = (long)arg;

	for (long i = 1; i <= n; i++) {
		while (atomic_load(&round_go) < i)
			sched_yield();
		atomic_store(&round_entered, i);
		int ret = udax_page_wait_idle(page, -1, NULL);
		if (ret) {
			fprintf(stderr, "round %ld: wait returned %d (%s), refcount %u\n",
				i, ret, udax_strerror(ret), udax_page_ref_count(page));
			failed = 1;
		}
		atomic_store(&round_done, i);
	}
	return NULL;
}

static void spin(unsigned n)
{
	for (volatile unsigned i = 0; i < n; i++)
		;
}

static bool queued(void)
{
	return atomic_load(&page->_refcount) & UDAX_PAGE_WAITERS;
}

int main(void)
{
	long n = t_iters(100000);
	size_t sz = 2ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_DEVICE_PUBLIC, .addr = mem, .size = sz, .ops = &ops,
	};
	struct udax_pgmap *pgmap;
	struct udax_pgmap_info info;
	pthread_t t;
	unsigned seed = 12345;
	long asleep = 0;

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	page = udax_pgmap_pfn_to_page(pgmap, info.pfn_first);
	pthread_create(&t, NULL, waiter, (void *)n);
	for (long i = 1; i <= n && !failed; i++) {
		struct udax_page *pin[1];
		int path = (int)((i / 4) % 3);

		if (path == 2)
			T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 1, pin), 0);
		else
			udax_get_page(page);
		atomic_store(&round_go, i);
		seed = seed * 1103515245u + 12345u;
		switch (i % 4) {
		case 0:
			break;
		case 1:
		case 2:
			while (atomic_load(&round_entered) < i)
				sched_yield();
			if (i % 4 == 2)
				spin((seed >> 16) % 4096);
			break;
		case 3:
			while (!queued())
				sched_yield();
			break;
		}
		if (queued())
			asleep++;
		switch (path) {
		case 0: udax_put_page(page); break;
		case 1: udax_release_pages(&page, 1); break;
		case 2: udax_unpin_pages(pin, 1); break;
		}
		uint64_t put_at = t_now_ns();

		while (atomic_load(&round_done) < i && !failed) {
			if (t_now_ns() - put_at > WATCHDOG_NS) {
				fprintf(stderr, "round %ld: lost wakeup: the waiter still sleeps "
					"%llu s after the last put (refcount word %#x)\n", i,
					WATCHDOG_NS / 1000000000ull, atomic_load(&page->_refcount));
				exit(1);
			}
			sched_yield();
		}
	}
	pthread_join(t, NULL);
	T_ASSERT(!failed);
	T_ASSERT(frees == n);
	T_ASSERT(asleep >= n / 4);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	printf("page_wait_race: %ld rounds (%ld with the waiter queued before the put), %ld page_free calls, no lost wakeup\n",
	       n, asleep, (long)frees);
	return 0;
}
