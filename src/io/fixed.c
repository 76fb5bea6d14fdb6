/* SPDX-License-Identifier: MIT */
/*
 * Fixed buffers: device pages pinned for as long as they are registered
 * with the ring, and transfers (READ_FIXED / WRITE_FIXED) into them.
 *
 * The engine creates a sparse buffer table at udax_io_new() (kernel 5.19+)
 * and each registration fills one slot with IORING_REGISTER_BUFFERS_UPDATE,
 * so registering one buffer neither quiesces the ring nor touches the
 * others.  Two pins stand behind a registered buffer: udax's (the page
 * references, which keep the file system from freeing the blocks) and
 * the kernel's FOLL_LONGTERM pin of the memory behind the mapping.  The
 * slot is cleared before udax's pins go, and only once no transfer uses
 * it, so a DMA through the slot always lands in pages udax still holds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "io/internal.h"

int udax_io_register_fixed(struct udax_io *io, unsigned long pfn,
			   size_t npages, struct udax_io_fixed **out)
{
	struct udax_io_fixed *fx;
	struct iovec iov;
	unsigned slot;
	int ret;

	if (!io || !out)
		return io_err(-EINVAL, "udax_io_register_fixed: %s is NULL",
			      io ? "out" : "io");
	*out = NULL;
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_register_fixed");
	if (!npages)
		return io_err(-EINVAL, "udax_io_register_fixed: no pages");
	if (npages > IO_MAX_FIXED / UDAX_PAGE_SIZE)
		return io_err(-E2BIG, "udax_io_register_fixed: %zu pages, more than "
			      "the kernel's 1 GiB per fixed buffer", npages);
	if (!io->fixed_ok)
		return io_err(-EOPNOTSUPP, "udax_io_register_fixed: the kernel gave "
			      "no sparse buffer table (needs Linux 5.19)");
	fx = fault_calloc(1, sizeof(*fx));
	if (fx)
		fx->pages = fault_malloc(npages * sizeof(*fx->pages));
	if (!fx || !fx->pages) {
		free(fx);
		return io_err(-ENOMEM, "udax_io_register_fixed: out of memory");
	}
	ret = udax_pin_pages(pfn, npages, fx->pages);
	if (ret) {
		io_err(ret, "udax_io_register_fixed: cannot pin %zu pages at pfn "
		       "%#lx: %s", npages, pfn, udax_strerror(ret));
		goto err_free;
	}
	fx->io = io;
	fx->npages = npages;
	fx->size = npages * UDAX_PAGE_SIZE;
	fx->addr = udax_page_address(fx->pages[0]);
	if ((char *)udax_page_address(fx->pages[npages - 1]) !=
	    fx->addr + fx->size - UDAX_PAGE_SIZE) {
		ret = io_err(-EINVAL, "udax_io_register_fixed: pages are not "
			     "CPU-contiguous");
		goto err_unpin;
	}

	pthread_mutex_lock(&io->lock);
	for (slot = 0; slot < io->nr_fixed && io->slot_used[slot]; slot++)
		;
	if (slot == io->nr_fixed || io->dying) {
		pthread_mutex_unlock(&io->lock);
		ret = io_err(io->dying ? -ESHUTDOWN : -ENOSPC,
			     "udax_io_register_fixed: %s", io->dying ?
			     "engine is being deleted" : "all fixed slots are in use");
		goto err_unpin;
	}
	io->slot_used[slot] = 1;
	io->nfixed_live++;
	pthread_mutex_unlock(&io->lock);
	fx->slot = slot;

	iov.iov_base = fx->addr;
	iov.iov_len = fx->size;
	ret = io_uring_register_buffers_update_tag(&io->ring, slot, &iov, NULL, 1);
	if (ret != 1) {
		ret = ret < 0 ? ret : -EIO;
		io_err(ret, "udax_io_register_fixed: the kernel refused to register "
		       "%zu bytes at %p: %s%s", fx->size, (void *)fx->addr,
		       strerror(-ret), ret == -EFAULT ? " (a long-term pin of a "
		       "writable page-cache file mapping is not allowed)" :
		       ret == -EOPNOTSUPP ? " (fsdax memory cannot be pinned "
		       "long-term)" : ret == -ENOMEM ? " (RLIMIT_MEMLOCK?)" : "");
		pthread_mutex_lock(&io->lock);
		io->slot_used[slot] = 0;
		io->nfixed_live--;
		pthread_mutex_unlock(&io->lock);
		goto err_unpin;
	}
	*out = fx;
	return 0;

err_unpin:
	udax_unpin_pages(fx->pages, npages);
err_free:
	free(fx->pages);
	free(fx);
	return ret;
}

int udax_io_unregister_fixed(struct udax_io_fixed **fxp)
{
	struct udax_io_fixed *fx;
	struct udax_io *io;
	struct iovec none = { NULL, 0 };
	int ret;

	if (!fxp || !*fxp)
		return 0;
	fx = *fxp;
	io = fx->io;
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, "udax_io_unregister_fixed");
	if (io_current == io)
		return io_err(-EDEADLK, "udax_io_unregister_fixed: called from a "
			      "completion callback");
	pthread_mutex_lock(&io->lock);
	fx->dying = true;
	io_flush_locked(io);
	while (fx->inflight)
		pthread_cond_wait(&io->done_cond, &io->lock);
	pthread_mutex_unlock(&io->lock);

	/* An empty iovec clears a slot of a sparse table. */
	ret = io_uring_register_buffers_update_tag(&io->ring, fx->slot, &none,
						   NULL, 1);
	if (ret != 1) {
		/* The kernel may still reach the pages: keep our pins. */
		ret = ret < 0 ? ret : -EIO;
		return io_err(ret, "udax_io_unregister_fixed: clearing slot %u: %s",
			      fx->slot, strerror(-ret));
	}
	pthread_mutex_lock(&io->lock);
	io->slot_used[fx->slot] = 0;
	io->nfixed_live--;
	pthread_mutex_unlock(&io->lock);
	udax_unpin_pages(fx->pages, fx->npages);
	free(fx->pages);
	free(fx);
	*fxp = NULL;
	return 0;
}

