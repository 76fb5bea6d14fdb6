/* SPDX-License-Identifier: MIT */
/*
 * DMA out of file pages holds its pins until it completes.
 *
 * The sink is a pipe filled to capacity beforehand, so a transfer into it
 * stays in flight (nothing of it written) until the test drains the pipe.
 * For udax_io_write_file (the pages pinned through udax_pin) and for
 * udax_io_write_pfns (pinned at the page level), with the transfer in
 * flight:
 *  - the pages hold the engine's reference; a NOWAIT truncate of the file
 *    gives -EBUSY (write_pfns: udax_pfn_range_wait_idle gives -ETIMEDOUT);
 *  - a DEFER truncate returns at once with the blocks busy, not free; a
 *    new file then fills all free space (a reused block would be in it);
 *  - when the pipe is drained, the bytes that come out are the file's old
 *    data, not the new file's: the blocks were not reused under the DMA;
 *  - after the completion nothing is busy and the free count is exact.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/io.h>

#include "io_util.h"

#define PG	4096
#define NPG	4

static struct udax_fs *fs;
static int p[2];
static size_t junk;			/* bytes that fill the pipe */

static uint64_t busy_now(uint64_t *free_blocks)
{
	struct udax_statfs st;

	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	if (free_blocks)
		*free_blocks = st.blocks_free;
	return st.blocks_busy;
}

/* Fill the pipe so that the next write waits for a reader. */
static void fill_pipe(void)
{
	static char b[PG];
	ssize_t w;

	T_ASSERT(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0);
	junk = 0;
	while ((w = write(p[1], b, sizeof(b))) > 0)
		junk += (size_t)w;
	T_ASSERT(errno == EAGAIN && junk > 0);
	/* io_uring must wait for room, not fail with -EAGAIN. */
	T_ASSERT(fcntl(p[1], F_SETFL, 0) == 0);
}

/* Drain the filler, then read the transfer's @n bytes into @out. */
static void drain_pipe(char *out, size_t n)
{
	static char b[1 << 20];
	size_t got = 0;

	T_ASSERT(junk <= sizeof(b));
	while (got < junk) {
		ssize_t r = read(p[0], b, junk - got);

		T_ASSERT(r > 0);
		got += (size_t)r;
	}
	for (got = 0; got < n;) {
		ssize_t r = read(p[0], out + got, n - got);

		T_ASSERT(r > 0);
		got += (size_t)r;
	}
}

static void fill_fs(const char *path)
{
	struct udax_file *f;
	char b[PG];
	ssize_t w;

	memset(b, 'V', sizeof(b));
	T_EXPECT_ERR(udax_open(fs, path, O_CREAT | O_RDWR, 0644, &f), 0);
	for (uint64_t i = 0;; i++) {
		w = udax_pwrite(f, b, PG, i * PG);
		if (w == -ENOSPC)
			break;
		T_EXPECT_ERR(w, PG);
	}
	T_EXPECT_ERR(udax_close(&f), 0);
}

static void scenario(struct udax_io *io, bool pfns)
{
	struct udax_break_opts nowait = { .mode = UDAX_BREAK_NOWAIT };
	struct udax_break_opts defer = { .mode = UDAX_BREAK_DEFER };
	static char data[NPG * PG], out[NPG * PG];
	struct udax_io_req *req;
	struct udax_file *f;
	struct udax_pin *probe;
	unsigned long pfn = 0;
	uint64_t free0, free1, busy;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)io_pat(i + pfns);
	T_EXPECT_ERR(udax_open(fs, "/a", O_CREAT | O_RDWR | O_TRUNC, 0644, &f), 0);
	T_ASSERT(busy_now(&free0) == 0);
	T_EXPECT_ERR(udax_pwrite(f, data, sizeof(data), 0), sizeof(data));
	T_EXPECT_ERR(udax_pin(f, 0, sizeof(data), 0, &probe), 0);
	pfn = udax_page_to_pfn(udax_pin_page_array(probe)[0]);
	for (size_t i = 0; i < NPG; i++)	/* one extent: one pfn run */
		T_ASSERT(udax_page_to_pfn(udax_pin_page_array(probe)[i]) == pfn + i);

	fill_pipe();
	if (pfns)
		T_EXPECT_ERR(udax_io_write_pfns(io, p[1], UDAX_IO_CUR_POS, pfn, NPG,
						NULL, NULL, &req), 0);
	else
		T_EXPECT_ERR(udax_io_write_file(io, p[1], UDAX_IO_CUR_POS, f, 0,
						sizeof(data), NULL, NULL, &req), 0);
	T_ASSERT(!udax_io_req_done(req, NULL));
	for (size_t i = 0; i < NPG; i++)	/* the probe's and the transfer's */
		T_ASSERT(udax_page_ref_count(udax_pin_page_array(probe)[i]) == 2);
	T_EXPECT_ERR(udax_unpin(&probe), 0);
	if (pfns)
		T_EXPECT_ERR(udax_pfn_range_wait_idle(pfn, NPG, 0, NULL), -ETIMEDOUT);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &nowait), -EBUSY);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &defer), 0);
	busy = busy_now(&free1);
	if (busy != NPG || free1 != free0 - NPG) {
		fprintf(stderr, "after the DEFER truncate: %llu busy, %llu free; want %d, %llu\n",
			(unsigned long long)busy, (unsigned long long)free1, NPG,
			(unsigned long long)free0 - NPG);
		exit(1);
	}
	fill_fs("/victim");
	T_ASSERT(!udax_io_req_done(req, NULL));

	drain_pipe(out, sizeof(out));
	T_EXPECT_ERR(udax_io_wait(req), sizeof(data));
	udax_io_req_free(&req);
	if (memcmp(out, data, sizeof(data))) {
		fprintf(stderr, "%s: the pipe got other data than the file held "
			"when the transfer started (a block reused under DMA)\n",
			pfns ? "write_pfns" : "write_file");
		exit(1);
	}
	T_EXPECT_ERR(udax_pfn_range_wait_idle(pfn, NPG, 0, NULL), 0);
	T_ASSERT(busy_now(&free1) == 0 && free1 == NPG);
	T_EXPECT_ERR(udax_unlink(fs, "/victim"), 0);
	T_ASSERT(busy_now(&free1) == 0 && free1 == free0);
	T_EXPECT_ERR(udax_close(&f), 0);
	printf("%s: pinned until the pipe took the data\n",
	       pfns ? "write_pfns" : "write_file");
}

int main(void)
{
	struct udax_io_opts o = { .queue_depth = 8 };
	struct udax_dev *dev;
	struct udax_io *io;

	alarm(120);	/* a hang is a failure */
	T_ASSERT(pipe(p) == 0);
	T_EXPECT_ERR(udax_dev_open("mem:16M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	io = io_new_or_skip(&o);
	scenario(io, false);
	scenario(io, true);
	T_EXPECT_ERR(udax_io_delete(&io), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	close(p[0]);
	close(p[1]);
	return 0;
}
