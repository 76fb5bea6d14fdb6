/* SPDX-License-Identifier: MIT */
/*
 * The engine: one io_uring, its submission queue filled under a lock,
 * and an engine thread that submits, reaps, finishes requests and drops
 * their pins.
 *
 * Why a completion thread and not a caller-driven reap: a pin must be
 * dropped when the device is done with the page, not when some caller
 * next gets around to polling, or a truncate waiting in
 * udax_pfn_range_wait_idle() would wait on whoever forgot to reap.  One
 * thread per engine is the single consumer of the completion queue, so
 * the CQ needs no lock, and callbacks run in a known place.
 *
 * Why that thread also makes every io_uring_enter() submission: to the
 * kernel a request belongs to the task that submitted it.  Its task_work
 * (the retry of a polled pipe or socket read, completions) runs in that
 * task, and once the task has exited the retry is failed with -ECANCELED:
 * a read submitted by a short-lived thread was cancelled by the thread's
 * exit (seen on Linux 6.18).  So submitters only fill SQEs under the lock
 * and ring a doorbell, an eventfd that is also registered for CQ
 * notifications; the engine thread, which lives as long as the ring,
 * sleeps on it, submits what is queued and reaps what completed.  The
 * price is one eventfd write and a wakeup per batch.
 *
 * Sizing: at most @depth transfer SQEs are reserved at once (queued or in
 * flight), each with at most one ASYNC_CANCEL outstanding, plus the stop
 * NOP; the ring has room for 2 * depth + 1 SQEs and twice that many CQEs,
 * so the SQ never fills and the CQ never overflows.
 */
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "io/internal.h"

__thread struct udax_io *io_current;

static __thread char last_error[256];

int io_err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return err;
}

const char *udax_io_last_error(void)
{
	return last_error;
}

int io_err_inherited(const struct udax_io *io, const char *fn)
{
	return io_err(-FORK_ERRNO, "%s: the io engine was made by process %d "
		      "and is unusable here (the child has neither its ring nor "
		      "its thread): " FORK_HINT, fn, io->owner);
}

/*
 * In a child, right after fork(): the ring's mappings were not inherited
 * (DONTFORK); close the child's copies of the ring and eventfd descriptors
 * so that the ring goes away with the parent's.
 */
static void io_fork_child(struct fork_node *n)
{
	struct udax_io *io = (struct udax_io *)
		((char *)n - offsetof(struct udax_io, fork_node));

	close(io->ring.ring_fd);
	close(io->efd);
}

/* ---- submission ------------------------------------------------------------ */

/* The engine thread only: hand everything queued to the kernel. */
static int io_submit_locked(struct udax_io *io)
{
	unsigned tries = 0;

	while (io_uring_sq_ready(&io->ring)) {
		int ret = io_uring_submit(&io->ring);

		if (ret > 0)
			continue;
		/*
		 * Transient (-EINTR, -EAGAIN: no memory for the request now,
		 * -EBUSY: CQ backlog, which our sizing rules out).  The SQEs
		 * stay in the ring and go with the next submit otherwise.
		 */
		if ((ret == 0 || ret == -EINTR || ret == -EAGAIN ||
		     ret == -EBUSY) && ++tries < 1000) {
			sched_yield();
			continue;
		}
		return io_err(ret ? ret : -EAGAIN,
			      "io_uring_submit: %s (%u SQEs left queued)",
			      strerror(ret ? -ret : EAGAIN),
			      io_uring_sq_ready(&io->ring));
	}
	return 0;
}

static void ring_doorbell(struct udax_io *io)
{
	uint64_t one = 1;

	/* Only fails if the counter would overflow: then it is set anyway. */
	if (write(io->efd, &one, sizeof(one)) < 0)
		return;
}

int io_flush_locked(struct udax_io *io)
{
	if (io_current == io)
		return io_submit_locked(io);
	if (!io->kicked && io_uring_sq_ready(&io->ring)) {
		io->kicked = true;
		ring_doorbell(io);
	}
	return 0;
}

static struct io_uring_sqe *get_sqe(struct udax_io *io)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&io->ring);

	/* Cannot happen with the sizing above; let the SQ drain anyway. */
	while (!sqe) {
		io_flush_locked(io);
		pthread_mutex_unlock(&io->lock);
		sched_yield();
		pthread_mutex_lock(&io->lock);
		sqe = io_uring_get_sqe(&io->ring);
	}
	return sqe;
}

