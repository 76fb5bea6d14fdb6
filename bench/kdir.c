/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "kdir.h"

#define TMPFS_MAGIC_	0x01021994
#define RAMFS_MAGIC_	0x858458f6
#define LOCK_NAME	".lock"

/*
 * What the signal handler removes.  It runs in any thread at any time, so
 * it reads only these (set before the handlers are installed) and calls
 * only async-signal-safe functions: getdents64 and unlinkat on the
 * directory opened at the claim, unlink for the extra files.
 */
static struct kdir *volatile active;
static char extra[4][4096];
static volatile sig_atomic_t nextra;

/* Every entry of @dfd but @keep (may be NULL); the number removed. */
static unsigned empty_dir(int dfd, const char *keep)
{
	static char buf[8192] __attribute__((aligned(8)));
	unsigned n = 0;
	long got;

	/* Unlinking while reading may skip entries: read again until a
	 * pass removes nothing. */
	for (int pass = 0; pass < 64; pass++) {
		unsigned removed = 0;

		lseek(dfd, 0, SEEK_SET);
		while ((got = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
			for (long off = 0; off < got;) {
				struct {
					uint64_t ino;
					int64_t off;
					unsigned short reclen;
					unsigned char type;
					char name[];
				} *d = (void *)(buf + off);

				off += d->reclen;
				if (!strcmp(d->name, ".") || !strcmp(d->name, "..") ||
				    (keep && !strcmp(d->name, keep)))
					continue;
				if (!unlinkat(dfd, d->name, 0))
					removed++;
			}
		}
		n += removed;
		if (!removed)
			break;
	}
	return n;
}

static void remove_all(struct kdir *k)
{
	const char *base;

	for (int i = 0; i < nextra && i < 4; i++)
		if (extra[i][0])
			unlink(extra[i]);
	if (!k || k->dfd < 0)
		return;
	empty_dir(k->dfd, NULL);
	base = strrchr(k->path, '/');
	unlinkat(k->pfd, base ? base + 1 : k->path, AT_REMOVEDIR);
}

static void on_signal(int sig)
{
	remove_all(active);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void handle_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

void kdir_remove_at_exit(const char *path)
{
	if (nextra >= 4 || strlen(path) >= sizeof(extra[0]))
		return;
	strcpy(extra[nextra], path);
	nextra = nextra + 1;
	handle_signals();
}

void kdir_forget(const char *path)
{
	for (int i = 0; i < nextra && i < 4; i++)
		if (!strcmp(extra[i], path))
			extra[i][0] = '\0';
}

int kdir_claim(struct kdir *k, const char *dir, const char *name, char *why, size_t len)
{
	struct statfs sf;
	int ret;

	memset(k, 0, sizeof(*k));
	k->dfd = k->pfd = k->lockfd = -1;
	k->fs_type = "";
	if ((size_t)snprintf(k->path, sizeof(k->path), "%s/%s", dir, name) >= sizeof(k->path)) {
		snprintf(why, len, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	k->pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->pfd < 0 && errno == ENOENT && !mkdir(dir, 0755))
		k->pfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (k->pfd < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return ret;
	}
	if (mkdirat(k->pfd, name, 0700) && errno != EEXIST) {
		ret = -errno;
		snprintf(why, len, "cannot make %s: %s", k->path, strerror(errno));
		goto fail;
	}
	/* Not through a link: the run removes what is in it. */
	k->dfd = openat(k->pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (k->dfd < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s", k->path, strerror(errno));
		goto fail;
	}
	k->lockfd = openat(k->dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (k->lockfd < 0 || flock(k->lockfd, LOCK_EX | LOCK_NB)) {
		ret = errno == EWOULDBLOCK ? -EBUSY : -errno;
		snprintf(why, len, ret == -EBUSY ? "%s is in use by another run (it holds %s/"
			 LOCK_NAME ")" : "%s: %s", k->path,
			 ret == -EBUSY ? k->path : strerror(-ret));
		goto fail;
	}
	/* Ours now: anything else in it was left by a run that was killed. */
	k->stale = empty_dir(k->dfd, LOCK_NAME);
	if (fstatfs(k->dfd, &sf) == 0) {
		k->memory = sf.f_type == TMPFS_MAGIC_ || sf.f_type == RAMFS_MAGIC_;
		k->fs_type = sf.f_type == TMPFS_MAGIC_ ? "tmpfs" :
			     sf.f_type == RAMFS_MAGIC_ ? "ramfs" : "";
		k->avail = (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
		if (sf.f_type == RAMFS_MAGIC_ || (k->memory && !sf.f_blocks)) {
			/* No size limit: what bounds it is free RAM. */
			struct sysinfo si;

			k->avail = sysinfo(&si) ? 0 : (uint64_t)si.freeram * si.mem_unit;
		}
	}
	active = k;
	handle_signals();
	return 0;
fail:
	if (k->lockfd >= 0)
		close(k->lockfd);
	if (k->dfd >= 0)
		close(k->dfd);
	close(k->pfd);
	k->dfd = k->pfd = k->lockfd = -1;
	return ret;
}

void kdir_release(struct kdir *k)
{
	active = NULL;
	remove_all(k);
	for (int i = 0; i < nextra && i < 4; i++)
		extra[i][0] = '\0';
	if (!k)
		return;
	if (k->lockfd >= 0)
		close(k->lockfd);
	if (k->dfd >= 0)
		close(k->dfd);
	if (k->pfd >= 0)
		close(k->pfd);
	k->dfd = k->pfd = k->lockfd = -1;
}

uint64_t kdir_budget(const struct kdir *k)
{
	uint64_t margin = 64ull << 20;

	if (k->memory)
		return k->avail / 4;
	return k->avail > margin ? k->avail - margin : 0;
}
