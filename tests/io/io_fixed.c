/* SPDX-License-Identifier: MIT */
/*
 * Fixed buffers over device pages: register (pins), READ_FIXED from an
 * O_DIRECT file into them and verify, WRITE_FIXED out and read back,
 * unregister waits for a transfer in flight, then the pages are idle.
 * Reports what the kernel accepts: a "mem:" device (memfd, MAP_SHARED)
 * and a "file:" device on /tmp (ext4, MAP_SHARED).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/io.h>

#include "io_util.h"

#define PG	4096
#define NPG	16

static char dir[] = "/tmp/udax-io-XXXXXX";
static char path_in[64], path_out[64], path_dev[64];

static unsigned refs(struct udax_dev *dev, unsigned long pfn)
{
	return udax_page_ref_count(udax_pgmap_pfn_to_page(udax_dev_pgmap(dev), pfn));
}

static struct udax_io_fixed *ufx;
static _Atomic int unreg_returned;
static int unreg_ret;

static void *unregister_thread(void *arg)
{
	(void)arg;
	unreg_ret = udax_io_unregister_fixed(&ufx);
	unreg_returned = 1;
	return NULL;
}

int main(void)
{
	struct udax_dev *dev, *ldev, *fdev;
	struct udax_dev_info di, ldi, fdi;
	struct udax_io *io, *io2;
	struct udax_io_opts o = { .queue_depth = 8, .nr_fixed = 2,
				  .max_sqe_bytes = 8 * PG };
	struct udax_io_fixed *fx, *fx2, *fx3;
	struct udax_io_req *req;
	unsigned long pfn;
	uint8_t *b;
	int fd, ofd, ret;

	T_ASSERT(mkdtemp(dir));
	snprintf(path_in, sizeof(path_in), "%s/in", dir);
	snprintf(path_out, sizeof(path_out), "%s/out", dir);
	snprintf(path_dev, sizeof(path_dev), "%s/dev", dir);
	T_ASSERT((b = malloc(NPG * PG)));
	for (size_t i = 0; i < NPG * PG; i++)
		b[i] = io_pat(i);
	fd = io_direct_source("io_fixed", path_in, b, NPG * PG);
	ofd = io_direct_sink("io_fixed", path_out);

	T_EXPECT_ERR(udax_dev_open("mem:8M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_info(dev, &di), 0);
	io = io_new_or_skip(&o);
	pfn = di.pfn_first + 64;

	/* Register: our pins, and the kernel's registration of a memfd
	 * MAP_SHARED mapping. */
	ret = udax_io_register_fixed(io, pfn, NPG, &fx);
	printf("io_fixed: kernel registration of a mem: device (memfd, MAP_SHARED): %s\n",
	       ret ? udax_io_last_error() : "accepted");
	T_EXPECT_ERR(ret, 0);
	T_ASSERT(udax_io_fixed_addr(fx) == (char *)di.addr + (pfn - di.pfn_first) * PG);
	T_ASSERT(udax_io_fixed_size(fx) == NPG * PG);
	for (int i = 0; i < NPG; i++)
		T_ASSERT(refs(dev, pfn + i) == 1);

	/* READ_FIXED 8 pages at buffer offset 4 pages. */
	char *a = udax_io_fixed_addr(fx);

	memset(a, 0, NPG * PG);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 4 * PG, fd, 2 * PG, 8 * PG, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 8 * PG);
	udax_io_req_free(&req);
	for (size_t i = 0; i < 8 * PG; i++)
		T_ASSERT((uint8_t)a[4 * PG + i] == io_pat(2 * PG + i));
	for (size_t i = 0; i < 4 * PG; i++)
		T_ASSERT(a[i] == 0);
	/* WRITE_FIXED all of it out (two SQE-sized transfers), read back. */
	for (size_t i = 0; i < NPG * PG; i++)
		a[i] = (char)io_pat(i + 12345);
	T_EXPECT_ERR(udax_io_write_fixed(io, fx, 0, ofd, 0, 8 * PG, NULL, NULL, NULL), 0);
	T_EXPECT_ERR(udax_io_write_fixed(io, fx, 8 * PG, ofd, 8 * PG, 8 * PG, NULL, NULL, NULL), 0);
	T_EXPECT_ERR(udax_io_drain(io), 0);
	{
		int bfd = open(path_out, O_RDONLY);

		T_ASSERT(bfd >= 0 && pread(bfd, b, NPG * PG, 0) == NPG * PG);
		for (size_t i = 0; i < NPG * PG; i++)
			T_ASSERT(b[i] == io_pat(i + 12345));
		close(bfd);
	}
	for (int i = 0; i < NPG; i++)
		T_ASSERT(refs(dev, pfn + i) == 1);	/* transfers pinned nothing more */

	/* Bad arguments. */
	T_EXPECT_ERR(udax_io_read_fixed(io, NULL, 0, fd, 0, PG, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, NPG * PG, fd, 0, PG, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 0, fd, 0, 0, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 4096, fd, 0, SIZE_MAX, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 0, fd, 0, NPG * PG, NULL, NULL, &req), -E2BIG);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 0, -3, 0, PG, NULL, NULL, &req), -EBADF);
	T_EXPECT_ERR(udax_io_register_fixed(io, pfn, 0, &fx2), -EINVAL);
	T_EXPECT_ERR(udax_io_register_fixed(NULL, pfn, 1, &fx2), -EINVAL);
	T_EXPECT_ERR(udax_io_register_fixed(io, 3, 1, &fx2), -ENOENT);
	T_EXPECT_ERR(udax_io_register_fixed(io, pfn, (1ul << 30) / PG + 1, &fx2), -E2BIG);
	T_EXPECT_ERR(udax_io_new(NULL, &io2), 0);
	T_EXPECT_ERR(udax_io_read_fixed(io2, fx, 0, fd, 0, PG, NULL, NULL, &req), -EINVAL);
	T_EXPECT_ERR(udax_io_delete(&io2), 0);
	/* Slots: two in this engine. */
	T_EXPECT_ERR(udax_io_register_fixed(io, pfn + 100, 1, &fx2), 0);
	T_EXPECT_ERR(udax_io_register_fixed(io, pfn + 200, 1, &fx3), -ENOSPC);
	T_ASSERT(fx3 == NULL && refs(dev, pfn + 200) == 0);
	T_EXPECT_ERR(udax_io_unregister_fixed(&fx2), 0);
	T_ASSERT(fx2 == NULL && refs(dev, pfn + 100) == 0);
	/* A LIMITED range cannot be pinned, so cannot be registered. */
	{
		struct udax_dev_opts lo = { .pgmap_flags = UDAX_PGMAP_LIMITED };

		T_EXPECT_ERR(udax_dev_open("mem:4M", &lo, &ldev), 0);
		T_EXPECT_ERR(udax_dev_info(ldev, &ldi), 0);
		T_EXPECT_ERR(udax_io_register_fixed(io, ldi.pfn_first, 4, &fx2), -EOPNOTSUPP);
		T_EXPECT_ERR(udax_dev_close(&ldev, 0), 0);
	}
	/* The engine refuses to go while a buffer is registered. */
	T_EXPECT_ERR(udax_io_delete(&io), -EBUSY);
	T_ASSERT(io != NULL);

	/* Unregister waits for a transfer in flight: a READ_FIXED from an
	 * empty pipe stays in flight until we write. */
	int p[2], devnull = open("/dev/null", O_RDONLY);
	pthread_t t;
	char data[PG];

	T_ASSERT(pipe(p) == 0 && devnull >= 0);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 0, p[0], UDAX_IO_CUR_POS, PG, NULL, NULL, &req), 0);
	ufx = fx;
	pthread_create(&t, NULL, unregister_thread, NULL);
	/* New transfers are refused once unregistering began. */
	for (;;) {
		ret = udax_io_read_fixed(io, fx, PG, devnull, 0, PG, NULL, NULL, NULL);
		if (ret == -ESHUTDOWN)
			break;
		T_EXPECT_ERR(ret, 0);
		sched_yield();
	}
	T_ASSERT(!unreg_returned && !udax_io_req_done(req, NULL));
	for (int i = 0; i < NPG; i++)
		T_ASSERT(refs(dev, pfn + i) == 1);
	memset(data, 'q', sizeof(data));
	T_ASSERT(write(p[1], data, PG) == PG);
	pthread_join(t, NULL);
	T_EXPECT_ERR(unreg_ret, 0);
	T_ASSERT(ufx == NULL);
	T_EXPECT_ERR(udax_io_wait(req), PG);
	udax_io_req_free(&req);
	T_ASSERT(a[0] == 'q' && a[PG - 1] == 'q');
	for (int i = 0; i < NPG; i++)
		T_ASSERT(refs(dev, pfn + i) == 0);	/* idle afterwards */
	close(p[0]);
	close(p[1]);
	close(devnull);

	/* What the kernel says about a file: device on /tmp (a page-cache
	 * file, MAP_SHARED): reported, not asserted beyond "clean". */
	struct udax_dev_opts fo = { .flags = UDAX_DEV_CREATE | UDAX_DEV_NO_PMEM2,
				    .size = 4u << 20 };
	char spec[80];

	snprintf(spec, sizeof(spec), "file:%s", path_dev);
	T_EXPECT_ERR(udax_dev_open(spec, &fo, &fdev), 0);
	T_EXPECT_ERR(udax_dev_info(fdev, &fdi), 0);
	ret = udax_io_register_fixed(io, fdi.pfn_first, 4, &fx2);
	printf("io_fixed: kernel registration of a file: device on /tmp (%s): %s\n",
	       fdi.durability_desc ? "page cache, MAP_SHARED" : "?",
	       ret ? udax_io_last_error() : "accepted");
	T_ASSERT(ret == 0 || ret == -EFAULT || ret == -EOPNOTSUPP);
	if (ret == 0)
		T_EXPECT_ERR(udax_io_unregister_fixed(&fx2), 0);
	for (int i = 0; i < 4; i++)
		T_ASSERT(refs(fdev, fdi.pfn_first + i) == 0);
	T_EXPECT_ERR(udax_dev_close(&fdev, 0), 0);

	T_EXPECT_ERR(udax_io_delete(&io), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	free(b);
	close(fd);
	close(ofd);
	unlink(path_in);
	unlink(path_out);
	unlink(path_dev);
	rmdir(dir);
	return 0;
}
