/* SPDX-License-Identifier: MIT */
/*
 * udax bench pagemap: what the put_page hot path, the static key and idle
 * waits cost.
 *
 * Figures, all measured in the same run:
 *  - put_page with the managed key off, against a plain atomic decrement
 *    of a word of the same shape (the physical floor), and their ratio,
 *    both inline in the timed loop and both through a function call;
 *  - put_page with the key on, for a page of a range without callbacks
 *    and for a page of a managed range (not the last reference);
 *  - get+put pairs per second for 1, 2 and all threads, on one shared page
 *    and on a page per thread (each page keeps a base reference, so no
 *    idle transitions), and on distinct pages with an idle transition
 *    (page_free) on every put;
 *  - the time from the last put_page to the return of a thread sleeping in
 *    udax_page_wait_idle().
 * Timed loops are repeated and the median round is reported.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <udax/pagemap.h>

#include "bench_util.h"
#include "pagemap_bench.h"

#define ROUNDS 7

struct ranges {
	void *mem;
	size_t size;
	struct udax_pgmap *generic, *fsdax;
};

static void *map_anon(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int reg(void *addr, size_t size, enum udax_pgmap_type type,
	       const char *name, struct udax_pgmap **out)
{
	struct udax_pgmap_params p = {
		.type = type, .addr = addr, .size = size, .name = name,
	};

	return udax_pgmap_register(&p, out);
}

static struct udax_page *first_page(struct udax_pgmap *pgmap, unsigned long i)
{
	struct udax_pgmap_info info;

	udax_pgmap_get_info(pgmap, &info);
	return udax_pgmap_pfn_to_page(pgmap, info.pfn_first + i);
}

/* ---- single-thread put costs ------------------------------------------- */

static double time_put(struct udax_page *page, long n)
{
	uint64_t t0, t1;

	for (long i = 0; i < n; i++)
		udax_get_page(page);
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		udax_put_page(page);
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)n;
}

/* The floor: the same decrement udax_put_page ends in, nothing around it. */
static __attribute__((noinline)) void plain_put(_Atomic uint32_t *w)
{
	atomic_fetch_sub_explicit(w, 1, memory_order_release);
}

static __attribute__((noinline)) void lib_put(struct udax_page *page)
{
	udax_put_page(page);
}

static double time_put_call(struct udax_page *page, long n)
{
	uint64_t t0, t1;

	for (long i = 0; i < n; i++)
		udax_get_page(page);
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		lib_put(page);
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)n;
}

/* The same loop shape as time_put: an inline decrement per iteration. */
static double time_plain(_Atomic uint32_t *w, long n)
{
	uint64_t t0, t1;

	atomic_store(w, (uint32_t)n + 1);
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		atomic_fetch_sub_explicit(w, 1, memory_order_release);
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)n;
}

/* And the same through a call, to compare with time_put_call. */
static double time_plain_call(_Atomic uint32_t *w, long n)
{
	uint64_t t0, t1;

	atomic_store(w, (uint32_t)n + 1);
	t0 = bench_now_ns();
	for (long i = 0; i < n; i++)
		plain_put(w);
	t1 = bench_now_ns();
	return (double)(t1 - t0) / (double)n;
}

static double median(double *v)
{
	return bench_percentile(v, ROUNDS, 50);
}

/* ---- get+put scaling ---------------------------------------------------- */

struct gp_arg {
	struct udax_page *page;
	long n;
	pthread_barrier_t *start;
	uint64_t ns;
};

static void *gp_thread(void *p)
{
	struct gp_arg *a = p;
	uint64_t t0;

	pthread_barrier_wait(a->start);
	t0 = bench_now_ns();
	for (long i = 0; i < a->n; i++) {
		udax_get_page(a->page);
		udax_put_page(a->page);
	}
	a->ns = bench_now_ns() - t0;
	return NULL;
}

