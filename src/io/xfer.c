/* SPDX-License-Identifier: MIT */
/*
 * Transfers between a file descriptor and device pages: pin, build the
 * iovecs, split into SQEs, hand to the engine.
 *
 * Pages whose CPU addresses follow each other share an iovec, so a pfn
 * range (always CPU-contiguous inside its range) is one iovec per SQE.
 * An SQE ends at max_sqe_bytes or after IO_MAX_IOV iovecs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/internal.h"

/*
 * Lay @pages out as SQEs: count them (@r NULL) or fill @r's subs and
 * iovecs.  Returns the number of iovecs; *@nsubs the number of SQEs.
 */
static size_t layout(struct udax_page **pages, size_t n, size_t max_bytes,
		     struct udax_io_req *r, unsigned *nsubs)
{
	size_t niov = 0, sub_bytes = 0, sub_iov = 0;
	unsigned ns = 0;
	char *end = NULL;		/* one past the last iovec */

	for (size_t i = 0; i < n; i++) {
		char *a = udax_page_address(pages[i]);
		bool new_sub = ns == 0 || sub_bytes + UDAX_PAGE_SIZE > max_bytes;

		if (!new_sub && a == end) {
			if (r)
				r->iov[niov - 1].iov_len += UDAX_PAGE_SIZE;
		} else {
			if (!new_sub && sub_iov == IO_MAX_IOV)
				new_sub = true;
			if (new_sub) {
				if (r) {
					struct io_sub *s = &r->subs[ns];

					s->req = r;
					s->iov = &r->iov[niov];
					s->start = (uint64_t)i * UDAX_PAGE_SIZE;
				}
				ns++;
				sub_bytes = 0;
				sub_iov = 0;
			}
			if (r) {
				r->iov[niov].iov_base = a;
				r->iov[niov].iov_len = UDAX_PAGE_SIZE;
				r->subs[ns - 1].niov++;
			}
			niov++;
			sub_iov++;
		}
		sub_bytes += UDAX_PAGE_SIZE;
		if (r)
			r->subs[ns - 1].len += UDAX_PAGE_SIZE;
		end = a + UDAX_PAGE_SIZE;
	}
	*nsubs = ns;
	return niov;
}

static int check_common(const char *fn, struct udax_io *io, int fd,
			int64_t fd_off, size_t len)
{
	if (!io)
		return io_err(-EINVAL, "%s: io is NULL", fn);
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, fn);
	if (fd < 0)
		return io_err(-EBADF, "%s: fd %d", fn, fd);
	if (fd_off < 0 && fd_off != UDAX_IO_CUR_POS)
		return io_err(-EINVAL, "%s: file offset %lld", fn, (long long)fd_off);
	if (len == 0)
		return io_err(-EINVAL, "%s: nothing to transfer", fn);
	if (fd_off != UDAX_IO_CUR_POS && len > (uint64_t)INT64_MAX - (uint64_t)fd_off)
		return io_err(-EINVAL, "%s: offset %lld + %zu bytes overflows",
			      fn, (long long)fd_off, len);
	return 0;
}

/*
 * Build and submit a request over @pages (pinned by the caller of this
 * function).  On error nothing is submitted and the pins stay with the
 * caller.
 */
static int submit_pages(const char *fn, struct udax_io *io, bool write,
			enum req_kind kind, int fd, int64_t fd_off,
			struct udax_page **pages, size_t n,
			struct udax_io_buf *buf, udax_io_done_t done,
			void *arg, struct udax_io_req **out)
{
	struct udax_io_req *r;
	unsigned nsubs;
	size_t niov = layout(pages, n, io->max_sqe_bytes, NULL, &nsubs);

	if (nsubs > io->depth)
		return io_err(-E2BIG, "%s: %zu pages need %u SQEs, more than the "
			      "queue depth %u", fn, n, nsubs, io->depth);
	if (nsubs > 1 && fd_off == UDAX_IO_CUR_POS)
		return io_err(-EINVAL, "%s: a transfer at the current position must "
			      "fit one SQE (%zu pages need %u)", fn, n, nsubs);
	r = fault_calloc(1, sizeof(*r) + nsubs * sizeof(struct io_sub) +
		      niov * sizeof(struct iovec));
	if (!r)
		return io_err(-ENOMEM, "%s: out of memory", fn);
	r->subs = (struct io_sub *)(r + 1);
	r->iov = (struct iovec *)(r->subs + nsubs);
	r->nsubs = nsubs;
	r->niov = (unsigned)niov;
	layout(pages, n, io->max_sqe_bytes, r, &nsubs);
	r->io = io;
	r->kind = kind;
	r->write = write;
	r->fd = fd;
	r->fd_off = fd_off;
	r->len = n * UDAX_PAGE_SIZE;
	r->done = done;
	r->arg = arg;
	r->pages = pages;
	r->nr_pages = n;
	r->buf = buf;
	return io_submit_req(fn, io, r, out);
}

