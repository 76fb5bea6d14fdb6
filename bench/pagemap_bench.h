/* SPDX-License-Identifier: MIT */
#ifndef UDAX_PAGEMAP_BENCH_H
#define UDAX_PAGEMAP_BENCH_H

struct bench_report;

struct pagemap_bench_opts {
	long iters;		/* puts per timed round (0: default) */
	int threads;		/* "all threads" (0: online CPUs) */
	long wait_samples;	/* idle-wait latency samples (0: default) */
};

/* Run the pagemap benchmark, reporting into @r; 0 or -errno. */
int pagemap_bench_run(const struct pagemap_bench_opts *o, struct bench_report *r);

#endif
