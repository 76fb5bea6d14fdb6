/* SPDX-License-Identifier: MIT */
/*
 * udax_lseek_data (SEEK_DATA / SEEK_HOLE over holes, written and unwritten
 * extents, the end of file, -ENXIO) and udax_copy_file_range (a copy
 * within and across files, short at the source's end, holes read as
 * zeroes, its errors).
 */
#include "fs_util.h"

#define B	4096ull

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_file *f, *g, *ro;
	static char buf[16 * 4096], want[16 * 4096];

	memset(buf, 'x', sizeof(buf));
	/* Layout: [0,1) data, [1,3) hole, [3,5) data, [5,7) unwritten,
	 * [7,8) hole, [8,9) data partly (size 8 blocks + 100 bytes). */
	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, buf, B, 0) == (ssize_t)B);
	T_ASSERT(udax_pwrite(f, buf, 2 * B, 3 * B) == (ssize_t)(2 * B));
	FS_OK(udax_fallocate(f, UDAX_FALLOC_KEEP_SIZE, 5 * B, 2 * B));
	T_ASSERT(udax_pwrite(f, buf, 100, 8 * B) == 100);

	T_ASSERT(udax_lseek_data(f, 0, SEEK_DATA) == 0);
	T_ASSERT(udax_lseek_data(f, 10, SEEK_DATA) == 10);
	T_ASSERT(udax_lseek_data(f, 10, SEEK_HOLE) == (int64_t)B);
	T_ASSERT(udax_lseek_data(f, B, SEEK_DATA) == (int64_t)(3 * B));
	T_ASSERT(udax_lseek_data(f, B + 7, SEEK_HOLE) == (int64_t)(B + 7));
	T_ASSERT(udax_lseek_data(f, 3 * B + 1, SEEK_HOLE) == (int64_t)(5 * B));
	T_ASSERT(udax_lseek_data(f, 5 * B, SEEK_DATA) == (int64_t)(8 * B));
	T_ASSERT(udax_lseek_data(f, 6 * B, SEEK_HOLE) == (int64_t)(6 * B));
	T_ASSERT(udax_lseek_data(f, 8 * B, SEEK_HOLE) == (int64_t)(8 * B + 100));
	T_ASSERT(udax_lseek_data(f, 8 * B + 50, SEEK_DATA) == (int64_t)(8 * B + 50));
	FS_ERR(udax_lseek_data(f, 8 * B + 100, SEEK_DATA), -ENXIO);
	FS_ERR(udax_lseek_data(f, 8 * B + 100, SEEK_HOLE), -ENXIO);
	FS_ERR(udax_lseek_data(f, 0, SEEK_SET), -EINVAL);
	/* A file ending in a hole: no data after the last extent. */
	FS_OK(udax_ftruncate(f, 12 * B));
	FS_ERR(udax_lseek_data(f, 9 * B, SEEK_DATA), -ENXIO);
	T_ASSERT(udax_lseek_data(f, 9 * B, SEEK_HOLE) == (int64_t)(9 * B));
	FS_OK(udax_open(fs, "/empty", O_RDWR | O_CREAT, 0644, &g));
	FS_ERR(udax_lseek_data(g, 0, SEEK_DATA), -ENXIO);
	FS_OK(udax_close(&g));

	/* copy_file_range: across files, holes as zeroes, short at the end. */
	for (int k = 0; k < 12; k++)
		memset(want + k * B, (k == 0 || k == 3 || k == 4) ? 'x' : 0, B);
	memset(want + 8 * B, 0, B);
	memset(want + 8 * B, 'x', 100);
	FS_OK(udax_open(fs, "/g", O_RDWR | O_CREAT, 0644, &g));
	T_ASSERT(udax_copy_file_range(f, 0, g, 7, 12 * B + 999, 0) == (ssize_t)(12 * B));
	memset(buf, '?', sizeof(buf));
	T_ASSERT(udax_pread(g, buf, sizeof(buf), 0) == (ssize_t)(12 * B + 7));
	T_ASSERT(!memcmp(buf, "\0\0\0\0\0\0\0", 7) && !memcmp(buf + 7, want, 12 * B));
	T_ASSERT(udax_copy_file_range(f, 12 * B, g, 0, 10, 0) == 0);
	T_ASSERT(udax_copy_file_range(f, 0, g, 0, 0, 0) == 0);
	/* Within one file, ranges apart; overlapping refused. */
	T_ASSERT(udax_copy_file_range(g, 7, g, 20 * B, B, 0) == (ssize_t)B);
	T_ASSERT(udax_pread(g, buf, B, 20 * B) == (ssize_t)B && !memcmp(buf, want, B));
	FS_ERR(udax_copy_file_range(g, 0, g, 100, 200, 0), -EINVAL);
	FS_ERR(udax_copy_file_range(f, 0, g, 0, 10, 1), -EINVAL);
	FS_OK(udax_open(fs, "/g", O_RDONLY, 0, &ro));
	FS_ERR(udax_copy_file_range(f, 0, ro, 0, 10, 0), -EBADF);
	FS_OK(udax_close(&ro));
	FS_OK(udax_open(fs, "/g", O_WRONLY | O_APPEND, 0, &ro));
	FS_ERR(udax_copy_file_range(f, 0, ro, 0, 10, 0), -EBADF);
	FS_ERR(udax_copy_file_range(ro, 0, g, 0, 10, 0), -EBADF);
	FS_OK(udax_close(&ro));
	FS_OK(udax_close(&g));
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_seek_copy: ok\n");
	return 0;
}
