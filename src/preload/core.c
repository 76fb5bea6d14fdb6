/* SPDX-License-Identifier: MIT */
/*
 * libudax-preload.so, the core: configuration, mounts on first use, the
 * descriptor table, path resolution and the in-process byte-range locks.
 * The interposed libc functions are in intercept.c; docs/preload.md says
 * what a program sees.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "preload/preload.h"

struct pmount pl_mounts[PL_MAX_MOUNTS];
int pl_nmounts;
bool pl_debug;
__thread int pl_inside __attribute__((tls_model("initial-exec")));

static pthread_mutex_t mount_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t owner_pid;		/* the process that mounted (fork: not the child) */
static mode_t pl_umask;
static bool torn_down;

struct pdesc *pl_fdtab[PL_FD_MAX];
unsigned char pl_fdcloexec[PL_FD_MAX];
pthread_rwlock_t pl_fdlock = PTHREAD_RWLOCK_INITIALIZER;

/* The real libc function behind an interposed name (RTLD_NEXT: after us). */
void *pl_real(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (!p) {
		static const char msg[] = "udax-preload: libc has no function ";
		ssize_t r = syscall_write(2, msg, sizeof(msg) - 1);

		r += syscall_write(2, name, strlen(name));
		r += syscall_write(2, "\n", 1);
		(void)r;
		abort();
	}
	return p;
}

void pl_trace(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "udax-preload[%d]: ", (int)getpid());
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!syscall_write(2, buf, (size_t)n);
}

/* ---- configuration --------------------------------------------------------- */

/*
 * "DEVICE[:PART]": a trailing ":N" names the partition, unless what is
 * before it is a bare scheme ("mem:4096" is a size, not partition 4096).
 */
static bool split_part(char *spec, unsigned *part)
{
	char *c = strrchr(spec, ':'), *end;
	unsigned long v;

	*part = 0;
	if (!c || !c[1])
		return c == NULL;
	if (strspn(c + 1, "0123456789") != strlen(c + 1))
		return true;
	*c = '\0';
	if (!strcmp(spec, "mem") || !strcmp(spec, "file") || !strcmp(spec, "devdax")) {
		*c = ':';
		return true;
	}
	v = strtoul(c + 1, &end, 10);
	if (v >= UDAX_DEV_MAX_PARTS)
		return false;
	*part = (unsigned)v;
	return true;
}

static void config_fail(const char *env, const char *why)
{
	pl_trace("UDAX_PRELOAD=\"%s\": %s; running without udax", env, why);
	for (int i = 0; i < pl_nmounts; i++) {
		free(pl_mounts[i].prefix);
		free(pl_mounts[i].spec);
	}
	memset(pl_mounts, 0, sizeof(pl_mounts));
	pl_nmounts = 0;
}

/*
 * UDAX_PRELOAD=PREFIX=DEVICE[:PART][,PREFIX=...].  A device spec may hold
 * commas itself ("mem:1G,persist=cpu"): an entry starts only where the text
 * after a comma begins with '/'.
 */
static void config_parse(void)
{
	const char *env = getenv("UDAX_PRELOAD");
	char *s, *p, *next;

	pl_debug = getenv("UDAX_PRELOAD_DEBUG") && strcmp(getenv("UDAX_PRELOAD_DEBUG"), "0");
	if (!env || !*env)
		return;
	s = strdup(env);
	if (!s)
		return;
	for (p = s; p && *p; p = next) {
		char *eq, *comma;
		struct pmount *m;

		next = NULL;
		for (comma = strchr(p, ','); comma; comma = strchr(comma + 1, ','))
			if (comma[1] == '/') {
				*comma = '\0';
				next = comma + 1;
				break;
			}
		eq = strchr(p, '=');
		if (p[0] != '/' || !eq || eq == p || !eq[1]) {
			config_fail(env, "each entry is /PREFIX=DEVICE[:PART]");
			break;
		}
		*eq = '\0';
		while (eq - p > 1 && eq[-1] == '/')
			*--eq = '\0';
		if (!strcmp(p, "/")) {
			config_fail(env, "the prefix cannot be /");
			break;
		}
		if (pl_nmounts == PL_MAX_MOUNTS) {
			config_fail(env, "too many prefixes");
			break;
		}
		m = &pl_mounts[pl_nmounts];
		m->spec = strdup(eq + 1);
		m->prefix = strdup(p);
		if (!m->spec || !m->prefix || !split_part(m->spec, &m->part)) {
			pl_nmounts++;
			config_fail(env, "bad partition number");
			break;
		}
		if (strstr(m->prefix, "/./") || strstr(m->prefix, "/../") ||
		    strstr(m->prefix, "//")) {
			pl_nmounts++;
			config_fail(env, "the prefix must be a plain absolute path");
			break;
		}
		m->plen = strlen(m->prefix);
		m->idx = pl_nmounts++;
		for (int i = 0; i < m->idx; i++) {
			size_t l = pl_mounts[i].plen < m->plen ? pl_mounts[i].plen : m->plen;

			if (!strncmp(pl_mounts[i].prefix, m->prefix, l) &&
			    (m->prefix[l] == '/' || m->prefix[l] == 0) &&
			    (pl_mounts[i].prefix[l] == '/' || pl_mounts[i].prefix[l] == 0)) {
				config_fail(env, "prefixes nest");
				free(s);
				return;
			}
		}
	}
	free(s);
	if (pl_debug)
		for (int i = 0; i < pl_nmounts; i++)
			pl_trace("%s -> %s partition %u (mounted on first use)",
				 pl_mounts[i].prefix, pl_mounts[i].spec, pl_mounts[i].part);
}

