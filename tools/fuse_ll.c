/* SPDX-License-Identifier: MIT */
/*
 * udax mount: the FUSE low-level server.
 *
 * Node ids are udax inode numbers (the root is 1 on both sides) and
 * generations are the inodes' (st_gen), so the kernel's (nodeid,
 * generation) names the same file as udax's (ino, gen).  Each node the
 * kernel knows holds its udax inode once (udax_lookup) and counts the
 * kernel's lookups; the hold goes at the forget that brings the count to
 * zero.  The kernel never forgets a node while a request on it is in
 * flight, so a request's node stays valid without a reference of its own.
 *
 * Open files and directories are kept on lists as well as in fi->fh: on
 * SIGTERM the kernel connection goes away without releases, and unmount
 * needs every handle closed and every inode put.
 *
 * writeback_cache stays off: every write reaches udax when the caller's
 * write() returns, as it does with the library, and the kernel never
 * writes back pages behind a truncate.
 */
#define FUSE_USE_VERSION 312
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <udax/fs.h>
#include <unistd.h>

#include "fuse_ll.h"

#define NODE_BUCKETS	4096
#define ATTR_TIMEOUT	1.0	/* only the server changes the file system */

struct node {
	uint32_t ino;
	uint64_t nlookup;
	struct udax_inode *inode;
	struct node *next;
};

/* An open file or directory (fi->fh), on the server's list. */
struct handle {
	struct handle *prev, *next;
	struct udax_file *file;		/* or: */
	struct udax_dir *dir;
	struct udax_inode *dino;	/* the directory (for readdirplus) */
	pthread_mutex_t lock;		/* dir: the position */
	off_t pos;			/* dir: cookie of the next entry */
	bool pending;			/* dir: ent read, not yet returned */
	struct udax_dirent ent;
	bool append;
};

struct srv {
	struct udax_fs *fs;
	bool ro;
	bool acl;			/* POSIX ACLs (default_permissions) */
	struct fuse_session *se;
	pthread_mutex_t lock;		/* nodes and handles */
	struct node *nodes[NODE_BUCKETS];
	struct node root;
	struct handle handles;		/* list head */
};

