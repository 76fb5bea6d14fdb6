/* SPDX-License-Identifier: MIT */
/* Partition tables: create, read back, replace, limits, wipe. */
#include <udax/dev.h>

#include "dev_util.h"

static void expect_part(struct udax_dev *dev, unsigned i, uint64_t off,
			uint64_t size, const char *label)
{
	struct udax_dev_info info;
	struct udax_part_info pi;

	T_OK(udax_dev_info(dev, &info));
	T_OK(udax_dev_part(dev, i, &pi));
	T_ASSERT(pi.index == i);
	T_ASSERT(pi.offset == off);
	T_ASSERT(pi.size == size);
	T_ASSERT(pi.addr == (char *)info.addr + off);
	T_ASSERT(pi.nr_pages == size / UDAX_PAGE_SIZE);
	T_ASSERT(strcmp(pi.label, label) == 0);
	T_ASSERT((pi.uuid[6] & 0xf0) == 0x40);	/* version 4 */
}

int main(void)
{
	struct udax_dev *dev = t_open_mem("mem:64M", 0);
	struct udax_part_spec ps[UDAX_DEV_MAX_PARTS + 1];
	struct udax_part_info a, b;
	char label[32];

	/* A new device has no table. */
	T_EXPECT_MSG(udax_dev_part_count(dev), -ENODATA, "no partition table");
	T_EXPECT_MSG(udax_dev_part_read(dev), -ENODATA, "no partition table");
	T_EXPECT_MSG(udax_dev_part(dev, 0, &a), -ENODATA, "no partition table");

	/* One partition spanning the device: after the 2 MiB table area. */
	T_ASSERT(udax_dev_mkpart(dev, NULL, 0, 0) == 0);
	T_ASSERT(udax_dev_part_count(dev) == 1);
	expect_part(dev, 0, 2 * MiB, 62 * MiB, "");
	T_EXPECT_MSG(udax_dev_part(dev, 1, &a), -ENOENT, "no partition 1");
	T_ASSERT(udax_dev_part_read(dev) == 1);

	/* An existing table is kept unless forced. */
	ps[0] = (struct udax_part_spec){ 8 * MiB, UDAX_PART_TYPE_UDAXFS, "alpha" };
	ps[1] = (struct udax_part_spec){ 3 * MiB, 42, "beta" };	/* -> 4 MiB */
	ps[2] = (struct udax_part_spec){ 0, 0, NULL };			/* the rest */
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, 3, 0), -EEXIST, "UDAX_MKPART_FORCE");
	T_ASSERT(udax_dev_part_count(dev) == 1);
	T_OK(udax_dev_mkpart(dev, ps, 3, UDAX_MKPART_FORCE));
	T_ASSERT(udax_dev_part_count(dev) == 3);
	expect_part(dev, 0, 2 * MiB, 8 * MiB, "alpha");
	expect_part(dev, 1, 10 * MiB, 4 * MiB, "beta");
	expect_part(dev, 2, 14 * MiB, 50 * MiB, "");
	T_OK(udax_dev_part(dev, 0, &a));
	T_OK(udax_dev_part(dev, 1, &b));
	T_ASSERT(a.type == UDAX_PART_TYPE_UDAXFS && b.type == 42);
	T_ASSERT(memcmp(a.uuid, b.uuid, 16) != 0);
	/* Reading the media again gives the same. */
	T_ASSERT(udax_dev_part_read(dev) == 3);
	expect_part(dev, 1, 10 * MiB, 4 * MiB, "beta");

	/* Bad requests change nothing. */
	ps[0] = (struct udax_part_spec){ 0, 0, "x" };
	ps[1] = (struct udax_part_spec){ 4 * MiB, 0, "y" };
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, 2, UDAX_MKPART_FORCE), -EINVAL,
		     "only the last");
	ps[0] = (struct udax_part_spec){ 60 * MiB, 0, "big" };
	ps[1] = (struct udax_part_spec){ 4 * MiB, 0, "y" };
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, 2, UDAX_MKPART_FORCE), -ENOSPC,
		     "does not fit");
	ps[0] = (struct udax_part_spec){ 62 * MiB, 0, NULL };
	ps[1] = (struct udax_part_spec){ 0, 0, NULL };	/* nothing left */
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, 2, UDAX_MKPART_FORCE), -ENOSPC,
		     "does not fit");
	ps[0] = (struct udax_part_spec){ UINT64_MAX, 0, NULL };
	T_EXPECT_ERR(udax_dev_mkpart(dev, ps, 1, UDAX_MKPART_FORCE), -ENOSPC);
	ps[0] = (struct udax_part_spec){ 4 * MiB, 0, "a-label-that-is-too-long" };
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, 1, UDAX_MKPART_FORCE), -EINVAL,
		     "at most 23");
	ps[0] = (struct udax_part_spec){ 4 * MiB, 0, "tab\there" };
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, 1, UDAX_MKPART_FORCE), -EINVAL,
		     "control character");
	T_EXPECT_MSG(udax_dev_mkpart(dev, ps, UDAX_DEV_MAX_PARTS + 1,
				     UDAX_MKPART_FORCE), -EINVAL, "at most 63");
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 2, UDAX_MKPART_FORCE), -EINVAL);
	T_EXPECT_ERR(udax_dev_mkpart(dev, ps, 0, UDAX_MKPART_FORCE), -EINVAL);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 1u << 9), -EINVAL);
	T_EXPECT_ERR(udax_dev_mkpart(NULL, NULL, 0, 0), -EINVAL);
	T_ASSERT(udax_dev_part_read(dev) == 3);
	expect_part(dev, 0, 2 * MiB, 8 * MiB, "alpha");

	/* A 23-byte label fits exactly. */
	ps[0] = (struct udax_part_spec){ 2 * MiB, 0, "abcdefghijklmnopqrstuvw" };
	T_OK(udax_dev_mkpart(dev, ps, 1, UDAX_MKPART_FORCE));
	expect_part(dev, 0, 2 * MiB, 2 * MiB, "abcdefghijklmnopqrstuvw");

	/* Wipe: no table; mkpart works again without force. */
	T_OK(udax_dev_part_wipe(dev));
	T_EXPECT_ERR(udax_dev_part_count(dev), -ENODATA);
	T_EXPECT_ERR(udax_dev_part_read(dev), -ENODATA);
	T_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	T_OK(udax_dev_close(&dev, 0));

	/* The most partitions there can be: 63 of 2 MiB after the table. */
	dev = t_open_mem("mem:128M", 0);
	for (int i = 0; i < UDAX_DEV_MAX_PARTS; i++) {
		snprintf(label, sizeof(label), "p%d", i);
		ps[i] = (struct udax_part_spec){ 2 * MiB, (uint32_t)i, strdup(label) };
	}
	T_OK(udax_dev_mkpart(dev, ps, UDAX_DEV_MAX_PARTS, 0));
	T_ASSERT(udax_dev_part_read(dev) == UDAX_DEV_MAX_PARTS);
	for (int i = 0; i < UDAX_DEV_MAX_PARTS; i++) {
		expect_part(dev, (unsigned)i, 2 * MiB * (uint64_t)(i + 1), 2 * MiB,
			    ps[i].label);
		free((char *)ps[i].label);
	}
	T_OK(udax_dev_close(&dev, 0));

	/* Too small for any partition. */
	dev = t_open_mem("mem:2M", 0);
	T_EXPECT_MSG(udax_dev_mkpart(dev, NULL, 0, 0), -ENOSPC, "does not fit");
	T_OK(udax_dev_close(&dev, 0));
	/* Sizes not a multiple of 2 MiB: the tail is not used. */
	dev = t_open_mem("mem:7M", 0);
	T_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	expect_part(dev, 0, 2 * MiB, 4 * MiB, "");
	T_OK(udax_dev_close(&dev, 0));
	return 0;
}
