/* SPDX-License-Identifier: MIT */
/*
 * Owner at creation: udax_open_cred, udax_mkdir_cred, udax_symlink_cred
 * set uid and gid in the create's transaction; the set-group-ID directory
 * rule (group inherited, S_ISGID inherited by subdirectories, S_ISGID of a
 * group-executable file dropped for a creator outside the group); an
 * existing file keeps its owner; all of it after a remount.
 */
#include "fs_util.h"

static void owner_is(struct udax_fs *fs, const char *path, uint32_t uid,
		     uint32_t gid, uint32_t mode)
{
	struct udax_stat st;

	FS_OK(udax_lstat(fs, path, &st));
	if (st.uid != uid || st.gid != gid || (st.mode & 07777) != mode) {
		fprintf(stderr, "%s: uid %u gid %u mode %o, want %u %u %o\n", path,
			st.uid, st.gid, st.mode & 07777, uid, gid, mode);
		exit(1);
	}
}

static void mkfile(struct udax_fs *fs, const char *path, mode_t mode,
		   const struct udax_cred *c)
{
	struct udax_file *f;

	FS_OK(udax_open_cred(fs, path, O_RDWR | O_CREAT | O_EXCL, mode, c, &f));
	FS_OK(udax_close(&f));
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	const struct udax_cred u1 = { 1000, 1000 }, u2 = { 1001, 50 },
			       root = { 0, 7 };
	struct udax_file *f;

	for (int pass = 0; pass < 2; pass++) {
		if (pass == 0) {
			/* Plain directory: the creator's ids. */
			mkfile(fs, "/f", 0640, &u1);
			FS_OK(udax_mkdir_cred(fs, "/d", 0750, &u1));
			FS_OK(udax_symlink_cred(fs, "/f", "/l", &u2));
			mkfile(fs, "/n", 0644, NULL);
			FS_OK(udax_mkdir(fs, "/m", 0755));
			/* A mode with S_ISGID outside a setgid directory stays. */
			mkfile(fs, "/sg", 02755, &u1);
			/* An existing file keeps its owner (O_CREAT, no O_EXCL). */
			FS_OK(udax_open_cred(fs, "/f", O_RDWR | O_CREAT, 0600, &u2, &f));
			FS_OK(udax_close(&f));

			/* A set-group-ID directory of group 50. */
			FS_OK(udax_mkdir_cred(fs, "/g", 0775, &root));
			FS_OK(udax_chown(fs, "/g", 0, 50));
			FS_OK(udax_chmod(fs, "/g", 02775));
			mkfile(fs, "/g/f", 0644, &u1);
			FS_OK(udax_mkdir_cred(fs, "/g/sub", 0755, &u1));
			FS_OK(udax_symlink_cred(fs, "x", "/g/l", &u1));
			mkfile(fs, "/g/sub/deep", 0600, &u1);
			/* S_ISGID | S_IXGRP by a creator outside group 50: dropped;
			 * by a member (gid 50) or root: kept; without S_IXGRP: kept. */
			mkfile(fs, "/g/x1", 02755, &u1);
			mkfile(fs, "/g/x2", 02755, &u2);
			mkfile(fs, "/g/x3", 02755, &root);
			mkfile(fs, "/g/x4", 02745, &u1);
		}
		owner_is(fs, "/f", 1000, 1000, 0640);
		owner_is(fs, "/d", 1000, 1000, 0750);
		owner_is(fs, "/l", 1001, 50, 0777);
		owner_is(fs, "/n", 0, 0, 0644);
		owner_is(fs, "/m", 0, 0, 0755);
		owner_is(fs, "/sg", 1000, 1000, 02755);
		owner_is(fs, "/g", 0, 50, 02775);
		owner_is(fs, "/g/f", 1000, 50, 0644);
		owner_is(fs, "/g/sub", 1000, 50, 02755);
		owner_is(fs, "/g/l", 1000, 50, 0777);
		owner_is(fs, "/g/sub/deep", 1000, 50, 0600);
		owner_is(fs, "/g/x1", 1000, 50, 0755);
		owner_is(fs, "/g/x2", 1001, 50, 02755);
		owner_is(fs, "/g/x3", 0, 50, 02755);
		owner_is(fs, "/g/x4", 1000, 50, 02745);
		if (pass == 0)
			t_fs_remount(dev, &fs);
	}
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_owner: ok\n");
	return 0;
}
