/* SPDX-License-Identifier: MIT */
/*
 * fs ops: extended attributes.  All of an inode's live in one block
 * (core.h, struct fs_dxattrhdr; its checksum and validator in
 * core/xattrblk.c), named by the record's "xattr" field.  Reads validate
 * the block every time (checksum, owner, entries tiling "used"); a change builds the new block in memory and commits it through
 * the journal with the inode record (ctime), so a crash leaves the old set
 * or the new one.  A first attribute allocates the block (journaled
 * whole), the last removal frees it after the commit.  Serialized by
 * ino->lock (write for changes, read for reads).
 *
 * Namespaces: user. (regular files and directories only, -EPERM
 * elsewhere, as Linux), trusted., security., and system.posix_acl_access
 * / system.posix_acl_default, validated and kept as a kernel file system
 * keeps them (acl.h: the mode follows the access ACL, chmod rewrites it,
 * a new inode inherits the default ACL) but not enforced here: the kernel
 * enforces them over udax mount with default_permissions.  Other
 * names: -EOPNOTSUPP.  Limits: name 1..255 bytes (-ERANGE beyond), all
 * entries of an inode in FS_XATTR_ROOM (4072) bytes, each 4 + name + value
 * rounded up to 4: a value alone up to FS_XATTR_VALUE_MAX (-E2BIG beyond),
 * -ENOSPC when the set would not fit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fs/core.h"
#include "fs/ops/acl.h"

#define HDR		sizeof(struct fs_dxattrhdr)
#define VALUE_MAX	FS_XATTR_VALUE_MAX

/* A private, validated copy of @ino's block (ino->lock held), or NULL
 * with 0 when it has none. */
static int xblk_load(struct fs_inode *ino, uint8_t **out)
{
	const char *why;
	uint8_t *b;

	*out = NULL;
	if (!ino->xattr)
		return 0;
	b = fault_malloc(FS_BS);
	if (!b)
		return fs_error(-ENOMEM, "xattr: out of memory");
	memcpy(b, fs_block_addr(ino->fs, ino->xattr), FS_BS);
	if (fs_xattr_block_check(b, ino->ino, &why)) {
		free(b);
		return fs_error(-EUCLEAN, "inode %u: xattr block %llu corrupt: %s",
				ino->ino, (unsigned long long)ino->xattr, why);
	}
	*out = b;
	return 0;
}

/* The entry named @name in block @b, or NULL. */
static struct fs_dxattrent *xfind(uint8_t *b, const char *name, size_t len,
			  uint32_t *at)
{
	const struct fs_dxattrhdr *h = (const void *)b;

	for (uint32_t off = HDR; off < HDR + h->used;) {
		struct fs_dxattrent *e = (void *)(b + off);

		if (e->name_len == len && !memcmp(e->name, name, len)) {
			*at = off;
			return e;
		}
		off += FS_XATTR_ENT_LEN(e->name_len, e->value_len);
	}
	return NULL;
}

/* Is @name one udax stores for @ino?  0, -EOPNOTSUPP, -EPERM, -ERANGE. */
static int xname_check(struct fs_inode *ino, const char *name, size_t *len)
{
	static const char *const ns[] = { "trusted.", "security." };

	if (!name)
		return fs_error(-EINVAL, "xattr: no name");
	*len = strlen(name);
	if (*len > UDAX_NAME_MAX)
		return fs_error(-ERANGE, "xattr: name longer than 255 bytes");
	if (!strncmp(name, "user.", 5)) {
		if (*len == 5)
			return fs_error(-EINVAL, "xattr: empty name");
		/* Linux: user. only on files and directories. */
		if (!S_ISREG(ino->mode) && !S_ISDIR(ino->mode))
			return fs_error(-EPERM, "xattr: user. on a special file or link");
		return 0;
	}
	for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
		if (!strncmp(name, ns[k], strlen(ns[k])))
			return *len == strlen(ns[k]) ?
			       fs_error(-EINVAL, "xattr: empty name") : 0;
	if (!strcmp(name, "system.posix_acl_access") ||
	    !strcmp(name, "system.posix_acl_default"))
		return 0;
	return fs_error(-EOPNOTSUPP, "xattr: namespace of \"%s\" not supported",
			name);
}

