/* SPDX-License-Identifier: MIT */
/*
 * The fast log (src/fs/log.c): durable appends as 64-byte records.
 *
 *   - appends across several ring retires read back, after a remount too;
 *   - an image taken while appends are only in the log (as after a crash)
 *     mounts with them replayed, fsck clean before and after;
 *   - the newest record torn: the append before it is the state;
 *   - a record that does not lengthen its inode's last extent, or that
 *     claims another file's blocks: mount -EUCLEAN, fsck reports it;
 *   - a version 2 image is refused, saying so;
 *   - an inode number reused after a remount with the same generation
 *     (the freed inode had the highest one): the old inode's records,
 *     still in the log, are stale for the new inode after a crash;
 *   - threads appending to their own files (and overwriting, truncating
 *     now and then: journal transactions of inodes with pending appends)
 *     each read back their own model, after a remount too, fsck clean.
 */
#include <pthread.h>
#include <udax/fsck.h>

#include "fs/core.h"
#include "fs_util.h"

#define BS	4096
#define NT	4

static struct udax_dev *dev;
static char *part;
static size_t part_size;

static void check_file(struct udax_fs *fs, const char *path, const uint8_t *want,
		       size_t n)
{
	size_t got;
	uint8_t *b = t_read_file(fs, path, &got);

	if (got != n || memcmp(b, want, n)) {
		fprintf(stderr, "%s: %zu bytes, want %zu%s\n", path, got, n,
			got == n ? " (content differs)" : "");
		exit(1);
	}
	free(b);
}

static uint64_t fsck_problems(void)
{
	struct udax_fsck_report r;

	FS_OK(udax_fsck(dev, 0, 0, NULL, NULL, &r));
	return r.problems;
}

static struct fs_dlrec *newest_record(char *img, uint32_t ino)
{
	const struct fs_dsuper *sb = (const void *)img;
	struct fs_dlrec *best = NULL;
	uint64_t n = (uint64_t)sb->log_areas * sb->log_area_blocks * FS_LOG_PER_BLOCK;

	for (uint64_t k = 0; k < n; k++) {
		struct fs_dlrec *r = (void *)(img + sb->log_start * FS_BS + k * 64);

		if (fs_dlrec_valid(r) && r->ino == ino && (!best || r->seq > best->seq))
			best = r;
	}
	return best;
}

static void restore(const char *img)
{
	memcpy(part, img, part_size);
}

/* Appends, retires, a crash image with pending records, torn and bad
 * records. */
