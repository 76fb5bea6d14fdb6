/* SPDX-License-Identifier: MIT */
/*
 * DEFER breaks of blocks the operation keeps but rewrites: the block
 * holding the new end of file (truncate down to its middle), the partial
 * head and tail blocks of punch hole and zero range, and the whole blocks
 * zero range marks unwritten.  A DEFER break returns without waiting for
 * the pins, so DMA may land in such a block after the operation returned.
 *
 * Each scenario pins the blocks, breaks in DEFER mode, then writes into
 * the pinned pages through udax_pin_page_addr (late DMA) and checks that
 * the file still reads as the model: zeroes past the end of file (through
 * a view and after extending the file), zeroes in the punched / zeroed
 * range, data written after the break intact.  The replaced blocks are
 * busy (statfs blocks_busy) until the unpin and free after it, and
 * udax_fsck finds no problem after unmount (it checks the bytes past the
 * end of file).  Also: no free block for the copy is -ENOSPC with nothing
 * changed, and an unpinned kept block is rewritten in place (same block).
 * An argument runs one scenario: truncate, punch, zero, enospc, unpinned.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <udax/fsck.h>

#include "fs_util.h"

#define BS	UDAX_FS_BLOCK_SIZE
#define NBLK	4
#define CUT	(BS + 904)		/* inside block 1 */
#define R_OFF	(BS + 100)		/* punch / zero [R_OFF, R_END): */
#define R_END	(3 * BS + 50)		/* block 1's tail, block 2, block 3's head */

static const struct udax_break_opts defer = { UDAX_BREAK_DEFER, 0 };
static struct udax_dev *dev;
static struct udax_fs *fs;
static uint8_t model[NBLK * BS];

/* A new file system with /f: NBLK blocks of 'x'. */
static struct udax_file *setup(void)
{
	struct udax_file *f;

	fs = t_fs_new("mem:8M", &dev);
	FS_OK(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f));
	memset(model, 'x', sizeof(model));
	T_ASSERT(udax_pwrite(f, model, sizeof(model), 0) == (ssize_t)sizeof(model));
	return f;
}

static struct udax_statfs statfs_now(void)
{
	struct udax_statfs st;

	FS_OK(udax_statfs(fs, &st));
	return st;
}

/* Late DMA: the device writes every pinned page whole. */
static void late_dma(struct udax_pin *pin)
{
	for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
		memset(udax_pin_page_addr(pin, i), 'D', BS);
}

/* @f has size @n and holds model[0, n). */
static void expect(const char *what, struct udax_file *f, size_t n)
{
	static uint8_t buf[NBLK * BS + 1];
	struct udax_stat st;
	ssize_t r;

	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.size == n);
	r = udax_pread(f, buf, sizeof(buf), 0);
	T_ASSERT(r == (ssize_t)n);
	for (size_t i = 0; i < n; i++) {
		if (buf[i] != model[i]) {
			fprintf(stderr, "%s: byte %zu is %#x, want %#x\n", what, i,
				buf[i], model[i]);
			exit(1);
		}
	}
}

/* Bytes [from, to) of @f read as zeroes (a range the operation zeroed). */
static void expect_zeroes(const char *what, struct udax_file *f, uint64_t from,
			  uint64_t to)
{
	static uint8_t buf[NBLK * BS];

	T_ASSERT(udax_pread(f, buf, to - from, from) == (ssize_t)(to - from));
	for (uint64_t i = 0; i < to - from; i++) {
		if (buf[i]) {
			fprintf(stderr, "%s: byte %llu in the zeroed range [%llu, %llu) "
				"is %#x\n", what, (unsigned long long)(from + i),
				(unsigned long long)from, (unsigned long long)to, buf[i]);
			exit(1);
		}
	}
}

/* Close, unmount: udax_fsck finds nothing wrong. */
static void unmount_fsck(struct udax_file **f)
{
	struct udax_fsck_report rep;

	FS_OK(udax_close(f));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_fsck(dev, 0, 0, t_fsck_print, NULL, &rep));
	T_ASSERT(rep.problems == 0);
}

