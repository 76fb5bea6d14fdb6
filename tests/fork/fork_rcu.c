/* SPDX-License-Identifier: MIT */
/*
 * fork() while another thread is inside a pagemap RCU read-side section
 * (a holder's page_idle callback, which runs under the RCU read lock, is
 * held up on purpose).  The child opens and closes a device of its own,
 * which registers and unregisters a range and waits for RCU grace
 * periods: liburcu must have forgotten the parent's reader in the child
 * (the fork handlers of src/pagemap/lookup.c), or the child waits forever,
 * with its signals blocked by liburcu (killed here after 30 s).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <udax/dev.h>
#include <udax/pagemap.h>

#include "dev_util.h"
#include "fork_util.h"

static struct udax_dev *dev;
static unsigned long pfn;
static _Atomic int inside, release;

/* Runs in page_free, under the RCU read lock: stay until released. */
static void page_idle(void *holder, struct udax_page *page)
{
	(void)holder;
	(void)page;
	atomic_store(&inside, 1);
	while (!atomic_load(&release))
		usleep(1000);
}

static const struct udax_dax_holder_ops hops = { .page_idle = page_idle };

static void *dropper(void *arg)
{
	struct udax_page *page;

	(void)arg;
	T_ASSERT(udax_pin_pages(pfn, 1, &page) == 0);
	udax_unpin_pages(&page, 1);	/* idle: page_free -> page_idle */
	return NULL;
}

static void child(void *arg)
{
	struct udax_dev *mine = NULL;

	(void)arg;
	FORK_ASSERT(udax_dev_open("mem:4M", NULL, &mine) == 0);
	FORK_ASSERT(udax_dev_close(&mine, 0) == 0);
}

int main(void)
{
	static int holder;
	struct udax_dev_info di;
	pthread_t t;

	T_OK(udax_dev_open("mem:8M", NULL, &dev));
	T_OK(udax_dev_info(dev, &di));
	pfn = di.pfn_first;
	T_ASSERT(udax_pgmap_attach_holder(udax_dev_pgmap(dev), pfn, 1, &hops,
					  &holder) == 0);
	T_ASSERT(pthread_create(&t, NULL, dropper, NULL) == 0);
	while (!atomic_load(&inside))
		usleep(1000);

	T_EXPECT_ERR(fork_run_timeout(child, NULL, 30), 0);

	atomic_store(&release, 1);
	pthread_join(t, NULL);
	T_ASSERT(udax_pgmap_detach_holder(udax_dev_pgmap(dev), &holder) == 0);
	T_OK(udax_dev_close(&dev, 0));
	printf("fork_rcu: the child's grace periods do not wait for the "
	       "parent's readers\n");
	return 0;
}
