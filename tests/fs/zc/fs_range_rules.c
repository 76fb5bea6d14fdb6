/* SPDX-License-Identifier: MIT */
/*
 * One range rule for pins, leases and views (include/udax/fs.h,
 * "Zero-copy ranges"), checked at every boundary: offset 0, the last
 * partial block, EOF, past EOF, holes, unwritten blocks, unaligned
 * offsets and lengths (refused, never rounded), wrap-around.  A pin covers
 * exactly the blocks asked for.  udax_mkfs/mount/fsck on a device without
 * a partition table say so with -ENOMEDIUM (not -ENODATA, "no file
 * system").
 */
#include <udax/fsck.h>

#include "range_rules.h"
#include "msg_util.h"

static int try_pin(struct udax_file *f, uint64_t off, size_t len, void *arg)
{
	struct udax_pin *pin;
	int ret = udax_pin(f, off, len, 0, &pin);

	(void)arg;
	if (ret)
		return ret;
	T_ASSERT(udax_pin_nr_pages(pin) == len / RR_BS);	/* not rounded */
	FS_OK(udax_unpin(&pin));
	return 0;
}

static void revoke(struct udax_lease *l, void *arg) { (void)l; (void)arg; }
static const struct udax_lease_ops lops = { .revoke = revoke };

static int try_lease(struct udax_file *f, uint64_t off, size_t len, void *arg)
{
	struct udax_lease *l;
	int ret = udax_lease_take(f, off, len, -1, &lops, NULL, &l);

	(void)arg;
	if (ret)
		return ret;
	T_ASSERT(udax_pin_nr_pages(udax_lease_pin(l)) == len / RR_BS);
	FS_OK(udax_lease_release(&l));
	return 0;
}

static int try_view(struct udax_file *f, uint64_t off, size_t len, void *arg)
{
	unsigned flags = *(unsigned *)arg;
	struct udax_view *v;
	void *addr;
	int ret = udax_view_map(f, off, len, flags, &v, &addr);

	if (ret)
		return ret;
	/* The bytes past EOF in the last block read as zero. */
	if (off == 3 * RR_BS && len == RR_BS)
		T_ASSERT(((char *)addr)[100] == 0 && ((char *)addr)[99] == 0x5a);
	FS_OK(udax_view_unmap(&v));
	return 0;
}

/* UDAX_VIEW_ALLOCATE fills holes and unwritten blocks below EOF. */
static int view_alloc_want(const struct rr_case *c)
{
	return c->want == -ENODATA ? 0 : c->want;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:32M", &dev);
	struct udax_fsck_report rep;
	struct udax_fs *fs2;
	unsigned ro = 0, alloc = UDAX_VIEW_ALLOCATE | UDAX_VIEW_WRITE;

	rr_make_files(fs);
	rr_check(fs, "udax_pin", try_pin, NULL, NULL);
	rr_check(fs, "udax_lease_take", try_lease, NULL, NULL);
	rr_check(fs, "udax_view_map", try_view, &ro, NULL);
	/* The messages say which rule. */
	{
		struct udax_file *f;
		struct udax_pin *pin;

		FS_OK(udax_open(fs, "/tail", O_RDONLY, 0, &f));
		T_EXPECT_CAUSE(udax_fs_last_error, udax_pin(f, 100, RR_BS, 0, &pin),
			       -EINVAL, "whole blocks", "nothing is rounded");
		T_EXPECT_CAUSE(udax_fs_last_error, udax_pin(f, 4 * RR_BS, RR_BS, 0,
			       &pin), -EINVAL, "past the end", "16384");
		FS_OK(udax_close(&f));
	}
	rr_check(fs, "udax_view_map(ALLOCATE)", try_view, &alloc, view_alloc_want);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));

	/* No partition table: its own error, not "no file system". */
	FS_OK(udax_dev_open("mem:16M", NULL, &dev));
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mkfs(dev, 0, NULL), -ENOMEDIUM,
		       "no partition table");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mount(dev, 0, NULL, &fs2),
		       -ENOMEDIUM, "no partition table");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_fsck(dev, 0, 0, NULL, NULL, &rep),
		       -ENOMEDIUM, "no partition table");
	FS_OK(udax_dev_mkpart(dev, NULL, 0, 0));
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mount(dev, 0, NULL, &fs2),
		       -ENODATA, "no file system");
	FS_OK(udax_dev_close(&dev, 0));
	printf("ok\n");
	return 0;
}
