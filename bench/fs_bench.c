/* SPDX-License-Identifier: MIT */
/*
 * udax bench fs: udax against a kernel directory (default /dev/shm, a
 * tmpfs; ext4 -o dax under ../shared/kvm-dax), same operations, same sizes,
 * same run.  Each operation is timed one call at a time and reported as
 * p50 / p99 / mean; throughput figures as MB/s; every udax figure has its
 * ratio to the kernel's, and plain memcpy of the same bytes in DRAM is
 * the physical reference.
 *
 * Both sides skip fsync in the timed loops (on tmpfs it does nothing, and
 * udax writes are flushed as they are made); the udax device is memory
 * (mem:) unless --device names another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <udax/fs.h>

#include "bench_util.h"
#include "fs_bench.h"

#define BS 4096u

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
	/* Map [0, len) for loads and stores; *cookie is for unmap. */
	void *(*map)(void *fh, size_t len, void **cookie);
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
static void *u_map(void *fh, size_t len, void **cookie)
{
	void *addr;

	return udax_view_map(fh, 0, len, UDAX_VIEW_WRITE, (struct udax_view **)cookie, &addr)
	       ? NULL : addr;
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
static void *k_map(void *fh, size_t len, void **cookie)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, KFD(fh), 0);

	*cookie = NULL;
	return p == MAP_FAILED ? NULL : p;
}
static void k_unmap(void *cookie, void *addr, size_t len)
{
	(void)cookie;
	munmap(addr, len);
}

/* ---- measuring ---------------------------------------------------------------- */

struct samples {
	double *v;
	size_t n;
};

static void report_lat(struct bench_report *r, const char *be, const char *op,
		       struct samples *s, double *p50_out)
{
	char key[128];
	double p50 = bench_percentile(s->v, s->n, 50);

	snprintf(key, sizeof(key), "%s.%s.p50", op, be);
	bench_report(r, key, p50, "us");
	snprintf(key, sizeof(key), "%s.%s.p99", op, be);
	bench_report(r, key, bench_percentile(s->v, s->n, 99), "us");
	snprintf(key, sizeof(key), "%s.%s.mean", op, be);
	bench_report(r, key, bench_mean(s->v, s->n), "us");
	if (p50_out)
		*p50_out = p50;
}

static void report_ratio(struct bench_report *r, const char *op, double u, double k)
{
	char key[128];

	snprintf(key, sizeof(key), "%s.ratio_udax_to_kernel", op);
	bench_report(r, key, u / k, "ratio");
}

#define TIMED(s, i, expr) do {						\
	uint64_t _t0 = bench_now_ns();					\
	expr;								\
	(s)->v[(i)] = (double)(bench_now_ns() - _t0) / 1e3;		\
} while (0)

