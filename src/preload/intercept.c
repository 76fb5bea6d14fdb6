/* SPDX-License-Identifier: MIT */
/*
 * libudax-preload.so, the interposed libc functions.  Each one asks first
 * whether its descriptor or path is udax's (one load for a descriptor, a
 * prefix compare for a path); if not, it calls the next definition (libc)
 * untouched.  On a udax path or descriptor it calls libudax, and a call
 * udax cannot serve fails with the errno Linux gives for an operation the
 * file system does not support: it never reaches the kernel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <time.h>
#include <utime.h>

#include "preload/preload.h"

#define PL_EXPORT __attribute__((visibility("default")))

/* glibc declares these only in some configurations. */
PL_EXPORT int __open_2(const char *path, int flags);
PL_EXPORT int __open64_2(const char *path, int flags);
PL_EXPORT int __openat_2(int dirfd, const char *path, int flags);
PL_EXPORT int __openat64_2(int dirfd, const char *path, int flags);
PL_EXPORT int __xstat(int ver, const char *path, struct stat *st);
PL_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st);
PL_EXPORT int __lxstat(int ver, const char *path, struct stat *st);
PL_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st);
PL_EXPORT int __fxstat(int ver, int fd, struct stat *st);
PL_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st);
PL_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
PL_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);
PL_EXPORT int fcntl64(int fd, int cmd, ...);

/* Set errno from a negative errno (or pass a result through). */
static long err(long ret)
{
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

/* The same for functions returning a pointer: NULL. */
static void *err_null(long ret)
{
	errno = (int)-ret;
	return NULL;
}

/*
 * libc declares path arguments nonnull, yet "" with AT_EMPTY_PATH and NULL
 * (utimensat, freopen) are valid: test them out of the compiler's sight.
 */
__attribute__((noinline)) static bool given(const char *p)
{
	return p != NULL;
}

static bool empty_path(const char *p)
{
	return given(p) && !p[0];
}

/* A udax path: where it is, and the path inside the file system. */
struct upath {
	struct pmount *m;
	char in[PATH_MAX];
};

/*
 * 1: udax (@u filled), 0: the kernel's (*@path may then be replaced by the
 * normalised absolute path in @u->in), -1: errno set.
 */
static int upath(int dirfd, const char **path, struct upath *u)
{
	int ret = pl_resolve(dirfd, *path, &u->m, u->in);

	if (ret == 2) {
		*path = u->in;
		return 0;
	}
	return ret < 0 ? (int)err(ret) : ret;
}

/* ---- stat ---------------------------------------------------------------------- */

static dev_t pl_dev(const struct pmount *m)
{
	return makedev(0x75da, (unsigned)m->idx);
}

static void fill_stat(const struct pmount *m, const struct udax_stat *u, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = pl_dev(m);
	st->st_ino = u->ino;
	st->st_mode = u->mode;
	st->st_nlink = u->nlink;
	st->st_uid = u->uid;
	st->st_gid = u->gid;
	st->st_size = (off_t)u->size;
	st->st_blksize = UDAX_FS_BLOCK_SIZE;
	st->st_blocks = (blkcnt_t)(u->blocks * (UDAX_FS_BLOCK_SIZE / 512));
	st->st_atim = u->atime;
	st->st_mtim = u->mtime;
	st->st_ctim = u->ctime;
	st->st_rdev = (dev_t)u->rdev;
}

/* @nofollow: a symbolic link as the last component is described itself. */
static int stat_path(struct upath *u, struct stat *st, bool nofollow)
{
	struct udax_stat us;
	int ret = nofollow ? udax_lstat(u->m->fs, u->in, &us) :
		  udax_stat(u->m->fs, u->in, &us);

	if (ret)
		return (int)err(ret);
	fill_stat(u->m, &us, st);
	return 0;
}

static int stat_desc(struct pdesc *d, struct stat *st)
{
	struct udax_stat us;
	int ret = udax_fstat(d->f, &us);

	if (ret)
		return (int)err(ret);
	fill_stat(d->m, &us, st);
	return 0;
}

static int do_fstat(int fd, struct stat *st)
{
	struct pdesc *d = pl_desc_get(fd);
	int ret;

	if (!d)
		return PL_REAL(fstat)(fd, st);
	ret = stat_desc(d, st);
	pl_desc_put(d);
	return ret;
}

static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct upath u;
	int r;

	if (empty_path(path) && (flags & AT_EMPTY_PATH) && pl_is_udax_fd(dirfd))
		return do_fstat(dirfd, st);
	r = upath(dirfd, &path, &u);
	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(fstatat)(dirfd, path, st, flags);
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return (int)err(-EINVAL);
	return stat_path(&u, st, flags & AT_SYMLINK_NOFOLLOW);
}

PL_EXPORT int stat(const char *path, struct stat *st)
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	return r <= 0 ? (r < 0 ? -1 : PL_REAL(stat)(path, st)) : stat_path(&u, st, false);
}

PL_EXPORT int lstat(const char *path, struct stat *st)
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	return r <= 0 ? (r < 0 ? -1 : PL_REAL(lstat)(path, st)) : stat_path(&u, st, true);
}

PL_EXPORT int fstat(int fd, struct stat *st)
{
	return do_fstat(fd, st);
}

PL_EXPORT int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}

/* struct stat64 is struct stat on LP64. */
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 is stat");

PL_EXPORT int stat64(const char *path, struct stat64 *st)
{
	return stat(path, (struct stat *)st);
}

PL_EXPORT int lstat64(const char *path, struct stat64 *st)
{
	return lstat(path, (struct stat *)st);
}

PL_EXPORT int fstat64(int fd, struct stat64 *st)
{
	return do_fstat(fd, (struct stat *)st);
}

PL_EXPORT int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_fstatat(dirfd, path, (struct stat *)st, flags);
}

/* glibc's pre-2.33 stat entry points, still exported by 2.36 for old binaries. */
PL_EXPORT int __xstat(int ver, const char *path, struct stat *st)
{
	return stat(path, st);
}

PL_EXPORT int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return stat(path, (struct stat *)st);
}

PL_EXPORT int __lxstat(int ver, const char *path, struct stat *st)
{
	return lstat(path, st);
}

PL_EXPORT int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return lstat(path, (struct stat *)st);
}

PL_EXPORT int __fxstat(int ver, int fd, struct stat *st)
{
	return do_fstat(fd, st);
}

PL_EXPORT int __fxstat64(int ver, int fd, struct stat64 *st)
{
	return do_fstat(fd, (struct stat *)st);
}

PL_EXPORT int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}

PL_EXPORT int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return do_fstatat(dirfd, path, (struct stat *)st, flags);
}

static void fill_statx(const struct pmount *m, const struct udax_stat *u, struct statx *sx)
{
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS | STATX_BTIME;
	sx->stx_blksize = UDAX_FS_BLOCK_SIZE;
	sx->stx_nlink = u->nlink;
	sx->stx_uid = u->uid;
	sx->stx_gid = u->gid;
	sx->stx_mode = (uint16_t)u->mode;
	sx->stx_ino = u->ino;
	sx->stx_size = u->size;
	sx->stx_blocks = u->blocks * (UDAX_FS_BLOCK_SIZE / 512);
	sx->stx_atime = (struct statx_timestamp){ u->atime.tv_sec, (uint32_t)u->atime.tv_nsec, 0 };
	sx->stx_mtime = (struct statx_timestamp){ u->mtime.tv_sec, (uint32_t)u->mtime.tv_nsec, 0 };
	sx->stx_ctime = (struct statx_timestamp){ u->ctime.tv_sec, (uint32_t)u->ctime.tv_nsec, 0 };
	sx->stx_btime = (struct statx_timestamp){ u->btime.tv_sec, (uint32_t)u->btime.tv_nsec, 0 };
	sx->stx_dev_major = major(pl_dev(m));
	sx->stx_dev_minor = minor(pl_dev(m));
	sx->stx_rdev_major = major((dev_t)u->rdev);
	sx->stx_rdev_minor = minor((dev_t)u->rdev);
}

PL_EXPORT int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *sx)
{
	struct udax_stat us;
	struct pdesc *d = NULL;
	struct upath u;
	int ret, r;

	if (empty_path(path) && (flags & AT_EMPTY_PATH) && (d = pl_desc_get(dirfd))) {
		ret = udax_fstat(d->f, &us);
		u.m = d->m;
		pl_desc_put(d);
	} else {
		r = upath(dirfd, &path, &u);
		if (r <= 0)
			return r < 0 ? -1 : PL_REAL(statx)(dirfd, path, flags, mask, sx);
		ret = (flags & AT_SYMLINK_NOFOLLOW) ? udax_lstat(u.m->fs, u.in, &us) :
		      udax_stat(u.m->fs, u.in, &us);
	}
	if (ret)
		return (int)err(ret);
	fill_statx(u.m, &us, sx);
	return 0;
}

/* ---- open, close, dup -------------------------------------------------------------- */

#define PL_FL_KEPT (O_ACCMODE | O_APPEND | O_NONBLOCK | O_SYNC | O_DSYNC | O_DIRECT | \
		    O_NOATIME | O_LARGEFILE | O_PATH)
/*
 * What udax_open is given: every flag it knows (include/udax/fs.h) but
 * O_APPEND, which is the description's (F_SETFL may change it; desc_write
 * appends), and O_PATH and O_TMPFILE, served or refused here.  Other bits
 * are dropped, as open(2) ignores unknown flags.
 */
#define PL_FL_UDAX (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_NOFOLLOW | O_DIRECTORY | \
		    O_SYNC | O_DSYNC | O_DIRECT | O_NOATIME | O_CLOEXEC | O_NONBLOCK | \
		    O_NOCTTY | O_ASYNC | O_LARGEFILE)

/*
 * Who creates: files, directories, symbolic links and special files made
 * through the preload are the process's effective user and group (Linux's
 * fsuid and fsgid, which follow them), with udax's set-group-ID directory
 * rule.
 */
static const struct udax_cred *creator(struct udax_cred *c)
{
	c->uid = geteuid();
	c->gid = getegid();
	return c;
}
#define CREATOR creator(&(struct udax_cred){ 0, 0 })

/*
 * Open @u: udax takes the flags (PL_FL_UDAX) and acts on them as it
 * documents (O_NOFOLLOW on a symbolic link: ELOOP, a special file: ENXIO).
 * O_TRUNC without write access is ignored (Linux leaves it unspecified;
 * udax refuses it).  O_SYNC and O_DSYNC also sync after every write.
 * O_TMPFILE: EOPNOTSUPP.  O_PATH: a descriptor that does no I/O, of what
 * udax can open (not a symbolic link itself, nor a special file).
 */
