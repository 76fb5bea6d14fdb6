/* SPDX-License-Identifier: MIT */
/*
 * A limited device (no page array): the file system mounts with DAX access
 * (reads, writes, views) but every pin request fails with -EOPNOTSUPP;
 * with nothing pinnable, breaks never wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS UDAX_FS_BLOCK_SIZE

static void lim_revoke(struct udax_lease *l, void *a) { (void)l; (void)a; }
static const struct udax_lease_ops ops = { .revoke = lim_revoke };

int main(void)
{
	struct udax_dev_opts o = { .pgmap_flags = UDAX_PGMAP_LIMITED };
	struct udax_break_opts nowait = { UDAX_BREAK_NOWAIT, 0 };
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_view *v;
	struct udax_pin *pin;
	struct udax_lease *lease;
	char buf[BS];
	void *a;

	T_EXPECT_ERR(udax_dev_open("mem:16M", &o, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	memset(buf, 'l', BS);
	T_EXPECT_ERR(udax_pwrite(f, buf, BS, 0), BS);
	T_EXPECT_ERR(udax_pwrite(f, buf, BS, BS), BS);
	/* DAX access works. */
	T_EXPECT_ERR(udax_view_map(f, 0, 2 * BS, 0, &v, &a), 0);
	T_ASSERT(((char *)a)[BS + 5] == 'l');
	T_EXPECT_ERR(udax_view_unmap(&v), 0);
	/* Pins and leases do not. */
	T_EXPECT_ERR(udax_pin(f, 0, BS, 0, &pin), -EOPNOTSUPP);
	T_EXPECT_ERR(udax_lease_take(f, 0, BS, -1, &ops, NULL, &lease), -EOPNOTSUPP);
	/* Nothing can be pinned, so even a no-wait break goes through. */
	T_EXPECT_ERR(udax_ftruncate_ex(f, BS, &nowait), 0);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	puts("fs_limited: ok");
	return 0;
}
