/* SPDX-License-Identifier: MIT */
/*
 * Waiting for pages to go idle (the kernel's wait_var_event on a page's
 * refcount, woken from fsdax's page_free).
 *
 * A waiter sleeps on a futex word of its own, queued in a hashed wait
 * bucket, and marks the page with UDAX_PAGE_WAITERS.  The mark lives in the
 * refcount word, so the thread that drops the last reference learns from
 * the same atomic decrement whether anyone sleeps: put_page makes no system
 * call and takes no lock when nobody waits.
 *
 * No lost wakeup: the waiter sets the mark with an atomic OR on the refcount
 * word while holding the bucket lock, and reads the count in that same
 * operation.  Either the OR comes first, and the final decrement returns the
 * mark and the releaser wakes the bucket (taking the lock, so it waits for
 * the waiter to finish queueing), or the decrement comes first and the OR
 * returns a count of zero.  The waiter's own word is only ever changed from
 * WAITING by a waker or a canceller before FUTEX_WAKE, so FUTEX_WAIT on it
 * cannot miss either.  Wakers hold the bucket (or cancel) lock while waking,
 * and a waiter takes both locks before returning, so a waiter never leaves
 * while someone is still about to touch its word.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pagemap/internal.h"

enum { WAITING = 0, WOKEN = 1, CANCELLED = 2 };

struct udax_waiter {
	struct udax_waiter *next, *prev;		/* bucket list */
	struct udax_waiter *cnext, *cprev;		/* cancel token list */
	const struct udax_page *page;
	_Atomic uint32_t state;
};

struct wait_bucket {
	pthread_mutex_t lock;
	struct udax_waiter *head;
} __attribute__((aligned(CACHELINE)));

#define WAIT_BUCKETS 256
static struct wait_bucket buckets[WAIT_BUCKETS] = {
	[0 ... WAIT_BUCKETS - 1] = { PTHREAD_MUTEX_INITIALIZER, NULL },
};

struct udax_cancel {
	_Atomic uint32_t fired;
	pthread_mutex_t lock;
	struct udax_waiter *head;
};

uint64_t udax_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t udax_deadline(int64_t timeout_ns)
{
	uint64_t now;

	if (timeout_ns < 0)
		return UINT64_MAX;
	now = udax_now_ns();
	return (uint64_t)timeout_ns > UINT64_MAX - 1 - now ? UINT64_MAX - 1
							   : now + (uint64_t)timeout_ns;
}

/* Sleep while *word == val, until the absolute monotonic deadline. */
int futex_wait_until(_Atomic uint32_t *word, uint32_t val, uint64_t deadline_ns)
{
	struct timespec ts, *tsp = NULL;

	if (deadline_ns != UINT64_MAX) {
		if (udax_now_ns() >= deadline_ns)
			return -ETIMEDOUT;
		ts.tv_sec = (time_t)(deadline_ns / 1000000000ull);
		ts.tv_nsec = (long)(deadline_ns % 1000000000ull);
		tsp = &ts;
	}
	/* FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC time. */
	if (syscall(SYS_futex, word, FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG,
		    val, tsp, NULL, FUTEX_BITSET_MATCH_ANY) < 0 &&
	    errno == ETIMEDOUT)
		return -ETIMEDOUT;
	return 0;
}

void futex_wake_all(_Atomic uint32_t *word)
{
	syscall(SYS_futex, word, FUTEX_WAKE | FUTEX_PRIVATE_FLAG, INT_MAX,
		NULL, NULL, 0);
}

static struct wait_bucket *bucket_of(const struct udax_page *page)
{
	uintptr_t h = (uintptr_t)page >> 4;

	h ^= h >> 17;
	h *= 0x9e3779b97f4a7c15ull;
	return &buckets[h >> 56];
}

static void bucket_add(struct wait_bucket *b, struct udax_waiter *w)
{
	w->prev = NULL;
	w->next = b->head;
	if (b->head)
		b->head->prev = w;
	b->head = w;
}

static void bucket_del(struct wait_bucket *b, struct udax_waiter *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		b->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	w->next = w->prev = w;		/* marks "not queued" */
}

static bool queued(const struct udax_waiter *w)
{
	return w->next != w;
}

/*
 * A waiter leaving without being woken (page already idle, timeout,
 * cancel) clears the page's mark if no other waiter of the page remains,
 * so that the next release does not take the bucket lock for nobody.
 * Under the bucket lock: a new waiter sets the mark again under it.
 */
static void bucket_leave(struct wait_bucket *b, struct udax_waiter *w,
			 struct udax_page *page)
{
	if (queued(w))
		bucket_del(b, w);
	for (struct udax_waiter *x = b->head; x; x = x->next)
		if (x->page == page)
			return;
	atomic_fetch_and(&page->_refcount, ~UDAX_PAGE_WAITERS);
}

/* Called by the releaser of a page whose refcount word carried the mark. */
void udax_wake_idle_waiters(struct udax_page *page)
{
	struct wait_bucket *b = bucket_of(page);
	struct udax_waiter *w, *next;

	pthread_mutex_lock(&b->lock);
	for (w = b->head; w; w = next) {
		next = w->next;
		if (w->page != page)
			continue;
		bucket_del(b, w);
		uint32_t expect = WAITING;
		if (atomic_compare_exchange_strong(&w->state, &expect, WOKEN))
			futex_wake_all(&w->state);
	}
	/* Every waiter of this page is gone from the bucket; a new one sets
	 * the mark again under this lock. */
	atomic_fetch_and(&page->_refcount, ~UDAX_PAGE_WAITERS);
	pthread_mutex_unlock(&b->lock);
}