static struct srv *S(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* ---- nodes ------------------------------------------------------------------ */

static struct node *node_find(struct srv *s, fuse_ino_t ino)
{
	struct node *n;

	if (ino == FUSE_ROOT_ID)
		return &s->root;
	pthread_mutex_lock(&s->lock);
	for (n = s->nodes[ino % NODE_BUCKETS]; n && n->ino != ino; n = n->next)
		;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static struct udax_inode *inode_of(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = node_find(S(req), ino);

	return n ? n->inode : NULL;
}

/*
 * The kernel learns of @ino once more (a reply with an entry): take over
 * the hold in *@held, or drop it if the node holds the inode already.
 */
static int node_add(struct srv *s, uint32_t ino, struct udax_inode **held)
{
	struct node *n, **b = &s->nodes[ino % NODE_BUCKETS];

	if (ino == FUSE_ROOT_ID) {
		pthread_mutex_lock(&s->lock);
		s->root.nlookup++;
		pthread_mutex_unlock(&s->lock);
		udax_iput(held);
		return 0;
	}
	pthread_mutex_lock(&s->lock);
	for (n = *b; n && n->ino != ino; n = n->next)
		;
	if (n) {
		n->nlookup++;
		pthread_mutex_unlock(&s->lock);
		udax_iput(held);
		return 0;
	}
	n = calloc(1, sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&s->lock);
		udax_iput(held);
		return -ENOMEM;
	}
	n->ino = ino;
	n->nlookup = 1;
	n->inode = *held;
	*held = NULL;
	n->next = *b;
	*b = n;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static void node_forget(struct srv *s, fuse_ino_t ino, uint64_t nlookup)
{
	struct node *n = NULL, **p;

	pthread_mutex_lock(&s->lock);
	if (ino == FUSE_ROOT_ID) {
		s->root.nlookup -= nlookup < s->root.nlookup ? nlookup : s->root.nlookup;
		pthread_mutex_unlock(&s->lock);
		return;	/* the server holds the root until the end */
	}
	for (p = &s->nodes[ino % NODE_BUCKETS]; *p && (*p)->ino != ino; p = &(*p)->next)
		;
	if (*p && (*p)->nlookup <= nlookup) {
		n = *p;
		*p = n->next;
	} else if (*p) {
		(*p)->nlookup -= nlookup;
	}
	pthread_mutex_unlock(&s->lock);
	if (n) {
		udax_iput(&n->inode);	/* an orphan's last hold frees it */
		free(n);
	}
}

/* ---- replies ---------------------------------------------------------------- */

static void to_stat(const struct udax_stat *u, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = u->ino;
	st->st_mode = u->mode;
	st->st_nlink = u->nlink;
	st->st_uid = u->uid;
	st->st_gid = u->gid;
	st->st_size = (off_t)u->size;
	st->st_blocks = (blkcnt_t)(u->blocks * (UDAX_FS_BLOCK_SIZE / 512));
	st->st_blksize = UDAX_FS_BLOCK_SIZE;
	st->st_atim = u->atime;
	st->st_mtim = u->mtime;
	st->st_ctim = u->ctime;
	st->st_rdev = (dev_t)u->rdev;
}

static void entry_of(const struct udax_stat *u, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = u->ino;
	e->generation = u->gen;
	to_stat(u, &e->attr);
	e->attr_timeout = ATTR_TIMEOUT;
	e->entry_timeout = ATTR_TIMEOUT;
}

/* Reply -@ret where the call failed, else with the entry of *@held (a new
 * hold), handing it to the nodes. */
static void reply_entry(fuse_req_t req, int ret, struct udax_inode **held,
			const struct udax_stat *u)
{
	struct fuse_entry_param e;

	if (!ret)
		ret = node_add(S(req), u->ino, held);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	entry_of(u, &e);
	if (fuse_reply_entry(req, &e))
		node_forget(S(req), u->ino, 1);	/* the kernel never saw it */
}

/* Reply -@ret where the call failed, else with the attributes @u. */
static void reply_attr(fuse_req_t req, int ret, const struct udax_stat *u)
{
	struct stat st;

	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	to_stat(u, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

static struct udax_cred cred_of(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);

	return (struct udax_cred){ .uid = c->uid, .gid = c->gid };
}

/* Is the caller in group @gid (its own or a supplementary one)? */
static bool in_group(fuse_req_t req, gid_t gid)
{
	gid_t list[256];
	int n;

	if (fuse_req_ctx(req)->gid == gid)
		return true;
	n = fuse_req_getgroups(req, 256, list);
	for (int k = 0; k < n && k < 256; k++)
		if (list[k] == gid)
			return true;
	return false;
}

/*
 * A write, truncate or fallocate of a regular file by a caller without
 * CAP_FSETID (here: not root) drops its set-user-ID bit, and its
 * set-group-ID bit when the file is group-executable or the caller is
 * outside the file's group: the VFS rule (should_remove_suid,
 * setattr_should_drop_sgid).  The kernel sends FUSE's own rule first, as
 * a SETATTR of the mode, and that keeps S_ISGID of a file that is not
 * group-executable: the server completes it here, and invalidates the
 * attributes the kernel cached.  The bits dropped in *@dropped (may be
 * NULL).
 */
static int kill_priv(fuse_req_t req, fuse_ino_t ino, mode_t *dropped)
{
	struct udax_setattr a = { .mask = UDAX_SETATTR_MODE };
	struct udax_inode *i;
	struct udax_stat u;
	int ret;

	if (dropped)
		*dropped = 0;
	/* Root first: its writes (most of them) skip the node look-up. */
	if (fuse_req_ctx(req)->uid == 0 || !(i = inode_of(req, ino)))
		return 0;
	ret = udax_getattr(i, &u);
	if (ret || !S_ISREG(u.mode) || !(u.mode & (S_ISUID | S_ISGID)))
		return ret;
	a.mode = u.mode & ~(mode_t)S_ISUID;
	if ((u.mode & S_ISGID) && ((u.mode & S_IXGRP) || !in_group(req, u.gid)))
		a.mode &= ~(mode_t)S_ISGID;
	if (a.mode == u.mode)
		return 0;
	ret = udax_setattr_inode(S(req)->fs, i, &a, NULL);
	/* The kernel's cached mode is stale now: only the attributes go
	 * (no page is touched, so no lock the request holds is needed). */
	if (!ret)
		fuse_lowlevel_notify_inval_inode(S(req)->se, ino, -1, 0);
	if (!ret && dropped)
		*dropped = u.mode & ~a.mode;
	return ret;
}

/* ---- handles ---------------------------------------------------------------- */

static struct handle *handle_new(struct srv *s)
{
	struct handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	pthread_mutex_init(&h->lock, NULL);
	pthread_mutex_lock(&s->lock);
	h->next = s->handles.next;
	h->prev = &s->handles;
	h->next->prev = h;
	s->handles.next = h;
	pthread_mutex_unlock(&s->lock);
	return h;
}

/* Close what @h holds and free it; the first error. */
static int handle_free(struct srv *s, struct handle *h)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	pthread_mutex_unlock(&s->lock);
	if (h->file)
		ret = udax_close(&h->file);
	if (h->dir) {
		int r = udax_closedir(&h->dir);

		ret = ret ? ret : r;
	}
	pthread_mutex_destroy(&h->lock);
	free(h);
	return ret;
}

static struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* The open flags that mean something to udax behind the kernel: the
 * rest (O_CLOEXEC, O_NONBLOCK, O_LARGEFILE, O_DIRECT without direct_io
 * ...) is the kernel's business. */
static int open_flags(int flags)
{
	return flags & (O_ACCMODE | O_TRUNC | O_APPEND | O_EXCL | O_SYNC | O_DSYNC);
}

/* ---- operations --------------------------------------------------------------- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct srv *s = userdata;

	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* The kernel keeps its part of killing set-ID bits (kill_priv). */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	/* File handles outlive the kernel's nodes: see op_lookup. */
	if (conn->capable & FUSE_CAP_EXPORT_SUPPORT)
		conn->want |= FUSE_CAP_EXPORT_SUPPORT;
	/*
	 * POSIX ACLs, where the kernel checks permissions: it enforces them
	 * from system.posix_acl_access, udax keeps the mode and the ACLs in
	 * step and new inodes inherit default ACLs (fs.h, xattrs).  The
	 * umask then comes to the server (create_mode).
	 */
	if (s->acl && (conn->capable & FUSE_CAP_POSIX_ACL) &&
	    (conn->capable & FUSE_CAP_DONT_MASK))
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
	else
		s->acl = false;
}

/* The mode of a new inode in @parent: the caller's umask applies unless
 * the parent has a default ACL, which masks the mode instead (udax). */
static mode_t create_mode(fuse_req_t req, struct udax_inode *parent,
			  mode_t mode)
{
	if (!S(req)->acl ||
	    udax_getxattr_inode(S(req)->fs, parent, "system.posix_acl_default",
				NULL, 0) > 0)
		return mode;
	return mode & ~fuse_req_ctx(req)->umask;
}

/*
 * With export support the kernel also looks up "." and ".." in a node it
 * has forgotten, to open a file handle (open_by_handle_at, NFS): the
 * node id is the inode number, udax_iget finds the inode by it, and the
 * kernel then compares the generation of the reply with the handle's.
 */
static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct udax_inode *p = inode_of(req, parent), *held = NULL, *c = NULL;
	struct udax_stat u;
	int ret = -ESTALE;

	if (!p && !strcmp(name, ".")) {
		/* the inode itself, of any type */
		ret = udax_iget(S(req)->fs, parent, UDAX_GEN_ANY, &c, &u);
		reply_entry(req, ret, &c, &u);
		return;
	}
	if (!p && !strcmp(name, "..") &&
	    !udax_iget(S(req)->fs, parent, UDAX_GEN_ANY, &held, NULL))
		p = held;
	if (p)
		ret = udax_lookup(S(req)->fs, p, name, &c, &u);
	udax_iput(&held);
	reply_entry(req, ret, &c, &u);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	node_forget(S(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t k = 0; k < count; k++)
		node_forget(S(req), forgets[k].ino, forgets[k].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct udax_inode *i = inode_of(req, ino);
	struct udax_stat u;
	int ret = -ESTALE;

	(void)fi;
	if (i)
		ret = udax_getattr(i, &u);
	reply_attr(req, ret, &u);
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct udax_inode *i = inode_of(req, ino);
	struct udax_setattr a = { 0 };
	struct udax_stat u;
	mode_t dropped = 0;
	int ret;

	(void)fi;
	if (!i) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		/* A truncate; a mode with it is the kernel's kill (see
		 * kill_priv), which must not give back what the rule drops. */
		ret = kill_priv(req, ino, &dropped);
		if (ret) {
			fuse_reply_err(req, -ret);
			return;
		}
	}
	if (to_set & FUSE_SET_ATTR_MODE) {
		a.mask |= UDAX_SETATTR_MODE;
		a.mode = attr->st_mode & ~dropped;
	}
	if (to_set & FUSE_SET_ATTR_UID) {
		a.mask |= UDAX_SETATTR_UID;
		a.uid = attr->st_uid;
	}
	if (to_set & FUSE_SET_ATTR_GID) {
		a.mask |= UDAX_SETATTR_GID;
		a.gid = attr->st_gid;
	}
	if (to_set & FUSE_SET_ATTR_SIZE) {
		a.mask |= UDAX_SETATTR_SIZE;
		a.size = (uint64_t)attr->st_size;
	}
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW)) {
		a.mask |= UDAX_SETATTR_ATIME;
		a.atime = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			a.atime.tv_nsec = UTIME_NOW;
	}
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) {
		a.mask |= UDAX_SETATTR_MTIME;
		a.mtime = attr->st_mtim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			a.mtime.tv_nsec = UTIME_NOW;
	}
	if (to_set & FUSE_SET_ATTR_CTIME) {
		a.mask |= UDAX_SETATTR_CTIME;
		a.ctime = attr->st_ctim;
	}
	ret = udax_setattr_inode(S(req)->fs, i, &a, &u);
	reply_attr(req, ret, &u);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct udax_inode *p = inode_of(req, parent), *c = NULL;
	struct udax_cred cred = cred_of(req);
	struct udax_stat u;
	int ret = -ESTALE;

	if (p)
		ret = udax_mkdir_at(S(req)->fs, p, name, create_mode(req, p, mode),
				    &cred, &c, &u);
	reply_entry(req, ret, &c, &u);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct udax_inode *p = inode_of(req, parent), *c = NULL;
	struct udax_cred cred = cred_of(req);
	struct udax_stat u;
	int ret = -ESTALE;

	if (p)
		ret = udax_mknod_at(S(req)->fs, p, name, create_mode(req, p, mode),
				    rdev, &cred, &c, &u);
	reply_entry(req, ret, &c, &u);
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
		       const char *name)
{
	struct udax_inode *p = inode_of(req, parent), *c = NULL;
	struct udax_cred cred = cred_of(req);
	struct udax_stat u;
	int ret = -ESTALE;

	if (p)
		ret = udax_symlink_at(S(req)->fs, p, name, target, &cred,
				      &c, &u);
	reply_entry(req, ret, &c, &u);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct udax_inode *i = inode_of(req, ino);
	char buf[UDAX_FS_BLOCK_SIZE + 1];
	ssize_t n;

	if (!i) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	n = udax_readlink_inode(i, buf, sizeof(buf) - 1);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	buf[n] = 0;
	fuse_reply_readlink(req, buf);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct udax_inode *p = inode_of(req, parent);

	fuse_reply_err(req, p ? -udax_unlink_at(S(req)->fs, p, name) : ESTALE);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct udax_inode *p = inode_of(req, parent);

	fuse_reply_err(req, p ? -udax_rmdir_at(S(req)->fs, p, name) : ESTALE);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname, unsigned flags)
{
	struct udax_inode *p = inode_of(req, parent), *np = inode_of(req, newparent);
	unsigned uf = 0;

	if (!p || !np) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (flags & RENAME_NOREPLACE)
		uf |= UDAX_RENAME_NOREPLACE;
	if (flags & RENAME_EXCHANGE)
		uf |= UDAX_RENAME_EXCHANGE;
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		/* RENAME_WHITEOUT: overlayfs's, udax has no whiteouts */
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_err(req, -udax_rename_at(S(req)->fs, p, name, np, newname, uf));
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct udax_inode *i = inode_of(req, ino), *np = inode_of(req, newparent);
	struct udax_inode *c = NULL;
	struct udax_stat u;
	int ret = -ESTALE;

	if (i && np)
		ret = udax_link_at(S(req)->fs, i, np, newname, &u);
	/* The reply counts as a lookup: a hold for the node to take over. */
	if (!ret)
		ret = udax_lookup(S(req)->fs, np, newname, &c, &u);
	reply_entry(req, ret, &c, &u);
}