static int open_udax(struct upath *u, int flags, mode_t mode)
{
	int acc = flags & O_ACCMODE, uflags, fd, ret;
	struct udax_file *f = NULL;
	struct udax_stat st;
	struct pdesc *d;

	if ((flags & O_TMPFILE) == O_TMPFILE)
		return (int)err(-EOPNOTSUPP);
	if (flags & O_PATH) {
		acc = O_RDONLY;
		flags &= O_PATH | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW;
	}
	uflags = (flags & PL_FL_UDAX & ~O_ACCMODE) | acc;
	if (acc == O_RDONLY)
		uflags &= ~O_TRUNC;
	ret = udax_open_cred(u->m->fs, u->in, uflags, pl_apply_umask(mode & 07777),
			     CREATOR, &f);
	if (!ret)
		ret = udax_fstat(f, &st);
	if (!ret && (flags & O_DIRECTORY) && !S_ISDIR(st.mode))
		ret = -ENOTDIR;
	d = ret ? NULL : calloc(1, sizeof(*d));
	if (d)
		d->path = strdup(u->in);
	if (!ret && (!d || !d->path))
		ret = -ENOMEM;
	fd = ret ? -1 : pl_reserve_fd(-1);
	if (fd < 0) {
		if (!ret)
			ret = -errno;
		if (d)
			free(d->path);
		free(d);
		udax_close(&f);
		PL_DEBUG("open %s%s flags 0x%x: %s", u->m->prefix, u->in, flags, strerror(-ret));
		return (int)err(ret);
	}
	d->refs = 1;
	d->m = u->m;
	d->f = f;
	d->ino = st.ino;
	d->isdir = S_ISDIR(st.mode);
	d->flags = flags & PL_FL_KEPT;
	pthread_mutex_init(&d->pos_lock, NULL);
	pl_fd_install(fd, d, flags & O_CLOEXEC);
	PL_DEBUG("open %s%s flags 0x%x -> fd %d", u->m->prefix, u->in, flags, fd);
	return fd;
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
	struct upath u;
	int r = upath(dirfd, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(openat)(dirfd, path, flags, mode);
	return open_udax(&u, flags, mode);
}

#define MODE_ARG(flags) ({						\
	mode_t m_ = 0;							\
	if ((flags) & O_CREAT || ((flags) & O_TMPFILE) == O_TMPFILE) {	\
		va_list ap;						\
		va_start(ap, flags);					\
		m_ = va_arg(ap, mode_t);				\
		va_end(ap);						\
	}								\
	m_;								\
})

PL_EXPORT int open(const char *path, int flags, ...)
{
	return do_openat(AT_FDCWD, path, flags, MODE_ARG(flags));
}

PL_EXPORT int open64(const char *path, int flags, ...)
{
	return do_openat(AT_FDCWD, path, flags, MODE_ARG(flags));
}

PL_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	return do_openat(dirfd, path, flags, MODE_ARG(flags));
}

PL_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	return do_openat(dirfd, path, flags, MODE_ARG(flags));
}

/* _FORTIFY_SOURCE's checked forms: no mode (O_CREAT without one is refused there). */
PL_EXPORT int __open_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

PL_EXPORT int __open64_2(const char *path, int flags)
{
	return do_openat(AT_FDCWD, path, flags, 0);
}

PL_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

PL_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return do_openat(dirfd, path, flags, 0);
}

PL_EXPORT int creat(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

PL_EXPORT int creat64(const char *path, mode_t mode)
{
	return do_openat(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

/* Closing any descriptor of a file drops the process's POSIX locks on it (POSIX). */
static void drop_fd(struct pdesc *d)
{
	pl_locks_release(d->m, d->ino, &pl_posix_owner);
	pl_desc_put(d);
}

PL_EXPORT int close(int fd)
{
	struct pdesc *d = pl_fd_remove(fd);

	if (!d)
		return PL_REAL(close)(fd);
	PL_DEBUG("close fd %d (%s%s)", fd, d->m->prefix, d->path);
	drop_fd(d);
	PL_REAL(close)(fd);
	return 0;
}

/* Raw descriptor-closing calls: forget the udax descriptors they close. */
static void forget_range(unsigned lo, unsigned hi)
{
	for (unsigned fd = lo; fd <= hi && fd < PL_FD_MAX; fd++) {
		struct pdesc *d = pl_fd_remove((int)fd);

		if (d)
			drop_fd(d);
	}
}

PL_EXPORT int close_range(unsigned lo, unsigned hi, int flags)
{
	int ret = PL_REAL(close_range)(lo, hi, flags);

	/* CLOSE_RANGE_CLOEXEC: udax descriptors are close-on-exec already. */
	if (!ret && !(flags & CLOSE_RANGE_CLOEXEC))
		forget_range(lo, hi);
	return ret;
}

PL_EXPORT void closefrom(int lo)
{
	forget_range(lo < 0 ? 0 : (unsigned)lo, ~0u);
	PL_REAL(closefrom)(lo);
}

/* Make @newfd (a reserved kernel descriptor) another descriptor of @d. */
static int dup_to(struct pdesc *d, int newfd, bool cloexec)
{
	struct pdesc *old;

	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	old = pl_fd_remove(newfd);
	pl_fd_install(newfd, d, cloexec);
	if (old)
		drop_fd(old);
	return newfd;
}

PL_EXPORT int dup(int fd)
{
	struct pdesc *d = pl_desc_get(fd);
	int nfd;

	if (!d)
		return PL_REAL(dup)(fd);
	nfd = pl_reserve_fd(-1);
	if (nfd >= 0)
		dup_to(d, nfd, false);
	pl_desc_put(d);
	return nfd;
}

static int do_dup3(int fd, int nfd, int flags)
{
	struct pdesc *d = pl_desc_get(fd), *old;
	int ret;

	if (!d) {
		old = pl_is_udax_fd(nfd) ? pl_fd_remove(nfd) : NULL;
		ret = flags == -1 ? PL_REAL(dup2)(fd, nfd) : PL_REAL(dup3)(fd, nfd, flags);
		if (old)
			drop_fd(old);
		return ret;
	}
	if (fd == nfd) {
		pl_desc_put(d);
		return flags == -1 ? nfd : (int)err(-EINVAL);
	}
	/* The kernel's slot first (it is then an O_PATH copy), then the table. */
	ret = PL_REAL(dup3)(fd, nfd, O_CLOEXEC);
	if (ret >= 0 && nfd <= 2)
		PL_DEBUG("fd %d is now udax's: glibc's %s stream does not reach udax (docs/preload.md)",
			 nfd, nfd == 0 ? "stdin" : nfd == 1 ? "stdout" : "stderr");
	if (ret >= 0)
		dup_to(d, nfd, flags > 0 && (flags & O_CLOEXEC));
	pl_desc_put(d);
	return ret;
}

PL_EXPORT int dup2(int fd, int nfd)
{
	return do_dup3(fd, nfd, -1);
}

PL_EXPORT int dup3(int fd, int nfd, int flags)
{
	return do_dup3(fd, nfd, flags);
}

/* ---- read and write ------------------------------------------------------------------- */

static int sync_after_write(struct pdesc *d, int rwf)
{
	if ((d->flags & O_SYNC) == O_SYNC || (rwf & RWF_SYNC))
		return udax_fsync(d->f);
	if ((d->flags & O_DSYNC) || (rwf & RWF_DSYNC))
		return udax_fdatasync(d->f);
	return 0;
}

/* Write at @off, or at the end when appending; -1 @off: the descriptor's offset. */
static ssize_t desc_write(struct pdesc *d, const void *buf, size_t n, off_t off, int rwf)
{
	bool app = (d->flags & O_APPEND) || (rwf & RWF_APPEND);
	uint64_t where;
	ssize_t ret;

	if (off < -1)
		return -EINVAL;
	if (d->flags & O_PATH)
		return -EBADF;
	if (off == -1)
		pthread_mutex_lock(&d->pos_lock);
	if (app) {
		ret = udax_append(d->f, buf, n, &where);
	} else {
		where = off == -1 ? d->pos : (uint64_t)off;
		ret = udax_pwrite(d->f, buf, n, where);
	}
	if (ret >= 0 && off == -1)
		d->pos = where + (uint64_t)ret;
	if (off == -1)
		pthread_mutex_unlock(&d->pos_lock);
	if (ret > 0) {
		int s = sync_after_write(d, rwf);

		if (s)
			return s;
	}
	return ret;
}

static ssize_t desc_read(struct pdesc *d, void *buf, size_t n, off_t off)
{
	ssize_t ret;

	if (off < -1)
		return -EINVAL;
	if (d->flags & O_PATH)
		return -EBADF;
	if (off != -1)
		return udax_pread(d->f, buf, n, (uint64_t)off);
	pthread_mutex_lock(&d->pos_lock);
	ret = udax_pread(d->f, buf, n, d->pos);
	if (ret > 0)
		d->pos += (uint64_t)ret;
	pthread_mutex_unlock(&d->pos_lock);
	return ret;
}

PL_EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	struct pdesc *d = pl_desc_get(fd);
	ssize_t ret;

	if (!d)
		return PL_REAL(read)(fd, buf, n);
	ret = desc_read(d, buf, n, -1);
	pl_desc_put(d);
	return err(ret);
}

PL_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	struct pdesc *d = pl_desc_get(fd);
	ssize_t ret;

	if (!d)
		return PL_REAL(write)(fd, buf, n);
	ret = desc_write(d, buf, n, -1, 0);
	pl_desc_put(d);
	return err(ret);
}

static ssize_t do_pread(int fd, void *buf, size_t n, off_t off)
{
	struct pdesc *d = pl_desc_get(fd);
	ssize_t ret;

	if (!d)
		return PL_REAL(pread)(fd, buf, n, off);
	ret = off < 0 ? -EINVAL : desc_read(d, buf, n, off);
	pl_desc_put(d);
	return err(ret);
}

static ssize_t do_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct pdesc *d = pl_desc_get(fd);
	ssize_t ret;

	if (!d)
		return PL_REAL(pwrite)(fd, buf, n, off);
	ret = off < 0 ? -EINVAL : desc_write(d, buf, n, off, 0);
	pl_desc_put(d);
	return err(ret);
}