__attribute__((constructor)) static void pl_init(void)
{
	mode_t u = umask(022);

	umask(u);
	pl_umask = u;
	config_parse();
}

mode_t pl_apply_umask(mode_t mode)
{
	return mode & ~pl_umask;
}

/* ---- mounting -------------------------------------------------------------------- */

/*
 * A memory device is new at every start: give it a partition table and a
 * file system.  Anything else must hold one already (udax mkfs).
 */
static int mount_locked(struct pmount *m)
{
	struct udax_dev *dev = NULL;
	struct udax_fs *fs = NULL;
	bool mem = !strncmp(m->spec, "mem:", 4);
	const char *why = "";
	int ret;

	ret = udax_dev_open(m->spec, NULL, &dev);
	if (ret) {
		why = ret == -ENOENT ? "no such file: make one with udax mkfs -s SIZE FILE" :
		      udax_dev_last_error();
		goto fail;
	}
	if (mem) {
		ret = udax_dev_mkpart(dev, NULL, 0, 0);
		if (ret) {
			why = udax_dev_last_error();
			goto fail;
		}
		ret = udax_mkfs(dev, 0, NULL);
		if (ret) {
			why = udax_fs_last_error();
			goto fail;
		}
	}
	ret = udax_mount(dev, m->part, NULL, &fs);
	if (ret) {
		why = udax_fs_last_error();
		if (ret == -ENODATA || ret == -ENOMEDIUM)
			why = "no udax file system there (make one with udax mkfs)";
		goto fail;
	}
	m->dev = dev;
	m->fs = fs;
	owner_pid = getpid();
	if (pl_debug)
		pl_trace("mounted %s partition %u on %s", m->spec, m->part, m->prefix);
	return 0;
fail:
	pl_trace("cannot mount %s partition %u for %s: %s (%s); %s goes to the kernel",
		 m->spec, m->part, m->prefix, strerror(-ret), why, m->prefix);
	if (dev)
		udax_dev_close(&dev, 0);
	return ret;
}

/* The file system of @m, mounted now if this is its first use; NULL if it cannot be. */
struct udax_fs *pl_fs(struct pmount *m)
{
	int st = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);

	if (st == PL_MOUNTED)
		return m->fs;
	if (st != PL_UNUSED)
		return NULL;
	pthread_mutex_lock(&mount_lock);
	if (m->state == PL_UNUSED && !torn_down) {
		pl_inside++;
		st = mount_locked(m) ? PL_FAILED : PL_MOUNTED;
		pl_inside--;
		__atomic_store_n(&m->state, st, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&mount_lock);
	return m->state == PL_MOUNTED ? m->fs : NULL;
}

/*
 * Clean unmount at exit: streams first (glibc flushes them only after the
 * destructors), then every descriptor, directory and mapping still open.
 * A child of fork() owns none of it (every call would be -ESTALE): it
 * leaves everything to the parent.
 */
