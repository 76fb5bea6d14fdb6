/* SPDX-License-Identifier: MIT */
/*
 * fork() with the io engine busy.  A read from a paused slow source into
 * a file range is in flight, a fixed buffer and a leased fixed range are
 * registered, and other threads write, pin, map views and run transfers
 * while the main thread forks again and again.  Every child:
 *  - gets -ESTALE (message: open the device anew) from every call on the
 *    inherited engine, request, fixed buffer, leased range and slow
 *    source; udax_io_req_done() says done with -ESTALE, so a poll loop
 *    ends; accessors return nothing;
 *  - faults on a store into the fixed buffer and the device.
 * The parent is not affected: the transfer in flight completes with the
 * source's bytes in the file, the leased range writes out, the threads'
 * data is intact and fsck finds nothing.  Run under ASan and TSan.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <udax/fsck.h>
#include <udax/io.h>

#include "fork_util.h"
#include "fs_util.h"
#include "io_util.h"

#define PG	4096
#define SLOW	(16 * PG)	/* the transfer in flight across the forks */
#define NFORK	20

static char dir[] = "/var/tmp/udax-forkio-XXXXXX";
static struct udax_dev *dev;
static struct udax_fs *fs;
static struct udax_io *io;
static struct udax_io_slow *slow;
static struct udax_file *f;
static struct udax_io_req *req;
static struct udax_io_fixed *fx;
static struct udax_io_leased *lf;
static char *dev_addr;
static int src_fd, sink_fd;

#define IO_STALE(expr)	FORK_STALE(expr, udax_io_last_error())

/* Written blocks (transfers refuse holes and unwritten extents). */
static void zero_fill(struct udax_file *zf, size_t len)
{
	static const char z[PG];

	for (size_t o = 0; o < len; o += PG)
		T_ASSERT(udax_pwrite(zf, z, PG, o) == PG);
}

/* ---- the child ------------------------------------------------------------ */

static void child_io_calls(void)
{
	struct udax_io_buf buf = { 0 };
	struct udax_io_stats st;
	struct udax_io_leased *lf2 = NULL, *lfc = lf;
	struct udax_io_fixed *fx2 = NULL, *fxc = fx;
	struct udax_io_req *r2 = NULL, *rc = req;
	struct udax_io_slow *sc = slow;
	struct udax_io *ioc = io;
	struct udax_page *pg[1];
	uint64_t off;
	ssize_t res = 0;

	IO_STALE(udax_io_wait(req));
	FORK_ASSERT(udax_io_req_done(req, &res) && res == -ESTALE);
	FORK_ASSERT(udax_io_req_bytes(req) == 0);
	IO_STALE(udax_io_cancel(io, req));
	udax_io_req_free(&rc);
	FORK_ASSERT(rc == req);
	IO_STALE(udax_io_flush(io));
	IO_STALE(udax_io_drain(io));
	memset(&st, 0xff, sizeof(st));
	udax_io_get_stats(io, &st);
	FORK_ASSERT(st.queue_depth == 0);
	IO_STALE(udax_io_read_pfns(io, src_fd, 0, 0, 1, NULL, NULL, &r2));
	IO_STALE(udax_io_write_pfns(io, sink_fd, 0, 0, 1, NULL, NULL, &r2));
	pg[0] = NULL;
	buf.pages = pg;
	buf.nr_pages = 1;
	IO_STALE(udax_io_read_buf(io, src_fd, 0, &buf, NULL, NULL, &r2));
	IO_STALE(udax_io_write_buf(io, sink_fd, 0, &buf, NULL, NULL, &r2));
	IO_STALE(udax_io_read_file(io, src_fd, 0, f, 0, PG, NULL, NULL, &r2));
	IO_STALE(udax_io_write_file(io, sink_fd, 0, f, 0, PG, NULL, NULL, &r2));
	FORK_ASSERT(r2 == NULL);
	IO_STALE(udax_io_register_fixed(io, 0, 1, &fx2));
	FORK_ASSERT(fx2 == NULL);
	FORK_ASSERT(udax_io_fixed_addr(fx) == NULL);
	FORK_ASSERT(udax_io_fixed_size(fx) == 0);
	IO_STALE(udax_io_read_fixed(io, fx, 0, src_fd, 0, PG, NULL, NULL, &r2));
	IO_STALE(udax_io_write_fixed(io, fx, 0, sink_fd, 0, PG, NULL, NULL, &r2));
	IO_STALE(udax_io_unregister_fixed(&fxc));
	FORK_ASSERT(fxc == fx);
	IO_STALE(udax_io_lease_fixed(io, f, 0, PG, -1, NULL, NULL, &lf2));
	FORK_ASSERT(lf2 == NULL);
	FORK_ASSERT(udax_io_leased_revoked(lf));
	FORK_ASSERT(udax_io_leased_count(lf) == 0);
	FORK_ASSERT(udax_io_leased_run(lf, 0, &off) == 0);
	IO_STALE(udax_io_leased_read(lf, 8 * PG * 4, src_fd, 0, PG, NULL, NULL, &r2));
	IO_STALE(udax_io_leased_write(lf, 8 * PG * 4, sink_fd, 0, PG, NULL, NULL, &r2));
	IO_STALE(udax_io_lease_fixed_release(&lfc));
	FORK_ASSERT(lfc == lf);
	udax_io_slow_delete(&sc);
	FORK_ASSERT(sc == slow);
	IO_STALE(udax_io_delete(&ioc));
	FORK_ASSERT(ioc == io);
}

