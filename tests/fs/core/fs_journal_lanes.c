/* SPDX-License-Identifier: MIT */
/*
 * The journal's lanes.  Threads commit in lanes of their own: two
 * threads' transactions are pending in two lanes at once, each header
 * valid on media.  A commit that writes a byte another lane's pending
 * transaction wrote settles that lane first: otherwise the older header
 * outlives the newer one (its lane's next commit replaces that) and a
 * replay writes the older bytes back.  Checked on an image of the media
 * as the stores left them (every store reached media: what a power
 * failure right then may leave), mounted in place of the file system.
 * Also the lanes' geometry: they tile the journal, lane 0 is the large
 * one, and every lane count mkfs picks leaves lanes of at least
 * FS_JNL_LANE_MIN blocks.
 */
#include <pthread.h>

#include "fs/core.h"
#include "fs_util.h"

static struct udax_fs *fs;
static struct udax_dev *dev;

static void geometry(void)
{
	static const uint32_t jbs[] = { 2, 4, 15, 16, 31, 32, 64, 100, 255, 256,
					1000, 4096 };

	T_ASSERT(fs_jlane_count(4) == 1 && fs_jlane_count(16) == 2 &&
		 fs_jlane_count(64) == 4 && fs_jlane_count(256) == 8);
	for (size_t i = 0; i < sizeof(jbs) / sizeof(jbs[0]); i++) {
		struct fs_dsuper sb = { .journal_blocks = jbs[i] };
		uint32_t next = 0, first, nb, n0 = 0;

		sb.journal_lanes = fs_jlane_count(jbs[i]);
		T_ASSERT(sb.journal_lanes >= 1 && sb.journal_lanes <= FS_JNL_LANES_MAX);
		for (uint32_t k = 0; k < sb.journal_lanes; k++) {
			fs_jlane_geom(&sb, k, &first, &nb);
			T_ASSERT(first == next);
			T_ASSERT(sb.journal_lanes == 1 || nb >= FS_JNL_LANE_MIN);
			if (!k)
				n0 = nb;
			T_ASSERT(nb <= n0);
			next = first + nb;
		}
		T_ASSERT(next == jbs[i] && 2 * n0 >= jbs[i]);
		T_ASSERT(fs_journal_max_body(&sb) == (n0 - 1) * 4096ull);
	}
}

/* The lane whose committed transaction writes inode @ino's record; -1 if
 * none.  Fails if two do. */
static int lane_of(uint32_t ino)
{
	struct fs_core *c = C(fs);
	uint64_t off = c->sb.itable_start * 4096ull + ino * 256ull;
	struct fs_jtxn jt[FS_JNL_LANES_MAX];
	int n = fs_journal_load_all(fs, jt), found = -1;

	T_ASSERT(n >= 0);
	for (int k = 0; k < FS_JNL_LANES_MAX; k++) {
		for (uint32_t r = 0; r < jt[k].nrec; r++)
			if (jt[k].rec[r].off <= off &&
			    off < jt[k].rec[r].off + jt[k].rec[r].len) {
				T_ASSERT(found < 0 || found == k);
				found = k;
			}
		fs_jtxn_free(&jt[k]);
	}
	return found;
}

static uint32_t ino_of(const char *path)
{
	struct udax_stat st;

	FS_OK(udax_stat(fs, path, &st));
	return (uint32_t)st.ino;
}

/* A thread's work: chmod each of its paths to its mode, in turn. */
struct work {
	const char *path[2];
	mode_t mode[2];
	int lane[2];			/* the lane of each commit, after it */
	uint32_t ino[2];
};

static void *worker(void *arg)
{
	struct work *w = arg;

	for (int i = 0; i < 2 && w->path[i]; i++) {
		FS_OK(udax_chmod(fs, w->path[i], w->mode[i]));
		w->lane[i] = lane_of(w->ino[i]);
	}
	return NULL;
}

static void run(struct work *w)
{
	pthread_t t;

	T_ASSERT(pthread_create(&t, NULL, worker, w) == 0);
	T_ASSERT(pthread_join(t, NULL) == 0);
}

int main(void)
{
	struct udax_part_info pi;
	uint32_t x, y, z;
	char *image;
	struct work a, b;

	geometry();
	fs = t_fs_new("mem:64M", &dev);
	T_ASSERT(C(fs)->nlanes == 8);
	t_write_file(fs, "/x", "x", 1);
	t_write_file(fs, "/y", "y", 1);
	t_write_file(fs, "/z", "z", 1);
	x = ino_of("/x");
	y = ino_of("/y");
	z = ino_of("/z");

	/* Thread a changes x, thread b changes z: both pending at once, in
	 * two lanes. */
	a = (struct work){ { "/x" }, { 0600 }, { -1 }, { x } };
	b = (struct work){ { "/z" }, { 0640 }, { -1 }, { z } };
	run(&a);
	run(&b);
	T_ASSERT(a.lane[0] >= 0 && b.lane[0] >= 0 && a.lane[0] != b.lane[0]);
	T_ASSERT(lane_of(x) == a.lane[0] && lane_of(z) == b.lane[0]);

	/* Another thread changes x, then y: x's first change must not be
	 * pending in a's lane any more. */
	b = (struct work){ { "/x", "/y" }, { 0604, 0606 }, { -1, -1 }, { x, y } };
	run(&b);
	T_ASSERT(b.lane[0] >= 0 && b.lane[0] != a.lane[0]);
	T_ASSERT(b.lane[1] == b.lane[0] && lane_of(x) == -1);

	/* The media as they are, mounted: x has its last mode. */
	FS_OK(udax_dev_part(dev, 0, &pi));
	image = malloc(pi.size);
	T_ASSERT(image);
	memcpy(image, pi.addr, pi.size);
	FS_OK(udax_unmount(&fs));
	memcpy(pi.addr, image, pi.size);
	free(image);
	fs = t_fs_mount(dev);
	T_ASSERT(t_mode_of(fs, "/x") == 0604);
	T_ASSERT(t_mode_of(fs, "/y") == 0606);
	T_ASSERT(t_mode_of(fs, "/z") == 0640);
	FS_OK(udax_unmount(&fs));
	FS_OK(udax_dev_close(&dev, 0));
	return 0;
}
