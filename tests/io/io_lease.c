/* SPDX-License-Identifier: MIT */
/*
 * Leased fixed buffers (udax_io_lease_fixed): register a file range, read
 * an O_DIRECT file into it with READ_FIXED and verify, write it out;
 * a truncate of the range revokes the lease (callback once), waits for
 * the fixed read in flight, then succeeds, and the handle refuses new
 * transfers; a holder whose read does not finish within revoke_timeout
 * makes the break fail with -ETIMEDOUT and the file unchanged; the
 * holder's release racing a revocation, a few hundred times (no double
 * free, no leak: run it under ASan and TSan).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <udax/dev.h>
#include <udax/fs.h>
#include <udax/io.h>

#include "io_util.h"

#define PG	4096
#define NPG	16

static char dir[] = "/var/tmp/udax-iolease-XXXXXX";

struct holder {
	struct udax_io_leased *lf;
	_Atomic int revoked;		/* calls of the revoked callback */
	_Atomic int completed;		/* fixed transfers completed */
	_Atomic ssize_t last_res;
};

static void on_revoked(struct udax_io_leased *lf, void *arg)
{
	struct holder *h = arg;

	T_ASSERT(udax_io_leased_revoked(lf));
	/* Releasing here would make the break wait on the I/O. */
	T_EXPECT_ERR(udax_io_lease_fixed_release(&lf), -EDEADLK);
	atomic_fetch_add(&h->revoked, 1);
}

static void on_done(struct udax_io_req *req, ssize_t res, void *arg)
{
	struct holder *h = arg;

	(void)req;
	atomic_store(&h->last_res, res);
	atomic_fetch_add(&h->completed, 1);
}

static struct udax_file *tf;
static _Atomic int trunc_returned;
static int trunc_ret, completed_at_return;
static struct holder *th;

static void *truncate_thread(void *arg)
{
	struct udax_break_opts wait = { UDAX_BREAK_WAIT, 0 };

	(void)arg;
	trunc_ret = udax_ftruncate_ex(tf, 0, &wait);
	completed_at_return = atomic_load(&th->completed);
	atomic_store(&trunc_returned, 1);
	return NULL;
}

static void fill(struct udax_file *f, size_t npg, char tag)
{
	char b[PG];

	for (size_t i = 0; i < npg; i++) {
		memset(b, tag, PG);
		memcpy(b, &i, sizeof(i));
		T_EXPECT_ERR(udax_pwrite(f, b, PG, i * PG), PG);
	}
}

static void check(struct udax_file *f, size_t npg, char tag)
{
	char b[PG], want[PG];

	for (size_t i = 0; i < npg; i++) {
		memset(want, tag, PG);
		memcpy(want, &i, sizeof(i));
		T_EXPECT_ERR(udax_pread(f, b, PG, i * PG), PG);
		T_ASSERT(memcmp(b, want, PG) == 0);
	}
}

static void wait_for(_Atomic int *v, int want)
{
	while (atomic_load(v) < want)
		usleep(1000);	/* the alarm() watchdog catches a hang */
}

/* ---- the race: holder release against a revoking truncate ---------------- */

struct race {
	struct udax_file *f;
	_Atomic int go;
	int ret;
};

static void *race_truncate(void *p)
{
	struct race *r = p;
	struct udax_break_opts wait = { UDAX_BREAK_WAIT, 0 };

	while (!atomic_load(&r->go))
		;
	r->ret = udax_ftruncate_ex(r->f, 0, &wait);
	return NULL;
}

/* Vary where the two sides meet. */
static void spin_us(uint64_t us)
{
	uint64_t end = t_now_ns() + us * 1000;

	while (t_now_ns() < end)
		;
}

