/* SPDX-License-Identifier: MIT */
/*
 * Damaged partition tables are rejected with an error and a message,
 * never a crash: every single-byte change, structural errors behind a
 * valid checksum (the test re-signs them), and random tables.
 *
 * The on-media layout used here is the one documented in docs/dev.md.
 */
#include <stddef.h>
#include <udax/crc32c.h>
#include <udax/dev.h>

#include "dev_util.h"

#define BLOCK 4096
/* Header fields (little-endian). */
#define H_VERSION	8
#define H_CHECKSUM	12
#define H_NR		16
#define H_FLAGS		20
#define H_TABLE_OFF	24
#define H_DEV_SIZE	32
#define H_ALIGN		40
#define ENTRY(i)	(64 + 64 * (i))
#define E_OFFSET	0
#define E_SIZE		8
#define E_TYPE		32
#define E_FLAGS		36
#define E_LABEL		40

static unsigned char good[BLOCK];
static unsigned char *tbl;
static struct udax_dev *dev;

static void put32(size_t off, uint32_t v) { memcpy(tbl + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(tbl + off, &v, 8); }
static uint64_t get64(size_t off) { uint64_t v; memcpy(&v, tbl + off, 8); return v; }

static void resign(void)
{
	uint32_t sum;

	put32(H_CHECKSUM, 0);
	sum = udax_crc32c(0, tbl, BLOCK);
	put32(H_CHECKSUM, sum);
}

static void restore(void)
{
	memcpy(tbl, good, BLOCK);
}

/* The table as it is now must be refused with @want and @substr; and
 * every query then reports the same. */
static void expect_bad(int want, const char *substr)
{
	struct udax_part_info pi;

	T_EXPECT_MSG(udax_dev_part_read(dev), want, substr);
	T_EXPECT_MSG(udax_dev_part_count(dev), want, substr);
	T_EXPECT_MSG(udax_dev_part(dev, 0, &pi), want, substr);
}

int main(void)
{
	struct udax_part_spec ps[3] = {
		{ 8 * MiB, UDAX_PART_TYPE_UDAXFS, "a" },
		{ 8 * MiB, UDAX_PART_TYPE_UDAXFS, "b" },
		{ 0, UDAX_PART_TYPE_UDAXFS, "c" },
	};
	struct udax_dev_info info;
	uint64_t seed = 0x1234567;

	dev = t_open_mem("mem:64M", 0);
	T_OK(udax_dev_mkpart(dev, ps, 3, 0));
	T_OK(udax_dev_info(dev, &info));
	tbl = (unsigned char *)info.addr + info.table_offset;
	memcpy(good, tbl, BLOCK);
	T_ASSERT(memcmp(good, "UDAXPTBL", 8) == 0);
	T_ASSERT(get64(H_TABLE_OFF) == info.table_offset);
	T_ASSERT(udax_dev_part_read(dev) == 3);

	/* Every byte of the block, changed: always refused. */
	for (size_t i = 0; i < BLOCK; i++) {
		restore();
		tbl[i] ^= (unsigned char)(1u << (i % 8));
		int r = udax_dev_part_read(dev);

		if (i < 8)
			T_ASSERT(r == -ENODATA);
		else if (i >= H_VERSION && i < H_VERSION + 4)
			T_ASSERT(r == -EPROTONOSUPPORT);
		else if (r != -EUCLEAN) {
			fprintf(stderr, "byte %zu: %d (%s)\n", i, r,
				udax_dev_last_error());
			T_ASSERT(0);
		}
	}
	restore();
	T_ASSERT(udax_dev_part_read(dev) == 3);

	/* Structural damage behind a valid checksum. */
	restore(); put32(H_CHECKSUM, ~0u);			expect_bad(-EUCLEAN, "bad checksum");
	restore(); put32(H_VERSION, 2); resign();		expect_bad(-EPROTONOSUPPORT, "version 2");
	restore(); put32(H_NR, 64); resign();			expect_bad(-EUCLEAN, "64 partitions");
	restore(); put32(H_NR, 0xffffffffu); resign();		expect_bad(-EUCLEAN, "partitions (at most 63)");
	restore(); put32(H_FLAGS, 1); resign();			expect_bad(-EUCLEAN, "unknown flags");
	restore(); put64(H_TABLE_OFF, 2 * MiB); resign();	expect_bad(-EUCLEAN, "says it is at");
	restore(); put64(H_ALIGN, 4096); resign();		expect_bad(-EUCLEAN, "alignment 4096");
	restore(); put64(H_DEV_SIZE, 128 * MiB); resign();	expect_bad(-EUCLEAN, "written for a device of");
	restore(); put64(H_DEV_SIZE, 0); resign();		expect_bad(-EUCLEAN, "bad device size");
	/* Overlapping entries. */
	restore(); put64(ENTRY(1) + E_OFFSET, 8 * MiB); resign();
	expect_bad(-EUCLEAN, "overlaps partition 0");
	/* Out of order. */
	restore(); put64(ENTRY(0) + E_OFFSET, 10 * MiB); put64(ENTRY(1) + E_OFFSET, 2 * MiB);
	resign(); expect_bad(-EUCLEAN, "out of order");
	/* Past the end, and wrapping around. */
	restore(); put64(ENTRY(2) + E_SIZE, 48 * MiB); resign();
	expect_bad(-EUCLEAN, "past the end");
	restore(); put64(ENTRY(2) + E_OFFSET, UINT64_MAX - 2 * MiB + 1);
	put64(ENTRY(2) + E_SIZE, 4 * MiB); resign();
	expect_bad(-EUCLEAN, "past the end");
	restore(); put64(ENTRY(2) + E_SIZE, UINT64_MAX - 2 * MiB + 1); resign();
	expect_bad(-EUCLEAN, "past the end");
	/* In the table's own area. */
	restore(); put64(ENTRY(0) + E_OFFSET, 0); resign();
	expect_bad(-EUCLEAN, "partition table area");
	/* Alignment, empty, flags, labels, unused entries. */
	restore(); put64(ENTRY(0) + E_OFFSET, 2 * MiB + 4096); resign();
	expect_bad(-EUCLEAN, "not a multiple of 2 MiB");
	restore(); put64(ENTRY(1) + E_SIZE, 4096); resign();
	expect_bad(-EUCLEAN, "not a multiple of 2 MiB");
	restore(); put64(ENTRY(1) + E_SIZE, 0); resign();
	expect_bad(-EUCLEAN, "size 0");
	restore(); put32(ENTRY(0) + E_FLAGS, 4); resign();
	expect_bad(-EUCLEAN, "unknown flags");
	restore(); memset(tbl + ENTRY(0) + E_LABEL, 'x', 24); resign();
	expect_bad(-EUCLEAN, "not NUL-terminated");
	restore(); tbl[ENTRY(0) + E_LABEL + 5] = 'z'; resign();
	expect_bad(-EUCLEAN, "after the NUL");
	restore(); tbl[ENTRY(0) + E_LABEL] = '\n'; resign();
	expect_bad(-EUCLEAN, "control character");
	restore(); tbl[ENTRY(3) + E_TYPE] = 1; resign();
	expect_bad(-EUCLEAN, "unused entry 3");
	restore(); tbl[BLOCK - 1] = 1; resign();
	expect_bad(-EUCLEAN, "unused entry 62");
	/* Fewer partitions than entries filled in. */
	restore(); put32(H_NR, 2); resign();
	expect_bad(-EUCLEAN, "unused entry 2");
	/* The magic gone: no table at all. */
	restore(); memset(tbl, 0, 8);
	expect_bad(-ENODATA, "no partition table");

	/* Random tables with a valid magic, version and checksum. */
	for (int it = 0; it < 20000; it++) {
		restore();
		int nmut = 1 + (int)(seed % 6);

		for (int m = 0; m < nmut; m++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			size_t at = 8 + (size_t)((seed >> 17) % (ENTRY(4) - 8));
			unsigned char v = (unsigned char)(seed >> 40);

			switch ((seed >> 33) % 4) {
			case 0: tbl[at] = v; break;
			case 1: tbl[at] ^= 1u << (v % 8); break;
			case 2: put64(at & ~(size_t)7, (seed >> 11) % (80 * MiB)); break;
			case 3: put64(at & ~(size_t)7, ((seed >> 11) % 40) * 2 * MiB); break;
			}
		}
		put32(H_VERSION, 1);
		resign();
		int r = udax_dev_part_read(dev);

		if (r >= 0) {
			/* Accepted: it must describe a sane layout. */
			struct udax_part_info pi;
			uint64_t prev = info.table_offset + 2 * MiB;

			T_ASSERT(r <= UDAX_DEV_MAX_PARTS);
			for (int i = 0; i < r; i++) {
				T_OK(udax_dev_part(dev, (unsigned)i, &pi));
				T_ASSERT(pi.offset >= prev && pi.size > 0);
				T_ASSERT(pi.offset + pi.size <= info.size);
				T_ASSERT(pi.offset % (2 * MiB) == 0);
				prev = pi.offset + pi.size;
			}
		} else {
			T_ASSERT(r == -EUCLEAN || r == -ENODATA);
			T_ASSERT(udax_dev_last_error()[0] != '\0');
		}
	}

	restore();
	T_ASSERT(udax_dev_part_read(dev) == 3);

	/* A damaged table blocks mkpart unless forced. */
	restore(); put32(H_CHECKSUM, 1);
	T_EXPECT_MSG(udax_dev_mkpart(dev, NULL, 0, 0), -EEXIST, "(damaged)");
	T_OK(udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE));
	T_ASSERT(udax_dev_part_read(dev) == 1);

	T_OK(udax_dev_close(&dev, 0));
	return 0;
}