__attribute__((destructor)) static void pl_fini(void)
{
	bool any = false;

	for (int i = 0; i < pl_nmounts; i++)
		any |= pl_mounts[i].state == PL_MOUNTED;
	if (!any || getpid() != owner_pid)
		return;
	fflush(NULL);
	pl_views_drop_all();
	pl_dirs_drop_all();
	pthread_mutex_lock(&mount_lock);
	torn_down = true;
	pthread_rwlock_wrlock(&pl_fdlock);
	for (int fd = 0; fd < PL_FD_MAX; fd++) {
		struct pdesc *d = pl_fdtab[fd];

		if (!d)
			continue;
		__atomic_store_n(&pl_fdtab[fd], NULL, __ATOMIC_RELAXED);
		pl_desc_put(d);
	}
	pthread_rwlock_unlock(&pl_fdlock);
	for (int i = 0; i < pl_nmounts; i++) {
		struct pmount *m = &pl_mounts[i];
		struct udax_break_opts brk = { .mode = UDAX_BREAK_NOWAIT };
		int ret;

		if (m->state != PL_MOUNTED)
			continue;
		__atomic_store_n(&m->state, PL_CLOSED, __ATOMIC_RELEASE);
		pl_inside++;
		ret = udax_unmount_ex(&m->fs, &brk);
		if (ret)
			pl_trace("unmount of %s at exit: %s (%s)", m->prefix, strerror(-ret),
				 udax_fs_last_error());
		else
			udax_dev_close(&m->dev, 0);
		pl_inside--;
		if (pl_debug && !ret)
			pl_trace("unmounted %s", m->prefix);
	}
	pthread_mutex_unlock(&mount_lock);
}

/* ---- paths ---------------------------------------------------------------------- */

static char *vcwd;		/* chdir into udax: the absolute host path */
static pthread_mutex_t cwd_lock = PTHREAD_MUTEX_INITIALIZER;

/* Lexically normalise absolute @in into @out (PATH_MAX): no //, ., .. */
static int normalize(const char *in, char *out)
{
	size_t o = 0;

	while (*in) {
		const char *c;
		size_t n;

		while (*in == '/')
			in++;
		if (!*in)
			break;
		c = in;
		while (*in && *in != '/')
			in++;
		n = (size_t)(in - c);
		if (n == 1 && c[0] == '.')
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			while (o > 0 && out[o - 1] != '/')
				o--;
			if (o > 0)
				o--;
			continue;
		}
		if (o + n + 2 > PATH_MAX)
			return -ENAMETOOLONG;
		out[o++] = '/';
		memcpy(out + o, c, n);
		o += n;
	}
	if (!o)
		out[o++] = '/';
	out[o] = '\0';
	return 0;
}

/*
 * Where @path (relative to @dirfd) lives.  1: on udax, *@m and @inner (the
 * path inside the file system, PATH_MAX) set; 0: the kernel's (including
 * a prefix whose device did not mount); 2: the kernel's, but only by the
 * normalised absolute path left in @inner (the lookup started in udax and
 * left it by "..": the kernel cannot walk through udax); <0: an errno.
 * Relative paths are udax ones when the base is: a udax directory
 * descriptor, or the cwd after a chdir into udax (kept here, the kernel's
 * cwd is unchanged).
 */
int pl_resolve(int dirfd, const char *path, struct pmount **m, char *inner)
{
	char buf[PATH_MAX], norm[PATH_MAX];
	const char *abs = path;
	bool via_udax = false;

	if (!pl_nmounts || pl_inside || !path)
		return 0;
	if (path[0] != '/') {
		via_udax = true;
		struct pdesc *d;
		int n;

		if (dirfd == AT_FDCWD) {
			if (!__atomic_load_n(&vcwd, __ATOMIC_RELAXED))
				return 0;
			pthread_mutex_lock(&cwd_lock);
			n = vcwd ? snprintf(buf, sizeof(buf), "%s/%s", vcwd, path) : -1;
			pthread_mutex_unlock(&cwd_lock);
			if (n < 0)
				return 0;
		} else {
			d = pl_desc_get(dirfd);
			if (!d)
				return 0;
			n = snprintf(buf, sizeof(buf), "%s%s/%s", d->m->prefix,
				     strcmp(d->path, "/") ? d->path : "", path);
			pl_desc_put(d);
		}
		if (n >= (int)sizeof(buf))
			return -ENAMETOOLONG;
		abs = buf;
	}
	if (normalize(abs, norm))
		return -ENAMETOOLONG;
	for (int i = 0; i < pl_nmounts; i++) {
		struct pmount *pm = &pl_mounts[i];

		if (!strncmp(abs, pm->prefix, pm->plen) &&
		    (!abs[pm->plen] || abs[pm->plen] == '/'))
			via_udax = true;
		if (strncmp(norm, pm->prefix, pm->plen) ||
		    (norm[pm->plen] && norm[pm->plen] != '/'))
			continue;
		if (!pl_fs(pm))
			return pm->state == PL_CLOSED ? -EIO : 0;
		strcpy(inner, norm[pm->plen] ? norm + pm->plen : "/");
		*m = pm;
		return 1;
	}
	if (via_udax) {
		strcpy(inner, norm);
		return 2;
	}
	return 0;
}

