/* SPDX-License-Identifier: MIT */
/*
 * fs core: file data.  open/close, read, write, append, sync, truncate,
 * fallocate, fstat.
 *
 * Data goes straight to the device.  A block a write allocates (or an
 * unwritten block it converts) is written whole — the data and zeroes
 * around it — and made durable before the transaction that maps it
 * commits, so a crash never exposes stale bytes.  Overwrites of mapped
 * blocks are in place and not atomic (like ext4's ordered mode).  Bytes of
 * a file's blocks past its end of file are always zero: truncate and
 * punch zero partial blocks through the journal (in the same transaction
 * as the size or map change), which keeps them crash-atomic and lets a
 * later extension expose zeroes only; a pinned one is replaced by a
 * zeroed copy in that transaction instead (kept.c).
 *
 * Every operation that frees or moves blocks follows the layout-break
 * protocol of internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/core.h"

#define FS_EXT_FRESH	0x100	/* in-memory only: to be written whole */

/* ---- open / close ------------------------------------------------------------ */

static int truncate_locked(struct udax_file *f, uint64_t size,
			   const struct udax_break_opts *brk);

/*
 * Every flag Linux passes to open: the access mode, O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND, O_NOFOLLOW and O_DIRECTORY act; O_SYNC and O_DSYNC
 * make each write durable before it returns; O_DIRECT (DAX is direct),
 * O_NOATIME (reads never change atime), O_CLOEXEC, O_NONBLOCK, O_NOCTTY,
 * O_ASYNC, O_LARGEFILE (the kernel's 0100000) and __FMODE_EXEC (040, in
 * FUSE's open flags) are accepted and change nothing.  O_TMPFILE makes
 * an unnamed file in the directory @path names (udax_flink names it).
 * O_PATH is -EOPNOTSUPP.  Anything else is -EINVAL.
 */
#define OPEN_LARGEFILE	0100000
#define OPEN_FMODE_EXEC	040
#define OPEN_FLAGS	(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |	\
			 O_NOFOLLOW | O_DIRECTORY | O_SYNC | O_DSYNC |		\
			 O_DIRECT | O_NOATIME | O_CLOEXEC | O_NONBLOCK |	\
			 O_NOCTTY | O_ASYNC | OPEN_LARGEFILE |			\
			 OPEN_FMODE_EXEC | O_PATH | O_TMPFILE)

int fs_open_check(struct udax_fs *fs, int flags)
{
	int acc = flags & O_ACCMODE;
	bool wr = acc != O_RDONLY;

	if (acc == O_ACCMODE || (flags & ~OPEN_FLAGS))
		return fs_error(-EINVAL, "open: unsupported flags 0x%x", flags);
	if ((flags & O_TMPFILE) == O_TMPFILE &&
	    (!wr || (flags & O_CREAT)))
		return fs_error(-EINVAL, "open: O_TMPFILE needs write access, not O_CREAT");
	if ((flags & (O_TMPFILE & ~O_DIRECTORY)) && (flags & O_TMPFILE) != O_TMPFILE)
		return fs_error(-EINVAL, "open: __O_TMPFILE without O_DIRECTORY");
	if (flags & O_PATH)
		return fs_error(-EOPNOTSUPP, "open: O_PATH is not supported");
	if ((flags & O_DIRECTORY) && (flags & O_CREAT))
		return fs_error(-EINVAL, "open: O_CREAT with O_DIRECTORY");
	if ((flags & O_TRUNC) && !wr)
		return fs_error(-EINVAL, "open: O_TRUNC needs write access");
	return wr ? fs_check_rw(fs) : 0;
}

int fs_open_finish(struct udax_fs *fs, struct fs_inode *i, int flags,
		   bool created, struct udax_file *f)
{
	int ret;

	if (S_ISDIR(i->mode) && (flags & O_ACCMODE) != O_RDONLY)
		return fs_error(-EISDIR, "open: is a directory");
	if (fs_mode_special(i->mode))
		return fs_error(-ENXIO, "open: a FIFO, socket or device has no data here");
	if ((flags & O_TMPFILE) != O_TMPFILE && (flags & O_DIRECTORY) &&
	    !S_ISDIR(i->mode))
		return fs_error(-ENOTDIR, "open: O_DIRECTORY on a non-directory");
	f->fs = fs;
	f->inode = i;
	f->flags = flags;
	if ((flags & O_TRUNC) && !created) {
		pthread_rwlock_wrlock(&i->lock);
		ret = i->size ? truncate_locked(f, 0, NULL) : 0;
		pthread_rwlock_unlock(&i->lock);
		if (ret)
			return ret;
	}
	return 0;
}

int udax_open(struct udax_fs *fs, const char *path, int flags, mode_t mode,
	      struct udax_file **out)
{
	return udax_open_cred(fs, path, flags, mode, NULL, out);
}

int udax_open_cred(struct udax_fs *fs, const char *path, int flags,
		   mode_t mode, const struct udax_cred *cred,
		   struct udax_file **out)
{
	struct fs_inode *i;
	struct udax_file *f;
	bool created;
	int ret;

