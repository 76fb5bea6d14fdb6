/* SPDX-License-Identifier: MIT */
/*
 * Unmount and pages pinned at the page level (udax_pin_pages), which no
 * break gate sees: one on a block of a file, one on the partition's last
 * block, which no file owns.  (tests/fs/zc/fs_break_pin.c holds file pins,
 * udax_pin, across unmount.)
 *
 *  - WAIT mount: unmount does not return while either page is pinned;
 *    dropping the first is not enough; after the second it returns 0, and
 *    the file system mounts again with its file intact.
 *  - NOWAIT / DEFER mount: -EBUSY; TIMEOUT mount: -ETIMEDOUT.  Each time
 *    the file system stays mounted and usable (a read, a new file), and
 *    unmounts once the pins are gone.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <udax/fs.h>
#include <udax/fsck.h>

#include "testutil.h"

#define BS	UDAX_FS_BLOCK_SIZE
#define NBLK	8

static struct udax_dev *dev;
static struct udax_fs *fs;
static _Atomic int unmounted;
static int unmount_ret;
static char data[NBLK * BS];

static void *unmount_main(void *arg)
{
	(void)arg;
	unmount_ret = udax_unmount(&fs);
	atomic_store(&unmounted, 1);
	return NULL;
}

static void check_file(void)
{
	static char got[NBLK * BS];
	struct udax_file *f;

	T_EXPECT_ERR(udax_open(fs, "/a", O_RDONLY, 0, &f), 0);
	T_EXPECT_ERR(udax_pread(f, got, sizeof(got), 0), sizeof(got));
	T_ASSERT(!memcmp(got, data, sizeof(got)));
	T_EXPECT_ERR(udax_close(&f), 0);
}

/* Pin block 3 of /a and the partition's last page at the page level. */
static void pin_pages(struct udax_page **pages)
{
	struct udax_part_info pi;
	struct udax_file *f;
	struct udax_pin *probe;
	unsigned long pfn;

	T_EXPECT_ERR(udax_open(fs, "/a", O_RDONLY, 0, &f), 0);
	T_EXPECT_ERR(udax_pin(f, 3 * BS, BS, 0, &probe), 0);
	pfn = udax_page_to_pfn(udax_pin_page_array(probe)[0]);
	T_EXPECT_ERR(udax_pin_pages(pfn, 1, &pages[0]), 0);
	T_EXPECT_ERR(udax_unpin(&probe), 0);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_dev_part(dev, 0, &pi), 0);
	T_EXPECT_ERR(udax_pin_pages(pi.pfn_first + pi.nr_pages - 1, 1, &pages[1]), 0);
}

static void mount_mode(enum udax_break_mode mode)
{
	struct udax_mount_opts mo = { .brk = { .mode = mode,
					       .timeout_ns = 20000000 } };

	T_EXPECT_ERR(udax_mount(dev, 0, &mo, &fs), 0);
}

static void wait_mode(void)
{
	struct udax_page *pages[2];
	struct udax_fsck_report r;
	pthread_t t;

	mount_mode(UDAX_BREAK_WAIT);
	pin_pages(pages);
	atomic_store(&unmounted, 0);
	T_ASSERT(!pthread_create(&t, NULL, unmount_main, NULL));
	usleep(50000);
	T_ASSERT(!atomic_load(&unmounted));
	udax_unpin_pages(&pages[0], 1);
	usleep(50000);
	T_ASSERT(!atomic_load(&unmounted));	/* the unowned page is still pinned */
	udax_unpin_pages(&pages[1], 1);
	pthread_join(t, NULL);
	T_EXPECT_ERR(unmount_ret, 0);
	T_ASSERT(!fs);
	T_EXPECT_ERR(udax_fsck(dev, 0, 0, NULL, NULL, &r), 0);
	T_ASSERT(r.problems == 0);
	mount_mode(UDAX_BREAK_WAIT);
	check_file();
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	printf("wait: unmount waited for both page pins\n");
}

static void refusing_mode(enum udax_break_mode mode, int want)
{
	struct udax_page *pages[2];
	struct udax_file *f;

	mount_mode(mode);
	pin_pages(pages);
	T_EXPECT_ERR(udax_unmount(&fs), want);
	T_ASSERT(fs);
	check_file();				/* still mounted, and usable */
	T_EXPECT_ERR(udax_open(fs, "/new", O_CREAT | O_RDWR, 0644, &f), 0);
	T_EXPECT_ERR(udax_pwrite(f, data, BS, 0), BS);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unlink(fs, "/new"), 0);
	udax_unpin_pages(&pages[0], 1);
	T_EXPECT_ERR(udax_unmount(&fs), want);	/* one left */
	udax_unpin_pages(&pages[1], 1);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_ASSERT(!fs);
	printf("mode %d: unmount refused with %s while pinned\n", mode, t_errname(want));
}

int main(void)
{
	struct udax_file *f;

	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 31 + i / BS);
	T_EXPECT_ERR(udax_open(fs, "/a", O_CREAT | O_RDWR, 0644, &f), 0);
	T_EXPECT_ERR(udax_pwrite(f, data, sizeof(data), 0), sizeof(data));
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);

	wait_mode();
	refusing_mode(UDAX_BREAK_NOWAIT, -EBUSY);
	refusing_mode(UDAX_BREAK_DEFER, -EBUSY);
	refusing_mode(UDAX_BREAK_TIMEOUT, -ETIMEDOUT);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	return 0;
}
