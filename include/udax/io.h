/* SPDX-License-Identifier: MIT */
/*
 * udax io: a DMA engine on io_uring that pins device pages for every
 * transfer.
 *
 * Built only when liburing is found (src/CMakeLists.txt adds src/io/ under
 * URING_FOUND); without it libudax has no udax_io_* symbols and programs
 * that use this header do not link.
 *
 * A transfer moves whole pages of device memory (include/udax/pagemap.h)
 * to or from a file descriptor: a block device or a file opened O_DIRECT,
 * so the device DMAs straight into or out of the pages, or any readable /
 * writable fd (a pipe, a socket, a buffered file).  Pin rule: every page
 * of a transfer holds a reference from before submission until after its
 * completion, in both directions (a DMA out of a page being freed would
 * send another file's data once the page is reused).  The pins are dropped
 * through pagemap's release path, so page_free runs and threads sleeping
 * in udax_pfn_range_wait_idle() on the pages are woken by the completion.
 *
 * Threads: one io_uring and one engine thread per engine.  Any thread
 * may submit, cancel and wait: it fills SQEs under the engine's lock and
 * rings a doorbell (an eventfd).  The engine thread makes every
 * io_uring_enter(), so requests belong to a task that lives as long as
 * the ring (the kernel fails polled reads of a task that has exited with
 * -ECANCELED) and submitting threads may exit at any time; it reaps the
 * completion queue
 * and runs the callbacks, so pins are released promptly even when nobody
 * polls.  Callbacks must not sleep for long; they may submit (never
 * waiting: -EAGAIN when the queue is full) and cancel, but not wait.
 *
 * fork(): an engine, its requests, fixed buffers and leased ranges belong
 * to the process that made the engine.  The child of fork() has neither
 * the ring (its mappings are MADV_DONTFORK, its descriptor closed in the
 * child) nor the engine thread: every call there fails with -ESTALE (see
 * include/udax/dev.h), udax_io_req_done() reports a request done with
 * -ESTALE.  Transfers in flight at fork time complete for the parent.
 *
 * Request lifetime: a submit function returns 0 and, if @req is not NULL,
 * a reference to the request in *@req that the caller drops with
 * udax_io_req_free() (before or after completion; the engine frees the
 * request once both it and the caller are done with it).  With @req NULL
 * the request is the engine's alone and freed right after completion.
 * On error nothing was submitted, nothing stays pinned by the engine and
 * *@req is NULL.  Completion order, for each request exactly once:
 *   1. the callback (@done may be NULL) runs on the engine thread with
 *      the result; the pages are still pinned, so it may look at them;
 *   2. the pins are released (udax_unpin_pages() / buf->release());
 *   3. the request is marked complete: udax_io_wait() returns.
 *
 * Results: bytes transferred (a short count is reported as such, as by
 * preadv(2): a failure after some bytes shows as a short count) or a
 * negative errno.  A cancelled request that did not transfer everything
 * completes with -ECANCELED; udax_io_req_bytes() tells how much it did.
 *
 * Errors are negative errno values; after a udax_io_* call fails,
 * udax_io_last_error() gives a one-line message naming the cause.
 */
#ifndef UDAX_IO_H
#define UDAX_IO_H

/* Declarations here are the library's interface: exported (libudax hides the rest). */
#pragma GCC visibility push(default)

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <udax/error.h>
#include <udax/pagemap.h>