PL_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	return do_pread(fd, buf, n, off);
}

PL_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	return do_pread(fd, buf, n, off);
}

PL_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return do_pwrite(fd, buf, n, off);
}

PL_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	return do_pwrite(fd, buf, n, off);
}

/*
 * Vectored forms.  A write through the offset or at the end is gathered
 * into one buffer first, so that it is one udax write (atomic with respect
 * to other appends, as writev is); reads go segment by segment.
 */
static ssize_t vec_read(struct pdesc *d, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t total = 0, r = 0;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if (d->flags & O_PATH)
		return -EBADF;
	if (off == -1)
		pthread_mutex_lock(&d->pos_lock);
	for (int i = 0; i < cnt; i++) {
		uint64_t at = off == -1 ? d->pos : (uint64_t)off + (uint64_t)total;

		if (!iov[i].iov_len)
			continue;
		r = udax_pread(d->f, iov[i].iov_base, iov[i].iov_len, at);
		if (r <= 0)
			break;
		total += r;
		if (off == -1)
			d->pos += (uint64_t)r;
		if ((size_t)r < iov[i].iov_len)
			break;
	}
	if (off == -1)
		pthread_mutex_unlock(&d->pos_lock);
	return total ? total : r;
}

static ssize_t vec_write(struct pdesc *d, const struct iovec *iov, int cnt, off_t off, int rwf)
{
	size_t n = 0, at = 0;
	ssize_t ret;
	char *buf;

	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if (cnt == 1)
		return desc_write(d, iov[0].iov_base, iov[0].iov_len, off, rwf);
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < cnt; i++) {
		memcpy(buf + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	ret = desc_write(d, buf, n, off, rwf);
	free(buf);
	return ret;
}

#define VEC_CALL(fd, realcall, udaxcall) ({				\
	struct pdesc *d_ = pl_desc_get(fd);				\
	ssize_t r_;							\
	if (!d_)							\
		return realcall;					\
	r_ = udaxcall;							\
	pl_desc_put(d_);						\
	err(r_);							\
})

PL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	return VEC_CALL(fd, PL_REAL(readv)(fd, iov, cnt), vec_read(d_, iov, cnt, -1));
}

PL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	return VEC_CALL(fd, PL_REAL(writev)(fd, iov, cnt), vec_write(d_, iov, cnt, -1, 0));
}

PL_EXPORT ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return VEC_CALL(fd, PL_REAL(preadv)(fd, iov, cnt, off),
			off < 0 ? -EINVAL : vec_read(d_, iov, cnt, off));
}

PL_EXPORT ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	return preadv(fd, iov, cnt, off);
}

PL_EXPORT ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return VEC_CALL(fd, PL_REAL(pwritev)(fd, iov, cnt, off),
			off < 0 ? -EINVAL : vec_write(d_, iov, cnt, off, 0));
}

PL_EXPORT ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off)
{
	return pwritev(fd, iov, cnt, off);
}

/* RWF_HIPRI/RWF_NOWAIT mean nothing here (no queue, no wait); off -1: the offset. */
PL_EXPORT ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return VEC_CALL(fd, PL_REAL(preadv2)(fd, iov, cnt, off, flags),
			vec_read(d_, iov, cnt, off));
}

PL_EXPORT ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	return preadv2(fd, iov, cnt, off, flags);
}

PL_EXPORT ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	return VEC_CALL(fd, PL_REAL(pwritev2)(fd, iov, cnt, off, flags),
			vec_write(d_, iov, cnt, off, flags));
}

PL_EXPORT ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off64_t off, int flags)
{
	return pwritev2(fd, iov, cnt, off, flags);
}

/* udax has no holes to report: the whole file is data, as on Linux file systems without SEEK_HOLE. */
static off_t desc_seek(struct pdesc *d, off_t off, int whence)
{
	struct udax_stat st;
	int64_t base;
	off_t ret;
	int r;

	pthread_mutex_lock(&d->pos_lock);
	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (int64_t)d->pos;
		break;
	case SEEK_END:
	case SEEK_DATA:
	case SEEK_HOLE:
		r = udax_fstat(d->f, &st);
		if (r) {
			ret = r;
			goto out;
		}
		base = (int64_t)st.size;
		if (whence == SEEK_END)
			break;
		if (off < 0 || (uint64_t)off >= st.size) {
			ret = off < 0 ? -EINVAL : -ENXIO;
			goto out;
		}
		ret = whence == SEEK_DATA ? off : (off_t)st.size;
		d->pos = (uint64_t)ret;
		goto out;
	default:
		ret = -EINVAL;
		goto out;
	}
	if (d->isdir && whence == SEEK_SET && off == 0) {
		ret = 0;
	} else if (base + off < 0) {
		ret = -EINVAL;
		goto out;
	} else {
		ret = base + off;
	}
	d->pos = (uint64_t)ret;
out:
	pthread_mutex_unlock(&d->pos_lock);
	return ret;
}

PL_EXPORT off_t lseek(int fd, off_t off, int whence)
{
	struct pdesc *d = pl_desc_get(fd);
	off_t ret;

	if (!d)
		return PL_REAL(lseek)(fd, off, whence);
	ret = desc_seek(d, off, whence);
	pl_desc_put(d);
	return err(ret);
}

PL_EXPORT off64_t lseek64(int fd, off64_t off, int whence)
{
	return lseek(fd, off, whence);
}

/* ---- sync, size, space ---------------------------------------------------------------- */

#define DESC_CALL(fd, realcall, udaxcall) ({				\
	struct pdesc *d_ = pl_desc_get(fd);				\
	long r_;							\
	if (!d_)							\
		return realcall;					\
	r_ = udaxcall;							\
	pl_desc_put(d_);						\
	(int)err(r_);							\
})

/* A directory's metadata is durable when each change returns: nothing to sync. */
PL_EXPORT int fsync(int fd)
{
	return DESC_CALL(fd, PL_REAL(fsync)(fd), d_->isdir ? 0 : udax_fsync(d_->f));
}

PL_EXPORT int fdatasync(int fd)
{
	return DESC_CALL(fd, PL_REAL(fdatasync)(fd), d_->isdir ? 0 : udax_fdatasync(d_->f));
}

PL_EXPORT int sync_file_range(int fd, off64_t off, off64_t n, unsigned flags)
{
	return DESC_CALL(fd, PL_REAL(sync_file_range)(fd, off, n, flags),
			 off < 0 || n < 0 ? -EINVAL : d_->isdir ? -ESPIPE :
			 (flags & SYNC_FILE_RANGE_WRITE) ? udax_fdatasync(d_->f) : 0);
}

PL_EXPORT int syncfs(int fd)
{
	return DESC_CALL(fd, PL_REAL(syncfs)(fd), 0);
}

static int desc_ftruncate(struct pdesc *d, off_t size)
{
	if (size < 0)
		return -EINVAL;
	if (d->isdir)
		return -EISDIR;
	if ((d->flags & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	return udax_ftruncate(d->f, (uint64_t)size);
}

PL_EXPORT int ftruncate(int fd, off_t size)
{
	return DESC_CALL(fd, PL_REAL(ftruncate)(fd, size), desc_ftruncate(d_, size));
}

PL_EXPORT int ftruncate64(int fd, off64_t size)
{
	return ftruncate(fd, size);
}

PL_EXPORT int truncate(const char *path, off_t size)
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(truncate)(path, size);
	if (size < 0)
		return (int)err(-EINVAL);
	/* One transaction, no handle: udax_setattr's size is udax_ftruncate's. */
	return (int)err(udax_setattr(u.m->fs, u.in, &(struct udax_setattr){
		.mask = UDAX_SETATTR_SIZE, .size = (uint64_t)size }));
}

PL_EXPORT int truncate64(const char *path, off64_t size)
{
	return truncate(path, size);
}

static int desc_fallocate(struct pdesc *d, int mode, off_t off, off_t len)
{
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (d->isdir)
		return -EISDIR;
	if ((d->flags & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	return udax_fallocate(d->f, mode, (uint64_t)off, (uint64_t)len);
}

PL_EXPORT int fallocate(int fd, int mode, off_t off, off_t len)
{
	return DESC_CALL(fd, PL_REAL(fallocate)(fd, mode, off, len),
			 desc_fallocate(d_, mode, off, len));
}

PL_EXPORT int fallocate64(int fd, int mode, off64_t off, off64_t len)
{
	return fallocate(fd, mode, off, len);
}

/* posix_fallocate and posix_fadvise return the error instead of setting errno. */
PL_EXPORT int posix_fallocate(int fd, off_t off, off_t len)
{
	struct pdesc *d = pl_desc_get(fd);
	int ret;

	if (!d)
		return PL_REAL(posix_fallocate)(fd, off, len);
	ret = desc_fallocate(d, 0, off, len);
	pl_desc_put(d);
	return -ret;
}

PL_EXPORT int posix_fallocate64(int fd, off64_t off, off64_t len)
{
	return posix_fallocate(fd, off, len);
}

/* No page cache, no readahead: advice changes nothing. */
PL_EXPORT int posix_fadvise(int fd, off_t off, off_t len, int advice)
{
	if (!pl_is_udax_fd(fd))
		return PL_REAL(posix_fadvise)(fd, off, len, advice);
	return advice < POSIX_FADV_NORMAL || advice > POSIX_FADV_NOREUSE ? EINVAL : 0;
}

PL_EXPORT int posix_fadvise64(int fd, off64_t off, off64_t len, int advice)
{
	return posix_fadvise(fd, off, len, advice);
}

PL_EXPORT ssize_t readahead(int fd, off64_t off, size_t n)
{
	return DESC_CALL(fd, PL_REAL(readahead)(fd, off, n), 0);
}

/* Cross-file-system copies: EXDEV, the caller copies by read/write (cp does). */
PL_EXPORT ssize_t copy_file_range(int in, off64_t *oin, int out, off64_t *oout,
				  size_t n, unsigned flags)
{
	if (!pl_is_udax_fd(in) && !pl_is_udax_fd(out))
		return PL_REAL(copy_file_range)(in, oin, out, oout, n, flags);
	return err(-EXDEV);
}

PL_EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	if (!pl_is_udax_fd(in) && !pl_is_udax_fd(out))
		return PL_REAL(sendfile)(out, in, off, n);
	return err(-EINVAL);
}

PL_EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t n)
{
	return sendfile(out, in, off, n);
}

/* No ioctl applies to a udax file (FICLONE, FS_IOC_*): ENOTTY, as for an unknown one. */
PL_EXPORT int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!pl_is_udax_fd(fd))
		return PL_REAL(ioctl)(fd, req, arg);
	return (int)err(-ENOTTY);
}

