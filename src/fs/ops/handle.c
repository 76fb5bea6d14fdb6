/* SPDX-License-Identifier: MIT */
/*
 * fs: the inode-handle calls (include/udax/fs.h, "inode handles").
 *
 * A struct udax_inode is an in-memory inode seen from outside: a held
 * inode is one inode-cache reference, so it stays in the cache with its
 * number and generation, and an unlinked one stays an orphan until the
 * last reference goes (fs_iput frees it then).  The namespace calls name
 * (parent inode, one component) and go straight to dir.c's fs_nd_*
 * operations under ns_lock, as the path calls do after their walk.
 *
 * A parent may have been removed while held: its blocks are gone, so
 * every call refuses a parent with no links before looking into it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/core.h"

static struct fs_inode *I(struct udax_inode *ino)
{
	return (struct fs_inode *)ino;
}

static struct udax_inode *U(struct fs_inode *i)
{
	return (struct udax_inode *)i;
}

/* The common checks; @wr: the call modifies the file system. */
static int hcheck(struct udax_fs *fs, struct udax_inode *ino, const char *fn,
		  bool wr)
{
	if (!fs || !ino)
		return fs_error(-EINVAL, "%s: no file system or inode", fn);
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, fn);
	if (I(ino)->fs != fs)
		return fs_error(-EINVAL, "%s: inode of another file system", fn);
	return wr ? fs_check_rw(fs) : 0;
}

/* @name as one component; its length in *@len. */
static int name_valid(const char *name, size_t *len)
{
	if (!name)
		return fs_error(-EINVAL, "no name");
	*len = strlen(name);
	if (!*len)
		return fs_error(-ENOENT, "empty name");
	if (memchr(name, '/', *len))
		return fs_error(-EINVAL, "name \"%s\" has a '/'", name);
	if (*len > UDAX_NAME_MAX)
		return fs_error(-ENAMETOOLONG, "name too long");
	return 0;
}

/* @name as one component of directory @dir (ns_lock held, or @dir's
 * lock: @dir's nlink is stable); its length in *@len. */
static int name_check(struct fs_inode *dir, const char *name, size_t *len)
{
	int ret = name_valid(name, len);

	if (ret)
		return ret;
	if (!S_ISDIR(dir->mode))
		return fs_error(-ENOTDIR, "parent is not a directory");
	if (!dir->nlink)
		return fs_error(-ENOENT, "directory was removed");
	return 0;
}

static void fill(struct fs_inode *i, struct udax_stat *st)
{
	if (!st)
		return;
	pthread_rwlock_rdlock(&i->lock);
	fs_inode_fill(i, st);
	pthread_rwlock_unlock(&i->lock);
}

/* A new inode @i (held) to the caller: its attributes in @st, the hold in
 * @out, or dropped when @out is NULL. */
static int hand_out(struct fs_inode *i, struct udax_stat *st,
		    struct udax_inode **out)
{
	fill(i, st);
	if (out)
		*out = U(i);
	else
		fs_iput(i);
	return 0;
}

int udax_iget_root(struct udax_fs *fs, struct udax_inode **out)
{
	struct fs_inode *i;
	int ret;

	if (!fs || !out)
		return fs_error(-EINVAL, "iget_root: bad argument");
	*out = NULL;
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "iget_root");
	ret = fs_iget(fs, UDAX_ROOT_INO, &i);
	if (!ret)
		*out = U(i);
	return ret;
}

int udax_iget(struct udax_fs *fs, uint64_t ino, uint64_t gen,
	      struct udax_inode **out, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	int ret;

	if (!fs || !out)
		return fs_error(-EINVAL, "iget: bad argument");
	*out = NULL;
	if (gen > UDAX_GEN_ANY)
		return fs_error(-EINVAL, "iget: generation %llu out of range",
				(unsigned long long)gen);
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "iget");
	fs_ns_lock(fs);
	ret = fs_iget_handle(fs, ino, (uint32_t)gen, gen == UDAX_GEN_ANY, &i);
	fs_ns_unlock(fs);
	if (ret)
		return ret;
	fill(i, st);
	*out = U(i);
	return 0;
}

