/* SPDX-License-Identifier: MIT */
/*
 * Every call libudax-preload.so intercepts, from a plain program that knows
 * nothing of udax: run by `preload_test.sh calls` under LD_PRELOAD with
 * UDAX_PRELOAD=/udax=IMAGE, argv[1] the prefix.  It never links libudax;
 * without the preload every call on /udax would fail.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

static const char *root;

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "preload_calls:%d: %s failed (errno %d: %s)\n", \
			__LINE__, #cond, errno, strerror(errno));	\
		exit(1);						\
	}								\
} while (0)
/* @expr fails with errno @e. */
#define FAILS(expr, e) do {						\
	errno = 0;							\
	long r_ = (long)(expr);						\
	if (r_ != -1 || errno != (e)) {					\
		fprintf(stderr, "preload_calls:%d: %s = %ld errno %d (%s), want -1 %s\n", \
			__LINE__, #expr, r_, errno, strerror(errno), #e); \
		exit(1);						\
	}								\
} while (0)

static char *P(const char *rel)
{
	static char buf[8][4096];
	static int k;
	char *b = buf[k++ % 8];

	snprintf(b, 4096, "%s/%s", root, rel);
	return b;
}

static void files(void)
{
	char buf[64] = { 0 }, a[4] = "abc", b[4] = "def";
	struct iovec iov[2] = { { a, 3 }, { b, 3 } };
	struct stat st, st2;
	struct statx sx;
	int fd, fd2;

	fd = open(P("f"), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0640);
	CHECK(fd >= 0);
	FAILS(open(P("f"), O_CREAT | O_EXCL | O_RDWR, 0600), EEXIST);
	CHECK(write(fd, "hello world", 11) == 11);
	CHECK(lseek(fd, 0, SEEK_CUR) == 11);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(read(fd, buf, 5) == 5 && !memcmp(buf, "hello", 5));
	CHECK(pread(fd, buf, 5, 6) == 5 && !memcmp(buf, "world", 5));
	CHECK(pread64(fd, buf, 64, 6) == 5);
	CHECK(pwrite(fd, "W", 1, 6) == 1);
	CHECK(pwrite64(fd, "o", 1, 7) == 1);
	CHECK(lseek(fd, 0, SEEK_END) == 11);
	CHECK(writev(fd, iov, 2) == 6);
	CHECK(pwritev(fd, iov, 2, 17) == 6);
	CHECK(pwritev2(fd, iov, 1, -1, 0) == 3);	/* -1: the offset, now 17 */
	memset(buf, 0, sizeof(buf));
	CHECK(preadv(fd, (struct iovec[]){ { buf, 3 }, { buf + 3, 20 } }, 2, 0) == 23);
	CHECK(!memcmp(buf, "hello Wo", 8) && !memcmp(buf + 11, "abcdefabcdef", 12));
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	CHECK(readv(fd, (struct iovec[]){ { buf, 2 } }, 1) == 2);
	CHECK(preadv2(fd, (struct iovec[]){ { buf, 2 } }, 1, -1, 0) == 2 && !memcmp(buf, "ll", 2));
	CHECK(lseek64(fd, 0, SEEK_DATA) == 0 && lseek(fd, 3, SEEK_HOLE) == 23);
	FAILS(lseek(fd, 23, SEEK_DATA), ENXIO);
	FAILS(lseek(fd, -100, SEEK_CUR), EINVAL);

	CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 23);
	CHECK((st.st_mode & 0777) == (0640 & ~umask(022)));
	CHECK(stat(P("f"), &st2) == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
	CHECK(lstat(P("f"), &st2) == 0 && st2.st_size == 23);
	CHECK(fstatat(AT_FDCWD, P("f"), &st2, 0) == 0 && st2.st_ino == st.st_ino);
	CHECK(fstatat(fd, "", &st2, AT_EMPTY_PATH) == 0 && st2.st_ino == st.st_ino);
	CHECK(statx(AT_FDCWD, P("f"), 0, STATX_ALL, &sx) == 0 && sx.stx_size == 23 &&
	      sx.stx_ino == st.st_ino && (sx.stx_mask & STATX_BTIME));

	CHECK(fsync(fd) == 0 && fdatasync(fd) == 0);
	CHECK(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == 0);
	CHECK(ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5);
	CHECK(truncate(P("f"), 8192) == 0 && stat(P("f"), &st) == 0 && st.st_size == 8192);
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size == 8192 && st.st_blocks >= 128);
	CHECK(posix_fallocate(fd, 0, 12288) == 0 && fstat(fd, &st) == 0 && st.st_size == 12288);
	CHECK(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED) == 0);
	CHECK(pread(fd, buf, 3, 9000) == 3 && !buf[0] && !buf[1] && !buf[2]);

	/* O_APPEND, and fcntl flags */
	fd2 = open(P("f"), O_WRONLY | O_APPEND);
	CHECK(fd2 >= 0);
	CHECK(fcntl(fd2, F_GETFL) & O_APPEND);
	CHECK(write(fd2, "end", 3) == 3 && lseek(fd2, 0, SEEK_CUR) == 12291);
	CHECK(pwrite(fd2, "X", 1, 0) == 1);		/* appends, as on Linux */
	CHECK(fstat(fd2, &st) == 0 && st.st_size == 12292);
	CHECK(fcntl(fd2, F_SETFL, 0) == 0 && !(fcntl(fd2, F_GETFL) & O_APPEND));
	CHECK(lseek(fd2, 0, SEEK_SET) == 0 && write(fd2, "H", 1) == 1);
	FAILS(read(fd2, buf, 1), EBADF);		/* write-only */
	CHECK(pread(fd, buf, 1, 0) == 1 && buf[0] == 'H');
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC && fcntl(fd2, F_GETFD) == 0);
	CHECK(fcntl(fd2, F_SETFD, FD_CLOEXEC) == 0 && fcntl(fd2, F_GETFD) == FD_CLOEXEC);
	CHECK(close(fd2) == 0);
	FAILS(close(fd2), EBADF);
	FAILS(ioctl(fd, 0x40049409 /* FICLONE */, 0), ENOTTY);
	FAILS(copy_file_range(fd, NULL, 1, NULL, 10, 0), EXDEV);

	{
		struct statfs sf;

		CHECK(fstatfs(fd, &sf) == 0 && sf.f_bsize == 4096 && sf.f_blocks > sf.f_bfree);
		CHECK(statfs(root, &sf) == 0 && sf.f_namelen == 255);
	}
	CHECK(close(fd) == 0);
	FAILS(open(P("nodir/x"), O_RDONLY), ENOENT);
	FAILS(open(P("f"), O_RDONLY | O_DIRECTORY), ENOTDIR);
	FAILS(open(P("t"), O_RDWR | O_TMPFILE, 0600), EOPNOTSUPP);
	fd = open(P("f"), O_PATH);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
	FAILS(read(fd, buf, 1), EBADF);
	CHECK(close(fd) == 0);
	fd = creat(P("c"), 0600);
	CHECK(fd >= 0 && write(fd, "x", 1) == 1 && close(fd) == 0);
	FAILS(read(fd, buf, 1), EBADF);
}

