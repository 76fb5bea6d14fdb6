/* SPDX-License-Identifier: MIT */
/* libudax-preload.so: what core.c and intercept.c share (docs/preload.md). */
#ifndef UDAX_PRELOAD_H
#define UDAX_PRELOAD_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <udax/fs.h>

#define PL_MAX_MOUNTS	8
/* udax descriptors are below this number (the kernel gives the lowest free one). */
#define PL_FD_MAX	65536

enum { PL_UNUSED, PL_MOUNTED, PL_FAILED, PL_CLOSED };

struct pmount {
	char *prefix;			/* "/udax", no trailing slash */
	size_t plen;
	char *spec;			/* device spec, partition stripped */
	unsigned part;
	int idx;
	int state;			/* PL_* */
	struct udax_dev *dev;
	struct udax_fs *fs;
};

/* An open file description: shared by dup()ed descriptors, as in the kernel. */
struct pdesc {
	int refs;
	struct pmount *m;
	struct udax_file *f;		/* file or directory handle */
	uint32_t ino;
	bool isdir;
	char *path;			/* inside the file system, at open */
	int flags;			/* open flags, as F_GETFL shows them */
	pthread_mutex_t pos_lock;	/* the offset, and read/write through it */
	uint64_t pos;
};

extern struct pmount pl_mounts[PL_MAX_MOUNTS];
extern int pl_nmounts;
extern bool pl_debug;
/* Inside the preload's own use of udax (mount, unmount): pass everything through. */
extern __thread int pl_inside __attribute__((tls_model("initial-exec")));
extern struct pdesc *pl_fdtab[PL_FD_MAX];
extern unsigned char pl_fdcloexec[PL_FD_MAX];
extern pthread_rwlock_t pl_fdlock;
extern const char pl_posix_owner;

static inline ssize_t syscall_write(int fd, const void *buf, size_t n)
{
	return syscall(SYS_write, fd, buf, n);
}

void *pl_real(const char *name);
/* The next definition of libc function @fn (resolved once). */
#define PL_REAL(fn) ({							\
	static __typeof__(&fn) real_;					\
	__typeof__(&fn) pr_ = __atomic_load_n(&real_, __ATOMIC_RELAXED);	\
	if (!pr_) {							\
		pr_ = (__typeof__(&fn))pl_real(#fn);			\
		__atomic_store_n(&real_, pr_, __ATOMIC_RELAXED);		\
	}								\
	pr_;								\
})

void pl_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define PL_DEBUG(...) do { if (pl_debug) pl_trace(__VA_ARGS__); } while (0)

mode_t pl_apply_umask(mode_t mode);
struct udax_fs *pl_fs(struct pmount *m);
int pl_resolve(int dirfd, const char *path, struct pmount **m, char *inner);
void pl_set_vcwd(const char *abs);
int pl_get_vcwd(char *buf, size_t size, int *err);

struct pdesc *pl_desc_get(int fd);
void pl_desc_put(struct pdesc *d);
bool pl_is_udax_fd(int fd);
int pl_reserve_fd(int min);
void pl_fd_install(int fd, struct pdesc *d, bool cloexec);
struct pdesc *pl_fd_remove(int fd);

enum { PL_LOCK_GET, PL_LOCK_TRY, PL_LOCK_WAIT };
struct flock;
int pl_lock(struct pmount *m, uint32_t ino, const void *owner, int cmd_kind,
	    short type, int64_t s, int64_t e, struct flock *fl);
void pl_locks_release(struct pmount *m, uint32_t ino, const void *owner);

/* intercept.c: at exit, before the unmount. */
void pl_views_drop_all(void);
void pl_dirs_drop_all(void);

#endif
