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
 *
 * Then torn lines (unit_bytes 8): a line with 3 changed words, recorded in
 * both modes; a word flushed twice; a sampled epoch of words.  Then
 * per-thread fences: threads flushing and draining lines in turns.
 */
#include <errno.h>
#include <pthread.h>
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

/* Record @seq on @dev with units of @ub bytes; the explorer, stopped. */
static struct udax_crash *record_torn(struct udax_dev *dev, unsigned ub,
				      void (*seq)(struct udax_dev *dev))
{
	struct udax_crash_opts o = { .exhaustive_max = 3, .samples = 6, .seed = 7,
				     .unit_bytes = ub };
	struct udax_crash *c = NULL;

	memset(dev_addr + BASE, 0x11, 64 * L);
	FS_OK(udax_crash_new(dev, &o, &c));
	seq(dev);
	FS_OK(udax_crash_stop(c));
	return c;
}

/* Epoch 0: line 0 gets words 1, 4 and 6 changed (one flush of the line);
 * line 1 is flushed unchanged.  Epoch 1: line 2's word 0 is flushed as
 * 0x21.., then as 0x22..; line 3 as a whole (8 changed words). */
static void seq_words(struct udax_dev *dev)
{
	memset(line(0) + 8, 0xa1, 8);
	memset(line(0) + 32, 0xa4, 8);
	memset(line(0) + 48, 0xa6, 8);
	FS_OK(udax_dev_persist(dev, line(0), 2 * L));
	memset(line(2), 0x21, 8);
	FS_OK(udax_dev_flush(dev, line(2), 8));
	memset(line(2), 0x22, 8);
	FS_OK(udax_dev_flush(dev, line(2), 8));
	memset(line(3), 0x33, L);
	FS_OK(udax_dev_flush(dev, line(3), L));
}

/* Epoch 0 of the last sequence: 40 lines, every word changed. */
static void seq_many(struct udax_dev *dev)
{
	for (int i = 0; i < 40; i++)
		memset(line(10 + i), 0x40 + i, L);
	FS_OK(udax_dev_flush(dev, line(10), 40 * L));
}