/* A new handle for an open of node @ino (its inode in *@i), or NULL
 * with the error replied. */
static struct handle *open_begin(fuse_req_t req, fuse_ino_t ino,
				 struct udax_inode **i)
{
	struct handle *h;

	*i = inode_of(req, ino);
	if (!*i) {
		fuse_reply_err(req, ESTALE);
		return NULL;
	}
	h = handle_new(S(req));
	if (!h)
		fuse_reply_err(req, ENOMEM);
	return h;
}

/* Reply to an open with @h, or -@ret where it failed (@h goes then). */
static void open_end(fuse_req_t req, struct fuse_file_info *fi,
		     struct handle *h, int ret)
{
	if (ret) {
		handle_free(S(req), h);
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uintptr_t)h;
	if (fuse_reply_open(req, fi))
		handle_free(S(req), h);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct udax_inode *i;
	struct handle *h = open_begin(req, ino, &i);
	int ret;

	if (!h)
		return;
	ret = fi->flags & O_TRUNC ? kill_priv(req, ino, NULL) : 0;
	if (!ret)
		ret = udax_open_inode(S(req)->fs, i, open_flags(fi->flags) & ~O_EXCL,
				      &h->file);
	h->append = fi->flags & O_APPEND;
	open_end(req, fi, h, ret);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct udax_inode *p = inode_of(req, parent), *c = NULL;
	struct udax_cred cred = cred_of(req);
	struct fuse_entry_param e;
	struct udax_stat u;
	struct handle *h;
	int ret;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	h = handle_new(S(req));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ret = udax_create_at(S(req)->fs, p, name, open_flags(fi->flags),
			     create_mode(req, p, mode), &cred, &c, &h->file, &u);
	if (!ret)
		ret = node_add(S(req), u.ino, &c);
	if (ret) {
		handle_free(S(req), h);
		fuse_reply_err(req, -ret);
		return;
	}
	h->append = fi->flags & O_APPEND;
	fi->fh = (uintptr_t)h;
	entry_of(&u, &e);
	if (fuse_reply_create(req, &e, fi)) {
		node_forget(S(req), u.ino, 1);
		handle_free(S(req), h);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	char *buf = malloc(size ? size : 1);
	ssize_t n;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = udax_pread(H(fi)->file, buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct handle *h = H(fi);
	ssize_t n = kill_priv(req, ino, NULL);

	/* O_APPEND: the end of file is udax's, not the kernel's idea of it. */
	if (!n && h->append)
		n = udax_append(h->file, buf, size, NULL);
	else if (!n)
		n = udax_pwrite(h->file, buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	/* Writes are on the device when they return: nothing to push. */
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -handle_free(S(req), H(fi)));
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct udax_file *f = H(fi)->file;

	(void)ino;
	fuse_reply_err(req, -(datasync ? udax_fdatasync(f) : udax_fsync(f)));
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off,
			 off_t len, struct fuse_file_info *fi)
{
	int ret;

	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	ret = kill_priv(req, ino, NULL);
	if (!ret)
		ret = udax_fallocate(H(fi)->file, mode, (uint64_t)off, (uint64_t)len);
	fuse_reply_err(req, -ret);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct udax_inode *i;
	struct handle *h = open_begin(req, ino, &i);

	if (!h)
		return;
	h->dino = i;	/* the open directory keeps the kernel's node */
	h->pos = 0;
	open_end(req, fi, h, udax_opendir_inode(S(req)->fs, i, UDAX_OPENDIR_DOTS,
						&h->dir));
}

/*
 * Offsets are udax's readdir cookies (UDAX_OPENDIR_DOTS: "." and ".."
 * first): stable however the directory changes, so a read at any offset
 * the kernel got from us resumes there.  An entry read but not returned
 * (the buffer was full) waits in h->ent for the next read at its offset.
 */
static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi, bool plus)
{
	struct srv *s = S(req);
	struct handle *h = H(fi);
	char *buf = calloc(1, size), *p = buf;
	size_t left = size;
	int ret = 0;

	(void)ino;
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (off != h->pos) {
		ret = udax_seekdir(h->dir, (uint64_t)off);
		h->pending = false;
		h->pos = off;
	}
	while (!ret) {
		struct udax_inode *c = NULL;
		struct fuse_entry_param e;
		struct udax_stat u = { 0 };
		const char *name;
		size_t n;

		if (!h->pending) {
			ret = udax_readdir(h->dir, &h->ent);
			if (ret <= 0)
				break;
			ret = 0;
			h->pending = true;
		}
		name = h->ent.name;
		memset(&e, 0, sizeof(e));
		if (plus && strcmp(name, ".") && strcmp(name, "..")) {
			ret = udax_lookup(s->fs, h->dino, name, &c, &u);
			if (ret == -ENOENT) {	/* gone since */
				h->pending = false;
				h->pos = (off_t)h->ent.off;
				ret = 0;
				continue;
			}
			if (ret)
				break;
			entry_of(&u, &e);
		} else {
			/* "." and "..": attributes only, never a lookup */
			e.attr.st_ino = h->ent.ino;
			e.attr.st_mode = (mode_t)h->ent.type << 12;
		}
		if (plus)
			n = fuse_add_direntry_plus(req, p, left, name, &e,
						   (off_t)h->ent.off);
		else
			n = fuse_add_direntry(req, p, left, name, &e.attr,
					      (off_t)h->ent.off);
		if (n > left) {
			udax_iput(&c);	/* the kernel will ask again */
			break;
		}
		if (c && node_add(s, u.ino, &c)) {
			ret = -ENOMEM;
			break;
		}
		p += n;
		left -= n;
		h->pending = false;
		h->pos = (off_t)h->ent.off;
	}
	pthread_mutex_unlock(&h->lock);
	/* An error after entries were added: return those, the error comes
	 * again at the next read. */
	if (ret < 0 && p == buf)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_buf(req, buf, (size_t)(p - buf));
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	(void)ino;
	fuse_reply_err(req, -handle_free(S(req), H(fi)));
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	/* Namespace changes are durable when they return. */
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct udax_statfs u;
	struct statvfs st;
	int ret;

	(void)ino;
	ret = udax_statfs(S(req)->fs, &u);
	if (ret) {
		fuse_reply_err(req, -ret);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.f_bsize = st.f_frsize = u.block_size;
	st.f_blocks = u.blocks;
	st.f_bfree = st.f_bavail = u.blocks_free;
	st.f_files = u.inodes;
	st.f_ffree = st.f_favail = u.inodes_free;
	st.f_namemax = u.name_max;
	fuse_reply_statfs(req, &st);
}

/*
 * access(2) without default_permissions.  udax_access() takes a path and
 * the server has only the inode: the same rules on its attributes.  Root
 * reads and writes anything and executes what has an x bit or is a
 * directory; others get the owner's, else the group's (the caller's gid
 * only), else the others' bits.
 */
static bool may_access(const struct udax_stat *u, int mask,
		       const struct udax_cred *c)
{
	unsigned bits;

	mask &= R_OK | W_OK | X_OK;
	if (c->uid == 0)
		return !(mask & X_OK) || S_ISDIR(u->mode) || (u->mode & 0111);
	if (c->uid == u->uid)
		bits = (u->mode >> 6) & 7;
	else if (c->gid == u->gid)
		bits = (u->mode >> 3) & 7;
	else
		bits = u->mode & 7;
	return ((unsigned)mask & bits) == (unsigned)mask;
}

static void op_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct udax_inode *i = inode_of(req, ino);
	struct udax_cred cred = cred_of(req);
	struct udax_stat u;
	int ret;

	if (!i) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	ret = udax_getattr(i, &u);
	if (!ret && (mask & W_OK) && S(req)->ro)
		ret = -EROFS;
	else if (!ret && !may_access(&u, mask, &cred))
		ret = -EACCES;
	fuse_reply_err(req, -ret);
}

/* ---- extended attributes -------------------------------------------------------- */

/*
 * The xattr calls of the inode-handle API: every inode type, symbolic
 * links and special files included (trusted.* and security.* there, as
 * ext4; user.* is EPERM, as Linux).
 */
static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct udax_inode *i = inode_of(req, ino);
	struct udax_stat u;

