/* SPDX-License-Identifier: MIT */
/*
 * Unmount with break options.  A pin that outlives its file (the file is
 * closed, the pin is not) would make a WAIT unmount wait as long as the
 * pin lives.  udax_unmount_ex() bounds it: NOWAIT and DEFER refuse with
 * -EBUSY, TIMEOUT with -ETIMEDOUT, each naming the pinned pages, and the
 * file system stays mounted and usable (files open, write, read back).
 * The device refuses to close while mounted.  Once the pin is released a
 * WAIT unmount that was already waiting returns 0, and so does every mode.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "fs_util.h"
#include "msg_util.h"

#define BS UDAX_FS_BLOCK_SIZE

static struct udax_fs *g_fs;
static atomic_int unmount_done;

static void *unmounter(void *arg)
{
	(void)arg;
	FS_OK(udax_unmount(&g_fs));	/* WAIT: returns once unpinned */
	atomic_store(&unmount_done, 1);
	return NULL;
}

/* The file system still works after a refused unmount. */
static void still_usable(struct udax_fs *fs, int round)
{
	char name[32], buf[100], back[100];
	struct udax_file *f;

	snprintf(name, sizeof(name), "/after%d", round);
	memset(buf, 'a' + round, sizeof(buf));
	FS_OK(udax_open(fs, name, O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	T_ASSERT(udax_pread(f, back, sizeof(back), 0) == (ssize_t)sizeof(back));
	T_ASSERT(memcmp(buf, back, sizeof(buf)) == 0);
	FS_OK(udax_close(&f));
}

int main(void)
{
	const struct udax_break_opts nowait = { .mode = UDAX_BREAK_NOWAIT };
	const struct udax_break_opts defer = { .mode = UDAX_BREAK_DEFER };
	const struct udax_break_opts tmo = { .mode = UDAX_BREAK_TIMEOUT,
					     .timeout_ns = 20 * 1000 * 1000 };
	const struct udax_break_opts bad = { .mode = (enum udax_break_mode)7 };
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:32M", &dev);
	struct udax_file *f;
	struct udax_pin *pin;
	char buf[4 * BS];
	pthread_t t;

	t_fill(buf, sizeof(buf), 3);
	FS_OK(udax_open(fs, "/pinned", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	FS_OK(udax_pin(f, 0, 2 * BS, 0, &pin));

	/* An open file is refused first, whatever the mode. */
	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount_ex(&fs, &nowait), -EBUSY,
		       "1 file(s)", "open");
	FS_OK(udax_close(&f));		/* the pin outlives its file */

	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount_ex(&fs, &bad), -EINVAL,
		       "mode");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount_ex(&fs, &nowait), -EBUSY,
		       "2 page(s)", "pinned", "NOWAIT", "still mounted");
	T_ASSERT(fs != NULL);
	still_usable(fs, 0);
	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount_ex(&fs, &defer), -EBUSY,
		       "2 page(s)", "pinned", "DEFER");
	still_usable(fs, 1);
	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount_ex(&fs, &tmo), -ETIMEDOUT,
		       "2 page(s)", "pinned", "timeout", "still mounted");
	still_usable(fs, 2);
	/* The device cannot go from under the mount either. */
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_close(&dev, 0), -EBUSY,
		       "partition 0", "mounted");
	T_EXPECT_CAUSE(udax_dev_last_error,
		       udax_dev_close(&dev, UDAX_DEV_CLOSE_WAIT | UDAX_DEV_CLOSE_ABANDON),
		       -EBUSY, "partition 0", "mounted");
	T_ASSERT(dev != NULL);

	/* WAIT waits for the pin: it returns once the pin is released (the
	 * order of the two does not matter for the result). */
	g_fs = fs;
	T_ASSERT(pthread_create(&t, NULL, unmounter, NULL) == 0);
	usleep(20000);
	T_ASSERT(!atomic_load(&unmount_done));
	FS_OK(udax_unpin(&pin));
	T_ASSERT(pthread_join(t, NULL) == 0);
	T_ASSERT(atomic_load(&unmount_done) && g_fs == NULL);

	/* Nothing pinned: every mode unmounts at once; the data is there. */
	for (int m = 0; m < 4; m++) {
		const struct udax_break_opts *o[] = { &nowait, &defer, &tmo, NULL };
		size_t n;
		char *back;

		fs = t_fs_mount(dev);
		back = t_read_file(fs, "/pinned", &n);
		T_ASSERT(n == sizeof(buf) && !memcmp(back, buf, n));
		free(back);
		FS_OK(udax_unmount_ex(&fs, o[m]));
		T_ASSERT(fs == NULL);
	}
	FS_OK(udax_dev_close(&dev, 0));
	printf("ok\n");
	return 0;
}
