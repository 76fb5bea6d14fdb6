/* SPDX-License-Identifier: MIT */
/*
 * udax bench fs: udax against a kernel directory (default /dev/shm, a
 * tmpfs; ext4 -o dax under ../shared/kvm-dax), same operations, same sizes,
 * same run, and against the physical floor of the device udax runs on
 * (default mem:512M,persist=cpu: memory that pays cache-line write-back
 * and fences as PMem/CXL does).
 *
 * Every figure is measured in rounds whose order alternates (udax, kernel,
 * floor; then floor, kernel, udax; ...), so that neither side always runs
 * first, on a colder cache or a quieter machine; latencies are p50 / p99 /
 * mean over all rounds' calls, throughputs the median of the rounds.  Each
 * figure comes with same-run ratios: udax to the kernel, udax to the floor.
 *
 * The floor is measured on the device's own memory: a scratch area at its
 * end, outside the file system's partition, takes the floor's stores
 * (memcpy 4 KiB; memcpy 4 KiB + write-back of its 64 lines + fence, as the
 * device persists; non-temporal stores + fence); loads for the read floor
 * come from udax's big file itself, through a populated view: the same
 * bytes a read copies, without the file system.
 *
 * Both sides skip fsync in the timed loops (on tmpfs it does nothing, and
 * udax writes are durable when they return).
 *
 * udax bench scale (fs_bench_scale) prints the curves: stat and create
 * against directory size, append against file size with two files growing
 * alternately, one thread against two, and the read / view / map figures.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <emmintrin.h>
#endif

#include <udax/crc32c.h>
#include <udax/fs.h>

#include "bench_util.h"
#include "fs_bench.h"

#define BS 4096u
#define MiB (1ull << 20)
#define DIR_REC 256u		/* udax's inode record: the stat floor's unit */
#define ROUNDS 4		/* alternating order: ABC CBA ABC CBA */
#define ACCESS_REPS 3		/* map_access: ROUNDS rounds, three times */

/* ---- two back ends behind one table ------------------------------------ */

struct be {
	const char *name;
	struct udax_fs *fs;		/* udax */
	const char *dir;		/* kernel */
	int (*open)(struct be *b, const char *name, bool create, void **fh);
	ssize_t (*pwrite)(void *fh, const void *p, size_t n, uint64_t off);
	ssize_t (*pread)(void *fh, void *p, size_t n, uint64_t off);
	ssize_t (*append)(void *fh, const void *p, size_t n);
	int (*truncate)(void *fh, uint64_t size);
	int (*close)(void *fh);
	int (*unlink)(struct be *b, const char *name);
	int (*rename)(struct be *b, const char *from, const char *to);
	/* Map [0, len) for loads and stores (page tables filled now if
	 * @populate); *cookie is for unmap. */
	void *(*map)(void *fh, size_t len, bool populate, void **cookie);
	void (*unmap)(void *cookie, void *addr, size_t len);
};

static int u_open(struct be *b, const char *name, bool create, void **fh)
{
	char path[256];

	snprintf(path, sizeof(path), "/%s", name);
	return udax_open(b->fs, path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644,
			 (struct udax_file **)fh);
}
static ssize_t u_pwrite(void *fh, const void *p, size_t n, uint64_t off) { return udax_pwrite(fh, p, n, off); }
static ssize_t u_pread(void *fh, void *p, size_t n, uint64_t off) { return udax_pread(fh, p, n, off); }
static ssize_t u_append(void *fh, const void *p, size_t n) { return udax_append(fh, p, n, NULL); }
static int u_truncate(void *fh, uint64_t size) { return udax_ftruncate(fh, size); }
static int u_close(void *fh) { struct udax_file *f = fh; return udax_close(&f); }
static int u_unlink(struct be *b, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "/%s", name);
	return udax_unlink(b->fs, path);
}
static int u_rename(struct be *b, const char *from, const char *to)
{
	char f[256], t[256];

	snprintf(f, sizeof(f), "/%s", from);
	snprintf(t, sizeof(t), "/%s", to);
	return udax_rename(b->fs, f, t, 0);
}
static void *u_map(void *fh, size_t len, bool populate, void **cookie)
{
	void *addr;

	return udax_view_map(fh, 0, len, UDAX_VIEW_WRITE |
			     (populate ? UDAX_VIEW_POPULATE : 0),
			     (struct udax_view **)cookie, &addr) ? NULL : addr;
}
static void u_unmap(void *cookie, void *addr, size_t len)
{
	struct udax_view *v = cookie;

	(void)addr;
	(void)len;
	udax_view_unmap(&v);
}

static int k_open(struct be *b, const char *name, bool create, void **fh)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	fd = open(path, O_RDWR | (create ? O_CREAT | O_TRUNC : 0), 0644);
	if (fd < 0)
		return -errno;
	*fh = (void *)(intptr_t)(fd + 1);
	return 0;
}
#define KFD(fh) ((int)(intptr_t)(fh) - 1)
static ssize_t k_pwrite(void *fh, const void *p, size_t n, uint64_t off)
{
	ssize_t r = pwrite(KFD(fh), p, n, (off_t)off);
	return r < 0 ? -errno : r;
}
static ssize_t k_pread(void *fh, void *p, size_t n, uint64_t off)
{
	ssize_t r = pread(KFD(fh), p, n, (off_t)off);
	return r < 0 ? -errno : r;
}
static ssize_t k_append(void *fh, const void *p, size_t n)
{
	off_t end = lseek(KFD(fh), 0, SEEK_END);
	ssize_t r = end < 0 ? -1 : pwrite(KFD(fh), p, n, end);
	return r < 0 ? -errno : r;
}
static int k_truncate(void *fh, uint64_t size) { return ftruncate(KFD(fh), (off_t)size) ? -errno : 0; }
static int k_close(void *fh) { return close(KFD(fh)) ? -errno : 0; }
static int k_unlink(struct be *b, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", b->dir, name);
	return unlink(path) ? -errno : 0;
}
static int k_rename(struct be *b, const char *from, const char *to)
{
	char f[4096], t[4096];

	snprintf(f, sizeof(f), "%s/%s", b->dir, from);
	snprintf(t, sizeof(t), "%s/%s", b->dir, to);
	return rename(f, t) ? -errno : 0;
}
static void *k_map(void *fh, size_t len, bool populate, void **cookie)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | (populate ? MAP_POPULATE : 0), KFD(fh), 0);

	*cookie = NULL;
	return p == MAP_FAILED ? NULL : p;
}
static void k_unmap(void *cookie, void *addr, size_t len)
{
	(void)cookie;
	munmap(addr, len);
}

/* ---- the run's state ------------------------------------------------------ */

enum { U, K, F, NSIDES };	/* udax, kernel, the device's floor */
static const char *const side_name[NSIDES] = { "udax", "kernel", "floor" };
#define M_U (1u << U)
#define M_K (1u << K)
#define M_F (1u << F)
/* The floor is a part of the operation, not the same operation: no
 * udax-to-floor ratio (the figure's own code states what it means). */
#define M_FPART (1u << NSIDES)

/* What the floor side does in a step. */
enum floor_kind {
	FL_PERSIST,		/* memcpy + write-back of its lines + fence */
	FL_MEMCPY,		/* memcpy only */
	FL_NT,			/* non-temporal stores + fence */
};

struct run {
	const struct fs_bench_opts *o;
	struct bench_report *r;
	struct be *be[2];		/* U, K */
	struct udax_dev *dev;
	char *buf;			/* BS bytes: the source of writes */
	char *big;			/* file_size bytes */
	char *scratch;			/* floor stores: device bytes outside the fs */
	size_t scratch_len, scratch_pos;
	const char *part;		/* floor loads: udax's big file (a view) */
	size_t part_len;
	struct udax_view *part_view;
	void *fh[2];			/* per side: the file of the figure */
	enum floor_kind floor;
	unsigned long seed;
	int tag;			/* makes names unique across rounds */
	double *v[NSIDES];		/* samples, ROUNDS * ops each */
	double acc[2][ROUNDS][3];	/* map_access: first touch, load, store */
};

#define TIMED(out, expr) do {						\
	uint64_t _t0 = bench_now_ns();					\
	expr;								\
	*(out) = (double)(bench_now_ns() - _t0) / 1e3;			\
} while (0)