/* Fill the file system with /filler until -ENOSPC. */
static void fill(void)
{
	static const uint8_t b[BS];
	struct udax_file *f;
	ssize_t w;

	FS_OK(udax_open(fs, "/filler", O_CREAT | O_RDWR, 0644, &f));
	for (uint64_t i = 0; (w = udax_pwrite(f, b, BS, i * BS)) != -ENOSPC; i++)
		T_ASSERT(w == BS);
	FS_OK(udax_close(&f));
	T_ASSERT(statfs_now().blocks_free == 0);
}

static void truncate_down(void)
{
	struct udax_file *f = setup();
	struct udax_view *view;
	struct udax_pin *pin;
	uint8_t *addr;

	FS_OK(udax_pin(f, BS, BS, 0, &pin));
	FS_OK(udax_ftruncate_ex(f, CUT, &defer));
	late_dma(pin);
	memset(model + CUT, 0, sizeof(model) - CUT);
	/* A view shows the whole last block: zeroes past the end of file,
	 * and the bytes before it as they were at the truncate. */
	FS_OK(udax_view_map(f, BS, BS, 0, &view, (void **)&addr));
	for (size_t i = CUT - BS; i < BS; i++) {
		if (addr[i]) {
			fprintf(stderr, "truncate: byte %zu of the last block is %#x, "
				"past the end of file (byte %u)\n", i, addr[i],
				CUT - BS);
			exit(1);
		}
	}
	T_ASSERT(!memcmp(addr, model + BS, CUT - BS));
	FS_OK(udax_view_unmap(&view));
	expect("truncate", f, CUT);
	/* The old block 1 waits for its pin (2 and 3 were free at once). */
	T_ASSERT(statfs_now().blocks_busy == 1);
	FS_OK(udax_unpin(&pin));
	T_ASSERT(statfs_now().blocks_busy == 0);
	unmount_fsck(&f);

	/* Extending exposes zeroes only. */
	fs = t_fs_mount(dev);
	FS_OK(udax_open(fs, "/f", O_RDWR, 0, &f));
	FS_OK(udax_ftruncate(f, sizeof(model)));
	expect("truncate, extended", f, sizeof(model));
	unmount_fsck(&f);
	FS_OK(udax_dev_close(&dev, 0));
	printf("truncate down to a pinned block: ok\n");
}

static void punch(void)
{
	struct udax_file *f = setup();
	struct udax_stat st;
	struct udax_pin *pin;

	FS_OK(udax_pin(f, BS, 3 * BS, 0, &pin));
	FS_OK(udax_fallocate_ex(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				R_OFF, R_END - R_OFF, &defer));
	late_dma(pin);
	expect_zeroes("punch", f, R_OFF, R_END);
	memset(model + R_OFF, 0, R_END - R_OFF);
	expect("punch", f, sizeof(model));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.blocks == NBLK - 1);	/* block 2 is a hole */
	/* Blocks 1 and 3 replaced, block 2 freed: all three still pinned. */
	T_ASSERT(statfs_now().blocks_busy == 3);
	FS_OK(udax_unpin(&pin));
	T_ASSERT(statfs_now().blocks_busy == 0);
	unmount_fsck(&f);
	FS_OK(udax_dev_close(&dev, 0));
	printf("punch hole over pinned blocks: ok\n");
}

static void zero_range(void)
{
	static const char hello[] = "hello";
	struct udax_file *f = setup();
	struct udax_stat st;
	struct udax_pin *pin;

	FS_OK(udax_pin(f, BS, 3 * BS, 0, &pin));
	FS_OK(udax_fallocate_ex(f, UDAX_FALLOC_ZERO_RANGE, R_OFF, R_END - R_OFF,
				&defer));
	/* A write converts unwritten block 2 before the late DMA lands. */
	T_ASSERT(udax_pwrite(f, hello, 5, 2 * BS + 5) == 5);
	late_dma(pin);
	expect_zeroes("zero range", f, R_OFF, 2 * BS + 5);
	expect_zeroes("zero range", f, 2 * BS + 10, R_END);
	memset(model + R_OFF, 0, R_END - R_OFF);
	memcpy(model + 2 * BS + 5, hello, 5);
	expect("zero range", f, sizeof(model));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.blocks == NBLK);		/* zero range keeps every block */
	T_ASSERT(statfs_now().blocks_busy == 3);
	FS_OK(udax_unpin(&pin));
	T_ASSERT(statfs_now().blocks_busy == 0);
	unmount_fsck(&f);
	FS_OK(udax_dev_close(&dev, 0));
	printf("zero range over pinned blocks: ok\n");
}

