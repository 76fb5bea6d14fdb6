/* SPDX-License-Identifier: MIT */
/*
 * POSIX ACLs kept as a kernel file system keeps them: a malformed ACL is
 * -EINVAL (another version -EOPNOTSUPP); setting an access ACL sets the
 * mode's permission bits from it (owner, mask, other); one the mode says
 * whole is not stored; chmod rewrites the stored ACL; a default ACL is
 * for directories only; a new file takes its directory's default ACL as
 * its access ACL, masked by the requested mode, and a new directory also
 * keeps it as its default; a symbolic link takes none;
 * UDAX_XATTR_ACL_KILL_SGID drops S_ISGID; all of it across a remount.
 */
#include <sys/xattr.h>

#include "fs_util.h"

#define UOBJ	0x01
#define USER	0x02
#define GOBJ	0x04
#define GROUP	0x08
#define MASK	0x10
#define OTHER	0x20

struct ent {
	uint16_t tag, perm;
	uint32_t id;
};

/* ACL @e[0..n) in xattr form into @buf; its size. */
static size_t acl(uint8_t *buf, const struct ent *e, int n)
{
	uint32_t v = 2;

	memcpy(buf, &v, 4);
	for (int k = 0; k < n; k++)
		memcpy(buf + 4 + 8 * k, &e[k], 8);
	return 4 + 8 * (size_t)n;
}

