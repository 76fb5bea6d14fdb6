/* SPDX-License-Identifier: MIT */
/*
 * fs core: ns_lock, the namespace lock.
 *
 * Every operation that changes the namespace, or builds, loads or frees
 * what a lookup reads (directory indexes, cached inodes), takes it
 * exclusively (fs_ns_lock, fs_ns_unlock).  A lookup that finds all it
 * needs already in memory (a stat, an access check or an opendir by path
 * through indexed directories, a readdir of one: dir.c) may take it
 * shared instead, and then changes nothing but atomic marks: readers on
 * different CPUs must not pass a cache line back and forth, or two
 * threads stat'ing do less than one (a mutex: 0.65-0.75x one thread).
 *
 * Writers of different directories need not exclude each other: a create
 * or an unlink of a file takes it for a directory's writer
 * (fs_ns_lock_dir), many at once, and the directory's own lock (dir.c);
 * the others take it exclusively.  The writers' lock is a read-write lock
 * (exclusive: write; a directory's writer: read), preferring writers, so
 * that creates do not starve an rmdir; both kinds try it a while before
 * they sleep on it (wlock_take).
 *
 * A reader announces itself in a counter of its own (one of
 * FS_NS_STRIPES, each on its own line, a thread's chosen once), then
 * looks at the count of writers at work; a writer of either kind counts
 * itself, then waits for every reader counter to drain.  Both sides use
 * sequentially consistent atomics: either the reader sees the writer or
 * the writer sees the reader (the store-load order a plain
 * release/acquire pair does not give).  A reader that sees a writer gives
 * its count back and waits a few microseconds for the writers to go (a
 * writer's operation is about that long; queueing on the lock would
 * sleep); then it takes the lock exclusively like any other operation
 * (fs_ns_trylock_shared fails), so neither side can starve the other
 * beyond what the writers' lock does.  Shared holders never block and
 * hold the lock for a lookup's length, so the writer's wait is short; it
 * yields the CPU after a while for the case of a preempted reader.
 *
 * A stat holds it beside directory writers (fs_ns_trylock_beside): on
 * counts of its own, which a directory's writer does not wait for and
 * only an exclusive writer (xwriters raised) drains and keeps out.  What
 * it reads of a directory it checks against the directory's sequence
 * (dir.c), and what directory writers free waits for a grace period
 * (fs_ns_grace, dindex.c's retire): xwriters raised a moment, the counts
 * drained once.
 */
#include <sched.h>

#include "fs/core.h"

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}


static _Atomic unsigned next_stripe;
static __thread unsigned my_stripe = ~0u;
static __thread bool my_exclusive;

static unsigned stripe(void)
{
	if (__builtin_expect(my_stripe == ~0u, 0))
		my_stripe = atomic_fetch_add_explicit(&next_stripe, 1,
						      memory_order_relaxed) %
			    FS_NS_STRIPES;
	return my_stripe;
}

static _Atomic long *reader_count(struct fs_core *c)
{
	return &c->ns.readers[stripe()].n;
}

void fs_ns_init(struct fs_core *c)
{
	pthread_rwlockattr_t a;

	pthread_rwlockattr_init(&a);
	pthread_rwlockattr_setkind_np(&a, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&c->ns.wlock, &a);
	pthread_rwlockattr_destroy(&a);
	atomic_init(&c->ns.writers, 0);
	atomic_init(&c->ns.xwriters, 0);
	for (unsigned k = 0; k < FS_NS_STRIPES; k++) {
		atomic_init(&c->ns.readers[k].n, 0);
		atomic_init(&c->ns.breaders[k].n, 0);
	}
}

void fs_ns_destroy(struct fs_core *c)
{
	pthread_rwlock_destroy(&c->ns.wlock);
}

static void drain(_Atomic long *n)
{
	for (unsigned spin = 0; atomic_load(n); spin++)
		if (spin >= 64)
			sched_yield();
		else
			cpu_relax();
}

/* Count this writer, then wait until no reader is at work. */
static void writer_in(struct fs_core *c)
{
	atomic_fetch_add(&c->ns.writers, 1);
	for (unsigned k = 0; k < FS_NS_STRIPES; k++)
		drain(&c->ns.readers[k].n);
}

/* Keep new readers beside directory writers out, and wait for those at
 * work to finish. */