/* dup family: one open file description, one offset. */
static void dups(void)
{
	int fd = open(P("f"), O_RDWR), d1, d2, d3, d4, kfd;
	char c;

	CHECK(fd >= 0);
	d1 = dup(fd);
	CHECK(d1 >= 0 && d1 != fd);
	CHECK(read(fd, &c, 1) == 1 && lseek(d1, 0, SEEK_CUR) == 1);
	d2 = fcntl(fd, F_DUPFD, 100);
	CHECK(d2 >= 100 && lseek(d2, 5, SEEK_SET) == 5 && lseek(fd, 0, SEEK_CUR) == 5);
	d3 = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	CHECK(d3 >= 0 && fcntl(d3, F_GETFD) == FD_CLOEXEC);
	kfd = open("/dev/null", O_RDONLY);
	CHECK(kfd >= 0);
	CHECK(dup2(fd, kfd) == kfd);			/* a kernel fd becomes udax */
	CHECK(lseek(kfd, 0, SEEK_CUR) == 5 && read(kfd, &c, 1) == 1 && c == 0);
	d4 = open("/dev/zero", O_RDONLY);
	CHECK(d4 >= 0 && dup3(d4, kfd, O_CLOEXEC) == kfd);	/* and back */
	CHECK(read(kfd, &c, 1) == 1 && c == 0);
	FAILS(dup3(fd, fd, 0), EINVAL);
	CHECK(dup2(fd, fd) == fd);
	CHECK(close(fd) == 0 && lseek(d1, 0, SEEK_CUR) == 6);	/* still open via d1 */
	CHECK(close(d1) == 0 && close(d2) == 0 && close(d3) == 0);
	CHECK(close(kfd) == 0 && close(d4) == 0);
}

/* The kernel never serves a udax descriptor: poll says POLLNVAL, a raw read fails. */
static void kernel_view(void)
{
	int fd = open(P("f"), O_RDONLY);
	struct pollfd pfd = { fd, POLLIN, 0 };
	fd_set set;
	char c;

	CHECK(fd >= 0);
	CHECK(poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLNVAL));
	FD_ZERO(&set);
	FD_SET(fd, &set);
	/* select says ready, as for any regular file; the read is then udax's */
	CHECK(select(fd + 1, &set, NULL, NULL, &(struct timeval){ 0, 0 }) == 1 && FD_ISSET(fd, &set));
	CHECK(read(fd, &c, 1) == 1 && c == 'H');
	FAILS(syscall(SYS_read, fd, &c, 1), EBADF);
	CHECK(close(fd) == 0);
}