	if (!i) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	/* Linux's rule for an access ACL (posix_acl_update_mode): a caller
	 * outside the file's group, and not root, drops its set-group-ID
	 * bit (libfuse 3.14 has no FUSE_SETXATTR_ACL_KILL_SGID to say so). */
	if (S(req)->acl && !strcmp(name, "system.posix_acl_access") &&
	    fuse_req_ctx(req)->uid != 0 && !udax_getattr(i, &u) &&
	    (u.mode & S_ISGID) && !in_group(req, u.gid))
		flags |= UDAX_XATTR_ACL_KILL_SGID;
	fuse_reply_err(req, -udax_setxattr_inode(S(req)->fs, i, name, value,
						  size, flags));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct udax_inode *i = inode_of(req, ino);

	fuse_reply_err(req, i ? -udax_removexattr_inode(S(req)->fs, i, name)
			      : ESTALE);
}

/* Reply to getxattr/listxattr: @size 0 asks for the size needed. */
static void reply_xattr_buf(fuse_req_t req, const char *buf, ssize_t n,
			    size_t size)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else if (!size)
		fuse_reply_xattr(req, (size_t)n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	struct udax_inode *i = inode_of(req, ino);
	char *buf = NULL;
	ssize_t n = i ? 0 : -ESTALE;

	if (!n && size && !(buf = malloc(size)))
		n = -ENOMEM;
	if (!n)
		n = udax_getxattr_inode(S(req)->fs, i, name, buf, size);
	reply_xattr_buf(req, buf, n, size);
	free(buf);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct udax_inode *i = inode_of(req, ino);
	char *buf = NULL;
	ssize_t n = i ? 0 : -ESTALE;

	if (!n && size && !(buf = malloc(size)))
		n = -ENOMEM;
	if (!n)
		n = udax_listxattr_inode(S(req)->fs, i, buf, size);
	reply_xattr_buf(req, buf, n, size);
	free(buf);
}

