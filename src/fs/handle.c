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

/* @name in @dir as an fs_nd (ns_lock held: @dir's nlink is stable). */
static int nd_init(struct fs_nd *nd, struct fs_inode *dir, const char *name)
{
	size_t len;

	memset(nd, 0, sizeof(*nd));
	if (!name)
		return fs_error(-EINVAL, "no name");
	len = strlen(name);
	if (!len)
		return fs_error(-ENOENT, "empty name");
	if (memchr(name, '/', len))
		return fs_error(-EINVAL, "name \"%s\" has a '/'", name);
	if (len > UDAX_NAME_MAX)
		return fs_error(-ENAMETOOLONG, "name too long");
	if (!S_ISDIR(dir->mode))
		return fs_error(-ENOTDIR, "parent is not a directory");
	if (!dir->nlink)
		return fs_error(-ENOENT, "directory was removed");
	nd->dir = dir;
	nd->name = name;
	nd->len = len;
	nd->dot = (len == 1 && name[0] == '.') ||
		  (len == 2 && name[0] == '.' && name[1] == '.');
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

static const struct fs_owner *owner(const struct udax_owner *own,
				    struct fs_owner *o)
{
	if (!own)
		return NULL;
	o->uid = own->uid;
	o->gid = own->gid;
	return o;
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

int udax_lookup(struct udax_fs *fs, struct udax_inode *parent, const char *name,
		struct udax_inode **out, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	struct fs_nd nd;
	int ret;

	if (!out)
		return fs_error(-EINVAL, "lookup: no result");
	*out = NULL;
	ret = hcheck(fs, parent, "lookup", false);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = nd_init(&nd, I(parent), name);
	if (!ret)
		ret = fs_nd_lookup(fs, &nd, &i);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	if (ret)
		return ret;
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

#define IATTR_ALL (UDAX_IATTR_MODE | UDAX_IATTR_UID | UDAX_IATTR_GID |	\
		   UDAX_IATTR_SIZE | UDAX_IATTR_ATIME | UDAX_IATTR_MTIME)

int udax_setattr_inode(struct udax_fs *fs, struct udax_inode *ino,
		       const struct udax_iattr *a, struct udax_stat *st)
{
	struct fs_inode *i = I(ino);
	int ret;

	if (!a)
		return fs_error(-EINVAL, "setattr: no attributes");
	ret = hcheck(fs, ino, "setattr", true);
	if (ret)
		return ret;
	if (a->valid & ~IATTR_ALL || a->reserved[0] || a->reserved[1])
		return fs_error(-EINVAL, "setattr: unknown bits");
	if (a->valid & UDAX_IATTR_SIZE) {
		struct udax_file *f = NULL;

		if (S_ISDIR(i->mode))
			return fs_error(-EISDIR, "setattr: size of a directory");
		ret = udax_open_inode(fs, ino, O_WRONLY, &f);
		if (!ret)
			ret = udax_ftruncate(f, a->size);
		if (f) {
			int r = udax_close(&f);

			if (!ret)
				ret = r;
		}
		if (ret)
			return ret;
	}
	if (a->valid & ~UDAX_IATTR_SIZE) {
		pthread_mutex_lock(&C(fs)->ns_lock);
		ret = fs_setattr_locked(fs, i, a);
		pthread_mutex_unlock(&C(fs)->ns_lock);
	}
	if (!ret)
		fill(i, st);
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
		       struct udax_dir **out)
{
	int ret;

	if (!out)
		return fs_error(-EINVAL, "opendir: no result");
	*out = NULL;
	ret = hcheck(fs, ino, "opendir", false);
	if (ret)
		return ret;
	fs_inode_hold(I(ino));
	ret = fs_opendir_inode(fs, I(ino), out);
	if (ret)
		fs_iput(I(ino));
	return ret;
}

int udax_create_at(struct udax_fs *fs, struct udax_inode *parent,
		   const char *name, int flags, mode_t mode,
		   const struct udax_owner *own, struct udax_inode **out,
		   struct udax_file **file, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	struct udax_file *f;
	struct fs_owner o;
	struct fs_nd nd;
	bool created;
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
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = nd_init(&nd, I(parent), name);
	if (!ret && nd.dot)
		ret = fs_error(-EEXIST, "file exists");
	if (!ret)
		ret = fs_nd_open(fs, &nd, flags, mode, owner(own, &o), &i, &created);
	pthread_mutex_unlock(&C(fs)->ns_lock);
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
		  const char *name, mode_t mode, const struct udax_owner *own,
		  struct udax_inode **out, struct udax_stat *st)
{
	struct fs_inode *i = NULL;
	struct fs_owner o;
	struct fs_nd nd;
	int ret;

	if (out)
		*out = NULL;
	ret = hcheck(fs, parent, "mkdir", true);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = nd_init(&nd, I(parent), name);
	if (!ret)
		ret = fs_nd_mkdir(fs, &nd, mode, owner(own, &o), &i);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	if (ret)
		return ret;
	fill(i, st);
	if (out)
		*out = U(i);
	else
		fs_iput(i);
	return 0;
}

static int remove_at(struct udax_fs *fs, struct udax_inode *parent,
		     const char *name, bool isdir)
{
	struct fs_inode *victim = NULL;
	struct fs_nd nd;
	int ret;

	ret = hcheck(fs, parent, isdir ? "rmdir" : "unlink", true);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = nd_init(&nd, I(parent), name);
	if (!ret)
		ret = fs_nd_remove(fs, &nd, isdir, NULL, &victim);
	pthread_mutex_unlock(&C(fs)->ns_lock);
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
	struct fs_nd o, n;
	int ret;

	ret = hcheck(fs, oldparent, "rename", true);
	if (!ret)
		ret = hcheck(fs, newparent, "rename", true);
	if (ret)
		return ret;
	if (flags & ~UDAX_RENAME_NOREPLACE)
		return fs_error(-EINVAL, "rename: unknown flags");
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = nd_init(&o, I(oldparent), oldname);
	if (!ret)
		ret = nd_init(&n, I(newparent), newname);
	if (!ret)
		ret = fs_nd_rename(fs, &o, &n, flags, NULL, &src, &tgt);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	fs_iput(src);
	fs_iput(tgt);
	return ret;
}

int udax_link_at(struct udax_fs *fs, struct udax_inode *ino,
		 struct udax_inode *newparent, const char *newname,
		 struct udax_stat *st)
{
	struct fs_nd nd;
	int ret;

	ret = hcheck(fs, ino, "link", true);
	if (!ret)
		ret = hcheck(fs, newparent, "link", true);
	if (ret)
		return ret;
	pthread_mutex_lock(&C(fs)->ns_lock);
	ret = nd_init(&nd, I(newparent), newname);
	if (!ret)
		ret = fs_nd_link(fs, I(ino), &nd);
	pthread_mutex_unlock(&C(fs)->ns_lock);
	if (!ret)
		fill(I(ino), st);
	return ret;
}