static int xfer_pfns(const char *fn, struct udax_io *io, bool write, int fd,
		     int64_t fd_off, unsigned long pfn, size_t npages,
		     udax_io_done_t done, void *arg, struct udax_io_req **out)
{
	struct udax_page **pages;
	int ret;

	if (out)
		*out = NULL;
	if (npages > SIZE_MAX / UDAX_PAGE_SIZE)
		return io_err(-EINVAL, "%s: %zu pages", fn, npages);
	ret = check_common(fn, io, fd, fd_off, npages * UDAX_PAGE_SIZE);
	if (ret)
		return ret;
	pages = fault_malloc(npages * sizeof(*pages));
	if (!pages)
		return io_err(-ENOMEM, "%s: out of memory", fn);
	/* The pin rule: references before the SQE exists. */
	ret = udax_pin_pages(pfn, npages, pages);
	if (ret) {
		free(pages);
		return io_err(ret, "%s: cannot pin %zu pages at pfn %#lx: %s%s", fn,
			      npages, pfn, udax_strerror(ret),
			      ret == -EOPNOTSUPP ? " (a LIMITED range has no page "
			      "descriptors: DMA to it cannot be tracked)" : "");
	}
	ret = submit_pages(fn, io, write, REQ_PFNS, fd, fd_off, pages, npages,
			   NULL, done, arg, out);
	if (ret) {
		udax_unpin_pages(pages, npages);
		free(pages);
	}
	return ret;
}

int udax_io_read_pfns(struct udax_io *io, int fd, int64_t fd_off,
		      unsigned long pfn, size_t npages, udax_io_done_t done,
		      void *arg, struct udax_io_req **req)
{
	return xfer_pfns("udax_io_read_pfns", io, false, fd, fd_off, pfn,
			 npages, done, arg, req);
}

int udax_io_write_pfns(struct udax_io *io, int fd, int64_t fd_off,
		       unsigned long pfn, size_t npages, udax_io_done_t done,
		       void *arg, struct udax_io_req **req)
{
	return xfer_pfns("udax_io_write_pfns", io, true, fd, fd_off, pfn,
			 npages, done, arg, req);
}

static int xfer_buf(const char *fn, struct udax_io *io, bool write, int fd,
		    int64_t fd_off, struct udax_io_buf *buf,
		    udax_io_done_t done, void *arg, struct udax_io_req **out)
{
	int ret;

	if (out)
		*out = NULL;
	if (!buf || !buf->pages || !buf->nr_pages)
		return io_err(-EINVAL, "%s: %s", fn, !buf ? "buf is NULL" :
			      !buf->pages ? "buf->pages is NULL" : "buf has no pages");
	if (buf->nr_pages > SIZE_MAX / UDAX_PAGE_SIZE)
		return io_err(-EINVAL, "%s: %zu pages", fn, buf->nr_pages);
	ret = check_common(fn, io, fd, fd_off, buf->nr_pages * UDAX_PAGE_SIZE);
	if (ret)
		return ret;
	for (size_t i = 0; i < buf->nr_pages; i++) {
		struct udax_page *p = buf->pages[i];

		if (!p)
			return io_err(-EINVAL, "%s: page %zu is NULL", fn, i);
		/* The caller's pin must be there: we only borrow it. */
		if (udax_page_ref_count(p) == 0)
			return io_err(-EINVAL, "%s: page %zu (pfn %#lx) is not pinned",
				      fn, i, udax_page_to_pfn(p));
		if (!udax_page_address(p))
			return io_err(-EFAULT, "%s: page %zu (pfn %#lx) has no CPU address",
				      fn, i, udax_page_to_pfn(p));
	}
	return submit_pages(fn, io, write, REQ_BUF, fd, fd_off, buf->pages,
			    buf->nr_pages, buf, done, arg, out);
}

int udax_io_read_buf(struct udax_io *io, int fd, int64_t fd_off,
		     struct udax_io_buf *buf, udax_io_done_t done, void *arg,
		     struct udax_io_req **req)
{
	return xfer_buf("udax_io_read_buf", io, false, fd, fd_off, buf, done,
			arg, req);
}

int udax_io_write_buf(struct udax_io *io, int fd, int64_t fd_off,
		      struct udax_io_buf *buf, udax_io_done_t done, void *arg,
		      struct udax_io_req **req)
{
	return xfer_buf("udax_io_write_buf", io, true, fd, fd_off, buf, done,
			arg, req);
}