/* ---- seeking and copying ---------------------------------------------------------- */

/* The kernel seeks SEEK_SET, SEEK_CUR and SEEK_END itself: only
 * SEEK_DATA and SEEK_HOLE come here. */
static void op_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
		     struct fuse_file_info *fi)
{
	int64_t r;

	(void)ino;
	if (off < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE)) {
		fuse_reply_err(req, off < 0 ? ENXIO : EINVAL);
		return;
	}
	r = udax_lseek_data(H(fi)->file, (uint64_t)off, whence);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_lseek(req, (off_t)r);
}

static void op_copy_file_range(fuse_req_t req, fuse_ino_t ino_in, off_t off_in,
			       struct fuse_file_info *fi_in, fuse_ino_t ino_out,
			       off_t off_out, struct fuse_file_info *fi_out,
			       size_t len, int flags)
{
	ssize_t n;

	(void)ino_in;
	if (off_in < 0 || off_out < 0 || flags < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = kill_priv(req, ino_out, NULL);
	if (!n)
		n = udax_copy_file_range(H(fi_in)->file, (uint64_t)off_in,
				 H(fi_out)->file, (uint64_t)off_out, len,
				 (unsigned)flags);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_write(req, (size_t)n);
}

static const struct fuse_lowlevel_ops ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.mknod = op_mknod,
	.symlink = op_symlink,
	.readlink = op_readlink,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.readdirplus = op_readdirplus,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
	.access = op_access,
	.setxattr = op_setxattr,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.removexattr = op_removexattr,
	.lseek = op_lseek,
	.copy_file_range = op_copy_file_range,
};