/* Returns million get+put pairs per second, all threads together. */
static double get_put_rate_once(struct udax_page **pages, int nthreads, long n)
{
	pthread_t tid[nthreads];
	struct gp_arg arg[nthreads];
	pthread_barrier_t start;
	uint64_t max_ns = 0;

	pthread_barrier_init(&start, NULL, (unsigned)nthreads);
	for (int i = 0; i < nthreads; i++) {
		arg[i] = (struct gp_arg){ pages[i], n, &start, 0 };
		pthread_create(&tid[i], NULL, gp_thread, &arg[i]);
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tid[i], NULL);
		if (arg[i].ns > max_ns)
			max_ns = arg[i].ns;
	}
	pthread_barrier_destroy(&start);
	return (double)n * nthreads / ((double)max_ns / 1e3);
}

/* The median of a few runs: multi-thread figures are noisy on a shared host. */
static double get_put_rate(struct udax_page **pages, int nthreads, long n)
{
	double v[5];

	for (int k = 0; k < 5; k++)
		v[k] = get_put_rate_once(pages, nthreads, n);
	return bench_percentile(v, 5, 50);
}

/* ---- idle wait latency ---------------------------------------------------- */

struct wl_arg {
	struct udax_page *page;
	_Atomic int go, done;
	uint64_t t_return;
	int ret;
};