static void torn_lines(struct udax_dev *dev)
{
	static const int words[3] = { 1, 4, 6 };
	static uint8_t whole[2][SIZE];		/* the 64-byte mode's 2 images */
	struct udax_crash_opts bad = { .unit_bytes = 16 };
	struct udax_crash_subset s, s2;
	struct udax_crash_stats st;
	struct udax_crash_epoch e;
	struct udax_crash *c = NULL;
	int novel = 0;

	T_EXPECT_ERR(udax_crash_new(dev, &bad, &c), -EINVAL);
	T_ASSERT(strstr(udax_dev_last_error(), "unit_bytes"));
	bad.unit_bytes = 1;
	T_EXPECT_ERR(udax_crash_new(dev, &bad, &c), -EINVAL);

	/* Whole lines: line 0 is one unit, 2 images of fence 0. */
	c = record_torn(dev, L, seq_words);
	FS_OK(udax_crash_epoch(c, 0, &e));
	T_ASSERT(e.units == 1 && e.subsets == 2);
	for (uint64_t m = 0; m < 2; m++)
		FS_OK(udax_crash_image(c, 0, &(struct udax_crash_subset){ UDAX_CRASH_MASK, m },
				       whole[m]));
	udax_crash_delete(&c);

	/* 8-byte units: the 3 changed words of line 0, 8 subsets, each word
	 * old or new on its own; 6 of them tear the line. */
	c = record_torn(dev, UDAX_CRASH_WORD, seq_words);
	FS_OK(udax_crash_stats(c, &st));
	T_ASSERT(st.fences == 1 && st.lines == 2 + 1 + 1 + 1);
	T_ASSERT(st.units == 3 + 2 + 8);	/* line 1 unchanged: none */
	FS_OK(udax_crash_epoch(c, 0, &e));
	T_ASSERT(e.units == 3 && e.exhaustive && e.subsets == 8);
	for (int u = 0; u < 3; u++)
		T_ASSERT(udax_crash_unit_offset(c, 0, u) == BASE + words[u] * 8);
	memcpy(ref, whole[0], SIZE);
	for (uint64_t m = 0; m < 8; m++) {
		FS_OK(udax_crash_subset_nth(c, 0, m, &s));
		T_ASSERT(s.kind == UDAX_CRASH_MASK && s.arg == m);
		memset(ref_line(0), 0x11, L);
		for (int u = 0; u < 3; u++)
			if (m >> u & 1)
				memset(ref_line(0) + words[u] * 8, 0xa1 + words[u] - 1, 8);
		expect_image(c, 0, s);
		novel += memcmp(img, whole[0], SIZE) && memcmp(img, whole[1], SIZE);
	}
	T_ASSERT(novel == 6);
	/* Fence 1: line 2's word twice (0x21 then 0x22), line 3's 8 words:
	 * sampled; a word ends in its last chosen version. */
	FS_OK(udax_crash_epoch(c, 1, &e));
	T_ASSERT(e.units == 10 && !e.exhaustive);
	T_ASSERT(udax_crash_unit_offset(c, 1, 1) == BASE + 2 * L);
	T_ASSERT(udax_crash_unit_offset(c, 1, 9) == BASE + 3 * L + 56);
	memcpy(ref_line(0), whole[1] + BASE, L);
	for (uint64_t i = 0; i < e.subsets; i++) {
		int in[10];

		FS_OK(udax_crash_subset_nth(c, 1, i, &s));
		for (int u = 0; u < 10; u++)
			in[u] = udax_crash_subset_has(c, 1, &s, u);
		memset(ref_line(2), 0x11, 8);
		if (in[0] || in[1])
			memset(ref_line(2), in[1] ? 0x22 : 0x21, 8);
		for (int u = 2; u < 10; u++)
			memset(ref_line(3) + (u - 2) * 8, in[u] ? 0x33 : 0x11, 8);
		expect_image(c, 1, s);
	}
	udax_crash_delete(&c);

	/* 320 words: the same seed makes the same torn image, twice and
	 * after other images; another seed another one. */
	c = record_torn(dev, UDAX_CRASH_WORD, seq_many);
	FS_OK(udax_crash_epoch(c, 0, &e));
	T_ASSERT(e.units == 320 && !e.exhaustive);
	s = (struct udax_crash_subset){ UDAX_CRASH_RANDOM, 0xfeed };
	s2 = (struct udax_crash_subset){ UDAX_CRASH_RANDOM, 0xbeef };
	memset(ref + BASE, 0x11, 64 * L);
	for (int u = 0; u < 320; u++)
		if (udax_crash_subset_has(c, 0, &s, u))
			memset(ref_line(10) + u * 8, 0x40 + u / 8, 8);
	expect_image(c, 0, s);
	FS_OK(udax_crash_image(c, 0, &s2, img));
	T_ASSERT(memcmp(img, ref, SIZE));
	expect_image(c, 0, s);
	udax_crash_delete(&c);
}

/* ---- per-thread fences ------------------------------------------------------ */

static struct udax_dev *pt_dev;

struct job {
	void (*fn)(void);
};

static void *thread_fn(void *arg)
{
	((struct job *)arg)->fn();
	return NULL;
}

/* Run @fn on a thread of its own, to its end. */
static void on_thread(void (*fn)(void))
{
	struct job j = { fn };
	pthread_t t;

	T_ASSERT(!pthread_create(&t, NULL, thread_fn, &j));
	T_ASSERT(!pthread_join(t, NULL));
}

static void t2_b(void)
{
	memset(line(1), 0xb0, L);
	FS_OK(udax_dev_persist(pt_dev, line(1), L));		/* fence 1 */
}
static void t3_same_c(void)
{
	FS_OK(udax_dev_persist(pt_dev, line(2), L));		/* fence 3 */
}
static void t4_d2(void)
{
	memset(line(3), 0xd2, L);
	FS_OK(udax_dev_persist(pt_dev, line(3), L));		/* fence 4 */
}

