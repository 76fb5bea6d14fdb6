/* SPDX-License-Identifier: MIT */
/*
 * Many directory indexes at once: 3,000 directories, each with a file,
 * looked into (an index each, the table of indexes grows on the way);
 * every file found again, in the right directory; half the directories
 * emptied and removed (their indexes go) and made again empty; the rest
 * still right, after a remount too.
 */
#include "fs_util.h"

#define N	3000

static void check(struct udax_fs *fs, int k, bool present)
{
	struct udax_stat st;
	char p[64];
	int v = -1;
	struct udax_file *f;

	snprintf(p, sizeof(p), "/d%d/f", k);
	if (!present) {
		FS_ERR(udax_stat(fs, p, &st), -ENOENT);
		return;
	}
	FS_OK(udax_open(fs, p, O_RDONLY, 0, &f));
	T_ASSERT(udax_pread(f, &v, sizeof(v), 0) == sizeof(v) && v == k);
	FS_OK(udax_close(&f));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:256M", &dev);
	char p[64];

	for (int k = 0; k < N; k++) {
		snprintf(p, sizeof(p), "/d%d", k);
		FS_OK(udax_mkdir(fs, p, 0755));
		snprintf(p, sizeof(p), "/d%d/f", k);
		t_write_file(fs, p, &k, sizeof(k));
	}
	for (int k = 0; k < N; k++)
		check(fs, k, true);
	for (int k = 0; k < N; k += 2) {
		snprintf(p, sizeof(p), "/d%d/f", k);
		FS_OK(udax_unlink(fs, p));
		snprintf(p, sizeof(p), "/d%d", k);
		FS_OK(udax_rmdir(fs, p));
		FS_OK(udax_mkdir(fs, p, 0755));
	}
	for (int k = 0; k < N; k++)
		check(fs, k, k % 2);
	t_fs_remount(dev, &fs);
	for (int k = 0; k < N; k++)
		check(fs, k, k % 2);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
