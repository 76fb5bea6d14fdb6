/* SPDX-License-Identifier: MIT */
/*
 * Stress: writers mutate their own files (write, append, truncate, punch,
 * zero, collapse, insert) against a model, with layout breaks in every
 * mode, while "DMA" threads pin random ranges of every file, read through
 * the pins (as a device would), hold them a while and unpin, and viewers
 * map and read views.  A writer whose break fails (-EBUSY, -ETIMEDOUT)
 * checks that its file did not change, then goes on.
 *
 * At the end: every file matches its model (also after a remount), no
 * block is left busy, and removing everything gives every block and inode
 * back.  Run under ASan and TSan; a reused pinned block, a lost or doubled
 * free, or a race shows up as a model mismatch, a free-count mismatch or a
 * sanitizer report.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <udax/fs.h>

#include "testutil.h"

#define BS		UDAX_FS_BLOCK_SIZE
#define WRITERS		3
#define PINNERS		2
#define MAX_BLK		96

struct model {
	char path[16];
	uint8_t data[MAX_BLK * BS];
	uint64_t size;
};

static struct udax_dev *dev;
static struct udax_fs *fs;
static struct model models[WRITERS];
static _Atomic int stop;
static _Atomic long n_ops, n_busy, n_pins, n_views;

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static void check_model(struct udax_file *f, const struct model *m)
{
	static __thread uint8_t buf[MAX_BLK * BS];
	struct udax_stat st;
	ssize_t r;

	T_EXPECT_ERR(udax_fstat(f, &st), 0);
	T_ASSERT(st.size == m->size);
	r = udax_pread(f, buf, sizeof(buf), 0);
	T_ASSERT(r == (ssize_t)m->size);
	if (memcmp(buf, m->data, m->size)) {
		for (uint64_t i = 0; i < m->size; i++)
			if (buf[i] != m->data[i]) {
				fprintf(stderr, "%s: byte %llu is %#x, model %#x\n", m->path,
					(unsigned long long)i, buf[i], m->data[i]);
				break;
			}
		exit(1);
	}
}

/*
 * A layout break that pinned pages held back: only -EBUSY (NOWAIT) or
 * -ETIMEDOUT (TIMEOUT) may refuse it, and then nothing changed.
 */
static bool break_refused(int ret)
{
	if (!ret)
		return false;
	T_ASSERT(ret == -EBUSY || ret == -ETIMEDOUT);
	n_busy++;
	return true;
}

static void *writer(void *arg)
{
	int id = (int)(uintptr_t)arg;
	struct model *m = &models[id];
	unsigned seed = 1000u + (unsigned)id;
	long n = t_iters(1500);
	struct udax_file *f;
	uint8_t buf[8 * BS];

	T_EXPECT_ERR(udax_open(fs, m->path, O_RDWR, 0, &f), 0);
	for (long k = 0; k < n; k++) {
		struct udax_break_opts brk = { (enum udax_break_mode)(rnd(&seed) % 4), 200000 };
		uint64_t off = (uint64_t)(rnd(&seed) % MAX_BLK) * BS / (rnd(&seed) % 2 ? 1 : 3);
		uint64_t len = 1 + rnd(&seed) % sizeof(buf);
		uint64_t blk_off = off / BS * BS, blk_len = (1 + rnd(&seed) % 8) * BS;
		int op = (int)(rnd(&seed) % 8), ret;

		memset(buf, 'a' + (int)(rnd(&seed) % 26), sizeof(buf));
		switch (op) {
		case 0: case 1:		/* write */
			if (off + len > MAX_BLK * BS)
				len = MAX_BLK * BS - off;
			T_ASSERT(udax_pwrite(f, buf, len, off) == (ssize_t)len);
			if (off > m->size)
				memset(m->data + m->size, 0, off - m->size);
			memcpy(m->data + off, buf, len);
			if (off + len > m->size)
				m->size = off + len;
			break;
		case 2:			/* truncate, up or down */
			off = off < MAX_BLK * BS ? off : MAX_BLK * BS;
			ret = udax_ftruncate_ex(f, off, &brk);
			if (break_refused(ret))
				break;
			if (off > m->size)
				memset(m->data + m->size, 0, off - m->size);
			m->size = off;
			break;
		case 3:			/* punch */
			ret = udax_fallocate_ex(f, UDAX_FALLOC_PUNCH_HOLE | UDAX_FALLOC_KEEP_SIZE,
						off, len, &brk);
			if (break_refused(ret))
				break;
			if (off < m->size)
				memset(m->data + off, 0, (off + len < m->size ? off + len : m->size) - off);
			break;
		case 4:			/* zero range (may extend) */
			if (off + len > MAX_BLK * BS)
				break;
			ret = udax_fallocate_ex(f, UDAX_FALLOC_ZERO_RANGE, off, len, &brk);
			if (break_refused(ret))
				break;
			if (off > m->size)
				memset(m->data + m->size, 0, off - m->size);
			memset(m->data + off, 0, len);
			if (off + len > m->size)
				m->size = off + len;
			break;
		case 5:			/* collapse: block-aligned, inside the file */
			if (blk_off + blk_len >= m->size)
				break;
			ret = udax_fallocate_ex(f, UDAX_FALLOC_COLLAPSE_RANGE, blk_off, blk_len, &brk);
			if (break_refused(ret))
				break;
			memmove(m->data + blk_off, m->data + blk_off + blk_len,
				m->size - blk_off - blk_len);
			m->size -= blk_len;
			break;
		case 6:			/* insert: block-aligned, inside the file */
			if (blk_off >= m->size || m->size + blk_len > MAX_BLK * BS)
				break;
			ret = udax_fallocate_ex(f, UDAX_FALLOC_INSERT_RANGE, blk_off, blk_len, &brk);
			if (break_refused(ret))
				break;
			memmove(m->data + blk_off + blk_len, m->data + blk_off, m->size - blk_off);
			memset(m->data + blk_off, 0, blk_len);
			m->size += blk_len;
			break;
		case 7:
			check_model(f, m);
			break;
		}
		n_ops++;
		if (k % 64 == 0)
			check_model(f, m);	/* failed breaks changed nothing */
	}
	check_model(f, m);
	T_EXPECT_ERR(udax_close(&f), 0);
	return NULL;
}

