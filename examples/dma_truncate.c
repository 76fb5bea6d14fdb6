/* SPDX-License-Identifier: MIT */
/*
 * dma_truncate: truncate a file while an io_uring read is landing in it,
 * and show that the late data never reaches another file.
 *
 * 1. Open a memory device, make a file system and mount it.
 * 2. Write a 64 KiB file, /victim.
 * 3. Start a read from a slow pipe into /victim's blocks through the io
 *    engine (udax_io_read_file): the engine pins the blocks for the whole
 *    transfer.  The pipe is paused, so the read stays in flight.
 * 4. Truncate /victim to 0 in UDAX_BREAK_DEFER mode: it returns at once;
 *    the pinned blocks go on a busy list instead of the free list.
 * 5. Write /fresh, as large as the free space: every block it can get.
 * 6. Let the pipe flow: the read completes into the old blocks, its pins
 *    drop, page_free frees the blocks.
 * 7. Check that /fresh holds exactly what was written to it and that none
 *    of its blocks was one of /victim's.
 *
 * With the kernel's FS-DAX the read would land in whatever file got the
 * blocks next.  Exit 0 when the guarantee held, 1 when it did not, 77 when
 * io_uring is not available here.
 *
 *   cc dma_truncate.c -o dma_truncate $(pkg-config --cflags --libs udax)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/io.h>

#define VICTIM_PAGES	16

#define CHECK(call) do {						\
	long _r = (long)(call);						\
	if (_r < 0) {							\
		fprintf(stderr, "dma_truncate: %s: %s\n", #call,	\
			udax_strerror((int)_r));			\
		exit(2);						\
	}								\
} while (0)

int main(void)
{
	struct udax_break_opts defer = { .mode = UDAX_BREAK_DEFER };
	struct udax_io_opts io_opts = { .flags = UDAX_IO_FULL };
	struct udax_io_slow_opts slow_opts = { .rate = 1u << 20, .paused = true };
	unsigned long victim_pfn[VICTIM_PAGES];
	struct udax_file *victim, *fresh;
	struct udax_io_slow *slow;
	struct udax_io_req *req;
	struct udax_statfs sf;
	struct udax_pin *pin;
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_io *io;
	size_t fresh_len, reused = 0, wrong = 0;
	ssize_t got;
	char *buf;
	int err;

	/* 1. A volatile 64 MiB device, one partition, a file system. */
	CHECK(udax_dev_open("mem:64M", NULL, &dev));
	CHECK(udax_dev_mkpart(dev, NULL, 0, 0));
	CHECK(udax_mkfs(dev, 0, NULL));
	CHECK(udax_mount(dev, 0, NULL, &fs));

	/* 2. The victim file. */
	buf = malloc(VICTIM_PAGES * UDAX_FS_BLOCK_SIZE);
	if (!buf)
		return 2;
	memset(buf, 'v', VICTIM_PAGES * UDAX_FS_BLOCK_SIZE);
	CHECK(udax_open(fs, "/victim", O_CREAT | O_RDWR, 0644, &victim));
	CHECK(udax_pwrite(victim, buf, VICTIM_PAGES * UDAX_FS_BLOCK_SIZE, 0));
	/* Note where its blocks are (pfns), to compare later. */
	CHECK(udax_pin(victim, 0, VICTIM_PAGES * UDAX_FS_BLOCK_SIZE, 0, &pin));
	for (size_t i = 0; i < VICTIM_PAGES; i++)
		victim_pfn[i] = udax_page_to_pfn(udax_pin_page_array(pin)[i]);
	CHECK(udax_unpin(&pin));

	/* 3. A read into the victim's blocks that stays in flight. */
	err = udax_io_new(&io_opts, &io);
	if (err == -ENOSYS || err == -EPERM) {
		printf("dma_truncate: io_uring not available here (%s): skipped\n",
		       udax_strerror(err));
		return 77;
	}
	CHECK(err);
	CHECK(udax_io_slow_new(&slow_opts, &slow));
	CHECK(udax_io_read_file(io, udax_io_slow_fd(slow), UDAX_IO_CUR_POS, victim, 0,
				VICTIM_PAGES * UDAX_FS_BLOCK_SIZE, NULL, NULL, &req));
	printf("read of %d KiB into /victim in flight (pfns %lu..)\n",
	       VICTIM_PAGES * 4, victim_pfn[0]);

	/* 4. Truncate in DEFER mode: returns at once, blocks kept busy. */
	CHECK(udax_ftruncate_ex(victim, 0, &defer));
	CHECK(udax_statfs(fs, &sf));
	printf("truncated /victim to 0: %llu blocks busy (pinned), %llu free\n",
	       (unsigned long long)sf.blocks_busy, (unsigned long long)sf.blocks_free);

	/* 5. A new file taking every free block. */
	fresh_len = sf.blocks_free * UDAX_FS_BLOCK_SIZE;
	memset(buf, 'f', VICTIM_PAGES * UDAX_FS_BLOCK_SIZE);
	CHECK(udax_open(fs, "/fresh", O_CREAT | O_RDWR, 0644, &fresh));
	for (size_t off = 0; off < fresh_len; off += VICTIM_PAGES * UDAX_FS_BLOCK_SIZE) {
		size_t n = fresh_len - off;

		if (n > VICTIM_PAGES * UDAX_FS_BLOCK_SIZE)
			n = VICTIM_PAGES * UDAX_FS_BLOCK_SIZE;
		CHECK(udax_pwrite(fresh, buf, n, off));
	}

	/* 6. Let the late data land; the completion drops the pins. */
	udax_io_slow_resume(slow);
	got = udax_io_wait(req);
	CHECK(got);
	printf("late read completed: %zd bytes landed in the old blocks\n", got);
	udax_io_req_free(&req);
	CHECK(udax_statfs(fs, &sf));
	printf("after the last pin dropped: %llu blocks busy\n",
	       (unsigned long long)sf.blocks_busy);

	/* 7. The new file never saw the late data, nor got the blocks. */
	CHECK(udax_pin(fresh, 0, fresh_len, 0, &pin));
	for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
		for (size_t j = 0; j < VICTIM_PAGES; j++)
			reused += udax_page_to_pfn(udax_pin_page_array(pin)[i]) == victim_pfn[j];
	CHECK(udax_unpin(&pin));
	for (size_t off = 0; off < fresh_len; off += VICTIM_PAGES * UDAX_FS_BLOCK_SIZE) {
		size_t n = fresh_len - off;

		if (n > VICTIM_PAGES * UDAX_FS_BLOCK_SIZE)
			n = VICTIM_PAGES * UDAX_FS_BLOCK_SIZE;
		CHECK(udax_pread(fresh, buf, n, off));
		for (size_t i = 0; i < n; i++)
			wrong += buf[i] != 'f';
	}
	printf("/fresh: %zu bytes, %zu of them not its own, %zu of its blocks were /victim's\n",
	       fresh_len, wrong, reused);

	udax_io_slow_delete(&slow);
	CHECK(udax_io_delete(&io));
	CHECK(udax_close(&fresh));
	CHECK(udax_close(&victim));
	CHECK(udax_unmount(&fs));
	CHECK(udax_dev_close(&dev, 0));
	free(buf);
	if (wrong || reused || sf.blocks_busy) {
		printf("dma_truncate: FAILED: late DMA could reach a new file\n");
		return 1;
	}
	printf("dma_truncate: ok: late DMA never reached a new file\n");
	return 0;
}