static ssize_t xget(struct fs_inode *ino, const char *name, void *value,
		    size_t size)
{
	uint8_t *b = NULL;
	struct fs_dxattrent *e;
	size_t len;
	uint32_t at;
	ssize_t ret = xname_check(ino, name, &len);

	if (ret == -EPERM)
		return fs_error(-ENODATA, "xattr: no such attribute");
	if (ret)
		return ret;
	pthread_rwlock_rdlock(&ino->lock);
	ret = xblk_load(ino, &b);
	if (!ret && (!b || !(e = xfind(b, name, len, &at))))
		ret = fs_error(-ENODATA, "xattr: no attribute %s", name);
	else if (!ret && size && size < e->value_len)
		ret = fs_error(-ERANGE, "xattr: value of %u bytes, buffer of %zu",
			       e->value_len, size);
	else if (!ret) {
		if (size)
			memcpy(value, e->name + e->name_len, e->value_len);
		ret = e->value_len;
	}
	pthread_rwlock_unlock(&ino->lock);
	free(b);
	return ret;
}

static ssize_t xlist(struct fs_inode *ino, char *list, size_t size)
{
	const struct fs_dxattrhdr *h;
	uint8_t *b = NULL;
	size_t need = 0;
	ssize_t ret;

	pthread_rwlock_rdlock(&ino->lock);
	ret = xblk_load(ino, &b);
	h = (const void *)b;
	for (uint32_t off = HDR; !ret && b && off < HDR + h->used;) {
		const struct fs_dxattrent *e = (const void *)(b + off);

		if (size && need + e->name_len + 1 > size) {
			ret = fs_error(-ERANGE, "listxattr: buffer of %zu too small",
				       size);
			break;
		}
		if (size) {
			memcpy(list + need, e->name, e->name_len);
			list[need + e->name_len] = 0;
		}
		need += e->name_len + 1u;
		off += FS_XATTR_ENT_LEN(e->name_len, e->value_len);
	}
	pthread_rwlock_unlock(&ino->lock);
	free(b);
	return ret ? ret : (ssize_t)need;
}

/*
 * An ACL being set (@value) or removed: checked, and what it does to the
 * mode (*@mode, @ino's now: the access ACL's bits, S_ISGID dropped for
 * UDAX_XATTR_ACL_KILL_SGID).  *@value becomes NULL where nothing is to
 * be stored (no entries, or an access ACL that the mode says whole), and
 * *@absent_ok then says that a missing attribute is no error, as it is
 * for the removal of an ACL (Linux's set_acl(NULL)).
 */
static int acl_set(struct fs_inode *ino, bool access, const void **value,
		   size_t size, int flags, uint32_t *mode, bool *absent_ok)
{
	unsigned entries;
	int ret;

	if (!*value) {
		*absent_ok = true;	/* Linux: removing no ACL is no error */
		return 0;
	}
	ret = fs_acl_check(*value, size, &entries);
	if (ret)
		return fs_error(ret, "setxattr: %s is not a valid POSIX ACL",
				access ? FS_ACL_ACCESS : FS_ACL_DEFAULT);
	if (!access && !S_ISDIR(ino->mode))
		return entries ? fs_error(-EACCES, "setxattr: a default ACL on "
					  "a non-directory") : 1;
	if (access && entries) {
		if (fs_acl_equiv_mode(*value, size, mode)) {
			*value = NULL;
			*absent_ok = true;
		}
		if (flags & UDAX_XATTR_ACL_KILL_SGID)
			*mode &= ~(uint32_t)S_ISGID;
	}
	if (!entries) {
		*value = NULL;
		*absent_ok = true;
	}
	return 0;
}

/*
 * Set (@value) or remove (@value NULL) @name of @ino: the new block built
 * in memory, journaled with the inode record (and its mode, for an
 * access ACL) in one transaction.
 */