/*
 * The main thread (T1) and helper threads T2..T4, one after the other:
 *   T1 flushes line 0 = a0 (A); T2 flushes line 1 = b0 (B), drains (1);
 *   T1 drains (2); T1 flushes line 2 = c0 (C); T3 flushes line 2
 *   unchanged (C') and drains (3); T1 flushes line 3 = d1 (D1); T4 line 3
 *   = d2 (D2), drains (4); T1 drains (5).
 */
static void seq_threads(struct udax_dev *dev)
{
	pt_dev = dev;
	memset(line(0), 0xa0, L);
	FS_OK(udax_dev_flush(dev, line(0), L));
	on_thread(t2_b);
	FS_OK(udax_dev_drain(dev));
	memset(line(2), 0xc0, L);
	FS_OK(udax_dev_flush(dev, line(2), L));
	on_thread(t3_same_c);
	memset(line(3), 0xd1, L);
	FS_OK(udax_dev_flush(dev, line(3), L));
	on_thread(t4_d2);
	FS_OK(udax_dev_drain(dev));
}

/* Lines 0..3 of the reference: 0x11 where 0, else the byte given. */
static void ref_lines(int a, int b, int c, int d)
{
	const int v[4] = { a, b, c, d };

	for (int i = 0; i < 4; i++)
		memset(ref_line(i), v[i] ? v[i] : 0x11, L);
}