static unsigned long rnd(unsigned long *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* One op for both back ends: the results land in lat[0] (udax), lat[1]. */
struct run {
	const struct fs_bench_opts *o;
	struct bench_report *r;
	char *buf;			/* BS bytes */
	char *big;			/* file_size bytes */
	struct samples s;
};

static int fill(struct be *b, void *fh, struct run *x)
{
	for (uint64_t off = 0; off < x->o->file_size; off += 1u << 20) {
		size_t n = x->o->file_size - off < (1u << 20) ? x->o->file_size - off : 1u << 20;

		if (b->pwrite(fh, x->big + off, n, off) != (ssize_t)n)
			return -EIO;
	}
	return 0;
}

static int bench_backend(struct be *b, struct run *x, int side, double res[][2])
{
	const struct fs_bench_opts *o = x->o;
	unsigned long seed = 88172645463325252ul;
	size_t n = (size_t)o->ops, nblk = o->file_size / BS;
	void *fh, *cookie;
	char *map;
	uint64_t t0;
	int ret;

	/* 4 KiB appends. */
	if ((ret = b->open(b, "append", true, &fh)))
		return ret;
	for (size_t i = 0; i < n; i++)
		TIMED(&x->s, i, ret = (int)b->append(fh, x->buf, BS));
	if (ret != (int)BS)
		return ret < 0 ? ret : -EIO;
	b->close(fh);
	b->unlink(b, "append");
	x->s.n = n;
	report_lat(x->r, b->name, "append_4k", &x->s, &res[0][side]);

	/* A big file: sequential write, then random reads and overwrites. */
	if ((ret = b->open(b, "big", true, &fh)))
		return ret;
	t0 = bench_now_ns();
	if ((ret = fill(b, fh, x)))
		return ret;
	res[1][side] = (double)o->file_size / ((double)(bench_now_ns() - t0) / 1e3);
	bench_report(x->r, side ? "seq_write.kernel" : "seq_write.udax", res[1][side], "MB/s");
	t0 = bench_now_ns();
	for (uint64_t off = 0; off < o->file_size; off += 1u << 20)
		if (b->pread(fh, x->big + off, 1u << 20, off) <= 0)
			return -EIO;
	res[2][side] = (double)o->file_size / ((double)(bench_now_ns() - t0) / 1e3);
	bench_report(x->r, side ? "seq_read.kernel" : "seq_read.udax", res[2][side], "MB/s");
	for (size_t i = 0; i < n; i++) {
		uint64_t off = (rnd(&seed) % nblk) * BS;

		TIMED(&x->s, i, ret = (int)b->pread(fh, x->buf, BS, off));
	}
	report_lat(x->r, b->name, "rand_read_4k", &x->s, &res[3][side]);
	for (size_t i = 0; i < n; i++) {
		uint64_t off = (rnd(&seed) % nblk) * BS;

		TIMED(&x->s, i, ret = (int)b->pwrite(fh, x->buf, BS, off));
	}
	report_lat(x->r, b->name, "rand_overwrite_4k", &x->s, &res[4][side]);

	/* memcpy into and out of a mapping: first touch, then warm. */
	t0 = bench_now_ns();
	map = b->map(fh, o->file_size, &cookie);
	if (!map)
		return -ENOMEM;
	res[5][side] = (double)(bench_now_ns() - t0) / 1e3;
	bench_report(x->r, side ? "map.kernel" : "map.udax", res[5][side], "us");
	for (int pass = 0; pass < 2; pass++) {
		char key[64];

		t0 = bench_now_ns();
		memcpy(x->big, map, o->file_size);
		bench_keep(x->big[o->file_size - 1]);
		res[6 + pass][side] = (double)o->file_size / ((double)(bench_now_ns() - t0) / 1e3);
		snprintf(key, sizeof(key), "memcpy_from_map.%s.%s", pass ? "warm" : "first_touch", b->name);
		bench_report(x->r, key, res[6 + pass][side], "MB/s");
	}
	t0 = bench_now_ns();
	memcpy(map, x->big, o->file_size);
	res[8][side] = (double)o->file_size / ((double)(bench_now_ns() - t0) / 1e3);
	bench_report(x->r, side ? "memcpy_to_map.warm.kernel" : "memcpy_to_map.warm.udax",
		     res[8][side], "MB/s");
	b->unmap(cookie, map, o->file_size);

	/* Truncate (nothing pinned): a file of 64 blocks cut to 0. */
	for (size_t i = 0; i < n / 8; i++) {
		for (int k = 0; k < 64; k++)
			b->pwrite(fh, x->buf, BS, (uint64_t)k * BS);
		TIMED(&x->s, i, ret = b->truncate(fh, 0));
		if (ret)
			return ret;
	}
	x->s.n = n / 8;
	report_lat(x->r, b->name, "truncate_64_blocks", &x->s, &res[9][side]);
	x->s.n = n;
	b->close(fh);
	b->unlink(b, "big");

	/* create + unlink. */
	for (size_t i = 0; i < n / 4; i++) {
		char name[32];

		snprintf(name, sizeof(name), "c%zu", i);
		TIMED(&x->s, i, {
			if ((ret = b->open(b, name, true, &fh)) == 0) {
				b->close(fh);
				ret = b->unlink(b, name);
			}
		});
		if (ret)
			return ret;
	}
	x->s.n = n / 4;
	report_lat(x->r, b->name, "create_unlink", &x->s, &res[10][side]);
	x->s.n = n;
	return 0;
}

/* udax only: pins, and truncate with pins in flight. */
static int bench_pins(struct be *b, struct run *x)
{
	struct udax_break_opts defer = { UDAX_BREAK_DEFER, 0 };
	size_t n = (size_t)x->o->ops;
	struct udax_file *f;
	struct udax_pin *pin;
	int ret;

	if ((ret = b->open(b, "pins", true, (void **)&f)))
		return ret;
	for (int k = 0; k < 64; k++)
		udax_pwrite(f, x->buf, BS, (uint64_t)k * BS);
	for (size_t i = 0; i < n; i++) {
		TIMED(&x->s, i, ret = udax_pin(f, 0, BS, 0, &pin));
		if (ret)
			return ret;
		udax_unpin(&pin);
	}
	report_lat(x->r, "udax", "pin_1_page", &x->s, NULL);
	for (size_t i = 0; i < n; i++) {
		udax_pin(f, 0, 16 * BS, 0, &pin);
		TIMED(&x->s, i, udax_unpin(&pin));
	}
	report_lat(x->r, "udax", "unpin_16_pages", &x->s, NULL);
	/* Truncate while 16 pages are pinned, deferred: returns at once. */
	for (size_t i = 0; i < n / 8; i++) {
		for (int k = 0; k < 64; k++)
			udax_pwrite(f, x->buf, BS, (uint64_t)k * BS);
		if ((ret = udax_pin(f, 0, 16 * BS, 0, &pin)))
			return ret;
		TIMED(&x->s, i, ret = udax_ftruncate_ex(f, 0, &defer));
		udax_unpin(&pin);
		if (ret)
			return ret;
	}
	x->s.n = n / 8;
	report_lat(x->r, "udax", "truncate_64_blocks_16_pinned_defer", &x->s, NULL);
	x->s.n = n;
	udax_close(&f);
	return b->unlink(b, "pins");
}

int fs_bench_run(const struct fs_bench_opts *o, struct bench_report *r)
{
	static const char *names[] = { "append_4k", "seq_write", "seq_read", "rand_read_4k",
		"rand_overwrite_4k", "map", "memcpy_from_map.first_touch",
		"memcpy_from_map.warm", "memcpy_to_map.warm", "truncate_64_blocks",
		"create_unlink" };
	/* Latencies: lower is better; throughputs (MB/s): higher is better. */
	static const bool is_rate[] = { 0, 1, 1, 0, 0, 0, 1, 1, 1, 0, 0 };
	double res[11][2];
	struct be u = { "udax", .open = u_open, .pwrite = u_pwrite, .pread = u_pread,
		.append = u_append, .truncate = u_truncate, .close = u_close,
		.unlink = u_unlink, .map = u_map, .unmap = u_unmap };
	struct be k = { "kernel", .dir = o->kernel_dir, .open = k_open, .pwrite = k_pwrite,
		.pread = k_pread, .append = k_append, .truncate = k_truncate,
		.close = k_close, .unlink = k_unlink, .map = k_map, .unmap = k_unmap };
	struct run x = { .o = o, .r = r };
	struct udax_dev *dev = NULL;
	uint64_t t0;
	int ret;

	x.buf = aligned_alloc(BS, BS);
	x.big = aligned_alloc(BS, o->file_size);
	x.s.v = calloc((size_t)o->ops, sizeof(double));
	x.s.n = (size_t)o->ops;
	if (!x.buf || !x.big || !x.s.v) {
		ret = -ENOMEM;
		goto out;
	}
	memset(x.buf, 'b', BS);
	for (uint64_t i = 0; i < o->file_size; i++)
		x.big[i] = (char)(i * 131 + 7);
	bench_report_str(r, "udax.device", o->device);
	bench_report_str(r, "kernel.dir", o->kernel_dir);
	bench_report(r, "file_size", (double)o->file_size, "bytes");

	/* A file device that does not exist yet is created to fit the runs. */
	{
		struct udax_dev_opts dopt = { 0 };

		if (strncmp(o->device, "mem:", 4) && access(o->device[0] == 'f' &&
		    !strncmp(o->device, "file:", 5) ? o->device + 5 : o->device, F_OK)) {
			dopt.flags = UDAX_DEV_CREATE;
			dopt.size = 4 * o->file_size + (64ull << 20);
		}
		mkdir(o->kernel_dir, 0755);
		ret = udax_dev_open(o->device, &dopt, &dev);
	}
	if (ret) {
		fprintf(stderr, "bench fs: %s\n", udax_dev_last_error());
		goto out;
	}
	if ((ret = udax_dev_mkpart(dev, NULL, 0, UDAX_MKPART_FORCE)) ||
	    (ret = udax_mkfs(dev, 0, NULL)) || (ret = udax_mount(dev, 0, NULL, &u.fs))) {
		fprintf(stderr, "bench fs: %s\n", udax_fs_last_error());
		goto out;
	}
	if ((ret = bench_backend(&u, &x, 0, res)) || (ret = bench_backend(&k, &x, 1, res)) ||
	    (ret = bench_pins(&u, &x)))
		goto out;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char key[96];

		snprintf(key, sizeof(key), "%s%s", names[i], is_rate[i] ? "" : ".p50");
		report_ratio(r, key, res[i][0], res[i][1]);
	}
	/* The physical reference: memcpy of the same bytes, DRAM to DRAM. */
	{
		char *dst = aligned_alloc(BS, o->file_size);

		if (dst) {
			memset(dst, 0, o->file_size);
			t0 = bench_now_ns();
			memcpy(dst, x.big, o->file_size);
			bench_keep(dst[o->file_size - 1]);
			bench_report(r, "memcpy_dram.reference",
				     (double)o->file_size / ((double)(bench_now_ns() - t0) / 1e3),
				     "MB/s");
			for (size_t i = 0; i < x.s.n; i++)
				TIMED(&x.s, i, memcpy(dst + (i % 64) * BS, x.buf, BS));
			report_lat(r, "dram", "memcpy_4k_reference", &x.s, NULL);
			free(dst);
		}
	}
out:
	/* Bounded: a leaked pin must not hang the command (docs/fs.md). */
	if (u.fs && udax_unmount_ex(&u.fs, &(struct udax_break_opts){
			.mode = UDAX_BREAK_TIMEOUT, .timeout_ns = 30000000000ll }))
		fprintf(stderr, "bench fs: %s\n", udax_fs_last_error());
	if (dev)
		udax_dev_close(&dev, 0);
	free(x.buf);
	free(x.big);
	free(x.s.v);
	return ret;
}
