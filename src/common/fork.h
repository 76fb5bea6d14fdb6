/* SPDX-License-Identifier: MIT */
/*
 * fork() safety.  Private to the library.
 *
 * Every udax object belongs to the process that made it.  After fork() the
 * child holds a copy of the parent's heap (allocators, inode caches, page
 * counts, journal state) but not of the device: a child that went on using
 * the copy would allocate blocks the parent also allocates and corrupt the
 * file system.  So:
 *
 *  - a process-wide fork generation, bumped in the child by an atfork
 *    handler, is recorded in every device, file system and io engine when
 *    it is made; each entry point compares the two (one load and a compare,
 *    no system call) and refuses with -ESTALE in any other process;
 *  - device mappings, views and io_uring rings are MADV_DONTFORK, so the
 *    child has no mapping through which it could store into device memory;
 *  - tracked objects (fork_track()) get a child handler that drops what the
 *    kernel would otherwise share with the parent: the device's locked
 *    descriptor (its flock is per open file description, so a child's copy
 *    would keep the parent's lock alive), the ring's descriptor.
 *
 * atfork handlers do not run for a raw clone(2) or syscall(SYS_fork): the
 * mappings are still not inherited (DONTFORK is the kernel's), but the
 * generation does not change there.
 */
#ifndef UDAX_COMMON_FORK_H
#define UDAX_COMMON_FORK_H

#include <stdbool.h>

/* The errno of a call on an object inherited across fork(). */
#define FORK_ERRNO		ESTALE
#define FORK_HINT		"inherited across fork(); open the device anew in the child"

extern unsigned long fork_generation;

/* The generation of this process: record it in objects made now. */
static inline unsigned long fork_gen(void)
{
	return __atomic_load_n(&fork_generation, __ATOMIC_RELAXED);
}

/* Was the object of generation @gen made by another process (our parent)? */
static inline bool fork_inherited(unsigned long gen)
{
	return __builtin_expect(gen != fork_gen(), 0);
}

struct fork_node {
	struct fork_node *prev, *next;
	/* Runs in the child, single-threaded, right after fork(). */
	void (*child)(struct fork_node *n);
};

/*
 * Serialize with fork(): while held, no fork() of this process starts (its
 * prepare handler waits), so a descriptor opened or a mapping made under it
 * is tracked (or DONTFORK) before any child can see it.  The first call
 * installs the atfork handlers; if that fails (-ENOMEM) nothing is held
 * and no object may be made.
 */
int fork_lock(void);
void fork_unlock(void);
/*
 * A shared form of fork_lock() for mappings made and then marked
 * MADV_DONTFORK (views, rings): many may be open at once; fork() waits
 * for all of them.  Same error as fork_lock().
 */
int fork_window_begin(void);
void fork_window_end(void);
/* Under fork_lock(): run @n->child in every child forked from now on. */
void fork_track_locked(struct fork_node *n);
/* Stop tracking (takes fork_lock).  A node never tracked is ignored. */
void fork_untrack(struct fork_node *n);
/* The same under fork_lock(): to close what the node's child handler
 * would close with no fork() in between (a child must neither keep a copy
 * nor close a descriptor number the parent has reused). */
void fork_untrack_locked(struct fork_node *n);

#endif
