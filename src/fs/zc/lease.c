/* SPDX-License-Identifier: MIT */
/*
 * Leases: long-term pins that a layout break may revoke.
 *
 * The kernel refuses long-term pins of fsdax memory (FOLL_LONGTERM →
 * EOPNOTSUPP) because it has no way to take them back.  A udax lease is a
 * pin plus a way to take it back: a break overlapping it calls the
 * holder's revoke callback and waits, bounded by the lease's own revoke
 * timeout, for the holder to release it.  The wait itself is the ordinary
 * pin wait of break.c: releasing the lease unpins its pages, and the last
 * unpin wakes the break.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>

#include "fs/zc.h"

struct udax_lease {
	struct udax_lease *next;	/* ino->leases, under zc_lock */
	struct udax_fs *fs;
	struct fs_inode *ino;
	uint64_t lblk, end;
	struct udax_pin *pin;
	const struct udax_lease_ops *ops;
	void *arg;
	int64_t revoke_timeout_ns;
	_Atomic bool revoked;
	/* The holder's reference, plus one per revoke call in progress: a
	 * holder may release while its callback is about to run. */
	_Atomic int refs;
};

/* The lease whose revoke callback this thread is running, if any. */
static __thread struct udax_lease *revoking;

static void lease_put(struct udax_lease *l)
{
	if (atomic_fetch_sub(&l->refs, 1) == 1) {
		fs_inode_release(l->fs, l->ino);
		free(l);
	}
}

int udax_lease_take(struct udax_file *f, uint64_t off, size_t len,
		    int64_t revoke_timeout_ns, const struct udax_lease_ops *ops,
		    void *arg, struct udax_lease **out)
{
	struct udax_lease *l;
	int ret;

	if (!f || !ops || !ops->revoke || !out)
		return fs_error(-EINVAL, "udax_lease_take: file, ops, revoke or "
				"result is NULL");
	*out = NULL;
	if (fork_inherited(f->fs->fork_gen))
		return fs_err_inherited(f->fs, "udax_lease_take");
	ret = fs_zc_range_check("udax_lease_take", off, len);
	if (ret)
		return ret;
	l = fault_calloc(1, sizeof(*l));
	if (!l)
		return fs_error(-ENOMEM, "udax_lease_take: out of memory");
	ret = udax_pin(f, off, len, 0, &l->pin);
	if (ret) {
		free(l);
		return ret;
	}
	l->fs = f->fs;
	l->ino = f->inode;
	l->lblk = off / UDAX_FS_BLOCK_SIZE;
	l->end = l->lblk + udax_pin_nr_pages(l->pin);
	l->ops = ops;
	l->arg = arg;
	l->revoke_timeout_ns = revoke_timeout_ns;
	atomic_init(&l->refs, 1);
	fs_inode_hold(l->ino);
	pthread_mutex_lock(&l->ino->zc_lock);
	l->next = l->ino->leases;
	l->ino->leases = l;
	pthread_mutex_unlock(&l->ino->zc_lock);
	*out = l;
	return 0;
}

const struct udax_pin *udax_lease_pin(const struct udax_lease *l)
{
	if (l && fork_inherited(l->fs->fork_gen)) {
		fs_err_inherited(l->fs, __func__);
		return NULL;
	}
	return l ? l->pin : NULL;
}

/* Inherited across fork(): revoked, as far as this process goes. */
bool udax_lease_revoked(const struct udax_lease *l)
{
	if (l && fork_inherited(l->fs->fork_gen)) {
		fs_err_inherited(l->fs, __func__);
		return true;
	}
	return l && atomic_load(&((struct udax_lease *)l)->revoked);
}

int udax_lease_release(struct udax_lease **pl)
{
	struct udax_lease *l;
	struct fs_inode *ino;

	if (!pl || !*pl)
		return -EINVAL;
	l = *pl;
	if (fork_inherited(l->fs->fork_gen))
		return fs_err_inherited(l->fs, "udax_lease_release");
	ino = l->ino;
	pthread_mutex_lock(&ino->zc_lock);
	for (struct udax_lease **p = &ino->leases; *p; p = &(*p)->next) {
		if (*p == l) {
			*p = l->next;
			break;
		}
	}
	pthread_mutex_unlock(&ino->zc_lock);
	/*
	 * No new revoke call can find the lease now; wait for those already
	 * running (short by contract), so that once release returns the
	 * holder may free whatever its callback uses.  A callback releasing
	 * its own lease does not wait for itself.
	 */
	while (revoking != l && atomic_load(&l->refs) > 1)
		sched_yield();
	udax_unpin(&l->pin);		/* wakes a break waiting for it */
	*pl = NULL;
	lease_put(l);
	return 0;
}

/*
 * Revoke every lease overlapping [lblk, end) that was not revoked yet,
 * outside zc_lock (a callback may release its lease at once).  Returns
 * the shortest revoke timeout among the overlapping leases, -1 if none
 * bounds the wait.
 */
int64_t fs_leases_revoke(struct fs_inode *ino, uint64_t lblk, uint64_t end)
{
	struct udax_lease *todo[16];
	int64_t bound = -1;
	size_t n;

	do {
		n = 0;
		pthread_mutex_lock(&ino->zc_lock);
		for (struct udax_lease *l = ino->leases; l; l = l->next) {
			if (l->lblk >= end || lblk >= l->end)
				continue;
			if (l->revoke_timeout_ns >= 0 &&
			    (bound < 0 || l->revoke_timeout_ns < bound))
				bound = l->revoke_timeout_ns;
			if (n < 16 && !atomic_exchange(&l->revoked, true)) {
				atomic_fetch_add(&l->refs, 1);
				todo[n++] = l;
			}
		}
		pthread_mutex_unlock(&ino->zc_lock);
		for (size_t i = 0; i < n; i++) {
			struct udax_lease *outer = revoking;

			revoking = todo[i];
			todo[i]->ops->revoke(todo[i], todo[i]->arg);
			revoking = outer;
			lease_put(todo[i]);
		}
	} while (n == 16);
	return bound;
}
