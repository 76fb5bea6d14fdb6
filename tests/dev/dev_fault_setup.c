/* SPDX-License-Identifier: MIT */
/*
 * Every allocation of a whole setup and teardown failing in turn
 * (UDAX_FAULT_MALLOC, the nth call for n = 1, 2, ...): open a memory
 * device (its pagemap range registered), partition it, make and mount a
 * file system (attached as the range's holder), start an io engine and a
 * slow device (built with liburing), write a file, pin and unpin it, then
 * tear it all down.
 * Each call either succeeds or fails with -ENOMEM, releasing what it took;
 * whatever succeeded is then released by the test.  Afterwards nothing is
 * left: the device closes, a new device of the same kind opens, mounts
 * and unmounts, and (under ASan in CI) nothing leaked.  The run ends at
 * the first n with no failure injected, which must succeed throughout.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <udax/fault.h>
#if UDAX_TEST_IO
#include <udax/io.h>
#endif

#include "fs_util.h"

/* One setup and teardown: 0, or the first error (after releasing all). */
static int lifecycle(void)
{
#if UDAX_TEST_IO
	struct udax_io_slow_opts so = { .rate = 1u << 20 };
	struct udax_io_slow *slow = NULL;
	struct udax_io *io = NULL;
#endif
	struct udax_dev *dev = NULL;
	struct udax_fs *fs = NULL;
	struct udax_file *f = NULL;
	struct udax_pin *pin = NULL;
	static char buf[2 * UDAX_FS_BLOCK_SIZE];
	int ret, r;

	if ((ret = udax_dev_open("mem:16M", NULL, &dev)))
		return ret;
	if ((ret = udax_dev_mkpart(dev, NULL, 0, 0)) || (ret = udax_mkfs(dev, 0, NULL)) ||
	    (ret = udax_mount(dev, 0, NULL, &fs)))
		goto out;
#if UDAX_TEST_IO
	if ((ret = udax_io_new(NULL, &io)) || (ret = udax_io_slow_new(&so, &slow)))
		goto out;
#endif
	if ((ret = udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f)))
		goto out;
	r = (int)udax_pwrite(f, buf, sizeof(buf), 0);
	if (r != (int)sizeof(buf)) {
		ret = r < 0 ? r : -EIO;
		goto out;
	}
	if ((ret = udax_pin(f, 0, sizeof(buf), 0, &pin)))
		goto out;
	T_ASSERT(udax_pin_nr_pages(pin) == 2);
	ret = udax_unpin(&pin);
out:
	/* Teardown may fail for lack of memory too: retry once the fault
	 * is spent (it fails one call only). */
	if (pin)
		T_EXPECT_ERR(udax_unpin(&pin), 0);
	if (f && (r = udax_close(&f)) && !ret)
		ret = r;
	if (f)
		T_EXPECT_ERR(udax_close(&f), 0);
#if UDAX_TEST_IO
	if (slow)
		udax_io_slow_delete(&slow);
	if (io && (r = udax_io_delete(&io)) && !ret)
		ret = r;
	if (io)
		T_EXPECT_ERR(udax_io_delete(&io), 0);
#endif
	if (fs && (r = udax_unmount(&fs)) && !ret)
		ret = r;
	if (fs)
		T_EXPECT_ERR(udax_unmount(&fs), 0);
	if ((r = udax_dev_close(&dev, 0)) && !ret)
		ret = r;
	if (dev)
		T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	return ret;
}

int main(void)
{
	long n, failed = 0;

	for (n = 1;; n++) {
		long hits;
		int ret;

		T_EXPECT_ERR(udax_fault_set(UDAX_FAULT_MALLOC, n, 1, -ENOMEM), 0);
		ret = lifecycle();
		hits = udax_fault_hits(UDAX_FAULT_MALLOC);
		udax_fault_clear(UDAX_FAULT_MALLOC);
		if (!hits) {
			T_EXPECT_ERR(ret, 0);
			break;
		}
		/* The one failure made a call fail with -ENOMEM, or was
		 * absorbed: a holder detach and the removal of a range from
		 * the address index empty their entry in place instead. */
		if (ret) {
			if (ret != -ENOMEM)
				fprintf(stderr, "allocation %ld failing: %d (%s)\n", n, ret,
					t_errname(ret));
			T_ASSERT(ret == -ENOMEM);
			failed++;
		}
		/* Nothing is left behind: the same setup works again. */
		T_EXPECT_ERR(lifecycle(), 0);
	}
	T_ASSERT(n > 20 && failed > 10);
	printf("dev_fault_setup: ok (%ld allocations, %ld of them failing a call)\n",
	       n - 1, failed);
	return 0;
}