/* chdir(): @abs a normalised udax path, or NULL to go back to the kernel's cwd. */
void pl_set_vcwd(const char *abs)
{
	char *n = abs ? strdup(abs) : NULL;

	pthread_mutex_lock(&cwd_lock);
	free(vcwd);
	__atomic_store_n(&vcwd, n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&cwd_lock);
}

/* getcwd(): copy the udax cwd into @buf; 1 if there is one, 0 if not. */
int pl_get_vcwd(char *buf, size_t size, int *err)
{
	int ret = 0;

	pthread_mutex_lock(&cwd_lock);
	if (vcwd) {
		ret = 1;
		*err = strlen(vcwd) + 1 > size ? ERANGE : 0;
		if (!*err)
			strcpy(buf, vcwd);
	}
	pthread_mutex_unlock(&cwd_lock);
	return ret;
}

/* ---- descriptors ------------------------------------------------------------------- */

/* A new reference to the description of udax descriptor @fd, or NULL (a kernel fd). */
struct pdesc *pl_desc_get(int fd)
{
	struct pdesc *d;

	if (fd < 0 || fd >= PL_FD_MAX || !__atomic_load_n(&pl_fdtab[fd], __ATOMIC_RELAXED))
		return NULL;
	pthread_rwlock_rdlock(&pl_fdlock);
	d = pl_fdtab[fd];
	if (d)
		__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&pl_fdlock);
	return d;
}

bool pl_is_udax_fd(int fd)
{
	return fd >= 0 && fd < PL_FD_MAX && __atomic_load_n(&pl_fdtab[fd], __ATOMIC_RELAXED);
}

/* The last reference closes the udax handle and drops the description's OFD locks. */
void pl_desc_put(struct pdesc *d)
{
	if (__atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL))
		return;
	pl_locks_release(d->m, d->ino, d);
	udax_close(&d->f);
	pthread_mutex_destroy(&d->pos_lock);
	free(d->path);
	free(d);
}

/*
 * A kernel descriptor number for a new udax descriptor: an O_PATH
 * descriptor of /dev/null, close-on-exec.  read/write/poll/select on it
 * fail in the kernel (EBADF, POLLNVAL) instead of reaching a wrong file,
 * and exec drops it.  @min: the lowest number (F_DUPFD), -1 for any.
 */
int pl_reserve_fd(int min)
{
	int fd = PL_REAL(open)("/dev/null", O_PATH | O_CLOEXEC);

	if (fd >= 0 && min >= 0 && fd < min) {
		int nfd = PL_REAL(fcntl)(fd, F_DUPFD_CLOEXEC, min);

		PL_REAL(close)(fd);
		fd = nfd;
	}
	if (fd >= PL_FD_MAX) {
		PL_REAL(close)(fd);
		errno = EMFILE;
		return -1;
	}
	return fd;
}

/*
 * Bind kernel descriptor @fd to @d (taking over one reference).  A binding
 * left there is stale (the kernel gave the number out again, so a raw
 * close(2) released it behind our back): its description is dropped.
 */
void pl_fd_install(int fd, struct pdesc *d, bool cloexec)
{
	struct pdesc *old;

	pthread_rwlock_wrlock(&pl_fdlock);
	old = pl_fdtab[fd];
	pl_fdcloexec[fd] = cloexec;
	__atomic_store_n(&pl_fdtab[fd], d, __ATOMIC_RELEASE);
	pthread_rwlock_unlock(&pl_fdlock);
	if (old)
		pl_desc_put(old);
}

/* Unbind @fd; returns the description (the table's reference) or NULL. */
struct pdesc *pl_fd_remove(int fd)
{
	struct pdesc *d;