	if (!fs || !out)
		return fs_error(-EINVAL, "open: bad argument");
	*out = NULL;
	if (fork_inherited(fs->fork_gen))
		return fs_err_inherited(fs, "open");
	ret = fs_open_check(fs, flags);
	if (ret)
		return ret;
	/* The handle first: a create must not commit and then fail. */
	f = fault_calloc(1, sizeof(*f));
	if (!f)
		return fs_error(-ENOMEM, "open: no memory for a handle");
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		ret = fs_ns_tmpfile(fs, path, mode, cred, &i);
		created = true;
	} else {
		ret = fs_ns_open(fs, path, flags, mode, cred, &i, &created);
	}
	if (ret) {
		free(f);
		return ret;
	}
	ret = fs_open_finish(fs, i, flags, created, f);
	if (ret) {
		fs_iput(i);
		free(f);
		return ret;
	}
	*out = f;
	return 0;
}

int udax_close(struct udax_file **pf)
{
	int ret;

	if (!pf || !*pf)
		return 0;
	if (fork_inherited((*pf)->fs->fork_gen))
		return fs_err_inherited((*pf)->fs, "close");
	ret = fs_iput((*pf)->inode);
	free(*pf);
	*pf = NULL;
	return ret;
}

static int check_write(struct udax_file *f)
{
	if (!f)
		return fs_error(-EINVAL, "no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "write");
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return fs_error(-EBADF, "file not open for writing");
	if (S_ISDIR(f->inode->mode))
		return fs_error(-EISDIR, "is a directory");
	return fs_check_rw(f->fs);
}

/* ---- read ---------------------------------------------------------------------- */

ssize_t udax_pread(struct udax_file *f, void *buf, size_t n, uint64_t off)
{
	const struct fs_extent *e;
	struct fs_inode *i;
	struct fs_xpos xp;
	uint64_t end, pos;

	if (!f || (!buf && n))
		return fs_error(-EINVAL, "pread: bad argument");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "pread");
	if ((f->flags & O_ACCMODE) == O_WRONLY)
		return fs_error(-EBADF, "file not open for reading");
	i = f->inode;
	if (S_ISDIR(i->mode))
		return fs_error(-EISDIR, "is a directory");
	if (n > SSIZE_MAX)
		n = SSIZE_MAX;
	pthread_rwlock_rdlock(&i->lock);
	if (off >= i->size || !n) {
		pthread_rwlock_unlock(&i->lock);
		return 0;
	}
	end = n < i->size - off ? off + n : i->size;
	pos = off;
	e = fs_xmap_seek(i, off / FS_BS, &xp);
	while (pos < end) {
		uint64_t lb = pos / FS_BS, stop;

		if (e && e->lblk <= lb) {
			stop = (e->lblk + e->len) * FS_BS;
			if (stop > end)
				stop = end;
			if (e->flags & FS_EXT_UNWRITTEN)
				memset((char *)buf + (pos - off), 0, stop - pos);
			else
				memcpy((char *)buf + (pos - off),
				       (char *)fs_block_addr(f->fs, e->pblk) +
				       (pos - e->lblk * FS_BS), stop - pos);
			e = fs_xmap_next(i, &xp);
		} else {
			stop = e ? e->lblk * FS_BS : end;
			if (stop > end)
				stop = end;
			memset((char *)buf + (pos - off), 0, stop - pos);
		}
		pos = stop;
	}
	pthread_rwlock_unlock(&i->lock);
	return (ssize_t)(end - off);
}

/* ---- write -------------------------------------------------------------------------- */

/* Blocks an operation allocated: given back if it fails. */
struct fresh {
	struct fs_extent *v;
	uint32_t n, cap;
	int err;
};

static void fresh_free(struct udax_fs *fs, struct fresh *fr)
{
	for (uint32_t k = 0; k < fr->n; k++)
		fs_block_free(fs, fr->v[k].pblk, fr->v[k].len);
	fr->n = 0;
}

static void fresh_note(struct fresh *fr, const struct fs_extent *e)
{
	if (fr->n == fr->cap) {
		uint32_t cap = fr->cap ? 2 * fr->cap : 8;
		struct fs_extent *v = fault_realloc(fr->v, cap * sizeof(*v));

		if (!v) {
			fr->err = -ENOMEM;
			return;
		}
		fr->v = v;
		fr->cap = cap;
	}
	fr->v[fr->n++] = *e;
}

/* Map every hole of [lb, lb + nb) in @m with fresh blocks (flags @fl). */
static int fill_holes(struct udax_fs *fs, struct fs_inode *ino,
		      struct fs_emap *m, uint64_t lb, uint64_t nb, uint32_t fl,
		      struct fresh *fr)
{
	uint64_t pos = lb, end = lb + nb;