/* Inherited across fork(): no buffer here (the memory is not mapped). */
void *udax_io_fixed_addr(const struct udax_io_fixed *fx)
{
	if (fx && fork_inherited(fx->io->fork_gen)) {
		io_err_inherited(fx->io, __func__);
		return NULL;
	}
	return fx ? fx->addr : NULL;
}

size_t udax_io_fixed_size(const struct udax_io_fixed *fx)
{
	if (fx && fork_inherited(fx->io->fork_gen)) {
		io_err_inherited(fx->io, __func__);
		return 0;
	}
	return fx ? fx->size : 0;
}

static int xfer_fixed(const char *fn, struct udax_io *io, bool write,
		      struct udax_io_fixed *fx, size_t buf_off, int fd,
		      int64_t fd_off, size_t len, udax_io_done_t done,
		      void *arg, struct udax_io_req **out)
{
	struct udax_io_req *r;

	if (out)
		*out = NULL;
	if (!io || !fx)
		return io_err(-EINVAL, "%s: %s is NULL", fn, io ? "fixed" : "io");
	if (fork_inherited(io->fork_gen))
		return io_err_inherited(io, fn);
	if (fx->io != io)
		return io_err(-EINVAL, "%s: fixed buffer of another engine", fn);
	if (fd < 0)
		return io_err(-EBADF, "%s: fd %d", fn, fd);
	if (fd_off < 0 && fd_off != UDAX_IO_CUR_POS)
		return io_err(-EINVAL, "%s: file offset %lld", fn, (long long)fd_off);
	if (!len || buf_off > fx->size || len > fx->size - buf_off)
		return io_err(-EINVAL, "%s: [%zu, +%zu) is %s the %zu-byte buffer", fn,
			      buf_off, len, len ? "outside" : "empty, inside", fx->size);
	if (len > io->max_sqe_bytes)
		return io_err(-E2BIG, "%s: %zu bytes, more than one SQE (%zu)", fn,
			      len, io->max_sqe_bytes);
	if (fd_off != UDAX_IO_CUR_POS && len > (uint64_t)INT64_MAX - (uint64_t)fd_off)
		return io_err(-EINVAL, "%s: offset %lld + %zu bytes overflows", fn,
			      (long long)fd_off, len);

	r = fault_calloc(1, sizeof(*r) + sizeof(struct io_sub));
	if (!r)
		return io_err(-ENOMEM, "%s: out of memory", fn);
	r->subs = (struct io_sub *)(r + 1);
	r->nsubs = 1;
	r->subs[0].req = r;
	r->subs[0].len = len;
	r->io = io;
	r->kind = REQ_FIXED;
	r->write = write;
	r->fd = fd;
	r->fd_off = fd_off;
	r->len = len;
	r->done = done;
	r->arg = arg;
	r->fixed = fx;
	r->fixed_addr = fx->addr + buf_off;
	/* The registration's pins cover the transfer; io_submit_req() takes
	 * a hold on the registration (fx->inflight) or refuses if dying. */
	return io_submit_req(fn, io, r, out);
}

int udax_io_read_fixed(struct udax_io *io, struct udax_io_fixed *fixed,
		       size_t buf_off, int fd, int64_t fd_off, size_t len,
		       udax_io_done_t done, void *arg, struct udax_io_req **req)
{
	return xfer_fixed("udax_io_read_fixed", io, false, fixed, buf_off, fd,
			  fd_off, len, done, arg, req);
}

int udax_io_write_fixed(struct udax_io *io, struct udax_io_fixed *fixed,
			size_t buf_off, int fd, int64_t fd_off, size_t len,
			udax_io_done_t done, void *arg, struct udax_io_req **req)
{
	return xfer_fixed("udax_io_write_fixed", io, true, fixed, buf_off, fd,
			  fd_off, len, done, arg, req);
}
