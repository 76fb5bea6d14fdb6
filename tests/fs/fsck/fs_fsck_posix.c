/* SPDX-License-Identifier: MIT */
/*
 * fsck and the read paths on the POSIX surface's structures, one damage
 * at a time: an inline symbolic link with a NUL or bytes after it, a block
 * link's target with a NUL, a device number on a FIFO, a special file with
 * a size, an xattr block with a bad checksum (fsck reports it; getxattr
 * refuses with -EUCLEAN; mount goes on), an xattr block out of bounds
 * (mount refuses) and one owned twice (fsck names the other owner).
 */
#include <sys/xattr.h>

#include "fsck_util.h"

static uint32_t isl, ilong, ififo, ix, ia;

static uint32_t lino_of(struct udax_fs *fs, const char *path)
{
	struct udax_stat st;

	FS_OK(udax_lstat(fs, path, &st));
	return st.ino;
}

static void build(void)
{
	struct udax_fs *fs;
	char t[300], buf[100];

	dev = t_fs_dev("mem:8M");
	FS_OK(udax_mkfs(dev, 0, &(struct udax_mkfs_opts){ .nr_inodes = 64 }));
	fs = t_fs_mount(dev);
	memset(buf, 'a', sizeof(buf));
	t_write_file(fs, "/a", buf, sizeof(buf));
	t_write_file(fs, "/x", buf, 10);
	memset(t, 'T', sizeof(t) - 1);
	t[sizeof(t) - 1] = 0;
	FS_OK(udax_symlink(fs, "short", "/sl"));
	FS_OK(udax_symlink(fs, t, "/long"));
	FS_OK(udax_mknod(fs, "/fifo", S_IFIFO | 0644, 0, NULL));
	FS_OK(udax_setxattr(fs, "/x", "user.k", "v", 1, 0));
	isl = lino_of(fs, "/sl");
	ilong = lino_of(fs, "/long");
	ififo = lino_of(fs, "/fifo");
	ix = lino_of(fs, "/x");
	ia = lino_of(fs, "/a");
	FS_OK(udax_unmount(&fs));
}

int main(void)
{
	struct udax_fsck_report r;
	struct udax_fs *fs;
	char v[8];

	build();
	k_snapshot();
	fsck(0, &r);
	T_ASSERT(got.n == 0);

	((char *)dinode(isl)->ext)[2] = 0;
	fix_inode(isl);
	expect_one("inline link with a NUL", UDAX_FSCK_INODE, iblock(isl), isl, false);
	restore();
	((char *)dinode(isl)->ext)[100] = 'z';
	fix_inode(isl);
	expect_one("bytes after an inline link", UDAX_FSCK_INODE, iblock(isl), isl,
		   false);
	restore();
	part[dinode(ilong)->ext[0].pblk * FS_BS + 5] = 0;
	expect_one("block link with a NUL", UDAX_FSCK_INODE, iblock(ilong), ilong,
		   false);
	/* The cache load refuses it too. */
	fs = t_fs_mount(dev);
	FS_ERR(udax_readlink(fs, "/long", v, sizeof(v)), -EUCLEAN);
	FS_OK(udax_unmount(&fs));
	restore();
	dinode(ififo)->rdev = 0x801;
	fix_inode(ififo);
	expect_one("rdev on a FIFO", UDAX_FSCK_INODE, iblock(ififo), ififo, false);
	restore();
	dinode(ififo)->size = 5;
	fix_inode(ififo);
	expect_one("FIFO with a size", UDAX_FSCK_INODE, iblock(ififo), ififo, false);
	restore();

	/* xattr block: a flipped byte. */
	part[dinode(ix)->xattr * FS_BS + 30] ^= 1;
	expect_one("xattr block checksum", UDAX_FSCK_INODE, dinode(ix)->xattr, ix,
		   false);
	fs = t_fs_mount(dev);
	FS_ERR(udax_getxattr(fs, "/x", "user.k", v, sizeof(v)), -EUCLEAN);
	FS_ERR(udax_setxattr(fs, "/x", "user.j", "1", 1, 0), -EUCLEAN);
	FS_OK(udax_unmount(&fs));
	restore();
	/* Out of bounds: mount and fsck refuse. */
	dinode(ix)->xattr = 1;
	fix_inode(ix);
	expect_one("xattr block out of bounds", UDAX_FSCK_INODE, iblock(ix), ix, false);
	restore();
	/* Owned twice: /a's data block. */
	dinode(ix)->xattr = dinode(ia)->ext[0].pblk;
	fix_inode(ix);
	consistent();
	fsck(0, &r);
	T_ASSERT(r.problems >= 1 && has(UDAX_FSCK_EXTENT, iblock(ix), ix));
	T_ASSERT(udax_mount(dev, 0, NULL, &fs) == -EUCLEAN);
	restore();

	fs = t_fs_mount(dev);
	T_ASSERT(udax_getxattr(fs, "/x", "user.k", v, sizeof(v)) == 1 && v[0] == 'v');
	FS_OK(udax_unmount(&fs));
	udax_dev_close(&dev, 0);
	free(good);
	printf("fs_fsck_posix: ok\n");
	return 0;
}
