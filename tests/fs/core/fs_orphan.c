/* SPDX-License-Identifier: MIT */
/*
 * Orphans: a file unlinked (or renamed over) while open keeps its inode
 * and blocks until the last close.  If the process "crashes" meanwhile
 * (the device image taken while the file is open), mount reclaims the
 * orphan: the tree and free counts equal those after a clean last close.
 * A read-only mount leaves it alone; the next read-write mount frees it.
 */
#include "fs_util.h"

static void load(struct udax_dev *to, const void *img, size_t size)
{
	struct udax_dev_info info;

	FS_OK(udax_dev_info(to, &info));
	memcpy(info.addr, img, size);
	T_ASSERT(udax_dev_part_read(to) == 1);
}

int main(void)
{
	struct udax_dev *dev, *dev2 = t_fs_dev("mem:8M");
	struct udax_fs *fs, *fs2;
	struct udax_mount_opts ro = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_file *f, *g;
	struct udax_dev_info info;
	struct udax_statfs s0, s1;
	struct udax_stat st;
	static char buf[5 * 4096], back[100];
	char *img, *fp, *fp2;

	fs = t_fs_new("mem:8M", &dev);
	FS_OK(udax_dev_info(dev, &info));
	img = malloc(info.size);
	T_ASSERT(img);
	t_fill(buf, sizeof(buf), 7);
	t_write_file(fs, "/o", buf, sizeof(buf));
	t_write_file(fs, "/victim", buf, 3 * 4096);
	t_write_file(fs, "/src", "new", 3);
	t_write_file(fs, "/keep", "keep", 4);

	FS_OK(udax_open(fs, "/o", O_RDWR, 0, &f));
	FS_OK(udax_open(fs, "/victim", O_RDONLY, 0, &g));
	FS_OK(udax_unlink(fs, "/o"));
	FS_OK(udax_rename(fs, "/src", "/victim", 0));	/* victim: orphan */
	FS_OK(udax_fstat(g, &st));
	T_ASSERT(st.nlink == 0 && st.size == 3 * 4096);
	T_ASSERT(udax_pread(g, back, 100, 4096) == 100);
	T_ASSERT(!memcmp(back, buf + 4096, 100));
	T_ASSERT(udax_pwrite(f, "more", 4, sizeof(buf)) == 4);

	/* The crash image: both orphans still on media. */
	memcpy(img, info.addr, info.size);

	FS_OK(udax_close(&f));
	FS_OK(udax_close(&g));
	FS_OK(udax_statfs(fs, &s0));
	fp = t_fingerprint(fs);

	/* Read-only: the orphans stay. */
	load(dev2, img, info.size);
	FS_OK(udax_mount(dev2, 0, &ro, &fs2));
	FS_OK(udax_statfs(fs2, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free - 2);
	T_ASSERT(s1.blocks_free < s0.blocks_free);
	FS_OK(udax_unmount(&fs2));
	/* Read-write: reclaimed, same state as the clean close. */
	fs2 = t_fs_mount(dev2);
	fp2 = t_fingerprint(fs2);
	if (strcmp(fp, fp2)) {
		fprintf(stderr, "clean:\n%s\nrecovered:\n%s", fp, fp2);
		return 1;
	}
	free(fp2);
	FS_OK(udax_unmount(&fs2));
	/* And it stays so. */
	fs2 = t_fs_mount(dev2);
	fp2 = t_fingerprint(fs2);
	T_ASSERT(!strcmp(fp, fp2));
	free(fp2);
	FS_OK(udax_unmount(&fs2));

	free(fp);
	free(img);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	FS_OK(udax_dev_close(&dev2, 0));
	return 0;
}