static void per_thread_fences(struct udax_dev *dev)
{
	struct udax_crash_opts o = { .exhaustive_max = 4,
				     .flags = UDAX_CRASH_PER_THREAD_FENCES };
	static const uint64_t pt_units[6] = { 2, 1, 2, 3, 2, 0 };
	static const uint64_t gl_units[6] = { 2, 0, 1, 2, 0, 0 };
	struct udax_crash_stats st;
	struct udax_crash_epoch e;
	struct udax_crash *c = NULL;

	memset(dev_addr + BASE, 0x11, 64 * L);
	memcpy(ref, dev_addr, SIZE);
	FS_OK(udax_crash_new(dev, &o, &c));
	seq_threads(dev);
	FS_OK(udax_crash_stop(c));
	FS_OK(udax_crash_stats(c, &st));
	T_ASSERT(st.fences == 5);
	T_ASSERT(st.units == 6);		/* C' too: T1's C was not drained */
	for (uint64_t k = 0; k <= 5; k++) {
		FS_OK(udax_crash_epoch(c, k, &e));
		T_ASSERT(e.units == pt_units[k] && e.exhaustive);
	}
	/* Fence 0: A and B both pending. */
	for (uint64_t m = 0; m < 4; m++) {
		ref_lines(m & 1 ? 0xa0 : 0, m & 2 ? 0xb0 : 0, 0, 0);
		expect_image(c, 0, (struct udax_crash_subset){ UDAX_CRASH_MASK, m });
	}
	/* Fence 1, T2's drain: B is durable, T1's A is still pending - an
	 * image without it and one with it. */
	T_ASSERT(udax_crash_unit_offset(c, 1, 0) == BASE);
	ref_lines(0, 0xb0, 0, 0);
	expect_image(c, 1, (struct udax_crash_subset){ UDAX_CRASH_MASK, 0 });
	ref_lines(0xa0, 0xb0, 0, 0);
	expect_image(c, 1, (struct udax_crash_subset){ UDAX_CRASH_MASK, 1 });
	/* Fence 2, T1's drain: A durable.  C and C' pending. */
	for (uint64_t m = 0; m < 4; m++) {
		ref_lines(0xa0, 0xb0, m ? 0xc0 : 0, 0);
		expect_image(c, 2, (struct udax_crash_subset){ UDAX_CRASH_MASK, m });
	}
	/* Fence 3, T3's drain of the unchanged line 2: c0 durable (T1's C
	 * stays listed); D1 and D2 pending, the later one wins. */
	T_ASSERT(udax_crash_unit_offset(c, 3, 0) == BASE + 2 * L);
	for (uint64_t m = 0; m < 8; m++) {
		ref_lines(0xa0, 0xb0, 0xc0, m & 4 ? 0xd2 : m & 2 ? 0xd1 : 0);
		expect_image(c, 3, (struct udax_crash_subset){ UDAX_CRASH_MASK, m });
	}
	/* Fence 4, T4's drain: d2 durable; T1's older D1 can no longer land
	 * over it, chosen or not. */
	ref_lines(0xa0, 0xb0, 0xc0, 0xd2);
	for (uint64_t m = 0; m < 4; m++)
		expect_image(c, 4, (struct udax_crash_subset){ UDAX_CRASH_MASK, m });
	expect_image(c, 5, (struct udax_crash_subset){ UDAX_CRASH_MASK, 0 });
	/* Backwards: rebuilt from the snapshot. */
	ref_lines(0, 0xb0, 0, 0);
	expect_image(c, 1, (struct udax_crash_subset){ UDAX_CRASH_MASK, 0 });
	udax_crash_delete(&c);

	/* The same sequence with global fences: T2's drain makes A durable
	 * too, and C' is no unit. */
	o.flags = 0;
	memset(dev_addr + BASE, 0x11, 64 * L);
	FS_OK(udax_crash_new(dev, &o, &c));
	seq_threads(dev);
	FS_OK(udax_crash_stop(c));
	for (uint64_t k = 0; k <= 5; k++) {
		FS_OK(udax_crash_epoch(c, k, &e));
		T_ASSERT(e.units == gl_units[k]);
	}
	ref_lines(0xa0, 0xb0, 0, 0);
	expect_image(c, 1, (struct udax_crash_subset){ UDAX_CRASH_MASK, 0 });
	udax_crash_delete(&c);
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
	/* The same, byte for byte: one byte, then two runs in one line and
	 * one across a line boundary. */
	T_ASSERT(udax_crash_unflushed_bytes(c, r, 4) == 1);
	T_ASSERT(r[0].off == BASE + 7 * L + 5 && r[0].len == 1);
	line(7)[9] = 0x79;
	line(7)[10] = 0x7a;
	line(8)[L - 1] = 0x8f;
	line(9)[0] = 0x90;
	T_ASSERT(udax_crash_unflushed_bytes(c, r, 4) == 3);
	T_ASSERT(r[0].off == BASE + 7 * L + 5 && r[0].len == 1);
	T_ASSERT(r[1].off == BASE + 7 * L + 9 && r[1].len == 2);
	T_ASSERT(r[2].off == BASE + 9 * L - 1 && r[2].len == 2);
	T_ASSERT(udax_crash_unflushed_bytes(c, r, 1) == 3);	/* total */
	line(7)[9] = line(7)[10] = line(8)[L - 1] = line(9)[0] = 0x11;
	T_ASSERT(udax_crash_unflushed_bytes(c, r, 4) == 1);
	FS_OK(udax_dev_drain(dev));
	/* D */
	for (int i = 0; i < 30; i++)
		memset(line(10 + i), 0xd0 + i, L);
	FS_OK(udax_dev_flush(dev, line(10), 30 * L));
	FS_OK(udax_crash_stop(c));
	FS_OK(udax_crash_stop(c));				/* idempotent */
	FS_ERR(udax_crash_unflushed_bytes(c, r, 4), -EINVAL);	/* recording only */

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
	o.flags = 16;
	T_EXPECT_ERR(udax_crash_new(dev, &o, &c), -EINVAL);
	o.flags = 0;
	o.unit_bytes = L;				/* explicit default */
	FS_OK(udax_crash_new(dev, &o, &c));
	udax_crash_delete(&c);
	torn_lines(dev);
	per_thread_fences(dev);
	/* The device has its own persistence back. */
	FS_OK(udax_dev_persist(dev, line(0), L));
	FS_OK(udax_dev_close(&dev, 0));
	printf("dev_crash: ok\n");
	return 0;
}
