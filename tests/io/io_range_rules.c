/* SPDX-License-Identifier: MIT */
/*
 * The io engine's file transfers follow the same zero-copy range rule as
 * pins, leases and views (include/udax/fs.h, "Zero-copy ranges"), at every
 * boundary of tests/common/range_rules.h: udax_io_write_file (file ->
 * /dev/null, so the file is not changed), udax_io_read_file into the file from
 * /dev/zero only where it is allowed, and udax_io_lease_fixed.  The last,
 * partial block of a file can be transferred; nothing is rounded.
 */
#include <udax/io.h>

#include "io_util.h"
#include "range_rules.h"

static struct udax_io *io;
static int devnull;

static int try_write_file(struct udax_file *f, uint64_t off, size_t len, void *arg)
{
	struct udax_io_req *req;
	ssize_t res;
	int ret = udax_io_write_file(io, devnull, 0, f, off, len, NULL, NULL, &req);

	(void)arg;
	if (ret)
		return ret;
	res = udax_io_wait(req);
	udax_io_req_free(&req);
	T_ASSERT(res == (ssize_t)len);
	return 0;
}

static int try_lease_fixed(struct udax_file *f, uint64_t off, size_t len, void *arg)
{
	struct udax_io_leased *lf;
	uint64_t roff;
	int ret = udax_io_lease_fixed(io, f, off, len, -1, NULL, NULL, &lf);

	(void)arg;
	if (ret == -EOPNOTSUPP || ret == -EFAULT)
		return *(int *)arg = 1, 0;	/* the kernel refuses: skipped */
	if (ret)
		return ret;
	T_ASSERT(udax_io_leased_run(lf, 0, &roff) && roff == off);
	T_EXPECT_ERR(udax_io_lease_fixed_release(&lf), 0);
	return 0;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_io_req *req;
	int skipped = 0, zero;
	char back[RR_BS];

	io = io_new_or_skip(NULL);
	devnull = open("/dev/null", O_WRONLY);
	zero = open("/dev/zero", O_RDONLY);
	T_ASSERT(devnull >= 0 && zero >= 0);
	fs = t_fs_new("mem:32M", &dev);
	rr_make_files(fs);
	rr_check(fs, "udax_io_write_file", try_write_file, NULL, NULL);
	rr_check(fs, "udax_io_lease_fixed", try_lease_fixed, &skipped, NULL);

	/* DMA into the last, partial block: the file's bytes change, its
	 * size does not, and the bytes past EOF still read as zero. */
	FS_OK(udax_open(fs, "/tail", O_RDWR, 0, &f));
	T_EXPECT_ERR(udax_io_read_file(io, zero, 0, f, 3 * RR_BS, RR_BS, NULL,
				       NULL, &req), 0);
	T_ASSERT(udax_io_wait(req) == RR_BS);
	udax_io_req_free(&req);
	T_ASSERT(udax_pread(f, back, RR_BS, 3 * RR_BS) == 100);
	for (int i = 0; i < 100; i++)
		T_ASSERT(back[i] == 0);
	T_EXPECT_ERR(udax_io_read_file(io, zero, 0, f, 3 * RR_BS + 512, RR_BS,
				       NULL, NULL, &req), -EINVAL);
	FS_OK(udax_close(&f));

	T_EXPECT_ERR(udax_io_delete(&io), 0);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	close(devnull);
	close(zero);
	printf("ok%s\n", skipped ? " (leased fixed buffers refused by the kernel)" : "");
	return 0;
}
