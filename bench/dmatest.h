/* SPDX-License-Identifier: MIT */
#ifndef UDAX_DMATEST_H
#define UDAX_DMATEST_H

#include <stdbool.h>
#include <stdint.h>

struct bench_report;

struct dmatest_opts {
	const char *device;		/* udax device spec (formatted) */
	const char *kernel_dir;		/* kernel directory, or NULL: udax only */
	const char *source;		/* O_DIRECT file or block device (fast) */
	const char *slow_source;	/* O_DIRECT slow device, or NULL: a pipe */
	uint64_t slow_rate;		/* pipe bytes per second */
	uint64_t blocks;		/* blocks of the file under test */
	long fill_cap;			/* at most this many blocks of filler, and of
					 * victim (0: no cap of its own) */
	unsigned fill_times;		/* and at most this many times the scenario's
					 * file (0: none; both 0: until full) */
	const char *only;		/* run one scenario */
	const char *exclude;		/* skip one scenario */
};

int dmatest_run(const struct dmatest_opts *o, struct bench_report *r);
/* Is @name a scenario?  The names, space-separated, in @names. */
bool dmatest_scenario_known(const char *name);
const char *dmatest_scenario_names(void);
/* Blocks of the file under test in the largest scenario of @o. */
uint64_t dmatest_max_blocks(const struct dmatest_opts *o);

#endif