/* Put the calling thread on one CPU, if there are enough of them. */
static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	if (sysconf(_SC_NPROCESSORS_ONLN) <= cpu)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void unpin(void)
{
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	CPU_ZERO(&set);
	for (long i = 0; i < n && i < CPU_SETSIZE; i++)
		CPU_SET(i, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

static void *wl_thread(void *p)
{
	struct wl_arg *a = p;

	pin_to_cpu(1);
	for (;;) {
		int g;

		while ((g = atomic_load(&a->go)) == 0)
			sched_yield();
		if (g < 0)
			return NULL;
		atomic_store(&a->go, 0);
		a->ret = udax_page_wait_idle(a->page, -1, NULL);
		a->t_return = bench_now_ns();
		atomic_store(&a->done, 1);
	}
}

static int wait_latency(struct bench_report *r, struct udax_page *page, long n)
{
	struct wl_arg a = { .page = page };
	double *lat = calloc((size_t)n, sizeof(*lat));
	pthread_t tid;
	long ok = 0;

	if (!lat)
		return -ENOMEM;
	/* Waker and waiter on different CPUs: the figure is the wakeup path,
	 * not the scheduler's time slice. */
	pin_to_cpu(0);
	pthread_create(&tid, NULL, wl_thread, &a);
	for (long i = 0; i < n; i++) {
		uint64_t t0;

		udax_get_page(page);
		atomic_store(&a.done, 0);
		atomic_store(&a.go, 1);
		/* Put only once the waiter has queued itself and sleeps. */
		while (!(atomic_load(&page->_refcount) & UDAX_PAGE_WAITERS))
			sched_yield();
		usleep(20);
		t0 = bench_now_ns();
		udax_put_page(page);
		while (!atomic_load(&a.done))
			;
		if (a.ret == 0)
			lat[ok++] = (double)(a.t_return - t0) / 1e3;
	}
	atomic_store(&a.go, -1);
	pthread_join(tid, NULL);
	unpin();
	bench_report(r, "wait_idle.samples", (double)ok, "count");
	bench_report(r, "wait_idle.wake_to_return_mean", bench_mean(lat, (size_t)ok), "us");
	bench_report(r, "wait_idle.wake_to_return_p50", bench_percentile(lat, (size_t)ok, 50), "us");
	bench_report(r, "wait_idle.wake_to_return_p99", bench_percentile(lat, (size_t)ok, 99), "us");
	free(lat);
	return ok == n ? 0 : -EIO;
}

/* ---- driver --------------------------------------------------------------- */

int pagemap_bench_run(const struct pagemap_bench_opts *o, struct bench_report *r)
{
	long n = o->iters > 0 ? o->iters : 1000000;
	int all = o->threads > 0 ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	int counts[3] = { 1, 2, all }, ncounts = all > 2 ? 3 : 2;
	size_t size = 64ul << 20;	/* 16384 pages per range */
	struct ranges rg = { .size = size };
	double off[ROUNDS], plain[ROUNDS], on_nc[ROUNDS], on_m[ROUNDS];
	double call_off[ROUNDS], call_plain[ROUNDS];
	_Atomic uint32_t *word;
	const char *reason;
	char key[96];
	int ret;

	if (all > 256)
		all = 256;
	rg.mem = map_anon(2 * size);
	word = map_anon(UDAX_PAGE_SIZE);
	if (!rg.mem || !word)
		return -ENOMEM;

	bench_report_str(r, "static_key.mode",
			 udax_static_key_mode(&reason) == UDAX_STATIC_KEY_PATCHED
			 ? "patched" : "flag");
	bench_report(r, "page.descriptor_size", sizeof(struct udax_page), "bytes");
	bench_report(r, "threads.all", all, "threads");

	ret = reg(rg.mem, size, UDAX_PGMAP_GENERIC, "bench-generic", &rg.generic);
	if (ret)
		return ret;
	struct udax_page *gpage = first_page(rg.generic, 0);

	/* Key off: no managed range registered yet (unless the caller has one). */
	bench_report(r, "static_key.enabled_at_start",
		     udax_static_key_enabled(&udax_pagemap_managed_key), "bool");
	for (int k = 0; k < ROUNDS; k++) {
		plain[k] = time_plain(word, n);
		off[k] = time_put(gpage, n);
		call_plain[k] = time_plain_call(word, n);
		call_off[k] = time_put_call(gpage, n);
	}
	ret = reg((char *)rg.mem + size, size, UDAX_PGMAP_FS_DAX, "bench-fsdax", &rg.fsdax);
	if (ret)
		return ret;
	struct udax_page *mpage = first_page(rg.fsdax, 0);

	udax_get_page(mpage);	/* base reference: no idle transitions */
	for (int k = 0; k < ROUNDS; k++) {
		on_nc[k] = time_put(gpage, n);
		on_m[k] = time_put(mpage, n);
	}
	double m_plain = median(plain), m_off = median(off);

	bench_report(r, "atomic_dec.plain", m_plain, "ns/op");
	bench_report(r, "put_page.key_off", m_off, "ns/op");
	bench_report(r, "put_page.key_off_ratio_to_plain", m_off / m_plain, "ratio");
	bench_report(r, "atomic_dec.plain_call", median(call_plain), "ns/op");
	bench_report(r, "put_page.key_off_call", median(call_off), "ns/op");
	bench_report(r, "put_page.key_off_call_ratio_to_plain_call",
		     median(call_off) / median(call_plain), "ratio");
	bench_report(r, "put_page.key_on_noncallback", median(on_nc), "ns/op");
	bench_report(r, "put_page.key_on_managed", median(on_m), "ns/op");

	/* Scaling: pages of the managed range, each with a base reference. */
	struct udax_page *pages[256], *shared[256];

	for (int i = 0; i < all; i++) {
		pages[i] = first_page(rg.fsdax, 1 + (unsigned long)i * 64);
		udax_get_page(pages[i]);
		shared[i] = mpage;
	}
	long nt = n / 2;

	for (int c = 0; c < ncounts; c++) {
		int t = counts[c];

		snprintf(key, sizeof(key), "get_put.shared.threads_%d", t);
		bench_report(r, key, get_put_rate(shared, t, nt), "Mops/s");
		snprintf(key, sizeof(key), "get_put.distinct.threads_%d", t);
		bench_report(r, key, get_put_rate(pages, t, nt), "Mops/s");
	}
	/* Distinct pages without a base reference: page_free on every put. */
	for (int i = 0; i < all; i++)
		udax_put_page(pages[i]);
	for (int c = 0; c < ncounts; c++) {
		int t = counts[c];

		snprintf(key, sizeof(key), "get_put.idle_transition.threads_%d", t);
		bench_report(r, key, get_put_rate(pages, t, nt / 2), "Mops/s");
	}

	ret = wait_latency(r, first_page(rg.fsdax, 4000), o->wait_samples > 0 ? o->wait_samples : 2000);

	struct udax_pgmap_info info;

	udax_pgmap_get_info(rg.fsdax, &info);
	bench_report(r, "pgmap.fsdax.idle_transitions", (double)info.idle_transitions, "count");
	udax_put_page(mpage);
	if (udax_pgmap_unregister(rg.fsdax, 0, -1) || udax_pgmap_unregister(rg.generic, 0, -1))
		ret = ret ? ret : -EBUSY;
	munmap(rg.mem, 2 * size);
	munmap(word, UDAX_PAGE_SIZE);
	return ret;
}
