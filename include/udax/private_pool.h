/* SPDX-License-Identifier: MIT */
/*
 * An example DEVICE_PRIVATE owner: a pool of device pages that the CPU
 * cannot address (think GPU memory), handed out with one reference and
 * returned to the pool's free list by page_free when their last reference
 * is dropped.  The shape of the kernel's lib/test_hmm.c "dmirror" device.
 */
#ifndef UDAX_PRIVATE_POOL_H
#define UDAX_PRIVATE_POOL_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stddef.h>
#include <udax/pagemap.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udax_private_pool;

/* Register a DEVICE_PRIVATE range of @nr_pages pages and fill the pool. */
int udax_private_pool_new(size_t nr_pages, struct udax_private_pool **out);
/* Unregister and free; -EBUSY (and nothing freed) while pages are out. */
int udax_private_pool_delete(struct udax_private_pool **pool);

/* A free page with one reference (drop it with udax_put_page), or NULL. */
struct udax_page *udax_private_pool_alloc(struct udax_private_pool *pool);
size_t udax_private_pool_nr_free(struct udax_private_pool *pool);
struct udax_pgmap *udax_private_pool_pgmap(struct udax_private_pool *pool);

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