static void fill_statfs(struct pmount *m, const struct udax_statfs *s, struct statfs *st)
{
	memset(st, 0, sizeof(*st));
	st->f_type = 0x75da0001;
	st->f_bsize = (long)s->block_size;
	st->f_frsize = (long)s->block_size;
	st->f_blocks = s->blocks;
	st->f_bfree = s->blocks_free;
	st->f_bavail = s->blocks_free;
	st->f_files = s->inodes;
	st->f_ffree = s->inodes_free;
	st->f_namelen = s->name_max;
	st->f_fsid.__val[0] = (int)pl_dev(m);
	st->f_flags = (s->flags & UDAX_STATFS_SHUTDOWN) ? ST_RDONLY : 0;
}

static int mount_statfs(struct pmount *m, struct statfs *st)
{
	struct udax_statfs s;
	int ret = udax_statfs(m->fs, &s);

	if (ret)
		return (int)err(ret);
	fill_statfs(m, &s, st);
	return 0;
}

static void statfs_to_vfs(const struct statfs *s, struct statvfs *v)
{
	memset(v, 0, sizeof(*v));
	v->f_bsize = (unsigned long)s->f_bsize;
	v->f_frsize = (unsigned long)s->f_frsize;
	v->f_blocks = s->f_blocks;
	v->f_bfree = s->f_bfree;
	v->f_bavail = s->f_bavail;
	v->f_files = s->f_files;
	v->f_ffree = s->f_ffree;
	v->f_favail = s->f_ffree;
	v->f_fsid = (unsigned)s->f_fsid.__val[0];
	v->f_flag = (unsigned long)s->f_flags;
	v->f_namemax = (unsigned long)s->f_namelen;
}

PL_EXPORT int statfs(const char *path, struct statfs *st)
{
	struct upath u;
	struct stat sb;
	int r = upath(AT_FDCWD, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(statfs)(path, st);
	if (stat_path(&u, &sb, false))
		return -1;
	return mount_statfs(u.m, st);
}

PL_EXPORT int fstatfs(int fd, struct statfs *st)
{
	struct pdesc *d = pl_desc_get(fd);
	int ret;

	if (!d)
		return PL_REAL(fstatfs)(fd, st);
	ret = mount_statfs(d->m, st);
	pl_desc_put(d);
	return ret;
}

PL_EXPORT int statfs64(const char *path, struct statfs64 *st)
{
	return statfs(path, (struct statfs *)st);
}

PL_EXPORT int fstatfs64(int fd, struct statfs64 *st)
{
	return fstatfs(fd, (struct statfs *)st);
}

PL_EXPORT int statvfs(const char *path, struct statvfs *v)
{
	struct statfs s;
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(statvfs)(path, v);
	if (statfs(path, &s))
		return -1;
	statfs_to_vfs(&s, v);
	return 0;
}

PL_EXPORT int fstatvfs(int fd, struct statvfs *v)
{
	struct statfs s;

	if (!pl_is_udax_fd(fd))
		return PL_REAL(fstatvfs)(fd, v);
	if (fstatfs(fd, &s))
		return -1;
	statfs_to_vfs(&s, v);
	return 0;
}

PL_EXPORT int statvfs64(const char *path, struct statvfs64 *v)
{
	return statvfs(path, (struct statvfs *)v);
}

PL_EXPORT int fstatvfs64(int fd, struct statvfs64 *v)
{
	return fstatvfs(fd, (struct statvfs *)v);
}

/* ---- fcntl and locks ---------------------------------------------------------------- */

/* [s, e] of @fl on @d (whence, negative lengths), or -EINVAL. */
static int lock_range(struct pdesc *d, const struct flock *fl, int64_t *s, int64_t *e)
{
	struct udax_stat st;
	int64_t base = 0;

	if (fl->l_whence == SEEK_CUR) {
		base = (int64_t)d->pos;
	} else if (fl->l_whence == SEEK_END) {
		int r = udax_fstat(d->f, &st);

		if (r)
			return r;
		base = (int64_t)st.size;
	} else if (fl->l_whence != SEEK_SET) {
		return -EINVAL;
	}
	*s = base + fl->l_start;
	if (fl->l_len > 0) {
		*e = *s + fl->l_len - 1;
	} else if (fl->l_len < 0) {
		*e = *s - 1;
		*s += fl->l_len;
	} else {
		*e = INT64_MAX;
	}
	return *s < 0 ? -EINVAL : 0;
}

static int desc_lock(struct pdesc *d, int cmd, struct flock *fl)
{
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	int kind = (cmd == F_GETLK || cmd == F_OFD_GETLK) ? PL_LOCK_GET :
		   (cmd == F_SETLKW || cmd == F_OFD_SETLKW) ? PL_LOCK_WAIT : PL_LOCK_TRY;
	int acc = d->flags & O_ACCMODE;
	int64_t s, e;
	int ret;

	if (!fl)
		return -EFAULT;
	if (ofd && fl->l_pid)
		return -EINVAL;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	if (kind != PL_LOCK_GET && ((fl->l_type == F_RDLCK && acc == O_WRONLY) ||
				    (fl->l_type == F_WRLCK && acc == O_RDONLY)))
		return -EBADF;
	ret = lock_range(d, fl, &s, &e);
	if (ret)
		return ret;
	return pl_lock(d->m, d->ino, ofd ? (const void *)d : &pl_posix_owner, kind,
		       fl->l_type, s, e, fl);
}

static int desc_fcntl(int fd, struct pdesc *d, int cmd, void *arg)
{
	long iarg = (long)arg;

	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		int nfd;

		if (iarg < 0)
			return -EINVAL;
		nfd = pl_reserve_fd((int)iarg);
		if (nfd < 0)
			return -errno;
		return dup_to(d, nfd, cmd == F_DUPFD_CLOEXEC);
	}
	case F_GETFD:
		return pl_fdcloexec[fd] ? FD_CLOEXEC : 0;
	case F_SETFD:
		/* The kernel descriptor stays close-on-exec: udax descriptors never cross exec. */
		pl_fdcloexec[fd] = (iarg & FD_CLOEXEC) != 0;
		return 0;
	case F_GETFL:
		return d->flags;
	case F_SETFL:
		if (iarg & O_ASYNC)
			return -EINVAL;
		pthread_mutex_lock(&d->pos_lock);
		d->flags = (d->flags & ~(O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)) |
			   ((int)iarg & (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME));
		pthread_mutex_unlock(&d->pos_lock);
		return 0;
	case F_GETLK:
	case F_SETLK:
	case F_SETLKW:
	case F_OFD_GETLK:
	case F_OFD_SETLK:
	case F_OFD_SETLKW:
		return desc_lock(d, cmd, arg);
	default:
		/* Leases, notify, seals, owners, pipe sizes: not for udax files. */
		return -EINVAL;
	}
}

static int do_fcntl(int fd, int cmd, void *arg)
{
	struct pdesc *d = pl_desc_get(fd);
	int ret;

	if (!d)
		return PL_REAL(fcntl)(fd, cmd, arg);
	ret = desc_fcntl(fd, d, cmd, arg);
	pl_desc_put(d);
	return (int)err(ret);
}

PL_EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

PL_EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

/*
 * flock(2) locks are the description's, separate from fcntl ones: they
 * live in the same table at the offset INT64_MIN that no fcntl lock has.
 */
PL_EXPORT int flock(int fd, int op)
{
	struct pdesc *d = pl_desc_get(fd);
	short type;
	int ret;

	if (!d)
		return PL_REAL(flock)(fd, op);
	switch (op & ~LOCK_NB) {
	case LOCK_SH:
		type = F_RDLCK;
		break;
	case LOCK_EX:
		type = F_WRLCK;
		break;
	case LOCK_UN:
		type = F_UNLCK;
		break;
	default:
		pl_desc_put(d);
		return (int)err(-EINVAL);
	}
	ret = pl_lock(d->m, d->ino, d, (op & LOCK_NB) ? PL_LOCK_TRY : PL_LOCK_WAIT,
		      type, INT64_MIN, INT64_MIN, NULL);
	pl_desc_put(d);
	return (int)err(ret == -EAGAIN ? -EWOULDBLOCK : ret);
}

/* ---- namespace ---------------------------------------------------------------------- */

#define PATH_CALL(dirfd, path, realcall, udaxcall) ({			\
	struct upath u_;						\
	int r_ = upath(dirfd, &path, &u_);				\
	if (r_ <= 0)							\
		return r_ < 0 ? -1 : realcall;				\
	PL_DEBUG("%s %s%s", __func__, u_.m->prefix, u_.in);		\
	(int)err(udaxcall);						\
})

PL_EXPORT int unlink(const char *path)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(unlink)(path), udax_unlink(u_.m->fs, u_.in));
}

PL_EXPORT int rmdir(const char *path)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(rmdir)(path), udax_rmdir(u_.m->fs, u_.in));
}

PL_EXPORT int unlinkat(int dirfd, const char *path, int flags)
{
	return PATH_CALL(dirfd, path, PL_REAL(unlinkat)(dirfd, path, flags),
			 (flags & ~AT_REMOVEDIR) ? -EINVAL :
			 (flags & AT_REMOVEDIR) ? udax_rmdir(u_.m->fs, u_.in) :
			 udax_unlink(u_.m->fs, u_.in));
}

PL_EXPORT int mkdir(const char *path, mode_t mode)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(mkdir)(path, mode),
			 udax_mkdir_cred(u_.m->fs, u_.in, pl_apply_umask(mode & 07777), CREATOR));
}

PL_EXPORT int mkdirat(int dirfd, const char *path, mode_t mode)
{
	return PATH_CALL(dirfd, path, PL_REAL(mkdirat)(dirfd, path, mode),
			 udax_mkdir_cred(u_.m->fs, u_.in, pl_apply_umask(mode & 07777), CREATOR));
}

/*
 * Special files are udax inode types (udax_mknod): stat shows them, and
 * opening one is ENXIO (udax serves no FIFO, socket or device).  As on
 * Linux, a directory is EPERM, and so is a device node unless the
 * effective user is root (CAP_MKNOD; udax itself checks no permission).
 */
