/* SPDX-License-Identifier: MIT */
/*
 * The crash-state explorer on a hand-made sequence: every image it makes
 * is compared with one computed here from the sequence alone.
 *
 *   A: memset_persist line 0 to 0xa1                 (fence 1)
 *   B: store line 1 = 0xb1, line 2 = 0xb2, flush both; line 2 flushed
 *      again as 0xb3; line 3 flushed unchanged (no unit); fence 2
 *   C: memcpy_persist NODRAIN lines 4..6 = 0xc4..0xc6, then line 7 stored
 *      and never flushed, then a drain                (fence 3)
 *   D: 30 lines flushed, never fenced (the last epoch, sampled)
 */
#include <errno.h>
#include <string.h>
#include <udax/crash.h>

#include "fs_util.h"

#define L	UDAX_CRASH_UNIT
#define SIZE	(1u << 20)
#define BASE	8192		/* lines start here */

static uint8_t *dev_addr;
static uint8_t ref[SIZE], img[SIZE];

static uint8_t *line(unsigned i) { return dev_addr + BASE + i * L; }
static uint8_t *ref_line(unsigned i) { return ref + BASE + i * L; }

static void expect_image(struct udax_crash *c, uint64_t k,
			 struct udax_crash_subset s)
{
	char name[64];

	T_ASSERT(udax_crash_image(c, k, &s, img) == 0);
	if (memcmp(img, ref, SIZE)) {
		udax_crash_subset_format(&s, name, sizeof(name));
		for (size_t i = 0; i < SIZE; i++)
			if (img[i] != ref[i]) {
				fprintf(stderr, "fence %llu %s: byte %zu is %02x, want %02x\n",
					(unsigned long long)k, name, i, img[i], ref[i]);
				break;
			}
		exit(1);
	}
}