static int64_t sub_off(const struct udax_io_req *r, const struct io_sub *s)
{
	if (r->fd_off == UDAX_IO_CUR_POS)
		return -1;
	return r->fd_off + (int64_t)(s->start + s->done);
}

/* Queue the not yet transferred part of @s.  Under io->lock. */
static void queue_sub(struct udax_io *io, struct io_sub *s)
{
	struct udax_io_req *r = s->req;
	struct io_uring_sqe *sqe = get_sqe(io);
	uint64_t off = (uint64_t)sub_off(r, s);

	if (r->kind == REQ_FIXED) {
		char *p = r->fixed_addr + s->start + s->done;
		unsigned n = (unsigned)(s->len - s->done);

		if (r->write)
			io_uring_prep_write_fixed(sqe, r->fd, p, n, off,
						  (int)r->fixed->slot);
		else
			io_uring_prep_read_fixed(sqe, r->fd, p, n, off,
						 (int)r->fixed->slot);
	} else if (r->write) {
		io_uring_prep_writev(sqe, r->fd, s->iov, s->niov, off);
	} else {
		io_uring_prep_readv(sqe, r->fd, s->iov, s->niov, off);
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)s | TAG_SUB);
	s->cancel_sent = false;
	io->st.sqes++;
}

int io_submit_req(const char *fn, struct udax_io *io, struct udax_io_req *r,
		  struct udax_io_req **handle)
{
	int ret = 0;

	r->refs = handle ? 1 : 0;	/* the caller's, if it keeps a handle */
	pthread_mutex_lock(&io->lock);
	for (;;) {
		if (io->dying) {
			ret = io_err(-ESHUTDOWN, "%s: the engine is being deleted", fn);
			goto out;
		}
		if (r->fixed && r->fixed->dying) {
			ret = io_err(-ESHUTDOWN,
				     "%s: the fixed buffer is being unregistered", fn);
			goto out;
		}
		if (io->inflight + r->nsubs <= io->depth)
			break;
		/* The engine thread must never wait for itself. */
		if ((io->flags & UDAX_IO_NOWAIT) || io_current == io) {
			ret = io_err(-EAGAIN, "%s: queue full (%u of %u SQEs in flight, "
				     "%u more needed)%s", fn, io->inflight, io->depth,
				     r->nsubs, io_current == io ? " in a callback" : "");
			goto out;
		}
		/* Queued SQEs hold slots: send them before sleeping on them. */
		io_flush_locked(io);
		io->st.waits++;
		pthread_cond_wait(&io->slot_cond, &io->lock);
	}
	io->inflight += r->nsubs;
	if (io->inflight > io->st.max_inflight)
		io->st.max_inflight = io->inflight;
	if (r->fixed)
		r->fixed->inflight++;
	r->refs++;			/* the engine's, dropped at completion */
	r->subs_left = r->nsubs;
	io->nreqs++;
	io->st.submitted++;
	for (unsigned i = 0; i < r->nsubs; i++)
		queue_sub(io, &r->subs[i]);
	if (io_uring_sq_ready(&io->ring) >= io->batch)
		io_flush_locked(io);	/* a failure leaves them queued */
out:
	pthread_mutex_unlock(&io->lock);
	/* Without a handle @r is the engine's now and may already be gone:
	 * only the failure path, where the engine never saw it, touches it. */
	if (ret)
		free(r);
	else if (handle)
		*handle = r;
	return ret;
}

int udax_io_flush(struct udax_io *io)
{
	int ret;

	if (!io)
		return io_err(-EINVAL, "udax_io_flush: io is NULL");
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_flush");
	pthread_mutex_lock(&io->lock);
	ret = io_flush_locked(io);
	pthread_mutex_unlock(&io->lock);
	return ret;
}

/* ---- completion ------------------------------------------------------------ */

void io_req_destroy(struct udax_io_req *r)
{
	if (r->kind == REQ_PFNS)
		free(r->pages);
	free(r);
}

/*
 * The result, as preadv(2) would give it: the bytes transferred from the
 * start up to the first SQE that fell short, or that SQE's error if
 * nothing came before it.  Under io->lock, or once every SQE finished.
 */
