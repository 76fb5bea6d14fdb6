/* SPDX-License-Identifier: MIT */
/*
 * File-range transfers (udax_io_read_file / udax_io_write_file): an
 * O_DIRECT file read into a udax file range and verified through
 * udax_pread, the range written out and compared; the argument and
 * udax_pin errors, each leaving nothing pinned; a truncate (BREAK_WAIT)
 * issued while slow reads into the range are in flight returns only
 * after the last completion, with the pages idle; BREAK_NOWAIT during a
 * transfer gives -EBUSY and changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/io.h>

#include "io_util.h"

#define PG	4096
#define NPG	32
#define NSLOW	4		/* slow reads in flight */
#define SLOW_PG	4		/* pages each */

static char dir[] = "/var/tmp/udax-iofile-XXXXXX";

/* Every page of [off, off + len) of @f has exactly @want references
 * besides the probe's own pin. */
static void expect_refs(struct udax_file *f, uint64_t off, size_t len, unsigned want)
{
	struct udax_pin *pin;

	T_EXPECT_ERR(udax_pin(f, off, len, 0, &pin), 0);
	for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
		T_ASSERT(udax_page_ref_count(udax_pin_page_array(pin)[i]) == want + 1);
	T_EXPECT_ERR(udax_unpin(&pin), 0);
}

static _Atomic int completed;
static _Atomic int bad_results;

static void slow_done(struct udax_io_req *req, ssize_t res, void *arg)
{
	(void)req;
	(void)arg;
	if (res != SLOW_PG * PG)
		atomic_fetch_add(&bad_results, 1);
	atomic_fetch_add(&completed, 1);
}

static struct udax_file *tf;
static _Atomic int trunc_returned;
static int trunc_ret, completed_at_return;

static void *truncate_thread(void *arg)
{
	struct udax_break_opts wait = { UDAX_BREAK_WAIT, 0 };

	(void)arg;
	trunc_ret = udax_ftruncate_ex(tf, 0, &wait);
	/* Read before anything else can happen: every completion must
	 * already be counted when the break lets go. */
	completed_at_return = atomic_load(&completed);
	atomic_store(&trunc_returned, 1);
	return NULL;
}