int udax_lookup(struct udax_fs *fs, struct udax_inode *parent, const char *name,
		struct udax_inode **out, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	size_t len;
	int ret;

	if (!out)
		return fs_error(-EINVAL, "lookup: no result");
	*out = NULL;
	ret = hcheck(fs, parent, "lookup", false);
	if (ret)
		return ret;
	ret = name_valid(name, &len);
	if (ret)
		return ret;
	/* What is in memory: beside directory writers (nslock.c), as a
	 * stat by path.  No look at the parent's mode or link count there:
	 * a mkdir in it changes the count under its lock, and an index
	 * means a directory in use. */
	if (fs_ns_trylock_beside(fs, FS_NS_READER_SPINS)) {
		bool done = fs_at_lookup_beside(fs, I(parent), name, len, &i, &ret);

		fs_ns_unlock_beside(fs);
		if (done && ret)
			return ret;
		if (done)
			goto found;
		fs_iput(i);	/* the directory changed meanwhile */
		i = NULL;
	}
	/* Otherwise beside the writers of directories (fs_walk_begin): the
	 * parent's link count and mode read under its lock, the lookup
	 * under it too (dir.c); no rmdir or rename of a directory runs
	 * meanwhile. */
	fs_walk_begin(fs);
	pthread_rwlock_rdlock(&I(parent)->lock);
	ret = name_check(I(parent), name, &len);
	pthread_rwlock_unlock(&I(parent)->lock);
	if (!ret)
		ret = fs_at_lookup(fs, I(parent), name, len, &i);
	fs_walk_end(fs);
	if (ret)
		return ret;
found:
	fill(i, st);
	*out = U(i);
	return 0;
}

int udax_iput(struct udax_inode **ino)
{
	struct fs_inode *i;

	if (!ino || !*ino)
		return 0;
	i = I(*ino);
	*ino = NULL;
	if (fork_inherited(i->fs->fork_gen))
		return fs_err_inherited(i->fs, "iput");
	return fs_iput(i);
}

int udax_getattr(struct udax_inode *ino, struct udax_stat *st)
{
	if (!ino || !st)
		return fs_error(-EINVAL, "getattr: bad argument");
	if (fork_inherited(I(ino)->fs->fork_gen))
		return fs_err_inherited(I(ino)->fs, "getattr");
	fill(I(ino), st);
	return 0;
}

int udax_setattr_inode(struct udax_fs *fs, struct udax_inode *ino,
		       const struct udax_setattr *sa, struct udax_stat *st)
{
	int ret;

	if (!sa)
		return fs_error(-EINVAL, "setattr: no attributes");
	ret = hcheck(fs, ino, "setattr", false);
	if (ret)
		return ret;
	if (sa->mask & ~(UDAX_SETATTR_MODE | UDAX_SETATTR_UID | UDAX_SETATTR_GID |
			 UDAX_SETATTR_SIZE | UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME |
			 UDAX_SETATTR_CTIME | UDAX_SETATTR_NOFOLLOW))
		return fs_error(-EINVAL, "setattr: unknown mask bits 0x%x", sa->mask);
	ret = fs_setattr_inode(fs, I(ino), sa);
	if (!ret)
		fill(I(ino), st);
	return ret;
}

ssize_t udax_readlink_inode(struct udax_inode *ino, char *buf, size_t size)
{
	struct fs_inode *i = I(ino);
	ssize_t ret;

	if (!ino || (!buf && size))
		return fs_error(-EINVAL, "readlink: bad argument");
	if (fork_inherited(i->fs->fork_gen))
		return fs_err_inherited(i->fs, "readlink");
	/* The target never changes while the inode lives: no lock. */
	if (!S_ISLNK(i->mode))
		return fs_error(-EINVAL, "readlink: not a symbolic link");
	if (!i->symlink)
		return fs_error(-EUCLEAN, "inode %u: symbolic link without a target",
				i->ino);
	ret = (ssize_t)(i->size < size ? i->size : size);
	if (ret)	/* @buf may be NULL when @size is 0 */
		memcpy(buf, i->symlink, (size_t)ret);
	return ret;
}

int udax_open_inode(struct udax_fs *fs, struct udax_inode *ino, int flags,
		    struct udax_file **out)
{
	struct udax_file *f;
	int ret;

