/* SPDX-License-Identifier: MIT */
/*
 * Threads on one file: each writer owns a disjoint range and checks it
 * against its own model after every write; appenders add tagged records
 * whose offsets must not overlap; a reader reads concurrently; a
 * truncate-free punch/zero thread works in its own range.  At the end
 * every range and every record is checked, also after a remount.
 */
#include <pthread.h>

#include "fs_util.h"

#define NW	3
#define RANGE	(256 * 1024)
#define REC	1000
#define BS	4096

static struct udax_fs *fs;
static struct udax_file *file;
static uint8_t model[NW][RANGE];
static long iters;

struct rec_note {
	uint64_t off;
	uint32_t tag;
};
static struct rec_note notes[2][4096];
static int nnotes[2];

/* The appended region starts past all writers' ranges. */
#define APPEND_BASE	((uint64_t)NW * RANGE)

static void *writer(void *arg)
{
	long w = (long)arg;
	uint64_t seed = 77 + w;
	static __thread uint8_t buf[3 * BS], back[3 * BS];

	for (long i = 0; i < iters; i++) {
		uint64_t off = t_rand(&seed) % (RANGE - sizeof(buf));
		size_t len = 1 + t_rand(&seed) % sizeof(buf);
		uint64_t r = t_rand(&seed);

		if (r % 8 == 0 && w == 0) {
			/* punch whole blocks of its own range */
			uint64_t b = off / BS * BS, l = BS * (1 + r % 2);

			FS_OK(udax_fallocate(file, UDAX_FALLOC_PUNCH_HOLE |
					     UDAX_FALLOC_KEEP_SIZE,
					     w * RANGE + b, l));
			memset(model[w] + b, 0, l);
			continue;
		}
		if (r % 8 == 1) {
			FS_OK(udax_fallocate(file, UDAX_FALLOC_ZERO_RANGE |
					     UDAX_FALLOC_KEEP_SIZE,
					     w * RANGE + off, len));
			memset(model[w] + off, 0, len);
		} else {
			t_fill(buf, len, r);
			T_ASSERT(udax_pwrite(file, buf, len, w * RANGE + off) ==
				 (ssize_t)len);
			memcpy(model[w] + off, buf, len);
		}
		T_ASSERT(udax_pread(file, back, len, w * RANGE + off) == (ssize_t)len);
		T_ASSERT(!memcmp(back, model[w] + off, len));
	}
	return NULL;
}

static void *appender(void *arg)
{
	long a = (long)arg;
	uint8_t rec[REC];

	for (long i = 0; i < iters / 2 && nnotes[a] < 4096; i++) {
		uint32_t tag = (uint32_t)(a << 24 | i);
		uint64_t where;

		memset(rec, (int)(tag * 7 + 1), sizeof(rec));
		memcpy(rec, &tag, sizeof(tag));
		T_ASSERT(udax_append(file, rec, sizeof(rec), &where) == REC);
		T_ASSERT(where >= APPEND_BASE);
		notes[a][nnotes[a]].off = where;
		notes[a][nnotes[a]++].tag = tag;
	}
	return NULL;
}

static void *reader(void *arg)
{
	static __thread uint8_t buf[64 * 1024];
	uint64_t seed = 5;

	(void)arg;
	for (long i = 0; i < iters; i++) {
		struct udax_stat st;
		uint64_t off = t_rand(&seed) % (APPEND_BASE + 100000);

		FS_OK(udax_fstat(file, &st));
		T_ASSERT(st.size >= APPEND_BASE);
		FS_OK(udax_pread(file, buf, sizeof(buf), off));
	}
	return NULL;
}

static void check_all(struct udax_file *f)
{
	static uint8_t back[RANGE];
	uint8_t rec[REC];

	for (int w = 0; w < NW; w++) {
		T_ASSERT(udax_pread(f, back, RANGE, w * (uint64_t)RANGE) == RANGE);
		T_ASSERT(!memcmp(back, model[w], RANGE));
	}
	for (int a = 0; a < 2; a++)
		for (int i = 0; i < nnotes[a]; i++) {
			T_ASSERT(udax_pread(f, rec, REC, notes[a][i].off) == REC);
			T_ASSERT(!memcmp(rec, &notes[a][i].tag, 4));
			T_ASSERT(rec[REC - 1] == (uint8_t)(notes[a][i].tag * 7 + 1));
		}
}

int main(void)
{
	struct udax_dev *dev;
	pthread_t t[NW + 3];
	struct udax_stat st;

	iters = t_iters(2000);
	fs = t_fs_new("mem:64M", &dev);
	FS_OK(udax_open(fs, "/f", O_RDWR | O_CREAT, 0644, &file));
	FS_OK(udax_ftruncate(file, APPEND_BASE));
	for (long w = 0; w < NW; w++)
		T_ASSERT(!pthread_create(&t[w], NULL, writer, (void *)w));
	T_ASSERT(!pthread_create(&t[NW], NULL, appender, (void *)0));
	T_ASSERT(!pthread_create(&t[NW + 1], NULL, appender, (void *)1));
	T_ASSERT(!pthread_create(&t[NW + 2], NULL, reader, NULL));
	for (int i = 0; i < NW + 3; i++)
		T_ASSERT(!pthread_join(t[i], NULL));
	FS_OK(udax_fstat(file, &st));
	T_ASSERT(st.size == APPEND_BASE + (uint64_t)(nnotes[0] + nnotes[1]) * REC);
	check_all(file);
	FS_OK(udax_close(&file));
	t_fs_remount(dev, &fs);
	FS_OK(udax_open(fs, "/f", O_RDONLY, 0, &file));
	check_all(file);
	FS_OK(udax_close(&file));
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
