/* SPDX-License-Identifier: MIT */
/*
 * Transfers between O_DIRECT files on /tmp and the pages of a mem device:
 * read into pfns and verify, pages idle after completion; write pages out
 * and read the file back; split SQEs; short reads at end of file; the
 * buffer API with scattered pages and a release callback; submit
 * batching; argument validation.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/io.h>

#include "io_util.h"

#define PG	4096

static char dir[] = "/tmp/udax-io-XXXXXX";
static char path_in[64], path_out[64];

static uint8_t pat(uint32_t seed, uint64_t i)
{
	return (uint8_t)((i * 2654435761u + seed) >> 7);
}

/* A file of @pages pages of pat(seed) written with plain pwrite. */
static void make_file(const char *path, size_t pages, uint32_t seed)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	uint8_t *b = malloc(pages * PG);

	T_ASSERT(fd >= 0 && b);
	for (size_t i = 0; i < pages * PG; i++)
		b[i] = pat(seed, i);
	T_ASSERT(pwrite(fd, b, pages * PG, 0) == (ssize_t)(pages * PG));
	T_ASSERT(fsync(fd) == 0);
	close(fd);
	free(b);
}

static bool pages_idle(unsigned long pfn, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct udax_pgmap *pg = udax_get_dev_pagemap(pfn + i, NULL);
		unsigned c = udax_page_ref_count(udax_pgmap_pfn_to_page(pg, pfn + i));

		udax_put_dev_pagemap(pg);
		if (c)
			return false;
	}
	return true;
}

static _Atomic int ncb;
static _Atomic long last_res;
static void done_cb(struct udax_io_req *req, ssize_t res, void *arg)
{
	(void)req;
	*(_Atomic long *)arg = res;
	last_res = res;
	ncb++;
}

/* A callback may submit (never waiting) but not wait. */
static struct udax_io *cb_io;
static int cb_fd;
static unsigned long cb_pfn;
static _Atomic long cb_wait_ret, cb_submit_ret = 1;
static _Atomic int chained_done;

static void chained(struct udax_io_req *req, ssize_t res, void *arg)
{
	(void)req;
	(void)arg;
	if (res == PG)
		chained_done = 1;
}

static void chaining_cb(struct udax_io_req *req, ssize_t res, void *arg)
{
	(void)res;
	(void)arg;
	cb_wait_ret = udax_io_wait(req);
	cb_submit_ret = udax_io_read_pfns(cb_io, cb_fd, PG, cb_pfn + 1, 1,
					  chained, NULL, NULL);
}

struct mybuf {
	struct udax_io_buf buf;
	struct udax_page *pages[8];
	_Atomic int *released;
};

static void mybuf_release(struct udax_io_buf *b)
{
	struct mybuf *m = (struct mybuf *)b;

	udax_release_pages(m->buf.pages, m->buf.nr_pages);
	(*m->released)++;
	free(m);
}