/* Is any io_uring ring (SQ, CQ, SQEs) mapped in this process? */
static bool ring_mapped(void)
{
	char line[512];
	bool found = false;
	FILE *m = fopen("/proc/self/maps", "r");

	FORK_ASSERT(m);
	while (fgets(line, sizeof(line), m))
		if (strstr(line, "io_uring"))
			found = true;
	fclose(m);
	return found;
}

static void child_full(void *arg)
{
	(void)arg;
	FORK_ASSERT(!ring_mapped());	/* DONTFORK: the parent's SQ is safe */
	child_io_calls();
	FORK_ASSERT(fork_store_faults(dev_addr));
	FORK_ASSERT(fork_store_faults(dev_addr + SLOW));
}

/* The quick child of the loop: a few calls while the threads run. */
static void child_quick(void *arg)
{
	char b[PG] = { 0 };

	(void)arg;
	IO_STALE(udax_io_flush(io));
	IO_STALE(udax_io_read_file(io, src_fd, 0, f, 0, PG, NULL, NULL, NULL));
	FORK_STALE(udax_pwrite(f, b, PG, 0), udax_fs_last_error());
	FORK_ASSERT(fork_store_faults(dev_addr));
	/* A device of its own: registers a range and waits for RCU grace
	 * periods, while the parent's threads were in lookups at fork time. */
	{
		struct udax_dev *d = NULL;

		FORK_ASSERT(udax_dev_open("mem:4M", NULL, &d) == 0);
		FORK_ASSERT(udax_dev_close(&d, 0) == 0);
	}
}

/* ---- the parent's threads ------------------------------------------------- */

static _Atomic int stop;

static uint8_t pat(unsigned t, uint64_t it, uint64_t i)
{
	return (uint8_t)(t * 31 + it * 7 + i * 13);
}

/* Rewrite a file of 8 pages, each pass with a new pattern. */
static void *writer(void *arg)
{
	unsigned t = (unsigned)(uintptr_t)arg;
	struct udax_file *wf;
	char path[16], b[8 * PG], got[8 * PG];
	uint64_t it = 0;

	snprintf(path, sizeof(path), "/w%u", t);
	FS_OK(udax_open(fs, path, O_RDWR | O_CREAT, 0644, &wf));
	do {
		it++;
		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (char)pat(t, it, i);
		T_ASSERT(udax_pwrite(wf, b, sizeof(b), 0) == (ssize_t)sizeof(b));
		T_ASSERT(udax_pread(wf, got, sizeof(got), 0) == (ssize_t)sizeof(got));
		T_ASSERT(memcmp(got, b, sizeof(b)) == 0);
	} while (!atomic_load(&stop));
	FS_OK(udax_close(&wf));
	return NULL;
}

/* Pin, map a view, store through it, check through read, unmap, unpin. */
static void *viewer(void *arg)
{
	struct udax_file *vf;
	struct udax_view *v;
	struct udax_pin *p;
	char got[PG];
	void *a;
	uint64_t it = 0;

	(void)arg;
	FS_OK(udax_open(fs, "/v", O_RDWR | O_CREAT, 0644, &vf));
	zero_fill(vf, 4 * PG);
	do {
		it++;
		FS_OK(udax_pin(vf, 0, 4 * PG, 0, &p));
		FS_OK(udax_view_map(vf, 0, 4 * PG, UDAX_VIEW_WRITE, &v, &a));
		memset((char *)a + PG, (int)(it & 0xff), PG);
		T_ASSERT(udax_pread(vf, got, PG, PG) == PG);
		T_ASSERT((uint8_t)got[0] == (uint8_t)it && (uint8_t)got[PG - 1] == (uint8_t)it);
		FS_OK(udax_view_unmap(&v));
		FS_OK(udax_unpin(&p));
	} while (!atomic_load(&stop));
	FS_OK(udax_close(&vf));
	return NULL;
}

/* File-range transfers from the source file and back out. */
static void *mover(void *arg)
{
	struct udax_file *mf;
	struct udax_io_req *r;
	char got[8 * PG], want[8 * PG];

	(void)arg;
	FS_OK(udax_open(fs, "/m", O_RDWR | O_CREAT, 0644, &mf));
	zero_fill(mf, 8 * PG);
	T_ASSERT(pread(src_fd, want, sizeof(want), 0) == (ssize_t)sizeof(want));
	do {
		T_EXPECT_ERR(udax_io_read_file(io, src_fd, 0, mf, 0, 8 * PG, NULL,
					       NULL, &r), 0);
		T_EXPECT_ERR(udax_io_wait(r), 8 * PG);
		udax_io_req_free(&r);
		T_ASSERT(udax_pread(mf, got, sizeof(got), 0) == (ssize_t)sizeof(got));
		T_ASSERT(memcmp(got, want, sizeof(want)) == 0);
	} while (!atomic_load(&stop));
	FS_OK(udax_close(&mf));
	return NULL;
}

