/* SPDX-License-Identifier: MIT */
/*
 * Example DEVICE_PRIVATE owner (see include/udax/private_pool.h).
 *
 * The free list is a stack of page pointers under a mutex: allocation pops
 * and takes the first reference through the pool's own range handle;
 * page_free, called once per idle transition, pushes the page back.  A
 * page is therefore on the list exactly when it is idle.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <udax/private_pool.h>

struct udax_private_pool {
	struct udax_pgmap *pgmap;
	pthread_mutex_t lock;
	size_t nr_free, nr_pages;
	struct udax_page **free;
};

static void pool_page_free(struct udax_page *page, void *data)
{
	struct udax_private_pool *pool = data;

	pthread_mutex_lock(&pool->lock);
	pool->free[pool->nr_free++] = page;
	pthread_mutex_unlock(&pool->lock);
}

static const struct udax_pgmap_ops pool_ops = {
	.page_free = pool_page_free,
};

int udax_private_pool_new(size_t nr_pages, struct udax_private_pool **out)
{
	struct udax_pgmap_params p = {
		.type = UDAX_PGMAP_DEVICE_PRIVATE,
		.size = nr_pages * UDAX_PAGE_SIZE,
		.ops = &pool_ops,
		.name = "private-pool",
	};
	struct udax_private_pool *pool;
	struct udax_pgmap_info info;
	int ret;

	if (!out || nr_pages == 0 || nr_pages > (1ul << 30))
		return -EINVAL;
	pool = calloc(1, sizeof(*pool));
	if (!pool)
		return -ENOMEM;
	pool->free = calloc(nr_pages, sizeof(*pool->free));
	if (!pool->free) {
		free(pool);
		return -ENOMEM;
	}
	pthread_mutex_init(&pool->lock, NULL);
	p.ops_data = pool;
	ret = udax_pgmap_register(&p, &pool->pgmap);
	if (ret) {
		free(pool->free);
		free(pool);
		return ret;
	}
	udax_pgmap_get_info(pool->pgmap, &info);
	pool->nr_pages = nr_pages;
	/* Highest pfn on top of the stack: pages come out in pfn order. */
	for (size_t i = 0; i < nr_pages; i++)
		pool->free[i] = udax_pgmap_pfn_to_page(pool->pgmap,
					info.pfn_first + nr_pages - 1 - i);
	pool->nr_free = nr_pages;
	*out = pool;
	return 0;
}

int udax_private_pool_delete(struct udax_private_pool **ppool)
{
	struct udax_private_pool *pool;
	int ret;

	if (!ppool || !*ppool)
		return -EINVAL;
	pool = *ppool;
	ret = udax_pgmap_unregister(pool->pgmap, 0, -1);
	if (ret)
		return ret;
	pthread_mutex_destroy(&pool->lock);
	free(pool->free);
	free(pool);
	*ppool = NULL;
	return 0;
}

struct udax_page *udax_private_pool_alloc(struct udax_private_pool *pool)
{
	struct udax_page *page = NULL;

	pthread_mutex_lock(&pool->lock);
	if (pool->nr_free)
		page = pool->free[--pool->nr_free];
	pthread_mutex_unlock(&pool->lock);
	if (page)
		udax_get_page(page);	/* first reference: we own the range */
	return page;
}

size_t udax_private_pool_nr_free(struct udax_private_pool *pool)
{
	size_t n;

	pthread_mutex_lock(&pool->lock);
	n = pool->nr_free;
	pthread_mutex_unlock(&pool->lock);
	return n;
}

struct udax_pgmap *udax_private_pool_pgmap(struct udax_private_pool *pool)
{
	return pool->pgmap;
}
