/* SPDX-License-Identifier: MIT */
/*
 * The queue depth bounds the SQEs in flight: many submitter threads
 * reading an O_DIRECT file get all their data right and never more than
 * the depth in flight; a submitter finding the queue full sleeps until a
 * completion frees a slot (or gets -EAGAIN with UDAX_IO_NOWAIT); a
 * transfer to a LIMITED range fails with -EOPNOTSUPP before submission.
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

#define PG		4096
#define DEPTH		4
#define NTHREADS	8
#define NREQ		16	/* per thread */
#define RPG		2	/* pages per request */
#define FILE_PAGES	64

static char dir[] = "/tmp/udax-io-XXXXXX";
static char path[64];
static struct udax_io *io;
static struct udax_dev_info di;
static int fd;
static _Atomic int bad;

static uint8_t pat(uint64_t i)
{
	return (uint8_t)((i * 40503u) >> 5);
}

static void *submitter(void *arg)
{
	long t = (long)arg;
	struct udax_io_req *req[NREQ];
	unsigned long base = di.pfn_first + 256 + (unsigned long)t * NREQ * RPG;

	for (int k = 0; k < NREQ; k++) {
		int64_t off = (int64_t)(((t * NREQ + k) * RPG) % FILE_PAGES) * PG;
		int ret = udax_io_read_pfns(io, fd, off, base + (unsigned long)k * RPG,
					    RPG, NULL, NULL, &req[k]);
		if (ret) {
			fprintf(stderr, "submit: %s\n", udax_io_last_error());
			bad++;
			return NULL;
		}
	}
	for (int k = 0; k < NREQ; k++) {
		int64_t off = (int64_t)(((t * NREQ + k) * RPG) % FILE_PAGES) * PG;
		const uint8_t *p = (const uint8_t *)di.addr +
				   (base + (unsigned long)k * RPG - di.pfn_first) * PG;

		if (udax_io_wait(req[k]) != RPG * PG)
			bad++;
		for (size_t j = 0; j < RPG * PG; j++)
			if (p[j] != pat((uint64_t)off + j)) {
				bad++;
				break;
			}
		udax_io_req_free(&req[k]);
	}
	return NULL;
}

static struct udax_io *blk_io;
static int blk_pipe[2];
static _Atomic int blk_returned;
static int blk_ret;
static struct udax_io_req *blk_req;

static void *blocked_submitter(void *arg)
{
	(void)arg;
	blk_ret = udax_io_read_pfns(blk_io, blk_pipe[0], UDAX_IO_CUR_POS,
				    di.pfn_first + 20, 1, NULL, NULL, &blk_req);
	blk_returned = 1;
	return NULL;
}

