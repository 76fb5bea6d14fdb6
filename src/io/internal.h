/* SPDX-License-Identifier: MIT */
/*
 * io internals: the engine, requests and their SQEs, shared by the files
 * of src/io/.
 *
 * Locking: one mutex per engine (io->lock) covers the submission queue,
 * the slot accounting, every request's bookkeeping (subs, cancel state,
 * completion, references) and the fixed-buffer table.  The completion
 * queue has a single consumer, the engine thread, and needs no lock.
 * Callbacks and pin releases run with no lock held.  Only the engine
 * thread calls io_uring_enter() to submit (see engine.c).
 */
#ifndef UDAX_IO_INTERNAL_H
#define UDAX_IO_INTERNAL_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>
#include <udax/io.h>

#include "common/fault_alloc.h"
#include "common/fork.h"

/*
 * user_data of an SQE: a struct io_sub pointer (8-byte aligned) with a
 * tag in its low bits.  Cancellations carry no pointer, so their
 * completions never touch memory that may be gone.
 */
#define TAG_MASK	7ull
enum { TAG_SUB = 0, TAG_CANCEL = 1 };

#define IO_MAX_IOV	1024		/* UIO_MAXIOV: iovecs per readv */
#define IO_MAX_FIXED	(1ul << 30)	/* the kernel's limit per fixed buffer */

/* One SQE's worth of a request. */
struct io_sub {
	struct udax_io_req *req;
	struct iovec *iov;		/* not yet transferred part; NULL: fixed */
	unsigned niov;
	uint64_t start;			/* byte offset in the request */
	size_t len;			/* bytes of this SQE */
	size_t done;			/* bytes transferred so far */
	int err;			/* the error that ended it, or 0 */
	bool finished;			/* its last CQE arrived */
	bool cancel_sent;		/* an ASYNC_CANCEL targets its SQE */
} __attribute__((aligned(8)));

enum req_kind { REQ_PFNS = 1, REQ_BUF, REQ_FIXED };

struct udax_io_req {
	struct udax_io *io;
	enum req_kind kind;
	bool write;
	int fd;
	int64_t fd_off;			/* or UDAX_IO_CUR_POS */
	size_t len;			/* bytes asked for */
	udax_io_done_t done;
	void *arg;

	/* What the transfer pins (see the release in finish_req()). */
	struct udax_page **pages;	/* REQ_PFNS: ours; REQ_BUF: buf's */
	size_t nr_pages;
	struct udax_io_buf *buf;	/* REQ_BUF */
	struct udax_io_fixed *fixed;	/* REQ_FIXED */
	char *fixed_addr;		/* REQ_FIXED: first byte */

	/* Under io->lock. */
	unsigned refs;			/* engine (until complete) + caller */
	unsigned subs_left;		/* SQEs not finished */
	bool cancelled;
	bool complete;
	ssize_t res;
	size_t bytes;

	unsigned nsubs;
	struct io_sub *subs;
	struct iovec *iov;
	unsigned niov;
};

struct udax_io_fixed {
	struct udax_io *io;
	unsigned slot;
	char *addr;
	size_t size;
	struct udax_page **pages;
	size_t npages;
	/* Under io->lock. */
	unsigned inflight;		/* transfers using it */
	bool dying;			/* being unregistered: no new transfers */
};

struct udax_io {
	struct io_uring ring;
	pthread_mutex_t lock;
	pthread_cond_t slot_cond;	/* SQE slots were freed */
	pthread_cond_t done_cond;	/* a request completed */
	pthread_t thread;		/* the engine thread */
	int efd;			/* doorbell + CQ notification eventfd */

	/* Set at creation. */
	unsigned long fork_gen;		/* the creator's (common/fork.h) */
	int owner;			/* the creator's pid, for messages */
	struct fork_node fork_node;
	unsigned depth;
	unsigned batch;
	unsigned flags;
	size_t max_sqe_bytes;
	unsigned nr_fixed;
	bool fixed_ok;			/* the sparse buffer table exists */

	/* Under lock. */
	unsigned inflight;		/* SQE slots reserved */
	unsigned nreqs;			/* requests not complete */
	bool dying;			/* udax_io_delete() runs */
	bool stop;			/* the engine thread should exit */
	bool kicked;			/* doorbell rung, not yet answered */
	unsigned nfixed_live;
	unsigned char *slot_used;	/* [nr_fixed] */
	struct udax_io_stats st;
};

/* The engine whose engine (completion) thread this is, or NULL. */
extern __thread struct udax_io *io_current;

int io_err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * -ESTALE with a message: @io (or a request, buffer or lease of it) was
 * inherited across fork().  Entry points test fork_inherited(io->fork_gen)
 * before anything else: the child has neither the engine thread nor the
 * ring, and io->lock may have been held at fork time.
 */
int io_err_inherited(const struct udax_io *io, const char *fn);

/*
 * Accept @r: reserve its SQE slots (waiting or -EAGAIN), queue its SQEs
 * and submit per the batching rule.  With @handle, the caller keeps a
 * reference, stored there on success.  On error nothing was queued, @r is
 * freed, and the caller still owns the pins of its pages.
 */
int io_submit_req(const char *fn, struct udax_io *io, struct udax_io_req *r,
		  struct udax_io_req **handle);
/* Get everything queued submitted: directly on the engine thread, else
 * by ringing its doorbell.  Under io->lock. */
int io_flush_locked(struct udax_io *io);
void io_req_destroy(struct udax_io_req *r);

#endif /* UDAX_IO_INTERNAL_H */
