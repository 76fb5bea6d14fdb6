/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (include/udax/fault.h): per-site call counters and the
 * window of calls that fail.
 *
 * udax_fault_armed_ counts armed sites, so that the inline check at every
 * site is one relaxed load while nothing is armed.  An armed site's window
 * [first, last] and error are written before the site is published as
 * armed (release) and read after (acquire), so a call that sees the site
 * armed sees its window whole.
 */
#include <errno.h>
#include <stdbool.h>
#include <udax/fault.h>

_Atomic int udax_fault_armed_;

struct fault_site {
	_Atomic bool armed;
	_Atomic long calls, hits;
	_Atomic long first, last;	/* atomics: a call racing with */
	_Atomic int err;		/* a re-arm reads whole values */
};

static struct fault_site sites[UDAX_FAULT_NR_SITES];

static const char *const names[UDAX_FAULT_NR_SITES] = {
	[UDAX_FAULT_BLOCK_ALLOC] = "block-alloc",
	[UDAX_FAULT_INODE_ALLOC] = "inode-alloc",
	[UDAX_FAULT_PERSIST] = "persist",
	[UDAX_FAULT_MALLOC] = "malloc",
};

static void disarm(struct fault_site *s)
{
	if (atomic_exchange_explicit(&s->armed, false, memory_order_acq_rel))
		atomic_fetch_sub_explicit(&udax_fault_armed_, 1,
					  memory_order_relaxed);
}

int udax_fault_set(enum udax_fault_site site, long nth, long times, int err)
{
	struct fault_site *s;

	if ((unsigned)site >= UDAX_FAULT_NR_SITES || nth < 1 || times < 1 ||
	    err >= 0 || nth > __LONG_MAX__ - times)
		return -EINVAL;
	s = &sites[site];
	disarm(s);
	s->first = nth;
	s->last = nth + times - 1;
	s->err = err;
	atomic_store_explicit(&s->calls, 0, memory_order_relaxed);
	atomic_store_explicit(&s->hits, 0, memory_order_relaxed);
	atomic_store_explicit(&s->armed, true, memory_order_release);
	atomic_fetch_add_explicit(&udax_fault_armed_, 1, memory_order_relaxed);
	return 0;
}

void udax_fault_clear(enum udax_fault_site site)
{
	for (int i = 0; i < UDAX_FAULT_NR_SITES; i++)
		if (site == UDAX_FAULT_NR_SITES || (int)site == i)
			disarm(&sites[i]);
}

long udax_fault_hits(enum udax_fault_site site)
{
	if ((unsigned)site >= UDAX_FAULT_NR_SITES)
		return -EINVAL;
	return atomic_load_explicit(&sites[site].hits, memory_order_relaxed);
}

long udax_fault_calls(enum udax_fault_site site)
{
	if ((unsigned)site >= UDAX_FAULT_NR_SITES)
		return -EINVAL;
	return atomic_load_explicit(&sites[site].calls, memory_order_relaxed);
}

const char *udax_fault_site_name(enum udax_fault_site site)
{
	if ((unsigned)site >= UDAX_FAULT_NR_SITES)
		return "?";
	return names[site];
}

int udax_fault_check_(enum udax_fault_site site)
{
	struct fault_site *s = &sites[site];
	long n;

	if (!atomic_load_explicit(&s->armed, memory_order_acquire))
		return 0;
	n = atomic_fetch_add_explicit(&s->calls, 1, memory_order_relaxed) + 1;
	if (n < s->first || n > s->last)
		return 0;
	atomic_fetch_add_explicit(&s->hits, 1, memory_order_relaxed);
	return s->err;
}