int main(void)
{
	struct udax_dev *dev, *ldev;
	struct udax_dev_info ldi;
	struct udax_io_opts o = { .queue_depth = DEPTH };
	struct udax_io_stats st;
	pthread_t t[NTHREADS];
	uint8_t *b;

	T_ASSERT(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	T_ASSERT((b = malloc(FILE_PAGES * PG)));
	for (size_t i = 0; i < FILE_PAGES * PG; i++)
		b[i] = pat(i);
	fd = io_direct_source("io_qdepth", path, b, FILE_PAGES * PG);
	free(b);
	T_EXPECT_ERR(udax_dev_open("mem:8M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_info(dev, &di), 0);

	/* 1. Many submitters, depth 4. */
	io = io_new_or_skip(&o);
	for (long i = 0; i < NTHREADS; i++)
		pthread_create(&t[i], NULL, submitter, (void *)i);
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	T_ASSERT(bad == 0);
	udax_io_get_stats(io, &st);
	T_ASSERT(st.max_inflight <= DEPTH && st.inflight == 0);
	T_ASSERT(st.completed == NTHREADS * NREQ && st.submitted == NTHREADS * NREQ);
	printf("io_qdepth: %d threads x %d reads, at most %u of %u in flight, "
	       "%lu waits for a slot\n", NTHREADS, NREQ, st.max_inflight, DEPTH,
	       (unsigned long)st.waits);
	T_EXPECT_ERR(udax_io_delete(&io), 0);

	/* 2. A full queue makes the next submitter sleep until a completion.
	 * That submitter then exits before its read completes: the read
	 * must survive it (the engine thread, not the caller, submits). */
	struct udax_io_opts o2 = { .queue_depth = 2 };
	struct udax_io_req *r[2];
	char data[2 * PG];

	memset(data, 'x', sizeof(data));
	T_ASSERT(pipe(blk_pipe) == 0);
	T_EXPECT_ERR(udax_io_new(&o2, &blk_io), 0);
	T_EXPECT_ERR(udax_io_read_pfns(blk_io, blk_pipe[0], UDAX_IO_CUR_POS,
				       di.pfn_first + 10, 1, NULL, NULL, &r[0]), 0);
	T_EXPECT_ERR(udax_io_read_pfns(blk_io, blk_pipe[0], UDAX_IO_CUR_POS,
				       di.pfn_first + 11, 1, NULL, NULL, &r[1]), 0);
	pthread_t bt;

	pthread_create(&bt, NULL, blocked_submitter, NULL);
	do {
		sched_yield();
		udax_io_get_stats(blk_io, &st);
	} while (st.waits == 0);
	/* It sleeps: nothing completed, so it cannot have gone on. */
	T_ASSERT(!blk_returned && st.inflight == 2 && st.submitted == 2);
	T_ASSERT(write(blk_pipe[1], data, PG) == PG);	/* completes one read */
	pthread_join(bt, NULL);
	T_EXPECT_ERR(blk_ret, 0);
	T_ASSERT(write(blk_pipe[1], data, 2 * PG) == 2 * PG);
	T_EXPECT_ERR(udax_io_wait(r[0]), PG);
	T_EXPECT_ERR(udax_io_wait(r[1]), PG);
	T_EXPECT_ERR(udax_io_wait(blk_req), PG);
	udax_io_req_free(&r[0]);
	udax_io_req_free(&r[1]);
	udax_io_req_free(&blk_req);
	udax_io_get_stats(blk_io, &st);
	T_ASSERT(st.max_inflight == 2 && st.completed == 3);
	T_EXPECT_ERR(udax_io_delete(&blk_io), 0);

	/* 3. UDAX_IO_NOWAIT: -EAGAIN instead, nothing pinned. */
	struct udax_io_opts o3 = { .queue_depth = 2, .flags = UDAX_IO_NOWAIT };
	struct udax_io *nio;
	struct udax_io_req *x = NULL;

	T_EXPECT_ERR(udax_io_new(&o3, &nio), 0);
	T_EXPECT_ERR(udax_io_read_pfns(nio, blk_pipe[0], UDAX_IO_CUR_POS,
				       di.pfn_first + 10, 1, NULL, NULL, &r[0]), 0);
	T_EXPECT_ERR(udax_io_read_pfns(nio, blk_pipe[0], UDAX_IO_CUR_POS,
				       di.pfn_first + 11, 1, NULL, NULL, &r[1]), 0);
	T_EXPECT_ERR(udax_io_read_pfns(nio, blk_pipe[0], UDAX_IO_CUR_POS,
				       di.pfn_first + 12, 1, NULL, NULL, &x), -EAGAIN);
	T_ASSERT(x == NULL && strstr(udax_io_last_error(), "queue full"));
	T_ASSERT(udax_page_ref_count(udax_pgmap_pfn_to_page(udax_dev_pgmap(dev),
							   di.pfn_first + 12)) == 0);
	for (int i = 0; i < 2; i++) {
		T_EXPECT_ERR(udax_io_cancel(nio, r[i]), 0);
		T_EXPECT_ERR(udax_io_wait(r[i]), -ECANCELED);
		udax_io_req_free(&r[i]);
	}
	T_EXPECT_ERR(udax_io_delete(&nio), 0);
	close(blk_pipe[0]);
	close(blk_pipe[1]);

	/* 4. A LIMITED range: no page descriptors, so nothing to pin. */
	struct udax_dev_opts lo = { .pgmap_flags = UDAX_PGMAP_LIMITED };

	T_EXPECT_ERR(udax_io_new(&o, &io), 0);
	T_EXPECT_ERR(udax_dev_open("mem:4M", &lo, &ldev), 0);
	T_EXPECT_ERR(udax_dev_info(ldev, &ldi), 0);
	T_EXPECT_ERR(udax_io_read_pfns(io, fd, 0, ldi.pfn_first, 1, NULL, NULL, &x), -EOPNOTSUPP);
	T_ASSERT(strstr(udax_io_last_error(), "LIMITED"));
	T_EXPECT_ERR(udax_io_write_pfns(io, fd, 0, ldi.pfn_first, 4, NULL, NULL, &x), -EOPNOTSUPP);
	T_ASSERT(x == NULL);
	udax_io_get_stats(io, &st);
	T_ASSERT(st.submitted == 0 && st.sqes == 0);
	T_EXPECT_ERR(udax_io_delete(&io), 0);
	T_EXPECT_ERR(udax_dev_close(&ldev, 0), 0);

	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	close(fd);
	unlink(path);
	rmdir(dir);
	return 0;
}