static void single(void)
{
	static uint8_t model[3200 * BS];
	struct udax_fs *fs;
	struct udax_file *f, *g;
	struct udax_stat st;
	struct udax_statfs sf, sf2;
	struct fs_dlrec *r, keep;
	char *img = malloc(part_size);
	size_t n = 0;
	int ret;

	T_ASSERT(img);
	FS_OK(udax_mkfs(dev, 0, NULL));
	fs = t_fs_mount(dev);
	t_fill(model, sizeof(model), 7);
	FS_OK(udax_open(fs, "/a", O_RDWR | O_CREAT, 0644, &f));
	T_ASSERT(udax_pwrite(f, model, 2 * BS, 0) == 2 * BS);
	n = 2 * BS;
	/* More appends than an area's 1,024 records: retired halves. */
	for (int k = 0; k < 2500; k++) {
		T_ASSERT(udax_append(f, model + n, BS, NULL) == BS);
		n += BS;
	}
	T_ASSERT(udax_append(f, model + n, 1000, NULL) == 1000);
	n += 1000;
	check_file(fs, "/a", model, n);
	/* An append after a partial block: the journal's, after records. */
	T_ASSERT(udax_append(f, model + n, 3096, NULL) == 3096);
	n += 3096;
	T_ASSERT(udax_append(f, model + n, 2 * BS, NULL) == 2 * BS);
	n += 2 * BS;
	/* Another file, so that /a's neighbours are owned. */
	FS_OK(udax_open(fs, "/b", O_RDWR | O_CREAT, 0644, &g));
	T_ASSERT(udax_pwrite(g, model, 40 * BS, 0) == 40 * BS);
	FS_OK(udax_close(&g));
	T_ASSERT(udax_append(f, model + n, BS, NULL) == BS);
	n += BS;
	T_ASSERT(udax_append(f, model + n, 500, NULL) == 500);
	n += 500;
	check_file(fs, "/a", model, n);
	FS_OK(udax_fstat(f, &st));
	/* The image now, as a crash would leave it: the last appends only in
	 * the log (the file is open: no checkpoint yet). */
	memcpy(img, part, part_size);
	r = newest_record(img, (uint32_t)st.ino);
	T_ASSERT(r && r->size == n);
	/* Free space counts the blocks still reserved for /a as free and
	 * the ones its appends took (without the allocator) as used: the
	 * same count a mount rebuilds from the extents. */
	FS_OK(udax_statfs(fs, &sf));
	FS_OK(udax_close(&f));
	t_fs_remount(dev, &fs);
	check_file(fs, "/a", model, n);
	FS_OK(udax_statfs(fs, &sf2));
	T_ASSERT(sf.blocks_free == sf2.blocks_free);
	FS_OK(udax_unmount(&fs));
	T_ASSERT(fsck_problems() == 0);

	/* The crash image: fsck clean (pending appends), mount replays. */
	restore(img);
	T_ASSERT(fsck_problems() == 0);
	fs = t_fs_mount(dev);
	check_file(fs, "/a", model, n);
	FS_OK(udax_unmount(&fs));
	T_ASSERT(fsck_problems() == 0);

	/* The newest record torn: the append of 500 bytes never happened. */
	restore(img);
	r = newest_record(part, (uint32_t)st.ino);
	((uint8_t *)r)[40] ^= 1;
	fs = t_fs_mount(dev);
	check_file(fs, "/a", model, n - 500);
	FS_OK(udax_unmount(&fs));
	T_ASSERT(fsck_problems() == 0);

	/* A valid record that does not lengthen the last extent. */
	restore(img);
	r = newest_record(part, (uint32_t)st.ino);
	keep = *r;
	r->lblk++;
	r->size += BS;
	r->crc = fs_dlrec_crc(r);
	T_ASSERT(fsck_problems() >= 1);
	FS_ERR(udax_mount(dev, 0, NULL, &fs), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "log record"));

	/* One that claims blocks past the file's: far enough to reach /b's
	 * or other owned blocks (the reservation is DRAM only: its blocks
	 * are free on media, so go past them). */
	restore(img);
	r = newest_record(part, (uint32_t)st.ino);
	*r = keep;
	{
		const struct fs_dsuper *sb = (const void *)part;
		uint64_t add = sb->nr_blocks - (r->pblk + r->len);

		/* Up to the end of the partition: the data area's start
		 * and the inode table's are owned, so go the other way:
		 * any owned block after the extent does it. */
		r->len += (uint32_t)add;
		r->size = (uint64_t)(r->lblk + r->len) * BS;
		r->crc = fs_dlrec_crc(r);
	}
	T_ASSERT(fsck_problems() >= 1);
	ret = udax_mount(dev, 0, NULL, &fs);
	T_ASSERT(ret == -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "owned"));

	/* Format version 2: refused with a message that says so. */
	restore(img);
	for (int c = 0; c < 2; c++) {
		struct fs_dsuper *s = (void *)(part + c * FS_BS);

		s->version = 2;
		s->crc = udax_crc32c(0, s, 252);
	}
	FS_ERR(udax_mount(dev, 0, NULL, &fs), -EUCLEAN);
	T_ASSERT(strstr(udax_fs_last_error(), "version 2"));
	restore(img);
	free(img);
}

/* ---- threads ------------------------------------------------------------------------ */

#define PER_THREAD	1500

struct worker {
	struct udax_fs *fs;
	int id;
	uint8_t *model;
	size_t n;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct udax_file *f;
	char path[32];
	uint64_t seed = 1000 + (uint64_t)w->id;

