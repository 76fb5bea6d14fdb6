/* SPDX-License-Identifier: MIT */
/*
 * A batched release wakes a thread waiting for a whole pfn range, with
 * one page_free per page; repeated so the release races the waiter.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <udax/pagemap.h>

#include "testutil.h"

#define N 64

static _Atomic long frees;
static void count_free(struct udax_page *p, void *d) { (void)p; (void)d; frees++; }
static const struct udax_pgmap_ops ops = { .page_free = count_free };

static unsigned long pfn0;
static _Atomic long go, done;
static _Atomic int failed;

static void *waiter(void *arg)
{
	long rounds = (long)arg;

	for (long i = 1; i <= rounds; i++) {
		while (atomic_load(&go) < i)
			sched_yield();
		int ret = udax_pfn_range_wait_idle(pfn0, N, 30ll * 1000000000ll, NULL);
		if (ret) {
			fprintf(stderr, "round %ld: %s\n", i, udax_strerror(ret));
			failed = 1;
		}
		atomic_store(&done, i);
	}
	return NULL;
}

int main(void)
{
	long rounds = t_iters(3000);
	size_t sz = 2ul << 20;
	char *mem = t_devmem(sz);
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_FS_DAX, .addr = mem, .size = sz, .ops = &ops,
	};
	struct udax_pgmap *pgmap;
	struct udax_pgmap_info info;
	struct udax_page *pages[N];
	pthread_t t;

	T_EXPECT_ERR(udax_pgmap_register(&p, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	pfn0 = info.pfn_first;
	pthread_create(&t, NULL, waiter, (void *)rounds);
	for (long i = 1; i <= rounds && !failed; i++) {
		T_EXPECT_ERR(udax_pin_pages(pfn0, N, pages), 0);
		atomic_store(&go, i);
		if (i & 1)
			sched_yield();
		udax_release_pages(pages, N);
		while (atomic_load(&done) < i && !failed)
			sched_yield();
	}
	pthread_join(t, NULL);
	T_ASSERT(!failed);
	T_ASSERT(frees == rounds * N);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	printf("release_pages_wake: %ld rounds of %d pages\n", rounds, N);
	return 0;
}