static unsigned long rnd(unsigned long *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* The next @len bytes of the scratch area, round robin (cold-ish lines,
 * as an append's new block is). */
static char *scratch_next(struct run *x, size_t len)
{
	char *p;

	if (x->scratch_pos + len > x->scratch_len)
		x->scratch_pos = 0;
	p = x->scratch + x->scratch_pos;
	x->scratch_pos += len;
	return p;
}

/* Non-temporal stores of @len (a multiple of 64) bytes, then a fence. */
static void nt_copy(char *dst, const char *src, size_t len)
{
#if defined(__x86_64__)
	for (size_t i = 0; i < len; i += 16)
		_mm_stream_si128((__m128i *)(dst + i),
				 _mm_loadu_si128((const __m128i *)(src + i)));
	_mm_sfence();
#else
	memcpy(dst, src, len);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* The floor's store of @len bytes, as x->floor says. */
static int floor_store(struct run *x, const char *src, size_t len)
{
	char *dst = scratch_next(x, len);

	switch (x->floor) {
	case FL_MEMCPY:
		memcpy(dst, src, len);
		bench_keep(dst[len - 1]);
		return 0;
	case FL_NT:
		nt_copy(dst, src, len);
		return 0;
	case FL_PERSIST:
		break;
	}
	memcpy(dst, src, len);
	return udax_dev_persist(x->dev, dst, len);
}

/* ---- rounds and reports --------------------------------------------------- */

/* One side's part of a round: @n samples at @out (latency, us) or one
 * throughput (MB/s) at out[0].  0 or -errno. */
typedef int (*step_fn)(struct run *x, int side, double *out, size_t n);

/*
 * ROUNDS rounds of @n calls per side of @mask, the order reversed every
 * round (ABC CBA ...); side s's samples land in x->v[s][0, ROUNDS * n).
 */
static int rounds(struct run *x, const char *fig, unsigned mask, step_fn fn,
		  size_t n)
{
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < NSIDES; i++) {
			int s = r % 2 ? NSIDES - 1 - i : i, ret;

			if (!(mask & (1u << s)))
				continue;
			bench_progress("%s: %s, round %d/%d", fig, side_name[s],
				       r + 1, ROUNDS);
			x->tag = r;
			ret = fn(x, s, x->v[s] + (size_t)r * n, n);
			if (ret) {
				fprintf(stderr, "bench fs: %s (%s): %s%s%s\n", fig,
					side_name[s], strerror(-ret),
					s == U ? ": " : "",
					s == U ? udax_fs_last_error() : "");
				return ret;
			}
		}
	}
	return 0;
}

static void ratio(struct run *x, const char *fig, const char *what, double a,
		  double b)
{
	char key[400];

	snprintf(key, sizeof(key), "%s.ratio_%s", fig, what);
	bench_report(x->r, key, a / b, "ratio");
}

/* Latency figure over @mask: p50/p99/mean per side, then the ratios. */
static int lat_figure(struct run *x, const char *fig, unsigned mask, step_fn fn,
		      size_t n, double p50[NSIDES])
{
	char key[160];
	int ret = rounds(x, fig, mask, fn, n);

	if (ret)
		return ret;
	for (int s = 0; s < NSIDES; s++) {
		size_t m = ROUNDS * n;

		if (!(mask & (1u << s)))
			continue;
		p50[s] = bench_percentile(x->v[s], m, 50);
		snprintf(key, sizeof(key), "%s.%s.p50", fig, side_name[s]);
		bench_report(x->r, key, p50[s], "us");
		snprintf(key, sizeof(key), "%s.%s.p99", fig, side_name[s]);
		bench_report(x->r, key, bench_percentile(x->v[s], m, 99), "us");
		snprintf(key, sizeof(key), "%s.%s.mean", fig, side_name[s]);
		bench_report(x->r, key, bench_mean(x->v[s], m), "us");
	}
	snprintf(key, sizeof(key), "%s.p50", fig);
	if ((mask & (M_U | M_K)) == (M_U | M_K))
		ratio(x, key, "udax_to_kernel", p50[U], p50[K]);
	if ((mask & (M_U | M_F | M_FPART)) == (M_U | M_F))
		ratio(x, key, "udax_to_floor", p50[U], p50[F]);
	return 0;
}

/* Throughput figure (one MB/s per round): the median of the rounds. */
static int rate_figure(struct run *x, const char *fig, unsigned mask,
		       step_fn fn, double med[NSIDES])
{
	char key[160];
	int ret = rounds(x, fig, mask, fn, 1);

	if (ret)
		return ret;
	for (int s = 0; s < NSIDES; s++) {
		if (!(mask & (1u << s)))
			continue;
		med[s] = bench_percentile(x->v[s], ROUNDS, 50);
		snprintf(key, sizeof(key), "%s.%s", fig, side_name[s]);
		bench_report(x->r, key, med[s], "MB/s");
	}
	if ((mask & (M_U | M_K)) == (M_U | M_K))
		ratio(x, fig, "udax_to_kernel", med[U], med[K]);
	if ((mask & (M_U | M_F)) == (M_U | M_F))
		ratio(x, fig, "udax_to_floor", med[U], med[F]);
	return 0;
}

static double mbps(uint64_t bytes, uint64_t ns)
{
	return (double)bytes / ((double)ns / 1e3);
}

/* ---- steps ------------------------------------------------------------------ */

static int open_side(struct run *x, int s, const char *name, bool create)
{
	char n[64];

	snprintf(n, sizeof(n), "%s", name);
	return x->be[s]->open(x->be[s], n, create, &x->fh[s]);
}

static void close_side(struct run *x, int s, const char *name, bool unlink)
{
	if (x->fh[s])
		x->be[s]->close(x->fh[s]);
	x->fh[s] = NULL;
	if (unlink)
		x->be[s]->unlink(x->be[s], name);
}

/* Floor-only steps: the physical floor's 4 KiB stores, as x->floor says. */
static int st_floor_4k(struct run *x, int s, double *out, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++)
		TIMED(&out[i], ret = floor_store(x, x->buf, BS));
	return ret;
}

/* Durable 4 KiB appends (the file x->fh[s] grows across rounds). */
static int st_append(struct run *x, int s, double *out, size_t n)
{
	ssize_t w = BS;

	if (s == F)
		return st_floor_4k(x, s, out, n);
	for (size_t i = 0; i < n && w == BS; i++)
		TIMED(&out[i], w = x->be[s]->append(x->fh[s], x->buf, BS));
	return w == BS ? 0 : w < 0 ? (int)w : -EIO;
}

static int fill(struct run *x, int s)
{
	uint64_t size = x->o->file_size;

	for (uint64_t off = 0; off < size; off += MiB) {
		size_t n = size - off < MiB ? size - off : MiB;
		ssize_t w = x->be[s]->pwrite(x->fh[s], x->big + off, n, off);

		if (w != (ssize_t)n)
			return w < 0 ? (int)w : -EIO;
	}
	return 0;
}

/* Sequential write of the whole file in 1 MiB writes, into new blocks. */
static int st_seq_write(struct run *x, int s, double *out, size_t n)
{
	uint64_t t0, size = x->o->file_size;
	int ret = 0;

	(void)n;
	if (s == F) {
		t0 = bench_now_ns();
		for (uint64_t off = 0; off < size && !ret; off += MiB)
			ret = floor_store(x, x->big + off, MiB);
		out[0] = mbps(size, bench_now_ns() - t0);
		return ret;
	}
	if ((ret = x->be[s]->truncate(x->fh[s], 0)))
		return ret;
	t0 = bench_now_ns();
	ret = fill(x, s);
	out[0] = mbps(size, bench_now_ns() - t0);
	return ret;
}

static int st_seq_read(struct run *x, int s, double *out, size_t n)
{
	uint64_t t0 = bench_now_ns(), size = x->o->file_size;

	(void)n;
	for (uint64_t off = 0; off < size; off += MiB) {
		size_t c = size - off < MiB ? size - off : MiB;

		if (s == F)
			memcpy(x->big + off, x->part + off % x->part_len, c);
		else if (x->be[s]->pread(x->fh[s], x->big + off, c, off) != (ssize_t)c)
			return -EIO;
	}
	bench_keep(x->big[size - 1]);
	out[0] = mbps(size, bench_now_ns() - t0);
	return 0;
}

static int st_rand_read(struct run *x, int s, double *out, size_t n)
{
	size_t nblk = x->o->file_size / BS, pblk = x->part_len / BS;
	ssize_t got = BS;

	for (size_t i = 0; i < n && got == BS; i++) {
		uint64_t b = rnd(&x->seed);

		if (s == F) {
			const char *src = x->part + (b % pblk) * BS;

			TIMED(&out[i], memcpy(x->buf, src, BS));
			bench_keep(x->buf[BS - 1]);
		} else {
			TIMED(&out[i], got = x->be[s]->pread(x->fh[s], x->buf, BS,
							     (b % nblk) * BS));
		}
	}
	return got == BS ? 0 : -EIO;
}

static int st_rand_overwrite(struct run *x, int s, double *out, size_t n)
{
	size_t nblk = x->o->file_size / BS;
	ssize_t w = BS;

	if (s == F)
		return st_floor_4k(x, s, out, n);
	for (size_t i = 0; i < n && w == BS; i++) {
		uint64_t off = (rnd(&x->seed) % nblk) * BS;

		TIMED(&out[i], w = x->be[s]->pwrite(x->fh[s], x->buf, BS, off));
	}
	return w == BS ? 0 : -EIO;
}

/* Setting up a mapping of the whole file (lazy, or populated). */
static int st_map(struct run *x, int s, double *out, size_t n, bool populate)
{
	size_t len = x->o->file_size;

	for (size_t i = 0; i < n; i++) {
		void *cookie;
		char *m;

		TIMED(&out[i], m = x->be[s]->map(x->fh[s], len, populate, &cookie));
		if (!m)
			return -ENOMEM;
		x->be[s]->unmap(cookie, m, len);
	}
	return 0;
}

static int st_map_lazy(struct run *x, int s, double *out, size_t n)
{
	return st_map(x, s, out, n, false);
}

static int st_map_populate(struct run *x, int s, double *out, size_t n)
{
	return st_map(x, s, out, n, true);
}

/* Loads and stores through a fresh mapping: memcpy out (first touch, then
 * warm) and in (warm), as MB/s in x->acc. */
