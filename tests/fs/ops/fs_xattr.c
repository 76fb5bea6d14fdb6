/* SPDX-License-Identifier: MIT */
/*
 * Extended attributes: set (XATTR_CREATE / XATTR_REPLACE), get, list and
 * remove on paths and open files; Linux's size-0 and -ERANGE semantics;
 * the namespaces (user. on files and directories only, trusted.,
 * security., the POSIX ACL names, others refused); the limits (name
 * length, value size, the block's room); ctime; the block allocated by the
 * first attribute and freed by the last removal or with the inode; after
 * a remount and through fsck.  By held inode (udax_setxattr_inode ...):
 * a symbolic link's own attributes, not its target's.
 */
#include <sys/xattr.h>
#include <udax/fsck.h>

#include "fs_util.h"

static void get_is(struct udax_fs *fs, const char *path, const char *name,
		   const char *want)
{
	char buf[64];
	ssize_t n = udax_getxattr(fs, path, name, buf, sizeof(buf));

	FS_OK(n);
	T_ASSERT((size_t)n == strlen(want) && !memcmp(buf, want, (size_t)n));
	T_ASSERT(udax_getxattr(fs, path, name, NULL, 0) == n);
}

static uint64_t free_blocks(struct udax_fs *fs)
{
	struct udax_statfs s;

	FS_OK(udax_statfs(fs, &s));
	return s.blocks_free;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	static char big[4096];
	struct udax_stat st0, st;
	struct udax_file *f;
	char list[256], name[300];
	uint64_t b0;
	ssize_t n;
	int k;

	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_mkdir(fs, "/d", 0755));
	FS_OK(udax_symlink(fs, "/f", "/l"));
	FS_OK(udax_mknod(fs, "/p", S_IFIFO | 0644, 0, NULL));

	/* Nothing yet. */
	T_ASSERT(udax_listxattr(fs, "/f", NULL, 0) == 0);
	FS_ERR(udax_getxattr(fs, "/f", "user.a", NULL, 0), -ENODATA);
	FS_ERR(udax_removexattr(fs, "/f", "user.a"), -ENODATA);
	FS_ERR(udax_setxattr(fs, "/f", "user.a", "1", 1, XATTR_REPLACE), -ENODATA);

	/* Set, get, create/replace, list. */
	b0 = free_blocks(fs);
	FS_OK(udax_stat(fs, "/f", &st0));
	FS_OK(udax_setxattr(fs, "/f", "user.a", "alpha", 5, XATTR_CREATE));
	T_ASSERT(free_blocks(fs) == b0 - 1);
	FS_OK(udax_stat(fs, "/f", &st));
	T_ASSERT(st.ctime.tv_sec > st0.ctime.tv_sec ||
		 (st.ctime.tv_sec == st0.ctime.tv_sec && st.ctime.tv_nsec > st0.ctime.tv_nsec));
	FS_ERR(udax_setxattr(fs, "/f", "user.a", "x", 1, XATTR_CREATE), -EEXIST);
	FS_OK(udax_setxattr(fs, "/f", "user.a", "ALPHA!", 6, XATTR_REPLACE));
	FS_OK(udax_setxattr(fs, "/f", "trusted.t", "", 0, 0));
	FS_OK(udax_fsetxattr(f, "security.selinux", "ctx", 3, 0));
	/* ACLs (fs_acl tests what they do): u::rwx,g::r-x,o::r-x as a
	 * default, u::rw-,u:1000:r--,g::r--,m::rw-,o::r-- as the access ACL */
	FS_OK(udax_setxattr(fs, "/d", "system.posix_acl_default",
			    "\2\0\0\0" "\1\0\7\0\0\0\0\0" "\4\0\5\0\0\0\0\0"
			    "\x20\0\5\0\0\0\0\0", 28, 0));
	FS_OK(udax_setxattr(fs, "/f", "system.posix_acl_access",
			    "\2\0\0\0" "\1\0\6\0\0\0\0\0" "\2\0\4\0\xe8\3\0\0"
			    "\4\0\4\0\0\0\0\0" "\x10\0\6\0\0\0\0\0"
			    "\x20\0\4\0\0\0\0\0", 44, 0));
	FS_ERR(udax_setxattr(fs, "/f", "user.b", "x", 1, 4), -EINVAL);
	T_ASSERT(free_blocks(fs) == b0 - 2);
	for (int pass = 0; pass < 2; pass++) {
		get_is(fs, "/f", "user.a", "ALPHA!");
		get_is(fs, "/l", "user.a", "ALPHA!");	/* followed */
		get_is(fs, "/f", "trusted.t", "");
		get_is(fs, "/f", "security.selinux", "ctx");
		n = udax_listxattr(fs, "/f", NULL, 0);
		T_ASSERT(n == (ssize_t)sizeof("user.a\0trusted.t\0security.selinux\0"
					     "system.posix_acl_access") );
		T_ASSERT(udax_listxattr(fs, "/f", list, sizeof(list)) == n);
		k = 0;
		for (char *p = list; p < list + n; p += strlen(p) + 1)
			k += !strcmp(p, "user.a") || !strcmp(p, "trusted.t") ||
			     !strcmp(p, "security.selinux") ||
			     !strcmp(p, "system.posix_acl_access");
		T_ASSERT(k == 4);
		FS_ERR(udax_listxattr(fs, "/f", list, (size_t)n - 1), -ERANGE);
		{
			char small[3];

			FS_ERR(udax_getxattr(fs, "/f", "user.a", small, 3), -ERANGE);
		}
		if (pass == 0) {
			FS_OK(udax_close(&f));
			t_fs_remount(dev, &fs);
			FS_OK(udax_open(fs, "/f", O_RDWR, 0, &f));
		}
	}
	T_ASSERT(udax_fgetxattr(f, "user.a", list, sizeof(list)) == 6);
	T_ASSERT(udax_flistxattr(f, NULL, 0) == n);

	/* Namespaces. */
	FS_ERR(udax_setxattr(fs, "/f", "os2.x", "1", 1, 0), -EOPNOTSUPP);
	FS_ERR(udax_setxattr(fs, "/f", "system.other", "1", 1, 0), -EOPNOTSUPP);
	FS_ERR(udax_setxattr(fs, "/f", "user.", "1", 1, 0), -EINVAL);
	FS_ERR(udax_setxattr(fs, "/p", "user.x", "1", 1, 0), -EPERM);
	FS_ERR(udax_getxattr(fs, "/p", "user.x", NULL, 0), -ENODATA);
	FS_OK(udax_setxattr(fs, "/p", "trusted.x", "1", 1, 0));
	get_is(fs, "/p", "trusted.x", "1");

	/* By held inode: the link's own, which a path never reaches. */
	{
		struct udax_inode *root, *l;
		char v[8];

		FS_OK(udax_iget_root(fs, &root));
		FS_OK(udax_lookup(fs, root, "l", &l, &st));
		T_ASSERT(S_ISLNK(st.mode));
		b0 = free_blocks(fs);
		FS_ERR(udax_setxattr_inode(fs, l, "user.l", "v", 1, 0), -EPERM);
		FS_ERR(udax_getxattr_inode(fs, l, "trusted.l", NULL, 0), -ENODATA);
		FS_OK(udax_setxattr_inode(fs, l, "trusted.l", "link", 4, XATTR_CREATE));
		T_ASSERT(free_blocks(fs) == b0 - 1);
		FS_ERR(udax_setxattr_inode(fs, l, "trusted.l", "x", 1, XATTR_CREATE),
		       -EEXIST);
		T_ASSERT(udax_getxattr_inode(fs, l, "trusted.l", v, sizeof(v)) == 4 &&
			 !memcmp(v, "link", 4));
		T_ASSERT(udax_listxattr_inode(fs, l, NULL, 0) == sizeof("trusted.l"));
		T_ASSERT(udax_listxattr_inode(fs, l, list, sizeof(list)) ==
			 sizeof("trusted.l") && !strcmp(list, "trusted.l"));
		FS_ERR(udax_getxattr(fs, "/l", "trusted.l", NULL, 0), -ENODATA);
		FS_OK(udax_setxattr_inode(fs, l, "security.s", "s", 1, 0));
		FS_OK(udax_removexattr_inode(fs, l, "security.s"));
		FS_ERR(udax_removexattr_inode(fs, l, "security.s"), -ENODATA);
		FS_ERR(udax_setxattr_inode(NULL, l, "trusted.x", "1", 1, 0), -EINVAL);
		FS_OK(udax_iput(&l));
		FS_OK(udax_iput(&root));
	}

	/* Limits. */
	memset(name, 'n', sizeof(name));
	memcpy(name, "user.", 5);
	name[256] = 0;
	FS_ERR(udax_setxattr(fs, "/d", name, "1", 1, 0), -ERANGE);
	name[255] = 0;
	FS_OK(udax_setxattr(fs, "/d", name, "1", 1, 0));
	get_is(fs, "/d", name, "1");
	FS_ERR(udax_setxattr(fs, "/d", "user.big", big, UDAX_XATTR_VALUE_MAX + 1, 0),
	       -E2BIG);
	FS_OK(udax_setxattr(fs, "/d", "user.big", big, UDAX_XATTR_VALUE_MAX, 0));
	FS_ERR(udax_setxattr(fs, "/d", "user.more", big, 1000, 0), -ENOSPC);
	T_ASSERT(udax_getxattr(fs, "/d", "user.big", NULL, 0) == UDAX_XATTR_VALUE_MAX);
	FS_ERR(udax_getxattr(fs, "/d", "user.more", NULL, 0), -ENODATA);
	/* A replace that grows past the room fails and keeps the old value. */
	FS_ERR(udax_setxattr(fs, "/d", name, big, 800, XATTR_REPLACE), -ENOSPC);
	get_is(fs, "/d", name, "1");

	/* Removal: the last frees the block; unlink frees it with the inode. */
	b0 = free_blocks(fs);
	FS_OK(udax_removexattr(fs, "/d", "user.big"));
	FS_OK(udax_removexattr(fs, "/d", name));
	T_ASSERT(free_blocks(fs) == b0);
	FS_OK(udax_removexattr(fs, "/d", "system.posix_acl_default"));
	T_ASSERT(free_blocks(fs) == b0 + 1);
	T_ASSERT(udax_listxattr(fs, "/d", NULL, 0) == 0);
	FS_OK(udax_fremovexattr(f, "trusted.t"));
	FS_ERR(udax_fremovexattr(f, "trusted.t"), -ENODATA);
	FS_OK(udax_close(&f));
	b0 = free_blocks(fs);
	FS_OK(udax_unlink(fs, "/f"));
	T_ASSERT(free_blocks(fs) == b0 + 1);
	t_fs_unmount_clean(dev, &fs);
	fs = t_fs_mount(dev);
	get_is(fs, "/p", "trusted.x", "1");
	{
		struct udax_inode *root, *l;
		char v[8];

		FS_OK(udax_iget_root(fs, &root));
		FS_OK(udax_lookup(fs, root, "l", &l, NULL));
		T_ASSERT(udax_getxattr_inode(fs, l, "trusted.l", v, sizeof(v)) == 4 &&
			 !memcmp(v, "link", 4));
		FS_OK(udax_iput(&l));
		FS_OK(udax_iput(&root));
	}
	/* the link goes with its attribute block */
	b0 = free_blocks(fs);
	FS_OK(udax_unlink(fs, "/l"));
	T_ASSERT(free_blocks(fs) == b0 + 1);
	t_fs_close_clean(&dev, &fs);
	printf("fs_xattr: ok\n");
	return 0;
}