static int mknod_udax(struct upath *u, mode_t mode, dev_t dev)
{
	if (S_ISDIR(mode))
		return -EPERM;
	if ((S_ISCHR(mode) || S_ISBLK(mode)) && geteuid() != 0)
		return -EPERM;
	return udax_mknod(u->m->fs, u->in, (mode & S_IFMT) | pl_apply_umask(mode & 07777),
			  dev, CREATOR);
}

PL_EXPORT int mknod(const char *path, mode_t mode, dev_t dev)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(mknod)(path, mode, dev),
			 mknod_udax(&u_, mode, dev));
}

PL_EXPORT int mknodat(int dirfd, const char *path, mode_t mode, dev_t dev)
{
	return PATH_CALL(dirfd, path, PL_REAL(mknodat)(dirfd, path, mode, dev),
			 mknod_udax(&u_, mode, dev));
}

PL_EXPORT int mkfifo(const char *path, mode_t mode)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(mkfifo)(path, mode),
			 mknod_udax(&u_, S_IFIFO | (mode & 07777), 0));
}

PL_EXPORT int mkfifoat(int dirfd, const char *path, mode_t mode)
{
	return PATH_CALL(dirfd, path, PL_REAL(mkfifoat)(dirfd, path, mode),
			 mknod_udax(&u_, S_IFIFO | (mode & 07777), 0));
}

/*
 * Two paths: both udax on the same file system, both the kernel's, or
 * EXDEV (what rename and link say across file systems).
 */
static int two_paths(int d1, const char **p1, int d2, const char **p2,
		     struct upath *u1, struct upath *u2)
{
	int r1 = upath(d1, p1, u1), r2;

	if (r1 < 0)
		return -1;
	r2 = upath(d2, p2, u2);
	if (r2 < 0)
		return -1;
	if (!r1 && !r2)
		return 0;
	if (r1 != r2 || u1->m != u2->m)
		return (int)err(-EXDEV);
	return 1;
}

static int do_renameat2(int d1, const char *p1, int d2, const char *p2, unsigned flags)
{
	struct upath *u = malloc(2 * sizeof(*u));
	int r;

	if (!u)
		return (int)err(-ENOMEM);
	r = two_paths(d1, &p1, d2, &p2, &u[0], &u[1]);
	if (r == 0)
		r = PL_REAL(renameat2)(d1, p1, d2, p2, flags);
	else if (r == 1)
		/* UDAX_RENAME_* are Linux's values; RENAME_WHITEOUT is EINVAL (udax refuses it). */
		r = (int)err(udax_rename(u[0].m->fs, u[0].in, u[1].in, flags));
	free(u);
	return r;
}

PL_EXPORT int rename(const char *p1, const char *p2)
{
	return do_renameat2(AT_FDCWD, p1, AT_FDCWD, p2, 0);
}

PL_EXPORT int renameat(int d1, const char *p1, int d2, const char *p2)
{
	return do_renameat2(d1, p1, d2, p2, 0);
}

PL_EXPORT int renameat2(int d1, const char *p1, int d2, const char *p2, unsigned flags)
{
	return do_renameat2(d1, p1, d2, p2, flags);
}

static int canonical_udax(struct udax_fs *fs, const char *in, char *out);

/* udax_link never follows the source; AT_SYMLINK_FOLLOW links what it leads to. */
static int link_udax(struct upath *from, struct upath *to, int flags)
{
	char src[PATH_MAX];
	int ret;

	if (flags & ~AT_SYMLINK_FOLLOW)
		return -EINVAL;
	if (!(flags & AT_SYMLINK_FOLLOW))
		return udax_link(from->m->fs, from->in, to->in);
	ret = canonical_udax(from->m->fs, from->in, src);
	return ret ? ret : udax_link(from->m->fs, src, to->in);
}

static int do_linkat(int d1, const char *p1, int d2, const char *p2, int flags, bool plain)
{
	struct upath *u = malloc(2 * sizeof(*u));
	int r;

	if (!u)
		return (int)err(-ENOMEM);
	r = two_paths(d1, &p1, d2, &p2, &u[0], &u[1]);
	if (r == 0)
		r = plain ? PL_REAL(link)(p1, p2) : PL_REAL(linkat)(d1, p1, d2, p2, flags);
	else if (r == 1)
		r = (int)err(link_udax(&u[0], &u[1], flags));
	free(u);
	return r;
}

PL_EXPORT int link(const char *p1, const char *p2)
{
	return do_linkat(AT_FDCWD, p1, AT_FDCWD, p2, 0, true);
}

PL_EXPORT int linkat(int d1, const char *p1, int d2, const char *p2, int flags)
{
	return do_linkat(d1, p1, d2, p2, flags, false);
}

/*
 * Symbolic links are udax's: the target is stored as given and udax
 * follows it inside the file system, an absolute target from the file
 * system's root (PREFIX), never out to the host (docs/preload.md, "Paths").
 */
PL_EXPORT int symlink(const char *target, const char *path)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(symlink)(target, path),
			 udax_symlink_cred(u_.m->fs, target, u_.in, CREATOR));
}

PL_EXPORT int symlinkat(const char *target, int dirfd, const char *path)
{
	return PATH_CALL(dirfd, path, PL_REAL(symlinkat)(target, dirfd, path),
			 udax_symlink_cred(u_.m->fs, target, u_.in, CREATOR));
}

/* readlink(2): a size of 0 is EINVAL; udax_readlink truncates silently, as Linux does. */
static ssize_t readlink_udax(struct upath *u, char *buf, size_t n)
{
	if (!n)
		return -EINVAL;
	return udax_readlink(u->m->fs, u->in, buf, n);
}

PL_EXPORT ssize_t readlink(const char *path, char *buf, size_t n)
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(readlink)(path, buf, n);
	return err(readlink_udax(&u, buf, n));
}

PL_EXPORT ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t n)
{
	struct upath u;
	int r = upath(dirfd, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(readlinkat)(dirfd, path, buf, n);
	return err(readlink_udax(&u, buf, n));
}

/*
 * access(2) on the mode bits (the real ids, or the effective ones with
 * AT_EACCESS; a symbolic link itself with AT_SYMLINK_NOFOLLOW).
 */
static int check_access(struct upath *u, int amode, int flags)
{
	bool eff = flags & AT_EACCESS;
	uid_t uid = eff ? geteuid() : getuid();
	gid_t gid = eff ? getegid() : getgid();
	struct udax_stat st;
	unsigned bits;
	int ret = (flags & AT_SYMLINK_NOFOLLOW) ? udax_lstat(u->m->fs, u->in, &st) :
		  udax_stat(u->m->fs, u->in, &st);

	if (ret)
		return ret;
	if (amode == F_OK)
		return 0;
	if (amode & ~(R_OK | W_OK | X_OK))
		return -EINVAL;
	if (uid == 0) {
		if (!(amode & X_OK) || S_ISDIR(st.mode) || (st.mode & 0111))
			return 0;
		return -EACCES;
	}
	bits = st.uid == uid ? (st.mode >> 6) : (st.gid == gid || group_member(st.gid)) ?
	       (st.mode >> 3) : st.mode;
	return ((unsigned)amode & ~bits & 7) ? -EACCES : 0;
}

PL_EXPORT int access(const char *path, int amode)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(access)(path, amode),
			 check_access(&u_, amode, 0));
}

PL_EXPORT int faccessat(int dirfd, const char *path, int amode, int flags)
{
	return PATH_CALL(dirfd, path, PL_REAL(faccessat)(dirfd, path, amode, flags),
			 (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) ? -EINVAL :
			 check_access(&u_, amode, flags));
}

PL_EXPORT int euidaccess(const char *path, int amode)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(euidaccess)(path, amode),
			 check_access(&u_, amode, AT_EACCESS));
}

PL_EXPORT int eaccess(const char *path, int amode)
{
	return euidaccess(path, amode);
}

/*
 * Attributes, through udax_setattr: each call is one transaction, and
 * chown clears the set-ID bits as Linux's does.  By descriptor: the path
 * the file was opened by.  @nofollow: a symbolic link itself.
 */
static int chmod_udax(struct pmount *m, const char *in, mode_t mode, bool nofollow)
{
	struct udax_setattr sa = { .mask = UDAX_SETATTR_MODE, .mode = mode & 07777 };

	if (nofollow) {
		struct udax_stat st;
		int ret = udax_lstat(m->fs, in, &st);

		if (ret)
			return ret;
		/* Linux: a link's mode cannot change (glibc's fchmodat says so). */
		if (S_ISLNK(st.mode))
			return -EOPNOTSUPP;
		sa.mask |= UDAX_SETATTR_NOFOLLOW;
	}
	return udax_setattr(m->fs, in, &sa);
}

/* (uid_t)-1, (gid_t)-1: unchanged. */
static int chown_udax(struct pmount *m, const char *in, uid_t uid, gid_t gid, bool nofollow)
{
	struct udax_setattr sa = { .uid = uid, .gid = gid };

	if (uid != (uid_t)-1)
		sa.mask |= UDAX_SETATTR_UID;
	if (gid != (gid_t)-1)
		sa.mask |= UDAX_SETATTR_GID;
	if (nofollow)
		sa.mask |= UDAX_SETATTR_NOFOLLOW;
	return udax_setattr(m->fs, in, &sa);
}

/* @ts NULL: both times now; UTIME_NOW and UTIME_OMIT as utimensat(2) says. */
static int times_udax(struct pmount *m, const char *in, const struct timespec *ts, bool nofollow)
{
	struct udax_setattr sa = { .mask = UDAX_SETATTR_ATIME | UDAX_SETATTR_MTIME };

	sa.atime = ts ? ts[0] : (struct timespec){ 0, UTIME_NOW };
	sa.mtime = ts ? ts[1] : (struct timespec){ 0, UTIME_NOW };
	if (nofollow)
		sa.mask |= UDAX_SETATTR_NOFOLLOW;
	return udax_setattr(m->fs, in, &sa);
}

PL_EXPORT int chmod(const char *path, mode_t mode)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(chmod)(path, mode),
			 chmod_udax(u_.m, u_.in, mode, false));
}

PL_EXPORT int fchmodat(int dirfd, const char *path, mode_t mode, int flags)
{
	return PATH_CALL(dirfd, path, PL_REAL(fchmodat)(dirfd, path, mode, flags),
			 (flags & ~AT_SYMLINK_NOFOLLOW) ? -EINVAL :
			 chmod_udax(u_.m, u_.in, mode, flags & AT_SYMLINK_NOFOLLOW));
}