int main(void)
{
	struct udax_crash_opts o = { .exhaustive_max = 3, .samples = 5, .seed = 42 };
	struct udax_crash_range r[4];
	struct udax_crash_stats st;
	struct udax_crash_epoch e;
	struct udax_crash_subset s;
	struct udax_dev_info info;
	struct udax_dev *dev = NULL;
	struct udax_crash *c = NULL;
	uint8_t pat[3 * L];

	FS_OK(udax_dev_open("mem:1M", NULL, &dev));
	FS_OK(udax_dev_info(dev, &info));
	dev_addr = info.addr;
	memset(dev_addr + BASE, 0x11, 64 * L);	/* before: every line 0x11 */

	/* Bad arguments. */
	T_EXPECT_ERR(udax_crash_new(NULL, NULL, &c), -EINVAL);
	o.reserved[1] = 1;
	T_EXPECT_ERR(udax_crash_new(dev, &o, &c), -EINVAL);
	o.reserved[1] = 0;
	o.exhaustive_max = UDAX_CRASH_EXHAUSTIVE_LIMIT + 1;
	T_EXPECT_ERR(udax_crash_new(dev, &o, &c), -EINVAL);
	T_ASSERT(strstr(udax_dev_last_error(), "exhaustive_max"));
	o.exhaustive_max = 3;

	FS_OK(udax_crash_new(dev, &o, &c));
	T_EXPECT_ERR(udax_crash_epoch(c, 0, &e), -EBUSY);

	/* A */
	FS_OK(udax_dev_memset_persist(dev, line(0), 0xa1, L, 0));
	T_ASSERT(udax_crash_fences(c) == 1);
	/* B */
	memset(line(1), 0xb1, L);
	memset(line(2), 0xb2, L);
	FS_OK(udax_dev_flush(dev, line(1) + 10, L + 1));	/* both lines */
	memset(line(2), 0xb3, L);
	FS_OK(udax_dev_flush(dev, line(2), 1));
	FS_OK(udax_dev_flush(dev, line(3), L));			/* unchanged */
	FS_OK(udax_dev_drain(dev));
	/* C */
	for (int i = 0; i < 3; i++)
		memset(pat + i * L, 0xc4 + i, L);
	FS_OK(udax_dev_memcpy_persist(dev, line(4), pat, 3 * L, UDAX_PERSIST_NODRAIN));
	line(7)[5] = 0x77;					/* never flushed */
	T_ASSERT(udax_crash_unflushed(c, r, 4) == 1);		/* not yet */
	T_ASSERT(r[0].off == BASE + 7 * L && r[0].len == L);
	FS_OK(udax_dev_drain(dev));
	/* D */
	for (int i = 0; i < 30; i++)
		memset(line(10 + i), 0xd0 + i, L);
	FS_OK(udax_dev_flush(dev, line(10), 30 * L));
	FS_OK(udax_crash_stop(c));
	FS_OK(udax_crash_stop(c));				/* idempotent */

	/* What was recorded. */
	FS_OK(udax_crash_stats(c, &st));
	T_ASSERT(st.fences == 3 && udax_crash_fences(c) == 3);
	T_ASSERT(st.stores == 2);
	T_ASSERT(st.units == 1 + 3 + 3 + 30);	/* line 3 unchanged: no unit */
	T_ASSERT(st.lines == 1 + 2 + 1 + 1 + 3 + 30);
	T_ASSERT(udax_crash_unflushed(c, r, 4) == 1);
	T_ASSERT(r[0].off == BASE + 7 * L && r[0].len == L);

	/* Fence 0: unit A pending, exhaustive: 2 images. */
	FS_OK(udax_crash_epoch(c, 0, &e));
	T_ASSERT(e.units == 1 && e.exhaustive && e.subsets == 2);
	memcpy(ref, dev_addr, SIZE);
	memset(ref + BASE, 0x11, 64 * L);			/* the snapshot */
	expect_image(c, 0, (struct udax_crash_subset){ UDAX_CRASH_MASK, 0 });
	memset(ref_line(0), 0xa1, L);
	expect_image(c, 0, (struct udax_crash_subset){ UDAX_CRASH_MASK, 1 });

	/* Fence 1: units b1, b2, b3 (line 2 twice): 8 subsets. */
	FS_OK(udax_crash_epoch(c, 1, &e));
	T_ASSERT(e.units == 3 && e.exhaustive && e.subsets == 8);
	T_ASSERT(udax_crash_unit_offset(c, 1, 2) == BASE + 2 * L);
	for (uint64_t m = 0; m < 8; m++) {
		FS_OK(udax_crash_subset_nth(c, 1, m, &s));
		T_ASSERT(s.kind == UDAX_CRASH_MASK && s.arg == m);
		memset(ref_line(1), m & 1 ? 0xb1 : 0x11, L);
		/* line 2: its last chosen version */
		memset(ref_line(2), m & 4 ? 0xb3 : m & 2 ? 0xb2 : 0x11, L);
		expect_image(c, 1, s);
	}
	T_EXPECT_ERR(udax_crash_subset_nth(c, 1, 8, &s), -ENOENT);
	memset(ref_line(1), 0xb1, L);
	memset(ref_line(2), 0xb3, L);

	/* Fence 2: lines 4..6; line 7's store is in no image. */
	FS_OK(udax_crash_epoch(c, 2, &e));
	T_ASSERT(e.units == 3 && e.subsets == 8);
	for (uint64_t m = 0; m < 8; m++) {
		for (int i = 0; i < 3; i++)
			memset(ref_line(4 + i), m >> i & 1 ? 0xc4 + i : 0x11, L);
		expect_image(c, 2, (struct udax_crash_subset){ UDAX_CRASH_MASK, m });
	}
	T_ASSERT(ref_line(7)[5] == 0x11);

	/* Fence 3: 30 units, sampled: structured + 5 random. */
	FS_OK(udax_crash_epoch(c, 3, &e));
	T_ASSERT(e.units == 30 && !e.exhaustive && e.subsets == 2 + 29 + 30 + 30 + 5);
	{
		uint64_t masks[16];

		for (uint64_t i = 0; i < e.subsets; i++) {
			uint64_t m = 0;

			FS_OK(udax_crash_subset_nth(c, 3, i, &s));
			/* none, all, prefixes 1..29, singles, all-but-one,
			 * random */
			T_ASSERT(s.kind == (i <= 30 ? UDAX_CRASH_PREFIX :
					    i <= 60 ? UDAX_CRASH_SINGLE :
					    i <= 90 ? UDAX_CRASH_ALL_BUT :
					    UDAX_CRASH_RANDOM));
			T_ASSERT(s.kind != UDAX_CRASH_PREFIX ||
				 s.arg == (i == 0 ? 0 : i == 1 ? 30 : i - 1));
			for (int u = 0; u < 30; u++) {
				int in = udax_crash_subset_has(c, 3, &s, u);

				T_ASSERT(in == 0 || in == 1);
				memset(ref_line(10 + u), in ? 0xd0 + u : 0x11, L);
				m |= (uint64_t)in << u;
			}
			if (s.kind == UDAX_CRASH_PREFIX)
				T_ASSERT(m == (1ull << s.arg) - 1);
			if (s.kind == UDAX_CRASH_ALL_BUT)
				T_ASSERT(m == ((1ull << 30) - 1) - (1ull << (i - 61)));
			expect_image(c, 3, s);
		}
		/* Same seed, same image (asked twice, out of order);
		 * different seeds, different subsets. */
		for (uint64_t sd = 0; sd < 16; sd++) {
			s = (struct udax_crash_subset){ UDAX_CRASH_RANDOM, 0x1000 + sd };
			masks[sd] = 0;
			for (int u = 0; u < 30; u++)
				masks[sd] |= (uint64_t)udax_crash_subset_has(c, 3, &s, u) << u;
			for (uint64_t j = 0; j < sd; j++)
				T_ASSERT(masks[j] != masks[sd]);
		}
		s = (struct udax_crash_subset){ UDAX_CRASH_RANDOM, 0x1003 };
		for (int u = 0; u < 30; u++)
			memset(ref_line(10 + u), masks[3] >> u & 1 ? 0xd0 + u : 0x11, L);
		expect_image(c, 3, s);
		expect_image(c, 3, s);
	}
	/* Going back to an earlier fence rebuilds from the snapshot. */
	memset(ref + BASE, 0x11, 64 * L);
	expect_image(c, 0, (struct udax_crash_subset){ UDAX_CRASH_PREFIX, 0 });

	/* Range errors and text forms. */
	T_EXPECT_ERR(udax_crash_epoch(c, 4, &e), -ERANGE);
	s = (struct udax_crash_subset){ UDAX_CRASH_MASK, 8 };
	T_EXPECT_ERR(udax_crash_image(c, 1, &s, img), -ERANGE);
	s = (struct udax_crash_subset){ UDAX_CRASH_SINGLE, 3 };
	T_EXPECT_ERR(udax_crash_image(c, 1, &s, img), -ERANGE);
	{
		const char *txt[] = { "mask:0x5", "prefix:3", "single:4",
				      "all-but:2", "seed:0x1234abcd" };
		char buf[64];

		for (int i = 0; i < 5; i++) {
			FS_OK(udax_crash_subset_parse(txt[i], &s));
			T_ASSERT(udax_crash_subset_format(&s, buf, sizeof(buf)) ==
				 (int)strlen(txt[i]));
			T_ASSERT(!strcmp(buf, txt[i]));
		}
		T_EXPECT_ERR(udax_crash_subset_parse("seed:", &s), -EINVAL);
		T_EXPECT_ERR(udax_crash_subset_parse("bits:3", &s), -EINVAL);
		T_EXPECT_ERR(udax_crash_subset_parse("prefix:3x", &s), -EINVAL);
	}

	udax_crash_delete(&c);
	T_ASSERT(!c);

	/* A plan without the structured families: none, all, 5 random. */
	o.flags = UDAX_CRASH_NO_PREFIXES | UDAX_CRASH_NO_SINGLES | UDAX_CRASH_NO_ALL_BUT;
	FS_OK(udax_crash_new(dev, &o, &c));
	FS_OK(udax_dev_flush(dev, line(0), 0));
	for (int i = 0; i < 10; i++)
		line(20 + i)[0] ^= 0xff;
	FS_OK(udax_dev_flush(dev, line(20), 10 * L));
	FS_OK(udax_crash_stop(c));
	FS_OK(udax_crash_epoch(c, 0, &e));
	T_ASSERT(e.units == 10 && !e.exhaustive && e.subsets == 2 + 5);
	FS_OK(udax_crash_subset_nth(c, 0, 1, &s));
	T_ASSERT(s.kind == UDAX_CRASH_PREFIX && s.arg == 10);
	FS_OK(udax_crash_subset_nth(c, 0, 2, &s));
	T_ASSERT(s.kind == UDAX_CRASH_RANDOM);
	udax_crash_delete(&c);
	o.flags = 8;
	T_EXPECT_ERR(udax_crash_new(dev, &o, &c), -EINVAL);
	/* The device has its own persistence back. */
	FS_OK(udax_dev_persist(dev, line(0), L));
	FS_OK(udax_dev_close(&dev, 0));
	printf("dev_crash: ok\n");
	return 0;
}