static int st_map_access(struct run *x, int s, double *out, size_t n)
{
	size_t len = x->o->file_size;
	double *acc = x->acc[s][x->tag];
	void *cookie;
	uint64_t t0;
	char *m = x->be[s]->map(x->fh[s], len, false, &cookie);

	(void)n;
	if (!m)
		return -ENOMEM;
	for (int pass = 0; pass < 2; pass++) {
		t0 = bench_now_ns();
		memcpy(x->big, m, len);
		bench_keep(x->big[len - 1]);
		acc[pass] = mbps(len, bench_now_ns() - t0);
	}
	t0 = bench_now_ns();
	memcpy(m, x->big, len);
	bench_keep(m[len - 1]);
	acc[2] = mbps(len, bench_now_ns() - t0);
	x->be[s]->unmap(cookie, m, len);
	out[0] = acc[0];
	return 0;
}

static int st_truncate(struct run *x, int s, double *out, size_t n)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		for (int k = 0; k < 64; k++)
			if (x->be[s]->pwrite(x->fh[s], x->buf, BS, (uint64_t)k * BS) != BS)
				return -EIO;
		TIMED(&out[i], ret = x->be[s]->truncate(x->fh[s], 0));
	}
	return ret;
}

static int st_create_unlink(struct run *x, int s, double *out, size_t n)
{
	struct be *b = x->be[s];
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		char name[48];
		void *fh;

		snprintf(name, sizeof(name), "c%d_%zu", x->tag, i);
		TIMED(&out[i], {
			if ((ret = b->open(b, name, true, &fh)) == 0) {
				b->close(fh);
				ret = b->unlink(b, name);
			}
		});
	}
	return ret;
}

/* ---- figures ---------------------------------------------------------------- */

static size_t per_round(struct run *x, long div)
{
	size_t n = (size_t)x->o->ops / ROUNDS / (size_t)div;

	return n ? n : 1;
}

/* The physical floor of the device, alone: 4 KiB stores three ways. */
static int fig_floor(struct run *x)
{
	static const struct { enum floor_kind k; const char *name; } kinds[] = {
		{ FL_MEMCPY, "floor.memcpy_4k" },
		{ FL_PERSIST, "floor.memcpy_4k_persist" },
		{ FL_NT, "floor.nt_4k_sfence" },
	};
	double p50[NSIDES];
	int ret = 0;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]) && !ret; i++) {
		x->floor = kinds[i].k;
		ret = lat_figure(x, kinds[i].name, M_F, st_floor_4k, per_round(x, 1), p50);
	}
	x->floor = FL_PERSIST;
	return ret;
}

static int fig_append(struct run *x)
{
	double p50[NSIDES];
	int ret;

	for (int s = U; s <= K; s++)
		if ((ret = open_side(x, s, "append", true)))
			return ret;
	x->floor = FL_PERSIST;
	ret = lat_figure(x, "append_4k", M_U | M_K | M_F, st_append, per_round(x, 1), p50);
	for (int s = U; s <= K; s++)
		close_side(x, s, "append", true);
	return ret;
}

/* The big file of both sides, filled: open before the figures that use it. */
static int open_big(struct run *x)
{
	int ret = 0;

	for (int s = U; s <= K && !ret; s++) {
		bench_progress("filling the %s file (%s)", side_name[s], "big");
		ret = open_side(x, s, "big", true);
		if (!ret)
			ret = fill(x, s);
	}
	return ret;
}

/* The floor's loads: a populated view of udax's big file (after the
 * figures that rewrite it, which would break the view). */
static int floor_view(struct run *x)
{
	void *a;
	int ret = udax_view_map(x->fh[U], 0, x->o->file_size, UDAX_VIEW_POPULATE,
				&x->part_view, &a);

	if (ret) {
		fprintf(stderr, "bench fs: %s\n", udax_fs_last_error());
		return ret;
	}
	x->part = a;
	x->part_len = x->o->file_size;
	/* Touched once, as the device mapping udax reads through is. */
	memcpy(x->big, x->part, x->part_len);
	bench_keep(x->big[x->part_len - 1]);
	return 0;
}

static void close_big(struct run *x)
{
	if (x->part_view)
		udax_view_unmap(&x->part_view);
	x->part = NULL;
	for (int s = U; s <= K; s++)
		close_side(x, s, "big", true);
}

static int fig_rand_read(struct run *x)
{
	double p50[NSIDES];

	return lat_figure(x, "rand_read_4k", M_U | M_K | M_F, st_rand_read,
			  per_round(x, 1), p50);
}

static int fig_views(struct run *x)
{
	static const char *const what[3] = { "memcpy_from_map.first_touch",
		"memcpy_from_map.warm", "memcpy_to_map.warm" };
	double p50[NSIDES], v[ACCESS_REPS * ROUNDS], acc[2][ACCESS_REPS * ROUNDS][3], med[2];
	size_t n = x->o->ops >= 400 ? 8 : 2;
	int ret;

	if ((ret = lat_figure(x, "map", M_U | M_K, st_map_lazy, n, p50)) ||
	    (ret = lat_figure(x, "map_populate", M_U | M_K, st_map_populate, n, p50)))
		return ret;
	/* One pass over the file a round: a few passes are at the mercy of
	 * one noisy moment, so the alternated rounds run ACCESS_REPS times. */
	for (int rep = 0; rep < ACCESS_REPS; rep++) {
		if ((ret = rounds(x, "map_access", M_U | M_K, st_map_access, 1)))
			return ret;
		memcpy(acc[0] + rep * ROUNDS, x->acc[0], sizeof(x->acc[0]));
		memcpy(acc[1] + rep * ROUNDS, x->acc[1], sizeof(x->acc[1]));
	}
	for (int k = 0; k < 3; k++) {
		char key[128];

		for (int s = U; s <= K; s++) {
			for (int r = 0; r < ACCESS_REPS * ROUNDS; r++)
				v[r] = acc[s][r][k];
			med[s] = bench_percentile(v, ACCESS_REPS * ROUNDS, 50);
			snprintf(key, sizeof(key), "%s.%s", what[k], side_name[s]);
			bench_report(x->r, key, med[s], "MB/s");
		}
		ratio(x, what[k], "udax_to_kernel", med[U], med[K]);
	}
	return 0;
}

/* udax only: pins, and truncate with pins in flight. */
static int bench_pins(struct run *x)
{
	struct udax_break_opts defer = { UDAX_BREAK_DEFER, 0 };
	size_t n = (size_t)x->o->ops;
	struct udax_file *f;
	struct udax_pin *pin;
	char key[64];
	double *v = x->v[U];
	int ret;

	bench_progress("pins");
	if ((ret = x->be[U]->open(x->be[U], "pins", true, (void **)&f)))
		return ret;
	for (int k = 0; k < 64; k++)
		udax_pwrite(f, x->buf, BS, (uint64_t)k * BS);
	for (size_t i = 0; i < n; i++) {
		TIMED(&v[i], ret = udax_pin(f, 0, BS, 0, &pin));
		if (ret)
			return ret;
		udax_unpin(&pin);
	}
	snprintf(key, sizeof(key), "pin_1_page.udax.p50");
	bench_report(x->r, key, bench_percentile(v, n, 50), "us");
	for (size_t i = 0; i < n; i++) {
		if ((ret = udax_pin(f, 0, 16 * BS, 0, &pin)))
			return ret;
		TIMED(&v[i], udax_unpin(&pin));
	}
	bench_report(x->r, "unpin_16_pages.udax.p50", bench_percentile(v, n, 50), "us");
	/* Truncate while 16 pages are pinned, deferred: returns at once. */
	for (size_t i = 0; i < n / 8; i++) {
		for (int k = 0; k < 64; k++)
			udax_pwrite(f, x->buf, BS, (uint64_t)k * BS);
		if ((ret = udax_pin(f, 0, 16 * BS, 0, &pin)))
			return ret;
		TIMED(&v[i], ret = udax_ftruncate_ex(f, 0, &defer));
		udax_unpin(&pin);
		if (ret)
			return ret;
	}
	bench_report(x->r, "truncate_64_blocks_16_pinned_defer.udax.p50",
		     bench_percentile(v, n / 8 ? n / 8 : 1, 50), "us");
	udax_close(&f);
	return x->be[U]->unlink(x->be[U], "pins");
}

/* CRC-32C of a 4 KiB block with each implementation this CPU runs. */
static void fig_crc(struct run *x)
{
	uint32_t (*fn)(uint32_t, const void *, size_t);
	const char *name;
	char key[64];
	uint32_t c = 0;

	bench_report_str(x->r, "crc32c.impl", udax_crc32c_impl_name());
	for (unsigned i = 0; udax_crc32c_impl(i, &name, &fn) == 0; i++) {
		size_t n = per_round(x, 1);

		for (size_t k = 0; k < n; k++)
			TIMED(&x->v[U][k], c = fn(c, x->big + (k % 16) * BS, BS));
		bench_keep(c);
		snprintf(key, sizeof(key), "crc32c_4k.%s.p50", name);
		bench_report(x->r, key, bench_percentile(x->v[U], n, 50), "us");
	}
}

/* ---- set up and tear down ------------------------------------------------------ */

/*
 * Open the device (a file device that does not exist yet is created to
 * fit), keep a scratch area at its end for the floor's stores, and make
 * and mount a file system on the rest.
 */
/* @scratch: bytes wanted for the floor's scratch area (more than the
 * default; at most a quarter of the device is given). */