#ifdef __cplusplus
extern "C" {
#endif

struct udax_io;
struct udax_io_req;
struct udax_io_fixed;

/* ---- engine ---------------------------------------------------------------- */

enum {
	/* Queue full: submissions fail with -EAGAIN instead of waiting. */
	UDAX_IO_NOWAIT = 1u << 0,
	/* Resubmit the rest of a short transfer until it is complete, the fd
	 * reports end of file (0) or an error: pipes and sockets return what
	 * they have, this keeps a read in flight until it is full. */
	UDAX_IO_FULL = 1u << 1,
};

#define UDAX_IO_MAX_DEPTH	4096

struct udax_io_opts {
	unsigned queue_depth;	/* SQEs in flight at most; 0: 64 */
	unsigned submit_batch;	/* submit once this many SQEs are queued
				 * (or on udax_io_flush / wait / drain);
				 * 0 or 1: submit each transfer at once */
	unsigned flags;		/* UDAX_IO_* */
	unsigned nr_fixed;	/* fixed-buffer slots; 0: 16 */
	size_t max_sqe_bytes;	/* bytes per SQE, a multiple of 4096; longer
				 * transfers are split; 0: 1 GiB */
	uint64_t reserved[4];	/* must be zero */
};

/*
 * Create an engine: an io_uring sized for @opts->queue_depth transfers
 * plus their cancellations, a sparse fixed-buffer table and the
 * engine thread.  @opts may be NULL (defaults).
 * Errors: -EINVAL, -ENOMEM, errors of io_uring_setup(2) (-ENOSYS, -EPERM
 * where io_uring is disabled) and pthread_create().
 */
int udax_io_new(const struct udax_io_opts *opts, struct udax_io **out);

/*
 * Wait for every transfer to complete (nothing is cancelled: cancel first
 * what may never complete, such as a read from an idle pipe), stop the
 * engine thread and free the engine; *@io becomes NULL (NULL is a
 * no-op).  -EBUSY (engine untouched) while fixed buffers are registered;
 * -EDEADLK from a completion callback.  Must not race with other calls
 * on the engine, except from its callbacks: those submitting during the
 * final drain get -ESHUTDOWN.
 */
int udax_io_delete(struct udax_io **io);

/* Have the SQEs held back by batching submitted now (the engine thread
 * submits them; this does not wait).  Returns 0 or -EINVAL. */
int udax_io_flush(struct udax_io *io);

/*
 * Wait until no transfer of @io is in flight (flushes first).  New
 * submissions during the drain extend it.  -EDEADLK from a callback.
 */
int udax_io_drain(struct udax_io *io);

struct udax_io_stats {
	unsigned queue_depth;
	unsigned inflight;		/* SQEs reserved now (queued or in flight) */
	unsigned queued;		/* SQEs not yet taken by the kernel */
	unsigned max_inflight;		/* the most ever reserved at once */
	uint64_t submitted;		/* requests accepted */
	uint64_t completed;		/* requests completed */
	uint64_t sqes;			/* SQEs submitted (splits, resubmissions) */
	uint64_t cancelled;		/* requests completed with -ECANCELED */
	uint64_t waits;			/* sleeps of submitters on a full queue */
};
void udax_io_get_stats(struct udax_io *io, struct udax_io_stats *st);

/* One line about the last failed udax_io_* call of this thread ("" if none). */
const char *udax_io_last_error(void);

/* ---- transfers ------------------------------------------------------------ */

/* Called once per request, on the engine thread; see the top. */
typedef void (*udax_io_done_t)(struct udax_io_req *req, ssize_t res,
			       void *arg);

/* @fd_off: byte offset in the file, or this for the fd's current position
 * (pipes, sockets); a transfer there must fit one SQE (-EINVAL). */
#define UDAX_IO_CUR_POS		((int64_t)-1)

/*
 * Read @npages pages from @fd at @fd_off into the device pages from @pfn
 * (write: from the pages to @fd).  The pages are pinned with
 * udax_pin_pages() before submission and unpinned from the completion.
 * Pages with adjacent CPU addresses go in one iovec; a transfer longer
 * than max_sqe_bytes (or than 1024 iovecs) becomes several SQEs, issued
 * together; it needs no more SQEs than the queue depth (-E2BIG).
 * Errors: -EINVAL (bad argument), -EBADF (@fd < 0), -ENOENT (no range at
 * @pfn), -EOPNOTSUPP (a LIMITED range: its pages cannot be pinned),
 * -EFAULT (DEVICE_PRIVATE: no CPU address), -EAGAIN (queue full and
 * UDAX_IO_NOWAIT), -ESHUTDOWN (engine being deleted), -ENOMEM.
 */
int udax_io_read_pfns(struct udax_io *io, int fd, int64_t fd_off,
		      unsigned long pfn, size_t npages, udax_io_done_t done,
		      void *arg, struct udax_io_req **req);
int udax_io_write_pfns(struct udax_io *io, int fd, int64_t fd_off,
		       unsigned long pfn, size_t npages, udax_io_done_t done,
		       void *arg, struct udax_io_req **req);

/*
 * Pages pinned by the caller (a file system's own pins).  Every page must
 * hold a reference and have a CPU address.  On a successful submit the
 * engine owns @buf until it calls @release(@buf) exactly once, after the
 * callback; @release must drop the pins (e.g. udax_release_pages()) and
 * may free @buf.  @release NULL: the engine calls
 * udax_release_pages(pages, nr_pages) and @buf must stay valid until the
 * request completes.  A failed submit leaves @buf and its pins with the
 * caller.
 */
struct udax_io_buf {
	struct udax_page **pages;
	size_t nr_pages;
	void (*release)(struct udax_io_buf *buf);
	void *priv;			/* the caller's */
};

int udax_io_read_buf(struct udax_io *io, int fd, int64_t fd_off,
		     struct udax_io_buf *buf, udax_io_done_t done, void *arg,
		     struct udax_io_req **req);
int udax_io_write_buf(struct udax_io *io, int fd, int64_t fd_off,
		      struct udax_io_buf *buf, udax_io_done_t done, void *arg,
		      struct udax_io_req **req);

/*
 * Ask for @req to be cancelled (IORING_OP_ASYNC_CANCEL on each of its
 * SQEs).  Best effort: a transfer the device already runs completes
 * normally.  Returns 0 (the request will complete, with -ECANCELED if it
 * did not transfer everything), -EALREADY (it already finished), -EINVAL.
 * Its pins are released exactly once either way.
 */
int udax_io_cancel(struct udax_io *io, struct udax_io_req *req);

/* Wait for @req to complete (flushes first); returns its result.
 * -EDEADLK when called from a completion callback. */
ssize_t udax_io_wait(struct udax_io_req *req);

/* Whether @req completed; if so and @res is not NULL, its result. */
bool udax_io_req_done(struct udax_io_req *req, ssize_t *res);

/* Bytes transferred from the start of @req so far (final once done). */
size_t udax_io_req_bytes(struct udax_io_req *req);

/* Drop the caller's reference; *@req becomes NULL (NULL is a no-op). */
void udax_io_req_free(struct udax_io_req **req);

/* ---- fixed buffers ---------------------------------------------------------- */

/*
 * Pin @npages pages from @pfn for as long as the registration lasts and
 * register their CPU addresses as one io_uring fixed buffer (a slot of
 * the engine's sparse table, IORING_REGISTER_BUFFERS_UPDATE).  The pages
 * must be CPU-contiguous (they are, inside one range) and at most 1 GiB
 * (the kernel's limit per buffer).  The kernel pins the memory too
 * (FOLL_LONGTERM): it accepts anonymous and shmem/memfd mappings ("mem:"
 * devices) and refuses with -EFAULT writable-file mappings of page-cache
 * files (a "file:" device on ext4) and with -EOPNOTSUPP fsdax mappings.
 * Errors: those of udax_pin_pages(), -ENOSPC (no free slot), -E2BIG,
 * those of the kernel's registration, -EOPNOTSUPP (no sparse table).
 */
int udax_io_register_fixed(struct udax_io *io, unsigned long pfn,
			   size_t npages, struct udax_io_fixed **out);

/*
 * Stop new transfers on @fixed, wait for those in flight, clear the slot
 * and unpin the pages; *@fixed becomes NULL (NULL is a no-op).
 * -EDEADLK from a completion callback.  Transfers on @fixed started
 * meanwhile get -ESHUTDOWN; none may be started once this returned.
 */
int udax_io_unregister_fixed(struct udax_io_fixed **fixed);

void *udax_io_fixed_addr(const struct udax_io_fixed *fixed);
size_t udax_io_fixed_size(const struct udax_io_fixed *fixed);

/*
 * Read @len bytes (a multiple of 4096 for O_DIRECT) from @fd at @fd_off
 * into the fixed buffer at byte @buf_off (IORING_OP_READ_FIXED); write:
 * the reverse.  The transfer holds the registration, not page pins of its
 * own: the registration's pins cover it.  One SQE: @len at most
 * max_sqe_bytes.  Errors as for udax_io_read_pfns(), and -ESHUTDOWN
 * while @fixed is being unregistered.
 */
int udax_io_read_fixed(struct udax_io *io, struct udax_io_fixed *fixed,
		       size_t buf_off, int fd, int64_t fd_off, size_t len,
		       udax_io_done_t done, void *arg,
		       struct udax_io_req **req);
int udax_io_write_fixed(struct udax_io *io, struct udax_io_fixed *fixed,
			size_t buf_off, int fd, int64_t fd_off, size_t len,
			udax_io_done_t done, void *arg,
			struct udax_io_req **req);

/* ---- file ranges (include/udax/fs.h) ----------------------------------------- */

struct udax_file;

/*
 * Read @len bytes from @fd at @fd_off into [@off, @off + @len) of the udax
 * file @f (the device DMAs into the file's blocks); write: from the file's
 * blocks to @fd.  The range is pinned with udax_pin() before submission and
 * unpinned from the completion (through buf->release, after the callback),
 * so a layout break of the range waits for the transfer (BREAK_WAIT,
 * BREAK_TIMEOUT), fails with -EBUSY (BREAK_NOWAIT) or frees the blocks
 * after it (BREAK_DEFER; a block the break keeps but zeroes is replaced by
 * a copy, so the transfer's later bytes do not reach the file).  A break
 * in progress when the call is made
 * holds it up until the break is done; it then transfers to what the file
 * holds.  Only allocated blocks: nothing is allocated, the file size does
 * not change, timestamps are not touched.
 * The range follows the zero-copy rule of include/udax/fs.h ("Zero-copy
 * ranges"), the same as udax_pin(): whole blocks, never rounded (-EINVAL);
 * inside the file's blocks, the last one whole even when the file ends
 * inside it (-EINVAL past them); allocated and written (-ENODATA).
 * Errors: those, -EOPNOTSUPP (limited device), other errors of udax_pin()
 * and udax_io_read_buf().  On error nothing was submitted and nothing
 * stays pinned.
 */
int udax_io_read_file(struct udax_io *io, int fd, int64_t fd_off,
		      struct udax_file *f, uint64_t off, size_t len,
		      udax_io_done_t done, void *arg, struct udax_io_req **req);
int udax_io_write_file(struct udax_io *io, int fd, int64_t fd_off,
		       struct udax_file *f, uint64_t off, size_t len,
		       udax_io_done_t done, void *arg, struct udax_io_req **req);

/* ---- leased fixed buffers: long-term registration of file pages ------------- */

/*
 * A file range registered as io_uring fixed buffers for as long as the
 * holder wants, under a udax lease that a layout break can revoke (the
 * kernel refuses this on fsdax with EOPNOTSUPP).
 *
 * udax_io_lease_fixed() takes a lease on [@off, @off + @len) of @f
 * (udax_lease_take(), same @revoke_timeout_ns) and registers its pages:
 * one fixed buffer per run of consecutive pfns (at most 1 GiB each), so a
 * fragmented file takes several slots of the engine (-ENOSPC when they run
 * out).  Transfers go through udax_io_leased_read/write, never through the
 * udax_io_fixed pointers, which a revocation frees asynchronously.
 *
 * Revocation: a layout break overlapping the range calls the library's
 * revoke, which only marks the handle revoked (new transfers: -ESHUTDOWN),
 * calls @revoked(@lf, @arg) (may be NULL) and wakes the handle's teardown
 * thread; the breaking thread never waits there.  The teardown thread
 * waits for the fixed transfers in flight, unregisters the buffers and
 * releases the lease; the last page idle wakes the break.  So a break
 * waits as long as the holder's in-flight transfers, at most
 * @revoke_timeout_ns (-1: the break's own mode decides): past that it fails
 * with -ETIMEDOUT and changes nothing, and the teardown still completes
 * once the transfers do.  @revoked runs on the breaking thread with file
 * locks held: it must not block, call file operations or
 * udax_io_lease_fixed_release() (-EDEADLK).
 *
 * Lifetime: the handle's memory belongs to the holder, who calls
 * udax_io_lease_fixed_release() exactly once, revoked or not, before
 * udax_io_delete() of @io.  It may race with a revocation: the teardown
 * runs exactly once, release waits for it (hence for transfers in flight)
 * and for a @revoked call in progress, and @revoked never runs after
 * release returns.  One thread per handle (the teardown thread).
 *
 * Errors: -EINVAL (bad argument, a range breaking the zero-copy rule of
 * include/udax/fs.h), errors of udax_lease_take() (-ENODATA,
 * -EOPNOTSUPP, ...), of
 * udax_io_register_fixed() (-ENOSPC, -EFAULT/-EOPNOTSUPP from the kernel),
 * -ESHUTDOWN (a break revoked the lease while it was being registered),
 * -ENOMEM, -EAGAIN (no thread).  On error nothing stays pinned or
 * registered and *@out is NULL.
 */
struct udax_io_leased;
typedef void (*udax_io_revoked_t)(struct udax_io_leased *lf, void *arg);

int udax_io_lease_fixed(struct udax_io *io, struct udax_file *f, uint64_t off,
			size_t len, int64_t revoke_timeout_ns,
			udax_io_revoked_t revoked, void *arg,
			struct udax_io_leased **out);
/*
 * Give the registration back (if not already torn down by a revocation),
 * wait for it and free the handle; *@lf becomes NULL (NULL is a no-op).
 * Returns 0, -EDEADLK (from a completion callback of the handle's engine
 * or from @revoked: nothing done) or the error of the teardown (the
 * kernel refused to clear a slot: those pages stay pinned).
 */
int udax_io_lease_fixed_release(struct udax_io_leased **lf);

/* Has a layout break revoked the lease (transfers fail with -ESHUTDOWN)? */
bool udax_io_leased_revoked(const struct udax_io_leased *lf);
/* Fixed buffers (runs of consecutive pfns) behind the handle. */
unsigned udax_io_leased_count(const struct udax_io_leased *lf);
/* Run @i: its file offset in *@off, its length (bytes) returned; 0 if no
 * such run. */
size_t udax_io_leased_run(const struct udax_io_leased *lf, unsigned i,
			  uint64_t *off);

/*
 * Read @len bytes from @fd at @fd_off into the file range at file offset
 * @off (READ_FIXED); write: the reverse.  [@off, @off + @len) must lie in
 * one run (udax_io_leased_run()), else -EINVAL.  Errors as for
 * udax_io_read_fixed(), and -ESHUTDOWN once the lease was revoked or its
 * release began.
 */
int udax_io_leased_read(struct udax_io_leased *lf, uint64_t off, int fd,
			int64_t fd_off, size_t len, udax_io_done_t done,
			void *arg, struct udax_io_req **req);
int udax_io_leased_write(struct udax_io_leased *lf, uint64_t off, int fd,
			 int64_t fd_off, size_t len, udax_io_done_t done,
			 void *arg, struct udax_io_req **req);

/* ---- a slow source, for experiments ------------------------------------------ */

/*
 * A pipe fed by a helper thread at a chosen byte rate: use its fd as the
 * source of reads at UDAX_IO_CUR_POS to keep transfers (and their pins)
 * in flight for as long as the rate dictates.  Byte i of the stream is
 * udax_io_slow_byte(seed, i).
 */
struct udax_io_slow;

struct udax_io_slow_opts {
	uint64_t rate;		/* bytes per second, > 0 */
	size_t chunk;		/* bytes per write; 0: 4096 */
	uint64_t total;		/* end of file after this many bytes; 0: never */
	uint32_t seed;		/* of the byte pattern */
	bool paused;		/* write nothing until udax_io_slow_resume() */
};

int udax_io_slow_new(const struct udax_io_slow_opts *opts,
		     struct udax_io_slow **out);
/* The read end.  Owned by the source: no reads may be in flight on it
 * when the source is deleted. */
int udax_io_slow_fd(const struct udax_io_slow *slow);
/* Start a source created paused; the rate counts from now. */
void udax_io_slow_resume(struct udax_io_slow *slow);
/* Bytes written into the pipe so far. */
uint64_t udax_io_slow_written(const struct udax_io_slow *slow);
/* Stop the helper and close both ends; *@slow becomes NULL. */
void udax_io_slow_delete(struct udax_io_slow **slow);

static inline uint8_t udax_io_slow_byte(uint32_t seed, uint64_t i)
{
	uint64_t x = (i + seed) * 0x9e3779b97f4a7c15ull;

	return (uint8_t)(x >> 56);
}

#ifdef __cplusplus
}
#endif
#pragma GCC visibility pop
#endif /* UDAX_IO_H */
