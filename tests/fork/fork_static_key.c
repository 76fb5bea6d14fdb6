/* SPDX-License-Identifier: MIT */
/*
 * fork() while another thread toggles a static key: the child must be
 * able to toggle keys itself (a device opened anew does, through the
 * pagemap's managed key).  The key's lock is held across fork() by the
 * atfork handlers of src/pagemap/static_key.c; without them a child forked
 * while the toggler held the lock inherits it locked and hangs at its
 * first toggle (killed here after 20 s).  The toggler holds the lock most
 * of the time, so nearly every one of the forks lands inside it.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <udax/dev.h>
#include <udax/static_key.h>

#include "dev_util.h"
#include "fork_util.h"

static struct udax_static_key key = UDAX_STATIC_KEY_INIT_FALSE;
static _Atomic int stop;
static _Atomic long toggles;

static void *toggler(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		udax_static_key_slow_inc(&key);
		udax_static_key_slow_dec(&key);
		atomic_fetch_add(&toggles, 1);
	}
	return NULL;
}

static void child(void *arg)
{
	struct udax_dev *mine = NULL;

	(void)arg;
	udax_static_key_slow_inc(&key);
	udax_static_key_slow_dec(&key);
	FORK_ASSERT(udax_dev_open("mem:4M", NULL, &mine) == 0);
	FORK_ASSERT(udax_dev_close(&mine, 0) == 0);
}

int main(void)
{
	int forks = (int)t_iters(40);
	pthread_t t;

	T_ASSERT(pthread_create(&t, NULL, toggler, NULL) == 0);
	while (atomic_load(&toggles) < 10)
		usleep(1000);
	for (int i = 0; i < forks; i++)
		T_EXPECT_ERR(fork_run_timeout(child, NULL, 20), 0);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("fork_static_key: %d children toggled keys and opened a device while "
	       "the parent toggled (%ld toggles)\n", forks, atomic_load(&toggles));
	return 0;
}
