/* SPDX-License-Identifier: MIT */
/*
 * A slow source: a pipe fed at a chosen byte rate by a helper thread.
 *
 * io_uring reads from a pipe are asynchronous (the pipe is polled, the
 * copy happens when data arrives), so a read of N bytes from a source of
 * R bytes per second, with UDAX_IO_FULL, stays in flight with its pages
 * pinned for about N / R seconds: long-lived DMA on a machine without a
 * throttled disk.  The helper writes through a non-blocking end and polls
 * with a short timeout, so deleting the source never waits on a full pipe.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "io/internal.h"

struct udax_io_slow {
	int rfd, wfd;
	uint64_t rate, total;
	size_t chunk;
	uint32_t seed;
	_Atomic uint64_t written;
	_Atomic int stop;
	_Atomic uint32_t paused;	/* futex word */
	pthread_t thread;
	unsigned long fork_gen;		/* the creator's (common/fork.h) */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sleep until @t (monotonic ns) in slices, so that a stop is seen soon. */
static void sleep_until(struct udax_io_slow *s, uint64_t t)
{
	for (;;) {
		uint64_t now = now_ns(), d;
		struct timespec ts;

		if (now >= t || atomic_load(&s->stop))
			return;
		d = t - now;
		if (d > 20000000ull)
			d = 20000000ull;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)d;
		nanosleep(&ts, NULL);
	}
}

static void *feeder(void *arg)
{
	struct udax_io_slow *s = arg;
	uint8_t *buf = malloc(s->chunk);
	uint64_t start, pos = 0;

	while (atomic_load(&s->paused) && !atomic_load(&s->stop))
		syscall(SYS_futex, &s->paused, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0);
	start = now_ns();

	while (buf && !atomic_load(&s->stop) && (!s->total || pos < s->total)) {
		size_t n = s->chunk, off = 0;

		if (s->total && n > s->total - pos)
			n = (size_t)(s->total - pos);
		/* Due when the stream may hold pos + n bytes at the rate. */
		sleep_until(s, start + (uint64_t)((unsigned __int128)(pos + n) *
						  1000000000u / s->rate));
		for (size_t i = 0; i < n; i++)
			buf[i] = udax_io_slow_byte(s->seed, pos + i);
		while (off < n && !atomic_load(&s->stop)) {
			ssize_t w = write(s->wfd, buf + off, n - off);

			if (w > 0) {
				off += (size_t)w;
				atomic_store(&s->written, pos + off);
			} else if (w < 0 && errno == EAGAIN) {
				struct pollfd p = { .fd = s->wfd, .events = POLLOUT };

				poll(&p, 1, 20);
			} else if (w < 0 && errno != EINTR) {
				goto out;	/* EPIPE: nobody reads any more */
			}
		}
		pos += off;
	}
out:
	free(buf);
	/* End of file for the reader. */
	close(s->wfd);
	s->wfd = -1;
	return NULL;
}

int udax_io_slow_new(const struct udax_io_slow_opts *opts,
		     struct udax_io_slow **out)
{
	struct udax_io_slow *s;
	int fds[2], ret;

	if (!out)
		return io_err(-EINVAL, "udax_io_slow_new: out is NULL");
	*out = NULL;
	if (!opts || !opts->rate)
		return io_err(-EINVAL, "udax_io_slow_new: %s", opts ?
			      "rate is 0" : "opts is NULL");
	if (opts->chunk > (1u << 20))
		return io_err(-EINVAL, "udax_io_slow_new: chunk %zu > 1 MiB", opts->chunk);
	s = fault_calloc(1, sizeof(*s));
	if (!s)
		return io_err(-ENOMEM, "udax_io_slow_new: out of memory");
	if (pipe2(fds, O_CLOEXEC) < 0) {
		ret = -errno;
		free(s);
		return io_err(ret, "udax_io_slow_new: pipe2: %s", strerror(-ret));
	}
	s->rfd = fds[0];
	s->wfd = fds[1];
	fcntl(s->wfd, F_SETFL, O_NONBLOCK);
	s->rate = opts->rate;
	s->total = opts->total;
	s->chunk = opts->chunk ? opts->chunk : 4096;
	s->seed = opts->seed;
	s->paused = opts->paused;
	s->fork_gen = fork_gen();
	ret = -pthread_create(&s->thread, NULL, feeder, s);
	if (ret) {
		close(s->rfd);
		close(s->wfd);
		free(s);
		return io_err(ret, "udax_io_slow_new: pthread_create: %s", strerror(-ret));
	}
	*out = s;
	return 0;
}

static void unpause(struct udax_io_slow *s)
{
	atomic_store(&s->paused, 0);
	syscall(SYS_futex, &s->paused, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void udax_io_slow_resume(struct udax_io_slow *s)
{
	if (s)
		unpause(s);
}

int udax_io_slow_fd(const struct udax_io_slow *s)
{
	return s ? s->rfd : -EINVAL;
}

uint64_t udax_io_slow_written(const struct udax_io_slow *s)
{
	return s ? atomic_load(&((struct udax_io_slow *)s)->written) : 0;
}

void udax_io_slow_delete(struct udax_io_slow **sp)
{
	struct udax_io_slow *s;

	if (!sp || !*sp)
		return;
	s = *sp;
	/* Inherited across fork(): the feeder thread is the parent's. */
	if (fork_inherited(s->fork_gen)) {
		io_err(-FORK_ERRNO, "udax_io_slow_delete: " FORK_HINT);
		return;
	}
	atomic_store(&s->stop, 1);
	unpause(s);
	pthread_join(s->thread, NULL);
	close(s->rfd);
	free(s);
	*sp = NULL;
}