static ssize_t req_result(const struct udax_io_req *r, size_t *bytes)
{
	size_t total = 0;
	int err = 0;

	for (unsigned i = 0; i < r->nsubs; i++) {
		const struct io_sub *s = &r->subs[i];

		total += s->done;
		if (s->done < s->len) {
			err = s->err;
			break;
		}
	}
	*bytes = total;
	if (r->cancelled && total < r->len)
		return -ECANCELED;
	if (total == 0 && err)
		return err;
	return (ssize_t)total;
}

/* All SQEs of @r finished: callback, release the pins, mark complete. */
static void finish_req(struct udax_io *io, struct udax_io_req *r)
{
	size_t bytes;
	ssize_t res = req_result(r, &bytes);	/* every SQE finished: stable */
	bool last;

	if (r->done)
		r->done(r, res, r->arg);

	/* Pins go after the callback: it may still look at the pages. */
	switch (r->kind) {
	case REQ_PFNS:
		udax_unpin_pages(r->pages, r->nr_pages);
		break;
	case REQ_BUF:
		if (r->buf->release)
			r->buf->release(r->buf);
		else
			udax_release_pages(r->pages, r->nr_pages);
		r->buf = NULL;		/* may be freed now */
		break;
	case REQ_FIXED:
		break;			/* the registration pins; see below */
	}

	pthread_mutex_lock(&io->lock);
	if (r->fixed)
		r->fixed->inflight--;
	r->res = res;
	r->bytes = bytes;
	r->complete = true;
	io->nreqs--;
	io->st.completed++;
	if (res == -ECANCELED)
		io->st.cancelled++;
	last = --r->refs == 0;
	pthread_cond_broadcast(&io->done_cond);
	pthread_mutex_unlock(&io->lock);
	if (last)
		io_req_destroy(r);
}

/* Drop the first @n bytes of @s's iovecs (after a short transfer). */
static void sub_advance(struct io_sub *s, size_t n)
{
	while (s->niov && n >= s->iov->iov_len) {
		n -= s->iov->iov_len;
		s->iov++;
		s->niov--;
	}
	if (s->niov && n) {
		s->iov->iov_base = (char *)s->iov->iov_base + n;
		s->iov->iov_len -= n;
	}
}

static void sub_complete(struct udax_io *io, struct io_sub *s, int res)
{
	struct udax_io_req *r = s->req;
	bool last;

	pthread_mutex_lock(&io->lock);
	if (res > 0) {
		size_t n = (size_t)res;

		if (n > s->len - s->done)	/* cannot happen; never trust it */
			n = s->len - s->done;
		s->done += n;
		if (s->iov)
			sub_advance(s, n);
		/* A short transfer goes on in the same slot. */
		if (s->done < s->len && (io->flags & UDAX_IO_FULL) &&
		    !r->cancelled) {
			queue_sub(io, s);
			io_flush_locked(io);
			pthread_mutex_unlock(&io->lock);
			return;
		}
	} else if (res < 0) {
		s->err = res;
	}
	s->finished = true;
	io->inflight--;
	pthread_cond_broadcast(&io->slot_cond);
	last = --r->subs_left == 0;
	pthread_mutex_unlock(&io->lock);
	if (last)
		finish_req(io, r);
}

static void handle_cqes(struct udax_io *io)
{
	struct io_uring_cqe *cqes[64];
	unsigned n;

	while ((n = io_uring_peek_batch_cqe(&io->ring, cqes, 64)) > 0) {
		struct { uint64_t ud; int res; } got[64];

		/* Copy out and free the CQ slots before running callbacks. */
		for (unsigned i = 0; i < n; i++) {
			got[i].ud = io_uring_cqe_get_data64(cqes[i]);
			got[i].res = cqes[i]->res;
		}
		io_uring_cq_advance(&io->ring, n);
		for (unsigned i = 0; i < n; i++)
			if ((got[i].ud & TAG_MASK) == TAG_SUB)
				sub_complete(io, (struct io_sub *)(uintptr_t)got[i].ud,
					     got[i].res);
			/* TAG_CANCEL: the outcome shows on the target. */
	}
}

