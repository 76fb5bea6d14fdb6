/* SPDX-License-Identifier: MIT */
/*
 * fs: SEEK_DATA / SEEK_HOLE over an inode's extent map, and
 * copy_file_range as a plain copy through the file API (pread/pwrite in
 * 256 KiB chunks: no block sharing).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/core.h"

/* Data: allocated, written blocks.  Unwritten (fallocated) extents read
 * as zeroes and count as holes, as on ext4 and XFS. */
static const struct fs_extent *next_written(const struct fs_inode *ino,
					    uint64_t lblk, struct fs_xpos *p)
{
	const struct fs_extent *e = fs_xmap_seek(ino, lblk, p);

	while (e && (e->flags & FS_EXT_UNWRITTEN))
		e = fs_xmap_next(ino, p);
	return e;
}

/* SEEK_DATA / SEEK_HOLE from @off, ino->lock held. */
static int64_t seek_locked(struct fs_inode *ino, uint64_t off, int whence)
{
	uint64_t size = ino->size, lblk = off / FS_BS;
	const struct fs_extent *e;
	struct fs_xpos p;

	if (off >= size)
		return fs_error(-ENXIO, "lseek: offset at or past the end of file");
	e = next_written(ino, lblk, &p);
	if (whence == SEEK_DATA) {
		uint64_t at;

		if (!e)
			return fs_error(-ENXIO, "lseek: no data after the offset");
		at = e->lblk > lblk ? e->lblk * FS_BS : off;
		return at < size ? (int64_t)at :
		       fs_error(-ENXIO, "lseek: no data after the offset");
	}
	/* SEEK_HOLE: walk written extents that touch the position. */
	while (e && e->lblk <= lblk) {
		lblk = e->lblk + e->len;
		e = fs_xmap_next(ino, &p);
		while (e && (e->flags & FS_EXT_UNWRITTEN))
			e = fs_xmap_next(ino, &p);
	}
	off = lblk * FS_BS > off ? lblk * FS_BS : off;
	return (int64_t)(off < size ? off : size);
}

int64_t udax_lseek_data(struct udax_file *f, uint64_t off, int whence)
{
	int64_t ret;

	if (!f)
		return fs_error(-EINVAL, "lseek: no file");
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "lseek");
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return fs_error(-EINVAL, "lseek: whence is not SEEK_DATA or SEEK_HOLE");
	if (S_ISDIR(f->inode->mode))
		return fs_error(-EISDIR, "lseek: a directory");
	pthread_rwlock_rdlock(&f->inode->lock);
	ret = seek_locked(f->inode, off, whence);
	pthread_rwlock_unlock(&f->inode->lock);
	return ret;
}

#define COPY_CHUNK	(256u * 1024)

ssize_t udax_copy_file_range(struct udax_file *in, uint64_t off_in,
			     struct udax_file *out, uint64_t off_out,
			     size_t len, unsigned flags)
{
	uint64_t done = 0;
	char *buf;

	if (!in || !out)
		return fs_error(-EINVAL, "copy_file_range: no file");
	if (fork_inherited(in->fs->fork_gen) || fork_inherited(out->fs->fork_gen))
		return fs_err_inherited(in->fs, "copy_file_range");
	if (flags)
		return fs_error(-EINVAL, "copy_file_range: flags must be 0");
	if ((in->flags & O_ACCMODE) == O_WRONLY ||
	    (out->flags & O_ACCMODE) == O_RDONLY || (out->flags & O_APPEND))
		return fs_error(-EBADF, "copy_file_range: in not readable or out "
				"not writable (or O_APPEND)");
	if (S_ISDIR(in->inode->mode) || S_ISDIR(out->inode->mode))
		return fs_error(-EISDIR, "copy_file_range: a directory");
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (off_in + len < off_in || off_out + len < off_out ||
	    off_out + len > FS_MAX_SIZE)
		return fs_error(-EFBIG, "copy_file_range: past the maximum size");
	if (in->inode == out->inode && off_in < off_out + len &&
	    off_out < off_in + len)
		return fs_error(-EINVAL, "copy_file_range: overlapping ranges of one file");
	if (!len)
		return 0;
	buf = fault_malloc(COPY_CHUNK);
	if (!buf)
		return fs_error(-ENOMEM, "copy_file_range: out of memory");
	while (done < len) {
		size_t n = len - done < COPY_CHUNK ? len - done : COPY_CHUNK;
		ssize_t r = udax_pread(in, buf, n, off_in + done), w;

		if (r <= 0) {
			if (r < 0 && !done) {
				free(buf);
				return r;
			}
			break;		/* end of the source */
		}
		w = udax_pwrite(out, buf, (size_t)r, off_out + done);
		if (w < 0) {
			free(buf);
			return done ? (ssize_t)done : w;
		}
		done += (uint64_t)w;
		if (w < r)
			break;
	}
	free(buf);
	return (ssize_t)done;
}
