/* SPDX-License-Identifier: MIT */
/*
 * Closing with held pages: UDAX_DEV_CLOSE_WAIT returns once another
 * thread releases them; UDAX_DEV_CLOSE_ABANDON leaves the memory mapped
 * for late holders.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <udax/dev.h>

#include "dev_util.h"

static struct udax_page *pages[4];
static atomic_int closing;

static void *releaser(void *arg)
{
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	/* Release once the closer is (very likely) waiting; correctness does
	 * not depend on the order. */
	while (!atomic_load(&closing))
		sched_yield();
	nanosleep(&ts, NULL);
	udax_unpin_pages(pages, 4);
	return NULL;
}

int main(void)
{
	struct udax_dev *dev = t_open_mem("mem:16M", 0);
	struct udax_part_info part;
	pthread_t t;
	char *addr;

	T_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	T_OK(udax_dev_part(dev, 0, &part));
	T_OK(udax_pin_pages(part.pfn_first, 4, pages));
	T_ASSERT(pthread_create(&t, NULL, releaser, NULL) == 0);
	atomic_store(&closing, 1);
	T_OK(udax_dev_close(&dev, UDAX_DEV_CLOSE_WAIT));
	T_ASSERT(dev == NULL);
	pthread_join(t, NULL);

	/* Abandon: close succeeds, the pinned page stays usable. */
	dev = t_open_mem("mem:16M", 0);
	T_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	T_OK(udax_dev_part(dev, 0, &part));
	T_OK(udax_pin_pages(part.pfn_first + 1, 1, pages));
	T_EXPECT_ERR(udax_dev_close(&dev, 0), -EBUSY);
	T_OK(udax_dev_close(&dev, UDAX_DEV_CLOSE_ABANDON));
	T_ASSERT(dev == NULL);
	addr = udax_page_address(pages[0]);
	T_ASSERT(addr == (char *)part.addr + UDAX_PAGE_SIZE);
	memcpy(addr, "still mapped", 13);
	T_ASSERT(strcmp(addr, "still mapped") == 0);
	udax_unpin_pages(pages, 1);

	/* Unknown flags. */
	dev = t_open_mem("mem:4M", 0);
	T_EXPECT_MSG(udax_dev_close(&dev, 1u << 5), -EINVAL, "unknown flags");
	T_EXPECT_ERR(udax_dev_close_timeout(&dev, 0, -2), -EINVAL);
	T_OK(udax_dev_close(&dev, 0));
	return 0;
}
