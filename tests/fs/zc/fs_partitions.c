/* SPDX-License-Identifier: MIT */
/*
 * Two file systems on two partitions of one device share the device's one
 * pagemap range without colliding: each attaches to its own pfn span, a
 * pin in one never delays a break in the other, and a deferred free in one
 * is completed by that one only.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS UDAX_FS_BLOCK_SIZE

static void mkfile(struct udax_fs *fs, const char *path, char c, int n)
{
	struct udax_file *f;
	char buf[BS];

	memset(buf, c, BS);
	T_EXPECT_ERR(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f), 0);
	for (int i = 0; i < n; i++)
		T_EXPECT_ERR(udax_pwrite(f, buf, BS, (uint64_t)i * BS), BS);
	T_EXPECT_ERR(udax_close(&f), 0);
}

int main(void)
{
	struct udax_part_spec parts[2] = { { 8u << 20, UDAX_PART_TYPE_UDAXFS, "one" },
					   { 0, UDAX_PART_TYPE_UDAXFS, "two" } };
	struct udax_mount_opts defer = { .brk = { UDAX_BREAK_DEFER, 0 } };
	struct udax_break_opts nowait = { UDAX_BREAK_NOWAIT, 0 };
	struct udax_dev *dev;
	struct udax_fs *fs1, *fs2;
	struct udax_file *f1, *f2;
	struct udax_pin *p1, *p2;
	struct udax_statfs st1, st2;
	struct udax_pgmap_info info;

	T_EXPECT_ERR(udax_dev_open("mem:24M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, parts, 2, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 1, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs1), 0);
	T_EXPECT_ERR(udax_mount(dev, 1, &defer, &fs2), 0);
	{
		struct udax_fs *again;

		T_EXPECT_ERR(udax_mount(dev, 1, NULL, &again), -EBUSY);
	}

	mkfile(fs1, "/x", '1', 8);
	mkfile(fs2, "/x", '2', 8);
	T_EXPECT_ERR(udax_open(fs1, "/x", O_RDWR, 0, &f1), 0);
	T_EXPECT_ERR(udax_open(fs2, "/x", O_RDWR, 0, &f2), 0);
	T_EXPECT_ERR(udax_pin(f1, 0, 8 * BS, 0, &p1), 0);
	T_EXPECT_ERR(udax_pin(f2, 0, 8 * BS, 0, &p2), 0);
	/* Same device, different pages. */
	T_ASSERT(((char *)udax_pin_page_addr(p1, 0))[0] == '1');
	T_ASSERT(((char *)udax_pin_page_addr(p2, 0))[0] == '2');
	T_ASSERT(udax_page_pgmap(udax_pin_page_array(p1)[0]) ==
		 udax_page_pgmap(udax_pin_page_array(p2)[0]));
	udax_pgmap_get_info(udax_dev_pgmap(dev), &info);
	T_ASSERT(info.busy_pages == 16);

	/* fs2 defers: its truncate returns, its blocks stay busy. */
	T_EXPECT_ERR(udax_ftruncate(f2, 0), 0);
	T_EXPECT_ERR(udax_statfs(fs2, &st2), 0);
	T_ASSERT(st2.blocks_busy == 8);
	/* fs1's pin is unaffected, and it still blocks fs1's own break. */
	T_EXPECT_ERR(udax_ftruncate_ex(f1, 0, &nowait), -EBUSY);
	T_EXPECT_ERR(udax_statfs(fs1, &st1), 0);
	T_ASSERT(st1.blocks_busy == 0);
	/* Dropping fs2's pin frees fs2's blocks, in fs2. */
	T_EXPECT_ERR(udax_unpin(&p2), 0);
	T_EXPECT_ERR(udax_statfs(fs2, &st2), 0);
	T_ASSERT(st2.blocks_busy == 0);
	T_EXPECT_ERR(udax_unpin(&p1), 0);
	T_EXPECT_ERR(udax_ftruncate_ex(f1, 0, &nowait), 0);

	T_EXPECT_ERR(udax_close(&f1), 0);
	T_EXPECT_ERR(udax_close(&f2), 0);
	T_EXPECT_ERR(udax_unmount(&fs1), 0);
	T_EXPECT_ERR(udax_unmount(&fs2), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	puts("fs_partitions: ok");
	return 0;
}