/* No free block for the copy: -ENOSPC, and nothing changed. */
static void enospc(void)
{
	struct udax_file *f = setup();
	struct udax_pin *pin;

	struct udax_file *filler;
	struct udax_stat st;

	FS_OK(udax_pin(f, BS, 3 * BS, 0, &pin));
	fill();
	FS_ERR(udax_ftruncate_ex(f, CUT, &defer), -ENOSPC);
	/* One free block: punch and zero range need two and three copies;
	 * the first is given back when the next cannot be had. */
	FS_OK(udax_open(fs, "/filler", O_RDWR, 0, &filler));
	FS_OK(udax_fstat(filler, &st));
	FS_OK(udax_ftruncate(filler, st.size - BS));
	FS_OK(udax_close(&filler));
	T_ASSERT(statfs_now().blocks_free == 1);
	FS_ERR(udax_fallocate_ex(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
				 R_OFF, R_END - R_OFF, &defer), -ENOSPC);
	T_ASSERT(statfs_now().blocks_free == 1);
	FS_ERR(udax_fallocate_ex(f, UDAX_FALLOC_ZERO_RANGE, R_OFF, R_END - R_OFF,
				 &defer), -ENOSPC);
	T_ASSERT(statfs_now().blocks_free == 1);
	expect("-ENOSPC", f, sizeof(model));
	FS_OK(udax_fstat(f, &st));
	T_ASSERT(st.blocks == NBLK);
	T_ASSERT(statfs_now().blocks_busy == 0);
	/* Room for the copies: it goes through. */
	FS_OK(udax_unlink(fs, "/filler"));
	FS_OK(udax_ftruncate_ex(f, CUT, &defer));
	memset(model + CUT, 0, sizeof(model) - CUT);
	expect("after -ENOSPC", f, CUT);
	FS_OK(udax_unpin(&pin));
	T_ASSERT(statfs_now().blocks_busy == 0);
	unmount_fsck(&f);
	FS_OK(udax_dev_close(&dev, 0));
	printf("no block for the copy: -ENOSPC, nothing changed: ok\n");
}

/* Nothing pinned: the block holding the new end is zeroed in place. */
static void unpinned_in_place(void)
{
	struct udax_file *f = setup();
	struct udax_pin *pin;
	unsigned long pfn;
	uint64_t free0;

	FS_OK(udax_pin(f, BS, BS, 0, &pin));
	pfn = udax_page_to_pfn(udax_pin_page_array(pin)[0]);
	FS_OK(udax_unpin(&pin));
	free0 = statfs_now().blocks_free;
	FS_OK(udax_ftruncate_ex(f, CUT, &defer));
	T_ASSERT(statfs_now().blocks_busy == 0);
	T_ASSERT(statfs_now().blocks_free == free0 + NBLK - 2);
	FS_OK(udax_pin(f, BS, BS, 0, &pin));	/* the last block, whole */
	T_ASSERT(udax_page_to_pfn(udax_pin_page_array(pin)[0]) == pfn);
	FS_OK(udax_unpin(&pin));
	memset(model + CUT, 0, sizeof(model) - CUT);
	expect("truncate unpinned", f, CUT);
	unmount_fsck(&f);
	FS_OK(udax_dev_close(&dev, 0));
	printf("unpinned block: rewritten in place: ok\n");
}

int main(int argc, char **argv)
{
	static const struct { const char *name; void (*fn)(void); } s[] = {
		{ "truncate", truncate_down }, { "punch", punch },
		{ "zero", zero_range }, { "enospc", enospc },
		{ "unpinned", unpinned_in_place },
	};

	alarm(60);	/* a hang is a failure */
	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (argc < 2 || !strcmp(argv[1], s[i].name))
			s[i].fn();
	return 0;
}