static int setup(struct run *x, struct be *u, struct be *k, uint32_t nr_inodes,
		 uint64_t scratch)
{
	const struct fs_bench_opts *o = x->o;
	struct udax_dev_opts dopt = { 0 };
	struct udax_mkfs_opts mo = { .nr_inodes = nr_inodes };
	struct udax_dev_info di;
	struct udax_part_spec ps = { .type = UDAX_PART_TYPE_UDAXFS, .label = "bench" };
	uint64_t avail;
	int ret;

	x->buf = aligned_alloc(BS, BS);
	x->big = aligned_alloc(BS, o->file_size);
	for (int s = 0; s < NSIDES; s++)
		x->v[s] = calloc((size_t)o->ops + ROUNDS * 8, sizeof(double));
	if (!x->buf || !x->big || !x->v[U] || !x->v[K] || !x->v[F])
		return -ENOMEM;
	memset(x->buf, 'b', BS);
	for (uint64_t i = 0; i < o->file_size; i++)
		x->big[i] = (char)(i * 131 + 7);
	x->seed = 88172645463325252ul;
	x->be[U] = u;
	x->be[K] = k;
	bench_report_str(x->r, "udax.device", o->device);
	bench_report_str(x->r, "kernel.dir", o->kernel_dir);
	bench_report(x->r, "file_size", (double)o->file_size, "bytes");

	if (strncmp(o->device, "mem:", 4) && access(!strncmp(o->device, "file:", 5) ?
						    o->device + 5 : o->device, F_OK)) {
		dopt.flags = UDAX_DEV_CREATE;
		dopt.size = 4 * o->file_size + (64ull << 20);
	}
	mkdir(o->kernel_dir, 0755);
	bench_progress("opening %s", o->device);
	ret = udax_dev_open(o->device, &dopt, &x->dev);
	if (ret) {
		fprintf(stderr, "bench fs: %s\n", udax_dev_last_error());
		return ret;
	}
	udax_dev_info(x->dev, &di);
	bench_report_str(x->r, "udax.device.persist", di.persist_impl);
	x->scratch_len = di.size >= 256 * MiB ? 16 * MiB : 4 * MiB;
	avail = di.size - di.table_offset - 2 * MiB;
	if (scratch > x->scratch_len)
		x->scratch_len = (scratch < avail / 4 ? scratch : avail / 4) &
				 ~(2 * MiB - 1);
	if (x->scratch_len < 4 * MiB)
		x->scratch_len = 4 * MiB;
	if (di.size < 64 * MiB || avail < x->scratch_len + 32 * MiB) {
		fprintf(stderr, "bench fs: device %s is too small (want 64 MiB or more)\n",
			o->device);
		return -ENOSPC;
	}
	ps.size = (avail - x->scratch_len) & ~(2 * MiB - 1);
	if ((ret = udax_dev_mkpart(x->dev, &ps, 1, UDAX_MKPART_FORCE))) {
		fprintf(stderr, "bench fs: %s\n", udax_dev_last_error());
		return ret;
	}
	x->scratch = (char *)di.addr + di.size - x->scratch_len;
	if ((ret = udax_mkfs(x->dev, 0, nr_inodes ? &mo : NULL)) ||
	    (ret = udax_mount(x->dev, 0, NULL, &u->fs))) {
		fprintf(stderr, "bench fs: %s\n", udax_fs_last_error());
		return ret;
	}
	return 0;
}

static void teardown(struct run *x, struct be *u)
{
	bench_progress_end();
	/* Bounded: a leaked pin must not hang the command (docs/fs.md). */
	if (u->fs && udax_unmount_ex(&u->fs, &(struct udax_break_opts){
			.mode = UDAX_BREAK_TIMEOUT, .timeout_ns = 30000000000ll }))
		fprintf(stderr, "bench fs: %s\n", udax_fs_last_error());
	if (x->dev)
		udax_dev_close(&x->dev, 0);
	free(x->buf);
	free(x->big);
	for (int s = 0; s < NSIDES; s++)
		free(x->v[s]);
}

#define BACKENDS(o)							\
	struct be u = { "udax", .open = u_open, .pwrite = u_pwrite,	\
		.pread = u_pread, .append = u_append, .truncate = u_truncate, \
		.close = u_close, .unlink = u_unlink, .rename = u_rename, \
		.map = u_map, .unmap = u_unmap };			\
	struct be k = { "kernel", .dir = (o)->kernel_dir, .open = k_open, \
		.pwrite = k_pwrite, .pread = k_pread, .append = k_append, \
		.truncate = k_truncate, .close = k_close,		\
		.unlink = k_unlink, .rename = k_rename, .map = k_map,	\
		.unmap = k_unmap }

int fs_bench_run(const struct fs_bench_opts *o, struct bench_report *r)
{
	BACKENDS(o);
	struct run x = { .o = o, .r = r };
	double p50[NSIDES], med[NSIDES];
	int ret;

	if (!(ret = setup(&x, &u, &k, 0, 0)) &&
	    !(ret = fig_floor(&x)) &&
	    !(ret = fig_append(&x)) &&
	    !(ret = open_big(&x))) {
		x.floor = FL_PERSIST;
		if (!(ret = rate_figure(&x, "seq_write", M_U | M_K | M_F, st_seq_write, med))) {
			double useq = med[U];

			/* The floor without write-back: plain memcpy bandwidth. */
			x.floor = FL_MEMCPY;
			ret = rate_figure(&x, "seq_write_memcpy", M_F, st_seq_write, med);
			if (!ret)
				ratio(&x, "seq_write", "udax_to_floor_memcpy", useq, med[F]);
			x.floor = FL_PERSIST;
		}
		if (!ret)
			ret = floor_view(&x);
		if (!ret)
			ret = rate_figure(&x, "seq_read", M_U | M_K | M_F, st_seq_read, med);
		if (!ret)
			ret = fig_rand_read(&x);
		if (!ret)
			ret = lat_figure(&x, "rand_overwrite_4k", M_U | M_K | M_F,
					 st_rand_overwrite, per_round(&x, 1), p50);
		if (!ret)
			ret = fig_views(&x);
		if (x.part_view)	/* the truncates break it */
			udax_view_unmap(&x.part_view);
		if (!ret)
			ret = lat_figure(&x, "truncate_64_blocks", M_U | M_K, st_truncate,
					 per_round(&x, 8), p50);
		close_big(&x);
	}
	if (!ret)
		ret = lat_figure(&x, "create_unlink", M_U | M_K, st_create_unlink,
				 per_round(&x, 4), p50);
	if (!ret)
		ret = bench_pins(&x);
	if (!ret)
		fig_crc(&x);
	teardown(&x, &u);
	return ret;
}

/* ---- scale ---------------------------------------------------------------- */

/* Parse "100,1000,..." into ascending sizes; returns how many (<= max). */
static size_t parse_sizes(const char *s, unsigned long *v, size_t max)
{
	size_t n = 0;

	while (s && *s && n < max) {
		char *end;
		unsigned long x = strtoul(s, &end, 10);

		if (end == s || x == 0 || (n && x <= v[n - 1]))
			return 0;
		v[n++] = x;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return 0;
	}
	return n;
}

/* The directory a figure works in: d (grown through the sizes) or s (the
 * smallest size, kept for the alternated figures). */
static const char *dir_name = "d";

static int dir_path(struct run *x, int s, char *p, size_t len, const char *name)
{
	return snprintf(p, len, "%s/%s/%s", s == U ? "" : x->o->kernel_dir,
			dir_name, name);
}

/* Grow directory d of side @s from @have to @want entries (empty files). */
static int dir_fill(struct run *x, int s, unsigned long have, unsigned long want)
{
	for (unsigned long i = have; i < want; i++) {
		char name[32];
		void *fh;
		int ret;

		if (i % 1000 == 0)
			bench_progress("directory of the %s side: %lu / %lu entries",
				       side_name[s], i, want);
		snprintf(name, sizeof(name), "%s/e%07lu", dir_name, i);
		if ((ret = x->be[s]->open(x->be[s], name, true, &fh)))
			return ret;
		x->be[s]->close(fh);
	}
	return 0;
}

static unsigned long dir_entries;	/* entries of dir_name during a figure */

/*
 * The floor of a stat in a directory of n entries.  However a directory
 * is indexed, a stat at random among its n entries reads the record of an
 * inode it has not read lately: one load at random among n records of
 * DIR_REC bytes (udax's inode record), which no design avoids.  The floor
 * side follows a chain of such loads, each address taken from the record
 * before (dependent, as a lookup's are), through n records in the scratch
 * area: the device's own memory and page size.  A sample is DIR_CHAIN
 * loads, divided (the clock costs more than a cached load).
 */
#define DIR_CHAIN 8
static const char *dir_chain;		/* where the chain goes on */

/*
 * The same with records of one cache line (DIR_LINE): the floor of any
 * design, however little it reads per entry, as long as what a stat
 * returns of a file (its size, times, mode: tens of bytes that differ
 * from file to file) is in memory apart from the other files'.  Where the
 * n lines do not fit the caches, this too is one miss per stat.
 */
#define DIR_LINE 64u

/* Link n records of @rec bytes of the scratch area in one random cycle;
 * false if they do not fit (or no memory for the shuffle). */