static void race_loop(struct udax_io *io, struct udax_fs *fs, int fd)
{
	long n = t_iters(300);
	struct udax_file *f;
	unsigned setup_lost = 0, revoked_first = 0, told = 0, setup_revoked = 0;

	T_EXPECT_ERR(udax_open(fs, "/race", O_CREAT | O_RDWR, 0644, &f), 0);
	for (long i = 0; i < n; i++) {
		struct holder h = { 0 };
		struct race r = { .f = f };
		pthread_t t;
		int ret;

		fill(f, 4, 'r');
		pthread_create(&t, NULL, race_truncate, &r);
		if (i % 3 == 2) {
			/* The break races the registration itself. */
			atomic_store(&r.go, 1);
			spin_us((uint64_t)(i * 7) % 300);
			ret = udax_io_lease_fixed(io, f, 0, 4 * PG, -1, on_revoked, &h, &h.lf);
			T_ASSERT(ret == 0 || ret == -ESHUTDOWN || ret == -EINVAL ||
				 ret == -ENODATA);
			if (ret)
				setup_lost++;
			if (ret == -ESHUTDOWN)
				setup_revoked++;
		} else {
			T_EXPECT_ERR(udax_io_lease_fixed(io, f, 0, 4 * PG, -1, on_revoked,
							 &h, &h.lf), 0);
			if (i % 3 == 1) {
				ret = udax_io_leased_read(h.lf, 0, fd, 0, 4 * PG, on_done,
							  &h, NULL);
				T_ASSERT(ret == 0 || ret == -ESHUTDOWN);
			}
			atomic_store(&r.go, 1);
			spin_us((uint64_t)(i * 13) % 400);
		}
		if (udax_io_leased_revoked(h.lf))
			revoked_first++;
		T_EXPECT_ERR(udax_io_lease_fixed_release(&h.lf), 0);
		T_ASSERT(h.lf == NULL);
		pthread_join(t, NULL);
		T_EXPECT_ERR(r.ret, 0);
		T_ASSERT(atomic_load(&h.revoked) <= 1);
		told += atomic_load(&h.revoked);
	}
	T_EXPECT_ERR(udax_io_drain(io), 0);
	T_EXPECT_ERR(udax_close(&f), 0);
	/* Not checked: the mix only shows that the race was run. */
	printf("io_lease: race: %ld rounds, %u revoked before release, %u callbacks, "
	       "%u registrations lost to the break (%u revoked in setup)\n", n, revoked_first,
	       told, setup_lost, setup_revoked);
}

