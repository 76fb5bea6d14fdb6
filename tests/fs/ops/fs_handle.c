/* SPDX-License-Identifier: MIT */
/*
 * The inode-handle calls: lookup from the root down, held inodes across
 * rename and unlink (an unlinked held inode is an orphan until its last
 * put), create/mkdir/link/rename/unlink/rmdir by (parent, name) with the
 * owner given and the setgid-directory rule, setattr of several
 * attributes, open/opendir by inode, stable ino and generation across a
 * remount, names refused as the path calls refuse them, unmount -EBUSY
 * while an inode is held.
 */
#include <sys/sysmacros.h>

#include "fs_util.h"

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	struct udax_inode *root, *d, *f, *x, *g;
	struct udax_cred own = { 1000, 100 };
	struct udax_statfs s0, s1;
	struct udax_stat st, st2;
	struct udax_dirent e;
	struct udax_file *fh;
	struct udax_dir *dh;
	char buf[16], name[300];
	uint32_t f_ino, f_gen;
	int n, r;

	FS_OK(udax_iget_root(fs, &root));
	FS_OK(udax_getattr(root, &st));
	T_ASSERT(st.ino == UDAX_ROOT_INO && S_ISDIR(st.mode));

	/* mkdir_at: owner, parent's nlink; lookup finds it with its gen */
	FS_OK(udax_mkdir_at(fs, root, "d", 0750, &own, &d, &st));
	T_ASSERT(S_ISDIR(st.mode) && (st.mode & 07777) == 0750);
	T_ASSERT(st.uid == 1000 && st.gid == 100 && st.nlink == 2);
	FS_OK(udax_lookup(fs, root, "d", &x, &st2));
	T_ASSERT(x == d && st2.ino == st.ino && st2.gen == st.gen);
	FS_OK(udax_iput(&x));
	T_ASSERT(x == NULL);
	FS_OK(udax_getattr(root, &st));
	T_ASSERT(st.nlink == 3);
	FS_ERR(udax_mkdir_at(fs, root, "d", 0755, NULL, NULL, NULL), -EEXIST);
	FS_ERR(udax_mkdir_at(fs, root, ".", 0755, NULL, NULL, NULL), -EEXIST);

	/* create_at: a file owned by @own, written and read back */
	FS_OK(udax_create_at(fs, d, "f", O_RDWR | O_EXCL, 0640, &own, &f, &fh, &st));
	T_ASSERT(S_ISREG(st.mode) && (st.mode & 07777) == 0640);
	T_ASSERT(st.uid == 1000 && st.gid == 100 && st.nlink == 1);
	f_ino = st.ino;
	f_gen = st.gen;
	T_ASSERT(udax_pwrite(fh, "hello", 5, 0) == 5);
	FS_OK(udax_close(&fh));
	FS_ERR(udax_create_at(fs, d, "f", O_RDWR | O_EXCL, 0640, NULL, NULL, &fh, NULL),
	       -EEXIST);
	FS_ERR(udax_create_at(fs, root, "d", O_RDWR, 0640, NULL, NULL, &fh, NULL),
	       -EISDIR);
	/* without O_EXCL an existing file is opened (and not re-owned) */
	FS_OK(udax_create_at(fs, d, "f", O_RDONLY, 0600, NULL, NULL, &fh, &st));
	T_ASSERT(st.ino == f_ino && st.uid == 1000 && (st.mode & 07777) == 0640);
	FS_OK(udax_close(&fh));
	FS_OK(udax_open_inode(fs, f, O_RDONLY, &fh));
	T_ASSERT(udax_pread(fh, buf, sizeof(buf), 0) == 5 && !memcmp(buf, "hello", 5));
	FS_OK(udax_close(&fh));
	FS_ERR(udax_open_inode(fs, f, O_RDWR | O_CREAT, &fh), -EINVAL);
	FS_ERR(udax_open_inode(fs, d, O_RDWR, &fh), -EISDIR);
	FS_ERR(udax_opendir_inode(fs, f, 0, &dh), -ENOTDIR);
	FS_ERR(udax_opendir_inode(fs, d, 1u << 9, &dh), -EINVAL);

	/* names: one component, as the path calls check them */
	FS_ERR(udax_lookup(fs, root, "d/f", &x, NULL), -EINVAL);
	FS_ERR(udax_lookup(fs, root, "", &x, NULL), -ENOENT);
	FS_ERR(udax_lookup(fs, root, "nope", &x, NULL), -ENOENT);
	FS_ERR(udax_lookup(fs, f, "x", &x, NULL), -ENOTDIR);
	memset(name, 'n', 256);
	name[256] = 0;
	FS_ERR(udax_lookup(fs, root, name, &x, NULL), -ENAMETOOLONG);
	FS_OK(udax_lookup(fs, d, "..", &x, NULL));
	T_ASSERT(x == root);
	FS_OK(udax_iput(&x));
	FS_OK(udax_lookup(fs, d, ".", &x, NULL));
	T_ASSERT(x == d);
	FS_OK(udax_iput(&x));

	/* setattr: mode, owner and times together, then a size */
	{
		struct udax_setattr a = {
			.mask = UDAX_SETATTR_MODE | UDAX_SETATTR_UID | UDAX_SETATTR_GID |
				 UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME,
			.mode = 0604, .uid = 7, .gid = 8,
			.atime = { 1000, 5 }, .mtime = { 2000, 7 },
		};

		FS_OK(udax_setattr_inode(fs, f, &a, &st));
		T_ASSERT((st.mode & 07777) == 0604 && S_ISREG(st.mode));
		T_ASSERT(st.uid == 7 && st.gid == 8);
		T_ASSERT(st.atime.tv_sec == 1000 && st.atime.tv_nsec == 5);
		T_ASSERT(st.mtime.tv_sec == 2000 && st.mtime.tv_nsec == 7);
		T_ASSERT(st.ctime.tv_sec > 2000);
		a.mask = UDAX_SETATTR_SIZE;
		a.size = 3;
		FS_OK(udax_setattr_inode(fs, f, &a, &st));
		T_ASSERT(st.size == 3 && st.uid == 7);
		a.size = 10000;
		FS_OK(udax_setattr_inode(fs, f, &a, &st));
		T_ASSERT(st.size == 10000);
		FS_ERR(udax_setattr_inode(fs, d, &a, NULL), -EISDIR);
		a.mask = UDAX_SETATTR_MTIME;
		a.mtime.tv_nsec = 1000000000;
		FS_ERR(udax_setattr_inode(fs, f, &a, NULL), -EINVAL);
		a.mask = 1u << 20;
		FS_ERR(udax_setattr_inode(fs, f, &a, NULL), -EINVAL);
		/* the path call sees the same inode */
		FS_OK(udax_stat(fs, "/d/f", &st2));
		T_ASSERT(st2.ino == f_ino && st2.size == 10000 && st2.uid == 7);
	}

	/* setgid directory: the group is the directory's, subdirs inherit */
	{
		struct udax_setattr a = { .mask = UDAX_SETATTR_MODE, .mode = 02775 };

		FS_OK(udax_setattr_inode(fs, d, &a, NULL));
		FS_OK(udax_mkdir_at(fs, d, "sg", 0755, &own, &x, &st));
		T_ASSERT(st.gid == 100 && (st.mode & S_ISGID) && st.uid == 1000);
		FS_OK(udax_iput(&x));
		own.gid = 555;
		FS_OK(udax_create_at(fs, d, "g", O_WRONLY, 0644, &own, &g, &fh, &st));
		T_ASSERT(st.gid == 100 && !(st.mode & S_ISGID));
		FS_OK(udax_close(&fh));
		FS_OK(udax_rmdir_at(fs, d, "sg"));
	}

	/* symlink_at, readlink_inode; lookup does not follow */
	FS_OK(udax_symlink_at(fs, root, "l", "d/f", &own, &x, &st));
	T_ASSERT(S_ISLNK(st.mode) && st.size == 3 && st.uid == 1000);
	T_ASSERT(udax_readlink_inode(x, buf, sizeof(buf)) == 3 && !memcmp(buf, "d/f", 3));
	T_ASSERT(udax_readlink_inode(x, NULL, 0) == 0);	/* no room asked for */
	FS_ERR(udax_open_inode(fs, x, O_RDONLY, &fh), -ELOOP);
	FS_ERR(udax_readlink_inode(f, buf, sizeof(buf)), -EINVAL);
	FS_OK(udax_iput(&x));
	FS_OK(udax_lookup(fs, root, "l", &x, &st));
	T_ASSERT(S_ISLNK(st.mode));
	FS_OK(udax_iput(&x));
	FS_ERR(udax_symlink_at(fs, root, "l", "x", NULL, NULL, NULL), -EEXIST);
	FS_ERR(udax_symlink_at(fs, root, "l2", "", NULL, NULL, NULL), -ENOENT);
	/* create_at on a symbolic link's name does not follow it */
	FS_ERR(udax_create_at(fs, root, "l", O_RDWR, 0644, NULL, NULL, &fh, NULL), -ELOOP);
	FS_OK(udax_stat(fs, "/l", &st2));
	T_ASSERT(st2.ino == f_ino);
	FS_OK(udax_unlink_at(fs, root, "l"));

	/* link_at and rename_at: the held inodes follow their files */
	FS_OK(udax_link_at(fs, f, root, "f2", &st));
	T_ASSERT(st.nlink == 2 && st.ino == f_ino);
	FS_ERR(udax_link_at(fs, d, root, "d2", NULL), -EPERM);
	FS_ERR(udax_link_at(fs, f, root, "f2", NULL), -EEXIST);
	FS_OK(udax_rename_at(fs, d, "f", root, "f3", 0));
	FS_ERR(udax_lookup(fs, d, "f", &x, NULL), -ENOENT);
	FS_OK(udax_lookup(fs, root, "f3", &x, &st));
	T_ASSERT(x == f && st.ino == f_ino);
	FS_OK(udax_iput(&x));
	FS_ERR(udax_rename_at(fs, root, "f3", root, "f2", UDAX_RENAME_NOREPLACE),
	       -EEXIST);
	FS_ERR(udax_rename_at(fs, root, "f3", root, "f2", 1u << 7), -EINVAL);
	FS_ERR(udax_rename_at(fs, root, "d", d, "in", 0), -EINVAL);
	FS_OK(udax_stat(fs, "/f3", &st));
	T_ASSERT(st.ino == f_ino);

	/* readdir by inode */
	FS_OK(udax_opendir_inode(fs, d, UDAX_OPENDIR_DOTS, &dh));
	n = 0;
	while ((r = udax_readdir(dh, &e)) == 1) {
		T_ASSERT(!strcmp(e.name, n == 0 ? "." : n == 1 ? ".." : "g"));
		n++;
	}
	FS_OK(r);
	T_ASSERT(n == 3);
	FS_OK(udax_closedir(&dh));

	/* mknod_at: a FIFO and a device, owned by the caller */
	FS_OK(udax_mknod_at(fs, root, "fifo", S_IFIFO | 0640, 0, &own, &x, &st));
	T_ASSERT(S_ISFIFO(st.mode) && st.uid == 1000 && (st.mode & 07777) == 0640);
	FS_ERR(udax_open_inode(fs, x, O_RDONLY, &fh), -ENXIO);
	FS_OK(udax_iput(&x));
	FS_OK(udax_mknod_at(fs, root, "blk", S_IFBLK | 0600, makedev(8, 1), NULL, NULL, &st));
	T_ASSERT(S_ISBLK(st.mode) && st.rdev == makedev(8, 1));
	FS_ERR(udax_mknod_at(fs, root, "blk", S_IFIFO | 0600, 0, NULL, NULL, NULL), -EEXIST);
	FS_ERR(udax_mknod_at(fs, root, "dd", S_IFDIR | 0600, 0, NULL, NULL, NULL), -EINVAL);
	/* rename_at with RENAME_EXCHANGE swaps them */
	FS_OK(udax_rename_at(fs, root, "fifo", root, "blk", UDAX_RENAME_EXCHANGE));
	FS_OK(udax_lookup(fs, root, "fifo", &x, &st));
	T_ASSERT(S_ISBLK(st.mode));
	FS_OK(udax_iput(&x));
	FS_OK(udax_unlink_at(fs, root, "fifo"));
	FS_OK(udax_unlink_at(fs, root, "blk"));

	/* unmount refuses while inodes are held */
	FS_ERR(udax_unmount(&fs), -EBUSY);

	/* unlink of a held inode: an orphan until its last put */
	FS_OK(udax_statfs(fs, &s0));
	FS_OK(udax_unlink_at(fs, root, "f2"));
	FS_OK(udax_unlink_at(fs, root, "f3"));
	FS_ERR(udax_unlink_at(fs, root, "f3"), -ENOENT);
	FS_OK(udax_getattr(f, &st));
	T_ASSERT(st.nlink == 0 && st.size == 10000);
	FS_OK(udax_open_inode(fs, f, O_RDONLY, &fh));
	T_ASSERT(udax_pread(fh, buf, 3, 0) == 3 && !memcmp(buf, "hel", 3));
	FS_OK(udax_iput(&f));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free);	/* the file holds it */
	FS_OK(udax_close(&fh));
	FS_OK(udax_statfs(fs, &s1));
	T_ASSERT(s1.inodes_free == s0.inodes_free + 1);

	/* a removed directory held: lookups and creates in it fail */
	FS_ERR(udax_rmdir_at(fs, root, "d"), -ENOTEMPTY);
	FS_ERR(udax_rmdir_at(fs, d, "g"), -ENOTDIR);
	FS_ERR(udax_unlink_at(fs, root, "d"), -EISDIR);
	FS_OK(udax_unlink_at(fs, d, "g"));
	FS_OK(udax_iput(&g));
	FS_OK(udax_rmdir_at(fs, root, "d"));
	FS_ERR(udax_lookup(fs, d, "g", &x, NULL), -ENOENT);
	FS_ERR(udax_create_at(fs, d, "h", O_RDWR, 0644, NULL, NULL, &fh, NULL), -ENOENT);
	FS_ERR(udax_mkdir_at(fs, d, "h", 0755, NULL, NULL, NULL), -ENOENT);
	FS_OK(udax_iput(&d));

	/* ino and generation survive a remount */
	FS_OK(udax_create_at(fs, root, "keep", O_WRONLY, 0644, NULL, &f, &fh, &st));
	FS_OK(udax_close(&fh));
	f_ino = st.ino;
	f_gen = st.gen;
	FS_OK(udax_iput(&f));
	FS_OK(udax_iput(&root));
	t_fs_remount(dev, &fs);
	FS_OK(udax_iget_root(fs, &root));
	FS_OK(udax_lookup(fs, root, "keep", &f, &st));
	T_ASSERT(st.ino == f_ino && st.gen == f_gen);
	FS_OK(udax_stat(fs, "/keep", &st2));
	T_ASSERT(st2.gen == f_gen);
	/* a reused inode number gets a new generation */
	FS_OK(udax_iput(&f));
	FS_OK(udax_unlink_at(fs, root, "keep"));
	FS_OK(udax_create_at(fs, root, "new", O_WRONLY, 0644, NULL, NULL, &fh, &st));
	FS_OK(udax_close(&fh));
	T_ASSERT(st.ino != f_ino || st.gen != f_gen);
	FS_OK(udax_iput(&root));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