	while (pos < end) {
		uint32_t k = fs_emap_find(m->v, m->n, pos);
		uint64_t hole_end, goal = 0, p, got;
		struct fs_extent e;
		int ret;

		if (k < m->n && m->v[k].lblk <= pos) {
			pos = m->v[k].lblk + m->v[k].len;
			continue;
		}
		hole_end = k < m->n && m->v[k].lblk < end ? m->v[k].lblk : end;
		if (k)
			goal = m->v[k - 1].pblk + (pos - m->v[k - 1].lblk);
		if (hole_end - pos > FS_DEXT_MAXLEN)
			hole_end = pos + FS_DEXT_MAXLEN;
		/* A hole no extent follows: the file grows there. */
		ret = fs_block_alloc_rsv(fs, ino, goal, hole_end - pos, pos,
					 k == m->n && m->lb >= ino->nleaf, &p, &got);
		if (ret)
			return ret;
		e = (struct fs_extent){ .lblk = pos, .pblk = p,
					.len = (uint32_t)got, .flags = fl };
		ret = fs_emap_insert(m, &e);
		if (!ret) {
			fresh_note(fr, &e);
			ret = fr->err;
		}
		if (ret) {
			if (fr->n && fr->v[fr->n - 1].pblk == p)
				fr->n--;
			fs_block_free(fs, p, got);
			return ret;
		}
		pos += got;
	}
	return 0;
}

/* Re-flag unwritten extents of [lb, lb + nb) in @m as @fl. */
static int reflag_unwritten(struct fs_emap *m, uint64_t lb, uint64_t nb,
			    uint32_t from, uint32_t fl)
{
	uint64_t pos = lb, end = lb + nb;

	while (pos < end) {
		uint32_t k = fs_emap_find(m->v, m->n, pos);
		struct fs_extent e;
		uint64_t s, f;
		int ret;

		if (k == m->n || m->v[k].lblk >= end)
			break;
		e = m->v[k];
		s = e.lblk > pos ? e.lblk : pos;
		f = e.lblk + e.len < end ? e.lblk + e.len : end;
		if (e.flags == from) {
			ret = fs_emap_remove(m, s, f - s, NULL, NULL);
			e.pblk += s - e.lblk;
			e.lblk = s;
			e.len = (uint32_t)(f - s);
			e.flags = fl;
			if (!ret)
				ret = fs_emap_insert(m, &e);
			if (ret)
				return ret;
		}
		pos = f;
	}
	return 0;
}

/*
 * After a failed write: zero again the bytes [from, end) it may have
 * stored past the end of file in blocks mapped and written before it.
 * (Its fresh blocks go back to the allocator and the unwritten ones it
 * converted stay unwritten: their bytes are never read.)  Keeps "bytes
 * past the end of file are zero", which a later extension relies on.
 */
static int unwrite_tail(struct udax_fs *fs, const struct fs_emap *m,
			uint64_t from, uint64_t end)
{
	int ret = 0;

	for (uint32_t k = fs_emap_find(m->v, m->n, from / FS_BS);
	     k < m->n && m->v[k].lblk * FS_BS < end && !ret; k++) {
		const struct fs_extent *e = &m->v[k];
		uint64_t s = e->lblk * FS_BS, f = (e->lblk + e->len) * FS_BS;

		if (e->flags & (FS_EXT_FRESH | FS_EXT_UNWRITTEN))
			continue;
		if (s < from)
			s = from;
		if (f > end)
			f = end;
		ret = udax_dev_memset_persist(fs->dev,
					      (char *)fs_block_addr(fs, e->pblk) +
					      (s - e->lblk * FS_BS), 0, f - s, 0);
	}
	return ret;
}

/* Copy file bytes [from, to) of the write (buffer @buf at file offset
 * @off) to @dst, the device address of @from; flushed, not drained. */
static int copy_in_place(struct udax_fs *fs, char *dst, const void *buf,
			 uint64_t off, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	return udax_dev_memcpy_persist(fs->dev, dst, (const char *)buf + (from - off),
				       to - from, UDAX_PERSIST_NODRAIN);
}

/*
 * A file that grows makes the bytes of its old last block past @old_size
 * (up to @upto) part of the file.  The file system never stores there, but
 * zero-copy access may have: the last block of a file is a whole block to
 * pins, views and DMA (fs.h "Zero-copy ranges"), so a writable view or a
 * transfer into the file can leave bytes past the end of file.  Journal
 * zeroes over them, in the transaction that grows the size, when they are
 * not zero already (the kernel zeroes the EOF block the same way, for mmap
 * stores past EOF).  Costs a scan of at most one block when a file grows.
 */
static void tail_zero(struct udax_fs *fs, struct fs_txn *t,
		      const struct fs_inode *ino, const struct fs_emap *m,
		      uint64_t old_size, uint64_t upto)
{
	static const char zero[FS_BS];
	uint64_t blk = old_size / FS_BS, bend = (blk + 1) * FS_BS;
	const struct fs_extent *e = NULL;
	struct fs_xpos p;
	const char *src;

	if (!(old_size % FS_BS))
		return;
	if (upto > bend)
		upto = bend;
	if (upto <= old_size)
		return;
	/* The operation's window when it holds the block (it may have
	 * replaced it), else the inode's map. */
	if (m) {
		uint32_t k = fs_emap_find(m->v, m->n, blk);

		if (k < m->n && m->v[k].lblk <= blk)
			e = &m->v[k];
	}
	if (!e)
		e = fs_xmap_seek(ino, blk, &p);
	if (!e || e->lblk > blk || (e->flags & (FS_EXT_FRESH | FS_EXT_UNWRITTEN)))
		return;		/* a hole, fresh (zeroed) or never read */
	src = (const char *)fs_block_addr(fs, e->pblk + (blk - e->lblk)) +
	      old_size % FS_BS;
	for (uint64_t n = 0; n < upto - old_size; n++) {
		if (src[n]) {
			t->settle = true;	/* a data block (journal.c) */
			fs_txn_add(t, (uint64_t)(src - fs->base), zero,
				   upto - old_size);
			return;
		}
	}
}