int main(void)
{
	struct udax_io_opts o = { .queue_depth = 16, .flags = UDAX_IO_FULL };
	struct udax_dev *dev;
	struct udax_fs *fs;
	struct udax_file *f;
	struct udax_io *io;
	struct udax_io_req *req;
	struct udax_io_slow *slow;
	struct udax_io_slow_opts so = { .rate = 4u << 20, .paused = true };
	struct udax_break_opts wait = { UDAX_BREAK_WAIT, 0 };
	struct udax_page *pages[NPG];
	struct holder h = { 0 };
	struct udax_stat st;
	struct udax_pin *pin;
	char path_in[64], path_out[64];
	uint8_t *b, *c;
	pthread_t t;
	uint64_t roff, total;
	int fd, ofd, ret;

	alarm(240);	/* a hang is a failure */
	T_ASSERT(mkdtemp(dir));
	snprintf(path_in, sizeof(path_in), "%s/in", dir);
	snprintf(path_out, sizeof(path_out), "%s/out", dir);
	T_ASSERT((b = aligned_alloc(PG, NPG * PG)) && (c = aligned_alloc(PG, NPG * PG)));
	for (size_t i = 0; i < NPG * PG; i++)
		b[i] = io_pat(i);
	fd = io_direct_source("io_lease", path_in, b, NPG * PG);
	ofd = io_direct_sink("io_lease", path_out);
	T_EXPECT_ERR(udax_dev_open("mem:64M", NULL, &dev), 0);
	T_EXPECT_ERR(udax_dev_mkpart(dev, NULL, 0, 0), 0);
	T_EXPECT_ERR(udax_mkfs(dev, 0, NULL), 0);
	T_EXPECT_ERR(udax_mount(dev, 0, NULL, &fs), 0);
	T_EXPECT_ERR(udax_open(fs, "/f", O_CREAT | O_RDWR, 0644, &f), 0);
	fill(f, NPG, 'a');
	io = io_new_or_skip(&o);

	/* 1. Register, READ_FIXED into every run, verify; write out. */
	T_EXPECT_ERR(udax_io_lease_fixed(io, f, 100, PG, -1, NULL, NULL, &h.lf), -EINVAL);
	T_ASSERT(h.lf == NULL);
	T_EXPECT_ERR(udax_io_lease_fixed(io, f, 0, 2 * NPG * PG, -1, NULL, NULL, &h.lf),
		     -EINVAL);	/* past EOF */
	ret = udax_io_lease_fixed(io, f, 0, NPG * PG, -1, on_revoked, &h, &h.lf);
	if (ret == -EOPNOTSUPP || ret == -EFAULT) {
		printf("io_lease: fixed buffers refused (%s): skipped\n",
		       udax_io_last_error());
		return T_SKIP;
	}
	T_EXPECT_ERR(ret, 0);
	T_ASSERT(!udax_io_leased_revoked(h.lf) && udax_io_leased_count(h.lf) >= 1);
	total = 0;
	for (unsigned i = 0; i < udax_io_leased_count(h.lf); i++) {
		size_t len = udax_io_leased_run(h.lf, i, &roff);

		T_ASSERT(roff == total && len > 0);
		T_EXPECT_ERR(udax_io_leased_read(h.lf, roff, fd, (int64_t)roff, len,
						 NULL, NULL, &req), 0);
		T_EXPECT_ERR(udax_io_wait(req), (long)len);
		udax_io_req_free(&req);
		total += len;
	}
	T_ASSERT(total == NPG * PG);
	printf("io_lease: %u fixed buffer(s) for %d pages\n",
	       udax_io_leased_count(h.lf), NPG);
	T_EXPECT_ERR(udax_pread(f, c, NPG * PG, 0), NPG * PG);
	T_ASSERT(memcmp(b, c, NPG * PG) == 0);
	T_EXPECT_ERR(udax_pwrite(f, "lease", 5, 3 * PG + 1), 5);
	/* WRITE_FIXED the first run out and compare. */
	total = udax_io_leased_run(h.lf, 0, &roff);
	T_EXPECT_ERR(udax_io_leased_write(h.lf, 0, ofd, 0, total, NULL, NULL, &req), 0);
	T_EXPECT_ERR(udax_io_wait(req), (long)total);
	udax_io_req_free(&req);
	T_EXPECT_ERR(udax_pread(f, c, total, 0), (long)total);
	T_ASSERT(pread(ofd, b, total, 0) == (ssize_t)total && memcmp(b, c, total) == 0);
	if (total > 3 * PG + 6)
		T_ASSERT(memcmp(b + 3 * PG + 1, "lease", 5) == 0);
	T_EXPECT_ERR(udax_io_leased_read(h.lf, NPG * PG, fd, 0, PG, NULL, NULL, NULL),
		     -EINVAL);
	T_EXPECT_ERR(udax_io_leased_read(h.lf, 0, fd, 0, 0, NULL, NULL, NULL), -EINVAL);

	/* 1b. A fragmented file (blocks interleaved with another file's):
	 * one fixed buffer per run, each read into through the handle, a
	 * transfer across two runs refused; a truncate tears all down. */
	{
		struct udax_file *fr, *pad;
		struct holder hf = { 0 };
		uint64_t o0;
		size_t l0;

		T_EXPECT_ERR(udax_open(fs, "/frag", O_CREAT | O_RDWR, 0644, &fr), 0);
		T_EXPECT_ERR(udax_open(fs, "/pad", O_CREAT | O_RDWR, 0644, &pad), 0);
		for (int i = 0; i < 4; i++) {
			T_EXPECT_ERR(udax_pwrite(fr, c, PG, (uint64_t)i * PG), PG);
			T_EXPECT_ERR(udax_pwrite(pad, c, PG, (uint64_t)i * PG), PG);
		}
		T_EXPECT_ERR(udax_io_lease_fixed(io, fr, 0, 4 * PG, -1, on_revoked, &hf,
						 &hf.lf), 0);
		printf("io_lease: fragmented file: %u fixed buffer(s) for 4 pages\n",
		       udax_io_leased_count(hf.lf));
		total = 0;
		for (unsigned i = 0; i < udax_io_leased_count(hf.lf); i++) {
			size_t len = udax_io_leased_run(hf.lf, i, &roff);

			T_ASSERT(roff == total);
			T_EXPECT_ERR(udax_io_leased_read(hf.lf, roff, fd, (int64_t)roff, len,
							 NULL, NULL, NULL), 0);
			total += len;
		}
		T_ASSERT(total == 4 * PG && udax_io_leased_run(hf.lf, 99, &roff) == 0);
		l0 = udax_io_leased_run(hf.lf, 0, &o0);
		if (udax_io_leased_count(hf.lf) > 1)
			T_EXPECT_ERR(udax_io_leased_read(hf.lf, 0, fd, 0, l0 + PG, NULL, NULL,
							 NULL), -EINVAL);
		T_EXPECT_ERR(udax_io_drain(io), 0);
		T_EXPECT_ERR(udax_pread(fr, c, 4 * PG, 0), 4 * PG);
		for (size_t i = 0; i < 4 * PG; i++)
			T_ASSERT(c[i] == io_pat(i));
		T_EXPECT_ERR(udax_ftruncate_ex(fr, 0, &wait), 0);
		T_ASSERT(atomic_load(&hf.revoked) == 1);
		T_EXPECT_ERR(udax_io_lease_fixed_release(&hf.lf), 0);
		T_EXPECT_ERR(udax_close(&fr), 0);
		T_EXPECT_ERR(udax_close(&pad), 0);
	}

	/* 2. A truncate revokes: callback once, the handle refuses new
	 * transfers at once, the break waits for the fixed read in flight. */
	T_EXPECT_ERR(udax_pin(f, 0, NPG * PG, 0, &pin), 0);
	memcpy(pages, udax_pin_page_array(pin), sizeof(pages));
	T_EXPECT_ERR(udax_unpin(&pin), 0);
	T_EXPECT_ERR(udax_io_slow_new(&so, &slow), 0);
	T_EXPECT_ERR(udax_io_leased_read(h.lf, 0, udax_io_slow_fd(slow), UDAX_IO_CUR_POS,
					 PG, on_done, &h, NULL), 0);
	tf = f;
	th = &h;
	pthread_create(&t, NULL, truncate_thread, NULL);
	wait_for(&h.revoked, 1);
	T_ASSERT(udax_io_leased_revoked(h.lf));
	T_EXPECT_ERR(udax_io_leased_read(h.lf, 0, fd, 0, PG, NULL, NULL, NULL), -ESHUTDOWN);
	usleep(50 * 1000);	/* a chance to go wrong; it cannot return yet */
	T_ASSERT(!atomic_load(&trunc_returned) && atomic_load(&h.completed) == 0);
	udax_io_slow_resume(slow);
	pthread_join(t, NULL);
	T_EXPECT_ERR(trunc_ret, 0);
	T_ASSERT(completed_at_return == 1 && atomic_load(&h.last_res) == PG);
	T_ASSERT(atomic_load(&h.revoked) == 1);
	for (int i = 0; i < NPG; i++)
		T_ASSERT(udax_page_ref_count(pages[i]) == 0);
	T_EXPECT_ERR(udax_io_leased_write(h.lf, 0, ofd, 0, PG, NULL, NULL, NULL),
		     -ESHUTDOWN);
	T_EXPECT_ERR(udax_io_lease_fixed_release(&h.lf), 0);
	T_ASSERT(h.lf == NULL);
	udax_io_slow_delete(&slow);

	/* 3. The holder's read does not finish within revoke_timeout: the
	 * break fails with -ETIMEDOUT and the file is unchanged; once the
	 * read completes the teardown finishes and a break goes through. */
	memset(&h, 0, sizeof(h));
	fill(f, NPG, 'b');
	T_EXPECT_ERR(udax_io_slow_new(&so, &slow), 0);
	T_EXPECT_ERR(udax_io_lease_fixed(io, f, 0, NPG * PG, 20 * 1000 * 1000,
					 on_revoked, &h, &h.lf), 0);
	T_EXPECT_ERR(udax_io_leased_read(h.lf, 0, udax_io_slow_fd(slow), UDAX_IO_CUR_POS,
					 PG, on_done, &h, NULL), 0);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &wait), -ETIMEDOUT);
	T_ASSERT(atomic_load(&h.revoked) == 1 && udax_io_leased_revoked(h.lf));
	T_EXPECT_ERR(udax_fstat(f, &st), 0);
	T_ASSERT(st.size == NPG * PG);
	check(f, NPG, 'b');		/* the source is paused: nothing landed */
	T_EXPECT_ERR(udax_io_leased_read(h.lf, 0, fd, 0, PG, NULL, NULL, NULL), -ESHUTDOWN);
	udax_io_slow_resume(slow);
	T_EXPECT_ERR(udax_io_lease_fixed_release(&h.lf), 0);	/* joins the teardown */
	T_ASSERT(atomic_load(&h.completed) == 1 && atomic_load(&h.revoked) == 1);
	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &wait), 0);
	udax_io_slow_delete(&slow);

	/* 4. Release without revocation, then the race. */
	fill(f, NPG, 'c');
	T_EXPECT_ERR(udax_io_lease_fixed(io, f, 0, NPG * PG, -1, NULL, NULL, &h.lf), 0);
	T_EXPECT_ERR(udax_io_lease_fixed_release(&h.lf), 0);
	T_EXPECT_ERR(udax_io_lease_fixed_release(&h.lf), 0);	/* NULL: no-op */
	T_EXPECT_ERR(udax_ftruncate_ex(f, 0, &wait), 0);
	race_loop(io, fs, fd);

	T_EXPECT_ERR(udax_io_delete(&io), 0);	/* -EBUSY if a slot leaked */
	T_EXPECT_ERR(udax_close(&f), 0);
	T_EXPECT_ERR(udax_unmount(&fs), 0);
	T_EXPECT_ERR(udax_dev_close(&dev, 0), 0);
	close(fd);
	close(ofd);
	unlink(path_in);
	unlink(path_out);
	rmdir(dir);
	free(b);
	free(c);
	printf("io_lease: ok\n");
	return 0;
}