static void *engine_thread(void *arg)
{
	struct udax_io *io = arg;

	io_current = io;
	for (;;) {
		uint64_t v;
		bool stop;
		int err;

		pthread_mutex_lock(&io->lock);
		io->kicked = false;
		err = io_submit_locked(io);
		stop = io->stop;
		pthread_mutex_unlock(&io->lock);
		handle_cqes(io);
		if (stop)
			break;
		if (err) {
			/* Queued SQEs the kernel would not take: retry soon. */
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
			continue;
		}
		/* A CQE posted or a doorbell rung since the reap above has
		 * bumped the counter, so this does not sleep through it. */
		if (read(io->efd, &v, sizeof(v)) < 0 && errno != EINTR &&
		    errno != EAGAIN)
			sched_yield();
	}
	return NULL;
}

/* ---- engine ------------------------------------------------------------------ */

int udax_io_new(const struct udax_io_opts *opts, struct udax_io **out)
{
	struct udax_io_opts o = { 0 };
	struct io_uring_params p;
	struct udax_io *io;
	unsigned entries;
	int ret;

	if (!out)
		return io_err(-EINVAL, "udax_io_new: out is NULL");
	*out = NULL;
	if (opts)
		o = *opts;
	for (unsigned i = 0; i < 4; i++)
		if (o.reserved[i])
			return io_err(-EINVAL, "udax_io_new: reserved fields must be zero");
	if (o.flags & ~(unsigned)(UDAX_IO_NOWAIT | UDAX_IO_FULL))
		return io_err(-EINVAL, "udax_io_new: unknown flags 0x%x", o.flags);
	if (!o.queue_depth)
		o.queue_depth = 64;
	if (o.queue_depth > UDAX_IO_MAX_DEPTH)
		return io_err(-EINVAL, "udax_io_new: queue depth %u > %u",
			      o.queue_depth, UDAX_IO_MAX_DEPTH);
	if (!o.submit_batch)
		o.submit_batch = 1;
	if (o.submit_batch > o.queue_depth)
		return io_err(-EINVAL, "udax_io_new: submit batch %u > queue depth %u",
			      o.submit_batch, o.queue_depth);
	if (!o.nr_fixed)
		o.nr_fixed = 16;
	if (o.nr_fixed > 16384)
		return io_err(-EINVAL, "udax_io_new: %u fixed slots (at most 16384)",
			      o.nr_fixed);
	if (!o.max_sqe_bytes)
		o.max_sqe_bytes = 1ul << 30;
	if (o.max_sqe_bytes % UDAX_PAGE_SIZE || o.max_sqe_bytes > (1ul << 30))
		return io_err(-EINVAL, "udax_io_new: max_sqe_bytes %zu is not a multiple "
			      "of 4096 up to 1 GiB", o.max_sqe_bytes);

	io = fault_calloc(1, sizeof(*io));
	if (!io)
		return io_err(-ENOMEM, "udax_io_new: out of memory");
	io->slot_used = fault_calloc(o.nr_fixed, 1);
	if (!io->slot_used) {
		free(io);
		return io_err(-ENOMEM, "udax_io_new: out of memory");
	}
	io->depth = o.queue_depth;
	io->batch = o.submit_batch;
	io->flags = o.flags;
	io->max_sqe_bytes = o.max_sqe_bytes;
	io->nr_fixed = o.nr_fixed;
	io->st.queue_depth = o.queue_depth;

	io->fork_gen = fork_gen();
	io->owner = (int)getpid();
	io->fork_node.child = io_fork_child;

	entries = 2 * o.queue_depth + 1;
	/*
	 * No fork() between making the ring and tracking it: a child must
	 * neither see the ring's mappings (DONTFORK below) nor keep its
	 * descriptor (io_fork_child()).
	 */
	ret = fork_lock();
	if (ret) {
		io_err(ret, "udax_io_new: cannot install the fork handlers");
		goto err_free;
	}
	memset(&p, 0, sizeof(p));
	/* Keep submitting past a bad SQE: each one gets its own CQE. */
	p.flags = IORING_SETUP_SUBMIT_ALL;
	ret = io_uring_queue_init_params(entries, &io->ring, &p);
	if (ret == -EINVAL) {		/* before 5.18 */
		memset(&p, 0, sizeof(p));
		ret = io_uring_queue_init_params(entries, &io->ring, &p);
	}
	if (ret < 0) {
		fork_unlock();
		io_err(ret, "udax_io_new: io_uring_queue_init(%u): %s%s", entries,
		       strerror(-ret), ret == -EPERM || ret == -ENOSYS ?
		       " (io_uring disabled? see /proc/sys/kernel/io_uring_disabled)" : "");
		goto err_free;
	}
	/* A child storing into the parent's SQ would corrupt it. */
	ret = io_uring_ring_dontfork(&io->ring);
	if (ret < 0) {
		fork_unlock();
		io_err(ret, "udax_io_new: io_uring_ring_dontfork: %s", strerror(-ret));
		io_uring_queue_exit(&io->ring);
		goto err_free;
	}
	io->efd = eventfd(0, EFD_CLOEXEC);
	if (io->efd < 0) {
		ret = -errno;
		fork_unlock();
		io_err(ret, "udax_io_new: eventfd: %s", strerror(-ret));
		io_uring_queue_exit(&io->ring);
		goto err_free;
	}
	fork_track_locked(&io->fork_node);
	fork_unlock();
	/* An empty table whose slots udax_io_register_fixed() fills. */
	io->fixed_ok = io_uring_register_buffers_sparse(&io->ring, o.nr_fixed) == 0;
	ret = io_uring_register_eventfd(&io->ring, io->efd);
	if (ret < 0) {
		io_err(ret, "udax_io_new: io_uring_register_eventfd: %s", strerror(-ret));
		fork_untrack(&io->fork_node);
		close(io->efd);
		io_uring_queue_exit(&io->ring);
		goto err_free;
	}

	pthread_mutex_init(&io->lock, NULL);
	pthread_cond_init(&io->slot_cond, NULL);
	pthread_cond_init(&io->done_cond, NULL);
	ret = -pthread_create(&io->thread, NULL, engine_thread, io);
	if (ret) {
		io_err(ret, "udax_io_new: pthread_create: %s", strerror(-ret));
		pthread_cond_destroy(&io->done_cond);
		pthread_cond_destroy(&io->slot_cond);
		pthread_mutex_destroy(&io->lock);
		fork_untrack(&io->fork_node);
		io_uring_queue_exit(&io->ring);
		close(io->efd);
		goto err_free;
	}
	*out = io;
	return 0;

err_free:
	free(io->slot_used);
	free(io);
	return ret;
}