	if (!out)
		return fs_error(-EINVAL, "open: no result");
	*out = NULL;
	ret = hcheck(fs, ino, "open", false);
	if (ret)
		return ret;
	if (flags & O_CREAT)
		return fs_error(-EINVAL, "open_inode: O_CREAT (udax_create_at creates)");
	if (S_ISLNK(I(ino)->mode))
		return fs_error(-ELOOP, "open: a symbolic link");
	ret = fs_open_check(fs, flags);
	if (ret)
		return ret;
	f = fault_calloc(1, sizeof(*f));
	if (!f)
		return fs_error(-ENOMEM, "open: no memory for a handle");
	fs_inode_hold(I(ino));
	ret = fs_open_finish(fs, I(ino), flags, false, f);
	if (ret) {
		fs_iput(I(ino));
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

int udax_opendir_inode(struct udax_fs *fs, struct udax_inode *ino,
		       unsigned flags, struct udax_dir **out)
{
	int ret;

	if (!out)
		return fs_error(-EINVAL, "opendir: no result");
	*out = NULL;
	ret = hcheck(fs, ino, "opendir", false);
	if (ret)
		return ret;
	if (flags & ~UDAX_OPENDIR_DOTS)
		return fs_error(-EINVAL, "opendir: unknown flags 0x%x", flags);
	fs_inode_hold(I(ino));
	ret = fs_opendir_inode(fs, I(ino), flags, out);
	if (ret)
		fs_iput(I(ino));
	return ret;
}

int udax_create_at(struct udax_fs *fs, struct udax_inode *parent,
		   const char *name, int flags, mode_t mode,
		   const struct udax_cred *cred, struct udax_inode **out,
		   struct udax_file **file, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	struct udax_file *f;
	bool created;
	size_t len;
	int ret;

	if (out)
		*out = NULL;
	if (!file)
		return fs_error(-EINVAL, "create: no result");
	*file = NULL;
	ret = hcheck(fs, parent, "create", true);
	if (ret)
		return ret;
	flags |= O_CREAT;
	ret = fs_open_check(fs, flags);
	if (ret)
		return ret;
	/* The handle first: a create must not commit and then fail. */
	f = fault_calloc(1, sizeof(*f));
	if (!f)
		return fs_error(-ENOMEM, "create: no memory for a handle");
	fs_dw_begin_at(fs, I(parent));
	ret = name_check(I(parent), name, &len);
	if (!ret && (!strcmp(name, ".") || !strcmp(name, "..")))
		ret = fs_error(-EEXIST, "file exists");
	/* The name itself: a symbolic link there is not followed. */
	if (!ret)
		ret = fs_at_open(fs, I(parent), name, len, flags | O_NOFOLLOW,
				 mode, cred, &i, &created);
	fs_dw_end_at(fs, I(parent));
	if (!ret) {
		ret = fs_open_finish(fs, i, flags, created, f);
		if (ret)
			fs_iput(i);
	}
	if (ret) {
		free(f);
		return ret;
	}
	fill(i, st);
	if (out) {
		fs_inode_hold(i);
		*out = U(i);
	}
	*file = f;
	return 0;
}

int udax_mkdir_at(struct udax_fs *fs, struct udax_inode *parent,
		  const char *name, mode_t mode, const struct udax_cred *cred,
		  struct udax_inode **out, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	size_t len;
	int ret;

	if (out)
		*out = NULL;
	ret = hcheck(fs, parent, "mkdir", true);
	if (ret)
		return ret;
	fs_dw_begin_at(fs, I(parent));
	ret = name_check(I(parent), name, &len);
	if (!ret)
		ret = fs_at_mkdir(fs, I(parent), name, len, mode, cred, &i);
	fs_dw_end_at(fs, I(parent));
	if (ret)
		return ret;
	return hand_out(i, st, out);
}

int udax_symlink_at(struct udax_fs *fs, struct udax_inode *parent,
		    const char *name, const char *target,
		    const struct udax_cred *cred, struct udax_inode **out,
		    struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	size_t len;
	int ret;

	if (out)
		*out = NULL;
	if (!target)
		return fs_error(-EINVAL, "symlink: no target");
	ret = hcheck(fs, parent, "symlink", true);
	if (ret)
		return ret;
	fs_dw_begin_at(fs, I(parent));
	ret = name_check(I(parent), name, &len);
	if (!ret)
		ret = fs_at_symlink(fs, I(parent), name, len, target, cred, &i);
	fs_dw_end_at(fs, I(parent));
	if (ret)
		return ret;
	return hand_out(i, st, out);
}

int udax_mknod_at(struct udax_fs *fs, struct udax_inode *parent,
		  const char *name, mode_t mode, dev_t rdev,
		  const struct udax_cred *cred, struct udax_inode **out,
		  struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	size_t len;
	int ret;

	if (out)
		*out = NULL;
	ret = hcheck(fs, parent, "mknod", true);
	if (ret)
		return ret;
	fs_dw_begin_at(fs, I(parent));
	ret = name_check(I(parent), name, &len);
	if (!ret)
		ret = fs_at_mknod(fs, I(parent), name, len, mode, rdev, cred, &i);
	fs_dw_end_at(fs, I(parent));
	if (ret)
		return ret;
	return hand_out(i, st, out);
}

static int remove_at(struct udax_fs *fs, struct udax_inode *parent,
		     const char *name, bool isdir)
{
	struct fs_inode *victim = NULL;
	size_t len;
	int ret;

	ret = hcheck(fs, parent, isdir ? "rmdir" : "unlink", true);
	if (ret)
		return ret;
	/* A directory: as the writer of it and of the parent (the name
	 * checked under the parent's lock first), else exclusively. */
	if (isdir) {
		fs_dw_begin_at(fs, I(parent));
		ret = name_check(I(parent), name, &len);
		fs_dw_end_at(fs, I(parent));
		if (ret)
			return ret;
		ret = fs_dw_rmdir_at(fs, I(parent), name, len, &victim);
		if (ret <= 0) {
			fs_iput(victim);
			return ret;
		}
	}
	/* A file: as a directory's writer. */
	if (isdir)
		fs_ns_lock(fs);
	else
		fs_dw_begin_at(fs, I(parent));
	ret = name_check(I(parent), name, &len);
	if (!ret)
		ret = fs_at_remove(fs, I(parent), name, len, isdir, NULL, &victim);
	if (isdir)
		fs_ns_unlock(fs);
	else
		fs_dw_end_at(fs, I(parent));
	fs_iput(victim);	/* last reference of an orphan: frees it */
	return ret;
}

int udax_unlink_at(struct udax_fs *fs, struct udax_inode *parent,
		   const char *name)
{
	return remove_at(fs, parent, name, false);
}

int udax_rmdir_at(struct udax_fs *fs, struct udax_inode *parent,
		  const char *name)
{
	return remove_at(fs, parent, name, true);
}

int udax_rename_at(struct udax_fs *fs, struct udax_inode *oldparent,
		   const char *oldname, struct udax_inode *newparent,
		   const char *newname, unsigned flags)
{
	struct fs_inode *src = NULL, *tgt = NULL;
	size_t olen, nlen;
	int ret;

	ret = hcheck(fs, oldparent, "rename", true);
	if (!ret)
		ret = hcheck(fs, newparent, "rename", true);
	if (ret)
		return ret;
	if (flags & ~(UDAX_RENAME_NOREPLACE | UDAX_RENAME_EXCHANGE))
		return fs_error(-EINVAL, "rename: unknown flags");
	if ((flags & UDAX_RENAME_NOREPLACE) && (flags & UDAX_RENAME_EXCHANGE))
		return fs_error(-EINVAL, "rename: NOREPLACE with EXCHANGE");
	/* A file: as the writer of both directories (dir.c's dw_rename);
	 * a directory as either name: exclusively. */
	fs_dw_begin_pair_at(fs, I(oldparent), I(newparent));
	ret = name_check(I(oldparent), oldname, &olen);
	if (!ret)
		ret = name_check(I(newparent), newname, &nlen);
	if (!ret) {
		int a = fs_at_is_dir(fs, I(oldparent), oldname, olen);
		int b = a < 0 ? 0 : fs_at_is_dir(fs, I(newparent), newname, nlen);

		if (a < 0 || b < 0)
			ret = a < 0 ? a : b;
		else if (!a && !b)
			ret = fs_at_rename(fs, I(oldparent), oldname, olen,
					   I(newparent), newname, nlen, flags,
					   &src, &tgt);
		else
			ret = 1;
	}
	fs_dw_end_pair_at(fs, I(oldparent), I(newparent));
	if (ret <= 0) {
		fs_iput(src);
		fs_iput(tgt);
		return ret;
	}
	fs_ns_lock(fs);
	ret = name_check(I(oldparent), oldname, &olen);
	if (!ret)
		ret = name_check(I(newparent), newname, &nlen);
	if (!ret)
		ret = fs_at_rename(fs, I(oldparent), oldname, olen, I(newparent),
				   newname, nlen, flags, &src, &tgt);
	fs_ns_unlock(fs);
	fs_iput(src);
	fs_iput(tgt);
	return ret;
}

int udax_link_at(struct udax_fs *fs, struct udax_inode *ino,
		 struct udax_inode *newparent, const char *newname,
		 struct udax_stat *st)
{
	size_t len;
	int ret;

	ret = hcheck(fs, ino, "link", true);
	if (!ret)
		ret = hcheck(fs, newparent, "link", true);
	if (ret)
		return ret;
	/* As the writer of @newparent: the link count changes under the
	 * inode's lock (dir.c's nd_link). */
	fs_dw_begin_at(fs, I(newparent));
	ret = name_check(I(newparent), newname, &len);
	if (!ret)
		ret = fs_at_link(fs, I(ino), I(newparent), newname, len);
	fs_dw_end_at(fs, I(newparent));
	if (!ret)
		fill(I(ino), st);
	return ret;
}