/*
 * Write with ino->lock held for write.  Returns bytes or -errno.
 *
 * Order: allocate the holes, build the transaction that maps them (its
 * extent-chain blocks allocated too), and only then store data: -ENOSPC
 * or -ENOMEM changes nothing.  A persistence error on the data comes
 * before the commit point: the write fails, its fresh blocks go back,
 * bytes it stored past the old end of file are zeroed again, and data it
 * overwrote in place holds old or new bytes (in-place overwrites are not
 * atomic).  No shutdown is needed for that: nothing on media maps a fresh
 * block before the commit.
 *
 * Bytes past the old size in its (mapped) last block must read as zero on
 * media until the new size commits: a crash in between would otherwise
 * leave non-zero bytes past the size, which a later extension exposes.
 * They go into the transaction with the size instead of in place.
 */
static ssize_t write_locked(struct udax_file *f, const void *buf, size_t n,
			    uint64_t off)
{
	struct udax_fs *fs = f->fs;
	struct fs_inode *i = f->inode;
	uint64_t lb, nb, pos, end, old_size = i->size, tlo, thi, toff = 0;
	int64_t mt = i->mtime, ct = i->ctime, now;
	bool changed = false, txn, stored = false;
	struct fresh fr = { 0 };
	struct fs_emap m, fin = { 0 };
	struct fs_txn t;
	int ret;

	if (off >= FS_MAX_SIZE)
		return fs_error(-EFBIG, "write past the maximum file size");
	if (n > FS_MAX_SIZE - off)
		n = FS_MAX_SIZE - off;
	if (n > SSIZE_MAX)
		n = SSIZE_MAX & ~(size_t)(FS_BS - 1);
	if (!n)
		return 0;
	/* A plain append growing the last extent: one log record (log.c). */
	ret = fs_log_append(f, buf, n, off, &n);
	if (ret)
		return ret < 0 ? ret : (ssize_t)n;
	end = off + n;
	lb = off / FS_BS;
	nb = (end + FS_BS - 1) / FS_BS - lb;
	ret = fs_emap_window(&m, i, lb, lb + nb);
	if (ret)
		return ret;
	fs_txn_init(&t, fs);
	ret = fill_holes(fs, i, &m, lb, nb, FS_EXT_FRESH, &fr);
	if (!ret)
		ret = reflag_unwritten(&m, lb, nb, FS_EXT_UNWRITTEN,
				       FS_EXT_FRESH | FS_EXT_UNWRITTEN);
	if (ret)
		goto fail;
	for (uint32_t k = 0; k < m.n; k++)
		if (m.v[k].flags & FS_EXT_FRESH)
			changed = true;
	txn = changed || end > i->size;
	now = fs_now();
	/* [tlo, thi): the part of the write past the old size, in the old
	 * last block when that block is mapped and written (not fresh). */
	tlo = off > old_size ? off : old_size;
	thi = (old_size + FS_BS - 1) & ~(uint64_t)(FS_BS - 1);
	if (thi > end)
		thi = end;
	/* The gap between the old end and a write past it reads as zero. */
	if (off > old_size)
		tail_zero(fs, &t, i, &m, old_size, off);
	if (tlo < thi) {
		uint32_t k = fs_emap_find(m.v, m.n, tlo / FS_BS);

		if (k < m.n && m.v[k].lblk <= tlo / FS_BS &&
		    !(m.v[k].flags & FS_EXT_FRESH)) {
			toff = (uint64_t)((char *)fs_block_addr(fs, m.v[k].pblk) -
					  fs->base) + (tlo - m.v[k].lblk * FS_BS);
			t.settle = true;	/* a data block (journal.c) */
			fs_txn_add(&t, toff, (const char *)buf + (tlo - off),
				   thi - tlo);
		}
	}
	if (txn) {
		/* The map after the write: fresh and converted blocks are
		 * written by the time it commits. */
		ret = fs_emap_copy(&fin, &m);
		if (ret)
			goto fail;
		for (uint32_t k = 0; k < fin.n; k++)
			if (fin.v[k].flags & FS_EXT_FRESH)
				fin.v[k].flags = 0;
		fs_emap_normalize(&fin);
		if (end > i->size)
			i->size = end;
		i->mtime = i->ctime = now;
		ret = fs_txn_inode(&t, i, &fin);
		if (ret)
			goto fail;
	}
	/* Data: fresh blocks whole, mapped blocks in place. */
	stored = true;
	pos = off;
	for (uint32_t k = fs_emap_find(m.v, m.n, lb); pos < end && !ret; k++) {
		struct fs_extent *e = &m.v[k];
		uint64_t stop = (e->lblk + e->len) * FS_BS;
		char *dst = (char *)fs_block_addr(fs, e->pblk) +
			    (pos - e->lblk * FS_BS);

		if (stop > end)
			stop = end;
		if (e->flags & FS_EXT_FRESH) {
			uint64_t head = pos % FS_BS, tail = (FS_BS - stop % FS_BS) % FS_BS;

			ret = udax_dev_memset_persist(fs->dev, dst - head, 0, head,
						      UDAX_PERSIST_NODRAIN);
			if (!ret)
				ret = udax_dev_memset_persist(fs->dev, dst + (stop - pos),
							      0, tail,
							      UDAX_PERSIST_NODRAIN);
		}
		if (ret)
			break;
		if (toff && !(e->flags & FS_EXT_FRESH) && pos < thi && stop > tlo) {
			/* The old last block's tail: through the journal. */
			ret = copy_in_place(fs, dst, buf, off, pos, tlo);
			if (!ret)
				ret = copy_in_place(fs, dst + (thi - pos), buf,
						    off, thi, stop);
		} else {
			ret = copy_in_place(fs, dst, buf, off, pos, stop);
		}
		pos = stop;
	}
	/* With a transaction, the drain of its body (same thread, before the
	 * commit record) makes these flushes durable too: one fence for both. */
	if (!ret && !txn)
		ret = udax_dev_drain(fs->dev);
	if (ret) {
		ret = fs_error(ret, "write: inode %u: persisting data failed: %s",
			       i->ino, udax_strerror(ret));
		goto fail;
	}
	if (txn) {
		ret = fs_txn_commit(&t);
		if (ret)
			goto fail;
		fs_inode_set_extents(i, &t);
		i->times_dirty = false;
	} else {
		i->mtime = i->ctime = now;
		i->times_dirty = true;
	}
	fs_txn_free(&t);
	free(fin.v);
	free(fr.v);
	free(m.v);
	return (ssize_t)n;
fail:
	fs_txn_abort(&t);
	fs_txn_free(&t);
	i->size = old_size;
	i->mtime = mt;
	i->ctime = ct;
	fresh_free(fs, &fr);
	/* Shut down: media may hold the committed write; leave it alone. */
	if (stored && end > old_size && !fs_is_shut_down(fs)) {
		int err = unwrite_tail(fs, &m, off > old_size ? off : old_size, end);

		if (err) {
			fs_shutdown(fs, err, "write (zeroing bytes past the end of file)");
			if (ret != -EIO)
				fs_error(ret, "write failed, and zeroing past the end of file then failed too");
		}
	}
	free(fin.v);
	free(fr.v);
	free(m.v);
	return ret;
}