int main(void)
{
	struct udax_io_opts o = { .queue_depth = 16, .flags = UDAX_IO_FULL };
	struct udax_break_opts nowait = { UDAX_BREAK_NOWAIT, 0 };
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f, *h;
	struct udax_io *io;
	struct udax_io_req *req;
	struct udax_io_slow *slow;
	struct udax_io_slow_opts so = { .rate = 4u << 20, .paused = true };
	struct udax_page *slow_pages[NSLOW * SLOW_PG];
	struct udax_stat st;
	struct udax_pin *pin;
	char path_in[64], path_out[64];
	uint8_t *b, *c;
	pthread_t t;
	int fd, ofd;

	alarm(120);	/* a hang is a failure */
	T_ASSERT(mkdtemp(dir));
	snprintf(path_in, sizeof(path_in), "%s/in", dir);
	snprintf(path_out, sizeof(path_out), "%s/out", dir);
	T_ASSERT((b = aligned_alloc(PG, NPG * PG)) && (c = aligned_alloc(PG, NPG * PG)));
	for (size_t i = 0; i < NPG * PG; i++)
		b[i] = io_pat(i);
	fd = io_direct_source("io_file", path_in, b, NPG * PG);
	ofd = io_direct_sink("io_file", path_out);

	T_EXPECT_ERR(udax_dev_open("mem:64M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	memset(c, 0, NPG * PG);
	T_EXPECT_ERR(udax_pwrite(f, c, NPG * PG, 0), NPG * PG);
	io = io_new_or_skip(&o);

	/* 1. Read 8 pages of the O_DIRECT file (from page 2) into file pages
	 * 4..11; the rest stays zero; nothing pinned afterwards. */
	T_EXPECT_ERR(udax_io_read_file(io, fd, 2 * PG, f, 4 * PG, 8 * PG, NULL, NULL,
				       &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), 8 * PG);
	udax_io_req_free(&req);
	T_EXPECT_ERR(udax_pread(f, c, NPG * PG, 0), NPG * PG);
	for (size_t i = 0; i < NPG * PG; i++) {
		if (i >= 4 * PG && i < 12 * PG)
			T_ASSERT(c[i] == io_pat(i - 2 * PG));
		else
			T_ASSERT(c[i] == 0);
	}
	expect_refs(f, 0, NPG * PG, 0);

	/* 2. Whole file in (one request), then out to another O_DIRECT file. */
	T_EXPECT_ERR(udax_io_read_file(io, fd, 0, f, 0, NPG * PG, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), NPG * PG);
	udax_io_req_free(&req);
	T_EXPECT_ERR(udax_pwrite(f, "XYZ", 3, 5 * PG + 7), 3);
	T_EXPECT_ERR(udax_io_write_file(io, ofd, 0, f, 0, NPG * PG, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), NPG * PG);
	udax_io_req_free(&req);
	T_EXPECT_ERR(udax_pread(f, c, NPG * PG, 0), NPG * PG);
	T_ASSERT(pread(ofd, b, NPG * PG, 0) == NPG * PG);
	T_ASSERT(memcmp(b, c, NPG * PG) == 0 && memcmp(b + 5 * PG + 7, "XYZ", 3) == 0);
	expect_refs(f, 0, NPG * PG, 0);

	/* 3. Errors: nothing submitted, nothing left pinned. */
	T_EXPECT_ERR(udax_io_read_file(io, fd, 0, f, 100, PG, NULL, NULL, &req), -EINVAL);
	T_ASSERT(req == NULL);
	T_EXPECT_ERR(udax_io_read_file(io, fd, 0, f, 0, PG + 1, NULL, NULL, NULL), -EINVAL);
	T_EXPECT_ERR(udax_io_read_file(io, fd, 0, f, 0, 0, NULL, NULL, NULL), -EINVAL);
	T_EXPECT_ERR(udax_io_write_file(io, ofd, 0, f, (NPG - 1) * PG, 2 * PG, NULL,
					NULL, NULL), -EINVAL);	/* past EOF */
	T_EXPECT_ERR(udax_io_read_file(io, -1, 0, f, 0, PG, NULL, NULL, NULL), -EBADF);
	T_EXPECT_ERR(udax_io_read_file(NULL, fd, 0, f, 0, PG, NULL, NULL, NULL), -EINVAL);
	T_EXPECT_ERR(udax_open(fs, "/hole", O_CREAT | O_RDWR, 0644, &h), 0);
	T_EXPECT_ERR(udax_ftruncate(h, 4 * PG), 0);
	T_EXPECT_ERR(udax_io_read_file(io, fd, 0, h, 0, 4 * PG, NULL, NULL, NULL), -ENODATA);
	T_EXPECT_ERR(udax_close(&h), 0);
	expect_refs(f, 0, NPG * PG, 0);

	/* 4. Slow reads in flight into pages 0..15: NOWAIT refuses and
	 * changes nothing, WAIT returns only after the last completion. */
	T_EXPECT_ERR(udax_io_slow_new(&so, &slow), 0);
	T_EXPECT_ERR(udax_pin(f, 0, NSLOW * SLOW_PG * PG, 0, &pin), 0);
	memcpy(slow_pages, udax_pin_page_array(pin), sizeof(slow_pages));
	T_EXPECT_ERR(udax_unpin(&pin), 0);
	for (int i = 0; i < NSLOW; i++)
		T_EXPECT_ERR(udax_io_read_file(io, udax_io_slow_fd(slow), UDAX_IO_CUR_POS, f,
					       (uint64_t)i * SLOW_PG * PG, SLOW_PG * PG,
					       slow_done, NULL, NULL), 0);
	expect_refs(f, 0, NSLOW * SLOW_PG * PG, 1);

	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &nowait), -EBUSY);
	T_EXPECT_ERR(udax_fstat(f, &st), 0);
	T_ASSERT(st.size == NPG * PG);
	T_EXPECT_ERR(udax_pread(f, b, NPG * PG, 0), NPG * PG);
	T_ASSERT(memcmp(b, c, NPG * PG) == 0);	/* the source is paused */

	tf = f;
	pthread_create(&t, NULL, truncate_thread, NULL);
	/* With the pins held and nothing flowing the truncate cannot
	 * return; the pause only gives it the chance to go wrong. */
	usleep(50 * 1000);
	T_ASSERT(!atomic_load(&trunc_returned));
	T_ASSERT(atomic_load(&completed) == 0);
	udax_io_slow_resume(slow);
	pthread_join(t, NULL);
	T_EXPECT_ERR(trunc_ret, 0);
	T_ASSERT(completed_at_return == NSLOW);
	T_ASSERT(atomic_load(&bad_results) == 0);
	for (size_t i = 0; i < NSLOW * SLOW_PG; i++)
		T_ASSERT(udax_page_ref_count(slow_pages[i]) == 0);
	T_EXPECT_ERR(udax_fstat(f, &st), 0);
	T_ASSERT(st.size == 0);
	T_EXPECT_ERR(udax_io_read_file(io, fd, 0, f, 0, PG, NULL, NULL, NULL), -EINVAL);

	T_EXPECT_ERR(udax_io_drain(io), 0);
	T_EXPECT_ERR(udax_io_delete(&io), 0);
	udax_io_slow_delete(&slow);
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	close(fd);
	close(ofd);
	unlink(path_in);
	unlink(path_out);
	rmdir(dir);
	free(b);
	free(c);
	printf("io_file: ok\n");
	return 0;
}