PL_EXPORT int fchmod(int fd, mode_t mode)
{
	return DESC_CALL(fd, PL_REAL(fchmod)(fd, mode),
			 chmod_udax(d_->m, d_->path, mode, false));
}

PL_EXPORT int chown(const char *path, uid_t uid, gid_t gid)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(chown)(path, uid, gid),
			 chown_udax(u_.m, u_.in, uid, gid, false));
}

PL_EXPORT int lchown(const char *path, uid_t uid, gid_t gid)
{
	return PATH_CALL(AT_FDCWD, path, PL_REAL(lchown)(path, uid, gid),
			 chown_udax(u_.m, u_.in, uid, gid, true));
}

PL_EXPORT int fchownat(int dirfd, const char *path, uid_t uid, gid_t gid, int flags)
{
	if (empty_path(path) && (flags & AT_EMPTY_PATH) && pl_is_udax_fd(dirfd))
		return fchown(dirfd, uid, gid);
	return PATH_CALL(dirfd, path, PL_REAL(fchownat)(dirfd, path, uid, gid, flags),
			 (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) ? -EINVAL :
			 chown_udax(u_.m, u_.in, uid, gid, flags & AT_SYMLINK_NOFOLLOW));
}

PL_EXPORT int fchown(int fd, uid_t uid, gid_t gid)
{
	return DESC_CALL(fd, PL_REAL(fchown)(fd, uid, gid),
			 chown_udax(d_->m, d_->path, uid, gid, false));
}

PL_EXPORT int utimensat(int dirfd, const char *path, const struct timespec ts[2], int flags)
{
	if (!given(path))
		return DESC_CALL(dirfd, PL_REAL(utimensat)(dirfd, path, ts, flags),
				 times_udax(d_->m, d_->path, ts, false));
	return PATH_CALL(dirfd, path, PL_REAL(utimensat)(dirfd, path, ts, flags),
			 (flags & ~AT_SYMLINK_NOFOLLOW) ? -EINVAL :
			 times_udax(u_.m, u_.in, ts, flags & AT_SYMLINK_NOFOLLOW));
}

PL_EXPORT int futimens(int fd, const struct timespec ts[2])
{
	return DESC_CALL(fd, PL_REAL(futimens)(fd, ts), times_udax(d_->m, d_->path, ts, false));
}

static const struct timespec *tv_to_ts(const struct timeval tv[2], struct timespec ts[2])
{
	if (!tv)
		return NULL;
	for (int i = 0; i < 2; i++)
		ts[i] = (struct timespec){ tv[i].tv_sec, tv[i].tv_usec * 1000 };
	return ts;
}

PL_EXPORT int utimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	return PATH_CALL(AT_FDCWD, path, PL_REAL(utimes)(path, tv),
			 times_udax(u_.m, u_.in, tv_to_ts(tv, ts), false));
}

PL_EXPORT int lutimes(const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	return PATH_CALL(AT_FDCWD, path, PL_REAL(lutimes)(path, tv),
			 times_udax(u_.m, u_.in, tv_to_ts(tv, ts), true));
}

PL_EXPORT int futimesat(int dirfd, const char *path, const struct timeval tv[2])
{
	struct timespec ts[2];

	if (!given(path))
		return futimes(dirfd, tv);
	return PATH_CALL(dirfd, path, PL_REAL(futimesat)(dirfd, path, tv),
			 times_udax(u_.m, u_.in, tv_to_ts(tv, ts), false));
}

PL_EXPORT int futimes(int fd, const struct timeval tv[2])
{
	struct timespec ts[2];

	return DESC_CALL(fd, PL_REAL(futimes)(fd, tv),
			 times_udax(d_->m, d_->path, tv_to_ts(tv, ts), false));
}

PL_EXPORT int utime(const char *path, const struct utimbuf *t)
{
	struct timespec ts[2];

	if (t) {
		ts[0] = (struct timespec){ t->actime, 0 };
		ts[1] = (struct timespec){ t->modtime, 0 };
	}
	return PATH_CALL(AT_FDCWD, path, PL_REAL(utime)(path, t),
			 times_udax(u_.m, u_.in, t ? ts : NULL, false));
}

/*
 * Extended attributes, through udax_setxattr and its kin (names, limits
 * and errors as include/udax/fs.h gives them).  By descriptor: the open
 * file itself (an O_PATH descriptor: EBADF, as Linux).  The l-variants:
 * udax follows a symbolic link in every xattr call, so the preload looks
 * at the last component first; one that is not a link is served as the
 * plain call.  A link itself holds no attributes in udax: lgetxattr and
 * lremovexattr ENODATA, llistxattr an empty list, lsetxattr EPERM for
 * "user." (Linux allows those on regular files and directories only) and
 * EOPNOTSUPP for the other names.  A link put in place between the look
 * and the call is followed.  POSIX ACLs (system.posix_acl_access and
 * _default): EOPNOTSUPP, as on a kernel file system mounted without
 * them.  udax would keep them as opaque values, but programs that set
 * one (cp -a, tar) count on the kernel's folding it into the mode bits
 * and skip their chmod when it succeeds; udax does no such folding.
 * Names udax already holds (set through the library or FUSE) still show
 * in listxattr.
 */
#define ACL_NAME(n)	((n) && !strncmp((n), "system.posix_acl_", 17))
#define XATTR_PATH_CALL(ret_t, path, realcall, udaxcall) ({		\
	struct upath u_;						\
	int r_ = upath(AT_FDCWD, &path, &u_);				\
	if (r_ <= 0)							\
		return r_ < 0 ? -1 : realcall;				\
	PL_DEBUG("%s %s%s", __func__, u_.m->prefix, u_.in);		\
	(ret_t)err(udaxcall);						\
})

#define XATTR_DESC_CALL(ret_t, fd, realcall, udaxcall) ({		\
	struct pdesc *d_ = pl_desc_get(fd);				\
	long r_;							\
	if (!d_)							\
		return realcall;					\
	r_ = (d_->flags & O_PATH) ? -EBADF : (udaxcall);		\
	pl_desc_put(d_);						\
	(ret_t)err(r_);							\
})

/* 1: @u's last component is a symbolic link; 0: it is not; < 0: lstat's error. */
static int last_is_link(const struct upath *u)
{
	struct udax_stat st;
	int ret = udax_lstat(u->m->fs, u->in, &st);

	return ret ? ret : S_ISLNK(st.mode);
}

static int lsetxattr_udax(const struct upath *u, const char *n, const void *v,
			  size_t sz, int fl)
{
	int ret = last_is_link(u);

	if (ret < 0)
		return ret;
	if (ret)
		return n && !strncmp(n, "user.", 5) ? -EPERM : -EOPNOTSUPP;
	return udax_setxattr(u->m->fs, u->in, n, v, sz, fl);
}

static ssize_t lgetxattr_udax(const struct upath *u, const char *n, void *v, size_t sz)
{
	int ret = last_is_link(u);

	if (ret)
		return ret < 0 ? ret : -ENODATA;
	return udax_getxattr(u->m->fs, u->in, n, v, sz);
}

static ssize_t llistxattr_udax(const struct upath *u, char *l, size_t sz)
{
	int ret = last_is_link(u);

	if (ret)
		return ret < 0 ? ret : 0;
	return udax_listxattr(u->m->fs, u->in, l, sz);
}

static int lremovexattr_udax(const struct upath *u, const char *n)
{
	int ret = last_is_link(u);

	if (ret)
		return ret < 0 ? ret : -ENODATA;
	return udax_removexattr(u->m->fs, u->in, n);
}

PL_EXPORT int setxattr(const char *path, const char *n, const void *v, size_t sz, int fl)
{
	return XATTR_PATH_CALL(int, path, PL_REAL(setxattr)(path, n, v, sz, fl),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       udax_setxattr(u_.m->fs, u_.in, n, v, sz, fl));
}

PL_EXPORT int lsetxattr(const char *path, const char *n, const void *v, size_t sz, int fl)
{
	return XATTR_PATH_CALL(int, path, PL_REAL(lsetxattr)(path, n, v, sz, fl),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       lsetxattr_udax(&u_, n, v, sz, fl));
}

PL_EXPORT int fsetxattr(int fd, const char *n, const void *v, size_t sz, int fl)
{
	return XATTR_DESC_CALL(int, fd, PL_REAL(fsetxattr)(fd, n, v, sz, fl),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       udax_fsetxattr(d_->f, n, v, sz, fl));
}

PL_EXPORT ssize_t getxattr(const char *path, const char *n, void *v, size_t sz)
{
	return XATTR_PATH_CALL(ssize_t, path, PL_REAL(getxattr)(path, n, v, sz),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       udax_getxattr(u_.m->fs, u_.in, n, v, sz));
}

PL_EXPORT ssize_t lgetxattr(const char *path, const char *n, void *v, size_t sz)
{
	return XATTR_PATH_CALL(ssize_t, path, PL_REAL(lgetxattr)(path, n, v, sz),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       lgetxattr_udax(&u_, n, v, sz));
}

PL_EXPORT ssize_t fgetxattr(int fd, const char *n, void *v, size_t sz)
{
	return XATTR_DESC_CALL(ssize_t, fd, PL_REAL(fgetxattr)(fd, n, v, sz),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       udax_fgetxattr(d_->f, n, v, sz));
}

PL_EXPORT ssize_t listxattr(const char *path, char *l, size_t sz)
{
	return XATTR_PATH_CALL(ssize_t, path, PL_REAL(listxattr)(path, l, sz),
			       udax_listxattr(u_.m->fs, u_.in, l, sz));
}

PL_EXPORT ssize_t llistxattr(const char *path, char *l, size_t sz)
{
	return XATTR_PATH_CALL(ssize_t, path, PL_REAL(llistxattr)(path, l, sz),
			       llistxattr_udax(&u_, l, sz));
}

PL_EXPORT ssize_t flistxattr(int fd, char *l, size_t sz)
{
	return XATTR_DESC_CALL(ssize_t, fd, PL_REAL(flistxattr)(fd, l, sz),
			       udax_flistxattr(d_->f, l, sz));
}

PL_EXPORT int removexattr(const char *path, const char *n)
{
	return XATTR_PATH_CALL(int, path, PL_REAL(removexattr)(path, n),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       udax_removexattr(u_.m->fs, u_.in, n));
}

PL_EXPORT int lremovexattr(const char *path, const char *n)
{
	return XATTR_PATH_CALL(int, path, PL_REAL(lremovexattr)(path, n),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       lremovexattr_udax(&u_, n));
}