static bool dir_chain_build(struct run *x, unsigned long n, unsigned rec)
{
	uint32_t *perm;

	if (n > x->scratch_len / rec || n > UINT32_MAX ||
	    !(perm = malloc(n * sizeof(*perm))))
		return false;
	for (unsigned long i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (unsigned long i = n - 1; i > 0; i--) {
		unsigned long j = rnd(&x->seed) % (i + 1);
		uint32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	for (unsigned long i = 0; i < n; i++) {
		const char *next = x->scratch + (size_t)perm[(i + 1) % n] * rec;

		memcpy(x->scratch + (size_t)perm[i] * rec, &next, sizeof(next));
	}
	dir_chain = x->scratch + (size_t)perm[0] * rec;
	free(perm);
	return true;
}

/* The record after @p in the chain: the pointer stored at its start. */
static const char *chain_next(const char *p)
{
	const char *next;

	memcpy(&next, p, sizeof(next));
	return next;
}

static int st_dir_stat(struct run *x, int s, double *out, size_t n)
{
	int ret = 0;

	if (s == F) {
		const char *p = dir_chain;

		for (size_t i = 0; i < n; i++) {
			TIMED(&out[i], for (int k = 0; k < DIR_CHAIN; k++)
				       p = chain_next(p));
			out[i] /= DIR_CHAIN;
		}
		bench_keep(p);
		dir_chain = p;
		return 0;
	}
	for (size_t i = 0; i < n && !ret; i++) {
		char name[32], p[4200];

		snprintf(name, sizeof(name), "e%07lu", rnd(&x->seed) % dir_entries);
		dir_path(x, s, p, sizeof(p), name);
		if (s == U) {
			struct udax_stat st;

			TIMED(&out[i], ret = udax_stat(x->be[U]->fs, p, &st));
		} else {
			struct stat st;

			TIMED(&out[i], ret = stat(p, &st) ? -errno : 0);
		}
	}
	return ret;
}

static int st_dir_create(struct run *x, int s, double *out, size_t n)
{
	struct be *b = x->be[s];
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		char name[48];
		void *fh;

		snprintf(name, sizeof(name), "%s/n%d_%zu", dir_name, x->tag, i);
		TIMED(&out[i], ret = b->open(b, name, true, &fh));
		if (ret)
			break;
		b->close(fh);
		ret = b->unlink(b, name);
	}
	return ret;
}

/*
 * The largest size against the smallest in the same rounds: directory s
 * holds the smallest size's entries, d the largest's.  ROUNDS rounds, each
 * with both sizes and both sides, the order of the sizes and of the sides
 * reversed from one round to the next, so that a change of the machine's
 * speed during the run (its neighbours) falls on both sizes; the curve's
 * own figures measure each size at a different time.  udax's samples go
 * to x->v[U], the kernel's to x->v[K], the smallest size's first.
 */
static int dir_alternated(struct run *x, const char *what, step_fn fn, size_t n,
			  unsigned long small, unsigned long large)
{
	static const char *const dir_of[2] = { "s", "d" };
	const unsigned long entries[2] = { small, large };
	size_t m = (size_t)ROUNDS * n;
	double p50[2][2];
	char key[160];
	int ret = 0;

	for (int r = 0; r < ROUNDS && !ret; r++)
		for (int j = 0; j < 2 && !ret; j++) {
			int z = r % 2 ? 1 - j : j;

			dir_name = dir_of[z];
			dir_entries = entries[z];
			for (int k = 0; k < 2 && !ret; k++) {
				int s = (r + j) % 2 ? K - k : U + k;

				bench_progress("%s.alternated: %lu entries, %s, round %d/%d",
					       what, entries[z], side_name[s], r + 1, ROUNDS);
				x->tag = r;
				ret = fn(x, s, x->v[s] + (size_t)z * m + (size_t)r * n, n);
				if (ret)
					fprintf(stderr, "bench scale: %s.alternated (%s): %s\n",
						what, side_name[s], strerror(-ret));
			}
		}
	dir_name = "d";
	dir_entries = large;
	if (ret)
		return ret;
	for (int s = U; s <= K; s++) {
		for (int z = 0; z < 2; z++) {
			p50[s][z] = bench_percentile(x->v[s] + (size_t)z * m, m, 50);
			snprintf(key, sizeof(key), "%s.alternated.entries_%lu.%s.p50",
				 what, entries[z], side_name[s]);
			bench_report(x->r, key, p50[s][z], "us");
		}
		snprintf(key, sizeof(key), "%s.alternated.%s.p50", what, side_name[s]);
		ratio(x, key, "largest_to_smallest", p50[s][1], p50[s][0]);
	}
	return 0;
}

static int fig_dirs(struct run *x, unsigned long *sizes, size_t nsizes)
{
	double p50[NSIDES], first[2][NSIDES] = { { 0 } }, last[2][NSIDES] = { { 0 } };
	double line_first = 0, line_last = 0;
	size_t n = per_round(x, 4);
	bool floors = true;
	int ret = 0;

	for (int k = 0; k < 2; k++) {
		const char *d = k ? "s" : "d";
		char p[4200];

		snprintf(p, sizeof(p), "/%s", d);
		if (x->be[U]->fs && (ret = udax_mkdir(x->be[U]->fs, p, 0755)))
			return ret;
		snprintf(p, sizeof(p), "%s/%s", x->o->kernel_dir, d);
		if (mkdir(p, 0755) && errno != EEXIST)
			return -errno;
	}
	/* s: the smallest size, kept for the alternated figures. */
	dir_name = "s";
	for (int s = U; s <= K && !ret && nsizes > 1; s++)
		ret = dir_fill(x, s, 0, sizes[0]);
	dir_name = "d";
	dir_entries = 0;
	for (size_t i = 0; i < nsizes && !ret; i++) {
		char fig[64];

		for (int s = U; s <= K && !ret; s++)
			ret = dir_fill(x, s, dir_entries, sizes[i]);
		if (ret)
			break;
		dir_entries = sizes[i];
		if (floors && !dir_chain_build(x, sizes[i], DIR_REC)) {
			floors = false;
			fprintf(stderr, "bench scale: no stat floor from %lu entries on "
				"(%lu records of %u bytes do not fit the scratch area)\n",
				sizes[i], sizes[i], DIR_REC);
		}
		snprintf(fig, sizeof(fig), "dir_stat.entries_%lu", sizes[i]);
		if ((ret = lat_figure(x, fig, M_U | M_K | (floors ? M_F | M_FPART : 0),
				      st_dir_stat, n, p50)))
			break;
		for (int s = U; s <= (floors ? F : K); s++) {
			last[0][s] = p50[s];
			if (!i)
				first[0][s] = p50[s];
		}
		if (floors && dir_chain_build(x, sizes[i], DIR_LINE)) {
			snprintf(fig, sizeof(fig), "dir_stat_line.entries_%lu", sizes[i]);
			if ((ret = lat_figure(x, fig, M_F, st_dir_stat, n, p50)))
				break;
			line_last = p50[F];
			if (!i)
				line_first = p50[F];
		}
		snprintf(fig, sizeof(fig), "dir_create.entries_%lu", sizes[i]);
		if ((ret = lat_figure(x, fig, M_U | M_K, st_dir_create, n, p50)))
			break;
		for (int s = U; s <= K; s++) {
			last[1][s] = p50[s];
			if (!i)
				first[1][s] = p50[s];
		}
	}
	if (!ret && nsizes > 1) {
		ratio(x, "dir_stat.udax.p50", "largest_to_smallest", last[0][U], first[0][U]);
		ratio(x, "dir_stat.kernel.p50", "largest_to_smallest", last[0][K], first[0][K]);
		if (floors && last[0][F] > first[0][F]) {
			double load = last[0][F] - first[0][F];

			/* What one load more than at the smallest size, and
			 * nothing else, would make of udax's ratio; and each
			 * side's growth counted in such loads. */
			ratio(x, "dir_stat.udax.p50", "largest_to_smallest_at_floor",
			      first[0][U] + load, first[0][U]);
			bench_report(x->r, "dir_stat.udax.p50.growth_in_floor_loads",
				     (last[0][U] - first[0][U]) / load, "loads");
			bench_report(x->r, "dir_stat.kernel.p50.growth_in_floor_loads",
				     (last[0][K] - first[0][K]) / load, "loads");
		}
		/* The same for a design that reads one line per entry. */
		if (floors && line_last > line_first)
			ratio(x, "dir_stat.udax.p50", "largest_to_smallest_at_line_floor",
			      first[0][U] + line_last - line_first, first[0][U]);
		ratio(x, "dir_create.udax.p50", "largest_to_smallest", last[1][U], first[1][U]);
		ratio(x, "dir_create.kernel.p50", "largest_to_smallest", last[1][K], first[1][K]);
	}
	if (!ret && nsizes > 1 && dir_entries == sizes[nsizes - 1]) {
		ret = dir_alternated(x, "dir_stat", st_dir_stat, n, sizes[0], dir_entries);
		if (!ret)
			ret = dir_alternated(x, "dir_create", st_dir_create, n,
					     sizes[0], dir_entries);
	}
	/* The kernel side's entries go (tmpfs is memory); udax's go with the
	 * file system. */
	bench_progress("removing the kernel directory's entries");
	for (int k = 0; k < 2; k++) {
		const char *d = k ? "s" : "d";
		unsigned long have = k ? (nsizes > 1 ? sizes[0] : 0) : dir_entries;
		char p[4200];

		for (unsigned long i = 0; i < have; i++) {
			snprintf(p, sizeof(p), "%s/%s/e%07lu", x->o->kernel_dir, d, i);
			unlink(p);
		}
		snprintf(p, sizeof(p), "%s/%s", x->o->kernel_dir, d);
		rmdir(p);
	}
	return ret;
}

/*
 * Two files appended alternately, 4 KiB at a time, up to grow_size each:
 * the p50 of the appends in a window ending at each size (powers of 4 from
 * 256 KiB, and the end), against the first window.
 */
static int fig_grow(struct run *x)
{
	uint64_t total = x->o->grow_size / BS, mark = 64, done = 0;
	size_t win = total < 256 ? (size_t)total : 256, filled = 0;
	double *w = x->v[U], first = 0, p50 = 0;
	struct udax_file *f[2];
	int ret;

	if ((ret = udax_open(x->be[U]->fs, "/ga", O_RDWR | O_CREAT | O_TRUNC, 0644, &f[0])))
		return ret;
	if ((ret = udax_open(x->be[U]->fs, "/gb", O_RDWR | O_CREAT | O_TRUNC, 0644, &f[1]))) {
		udax_close(&f[0]);
		return ret;
	}
	for (uint64_t i = 1; i <= total && !ret; i++) {
		for (int j = 0; j < 2 && !ret; j++) {
			ssize_t got;

			TIMED(&w[filled % win], got = udax_append(f[j], x->buf, BS, NULL));
			filled++;
			if (got != BS)
				ret = got < 0 ? (int)got : -EIO;
		}
		if (i % 256 == 0)
			bench_progress("two files growing alternately: %llu / %llu KiB each",
				       (unsigned long long)(i * BS >> 10),
				       (unsigned long long)(total * BS >> 10));
		if (!ret && filled >= win && (i == win / 2 || i == mark || i == total)) {
			char key[96];
			double tmp[256];

			memcpy(tmp, w, win * sizeof(*w));
			p50 = bench_percentile(tmp, win, 50);
			if (!done++)
				first = p50;
			snprintf(key, sizeof(key), "grow_alternate.append_4k.at_%lluK.udax.p50",
				 (unsigned long long)(i * BS >> 10));
			bench_report(x->r, key, p50, "us");
		}
		if (i == mark)
			mark *= 4;
	}
	udax_close(&f[0]);
	udax_close(&f[1]);
	udax_unlink(x->be[U]->fs, "/ga");
	udax_unlink(x->be[U]->fs, "/gb");
	if (!ret && done > 1)
		ratio(x, "grow_alternate.append_4k.udax.p50", "end_to_start", p50, first);
	return ret;
}

#define THREAD_ROUNDS 12	/* 1, 2, 2, 1 threads, three times */

/* A figure's thread, the first member of its argument: the start line,
 * and what it did, timed by itself (the main thread may be descheduled
 * meanwhile). */
struct bthread {
	int *ready;			/* threads at the start line */
	int nthreads;
	uint64_t t0, t1;		/* its first and last operation */
	int ret;
};

/* Start together: a thread that slept at a barrier would start when its
 * CPU woke (tens of µs on an idle VM, more than a short round's worth),
 * so each spins until all have arrived, then takes its time. */
static void bthread_start(struct bthread *b)
{
	__atomic_add_fetch(b->ready, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(b->ready, __ATOMIC_ACQUIRE) < b->nthreads)
		bench_cpu_relax();
}

/*
 * Run @fn on @t (1 or 2) arguments of @size bytes at @args, each a struct
 * bthread first: the first error, and in *@ns the span from the first
 * thread's start to the last one's end.
 */
static int bthreads_run(int t, void *(*fn)(void *), void *args, size_t size,
			uint64_t *ns)
{
	uint64_t t0 = UINT64_MAX, t1 = 0;
	int ret = 0, ready = 0;
	pthread_t th[2];

	for (int i = 0; i < t; i++) {
		struct bthread *b = (void *)((char *)args + (size_t)i * size);

		b->ready = &ready;
		b->nthreads = t;
		if (pthread_create(&th[i], NULL, fn, b)) {
			/* Cannot happen with two threads in practice; do
			 * not hang. */
			fprintf(stderr, "bench: pthread_create failed\n");
			exit(1);
		}
	}
	for (int i = 0; i < t; i++) {
		const struct bthread *b = (void *)((char *)args + (size_t)i * size);

		pthread_join(th[i], NULL);
		if (b->ret && !ret)
			ret = b->ret;
		t0 = b->t0 < t0 ? b->t0 : t0;
		t1 = b->t1 > t1 ? b->t1 : t1;
	}
	*ns = t1 > t0 ? t1 - t0 : 1;
	return ret;
}

struct appender {
	struct bthread b;		/* first */
	struct run *x;
	int side, id;
};

/*
 * The floor's "append": memcpy 4 KiB, write back its lines, fence, into
 * this thread's half of the scratch area, round robin (what an append
 * pays for its data at least, without a file system).
 */
static int floor_appends(struct appender *a, uint64_t n)
{
	struct run *x = a->x;
	size_t half = (x->scratch_len / 2) & ~(size_t)(BS - 1), pos = 0;
	char *dst = x->scratch + (size_t)a->id * half;
	int ret = 0;

	for (uint64_t i = 0; i < n && !ret; i++) {
		memcpy(dst + pos, x->buf, BS);
		ret = udax_dev_persist(x->dev, dst + pos, BS);
		pos = pos + BS < half ? pos + BS : 0;
	}
	return ret;
}

static void *append_thread(void *arg)
{
	struct appender *a = arg;
	struct be *b = a->side == F ? NULL : a->x->be[a->side];
	uint64_t n = a->x->o->thread_size / BS;
	char name[32];
	void *fh = NULL;
	bool opened = false;

	snprintf(name, sizeof(name), "t%d", a->id);
	if (b) {
		a->b.ret = b->open(b, name, true, &fh);
		opened = !a->b.ret;
	}
	bthread_start(&a->b);
	a->b.t0 = bench_now_ns();
	if (!b && !a->b.ret)
		a->b.ret = floor_appends(a, n);
	for (uint64_t i = 0; b && i < n && !a->b.ret; i++) {
		ssize_t w = b->append(fh, a->x->buf, BS);

		if (w != BS)
			a->b.ret = w < 0 ? (int)w : -EIO;
	}
	a->b.t1 = bench_now_ns();
	if (opened) {
		b->close(fh);
		b->unlink(b, name);
	}
	return NULL;
}

/*
 * T threads each appending thread_size to their own file: MB/s of all,
 * from the first thread's start to the last one's end (timed by the
 * threads themselves: the main thread may be descheduled meanwhile).
 */
static int threads_append(struct run *x, int side, int t, double *out)
{
	struct appender a[2];
	uint64_t ns;
	int ret;

	for (int i = 0; i < t; i++)
		a[i] = (struct appender){ .x = x, .side = side, .id = i };
	ret = bthreads_run(t, append_thread, a, sizeof(a[0]), &ns);
	*out = mbps((uint64_t)t * x->o->thread_size, ns);
	return ret;
}

/*
 * Rounds of 1, 2, 2, 1 threads; in each round every side runs, in an
 * order that alternates (udax, kernel, floor; floor, kernel, udax).  Per
 * side each count's median MB/s and the 2-to-1 ratio; the floor's ratio
 * is what the machine's memory gives two threads that only copy and
 * persist, and udax's ratio is also stated against it, as is udax's
 * throughput at each count.
 */
static int fig_threads(struct run *x)
{
	double v[NSIDES][2][THREAD_ROUNDS], med[NSIDES][2];
	int n[NSIDES][2] = { { 0 } };
	char key[64];

	for (int r = 0; r < THREAD_ROUNDS; r++) {
		int t = (r % 4 == 0 || r % 4 == 3) ? 1 : 2;

		for (int k = 0; k < NSIDES; k++) {
			int s = r % 2 ? NSIDES - 1 - k : k, ret;

			bench_progress("%s: %d thread(s) appending, round %d/%d",
				       side_name[s], t, r + 1, THREAD_ROUNDS);
			ret = threads_append(x, s, t, &v[s][t - 1][n[s][t - 1]]);
			if (ret)
				return ret;
			n[s][t - 1]++;
		}
	}
	for (int s = 0; s < NSIDES; s++) {
		for (int t = 0; t < 2; t++) {
			med[s][t] = bench_percentile(v[s][t], (size_t)n[s][t], 50);
			snprintf(key, sizeof(key), "threads_append.%d.%s", t + 1, side_name[s]);
			bench_report(x->r, key, med[s][t], "MB/s");
		}
		snprintf(key, sizeof(key), "threads_append.%s", side_name[s]);
		ratio(x, key, "2_to_1", med[s][1], med[s][0]);
	}
	ratio(x, "threads_append.udax", "2_to_1_to_floor_2_to_1",
	      med[U][1] / med[U][0], med[F][1] / med[F][0]);
	for (int t = 0; t < 2; t++) {
		snprintf(key, sizeof(key), "threads_append.%d", t + 1);
		ratio(x, key, "udax_to_floor", med[U][t], med[F][t]);
	}
	return 0;
}

/*
 * 1 vs 2 threads stat'ing at random among the TS_ENTRIES names of one
 * directory (ls -l, find, a build's dependency checks): stats per second
 * of all threads together, rounds of 1, 2, 2, 1 threads, the sides' order
 * alternating.  Then the same with threads listing that directory
 * (threads_readdir: entries per second; opendir, readdir to the end,
 * closedir, again; the kernel side through libc's readdir), and with
 * threads opening and closing those names (threads_open: O_RDONLY, no
 * other handle, so udax loads the inode each time and drops it at the
 * close), and with each thread creating, closing and unlinking names
 * in a directory of its own (threads_create: creates per second; udax
 * serializes namespace changes, so this shows what that costs), and with
 * each thread changing the size of a file of its own (threads_truncate:
 * ftruncate up a block at a time to 64 blocks, then to 0; each one a
 * journal transaction in udax, committed in the thread's journal lane:
 * changes to different files share no lock there), and with each thread
 * delivering as a maildir does (threads_rename: create, write 64 bytes
 * and close a name in a directory of its own, rename it into a second
 * directory of its own, unlink it there; deliveries per second: udax
 * renames a file between two directories as the writer of both).  A stat
 * changes nothing, so two threads need share no written cache line and
 * can do twice what one does (udax: ns_lock held shared,
 * src/fs/core/nslock.c).  The paths are made before the clock
 * starts.  A thread does 16 x -n stats a round (a stat is 0.1 us: -n
 * alone would make rounds of 2 ms, which a thread's late start skews).
 */
#define TS_ENTRIES 100
enum { TS_STAT, TS_LIST, TS_OPEN, TS_CREATE, TS_TRUNC, TS_RENAME, TS_RMDIR, TS_MIXED };
#define TS_STATS(x) ((uint64_t)(x)->o->ops * 16)

struct statter {
	struct bthread b;		/* first */
	struct run *x;
	int side, id;
	int kind;			/* TS_STAT, TS_LIST, TS_OPEN ... */
	const char *dir;		/* the directory, this side's path */
	char **path;			/* TS_ENTRIES of them, this side's */
	_Atomic int *stop;		/* TS_MIXED: the creator is done */
	uint64_t done;			/* TS_MIXED: operations done */
	int other;			/* TS_MIXED: thread 1's kind (TS_STAT, TS_RMDIR) */
};

static void *stat_thread(void *arg)
{
	struct statter *a = arg;
	uint64_t n = TS_STATS(a->x), r = 0x9e3779b97f4a7c15ull * (uint64_t)(a->id + 1);
	struct udax_fs *fs = a->x->be[U]->fs;
	char **path = a->path;
	int side = a->side, kind = a->kind;
	bool mixed = kind == TS_MIXED;
	uint64_t i = 0;

	/* Mixed: thread 0 creates (n / 16), thread 1 stats (or makes and
	 * removes directories) until it is done; each counts what it did. */
	if (mixed)
		kind = a->id ? a->other : TS_CREATE;
	bthread_start(&a->b);
	/* Locals only until the end: the two threads' structs share a
	 * line, and a store there per stat would be the bench's own
	 * contention. */
	uint64_t t0 = bench_now_ns();
	int ret = 0;

	/* Listing: whole listings until n entries are read (mixed: until
	 * the creator is done). */
	for (i = 0; kind == TS_LIST && !ret &&
		    (mixed ? !atomic_load_explicit(a->stop, memory_order_relaxed) : i < n);) {
		if (side == U) {
			struct udax_dirent e;
			struct udax_dir *d;

			/* "." and "..", as libc's readdir lists them */
			if ((ret = udax_opendir_ex(fs, a->dir, UDAX_OPENDIR_DOTS, &d)))
				break;
			while ((ret = udax_readdir(d, &e)) == 1)
				i++;
			udax_closedir(&d);
		} else {
			DIR *d = opendir(a->dir);

			if (!d) {
				ret = -errno;
				break;
			}
			while (readdir(d))
				i++;
			closedir(d);
		}
	}
	if (mixed && kind == TS_LIST)
		a->done = i;
	/* Creating: create, close and unlink a name in the thread's own
	 * directory, n / 16 times (a pair costs 20-40 stats). */
	for (i = 0; kind == TS_CREATE && i < n / 16 && !ret; i++) {
		struct be *b = a->x->be[side];
		char name[48];
		void *fh;

		snprintf(name, sizeof(name), "tsc%d/n%llu", a->id, (unsigned long long)i);
		if ((ret = b->open(b, name, true, &fh)))
			break;
		b->close(fh);
		ret = b->unlink(b, name);
	}
	if (mixed && kind == TS_CREATE) {
		a->done = i;
		atomic_store(a->stop, 1);
	}
	/* Delivering: n / 32 deliveries (one costs about 40 stats) into
	 * tsc<id> ("tmp"), moved to tsr<id> ("new"), removed from there. */
	for (i = 0; kind == TS_RENAME && i < n / 32 && !ret; i++) {
		struct be *b = a->x->be[side];
		char tmp[48], new[48];
		void *fh;

		snprintf(tmp, sizeof(tmp), "tsc%d/m%llu", a->id, (unsigned long long)i);
		snprintf(new, sizeof(new), "tsr%d/m%llu", a->id, (unsigned long long)i);
		if ((ret = b->open(b, tmp, true, &fh)))
			break;
		if (b->pwrite(fh, new, 32, 0) != 32)
			ret = -EIO;
		b->close(fh);
		if (!ret)
			ret = b->rename(b, tmp, new);
		if (!ret)
			ret = b->unlink(b, new);
	}
	/* Directories: mkdir and rmdir of a name in tsr<id>, n / 16 times
	 * (rmdir takes ns_lock exclusively). */
	for (i = 0; kind == TS_RMDIR && !ret &&
		    (mixed ? !atomic_load_explicit(a->stop, memory_order_relaxed) : i < n / 16);
	     i++) {
		char p[4200];

		if (side == U) {
			snprintf(p, sizeof(p), "/tsr%d/k%llu", a->id, (unsigned long long)i);
			if (!(ret = udax_mkdir(fs, p, 0755)))
				ret = udax_rmdir(fs, p);
		} else {
			snprintf(p, sizeof(p), "%s/tsr%d/k%llu", a->x->o->kernel_dir, a->id,
				 (unsigned long long)i);
			ret = mkdir(p, 0755) ? -errno : rmdir(p) ? -errno : 0;
		}
	}
	if (mixed && kind == TS_RMDIR)
		a->done = i;
	/* Sizes: n / 4 ftruncates of the thread's own file (one costs
	 * about 4 stats). */
	if (kind == TS_TRUNC) {
		struct be *b = a->x->be[side];
		char name[48];
		void *fh;

		snprintf(name, sizeof(name), "tsc%d/t", a->id);
		if (!(ret = b->open(b, name, true, &fh))) {
			for (i = 0; i < n / 4 && !ret; i++)
				ret = b->truncate(fh, i % 65 == 64 ? 0 : (i % 65 + 1) * BS);
			b->close(fh);
		}
	}
	for (i = 0; kind < TS_CREATE && kind != TS_LIST && !ret &&
		    (mixed ? !atomic_load_explicit(a->stop, memory_order_relaxed) : i < n); i++) {
		const char *p;

		r ^= r << 13;
		r ^= r >> 7;
		r ^= r << 17;
		p = path[r % TS_ENTRIES];
		if (side == U && kind == TS_OPEN) {
			struct udax_file *f;

			if (!(ret = udax_open(fs, p, O_RDONLY, 0, &f)))
				ret = udax_close(&f);
		} else if (side == U) {
			struct udax_stat st;

			ret = udax_stat(fs, p, &st);
		} else if (kind == TS_OPEN) {
			int fd = open(p, O_RDONLY);

			ret = fd < 0 ? -errno : close(fd) ? -errno : 0;
		} else {
			struct stat st;

			ret = stat(p, &st) ? -errno : 0;
		}
	}
	if (mixed && (kind == TS_STAT || kind == TS_OPEN))
		a->done = i;
	a->b.t1 = bench_now_ns();
	a->b.t0 = t0;
	a->b.ret = ret;
	return NULL;
}

static int threads_stat(struct run *x, int side, int t, char **path,
			const char *dir, int kind, double *out)
{
	struct statter a[2];
	uint64_t ns;
	int ret;

	for (int i = 0; i < t; i++)
		a[i] = (struct statter){ .x = x, .side = side, .id = i, .path = path,
					 .dir = dir, .kind = kind };
	ret = bthreads_run(t, stat_thread, a, sizeof(a[0]), &ns);
	*out = (double)t * (double)(kind == TS_CREATE || kind == TS_RMDIR ? TS_STATS(x) / 16 :
				    kind == TS_TRUNC ? TS_STATS(x) / 4 :
				    kind == TS_RENAME ? TS_STATS(x) / 32 : TS_STATS(x)) *
	       1e9 / (double)ns;
	return ret;
}

/*
 * One thread creating and unlinking names in a directory of its own
 * while another stats at random among the TS_ENTRIES names (a build:
 * outputs written while dependencies are checked).  The stat thread
 * runs until the creator's n / 16 creates are done.  Rounds alone (each
 * thread by itself, one after the other) and together, 1, 2, 2, 1 as
 * above, the sides alternating: threads_mixed.stat_share and
 * .create_share are each thread's rate together over its rate alone,
 * and threads_mixed.SIDE.shares_sum their sum: 2 when neither slows
 * the other (two cores), 1 when they take turns.  threads_mixed_open is
 * the same with the other thread opening and closing those names
 * (read-only, no other handle: udax looks the name up and loads the
 * inode beside the creator), threads_mixed_list with it listing their
 * directory (opendir by path, readdir to the end, closedir; entries per
 * second), and threads_rmdir with it making and removing a directory in a
 * directory of its own (a build's scratch directories): udax's rmdir
 * takes ns_lock exclusively, so the two take turns at best (1).
 */
static int threads_mixed(struct run *x, int side, char **path, const char *dir,
			 int other, double out[2])
{
	struct statter a[2];
	_Atomic int stop = 0;
	uint64_t ns;
	int ret;

	for (int i = 0; i < 2; i++)
		a[i] = (struct statter){ .x = x, .side = side, .id = i, .path = path,
					 .dir = dir, .kind = TS_MIXED, .stop = &stop,
					 .other = other };
	ret = bthreads_run(2, stat_thread, a, sizeof(a[0]), &ns);
	for (int i = 0; i < 2; i++)
		out[i] = (double)a[1 - i].done * 1e9 /
			 (double)(a[1 - i].b.t1 > a[1 - i].b.t0 ?
				  a[1 - i].b.t1 - a[1 - i].b.t0 : 1);
	return ret;
}

static int fig_threads_mixed(struct run *x, char *path[2][TS_ENTRIES],
			     char dir[2][4200], int other)
{
	const char *fig = other == TS_STAT ? "threads_mixed" :
			  other == TS_OPEN ? "threads_mixed_open" :
			  other == TS_LIST ? "threads_mixed_list" : "threads_rmdir";
	const char *verb = other == TS_STAT ? "stat'ing" :
			   other == TS_OPEN ? "opening and closing" :
			   other == TS_LIST ? "listing" : "making and removing directories";
	const char *op = other == TS_STAT ? "stat" : other == TS_OPEN ? "open" :
			 other == TS_LIST ? "list" : "rmdir";
	const char *unit = other == TS_STAT ? "ops/s" : other == TS_OPEN ? "opens/s" :
			   other == TS_LIST ? "entries/s" : "rmdirs/s";
	/* [side][stat, create][alone, together][round] */
	double v[2][2][2][THREAD_ROUNDS], med[2][2][2];
	int n[2][2] = { { 0 } }, ret = 0;
	char key[64];

	for (int r = 0; r < THREAD_ROUNDS && !ret; r++) {
		int together = !(r % 4 == 0 || r % 4 == 3);

		for (int k = 0; k < 2 && !ret; k++) {
			int s = r % 2 ? K - k : U + k;
			double o[2];

			bench_progress("%s: %s %s creating, round %d/%d",
				       side_name[s], verb, together ? "beside" : "apart from",
				       r + 1, THREAD_ROUNDS);
			if (together) {
				ret = threads_mixed(x, s, path[s], dir[s], other, o);
			} else {
				ret = threads_stat(x, s, 1, path[s], dir[s], other, &o[0]);
				if (!ret)
					ret = threads_stat(x, s, 1, path[s], dir[s],
							   TS_CREATE, &o[1]);
			}
			for (int w = 0; w < 2; w++)
				v[s][w][together][n[s][together]] = o[w];
			n[s][together]++;
		}
	}
	for (int s = U; s <= K && !ret; s++) {
		const char *const what[] = { op, "create" };

		for (int w = 0; w < 2; w++) {
			for (int t = 0; t < 2; t++) {
				med[s][w][t] = bench_percentile(v[s][w][t], (size_t)n[s][t], 50);
				snprintf(key, sizeof(key), "%s.%s.%s.%s", fig, what[w],
					 t ? "together" : "alone", side_name[s]);
				bench_report(x->r, key, med[s][w][t], w ? "creates/s" : unit);
			}
			snprintf(key, sizeof(key), "%s.%s.%s", fig, what[w], side_name[s]);
			ratio(x, key, "together_to_alone", med[s][w][1], med[s][w][0]);
		}
		snprintf(key, sizeof(key), "%s.%s", fig, side_name[s]);
		ratio(x, key, "shares_sum", med[s][0][1] / med[s][0][0] +
		      med[s][1][1] / med[s][1][0], 1.0);
	}
	return ret;
}

static int fig_threads_stat(struct run *x)
{
	double v[2][2][THREAD_ROUNDS], med[2][2];
	int n[2][2] = { { 0 } }, ret = 0;
	char *path[2][TS_ENTRIES] = { { NULL } }, key[64];

	for (int s = U; s <= K && !ret; s++) {
		char p[4200];

		for (int d = 0; d < 5 && !ret; d++) {
			if (d)
				snprintf(p, sizeof(p), "%s/ts%c%d",
					 s == U ? "" : x->o->kernel_dir,
					 d < 3 ? 'c' : 'r', (d - 1) % 2);
			else
				snprintf(p, sizeof(p), "%s/ts", s == U ? "" : x->o->kernel_dir);
			ret = s == U ? udax_mkdir(x->be[U]->fs, p, 0755) :
				       mkdir(p, 0755) && errno != EEXIST ? -errno : 0;
		}
		for (int i = 0; i < TS_ENTRIES && !ret; i++) {
			void *fh;

			snprintf(p, sizeof(p), "ts/e%07d", i);
			if ((ret = x->be[s]->open(x->be[s], p, true, &fh)))
				break;
			x->be[s]->close(fh);
			snprintf(p, sizeof(p), "%s/ts/e%07d", s == U ? "" : x->o->kernel_dir, i);
			if (!(path[s][i] = strdup(p)))
				ret = -ENOMEM;
		}
	}
	for (int kind = TS_STAT; kind <= TS_RENAME && !ret; kind++) {
		static const char *const figs[] = { "threads_stat", "threads_readdir",
						    "threads_open", "threads_create",
						    "threads_truncate", "threads_rename" };
		static const char *const verbs[] = { "stat'ing", "listing",
						     "opening and closing",
						     "creating and unlinking",
						     "changing the size of a file",
						     "delivering (create, rename, unlink)" };
		const char *fig = figs[kind];
		char dir[2][4200];

		memset(n, 0, sizeof(n));
		for (int s = U; s <= K; s++)
			snprintf(dir[s], sizeof(dir[s]), "%s/ts", s == U ? "" : x->o->kernel_dir);
		for (int r = 0; r < THREAD_ROUNDS && !ret; r++) {
			int t = (r % 4 == 0 || r % 4 == 3) ? 1 : 2;

			for (int k = 0; k < 2 && !ret; k++) {
				int s = r % 2 ? K - k : U + k;

				bench_progress("%s: %d thread(s) %s, round %d/%d",
					       side_name[s], t, verbs[kind],
					       r + 1, THREAD_ROUNDS);
				ret = threads_stat(x, s, t, path[s], dir[s], kind,
						   &v[s][t - 1][n[s][t - 1]]);
				n[s][t - 1]++;
			}
		}
		for (int s = U; s <= K && !ret; s++) {
			for (int t = 0; t < 2; t++) {
				med[s][t] = bench_percentile(v[s][t], (size_t)n[s][t], 50);
				snprintf(key, sizeof(key), "%s.%d.%s", fig, t + 1, side_name[s]);
				bench_report(x->r, key, med[s][t],
					     kind == TS_LIST ? "entries/s" :
					     kind == TS_CREATE ? "creates/s" :
					     kind == TS_TRUNC ? "truncates/s" :
					     kind == TS_RENAME ? "deliveries/s" : "ops/s");
			}
			snprintf(key, sizeof(key), "%s.%s", fig, side_name[s]);
			ratio(x, key, "2_to_1", med[s][1], med[s][0]);
		}
		for (int t = 0; t < 2 && !ret; t++) {
			snprintf(key, sizeof(key), "%s.%d", fig, t + 1);
			ratio(x, key, "udax_to_kernel", med[U][t], med[K][t]);
		}
	}
	if (!ret) {
		char dir[2][4200];

		for (int s = U; s <= K; s++)
			snprintf(dir[s], sizeof(dir[s]), "%s/ts", s == U ? "" : x->o->kernel_dir);
		ret = fig_threads_mixed(x, path, dir, TS_STAT);
		if (!ret)
			ret = fig_threads_mixed(x, path, dir, TS_OPEN);
		if (!ret)
			ret = fig_threads_mixed(x, path, dir, TS_LIST);
		if (!ret)
			ret = fig_threads_mixed(x, path, dir, TS_RMDIR);
	}
	/* The kernel side's names go (tmpfs is memory); udax's go with the
	 * file system. */
	for (int i = 0; i < TS_ENTRIES; i++) {
		if (path[K][i])
			unlink(path[K][i]);
		free(path[U][i]);
		free(path[K][i]);
	}
	{
		char p[4200];

		snprintf(p, sizeof(p), "%s/ts", x->o->kernel_dir);
		rmdir(p);
		for (int d = 0; d < 2; d++) {
			snprintf(p, sizeof(p), "%s/tsc%d/t", x->o->kernel_dir, d);
			unlink(p);
			snprintf(p, sizeof(p), "%s/tsc%d", x->o->kernel_dir, d);
			rmdir(p);
			snprintf(p, sizeof(p), "%s/tsr%d", x->o->kernel_dir, d);
			rmdir(p);
		}
	}
	if (ret)
		fprintf(stderr, "bench scale: threads_stat: %s\n", strerror(-ret));
	return ret;
}

int fs_bench_scale(const struct fs_bench_opts *o, struct bench_report *r)
{
	BACKENDS(o);
	struct run x = { .o = o, .r = r };
	unsigned long sizes[16];
	size_t nsizes = parse_sizes(o->dir_sizes, sizes, 16);
	int ret;

	if (!nsizes) {
		fprintf(stderr, "bench scale: bad directory sizes '%s' (want ascending "
			"positive numbers, e.g. 100,1000,10000)\n", o->dir_sizes);
		return -EINVAL;
	}
	ret = setup(&x, &u, &k, (uint32_t)(sizes[nsizes - 1] + 4096 > 32768 ?
					   sizes[nsizes - 1] + 4096 : 0),
		    (uint64_t)sizes[nsizes - 1] * DIR_REC + 2 * MiB);
	if (!ret)
		ret = fig_dirs(&x, sizes, nsizes);
	if (!ret)
		ret = fig_grow(&x);
	if (!ret)
		ret = fig_threads(&x);
	if (!ret)
		ret = fig_threads_stat(&x);
	if (!ret && !(ret = open_big(&x))) {
		ret = floor_view(&x);
		if (!ret)
			ret = fig_rand_read(&x);
		if (!ret)
			ret = fig_views(&x);
		close_big(&x);
	}
	teardown(&x, &u);
	return ret;
}