static int cancel_attach(struct udax_cancel *c, struct udax_waiter *w)
{
	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (atomic_load(&c->fired)) {
		pthread_mutex_unlock(&c->lock);
		return -ECANCELED;
	}
	w->cprev = NULL;
	w->cnext = c->head;
	if (c->head)
		c->head->cprev = w;
	c->head = w;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void cancel_detach(struct udax_cancel *c, struct udax_waiter *w)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	if (w->cprev)
		w->cprev->cnext = w->cnext;
	else
		c->head = w->cnext;
	if (w->cnext)
		w->cnext->cprev = w->cprev;
	pthread_mutex_unlock(&c->lock);
}

int __udax_wait_idle(struct udax_page *page, uint64_t deadline_ns,
		     struct udax_cancel *cancel)
{
	struct wait_bucket *b = bucket_of(page);
	struct udax_waiter w = { .page = page };
	uint32_t old;
	int ret;

	for (;;) {
		if (udax_page_ref_count(page) == 0)
			return 0;
		if (cancel && atomic_load(&cancel->fired))
			return -ECANCELED;
		if (udax_now_ns() >= deadline_ns)
			return -ETIMEDOUT;

		atomic_store(&w.state, WAITING);
		ret = cancel_attach(cancel, &w);
		if (ret)
			return ret;
		pthread_mutex_lock(&b->lock);
		bucket_add(b, &w);
		old = atomic_fetch_or(&page->_refcount, UDAX_PAGE_WAITERS);
		if ((old & UDAX_PAGE_REF_MASK) == 0) {
			bucket_leave(b, &w, page);
			pthread_mutex_unlock(&b->lock);
			cancel_detach(cancel, &w);
			return 0;
		}
		pthread_mutex_unlock(&b->lock);

		ret = 0;
		while (atomic_load(&w.state) == WAITING && ret == 0)
			ret = futex_wait_until(&w.state, WAITING, deadline_ns);

		/* Leave the queues; after this no waker touches w. */
		cancel_detach(cancel, &w);
		pthread_mutex_lock(&b->lock);
		if (atomic_load(&w.state) != WOKEN)
			bucket_leave(b, &w, page);
		pthread_mutex_unlock(&b->lock);

		switch (atomic_load(&w.state)) {
		case WOKEN:
			continue;	/* idle once; it may be held again */
		case CANCELLED:
			return udax_page_ref_count(page) ? -ECANCELED : 0;
		default:
			if (ret == -ETIMEDOUT)
				return udax_page_ref_count(page) ? -ETIMEDOUT : 0;
		}
	}
}

int udax_page_wait_idle(struct udax_page *page, int64_t timeout_ns,
			struct udax_cancel *cancel)
{
	if (!page)
		return -EINVAL;
	if (!(page->_flags & UDAX_PG_MANAGED))
		return -EOPNOTSUPP;
	return __udax_wait_idle(page, udax_deadline(timeout_ns), cancel);
}

int udax_pfn_range_wait_idle(unsigned long pfn, size_t n, int64_t timeout_ns,
			     struct udax_cancel *cancel)
{
	uint64_t deadline = udax_deadline(timeout_ns);
	struct udax_pgmap *pgmap;
	int ret = 0;

	if (n == 0)
		return -EINVAL;
	pgmap = udax_get_dev_pagemap(pfn, NULL);
	if (!pgmap)
		return -ENOENT;
	if (!pgmap->managed)
		ret = -EOPNOTSUPP;	/* limited, or nobody would wake us */
	else if (n > pgmap->nr_pages - (pfn - pgmap->pfn_first))
		ret = -EINVAL;
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = __udax_wait_idle(&pgmap->pages[pfn - pgmap->pfn_first + i],
				       deadline, cancel);
	udax_put_dev_pagemap(pgmap);
	return ret;
}

int udax_cancel_new(struct udax_cancel **out)
{
	struct udax_cancel *c;

	if (!out)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	*out = c;
	return 0;
}

void udax_cancel_delete(struct udax_cancel **cancel)
{
	if (!cancel || !*cancel)
		return;
	pthread_mutex_destroy(&(*cancel)->lock);
	free(*cancel);
	*cancel = NULL;
}

void udax_cancel_fire(struct udax_cancel *c)
{
	struct udax_waiter *w;

	pthread_mutex_lock(&c->lock);
	atomic_store(&c->fired, 1);
	for (w = c->head; w; w = w->cnext) {
		uint32_t expect = WAITING;

		if (atomic_compare_exchange_strong(&w->state, &expect, CANCELLED))
			futex_wake_all(&w->state);
	}
	pthread_mutex_unlock(&c->lock);
}

bool udax_cancel_fired(const struct udax_cancel *c)
{
	return atomic_load(&((struct udax_cancel *)c)->fired) != 0;
}

void udax_cancel_reset(struct udax_cancel *c)
{
	atomic_store(&c->fired, 0);
}
