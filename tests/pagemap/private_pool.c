/* SPDX-License-Identifier: MIT */
/* The DEVICE_PRIVATE example owner: idle pages return to its free list. */
#include <errno.h>
#include <pthread.h>
#include <udax/private_pool.h>

#include "testutil.h"

#define NPAGES 256

static struct udax_private_pool *pool;

static void *churn(void *arg)
{
	struct udax_page *held[16];
	long n = t_iters(20000);

	(void)arg;
	for (long k = 0; k < n; k++) {
		int got = 0;

		for (int i = 0; i < 16; i++)
			if ((held[got] = udax_private_pool_alloc(pool)))
				got++;
		for (int i = 0; i < got; i++) {
			T_ASSERT(udax_page_ref_count(held[i]) >= 1);
			udax_get_page(held[i]);		/* a second holder */
			udax_put_page(held[i]);
			udax_put_page(held[i]);
		}
	}
	return NULL;
}

int main(void)
{
	struct udax_page *pages[NPAGES];
	struct udax_pgmap_info info;
	pthread_t t[4];

	T_EXPECT_ERR(udax_private_pool_new(0, &pool), -EINVAL);
	T_EXPECT_ERR(udax_private_pool_new(NPAGES, &pool), 0);
	udax_pgmap_get_info(udax_private_pool_pgmap(pool), &info);
	T_ASSERT(info.type == UDAX_PGMAP_DEVICE_PRIVATE && info.addr == NULL && info.managed);
	T_ASSERT(udax_private_pool_nr_free(pool) == NPAGES);

	/* Drain the pool: every page once, then nothing. */
	for (int i = 0; i < NPAGES; i++) {
		pages[i] = udax_private_pool_alloc(pool);
		T_ASSERT(pages[i] && udax_page_ref_count(pages[i]) == 1);
		T_ASSERT(udax_page_address(pages[i]) == NULL);
		for (int j = 0; j < i; j++)
			T_ASSERT(pages[j] != pages[i]);
	}
	T_ASSERT(udax_private_pool_alloc(pool) == NULL);
	/* Not CPU-addressable: no pins. */
	struct udax_page *pin;
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 1, &pin), -EFAULT);
	/* Pages out: the pool cannot go away. */
	T_EXPECT_ERR(udax_private_pool_delete(&pool), -EBUSY);
	T_ASSERT(pool != NULL);

	/* A page with two holders returns only after the second put. */
	udax_get_page(pages[0]);
	udax_put_page(pages[0]);
	T_ASSERT(udax_private_pool_nr_free(pool) == 0);
	udax_put_page(pages[0]);
	T_ASSERT(udax_private_pool_nr_free(pool) == 1);
	udax_release_pages(pages + 1, NPAGES - 1);
	T_ASSERT(udax_private_pool_nr_free(pool) == NPAGES);

	/* Threads allocating and freeing: nothing lost, nothing doubled. */
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	T_ASSERT(udax_private_pool_nr_free(pool) == NPAGES);
	udax_pgmap_get_info(udax_private_pool_pgmap(pool), &info);
	T_ASSERT(info.busy_pages == 0);

	T_EXPECT_ERR(udax_private_pool_delete(&pool), 0);
	T_ASSERT(pool == NULL);
	puts("private_pool: ok");
	return 0;
}