/*
 * O_DSYNC asks nothing more: every write is durable when it returns (its
 * data drained, its metadata committed).  O_SYNC adds the lazily kept
 * mtime and ctime of an in-place write: committed before return.
 */
static ssize_t write_sync(struct udax_file *f, ssize_t ret)
{
	int err;

	if (ret < 0 || (f->flags & O_SYNC) != O_SYNC)
		return ret;
	err = udax_fsync(f);
	return err ? err : ret;
}

ssize_t udax_pwrite(struct udax_file *f, const void *buf, size_t n, uint64_t off)
{
	ssize_t ret = check_write(f);

	if (ret)
		return ret;
	if (!buf && n)
		return fs_error(-EINVAL, "pwrite: no buffer");
	pthread_rwlock_wrlock(&f->inode->lock);
	/* Like Linux: a handle opened O_APPEND writes at the end. */
	if (f->flags & O_APPEND)
		off = f->inode->size;
	ret = write_locked(f, buf, n, off);
	pthread_rwlock_unlock(&f->inode->lock);
	fs_log_maybe_retire(f->fs);
	return write_sync(f, ret);
}

ssize_t udax_append(struct udax_file *f, const void *buf, size_t n,
		    uint64_t *where)
{
	ssize_t ret = check_write(f);
	uint64_t off;

	if (ret)
		return ret;
	if (!buf && n)
		return fs_error(-EINVAL, "append: no buffer");
	pthread_rwlock_wrlock(&f->inode->lock);
	off = f->inode->size;
	ret = write_locked(f, buf, n, off);
	pthread_rwlock_unlock(&f->inode->lock);
	fs_log_maybe_retire(f->fs);
	if (ret >= 0 && where)
		*where = off;
	return write_sync(f, ret);
}

