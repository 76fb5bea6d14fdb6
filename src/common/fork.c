/* SPDX-License-Identifier: MIT */
/* fork() safety: the fork generation and the atfork handlers (fork.h). */
#include <pthread.h>

#include "common/fork.h"

unsigned long fork_generation;

static pthread_mutex_t fork_mutex = PTHREAD_MUTEX_INITIALIZER;
/* Writer-preferring: a stream of view maps must not hold fork() off. */
static pthread_rwlock_t fork_window_lock =
	PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static struct fork_node fork_list = { &fork_list, &fork_list, NULL };

/* Hold the list across fork(): the child's copy is then consistent. */
static void fork_prepare(void)
{
	pthread_rwlock_wrlock(&fork_window_lock);
	pthread_mutex_lock(&fork_mutex);
}

static void fork_parent(void)
{
	pthread_mutex_unlock(&fork_mutex);
	pthread_rwlock_unlock(&fork_window_lock);
}

/*
 * The child is single-threaded here: every object made before is now the
 * parent's.  Bump the generation first, so that nothing the handlers call
 * could take an inherited object for its own.
 */
static void fork_child(void)
{
	__atomic_store_n(&fork_generation, fork_generation + 1, __ATOMIC_RELAXED);
	for (struct fork_node *n = fork_list.next; n != &fork_list; n = n->next)
		n->child(n);
	/* The forking thread locked both in fork_prepare() and is the
	 * child's only thread: unlocking is its own unlock. */
	pthread_mutex_unlock(&fork_mutex);
	pthread_rwlock_unlock(&fork_window_lock);
}

static int fork_install_err;

static void fork_install(void)
{
	fork_install_err = -pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int fork_lock(void)
{
	pthread_once(&fork_once, fork_install);
	if (fork_install_err)
		return fork_install_err;
	pthread_mutex_lock(&fork_mutex);
	return 0;
}

void fork_unlock(void)
{
	pthread_mutex_unlock(&fork_mutex);
}

int fork_window_begin(void)
{
	pthread_once(&fork_once, fork_install);
	if (fork_install_err)
		return fork_install_err;
	pthread_rwlock_rdlock(&fork_window_lock);
	return 0;
}

void fork_window_end(void)
{
	pthread_rwlock_unlock(&fork_window_lock);
}

void fork_track_locked(struct fork_node *n)
{
	n->next = fork_list.next;
	n->prev = &fork_list;
	fork_list.next->prev = n;
	fork_list.next = n;
}

void fork_untrack_locked(struct fork_node *n)
{
	if (!n->next)
		return;
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

void fork_untrack(struct fork_node *n)
{
	if (!n->next)
		return;
	pthread_mutex_lock(&fork_mutex);
	fork_untrack_locked(n);
	pthread_mutex_unlock(&fork_mutex);
}