/* The perm of the entry tagged @tag in @path's ACL @name, -1 if none. */
static int perm_of(struct udax_fs *fs, const char *path, const char *name,
		   uint16_t tag)
{
	uint8_t buf[256];
	ssize_t n = udax_getxattr(fs, path, name, buf, sizeof(buf));

	if (n == -ENODATA)
		return -1;
	T_ASSERT(n >= 4 && (n - 4) % 8 == 0);
	for (ssize_t off = 4; off < n; off += 8) {
		struct ent e;

		memcpy(&e, buf + off, 8);
		if (e.tag == tag)
			return e.perm;
	}
	return -1;
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_fs *fs = t_fs_new("mem:64M", &dev);
	const char *A = "system.posix_acl_access", *D = "system.posix_acl_default";
	const struct ent full[] = {
		{ UOBJ, 6, 0 }, { USER, 4, 1000 }, { GOBJ, 4, 0 },
		{ MASK, 5, 0 }, { OTHER, 1, 0 },
	};
	const struct ent base[] = { { UOBJ, 7, 0 }, { GOBJ, 5, 0 }, { OTHER, 0, 0 } };
	const struct ent dflt[] = {
		{ UOBJ, 7, 0 }, { USER, 7, 1000 }, { GOBJ, 5, 0 },
		{ MASK, 7, 0 }, { OTHER, 5, 0 },
	};
	const struct ent no_mask[] = {
		{ UOBJ, 6, 0 }, { USER, 4, 1000 }, { GOBJ, 4, 0 }, { OTHER, 0, 0 },
	};
	const struct ent order[] = { { GOBJ, 4, 0 }, { UOBJ, 6, 0 }, { OTHER, 0, 0 } };
	const struct ent badperm[] = { { UOBJ, 8, 0 }, { GOBJ, 4, 0 }, { OTHER, 0, 0 } };
	uint8_t buf[256];
	struct udax_file *f;
	size_t n;

	FS_OK(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f));
	FS_OK(udax_close(&f));
	FS_OK(udax_mkdir(fs, "/d", 0755));

	/* malformed */
	FS_ERR(udax_setxattr(fs, "/f", A, buf, acl(buf, no_mask, 4), 0), -EINVAL);
	FS_ERR(udax_setxattr(fs, "/f", A, buf, acl(buf, order, 3), 0), -EINVAL);
	FS_ERR(udax_setxattr(fs, "/f", A, buf, acl(buf, badperm, 3), 0), -EINVAL);
	FS_ERR(udax_setxattr(fs, "/f", A, buf, acl(buf, base, 3) - 3, 0), -EINVAL);
	FS_ERR(udax_setxattr(fs, "/f", A, "ab", 2, 0), -EINVAL);
	n = acl(buf, base, 3);
	buf[0] = 1;
	FS_ERR(udax_setxattr(fs, "/f", A, buf, n, 0), -EOPNOTSUPP);
	T_ASSERT(t_mode_of(fs, "/f") == 0644);

	/* an access ACL: the mode follows (owner, mask, other) */
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, full, 5), 0));
	T_ASSERT(t_mode_of(fs, "/f") == 0651);
	T_ASSERT(perm_of(fs, "/f", A, USER) == 4);
	/* chmod rewrites it: owner, mask (not the owning group), other */
	FS_OK(udax_chmod(fs, "/f", 0710));
	T_ASSERT(perm_of(fs, "/f", A, UOBJ) == 7 && perm_of(fs, "/f", A, MASK) == 1);
	T_ASSERT(perm_of(fs, "/f", A, GOBJ) == 4 && perm_of(fs, "/f", A, OTHER) == 0);
	T_ASSERT(perm_of(fs, "/f", A, USER) == 4);
	{
		struct udax_setattr sa = { .mask = UDAX_SETATTR_MODE | UDAX_SETATTR_SIZE,
					   .mode = 0604, .size = 10 };

		FS_OK(udax_setattr(fs, "/f", &sa));
		T_ASSERT(perm_of(fs, "/f", A, UOBJ) == 6 && perm_of(fs, "/f", A, MASK) == 0);
		T_ASSERT(perm_of(fs, "/f", A, OTHER) == 4);
	}
	/* one the mode says whole: the mode, and nothing stored */
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, base, 3), 0));
	T_ASSERT(t_mode_of(fs, "/f") == 0750);
	FS_ERR(udax_getxattr(fs, "/f", A, NULL, 0), -ENODATA);
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, base, 3), 0));
	/* no entries: no ACL */
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, full, 5), 0));
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, full, 0), 0));
	FS_ERR(udax_getxattr(fs, "/f", A, NULL, 0), -ENODATA);
	T_ASSERT(t_mode_of(fs, "/f") == 0651);

	/* set-group-ID: dropped on request */
	FS_OK(udax_chmod(fs, "/f", 02750));
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, full, 5), 0));
	T_ASSERT(t_mode_of(fs, "/f") == 02651);
	FS_OK(udax_setxattr(fs, "/f", A, buf, acl(buf, full, 5),
			    UDAX_XATTR_ACL_KILL_SGID));
	T_ASSERT(t_mode_of(fs, "/f") == 0651);
	FS_ERR(udax_setxattr(fs, "/f", "user.x", "1", 1, UDAX_XATTR_ACL_KILL_SGID),
	       -EINVAL);

	/* default ACLs: directories only */
	FS_ERR(udax_setxattr(fs, "/f", D, buf, acl(buf, dflt, 5), 0), -EACCES);
	FS_OK(udax_setxattr(fs, "/d", D, buf, acl(buf, dflt, 5), 0));
	T_ASSERT(t_mode_of(fs, "/d") == 0755);

	/* inherited: a file's access ACL masked by its mode */
	FS_OK(udax_open(fs, "/d/g", O_CREAT | O_RDWR, 0640, &f));
	FS_OK(udax_close(&f));
	T_ASSERT(t_mode_of(fs, "/d/g") == 0640);	/* group bits: the mask's */
	T_ASSERT(perm_of(fs, "/d/g", A, UOBJ) == 6 && perm_of(fs, "/d/g", A, MASK) == 4);
	T_ASSERT(perm_of(fs, "/d/g", A, USER) == 7 && perm_of(fs, "/d/g", A, OTHER) == 0);
	FS_ERR(udax_getxattr(fs, "/d/g", D, NULL, 0), -ENODATA);
	/* a directory: both */
	FS_OK(udax_mkdir(fs, "/d/sub", 0777));
	T_ASSERT(t_mode_of(fs, "/d/sub") == 0775);
	T_ASSERT(perm_of(fs, "/d/sub", A, MASK) == 7);
	T_ASSERT(perm_of(fs, "/d/sub", D, USER) == 7 && perm_of(fs, "/d/sub", D, OTHER) == 5);
	/* and further down */
	FS_OK(udax_mknod(fs, "/d/sub/fifo", S_IFIFO | 0666, 0, NULL));
	T_ASSERT(perm_of(fs, "/d/sub/fifo", A, USER) == 7);
	T_ASSERT(t_mode_of(fs, "/d/sub/fifo") == 0664);
	/* a base-only default gives a mode, no access ACL */
	FS_OK(udax_setxattr(fs, "/d/sub", D, buf, acl(buf, base, 3), 0));
	FS_OK(udax_open(fs, "/d/sub/h", O_CREAT | O_RDWR, 0666, &f));
	FS_OK(udax_close(&f));
	T_ASSERT(t_mode_of(fs, "/d/sub/h") == 0640);
	FS_ERR(udax_getxattr(fs, "/d/sub/h", A, NULL, 0), -ENODATA);
	/* symbolic links take none */
	FS_OK(udax_symlink(fs, "g", "/d/l"));
	{
		struct udax_stat st;

		FS_OK(udax_lstat(fs, "/d/l", &st));
		T_ASSERT((st.mode & 0777) == 0777);
	}
	/* removal of the default: new files are as before; removing an
	 * ACL that is not there is no error (Linux) */
	FS_OK(udax_removexattr(fs, "/d", D));
	FS_OK(udax_removexattr(fs, "/d", D));
	FS_ERR(udax_removexattr(fs, "/d", "user.none"), -ENODATA);
	FS_OK(udax_open(fs, "/d/k", O_CREAT | O_RDWR, 0640, &f));
	FS_OK(udax_close(&f));
	FS_ERR(udax_getxattr(fs, "/d/k", A, NULL, 0), -ENODATA);
	T_ASSERT(t_mode_of(fs, "/d/k") == 0640);
	FS_OK(udax_removexattr(fs, "/d/k", A));
	T_ASSERT(t_mode_of(fs, "/d/k") == 0640);

	/* across a remount */
	t_fs_remount(dev, &fs);
	T_ASSERT(t_mode_of(fs, "/d/g") == 0640 && perm_of(fs, "/d/g", A, USER) == 7);
	T_ASSERT(perm_of(fs, "/d/sub", D, GOBJ) == 5);
	T_ASSERT(perm_of(fs, "/f", A, USER) == 4);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