/* ---- the session -------------------------------------------------------------- */

/* After the loop: what the kernel left open or held goes. */
static int srv_drain(struct srv *s)
{
	int ret = 0, r;

	while (s->handles.next != &s->handles) {
		r = handle_free(s, s->handles.next);
		ret = ret ? ret : r;
	}
	for (unsigned b = 0; b < NODE_BUCKETS; b++) {
		while (s->nodes[b]) {
			struct node *n = s->nodes[b];

			s->nodes[b] = n->next;
			r = udax_iput(&n->inode);
			ret = ret ? ret : r;
			free(n);
		}
	}
	r = udax_iput(&s->root.inode);
	return ret ? ret : r;
}

int fll_serve(struct udax_fs *fs, const struct fll_opts *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *lc = NULL;
	struct fuse_session *se = NULL;
	struct srv *s;
	char opt[512];
	int ret;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fs = fs;
	s->ro = o->ro;
	s->acl = o->acl;
	pthread_mutex_init(&s->lock, NULL);
	s->handles.next = s->handles.prev = &s->handles;
	s->root.ino = FUSE_ROOT_ID;
	ret = udax_iget_root(fs, &s->root.inode);
	if (ret) {
		fprintf(stderr, "udax mount: %s\n", udax_fs_last_error());
		goto out;
	}
	/* No subtype at all (not an empty one) gives the plain type "fuse",
	 * as libfuse's examples have and xfstests' FSTYP=fuse expects. */
	snprintf(opt, sizeof(opt), "-o%s%s%sfsname=%s%s",
		 *o->subtype ? "subtype=" : "", o->subtype, *o->subtype ? "," : "",
		 o->fsname, o->ro ? ",ro" : "");
	ret = -ENOMEM;
	if (fuse_opt_add_arg(&args, "udax") || fuse_opt_add_arg(&args, opt) ||
	    (o->debug && fuse_opt_add_arg(&args, "-d")))
		goto out;
	for (int k = 0; k < o->argc; k++)
		if (fuse_opt_add_arg(&args, o->argv[k]))
			goto out;
	ret = -EINVAL;
	se = fuse_session_new(&args, &ops, sizeof(ops), s);
	s->se = se;
	if (!se)
		goto out;	/* libfuse said why */
	if (fuse_set_signal_handlers(se))
		goto out;
	if (fuse_session_mount(se, o->mountpoint)) {
		fuse_remove_signal_handlers(se);
		goto out;
	}
	ret = o->ready ? o->ready(o->ready_arg) : 0;
	if (!ret) {
		lc = fuse_loop_cfg_create();
		if (!lc) {
			ret = -ENOMEM;
		} else {
			fuse_loop_cfg_set_max_threads(lc, 16);
			ret = fuse_session_loop_mt(se, lc);
			ret = ret > 0 ? 0 : ret;	/* a signal ended it */
			fuse_loop_cfg_destroy(lc);
		}
	}
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
out:
	if (se)
		fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	{
		int r = srv_drain(s);

		if (r && !ret) {
			fprintf(stderr, "udax mount: closing: %s\n", udax_fs_last_error());
			ret = r;
		}
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
	return ret;
}
