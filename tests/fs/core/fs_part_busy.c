/* SPDX-License-Identifier: MIT */
/*
 * The partition table under a mounted file system.  While partition 0 is
 * mounted: udax_dev_part_wipe(), udax_dev_mkpart(FORCE) with a new layout,
 * udax_mkfs() / udax_mount() / udax_fsck() of a partition overlapping it
 * (a table re-read from media that moved the partitions), and closing the
 * device all fail with -EBUSY, naming the mounted partition, and write
 * nothing: after unmount the file system is intact and fsck-clean.  A
 * partition that does not overlap stays usable.
 */
#include <udax/fsck.h>

#include "fs_util.h"
#include "msg_util.h"

#define MIB (1ull << 20)

static void check_intact(struct udax_dev *dev, const char *want, size_t n)
{
	struct udax_fsck_report r;
	struct udax_fs *fs;
	size_t got;
	char *buf;

	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &r));
	T_ASSERT(r.problems == 0);
	fs = t_fs_mount(dev);
	buf = t_read_file(fs, "/keep", &got);
	T_ASSERT(got == n && memcmp(buf, want, n) == 0);
	free(buf);
	FS_OK(udax_unmount(&fs));
}

int main(void)
{
	const struct udax_part_spec two[2] = { { .size = 16 * MIB }, { .size = 0 } };
	const struct udax_part_spec moved[2] = { { .size = 8 * MIB }, { .size = 0 } };
	struct udax_dev *dev = NULL, *other = NULL;
	struct udax_fsck_report rep;
	struct udax_dev_info di, oi;
	struct udax_part_info p0;
	struct udax_fs *fs, *fs1, *fs2;
	char data[10000];

	FS_OK(udax_dev_open("mem:64M", NULL, &dev));
	FS_OK(udax_dev_mkpart(dev, two, 2, 0));
	FS_OK(udax_mkfs(dev, 0, NULL));
	fs = t_fs_mount(dev);
	t_fill(data, sizeof(data), 7);
	t_write_file(fs, "/keep", data, sizeof(data));
	FS_OK(udax_dev_part(dev, 0, &p0));

	/* The table cannot change under the mount. */
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_part_wipe(dev), -EBUSY,
		       "udax_dev_part_wipe", "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_dev_last_error,
		       udax_dev_mkpart(dev, moved, 2, UDAX_MKPART_FORCE), -EBUSY,
		       "udax_dev_mkpart", "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_dev_last_error,
		       udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE), -EBUSY,
		       "partition 0", "is mounted");
	T_ASSERT(udax_dev_part_read(dev) == 2);
	/* Neither can the partition, nor the device go. */
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mkfs(dev, 0, NULL), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mount(dev, 0, NULL, &fs2), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_fsck(dev, 0, 0, NULL, NULL, &rep),
		       -EBUSY, "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_close(&dev, 0), -EBUSY,
		       "udax_dev_close", "partition 0", "is mounted");
	T_ASSERT(dev != NULL);
	/* Partition 1 does not overlap: it is made and mounted as usual. */
	FS_OK(udax_mkfs(dev, 1, NULL));
	FS_OK(udax_mount(dev, 1, NULL, &fs1));
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mkfs(dev, 1, NULL), -EBUSY,
		       "partition 1", "is mounted");

	/*
	 * A table written behind the library's back (here: copied from
	 * another device laid out differently) and re-read: partition 0 of
	 * the new table overlaps the mounted partition 0 and the new
	 * partition 1 the mounted partition 0 too.
	 */
	FS_OK(udax_unmount(&fs1));
	FS_OK(udax_dev_open("mem:64M", NULL, &other));
	FS_OK(udax_dev_mkpart(other, moved, 2, 0));
	FS_OK(udax_dev_info(dev, &di));
	FS_OK(udax_dev_info(other, &oi));
	T_ASSERT(di.table_offset == oi.table_offset);
	memcpy((char *)di.addr + di.table_offset, (char *)oi.addr + oi.table_offset,
	       UDAX_FS_BLOCK_SIZE);
	T_ASSERT(udax_dev_part_read(dev) == 2);
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mkfs(dev, 1, NULL), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mkfs(dev, 0, NULL), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mount(dev, 1, NULL, &fs2), -EBUSY,
		       "partition 0", "is mounted");
	FS_OK(udax_dev_close(&other, 0));

	FS_OK(udax_unmount(&fs));
	/* Unmounted: the table may change again.  First check that nothing
	 * was written into the live file system: re-create the original
	 * layout and find the file whole. */
	FS_OK(udax_dev_mkpart(dev, two, 2, UDAX_MKPART_FORCE));
	FS_OK(udax_dev_part(dev, 0, &p0));
	check_intact(dev, data, sizeof(data));
	FS_OK(udax_dev_part_wipe(dev));
	FS_OK(udax_dev_close(&dev, 0));
	printf("ok\n");
	return 0;
}