int udax_io_delete(struct udax_io **iop)
{
	struct udax_io *io;

	if (!iop || !*iop)
		return 0;
	io = *iop;
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_delete");
	if (io_current == io)
		return io_err(-EDEADLK, "udax_io_delete: called from a completion callback");
	pthread_mutex_lock(&io->lock);
	if (io->nfixed_live) {
		pthread_mutex_unlock(&io->lock);
		return io_err(-EBUSY, "udax_io_delete: %u fixed buffers still registered",
			      io->nfixed_live);
	}
	io->dying = true;
	pthread_cond_broadcast(&io->slot_cond);
	io_flush_locked(io);
	while (io->nreqs)
		pthread_cond_wait(&io->done_cond, &io->lock);
	io->stop = true;
	ring_doorbell(io);
	pthread_mutex_unlock(&io->lock);
	pthread_join(io->thread, NULL);

	/* Cancellations may still be outstanding: they point at nothing.
	 * No fork() between closing the descriptors and untracking them. */
	if (fork_lock() == 0) {
		fork_untrack_locked(&io->fork_node);
		io_uring_queue_exit(&io->ring);
		close(io->efd);
		fork_unlock();
	} else {
		io_uring_queue_exit(&io->ring);
		close(io->efd);
	}
	pthread_cond_destroy(&io->done_cond);
	pthread_cond_destroy(&io->slot_cond);
	pthread_mutex_destroy(&io->lock);
	free(io->slot_used);
	free(io);
	*iop = NULL;
	return 0;
}

int udax_io_drain(struct udax_io *io)
{
	int ret;

	if (!io)
		return io_err(-EINVAL, "udax_io_drain: io is NULL");
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_drain");
	if (io_current == io)
		return io_err(-EDEADLK, "udax_io_drain: called from a completion callback");
	pthread_mutex_lock(&io->lock);
	ret = io_flush_locked(io);
	while (!ret && io->nreqs)
		pthread_cond_wait(&io->done_cond, &io->lock);
	pthread_mutex_unlock(&io->lock);
	return ret;
}