int udax_fdatasync(struct udax_file *f)
{
	if (!f)
		return fs_error(-EINVAL, "no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "fdatasync");
	if (fs_is_shut_down(f->fs))
		return fs_check_rw(f->fs);
	/* Data was flushed by the writes, metadata committed per operation. */
	return udax_dev_drain(f->fs->dev);
}

int udax_fsync(struct udax_file *f)
{
	int ret;

	if (!f)
		return fs_error(-EINVAL, "no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "fsync");
	if (fs_is_shut_down(f->fs))
		return fs_check_rw(f->fs);
	if (!C(f->fs)->rdonly) {
		pthread_rwlock_wrlock(&f->inode->lock);
		ret = fs_inode_sync_times(f->inode);
		pthread_rwlock_unlock(&f->inode->lock);
		if (ret)
			return ret;
	}
	return udax_dev_drain(f->fs->dev);
}

int udax_fstat(struct udax_file *f, struct udax_stat *st)
{
	if (!f || !st)
		return fs_error(-EINVAL, "fstat: bad argument");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "fstat");
	pthread_rwlock_rdlock(&f->inode->lock);
	fs_inode_fill(f->inode, st);
	pthread_rwlock_unlock(&f->inode->lock);
	return 0;
}

/* ---- operations that free or move blocks ----------------------------------------- */

struct freelist {
	struct fs_extent *v;
	uint32_t n, cap;
	int err;
};

static void collect(const struct fs_extent *e, void *arg)
{
	struct freelist *fl = arg;

	if (fl->n == fl->cap) {
		uint32_t cap = fl->cap ? 2 * fl->cap : 8;
		struct fs_extent *v = fault_realloc(fl->v, cap * sizeof(*v));

		if (!v) {
			fl->err = -ENOMEM;
			return;
		}
		fl->v = v;
		fl->cap = cap;
	}
	fl->v[fl->n++] = *e;
}

/*
 * Finish an operation on @i that built @m: commit @m and the inode record,
 * then free @fl through the break.  Called with the break started.
 */
/* commit_map with udax_setattr's other attributes (@a, may be NULL) set
 * in the same record, after the size's own times. */
static int commit_map_attr(struct udax_file *f, struct fs_txn *t,
			   struct fs_emap *m, struct freelist *fl,
			   struct fs_break *br, uint64_t newsize,
			   const struct fs_iattr *a)
{
	struct fs_inode *i = f->inode;
	uint64_t old = i->size;
	int64_t mt = i->mtime, ct = i->ctime, at = i->atime;
	uint32_t mode = i->mode, uid = i->uid, gid = i->gid;
	int ret = fl->err;

	if (m)
		fs_emap_normalize(m);
	i->size = newsize;
	i->mtime = i->ctime = fs_now();
	if (a)
		fs_iattr_apply(i, a);
	if (!ret)
		ret = fs_txn_inode(t, i, m);
	if (!ret)
		ret = fs_txn_commit(t);
	if (!ret) {
		fs_inode_set_extents(i, t);
		i->times_dirty = false;
		for (uint32_t k = 0; k < fl->n; k++)
			fs_break_free(br, fl->v[k].pblk, fl->v[k].len);
	} else {
		fs_txn_abort(t);
		i->size = old;
		i->mtime = mt;
		i->ctime = ct;
		i->atime = at;
		i->mode = mode;
		i->uid = uid;
		i->gid = gid;
	}
	return ret;
}

static int commit_map(struct udax_file *f, struct fs_txn *t, struct fs_emap *m,
		      struct freelist *fl, struct fs_break *br, uint64_t newsize)
{
	return commit_map_attr(f, t, m, fl, br, newsize, NULL);
}

static int truncate_attr(struct udax_file *f, uint64_t size,
			 const struct udax_break_opts *brk,
			 const struct fs_iattr *a)
{
	struct udax_fs *fs = f->fs;
	struct fs_inode *i = f->inode;
	struct freelist fl = { 0 };
	struct fs_emap m = { 0 };
	struct fs_break br;
	struct fs_kept k;
	struct fs_txn t;
	uint64_t keep;
	int ret;

	if (size >= i->size) {
		/* Up: what zero-copy stores left past the end goes. */
		fs_txn_init(&t, fs);
		tail_zero(fs, &t, i, NULL, i->size, size);
		ret = commit_map_attr(f, &t, NULL, &fl, NULL, size, a);
		fs_txn_free(&t);
		return ret;
	}
	keep = (size + FS_BS - 1) / FS_BS;
	/*
	 * The break starts at the block holding the new end of file, not
	 * after it: zeroing that block's tail is a change DMA must not race
	 * (a DMA landing after the zeroes would put bytes past the end of
	 * file, which a later extension exposes).  A break that did not wait
	 * (DEFER) leaves the block pinned: fs_kept_zero copies it.
	 */
	ret = fs_layout_break(fs, i, size / FS_BS, FS_MAX_LBLK - size / FS_BS,
			      brk, &br);
	if (ret)
		return ret;
	/* The lock may have been dropped: everything is read again here. */
	fs_txn_init(&t, fs);
	fs_kept_init(&k, fs, i, &t, &m);
	ret = fs_emap_window(&m, i, size / FS_BS, FS_MAX_LBLK);
	if (!ret && size < i->size) {
		ret = fs_kept_zero(&k, size, size % FS_BS ? FS_BS - size % FS_BS : 0);
		if (!ret)
			ret = fs_emap_remove(&m, keep, FS_MAX_LBLK - keep, collect, &fl);
	}
	if (!ret)
		ret = commit_map_attr(f, &t, &m, &fl, &br,
				      size < i->size ? size : i->size, a);
	fs_kept_finish(&k, &br, !ret);
	fs_break_end(&br);
	fs_txn_free(&t);
	free(m.v);
	free(fl.v);
	return ret;
}

static int truncate_locked(struct udax_file *f, uint64_t size,
			   const struct udax_break_opts *brk)
{
	return truncate_attr(f, size, brk, NULL);
}

int fs_truncate_attr(struct udax_fs *fs, struct fs_inode *ino, uint64_t size,
		     const struct udax_break_opts *brk, const struct fs_iattr *a)
{
	struct udax_file f = { .fs = fs, .inode = ino, .flags = O_RDWR };

	return truncate_attr(&f, size, brk, a);
}

int udax_ftruncate_ex(struct udax_file *f, uint64_t size,
		      const struct udax_break_opts *brk)
{
	int ret;

	if (!f)
		return fs_error(-EINVAL, "no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "ftruncate");
	if ((f->flags & O_ACCMODE) == O_RDONLY || S_ISDIR(f->inode->mode))
		return fs_error(-EINVAL, "ftruncate: not open for writing or not a file");
	ret = fs_check_rw(f->fs);
	if (ret)
		return ret;
	if (size > FS_MAX_SIZE)
		return fs_error(-EFBIG, "ftruncate: size past the maximum");
	pthread_rwlock_wrlock(&f->inode->lock);
	ret = truncate_locked(f, size, brk);
	pthread_rwlock_unlock(&f->inode->lock);
	return ret;
}

int udax_ftruncate(struct udax_file *f, uint64_t size)
{
	return udax_ftruncate_ex(f, size, NULL);
}

/* Split the extent of @m that crosses @lb, so that none does. */
static int split_at(struct fs_emap *m, uint64_t lb)
{
	uint32_t k = fs_emap_find(m->v, m->n, lb);
	struct fs_extent e;
	int ret;

	if (k == m->n || m->v[k].lblk >= lb)
		return 0;
	e = m->v[k];
	ret = fs_emap_remove(m, lb, e.lblk + e.len - lb, NULL, NULL);
	e.len = (uint32_t)(e.lblk + e.len - lb);
	e.pblk += lb - e.lblk;
	e.lblk = lb;
	return ret ? ret : fs_emap_insert(m, &e);
}

int udax_fallocate_ex(struct udax_file *f, int mode, uint64_t off, uint64_t len,
		      const struct udax_break_opts *brk)
{
	const int all = UDAX_FALLOC_KEEP_SIZE | UDAX_FALLOC_PUNCH_HOLE |
			UDAX_FALLOC_COLLAPSE_RANGE | UDAX_FALLOC_ZERO_RANGE |
			UDAX_FALLOC_INSERT_RANGE;
	struct freelist fl = { 0 };
	struct fs_emap m = { 0 };
	struct udax_fs *fs;
	struct fs_inode *i;
	struct fs_break br;
	bool broke = false;
	struct fs_kept k;
	struct fs_txn t;
	struct fresh fr = { 0 };
	uint64_t end, lb, le, size;
	int ret;

	if (!f)
		return fs_error(-EINVAL, "no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "fallocate");
	fs = f->fs;
	i = f->inode;
	/* The checks of Linux's vfs_fallocate(), in its order. */
	if ((int64_t)off < 0 || (int64_t)len <= 0)
		return fs_error(-EINVAL, "fallocate: bad offset or length");
	if (mode & ~all)
		return fs_error(-EOPNOTSUPP, "fallocate: unsupported mode 0x%x", mode);
	if ((mode & UDAX_FALLOC_PUNCH_HOLE) && (mode & UDAX_FALLOC_ZERO_RANGE))
		return fs_error(-EOPNOTSUPP, "fallocate: punch and zero together");
	if ((mode & UDAX_FALLOC_PUNCH_HOLE) && !(mode & UDAX_FALLOC_KEEP_SIZE))
		return fs_error(-EOPNOTSUPP, "fallocate: punch needs KEEP_SIZE");
	if (((mode & UDAX_FALLOC_COLLAPSE_RANGE) && mode != UDAX_FALLOC_COLLAPSE_RANGE) ||
	    ((mode & UDAX_FALLOC_INSERT_RANGE) && mode != UDAX_FALLOC_INSERT_RANGE))
		return fs_error(-EINVAL, "fallocate: collapse/insert take no other flag");
	if ((f->flags & O_ACCMODE) == O_RDONLY)
		return fs_error(-EBADF, "file not open for writing");
	if (S_ISDIR(i->mode))
		return fs_error(-EISDIR, "is a directory");
	ret = fs_check_rw(fs);
	if (ret)
		return ret;
	if (off + len > FS_MAX_SIZE || off + len < off)
		return fs_error(-EFBIG, "fallocate: past the maximum file size");
	if ((mode & (UDAX_FALLOC_COLLAPSE_RANGE | UDAX_FALLOC_INSERT_RANGE)) &&
	    ((off | len) % FS_BS))
		return fs_error(-EINVAL, "fallocate: collapse/insert not block-aligned");
	end = off + len;
	lb = off / FS_BS;
	le = (end + FS_BS - 1) / FS_BS;

	pthread_rwlock_wrlock(&i->lock);
	fs_txn_init(&t, fs);
	fs_kept_init(&k, fs, i, &t, &m);
	if (mode & (UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_ZERO_RANGE)) {
		/* Whole blocks [ceil(off), floor(end)) lose their data. */
		uint64_t wb = (off + FS_BS - 1) / FS_BS, we = end / FS_BS;

		ret = fs_layout_break(fs, i, lb, le - lb, brk, &br);
		if (ret)
			goto out;
		broke = true;
		size = i->size;
		ret = fs_emap_window(&m, i, lb, le);
		if (ret)
			goto out;
		if (wb > we) {		/* inside one block */
			ret = fs_kept_zero(&k, off, len);
		} else {
			ret = fs_kept_zero(&k, off, wb * FS_BS - off);
			if (!ret)
				ret = fs_kept_zero(&k, we * FS_BS, end - we * FS_BS);
		}
		if (ret)
			goto out;
		if (mode & UDAX_FALLOC_PUNCH_HOLE) {
			if (wb < we)
				ret = fs_emap_remove(&m, wb, we - wb, collect, &fl);
		} else {
			if (wb < we)
				ret = fs_kept_unwritten(&k, wb, we - wb);
			if (!ret && wb < we)
				ret = reflag_unwritten(&m, wb, we - wb, 0,
						       FS_EXT_UNWRITTEN);
			if (!ret)
				ret = fill_holes(fs, i, &m, lb, le - lb,
						 FS_EXT_UNWRITTEN, &fr);
			if (!(mode & UDAX_FALLOC_KEEP_SIZE) && end > size)
				size = end;
		}
	} else if (mode & (UDAX_FALLOC_COLLAPSE_RANGE | UDAX_FALLOC_INSERT_RANGE)) {
		const struct fs_extent *last = fs_xmap_last(i);
		uint64_t nb = len / FS_BS;

		if (off >= i->size || ((mode & UDAX_FALLOC_COLLAPSE_RANGE) &&
				       end >= i->size)) {
			ret = fs_error(-EINVAL, "fallocate: range reaches the end of file");
			goto out;
		}
		if ((mode & UDAX_FALLOC_INSERT_RANGE) &&
		    (i->size + len > FS_MAX_SIZE ||
		     (last && last->lblk + last->len + nb > FS_MAX_LBLK))) {
			ret = fs_error(-EFBIG, "fallocate: insert past the maximum file size");
			goto out;
		}
		ret = fs_layout_break(fs, i, lb, FS_MAX_LBLK - lb, brk, &br);
		if (ret)
			goto out;
		broke = true;
		/* Check again: the break may have let others change the file. */
		if (off >= i->size || ((mode & UDAX_FALLOC_COLLAPSE_RANGE) &&
				       end >= i->size) ||
		    ((mode & UDAX_FALLOC_INSERT_RANGE) &&
		     (i->size + len > FS_MAX_SIZE ||
		      ((last = fs_xmap_last(i)) &&
		       last->lblk + last->len + nb > FS_MAX_LBLK)))) {
			ret = fs_error(-EINVAL, "fallocate: file changed during the break");
			goto out;
		}
		ret = fs_emap_window(&m, i, lb, FS_MAX_LBLK);
		if (ret)
			goto out;
		if (mode & UDAX_FALLOC_COLLAPSE_RANGE) {
			ret = fs_emap_remove(&m, lb, nb, collect, &fl);
			fs_emap_shift(&m, lb + nb, -(int64_t)nb);
			size = i->size - len;
		} else {
			ret = split_at(&m, lb);
			fs_emap_shift(&m, lb, (int64_t)nb);
			size = i->size + len;
		}
	} else {
		/* Allocate: holes become unwritten extents. */
		size = i->size;
		ret = fs_emap_window(&m, i, lb, le);
		if (!ret)
			ret = fill_holes(fs, i, &m, lb, le - lb, FS_EXT_UNWRITTEN,
					 &fr);
		if (!(mode & UDAX_FALLOC_KEEP_SIZE) && end > size)
			size = end;
	}
	/* Growing in place (not insert: its old tail stays past the end). */
	if (!ret && size > i->size && !(mode & UDAX_FALLOC_INSERT_RANGE))
		tail_zero(fs, &t, i, &m, i->size, size);
	if (!ret)
		ret = commit_map(f, &t, &m, &fl, broke ? &br : NULL, size);
	if (ret)
		fresh_free(fs, &fr);	/* nothing on media maps them */
out:
	fs_kept_finish(&k, &br, !ret);
	if (broke)
		fs_break_end(&br);
	fs_txn_free(&t);
	free(m.v);
	free(fl.v);
	free(fr.v);
	pthread_rwlock_unlock(&i->lock);
	return ret;
}

int udax_fallocate(struct udax_file *f, int mode, uint64_t off, uint64_t len)
{
	return udax_fallocate_ex(f, mode, off, len, NULL);
}