PL_EXPORT int fremovexattr(int fd, const char *n)
{
	return XATTR_DESC_CALL(int, fd, PL_REAL(fremovexattr)(fd, n),
			       ACL_NAME(n) ? -EOPNOTSUPP :
			       udax_fremovexattr(d_->f, n));
}

/* ---- the working directory ------------------------------------------------------------ */

/*
 * @in (a path in udax) with every symbolic link replaced by its target, as
 * udax follows them: a relative target from the link's directory, an
 * absolute one from the file system's root, ".." of the root the root.
 * Every component must exist.  @out holds PATH_MAX bytes.
 */
static int canonical_udax(struct udax_fs *fs, const char *in, char *out)
{
	char rest[PATH_MAX], target[PATH_MAX], *p = rest;
	size_t olen = 0;
	int links = 0;

	if (snprintf(rest, sizeof(rest), "%s", in) >= (int)sizeof(rest))
		return -ENAMETOOLONG;
	out[0] = '\0';
	while (*p) {
		struct udax_stat st;
		size_t n;
		ssize_t len;
		char *c;
		int ret;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (!n || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			char *slash = strrchr(out, '/');

			if (slash) {
				*slash = '\0';
				olen = (size_t)(slash - out);
			}
			continue;
		}
		if (olen + 1 + n >= PATH_MAX)
			return -ENAMETOOLONG;
		out[olen] = '/';
		memcpy(out + olen + 1, c, n);
		olen += 1 + n;
		out[olen] = '\0';
		ret = udax_lstat(fs, out, &st);
		if (ret)
			return ret;
		if (!S_ISLNK(st.mode)) {
			if (*p && !S_ISDIR(st.mode))
				return -ENOTDIR;
			continue;
		}
		if (++links > 40)
			return -ELOOP;
		len = udax_readlink(fs, out, target, sizeof(target));
		if (len < 0)
			return (int)len;
		if ((size_t)len + strlen(p) >= sizeof(target))
			return -ENAMETOOLONG;
		/* The target replaces the link, what followed it follows the target. */
		memmove(target + len, p, strlen(p) + 1);
		strcpy(rest, target);
		p = rest;
		olen = target[0] == '/' ? 0 : olen - 1 - n;
		out[olen] = '\0';
	}
	if (!olen)
		strcpy(out, "/");
	return 0;
}

/*
 * chdir into udax: the kernel's cwd stays where it was and relative paths
 * are resolved here against the udax directory (getcwd shows it).  A
 * program's children inherit only the kernel's cwd.
 */
static int chdir_udax(struct upath *u)
{
	char abs[PATH_MAX], can[PATH_MAX];
	struct udax_stat st;
	int ret = udax_stat(u->m->fs, u->in, &st);

	if (ret)
		return ret;
	if (!S_ISDIR(st.mode))
		return -ENOTDIR;
	/* getcwd shows the directory's own path, not the links to it. */
	ret = canonical_udax(u->m->fs, u->in, can);
	if (ret)
		return ret;
	snprintf(abs, sizeof(abs), "%s%s", u->m->prefix, strcmp(can, "/") ? can : "");
	pl_set_vcwd(abs);
	return 0;
}

PL_EXPORT int chdir(const char *path)
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	if (r < 0)
		return -1;
	if (!r) {
		r = PL_REAL(chdir)(path);
		if (!r)
			pl_set_vcwd(NULL);
		return r;
	}
	return (int)err(chdir_udax(&u));
}

PL_EXPORT int fchdir(int fd)
{
	struct pdesc *d = pl_desc_get(fd);
	struct upath u;
	int r;

	if (!d) {
		r = PL_REAL(fchdir)(fd);
		if (!r)
			pl_set_vcwd(NULL);
		return r;
	}
	u.m = d->m;
	snprintf(u.in, sizeof(u.in), "%s", d->path);
	pl_desc_put(d);
	return (int)err(chdir_udax(&u));
}

PL_EXPORT char *getcwd(char *buf, size_t size)
{
	char tmp[PATH_MAX];
	int e;

	if (!pl_get_vcwd(tmp, sizeof(tmp), &e))
		return PL_REAL(getcwd)(buf, size);
	if (!buf) {
		if (size && strlen(tmp) + 1 > size) {
			errno = ERANGE;
			return NULL;
		}
		return strdup(tmp);
	}
	if (!size || strlen(tmp) + 1 > size) {
		errno = size ? ERANGE : EINVAL;
		return NULL;
	}
	return strcpy(buf, tmp);
}

/* ---- mmap: views ------------------------------------------------------------------------ */

/*
 * MAP_SHARED maps the file's blocks themselves (a udax view): stores reach
 * the file.  The range must lie in the file's blocks (the end of file
 * rounded up to a block), holes are filled first; MAP_FIXED is refused
 * (the view chooses its address).  MAP_PRIVATE is a private copy read at
 * map time.  Only a whole view can be unmapped.
 */
struct pview {
	struct pview *next;
	void *addr;
	size_t len;
	struct udax_view *view;
	struct pdesc *d;		/* holds the file open while it is mapped */
};

static struct pview *views;
static int nviews;
static pthread_mutex_t views_lock = PTHREAD_MUTEX_INITIALIZER;

static void *map_udax(struct pdesc *d, void *addr, size_t len, int prot, int flags, off_t off)
{
	size_t blen = (len + UDAX_FS_BLOCK_SIZE - 1) & ~(size_t)(UDAX_FS_BLOCK_SIZE - 1);
	int acc = d->flags & O_ACCMODE, type = flags & MAP_TYPE, ret;
	struct udax_view *view = NULL;
	struct udax_stat st;
	struct pview *pv;
	void *p;

	if (!len || off < 0 || (off & (UDAX_FS_BLOCK_SIZE - 1)) || d->isdir)
		return (void *)err(-EINVAL);
	if (acc == O_WRONLY || (type == MAP_SHARED && (prot & PROT_WRITE) && acc != O_RDWR))
		return (void *)err(-EACCES);
	if (type == MAP_PRIVATE) {
		ssize_t n;

		p = PL_REAL(mmap)(addr, len, prot | PROT_WRITE,
				  (flags & ~MAP_TYPE) | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return p;
		n = udax_pread(d->f, p, len, (uint64_t)off);
		if (n < 0 || (!(prot & PROT_WRITE) && mprotect(p, len, prot))) {
			munmap(p, len);
			return (void *)err(n < 0 ? n : -errno);
		}
		return p;
	}
	if (type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return (void *)err(-EINVAL);
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
		return (void *)err(-EINVAL);
	ret = udax_fstat(d->f, &st);
	if (!ret && (uint64_t)off + blen > ((st.size + UDAX_FS_BLOCK_SIZE - 1) &
					    ~(uint64_t)(UDAX_FS_BLOCK_SIZE - 1)))
		ret = -ENXIO;
	pv = ret ? NULL : calloc(1, sizeof(*pv));
	if (!ret && !pv)
		ret = -ENOMEM;
	if (!ret)
		ret = udax_view_map(d->f, (uint64_t)off, blen,
				    UDAX_VIEW_ALLOCATE | ((prot & PROT_WRITE) ? UDAX_VIEW_WRITE : 0),
				    &view, &p);
	if (ret) {
		free(pv);
		PL_DEBUG("mmap %s%s off %lld len %zu: %s", d->m->prefix, d->path,
			 (long long)off, len, strerror(-ret));
		return (void *)err(ret);
	}
	if (!(prot & PROT_READ) && !(prot & PROT_WRITE))
		mprotect(p, blen, PROT_NONE);
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	*pv = (struct pview){ NULL, p, blen, view, d };
	pthread_mutex_lock(&views_lock);
	pv->next = views;
	views = pv;
	__atomic_store_n(&nviews, nviews + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&views_lock);
	PL_DEBUG("mmap %s%s off %lld len %zu -> view %p", d->m->prefix, d->path,
		 (long long)off, len, p);
	return p;
}

PL_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct pdesc *d;
	void *p;

	if ((flags & MAP_ANONYMOUS) || !(d = pl_desc_get(fd)))
		return PL_REAL(mmap)(addr, len, prot, flags, fd, off);
	p = map_udax(d, addr, len, prot, flags, off);
	pl_desc_put(d);
	return p;
}

PL_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

static void view_free(struct pview *pv)
{
	udax_view_unmap(&pv->view);
	pl_desc_put(pv->d);
	free(pv);
}

PL_EXPORT int munmap(void *addr, size_t len)
{
	struct pview *pv = NULL;

	if (__atomic_load_n(&nviews, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&views_lock);
		for (struct pview **pp = &views; (pv = *pp); pp = &pv->next) {
			if ((char *)addr + len <= (char *)pv->addr ||
			    (char *)addr >= (char *)pv->addr + pv->len)
				continue;
			if (addr != pv->addr) {
				pthread_mutex_unlock(&views_lock);
				return (int)err(-EINVAL);
			}
			*pp = pv->next;
			__atomic_store_n(&nviews, nviews - 1, __ATOMIC_RELAXED);
			break;
		}
		pthread_mutex_unlock(&views_lock);
	}
	if (!pv)
		return PL_REAL(munmap)(addr, len);
	view_free(pv);
	return 0;
}

void pl_views_drop_all(void)
{
	struct pview *pv;

	pthread_mutex_lock(&views_lock);
	pv = views;
	views = NULL;
	nviews = 0;
	pthread_mutex_unlock(&views_lock);
	while (pv) {
		struct pview *next = pv->next;

		view_free(pv);
		pv = next;
	}
}

/* ---- directories --------------------------------------------------------------------- */

/*
 * A udax DIR: glibc's DIR is opaque, ours are told apart by a registry.
 * Positions are udax's readdir cookies (telldir, seekdir, d_off), which
 * stay valid while entries come and go.
 */
struct pdir {
	struct pdir *next;
	int fd;				/* a udax descriptor of the directory */
	struct udax_dir *ud;		/* with "." and ".." */
	struct dirent ent;
};

static struct pdir *dirs;
static int ndirs;
static pthread_mutex_t dirs_lock = PTHREAD_MUTEX_INITIALIZER;

static struct pdir *pdir_find(void *p, bool unlink)
{
	struct pdir *d = NULL;

	if (!__atomic_load_n(&ndirs, __ATOMIC_RELAXED) || !p)
		return NULL;
	pthread_mutex_lock(&dirs_lock);
	for (struct pdir **pp = &dirs; (d = *pp); pp = &d->next)
		if (d == p) {
			if (unlink) {
				*pp = d->next;
				__atomic_store_n(&ndirs, ndirs - 1, __ATOMIC_RELAXED);
			}
			break;
		}
	pthread_mutex_unlock(&dirs_lock);
	return d;
}

/* A DIR for udax descriptor @fd (which it then owns). */
static DIR *pdir_open(int fd)
{
	struct pdesc *d = pl_desc_get(fd);
	struct pdir *pd;
	int ret;

	if (!d->isdir) {
		pl_desc_put(d);
		return err_null(-ENOTDIR);
	}
	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		pl_desc_put(d);
		return err_null(-ENOMEM);
	}
	ret = udax_opendir_ex(d->m->fs, d->path, UDAX_OPENDIR_DOTS, &pd->ud);
	pl_desc_put(d);
	if (ret) {
		free(pd);
		return err_null(ret);
	}
	pd->fd = fd;
	pthread_mutex_lock(&dirs_lock);
	pd->next = dirs;
	dirs = pd;
	__atomic_store_n(&ndirs, ndirs + 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&dirs_lock);
	return (DIR *)pd;
}