void udax_io_get_stats(struct udax_io *io, struct udax_io_stats *st)
{
	if (!io || !st)
		return;
	if (fork_inherited(io->fork_gen)) {
		io_err_inherited(io, "udax_io_get_stats");
		memset(st, 0, sizeof(*st));
		return;
	}
	pthread_mutex_lock(&io->lock);
	*st = io->st;
	st->inflight = io->inflight;
	st->queued = io_uring_sq_ready(&io->ring);
	pthread_mutex_unlock(&io->lock);
}

/* ---- requests ------------------------------------------------------------------ */

int udax_io_cancel(struct udax_io *io, struct udax_io_req *r)
{
	int ret = 0;

	if (!io || !r)
		return io_err(-EINVAL, "udax_io_cancel: %s is NULL", io ? "req" : "io");
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_cancel");
	if (r->io != io)
		return io_err(-EINVAL, "udax_io_cancel: request of another engine");
	pthread_mutex_lock(&io->lock);
	if (!r->subs_left) {
		ret = io_err(-EALREADY, "udax_io_cancel: request already finished");
		goto out;
	}
	if (r->cancelled)
		goto out;
	r->cancelled = true;	/* also stops UDAX_IO_FULL resubmissions */
	for (unsigned i = 0; i < r->nsubs; i++) {
		struct io_sub *s = &r->subs[i];
		struct io_uring_sqe *sqe;

		if (s->finished || s->cancel_sent)
			continue;
		/* Behind the target in the SQ if it is still queued: the
		 * kernel takes SQEs in order, so the cancel finds it. */
		sqe = get_sqe(io);
		io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)s | TAG_SUB, 0);
		io_uring_sqe_set_data64(sqe, TAG_CANCEL);
		s->cancel_sent = true;
	}
	ret = io_flush_locked(io);
out:
	pthread_mutex_unlock(&io->lock);
	return ret;
}

ssize_t udax_io_wait(struct udax_io_req *r)
{
	struct udax_io *io;
	ssize_t res;
	int ret;

	if (!r)
		return io_err(-EINVAL, "udax_io_wait: req is NULL");
	io = r->io;
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_wait");
	pthread_mutex_lock(&io->lock);
	if (!r->complete && io_current == io) {
		pthread_mutex_unlock(&io->lock);
		return io_err(-EDEADLK, "udax_io_wait: called from a completion callback");
	}
	ret = io_flush_locked(io);
	if (ret && !r->complete) {
		pthread_mutex_unlock(&io->lock);
		return ret;
	}
	while (!r->complete)
		pthread_cond_wait(&io->done_cond, &io->lock);
	res = r->res;
	pthread_mutex_unlock(&io->lock);
	return res;
}

bool udax_io_req_done(struct udax_io_req *r, ssize_t *res)
{
	bool done;

	if (!r)
		return false;
	/* Done in this process, with the error: a poll loop ends. */
	if (fork_inherited(r->io->fork_gen)) {
		int err = io_err_inherited(r->io, "udax_io_req_done");

		if (res)
			*res = err;
		return true;
	}
	pthread_mutex_lock(&r->io->lock);
	done = r->complete;
	if (done && res)
		*res = r->res;
	pthread_mutex_unlock(&r->io->lock);
	return done;
}

size_t udax_io_req_bytes(struct udax_io_req *r)
{
	size_t n = 0;

	if (!r)
		return 0;
	if (fork_inherited(r->io->fork_gen)) {
		io_err_inherited(r->io, "udax_io_req_bytes");
		return 0;
	}
	pthread_mutex_lock(&r->io->lock);
	req_result(r, &n);
	pthread_mutex_unlock(&r->io->lock);
	return n;
}

void udax_io_req_free(struct udax_io_req **rp)
{
	struct udax_io_req *r;
	struct udax_io *io;
	bool last;

	if (!rp || !*rp)
		return;
	/* Inherited: the parent's engine may still complete it; leave it. */
	if (fork_inherited((*rp)->io->fork_gen)) {
		io_err_inherited((*rp)->io, "udax_io_req_free");
		return;
	}
	r = *rp;
	*rp = NULL;
	io = r->io;
	pthread_mutex_lock(&io->lock);
	last = --r->refs == 0;
	pthread_mutex_unlock(&io->lock);
	if (last)
		io_req_destroy(r);
}