static void beside_out(struct fs_core *c)
{
	atomic_fetch_add(&c->ns.xwriters, 1);
	for (unsigned k = 0; k < FS_NS_STRIPES; k++)
		drain(&c->ns.breaders[k].n);
}

/*
 * The writers' lock, either way, trying a while before it sleeps.  Its
 * holders' operations are a few microseconds; a sleep and a wake-up cost
 * more than that, and on a small machine the woken thread may wait for
 * a CPU besides: an exclusive operation beside a directory's writer that
 * went to sleep at once made the two threads together do a sixth of what
 * one did (bench scale threads_rename before renames became directory
 * writers, 0.17x).  A try every few pauses, not a spin on the lock's line.
 */
#define WLOCK_TRIES	128
#define WLOCK_PAUSES	8

static void wlock_take(pthread_rwlock_t *l, bool write)
{
	for (unsigned t = 0; t < WLOCK_TRIES; t++) {
		if (!(write ? pthread_rwlock_trywrlock(l) : pthread_rwlock_tryrdlock(l)))
			return;
		for (unsigned p = 0; p < WLOCK_PAUSES; p++)
			cpu_relax();
	}
	if (write)
		pthread_rwlock_wrlock(l);
	else
		pthread_rwlock_rdlock(l);
}

void fs_ns_lock(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);

	wlock_take(&c->ns.wlock, true);
	beside_out(c);
	writer_in(c);
	my_exclusive = true;
	/* What writers of directories retired goes now, nobody being able
	 * to read it: the references of retired indexes are nobody's then
	 * when an rmdir or an unmount counts a directory's holders. */
	fs_dix_retired_free(fs);
}

bool fs_ns_exclusive(void)
{
	return my_exclusive;
}

void fs_ns_grace(struct fs_core *c)
{
	beside_out(c);
	atomic_fetch_sub(&c->ns.xwriters, 1);
}

void fs_ns_lock_dir(struct udax_fs *fs)
{
	struct fs_core *c = C(fs);

	wlock_take(&c->ns.wlock, false);
	writer_in(c);
}

/* The writer's half of fs_ns_unlock (dindex.c), after its evictions:
 * either kind. */
void fs_ns_unlock_exclusive(struct fs_core *c)
{
	atomic_fetch_sub(&c->ns.writers, 1);
	if (my_exclusive) {
		my_exclusive = false;
		atomic_fetch_sub(&c->ns.xwriters, 1);
	}
	pthread_rwlock_unlock(&c->ns.wlock);
}

bool fs_ns_trylock_shared(struct udax_fs *fs)
{
	return fs_ns_trylock_shared_spin(fs, FS_NS_READER_SPINS);
}

/* Count this reader in @n unless @w counts writers; with writers at work,
 * give the count back and wait up to @spins pauses for them to go. */
static bool reader_in(_Atomic long *n, _Atomic unsigned *w, unsigned spins)
{
	for (unsigned spin = 0;;) {
		atomic_fetch_add(n, 1);
		if (!atomic_load(w))
			return true;
		atomic_fetch_sub(n, 1);
		/* A writer's operation is a few microseconds: wait that long
		 * for it (out of its way, the count given back) rather than
		 * queue behind it on the mutex, whose sleep and wake-up cost
		 * more than the operation. */
		while (atomic_load_explicit(w, memory_order_relaxed))
			if (++spin > spins)
				return false;
			else
				cpu_relax();
	}
}

bool fs_ns_trylock_shared_spin(struct udax_fs *fs, unsigned spins)
{
	return reader_in(reader_count(C(fs)), &C(fs)->ns.writers, spins);
}

void fs_ns_unlock_shared(struct udax_fs *fs)
{
	atomic_fetch_sub(reader_count(C(fs)), 1);
}

/* The same on the other counts: only exclusive writers (and grace
 * periods) keep these readers out. */
bool fs_ns_trylock_beside(struct udax_fs *fs, unsigned spins)
{
	return reader_in(&C(fs)->ns.breaders[stripe()].n, &C(fs)->ns.xwriters, spins);
}

void fs_ns_unlock_beside(struct udax_fs *fs)
{
	atomic_fetch_sub(&C(fs)->ns.breaders[stripe()].n, 1);
}