/* A device reading file pages: pin, read every pinned byte, unpin. */
static void *pinner(void *arg)
{
	unsigned seed = 77u + (unsigned)(uintptr_t)arg;
	struct udax_file *f[WRITERS];
	volatile uint8_t sink = 0;

	for (int i = 0; i < WRITERS; i++)
		T_EXPECT_ERR(udax_open(fs, models[i].path, O_RDONLY, 0, &f[i]), 0);
	while (!atomic_load(&stop)) {
		struct udax_file *fi = f[rnd(&seed) % WRITERS];
		uint64_t off = (uint64_t)(rnd(&seed) % MAX_BLK) * BS;
		size_t len = (1 + rnd(&seed) % 8) * BS;
		struct udax_pin *pin;
		struct udax_view *v;
		void *addr;
		int ret;

		if (rnd(&seed) % 4 == 0) {
			/* Map and unmap, racing breaks that invalidate views;
			 * no load: a view broken meanwhile faults, by design. */
			ret = udax_view_map(fi, off, len, 0, &v, &addr);
			if (!ret) {
				T_EXPECT_ERR(udax_view_unmap(&v), 0);
				n_views++;
			} else {
				T_ASSERT(ret == -ENODATA || ret == -EINVAL);
			}
			continue;
		}
		ret = udax_pin(fi, off, len, 0, &pin);
		if (ret) {
			T_ASSERT(ret == -ENODATA || ret == -EINVAL);
			continue;
		}
		/* Read as a device would.  A device reading a page while its
		 * owner writes the same file range is a race of the program,
		 * not of udax, and DMA is invisible to ThreadSanitizer: there
		 * the pins are held without reads; elsewhere (ASan) the reads
		 * check that pinned addresses stay valid memory. */
#ifndef __SANITIZE_THREAD__
		for (size_t i = 0; i < udax_pin_nr_pages(pin); i++)
			for (size_t b = 0; b < BS; b += 512)
				sink ^= ((volatile uint8_t *)udax_pin_page_addr(pin, i))[b];
#endif
		if (rnd(&seed) % 2)
			sched_yield();		/* keep it pinned across a break */
		T_EXPECT_ERR(udax_unpin(&pin), 0);
		n_pins++;
	}
	for (int i = 0; i < WRITERS; i++)
		T_EXPECT_ERR(udax_close(&f[i]), 0);
	(void)sink;
	return NULL;
}

int main(void)
{
	struct udax_statfs empty, st;
	pthread_t w[WRITERS], p[PINNERS];
	struct udax_file *f;

	T_EXPECT_ERR(udax_dev_open("mem:32M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	for (int i = 0; i < WRITERS; i++) {
		snprintf(models[i].path, sizeof(models[i].path), "/f%d", i);
		T_EXPECT_ERR(udax_open(fs, models[i].path, O_CREAT | O_RDWR, 0644, &f), 0);
		T_EXPECT_ERR(udax_close(&f), 0);
	}
	/* The baseline: empty files (the root directory keeps its block). */
	T_EXPECT_ERR(udax_statfs(fs, &empty), 0);
	for (int i = 0; i < PINNERS; i++)
		pthread_create(&p[i], NULL, pinner, (void *)(uintptr_t)i);
	for (int i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)i);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	atomic_store(&stop, 1);
	for (int i = 0; i < PINNERS; i++)
		pthread_join(p[i], NULL);

	/* Nothing pinned any more: nothing busy. */
	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	T_ASSERT(st.blocks_busy == 0);
	/* The same after a remount. */
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	for (int i = 0; i < WRITERS; i++) {
		T_EXPECT_ERR(udax_open(fs, models[i].path, O_RDONLY, 0, &f), 0);
		check_model(f, &models[i]);
		T_EXPECT_ERR(udax_close(&f), 0);
		T_EXPECT_ERR(udax_unlink(fs, models[i].path), 0);
	}
	/* Every block and inode back (three inodes fewer in use). */
	T_EXPECT_ERR(udax_statfs(fs, &st), 0);
	if (st.blocks_free != empty.blocks_free || st.inodes_free != empty.inodes_free + WRITERS) {
		fprintf(stderr, "blocks free %llu (want %llu), inodes free %llu (want %llu)\n",
			(unsigned long long)st.blocks_free, (unsigned long long)empty.blocks_free,
			(unsigned long long)st.inodes_free,
			(unsigned long long)empty.inodes_free + WRITERS);
		return 1;
	}
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	printf("fs_stress: %ld ops, %ld breaks refused (busy/timeout), %ld pins, %ld views\n",
	       (long)n_ops, (long)n_busy, (long)n_pins, (long)n_views);
	return 0;
}