	if (!pl_is_udax_fd(fd))
		return NULL;
	pthread_rwlock_wrlock(&pl_fdlock);
	d = pl_fdtab[fd];
	__atomic_store_n(&pl_fdtab[fd], NULL, __ATOMIC_RELAXED);
	pthread_rwlock_unlock(&pl_fdlock);
	return d;
}

/* ---- byte-range locks, within this process ----------------------------------------- */

/*
 * Classic POSIX locks belong to the process, so they never conflict with
 * each other here; OFD locks belong to an open file description and
 * conflict with every other owner's, POSIX ones included, as in Linux.
 */
struct plock {
	struct plock *next;
	struct pmount *m;
	uint32_t ino;
	const void *owner;
	short type;
	int64_t start, end;		/* inclusive; end INT64_MAX: to EOF and beyond */
};

static struct plock *locks;
static pthread_mutex_t locks_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t locks_cond = PTHREAD_COND_INITIALIZER;
const char pl_posix_owner;

static struct plock *lock_conflict(struct pmount *m, uint32_t ino, const void *owner,
				   short type, int64_t s, int64_t e)
{
	for (struct plock *l = locks; l; l = l->next)
		if (l->m == m && l->ino == ino && l->owner != owner &&
		    l->start <= e && s <= l->end &&
		    (type == F_WRLCK || l->type == F_WRLCK))
			return l;
	return NULL;
}

/* Drop @owner's locks over [s, e], splitting those that stick out. */
static int lock_clear(struct pmount *m, uint32_t ino, const void *owner, int64_t s, int64_t e)
{
	for (struct plock **pp = &locks, *l; (l = *pp);) {
		if (l->m != m || l->ino != ino || l->owner != owner || l->end < s || e < l->start) {
			pp = &l->next;
			continue;
		}
		if (l->start < s && l->end > e) {
			struct plock *r = malloc(sizeof(*r));

			if (!r)
				return -ENOLCK;
			*r = *l;
			r->start = e + 1;
			l->end = s - 1;
			l->next = r;
			return 0;
		}
		if (l->start < s) {
			l->end = s - 1;
		} else if (l->end > e) {
			l->start = e + 1;
		} else {
			*pp = l->next;
			free(l);
			continue;
		}
		pp = &l->next;
	}
	return 0;
}

/*
 * F_SETLK/F_SETLKW/F_GETLK (and F_OFD_*) on [s, e] of inode @ino.  @fl
 * receives the conflicting lock for GETLK.  Returns 0 or a negative errno.
 */
int pl_lock(struct pmount *m, uint32_t ino, const void *owner, int cmd_kind,
	    short type, int64_t s, int64_t e, struct flock *fl)
{
	struct plock *c;
	int ret = 0;

	pthread_mutex_lock(&locks_mutex);
	if (cmd_kind == PL_LOCK_GET) {
		c = lock_conflict(m, ino, owner, type, s, e);
		if (c) {
			fl->l_type = c->type;
			fl->l_whence = SEEK_SET;
			fl->l_start = c->start;
			fl->l_len = c->end == INT64_MAX ? 0 : c->end - c->start + 1;
			fl->l_pid = c->owner == &pl_posix_owner ? getpid() : -1;
		} else {
			fl->l_type = F_UNLCK;
		}
		goto out;
	}
	if (type != F_UNLCK)
		while ((c = lock_conflict(m, ino, owner, type, s, e))) {
			if (cmd_kind != PL_LOCK_WAIT) {
				ret = -EAGAIN;
				goto out;
			}
			pthread_cond_wait(&locks_cond, &locks_mutex);
		}
	ret = lock_clear(m, ino, owner, s, e);
	if (!ret && type != F_UNLCK) {
		struct plock *l = malloc(sizeof(*l));

		if (!l) {
			ret = -ENOLCK;
			goto out;
		}
		*l = (struct plock){ locks, m, ino, owner, type, s, e };
		locks = l;
	}
	pthread_cond_broadcast(&locks_cond);
out:
	pthread_mutex_unlock(&locks_mutex);
	return ret;
}

/* Every lock of @owner on the inode (close of an fd: the process's POSIX ones too). */
void pl_locks_release(struct pmount *m, uint32_t ino, const void *owner)
{
	pthread_mutex_lock(&locks_mutex);
	if (locks) {
		lock_clear(m, ino, owner, INT64_MIN, INT64_MAX);
		pthread_cond_broadcast(&locks_cond);
	}
	pthread_mutex_unlock(&locks_mutex);
}
