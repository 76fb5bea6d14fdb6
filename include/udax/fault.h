/* SPDX-License-Identifier: MIT */
/*
 * udax fault injection: make the nth call at a site fail, to test that
 * every error path leaves the file system consistent.
 *
 * In the spirit of the kernel's fault-injection framework (should_fail()):
 * a site is a place in the library where a call can fail for reasons the
 * caller does not control (the allocator is full, malloc returns NULL, the
 * device reports that a flush did not reach media).  Each site counts its
 * calls while armed; udax_fault_set() arms it so that calls nth .. nth +
 * times - 1 (counted from the udax_fault_set() call, the first is 1) fail
 * with the given error instead of doing their work.
 *
 * Scope: per process.  Sites sit below any per-device or per-mount state
 * (malloc, the fs allocators, the persistence calls of every device), and
 * the tests that use them drive one file system at a time; a per-device
 * filter would add a pointer compare to every site without a user.
 * Thread-safe: counters are atomics, so concurrent callers each get a
 * distinct call number; which thread's call is "the nth" is then a matter
 * of scheduling.
 *
 * Cost while nothing is armed: one relaxed atomic load of a global and a
 * predicted-not-taken branch per site (udax_fault_should_fail is inline).
 *
 * What a failing site does:
 *   UDAX_FAULT_BLOCK_ALLOC  fs block allocator: returns the error, allocates
 *                           nothing
 *   UDAX_FAULT_INODE_ALLOC  fs inode allocator: likewise
 *   UDAX_FAULT_MALLOC       every allocation of the fs (transactions,
 *                           extent maps, directory blocks, the inode cache,
 *                           break gates, handles, mount's allocators and
 *                           orphan list, journal replay, fsck, views, pins,
 *                           leases) and the io engine's per-transfer ones
 *                           (requests, page arrays, fixed buffers, file-
 *                           range handles, udax_io_new, the slow
 *                           device), the device layer (udax_dev_open) and
 *                           the pagemap's registry (ranges, lookup
 *                           tables, holder tables): NULL (-> -ENOMEM; a
 *                           holder detach and a range's removal empty
 *                           their entry in place instead)
 *   UDAX_FAULT_PERSIST      udax_dev_flush/drain/persist/memcpy_persist/
 *                           memset_persist, after the range check: the
 *                           stores of memcpy/memset_persist still happen
 *                           (as with an msync that fails after the page
 *                           cache was written), the flush/drain does not,
 *                           and the call returns the error
 */
#ifndef UDAX_FAULT_H
#define UDAX_FAULT_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdatomic.h>

#ifdef __cplusplus
extern "C" {
#endif

enum udax_fault_site {
	UDAX_FAULT_BLOCK_ALLOC,
	UDAX_FAULT_INODE_ALLOC,
	UDAX_FAULT_PERSIST,
	UDAX_FAULT_MALLOC,
	UDAX_FAULT_NR_SITES
};

/*
 * Arm @site: its calls number @nth (>= 1, counted from now) through
 * @nth + @times - 1 (@times >= 1) fail with @err (a negative errno).
 * Re-arming a site restarts its count.  -EINVAL on bad arguments.
 */
int udax_fault_set(enum udax_fault_site site, long nth, long times, int err);
/* Disarm @site (UDAX_FAULT_NR_SITES: every site). */
void udax_fault_clear(enum udax_fault_site site);
/* Failures injected at @site since it was armed. */
long udax_fault_hits(enum udax_fault_site site);
/* Calls counted at @site since it was armed. */
long udax_fault_calls(enum udax_fault_site site);
/* A printable name of @site ("persist", ...). */
const char *udax_fault_site_name(enum udax_fault_site site);

/* ---- for the library's sites ---------------------------------------------- */

extern _Atomic int udax_fault_armed_;	/* number of armed sites */
int udax_fault_check_(enum udax_fault_site site);

/* 0, or the error the current call at @site must fail with. */
static inline int udax_fault_should_fail(enum udax_fault_site site)
{
	if (__builtin_expect(atomic_load_explicit(&udax_fault_armed_,
						  memory_order_relaxed) != 0, 0))
		return udax_fault_check_(site);
	return 0;
}

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif
