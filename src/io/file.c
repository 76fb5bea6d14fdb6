/* SPDX-License-Identifier: MIT */
/*
 * File ranges of a udax file system as DMA targets: one-shot transfers
 * under udax_pin(), and long-term fixed-buffer registrations under a
 * revocable udax_lease.
 *
 * Revocation vs. release, the lifetime argument.  The file system calls
 * our lease revoke callback at some point after it marked the lease
 * revoked, with a reference on the lease but none on our handle, and it
 * may do so after udax_lease_release() returned (the break picked the
 * lease off the inode's list just before the release took it off).  So
 * the callback argument is not a pointer but a handle id that is never
 * reused; the callback looks the id up in a registry under a global lock
 * and takes a reference on the handle there.  A handle leaves the
 * registry only in udax_io_lease_fixed_release() (or a failed setup),
 * which then waits for the references of callbacks in progress before it
 * frees the memory: a late callback finds nothing and does nothing, and
 * the release path releases the lease itself.
 *
 * Teardown (drain the fixed transfers, unregister, release the lease)
 * runs exactly once, always on the handle's own thread: a revocation
 * wakes it without waiting (the breaking thread holds file locks and its
 * wait is the one bounded by the revoke timeout), and a holder's release
 * wakes it and joins it.  Nobody else unregisters, so revocation and
 * release can race freely.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <udax/fs.h>

#include "io/internal.h"

/* ---- one-shot transfers --------------------------------------------------- */

struct file_buf {
	struct udax_io_buf buf;
	struct udax_pin *pin;
};

/* From the completion, after the callback: the break waiting on the
 * range is woken by this unpin. */
static void file_buf_release(struct udax_io_buf *buf)
{
	struct file_buf *fb = (struct file_buf *)buf;

	udax_unpin(&fb->pin);
	free(fb);
}

static int xfer_file(const char *fn, struct udax_io *io, bool write, int fd,
		     int64_t fd_off, struct udax_file *f, uint64_t off,
		     size_t len, udax_io_done_t done, void *arg,
		     struct udax_io_req **req)
{
	struct file_buf *fb;
	int ret;

	if (req)
		*req = NULL;
	if (!io || !f)
		return io_err(-EINVAL, "%s: %s is NULL", fn, io ? "file" : "io");
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, fn);
	if (!len || (off | len) % UDAX_PAGE_SIZE)
		return io_err(-EINVAL, "%s: [%llu, +%zu) is not a non-empty range "
			      "of whole pages", fn, (unsigned long long)off, len);
	fb = fault_calloc(1, sizeof(*fb));
	if (!fb)
		return io_err(-ENOMEM, "%s: out of memory", fn);
	ret = udax_pin(f, off, len, 0, &fb->pin);
	if (ret) {
		free(fb);
		return io_err(ret, "%s: %s", fn, udax_fs_last_error());
	}
	fb->buf.pages = (struct udax_page **)udax_pin_page_array(fb->pin);
	fb->buf.nr_pages = udax_pin_nr_pages(fb->pin);
	fb->buf.release = file_buf_release;
	fb->buf.priv = f;
	ret = write ? udax_io_write_buf(io, fd, fd_off, &fb->buf, done, arg, req)
		    : udax_io_read_buf(io, fd, fd_off, &fb->buf, done, arg, req);
	if (ret) {
		/* A failed submit leaves the buffer and its pins with us. */
		udax_unpin(&fb->pin);
		free(fb);
	}
	return ret;
}

int udax_io_read_file(struct udax_io *io, int fd, int64_t fd_off,
		      struct udax_file *f, uint64_t off, size_t len,
		      udax_io_done_t done, void *arg, struct udax_io_req **req)
{
	return xfer_file("udax_io_read_file", io, false, fd, fd_off, f, off,
			 len, done, arg, req);
}

int udax_io_write_file(struct udax_io *io, int fd, int64_t fd_off,
		       struct udax_file *f, uint64_t off, size_t len,
		       udax_io_done_t done, void *arg, struct udax_io_req **req)
{
	return xfer_file("udax_io_write_file", io, true, fd, fd_off, f, off,
			 len, done, arg, req);
}

/* ---- leased fixed buffers --------------------------------------------------- */

struct lf_run {
	uint64_t off;			/* file offset */
	size_t len;
	struct udax_io_fixed *fx;	/* NULL once unregistered */
};

struct udax_io_leased {
	struct udax_io_leased *next;	/* registry, under reg_lock */
	uint64_t id;
	struct udax_io *io;
	struct udax_lease *lease;
	uint64_t off, len;
	udax_io_revoked_t revoked_cb;
	void *arg;
	unsigned nruns;
	struct lf_run *runs;
	pthread_t thread;		/* teardown */

	pthread_mutex_t lock;
	pthread_cond_t cond;
	/* Under lock. */
	bool live;			/* handed to the holder */
	bool released;			/* the holder (or a failed setup) gives it back */
	bool torn_down;			/* the teardown thread is done */
	unsigned submitting;		/* transfers between check and submit */
	unsigned refs;			/* revoke callbacks in progress */
	int teardown_err;
	_Atomic bool revoked;
};

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct udax_io_leased *reg_head;
static uint64_t reg_next_id = 1;	/* under reg_lock; never reused */

/* The handle whose @revoked callback this thread runs, if any. */
static __thread struct udax_io_leased *in_revoked_cb;

static void reg_add(struct udax_io_leased *lf)
{
	pthread_mutex_lock(&reg_lock);
	lf->id = reg_next_id++;
	lf->next = reg_head;
	reg_head = lf;
	pthread_mutex_unlock(&reg_lock);
}

/* Take @lf out of the registry, then wait for the callbacks that found it
 * there: after this, no callback can reach it. */
static void reg_remove(struct udax_io_leased *lf)
{
	pthread_mutex_lock(&reg_lock);
	for (struct udax_io_leased **p = &reg_head; *p; p = &(*p)->next) {
		if (*p == lf) {
			*p = lf->next;
			break;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	pthread_mutex_lock(&lf->lock);
	while (lf->refs)
		pthread_cond_wait(&lf->cond, &lf->lock);
	pthread_mutex_unlock(&lf->lock);
}

/*
 * The file system's revoke: on the breaking thread, file locks held.  It
 * only flags and wakes; the teardown thread does the waiting.
 */
static void lf_revoke(struct udax_lease *lease, void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	struct udax_io_leased *lf;
	bool tell;

	(void)lease;
	pthread_mutex_lock(&reg_lock);
	for (lf = reg_head; lf && lf->id != id; lf = lf->next)
		;
	if (lf) {
		pthread_mutex_lock(&lf->lock);
		lf->refs++;
		pthread_mutex_unlock(&lf->lock);
	}
	pthread_mutex_unlock(&reg_lock);
	if (!lf)
		return;		/* being freed: its release path lets the lease go */

	pthread_mutex_lock(&lf->lock);
	atomic_store(&lf->revoked, true);
	/* A holder that already gives it back does not need telling, and a
	 * handle still being set up fails its setup instead. */
	tell = lf->live && !lf->released && lf->revoked_cb;
	pthread_cond_broadcast(&lf->cond);
	pthread_mutex_unlock(&lf->lock);

	if (tell) {
		in_revoked_cb = lf;
		lf->revoked_cb(lf, lf->arg);
		in_revoked_cb = NULL;
	}

	pthread_mutex_lock(&lf->lock);
	if (--lf->refs == 0)
		pthread_cond_broadcast(&lf->cond);
	pthread_mutex_unlock(&lf->lock);
}

static const struct udax_lease_ops lf_lease_ops = { .revoke = lf_revoke };

/* Unregister what is registered and let the lease go: exactly once, and
 * only when no transfer can start on the runs any more. */
static int lf_teardown(struct udax_io_leased *lf)
{
	int err = 0;

	for (unsigned i = 0; i < lf->nruns; i++) {
		int ret;

		if (!lf->runs[i].fx)
			continue;
		/* Waits for the run's transfers in flight. */
		ret = udax_io_unregister_fixed(&lf->runs[i].fx);
		if (ret && !err)
			err = ret;
	}
	/*
	 * A run the kernel would not clear keeps its own pins, so its pages
	 * stay out of reach of the break even though the lease goes (the
	 * break then waits or times out on those pins, never frees them).
	 */
	udax_lease_release(&lf->lease);
	return err;
}

static void *lf_thread(void *arg)
{
	struct udax_io_leased *lf = arg;
	int err;

	pthread_mutex_lock(&lf->lock);
	while (!atomic_load(&lf->revoked) && !lf->released)
		pthread_cond_wait(&lf->cond, &lf->lock);
	/* revoked/released stop new transfers; let those past the check in
	 * io_leased_xfer() reach the engine, which then counts them. */
	while (lf->submitting)
		pthread_cond_wait(&lf->cond, &lf->lock);
	pthread_mutex_unlock(&lf->lock);

	err = lf_teardown(lf);

	pthread_mutex_lock(&lf->lock);
	lf->teardown_err = err;
	lf->torn_down = true;
	pthread_cond_broadcast(&lf->cond);
	pthread_mutex_unlock(&lf->lock);
	return NULL;
}

static void lf_free(struct udax_io_leased *lf)
{
	pthread_mutex_destroy(&lf->lock);
	pthread_cond_destroy(&lf->cond);
	free(lf->runs);
	free(lf);
}

/* Stop the handle, have it torn down (once), free it. */
static int lf_release(struct udax_io_leased *lf)
{
	int err;

	pthread_mutex_lock(&lf->lock);
	lf->released = true;
	pthread_cond_broadcast(&lf->cond);
	pthread_mutex_unlock(&lf->lock);
	/* The teardown happens on the handle's thread whether or not a
	 * revocation started it; joining waits for it either way. */
	pthread_join(lf->thread, NULL);
	err = lf->teardown_err;
	reg_remove(lf);
	lf_free(lf);
	return err;
}

/* Split the lease's pages into runs of consecutive pfns, at most
 * IO_MAX_FIXED bytes each (the kernel's limit per fixed buffer). */
static int lf_make_runs(struct udax_io_leased *lf)
{
	const struct udax_pin *pin = udax_lease_pin(lf->lease);
	struct udax_page *const *pg = udax_pin_page_array(pin);
	size_t n = udax_pin_nr_pages(pin), max = IO_MAX_FIXED / UDAX_PAGE_SIZE;
	unsigned nr = 0;

	for (int pass = 0; pass < 2; pass++) {
		size_t start = 0;

		nr = 0;
		for (size_t i = 1; i <= n; i++) {
			if (i < n && i - start < max &&
			    udax_page_to_pfn(pg[i]) == udax_page_to_pfn(pg[i - 1]) + 1)
				continue;
			if (pass) {
				lf->runs[nr].off = lf->off + (uint64_t)start * UDAX_PAGE_SIZE;
				lf->runs[nr].len = (i - start) * UDAX_PAGE_SIZE;
			}
			nr++;
			start = i;
		}
		if (!pass) {
			lf->runs = fault_calloc(nr, sizeof(*lf->runs));
			if (!lf->runs)
				return -ENOMEM;
		}
	}
	lf->nruns = nr;
	return 0;
}

int udax_io_lease_fixed(struct udax_io *io, struct udax_file *f, uint64_t off,
			size_t len, int64_t revoke_timeout_ns,
			udax_io_revoked_t revoked, void *arg,
			struct udax_io_leased **out)
{
	static const char fn[] = "udax_io_lease_fixed";
	const struct udax_pin *pin;
	struct udax_io_leased *lf;
	int ret;

	if (!io || !f || !out)
		return io_err(-EINVAL, "%s: %s is NULL", fn,
			      !io ? "io" : !f ? "file" : "out");
	*out = NULL;
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, fn);
	if (io_current == io)
		return io_err(-EDEADLK, "%s: called from a completion callback, "
			      "where the handle could not be released", fn);
	if (!len || (off | len) % UDAX_PAGE_SIZE)
		return io_err(-EINVAL, "%s: [%llu, +%zu) is not a non-empty range "
			      "of whole pages", fn, (unsigned long long)off, len);
	lf = fault_calloc(1, sizeof(*lf));
	if (!lf)
		return io_err(-ENOMEM, "%s: out of memory", fn);
	pthread_mutex_init(&lf->lock, NULL);
	pthread_cond_init(&lf->cond, NULL);
	lf->io = io;
	lf->off = off;
	lf->len = len;
	lf->revoked_cb = revoked;
	lf->arg = arg;

	/* In the registry before the lease exists: a revoke may come as soon
	 * as udax_lease_take() has put the lease on the inode. */
	reg_add(lf);
	ret = udax_lease_take(f, off, len, revoke_timeout_ns, &lf_lease_ops,
			      (void *)(uintptr_t)lf->id, &lf->lease);
	if (ret) {
		io_err(ret, "%s: %s", fn, udax_fs_last_error());
		goto err_reg;
	}
	ret = lf_make_runs(lf);
	if (ret) {
		io_err(ret, "%s: out of memory", fn);
		goto err_teardown;
	}
	pin = udax_lease_pin(lf->lease);
	for (size_t i = 0, pg = 0; i < lf->nruns; i++) {
		struct udax_page *p = udax_pin_page_array(pin)[pg];

		ret = udax_io_register_fixed(io, udax_page_to_pfn(p),
					     lf->runs[i].len / UDAX_PAGE_SIZE,
					     &lf->runs[i].fx);
		if (ret)
			goto err_teardown;	/* io_err set by the callee */
		pg += lf->runs[i].len / UDAX_PAGE_SIZE;
	}
	ret = -pthread_create(&lf->thread, NULL, lf_thread, lf);
	if (ret) {
		io_err(ret, "%s: no teardown thread: %s", fn, strerror(-ret));
		goto err_teardown;
	}

	pthread_mutex_lock(&lf->lock);
	if (atomic_load(&lf->revoked)) {
		/* A break got here first; its wait ends when we let go. */
		pthread_mutex_unlock(&lf->lock);
		lf_release(lf);
		return io_err(-ESHUTDOWN, "%s: a layout break of [%llu, +%zu) "
			      "revoked the lease during registration", fn,
			      (unsigned long long)off, len);
	}
	lf->live = true;
	pthread_mutex_unlock(&lf->lock);
	*out = lf;
	return 0;

err_teardown:
	lf_teardown(lf);
err_reg:
	reg_remove(lf);
	lf_free(lf);
	return ret;
}

int udax_io_lease_fixed_release(struct udax_io_leased **plf)
{
	struct udax_io_leased *lf;
	int err;

	if (!plf || !*plf)
		return 0;
	lf = *plf;
	if (fork_inherited(lf->io->fork_gen))
		return io_err_inherited(lf->io, "udax_io_lease_fixed_release");
	if (in_revoked_cb)
		return io_err(-EDEADLK, "udax_io_lease_fixed_release: called from "
			      "a revoked callback (the break would wait on I/O)");
	if (io_current == lf->io)
		return io_err(-EDEADLK, "udax_io_lease_fixed_release: called from "
			      "a completion callback (the drain would wait on itself)");

	err = lf_release(lf);
	*plf = NULL;
	if (err)
		return io_err(err, "udax_io_lease_fixed_release: a fixed buffer "
			      "could not be unregistered: %s", strerror(-err));
	return 0;
}

/* Inherited across fork(): revoked and empty, as far as this process goes. */
static bool lf_inherited(const struct udax_io_leased *lf, const char *fn)
{
	if (!fork_inherited(lf->io->fork_gen))
		return false;
	io_err_inherited(lf->io, fn);
	return true;
}

bool udax_io_leased_revoked(const struct udax_io_leased *lf)
{
	if (lf && lf_inherited(lf, __func__))
		return true;
	return lf && atomic_load(&((struct udax_io_leased *)lf)->revoked);
}

unsigned udax_io_leased_count(const struct udax_io_leased *lf)
{
	if (!lf || lf_inherited(lf, __func__))
		return 0;
	return lf->nruns;
}

size_t udax_io_leased_run(const struct udax_io_leased *lf, unsigned i,
			  uint64_t *off)
{
	if (!lf || lf_inherited(lf, __func__) || i >= lf->nruns)
		return 0;
	if (off)
		*off = lf->runs[i].off;
	return lf->runs[i].len;
}

static int leased_xfer(const char *fn, bool write, struct udax_io_leased *lf,
		       uint64_t off, int fd, int64_t fd_off, size_t len,
		       udax_io_done_t done, void *arg, struct udax_io_req **req)
{
	struct lf_run *run = NULL;
	int ret;

	if (req)
		*req = NULL;
	if (!lf)
		return io_err(-EINVAL, "%s: handle is NULL", fn);
	if (fork_inherited(lf->io->fork_gen))
		return io_err_inherited(lf->io, fn);
	for (unsigned i = 0; i < lf->nruns; i++) {
		if (off >= lf->runs[i].off && off - lf->runs[i].off < lf->runs[i].len) {
			run = &lf->runs[i];
			break;
		}
	}
	if (!run || !len || len > run->len - (off - run->off))
		return io_err(-EINVAL, "%s: [%llu, +%zu) is not inside one run of "
			      "consecutive pages of the lease", fn,
			      (unsigned long long)off, len);

	pthread_mutex_lock(&lf->lock);
	if (atomic_load(&lf->revoked) || lf->released) {
		bool released = lf->released;

		pthread_mutex_unlock(&lf->lock);
		return io_err(-ESHUTDOWN, "%s: the lease was %s", fn,
			      released ? "released" : "revoked");
	}
	/* Holds off the teardown until the engine counts the transfer on
	 * the fixed buffer (fx->inflight), which unregistration waits for. */
	lf->submitting++;
	pthread_mutex_unlock(&lf->lock);

	ret = write ? udax_io_write_fixed(lf->io, run->fx, off - run->off, fd,
					  fd_off, len, done, arg, req)
		    : udax_io_read_fixed(lf->io, run->fx, off - run->off, fd,
					 fd_off, len, done, arg, req);

	pthread_mutex_lock(&lf->lock);
	if (--lf->submitting == 0)
		pthread_cond_broadcast(&lf->cond);
	pthread_mutex_unlock(&lf->lock);
	return ret;
}

int udax_io_leased_read(struct udax_io_leased *lf, uint64_t off, int fd,
			int64_t fd_off, size_t len, udax_io_done_t done,
			void *arg, struct udax_io_req **req)
{
	return leased_xfer("udax_io_leased_read", false, lf, off, fd, fd_off,
			   len, done, arg, req);
}

int udax_io_leased_write(struct udax_io_leased *lf, uint64_t off, int fd,
			 int64_t fd_off, size_t len, udax_io_done_t done,
			 void *arg, struct udax_io_req **req)
{
	return leased_xfer("udax_io_leased_write", true, lf, off, fd, fd_off,
			   len, done, arg, req);
}
