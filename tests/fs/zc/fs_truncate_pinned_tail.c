/* SPDX-License-Identifier: MIT */
/*
 * A truncate down to the middle of a pinned block is a layout break of that
 * block: it zeroes the block's tail, so NOWAIT refuses with -EBUSY and WAIT
 * returns only after the pin is gone.  Otherwise a device writing the
 * block after the zeroes (DMA into the pinned page) leaves bytes past the
 * end of file, and extending the file shows them instead of zeroes.
 * (fs_dma_stress found this with io_uring reads in flight.)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "fs_util.h"

#define BS	UDAX_FS_BLOCK_SIZE
#define CUT	(BS + 904)		/* inside block 1 */

static struct udax_file *f;
static _Atomic int returned;
static int trunc_ret;

static void *truncate_wait(void *arg)
{
	struct udax_break_opts wait = { UDAX_BREAK_WAIT, 0 };

	(void)arg;
	trunc_ret = udax_ftruncate_ex(f, CUT, &wait);
	atomic_store(&returned, 1);
	return NULL;
}

int main(void)
{
	struct udax_break_opts nowait = { UDAX_BREAK_NOWAIT, 0 };
	static uint8_t buf[2 * BS];
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:8M", &dev);
	struct udax_stat st;
	struct udax_pin *pin;
	pthread_t t;

	alarm(60);	/* a hang is a failure */
	FS_OK(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f));
	memset(buf, 'x', sizeof(buf));
	T_ASSERT(udax_pwrite(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	FS_OK(udax_pin(f, BS, BS, 0, &pin));

	/* NOWAIT: the block is pinned, nothing changes. */
	FS_ERR(udax_ftruncate_ex(f, CUT, &nowait), -EBUSY);
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == sizeof(buf));

	/* WAIT: held up by the pin; the device writes the whole page and
	 * lets go, and only then are the bytes past CUT zeroed. */
	T_ASSERT(pthread_create(&t, NULL, truncate_wait, NULL) == 0);
	usleep(50 * 1000);	/* only gives a broken truncate the chance */
	T_ASSERT(!atomic_load(&returned));
	memset(udax_pin_page_addr(pin, 0), 'D', BS);
	FS_OK(udax_unpin(&pin));
	pthread_join(t, NULL);
	FS_OK(trunc_ret);

	FS_OK(udax_ftruncate(f, sizeof(buf)));
	T_ASSERT(udax_pread(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	for (size_t i = 0; i < sizeof(buf); i++)
		T_ASSERT(buf[i] == (i < BS ? 'x' : i < CUT ? 'D' : 0));

	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_truncate_pinned_tail: ok\n");
	return 0;
}