int main(void)
{
	struct udax_dev *dev;
	struct udax_dev_info di;
	struct udax_io *io, *io_split;
	struct udax_io_req *req;
	struct udax_io_opts o = { .queue_depth = 32 };
	_Atomic long res1 = 0;
	char *base;
	int fd, ofd;

	T_ASSERT(mkdtemp(dir));
	snprintf(path_in, sizeof(path_in), "%s/in", dir);
	snprintf(path_out, sizeof(path_out), "%s/out", dir);
	make_file(path_in, 64, 1);
	fd = open(path_in, O_RDONLY | O_DIRECT);
	if (fd < 0 && errno == EINVAL) {
		printf("io_odirect: O_DIRECT not supported on /tmp: skipped\n");
		unlink(path_in);
		rmdir(dir);
		return T_SKIP;
	}
	T_ASSERT(fd >= 0);
	ofd = open(path_out, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	T_ASSERT(ofd >= 0);

	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_info(dev, &di), 0);
	base = di.addr;
	io = io_new_or_skip(&o);

	/* 1. Read 16 pages at file offset 8 pages into pfn_first + 100. */
	unsigned long pfn = di.pfn_first + 100;
	char *dst = base + (pfn - di.pfn_first) * PG;

	memset(dst, 0xee, 16 * PG);
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 8 * PG, pfn, 16, done_cb, &res1, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 16 * PG);
	T_ASSERT(res1 == 16 * PG && ncb == 1);
	T_ASSERT(udax_io_req_done(req, NULL));
	T_ASSERT(udax_io_req_bytes(req) == 16 * PG);
	udax_io_req_free(&req);
	T_ASSERT(req == NULL);
	for (size_t i = 0; i < 16 * PG; i++)
		T_ASSERT((uint8_t)dst[i] == pat(1, 8 * PG + i));
	T_ASSERT(pages_idle(pfn, 16));

	/* 2. Write 32 pages of a new pattern out, read the file back. */
	unsigned long wpfn = di.pfn_first + 1000;
	char *src = base + (wpfn - di.pfn_first) * PG;

	for (size_t i = 0; i < 32 * PG; i++)
		src[i] = (char)pat(7, i);
	T_EXPECT_ERR(udax_io_write_pfns(io, ofd, 0, wpfn, 32, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 32 * PG);
	udax_io_req_free(&req);
	T_ASSERT(pages_idle(wpfn, 32));
	{
		int bfd = open(path_out, O_RDONLY);
		uint8_t *b = malloc(32 * PG);

		T_ASSERT(bfd >= 0 && b);
		T_ASSERT(pread(bfd, b, 32 * PG, 0) == 32 * PG);
		for (size_t i = 0; i < 32 * PG; i++)
			T_ASSERT(b[i] == pat(7, i));
		free(b);
		close(bfd);
	}

	/* 3. Split into SQEs of 4 pages; the result is still one request. */
	struct udax_io_opts os = { .queue_depth = 16, .max_sqe_bytes = 4 * PG };
	struct udax_io_stats st0, st1;

	T_EXPECT_ERR(udax_io_new(&os, &io_split), 0);
	udax_io_get_stats(io_split, &st0);
	memset(dst, 0, 40 * PG);
	T_EXPECT_ERR(udax_io_read_pfns(io_split, fd, 0, pfn, 40, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 40 * PG);
	udax_io_req_free(&req);
	udax_io_get_stats(io_split, &st1);
	T_ASSERT(st1.sqes - st0.sqes == 10);
	for (size_t i = 0; i < 40 * PG; i++)
		T_ASSERT((uint8_t)dst[i] == pat(1, i));
	T_ASSERT(pages_idle(pfn, 40));
	/* More SQEs than the queue depth: refused before pinning anything. */
	T_EXPECT_ERR(udax_io_read_pfns(io_split, fd, 0, pfn, 68, NULL, NULL, &req), -E2BIG);
	T_ASSERT(req == NULL && pages_idle(pfn, 68));

	/* 4. Short read at end of file: 8 pages left, 16 asked, split too. */
	T_EXPECT_ERR(udax_io_read_pfns(io_split, fd, 56 * PG, pfn, 16, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 8 * PG);
	udax_io_req_free(&req);
	for (size_t i = 0; i < 8 * PG; i++)
		T_ASSERT((uint8_t)dst[i] == pat(1, 56 * PG + i));
	/* Wholly past the end: 0 bytes. */
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 64 * PG, pfn, 4, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 0);
	udax_io_req_free(&req);
	/* The kernel's error: O_DIRECT at a misaligned offset. */
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 100, pfn, 1, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), -EINVAL);
	udax_io_req_free(&req);
	T_ASSERT(pages_idle(pfn, 16));
	T_EXPECT_ERR(udax_io_delete(&io_split), 0);
	T_ASSERT(io_split == NULL);

	/* 5. The buffer API: 8 scattered pages in reverse pfn order, pinned
	 * by us, released by our callback after completion. */
	_Atomic int released = 0;
	struct mybuf *m = calloc(1, sizeof(*m));
	unsigned long bpfn = di.pfn_first + 2000;

	T_ASSERT(m);
	for (int i = 0; i < 8; i++)
		T_EXPECT_ERR(udax_pin_pages(bpfn + (7 - i) * 3, 1, &m->pages[i]), 0);
	m->buf.pages = m->pages;
	m->buf.nr_pages = 8;
	m->buf.release = mybuf_release;
	m->released = &released;
	T_EXPECT_ERR(udax_io_read_buf(io, fd, 0, &m->buf, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 8 * PG);
	udax_io_req_free(&req);
	T_ASSERT(released == 1);
	for (int i = 0; i < 8; i++) {
		char *p = base + (bpfn + (7 - i) * 3 - di.pfn_first) * PG;

		for (size_t j = 0; j < PG; j++)
			T_ASSERT((uint8_t)p[j] == pat(1, (size_t)i * PG + j));
		T_ASSERT(pages_idle(bpfn + (7 - i) * 3, 1));
	}
	/* Fire and forget (no req): freed by the engine after completion. */
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 0, pfn, 2, NULL, NULL, NULL), 0);
	T_EXPECT_ERR(udax_io_drain(io), 0);
	T_ASSERT(pages_idle(pfn, 2));

	/* 6. Batching: SQEs wait in the ring until the fourth, or a flush. */
	{
		struct udax_io_opts ob = { .queue_depth = 8, .submit_batch = 4 };
		struct udax_io *bio;
		struct udax_io_req *br[5];
		struct udax_io_stats bs;

		T_EXPECT_ERR(udax_io_new(&ob, &bio), 0);
		for (int i = 0; i < 3; i++)
			T_EXPECT_ERR(udax_io_read_pfns(bio, fd, i * PG, pfn + (unsigned long)i,
						       1, NULL, NULL, &br[i]), 0);
		udax_io_get_stats(bio, &bs);
		T_ASSERT(bs.queued == 3 && bs.inflight == 3 && bs.completed == 0);
		T_EXPECT_ERR(udax_io_read_pfns(bio, fd, 3 * PG, pfn + 3, 1, NULL, NULL, &br[3]), 0);
		for (int i = 0; i < 4; i++)
			T_EXPECT_ERR(udax_io_wait(br[i]), PG);
		T_EXPECT_ERR(udax_io_read_pfns(bio, fd, 4 * PG, pfn + 4, 1, NULL, NULL, &br[4]), 0);
		udax_io_get_stats(bio, &bs);
		T_ASSERT(bs.queued == 1 && bs.completed == 4);
		T_EXPECT_ERR(udax_io_flush(bio), 0);
		while (!udax_io_req_done(br[4], NULL))
			sched_yield();			/* no wait: it would flush */
		T_EXPECT_ERR(udax_io_wait(br[4]), PG);
		for (int i = 0; i < 5; i++) {
			udax_io_req_free(&br[i]);
			for (size_t j = 0; j < PG; j++)
				T_ASSERT((uint8_t)dst[i * PG + j] == pat(1, i * PG + j));
		}
		T_EXPECT_ERR(udax_io_delete(&bio), 0);
		T_ASSERT(pages_idle(pfn, 5));
	}

	/* 7. Callbacks: a wait from one is refused, a submit works. */
	cb_io = io;
	cb_fd = fd;
	cb_pfn = pfn;
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 0, pfn, 1, chaining_cb, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), PG);
	udax_io_req_free(&req);
	T_EXPECT_ERR(udax_io_drain(io), 0);
	T_EXPECT_ERR(cb_wait_ret, -EDEADLK);
	T_EXPECT_ERR(cb_submit_ret, 0);
	T_ASSERT(chained_done == 1 && pages_idle(pfn, 2));

	/* An fd that is not open: the kernel's error comes back through the
	 * completion, and the pins still go. */
	T_EXPECT_ERR(udax_io_read_pfns(io, 1000, 0, pfn, 3, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), -EBADF);
	udax_io_req_free(&req);
	T_ASSERT(pages_idle(pfn, 3));

	/* 8. Validation: nothing is pinned or submitted on bad input. */
	struct udax_io_stats sa, sb;
	struct udax_io_buf bad = { 0 };
	struct udax_page *unpinned[1];

	udax_io_get_stats(io, &sa);
	T_EXPECT_ERR(udax_io_read_pfns(NULL, fd, 0, pfn, 1, NULL, NULL, &req), -EINVAL);
	T_ASSERT(strstr(udax_io_last_error(), "io is NULL"));
	T_EXPECT_ERR(udax_io_read_pfns(io, -1, 0, pfn, 1, NULL, NULL, &req), -EBADF);
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, -5, pfn, 1, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 0, pfn, 0, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, INT64_MAX - 10, pfn, 1, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 0, 5, 1, NULL, NULL, &req), -ENOENT);
	T_ASSERT(strstr(udax_io_last_error(), "cannot pin"));
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 0, di.pfn_first + di.nr_pages - 1, 2,
				       NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_write_pfns(io, fd, 0, pfn, SIZE_MAX, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_buf(io, fd, 0, NULL, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_buf(io, fd, 0, &bad, NULL, NULL, &req), -EINVAL);
	{
		struct udax_pgmap *pg = udax_get_dev_pagemap(pfn, NULL);

		unpinned[0] = udax_pgmap_pfn_to_page(pg, pfn);
		udax_put_dev_pagemap(pg);
	}
	bad.pages = unpinned;
	bad.nr_pages = 1;
	T_EXPECT_ERR(udax_io_read_buf(io, fd, 0, &bad, NULL, NULL, &req), -EINVAL);
	T_ASSERT(strstr(udax_io_last_error(), "not pinned"));
	T_ASSERT(req == NULL);
	T_EXPECT_ERR(udax_io_cancel(io, NULL), -EINVAL);
	T_EXPECT_ERR(udax_io_cancel(NULL, NULL), -EINVAL);
	T_EXPECT_ERR(udax_io_wait(NULL), -EINVAL);
	T_EXPECT_ERR(udax_io_drain(NULL), -EINVAL);
	T_EXPECT_ERR(udax_io_flush(NULL), -EINVAL);
	udax_io_req_free(NULL);
	T_EXPECT_ERR(udax_io_delete(NULL), 0);
	{
		struct udax_io *x = NULL;
		struct udax_io_opts b1 = { .queue_depth = UDAX_IO_MAX_DEPTH + 1 };
		struct udax_io_opts b2 = { .max_sqe_bytes = 1000 };
		struct udax_io_opts b3 = { .flags = 1u << 20 };
		struct udax_io_opts b4 = { .queue_depth = 4, .submit_batch = 5 };
		struct udax_io_opts b5 = { .reserved = { 1 } };

		T_EXPECT_ERR(udax_io_new(&b1, &x), -EINVAL);
		T_EXPECT_ERR(udax_io_new(&b2, &x), -EINVAL);
		T_EXPECT_ERR(udax_io_new(&b3, &x), -EINVAL);
		T_EXPECT_ERR(udax_io_new(&b4, &x), -EINVAL);
		T_EXPECT_ERR(udax_io_new(&b5, &x), -EINVAL);
		T_EXPECT_ERR(udax_io_new(NULL, NULL), -EINVAL);
		T_ASSERT(x == NULL);
	}
	udax_io_get_stats(io, &sb);
	T_ASSERT(sa.submitted == sb.submitted && sb.inflight == 0);
	T_ASSERT(pages_idle(di.pfn_first, di.nr_pages));

	T_EXPECT_ERR(udax_io_delete(&io), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	close(fd);
	close(ofd);
	unlink(path_in);
	unlink(path_out);
	rmdir(dir);
	printf("io_odirect: ok (%d callbacks)\n", ncb);
	return 0;
}