static void namespace(void)
{
	struct stat st;
	char buf[8];
	int dfd, fd;

	CHECK(mkdir(P("d"), 0755) == 0);
	FAILS(mkdir(P("d"), 0755), EEXIST);
	dfd = open(P("d"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0 && fsync(dfd) == 0);
	CHECK(mkdirat(dfd, "sub", 0700) == 0 && stat(P("d/sub"), &st) == 0 && S_ISDIR(st.st_mode));
	fd = openat(dfd, "sub/g", O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "g", 1) == 1 && close(fd) == 0);
	CHECK(fstatat(dfd, "sub/g", &st, 0) == 0 && st.st_size == 1);
	CHECK(link(P("d/sub/g"), P("d/h")) == 0 && stat(P("d/h"), &st) == 0 && st.st_nlink == 2);
	CHECK(linkat(dfd, "h", dfd, "h2", 0) == 0 && stat(P("d/h"), &st) == 0 && st.st_nlink == 3);
	CHECK(rename(P("d/h2"), P("d/h3")) == 0);
	FAILS(stat(P("d/h2"), &st), ENOENT);
	CHECK(renameat(dfd, "h3", dfd, "h4") == 0);
	FAILS(renameat2(dfd, "h4", dfd, "h", RENAME_NOREPLACE), EEXIST);
	CHECK(renameat2(dfd, "h4", dfd, "h5", RENAME_NOREPLACE) == 0);
	FAILS(renameat2(dfd, "h5", dfd, "h", RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
	FAILS(renameat2(dfd, "h5", dfd, "h", RENAME_WHITEOUT), EINVAL);
	FAILS(renameat2(dfd, "h5", dfd, "none", RENAME_EXCHANGE), ENOENT);
	{
		struct stat a, b;

		CHECK(stat(P("d/h5"), &a) == 0 && stat(P("d/sub"), &b) == 0);
		CHECK(renameat2(dfd, "h5", dfd, "sub", RENAME_EXCHANGE) == 0);
		CHECK(stat(P("d/sub"), &st) == 0 && st.st_ino == a.st_ino && S_ISREG(st.st_mode));
		CHECK(stat(P("d/h5"), &st) == 0 && st.st_ino == b.st_ino && S_ISDIR(st.st_mode));
		CHECK(renameat2(AT_FDCWD, P("d/sub"), dfd, "h5", RENAME_EXCHANGE) == 0);
		CHECK(stat(P("d/h5"), &st) == 0 && st.st_ino == a.st_ino);
	}
	FAILS(rename(P("d/h5"), "/tmp/udax-preload-x"), EXDEV);
	FAILS(link(P("d/h5"), "/tmp/udax-preload-x"), EXDEV);
	CHECK(unlinkat(dfd, "h5", 0) == 0 && unlink(P("d/h")) == 0);
	CHECK(stat(P("d/sub/g"), &st) == 0 && st.st_nlink == 1);
	FAILS(rmdir(P("d/sub")), ENOTEMPTY);
	CHECK(unlink(P("d/sub/g")) == 0 && unlinkat(dfd, "sub", AT_REMOVEDIR) == 0);
	FAILS(readlink(P("d"), buf, sizeof(buf)), EINVAL);
	FAILS(readlink(P("d/none"), buf, sizeof(buf)), ENOENT);
	CHECK(access(P("d"), R_OK | X_OK) == 0 && faccessat(dfd, ".", W_OK, 0) == 0);
	FAILS(access(P("d/none"), F_OK), ENOENT);
	CHECK(chmod(P("f"), 0600) == 0 && stat(P("f"), &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(utimensat(AT_FDCWD, P("f"), (struct timespec[]){ { 1000, 0 }, { 2000, 5 } }, 0) == 0);
	CHECK(stat(P("f"), &st) == 0 && st.st_mtim.tv_sec == 2000 && st.st_mtim.tv_nsec == 5);
	CHECK(lutimes(P("f"), (struct timeval[]){ { 10, 0 }, { 3000, 7 } }) == 0);
	CHECK(stat(P("f"), &st) == 0 && st.st_mtim.tv_sec == 3000 && st.st_mtim.tv_nsec == 7000);
	CHECK(futimesat(AT_FDCWD, P("f"), (struct timeval[]){ { 10, 0 }, { 4000, 0 } }) == 0);
	CHECK(stat(P("f"), &st) == 0 && st.st_mtim.tv_sec == 4000);
	CHECK(close(dfd) == 0);
	/* a lookup that leaves udax by .. is the kernel's */
	CHECK(stat(P("d/../../tmp"), &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(stat(P("d/./../f"), &st) == 0 && S_ISREG(st.st_mode));
}

/* Symbolic links: made, read and followed by udax, inside the file system. */
static void links(void)
{
	struct stat st, lst;
	struct statx sx;
	char buf[64], *rp;
	int dfd, fd;

	CHECK(mkdir(P("ln"), 0755) == 0 && mkdir(P("ln/dir"), 0755) == 0);
	fd = open(P("ln/dir/file"), O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && write(fd, "linked", 6) == 6 && close(fd) == 0);
	CHECK(symlink("dir/file", P("ln/rel")) == 0);
	FAILS(symlink("x", P("ln/rel")), EEXIST);
	FAILS(symlink("", P("ln/empty")), ENOENT);
	dfd = open(P("ln"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0 && symlinkat("/ln/dir", dfd, "abs") == 0);
	CHECK(symlinkat("none", dfd, "dangling") == 0);
	/* readlink: the target as given, no NUL, truncated to the buffer */
	memset(buf, 'z', sizeof(buf));
	CHECK(readlink(P("ln/rel"), buf, sizeof(buf)) == 8 && !memcmp(buf, "dir/file", 8) &&
	      buf[8] == 'z');
	CHECK(readlinkat(dfd, "abs", buf, 4) == 4 && !memcmp(buf, "/ln/", 4));
	FAILS(readlink(P("ln/rel"), buf, 0), EINVAL);
	FAILS(readlink(P("ln/dir"), buf, sizeof(buf)), EINVAL);
	/* stat follows, lstat and AT_SYMLINK_NOFOLLOW do not */
	CHECK(stat(P("ln/rel"), &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 6);
	CHECK(lstat(P("ln/rel"), &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_size == 8);
	CHECK(lst.st_ino != st.st_ino && (lst.st_mode & 07777) == 0777);
	CHECK(lstat64(P("ln/rel"), (struct stat64 *)&lst) == 0 && S_ISLNK(lst.st_mode));
	CHECK(fstatat(dfd, "rel", &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode));
	CHECK(fstatat(dfd, "rel", &lst, 0) == 0 && lst.st_ino == st.st_ino);
	CHECK(statx(dfd, "rel", AT_SYMLINK_NOFOLLOW, STATX_ALL, &sx) == 0 &&
	      S_ISLNK(sx.stx_mode) && sx.stx_size == 8);
	CHECK(statx(dfd, "rel", 0, STATX_ALL, &sx) == 0 && S_ISREG(sx.stx_mode));
	FAILS(stat(P("ln/dangling"), &st), ENOENT);
	FAILS(access(P("ln/dangling"), F_OK), ENOENT);
	CHECK(faccessat(dfd, "dangling", F_OK, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(lstat(P("ln/dangling"), &st) == 0 && S_ISLNK(st.st_mode));
	/* an absolute target is the file system's root: /ln/dir is PREFIX/ln/dir */
	CHECK(stat(P("ln/abs/file"), &st) == 0 && st.st_size == 6);
	fd = open(P("ln/abs/file"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, 6) == 6 && !memcmp(buf, "linked", 6) && close(fd) == 0);
	/* O_NOFOLLOW: ELOOP on a link as the last component, walks through one before */
	FAILS(open(P("ln/rel"), O_RDONLY | O_NOFOLLOW), ELOOP);
	fd = open(P("ln/abs/file"), O_RDONLY | O_NOFOLLOW);
	CHECK(fd >= 0 && close(fd) == 0);
	/* O_CREAT through a dangling link creates its target */
	fd = open(P("ln/dangling"), O_CREAT | O_WRONLY, 0600);
	CHECK(fd >= 0 && close(fd) == 0 && stat(P("ln/none"), &st) == 0 && S_ISREG(st.st_mode));
	FAILS(open(P("ln/rel"), O_CREAT | O_EXCL | O_WRONLY, 0600), EEXIST);
	/* realpath and chdir resolve the links */
	rp = realpath(P("ln/abs/../rel"), NULL);	/* lexically ln/rel */
	CHECK(rp && !strcmp(rp, P("ln/dir/file")));
	free(rp);
	rp = realpath(P("ln/abs"), NULL);
	CHECK(rp && !strcmp(rp, P("ln/dir")));
	free(rp);
	CHECK(!realpath(P("ln/dangling/x"), NULL) && errno == ENOTDIR);
	CHECK(symlink("loop", P("ln/loop")) == 0);
	FAILS(stat(P("ln/loop"), &st), ELOOP);
	FAILS(open(P("ln/loop"), O_RDONLY), ELOOP);
	CHECK(!realpath(P("ln/loop"), NULL) && errno == ELOOP);
	CHECK(unlink(P("ln/loop")) == 0);
	/* lchown, utimensat and lutimes on the link itself, chown through it */
	CHECK(lchown(P("ln/rel"), geteuid(), getegid()) == 0);
	CHECK(utimensat(dfd, "rel", (struct timespec[]){ { 100, 0 }, { 200, 3 } },
			AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(lstat(P("ln/rel"), &lst) == 0 && lst.st_mtim.tv_sec == 200 && lst.st_mtim.tv_nsec == 3);
	CHECK(stat(P("ln/rel"), &st) == 0 && st.st_mtim.tv_sec != 200);
	CHECK(lutimes(P("ln/rel"), (struct timeval[]){ { 10, 0 }, { 300, 0 } }) == 0);
	CHECK(lstat(P("ln/rel"), &lst) == 0 && lst.st_mtim.tv_sec == 300);
	CHECK(stat(P("ln/rel"), &st) == 0 && st.st_mtim.tv_sec != 300);
	CHECK(utimensat(dfd, "rel", (struct timespec[]){ { 0, UTIME_OMIT }, { 400, 0 } }, 0) == 0);
	CHECK(stat(P("ln/dir/file"), &st) == 0 && st.st_mtim.tv_sec == 400);
	FAILS(fchmodat(dfd, "rel", 0600, AT_SYMLINK_NOFOLLOW), EOPNOTSUPP);
	CHECK(fchmodat(dfd, "dir/file", 0600, AT_SYMLINK_NOFOLLOW) == 0);
	CHECK(chmod(P("ln/rel"), 0640) == 0 && stat(P("ln/dir/file"), &st) == 0 &&
	      (st.st_mode & 07777) == 0640);
	CHECK(fchownat(dfd, "rel", (uid_t)-1, (gid_t)-1, AT_SYMLINK_NOFOLLOW) == 0);
	/* link: of the link itself, or with AT_SYMLINK_FOLLOW of its target */
	CHECK(link(P("ln/rel"), P("ln/hard")) == 0 && lstat(P("ln/hard"), &lst) == 0 &&
	      S_ISLNK(lst.st_mode) && lst.st_nlink == 2 && unlink(P("ln/hard")) == 0);
	CHECK(linkat(dfd, "rel", dfd, "hard", AT_SYMLINK_FOLLOW) == 0);
	CHECK(lstat(P("ln/hard"), &lst) == 0 && S_ISREG(lst.st_mode) && lst.st_nlink == 2);
	CHECK(unlink(P("ln/hard")) == 0);
	/* rename and unlink act on the link, not its target */
	CHECK(rename(P("ln/rel"), P("ln/rel2")) == 0 && lstat(P("ln/rel2"), &lst) == 0 &&
	      S_ISLNK(lst.st_mode));
	CHECK(unlink(P("ln/rel2")) == 0 && stat(P("ln/dir/file"), &st) == 0);
	/* the directory listing says DT_LNK */
	{
		struct dirent *e;
		DIR *d = opendir(P("ln"));
		int lnk = 0;

		CHECK(d);
		while ((e = readdir(d)))
			lnk += e->d_type == DT_LNK;
		CHECK(closedir(d) == 0 && lnk == 2);	/* abs, dangling */
	}
	CHECK(close(dfd) == 0);
}

/* Special files: inode types udax keeps, with no data here (ENXIO). */
static void specials(void)
{
	struct stat st;
	int dfd;

	CHECK(mkdir(P("sp"), 0755) == 0);
	dfd = open(P("sp"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	CHECK(mkfifo(P("sp/fifo"), 0666) == 0);
	CHECK(stat(P("sp/fifo"), &st) == 0 && S_ISFIFO(st.st_mode));
	CHECK((st.st_mode & 0777) == (0666 & ~umask(022)));
	FAILS(mkfifo(P("sp/fifo"), 0600), EEXIST);
	CHECK(mkfifoat(dfd, "fifo2", 0600) == 0 && fstatat(dfd, "fifo2", &st, 0) == 0 &&
	      S_ISFIFO(st.st_mode));
	FAILS(open(P("sp/fifo"), O_RDONLY | O_NONBLOCK), ENXIO);
	CHECK(mknod(P("sp/sock"), S_IFSOCK | 0600, 0) == 0 && stat(P("sp/sock"), &st) == 0 &&
	      S_ISSOCK(st.st_mode));
	CHECK(mknodat(dfd, "reg", 0600, 0) == 0 && stat(P("sp/reg"), &st) == 0 &&
	      S_ISREG(st.st_mode) && st.st_size == 0);
	FAILS(mknod(P("sp/dir"), S_IFDIR | 0700, 0), EPERM);
	if (geteuid() == 0) {
		CHECK(mknod(P("sp/chr"), S_IFCHR | 0600, makedev(1, 3)) == 0);
		CHECK(stat(P("sp/chr"), &st) == 0 && S_ISCHR(st.st_mode) &&
		      st.st_rdev == makedev(1, 3));
		CHECK(mknodat(dfd, "blk", S_IFBLK | 0600, makedev(8, 1)) == 0);
		CHECK(lstat(P("sp/blk"), &st) == 0 && S_ISBLK(st.st_mode) &&
		      major(st.st_rdev) == 8 && minor(st.st_rdev) == 1);
		FAILS(open(P("sp/chr"), O_RDWR), ENXIO);
	} else {
		FAILS(mknod(P("sp/chr"), S_IFCHR | 0600, makedev(1, 3)), EPERM);
	}
	/* they go as any name does */
	CHECK(unlink(P("sp/fifo")) == 0 && rename(P("sp/sock"), P("sp/sock2")) == 0);
	CHECK(close(dfd) == 0);
}

/* Files, directories, links and special files are the creator's (euid, egid). */
static void owners(void)
{
	struct stat st;
	int fd;

	CHECK(mkdir(P("own"), 0755) == 0 && stat(P("own"), &st) == 0);
	CHECK(st.st_uid == geteuid() && st.st_gid == getegid());
	fd = open(P("own/f"), O_CREAT | O_WRONLY, 0644);
	CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_uid == geteuid() && st.st_gid == getegid());
	CHECK(close(fd) == 0);
	CHECK(symlink("f", P("own/l")) == 0 && lstat(P("own/l"), &st) == 0);
	CHECK(st.st_uid == geteuid() && st.st_gid == getegid());
	CHECK(mkfifo(P("own/p"), 0600) == 0 && stat(P("own/p"), &st) == 0);
	CHECK(st.st_uid == geteuid() && st.st_gid == getegid());
	/* chown clears set-user-ID, as Linux's does */
	CHECK(chmod(P("own/f"), 04755) == 0 && stat(P("own/f"), &st) == 0 &&
	      (st.st_mode & 07777) == 04755);
	CHECK(chown(P("own/f"), geteuid(), (gid_t)-1) == 0 && stat(P("own/f"), &st) == 0);
	CHECK((st.st_mode & 07777) == 0755 && st.st_uid == geteuid());
	/* set-group-ID directory: its group, inherited by a subdirectory */
	if (geteuid() == 0) {
		CHECK(chown(P("own"), 0, 4242) == 0 && chmod(P("own"), 02775) == 0);
		fd = open(P("own/g"), O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0 && fstat(fd, &st) == 0 && st.st_gid == 4242 && close(fd) == 0);
		CHECK(mkdir(P("own/sub"), 0755) == 0 && stat(P("own/sub"), &st) == 0);
		CHECK(st.st_gid == 4242 && (st.st_mode & S_ISGID));
	}
}

static void dirs(void)
{
	int n = 0, seen = 0, fd;
	struct dirent *e;
	DIR *d;

	for (int i = 0; i < 5; i++) {
		char name[32];

		snprintf(name, sizeof(name), "dir/e%d", i);
		if (i == 0)
			CHECK(mkdir(P("dir"), 0755) == 0);
		fd = open(P(name), O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0 && close(fd) == 0);
	}
	d = opendir(P("dir"));
	CHECK(d);
	CHECK(dirfd(d) >= 0);
	while ((e = readdir(d))) {
		n++;
		if (!strncmp(e->d_name, "e", 1)) {
			seen |= 1 << (e->d_name[1] - '0');
			CHECK(e->d_type == DT_REG);
		}
	}
	CHECK(n == 7 && seen == 0x1f);
	rewinddir(d);
	{
		struct stat sd, sr;

		CHECK(stat(P("dir"), &sd) == 0 && stat(root, &sr) == 0);
		CHECK((e = readdir(d)) && !strcmp(e->d_name, ".") && e->d_ino == sd.st_ino);
		CHECK((e = readdir(d)) && !strcmp(e->d_name, "..") && e->d_ino == sr.st_ino);
		CHECK(telldir(d) == 2);
		seekdir(d, 1);
		CHECK((e = readdir(d)) && !strcmp(e->d_name, ".."));
	}
	{
		/* cookies: a position stays valid while entries come and go */
		char first[256];
		long pos;

		CHECK((e = readdir(d)) && e->d_off == telldir(d));
		pos = telldir(d);
		CHECK((e = readdir(d)));
		snprintf(first, sizeof(first), "%s", e->d_name);
		CHECK(unlink(P("dir/e9")) == -1 && errno == ENOENT);
		fd = open(P("dir/new"), O_CREAT | O_WRONLY, 0644);
		CHECK(fd >= 0 && close(fd) == 0);
		seekdir(d, pos);
		CHECK((e = readdir(d)) && !strcmp(e->d_name, first));
		CHECK(unlink(P("dir/new")) == 0);
	}
	CHECK(closedir(d) == 0);
	fd = open(P("dir"), O_RDONLY | O_DIRECTORY);
	d = fdopendir(fd);
	CHECK(d && dirfd(d) == fd);
	n = 0;
	while (readdir64(d))
		n++;
	CHECK(n == 7 && closedir(d) == 0);
	FAILS(opendir(P("f")) ? 0 : -1, ENOTDIR);
	{
		struct dirent **list;
		char *rp;

		n = scandir(P("dir"), &list, NULL, alphasort);
		CHECK(n == 7 && !strcmp(list[0]->d_name, ".") && !strcmp(list[2]->d_name, "e0") &&
		      !strcmp(list[6]->d_name, "e4"));
		while (n)
			free(list[--n]);
		free(list);
		rp = realpath(P("dir/../dir/./e3"), NULL);
		CHECK(rp && !strcmp(rp, P("dir/e3")));
		free(rp);
		CHECK(!realpath(P("dir/none"), NULL) && errno == ENOENT);
	}
}

/* In-process byte-range locks: POSIX ones are the process's, OFD ones the description's. */
static void locks(void)
{
	int a = open(P("f"), O_RDWR), b = open(P("f"), O_RDWR);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };

	CHECK(a >= 0 && b >= 0);
	CHECK(fcntl(a, F_SETLK, &fl) == 0);
	fl.l_type = F_WRLCK;
	CHECK(fcntl(b, F_SETLK, &fl) == 0);		/* same process: no conflict */
	CHECK(fcntl(b, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
	fl = (struct flock){ .l_type = F_RDLCK, .l_start = 5, .l_len = 10 };
	FAILS(fcntl(a, F_OFD_SETLK, &fl), EAGAIN);	/* OFD vs the process's POSIX lock */
	fl = (struct flock){ .l_type = F_UNLCK, .l_start = 0, .l_len = 0 };
	CHECK(fcntl(a, F_SETLK, &fl) == 0);
	fl = (struct flock){ .l_type = F_WRLCK, .l_start = 100, .l_len = 1 };
	CHECK(fcntl(a, F_OFD_SETLK, &fl) == 0);
	fl = (struct flock){ .l_type = F_RDLCK, .l_start = 0, .l_len = 0 };
	FAILS(fcntl(b, F_OFD_SETLK, &fl), EAGAIN);
	CHECK(fcntl(b, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_start == 100 &&
	      fl.l_len == 1 && fl.l_pid == -1);
	fl = (struct flock){ .l_type = F_RDLCK, .l_start = 0, .l_len = 100 };
	CHECK(fcntl(b, F_OFD_SETLK, &fl) == 0);		/* beside it */
	CHECK(flock(a, LOCK_EX | LOCK_NB) == 0);
	FAILS(flock(b, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	CHECK(close(a) == 0);				/* drops a's OFD and flock locks */
	fl = (struct flock){ .l_type = F_WRLCK, .l_start = 100, .l_len = 0 };
	CHECK(fcntl(b, F_OFD_SETLK, &fl) == 0 && flock(b, LOCK_EX | LOCK_NB) == 0);
	CHECK(close(b) == 0);
}

static void maps(void)
{
	int fd = open(P("m"), O_CREAT | O_RDWR, 0644);
	char buf[8], *p, *q;

	CHECK(fd >= 0 && ftruncate(fd, 8192) == 0);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	memcpy(p + 4096, "view", 4);
	CHECK(msync(p, 8192, MS_SYNC) == 0);
	CHECK(pread(fd, buf, 4, 4096) == 4 && !memcmp(buf, "view", 4));
	CHECK(pwrite(fd, "back", 4, 10) == 4 && !memcmp(p + 10, "back", 4));
	q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 4096);
	CHECK(q != MAP_FAILED && !memcmp(q, "view", 4));
	memcpy(q, "priv", 4);				/* a copy: the file keeps "view" */
	CHECK(pread(fd, buf, 4, 4096) == 4 && !memcmp(buf, "view", 4));
	CHECK(munmap(q, 4096) == 0);
	FAILS(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 16384), ENXIO);	/* past EOF */
	FAILS(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 100), EINVAL);
	CHECK(close(fd) == 0);				/* the mapping holds the file */
	memcpy(p, "after close", 11);
	CHECK(munmap(p, 8192) == 0);
	fd = open(P("m"), O_RDONLY);
	CHECK(fd >= 0 && pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "after", 5));
	FAILS(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), EACCES);
	CHECK(close(fd) == 0);
}

static void stdio(void)
{
	char line[64];
	FILE *f = fopen(P("s"), "w+");
	int fd;

	CHECK(f);
	CHECK(fprintf(f, "line one\nline %d\n", 2) == 16);
	CHECK(fseek(f, 0, SEEK_SET) == 0 && fgets(line, sizeof(line), f) && !strcmp(line, "line one\n"));
	CHECK(fclose(f) == 0);
	f = fopen(P("s"), "a");
	CHECK(f && fputs("three\n", f) >= 0 && fclose(f) == 0);
	fd = open(P("s"), O_RDONLY);
	f = fdopen(fd, "r");
	CHECK(f && fread(line, 1, sizeof(line), f) == 22 && !memcmp(line + 16, "three\n", 6));
	CHECK(fclose(f) == 0);
	FAILS(fcntl(fd, F_GETFD), EBADF);		/* fclose closed it */
	CHECK(!fopen(P("nodir/s"), "r") && errno == ENOENT);
	CHECK(!freopen(P("s"), "r", stdin) && errno == EOPNOTSUPP);
}

static void cwd(void)
{
	char buf[4096];
	struct stat st;
	int fd, dfd;

	CHECK(chdir(P("dir")) == 0);
	CHECK(getcwd(buf, sizeof(buf)) && !strcmp(buf, P("dir")));
	fd = open("e1", O_RDONLY);
	CHECK(fd >= 0 && close(fd) == 0);
	CHECK(stat("../f", &st) == 0 && S_ISREG(st.st_mode));
	CHECK(chdir("/tmp") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/tmp"));
	dfd = open(P("dir"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0 && fchdir(dfd) == 0 && stat("e2", &st) == 0);
	CHECK(close(dfd) == 0 && chdir("/") == 0);
	FAILS(stat("e2", &st), ENOENT);
}

/*
 * fork: the child's udax descriptors and paths are the parent's (issue 10):
 * every call fails with ESTALE, nothing is touched.  exec drops them.
 */
static void forks(void)
{
	int fd = open(P("f"), O_RDWR), status;
	char c, cmd[64];
	struct stat st;
	pid_t pid;

	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct stat cst;
		int bad = 0;

		bad |= !(read(fd, &c, 1) == -1 && errno == ESTALE);
		bad |= !(write(fd, "zzzz", 4) == -1 && errno == ESTALE) << 1;
		bad |= !(ftruncate(fd, 0) == -1 && errno == ESTALE) << 2;
		bad |= !(stat(P("f"), &cst) == -1 && errno == ESTALE) << 3;
		bad |= !(open(P("new"), O_CREAT | O_RDWR, 0644) == -1 && errno == ESTALE) << 4;
		bad |= !(unlink(P("f")) == -1 && errno == ESTALE) << 5;
		bad |= !(close(fd) == 0) << 6;
		exit(bad);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	if (WEXITSTATUS(status))
		fprintf(stderr, "child: %#x\n", WEXITSTATUS(status));
	CHECK(WEXITSTATUS(status) == 0);
	CHECK(fstat(fd, &st) == 0 && st.st_size > 4 && pread(fd, &c, 1, 0) == 1 && c == 'H');
	CHECK(access(P("new"), F_OK) == -1 && errno == ENOENT);

	/* exec: the kernel descriptor is close-on-exec, even with FD_CLOEXEC cleared */
	CHECK(fcntl(fd, F_SETFD, 0) == 0);
	snprintf(cmd, sizeof(cmd), "test -e /proc/self/fd/%d", fd);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		unsetenv("LD_PRELOAD");
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CHECK(close(fd) == 0);
}

/* The setxattr family, by path, descriptor and on a symbolic link itself. */
static void xattrs(void)
{
	char buf[64], big[4000];
	struct stat st;
	int fd, dfd, pfd;

	CHECK(mkdir(P("xa"), 0755) == 0);
	fd = open(P("xa/f"), O_RDWR | O_CREAT, 0644);
	CHECK(fd >= 0);
	CHECK(listxattr(P("xa/f"), NULL, 0) == 0);
	CHECK(setxattr(P("xa/f"), "user.a", "one", 3, 0) == 0);
	FAILS(setxattr(P("xa/f"), "user.a", "two", 3, XATTR_CREATE), EEXIST);
	FAILS(setxattr(P("xa/f"), "user.b", "two", 3, XATTR_REPLACE), ENODATA);
	CHECK(setxattr(P("xa/f"), "user.a", "uno", 3, XATTR_REPLACE) == 0);
	CHECK(getxattr(P("xa/f"), "user.a", NULL, 0) == 3);	/* size 0: the size */
	CHECK(getxattr(P("xa/f"), "user.a", buf, sizeof(buf)) == 3 && !memcmp(buf, "uno", 3));
	FAILS(getxattr(P("xa/f"), "user.a", buf, 2), ERANGE);
	FAILS(getxattr(P("xa/f"), "user.none", buf, sizeof(buf)), ENODATA);
	FAILS(setxattr(P("xa/f"), "bogus.a", "x", 1, 0), EOPNOTSUPP);
	FAILS(setxattr(P("xa/f"), "system.posix_acl_access", "x", 1, 0), EOPNOTSUPP);
	FAILS(getxattr(P("xa/f"), "system.posix_acl_default", buf, sizeof(buf)), EOPNOTSUPP);
	FAILS(getxattr(P("xa/none"), "user.a", buf, sizeof(buf)), ENOENT);

	/* descriptor calls see the same set */
	CHECK(fsetxattr(fd, "user.b", "", 0, XATTR_CREATE) == 0);
	CHECK(fgetxattr(fd, "user.b", buf, sizeof(buf)) == 0);
	CHECK(fgetxattr(fd, "user.a", buf, sizeof(buf)) == 3 && !memcmp(buf, "uno", 3));
	CHECK(flistxattr(fd, NULL, 0) == 14);			/* "user.a\0user.b\0" */
	CHECK(listxattr(P("xa/f"), buf, sizeof(buf)) == 14);
	CHECK((!memcmp(buf, "user.a\0user.b\0", 14) || !memcmp(buf, "user.b\0user.a\0", 14)));
	FAILS(flistxattr(fd, buf, 13), ERANGE);
	FAILS(fsetxattr(fd, "user.b", "x", 1, XATTR_CREATE), EEXIST);
	CHECK(fremovexattr(fd, "user.b") == 0);
	FAILS(fremovexattr(fd, "user.b"), ENODATA);
	FAILS(fgetxattr(fd, "user.b", buf, sizeof(buf)), ENODATA);
	CHECK(removexattr(P("xa/f"), "user.a") == 0);
	FAILS(removexattr(P("xa/f"), "user.a"), ENODATA);
	CHECK(flistxattr(fd, buf, sizeof(buf)) == 0);
	memset(big, 'v', sizeof(big));
	FAILS(fsetxattr(fd, "user.big", big, sizeof(big), 0), E2BIG);

	/* the value outlives the descriptor; a directory takes them too */
	CHECK(fsetxattr(fd, "trusted.t", "kept", 4, 0) == 0 && close(fd) == 0);
	CHECK(getxattr(P("xa/f"), "trusted.t", buf, sizeof(buf)) == 4 && !memcmp(buf, "kept", 4));
	dfd = open(P("xa"), O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0 && fsetxattr(dfd, "user.d", "dir", 3, 0) == 0);
	CHECK(getxattr(P("xa"), "user.d", buf, sizeof(buf)) == 3 && close(dfd) == 0);
	pfd = open(P("xa/f"), O_PATH);
	CHECK(pfd >= 0);
	FAILS(fgetxattr(pfd, "trusted.t", buf, sizeof(buf)), EBADF);
	CHECK(close(pfd) == 0);

	/* a symbolic link: followed by the plain calls, itself by the l-calls */
	CHECK(symlink("f", P("xa/l")) == 0);
	CHECK(getxattr(P("xa/l"), "trusted.t", buf, sizeof(buf)) == 4);
	CHECK(setxattr(P("xa/l"), "user.vialink", "1", 1, 0) == 0);
	CHECK(getxattr(P("xa/f"), "user.vialink", buf, sizeof(buf)) == 1 && buf[0] == '1');
	CHECK(llistxattr(P("xa/l"), NULL, 0) == 0);
	FAILS(lgetxattr(P("xa/l"), "trusted.t", buf, sizeof(buf)), ENODATA);
	FAILS(lsetxattr(P("xa/l"), "user.x", "1", 1, 0), EPERM);
	FAILS(lsetxattr(P("xa/l"), "trusted.x", "1", 1, 0), EOPNOTSUPP);
	FAILS(lremovexattr(P("xa/l"), "user.vialink"), ENODATA);
	CHECK(lstat(P("xa/l"), &st) == 0 && S_ISLNK(st.st_mode));
	/* l-calls on what is not a link act on it */
	CHECK(lsetxattr(P("xa/f"), "user.l", "L", 1, XATTR_CREATE) == 0);
	CHECK(lgetxattr(P("xa/f"), "user.l", buf, sizeof(buf)) == 1 && buf[0] == 'L');
	CHECK(llistxattr(P("xa/f"), NULL, 0) == 30);	/* trusted.t user.vialink user.l */
	CHECK(lremovexattr(P("xa/f"), "user.l") == 0);
	FAILS(lgetxattr(P("xa/f"), "user.l", buf, sizeof(buf)), ENODATA);
	FAILS(lgetxattr(P("xa/none"), "user.l", buf, sizeof(buf)), ENOENT);
}

/* Kernel paths and descriptors pass through untouched. */
static void kernel_paths(void)
{
	char tmpl[] = "/tmp/udax-preload-XXXXXX", buf[4];
	int fd = mkstemp(tmpl);

	CHECK(fd >= 0 && write(fd, "kern", 4) == 4 && pread(fd, buf, 4, 0) == 4);
	CHECK(!memcmp(buf, "kern", 4) && close(fd) == 0 && unlink(tmpl) == 0);
	CHECK(access("/", F_OK) == 0);
}

int main(int argc, char **argv)
{
	struct stat st;

	if (argc != 2) {
		fprintf(stderr, "usage: preload_calls PREFIX (under libudax-preload.so)\n");
		return 2;
	}
	root = argv[1];
	if (stat(root, &st) || !S_ISDIR(st.st_mode) || major(st.st_dev) != 0x75da) {
		fprintf(stderr, "preload_calls: %s is not served by libudax-preload.so\n", root);
		return 1;
	}
	files();
	dups();
	kernel_view();
	namespace();
	links();
	specials();
	owners();
	dirs();
	locks();
	maps();
	stdio();
	cwd();
	forks();
	xattrs();
	kernel_paths();
	printf("preload_calls: all intercepted calls behave\n");
	return 0;
}