static int xchange(struct udax_fs *fs, struct fs_inode *ino, const char *name,
		   const void *value, size_t size, int flags)
{
	uint64_t old_blk, new_blk = 0, got;
	int64_t old_ctime;
	struct fs_dxattrhdr *h;
	uint8_t *b = NULL;
	struct fs_txn t;
	struct fs_dxattrent *e;
	uint32_t at = 0, old_mode, new_mode;
	bool acl_access, acl = false, absent_ok = false;
	size_t len;
	int ret;

	if (flags & ~(XATTR_CREATE | XATTR_REPLACE | UDAX_XATTR_ACL_KILL_SGID))
		return fs_error(-EINVAL, "setxattr: unknown flags 0x%x", flags);
	ret = xname_check(ino, name, &len);
	if (ret)
		return ret;
	acl_access = !strcmp(name, FS_ACL_ACCESS);
	acl = acl_access || !strcmp(name, FS_ACL_DEFAULT);
	if ((flags & UDAX_XATTR_ACL_KILL_SGID) && !acl_access)
		return fs_error(-EINVAL, "setxattr: UDAX_XATTR_ACL_KILL_SGID "
				"without an access ACL");
	if (value && size > VALUE_MAX)
		return fs_error(-E2BIG, "setxattr: value of %zu bytes, at most %u",
				size, (unsigned)VALUE_MAX);
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	pthread_rwlock_wrlock(&ino->lock);
	old_mode = new_mode = ino->mode;
	if (acl) {
		ret = acl_set(ino, acl_access, &value, size, flags, &new_mode,
			      &absent_ok);
		if (ret)
			goto out;	/* 1: nothing to do */
	}
	ret = xblk_load(ino, &b);
	if (ret)
		goto out;
	if (!b) {
		b = fault_calloc(1, FS_BS);
		if (!b) {
			ret = fs_error(-ENOMEM, "xattr: out of memory");
			goto out;
		}
		h = (void *)b;
		h->magic = FS_XATTR_MAGIC;
		h->ino = ino->ino;
		h->version = FS_XATTR_VERSION;
	}
	h = (void *)b;
	e = h->count ? xfind(b, name, len, &at) : NULL;
	if (e && value && (flags & XATTR_CREATE)) {
		ret = fs_error(-EEXIST, "setxattr: %s exists", name);
		goto out;
	}
	if (!e && !value && absent_ok && new_mode == old_mode)
		goto out;	/* no ACL to remove, and the mode stays */
	if (!e && (!value || (flags & XATTR_REPLACE)) && !absent_ok) {
		ret = fs_error(-ENODATA, "xattr: no attribute %s", name);
		goto out;
	}
	if (e) {
		/* Remove it: the entries after it move down. */
		uint32_t elen = FS_XATTR_ENT_LEN(e->name_len, e->value_len);

		memmove(b + at, b + at + elen, HDR + h->used - at - elen);
		h->used -= elen;
		memset(b + HDR + h->used, 0, elen);
		h->count--;
	}
	if (value) {
		uint32_t elen = FS_XATTR_ENT_LEN(len, size);

		if (h->used + elen > FS_XATTR_ROOM) {
			ret = fs_error(-ENOSPC, "setxattr: the attributes of inode %u "
				       "would pass %zu bytes", ino->ino,
				       (size_t)FS_XATTR_ROOM);
			goto out;
		}
		e = (void *)(b + HDR + h->used);
		e->name_len = (uint8_t)len;
		e->value_len = (uint16_t)size;
		memcpy(e->name, name, len);
		if (size)
			memcpy(e->name + len, value, size);
		h->used += elen;
		h->count++;
	}
	old_blk = ino->xattr;
	if (h->count && !old_blk) {
		ret = fs_block_alloc(fs, 0, 1, &new_blk, &got);
		if (ret)
			goto out;
	}
	h->crc = fs_xattrblk_crc(ino->ino, b);
	old_ctime = ino->ctime;
	ino->ctime = fs_now();
	ino->mode = new_mode;
	ino->xattr = h->count ? (old_blk ? old_blk : new_blk) : 0;
	fs_txn_init(&t, fs);
	if (h->count)
		fs_txn_add(&t, ino->xattr * FS_BS, b, FS_BS);
	ret = fs_txn_inode(&t, ino, NULL);
	if (!ret)
		ret = fs_txn_commit(&t);
	fs_txn_free(&t);
	if (ret) {
		ino->ctime = old_ctime;
		ino->mode = old_mode;
		ino->xattr = old_blk;
		if (new_blk)
			fs_block_free(fs, new_blk, 1);
	} else if (old_blk && !h->count) {
		fs_block_free(fs, old_blk, 1);	/* never pinned: no break */
	}
out:
	pthread_rwlock_unlock(&ino->lock);
	free(b);
	return ret < 0 ? ret : 0;
}

/* ---- ACLs in other operations' transactions ------------------------------------- */

/* A new xattr block image for inode @ino holding entries @n of @name[],
 * @val[], @vlen[] (they fit: each came from a block). */
