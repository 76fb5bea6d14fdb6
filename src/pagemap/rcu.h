/* SPDX-License-Identifier: MIT */
/*
 * RCU for the pagemap read side, on liburcu's "bulletproof" flavour: any
 * thread of the application may look up a range without registering with
 * RCU first, which a library cannot ask of its callers.
 *
 * Published pointers are C11 atomics (acquire/release) rather than
 * liburcu's volatile accessors so that ThreadSanitizer sees the ordering.
 * liburcu itself is not instrumented, so under TSan we tell it what a grace
 * period means: everything a reader did before rcu_read_unlock() happens
 * before synchronize_rcu() returns.
 */
#ifndef UDAX_PAGEMAP_RCU_H
#define UDAX_PAGEMAP_RCU_H

#include <urcu-bp.h>

#if defined(__SANITIZE_THREAD__)
#define UDAX_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UDAX_TSAN 1
#endif
#endif

#ifdef UDAX_TSAN
#include <sanitizer/tsan_interface.h>
extern char udax_rcu_grace_period;
#define rcu_tsan_release() __tsan_release(&udax_rcu_grace_period)
#define rcu_tsan_acquire() __tsan_acquire(&udax_rcu_grace_period)
#else
#define rcu_tsan_release() do { } while (0)
#define rcu_tsan_acquire() do { } while (0)
#endif

static inline void udax_rcu_read_lock(void)
{
	urcu_bp_read_lock();
}

static inline void udax_rcu_read_unlock(void)
{
	rcu_tsan_release();
	urcu_bp_read_unlock();
}

static inline void udax_synchronize_rcu(void)
{
	urcu_bp_synchronize_rcu();
	rcu_tsan_acquire();
}

#define udax_rcu_dereference(p)	atomic_load_explicit(&(p), memory_order_acquire)
#define udax_rcu_assign(p, v)	atomic_store_explicit(&(p), (v), memory_order_release)

#endif
