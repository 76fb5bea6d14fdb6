/* SPDX-License-Identifier: MIT */
/*
 * Every -EBUSY names its cause.  udax_strerror(-EBUSY) only says "busy"
 * (it used to say "pages are still held" for every cause); the layer's
 * last_error() message says which: a second mount, a partition mounted
 * under mkpart / wipe / mkfs / fsck / close, the device lock held by
 * another open, files open at unmount, pages pinned at unmount, at a
 * NOWAIT layout break, at device close and repartitioning, a range
 * unregistered with held pages, an overlapping holder.
 */
#include <udax/fsck.h>

#include "dev_util.h"
#include "fs_util.h"
#include "msg_util.h"

#define BS UDAX_FS_BLOCK_SIZE

int main(void)
{
	const struct udax_break_opts nowait = { .mode = UDAX_BREAK_NOWAIT };
	struct udax_dev_opts co = { .flags = UDAX_DEV_CREATE, .size = 16 << 20 };
	struct udax_dev *dev, *fdev, *fdev2;
	struct udax_fs *fs, *fs2;
	struct udax_fsck_report rep;
	struct udax_part_info pi;
	struct udax_pgmap_info info;
	struct udax_page *pages[2];
	struct udax_file *f;
	struct udax_pin *pin;
	struct udax_pgmap *pgmap;
	const char *dir;
	void *mem;
	char path[300], buf[2 * BS] = { 0 };

	T_ASSERT(!strstr(udax_strerror(-EBUSY), "pages are still held"));
	T_ASSERT(strstr(udax_strerror(-EBUSY), "busy"));

	/* The device lock: a second open of a file device. */
	dir = t_tmpdir();
	snprintf(path, sizeof(path), "%s/dev", dir);
	T_OK(udax_dev_open(path, &co, &fdev));
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_open(path, NULL, &fdev2), -EBUSY,
		       path, "already open in this process");
	T_OK(udax_dev_close(&fdev, 0));
	unlink(path);
	rmdir(dir);

	/* A range unregistered while a page is held. */
	mem = t_devmem(2 << 20);
	T_EXPECT_ERR(udax_pgmap_register(&(struct udax_pgmap_params){
		.type = UDAX_PGMAP_GENERIC, .addr = mem, .size = 2 << 20,
		.name = "held-range" }, &pgmap), 0);
	udax_pgmap_get_info(pgmap, &info);
	T_EXPECT_ERR(udax_pin_pages(info.pfn_first, 1, pages), 0);
	T_EXPECT_CAUSE(udax_pgmap_last_error, udax_pgmap_unregister(pgmap, 0, 0),
		       -EBUSY, "held-range", "still held");
	T_EXPECT_ERR(udax_unpin_pages(pages, 1), 0);
	T_EXPECT_ERR(udax_pgmap_unregister(pgmap, 0, 0), 0);
	t_devmem_free(mem, 2 << 20);

	fs = t_fs_new("mem:32M", &dev);
	/* A second mount, and everything that would change the partition. */
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mount(dev, 0, NULL, &fs2), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_mkfs(dev, 0, NULL), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_fs_last_error, udax_fsck(dev, 0, 0, NULL, NULL, &rep),
		       -EBUSY, "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_mkpart(dev, NULL, 0,
		       UDAX_MKPART_FORCE), -EBUSY, "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_part_wipe(dev), -EBUSY,
		       "partition 0", "is mounted");
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_close(&dev, 0), -EBUSY,
		       "partition 0", "is mounted");

	/* Open files, then pinned pages, at unmount and at a break. */
	FS_OK(udax_open(fs, "/x", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, buf, sizeof(buf), 0) == (ssize_t)sizeof(buf));
	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount(&fs), -EBUSY,
		       "still open", "close them first");
	FS_OK(udax_pin(f, 0, BS, 0, &pin));
	T_EXPECT_CAUSE(udax_fs_last_error, udax_ftruncate_ex(f, 0, &nowait), -EBUSY,
		       "inode", "pinned");
	FS_OK(udax_close(&f));
	T_EXPECT_CAUSE(udax_fs_last_error, udax_unmount_ex(&fs, &nowait), -EBUSY,
		       "1 page(s)", "pinned");
	FS_OK(udax_unpin(&pin));
	FS_OK(udax_unmount(&fs));

	/* Held pages under the device layer and the pagemap. */
	T_OK(udax_dev_part(dev, 0, &pi));
	T_EXPECT_ERR(udax_pin_pages(pi.pfn_first, 2, pages), 0);
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_mkpart(dev, NULL, 0,
		       UDAX_MKPART_FORCE), -EBUSY, "2 page(s)", "held");
	T_EXPECT_CAUSE(udax_dev_last_error, udax_dev_close(&dev, 0), -EBUSY,
		       "2 page(s)", "held");
	udax_pgmap_get_info(udax_dev_pgmap(dev), &info);
	T_EXPECT_ERR(udax_pgmap_attach_holder(udax_dev_pgmap(dev), pi.pfn_first,
		     1, &(struct udax_dax_holder_ops){ 0 }, &info), 0);
	T_EXPECT_CAUSE(udax_pgmap_last_error, udax_pgmap_attach_holder(
		       udax_dev_pgmap(dev), pi.pfn_first, 2,
		       &(struct udax_dax_holder_ops){ 0 }, &rep), -EBUSY,
		       "overlap another holder");
	T_EXPECT_ERR(udax_pgmap_detach_holder(udax_dev_pgmap(dev), &info), 0);
	T_EXPECT_ERR(udax_unpin_pages(pages, 2), 0);
	T_OK(udax_dev_close(&dev, 0));
	printf("ok\n");
	return 0;
}