static uint8_t *xblk_build(uint32_t ino, int n, const char *const *name,
			   const void *const *val, const size_t *vlen)
{
	uint8_t *b = fault_calloc(1, FS_BS);
	struct fs_dxattrhdr *h = (void *)b;

	if (!b)
		return NULL;
	h->magic = FS_XATTR_MAGIC;
	h->ino = ino;
	h->version = FS_XATTR_VERSION;
	for (int k = 0; k < n; k++) {
		size_t len = strlen(name[k]);
		struct fs_dxattrent *e = (void *)(b + HDR + h->used);

		e->name_len = (uint8_t)len;
		e->value_len = (uint16_t)vlen[k];
		memcpy(e->name, name[k], len);
		memcpy(e->name + len, val[k], vlen[k]);
		h->used += FS_XATTR_ENT_LEN(len, vlen[k]);
		h->count++;
	}
	h->crc = fs_xattrblk_crc(ino, b);
	return b;
}

int fs_acl_inherit(struct fs_inode *dir, uint32_t ino, uint32_t *mode,
		   uint8_t **out, bool held)
{
	const char *name[2];
	const void *val[2];
	size_t vlen[2];
	uint8_t *b = NULL, *acc = NULL;
	struct fs_dxattrent *e = NULL;
	uint32_t at;
	int n = 0, ret;

	*out = NULL;
	if (S_ISLNK(*mode))
		return 0;	/* Linux: symbolic links have no ACL */
	if (!held)
		pthread_rwlock_rdlock(&dir->lock);
	ret = xblk_load(dir, &b);
	if (!ret && b)
		e = xfind(b, FS_ACL_DEFAULT, strlen(FS_ACL_DEFAULT), &at);
	if (!held)
		pthread_rwlock_unlock(&dir->lock);
	if (ret || !e)
		goto out;
	{
		const void *dv = e->name + e->name_len;
		unsigned entries;

		if (fs_acl_check(dv, e->value_len, &entries) || !entries)
			goto out;	/* stored by an older udax unchecked: ignored */
		acc = fault_malloc(e->value_len);
		if (!acc) {
			ret = -ENOMEM;
			goto out;
		}
		memcpy(acc, dv, e->value_len);
		if (fs_acl_create_masq(acc, e->value_len, mode)) {
			name[n] = FS_ACL_ACCESS;
			val[n] = acc;
			vlen[n++] = e->value_len;
		}
		if (S_ISDIR(*mode)) {
			name[n] = FS_ACL_DEFAULT;
			val[n] = dv;
			vlen[n++] = e->value_len;
		}
	}
	if (n && !(*out = xblk_build(ino, n, name, val, vlen)))
		ret = -ENOMEM;
out:
	free(acc);
	free(b);
	return ret;
}

int fs_acl_chmod_block(struct fs_inode *i, uint8_t **out)
{
	struct fs_dxattrent *e;
	struct fs_dxattrhdr *h;
	uint8_t *b = NULL;
	unsigned entries;
	uint32_t at;
	int ret;

	*out = NULL;
	ret = xblk_load(i, &b);
	if (ret || !b)
		return ret;
	e = xfind(b, FS_ACL_ACCESS, strlen(FS_ACL_ACCESS), &at);
	if (!e || fs_acl_check(e->name + e->name_len, e->value_len, &entries) ||
	    !entries) {
		free(b);
		return 0;
	}
	fs_acl_chmod(e->name + e->name_len, e->value_len, i->mode);
	h = (void *)b;
	h->crc = fs_xattrblk_crc(i->ino, b);
	*out = b;
	return 0;
}

/* ---- entry points --------------------------------------------------------------- */

static int path_ino(struct udax_fs *fs, const char *path, const char *fn,
		    struct fs_inode **out)
{
	if (!fs)
		return fs_error(-EINVAL, "no file system");
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, fn);
	return fs_walk(fs, path, true, out);
}