int main(void)
{
	struct udax_io_slow_opts so = { .rate = 1u << 30, .total = SLOW, .seed = 7,
					.paused = true };
	struct udax_fsck_report rep;
	struct udax_dev_info di;
	struct udax_pin *fxpin;
	pthread_t th[4];
	char path[128], b[SLOW], got[SLOW];
	uint64_t off;

	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/src", dir);
	src_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (char)io_pat(i);
	T_ASSERT(src_fd >= 0 && pwrite(src_fd, b, sizeof(b), 0) == (ssize_t)sizeof(b));
	unlink(path);
	snprintf(path, sizeof(path), "%s/sink", dir);
	sink_fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T_ASSERT(sink_fd >= 0);
	unlink(path);

	/* FULL: the pipe returns what it has; keep the read in flight. */
	io = io_new_or_skip(&(struct udax_io_opts){ .flags = UDAX_IO_FULL });
	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_dev_info(dev, &di));
	dev_addr = di.addr;
	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &f));
	zero_fill(f, 4 * SLOW);

	/* In flight across every fork: a read that waits for the source. */
	T_EXPECT_ERR(udax_io_slow_new(&so, &slow), 0);
	T_EXPECT_ERR(udax_io_read_file(io, udax_io_slow_fd(slow), UDAX_IO_CUR_POS,
				       f, 0, SLOW, NULL, NULL, &req), 0);
	/* A fixed buffer over a pinned page, a leased range. */
	FS_OK(udax_pin(f, SLOW, PG, 0, &fxpin));
	T_EXPECT_ERR(udax_io_register_fixed(io, udax_page_to_pfn(
		udax_pin_page_array(fxpin)[0]), 1, &fx), 0);
	T_EXPECT_ERR(udax_io_lease_fixed(io, f, 2 * SLOW, SLOW, -1, NULL, NULL, &lf), 0);

	T_ASSERT(ring_mapped());
	T_EXPECT_ERR(fork_run(child_full, NULL), 0);
	T_ASSERT(!udax_io_req_done(req, NULL));

	pthread_create(&th[0], NULL, writer, (void *)1);
	pthread_create(&th[1], NULL, writer, (void *)2);
	pthread_create(&th[2], NULL, viewer, NULL);
	pthread_create(&th[3], NULL, mover, NULL);
	for (int i = 0; i < NFORK; i++) {
		T_EXPECT_ERR(fork_run(child_quick, NULL), 0);
		usleep(2000);
	}
	atomic_store(&stop, 1);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);

	/* The transfer in flight at every fork completes, for the parent. */
	udax_io_slow_resume(slow);
	T_EXPECT_ERR(udax_io_wait(req), SLOW);
	udax_io_req_free(&req);
	T_ASSERT(udax_pread(f, got, SLOW, 0) == SLOW);
	for (size_t i = 0; i < SLOW; i++)
		T_ASSERT((uint8_t)got[i] == udax_io_slow_byte(7, i));
	/* The leased range and the fixed buffer still work. */
	T_ASSERT(udax_io_leased_count(lf) >= 1);
	T_ASSERT(udax_io_leased_run(lf, 0, &off) > 0 && off == 2 * SLOW);
	memset(b, 'L', PG);
	T_ASSERT(udax_pwrite(f, b, PG, 2 * SLOW) == PG);
	T_EXPECT_ERR(udax_io_leased_write(lf, 2 * SLOW, sink_fd, 0, PG, NULL, NULL,
					  &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), PG);
	udax_io_req_free(&req);
	T_ASSERT(pread(sink_fd, got, PG, 0) == PG && memcmp(got, b, PG) == 0);
	T_ASSERT(udax_io_fixed_addr(fx) && udax_io_fixed_size(fx) == PG);
	T_EXPECT_ERR(udax_io_read_fixed(io, fx, 0, src_fd, 0, PG, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), PG);
	udax_io_req_free(&req);
	T_ASSERT(udax_pread(f, got, PG, SLOW) == PG);
	for (size_t i = 0; i < PG; i++)
		T_ASSERT((uint8_t)got[i] == io_pat(i));

	T_EXPECT_ERR(udax_io_lease_fixed_release(&lf), 0);
	T_EXPECT_ERR(udax_io_unregister_fixed(&fx), 0);
	FS_OK(udax_unpin(&fxpin));
	udax_io_slow_delete(&slow);
	T_EXPECT_ERR(udax_io_delete(&io), 0);
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &rep));
	T_EXPECT_ERR((long)rep.problems, 0);
	FS_OK(udax_dev_close(&dev, 0));
	close(src_fd);
	close(sink_fd);
	rmdir(dir);
	printf("fork_io: %d children refused, transfers in flight completed for "
	       "the parent, fsck clean\n", NFORK + 1);
	return 0;
}