PL_EXPORT DIR *opendir(const char *path)
{
	struct upath u;
	DIR *dir;
	int r = upath(AT_FDCWD, &path, &u), fd;

	if (r <= 0)
		return r < 0 ? NULL : PL_REAL(opendir)(path);
	fd = open_udax(&u, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	dir = pdir_open(fd);
	if (!dir) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return dir;
}

PL_EXPORT DIR *fdopendir(int fd)
{
	if (!pl_is_udax_fd(fd))
		return PL_REAL(fdopendir)(fd);
	return pdir_open(fd);
}

static struct dirent *pdir_read(struct pdir *pd)
{
	struct udax_dirent ue;
	int ret = udax_readdir(pd->ud, &ue);

	if (ret <= 0) {
		if (ret < 0)
			errno = -ret;
		return NULL;
	}
	pd->ent.d_ino = ue.ino;
	pd->ent.d_type = ue.type;
	memcpy(pd->ent.d_name, ue.name, sizeof(pd->ent.d_name));
	pd->ent.d_off = (off_t)ue.off;
	pd->ent.d_reclen = sizeof(pd->ent);
	return &pd->ent;
}

PL_EXPORT struct dirent *readdir(DIR *dir)
{
	struct pdir *pd = pdir_find(dir, false);

	return pd ? pdir_read(pd) : PL_REAL(readdir)(dir);
}

_Static_assert(sizeof(struct dirent64) == sizeof(struct dirent), "dirent64 is dirent");

PL_EXPORT struct dirent64 *readdir64(DIR *dir)
{
	struct pdir *pd = pdir_find(dir, false);

	return pd ? (struct dirent64 *)pdir_read(pd) : PL_REAL(readdir64)(dir);
}

static void pdir_free(struct pdir *pd)
{
	udax_closedir(&pd->ud);
	close(pd->fd);
	free(pd);
}

PL_EXPORT int closedir(DIR *dir)
{
	struct pdir *pd = pdir_find(dir, true);

	if (!pd)
		return PL_REAL(closedir)(dir);
	pdir_free(pd);
	return 0;
}

PL_EXPORT int dirfd(DIR *dir)
{
	struct pdir *pd = pdir_find(dir, false);

	return pd ? pd->fd : PL_REAL(dirfd)(dir);
}

PL_EXPORT void rewinddir(DIR *dir)
{
	struct pdir *pd = pdir_find(dir, false);

	if (!pd)
		return PL_REAL(rewinddir)(dir);
	udax_seekdir(pd->ud, 0);
}

/* A cookie is below 2^63 (udax's), so long holds it. */
PL_EXPORT long telldir(DIR *dir)
{
	struct pdir *pd = pdir_find(dir, false);

	return pd ? (long)udax_telldir(pd->ud) : PL_REAL(telldir)(dir);
}

PL_EXPORT void seekdir(DIR *dir, long pos)
{
	struct pdir *pd = pdir_find(dir, false);

	if (!pd)
		return PL_REAL(seekdir)(dir, pos);
	udax_seekdir(pd->ud, (uint64_t)pos);
}

void pl_dirs_drop_all(void)
{
	struct pdir *pd;

	pthread_mutex_lock(&dirs_lock);
	pd = dirs;
	dirs = NULL;
	ndirs = 0;
	pthread_mutex_unlock(&dirs_lock);
	while (pd) {
		struct pdir *next = pd->next;

		pdir_free(pd);
		pd = next;
	}
}

/*
 * scandir: glibc's opens the directory through an internal entry point, so
 * a udax directory is scanned here with the interposed readdir.
 */
static int scan_udax(const char *path, struct dirent ***out,
		     int (*filter)(const struct dirent *),
		     int (*compar)(const struct dirent **, const struct dirent **))
{
	struct dirent **v = NULL, *e;
	size_t n = 0, cap = 0;
	DIR *dir = opendir(path);

	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		struct dirent *c;

		if (filter && !filter(e))
			continue;
		if (n == cap) {
			struct dirent **nv = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof(*v));

			if (!nv)
				goto nomem;
			v = nv;
		}
		c = malloc(sizeof(*c));
		if (!c)
			goto nomem;
		memcpy(c, e, sizeof(*c));
		v[n++] = c;
	}
	closedir(dir);
	if (compar && n)
		qsort(v, n, sizeof(*v), (int (*)(const void *, const void *))compar);
	*out = v;
	return (int)n;
nomem:
	while (n)
		free(v[--n]);
	free(v);
	closedir(dir);
	return (int)err(-ENOMEM);
}

PL_EXPORT int scandir(const char *path, struct dirent ***out,
		      int (*filter)(const struct dirent *),
		      int (*compar)(const struct dirent **, const struct dirent **))
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u);

	if (r <= 0)
		return r < 0 ? -1 : PL_REAL(scandir)(path, out, filter, compar);
	return scan_udax(path, out, filter, compar);
}

PL_EXPORT int scandir64(const char *path, struct dirent64 ***out,
			int (*filter)(const struct dirent64 *),
			int (*compar)(const struct dirent64 **, const struct dirent64 **))
{
	return scandir(path, (struct dirent ***)out, (int (*)(const struct dirent *))filter,
		       (int (*)(const struct dirent **, const struct dirent **))compar);
}

/*
 * realpath: the path is first normalised lexically (as every udax path is,
 * docs/preload.md), then udax's symbolic links are resolved in it.
 */
PL_EXPORT char *realpath(const char *path, char *resolved)
{
	char abs[PATH_MAX], can[PATH_MAX];
	struct upath u;
	int r;

	if (!given(path))
		return err_null(-EINVAL);
	r = upath(AT_FDCWD, &path, &u);
	if (r <= 0)
		return r < 0 ? NULL : PL_REAL(realpath)(path, resolved);
	r = canonical_udax(u.m->fs, u.in, can);
	if (r)
		return err_null(r);
	if (snprintf(abs, sizeof(abs), "%s%s", u.m->prefix, strcmp(can, "/") ? can : "") >=
	    (int)sizeof(abs))
		return err_null(-ENAMETOOLONG);
	return resolved ? strcpy(resolved, abs) : strdup(abs);
}

PL_EXPORT char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/* ---- stdio ----------------------------------------------------------------------------- */

/*
 * glibc's stdio opens, reads and writes through internal entry points
 * (__open_nocancel, __read...) that no preload sees, so a stream on a udax
 * file is a fopencookie() stream over a udax descriptor; fileno() of it
 * is -1.  freopen() onto a udax path cannot keep the FILE's identity:
 * EOPNOTSUPP.
 */
static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	return read((int)(intptr_t)c, buf, n);
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
	ssize_t r = write((int)(intptr_t)c, buf, n);

	return r < 0 ? 0 : r;
}

static int cookie_seek(void *c, off64_t *pos, int whence)
{
	off_t r = lseek((int)(intptr_t)c, *pos, whence);

	if (r < 0)
		return -1;
	*pos = r;
	return 0;
}

static int cookie_close(void *c)
{
	return close((int)(intptr_t)c);
}

static const cookie_io_functions_t cookie_io = {
	cookie_read, cookie_write, cookie_seek, cookie_close,
};

static int stdio_flags(const char *mode)
{
	int flags;

	switch (mode[0]) {
	case 'r':
		flags = O_RDONLY;
		break;
	case 'w':
		flags = O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case 'a':
		flags = O_WRONLY | O_CREAT | O_APPEND;
		break;
	default:
		return -1;
	}
	for (const char *c = mode + 1; *c && *c != ','; c++)
		if (*c == '+')
			flags = (flags & ~O_ACCMODE) | O_RDWR;
		else if (*c == 'x')
			flags |= O_EXCL;
		else if (*c == 'e')
			flags |= O_CLOEXEC;
	return flags;
}

static FILE *stream_on(int fd, const char *mode)
{
	FILE *fp = fopencookie((void *)(intptr_t)fd, mode, cookie_io);

	if (!fp) {
		int e = errno;

		close(fd);
		errno = e;
	}
	return fp;
}

PL_EXPORT FILE *fopen(const char *path, const char *mode)
{
	struct upath u;
	int r = upath(AT_FDCWD, &path, &u), flags, fd;

	if (r <= 0)
		return r < 0 ? NULL : PL_REAL(fopen)(path, mode);
	flags = stdio_flags(mode);
	if (flags < 0)
		return err_null(-EINVAL);
	fd = open_udax(&u, flags, 0666);
	return fd < 0 ? NULL : stream_on(fd, mode);
}

PL_EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return fopen(path, mode);
}

PL_EXPORT FILE *fdopen(int fd, const char *mode)
{
	if (!pl_is_udax_fd(fd))
		return PL_REAL(fdopen)(fd, mode);
	if (stdio_flags(mode) < 0)
		return err_null(-EINVAL);
	return fopencookie((void *)(intptr_t)fd, mode, cookie_io);
}

PL_EXPORT FILE *freopen(const char *path, const char *mode, FILE *fp)
{
	struct upath u;
	int r = given(path) ? upath(AT_FDCWD, &path, &u) : 0;

	if (r < 0)
		return NULL;
	if (!r)
		return PL_REAL(freopen)(path, mode, fp);
	return err_null(-EOPNOTSUPP);
}

PL_EXPORT FILE *freopen64(const char *path, const char *mode, FILE *fp)
{
	return freopen(path, mode, fp);
}