static int file_ok(struct udax_file *f, const char *fn)
{
	if (!f)
		return fs_error(-EINVAL, "no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, fn);
	return 0;
}

int udax_setxattr(struct udax_fs *fs, const char *path, const char *name,
		  const void *value, size_t size, int flags)
{
	struct fs_inode *i;
	int ret;

	if (!value && size)
		return fs_error(-EINVAL, "setxattr: no value");
	ret = path_ino(fs, path, "setxattr", &i);
	if (ret)
		return ret;
	ret = xchange(fs, i, name, value ? value : "", size, flags);
	fs_iput(i);
	return ret;
}

ssize_t udax_getxattr(struct udax_fs *fs, const char *path, const char *name,
		      void *value, size_t size)
{
	struct fs_inode *i;
	ssize_t ret;

	if (!value && size)
		return fs_error(-EINVAL, "getxattr: no buffer");
	ret = path_ino(fs, path, "getxattr", &i);
	if (ret)
		return ret;
	ret = xget(i, name, value, size);
	fs_iput(i);
	return ret;
}

ssize_t udax_listxattr(struct udax_fs *fs, const char *path, char *list,
		       size_t size)
{
	struct fs_inode *i;
	ssize_t ret;

	if (!list && size)
		return fs_error(-EINVAL, "listxattr: no buffer");
	ret = path_ino(fs, path, "listxattr", &i);
	if (ret)
		return ret;
	ret = xlist(i, list, size);
	fs_iput(i);
	return ret;
}

int udax_removexattr(struct udax_fs *fs, const char *path, const char *name)
{
	struct fs_inode *i;
	int ret = path_ino(fs, path, "removexattr", &i);

	if (ret)
		return ret;
	ret = xchange(fs, i, name, NULL, 0, 0);
	fs_iput(i);
	return ret;
}

int udax_fsetxattr(struct udax_file *f, const char *name, const void *value,
		   size_t size, int flags)
{
	int ret = file_ok(f, "fsetxattr");

	if (!ret && !value && size)
		ret = fs_error(-EINVAL, "setxattr: no value");
	return ret ? ret : xchange(f->fs, f->inode, name, value ? value : "",
				   size, flags);
}

ssize_t udax_fgetxattr(struct udax_file *f, const char *name, void *value,
		       size_t size)
{
	int ret = file_ok(f, "fgetxattr");

	if (!ret && !value && size)
		ret = fs_error(-EINVAL, "getxattr: no buffer");
	return ret ? ret : xget(f->inode, name, value, size);
}

ssize_t udax_flistxattr(struct udax_file *f, char *list, size_t size)
{
	int ret = file_ok(f, "flistxattr");

	if (!ret && !list && size)
		ret = fs_error(-EINVAL, "listxattr: no buffer");
	return ret ? ret : xlist(f->inode, list, size);
}

int udax_fremovexattr(struct udax_file *f, const char *name)
{
	int ret = file_ok(f, "fremovexattr");

	return ret ? ret : xchange(f->fs, f->inode, name, NULL, 0, 0);
}

/*
 * By held inode (the inode-handle API): any inode type, so a FUSE server
 * reaches the attributes of symbolic links and special files, which
 * cannot be opened.  user. names stay refused there (xname_check), as
 * lsetxattr(2) refuses them on Linux.
 */
static int inode_ok(struct udax_fs *fs, struct udax_inode *ino, const char *fn)
{
	if (!fs || !ino)
		return fs_error(-EINVAL, "%s: no file system or inode", fn);
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, fn);
	if (((struct fs_inode *)ino)->fs != fs)
		return fs_error(-EINVAL, "%s: inode of another file system", fn);
	return 0;
}

int udax_setxattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			const char *name, const void *value, size_t size,
			int flags)
{
	int ret = inode_ok(fs, ino, "setxattr");

	if (!ret && !value && size)
		ret = fs_error(-EINVAL, "setxattr: no value");
	return ret ? ret : xchange(fs, (struct fs_inode *)ino, name,
				   value ? value : "", size, flags);
}

ssize_t udax_getxattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			    const char *name, void *value, size_t size)
{
	int ret = inode_ok(fs, ino, "getxattr");

	if (!ret && !value && size)
		ret = fs_error(-EINVAL, "getxattr: no buffer");
	return ret ? ret : xget((struct fs_inode *)ino, name, value, size);
}

ssize_t udax_listxattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			     char *list, size_t size)
{
	int ret = inode_ok(fs, ino, "listxattr");

	if (!ret && !list && size)
		ret = fs_error(-EINVAL, "listxattr: no buffer");
	return ret ? ret : xlist((struct fs_inode *)ino, list, size);
}

int udax_removexattr_inode(struct udax_fs *fs, struct udax_inode *ino,
			   const char *name)
{
	int ret = inode_ok(fs, ino, "removexattr");

	return ret ? ret : xchange(fs, (struct fs_inode *)ino, name, NULL, 0, 0);
}