	snprintf(path, sizeof(path), "/t%d", w->id);
	FS_OK(udax_open(w->fs, path, O_RDWR | O_CREAT, 0644, &f));
	for (int k = 0; k < PER_THREAD; k++) {
		uint64_t r = t_rand(&seed);

		if (r % 97 == 0 && w->n > 3 * BS) {
			/* An in-place overwrite: no size change. */
			size_t off = (size_t)(r >> 8) % (w->n - 100);

			t_fill(w->model + off, 100, r);
			T_ASSERT(udax_pwrite(f, w->model + off, 100, off) == 100);
		} else if (r % 89 == 0 && w->n > 3 * BS) {
			/* A truncate: a journal transaction of the inode. */
			w->n -= BS + (size_t)(r >> 8) % BS;
			FS_OK(udax_ftruncate(f, w->n));
		} else {
			size_t len = r % 7 == 0 ? 1 + (size_t)(r >> 8) % BS : BS;

			t_fill(w->model + w->n, len, r);
			T_ASSERT(udax_append(f, w->model + w->n, len, NULL) ==
				 (ssize_t)len);
			w->n += len;
		}
	}
	FS_OK(udax_close(&f));
	return NULL;
}

static void threads(void)
{
	struct worker w[NT];
	pthread_t th[NT];
	struct udax_fs *fs;
	char path[32];

	FS_OK(udax_mkfs(dev, 0, NULL));
	fs = t_fs_mount(dev);
	for (int i = 0; i < NT; i++) {
		w[i] = (struct worker){ .fs = fs, .id = i,
					.model = calloc(PER_THREAD + 2, BS) };
		T_ASSERT(w[i].model);
		T_ASSERT(!pthread_create(&th[i], NULL, work, &w[i]));
	}
	for (int i = 0; i < NT; i++)
		T_ASSERT(!pthread_join(th[i], NULL));
	for (int i = 0; i < NT; i++) {
		snprintf(path, sizeof(path), "/t%d", i);
		check_file(fs, path, w[i].model, w[i].n);
	}
	t_fs_remount(dev, &fs);
	for (int i = 0; i < NT; i++) {
		snprintf(path, sizeof(path), "/t%d", i);
		check_file(fs, path, w[i].model, w[i].n);
		free(w[i].model);
	}
	FS_OK(udax_unmount(&fs));
	T_ASSERT(fsck_problems() == 0);
}

/*
 * Records are numbered per inode; a new inode must start above every
 * number an earlier inode of its number used, since the generation alone
 * may repeat across a remount (it is rebuilt from the live inodes).
 */
static void reuse(void)
{
	static uint8_t model[8 * BS];
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_stat st, st2;
	char *img = malloc(part_size);

	T_ASSERT(img);
	FS_OK(udax_mkfs(dev, 0, NULL));
	fs = t_fs_mount(dev);
	t_fill(model, sizeof(model), 3);
	FS_OK(udax_open(fs, "/old", O_RDWR | O_CREAT, 0644, &f));
	for (int k = 0; k < 8; k++)
		T_ASSERT(udax_append(f, model + k * BS, BS, NULL) == BS);
	FS_OK(udax_fstat(f, &st));
	FS_OK(udax_close(&f));
	T_ASSERT(newest_record(part, (uint32_t)st.ino));
	FS_OK(udax_unlink(fs, "/old"));
	t_fs_remount(dev, &fs);
	FS_OK(udax_open(fs, "/new", O_RDWR | O_CREAT, 0644, &f));
	FS_OK(udax_fstat(f, &st2));
	/* The premise: same number, same generation, old records on media. */
	T_ASSERT(st2.ino == st.ino && st2.gen == st.gen);
	T_ASSERT(newest_record(part, (uint32_t)st.ino));
	/* A crash now: the old records must not lengthen /new. */
	memcpy(img, part, part_size);
	FS_OK(udax_close(&f));
	FS_OK(udax_unmount(&fs));
	restore(img);
	fs = t_fs_mount(dev);
	FS_OK(udax_stat(fs, "/new", &st2));
	T_ASSERT(st2.size == 0 && st2.blocks == 0);
	FS_OK(udax_unmount(&fs));
	T_ASSERT(fsck_problems() == 0);
	free(img);
}

int main(void)
{
	struct udax_part_info pi;

	dev = t_fs_dev("mem:64M");
	FS_OK(udax_dev_part(dev, 0, &pi));
	part = pi.addr;
	part_size = pi.size;
	single();
	reuse();
	threads();
	FS_OK(udax_dev_close(&dev, 0));
	printf("fs_log: ok\n");
	return 0;
}
