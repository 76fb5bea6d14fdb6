/* SPDX-License-Identifier: MIT */
/*
 * udax_access: owner, group and other bits, root's rules (read and write
 * always, execute with any x bit or on a directory), F_OK, symbolic links
 * followed, -EROFS for W_OK on a read-only mount, bad modes.
 */
#include <unistd.h>

#include "fs_util.h"

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	const struct udax_cred own = { 10, 20 }, grp = { 11, 20 },
			       oth = { 12, 21 }, root = { 0, 99 };
	struct udax_mount_opts mo = { .flags = UDAX_MOUNT_RDONLY };
	struct udax_file *f;

	FS_OK(udax_open_cred(fs, "/f", O_RDWR | O_CREAT, 0754, &own, &f));
	FS_OK(udax_close(&f));
	FS_OK(udax_open_cred(fs, "/n", O_RDWR | O_CREAT, 0640, &own, &f));
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir_cred(fs, "/d", 0700, &own));
	FS_OK(udax_symlink(fs, "/f", "/l"));

	/* 0754: owner rwx, group r-x, other r--. */
	FS_OK(udax_access(fs, "/f", R_OK | W_OK | X_OK, &own));
	FS_OK(udax_access(fs, "/f", R_OK | X_OK, &grp));
	FS_ERR(udax_access(fs, "/f", W_OK, &grp), -EACCES);
	FS_OK(udax_access(fs, "/f", R_OK, &oth));
	FS_ERR(udax_access(fs, "/f", X_OK, &oth), -EACCES);
	FS_ERR(udax_access(fs, "/f", R_OK | W_OK, &oth), -EACCES);
	FS_OK(udax_access(fs, "/f", F_OK, &oth));
	FS_OK(udax_access(fs, "/l", R_OK | X_OK, &grp));	/* followed */
	/* Root: rw always, x only with an x bit or on a directory. */
	FS_OK(udax_access(fs, "/n", R_OK | W_OK, &root));
	FS_ERR(udax_access(fs, "/n", X_OK, &root), -EACCES);
	FS_OK(udax_access(fs, "/f", X_OK, NULL));
	FS_OK(udax_access(fs, "/d", R_OK | W_OK | X_OK, &root));
	FS_ERR(udax_access(fs, "/d", X_OK, &grp), -EACCES);
	/* The owner's bits decide for the owner even when others' are wider. */
	FS_OK(udax_chmod(fs, "/n", 0047));
	FS_ERR(udax_access(fs, "/n", R_OK, &own), -EACCES);
	FS_OK(udax_access(fs, "/n", R_OK, &grp));
	FS_OK(udax_access(fs, "/n", R_OK | W_OK | X_OK, &oth));
	FS_ERR(udax_access(fs, "/nope", F_OK, &root), -ENOENT);
	FS_ERR(udax_access(fs, "/f", 8, &root), -EINVAL);

	FS_OK(udax_unmount(&fs));
	FS_OK(udax_mount(dev, 0, &mo, &fs));
	FS_ERR(udax_access(fs, "/f", W_OK, &own), -EROFS);
	FS_OK(udax_access(fs, "/f", R_OK, &own));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_access: ok\n");
	return 0;
}
