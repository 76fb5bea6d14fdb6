/* SPDX-License-Identifier: MIT */
/*
 * Bytes past the end of file in the last block.  The zero-copy rule lets
 * pins, views and DMA cover the last block whole (include/udax/fs.h), so a
 * writable view (or a transfer into the file) can store past the end of
 * file.  Those bytes are not part of the file: reads stop at the size, and
 * when the file grows over them (ftruncate up, a write past the end,
 * fallocate) they read as zero, durably (after a remount too), and fsck
 * finds the file system clean (before the growth it reports them).
 */
#include <udax/fsck.h>

#include "fs_util.h"

#define BS UDAX_FS_BLOCK_SIZE

enum grow { GROW_TRUNCATE, GROW_WRITE, GROW_FALLOCATE };

/* /t: 100 bytes of 'a', then 'X' stored past its end through a view. */
static struct udax_file *dirty_tail(struct udax_fs *fs)
{
	char a[100], back[BS];
	struct udax_file *f;
	struct udax_view *v;
	char *addr;

	memset(a, 'a', sizeof(a));
	t_write_file(fs, "/t", a, sizeof(a));
	FS_OK(udax_open(fs, "/t", O_RDWR, 0, &f));
	FS_OK(udax_view_map(f, 0, BS, UDAX_VIEW_WRITE, &v, (void **)&addr));
	T_ASSERT(addr[99] == 'a' && addr[100] == 0);
	memset(addr + 100, 'X', BS - 100);
	FS_OK(udax_view_unmap(&v));
	T_ASSERT(udax_pread(f, back, BS, 0) == 100);	/* not part of the file */
	return f;
}

static void check(struct udax_fs *fs, uint64_t gap_end, uint64_t size)
{
	struct udax_file *f;
	struct udax_stat st;
	char back[BS];

	FS_OK(udax_open(fs, "/t", O_RDONLY, 0, &f));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == size);
	T_ASSERT(udax_pread(f, back, BS, 0) == (ssize_t)(size < BS ? size : BS));
	for (uint64_t i = 0; i < 100; i++)
		T_ASSERT(back[i] == 'a');
	for (uint64_t i = 100; i < gap_end; i++)
		if (back[i] != 0) {
			fprintf(stderr, "byte %llu past the old end is 0x%02x\n",
				(unsigned long long)i, (unsigned char)back[i]);
			exit(1);
		}
	FS_OK(udax_close(&f));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:32M", &dev);
	struct udax_fsck_report rep;

	/* Until the file grows, fsck reports the bytes (and would zero them). */
	{
		struct udax_file *f = dirty_tail(fs);

		FS_OK(udax_close(&f));
		FS_OK(udax_unmount(&fs));
		FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
		T_ASSERT(rep.problems == 1);
		fs = t_fs_mount(dev);
		FS_OK(udax_unlink(fs, "/t"));
	}
	for (int g = GROW_TRUNCATE; g <= GROW_FALLOCATE; g++) {
		struct udax_file *f = dirty_tail(fs);
		uint64_t gap_end = BS, size = BS;

		switch (g) {
		case GROW_TRUNCATE:
			FS_OK(udax_ftruncate(f, BS));
			break;
		case GROW_WRITE:
			T_ASSERT(udax_pwrite(f, "bb", 2, 3000) == 2);
			gap_end = 3000;
			size = 3002;
			break;
		case GROW_FALLOCATE:
			FS_OK(udax_fallocate(f, 0, 0, 2 * BS));
			size = 2 * BS;
			break;
		}
		FS_OK(udax_close(&f));
		check(fs, gap_end, size);
		t_fs_remount(dev, &fs);		/* durable: in the journal */
		check(fs, gap_end, size);
		FS_OK(udax_unlink(fs, "/t"));
	}
	t_fs_close_clean(&dev, &fs);
	printf("ok\n");
	return 0;
}
